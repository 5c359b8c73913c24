"""The HTTP API: dependencies (`deps`), error bodies (`errors`), Prometheus metrics (`metrics`), one router per
resource under `routes/`."""

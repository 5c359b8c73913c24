"""Data contracts, readers and pipelines (ingest, sample data; training and backtests)."""

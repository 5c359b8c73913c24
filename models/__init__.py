"""Forecasters behind one interface (`fit(history) -> self`, `predict(h, quantiles) -> DataFrame`)."""

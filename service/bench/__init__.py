"""Benchmarks behind `leanplan bench`; each returns plain dicts of figures."""

"""`leanplan bench api`: load test of the forecast endpoints against a bare reference app on the same database.

Modules: `seed` (a fresh database with items, a published forecast set and an erp key), `bare` (the reference app),
`wrk` (the load generator and its output parser), `run` (servers one at a time, wrk, CSV export timing, report).
"""

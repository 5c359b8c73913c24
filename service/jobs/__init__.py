"""Durable background jobs (training, planning): the queue in the database, the context a runner gets, the worker."""

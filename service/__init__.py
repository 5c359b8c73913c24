"""The service layer: settings, storage, the `leanplan` CLI."""

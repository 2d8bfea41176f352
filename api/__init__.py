"""HTTP API, web pages, CLI, auth and settings: the only layer that knows about requests."""

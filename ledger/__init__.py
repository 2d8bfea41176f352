"""The application layer: the ledger's commands (one runner for all), the use cases the HTTP API
and the command line both call, and the composition root that wires them to the store."""

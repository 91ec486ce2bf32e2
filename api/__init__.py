"""The edges: the HTTP API (FastAPI) and the `ledgerline` command line. No business rules."""

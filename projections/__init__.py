"""The read side: projectors that turn the event log into read models in PostgreSQL."""

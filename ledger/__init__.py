"""The write side: commands on the PostgreSQL event store, settings and the database bootstrap."""

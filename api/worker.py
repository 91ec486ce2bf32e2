"""An HTTP worker process of `ledgerline serve --workers N`.

The parent process owns the database (it starts the embedded one) and the background work
(projectors, billing clock, mail); it hands the database URL to the workers in DATABASE_URL.
Each worker opens its own runtime for commands and reads. Commands from several processes
stay correct: every batch is written under the events table's lock, and each writer evicts
the aggregates another process wrote since it last looked.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.logs import configure_logging
from api.runtime import Runtime
from ledger.settings import Settings


def create() -> FastAPI:
    """uvicorn's app factory in each worker (`api.worker:create`)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = Runtime.start(settings, takes_payments=not settings.reads_only)
    return create_app(runtime, close_runtime=True, settle_interpreter=True)

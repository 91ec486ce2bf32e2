"""Helpers shared by the tests."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

START = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


def embedded_server(
    data_dir: Path, cleanup_mode: Literal["stop", "delete"] = "delete"
) -> PostgresServer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server
    return get_server(data_dir, cleanup_mode=cleanup_mode)

"""Load the demo: the three clocks' stories sent to the HTTP API in this process, then a
fresh admin key and partner key to try them with.

Keys. The stories are sent with the demo loader's own admin key, whose id never changes
(LOADER_KEY_ID): the API namespaces Idempotency-Keys by the calling key, so the same id is
what makes a second run name the same partners and be answered from the command log. Its
secret is made new at the start of each run and the key is revoked at the end: nobody holds
it. The keys printed for you are made fresh on every run (`api.keys.create_key`, labelled
"demo"), like `ledgerline keys create`: the database keeps only their digests, so a key printed
once cannot be printed again. Revoke old ones with `ledgerline keys revoke`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from api import keys
from api.demo import pln, rub, usd
from api.demo.driver import Driver
from ledger.database import Database

if TYPE_CHECKING:
    from api.runtime import Runtime

LOADER_KEY_ID = "de30de30de30de30"
"""The demo loader's key id, the same on every run and in every database."""
LOADER_LABEL = "demo loader (revoked after each run)"
DEMO_LABEL = "demo"
SHOWN_PARTNER = "Интегратор Плюс"
"""The partner whose key is printed: its balance holds money of every kind (company balance,
receivable, bonuses), its invoices a discount and a payment by bonuses, its banner what it
owes."""


@dataclass(frozen=True)
class DemoLoaded:
    """What the demo made, and keys to look at it with."""

    admin_key: str
    partner_key: str
    partner_id: UUID
    """The partner the partner key is bound to."""
    partners: dict[str, UUID]
    clocks: dict[str, UUID]
    head_position: int
    """The last position the demo's commands answered with."""

    def urls(self, base_url: str) -> dict[str, str]:
        """Three reads to try with the partner key."""
        partner = f"{base_url}/v1/partners/{self.partner_id}"
        return {
            "banner": f"{partner}/banner",
            "invoices": f"{partner}/invoices",
            "balance": f"{partner}/balance",
        }

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "admin_key": self.admin_key,
            "partner_key": self.partner_key,
            "partner_id": str(self.partner_id),
            "partners": {name: str(found) for name, found in self.partners.items()},
            "clocks": {name: str(found) for name, found in self.clocks.items()},
            "urls": self.urls(base_url),
        }


async def send_stories(api: Driver) -> tuple[dict[str, UUID], dict[str, UUID]]:
    """Every clock's story, one after the other (so that invoice numbers, one gapless series
    across partners (R-X3), come out the same on every fresh load)."""
    dollars = await usd.load(api)
    roubles = await rub.load(api)
    zloty = await pln.load(api)
    partners = {
        "Ghost Kitchens Inc": dollars.ghost_kitchens,
        "Sparkle Plumbing": dollars.sparkle,
        "Rivera Roofing": dollars.rivera,
        "Summit Gutters": dollars.summit,
        "Интегратор Плюс": roubles.integrator,
        "Northwind IT": zloty.northwind,
        "Baltic Partners": zloty.baltic,
    }
    clocks = {"Demo: USD": dollars.clock, "Demo: RUB": roubles.clock, "Demo: PLN": zloty.clock}
    return partners, clocks


REQUEST_LOGGER = "api.request"
"""The logger of each request's line (api/middleware.py)."""


@contextmanager
def requests_unlogged() -> Iterator[None]:
    """The demo's ~280 requests are not logged one by one: on `make run` they would bury the
    keys and URLs printed after them. Warnings and errors still are."""
    logger = logging.getLogger(REQUEST_LOGGER)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def is_empty(database: Database) -> bool:
    """Whether nobody has used this database yet: no API key was ever made (revoked ones
    count) and no command came over HTTP. The catalogue's first import does not count."""
    with database.connect() as conn:
        row = conn.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM api_keys) "
            "AND NOT EXISTS (SELECT 1 FROM command_log WHERE key LIKE 'http/%')"
        ).fetchone()
    return bool(row and row[0])


def load_demo(runtime: Runtime) -> DemoLoaded:
    """Send the demo through the API of `runtime` (whose projectors run) and make keys.
    Loaded already, it writes no event: every command is answered from the command log."""
    # Imported here: the routes are most of the command line's start-up time.
    from api.app import create_app

    with runtime.database.connect() as conn:
        token = keys.reissue_key(conn, LOADER_KEY_ID, keys.Role.ADMIN, LOADER_LABEL)
    app = create_app(runtime)

    async def send() -> tuple[dict[str, UUID], dict[str, UUID], int]:
        async with app.router.lifespan_context(app):
            api = Driver(app, token)
            partners, clocks = await send_stories(api)
            return partners, clocks, api.position

    try:
        with requests_unlogged():
            partners, clocks, position = asyncio.run(send())
    finally:
        with runtime.database.connect() as conn:
            keys.revoke(conn, LOADER_KEY_ID)
    shown = partners[SHOWN_PARTNER]
    with runtime.database.connect() as conn:
        _, admin_key = keys.create_key(conn, keys.Role.ADMIN, None, DEMO_LABEL)
        _, partner_key = keys.create_key(conn, keys.Role.PARTNER, shown, DEMO_LABEL)
    return DemoLoaded(admin_key, partner_key, shown, partners, clocks, position)

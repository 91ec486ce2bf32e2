"""Every read model Ledgerline keeps, by name."""

from __future__ import annotations

from typing import Any

import psycopg

from projections import generations
from projections.activity import ActivityFeed
from projections.balances import Balances
from projections.banners import Banners
from projections.base import Projection, install_functions
from projections.cashback import Cashback
from projections.catalogue import CatalogueModel
from projections.documents import ClosingDocuments
from projections.invoices import InvoiceHistory
from projections.partners import PartnerDirectory
from projections.policy_versions import PolicyVersions


def all_projections() -> list[Projection]:
    """The read models, in the order they are applied within a batch."""
    return [
        PartnerDirectory(),
        Balances(),
        InvoiceHistory(),
        Banners(),
        ClosingDocuments(),
        Cashback(),
        ActivityFeed(),
        PolicyVersions(),
        CatalogueModel(),
    ]


def by_name(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections())
    raise KeyError(f"no read model {name!r}; the read models are {known}")


def install_read_models(
    conn: psycopg.Connection[Any],
) -> list[tuple[Projection, generations.Generation]]:
    """The read models' SQL helpers and generations tables, and each one's live generation,
    the first (empty) one made on a new database; idempotent. Each with its live generation."""
    install_functions(conn)
    return [(p, generations.ensure_live(conn, p)) for p in all_projections()]

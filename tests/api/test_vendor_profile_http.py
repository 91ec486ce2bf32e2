"""A deployment's own vendor profile (LEDGERLINE_VENDOR_PROFILE, issue 17) is what its
documents print: its legal name, address, tax ids, bank details and tax rate, as the version in
force on the invoice's date, over real HTTP. One invoice: about half a second."""

from __future__ import annotations

import io
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from pypdf import PdfReader

from api.runtime import Runtime
from ledger.database import Database
from ledger.settings import Environment, Settings

PROFILE = """
[[version]]
version = 1
effective_from = "2025-01-01"
legal_name = "Otter Billing GmbH"
address = ["Hauptstraße 1", "10115 Berlin", "Germany"]
tax_ids = [["USt-IdNr.", "DE123456789"]]
bank = [["IBAN", "DE89 3704 0044 0532 0130 00"]]
signatory = "Jana Otter"
footer = "Otter Billing GmbH, HRB 000000 B"
tax_rates = { USD = "0.07" }

[[version]]
version = 2
effective_from = "2099-01-01"
legal_name = "Otter Billing SE"
address = ["Elsewhere 2"]
"""


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """The suite's settings, with a vendor profile of the deployment's own."""
    profile = tmp_path / "vendor.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    return Settings(
        database_url=database.url,
        environment=Environment.TEST,
        db_pool_size=4,
        home=tmp_path,
        vendor_profile=profile,
    )


def test_issue_17_an_invoice_prints_the_deployments_vendor_as_on_its_date(
    runtime: Runtime, http: httpx.Client
) -> None:
    ledger = runtime.ledger
    partner = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC")
    assert partner.aggregate_id is not None
    client = ledger.register_client(partner.aggregate_id, name="Diner", unified_billing=False)
    assert client.aggregate_id is not None
    line = ledger.create_line(partner.aggregate_id, client.aggregate_id, "email-signatures")
    assert line.aggregate_id is not None
    issued = ledger.activate_line(line.aggregate_id)
    invoice_id = UUID(issued.data["invoice_id"])

    printed = http.get(
        f"/v1/invoices/{invoice_id}/pdf",
        params={"min_position": issued.position, "wait_ms": 5000},
    )

    assert printed.status_code == 200, printed.text
    text = PdfReader(io.BytesIO(printed.content)).pages[0].extract_text().replace("\xa0", " ")
    for expected in (
        "Otter Billing GmbH",
        "Hauptstraße 1",
        "USt-IdNr.: DE123456789",
        "Including VAT 7 %: $1.64",  # 25.00 x 7 / 107, half-up
        "Subtotal (net): $23.36",
        "IBAN: DE89 3704 0044 0532 0130 00",
        "HRB 000000 B",
        "Vendor profile version 1 of",
    ):
        assert expected in text
    assert "Otter Billing SE" not in text  # version 2 is not in force yet
    assert "Ledgerline Software" not in text

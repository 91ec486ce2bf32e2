"""The API's `description` of an invoice line (issue 17): worded in English from what the line
records, by the documents' own wording; a line stored before issue 17 with only its sentence
keeps showing it. Pure: no database, no server (well under 0.1 s)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from api.schemas.invoices import line_description
from projections.documents import DocumentLine
from projections.invoices import InvoiceLineView

LEAD = UUID("1234abcd-0000-0000-0000-000000000000")


def view(kind: str, description: str | None = None, **facts: object) -> InvoiceLineView:
    fields: dict[str, object] = {
        "line_no": 1,
        "kind": kind,
        "description": description,
        "quantity": 1,
        "amount_minor": 100,
        "currency": "USD",
        "product_code": None,
        "line_id": None,
        "location_id": None,
        "location_name": None,
        "period_start": None,
        "period_end": None,
        "lead_id": None,
        "price_version": None,
        "price_override": None,
        "policy_version": None,
        "rate": None,
        "term_months": None,
    }
    return InvoiceLineView(**{**fields, **facts})  # type: ignore[arg-type]


def test_issue_17_the_api_words_each_kind_of_line_from_what_it_records() -> None:
    names = {"en": "POS integration", "pl": "Integracja POS"}
    assert [
        line_description(line)
        for line in (
            view("product", product_code="pos-location", product_names=names, location_name="Main"),
            view("lead", product_code="lead", product_names={"en": "Lead"}, lead_id=LEAD),
            view("discount", rate=Decimal("0.1"), term_months=12),
            view("card_fee", rate=Decimal("0.025")),
        )
    ] == [
        "POS integration, location: Main",
        "Lead, lead 1234abcd",
        "Discount for a 12-month term (10 %)",
        "Card processing fee (2.5 %)",
    ]


def test_issue_17_a_line_stored_with_only_its_sentence_still_shows_it() -> None:
    """Before issue 17 a discount stored its rate in its sentence only, and a product the
    catalogue no longer knows has no name to word: both show what was stored; a new line of a
    product the catalogue does not know (it stores no sentence) is named by its code."""
    old_discount = view("discount", "12-month discount (10 %)")
    old_product = view("product", "Legacy kiosk: Main", product_code="kiosk")
    new_unknown = view("product", product_code="kiosk")
    assert line_description(old_discount) == "12-month discount (10 %)"
    assert line_description(old_product) == "Legacy kiosk: Main"
    assert line_description(new_unknown) == "kiosk"
    act_line = DocumentLine("card_fee", None, 1, 30, date(2026, 1, 1), None, rate=Decimal("0.03"))
    assert line_description(act_line) == "Card processing fee (3 %)"

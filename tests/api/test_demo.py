"""The demo (`ledgerline demo`, and `make run`'s first start on an empty database): loaded into
a test database through the API, it tells every source article, its read models show what each
story promises, the keys it prints work, and a second run writes no event.

One test, so the demo loads once (about 280 requests over four months on three test clocks,
a second and a half), then once more by `ledgerline demo --json` in a process of its own,
answered from the command log (the process's start, a second, is most of that).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from api.demo.loader import LOADER_KEY_ID, SHOWN_PARTNER, DemoLoaded, load_demo
from api.runtime import Runtime
from ledger.database import Database
from ledger.store import HEAD
from tests.api.test_cli_commands import ledgerline

Json = dict[str, Any]


def head(runtime: Runtime) -> int:
    with runtime.database.connect() as conn:
        row = conn.execute(HEAD).fetchone()
    assert row is not None
    return int(row[0])


class Reader:
    """Reads with one of the keys the demo printed, after everything it wrote."""

    def __init__(self, client: httpx.Client, position: int) -> None:
        self.client = client
        self.position = position

    def get(self, path: str, **params: Any) -> Any:
        params = {"min_position": self.position, **params}
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def invoices(self, partner: UUID) -> list[Json]:
        """The partner's invoices, whole, oldest first (the demo's fit on one page)."""
        listed = self.get(f"/v1/partners/{partner}/invoices", limit=100)
        assert listed["next_cursor"] is None
        ordered = sorted(listed["items"], key=lambda found: found["number"])
        return [self.get(f"/v1/invoices/{found['id']}") for found in ordered]


def minor(value: Json) -> int:
    return int(value["amount_minor"])


def kinds(invoice: Json) -> list[tuple[str, int]]:
    return [(line["kind"], minor(line["amount"])) for line in invoice["lines"]]


def check_otter(admin: Reader, ghost: UUID) -> None:
    """R-O3, R-O7: one unified invoice a month itemising every location, with the card fee;
    a location added in February is on March's (three, then four at 49.00); R-O4: Pho Lan
    left unified billing and is billed itself."""
    bills = admin.invoices(ghost)
    unified = [invoice for invoice in bills if invoice["payer"] == "partner"]
    assert [minor(invoice["total"]) for invoice in unified] == [15141, 15141, 20188, 15141]
    assert kinds(unified[2]).count(("product", 4900)) == 4
    assert ("card_fee", 588) in kinds(unified[2])
    assert all(invoice["status"] == "settled" for invoice in unified)
    [own] = [invoice for invoice in bills if invoice["payer"] == "client"]
    assert (own["overdue"], minor(own["total"])) == (True, 4900)


def check_chatapp(admin: Reader, integrator: UUID) -> None:
    """R-C2 … R-C7: a top-up on the company balance, a 12-month line with its discount paid
    by the client's card, the integrator's cashback spent on another client's line, and a
    closing document; the garage's renewals left unpaid."""
    bills = admin.invoices(integrator)
    [twelve] = [invoice for invoice in bills if ("discount", -180000) in kinds(invoice)]
    assert (twelve["payer"], twelve["status"]) == ("client", "settled")
    cashback = admin.get(f"/v1/partners/{integrator}/cashback")
    assert (minor(cashback["earned"]), minor(cashback["spent"])) == (162000, 150000)
    by_bonus = [
        invoice for invoice in bills if [p["source"] for p in invoice["payments"]] == ["bonus"]
    ]
    assert [minor(invoice["total"]) for invoice in by_bonus] == [150000]
    balance = admin.get(f"/v1/partners/{integrator}/balance")
    assert minor(balance["company_balance"]) > 0
    documents = admin.get(f"/v1/partners/{integrator}/closing-documents")["items"]
    assert [document["number"] for document in documents] == ["ACT-2026-000001"]
    # The garage's March renewal never paid: overdue, a week of grace, paused (R-H3, R-L4).
    shown = admin.get(f"/v1/partners/{integrator}/banner")
    assert (shown["status"], shown["pause_reasons"]) == ("paused", ["payment_overdue"])
    assert [i["kind"] for x in shown["banner"]["lines"] for i in x["invoices"]] == ["overdue"]


def check_housecall(admin: Reader, sparkle: UUID) -> None:
    """R-H4, R-H5: two declined cards replaced, one charging what was pending, one marking
    it paid; R-H6: 15.00 refunded of a card payment; R-H2: a plan paid by cheque overdue;
    R-C4: cashback from customers paying their own plans."""
    bills = admin.invoices(sparkle)
    declined = [
        invoice
        for invoice in bills
        if [a["decline_code"] for a in invoice["failed_attempts"]] == ["card_declined"]
    ]
    assert sorted(
        (invoice["status"], invoice["payments"][0]["source"]) for invoice in declined
    ) == [("settled", "card"), ("settled", "other")]
    [refunded] = [invoice for invoice in bills if minor(invoice["refunded"])]
    assert [minor(refund["amount"]) for refund in refunded["refunds"]] == [1500]
    assert refunded["status"] == "settled"
    [overdue] = [invoice for invoice in bills if invoice["overdue"]]
    assert (overdue["status"], minor(overdue["outstanding"])) == ("open", 46800)
    assert minor(admin.get(f"/v1/partners/{sparkle}/cashback")["earned"]) > 0


def check_craftjack(admin: Reader, rivera: UUID, summit: UUID) -> None:
    """R-L2: six leads reach 200.00 on a Tuesday and are invoiced at once; R-L4: its card
    declined, a week of grace, paused, paid by wire, active again; R-L3: Summit's budget
    spent in April, paused until the 5th of May."""
    threshold = admin.invoices(rivera)[0]
    assert (threshold["issued_on"], minor(threshold["total"])) == ("2026-01-13", 21000)
    assert [line["kind"] for line in threshold["lines"]] == ["lead"] * 6
    assert threshold["failed_attempts"][0]["decline_code"] == "card_declined"
    assert [p["source"] for p in threshold["payments"]] == ["bank_transfer"]
    assert admin.get(f"/v1/partners/{rivera}/state")["status"] == "active"
    paused = admin.get(f"/v1/partners/{summit}/state")
    assert (paused["status"], paused["pause_reasons"]) == ("paused", ["budget_reached"])


def check_exclaimer(admin: Reader, northwind: UUID, baltic: UUID) -> None:
    """R-E1 … R-E4: Kowalski's line, billed by Northwind, is Baltic's since 12 January and
    billed annually; every invoice of it settled."""
    [first] = admin.invoices(northwind)
    [year] = admin.invoices(baltic)
    assert first["line_ids"] == year["line_ids"]
    line = admin.get(f"/v1/lines/{first['line_ids'][0]}")
    assert line["partner_id"] == str(baltic)
    assert (year["status"], minor(year["total"])) == ("settled", 118800)


def test_the_demo_tells_every_article_and_a_second_run_writes_no_event(
    runtime: Runtime, database: Database, client_for: Callable[[str | None], httpx.Client]
) -> None:
    loaded: DemoLoaded = load_demo(runtime)
    written = head(runtime)
    admin = Reader(client_for(loaded.admin_key), loaded.head_position)
    partners = loaded.partners
    check_otter(admin, partners["Ghost Kitchens Inc"])
    check_chatapp(admin, partners["Интегратор Плюс"])
    check_housecall(admin, partners["Sparkle Plumbing"])
    check_craftjack(admin, partners["Rivera Roofing"], partners["Summit Gutters"])
    check_exclaimer(admin, partners["Northwind IT"], partners["Baltic Partners"])
    books = admin.get("/v1/ledger/trial-balance")
    assert books["balanced"] is True
    clocks = admin.get("/v1/test-clocks")["items"]
    assert {(clock["name"], clock["status"]) for clock in clocks} == {
        ("Demo: USD", "ready"),
        ("Demo: RUB", "ready"),
        ("Demo: PLN", "ready"),
    }

    # The partner key and the three URLs it is printed with.
    own = Reader(client_for(loaded.partner_key), loaded.head_position)
    for url in loaded.urls("").values():
        own.get(url)
    other = client_for(loaded.partner_key).get(f"/v1/partners/{partners['Baltic Partners']}")
    assert other.status_code == 404

    # `ledgerline demo` again, in a process of its own: answered from the command log.
    again = ledgerline(database, "demo", "--json")
    assert again.returncode == 0, again.stderr
    shown = json.loads(again.stdout)
    assert head(runtime) == written
    assert shown["partners"] == {name: str(found) for name, found in partners.items()}
    assert shown["partner_id"] == str(partners[SHOWN_PARTNER])
    assert shown["urls"]["balance"].endswith(f"/v1/partners/{partners[SHOWN_PARTNER]}/balance")
    assert shown["admin_key"] != loaded.admin_key
    assert Reader(client_for(shown["admin_key"]), 0).get("/v1/test-clocks")["items"] == clocks
    loader = client_for(f"ll_{LOADER_KEY_ID}_{'x' * 43}").get("/v1/test-clocks")
    assert loader.status_code == 401

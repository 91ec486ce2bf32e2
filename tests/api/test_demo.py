"""The demo (`make run`'s first start, and `ledgerline demo`): a real `ledgerline serve` on an
empty test database loads it through the API, prints keys and URLs that work, and the read
models it leaves show what each source article's story promises; sent again, it writes no
event.

One test, so the demo loads once: the server's start (a second) and the load (about 280
requests over four months on three test clocks, two seconds), then the same requests again,
in this process, answered from the command log (a second). Five seconds in all, for the one
test of `make run`'s first start and of every route the demo drives.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import httpx

from api.demo.loader import LOADER_KEY_ID, SHOWN_PARTNER, load_demo
from api.runtime import Runtime
from ledger.database import Database
from ledger.store import HEAD
from tests.api.test_cli import Served, cli_env

Json = dict[str, Any]


def head(database: Database) -> int:
    with database.connect() as conn:
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


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


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


PRINTED = re.compile(r"^  (admin key|partner key|its banner|its invoices|its balance): +(\S+)")
"""A line `serve` prints after loading the demo: what it is, and the key or URL."""


def printed(lines: list[str]) -> dict[str, str]:
    """The keys and URLs a first start printed, by what they are."""
    return {m.group(1): m.group(2) for line in lines if (m := PRINTED.match(line))}


def test_the_first_start_loads_the_demo_which_tells_every_article_and_writes_nothing_again(
    database: Database, runtime: Runtime
) -> None:
    """`make run`'s first start (`serve` with LEDGERLINE_DEMO=first-start, on an empty
    database) loads the demo and prints keys and URLs that work; the read models show each
    article's story over the served HTTP; the demo sent again writes no event."""
    env = cli_env(
        DATABASE_URL=database.url,
        LEDGERLINE_ENVIRONMENT="test",
        LEDGERLINE_LOG_LEVEL="warning",
        LEDGERLINE_DEMO="first-start",
    )
    served = Served(env)
    try:
        base = served.url()
        shown = printed(served.seen)
        written = head(database)
        with (
            httpx.Client(base_url=base, headers=bearer(shown["admin key"])) as vendor,
            httpx.Client(headers=bearer(shown["partner key"])) as own,
        ):
            check_served(runtime, Reader(vendor, written), own, base, shown)
    finally:
        assert served.stop() == 0
    assert served.seen[-1].strip() == "Stopped."
    assert any("loading the demo" in line for line in served.seen)
    assert head(database) == written


def check_served(
    runtime: Runtime, admin: Reader, own: httpx.Client, base: str, shown: dict[str, str]
) -> None:
    """What the first start printed works, every article's story is told, and the demo sent
    again (in this process, beside the server) is answered from the command log."""
    partners = {p["name"]: UUID(p["id"]) for p in admin.get("/v1/partners")["items"]}
    for read in ("its banner", "its invoices", "its balance"):
        assert shown[read].startswith(f"{base}/v1/partners/{partners[SHOWN_PARTNER]}/")
        assert own.get(shown[read]).status_code == 200
    check_otter(admin, partners["Ghost Kitchens Inc"])
    check_chatapp(admin, partners["Интегратор Плюс"])
    check_housecall(admin, partners["Sparkle Plumbing"])
    check_craftjack(admin, partners["Rivera Roofing"], partners["Summit Gutters"])
    check_exclaimer(admin, partners["Northwind IT"], partners["Baltic Partners"])
    assert admin.get("/v1/ledger/trial-balance")["balanced"] is True
    clocks = admin.get("/v1/test-clocks")["items"]
    assert {(clock["name"], clock["status"]) for clock in clocks} == {
        ("Demo: USD", "ready"),
        ("Demo: RUB", "ready"),
        ("Demo: PLN", "ready"),
    }
    other = own.get(f"{base}/v1/partners/{partners['Baltic Partners']}")
    assert other.status_code == 404

    # The demo again, beside the server: answered from the command log.
    again = load_demo(runtime)
    assert again.partners == partners
    assert again.admin_key != shown["admin key"]
    fresh = admin.client.get("/v1/test-clocks", headers=bearer(again.admin_key))
    assert (fresh.status_code, fresh.json()["items"]) == (200, clocks)
    dropped = bearer(f"ll_{LOADER_KEY_ID}_{'x' * 43}")
    assert admin.client.get("/v1/test-clocks", headers=dropped).status_code == 401

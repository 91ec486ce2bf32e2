"""ChatApp partner lines (seed 001) over HTTP (R-C1 … R-C8), the story of
tests/ledger/scenarios/test_chatapp.py told through the API.

The vendor opens the account of an integrator in Moscow (admin key); the integrator's own key
registers its clients, buys and pays their messaging lines at 1 500 RUB a month, tops up its
company balance, spends its bonuses and asks for closing documents. The clock starts on
2026-01-31 09:30 UTC, 12:30 in Moscow; lines bill on the day they start (the 31st).

Not over HTTP, so not asserted here (the ledger scenario asserts them): the invoice e-mails and
their recipients (the outbox has no route) and the billing clock's schedule (the lines'
current period and `invoiced_through` stand in for it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from api.runtime import Runtime
from ledger.clock import SimulatedClock
from tests.api.scenarios.support import (
    Api,
    ClientFor,
    Json,
    MakeKey,
    Story,
    minor,
    money,
    oldest_first,
    pay_offline,
    payments,
    top_up_by_transfer,
)

MOSCOW = "Europe/Moscow"
LINE = 150000  # 1 500.00 RUB a month
LINE_FEE = 4500  # 3 % of it, when a card pays (R-O7 applies to every card payment)
TWELVE = 1620000  # 12 x 1 500.00 = 18 000.00, less the 10 % duration discount (R-C3)
JAN_31_TO_FEB_28 = {"start": "2026-01-31", "end": "2026-02-28"}
FEB_28_TO_MAR_31 = {"start": "2026-02-28", "end": "2026-03-31"}
MAR_31_TO_APR_30 = {"start": "2026-03-31", "end": "2026-04-30"}
CARD_NUMBER = "4242424242424242"
VISA = {
    "number": CARD_NUMBER,
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Ivan Petrov",
    "cvv": "123",
    "postal_code": "125009",
}
"""A card as a line takes it (the client's own); a partner's has `"kind": "card"` too."""
PARTNER_VISA = {"kind": "card", **VISA}


def rub(amount_minor: int) -> Json:
    return money(amount_minor, "RUB")


def at(year: int, month: int, day: int, hour: int = 6) -> datetime:
    """An instant in UTC (06:00 UTC is 09:00 in Moscow: that day's work is due)."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def open_partner(story: Story, key: str = "p1", name: str = "Интегратор Плюс") -> tuple[UUID, Api]:
    partner, own = story.open_partner(f"{key}/open", name, "RUB", MOSCOW)
    profile = {
        "entity": name,
        "address": {
            "lines": ["ул. Тверская, д. 1"],
            "city": "Москва",
            "postal_code": "125009",
            "country": "RU",
        },
        "billing_email": f"buh@{key}.example",
    }
    own.post(f"/v1/partners/{partner}/billing-profile", profile, key=f"{key}/profile")
    return partner, own


def client(api: Api, partner: UUID, key: str, name: str, email: str | None = None) -> str:
    """A client of the partner's that is not in unified billing (R-C8)."""
    body: dict[str, Any] = {"name": name, "unified_billing": False}
    if email is not None:
        body["email"] = email
    registered: str = api.post(f"/v1/partners/{partner}/clients", body, key=f"client/{key}")["id"]
    return registered


def buy(
    api: Api,
    partner: UUID,
    client_id: str,
    key: str,
    *,
    term: str = "monthly",
    payer: str = "partner",
    card: Json | None = None,
) -> tuple[str, Json]:
    """R-C1: the partner buys a line for a client; it starts today and its first period bills."""
    line: str = api.post(
        "/v1/lines",
        {
            "partner_id": str(partner),
            "client_id": client_id,
            "product_code": "messaging-line",
            "term": term,
            "payer": payer,
        },
        key=f"{key}/line",
    )["id"]
    if card is not None:
        api.post(f"/v1/lines/{line}/card", {"card": card}, key=f"{key}/card")
    activated = api.post(f"/v1/lines/{line}/activate", key=f"{key}/activate")
    return line, api.get(f"/v1/invoices/{activated['invoice_id']}")


def pay(api: Api, invoice: Json, source: str, key: str, **fields: Any) -> Json:
    if source == "bank_transfer":  # announced by the partner, confirmed by the vendor (R-H2)
        return pay_offline(api, invoice["id"], {"source": source, **fields}, key=key)
    return api.post(f"/v1/invoices/{invoice['id']}/payments", {"source": source, **fields}, key=key)


def issued(api: Api, partner: UUID) -> list[Json]:
    """The partner's invoices, whole, in the order they were numbered."""
    listed = oldest_first(api.pages(f"/v1/partners/{partner}/invoices"))
    return [api.get(f"/v1/invoices/{found['id']}") for found in listed]


def billed_period(invoice: Json, n: int = 0) -> Json:
    line = invoice["lines"][n]
    return {"start": line["period_start"], "end": line["period_end"]}


def balances(api: Api, partner: UUID) -> tuple[int, int, int]:
    """The company balance, the receivable and the bonus wallet, in minor units."""
    found = api.get(f"/v1/partners/{partner}/balance")
    return (
        minor(found["company_balance"]),
        minor(found["receivable"]),
        minor(found["bonus_wallet"]),
    )


def test_r_c1_r_c2_a_line_is_bought_renewed_and_paid_from_balance_by_card_and_by_bank_invoice(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    topped = top_up_by_transfer(own, partner, rub(400000), key="top-up", reference="ПП № 17")
    assert topped["balance"] == rub(400000)
    cafe = client(own, partner, "cafe", "Кофейня Зерно")

    line, first = buy(own, partner, cafe, "cafe")
    assert (first["number"], first["total"]) == ("INV-2026-000001", rub(LINE))
    assert (first["issued_on"], first["due_on"]) == ("2026-01-31", "2026-02-14")
    assert (first["payer"], first["client_id"]) == ("partner", cafe)
    assert billed_period(first) == JAN_31_TO_FEB_28
    pay(own, first, "company_balance", "pay/1")
    assert payments(own.get(f"/v1/invoices/{first['id']}")) == [("company_balance", LINE, 0)]
    assert balances(own, partner)[0] == 250000

    assert story.tick(at(2026, 2, 28)).done["renew"] == 1
    second = issued(own, partner)[1]
    assert (second["number"], second["issued_on"]) == ("INV-2026-000002", "2026-02-28")
    assert billed_period(second) == FEB_28_TO_MAR_31
    method = own.post(
        f"/v1/partners/{partner}/payment-methods", {"method": PARTNER_VISA}, key="card"
    )["id"]
    paid = pay(own, second, "card", "pay/2", method_id=method)
    assert paid["charge_status"] == "succeeded"
    second = own.get(f"/v1/invoices/{second['id']}")
    assert (second["status"], second["total"]) == ("settled", rub(LINE + LINE_FEE))
    assert payments(second) == [("card", LINE + LINE_FEE, LINE_FEE)]

    story.tick(at(2026, 3, 31))
    third = issued(own, partner)[2]
    assert (third["number"], billed_period(third)) == ("INV-2026-000003", MAR_31_TO_APR_30)
    pay(own, third, "bank_transfer", "pay/3", reference="ПП № 118")
    third = own.get(f"/v1/invoices/{third['id']}")
    assert (third["status"], payments(third)) == ("settled", [("bank_transfer", LINE, 0)])

    subscription = own.get(f"/v1/lines/{line}")
    assert (subscription["current_period"], subscription["open_invoices"]) == (
        MAR_31_TO_APR_30,
        [],
    )
    assert balances(own, partner) == (250000, 0, 0)
    books = story.trial_balance("RUB")
    assert (books["prepaid_balance"], books.get("receivable", 0)) == (-250000, 0)
    story.never_shown(CARD_NUMBER)


def test_r_c3_a_twelve_month_purchase_carries_a_duration_discount_line(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    cafe = client(own, partner, "cafe", "Кофейня Зерно")
    year = ("2026-01-31", "2027-01-31")

    twelve, bought = buy(own, partner, cafe, "twelve", term="twelve_months")
    annual, billed = buy(own, partner, cafe, "annual", term="annual")

    # The discount line names the policy version whose rate made it (issue 13).
    assert [
        (
            i["kind"],
            i["description"],
            minor(i["amount"]),
            (i["period_start"], i["period_end"]),
            i["policy_version"],
        )
        for i in bought["lines"]
    ] == [
        ("product", "Messaging line", 1800000, year, None),
        ("discount", "Discount for a 12-month term (10 %)", -180000, year, 0),
    ]
    assert bought["total"] == rub(TWELVE)
    # Billed yearly, but not a 12-month purchase: no discount.
    assert [(i["kind"], minor(i["amount"])) for i in billed["lines"]] == [("product", 1800000)]
    for invoice in (bought, billed):
        pay(own, invoice, "bank_transfer", f"pay/{invoice['number']}")

    story.tick(at(2027, 1, 31))

    invoices = issued(own, partner)
    renewed = {
        line: [i for i in invoices if line in i["line_ids"]][-1] for line in (twelve, annual)
    }
    assert sorted(i["number"] for i in renewed.values()) == ["INV-2027-000001", "INV-2027-000002"]
    assert renewed[twelve]["total"] == rub(TWELVE)
    assert renewed[twelve]["lines"][1]["description"] == "Discount for a 12-month term (10 %)"
    assert renewed[annual]["total"] == rub(1800000)
    assert own.get(f"/v1/lines/{twelve}")["current_period"] == {
        "start": "2027-01-31",
        "end": "2028-01-31",
    }
    assert story.trial_balance("RUB")["discounts"] == 2 * 180000


def test_r_c4_r_o7_a_refund_of_the_card_fee_takes_no_cashback_back_the_rest_takes_it_all(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    pilates = client(own, partner, "pilates", "Студия Пилатес", "hello@pilates.example")
    _, studio = buy(own, partner, pilates, "pilates", payer="client", card=VISA)
    [payment] = studio["payments"]
    wallet = f"/v1/partners/{partner}/wallet"
    assert own.get(wallet)["balance"] == rub(15000)
    refunds = f"/v1/invoices/{studio['id']}/refunds"

    fee = {
        "payment_id": payment["payment_id"],
        "amount": rub(LINE_FEE),
        "reason": "Card fee waived",
    }
    story.admin.post(refunds, fee, key="refund/fee")
    assert own.get(wallet)["balance"] == rub(15000)  # the fee never earned cashback

    rest = {"payment_id": payment["payment_id"], "amount": rub(LINE), "reason": "Studio closed"}
    story.admin.post(refunds, rest, key="refund/rest")
    assert own.get(wallet)["balance"] == rub(0)
    assert own.get(f"/v1/partners/{partner}/cashback")["earned"] == rub(15000)
    books = story.trial_balance("RUB")
    assert books.get("bonus_liability", 0) == 0


def test_r_c2_r_c4_r_c5_cashback_from_clients_paying_themselves_pays_another_clients_line(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    lotus = client(own, partner, "lotus", "Салон Лотос", "owner@lotos.example")
    pilates = client(own, partner, "pilates", "Студия Пилатес", "hello@pilates.example")
    garage = client(own, partner, "garage", "Автосервис Гараж")
    wallet = f"/v1/partners/{partner}/wallet"

    _, mine = buy(own, partner, lotus, "lotus", term="twelve_months", payer="client")
    assert (mine["payer"], mine["payer_id"], mine["total"]) == ("client", lotus, rub(TWELVE))
    assert mine["expected_source"] == "bank_transfer"
    pay(own, mine, "bank_transfer", "lotus/pay", reference="ПП № 5")
    assert own.get(wallet)["balance"] == rub(162000)  # 10 % of 16 200.00 (R-C4)

    # The studio pays by its own card when the line starts: 1 545.00, of which 45.00 is fee.
    _, studio = buy(own, partner, pilates, "pilates", payer="client", card=VISA)
    assert payments(studio) == [("card", LINE + LINE_FEE, LINE_FEE)]
    assert own.get(wallet)["balance"] == rub(162000 + 15000)  # no cashback on the fee

    credited = own.get(wallet)["recent"]  # newest first
    assert [(e["kind"], minor(e["amount"])) for e in credited] == [
        ("credited", 15000),
        ("credited", 162000),
    ]
    earned = own.get(f"/v1/partners/{partner}/cashback")["items"]
    assert sorted((e["client_id"], e["reason"], minor(e["earned"])) for e in earned) == sorted(
        [(lotus, "cashback", 162000), (pilates, "cashback", 15000)]
    )

    # R-C5: the bonuses are the partner's, spent on a line of a client that earned none.
    _, garage_invoice = buy(own, partner, garage, "garage")
    pay(own, garage_invoice, "bonus", "garage/pay")
    garage_invoice = own.get(f"/v1/invoices/{garage_invoice['id']}")
    assert payments(garage_invoice) == [("bonus", LINE, 0)]
    assert garage_invoice["status"] == "settled"
    assert own.get(wallet)["balance"] == rub(27000)

    _, more = buy(own, partner, garage, "garage/2")
    part = pay(own, more, "bonus", "garage/2/bonus", amount=rub(27000))
    assert part["outstanding"] == rub(123000)
    pay(own, more, "bank_transfer", "garage/2/bank")
    more = own.get(f"/v1/invoices/{more['id']}")
    assert payments(more) == [("bonus", 27000, 0), ("bank_transfer", 123000, 0)]
    cashback = own.get(f"/v1/partners/{partner}/cashback")
    assert (cashback["earned"], cashback["spent"], cashback["available"]) == (
        rub(177000),
        rub(177000),
        rub(0),
    )

    # R-C4: a partner paying a client's invoice from its own balance earns no cashback.
    top_up_by_transfer(own, partner, rub(200000), key="top-up")
    _, monthly = buy(own, partner, lotus, "lotus/monthly", payer="client")
    pay(own, monthly, "company_balance", "lotus/monthly/pay")
    assert own.get(f"/v1/invoices/{monthly['id']}")["status"] == "settled"
    assert balances(own, partner) == (50000, 0, 0)
    assert own.get(f"/v1/partners/{partner}/cashback")["earned"] == rub(177000)
    books = story.trial_balance("RUB")
    assert (books["cashback_expense"], books.get("bonus_liability", 0)) == (177000, 0)
    story.never_shown(CARD_NUMBER)


def test_r_c6_invoice_autopay_issues_the_next_invoice_five_days_before_the_period_ends(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    line, first = buy(own, partner, client(own, partner, "cafe", "Кофейня Зерно"), "cafe")
    pay(own, first, "bank_transfer", "pay/1")
    own.post(f"/v1/lines/{line}/autopay", {"source": "bank_transfer"}, key="autopay")
    assert own.get(f"/v1/lines/{line}")["autopay"] == "bank_transfer"

    assert story.tick(at(2026, 2, 22, 20)).total == 0  # 23:00 in Moscow: not yet
    assert len(issued(own, partner)) == 1
    story.tick(at(2026, 2, 23))

    ahead = issued(own, partner)[1]
    assert (ahead["number"], ahead["issued_on"]) == ("INV-2026-000002", "2026-02-23")
    assert (ahead["due_on"], ahead["expected_source"]) == ("2026-03-09", "bank_transfer")
    assert billed_period(ahead) == FEB_28_TO_MAR_31
    shown = own.get(f"/v1/lines/{line}")
    assert (shown["current_period"], shown["invoiced_through"]) == (JAN_31_TO_FEB_28, "2026-03-31")
    pay(own, ahead, "bank_transfer", "pay/2")

    story.tick(at(2026, 2, 28))
    assert len(issued(own, partner)) == 2  # the renewal was already invoiced
    assert own.get(f"/v1/lines/{line}")["current_period"] == FEB_28_TO_MAR_31

    story.tick(at(2026, 3, 26))
    third = issued(own, partner)[2]
    assert (third["number"], third["issued_on"]) == ("INV-2026-000003", "2026-03-26")
    assert billed_period(third) == MAR_31_TO_APR_30


def test_r_c2_r_c6_bank_invoices_chosen_for_the_whole_account_are_issued_five_days_ahead(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    chosen = own.post(
        f"/v1/partners/{partner}/payment-methods",
        {"method": {"kind": "bank_invoice"}},
        key="bank-invoice",
    )
    assert chosen["method"]["kind"] == "bank_invoice"
    _, first = buy(own, partner, client(own, partner, "cafe", "Кофейня Зерно"), "cafe")
    pay(own, first, "bank_transfer", "pay/1")

    story.tick(at(2026, 2, 23))

    ahead = issued(own, partner)[1:]
    assert [(i["number"], i["issued_on"], billed_period(i)) for i in ahead] == [
        ("INV-2026-000002", "2026-02-23", FEB_28_TO_MAR_31)
    ]


def test_r_c6_autopay_from_the_company_balance_and_by_card_pays_renewals_when_issued(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    top_up_by_transfer(own, partner, rub(300000), key="top-up")
    own.post(
        f"/v1/partners/{partner}/payment-methods",
        {"method": PARTNER_VISA, "make_default": True},
        key="card",
    )
    cafe = client(own, partner, "cafe", "Кофейня Зерно")
    from_balance, first = buy(own, partner, cafe, "balance")
    pay(own, first, "company_balance", "pay/1")
    own.post(f"/v1/lines/{from_balance}/autopay", {"source": "company_balance"}, key="autopay/1")
    by_card, second = buy(own, partner, cafe, "card")
    pay(own, second, "bank_transfer", "pay/2")
    own.post(f"/v1/lines/{by_card}/autopay", {"source": "card"}, key="autopay/2")

    story.tick(at(2026, 2, 28))

    invoices = issued(own, partner)
    [_, renewed] = [i for i in invoices if from_balance in i["line_ids"]]
    assert (renewed["status"], renewed["issued_on"]) == ("settled", "2026-02-28")
    assert renewed["due_on"] == "2026-02-28"  # due when issued: the balance pays at once
    assert payments(renewed) == [("company_balance", LINE, 0)]
    assert balances(own, partner)[0] == 0
    [_, charged] = [i for i in invoices if by_card in i["line_ids"]]
    assert charged["status"] == "settled"
    assert payments(charged) == [("card", LINE + LINE_FEE, LINE_FEE)]
    assert story.trial_balance("RUB").get("receivable", 0) == 0


def test_r_c7_closing_documents_after_invoice_card_or_balance_never_for_bonuses_or_top_ups(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    partner, own = open_partner(story)
    own.post(
        f"/v1/partners/{partner}/payment-methods",
        {"method": PARTNER_VISA, "make_default": True},
        key="card",
    )
    top_ups = f"/v1/partners/{partner}/top-ups"
    top_up_by_transfer(own, partner, rub(200000), key="top-up")
    own.post(top_ups, {"amount": rub(50000), "source": "card"}, key="top-up/card")
    assert balances(own, partner)[0] == 250000
    assert own.pages(f"/v1/partners/{partner}/invoices") == []  # a top-up is not an invoice
    lotus = client(own, partner, "lotus", "Салон Лотос", "owner@lotos.example")
    cafe = client(own, partner, "cafe", "Кофейня Зерно")
    _, mine = buy(own, partner, lotus, "lotus", term="twelve_months", payer="client")
    pay(own, mine, "bank_transfer", "lotus/pay")  # 162 000 bonus
    paid = {}
    for source in ("bank_transfer", "card", "company_balance", "bonus"):
        _, paid[source] = buy(own, partner, cafe, f"cafe/{source}")
        pay(own, paid[source], source, f"pay/{source}")
    _, unpaid = buy(own, partner, cafe, "cafe/unpaid")

    def act(invoice: Json) -> str:
        return f"/v1/invoices/{invoice['id']}/closing-documents"

    documents = [
        own.post(act(paid[source]), key=f"act/{source}")
        for source in ("bank_transfer", "card", "company_balance")  # a card's act: not the fee
    ]
    assert [(d["document_number"], d["amount"]) for d in documents] == [
        ("ACT-2026-000001", rub(LINE)),
        ("ACT-2026-000002", rub(LINE)),
        ("ACT-2026-000003", rub(LINE)),
    ]
    refusals = {
        name: own.refused(act(invoice), key=f"act/{name}", status=409)
        for name, invoice in (
            ("bonus", paid["bonus"]),
            ("again", paid["bank_transfer"]),
            ("unpaid", unpaid),
        )
    }
    assert {name: (r["code"], r["reason"]) for name, r in refusals.items()} == {
        "bonus": ("closing_document_not_allowed", "paid_with_bonuses"),
        "again": ("closing_document_not_allowed", "already_requested"),
        "unpaid": ("closing_document_not_allowed", "not_paid"),
    }
    # The client that paid its own line gets its own act, and the refusals left no gap.
    lotus_act = own.post(act(mine), key="act/lotus")
    assert (lotus_act["document_number"], lotus_act["amount"]) == ("ACT-2026-000004", rub(TWELVE))

    listed = own.pages(f"/v1/partners/{partner}/closing-documents")
    assert [(d["number"], d["client_id"]) for d in listed] == [
        ("ACT-2026-000001", cafe),
        ("ACT-2026-000002", cafe),
        ("ACT-2026-000003", cafe),
        ("ACT-2026-000004", lotus),
    ]
    # R-C8: a client's documents are its own.
    own_docs = own.pages(f"/v1/partners/{partner}/closing-documents", client_id=lotus)
    assert [d["number"] for d in own_docs] == ["ACT-2026-000004"]
    document = own.get(f"/v1/closing-documents/{lotus_act['document_id']}")
    assert (document["invoice_number"], document["client_name"]) == (mine["number"], "Салон Лотос")
    assert (document["amount"], document["requested_on"]) == (rub(TWELVE), "2026-01-31")
    assert [(line["kind"], minor(line["amount"])) for line in document["lines"]] == [
        ("product", 1800000),
        ("discount", -180000),
    ]
    assert story.trial_balance("RUB").get("receivable", 0) == LINE  # the unpaid one


def test_r_c8_one_partners_clients_lines_and_invoices_never_mix_with_anothers(
    runtime: Runtime, clock: SimulatedClock, client_for: ClientFor, make_key: MakeKey
) -> None:
    story = Story(runtime, clock, client_for, make_key)
    first, one = open_partner(story, "p1", "Интегратор Плюс")
    second, two = open_partner(story, "p2", "Чат Сервис")
    cafe = client(one, first, "cafe", "Кофейня Зерно")
    lotus = client(one, first, "lotus", "Салон Лотос", "owner@lotos.example")
    garage = client(two, second, "garage", "Автосервис Гараж")
    cafe_line, cafe_invoice = buy(one, first, cafe, "p1/cafe")
    lotus_line, lotus_invoice = buy(one, first, lotus, "p1/lotus", payer="client")
    garage_line, garage_invoice = buy(two, second, garage, "p2/garage")

    listed = {(i["id"], i["payer_id"]) for i in one.pages(f"/v1/partners/{first}/invoices")}
    assert listed == {
        (cafe_invoice["id"], str(first)),
        (lotus_invoice["id"], lotus),  # the client pays it, but it is still the partner's
    }
    assert [i["id"] for i in two.pages("/v1/invoices")] == [garage_invoice["id"]]
    assert [i["id"] for i in one.pages(f"/v1/clients/{lotus}/invoices")] == [lotus_invoice["id"]]
    for api, line, client_id in ((one, cafe_line, cafe), (one, lotus_line, lotus)):
        assert api.get(f"/v1/lines/{line}")["client_id"] == client_id
    assert two.get(f"/v1/lines/{garage_line}")["partner_id"] == str(second)
    assert two.get(f"/v1/clients/{garage}")["partner_id"] == str(second)

    # Each partner's key finds nothing of the other's: the 404 of an id that does not exist.
    assert one.missing(f"/v1/lines/{garage_line}")["code"] == "line_not_found"
    assert two.missing(f"/v1/lines/{cafe_line}")["code"] == "line_not_found"
    assert one.missing(f"/v1/clients/{garage}")["code"] == "client_not_found"
    assert one.missing(f"/v1/invoices/{garage_invoice['id']}")["code"] == "invoice_not_found"
    assert two.missing(f"/v1/partners/{first}/invoices")["code"] == "partner_not_found"
    refused = one.refused(
        "/v1/lines",
        {"partner_id": str(first), "client_id": garage, "product_code": "messaging-line"},
        key="p1/garage/line",
        status=404,
    )
    assert refused["code"] == "client_not_found"
    top_up_by_transfer(one, first, rub(300000), key="p1/top-up")
    # Only the first partner's balance could pay: the second's has nothing.
    poor = two.refused(
        f"/v1/invoices/{garage_invoice['id']}/payments",
        {"source": "company_balance"},
        key="p2/pay",
        status=409,
    )
    assert poor["code"] == "insufficient_balance"
    not_mine = one.refused(
        f"/v1/invoices/{garage_invoice['id']}/payments",
        {"source": "company_balance"},
        key="p1/pay-theirs",
        status=404,
    )
    assert not_mine["code"] == "invoice_not_found"
    assert balances(one, first)[0] == 300000
    assert balances(two, second) == (0, LINE, 0)
    assert story.trial_balance("RUB")["receivable"] == 3 * LINE

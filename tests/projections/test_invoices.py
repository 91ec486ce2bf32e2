"""Invoice history and banners: every invoice's row says what the domain's aggregate says, the
banner holds exactly the failed and overdue invoices, and the scenarios of R-O3, R-O5, R-X6,
R-C8, R-H2 and R-H3 read back as the rules say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from domain.invoice import Invoice, InvoiceStatus
from domain.money import Money
from domain.payment_methods import BankAccountDetails, CardDetails, PaymentSource
from domain.values import Location
from ledger.application import EVENTS_TABLE, Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock
from ledger.database import Database
from projections import generations
from projections.banners import (
    OVERDUE_REASON,
    Banner,
    BannerInvoice,
    BannerLine,
    Banners,
    client_banner,
    partner_banner,
)
from projections.base import stage
from projections.invoices import (
    InvoiceHistory,
    PaymentAnnouncement,
    client_invoices,
    invoice,
    invoices_of,
)
from projections.runner import Runner, Target
from tests.histories import make_history
from tests.projections.support import live_runner

GOOD_CARD = CardDetails("4242424242424242", 12, 2030, "Ada Lovelace", "123", "10001")
DECLINING_CARD = CardDetails("4000000000000002", 12, 2030, "Ada Lovelace", "123", "10001")
BOUNCING_ACCOUNT = BankAccountDetails("110000000", "000111111116", "Ada Lovelace")
SIGNATURES = 25_00
"""E-mail signatures: 25.00 USD a month (ledger/catalogue.toml)."""
POS_LOCATION = 49_00


def read_models(database: Database) -> Runner:
    return live_runner(database, InvoiceHistory(), Banners())


def business(
    ledger: Ledger,
    *,
    name: str = "Acme",
    card: CardDetails | BankAccountDetails | None = None,
    autopay: PaymentSource | None = None,
    clients: int = 1,
) -> tuple[UUID, list[UUID]]:
    """A USD partner in UTC with its clients, each paying through the partner."""
    partner = ledger.open_partner_account(name=name, currency="USD", time_zone="UTC").aggregate_id
    assert partner is not None
    if card is not None:
        ledger.add_payment_method(partner, card, make_default=True)
    if autopay is not None:
        ledger.set_account_autopay(partner, autopay)
    registered = [
        ledger.register_client(partner, name=f"{name} client {n}", unified_billing=False)
        for n in range(clients)
    ]
    return partner, [r.aggregate_id for r in registered if r.aggregate_id is not None]


def line(
    ledger: Ledger,
    partner: UUID,
    client: UUID,
    product: str = "email-signatures",
    locations: tuple[Location, ...] = (),
) -> tuple[UUID, UUID]:
    """An active line and the invoice of its first period."""
    created = ledger.create_line(partner, client, product, locations=locations).aggregate_id
    assert created is not None
    activated = ledger.activate_line(created)
    return created, UUID(activated.data["invoice_id"])


def row(database: Database, table: str, invoice_id: UUID) -> dict[str, Any]:
    with database.connect() as conn:
        return row_in(conn, table, invoice_id)


def row_in(conn: psycopg.Connection[Any], table: str, invoice_id: UUID) -> dict[str, Any]:
    cur = conn.execute(
        sql.SQL("SELECT * FROM {} WHERE invoice_id = %s").format(sql.Identifier(table)),
        (invoice_id,),
    )
    found = cur.fetchone()
    names = [column.name for column in cur.description or []]
    return dict(zip(names, found, strict=True)) if found else {}


def assert_matches_domain(ledger: Ledger, database: Database, invoice_id: UUID) -> None:
    with database.connect() as conn:
        assert_rows_are(conn, ledger.invoice(invoice_id))


def assert_rows_are(conn: psycopg.Connection[Any], domain: Invoice) -> None:
    """The invoice's rows are what the domain's aggregate says, figure for figure."""
    document = invoice(conn, domain.id)
    assert document is not None, f"invoice {domain.number} is missing"
    seen = document.invoice
    open_, quiet = domain.status is InvoiceStatus.OPEN, not domain.pending
    assert (
        seen.status,
        seen.number,
        seen.partner_id,
        seen.payer_id,
        seen.client_id,
        seen.issued_on,
        seen.due_on,
        seen.line_ids,
        seen.currency,
    ) == (
        domain.status.value,
        domain.number,
        domain.partner_id,
        domain.payer_id,
        domain.client_id,
        domain.issued_on,
        domain.due_on,
        list(domain.line_ids),
        domain.currency,
    )
    assert (
        seen.total_minor,
        seen.paid_minor,
        seen.credited_minor,
        seen.refunded_minor,
        seen.outstanding_minor,
        seen.pending_debits_minor,
    ) == (
        domain.total.amount_minor,
        domain.paid.amount_minor,
        domain.credited.amount_minor,
        domain.refunded.amount_minor,
        domain.outstanding.amount_minor,
        domain.pending_total.amount_minor,
    )
    assert seen.overdue == (open_ and quiet and domain.overdue)
    assert seen.failed == (open_ and quiet and domain.last_attempt_failed)
    assert (seen.overdue or seen.failed) == domain.is_outstanding
    assert (seen.marked_overdue_on is not None) == domain.overdue
    assert seen.last_decline_code == domain.last_decline
    assert [(x.kind, x.description, x.amount_minor, x.line_id) for x in document.lines] == [
        (x.kind.value, x.description, x.amount.amount_minor, x.line_id) for x in domain.lines
    ]
    paid = {p.payment_id: p.amount_minor for p in document.payments if p.what == "payment"}
    assert paid == {UUID(k): p.amount.amount_minor for k, p in domain.payments.items()}
    refunded: dict[UUID, int] = {}
    for p in document.payments:
        if p.what == "refund":
            refunded[p.payment_id] = refunded.get(p.payment_id, 0) + p.amount_minor
    assert refunded == {
        UUID(k): p.refunded.amount_minor
        for k, p in domain.payments.items()
        if p.refunded.is_positive()
    }
    assert sum(p.what == "failed" for p in document.payments) == domain.failed_attempts
    waiting = {
        a.payment_id: (a.source, a.amount_minor, a.reference)
        for a in document.announcements
        if a.confirmed_on is None
    }
    assert waiting == {
        UUID(k): (a.source.value, a.amount.amount_minor, a.reference)
        for k, a in domain.announced_payments.items()
    }
    for confirmed in (a for a in document.announcements if a.confirmed_on is not None):
        assert paid[confirmed.payment_id] == confirmed.amount_minor  # paid once, as announced
    assert sum(n.amount_minor for n in document.credit_notes) == domain.credited.amount_minor

    banner_row = row_in(conn, "banner_invoices", domain.id)
    if not domain.is_outstanding:
        assert banner_row == {}, f"invoice {domain.number} owes nothing a banner shows"
        return
    kind = "failed" if domain.last_attempt_failed else "overdue"
    assert (banner_row["owed_minor"], banner_row["kind"]) == (domain.outstanding.amount_minor, kind)
    reason = seen.last_decline_reason if kind == "failed" else OVERDUE_REASON
    assert banner_row["reason"] == reason


def all_invoices(database: Database) -> list[UUID]:
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT originator_id FROM ledger_events WHERE topic LIKE %s ORDER BY notification_id",
            ("%Invoice.Issued",),
        ).fetchall()
    return [UUID(str(row[0])) for row in rows]


# --- the key property: the read models are the domain, for any history --------------------


@pytest.mark.parametrize(("seed", "batch_size"), [(1, 2), (7, 9), (11, 5_000), (2, 40)])
def test_every_invoice_and_banner_row_is_what_the_domain_says(
    ledger: Ledger, clock: SimulatedClock, database: Database, seed: int, batch_size: int
) -> None:
    history = make_history(ledger, clock, seed, steps=120)
    runner = live_runner(database, InvoiceHistory(), Banners(), batch_size=batch_size)
    runner.catch_up()
    runner.close()

    invoices = {i: ledger.invoice(i) for i in all_invoices(database)}
    assert len(invoices) > 8, "the history issued too few invoices to prove anything"
    outstanding = [i for i in invoices.values() if i.is_outstanding]
    assert outstanding, "the history owes nothing a banner would show"
    with database.connect() as conn:
        for domain in invoices.values():
            assert_rows_are(conn, domain)
        assert conn.execute("SELECT count(*) FROM invoices").fetchone() == (len(invoices),)
        owing = conn.execute("SELECT count(*) FROM banner_invoices").fetchone()
        assert owing == (len(outstanding),)
        for partner in history.partners:
            shown = partner_banner(conn, partner)
            owed = sum(i.outstanding.amount_minor for i in outstanding if i.payer_id == partner)
            assert (shown.total_minor if shown else 0) == owed


def test_batch_boundaries_do_not_change_a_rebuilt_generation(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    make_history(ledger, clock, 3, steps=100)
    live = read_models(database)
    live.catch_up()
    live.close()
    projections = (InvoiceHistory(), Banners())
    with database.connect() as conn:
        rebuilt = [Target(p, generations.create(conn, p)) for p in projections]
    runner = Runner(database.connect, rebuilt, events_table=EVENTS_TABLE, batch_size=1)
    runner.catch_up()
    runner.close()
    tables = [
        "invoices",
        "invoice_lines",
        "invoice_payments",
        "invoice_announcements",
        "credit_notes",
        "banner_invoices",
        "banner_open_invoices",
    ]
    with database.connect() as conn:
        for table in tables:
            copies = []
            for schema in ("rm_invoices_1", "rm_banners_1", "rm_invoices_2", "rm_banners_2"):
                exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone()
                if exists and exists[0]:
                    copies.append(
                        conn.execute(
                            sql.SQL("SELECT * FROM {}.{} ORDER BY 1, 2").format(
                                sql.Identifier(schema), sql.Identifier(table)
                            )
                        ).fetchall()
                    )
            assert len(copies) == 2
            assert copies[0] == copies[1], f"{table} depends on where batches end"


# --- scenarios --------------------------------------------------------------------------


def test_r_h3_a_declined_card_shows_its_reason_and_links_to_that_line(
    ledger: Ledger, database: Database
) -> None:
    partner, [client] = business(ledger, card=DECLINING_CARD, autopay=PaymentSource.CARD)
    subscription, billed = line(ledger, partner, client)
    runner = read_models(database)
    runner.catch_up()

    assert_matches_domain(ledger, database, billed)
    number = ledger.invoice(billed).number
    expected = Banner(
        total_minor=SIGNATURES,
        currency="USD",
        lines=[
            BannerLine(
                subscription,
                SIGNATURES,
                [
                    BannerInvoice(
                        billed,
                        number,
                        SIGNATURES,
                        "failed",
                        "The card was declined by its bank.",
                        "card_declined",
                        ledger.invoice(billed).issued_on,
                    )
                ],
            )
        ],
        target=("line", subscription),
    )
    with database.connect() as conn:
        assert client_banner(conn, partner, client) == expected
        assert partner_banner(conn, partner) == expected  # the partner pays for this client
        document = invoice(conn, billed)
    assert document is not None
    assert document.invoice.failed
    assert (document.invoice.last_decline_code, document.invoice.overdue) == (
        "card_declined",
        False,
    )
    [attempt] = document.payments
    assert (attempt.what, attempt.decline_code) == ("failed", "card_declined")
    runner.close()


def test_r_h3_two_lines_owing_are_listed_and_totalled_until_the_last_is_paid_in_one_batch(
    ledger: Ledger, database: Database
) -> None:
    partner, [client] = business(ledger, card=DECLINING_CARD, autopay=PaymentSource.CARD)
    first_line, first = line(ledger, partner, client)
    second_line, second = line(ledger, partner, client)
    runner = read_models(database)
    runner.catch_up()
    with database.connect() as conn:
        both = client_banner(conn, partner, client)
    assert both is not None
    assert (both.total_minor, both.target) == (2 * SIGNATURES, ("list", None))
    assert [(x.line_id, x.owed_minor) for x in both.lines] == [
        (first_line, SIGNATURES),
        (second_line, SIGNATURES),
    ]

    ledger.pay_invoice(first, PaymentSource.BANK_TRANSFER, reference="wire 1")
    runner.catch_up()
    with database.connect() as conn:
        one = client_banner(conn, partner, client)
    assert one is not None
    assert (one.total_minor, one.target) == (SIGNATURES, ("line", second_line))

    ledger.pay_invoice(second, PaymentSource.BANK_TRANSFER, reference="wire 2")
    with database.connect() as conn:
        stage(conn)
        moved, done = runner.run_once(conn)
        assert (moved > 0, done) == (True, True)  # the payment and the settling: one batch
        assert client_banner(conn, partner, client) is None
        assert partner_banner(conn, partner) is None
    for billed in (first, second):
        assert row(database, "invoices", billed)["status"] == "settled"
        assert_matches_domain(ledger, database, billed)
    runner.close()


def test_r_h2_an_offline_invoice_past_its_due_date_is_not_collected_by_due_date(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, [client] = business(ledger)
    subscription, billed = line(ledger, partner, client)
    assert ledger.invoice(billed).due_on == date(2026, 2, 14)
    runner = read_models(database)

    clock.set(datetime(2026, 2, 14, 23, 59, tzinfo=UTC))
    tick(ledger, clock.now())
    runner.catch_up()
    with database.connect() as conn:
        assert client_banner(conn, partner, client) is None
    assert not row(database, "invoices", billed)["overdue"]

    clock.set(datetime(2026, 2, 15, 0, 1, tzinfo=UTC))
    tick(ledger, clock.now())
    runner.catch_up()
    with database.connect() as conn:
        late = client_banner(conn, partner, client)
    assert late is not None
    [owing] = late.lines
    [why] = owing.invoices
    assert (owing.line_id, why.kind, why.reason, why.since, why.decline_code) == (
        subscription,
        "overdue",
        "not collected by due date",
        date(2026, 2, 15),
        None,
    )
    assert (late.total_minor, late.target) == (SIGNATURES, ("line", subscription))
    assert row(database, "invoices", billed)["overdue"]
    assert_matches_domain(ledger, database, billed)

    ledger.pay_invoice(billed, PaymentSource.CASH, reference="receipt 17")
    runner.catch_up()
    with database.connect() as conn:
        assert client_banner(conn, partner, client) is None
    assert_matches_domain(ledger, database, billed)
    runner.close()


def test_r_h2_a_debit_on_its_way_is_neither_failed_nor_overdue_until_it_bounces(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, [client] = business(ledger, card=BOUNCING_ACCOUNT, autopay=PaymentSource.DIRECT_DEBIT)
    _, billed = line(ledger, partner, client)
    runner = read_models(database)
    runner.catch_up()
    waiting = row(database, "invoices", billed)
    assert (waiting["pending_debits_minor"], waiting["failed"]) == (SIGNATURES, False)
    with database.connect() as conn:
        assert client_banner(conn, partner, client) is None
        on_its_way = invoice(conn, billed)
    assert on_its_way is not None
    assert [(p.what, p.still_pending) for p in on_its_way.payments] == [("pending", True)]
    assert_matches_domain(ledger, database, billed)

    clock.advance(timedelta(days=7))
    tick(ledger, clock.now())
    runner.catch_up()
    bounced = row(database, "invoices", billed)
    assert (bounced["pending_debits_minor"], bounced["failed"]) == (0, True)
    assert bounced["last_decline_code"] == "no_account"
    with database.connect() as conn:
        shown = client_banner(conn, partner, client)
        document = invoice(conn, billed)
    assert shown is not None
    assert shown.lines[0].invoices[0].reason == "The bank account does not exist."
    assert document is not None
    assert [(p.what, p.still_pending) for p in document.payments] == [
        ("pending", False),  # the query says it bounced: no reader works it out (R-H2)
        ("failed", False),
    ]
    assert_matches_domain(ledger, database, billed)
    runner.close()


def test_r_h2_an_overdue_invoice_leaves_the_banner_while_a_debit_is_on_its_way(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, [client] = business(ledger)
    subscription, billed = line(ledger, partner, client)
    clock.set(datetime(2026, 2, 16, 12, tzinfo=UTC))  # a Monday, past the due date
    tick(ledger, clock.now())
    runner = read_models(database)
    runner.catch_up()
    with database.connect() as conn:
        overdue = client_banner(conn, partner, client)
    assert overdue is not None
    assert overdue.lines[0].invoices[0].kind == "overdue"

    ledger.add_payment_method(partner, BOUNCING_ACCOUNT, make_default=True)
    ledger.charge_invoice(billed)
    runner.catch_up()
    waiting = row(database, "invoices", billed)
    assert (waiting["overdue"], waiting["marked_overdue_on"]) == (False, date(2026, 2, 15))
    assert waiting["pending_debits_minor"] == SIGNATURES
    with database.connect() as conn:
        assert client_banner(conn, partner, client) is None
    assert_matches_domain(ledger, database, billed)

    clock.advance(timedelta(days=7))
    tick(ledger, clock.now())
    runner.catch_up()
    with database.connect() as conn:
        bounced = client_banner(conn, partner, client)
    assert bounced is not None  # the newest fact, the bounce, is what the banner says
    assert bounced.lines[0].invoices[0].kind == "failed"
    assert bounced.target == ("line", subscription)
    assert_matches_domain(ledger, database, billed)
    runner.close()


def test_r_h2_an_announced_payment_waits_in_the_history_and_pays_once_when_confirmed(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, [client] = business(ledger, card=DECLINING_CARD, autopay=PaymentSource.CARD)
    _, billed = line(ledger, partner, client)
    clock.advance(timedelta(days=2))
    announced = ledger.announce_payment(billed, PaymentSource.BANK_TRANSFER, "Wire #17")
    payment_id = UUID(announced.data["payment_id"])
    runner = read_models(database)
    runner.catch_up()
    with database.connect() as conn:
        waiting = invoice(conn, billed)
        still_owed = client_banner(conn, partner, client)
    assert waiting is not None
    assert waiting.announcements == [
        PaymentAnnouncement(
            payment_id=payment_id,
            source="bank_transfer",
            amount_minor=SIGNATURES,
            currency="USD",
            reference="Wire #17",
            announced_on=date(2026, 2, 2),
            confirmed_on=None,
            position=announced.position,
        )
    ]
    shown = waiting.invoice
    # Announced money pays nothing: the declined charge is still the invoice's last word.
    assert (shown.status, shown.paid_minor, shown.outstanding_minor, shown.failed) == (
        "open",
        0,
        SIGNATURES,
        True,
    )
    assert shown.position == announced.position
    assert [p.what for p in waiting.payments] == ["failed"]
    assert still_owed is not None
    assert_matches_domain(ledger, database, billed)

    clock.advance(timedelta(days=1))
    confirmed = ledger.confirm_payment(billed, payment_id)
    runner.catch_up()
    with database.connect() as conn:
        paid = invoice(conn, billed)
        assert client_banner(conn, partner, client) is None
    assert paid is not None
    [announcement] = paid.announcements
    assert (announcement.payment_id, announcement.confirmed_on) == (payment_id, date(2026, 2, 3))
    received = [
        (p.payment_id, p.amount_minor, p.reference) for p in paid.payments if p.what == "payment"
    ]
    assert received == [(payment_id, SIGNATURES, "Wire #17")]
    settled = paid.invoice
    assert (settled.status, settled.paid_minor, settled.outstanding_minor, settled.failed) == (
        "settled",
        SIGNATURES,
        0,
        False,
    )
    assert announced.position < settled.position <= confirmed.position
    assert_matches_domain(ledger, database, billed)
    runner.close()


def test_r_x6_voids_credit_notes_and_refunds_stay_in_the_history(
    ledger: Ledger, database: Database
) -> None:
    partner, [client] = business(ledger)
    _, voided = line(ledger, partner, client)
    _, credited = line(ledger, partner, client)
    ledger.void_invoice(voided, "issued by mistake")
    ledger.issue_credit_note(credited, Money(10_00, "USD"), "loyalty discount")
    paid = ledger.pay_invoice(credited, PaymentSource.BANK_TRANSFER, reference="wire 9")
    ledger.refund(credited, UUID(paid.data["payment_id"]), Money(5_00, "USD"), "goodwill")
    runner = read_models(database)
    runner.catch_up()

    with database.connect() as conn:
        void_doc = invoice(conn, voided)
        credit_doc = invoice(conn, credited)
        listed = invoices_of(conn, partner).invoices
    assert void_doc is not None
    assert credit_doc is not None
    gone = void_doc.invoice
    assert (gone.status, gone.total_minor, gone.outstanding_minor, gone.void_reason) == (
        "void",
        SIGNATURES,
        0,
        "issued by mistake",
    )
    assert len(void_doc.lines) == 1  # its lines stay, as issued
    kept = credit_doc.invoice
    assert (kept.status, kept.credited_minor, kept.paid_minor, kept.refunded_minor) == (
        "settled",
        10_00,
        15_00,
        5_00,
    )
    [note] = credit_doc.credit_notes
    assert (note.amount_minor, note.reason) == (10_00, "loyalty discount")
    assert note.number.startswith("CN")
    assert [(p.what, p.amount_minor, p.refunded_minor) for p in credit_doc.payments] == [
        ("payment", 15_00, 5_00),  # what was refunded of it, summed by the query (R-H6)
        ("refund", 5_00, 0),
    ]
    assert {i.invoice_id for i in listed} == {voided, credited}
    for billed in (voided, credited):
        assert_matches_domain(ledger, database, billed)
    runner.close()


def test_r_o3_a_card_payment_itemises_locations_and_its_fee_line(
    ledger: Ledger, database: Database
) -> None:
    partner, [client] = business(ledger, card=GOOD_CARD, autopay=PaymentSource.CARD)
    sites = (Location(UUID(int=1), "Main St"), Location(UUID(int=2), "Harbour"))
    subscription, billed = line(ledger, partner, client, "pos-location", sites)
    runner = read_models(database)
    runner.catch_up()
    with database.connect() as conn:
        document = invoice(conn, billed)
    assert document is not None
    products = [x for x in document.lines if x.kind == "product"]
    assert {(x.location_name, x.amount_minor, x.line_id) for x in products} == {
        ("Main St", POS_LOCATION, subscription),
        ("Harbour", POS_LOCATION, subscription),
    }
    [fee] = [x for x in document.lines if x.kind == "card_fee"]
    assert document.lines[-1] == fee
    assert document.invoice.total_minor == 2 * POS_LOCATION + fee.amount_minor
    [payment] = document.payments
    assert (payment.source, payment.fee_minor) == ("card", fee.amount_minor)
    assert document.invoice.status == "settled"
    assert_matches_domain(ledger, database, billed)
    runner.close()


def test_r_o5_a_partner_pages_through_all_its_invoices_and_fetches_any_again(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, [client] = business(ledger)
    other, [stranger] = business(ledger, name="Other")
    mine = []
    for day in range(7):
        mine.append(line(ledger, partner, client)[1])
        if day % 2:
            clock.advance(timedelta(days=1))
    line(ledger, other, stranger)
    runner = read_models(database)
    runner.catch_up()

    seen, pages, after = [], 0, None
    with database.connect() as conn:
        while True:
            page = invoices_of(conn, partner, after=after, limit=3)
            seen.extend(page.invoices)
            pages += 1
            if page.next is None:
                break
            after = page.next
        with pytest.raises(ValueError, match="a page holds"):
            invoices_of(conn, partner, limit=0)
        fetched = [invoice(conn, i.invoice_id) for i in seen]
        assert invoice(conn, mine[0], partner_id=other) is None  # R-C8
    assert pages == 3
    assert {i.invoice_id for i in seen} == set(mine)
    keys = [(i.issued_on, i.number) for i in seen]
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == len(keys)
    assert all(doc is not None and len(doc.lines) == 1 for doc in fetched)
    runner.close()


def test_r_c8_a_client_sees_only_its_own_invoices_and_banner(
    ledger: Ledger, database: Database
) -> None:
    partner, [ours, theirs] = business(
        ledger, card=DECLINING_CARD, autopay=PaymentSource.CARD, clients=2
    )
    other, [stranger] = business(ledger, name="Other", card=DECLINING_CARD)
    ledger.set_account_autopay(other, PaymentSource.CARD)
    own = {line(ledger, partner, ours)[1], line(ledger, partner, ours)[1]}
    their_line, _ = line(ledger, partner, theirs)
    line(ledger, other, stranger)
    runner = read_models(database)
    runner.catch_up()

    with database.connect() as conn:
        listed = client_invoices(conn, partner, ours).invoices
        assert {i.invoice_id for i in listed} == own
        assert client_invoices(conn, other, ours).invoices == []  # another partner's view
        assert client_invoices(conn, partner, stranger).invoices == []
        banner = client_banner(conn, partner, theirs)
        assert client_banner(conn, other, theirs) is None
        everything = partner_banner(conn, partner)
    assert banner is not None
    assert (banner.total_minor, banner.target) == (SIGNATURES, ("line", their_line))
    assert everything is not None
    assert everything.total_minor == 3 * SIGNATURES  # the partner pays for both clients
    runner.close()


def test_a_partners_unified_invoice_splits_its_debt_across_its_lines(
    ledger: Ledger, clock: SimulatedClock, database: Database
) -> None:
    partner, _ = business(ledger, card=DECLINING_CARD, autopay=PaymentSource.CARD, clients=0)
    clients = [
        ledger.register_client(partner, name=f"Unified {n}", unified_billing=True).aggregate_id
        for n in range(2)
    ]
    lines = []
    for client in clients:
        assert client is not None
        created = ledger.create_line(partner, client, "email-signatures", unified_billing=True)
        assert created.aggregate_id is not None
        ledger.activate_line(created.aggregate_id)
        lines.append(created.aggregate_id)
    clock.advance(timedelta(days=40))
    tick(ledger, clock.now())
    runner = read_models(database)
    runner.catch_up()

    unified = [i for i in all_invoices(database) if ledger.invoice(i).client_id is None]
    assert unified, "the billing day issued no unified invoice"
    with database.connect() as conn:
        shown = partner_banner(conn, partner)
        for client in clients:
            assert client is not None
            assert client_banner(conn, partner, client) is None  # not the clients' documents
    owed = sum(ledger.invoice(i).outstanding.amount_minor for i in unified)
    assert shown is not None
    assert shown.total_minor == owed
    assert {x.line_id for x in shown.lines} == set(lines)
    assert shown.target == ("list", None)
    assert sum(x.owed_minor for x in shown.lines) == owed
    for billed in all_invoices(database):
        assert_matches_domain(ledger, database, billed)
    runner.close()


def test_the_history_reads_every_invoice_event_but_closing_document_requests() -> None:
    """A new kind of invoice event must be weighed here before the history can miss it."""
    shown = {f"Invoice.{name}" for name, value in vars(Invoice).items() if isinstance(value, type)}
    skipped = {"Invoice.Event", "Invoice.Created", "Invoice.ClosingDocumentRequested"}
    assert set(InvoiceHistory.reads) == shown - skipped

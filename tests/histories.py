"""Random but valid business histories, driven through the ledger.

Each step picks something a partner, a client or the billing clock could do next, and does it
through the `Ledger` facade; refusals are part of life (a payment larger than the balance, a
refund of cash) and are simply skipped. The same seed makes the same history. Reseller
transfers are requested with some consents, completed by later consents, and take effect when
the billing clock reaches their date (R-E1 … R-E4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from domain.calendar import Term
from domain.errors import BillingError
from domain.invoice import InvoiceStatus
from domain.money import Money
from domain.payment_methods import CardDetails, PaymentSource
from domain.subscription_line import LineStatus, TransferParty, TransferRequest
from domain.values import Location, Payer
from ledger.application import Ledger
from ledger.billing_clock import tick
from ledger.clock import SimulatedClock

CARDS = ["4242424242424242", "5555555555554444", "4000000000000002"]
ZONES = ["America/New_York", "Europe/Madrid", "Europe/Warsaw", "UTC"]


@dataclass
class History:
    """What a random history made, for tests to look at."""

    partners: list[UUID] = field(default_factory=list)
    clients: dict[UUID, list[UUID]] = field(default_factory=dict)
    lines: list[UUID] = field(default_factory=list)
    invoices: list[UUID] = field(default_factory=list)
    transfers_requested: int = 0
    steps: int = 0
    refused: int = 0


def make_history(
    ledger: Ledger, clock: SimulatedClock, seed: int, steps: int, *, transfers: bool = False
) -> History:
    """Run `steps` random steps through the ledger; with `transfers`, reseller transfers too
    (off by default so that the histories other tests picked their seeds by stay the same)."""
    rng = random.Random(seed)
    history = History()
    actions = [
        (3, _open_partner),
        (3, _register_client),
        (2, _top_up),
        (5, _create_and_activate_line),
        (6, _pay),
        (2, _announce),
        (2, _confirm),
        (2, _refund),
        (1, _credit_or_void),
        (2, _lead),
        (3, _time_passes),
    ]
    if transfers:
        actions += [(2, _request_transfer), (2, _consent_to_transfer)]
    weights = [weight for weight, _ in actions]
    for _ in range(steps):
        _, action = rng.choices(actions, weights)[0]
        history.steps += 1
        try:
            action(ledger, clock, rng, history)
        except BillingError:
            history.refused += 1
    return history


def _open_partner(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    currency = rng.choice(["USD", "USD", "EUR"])
    result = ledger.open_partner_account(
        name=f"Partner {len(h.partners)}", currency=currency, time_zone=rng.choice(ZONES)
    )
    assert result.aggregate_id is not None
    h.partners.append(result.aggregate_id)
    h.clients[result.aggregate_id] = []
    ledger.add_payment_method(
        result.aggregate_id,
        CardDetails(rng.choice(CARDS), 12, 2030, "Ada Lovelace", "123", "10001"),
        make_default=True,
    )
    if rng.random() < 0.5:
        ledger.set_account_autopay(result.aggregate_id, PaymentSource.CARD)


def _partner(rng: random.Random, h: History) -> UUID:
    if not h.partners:
        raise BillingError("no partner yet")
    return rng.choice(h.partners)


def _register_client(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    partner = _partner(rng, h)
    result = ledger.register_client(
        partner,
        name=f"Client {sum(len(c) for c in h.clients.values())}",
        email="client@example.com",
        unified_billing=rng.random() < 0.5,
    )
    assert result.aggregate_id is not None
    h.clients[partner].append(result.aggregate_id)


def _top_up(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    partner = _partner(rng, h)
    currency = ledger.partner_account(partner).currency
    ledger.top_up(
        partner,
        Money(rng.randrange(1_000, 50_000), currency),
        PaymentSource.BANK_TRANSFER,
        reference=f"wire-{rng.randrange(10**6)}",
    )


def _create_and_activate_line(
    ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History
) -> None:
    partner = _partner(rng, h)
    if not h.clients[partner]:
        raise BillingError("no client yet")
    client = rng.choice(h.clients[partner])
    account = ledger.partner_account(partner)
    unified = account.client(client).unified_billing and rng.random() < 0.7
    product = rng.choice(["pos-location", "email-signatures", "email-signatures"])
    locations = tuple(
        Location(UUID(int=rng.getrandbits(128)), f"Site {n}") for n in range(rng.randint(1, 3))
    )
    result = ledger.create_line(
        partner,
        client,
        product,
        term=rng.choice([Term.MONTHLY, Term.MONTHLY, Term.TWELVE_MONTHS]),
        payer=Payer.PARTNER if unified or rng.random() < 0.6 else Payer.CLIENT,
        unified_billing=unified,
        locations=locations if product == "pos-location" else (),
    )
    assert result.aggregate_id is not None
    h.lines.append(result.aggregate_id)
    activated = ledger.activate_line(result.aggregate_id)
    if "invoice_id" in activated.data:
        h.invoices.append(UUID(activated.data["invoice_id"]))


def _open_invoice(ledger: Ledger, rng: random.Random, h: History) -> UUID:
    candidates = [i for i in h.invoices if ledger.invoice(i).status is InvoiceStatus.OPEN]
    if not candidates:
        raise BillingError("nothing open")
    return rng.choice(candidates)


def _pay(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    invoice = ledger.invoice(_open_invoice(ledger, rng, h))
    source = rng.choice(
        [
            PaymentSource.BANK_TRANSFER,
            PaymentSource.CASH,
            PaymentSource.COMPANY_BALANCE,
            PaymentSource.BONUS,
            PaymentSource.CARD,
        ]
    )
    amount = None
    if source is not PaymentSource.CARD and rng.random() < 0.3:
        amount = Money(max(1, invoice.outstanding.amount_minor // 2), invoice.currency)
    ledger.pay_invoice(invoice.id, source, amount=amount, reference="ref")


def _announce(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    """A payer says it sent money outside the gateway; it pays nothing yet (R-H2)."""
    invoice = ledger.invoice(_open_invoice(ledger, rng, h))
    source = rng.choice(
        [PaymentSource.BANK_TRANSFER, PaymentSource.CASH, PaymentSource.CHEQUE, PaymentSource.OTHER]
    )
    amount = None
    if rng.random() < 0.3:
        amount = Money(max(1, invoice.outstanding.amount_minor // 2), invoice.currency)
    ledger.announce_payment(invoice.id, source, f"announced-{rng.randrange(10**6)}", amount=amount)


def _confirm(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    """The vendor confirms an announced payment arrived (refused once it no longer fits)."""
    waiting = [
        (invoice_id, payment_id)
        for invoice_id in h.invoices
        for payment_id in sorted(ledger.invoice(invoice_id).announced_payments)
    ]
    if not waiting:
        raise BillingError("nothing announced")
    invoice_id, payment_id = rng.choice(waiting)
    ledger.confirm_payment(invoice_id, UUID(payment_id))


def _refund(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    if not h.invoices:
        raise BillingError("no invoice")
    invoice = ledger.invoice(rng.choice(h.invoices))
    if not invoice.payments:
        raise BillingError("nothing paid")
    payment_id, payment = rng.choice(sorted(invoice.payments.items()))
    if not payment.refundable.is_positive():
        raise BillingError("nothing to refund")
    amount = Money(rng.randint(1, payment.refundable.amount_minor), invoice.currency)
    ledger.refund(invoice.id, UUID(payment_id), amount, "goodwill")


def _credit_or_void(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    invoice = ledger.invoice(_open_invoice(ledger, rng, h))
    if invoice.payments or rng.random() < 0.5:
        amount = Money(max(1, invoice.outstanding.amount_minor // 3), invoice.currency)
        ledger.issue_credit_note(invoice.id, amount, "price adjusted")
    else:
        ledger.void_invoice(invoice.id, "issued by mistake")


def _lead(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    usd = [p for p in h.partners if ledger.partner_account(p).currency == "USD"]
    if not usd:
        raise BillingError("no USD partner")
    partner = rng.choice(usd)
    if not h.clients[partner]:
        raise BillingError("no client yet")
    leads = [
        line
        for line in h.lines
        if ledger.line(line).partner_id == partner and ledger.line(line).product_code == "lead"
    ]
    if not leads:
        created = ledger.create_line(partner, rng.choice(h.clients[partner]), "lead")
        assert created.aggregate_id is not None
        ledger.activate_line(created.aggregate_id)
        h.lines.append(created.aggregate_id)
        leads = [created.aggregate_id]
    result = ledger.record_lead(rng.choice(leads), UUID(int=rng.getrandbits(128)), clock.now())
    if "invoice_id" in result.data:
        h.invoices.append(UUID(result.data["invoice_id"]))


def _request_transfer(
    ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History
) -> None:
    """A client asks to move an active line to another reseller in its currency (R-E1, R-E2)."""
    active = [
        line
        for line in (ledger.line(line_id) for line_id in h.lines)
        if line.status is LineStatus.ACTIVE and line.transfer is None
    ]
    if not active:
        raise BillingError("no line to transfer")
    line = rng.choice(active)
    if line.open_invoices and rng.random() < 0.7:  # R-E3: settle first, mostly
        for invoice_id in sorted(line.open_invoices):
            invoice = ledger.invoice(UUID(invoice_id))
            ledger.pay_invoice(invoice.id, PaymentSource.BANK_TRANSFER, reference="settle")
    currency = line.unit_price.currency
    others = [
        p
        for p in h.partners
        if p != line.partner_id and ledger.partner_account(p).currency == currency
    ]
    if not others:
        raise BillingError("no other reseller in this currency")
    new = rng.choice(others)
    request = TransferRequest(
        end_user_name=f"End user of {line.id.hex[:6]}",
        current_reseller_id=line.partner_id,
        new_reseller_id=new,
        preferred_date=clock.now().date() + timedelta(days=rng.randint(0, 5)),
        owner_email="owner@client.example",
        invoice_email="invoices@client.example",
        billing=rng.choice([Term.MONTHLY, Term.ANNUAL]),
        payment_method=rng.choice([PaymentSource.BANK_TRANSFER, PaymentSource.CARD]),
    )
    parties = list(TransferParty) if rng.random() < 0.7 else rng.sample(list(TransferParty), 1)
    ledger.request_transfer(line.id, request, tuple(parties))
    h.transfers_requested += 1


def _consent_to_transfer(
    ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History
) -> None:
    """One more party consents to a requested transfer; the last one schedules it (R-E4)."""
    pending = [line_id for line_id in h.lines if ledger.line(line_id).missing_consents]
    waiting = [line_id for line_id in pending if ledger.line(line_id).transfer is not None]
    if not waiting:
        raise BillingError("no transfer waits for consent")
    line = ledger.line(rng.choice(waiting))
    ledger.give_consent(line.id, rng.choice(line.missing_consents))


def transfers_done(ledger: Ledger) -> int:
    """How many transfers took effect in the log (R-E1)."""
    with ledger.reads.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FROM ledger_events WHERE topic LIKE %s",
            ("%SubscriptionLine.Transferred",),
        ).fetchone()
    return int(str(row[0])) if row else 0


def _time_passes(ledger: Ledger, clock: SimulatedClock, rng: random.Random, h: History) -> None:
    clock.advance(timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23)))
    tick(ledger, clock.now())
    h.invoices = _all_invoices(ledger)
    for partner in h.partners:  # a completed transfer registered its client with the new one
        h.clients[partner] = [UUID(key) for key in ledger.partner_account(partner).clients]


def _all_invoices(ledger: Ledger) -> list[UUID]:
    with ledger.reads.connection() as conn:
        rows = conn.execute(
            "SELECT originator_id FROM ledger_events WHERE topic LIKE %s ORDER BY notification_id",
            ("%Invoice.Issued",),
        ).fetchall()
    return [UUID(str(row[0])) for row in rows]

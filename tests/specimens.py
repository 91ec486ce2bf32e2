"""One specimen of every domain event, built deterministically through the aggregates.

Fixed ids and instants make the specimens identical on every run, so their stored JSON can be
frozen (tests/fixtures/events) and any later change of an event's shape is caught.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.billing_policy import PolicyHistory
from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import Anchor, Term, aligned_first_period
from domain.catalogue import CatalogueProduct, PriceChangeScope
from domain.invoice import Invoice, InvoiceKind
from domain.money import Money
from domain.partner_account import PartnerAccount
from domain.payment_methods import BankAccountToken, CardBrand, CardToken, PaymentSource
from domain.price_overrides import PartnerPrices, PriceOverride
from domain.pricing import BillingPolicy, PriceUnit, Product, subscription_lines
from domain.subscription_line import SubscriptionLine, TransferParty, TransferRequest
from domain.test_clock import TestClock
from domain.values import Address, InvoiceLine, InvoiceLineKind, Location, Payer

NOW = datetime(2026, 1, 15, 14, 30, tzinfo=UTC)
TODAY = date(2026, 1, 15)
POLICY = BillingPolicy()

AGGREGATES: tuple[type[Aggregate], ...] = (
    PartnerAccount,
    SubscriptionLine,
    Invoice,
    BonusWallet,
    PolicyHistory,
    CatalogueProduct,
    PartnerPrices,
    TestClock,
)


def uid(n: int) -> UUID:
    return UUID(int=n)


PARTNER, NEW_PARTNER, CLIENT, LINE, LEAD_LINE = uid(1), uid(2), uid(3), uid(4), uid(5)
CARD = CardToken(
    token="tok_visa_4242",
    brand=CardBrand.VISA,
    last4="4242",
    expiry_month=12,
    expiry_year=2030,
    holder="Ada Lovelace",
)
BANK = BankAccountToken(
    token="tok_ach_6789", last4="6789", routing_number="011000015", name_on_account="Acme Inc"
)
SEATS = Product("pos-seat", "POS seat", PriceUnit.PER_LOCATION, Money(3000, "USD"))
LEADS = Product("lead", "Leads", PriceUnit.PER_LEAD, Money(2500, "USD"))


def event_classes() -> list[type[Any]]:
    """Every event class nested in an aggregate, in a stable order."""
    found: dict[str, type[Any]] = {}
    for aggregate in AGGREGATES:
        nested = {
            name: value
            for name, value in vars(aggregate).items()
            if isinstance(value, type) and issubclass(value, Aggregate.Event) and name != "Event"
        }
        created = [name for name, cls in nested.items() if issubclass(cls, Aggregate.Created)]
        if len(created) > 1:
            # The library gives every aggregate a `Created` class; ours are named otherwise.
            nested.pop("Created", None)
        found.update({cls.__qualname__: cls for cls in nested.values()})
    return [found[name] for name in sorted(found)]


def _account() -> list[Any]:
    account = PartnerAccount.open(
        partner_id=PARTNER,
        name="Acme Resellers",
        currency="USD",
        time_zone="America/New_York",
        now=NOW,
    )
    account.record_billing_profile(
        "Acme Resellers LLC",
        Address.of(["1 Main St"], "Springfield", "12345", "us"),
        "billing@acme.example",
        NOW,
    )
    account.add_payment_method(uid(10), CARD, make_default=True, now=NOW)
    account.add_payment_method(uid(11), BANK, make_default=False, now=NOW)
    account.replace_payment_method(uid(10), uid(12), CARD, NOW)
    account.make_default_payment_method(uid(11), NOW)
    account.register_client(CLIENT, "Bistro Uno", "owner@bistro.example", True, NOW)
    account.remove_client_from_unified_billing(CLIENT, NOW)
    account.announce_top_up(uid(20), Money(50_000, "USD"), "WIRE-1", NOW)
    account.confirm_top_up(uid(20), NOW)
    account.spend_balance(uid(21), Money(10_000, "USD"), uid(40), NOW)
    account.restore_balance(uid(22), Money(2_000, "USD"), uid(40), NOW)
    account.set_autopay(PaymentSource.COMPANY_BALANCE, NOW)
    seat = InvoiceLine(
        kind=InvoiceLineKind.PRODUCT,
        description="POS seat: Main St",
        amount=Money(3000, "USD"),
        product_code="pos-seat",
        line_id=LINE,
        location=Location(uid(50), "Main St"),
    )
    account.defer_charge(LINE, [seat], TODAY, NOW)
    account.record_unified_invoice(uid(44), date(2026, 2, 15), NOW)
    account.set_budget(Money(5_000, "USD"), NOW)
    account.charge_budget(uid(30), Money(5_000, "USD"), NOW)
    account.start_budget_period(NOW + timedelta(days=31))
    account.record_missed_payment(uid(41), POLICY.grace_period_days, NOW)
    account.expire_grace(NOW + timedelta(days=8))
    account.record_missed_payment_settled(uid(41), NOW + timedelta(days=9))
    account.close("partner left", NOW + timedelta(days=10))
    return list(account.collect_events())


def _line() -> list[Any]:
    line = SubscriptionLine.create(
        line_id=LINE,
        partner_id=PARTNER,
        client_id=CLIENT,
        product=SEATS,
        term=Term.MONTHLY,
        anchor=Anchor.ANNIVERSARY,
        payer=Payer.PARTNER,
        unified_billing=True,
        locations=[Location(uid(50), "Main St")],
        now=NOW,
    )
    line.send(NOW)
    line.accept(NOW)
    line.activate(TODAY + timedelta(days=1), TODAY, NOW)
    line.activate(TODAY, TODAY, NOW)
    line.add_location(Location(uid(51), "Harbour"), NOW)
    line.remove_location(uid(51), NOW)
    line.set_autopay(PaymentSource.CARD, NOW)
    line.attach_card(CARD, TODAY, NOW)
    line.record_invoice(uid(40), "INV-000001", Money(3000, "USD"), line.current_period, NOW)
    line.record_invoice_settled(uid(40), NOW)
    line.record_invoice(uid(42), "INV-000002", Money(3000, "USD"), None, NOW)
    line.record_invoice_voided(uid(42), NOW)
    line.renew(line.next_period.start, TODAY, NOW)
    line.pause("client asked", NOW)
    line.resume(NOW)
    line.remove_from_unified_billing(NOW)
    request = TransferRequest(
        end_user_name="Bistro Uno",
        current_reseller_id=PARTNER,
        new_reseller_id=NEW_PARTNER,
        preferred_date=date(2026, 2, 1),
        owner_email="owner@bistro.example",
        invoice_email="ap@bistro.example",
        billing=Term.ANNUAL,
        payment_method=PaymentSource.DIRECT_DEBIT,
    )
    line.request_transfer(request, list(TransferParty), TODAY, POLICY, NOW)
    line.complete_transfer(date(2026, 2, 2), NOW)
    line.cancel("client closed", date(2026, 3, 1), NOW)

    leads = SubscriptionLine.create(
        line_id=LEAD_LINE,
        partner_id=PARTNER,
        client_id=CLIENT,
        product=LEADS,
        term=Term.MONTHLY,
        anchor=Anchor.CALENDAR,
        payer=Payer.PARTNER,
        unified_billing=False,
        locations=[],
        now=NOW,
    )
    leads.activate(TODAY, TODAY, NOW)
    leads.record_lead(uid(60), Money(2500, "USD"), TODAY, NOW)
    leads.record_leads_invoiced(uid(43), [uid(60)], NOW)
    return [*line.collect_events(), *leads.collect_events()]


def _invoices() -> list[Any]:
    seats = subscription_lines(
        SEATS,
        LINE,
        [Location(uid(50), "Main St")],
        Term.TWELVE_MONTHS,
        aligned_first_period(TODAY, Term.TWELVE_MONTHS, 15),
        anchor_day=15,
        policy=POLICY,
    )
    paid = Invoice.issue(
        invoice_id=uid(40),
        partner_id=PARTNER,
        number="INV-000001",
        kind=InvoiceKind.SUBSCRIPTION,
        payer=Payer.PARTNER,
        client_id=CLIENT,
        lines=seats,
        issued_on=TODAY,
        due_on=TODAY,
        expected_source=PaymentSource.CARD,
        line_ids=[LINE],
        now=NOW,
    )
    paid.record_failed_payment(
        payment_id=uid(70),
        source=PaymentSource.CARD,
        amount=paid.total,
        decline_code="expired_card",
        reason="The card has expired.",
        on=TODAY,
        now=NOW,
    )
    paid.announce_payment(
        payment_id=uid(70),
        source=PaymentSource.BANK_TRANSFER,
        amount=Money(100, "USD"),
        reference="WIRE-2",
        on=TODAY,
        now=NOW,
    )
    amount, fee = paid.card_charge(POLICY)
    paid.record_payment(
        payment_id=uid(71),
        source=PaymentSource.CARD,
        amount=amount,
        fee_line=fee,
        on=TODAY,
        now=NOW,
        reference="ch_0001",
    )
    paid.refund(
        refund_id=uid(72),
        payment_id=uid(71),
        amount=Money(1000, "USD"),
        reason="goodwill",
        on=TODAY,
        now=NOW,
    )
    paid.request_closing_document(uid(73), "ACT-000001", TODAY, NOW)

    cash = Invoice.issue(
        invoice_id=uid(41),
        partner_id=PARTNER,
        number="INV-000002",
        kind=InvoiceKind.LEADS,
        payer=Payer.CLIENT,
        client_id=CLIENT,
        lines=[
            InvoiceLine(
                kind=InvoiceLineKind.LEAD,
                description="Lead",
                amount=Money(2500, "USD"),
                line_id=LEAD_LINE,
                lead_id=uid(60),
            )
        ],
        issued_on=TODAY,
        due_on=TODAY,
        expected_source=PaymentSource.CASH,
        line_ids=[LEAD_LINE],
        now=NOW,
    )
    cash.mark_overdue(TODAY + timedelta(days=1), NOW)
    cash.issue_credit_note(
        credit_note_id=uid(74),
        number="CN-000001",
        amount=Money(2500, "USD"),
        reason="lead was a duplicate",
        on=TODAY,
        now=NOW,
    )

    void = Invoice.issue(
        invoice_id=uid(42),
        partner_id=PARTNER,
        number="INV-000003",
        kind=InvoiceKind.SUBSCRIPTION,
        payer=Payer.PARTNER,
        client_id=None,
        lines=seats,
        issued_on=TODAY,
        due_on=TODAY,
        expected_source=PaymentSource.BANK_TRANSFER,
        now=NOW,
    )
    void.void("issued twice", TODAY, NOW)

    debit = Invoice.issue(
        invoice_id=uid(45),
        partner_id=PARTNER,
        number="INV-000004",
        kind=InvoiceKind.SUBSCRIPTION,
        payer=Payer.PARTNER,
        client_id=None,
        lines=seats,
        issued_on=TODAY,
        due_on=TODAY,
        expected_source=PaymentSource.DIRECT_DEBIT,
        now=NOW,
    )
    debit.record_pending_debit(
        payment_id=uid(75),
        amount=debit.total,
        reference="sim_ach_ok_20260119_0a",
        on=TODAY,
        now=NOW,
    )
    return [
        *paid.collect_events(),
        *cash.collect_events(),
        *void.collect_events(),
        *debit.collect_events(),
    ]


def _wallet() -> list[Any]:
    wallet = BonusWallet.open(PARTNER, "USD", NOW)
    wallet.credit(
        credit_id=uid(80),
        amount=Money(1500, "USD"),
        reason=CreditReason.CASHBACK,
        on=TODAY,
        now=NOW,
        payment_id=uid(71),
        client_id=CLIENT,
    )
    wallet.spend(uid(81), Money(1000, "USD"), uid(40), TODAY, NOW)
    wallet.claw_back(
        clawback_id=uid(82), payment_id=uid(71), due=Money(1500, "USD"), on=TODAY, now=NOW
    )
    return list(wallet.collect_events())


def _policy() -> list[Any]:
    history = PolicyHistory.start(NOW)
    history.schedule({"card_fee_rate": "0.025"}, date(2026, 3, 1), POLICY, NOW)
    return list(history.collect_events())


def _catalogue() -> list[Any]:
    product = CatalogueProduct.create(
        code="pos-seat",
        names={"en": "POS seat", "es": "Puesto TPV"},
        unit=PriceUnit.PER_LOCATION,
        now=NOW,
    )
    product.add_price(
        amount=Money(3000, "USD"),
        effective_from=date(2000, 1, 1),
        applies_to_existing=PriceChangeScope.NEXT_RENEWAL,
        now=NOW,
    )
    product.retire(TODAY, NOW)
    prices = PartnerPrices.open(PARTNER, NOW)
    prices.set_override(
        PriceOverride(
            product_code="pos-seat",
            currency="USD",
            effective_from=TODAY + timedelta(days=30),
            unit_price=None,
            percent_off=Decimal("0.15"),
        ),
        NOW,
    )
    return [*product.collect_events(), *prices.collect_events()]


def _test_clock() -> list[Any]:
    clock = TestClock.create(clock_id=uid(90), name="March", frozen_at=NOW, now=NOW)
    clock.start_advance(NOW + timedelta(days=30), NOW)
    clock.move_to(NOW + timedelta(days=10), NOW)
    clock.move_to(NOW + timedelta(days=30), NOW)
    clock.finish_advance(NOW)
    clock.delete(NOW)
    account = PartnerAccount.open(
        partner_id=NEW_PARTNER, name="Test", currency="USD", time_zone="UTC", now=NOW
    )
    account.join_test_clock(clock.id, NOW)
    return [*clock.collect_events(), *account.collect_events()]


def specimens() -> dict[type[Any], Any]:
    """The first event of each class the scenarios trigger."""
    found: dict[type[Any], Any] = {}
    events = [*_account(), *_line(), *_invoices(), *_wallet(), *_policy(), *_catalogue()]
    for event in [*events, *_test_clock()]:
        found.setdefault(type(event), event)
    return found

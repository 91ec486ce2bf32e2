"""The history's rule-derived amounts decided again under a proposed policy (what-if, issue 14).

It works on the events as the read models read them, in log order, and answers which events
would have said something else: the same rules as the live path, called with the proposed
values and prices: product lines and duration discounts (R-C3, replay/what_if_lines.py), card
fees (R-O7, domain/invoice.py) and cashback (R-C4, replay/what_if_wallet.py), and what follows
from them: invoice totals, the
payments that paid what was owed, the company balance and the bonus wallet they came from,
refunds and the cashback they took back.

Every decision that is not an amount is kept as it was made: which invoices were issued and
when, which were paid, by what and on which day, what was refunded or credited. A payment (a
refund, a credit note) that was all of what was owed is decided again as all of what would be
owed; a part is kept, at most what would be owed. The policy of each amount is the version its
event names (the one in force on its business date), with the proposed values from the
proposal's first day on. Nothing here reads or writes a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from uuid import UUID

from domain.billing_policy import PolicyChange, every_version
from domain.invoice import card_fee_shares
from domain.money import Money
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy
from domain.values import InvoiceLine
from ledger.transcodings import LedgerTranscoder
from replay.what_if_events import (
    BEFORE,
    FEE_ADDED,
    INVOICE_EVENTS,
    InvoiceState,
    LineFact,
    LoggedEvent,
    PaymentState,
    Proposal,
    Redecided,
    RefundState,
    day_of,
    minor,
    money_json,
    redecided_share,
    text_of,
)
from replay.what_if_lines import IssuedLines
from replay.what_if_wallet import WalletWalk

_CARD = PaymentSource.CARD.value


class Redecider(IssuedLines):
    """Walks a history in log order and decides its rule-derived amounts again."""

    def __init__(
        self,
        proposal: Proposal,
        base: BillingPolicy,
        changes: Sequence[PolicyChange],
        lines: Mapping[UUID, Sequence[LineFact]],
    ) -> None:
        self.proposal = proposal
        self.changes = list(changes)
        self.versions = every_version(base, self.changes)
        self.lines = lines
        """Each line's term and billing day, from the scratch positions they were set at."""
        self.transcoder = LedgerTranscoder()
        self.result = Redecided()
        self.invoices: dict[UUID, InvoiceState] = {}
        self.fee_groups: dict[str, list[LoggedEvent]] = {}
        self.group_of: dict[int, str] = {}
        self.fees: dict[str, dict[UUID, InvoiceLine | None]] = {}
        self.paid: dict[str, tuple[LoggedEvent, InvoiceState, PaymentState]] = {}
        self.refunded: dict[str, int] = {}
        self.refunds: dict[str, list[RefundState]] = {}
        self._policies: dict[tuple[int, bool], BillingPolicy] = {}

    # --- the policy ---------------------------------------------------------------------

    def version_on(self, day: date) -> int:
        return sum(1 for change in self.changes if change.effective_from <= day)

    def policy(self, version: int | None, day: date) -> BillingPolicy:
        """The recorded version (or the one in force on `day`), with the proposal applied."""
        number = self.version_on(day) if version is None else version
        key = (number, self.proposal.applies_on(day))
        if key not in self._policies:
            self._policies[key] = self.proposal.policy(self.versions[number], day)
        return self._policies[key]

    # --- the walk -----------------------------------------------------------------------

    def run(self, events: Sequence[LoggedEvent]) -> Redecided:
        """Decide again every amount of `events` (in scratch log order)."""
        self._group_card_charges(events)
        for logged in events:
            if logged.kind in INVOICE_EVENTS:
                getattr(self, "_" + logged.kind.split(".")[1].lower())(logged)
        WalletWalk(self).run(events)
        # An event the proposed rules added and then found nothing for is not added at all.
        added = {e.position for e in self.result.inserted}
        self.result.inserted = [
            e for e in self.result.inserted if e.position not in self.result.deleted
        ]
        self.result.deleted -= added
        for position in added:
            self.result.updated.pop(position, None)
        return self.result

    def _group_card_charges(self, events: Sequence[LoggedEvent]) -> None:
        """Card payments by the processor's charge: one charge may pay several invoices, and
        its fee is decided on their total (R-O7, R-H5)."""
        received = {
            (e.originator_id, e.version): e for e in events if e.kind == "Invoice.PaymentReceived"
        }
        for logged in received.values():
            if text_of(logged.event["source"]) == _CARD:
                charge = logged.event.get("reference") or text_of(logged.event["payment_id"])
                self.fee_groups.setdefault(str(charge), []).append(logged)
                self.group_of[logged.position] = str(charge)
        for logged in events:
            if logged.kind == FEE_ADDED:
                payment = received.get((logged.originator_id, logged.version + 1))
                if payment is not None and payment.position in self.group_of:
                    self.group_of[logged.position] = self.group_of[payment.position]

    def _card_fee(self, logged: LoggedEvent, recorded_version: int | None) -> InvoiceLine | None:
        """The fee this card payment's invoice bears, decided for its whole charge at once."""
        charge = self.group_of[logged.position]
        if charge not in self.fees:
            members = self.fee_groups[charge]
            invoices = [self.invoices[m.originator_id] for m in members]
            owed = [Money(i.outstanding(new=True), i.currency) for i in invoices]
            policy = self.policy(recorded_version, day_of(members[0].event["received_on"]))
            lines = card_fee_shares(owed, policy)
            self.fees[charge] = {
                m.originator_id: line for m, line in zip(members, lines, strict=True)
            }
        return self.fees[charge][logged.originator_id]

    # --- payments, fees, refunds, voids and credit notes ---------------------------------

    def _cardfeeadded(self, logged: LoggedEvent) -> None:
        invoice = self.invoices[logged.originator_id]
        old = minor(logged.event["line"]["_data_"]["amount"])
        invoice.old_total += old
        version = int(logged.event.get("policy_version", 0))
        new = self._card_fee(logged, version) if logged.position in self.group_of else None
        if new is None:
            self.result.deleted.add(logged.position)
            return
        invoice.new_total += new.amount.amount_minor
        if new.amount.amount_minor != old:
            line = logged.event["line"]["_data_"]
            line["amount"] = money_json(new.amount.amount_minor, invoice.currency)
            # The fee decided again records its rate, as a fee recorded since issue 17; a
            # sentence stored before would state the old rate, so it goes.
            line.pop("description", None)
            if new.rate is not None:
                line["rate"] = {"_type_": "decimal_str", "_data_": str(new.rate)}
            self.result.update(logged)

    def _paymentreceived(self, logged: LoggedEvent) -> None:
        event = logged.event
        invoice = self.invoices[logged.originator_id]
        source = text_of(event["source"])
        old, old_fee = minor(event["amount"]), minor(event["fee"])
        new_fee = old_fee
        if source == _CARD:
            fee = self._card_fee(logged, None)  # decided at its fee line, if it had one
            new_fee = fee.amount.amount_minor if fee else 0
            if fee is not None and not old_fee:
                self._insert_fee(logged, fee, invoice)
        # The fee line is on the invoice already: what was owed includes it.
        old_owed = invoice.outstanding(new=False)
        new_owed = invoice.outstanding(new=True)
        new = redecided_share(old, old_owed, new_owed)
        payment = PaymentState(source, old, new, old_fee, new_fee)
        payment_id = text_of(event["payment_id"])
        invoice.payments[payment_id] = payment
        self.paid[payment_id] = (logged, invoice, payment)
        if (new, new_fee) != (old, old_fee):
            event["amount"] = money_json(new, invoice.currency)
            event["fee"] = money_json(new_fee, invoice.currency)
            self.result.update(logged)

    def _insert_fee(self, payment: LoggedEvent, fee: InvoiceLine, invoice: InvoiceState) -> None:
        """A fee the recorded rates did not charge: its line, just before its payment."""
        event = {
            "line": self._encoded(fee),
            "payer_id": payment.event["payer_id"],
            "partner_id": payment.event["partner_id"],
            "timestamp": payment.event["timestamp"],
            "class_version": 2,
            "policy_version": self.version_on(day_of(payment.event["received_on"])),
        }
        self.result.inserted.append(
            LoggedEvent(
                payment.position + BEFORE, payment.originator_id, payment.version, FEE_ADDED, event
            )
        )
        invoice.new_total += fee.amount.amount_minor

    def _paymentrefunded(self, logged: LoggedEvent) -> None:
        event = logged.event
        invoice = self.invoices[logged.originator_id]
        payment_id = text_of(event["payment_id"])
        payment = invoice.payments[payment_id]
        old = minor(event["amount"])
        new = redecided_share(
            old, payment.old - payment.old_refunded, payment.new - payment.new_refunded
        )
        self.refunds.setdefault(payment_id, []).append(
            RefundState(logged.position, payment.new, payment.new_fee, payment.new_refunded, new)
        )
        self.refunded[text_of(event["refund_id"])] = new
        payment.old_refunded += old
        payment.new_refunded += new
        if new != old:
            event["amount"] = money_json(new, invoice.currency)
            self.result.update(logged)

    def _voided(self, logged: LoggedEvent) -> None:
        invoice = self.invoices[logged.originator_id]
        invoice.void = True
        if minor(logged.event["amount"]) != invoice.new_total:
            logged.event["amount"] = money_json(invoice.new_total, invoice.currency)
            self.result.update(logged)

    def _creditnoteissued(self, logged: LoggedEvent) -> None:
        invoice = self.invoices[logged.originator_id]
        old = minor(logged.event["amount"])
        new = redecided_share(
            old,
            invoice.old_total - invoice.old_credited,
            invoice.new_total - invoice.new_credited,
        )
        invoice.old_credited += old
        invoice.new_credited += new
        if new != old:
            logged.event["amount"] = money_json(new, invoice.currency)
            self.result.update(logged)

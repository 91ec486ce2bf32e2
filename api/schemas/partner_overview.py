"""Response schemas of what an API client reads of a partner beyond its money: its state in
one read, what the billing clock will do for it next, its clients, and the e-mails the ledger
sent or will send about it (R-O1, R-O2, R-O6, R-L3, R-L4, R-H4, R-X4)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MoneyModel
from api.schemas.payment_methods import PaymentMethodView
from domain.calendar import Anchor
from domain.partner_account import AccountStatus, PartnerAccount, PauseReason
from domain.payment_methods import PaymentSource
from ledger.reads import MailStatus, PartnerMail
from ledger.schedule import Work

ANCHOR_TEXT = (
    "When the partner's unified invoice goes out (R-O2, R-O3): `calendar` on the 1st, "
    "`anniversary` on the day of the month the account was opened (29th-31st clamp to a "
    "shorter month's last day). Lines in unified billing take this day when they are created, "
    "so their periods end on it. Lines outside unified billing do not follow it: each bills on "
    "its own anchor, chosen when it is created (see the line's `anchor`)."
)


class AddressView(BaseModel):
    """The postal address invoices are addressed to."""

    lines: list[str]
    city: str
    postal_code: str
    country: str


class BillingProfileView(BaseModel):
    """Who the partner's invoices are addressed to and where they are e-mailed (R-O1)."""

    entity: str
    address: AddressView
    billing_email: str
    tax_id: str | None = Field(description="Null: the profile names no tax id (issue 17).")


class BudgetView(BaseModel):
    """The monthly lead budget (R-L3): the account pauses itself once a period spends it."""

    limit: MoneyModel
    spent: MoneyModel = Field(description="Spent on leads in the current budget period.")
    period_start: date
    resets_on: date = Field(
        description="The signup day of month the next budget period starts on (R-L3)."
    )


class PartnerStateResponse(BaseModel):
    """A partner's state in one read: service, billing days, budget, profile and defaults."""

    partner_id: UUID
    name: str
    currency: str
    time_zone: str
    status: AccountStatus = Field(
        description="`active`; `in_grace`: a payment was missed and service continues until "
        "`grace_ends_on` (R-L4); `paused`: see `pause_reasons`; `closed`."
    )
    pause_reasons: list[PauseReason] = Field(
        description="`budget_reached` (R-L3: lifted when the next budget period starts), "
        "`payment_overdue` (R-L4: lifted when the balance is settled)."
    )
    grace_ends_on: date | None = Field(description="When the grace period ends unpaid (R-L4).")
    anchor: Anchor = Field(description=ANCHOR_TEXT)
    anchor_day: int = Field(description="The partner's billing day of the month (R-O2).")
    next_billing_date: date | None = Field(
        description="The day the next unified invoice goes out: the billing day on or after "
        "the oldest unified-billing charge waiting for it; null when none waits. Lines outside "
        "unified billing renew on their own days: see `/schedule`."
    )
    autopay: PaymentSource | None = Field(description="The account's autopay (R-C6).")
    budget: BudgetView | None = Field(description="Null: no budget.")
    billing_profile: BillingProfileView | None = Field(description="Null until recorded (R-O1).")
    default_payment_method: PaymentMethodView | None = Field(
        description="What payments use unless told otherwise (R-O6): safe fields only (R-X4)."
    )
    version: int = Field(description="How many events the account has.")

    @classmethod
    def of(cls, account: PartnerAccount) -> PartnerStateResponse:
        """The account's state as its events make it now."""
        budget = None
        if account.budget is not None and account.budget_period is not None:
            budget = BudgetView(
                limit=MoneyModel.of(account.budget),
                spent=MoneyModel.of(account.budget_spent),
                period_start=account.budget_period.start,
                resets_on=account.budget_period.end,
            )
        profile = None
        if account.entity and account.address and account.billing_email:
            address = account.address
            profile = BillingProfileView(
                entity=account.entity,
                address=AddressView(
                    lines=list(address.lines),
                    city=address.city,
                    postal_code=address.postal_code,
                    country=address.country,
                ),
                billing_email=account.billing_email,
                tax_id=account.tax_id,
            )
        default = account.default_method
        return cls(
            partner_id=account.id,
            name=account.name,
            currency=account.currency,
            time_zone=account.time_zone,
            status=account.status,
            pause_reasons=list(account.pause_reasons),
            grace_ends_on=account.grace_ends_on,
            anchor=account.anchor,
            anchor_day=account.anchor_day,
            next_billing_date=account.next_billing_date,
            autopay=account.autopay,
            budget=budget,
            billing_profile=profile,
            default_payment_method=(
                PaymentMethodView.of(account.default_method_id, default)
                if default is not None and account.default_method_id is not None
                else None
            ),
            version=account.version,
        )


class ScheduledWorkResponse(BaseModel):
    """A piece of work the billing clock will do for the partner."""

    kind: Work = Field(
        description="`renew`: a line's next period (R-C1, R-O2); `invoice_ahead`: invoice "
        "autopay's early invoice (R-C6); `invoice_leads`: Friday's lead invoice (R-L2); "
        "`unified_invoice`: the partner's unified invoice (R-O3); `charge`: an invoice charged "
        "to its card or bank account; `settle_debit`: a direct debit looked at again; "
        "`mark_overdue`: an unpaid invoice past its due date (R-H2); `expire_grace`: the grace "
        "period ends (R-L4); `start_budget_period`: the budget resets (R-L3); "
        "`complete_transfer`: a reseller transfer takes effect (R-E4)."
    )
    subject: Literal["line", "invoice", "partner"]
    subject_id: UUID = Field(description="The line's, the invoice's or the partner's id.")
    due_on: date = Field(description="The business day, in the partner's time zone (R-X7).")
    due_at: datetime = Field(description="The instant that business day begins (UTC).")


class ClientSummary(BaseModel):
    """One of the partner's clients (R-C8)."""

    id: UUID
    name: str
    email: str | None
    unified_billing: bool = Field(
        description="The partner pays for its lines (R-O4); otherwise the client pays itself."
    )


class EmailResponse(BaseModel):
    """An e-mail the ledger sent, or will send, about the partner's account."""

    id: int = Field(description="The e-mail's place in the outbox.")
    kind: str = Field(
        description="`invoice_issued` (R-O5), `payment_failed` (R-H4), `refund_receipt` (R-H6); "
        "a client should expect kinds added later."
    )
    recipient: str
    subject: str
    status: MailStatus = Field(
        description="`queued`, `retrying` (the mail server refused it; tried again at "
        "`next_attempt_at`), `sent`, `given_up` (refused too often, left for a person)."
    )
    attempts: int = Field(description="Deliveries tried and refused so far.")
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="Null once sent or given up.")
    sent_at: datetime | None
    last_error: str | None = Field(description="The mail server's last refusal, if any.")
    invoice_id: UUID | None = Field(description="The invoice it is about.")
    invoice_number: str | None
    decline_code: str | None = Field(description="`payment_failed`: the decline's code.")
    reason: str | None = Field(
        description="`payment_failed`: why the payment failed, as the customer reads it (R-H4)."
    )
    update_url: str | None = Field(
        description="`payment_failed`: where the card is updated; what is owed is then charged "
        "to it (R-H4, R-L5)."
    )

    @classmethod
    def of(cls, mail: PartnerMail) -> EmailResponse:
        details = mail.details
        invoice_id = details.get("invoice_id")
        return cls.model_validate(
            {
                "id": mail.outbox_id,
                "kind": mail.kind,
                "recipient": mail.recipient,
                "subject": mail.subject,
                "status": mail.status,
                "attempts": mail.attempts,
                "created_at": mail.created_at,
                "next_attempt_at": mail.next_attempt_at,
                "sent_at": mail.sent_at,
                "last_error": mail.last_error,
                "invoice_id": UUID(invoice_id) if invoice_id else None,
                "invoice_number": details.get("invoice_number"),
                "decline_code": details.get("decline_code"),
                "reason": details.get("reason"),
                "update_url": details.get("update_url"),
            }
        )

"""A subscription line as its events make it now (`GET /v1/lines/{line_id}`): the view's
schema and its mapping from the aggregate."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MoneyModel
from api.schemas.line_accepted import CardView
from api.schemas.lines import LocationModel
from domain.calendar import Anchor, Term
from domain.payment_methods import PaymentSource
from domain.pricing import BillingPolicy, PriceUnit
from domain.subscription_line import LineStatus, SubscriptionLine, TransferParty
from domain.values import Payer


class PeriodView(BaseModel):
    start: date
    end: date = Field(description="Exclusive.")


class LeadsView(BaseModel):
    """Delivered leads not invoiced yet, against the amount invoiced at once (R-L2)."""

    unbilled_count: int
    unbilled_total: MoneyModel
    threshold: MoneyModel | None = Field(description="Null: invoiced on Fridays only.")
    threshold_reached: bool


class OpenInvoiceView(BaseModel):
    invoice_id: UUID
    number: str


class TransferView(BaseModel):
    """The pending move to another reseller (R-E2) and who has consented."""

    end_user_name: str
    current_reseller_id: UUID
    new_reseller_id: UUID
    preferred_date: date
    owner_email: str
    invoice_email: str
    billing: Term
    payment_method: PaymentSource
    consents: list[TransferParty]
    missing_consents: list[TransferParty]
    effective_on: date | None


class LineResponse(BaseModel):
    """A subscription line as its events make it now."""

    id: UUID
    version: int = Field(description="How many events the line has.")
    status: LineStatus
    accepted: bool = Field(description="The customer accepted it (R-H1).")
    partner_id: UUID
    client_id: UUID
    payer: Payer
    unified_billing: bool
    product_code: str
    product_name: str
    unit: PriceUnit
    unit_price: MoneyModel
    term: Term
    anchor: Anchor = Field(
        description="How the line's periods end (R-O2): `calendar` on the 1st, `anniversary` "
        "on `anchor_day`. A line created in unified billing took its partner's anchor and "
        "day (and keeps them if it leaves); any other line has its own, chosen when created "
        "(by default `anniversary`, the day it starts), whatever its partner's anchor."
    )
    anchor_day: int | None = Field(
        description="The day of the month its periods end on (29th-31st clamp to a shorter "
        "month's last day): 1 for `calendar`; for `anniversary`, its partner's day in unified "
        "billing, otherwise null until the line starts and its start day from then on."
    )
    locations: list[LocationModel]
    current_period: PeriodView | None
    invoiced_through: date | None
    autopay: PaymentSource | None
    card: CardView | None
    leads: LeadsView | None = Field(description="Pay-per-lead lines only.")
    open_invoices: list[OpenInvoiceView] = Field(description="Not yet settled (R-E3).")
    transfer: TransferView | None


def line_view(line: SubscriptionLine, policy: BillingPolicy) -> LineResponse:
    """The line as a reader may see it (the card as brand, last 4 and expiry only, R-X4)."""
    period = line.current_period
    card = line.card
    return LineResponse(
        id=line.id,
        version=line.version,
        status=line.status,
        accepted=line.accepted,
        partner_id=line.partner_id,
        client_id=line.client_id,
        payer=line.payer,
        unified_billing=line.unified_billing,
        product_code=line.product_code,
        product_name=line.product_name,
        unit=line.unit,
        unit_price=MoneyModel.of(line.unit_price),
        term=line.term,
        anchor=line.anchor,
        anchor_day=line.anchor_day,
        locations=[
            LocationModel(location_id=loc.location_id, name=loc.name)
            for loc in line.locations.values()
        ],
        current_period=PeriodView(start=period.start, end=period.end) if period else None,
        invoiced_through=line.invoiced_through,
        autopay=line.autopay,
        card=(
            CardView(
                brand=card.brand,
                last4=card.last4,
                expiry_month=card.expiry_month,
                expiry_year=card.expiry_year,
            )
            if card
            else None
        ),
        leads=_leads_view(line, policy) if line.unit is PriceUnit.PER_LEAD else None,
        open_invoices=[
            OpenInvoiceView(invoice_id=UUID(invoice_id), number=number)
            for invoice_id, number in sorted(line.open_invoices.items(), key=lambda item: item[1])
        ],
        transfer=_transfer_view(line),
    )


def _leads_view(line: SubscriptionLine, policy: BillingPolicy) -> LeadsView:
    threshold = policy.lead_threshold(line.unit_price.currency)
    return LeadsView(
        unbilled_count=len(line.unbilled_leads),
        unbilled_total=MoneyModel.of(line.unbilled_total),
        threshold=MoneyModel.of(threshold) if threshold else None,
        threshold_reached=line.lead_threshold_reached(policy),
    )


def _transfer_view(line: SubscriptionLine) -> TransferView | None:
    request = line.transfer
    if request is None:
        return None
    return TransferView(
        end_user_name=request.end_user_name,
        current_reseller_id=request.current_reseller_id,
        new_reseller_id=request.new_reseller_id,
        preferred_date=request.preferred_date,
        owner_email=request.owner_email,
        invoice_email=request.invoice_email,
        billing=request.billing,
        payment_method=request.payment_method,
        consents=list(line.consents),
        missing_consents=list(line.missing_consents),
        effective_on=line.transfer_effective_on,
    )

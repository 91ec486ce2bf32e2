"""`/v1/partners/{id}/payment-methods`: how a partner pays (R-O1, R-O6, R-H5, R-X4).

The only partner endpoints that take card or bank numbers: they go straight to the ledger,
which validates them and has the gateway tokenise them. No answer, event or log line ever
holds a card number, CVV or account number: answers show brand, last 4 and expiry (cards) or
routing number and last 4 (bank accounts), read back from the recorded event.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.routers.partner_common import (
    PREFIX,
    commandable,
    recorded,
    refuse_other_body,
)
from api.runtime import Runtime
from api.schemas.common import CommandAccepted, FreeText, accepted
from api.security import Caller, Commander, IdempotencyKey, visible
from domain.errors import PartnerNotFound
from domain.partner_account import PartnerAccount
from domain.payment_methods import (
    TWO_DIGIT_YEAR_CENTURY,
    BankAccountDetails,
    BankAccountToken,
    CardDetails,
    CardToken,
    PaymentSource,
)
from ledger.commands.lines import Outstanding
from ledger.writer import CommandResult

router = APIRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


class CardModel(BaseModel):
    """A card as typed by a person (R-O1): validated (Luhn, expiry, CVV) and tokenised."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["card"]
    number: str = Field(
        min_length=1,
        max_length=32,
        description="12 to 19 digits, spaces or dashes allowed. Never stored or shown (R-X4).",
        json_schema_extra={"writeOnly": True},
    )
    expiry_month: int = Field(ge=1, le=12, strict=True)
    expiry_year: int = Field(ge=0, le=9999, strict=True, description="YYYY, or YY.")
    holder: FreeText = Field(min_length=1, max_length=200, description="Name on the card.")
    cvv: str = Field(
        min_length=1,
        max_length=8,
        description="3 digits (4 on American Express). Never stored or shown (R-X4).",
        json_schema_extra={"writeOnly": True},
    )
    postal_code: str = Field(min_length=1, max_length=20, description="Billing postal code.")

    def details(self) -> CardDetails:
        return CardDetails(
            number=self.number,
            expiry_month=self.expiry_month,
            expiry_year=self.expiry_year,
            holder=self.holder,
            cvv=self.cvv,
            postal_code=self.postal_code,
        )


class BankAccountModel(BaseModel):
    """A US bank account for ACH direct debit (R-O1): routing number checked, tokenised."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["ach"]
    routing_number: str = Field(
        min_length=1, max_length=16, description="ABA routing number (9 digits)."
    )
    account_number: str = Field(
        min_length=1,
        max_length=32,
        description="4 to 17 digits. Never stored or shown, but its last 4 (R-X4).",
        json_schema_extra={"writeOnly": True},
    )
    name_on_account: FreeText = Field(min_length=1, max_length=200)

    def details(self) -> BankAccountDetails:
        return BankAccountDetails(
            routing_number=self.routing_number,
            account_number=self.account_number,
            name_on_account=self.name_on_account,
        )


class BankInvoiceModel(BaseModel):
    """Pay by bank invoice (R-C2): nothing is stored; invoices are paid by bank transfer, and
    the account's autopay becomes `bank_transfer`, so invoices are issued ahead (R-C6)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["bank_invoice"]


NewMethod = Annotated[CardModel | BankAccountModel, Field(discriminator="kind")]
CARD_EXAMPLE: dict[str, Any] = {
    "kind": "card",
    "number": "4242 4242 4242 4242",
    "expiry_month": 12,
    "expiry_year": 2030,
    "holder": "Jane Doe",
    "cvv": "123",
    "postal_code": "10118",
}


class AddPaymentMethodRequest(BaseModel):
    """A card, an ACH bank account, or bank invoices, for the partner to pay with (R-O1)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"method": CARD_EXAMPLE, "make_default": True},
                {
                    "method": {
                        "kind": "ach",
                        "routing_number": "110000000",
                        "account_number": "000123456789",
                        "name_on_account": "Acme Resellers LLC",
                    },
                    "make_default": False,
                },
                {"method": {"kind": "bank_invoice"}},
            ]
        },
    )

    method: Annotated[CardModel | BankAccountModel | BankInvoiceModel, Field(discriminator="kind")]
    make_default: bool = Field(
        default=False, description="Pay with it unless told otherwise (the first one always is)."
    )


class ReplacePaymentMethodRequest(BaseModel):
    """A new card or bank account in place of one the partner has (R-O6, R-H5)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"method": CARD_EXAMPLE, "outstanding": "charge_all"}]},
    )

    method: NewMethod
    outstanding: Outstanding = Field(
        default=Outstanding.CHARGE_ALL,
        description="With failed or overdue payments outstanding: `charge_all` charges them "
        "to the new method now (R-L5), `mark_paid` marks them paid (R-H5). The billing date "
        "never moves.",
    )


class PaymentMethodView(BaseModel):
    """A payment method as it may be shown: never its number or CVV (R-X4)."""

    method_id: UUID | None = Field(description="Null for bank invoices (nothing is stored).")
    kind: Literal["card", "ach", "bank_invoice"]
    brand: str | None = None
    last4: str | None = None
    expiry_month: int | None = None
    expiry_year: int | None = None
    routing_number: str | None = None

    @classmethod
    def of(cls, method_id: UUID, method: CardToken | BankAccountToken) -> PaymentMethodView:
        if isinstance(method, CardToken):
            return cls(
                method_id=method_id,
                kind="card",
                brand=method.brand.value,
                last4=method.last4,
                expiry_month=method.expiry_month,
                expiry_year=method.expiry_year,
            )
        return cls(
            method_id=method_id,
            kind="ach",
            last4=method.last4,
            routing_number=method.routing_number,
        )


class StoredPaymentMethod(PaymentMethodView):
    """A payment method the account keeps."""

    is_default: bool


class PaymentMethodsResponse(BaseModel):
    """The account's payment methods (at most 20)."""

    partner_id: UUID
    items: list[StoredPaymentMethod]


class PaymentMethodAccepted(CommandAccepted):
    """The method was kept: its id and what may be shown of it."""

    method: PaymentMethodView


class PaymentMethodReplaced(PaymentMethodAccepted):
    """The method was replaced; what was outstanding was charged to it or marked paid."""

    outstanding: Outstanding


def _same_method(
    recorded: CardToken | BankAccountToken, asked: CardModel | BankAccountModel
) -> bool:
    """Whether a repeated request names the method that was recorded (brand, last 4, expiry;
    routing number and last 4): what may be compared without keeping any number."""
    if isinstance(asked, CardModel) and isinstance(recorded, CardToken):
        card = asked.details()
        year = asked.expiry_year + (TWO_DIGIT_YEAR_CENTURY if asked.expiry_year < 100 else 0)
        return (card.brand, card.last4, asked.expiry_month, year) == (
            recorded.brand,
            recorded.last4,
            recorded.expiry_month,
            recorded.expiry_year,
        )
    if isinstance(asked, BankAccountModel) and isinstance(recorded, BankAccountToken):
        account = asked.details().validated()
        return (account.routing_number, account.last4) == (
            recorded.routing_number,
            recorded.last4,
        )
    return False


def _recorded_method(
    runtime: Runtime, key: str, partner_id: UUID, result: CommandResult
) -> PaymentMethodView:
    """The method the command under `key` kept, as its event recorded it."""
    method_id = UUID(result.data["method_id"])
    event = recorded(
        runtime,
        key,
        partner_id,
        lambda e: (
            isinstance(e, PartnerAccount.PaymentMethodAdded | PartnerAccount.PaymentMethodReplaced)
            and e.method_id == method_id
        ),
    )
    if not isinstance(
        event, PartnerAccount.PaymentMethodAdded | PartnerAccount.PaymentMethodReplaced
    ):
        raise RuntimeError("a payment method command records the method it kept")
    return PaymentMethodView.of(event.method_id, event.method)


@router.post(
    "/{partner_id}/payment-methods",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentMethodAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Add a payment method",
)
def add_payment_method(
    partner_id: PartnerId,
    body: AddPaymentMethodRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentMethodAccepted:
    """Add a card (number, expiry, holder, CVV, postal code), an ACH bank account (routing and
    account number) or bank invoices (R-O1, R-C2). The only partner endpoint that takes card
    numbers: they are validated and tokenised, and never stored, shown or logged (R-X4)."""
    commandable(caller, partner_id)
    location = f"{PREFIX}/{partner_id}/payment-methods"
    method = body.method
    if isinstance(method, BankInvoiceModel):
        result = runtime.ledger.set_account_autopay(
            partner_id, PaymentSource.BANK_TRANSFER, key=key
        )
        answer = accepted(response, result, location, partner_id)
        return PaymentMethodAccepted(
            **answer.model_dump(), method=PaymentMethodView(method_id=None, kind="bank_invoice")
        )
    refuse_other_body(
        runtime,
        key,
        partner_id,
        lambda e: (
            isinstance(e, PartnerAccount.PaymentMethodAdded) and _same_method(e.method, method)
        ),
    )
    result = runtime.ledger.add_payment_method(
        partner_id, method.details(), make_default=body.make_default, key=key
    )
    shown = _recorded_method(runtime, key, partner_id, result)
    answer = accepted(response, result, location, shown.method_id)
    return PaymentMethodAccepted(**answer.model_dump(), method=shown)


@router.get(
    "/{partner_id}/payment-methods",
    response_model=PaymentMethodsResponse,
    responses=READ_PROBLEMS,
    summary="List the payment methods",
)
def list_payment_methods(
    partner_id: PartnerId, runtime: RuntimeDep, caller: Caller
) -> PaymentMethodsResponse:
    """The account's cards and bank accounts, as they may be shown (R-O6, R-X4); read from the
    account itself, so always current."""
    visible(caller, partner_id, PartnerNotFound.of(partner_id))
    account = runtime.ledger.partner_account(partner_id)
    return PaymentMethodsResponse(
        partner_id=partner_id,
        items=[
            StoredPaymentMethod(
                **PaymentMethodView.of(UUID(method_id), method).model_dump(),
                is_default=account.default_method_id == UUID(method_id),
            )
            for method_id, method in account.payment_methods.items()
        ],
    )


@router.post(
    "/{partner_id}/payment-methods/{method_id}/replace",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentMethodReplaced,
    responses=COMMAND_PROBLEMS,
    summary="Replace a payment method",
)
def replace_payment_method(
    partner_id: PartnerId,
    method_id: Annotated[UUID, Path(description="The method to replace.")],
    body: ReplacePaymentMethodRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentMethodReplaced:
    """The partner updates a card or bank account itself (R-O6); it stays the default if it
    was. The billing date never moves. With payments outstanding the updater chooses: charge
    them all to the new method now, or mark them all paid (R-H5). Charges are recorded just
    after the replacement, and the answered position includes them: the banner and invoices
    read with it as `min_position` show their outcome. Marking paid happens in the same
    transaction as the replacement; charging is one charge of the total, each invoice paid by
    its share (R-L5)."""
    commandable(caller, partner_id)
    method = body.method
    refuse_other_body(
        runtime,
        key,
        partner_id,
        lambda e: (
            isinstance(e, PartnerAccount.PaymentMethodReplaced)
            and e.old_method_id == method_id
            and _same_method(e.method, method)
        ),
    )
    result = runtime.ledger.replace_payment_method(
        partner_id, method_id, method.details(), body.outstanding, key=key
    )
    shown = _recorded_method(runtime, key, partner_id, result)
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/payment-methods", shown.method_id)
    return PaymentMethodReplaced(**answer.model_dump(), method=shown, outstanding=body.outstanding)


@router.post(
    "/{partner_id}/payment-methods/{method_id}/make-default",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Make a payment method the default",
)
def make_default_payment_method(
    partner_id: PartnerId,
    method_id: Annotated[UUID, Path(description="The method to pay with by default.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Payments use this method unless told otherwise (R-O6)."""
    commandable(caller, partner_id)
    result = runtime.ledger.make_default_payment_method(partner_id, method_id, key=key)
    return accepted(response, result, f"{PREFIX}/{partner_id}/payment-methods", method_id)

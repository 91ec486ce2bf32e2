"""Request and response schemas of `/v1/partners/{id}/payment-methods` (R-O1, R-O6, R-H5, R-X4).

The only schemas that take card or bank numbers (write-only); what is answered shows brand, last
4 and expiry (cards) or routing number and last 4 (bank accounts), never a number or a CVV.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CommandAccepted, FreeText
from domain.payment_methods import (
    BankAccountDetails,
    BankAccountToken,
    CardDetails,
    CardToken,
    MethodSummary,
)
from ledger.command_records import CommandResult
from ledger.commands.lines import Outstanding


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
        """A kept method as it may be shown."""
        return cls.model_validate({"method_id": method_id, **MethodSummary.of(method).as_data()})

    @classmethod
    def answered(cls, result: CommandResult) -> PaymentMethodView:
        """The method a payment method command kept, as its answer (in the command log) shows
        it: a replay shows it as the first answer did."""
        return cls.model_validate({"method_id": result.data["method_id"], **result.data["method"]})


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

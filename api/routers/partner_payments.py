"""`/v1/partners/{id}/payment-methods`: how a partner pays (R-O1, R-O6, R-H5, R-X4).

The only partner endpoints that take card or bank numbers: they go straight to the ledger,
which validates them and has the gateway tokenise them (a thread is held while it answers).
No answer, event or log line ever holds a card number, CVV or account number: answers show
brand, last 4 and expiry (cards) or routing number and last 4 (bank accounts), as the
command's answer recorded them (a replay answers the same from the command log).
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import Path, Response, status

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.partner_common import PREFIX
from api.schemas.common import CommandAccepted, accepted
from api.schemas.payment_methods import (
    AddPaymentMethodRequest,
    BankInvoiceModel,
    PaymentMethodAccepted,
    PaymentMethodReplaced,
    PaymentMethodsResponse,
    PaymentMethodView,
    ReplacePaymentMethodRequest,
    StoredPaymentMethod,
)
from api.security import Caller, Commander, IdempotencyKey, visible
from domain.errors import PartnerNotFound
from domain.payment_methods import PaymentSource
from ledger.commands import partners as partner_commands

router = LedgerRouter(prefix=PREFIX, tags=["partners"])
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


@router.post(
    "/{partner_id}/payment-methods",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentMethodAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Add a payment method",
)
async def add_payment_method(
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
    location = f"{PREFIX}/{partner_id}/payment-methods"
    method = body.method
    if isinstance(method, BankInvoiceModel):
        command = partner_commands.SetAccountAutopay(
            partner_id=partner_id, source=PaymentSource.BANK_TRANSFER, actor=caller.actor
        )
        answer = accepted(response, await runtime.ledger.submit(command, key), location, partner_id)
        return PaymentMethodAccepted(
            **answer.model_dump(), method=PaymentMethodView(method_id=None, kind="bank_invoice")
        )
    result = await asyncio.to_thread(
        runtime.ledger.add_payment_method,
        partner_id,
        method.details(),
        make_default=body.make_default,
        key=key,
        actor=caller.actor,
    )
    shown = PaymentMethodView.answered(result)
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
async def replace_payment_method(
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
    result = await asyncio.to_thread(
        runtime.ledger.replace_payment_method,
        partner_id,
        method_id,
        body.method.details(),
        body.outstanding,
        key=key,
        actor=caller.actor,
    )
    shown = PaymentMethodView.answered(result)
    answer = accepted(response, result, f"{PREFIX}/{partner_id}/payment-methods", shown.method_id)
    return PaymentMethodReplaced(**answer.model_dump(), method=shown, outstanding=body.outstanding)


@router.post(
    "/{partner_id}/payment-methods/{method_id}/make-default",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Make a payment method the default",
)
async def make_default_payment_method(
    partner_id: PartnerId,
    method_id: Annotated[UUID, Path(description="The method to pay with by default.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Payments use this method unless told otherwise (R-O6)."""
    command = partner_commands.MakeDefaultPaymentMethod(
        partner_id=partner_id, method_id=method_id, actor=caller.actor
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PREFIX}/{partner_id}/payment-methods", method_id)

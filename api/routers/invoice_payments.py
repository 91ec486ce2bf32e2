"""`/v1/invoices/{id}/…` payments: from every source (R-C2, R-H2), announced by a payer and
confirmed by the vendor (R-H2), charged to a card or bank account and retried (R-H4, R-O7),
marked paid outside Ledgerline (R-H5).

A route parses its body into one ledger command carrying the caller's actor and awaits it (no
thread held while it waits); whose invoice it is, and whether the key was used before, is the
command's to decide. A charge calls the processor first: the ledger's charging workflow runs
in a thread, as the processor call is blocking I/O, and checks both before it calls.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import Path, Response, status

from api.deps import RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS
from api.reads import LedgerRouter
from api.schemas.invoice_commands import (
    INVOICES,
    ChargeRequest,
    PaymentAccepted,
    PaymentAnnouncementRequest,
    PaymentRequest,
    answered_in_full,
    payment_accepted,
)
from api.schemas.invoices import InvoiceId
from api.security import Commander, IdempotencyKey, Receiver
from domain.payment_methods import PaymentSource
from ledger.command_bus import derived_id
from ledger.commands import invoices as invoice_commands

router = LedgerRouter(tags=["invoices"])


@router.post(
    f"{INVOICES}/{{invoice_id}}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Pay an invoice",
)
async def pay_invoice(
    invoice_id: InvoiceId,
    body: PaymentRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Pay from any source of R-C2: card or direct debit (charged now; a declined charge is
    recorded and answered with its decline code), company balance, bonuses, or record a bank
    transfer, cash, cheque or other payment (R-H2). The amount defaults to what is owed. Admin
    or the invoice's partner; money outside the gateway (bank transfer, cash, cheque, other) is
    recorded as received by the vendor only: a partner announces it instead
    (`…/payment-announcements`, 403 `forbidden` here)."""
    if body.source.is_gateway:
        result = await asyncio.to_thread(
            runtime.ledger.charge_invoice,
            invoice_id,
            source=body.source,
            method_id=body.method_id,
            key=key,
            actor=caller.actor,
        )
    else:
        command = invoice_commands.payment_command(
            invoice_id,
            body.source,
            derived_id(key),
            amount=body.amount.to_money() if body.amount else None,
            reference=body.reference,
            actor=caller.actor,
        )
        result = await runtime.ledger.submit(command, key)
    return payment_accepted(response, await answered_in_full(runtime.ledger, result), invoice_id)


@router.post(
    f"{INVOICES}/{{invoice_id}}/payment-announcements",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Announce a bank transfer, cash, cheque or other payment",
)
async def announce_payment(
    invoice_id: InvoiceId,
    body: PaymentAnnouncementRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Say that money was sent outside the gateway, with its reference (R-C2, R-H2). It pays
    nothing yet: the invoice still owes it, and lists it under `announced_payments` as waiting,
    until the vendor confirms it arrived (`…/payment-announcements/{payment_id}/confirm`).
    Admin or the invoice's partner."""
    command = invoice_commands.AnnouncePayment(
        invoice_id=invoice_id,
        payment_id=derived_id(key),
        source=PaymentSource(body.source),
        amount=body.amount.to_money() if body.amount else None,
        reference=body.reference,
        actor=caller.actor,
    )
    result = await answered_in_full(runtime.ledger, await runtime.ledger.submit(command, key))
    return payment_accepted(response, result, invoice_id)


@router.post(
    f"{INVOICES}/{{invoice_id}}/payment-announcements/{{payment_id}}/confirm",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Confirm an announced payment arrived",
)
async def confirm_payment(
    invoice_id: InvoiceId,
    payment_id: Annotated[UUID, Path(description="The announced payment's id.")],
    runtime: RuntimeDep,
    response: Response,
    caller: Receiver,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """The vendor received the money a payer announced: it pays the invoice now (R-H2);
    `payment_not_found` if no such announcement is waiting. Admin or finance."""
    command = invoice_commands.ConfirmPayment(
        invoice_id=invoice_id, payment_id=payment_id, actor=caller.actor
    )
    result = await answered_in_full(runtime.ledger, await runtime.ledger.submit(command, key))
    return payment_accepted(response, result, invoice_id)


@router.post(
    f"{INVOICES}/{{invoice_id}}/charge",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Charge an invoice to a card or bank account (or retry a failed charge)",
)
async def charge_invoice(
    invoice_id: InvoiceId,
    body: ChargeRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Charge what the invoice owes now (a card adds its 3 % fee, R-O7). A decline is recorded
    as a failed attempt and answered 201 with `charge_status: declined` and the decline code
    (R-H4); charging again, to another method, retries it. Admin or the invoice's partner."""
    result = await asyncio.to_thread(
        runtime.ledger.charge_invoice,
        invoice_id,
        method_id=body.method_id,
        key=key,
        actor=caller.actor,
    )
    return payment_accepted(response, await answered_in_full(runtime.ledger, result), invoice_id)


@router.post(
    f"{INVOICES}/{{invoice_id}}/mark-pending-paid",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Mark a failed or overdue invoice as paid",
)
async def mark_pending_paid(
    invoice_id: InvoiceId,
    runtime: RuntimeDep,
    response: Response,
    caller: Commander,
    key: IdempotencyKey,
) -> PaymentAccepted:
    """Record that what a failed or overdue invoice owes was paid outside Ledgerline (R-H5);
    refused with `nothing_outstanding` otherwise. Admin or the invoice's partner."""
    command = invoice_commands.MarkPendingPaid(invoice_id=invoice_id, actor=caller.actor)
    result = await answered_in_full(runtime.ledger, await runtime.ledger.submit(command, key))
    return payment_accepted(response, result, invoice_id)

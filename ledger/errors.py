"""Refusals that belong to the write side rather than to the business rules."""

from __future__ import annotations

from domain.errors import BillingError, Refusal


class IdempotencyKeyReused(BillingError):
    """The idempotency key was already used for a different command (R-X5)."""

    code = "idempotency_key_reused"
    refusal = Refusal.INVALID


class Conflict(BillingError):
    """What the command decided on changed before it was recorded; nothing was recorded."""

    code = "conflict"


class PaymentDeclined(BillingError):
    """The processor declined the charge; nothing was recorded. `decline_code` says why."""

    code = "payment_declined"


class VendorOnly(BillingError):
    """Only the vendor may do this, and a partner asked: money received outside the gateway is
    the vendor's word (R-H2). Decided once the command found the invoice or account to be the
    partner's own (another partner's is not found); answered 403 `forbidden`, as the edge
    answered it before the rule moved here."""

    code = "forbidden"
    refusal = Refusal.NOT_PERMITTED


class TestClocksNotAllowed(BillingError):
    """Test clocks are refused in this deployment: production, unless a sandbox allows them
    (LEDGERLINE_TEST_CLOCKS=allow)."""

    __test__ = False  # not a pytest class, whatever its name
    code = "test_clocks_not_allowed"
    refusal = Refusal.NOT_PERMITTED

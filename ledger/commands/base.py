"""What every command shares: its fingerprint, the context it runs in, and lookups."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from domain import billing_policy
from domain.billing_policy import POLICY_ID, PolicyHistory
from domain.bonus_wallet import BonusWallet
from domain.errors import InvoiceNotFound, LineNotFound, PartnerNotFound
from domain.invoice import Invoice
from domain.partner_account import PartnerAccount
from domain.pricing import BillingPolicy, Catalogue
from domain.subscription_line import SubscriptionLine
from domain.values import VENDOR, Actor, bonus_wallet_id
from ledger import fingerprints
from ledger.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Context:
    """What commands need besides the store."""

    base_policy: BillingPolicy
    """Version 0 of the billing policy, in force until a scheduled change begins: read it
    through `policy_on`, never directly (domain/billing_policy.py)."""
    catalogue: Catalogue
    public_url: str
    """Where people reach Ledgerline (links in e-mails, such as the update-card link: R-H4)."""


@dataclass(frozen=True, kw_only=True)
class LedgerCommand(ABC):
    """Base of every command: a frozen record of what was asked, with a stable fingerprint."""

    command_name: ClassVar[str] = "command"

    actor: Actor = field(default=VENDOR, repr=False, metadata=fingerprints.NOT_FINGERPRINTED)
    """Who asks: the vendor, or a partner acting on its own resources only (see `owned_*`).
    Not in the fingerprint: a key lives in its caller's own namespace already."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.command_name = _snake(cls.__name__)

    def fingerprint(self) -> str:
        """A digest of every field set (ledger/fingerprints.py): the same command repeated has
        the same fingerprint, whatever the order of its fields or how their values print."""
        cached: str | None = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = fingerprints.fingerprint(self)
            object.__setattr__(self, "_fingerprint", cached)
        return cached

    @abstractmethod
    def handle(self, uow: UnitOfWork) -> tuple[UUID | None, dict[str, Any]]:
        """Decide, through the unit of work; return the aggregate id and the answer's data."""


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def context(uow: UnitOfWork) -> Context:
    ctx: Context = uow.context
    return ctx


def policy_history(uow: UnitOfWork) -> PolicyHistory | None:
    """The billing policy's scheduled changes, or None while it has none."""
    return uow.get(PolicyHistory, POLICY_ID)


def policy_on(uow: UnitOfWork, day: date) -> BillingPolicy:
    """The version of the billing policy in force on a business date."""
    return billing_policy.policy_on(policy_history(uow), context(uow).base_policy, day)


def partner(uow: UnitOfWork, partner_id: UUID) -> PartnerAccount:
    account = uow.get(PartnerAccount, partner_id)
    if account is None:
        raise PartnerNotFound.of(partner_id)
    return account


def line(uow: UnitOfWork, line_id: UUID) -> SubscriptionLine:
    found = uow.get(SubscriptionLine, line_id)
    if found is None:
        raise LineNotFound.of(line_id)
    return found


def invoice(uow: UnitOfWork, invoice_id: UUID) -> Invoice:
    found = uow.get(Invoice, invoice_id)
    if found is None:
        raise InvoiceNotFound.of(invoice_id)
    return found


def owned_partner(uow: UnitOfWork, partner_id: UUID, actor: Actor) -> PartnerAccount:
    """The partner's account, if `actor` may act on it; another partner's is not found."""
    if not actor.may_act_for(partner_id):
        raise PartnerNotFound.of(partner_id)
    return partner(uow, partner_id)


def owned_line(uow: UnitOfWork, line_id: UUID, actor: Actor) -> SubscriptionLine:
    """The line, if `actor` may act on it; another partner's line is not found."""
    found = line(uow, line_id)
    if not actor.may_act_for(found.partner_id):
        raise LineNotFound.of(line_id)
    return found


def owned_invoice(uow: UnitOfWork, invoice_id: UUID, actor: Actor) -> Invoice:
    """The invoice, if `actor` may act on it; another partner's invoice is not found."""
    found = invoice(uow, invoice_id)
    if not actor.may_act_for(found.partner_id):
        raise InvoiceNotFound.of(invoice_id)
    return found


def wallet(uow: UnitOfWork, account: PartnerAccount) -> BonusWallet:
    """The partner's bonus wallet, opened on first use (R-C5)."""
    found = uow.get(BonusWallet, bonus_wallet_id(account.id))
    if found is None:
        found = BonusWallet.open(account.id, account.currency, uow.now)
        uow.add(found)
    return found


def today(uow: UnitOfWork, account: PartnerAccount) -> date:
    """The partner's business date now (R-X7)."""
    return account.today(uow.now)

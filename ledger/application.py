"""The ledger: Ledgerline's write side, one method per command.

Every method takes an idempotency key (R-X5): the same key returns the first answer and
writes nothing more. Commands that reach the payment processor (card charges, debits,
refunds, tokenising a card) talk to it before the command is written, with keys derived from
the command's, so a retry never charges twice; raw card data stops at the gateway (R-X4).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import Application
from eventsourcing.persistence import (
    InfrastructureFactory,
    Mapper,
    TrackingRecorder,
    Transcoder,
)
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType

from domain.bonus_wallet import BonusWallet, CreditReason
from domain.calendar import Anchor, Term
from domain.errors import (
    BillingError,
    InvalidValue,
    InvoiceNotFound,
    LineNotFound,
    NoPaymentMethod,
    NothingOutstanding,
    PartnerNotFound,
)
from domain.invoice import Invoice, charge_shares
from domain.money import Money, total
from domain.partner_account import PartnerAccount, PaymentMethod, require_kind
from domain.payment_methods import (
    BankAccountDetails,
    CardDetails,
    CardToken,
    PaymentSource,
)
from domain.pricing import BillingPolicy, Catalogue
from domain.subscription_line import SubscriptionLine, TransferParty, TransferRequest
from domain.time import zone
from domain.values import Address, Location, Payer
from ledger import schema, store
from ledger.availability import POOL_RECONNECT_TIMEOUT_S, CheckedPool, DatabaseHealth, pool
from ledger.clock import Clock
from ledger.commands import clock as clock_commands
from ledger.commands import invoices as invoice_commands
from ledger.commands import lines as line_commands
from ledger.commands import partners as partner_commands
from ledger.commands.base import Context
from ledger.commands.lines import Outstanding
from ledger.database import CONNECT_TIMEOUT_S, Database
from ledger.errors import PaymentDeclined
from ledger.payments.gateway import ChargeResult, ChargeStatus, PaymentGateway
from ledger.payments.simulator import SimulatedGateway
from ledger.schedule import LineIndex, OpenInvoices, ScheduleProjection
from ledger.sealing import Sealer
from ledger.transcodings import LedgerMapper, LedgerTranscoder
from ledger.writer import Command, CommandResult, Writer

EVENTS_TABLE = store.EVENTS_TABLE
LOCK_TIMEOUT_S = 10
"""How long a write waits for the events-table lock before it gives up and reports an error."""
EVENT_STORE_PARAMS = ("dbname", "host", "port", "user", "password")
"""The connection parameters the library takes; any others (sslmode, …) are passed on apart."""
READ_TIMEOUT_S = 30.0
"""psycopg_pool's default wait for a free read connection (the API's own pools take theirs
from the settings)."""
KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerline.invalid/idempotency")
"""Ids derived from idempotency keys, so a repeated command names the same payment or method."""

A = TypeVar("A")


def event_store_env(database: Database, *, pool_size: int) -> dict[str, str]:
    """The library's settings for our database; every key that matters is set explicitly."""
    params = database.params()
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": params.get("dbname", ""),
        "POSTGRES_HOST": params.get("host", "localhost"),
        "POSTGRES_PORT": params.get("port", "5432"),
        "POSTGRES_USER": params.get("user", ""),
        "POSTGRES_PASSWORD": params.get("password", ""),
        "POSTGRES_SCHEMA": "public",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT_S),
        "POSTGRES_PRE_PING": "y",
        # Never: it skips the table lock, so readers could miss events (commit order must
        # equal notification order), and it mixes up tables of two applications in one schema.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "IS_SNAPSHOTTING_ENABLED": "y",
        "CREATE_TABLE": "y",
    }


class EventStore(Application[UUID]):
    """The eventsourcing library's application: it owns the tables and the mapper."""

    name = "ledger"

    def __init__(
        self, database: Database, *, pool_size: int = 2, sealer: Sealer | None = None
    ) -> None:
        self.sealer = sealer
        # The library takes five connection parameters; the rest of the URL (sslmode,
        # connect_timeout, …) is handed to its pool before it first connects.
        self._extra_params: dict[str, str] = {
            key: value for key, value in database.params().items() if key not in EVENT_STORE_PARAMS
        }
        self._extra_params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
        super().__init__(env=event_store_env(database, pool_size=pool_size))

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Configuration comes from Ledgerline's settings only, never from stray
        # POSTGRES_* variables in the process environment.
        return Environment(name, dict(env or {}))

    def construct_factory(self, env: Environment) -> InfrastructureFactory[TrackingRecorder]:
        factory = super().construct_factory(env)
        if isinstance(factory, PostgresFactory) and isinstance(
            pool_kwargs := factory.datastore.pool.kwargs, dict
        ):
            pool_kwargs.update(self._extra_params)
            # Back within seconds of the database, not minutes (see POOL_RECONNECT_TIMEOUT_S);
            # its connections are checked before use already (POSTGRES_PRE_PING).
            factory.datastore.pool.reconnect_timeout = POOL_RECONNECT_TIMEOUT_S
        return factory

    def construct_transcoder(self) -> Transcoder:
        return LedgerTranscoder(self.sealer)

    def construct_mapper(self) -> Mapper[UUID]:
        # Personal fields sealed one by one (ledger/sealing.py), never the whole payload: the
        # library's CIPHER_TOPIC would blind the read models, which are SQL over the JSON.
        return LedgerMapper(LedgerTranscoder(self.sealer))


class Ledger:
    """Ledgerline's write side: every command validates in the domain, then is written."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        gateway: PaymentGateway | None = None,
        *,
        policy: BillingPolicy | None = None,
        catalogue: Catalogue | None = None,
        public_url: str = "http://127.0.0.1:8000",
        pool_size: int = 4,
        sealer: Sealer | None = None,
    ) -> None:
        self.database = database
        self.sealer = sealer
        self.clock = clock
        self.gateway: PaymentGateway = gateway or SimulatedGateway()
        self.policy = policy or BillingPolicy()
        self.catalogue = catalogue or Catalogue.of()
        self.store = EventStore(database, sealer=sealer)
        self.mapper: Mapper[UUID] = self.store.mapper
        try:
            with database.connect() as conn:
                schema.create_tables(conn, sealer)
        except BaseException:
            self.store.close()  # a refused key stops the start: leave no pool behind
            raise
        self.health = DatabaseHealth()
        """Whether the database answers, as every part of the process last found it."""
        self.reads = CheckedPool(pool(database.conninfo(), pool_size, READ_TIMEOUT_S), self.health)
        self.writer = Writer(
            lambda: database.connect(autocommit=True),
            self.mapper,
            clock,
            snapshot_types=(PartnerAccount, BonusWallet, SubscriptionLine),
            inline=(ScheduleProjection(self.policy), LineIndex(), OpenInvoices()),
            context=Context(self.policy, self.catalogue, public_url.rstrip("/")),
            health=self.health,
            sealer=sealer,
        )
        self.writer.start()

    def close(self) -> None:
        self.writer.stop()
        self.reads.close()
        self.store.close()

    # --- running commands ----------------------------------------------------------

    def execute(self, command: Command, key: str | None = None) -> CommandResult:
        """Run a command under an idempotency key (a fresh one when none is given)."""
        return self.writer.submit(command, key or f"anonymous/{uuid4()}")

    def replayed(self, key: str) -> CommandResult | None:
        """The first answer to a key, if a command was already recorded under it (R-X5)."""
        with self.reads.connection() as conn:
            row = conn.execute(
                "SELECT response, position FROM command_log WHERE key = %s", (key,)
            ).fetchone()
        if row is None:
            return None
        response, position = row
        aggregate_id = response.pop("aggregate_id", None)
        return CommandResult(
            UUID(aggregate_id) if aggregate_id else None, int(position), response, replayed=True
        )

    def load(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """An aggregate as its events make it now (read only, straight from the store)."""
        with self.reads.connection() as conn:
            aggregate = store.load(conn, self.mapper, aggregate_id, snapshots=True)
        return aggregate if isinstance(aggregate, cls) else None

    def partner_account(self, partner_id: UUID) -> PartnerAccount:
        account = self.load(PartnerAccount, partner_id)
        if account is None:
            raise PartnerNotFound(f"No partner account {partner_id}.", partner_id=partner_id)
        return account

    def line(self, line_id: UUID) -> SubscriptionLine:
        found = self.load(SubscriptionLine, line_id)
        if found is None:
            raise LineNotFound(f"No subscription line {line_id}.", line_id=line_id)
        return found

    def invoice(self, invoice_id: UUID) -> Invoice:
        found = self.load(Invoice, invoice_id)
        if found is None:
            raise InvoiceNotFound(f"No invoice {invoice_id}.", invoice_id=invoice_id)
        return found

    # --- partner accounts ------------------------------------------------------------

    def open_partner_account(
        self,
        *,
        name: str,
        currency: str,
        time_zone: str,
        anchor: Anchor = Anchor.ANNIVERSARY,
        partner_id: UUID | None = None,
        key: str | None = None,
    ) -> CommandResult:
        command = partner_commands.OpenPartnerAccount(
            partner_id=partner_id or _derived(key),
            name=name,
            currency=currency,
            time_zone=time_zone,
            anchor=anchor,
        )
        return self.execute(command, key)

    def record_billing_profile(
        self,
        partner_id: UUID,
        entity: str,
        address: Address,
        billing_email: str,
        *,
        key: str | None = None,
    ) -> CommandResult:
        return self.execute(
            partner_commands.RecordBillingProfile(
                partner_id=partner_id, entity=entity, address=address, billing_email=billing_email
            ),
            key,
        )

    def add_payment_method(
        self,
        partner_id: UUID,
        details: CardDetails | BankAccountDetails,
        *,
        make_default: bool = False,
        key: str | None = None,
    ) -> CommandResult:
        """Validate raw card or bank data, tokenise it at the gateway, keep the token (R-X4)."""
        key = key or f"anonymous/{uuid4()}"
        if (first := self.replayed(key)) is not None:
            return first
        account = self.partner_account(partner_id)
        token = self._tokenise(details, account.today(self.clock.now()))
        command = partner_commands.AddPaymentMethod(
            partner_id=partner_id, method_id=_derived(key), method=token, make_default=make_default
        )
        return self.execute(command, key)

    def replace_payment_method(
        self,
        partner_id: UUID,
        old_method_id: UUID,
        details: CardDetails | BankAccountDetails,
        outstanding: Outstanding = Outstanding.CHARGE_ALL,
        *,
        key: str | None = None,
    ) -> CommandResult:
        """Update a payment method; the billing date stays. What is failed or overdue is
        charged to the new one at once, in one charge of its total (R-L5), or marked paid in
        the same transaction as the replacement (R-H5)."""
        key = key or f"anonymous/{uuid4()}"
        if (first := self.replayed(key)) is not None:
            return _with_charges(first, self._replayed_charges(key))
        account = self.partner_account(partner_id)
        token = self._tokenise(details, account.today(self.clock.now()))
        result = self.execute(
            partner_commands.ReplacePaymentMethod(
                partner_id=partner_id,
                old_method_id=old_method_id,
                method_id=_derived(key),
                method=token,
                outstanding=outstanding,
                invoice_ids=tuple(self._outstanding_of(partner_id)),
            ),
            key,
        )
        charged = self._charge_together(
            account, result.data.get("to_charge", []), token, None, f"{key}/charge"
        )
        return _with_charges(result, charged)

    def make_default_payment_method(
        self, partner_id: UUID, method_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(
            partner_commands.MakeDefaultPaymentMethod(partner_id=partner_id, method_id=method_id),
            key,
        )

    def top_up(
        self,
        partner_id: UUID,
        amount: Money,
        source: PaymentSource,
        *,
        method_id: UUID | None = None,
        reference: str | None = None,
        key: str | None = None,
    ) -> CommandResult:
        """Put money on the company balance (R-C2): charged to a card now, or received by
        bank as the vendor records it (a partner announces a transfer: `announce_top_up`)."""
        key = key or f"anonymous/{uuid4()}"
        if source is PaymentSource.CARD:
            if (first := self.replayed(key)) is not None:
                return first
            account = self.partner_account(partner_id)
            _, method = account.method_to_charge(PaymentSource.CARD, method_id)
            account.check_top_up(amount, source)  # nothing is charged for a refused top-up
            charge = self.gateway.charge(method, amount, f"{key}/charge", self._payers_now(account))
            if charge.status is not ChargeStatus.SUCCEEDED:
                raise PaymentDeclined(
                    charge.reason or "The card was declined.",
                    decline_code=charge.decline_code,
                )
            command = self._top_up(partner_id, amount, source, charge.charge_id, key)
            try:
                return self.execute(command, key)
            except BillingError:
                # The account moved on while the card was charged (another top-up filled it,
                # it was closed): give the money back, and answer the refusal.
                self.gateway.refund(charge.charge_id, amount, f"{key}/compensate", self.clock.now())
                raise
        if source is not PaymentSource.BANK_TRANSFER:
            raise InvalidValue("Top up by card or by bank transfer.", field="source")
        return self.execute(self._top_up(partner_id, amount, source, reference, key), key)

    @staticmethod
    def _top_up(
        partner_id: UUID, amount: Money, source: PaymentSource, reference: str | None, key: str
    ) -> partner_commands.RecordTopUp:
        return partner_commands.RecordTopUp(
            partner_id=partner_id,
            top_up_id=_derived(key),
            amount=amount,
            source=source,
            reference=reference,
        )

    def announce_top_up(
        self, partner_id: UUID, amount: Money, reference: str, *, key: str | None = None
    ) -> CommandResult:
        """The partner says it sent a bank transfer for its balance: kept apart (R-C2)."""
        command = partner_commands.AnnounceTopUp(
            partner_id=partner_id, top_up_id=_derived(key), amount=amount, reference=reference
        )
        return self.execute(command, key)

    def confirm_top_up(
        self, partner_id: UUID, top_up_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        """The vendor received an announced transfer: it is on the balance now (R-C2)."""
        return self.execute(
            partner_commands.ConfirmTopUp(partner_id=partner_id, top_up_id=top_up_id), key
        )

    def register_client(
        self,
        partner_id: UUID,
        *,
        name: str,
        email: str | None = None,
        unified_billing: bool = True,
        client_id: UUID | None = None,
        key: str | None = None,
    ) -> CommandResult:
        return self.execute(
            partner_commands.RegisterClient(
                partner_id=partner_id,
                client_id=client_id or _derived(key),
                name=name,
                email=email,
                unified_billing=unified_billing,
            ),
            key,
        )

    def remove_client_from_unified_billing(
        self, partner_id: UUID, client_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        with self.reads.connection() as conn:
            rows = conn.execute(
                "SELECT line_id FROM line_index WHERE partner_id = %s AND client_id = %s "
                "AND unified_billing AND status <> 'cancelled' ORDER BY line_id",
                (partner_id, client_id),
            ).fetchall()
        command = partner_commands.RemoveClientFromUnifiedBilling(
            partner_id=partner_id, client_id=client_id, line_ids=tuple(row[0] for row in rows)
        )
        return self.execute(command, key)

    def set_budget(
        self, partner_id: UUID, amount: Money | None, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(partner_commands.SetBudget(partner_id=partner_id, amount=amount), key)

    def grant_bonus(
        self,
        partner_id: UUID,
        amount: Money,
        reason: CreditReason,
        note: str,
        *,
        key: str | None = None,
    ) -> CommandResult:
        """The vendor's promotion or goodwill credit to a partner's bonus wallet (R-C5)."""
        key = key or f"anonymous/{uuid4()}"
        command = partner_commands.GrantBonus(
            partner_id=partner_id, credit_id=_derived(key), amount=amount, reason=reason, note=note
        )
        return self.execute(command, key)

    def set_account_autopay(
        self, partner_id: UUID, source: PaymentSource | None, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(
            partner_commands.SetAccountAutopay(partner_id=partner_id, source=source), key
        )

    # --- subscription lines ----------------------------------------------------------

    def create_line(
        self,
        partner_id: UUID,
        client_id: UUID,
        product_code: str,
        *,
        term: Term = Term.MONTHLY,
        payer: Payer = Payer.PARTNER,
        unified_billing: bool = False,
        locations: tuple[Location, ...] = (),
        anchor: Anchor | None = None,
        line_id: UUID | None = None,
        key: str | None = None,
    ) -> CommandResult:
        return self.execute(
            line_commands.CreateLine(
                line_id=line_id or _derived(key),
                partner_id=partner_id,
                client_id=client_id,
                product_code=product_code,
                term=term,
                payer=payer,
                unified_billing=unified_billing,
                locations=locations,
                anchor=anchor,
            ),
            key,
        )

    def send_line(self, line_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.execute(line_commands.SendLine(line_id=line_id), key)

    def accept_line(self, line_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.execute(line_commands.AcceptLine(line_id=line_id), key)

    def activate_line(
        self, line_id: UUID, start_on: date | None = None, *, key: str | None = None
    ) -> CommandResult:
        """Start a line and bill its first period; autopay by card or debit follows at once."""
        key = key or f"anonymous/{uuid4()}"
        result = self.execute(line_commands.ActivateLine(line_id=line_id, start_on=start_on), key)
        return self._autopay_follow_up(result, key)

    def renew_line(
        self, line_id: UUID, period_start: date, *, key: str | None = None
    ) -> CommandResult:
        """Renew a line for the period it names (its next); each period is renewed once."""
        key = key or f"anonymous/{uuid4()}"
        result = self.execute(
            line_commands.RenewLine(line_id=line_id, period_start=period_start), key
        )
        return self._autopay_follow_up(result, key)

    def cancel_line(self, line_id: UUID, reason: str, *, key: str | None = None) -> CommandResult:
        return self.execute(line_commands.CancelLine(line_id=line_id, reason=reason), key)

    def pause_line(self, line_id: UUID, reason: str, *, key: str | None = None) -> CommandResult:
        return self.execute(line_commands.PauseLine(line_id=line_id, reason=reason), key)

    def resume_line(self, line_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.execute(line_commands.ResumeLine(line_id=line_id), key)

    def add_location(
        self, line_id: UUID, location: Location, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(line_commands.AddLocation(line_id=line_id, location=location), key)

    def remove_location(
        self, line_id: UUID, location_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(
            line_commands.RemoveLocation(line_id=line_id, location_id=location_id), key
        )

    def set_line_autopay(
        self, line_id: UUID, source: PaymentSource | None, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(line_commands.SetLineAutopay(line_id=line_id, source=source), key)

    def attach_line_card(
        self,
        line_id: UUID,
        card: CardDetails,
        outstanding: Outstanding | None = None,
        *,
        key: str | None = None,
    ) -> CommandResult:
        """Put a new card on a client-paid line; with payments pending, charge or mark (R-H5)."""
        key = key or f"anonymous/{uuid4()}"
        if (first := self.replayed(key)) is not None:
            # The charge ran under a key of its own: its first answer is the replay's.
            return _with_charges(first, self._replayed_charges(key))
        subscription = self.line(line_id)
        account = self.partner_account(subscription.partner_id)
        token = self._tokenise(card, account.today(self.clock.now()))
        if not isinstance(token, CardToken):  # pragma: no cover - a card tokenises to a card
            raise InvalidValue("A line's card must be a card.", field="card")
        result = self.execute(
            line_commands.AttachLineCard(line_id=line_id, card=token, outstanding=outstanding), key
        )
        charged = self._charge_together(
            account,
            result.data.get("to_charge", []),
            token,
            line_id,
            f"{key}/charge",
        )
        return _with_charges(result, charged)

    def record_lead(
        self,
        line_id: UUID,
        lead_id: UUID,
        delivered_at: datetime,
        price: Money | None = None,
        *,
        key: str | None = None,
    ) -> CommandResult:
        """A delivered lead (R-L1); at $200 unbilled it is invoiced and charged at once (R-L2)."""
        key = key or f"lead/{lead_id}"
        result = self.execute(
            line_commands.RecordLead(
                line_id=line_id, lead_id=lead_id, delivered_at=delivered_at, price=price
            ),
            key,
        )
        return self._autopay_follow_up(result, key)

    def request_transfer(
        self,
        line_id: UUID,
        request: TransferRequest,
        consents: tuple[TransferParty, ...] = (),
        *,
        key: str | None = None,
    ) -> CommandResult:
        return self.execute(
            line_commands.RequestTransfer(line_id=line_id, request=request, consents=consents),
            key,
        )

    def give_consent(
        self, line_id: UUID, party: TransferParty, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(line_commands.GiveConsent(line_id=line_id, party=party), key)

    # --- invoices and payments ------------------------------------------------------

    def pay_invoice(
        self,
        invoice_id: UUID,
        source: PaymentSource,
        *,
        amount: Money | None = None,
        method_id: UUID | None = None,
        reference: str | None = None,
        key: str | None = None,
    ) -> CommandResult:
        """Pay an invoice from any source of R-C2; money the vendor received by bank, cash,
        cheque or other is recorded as received (R-H2): the vendor's own word, as a payer
        only announces such money (`announce_payment`)."""
        key = key or f"anonymous/{uuid4()}"
        if source.is_gateway:
            return self.charge_invoice(invoice_id, source=source, method_id=method_id, key=key)
        if source in (PaymentSource.COMPANY_BALANCE, PaymentSource.BONUS):
            return self.execute(
                invoice_commands.PayInternally(invoice_id=invoice_id, source=source, amount=amount),
                key,
            )
        return self.execute(
            invoice_commands.RecordPayment(
                invoice_id=invoice_id,
                payment_id=_derived(key),
                source=source,
                amount=amount,
                reference=reference,
            ),
            key,
        )

    def announce_payment(
        self,
        invoice_id: UUID,
        source: PaymentSource,
        reference: str,
        *,
        amount: Money | None = None,
        key: str | None = None,
    ) -> CommandResult:
        """The payer says it sent money outside the gateway: noted, paid once confirmed (R-H2)."""
        command = invoice_commands.AnnouncePayment(
            invoice_id=invoice_id,
            payment_id=_derived(key),
            source=source,
            amount=amount,
            reference=reference,
        )
        return self.execute(command, key)

    def confirm_payment(
        self, invoice_id: UUID, payment_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        """The vendor received an announced payment: it pays the invoice now (R-H2)."""
        return self.execute(
            invoice_commands.ConfirmPayment(invoice_id=invoice_id, payment_id=payment_id), key
        )

    def charge_invoice(
        self,
        invoice_id: UUID,
        *,
        source: PaymentSource | None = None,
        method_id: UUID | None = None,
        key: str | None = None,
    ) -> CommandResult:
        """Charge what an invoice owes to a card or bank account (and retry a failed one).

        The method is the one named, or the payer's default of the `source` asked for (R-C2);
        with none to charge, the request is refused with `no_payment_method` and nothing is
        written: no decline, no grace (R-H4, R-L4)."""
        key = key or f"anonymous/{uuid4()}"
        if (first := self.replayed(key)) is not None:
            return first
        found = self.invoice(invoice_id)
        account = self.partner_account(found.partner_id)
        method, line_id = self._paying_method(account, found, source, method_id)
        return self._charge(found, account, method, line_id, key)

    def _autopay_charge(self, invoice_id: UUID, key: str) -> CommandResult:
        """The billing clock charges an invoice autopay pays (R-C6) on the day it is due.

        Unlike a manual charge, finding no method is not refused: the payment was due today
        and cannot be made, so it is recorded as failed with `no_payment_method`. The payer is
        told and sent the link to add a card (R-H4), the invoice shows as failed (R-H2, R-H3)
        and a partner's grace week starts (R-L4); otherwise the invoice would owe silently
        forever, as an invoice expected to be charged is never marked overdue."""
        if (first := self.replayed(key)) is not None:
            return first
        found = self.invoice(invoice_id)
        account = self.partner_account(found.partner_id)
        expected = found.expected_source
        source = expected if expected is not None and expected.is_gateway else None
        try:
            method, line_id = self._paying_method(account, found, source, None)
        except NoPaymentMethod:
            return self._record_no_method(found, key)
        return self._charge(found, account, method, line_id, key)

    def _record_no_method(self, found: Invoice, key: str) -> CommandResult:
        """Autopay found nothing to charge: a failed payment the payer is told about (R-H4)."""
        amount, fee_line = found.card_charge(self.policy)
        declined = ChargeResult(
            charge_id=f"none/{found.id}",
            status=ChargeStatus.DECLINED,
            amount=amount,
            decline_code="no_payment_method",
            reason="There is no card or bank account to charge.",
        )
        command = invoice_commands.RecordCharge(
            invoice_id=found.id,
            payment_id=_derived(key),
            source=PaymentSource.CARD,
            amount=amount,
            fee_line=fee_line,
            charge=declined,
        )
        return self.execute(command, key)

    def mark_pending_paid(self, invoice_id: UUID, *, key: str | None = None) -> CommandResult:
        return self.execute(invoice_commands.MarkPendingPaid(invoice_id=invoice_id), key)

    def refund(
        self,
        invoice_id: UUID,
        payment_id: UUID,
        amount: Money,
        reason: str,
        *,
        key: str | None = None,
    ) -> CommandResult:
        """Refund part or all of a payment, through the processor when it came through it."""
        key = key or f"anonymous/{uuid4()}"
        if (first := self.replayed(key)) is not None:
            return first
        found = self.invoice(invoice_id)
        refund_id = _derived(key)
        payment = found.refund(  # checks the refund on a copy read for the purpose
            refund_id=refund_id,
            payment_id=payment_id,
            amount=amount,
            reason=reason,
            on=self.clock.now().date(),
            now=self.clock.now(),
        )
        gateway_refund_id = None
        if payment.source.is_gateway and payment.reference:
            gateway_refund_id = self.gateway.refund(
                payment.reference, amount, f"{key}/refund", self.clock.now()
            ).refund_id
        return self.execute(
            invoice_commands.RecordRefund(
                invoice_id=invoice_id,
                payment_id=payment_id,
                refund_id=refund_id,
                amount=amount,
                reason=reason,
                gateway_refund_id=gateway_refund_id,
            ),
            key,
        )

    def void_invoice(
        self, invoice_id: UUID, reason: str, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(invoice_commands.VoidInvoice(invoice_id=invoice_id, reason=reason), key)

    def issue_credit_note(
        self, invoice_id: UUID, amount: Money, reason: str, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(
            invoice_commands.IssueCreditNote(
                invoice_id=invoice_id, credit_note_id=_derived(key), amount=amount, reason=reason
            ),
            key,
        )

    def request_closing_document(
        self, invoice_id: UUID, *, key: str | None = None
    ) -> CommandResult:
        return self.execute(
            invoice_commands.RequestClosingDocument(
                invoice_id=invoice_id, document_id=_derived(key)
            ),
            key,
        )

    # --- the billing clock's work (see ledger/billing_clock.py) ---------------------

    def do_work(self, kind: str, subject_id: UUID, on: date) -> CommandResult | None:
        """Do one piece of scheduled work, under a key naming it, so it is done once."""
        key = f"clock/{kind}/{subject_id}/{on.isoformat()}"
        if kind == "settle_debit":
            return self._settle_debits(subject_id, on, key)
        if kind == "charge":
            return self._autopay_charge(subject_id, key)
        command = _clock_command(kind, subject_id, on)
        result = self.execute(command, key)
        if kind in ("activate", "renew", "invoice_ahead", "invoice_leads", "unified_invoice"):
            return self._autopay_follow_up(result, key)
        return result

    # --- helpers ----------------------------------------------------------------------

    def _payers_now(self, account: PartnerAccount) -> datetime:
        """Now, in the partner's time zone: what the processor is told, so that days it counts
        (an ACH debit's settlement) are the partner's business days (R-X7, R-E4)."""
        return self.clock.now().astimezone(zone(account.time_zone))

    def _tokenise(self, details: CardDetails | BankAccountDetails, today: date) -> PaymentMethod:
        if isinstance(details, CardDetails):
            return self.gateway.tokenize_card(details.validated(today))
        return self.gateway.tokenize_bank_account(details.validated())

    def _paying_method(
        self,
        account: PartnerAccount,
        found: Invoice,
        source: PaymentSource | None,
        method_id: UUID | None,
    ) -> tuple[PaymentMethod, UUID | None]:
        """A client pays with the card on its line (R-H5); a partner with its own method of
        the kind asked for (R-C2)."""
        if found.payer is Payer.CLIENT and method_id is None:
            for line_id in found.line_ids:
                subscription = self.load(SubscriptionLine, line_id)
                if subscription is not None and subscription.card is not None:
                    require_kind(subscription.card, source, None)
                    return subscription.card, line_id
            raise NoPaymentMethod("The client's line has no card.", source="card")
        return account.method_to_charge(source, method_id)[1], None

    def _charge(
        self,
        found: Invoice,
        account: PartnerAccount,
        method: PaymentMethod,
        line_id: UUID | None,
        key: str,
    ) -> CommandResult:
        source = PaymentSource.CARD if isinstance(method, CardToken) else PaymentSource.DIRECT_DEBIT
        if source is PaymentSource.CARD:
            amount, fee_line = found.card_charge(self.policy)
        else:
            amount, fee_line = found.outstanding - found.pending_total, None
        if not amount.is_positive():
            raise NothingOutstanding(
                f"Invoice {found.number} has nothing left to charge.", number=found.number
            )
        now = self.clock.now()
        charge = self.gateway.charge(method, amount, f"{key}/charge", self._payers_now(account))
        command = invoice_commands.RecordCharge(
            invoice_id=found.id,
            payment_id=_derived(key),
            source=source,
            amount=amount,
            fee_line=fee_line,
            charge=charge,
            line_id=line_id,
        )
        try:
            return self.execute(command, key)
        except BillingError:
            if charge.status is ChargeStatus.SUCCEEDED:
                # The invoice moved on while it was charged: give the money back.
                self.gateway.refund(charge.charge_id, amount, f"{key}/compensate", now)
            raise

    def _charge_together(
        self,
        account: PartnerAccount,
        invoice_ids: list[str],
        method: PaymentMethod,
        line_id: UUID | None,
        key: str,
    ) -> tuple[list[dict[str, Any]], int]:
        """Charge everything pending to a new card or bank account in one charge of the total,
        each invoice paid by its share, the card fee on the total (R-H5, R-L5, R-O7).

        Answers each invoice's outcome and the log position (0 when nothing was written)."""
        owed = [self.invoice(UUID(invoice_id)) for invoice_id in invoice_ids]
        amounts = charge_shares(owed, method.source, self.policy)
        shares = tuple(
            invoice_commands.ChargeShare(
                invoice_id=found.id,
                payment_id=_derived(f"{key}/{found.id}"),
                amount=amount,
                fee_line=fee_line,
            )
            for found, (amount, fee_line) in zip(owed, amounts, strict=True)
            if amount.is_positive()
        )
        if not shares:
            return [], 0
        amount = total([share.amount for share in shares], shares[0].amount.currency)
        now = self.clock.now()
        charge = self.gateway.charge(method, amount, f"{key}/charge", self._payers_now(account))
        command = invoice_commands.RecordCombinedCharge(
            partner_id=account.id,
            shares=shares,
            source=method.source,
            charge=charge,
            line_id=line_id,
        )
        try:
            result = self.execute(command, key)
        except BillingError as refusal:
            if charge.status is ChargeStatus.SUCCEEDED:
                # An invoice moved on while it was charged: give all the money back.
                self.gateway.refund(charge.charge_id, amount, f"{key}/compensate", now)
            return [
                {"invoice_id": str(share.invoice_id), "error": refusal.code} for share in shares
            ], 0
        return list(result.data["charges"]), result.position

    def _outstanding_of(self, partner_id: UUID) -> list[UUID]:
        with self.reads.connection() as conn:
            rows = conn.execute(
                "SELECT invoice_id FROM open_invoices WHERE payer_id = %s AND outstanding "
                "ORDER BY due_on, invoice_id",
                (partner_id,),
            ).fetchall()
        return [row[0] for row in rows]

    def _replayed_charges(self, key: str) -> tuple[list[dict[str, Any]], int]:
        """The first answer of the charge a replayed command set off, if it made one."""
        earlier = self.replayed(f"{key}/charge")
        if earlier is None:
            return [], 0
        return list(earlier.data.get("charges", [])), earlier.position

    def _autopay_follow_up(self, result: CommandResult, key: str) -> CommandResult:
        """An invoice a card or debit pays by autopay is charged straight after it is issued.

        A replayed command answers with the charge its first run made (R-X5); if the first
        run stopped before charging, the charge is made now."""
        invoice_id = result.data.get("invoice_id")
        if invoice_id is None:
            return result
        found = self.load(Invoice, UUID(invoice_id))
        if result.replayed and found is not None:
            earlier = self.replayed(f"clock/charge/{found.id}/{found.issued_on}")
            if earlier is not None:
                return _with(result, earlier.position, charge=earlier.data)
        if (
            found is None
            or found.expected_source is None
            or not found.expected_source.is_gateway
            or found.payments
            or found.failed_attempts
            or found.pending
        ):
            return result
        try:
            charged = self._autopay_charge(found.id, f"clock/charge/{found.id}/{found.issued_on}")
        except BillingError as refusal:
            return _with(result, charge={"error": refusal.code})
        return _with(result, charged.position, charge=charged.data)

    def _settle_debits(self, invoice_id: UUID, on: date, key: str) -> CommandResult | None:
        found = self.load(Invoice, invoice_id)
        if found is None:
            return None
        result = None
        now = self._payers_now(self.partner_account(found.partner_id))
        for payment_id, reference in list(found.pending_references.items()):
            settlement = self.gateway.settlement(reference, now)
            if settlement is None:
                continue
            result = self.execute(
                invoice_commands.SettleDebit(
                    invoice_id=invoice_id,
                    payment_id=UUID(payment_id),
                    succeeded=settlement.succeeded,
                    decline_code=settlement.decline_code,
                    reason=settlement.reason,
                    on=on,
                ),
                f"{key}/{payment_id}",
            )
        return result


def _derived(key: str | None) -> UUID:
    """An id derived from the idempotency key: a repeat names the same thing."""
    return uuid5(KEY_NAMESPACE, key) if key else uuid4()


def _with(result: CommandResult, position: int = 0, **data: Any) -> CommandResult:
    """The result with more answer data; its position moves on to `position`, the last event of
    the work the command set off (a charge), so that reading at the answered position shows
    that work too."""
    return CommandResult(
        result.aggregate_id,
        max(result.position, position),
        {**result.data, **data},
        result.replayed,
    )


def _with_charges(
    result: CommandResult, charged: tuple[list[dict[str, Any]], int]
) -> CommandResult:
    """The result with what its charge did to each invoice, answered at the charge's position."""
    charges, position = charged
    return _with(result, position, charges=charges)


def _clock_command(kind: str, subject_id: UUID, on: date) -> Command:
    commands: dict[str, Command] = {
        "activate": line_commands.StartScheduledLine(line_id=subject_id, on=on),
        "renew": line_commands.RenewDueLine(line_id=subject_id, on=on),
        "invoice_ahead": line_commands.InvoiceAhead(line_id=subject_id, on=on),
        "invoice_leads": line_commands.InvoiceLeads(line_id=subject_id, on=on),
        "complete_transfer": line_commands.CompleteTransfer(line_id=subject_id, on=on),
        "mark_overdue": invoice_commands.MarkOverdue(invoice_id=subject_id, on=on),
        "unified_invoice": clock_commands.IssueUnifiedInvoice(partner_id=subject_id, on=on),
        "expire_grace": clock_commands.ExpireGrace(partner_id=subject_id, on=on),
        "start_budget_period": clock_commands.StartBudgetPeriod(partner_id=subject_id, on=on),
    }
    try:
        return commands[kind]
    except KeyError:
        raise ValueError(f"unknown scheduled work {kind!r}") from None

"""How events and snapshots become JSON in the event store, and back, without losing a type.

The library's JSON transcoder calls a transcoding only for objects `json` cannot write itself,
so a `StrEnum` would come back as a plain `str` and a tuple as a list. This transcoder walks
the state first and tags every value that needs it: enums, tuples, dates, UUIDs, `Money` and
the other value objects, each under a stable name. Anything unregistered is refused, which is
how raw card data (`CardDetails`, `BankAccountDetails`) can never reach the store (R-X4).

The names are part of the stored format: never rename one; add a new name instead.

With a `Sealer` (LEDGERLINE_CIPHER_KEY set), the fields in `PERSONAL_FIELDS` are sealed one
by one as `{"_type_": "sealed", "_data_": "enc:v1:…"}` (ledger/sealing.py says which and
why); `LedgerMapper` marks them, the walk seals them, and decoding opens them, so aggregates
and events only ever hold clear values. Without a sealer the stored JSON is as it always was,
and a sealed field met without one fails loudly (`CipherKeyMissing`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    TranscodingNotRegisteredError,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain.billing_policy import PolicyChange
from domain.bonus_wallet import CreditReason
from domain.calendar import Anchor, BillingPeriod, Term
from domain.catalogue import PriceChangeScope, PriceVersion
from domain.invoice import InvoiceKind, InvoiceStatus, Payment
from domain.money import Money
from domain.partner_account import AccountStatus, Client, PartnerAccount, PauseReason
from domain.payment_methods import BankAccountToken, CardBrand, CardToken, PaymentSource
from domain.price_overrides import PriceOverride
from domain.pricing import PriceUnit
from domain.subscription_line import LineStatus, TransferParty, TransferRequest
from domain.values import Address, InvoiceLine, InvoiceLineKind, Location, Payer
from ledger.sealing import SEALED, CipherKeyMissing, Sealer

VALUE_OBJECTS: dict[str, type[Any]] = {
    "money": Money,
    "billing_period": BillingPeriod,
    "location": Location,
    "address": Address,
    "invoice_line": InvoiceLine,
    "card_token": CardToken,
    "bank_account_token": BankAccountToken,
    "transfer_request": TransferRequest,
    "client": Client,
    "payment": Payment,
    "policy_change": PolicyChange,
    "price_version": PriceVersion,
    "price_override": PriceOverride,
}
"""Frozen dataclasses stored field by field, under these names."""

ENUMS: dict[str, type[Enum]] = {
    "anchor": Anchor,
    "term": Term,
    "price_unit": PriceUnit,
    "payer": Payer,
    "line_status": LineStatus,
    "transfer_party": TransferParty,
    "invoice_kind": InvoiceKind,
    "invoice_status": InvoiceStatus,
    "invoice_line_kind": InvoiceLineKind,
    "payment_source": PaymentSource,
    "card_brand": CardBrand,
    "pause_reason": PauseReason,
    "account_status": AccountStatus,
    "credit_reason": CreditReason,
    "price_change_scope": PriceChangeScope,
}
"""Enums stored by value, under these names."""

SPARSE_FIELDS: dict[type[Any], frozenset[str]] = {
    InvoiceLine: frozenset(
        {"description", "price_version", "price_override", "policy_version", "rate", "term_months"}
    ),
}
"""Fields a value object gained later, with a default of None: written only when set, so the
facts that never had them keep the stored shape they always had (and old fixtures stay
frozen); decoding gives the default to a value stored without them. An invoice line's
`description` is the other way round: lines recorded before issue 17 have their sentence, a
line recorded since has none and stores no key for it (the name `description` is kept)."""

PERSONAL_FIELDS: dict[type[Any], frozenset[str]] = {
    # Events, and the aggregate whose snapshots hold the same facts.
    PartnerAccount.Opened: frozenset({"name"}),
    PartnerAccount.BillingProfileRecorded: frozenset(
        {"entity", "address", "billing_email", "tax_id"}
    ),
    PartnerAccount.ClientRegistered: frozenset({"name", "email"}),
    PartnerAccount: frozenset({"name", "entity", "address", "billing_email", "tax_id"}),
    # Value objects, wherever they appear.
    Client: frozenset({"name", "email"}),
    CardToken: frozenset({"holder"}),
    BankAccountToken: frozenset({"name_on_account"}),
    TransferRequest: frozenset({"end_user_name", "owner_email", "invoice_email"}),
}
"""The fields that name or reach a person, sealed at rest when a cipher key is set
(ledger/sealing.py). Adding one is safe: fields stored in clear before still read."""

TAG, DATA = "_type_", "_data_"


@dataclasses.dataclass(frozen=True, slots=True)
class _Personal:
    """A value to be sealed by the walk; never stored as such."""

    value: Any


def _marked(state: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """The state with its personal fields marked for sealing (missing values stay as they are)."""
    return {
        key: _Personal(value) if key in fields and value is not None else value
        for key, value in state.items()
    }


class _Decoding(Transcoding):
    """A named decoding; encoding is done by the walk in `LedgerTranscoder`."""

    def __init__(self, name: str, decode: Callable[[Any], Any]) -> None:
        self.name = name
        self.type = object
        self._decode = decode

    def encode(self, obj: Any) -> Any:  # pragma: no cover - the walk encodes
        raise NotImplementedError

    def decode(self, data: Any) -> Any:
        return self._decode(data)


def _dataclass_decoder(cls: type[Any]) -> Callable[[dict[str, Any]], Any]:
    def decode(data: dict[str, Any]) -> Any:
        return cls(**data)

    return decode


def _enum_decoder(cls: type[Enum]) -> Callable[[Any], Any]:
    return cls


def _enum_encoder(tag: str) -> Callable[[Any], Any]:
    def encode(o: Any) -> Any:
        return {TAG: tag, DATA: o.value}

    return encode


def _same(o: Any) -> Any:
    return o


class LedgerTranscoder(JSONTranscoder):
    """JSON for Ledgerline's events and snapshots, with every type kept (see the module)."""

    def __init__(self, sealer: Sealer | None = None) -> None:
        super().__init__()
        self.sealer = sealer
        self._value_object_names = {cls: name for name, cls in VALUE_OBJECTS.items()}
        self._enum_names = {cls: name for name, cls in ENUMS.items()}
        decodings: dict[str, Callable[[Any], Any]] = {
            "tuple": tuple,
            "frozenset": frozenset,
            "uuid_hex": UUID,
            "decimal_str": Decimal,
            "datetime_iso": datetime.fromisoformat,
            "date_iso": date.fromisoformat,
        }
        decodings.update({name: _dataclass_decoder(cls) for name, cls in VALUE_OBJECTS.items()})
        decodings.update({f"enum:{name}": _enum_decoder(cls) for name, cls in ENUMS.items()})
        decodings[SEALED] = self._open
        for name, decode in decodings.items():
            self.names[name] = _Decoding(name, decode)

        # One encoder per stored type, found with one dictionary lookup.
        self._encoders: dict[type, Callable[[Any], Any]] = {
            type(None): _same,
            str: _same,
            int: _same,
            bool: _same,
            dict: self._dict,
            list: self._list,
            tuple: lambda o: {TAG: "tuple", DATA: self._list(o)},
            frozenset: lambda o: {TAG: "frozenset", DATA: self._list(sorted(o))},
            UUID: lambda o: {TAG: "uuid_hex", DATA: o.hex},
            datetime: lambda o: {TAG: "datetime_iso", DATA: o.isoformat()},
            date: lambda o: {TAG: "date_iso", DATA: o.isoformat()},
            Decimal: lambda o: {TAG: "decimal_str", DATA: str(o)},
            _Personal: self._seal,
        }
        for name, cls in VALUE_OBJECTS.items():
            self._encoders[cls] = self._value_object_encoder(name, cls)
        for name, enum in ENUMS.items():
            self._encoders[enum] = _enum_encoder(f"enum:{name}")

    def encode(self, obj: Any) -> bytes:
        return self.encoder.encode(self._walk(obj)).encode("utf8")

    def _walk(self, o: Any) -> Any:
        try:
            encode = self._encoders[type(o)]
        except KeyError:
            raise TranscodingNotRegisteredError(
                f"{type(o).__qualname__} cannot be stored: it is not a registered value"
            ) from None
        return encode(o)

    def _dict(self, o: dict[Any, Any]) -> dict[str, Any]:
        return {self._key(key): self._walk(value) for key, value in o.items()}

    def _list(self, o: Any) -> list[Any]:
        return [self._walk(value) for value in o]

    def _value_object_encoder(self, name: str, cls: type[Any]) -> Callable[[Any], Any]:
        names = tuple(field.name for field in dataclasses.fields(cls))
        personal = PERSONAL_FIELDS.get(cls, frozenset())

        def encode(o: Any) -> Any:
            return {TAG: name, DATA: {field: self._walk(getattr(o, field)) for field in names}}

        sparse = SPARSE_FIELDS.get(cls, frozenset())
        if sparse:
            assert not personal  # noqa: S101 - no value object is both (yet)

            def encode_sparse(o: Any) -> Any:
                data = {
                    field: self._walk(value)
                    for field in names
                    if (value := getattr(o, field)) is not None or field not in sparse
                }
                return {TAG: name, DATA: data}

            return encode_sparse
        if self.sealer is None or not personal:
            return encode  # the hot path (money, dates on every event) stays as it was

        def encode_sealing(o: Any) -> Any:
            fields = _marked({field: getattr(o, field) for field in names}, personal)
            return {TAG: name, DATA: {field: self._walk(value) for field, value in fields.items()}}

        return encode_sealing

    def encode_personal(self, state: dict[str, Any], personal: frozenset[str]) -> bytes:
        """`encode`, sealing the named top-level fields when a sealer is set."""
        if self.sealer is not None and personal:
            state = _marked(state, personal)
        return self.encode(state)

    def _seal(self, o: _Personal) -> Any:
        assert self.sealer is not None  # noqa: S101 - only marked when a sealer is set
        clear = self.encoder.encode(self._walk(o.value))
        return {TAG: SEALED, DATA: self.sealer.seal(clear)}

    def _open(self, envelope: Any) -> Any:
        if self.sealer is None:
            raise CipherKeyMissing("a sealed field was read, but LEDGERLINE_CIPHER_KEY is not set")
        return self.decoder.decode(self.sealer.open(str(envelope)))

    @staticmethod
    def _key(key: object) -> str:
        if type(key) is not str:
            raise TranscodingNotRegisteredError(f"stored mappings have str keys, not {key!r}")
        return key


class LedgerMapper(Mapper[UUID]):
    """The library's mapper, telling the transcoder which fields of each event are personal."""

    transcoder: LedgerTranscoder

    def __init__(self, transcoder: LedgerTranscoder) -> None:
        super().__init__(transcoder)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if self.transcoder.sealer is None:
            return super().to_stored_event(domain_event)
        # The library's own steps (eventsourcing.persistence.Mapper), with personal fields.
        cls = type(domain_event)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        personal = PERSONAL_FIELDS.get(cls, frozenset())
        if isinstance(domain_event, Snapshot):
            aggregate_fields = PERSONAL_FIELDS.get(resolve_topic(domain_event.topic), frozenset())
            event_state["state"] = _marked(dict(event_state["state"]), aggregate_fields)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(cls),
            state=self.transcoder.encode_personal(event_state, personal),
        )

"""How events and snapshots become JSON in the event store, and back, without losing a type.

The library's JSON transcoder calls a transcoding only for objects `json` cannot write itself,
so a `StrEnum` would come back as a plain `str` and a tuple as a list. This transcoder walks
the state first and tags every value that needs it: enums, tuples, dates, UUIDs, `Money` and
the other value objects, each under a stable name. Anything unregistered is refused, which is
how raw card data (`CardDetails`, `BankAccountDetails`) can never reach the store (R-X4).

The names are part of the stored format: never rename one; add a new name instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Transcoding, TranscodingNotRegisteredError

from domain.bonus_wallet import CreditReason
from domain.calendar import Anchor, BillingPeriod, Term
from domain.invoice import InvoiceKind, InvoiceStatus, Payment
from domain.money import Money
from domain.partner_account import AccountStatus, Client, PauseReason
from domain.payment_methods import BankAccountToken, CardBrand, CardToken, PaymentSource
from domain.pricing import PriceUnit
from domain.subscription_line import LineStatus, TransferParty, TransferRequest
from domain.values import Address, InvoiceLine, InvoiceLineKind, Location, Payer

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
}
"""Enums stored by value, under these names."""

TAG, DATA = "_type_", "_data_"


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


class LedgerTranscoder(JSONTranscoder):
    """JSON for Ledgerline's events and snapshots, with every type kept (see the module)."""

    def __init__(self) -> None:
        super().__init__()
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
        for name, decode in decodings.items():
            self.names[name] = _Decoding(name, decode)

    def encode(self, obj: Any) -> bytes:
        return self.encoder.encode(self._walk(obj)).encode("utf8")

    def _walk(self, o: Any) -> Any:
        kind = type(o)
        if o is None or kind in (str, int, bool):
            return o
        if isinstance(o, Enum):
            name = self._enum_names.get(kind)
            if name is None:
                raise TranscodingNotRegisteredError(f"enum {kind.__qualname__} is not registered")
            return {TAG: f"enum:{name}", DATA: o.value}
        if kind is dict:
            return {self._key(key): self._walk(value) for key, value in o.items()}
        if kind is list:
            return [self._walk(value) for value in o]
        if kind is tuple:
            return {TAG: "tuple", DATA: [self._walk(value) for value in o]}
        if kind is frozenset:
            return {TAG: "frozenset", DATA: [self._walk(value) for value in sorted(o)]}
        if kind is UUID:
            return {TAG: "uuid_hex", DATA: o.hex}
        if kind is datetime:
            return {TAG: "datetime_iso", DATA: o.isoformat()}
        if kind is date:
            return {TAG: "date_iso", DATA: o.isoformat()}
        if kind is Decimal:
            return {TAG: "decimal_str", DATA: str(o)}
        name = self._value_object_names.get(kind)
        if name is not None:
            fields = {f.name: self._walk(getattr(o, f.name)) for f in dataclasses.fields(o)}
            return {TAG: name, DATA: fields}
        raise TranscodingNotRegisteredError(
            f"{kind.__qualname__} cannot be stored: it is not a registered value"
        )

    @staticmethod
    def _key(key: object) -> str:
        if type(key) is not str:
            raise TranscodingNotRegisteredError(f"stored mappings have str keys, not {key!r}")
        return key

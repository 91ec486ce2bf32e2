"""Value objects shared by the aggregates: who pays, locations, addresses, invoice lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid5

from domain.calendar import BillingPeriod
from domain.errors import InvalidValue, TaxIdInvalid
from domain.money import Money
from domain.payment_methods import refuse_card_numbers
from domain.text import printable_text

LEDGERLINE_NAMESPACE = UUID("5b1f3c1e-8a52-4c59-9d7e-6f0b2f4a7c10")
"""Namespace of the ids Ledgerline derives from other ids (one bonus wallet per partner)."""

TEXT_MAX_LENGTH = 200
"""Names, descriptions and address lines: enough for any real one, bounded for documents."""


def clean_text(field: str, value: str, *, required: bool = True) -> str:
    """Collapse whitespace, bound the length, and refuse control characters and text that holds
    a card number (R-X4)."""
    text = printable_text(field, value)
    if required and not text:
        raise InvalidValue(f"{field} must not be empty.", field=field)
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidValue(f"{field} has at most {TEXT_MAX_LENGTH} characters.", field=field)
    return refuse_card_numbers(field, text)


TAX_ID_MAX_LENGTH = 32
"""A tax id as printed (`PL 525-200-00-00`, `7707083893`, `ESB12345678`, `12-3456789`): the
longest national ids are under 20 characters; 32 leaves room for a country prefix and the
separators people type, and keeps a document's customer block to its line."""
TAX_ID_SEPARATORS = frozenset(" -./")
"""What a tax id may hold besides ASCII letters and digits: how the ids are written."""


def clean_tax_id(field: str, value: str | None) -> str | None:
    """A partner's tax id as it is to be printed, or None when none is given (issue 17):
    ASCII letters, digits and the usual separators, with a digit, at most
    `TAX_ID_MAX_LENGTH` characters, inner spaces collapsed; never a card number (R-X4)."""
    if value is None:
        return None
    text = " ".join(value.split())
    if not text:
        raise TaxIdInvalid(f"{field} must not be empty: leave it out instead.", field=field)
    if len(text) > TAX_ID_MAX_LENGTH:
        raise TaxIdInvalid(
            f"{field} has at most {TAX_ID_MAX_LENGTH} characters.",
            field=field,
            max_length=TAX_ID_MAX_LENGTH,
        )
    allowed = all((char.isascii() and char.isalnum()) or char in TAX_ID_SEPARATORS for char in text)
    if not allowed or not any(char.isdigit() for char in text):
        raise TaxIdInvalid(
            f"{field} holds letters, digits, spaces, '-', '.' or '/' only, and a digit.",
            field=field,
        )
    return refuse_card_numbers(field, text)


def clean_processor_id(field: str, value: str) -> str:
    """A payment processor's id for a charge or debit (`ch_…`): one printable word, bounded.

    Not checked for card numbers: the processor makes these ids, and a random one may hold a
    run of digits that passes the Luhn check (about one in 300 of the simulator's). Text a
    person types, a bank transfer's reference included, goes through `clean_text`.
    """
    text = value.strip()
    if not text or not text.isprintable() or any(char.isspace() for char in text):
        raise InvalidValue(f"{field} is not a processor's id.", field=field)
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidValue(f"{field} has at most {TEXT_MAX_LENGTH} characters.", field=field)
    return text


def clean_email(field: str, value: str) -> str:
    """A plausible e-mail address (one @, a dot in the domain, no spaces), lower-cased domain."""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or any(c.isspace() for c in text)
        or not text.isprintable()
    ):
        raise InvalidValue(f"{field} is not an e-mail address.", field=field)
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidValue(f"{field} has at most {TEXT_MAX_LENGTH} characters.", field=field)
    return f"{local}@{domain.lower()}"


class Payer(StrEnum):
    """Who is invoiced for a line (R-O3, R-O4, R-C4)."""

    PARTNER = "partner"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class Location:
    """One of a client's places of business; per-location products bill one line each (R-O3)."""

    location_id: UUID
    name: str


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address for invoices (R-O1)."""

    lines: tuple[str, ...]
    city: str
    postal_code: str
    country: str
    """ISO 3166-1 alpha-2 code, upper case."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))

    @classmethod
    def of(
        cls, lines: list[str] | tuple[str, ...], city: str, postal_code: str, country: str
    ) -> Address:
        """A validated address."""
        cleaned = tuple(clean_text("address", line) for line in lines if line.strip())
        if not cleaned:
            raise InvalidValue("An address needs at least one line.", field="address")
        code = country.strip().upper()
        if len(code) != 2 or not code.isalpha() or not code.isascii():
            raise InvalidValue("country is an ISO 3166 two-letter code.", field="country")
        return cls(
            lines=cleaned,
            city=clean_text("city", city),
            postal_code=clean_text("postal_code", postal_code),
            country=code,
        )


class InvoiceLineKind(StrEnum):
    """What an invoice line charges for."""

    PRODUCT = "product"
    """A subscription product for a period: one line per location, or one per plan (R-O3)."""
    DISCOUNT = "discount"
    """The duration discount of a 12-month purchase, negative (R-C3)."""
    CARD_FEE = "card_fee"
    """The card processing fee passed on to the payer, as its own line (R-O7)."""
    LEAD = "lead"
    """One delivered lead at its price (R-L1)."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line of an invoice, with the amount already decided."""

    kind: InvoiceLineKind
    description: str | None = field(default=None, kw_only=True)
    """The English sentence lines carried before issue 17, kept in the events that have it
    (they still print it when they lack the facts below); a line recorded since stores none,
    and every reader words it from what it is (ledger/wording.py)."""
    amount: Money
    quantity: int = 1
    product_code: str | None = None
    line_id: UUID | None = None
    """The subscription line this charge is for."""
    location: Location | None = None
    period: BillingPeriod | None = None
    lead_id: UUID | None = None
    price_version: str | None = None
    """The catalogue price a product or lead line was priced at (`pos-location@USD/v2`); None
    on the other kinds, on product and lead lines invoiced before price versions
    ("unversioned"), and on a lead whose price its request set (`PRICE_SET_ON_LEAD`)."""
    price_override: str | None = None
    """What overrode the catalogue price, if anything: the partner's override (`10 % off`),
    or `PRICE_SET_ON_LEAD` for a lead its request priced."""
    policy_version: int | None = None
    """The billing policy version whose rate made a discount line (R-C3, issue 13); None on
    the other kinds and on discount lines invoiced before it was recorded."""
    rate: Decimal | None = None
    """The rate a discount or card-fee line was made at (0.10 is 10 %, R-C3, R-O7), so a
    document says what the line is in its own language (issue 17); None on the other kinds and
    on lines invoiced before it was recorded, which print their stored description."""
    term_months: int | None = None
    """The term a duration discount was given for (R-C3); None otherwise and before issue 17."""


PRICE_SET_ON_LEAD = "price set on the lead"
"""The override a lead priced by its own request names: no catalogue version priced it."""


def bonus_wallet_id(partner_id: UUID) -> UUID:
    """The id of a partner's one bonus wallet, derived so it needs no lookup (R-C5)."""
    return uuid5(LEDGERLINE_NAMESPACE, f"bonus-wallet/{partner_id}")


@dataclass(frozen=True)
class Actor:
    """Who issues a command: the vendor (every account is its own to act on) or one partner,
    which acts on its own account, clients, lines and invoices only.

    A partner acting on another partner's resource is answered as if the resource did not
    exist (the not-found refusal of the resource), so that ids of other partners' resources
    cannot be probed.
    """

    partner_id: UUID | None = None
    """The partner acting; None for the vendor (an admin, the billing clock, the CLI)."""

    def may_act_for(self, owner_id: UUID | None) -> bool:
        """Whether this actor may act on what belongs to `owner_id`."""
        return self.partner_id is None or self.partner_id == owner_id


VENDOR = Actor()
"""The vendor: an admin key, the billing clock, the command line."""

"""Payment methods (R-O1, R-C2, R-X4): how a partner pays, and card and bank data kept safe.

Raw card and bank details are validated here, handed to the payment gateway and forgotten;
only the gateway's token and safe display data (brand, last 4, expiry, routing number) are
ever stored. Nothing in this module echoes a card number, CVV or account number: not in a
repr, not in a refusal's detail, not in its fields.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal, TypeAlias

from domain.errors import (
    AccountNumberInvalid,
    CardExpired,
    CardInvalid,
    CardNumberInText,
    CvvInvalid,
    InvalidValue,
    RoutingNumberInvalid,
)
from domain.text import printable_text

CARD_NUMBER_MIN_DIGITS = 12
"""The shortest card numbers in circulation (some Maestro cards) have 12 digits."""
CARD_NUMBER_MAX_DIGITS = 19
"""ISO/IEC 7812 allows at most 19 digits in a card number."""
TEXT_CARD_NUMBER_MIN_DIGITS = 13
"""The shortest numbers the major brands issue; shorter runs are order and phone numbers."""
CVV_DIGITS = 3
"""The security code on the back of most cards."""
AMEX_CVV_DIGITS = 4
"""American Express prints a 4-digit code (CID) on the front."""
TWO_DIGIT_YEAR_CENTURY = 2000
"""A card's "MM/YY" year is in this century: cards last years, not decades."""
EXPIRY_MAX_YEARS_AHEAD = 20
"""Issuers print expiries at most about 10 years ahead; a later year is a typo ("2205")."""
ROUTING_NUMBER_DIGITS = 9
"""An ABA routing number is always 9 digits, the last one a check digit."""
ROUTING_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)
"""The ABA checksum weights: the weighted digit sum is a multiple of 10."""
ACCOUNT_NUMBER_MIN_DIGITS = 4
"""Shorter than any US bank account number; catches a half-typed number."""
ACCOUNT_NUMBER_MAX_DIGITS = 17
"""The NACHA account number field holds 17 characters."""
POSTAL_CODE_MAX_LENGTH = 10
"""Fits the longest common format, a US ZIP+4 ("12345-6789")."""
NAME_MAX_LENGTH = 200
"""Long enough for any legal name; short enough to print on a receipt."""
CARD_GROUP_MIN_DIGITS = 3
"""Printed card numbers group their digits by 4 (Amex 4-6-5): never by 1 or 2."""
CARD_SEPARATOR_MAX_CHARS = 3
"""Between two digit groups of a card number written in text: one mark ("4242.4242"), a mark
with a space each side ("4242 - 4242") or up to three letters ("4242x4242"). A longer gap is a
word between two numbers ("1234 and 5678"), not one number."""
LAST_DIGITS_SHOWN = 4
"""Card and account numbers are shown by their last 4 digits only (R-X4)."""

_NUMBER_SEPARATORS = str.maketrans("", "", " -")
_POSTAL_CODE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 -]*[A-Za-z0-9])?")

# Digit groups joined by separators: spaces, dashes of any kind, dots, slashes, underscores and
# letters (`[^\W\d_]`); `\d` also sees non-ASCII digits.
_CARD_SEPARATOR = r"(?:[\s\-\u2010-\u2015\u2212./_]|[^\W\d_])"
_DIGIT_RUN = re.compile(rf"\d+(?:{_CARD_SEPARATOR}{{1,{CARD_SEPARATOR_MAX_CHARS}}}\d+)*")


class PaymentSource(StrEnum):
    """Where the money for a payment comes from (R-C2, R-E2, R-H2)."""

    CARD = "card"
    DIRECT_DEBIT = "direct_debit"  # ACH in the US
    BANK_TRANSFER = "bank_transfer"  # paying a bank invoice (R-C2 "by bank invoice")
    COMPANY_BALANCE = "company_balance"  # the partner's prepaid balance (R-C2)
    BONUS = "bonus"  # the partner's bonus wallet (R-C2, R-C5)
    CASH = "cash"
    CHEQUE = "cheque"
    OTHER = "other"

    @property
    def is_offline(self) -> bool:
        """Collected outside Ledgerline, so overdue when not collected by the due date (R-H2)."""
        return self in _OFFLINE

    @property
    def is_refundable(self) -> bool:
        """Refundable through the plan; offline payments and bonuses are not (R-H6)."""
        return self in _REFUNDABLE

    @property
    def allows_closing_document(self) -> bool:
        """A paid line may get a closing document; never for bonuses or offline money (R-C7)."""
        return self in _CLOSING_DOCUMENT

    @property
    def is_confirmed_by_vendor(self) -> bool:
        """Money the vendor receives outside the gateway: it pays only once the vendor
        confirms it arrived; a payer may only announce it (R-C2, R-H2)."""
        return self in _CONFIRMED_BY_VENDOR

    @property
    def is_gateway(self) -> bool:
        """Charged through the payment gateway."""
        return self in _GATEWAY


_OFFLINE = frozenset({PaymentSource.CASH, PaymentSource.CHEQUE, PaymentSource.OTHER})
# Money that reached the vendor through a bank, a card or the prepaid balance.
_BANK_OR_CARD = frozenset(PaymentSource) - _OFFLINE - {PaymentSource.BONUS}
_REFUNDABLE = _BANK_OR_CARD
_CLOSING_DOCUMENT = _BANK_OR_CARD
_GATEWAY = frozenset({PaymentSource.CARD, PaymentSource.DIRECT_DEBIT})
_CONFIRMED_BY_VENDOR = _OFFLINE | {PaymentSource.BANK_TRANSFER}

AUTOPAY_SOURCES = frozenset(
    {
        PaymentSource.CARD,
        PaymentSource.DIRECT_DEBIT,
        PaymentSource.COMPANY_BALANCE,
        PaymentSource.BANK_TRANSFER,
    }
)
"""R-C6: autopay from the company balance, by card (or its ACH sibling), or by invoice; the
article offers no autopay with bonuses."""


class CardBrand(StrEnum):
    """The card network, known from the number's first digits (its IIN)."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"
    UNKNOWN = "unknown"


# (prefix length, lowest prefix, highest prefix, brand); the ranges do not overlap.
_IIN_RANGES: tuple[tuple[int, int, int, CardBrand], ...] = (
    (1, 4, 4, CardBrand.VISA),
    (2, 51, 55, CardBrand.MASTERCARD),
    (4, 2221, 2720, CardBrand.MASTERCARD),
    (2, 34, 34, CardBrand.AMEX),
    (2, 37, 37, CardBrand.AMEX),
    (4, 6011, 6011, CardBrand.DISCOVER),
    (3, 644, 649, CardBrand.DISCOVER),
    (2, 65, 65, CardBrand.DISCOVER),
    (3, 300, 305, CardBrand.DINERS),
    (2, 36, 36, CardBrand.DINERS),
    (2, 38, 39, CardBrand.DINERS),
    (4, 3528, 3589, CardBrand.JCB),
    (2, 62, 62, CardBrand.UNIONPAY),
)


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _luhn_sum(digits: str) -> int:
    """The Luhn sum: every second digit from the right is doubled, its digits added."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check that every card number carries."""
    return _is_ascii_digits(digits) and _luhn_sum(digits) % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that, appended to the payload, makes it pass the Luhn check."""
    if not _is_ascii_digits(payload):
        raise ValueError("a Luhn payload is ASCII digits")
    return str(-_luhn_sum(payload + "0") % 10)


def aba_routing_valid(routing_number: str) -> bool:
    """Whether a routing number is 9 ASCII digits that pass the ABA checksum."""
    if len(routing_number) != ROUTING_NUMBER_DIGITS or not _is_ascii_digits(routing_number):
        return False
    weighted = sum(w * int(d) for w, d in zip(ROUTING_WEIGHTS, routing_number, strict=True))
    return weighted % 10 == 0


def card_brand(number: str) -> CardBrand:
    """The brand of a card number (separators allowed), from its IIN; UNKNOWN if none fits."""
    digits = number.translate(_NUMBER_SEPARATORS).strip()
    for length, low, high, brand in _IIN_RANGES:
        prefix = digits[:length]
        if len(prefix) == length and _is_ascii_digits(prefix) and low <= int(prefix) <= high:
            return brand
    return CardBrand.UNKNOWN


def _last4(number: str) -> str:
    return "".join(char for char in number if char in "0123456789")[-LAST_DIGITS_SHOWN:]


def _expired(month: int, year: int, today: date) -> bool:
    """A card is good through the last day of its expiry month."""
    return today > date(year, month, calendar.monthrange(year, month)[1])


def _clean_name(field: str, name: str, what: str) -> str:
    """A name with its whitespace collapsed, refused when empty, too long, not printable or
    hiding a card."""
    clean = printable_text(field, name)
    if not clean:
        raise InvalidValue(f"The {what} is required.", field=field)
    if len(clean) > NAME_MAX_LENGTH:
        raise InvalidValue(f"The {what} has at most {NAME_MAX_LENGTH} characters.", field=field)
    return refuse_card_numbers(field, clean)


def four_digit_year(year: int) -> int:
    """A card's expiry year in 4 digits: "MM/YY" is read in this century (any other year is
    left as typed, for the checks to judge)."""
    return year + TWO_DIGIT_YEAR_CENTURY if 0 <= year <= 99 else year


def _check_expiry(month: int, year: int, today: date) -> int:
    """The expiry year in 4 digits, or a refusal of a month or year that cannot be."""
    if type(month) is not int or type(year) is not int:
        raise TypeError("expiry month and year are ints")
    if not 1 <= month <= 12:
        raise InvalidValue("The expiry month must be 1 to 12.", field="expiry")
    year = four_digit_year(year)
    if not 1000 <= year <= 9999:
        raise InvalidValue("The expiry year must have 2 or 4 digits.", field="expiry")
    if year > today.year + EXPIRY_MAX_YEARS_AHEAD:
        raise InvalidValue(
            f"The expiry year is more than {EXPIRY_MAX_YEARS_AHEAD} years ahead.", field="expiry"
        )
    return year


def _check_card_number(number: str) -> str:
    """The number's digits, or a refusal that says why (never which digits)."""
    digits = number.translate(_NUMBER_SEPARATORS).strip()
    if not _is_ascii_digits(digits):
        raise CardInvalid("A card number has only digits, spaces and dashes.", reason="digits")
    if not CARD_NUMBER_MIN_DIGITS <= len(digits) <= CARD_NUMBER_MAX_DIGITS:
        raise CardInvalid(
            f"A card number has {CARD_NUMBER_MIN_DIGITS} to {CARD_NUMBER_MAX_DIGITS} digits.",
            reason="length",
        )
    if not luhn_valid(digits):
        raise CardInvalid(
            "The card number fails its check digit (Luhn): probably a typo.",
            reason="luhn",
            last4=_last4(digits),
        )
    return digits


def _check_cvv(cvv: str, brand: CardBrand) -> str:
    """The security code, 4 digits for American Express and 3 for the others, or a refusal."""
    clean = cvv.strip()
    digits = AMEX_CVV_DIGITS if brand is CardBrand.AMEX else CVV_DIGITS
    if len(clean) != digits or not _is_ascii_digits(clean):
        raise CvvInvalid(
            f"The security code has {digits} digits on this card ({brand}).",
            brand=str(brand),
            expected_digits=digits,
        )
    return clean


def _check_postal_code(postal_code: str) -> str:
    """The postal code without surrounding spaces, or a refusal."""
    clean = postal_code.strip()
    if len(clean) > POSTAL_CODE_MAX_LENGTH or not _POSTAL_CODE.fullmatch(clean):
        raise InvalidValue(
            f"A postal code has 1 to {POSTAL_CODE_MAX_LENGTH} letters, digits, spaces or dashes.",
            field="postal_code",
        )
    return clean


@dataclass(frozen=True, slots=True, repr=False)
class CardDetails:
    """Raw card data as typed by a person: validated, handed to the gateway, never stored (R-X4)."""

    number: str
    expiry_month: int
    expiry_year: int
    holder: str
    cvv: str
    postal_code: str

    def validated(self, today: date) -> CardDetails:
        """A normalised copy (number in bare digits, 4-digit year), or a refusal (R-O1, R-X4)."""
        digits = _check_card_number(self.number)
        year = _check_expiry(self.expiry_month, self.expiry_year, today)
        if _expired(self.expiry_month, year, today):
            raise CardExpired(
                f"The card ending {_last4(digits)} expired at the end of "
                f"{self.expiry_month:02d}/{year}.",
                last4=_last4(digits),
                expiry_month=self.expiry_month,
                expiry_year=year,
            )
        cvv = _check_cvv(self.cvv, card_brand(digits))
        postal_code = _check_postal_code(self.postal_code)
        holder = _clean_name("holder", self.holder, "cardholder's name")
        return replace(
            self, number=digits, expiry_year=year, holder=holder, cvv=cvv, postal_code=postal_code
        )

    @property
    def brand(self) -> CardBrand:
        return card_brand(self.number)

    @property
    def last4(self) -> str:
        return _last4(self.number)

    def __repr__(self) -> str:
        return f"CardDetails(brand={self.brand.value!r}, last4={self.last4!r})"

    def __str__(self) -> str:
        return f"{self.brand.value} card ending {self.last4}"


@dataclass(frozen=True, slots=True)
class CardToken:
    """A card as Ledgerline keeps it: the gateway's token and safe display data (R-X4)."""

    source: ClassVar[PaymentSource] = PaymentSource.CARD

    token: str
    brand: CardBrand
    last4: str
    expiry_month: int
    expiry_year: int
    holder: str

    def __post_init__(self) -> None:
        # Programmer errors, not refusals: the values come from validated details and the
        # gateway. The messages never echo a value, in case a whole card number was passed.
        if not self.token:
            raise ValueError("a card token is not empty")
        if len(self.last4) != LAST_DIGITS_SHOWN or not _is_ascii_digits(self.last4):
            raise ValueError("last4 is exactly 4 digits")
        if not 1 <= self.expiry_month <= 12 or not 1000 <= self.expiry_year <= 9999:
            raise ValueError("a card token's expiry is a month 1..12 and a 4-digit year")

    @classmethod
    def for_card(cls, token: str, details: CardDetails) -> CardToken:
        """What to keep of validated card details once the gateway has tokenised them."""
        return cls(
            token=token,
            brand=details.brand,
            last4=details.last4,
            expiry_month=details.expiry_month,
            expiry_year=details.expiry_year,
            holder=details.holder,
        )

    def is_expired(self, today: date) -> bool:
        """Whether today is after the last day of the card's expiry month."""
        return _expired(self.expiry_month, self.expiry_year, today)


def refuse_expired(card: CardToken, today: date) -> None:
    """Refuse a stored card whose expiry month has passed (R-X4, R-L5)."""
    if card.is_expired(today):
        raise CardExpired(
            f"The card ending {card.last4} expired at the end of "
            f"{card.expiry_month:02d}/{card.expiry_year}.",
            last4=card.last4,
            expiry_month=card.expiry_month,
            expiry_year=card.expiry_year,
        )


@dataclass(frozen=True, slots=True, repr=False)
class BankAccountDetails:
    """Raw bank account data for ACH: validated, handed to the gateway, never stored (R-X4)."""

    routing_number: str
    account_number: str
    name_on_account: str

    def validated(self) -> BankAccountDetails:
        """A normalised copy (bare digits, name's whitespace collapsed), or a refusal (R-O1)."""
        # Neither number is echoed back: a routing number typed in the wrong box may be an
        # account number.
        routing = self.routing_number.translate(_NUMBER_SEPARATORS).strip()
        if not _is_ascii_digits(routing):
            raise RoutingNumberInvalid("A routing number has only digits.", reason="digits")
        if len(routing) != ROUTING_NUMBER_DIGITS:
            raise RoutingNumberInvalid(
                f"A routing number has exactly {ROUTING_NUMBER_DIGITS} digits.", reason="length"
            )
        if not aba_routing_valid(routing):
            raise RoutingNumberInvalid(
                "The routing number fails its ABA checksum: probably a typo.", reason="checksum"
            )
        account = self.account_number.translate(_NUMBER_SEPARATORS).strip()
        if not _is_ascii_digits(account):
            raise AccountNumberInvalid("An account number has only digits.", reason="digits")
        if not ACCOUNT_NUMBER_MIN_DIGITS <= len(account) <= ACCOUNT_NUMBER_MAX_DIGITS:
            raise AccountNumberInvalid(
                f"An account number has {ACCOUNT_NUMBER_MIN_DIGITS} to "
                f"{ACCOUNT_NUMBER_MAX_DIGITS} digits.",
                reason="length",
            )
        name = _clean_name("name_on_account", self.name_on_account, "name on the account")
        return replace(self, routing_number=routing, account_number=account, name_on_account=name)

    @property
    def last4(self) -> str:
        return _last4(self.account_number)

    def __repr__(self) -> str:
        return f"BankAccountDetails(last4={self.last4!r})"

    def __str__(self) -> str:
        return f"bank account ending {self.last4}"


@dataclass(frozen=True, slots=True)
class BankAccountToken:
    """A bank account as kept: token, last 4, a routing number that passed its checksum (R-X4)."""

    source: ClassVar[PaymentSource] = PaymentSource.DIRECT_DEBIT

    token: str
    last4: str
    routing_number: str
    name_on_account: str

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("a bank account token is not empty")
        if len(self.last4) != LAST_DIGITS_SHOWN or not _is_ascii_digits(self.last4):
            raise ValueError("last4 is exactly 4 digits")
        if not aba_routing_valid(self.routing_number):
            raise ValueError("a bank account token keeps a routing number that passed its checksum")

    @classmethod
    def for_account(cls, token: str, details: BankAccountDetails) -> BankAccountToken:
        """What to keep of validated bank details once the gateway has tokenised them."""
        return cls(
            token=token,
            last4=details.last4,
            routing_number=details.routing_number,
            name_on_account=details.name_on_account,
        )


PaymentMethod: TypeAlias = CardToken | BankAccountToken


@dataclass(frozen=True, slots=True)
class MethodSummary:
    """A payment method as it may be shown and compared (R-X4): brand, last 4 and expiry of a
    card; routing number and last 4 of a bank account; never a whole number or a CVV.

    Made alike from what a person asked to keep (`requested`) and from the method kept (`of`).
    """

    kind: Literal["card", "ach"]
    last4: str
    brand: CardBrand | None = None
    expiry_month: int | None = None
    expiry_year: int | None = None
    routing_number: str | None = None

    @classmethod
    def of(
        cls, method: CardDetails | BankAccountDetails | CardToken | BankAccountToken
    ) -> MethodSummary:
        """The summary of typed details (a card's year in 4 digits) or of a kept method."""
        if isinstance(method, CardDetails | CardToken):
            return cls(
                kind="card",
                last4=method.last4,
                brand=method.brand,
                expiry_month=method.expiry_month,
                expiry_year=four_digit_year(method.expiry_year),
            )
        return cls(kind="ach", last4=method.last4, routing_number=method.routing_number)

    @classmethod
    def requested(cls, details: CardDetails | BankAccountDetails) -> MethodSummary:
        """What identifies a request to keep a method: a card's before its checks (the expiry
        check depends on the day, and a retry after the month turned still names the same
        card); a bank account's once checked (no day matters), so only digits are compared."""
        if isinstance(details, BankAccountDetails):
            return cls.of(details.validated())
        return cls.of(details)

    def as_data(self) -> dict[str, str | int | None]:
        """The summary as JSON data (an answer recorded with its command)."""
        return {
            "kind": self.kind,
            "last4": self.last4,
            "brand": self.brand.value if self.brand is not None else None,
            "expiry_month": self.expiry_month,
            "expiry_year": self.expiry_year,
            "routing_number": self.routing_number,
        }


"""A stored payment method, as aggregates hold it (R-O1, R-O6)."""


def _digits_of(run: str) -> list[str]:
    """The digit groups of a run, every digit made ASCII (full-width and other scripts too)."""
    groups = re.split(r"\D+", run)
    return ["".join(str(unicodedata.decimal(char)) for char in group) for group in groups]


def contains_card_number(text: str) -> bool:
    """Whether the text holds what looks like a card number: 13 to 19 digits passing Luhn (R-X4).

    The digits may be split into groups by spaces, dashes, dots, slashes, underscores or letters
    ("4242 4242 4242 4242", "4242.4242/4242_4242", "4242x4242x4242x4242"), up to
    `CARD_SEPARATOR_MAX_CHARS` between two groups.
    Within a longer run of groups, every stretch of whole groups is tried, so a card number
    next to an order number or an expiry is still found. Cards print their digits in groups
    of three or more, so a stretch with a shorter group (a date, "2026-01-01") is not one.
    """
    for match in _DIGIT_RUN.finditer(text):
        groups = _digits_of(match.group())
        for start in range(len(groups)):
            digits = ""
            for count, group in enumerate(groups[start:], 1):
                if count > 1 and min(len(group), len(groups[start])) < CARD_GROUP_MIN_DIGITS:
                    break
                digits += group
                if len(digits) > CARD_NUMBER_MAX_DIGITS:
                    break
                if len(digits) >= TEXT_CARD_NUMBER_MIN_DIGITS and luhn_valid(digits):
                    return True
    return False


def refuse_card_numbers(field: str, text: str) -> str:
    """The text, unless it holds a card number, which must never reach the event store (R-X4)."""
    if contains_card_number(text):
        raise CardNumberInText(
            f"The {field} seems to hold a card number; card numbers are never stored.",
            field=field,
        )
    return text

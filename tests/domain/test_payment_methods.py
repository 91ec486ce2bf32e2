"""Payment methods: where money comes from (R-C2, R-C7, R-H2, R-H6), card and bank data (R-X4)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import (
    AccountNumberInvalid,
    BillingError,
    CardExpired,
    CardInvalid,
    CardNumberInText,
    CvvInvalid,
    InvalidValue,
    Refusal,
    RoutingNumberInvalid,
)
from domain.payment_methods import (
    BankAccountDetails,
    BankAccountToken,
    CardBrand,
    CardDetails,
    CardToken,
    PaymentMethod,
    PaymentSource,
    aba_routing_valid,
    card_brand,
    contains_card_number,
    luhn_check_digit,
    luhn_valid,
    refuse_card_numbers,
)

TODAY = date(2026, 3, 15)
VISA = "4242424242424242"
AMEX = "378282246310005"
ACCOUNT = "000123456789"
ROUTING = "011000015"
DIGITS = "0123456789"
A_CARD = CardDetails(VISA, 12, 2030, "Jane Doe", "918", "94103")
FULL_WIDTH_VISA = VISA.translate({ord(digit): 0xFF10 + int(digit) for digit in DIGITS})


def card(**overrides: Any) -> CardDetails:
    return dataclasses.replace(A_CARD, **overrides)


def bank(**overrides: str) -> BankAccountDetails:
    fields = {"routing_number": ROUTING, "account_number": ACCOUNT, "name_on_account": "Acme LLC"}
    fields.update(overrides)
    return BankAccountDetails(**fields)


def everything_said(error: BillingError) -> str:
    """All an error tells its reader: detail, str, repr and every structured field."""
    said = [error.detail, str(error), repr(error), *map(str, error.fields.values())]
    text = " ".join(said)
    return text + " " + text.replace(" ", "").replace("-", "")


def with_check_digit(payload: str) -> str:
    return payload + luhn_check_digit(payload)


def change_digit(digits: str, index: int, by: int = 1) -> str:
    return digits[:index] + str((int(digits[index]) + by) % 10) + digits[index + 1 :]


# --- Where the money comes from (R-C2, R-C7, R-H2, R-H6) ----------------------------------


def test_r_c2_every_way_to_pay_is_a_source() -> None:
    assert {source.value for source in PaymentSource} == {
        "card",
        "direct_debit",
        "bank_transfer",
        "company_balance",
        "bonus",
        "cash",
        "cheque",
        "other",
    }


def test_r_h2_cash_cheque_and_other_are_offline() -> None:
    offline = {source for source in PaymentSource if source.is_offline}
    assert offline == {PaymentSource.CASH, PaymentSource.CHEQUE, PaymentSource.OTHER}


def test_r_h6_offline_sources_are_not_refundable() -> None:
    assert not any(source.is_refundable for source in PaymentSource if source.is_offline)


def test_r_h6_card_bank_and_balance_payments_are_refundable_but_bonuses_are_not() -> None:
    refundable = {source for source in PaymentSource if source.is_refundable}
    assert refundable == {
        PaymentSource.CARD,
        PaymentSource.DIRECT_DEBIT,
        PaymentSource.BANK_TRANSFER,
        PaymentSource.COMPANY_BALANCE,
    }
    assert not PaymentSource.BONUS.is_refundable


def test_r_c7_bonus_payments_get_no_closing_document() -> None:
    assert not PaymentSource.BONUS.allows_closing_document


def test_r_c7_invoice_card_balance_and_bank_payments_allow_a_closing_document() -> None:
    allowed = {source for source in PaymentSource if source.allows_closing_document}
    assert allowed == {
        PaymentSource.CARD,
        PaymentSource.BANK_TRANSFER,
        PaymentSource.COMPANY_BALANCE,
        PaymentSource.DIRECT_DEBIT,
    }
    assert not any(source.allows_closing_document for source in PaymentSource if source.is_offline)


def test_r_c2_only_cards_and_direct_debit_go_through_the_gateway() -> None:
    gateway = {source for source in PaymentSource if source.is_gateway}
    assert gateway == {PaymentSource.CARD, PaymentSource.DIRECT_DEBIT}
    assert {CardToken.source, BankAccountToken.source} == gateway


# --- Card numbers (R-O1, R-X4) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        (VISA, CardBrand.VISA),
        ("5555555555554444", CardBrand.MASTERCARD),
        ("2223003122003222", CardBrand.MASTERCARD),
        (AMEX, CardBrand.AMEX),
        ("6011111111111117", CardBrand.DISCOVER),
        ("3530111333300000", CardBrand.JCB),
        ("3056930009020004", CardBrand.DINERS),
        ("36227206271667", CardBrand.DINERS),
        ("6200000000000005", CardBrand.UNIONPAY),
    ],
)
def test_r_x4_well_known_test_numbers_validate_with_their_brand(
    number: str, brand: CardBrand
) -> None:
    cvv = "8765" if brand is CardBrand.AMEX else "918"
    details = card(number=number, cvv=cvv).validated(TODAY)
    assert (details.number, details.brand, details.last4) == (number, brand, number[-4:])


@pytest.mark.parametrize("index", [0, 5, 15])
def test_r_x4_card_number_is_checked_with_luhn(index: int) -> None:
    with pytest.raises(CardInvalid) as refused:
        card(number=change_digit(VISA, index)).validated(TODAY)
    assert refused.value.fields["reason"] == "luhn"
    assert refused.value.refusal is Refusal.INVALID


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (with_check_digit("4242424242"), "length"),
        (with_check_digit("4242424242424242424"), "length"),
        ("", "digits"),
        ("4242 4242 4242 424x", "digits"),
        ("4242/4242/4242/4242", "digits"),
        (FULL_WIDTH_VISA, "digits"),
    ],
)
def test_r_x4_card_numbers_of_wrong_length_or_with_letters_are_refused(
    number: str, reason: str
) -> None:
    with pytest.raises(CardInvalid) as refused:
        card(number=number).validated(TODAY)
    assert refused.value.fields["reason"] == reason


@pytest.mark.parametrize("length", [12, 19])
def test_r_x4_card_numbers_of_12_to_19_digits_are_accepted(length: int) -> None:
    number = with_check_digit("4" + "0" * (length - 2))
    assert card(number=number).validated(TODAY).number == number


@pytest.mark.parametrize(
    "typed", ["4242 4242 4242 4242", "4242-4242-4242-4242", " 42424242 42424242 "]
)
def test_r_o1_spaces_and_dashes_are_stripped_from_the_card_number(typed: str) -> None:
    assert card(number=typed).validated(TODAY).number == VISA


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("4", CardBrand.VISA),
        ("50", CardBrand.UNKNOWN),
        ("51", CardBrand.MASTERCARD),
        ("55", CardBrand.MASTERCARD),
        ("56", CardBrand.UNKNOWN),
        ("2220", CardBrand.UNKNOWN),
        ("2221", CardBrand.MASTERCARD),
        ("2720", CardBrand.MASTERCARD),
        ("2721", CardBrand.UNKNOWN),
        ("34", CardBrand.AMEX),
        ("37", CardBrand.AMEX),
        ("6011", CardBrand.DISCOVER),
        ("6012", CardBrand.UNKNOWN),
        ("643", CardBrand.UNKNOWN),
        ("644", CardBrand.DISCOVER),
        ("649", CardBrand.DISCOVER),
        ("65", CardBrand.DISCOVER),
        ("300", CardBrand.DINERS),
        ("305", CardBrand.DINERS),
        ("306", CardBrand.UNKNOWN),
        ("36", CardBrand.DINERS),
        ("38", CardBrand.DINERS),
        ("39", CardBrand.DINERS),
        ("3527", CardBrand.UNKNOWN),
        ("3528", CardBrand.JCB),
        ("3589", CardBrand.JCB),
        ("3590", CardBrand.UNKNOWN),
        ("62", CardBrand.UNIONPAY),
        ("1", CardBrand.UNKNOWN),
        ("9", CardBrand.UNKNOWN),
    ],
)
def test_r_x4_brand_comes_from_the_iin_ranges(prefix: str, brand: CardBrand) -> None:
    assert card_brand(prefix.ljust(16, "0")) is brand


# --- Expiry, CVV, holder and postal code (R-O1, R-X4) -------------------------------------


def test_r_x4_a_card_is_valid_through_the_last_day_of_its_expiry_month() -> None:
    march = card(expiry_month=3, expiry_year=2026)
    assert march.validated(date(2026, 3, 31)).expiry_year == 2026
    with pytest.raises(CardExpired) as refused:
        march.validated(date(2026, 4, 1))
    assert refused.value.fields == {"last4": "4242", "expiry_month": 3, "expiry_year": 2026}


def test_r_x4_a_february_card_in_a_leap_year_lasts_until_the_29th() -> None:
    february = card(expiry_month=2, expiry_year=2028)
    february.validated(date(2028, 2, 29))
    with pytest.raises(CardExpired):
        february.validated(date(2028, 3, 1))


def test_r_o1_a_two_digit_year_is_in_this_century() -> None:
    assert card(expiry_month=3, expiry_year=26).validated(date(2026, 3, 31)).expiry_year == 2026
    with pytest.raises(CardExpired):
        card(expiry_month=2, expiry_year=26).validated(date(2026, 3, 1))


@pytest.mark.parametrize(
    ("month", "year"), [(0, 2030), (13, 2030), (-1, 2030), (12, 203), (12, 20300), (12, 2047)]
)
def test_r_o1_an_impossible_expiry_is_refused(month: int, year: int) -> None:
    with pytest.raises(InvalidValue) as refused:
        card(expiry_month=month, expiry_year=year).validated(TODAY)
    assert refused.value.fields == {"field": "expiry"}


def test_r_o1_an_expiry_20_years_ahead_is_accepted() -> None:
    assert card(expiry_year=2046).validated(TODAY).expiry_year == 2046


@pytest.mark.parametrize(
    ("number", "cvv", "valid"),
    [
        (VISA, "918", True),
        (VISA, " 918 ", True),
        (VISA, "9187", False),
        (VISA, "91", False),
        (VISA, "9l8", False),
        (AMEX, "8765", True),
        (AMEX, "918", False),
        ("5555555555554444", "000", True),
    ],
)
def test_r_o1_cvv_has_3_digits_or_4_for_amex(number: str, cvv: str, valid: bool) -> None:
    if valid:
        assert card(number=number, cvv=cvv).validated(TODAY).cvv == cvv.strip()
    else:
        with pytest.raises(CvvInvalid) as refused:
            card(number=number, cvv=cvv).validated(TODAY)
        assert refused.value.fields["brand"] == card_brand(number).value


@pytest.mark.parametrize("holder", ["", "   ", "\t\n"])
def test_r_o1_a_card_needs_a_holder(holder: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        card(holder=holder).validated(TODAY)
    assert refused.value.fields == {"field": "holder"}


def test_r_o1_the_holder_name_is_tidied() -> None:
    assert card(holder="  Jane \t Doe ").validated(TODAY).holder == "Jane Doe"


@pytest.mark.parametrize("postal_code", ["94103", "12345-6789", "SW1A 1AA", "K1A 0B1", " 1010 "])
def test_r_o1_postal_codes_of_letters_digits_spaces_and_dashes_are_accepted(
    postal_code: str,
) -> None:
    assert card(postal_code=postal_code).validated(TODAY).postal_code == postal_code.strip()


@pytest.mark.parametrize("postal_code", ["", "   ", "12345678901", "94103!", "-9410", "941_03"])
def test_r_o1_other_postal_codes_are_refused(postal_code: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        card(postal_code=postal_code).validated(TODAY)
    assert refused.value.fields == {"field": "postal_code"}


# --- What is kept and what is said (R-X4) -------------------------------------------------


def test_r_x4_card_details_repr_and_str_show_only_brand_and_last4() -> None:
    for details in (card(), card(number="4242 4242 4242 4242"), card().validated(TODAY)):
        for shown in (repr(details), str(details), f"{details}", f"{[details]}"):
            assert VISA not in shown.replace(" ", "")
            assert "918" not in shown
            assert "4242" in shown
            assert "visa" in shown


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(card(number=change_digit(VISA, 3)), id="luhn"),
        pytest.param(card(number=VISA[:-1] + "x"), id="letter"),
        pytest.param(card(number=VISA + "4242"), id="too-long"),
        pytest.param(card(expiry_year=2025), id="expired"),
        pytest.param(card(expiry_month=13), id="month"),
        pytest.param(card(cvv="9180"), id="cvv"),
        pytest.param(card(number=AMEX, cvv="918"), id="amex-cvv"),
        pytest.param(card(postal_code="94103!!!!!!!"), id="postal-code"),
        pytest.param(card(holder=""), id="no-holder"),
        pytest.param(card(holder=f"Jane {VISA}"), id="number-as-holder"),
        pytest.param(card(holder="Jane 4242-4242-4242-4242"), id="grouped-number-as-holder"),
    ],
)
def test_r_x4_card_refusals_never_repeat_the_number_or_cvv(bad: CardDetails) -> None:
    with pytest.raises(BillingError) as refused:
        bad.validated(TODAY)
    said = everything_said(refused.value)
    for secret in (VISA, bad.number, AMEX, "918"):
        assert secret not in said


def test_r_x4_a_card_token_keeps_only_token_brand_last4_expiry_and_holder() -> None:
    details = card(number="5555 5555 5555 4444", expiry_year=29).validated(TODAY)
    token = CardToken.for_card("tok_1Abc", details)
    assert token == CardToken("tok_1Abc", CardBrand.MASTERCARD, "4444", 12, 2029, "Jane Doe")
    assert token.source is PaymentSource.CARD
    assert isinstance(token, PaymentMethod)
    assert {field.name for field in dataclasses.fields(CardToken)} == {
        "token",
        "brand",
        "last4",
        "expiry_month",
        "expiry_year",
        "holder",
    }


@pytest.mark.parametrize("last4", [VISA, "424", "42a2", ""])
def test_r_x4_a_card_token_refuses_anything_but_4_digits_as_last4(last4: str) -> None:
    with pytest.raises(ValueError, match="last4") as refused:
        CardToken("tok_1", CardBrand.VISA, last4, 12, 2030, "Jane Doe")
    assert VISA not in str(refused.value)


def test_r_h4_a_stored_card_expires_after_the_last_day_of_its_month() -> None:
    token = CardToken("tok_1", CardBrand.VISA, "4242", 2, 2028, "Jane Doe")
    assert not token.is_expired(date(2028, 2, 29))
    assert token.is_expired(date(2028, 3, 1))


# --- Bank accounts for ACH (R-O1, R-X4) ---------------------------------------------------


@pytest.mark.parametrize("routing", ["011000015", "021000021", "111000025", "122105155"])
def test_r_o1_ach_routing_number_checksum(routing: str) -> None:
    assert aba_routing_valid(routing)
    assert bank(routing_number=routing).validated().routing_number == routing
    for index in range(len(routing)):
        changed = change_digit(routing, index)
        assert not aba_routing_valid(changed)
        with pytest.raises(RoutingNumberInvalid) as refused:
            bank(routing_number=changed).validated()
        assert refused.value.fields == {"reason": "checksum"}


@pytest.mark.parametrize(
    ("routing", "reason"),
    [("01100001", "length"), ("0110000150", "length"), ("", "digits"), ("01100001O", "digits")],
)
def test_r_o1_a_routing_number_has_exactly_9_digits(routing: str, reason: str) -> None:
    assert not aba_routing_valid(routing)
    with pytest.raises(RoutingNumberInvalid) as refused:
        bank(routing_number=routing).validated()
    assert refused.value.fields == {"reason": reason}


@pytest.mark.parametrize("length", [4, 17])
def test_r_o1_account_numbers_of_4_to_17_digits_are_accepted(length: int) -> None:
    account = "9" * length
    assert bank(account_number=account).validated().account_number == account


@pytest.mark.parametrize(
    ("account", "reason"),
    [("999", "length"), ("9" * 18, "length"), ("", "digits"), ("12345678x", "digits")],
)
def test_r_o1_other_account_numbers_are_refused(account: str, reason: str) -> None:
    with pytest.raises(AccountNumberInvalid) as refused:
        bank(account_number=account).validated()
    assert refused.value.fields == {"reason": reason}


def test_r_o1_bank_details_are_normalised() -> None:
    typed = bank(
        routing_number=" 011-000-015 ",
        account_number="0001 2345 6789",
        name_on_account=" Acme  LLC",
    )
    assert typed.validated() == bank()


def test_r_o1_a_bank_account_needs_a_name() -> None:
    with pytest.raises(InvalidValue) as refused:
        bank(name_on_account="  ").validated()
    assert refused.value.fields == {"field": "name_on_account"}


def test_r_x4_bank_details_repr_and_str_show_only_the_last4() -> None:
    for details in (bank(), bank().validated()):
        for shown in (repr(details), str(details), f"{[details]}"):
            assert ACCOUNT not in shown
            assert ROUTING not in shown
            assert "6789" in shown


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(bank(routing_number=change_digit(ROUTING, 2)), id="checksum"),
        pytest.param(bank(routing_number=ACCOUNT), id="account-in-routing-box"),
        pytest.param(bank(account_number=ACCOUNT + "x"), id="letter"),
        pytest.param(bank(account_number=ACCOUNT * 2), id="too-long"),
        pytest.param(bank(name_on_account=""), id="no-name"),
    ],
)
def test_r_x4_bank_refusals_never_repeat_the_numbers(bad: BankAccountDetails) -> None:
    with pytest.raises(BillingError) as refused:
        bad.validated()
    said = everything_said(refused.value)
    for secret in (ACCOUNT, bad.account_number, bad.routing_number):
        assert secret not in said


def test_r_x4_a_bank_token_keeps_token_last4_checked_routing_number_and_name() -> None:
    token = BankAccountToken.for_account("ba_1Abc", bank().validated())
    assert token == BankAccountToken("ba_1Abc", "6789", ROUTING, "Acme LLC")
    assert token.source is PaymentSource.DIRECT_DEBIT
    assert isinstance(token, PaymentMethod)
    with pytest.raises(ValueError, match="routing"):
        BankAccountToken("ba_1", "6789", change_digit(ROUTING, 0), "Acme LLC")
    with pytest.raises(ValueError, match="last4") as refused:
        BankAccountToken("ba_1", ACCOUNT, ROUTING, "Acme LLC")
    assert ACCOUNT not in str(refused.value)


# --- Card numbers in free text (R-X4) -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "please charge 4242 4242 4242 4242 today",
        "card:4242-4242-4242-4242.",
        "4242424242424242",
        "ref 12345 4242 4242 4242 4242 exp 12/30",
        "Amex 3782 822463 10005",
        f"full width {FULL_WIDTH_VISA}",
        "4242\u00a04242\u00a04242\u00a04242",
        "card 4242.4242.4242.4242 exp 12/30",
        "4242/4242/4242/4242",
        "4242_4242_4242_4242",
        "4242x4242x4242x4242",
        "4242 o 4242 o 4242 o 4242",
        "4242abc4242abc4242abc4242",
        "4242 - 4242 - 4242 - 4242",
        "Amex 3782.822463.10005",
        "Amex 3782/822463/10005",
        "4242.4242-4242_4242",
    ],
)
def test_r_x4_contains_card_number_finds_card_numbers_in_text(text: str) -> None:
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "INV-2026-000123",
        "call +49 30 1234 5678 90",
        "4242 4242 4242 4241",
        "424242424242",
        "Paid 1,234.56 USD on 2026-01-31 for 12 locations",
        "Bezahlt 1.234,56 EUR am 31.01.2026",
        "Invoices INV-2026-000001 and INV-2026-000002",
        "INV/2026/000123 of 2026/01/31",
        "INV_2026_000123",
        "call +1 (415) 555-0132 or +44 20 7946 0958",
        "tel. 415.555.0132",
        "Order 12345678 of 01.02.2026, 10 x 4242",
        "v2026.01.31-build.1234",
    ],
)
def test_r_x4_contains_card_number_leaves_other_numbers_alone(text: str) -> None:
    assert not contains_card_number(text)


def test_r_x4_the_phone_number_example_fails_luhn() -> None:
    assert not luhn_valid("49301234567890")


def test_r_x4_refuse_card_numbers_returns_clean_text_and_refuses_the_rest() -> None:
    assert refuse_card_numbers("memo", "Order INV-2026-000123") == "Order INV-2026-000123"
    with pytest.raises(CardNumberInText) as refused:
        refuse_card_numbers("memo", "card 4242-4242-4242-4242 exp 12/30")
    assert refused.value.code == "card_number_in_text"
    assert refused.value.fields == {"field": "memo"}
    assert VISA not in everything_said(refused.value)


# --- Properties ---------------------------------------------------------------------------

payloads = st.text(alphabet=DIGITS, min_size=11, max_size=18)
card_numbers = st.text(alphabet=DIGITS, min_size=12, max_size=18).map(with_check_digit)
separators = st.sampled_from([" ", "-", ".", "/", "_", "\u2013", " - ", "x", " x ", "abc"])


@given(payloads)
def test_r_x4_exactly_one_check_digit_completes_any_payload(payload: str) -> None:
    completing = [digit for digit in DIGITS if luhn_valid(payload + digit)]
    assert completing == [luhn_check_digit(payload)]


@given(card_numbers, st.data())
def test_r_x4_luhn_catches_any_single_digit_change(number: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(number) - 1))
    by = data.draw(st.integers(1, 9))
    assert luhn_valid(number)
    assert not luhn_valid(change_digit(number, index, by))


@given(st.text(alphabet=DIGITS, min_size=8, max_size=8), st.data())
def test_r_o1_aba_checksum_has_one_check_digit_and_catches_any_single_digit_change(
    first8: str, data: st.DataObject
) -> None:
    completing = [first8 + digit for digit in DIGITS if aba_routing_valid(first8 + digit)]
    assert len(completing) == 1
    [routing] = completing
    index = data.draw(st.integers(0, 8))
    by = data.draw(st.integers(1, 9))
    assert not aba_routing_valid(change_digit(routing, index, by))


letters = st.text(st.characters(categories=["L"]), max_size=20)


@given(letters, card_numbers, letters)
def test_r_x4_contains_card_number_finds_any_valid_number_among_letters(
    before: str, number: str, after: str
) -> None:
    assert contains_card_number(before + number + after)


@given(card_numbers, st.data())
def test_r_x4_contains_card_number_finds_any_valid_number_however_grouped(
    number: str, data: st.DataObject
) -> None:
    # Printed card numbers group their digits by three or more (4-4-4-4, Amex 4-6-5).
    drawn = sorted(data.draw(st.sets(st.integers(3, len(number) - 3), max_size=6)))
    cuts: list[int] = []
    for cut in drawn:
        if cut - (cuts[-1] if cuts else 0) >= 3:
            cuts.append(cut)
    groups = [
        number[start:end] for start, end in zip([0, *cuts], [*cuts, len(number)], strict=True)
    ]
    grouped = groups[0] + "".join(data.draw(separators) + group for group in groups[1:])
    assert contains_card_number(f"paid with {grouped} on Friday")


@given(card_numbers)
def test_r_x4_no_valid_card_shows_its_number(number: str) -> None:
    details = card(number=number)
    assert number not in repr(details) + str(details)


@pytest.mark.parametrize(
    "text",
    [
        "Credit for 2026-01-01 2026-01-31",
        "Period 2025-12-01 - 2026-12-01",
        "Call 12-34-56-78-90-12-34-56",
    ],
)
def test_r_x4_dates_and_short_digit_groups_are_not_taken_for_card_numbers(text: str) -> None:
    assert not contains_card_number(text)


date_separators = st.sampled_from(["-", ".", "/", "_", " "])


@given(st.dates(), date_separators, st.sampled_from(["ymd", "dmy", "mdy"]))
def test_r_x4_a_date_however_written_is_not_taken_for_a_card_number(
    day: date, separator: str, order: str
) -> None:
    parts = {"y": f"{day.year:04}", "m": f"{day.month:02}", "d": f"{day.day:02}"}
    written = separator.join(parts[part] for part in order)
    assert not contains_card_number(f"due {written} and {written}")


@given(st.integers(0, 10**12 - 1), st.sampled_from([(",", "."), (".", ","), (" ", ","), ("", ".")]))
def test_r_x4_an_amount_is_not_taken_for_a_card_number(
    amount_minor: int, marks: tuple[str, str]
) -> None:
    thousands, decimal = marks
    whole = f"{amount_minor // 100:,}".replace(",", thousands)
    assert not contains_card_number(f"paid {whole}{decimal}{amount_minor % 100:02} USD")


@given(st.integers(2000, 2099), st.integers(1, 999_999), date_separators)
def test_r_x4_an_invoice_number_is_not_taken_for_a_card_number(
    year: int, sequence: int, separator: str
) -> None:
    number = separator.join(["INV", str(year), f"{sequence:06}"])
    assert not contains_card_number(f"settles {number}")

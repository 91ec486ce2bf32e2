"""Invoices and closing documents a finance team accepts, in the partner's language (issue 17;
R-O3, R-O5, R-O7, R-C3, R-C7): every element read back from the PDF in the order it is printed,
for a Russian, a Polish and a US partner; the layout's structure read from text positions; the
vendor as it was on the document's date; old events' English lines still printed; and every
message of the documents translated.

Pure rendering, no database: about 20 documents at some 60 ms each (bench/documents.py), 2 s
in all, the time of fpdf2 laying out tables and subsetting the font."""

# ruff: noqa: RUF001 (Russian words are Cyrillic on purpose, some letters look Latin)
from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from eventsourcing.persistence import Mapper, StoredEvent
from fpdf import FPDF
from pypdf import PdfReader

from domain.invoice import Invoice
from domain.money import Money
from domain.vendor import included_tax
from ledger.formatting import format_money
from ledger.transcodings import LedgerTranscoder
from ledger.vendor import load_vendor_profiles
from ledger.wording import LOCALE_DIR, Words, partner_language
from projections import pdf as layout
from projections.pdf import render_closing_document, render_invoice
from projections.printed import ActDocument, InvoiceDocument, Party, PrintedLine, printed_line

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
PROFILES = load_vendor_profiles()
PERIOD = (date(2026, 3, 1), date(2026, 4, 1))


@dataclass(frozen=True)
class Partner:
    """A partner as its documents show it, and what they must print in its language."""

    locale: str
    currency: str
    party: Party
    client: str
    location: str
    product: str
    """The catalogue's name of `messaging-line` in the partner's language."""
    pos: str
    unit_location: str
    unit_line: str
    discount: str
    card_fee: str
    tax: str
    """The tax statement: 0 % stated as such, or the rate with the tax included."""
    invoice_title: str
    act_title: str
    no_claims: str
    rendered: str
    in_words: str


RUSSIAN = Partner(
    locale="ru",
    currency="RUB",
    party=Party("ООО «Интегратор Плюс»", ("ул. Тверская, 1", "125009 Москва", "RU")),
    client="Кофейня Зерно",
    location="Тверская 1",
    product="Линия сообщений",
    pos="Интеграция с POS",
    unit_location="точка",
    unit_line="подписка",
    discount="Скидка за срок 12 мес. (10 %)",
    card_fee="Комиссия за оплату картой (3 %)",
    tax="Без НДС (0 %)",
    invoice_title="Счёт № INV-2026-000042",
    act_title="Акт выполненных работ № ACT-2026-000042 от 2 апреля 2026 г.",
    no_claims="Заказчик претензий",
    rendered="Всего оказано услуг 3, на сумму",
    in_words="рубл",
)
POLISH = Partner(
    locale="pl",
    currency="PLN",
    party=Party("Integrator Łódź Sp. z o.o.", ("ul. Piotrkowska 5", "90-001 Łódź", "PL")),
    client="Kwiaciarnia Róża",
    location="Rynek 3",
    product="Linia wiadomości",
    pos="Integracja POS",
    unit_location="lokalizacja",
    unit_line="subskrypcja",
    discount="Rabat za okres 12 mies. (10 %)",
    card_fee="Opłata za płatność kartą (3 %)",
    tax="W tym VAT 23 %",
    invoice_title="Faktura nr INV-2026-000042",
    act_title="Protokół wykonania usług nr ACT-2026-000042 z dnia 2 kwietnia 2026",
    no_claims="Zamawiający nie wnosi zastrzeżeń",
    rendered="Razem wykonano usług: 3, na kwotę",
    in_words="złot",
)
AMERICAN = Partner(
    locale="en",
    currency="USD",
    party=Party("Acme Integrations Inc.", ("100 Main Street", "94105 San Francisco", "US")),
    client="Joe's Diner",
    location="Market St",
    product="Messaging line",
    pos="POS integration",
    unit_location="location",
    unit_line="subscription",
    discount="Discount for a 12-month term (10 %)",
    card_fee="Card processing fee (3 %)",
    tax="VAT 0 % (no VAT charged)",
    invoice_title="Invoice No. INV-2026-000042",
    act_title="Closing document No. ACT-2026-000042 of April 2, 2026",
    no_claims="The customer has no claims",
    rendered="Total services rendered: 3, for the amount of",
    in_words="dollar",
)
PARTNERS = [RUSSIAN, POLISH, AMERICAN]


def lines_of(partner: Partner) -> tuple[PrintedLine, ...]:
    """A unified invoice's lines: a plan and a location of one client, their 12-month
    discount (R-C3) and the card fee (R-O7), each its own line."""
    product = {"kind": "product", "client_name": partner.client}
    return (
        PrintedLine(
            description="Messaging line",
            amount_minor=1_500_00,
            product_code="messaging-line",
            product_name=partner.product,
            unit="per_line",
            period_start=PERIOD[0],
            period_end=PERIOD[1],
            **product,
        ),
        PrintedLine(
            description="POS integration: Main",
            amount_minor=490_00,
            product_code="pos-location",
            product_name=partner.pos,
            unit="per_location",
            location_name=partner.location,
            period_start=PERIOD[0],
            period_end=PERIOD[1],
            **product,
        ),
        PrintedLine(
            kind="discount",
            description="12-month discount (10 %)",
            amount_minor=-199_00,
            rate=Decimal("0.10"),
            term_months=12,
            period_start=PERIOD[0],
            period_end=PERIOD[1],
        ),
        PrintedLine(
            kind="card_fee",
            description="Card processing fee (3 %)",
            amount_minor=53_73,
            rate=Decimal("0.03"),
        ),
    )


TOTAL_MINOR = 1_500_00 + 490_00 - 199_00 + 53_73


def invoice_of(partner: Partner, issued_on: date = date(2026, 3, 1)) -> InvoiceDocument:
    return InvoiceDocument(
        number="INV-2026-000042",
        issued_on=issued_on,
        due_on=date(2026, 3, 15),
        vendor=PROFILES.on(issued_on),
        payer=partner.party,
        lines=lines_of(partner),
        currency=partner.currency,
        total_minor=TOTAL_MINOR,
        paid_minor=500_00,
        outstanding_minor=TOTAL_MINOR - 500_00,
    )


def act_of(partner: Partner) -> ActDocument:
    on = date(2026, 4, 2)
    return ActDocument(
        number="ACT-2026-000042",
        on=on,
        invoice_number="INV-2026-000042",
        invoice_issued_on=date(2026, 3, 1),
        vendor=PROFILES.on(on),
        customer=partner.party,
        client_name=partner.client,
        lines=lines_of(partner)[:3],  # the card fee is no work done (R-O7)
        currency=partner.currency,
        amount_minor=TOTAL_MINOR - 53_73,
    )


def text_of(pdf: bytes) -> str:
    """The PDF's text as a reader extracts it, no-break spaces as the plain ones it prints."""
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return plain(reader.pages[0].extract_text())


def plain(text: str) -> str:
    """Text as a PDF shows it: fpdf2 keeps a no-break space (babel's in amounts, its narrow
    one in Russian dates) from breaking a line, then prints a plain space."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def money(minor: int, partner: Partner) -> str:
    return plain(format_money(minor, partner.currency, partner.locale))


def day(on: date, partner: Partner, length: str = "long") -> str:
    return plain(format_date(on, length, locale=partner.locale))


def assert_in_order(text: str, expected: list[str]) -> None:
    """Each expected piece is printed, after the one before it."""
    at = 0
    for piece in expected:
        found = text.find(piece, at)
        assert found >= 0, f"{piece!r} missing after position {at}: {text[at : at + 300]!r}"
        at = found + len(piece)


def tax_minor(partner: Partner, gross_minor: int) -> int:
    rate = PROFILES.on(date(2026, 3, 1)).tax_rate(partner.currency)
    return included_tax(Money(gross_minor, partner.currency), rate).amount_minor


@pytest.mark.parametrize("partner", PARTNERS, ids=lambda p: p.locale)
def test_r_o3_r_o5_an_invoice_prints_every_element_in_the_partners_language(
    partner: Partner,
) -> None:
    vendor = PROFILES.on(date(2026, 3, 1))
    text = text_of(render_invoice(invoice_of(partner), partner.locale))

    words = Words(layout._locale(partner.locale))
    tax = tax_minor(partner, TOTAL_MINOR)
    last_day = day(date(2026, 3, 31), partner, "short")
    assert_in_order(
        text,
        [
            partner.invoice_title,
            vendor.legal_name,
            *vendor.address,
            "NIP: 5252000000",
            partner.party.name,
            *partner.party.address,
            day(date(2026, 3, 1), partner),  # issued on
            day(date(2026, 3, 15), partner),  # due on
            day(date(2026, 3, 31), partner, "medium"),  # the service period's last day
            partner.product,
            f"{words.gettext('Client')}: {partner.client}",
            last_day,
            f"1 {partner.unit_line} {money(1_500_00, partner)} {money(1_500_00, partner)}",
            f"{partner.pos}, ",
            partner.location,
            f"1 {partner.unit_location} {money(490_00, partner)} {money(490_00, partner)}",
            partner.discount,
            money(-199_00, partner),
            partner.card_fee,
            money(53_73, partner),
            money(TOTAL_MINOR - tax, partner),  # subtotal
            f"{partner.tax}: {money(tax, partner)}",
            money(TOTAL_MINOR, partner),
            money(500_00, partner),  # paid
            money(TOTAL_MINOR - 500_00, partner),  # outstanding
            partner.in_words,
            "INV-2026-000042",  # the transfer's reference
            "PL61 1140 0000 0000 0000 0000 0000",
            "BREXPLPWMBK",
            "KRS 0000000000",
        ],
    )
    assert "Messaging line" not in text or partner.locale == "en"  # never the stored English
    if partner is POLISH:
        assert tax == 344_95  # 1 844,73 zł x 23 / 123, half-up
        assert "23" in partner.tax
    else:
        assert tax == 0


@pytest.mark.parametrize("partner", PARTNERS, ids=lambda p: p.locale)
def test_r_c7_a_closing_document_prints_as_its_language_expects(partner: Partner) -> None:
    vendor = PROFILES.on(date(2026, 4, 2))
    act = act_of(partner)
    text = text_of(render_closing_document(act, partner.locale))

    words = Words(layout._locale(partner.locale))
    _ = words.gettext
    basis = _("Invoice No. {number} of {date}").format(
        number="INV-2026-000042", date=day(date(2026, 3, 1), partner)
    )
    amount = money(act.amount_minor, partner)
    assert_in_order(
        text,
        [
            partner.act_title,
            _("Performer"),
            _("Customer"),
            vendor.legal_name,
            *vendor.address,
            partner.party.name,
            f"{_('Basis')}: {basis}",
            partner.product,
            partner.pos,
            partner.discount,
            f"{_('Total')}: {amount}",
            partner.tax,
            f"{partner.rendered} {amount}",
            words.amount_in_words(act.amount),
            partner.no_claims,
            _("Performer"),
            _("Customer"),
            vendor.signatory,
            partner.party.name,
            "_" * 28,
            _("signature, stamp"),
            "_" * 28,
            _("signature, stamp"),
        ],
    )
    assert partner.card_fee not in text  # the card fee is no work done (R-O7)
    assert partner.in_words in words.amount_in_words(act.amount).lower()
    assert render_closing_document(act, partner.locale) == render_closing_document(
        act, partner.locale
    )  # the same act, the same bytes


def test_issue_17_a_document_prints_the_vendor_as_it_was_on_its_date() -> None:
    before = text_of(render_invoice(invoice_of(AMERICAN, date(2026, 12, 31)), "en"))
    after = text_of(render_invoice(invoice_of(AMERICAN, date(2027, 1, 1)), "en"))

    assert "ul. Prosta 20" in before
    assert "ul. Grzybowska 4" not in before
    assert "ul. Grzybowska 4" in after
    assert "ul. Prosta 20" not in after
    assert "Vendor profile version 1 of January 1, 2026" in before
    assert "Vendor profile version 2 of January 1, 2027" in after


def test_issue_17_an_old_invoice_event_prints_in_the_partners_language() -> None:
    """The frozen Invoice.Issued v1 of tests/fixtures (English sentences, no rate or term)
    still prints: its discount's rate and term recovered by the upcaster from its sentence, a
    product the catalogue names in Russian in Russian, and a line with neither (a product the
    catalogue does not know) as its stored English description."""
    stored = (FIXTURES / "Invoice.Issued.v1.json").read_bytes()
    event = Mapper(transcoder=LedgerTranscoder()).to_domain_event(
        StoredEvent(
            originator_id=json.loads(stored)["lines"]["_data_"][0]["_data_"]["line_id"]["_data_"],
            originator_version=1,
            topic="domain.invoice:Invoice.Issued",
            state=stored,
        )
    )
    assert isinstance(event, Invoice.Issued)
    product, discount = event.lines[0], event.lines[1]
    assert (discount.rate, discount.term_months) == (Decimal("0.1"), 12)
    lines = (
        printed_line(product, "ru", {"en": "POS seat", "ru": "Место POS"}, "per_location"),
        printed_line(discount, "ru"),
        printed_line(product, "ru"),  # unknown to the catalogue: its stored sentence
    )
    data = InvoiceDocument(
        number=event.number,
        issued_on=event.issued_on,
        due_on=event.due_on,
        vendor=PROFILES.on(event.issued_on),
        payer=RUSSIAN.party,
        lines=lines,
        currency=event.total.currency,
        total_minor=event.total.amount_minor,
        paid_minor=0,
        outstanding_minor=event.total.amount_minor,
    )

    text = text_of(render_invoice(data, "ru"))

    assert_in_order(
        text, ["Место POS, точка: Main St", "Скидка за срок 12 мес. (10 %)", "POS seat: Main St"]
    )
    assert discount.description == "12-month discount (10 %)"
    assert discount.description not in text


PositionedText = list[tuple[str, float, float]]


def positions(pdf: bytes) -> PositionedText:
    """Each piece of text with where it starts on the page (x, y from the bottom, in pt)."""
    found: PositionedText = []

    def visit(text: str, _cm: Any, tm: Any, _font: Any, _size: Any) -> None:
        if text.strip():
            found.append((plain(text.strip()), tm[4], tm[5]))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return found


@functools.cache
def measure(size_pt: float) -> FPDF:
    """A document set in the documents' font at `size_pt`, to measure text with."""
    pdf = FPDF(unit="pt")
    pdf.add_font(layout.FONT, "", layout.FONT_FILE)
    pdf.set_font(layout.FONT, "", size_pt)
    pdf.add_page()
    pdf.output()  # closes the font file fpdf2 opened; its metrics stay
    return pdf


def right_edge(text: str, x: float, size_pt: float) -> float:
    """Where a piece of text ends: its start plus its width in the document's font."""
    return x + measure(size_pt).get_string_width(text)


def at(found: PositionedText, text: str) -> tuple[float, float]:
    for piece, x, y in found:
        if piece == text:
            return x, y
    raise AssertionError(f"{text!r} not printed on its own: {[p for p, _, _ in found]}")


@pytest.mark.parametrize("kind", ["invoice", "act"])
@pytest.mark.parametrize("partner", PARTNERS, ids=lambda p: p.locale)
def test_issue_17_the_layout_aligns_amounts_and_sets_parties_side_by_side(
    partner: Partner, kind: str
) -> None:
    """The structure of the page, not its pixels: every amount of the table and of the totals
    ends on one right edge; the lines run down the page in order; the two parties (and on an
    act the two signatures) stand side by side; the PDF names its language and outline."""
    act = kind == "act"
    pdf = (
        render_closing_document(act_of(partner), partner.locale)
        if act
        else render_invoice(invoice_of(partner), partner.locale)
    )
    found = positions(pdf)
    words = Words(layout._locale(partner.locale))
    _ = words.gettext

    amounts = [money(m, partner) for m in (1_500_00, 490_00, -199_00)]
    ends = []
    for amount in amounts:
        pieces = [(x, y) for piece, x, y in found if piece == amount]
        assert pieces, f"{amount!r} not printed on its own"
        size = layout.TEXT_SIZE_PT - 1
        ends.append(max(right_edge(amount, x, size) for x, _y in pieces))  # the amount column
    total = money(act_of(partner).amount_minor if act else TOTAL_MINOR, partner)
    total_x, _total_y = at(found, total)  # the totals' amount cell: the total alone
    ends.append(right_edge(total, total_x, layout.TEXT_SIZE_PT))
    assert max(ends) - min(ends) < 1.5, ends  # one right edge, in points

    rows = [at(found, str(number))[1] for number in (1, 2, 3)]
    assert rows == sorted(rows, reverse=True)  # line 1 above line 2 above line 3

    seller = _("Performer") if act else _("Seller")
    buyer = _("Customer") if act else _("Payer")
    (left_x, left_y), (right_x, right_y) = at(found, seller), at(found, buyer)
    assert left_y == right_y
    assert right_x - left_x > 200
    if act:
        signatures = [(x, y) for piece, x, y in found if piece == "_" * 28]
        assert len(signatures) == 2
        assert signatures[0][1] == signatures[1][1]
    assert f"/Lang ({partner.locale})".encode() in pdf
    assert b"/Outlines" in pdf
    # What fpdf2 2.8 allows of PDF/UA (docs/documents.md): the title shown, title and language
    # in the XMP metadata too; no structure tree for text, so nothing claims to be tagged.
    reader = PdfReader(io.BytesIO(pdf))
    catalog = reader.trailer["/Root"]
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    xmp = reader.xmp_metadata
    assert xmp is not None
    assert reader.metadata is not None
    assert reader.metadata.title
    assert xmp.dc_title == {"x-default": reader.metadata.title}
    assert xmp.dc_language == [partner.locale]
    assert "/StructTreeRoot" not in catalog
    assert "/MarkInfo" not in catalog


def test_issue_17_every_message_of_the_documents_is_translated_in_every_language() -> None:
    """Every message the code marks (`_(...)`, `gettext(...)`) has a translation in ru, pl and
    es: a new label without one fails here (docs/documents.md: how to add it)."""
    # The documents' own messages (projections/) and the words they share with the e-mails
    # (ledger/wording.py, ledger/notifications.py), as babel.cfg extracts them.
    sources = (Path(layout.__file__).parent, LOCALE_DIR.parent)
    marked = {
        message
        for source in sources
        for _file, _line, message, _comments, _context in extract_from_dir(
            source, method_map=[("**.py", "python")]
        )
        if isinstance(message, str)
    }
    expected = {"Invoice No. {number}", "Basis", "signature, stamp", "{product}, lead {lead}"}
    assert expected | {"Total: {total}", "Tax ID"} <= marked
    for language in ("ru", "pl", "es"):
        with (LOCALE_DIR / language / "LC_MESSAGES" / "documents.po").open("rb") as po:
            catalog = read_po(po, locale=language)
        translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        assert marked - translated == set(), language


def test_issue_17_a_partner_reads_its_documents_in_its_countrys_language_by_default() -> None:
    """The billing address's country first (a RUB partner in Poland reads Polish), then the
    currency while no address is recorded, then English."""
    assert partner_language("RU", "USD") == "ru"
    assert partner_language("pl", "RUB") == "pl"
    assert partner_language("MX", "USD") == "es"
    assert partner_language("DE", "RUB") == "en"
    assert partner_language(None, "RUB") == "ru"
    assert partner_language(None, "PLN") == "pl"
    assert partner_language(None, "EUR") == "en"

"""Closing documents and invoices as PDF, in the reader's language (R-C7, R-O5).

Text is set in DejaVu Sans, shipped in `projections/fonts/` (its licence beside it), so Russian,
Polish and Spanish print correctly. Amounts are formatted for the document's locale by the one
formatter of money for people (ledger/formatting.py: babel, exact decimals, the ISO 4217 digits
of their currency); dates by babel too. The same input always gives
the same bytes: the creation date is the document's own business date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from fpdf import FPDF
from fpdf.fonts import FontFace

from ledger.formatting import format_money
from projections.documents import ClosingDocument

FONT_FILE = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"
FONT = "DejaVuSans"
TITLE_SIZE_PT = 16
TEXT_SIZE_PT = 10
LINE_HEIGHT_MM = 6
TITLE_HEIGHT_MM = 9
GAP_MM = 3
HEADINGS = FontFace(emphasis="", fill_color=(230, 230, 230))
"""Table headings shaded rather than bold: one font face keeps the embedded font small."""
CREATOR = "Ledgerline"


@dataclass(frozen=True)
class Labels:
    """The words printed on documents, in one language."""

    closing_document: str
    invoice: str
    number: str
    date: str
    partner: str
    client: str
    period: str
    description: str
    amount: str
    document_total: str
    attestation: str
    issued_on: str
    due_on: str
    seller: str
    payer: str
    total: str
    paid: str
    outstanding: str


LABELS = {
    "en": Labels(
        closing_document="Closing document",
        invoice="Invoice",
        number="No.",
        date="Date",
        partner="Partner",
        client="Client",
        period="Period",
        description="Description",
        amount="Amount",
        document_total="Total of this document",
        attestation="The services above were rendered in full and on time.",
        issued_on="Issued on",
        due_on="Due on",
        seller="Seller",
        payer="Payer",
        total="Total",
        paid="Paid",
        outstanding="Outstanding",
    ),
    "ru": Labels(
        closing_document="Акт выполненных работ",
        invoice="Счёт",
        number="№",
        date="Дата",
        partner="Партнёр",
        client="Клиент",
        period="Период",
        description="Наименование",
        amount="Сумма",
        document_total="Итого по акту",
        attestation="Вышеперечисленные услуги выполнены полностью и в срок.",
        issued_on="Дата выставления",
        due_on="Оплатить до",
        seller="Продавец",
        payer="Плательщик",
        total="Итого",
        paid="Оплачено",
        outstanding="Остаток к оплате",
    ),
    "pl": Labels(
        closing_document="Protokół wykonania usług",
        invoice="Faktura",
        number="Nr",
        date="Data",
        partner="Partner",
        client="Klient",
        period="Okres",
        description="Opis",
        amount="Kwota",
        document_total="Razem według protokołu",
        attestation="Powyższe usługi zostały wykonane w całości i terminowo.",
        issued_on="Data wystawienia",
        due_on="Termin płatności",
        seller="Sprzedawca",
        payer="Płatnik",
        total="Razem",
        paid="Zapłacono",
        outstanding="Do zapłaty",
    ),
    "es": Labels(
        closing_document="Acta de servicios prestados",
        invoice="Factura",
        number="N.º",
        date="Fecha",
        partner="Socio",
        client="Cliente",
        period="Período",
        description="Descripción",
        amount="Importe",
        document_total="Total del acta",
        attestation="Los servicios anteriores se prestaron en su totalidad y en plazo.",
        issued_on="Fecha de emisión",
        due_on="Fecha de vencimiento",
        seller="Vendedor",
        payer="Pagador",
        total="Total",
        paid="Pagado",
        outstanding="Pendiente",
    ),
}
"""Labels by language; any other language reads English words with its own number format."""


@dataclass(frozen=True)
class InvoiceDocumentLine:
    """One line of a printed invoice."""

    description: str
    amount_minor: int


@dataclass(frozen=True)
class InvoiceDocument:
    """What a printed invoice shows (R-O3, R-O5); an invoice read model fills it in."""

    number: str
    issued_on: date
    due_on: date
    seller_name: str
    """Who invoices: the vendor, or the partner's billing entity."""
    payer_name: str
    """Who pays: the partner, or the client paying its own line."""
    lines: tuple[InvoiceDocumentLine, ...]
    currency: str
    total_minor: int
    paid_minor: int
    outstanding_minor: int
    partner_name: str | None = None
    """The partner the invoice belongs to, when it is not the payer."""


def render_closing_document(doc: ClosingDocument, locale: str) -> bytes:
    """The act of completed work as a PDF, in the locale's words and formats (R-C7)."""
    where = _locale(locale)
    words = _labels(where)
    pdf = _new_pdf(f"{words.closing_document} {words.number} {doc.number}", doc.requested_on)
    _title(pdf, f"{words.closing_document} {words.number} {doc.number}")
    facts = [
        (words.date, format_date(doc.requested_on, "long", locale=where)),
        (words.invoice, doc.invoice_number),
        (words.partner, doc.partner_name or ""),
        (words.client, doc.client_name or ""),
    ]
    if doc.period_start is not None and doc.period_end is not None:
        facts.append((words.period, _period(doc.period_start, doc.period_end, where)))
    _facts(pdf, facts)
    with pdf.table(col_widths=(100, 45, 35), text_align="LEFT", headings_style=HEADINGS) as table:
        heading = table.row()
        heading.cell(words.description)
        heading.cell(words.period)
        heading.cell(words.amount, align="R")
        for line in doc.lines:
            row = table.row()
            row.cell(line.description)
            period = ""
            if line.period_start is not None and line.period_end is not None:
                period = _period(line.period_start, line.period_end, where, "short")
            row.cell(period)
            row.cell(_money(line.amount_minor, doc.currency, where), align="R")
    pdf.ln(LINE_HEIGHT_MM)
    _facts(pdf, [(words.document_total, _money(doc.amount_minor, doc.currency, where))])
    pdf.ln(LINE_HEIGHT_MM)
    pdf.multi_cell(0, LINE_HEIGHT_MM, words.attestation)
    return bytes(pdf.output())


def render_invoice(data: InvoiceDocument, locale: str) -> bytes:
    """An invoice as a PDF, in the locale's words and formats, to fetch again any time (R-O5)."""
    where = _locale(locale)
    words = _labels(where)
    pdf = _new_pdf(f"{words.invoice} {words.number} {data.number}", data.issued_on)
    _title(pdf, f"{words.invoice} {words.number} {data.number}")
    facts = [
        (words.issued_on, format_date(data.issued_on, "long", locale=where)),
        (words.due_on, format_date(data.due_on, "long", locale=where)),
        (words.seller, data.seller_name),
        (words.payer, data.payer_name),
    ]
    if data.partner_name is not None:
        facts.append((words.partner, data.partner_name))
    _facts(pdf, facts)
    with pdf.table(col_widths=(140, 40), text_align="LEFT", headings_style=HEADINGS) as table:
        heading = table.row()
        heading.cell(words.description)
        heading.cell(words.amount, align="R")
        for line in data.lines:
            row = table.row()
            row.cell(line.description)
            row.cell(_money(line.amount_minor, data.currency, where), align="R")
    pdf.ln(LINE_HEIGHT_MM)
    _facts(
        pdf,
        [
            (words.total, _money(data.total_minor, data.currency, where)),
            (words.paid, _money(data.paid_minor, data.currency, where)),
            (words.outstanding, _money(data.outstanding_minor, data.currency, where)),
        ],
    )
    return bytes(pdf.output())


def _locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))


def _labels(locale: Locale) -> Labels:
    return LABELS.get(locale.language, LABELS["en"])


def _money(amount_minor: int, currency: str, locale: Locale) -> str:
    """An amount as the document's locale writes it, through the one formatter (R-X1)."""
    return format_money(amount_minor, currency, str(locale))


def _period(start: date, end: date, locale: Locale, length: str = "medium") -> str:
    """A billing period from its first to its last day (the domain's end is exclusive)."""
    first = format_date(start, length, locale=locale)
    last = format_date(end - timedelta(days=1), length, locale=locale)
    return f"{first} \N{EN DASH} {last}"


def _new_pdf(title: str, on: date) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FONT, "", FONT_FILE)
    pdf.set_title(title)
    pdf.set_creator(CREATOR)
    pdf.set_creation_date(datetime.combine(on, time(0), tzinfo=UTC))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, "", TEXT_SIZE_PT)
    return pdf


def _title(pdf: FPDF, text: str) -> None:
    pdf.set_font_size(TITLE_SIZE_PT)
    pdf.multi_cell(0, TITLE_HEIGHT_MM, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(TEXT_SIZE_PT)
    pdf.ln(GAP_MM)


def _facts(pdf: FPDF, facts: list[tuple[str, str]]) -> None:
    """Label and value pairs, one to a line."""
    for label, value in facts:
        pdf.cell(55, LINE_HEIGHT_MM, f"{label}:")
        pdf.multi_cell(0, LINE_HEIGHT_MM, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(GAP_MM)

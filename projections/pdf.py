"""Closing documents and invoices as PDF, in the reader's language (R-C7, R-O5, issue 17).

Words come from the message catalogues (ledger/wording.py), amounts from the one
formatter of money for people (ledger/formatting.py: babel, exact decimals, the ISO 4217
digits of their currency), dates from babel. Text is set in DejaVu Sans, shipped in
`projections/fonts/` (its licence beside it), so Russian, Polish and Spanish print correctly.
The same input always gives the same bytes: the creation date is the document's own date. Each
PDF names its language and has an outline entry (fpdf2's tagging; docs/documents.md).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from babel import Locale
from babel.dates import format_date
from fpdf import FPDF
from fpdf.enums import TableBordersLayout
from fpdf.fonts import FontFace
from fpdf.prefs import ViewerPreferences

from domain.money import Money
from domain.vendor import VendorProfile, included_tax
from ledger.formatting import format_money
from ledger.wording import Words
from projections.printed import ActDocument, InvoiceDocument, Party, PrintedLine

FONT_FILE = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"
FONT = "DejaVuSans"
TITLE_SIZE_PT = 15
TEXT_SIZE_PT = 9
SMALL_SIZE_PT = 7
LINE_HEIGHT_MM = 5
TITLE_HEIGHT_MM = 8
GAP_MM = 3
PAGE_WIDTH_MM = 190
"""A4's 210 mm less fpdf2's 10 mm margins."""
COLUMNS_MM = (8, 66, 34, 15, 21, 23, 23)
"""No., description, period, quantity, unit, unit price, amount: they add up to the page."""
AMOUNT_MM = COLUMNS_MM[-1]
"""Totals are set right-aligned in the amount column's width, under it."""
HEADINGS = FontFace(emphasis="", fill_color=(230, 230, 230))
"""Table headings shaded rather than bold: one font face keeps the embedded font small."""
CREATOR = "Ledgerline"


def render_invoice(data: InvoiceDocument, locale: str) -> bytes:
    """An invoice as a PDF, in the locale's words and formats, to fetch again any time (R-O5):
    seller and payer with their details, every line, subtotal, tax, total, paid, outstanding,
    due date and how to pay."""
    words = Words(_locale(locale))
    _ = words.gettext
    title = _("Invoice No. {number}").format(number=data.number)
    pdf = _new_pdf(title, data.issued_on, words)
    _title(pdf, title)
    _parties(pdf, (_("Seller"), _vendor(data.vendor)), (_("Payer"), _party(data.payer)))
    facts = [
        (_("Issued on"), _date(data.issued_on, words)),
        (_("Due on"), _date(data.due_on, words)),
    ]
    if data.partner_name is not None:
        facts.append((_("Partner"), data.partner_name))
    period = _span(data.lines)
    if period is not None:
        facts.append((_("Service period"), _period(*period, words)))
    _facts(pdf, facts)
    _lines(pdf, data.lines, data.currency, words)
    gross = Money(data.total_minor, data.currency)
    _totals(
        pdf,
        [
            *_tax_rows(gross, data.vendor, words),
            (_("Total"), _money(data.total_minor, data.currency, words)),
            (_("Paid"), _money(data.paid_minor, data.currency, words)),
            (_("Outstanding"), _money(data.outstanding_minor, data.currency, words)),
        ],
    )
    in_words = _("Amount in words: {words}").format(words=words.amount_in_words(gross))
    _paragraph(pdf, in_words)
    _paragraph(pdf, _("Please pay by {due}").format(due=_date(data.due_on, words)))
    _how_to_pay(pdf, data.vendor, data.number, words)
    _footer(pdf, data.vendor, words)
    return bytes(pdf.output())


def render_closing_document(doc: ActDocument, locale: str) -> bytes:
    """The act of completed work as a PDF, in the locale's words and formats (R-C7):
    performer and customer, the basis, the work, totals with the tax statement, the amount in
    words, the statement that it was rendered with no claims, and both parties' signatures."""
    words = Words(_locale(locale))
    _ = words.gettext
    title = _("Closing document No. {number} of {date}").format(
        number=doc.number, date=_date(doc.on, words)
    )
    pdf = _new_pdf(title, doc.on, words)
    _title(pdf, title)
    _parties(pdf, (_("Performer"), _vendor(doc.vendor)), (_("Customer"), _party(doc.customer)))
    basis = _("Invoice No. {number} of {date}").format(
        number=doc.invoice_number, date=_date(doc.invoice_issued_on, words)
    )
    facts = [(_("Basis"), basis)]
    if doc.client_name:
        facts.append((_("Client"), doc.client_name))
    period = _span(doc.lines)
    if period is not None:
        facts.append((_("Service period"), _period(*period, words)))
    _facts(pdf, facts)
    _lines(pdf, doc.lines, doc.currency, words)
    amount = Money(doc.amount_minor, doc.currency)
    _totals(
        pdf,
        [
            (_("Total"), _money(doc.amount_minor, doc.currency, words)),
            *_tax_rows(amount, doc.vendor, words, net=False),
        ],
    )
    rendered = _("Total services rendered: {count}, for the amount of {amount}").format(
        count=len(doc.lines), amount=_money(doc.amount_minor, doc.currency, words)
    )
    _paragraph(pdf, rendered)
    _paragraph(pdf, words.amount_in_words(amount))
    _paragraph(
        pdf,
        _(
            "The services above were rendered in full and on time. The customer has no "
            "claims as to their scope, quality or timing."
        ),
    )
    _signatures(pdf, doc, words)
    _footer(pdf, doc.vendor, words)
    return bytes(pdf.output())


def _lines(pdf: FPDF, lines: tuple[PrintedLine, ...], currency: str, words: Words) -> None:
    _ = words.gettext
    pdf.set_font_size(TEXT_SIZE_PT - 1)
    with pdf.table(col_widths=COLUMNS_MM, text_align="LEFT", headings_style=HEADINGS) as table:
        heading = table.row()
        for label in (_("No."), _("Description"), _("Period"), _("Qty")):
            heading.cell(label)
        heading.cell(_("Unit"))
        heading.cell(_("Unit price"), align="R")
        heading.cell(_("Amount"), align="R")
        for number, line in enumerate(lines, start=1):
            row = table.row()
            row.cell(str(number))
            text = words.line(
                line.kind,
                line.description,
                line.product_name,
                line.location_name,
                line.rate,
                line.term_months,
                line.lead_id,
                line.product_code,
            )
            if line.client_name:
                text = "\n".join((text, _("Client: {name}").format(name=line.client_name)))
            row.cell(text)
            period = ""
            if line.period_start is not None and line.period_end is not None:
                period = _period(line.period_start, line.period_end, words, "short")
            row.cell(period)
            row.cell(str(line.quantity), align="R")
            row.cell(words.unit(line.kind, line.unit))
            row.cell(_money(line.unit_price_minor, currency, words), align="R")
            row.cell(_money(line.amount_minor, currency, words), align="R")
    pdf.set_font_size(TEXT_SIZE_PT)
    pdf.ln(GAP_MM)


def _tax_rows(
    gross: Money, vendor: VendorProfile, words: Words, *, net: bool = True
) -> list[tuple[str, str]]:
    """Subtotal and tax of a tax-inclusive amount at the vendor's rate for its currency;
    a 0 % rate is stated as such."""
    _ = words.gettext
    rate = vendor.tax_rate(gross.currency)
    tax = included_tax(gross, rate)
    rows = []
    if net:
        rows.append(
            (_("Subtotal (net)"), _money((gross - tax).amount_minor, gross.currency, words))
        )
    if rate == 0:
        rows.append((_("VAT 0 % (no VAT charged)"), _money(0, gross.currency, words)))
    else:
        label = _("Including VAT {rate} %").format(rate=words.percent(rate))
        rows.append((label, _money(tax.amount_minor, gross.currency, words)))
    return rows


def _vendor(vendor: VendorProfile) -> str:
    return _party(Party(vendor.legal_name, vendor.address, vendor.tax_ids))


def _party(party: Party) -> str:
    ids = [f"{what}: {value}" for what, value in party.tax_ids]
    return "\n".join([party.name, *party.address, *ids])


def _parties(pdf: FPDF, left: tuple[str, str], right: tuple[str, str]) -> None:
    """Two parties side by side, each under its role."""
    with pdf.table(
        col_widths=(1, 1), text_align="LEFT", headings_style=HEADINGS, line_height=LINE_HEIGHT_MM
    ) as table:
        heading = table.row()
        heading.cell(left[0])
        heading.cell(right[0])
        row = table.row()
        row.cell(left[1])
        row.cell(right[1])
    pdf.ln(GAP_MM)


def _totals(pdf: FPDF, rows: list[tuple[str, str]]) -> None:
    """Label and amount pairs, the amounts right-aligned under the amount column."""
    for label, value in rows:
        pdf.cell(PAGE_WIDTH_MM - AMOUNT_MM, LINE_HEIGHT_MM, f"{label}:", align="R")
        pdf.cell(AMOUNT_MM, LINE_HEIGHT_MM, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(GAP_MM)


def _how_to_pay(pdf: FPDF, vendor: VendorProfile, number: str, words: Words) -> None:
    _ = words.gettext
    pdf.start_section(_("How to pay"), level=1)
    _paragraph(
        pdf,
        _(
            "How to pay: by bank transfer to the account below, with the reference {number}, "
            "or by card in the partner portal."
        ).format(number=number),
    )
    _facts(pdf, list(vendor.bank))


def _signatures(pdf: FPDF, doc: ActDocument, words: Words) -> None:
    """Both parties' signature lines, side by side, with a place for a stamp."""
    _ = words.gettext
    line = "_" * 28
    with pdf.table(
        col_widths=(1, 1),
        text_align="LEFT",
        borders_layout=TableBordersLayout.NONE,
        first_row_as_headings=False,
        line_height=LINE_HEIGHT_MM + 1,
    ) as table:
        roles = table.row()
        roles.cell(_("Performer"))
        roles.cell(_("Customer"))
        names = table.row()
        names.cell(f"{doc.vendor.legal_name}\n{doc.vendor.signatory}")
        names.cell(doc.customer.name)
        signs = table.row()
        for _side in range(2):
            signs.cell("\n".join(("", line, _("signature, stamp"))))


def _footer(pdf: FPDF, vendor: VendorProfile, words: Words) -> None:
    pdf.ln(GAP_MM)
    pdf.set_font_size(SMALL_SIZE_PT)
    profile = words.gettext("Vendor profile version {version} of {date}").format(
        version=vendor.version, date=_date(vendor.effective_from, words)
    )
    pdf.multi_cell(0, LINE_HEIGHT_MM - 1, f"{vendor.footer} {profile}".strip(), align="L")
    pdf.set_font_size(TEXT_SIZE_PT)


def _span(lines: tuple[PrintedLine, ...]) -> tuple[date, date] | None:
    """From the first line's period start to the last line's period end, if any has one."""
    starts = [line.period_start for line in lines if line.period_start is not None]
    ends = [line.period_end for line in lines if line.period_end is not None]
    return (min(starts), max(ends)) if starts and ends else None


def _locale(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))


def _money(amount_minor: int, currency: str, words: Words) -> str:
    """An amount as the document's locale writes it, through the one formatter (R-X1)."""
    return format_money(amount_minor, currency, str(words.locale))


def _date(on: date, words: Words, length: str = "long") -> str:
    return format_date(on, length, locale=words.locale)


def _period(start: date, end: date, words: Words, length: str = "medium") -> str:
    """A billing period from its first to its last day (the domain's end is exclusive)."""
    first = _date(start, words, length)
    last = _date(end - timedelta(days=1), words, length)
    return f"{first} \N{EN DASH} {last}"


def _new_pdf(title: str, on: date, words: Words) -> FPDF:
    # fontTools logs a dozen INFO lines per document as it subsets the font: noise in a
    # server's log, and a fifth of a document's time where INFO is captured (the tests).
    logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FONT, "", FONT_FILE)
    pdf.set_title(title)
    language = str(words.locale).replace("_", "-")
    pdf.set_lang(language)
    # Accessibility as far as fpdf2 2.8 goes (docs/documents.md): a viewer shows the title,
    # not the file name, and the XMP metadata names title and language as the Info does.
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.set_xmp_metadata(_xmp(title, language, on))
    pdf.set_creator(CREATOR)
    pdf.set_creation_date(datetime.combine(on, time(0), tzinfo=UTC))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, "", TEXT_SIZE_PT)
    return pdf


def _xmp(title: str, language: str, on: date) -> str:
    """The document's XMP metadata: its title and language (PDF/UA asks for `dc:title`), its
    creator and date. Written here, not by fpdf2, whose own stamps the time of printing: the
    same document must print the same bytes (R-O5). It claims no PDF/A or PDF/UA part."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt>'
        f"</dc:title><dc:language><rdf:Bag><rdf:li>{escape(language)}</rdf:li></rdf:Bag>"
        f"</dc:language><xmp:CreatorTool>{CREATOR}</xmp:CreatorTool>"
        f"<xmp:CreateDate>{on.isoformat()}T00:00:00Z</xmp:CreateDate>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def _title(pdf: FPDF, text: str) -> None:
    pdf.start_section(text, level=0)
    pdf.set_font_size(TITLE_SIZE_PT)
    pdf.multi_cell(0, TITLE_HEIGHT_MM, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(TEXT_SIZE_PT)
    pdf.ln(GAP_MM)


def _facts(pdf: FPDF, facts: list[tuple[str, str]]) -> None:
    """Label and value pairs, one to a line."""
    for label, value in facts:
        pdf.cell(45, LINE_HEIGHT_MM, f"{label}:")
        pdf.multi_cell(0, LINE_HEIGHT_MM, value, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(GAP_MM)


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, LINE_HEIGHT_MM, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)

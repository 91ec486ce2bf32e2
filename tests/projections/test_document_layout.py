"""The printed documents' layout, seen as a reader sees it (issue 17): each document is rendered
to a bitmap (pypdfium2, the PDF engine of Chrome) and reduced to its structure, the bands of
ink down the page (each row of text, each rule) with where each begins and ends across. The
structure is compared with the one frozen in tests/fixtures/layout/, within two pixels at 50
dots per inch: a row that moves, appears, vanishes or runs wider is seen; a font's anti-aliasing
is not. No image is kept anywhere.

After a deliberate change of layout, look at the documents, then freeze the new structure:

    LEDGERLINE_FREEZE_LAYOUT=1 .venv/bin/pytest tests/projections/test_document_layout.py

The six documents (an invoice and an act for a Russian, a Polish and a US partner) render and
are measured in about a tenth of a second.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from projections.pdf import render_closing_document, render_invoice
from tests.projections.test_printed_documents import PARTNERS, Partner, act_of, invoice_of

FROZEN = Path(__file__).parent.parent / "fixtures" / "layout"
DPI = 50
"""Coarse enough that anti-aliasing and hinting do not move a band, fine enough to see a row."""
INK = 160
"""A pixel darker than this (0 black, 255 white) is ink."""
TOLERANCE_PX = 2
FREEZE = os.environ.get("LEDGERLINE_FREEZE_LAYOUT") == "1"

Band = tuple[int, int, int, int]
"""A band of ink across the page: top, bottom, left-most and right-most inked pixel."""


def structure(pdf: bytes) -> list[list[Band]]:
    """Each page's bands of ink, top to bottom."""
    document = pdfium.PdfDocument(pdf)
    pages = []
    for page in document:
        bitmap = page.render(scale=DPI / 72, grayscale=True)
        width, stride, pixels = bitmap.width, bitmap.stride, bytes(bitmap.buffer)
        bands: list[Band] = []
        top = left = right = -1
        for y in range(bitmap.height):
            row = pixels[y * stride : y * stride + width]
            inked = [x for x in range(width) if row[x] < INK]
            if inked and top < 0:
                top, left, right = y, inked[0], inked[-1]
            elif inked:
                left, right = min(left, inked[0]), max(right, inked[-1])
            elif top >= 0:
                bands.append((top, y - 1, left, right))
                top = -1
        if top >= 0:
            bands.append((top, bitmap.height - 1, left, right))
        pages.append(bands)
    return pages


def documents(partner: Partner) -> dict[str, bytes]:
    return {
        f"invoice-{partner.locale}": render_invoice(invoice_of(partner), partner.locale),
        f"act-{partner.locale}": render_closing_document(act_of(partner), partner.locale),
    }


@pytest.mark.parametrize("partner", PARTNERS, ids=lambda p: p.locale)
def test_issue_17_each_document_keeps_its_layout(partner: Partner) -> None:
    for name, pdf in documents(partner).items():
        seen = structure(pdf)
        frozen_file = FROZEN / f"{name}.json"
        if FREEZE:
            FROZEN.mkdir(parents=True, exist_ok=True)
            frozen_file.write_text(json.dumps(seen) + "\n")
        frozen = [[tuple(band) for band in page] for page in json.loads(frozen_file.read_text())]
        assert [len(page) for page in seen] == [len(page) for page in frozen], (
            f"{name}: the rows of the page changed (rows added, removed, merged or split)"
        )
        for page, (now, then) in enumerate(zip(seen, frozen, strict=True), start=1):
            for row, (band, was) in enumerate(zip(now, then, strict=True), start=1):
                moved = max(abs(a - b) for a, b in zip(band, was, strict=True))
                assert moved <= TOLERANCE_PX, (
                    f"{name}, page {page}, row {row}: (top, bottom, left, right) {band}, "
                    f"was {was}: the layout moved"
                )


def test_a_moved_row_is_seen() -> None:
    """The comparison can fail: the Russian act without its client line has other rows."""
    russian = PARTNERS[0]
    changed = render_closing_document(replace(act_of(russian), client_name=None), russian.locale)
    assert structure(changed) != structure(documents(russian)[f"act-{russian.locale}"])

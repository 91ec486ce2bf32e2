"""Documents: how many invoices and closing documents projections/pdf.py renders a second,
in each language, one process, one core.

    .venv/bin/python bench/documents.py [--documents 200]

Renders `--documents` of each kind (an invoice of four lines: a plan, a location, their
12-month discount and the card fee; the act of the same work) in en, ru, pl and es, from the
same inputs as tests/projections/test_printed_documents.py, after one warm-up of each (the
first document of a language compiles its message catalogue and loads the font). Prints a line
per kind and language and ends with one JSON line of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

# The project's root instead of bench/, whose http.py would shadow the standard library's.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from projections.pdf import render_closing_document, render_invoice  # noqa: E402
from tests.projections.test_printed_documents import (  # noqa: E402
    AMERICAN,
    POLISH,
    RUSSIAN,
    Partner,
    act_of,
    invoice_of,
)

SPANISH = Partner(**{**vars(AMERICAN), "locale": "es", "currency": "EUR"})


def measure(kind: str, partner: Partner, count: int) -> tuple[float, int]:
    """Documents a second, and the size of one in bytes."""
    render = (
        (lambda: render_invoice(invoice_of(partner), partner.locale))
        if kind == "invoice"
        else (lambda: render_closing_document(act_of(partner), partner.locale))
    )
    size = len(render())  # warm-up
    started = time.perf_counter()
    for _ in range(count):
        render()
    return count / (time.perf_counter() - started), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    args = parser.parse_args()
    rates: dict[str, float] = {}
    for kind in ("invoice", "act"):
        for partner in (AMERICAN, RUSSIAN, POLISH, SPANISH):
            rate, size = measure(kind, partner, args.documents)
            rates[f"{kind}_{partner.locale}"] = rate
            print(f"{kind:8} {partner.locale}: {rate:7.1f} documents/s, {size:,} bytes each")
    headline = {
        "bench": "documents",
        "documents_each": args.documents,
        "invoices_per_s": round(statistics.mean(v for k, v in rates.items() if "invoice" in k), 1),
        "acts_per_s": round(statistics.mean(v for k, v in rates.items() if "act" in k), 1),
        "slowest_per_s": round(min(rates.values()), 1),
        "python": platform.python_version(),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()

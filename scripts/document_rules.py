"""Write docs/rules.md: each rule from the source articles, the code that serves it, its tests.

A rule is served where a docstring or comment cites its id (R-C5), and proved by every test
whose name carries it (test_r_c5_...). Run after changing code or tests:

    .venv/bin/python scripts/document_rules.py

tests/domain/test_docs.py fails when the page no longer matches the code.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "rules.md"
CODE = ("domain", "ledger", "projections", "replay", "api")
RULE = re.compile(r"R-([A-Z])(\d+)")

RULES = {
    "R-O1": "Partner setup: billing entity, address and e-mail, and a payment method: ACH "
    "(account number, routing number, name) or card (number, expiry, holder, CVV, postal code).",
    "R-O2": "A plan bills on the 1st (calendar) or on the day of month it was set up "
    "(anniversary); the 29th-31st clamp to the month's end and return (Jan 31, Feb 28, Mar 31).",
    "R-O3": "The partner invoice shows each product, its number of active locations and the "
    "price; Ledgerline also itemises which locations.",
    "R-O4": "Clients can be removed from unified billing; the partner stops paying for them.",
    "R-O5": "Partners see all past invoices and can fetch any of them again.",
    "R-O6": "Partners update their payment method themselves.",
    "R-O7": "Card payments carry a 3 % processing fee passed on to the partner, as its own line.",
    "R-C1": "Partners buy and renew lines for each client from their partner account.",
    "R-C2": "Pay by card, from the company balance, by bank invoice, or with bonuses.",
    "R-C3": "Buying a line for 12 months gets a duration discount.",
    "R-C4": "When the client pays for a line itself, the partner earns cashback bonuses.",
    "R-C5": "Bonuses belong to the partner, not to a client: spendable on any line.",
    "R-C6": "Autopay for company balance, card and invoice; with invoice autopay the invoice is "
    "issued 5 days before the paid period ends.",
    "R-C7": "Closing documents: none for top-ups or bonus purchases; after paying by invoice, "
    "card or company balance the partner may request one for the client.",
    "R-C8": "Each client is separate: one partner's data never mixes with another's.",
    "R-E1": "A client's subscription moves from its current reseller to a new one.",
    "R-E2": "The transfer request carries subscription, end user, both resellers, consent of "
    "client and both resellers, preferred date, e-mails, billing and payment method.",
    "R-E3": "Every invoice of the subscription must be settled first; otherwise the transfer is "
    "refused with the unsettled invoices listed.",
    "R-E4": "The transfer takes effect on the preferred date, no sooner than 1-2 business days "
    "after the request is complete.",
    "R-H1": "A plan is draft, pending (sent to pay and accept) or active, and later cancelled.",
    "R-H2": "Overdue: cash, cheque or other not collected by its due date. Failed: a declined "
    "card charge. Both are outstanding.",
    "R-H3": "A banner shows the total owed across all plans; one plan owing links to it, "
    "several are listed; it stays until paid.",
    "R-H4": "A failed card payment e-mails the customer the reason and a link to update the card.",
    "R-H5": "Updating the card never moves the billing date; with payments outstanding the "
    "updater charges all pending to the new card or marks all pending as paid.",
    "R-H6": "Card payments are refunded in full or in part, with a receipt; cash, cheque and "
    "other are not: the plan is cancelled instead.",
    "R-H7": "Each plan has an activity feed.",
    "R-L1": "No subscription fee: each delivered lead is charged at its price.",
    "R-L2": "Leads are invoiced every Friday, or at once when unbilled leads reach $200.",
    "R-L3": "A monthly budget resets on the signup day of month; the account pauses itself at it.",
    "R-L4": "After a missed payment, one week of grace; then the account pauses until settled, "
    "and resumes by itself.",
    "R-L5": "Updating an expired card charges what is overdue automatically.",
    "R-X1": "Money is integer minor units with an ISO 4217 currency; every rounding is explicit.",
    "R-X2": "Double entry: every monetary event posts balanced entries; the trial balance is zero "
    "at every position of the log.",
    "R-X3": "Invoice numbers are gapless and sequential per series, even under concurrency.",
    "R-X4": "Card numbers and CVVs never reach the event store, a log or a read model.",
    "R-X5": "Every command is idempotent under a client-supplied key.",
    "R-X6": "History is never edited: corrections are new events (void, credit note).",
    "R-X7": "Business dates are computed in the partner's time zone; instants are stored in UTC.",
}

INTRO = """# Rules

Ledgerline's requirements come from five help-centre articles (Otter, ChatApp, Exclaimer,
Housecall Pro, CraftJack) and a few of its own. Each rule has an id; code cites it where it
serves the rule, and tests carry it in their names (`test_r_h6_...`), so every behaviour can be
traced back to its source and forward to its proof.

This page is generated by `scripts/document_rules.py`; a rule with no tests yet says so.
"""


def innermost(tree: ast.Module, line: int) -> str:
    """The qualified name of the innermost class or function around a line."""
    names: list[str] = []

    def visit(node: ast.AST, prefix: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                end = child.end_lineno or child.lineno
                if child.lineno <= line <= end:
                    names[:] = [*prefix, child.name]
                    visit(child, [*prefix, child.name])

    visit(tree, [])
    return ".".join(names)


def code_references() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for package in CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            module = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(text.splitlines(), 1):
                for letter, digits in RULE.findall(line):
                    where = innermost(tree, number)
                    found[f"R-{letter}{digits}"].add(f"{module}" + (f" `{where}`" if where else ""))
    return found


def test_references() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    name = re.compile(r"def (test_(?:r_[a-z]\d+_)+\w*)")
    rule = re.compile(r"(?:^|_)r_([a-z])(\d+)(?=_)")
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        module = path.relative_to(ROOT).as_posix()
        for match in name.finditer(path.read_text(encoding="utf-8")):
            test = match.group(1)
            # Every rule the name leads with: test_r_h1_r_h7_... proves R-H1 and R-H7.
            prefix = re.match(r"test_((?:r_[a-z]\d+_)+)", test)
            for letter, digits in rule.findall("_" + (prefix.group(1) if prefix else "")):
                found[f"R-{letter.upper()}{digits}"].add(f"{module}::{test}")
    return found


def render() -> str:
    code, tests = code_references(), test_references()
    out = [INTRO]
    for rule, statement in RULES.items():
        out.append(f"## {rule}\n\n{statement}\n")
        served = sorted(code.get(rule, ()))
        out.append("Code: " + ("; ".join(served) if served else "not yet.") + "\n")
        proved = sorted(tests.get(rule, ()))
        if proved:
            out.append("Tests:\n" + "\n".join(f"- `{test}`" for test in proved) + "\n")
        else:
            out.append("Tests: none yet.\n")
    return "\n".join(out)


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())

"""Write docs/events.md, the event catalogue, from the event classes themselves.

    .venv/bin/python scripts/document_events.py

tests/domain/test_docs.py fails when the catalogue no longer matches the code.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eventsourcing.domain import Aggregate  # noqa: E402

from ledger.transcodings import PERSONAL_FIELDS  # noqa: E402
from tests.specimens import AGGREGATES, event_classes  # noqa: E402

TARGET = ROOT / "docs" / "events.md"
RULE = re.compile(r"R-[A-Z]\d+")
BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}
COMMON_FIELDS = ("partner_id", "payer_id")
"""Fields on every event of an aggregate: listed once under its heading."""

INTRO = """# Events

Every fact Ledgerline knows is one of these events, stored in the `ledger_events` table in the
order it happened. Events are never changed or deleted (R-X6); a correction is a new event.

Every event has the fields the event store gives it: `originator_id` (the aggregate's id),
`originator_version` (its position in that aggregate's history) and `timestamp` (when it was
recorded, UTC). Business dates (`due_on`, `effective_on`, …) are explicit fields, in the
partner's time zone (R-X7). Every event also names its partner: `partner_id`, or for partner
account events the `originator_id` itself; it is the future partition key.

Amounts are `Money`: integer minor units and a currency (R-X1). Card numbers, CVVs and bank
account numbers never appear in any event (R-X4): a card is a `CardToken` (gateway token, brand,
last 4, expiry), a bank account a `BankAccountToken` (token, last 4, routing number).

With a cipher key (`LEDGERLINE_CIPHER_KEY`, ledger/sealing.py) the fields that name or reach a
person are stored sealed: those marked *(sealed)* below, and these wherever they appear:

{values}

Everything else stays clear, so the read models compute from it as before.

This page is generated from the code by `scripts/document_events.py`.
"""


def type_name(annotation: Any) -> str:
    if not isinstance(annotation, str):
        annotation = getattr(annotation, "__name__", str(annotation))
    text = annotation.replace("typing.", "").replace("datetime.", "").replace("uuid.", "")
    return text.replace("|", "\\|")


def fields_of(event_class: type[Any]) -> list[tuple[str, str]]:
    hints = typing.get_type_hints(event_class, include_extras=False)
    names = [
        name
        for name in event_class.__dataclass_fields__
        if name not in BASE_FIELDS and name not in COMMON_FIELDS
    ]
    raw = {}
    for klass in reversed(event_class.__mro__):
        raw.update(getattr(klass, "__annotations__", {}))
    return [(name, type_name(raw.get(name, hints.get(name, "")))) for name in names]


def fields_of_base(aggregate: type[Any]) -> set[str]:
    base = vars(aggregate).get("Event")
    return set(getattr(base, "__dataclass_fields__", {})) if base else set()


def doc_of(thing: Any) -> str:
    return " ".join((inspect.getdoc(thing) or "").split())


def sealed_values() -> str:
    """The value objects' personal fields, in words."""
    values = [
        f"- `{cls.__name__}`: {', '.join(f'`{name}`' for name in sorted(fields))}"
        for cls, fields in PERSONAL_FIELDS.items()
        if not issubclass(cls, Aggregate.Event) and not issubclass(cls, Aggregate)
    ]
    return "\n".join(values)


def render() -> str:
    out = [INTRO.format(values=sealed_values())]
    classes = event_classes()
    for aggregate in AGGREGATES:
        out.append(f"## {aggregate.__name__}\n\n{doc_of(aggregate)}\n")
        common = [name for name in COMMON_FIELDS if name in fields_of_base(aggregate)]
        if common:
            listed = " and ".join(f"`{name}`" for name in common)
            out.append(f"Every {aggregate.__name__} event also carries {listed}.\n")
        out.append("| event | fields | meaning | rules |\n| --- | --- | --- | --- |")
        for event_class in classes:
            if not event_class.__qualname__.startswith(aggregate.__name__ + "."):
                continue
            if not issubclass(event_class, Aggregate.Event):
                continue
            doc = doc_of(event_class)
            rules = ", ".join(dict.fromkeys(RULE.findall(doc))) or " "
            sealed = PERSONAL_FIELDS.get(event_class, frozenset())
            fields = "<br>".join(
                f"`{name}: {kind}`" + (" *(sealed)*" if name in sealed else "")
                for name, kind in fields_of(event_class)
            )
            out.append(f"| `{event_class.__qualname__}` | {fields or ' '} | {doc} | {rules} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

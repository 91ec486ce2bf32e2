"""Write the stored JSON of every event specimen to tests/fixtures/events.

Run it once when an event class is added. When an event's shape changes, do not re-freeze
its fixture: bump the event's `class_version`, add an `upcast_vN_vN+1` that turns the old shape
into the new one, keep the old fixture as `<Event>.v<N>.json`, and freeze the new one.

    .venv/bin/python scripts/freeze_event_fixtures.py [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eventsourcing.persistence import Mapper  # noqa: E402

from ledger.transcodings import LedgerTranscoder  # noqa: E402
from tests.specimens import specimens  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "events"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="overwrite existing fixtures")
    args = parser.parse_args()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    mapper: Mapper[object] = Mapper(transcoder=LedgerTranscoder())
    for event_class, event in specimens().items():
        path = FIXTURES / f"{event_class.__qualname__}.json"
        if path.exists() and not args.force:
            continue
        state = json.loads(mapper.to_stored_event(event).state)
        path.write_text(json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"froze {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Record each read model's version and the digest of its rules in
tests/fixtures/projection_rules.json.

Run it after bumping a read model's `version` for a change to its rules (the events it reads,
its tables, their DDL, its statements). tests/projections/test_projection_rules.py fails when
the rules change and the version does not: a deployment would keep a generation built by the
old rules without being told to rebuild it.

    .venv/bin/python scripts/freeze_projection_rules.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from projections.registry import all_projections  # noqa: E402

RECORD = ROOT / "tests" / "fixtures" / "projection_rules.json"


def main() -> None:
    record = {
        projection.name: {"version": projection.version, "rules": projection.rules_digest()}
        for projection in sorted(all_projections(), key=lambda p: p.name)
    }
    RECORD.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"recorded {len(record)} read models in {RECORD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

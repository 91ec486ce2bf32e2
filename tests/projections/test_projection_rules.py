"""A read model's rules do not change without its version (issue 16).

A deployment keeps the generation its read models were built with and is told to rebuild one
only when the code's `version` differs from the generation's (`projection_needs_rebuild`).
Rules changed under the same version would be applied to new events while the old ones keep
what the old rules made: the balances read model's announced top-ups nearly shipped so. The
digest of each version's rules is recorded in tests/fixtures/projection_rules.json; after a
bump, `scripts/freeze_projection_rules.py` records the new one. No database: a few
milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from projections.balances import Balances
from projections.registry import all_projections

RECORD = Path(__file__).resolve().parent.parent / "fixtures" / "projection_rules.json"


def test_each_read_models_rules_are_the_ones_recorded_for_its_version() -> None:
    recorded: dict[str, dict[str, object]] = json.loads(RECORD.read_text())
    code = {projection.name: projection for projection in all_projections()}
    assert sorted(recorded) == sorted(code), "run scripts/freeze_projection_rules.py"
    for name, projection in code.items():
        record = recorded[name]
        if projection.rules_digest() != record["rules"]:
            assert projection.version != record["version"], (
                f"The rules of the read model {name} changed and its version did not: bump "
                f"{type(projection).__name__}.version (saying why in its doc string), then run "
                "scripts/freeze_projection_rules.py."
            )
        assert (projection.version, projection.rules_digest()) == (
            record["version"],
            record["rules"],
        ), f"{name} is at version {projection.version}: run scripts/freeze_projection_rules.py"


def test_the_digest_sees_a_change_to_any_statement() -> None:
    class Changed(Balances):
        statements = (*Balances.statements[:-1], Balances.statements[-1] + " AND true")

    assert Changed().rules_digest() != Balances().rules_digest()
    assert Balances().rules_digest() == Balances().rules_digest()

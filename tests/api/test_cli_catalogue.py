"""`ledgerline catalogue import FILE` (issue 13): a file imports its products and prices; a
file with a malformed entry is refused with its own exit code and writes nothing. (Importing
the same file twice writes nothing: tests/ledger/test_catalogue_history.py, in-process.)

Two processes, each starting the runtime (about a second of CPU each): the command is its own
process, as an operator runs it.
"""

from __future__ import annotations

from pathlib import Path

from ledger.database import Database
from tests.replay.test_rebuild_cli import ledgerline
from tests.support import NOT_CATALOGUE

SEAT = (
    '[[product]]\ncode = "seat"\nname = "Seat"\nnames = { pl = "Miejsce" }\n'
    'unit = "per_location"\nprices = { JPY = "1200", KWD = "1.250" }\n'
)


def catalogue_events(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM ledger_events WHERE NOT ({NOT_CATALOGUE})")
        found = row.fetchone()
    assert found is not None
    return int(found[0])


def test_r_x5_a_catalogue_file_imports_once_and_a_malformed_one_writes_nothing(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(SEAT, encoding="utf-8")
    before = catalogue_events(database)
    first = ledgerline(database, "catalogue", "import", str(path))
    assert first.returncode == 0, first.stderr
    assert "1 products, 1 new, 2 prices added." in first.stderr
    assert catalogue_events(database) == before + 3  # created, and a price in each currency
    # The same product again, and one priced in yen with decimals (JPY has none).
    path.write_text(SEAT + SEAT.replace("seat", "desk").replace('"1200"', '"12.5"'))
    refused = ledgerline(database, "catalogue", "import", str(path))
    assert refused.returncode == 6
    assert "'desk'" in refused.stderr
    assert catalogue_events(database) == before + 3

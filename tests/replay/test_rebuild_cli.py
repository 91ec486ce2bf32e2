"""`ledgerline projections status | rebuild` as a developer runs them: a real process."""

from __future__ import annotations

import subprocess

from ledger.application import Ledger
from ledger.database import Database
from projections import generations
from projections.registry import all_projections
from tests.api.test_cli import LEDGERLINE, START_TIMEOUT_S, cli_env


def ledgerline(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(
        DATABASE_URL=database.url,
        LEDGERLINE_ENVIRONMENT="test",
        LEDGERLINE_LOG_FORMAT="json",
        COLUMNS="200",
    )
    return subprocess.run(
        [LEDGERLINE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


def live_generations(database: Database) -> list[tuple[int, bool, int]]:
    with database.connect() as conn:
        return [
            (g.generation, g.live, g.position) for g in generations.generations(conn, "partners")
        ]


def open_partners(ledger: Ledger, count: int) -> int:
    positions = [
        ledger.open_partner_account(name=f"Partner {n}", currency="USD", time_zone="UTC").position
        for n in range(count)
    ]
    return positions[-1]


def table_row(output: str, name: str) -> list[str]:
    """The cells of a read model's row in the status table."""
    [line] = [line for line in output.splitlines() if line.strip("│ ").startswith(f"{name} ")]
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def test_status_shows_each_read_model_with_its_lag_then_a_rebuild_swaps_it(
    ledger: Ledger, database: Database
) -> None:
    head = open_partners(ledger, 3)

    before = ledgerline(database, "projections", "status")
    assert before.returncode == 0, before.stderr
    start = str(head - 3)  # the template's catalogue, read already
    assert table_row(before.stderr, "partners") == ["partners", "#1", "1", start, "3", "-"]
    assert table_row(before.stderr, "balances")[:2] == ["balances", "#1"]

    rebuilt = ledgerline(database, "projections", "rebuild", "partners", "--yes")
    assert rebuilt.returncode == 0, rebuilt.stderr
    # The live generation (at 0: nothing served it) is brought to the new one's position first.
    assert f"No difference from the live generation (live at {head}, new at {head})" in (
        rebuilt.stderr
    )
    assert "Generation #2 of partners is live" in rebuilt.stderr
    assert live_generations(database) == [(2, True, head)]

    after = ledgerline(database, "projections", "status")
    assert table_row(after.stderr, "partners") == ["partners", "#2", "1", str(head), "0", "-"]


def test_rebuild_all_builds_every_read_model_in_parallel_and_swaps_each(
    ledger: Ledger, database: Database
) -> None:
    head = open_partners(ledger, 4)
    rebuilt = ledgerline(database, "projections", "rebuild", "all", "--yes", "--workers", "2")
    assert rebuilt.returncode == 0, rebuilt.stderr
    names = [p.name for p in all_projections()]
    for name in names:
        assert f"Generation #2 of {name} is live" in rebuilt.stderr, name
    with database.connect() as conn:
        rows = conn.execute(
            "SELECT projection, generation, position FROM projection_generations WHERE live"
        ).fetchall()
    assert sorted(rows) == sorted((name, 2, head) for name in names)


def test_a_dry_run_shows_the_diff_and_leaves_the_live_generation(
    ledger: Ledger, database: Database
) -> None:
    open_partners(ledger, 2)
    first = ledgerline(database, "projections", "rebuild", "partners", "--yes")
    assert first.returncode == 0, first.stderr
    [(live, _, position)] = live_generations(database)

    dry = ledgerline(
        database, "projections", "rebuild", "partners", "--dry-run", "--batch-size", "1"
    )
    assert dry.returncode == 0, dry.stderr
    assert "No difference from the live generation" in dry.stderr
    assert "Dry run: generation" in dry.stderr
    assert live_generations(database) == [(live, True, position)]

    unanswered = ledgerline(database, "projections", "rebuild", "partners")
    assert unanswered.returncode == 0, unanswered.stderr
    assert "the live read model is unchanged" in unanswered.stderr
    assert live_generations(database) == [(live, True, position)]


def test_rebuilding_an_unknown_read_model_exits_2_naming_the_read_models(
    database: Database,
) -> None:
    result = ledgerline(database, "projections", "rebuild", "ledgers", "--yes")
    assert result.returncode == 2
    assert "There is no read model 'ledgers'" in result.stderr
    assert "partners, balances" in result.stderr

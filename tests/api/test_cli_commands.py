"""The command line's own surface: --version, --json documents, help, and what each command starts.

Real `ledgerline` processes on real databases (about 0.5 s of CPU each, six in all); the help
pages are rendered in this process, since what is proved there is only what typer prints.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from importlib.metadata import version

import typer
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner

from api.cli import COMMANDS, cli
from ledger.application import EVENTS_TABLE, Ledger
from ledger.database import Database
from projections import generations
from tests.api.test_cli import LEDGERLINE, START_TIMEOUT_S, cli_env
from tests.support import created_database

PYTHON_TYPE = re.compile(r"<[^>\s]+>|%Y")
"""What typer prints for a value without a metavar: `<str>`, `<bool>`, `<UUID>`,
`<admin|partner|…>`, `<int range>`, or a datetime's strptime formats."""


def ledgerline(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGERLINE, *args],
        env=cli_env(
            DATABASE_URL=database.url, LEDGERLINE_ENVIRONMENT="test", LEDGERLINE_LOG_FORMAT="json"
        ),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


def tables_present(database: Database, *names: str) -> dict[str, bool]:
    found = {}
    with database.connect() as conn:
        for name in names:
            row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
            found[name] = row is not None and bool(row[0])
    return found


def test_version_prints_the_installed_package_version() -> None:
    result = subprocess.run(
        [LEDGERLINE, "--version"], env=cli_env(), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ledgerline {version('ledgerline')}\n"


def test_keys_and_status_open_the_database_alone_never_the_runtime(
    postgres_server: Database,
) -> None:
    """On an empty database the runtime would create the log's tables and log
    `runtime_started`: the keys commands create their table only, `projections status` the read
    models' (each a first, empty live generation), and neither starts the ledger."""
    with created_database(postgres_server) as empty:
        made = ledgerline(empty, "keys", "create", "--role", "admin", "--label", "ops")
        listed = ledgerline(empty, "keys", "list")
        status = ledgerline(empty, "projections", "status", "--json")
        present = tables_present(empty, "api_keys", "projection_generations", EVENTS_TABLE)

    assert made.returncode == 0, made.stderr
    key_id = made.stdout.split("_")[1]
    assert listed.returncode == 0, listed.stderr
    assert key_id in listed.stdout
    assert status.returncode == 0, status.stderr
    models = json.loads(status.stdout)["read_models"]
    assert {m["name"]: (m["live"], m["lag"]) for m in models}["partners"] == (
        {"generation": 1, "version": 1, "position": 0},
        0,
    )
    assert present == {"api_keys": True, "projection_generations": True, EVENTS_TABLE: False}
    for result in (made, listed, status):
        assert "runtime_started" not in result.stderr


def test_status_json_is_one_document_and_exits_1_when_a_read_model_is_stopped(
    ledger: Ledger, database: Database
) -> None:
    with database.connect() as conn:
        partners = generations.live(conn, "partners")
    assert partners is not None
    read = partners.position  # the template's catalogue, read already
    head = ledger.open_partner_account(name="Acme", currency="USD", time_zone="UTC").position
    with database.connect() as conn:
        balances = generations.live(conn, "balances")
        assert balances is not None
        generations.record_stop(
            conn, "balances", balances.generation, head, "tests:Unknown", "no rule for it"
        )

    result = ledgerline(database, "projections", "status", "--json")

    assert result.returncode == 1, result.stderr
    models = {m["name"]: m for m in json.loads(result.stdout)["read_models"]}
    assert models["partners"]["lag"] == head - read
    assert models["partners"]["stopped"] is None
    assert models["partners"]["needs_rebuild"] is False
    assert models["partners"]["other_generations"] == []
    stopped = models["balances"]["stopped"]
    assert (stopped["position"], stopped["topic"], stopped["reason"]) == (
        head,
        "tests:Unknown",
        "no rule for it",
    )
    assert "is stopped" not in result.stderr, "the table's words stay out of a --json run"


def test_tick_json_reports_the_work_done_as_one_document(
    database: Database, ledger: Ledger
) -> None:
    partner = ledger.open_partner_account(
        name="Acme", currency="USD", time_zone="UTC", key="open"
    ).aggregate_id
    assert partner is not None
    client = ledger.register_client(partner, name="Bistro", key="client").aggregate_id
    assert client is not None
    line = ledger.create_line(partner, client, "service-plan", key="line").aggregate_id
    assert line is not None
    ledger.activate_line(line, date(2026, 1, 31), key="activate")

    result = ledgerline(database, "tick", "--until", "2026-03-01T00:00+00:00", "--json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["at"] == "2026-03-01T00:00:00+00:00"
    assert (document["done"]["renew"], document["done"]["mark_overdue"]) == (1, 1)
    assert document["refused"] == {}
    assert "Billing clock at" not in result.stderr


def help_pages(command: object, path: tuple[str, ...] = ()) -> dict[str, str]:
    """Every command's --help page, by its command line."""
    runner = CliRunner()
    page = runner.invoke(cli, [*path, "--help"], env={"COLUMNS": "200"})
    assert page.exit_code == 0, page.output
    pages = {" ".join(("ledgerline", *path)): page.output}
    if isinstance(command, TyperGroup):
        context = typer.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None
            pages.update(help_pages(sub, (*path, name)))
    return pages


def test_help_names_every_value_and_shows_no_python_type_or_format() -> None:
    pages = help_pages(typer.main.get_command(cli))

    # The root, and every command and group with each of its subcommands.
    assert {line.split()[1] for line in pages if " " in line} == set(COMMANDS)
    assert {"ledgerline keys create", "ledgerline projections rebuild"} <= set(pages)
    for line, page in pages.items():
        assert not PYTHON_TYPE.findall(page), (line, PYTHON_TYPE.findall(page), page)
    assert re.search(r"--role +ROLE ", pages["ledgerline keys create"])
    assert re.search(r"--partner +PARTNER_ID ", pages["ledgerline keys create"])
    assert re.search(r"--until +INSTANT ", pages["ledgerline tick"])
    assert "2026-03-01T00:00+00:00" in pages["ledgerline tick"]
    assert "{KEY_ID}" in pages["ledgerline keys revoke"]
    assert "{READ_MODEL...}" in pages["ledgerline projections rebuild"]
    assert "{FILE}" in pages["ledgerline catalogue import"]
    assert re.search(r"--set +NAME=VALUE ", pages["ledgerline replay what-if"])
    assert re.search(r"--price +CODE@CUR=AMOUNT_MINOR ", pages["ledgerline replay what-if"])
    assert "--version" in pages["ledgerline"]

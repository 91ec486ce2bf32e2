"""`ledgerline audit verify | digest | public-key | export | check-bundle` as an operator and
an auditor run them: real processes (issue 14; api/cli/audit_proofs.py).

Eight `ledgerline` processes in all, about half a second of CPU each: that is the cost of
proving what a real process prints and exits with, and that `check-bundle` runs with no
database settings at all, or an unreachable one, and starts nothing.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from pathlib import Path
from uuid import UUID

import pytest

from api.cli.audit_proofs import EXIT_BAD_INPUT, EXIT_BROKEN
from api.cli.starting import EXIT_CONFIG
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.database import Database
from ledger.sealing import Sealer
from replay.proofs_keys import KEY_FILE
from tests.api.test_audit_proofs_http import tamper_four_ways
from tests.api.test_cli import LEDGERLINE, START_TIMEOUT_S, cli_env
from tests.histories import make_history

UNREACHABLE = "postgresql://ledgerline@127.0.0.1:9/nowhere"
"""A database URL nothing answers at (port 9, discard): a command that tried it would fail."""


def ledgerline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGERLINE, *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def partners(ledger: Ledger, clock: SimulatedClock) -> list[UUID]:
    return make_history(ledger, clock, 5, steps=40).partners


@pytest.fixture
def vendor(database: Database, tmp_path: Path) -> dict[str, str]:
    """The vendor's environment: the test's database, its own home (where the key is made)."""
    return cli_env(
        DATABASE_URL=database.url,
        LEDGERLINE_ENVIRONMENT="test",
        LEDGERLINE_LOG_FORMAT="json",
        LEDGERLINE_HOME=str(tmp_path / "vendor"),
    )


def test_r_x6_verify_reports_intact_then_each_tampered_row_by_position_and_exits_broken(
    database: Database, partners: list[UUID], vendor: dict[str, str]
) -> None:
    alone = ledgerline(vendor, "audit", "verify", "--partner", str(partners[0]), "--json")
    assert alone.returncode == 0, alone.stderr
    found = json.loads(alone.stdout)
    assert (found["intact"], found["partner_id"], found["chains"]) == (True, str(partners[0]), 1)
    assert "verifying" not in alone.stderr, "a progress bar with --json"

    expected = tamper_four_ways(database, partners)

    broken = ledgerline(vendor, "audit", "verify")
    assert broken.returncode == EXIT_BROKEN, broken.stderr
    assert broken.stdout.startswith("BROKEN: ")
    lines = broken.stdout.splitlines()[1:]
    for position, kind in expected:
        [line] = [line for line in lines if line.split()[:2] == ["position", str(position)]]
        assert kind == "moved" or f"  {kind}: " in line, line
    assert any("outside every chain" in line for line in lines)
    assert any(
        f"partner {partners[0]}" in line or f"partner {partners[1]}" in line for line in lines
    )


def test_a_bundle_exported_is_checked_offline_with_nothing_but_the_public_key(
    partners: list[UUID], vendor: dict[str, str], tmp_path: Path
) -> None:
    digest = ledgerline(vendor, "audit", "digest", "--json")
    assert digest.returncode == 0, digest.stderr
    kept = tmp_path / "kept-digest.json"
    kept.write_text(digest.stdout)
    key_file = Path(vendor["LEDGERLINE_HOME"]) / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    public = ledgerline(vendor, "audit", "public-key")
    assert public.returncode == 0, public.stderr
    assert public.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    public_key = tmp_path / "vendor.pub"
    public_key.write_text(public.stdout)
    bundle = tmp_path / "bundle.json"
    exported = ledgerline(
        vendor, "audit", "export", "--partner", str(partners[0]), "--out", str(bundle)
    )
    assert exported.returncode == 0, exported.stderr

    # The auditor's machine: no database settings at all, a home of its own.
    auditor_home = tmp_path / "auditor"
    auditor = cli_env(LEDGERLINE_HOME=str(auditor_home))
    valid = ledgerline(
        auditor,
        "audit",
        "check-bundle",
        str(bundle),
        "--public-key",
        str(public_key),
        "--digest",
        str(kept),
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
    events = json.loads(bundle.read_text())["events"]
    assert valid.stdout.startswith(f"valid: {len(events)} events of partner {partners[0]}")
    assert "extends the earlier digest" in valid.stdout
    assert not auditor_home.exists(), "check-bundle started something in its home"

    # One event's state changed; checked against an unreachable database URL, with the key
    # given as the digest's base64 instead of PEM.
    tampered = json.loads(bundle.read_text())
    state = base64.b64decode(tampered["events"][1]["state"]).replace(b"{", b"{ ", 1)
    tampered["events"][1]["state"] = base64.b64encode(state).decode()
    bundle.write_text(json.dumps(tampered))
    raw_key = tampered["digest"]["public_key"]
    unreachable = cli_env(DATABASE_URL=UNREACHABLE, LEDGERLINE_HOME=str(auditor_home))
    invalid = ledgerline(
        unreachable, "audit", "check-bundle", str(bundle), "--public-key", raw_key, "--json"
    )
    assert invalid.returncode == EXIT_BROKEN, invalid.stdout + invalid.stderr
    findings = json.loads(invalid.stdout)["findings"]
    assert [(f["code"], f["position"]) for f in findings] == [("altered", events[1]["position"])]

    not_a_bundle = ledgerline(
        unreachable, "audit", "check-bundle", str(public_key), "--public-key", raw_key
    )
    assert not_a_bundle.returncode == EXIT_BAD_INPUT
    assert "is not JSON" in not_a_bundle.stderr


def test_issue_11_a_sealed_ledger_is_verified_with_its_cipher_key_and_refused_without(
    database: Database, clock: SimulatedClock, vendor: dict[str, str]
) -> None:
    """Personal fields sealed (issue 11): the walk hashes the stored bytes, and the snapshot
    check opens them, so the key the ledger was sealed with is asked for, and used when given.
    Two processes more, about a second: what a sealed deployment's operator runs."""
    key = Sealer.create_key()
    sealed = Ledger(database, clock, sealer=Sealer(key), pool_size=1)
    try:
        make_history(sealed, clock, 7, steps=30)
    finally:
        sealed.close()

    verified = ledgerline({**vendor, "LEDGERLINE_CIPHER_KEY": key}, "audit", "verify", "--json")
    refused = ledgerline(vendor, "audit", "verify", "--json")

    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["intact"] is True
    assert refused.returncode == EXIT_CONFIG, refused.stderr
    assert "LEDGERLINE_CIPHER_KEY" in refused.stderr

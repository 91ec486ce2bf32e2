"""`ledgerline audit verify | digest | export | check-bundle`: proofs that the log was not
altered (issue 14)."""

from __future__ import annotations

from api.cli.audit import audit_cli  # noqa: F401

"""`ledgerline audit partner ID`: a partner's account as it stood at a moment (issue 14)."""

from __future__ import annotations

from api.cli.audit import audit_cli  # noqa: F401

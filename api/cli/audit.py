"""`ledgerline audit …`: an account as it stood at any moment, and the proofs that the log
was not altered (issue 14; docs/audit.md). The group is api/cli/audit_group.py; the commands
live in their own modules, each registering itself on it when imported here."""

from __future__ import annotations

import api.cli.audit_history
import api.cli.audit_proofs
from api.cli.audit_group import audit_cli

__all__ = ["audit_cli"]
COMMANDS = (api.cli.audit_history, api.cli.audit_proofs)
"""The modules whose commands the group holds (imported for that)."""

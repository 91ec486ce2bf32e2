"""Schemas shared by every resource: positions and the read-your-writes wait."""

from __future__ import annotations

from pydantic import BaseModel, Field

from projections.tracking import READ_WAIT_MAX_S

READ_WAIT_DEFAULT_MS = 2_000
READ_WAIT_MAX_MS = int(READ_WAIT_MAX_S * 1000)


class CommandAccepted(BaseModel):
    """A command was recorded: the id of what it created and its position in the log."""

    id: str = Field(description="Id of the resource the command created or changed.")
    position: int = Field(
        ge=1,
        description="Log position of the command's last event; pass it as `min_position` "
        "to a GET to read your own write.",
    )

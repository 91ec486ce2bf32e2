"""Request and response schemas of `/v1/test-clocks` (issue 15): a clock's name and instant,
an advance, and what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas.common import CommandAccepted, FreeText
from domain.values import TEXT_MAX_LENGTH
from ledger.command_records import CommandResult
from ledger.test_clock_index import ClockRow


class TestClockRequest(BaseModel):
    """Make a test clock standing at an instant."""

    __test__ = False  # not a pytest class, whatever its name
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "March renewals", "frozen_time": "2027-03-01T09:00:00Z"}]
        },
    )

    name: FreeText = Field(min_length=1, max_length=TEXT_MAX_LENGTH, description="Its name.")
    frozen_time: AwareDatetime = Field(
        description="The instant it stands at (ISO 8601 with an offset), for now and for every "
        "partner opened on it."
    )


class AdvanceRequest(BaseModel):
    """Move a test clock forward to a later instant, doing everything due on the way."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"frozen_time": "2027-06-01T09:00:00Z"}]}
    )

    frozen_time: AwareDatetime = Field(
        description="Where the clock goes: later than it stands (never back)."
    )


class TestClockResponse(BaseModel):
    """A test clock: where it stands, whether it is advancing, and the partners on it."""

    __test__ = False  # not a pytest class, whatever its name

    id: str
    name: str
    frozen_time: datetime
    status: str = Field(description="`ready`, `advancing` (to `target`) or `deleted`.")
    target: datetime | None = Field(description="Where the advance under way goes, if any.")
    created_at: datetime
    partners: list[str] = Field(description="The partners living on it (at most 100 listed).")

    @classmethod
    def of(cls, row: ClockRow, partners: list[Any]) -> TestClockResponse:
        return cls(
            id=str(row.clock_id),
            name=row.name,
            frozen_time=row.frozen_at,
            status=row.status.value,
            target=row.target,
            created_at=row.created_at,
            partners=[str(partner) for partner in partners],
        )


class TestClockAccepted(CommandAccepted):
    """The clock was made (or moved, or deleted): where it stands now."""

    __test__ = False  # not a pytest class, whatever its name

    status: str
    frozen_time: datetime
    target: datetime | None

    @classmethod
    def of(cls, answer: CommandAccepted, result: CommandResult) -> TestClockAccepted:
        target = result.data.get("target")
        return cls(
            **answer.model_dump(),
            status=result.data["status"],
            frozen_time=datetime.fromisoformat(result.data["frozen_time"]),
            target=datetime.fromisoformat(target) if target else None,
        )


class AdvanceAnswer(TestClockAccepted):
    """An advance: finished (201), with what it did, or still running (202: read the clock
    until it is `ready`)."""

    done: dict[str, int] | None = Field(
        description="Work done on the way, by kind (as the billing clock's tick reports it); "
        "null while advancing."
    )
    refused: dict[str, int] | None = Field(description="Work the rules refused, by kind.")
    steps: int | None = Field(description="Instants the clock stood at where work fell due.")

    @classmethod
    def finished(cls, answer: CommandAccepted, result: CommandResult) -> AdvanceAnswer:
        data = result.data
        return cls(
            **TestClockAccepted.of(answer, result).model_dump(),
            done=dict(data["done"]),
            refused=dict(data["refused"]),
            steps=int(data["steps"]),
        )

    @classmethod
    def running(cls, answer: CommandAccepted, result: CommandResult) -> AdvanceAnswer:
        return cls(
            **TestClockAccepted.of(answer, result).model_dump(), done=None, refused=None, steps=None
        )

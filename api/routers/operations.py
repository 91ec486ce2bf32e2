"""Liveness, readiness and metrics: what an orchestrator and a Prometheus server ask."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import RuntimeDep
from api.metrics import Metrics
from api.problems.documented import problem_entry
from api.problems.model import EdgeCode
from api.problems.responses import RETRY_AFTER_STOPPED_S, database_unavailable, problem_response
from api.reads import LedgerRouter
from api.runtime import Runtime
from api.schemas.common import ProjectionStop
from ledger.availability import BackgroundHealth, DatabaseUnavailable
from replay.rebuild import status as projection_status

router = LedgerRouter(tags=["operations"])

READY_CHECK_TIMEOUT_MS = 2_000
RETRY_AFTER_BACKGROUND_S = 1
"""A background task retries the database every 2 s at most (ledger/availability.py)."""


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class ProjectionReadiness(BaseModel):
    name: str
    position: int = Field(description="The last log position the live read model applied.")
    lag: int = Field(description="Events it has still to apply.")
    ready: bool
    stopped: ProjectionStop | None = Field(
        default=None,
        description="Set when the runner stopped this read model at an event it could not "
        "apply; the other read models carry on.",
    )


class BackgroundTask(BaseModel):
    """A background task this process started, and whether it runs and reaches the database."""

    name: str = Field(examples=["projections", "billing-clock", "mail"])
    ok: bool
    since: datetime = Field(description="When it became ok, or stopped being ok.")
    last_error: str | None = Field(description="What last kept it from the database, if any.")

    @classmethod
    def of(cls, health: BackgroundHealth) -> BackgroundTask:
        return cls(name=health.name, ok=health.ok, since=health.since, last_error=health.last_error)


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    database: str = Field(examples=["ok"])
    max_lag: int = Field(description="The lag bound (LEDGERLINE_READY_MAX_LAG).")
    projections: list[ProjectionReadiness]
    background: list[BackgroundTask] = Field(
        description="The background tasks this process started (none for a bare API)."
    )


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: problem_entry(
            "Not ready: the database does not answer (`database_unavailable`), a background "
            "task is not running (`background_not_running`), a read model stopped "
            "(`read_model_stopped`) or is behind the bound (`projections_behind`).",
            retry_after=True,
        )
    },
    summary="Readiness: the database answers, the background work runs, and every read model "
    "is within its lag bound",
)
def readyz(runtime: RuntimeDep) -> Any:
    bound = runtime.settings.ready_max_lag
    try:
        with (
            runtime.read_pool.connection(timeout=READY_CHECK_TIMEOUT_MS / 1000) as conn,
            conn.transaction(),
        ):
            # SET LOCAL ends with the transaction: the pooled connection goes back as it came.
            conn.execute(f"SET LOCAL statement_timeout = {READY_CHECK_TIMEOUT_MS}")
            models = projection_status(conn)
    except (psycopg.Error, TimeoutError, OSError, DatabaseUnavailable) as error:
        return database_unavailable(f"The database did not answer: {type(error).__name__}.")
    not_running = background_not_running(runtime)
    if not_running is not None:
        return not_running
    live = [
        ProjectionReadiness(
            name=model.name,
            position=model.position,
            lag=model.lag,
            ready=model.live is not None and model.lag <= bound and model.stop is None,
            stopped=ProjectionStop.of(model.stop),
        )
        for model in models
        if model.code_version is not None
    ]
    stopped = [model for model in live if model.stopped is not None]
    if stopped:
        return problem_response(
            503,
            EdgeCode.READ_MODEL_STOPPED,
            "Read models stopped",
            "Read models stopped at an event they cannot apply: "
            + ", ".join(
                f"{model.name} (log position {model.stopped.position})"
                for model in stopped
                if model.stopped is not None
            ),
            headers={"Retry-After": str(RETRY_AFTER_STOPPED_S)},
            extra={"projections": [model.model_dump(mode="json") for model in live]},
        )
    behind = [model for model in live if not model.ready]
    if behind:
        return problem_response(
            503,
            EdgeCode.PROJECTIONS_BEHIND,
            "Projections behind",
            "Read models behind the log beyond the bound: "
            + ", ".join(f"{model.name} ({model.lag} events)" for model in behind),
            headers={"Retry-After": "1"},
            extra={
                "projections": [model.model_dump(mode="json") for model in live],
                "max_lag": bound,
            },
        )
    background = [BackgroundTask.of(health) for health in runtime.background_health()]
    return Readiness(
        status="ready", database="ok", max_lag=bound, projections=live, background=background
    )


def background_not_running(runtime: Runtime) -> JSONResponse | None:
    """503 `background_not_running` while a background task this process started (projection
    runner, billing clock, mail sender) has stopped or cannot reach the database; else None."""
    tasks = [BackgroundTask.of(health) for health in runtime.background_health()]
    down = [task for task in tasks if not task.ok]
    if not down:
        return None
    return problem_response(
        503,
        EdgeCode.BACKGROUND_NOT_RUNNING,
        "Background work not running",
        "Not running or not connected: " + ", ".join(task.name for task in down),
        headers={"Retry-After": str(RETRY_AFTER_BACKGROUND_S)},
        extra={"background": [task.model_dump(mode="json") for task in tasks]},
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    summary="Metrics in the Prometheus text format",
)
def metrics(request: Request) -> Response:
    collected: Metrics = request.app.state.metrics
    return Response(collected.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

"""`/v1/ledger/trial-balance` and `/v1/projections/status`: the books and the read models as a
whole, for the vendor's back office (admin, finance, auditor; never a partner key)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from api.deps import ReadAfterDep, ReadConnection
from api.problems.documented import READ_PROBLEMS, problem_entry
from api.reads import LedgerRouter
from api.schemas.common import MoneySum, ProjectionStop
from api.security import Overseer
from domain.errors import InvalidValue
from projections.balances import Balances, account_totals, trial_balance
from projections.generations import live_position
from replay.rebuild import head_position
from replay.rebuild import status as projection_status

router = LedgerRouter(tags=["ledger"])
projections_router = LedgerRouter(tags=["projections"])

POSITION_MAX = 2**63 - 1
"""A log position is a PostgreSQL bigint."""

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
"""A business date, written only as ISO 8601 does (not as a timestamp, which lax parsing takes)."""

BACK_OFFICE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **{status: READ_PROBLEMS[status] for status in (401, 422, 503)},
    403: problem_entry("A partner key: the ledger as a whole is not a partner's (`forbidden`)."),
}


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"{text} is not a date.", field="as_of_date") from None


class CurrencyTotals(BaseModel):
    """All debits and all credits posted in one currency: equal when the books balance."""

    currency: str
    debits: MoneySum
    credits: MoneySum
    balanced: bool = Field(description="Debits equal credits (R-X2).")


class AccountTotals(BaseModel):
    """One account of the chart, summed over all its owners, in one currency."""

    account_kind: str = Field(examples=["receivable"])
    currency: str
    debits: MoneySum
    credits: MoneySum
    balance: MoneySum = Field(description="Debits minus credits.")


class TrialBalanceResponse(BaseModel):
    """The trial balance (R-X2): per currency debits = credits, and every account's balance."""

    position: int = Field(
        ge=0, description="The log position the figures are as of (every event up to it)."
    )
    as_of_date: date | None = Field(description="Only entries of business dates up to this one.")
    balanced: bool = Field(description="Every currency balances.")
    currencies: list[CurrencyTotals]
    accounts: list[AccountTotals]


class GenerationView(BaseModel):
    """A generation of a read model other than the live one (being rebuilt, or kept)."""

    generation: int
    version: int
    position: int


class ProjectionStatus(BaseModel):
    """A read model: its live generation, the rules' version it was built by, how far behind."""

    name: str
    code_version: int | None = Field(
        description="The version of the running code; null for a read model it no longer has."
    )
    live_generation: int | None
    version: int | None = Field(description="The version the live generation was built by.")
    position: int = Field(ge=0, description="The last log position the live generation applied.")
    lag: int = Field(ge=0, description="Events in the log it has still to apply.")
    needs_rebuild: bool = Field(description="Built by another version than the code's.")
    building: list[GenerationView]
    stopped: ProjectionStop | None = Field(
        default=None,
        description="Set when the live runner stopped this read model at an event it could not "
        "apply; the other read models carry on.",
    )


class ProjectionsStatusResponse(BaseModel):
    """Every read model and the head of the log."""

    head_position: int = Field(ge=0, description="The last position of the log.")
    projections: list[ProjectionStatus]


@router.get(
    "/v1/ledger/trial-balance",
    response_model=TrialBalanceResponse,
    responses=BACK_OFFICE_PROBLEMS,
    summary="Read the trial balance",
)
def get_trial_balance(
    conn: ReadConnection,
    read_after: ReadAfterDep,
    _: Overseer,
    as_of_position: Annotated[
        int | None,
        Query(ge=0, le=POSITION_MAX, description="Only events up to this log position."),
    ] = None,
    as_of_date: Annotated[
        str | None,
        Query(
            pattern=ISO_DATE,
            description="Only entries of business dates up to this one (YYYY-MM-DD).",
            examples=["2026-02-28"],
        ),
    ] = None,
) -> TrialBalanceResponse:
    """Debits and credits per currency and per account of the chart, now or as of a log
    position or business date. Every monetary event posts balanced entries, so every currency
    balances at every position (R-X2). Admin, finance and auditor keys."""
    on = _iso_date(as_of_date) if as_of_date else None
    read_after.wait(conn, Balances.name)
    # The position first: the journal holds at least every entry up to it, so filtering on it
    # gives figures as of one position even while the read model moves on.
    reached = live_position(conn, Balances.name)
    position = reached if as_of_position is None else min(reached, as_of_position)
    totals = trial_balance(conn, position=position, on=on)
    currencies = [
        CurrencyTotals(
            currency=currency,
            debits=MoneySum(amount_minor=debits, currency=currency),
            credits=MoneySum(amount_minor=credits, currency=currency),
            balanced=debits == credits,
        )
        for currency, (debits, credits) in totals.items()
    ]
    accounts = [
        AccountTotals(
            account_kind=account.account_kind,
            currency=account.currency,
            debits=MoneySum(amount_minor=account.debit_minor, currency=account.currency),
            credits=MoneySum(amount_minor=account.credit_minor, currency=account.currency),
            balance=MoneySum(amount_minor=account.balance_minor, currency=account.currency),
        )
        for account in account_totals(conn, position=position, on=on)
    ]
    return TrialBalanceResponse(
        position=position,
        as_of_date=on,
        balanced=all(item.balanced for item in currencies),
        currencies=currencies,
        accounts=accounts,
    )


@projections_router.get(
    "/v1/projections/status",
    response_model=ProjectionsStatusResponse,
    responses={status: BACK_OFFICE_PROBLEMS[status] for status in (401, 403)},
    summary="Read the status of every read model",
)
def get_projections_status(conn: ReadConnection, _: Overseer) -> ProjectionsStatusResponse:
    """Each read model's live generation, its version, the position it reached and its lag
    behind the log, and any generation being rebuilt beside it. Admin, finance and auditor
    keys."""
    models = projection_status(conn)
    return ProjectionsStatusResponse(
        head_position=head_position(conn),
        projections=[
            ProjectionStatus(
                name=model.name,
                code_version=model.code_version,
                live_generation=model.live.generation if model.live else None,
                version=model.live.version if model.live else None,
                position=model.position,
                lag=model.lag,
                needs_rebuild=model.needs_rebuild,
                building=[
                    GenerationView(
                        generation=other.generation, version=other.version, position=other.position
                    )
                    for other in model.building
                ],
                stopped=ProjectionStop.of(model.stop),
            )
            for model in models
        ],
    )

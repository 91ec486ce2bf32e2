"""The stack alone: FastAPI on uvicorn (uvloop, httptools) with nothing of Ledgerline, the
baseline bench/http.py measures in the same run (issue 16).

Two routes shaped as Ledgerline's: `GET /healthz`, and `POST /v1/partners/{id}/top-ups` taking
the same body through a pydantic model and answering 201 with a small JSON document, both
coroutines. What Ledgerline adds to a request is the difference.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID, uuid4

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field

app = FastAPI()


class Amount(BaseModel):
    amount_minor: int = Field(ge=1, le=10**15)
    currency: str = Field(min_length=3, max_length=3)


class TopUp(BaseModel):
    amount: Amount
    source: Literal["card", "bank_transfer"]
    reference: str | None = Field(default=None, max_length=200)


class Accepted(BaseModel):
    id: UUID
    position: int
    top_up_id: UUID


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/partners/{partner_id}/top-ups", status_code=201)
async def top_up(
    partner_id: UUID,
    body: TopUp,
    idempotency_key: str = Header(alias="Idempotency-Key", min_length=1, max_length=255),
) -> Accepted:
    return Accepted(id=partner_id, position=0, top_up_id=uuid4())

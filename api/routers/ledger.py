"""`/v1/ledger`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ledger"])

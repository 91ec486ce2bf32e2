"""`/v1/clients`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["clients"])

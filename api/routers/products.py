"""`/v1/products`: the catalogue as history (issue 13), and partners' price overrides.

The vendor's admin keys write (create, add a price, retire, set an override); every role
reads products and their prices; a partner reads its own overrides only. What applies to
existing lines is in docs/catalogue.md.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path, Response, status

from api.deps import ReadAfterDep, ReadConnection, RuntimeDep
from api.problems.documented import COMMAND_PROBLEMS, READ_PROBLEMS
from api.reads import LedgerRouter
from api.routers.partner_common import PREFIX as PARTNERS
from api.routers.partner_common import readable_partner, wait_for
from api.schemas.common import CommandAccepted, accepted
from api.schemas.products import (
    CODE_PATTERN,
    AddPriceRequest,
    CreateProductRequest,
    PriceOverrideList,
    PriceOverrideModel,
    PriceOverrideRequest,
    ProductList,
    ProductResponse,
)
from api.security import Admin, Caller, IdempotencyKey
from domain.errors import ProductNotFound
from ledger.commands import catalogue as commands
from projections.catalogue import CatalogueModel

PREFIX = "/v1/products"
router = LedgerRouter(tags=["catalogue"])
overrides_router = LedgerRouter(tags=["partners"])
"""Partners' overrides: under `/v1/partners/{id}`, with the partner's other resources."""
Code = Annotated[str, Path(pattern=CODE_PATTERN, description="The product's code.")]
PartnerId = Annotated[UUID, Path(description="The partner account's id.")]


@router.get(
    PREFIX,
    response_model=ProductList,
    responses=READ_PROBLEMS,
    summary="List products",
)
def list_products(conn: ReadConnection, read_after: ReadAfterDep, _: Caller) -> ProductList:
    """Every product in the catalogue, retired ones included, with its prices as history."""
    wait_for(conn, read_after, CatalogueModel.name)
    return ProductList(items=[ProductResponse.of(p) for p in CatalogueModel.products(conn)])


@router.get(
    f"{PREFIX}/{{code}}",
    response_model=ProductResponse,
    responses=READ_PROBLEMS,
    summary="Read a product",
)
def get_product(
    code: Code, conn: ReadConnection, read_after: ReadAfterDep, _: Caller
) -> ProductResponse:
    """A product with every price version it has had, per currency, and when each applies."""
    wait_for(conn, read_after, CatalogueModel.name)
    found = CatalogueModel.products(conn, code)
    if not found:
        raise ProductNotFound.of(code)
    return ProductResponse.of(found[0])


@router.post(
    PREFIX,
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Create a product",
)
async def create_product(
    body: CreateProductRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Add a product, with no price yet (admin only). Refused, writing nothing: a code in use
    (`product_exists`), names without English (`invalid_value`)."""
    command = commands.CreateProduct(
        code=body.code,
        names=tuple(sorted(body.names.items())),
        unit=body.unit,
        actor=caller.actor,
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PREFIX}/{body.code}", body.code)


@router.post(
    f"{PREFIX}/{{code}}/prices",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Add or supersede a price",
)
async def add_price(
    code: Code,
    body: AddPriceRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Add a price in one currency from a business date (admin only); a later date supersedes
    the price before it from that day: lines pay it from their first period starting then,
    unless `applies_to_existing` is `never` (grandfathered). Refused, writing nothing: a date
    not after the last price's (`price_not_later`) or before tomorrow anywhere
    (`price_change_too_soon`), an amount above the bound (`amount_too_large`)."""
    command = commands.AddPrice(
        code=code,
        amount=body.amount.to_money(),
        effective_from=body.effective_from,
        applies_to_existing=body.applies_to_existing,
        actor=caller.actor,
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PREFIX}/{code}", code)


@router.post(
    f"{PREFIX}/{{code}}/retirement",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Retire a product",
)
async def retire_product(
    code: Code, runtime: RuntimeDep, response: Response, caller: Admin, key: IdempotencyKey
) -> CommandAccepted:
    """Stop selling a product (admin only): no new line (`product_retired`); lines already
    sold keep renewing at their prices."""
    command = commands.RetireProduct(code=code, actor=caller.actor)
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PREFIX}/{code}", code)


@overrides_router.post(
    f"{PARTNERS}/{{partner_id}}/price-overrides",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
    responses=COMMAND_PROBLEMS,
    summary="Set a partner's price override",
)
async def set_price_override(
    partner_id: PartnerId,
    body: PriceOverrideRequest,
    runtime: RuntimeDep,
    response: Response,
    caller: Admin,
    key: IdempotencyKey,
) -> CommandAccepted:
    """Set the partner's own unit price, or a percentage off, for a product in its currency
    from a business date (admin only); its invoice lines show the override applied."""
    command = commands.SetPriceOverride(
        partner_id=partner_id,
        code=body.product_code,
        effective_from=body.effective_from,
        unit_price=None if body.unit_price is None else body.unit_price.to_money(),
        percent_off=body.percent_off,
        actor=caller.actor,
    )
    result = await runtime.ledger.submit(command, key)
    return accepted(response, result, f"{PARTNERS}/{partner_id}/price-overrides", partner_id)


@overrides_router.get(
    f"{PARTNERS}/{{partner_id}}/price-overrides",
    response_model=PriceOverrideList,
    responses=READ_PROBLEMS,
    summary="Read a partner's price overrides",
)
def get_price_overrides(
    partner_id: PartnerId, conn: ReadConnection, read_after: ReadAfterDep, caller: Caller
) -> PriceOverrideList:
    """The partner's overrides, as set (a partner reads its own only)."""
    readable_partner(conn, caller, partner_id, read_after, CatalogueModel.name)
    overrides = CatalogueModel.overrides(conn, partner_id)
    return PriceOverrideList(
        partner_id=partner_id, items=[PriceOverrideModel.of(o) for o in overrides]
    )

"""Free text has one rule (domain/text.py `printable_text`): the edge applies the domain's own
function to every text field of every request, so what the API refuses as `validation_failed`
and what the domain refuses are the same text, in the same words."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

import api.routers
from api.schemas.common import FreeText
from domain.errors import InvalidValue
from domain.text import printable_text

UNHOLDABLE = "a\x00b"
NUMBERS = frozenset(
    {
        "CardModel.number",
        "CardModel.cvv",
        "CardModel.postal_code",
        "BankAccountModel.routing_number",
        "BankAccountModel.account_number",
    }
)
"""Card and bank numbers are not free text: the domain reads them as digits and refuses
anything else (R-X4), a NUL included."""


def request_models() -> list[type[BaseModel]]:
    """Every model a route reads a body into, and the models nested in them."""
    found: list[type[BaseModel]] = []
    for module in pkgutil.iter_modules(api.routers.__path__):
        for value in vars(importlib.import_module(f"api.routers.{module.name}")).values():
            requested = isinstance(value, type) and issubclass(value, BaseModel)
            if requested and value.__name__.endswith(("Request", "RequestBody")):
                found.append(value)
    for model in found:  # grows while walked: nested models are requests too
        for field in model.model_fields.values():
            for nested in typing.get_args(field.annotation) or (field.annotation,):
                if isinstance(nested, type) and issubclass(nested, BaseModel):
                    found.append(nested)
    return list(dict.fromkeys(found))


def holds_str(kind: Any) -> bool:
    """`str`, or `str` annotated (an optional FreeText is `Annotated[str, …] | None`)."""
    return kind is str or (typing.get_origin(kind) is Annotated and typing.get_args(kind)[0] is str)


def unholdable_for(annotated: Any) -> str | list[str] | dict[str, str]:
    """The unholdable text, in a list for a field of several (an address's lines), under
    English for a field of one per language (a product's names)."""
    kind = typing.get_args(annotated)[0] if hasattr(annotated, "__metadata__") else annotated
    if typing.get_origin(kind) is dict:
        return {"en": UNHOLDABLE}
    return [UNHOLDABLE] if typing.get_origin(kind) is list else UNHOLDABLE


def text_fields() -> list[tuple[str, Any]]:
    """Each request field holding text that no pattern narrows (names, reasons, e-mails)."""
    fields = []
    for model in request_models():
        for name, field in model.model_fields.items():
            texts = any(
                holds_str(kind) for kind in (field.annotation, *typing.get_args(field.annotation))
            )
            patterned = any(getattr(meta, "pattern", None) for meta in field.metadata)
            qualified = f"{model.__name__}.{name}"
            if texts and not patterned and qualified not in NUMBERS:
                meta = tuple(field.metadata)
                fields.append(
                    (qualified, Annotated[(field.annotation, *meta)] if meta else field.annotation)
                )
    return fields


TEXT_FIELDS = text_fields()


def test_the_requests_have_the_free_text_fields_this_test_walks() -> None:
    names = {name for name, _ in TEXT_FIELDS}
    assert {"OpenPartnerRequest.name", "VoidRequest.reason", "CardModel.holder"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize(("name", "annotated"), TEXT_FIELDS, ids=[n for n, _ in TEXT_FIELDS])
def test_every_free_text_field_refuses_what_the_domain_refuses_in_its_words(
    name: str, annotated: Any
) -> None:
    field = name.rsplit(".", 1)[1]
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(annotated).validate_python(unholdable_for(annotated))
    messages = [error["msg"] for error in refused.value.errors()]
    assert any("must not hold control characters." in message for message in messages), name
    with pytest.raises(InvalidValue, match=f"^{field} must not hold control characters"):
        printable_text(field, UNHOLDABLE)


class Named(BaseModel):
    name: FreeText


@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=12))
def test_the_edge_refuses_text_exactly_when_the_domain_does(text: str) -> None:
    try:
        printable_text("name", text)
        domain_refusal = None
    except InvalidValue as refused:
        domain_refusal = refused.detail
    try:
        edge_refusal = None if Named(name=text).name == text else "changed"
    except ValidationError as refused:
        edge_refusal = refused.errors()[0]["msg"].removeprefix("Value error, ")
    assert edge_refusal == domain_refusal  # the edge keeps the text: the domain collapses it

"""Help pages that name each value (ROLE, INSTANT) instead of showing its Python type."""

from __future__ import annotations

from typing import Any

from typer._click.core import Context, Parameter
from typer._click.types import ParamType
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

NO_METAVAR = ""
"""A flag takes no value: typer would still print `<bool>` beside it."""


class _Unnamed(ParamType):
    """An argument's type that converts as its own but names nothing in the help.

    typer prints the Python type (`<str>`, `<list[str]>`) beside every argument, even one with a
    metavar (KEY_ID); the metavar already names it and its help says what it takes.
    """

    def __init__(self, inner: ParamType) -> None:
        self.inner = inner
        self.name = inner.name

    def get_metavar(self, param: Parameter, ctx: Context) -> str:
        return ""

    def convert(self, value: Any, param: Parameter | None, ctx: Context | None) -> Any:
        return self.inner.convert(value, param, ctx)


def _readable(params: list[Any]) -> None:
    for param in params:
        if isinstance(param, TyperArgument):
            if not isinstance(param.type, _Unnamed):
                param.type = _Unnamed(param.type)
        elif isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = NO_METAVAR


class _Readable:
    """Makes a command's or group's parameters, and its --help, readable (see `_readable`)."""

    params: list[Any]

    def _make_readable(self) -> None:
        _readable(self.params)

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _readable([option])
        return option  # type: ignore[no-any-return]


class ReadableCommand(_Readable, TyperCommand):
    """A command whose help shows metavars, never `<str>`, `<bool>` or strptime formats."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._make_readable()


class ReadableGroup(_Readable, TyperGroup):
    """A group of commands whose help shows no Python types either."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._make_readable()

"""Help pages that name each value (ROLE, INSTANT) instead of showing its Python type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    # typer vendors click and does not re-export the Context its methods are typed with.
    from typer._click.core import Context

NO_METAVAR = ""
"""A flag takes no value: typer would still print `<bool>` beside it."""


class _NamedArgument(TyperArgument):
    """An argument whose metavar (KEY_ID) is its whole description in the help's type column.

    typer prints the Python type (`<str>`, `<list[str]>`) beside every argument, even one with a
    metavar; the metavar already names it and its help says what it takes.
    """

    def display_type_rich(self, ctx: Context) -> str | None:
        return None


def _readable(params: list[Any]) -> None:
    for param in params:
        if isinstance(param, TyperArgument):
            param.__class__ = _NamedArgument
        elif isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = NO_METAVAR


class ReadableCommand(TyperCommand):
    """A command whose help shows metavars, never `<str>`, `<bool>` or strptime formats."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _readable(self.params)

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            _readable([option])
        return option


class ReadableGroup(TyperGroup):
    """A group of commands whose help shows no Python types either."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _readable(self.params)

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            _readable([option])
        return option

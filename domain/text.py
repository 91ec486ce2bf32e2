"""Text a person types: the one rule that every free-text field meets, in the domain and at
the edge."""

from __future__ import annotations

from domain.errors import InvalidValue


def printable_text(field: str, value: str) -> str:
    """The text with its whitespace collapsed, unless it holds a control character (NUL, which
    PostgreSQL's text and jsonb refuse, among them), an invisible format character or half of a
    surrogate pair. The one rule for text a person types: `clean_text` applies it, and the API
    applies it to every text field at its edge (api/schemas.py `FreeText`)."""
    text = " ".join(value.split())
    if not text.isprintable():
        raise InvalidValue(f"{field} must not hold control characters.", field=field)
    return text

"""Shared API schema helpers: database ids, paging and the text every input field is checked for.

Every app's API schemas build on these (``PageQuery`` for lists, ``ObjectId`` for ids, ``clean_text``
as a field validator); the list function itself is :func:`banyan.core.api.page`.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from ninja import Field, Schema
from pydantic import field_validator

# A database id: positive and within a 64-bit integer, so that no lookup can overflow.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def hidden_character(value: str) -> str | None:
    """The first character of ``value`` that no one can see, as ``U+XXXX``, or ``None``.

    Control characters (Unicode category Cc: C0, DEL, C1) and format characters (Cf): zero-width
    spaces and joiners (U+200B–U+200D, U+2060, U+FEFF), direction marks and overrides (U+200E/F,
    U+202A–U+202E, U+2066–U+2069) and the like. They make a name look like another one, or turn
    the text around it backwards on screen.
    """
    for c in value:
        if (c.isascii() and c.isprintable()) or c == " ":
            continue
        if unicodedata.category(c) in ("Cc", "Cf"):
            return f"U+{ord(c):04X}"
    return None


def clean_text(value):
    """Refuse control, zero-width and direction characters and unpaired surrogates in any text."""
    if isinstance(value, str):
        found = hidden_character(value)
        if found:
            raise ValueError(
                f"must not contain control, zero-width or text-direction characters (found {found})"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    return value


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=500, description="page size, 1–500")
    offset: int = Field(0, ge=0, le=10**9)

    _text = field_validator("*")(clean_text)

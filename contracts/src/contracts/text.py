"""Plain text for names and file names: no control characters (C0, DEL, C1: NUL, BEL, ESC...)
and no bidirectional controls (U+202E and its kin), which are invisible, reorder what a reader
sees, or break terminals, CSV files and logs. Input models refuse them in names
(:data:`PlainText`); a file name is reduced to a safe base name instead (:func:`safe_filename`)."""

from __future__ import annotations

import unicodedata

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# Embeddings, overrides, isolates and marks that change the order text is shown in.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS


def plain(value: str | None) -> str | None:
    """The value, if it holds no control character (a validation error otherwise)."""
    if value is not None and any(is_control(c) for c in value):
        raise PydanticCustomError(
            "control_character",
            "control characters and bidirectional overrides are not allowed",
        )
    return value


PlainText = AfterValidator(plain)  # Annotated[str, ..., PlainText]


def safe_filename(name: str | None, default: str = "attachment", max_length: int = 200) -> str:
    """The base name of ``name`` (a client's path, with / or \\), without control characters
    and leading dots; ``default`` when nothing is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if not is_control(c)).strip().lstrip(".")
    return base[:max_length] or default

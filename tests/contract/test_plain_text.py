"""Plain text in names and safe file names (contracts.text)."""

from __future__ import annotations

import pytest
from contracts.text import plain, safe_filename
from pydantic_core import PydanticCustomError


@pytest.mark.parametrize("bad", ["a\x00", "a\x07", "a\x1b", "a\x7f", "a\x85", "a\u202e", "\u2067a"])
def test_control_and_bidi_characters_are_refused(bad: str) -> None:
    with pytest.raises(PydanticCustomError):
        plain(bad)


def test_ordinary_text_passes() -> None:
    for good in ("Ana María", "Zoë O'Neil-Pop", "مرحبا", "👩‍⚕️ Dr.", None):
        assert plain(good) == good


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/x.txt", "x.txt"),
        ("C:\\Users\\a\\y.pdf", "y.pdf"),
        (".hidden", "hidden"),
        ("..", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        ("a\x00b\u202e.txt", "ab.txt"),
    ],
)
def test_a_filename_becomes_a_safe_base_name(sent: str | None, kept: str) -> None:
    assert safe_filename(sent) == kept

"""Blank means the same to the API's schema as to the server that trims what it is sent."""

from __future__ import annotations

import re

from feeds.blank import BLANK, NONBLANK_TEXT_PATTERN


def test_blank_is_exactly_what_python_trims():
    blank = re.compile(f"[{BLANK}]")
    every = (chr(code) for code in range(0x110000))
    assert [c for c in every if blank.fullmatch(c)] == [c for c in map(chr, range(0x110000)) if c.isspace()]


def test_the_pattern_names_its_characters_rather_than_ecma_or_python_whitespace():
    # "\x1f" is blank to Python (trimmed away) but not to a schema's `\s`; "\ufeff" the other way.
    assert "\\s" not in NONBLANK_TEXT_PATTERN
    assert not re.search(NONBLANK_TEXT_PATTERN, "\x1f \x85\x00")
    assert re.search(NONBLANK_TEXT_PATTERN, "\ufeff")

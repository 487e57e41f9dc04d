"""What counts as blank in text people send, spelled out for both Python and the API's schema.

Trimming (`str.strip`) and Python's `\\s` treat as blank exactly the characters `str.isspace`
accepts. A JSON Schema `pattern` is an ECMA-262 regular expression, whose `\\s` differs: it leaves
out \\x1c-\\x1f and \\x85 and adds \\ufeff. A pattern written with `\\s` would let the schema call a
title of "\\x1f" text while the server trims it to nothing, so patterns use this class instead.
"""

from __future__ import annotations

# Every character for which `str.isspace()` is true, as a regular-expression class body.
BLANK = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Required text needs one character that is neither blank nor NUL.
NONBLANK_TEXT_PATTERN = rf"[^{BLANK}\x00]"

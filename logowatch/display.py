"""How names from outside (file names, entity names, account ids) are shown on one line.

A file name may hold any character but ``/`` and NUL: a newline or a terminal escape in one must
neither break a table's line nor steer the terminal, nor stop a picture's header from being drawn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

#: Characters that would let a file name break a line or steer the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with control characters (newlines, escapes) shown as escapes, for one line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def some(items: Sequence[str], shown: int = 3, separator: str = ", ") -> str:
    """The first ``shown`` of ``items``, and how many more there are."""
    return separator.join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def columns(text: str) -> int:
    """How many columns of a terminal ``text`` takes: two for a wide character (Chinese, Japanese
    and Korean script, full-width forms), none for a combining mark, one for any other."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text
    )


def padded(text: str, width: int) -> str:
    """``text`` followed by the spaces that make it ``width`` columns of a terminal wide (see
    :func:`columns`); as it is where it is wider."""
    return text + " " * max(0, width - columns(text))

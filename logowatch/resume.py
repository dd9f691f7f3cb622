"""Reading back a JSON-lines output to carry on after a crash: what was done, and where to append.

A scan and an accounts run both write one JSON object per line and flush each, so a killed run
leaves whole lines and, at most, one half-written last line. Resuming reads the whole lines back
through the value's own ``from_dict``, refuses a file it did not write (a CSV, notes, a damaged
line in the middle) and cuts off only a truly partial last line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from logowatch.errors import OutputError
from logowatch.files import write_atomically

logger = logging.getLogger(__name__)

Row = TypeVar("Row")


@dataclass(frozen=True)
class Written(Generic[Row]):
    """What an output file already holds: its rows, and the size up to its last whole line."""

    rows: tuple[Row, ...]
    keep_bytes: int


def read_written(output: Path, parse: Callable[[Mapping[str, Any]], Row], first_key: str, kind: str) -> Written[Row]:
    """The rows already written to the JSON-lines file ``output`` (none if it is absent), each read
    by ``parse`` (a value's ``from_dict``).

    Every whole line must be such a row (``kind`` names it in the error); otherwise
    :class:`OutputError` is raised and the file is left as it is. A last line without its newline
    that starts like a row (with ``first_key``, or with as much of that opening as was written) is
    what a killed run leaves: it is not counted,
    and ``keep_bytes`` says where it starts, so that :func:`repair` can cut it off."""
    if not output.exists():
        return Written((), 0)
    try:
        data = output.read_bytes()
    except OSError as exc:
        raise OutputError(f"{output}: cannot read it to resume: {exc.strerror or exc}") from exc
    rows: list[Row] = []
    position = 0
    opening = b'{"' + first_key.encode("ascii") + b'"'
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        if not line.endswith(b"\n"):
            begun = line.lstrip()
            # Cut off anywhere, even inside the opening itself (a full disk can leave '{"pa').
            if begun.startswith(opening) or opening.startswith(begun):
                logger.warning("%s: a half-written last line (%d bytes) will be replaced", output, len(line))
                break
            raise _foreign(output, f"its last line is not {kind}")
        try:
            rows.append(parse(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _foreign(output, f"line {number} is not {kind} ({exc})") from exc
        position += len(line)
    return Written(tuple(rows), position)


def _foreign(output: Path, why: str) -> OutputError:
    return OutputError(
        f"{output}: {why}; a run resumes only a JSON-lines file that logowatch wrote "
        "(nothing was changed; write to another file)"
    )


def refuse_other_rules(
    output: Path, what: str, library: tuple[str | None, str], threshold: tuple[float, float]
) -> None:
    """Refuse to append to a row of ``output`` (``what``, in words) made by other rules: ``library``
    and ``threshold`` are (the row's, this run's). One file, one run's rules; nothing is changed."""
    written, current = library
    if written != current:
        raise OutputError(
            f"{output}: {what} was made with another reference library, logowatch version, account "
            f"rules or text check (on or off, see `logowatch index`) ({written}, this run {current}); "
            "resume with the same, or write to another file "
            "(nothing was changed)"
        )
    if abs(threshold[0] - threshold[1]) > 1e-9:
        raise OutputError(
            f"{output}: {what} was judged at threshold {threshold[0]:g}, this run uses {threshold[1]:g}; "
            "resume with the same threshold, or write to another file (nothing was changed)"
        )


def drop_rows(output: Path, written: Written[Row], dropped: Callable[[Row], bool]) -> Written[Row]:
    """``output`` rewritten without the rows that ``dropped`` picks (and without a half-written last
    line), in one atomic replacement: a crash leaves the file as it was or as it is now, never
    half of it. What it then holds is returned; a file with no such row is left as it is."""
    marked = [dropped(row) for row in written.rows]  # once a row: ``dropped`` may count them
    if not any(marked):
        return written
    try:
        data = output.read_bytes()[: written.keep_bytes]
    except OSError as exc:
        raise OutputError(f"{output}: cannot read it to resume: {exc.strerror or exc}") from exc
    lines = data.splitlines(keepends=True)
    if len(lines) != len(written.rows):
        raise OutputError(f"{output}: it changed while being resumed (another run writing to it?); nothing was changed")
    kept = [(line, row) for line, row, gone in zip(lines, written.rows, marked, strict=True) if not gone]
    content = b"".join(line for line, _ in kept)
    write_atomically(output, content)
    return Written(tuple(row for _, row in kept), len(content))


def repair(output: Path, written: Written[Any]) -> None:
    """Cut a half-written last line off ``output``, so that appending starts on a clean line."""
    try:
        if output.exists() and output.stat().st_size > written.keep_bytes:
            with output.open("r+b") as handle:
                handle.truncate(written.keep_bytes)
    except OSError as exc:
        raise OutputError(f"{output}: cannot repair it to resume: {exc.strerror or exc}") from exc

"""Result rows out: JSON lines, CSV and a terminal table.

Every writer writes and flushes one row at a time, so that what a scan has done is on disk if it
is killed, and so that ``--resume`` can carry on from it.
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

#: Columns of the CSV and table formats; nested fields are written as JSON in their cell.
CSV_FIELDS = (
    "path", "status", "match", "reference", "name", "score", "threshold", "error",
    "width", "height", "elapsed_ms", "candidates", "evidence",
)


class JsonLinesWriter:
    """One JSON object per line, UTF-8, flushed after each."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: nested structures as JSON, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CsvWriter:
    """The same fields as JSON lines, one row per image, with a header."""

    def __init__(self, stream: IO[str], header: bool = True) -> None:
        self.stream = stream
        self.writer = csv.writer(stream)
        if header:
            self.writer.writerow(CSV_FIELDS)
            stream.flush()

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow([csv_cell(row.get(field)) for field in CSV_FIELDS])
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class TableWriter:
    """A human-readable line per image, for a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.stream.write(f"{'verdict':8} {'score':>6}  {'reference':24} path\n")

    def write(self, row: dict[str, Any]) -> None:
        if row.get("status") == "error":
            line = f"{'ERROR':8} {'':>6}  {'':24} {row.get('error') or row['path']}"
        else:
            verdict = "MATCH" if row.get("match") else "-"
            score = row.get("score")
            shown = f"{score:.3f}" if isinstance(score, (int, float)) else ""
            line = f"{verdict:8} {shown:>6}  {row.get('reference') or ''!s:24} {row['path']}"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()

"""Writing files whole, and reading JSON lines back."""

from __future__ import annotations

from pathlib import Path

import pytest

from logowatch.errors import OutputError
from logowatch.files import check_writable, json_lines, write_atomically


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "report.html"
    real.write_text("old")
    link = tmp_path / "report.html"
    link.symlink_to(Path("data") / "report.html")
    write_atomically(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["report.html"]  # no temporary file left


def test_a_dangling_link_gets_the_file_it_points_to(tmp_path: Path) -> None:
    link = tmp_path / "results.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    write_atomically(link, "{}")
    assert link.is_symlink() and (tmp_path / "elsewhere.json").read_text() == "{}"


def test_json_lines_split_at_line_feeds_alone() -> None:
    text = '{"path": "a\u2028b"}\r\n{"path": "c\x85d\u2029e"}\n'
    assert json_lines(text) == ['{"path": "a\u2028b"}\r', '{"path": "c\x85d\u2029e"}']
    assert json_lines("") == [] and json_lines("x") == ["x"]


def test_a_target_that_cannot_be_written_is_named_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutputError, match="no such folder"):
        check_writable(tmp_path / "a-file" / "report.html")
    check_writable(tmp_path / "report.html")
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]  # the probe is gone

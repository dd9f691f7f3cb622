from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from logowatch import __version__
from logowatch.cli import main
from tests.conftest import FIXTURES, REFERENCES, REPO

SAMPLES = REPO / "samples"
#: The scan contract: these fields, with these types, in every JSON line.
CONTRACT = {"path": str, "status": str, "match": bool, "threshold": float}


@pytest.fixture()
def run(cache_dir: Path):
    def invoke(*args: str):
        runner = CliRunner()
        return runner.invoke(main, [*args[:1], "--cache-dir", str(cache_dir), "-r", str(REFERENCES), *args[1:]])

    return invoke


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip() == f"logowatch, version {__version__}"
    for flag in ("-h", "--help"):
        result = runner.invoke(main, [flag])
        assert result.exit_code == 0
        assert "Exit codes" in result.output


@pytest.mark.parametrize("command", ["scan", "check", "index"])
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "-h"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output) > 200


def test_scan_samples_jsonl_golden_fields(run) -> None:
    result = run("scan", "--format", "jsonl", "-j", "1", str(SAMPLES))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(list(SAMPLES.iterdir()))
    for row in rows:
        for field, kind in CONTRACT.items():
            assert isinstance(row[field], kind), field
        assert row["status"] == "ok"
        assert isinstance(row["score"], float) and 0.0 <= row["score"] <= 1.0
        assert row["reference"] is None or isinstance(row["reference"], str)
    verdicts = {Path(r["path"]).name: (r["match"], r["reference"]) for r in rows}
    assert verdicts["seal-avatar-captioned.jpg"] == (True, "northmere-security-bureau")
    assert verdicts["shield-mirrored.png"] == (True, "kesland-coast-guard")
    assert verdicts["badge-grey-lowres.jpg"] == (True, "valport-police")
    assert verdicts["ministry-thumbnail.jpg"] == (True, "ministry-of-waterways")
    for clear in ("holiday-photo.jpg", "bakery-avatar.png", "pattern-avatar.png"):
        assert verdicts[clear][0] is False


def test_error_rows_follow_the_contract(run) -> None:
    result = run("scan", "-f", "jsonl", str(FIXTURES / "empty.jpg"), str(FIXTURES / "bomb.png"))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["error", "error"]
    assert all(r["error"] and r["match"] is False and r["reference"] is None for r in rows)
    assert "empty" in rows[0]["error"] and "decompression bomb" in rows[1]["error"]


def test_exit_code_one_when_nothing_matches(run) -> None:
    result = run("scan", "-f", "jsonl", str(SAMPLES / "holiday-photo.jpg"))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["match"] is False


def test_exit_code_two_for_a_missing_library(run, tmp_path: Path) -> None:
    result = run("scan", "-r", str(tmp_path / "nowhere"), str(SAMPLES))
    assert result.exit_code == 2
    assert "not a folder" in result.output


def test_exit_code_two_for_usage_errors(run) -> None:
    assert run("scan", "--threshold", "7", str(SAMPLES)).exit_code == 2
    assert run("scan", "--resume", str(SAMPLES)).exit_code == 2


def test_csv_has_the_same_fields(run, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    result = run("scan", "-f", "csv", "-o", str(output), "-j", "1", str(SAMPLES))
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert len(rows) == len(list(SAMPLES.iterdir()))
    assert {"path", "status", "match", "reference", "score", "threshold", "error"} <= set(rows[0])


def test_table_is_readable(run) -> None:
    result = run("scan", "-f", "table", str(SAMPLES / "shield-mirrored.png"), str(FIXTURES / "empty.jpg"))
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["verdict", "score", "reference"]
    assert lines[1].startswith("MATCH") and "kesland-coast-guard" in lines[1]
    assert lines[2].startswith("ERROR") and "empty" in lines[2]


def test_resume_skips_done_images_and_repairs_the_tail(run, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    first = run("scan", "-f", "jsonl", "-o", str(output), "-j", "1", str(SAMPLES / "holiday-photo.jpg"))
    assert first.exit_code == 1
    with output.open("a") as handle:
        handle.write('{"path": "half-writ')
    result = run("scan", "--resume", "-f", "jsonl", "-o", str(output), "-j", "1", str(SAMPLES))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == len(list(SAMPLES.iterdir()))


def test_check_explains_a_match(run) -> None:
    result = run("check", str(SAMPLES / "ministry-thumbnail.jpg"))
    assert result.exit_code == 0
    assert "MATCH: Ministry of Waterways (ministry-of-waterways)" in result.output
    assert "keypoint matches agree" in result.output
    assert "outline" in result.output


def test_check_without_match_exits_one(run) -> None:
    result = run("check", str(SAMPLES / "holiday-photo.jpg"))
    assert result.exit_code == 1
    assert "no match" in result.output


def test_check_unreadable_image_exits_two(run) -> None:
    result = run("check", str(FIXTURES / "login-page.jpg"))
    assert result.exit_code == 2
    assert "HTML" in result.output


def test_index_command_reports_the_library(run) -> None:
    result = run("index")
    assert result.exit_code == 0
    assert f"{REFERENCES}: 4 entities, 4 emblem images" in result.output


def test_parallel_scan_of_an_unusable_library_exits_two(run, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    (library / "broken").mkdir(parents=True)
    (library / "broken" / "emblem.png").write_bytes(b"not a png")
    result = run("scan", "-r", str(library), "-j", "2", "-f", "jsonl", str(SAMPLES))
    assert result.exit_code == 2
    assert "none of the emblem images could be read" in result.output


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_shows_count_rate_and_eta_only_on_a_terminal() -> None:
    from logowatch.cli import _Progress

    terminal = FakeTerminal(tty=True)
    progress = _Progress("scanning", quiet=False, stream=terminal)
    progress.update(5, 10)
    progress.finish()
    text = terminal.getvalue()
    assert "scanning: 5/10 (50%)" in text and "/s" in text and "ETA" in text
    for stream, quiet in ((FakeTerminal(tty=False), False), (FakeTerminal(tty=True), True)):
        silent = _Progress("scanning", quiet=quiet, stream=stream)
        silent.update(5, 10)
        silent.finish()
        assert stream.getvalue() == ""

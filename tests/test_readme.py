"""The README's quick start and its examples must stay true."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from logowatch import process
from logowatch.cli import main
from logowatch.library import default_text_model
from tests.conftest import REFERENCES, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_quick_start_commands_are_the_ones_ci_runs() -> None:
    blocks = shell_blocks()
    assert blocks[0].strip() == "pip install . && logowatch scan samples/"
    assert blocks[1].strip() == "pip install -e '.[test]' && python -m pytest -q"
    assert blocks[1].strip() in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_quick_start_scan_finds_the_four_emblems(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["scan", "--cache-dir", str(tmp_path), "-f", "jsonl", "samples/"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sum(r["match"] for r in rows) == 4
    assert all(r["status"] == "ok" for r in rows)


def test_check_example_matches_the_readme(tmp_path) -> None:
    image = str(REPO / "samples/ministry-thumbnail.jpg")
    result = CliRunner().invoke(main, ["check", "--cache-dir", str(tmp_path), "-r", str(REFERENCES), image])
    assert "MATCH: Ministry of Waterways (ministry-of-waterways)" in README
    assert "MATCH: Ministry of Waterways (ministry-of-waterways)" in result.output


def test_readme_threshold_is_the_default() -> None:
    from logowatch.scoring import DEFAULT_THRESHOLD

    row = "| `-t, --threshold X` | report a match at or above this score (0..1) |"
    assert f"{row} the library's calibrated threshold, else {DEFAULT_THRESHOLD:g} |" in README


def test_the_python_api_example_runs_as_written(tmp_path, monkeypatch, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("LOGOWATCH_CACHE_DIR", str(tmp_path))
    exec(compile(blocks[0], "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "True ministry-of-waterways 0.9617"
    assert printed[2:] == [
        "samples/shield-mirrored.png ok True kesland-coast-guard",
        "samples/holiday-photo.jpg ok False None",
    ]


def test_the_check_example_is_what_check_prints(tmp_path, monkeypatch) -> None:
    block = re.search(r"```\n(samples/ministry-thumbnail.jpg: .*?)```", README, flags=re.S)
    assert block is not None
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["check", "--cache-dir", str(tmp_path), "samples/ministry-thumbnail.jpg"])
    shown = result.stdout.split("\n\n2.")[0].strip()
    assert shown == block.group(1).strip()


def test_the_quick_start_table_is_what_scan_prints(tmp_path, monkeypatch) -> None:
    # The bundled samples' scores are golden values: a change that moves them must say so here.
    # The table is the core install's; with the text check on, the seal scores as the note says.
    block = re.search(r"```\n(verdict .*?)```", README, flags=re.S)
    assert block is not None
    expected = block.group(1)
    note = re.search(r"The seal scores (0\.\d{3}) as installed here; with the `text` extra .*?, (0\.\d{3})\.", README,
                     flags=re.S)
    assert note is not None and f" {note.group(1)} " in expected
    if process.text_check_problem(default_text_model()) is None:
        seal = next(line for line in expected.splitlines(keepends=True) if "seal-avatar-captioned" in line)
        expected = expected.replace(seal, seal.replace(f" {note.group(1)} ", f" {note.group(2)} "))
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["scan", "--cache-dir", str(tmp_path), "-f", "table", "samples/"])
    # With the text extra installed but its model not fetched, a warning says that the check is off.
    said = [line for line in result.stderr.splitlines(keepends=True) if "the text check is off" not in line]
    assert result.stdout + "".join(said) == expected

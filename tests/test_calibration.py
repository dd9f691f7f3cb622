from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from logowatch.calibration import CALIBRATION_FILE, choose_threshold, threshold_for
from logowatch.cli import main
from logowatch.scoring import DEFAULT_THRESHOLD
from tests.conftest import REFERENCES, REPO


@pytest.mark.parametrize(
    "negatives, target, expected",
    [
        ([0.1, 0.2, 0.3], 0.0, 0.31),  # no allowance: just above the highest negative
        ([0.9] + [0.1] * 99, 0.01, 0.11),  # one in a hundred may pass
        ([0.0] * 10, 0.0, 0.05),  # never below the floor
    ],
)
def test_choose_threshold(negatives: list[float], target: float, expected: float) -> None:
    assert choose_threshold(negatives, target) == expected


def test_threshold_for_reads_the_calibration(tmp_path: Path) -> None:
    assert threshold_for(tmp_path) == (DEFAULT_THRESHOLD, "default")
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"threshold": 0.61}))
    assert threshold_for(tmp_path)[0] == 0.61
    (tmp_path / CALIBRATION_FILE).write_text("{broken")
    assert threshold_for(tmp_path)[0] == DEFAULT_THRESHOLD


def test_calibrate_writes_a_threshold_that_scans_use(tmp_path: Path, cache_dir: Path) -> None:
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    runner = CliRunner()
    result = runner.invoke(main, ["calibrate", "--cache-dir", str(cache_dir), "-r", str(library)])
    assert result.exit_code == 0, result.output
    written = json.loads((library / CALIBRATION_FILE).read_text())
    assert 0.05 <= written["threshold"] <= 1.0
    assert written["synthetic_false_positive_rate"] <= 0.005
    assert written["synthetic_recall"] >= 0.8
    assert "thumbnail" in written["recall_by_family"]
    scan = runner.invoke(
        main, ["scan", "--cache-dir", str(cache_dir), "-r", str(library), "-f", "jsonl", str(REPO / "samples")]
    )
    rows = [json.loads(line) for line in scan.stdout.splitlines()]
    assert {row["threshold"] for row in rows} == {written["threshold"]}

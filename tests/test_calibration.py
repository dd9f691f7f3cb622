from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from logowatch.calibration import CALIBRATION_FILE, choose_threshold, raise_entities, threshold_for
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


def test_no_entity_is_raised_while_the_users_images_stay_within_the_target() -> None:
    negatives: list[tuple[str | None, float]] = [("seal", 0.7), ("flag", 0.2), (None, 0.0)]
    assert raise_entities(0.55, negatives, allowed=1, found_at={"seal": [0.9]}) == {}


def test_the_raise_that_loses_fewest_altered_emblems_is_chosen() -> None:
    # Both entities are taken for one ordinary image at 0.70; raising "seal" above it would lose
    # two of its altered emblems (0.62, 0.66), raising "flag" none.
    negatives: list[tuple[str | None, float]] = [("seal", 0.70), ("flag", 0.70)]
    found_at = {"seal": [0.62, 0.66, 0.95], "flag": [0.95, 0.98]}
    raised = raise_entities(0.55, negatives, allowed=1, found_at=found_at)
    assert set(raised) == {"flag"}
    assert raised["flag"].threshold == 0.71 and raised["flag"].cleared == 1 and raised["flag"].recall == 1.0
    both = raise_entities(0.55, negatives, allowed=0, found_at=found_at)
    assert both["seal"].threshold == 0.71 and both["seal"].recall == pytest.approx(1 / 3)
    assert both["seal"].too_simple and not both["flag"].too_simple


def test_scores_of_one_cannot_be_raised_above_and_do_not_stall_the_rest() -> None:
    negatives: list[tuple[str | None, float]] = [("seal", 1.0), ("flag", 0.8)]
    raised = raise_entities(0.55, negatives, allowed=0, found_at={})
    assert set(raised) == {"flag"} and raised["flag"].threshold == 0.81


def test_calibrate_with_the_users_images_gives_the_entity_they_are_taken_for_its_own_threshold(
    tmp_path: Path, cache_dir: Path
) -> None:
    # Pretend the captioned seal avatar were an ordinary image of the user's: its entity is raised
    # above it, the other entities keep the library's threshold, and scans honour both.
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    ordinary = tmp_path / "ordinary"
    ordinary.mkdir()
    shutil.copy(REPO / "samples" / "seal-avatar-captioned.jpg", ordinary)
    shutil.copy(REPO / "samples" / "holiday-photo.jpg", ordinary)
    runner = CliRunner()
    args = ["calibrate", "--cache-dir", str(cache_dir), "-r", str(library), "-j", "1"]
    result = runner.invoke(main, [*args, "--target-fpr", "0", "--negatives", str(ordinary)])
    assert result.exit_code == 0, result.output
    written = json.loads((library / CALIBRATION_FILE).read_text())
    assert written["user_negatives"] == 2
    assert written["user_matched"] == {"library_threshold": 1, "own_thresholds": 0}
    assert set(written["entities"]) == {"northmere-security-bureau"}
    own = written["entities"]["northmere-security-bureau"]["threshold"]
    assert written["threshold"] < own <= 1.0
    assert "northmere-security-bureau: threshold" in result.output
    scan = runner.invoke(
        main, ["scan", "--cache-dir", str(cache_dir), "-r", str(library), "-f", "jsonl", str(REPO / "samples")]
    )
    rows = {Path(row["path"]).name: row for row in map(json.loads, scan.stdout.splitlines())}
    seal = rows["seal-avatar-captioned.jpg"]
    assert seal["reference"] == "northmere-security-bureau" and seal["threshold"] == own and not seal["match"]
    others = [row for row in rows.values() if row["reference"] != "northmere-security-bureau"]
    assert others and {row["threshold"] for row in others} == {written["threshold"]}
    assert any(row["match"] for row in others)

"""The library API: one Detector, one Result, whatever the image is handed over as."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logowatch import Detector, Result
from logowatch.calibration import CALIBRATION_FILE
from tests.conftest import FIXTURES, REFERENCES, REPO, emblem, foreshortened

THUMBNAIL = REPO / "samples" / "ministry-thumbnail.jpg"


def test_a_folder_given_as_a_string_builds_a_detector(cache_dir: Path) -> None:
    detector = Detector(str(REFERENCES), cache_dir=str(cache_dir))
    assert detector.root == REFERENCES
    assert detector.threshold == 0.55 and detector.threshold_source == "default"


@pytest.mark.parametrize(
    "make",
    [
        lambda: THUMBNAIL,
        lambda: str(THUMBNAIL),
        lambda: THUMBNAIL.read_bytes(),
        lambda: Image.open(THUMBNAIL),
        lambda: np.asarray(Image.open(THUMBNAIL).convert("RGB")),
    ],
    ids=["path", "str", "bytes", "pillow", "array"],
)
def test_every_kind_of_image_gets_the_same_verdict(detector: Detector, make) -> None:
    result = detector.check(make())
    # The score the README's check example shows for this thumbnail, however it is handed over.
    assert (result.match, result.reference, round(result.score or 0.0, 3)) == (True, "ministry-of-waterways", 0.962)


def test_check_with_image_gives_the_verdict_and_the_image_decoded_once(detector: Detector) -> None:
    result, loaded = detector.check_with_image(THUMBNAIL.read_bytes(), path="upload.jpg")
    assert result == detector.check(THUMBNAIL, path="upload.jpg")
    assert loaded is not None and loaded.original_size == (result.width, result.height)
    failed, nothing = detector.check_with_image(b"<html>", path="upload.jpg")
    assert failed.status == "error" and nothing is None


def test_a_detector_pickles_after_a_check_and_gives_the_same_results(detector: Detector) -> None:
    before = detector.check(THUMBNAIL)
    copy = pickle.loads(pickle.dumps(detector))
    assert copy.check(THUMBNAIL) == before
    assert copy.library == detector.library


def test_the_librarys_calibration_is_honoured_unless_a_threshold_is_given(cache_dir: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    (library / CALIBRATION_FILE).write_text(json.dumps({"threshold": 0.97}))
    calibrated = Detector(library, cache_dir=cache_dir)
    assert calibrated.threshold == 0.97
    result = calibrated.check(THUMBNAIL)
    assert result.threshold == 0.97 and not result.match  # 0.96 falls short of 0.97
    assert Detector(calibrated.index, threshold=0.5).check(THUMBNAIL).match


def test_a_threshold_outside_zero_to_one_is_refused(detector: Detector) -> None:
    with pytest.raises(ValueError, match=r"0\.\.1"):
        Detector(detector.index, threshold=1.5)


def test_a_bad_image_is_an_error_result_not_an_exception(detector: Detector) -> None:
    result = detector.check(b"not an image at all")
    assert result.status == "error" and result.path == "<bytes>" and not result.match
    assert "not an image" in (result.error or "")
    named = detector.check((FIXTURES / "empty.jpg").read_bytes(), path="upload.jpg")
    assert named.path == "upload.jpg" and "empty" in (named.error or "")


def test_results_are_frozen_values(detector: Detector) -> None:
    result = detector.check(THUMBNAIL)
    with pytest.raises(AttributeError):
        result.match = False  # type: ignore[misc]
    assert Result.from_dict(result.to_dict()) == result


def test_a_result_with_its_appearance_measured_round_trips(detector: Detector) -> None:
    # The bakery avatar is placed by a few keypoints, so its colours and light and dark are compared.
    result = detector.check(REPO / "samples" / "bakery-avatar.png")
    assert result.evidence is not None and result.evidence.appearance_agreement is not None
    assert "light and dark" in result.evidence.summary
    assert Result.from_dict(result.to_dict()) == result


def test_a_placement_seen_at_an_angle_is_said_so_and_round_trips(detector: Detector) -> None:
    result = detector.check(foreshortened(emblem("valport-police"), 2.6, 110.0, 220))
    assert result.match and result.evidence is not None and result.evidence.oblique_view
    assert result.to_dict()["evidence"]["oblique_view"] is True
    assert Result.from_dict(result.to_dict()) == result


@pytest.mark.parametrize("source", [None, 42, ["a.png"]])
def test_what_is_no_image_at_all_is_a_type_error_not_an_error_row(detector: Detector, source: object) -> None:
    with pytest.raises(TypeError, match="an image is a path, the file's bytes, a Pillow image or a numpy array"):
        detector.check(source)  # type: ignore[arg-type]

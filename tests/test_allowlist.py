"""Known-benign images: a cleared picture, its copies and recompressions are allowed, not matched."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from logowatch import Detector
from logowatch.allowlist import ALLOW_FILE, AllowList, append, entry_for
from logowatch.errors import InputError
from logowatch.loading import load_image
from tests.conftest import REFERENCES, REPO

SHIELD = REPO / "samples" / "shield-mirrored.png"


def recompressed(path: Path, quality: int = 70, side: int = 150) -> bytes:
    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_a_cleared_image_is_allowed_and_not_matched(detector: Detector, tmp_path: Path) -> None:
    cleared = tmp_path / "cleared"
    cleared.mkdir()
    shutil.copy(SHIELD, cleared / "fp.png")
    allowing = Detector(detector.index, allow=[cleared])
    result = allowing.check(SHIELD)
    assert result.allowed and not result.match
    assert result.allowed_by == str(cleared / "fp.png")
    assert result.reference == "kesland-coast-guard"  # what it would have been, for the record
    assert result.to_dict()["allowed"] is True


def test_a_recompressed_copy_is_the_same_picture(detector: Detector, tmp_path: Path) -> None:
    allowing = Detector(detector.index, allow=[SHIELD])
    copy = allowing.check(recompressed(SHIELD))
    assert copy.allowed and not copy.match


def test_another_picture_of_the_same_emblem_is_not_allowed(detector: Detector) -> None:
    # Clearing one image must not clear the emblem: another picture of it is still a match.
    allowing = Detector(detector.index, allow=[SHIELD])
    other = allowing.check(REPO / "samples" / "seal-avatar-captioned.jpg")
    assert other.match and not other.allowed
    assert not allowing.check(REPO / "samples" / "ministry-thumbnail.jpg").allowed


def test_an_allow_list_file_in_the_library_is_honoured(cache_dir: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    append(library / ALLOW_FILE, entry_for(load_image(SHIELD), str(SHIELD)), entity="kesland-coast-guard")
    result = Detector(library, cache_dir=cache_dir).check(SHIELD)
    assert result.allowed and not result.match


def test_only_the_bytes_when_the_list_has_no_hash(detector: Detector, tmp_path: Path) -> None:
    listed = tmp_path / "allow.jsonl"
    sha = load_image(SHIELD).sha256
    listed.write_text(json.dumps({"sha256": sha}) + "\n" + "not json\n")
    allowing = Detector(detector.index, allow=[listed])
    assert allowing.check(SHIELD).allowed
    assert not allowing.check(recompressed(SHIELD)).allowed


def test_a_missing_allow_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such allow list"):
        AllowList.read([tmp_path / "typo"])


def test_a_cleared_picture_that_would_not_match_anyway_is_simply_clear(detector: Detector) -> None:
    strict = Detector(detector.index, threshold=0.999, allow=[SHIELD])
    result = strict.check(SHIELD)
    assert not result.match and not result.allowed and result.verdict == "clear"

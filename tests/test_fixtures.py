"""Every awkward fixture gives what its line in tests/fixtures/README.md promises."""

from __future__ import annotations

import re

import pytest

from logowatch import Detector
from logowatch.reports import NEAR_MISS_SHARE
from tests.conftest import FIXTURES

ROWS = re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([^|]+) \|$", (FIXTURES / "README.md").read_text(encoding="utf-8"), re.M)


def test_the_readme_lists_every_fixture_image() -> None:
    listed = {name for name, _ in ROWS}
    on_disk = {p.name for p in FIXTURES.iterdir() if p.suffix not in (".md", ".py", ".npz")}
    assert listed == on_disk


@pytest.mark.parametrize("name, promise", ROWS, ids=[name for name, _ in ROWS])
def test_each_fixture_keeps_its_promise(detector: Detector, name: str, promise: str) -> None:
    result = detector.check(FIXTURES / name)
    if promise.startswith("match"):
        entity = re.match(r"match `([^`]+)`", promise)
        assert entity is not None, f"name the entity a match must find: {promise}"
        assert result.ok and result.match and result.reference == entity.group(1), result
    elif promise.startswith("no match"):
        assert result.ok and not result.match
    elif promise.startswith("near miss"):
        entity = re.match(r"near miss of `([^`]+)`", promise)
        assert entity is not None, f"name the entity a near miss is of: {promise}"
        assert result.ok and not result.match and result.reference == entity.group(1), result
        assert result.score is not None and result.score >= NEAR_MISS_SHARE * result.threshold, result
    else:
        words = re.search(r"\*([^*]+)\*", promise)
        assert promise.startswith("error") and words is not None
        assert not result.ok and words.group(1) in (result.error or ""), result.error

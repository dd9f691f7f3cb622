"""benchmarks/speed.py times the stages by wrapping the library's functions: every stage it
prints must be one the library still has, or the figures would silently read zero."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from logowatch import Detector

REPO = Path(__file__).resolve().parent.parent


def speed_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("speed", REPO / "benchmarks" / "speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_function_the_script_wraps_is_in_the_library() -> None:
    # A function renamed or moved would be skipped as if this were an older baseline, and its time
    # would count to its caller's stage.
    speed = speed_script()
    missing = [f"{owner.__name__}.{name}" for owner, name, _ in speed.stage_targets() if name not in vars(owner)]
    assert missing == []


def test_every_stage_of_a_check_is_timed_and_the_library_restored(detector: Detector) -> None:
    speed = speed_script()
    originals = [(owner, name, vars(owner)[name]) for owner, name, _ in speed.stage_targets()]
    data = (REPO / "samples" / "ministry-thumbnail.jpg").read_bytes()
    watch = speed.Stopwatch()
    with speed.timed_stages(watch):
        for _ in range(3):
            detector.check(data)
    assert {stage for stage, spent in watch.spent.items() if spent > 0} == set(speed.STAGES)
    assert [(owner, name) for owner, name, original in originals if vars(owner)[name] is not original] == []

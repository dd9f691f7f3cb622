from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from pathlib import Path

from logowatch.library import ReferenceIndex
from logowatch.scan import completed_paths, iter_inputs, scan, scan_parallel
from tests.conftest import FIXTURES


def test_walk_is_sorted_recursive_and_skips_hidden_and_text(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "b" / "c.jpg").write_bytes(b"x")
    (tmp_path / "b" / "no-ending").write_bytes(b"x")
    (tmp_path / ".hidden.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "B.webp").write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_inputs([tmp_path])]
    assert found == ["B.webp", "a.png", "b/c.jpg", "b/no-ending"]


def test_symlink_loop_does_not_recurse_forever(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.png").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "d" / "loop")
    found = [p.name for p in iter_inputs([tmp_path])]
    assert found == ["x.png"]


def test_bad_files_become_error_rows_and_the_scan_goes_on(index: ReferenceIndex) -> None:
    paths = sorted(FIXTURES.glob("*.*"))
    paths = [p for p in paths if p.suffix != ".md" and p.suffix != ".py"]
    rows = list(scan(paths, index))
    assert [r["path"] for r in rows] == [str(p) for p in paths]
    status = {Path(r["path"]).name: r["status"] for r in rows}
    assert status["bomb.png"] == "error"
    assert status["empty.jpg"] == "error"
    assert status["cmyk.jpg"] == "ok"
    for row in rows:
        if row["status"] == "error":
            assert row["error"] and row["match"] is False and row["reference"] is None


def test_parallel_scan_gives_the_same_rows_in_order(index: ReferenceIndex, cache_dir: Path) -> None:
    paths = [FIXTURES / n for n in ("cmyk.jpg", "empty.jpg", "palette.png", "one-pixel.png", "animated.gif")]
    serial = [(r["path"], r["status"], r["reference"], r["score"]) for r in scan(paths, index)]
    parallel = [
        (r["path"], r["status"], r["reference"], r["score"])
        for r in scan(paths, index, jobs=2, cache_dir=cache_dir)
    ]
    assert parallel == serial


def test_stopping_a_parallel_scan_early_stops_its_workers(index: ReferenceIndex, cache_dir: Path) -> None:
    # Many more images than are in flight: closing the generator must cancel the queued ones and
    # return once the workers have finished the images in hand, not hang or kill them mid-write.
    paths = [FIXTURES / "palette.png"] * 200
    results = scan_parallel(paths, index.root, jobs=2, cache_dir=cache_dir)
    first = next(results)
    assert first["status"] == "ok"
    started = time.monotonic()
    results.close()
    assert time.monotonic() - started < 30
    assert not multiprocessing.active_children()


def test_completed_paths_repairs_a_half_written_line(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    lines = [json.dumps({"path": f"img{i}.png", "status": "ok"}) for i in range(3)]
    output.write_text("\n".join(lines) + "\n" + '{"path": "img3.png", "sta')
    assert completed_paths(output) == {"img0.png", "img1.png", "img2.png"}
    assert output.read_text().endswith("\n")
    assert len(output.read_text().splitlines()) == 3


def test_completed_paths_of_absent_file_is_empty(tmp_path: Path) -> None:
    assert completed_paths(tmp_path / "none.jsonl") == set()
    shutil.rmtree(tmp_path)

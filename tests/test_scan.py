"""Walking folders, scanning in order on one or several processes, and reading results back to resume."""

from __future__ import annotations

import importlib.machinery
import io
import json
import multiprocessing
import os
import signal
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from logowatch import Detector, Result, process, scan
from logowatch.errors import ImageLoadError, InputError, OutputError, WorkerError
from logowatch.loading import load_image
from logowatch.process import stopping_signals_ignored, unsafe_main
from logowatch.resume import repair
from logowatch.scan import SYSTEM_FOLDERS, Inputs, check_resumable, read_file_list, read_results
from tests.conftest import FIXTURES, REPO


def test_walk_is_sorted_recursive_and_skips_hidden_and_text(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "b" / "c.jpg").write_bytes(b"x")
    (tmp_path / "b" / "no-ending").write_bytes(b"x")
    (tmp_path / ".hidden.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "features.npz").write_bytes(b"PK\x03\x04")  # a numpy archive beside the images
    (tmp_path / "B.webp").write_bytes(b"x")
    inputs = Inputs([tmp_path])
    found = [p.relative_to(tmp_path).as_posix() for p in inputs]
    assert found == ["B.webp", "a.png", "b/c.jpg", "b/no-ending"]
    assert [p.name for p in inputs.skipped] == ["features.npz", "notes.txt"]


@pytest.mark.parametrize("name", ["photo.avif", "photo.heic", "download.bin", "3f9a0c1d", "avatar.jpg_large"])
def test_walk_tries_unknown_endings_by_content(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in Inputs([tmp_path])] == [name]


def test_symlink_loop_does_not_recurse_forever(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.png").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "d" / "loop")
    found = [p.name for p in Inputs([tmp_path])]
    assert found == ["x.png"]


def test_a_link_to_nothing_is_skipped_as_such(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    os.symlink(tmp_path / "gone.png", tmp_path / "link.png")
    (tmp_path / "x.png").write_bytes(b"x")
    caplog.set_level("INFO")
    inputs = Inputs([tmp_path])
    assert [p.name for p in inputs] == ["x.png"] and [p.name for p in inputs.skipped] == ["link.png"]
    assert "link.png: a symbolic link to nothing" in caplog.text and "a pipe" not in caplog.text


def test_a_file_or_folder_given_twice_is_scanned_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "x.png").write_bytes(b"x")
    inputs = Inputs([tmp_path / "x.png", tmp_path, tmp_path / "x.png", tmp_path])
    assert [p.name for p in inputs] == ["x.png"]
    assert inputs.duplicates == 2
    assert "symbolic link" not in caplog.text


def test_a_folder_named_before_the_folder_it_is_in_is_walked_once_and_no_link_is_blamed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.png").write_bytes(b"x")
    (tmp_path / "a" / "y.png").write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in Inputs([tmp_path / "a" / "b", tmp_path / "a"])]
    assert found == ["a/b/x.png", "a/y.png"]
    assert "symbolic link" not in caplog.text


@pytest.mark.parametrize("system", sorted(SYSTEM_FOLDERS))
def test_a_system_s_folder_of_copies_is_not_walked_unless_named(tmp_path: Path, system: str) -> None:
    # A NAS keeps a thumbnail of every picture in @eaDir beside it: each would be scanned again.
    (tmp_path / system / "a.jpg").mkdir(parents=True)
    (tmp_path / system / "a.jpg" / "SYNOFILE_THUMB_S.jpg").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    assert [p.name for p in Inputs([tmp_path])] == ["a.jpg"]
    assert [p.name for p in Inputs([tmp_path / system])] == ["SYNOFILE_THUMB_S.jpg"]


def test_a_folder_that_cannot_be_listed_is_an_error_row(
    detector: Detector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, locked_folders: str
) -> None:
    # Its images are missed: the scan must say so in a row (and so exit 3), not only in a warning.
    (tmp_path / locked_folders).mkdir()
    (tmp_path / locked_folders / "x.png").write_bytes(b"x")
    (tmp_path / "y.png").write_bytes(b"x")
    found = list(Inputs([tmp_path]))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["locked", "y.png"]
    result = detector.check(found[0])
    assert result.status == "error" and result.error is not None
    assert "cannot list the folder (Permission denied); the images in it cannot be read" in result.error
    # Not root, opening the folder is refused before it is found to be a folder: the row says the same.
    def denied(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    refused = detector.check(found[0])
    assert refused.error is not None and "cannot list the folder (permission denied)" in refused.error


@pytest.mark.parametrize(
    "script",
    [
        "scan = Detector('lib', jobs=2).scan(['a.png'])\n",
        "# not run as __main__ here\nscan = Detector('lib', jobs=2).scan(['a.png'])\n",
        None,  # read from standard input
    ],
)
def test_a_parallel_scan_from_code_a_worker_cannot_import_again_is_refused_before_it_starts(
    detector: Detector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str | None
) -> None:
    # A worker runs the main code again before it reads the Detector: a script without the guard,
    # or code read from standard input, would leave the scan waiting on it for ever.
    main = types.ModuleType("__main__")
    main.__file__ = "<stdin>" if script is None else str(tmp_path / "scan.py")
    if script is not None:
        (tmp_path / "scan.py").write_text(script, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "__main__", main)
    with pytest.raises(WorkerError, match='under `if __name__ == "__main__":`'):
        list(detector.scan([FIXTURES / "cmyk.jpg", FIXTURES / "grey-alpha.png"], jobs=2))
    (tmp_path / "scan.py").write_text("if __name__ == '__main__':\n    pass\n", encoding="utf-8")
    main.__file__ = str(tmp_path / "scan.py")
    assert unsafe_main() is None


def test_a_module_run_with_python_m_is_imported_again_unless_it_is_a_packages_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "tool.py"
    module.write_text("Detector('lib', jobs=2).scan(['a.png'])\n", encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__spec__ = importlib.machinery.ModuleSpec("pkg.tool", None, origin=str(module))
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert unsafe_main() == f"your script ({module})"
    main.__spec__ = importlib.machinery.ModuleSpec("pkg.__main__", None, origin=str(module))
    assert unsafe_main() is None


def test_ctrl_c_during_a_pools_shutdown_does_not_cut_it_short() -> None:
    with stopping_signals_ignored():
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        finished = True  # not interrupted half way
    assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_nul_separated_list_read_as_lines_is_refused() -> None:
    with pytest.raises(InputError, match="was it written by find -print0"):
        list(read_file_list(io.StringIO("a.png\0b.png\0")))


def test_a_nul_separated_list_is_read_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "LIST_CHUNK", 3)  # names cut across reads
    listing = io.StringIO("first.png\0a\nb.png\0\0last one.jpg")
    assert list(scan.read_null_separated(listing)) == ["first.png", "a\nb.png", "last one.jpg"]


def test_a_list_of_lines_read_as_nul_separated_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    assert list(scan.read_null_separated(io.StringIO("a.png\nb.png\n"))) == ["a.png\nb.png\n"]
    assert "holds newlines but no NUL character: was it written by find -print0?" in caplog.text
    caplog.clear()
    assert list(scan.read_null_separated(io.StringIO("one name.png\n"))) == ["one name.png\n"]
    assert caplog.text == ""  # one name, which may end in a newline


def test_bad_files_become_error_results_and_the_scan_goes_on(detector: Detector) -> None:
    paths = sorted(p for p in FIXTURES.iterdir() if p.suffix not in (".md", ".py", ".npz"))
    paths.append(FIXTURES / "no-such-file.png")
    results = list(detector.scan(paths))
    assert [r.path for r in results] == [str(p) for p in paths]
    status = {Path(r.path).name: r.status for r in results}
    assert status["bomb.png"] == "error"
    assert status["empty.jpg"] == "error"
    assert status["no-such-file.png"] == "error"
    assert status["cmyk.jpg"] == "ok"
    for result in results:
        if not result.ok:
            assert result.error and result.match is False and result.reference is None


def test_parallel_scan_gives_the_same_results_in_order(detector: Detector) -> None:
    paths = [FIXTURES / n for n in ("cmyk.jpg", "empty.jpg", "palette.png", "one-pixel.png", "animated.gif")]
    serial = [(r.path, r.status, r.reference, r.score) for r in detector.scan(paths)]
    parallel = [(r.path, r.status, r.reference, r.score) for r in detector.scan(paths, jobs=2)]
    assert parallel == serial


@pytest.mark.parametrize("given", [None, "4"])
def test_workers_start_with_one_thread_for_numpy_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    for name in process.SINGLE_THREADED:
        monkeypatch.setenv(name, given or "")  # recorded, so that the test leaves them as they were
        if given is None:
            monkeypatch.delenv(name)
    process.spawn_context()
    assert [os.environ[name] for name in process.SINGLE_THREADED] == [given or "1"] * 3


def test_parallel_workers_use_the_detector_they_are_given(detector: Detector, tmp_path: Path) -> None:
    # A Detector whose library folder is gone can still scan: the workers receive it whole.
    strict = Detector(detector.index, threshold=0.999)
    paths = [REPO / "samples" / "shield-mirrored.png"] * 3
    assert [r.threshold for r in strict.scan(paths, jobs=2)] == [0.999] * 3


def test_stopping_a_parallel_scan_early_stops_its_workers(detector: Detector, tmp_path: Path) -> None:
    # Many more images than are in flight: closing the generator cancels the queued ones and
    # returns once the workers have finished the images in hand. (Distinct bytes, or the scan
    # would repeat the first result instead of sending the others to the workers.)
    data = (FIXTURES / "palette.png").read_bytes()
    paths = []
    for number in range(200):
        paths.append(tmp_path / f"{number}.png")
        paths[-1].write_bytes(data + number.to_bytes(2, "big"))  # bytes after the end are ignored
    results = detector.scan(paths, jobs=2)
    assert next(results).ok
    results.close()
    assert not multiprocessing.active_children()


def rows(count: int, **fields: object) -> list[str]:
    return [
        json.dumps({"path": f"img{i}.png", "status": "ok", "match": False, "reference": None, "score": 0.0,
                    "threshold": 0.55, **fields})
        for i in range(count)
    ]


@pytest.mark.parametrize("cut", ['{"path": "img3.png", "sta', '{"pa', "{"])
def test_resume_cuts_only_a_half_written_last_line(tmp_path: Path, cut: str) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text("\n".join(rows(3)) + "\n" + cut)
    resumed = read_results(output)
    assert [r.path for r in resumed.rows] == ["img0.png", "img1.png", "img2.png"]
    repair(output, resumed)
    assert output.read_text().endswith("\n")
    assert len(output.read_text().splitlines()) == 3


@pytest.mark.parametrize(
    "text",
    [
        "path,status\nimg0.png,ok\n",  # a CSV written by another run
        "a note\nabout the scan\nnot results",  # a text file, with no newline at its end
        "\n".join(rows(2)) + "\n{not json}\n" + "\n".join(rows(2)) + "\n",  # a bad line in the middle
        json.dumps({"path": "x.png"}) + "\n",  # JSON, but not a result
    ],
    ids=["csv", "text", "bad-middle-line", "not-a-result"],
)
def test_resume_refuses_files_it_did_not_write_and_leaves_them(tmp_path: Path, text: str) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text(text)
    with pytest.raises(OutputError, match="nothing was changed"):
        read_results(output)
    assert output.read_text() == text


def test_resume_refuses_another_threshold_or_library(detector: Detector, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    result = detector.check(REPO / "samples" / "holiday-photo.jpg")
    output.write_text(json.dumps(result.to_dict()) + "\n")
    check_resumable(output, read_results(output), detector)  # the same rules: fine
    with pytest.raises(OutputError, match=r"threshold 0\.55, this run uses 0\.9"):
        check_resumable(output, read_results(output), Detector(detector.index, threshold=0.9))
    output.write_text(json.dumps({**result.to_dict(), "library": "0123456789abcdef"}) + "\n")
    with pytest.raises(OutputError, match="another reference library"):
        check_resumable(output, read_results(output), detector)


def test_an_absent_output_resumes_from_nothing(tmp_path: Path) -> None:
    assert read_results(tmp_path / "none.jsonl").rows == ()


def test_results_round_trip_through_their_dict(detector: Detector) -> None:
    for path in (REPO / "samples" / "shield-mirrored.png", FIXTURES / "empty.jpg"):
        result = detector.check(path)
        assert Result.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.mark.parametrize("jobs", [1, 2])
def test_identical_files_are_scanned_once_and_repeated_in_order(detector: Detector, tmp_path: Path, jobs: int) -> None:
    names = ["a.png", "b.jpg", "c.png", "d.png", "e.jpg", "f.png"]
    sources = [REPO / "samples" / n for n in ("shield-mirrored.png", "holiday-photo.jpg", "shield-mirrored.png",
                                              "shield-mirrored.png", "holiday-photo.jpg", "pattern-avatar.png")]
    for name, source in zip(names, sources, strict=True):
        (tmp_path / name).write_bytes(source.read_bytes())
    results = list(detector.scan([tmp_path / n for n in names], jobs=jobs))
    assert [Path(r.path).name for r in results] == names
    assert [r.duplicate_of and Path(r.duplicate_of).name for r in results] == [None, None, "a.png", "a.png", "b.jpg",
                                                                              None]
    assert results[2].score == results[0].score and results[2].match
    assert results[2].to_dict()["duplicate_of"] == str(tmp_path / "a.png")


def test_a_file_that_cannot_even_be_looked_at_is_scanned_into_its_error_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file in a folder this user may not enter: asking whether it is a folder raises too (as
    # root, nothing is out of reach, so the refusal is made as the kernel makes it).
    secret = tmp_path / "secret" / "avatar.png"
    real_is_dir, real_stat = Path.is_dir, Path.stat

    def refused(method: Any) -> Any:
        def call(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self == secret:
                raise PermissionError(13, "Permission denied", str(self))
            return method(self, *args, **kwargs)
        return call

    monkeypatch.setattr(Path, "is_dir", refused(real_is_dir))
    monkeypatch.setattr(Path, "stat", refused(real_stat))
    assert list(Inputs([secret])) == [secret]
    with pytest.raises(ImageLoadError, match=r"avatar\.png: permission denied"):
        load_image(secret)

"""Files in, results out: walking folders, matching in parallel, resuming an interrupted scan.

A result is a plain dict that follows the scan contract (README, "Output"): ``path``, ``status``,
``match``, ``reference``, ``score``, ``threshold`` and, for a file that could not be read,
``error``. A bad file is a result, never an exception: the scan goes on.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from logowatch import matching, scoring
from logowatch.errors import ImageLoadError, LogowatchError, OutputError, ReferenceLibraryError, WorkerError
from logowatch.library import IMAGE_SUFFIXES, ReferenceIndex, build_index, set_up_worker
from logowatch.loading import load_image

logger = logging.getLogger(__name__)

#: Files with these endings are not looked at when walking a folder (named explicitly, they are).
SKIPPED_SUFFIXES = frozenset({".txt", ".csv", ".json", ".jsonl", ".md", ".html", ".htm", ".log"})
#: Images handed to a worker at a time: small enough for smooth progress, large enough to amortise.
CHUNK_SIZE = 4
#: Chunks queued per worker: enough to keep every worker busy, few enough to stop quickly.
CHUNKS_IN_FLIGHT = 3

Result = dict[str, Any]


def iter_inputs(paths: Iterable[Path]) -> Iterator[Path]:
    """Every file to scan under ``paths``, in a deterministic order.

    Folders are walked recursively in name order. Hidden files and folders are skipped, so are
    files whose ending says they are text or data; files with an image ending or none at all are
    kept, and their content decides. Symbolic links to folders are followed once: a loop cannot
    make the walk endless or visit a folder twice.
    """
    seen_dirs: set[str] = set()
    for path in paths:
        if path.is_dir():
            yield from _walk(path, seen_dirs)
        else:
            yield path


def _walk(folder: Path, seen_dirs: set[str]) -> Iterator[Path]:
    real = os.path.realpath(folder)
    if real in seen_dirs:
        logger.warning("%s: already visited (symbolic link loop?), skipped", folder)
        return
    seen_dirs.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        logger.warning("%s: cannot list the folder (%s), skipped", folder, exc.strerror or exc)
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(path, seen_dirs)
            continue
        suffix = path.suffix.lower()
        if suffix in SKIPPED_SUFFIXES or (suffix and suffix not in IMAGE_SUFFIXES and len(suffix) <= 5):
            logger.info("%s: not an image by name, skipped", path)
            continue
        yield path


def scan_image(index: ReferenceIndex, path: Path, threshold: float) -> Result:
    """The result row for one file: a match verdict, or the reason it could not be read."""
    started = time.perf_counter()
    result: Result = {"path": str(path)}
    try:
        image = load_image(path)
    except ImageLoadError as exc:
        result.update(
            status="error", match=False, reference=None, name=None, score=None,
            threshold=threshold, error=str(exc),
        )
        return result
    candidates = matching.match(index, image)
    best = candidates[0] if candidates else None
    value = best.score if best else 0.0
    result.update(
        status="ok",
        match=bool(best and scoring.is_match(value, threshold)),
        reference=best.entity if best else None,
        name=best.name if best else None,
        score=value,
        threshold=threshold,
        evidence=_evidence(best) if best else None,
        candidates=[{"reference": c.entity, "score": c.score} for c in candidates],
        width=image.original_size[0],
        height=image.original_size[1],
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return result


def _evidence(candidate: matching.Candidate) -> dict[str, Any]:
    evidence = candidate.evidence
    return {
        "variant": candidate.variant,
        "mirrored": candidate.mirrored,
        "signals": list(evidence.proposed_by),
        "edge_correlation": round(evidence.edge_correlation, 4),
        "inliers": evidence.inliers,
        "tentative_matches": evidence.tentative,
        "distinctive_matches": evidence.distinctive,
        "hash_distance": evidence.hash_distance,
        "outline": [list(p) for p in candidate.outline],
        "summary": scoring.explain(evidence),
    }


@dataclass(frozen=True)
class _WorkerSetup:
    references: Path
    cache_dir: Path | None
    threshold: float


_worker_index: ReferenceIndex | None = None
_worker_setup: _WorkerSetup | None = None
_worker_failure: str | None = None


def _init_worker(setup: _WorkerSetup) -> None:
    """Load the index once per worker process (from the cache the parent has just warmed).

    A library that cannot be loaded is remembered and raised on the first chunk, so that the
    parent sees that error; raising here would only break the pool, with a generic message.
    """
    global _worker_index, _worker_setup, _worker_failure
    set_up_worker()  # Ctrl-C is the parent's to handle: it stops cleanly and keeps what was written
    _worker_setup = setup
    try:
        _worker_index = build_index(setup.references, setup.cache_dir)
    except LogowatchError as exc:
        _worker_failure = str(exc)


def _scan_chunk(paths: list[Path]) -> list[Result]:
    if _worker_failure is not None:
        raise ReferenceLibraryError(_worker_failure)
    if _worker_index is None or _worker_setup is None:
        raise RuntimeError("worker used before it was initialised")
    return [_guarded(_worker_index, path, _worker_setup.threshold) for path in paths]


def _guarded(index: ReferenceIndex, path: Path, threshold: float) -> Result:
    """:func:`scan_image`, turning an unexpected failure on one file into an error row."""
    try:
        return scan_image(index, path, threshold)
    except (MemoryError, cv2.error, ValueError, OSError) as exc:
        logger.exception("%s: failed while matching", path)
        return {
            "path": str(path), "status": "error", "match": False, "reference": None, "name": None,
            "score": None, "threshold": threshold,
            "error": f"{path}: failed while matching: {type(exc).__name__}: {exc}",
        }


def scan(
    paths: Iterable[Path],
    index: ReferenceIndex,
    threshold: float = scoring.DEFAULT_THRESHOLD,
    jobs: int = 1,
    cache_dir: Path | None = None,
) -> Iterator[Result]:
    """Results for ``paths`` in their order; with ``jobs`` > 1 see :func:`scan_parallel`."""
    if jobs > 1:
        yield from scan_parallel(paths, index.root, threshold, jobs, cache_dir)
        return
    for path in paths:
        yield _guarded(index, path, threshold)


def scan_parallel(
    paths: Iterable[Path],
    references: Path,
    threshold: float = scoring.DEFAULT_THRESHOLD,
    jobs: int = 2,
    cache_dir: Path | None = None,
) -> Iterator[Result]:
    """Results for ``paths`` in their order, from ``jobs`` worker processes.

    Each worker loads the reference index once, from the cache (warm it first with
    :func:`logowatch.library.warm_cache`, or every worker prepares the library itself). A few
    chunks per worker are in flight at a time, so memory stays flat however many paths there are.
    When the caller stops early (an error, Ctrl-C, a closed generator), queued chunks are
    cancelled and the workers finish the images in hand and exit: nothing is killed mid-write.
    """
    setup = _WorkerSetup(references, cache_dir, threshold)
    # Not "fork": OpenCV's thread pool and the FLANN index do not survive being forked mid-use.
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(setup,))
    pending: deque[Future[list[Result]]] = deque()
    try:
        for chunk in _chunks(paths, CHUNK_SIZE):
            pending.append(executor.submit(_scan_chunk, chunk))
            if len(pending) >= CHUNKS_IN_FLIGHT * jobs:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    except BrokenProcessPool as exc:
        raise WorkerError(f"a worker process died ({exc}); rerun with --resume to carry on") from exc
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _chunks(paths: Iterable[Path], size: int) -> Iterator[list[Path]]:
    chunk: list[Path] = []
    for path in paths:
        chunk.append(path)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def completed_paths(output: Path) -> set[str]:
    """Paths already in a JSON-lines result file, repairing a half-written last line in place.

    A scan killed mid-write can leave a last line without its newline or cut in the middle; it is
    cut off so that appending goes on from a clean line boundary.
    """
    if not output.exists():
        return set()
    try:
        data = output.read_bytes()
    except OSError as exc:
        raise OutputError(f"{output}: cannot read it to resume: {exc.strerror or exc}") from exc
    done: set[str] = set()
    good_end = 0
    position = 0
    for line in data.splitlines(keepends=True):
        end = position + len(line)
        position = end
        if not line.endswith(b"\n"):
            break
        try:
            row = json.loads(line)
        except ValueError:
            break
        if isinstance(row, dict) and "path" in row:
            done.add(str(row["path"]))
        good_end = end
    if good_end < len(data):
        logger.warning("%s: dropping a half-written last line (%d bytes)", output, len(data) - good_end)
        with output.open("r+b") as handle:
            handle.truncate(good_end)
    return done

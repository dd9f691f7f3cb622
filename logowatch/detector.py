"""The Detector: a reference index and its thresholds, turning images into results.

Every front end (the command line, account checks, a cluster, the reviewer's page) builds one
Detector and asks it; none of them rebuilds a threshold, a verdict or a row. A Detector pickles at
any time, so that a process pool or a cluster ships it to its workers once, whole: the workers
match with exactly the index and thresholds the caller built.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

import numpy as np

from logowatch import matching, process, scoring
from logowatch.allowlist import ALLOW_FILE, AllowEntry, AllowList, entry_for
from logowatch.calibration import MAX_OWN_THRESHOLD, changes, read_calibration
from logowatch.display import some
from logowatch.errors import ImageLoadError, WorkerError
from logowatch.files import file_digest
from logowatch.library import ReferenceIndex, default_cache_dir
from logowatch.loading import (
    DEFAULT_MAX_BYTES,
    ImageSource,
    LoadedImage,
    composite,
    load_image,
    require_image_source,
)
from logowatch.results import OK, Evidence, Result, Scored

logger = logging.getLogger(__name__)

#: Images handed to a worker at a time: small enough for smooth progress, large enough to amortise.
CHUNK_SIZE = 4
#: Chunks queued per worker: enough to keep every worker busy, few enough to stop quickly.
CHUNKS_IN_FLIGHT = 3
#: How a Detector's images are scanned: paths in, one result per path out, in their order (the
#: Detector's own processes, or a cluster's workers).
Scanner = Callable[[Iterable[str | Path]], Iterator[Result]]
#: Hex digits of the library's digest written into each result.
LIBRARY_DIGEST_CHARS = 16
#: Distinct files of a scan whose results are kept to be repeated for a later identical file.
REUSED_RESULTS = 10_000


class _DefaultCache:
    """The ``cache_dir`` default: the user's cache folder (see :func:`default_cache_dir`)."""

    def __repr__(self) -> str:
        return "<default cache>"


DEFAULT_CACHE = _DefaultCache()


#: Longer side at which the library's emblem images are hashed to hold cleared pictures to (see
#: ``Detector._emblem_pictures``): an avatar's size, a tenth of the time of the working size's.
EMBLEM_HASH_SIDE = 256


class Detector:
    """A reference library, prepared once, and the thresholds its verdicts use.

    ``references`` is the library's folder (a str or a Path) or a :class:`ReferenceIndex` already
    built. It is prepared through the on-disk cache (``cache_dir``; None prepares afresh and
    writes nothing). ``threshold`` overrides the library's calibrated one
    (``logowatch-calibration.json`` in its folder, else :data:`scoring.DEFAULT_THRESHOLD`), and
    the thresholds of their own that calibration gave some entities.
    ``jobs`` is how many processes :meth:`scan` uses (default: one; every core is
    :func:`default_jobs`). ``allow`` lists images a reviewer has cleared: folders, images and
    allow-list files to read, besides the library's own ``logowatch-allow.jsonl``, which is read
    always; or an :class:`AllowList` made already, used as it is.
    """

    def __init__(
        self,
        references: str | Path | ReferenceIndex,
        *,
        threshold: float | None = None,
        cache_dir: str | Path | _DefaultCache | None = DEFAULT_CACHE,
        jobs: int | None = None,
        allow: AllowList | Iterable[str | Path] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in 0..1, not {threshold}")
        self.jobs = max(1, jobs or 1)
        process.set_up()
        if isinstance(references, ReferenceIndex):
            self.index = references
        else:
            cache = default_cache_dir() if isinstance(cache_dir, _DefaultCache) else cache_dir
            self.index = ReferenceIndex.build(references, cache, jobs=self.jobs, progress=progress)
        #: Written into every result, so that a resumed scan cannot mix two libraries' rows.
        self.library = self.index.digest[:LIBRARY_DIGEST_CHARS]
        #: Entities with a threshold of their own (``logowatch calibrate --negatives``); none
        #: when a threshold is given.
        self.entity_thresholds: dict[str, float] = {}
        if threshold is None:
            calibrated = read_calibration(self.index.root)
            self.threshold, self.threshold_source = calibrated.threshold, calibrated.source
            self.entity_thresholds = calibrated.entities
            changed = changes(calibrated, self.index)
            if changed:
                unsaid = calibrated.ordinary and not calibrated.negatives_from
                logger.warning(
                    "%s: %s since this library was calibrated; its thresholds apply, but may no longer hold the "
                    "rate they were set for. To calibrate it again%s: %s",
                    calibrated.source, "; ".join(changed),
                    f" (DIR: the folder of the {calibrated.ordinary:,} ordinary images of last time)" if unsaid else "",
                    calibrated.again(self.index.root),
                )
        else:
            self.threshold, self.threshold_source = threshold, "given"
        if not isinstance(allow, AllowList):
            sources = list(allow or ())
            library_list = self.index.root / ALLOW_FILE
            given = {Path(source).resolve() for source in sources}
            if library_list.is_file() and library_list.resolve() not in given:  # read once
                sources.append(library_list)
            allow = AllowList.read(sources)
        #: Pictures a reviewer cleared, each with what it was taken for (see :meth:`_taken`):
        #: reported as allowed, never as a match. Worked out here, so that the processes of a pool
        #: or a cluster, which may not see the same files, take each for the same.
        self.allow = AllowList([self._taken(entry) for entry in allow.entries], allow.distance)
        #: Each emblem image's pictures, by its path, as the allow list needs them (see
        #: :meth:`_emblem_pictures`): worked out where first needed, rarely, in each process.
        self._emblems: dict[str, AllowList | None] = {}
        #: The cleared pictures taken for their emblems that a warning has named.
        self._said_cleared: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"Detector({str(self.index.root)!r}, {len(self.index.entities)} entities, "
            f"threshold={self.threshold} ({self.threshold_source}))"
        )

    @property
    def root(self) -> Path:
        return self.index.root

    def threshold_for(self, entity: str | None) -> float:
        """The threshold that a candidate of ``entity`` must reach: its own, where the library's
        calibration gave it one, else the library's. An image matches when its *best* candidate
        reaches its threshold; a raised entity ranked first keeps a lower-ranked one from being
        reported, as calibration assumed when it raised it."""
        return self.entity_thresholds.get(entity, self.threshold) if entity is not None else self.threshold

    def check(self, image: ImageSource, *, path: str | None = None, keep: int = matching.DEFAULT_CANDIDATES) -> Result:
        """The verdict on one image: a path, the file's bytes, a Pillow image or an RGB(A) array.

        ``path`` names the image in the result (by default the path given, or ``<bytes>`` ...). A
        file that cannot be read gives a result with status ``error`` and the reason; nothing is
        raised for a bad image."""
        return self.check_with_image(image, path=path, keep=keep)[0]

    def check_with_image(
        self, image: ImageSource, *, path: str | None = None, keep: int = matching.DEFAULT_CANDIDATES
    ) -> tuple[Result, LoadedImage | None]:
        """:meth:`check`'s result, and the image as it decoded it (None where it could not be read),
        for a caller who draws on it too: an evidence picture. The image is decoded once."""
        started = time.perf_counter()
        require_image_source(image)
        label = path if path is not None else _label(image)
        try:
            loaded = self.load(image, name=label)
        except ImageLoadError as exc:
            return self.failed(label, str(exc), exc.sha256), None
        except MemoryError:
            return self.failed(label, f"{label}: not enough memory to read or decode it"), None
        except Exception as exc:
            # A decoder's surprise on one odd file (loading turns those it knows into
            # ImageLoadError) must not end a scan of a million: it is that file's error row, and
            # its traceback is logged for a bug report.
            logger.exception("%s: failed while reading", label)
            return self.failed(label, f"{label}: failed while reading: {type(exc).__name__}: {exc}"), None
        try:
            candidates = matching.match(self.index, loaded, keep=keep)
        except Exception as exc:
            # Likewise: the image's error row, the traceback in the log.
            logger.exception("%s: failed while matching", label)
            reason = f"{label}: failed while matching: {type(exc).__name__}: {exc}"
            return self.failed(label, reason, loaded.sha256), loaded
        result = self._result(label, loaded, candidates, time.perf_counter() - started)
        try:
            cleared = self._cleared_by(loaded, result) if result.match and len(self.allow) else None
        except Exception:
            # A surprise while comparing with the cleared pictures leaves the match as it is.
            logger.exception("%s: failed while comparing with the allow list", label)
            cleared = None
        if cleared is not None:
            return replace(result, match=False, allowed=True, allowed_by=cleared.source), loaded
        return result, loaded

    def _cleared_by(self, loaded: LoadedImage, result: Result) -> AllowEntry | None:
        """The allow-list entry that clears ``loaded``, which matched as ``result`` says (see
        ``AllowList.allows``). One taken for its entity as high as copies of its emblem score is
        named in a warning, once: it clears the emblem's copies for every account."""
        emblem = self._emblem_pictures(result.evidence.variant) if result.evidence is not None else None
        cleared = self.allow.allows(loaded, result.reference, emblem)
        if cleared is None or cleared.source in self._said_cleared:
            return cleared
        if cleared.score is not None and cleared.score >= MAX_OWN_THRESHOLD:
            self._said_cleared.add(cleared.source)
            logger.warning(
                "allow list: %s, cleared, scores %.3f as %s, as copies of its emblem do: it clears them for "
                "every account that wears one, impersonators too", cleared.source, cleared.score, cleared.entity,
            )
        return cleared

    def _emblem_pictures(self, variant: str) -> AllowList | None:
        """The emblem image ``variant`` as an allow list of its pictures: drawn and mirrored, and an
        emblem with transparency flattened on white and on black (a copy of it may be either),
        hashed as an image's are. What a cleared picture must lie nearer to than the emblem does
        to clear a match of it (see ``AllowList.allows``). None where the file cannot be read (a
        worker on a machine without the library's files): the hashes alone then decide, with a
        warning. Read where first needed (a match near a cleared picture), once a process."""
        if variant in self._emblems:
            return self._emblems[variant]
        try:
            # At an avatar's size: the hashes see 32 px, the colour is a mean.
            image = load_image(Path(variant), max_side=EMBLEM_HASH_SIDE)
        except ImageLoadError as exc:
            logger.warning("allow list: %s; a cleared picture near a match of it is held to its hashes alone", exc)
            self._emblems[variant] = None
            return None
        flattened = [image.rgb] if image.alpha is None else [
            composite(image.rgb, image.alpha, background) for background in (255.0, 0.0)
        ]
        self._emblems[variant] = AllowList(
            entry_for(load_image(np.ascontiguousarray(picture)), variant)
            for flat in flattened
            for picture in (flat, flat[:, ::-1])
        )
        return self._emblems[variant]

    def _taken(self, entry: AllowEntry) -> AllowEntry:
        """``entry`` with what its picture was taken for: as recorded, else, for a picture given as
        a file, what matching it gives; as it is where neither can say."""
        if entry.entity is not None or not Path(entry.source).is_file():
            return entry
        try:
            found = matching.match(self.index, self.load(Path(entry.source)), keep=1)
        except ImageLoadError:
            return entry
        return replace(entry, entity=found[0].entity, score=found[0].score) if found else entry

    def allow_also(self, entry: AllowEntry) -> None:
        """Honour one more cleared picture from now on (a reviewer has just dismissed it)."""
        self.allow = self.allow.with_entry(self._taken(entry))

    def failed(self, label: str, reason: str, sha256: str | None = None) -> Result:
        """The result for an image that could not be read or matched: never a match, with the reason."""
        return Result.failed(label, reason, self.threshold_for(None), sha256, self.library)

    @staticmethod
    def load(image: ImageSource, name: str | None = None) -> LoadedImage:
        """``image`` decoded as :meth:`check` decodes it: at the size matching works at, no larger,
        so that a large photo is decoded (JPEG at a reduced scale) and resized once. Raises
        :class:`ImageLoadError`; for a caller who needs the pixels too (an evidence picture)."""
        return load_image(image, name=name, max_side=matching.MAX_WORKING_SIDE)

    def _result(
        self, label: str, loaded: LoadedImage, candidates: list[matching.Candidate], elapsed: float
    ) -> Result:
        # Matching measures in the decoded pixels; results speak of the image as stored.
        scale_x = loaded.original_size[0] / loaded.size[0]
        scale_y = loaded.original_size[1] / loaded.size[1]
        best = candidates[0] if candidates else None
        threshold = self.threshold_for(best.entity if best else None)
        evidence = None
        if best is not None:
            measured = best.evidence
            evidence = Evidence(
                variant=best.variant,
                mirrored=best.mirrored,
                signals=measured.proposed_by,
                edge_correlation=round(measured.edge_correlation, 4),
                interior_correlation=None if measured.interior_correlation is None
                else round(measured.interior_correlation, 4),
                inliers=measured.inliers,
                tentative_matches=measured.tentative,
                distinctive_matches=measured.distinctive,
                hash_distance=measured.hash_distance,
                outline=tuple((round(x * scale_x, 1), round(y * scale_y, 1)) for x, y in best.outline),
                summary=scoring.explain(measured),
                appearance_agreement=None if measured.appearance_agreement is None
                else round(measured.appearance_agreement, 4),
                oblique_view=measured.oblique or measured.plane,
                refined_placement=measured.refined,
                placed_as=measured.placed_as,
                text_read=measured.text_read,
                text_expected=measured.text_expected,
                text_distance=measured.text_distance,
                text_layout=measured.text_layout,
                correspondences=_distinct_in_image(best.correspondences, scale_x, scale_y),
            )
        return Result(
            path=label,
            status=OK,
            match=bool(best and scoring.is_match(best.score, threshold)),
            reference=best.entity if best else None,
            name=best.name if best else None,
            score=best.score if best else 0.0,
            threshold=threshold,
            evidence=evidence,
            candidates=tuple(Scored(c.entity, c.name, c.score, self.threshold_for(c.entity)) for c in candidates),
            width=loaded.original_size[0],
            height=loaded.original_size[1],
            elapsed_ms=round(elapsed * 1000, 1),
            sha256=loaded.sha256,
            library=self.library,
        )

    def scan(self, paths: Iterable[str | Path], jobs: int | None = None) -> Iterator[Result]:
        """Results for ``paths`` in their order, on ``jobs`` processes (default: the Detector's).

        A file with the same bytes as one scanned shortly before is not scanned again (see
        :meth:`scan_once`). With more than one job, each worker process receives this Detector
        once and matches with it. A few chunks per worker are in flight at a time, so memory stays
        flat however many paths there are. When the caller stops early (an error, Ctrl-C, a closed
        generator), queued chunks are cancelled and the workers finish the images in hand and
        exit: nothing is killed mid-write."""
        workers = max(1, jobs or self.jobs)
        if workers == 1:
            return self.scan_once(paths, lambda todo: (self.check(path, path=str(path)) for path in todo))
        return self.scan_once(paths, lambda todo: self._scan_on_pool(todo, workers))

    def scan_once(self, paths: Iterable[str | Path], scanner: Scanner) -> Iterator[Result]:
        """What ``scanner`` (this Detector's own processes, or a cluster's workers) gives for
        ``paths``, in their order, each file with the same bytes as one of the last
        :data:`REUSED_RESULTS` distinct files scanned not sent to it again: its result repeats the
        earlier one, with its own path and ``duplicate_of`` (a default avatar, a reposted thumbnail
        downloaded again). ``scanner`` must give one result per path it takes, in order.

        Files are hashed here, as they are read, before the scanner reads them itself."""
        reuse = Reuse()
        # In input order: None for a path sent to the scanner, (digest, path) for a repeat.
        order: deque[tuple[str, str] | None] = deque()

        def sent() -> Iterator[str | Path]:
            for path in paths:
                digest = file_sha256(path)
                if digest is not None and reuse.knows(digest):
                    order.append((digest, str(path)))
                    continue
                reuse.expect(digest)
                order.append(None)
                yield path

        def repeats() -> Iterator[Result]:
            while order and order[0] is not None:
                digest, path = order.popleft()  # type: ignore[misc]  # not None: checked above
                earlier = reuse.result(digest)
                yield earlier.repeated_for(path) if earlier is not None else self.check(path, path=path)

        results = scanner(sent())
        try:
            for result in results:
                yield from repeats()
                order.popleft()
                reuse.remember(result.sha256, result)
                yield result
            yield from repeats()
        finally:
            if isinstance(results, Generator):  # stop the scanner's queued work when the caller stops early
                results.close()

    def _scan_on_pool(self, paths: Iterable[str | Path], workers: int) -> Iterator[Result]:
        """Results for ``paths`` in their order, from ``workers`` processes that receive this Detector."""
        context = process.spawn_context()
        executor = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(self, os.getpid())
        )
        pending: deque[tuple[Future[list[Result]], list[str]]] = deque()
        chunk: list[str] = []
        try:
            for path in paths:
                chunk.append(str(path))
                if len(chunk) == CHUNK_SIZE:
                    pending.append((executor.submit(_check_chunk, chunk), chunk))
                    chunk = []
                while len(pending) >= CHUNKS_IN_FLIGHT * workers:
                    yield from _done(*pending.popleft())
            if chunk:
                pending.append((executor.submit(_check_chunk, chunk), chunk))
            while pending:
                yield from _done(*pending.popleft())
        finally:
            with process.stopping_signals_ignored():
                executor.shutdown(wait=True, cancel_futures=True)


def _done(future: Future[list[Result]], paths: list[str]) -> list[Result]:
    """A chunk's results; :class:`WorkerError` naming its files when its worker died."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise WorkerError(
            f"a worker process died while matching {some(paths)} ({exc}); the results before them are complete, "
            "and a resumed scan carries on from there"
        ) from exc


class Reuse:
    """The results of the last :data:`REUSED_RESULTS` distinct files of a scan, by SHA-256; and
    the digests of files sent to be scanned whose result has not come back yet."""

    def __init__(self, size: int = 0) -> None:
        self.size = size or REUSED_RESULTS
        self.results: OrderedDict[str, Result | None] = OrderedDict()

    def knows(self, digest: str) -> bool:
        return digest in self.results

    def expect(self, digest: str | None) -> None:
        if digest is not None:
            self.results[digest] = None
            self._trim()

    def result(self, digest: str | None) -> Result | None:
        return self.results.get(digest) if digest is not None else None

    def remember(self, digest: str | None, result: Result) -> None:
        if digest is not None and result.ok:
            self.results[digest] = result
            self.results.move_to_end(digest)
            self._trim()

    def _trim(self) -> None:
        while len(self.results) > self.size:
            self.results.popitem(last=False)


def file_sha256(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes (see :func:`file_digest`); None when it cannot be read (its check
    says why), is not a regular file (a pipe or a device is read once, by its check), or is over
    the byte limit of an image (its check refuses it without reading it)."""
    try:
        found = os.stat(path)
        if not stat.S_ISREG(found.st_mode) or found.st_size > DEFAULT_MAX_BYTES:
            return None
        return file_digest(Path(path))
    except (OSError, ValueError):  # ValueError: a NUL or a lone surrogate in the name
        return None


def _distinct_in_image(
    pairs: tuple[tuple[float, float, float, float], ...], scale_x: float, scale_y: float
) -> tuple[tuple[float, float, float, float], ...]:
    """Correspondences in the stored image's pixels, one per image point: a keypoint matched to
    several neighbours of one emblem (look-alike matches) is one piece of evidence, not several."""
    kept: dict[tuple[float, float], tuple[float, float, float, float]] = {}
    for rx, ry, ix, iy in pairs:
        kept.setdefault((ix, iy), (rx, ry, round(ix * scale_x, 1), round(iy * scale_y, 1)))
    return tuple(kept.values())


def _label(image: ImageSource) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image) if isinstance(image, os.PathLike) else image
    if isinstance(image, bytes):
        return "<bytes>"
    return "<array>" if not hasattr(image, "mode") else "<image>"


#: The Detector a pool's worker process received (set once per process by :func:`_start_worker`).
_worker_detector: Detector | None = None


def _start_worker(detector: Detector, parent: int) -> None:
    global _worker_detector
    process.set_up(worker=True, parent=parent)
    _worker_detector = detector


def _check_chunk(paths: list[str]) -> list[Result]:
    if _worker_detector is None:
        raise RuntimeError("a scan worker was used before it received its Detector")
    return [_worker_detector.check(path, path=path) for path in paths]


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1

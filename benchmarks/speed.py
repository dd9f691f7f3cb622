"""Speed and memory of logowatch, measured in one run so that the figures compare.

    PYTHONPATH=. python benchmarks/speed.py [--bench ../shared/bench] [--baseline DIR] [--jobs N]
                                            [--sample 200] [--limit N] [--large DIR]

Prints, on the same files and machine, for each benchmark set (the ``dev`` and ``dev-extra``
queries, and the ``background`` images, all against ``dev/references``):

1. decode-only images/s (Pillow opening and converting each image to RGB), on one process and
   on ``--jobs`` processes;
2. where the time goes: CPU milliseconds per image on one process, stage by stage (decode, SIFT
   in brightness, the colour channels, the nearest-neighbour lookup, RANSAC and the rest of the
   proposals, verification, the rest), over ``--sample`` images of each set spread evenly over it;
3. full-scan images/s with ``--jobs`` processes (``logowatch scan -j``, start-up included), and
   what share of decode-only speed that is;

and then, for the dev queries:

4. the same scan on a Dask LocalCluster of ``--jobs`` worker processes (with the ``dask`` extra;
   the library's loading and the cluster's start-up included), and its workers' peak memory;
5. the per-image cost and peak memory of scanning ``--sample`` of them on one process against
   the set's library and against the ``--large`` library (each in a fresh process, index warm),
   and how long that library's index takes to load from the cache.

``--baseline DIR`` names another checkout of logowatch (``git worktree add /tmp/lw-base <commit>``):
its stages and scans are measured in subprocesses that import it instead, beside this one's, so
that old and new are measured in the same run on the same machine. ``--limit N`` takes only the
first N images of each set, to try the script out. The data is not part of the repository: when
it is absent the script says so and exits with 2.

The script measures the logowatch of the checkout it is in, and says so when Python imports
another (an editable install of a second checkout): run it with ``PYTHONPATH=.`` from there.
The stages are timed by wrapping the library's functions in the process that measures them:
CPU time (``time.process_time``), so that other jobs on a shared machine disturb the figures less
than they disturb the wall-clock rates. Peak memory is each process's own (``VmHWM``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

#: The checkout this script belongs to: the code measured as "new".
HERE = Path(__file__).resolve().parent.parent
#: The sets measured: name -> (images, references), relative to ``--bench``.
SETS = {
    "dev": ("dev/queries", "dev/references"),
    "dev-extra": ("dev-extra/queries", "dev/references"),
    "background": ("background/images", "dev/references"),
}
#: Stages in the order printed; "other" is the rest of Detector.check (hashing, scoring, the result).
STAGES = ("decode", "SIFT brightness", "SIFT colour", "lookup", "proposals", "verification", "other")


def images_of(folder: Path, limit: int) -> list[Path]:
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return paths[:limit] if limit else paths


def spread(paths: list[Path], count: int) -> list[Path]:
    """``count`` paths spread evenly over ``paths`` (all of them when there are fewer)."""
    if len(paths) <= count:
        return paths
    step = len(paths) / count
    return [paths[int(i * step)] for i in range(count)]


def decode(path: Path) -> int:
    with Image.open(path) as image:
        return image.convert("RGB").width


def decode_rate(paths: list[Path], jobs: int) -> float:
    started = time.perf_counter()
    if jobs == 1:
        for path in paths:
            decode(path)
    else:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            list(pool.imap(decode, paths, chunksize=16))
    return len(paths) / (time.perf_counter() - started)


def own_peak_mib() -> float:
    """This process's own peak resident memory. Linux's ru_maxrss of a spawned process counts its
    parent's size at the fork too (here a process holding the whole library); VmHWM does not."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stopwatch:
    """CPU time per stage, exclusive of the stages timed inside it."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._inner: list[float] = []

    def wrap(self, function: Callable[..., Any], stage: Callable[..., str]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._inner.append(0.0)
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.process_time() - started
                inner = self._inner.pop()
                self.spent[stage(*args, **kwargs)] += elapsed - inner
                if self._inner:
                    self._inner[-1] += elapsed

        return timed


def _always(stage: str) -> Callable[..., str]:
    return lambda *args, **kwargs: stage


def _sift_stage(image: Any, *args: Any, **kwargs: Any) -> str:
    # features.detect_in_colour describes the RGB working copy in brightness, then each opponent
    # colour channel on its own (one 8-bit plane).
    return "SIFT brightness" if image.ndim == 3 else "SIFT colour"


def stage_targets() -> list[tuple[Any, str, Callable[..., str]]]:
    """(owner, attribute, stage of a call) for each library function that is timed. A function's
    time, less that of the timed functions it calls, counts to its stage; Detector.check is the
    outermost, so that what no other function claims counts as "other"."""
    from logowatch import detector, features, matching, verification

    return [
        (detector.Detector, "check", _always("other")),
        (detector.Detector, "load", _always("decode")),
        (matching, "working_copy", _always("decode")),  # a small avatar enlarged to the working size
        (features, "detect", _sift_stage),
        (features, "detect_in_colour", _always("SIFT colour")),  # the channels, shrunk, merged
        (features.FeatureIndex, "_search", _always("lookup")),
        (features.FeatureIndex, "hypotheses", _always("proposals")),
        (features.FeatureIndex, "oblique_hypotheses", _always("proposals")),
        (verification, "upscale_factor", _always("verification")),
        (verification, "compare", _always("verification")),
        (verification, "interior_of", _always("verification")),
        (verification, "interior_correlation", _always("verification")),
        (verification, "appearance_agreement", _always("verification")),
    ]


@contextmanager
def timed_stages(watch: Stopwatch) -> Iterator[None]:
    """The library's stage functions wrapped to count into ``watch``, and put back afterwards.
    A baseline that lacks one of them is measured without it (its time counts to the caller's)."""
    saved = []
    for owner, name, stage in stage_targets():
        original = owner.__dict__.get(name)
        if original is None:
            continue
        function = original.__func__ if isinstance(original, staticmethod) else original
        wrapped = watch.wrap(function, stage)
        setattr(owner, name, staticmethod(wrapped) if isinstance(original, staticmethod) else wrapped)
        saved.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def stage_costs(bench: Path, cache: Path, sample: int, limit: int) -> dict[str, dict[str, float]]:
    """CPU ms per image and stage, on one process, for each set's sample."""
    from logowatch import Detector, process

    process.set_up(worker=True)  # as a scan's worker: OpenCV on one thread
    costs: dict[str, dict[str, float]] = {}
    detectors: dict[str, Any] = {}
    for name, (images, references) in SETS.items():
        if references not in detectors:
            detectors[references] = Detector(bench / references, cache_dir=cache)
        detector = detectors[references]
        files = [path.read_bytes() for path in spread(images_of(bench / images, limit), sample)]
        detector.check(files[0])  # the first query builds the nearest-neighbour trees
        watch = Stopwatch()
        with timed_stages(watch):
            for data in files:
                detector.check(data)
        costs[name] = {stage: 1000 * watch.spent.get(stage, 0.0) / len(files) for stage in STAGES}
        costs[name]["total"] = sum(costs[name].values())
        costs[name]["images"] = len(files)
    return costs


def checkout_env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout)}


def stage_costs_of(checkout: Path, bench: Path, cache: Path, sample: int, limit: int) -> dict[str, dict[str, float]]:
    """:func:`stage_costs` measured in a subprocess that imports ``checkout``'s logowatch."""
    command = [sys.executable, str(Path(__file__).resolve()), "--stages-json", "--bench", str(bench),
               "--cache-dir", str(cache), "--sample", str(sample), "--limit", str(limit)]
    done = subprocess.run(command, env=checkout_env(checkout), cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"stages with {checkout} failed ({done.returncode}): {done.stderr[-2000:]}")
    costs: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return costs


def scan_rate(checkout: Path, bench: Path, name: str, cache: Path, jobs: int, limit: int) -> float:
    """Images/s of ``logowatch scan -j jobs`` of one set, with ``checkout``'s code, start-up included."""
    from logowatch.errors import ExitCode

    images, references = SETS[name]
    paths = images_of(bench / images, limit)
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "files.txt"
        listing.write_text("".join(f"{path}\n" for path in paths), encoding="utf-8")
        command = [sys.executable, "-m", "logowatch", "scan", "-q", "-f", "jsonl", "-j", str(jobs),
                   "--cache-dir", str(cache), "-r", str(bench / references), "-o", str(Path(scratch) / "out.jsonl"),
                   "--files-from", str(listing)]
        started = time.perf_counter()
        done = subprocess.run(command, env=checkout_env(checkout), cwd=checkout, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode not in (ExitCode.MATCH, ExitCode.NO_MATCH, ExitCode.UNREADABLE):
        raise RuntimeError(f"scan of {name} with {checkout} failed ({done.returncode}): {done.stderr[-2000:]}")
    return len(paths) / elapsed


def prepare_cache(checkout: Path, references: Path, cache: Path) -> None:
    """Prepare a library's emblems into the cache first (on every core), so that nothing measured does it."""
    command = [sys.executable, "-m", "logowatch", "index", "-r", str(references), "--cache-dir", str(cache)]
    done = subprocess.run(command, env=checkout_env(checkout), cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"preparing {references} with {checkout} failed: {done.stderr[-2000:]}")


def cluster_scan(references: Path, cache: Path, paths: list[Path], jobs: int) -> tuple[float, float] | None:
    """(images/s, the largest worker's peak memory in MiB) of a scan on a LocalCluster of ``jobs``
    worker processes, as ``logowatch scan --dask local`` does it: the library's loading and the
    cluster's start-up included, as in a real scan; None without the dask extra."""
    try:
        from logowatch import cluster
    except ImportError as exc:
        print(f"no Dask ({exc}): pip install 'logowatch[dask]' for the LocalCluster row", file=sys.stderr)
        return None
    from logowatch import Detector

    started = time.perf_counter()
    detector = Detector(references, cache_dir=cache)
    with cluster.connect(cluster.Address(workers=jobs)) as client:
        for _ in detector.scan_once(paths, lambda todo: cluster.scan(detector, todo, client)):
            pass
        rate = len(paths) / (time.perf_counter() - started)
        peaks = client.run(own_peak_mib)
    return rate, max(peaks.values())


def library_cost(job: tuple[Path, Path, list[Path]]) -> tuple[float, float, float, int]:
    """In a fresh process: (seconds to load the index, ms per image, peak memory in MiB, entities)."""
    from logowatch import Detector

    references, cache, paths = job
    started = time.perf_counter()
    detector = Detector(references, cache_dir=cache)  # keeps freed memory, as the command line does
    loaded = time.perf_counter() - started
    list(detector.scan(paths[:2]))  # first queries build the nearest-neighbour trees
    started = time.perf_counter()
    for _ in detector.scan(paths):
        pass
    per_image = (time.perf_counter() - started) * 1000 / len(paths)
    return loaded, per_image, own_peak_mib(), len(detector.index.entities)


def in_fresh_process(job: tuple[Path, Path, list[Path]]) -> tuple[float, float, float, int]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(library_cost, (job,))


def print_stages(columns: dict[str, dict[str, dict[str, float]]]) -> None:
    """One row per stage, one column per (checkout, set): ms per image and share of the total."""
    heads = [(who, name) for name in SETS for who in columns]
    print(f"{'stage':16}" + "".join(f"{name + ' ' + who:>22}" for who, name in heads))
    for stage in (*STAGES, "total"):
        cells = []
        for who, name in heads:
            cost = columns[who][name]
            share = 100 * cost[stage] / cost["total"] if cost["total"] else 0.0
            cells.append(f"{cost[stage]:9.1f} ms " + (f"{share:5.1f}%" if stage != "total" else " " * 6))
        print(f"{stage:16}" + "".join(f"{cell:>22}" for cell in cells))
    counts = ", ".join(f"{name} {int(columns[who][name]['images'])}" for who, name in heads if who == "new")
    print(f"(CPU time per image on 1 process; images per set: {counts})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout of logowatch to measure beside")
    parser.add_argument("--jobs", type=int, default=None, help="processes for the scans [default: every core]")
    parser.add_argument("--sample", type=int, default=200, help="images per set for the stages and the libraries")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images of each set")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--large", default=None, help="a large library [default: BENCH/scale-refs; '' for none]")
    parser.add_argument("--stages-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    bench = args.bench.resolve()
    if args.cache_dir is None:
        from logowatch.library import default_cache_dir

        args.cache_dir = default_cache_dir()
    cache = args.cache_dir.resolve()
    if args.stages_json:  # one checkout's stage figures, in a process of its own (see stage_costs_of)
        print(json.dumps(stage_costs(bench, cache, args.sample, args.limit)))
        return 0

    import logowatch
    from logowatch.detector import default_jobs

    imported = Path(logowatch.__file__).resolve().parent.parent
    if imported != HERE:
        print(f"this script measures {HERE}, but Python imports logowatch from {imported}: "
              f"run it with PYTHONPATH={HERE}", file=sys.stderr)
        return 2
    missing = [name for name, (images, references) in SETS.items()
               if not (bench / images).is_dir() or not (bench / references).is_dir()]
    if missing:
        print(f"benchmark sets {', '.join(missing)} not found under {bench}; nothing measured", file=sys.stderr)
        return 2
    checkouts = {"new": HERE}
    if args.baseline is not None:
        if not (args.baseline / "logowatch" / "__init__.py").is_file():
            print(f"--baseline {args.baseline}: no logowatch checkout there", file=sys.stderr)
            return 2
        checkouts["base"] = args.baseline.resolve()
    jobs = args.jobs or default_jobs()
    large = bench / "scale-refs" if args.large is None else Path(args.large) if args.large else None
    references = bench / SETS["dev"][1]
    for checkout in checkouts.values():
        prepare_cache(checkout, references, cache)

    print(f"new: {HERE}" + (f", base: {checkouts['base']}" if "base" in checkouts else "")
          + f"; {jobs} jobs for the scans; cache {cache}")
    print("\ndecode only (Pillow, to RGB):")
    decoded: dict[str, tuple[float, float]] = {}
    for name, (images, _) in SETS.items():
        paths = images_of(bench / images, args.limit)
        decoded[name] = decode_rate(paths, 1), decode_rate(paths, jobs)
        print(f"  {name:10} {len(paths):5d} images: {decoded[name][0]:8.1f} images/s on 1 process, "
              f"{decoded[name][1]:8.1f} on {jobs}")

    print("\nwhere the time goes:")
    columns = {who: stage_costs_of(checkout, bench, cache, args.sample, args.limit)
               for who, checkout in checkouts.items()}
    print_stages(columns)

    print(f"\nfull scan, {jobs} processes (logowatch scan, start-up included):")
    rates: dict[str, dict[str, float]] = defaultdict(dict)
    for name in SETS:
        for who, checkout in checkouts.items():
            rates[who][name] = scan_rate(checkout, bench, name, cache, jobs, args.limit)
        line = "   ".join(f"{who} {rates[who][name]:6.1f} images/s" for who in checkouts)
        ratio = f"   new/base {rates['new'][name] / rates['base'][name]:.2f}x" if "base" in rates else ""
        one, many = decoded[name]
        print(f"  {name:10} {line}{ratio}   new = {100 * rates['new'][name] / one:.1f}% of 1-process decode, "
              f"{100 * rates['new'][name] / many:.1f}% of {jobs}-process decode")

    queries = images_of(bench / SETS["dev"][0], args.limit)
    on_cluster = cluster_scan(references, cache, queries, jobs)
    if on_cluster is not None:
        rate, peak = on_cluster
        print(f"  dev on a LocalCluster of {jobs}: {rate:6.1f} images/s = {100 * rate / rates['new']['dev']:.0f}% of "
              f"the process pool; peak memory per worker {peak:.0f} MiB")

    sample = spread(queries, args.sample)
    print(f"\nper library, {len(sample)} dev queries on 1 process (index warm):")
    libraries = [("set library", references)]
    if large is not None and large.is_dir():
        prepare_cache(HERE, large, cache)
        libraries.append(("large library", large))
    elif large is not None:
        print(f"large library not found at {large}; skipping that comparison", file=sys.stderr)
    costs = []
    for label, root in libraries:
        loaded, per_image, peak, entities = in_fresh_process((root, cache, sample))
        costs.append(per_image)
        print(f"  {label:14} {entities:5d} entities: index loaded in {loaded:5.1f}s, "
              f"{per_image:6.1f} ms/image, peak memory {peak:6.0f} MiB")
    if len(costs) == 2:
        print(f"  large / set library cost per image: {costs[1] / costs[0]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

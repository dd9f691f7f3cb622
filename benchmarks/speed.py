"""Speed and memory of logowatch, measured in one run so that the figures compare.

    python benchmarks/speed.py [--set ../shared/bench/dev] [--large ../shared/bench/scale-refs]

Prints, on the same files and machine:

1. decode-only images/s (Pillow opening and converting each query to RGB), on one process and
   on ``--jobs`` processes;
2. full-scan images/s on ``--jobs`` processes, and what share of decode-only speed that is; the
   same scan on a Dask LocalCluster of ``--jobs`` worker processes (with the ``dask`` extra), and
   its workers' peak memory;
3. the per-image cost and peak memory of scanning ``--sample`` queries on one process against
   the set's library and against the ``--large`` library (each in a fresh process, index warm).

The data is not part of the repository: when it is absent the script says so and exits with 2.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path

from PIL import Image

from logowatch import Detector
from logowatch.allocator import keep_freed_memory
from logowatch.detector import default_jobs
from logowatch.library import default_cache_dir
from logowatch.scan import Inputs


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


def cluster_scan(detector: Detector, paths: list[Path], jobs: int) -> tuple[float, float] | None:
    """(images/s, the largest worker's peak memory in MiB) of a scan on a LocalCluster of ``jobs``
    worker processes, cluster start-up included as in a real scan; None without the dask extra."""
    try:
        from logowatch import cluster
    except ImportError as exc:
        print(f"no Dask ({exc}): pip install 'logowatch[dask]' for the LocalCluster row", file=sys.stderr)
        return None
    started = time.perf_counter()
    with cluster.connect(cluster.Address(workers=jobs)) as client:
        for _ in cluster.scan(detector, paths, client):
            pass
        rate = len(paths) / (time.perf_counter() - started)
        peaks = client.run(own_peak_mib)
    return rate, max(peaks.values())


def library_cost(job: tuple[Path, Path, list[Path]]) -> tuple[float, float, float, int]:
    """In a fresh process: (seconds to load the index, ms per image, peak RSS in MiB, entities)."""
    references, cache, paths = job
    keep_freed_memory()  # as the command line does
    started = time.perf_counter()
    detector = Detector(references, cache_dir=cache)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=Path("../shared/bench/dev"))
    parser.add_argument("--large", type=Path, default=Path("../shared/bench/scale-refs"))
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    queries, references = args.set / "queries", args.set / "references"
    if not queries.is_dir() or not references.is_dir():
        print(f"benchmark set not found under {args.set}; nothing measured", file=sys.stderr)
        return 2
    cache = default_cache_dir()
    paths = list(Inputs([queries]))
    print(f"{len(paths)} queries from {queries}, {args.jobs} jobs")
    detector = Detector(references, cache_dir=cache, jobs=args.jobs)

    one = decode_rate(paths, 1)
    many = decode_rate(paths, args.jobs)
    started = time.perf_counter()
    for _ in detector.scan(paths):  # worker start-up included, as in a real scan
        pass
    full = len(paths) / (time.perf_counter() - started)
    print(f"decode only, 1 process:          {one:8.1f} images/s")
    print(f"decode only, {args.jobs} processes:        {many:8.1f} images/s")
    print(f"full scan,   {args.jobs} processes:        {full:8.1f} images/s "
          f"= {100 * full / one:.1f}% of 1-process decode, {100 * full / many:.1f}% of {args.jobs}-process decode")
    on_cluster = cluster_scan(detector, paths, args.jobs)
    if on_cluster is not None:
        rate, peak = on_cluster
        print(f"full scan,   LocalCluster of {args.jobs}: {rate:8.1f} images/s = {100 * rate / full:.0f}% of the "
              f"process pool; peak memory per worker {peak:.0f} MiB")

    sample = paths[: args.sample]
    rows = [("set library", references)]
    if args.large.is_dir():
        Detector(args.large, cache_dir=cache, jobs=args.jobs)  # prepare what the cache lacks, in parallel
        rows.append(("large library", args.large))
    else:
        print(f"large library not found at {args.large}; skipping that comparison", file=sys.stderr)
    costs = []
    for label, root in rows:
        loaded, per_image, peak, entities = in_fresh_process((root, cache, sample))
        costs.append(per_image)
        print(f"{label:14} {entities:5d} entities: index loaded in {loaded:5.1f}s, "
              f"{per_image:6.1f} ms/image on 1 process, peak memory {peak:6.0f} MiB")
    if len(costs) == 2:
        print(f"large / set library cost per image: {costs[1] / costs[0]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

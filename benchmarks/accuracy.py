"""Accuracy of logowatch on a labelled benchmark set.

    python benchmarks/accuracy.py --set ../shared/bench/dev [--threshold 0.5] [--jobs 2]

A set is a folder with ``references/`` (one folder per entity), ``queries/`` and ``labels.csv``
(columns ``file``, ``reference`` (empty for images without an emblem), ``family``, ``source``).
It prints recall, false-positive rate and wrong identifications at the threshold, recall at fixed
false-positive rates from the scores alone, per alteration family and per kind of negative, and
writes the predictions as JSON lines. The set is not part of the repository: when it is absent,
the script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from logowatch import Detector
from logowatch.detector import default_jobs


def recall_at_fpr(pos: list[tuple[float, bool]], neg: list[float], fpr: float) -> tuple[float, float]:
    """Recall (correct entity, score above the cut) at the cut that lets ``fpr`` of negatives through."""
    ranked = sorted(neg, reverse=True)
    k = int(fpr * len(ranked))
    cut = ranked[k] if k < len(ranked) else float("-inf")
    return sum(1 for s, ok in pos if ok and s > cut) / max(1, len(pos)), cut


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=Path("../shared/bench/dev"))
    parser.add_argument("--threshold", type=float, default=None,
                        help="the threshold [default: the library's calibrated one, else the default]")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--limit", type=int, default=0, help="only the first N queries")
    parser.add_argument("--output", type=Path, default=Path("accuracy-predictions.jsonl"))
    args = parser.parse_args()
    labels_path = args.set / "labels.csv"
    if not labels_path.is_file():
        print(f"benchmark set not found: {labels_path} does not exist; nothing measured", file=sys.stderr)
        return 2
    with labels_path.open(encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    if args.limit:
        labels = labels[: args.limit]
    started = time.perf_counter()
    detector = Detector(args.set / "references", threshold=args.threshold, jobs=args.jobs)
    prepared = time.perf_counter() - started
    paths = [args.set / "queries" / row["file"] for row in labels]
    started = time.perf_counter()
    rows = []
    with args.output.open("w", encoding="utf-8") as out:
        for result in detector.scan(paths):
            row = result.to_dict()
            rows.append(row)
            out.write(json.dumps(row) + "\n")
    elapsed = time.perf_counter() - started

    by_name = {Path(r["path"]).name: r for r in rows}
    family: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    negative_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pos: list[tuple[float, bool]] = []
    neg: list[float] = []
    tp = wrong = fp = errors = 0
    for label in labels:
        result = by_name[label["file"]]
        errors += result["status"] == "error"
        value = float(result["score"] or 0.0)
        if label["reference"]:
            correct = result["reference"] == label["reference"]
            pos.append((value, correct))
            family[label["family"]][1] += 1
            if result["match"] and correct:
                tp += 1
                family[label["family"]][0] += 1
            elif result["match"]:
                wrong += 1
        else:
            neg.append(value)
            kind = label["source"].split(":")[0]
            negative_kind[kind][1] += 1
            if result["match"]:
                fp += 1
                negative_kind[kind][0] += 1
    n_pos, n_neg = max(1, len(pos)), max(1, len(neg))
    print(f"set {args.set}: {len(pos)} with an emblem, {len(neg)} without, {len(detector.index.entities)} entities")
    print(f"threshold {detector.threshold} ({detector.threshold_source}): "
          f"recall {tp / n_pos:.3f}  fpr {fp / n_neg:.4f}  wrong_id {wrong / n_pos:.4f}  errors {errors}")
    for target in (0.005, 0.01):
        value, cut = recall_at_fpr(pos, neg, target)
        print(f"recall at fpr {target:g}: {value:.3f} (score cut {cut:.3f})")
    print("\nrecall by family:")
    for name, (hit, total) in sorted(family.items()):
        print(f"  {name:16} {hit / total:.3f}  ({hit}/{total})")
    print("false positives by kind of negative:")
    for name, (hit, total) in sorted(negative_kind.items()):
        print(f"  {name:16} {hit / total:.3f}  ({hit}/{total})")
    print(f"\n{len(rows)} images in {elapsed:.1f}s with {args.jobs} jobs: {len(rows) / elapsed:.1f} images/s "
          f"(library ready in {prepared:.1f}s)")
    print(f"predictions written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of logowatch on every benchmark set, and a plot of recall against false positives.

    python benchmarks/accuracy.py [--bench ../shared/bench] [--sets dev,dev-extra,seals,background]
                                  [--threshold X] [--jobs 2] [--plot docs/accuracy.png]

Each set is scanned with a fresh :class:`~logowatch.Detector` of its library, at the library's
threshold (or ``--threshold``), and reported as ``evaluate.py`` would: recall (right entity, at or
above the threshold), false-positive rate, wrong entities named, recall at 0.5% and 1% false
positives from the scores alone, recall per alteration family and false positives per kind of
image without an emblem. The sets:

- ``dev``: ``dev/references`` against ``dev/queries`` (``dev/labels.csv``);
- ``dev-extra``: the same library against ``dev-extra/queries``;
- ``seals``: ``seals/references`` against ``seals/queries``, where the negatives are seals of
  the same design with other names;
- ``background``: ``background/images`` (no emblem at all) against ``dev/references`` and
  against ``accounts/references``: every match is a false positive. Its curve pairs the dev
  positives with these 3,000 ordinary images, the proportion a real avatar dump has.

The plot (``--plot``) draws recall against the false-positive rate, one curve per set, with the
threshold's point marked. Predictions are written as JSON lines beside it (``--output DIR``).
The data is not part of the repository: a set that is absent is said to be and skipped.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from logowatch import Detector, Result, text
from logowatch.detector import default_jobs
from logowatch.library import default_text_model

#: False-positive rates at which recall is reported from the scores alone.
REPORTED_FPRS = (0.005, 0.01)
#: The plot's horizontal axis ends here: beyond a few percent false positives, no user is served.
PLOT_MAX_FPR = 0.03
PLOT_SIZE = (1120, 600)
COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14))


@dataclass
class Outcome:
    """What one set gave: for positives (score, right entity, matched), for negatives (score, matched)."""

    name: str
    positives: list[tuple[float, bool, bool]] = field(default_factory=list)
    negatives: list[tuple[float, bool]] = field(default_factory=list)
    families: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    kinds: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    wrong: int = 0
    errors: int = 0
    threshold: float = 0.0
    seconds: float = 0.0

    def recall(self) -> float:
        return sum(1 for _, right, hit in self.positives if right and hit) / max(1, len(self.positives))

    def false_positive_rate(self) -> float:
        return sum(1 for _, hit in self.negatives if hit) / max(1, len(self.negatives))

    def recall_at(self, fpr: float) -> float:
        """Recall with the cut that lets ``fpr`` of the negatives through, from the scores alone."""
        ranked = sorted((score for score, _ in self.negatives), reverse=True)
        allowed = int(fpr * len(ranked))
        cut = ranked[allowed] if allowed < len(ranked) else float("-inf")
        return sum(1 for score, right, _ in self.positives if right and score > cut) / max(1, len(self.positives))

    def curve(self) -> list[tuple[float, float]]:
        """(false-positive rate, recall) at every distinct score, from the strictest cut down."""
        cuts = sorted({score for score, _ in self.negatives} | {score for score, _, _ in self.positives}, reverse=True)
        points = [(0.0, 0.0)]
        for cut in cuts:
            fpr = sum(1 for score, _ in self.negatives if score >= cut) / max(1, len(self.negatives))
            if fpr > PLOT_MAX_FPR:
                break
            found = sum(1 for score, right, _ in self.positives if right and score >= cut)
            points.append((fpr, found / max(1, len(self.positives))))
        return points


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def scan(
    name: str, detector: Detector, folder: Path, labels: list[dict[str, str]], output: Path
) -> tuple[Outcome, dict[str, Result]]:
    """A new outcome for the set ``name``, timed, and the results of its files by name (also
    written to ``output`` as JSON lines)."""
    outcome = Outcome(name, threshold=detector.threshold)
    found: dict[str, Result] = {}
    started = time.perf_counter()
    with output.open("w", encoding="utf-8") as stream:
        for result in detector.scan([folder / row["file"] for row in labels]):
            stream.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            found[Path(result.path).name] = result
    outcome.seconds = time.perf_counter() - started
    return outcome, found


def labelled(name: str, detector: Detector, folder: Path, labels: list[dict[str, str]], output: Path) -> Outcome:
    """A set whose labels name each query's entity (empty: no emblem)."""
    outcome, results = scan(name, detector, folder, labels, output)
    for row in labels:
        result = results[row["file"]]
        outcome.errors += not result.ok
        score = result.score or 0.0
        if row["reference"]:
            right = result.reference == row["reference"]
            outcome.positives.append((score, right, result.match))
            outcome.families[row["family"]][1] += 1
            outcome.families[row["family"]][0] += result.match and right
            outcome.wrong += result.match and not right
        else:
            outcome.negatives.append((score, result.match))
            kind = row["source"].split(":")[0]
            outcome.kinds[kind][1] += 1
            outcome.kinds[kind][0] += result.match
    return outcome


def background(
    name: str, detector: Detector, folder: Path, labels: list[dict[str, str]], output: Path, positives: Outcome | None
) -> Outcome:
    """Ordinary images with no emblem: every match is a false positive. The positives of another
    set (dev) make its curve: what a user with such a dump would see."""
    outcome, results = scan(name, detector, folder, labels, output)
    for row in labels:
        result = results[row["file"]]
        outcome.errors += not result.ok
        outcome.negatives.append((result.score or 0.0, result.match))
        outcome.kinds[row["kind"]][1] += 1
        outcome.kinds[row["kind"]][0] += result.match
    if positives is not None:
        outcome.positives = list(positives.positives)
    return outcome


def report(outcome: Outcome) -> None:
    flagged = sum(1 for _, hit in outcome.negatives if hit)
    held = f"{len(outcome.positives)} with an emblem, " if outcome.families else ""
    print(f"\n== {outcome.name}: {held}{len(outcome.negatives)} without, "
          f"threshold {outcome.threshold:g}, {outcome.seconds:.0f}s")
    if outcome.families:
        print(f"recall {outcome.recall():.3f}  wrong_id {outcome.wrong / max(1, len(outcome.positives)):.4f}  "
              f"fpr {outcome.false_positive_rate():.4f} ({flagged}/{len(outcome.negatives)})  errors {outcome.errors}")
        print("recall at fpr " + ", ".join(f"{fpr:g}: {outcome.recall_at(fpr):.3f}" for fpr in REPORTED_FPRS))
        print("recall by family: " + ", ".join(
            f"{family} {hit / total:.3f}" for family, (hit, total) in sorted(outcome.families.items())))
    else:
        print(f"false positives {flagged}/{len(outcome.negatives)} ({outcome.false_positive_rate():.4f})  "
              f"errors {outcome.errors}")
    print("false positives by kind: " + ", ".join(
        f"{kind} {hit}/{total}" for kind, (hit, total) in sorted(outcome.kinds.items())))


def plot(outcomes: list[Outcome], target: Path) -> None:
    """Recall against false-positive rate, one curve per set, the threshold's point marked."""
    width, height = PLOT_SIZE
    left, right, top, bottom = 80, width - 370, 40, height - 70
    image = Image.new("RGB", PLOT_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)

    def at(fpr: float, recall: float) -> tuple[float, float]:
        return left + fpr / PLOT_MAX_FPR * (right - left), bottom - recall * (bottom - top)

    for step in range(0, 7):
        fpr = PLOT_MAX_FPR * step / 6
        x, _ = at(fpr, 0.0)
        draw.line([(x, top), (x, bottom)], fill=(232, 232, 232))
        draw.text((x - 14, bottom + 8), f"{100 * fpr:.1f}%", fill=(60, 60, 60), font=font)
    for step in range(0, 11):
        recall = step / 10
        _, y = at(0.0, recall)
        draw.line([(left, y), (right, y)], fill=(232, 232, 232))
        draw.text((left - 44, y - 8), f"{recall:.1f}", fill=(60, 60, 60), font=font)
    draw.rectangle((left, top, right, bottom), outline=(120, 120, 120))
    draw.text((left, 10), "recall against false-positive rate (logowatch, default threshold marked)",
              fill=(20, 20, 20), font=font)
    draw.text(((left + right) // 2 - 60, height - 35), "false-positive rate", fill=(20, 20, 20), font=font)
    draw.text((10, top - 28), "recall", fill=(20, 20, 20), font=font)
    legend_y = top
    for number, outcome in enumerate(o for o in outcomes if o.positives):
        colour = COLOURS[number % len(COLOURS)]
        curve = outcome.curve()
        curve.append((PLOT_MAX_FPR, curve[-1][1]))  # flat to the edge: no cut there lets more through
        points = [at(fpr, recall) for fpr, recall in curve]
        stepped = []
        for index, point in enumerate(points):
            if index:
                stepped.append((point[0], stepped[-1][1]))
            stepped.append(point)
        draw.line(stepped, fill=colour, width=3)
        mark = at(min(outcome.false_positive_rate(), PLOT_MAX_FPR), outcome.recall())
        draw.ellipse((mark[0] - 6, mark[1] - 6, mark[0] + 6, mark[1] + 6), outline=colour, width=3)
        draw.line([(right + 20, legend_y + 9), (right + 50, legend_y + 9)], fill=colour, width=3)
        label = f"{outcome.name}: {outcome.recall():.3f} at {100 * outcome.false_positive_rate():.2f}%"
        draw.text((right + 56, legend_y), label, fill=(20, 20, 20), font=font)
        legend_y += 26
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target)
    print(f"\nplot written to {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--sets", default="dev,dev-extra,seals,background")
    parser.add_argument("--threshold", type=float, default=None,
                        help="the threshold [default: each library's own, else the default]")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--limit", type=int, default=0, help="only the first N images of each set")
    parser.add_argument("--output", type=Path, default=Path("accuracy-predictions"))
    parser.add_argument("--plot", type=Path, default=None, help="write the recall/false-positive plot (PNG)")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    # The seals are told apart by their rings' text only where the text check is installed.
    print("text check: " + (text.unavailable(default_text_model()) or "on"))
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    outcomes: list[Outcome] = []
    detectors: dict[Path, Detector] = {}

    def detector(references: Path) -> Detector:
        if references not in detectors:
            detectors[references] = Detector(references, threshold=args.threshold, jobs=args.jobs)
        return detectors[references]

    def rows(labels: Path) -> list[dict[str, str]] | None:
        if not labels.is_file():
            print(f"benchmark set not found: {labels} does not exist; skipped", file=sys.stderr)
            return None
        found = read_labels(labels)
        return found[: args.limit] if args.limit else found

    dev: Outcome | None = None
    for name, queries, references in (
        ("dev", "dev/queries", "dev/references"),
        ("dev-extra", "dev-extra/queries", "dev/references"),
        ("seals", "seals/queries", "seals/references"),
    ):
        labels = rows(args.bench / name / "labels.csv")
        if name in wanted and labels is not None:
            outcome = labelled(name, detector(args.bench / references), args.bench / queries, labels,
                               args.output / f"{name}.jsonl")
            report(outcome)
            outcomes.append(outcome)
            dev = outcome if name == "dev" else dev
    labels = rows(args.bench / "background" / "labels.csv")
    if "background" in wanted and labels is not None:
        for library in ("dev", "accounts"):
            outcome = background(f"background, {library} emblems", detector(args.bench / library / "references"),
                                 args.bench / "background" / "images", labels,
                                 args.output / f"background-{library}.jsonl", dev if library == "dev" else None)
            report(outcome)
            outcomes.append(outcome)
    if not outcomes:
        print("no benchmark set found; nothing measured", file=sys.stderr)
        return 2
    if args.plot is not None:
        plot(outcomes, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())

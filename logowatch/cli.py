"""The ``logowatch`` command: a thin Click layer over the library."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import click

from logowatch import __version__, allocator, scoring
from logowatch.calibration import DEFAULT_TARGET_FPR, calibrate, save, threshold_for
from logowatch.errors import ExitCode, LogowatchError
from logowatch.evidence import picture
from logowatch.library import ReferenceIndex, build_index, default_cache_dir, default_references, discover, warm_cache
from logowatch.loading import load_image
from logowatch.matching import match
from logowatch.reports import CsvWriter, HtmlWriter, JsonLinesWriter, TableWriter
from logowatch.scan import completed_paths, default_jobs, iter_inputs, scan, scan_parallel

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

EXIT_CODES_HELP = """
\b
Exit codes:
  0  at least one image matched a reference emblem
  1  no image matched
  2  usage error, or a fatal error (unreadable reference library, unwritable output)
  130  interrupted (Ctrl-C); what was written is kept
A file that cannot be read is not fatal: it becomes a result with status "error".
"""


class FatalError(click.ClickException):
    """A library error shown to the user, with exit code 2."""

    exit_code = int(ExitCode.ERROR)


def _references_option(function: Any) -> Any:
    function = click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where prepared emblems are cached [default: $LOGOWATCH_CACHE_DIR or ~/.cache/logowatch].",
    )(function)
    function = click.option(
        "--no-cache", is_flag=True, help="Prepare the emblems afresh and write no cache."
    )(function)
    return click.option(
        "--references",
        "-r",
        type=click.Path(path_type=Path),
        default=None,
        help="Reference library: one folder per entity, or loose emblem files [default: bundled].",
    )(function)


def _library(references: Path | None, cache_dir: Path | None, no_cache: bool) -> tuple[Path, Path | None]:
    root = references or default_references()
    return root, None if no_cache else (cache_dir or default_cache_dir())


def _load_index(
    references: Path | None, cache_dir: Path | None, no_cache: bool, quiet: bool, jobs: int = 1
) -> ReferenceIndex:
    root, cache = _library(references, cache_dir, no_cache)
    _warm(root, cache, jobs, quiet)
    progress = _Progress("loading emblems", quiet)
    try:
        index = build_index(root, cache, progress=progress.update)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    finally:
        progress.finish()
    return index


def _warm(root: Path, cache: Path | None, jobs: int, quiet: bool) -> None:
    """Prepare the emblems the cache lacks, in parallel, with a progress line."""
    if cache is None:
        return
    progress = _Progress("preparing emblems", quiet)
    try:
        warm_cache(root, cache, jobs, progress=progress.update)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    except KeyboardInterrupt:
        progress.finish()
        click.echo("interrupted; the emblems prepared so far are cached", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    finally:
        progress.finish()


class _Progress:
    """A one-line progress report on stderr (count, rate, ETA), only when stderr is a terminal."""

    def __init__(self, label: str, quiet: bool, stream: IO[str] | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and done != total:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        text = f"\r{self.label}: {done}"
        if total:
            text += f"/{total} ({100 * done / total:.0f}%)"
        text += f"  {rate:.1f}/s"
        if total and rate > 0 and done < total:
            text += f"  ETA {_duration((total - done) / rate)}"
        self.stream.write(text + "\033[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Wipe the progress line, so that whatever is printed next starts on a clean line."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "--version", prog_name="logowatch")
@click.option("-v", "--verbose", count=True, help="Log more (-v: info, -vv: debug) on stderr.")
def main(verbose: int) -> None:
    """Find avatars and thumbnails that carry one of your official emblems.

    \b
    Examples:
      logowatch scan downloads/                     # table on a terminal
      logowatch scan --format jsonl -o out.jsonl downloads/
      logowatch scan --resume -o out.jsonl downloads/   # carry on after a crash
      logowatch check suspicious.jpg                # why did this one match?
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="logowatch: %(levelname)s: %(message)s")
    allocator.keep_freed_memory()


@main.command(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_references_option
@click.option("--threshold", "-t", type=click.FloatRange(0.0, 1.0), default=None,
              help="Report a match at or above this score [default: the library's calibrated threshold "
              f"(logowatch calibrate), else {scoring.DEFAULT_THRESHOLD}].")
@click.option("--format", "-f", "output_format", type=click.Choice(["jsonl", "csv", "table", "html"]),
              default=None,
              help="Output format [default: table on a terminal, else jsonl]. html is a self-contained "
              "report, written when the scan ends.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write results to this file instead of stdout.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Worker processes [default: every core].")
@click.option("--resume", is_flag=True,
              help="With --output (jsonl): skip images already in the file and append the rest.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary on stderr.")
def scan_command(
    paths: tuple[Path, ...],
    references: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    threshold: float | None,
    output_format: str | None,
    output: Path | None,
    jobs: int | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Scan image files and folders (recursively) for reference emblems.

    Writes one result per image. A file that cannot be read gets status "error" and its reason,
    and the scan goes on.

    \b
    Examples:
      logowatch scan avatars/
      logowatch scan -r my_emblems/ -f jsonl -o results.jsonl avatars/ thumbs/
      logowatch scan -f csv -o results.csv avatars/
    """
    root, cache = _library(references, cache_dir, no_cache)
    if threshold is None:
        threshold, _ = threshold_for(root)
    if output_format is None:
        output_format = "table" if output is None and sys.stdout.isatty() else "jsonl"
    if output_format == "html" and output is None and sys.stdout.isatty():
        raise click.UsageError("--format html needs --output FILE (or a redirection)")
    if resume and (output is None or output_format != "jsonl"):
        raise click.UsageError("--resume needs --output FILE with --format jsonl")
    inputs = list(iter_inputs(paths))
    done: set[str] = set()
    if resume and output is not None:
        try:
            done = completed_paths(output)
        except LogowatchError as exc:
            raise FatalError(str(exc)) from exc
        inputs = [p for p in inputs if str(p) not in done]
        if not quiet:
            click.echo(f"resuming: {len(done)} already done, {len(inputs)} to go", err=True)
    # Open the output before any heavy work, so that a wrong path fails at once.
    try:
        stream: IO[str] = (
            output.open("a" if resume else "w", encoding="utf-8", newline="")
            if output is not None
            else sys.stdout
        )
    except OSError as exc:
        raise FatalError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    counts: Counter[str] = Counter()
    workers = max(1, min(jobs or default_jobs(), len(inputs)))
    if workers > 1 and cache is not None:
        _warm(root, cache, workers, quiet)
        try:
            discover(root)
        except LogowatchError as exc:
            raise FatalError(str(exc)) from exc
        results = scan_parallel(inputs, root, threshold, workers, cache)
    else:
        index = _load_index(references, cache_dir, no_cache, quiet)
        results = scan(inputs, index, threshold)
    writer: JsonLinesWriter | CsvWriter | TableWriter | HtmlWriter
    if output_format == "jsonl":
        writer = JsonLinesWriter(stream)
    elif output_format == "csv":
        writer = CsvWriter(stream)
    elif output_format == "html":
        writer = HtmlWriter(stream, str(root), threshold)
    else:
        writer = TableWriter(stream)
    progress = _Progress("scanning", quiet)
    try:
        for number, row in enumerate(results, start=1):
            if output is None:
                progress.clear()  # rows and the progress line may share one terminal
            writer.write(row)
            counts["error" if row["status"] == "error" else ("match" if row["match"] else "clear")] += 1
            progress.update(number, len(inputs))
    except KeyboardInterrupt:
        progress.finish()
        writer.close()
        click.echo(
            f"interrupted after {sum(counts.values())} images; results so far are kept"
            + ("; add --resume to carry on" if output is not None else ""),
            err=True,
        )
        sys.exit(int(ExitCode.INTERRUPTED))
    except LogowatchError as exc:
        progress.finish()
        writer.close()
        raise FatalError(str(exc)) from exc
    progress.finish()
    writer.close()
    if output is not None:
        stream.close()
    if not quiet:
        click.echo(
            f"{sum(counts.values())} images: {counts['match']} matched, {counts['clear']} clear, "
            f"{counts['error']} unreadable (threshold {threshold})",
            err=True,
        )
    sys.exit(int(ExitCode.MATCH if counts["match"] else ExitCode.NO_MATCH))


main.add_command(scan_command, name="scan")


@main.command(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_references_option
@click.option("--threshold", "-t", type=click.FloatRange(0.0, 1.0), default=None,
              help="Report a match at or above this score [default: the library's calibrated threshold "
              f"(logowatch calibrate), else {scoring.DEFAULT_THRESHOLD}].")
@click.option("--top", type=click.IntRange(1, 20), default=3, show_default=True,
              help="How many candidates to show.")
@click.option("--evidence", "-e", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an evidence picture (PNG): the image beside the emblem, with the "
              "correspondences and the emblem's outline.")
def check(
    image: Path,
    references: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    threshold: float | None,
    top: int,
    evidence: Path | None,
) -> None:
    """Check one image and explain the verdict in plain words.

    \b
    Examples:
      logowatch check suspicious_avatar.jpg
      logowatch check --evidence why.png suspicious_avatar.jpg
    """
    if threshold is None:
        threshold, _ = threshold_for(_library(references, cache_dir, no_cache)[0])
    index = _load_index(references, cache_dir, no_cache, quiet=True)
    try:
        loaded = load_image(image)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    candidates = match(index, loaded, keep=top)
    best = candidates[0] if candidates else None
    matched = bool(best and scoring.is_match(best.score, threshold))
    click.echo(f"{image}: {loaded.original_size[0]}x{loaded.original_size[1]} {loaded.format}")
    if matched and best is not None:
        click.echo(f"MATCH: {best.name} ({best.entity}), score {best.score:.3f} >= threshold {threshold}")
    elif best is not None:
        click.echo(f"no match: the best candidate, {best.name} ({best.entity}), scores {best.score:.3f} "
                   f"< threshold {threshold}")
    else:
        click.echo("no match: nothing in the image resembles any reference emblem")
    for rank, candidate in enumerate(candidates, start=1):
        click.echo(f"\n{rank}. {candidate.name} ({candidate.entity})  score {candidate.score:.3f}")
        click.echo(f"   variant: {candidate.variant}{' (mirrored)' if candidate.mirrored else ''}")
        click.echo(f"   evidence: {scoring.explain(candidate.evidence)}")
        outline = ", ".join(f"({x:.0f}, {y:.0f})" for x, y in candidate.outline)
        click.echo(f"   emblem outline in the image: {outline}")
    if evidence is not None:
        try:
            picture(loaded.composited(), best, matched, threshold).save(evidence, "PNG")
        except (OSError, ValueError, LogowatchError) as exc:
            raise FatalError(f"{evidence}: cannot write the evidence picture: {exc}") from exc
        click.echo(f"\nevidence picture written to {evidence}")
    sys.exit(int(ExitCode.MATCH if matched else ExitCode.NO_MATCH))


@main.command(context_settings=CONTEXT)
@_references_option
def index(references: Path | None, cache_dir: Path | None, no_cache: bool) -> None:
    """Prepare (and cache) a reference library, and say what it holds.

    Scans do this by themselves; run it ahead to time it or to check a new library.
    """
    started = time.monotonic()
    loaded = _load_index(references, cache_dir, no_cache, quiet=False, jobs=default_jobs())
    points = loaded.features.descriptor_count
    click.echo(
        f"{loaded.root}: {len(loaded.entities)} entities, {len(loaded.variants)} emblem images, "
        f"{points} indexed keypoints, ready in {time.monotonic() - started:.1f}s"
    )


@main.command("calibrate", context_settings=CONTEXT)
@_references_option
@click.option("--target-fpr", type=click.FloatRange(0.0, 0.5), default=DEFAULT_TARGET_FPR, show_default=True,
              help="False-positive rate to aim for on the synthetic images without an emblem.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic alterations.")
@click.option("--dry-run", is_flag=True, help="Report, but do not write the threshold.")
def calibrate_command(
    references: Path | None, cache_dir: Path | None, no_cache: bool, target_fpr: float, seed: int, dry_run: bool
) -> None:
    """Derive a threshold for a reference library from the library alone.

    Every emblem is altered as impersonators do (mirrored, greyed, inverted, recompressed, shrunk,
    circle-cropped, captioned, turned, put into a thumbnail) and a pool of images without any
    emblem is drawn, including look-alikes made from fragments of the emblems. The threshold is
    the lowest that keeps false positives on that pool at or below --target-fpr. It is written to
    logowatch-calibration.json in the library's folder, where scan and check pick it up.

    \b
    Example:
      logowatch calibrate -r my_emblems/
    """
    index = _load_index(references, cache_dir, no_cache, quiet=False, jobs=default_jobs())
    progress = _Progress("calibrating", quiet=False)
    try:
        found = calibrate(index, target_fpr, seed, progress=progress.update)
    finally:
        progress.finish()
    click.echo(f"{index.root}: {found.positives} altered emblems, {found.negatives} images without one")
    click.echo(f"threshold {found.threshold:.2f}: synthetic false positives {found.false_positive_rate:.4f} "
               f"(target {target_fpr}), recall {found.recall:.3f}")
    for family, recall in found.recall_by_family.items():
        click.echo(f"  {family:12} recall {recall:.3f}")
    if dry_run:
        return
    try:
        target = save(found, index.root)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    click.echo(f"written to {target}; scans of this library now use it unless --threshold is given")

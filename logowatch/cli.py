"""The ``logowatch`` command: a thin Click layer over the library.

Each command parses its options, builds a :class:`~logowatch.Detector`, hands its results to a
writer and maps errors to exit codes (:class:`ExitCode`).
"""

from __future__ import annotations

import io
import logging
import math
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from itertools import islice
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from logowatch import __version__, process, scoring, text
from logowatch.account_reports import AccountWriter, open_account_writer
from logowatch.accounts import (
    CLEAR,
    IMPERSONATION,
    OFFICIAL,
    AccountChecker,
    AccountRow,
    AccountVerdict,
    read_manifest,
    read_verdicts,
    still_to_decide,
)
from logowatch.accounts import check_resumable as check_accounts_resumable
from logowatch.calibration import (
    DEFAULT_TARGET_FPR,
    MAX_OWN_THRESHOLD,
    MAX_TARGET_FPR,
    Calibration,
    OrdinaryImage,
    calibrate,
    calibration_path,
    images_to_show,
    save,
)
from logowatch.detector import Detector, Scanner, default_jobs, file_sha256
from logowatch.display import printable, some
from logowatch.errors import ExitCode, LogowatchError, OutputError
from logowatch.evidence import picture, picture_format
from logowatch.files import check_writable, json_line
from logowatch.library import ReferenceIndex, default_cache_dir, default_references, default_text_model
from logowatch.loading import DEFAULT_MAX_BYTES, read_at_most
from logowatch.reports import (
    FORMATS,
    Writer,
    format_for,
    open_writer,
)
from logowatch.results import VERDICTS, Result
from logowatch.resume import Written, drop_rows, repair
from logowatch.scan import Inputs, Retry, check_resumable, read_file_list, read_null_separated, read_results

if TYPE_CHECKING:
    from logowatch.cluster import Address

logger = logging.getLogger(__name__)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

EXIT_CODES_HELP = """
\b
Exit codes:
  0    at least one image matched a reference emblem
  1    no image matched, and every file was read (also: nothing to scan)
  2    usage error, or a fatal error (unreadable library, unwritable output)
  3    no image matched, but some files could not be read
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM); 141 output closed (| head): what was written is kept
A file that cannot be read is not fatal: it becomes a result with status "error".
"""


Row = TypeVar("Row")


class FatalError(click.ClickException):
    """A library error shown to the user, with exit code 2."""

    exit_code = int(ExitCode.ERROR)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: stop cleanly and keep what was written."""


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated()


def _references_option(function: Any) -> Any:
    function = click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where prepared emblems are cached [default: $LOGOWATCH_CACHE_DIR, else "
        "$XDG_CACHE_HOME/logowatch, else ~/.cache/logowatch].",
    )(function)
    function = click.option(
        "--no-cache", is_flag=True, help="Prepare the emblems afresh and write no cache."
    )(function)
    return click.option(
        "--references",
        "-r",
        type=click.Path(path_type=Path),
        default=None,
        help="Reference library: one folder per entity, or loose emblem files "
        "[default: $LOGOWATCH_REFERENCES, else ./reference_logos].",
    )(function)


class _FiniteRange(click.FloatRange):
    """A number within a range, as ``click.FloatRange``, and not NaN (which every range admits)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def _threshold_option(function: Any) -> Any:
    return click.option(
        "--threshold", "-t", type=_FiniteRange(0.0, 1.0), default=None,
        help="Report a match at or above this score [default: the library's calibrated threshold "
        f"(logowatch calibrate), else {scoring.DEFAULT_THRESHOLD}].",
    )(function)


def _allow_option(function: Any) -> Any:
    return click.option(
        "--allow", type=click.Path(exists=True, path_type=Path), multiple=True,
        help="Images a reviewer has cleared: a folder of them, an image, or an allow list (.jsonl); "
        "the same picture is reported as allowed, not as a match. Repeatable. The library's own "
        "logowatch-allow.jsonl is always read.",
    )(function)


def _more_logging(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        logging.getLogger().setLevel(logging.WARNING - 10 * min(value, 2))


def _verbose_option(function: Any) -> Any:
    """``-v`` after the command too (``logowatch scan -v``), as before it (``logowatch -v scan``)."""
    return click.option(
        "-v", "--verbose", count=True, expose_value=False, is_eager=True, callback=_more_logging,
        help="Log more (-v: info, such as the files skipped; -vv: debug) on stderr.",
    )(function)


def _output_options(rows: str) -> Callable[[Any], Any]:
    """``--format`` and ``--output`` for a command that writes ``rows`` (results, verdicts)."""

    def decorate(function: Any) -> Any:
        function = click.option(
            "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
            callback=_standard_output_as_none,
            help=f"Write {rows} to this file instead of standard output ('-': standard output).",
        )(function)
        return click.option(
            "--format", "-f", "output_format", type=click.Choice(FORMATS), default=None,
            help="Output format [default: from the --output file's ending (.jsonl .csv .html .txt), else table on "
            "a terminal, else jsonl]. html is a self-contained report, written when the run ends.",
        )(function)

    return decorate


def _standard_output_as_none(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``-o -`` is standard output, as for most tools (not a file named ``-``)."""
    return None if value is not None and str(value) == "-" else value


def _run_options(rows: str) -> Callable[[Any], Any]:
    """``--jobs`` and ``--resume`` for a command that goes through ``rows`` (images, accounts)."""

    def decorate(function: Any) -> Any:
        function = click.option(
            "--resume", is_flag=True,
            help=f"With --output (jsonl): skip {rows} already in the file and append the rest.",
        )(function)
        return click.option(
            "--jobs", "-j", type=click.IntRange(1, 256), default=None,
            help="Worker processes for the images [default: every core].",
        )(function)

    return decorate


def _dask_option(function: Any) -> Any:
    return click.option(
        "--dask", "dask_address", metavar="ADDRESS", default=None,
        help="Scan on a Dask cluster: 'local' or 'local:N' starts N worker processes here [default N: "
        "--jobs]; anything else is a scheduler's address (tcp://scheduler:8786), whose workers must all "
        "read the paths. Needs pip install 'logowatch[dask]'.",
    )(function)


def _detector(
    references: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    *,
    threshold: float | None = None,
    jobs: int = 1,
    quiet: bool = False,
    allow: tuple[Path, ...] = (),
) -> Detector:
    """The Detector of the chosen library, with a progress line while emblems are prepared."""
    progress = _Progress("emblems", quiet)
    try:
        return Detector(
            references if references is not None else default_references(),
            threshold=threshold,
            cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
            jobs=jobs,
            allow=allow,
            progress=progress.stage,
        )
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    except KeyboardInterrupt:
        progress.finish()
        kept = "nothing is kept (--no-cache)" if no_cache else "the emblems prepared so far are cached"
        click.echo(f"interrupted; {kept}", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    finally:
        progress.finish()


#: How a manifest read from standard input is named in messages (a name no file in the current
#: folder has: its image paths are relative to that folder).
STANDARD_INPUT = "<stdin>"

#: Where ``logowatch -q COMMAND`` keeps the -q given before the command (``click.Context.meta``,
#: which a command's context shares with the group's).
QUIET_BEFORE = "logowatch.quiet"


def _quiet_before() -> bool:
    """Whether -q was given before the command (``logowatch -q scan``), as it may be after it."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.meta.get(QUIET_BEFORE))


class _Progress:
    """A one-line progress report on stderr (count, rate, ETA), only when stderr is a terminal."""

    def __init__(self, label: str, quiet: bool, stream: IO[str] | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = not (quiet or _quiet_before()) and self.stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def stage(self, label: str, done: int, total: int | None) -> None:
        """:meth:`update` for work in stages, each with its own label and count."""
        if label != self.label:
            self.finish()
            self.label, self.started, self.shown = label, time.monotonic(), False
        self.update(done, total)

    def update(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and done != total:
            return
        self.last = now
        elapsed = now - self.started
        # A rate over the first instants (a cached step done at once) says nothing: shown after a second.
        rate = done / elapsed if elapsed >= 1.0 else 0.0
        text = f"\r{self.label}: {done}"
        if total:
            text += f"/{total} ({100 * done / total:.0f}%)"
        if rate > 0:
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
            self.shown = False


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _thresholds(detector: Detector) -> str:
    """The thresholds a run applied, for its summary line."""
    own = len(detector.entity_thresholds)
    return f"threshold {detector.threshold:g}" + (
        f"; {own} {'entity has its' if own == 1 else 'entities have their'} own, from calibration" if own else ""
    )


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class _Group(click.Group):
    """The command group: a closed standard output (``| head``) ends the command quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # Python would complain again when it flushes standard output on the way out.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(int(ExitCode.BROKEN_PIPE))
        except KeyboardInterrupt as stop:
            # Ctrl-C before or after the rows are written (walking the folders, reading a list on
            # standard input, calibrating): the exit code says so, where click's own would be 1,
            # which a script reads as "nothing matched".
            terminated = isinstance(stop, Terminated)
            click.echo("terminated" if terminated else "interrupted", err=True)
            sys.exit(int(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED))


@click.group(cls=_Group, context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "--version", prog_name="logowatch")
@click.option("-v", "--verbose", count=True, help="Log more (-v: info, -vv: debug) on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line and no summary on stderr (as -q after scan "
              "or accounts).")
@click.pass_context
def main(context: click.Context, verbose: int, quiet: bool) -> None:
    """Find avatars and thumbnails that carry one of your official emblems.

    \b
    Examples:
      logowatch scan downloads/                     # table on a terminal
      logowatch scan -f jsonl -o out.jsonl downloads/
      logowatch scan --resume -o out.jsonl downloads/   # carry on after a crash
      logowatch check suspicious.jpg                # why did this one match?
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    root = logging.getLogger()
    # One handler however often main() runs in a process (tests invoke it many times).
    root.handlers = [handler for handler in root.handlers if not getattr(handler, "_logowatch", False)]
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLineFormatter("logowatch: %(levelname)s: %(message)s"))
    handler._logowatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Pillow logs every chunk of every PNG at debug level: noise that would bury ours.
    logging.getLogger("PIL").setLevel(max(level, logging.INFO))
    context.meta[QUIET_BEFORE] = quiet
    process.set_up()


class _OneLineFormatter(logging.Formatter):
    """Log lines whose message (a file name in it) cannot break the line or steer the terminal:
    control characters are shown as escapes, as in the table. A traceback below stays as it is."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))


def _decided(decisions: dict[str, str]) -> str:
    """How many flags the review log had decided already, for the page's start-up line."""
    return f", {len(decisions):,} decided already" if decisions else ""


def _output_format(output: Path | None, given: str | None, resume: bool) -> str:
    """The output format (see :func:`format_for`), refusing what cannot work with it."""
    chosen = format_for(output, given, sys.stdout.isatty())
    if chosen == "html" and output is None and sys.stdout.isatty():
        raise click.UsageError("--format html needs --output FILE (or a redirection)")
    if resume and (output is None or chosen != "jsonl"):
        raise click.UsageError("--resume needs --output FILE in the jsonl format")
    return chosen


def _resume(
    output: Path,
    read: Callable[[], Written[Row]],
    check: Callable[[Written[Row]], None],
    retried: Callable[[Row], bool] | None = None,
) -> tuple[Row, ...]:
    """What ``output`` already holds (``read``), once ``check`` has accepted it and a half-written
    last line is cut off, less the rows to do again (``retried``), which are taken out of the file;
    a file that cannot be resumed is a fatal error, left untouched."""
    try:
        written = read()
        check(written)
        if retried is not None:
            written = drop_rows(output, written, retried)
        repair(output, written)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    return written.rows


def _close(opened: IO[str] | None, output: Path | None) -> None:
    """Close the output file a command opened; what it could not write yet is a fatal error."""
    if opened is None:
        return
    try:
        opened.close()
    except OSError as exc:
        raise FatalError(f"{output}: cannot write: {exc.strerror or exc}") from exc


def _inputs(paths: tuple[str, ...], files_from: Path | None, null: bool = False) -> Inputs:
    """The files named on the command line, read from ``--files-from`` or standard input (``-``):
    one a line, or with ``null`` separated by NUL characters."""
    if paths.count("-") + (files_from is not None) > 1:
        raise click.UsageError("read the list of files from one place: '-' (standard input) or --files-from")
    if null and "-" not in paths and files_from is None:
        raise click.UsageError("--null says how a list of files is separated: give '-' or --files-from too")
    listed = read_null_separated if null else read_file_list

    def standard_input() -> Iterator[str]:
        # A file name need not be UTF-8, whatever the locale: kept as lone surrogates, as a
        # folder's names are; with --null, a newline is part of a name. A list saved by a Windows
        # editor starts with a byte-order mark, which is no part of its first name.
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="surrogateescape",
                                  newline="" if null else None)
        try:
            yield from listed(stream)
        except LogowatchError as exc:
            raise FatalError(f"standard input: {exc}") from exc
        finally:
            stream.detach()  # standard input stays open

    def given() -> Iterator[str]:
        for path in paths:
            if path == "-":
                yield from standard_input()
            else:
                yield path
        if files_from is not None and str(files_from) == "-":
            yield from standard_input()
        elif files_from is not None:
            try:
                with files_from.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
                    yield from listed(handle)
            except OSError as exc:
                raise FatalError(f"{files_from}: cannot read the list of files: {exc.strerror or exc}") from exc
            except LogowatchError as exc:
                raise FatalError(f"{files_from}: {exc}") from exc

    return Inputs(given())


@main.command(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=str)
@_references_option
@_threshold_option
@_output_options("results")
@click.option("--files-from", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also scan the files listed in this file, one path per line, or separated by NUL with "
              "--null ('-' as a path reads the list from standard input).")
@click.option("--null", "-0", is_flag=True,
              help="The list of files ('-' or --files-from) is separated by NUL characters, as find -print0 "
              "writes it: a name may then hold a newline.")
@_run_options("images")
@click.option("--retry-errors", is_flag=True,
              help="With --resume: scan again the images given that the file holds as errors (a folder that "
              "could not be listed, a file being written); their error rows leave the file first.")
@click.option("--matches-only", is_flag=True,
              help="Write only the images that matched, and the files that could not be read.")
@_dask_option
@_allow_option
@_verbose_option
@click.option("--quiet", "-q", is_flag=True, help="No progress line and no summary on stderr.")
def scan_command(
    paths: tuple[str, ...],
    references: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    threshold: float | None,
    output_format: str | None,
    output: Path | None,
    files_from: Path | None,
    null: bool,
    jobs: int | None,
    resume: bool,
    retry_errors: bool,
    matches_only: bool,
    dask_address: str | None,
    allow: tuple[Path, ...],
    quiet: bool,
) -> None:
    """Scan image files and folders (recursively) for reference emblems.

    Writes one result per image. A file that cannot be read gets status "error" and its reason,
    and the scan goes on. In folders, every file is read by its content except hidden ones and
    those whose ending says they are text, data, archives, audio or video, or unfinished
    downloads (.txt, .json, .zip, .mp4, .part, ...); -v lists those.

    \b
    Examples:
      logowatch scan avatars/
      logowatch scan -r my_emblems/ -o results.jsonl avatars/ thumbs/
      logowatch scan -o report.html avatars/
      find dumps/ -newer last-run | logowatch scan -o new.jsonl -
      logowatch scan --dask tcp://scheduler:8786 -o results.jsonl /shared/avatars/
    """
    quiet = quiet or _quiet_before()
    if not paths and files_from is None:
        raise click.UsageError("give files or folders to scan, '-' to read their list from standard input, "
                               "or --files-from FILE")
    output_format = _output_format(output, output_format, resume)
    if resume and matches_only:
        raise click.UsageError("--resume cannot tell which images --matches-only left out; use one or the other")
    if retry_errors and not resume:
        raise click.UsageError("--retry-errors goes with --resume: it scans again the images of the file that "
                               "could not be read")
    if files_from is not None:
        _refuse_same_file(output, files_from, "the list of files")
    dask = _dask(dask_address) if dask_address is not None else None
    inputs = _inputs(paths, files_from, null)
    files = list(inputs)
    workers = max(1, min(jobs or default_jobs(), len(files)))
    detector = _detector(references, cache_dir, no_cache, threshold=threshold, jobs=workers, quiet=quiet, allow=allow)
    earlier: tuple[Result, ...] = ()
    if resume and output is not None:
        earlier, files = _resumed_scan(output, inputs, files, detector, retry_errors, quiet)
    if not files and not earlier:
        logger.warning("no files to scan in %s", " ".join(paths) or files_from)
    try:
        writer, opened = open_writer(output_format, output, append=resume, references=str(detector.root),
                                     threshold=detector.threshold, entities=[e.id for e in detector.index.entities])
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    counts: Counter[str] = Counter()
    for row in earlier:
        _count(counts, row)
    with _scanner(dask, detector, workers, quiet) as scanner:
        _run(scanner, files, writer, counts, quiet=quiet, to_terminal=output is None, matches_only=matches_only,
             resumable=output is not None and output_format == "jsonl")
    _close(opened, output)
    if not quiet:
        click.echo(_scan_summary(counts, inputs, detector), err=True)
    sys.exit(int(ExitCode.of_counts(counts["match"], counts["error"])))


def _refuse_same_file(output: Path | None, given: Path, what: str) -> None:
    """A usage error where ``output`` is the file ``given`` as ``what``: writing would replace it."""
    try:
        same = output is not None and output.exists() and given.exists() and os.path.samefile(output, given)
    except OSError:
        return  # one of them cannot be looked at: reading or writing it will say so
    if same:
        raise click.UsageError(f"{output} is {what} too: writing to it would replace it; write to another file")


def _resumed_scan(
    output: Path, inputs: Inputs, files: list[Path], detector: Detector, retry_errors: bool, quiet: bool
) -> tuple[tuple[Result, ...], list[Path]]:
    """The rows that ``output`` already holds, and the ``files`` still to scan: those it has no
    row for (and, with ``retry_errors``, those whose error rows it drops, see :class:`Retry`)."""
    # Compared as real paths: the folder given as ./avatars once and /data/avatars, or through a
    # link to it, now.
    real = [os.path.realpath(p) for p in files]
    retry = Retry.of(inputs, real) if retry_errors else None

    def check(written: Written[Result]) -> None:
        check_resumable(output, written, detector)
        _check_not_elsewhere(output, written.rows, files)

    earlier = _resume(output, lambda: read_results(output), check, retry)
    done = {os.path.realpath(result.path) for result in earlier}
    files = [p for p, path in zip(files, real, strict=True) if path not in done]
    if not quiet:
        if retry is not None:
            tried = f" ({_plural(retry.count, 'error')} to try again)"
        else:
            errors = sum(1 for row in earlier if not row.ok)
            tried = f" ({_plural(errors, 'error')} among them: --retry-errors tries those again)" if errors else ""
        click.echo(f"resuming: {len(earlier)} already done, {len(files)} to go{tried}", err=True)
    return earlier, files


def _scan_summary(counts: Counter[str], inputs: Inputs, detector: Detector) -> str:
    """The line a scan ends with: what its images came to, under which thresholds, and what was
    not scanned (repeats, files skipped, folders that could not be listed)."""
    skipped, unlisted = len(inputs.skipped), counts[UNLISTED]
    return (
        f"{_plural(sum(counts[k] for k in VERDICTS) - unlisted, 'image')}: {counts['match']:,} matched, "
        f"{counts['clear']:,} clear, {counts['error'] - unlisted:,} unreadable"
        + (f", {counts['allowed']:,} allowed" if counts["allowed"] else "")
        + f" ({_thresholds(detector)})"
        + (f"; {_plural(counts['repeated'], 'identical file')} not scanned again" if counts["repeated"] else "")
        + (f"; {_plural(skipped, 'file')} skipped by name or kind ({_listed()})" if skipped else "")
        + (f"; {_plural(unlisted, 'folder')} could not be listed, the images in it not scanned "
           "(see the error rows)" if unlisted else "")
        + (f"; files named or reached more than once scanned once ({_plural(inputs.duplicates, 'repeat')})"
           if inputs.duplicates else "")
    )


#: How many of a resumed file's rows are looked for on disk to tell whether it was written from
#: another folder (see :func:`_check_not_elsewhere`).
RESUME_PROBE = 50


def _check_not_elsewhere(output: Path, earlier: Sequence[Result], files: Sequence[Path]) -> None:
    """Refuse to resume a file whose relative paths name nothing here but lead, from one other
    folder, to this run's files with the same bytes (at least :data:`SAME_ELSEWHERE` of them, or
    all of the file's where it has fewer): it was written from there, and every image would be
    scanned and written again, a row twice for each. Where they lead nowhere (the images since
    moved or deleted, new ones that happen to share a name), a warning says so and the run goes on."""
    probed = list(islice((row for row in earlier if row.ok and not os.path.isabs(row.path)), RESUME_PROBE))
    if not probed or any(os.path.exists(row.path) for row in probed):
        return
    # The probed rows by their file names: a run's file is compared with those of its own name
    # alone (a million files against 50 rows each would take seconds).
    named: dict[str, list[tuple[str, Result]]] = {}
    for row in probed:
        named.setdefault(os.path.basename(row.path), []).append((os.sep + os.path.normpath(row.path), row))
    found: dict[str, list[tuple[Result, str]]] = {}  # by the folder the file's paths would lead from
    for file in files:
        here = os.path.normpath(os.path.abspath(file))
        for tail, row in named.get(os.path.basename(here), ()):
            if here.endswith(tail):
                found.setdefault(here[: -len(tail)] or os.sep, []).append((row, here))
    for folder, pairs in sorted(found.items(), key=lambda item: -len(item[1])):
        same = [(row, here) for row, here in pairs[:SAME_ELSEWHERE] if row.sha256 and row.sha256 == file_sha256(here)]
        if len(same) >= min(SAME_ELSEWHERE, len(probed)):
            row, here = same[0]
            raise FatalError(
                f"{output}: written from another folder: its row for {row.path} is, from {folder}, {here}, with "
                f"the same bytes; resume from {folder}, or write to another file (nothing was changed)"
            )
    relative = [row.path for row in probed]
    logger.warning(
        "%s: none of the first %d relative paths it holds (%s) exists from this folder; resume from the "
        "folder the scan was started in, or every image is scanned again", output, len(relative),
        some(relative, 1),
    )


#: Files of a run that must have the same bytes as rows of a resumed file, reached from another
#: folder by their relative paths, for the run to be refused (see :func:`_check_not_elsewhere`).
SAME_ELSEWHERE = 3


def _listed() -> str:
    """Where the files a scan skipped are named: above, with -v, else how to see them."""
    return "listed above" if logging.getLogger("logowatch.scan").isEnabledFor(logging.INFO) else "-v lists them"


#: What a scan's summary counts, beside each verdict: the error rows of folders that could not be listed.
UNLISTED = "unlisted folder"


def _count(counts: Counter[str], result: Result) -> None:
    """Count ``result`` by its verdict, and apart where it is a folder that could not be listed
    (a scan reads a folder as a file only when it cannot list it) or repeats an identical file's
    row: this run's rows and, resumed, the file's earlier ones alike."""
    counts[result.verdict] += 1
    counts[UNLISTED] += not result.ok and os.path.isdir(result.path)
    counts["repeated"] += result.duplicate_of is not None


def _run(
    scanner: Scanner,
    files: list[Path],
    writer: Writer[Result],
    counts: Counter[str],
    *,
    quiet: bool,
    to_terminal: bool,
    matches_only: bool,
    resumable: bool,
) -> None:
    """Scan ``files`` with ``scanner`` into ``writer``, counting verdicts; Ctrl-C and SIGTERM stop cleanly."""

    def count(result: Result) -> bool:
        _count(counts, result)
        if result.ok and logger.isEnabledFor(logging.DEBUG):
            best = f"best {result.reference} at {result.score or 0.0:.3f}" if result.reference else "no candidate"
            logger.debug("%s: %s, %s (threshold %g), %s ms%s", printable(result.path), result.verdict, best,
                         result.threshold, result.elapsed_ms,
                         f", same bytes as {printable(result.duplicate_of)}" if result.duplicate_of else "")
        return not matches_only or result.match or not result.ok

    _drive(scanner(files), len(files), writer, count, label="scanning", noun="image", quiet=quiet,
           to_terminal=to_terminal, resumable=resumable)


def _drive(
    rows: Iterator[Row],
    total: int,
    writer: Writer[Row],
    count: Callable[[Row], bool],
    *,
    label: str,
    noun: str,
    quiet: bool,
    to_terminal: bool,
    resumable: bool,
) -> None:
    """Write ``rows`` as they come, with a progress line; ``count`` counts each and says whether
    to write it. Ctrl-C and SIGTERM stop cleanly: streamed rows stay, a report is not written."""
    progress = _Progress(label, quiet)
    previous = signal.signal(signal.SIGTERM, _terminate)
    done = 0
    try:
        for done, row in enumerate(rows, start=1):
            if to_terminal:
                progress.clear()  # rows and the progress line may share one terminal
            if count(row):
                writer.write(row)
            progress.update(done, total)
        writer.close()
    except KeyboardInterrupt as stop:
        # Stopping now: a second Ctrl-C would cut short what keeps the results and the exit code.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        progress.finish()
        writer.abort()
        if not writer.streamed:
            kept = "no report was written (an earlier one is left as it was)"
        else:
            kept = "results so far are kept" + ("; add --resume to carry on" if resumable else "")
        click.echo(f"{'terminated' if isinstance(stop, Terminated) else 'interrupted'} after "
                   f"{_plural(done, noun)}; {kept}", err=True)
        sys.exit(int(ExitCode.TERMINATED if isinstance(stop, Terminated) else ExitCode.INTERRUPTED))
    except LogowatchError as exc:
        progress.finish()
        writer.abort()
        raise FatalError(str(exc)) from exc
    finally:
        if isinstance(rows, Generator):  # stop queued work when the loop stops early
            rows.close()
        signal.signal(signal.SIGTERM, previous)
        progress.finish()


main.add_command(scan_command, name="scan")


def _dask(address: str) -> Address:
    """``--dask``'s address; the cluster module is imported only here, Dask being an optional extra."""
    try:
        from logowatch import cluster
    except ImportError as exc:
        raise FatalError(f"--dask needs Dask ({exc}): pip install 'logowatch[dask]'") from exc
    try:
        return cluster.Address.parse(address)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--dask") from exc


@contextmanager
def _scanner(address: Address | None, detector: Detector, workers: int, quiet: bool) -> Iterator[Scanner]:
    """What scans images for a command: ``detector.scan`` on its processes, or, with ``--dask``, the
    Dask cluster at ``address`` (its dashboard shown on stderr; a LocalCluster closed at the end)."""
    if address is None:
        yield detector.scan
        return
    from logowatch import cluster

    # Dask logs its every step at INFO: its warnings (a worker lost, restarted) are what a user needs; -vv shows all.
    logging.getLogger("distributed").setLevel(logging.INFO if logging.getLogger().level <= logging.DEBUG
                                              else logging.WARNING)
    with ExitStack() as stack:
        try:
            client = stack.enter_context(cluster.connect(address, default_workers=workers))
        except LogowatchError as exc:
            raise FatalError(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("interrupted while starting the Dask cluster; nothing was scanned", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        if not quiet:
            click.echo(f"dask: {_plural(cluster.threads(client), 'worker')} (one thread each); "
                       f"dashboard {client.dashboard_link}", err=True)
        yield lambda paths: detector.scan_once(paths, lambda todo: cluster.scan(detector, todo, client))


@main.command(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_references_option
@_threshold_option
@click.option("--top", type=click.IntRange(1, 20), default=3, show_default=True,
              help="How many candidates to show.")
@click.option("--format", "-f", "output_format", type=click.Choice(["text", "json", "jsonl"]), default="text",
              show_default=True, help="text explains in words; jsonl writes each image's scan result on a line of "
              "its own, json the same as one JSON document (an object for one image, a list for several).")
@click.option("--evidence", "-e", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an evidence picture of the image (one image only): the image beside the "
              "emblem, with the correspondences and the emblem's outline. PNG, or JPEG or WebP by "
              "the file's ending (.jpg, .webp).")
@_allow_option
@_verbose_option
def check(
    images: tuple[Path, ...],
    references: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    threshold: float | None,
    top: int,
    output_format: str,
    evidence: Path | None,
    allow: tuple[Path, ...],
) -> None:
    """Check images and explain each verdict in plain words.

    \b
    Examples:
      logowatch check suspicious_avatar.jpg
      logowatch check --evidence why.png suspicious_avatar.jpg
      logowatch check -f json a.jpg b.png
      curl -s https://example.org/avatar.jpg | logowatch check -
    """
    if evidence is not None and len(images) != 1:
        raise click.UsageError("--evidence draws the picture of one image; check the others without it")
    if evidence is not None:
        try:
            picture_format(evidence)
        except OutputError as exc:
            raise click.UsageError(str(exc)) from exc
    if sum(str(image) == "-" for image in images) > 1:
        raise click.UsageError("standard input ('-') holds one image: give it once")
    if any(str(image) == "-" for image in images) and sys.stdin.isatty():
        raise click.UsageError("'-' reads an image from standard input: pipe one in (curl -s URL | logowatch check -)")
    detector = _detector(references, cache_dir, no_cache, threshold=threshold, quiet=True, allow=allow)
    counts: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []  # -f json: written whole at the end
    for number, image in enumerate(images):
        # '-': the image's bytes on standard input (curl ... | logowatch check -).
        source: Path | bytes = _standard_input() if str(image) == "-" else image
        label = STDIN_LABEL if str(image) == "-" else str(image)
        if evidence is None:
            result = detector.check(source, path=label, keep=top)
        else:
            result = _check_with_picture(detector, source, label, top, evidence)
        counts[result.verdict] += 1
        if output_format in ("json", "jsonl"):
            if evidence is not None and not result.ok:
                click.echo(f"no evidence picture written to {evidence}: the image cannot be read", err=True)
            if output_format == "json":
                rows.append(result.to_dict())
            else:
                click.echo(json_line(result.to_dict()), nl=False)
            continue
        if number:
            click.echo("")
        _explain(result)
        if evidence is not None and result.ok:
            click.echo(f"\nevidence picture written to {evidence}")
        elif evidence is not None:
            click.echo(f"\nno evidence picture written to {evidence}: the image cannot be read")
    if output_format == "json":
        click.echo(json_line(rows[0] if len(rows) == 1 else rows), nl=False)
    sys.exit(int(ExitCode.of_counts(counts["match"], counts["error"])))


#: How ``check`` names an image read from standard input.
STDIN_LABEL = "<stdin>"


def _standard_input() -> bytes:
    """An image's bytes from standard input, read up to one byte past the limit a file has
    (``loading.DEFAULT_MAX_BYTES``): a larger stream is refused when it is loaded, as a larger
    file is, and is not read into memory whole."""
    return read_at_most(sys.stdin.buffer, DEFAULT_MAX_BYTES + 1)


def _check_with_picture(detector: Detector, image: Path | bytes, label: str, top: int, target: Path) -> Result:
    """:meth:`Detector.check` of one image (named ``label``), decoded once, and its evidence picture
    written to ``target`` before anything is printed: a reader that stops early (``| head``) costs
    no picture."""
    result, loaded = detector.check_with_image(image, path=label, keep=top)
    if loaded is None:
        return result  # the error result, with its reason
    try:
        picture(loaded.composited(), result).save(target, picture_format(target))
    except (OSError, LogowatchError) as exc:
        raise FatalError(f"{target}: cannot write the evidence picture: {exc}") from exc
    return result


def _explain(result: Result) -> None:
    """``check``'s plain words for one result."""
    path = printable(result.path)
    if not result.ok:
        # The reason names the file too (for the JSON row, which a reader sees on its own).
        reason = (result.error or "").removeprefix(f"{result.path}: ")
        click.echo(f"{path}: cannot be read: {printable(reason)}")
        return
    click.echo(f"{path}: {result.width}x{result.height}")
    if result.match:
        click.echo(f"MATCH: {result.name} ({result.reference}), score {result.score:.3f} >= "
                   f"threshold {result.threshold:g}")
    elif result.allowed:
        click.echo(f"allowed: a reviewer cleared this picture ({printable(result.allowed_by or '')}); "
                   f"the closest emblem, {result.name} ({result.reference}), scores {result.score or 0.0:.3f}")
    elif result.reference is not None and result.score is not None:
        click.echo(f"no match: the closest emblem, {result.name} ({result.reference}), scores {result.score:.3f} "
                   f"< threshold {result.threshold:g}")
    else:
        click.echo("no match: nothing in the image resembles any reference emblem")
    for rank, candidate in enumerate(result.candidates, start=1):
        click.echo(f"\n{rank}. {candidate.name} ({candidate.reference})  score {candidate.score:.3f}")
        if rank == 1 and result.evidence is not None:
            found = result.evidence
            click.echo(f"   variant: {found.variant}{' (mirrored)' if found.mirrored else ''}")
            click.echo(f"   evidence: {found.summary}")
            outline = ", ".join(f"({x:.0f}, {y:.0f})" for x, y in found.outline)
            if result.match:
                click.echo(f"   emblem outline in the image: {outline}")
            else:
                # A near miss's placement may fold or reach beyond the image: it is no finding.
                click.echo(f"   where it was tried, not found (may reach beyond the image): {outline}")


@main.command(context_settings=CONTEXT)
@_references_option
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Worker processes that prepare the emblems not cached yet [default: every core].")
@_verbose_option
def index(references: Path | None, cache_dir: Path | None, no_cache: bool, jobs: int | None) -> None:
    """Prepare (and cache) a reference library, and say what it holds.

    Scans do this by themselves; run it ahead to time it or to check a new library. It also
    says whether the text check of seals' rings is on, and if not, why.

    \b
    Examples:
      logowatch index
      logowatch index -r my_emblems/
      logowatch index -r my_emblems/ --cache-dir /data/logowatch-cache -j 4
    """
    started = time.monotonic()
    detector = _detector(references, cache_dir, no_cache, jobs=jobs or default_jobs())
    loaded = detector.index
    # An entity none of whose images could be read is still a body whose name accounts may claim.
    unseen = len(loaded.entities) - len(set(loaded.entity_of_variant))
    unread = f" ({unseen:,} without a readable emblem image: only their names are used, by accounts)"
    click.echo(
        f"{loaded.root}: {len(loaded.entities):,} {'entity' if len(loaded.entities) == 1 else 'entities'}"
        + (unread if unseen else "") + ", "
        f"{_plural(len(loaded.variants), 'emblem image')}, "
        f"{loaded.features.descriptor_count:,} indexed keypoints {_oblique_count(loaded)}, "
        f"ready in {time.monotonic() - started:.1f}s"
    )
    click.echo(_rings(loaded))
    for line in _ring_texts(loaded):
        click.echo(line)


def _rings(index: ReferenceIndex) -> str:
    """What ``index`` says of the text along its round emblems' rings (see ``text``)."""
    if index.text_model is None:
        return f"text check off: {process.text_check_problem(default_text_model()) or 'not available when indexed'}"
    return f"text check on: {_plural(len(index.rings), 'round emblem')} with a legible ring"


def _ring_texts(index: ReferenceIndex) -> list[str]:
    """What each round emblem's ring was read as, a line each: the name its copies are compared
    with, which the user can check (a stray letter of text elsewhere on the seal shows here)."""
    return [
        f"  {index.entities[index.entity_of_variant[number]].id} ({index.variants[number].variant.path.name}): "
        f"{ring.text}"
        for number, ring in sorted(index.rings.items())
    ]


@main.command("fetch-text-model", context_settings=CONTEXT)
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to put it [default: $LOGOWATCH_TEXT_MODEL, else text-model/ in the cache folder].")
@_verbose_option
def fetch_text_model(target: Path | None) -> None:
    """Fetch the text recogniser that reads round emblems' rings (11 MB, once).

    Seals of the same design with another body's name are told apart by their text (see the
    README's "How it works"). Needs the text extra: pip install 'logowatch[text]'. A model put
    elsewhere than the default is used where $LOGOWATCH_TEXT_MODEL names it.

    \b
    Examples:
      logowatch fetch-text-model
      logowatch fetch-text-model --to /srv/models/rec.onnx && export LOGOWATCH_TEXT_MODEL=/srv/models/rec.onnx
    """
    path = target or default_text_model()
    if path.is_file() and _has_model_digest(path):
        click.echo(f"the text model is already at {path} (its SHA-256 checked)")
    else:
        try:
            text.fetch_model(path)
        except LogowatchError as exc:
            raise FatalError(str(exc)) from exc
        click.echo(f"text model saved to {path}")
    why = text.unavailable(path)
    if why is not None:
        click.echo(f"the text check stays off: {why}", err=True)
    elif path != default_text_model():
        click.echo(f"the text check uses it where $LOGOWATCH_TEXT_MODEL={path}", err=True)


def _has_model_digest(path: Path) -> bool:
    """Whether ``path`` holds the text model already (False where it cannot be read: fetched anew)."""
    try:
        return text.has_model_digest(path)
    except OSError:
        return False


def _oblique_count(index: ReferenceIndex) -> str:
    """What ``index`` says of the oblique views' keypoints (see ``library.build_index``)."""
    if index.oblique.descriptor_count == 0:
        return "(none of oblique views: a library this large keeps none, see the README's \"Scale\")"
    return f"(and {index.oblique.descriptor_count:,} of oblique views)"


ACCOUNTS_EXIT_CODES_HELP = """
\b
Exit codes:
  0    at least one account impersonates a body
  1    no impersonation, and every row and image was read
  2    usage error, or a fatal error (a CSV manifest without a required column, an unreadable library)
  3    no impersonation, but some rows or images could not be read
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM); 141 output closed (| head): what was written is kept
A row or an image that cannot be read is not fatal: the row gets "error", the image status "error".
"""


@main.command("accounts", context_settings=CONTEXT, epilog=ACCOUNTS_EXIT_CODES_HELP)
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@_references_option
@_threshold_option
@_output_options("verdicts")
@_run_options("accounts")
@_dask_option
@_allow_option
@_verbose_option
@click.option("--quiet", "-q", is_flag=True, help="No progress line and no summary on stderr.")
def accounts_command(
    manifest: Path,
    references: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    threshold: float | None,
    output_format: str | None,
    output: Path | None,
    jobs: int | None,
    resume: bool,
    dask_address: str | None,
    allow: tuple[Path, ...],
    quiet: bool,
) -> None:
    """Decide, for each account of a manifest, whether it is official, impersonates a body, or is clear.

    MANIFEST is a CSV file with a header (UTF-8, a BOM is fine) or JSON lines, one account per row
    ('-' reads it from standard input, its image paths relative to the current folder):
    platform, account_id and display_name (required), handle, bio, avatar (a path relative to the
    manifest) and thumbnails (paths separated by |) (optional). An account is official when
    (platform, account_id) is one of a body's official_accounts in its entity.json (on that platform
    only); else it impersonates a body when its display name claims one of the body's names, however
    written, or its avatar or a thumbnail carries the body's emblem; else it is clear. A row that
    cannot be read (not UTF-8, a repeated account) gets an error naming its line, and the other rows
    are still decided; a missing or unreadable avatar leaves the name to decide.

    \b
    Examples:
      logowatch accounts accounts.csv
      logowatch accounts -r my_emblems/ -o verdicts.jsonl accounts.csv
      logowatch accounts --resume -o verdicts.jsonl accounts.csv   # carry on after a crash
      logowatch accounts -o report.html accounts.csv               # impersonations first
    """
    quiet = quiet or _quiet_before()
    output_format = _output_format(output, output_format, resume)
    _refuse_same_file(output, manifest, "the manifest")
    dask = _dask(dask_address) if dask_address is not None else None
    try:
        # '-': the manifest from standard input, its image paths relative to the current folder.
        from_stdin = str(manifest) == "-"
        listed = read_manifest(STANDARD_INPUT, sys.stdin.buffer.read()) if from_stdin else read_manifest(manifest)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    workers = max(1, min(jobs or default_jobs(), listed.image_count))
    detector = _detector(references, cache_dir, no_cache, threshold=threshold, jobs=workers, quiet=quiet,
                         allow=allow)
    try:
        checker = AccountChecker(detector)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    rows = listed.rows
    if not rows:
        logger.warning("%s: lists no accounts to decide", manifest)
    earlier: tuple[AccountVerdict, ...] = ()
    if resume and output is not None:
        earlier = _resume(output, lambda: read_verdicts(output),
                          lambda done: check_accounts_resumable(output, done, checker))
        rows = still_to_decide(rows, earlier)
        if not quiet:
            click.echo(f"resuming: {len(earlier)} already done, {len(rows)} to go", err=True)
    try:
        writer, opened = open_account_writer(output_format, output, append=resume, references=str(detector.root),
                                             threshold=detector.threshold)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    counts: Counter[str] = Counter()
    for verdict in earlier:
        _count_account(counts, verdict)
    with _scanner(dask, detector, workers, quiet) as scanner:
        _run_accounts(checker, scanner, rows, writer, counts, quiet=quiet, to_terminal=output is None,
                      resumable=output is not None and output_format == "jsonl")
    _close(opened, output)
    if not quiet:
        click.echo(
            f"{_plural(counts['accounts'], 'account')}: {_plural(counts[IMPERSONATION], 'impersonation')}, "
            f"{counts[OFFICIAL]:,} official, {counts[CLEAR]:,} clear, {counts['error']:,} not decided; "
            f"{_plural(counts['unreadable'], 'image')} unreadable ({_thresholds(detector)})",
            err=True,
        )
    sys.exit(int(ExitCode.of_counts(counts[IMPERSONATION], counts["error"] + counts["unreadable"])))


def _count_account(counts: Counter[str], verdict: AccountVerdict) -> None:
    counts["accounts"] += 1
    counts[verdict.verdict or "error"] += 1
    counts["unreadable"] += verdict.unreadable_images


def _run_accounts(
    checker: AccountChecker,
    scanner: Scanner,
    rows: Sequence[AccountRow],
    writer: AccountWriter,
    counts: Counter[str],
    *,
    quiet: bool,
    to_terminal: bool,
    resumable: bool,
) -> None:
    """Decide ``rows`` into ``writer``, counting verdicts; Ctrl-C and SIGTERM stop cleanly."""

    def count(verdict: AccountVerdict) -> bool:
        _count_account(counts, verdict)
        return True

    _drive(checker.check(rows, scan=scanner), len(rows), writer, count, label="accounts", noun="account",
           quiet=quiet, to_terminal=to_terminal, resumable=resumable)


#: The modules of the serve extra: when one is missing, ``serve`` says how to install them.
SERVE_EXTRA_MODULES = ("flask", "waitress", "werkzeug", "jinja2")


@main.command("serve", context_settings=CONTEXT)
@_references_option
@_threshold_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but the loopback address lets other machines reach the page.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free one).")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A scan's JSON lines (or the output of logowatch accounts) whose matches to review.")
@click.option("--allow-list", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where dismissed images go [default: logowatch-allow.jsonl in the library's folder, "
              "which every scan of the library reads].")
@click.option("--review-log", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("logowatch-review.jsonl"), show_default=True,
              help="Where every decision is appended, one JSON line each.")
@_verbose_option
def serve_command(
    references: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    threshold: float | None,
    host: str,
    port: int,
    results: Path | None,
    allow_list: Path | None,
    review_log: Path,
) -> None:
    """Serve the reviewer's page: check an image in a browser, and work through a scan's matches.

    Drop an image on the page to see its verdict, the evidence picture and the candidates. With
    --results, go through the matches one by one: c confirms, d dismisses as a false positive, s
    skips, the arrow keys move. Every decision is appended to the review log; a dismissed image
    is added to the allow list, so that later scans report it as allowed instead of a match.
    Needs pip install 'logowatch[serve]'. Stop it with Ctrl-C.

    \b
    Examples:
      logowatch serve
      logowatch scan -o results.jsonl avatars/ && logowatch serve --results results.jsonl
      logowatch serve -r my_emblems/ --results verdicts.jsonl --allow-list cleared.jsonl
    """
    try:
        from logowatch import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in SERVE_EXTRA_MODULES:
            raise
        raise FatalError("logowatch serve needs the serve extra: pip install 'logowatch[serve]'") from exc
    # A list of its own is read back, as the library's own is: what was dismissed before stays dismissed.
    given = (allow_list,) if allow_list is not None and allow_list.is_file() else ()
    detector = _detector(references, cache_dir, no_cache, threshold=threshold, allow=given)
    try:
        flags = serve.read_flags(results) if results is not None else ()
        review = serve.Review(detector, flags, results_file=results, allow_list=allow_list, review_log=review_log)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    app = serve.create_app(review, host=host)
    try:
        server = serve.make_server(app, host, port)
    except OSError as exc:
        raise FatalError(f"cannot listen on {serve.shown_host(host)}:{port}: {exc.strerror or exc}") from exc
    # Listening everywhere, the address it listens on is no address a browser can open.
    everywhere = serve.listens_everywhere(host)
    shown = "localhost" if everywhere else serve.shown_host(host)
    click.echo(f"logowatch: the reviewer's page is on http://{shown}:{server.effective_port}/ "
               + ("and every address of this machine " if everywhere else "")
               + f"({_plural(len(flags), 'flag')} to review{_decided(review.decisions)}); Ctrl-C stops it", err=True)
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo(f"stopped; decisions are in {review_log}", err=True)
    finally:
        server.close()


@main.command("calibrate", context_settings=CONTEXT)
@_references_option
@click.option("--target-fpr", type=_FiniteRange(0.0, MAX_TARGET_FPR), default=DEFAULT_TARGET_FPR, show_default=True,
              help="False-positive rate to aim for: on the synthetic images without an emblem, or on "
              "--negatives where there are at least 1/RATE of them.")
@click.option("--negatives", "negatives", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Your own images without any of the emblems (a folder, or files; repeatable): entities "
              "they are taken for get thresholds of their own.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=None,
              help="Worker processes that scan --negatives [default: every core].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic alterations.")
@click.option("--dry-run", is_flag=True, help="Report, but do not write the threshold.")
@_verbose_option
def calibrate_command(
    references: Path | None, cache_dir: Path | None, no_cache: bool, target_fpr: float,
    negatives: tuple[Path, ...], jobs: int | None, seed: int, dry_run: bool,
) -> None:
    """Derive a threshold for a reference library, from the library alone or with your own images.

    Every emblem is altered as impersonators do (mirrored, greyed, inverted, recompressed, shrunk,
    circle-cropped, captioned, turned, put into a thumbnail) and a pool of images without any
    emblem is drawn, including look-alikes made from fragments of the emblems. The threshold is
    the lowest that keeps false positives on that pool at or below --target-fpr, never below the
    default.

    With --negatives (a sample of the avatars you scan, none carrying one of the emblems): where
    there are at least 1/--target-fpr distinct files, enough to show that rate, they take the
    synthetic pool's place and the library keeps the default threshold. Either way, the entities
    your images are taken for get thresholds of their own, raised until at most --target-fpr of
    them match, each raise chosen to lose the fewest altered emblems. No raise may lose more than
    half of the altered emblems an entity found: such an entity, and one held by images scoring
    0.90 or more (as its emblem's own copies do), is named in a warning with the images it still
    matches. All of it is written to logowatch-calibration.json in the library's folder, where
    scans pick it up.

    \b
    Examples:
      logowatch calibrate -r my_emblems/
      logowatch calibrate -r my_emblems/ --negatives sample_of_ordinary_avatars/
    """
    # At the default threshold: the library's calibration is what this replaces, not what it uses.
    detector = _detector(
        references, cache_dir, no_cache, threshold=scoring.DEFAULT_THRESHOLD, jobs=jobs or default_jobs()
    )
    if not dry_run:
        try:
            check_writable(calibration_path(detector.root))  # before the work, not after it
        except LogowatchError as exc:
            raise FatalError(f"{exc} (--dry-run calibrates without writing)") from exc
    ordinary = _ordinary_images(detector, negatives) if negatives else []
    progress = _Progress("calibrating", quiet=False)
    try:
        found = calibrate(detector.index, target_fpr, seed, progress=progress.update, ordinary=ordinary)
        found = replace(found, negatives_from=tuple(str(path.absolute()) for path in negatives))
    finally:
        progress.finish()
    click.echo(f"{detector.root}: {found.positives} altered emblems, {found.negatives} images without one")
    raised = sum(1 for own in found.entities.values() if own.raised)
    own = (" and 1 emblem's own" if raised == 1 else f" and {raised:,} emblems' own") if raised else ""
    synthetic = f"synthetic false positives there {found.false_positive_rate:.4f}"
    if found.threshold_from == "ordinary":
        decided = f"decided by your images; {synthetic}, for reference"
    else:
        decided = f"target {target_fpr}; {synthetic}"
        needed = images_to_show(target_fpr)
        if needed is not None and found.negatives < needed:
            decided += (f"; {found.negatives:,} images cannot show a rate of {target_fpr} ({needed:,} needed), "
                        "so none of them may match")
        if found.ordinary and needed is None:
            decided += "; no number of your images shows a rate of 0, so the synthetic pool decided"
        elif found.ordinary:
            decided += (f"; your {found.ordinary_distinct:,} distinct images are too few to show that rate "
                        f"({needed:,} needed), so the synthetic pool decided")
    click.echo(f"threshold {found.threshold:.2f} ({decided}): recall {found.recall:.3f} (at this threshold{own})")
    for family, recall in found.recall_by_family.items():
        missed = found.missed_by_family.get(family)
        click.echo(f"  {family:12} recall {recall:.3f}" + (f", missed: {some(missed)}" if missed else ""))
    if found.ordinary:
        _report_ordinary(found)
    if dry_run:
        click.echo("dry run: nothing written")
        return
    try:
        target = save(found, detector.root)
    except LogowatchError as exc:
        raise FatalError(str(exc)) from exc
    click.echo(f"written to {target}; scans of this library now use it unless --threshold is given")


def _ordinary_images(detector: Detector, paths: tuple[Path, ...]) -> list[OrdinaryImage]:
    """The best candidate of each readable image under ``paths``, scanned as ``scan`` would. A
    file present several times counts each time as a match (a reposted avatar is flagged each
    time too), though only once towards having enough images to show a rate, and towards the
    matches the rate permits (see ``calibration.calibrate``). A picture the library's allow list
    clears is no match in a scan, and none here: nothing is raised for it."""
    files = list(Inputs(paths))
    progress = _Progress("your images", quiet=False)
    ordinary: list[OrdinaryImage] = []
    unreadable: list[str] = []
    try:
        for done, result in enumerate(detector.scan(files, jobs=min(detector.jobs, max(1, len(files)))), 1):
            if result.ok and result.allowed:
                ordinary.append(OrdinaryImage(result.path, None, 0.0, result.sha256))
            elif result.ok:
                ordinary.append(OrdinaryImage(result.path, result.reference, result.score or 0.0, result.sha256))
            else:
                unreadable.append(result.error or result.path)
            progress.update(done, len(files))
    finally:
        progress.finish()
    if unreadable:
        click.echo(f"{_plural(len(unreadable), 'image')} of --negatives left out, unreadable: "
                   f"{some(unreadable, separator='; ')}", err=True)
    if not ordinary:
        raise FatalError("--negatives: no readable image found")
    return ordinary


def _report_ordinary(found: Calibration) -> None:
    """What the user's own images did: how many match, which entities were raised and why, and,
    on standard error, the entities that could not be raised far enough."""
    copies = found.ordinary - found.ordinary_distinct
    distinct = f" ({found.ordinary_distinct:,} distinct)" if copies else ""
    click.echo(f"your {_plural(found.ordinary, 'image')}{distinct} without an emblem: "
               f"{found.ordinary_matched_at_library} matched at {found.threshold:.2f}, {found.ordinary_matched_at_own} "
               f"at the entities' own thresholds (target {found.target_fpr}: at most {found.ordinary_permitted})")
    for entity, own in sorted(found.entities.items()):
        if own.cleared:
            click.echo(f"  {entity}: threshold {own.threshold:.2f}, {_plural(len(own.cleared), 'image')} cleared "
                       f"({some(own.cleared)}); {own.recall:.0%} of its altered emblems still found, "
                       f"{own.recall_before:.0%} before")
    for entity, own in sorted(found.entities.items()):
        if own.likely_emblem:
            click.echo(f"warning: {_plural(len(own.likely_emblem), 'image')} of yours ({some(own.likely_emblem)}) "
                       f"{'scores' if len(own.likely_emblem) == 1 else 'score'} {MAX_OWN_THRESHOLD:.2f} or more as "
                       f"{entity}, as its emblem's own copies do and no ordinary image on the benchmarks did: likely "
                       f"its emblem; no threshold is raised above {MAX_OWN_THRESHOLD:.2f}", err=True)
        # An entity still matching images of yours that it was not raised above is too simple (see
        # ``calibration.raise_entities``: every other such image scores as its emblem's copies do).
        if own.too_simple and not set(own.still_matched) <= set(own.likely_emblem):
            click.echo(f"warning: {entity} still matches {len(own.still_matched):,} of your images "
                       f"({some(own.still_matched)}): do they show its emblem? If not, it is too simple to tell "
                       f"apart from them without missing most of its own altered copies, and is left at "
                       f"{own.threshold:.2f}", err=True)



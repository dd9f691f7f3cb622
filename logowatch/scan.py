"""Files in, results out: which files a scan reads, and what an interrupted scan already did.

Walking: folders are read recursively in name order; every file is tried by its content except
hidden ones and those whose ending says they are text, data, archives, audio or video, or a
download not yet finished; files skipped are counted, so a summary can say so. Resuming: a
JSON-lines output is read back as results, refusing any file that logowatch did not write, or
wrote with another threshold or library.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from logowatch.detector import Detector
from logowatch.errors import InputError
from logowatch.files import SKIPPED_SUFFIXES, SYSTEM_FOLDERS, is_folder
from logowatch.results import Result
from logowatch.resume import Written, read_written, refuse_other_rules

logger = logging.getLogger(__name__)

@dataclass
class Inputs:
    """The files to scan under ``paths``, in a deterministic order; iterate over it once.

    A file named on the command line is always scanned (a missing one becomes an error result),
    and so is a folder that cannot be listed (its error result says so); a file found twice
    (named twice, or reached again through a link) is scanned once. After the walk, ``skipped``
    lists the files passed over: by name, or as not regular files (pipes, links to nothing); and
    ``folders`` the real paths of the folders named, on the command line or in a list of files."""

    paths: Iterable[str | Path]
    skipped: list[Path] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    duplicates: int = 0

    def __iter__(self) -> Iterator[Path]:
        seen_files: set[str] = set()
        seen_dirs: set[str] = set()
        for named in self.paths:
            path = Path(named)
            if is_folder(path):
                real = _real(path)
                self.folders.add(real)
                if real in seen_dirs:
                    logger.info("%s: given twice, scanned once", path)
                    continue
                found: Iterator[Path] = self._walk(path, seen_dirs)
            else:
                found = iter((path,))
            for file in found:
                key = _real(file)
                if key in seen_files:
                    self.duplicates += 1
                    logger.info("%s: the same file as one already listed, scanned once", file)
                    continue
                seen_files.add(key)
                yield file

    def _walk(self, folder: Path, seen_dirs: set[str]) -> Iterator[Path]:
        real = _real(folder)
        if real in seen_dirs:
            if folder.is_symlink():
                logger.warning("%s: a symbolic link back into a folder already walked, skipped", folder)
            else:
                logger.info("%s: walked already (named before the folder it is in), scanned once", folder)
            return
        seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            # Scanned as a file, it becomes an error row saying so: the images in it are missed.
            yield folder
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir and entry.name in SYSTEM_FOLDERS:
                logger.info("%s: a system's folder of copies, not walked", path)
            elif is_dir:
                yield from self._walk(path, seen_dirs)
            elif path.suffix.lower() in SKIPPED_SUFFIXES:
                logger.info("%s: not an image by name, skipped", path)
                self.skipped.append(path)
            elif not _is_file(entry):
                logger.info("%s: %s, skipped", path, _not_a_file(path))
                self.skipped.append(path)
            else:
                yield path


def _real(path: Path) -> str:
    """``path`` with its links resolved, as far as they can be (a link into a folder this user may
    not enter stops there): what tells a file reached twice."""
    try:
        return os.path.realpath(path)
    except OSError:
        return os.path.abspath(path)


def _not_a_file(path: Path) -> str:
    """What ``path``, found in a folder and not a regular file, is instead."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return "a symbolic link to nothing"
    except OSError as exc:
        return f"a symbolic link that cannot be followed ({exc.strerror or exc})"
    return "not a regular file (a pipe, a socket, a device)"


def _is_file(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a link to one: what a folder walk reads (a pipe would wait for ever)."""
    try:
        return entry.is_file()
    except OSError:
        return True  # unreadable: its check says why


@dataclass
class Retry:
    """Which error rows of a resumed file ``--retry-errors`` scans again: those of the files a run
    is given, and of folders at or under a path it is given (a folder that could not be listed
    then: listed now, or an error again). Other rows stay, another batch's say. Compared as real
    paths, so that ./avatars and /data/avatars, or a link to it, are one folder. ``count`` is how
    many rows it chose."""

    files: frozenset[str]
    roots: tuple[str, ...]
    count: int = 0

    @classmethod
    def of(cls, inputs: Inputs, real_files: Iterable[str]) -> Retry:
        """The rule for the files that ``inputs`` walked (after the walk), as real paths."""
        return cls(frozenset(real_files), tuple(sorted(inputs.folders)))

    def __call__(self, row: Result) -> bool:
        if row.ok:
            return False
        path = os.path.realpath(row.path)
        chosen = path in self.files or (
            os.path.isdir(path) and any(path == root or path.startswith(root + os.sep) for root in self.roots)
        )
        self.count += chosen
        return chosen


def read_file_list(lines: Iterable[str]) -> Iterator[str]:
    """Paths listed one per line (``--files-from``, or ``-`` for standard input); blank lines and
    the line ends are dropped, nothing else: a path may hold spaces. Raises :class:`InputError`
    at a NUL character, which no path holds: the list was written by ``find -print0``."""
    for number, line in enumerate(lines):
        path = line.rstrip("\r\n")
        if number == 0:
            _refuse_utf16(path)
        if "\0" in path:
            raise InputError(
                "the list of files holds NUL characters, which no file name does: was it written by "
                "find -print0? Add -0 (--null) to read it so"
            )
        if path.strip():
            yield path


#: How a list read as UTF-8 with undecodable bytes kept (surrogateescape) begins when it is
#: UTF-16 with a byte-order mark, either way round; and how it does without one (every other
#: character a NUL: ASCII names in UTF-16).
UTF16_STARTS = ("\udcff\udcfe", "\udcfe\udcff")


def _refuse_utf16(start: str, nul_separated: bool = False) -> None:
    """Raise :class:`InputError` where a list of files begins as UTF-16 text does ("Unicode" in a
    Windows editor): read as UTF-8, or split at its NUL characters, it names no file. Without a
    byte-order mark, a NUL after every character tells it, but in a list separated by NULs,
    where names of one character each would look the same."""
    interleaved = len(start) >= 4 and start[1::2].count("\0") * 2 >= len(start) - 1
    if start.startswith(UTF16_STARTS) or (interleaved and not nul_separated):
        raise InputError("the list of files is UTF-16 text (a Windows editor's \"Unicode\"); save it as UTF-8")


#: Characters read at a time from a list of paths separated by NUL characters.
LIST_CHUNK = 1 << 16


def read_null_separated(stream: TextIO) -> Iterator[str]:
    """Paths separated by NUL characters, as ``find -print0`` writes them (``--null``): a path may
    hold any character a file name can, a newline too. Empty entries are dropped."""
    pending = ""
    separated = False
    first = True
    while chunk := stream.read(LIST_CHUNK):
        if first:
            _refuse_utf16(chunk[:64], nul_separated=True)
            first = False
        *paths, pending = (pending + chunk).split("\0")
        separated = separated or bool(paths)
        yield from (path for path in paths if path)
    if not separated and "\n" in pending.rstrip("\n"):
        logger.warning("the list of files holds newlines but no NUL character: was it written by find -print0? "
                       "Without --null, a list is read one path a line")
    if pending:
        yield pending


def read_results(output: Path) -> Written[Result]:
    """The results already written to the JSON-lines file ``output`` (see :func:`read_written`)."""
    return read_written(output, Result.from_dict, "path", "a logowatch result")


def check_resumable(output: Path, resumed: Written[Result], detector: Detector) -> None:
    """Refuse to append to results made with another library or threshold: one file, one run's
    rules. Raises :class:`OutputError` naming the first row that differs."""
    for result in resumed.rows:
        expected = detector.threshold_for(result.reference if result.ok else None)
        refuse_other_rules(output, result.path, (result.library, detector.library), (result.threshold, expected))

"""Writing a file so that a crash, a full disk or Ctrl-C never leaves half of one in its place,
reading back the JSON lines written so, and which files of a folder are pictures to read."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from logowatch.errors import InputError, OutputError

#: Files with these endings are not read when walking a folder (named explicitly, they are): they
#: say what they are. Everything else, an unknown ending or none at all, is tried by its content,
#: since downloaded avatars are often named by a hash, or end in .bin or a format's new name.
SKIPPED_SUFFIXES = frozenset(
    {
        ".txt", ".csv", ".tsv", ".json", ".jsonl", ".md", ".rst", ".html", ".htm", ".log", ".xml",
        ".yaml", ".yml", ".toml", ".ini", ".cfg", ".py", ".js", ".css", ".sh", ".sql", ".db",
        ".sqlite", ".zip", ".gz", ".tar", ".7z", ".rar", ".pdf", ".doc", ".docx", ".xls", ".xlsx",
        ".mp4", ".mov", ".webm", ".mkv", ".mp3", ".wav", ".part", ".crdownload", ".npz", ".npy", ".pkl",
        ".pickle", ".bz2", ".xz", ".zst", ".tgz",
    }
)

#: Folders that systems keep beside a user's files, of copies and thumbnails of them: a NAS's
#: thumbnails of every picture, a Mac's resource forks in a zip, the bins of Windows and a NAS.
#: Not walked (named on the command line, they are).
SYSTEM_FOLDERS = frozenset({"@eaDir", "__MACOSX", "$RECYCLE.BIN", "#recycle", "System Volume Information"})


def walked(folder: Path) -> list[Path]:
    """The regular files under ``folder`` (no pipe, which would block its reader), each folder's
    in name order before its sub-folders': not hidden, nor in a hidden folder or a system's
    (:data:`SYSTEM_FOLDERS`)."""
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith(".") and name not in SYSTEM_FOLDERS)
        found += [Path(root) / name for name in sorted(files) if not name.startswith(".")]
    return [path for path in found if path.is_file()]


def is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder; not where that cannot even be asked (a file in a folder this
    user may not enter), which reading it will say."""
    try:
        return path.is_dir()
    except OSError:
        return False


def is_special_file(path: Path) -> bool:
    """Whether ``path`` exists and is not a regular file: a pipe or a device (``/dev/null``,
    ``/dev/stdout``), which is written into, never replaced (or a folder, which cannot be)."""
    return path.exists() and not path.is_file()


def read_json_lines(path: Path, what: str) -> list[str]:
    """The lines of the JSON-lines file ``path`` (see :func:`json_lines`). Raises
    :class:`InputError` naming it as ``what`` ("the allow list") where it cannot be read or is not
    UTF-8 text, as JSON lines are."""
    try:
        return json_lines(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not {what}: not UTF-8 text, as JSON lines are (byte {exc.start:,})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc


def json_lines(text: str) -> list[str]:
    """The lines of a JSON-lines text, split at line feeds alone (a carriage return before one is
    JSON's white space). A name may hold U+2028, U+2029 or U+0085, which JSON writes as they are
    inside a string and ``str.splitlines`` would split at too."""
    lines = text.split("\n")
    return lines[:-1] if lines and not lines[-1] else lines


def check_writable(target: Path) -> None:
    """Raise :class:`OutputError` naming ``target`` where :func:`write_atomically` could not
    write it: its folder missing, read-only or not ours. Said before a long run, not after it."""
    target = _through_link(target)
    if is_special_file(target):
        return
    if not target.parent.is_dir():
        raise OutputError(f"{target}: cannot write: no such folder {target.parent}")
    try:
        handle, probe = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    os.close(handle)
    Path(probe).unlink(missing_ok=True)


def write_atomically(target: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to a temporary file beside ``target``, flush it to disk, and
    rename it into place, with the permissions any new file would get (or ``target``'s own); into
    a target that is not a regular file, a pipe or a device, directly: it cannot be replaced.
    A symbolic link is written through: the file it points to is replaced, and the link stays.
    Raises :class:`OutputError` naming ``target`` when it cannot."""
    content = data.encode("utf-8") if isinstance(data, str) else data
    target = _through_link(target)
    if is_special_file(target):
        try:
            with target.open("wb") as stream:
                stream.write(content)
        except OSError as exc:
            raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
        return
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())  # on disk before the rename: after a power cut, the old file or the new
        # mkstemp makes the file private; a written file gets the permissions any new file would.
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.is_file() else 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _through_link(target: Path) -> Path:
    """The file a symbolic link ``target`` points to, which a write replaces; ``target`` itself
    where it is no link."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def _umask() -> int:
    """This process's file-creation mask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks of a megabyte."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def append_json_line(target: Path, row: dict[str, Any], what: str) -> None:
    """Add ``row`` as a line of JSON to the JSON-lines file ``target`` (``what`` it is, in words,
    for the error), created if absent: after a line feed where the file does not end in one (a
    list edited by hand), so that neither its last line nor this one is lost. Raises
    :class:`OutputError` when it cannot be written."""
    try:
        with target.open("a+b") as stream:  # written at the end, wherever it was read
            size = stream.seek(0, os.SEEK_END)
            ends_open = False
            if size:
                stream.seek(size - 1)
                ends_open = stream.read(1) != b"\n"
            stream.write((("\n" if ends_open else "") + json_line(row)).encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"{target}: cannot add to {what}: {exc.strerror or exc}") from exc


def json_line(row: dict[str, Any] | list[dict[str, Any]]) -> str:
    """``row`` (or a list of rows) as one line of JSON, UTF-8 where it can be: a path that is not
    valid UTF-8 (lone surrogates) is written with \\u escapes, which read back as the very same path."""
    line = json.dumps(row, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(row, ensure_ascii=True)
    return line + "\n"

"""Exceptions and exit codes.

Every error logowatch raises on purpose derives from :class:`LogowatchError`, so a caller can tell
"this input is bad" from a bug. The command line turns them into messages and :class:`ExitCode`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, chosen as grep does: 0 = found, 1 = not found, 2 = trouble; and 3 when
    nothing was found but some files could not be read, so that a script never takes a folder of
    unreadable files for a clean one."""

    MATCH = 0
    NO_MATCH = 1
    ERROR = 2
    UNREADABLE = 3
    INTERRUPTED = 130
    #: Standard output was closed by its reader (``| head``), as a process killed by SIGPIPE reports.
    BROKEN_PIPE = 141
    TERMINATED = 143

    @classmethod
    def of_counts(cls, matched: int, unreadable: int) -> ExitCode:
        """The code of a finished run: any match wins, then any unreadable file."""
        if matched:
            return cls.MATCH
        return cls.UNREADABLE if unreadable else cls.NO_MATCH


class LogowatchError(Exception):
    """Base class of every error that logowatch raises deliberately."""


class ImageLoadError(LogowatchError):
    """An image could not be read: empty, not an image, truncated, or refused."""

    def __init__(self, message: str, sha256: str | None = None) -> None:
        super().__init__(message)
        #: SHA-256 of the file's bytes where they were read and could not be decoded; None where
        #: the file itself could not be read (or the image did not come from a file's bytes).
        self.sha256 = sha256


class ImageTooLargeError(ImageLoadError):
    """The image header claims more pixels than we are willing to decode (a decompression bomb)."""


class ReferenceLibraryError(LogowatchError):
    """The reference library is missing, empty, or holds no usable emblem."""


class WorkerError(LogowatchError):
    """A worker process of a parallel scan died (killed, or out of memory), or could not be started."""


class ClusterError(LogowatchError):
    """A Dask cluster cannot be reached, or cannot finish part of a scan."""


class OutputError(LogowatchError):
    """A result file cannot be written or resumed."""


class InputError(LogowatchError):
    """A file logowatch reads besides images cannot be read: an allow list, results to review."""


class TextModelError(LogowatchError):
    """The text recogniser's model file cannot be fetched or saved."""


class ManifestError(LogowatchError):
    """A manifest of accounts cannot be read at all: missing, not text, or without a column every row needs."""

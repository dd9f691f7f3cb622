"""Known-benign images: pictures a reviewer has cleared, reported as ``allowed`` instead of a match.

A false positive that a reviewer has dismissed should not come back in the next scan, nor its
copies: the same file downloaded again, or the same picture recompressed or resized by a platform.
So an image is allowed when its bytes are those of a cleared image (SHA-256), or when its
perceptual hash (of its content, trimmed of a uniform frame, as matching hashes it) is within
:data:`DEFAULT_ALLOW_DISTANCE` bits of one: that is the same picture, not merely a similar one.

Clear only what is benign: a cleared copy of an official emblem would also clear every
impersonator who uploads that same picture.

An allow list is read from folders of images, single image files, and JSON-lines lists
(:data:`ALLOW_FILE` in a reference library's folder is read by every scan of that library). Each
line of a list is ``{"sha256": ..., "phash": ...}`` with optional ``path``, ``entity``, ``note``
and ``time``; the reviewer's page appends such lines.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from logowatch import hashing
from logowatch.errors import ImageLoadError, InputError, OutputError
from logowatch.loading import LoadedImage, load_image

logger = logging.getLogger(__name__)

#: The allow list a reference library's folder may hold; scans of that library honour it.
ALLOW_FILE = "logowatch-allow.jsonl"
#: pHash bits (of 64) within which an image is the same picture as a cleared one. Recompressing or
#: resizing a picture moves its hash by a few bits at most; a different picture, even one showing
#: the same emblem on another background, lies much further away.
DEFAULT_ALLOW_DISTANCE = 4
#: Images smaller than this on a side are too small to be recognised by their hash alone.
MIN_HASH_SIDE = 8


def content_hash(loaded: LoadedImage) -> str | None:
    """The 64-bit pHash (hex) of an image's content, trimmed of a uniform frame; None when too small."""
    rgb = loaded.composited()
    x0, y0, x1, y1 = hashing.content_box(rgb)
    if min(x1 - x0, y1 - y0) < MIN_HASH_SIDE:
        return None
    return str(hashing.phash(np.ascontiguousarray(rgb[y0:y1, x0:x1])))


@dataclass(frozen=True)
class AllowEntry:
    """One cleared image: its SHA-256, its content pHash, and where the clearance came from."""

    sha256: str | None
    phash: str | None
    source: str
    note: str = ""

    def to_dict(self) -> dict[str, str | None]:
        return {"sha256": self.sha256, "phash": self.phash, "path": self.source, "note": self.note}


class AllowList:
    """Cleared images, looked up by bytes or by picture. Immutable: :meth:`with_entry` makes a new one."""

    def __init__(self, entries: Iterable[AllowEntry] = (), distance: int = DEFAULT_ALLOW_DISTANCE) -> None:
        self.entries = list(entries)
        self.distance = distance
        self._by_sha = {e.sha256: e for e in self.entries if e.sha256}
        hashed = [e for e in self.entries if e.phash]
        self._hashed = hashed
        self._bits = (
            np.stack([_bits(e.phash) for e in hashed if e.phash]) if hashed else np.zeros((0, 64), bool)
        )

    def __len__(self) -> int:
        return len(self.entries)

    def with_entry(self, entry: AllowEntry) -> AllowList:
        """This list and ``entry``."""
        return AllowList([*self.entries, entry], self.distance)

    @classmethod
    def read(cls, sources: Iterable[str | Path]) -> AllowList:
        """The allow list of ``sources``: folders of images (recursively), image files, and
        ``.jsonl`` lists. An unreadable image or line is skipped with a warning; a source that
        does not exist is an error (:class:`InputError`), since a typo would silently allow nothing."""
        entries: list[AllowEntry] = []
        for source in (Path(s) for s in sources):
            if not source.exists():
                raise InputError(f"{source}: no such allow list, file or folder")
            if source.is_dir():
                files = sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))
                for file in files:
                    if file.suffix.lower() == ".jsonl":
                        entries.extend(_read_list(file))
                    else:
                        entries.extend(_image_entry(file))
            elif source.suffix.lower() == ".jsonl":
                entries.extend(_read_list(source))
            else:
                entries.extend(_image_entry(source))
        return cls(entries)

    def allows(self, loaded: LoadedImage) -> AllowEntry | None:
        """The entry that clears ``loaded``: the same bytes, or the same picture by its hash."""
        if loaded.sha256 is not None and loaded.sha256 in self._by_sha:
            return self._by_sha[loaded.sha256]
        if not self._hashed:
            return None
        found = content_hash(loaded)
        if found is None:
            return None
        distances = hashing.hamming(_bits(found), self._bits)
        nearest = int(np.argmin(distances))
        return self._hashed[nearest] if int(distances[nearest]) <= self.distance else None


def entry_for(loaded: LoadedImage, source: str, note: str = "") -> AllowEntry:
    """The allow-list entry that clears ``loaded`` (an image as loaded from ``source``)."""
    return AllowEntry(loaded.sha256, content_hash(loaded), source, note)


def append(target: Path, entry: AllowEntry, **extra: str) -> None:
    """Add ``entry`` to the JSON-lines allow list at ``target`` (created if absent)."""
    row = {**entry.to_dict(), **extra, "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    try:
        with target.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise OutputError(f"{target}: cannot add to the allow list: {exc.strerror or exc}") from exc


def _bits(hex_hash: str) -> np.ndarray:
    value = int(hex_hash, 16)
    return np.array([(value >> (63 - i)) & 1 for i in range(64)], dtype=bool)


def _image_entry(path: Path) -> list[AllowEntry]:
    try:
        return [entry_for(load_image(path), str(path))]
    except ImageLoadError as exc:
        logger.warning("allow list: %s; skipped", exc)
        return []


def _read_list(path: Path) -> list[AllowEntry]:
    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the allow list: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            sha, phash = data.get("sha256"), data.get("phash")
            if phash is not None:
                _bits(str(phash))
            if not sha and not phash:
                raise ValueError("neither sha256 nor phash")
        except (ValueError, AttributeError, TypeError) as exc:
            logger.warning("%s:%d: not an allow-list entry (%s); skipped", path, number, exc)
            continue
        entries.append(AllowEntry(sha, phash, str(data.get("path") or f"{path}:{number}"), str(data.get("note") or "")))
    return entries

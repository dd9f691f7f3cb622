"""Known-benign images: pictures a reviewer has cleared, reported as ``allowed`` instead of a match.

A false positive that a reviewer has dismissed should not come back in the next scan, nor its
copies: the same file downloaded again, or the same picture recompressed or resized by a platform.
So an image is allowed when its bytes are those of a cleared image (SHA-256), or when it is the
same picture: its perceptual hash, of its content trimmed of a uniform frame (as matching hashes
it) or of the whole image, within :data:`DEFAULT_ALLOW_DISTANCE` bits of the cleared image's, and
its mean colour within :data:`COLOUR_TOLERANCE` of it. The hash sees only light and dark, so the
colour keeps a text avatar cleared in orange from clearing the same word in green; the whole
image's hash keeps a picture whose content is a thin strip (a wordmark), whose trimmed hash moves
when a platform resizes it, recognised. (Entries written before colours were kept are matched by
their content's hash alone.)

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

import cv2
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
#: How far apart (the largest difference in one of L, a and b, on OpenCV's 8-bit scales) the mean
#: colours of a picture and a cleared one may lie. Of 150 background avatars shrunk to 128, 64 and
#: 32 px and recompressed, 2 at each size moved further; of the 3,000 background images, those
#: allowed when every other one is cleared fell from 625 to 325 with it and the whole image's hash.
COLOUR_TOLERANCE = 12
#: Images smaller than this on a side are too small to be recognised by their hash alone.
MIN_HASH_SIDE = 8


def content_hash(loaded: LoadedImage) -> str | None:
    """The 64-bit pHash (hex) of an image's content, trimmed of a uniform frame; None when too small."""
    rgb = loaded.composited()
    x0, y0, x1, y1 = hashing.content_box(rgb)
    if min(x1 - x0, y1 - y0) < MIN_HASH_SIDE:
        return None
    return str(hashing.phash(np.ascontiguousarray(rgb[y0:y1, x0:x1])))


def whole_hash(loaded: LoadedImage) -> str | None:
    """The 64-bit pHash (hex) of the whole image; None when too small."""
    rgb = loaded.composited()
    return None if min(rgb.shape[:2]) < MIN_HASH_SIDE else str(hashing.phash(rgb))


def mean_colour(loaded: LoadedImage) -> str:
    """The image's mean colour in Lab (OpenCV's 8-bit scales), as six hex digits."""
    lab = cv2.cvtColor(loaded.composited(), cv2.COLOR_RGB2LAB).reshape(-1, 3).mean(axis=0)
    return "".join(f"{round(float(v)):02x}" for v in lab)


@dataclass(frozen=True)
class AllowEntry:
    """One cleared image: its SHA-256, the pHashes of its content and of the whole image, its mean
    colour (see :func:`mean_colour`), and where the clearance came from."""

    sha256: str | None
    phash: str | None
    source: str
    note: str = ""
    whole_phash: str | None = None
    colour: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "sha256": self.sha256, "phash": self.phash, "whole_phash": self.whole_phash, "colour": self.colour,
            "path": self.source, "note": self.note,
        }


class AllowList:
    """Cleared images, looked up by bytes or by picture. Immutable: :meth:`with_entry` makes a new one."""

    def __init__(self, entries: Iterable[AllowEntry] = (), distance: int = DEFAULT_ALLOW_DISTANCE) -> None:
        self.entries = list(entries)
        self.distance = distance
        self._by_sha = {e.sha256: e for e in self.entries if e.sha256}
        self._hashed = [e for e in self.entries if e.phash or e.whole_phash]
        self._content = _table([e.phash for e in self._hashed])
        self._whole = _table([e.whole_phash for e in self._hashed])
        self._colours = np.array([_lab(e.colour) for e in self._hashed], np.float64).reshape(-1, 3)

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
        """The entry that clears ``loaded``: the same bytes, or the same picture by its hashes and
        its colour (see the module's docstring)."""
        if loaded.sha256 is not None and loaded.sha256 in self._by_sha:
            return self._by_sha[loaded.sha256]
        if not self._hashed:
            return None
        distances = np.minimum(_distances(content_hash(loaded), self._content),
                               _distances(whole_hash(loaded), self._whole))
        colour = np.array(_lab(mean_colour(loaded)), np.float64)
        # An entry without a colour (written before colours were kept) is held to its hash alone.
        same_colour = np.isnan(self._colours).any(axis=1) | (
            np.abs(np.nan_to_num(self._colours) - colour).max(axis=1) <= COLOUR_TOLERANCE
        )
        distances = np.where(same_colour, distances, NOT_NEAR)
        nearest = int(np.argmin(distances))
        return self._hashed[nearest] if int(distances[nearest]) <= self.distance else None


def entry_for(loaded: LoadedImage, source: str, note: str = "") -> AllowEntry:
    """The allow-list entry that clears ``loaded`` (an image as loaded from ``source``)."""
    return AllowEntry(loaded.sha256, content_hash(loaded), source, note, whole_hash(loaded), mean_colour(loaded))


def append(target: Path, entry: AllowEntry, **extra: str) -> None:
    """Add ``entry`` to the JSON-lines allow list at ``target`` (created if absent)."""
    row = {**entry.to_dict(), **extra, "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    try:
        with target.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise OutputError(f"{target}: cannot add to the allow list: {exc.strerror or exc}") from exc


#: The distance given where a hash is missing on either side, or the colours differ: never near.
NOT_NEAR = 65


def _bits(hex_hash: str) -> np.ndarray:
    value = int(hex_hash, 16)
    if not 0 <= value < 1 << 64:
        raise ValueError(f"{hex_hash!r} is not a 64-bit hash")
    return np.array([(value >> (63 - i)) & 1 for i in range(64)], dtype=bool)


def _table(hashes: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """The bits of each hash (rows), and which rows have one."""
    bits = np.zeros((len(hashes), 64), bool)
    for row, value in enumerate(hashes):
        if value:
            bits[row] = _bits(value)
    return bits, np.array([bool(v) for v in hashes], bool)


def _distances(found: str | None, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Hamming distances of ``found`` to each row of a :func:`_table`; :data:`NOT_NEAR` where
    either side has no hash."""
    bits, present = table
    if found is None:
        return np.full(len(present), NOT_NEAR)
    return np.where(present, hashing.hamming(_bits(found), bits), NOT_NEAR)


def _lab(colour: str | None) -> tuple[float, float, float]:
    """A colour as :func:`mean_colour` writes it, as three numbers; NaN for none."""
    if colour is None:
        return (np.nan, np.nan, np.nan)
    if len(colour) != 6:
        raise ValueError(f"{colour!r} is not a colour of six hex digits")
    return (float(int(colour[0:2], 16)), float(int(colour[2:4], 16)), float(int(colour[4:6], 16)))


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
            fields = ("sha256", "phash", "whole_phash", "colour")
            sha, phash, whole, colour = (None if data.get(key) is None else str(data[key]) for key in fields)
            for value in (phash, whole):
                if value is not None:
                    _bits(value)
            if colour is not None:
                _lab(colour)
            if sha is not None and not (len(sha) == 64 and _is_hex(sha)):
                raise ValueError(f"sha256 {sha!r} is not 64 hex digits")
            if not sha and not phash and not whole:
                raise ValueError("neither sha256 nor phash")
        except (ValueError, AttributeError, TypeError) as exc:
            logger.warning("%s:%d: not an allow-list entry (%s); skipped", path, number, exc)
            continue
        entries.append(AllowEntry(
            sha.lower() if sha else None, phash, str(data.get("path") or f"{path}:{number}"),
            str(data.get("note") or ""), whole, colour,
        ))
    return entries


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)

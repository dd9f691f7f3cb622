"""Known-benign images: pictures a reviewer has cleared, reported as ``allowed`` instead of a match.

A false positive that a reviewer has dismissed should not come back in the next scan, nor its
copies: the same file downloaded again, or the same picture recompressed or resized by a platform.
So an image is allowed when its bytes are those of a cleared image (SHA-256), or when it is the
same picture: the 64-bit perceptual hash of its content, trimmed of a uniform frame (as matching
hashes it), within :data:`DEFAULT_ALLOW_DISTANCE` bits of the cleared image's, or the finer
256-bit hash of the whole image within :data:`WHOLE_DISTANCE` bits; and its mean colour within
:data:`COLOUR_TOLERANCE` of the cleared image's. The whole image's hash recognises a picture
whose content is small (a word on a plain square), whose trimmed hash moves when a platform
resizes it; it is the finer one so that small pictures on the same plain square are not taken
for one another. The hashes see only light and dark, so the colour keeps a word cleared on
orange from clearing the same word on green. (Entries written before colours were kept are
matched by their hashes alone.)

A picture near a cleared one clears a match only of the entity the cleared picture was taken for,
and only where it lies nearer to the cleared picture than to the emblem it matched, by the same
hashes: a look-alike that differs from an emblem in a word of its drawing hashes about as near to
the emblem's copies as to its own, and, cleared, must not clear them (its score does not tell
them apart either: a new user's card with another name scored 0.89 and its copies 0.97, the
emblem's 0.99). What a cleared picture was taken for is recorded with it by the reviewer's page;
a picture given as a file is matched for it when the ``Detector`` reading the list is made.

Clear only what is benign: a cleared copy of an official emblem would also clear every
impersonator who uploads that same picture.

An allow list is read from folders of images, single image files, and JSON-lines lists
(:data:`ALLOW_FILE` in a reference library's folder is read by every scan of that library). Each
line of a list is ``{"sha256": ..., "phash": ...}`` with optional ``path``, ``entity``, ``score``,
``note`` and ``time``; the reviewer's page appends such lines. A ``.json`` file may instead hold
one such object, or a list of them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from logowatch import hashing
from logowatch.errors import ImageLoadError, InputError
from logowatch.files import SKIPPED_SUFFIXES, append_json_line, read_json_lines, walked
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
#: allowed when every other one is cleared fell from 625 to 316 with it and the whole image's hash.
COLOUR_TOLERANCE = 12
#: The whole image's hash: its side in bits (16 x 16 = 256), and the bits within which a picture is
#: the same as a cleared one. Pictures shrunk onto a white square 160 px wide, 40 px of them, lay
#: 0 to 4 bits apart by a 64-bit hash of the whole image (a reviewer's check) and 24 or more by
#: this one; of 150 background avatars cleared and then shrunk and recompressed, the copies
#: allowed at 128, 64, 32 and 24 px were 105, 141, 125 and 98 (81, 102, 90 and 76 by the content's
#: hash alone).
WHOLE_SIDE = 16
WHOLE_DISTANCE = 16
#: The distance given where a hash is missing on either side, or the colours differ: never near.
NOT_NEAR = 65
#: How each field of an allow-list line is written: lower- or upper-case hex digits, so many.
HEX_DIGITS = {"sha256": 64, "phash": 16, "whole_phash": WHOLE_SIDE * WHOLE_SIDE // 4, "colour": 6}


def content_hash(rgb: np.ndarray) -> str | None:
    """The 64-bit pHash (hex) of an image's content (``rgb``, as composited), trimmed of a uniform
    frame; None when too small."""
    x0, y0, x1, y1 = hashing.content_box(rgb)
    if min(x1 - x0, y1 - y0) < hashing.MIN_HASH_SIDE:
        return None
    return str(hashing.phash(np.ascontiguousarray(rgb[y0:y1, x0:x1])))


def whole_hash(rgb: np.ndarray) -> str | None:
    """The 256-bit pHash (hex) of the whole image (see :data:`WHOLE_SIDE`); None when too small."""
    return None if min(rgb.shape[:2]) < hashing.MIN_HASH_SIDE else str(hashing.phash(rgb, WHOLE_SIDE))


def mean_colour(rgb: np.ndarray) -> str:
    """The image's mean colour in Lab (OpenCV's 8-bit scales), as six hex digits."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).mean(axis=0)
    return "".join(f"{round(float(v)):02x}" for v in lab)


@dataclass(frozen=True)
class AllowEntry:
    """One cleared image: its SHA-256, the pHashes of its content and of the whole image, its mean
    colour (see :func:`mean_colour`), where the clearance came from, and, where known, the entity
    it was taken for and its score then."""

    sha256: str | None
    phash: str | None
    source: str
    note: str = ""
    whole_phash: str | None = None
    colour: str | None = None
    entity: str | None = None
    score: float | None = None

    def to_dict(self) -> dict[str, str | float | None]:
        return {
            "sha256": self.sha256, "phash": self.phash, "whole_phash": self.whole_phash, "colour": self.colour,
            "path": self.source, "note": self.note, "entity": self.entity, "score": self.score,
        }


class AllowList:
    """Cleared images, looked up by bytes or by picture. Immutable: :meth:`with_entry` makes a new one."""

    def __init__(self, entries: Iterable[AllowEntry] = (), distance: int = DEFAULT_ALLOW_DISTANCE) -> None:
        self.entries = list(entries)
        self.distance = distance
        self._by_sha = {e.sha256: e for e in self.entries if e.sha256}
        self._hashed = [e for e in self.entries if e.phash or e.whole_phash]
        self._content = _table([e.phash for e in self._hashed], 64)
        self._whole = _table([e.whole_phash for e in self._hashed], WHOLE_SIDE * WHOLE_SIDE)
        self._colours = np.array([_lab(e.colour) for e in self._hashed], np.float64).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self.entries)

    def with_entry(self, entry: AllowEntry) -> AllowList:
        """This list and ``entry``."""
        return AllowList([*self.entries, entry], self.distance)

    @classmethod
    def read(cls, sources: Iterable[str | Path]) -> AllowList:
        """The allow list of ``sources``: folders of images (recursively, as ``files.walked``
        walks them), image files, and ``.jsonl`` or ``.json`` lists. An unreadable image or line
        is skipped with a warning; a source that does not exist is an error
        (:class:`InputError`), since a typo would silently allow nothing."""
        entries: list[AllowEntry] = []
        for source in (Path(s) for s in sources):
            if not source.exists():
                raise InputError(f"{source}: no such allow list, file or folder")
            if not source.is_dir() and not source.is_file():
                # A pipe (a shell's <(...)) would be read twice, to tell a list from a picture, or block.
                raise InputError(
                    f"{source}: not a file or a folder (a pipe?); give the allow list or the images as files"
                )
            if source.is_dir():
                # As a scan walks a folder: a list, or a picture unless its ending says it is none.
                files = [p for p in walked(source) if _is_json_lines(p) or p.suffix.lower() not in SKIPPED_SUFFIXES]
            else:
                files = [source]
            for file in files:
                entries.extend(_read_list(file) if _is_json_lines(file) else _image_entry(file))
        return cls(entries)

    def _near(self, distances: np.ndarray) -> list[int]:
        """The rows of ``distances`` (one an entry with a hash) within :attr:`distance`, nearest first."""
        return [int(row) for row in np.argsort(distances, kind="stable") if distances[row] <= self.distance]

    def _measures(self, loaded: LoadedImage) -> tuple[np.ndarray, np.ndarray]:
        """How far ``loaded`` lies from the picture of each entry with a hash, by its content's hash
        and by the whole image's (in the content hash's bits: the whole's has four times as many);
        :data:`NOT_NEAR` where either has no such hash, or their colours differ."""
        if not self._hashed:
            return np.zeros(0), np.zeros(0)
        rgb = loaded.composited()
        content = _distances(content_hash(rgb), self._content)
        whole = np.minimum(_distances(whole_hash(rgb), self._whole) * self.distance / WHOLE_DISTANCE, NOT_NEAR)
        colour = np.array(_lab(mean_colour(rgb)), np.float64)
        # An entry without a colour (written before colours were kept) is held to its hash alone.
        same_colour = np.isnan(self._colours).any(axis=1) | (
            np.abs(np.nan_to_num(self._colours) - colour).max(axis=1) <= COLOUR_TOLERANCE
        )
        return np.where(same_colour, content, NOT_NEAR), np.where(same_colour, whole, NOT_NEAR)

    def allows(
        self, loaded: LoadedImage, entity: str | None = None, emblem: AllowList | None = None
    ) -> AllowEntry | None:
        """The entry that clears ``loaded``, which matched ``entity``: its very bytes, whatever it
        matched; else the nearest picture taken for the same entity (or not said to be taken for
        another) that lies nearer to ``loaded`` than the emblem it matched does (``emblem``: its
        pictures, as an allow list of them), by the content's hash and by the whole image's, each
        where both sides have it. A look-alike that differs from an emblem in a word hashes about
        as near to the emblem's copies as to its own, and must not clear them; and a pale,
        symmetric picture's content hash flips between its copies, where the whole image's holds
        better (a trial's pale emblem: its copies nearer a cleared look-alike by the one, nearer
        itself by the other)."""
        if loaded.sha256 is not None and loaded.sha256 in self._by_sha:
            return self._by_sha[loaded.sha256]
        content, whole = self._measures(loaded)
        # The emblem's nearest picture by each hash; none to beat where it is not known.
        rivals = [float(m.min()) for m in emblem._measures(loaded)] if emblem is not None and len(emblem) else [
            NOT_NEAR + 1.0, NOT_NEAR + 1.0
        ]
        for row in self._near(np.minimum(content, whole)):
            entry = self._hashed[row]
            ours = (float(content[row]), float(whole[row]))
            nearer = all(
                mine < theirs or max(mine, theirs) >= NOT_NEAR for mine, theirs in zip(ours, rivals, strict=True)
            )
            if entry.entity in (None, entity) and nearer:
                return entry
        return None


def entry_for(
    loaded: LoadedImage, source: str, note: str = "", entity: str | None = None, score: float | None = None
) -> AllowEntry:
    """The allow-list entry that clears ``loaded`` (an image as loaded from ``source``), taken for
    ``entity`` at ``score`` where that is known."""
    rgb = loaded.composited()
    return AllowEntry(
        loaded.sha256, content_hash(rgb), source, note, whole_hash(rgb), mean_colour(rgb), entity, score
    )


def append(target: Path, entry: AllowEntry, **extra: str) -> None:
    """Add ``entry`` to the JSON-lines allow list at ``target`` (created if absent)."""
    row = {**entry.to_dict(), **extra, "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    append_json_line(target, row, "the allow list")


def _bits(hex_hash: str, count: int = 64) -> np.ndarray:
    value = int(hex_hash, 16)
    return np.array([(value >> (count - 1 - i)) & 1 for i in range(count)], dtype=bool)


def _table(hashes: list[str | None], count: int) -> tuple[np.ndarray, np.ndarray]:
    """The bits of each hash of ``count`` bits (rows), and which rows have one."""
    bits = np.zeros((len(hashes), count), bool)
    for row, value in enumerate(hashes):
        if value:
            bits[row] = _bits(value, count)
    return bits, np.array([bool(v) for v in hashes], bool)


def _distances(found: str | None, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Hamming distances of ``found`` to each row of a :func:`_table`; :data:`NOT_NEAR` where
    either side has no hash."""
    bits, present = table
    if found is None:
        return np.full(len(present), float(NOT_NEAR))
    return np.where(present, hashing.hamming(_bits(found, bits.shape[1]), bits), NOT_NEAR).astype(float)


def _lab(colour: str | None) -> tuple[float, float, float]:
    """A colour as :func:`mean_colour` writes it, as three numbers; NaN for none."""
    if colour is None:
        return (np.nan, np.nan, np.nan)
    return (float(int(colour[0:2], 16)), float(int(colour[2:4], 16)), float(int(colour[4:6], 16)))


def _image_entry(path: Path) -> list[AllowEntry]:
    try:
        return [entry_for(load_image(path), str(path))]
    except ImageLoadError as exc:
        logger.warning("allow list: %s; skipped", exc)
        return []


def _is_json_lines(path: Path) -> bool:
    """Whether ``path`` is a list of entries rather than a picture: a ``.jsonl`` (or ``.json``)
    file, or one that begins as a JSON object does (a scan's results saved under another name are
    so refused, not skipped as no image)."""
    if path.suffix.lower() in (".jsonl", ".json"):
        return True
    try:
        with path.open("rb") as stream:
            return stream.read(64).lstrip().removeprefix(b"\xef\xbb\xbf").startswith(b"{")
    except OSError:
        return False


def _read_list(path: Path) -> list[AllowEntry]:
    """The entries of a JSON-lines allow list. A field written otherwise than :data:`HEX_DIGITS`
    says is named in a warning and left out, the rest of its line kept; a line left with nothing
    to recognise an image by is skipped."""
    entries = []
    for number, data in _objects(path):
        if isinstance(data, ValueError):
            logger.warning("%s:%d: not an allow-list entry (not JSON: %s); skipped", path, number, data)
            continue
        if not isinstance(data, dict):
            logger.warning("%s:%d: not an allow-list entry (not a JSON object); skipped", path, number)
            continue
        if "status" in data or "verdict" in data:
            # A scan's results (or accounts' verdicts) carry each image's sha256 too: read as an
            # allow list, they would clear every image they name, matches and all.
            kind = "a scan's results" if "status" in data else "account verdicts"
            raise InputError(
                f"{path}:{number}: {kind}, not an allow list; an allow list holds the pictures a "
                f"reviewer cleared (the reviewer's page writes {ALLOW_FILE})"
            )
        fields: dict[str, str | None] = {}
        for key, digits in HEX_DIGITS.items():
            value = data.get(key)
            if value is not None and not (isinstance(value, str) and re.fullmatch(f"[0-9a-fA-F]{{{digits}}}", value)):
                logger.warning("%s:%d: %s %r is not %d hex digits; left out", path, number, key, value, digits)
                value = None
            fields[key] = None if value is None else value.lower()
        if not (fields["sha256"] or fields["phash"] or fields["whole_phash"]):
            logger.warning("%s:%d: not an allow-list entry (no sha256 or hash); skipped", path, number)
            continue
        # What it was taken for, where said as the reviewer's page writes it.
        entity, score = data.get("entity"), data.get("score")
        taken_at = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None
        entries.append(AllowEntry(
            fields["sha256"], fields["phash"], str(data.get("path") or f"{path}:{number}"),
            str(data.get("note") or ""), fields["whole_phash"], fields["colour"],
            entity if isinstance(entity, str) and entity else None,
            taken_at if taken_at is not None and 0.0 <= taken_at <= 1.0 else None,
        ))
    return entries


def _objects(path: Path) -> list[tuple[int, object]]:
    """What an allow list holds, each with its line (or its place in a list): a JSON-lines file's
    lines, or a ``.json`` file's one object or list of them (a line that is not JSON, as the
    :class:`ValueError` it raised)."""
    lines = read_json_lines(path, "the allow list")
    if path.suffix.lower() == ".json":
        try:
            whole = json.loads("\n".join(lines))
        except ValueError:
            pass  # JSON lines under a .json name
        else:
            return list(enumerate(whole if isinstance(whole, list) else [whole], start=1))
    found: list[tuple[int, object]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                found.append((number, json.loads(line)))
            except ValueError as exc:
                found.append((number, exc))
    return found

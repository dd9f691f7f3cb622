"""Accounts in, one verdict per account out: official, impersonation or clear, and why.

A manifest (CSV with a header, or JSON lines) lists accounts: ``platform``, ``account_id``, ``handle``,
``display_name``, and optionally ``bio``, ``avatar`` (a path relative to the manifest) and ``thumbnails`` (paths
separated by ``|``). Each account is decided by one rule (README, "Accounts"):

- ``official`` when ``(platform, account_id)`` is one of a body's official accounts (``entity.json``), on that
  platform only, whatever its name or avatar;
- otherwise ``impersonation`` when its display name claims one of a body's names (:mod:`logowatch.names`) or its
  avatar or a thumbnail carries a body's emblem (a :class:`~logowatch.Result` that matched);
- otherwise ``clear``.

When the name and an image point at different bodies, the account impersonates both; ``entity`` is the body its
display name claims, and ``entities`` lists every body in order. Among images, the avatar comes before the
thumbnails, then the higher score: the name is what the account calls itself, the avatar how it shows itself,
and a thumbnail only what it posted.

A row that cannot be read (not UTF-8, a repeated account, no platform or id) becomes a verdict with
``error`` and no ``verdict``; every other row is still decided. An image that cannot be read (missing,
damaged, a URL) is an image result with status ``error``, and the other signals decide.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logowatch.detector import Detector
from logowatch.errors import ManifestError, ReferenceLibraryError
from logowatch.names import LONE_SURROGATE, NameClaim, NameMatcher
from logowatch.results import Result
from logowatch.resume import Written, read_written, refuse_other_rules

logger = logging.getLogger(__name__)

OFFICIAL = "official"
IMPERSONATION = "impersonation"
CLEAR = "clear"
#: Every verdict an account can get; a row that could not be read has none (``verdict`` is None).
VERDICTS = (IMPERSONATION, OFFICIAL, CLEAR)

AVATAR = "avatar"
THUMBNAIL = "thumbnail"

REQUIRED_COLUMNS = ("platform", "account_id", "display_name")
"""Columns a CSV manifest must have: without them no account can be identified or its name read, so a manifest
that lacks one is refused whole (its header was most likely named otherwise)."""

OPTIONAL_COLUMNS = ("handle", "bio", "avatar", "thumbnails")
"""Columns read when present. Without ``avatar`` and ``thumbnails`` accounts are decided on their names alone."""

DEFAULT_THUMBNAIL_SEPARATOR = "|"
"""What separates the paths in a ``thumbnails`` cell."""

NOT_UTF8 = "not UTF-8 (GBK?) — save the file as UTF-8"
"""The reason given for a line whose bytes are not UTF-8 (most often a spreadsheet's GBK export)."""

URL_NOT_PATH = "a URL, not a path: download it first"
"""The reason given for an image given as a URL where a path belongs."""

RULES_DIGEST_CHARS = 16
"""Hex digits of the digest, written into each verdict, of the library and the account rules it was decided by."""

_URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://|^(?:data|mailto):|^www\.", re.IGNORECASE)
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def row_key(platform: str, account_id: str, line: int) -> tuple[str, str]:
    """A manifest row's identity: its account's (:func:`account_key`), or its line's when it has no
    platform or id, so that such rows are still told apart."""
    if platform.strip() and account_id.strip():
        return account_key(platform, account_id)
    return ("", f"line {line}")


def account_key(platform: str, account_id: str) -> tuple[str, str]:
    """How two mentions of one account compare: the platform trimmed and case-folded, the id trimmed."""
    return platform.strip().casefold(), account_id.strip()


@dataclass(frozen=True)
class ImageRef:
    """One image an account shows: its role (``avatar`` or ``thumbnail``), the text the manifest gave, and the
    path to read (resolved against the manifest's folder), or ``error`` when it cannot be a path (a URL)."""

    role: str
    given: str
    path: str | None
    error: str | None = None


@dataclass(frozen=True)
class AccountRow:
    """One account as the manifest lists it. ``line`` is where its record starts (1 is the header of a CSV)."""

    line: int
    platform: str
    account_id: str
    handle: str = ""
    display_name: str = ""
    bio: str = ""
    images: tuple[ImageRef, ...] = ()
    #: Why the row cannot be decided (naming the manifest and the line), or None.
    error: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The account's identity, or the line's when the row has no platform or id."""
        return row_key(self.platform, self.account_id, self.line)


@dataclass(frozen=True)
class Manifest:
    """A manifest read whole: its format (``csv`` or ``jsonl``), the columns it has, and its rows in order."""

    path: Path
    format: str
    columns: tuple[str, ...]
    rows: tuple[AccountRow, ...]

    @property
    def image_count(self) -> int:
        """How many images the decidable rows will have read."""
        return sum(1 for row in self.rows if row.error is None for ref in row.images if ref.path is not None)


def _decode_lines(data: bytes) -> tuple[list[str], set[int]]:
    """The lines of ``data`` as text, and the numbers (from 1) of those that are not UTF-8 (decoded with
    replacement characters, so that their cells can still name the account)."""
    lines: list[str] = []
    bad: set[int] = set()
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("utf-8", errors="replace"))
            bad.add(number)
    return lines, bad


def read_manifest(path: str | Path, data: bytes | None = None) -> Manifest:
    """Read the manifest at ``path``: JSON lines when its first character is ``{``, else CSV with a header.
    ``data`` is its bytes where they were read already (standard input: ``path`` then names it in
    messages, and its folder, which image paths are relative to, is the current one).

    Raises :class:`ManifestError` for a file that cannot be read at all (missing, UTF-16, empty, a CSV header
    without a required column, see :data:`REQUIRED_COLUMNS`); every other problem is a row's ``error``.
    """
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ManifestError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from exc
    if data.startswith(_UTF16_BOMS):
        raise ManifestError(f"{path}: the manifest is UTF-16; save it as UTF-8 (CSV UTF-8 in a spreadsheet)")
    data = data.removeprefix(_UTF8_BOM)
    lines, bad = _decode_lines(data)
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first:
        raise ManifestError(f"{path}: the manifest is empty; give a header line and one line per account")
    if first.startswith("{"):
        return _read_jsonl(path, lines, bad)
    return _read_csv(path, lines, bad)


def _read_csv(path: Path, lines: list[str], bad: set[int]) -> Manifest:
    reader = csv.reader(lines)
    header: list[str] | None = None
    for cells in reader:
        if any(cell.strip() for cell in cells):
            header = cells
            break
    header_line = reader.line_num
    if header is None:  # pragma: no cover - read_manifest refuses a blank file first
        raise ManifestError(f"{path}: the manifest is empty")
    if header_line in bad:
        raise ManifestError(f"{path}:{header_line}: the header is {NOT_UTF8}")
    columns = [cell.strip().casefold() for cell in header]
    for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS):
        if columns.count(name) > 1:
            raise ManifestError(f"{path}:{header_line}: the column {name!r} appears twice in the header")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        # A spreadsheet set for a European locale separates cells with semicolons (or tabs).
        separated = next((f" (its cells separated by {name}? save it as CSV separated by commas)"
                          for mark, name in ((";", "semicolons"), ("\t", "tabs"))
                          if len(columns) == 1 and mark in header[0]), "")
        raise ManifestError(
            f"{path}:{header_line}: no {', '.join(repr(m) for m in missing)} column; the header has "
            f"{', '.join(repr(c) for c in columns)}{separated}; a manifest needs {', '.join(REQUIRED_COLUMNS)} "
            f"(and may have {', '.join(OPTIONAL_COLUMNS)})"
        )
    _warn_without_images(path, columns)
    rows: list[AccountRow] = []
    previous = header_line
    while True:
        start = previous + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            previous = reader.line_num
            rows.append(AccountRow(start, "", "", error=f"{path}:{start}: not a CSV record ({exc})"))
            continue
        end = previous = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path}:{start}" if end == start else f"{path}:{start}-{end}"
        values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(columns)}
        error = None
        short = [name for i, name in enumerate(columns) if name in REQUIRED_COLUMNS and i >= len(cells)]
        if any(number in bad for number in range(start, end + 1)):
            error = f"{where}: {NOT_UTF8}"
        elif len(cells) > len(columns):
            error = (f"{where}: {len(cells)} cells, the header has {len(columns)} (a comma in a name that is not "
                     "quoted?)")
        elif short:
            error = f"{where}: {len(cells)} cells, the header has {len(columns)}: no {', '.join(short)}"
        elif end > start and any(c in values.get("display_name", "") for c in "\r\n"):
            # No platform's display name holds a line break: a quote left open has swallowed the
            # rows after it into this one.
            error = f"{where}: the display name runs over {end - start + 1} lines (a quote left open?)"
        rows.append(_row(path, start, where, values, error))
    return Manifest(path, "csv", tuple(columns), tuple(_mark_repeats(path, rows)))


def _read_jsonl(path: Path, lines: list[str], bad: set[int]) -> Manifest:
    rows: list[AccountRow] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        if number in bad:
            rows.append(_row(path, number, where, _loose_fields(line), f"{where}: {NOT_UTF8}"))
            continue
        try:
            loaded = json.loads(line)
        except ValueError as exc:
            rows.append(AccountRow(number, "", "", error=f"{where}: not a JSON object ({exc})"))
            continue
        if not isinstance(loaded, dict):
            rows.append(AccountRow(number, "", "", error=f"{where}: not a JSON object but {type(loaded).__name__}"))
            continue
        values = {str(k).strip().casefold(): v for k, v in loaded.items()}
        columns.update(dict.fromkeys(values))
        missing = [name for name in REQUIRED_COLUMNS if name not in values]
        error = f"{where}: no {', '.join(repr(m) for m in missing)}" if missing else None
        rows.append(_row(path, number, where, values, error))
    _warn_without_images(path, list(columns))
    return Manifest(path, "jsonl", tuple(columns), tuple(_mark_repeats(path, rows)))


def _loose_fields(line: str) -> dict[str, Any]:
    """What can be read of a JSON line that is not UTF-8 (to name the account in its error row)."""
    try:
        loaded = json.loads(line)
    except ValueError:
        return {}
    return {str(k).casefold(): v for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _warn_without_images(path: Path, columns: Sequence[str]) -> None:
    if "avatar" not in columns and "thumbnails" not in columns:
        logger.warning("%s: no avatar or thumbnails column; accounts are decided on their names alone", path)


def _text(value: Any) -> str:
    """A manifest's value as text, as given: a path with a lone surrogate in it is a file name
    that is not UTF-8 (``"\\udce9"``, as Python writes one), which opens as it is."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _words(value: Any) -> str:
    """A manifest's words (a display name, a handle, a bio) as text. A lone surrogate, which JSON
    admits (``"\\ud83d"``: a scraper that cut a name in the middle of an emoji) and no text can be
    encoded with (the name check's Chinese conversion among them), is read as U+FFFD, the
    replacement character."""
    return str(LONE_SURROGATE.sub("\ufffd", _text(value)))


def _row(path: Path, line: int, where: str, values: Mapping[str, Any], error: str | None) -> AccountRow:
    platform, account_id = _text(values.get("platform")).strip(), _text(values.get("account_id")).strip()
    if error is None:
        empty = [name for name, value in (("platform", platform), ("account_id", account_id)) if not value]
        if empty:
            error = f"{where}: no {' and no '.join(empty)}: the account cannot be identified"
    images: list[ImageRef] = []
    if error is None:
        avatar = _text(values.get("avatar")).strip()
        if avatar:
            images.append(_image(path, AVATAR, avatar))
        thumbnails = values.get("thumbnails")
        given = thumbnails if isinstance(thumbnails, list) else _text(thumbnails).split(DEFAULT_THUMBNAIL_SEPARATOR)
        images.extend(_image(path, THUMBNAIL, _text(item).strip()) for item in given if _text(item).strip())
    return AccountRow(
        line=line,
        platform=platform,
        account_id=account_id,
        handle=_words(values.get("handle")).strip(),
        display_name=_words(values.get("display_name")),
        bio=_words(values.get("bio")),
        images=tuple(images),
        error=error,
    )


def _image(manifest: Path, role: str, given: str) -> ImageRef:
    if _URL_RE.match(given):
        return ImageRef(role, given, None, f"{given}: {URL_NOT_PATH}")
    return ImageRef(role, given, str(manifest.parent / given))


def _mark_repeats(path: Path, rows: Iterable[AccountRow]) -> Iterator[AccountRow]:
    """The rows, with each repeat of an account already listed turned into an error naming the first line."""
    first: dict[tuple[str, str], AccountRow] = {}
    for row in rows:
        if row.error is not None or not row.platform:
            yield row
            continue
        earlier = first.setdefault(row.key, row)
        if earlier is row:
            yield row
            continue
        yield AccountRow(
            row.line, row.platform, row.account_id, row.handle, row.display_name, row.bio, (),
            f"{path}:{row.line}: the same account ({row.platform} {row.account_id}) as line {earlier.line}, "
            f"which decides it; remove the repeat",
        )


@dataclass(frozen=True)
class AccountImage:
    """One image of an account, as the manifest gave it, with the scan's result for it."""

    role: str
    given: str
    result: Result

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "given": self.given, "result": self.result.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccountImage:
        return cls(role=str(data["role"]), given=str(data["given"]), result=Result.from_dict(data["result"]))


def claim_to_dict(claim: NameClaim) -> dict[str, Any]:
    """A name claim as it is written into a verdict."""
    return {
        "entity": claim.entity,
        "alias": claim.alias,
        "normalised": claim.normalised,
        "span": list(claim.span),
        "tricks": list(claim.tricks),
    }


def claim_from_dict(data: Mapping[str, Any]) -> NameClaim:
    start, end = data["span"]
    return NameClaim(
        entity=str(data["entity"]),
        alias=str(data["alias"]),
        normalised=str(data["normalised"]),
        span=(int(start), int(end)),
        tricks=tuple(str(t) for t in data.get("tricks", ())),
    )


@dataclass(frozen=True)
class AccountVerdict:
    """The decision on one account, with the evidence of each signal. :meth:`to_dict` is one line of
    ``logowatch accounts -f jsonl``; :meth:`from_dict` reads it back."""

    platform: str
    account_id: str
    #: ``official``, ``impersonation`` or ``clear``; None for a row that could not be read (see ``error``).
    verdict: str | None
    #: The body the account is (official) or pretends to be (impersonation); None when clear.
    entity: str | None
    #: That body's display name.
    entity_name: str | None
    #: The decision in plain words.
    reason: str
    handle: str = ""
    display_name: str = ""
    #: The body's name that the display name claims, however it was written; None when it claims none.
    name: NameClaim | None = None
    #: The avatar, then the thumbnails, each with its scan result.
    images: tuple[AccountImage, ...] = ()
    #: Every body the evidence points at, ``entity`` first.
    entities: tuple[str, ...] = ()
    #: Where the account's record starts in the manifest.
    line: int = 0
    #: Why the row could not be decided (naming the manifest and the line), or None.
    error: str | None = None
    threshold: float = 0.0
    #: Which library and account rules decided it (see :attr:`AccountChecker.rules`).
    library: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The account's identity, or the line's when the row has no platform or id."""
        return row_key(self.platform, self.account_id, self.line)

    @property
    def unreadable_images(self) -> int:
        return sum(1 for image in self.images if not image.result.ok)

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "verdict": self.verdict,
            "entity": self.entity,
            "entity_name": self.entity_name,
            "reason": self.reason,
            "handle": self.handle,
            "display_name": self.display_name,
            "name": None if self.name is None else claim_to_dict(self.name),
            "images": [image.to_dict() for image in self.images],
            "entities": list(self.entities),
            "line": self.line,
            "error": self.error,
            "threshold": self.threshold,
            "library": self.library,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccountVerdict:
        """A verdict read back from :meth:`to_dict`'s object. Raises ``KeyError``, ``TypeError`` or
        ``ValueError`` when ``data`` is not such an object."""
        verdict = data["verdict"]
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)} or null, not {verdict!r}")
        name = data.get("name")
        return cls(
            platform=str(data["platform"]),
            account_id=str(data["account_id"]),
            verdict=None if verdict is None else str(verdict),
            entity=None if data.get("entity") is None else str(data["entity"]),
            entity_name=None if data.get("entity_name") is None else str(data["entity_name"]),
            reason=str(data["reason"]),
            handle=str(data.get("handle") or ""),
            display_name=str(data.get("display_name") or ""),
            name=None if not name else claim_from_dict(name),
            images=tuple(AccountImage.from_dict(image) for image in data.get("images") or ()),
            entities=tuple(str(e) for e in data.get("entities") or ()),
            line=int(data["line"]),
            error=None if data.get("error") is None else str(data["error"]),
            threshold=float(data["threshold"]),
            library=None if data.get("library") is None else str(data["library"]),
        )


class AccountChecker:
    """Decides accounts with a :class:`~logowatch.Detector`: its library's names and official accounts, its
    emblems and threshold. Build once; :meth:`check` takes any number of rows."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        entities = detector.index.entities
        try:
            self.names = NameMatcher({entity.id: entity.names or (entity.name,) for entity in entities})
        except ValueError as exc:
            raise ReferenceLibraryError(f"{detector.root}: {exc} (in that entity's entity.json)") from exc
        self.entity_names = {entity.id: entity.name for entity in entities}
        self.official: dict[tuple[str, str], str] = {}
        for entity in entities:
            for account in entity.official_accounts:
                key = account_key(account.platform, account.id)
                if self.official.setdefault(key, entity.id) != entity.id:
                    logger.warning("official account %s %s is listed by %s and %s; it counts as %s's", *key,
                                   self.official[key], entity.id, self.official[key])
        rules = [
            detector.library,
            *(f"{e.id}\t{e.names}\t{sorted(self._officials_of(e.id))}" for e in entities),
            *(f"{entity}\t{own}" for entity, own in sorted(detector.entity_thresholds.items())),
        ]
        #: Identifies the library and the rules (names, official accounts, the entities' own
        #: thresholds) verdicts were decided by.
        self.rules = hashlib.sha256("\n".join(rules).encode("utf-8")).hexdigest()[:RULES_DIGEST_CHARS]

    def _officials_of(self, entity: str) -> list[tuple[str, str]]:
        return [key for key, owner in self.official.items() if owner == entity]

    def check(
        self,
        rows: Iterable[AccountRow],
        jobs: int | None = None,
        scan: Callable[[Iterable[str | Path]], Iterator[Result]] | None = None,
    ) -> Iterator[AccountVerdict]:
        """The verdicts on ``rows``, in their order. Every image of every row goes through one
        :meth:`Detector.scan` (on ``jobs`` processes, default the Detector's), so a pool starts
        once; or through ``scan`` (a Dask cluster's, say), which must keep the order of its paths."""
        rows = list(rows)
        paths = (ref.path for row in rows if row.error is None for ref in row.images if ref.path is not None)
        results = scan(paths) if scan is not None else self.detector.scan(paths, jobs=jobs)
        try:
            for row in rows:
                found: list[AccountImage] = []
                if row.error is None:
                    for ref in row.images:
                        result = (
                            next(results) if ref.path is not None
                            else self.detector.failed(ref.given, ref.error or URL_NOT_PATH)
                        )
                        found.append(AccountImage(ref.role, ref.given, result))
                yield self.decide(row, found)
        finally:
            if isinstance(results, Generator):  # stop the pool's queued chunks when the caller stops early
                results.close()

    def decide(self, row: AccountRow, images: Sequence[AccountImage] = ()) -> AccountVerdict:
        """The verdict on one row, given the results of its images (in the row's order)."""
        common: dict[str, Any] = {
            "platform": row.platform, "account_id": row.account_id, "handle": row.handle,
            "display_name": row.display_name, "line": row.line, "threshold": self.detector.threshold,
            "library": self.rules,
        }
        if row.error is not None:
            return AccountVerdict(verdict=None, entity=None, entity_name=None, reason=f"not decided: {row.error}",
                                  error=row.error, **common)
        claim = self.names.claim(row.display_name) if row.display_name.strip() else None
        matched = sorted(
            (image for image in images if image.result.ok and image.result.match and image.result.reference),
            key=lambda image: (image.role != AVATAR, -(image.result.score or 0.0)),
        )
        owner = self.official.get(row.key)
        unread = "; ".join(_unreadable(image) for image in images if not image.result.ok)
        if owner is not None:
            reason = f"official: {row.platform} account {row.account_id} is listed among the official accounts of "
            reason += self._named(owner)
            return AccountVerdict(verdict=OFFICIAL, entity=owner, entity_name=self.entity_names[owner],
                                  reason=reason, name=claim, images=tuple(images), entities=(owner,), **common)
        bodies = list(dict.fromkeys([*([claim.entity] if claim else []),
                                     *(str(image.result.reference) for image in matched)]))
        if not bodies:
            reason = "clear: the display name claims no body's name, and "
            reason += "no image carries an emblem" if images else "there is no image"
            cleared = [image for image in images if image.result.allowed]
            if cleared:
                reason += "; " + "; ".join(
                    f"the {image.role} would carry the emblem of {self._named(str(image.result.reference))}, but a "
                    f"reviewer cleared that picture ({image.result.allowed_by})" for image in cleared
                )
            if unread:
                reason += f"; {unread}"
            return AccountVerdict(verdict=CLEAR, entity=None, entity_name=None, reason=reason, name=claim,
                                  images=tuple(images), **common)
        entity = bodies[0]
        parts = []
        if claim is not None:
            how = f" (tricks: {', '.join(claim.tricks)})" if claim.tricks else ""
            parts.append(f"the display name claims its name \u201c{claim.alias}\u201d{how}")
        roles = Counter(image.role for image in images)  # of all: one carrying, another unreadable
        for image in matched:
            reference = str(image.result.reference)
            whose = "its emblem" if reference == entity else f"the emblem of {self._named(reference)}"
            which = f"the {image.role}" + (f" \u201c{image.given}\u201d" if roles[image.role] > 1 else "")  # which one
            parts.append(f"{which} carries {whose} (score {image.result.score:.3f})")
        if unread:
            parts.append(unread)
        reason = f"impersonation of {self._named(entity)}: " + "; ".join(parts)
        return AccountVerdict(verdict=IMPERSONATION, entity=entity, entity_name=self.entity_names.get(entity),
                              reason=reason, name=claim, images=tuple(images), entities=tuple(bodies), **common)

    def _named(self, entity: str) -> str:
        name = self.entity_names.get(entity, entity)
        return name if name == entity else f"{name} ({entity})"


def _unreadable(image: AccountImage) -> str:
    return f"the {image.role} could not be read: {image.result.error}"


def read_verdicts(output: Path) -> Written[AccountVerdict]:
    """The verdicts already written to the JSON-lines file ``output`` (see :func:`read_written`)."""
    return read_written(output, AccountVerdict.from_dict, "platform", "an account verdict")


def check_resumable(output: Path, resumed: Written[AccountVerdict], checker: AccountChecker) -> None:
    """Refuse to append to verdicts decided by another library, other account rules or another threshold."""
    for verdict in resumed.rows:
        refuse_other_rules(output, _account(verdict), (verdict.library, checker.rules),
                           (verdict.threshold, checker.detector.threshold_for(None)))


def still_to_decide(rows: Sequence[AccountRow], written: Iterable[AccountVerdict]) -> tuple[AccountRow, ...]:
    """The ``rows`` of a manifest that the verdicts ``written`` do not decide yet: of each
    account's listings, as many of the first as it has verdicts are done. A repeat of an account
    listed already has a verdict of its own (an error naming the first listing), so it is left to
    decide until that is written; an account's listings are counted, not their lines, so that
    rows added or removed above it since do not decide it twice."""
    done = Counter(verdict.key for verdict in written)
    left = []
    for row in rows:
        if done[row.key]:
            done[row.key] -= 1
        else:
            left.append(row)
    return tuple(left)


def _account(verdict: AccountVerdict) -> str:
    return f"the account of manifest line {verdict.line} ({verdict.platform} {verdict.account_id})"

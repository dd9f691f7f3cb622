"""The reference library: entities, their emblem variants, and the cached index built from them.

A library is a folder. Each sub-folder is one entity (its id is the folder name) holding one or
more variants of the emblem and an optional ``entity.json`` (``{"name": ...}``). An image placed
directly in the root is an entity of its own, with the file stem as its id.

Preparing a variant (finding the emblem, describing it) is the slow part, so its result is cached on
disk under the SHA-256 of the file's bytes and the preparation version: a second scan starts fast,
an edited or added emblem is picked up by itself, and a damaged cache file is simply rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from logowatch import __version__, features, hashing, process, regions, text, verification
from logowatch.errors import ImageLoadError, OutputError, ReferenceLibraryError, WorkerError
from logowatch.features import FeatureIndex
from logowatch.files import SYSTEM_FOLDERS, file_digest, walked, write_atomically
from logowatch.loading import ALPHA_VISIBLE, composite_on_contrast, contrast_background, load_image
from logowatch.regions import RegionIndex, Regions

logger = logging.getLogger(__name__)

#: Bump when preparation changes, so that old cache entries are ignored rather than misread.
PREPARATION_VERSION = 15
#: Longer side, in pixels, of the emblem when its keypoints are found.
DEFAULT_EMBLEM_SIDE = 400
#: Longer side of the copy kept for render-and-compare and evidence pictures.
DEFAULT_PREVIEW_SIDE = 160
#: A reference image whose longer side is under this many pixels is named in a warning: a favicon
#: has too little detail to tell its emblem from ordinary images (a new user's 16 px emblem matched
#: 2 of 200 ordinary avatars; the benchmarks' emblems are 100 px and more).
MIN_EMBLEM_DETAIL = 48
SMALL_EMBLEM_BYTES = 64 * 1024
#: Longer side that a reference image is decoded at (a larger one is reduced to it as it is read):
#: about five times :data:`DEFAULT_EMBLEM_SIDE`, room to cut a small emblem out of a wide margin.
MAX_REFERENCE_SIDE = 2048
#: Emblem images that the cache must lack before they are prepared on several processes: fewer are
#: prepared sooner than the processes start.
FEWEST_TO_PREPARE_IN_PARALLEL = 8
#: Blank border around the emblem, as a share of its longer side.
EMBLEM_MARGIN = 0.08
#: Descriptors that the index of one library may hold; larger libraries keep fewer per emblem.
MAX_INDEX_DESCRIPTORS = 1_000_000
#: Keypoints per reference view that even the largest library keeps.
MIN_FEATURES_PER_VIEW = 100
#: How far the support mask reaches past the emblem, as a share of the preview's longer side.
SUPPORT_GROWTH = 0.03
#: File endings taken as images when walking a library (the content decides in the end).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".jfif"}
)
#: How the files of those formats begin, as (offset, bytes) that must all be there: a file with
#: another ending, or none (an emblem saved from a browser as ``emblem``), is taken when it
#: begins as one of them. (A BMP's four reserved bytes are zero; a WebP is ``RIFF``, a size,
#: then ``WEBP``.)
IMAGE_SIGNATURES: tuple[tuple[tuple[int, bytes], ...], ...] = (
    ((0, b"\x89PNG\r\n\x1a\n"),),
    ((0, b"\xff\xd8\xff"),),
    ((0, b"GIF87a"),),
    ((0, b"GIF89a"),),
    ((0, b"BM"), (6, b"\x00\x00\x00\x00")),
    ((0, b"II*\x00"),),
    ((0, b"MM\x00*"),),
    ((0, b"RIFF"), (8, b"WEBP")),
)
#: The file of an entity's folder that says who it is (see :func:`_entity`), and what it may say.
ENTITY_FILE = "entity.json"
ENTITY_KEYS = ("name", "names", "official_accounts", "hotlines")
#: Vector formats, which are not read: the library says to export them as PNG.
VECTOR_SUFFIXES = frozenset({".svg", ".svgz", ".eps", ".pdf", ".ai"})
#: What a vector emblem is told.
VECTOR_HINT = "vector images are not read, export the emblem as PNG"


#: The library a command uses when none is given and ``$LOGOWATCH_REFERENCES`` is unset.
DEFAULT_REFERENCES = Path("reference_logos")


def default_references() -> Path:
    """``$LOGOWATCH_REFERENCES``, else ``./reference_logos`` in the working folder.

    Raises :class:`ReferenceLibraryError` saying how to give a library when neither exists: an
    installed package carries no library of its own, and guessing one would scan against the
    wrong emblems."""
    configured = os.environ.get("LOGOWATCH_REFERENCES")
    if configured:
        return Path(configured)
    if DEFAULT_REFERENCES.is_dir():
        return DEFAULT_REFERENCES
    raise ReferenceLibraryError(
        "no reference library: pass --references DIR (one folder per body, holding its emblem images) "
        "or set LOGOWATCH_REFERENCES; there is no ./reference_logos here"
    )


def default_text_model() -> Path:
    """Where the text check's model file is looked for: ``$LOGOWATCH_TEXT_MODEL``, else
    ``text-model/`` in :func:`default_cache_dir` (where ``logowatch fetch-text-model`` puts it)."""
    configured = os.environ.get("LOGOWATCH_TEXT_MODEL")
    return Path(configured) if configured else default_cache_dir() / "text-model" / text.MODEL_FILE


def default_cache_dir() -> Path:
    """``$LOGOWATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/logowatch``, else ``~/.cache/logowatch``."""
    configured = os.environ.get("LOGOWATCH_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "logowatch"


@dataclass(frozen=True)
class Variant:
    """One image of an entity's emblem, and the SHA-256 of its bytes (its cache key)."""

    entity: str
    path: Path
    #: None when the file could not be read (its preparation reports why).
    digest: str | None = None

    @classmethod
    def of(cls, entity: str, path: Path) -> Variant:
        """The variant at ``path``, its digest read once here. An unreadable file gets no digest
        and is reported when it is prepared."""
        try:
            return cls(entity, path, file_digest(path))
        except OSError:
            return cls(entity, path)


@dataclass(frozen=True)
class OfficialAccount:
    """An account that a body runs itself: it wears the emblem by right."""

    platform: str
    id: str


@dataclass(frozen=True)
class Entity:
    """An organisation whose emblem we look for, and what ``entity.json`` says of it.

    ``names`` are every name the body goes by (the display name first), ``official_accounts``
    the accounts it runs, ``hotlines`` its public telephone numbers."""

    id: str
    name: str
    variants: tuple[Variant, ...]
    names: tuple[str, ...] = ()
    official_accounts: tuple[OfficialAccount, ...] = ()
    hotlines: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreparedVariant:
    """What matching needs from one variant: the emblem, its keypoints drawn and mirrored, hashes.

    Keypoint coordinates are in the ``emblem``'s pixels; ``preview`` is the same picture smaller,
    ``preview_scale`` = preview pixels per emblem pixel, and ``support`` (preview-sized) marks the
    pixels that belong to the emblem: only those are compared, so the background around a star or a
    seal in a busy thumbnail does not count against it.
    """

    variant: Variant
    emblem_size: tuple[int, int]
    preview: np.ndarray
    preview_scale: float
    support: np.ndarray
    keypoints: tuple[features.Keypoints, features.Keypoints]
    hashes: np.ndarray
    #: The emblem's flat regions, drawn and mirrored, in its pixels (see ``regions``); empty once
    #: an index holds them.
    regions: tuple[Regions, Regions] = (Regions.empty(), Regions.empty())


def discover(root: Path) -> list[Entity]:
    """The entities of the library at ``root``, in a stable order. Raises on a missing or empty one."""
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "does not exist"
        given = (
            "$LOGOWATCH_REFERENCES names it"
            if os.environ.get("LOGOWATCH_REFERENCES") and Path(os.environ["LOGOWATCH_REFERENCES"]) == root
            else "give the folder of one (--references DIR on the command line, Detector(DIR) in Python)"
        )
        raise ReferenceLibraryError(f"{root}: the reference library {problem}; {given}")
    entities = []
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if _passed_over(child.name):
            continue  # hidden, or a system's own (a NAS's thumbnails, a Mac's resource forks)
        if _dangling(child):
            continue
        try:
            found = _entity_at(child)
        except OSError as exc:
            logger.warning("%s: cannot be read (%s); skipped", child, exc.strerror or exc)
            continue
        if found is not None:
            entities.append(found)
    if not any(entity.variants for entity in entities):
        raise ReferenceLibraryError(
            f"{root}: no emblems found; add one folder per entity with its emblem images"
        )
    return entities


def _entity_at(child: Path) -> Entity | None:
    """The entity of one entry of a library's folder: a folder of emblem images, or a loose
    image; None for anything else (with a warning where it looks meant as one)."""
    if child.is_dir():
        listed = [p for p in child.iterdir() if not p.name.startswith(".") and not _dangling(p)]
        visible = [p for p in listed if p.is_file()]
        files = sorted(p for p in visible if is_image_file(p))
        if not files and (child / ENTITY_FILE).is_file():
            # Its names and official accounts still serve the account verdicts.
            logger.warning("%s: %s; its %s is read, for the account verdicts alone", child, _nothing_inside(child),
                           ENTITY_FILE)
            return _entity(child, ())
        if not files:
            vector = [p.name for p in visible if p.suffix.lower() in VECTOR_SUFFIXES]
            reason = f"only {', '.join(sorted(vector))}: {VECTOR_HINT}" if vector else _nothing_inside(child)
            logger.warning("%s: %s; skipped", child, reason)
            return None
        if any(p.is_dir() and not _passed_over(p.name) for p in listed):
            deeper = _deeper_image(child)
            if deeper is not None:
                logger.warning("%s: images in its sub-folders, such as %s, are not read: move them up into %s/ to "
                               "use them as more of its emblem images", child, deeper, child.name)
        return _entity(child, tuple(Variant.of(child.name, f) for f in files))
    if child.is_file() and child.suffix.lower() in VECTOR_SUFFIXES:
        logger.warning("%s: %s; skipped", child, VECTOR_HINT)
    elif child.is_file() and is_image_file(child):
        # A loose file's id is its stem, or its whole name where its ending is not an image's:
        # gov.uk-logo is gov.uk-logo, not gov.
        entity = child.stem if child.suffix.lower() in IMAGE_SUFFIXES else child.name
        return Entity(entity, entity, (Variant.of(entity, child),), names=(entity,))
    return None


def _nothing_inside(folder: Path) -> str:
    """Why an entity's folder holds no emblem image: none at all, or none but in its sub-folders
    (an entity's images lie in its own folder; deeper ones are not read)."""
    deeper = _deeper_image(folder)
    if deeper is None:
        return "no emblem image inside"
    return (
        f"no emblem image directly inside (images in its sub-folders, such as {deeper}, are not read: "
        f"move them up into {folder.name}/, or make each sub-folder an entity of its own at the "
        "library's top level)"
    )


def _deeper_image(folder: Path) -> Path | None:
    """The first emblem image in a sub-folder of an entity's folder (relative to it), past the
    hidden and system folders that ``files.walked`` passes over; None where there is none."""
    return next((p.relative_to(folder) for p in walked(folder) if p.parent != folder and is_image_file(p)), None)


def _dangling(path: Path) -> bool:
    """Whether ``path`` is a symbolic link to nothing, named in a warning: its emblem is missing."""
    if not path.is_symlink() or path.exists():
        return False
    logger.warning("%s: a link to %s, which does not exist; skipped", path, os.readlink(path))
    return True


def _passed_over(name: str) -> bool:
    """Whether a file or folder of a library is no one's to name as a place for emblem images:
    hidden, or a system's own (``files.SYSTEM_FOLDERS``: ``__MACOSX``, ``@eaDir``, ...). An
    entity may be named like a handle (``@valport_police``)."""
    return name.startswith(".") or name in SYSTEM_FOLDERS


def is_image_file(path: Path) -> bool:
    """Whether a library file is an emblem image: by its ending (:data:`IMAGE_SUFFIXES`), or,
    where it has another ending or none, by how it begins (:data:`IMAGE_SIGNATURES`). A file
    that cannot be read is taken by its ending alone."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return True
    if suffix in VECTOR_SUFFIXES or path.name == ENTITY_FILE:
        return False
    try:
        with path.open("rb") as stream:
            head = stream.read(12)
    except OSError:
        return False
    return any(
        all(head[offset : offset + len(part)] == part for offset, part in signature) for signature in IMAGE_SIGNATURES
    )


def _entity(folder: Path, variants: tuple[Variant, ...]) -> Entity:
    """The entity of a library folder, with what its ``entity.json`` says (all of it optional:
    ``name``, ``names``, ``official_accounts`` as ``{"platform", "id"}`` objects, ``hotlines``)."""
    meta = folder / ENTITY_FILE
    data: dict[str, object] = {}
    if meta.is_file():
        try:
            # utf-8-sig: an editor on Windows may begin the file with a byte-order mark.
            loaded = json.loads(meta.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            logger.warning("%s: unreadable (%s); using the folder name", meta, exc)
        else:
            if isinstance(loaded, dict):
                data = loaded
            else:
                logger.warning("%s: not a JSON object; using the folder name", meta)
    unknown = sorted(set(data) - set(ENTITY_KEYS))
    if unknown:
        logger.warning("%s: %s not read (it reads %s)", meta, ", ".join(map(repr, unknown)), ", ".join(ENTITY_KEYS))
    given = data.get("name")
    if given is not None and not isinstance(given, str):
        logger.warning("%s: name %r should be a string; using the folder name", meta, given)
        given = None
    name = given.strip() if given and given.strip() else folder.name
    names = [n.strip() for n in _strings(data, "names", meta) if n.strip()]
    accounts = []
    for item in _listed(data, "official_accounts", meta):
        if isinstance(item, dict) and item.get("platform") and item.get("id"):
            accounts.append(OfficialAccount(str(item["platform"]).strip().lower(), str(item["id"]).strip()))
        else:
            logger.warning("%s: official account %r needs a platform and an id; ignored", meta, item)
    hotlines = tuple(str(h) for h in _listed(data, "hotlines", meta))  # a number is a hotline too
    return Entity(
        folder.name, name, variants, names=tuple(dict.fromkeys(names or [name])),
        official_accounts=tuple(accounts), hotlines=hotlines,
    )


def _strings(data: dict[str, object], key: str, meta: Path) -> list[str]:
    """The strings of the list at ``key``; anything else in it is named in a warning and left out
    (a name written as a list would otherwise be matched as the list's text)."""
    kept = []
    for item in _listed(data, key, meta):
        if isinstance(item, str):
            kept.append(item)
        else:
            logger.warning("%s: %s entry %r should be a string; ignored", meta, key, item)
    return kept


def _listed(data: dict[str, object], key: str, meta: Path) -> list[object]:
    value = data.get(key, [])
    if isinstance(value, list):
        return value
    logger.warning("%s: %s should be a list; ignored", meta, key)
    return []


def emblem_of(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The emblem cut to its extent (opaque pixels, or what lies inside a uniform frame),
    flattened onto a contrasting background and given a small blank border; and its support,
    a mask of the pixels that belong to the emblem (255) rather than to that border."""
    if alpha is not None:
        opaque = alpha >= ALPHA_VISIBLE
        rows = np.flatnonzero(opaque.any(axis=1))
        columns = np.flatnonzero(opaque.any(axis=0))
        flat = composite_on_contrast(rgb, alpha)
        support: np.ndarray = opaque.astype(np.uint8) * 255
        if rows.size and columns.size:
            flat = flat[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
            support = support[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    else:
        x0, y0, x1, y1 = hashing.content_box(rgb)
        flat = rgb[y0:y1, x0:x1]
        support = np.full(flat.shape[:2], 255, np.uint8)
    pad = max(1, round(EMBLEM_MARGIN * max(flat.shape[:2])))
    if alpha is not None:
        # Pad with the background the emblem was flattened onto, not with smeared edge pixels.
        background = contrast_background(rgb, alpha)
        flat = cv2.copyMakeBorder(flat, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(background,) * 3)
    else:
        flat = cv2.copyMakeBorder(flat, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    support = cv2.copyMakeBorder(support, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    return flat, support


def _content(emblem: np.ndarray, support: np.ndarray) -> np.ndarray:
    """The emblem cut to the extent of its support: what a query's content box holds."""
    inside = support >= 128
    rows, columns = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0 or columns.size == 0:
        return emblem
    return np.ascontiguousarray(emblem[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1])


def _resized(image: np.ndarray, side: int, interpolation: int) -> np.ndarray:
    """``image`` with its longer side at ``side`` pixels."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=interpolation)


def working_emblem(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A reference image's emblem and support at the size its keypoints are found at.

    Keypoint coordinates of a prepared variant, and the correspondences of a match, are in the
    pixels of this picture (of its mirror image for a mirrored match).
    """
    try:
        image = load_image(path, max_side=MAX_REFERENCE_SIDE)
    except ImageLoadError as exc:
        raise ReferenceLibraryError(f"reference {exc}") from exc
    emblem, support = emblem_of(image.rgb, image.alpha)
    enlarging = max(emblem.shape[:2]) < DEFAULT_EMBLEM_SIDE
    return (
        _resized(emblem, DEFAULT_EMBLEM_SIDE, cv2.INTER_CUBIC if enlarging else cv2.INTER_AREA),
        _resized(support, DEFAULT_EMBLEM_SIDE, cv2.INTER_AREA),
    )


def _warn_if_unfit(variant: Variant, prepared: PreparedVariant) -> None:
    """Name a reference image that can hardly be matched well: a blank or flat one, which gives
    no keypoints, and one of too little detail (see :data:`MIN_EMBLEM_DETAIL`)."""
    if not len(prepared.keypoints[0]):
        logger.warning("%s: no keypoints in it (blank or flat?): images are matched to it by its outline alone, "
                       "if at all", variant.path)
        return
    try:
        # Only a small file can hold so few pixels (47 x 47 x 4 bytes is 9 KB before compression):
        # the 3,726 logos of the scale benchmark are not opened again each time the index loads.
        if variant.path.stat().st_size > SMALL_EMBLEM_BYTES:
            return
        with Image.open(variant.path) as image:
            width, height = image.size
    except (OSError, ValueError):
        return  # read whole by its preparation all the same: nothing to say of its size
    if max(width, height) < MIN_EMBLEM_DETAIL:
        logger.warning("%s: only %dx%d pixels: too little detail to tell the emblem from ordinary images, which "
                       "may be taken for it; use a larger image of it", variant.path, width, height)


def prepare(variant: Variant) -> PreparedVariant:
    """Describe one variant from its image file (the slow path that the cache spares)."""
    emblem, support_full = working_emblem(variant.path)
    size = (emblem.shape[1], emblem.shape[0])
    mirrored = np.ascontiguousarray(emblem[:, ::-1])
    drawn_points = _as_cached(describe(emblem))
    mirrored_points = _as_cached(describe(mirrored))
    preview_scale = min(1.0, DEFAULT_PREVIEW_SIDE / max(size))
    preview_size = (max(1, round(size[0] * preview_scale)), max(1, round(size[1] * preview_scale)))
    preview = cv2.resize(emblem, preview_size, interpolation=cv2.INTER_AREA)
    # The support grows by a few pixels so that the emblem's own outline is compared too.
    grow = max(1, round(SUPPORT_GROWTH * max(preview_size)))
    support = cv2.resize(support_full, preview_size, interpolation=cv2.INTER_AREA)
    support = cv2.dilate((support >= 128).astype(np.uint8) * 255, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    # Hashed as a query is: the content alone, without the blank border (see hashing.content_box).
    content = _content(emblem, support_full)
    hashes = np.stack([hashing.hash_bits(hashing.phash(content)), hashing.hash_bits(hashing.phash(content[:, ::-1]))])
    # Found in the preview, which is the emblem as small as the images it is looked for in, within
    # its silhouette: its own pixels and the holes they enclose (what shows through a ring's hole
    # has the hole's shape), not the support grown, which takes in a band of the border.
    inked = regions.silhouette(cv2.resize(support_full, preview_size, interpolation=cv2.INTER_AREA) >= 128)
    flat = tuple(
        regions.of_emblem(np.ascontiguousarray(picture), np.ascontiguousarray(mask)).scaled(1.0 / preview_scale)
        for picture, mask in ((preview, inked), (preview[:, ::-1], inked[:, ::-1]))
    )
    return PreparedVariant(
        variant=variant,
        emblem_size=size,
        preview=preview,
        preview_scale=preview_scale,
        support=support,
        keypoints=(drawn_points, mirrored_points),
        hashes=hashes,
        regions=(flat[0], flat[1]),
    )


#: Small renderings of each emblem also described: (longer side it is shrunk to, side it is then
#: enlarged back to, keypoints kept). They reach the detector the way a low-resolution avatar or a
#: small emblem in a thumbnail does, blurred, and give the coarse keypoints that such images share
#: with the emblem, which the finest keypoints of the crisp drawing crowd out.
SMALL_RENDERINGS = ((96, 192, 150), (40, 256, 100))
#: How each oblique view (``features.OBLIQUE_VIEWS``) is rendered: shrunk to this longer side and
#: enlarged back to the next, as a small rendering is, keeping this many keypoints. A sign seen at
#: an angle in an avatar is small and soft.
OBLIQUE_RENDERING = (128, 256, 200)
#: Keypoints per reference view: the drawing's own and those of its small renderings.
FEATURES_PER_VIEW = features.DEFAULT_REFERENCE_FEATURES + sum(count for _, _, count in SMALL_RENDERINGS)
#: Keypoints of the oblique views per reference view, and the most that the oblique index of one
#: library holds: a library of a few hundred emblems keeps fewer per view; one that would keep
#: fewer than the least (25 per oblique view, too few to place an emblem by) keeps none, and its
#: scans skip the oblique views.
OBLIQUE_FEATURES_PER_VIEW = OBLIQUE_RENDERING[2] * len(features.OBLIQUE_VIEWS)
MAX_OBLIQUE_DESCRIPTORS = MAX_INDEX_DESCRIPTORS // 4
MIN_OBLIQUE_FEATURES_PER_VIEW = 25 * len(features.OBLIQUE_VIEWS)


def describe(emblem: np.ndarray) -> features.Keypoints:
    """Keypoints of the emblem as drawn, of its :data:`SMALL_RENDERINGS` and of its oblique views
    (``features.OBLIQUE_VIEWS``, rendered as :data:`OBLIQUE_RENDERING` says), all in the emblem's
    pixels, interleaved by rank so that the first of either kind, upright or oblique (what a
    large library keeps, see :func:`_kept`), hold a share of every rendering of that kind,
    strongest first. Each keypoint's ``renderings`` entry says which view it was found in."""
    parts = [features.detect_then_describe(emblem, features.DEFAULT_REFERENCE_FEATURES)]
    renderings = [0]
    for rendering in SMALL_RENDERINGS:
        parts.append(_small_rendering(emblem, *rendering))
        renderings.append(0)
    for number, linear in enumerate(features.OBLIQUE_VIEWS, start=1):
        oblique, to_oblique = _foreshortened(emblem, linear)
        found = _small_rendering(oblique, *OBLIQUE_RENDERING)
        back = cv2.invertAffineTransform(to_oblique)
        in_emblem = (found.points @ back[:, :2].T + back[:, 2]).astype(np.float32)
        parts.append(features.Keypoints(in_emblem, found.descriptors))
        renderings.append(number)
    ranks = np.concatenate([(np.arange(len(p)) + 0.5) / max(1, len(p)) for p in parts])
    order = np.argsort(ranks, kind="stable")
    return features.Keypoints(
        np.concatenate([p.points for p in parts])[order].astype(np.float32),
        np.concatenate([p.descriptors for p in parts])[order].astype(np.float32),
        np.concatenate([np.full(len(p), kind, np.int8) for p, kind in zip(parts, renderings, strict=True)])[order],
    )


def _small_rendering(picture: np.ndarray, small_side: int, work_side: int, count: int) -> features.Keypoints:
    """The ``count`` strongest keypoints of ``picture`` shrunk to a longer side of ``small_side``
    and enlarged back to ``work_side``, in ``picture``'s own pixels."""
    work = _resized(_resized(picture, small_side, cv2.INTER_AREA), work_side, cv2.INTER_CUBIC)
    found = features.detect_then_describe(work, count)
    to_picture = np.array([picture.shape[1] / work.shape[1], picture.shape[0] / work.shape[0]], np.float32)
    return features.Keypoints(found.points * to_picture, found.descriptors)


def _foreshortened(emblem: np.ndarray, linear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``emblem`` mapped by the 2x2 ``linear`` (an oblique view), whole, and the 2x3 transform
    from the emblem's pixels into the result's. The blank border is carried on.

    The view is drawn stretched across the direction it shrinks along, which is the same shape
    larger: a warp interpolates and cannot average, so shrinking there would alias, and the
    renderings are shrunk afterwards anyway (by averaging)."""
    linear = linear / float(np.linalg.svd(linear, compute_uv=False).min())
    height, width = emblem.shape[:2]
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64) @ linear.T
    low, high = corners.min(axis=0), corners.max(axis=0)
    transform = np.hstack([linear, -low[:, None]])
    size = (max(1, int(np.ceil(high[0] - low[0]))), max(1, int(np.ceil(high[1] - low[1]))))
    warped = cv2.warpAffine(emblem, transform, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return warped, transform


def _as_cached(points: features.Keypoints) -> features.Keypoints:
    """Keypoints at the precision the cache stores them (float16 descriptors), so that a freshly
    prepared library and one loaded from the cache give exactly the same scores."""
    cached = points.descriptors.astype(np.float16).astype(np.float32)
    return features.Keypoints(points.points, cached, points.renderings)


def _save(prepared: PreparedVariant, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "emblem_size": np.asarray(prepared.emblem_size, np.int64),
        "preview": prepared.preview,
        "preview_scale": np.asarray(prepared.preview_scale, np.float64),
        "hashes": prepared.hashes,
        "support": prepared.support,
    }
    # Upright and oblique keypoints apart, each kind strongest first: a large library, which keeps
    # none of the oblique ones, then never reads them (they are more than half of an entry).
    for side, points in zip(("drawn", "mirrored"), prepared.keypoints, strict=True):
        upright = _renderings(points) == 0
        for kind, rows in (("", upright), ("oblique_", ~upright)):
            arrays[f"{side}_{kind}points"] = points.points[rows]
            arrays[f"{side}_{kind}descriptors"] = points.descriptors[rows].astype(np.float16)
        arrays[f"{side}_oblique_renderings"] = _renderings(points)[~upright]
    for side, found in zip(("drawn", "mirrored"), prepared.regions, strict=True):
        for part in REGION_PARTS:
            arrays[f"{side}_region_{part}"] = getattr(found, part)
    stream = io.BytesIO()
    np.savez_compressed(stream, **arrays)  # type: ignore[arg-type]
    write_atomically(target, stream.getvalue())


#: What a cache entry keeps of each view's regions: ``regions.Regions``'s fields, in order.
REGION_PARTS = tuple(part.name for part in fields(Regions))


def _load(variant: Variant, source: Path, keep: tuple[int, int] | None = None) -> PreparedVariant:
    upright, oblique = (None, None) if keep is None else keep
    with np.load(source, allow_pickle=False) as data:
        keypoints = []
        for side in ("drawn", "mirrored"):
            points = data[f"{side}_points"][:upright]
            parts = [features.Keypoints(points, data[f"{side}_descriptors"][:upright], np.zeros(len(points), np.int8))]
            if oblique != 0:  # a library that keeps none does not read them
                parts.append(
                    features.Keypoints(
                        data[f"{side}_oblique_points"][:oblique],
                        data[f"{side}_oblique_descriptors"][:oblique],
                        data[f"{side}_oblique_renderings"][:oblique].astype(np.int8),
                    )
                )
            keypoints.append(
                features.Keypoints(
                    np.concatenate([p.points for p in parts]).astype(np.float32),
                    np.concatenate([p.descriptors for p in parts]).astype(np.float32),
                    np.concatenate([_renderings(p) for p in parts]),
                )
            )
        width, height = (int(v) for v in data["emblem_size"])
        flat = [Regions(*(data[f"{side}_region_{part}"] for part in REGION_PARTS)) for side in ("drawn", "mirrored")]
        return PreparedVariant(
            variant=variant,
            emblem_size=(width, height),
            preview=data["preview"],
            preview_scale=float(data["preview_scale"]),
            support=data["support"],
            keypoints=(keypoints[0], keypoints[1]),
            hashes=data["hashes"].astype(bool),
            regions=(flat[0], flat[1]),
        )


def prepare_cached(
    variant: Variant, cache_dir: Path | None, keep: tuple[int, int] | None = None
) -> PreparedVariant:
    """:func:`prepare`, through the on-disk cache when ``cache_dir`` is given.

    With ``keep``, only that many (upright, oblique) of the strongest keypoints per view are
    returned (the cache always holds them all, so that the same entry serves libraries of any size).
    """
    target = None if cache_dir is None else cache_path(variant, cache_dir)
    if cache_dir is None or target is None:  # no cache, or a file with no content to key it by
        return _strongest(prepare(variant), keep)
    if target.is_file():
        try:
            return _load(variant, target, keep)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            logger.warning("cache entry %s is damaged (%s); rebuilding it", target, exc)
    prepared = prepare(variant)
    try:
        _save(prepared, target)
    except (OSError, OutputError) as exc:
        _cannot_cache(cache_dir, target, exc)
    return _strongest(prepared, keep)


def _cannot_cache(cache_dir: Path, target: Path, exc: Exception) -> None:
    """Say that ``target`` could not be written into the cache at ``cache_dir``: a warning the
    first time in this process (not one for every emblem the cache lacks), a debug line after."""
    if not process.first_warning(("unwritable cache", cache_dir)):
        logger.debug("cannot write the cache entry %s (%s)", target, exc)
        return
    reason = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
    logger.warning(
        "cannot write the cache in %s (%s); continuing without it: what it lacks is prepared again on every start",
        cache_dir, reason,
    )


def _strongest(prepared: PreparedVariant, keep: tuple[int, int] | None) -> PreparedVariant:
    drawn, mirrored = prepared.keypoints
    return replace(prepared, keypoints=(_kept(drawn, keep), _kept(mirrored, keep)))


def _kept(points: features.Keypoints, keep: tuple[int, int] | None) -> features.Keypoints:
    """The strongest ``keep`` = (upright, oblique) of a view's keypoints (see :func:`describe`), in
    their order; all of them when ``keep`` is None."""
    if keep is None:
        return points
    renderings = _renderings(points)
    upright, oblique = np.flatnonzero(renderings == 0), np.flatnonzero(renderings > 0)
    return points.subset(np.sort(np.concatenate([upright[: keep[0]], oblique[: keep[1]]])))


def _renderings(points: features.Keypoints) -> np.ndarray:
    """Which rendering each keypoint was found in; all upright when not said."""
    return points.renderings if points.renderings is not None else np.zeros(len(points), np.int8)


@dataclass
class ReferenceIndex:
    """Everything a scan needs from a library, prepared once and queried many times.

    Build it with :meth:`build`. It pickles at any time (the nearest-neighbour trees are left
    out and rebuilt on first use), so a process pool or a cluster can ship it to its workers.
    """

    root: Path
    entities: list[Entity]
    variants: list[PreparedVariant]
    entity_of_variant: list[int]
    features: FeatureIndex = field(repr=False)
    #: The oblique views' keypoints (see ``features.OBLIQUE_VIEWS``), in an index of their own.
    oblique: FeatureIndex = field(repr=False)
    hashes: np.ndarray = field(repr=False)
    #: Every view's flat regions (see ``regions``).
    regions: RegionIndex = field(repr=False)
    #: What the rings of round emblems read, by variant number (see ``text``), and the model
    #: file that read them, with which an image's copies are read; empty and None where the text
    #: check was off when the index was built.
    rings: dict[int, text.RingText] = field(default_factory=dict)
    text_model: Path | None = None
    #: Each variant's interior as placed, (variant, mirrored) -> mask: worked out on first use.
    interiors: dict[tuple[int, bool], np.ndarray | None] = field(default_factory=dict, repr=False)
    #: Each round variant's disc unwrapped, (variant, mirrored) -> spectrum: worked out on first use.
    discs: dict[tuple[int, bool], tuple[np.ndarray, float]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        root: str | Path,
        cache_dir: str | Path | None = None,
        *,
        jobs: int = 1,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> ReferenceIndex:
        """Discover and prepare the library at ``root``; through the cache at ``cache_dir`` when
        one is given, preparing what it lacks on ``jobs`` processes first (see :func:`warm_cache`).

        ``progress(stage, done, total)`` is called as emblems are prepared and loaded."""
        root = Path(root)
        cache = None if cache_dir is None else Path(cache_dir)
        started = time.perf_counter()
        entities = discover(root)
        prepared = 0
        if cache is not None:
            prepared = warm_cache(
                entities, cache, jobs, progress=partial(progress, "preparing emblems") if progress else None
            )
        index = build_index(root, entities, cache, progress=partial(progress, "loading emblems") if progress else None)
        logger.debug(
            "%s: %d entities, %d emblem images (%s), %d keypoints upright and %d oblique, in %.1f s", root,
            len(index.entities), len(index.variants),
            "no cache" if cache is None else f"{prepared} prepared into the cache at {cache}",
            index.features.descriptor_count, index.oblique.descriptor_count, time.perf_counter() - started,
        )
        return index

    def __getstate__(self) -> dict[str, object]:
        """Everything but what :meth:`interior` and :meth:`disc` remember, which each process works
        out for itself: an index is shipped to every worker of a pool or a cluster."""
        return {**self.__dict__, "interiors": {}, "discs": {}}

    def interior(self, variant: int, mirrored: bool) -> np.ndarray | None:
        """The interior of a variant's emblem, drawn or mirrored (see ``verification.interior_of``),
        computed once per process: it depends on the emblem alone, not on where it is placed."""
        key = (variant, mirrored)
        if key not in self.interiors:
            support = self.variants[variant].support
            self.interiors[key] = verification.interior_of(
                np.ascontiguousarray(support[:, ::-1]) if mirrored else support
            )
        return self.interiors[key]

    def disc(self, variant: int, mirrored: bool) -> tuple[np.ndarray, float]:
        """The text band of a round variant's emblem, drawn or mirrored, as :func:`text.disc_spectrum`
        unwraps it, computed once per process; its ring is :meth:`ring_of_view`'s."""
        key = (variant, mirrored)
        if key not in self.discs:
            prepared = self.variants[variant]
            preview = np.ascontiguousarray(prepared.preview[:, ::-1]) if mirrored else prepared.preview
            ring = self.ring_of_view(variant, mirrored)
            scale = prepared.preview_scale
            self.discs[key] = text.disc_spectrum(
                preview,
                text.Ring((ring.centre[0] * scale, ring.centre[1] * scale), ring.radius * scale),
                self.rings[variant].band,
            )
        return self.discs[key]

    def ring_of_view(self, variant: int, mirrored: bool) -> text.Ring:
        """Where a round variant's ring lies in its emblem's pixels, drawn or mirrored."""
        ring = self.rings[variant]
        return ring.mirrored_ring(self.variants[variant].emblem_size[0]) if mirrored else ring.ring

    def view(self, view: int) -> tuple[int, bool]:
        """(variant number, mirrored) of a feature-index view."""
        return view // 2, bool(view % 2)

    @property
    def digest(self) -> str:
        """What identifies this index's matching behaviour: the logowatch version and the
        preparation version, the keypoints kept per view, every entity's id with its variants'
        contents, and where the text check is on, its model and what each ring reads, letter by
        letter. Two indexes with the same digest give the same scores (as far as a release's
        version says what its scoring is: code between releases shares one)."""
        parts = [
            f"logowatch {__version__}", f"v{PREPARATION_VERSION}", str(self.features.descriptor_count),
            str(self.oblique.descriptor_count),
        ]
        if self.rings:
            parts.append(f"text {text.READING_VERSION} {text.MODEL_SHA256}")
            parts += [f"ring {number}:{ring.letters}" for number, ring in sorted(self.rings.items())]
        for number, prepared in zip(self.entity_of_variant, self.variants, strict=True):
            parts.append(f"{self.entities[number].id}:{prepared.variant.digest}")
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def cache_path(variant: Variant, cache_dir: Path) -> Path | None:
    """Where the prepared form of ``variant`` is cached: by content, not by name. None for a
    file that could not be read when the library was listed: it has no content to go by, and its
    preparation says why."""
    if variant.digest is None:
        return None
    key = f"{variant.digest}-v{PREPARATION_VERSION}.npz"
    return cache_dir / key[:2] / key


def _cached(variant: Variant, cache_dir: Path) -> bool:
    """Whether the cache holds ``variant`` prepared, or it never will: a file that could not be
    read is left for :func:`build_index` to report."""
    target = cache_path(variant, cache_dir)
    return target is None or target.is_file()


def _prepare_into_cache(job: tuple[Variant, Path]) -> None:
    """Prepare one variant into the cache; one that cannot be prepared is left for
    :func:`build_index` to report with the rest of the library's."""
    variant, cache_dir = job
    with contextlib.suppress(ReferenceLibraryError):
        prepare_cached(variant, cache_dir)


def warm_cache(
    entities: list[Entity],
    cache_dir: Path,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Prepare every variant of ``entities`` that the cache lacks, on ``jobs`` processes.

    Returns how many the cache lacked. Unreadable variants are left for :func:`build_index` to
    report. A large library is prepared once, in parallel; every later start only loads it.
    Raises :class:`WorkerError` where a worker process died (killed, or out of memory): what the
    others prepared is in the cache, and the next start carries on from there.
    """
    missing = [v for e in entities for v in e.variants if not _cached(v, cache_dir)]
    if not missing:
        return 0
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=cache_dir).close()
    except OSError as exc:
        # Every worker would fail to write, and warn; build_index prepares what is missing anyway.
        _cannot_cache(cache_dir, cache_dir, exc)
        return 0
    work = [(v, cache_dir) for v in missing]
    if jobs <= 1 or len(missing) < FEWEST_TO_PREPARE_IN_PARALLEL:
        for done, job in enumerate(work, start=1):
            _prepare_into_cache(job)
            if progress is not None:
                progress(done, len(work))
        return len(missing)
    # Shut down on Ctrl-C or an error, never terminated: terminating a multiprocessing pool can
    # deadlock on its task queue, and a worker stopped mid-write would leave a temporary file.
    context = process.spawn_context()
    executor = ProcessPoolExecutor(
        jobs, mp_context=context, initializer=partial(process.set_up, worker=True, parent=os.getpid())
    )
    try:
        futures = {executor.submit(_prepare_into_cache, job): job[0] for job in work}
        for done, future in enumerate(as_completed(futures), start=1):
            try:
                future.result()  # anything but an unusable emblem is a bug, and says so here
            except BrokenProcessPool as exc:
                raise WorkerError(
                    f"a worker process died while preparing {futures[future].path} ({exc}); what was prepared "
                    "before it is cached, and the next run carries on from there"
                ) from exc
            if progress is not None:
                progress(done, len(work))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return len(missing)


def oblique_features_per_view(variants: int) -> int:
    """Keypoints of the oblique views that each emblem view of a library of ``variants`` emblem
    images keeps (see :func:`build_index`): 0 in a library too large for them."""
    per_view = min(OBLIQUE_FEATURES_PER_VIEW, MAX_OBLIQUE_DESCRIPTORS // max(1, 2 * variants))
    return per_view if per_view >= MIN_OBLIQUE_FEATURES_PER_VIEW else 0


def build_index(
    root: Path,
    entities: list[Entity],
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReferenceIndex:
    """Prepare the ``entities`` of the library at ``root`` (see :meth:`ReferenceIndex.build`). A
    variant that cannot be read is skipped with a warning; a library with no usable variant at
    all is an error.

    Each reference view keeps its strongest keypoints, at most :data:`FEATURES_PER_VIEW`
    and fewer in a large library, so that the whole index stays within
    :data:`MAX_INDEX_DESCRIPTORS` descriptors (about 0.5 GB), whatever the library's size; and
    of its oblique views at most :data:`OBLIQUE_FEATURES_PER_VIEW`, within
    :data:`MAX_OBLIQUE_DESCRIPTORS` in all, and none at all where that leaves fewer than
    :data:`MIN_OBLIQUE_FEATURES_PER_VIEW` (a library of more than about 1,250 emblems).
    """
    total = sum(len(e.variants) for e in entities)
    per_view = max(
        MIN_FEATURES_PER_VIEW,
        min(FEATURES_PER_VIEW, MAX_INDEX_DESCRIPTORS // max(1, 2 * total)),
    )
    per_oblique_view = oblique_features_per_view(total)
    prepared: list[PreparedVariant] = []
    owners: list[int] = []
    points: list[np.ndarray] = []
    descriptors: list[np.ndarray] = []
    oblique_points: list[np.ndarray] = []
    oblique_descriptors: list[np.ndarray] = []
    renderings: list[np.ndarray] = []
    flat: list[Regions] = []
    done = 0
    for number, entity in enumerate(entities):
        for variant in entity.variants:
            try:
                full = prepare_cached(variant, cache_dir, keep=(per_view, per_oblique_view))
            except ReferenceLibraryError as exc:
                logger.warning("%s; skipped", exc)
            else:
                _warn_if_unfit(variant, full)
                # The index takes the descriptors; the variant keeps what verification needs.
                for side in full.keypoints:
                    kinds = _renderings(side)
                    upright, seen_obliquely = side.subset(kinds == 0), side.subset(kinds > 0)
                    points.append(upright.points)
                    descriptors.append(upright.descriptors)
                    oblique_points.append(seen_obliquely.points)
                    oblique_descriptors.append(seen_obliquely.descriptors)
                    renderings.append(kinds[kinds > 0])
                flat.extend(full.regions)
                prepared.append(
                    replace(
                        full,
                        keypoints=(full.keypoints[0].positions_only(), full.keypoints[1].positions_only()),
                        regions=(Regions.empty(), Regions.empty()),
                    )
                )
                owners.append(number)
            done += 1
            if progress is not None:
                progress(done, total)
    if not prepared:
        raise ReferenceLibraryError(f"{root}: none of the emblem images could be read")
    view_entities = [owner for owner in owners for _ in range(2)]
    hashes = np.concatenate([p.hashes for p in prepared])
    index = features.FeatureIndex(points, descriptors, view_entities)
    oblique = features.FeatureIndex(oblique_points, oblique_descriptors, view_entities, renderings)
    del descriptors, oblique_descriptors  # the indexes hold them in one array each now
    why = process.text_check_problem(default_text_model())
    model = default_text_model() if why is None else None
    if why is not None:
        _say_text_check_off(prepared, why)
    return ReferenceIndex(
        root=root,
        entities=entities,
        variants=prepared,
        entity_of_variant=owners,
        features=index,
        oblique=oblique,
        hashes=hashes,
        regions=RegionIndex(flat, view_entities),
        rings={} if model is None else read_rings(prepared, cache_dir, model),
        text_model=model,
    )


def _say_text_check_off(prepared: list[PreparedVariant], why: str) -> None:
    """Say, where a library has round emblems (seals, perhaps), that their rings are not read,
    and ``why``: as a warning where the text check was asked for (its extra is installed, or
    ``$LOGOWATCH_TEXT_MODEL`` is set) but cannot run; otherwise only with ``-v``."""
    asked = os.environ.get("LOGOWATCH_TEXT_MODEL") or importlib.util.find_spec("onnxruntime") is not None
    level = logging.WARNING if asked else logging.INFO
    if not logger.isEnabledFor(level):
        return  # not said: not worth a look at every emblem (a millisecond each) at every start
    round_ones = sum(text.ring_of(p.support, p.preview_scale) is not None for p in prepared)
    if not round_ones:
        return
    logger.log(
        level,
        "the text check is off: %s; the rings of the library's round emblems (%d) are not read, so a seal "
        "of the same design with another name is not told from theirs",
        why,
        round_ones,
    )


def read_rings(prepared: list[PreparedVariant], cache_dir: Path | None, model: Path) -> dict[int, text.RingText]:
    """What the rings of the round emblems among ``prepared`` read with the text ``model`` (see
    ``text.read_emblem``), by variant number. Read once from each round emblem's working picture
    (the preview's letters are too small), and cached beside its prepared form; the model is
    loaded only where an emblem is to be read."""
    rings: dict[int, text.RingText] = {}
    for number, variant in enumerate(prepared):
        target = None if cache_dir is None else ring_cache_path(variant.variant, cache_dir)
        cached = _cached_ring(target)
        if cached is not None:
            ring = cached.ring
        else:
            ring = None
            if text.ring_of(variant.support, variant.preview_scale) is not None:
                recogniser = process.recogniser(model)
                if recogniser is None:
                    return {}  # said by process.recogniser; build_index had checked the model
                try:
                    emblem, support = working_emblem(variant.variant.path)
                except ReferenceLibraryError as exc:
                    logger.warning("%s; its ring is not read", exc)
                    continue
                ring = text.read_emblem(recogniser, emblem, support)
            if cache_dir is not None and target is not None:
                _cache_ring(cache_dir, target, ring)
        if ring is not None:
            rings[number] = ring
    return rings


def ring_cache_path(variant: Variant, cache_dir: Path) -> Path | None:
    """Where a variant's ring reading is cached: by its file's digest, the preparation (the
    ring's geometry is in its working pixels), how it is read and the model that read it."""
    if variant.digest is None:
        return None
    name = f"{variant.digest}-v{PREPARATION_VERSION}-r{text.READING_VERSION}-{text.MODEL_SHA256[:16]}.json"
    return cache_dir / "rings" / name


@dataclass(frozen=True)
class _CachedRing:
    """A cached ring reading: the emblem's ring text, or None for an emblem without one."""

    ring: text.RingText | None


def _cached_ring(target: Path | None) -> _CachedRing | None:
    """The reading cached at ``target``; None when there is none, or it is damaged (it is then
    read again, with a warning)."""
    if target is None or not target.is_file():
        return None
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if "text" not in data:
            raise ValueError("no 'text'")
        if data["text"] is None:
            return _CachedRing(None)
        (x, y), radius = data["centre"], data["radius"]
        band = (float(data["band"][0]), float(data["band"][1]))
        arc = (float(data["arc"][0]), float(data["arc"][1]))
        letters = tuple((str(character), float(angle)) for character, angle in data["letters"])
        ring = text.Ring((float(x), float(y)), float(radius))
        return _CachedRing(text.RingText(ring, str(data["text"]), band, arc, letters))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        logger.warning("cached ring reading %s is damaged (%s); reading the emblem again", target, exc)
        return None


def _cache_ring(cache_dir: Path, target: Path, ring: text.RingText | None) -> None:
    """Cache a ring reading (None: the emblem has no legible ring) at ``target``; a cache that
    cannot be written is warned about, and the reading kept in memory only."""
    data: dict[str, object] = {"text": None}
    if ring is not None:
        data = {
            "text": ring.text,
            "centre": ring.ring.centre,
            "radius": ring.ring.radius,
            "band": ring.band,
            "arc": ring.arc,
            "letters": ring.letters,
        }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, json.dumps(data, ensure_ascii=False))
    except (OSError, OutputError) as exc:
        _cannot_cache(cache_dir, target, exc)

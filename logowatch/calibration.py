"""Calibrate the decision threshold from the reference library, and the user's own images.

Users with their own emblems have no labelled data. So we make some: every emblem is altered the
way impersonators alter emblems (mirrored, greyed, inverted, recompressed, shrunk, cut to a circle,
captioned, turned, put small into a busy thumbnail), and a pool of images that carry no emblem is
drawn: noise, gradients, stripes, shapes, text, and *hard look-alikes* made from the emblems
themselves (a fragment enlarged and turned), since a fragment of a seal is what a false positive
looks like. Scores are measured on both, and the threshold is the lowest that keeps the synthetic
false-positive rate at or below the target. The result is written beside the library, where
scans pick it up.

A user's own images without an emblem (a sample of the avatars they scan) refine it. Real where
the pool is synthetic, they take its place once there are enough of them to show the target
rate: the library then keeps the default threshold. Either way, where more of them match than
the target allows, the entities they are taken for get thresholds of their own, raised one at a
time where a raise costs the fewest of that entity's altered emblems. An entity that its raise
leaves finding fewer than half of its altered emblems is named as too simple to tell apart from
the user's ordinary images.
"""

from __future__ import annotations

import io
import json
import logging
import math
import shlex
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from logowatch import __version__
from logowatch.files import write_atomically
from logowatch.library import ReferenceIndex
from logowatch.loading import LoadedImage, load_image
from logowatch.matching import match
from logowatch.scoring import DEFAULT_THRESHOLD

logger = logging.getLogger(__name__)

#: Hex digits of each emblem image's digest that a calibration file keeps (see :func:`stamp`), and
#: how many of the entities added, removed or changed since a warning names.
STAMP_DIGEST = 12
NAMED_CHANGES = 3
#: The file, in the reference library's folder, that holds a calibrated threshold.
CALIBRATION_FILE = "logowatch-calibration.json"
#: Paths of the user's images that a raised entity cleared, listed in the calibration file.
CLEARED_EXAMPLES = 5
#: False-positive rate that ``calibrate`` aims for by default, and the highest it takes.
DEFAULT_TARGET_FPR = 0.005
MAX_TARGET_FPR = 0.5
#: Longer side an emblem image is read at to draw its synthetic alterations: an avatar's size.
ALTERED_SIDE = 512
#: Images without an emblem drawn per emblem image of the library (look-alikes; an entity of three
#: images has six) and in all (generic).
LOOKALIKES_PER_EMBLEM = 2
GENERIC_NEGATIVES = 120
#: An entity is not raised so far that it finds fewer than this share of the synthetic altered
#: emblems it found at the library's threshold: it is named as too simple to tell apart from the
#: user's images that still match it (see :class:`EntityThreshold`). Raised further, it would
#: stop finding its own emblem, one mistaken image in the user's sample away from blindness.
TOO_SIMPLE_RECALL = 0.5
#: No entity's threshold is raised above this, and the user's images that score this much are
#: named as likely showing its emblem: on the benchmarks no ordinary image scored 0.9 against an
#: emblem (the highest of 3,000 background avatars and 638 dev negatives: 0.81), while a
#: threshold of 0.9 would miss a sixth of the dev emblems found at 0.55. Every synthetic
#: alteration can still score above it, so the recall rule alone would let one such image,
#: put among the user's ordinary ones by mistake, raise its entity out of sight of most copies.
MAX_OWN_THRESHOLD = 0.9


def on_canvas(
    emblem: Image.Image, size: int = 240, fill: float = 0.9, background: tuple[int, int, int] = (250, 250, 250)
) -> Image.Image:
    """``emblem`` (RGBA) centred on a square canvas, filling ``fill`` of it."""
    canvas = Image.new("RGB", (size, size), background)
    copy = emblem.copy()
    copy.thumbnail((max(1, round(size * fill)), max(1, round(size * fill))))
    canvas.paste(copy, ((size - copy.width) // 2, (size - copy.height) // 2), copy)
    return canvas


def recompress(image: Image.Image, quality: int) -> Image.Image:
    """``image`` after a round trip through JPEG at ``quality``."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _backdrop(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    coarse = rng.normal(128, 50, (max(2, height // 20), max(2, width // 20), 3))
    return Image.fromarray(np.clip(coarse, 0, 255).astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)


def circle_crop(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """``image`` cut to the circle inscribed in it, as avatars are."""
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, image.width - 1, image.height - 1), fill=255)
    out = Image.new("RGB", image.size, background)
    out.paste(image, (0, 0), mask)
    return out


def _thumbnail(emblem: Image.Image, rng: np.random.Generator) -> Image.Image:
    canvas = _backdrop(640, 360, rng)
    copy = emblem.copy()
    side = int(rng.integers(90, 150))
    copy.thumbnail((side * 2, side))
    x = int(rng.integers(10, 640 - copy.width - 10))
    y = int(rng.integers(10, 360 - copy.height - 10))
    canvas.paste(copy, (x, y), copy)
    return recompress(canvas, 80)


def _captioned(emblem: Image.Image) -> Image.Image:
    canvas = on_canvas(emblem, 240, 0.92, (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 190, 240, 240), fill=(190, 20, 20))
    draw.text((16, 205), "OFFICIAL ACCOUNT", fill=(255, 255, 255))
    return canvas


#: How emblems are altered, by family name. Each takes the RGBA emblem and a random generator.
ALTERATIONS: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "resized": lambda e, r: on_canvas(e, 200, 0.9, (255, 255, 255)),
    "mirror": lambda e, r: ImageOps.mirror(on_canvas(e, 200, 0.9, (240, 240, 240))),
    "greyscale": lambda e, r: ImageOps.grayscale(on_canvas(e, 200, 0.9, (255, 255, 255))).convert("RGB"),
    "inverted": lambda e, r: ImageOps.invert(on_canvas(e, 200, 0.9, (255, 255, 255))),
    "jpeg_heavy": lambda e, r: recompress(on_canvas(e, 200, 0.9, (255, 255, 255)), 12),
    "circle": lambda e, r: circle_crop(on_canvas(e, 220, 1.0, (255, 255, 255))),
    "lowres": lambda e, r: on_canvas(e, 48, 0.95, (255, 255, 255)).resize((160, 160), Image.Resampling.BILINEAR),
    "rotated": lambda e, r: on_canvas(e, 220, 0.85, (255, 255, 255)).rotate(12, fillcolor=(255, 255, 255)),
    "caption": lambda e, r: _captioned(e),
    "thumbnail": _thumbnail,
}


def _generic_negative(number: int, rng: np.random.Generator) -> Image.Image:
    """An image with no emblem: a mix of the kinds of picture that fill real avatar folders."""
    kind = number % 5
    if kind == 0:
        return _backdrop(240, 240, rng)
    image = Image.new("RGB", (240, 240), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    if kind == 1:
        for offset in range(-240, 240, int(rng.integers(12, 40))):
            draw.line([(offset, 0), (offset + 240, 240)], fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=6)
    elif kind == 2:
        for _ in range(int(rng.integers(3, 9))):
            x, y, s = (int(v) for v in rng.integers(0, 200, 3))
            shape = [draw.ellipse, draw.rectangle][int(rng.integers(0, 2))]
            shape((x, y, x + s // 2 + 10, y + s // 2 + 10), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    elif kind == 3:
        for row in range(6):
            word = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(4, 12))))
            draw.text((10, 10 + row * 36), word, fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    else:
        points = [(float(x), float(y)) for x, y in rng.integers(20, 220, (int(rng.integers(3, 8)), 2))]
        draw.polygon(points, fill=tuple(int(v) for v in rng.integers(0, 256, 3)), outline=(0, 0, 0))
    return image


def _lookalikes(emblem: Image.Image, rng: np.random.Generator) -> Iterator[Image.Image]:
    """Hard negatives from an emblem: a fifth of it, enlarged and turned. Sharing real strokes and
    corners with the emblem, it is what a false positive among look-alike logos looks like."""
    flat = on_canvas(emblem, 240, 0.95, (255, 255, 255))
    for _ in range(LOOKALIKES_PER_EMBLEM):
        x, y = (int(v) for v in rng.integers(0, 130, 2))
        yield flat.crop((x, y, x + 110, y + 110)).resize((240, 240)).rotate(int(rng.choice([90, 180, 270])))


@dataclass(frozen=True)
class OrdinaryImage:
    """One of the user's own images without an emblem, as a scan saw it: its best candidate."""

    path: str
    entity: str | None
    score: float
    #: The file's SHA-256: copies of one file show no more of a rate than the file once.
    sha256: str | None = None


@dataclass(frozen=True)
class EntityThreshold:
    """What the user's images without an emblem did to one entity: its threshold (raised above
    the library's, or left at it), the images the raise cleared, and those it still matches
    where more of them match than the target allows."""

    threshold: float
    #: The user's images that the raise keeps from matching this entity.
    cleared: tuple[str, ...]
    #: Share of the entity's synthetic altered emblems found at ``threshold``, and at the library's.
    recall: float
    recall_before: float
    #: The user's images it still matches, named only where more of them match than the target
    #: allows: no threshold is raised above :data:`MAX_OWN_THRESHOLD` (see ``likely_emblem``), and
    #: clearing the rest would lose more than half of what it found (see
    #: :data:`TOO_SIMPLE_RECALL`, and ``capped``).
    still_matched: tuple[str, ...] = ()
    #: Whether a raise it needed was refused for the share of its altered emblems it would lose.
    capped: bool = False
    #: The user's images taken for it that score :data:`MAX_OWN_THRESHOLD` or more: likelier
    #: copies of its emblem than ordinary images.
    likely_emblem: tuple[str, ...] = ()

    @property
    def raised(self) -> bool:
        return bool(self.cleared)

    @property
    def too_simple(self) -> bool:
        """Not told apart from some of the user's ordinary images without missing most of its own
        alterations (or those images show its emblem)."""
        return self.capped and bool(self.still_matched)

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "cleared": len(self.cleared),
            "cleared_examples": list(self.cleared[:CLEARED_EXAMPLES]),
            "synthetic_recall": round(self.recall, 4),
            "synthetic_recall_before": round(self.recall_before, 4),
            "too_simple": self.too_simple,
            "still_matched": len(self.still_matched),
            "still_matched_examples": list(self.still_matched[:CLEARED_EXAMPLES]),
            "likely_emblem": list(self.likely_emblem),
        }


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found."""

    threshold: float
    #: What decided the library's threshold: ``synthetic`` (the pool of drawn images) or
    #: ``ordinary`` (the user's own images, enough of them to show the target rate).
    threshold_from: str
    target_fpr: float
    false_positive_rate: float
    recall: float
    recall_by_family: dict[str, float]
    positives: int
    negatives: int
    #: Thresholds of their own for the entities that the user's images were taken for.
    entities: dict[str, EntityThreshold] = field(default_factory=dict)
    #: How many of the user's images without an emblem were read (``ordinary_distinct`` of them
    #: distinct files), and how many of them match at the library's threshold and at the
    #: entities' own.
    ordinary: int = 0
    ordinary_distinct: int = 0
    ordinary_matched_at_library: int = 0
    ordinary_matched_at_own: int = 0
    #: How many of the user's images ``target_fpr`` permits to match (of the distinct ones).
    ordinary_permitted: int = 0
    #: Per alteration family, the entities whose altered emblem was not found as itself at its
    #: threshold (the library's, or its own): which emblems the recall above leaves out.
    missed_by_family: dict[str, list[str]] = field(default_factory=dict)
    #: What was calibrated (see :func:`stamp`): a scan warns where the library differs from it.
    library: dict[str, object] | None = None
    #: Where the user's images came from (``--negatives``, made absolute): to calibrate again.
    negatives_from: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "threshold": self.threshold,
            "threshold_from": self.threshold_from,
            "target_fpr": self.target_fpr,
            "synthetic_false_positive_rate": round(self.false_positive_rate, 4),
            "synthetic_recall": round(self.recall, 4),
            "recall_by_family": {k: round(v, 4) for k, v in self.recall_by_family.items()},
            "missed_by_family": self.missed_by_family,
            "positives": self.positives,
            "negatives": self.negatives,
            "calibrated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.library is not None:
            found["calibrated_for"] = self.library
        if self.ordinary:
            found["negatives_from"] = list(self.negatives_from)
            found["ordinary_images"] = self.ordinary
            found["ordinary_distinct"] = self.ordinary_distinct
            found["ordinary_matched"] = {
                "at_library_threshold": self.ordinary_matched_at_library,
                "at_own_thresholds": self.ordinary_matched_at_own,
                "permitted": self.ordinary_permitted,
            }
            found["entities"] = {entity: own.to_dict() for entity, own in sorted(self.entities.items())}
        return found


def _score(index: ReferenceIndex, image: Image.Image) -> tuple[str | None, float]:
    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    loaded = LoadedImage(rgb=rgb, alpha=None, format="synthetic", original_size=image.size, frames=1)
    candidates = match(index, loaded)
    return (candidates[0].entity, candidates[0].score) if candidates else (None, 0.0)


def calibrate(
    index: ReferenceIndex,
    target_fpr: float = DEFAULT_TARGET_FPR,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    ordinary: Sequence[OrdinaryImage] = (),
) -> Calibration:
    """Measure scores on synthetic alterations and non-emblems; pick the threshold for ``target_fpr``.

    ``ordinary`` are the user's own images without an emblem. With at least ``1 / target_fpr``
    of them, enough to show that rate, they decide the library's threshold instead of the
    synthetic pool (see :func:`library_threshold`); either way, where more of them match than
    ``target_fpr`` permits of the distinct ones, entities get thresholds of their own (see
    :func:`raise_entities`).
    Raises ``ValueError`` for a ``target_fpr`` outside 0..0.5, before measuring anything."""
    if not 0.0 <= target_fpr <= MAX_TARGET_FPR:  # NaN too
        raise ValueError(f"target_fpr must lie in 0..{MAX_TARGET_FPR}, not {target_fpr}")
    positives, negatives = _measure(index, np.random.default_rng(seed), progress)
    distinct = distinct_count(ordinary)
    threshold, threshold_from = library_threshold(negatives, distinct, target_fpr)
    altered: dict[str, list[float]] = defaultdict(list)
    for entity, _, correct, value in positives:
        altered[entity].append(value if correct else 0.0)
    # Copies add matches (a reposted avatar is flagged each time) but no room for them: padding the
    # images with copies of one that does not match must not let another match.
    permitted = math.floor(target_fpr * distinct)
    entities = raise_entities(threshold, ordinary, permitted, altered)
    own = {entity: raised.threshold for entity, raised in entities.items()}
    hits: dict[str, list[bool]] = defaultdict(list)
    missed: dict[str, list[str]] = defaultdict(list)
    for entity, family, correct, value in positives:
        hits[family].append(correct and value >= own.get(entity, threshold))
        if not hits[family][-1]:
            missed[family].append(entity)
    every = [hit for values in hits.values() for hit in values]
    taken = [(image.entity, image.score) for image in ordinary if image.entity is not None]
    return Calibration(
        threshold=threshold,
        threshold_from=threshold_from,
        target_fpr=target_fpr,
        false_positive_rate=sum(v >= threshold for v in negatives) / max(1, len(negatives)),
        recall=sum(every) / max(1, len(every)),
        recall_by_family={family: sum(v) / len(v) for family, v in sorted(hits.items())},
        positives=len(positives),
        negatives=len(negatives),
        entities=entities,
        ordinary=len(ordinary),
        ordinary_distinct=distinct,
        ordinary_matched_at_library=sum(1 for _, score in taken if score >= threshold),
        ordinary_matched_at_own=sum(1 for entity, score in taken if score >= own.get(entity, threshold)),
        ordinary_permitted=permitted,
        missed_by_family={family: sorted(set(entities)) for family, entities in sorted(missed.items())},
        library=stamp(index),
    )


def _measure(
    index: ReferenceIndex, rng: np.random.Generator, progress: Callable[[int, int], None] | None
) -> tuple[list[tuple[str, str, bool, float]], list[float]]:
    """Scores of every emblem's synthetic alterations, as (entity, family, found as itself,
    score), and of the synthetic images without an emblem."""
    emblems = []
    for prepared, entity_number in zip(index.variants, index.entity_of_variant, strict=True):
        image = load_image(prepared.variant.path, max_side=ALTERED_SIDE)
        rgba = np.dstack([image.rgb, image.alpha if image.alpha is not None else np.full(image.rgb.shape[:2], 255)])
        emblems.append((index.entities[entity_number].id, Image.fromarray(rgba.astype(np.uint8), "RGBA")))
    total = len(emblems) * (len(ALTERATIONS) + LOOKALIKES_PER_EMBLEM) + GENERIC_NEGATIVES
    positives: list[tuple[str, str, bool, float]] = []
    negatives: list[float] = []

    def measured() -> None:
        if progress is not None:
            progress(len(positives) + len(negatives), total)

    for entity, emblem in emblems:
        for family, alter in ALTERATIONS.items():
            found, value = _score(index, alter(emblem, rng))
            positives.append((entity, family, found == entity, value))
            measured()
        for lookalike in _lookalikes(emblem, rng):
            negatives.append(_score(index, lookalike)[1])
            measured()
    for number in range(GENERIC_NEGATIVES):
        negatives.append(_score(index, _generic_negative(number, rng))[1])
        measured()
    return positives, negatives


def distinct_count(ordinary: Sequence[OrdinaryImage]) -> int:
    """How many different files ``ordinary`` holds: copies (the same bytes) count once."""
    return len({image.sha256 or image.path for image in ordinary})


def images_to_show(target_fpr: float) -> int | None:
    """How many distinct images without an emblem it takes to show a false-positive rate of
    ``target_fpr``: one in that many matching. None for a rate of 0, which no number shows."""
    return math.ceil(1 / target_fpr) if target_fpr > 0 else None


def library_threshold(synthetic: list[float], distinct: int, target_fpr: float) -> tuple[float, str]:
    """The library's threshold, and what decided it (``synthetic`` or ``ordinary``).

    Never below the default, which was measured on real images: a few hundred synthetic images
    without an emblem cannot show that a lower threshold is safe, only that a higher one is
    needed. The user's own images, real, take their place once there are enough ``distinct`` ones
    to show ``target_fpr`` (one in 1 / ``target_fpr`` matching): the library then keeps the
    default, and only the entities those images are taken for are raised."""
    needed = images_to_show(target_fpr)
    if needed is not None and distinct >= needed:
        return DEFAULT_THRESHOLD, "ordinary"
    return max(DEFAULT_THRESHOLD, choose_threshold(synthetic, target_fpr)), "synthetic"


def raise_entities(
    threshold: float,
    ordinary: Sequence[OrdinaryImage],
    permitted: int,
    altered: dict[str, list[float]],
) -> dict[str, EntityThreshold]:
    """Thresholds of their own for the entities that the ``ordinary`` images are taken for (their
    best candidate; a match is the best candidate at or above its entity's threshold, as
    :meth:`Detector.threshold_for` applies it), raised until at most ``permitted`` of them match,
    or no raise is left that may be made.

    Each step raises one entity's threshold just above its lowest-scoring match, choosing the
    raise that loses the fewest of that entity's altered emblems (``altered``: the score each
    scored as itself, 0 when it was not found) per image it clears: an entity whose altered
    emblems score well above the user's images is raised before one whose emblems they rival.
    No raise leaves an entity finding fewer than :data:`TOO_SIMPLE_RECALL` of what it found at
    ``threshold``, or goes above :data:`MAX_OWN_THRESHOLD`; the images it then still matches are
    named, and so, always, are those scoring that much (``likely_emblem``)."""
    own: dict[str, float] = {}
    taken_for: dict[str, list[OrdinaryImage]] = defaultdict(list)
    for image in ordinary:
        if image.entity is not None:
            taken_for[image.entity].append(image)

    def level(entity: str) -> float:
        return own.get(entity, threshold)

    def matched(entity: str) -> list[float]:
        return [image.score for image in taken_for[entity] if image.score >= level(entity)]

    def found(entity: str, at: float) -> float:
        return _share_at_least(altered.get(entity, []), at)

    capped: set[str] = set()
    while sum(len(matched(entity)) for entity in taken_for) > permitted:
        moves = []
        for entity in taken_for:
            passing = matched(entity)
            raised = just_above(min(passing, default=1.0))
            cleared = sum(1 for value in passing if value < raised)
            if not cleared:
                continue  # none matched, or scores of 1.0: no threshold lies above them
            if raised > MAX_OWN_THRESHOLD:
                continue  # above what ordinary images score: they likely show the emblem (likely_emblem)
            if found(entity, raised) < TOO_SIMPLE_RECALL * found(entity, threshold):
                capped.add(entity)  # a raise that would blind it
                continue
            lost = sum(1 for value in altered.get(entity, []) if level(entity) <= value < raised)
            moves.append((lost / cleared, raised, entity))
        if not moves:
            break
        _, raised, entity = min(moves)
        own[entity] = raised
    # Over the allowance still: every entity that matches is named, with the images it matches.
    over = sum(len(matched(entity)) for entity in taken_for) > permitted

    def likely_emblem(entity: str) -> tuple[str, ...]:
        return tuple(image.path for image in taken_for[entity] if image.score >= MAX_OWN_THRESHOLD)

    named = set(own) | ({entity for entity in taken_for if matched(entity)} if over else set())
    named |= {entity for entity in taken_for if likely_emblem(entity)}
    return {
        entity: EntityThreshold(
            threshold=level(entity),
            cleared=tuple(image.path for image in taken_for[entity] if threshold <= image.score < level(entity)),
            recall=found(entity, level(entity)),
            recall_before=found(entity, threshold),
            still_matched=tuple(image.path for image in taken_for[entity] if image.score >= level(entity))
            if over else (),
            capped=entity in capped,
            likely_emblem=likely_emblem(entity),
        )
        for entity in sorted(named)
    }


def _share_at_least(values: list[float], threshold: float) -> float:
    return sum(1 for value in values if value >= threshold) / max(1, len(values))


def just_above(score: float) -> float:
    """The lowest threshold, to 0.01, that ``score`` falls short of (1.0 at most).

    Rounded before it is floored: 0.57 * 100 is 56.99999999999999 in floating point."""
    return min(1.0, (math.floor(round(score * 100, 6)) + 1) / 100)


def choose_threshold(negatives: list[float], target_fpr: float, floor: float = 0.05) -> float:
    """The lowest threshold (to 0.01) that lets at most ``target_fpr`` of ``negatives`` through.

    With few negatives the allowance rounds down to zero, so the threshold then sits just above
    the highest negative score: strict rather than lucky.
    """
    allowed = math.floor(target_fpr * len(negatives))
    ranked = sorted(negatives, reverse=True)
    above = ranked[allowed] if allowed < len(ranked) else 0.0
    return round(max(floor, just_above(above)), 2)


def calibration_path(references: Path) -> Path:
    return references / CALIBRATION_FILE


def save(calibration: Calibration, references: Path) -> Path:
    """Write ``calibration`` into the library folder, whole or not at all (a scan reading a
    half-written file would fall back to the default threshold). Raises :class:`OutputError`."""
    target = calibration_path(references)
    write_atomically(target, json.dumps(calibration.to_dict(), indent=2) + "\n")
    return target


@dataclass(frozen=True)
class Calibrated:
    """What a library's calibration file says a scan should apply."""

    threshold: float
    #: Where the threshold came from: ``default``, the file, or why the file was not used.
    source: str
    #: Entities with a threshold of their own (``calibrate --negatives``).
    entities: dict[str, float] = field(default_factory=dict)
    #: What was calibrated (see :func:`stamp`); None where the file does not say (one written
    #: before it did).
    library: dict[str, object] | None = None
    #: The target rate and how many of the user's own images it was calibrated with (0: none),
    #: and where they came from.
    target_fpr: float = DEFAULT_TARGET_FPR
    ordinary: int = 0
    negatives_from: tuple[str, ...] = ()

    def again(self, root: Path) -> str:
        """The command that calibrates the library at ``root`` again with this calibration's
        target and the user's images (``DIR`` where the file does not say where they came from),
        quoted for a shell."""
        words = ["logowatch", "calibrate", "-r", str(root), "--target-fpr", f"{self.target_fpr:g}"]
        if self.ordinary:
            for folder in self.negatives_from or ("DIR",):
                words += ["--negatives", folder]
        return " ".join(word if word == "DIR" else shlex.quote(word) for word in words)


def read_calibration(references: Path) -> Calibrated:
    """The thresholds a scan of ``references`` should use. A file that cannot be read, or holds a
    threshold outside 0..1 anywhere, is not used at all (the default applies, and the source says
    why): half of a calibration could let through what the other half was meant to stop."""
    source = calibration_path(references)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        value = float(data["threshold"])
        entities = {str(entity): float(own["threshold"]) for entity, own in data.get("entities", {}).items()}
        library = data.get("calibrated_for") if isinstance(data.get("calibrated_for"), dict) else None
        target = float(data.get("target_fpr", DEFAULT_TARGET_FPR))
        ordinary = int(data.get("ordinary_images", 0))
        given = data.get("negatives_from")
        negatives_from = tuple(str(p) for p in given) if isinstance(given, list) else ()
    except FileNotFoundError:
        return Calibrated(DEFAULT_THRESHOLD, "default")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return _not_used(source, f"is unreadable ({type(exc).__name__}: {exc})")
    if not all(0.0 <= v <= 1.0 for v in (value, *entities.values())):  # NaN too: it compares false
        return _not_used(source, "holds an out-of-range threshold")
    # Entities named but left at the library's threshold have none of their own.
    entities = {entity: own for entity, own in entities.items() if own > value}
    return Calibrated(value, str(source), entities, library, target, ordinary, negatives_from)


def stamp(index: ReferenceIndex) -> dict[str, object]:
    """What a calibration of ``index`` was made for, written into its file: the logowatch that
    made it, each entity's emblem images (a short digest of their contents), and whether the text
    check of rings applied (the text model on, and a round emblem with legible text in the
    library: without one, the model changes no score)."""
    emblems: dict[str, list[str]] = {entity.id: [] for entity in index.entities}
    for number, prepared in zip(index.entity_of_variant, index.variants, strict=True):
        emblems[index.entities[number].id].append((prepared.variant.digest or "")[:STAMP_DIGEST])
    return {
        "logowatch": __version__,
        "text_check": index.text_model is not None and bool(index.rings),
        "emblems": {entity: "-".join(sorted(parts)) for entity, parts in emblems.items()},
    }


def changes(calibrated: Calibrated, index: ReferenceIndex) -> list[str]:
    """How ``index`` differs from what ``calibrated`` was made for, in words (none where the file
    does not say what it was made for)."""
    if calibrated.library is None:
        return []
    then, now = calibrated.library, stamp(index)
    found = []
    if then.get("logowatch") != now["logowatch"]:
        found.append(f"it was made by logowatch {then.get('logowatch')}, this is {now['logowatch']}")
    old, new = then.get("emblems"), now["emblems"]
    if isinstance(old, dict) and isinstance(new, dict):
        for kind, ids in (
            ("added", sorted(set(new) - set(old))),
            ("removed", sorted(set(old) - set(new))),
            ("changed", sorted(e for e in set(new) & set(old) if new[e] != old[e])),
        ):
            if ids:
                named = ", ".join(ids[:NAMED_CHANGES]) + (", ..." if len(ids) > NAMED_CHANGES else "")
                found.append(f"{len(ids):,} {'emblem' if len(ids) == 1 else 'emblems'} {kind} ({named})")
    was_on = bool(then.get("text_check"))
    # A file stamped before the stamp asked for ring text says "on" wherever the model was.
    stamped_so = was_on and not index.rings and index.text_model is not None
    if was_on != now["text_check"] and not stamped_so:
        was, here = ("on", "off") if was_on else ("off", "on")
        found.append(f"the text check of rings was {was} when it was made and is {here} here")
    return found


def _not_used(source: Path, problem: str) -> Calibrated:
    logger.warning("%s %s; the default threshold %s applies", source, problem, DEFAULT_THRESHOLD)
    return Calibrated(DEFAULT_THRESHOLD, f"default ({source} {problem})")

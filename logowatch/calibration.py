"""Calibrate the decision threshold from the reference library alone.

Users with their own emblems have no labelled data. So we make some: every emblem is altered the
way impersonators alter emblems (mirrored, greyed, inverted, recompressed, shrunk, cut to a circle,
captioned, turned, put small into a busy thumbnail), and a pool of images that carry no emblem is
drawn: noise, gradients, stripes, shapes, text, and *hard look-alikes* made from the emblems
themselves (a fragment enlarged and turned), since a fragment of a seal is what a false positive
looks like. Scores are measured on both, and the threshold is the lowest that keeps the synthetic
false-positive rate at or below the target. The result is written beside the library, where
scans pick it up.

A user's own images without an emblem (a sample of the avatars they scan), real where the pool is
synthetic, take the pool's place: the library keeps the default threshold, and where more of the
user's images match than the target allows, the entities they are taken for get thresholds of
their own, raised one at a time where a raise costs the fewest of that entity's altered
emblems. An entity that, at its raised threshold, is found in fewer than half of its altered
emblems is named as too simple to tell apart from the user's ordinary images.
"""

from __future__ import annotations

import io
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from logowatch.errors import OutputError
from logowatch.library import ReferenceIndex
from logowatch.loading import LoadedImage, load_image
from logowatch.matching import match
from logowatch.scoring import DEFAULT_THRESHOLD

#: The file, in the reference library's folder, that holds a calibrated threshold.
CALIBRATION_FILE = "logowatch-calibration.json"
#: False-positive rate that ``calibrate`` aims for by default.
DEFAULT_TARGET_FPR = 0.005
#: Images without an emblem drawn per entity (look-alikes) and in all (generic).
LOOKALIKES_PER_ENTITY = 2
GENERIC_NEGATIVES = 120
#: An entity found in fewer of its synthetic altered emblems than this, at the threshold the
#: user's own images leave it, is too simple to tell apart from them (see :class:`EntityThreshold`).
TOO_SIMPLE_RECALL = 0.5


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
    for _ in range(LOOKALIKES_PER_ENTITY):
        x, y = (int(v) for v in rng.integers(0, 130, 2))
        yield flat.crop((x, y, x + 110, y + 110)).resize((240, 240)).rotate(int(rng.choice([90, 180, 270])))


@dataclass(frozen=True)
class EntityThreshold:
    """An entity's own threshold, raised above the library's by the user's images without an emblem."""

    threshold: float
    #: How many of the user's images the raise keeps from matching this entity.
    cleared: int
    #: Share of the entity's synthetic altered emblems still found at ``threshold``.
    recall: float

    @property
    def too_simple(self) -> bool:
        """Told apart from the user's ordinary images only by missing most of its own alterations."""
        return self.recall < TOO_SIMPLE_RECALL

    def as_json(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "cleared": self.cleared,
            "synthetic_recall": round(self.recall, 4),
            "too_simple": self.too_simple,
        }


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found."""

    threshold: float
    target_fpr: float
    false_positive_rate: float
    recall: float
    recall_by_family: dict[str, float]
    positives: int
    negatives: int
    #: Thresholds of their own for the entities that the user's images were taken for.
    entities: dict[str, EntityThreshold] = field(default_factory=dict)
    #: The user's images without an emblem, and how many of them match at the library's
    #: threshold and at the entities' own.
    user_negatives: int = 0
    user_matched_before: int = 0
    user_matched_after: int = 0

    def as_json(self) -> dict[str, object]:
        found: dict[str, object] = {
            "threshold": self.threshold,
            "target_fpr": self.target_fpr,
            "synthetic_false_positive_rate": round(self.false_positive_rate, 4),
            "synthetic_recall": round(self.recall, 4),
            "recall_by_family": {k: round(v, 4) for k, v in self.recall_by_family.items()},
            "positives": self.positives,
            "negatives": self.negatives,
            "calibrated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.user_negatives:
            found["user_negatives"] = self.user_negatives
            found["user_matched"] = {
                "library_threshold": self.user_matched_before, "own_thresholds": self.user_matched_after,
            }
            found["entities"] = {entity: own.as_json() for entity, own in sorted(self.entities.items())}
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
    user_negatives: Sequence[tuple[str | None, float]] = (),
) -> Calibration:
    """Measure scores on synthetic alterations and non-emblems; pick the threshold for ``target_fpr``.

    ``user_negatives`` are the best candidate (entity, score) of each of the user's own images
    without an emblem: where more of them match than ``target_fpr`` allows, entities get
    thresholds of their own (see :func:`raise_entities`)."""
    rng = np.random.default_rng(seed)
    emblems = []
    for prepared, entity_number in zip(index.variants, index.entity_of_variant, strict=True):
        image = load_image(prepared.variant.path, max_side=512)
        rgba = np.dstack([image.rgb, image.alpha if image.alpha is not None else np.full(image.rgb.shape[:2], 255)])
        emblems.append((index.entities[entity_number].id, Image.fromarray(rgba.astype(np.uint8), "RGBA")))
    total = len(emblems) * (len(ALTERATIONS) + LOOKALIKES_PER_ENTITY) + GENERIC_NEGATIVES
    done = 0
    positives: list[tuple[str, str, bool, float]] = []
    negatives: list[float] = []
    for entity, emblem in emblems:
        for family, alter in ALTERATIONS.items():
            found, value = _score(index, alter(emblem, rng))
            positives.append((entity, family, found == entity, value))
            done += 1
            if progress is not None:
                progress(done, total)
        for lookalike in _lookalikes(emblem, rng):
            negatives.append(_score(index, lookalike)[1])
            done += 1
            if progress is not None:
                progress(done, total)
    for number in range(GENERIC_NEGATIVES):
        negatives.append(_score(index, _generic_negative(number, rng))[1])
        done += 1
        if progress is not None:
            progress(done, total)
    # Never below the default, which was measured on real images: a few hundred synthetic images
    # without an emblem cannot show that a lower threshold is safe, only that a higher one is needed.
    # The user's own images, real and many, stand in for them where given: the library keeps the
    # default and only the entities those images are taken for are raised.
    threshold = DEFAULT_THRESHOLD if user_negatives else max(DEFAULT_THRESHOLD, choose_threshold(negatives, target_fpr))
    found_at: dict[str, list[float]] = defaultdict(list)
    for entity, _, correct, value in positives:
        found_at[entity].append(value if correct else 0.0)
    allowed = math.floor(target_fpr * len(user_negatives))
    entities = raise_entities(threshold, user_negatives, allowed, found_at)
    hits: dict[str, list[bool]] = defaultdict(list)
    for entity, family, correct, value in positives:
        hits[family].append(correct and value >= (entities[entity].threshold if entity in entities else threshold))
    every = [hit for values in hits.values() for hit in values]
    return Calibration(
        threshold=threshold,
        target_fpr=target_fpr,
        false_positive_rate=sum(v >= threshold for v in negatives) / max(1, len(negatives)),
        recall=sum(every) / max(1, len(every)),
        recall_by_family={family: sum(v) / len(v) for family, v in sorted(hits.items())},
        positives=len(positives),
        negatives=len(negatives),
        entities=entities,
        user_negatives=len(user_negatives),
        user_matched_before=sum(1 for entity, value in user_negatives if entity is not None and value >= threshold),
        user_matched_after=sum(
            1 for entity, value in user_negatives
            if entity is not None and value >= (entities[entity].threshold if entity in entities else threshold)
        ),
    )


def raise_entities(
    threshold: float,
    negatives: Sequence[tuple[str | None, float]],
    allowed: int,
    found_at: dict[str, list[float]],
) -> dict[str, EntityThreshold]:
    """Thresholds of their own for the entities that ``negatives`` (the best candidate of each
    image without an emblem) match, raised until at most ``allowed`` of them match.

    Each step raises one entity's threshold just above its lowest-scoring match, choosing the
    raise that loses the fewest of that entity's altered emblems (``found_at``: the score each
    scored as itself, 0 when it was not found) per image it clears: an entity whose altered
    emblems score well above the user's images is raised before one whose emblems they rival.
    A score of 1.0 cannot be raised above; such an image stays matched."""
    own: dict[str, float] = {}
    scores: dict[str, list[float]] = defaultdict(list)
    for entity, value in negatives:
        if entity is not None:
            scores[entity].append(value)

    def level(entity: str) -> float:
        return own.get(entity, threshold)

    def matched(entity: str) -> list[float]:
        return [value for value in scores[entity] if value >= level(entity)]

    while sum(len(matched(entity)) for entity in scores) > allowed:
        moves = []
        for entity in scores:
            passing = matched(entity)
            if not passing:
                continue
            raised = min(1.0, math.floor(min(passing) * 100 + 1) / 100)
            cleared = sum(1 for value in passing if value < raised)
            if not cleared:
                continue  # scores of 1.0: no threshold lies above them
            lost = sum(1 for value in found_at.get(entity, []) if level(entity) <= value < raised)
            moves.append((lost / max(1, cleared), raised, entity))
        if not moves:
            break
        _, raised, entity = min(moves)
        own[entity] = raised
    return {
        entity: EntityThreshold(
            threshold=value,
            cleared=sum(1 for score in scores[entity] if threshold <= score < value),
            recall=_share_at_least(found_at.get(entity, []), value),
        )
        for entity, value in own.items()
    }


def _share_at_least(values: list[float], threshold: float) -> float:
    return sum(1 for value in values if value >= threshold) / max(1, len(values))


def choose_threshold(negatives: list[float], target_fpr: float, floor: float = 0.05) -> float:
    """The lowest threshold (to 0.01) that lets at most ``target_fpr`` of ``negatives`` through.

    With few negatives the allowance rounds down to zero, so the threshold then sits just above
    the highest negative score: strict rather than lucky.
    """
    allowed = math.floor(target_fpr * len(negatives))
    ranked = sorted(negatives, reverse=True)
    above = ranked[allowed] if allowed < len(ranked) else 0.0
    return round(max(floor, math.floor(above * 100 + 1) / 100), 2)


def calibration_path(references: Path) -> Path:
    return references / CALIBRATION_FILE


def save(calibration: Calibration, references: Path) -> Path:
    target = calibration_path(references)
    try:
        target.write_text(json.dumps(calibration.as_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the calibration: {exc.strerror or exc}") from exc
    return target


def entity_thresholds(references: Path) -> dict[str, float]:
    """The thresholds of their own that ``calibrate --negatives`` gave entities of ``references``
    (none when it was not run with the user's images, or the file is unreadable)."""
    try:
        data = json.loads(calibration_path(references).read_text(encoding="utf-8"))
        entities = data.get("entities", {})
        return {str(entity): float(own["threshold"]) for entity, own in entities.items()
                if 0.0 <= float(own["threshold"]) <= 1.0}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def threshold_for(references: Path) -> tuple[float, str]:
    """The threshold a scan of ``references`` should use, and where it came from."""
    source = calibration_path(references)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        value = float(data["threshold"])
    except FileNotFoundError:
        return DEFAULT_THRESHOLD, "default"
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_THRESHOLD, f"default ({source} is unreadable)"
    if not 0.0 <= value <= 1.0:
        return DEFAULT_THRESHOLD, f"default ({source} holds an out-of-range threshold)"
    return value, str(source)

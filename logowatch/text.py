"""The text along a round emblem's ring: read it, and say whether an image's copy says the same.

An official seal is a red ring, a star and the body's name along the arc; a company's seal, or an
impersonator's, is the same design with another name. Edges, keypoints and colours hardly tell them
apart (on the seals benchmark 63 of 80 other seals scored as one of the references): only the text
does. So for a round emblem the band where its ring's text lies is unwrapped into a straight
strip, its characters upright, and read by a text recogniser, once for the emblem and again for
each image's copy placed by the match. The copy is not read and compared as a string (a misread
letter and a different name look alike that way): the recogniser's own probabilities say how much
less likely the emblem's letters, each near where the emblem has it, make the copy than what it
reads freely there, and where the emblem has no text the copy must have none either. A copy that
reads legibly as other text is not that emblem. A copy too small to read is compared with the
emblem by the layout of its text instead (:func:`layout_agreement`).

The recogniser is PaddleOCR's PP-OCRv4 Chinese and Latin model (Apache 2.0), run by ONNX Runtime:
an optional extra (``pip install 'logowatch[text]'``) with a model file fetched once by
``logowatch fetch-text-model``. Without them the check is off, and ``logowatch index`` says so.
Loading the model once per process is :mod:`logowatch.process`'s; deciding what a distance
means for the score is :mod:`logowatch.scoring`'s.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from logowatch import verification
from logowatch.errors import OutputError, TextModelError
from logowatch.files import file_digest, write_atomically

#: The recogniser: its file name, and the SHA-256 of the file this project was measured with.
MODEL_FILE = "ch_PP-OCRv4_rec_infer.onnx"
MODEL_SHA256 = "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
#: Where ``fetch-text-model`` takes it from: a wheel on PyPI that carries it (fetched without its
#: own dependencies, of which one is the GUI build of OpenCV that servers lack), and its path there.
MODEL_PACKAGE = "rapidocr-onnxruntime==1.4.4"
MODEL_PATH_IN_PACKAGE = f"rapidocr_onnxruntime/models/{MODEL_FILE}"
#: The version of how an emblem's ring is read (see :func:`read_emblem`): readings cached by
#: another version are read again.
READING_VERSION = 4
#: The recogniser reads lines this many pixels high.
LINE_HEIGHT = 48
#: Where a ring's text is looked for, as shares of the ring's radius (outer, inner): the band
#: inside the ring's own line, above the centre's device.
SEARCH_BAND = (1.0, 0.4)
#: Rows of the unwrapped band hold the text where their horizontal edge energy (letters have
#: upright strokes; the ring's lines, unwrapped, have none) reaches this share of the strongest
#: row's; columns hold it where theirs reaches this share of the strongest column's.
TEXT_ROWS = 0.35
TEXT_COLUMNS = 0.15
#: The text's band as read, widened by this share of the text's height each way: an image's
#: copy is placed to a few pixels, and its letters' tops and bottoms must stay in the strip.
TEXT_MARGIN = 0.3
#: An image's copy may show each of the emblem's letters this share of the letters' spacing
#: from where the emblem has it, and this many degrees more (its placement's rotation).
LETTER_TOLERANCE = 0.6
PLACEMENT_TOLERANCE = 4.0
#: A space is put between two of an emblem's letters where the gap between them is this many
#: times the usual gap: the recogniser seldom reads the spaces between widely set letters.
WORD_GAP = 1.5
#: Letters on a ring are at least this share of the searched band high.
MIN_TEXT_HEIGHT = 0.1
#: The whole ring, in degrees either side of the top: what the text's arc is looked for in.
ARC = 180.0
#: An emblem is round when the convex hull of its support fills at least this share of its
#: smallest enclosing circle, of a radius of this many mask pixels or more, drawn by as many.
ROUND_FILL = 0.85
MIN_RING_RADIUS = 8
MIN_RING_PIXELS = 100
#: The unwrapped band is looked at this many pixels high at least, for the text's rows.
MIN_SEARCH_ROWS = 16
#: Probabilities are taken no lower than this (its logarithm, -20.7 nats, is the most a step costs).
FLOOR = 1e-9
#: A reading counts when the recogniser's mean confidence over its characters reaches this and it
#: has at least this many letters, and, for an image's copy, at least this share of the emblem's
#: own. On the seals benchmark, blurred copies of a seal too small to read gave one to four
#: characters at confidences of 0.48 to 0.66; seals with other names, read whole, differed from
#: 0.5 up.
MIN_CONFIDENCE = 0.5
MIN_CHARACTERS = 2
MIN_SHARE_READ = 0.5
#: An emblem's ring reads as a name only where no one character makes more than this share of its
#: letters, and it has at least as many distinct ones as the square root of their number (a name
#: of n letters repeats few of them; 23 letters of a gear's teeth read as four): a ring of dots,
#: teeth or rays, unwrapped, is one mark over and over, which the recogniser reads as a letter
#: repeated. Of the 3,726 logos of the benchmark's large library, 23 had a ring that read before
#: this rule and :func:`locate`'s device rule: BMW's and INTERACTION DESIGN FOUNDATION's, as on
#: their rings, and 21 rings of marks or strokes of a device (OOOOOOO, Sssssssss, JJJJJ, YVYVYY, a
#: gear's teeth as WA YAVA AY WAW ...), none of which reads now. A copy of such an emblem reads its
#: marks otherwise, and lost half its score as other text.
MAX_CHARACTER_SHARE = 0.5
#: A copy's strip that reads with this mean confidence, as the emblem's text, is taken to be the
#: right way round; otherwise its mirror image is read too (see :func:`compare`).
CONFIDENT = 0.9
#: Of a strip and its mirror image, the one that reads more (its letters counted by their mean
#: confidence) is the right way round, and both where the other reads at least this share as
#: much. On the seals benchmark and drawn Latin seals, mirrored text read at most 0.75 as much
#: as the text the right way round, letters that are their own mirror images (TOMATO) 0.95 (the
#: mean confidence alone told the ways round apart less well: a few stray characters at the
#: ring's ends lower it, and mirrored Chinese reads as a few confident characters).
AS_MUCH = 0.8
#: Candidates scoring below this on their design are not read: at the default threshold (0.55)
#: they are no match whatever their ring says, since a ring read as the emblem's name closes half
#: the gap to 1.0 (``scoring.TEXT_SUPPORT``: 0.1 + 0.9 / 2 = 0.55). On the seals benchmark a seal
#: stamped over a photo, placed as another seal of its design had been, scored 0.20 on its design
#: (a thin red ring over a busy photo keeps little of its colours) and was found with its name
#: read (0.60); reading from 0.3, neither seal was read. With
#: a threshold under 0.55 (``logowatch calibrate``, ``--threshold``) a candidate under this may
#: be one its ring could have lifted to it, and is not read.
READ_FROM = 0.1
#: Rows of the strips in which a copy too small to read is compared with its emblem by the
#: layout of its text (see :func:`layout_agreement`): more than a letter of such a copy has.
LAYOUT_ROWS = 24
#: A copy whose text varies along its ring less than this share of what the emblem's does, seen
#: at the copy's detail, is more blurred than its pixels say, and its text's layout is not
#: judged. On the seals benchmark the copies too small to read, right seals and others, had
#: 0.50 to 0.77 of their emblem's variation; a drawn seal shrunk to 40 px and blurred further
#: (by 4 and 6 pixels at 200 px), 0.38 and 0.27.
MIN_TEXT_VISIBLE = 0.45


@dataclass(frozen=True)
class Ring:
    """Where a round emblem's ring lies in its own (working) pixels."""

    centre: tuple[float, float]
    radius: float

    def near(self, other: Ring, share: float) -> bool:
        """Whether ``other`` is this ring: centres and radii within ``share`` of the larger radius."""
        allowed = share * max(self.radius, other.radius)
        return (
            abs(self.centre[0] - other.centre[0]) <= allowed
            and abs(self.centre[1] - other.centre[1]) <= allowed
            and abs(self.radius - other.radius) <= allowed
        )


@dataclass(frozen=True)
class Reading:
    """What the recogniser read, and its mean confidence over the characters, 0..1."""

    text: str
    confidence: float

    @property
    def amount(self) -> float:
        """How much it reads: its letters, each counted by the mean confidence."""
        return self.confidence * len(_letters(self.text))

    def legible(self, expected: str | None = None) -> bool:
        """Whether the reading counts (see :data:`MIN_CONFIDENCE`), as an emblem's own or, given
        the emblem's, as an image's copy of it."""
        letters = len(_letters(self.text))
        wanted = max(MIN_CHARACTERS, MIN_SHARE_READ * len(_letters(expected))) if expected else MIN_CHARACTERS
        return self.confidence >= MIN_CONFIDENCE and letters >= wanted


@dataclass(frozen=True)
class RingText:
    """A round emblem's ring, where its text lies on it and what the text reads, as drawn (not
    mirrored). ``band`` is (outer, inner) as shares of the ring's radius; ``arc`` (first, last)
    the text's inked arc, in degrees clockwise from the top, negative to its left."""

    ring: Ring
    text: str
    band: tuple[float, float] = SEARCH_BAND
    arc: tuple[float, float] = (-ARC, ARC)
    #: Each letter read, with the angle of its middle (degrees clockwise from the top).
    letters: tuple[tuple[str, float], ...] = ()

    def mirrored_ring(self, width: int) -> Ring:
        """The ring of the emblem mirrored, in its pixels (``width`` wide): pixel x of the
        emblem is pixel ``width - 1 - x`` of its mirror image."""
        return Ring((width - 1 - self.ring.centre[0], self.ring.centre[1]), self.ring.radius)


def ring_of(support: np.ndarray, scale: float) -> Ring | None:
    """The ring of an emblem whose ``support`` mask (0/255, ``scale`` mask pixels per emblem
    pixel) is round, in the emblem's pixels; None when the emblem is not round."""
    points = cv2.findNonZero((support >= 128).astype(np.uint8))
    if points is None or len(points) < MIN_RING_PIXELS:
        return None
    (x, y), radius = cv2.minEnclosingCircle(points)
    # The hull, not the mask: a seal's support is its ink (a ring, a star, letters), not a disc.
    if radius < MIN_RING_RADIUS or cv2.contourArea(cv2.convexHull(points)) < ROUND_FILL * np.pi * radius * radius:
        return None
    return Ring((x / scale, y / scale), radius / scale)


#: Circles of an image on which the library's round emblems are placed (see :func:`circles`):
#: at most this many, with radii from :data:`MIN_CIRCLE_SHARE` of the image's shorter side (and
#: :data:`MIN_RING_RADIUS` pixels) to :data:`MAX_CIRCLE_SHARE` of it. A seal in a picture, stamped
#: over a photo or shrunk into a thumbnail: on the seals benchmark, radii of 0.06 to 0.27 of the
#: shorter side. A seal that fills the picture (0.43 to 0.46) is an avatar, which keypoints place;
#: put on its circle too, a copy of another seal of the design, too small to read, came to 0.54.
MOST_CIRCLES = 4
MIN_CIRCLE_SHARE = 0.05
MAX_CIRCLE_SHARE = 0.35
#: How round an edge must be to be taken for a circle: OpenCV's ``HOUGH_GRADIENT_ALT`` score, 1 a
#: perfect circle. A seal's ring over a photo, stamped or in a thumbnail, scores 0.8 and more.
CIRCLE_ROUNDNESS = 0.7
#: Hough's accumulator, this many times coarser than the picture, and the upper threshold of the
#: edges it is given (Canny's, on 8-bit levels): OpenCV's suggestions for ``HOUGH_GRADIENT_ALT``.
CIRCLE_ACCUMULATOR = 1.5
CIRCLE_EDGES = 100
#: Samples around and across a disc unwrapped to find how an emblem on it is turned (see
#: :func:`disc_spectrum`): a degree a column.
DISC_COLUMNS = 360
DISC_ROWS = 32


#: Two circles found are one where their centres and radii differ by no more than this share of
#: the larger radius: a seal's ring found a little off in two channels, or its double ring.
SAME_CIRCLE = 0.25
#: How a circle found is moved and scaled to fit an emblem's text band best (see
#: :func:`fitted_circle`): steps as shares of its radius, coarse then fine. Hough's centres lie
#: up to a tenth of the radius off (a review measured 6 to 8 px on a ring of 75), which turns
#: the text's best fit by degrees and halves its agreement.
CIRCLE_STEPS = (0.08, 0.04)


def circles(picture: np.ndarray, most: int = MOST_CIRCLES) -> list[Ring]:
    """Circles drawn in an RGB ``picture``: the rings of seals among them, at most ``most``.

    Looked for in brightness and in the two colour-opponent channels of CIELAB (a red ring over a
    photo of the same brightness shows in red-green alone), and taken from each channel in turn,
    each channel's as Hough's accumulator ranks them, so that a busy photo's circles in one
    channel leave room for another's. One found in two channels is one (see :data:`SAME_CIRCLE`)."""
    height, width = picture.shape[:2]
    shorter = min(height, width)
    lab = cv2.cvtColor(picture, cv2.COLOR_RGB2LAB)
    by_channel: list[list[Ring]] = []
    for plane in (cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), lab[:, :, 1], lab[:, :, 2]):
        drawn = cv2.HoughCircles(
            np.ascontiguousarray(plane), cv2.HOUGH_GRADIENT_ALT, dp=CIRCLE_ACCUMULATOR, minDist=MIN_RING_RADIUS,
            param1=CIRCLE_EDGES, param2=CIRCLE_ROUNDNESS,
            minRadius=max(MIN_RING_RADIUS, round(MIN_CIRCLE_SHARE * shorter)),
            maxRadius=round(MAX_CIRCLE_SHARE * shorter),
        )
        by_channel.append([] if drawn is None else [Ring((float(x), float(y)), float(r)) for x, y, r in drawn[0]])
    found: list[Ring] = []
    for rank in range(max(map(len, by_channel))):
        for channel in by_channel:
            if rank < len(channel) and not any(channel[rank].near(other, SAME_CIRCLE) for other in found):
                found.append(channel[rank])
    return found[:most]


def fitted_circle(
    picture: np.ndarray, circle: Ring, emblem: tuple[np.ndarray, float], band: tuple[float, float]
) -> Ring:
    """``circle`` of ``picture`` moved and scaled (by :data:`CIRCLE_STEPS`) to where the text band
    of the emblem whose :func:`disc_spectrum` is ``emblem`` agrees best with it, turned as it fits
    best (see :func:`best_turn`)."""
    best = circle
    agreement = best_turn(disc_spectrum(picture, circle, band), emblem)[1]
    for step in CIRCLE_STEPS:
        centre, radius = best.centre, best.radius
        for dx, dy, grow in np.array(np.meshgrid((-1, 0, 1), (-1, 0, 1), (-1, 0, 1))).T.reshape(-1, 3):
            if dx == dy == grow == 0:
                continue
            moved = Ring(
                (centre[0] + dx * step * radius, centre[1] + dy * step * radius), radius * (1.0 + grow * step)
            )
            fit = best_turn(disc_spectrum(picture, moved, band), emblem)[1]
            if fit > agreement:
                best, agreement = moved, fit
    return best


def disc_spectrum(
    picture: np.ndarray, ring: Ring, band: tuple[float, float] = SEARCH_BAND
) -> tuple[np.ndarray, float]:
    """The edges of the ``band`` (outer, inner, as shares of the radius) of the disc inside
    ``ring`` of ``picture``, unwrapped around its centre (a column a degree clockwise from the top,
    rows from the outer edge inwards) with what does not vary around it taken off each row, as
    the Fourier transform of each row, and their norm: a turn of the disc is a shift of its
    columns, which :func:`best_turn` finds. The band of a seal's text, not its star: a star of five
    points fits itself turned by a fifth of a turn, the name along the ring only one way."""
    (cx, cy), radius = ring.centre, ring.radius
    radii = np.linspace(band[0], band[1], DISC_ROWS)[:, None] * radius
    angles = np.deg2rad(np.arange(DISC_COLUMNS) * 360.0 / DISC_COLUMNS)[None, :]
    map_x = (cx + radii * np.sin(angles)).astype(np.float32)
    map_y = (cy - radii * np.cos(angles)).astype(np.float32)
    strip = cv2.remap(np.ascontiguousarray(picture), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    edges = verification.edge_map(strip)
    edges = edges - edges.mean(axis=1, keepdims=True)
    return np.fft.rfft(edges, axis=1), float(np.sqrt((edges**2).sum()))


def best_turn(image: tuple[np.ndarray, float], emblem: tuple[np.ndarray, float]) -> tuple[float, float]:
    """How far, in degrees clockwise, the emblem whose :func:`disc_spectrum` is ``emblem`` is
    turned on the image's disc ``image``, and how well its edges then agree, -1..1."""
    (seen, seen_norm), (drawn, drawn_norm) = image, emblem
    agreement = np.fft.irfft((seen * np.conj(drawn)).sum(axis=0), n=DISC_COLUMNS)
    shift = int(agreement.argmax())
    return shift * 360.0 / DISC_COLUMNS, float(agreement[shift]) / max(seen_norm * drawn_norm, FLOOR)


def unwrap(
    image: np.ndarray,
    ring: Ring,
    to_image: np.ndarray,
    mirrored: bool = False,
    band: tuple[float, float] = SEARCH_BAND,
    arc: tuple[float, float] = (-ARC, ARC),
    height: int = LINE_HEIGHT,
) -> np.ndarray:
    """The ``band`` and ``arc`` of the ring of an emblem placed in ``image`` by ``to_image`` (2x3
    or 3x3, emblem pixels to image pixels), as a strip ``height`` pixels high with its text
    upright and running left to right: row 0 is the band's outer edge, and the ring at angle t
    (degrees clockwise from the top) is the column t has between the arc's ends. A mirrored
    placement shows the text mirrored; its strip is turned back."""
    (cx, cy), radius = ring.centre, ring.radius
    middle = radius * (band[0] + band[1]) / 2
    across = max(radius * (band[0] - band[1]), 1e-6)
    width = max(height, round(np.deg2rad(arc[1] - arc[0]) * middle * height / across))
    radii = np.linspace(band[0], band[1], height)[:, None] * radius
    angles = np.deg2rad(np.linspace(arc[0], arc[1], width))[None, :]
    if mirrored:
        angles = -angles
    xs = cx + radii * np.sin(angles)
    ys = cy - radii * np.cos(angles)
    mapped = verification.mapped(np.stack([xs.ravel(), ys.ravel()], axis=1), to_image).astype(np.float32)
    map_x = np.ascontiguousarray(mapped[:, 0].reshape(height, width))
    map_y = np.ascontiguousarray(mapped[:, 1].reshape(height, width))
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def locate(picture: np.ndarray, ring: Ring, scale: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Where the text on the ``ring`` of an emblem lies, from a ``picture`` of it (``scale``
    picture pixels per emblem pixel): (band, arc) as :class:`RingText` has them, the band
    widened by :data:`TEXT_MARGIN`; None when nothing on the ring has upright strokes.

    A ring's text lies between the ring and the device in its middle. Rows of strokes that run
    on to the inner edge of the searched band are the device's (a crest, waves, a word written
    across the middle): the text is looked for above them, and where there is none the emblem
    has no ring text (the stray ends of a device, read along the ring, are read otherwise in
    each copy)."""
    rows = max(MIN_SEARCH_ROWS, round(ring.radius * scale * (SEARCH_BAND[0] - SEARCH_BAND[1])))
    strip = unwrap(picture, ring, np.diag([scale, scale, 1.0]), height=rows)
    grey = cv2.cvtColor(strip, cv2.COLOR_RGB2GRAY) if strip.ndim == 3 else strip
    strokes = np.abs(cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3))
    profile = np.convolve(strokes.mean(axis=1), np.ones(3) / 3, mode="same")
    # The text is where the strokes are over a letter's height at least: a hard-edged ring's
    # outline, unwrapped, is a staircase with strokes along one or two rows.
    letter = max(3, round(MIN_TEXT_HEIGHT * rows))
    edge = len(profile)
    while True:
        found = _strongest_run(profile[:edge], letter)
        if found is None:
            return None
        top, bottom = found
        # Within half a letter of the band's inner edge, where the profile, smoothed, fades; a
        # device cut off above (``edge`` its top row) only where the run touches it: text close
        # above a crest is text still.
        fading = letter // 2 if edge == len(profile) else 0
        if bottom < edge - 1 - fading:
            break
        edge = top  # the device's strokes: the text, if any, lies above them
    tall = bottom - top + 1
    if tall < MIN_TEXT_HEIGHT * rows:
        return None  # a line's edge, not letters
    columns = np.convolve(strokes[top : bottom + 1].mean(axis=0), np.ones(tall) / tall, mode="same")
    inked = np.flatnonzero(columns >= TEXT_COLUMNS * columns.max())
    margin = TEXT_MARGIN * tall
    share = (SEARCH_BAND[0] - SEARCH_BAND[1]) / (rows - 1)
    band = (
        min(SEARCH_BAND[0], SEARCH_BAND[0] - (top - margin) * share),
        max(SEARCH_BAND[1], SEARCH_BAND[0] - (bottom + margin) * share),
    )
    degrees = 2 * ARC / (strip.shape[1] - 1)
    return band, (-ARC + inked[0] * degrees, -ARC + inked[-1] * degrees)


def _strongest_run(profile: np.ndarray, letter: int) -> tuple[int, int] | None:
    """The first and last row of the run of rows around the strongest ``letter`` rows of a
    profile of strokes, where they reach :data:`TEXT_ROWS` of its peak; None where it is blank
    or shorter than a letter."""
    if len(profile) < letter:
        return None
    middle = int(np.convolve(profile, np.ones(letter) / letter, mode="same").argmax())
    start = max(0, middle - letter)
    peak = start + int(profile[start : middle + letter + 1].argmax())
    level = profile[peak]
    if level <= 0:
        return None
    return _run(profile >= TEXT_ROWS * level, peak)


def _run(on: np.ndarray, at: int) -> tuple[int, int]:
    """The first and last index of the run of True in ``on`` that holds ``at``."""
    first = last = at
    while first > 0 and on[first - 1]:
        first -= 1
    while last < len(on) - 1 and on[last + 1]:
        last += 1
    return first, last


#: A character read: (the character, the time step at its middle, the recogniser's confidence).
Read = tuple[str, float, float]


class Alphabet:
    """The recogniser's classes: the CTC blank (class 0), then ``characters``, in the model's order."""

    def __init__(self, characters: Sequence[str]) -> None:
        self.characters = ["", *characters]
        self._folds: dict[str, list[int]] = {}
        for number, known in enumerate(self.characters):
            if known:
                self._folds.setdefault(_folded(known), []).append(number)

    def classes_of(self, character: str) -> list[int]:
        """The classes that are ``character`` as compared (see :func:`_folded`): a Latin letter
        has a half-width and a full-width class, and an upper and a lower case."""
        return self._folds.get(_folded(character), [])

    def decode(self, probabilities: np.ndarray) -> list[Read]:
        """Greedy CTC decoding of ``probabilities`` (time steps x classes): a run of one class is
        one character; blanks separate repeats."""
        best = probabilities.argmax(axis=1)
        found: list[Read] = []
        step = 0
        while step < len(best):
            end = step
            while end + 1 < len(best) and best[end + 1] == best[step]:
                end += 1
            if best[step] != 0 and best[step] < len(self.characters):
                confidence = float(probabilities[step : end + 1, best[step]].max())
                found.append((self.characters[best[step]], (step + end) / 2, confidence))
            step = end + 1
        return found


class Recogniser:
    """The text recogniser: PP-OCRv4's recognition model under ONNX Runtime, with ``threads``
    (0: as many as ONNX Runtime likes). Loaded once per process, by :func:`process.recogniser`."""

    def __init__(self, model: Path, threads: int = 0) -> None:
        import onnxruntime  # the optional extra: imported only where the check is on

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: Any = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        characters = self._session.get_modelmeta().custom_metadata_map.get("character", "")
        # The model's characters, one a line, and a space last.
        self.alphabet = Alphabet([*characters.splitlines(), " "])
        self._input = self._session.get_inputs()[0].name

    def probabilities(self, strip: np.ndarray) -> np.ndarray:
        """The class probabilities for one line of text, RGB, any size (scaled to
        :data:`LINE_HEIGHT` high): one row per time step, a step for every 8 columns."""
        height, width = strip.shape[:2]
        size = (max(8, round(width * LINE_HEIGHT / height)), LINE_HEIGHT)
        line = strip if height == LINE_HEIGHT else cv2.resize(strip, size, interpolation=cv2.INTER_AREA)
        # The model was trained on OpenCV's blue-green-red order, scaled to -1..1.
        tensor = (line[..., ::-1].astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        output = self._session.run(None, {self._input: np.ascontiguousarray(tensor)})[0][0]
        return np.asarray(output, dtype=np.float32)


def read_emblem(
    recogniser: Recogniser, picture: np.ndarray, support: np.ndarray, scale: float = 1.0
) -> RingText | None:
    """What a round emblem's ring reads, from a ``picture`` of it (``scale`` picture pixels per
    emblem pixel) and the ``support`` mask at the picture's size; None when the emblem is not
    round or its ring has no legible text."""
    ring = ring_of(support, scale)
    if ring is None:
        return None
    found = locate(picture, ring, scale)
    if found is None:
        return None
    band, arc = found
    probabilities = recogniser.probabilities(unwrap(picture, ring, np.diag([scale, scale, 1.0]), band=band))
    read = recogniser.alphabet.decode(probabilities)
    if not _reading(read).legible():
        return None
    # The emblem's text is what lies on its inked arc: marks elsewhere on the ring (where its
    # ends meet, the ring's own joins) read as stray characters.
    placed = [(character, _angle(step, len(probabilities))) for character, step, _ in read]
    letters = tuple((c, round(a, 2)) for c, a in placed if c.isalnum() and arc[0] <= a <= arc[1])
    spelled = "".join(c for c, _ in letters)
    if not Reading(spelled, 1.0).legible() or not is_name(spelled):
        return None  # too little to read, or a ring of marks that reads as one letter over and over
    return RingText(ring, shown(_spaced(letters)), band, arc, letters)


def is_name(letters: str) -> bool:
    """Whether the letters an emblem's ring reads (spaces left out) are a name and not one mark
    read over and over (see :data:`MAX_CHARACTER_SHARE`)."""
    counts = Counter(_folded(letters))
    total = sum(counts.values())
    return bool(total) and max(counts.values()) <= MAX_CHARACTER_SHARE * total and len(counts) >= math.sqrt(total)


def _spaced(letters: tuple[tuple[str, float], ...]) -> str:
    """The letters as text, with a space where the gap before one is :data:`WORD_GAP` times the
    usual gap."""
    gaps = np.diff([angle for _, angle in letters])
    usual = float(np.median(gaps)) if len(gaps) else 0.0
    return "".join(
        (" " if k and gaps[k - 1] > WORD_GAP * usual else "") + character for k, (character, _) in enumerate(letters)
    )


def _angle(step: float, steps: int) -> float:
    """The angle of a time step's middle, in a strip of the whole ring (degrees from the top)."""
    return -ARC + (step + 0.5) * 2 * ARC / steps


def _reading(read: list[Read]) -> Reading:
    """A reading of the characters decoded."""
    return Reading("".join(c for c, _, _ in read), float(np.mean([c for _, _, c in read])) if read else 0.0)


@dataclass(frozen=True)
class Comparison:
    """How an image's copy of a ring compares with the emblem's: what it reads freely, and how
    much less likely the emblem's own letters, each near where the emblem has it, make the copy
    than that free reading does, in nats (0 where the copy reads as the emblem does)."""

    reading: Reading
    #: The most any one of the emblem's letters costs.
    worst_letter: float
    #: What the rest of the ring costs, where the emblem has no text and the copy should read
    #: none: a longer name whose beginning is the emblem's is caught here.
    outside: float

    @property
    def distance(self) -> float:
        """How far the copy's text is from the emblem's, in nats: the worse of the two."""
        return max(self.worst_letter, self.outside)


class Copy:
    """An image's copy of a ring as one line of text (its strip: the whole ring in a text band,
    see :func:`unwrap`), and what the recogniser reads in it each way round, read once: the
    seals of one design placed on the same ring of an image are all compared with one reading."""

    def __init__(self, recogniser: Recogniser, strip: np.ndarray) -> None:
        self.recogniser = recogniser
        self.strip = strip
        self._views: dict[bool, tuple[Reading, np.ndarray]] = {}

    def view(self, turned: bool) -> tuple[Reading, np.ndarray]:
        """What the strip, or with ``turned`` its mirror image, reads freely, and the
        recogniser's probabilities for it (see :meth:`Recogniser.probabilities`)."""
        if turned not in self._views:
            strip = np.ascontiguousarray(self.strip[:, ::-1]) if turned else self.strip
            probabilities = self.recogniser.probabilities(strip)
            self._views[turned] = (_reading(self.recogniser.alphabet.decode(probabilities)), probabilities)
        return self._views[turned]


def compare(copy: Copy, emblem: RingText, within: float) -> Comparison | None:
    """Compare an image's ``copy`` of a ring with the emblem's text (see
    :func:`compare_probabilities`); None where the copy is illegible.

    A seal's ring and star look the same mirrored, so a placement may be mirrored wrongly, and
    text read the wrong way round is nonsense that the emblem's letters fit cheaply (the
    recogniser is unsure of every letter). So where the strip as placed reads with less than
    :data:`CONFIDENT` confidence, or further than ``within`` from the emblem's text, its mirror
    image is read too, and the copy is compared the way round that reads more (see
    :data:`AS_MUCH`): text the right way round does. Where both read about as much (letters
    that are their own mirror images), the closer comparison is kept.
    """
    alphabet = copy.recogniser.alphabet
    reading, probabilities = copy.view(turned=False)
    views = [(reading, compare_probabilities(alphabet, probabilities, emblem))]
    comparison = views[0][1]
    if reading.confidence < CONFIDENT or comparison is None or comparison.distance > within:
        reading, probabilities = copy.view(turned=True)
        views.append((reading, compare_probabilities(alphabet, probabilities, emblem)))
    most = max(reading.amount for reading, _ in views)
    compared = [c for reading, c in views if reading.amount >= AS_MUCH * most and c is not None]
    return min(compared, key=lambda c: c.distance) if compared else None


def compare_probabilities(alphabet: Alphabet, probabilities: np.ndarray, emblem: RingText) -> Comparison | None:
    """Compare a copy of a ring, as the recogniser's ``probabilities`` (time steps x classes)
    over a strip of the whole ring, with the emblem's letters. None where the copy is illegible
    (see :meth:`Reading.legible`) or the emblem has a letter the model does not know.

    The distance is a constrained CTC alignment: the likeliest path that spells the emblem's
    letters, each within :data:`LETTER_TOLERANCE` of the letters' spacing (and
    :data:`PLACEMENT_TOLERANCE`) of its angle, against the free reading, step by step. A seal's
    ring and star look the same turned, so a placement may be turned wrongly: the letters are
    also compared where the copy's own letters agree the ring's top is, and the closer is kept.
    """
    choices = [alphabet.classes_of(character) for character, _ in emblem.letters]
    if not choices or any(len(c) == 0 for c in choices):
        return None
    read = alphabet.decode(probabilities)
    reading = _reading(read)
    if not reading.legible(emblem.text):
        return None
    folded = [_folded(character) for character, _ in emblem.letters]
    angles = np.array([angle for _, angle in emblem.letters])
    spacing = abs(float(np.median(np.diff(angles)))) if len(angles) > 1 else 2 * ARC / LINE_HEIGHT
    tolerance = LETTER_TOLERANCE * spacing + PLACEMENT_TOLERANCE
    steps = len(probabilities)
    middles = np.array([_angle(step, steps) for step in range(steps)])
    allowed = np.abs(middles[None, :] - angles[:, None]) <= tolerance  # letter x step
    comparisons = []
    for turn in _turns(read, emblem.letters, steps, tolerance):
        turned = np.roll(probabilities, -turn, axis=0)
        # A letter is any of the model's classes that are it (a full-width Latin letter too).
        letters = np.stack([turned[:, c].sum(axis=1) for c in choices], axis=1)
        comparisons.append(_compared(reading, turned, letters, folded, allowed))
    return min(comparisons, key=lambda c: c.distance)


def _turns(read: list[Read], letters: tuple[tuple[str, float], ...], steps: int, tolerance: float) -> list[int]:
    """The offsets, in time steps, to compare the emblem's letters at: none (the placement's
    own), and the one most of the copy's letters that are the emblem's agree on."""
    per_step = 2 * ARC / steps
    offsets = [
        round(step - ((angle + ARC) / per_step - 0.5)) % steps
        for character, step, _ in read
        for expected, angle in letters
        if _folded(character) == _folded(expected)
    ]
    if not offsets:
        return [0]
    # Votes within the tolerance of each other count together.
    width = max(1, round(tolerance / per_step))
    votes = [sum(min(abs(o - p), steps - abs(o - p)) <= width for p in offsets) for o in offsets]
    likeliest = offsets[int(np.argmax(votes))]
    return [0] if likeliest == 0 else [0, likeliest]


def _compared(
    reading: Reading, probabilities: np.ndarray, letters: np.ndarray, folded: list[str], allowed: np.ndarray
) -> Comparison:
    """The comparison of one view of a copy with the emblem's letters: ``probabilities`` (steps x
    classes) of the view, ``letters`` (steps x letters) those of each of the emblem's letters."""
    blank = np.log(np.maximum(probabilities[:, 0], FLOOR))
    spelled = np.log(np.maximum(letters, FLOOR))
    visited = _aligned(blank, spelled, folded, allowed)
    if visited is None:
        # No path spells the letters where the emblem has them (a strip of fewer time steps
        # than the letters need, which the copy's strip, as long as the emblem's, hardly is):
        # as far as a copy can be, every step the least likely.
        most = -float(np.log(FLOOR)) * len(probabilities)
        return Comparison(reading, most, most)
    steps = len(probabilities)
    letter = (visited - 1) // 2
    emitted = np.where(visited % 2 == 1, spelled[np.arange(steps), np.maximum(letter, 0)], blank)
    loss = np.maximum(0.0, np.log(np.maximum(probabilities.max(axis=1), FLOOR)) - emitted)
    # Steps before the first letter and after the last are outside the emblem's text; a blank
    # between two letters counts with the letter before it.
    letter[(visited == 0) | (visited == 2 * len(folded))] = -1
    inside = [float(loss[letter == k].sum()) for k in range(len(folded))]
    return Comparison(reading, max(inside), float(loss[letter < 0].sum()))


def _aligned(blank: np.ndarray, spelled: np.ndarray, folded: list[str], allowed: np.ndarray) -> np.ndarray | None:
    """The likeliest CTC path that spells the emblem's letters, each only at the steps
    ``allowed`` (letters x steps) marks, from the log probabilities of a blank (steps) and of
    each letter (steps x letters): the state at each step (even: a blank, before letter state/2;
    odd: letter state//2). None when no path fits."""
    steps, count = spelled.shape
    states = 2 * count + 1
    emit = np.empty((steps, states))
    emit[:, 0::2] = blank[:, None]
    emit[:, 1::2] = np.where(allowed.T, spelled, -np.inf)
    # A letter may follow the one before it without a blank between unless they are the same.
    skip = np.zeros(states, dtype=bool)
    skip[3::2] = [folded[k] != folded[k - 1] for k in range(1, count)]
    score = np.full(states, -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((steps, states), dtype=np.int64)
    for step in range(1, steps):
        advance = np.concatenate([[-np.inf], score[:-1]])
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        choices = np.stack([score, advance, jump])
        back[step] = np.arange(states) - choices.argmax(axis=0)
        score = choices.max(axis=0) + emit[step]
    last = states - 1 if score[-1] >= score[-2] else states - 2
    if not np.isfinite(score[last]):
        return None
    visited = np.zeros(steps, dtype=np.int64)
    visited[-1] = last
    for step in range(steps - 1, 0, -1):
        visited[step - 1] = back[step, visited[step]]
    return visited


def layout_agreement(
    image: np.ndarray,
    drawn: np.ndarray,
    ring: Ring,
    to_image: np.ndarray,
    mirrored: bool,
    band: tuple[float, float],
    pixel_size: float,
) -> float | None:
    """How far the text on a copy of a ring that is too small or blurred to read is laid out as
    the emblem's is, -1..1: where along the ring its letters are, how long its name runs, how
    dense each letter's strokes are. ``image`` holds the copy, placed by ``to_image`` (emblem
    pixels to image pixels); ``drawn`` is the emblem rendered in the image's pixels by the same
    placement; ``pixel_size`` the size, in image pixels, of the finest detail the image holds.
    None where the copy shows too little of any text to say (see :data:`MIN_TEXT_VISIBLE`).

    Both are seen at the copy's detail (shrunk by ``pixel_size`` and enlarged again), unwrapped
    along the ``band`` of the ring, and their edges correlated once what does not vary along the
    ring (its lines, a tint) is taken off each row: what is left is the text. A seal of the same
    design with another body's name has its letters elsewhere, or more of them, or other ones."""
    strips = []
    for picture in (image, drawn):
        picture = verification.at_detail(picture, pixel_size)
        edges = verification.edge_map(unwrap(picture, ring, to_image, mirrored, band, height=LAYOUT_ROWS))
        strips.append(edges - edges.mean(axis=1, keepdims=True))
    copy, emblem = strips
    if float(copy.std()) < MIN_TEXT_VISIBLE * float(emblem.std()):
        return None
    return verification.correlation(copy.ravel(), emblem.ravel())


def shown(reading: str) -> str:
    """A reading as reports show it: in plain widths (the recogniser writes some Latin letters
    full-width, as Chinese text sets them), without the punctuation the ring's ends read as."""
    plain = unicodedata.normalize("NFKC", reading)
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def _folded(text: str) -> str:
    """Text as compared: in plain widths and without case."""
    return unicodedata.normalize("NFKC", text).casefold()


def _letters(reading: str) -> str:
    """A reading's letters and digits, as compared: the ring's own line where the text's ends
    meet reads as a dash, and a seal's name has no punctuation to compare."""
    return "".join(character for character in _folded(reading) if character.isalnum())


def unavailable(model: Path) -> str | None:
    """Why the text check cannot run here with the ``model`` file, or None when it can."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "ONNX Runtime is not installed (pip install 'logowatch[text]')"
    if not model.is_file():
        return f"no text model at {model} (run: logowatch fetch-text-model)"
    try:
        if not has_model_digest(model):
            return (
                f"{model} is damaged or not the text model this version was measured with "
                "(run: logowatch fetch-text-model)"
            )
    except OSError as exc:
        return f"cannot read the text model {model}: {exc.strerror or exc}"
    return None


def has_model_digest(model: Path) -> bool:
    """Whether the file ``model`` is the recogniser this version was measured with (its SHA-256)."""
    return file_digest(model) == MODEL_SHA256


def fetch_model(target: Path) -> Path:
    """Fetch the recogniser's model file into ``target`` from :data:`MODEL_PACKAGE` on the
    package index, with pip, and check its digest. Returns ``target``. Raises
    :class:`TextModelError` with the reason and what to do when it cannot."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--dest", folder, MODEL_PACKAGE,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(folder).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise TextModelError(
                f"pip could not download {MODEL_PACKAGE} (check the network and pip's index settings): "
                f"{done.stderr.strip()[-400:] or 'no wheel'}"
            )
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                data = wheel.read(MODEL_PATH_IN_PACKAGE)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise TextModelError(f"{wheels[0].name} holds no {MODEL_PATH_IN_PACKAGE}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise TextModelError(
            f"{MODEL_FILE} from {MODEL_PACKAGE} is not the file this version was measured with "
            "(the package index may serve another build; upgrade logowatch)"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
    except OSError as exc:
        raise TextModelError(f"cannot save the text model to {target}: {exc.strerror or exc}") from exc
    except OutputError as exc:
        raise TextModelError(f"cannot save the text model: {exc}") from exc
    return target

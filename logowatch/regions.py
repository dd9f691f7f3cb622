"""Flat regions of an emblem, found in an image by their shapes: one pair places the whole emblem.

A flag, a glyph or a pictogram seen at an angle has too few keypoints for any transform, but it is
made of a few flat regions of light and dark, and a plane seen from afar maps each of them by an
affine map. Whitened by its second moments (centred and stretched so that they become those of a
disc), a region is the same shape in every such view, up to a turn: the regions of Mikolajczyk and
Schmid's affine-covariant detectors, and Lindeberg and Garding's affine shape adaptation. So each
region is sampled on a polar grid in its whitened frame (:data:`RINGS` rings by :data:`ANGLES`
angles, out to :data:`REACH` standard deviations, which holds a whitened disc and a little around
it). The magnitudes of that grid's Fourier series around each ring do not change as it turns: they
index it. Where a region of the image and one of an emblem agree, the shift of the series that
lines them up is the turn, and with their centres and moments it fixes a whole affine placement of
the emblem. A second region of the emblem falling on one of the image's where that placement puts
it confirms it (see :meth:`RegionIndex.placements`).

A convex quadrilateral, a triangle or an ellipse (and near enough a regular polygon or a disc)
whitens to one shape whatever it was: every rectangle looks like every other, and every stripe of
a flag like every bar of a screenshot's toolbar. Such a region (``plain``) proposes nothing by
itself; a placement needs a region that is not plain, as its first pair or among those that
confirm it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from logowatch import features, verification

#: The polar grid a region is described on: rings, angles, and its radius in standard deviations
#: of the whitened region (a disc whitened has a radius of two).
RINGS = 8
ANGLES = 64
REACH = 2.5
#: Harmonics of each ring's series that index a region (see :func:`_invariants`): the lowest, which
#: a region's shape keeps at the size of an avatar. With 8 instead of all 32 the benchmarks' images
#: found the same emblems, and the index's invariants take a quarter of the memory (the whole
#: index about 1.4 KB a region instead of 2.2, most of it the grids turned into line).
HARMONICS = 8
#: Longer side of the copy of an image that its regions are found in (see :func:`of_image`): about
#: the size an emblem's preview is (160 px) where an emblem fills an avatar, at a fifth of the work
#: of finding them in the working copy (512 px at most), where the benchmarks' images gave the same
#: verdicts; at 192 one emblem of the dev-extra benchmark found at 256 was lost.
DEFAULT_IMAGE_SIDE = 256
#: Pixels a region needs, in any image (as the shape alignment's do, ``verification``); and its share
#: of the image (an emblem's share of its own preview) between these to be described: smaller ones
#: are a few pixels across, too coarse to whiten (0.4% of a 256 px image is 16 px square), larger
#: ones are the ground (an emblem's own region may fill nearly all of its preview).
MIN_REGION_PIXELS = 20
MIN_IMAGE_SHARE = 0.004
MIN_EMBLEM_SHARE = 0.005
MAX_IMAGE_SHARE = 0.8
MAX_EMBLEM_SHARE = 0.95
#: A region whose second moments across are less than this share of those along (about a seventh
#: as wide as long) is a line, with no second direction to whiten reliably.
MIN_SPREAD = 0.02
#: Two regions found at two levels of light and dark are one where they share this much of their
#: pixels (of the two together): a region with soft edges is cut a little otherwise at each level,
#: and would otherwise confirm itself.
SAME_REGION = 0.8
#: A region is plain (see the module's docstring) where it fills at least :data:`PLAIN_SOLIDITY` of
#: its convex hull and that hull has four corners or fewer at :data:`PLAIN_CORNER_TOLERANCE` of its
#: perimeter; or where it fills :data:`ELLIPSE_SOLIDITY` of its hull and its area is within
#: :data:`ELLIPSE_AREA` of its moments' ellipse.
PLAIN_SOLIDITY = 0.9
PLAIN_CORNER_TOLERANCE = 0.04
ELLIPSE_SOLIDITY = 0.95
ELLIPSE_AREA = 0.1
#: Pairs of an image's region and an emblem's looked at for each image, each region of the image
#: an equal share, its most alike by the magnitudes of their series (at least one each: an image
#: with more regions than this looks at one pair a region).
DEFAULT_PAIRS = 400
#: The correlation, once turned into line, that a pair's polar grids (each ring's mean taken off)
#: need to propose a placement. In a first trial on the dev and dev-extra benchmarks (each region
#: sampled with its side of the threshold around it), the pairs that placed an emblem where it was
#: agreed at 0.89 to 0.99; the best pairs behind two placements of a three-leaf emblem over a
#: blurred two-leaf logo and an emoji's eye, 0.39 to 0.52.
MIN_SHAPE_AGREEMENT = 0.85
#: Where another region of the emblem must lie to confirm a placement: its centre within this many
#: standard deviations of where the placement puts it (of its own moments, as placed), and its
#: second moments within :data:`MOMENTS_WITHIN` times of the placed region's along every direction
#: (its axes within the square root of that).
CENTRE_WITHIN = 0.5
MOMENTS_WITHIN = 2.0
#: Regions of the image, besides the pair's own, that an emblem's region must land on (see
#: :data:`CENTRE_WITHIN`) for a placement to stand: one, the fewest that check what the pair fixed.
MIN_CONFIRMATIONS = 1


@dataclass(frozen=True)
class Regions:
    """Flat regions of one picture: centres (n, 2) in its pixels, square roots of their
    second-moment matrices (n, 2, 2), their masks on the polar grid of their whitened frames
    (n, :data:`RINGS`, :data:`ANGLES`), and which of them are plain."""

    centres: np.ndarray
    roots: np.ndarray
    grids: np.ndarray
    plain: np.ndarray

    def __len__(self) -> int:
        return int(self.centres.shape[0])

    @classmethod
    def empty(cls) -> Regions:
        return cls(
            np.zeros((0, 2)), np.zeros((0, 2, 2)), np.zeros((0, RINGS, ANGLES), np.float32), np.zeros(0, bool)
        )

    def scaled(self, factor: float) -> Regions:
        """The same regions in pixels ``factor`` times larger (their grids do not change)."""
        return Regions(self.centres * factor, self.roots * factor, self.grids, self.plain)


@dataclass(frozen=True)
class Placement:
    """Where regions place one view of an emblem: ``view`` (2 * variant + mirrored), the affine
    transform (2x3) from the emblem's pixels to the image's, and how many of its regions agree."""

    view: int
    transform: np.ndarray
    regions: int


def find(
    grey: np.ndarray,
    within: np.ndarray | None = None,
    shares: tuple[float, float] = (MIN_IMAGE_SHARE, MAX_IMAGE_SHARE),
) -> Regions:
    """The flat regions of a grey picture (of its pixels ``within``, where given): the connected
    regions of each side of each of its levels of light and dark (``verification.levels``), at
    least :data:`MIN_REGION_PIXELS` and between ``shares`` of the picture, that are not lines,
    each once (see :data:`SAME_REGION`)."""
    height, width = grey.shape
    inside = np.ones(grey.shape, bool) if within is None else within
    smallest = max(MIN_REGION_PIXELS, shares[0] * height * width)
    largest = shares[1] * height * width
    centres: list[np.ndarray] = []
    boxes: list[tuple[int, int, np.ndarray]] = []
    roots, grids, plain = [], [], []
    for x, y, region in components(grey, inside, MIN_REGION_PIXELS, smallest, largest):
        shape = verification.moments(region, MIN_SPREAD)
        if shape is None:
            continue  # a line
        box = (x, y, region)
        if any(_overlap(box, other) >= SAME_REGION for other in boxes):
            continue  # the same region, cut a little otherwise at another level
        boxes.append(box)
        centre, root = shape
        centres.append(centre + np.array([x, y]))
        roots.append(root)
        grids.append(_grid(region, centre, root))
        plain.append(_plain(region, int(np.count_nonzero(region)), root))
    if not centres:
        return Regions.empty()
    return Regions(np.array(centres), np.array(roots), np.array(grids, np.float32), np.array(plain, bool))


def components(
    grey: np.ndarray, inside: np.ndarray, fewest: int, smallest: float, largest: float
) -> Iterator[tuple[int, int, np.ndarray]]:
    """The connected regions of each side of each of a grey picture's levels of light and dark
    (``verification.levels`` over its pixels ``inside``, a boolean mask, each side split again
    where it has ``fewest`` pixels or more), of ``smallest`` to ``largest`` pixels: each as the
    corner (x, y) of its bounding box and its mask there (0 and 1). A region may come more than
    once, cut a little otherwise at each level."""
    for threshold in verification.levels(grey, inside, fewest):
        light = grey > threshold
        for side in (light & inside, ~light & inside):
            _, labels, stats, _ = cv2.connectedComponentsWithStats(side.astype(np.uint8), connectivity=8)
            sizes = stats[:, cv2.CC_STAT_AREA]
            sizes[0] = 0  # label 0: the other side
            for label in np.flatnonzero((sizes >= smallest) & (sizes <= largest)):
                x, y, w, h = (int(v) for v in stats[label, :4])
                yield x, y, (labels[y : y + h, x : x + w] == label).astype(np.uint8)


def small_grey(rgb: np.ndarray, side: int = DEFAULT_IMAGE_SIDE) -> tuple[np.ndarray, float]:
    """An image in grey, in a copy no longer than ``side`` pixels, and how many of the image's
    pixels one of the copy's spans (1.0 where the image is no longer than that)."""
    grey = features.to_grey(rgb)
    shrink = side / max(grey.shape)
    if shrink >= 1.0:
        return grey, 1.0
    size = (max(1, round(grey.shape[1] * shrink)), max(1, round(grey.shape[0] * shrink)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), grey.shape[1] / size[0]


def _overlap(one: tuple[int, int, np.ndarray], other: tuple[int, int, np.ndarray]) -> float:
    """Intersection over union of two regions, each its bounding box's corner (x, y) and its mask
    there."""
    (x0, y0, a), (x1, y1, b) = one, other
    left, top = max(x0, x1), max(y0, y1)
    right, bottom = min(x0 + a.shape[1], x1 + b.shape[1]), min(y0 + a.shape[0], y1 + b.shape[0])
    if right <= left or bottom <= top:
        return 0.0
    ours = a[top - y0 : bottom - y0, left - x0 : right - x0]
    theirs = b[top - y1 : bottom - y1, left - x1 : right - x1]
    shared = int(np.count_nonzero(ours & theirs))
    return shared / (int(np.count_nonzero(a)) + int(np.count_nonzero(b)) - shared)


def of_image(rgb: np.ndarray, side: int = DEFAULT_IMAGE_SIDE) -> Regions:
    """The flat regions of an image (see :func:`find`), found in a copy no longer than ``side``
    pixels, in the image's pixels."""
    small, factor = small_grey(rgb, side)
    found = find(small)
    return found if factor == 1.0 else found.scaled(factor)


def silhouette(inked: np.ndarray) -> np.ndarray:
    """A mask with the holes it encloses filled: the pixels not reached from its border through
    pixels outside it."""
    outside = np.pad(~inked, 1, constant_values=True).astype(np.uint8)
    reached = np.zeros((outside.shape[0] + 2, outside.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, reached, (0, 0), 2)
    filled: np.ndarray = outside[1:-1, 1:-1] != 2
    return filled


def of_emblem(rgb: np.ndarray, inked: np.ndarray) -> Regions:
    """The flat regions of an emblem's picture within its ``inked`` pixels (a boolean mask: its
    own, not grown into the border it was prepared with), between :data:`MIN_EMBLEM_SHARE` and
    :data:`MAX_EMBLEM_SHARE` of the picture."""
    return find(features.to_grey(rgb), inked, (MIN_EMBLEM_SHARE, MAX_EMBLEM_SHARE))


def _grid(region: np.ndarray, centre: np.ndarray, root: np.ndarray) -> np.ndarray:
    """A region's mask (its bounding box's, ``centre`` in its pixels) sampled on the polar grid of
    its whitened frame: the
    region alone, since what lies around an emblem's regions in an image is not what lies around
    them in its drawing (sampled with its side of the threshold around it, a rounded frame seen
    askew correlated with the drawing's at 0.5 instead of 0.99)."""
    radii = (np.arange(RINGS) + 0.5) / RINGS * REACH
    angles = np.arange(ANGLES) * 2 * np.pi / ANGLES
    circle = np.stack([np.outer(radii, np.cos(angles)), np.outer(radii, np.sin(angles))], axis=-1)
    where = (circle @ root.T + centre).astype(np.float32)
    sampled: np.ndarray = cv2.remap(
        region.astype(np.float32), where[..., 0], where[..., 1], cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    return sampled


def _plain(region: np.ndarray, area: int, root: np.ndarray) -> bool:
    """Whether a region (a mask of its bounding box) is a convex quadrilateral, a triangle or an
    ellipse, which whiten alike (see the module's docstring)."""
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.vstack(contours))
    perimeter = cv2.arcLength(hull, True)
    # The hull runs through the outer pixels' centres: half a pixel more all round is their area.
    solidity = area / (cv2.contourArea(hull) + 0.5 * perimeter + 1.0)
    if solidity < PLAIN_SOLIDITY:
        return False
    if len(cv2.approxPolyDP(hull, PLAIN_CORNER_TOLERANCE * perimeter, True)) <= 4:
        return True
    ellipse = 4.0 * np.pi * float(np.linalg.det(root))
    return solidity >= ELLIPSE_SOLIDITY and abs(ellipse / area - 1.0) < ELLIPSE_AREA


def _centred(grids: np.ndarray) -> np.ndarray:
    """Each grid with each ring's mean taken off, scaled to unit length: what
    :meth:`RegionIndex.placements` correlates, turned, to find the turn."""
    centred = grids - grids.mean(axis=2, keepdims=True)
    length = np.sqrt((centred**2).sum(axis=(1, 2), keepdims=True))
    scaled: np.ndarray = centred / np.maximum(length, 1e-9)
    return scaled


def _aligned(grids: np.ndarray, centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How well each of ``grids`` (an image's regions') agrees in shape with the same row of
    ``centred`` (an index's, see :func:`_centred`), turned into line: the correlation of the two
    polar grids at the turn where it is highest, and that turn, in steps of the grid's angles."""
    series = np.fft.fft(_centred(grids), axis=2)
    own = np.fft.fft(centred.astype(np.float32), axis=2)
    correlation = np.fft.ifft((series * np.conj(own)).sum(axis=1), axis=1).real
    return correlation.max(axis=1), correlation.argmax(axis=1)


def _invariants(grids: np.ndarray) -> np.ndarray:
    """What does not change as a region turns: the magnitudes of each ring's series (but its mean),
    scaled to unit length, one row per region."""
    magnitudes = np.abs(np.fft.rfft(grids, axis=2))[:, :, 1 : HARMONICS + 1].reshape(len(grids), RINGS * HARMONICS)
    length = np.linalg.norm(magnitudes, axis=1, keepdims=True)
    scaled: np.ndarray = (magnitudes / np.maximum(length, 1e-9)).astype(np.float32)
    return scaled


class RegionIndex:
    """The regions of every view of a library's emblems (``regions[view]``, in emblem pixels, view
    = 2 * variant + mirrored), and ``entity_of_view``: queried for the placements an image's
    regions propose (:meth:`placements`)."""

    def __init__(self, regions: list[Regions], entity_of_view: list[int]) -> None:
        counts = [len(r) for r in regions]
        self.view = np.repeat(np.arange(len(regions)), counts)
        self.entity = np.asarray(entity_of_view, np.int64)[self.view]
        joined = [r for r in regions if len(r)] or [Regions.empty()]
        self.centres = np.concatenate([r.centres for r in joined])
        self.roots = np.concatenate([r.roots for r in joined])
        self.covariances = self.roots @ self.roots
        self.plain = np.concatenate([r.plain for r in joined])
        grids = np.concatenate([r.grids for r in joined])
        self.invariants = _invariants(grids)
        # Half precision: a large library's index holds a hundred thousand of them.
        self.centred = _centred(grids).astype(np.float16)
        # Each view's regions, one row per view, padded with -1.
        widest = max(counts, default=0)
        self.members = -np.ones((len(regions), max(1, widest)), np.int64)
        start = 0
        for view, count in enumerate(counts):
            self.members[view, :count] = np.arange(start, start + count)
            start += count

    def __len__(self) -> int:
        return int(self.centres.shape[0])

    def placements(self, image: Regions, limit: int, pairs: int = DEFAULT_PAIRS) -> list[Placement]:
        """The placements that the image's regions propose, at most ``limit`` of them, one per
        entity, those that more regions confirm first (then the best agreeing pair's).

        The ``pairs`` most alike by their invariants, each region of the image an equal share of
        them, are turned into line; each that agrees
        (:data:`MIN_SHAPE_AGREEMENT`) places the emblem, and counts the emblem's other regions
        that fall on one of the image's where it puts them (see :data:`CENTRE_WITHIN`). A
        placement stands where at least one does and a region that is not plain took part."""
        if not len(image) or not len(self):
            return []
        # Each region of the image its share of the pairs, its most alike: three bars of a toolbar
        # alike with every stripe of a library of flags would otherwise take them all.
        alike = _invariants(image.grids) @ self.invariants.T
        share = min(len(self), max(1, pairs // len(image)))
        theirs = np.argpartition(-alike, share - 1, axis=1)[:, :share].ravel()
        ours = np.repeat(np.arange(len(image)), share)
        agreement, shift = _aligned(image.grids[ours], self.centred[theirs])
        kept = agreement >= MIN_SHAPE_AGREEMENT
        ours, theirs, shift, agreement = ours[kept], theirs[kept], shift[kept], agreement[kept]
        if not len(ours):
            return []
        angle = shift * 2 * np.pi / ANGLES
        cos, sin = np.cos(angle), np.sin(angle)
        turn = np.stack([np.stack([cos, -sin], axis=-1), np.stack([sin, cos], axis=-1)], axis=-2)
        linear = image.roots[ours] @ turn @ np.linalg.inv(self.roots[theirs])
        moved = image.centres[ours] - np.einsum("pij,pj->pi", linear, self.centres[theirs])
        confirmed, varied = self._confirmations(image, ours, theirs, linear, moved)
        stands = (confirmed >= MIN_CONFIRMATIONS) & (~(image.plain[ours] | self.plain[theirs]) | varied)
        best: dict[int, tuple[tuple[int, float], int]] = {}
        for pair in np.flatnonzero(stands):
            entity = int(self.entity[theirs[pair]])
            rank = (int(confirmed[pair]), float(agreement[pair]))
            if entity not in best or rank > best[entity][0]:
                best[entity] = (rank, int(pair))
        ranked = sorted(best.values(), key=lambda item: (-item[0][0], -item[0][1]))[:limit]
        return [
            Placement(
                view=int(self.view[theirs[pair]]),
                transform=np.hstack([linear[pair], moved[pair][:, None]]),
                regions=int(confirmed[pair]) + 1,
            )
            for _, pair in ranked
        ]

    def _confirmations(
        self, image: Regions, ours: np.ndarray, theirs: np.ndarray, linear: np.ndarray, moved: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each placement (pair ``ours[p]``, ``theirs[p]``, placed by ``linear[p]`` and
        ``moved[p]``), how many of the emblem view's other regions fall on regions of the image
        (but the pair's own), each on one of its own, and whether one of those is not plain on
        either side. A region of either counts once, however many of the other's land on it or
        under it: two copies of a region, or a region found at two levels, are one check. (The
        lesser of the two counts: how many pair one to one, but for odd overlaps.)"""
        members = self.members[self.view[theirs]]
        usable = (members >= 0) & (members != theirs[:, None])
        placement, slot = np.nonzero(usable)
        other = members[placement, slot]
        confirmed = np.zeros(len(ours), np.int64)
        varied = np.zeros(len(ours), bool)
        if not len(other):
            return confirmed, varied
        by = linear[placement]
        expected = np.einsum("kij,kj->ki", by, self.centres[other]) + moved[placement]
        precision = np.linalg.inv(by @ self.covariances[other] @ np.transpose(by, (0, 2, 1)))
        offset = image.centres[None, :, :] - expected[:, None, :]
        squared = np.einsum("kmi,kij,kmj->km", offset, precision, offset)
        # The image's regions' moments against those expected: both eigenvalues near one.
        relative = precision[:, None] @ (image.roots @ image.roots)[None]
        trace = relative[..., 0, 0] + relative[..., 1, 1]
        determinant = relative[..., 0, 0] * relative[..., 1, 1] - relative[..., 0, 1] * relative[..., 1, 0]
        half_gap = np.sqrt(np.maximum(trace**2 / 4 - determinant, 0.0))
        lowest, highest = trace / 2 - half_gap, trace / 2 + half_gap
        lands = (squared <= CENTRE_WITHIN**2) & (lowest >= 1 / MOMENTS_WITHIN) & (highest <= MOMENTS_WITHIN)
        lands[np.arange(len(other)), ours[placement]] = False  # the pair's own region
        landing = np.bincount(placement, lands.any(axis=1), len(ours))  # the emblem's regions
        landed = np.zeros((len(ours), len(image)), bool)  # the image's regions they land on
        np.logical_or.at(landed, placement, lands)
        confirmed = np.minimum(landing, landed.sum(axis=1)).astype(np.int64)
        np.logical_or.at(varied, placement, (lands & ~image.plain[None, :]).any(axis=1) & ~self.plain[other])
        return confirmed, varied

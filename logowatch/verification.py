"""Render-and-compare: does the image really show the reference where the geometry says it is?

A handful of keypoint matches that agree on a transform is weak proof among look-alike logos: two
shields or two striped flags share corners. So every hypothesis is checked by warping the reference
into the image with the estimated transform and correlating the two *edge maps* over the
reference's footprint. Edges, not pixels, because impersonators recolour, invert and grey emblems
while their outlines stay put; the maximum over colour channels keeps an edge between two colours
of equal brightness, and a square root evens out strong and weak edges. Where few keypoints vouch
for a placement, its colours and lightness are compared too (:func:`appearance_agreement`): a
recolouring keeps one of the two, a look-alike with the same edges often neither. A placement that
fits loosely can be refined by aligning the two edge maps (:func:`refine`).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from logowatch import features

#: The reference footprint is compared at about this many pixels on a side (square root of area).
DEFAULT_COMPARE_SIDE = 64
#: Blur applied to edge maps so that a pixel or two of misalignment still correlates.
EDGE_BLUR_SIGMA = 1.0
#: Regularisation of the correlation: regions with almost no edges score low, not at random.
NCC_EPSILON = 0.02
#: Share of the emblem's footprint that must lie inside the image for its correlation to count fully.
FULL_VIEW_SHARE = 0.7
#: The footprint is cut into GRID x GRID cells for the occlusion-tolerant correlation.
GRID = 6
#: Cells with fewer compared pixels than this are not measured on their own.
MIN_CELL_PIXELS = 40
#: Share of the footprint (the worst-correlating cells) that may be hidden by a caption or sticker.
#: A 6 x 6 grid with 30% left out lets a band across the emblem and a crossing stripe each spoil a
#: row or column of cells; a coarser grid or a larger share lifts the scores of look-alikes too.
OCCLUDED_SHARE = 0.3
#: The share of the interior that may be hidden: more than of the whole, since a caption band
#: across an emblem lies mostly over its interior.
INTERIOR_OCCLUDED_SHARE = 0.4
#: A placement smaller than this many pixels a side is refused: no emblem can be told apart there,
#: and a RANSAC fit to ambiguous matches of one keypoint can shrink the emblem to a dot.
MIN_FOOTPRINT_SIDE = 12
#: Fewer overlapping pixels than this and the comparison is refused.
MIN_OVERLAP_PIXELS = 50
#: The emblem's interior is compared at about this many pixels a side: finer than the whole, since
#: what tells an emblem from another of the same outline (its lettering, a small device) is small.
FINE_COMPARE_SIDE = 128
#: How far in from its convex hull an emblem's interior begins, as a share of its size.
INTERIOR_BAND = 0.09
#: An emblem has an interior worth comparing when it holds at least this share of its pixels.
MIN_INTERIOR_SHARE = 0.05
#: An interior with fewer compared pixels than this (at the fine side) counts as out of sight.
MIN_INTERIOR_PIXELS = 50
#: The colours and lightness of a placement are compared at about this many pixels a side.
APPEARANCE_SIDE = 48
#: Two colours agree when their a* and b* (CIE Lab, OpenCV's 8-bit scale) lie this close.
COLOUR_AGREES_WITHIN = 20.0
#: Share of an emblem's pixels in colour that another picture in a few colours, placed over it,
#: shares by chance: a quarter, for an emblem and a look-alike of three or four colours each.
CHANCE_COLOUR_SHARE = 0.25
#: Where one side has no colour, lightness reversed at least this strongly counts as an inversion.
INVERTED_LIGHTNESS = 0.6
#: A pixel, or an image whose median pixel, lies closer to grey than this in a*b* has no colour.
ACHROMATIC_CHROMA = 10.0
#: Pixels left out along the edge of an emblem's support when comparing its appearance, at
#: :data:`APPEARANCE_SIDE`: the support was grown past the emblem (``library.SUPPORT_GROWTH``).
APPEARANCE_INSET = 2
#: An emblem whose lightness varies less than this (standard deviation, 0..1 scale) and whose
#: colours less than :data:`COLOUR_AGREES_WITHIN` is one flat colour.
MIN_LIGHTNESS_SPREAD = 0.04
#: Enlargement factors tried when estimating how far an image was blown up from a smaller one.
UPSCALE_FACTORS = (1.5, 2.0, 3.0, 4.0, 6.0)
#: An image shrunk by a factor and enlarged again that differs from itself by less than this share
#: of its mean edge strength, times (factor + 1), held no more detail than the smaller copy: it was
#: enlarged from one. (Resampling twice loses a little even then, more for larger factors.)
UPSCALE_RESIDUAL = 0.012
#: :func:`refine` aligns at half the images' size and then at the whole, each level from the last
#: (a level where either image would be under :data:`MIN_REFINE_SIDE` pixels is skipped), at most
#: :data:`REFINE_STEPS` steps at each or until a step moves the warp by less than
#: :data:`REFINE_EPSILON`. Half first widens what it can reach from a loose guess (a placement 15
#: pixels off at a corner is found from half size, not from the whole alone); a quarter as well
#: let it reach fewer emblems on the benchmarks. The reference's edges count within
#: :data:`REFINE_MARGIN` pixels of its support, where a blurred edge still lies. The steps and the
#: epsilon are ECC's usual order of magnitude, not tuned.
REFINE_LEVELS = (2, 1)
REFINE_STEPS = 30
REFINE_EPSILON = 1e-4
REFINE_MARGIN = 3
MIN_REFINE_SIDE = 8
#: :func:`align_shapes` looks for the emblem's shape within :data:`SHAPE_MARGIN` of its
#: placement's size around it, in a crop shrunk to at most :data:`SHAPE_SIDE` pixels a side (at
#: 64, one of the three emblems it found on dev-extra was lost), among regions of at least
#: :data:`MIN_SHAPE_PIXELS` pixels whose area is within :data:`SHAPE_AREA_SLACK` times of what the
#: placement's scale gives (the placement may be a fifth too large or small, and an emblem's ink
#: is not its silhouette). The :data:`SHAPE_TRIED` pairs closest in area are aligned as regions,
#: blurred by :data:`SHAPE_BLUR` times the square root of the region's area (a pixel at least),
#: with :data:`REFINE_STEPS` and :data:`REFINE_EPSILON` as edges are. A shape whose second moments
#: are under :data:`MIN_SHAPE_SPREAD` as large across as along is a line, with no second direction
#: to align. Of the three emblems at an angle found so on dev-extra, one pair tried found one,
#: two found all three (three leave a margin); the other figures are round ones, not tuned.
SHAPE_MARGIN = 0.25
SHAPE_SIDE = 96
MIN_SHAPE_PIXELS = 20
SHAPE_TRIED = 3
SHAPE_AREA_SLACK = 2.5
SHAPE_BLUR = 0.02
MIN_SHAPE_SPREAD = 0.001


def upscale_factor(rgb: np.ndarray) -> float:
    """How many times the image was enlarged from a smaller one (1.0 for an image at its own
    resolution). A 40-pixel avatar blown up to 160 holds no detail finer than 4 pixels, and its
    comparison with a crisp reference must not be penalised for the detail it cannot show."""
    grey = (cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb).astype(np.float32)
    height, width = grey.shape
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    energy = float(np.sqrt(gx * gx + gy * gy).mean())
    if energy < 1e-3:
        return 1.0
    found = 1.0
    for factor in UPSCALE_FACTORS:
        size = (round(width / factor), round(height / factor))
        if min(size) < 8:
            break
        small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        again = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        if float(np.abs(grey - again).mean()) / energy > UPSCALE_RESIDUAL * (factor + 1):
            break
        found = factor
    return found


def edge_map(rgb: np.ndarray, sigma: float = EDGE_BLUR_SIGMA) -> np.ndarray:
    """Colour-blind, polarity-blind edge strength of an RGB image, float32, slightly blurred."""
    image = rgb.astype(np.float32) * (1.0 / 255.0)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    squared = gx * gx + gy * gy
    if squared.ndim == 3:
        # Channel by channel: numpy's max over a short last axis is thirty times slower.
        squared = np.maximum(np.maximum(squared[..., 0], squared[..., 1]), squared[..., 2])
    edges = np.sqrt(np.sqrt(squared))
    if sigma > 0:
        edges = cv2.GaussianBlur(edges, (0, 0), sigma)
    return edges


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Regularised normalised cross-correlation of two equally long vectors, in -1..1."""
    a = a.astype(np.float64) - float(a.mean())
    b = b.astype(np.float64) - float(b.mean())
    floor = NCC_EPSILON * NCC_EPSILON * a.size
    denominator = np.sqrt((float(a @ a) + floor) * (float(b @ b) + floor))
    return float(a @ b / denominator)


def as_homography(transform: np.ndarray) -> np.ndarray:
    """A 2x3 affine transform as the equivalent 3x3 homography; a 3x3 one unchanged."""
    if transform.shape == (3, 3):
        return transform.astype(np.float64)
    return np.vstack([transform.astype(np.float64), [0.0, 0.0, 1.0]])


def mapped(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Points, (n, 2), mapped by ``transform`` (2x3 or 3x3); float64."""
    if not len(points):
        return np.zeros((0, 2))
    moved: np.ndarray = cv2.perspectiveTransform(
        np.asarray(points, np.float64).reshape(1, -1, 2), as_homography(transform)
    )[0]
    return moved


def occlusion_tolerant_correlation(
    a: np.ndarray, b: np.ndarray, mask: np.ndarray, hidden: float = OCCLUDED_SHARE
) -> float:
    """Correlation of two edge maps over ``mask`` that a caption or sticker cannot sink.

    The footprint is cut into a grid; each cell's correlation is measured, and cells are left out
    worst first, each that still fits in :data:`OCCLUDED_SHARE` of the pixels, before averaging,
    since a banner across the emblem spoils a few cells completely and leaves the rest intact. A
    cell too large to fit is kept and smaller ones after it may still be left out, better ones
    among them: that can only lower the score. (Leaving out only the run of worst cells that fits,
    tried on the benchmarks, found one fewer dev emblem and changed nothing else.)
    """
    height, width = mask.shape
    cells: list[tuple[float, int]] = []
    for row in range(GRID):
        for column in range(GRID):
            y0, y1 = row * height // GRID, (row + 1) * height // GRID
            x0, x1 = column * width // GRID, (column + 1) * width // GRID
            inside = mask[y0:y1, x0:x1]
            count = int(inside.sum())
            if count >= MIN_CELL_PIXELS:
                cells.append((correlation(a[y0:y1, x0:x1][inside], b[y0:y1, x0:x1][inside]), count))
    if len(cells) < 4:
        return correlation(a[mask], b[mask])
    cells.sort()
    total = sum(count for _, count in cells)
    dropped = 0
    kept: list[tuple[float, int]] = []
    for value, count in cells:
        if dropped + count <= hidden * total:
            dropped += count
            continue
        kept.append((value, count))
    return sum(value * count for value, count in kept) / max(1, sum(count for _, count in kept))


def footprint(transform: np.ndarray, width: int, height: int) -> np.ndarray:
    """The four corners of a ``width`` x ``height`` reference mapped by ``transform`` (2x3 or 3x3)."""
    return mapped(np.array([[0, 0], [width, 0], [width, height], [0, height]]), transform)


class Comparison(NamedTuple):
    """What render-and-compare measured for one placement of a reference."""

    #: Edge correlation over the emblem's pixels, -1..1, already counted down for a partial view.
    correlation: float
    #: How fully the emblem is shown, 0..1: 1.0 once :data:`FULL_VIEW_SHARE` of it is inside the image.
    shown: float


REFUSED = Comparison(-1.0, 0.0)


def interior_mask(support: np.ndarray, band: float = INTERIOR_BAND) -> np.ndarray:
    """The pixels of ``support`` (0/255) that lie inside its convex hull shrunk by ``band`` of
    the mask's size: where the emblem's own drawing is, away from its silhouette.

    A disc, a rectangle, a shield: many unrelated images share such an outline (a text avatar on
    a coloured disc, a photo in a frame), and its edges carry much of an edge correlation. What
    makes an emblem itself lies inside it. The hull, not the support's own outline, so that an
    emblem drawn as separate shapes (four diamonds) keeps their edges as its interior."""
    points = cv2.findNonZero((support > 0).astype(np.uint8))
    hull = np.zeros(support.shape[:2], np.uint8)
    if points is None:
        return hull
    cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
    reach = max(1, round(band * float(np.sqrt(support.shape[0] * support.shape[1]))))
    inside = cv2.erode(hull, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    return np.where((inside > 0) & (support > 0), 255, 0).astype(np.uint8)


class _Placed(NamedTuple):
    """The reference warped by a placement and the image under it, both at a chosen side."""

    reference: np.ndarray
    image: np.ndarray
    #: Pixels where the (warped) mask and the image overlap, slightly eroded.
    overlap: np.ndarray
    #: Share of the mask's warped pixels that lie inside the image, counted as the overlap is,
    #: slightly eroded: a stroke a pixel or two wide at the compared size counts as partly hidden
    #: even in full view. The threshold was chosen so; counted without the erosion, two background
    #: images rose over it (README, "Accuracy").
    visible: float

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Edge maps of the reference and of the image under it."""
        return edge_map(self.reference), edge_map(self.image)


def _place(
    reference_rgb: np.ndarray,
    image_rgb: np.ndarray,
    transform: np.ndarray,
    mask: np.ndarray,
    side: int,
    pixel_size: float,
) -> _Placed | None:
    """The reference warped by ``transform`` and the image under it, both at about ``side``
    pixels a side, and where ``mask`` (reference-sized, 0/1) overlaps the image; None when the
    placement is degenerate or off the image."""
    height, width = reference_rgb.shape[:2]
    corners = footprint(transform, width, height)
    x0, y0 = np.floor(corners.min(axis=0))
    x1, y1 = np.ceil(corners.max(axis=0))
    box_w, box_h = x1 - x0, y1 - y0
    image_h, image_w = image_rgb.shape[:2]
    if min(box_w, box_h) < MIN_FOOTPRINT_SIDE or box_w > 4 * image_w or box_h > 4 * image_h:
        return None
    scale = side / float(np.sqrt(box_w * box_h))
    to_box = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale], [0.0, 0.0, 1.0]])
    warp = to_box @ as_homography(transform)
    out_size = (max(2, round(box_w * scale)), max(2, round(box_h * scale)))
    warped_ref = cv2.warpPerspective(
        reference_rgb, warp, out_size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    detail = float(np.sqrt(box_w * box_h)) / max(1.0, pixel_size)
    if detail < side:
        warped_ref = at_detail(warped_ref, side / detail)
    ref_mask = cv2.warpPerspective(mask, warp, out_size, flags=cv2.INTER_NEAREST)
    warped_img = cv2.warpAffine(
        image_rgb, to_box[:2], out_size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT
    )
    img_mask = cv2.warpAffine(
        np.ones((image_h, image_w), np.uint8), to_box[:2], out_size, flags=cv2.INTER_NEAREST
    )
    overlap = cv2.erode(np.bitwise_and(ref_mask, img_mask), np.ones((3, 3), np.uint8)) > 0
    visible = float(overlap.sum()) / max(1.0, float((ref_mask > 0).sum()))
    return _Placed(warped_ref, warped_img, overlap, visible)


def compare(
    reference_rgb: np.ndarray,
    image_rgb: np.ndarray,
    transform: np.ndarray,
    support: np.ndarray | None = None,
    side: int = DEFAULT_COMPARE_SIDE,
    pixel_size: float = 1.0,
) -> Comparison:
    """Edge correlation of the reference warped by ``transform`` (2x3 or 3x3, reference -> image)
    with the image under it, over the reference's ``support`` mask (all of it when None). Its
    interior is compared apart, finer (see :func:`interior_correlation`).

    ``pixel_size`` is the size, in the image's pixels, of the finest detail it holds (above 1 for
    an enlarged image); the reference is rendered no sharper than that, so that a blurred copy
    of the emblem is compared with the emblem as blurred, not with its crisp outline.
    Returns :data:`REFUSED` (correlation -1.0) when the hypothesis is degenerate or off the image."""
    height, width = reference_rgb.shape[:2]
    mask = np.ones((height, width), np.uint8) if support is None else (support > 0).astype(np.uint8)
    placed = _place(reference_rgb, image_rgb, transform, mask, side, pixel_size)
    if placed is None or int(placed.overlap.sum()) < MIN_OVERLAP_PIXELS:
        return REFUSED
    value = occlusion_tolerant_correlation(*placed.edges(), placed.overlap)
    # An emblem mostly outside the image is shown only in part: what is visible counts less.
    shown = min(1.0, placed.visible / FULL_VIEW_SHARE)
    return Comparison(value * shown if value > 0 else value, shown)


def refine(
    reference_rgb: np.ndarray, support: np.ndarray, image_edges: np.ndarray, transform: np.ndarray
) -> np.ndarray | None:
    """The placement ``transform`` (reference to image) refined into the homography that best
    aligns the reference's edges, near its ``support``, with the image's (``image_edges``, its
    :func:`edge_map`), by the enhanced correlation coefficient of Evangelidis and Psarakis, coarse
    to fine (see :data:`REFINE_LEVELS`). None where the alignment diverges, or would turn the
    emblem over or fold it."""
    reference = edge_map(reference_rgb)
    # OpenCV masks the image that is warped: the reference, onto the image's pixels.
    side = 2 * REFINE_MARGIN + 1
    mask = cv2.dilate((support > 0).astype(np.uint8), np.ones((side, side), np.uint8))
    try:
        warp = np.linalg.inv(as_homography(transform))
    except np.linalg.LinAlgError:
        return None
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, REFINE_STEPS, REFINE_EPSILON)
    for level in REFINE_LEVELS:
        shrink = np.diag([1.0 / level, 1.0 / level, 1.0])
        grow = np.diag([float(level), float(level), 1.0])
        sizes = [(round(p.shape[1] / level), round(p.shape[0] / level)) for p in (image_edges, reference)]
        if min(min(size) for size in sizes) < MIN_REFINE_SIDE:
            if level > 1:
                continue
            return None
        small_image = cv2.resize(image_edges, sizes[0], interpolation=cv2.INTER_AREA)
        small_reference = cv2.resize(reference, sizes[1], interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(mask, sizes[1], interpolation=cv2.INTER_NEAREST)
        guess = (shrink @ warp @ grow).astype(np.float32)
        try:
            _, found = cv2.findTransformECC(
                small_image, small_reference, guess, cv2.MOTION_HOMOGRAPHY, criteria, small_mask, 3
            )
        except cv2.error as error:
            if error.code == cv2.Error.StsNoConv:
                return None  # diverged: the images do not correlate there
            raise
        warp = grow @ found.astype(np.float64) @ shrink
    try:
        refined = np.linalg.inv(warp)
    except np.linalg.LinAlgError:
        return None
    height, width = reference.shape[:2]
    return refined if _same_way_round(transform, refined, width, height) else None


def align_shapes(
    reference_rgb: np.ndarray,
    support: np.ndarray,
    image_rgb: np.ndarray,
    transform: np.ndarray,
    pixel_size: float = 1.0,
) -> np.ndarray | None:
    """The placement ``transform`` (reference to image) replaced by the homography that lays the
    emblem's shape over a shape of the image near it, or None where there is none to align.

    Edges align only from close by: a simple emblem seen at an angle (a glyph on a sign) is placed
    by its few keypoints a fifth too large or a turn off, and :func:`refine` then finds nothing
    or a wrong fit. Its *shape* is found from much further. Near the placement (grown by
    :data:`SHAPE_MARGIN`) the image is split into light and dark (see :func:`_regions`), and each
    region is paired with the emblem's own (its support, or its light or its dark ink within it)
    where their areas agree with the placement's scale (within :data:`SHAPE_AREA_SLACK`). The
    second moments of two shapes fix an affine map between them up to a turn (each whitened to a
    disc), and the turn is taken from the placement; the two regions, blurred, are then aligned
    from there by the enhanced correlation coefficient (regions correlate from much further than
    edges do). Of the :data:`SHAPE_TRIED` pairs whose areas agree best, the alignment whose edges
    correlate best (``pixel_size`` as for :func:`compare`) is kept, where they correlate at all
    and the emblem stays convex, in front and the same way round (see :func:`refine`)."""
    inked = support > 0
    if int(inked.sum()) < MIN_SHAPE_PIXELS:
        return None
    height, width = reference_rgb.shape[:2]
    placed_at = footprint(transform, width, height)
    image_h, image_w = image_rgb.shape[:2]
    low, high = placed_at.min(axis=0), placed_at.max(axis=0)
    grow = SHAPE_MARGIN * (high - low)
    x0, y0 = np.maximum(np.floor(low - grow), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(high + grow), [image_w, image_h]).astype(int)
    if min(x1 - x0, y1 - y0) < MIN_FOOTPRINT_SIDE:
        return None
    scale = min(1.0, SHAPE_SIDE / max(x1 - x0, y1 - y0))
    size = (max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale)))
    to_crop = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale], [0.0, 0.0, 1.0]])
    crop = cv2.resize(image_rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    placed = to_crop @ as_homography(transform)
    under = cv2.warpPerspective(inked.astype(np.uint8), placed, size, flags=cv2.INTER_NEAREST) > 0
    # The emblem's shapes: its support, and its light and its dark ink where its grey has both.
    grey = features.to_grey(reference_rgb)
    middle = otsu(grey[inked])
    own = [inked] if middle is None else _distinct([inked, inked & (grey > middle), inked & (grey <= middle)])
    expected = local_scale(placed, (width / 2, height / 2)) ** 2
    pairs: list[tuple[float, np.ndarray, np.ndarray]] = []
    for region in _regions(features.to_grey(crop), under):
        for shape in own:
            ratio = float(region.sum()) / max(1.0, float(shape.sum()) * expected)
            if 1 / SHAPE_AREA_SLACK <= ratio <= SHAPE_AREA_SLACK:
                pairs.append((abs(float(np.log(ratio))), shape, region))
    best: tuple[float, np.ndarray] | None = None
    # Closest in area first (a stable sort: ties in the order found).
    for _, shape, region in sorted(pairs, key=lambda pair: pair[0])[:SHAPE_TRIED]:
        moved = _moment_alignment(shape, region, placed)
        if moved is None:
            continue
        aligned = _region_ecc(shape, region, moved)
        result: np.ndarray = np.linalg.inv(to_crop) @ (moved if aligned is None else aligned)
        if not _same_way_round(transform, result, width, height):
            continue
        # Scored as every placement is: by its edges.
        found = compare(reference_rgb, image_rgb, result, support, pixel_size=pixel_size)
        if found.correlation > 0 and (best is None or found.correlation > best[0]):
            best = (found.correlation, result)
    return None if best is None else best[1]


def _regions(grey: np.ndarray, under: np.ndarray) -> list[np.ndarray]:
    """Candidate shapes of an image crop, each a boolean mask of one or more connected regions:
    its light or its dark side, split by Otsu's threshold over the pixels ``under`` the placement
    and again within each side of it (an emblem on a card on a dark ground: the first threshold
    splits ground from card and emblem, the second card from emblem), each taking its regions
    mostly under the placement, or those clear of the crop's border. No two alike."""
    height, width = grey.shape
    found = []
    for threshold in levels(grey, under, MIN_SHAPE_PIXELS):
        light = grey > threshold
        for side in (light, ~light):
            count, labels, stats, _ = cv2.connectedComponentsWithStats(side.astype(np.uint8), connectivity=8)
            covered = np.bincount(labels.ravel(), weights=under.ravel(), minlength=count)
            area = stats[:, cv2.CC_STAT_AREA]
            left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
            right, bottom = left + stats[:, cv2.CC_STAT_WIDTH], top + stats[:, cv2.CC_STAT_HEIGHT]
            clear = (left > 0) & (top > 0) & (right < width) & (bottom < height)
            for keep in (covered >= 0.5 * area, clear):
                keep[0] = False  # label 0: the other side
                mask = keep[labels]
                if int(mask.sum()) >= MIN_SHAPE_PIXELS:
                    found.append(mask)
    return _distinct(found)


def otsu(values: np.ndarray) -> float | None:
    """Otsu's threshold between the light and the dark of some grey values; None where they are
    all one grey, with no light and dark to split."""
    if values.size == 0 or int(values.min()) == int(values.max()):
        return None
    threshold, _ = cv2.threshold(values.reshape(-1, 1), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(threshold)


def levels(grey: np.ndarray, within: np.ndarray, fewest: int) -> list[float]:
    """The thresholds that split a picture's light from its dark: Otsu's over the pixels
    ``within`` (a boolean mask), and again within each side of it (an emblem on a card on a dark
    ground: the first splits the ground from the card and the emblem, the second the card from
    the emblem), each over ``fewest`` pixels or more; none where they are all one grey."""
    if int(within.sum()) < fewest:
        return []
    middle = otsu(grey[within])
    if middle is None:
        return []
    found = [middle]
    for part in (grey[within & (grey > middle)], grey[within & (grey <= middle)]):
        again = otsu(part) if part.size >= fewest else None
        if again is not None:
            found.append(again)
    return found


def _distinct(masks: list[np.ndarray]) -> list[np.ndarray]:
    """The masks without repeats, in order."""
    kept: list[np.ndarray] = []
    for mask in masks:
        if not any(np.array_equal(mask, other) for other in kept):
            kept.append(mask)
    return kept


def moments(mask: np.ndarray, least_spread: float = MIN_SHAPE_SPREAD) -> tuple[np.ndarray, np.ndarray] | None:
    """The centre and the square root of the second-moment matrix of a shape (boolean mask);
    None for a shape too small, or so thin in one direction (its moments across under
    ``least_spread`` of those along) that it has no second direction to align."""
    found = cv2.moments(mask.astype(np.uint8), binaryImage=True)
    if found["m00"] < MIN_SHAPE_PIXELS:
        return None
    centre = np.array([found["m10"], found["m01"]]) / found["m00"]
    spread = np.array([[found["mu20"], found["mu11"]], [found["mu11"], found["mu02"]]]) / found["m00"]
    values, vectors = np.linalg.eigh(spread)
    if values.min() < least_spread * values.max() or values.max() <= 0:
        return None
    root: np.ndarray = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    return centre, root


def _moment_alignment(shape: np.ndarray, region: np.ndarray, placed: np.ndarray) -> np.ndarray | None:
    """The affine map (3x3) that takes ``shape`` (the reference's) onto ``region`` (the crop's)
    by their second moments, turned as the placement ``placed`` (reference to crop) turns it."""
    ours, theirs = moments(shape), moments(region)
    if ours is None or theirs is None:
        return None
    (centre, root), (their_centre, their_root) = ours, theirs
    # The turn between the two whitened shapes that the placement comes closest to.
    u, _, vt = np.linalg.svd(np.linalg.inv(their_root) @ _jacobian(placed, centre) @ root)
    turn = u @ vt
    if np.linalg.det(turn) < 0:
        return None
    linear = their_root @ turn @ np.linalg.inv(root)
    moved = np.eye(3)
    moved[:2, :2] = linear
    moved[:2, 2] = their_centre - linear @ centre
    return moved


def _region_ecc(shape: np.ndarray, region: np.ndarray, moved: np.ndarray) -> np.ndarray | None:
    """``shape`` (the reference's) aligned with ``region`` (the crop's), both blurred, from the
    placement ``moved`` (3x3, reference to crop), by the enhanced correlation coefficient: over an
    affine map first, then over a homography from there (straight to a homography, a thin
    shape's alignment shrank it into the region's strokes). Where the homography diverges, the
    affine map; None where that does too."""
    blur = max(1.0, SHAPE_BLUR * float(np.sqrt(region.sum())))
    template = cv2.GaussianBlur(region.astype(np.float32), (0, 0), blur)
    # The same blur in the reference's pixels: the crop's spans 1 / sqrt(det) of them.
    reach = 1.0 / np.sqrt(max(abs(float(np.linalg.det(moved[:2, :2]))), 1e-12))
    own = cv2.GaussianBlur(shape.astype(np.float32), (0, 0), blur * reach)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, REFINE_STEPS, REFINE_EPSILON)
    # OpenCV's warp maps the template's pixels (the crop's) into the input's (the reference's).
    try:
        warp = np.linalg.inv(moved).astype(np.float32)
    except np.linalg.LinAlgError:
        return None
    found: np.ndarray | None = None
    try:
        _, affine = cv2.findTransformECC(template, own, warp[:2].copy(), cv2.MOTION_AFFINE, criteria)
        found = np.vstack([affine, [0.0, 0.0, 1.0]]).astype(np.float32)
        # A copy: OpenCV writes its steps into the warp it is given, and keeps none of a failure.
        _, homography = cv2.findTransformECC(template, own, found.copy(), cv2.MOTION_HOMOGRAPHY, criteria)
        found = np.asarray(homography)
    except cv2.error as error:
        if error.code != cv2.Error.StsNoConv:
            raise
        # Diverged: the affine map, where that converged.
    if found is None:
        return None
    try:
        placement: np.ndarray = np.linalg.inv(found.astype(np.float64))
    except np.linalg.LinAlgError:
        return None
    return placement


def _same_way_round(before: np.ndarray, after: np.ndarray, width: int, height: int) -> bool:
    """Whether a placement ``after`` keeps the reference (``width`` x ``height``) convex, in front
    of the camera and the same way round as ``before`` does."""
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    turns, way = features.corner_turns(after, corners), features.corner_turns(before, corners)
    return turns is not None and way is not None and bool((turns * way[0] > 0).all())


def local_scale(transform: np.ndarray, point: tuple[float, float]) -> float:
    """How many times a placement (2x3 or 3x3) enlarges lengths at ``point`` (in the pixels it maps
    from): the square root of its Jacobian's determinant there, which for a homography varies
    across the image."""
    return float(np.sqrt(abs(np.linalg.det(_jacobian(transform, point)))))


def _jacobian(transform: np.ndarray, point: tuple[float, float] | np.ndarray) -> np.ndarray:
    """The 2x2 Jacobian of a placement (2x3 or 3x3) at ``point``: the linear map it is there."""
    h = as_homography(transform)
    x, y = point
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    mapped = np.array([h[0, 0] * x + h[0, 1] * y + h[0, 2], h[1, 0] * x + h[1, 1] * y + h[1, 2]]) / w
    jacobian: np.ndarray = (h[:2, :2] - np.outer(mapped, h[2, :2])) / w
    return jacobian


def at_detail(rgb: np.ndarray, pixel_size: float) -> np.ndarray:
    """The image with no detail finer than ``pixel_size`` pixels: shrunk by it and enlarged again."""
    if pixel_size <= 1.0:
        return rgb
    height, width = rgb.shape[:2]
    small = (max(2, round(width / pixel_size)), max(2, round(height / pixel_size)))
    shrunk = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
    return cv2.resize(shrunk, (width, height), interpolation=cv2.INTER_CUBIC)


def interior_of(support: np.ndarray) -> np.ndarray | None:
    """The interior (0/1) of an emblem with this ``support`` (see :func:`interior_mask`), or None
    when it has too little to compare. It depends on the emblem alone: compute it once per emblem
    as placed (drawn or mirrored), not once per placement."""
    mask = (support > 0).astype(np.uint8)
    inside = interior_mask(mask) > 0
    if int(inside.sum()) < MIN_INTERIOR_SHARE * int(mask.sum()):
        return None
    return inside.astype(np.uint8)


def interior_correlation(
    reference_rgb: np.ndarray,
    image_rgb: np.ndarray,
    transform: np.ndarray,
    inside: np.ndarray | None,
    pixel_size: float = 1.0,
) -> float | None:
    """Edge correlation, at :data:`FINE_COMPARE_SIDE`, of the emblem's interior ``inside`` (from
    :func:`interior_of`) placed by ``transform`` with the image under it, as :func:`compare`
    renders them. None for an emblem with too little interior to compare; 0.0 when it has one
    and none of it is in sight."""
    if inside is None:
        return None
    fine = _place(reference_rgb, image_rgb, transform, inside, FINE_COMPARE_SIDE, pixel_size)
    if fine is None or int(fine.overlap.sum()) < MIN_INTERIOR_PIXELS:
        return 0.0
    return occlusion_tolerant_correlation(*fine.edges(), fine.overlap, INTERIOR_OCCLUDED_SHARE)


def appearance_agreement(
    reference_rgb: np.ndarray,
    image_rgb: np.ndarray,
    transform: np.ndarray,
    support: np.ndarray,
    pixel_size: float = 1.0,
) -> float | None:
    """How far the image under a placed emblem keeps the emblem's colours or its pattern of light
    and dark, 0..1; None when too little of the emblem is in sight, or the emblem is one flat
    grey (nothing to compare). An emblem of one flat colour is judged by that colour alone, kept
    or inverted: a recoloured or greyed copy of it cannot be told from a look-alike, and scores
    as one.

    Edges say where an emblem's outlines are, not what fills them: three horizontal stripes are
    three horizontal stripes in any colours. Impersonators recolour, grey and invert emblems, so
    neither colour nor lightness has to agree; but one of them does, either way round: a
    recoloured emblem keeps its light and dark, a greyed one too, an inverted one has both
    reversed. A flag of other colours and another pattern of light and dark, a text avatar taken
    for a wordmark, keep neither.

    Compared over the emblem's own pixels (its support, less the band it was grown by, which
    holds what the emblem was flattened onto). Where both sides have colour, the measure is the
    largest of: how far it keeps the emblem's colours (the share of the pixels in colour on
    either side whose a*, b* lie within :data:`COLOUR_AGREES_WITHIN` of the emblem's, beyond what
    chance gives; grey against grey is no evidence); the correlation of
    lightness; and, for the emblem inverted, the smaller of the two for the inverted colours and
    the lightness reversed.
    Where either side has no colour (a black-and-white emblem, a greyed copy), lightness alone
    decides: its correlation, or its reversal where that is clear (:data:`INVERTED_LIGHTNESS`)."""
    placed = _place(reference_rgb, image_rgb, transform, (support > 0).astype(np.uint8), APPEARANCE_SIDE, pixel_size)
    if placed is None:
        return None
    inset = np.ones((2 * APPEARANCE_INSET + 1, 2 * APPEARANCE_INSET + 1), np.uint8)
    inside = cv2.erode(placed.overlap.astype(np.uint8), inset) > 0
    if int(inside.sum()) < MIN_OVERLAP_PIXELS:
        return None
    reference = _lab(placed.reference, inside)
    image = _lab(placed.image, inside)
    if (
        float(reference[:, 0].std()) < MIN_LIGHTNESS_SPREAD
        and float(np.linalg.norm(reference[:, 1:].std(axis=0))) < COLOUR_AGREES_WITHIN
    ):
        # One flat colour: no light and dark to keep. Its colour is all there is to compare; a
        # flat grey or black has not even that.
        if _achromatic(reference):
            return None
        inverted = _lab(255 - placed.reference, inside)
        return max(0.0, _kept_colour(reference, image), _kept_colour(inverted, image))
    lightness = correlation(reference[:, 0], image[:, 0])
    if _achromatic(reference) or _achromatic(image):
        # No colours to confirm an inversion with: only a clear reversal of light and dark is one.
        return max(0.0, lightness, -lightness if -lightness >= INVERTED_LIGHTNESS else 0.0)
    inverted = _lab(255 - placed.reference, inside)
    return max(0.0, _kept_colour(reference, image), lightness, min(_kept_colour(inverted, image), -lightness))


def _lab(rgb: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """CIE Lab of the pixels ``inside``: lightness on a 0..1 scale (as the correlation's
    regularisation expects, so that a faint gradient is no pattern), a* and b* around 0."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)[inside]
    # OpenCV's 8-bit Lab: lightness 0..255, a* and b* offset by 128.
    return np.column_stack([lab[:, 0] / 255.0, lab[:, 1:] - 128.0])


def _achromatic(lab: np.ndarray) -> bool:
    return float(np.median(np.linalg.norm(lab[:, 1:], axis=1))) < ACHROMATIC_CHROMA


def _kept_colour(reference: np.ndarray, image: np.ndarray) -> float:
    """How far the image keeps the emblem's colours, -1/3..1: the share of its pixels in colour
    that do (see :func:`_same_colour`), less what chance gives (:data:`CHANCE_COLOUR_SHARE`: a
    flag of three stripes shares one stripe's colour with many another flag), rescaled to 1."""
    return (_same_colour(reference, image) - CHANCE_COLOUR_SHARE) / (1.0 - CHANCE_COLOUR_SHARE)


def _same_colour(reference: np.ndarray, image: np.ndarray) -> float:
    """Share of the pixels in colour on either side whose a*, b* lie within
    :data:`COLOUR_AGREES_WITHIN` of each other (grey against grey is no evidence)."""
    coloured = (np.linalg.norm(reference[:, 1:], axis=1) >= ACHROMATIC_CHROMA) | (
        np.linalg.norm(image[:, 1:], axis=1) >= ACHROMATIC_CHROMA
    )
    if not coloured.any():
        return 0.0
    close = np.linalg.norm(reference[:, 1:] - image[:, 1:], axis=1) < COLOUR_AGREES_WITHIN
    return float((close & coloured).sum()) / float(coloured.sum())

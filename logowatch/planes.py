"""Planes of an image seen at an angle (a card, a sign, a flag), turned to face the viewer.

An emblem printed on a card or a sign photographed at an angle, or a flag seen in perspective, lies
on a plane whose outline in the image is a quadrilateral. Foreshortened beyond two (the oblique
views' tilt, see ``features.OBLIQUE_TILT``), its keypoints no longer match the emblem's, and a
simple emblem has too few for a homography anyway. The quadrilateral itself fixes the homography
that turns the plane to face the viewer: mapped onto a rectangle, the card is seen from the front
again, its emblem as drawn but for a stretch along the card's sides, which the oblique views of the
index absorb (see ``features.OBLIQUE_VIEWS``). This is how a whiteboard or a document photographed
at an angle is rectified by its outline (Zhang and He's whiteboard scanner); the card's
proportions are taken from its sides here, not recovered from the camera.

The outline is found among the image's regions of light and dark (see ``regions.components``): a
large connected region whose outer contour fills its convex hull, and whose hull has four corners,
not all of them right angles (a rectangle seen from the front: the image shows it as it is).
"""

from __future__ import annotations

import cv2
import numpy as np

from logowatch import regions

#: Share of the image a plane's outline must enclose: a smaller one holds an emblem too small to
#: match once turned; a larger one is the ground. These and the figures down to
#: :data:`MIN_SIDE_SHARE` are round ones, not tuned.
MIN_PLANE_SHARE = 0.05
MAX_PLANE_SHARE = 0.95
#: How much of its convex hull a plane's outer contour must fill: a card fills its hull, an emblem
#: on it being a hole in the region of the card; a region of a photo that happens to have four
#: corners seldom does.
MIN_PLANE_SOLIDITY = 0.9
#: The hull's corners: the hull simplified within this share of its perimeter.
CORNER_TOLERANCE = 0.03
#: A quadrilateral whose corners are all within this many degrees of a right angle is a rectangle
#: seen from the front, or so nearly that keypoints match it as it is: nothing to turn.
SQUARE_WITHIN = 8.0
#: A corner sharper than this (degrees), or a side shorter than :data:`MIN_SIDE_SHARE` of the
#: longest, outlines no plane that a camera sees whole: a sliver, or a triangle with a corner cut.
MIN_CORNER = 25.0
MIN_SIDE_SHARE = 0.15
#: Planes turned per image, the largest first. Each costs as much again as the image's own
#: keypoints, and 43 of 300 background images have one; with two, dev-extra found the same
#: emblems, and a scan of the background took 3% longer.
MAX_PLANES = 1
#: Two outlines are one plane where every corner of one lies within this share of its longer side
#: of a corner of the other's, each in turn (found again at another level of light and dark).
SAME_PLANE = 0.1
#: Longer side of a plane turned to face the viewer, in pixels, whatever its size in the image (the
#: far side of a card seen at an angle is enlarged more than its near side). At 256, two of the five
#: emblems found so on dev-extra (in images of 96 to 160 px) were lost.
RECTIFIED_SIDE = 384


def outlines(rgb: np.ndarray) -> list[np.ndarray]:
    """The quadrilaterals of the image (each (4, 2) corners in its pixels, clockwise from the
    top left) that outline a plane seen at an angle, the largest first, at most :data:`MAX_PLANES`
    (looked for in a copy of ``regions.DEFAULT_IMAGE_SIDE`` pixels at most, as flat regions are)."""
    grey, factor = regions.small_grey(rgb)
    area = grey.shape[0] * grey.shape[1]
    everywhere = np.ones(grey.shape, bool)
    smallest, largest = MIN_PLANE_SHARE * area, MAX_PLANE_SHARE * area
    found: list[tuple[float, np.ndarray]] = []
    for x, y, region in regions.components(grey, everywhere, int(smallest), smallest, largest):
        corners = _quadrilateral(region)
        if corners is None or not _seen_at_an_angle(corners):
            continue
        corners += [x, y]
        if not any(_same(corners, other) for _, other in found):
            found.append((float(cv2.contourArea(corners.astype(np.float32))), corners))
    found.sort(key=lambda item: -item[0])
    return [corners * factor for _, corners in found[:MAX_PLANES]]


def _quadrilateral(region: np.ndarray) -> np.ndarray | None:
    """The four corners of a region's convex hull, clockwise from the top left, where its outer
    contour fills the hull (see :data:`MIN_PLANE_SOLIDITY`) and the hull has four."""
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outer = max(contours, key=cv2.contourArea)
    hull = cv2.convexHull(outer)
    hull_area = float(cv2.contourArea(hull))
    if hull_area <= 0 or float(cv2.contourArea(outer)) < MIN_PLANE_SOLIDITY * hull_area:
        return None
    corners = cv2.approxPolyDP(hull, CORNER_TOLERANCE * cv2.arcLength(hull, True), True)[:, 0, :]
    if len(corners) != 4:
        return None
    return _clockwise(corners.astype(np.float64))


def _clockwise(corners: np.ndarray) -> np.ndarray:
    """Four corners ordered clockwise on screen (y down), the one nearest the top left first."""
    centre = corners.mean(axis=0)
    order = np.argsort(np.arctan2(corners[:, 1] - centre[1], corners[:, 0] - centre[0]))
    ordered = corners[order]
    return np.roll(ordered, -int(np.argmin(ordered.sum(axis=1))), axis=0)


def _angles(corners: np.ndarray) -> np.ndarray:
    """Interior angle at each corner, in degrees."""
    before = np.roll(corners, 1, axis=0) - corners
    after = np.roll(corners, -1, axis=0) - corners
    cosines = (before * after).sum(axis=1) / (np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1))
    angles: np.ndarray = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
    return angles


def _seen_at_an_angle(corners: np.ndarray) -> bool:
    """Whether a quadrilateral is a plane that a camera sees whole and at an angle."""
    angles = _angles(corners)
    sides = np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)
    if angles.min() < MIN_CORNER or sides.min() < MIN_SIDE_SHARE * sides.max():
        return False
    return bool(np.abs(angles - 90.0).max() > SQUARE_WITHIN)


def _same(one: np.ndarray, other: np.ndarray) -> bool:
    """Whether two outlines are one plane (see :data:`SAME_PLANE`), whichever corner each begins
    at (the one nearest the top left may differ by a pixel's noise for a card turned by 45 degrees)."""
    reach = SAME_PLANE * float(np.ptp(one, axis=0).max())
    return any(bool((np.linalg.norm(one - np.roll(other, k, axis=0), axis=1) <= reach).all()) for k in range(4))


def rectified(rgb: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plane outlined by ``corners`` turned to face the viewer, as a rectangle whose sides are
    in the proportion of the outline's opposite sides' means, :data:`RECTIFIED_SIDE` pixels along
    the longer; and the homography from its pixels back to the image's."""
    sides = np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)
    width, height = (sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2
    factor = RECTIFIED_SIDE / max(width, height)
    width, height = max(1, round(width * factor)), max(1, round(height * factor))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    back = cv2.getPerspectiveTransform(target, corners.astype(np.float32)).astype(np.float64)
    turned = cv2.warpPerspective(
        rgb, back, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    return turned, back

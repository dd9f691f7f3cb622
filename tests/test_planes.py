"""Outlines of planes seen at an angle, found in pictures drawn here, and turned to face the viewer."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from logowatch import planes, verification

# A card 300 x 200 seen at an angle in a 256 px picture: its right side about half as long as its
# left, turned a little.
CARD = np.array([[30.0, 40.0], [220.0, 80.0], [226.0, 170.0], [34.0, 226.0]])


def _picture(corners: np.ndarray, card: tuple[int, int, int] = (240, 236, 225)) -> np.ndarray:
    picture = np.full((256, 256, 3), (35, 35, 50), np.uint8)
    cv2.fillConvexPoly(picture, np.round(corners).astype(np.int32), card)
    return picture


def test_a_card_seen_at_an_angle_is_outlined_and_turned_to_face_the_viewer() -> None:
    picture = _picture(CARD)
    # Something printed on it: a dark mark, which the card's region holds as a hole.
    cv2.circle(picture, (120, 130), 25, (20, 60, 160), -1)
    found = planes.outlines(picture)
    assert len(found) == 1
    assert np.abs(found[0] - CARD).max() < 3  # clockwise from the top left
    turned, back = planes.rectified(picture, found[0])
    assert max(turned.shape[:2]) == planes.RECTIFIED_SIDE
    # Its sides in the proportion of the outline's opposite sides.
    sides = np.linalg.norm(np.roll(CARD, -1, axis=0) - CARD, axis=1)
    assert turned.shape[1] / turned.shape[0] == pytest.approx((sides[0] + sides[2]) / (sides[1] + sides[3]), rel=0.05)
    # The card fills the rectangle: the rectangle's corners go back onto the card's, and the mark
    # is inside.
    height, width = turned.shape[:2]
    corners = np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]])
    assert np.abs(verification.mapped(corners, back) - CARD).max() < 3
    ground = np.all(turned.astype(int) == (35, 35, 50), axis=2)
    assert ground.mean() < 0.02
    assert (np.abs(turned.astype(int) - (20, 60, 160)).sum(axis=2) < 30).mean() > 0.05


@pytest.mark.parametrize(
    "corners",
    [
        np.array([[40.0, 60.0], [216.0, 60.0], [216.0, 190.0], [40.0, 190.0]]),  # a rectangle, upright
        # The same rectangle turned by 30 degrees: still seen from the front.
        (np.array([[40.0, 60.0], [216.0, 60.0], [216.0, 190.0], [40.0, 190.0]]) - 128)
        @ np.array([[0.866, -0.5], [0.5, 0.866]]).T
        + 128,
    ],
)
def test_a_rectangle_seen_from_the_front_is_not_turned(corners: np.ndarray) -> None:
    assert planes.outlines(_picture(corners)) == []


def _cross() -> np.ndarray:
    """Two bars crossed: the hull of the cross is a quadrilateral, which the cross fills a third of."""
    cross = np.full((256, 256, 3), (35, 35, 50), np.uint8)
    cv2.line(cross, (20, 60), (236, 120), (240, 236, 225), 28)
    cv2.line(cross, (180, 20), (60, 236), (240, 236, 225), 28)
    return cross


def _disc() -> np.ndarray:
    disc = np.full((256, 256, 3), (35, 35, 50), np.uint8)
    cv2.circle(disc, (128, 128), 90, (240, 236, 225), -1)
    return disc


@pytest.mark.parametrize(
    "picture",
    [
        _disc,
        # A corner of 19 degrees: no card seen whole.
        lambda: _picture(np.array([[20.0, 120.0], [200.0, 90.0], [236.0, 120.0], [200.0, 150.0]])),
        # Ten times as long as it is wide.
        lambda: _picture(np.array([[20.0, 20.0], [236.0, 190.0], [225.0, 215.0], [10.0, 45.0]])),
        _cross,
        lambda: _picture(CARD / 6 + 100),  # a card a few pixels across: under 5% of the picture
    ],
    ids=["disc", "sharp corner", "sliver", "cross", "speck"],
)
def test_no_plane_is_outlined_where_no_card_is_seen_whole(picture: Callable[[], np.ndarray]) -> None:
    assert planes.outlines(picture()) == []


def test_the_largest_plane_is_turned_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small light card beside a larger grey one, higher up: found first, and both are planes
    # seen at an angle.
    larger = np.array([[100.0, 60.0], [250.0, 80.0], [248.0, 200.0], [104.0, 248.0]])
    picture = _picture(larger, (130, 130, 130))
    smaller = np.array([[8.0, 10.0], [80.0, 30.0], [88.0, 100.0], [10.0, 140.0]])
    cv2.fillConvexPoly(picture, np.round(smaller).astype(np.int32), (240, 236, 225))
    monkeypatch.setattr(planes, "MAX_PLANES", 2)
    found = planes.outlines(picture)
    assert len(found) == 2
    assert np.abs(found[0] - larger).max() < 3 and np.abs(found[1] - smaller).max() < 3
    monkeypatch.setattr(planes, "MAX_PLANES", 1)
    assert len(planes.outlines(picture)) == 1


def test_a_plane_found_at_several_levels_is_one_plane(monkeypatch: pytest.MonkeyPatch) -> None:
    # The card of three greys, its edges soft: found on the light side of every level that splits
    # it from the ground, a pixel larger or smaller at each.
    picture = _picture(CARD)
    cv2.circle(picture, (120, 130), 30, (200, 200, 200), -1)
    cv2.circle(picture, (120, 130), 12, (120, 120, 120), -1)
    picture = cv2.GaussianBlur(picture, (0, 0), 2.0)
    monkeypatch.setattr(planes, "MAX_PLANES", 5)
    found = planes.outlines(picture)
    assert len(found) == 1 and np.abs(found[0] - CARD).max() < 3

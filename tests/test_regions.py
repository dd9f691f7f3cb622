"""Flat regions: found, told plain or not, and an emblem placed by two of them agreeing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from logowatch import regions
from logowatch.library import ReferenceIndex
from tests.conftest import askew, screen


def _holed_pentagon(draw: ImageDraw.ImageDraw) -> None:
    draw.regular_polygon((100, 100, 80), 5, fill=0)
    draw.ellipse((80, 80, 120, 120), fill=255)


def _one_shape(draw_it: Callable[[ImageDraw.ImageDraw], None]) -> regions.Regions:
    """The regions of one dark shape on a white picture, but for the ground and a hole in it."""
    picture = Image.new("L", (200, 200), 255)
    draw_it(ImageDraw.Draw(picture))
    return regions.find(np.asarray(picture), shares=(0.05, 0.5))


@pytest.mark.parametrize(
    ("draw_it", "plain"),
    [
        (lambda d: d.rectangle((40, 60, 160, 130), fill=0), True),
        (lambda d: d.polygon([(30, 40), (170, 70), (60, 170)], fill=0), True),
        (lambda d: d.ellipse((30, 60, 170, 140), fill=0), True),
        (lambda d: d.polygon([(40, 30), (160, 60), (150, 150), (30, 120)], fill=0), True),
        (lambda d: d.polygon([(40, 30), (90, 30), (90, 120), (160, 120), (160, 170), (40, 170)], fill=0), False),
        (lambda d: d.polygon([(40, 40), (80, 40), (80, 130), (120, 130), (120, 40), (160, 40), (160, 170), (40, 170)],
                             fill=0), False),
        (lambda d: d.ellipse((30, 30, 170, 170), outline=0, width=50), False),
        (_holed_pentagon, False),
    ],
    ids=["rectangle", "triangle", "ellipse", "quadrilateral", "L", "U", "ring", "pentagon-with-hole"],
)
def test_shapes_that_whiten_alike_are_plain(draw_it: Callable[[ImageDraw.ImageDraw], None], plain: bool) -> None:
    found = _one_shape(draw_it)
    assert len(found) == 1
    assert bool(found.plain[0]) is plain


def test_a_region_is_found_once_at_every_threshold_that_splits_it_off() -> None:
    # Three greys: the first threshold and the one within the dark side both split the black
    # square from the white, where it is the same square.
    picture = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((20, 20, 180, 100), fill=128)
    draw.rectangle((60, 120, 120, 180), fill=0)
    found = regions.find(np.asarray(picture), shares=(regions.MIN_IMAGE_SHARE, 0.5))
    squares = [c for c in found.centres if np.hypot(*(c - (90, 150))) < 2]
    assert len(squares) == 1


def _library(tmp_path: Path, picture: Image.Image) -> ReferenceIndex:
    (tmp_path / "library" / "emblem").mkdir(parents=True)
    picture.save(tmp_path / "library" / "emblem" / "emblem.png")
    return ReferenceIndex.build(tmp_path / "library", tmp_path / "cache")


@pytest.mark.parametrize(("squash", "direction"), [(0.35, 30.0), (0.5, 60.0)])
def test_an_emblem_seen_askew_is_placed_by_two_of_its_regions(tmp_path: Path, squash: float, direction: float) -> None:
    index = _library(tmp_path, screen())
    view, truth = askew(screen(), squash, direction, 240)
    found = index.regions.placements(regions.of_image(view), limit=4)
    assert found and found[0].regions == 2  # both of its regions: the frame with the triangle, the card
    variant, mirrored = index.view(found[0].view)
    assert (variant, mirrored) == (0, False)
    # Where it puts the emblem's corners, in emblem pixels (the library's emblem is its own
    # drawing, scaled to its working size), against where they are.
    prepared = index.variants[variant]
    scale = 300 / prepared.emblem_size[0]
    width, height = prepared.emblem_size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    placed = corners @ found[0].transform[:, :2].T + found[0].transform[:, 2]
    actual = (corners * scale) @ truth[:, :2].T + truth[:, 2]
    assert np.abs(placed - actual).max() < 0.1 * 240


def test_plain_regions_alone_propose_nothing(tmp_path: Path) -> None:
    # Three bars: any three bars, seen at any angle, whiten into them. A crescent among them does not.
    flag = Image.new("RGB", (300, 200), (200, 20, 30))
    draw = ImageDraw.Draw(flag)
    draw.rectangle((0, 67, 300, 133), fill="white")
    index = _library(tmp_path / "bars", flag)
    view, _ = askew(flag, 0.7, 30.0, 240, ground=(230, 230, 230))
    found = regions.of_image(view)
    assert len(found) >= 3 and found.plain.all()
    assert index.regions.placements(found, limit=4) == []
    draw.ellipse((40, 20, 180, 180), fill=(230, 180, 20))
    draw.ellipse((75, 20, 215, 180), fill=(200, 20, 30))
    index = _library(tmp_path / "crescent", flag)
    view, _ = askew(flag, 0.5, 30.0, 240)
    assert [p.view for p in index.regions.placements(regions.of_image(view), limit=4)] == [0]


def _shape(draw_it: Callable[[ImageDraw.ImageDraw], None], at: tuple[float, float]) -> regions.Regions:
    """One dark shape's region (see :func:`_one_shape`), its centre moved to ``at``."""
    found = _one_shape(draw_it)
    return regions.Regions(np.array([at], float), found.roots, found.grids, found.plain)


def _joined(*parts: regions.Regions) -> regions.Regions:
    fields = ("centres", "roots", "grids", "plain")
    return regions.Regions(*(np.concatenate([getattr(part, field) for part in parts]) for field in fields))


def test_a_region_counts_once_however_many_land_on_it() -> None:
    # An emblem of an L and a square, the square twice over (as a region found at two levels,
    # cut otherwise at each, would be), placed where it is: one check, not two.
    emblem = _joined(_shape(_ell, (100, 100)), _shape(_square, (220, 100)), _shape(_square, (220, 100)))
    image = _joined(_shape(_ell, (100, 100)), _shape(_square, (220, 100)))
    found = regions.RegionIndex([emblem], [0]).placements(image, limit=4)
    assert [p.regions for p in found] == [2]
    # Nor do two of the image's under one of the emblem's.
    emblem = _joined(_shape(_ell, (100, 100)), _shape(_square, (220, 100)))
    image = _joined(_shape(_ell, (100, 100)), _shape(_square, (220, 100)), _shape(_square, (220, 101)))
    found = regions.RegionIndex([emblem], [0]).placements(image, limit=4)
    assert [p.regions for p in found] == [2]
    # Where two of the emblem's land on two of the image's, both count.
    emblem = _joined(_shape(_ell, (100, 100)), _shape(_square, (220, 100)), _shape(_square, (100, 220)))
    image = _joined(_shape(_ell, (100, 100)), _shape(_square, (220, 100)), _shape(_square, (100, 220)))
    found = regions.RegionIndex([emblem], [0]).placements(image, limit=4)
    assert [p.regions for p in found] == [3]


def _square(draw: ImageDraw.ImageDraw) -> None:
    draw.rectangle((70, 70, 130, 130), fill=0)


def _triangle(draw: ImageDraw.ImageDraw) -> None:
    draw.polygon([(60, 140), (140, 140), (100, 60)], fill=0)


def _u(draw: ImageDraw.ImageDraw) -> None:
    draw.polygon([(40, 40), (80, 40), (80, 130), (120, 130), (120, 40), (160, 40), (160, 170), (40, 170)], fill=0)


def _ell(draw: ImageDraw.ImageDraw) -> None:
    draw.polygon([(40, 30), (90, 30), (90, 120), (160, 120), (160, 170), (40, 170)], fill=0)


def test_plain_regions_stand_where_one_that_is_not_plain_confirms_them() -> None:
    # An emblem of a square, a triangle and an L; the image has the square and the triangle, and
    # where the L goes a region of its moments but of another shape (a U's): no pair of shapes
    # but the plain ones agrees, and only the U, not plain, lets their placement stand.
    ell = _shape(_ell, (180, 240))
    emblem = _joined(_shape(_square, (100, 100)), _shape(_triangle, (260, 100)), ell)
    index = regions.RegionIndex([emblem], [0])
    other = regions.Regions(ell.centres, ell.roots, _shape(_u, (180, 240)).grids, ell.plain)
    image = _joined(_shape(_square, (100, 100)), _shape(_triangle, (260, 100)), other)
    assert [p.regions for p in index.placements(image, limit=4)] == [3]
    plain_only = _joined(_shape(_square, (100, 100)), _shape(_triangle, (260, 100)))
    assert index.placements(plain_only, limit=4) == []


def test_a_region_of_another_size_where_one_should_lie_confirms_nothing() -> None:
    emblem = _joined(_shape(_ell, (100, 100)), _shape(_square, (220, 100)))
    index = regions.RegionIndex([emblem], [0])
    assert [p.regions for p in index.placements(emblem, limit=4)] == [2]
    # The square where it should lie, but three times as wide (nine times the moments).
    wide = _shape(_square, (220, 100))
    wide = regions.Regions(wide.centres, wide.roots * 3, wide.grids, wide.plain)
    assert index.placements(_joined(_shape(_ell, (100, 100)), wide), limit=4) == []


def test_one_region_with_soft_edges_does_not_confirm_itself(tmp_path: Path) -> None:
    # An L of one piece, blurred: each level of light and dark cuts it a little otherwise, and
    # those copies, kept apart, would land on each other's copies in the image.
    drawn = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(drawn).polygon([(60, 40), (130, 40), (130, 190), (250, 190), (250, 260), (60, 260)], fill="black")
    drawn = drawn.filter(ImageFilter.GaussianBlur(6))
    index = _library(tmp_path, drawn)
    for squash, direction in [(0.5, 30.0), (0.35, 60.0)]:
        view, _ = askew(drawn, squash, direction, 240)
        assert index.regions.placements(regions.of_image(view), limit=4) == []


def test_an_image_without_regions_proposes_nothing(tmp_path: Path) -> None:
    index = _library(tmp_path, screen())
    blank = regions.of_image(np.full((120, 90, 3), 200, np.uint8))
    assert len(blank) == 0
    assert index.regions.placements(blank, limit=4) == []
    # Nor does a library without regions (a blank emblem's), whatever the image.
    view, _ = askew(screen(), 0.35, 30.0, 240)
    assert regions.RegionIndex([regions.Regions.empty()] * 2, [0, 0]).placements(regions.of_image(view), 4) == []
    assert regions.RegionIndex([], []).placements(regions.of_image(view), 4) == []

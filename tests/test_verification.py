"""Render-and-compare: the resolution estimate and the blur-matched comparison."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from logowatch import verification
from logowatch.calibration import on_canvas
from tests.conftest import emblem, noise_image


def sharp_scene() -> np.ndarray:
    return np.asarray(on_canvas(emblem("northmere-security-bureau"), size=320))


@pytest.mark.parametrize("factor", [2, 4])
def test_an_enlarged_image_is_recognised_as_such(factor: int) -> None:
    scene = sharp_scene()
    small = cv2.resize(scene, (320 // factor, 320 // factor), interpolation=cv2.INTER_AREA)
    enlarged = cv2.resize(small, (320, 320), interpolation=cv2.INTER_CUBIC)
    assert verification.upscale_factor(enlarged) >= factor * 0.75


@pytest.mark.parametrize("make", [sharp_scene, lambda: np.asarray(noise_image(200, 3))], ids=["emblem", "noise"])
def test_an_image_at_its_own_resolution_is_not(make) -> None:
    assert verification.upscale_factor(make()) == 1.0


def test_a_flat_image_is_not_mistaken_for_an_enlarged_one() -> None:
    assert verification.upscale_factor(np.full((100, 100, 3), 90, np.uint8)) == 1.0


def test_blurred_emblem_is_compared_at_its_own_resolution() -> None:
    reference = np.asarray(on_canvas(emblem("kesland-coast-guard"), size=160))
    blurred = np.asarray(
        Image.fromarray(reference).resize((20, 20), Image.Resampling.BOX).resize((160, 160), Image.Resampling.BICUBIC)
    )
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    crisp = verification.compare(reference, blurred, identity).correlation
    matched = verification.compare(
        reference, blurred, identity, pixel_size=verification.upscale_factor(blurred)
    ).correlation
    assert matched > crisp + 0.05
    # Telling the comparison that a sharp image is blurred changes nothing for the worse.
    assert verification.compare(reference, reference, identity, pixel_size=5.0).correlation > 0.9


def test_an_emblem_half_outside_the_image_is_shown_in_part() -> None:
    reference = np.asarray(on_canvas(emblem("kesland-coast-guard"), size=160))
    half_off = np.array([[1.0, 0.0, 80.0], [0.0, 1.0, 0.0]])
    whole = verification.compare(reference, reference, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    part = verification.compare(reference, reference, half_off)
    assert whole.shown == 1.0
    assert 0.5 < part.shown < 0.9


def test_a_placement_shrunk_to_a_dot_is_refused() -> None:
    reference = np.asarray(on_canvas(emblem("kesland-coast-guard"), size=160))
    dot = np.array([[0.05, 0.0, 40.0], [0.0, 0.05, 40.0]])  # 160 px -> 8 px
    assert verification.compare(reference, reference, dot) == verification.REFUSED


def word_on_disc(word: str, size: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A wordmark on a yellow disc, as many emblems and many text avatars are; and its support."""
    image = np.full((size, size, 3), 255, np.uint8)
    cv2.circle(image, (size // 2, size // 2), size // 2 - 4, (240, 190, 0), -1)
    cv2.putText(image, word, (size // 2 - 70, size // 2 + 18), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (60, 60, 60), 5)
    support = np.zeros((size, size), np.uint8)
    cv2.circle(support, (size // 2, size // 2), size // 2 - 1, 255, -1)
    return image, support


@pytest.mark.parametrize("other", ["ANNA", "LEE", "ZHAO"])
def test_a_shared_outline_is_not_evidence_of_the_emblem(other: str) -> None:
    reference, support = word_on_disc("MOQ")
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    different_image = word_on_disc(other)[0]
    # The disc's outline makes the whole correlate almost as well as the emblem itself ...
    assert verification.compare(reference, different_image, identity, support).correlation > 0.9
    # ... but inside it, only the emblem's own word agrees.
    inside = verification.interior_of(support)
    same = verification.interior_correlation(reference, word_on_disc("MOQ")[0], identity, inside)
    different = verification.interior_correlation(reference, different_image, identity, inside)
    assert same is not None and different is not None
    assert different < same - 0.15


def test_an_emblem_that_is_all_outline_has_no_interior() -> None:
    ring = np.full((160, 160, 3), 255, np.uint8)
    cv2.circle(ring, (80, 80), 70, (0, 0, 200), 3)
    support = np.zeros((160, 160), np.uint8)
    cv2.circle(support, (80, 80), 70, 255, 7)
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert verification.interior_of(support) is None
    assert verification.interior_correlation(ring, ring, identity, verification.interior_of(support)) is None


def test_more_of_a_grid_may_be_hidden_when_asked() -> None:
    # Two of six rows of cells spoiled (a caption band a third of the height): hiding 30% of the
    # cells leaves one spoiled row in the average, hiding 40% leaves none.
    rng = np.random.default_rng(4)
    a = rng.random((60, 60)).astype(np.float32)
    b = a.copy()
    b[:20] = rng.random((20, 60)).astype(np.float32)
    mask = np.ones((60, 60), bool)
    generous = verification.occlusion_tolerant_correlation(a, b, mask, hidden=0.4)
    assert generous > 0.99
    assert verification.occlusion_tolerant_correlation(a, b, mask) < generous - 0.05


def _stripes(colours: list[tuple[int, int, int]], across: bool = True, side: int = 120) -> np.ndarray:
    """A flag of equal stripes, across or down."""
    flag = np.zeros((side, side, 3), np.uint8)
    band = side // len(colours)
    for number, colour in enumerate(colours):
        if across:
            flag[number * band : (number + 1) * band] = colour
        else:
            flag[:, number * band : (number + 1) * band] = colour
    return flag


MALAWI_LIKE = [(20, 20, 20), (200, 30, 40), (40, 150, 60)]
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def isoluminant(*colours: tuple[float, float]) -> list[tuple[int, int, int]]:
    """RGB colours of the same lightness (CIE L* 60) and the given a*, b*."""
    lab = np.array([[[60 * 255 / 100, 128 + a, 128 + b] for a, b in colours]], np.uint8)
    return [tuple(int(v) for v in rgb) for rgb in cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0]]  # type: ignore[misc]


def agreement(reference: np.ndarray, image: np.ndarray) -> float | None:
    support = np.full(reference.shape[:2], 255, np.uint8)
    return verification.appearance_agreement(reference, image, IDENTITY, support)


@pytest.mark.parametrize(
    "alter",
    [
        lambda flag: flag,
        grey,
        lambda flag: 255 - flag,  # inverted
        lambda flag: 255 - grey(flag),  # greyed and inverted
        lambda flag: flag[..., ::-1].copy(),  # channels swapped: other hues, the same light and dark
    ],
    ids=["same", "grey", "inverted", "grey-inverted", "recoloured"],
)
def test_an_emblem_recoloured_greyed_or_inverted_keeps_its_appearance(
    alter: Callable[[np.ndarray], np.ndarray],
) -> None:
    flag = _stripes(MALAWI_LIKE)
    found = agreement(flag, alter(flag))
    assert found is not None and found > 0.6


def test_colours_alone_can_vouch_for_an_emblem_whose_light_and_dark_say_nothing() -> None:
    # Two stripes of one lightness: only their colours tell them apart, and an exact copy keeps them.
    flag = _stripes(isoluminant((60, 30), (-50, 40)))
    found = agreement(flag, flag.copy())
    assert found is not None and found > 0.9
    other = _stripes(isoluminant((-60, -30), (50, -40)))
    found = agreement(flag, other)
    assert found is not None and found < 0.3  # other hues, and no light and dark to go by


@pytest.mark.parametrize(
    "other",
    [
        [(250, 220, 30), (30, 160, 60), (240, 240, 240)],  # other colours, another light and dark
        [(230, 230, 120), (150, 60, 200), (20, 40, 90)],  # other colours, light and dark reversed
    ],
    ids=["other", "reversed"],
)
def test_stripes_of_other_colours_and_another_light_and_dark_do_not(other: list[tuple[int, int, int]]) -> None:
    # Where a flag's edges are, another flag's may be too; its colours and lightness differ.
    found = agreement(_stripes(MALAWI_LIKE), _stripes(other))
    assert found is not None and found < 0.3


def test_grey_against_grey_is_judged_by_light_and_dark_alone() -> None:
    black_white_black = _stripes([(0, 0, 0), (255, 255, 255), (0, 0, 0)])
    found = agreement(black_white_black, _stripes([(255, 255, 255), (128, 128, 128), (255, 255, 255)], across=False))
    assert found is not None and found < 0.3


def test_a_faint_gradient_is_no_pattern_of_light_and_dark() -> None:
    light_to_dark = _stripes([(230, 230, 230), (128, 128, 128), (20, 20, 20)])
    faint = np.repeat(np.linspace(126, 130, 120).astype(np.uint8)[:, None], 120, axis=1)
    found = agreement(light_to_dark, np.dstack([faint] * 3))
    assert found is not None and found < 0.3


def test_a_flat_emblem_is_judged_by_its_colour_and_a_flat_grey_one_not_at_all() -> None:
    red = np.full((120, 120, 3), (200, 30, 40), np.uint8)
    assert (agreement(red, red.copy()) or 0.0) > 0.9
    blue = agreement(red, np.full((120, 120, 3), (30, 60, 200), np.uint8))
    assert blue is not None and blue < 0.3  # recoloured: unknowable
    assert (agreement(red, 255 - red) or 0.0) > 0.9  # inverted: its colour reversed
    assert agreement(np.full((120, 120, 3), 90, np.uint8), _stripes(MALAWI_LIKE)) is None


def test_one_stripe_of_the_same_colour_is_not_the_emblem_keeping_its_colours() -> None:
    # A third of the pixels agree in colour, as chance gives; the rest differ: another flag.
    flag = _stripes([(20, 40, 140), (200, 30, 40), (40, 150, 60)])
    found = agreement(flag, _stripes([(250, 220, 30), (200, 30, 40), (230, 60, 200)]))
    assert found is not None and found < 0.3


def test_an_emblem_out_of_sight_cannot_be_judged() -> None:
    support = np.full((120, 120), 255, np.uint8)
    off_image = np.array([[1.0, 0.0, 500.0], [0.0, 1.0, 0.0]])
    assert verification.appearance_agreement(_stripes(MALAWI_LIKE), _stripes(MALAWI_LIKE), off_image, support) is None


def test_lightness_reversed_without_colours_to_confirm_it_counts_only_when_clear() -> None:
    grey_steps = _stripes([(0, 0, 0), (128, 128, 128), (255, 255, 255)])
    half_reversed = _stripes([(255, 255, 255), (0, 0, 0), (128, 128, 128)])
    found = agreement(grey_steps, half_reversed)
    assert found is not None and found < 0.3
    inverted = agreement(grey_steps, 255 - grey_steps)
    assert inverted is not None and inverted > 0.9


def test_a_placement_near_a_view_at_an_angle_is_refined_into_it() -> None:
    reference = np.asarray(on_canvas(emblem("kesland-coast-guard"), size=160))
    support = np.full(reference.shape[:2], 255, np.uint8)
    # The emblem on a sign seen from the side: its right edge a quarter shorter than its left.
    corners = np.array([[0, 0], [159, 0], [159, 159], [0, 159]], np.float32)
    seen = np.array([[40, 30], [190, 50], [190, 170], [40, 190]], np.float32)
    truth = cv2.getPerspectiveTransform(corners, seen)
    image = cv2.warpPerspective(reference, truth, (240, 220), borderMode=cv2.BORDER_CONSTANT, borderValue=(250,) * 3)
    # What keypoints might propose: the similarity that puts the emblem where the sign is.
    guess = np.array([[150 / 160, 0.0, 40.0], [0.0, 150 / 160, 35.0], [0.0, 0.0, 1.0]])

    def error(transform: np.ndarray) -> float:
        placed = cv2.perspectiveTransform(corners[None].astype(np.float64), transform)[0]
        return float(np.abs(placed - seen).max())

    refined = verification.refine(reference, support, verification.edge_map(image), guess)
    assert refined is not None
    assert error(guess) > 10 and error(refined) < 2
    before = verification.compare(reference, image, guess).correlation
    assert verification.compare(reference, image, refined).correlation > before + 0.2


def _glyph() -> tuple[np.ndarray, np.ndarray]:
    """A simple emblem with few keypoints (a thick open loop on a stem, like a tree drawn in one
    stroke), on white, and its support."""
    drawn = Image.new("RGB", (160, 160), "white")
    draw = ImageDraw.Draw(drawn)
    draw.arc([30, 15, 130, 105], start=150, end=390, fill=(40, 200, 60), width=14)
    draw.line([(80, 100), (86, 150)], fill=(40, 200, 60), width=14)
    reference = np.asarray(drawn)
    support = np.where(reference.min(axis=2) < 200, 255, 0).astype(np.uint8)
    return reference, cv2.dilate(support, np.ones((9, 9), np.uint8))


# What a few keypoints might propose: a fifth too large, too far right and turned. (From either
# guess, aligning the regions without their moments first leaves the emblem 50 pixels off.)
@pytest.mark.parametrize(
    ("turn", "size", "right"),
    [(8.0, 1.2, 90.0), (-20.0, 1.2, 70.0)],
    ids=["far right", "turned the other way"],
)
def test_a_simple_emblem_far_from_its_placement_is_found_by_its_shape(turn: float, size: float, right: float) -> None:
    reference, support = _glyph()
    # On a blue card seen at an angle: its right side a third shorter than its left.
    corners = np.array([[0, 0], [159, 0], [159, 159], [0, 159]], np.float32)
    seen = np.array([[60, 40], [170, 70], [170, 160], [60, 200]], np.float32)
    truth = cv2.getPerspectiveTransform(corners, seen)
    card = np.where(reference.min(axis=2, keepdims=True) < 200, reference, np.array([50, 60, 140], np.uint8))
    image = cv2.warpPerspective(card, truth, (240, 240), borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    angle, linear = np.deg2rad(turn), size * 130 / 160
    guess = np.array(
        [
            [linear * np.cos(angle), -linear * np.sin(angle), right],
            [linear * np.sin(angle), linear * np.cos(angle), 20.0],
            [0.0, 0.0, 1.0],
        ]
    )

    def error(transform: np.ndarray) -> float:
        inked = np.argwhere(support > 0)[::25, ::-1].astype(np.float64)
        placed = cv2.perspectiveTransform(inked[None], transform)[0]
        return float(np.abs(placed - cv2.perspectiveTransform(inked[None], truth)[0]).max())

    shaped = verification.align_shapes(reference, support, image, guess)
    assert shaped is not None
    assert error(guess) > 20 and error(shaped) < 4
    # Matching then aligns the edges from there.
    finished = verification.refine(reference, support, verification.edge_map(image), shaped)
    assert finished is not None and error(finished) < 2
    before = verification.compare(reference, image, guess, support).correlation
    after = verification.compare(reference, image, finished, support).correlation
    assert before < 0.5 and after > 0.8


@pytest.mark.parametrize("full", [False, True], ids=["a glyph", "a flag (its support the whole emblem)"])
def test_no_shape_is_found_on_a_blank_image(full: bool) -> None:
    reference, support = _glyph()
    if full:
        support = np.full_like(support, 255)
    blank = np.full((200, 200, 3), 128, np.uint8)
    assert verification.align_shapes(reference, support, blank, np.eye(3)) is None


def test_a_placement_on_a_blank_image_is_not_refined() -> None:
    reference = np.asarray(on_canvas(emblem("kesland-coast-guard"), size=160))
    support = np.full(reference.shape[:2], 255, np.uint8)
    blank = np.full((200, 200, 3), 128, np.uint8)
    assert verification.refine(reference, support, verification.edge_map(blank), np.eye(3)) is None


@pytest.mark.parametrize(
    "transform",
    [
        np.array([[2.0, 0.0, 5.0], [0.0, 2.0, 7.0], [0.0, 0.0, 1.0]]),
        np.array([[0.9, 0.1, 40.0], [0.05, 1.1, 30.0], [0.002, 0.001, 1.0]]),
        -np.array([[0.9, 0.1, 40.0], [0.05, 1.1, 30.0], [0.002, 0.001, 1.0]]),
    ],
    ids=["a similarity", "a homography", "the same homography negated"],
)
def test_the_local_scale_of_a_placement_is_how_much_it_enlarges_a_small_square_there(transform: np.ndarray) -> None:
    point, step = (60.0, 80.0), 0.01
    square = np.array([[point, (point[0] + step, point[1]), (point[0], point[1] + step)]], np.float64)
    a, b, c = cv2.perspectiveTransform(square, transform)[0]
    area = abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / step**2
    assert verification.local_scale(transform, point) == pytest.approx(np.sqrt(area), rel=1e-3)

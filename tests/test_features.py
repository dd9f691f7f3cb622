"""Keypoints and the feature index: faint keypoints, distinctive and ambiguous matches."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from logowatch import features
from logowatch.calibration import on_canvas
from tests.conftest import emblem, noise_image


def random_descriptors(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    raw = rng.random((count, 128)).astype(np.float32)
    return np.sqrt(raw / raw.sum(axis=1, keepdims=True))


def turned(points: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return (points @ np.array([[c, s], [-s, c]]) + np.array(shift)).astype(np.float32)


def test_faint_keypoints_are_kept_only_where_strong_ones_are_few() -> None:
    drawn = np.asarray(on_canvas(emblem("northmere-security-bureau"), size=256)).astype(np.float32)
    faded = (245 + (drawn - drawn.mean()) * 0.06).clip(0, 255).astype(np.uint8)
    plain = features.detect(faded, 900)
    assert len(features.detect(faded, 900, sparse=150)) > max(len(plain), 1) * 2
    busy = np.asarray(noise_image(256, 5))
    a, b = features.detect(busy, 900), features.detect(busy, 900, sparse=150)
    assert len(a) >= 150
    assert np.array_equal(a.points, b.points) and np.array_equal(a.descriptors, b.descriptors)


def every_keypoint_then_cut(rgb: np.ndarray, max_features: int, sparse: int) -> features.Keypoints:
    """What detect() promises, done the slow way: every keypoint described, then sorted and cut."""
    sift = cv2.SIFT.create(contrastThreshold=features.FAINT_CONTRAST if sparse else features.SIFT_CONTRAST)
    found, described = sift.detectAndCompute(features.to_grey(rgb), None)
    rows = list(range(len(found)))
    if sparse:
        strong = [i for i in rows if found[i].response * features.SIFT_LAYERS >= features.SIFT_CONTRAST]
        rows = strong if len(strong) >= sparse else rows
    order = sorted(rows, key=lambda i: features._rank(found[i]))[:max_features]
    return features.Keypoints(
        np.array([found[i].pt for i in order], np.float32), features._root_sift(described[order])
    )


def test_describing_only_the_strongest_keeps_the_same_keypoints_and_descriptors() -> None:
    # detect() lets OpenCV describe only the strongest keypoints; the kept ones must be exactly
    # those of describing everything and cutting afterwards, in a busy image and a faint one.
    busy = np.asarray(noise_image(256, 3))
    drawn = np.asarray(on_canvas(emblem("northmere-security-bureau"), size=256)).astype(np.float32)
    faint = (245 + (drawn - drawn.mean()) * 0.06).clip(0, 255).astype(np.uint8)
    for image, keep, sparse in [(busy, 120, 0), (busy, 120, 150), (faint, 60, 150), (drawn.astype(np.uint8), 80, 0)]:
        fast, slow = features.detect(image, keep, sparse), every_keypoint_then_cut(image, keep, sparse)
        assert len(fast) == len(slow) > 0
        assert np.array_equal(fast.points, slow.points)
        assert np.array_equal(fast.descriptors, slow.descriptors)


def test_ambiguous_matches_are_sorted_out_by_geometry() -> None:
    # Two entities whose keypoints all look alike: no match passes the ratio test. Only the first
    # one's keypoints lie in the image where one placement puts them.
    rng = np.random.default_rng(7)
    descriptors = random_descriptors(40, 1)
    right = (rng.random((40, 2)) * 300).astype(np.float32)
    wrong = (rng.random((40, 2)) * 300).astype(np.float32)
    index = features.FeatureIndex([right, wrong], [descriptors, descriptors.copy()], [0, 1])
    query = features.Keypoints(turned(right, 0.4, 0.5, (60.0, 20.0)), descriptors.copy())
    assert not index.tentative_matches(query)
    found = index.hypotheses(query, 8)
    assert [h.view for h in found] == [0]
    assert not found[0].distinctive
    assert found[0].inliers >= 30


def test_distinctive_matches_give_a_distinctive_hypothesis() -> None:
    rng = np.random.default_rng(8)
    right = (rng.random((40, 2)) * 300).astype(np.float32)
    index = features.FeatureIndex(
        [right, right.copy()], [random_descriptors(40, 1), random_descriptors(40, 2)], [0, 1]
    )
    query = features.Keypoints(turned(right, -0.3, 0.7, (10.0, 40.0)), random_descriptors(40, 1))
    found = [h for h in index.hypotheses(query, 8) if h.distinctive]
    assert found and found[0].view == 0 and found[0].inliers >= 30


def test_an_ambiguous_hypothesis_counts_query_keypoints_not_pairs() -> None:
    # Each query keypoint has the same two look-alike neighbours in the view (a repeated motif):
    # 40 keypoints, 80 pairs. The hypothesis reports keypoints.
    rng = np.random.default_rng(9)
    descriptors = random_descriptors(40, 3)
    right = (rng.random((40, 2)) * 300).astype(np.float32)
    twin = right + np.float32(0.5)
    index = features.FeatureIndex(
        [np.vstack([right, twin]), right.copy()], [np.vstack([descriptors, descriptors]), descriptors.copy()], [0, 1]
    )
    query = features.Keypoints(turned(right, 0.2, 0.8, (30.0, 30.0)), descriptors.copy())
    found = [h for h in index.hypotheses(query, 8) if not h.distinctive and h.view == 0]
    assert found
    assert found[0].tentative == 40
    assert 30 <= found[0].inliers <= 40


def placed_by(points: np.ndarray, matrix: list[list[float]]) -> np.ndarray:
    return cv2.perspectiveTransform(points[None], np.array(matrix))[0].astype(np.float32)


@pytest.mark.parametrize(
    ("count", "matrix", "homography"),
    [
        # A perspective view: a similarity explains part of it (8 of 20), the homography all.
        (20, [[1.0, 0.0, 20.0], [0.0, 0.6, 30.0], [0.003, 0.001, 1.0]], True),
        # Twelve matches that a homography fits but a similarity hardly does (4 of 12): not tried,
        # the price of trying no homography where the similarity found almost nothing.
        (12, [[1.5, 0.0, 0.0], [0.0, 0.8, 0.0], [0.0, 0.0, 1.0]], False),
    ],
)
def test_a_homography_is_tried_only_after_a_similarity_with_inliers(
    count: int, matrix: list[list[float]], homography: bool
) -> None:
    rng = np.random.default_rng(10)
    drawn = (rng.random((count, 2)) * 200).astype(np.float32)
    index = features.FeatureIndex(
        [drawn, drawn.copy()], [random_descriptors(count, 1), random_descriptors(count, 2)], [0, 1]
    )
    query = features.Keypoints(placed_by(drawn, matrix), random_descriptors(count, 1))
    assert cv2.findHomography(drawn, query.points, cv2.RANSAC, features.DEFAULT_RANSAC_PIXELS)[1].sum() == count
    found = [h for h in index.hypotheses(query, 8) if h.distinctive]
    assert any(h.transform.shape == (3, 3) for h in found) == homography


def test_polarity_permutation_is_an_involution() -> None:
    permutation = features.POLARITY_PERMUTATION
    assert sorted(permutation.tolist()) == list(range(128))
    assert np.array_equal(permutation[permutation], np.arange(128))


def test_inverted_image_keypoints_match_through_the_permutation() -> None:
    drawn = on_canvas(emblem("kesland-coast-guard"), size=256)
    inverted = Image.eval(drawn, lambda v: 255 - v)
    a = features.detect(np.asarray(drawn), 300)
    b = features.detect(np.asarray(inverted), 300)
    index = features.FeatureIndex([a.points], [a.descriptors], [0])
    found = index.hypotheses(b, 4)
    assert found and found[0].inliers >= 20


def test_an_emblem_seen_at_an_angle_gets_an_affine_hypothesis_from_few_matches() -> None:
    # Eight matches, too few for a homography; the emblem foreshortened to half its width and
    # sheared, as on a card seen from the side. A similarity fits only a few of them.
    rng = np.random.default_rng(3)
    reference = (rng.random((8, 2)) * 300).astype(np.float32)
    oblique = np.array([[0.5, 0.25], [0.0, 1.0]], np.float32)
    seen = (reference @ oblique.T + np.array([40.0, 30.0], np.float32)).astype(np.float32)
    descriptors = random_descriptors(8, 5)
    index = features.FeatureIndex([reference], [descriptors], [0])
    found = index.hypotheses(features.Keypoints(seen, descriptors.copy()), 8)
    best = max(found, key=lambda h: h.inliers)
    assert best.inliers == 8
    assert np.allclose(best.transform[:, :2], oblique, atol=0.05)


def test_too_few_matches_for_an_affine_hypothesis_give_none() -> None:
    # Six parameters fitted to six points fit anything: no affine hypothesis below eight matches.
    rng = np.random.default_rng(3)
    reference = (rng.random((6, 2)) * 300).astype(np.float32)
    seen = (reference @ np.array([[0.5, 0.25], [0.0, 1.0]], np.float32).T + 40.0).astype(np.float32)
    descriptors = random_descriptors(6, 5)
    index = features.FeatureIndex([reference], [descriptors], [0])
    for hypothesis in index.hypotheses(features.Keypoints(seen, descriptors.copy()), 8):
        linear = hypothesis.transform[:2, :2]
        # A similarity: equal scales, perpendicular axes.
        assert abs(float(np.linalg.norm(linear[:, 0]) - np.linalg.norm(linear[:, 1]))) < 1e-6


def test_an_emblem_seen_obliquely_is_placed_from_few_matches_of_its_oblique_view() -> None:
    # Six matches, too few for an affine hypothesis of their own: the emblem foreshortened by 2.4
    # at 20 degrees (near the oblique view of 2 at 0), turned and shrunk. The view's similarity
    # finds them all, and a refit brings the placement to the actual foreshortening.
    rng = np.random.default_rng(4)
    reference = (rng.random((6, 2)) * 300).astype(np.float32)
    turn = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    actual = 0.6 * turn @ features.oblique_view(2.4, 20.0)
    seen = (reference @ actual.T + np.array([50.0, 20.0])).astype(np.float32)
    descriptors = random_descriptors(6, 8)
    query = features.Keypoints(seen, descriptors.copy())
    oblique = features.FeatureIndex([reference], [descriptors], [0], [np.ones(6, np.int8)])
    upright_index = features.FeatureIndex([reference], [descriptors], [0])
    found = oblique.oblique_hypotheses(query, 8, upright_index, {}, 0)
    assert len(found) == 1 and found[0].inliers == 6
    assert np.allclose(found[0].transform[:, :2], actual, atol=0.02)
    # The same matches of upright keypoints: a similarity fits only some of them, and an
    # upright hypothesis that already explains as many leaves the oblique one out.
    upright = upright_index.hypotheses(query, 8)
    assert max(h.inliers for h in upright) < 6
    assert oblique.oblique_hypotheses(query, 8, upright_index, {}, 6) == []
    # Matches of another oblique view than the one the keypoints were found in place nothing.
    elsewhere = features.FeatureIndex([reference], [descriptors], [0], [np.full(6, 3, np.int8)])
    assert elsewhere.oblique_hypotheses(query, 8, upright_index, {}, 0) == []


def test_an_oblique_placement_must_keep_a_share_of_the_views_matches() -> None:
    # Six matches agree among forty that scatter (letters matching letters of a wordmark): an
    # affine transform fitted to a few of many is no evidence of the emblem.
    rng = np.random.default_rng(4)
    reference = (rng.random((40, 2)) * 300).astype(np.float32)
    actual = 0.6 * features.oblique_view(2.0, 0.0)
    seen = (reference @ actual.T + np.array([50.0, 20.0])).astype(np.float32)
    seen[6:] = (rng.random((34, 2)) * 300).astype(np.float32)
    descriptors = random_descriptors(40, 8)
    query = features.Keypoints(seen, descriptors.copy())
    oblique = features.FeatureIndex([reference], [descriptors], [0], [np.ones(40, np.int8)])
    upright = features.FeatureIndex([reference], [descriptors], [0])
    assert oblique.oblique_hypotheses(query, 8, upright, {}, 0) == []
    # The same six among fewer others are kept.
    few = features.FeatureIndex([reference[:12]], [descriptors[:12]], [0], [np.ones(12, np.int8)])
    query_few = features.Keypoints(seen[:12], descriptors[:12].copy())
    found = few.oblique_hypotheses(query_few, 8, upright, {}, 0)
    assert len(found) == 1 and found[0].inliers >= 6


def test_an_emblem_view_gives_one_oblique_placement_however_many_views_agree() -> None:
    # The emblem's keypoints found in two oblique views agree on the same placement: it is
    # verified once, not once for each view.
    rng = np.random.default_rng(5)
    reference = (rng.random((14, 2)) * 300).astype(np.float32)
    actual = 0.7 * features.oblique_view(2.1, 20.0)
    seen = (reference @ actual.T + np.array([30.0, 40.0])).astype(np.float32)
    descriptors = random_descriptors(14, 9)
    renderings = np.array([1] * 7 + [2] * 7, np.int8)
    oblique = features.FeatureIndex([reference], [descriptors], [0], [renderings])
    upright = features.FeatureIndex([reference], [descriptors], [0])
    found = oblique.oblique_hypotheses(features.Keypoints(seen, descriptors.copy()), 8, upright, {}, 0)
    assert len(found) == 1 and found[0].inliers == 14 and found[0].oblique


def test_matches_of_several_oblique_views_agree_on_one_steep_placement() -> None:
    # A sign seen up close from the side: foreshortened by about four, more at its far edge, its
    # keypoints found in two oblique views, eight in each, spread over the emblem. No view's own
    # similarity fits six of its eight; together they fix a homography, which the affine
    # transform that fits most of them stretches too far to stand in for.
    rng = np.random.default_rng(6)
    reference = (rng.random((16, 2)) * 300).astype(np.float32)
    steep = np.array([[0.3, 0.0, 40.0], [0.1, 0.6, 30.0], [0.002, 0.0, 1.0]])
    seen = cv2.perspectiveTransform(reference.reshape(-1, 1, 2), steep).reshape(-1, 2).astype(np.float32)
    descriptors = random_descriptors(16, 10)
    renderings = np.repeat(np.array([1, 3], np.int8), 8)
    for number in (1, 3):
        alone = renderings == number
        assert features._oblique_placements(renderings[alone], reference[alone], seen[alone], 0) == []
    oblique = features.FeatureIndex([reference], [descriptors], [0], [renderings])
    upright = features.FeatureIndex([reference], [descriptors], [0])
    found = oblique.oblique_hypotheses(features.Keypoints(seen, descriptors.copy()), 8, upright, {}, 0)
    assert len(found) == 1 and found[0].inliers == 16 and found[0].transform.shape == (3, 3)
    placed = cv2.perspectiveTransform(reference.reshape(-1, 1, 2), found[0].transform).reshape(-1, 2)
    assert np.abs(placed - seen).max() < 0.5


def test_matches_that_scatter_over_the_oblique_views_place_nothing() -> None:
    # Sixteen matches of several views that agree on nothing: letters matching letters.
    rng = np.random.default_rng(7)
    reference = (rng.random((16, 2)) * 300).astype(np.float32)
    scattered = (rng.random((16, 2)) * 300).astype(np.float32)
    descriptors = random_descriptors(16, 11)
    renderings = np.tile(np.arange(1, 5, dtype=np.int8), 4)
    oblique = features.FeatureIndex([reference], [descriptors], [0], [renderings])
    upright = features.FeatureIndex([reference], [descriptors], [0])
    assert oblique.oblique_hypotheses(features.Keypoints(scattered, descriptors.copy()), 8, upright, {}, 0) == []


def test_a_homography_whose_horizon_crosses_the_emblem_is_no_view_of_it() -> None:
    points = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float32)
    assert features._keeps_shape(np.eye(3), points)
    assert not features._keeps_shape(np.array([[1.0, 0, 0], [0, 1.0, 0], [-0.02, 0, 1.0]]), points)  # w < 0
    assert not features._keeps_shape(np.diag([-1.0, 1.0, 1.0]), points)  # mirrored: the other way round

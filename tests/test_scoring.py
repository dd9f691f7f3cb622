"""Evidence in, score out: each rule of logowatch.scoring, checked by what it does to a score."""

from __future__ import annotations

from dataclasses import replace

import pytest

from logowatch import features, scoring
from logowatch.scoring import Evidence


def value(correlation: float = 0.7, inliers: int = 8, **kwargs: object) -> float:
    return scoring.score(Evidence(correlation, inliers, inliers + 20, kwargs.pop("hash_distance", None), **kwargs))


def test_nothing_proposed_scores_nothing() -> None:
    assert Evidence(0.9, 2, 3, None).proposed_by == ()
    assert scoring.score(Evidence(0.9, 2, 3, None)) == 0.0
    assert Evidence(0.9, 0, 0, 4).proposed_by == ("phash",)
    # A near-identical hash is more than the fewest keypoints: it scores as it correlates.
    assert scoring.score(Evidence(0.9, 0, 0, 4)) == pytest.approx(0.9)


def test_flat_regions_that_agree_propose_a_placement_and_say_so() -> None:
    fewest = Evidence(0.9, 0, 0, None, refined=True, regions=scoring.FEWEST_REGIONS)
    assert fewest.proposed_by == ("regions",)
    # Nothing but two regions' shapes vouches for it: it scores as the fewest keypoints do.
    assert scoring.score(fewest) == pytest.approx(0.9 - scoring.FEW_INLIERS_PENALTY)
    assert scoring.explain(fewest).startswith(
        "2 of its flat regions agree with the image's in shape and place (scored 0.05 lower)"
    )
    # Each region more checks the placement again: no penalty, and the summary says none.
    more = replace(fewest, regions=scoring.FEWEST_REGIONS + 1)
    assert scoring.score(more) == pytest.approx(0.9)
    assert scoring.explain(more).startswith("3 of its flat regions agree with the image's in shape and place;")
    # A keypoint placement keeps its penalty whatever it is (no regions proposed it), and says so.
    fewest_keypoints = Evidence(0.9, scoring.MIN_INLIERS, 5, None)
    assert scoring.score(fewest_keypoints) == pytest.approx(0.9 - scoring.FEW_INLIERS_PENALTY)
    said = scoring.explain(fewest_keypoints)
    assert said.startswith("3 of 5 keypoint matches agree on one placement (scored 0.05 lower);")
    assert "lower" not in scoring.explain(replace(fewest_keypoints, inliers=scoring.MIN_INLIERS + 1))


def test_ambiguous_matches_score_lower_and_say_so() -> None:
    assert value(distinctive=False) < value() - 0.1
    assert "look-alike" in scoring.explain(Evidence(0.7, 8, 10, None, distinctive=False))
    # A hash that independently proposed the same placement lifts the penalty.
    assert value(distinctive=False, hash_distance=6) > value(distinctive=False)


def test_a_ring_placement_says_it_scored_lower_only_where_it_did() -> None:
    on_a_circle = Evidence(0.7, 0, 0, None, distinctive=False, ring=True)
    assert scoring.score(on_a_circle) == pytest.approx(0.7 - scoring.AMBIGUOUS_PENALTY)
    assert "its ring put on a circle of the image (scored 0.15 lower" in scoring.explain(on_a_circle)
    # Moved onto a seal whose own perceptual hash is near the image: nothing is taken off.
    hashed = replace(on_a_circle, hash_distance=4)
    assert scoring.score(hashed) == pytest.approx(0.7)
    assert "its ring put on a circle of the image;" in scoring.explain(hashed)


def test_the_ambiguity_penalty_fades_as_more_keypoints_agree() -> None:
    start, span = scoring.AMBIGUOUS_FADE_FROM, scoring.AMBIGUOUS_FADE_SPAN
    fading = [value(inliers=n, distinctive=False) for n in (features.MIN_AMBIGUOUS_INLIERS, start, start + span // 2,
                                                              start + span, start + 3 * span)]
    assert fading[0] == fading[1] < fading[2] < fading[3] == fading[4]
    assert fading[3] == pytest.approx(0.7)  # dozens agreeing: the correlation alone decides
    # The summary says "scored lower" only while something is taken off.
    many = scoring.AMBIGUOUS_FADE_FROM + scoring.AMBIGUOUS_FADE_SPAN
    assert "(scored lower)" in scoring.explain(Evidence(0.7, 8, 10, None, distinctive=False))
    said = scoring.explain(Evidence(0.7, many, 100, None, distinctive=False))
    assert "look-alike keypoint matches agree" in said and "scored lower" not in said


def test_many_distinctive_inliers_raise_a_weak_correlation_but_cannot_replace_it() -> None:
    assert value(0.45, 6) == pytest.approx(0.45)  # a handful of matches proves nothing more
    assert value(0.45, 80) > value(0.45, 30) > value(0.45, 13) > 0.45
    assert value(0.45, 500) == value(0.45, 80) < 1.0  # the support is bounded
    assert value(0.0, 500) == 0.0
    assert value(0.45, 80, shown=0.9) == pytest.approx(0.45)  # a fragment says which emblem, not that it is there
    assert value(0.45, 80, distinctive=False) == pytest.approx(0.45)


def test_three_inliers_propose_a_placement_that_scores_a_little_lower() -> None:
    assert Evidence(0.8, 3, 3, None).proposed_by == ("keypoints",)
    assert value(0.8, 3) < value(0.8, 4)
    assert value(0.8, 3) > value(0.8, 4) - 0.1


@pytest.mark.parametrize("correlation", [-0.5, 1.7])
def test_scores_stay_in_zero_to_one(correlation: float) -> None:
    assert 0.0 <= value(correlation, 40) <= 1.0


def test_an_interior_that_does_not_agree_caps_the_score() -> None:
    outline_only = Evidence(0.9, 10, 12, None, interior_correlation=0.3)
    inside_too = Evidence(0.9, 10, 12, None, interior_correlation=0.85)
    no_interior = Evidence(0.9, 10, 12, None)
    assert scoring.score(outline_only) < 0.5 < scoring.score(inside_too) == scoring.score(no_interior)
    assert "inside its outline" in scoring.explain(outline_only)
    assert "inside its outline" not in scoring.explain(inside_too)


def test_distinctive_keypoints_let_the_interior_fall_further_behind() -> None:
    # A caption across the interior: the outline agrees, the interior less. A dozen distinctive
    # matches vouch for the emblem; a handful, or look-alike matches, do not.
    def capped(inliers: int, distinctive: bool = True) -> float:
        return scoring.interior_cap(Evidence(0.9, inliers, inliers + 5, None, distinctive=distinctive,
                                             interior_correlation=0.4))

    assert capped(scoring.INTERIOR_SUPPORT_FROM) < capped(9) < capped(12) == capped(40)
    assert capped(40, distinctive=False) < capped(40)


def test_a_placement_on_the_fewest_keypoints_needs_its_interior_to_agree_as_well() -> None:
    # Three or four keypoints align the corners of two silhouettes by chance (a letter on a disc
    # against a wordmark on a disc); then only an interior that agrees lets the whole count.
    # Look-alike matches, so that no distinctive support adds to the slack.
    def capped(inliers: int, hash_distance: int | None = None) -> float:
        return scoring.interior_cap(
            Evidence(0.9, inliers, inliers + 5, hash_distance, distinctive=False, interior_correlation=0.5)
        )

    fewest = scoring.MIN_INLIERS
    assert capped(fewest) == pytest.approx(0.5)
    assert capped(fewest) < capped(fewest + 2) < capped(fewest + scoring.INTERIOR_SLACK_SPAN)
    assert capped(fewest + scoring.INTERIOR_SLACK_SPAN) == pytest.approx(0.5 + scoring.INTERIOR_SLACK)
    assert capped(40) == capped(fewest + scoring.INTERIOR_SLACK_SPAN)
    assert capped(0, hash_distance=2) == pytest.approx(0.5 + scoring.INTERIOR_SLACK)


def test_a_placement_few_keypoints_vouch_for_scores_lower_where_colours_and_lightness_differ() -> None:
    weak = Evidence(0.8, 4, 6, None, appearance_agreement=0.1)
    assert scoring.looks_different(weak)
    alike = replace(weak, appearance_agreement=0.9)
    assert scoring.score(weak) == pytest.approx(scoring.score(alike) - scoring.APPEARANCE_PENALTY)
    assert "light and dark" in scoring.explain(weak)
    assert not scoring.looks_different(replace(weak, appearance_agreement=None))  # not measured
    # Many distinctive keypoints, or the perceptual hash, vouch for the emblem whatever its colours.
    assert not scoring.needs_appearance(replace(weak, inliers=scoring.KEYPOINT_SUPPORT_FROM))
    assert scoring.needs_appearance(replace(weak, inliers=scoring.KEYPOINT_SUPPORT_FROM, distinctive=False))
    assert not scoring.needs_appearance(Evidence(0.8, 0, 0, 3, appearance_agreement=0.1))


@pytest.mark.parametrize(
    ("freer", "said"),
    [
        ({"oblique": True}, "seen at an angle"),
        ({"refined": True}, "the placement refined to fit them"),
        ({"plane": True}, "placed on a plane of the image seen at an angle"),
    ],
    ids=["oblique view", "refined placement", "plane turned to face the viewer"],
)
def test_a_placement_free_to_squash_the_emblem_needs_its_interior_to_agree(
    freer: dict[str, bool], said: str
) -> None:
    # An affine placement, or a homography fitted to the image's edges, may squash the emblem
    # onto any disc or square with something inside (a text avatar): whatever the keypoints,
    # the interior must agree as well as the whole.
    upright = Evidence(0.66, 9, 16, None, interior_correlation=0.49)
    free = replace(upright, **freer)
    assert scoring.interior_cap(free) == pytest.approx(0.49)
    assert scoring.interior_cap(free) < scoring.interior_cap(upright)
    assert scoring.score(free) < scoring.DEFAULT_THRESHOLD <= scoring.score(upright)
    assert said in scoring.explain(free) and said not in scoring.explain(upright)


def test_the_summary_names_the_interior_only_where_it_holds_the_score_down() -> None:
    # An oblique placement has no interior slack: an interior a hair below its edges is no news.
    alike = Evidence(0.99, 20, 22, None, interior_correlation=0.985, oblique=True)
    assert "inside its outline" not in scoring.explain(alike)
    assert "inside its outline" in scoring.explain(replace(alike, interior_correlation=0.9))

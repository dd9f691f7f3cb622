"""Local features: keypoints, an index over every reference's descriptors, geometric verification.

The detector is SIFT with RootSIFT descriptors (Arandjelović and Zisserman, 2012), from OpenCV's
main package. Plain ORB finds about 16% of the altered emblems of the dev benchmark (issue 2);
ORB's binary tests break on shrunken, blurred and recompressed emblems, which SIFT's descriptor
survives.

SIFT is not unchanged by inverting polarity (a white emblem on a dark disc): the gradients flip,
the keypoint's orientation turns by 180 degrees, and the descriptor comes out with its 4 x 4 grid
of cells turned by 180 degrees, orientation bins unchanged. So each query descriptor is also
looked up in that permuted form (:data:`POLARITY_PERMUTATION`), which costs one more index lookup
instead of a second keypoint detection.

Mirroring is handled by describing every reference twice, as drawn and mirrored. Matching uses a
ratio test against the best match *of another entity*, so that a symmetric emblem, whose mirrored
twin matches as well as itself, is not thrown away as ambiguous.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

logger = logging.getLogger(__name__)

#: Keypoints kept from the emblem as drawn, per reference view (drawn or mirrored); its small and
#: oblique renderings add their own (see ``library.describe``).
DEFAULT_REFERENCE_FEATURES = 400
#: Keypoints kept per query image.
DEFAULT_QUERY_FEATURES = 900
#: Keypoints kept per opponent colour channel of a query (see :func:`detect_in_colour`).
COLOUR_FEATURES = 300
#: Images at least this much longer than high (or high than long) have their colour channels
#: described at full size rather than half.
WIDE_ASPECT = 1.5
#: A match must be this much closer than the best match of any other entity (Lowe's ratio).
DEFAULT_RATIO = 0.85
#: Neighbours looked at per query descriptor to find the best match of another entity.
DEFAULT_NEIGHBOURS = 6
#: Leaves of the k-d trees visited per lookup: more is closer to exact search, and slower.
DEFAULT_CHECKS = 32
#: RANSAC reprojection tolerance, in pixels of the working-size query.
DEFAULT_RANSAC_PIXELS = 6.0
#: Matches needed before a perspective (homography) hypothesis is tried and accepted.
MIN_HOMOGRAPHY_MATCHES = 10
#: Matches needed before an affine hypothesis is tried, and inliers it needs (see :func:`_affine`):
#: six parameters fitted to fewer points placed text avatars' discs over a wordmark's disc (3 more
#: of 3,000 background images flagged against the 8 account emblems, at four to six inliers).
MIN_AFFINE_MATCHES = 8
#: The most an affine hypothesis may stretch the emblem in one direction over the other: an oblique
#: view foreshortens it by two or so; more is a fit to matches that do not belong together.
MAX_AFFINE_STRETCH = 3.0
#: Inliers that the similarity transform of a view must already have for a homography to be tried.
#: An emblem seen in perspective still lies close to a similarity over much of it: on the
#: dev-extra benchmark's perspective family every homography that was accepted came after a
#: similarity with 7 or more inliers; on background images 90% of the homographies tried came
#: after one with 5 or fewer, and none was accepted. A homography costs as much as ten similarities.
HOMOGRAPHY_AFTER_INLIERS = 6
#: RANSAC rounds for a homography. OpenCV's default (2,000) is spent in full whenever most matches
#: are wrong, which is every image without the emblem; a true perspective view, whose matches
#: mostly agree, is found in far fewer.
HOMOGRAPHY_ITERATIONS = 300
#: Views whose ambiguous matches (no ratio test) are tried (those most query keypoints have among
#: their neighbours), how many of the best are kept, and the query keypoints they need to agree.
AMBIGUOUS_TRIED = 12
AMBIGUOUS_VIEWS = 3
MIN_AMBIGUOUS_INLIERS = 6
#: Minimum tentative matches before a geometric hypothesis is attempted.
MIN_MATCHES = 3
#: SIFT's contrast threshold; lower than OpenCV's 0.04 so that faint or small emblems give points.
SIFT_CONTRAST = 0.02
#: The lower threshold that a query with few keypoints is described down to (see :func:`detect`).
FAINT_CONTRAST = 0.005
#: SIFT's layers per octave (OpenCV's default, which its contrast test divides by).
SIFT_LAYERS = 3


#: Index permutation that turns a SIFT descriptor into that of the same patch with inverted polarity.
POLARITY_PERMUTATION = np.array(
    [((3 - row) * 4 + (3 - column)) * 8 + b for row in range(4) for column in range(4) for b in range(8)]
)


@dataclass(frozen=True)
class Keypoints:
    """Keypoint positions (N x 2, pixels) and their descriptors (N x D).

    A reference's keypoints also say which rendering each was found in (``renderings``, N): 0 for
    the emblem as drawn (or a small rendering of it), ``k`` for the oblique view whose shape is
    ``OBLIQUE_VIEWS[k - 1]``; their positions are in the drawn emblem's pixels whichever it was.
    None for a query's."""

    points: np.ndarray
    descriptors: np.ndarray
    renderings: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @classmethod
    def empty(cls, dimensions: int = 128) -> Keypoints:
        return cls(np.zeros((0, 2), np.float32), np.zeros((0, dimensions), np.float32))

    def strongest(self, count: int) -> Keypoints:
        """The first ``count`` keypoints: :func:`detect` orders them strongest first."""
        return self.subset(slice(0, count))

    def subset(self, rows: slice | np.ndarray) -> Keypoints:
        """The keypoints at ``rows``: a slice, a boolean mask or an array of row numbers."""
        renderings = None if self.renderings is None else self.renderings[rows]
        return Keypoints(self.points[rows], self.descriptors[rows], renderings)

    def positions_only(self) -> Keypoints:
        """The same keypoints without descriptors, once an index holds those."""
        return Keypoints(self.points, np.zeros((len(self), 0), np.float32), self.renderings)


def oblique_view(tilt: float, direction: float) -> np.ndarray:
    """The 2x2 linear map that foreshortens a flat picture by ``tilt`` along ``direction``
    (degrees from the x axis): how an emblem turned away from the viewer about the perpendicular
    axis looks from afar, up to a similarity (which matching finds anyway)."""
    angle = np.deg2rad(direction)
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    linear: np.ndarray = turn.T @ np.diag([1.0 / tilt, 1.0]) @ turn
    return linear


#: How far, and along which directions (degrees), the oblique views foreshorten an emblem.
OBLIQUE_TILT = 2.0
OBLIQUE_DIRECTIONS = (0.0, 45.0, 90.0, 135.0)
#: The oblique views that references are also described in (see ``library.describe``), as 2x2
#: linear maps. A sign, a card or a flag seen at an angle is foreshortened by two or more, beyond
#: what SIFT's descriptor survives (about 1.4; Morel and Yu's ASIFT, 2009, simulates such views to
#: match them). Their matches agree on a similarity in the view's own pixels, which the view's
#: shape then carries back onto the emblem as an affine placement (see
#: :meth:`FeatureIndex.oblique_hypotheses`).
OBLIQUE_VIEWS = tuple(oblique_view(OBLIQUE_TILT, direction) for direction in OBLIQUE_DIRECTIONS)
#: Affine refits of an oblique placement to the matches it keeps (see :func:`_oblique_placements`).
OBLIQUE_REFINEMENTS = 2
#: Query keypoints looked up among the oblique views: the first ones, the strongest in brightness
#: (and some of the colour channels' where brightness has fewer).
OBLIQUE_QUERY_KEYPOINTS = 400
#: Leaves of the oblique views' k-d trees visited per lookup (see :data:`DEFAULT_CHECKS`).
OBLIQUE_CHECKS = 16
#: Matches an oblique placement must keep: an affine transform is fixed by three, and on the
#: background benchmark three to five agreed by chance on placements of striped flags over text.
MIN_OBLIQUE_INLIERS = 6
#: The least share of a view's matches that an oblique placement must keep. Letters match letters
#: in every oblique view of a wordmark, and an affine transform fits a few of them anywhere: a new
#: user's text card seen at an angle had 8 of 142 agree on the mirrored wordmark of an emblem,
#: where every emblem placed through an oblique view on the benchmarks kept 0.44 or more (and a
#: seal foreshortened by 2.2 in a test of this project, 16 of 57).
MIN_OBLIQUE_INLIER_SHARE = 0.2


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb


def detect(rgb: np.ndarray, max_features: int, sparse: int = 0) -> Keypoints:
    """The ``max_features`` strongest SIFT keypoints of ``rgb``, with RootSIFT descriptors.

    With ``sparse``, an image that has fewer than that many keypoints above SIFT's contrast
    threshold (:data:`SIFT_CONTRAST`) keeps fainter ones too, down to :data:`FAINT_CONTRAST`: a
    blurred, faded or small emblem gives faint keypoints, which its crisp reference has strong.
    One detection serves both cases, since a keypoint's response is the contrast it is tested on.

    OpenCV's detector runs on several threads and returns its keypoints in an order that can vary
    between runs, which would make scores vary too. So the keypoints are sorted by a total order
    (strength, then position) and only then cut. OpenCV describes only the ``max_features``
    strongest, and every keypoint as strong as the last of them: a superset of what is kept,
    whatever order ties come in. (The strong keypoints of a sparse image are among them too: they
    are stronger than every faint one.)
    """
    grey = to_grey(rgb)
    sift = cv2.SIFT.create(nfeatures=max_features, contrastThreshold=FAINT_CONTRAST if sparse else SIFT_CONTRAST)
    # One pass: describing only the kept keypoints afterwards would build the scale space twice.
    found, described = sift.detectAndCompute(grey, None)
    if described is None or not found:
        return Keypoints.empty()
    if sparse:
        # OpenCV keeps a keypoint when its response times the layers per octave reaches the threshold.
        strong = [i for i, k in enumerate(found) if k.response * SIFT_LAYERS >= SIFT_CONTRAST]
        if len(strong) >= sparse:
            found, described = [found[i] for i in strong], described[strong]
    order = sorted(range(len(found)), key=lambda i: _rank(found[i]))[:max_features]
    points = np.array([found[i].pt for i in order], np.float32)
    return Keypoints(points, _root_sift(described[order]))


def detect_then_describe(rgb: np.ndarray, max_features: int) -> Keypoints:
    """The ``max_features`` strongest SIFT keypoints of ``rgb``, described after they are cut.

    The reference side of matching. Given its keypoints, OpenCV builds the scale space only
    from the finest octave they need, so these descriptors differ slightly from those of
    :func:`detect`'s single pass, which builds it from the doubled image for every keypoint.
    References are described this way because every accuracy figure in the README was measured
    with such descriptors (a second pass costs nothing that matters for an emblem prepared once
    and cached); queries keep the single pass, which saves a fifth of their time."""
    grey = to_grey(rgb)
    sift = cv2.SIFT.create(nfeatures=0, contrastThreshold=SIFT_CONTRAST)
    found = sorted(sift.detect(grey, None), key=_rank)[:max_features]
    if not found:
        return Keypoints.empty()
    kept, described = sift.compute(grey, found)
    if described is None or not kept:
        return Keypoints.empty()
    return Keypoints(np.array([k.pt for k in kept], np.float32), _root_sift(described))


def _rank(keypoint: cv2.KeyPoint) -> tuple[float, float, float, float, float, int]:
    """A total order on keypoints, strongest first, whatever order OpenCV's threads found them in."""
    return (-keypoint.response, keypoint.pt[1], keypoint.pt[0], -keypoint.size, keypoint.angle, keypoint.octave)


def _root_sift(descriptors: np.ndarray) -> np.ndarray:
    """RootSIFT: each SIFT descriptor L1-normalised, then square-rooted."""
    normalised = descriptors / (np.abs(descriptors).sum(axis=1, keepdims=True) + 1e-7)
    rooted: np.ndarray = np.sqrt(normalised).astype(np.float32)
    return rooted


def opponent_channels(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The red-green and yellow-blue opponent channels of ``rgb``, as 8-bit images.

    Brightness alone misses an emblem whose colours differ from the background's but whose
    brightness does not (red lettering on a mid-blue sky): these channels show it."""
    colour = rgb.astype(np.float32)
    red, green, blue = colour[..., 0], colour[..., 1], colour[..., 2]
    red_green = (red - green) * 0.5 + 128.0
    yellow_blue = ((red + green) * 0.5 - blue) * 0.5 + 128.0
    return (
        np.clip(red_green, 0, 255).astype(np.uint8),
        np.clip(yellow_blue, 0, 255).astype(np.uint8),
    )


def detect_in_colour(rgb: np.ndarray, max_features: int, sparse: int = 0) -> Keypoints:
    """:func:`detect` on the image's brightness, and on its two opponent colour channels at half
    the size (their keypoints are coarse, and cost a quarter as much there; a wide image keeps its
    full size), merged.

    Descriptors are matched the same way whatever channel they come from: an emblem's outline
    gives the same gradient pattern in any channel where it contrasts, up to polarity, which the
    index already tries both ways."""
    parts = [detect(rgb, max_features, sparse)]
    if rgb.ndim == 3 and min(rgb.shape[:2]) >= 32:
        height, width = rgb.shape[:2]
        # A wide image (a thumbnail, a banner) holds its emblem small: it keeps its full size.
        shrink = 1 if max(height, width) >= WIDE_ASPECT * min(height, width) else 2
        half = (max(1, width // shrink), max(1, height // shrink))
        to_full = np.array([width / half[0], height / half[1]], np.float32)
        for channel in opponent_channels(rgb):
            if float(channel.std()) < 1.0:
                continue  # a grey image has nothing there
            small = cv2.resize(channel, half, interpolation=cv2.INTER_AREA)
            found = detect(small, COLOUR_FEATURES)
            parts.append(Keypoints(found.points * to_full, found.descriptors))
    return Keypoints(
        np.concatenate([p.points for p in parts]).astype(np.float32),
        np.concatenate([p.descriptors for p in parts]).astype(np.float32),
    )


#: Seed of the randomised k-d trees, which draw from OpenCV's global generator: the same image gets
#: the same score in every process and every run, which a reviewer comparing two reports expects.
#: (OpenCV's RANSAC needs none: it seeds a generator of its own identically on every call.)
FLANN_SEED = 12345


@dataclass(frozen=True)
class Hypothesis:
    """A geometric explanation of the query by one reference view."""

    view: int
    transform: np.ndarray
    inliers: int
    tentative: int
    reference_points: np.ndarray
    query_points: np.ndarray
    #: False when the matches were taken without the ratio test (see ``FeatureIndex._ambiguous``).
    distinctive: bool = True
    #: True for a placement found through an oblique view (see :data:`OBLIQUE_VIEWS`).
    oblique: bool = False


class FeatureIndex:
    """Every reference view's descriptors in one approximate nearest-neighbour index.

    ``points`` and ``descriptors`` list, for each view, its keypoints' positions and descriptors;
    ``entity_of_view`` its entity number, used by the ratio test. Querying costs one
    k-nearest-neighbour search, however many references there are.
    """

    def __init__(
        self,
        points: list[np.ndarray],
        descriptors: list[np.ndarray],
        entity_of_view: list[int],
        renderings: list[np.ndarray] | None = None,
    ) -> None:
        self.points = points
        #: Per view, the oblique view each keypoint was found in (``Keypoints.renderings``), for an
        #: index of oblique keypoints (see :meth:`oblique_hypotheses`); None for an upright one.
        self.renderings = renderings
        self.entity_of_view = np.asarray(entity_of_view, np.int64)
        sizes = [len(p) for p in points]
        self.owner = np.repeat(np.arange(len(points)), sizes)
        self.local = np.concatenate([np.arange(n) for n in sizes]) if sizes else np.zeros(0, int)
        self.descriptors = (
            np.ascontiguousarray(np.concatenate(descriptors).astype(np.float32, copy=False))
            if sum(sizes)
            else np.zeros((0, 128), np.float32)
        )
        self.descriptor_count = int(self.descriptors.shape[0])
        self._index: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the k-d trees, which OpenCV cannot pickle: each process builds its own."""
        state = dict(self.__dict__)
        state["_index"] = None
        return state

    def _flann(self) -> Any:
        """The k-d trees, built on first use (in the process that queries them)."""
        if self._index is None:
            cv2.setRNGSeed(FLANN_SEED)  # the randomised trees draw from OpenCV's generator
            # cv2.flann.Index searches our array in place: no copy, unlike a DescriptorMatcher.
            self._index = cv2.flann.Index(self.descriptors, {"algorithm": 1, "trees": 4})
        return self._index

    def _search(self, query: Keypoints, checks: int = DEFAULT_CHECKS) -> tuple[np.ndarray, np.ndarray]:
        """The nearest reference descriptors of every query descriptor, as it is (rows 0..N-1) and
        with inverted polarity (rows N..2N-1): indices and distances, closest first."""
        neighbours = min(DEFAULT_NEIGHBOURS, self.descriptor_count)
        both = np.ascontiguousarray(np.vstack([query.descriptors, query.descriptors[:, POLARITY_PERMUTATION]]))
        found, squared = self._flann().knnSearch(both, neighbours, params={"checks": checks})
        return found.astype(np.int64), np.sqrt(np.maximum(squared.astype(np.float64), 0.0))

    def tentative_matches(
        self, query: Keypoints, ratio: float = DEFAULT_RATIO
    ) -> dict[int, list[tuple[int, int]]]:
        """Query descriptor -> reference descriptor pairs that pass the ratio test, by view.

        Each descriptor is looked up as it is and with inverted polarity; per keypoint the closer
        of the two is kept if it beats the best match of any *other* entity by ``ratio``.
        """
        if len(query) < 2 or self.descriptor_count < 2:
            return defaultdict(list)
        return self._distinctive(len(query), *self._search(query), ratio)

    def _distinctive(
        self, count: int, found: np.ndarray, distance: np.ndarray, ratio: float
    ) -> dict[int, list[tuple[int, int]]]:
        by_view: dict[int, list[tuple[int, int]]] = defaultdict(list)
        entities = self.entity_of_view[self.owner[found]]
        other = entities != entities[:, :1]
        has_rival = other.any(axis=1)
        rival = np.where(has_rival, distance[np.arange(len(found)), other.argmax(axis=1)], np.inf)
        passes = distance[:, 0] < ratio * rival
        # Per keypoint, the closer of its two polarities.
        plain, inverted = distance[:count, 0], distance[count:, 0]
        use_inverted = inverted < plain
        rows = np.where(use_inverted, np.arange(count) + count, np.arange(count))
        for keypoint, row in enumerate(rows):
            if not passes[row]:
                continue
            train = int(found[row, 0])
            by_view[int(self.owner[train])].append((keypoint, int(self.local[train])))
        return by_view

    def _ambiguous(self, count: int, found: np.ndarray, views: int) -> list[tuple[int, np.ndarray]]:
        """Every neighbour of every query descriptor as a pair, without a ratio test, for the
        ``views`` views that the most query keypoints have among their neighbours: (view, array
        of distinct (query keypoint, reference keypoint) rows), most voted first.

        A simple emblem (a ring, a striped flag) has few keypoints, and each looks like some other
        emblem's; the ratio test then drops all of them. Kept here, they are sorted out by
        geometry: only the right view's pairs agree on one placement."""
        keypoints = np.repeat(np.arange(found.shape[0], dtype=np.int64) % count, found.shape[1])
        trains = found.ravel()
        owners = self.owner[trains].astype(np.int64)
        keys = np.unique((owners << 42) | (keypoints << 21) | self.local[trains].astype(np.int64))
        voters = np.unique(keys >> 21) >> 21  # one vote per (view, query keypoint)
        tally = np.bincount(voters)
        voted = np.flatnonzero(tally)
        chosen = voted[np.lexsort((voted, -tally[voted]))][:views]  # most votes first, then view
        tables = []
        for view in chosen:
            rows = keys[np.searchsorted(keys, view << 42) : np.searchsorted(keys, (view + 1) << 42)]
            tables.append((int(view), np.stack([(rows >> 21) & 0x1FFFFF, rows & 0x1FFFFF], axis=1)))
        return tables

    def oblique_hypotheses(
        self,
        query: Keypoints,
        max_views: int,
        upright: FeatureIndex,
        matched: dict[int, list[tuple[int, int]]],
        to_beat: int,
    ) -> list[Hypothesis]:
        """For an index of oblique keypoints (see :data:`OBLIQUE_VIEWS`): placements of
        the ``max_views`` views with the most distinctive matches (see :func:`_oblique_placements`),
        the best of a view's kept where it explains more matches than ``to_beat``: the inliers of
        the image's best distinctive upright hypothesis, of any view. An upright emblem that
        explains more of the image is the better account of it (a striped flag seen at an angle
        can be fitted to another striped flag in plain view). The view's distinctive matches
        in the ``upright`` index (``matched``, as :meth:`hypotheses` found them) count too where
        the placement fits them.

        A separate index: oblique views are softer and more like blobs than the emblem as drawn,
        and in one index with it they would take the place of the upright matches of emblems in
        plain view, and stand as their rivals."""
        if self.renderings is None or len(query) < 2 or self.descriptor_count < 2:
            return []
        strongest = query.strongest(OBLIQUE_QUERY_KEYPOINTS)
        by_view = self._distinctive(len(strongest), *self._search(strongest, OBLIQUE_CHECKS), DEFAULT_RATIO)
        found = []
        for view, pairs in sorted(by_view.items(), key=lambda item: (-len(item[1]), item[0]))[:max_views]:
            if len(pairs) < MIN_MATCHES:
                continue
            seen = {q for q, _ in pairs}
            plain = [(q, r) for q, r in matched.get(view, []) if q not in seen]
            rows = [r for _, r in pairs]
            reference_points = np.vstack([self.points[view][rows], upright.points[view][[r for _, r in plain]]])
            query_points = query.points[[q for q, _ in pairs] + [q for q, _ in plain]]
            renderings = np.concatenate([self.renderings[view][rows], np.zeros(len(plain), np.int8)])
            placements = _oblique_placements(renderings, reference_points, query_points, to_beat)
            if placements:
                # One per view: the oblique views often agree, each refitted to the same matches.
                transform, kept = max(placements, key=lambda placement: int(placement[1].sum()))
                hypothesis = _hypothesis(view, transform, kept, len(pairs) + len(plain), reference_points, query_points)
                found.append(replace(hypothesis, oblique=True))
        return found

    def hypotheses(
        self, query: Keypoints, max_views: int, matched: dict[int, list[tuple[int, int]]] | None = None
    ) -> list[Hypothesis]:
        """RANSAC similarity transforms for the ``max_views`` views with the most distinctive
        matches, and a homography where enough matches support one and the similarity already has
        :data:`HOMOGRAPHY_AFTER_INLIERS` (an emblem seen in perspective); then, for the
        :data:`AMBIGUOUS_TRIED` views that the most query keypoints have among their neighbours, a
        similarity over all those pairs without the ratio test: the :data:`AMBIGUOUS_VIEWS` on
        which the most query keypoints agree are kept, if at least :data:`MIN_AMBIGUOUS_INLIERS` do.

        With ``matched``, the distinctive matches found are also put there, by view, for
        :meth:`oblique_hypotheses`."""
        if len(query) < 2 or self.descriptor_count < 2:
            return []
        count = len(query)
        found_neighbours, distance = self._search(query)
        by_view = self._distinctive(count, found_neighbours, distance, DEFAULT_RATIO)
        if matched is not None:
            matched.update(by_view)  # for the oblique views' hypotheses (see oblique_hypotheses)
        ranked = sorted(by_view.items(), key=lambda item: -len(item[1]))[:max_views]
        found = []
        for view, pairs in ranked:
            if len(pairs) < MIN_MATCHES:
                continue
            reference_points = self.points[view][[r for _, r in pairs]]
            query_points = query.points[[q for q, _ in pairs]]
            similarity = _similarity(reference_points, query_points)
            if similarity is None:
                continue
            transform, kept = similarity
            found.append(_hypothesis(view, transform, kept, len(pairs), reference_points, query_points))
            similar_inliers = int(kept.sum())
            if len(pairs) >= MIN_AFFINE_MATCHES:
                affine = _affine(reference_points, query_points, similar_inliers, transform)
                if affine is not None:
                    matrix, kept = affine
                    found.append(_hypothesis(view, matrix, kept, len(pairs), reference_points, query_points))
            if len(pairs) >= MIN_HOMOGRAPHY_MATCHES and similar_inliers >= HOMOGRAPHY_AFTER_INLIERS:
                perspective = _homography(reference_points, query_points, transform)
                if perspective is not None:
                    matrix, kept = perspective
                    found.append(_hypothesis(view, matrix, kept, len(pairs), reference_points, query_points))
        agreeing = []
        for view, table in self._ambiguous(count, found_neighbours, AMBIGUOUS_TRIED):
            if len(table) < MIN_AMBIGUOUS_INLIERS:
                continue
            reference_points = self.points[view][table[:, 1]]
            query_points = query.points[table[:, 0]]
            similarity = _similarity(reference_points, query_points)
            if similarity is None:
                continue
            # One query keypoint counts once, however many of its neighbours the transform fits.
            support = len(np.unique(table[similarity[1], 0]))
            if support >= MIN_AMBIGUOUS_INLIERS:
                agreeing.append((support, view, similarity, table, reference_points, query_points))
        agreeing.sort(key=lambda item: (-item[0], item[1]))
        for support, view, (transform, kept), table, reference_points, query_points in agreeing[:AMBIGUOUS_VIEWS]:
            # Counted in query keypoints, like distinctive matches: one keypoint has several pairs.
            tentative = len(np.unique(table[:, 0]))
            hypothesis = _hypothesis(view, transform, kept, tentative, reference_points, query_points)
            found.append(replace(hypothesis, inliers=support, distinctive=False))
        return found


def _oblique_placements(
    renderings: np.ndarray, reference_points: np.ndarray, query_points: np.ndarray, to_beat: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Affine placements from the matches of each oblique view (see :data:`OBLIQUE_VIEWS`): a
    RANSAC similarity fitted where the view's keypoints lie in its own, foreshortened pixels,
    carried back onto the emblem and refitted as an affine transform to the matches it keeps;
    kept when it keeps more than ``to_beat``, at least :data:`MIN_OBLIQUE_INLIERS` and at least
    :data:`MIN_OBLIQUE_INLIER_SHARE` of the matches. Then those of all the views' matches
    together (see :func:`_placements_of_all`)."""
    placements = []
    for number, linear in enumerate(OBLIQUE_VIEWS, start=1):
        chosen = renderings == number
        if int(chosen.sum()) < MIN_MATCHES:
            continue
        fitted = _similarity((reference_points[chosen] @ linear.T).astype(np.float32), query_points[chosen])
        if fitted is None:
            continue
        similarity, _ = fitted
        transform = np.hstack([similarity[:, :2] @ linear, similarity[:, 2:]])
        kept = _fits(transform, reference_points, query_points)
        for _ in range(OBLIQUE_REFINEMENTS):
            # The view's shape is the nearest of a few: an affine transform fitted to the matches
            # it kept brings the placement to the emblem's actual foreshortening.
            refined = _least_squares_affine(reference_points[kept], query_points[kept])
            if refined is None or not _plausible(refined, transform):
                break
            refitted = _fits(refined, reference_points, query_points)
            if int(refitted.sum()) < int(kept.sum()):
                break
            transform, kept = refined, refitted
        if _enough(kept, to_beat):
            placements.append((transform, kept))
    return placements + _placements_of_all(reference_points, query_points, to_beat)


def _enough(kept: np.ndarray, to_beat: int) -> bool:
    """Whether an oblique placement keeps enough of its view's matches (``kept``, a mask): more
    than ``to_beat``, at least :data:`MIN_OBLIQUE_INLIERS` and :data:`MIN_OBLIQUE_INLIER_SHARE`."""
    inliers = int(kept.sum())
    return inliers > max(to_beat, MIN_OBLIQUE_INLIERS - 1) and inliers >= MIN_OBLIQUE_INLIER_SHARE * len(kept)


def _placements_of_all(
    reference_points: np.ndarray, query_points: np.ndarray, to_beat: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Placements fitted to all of a view's matches at once, whichever view each was found in (an
    oblique one, or the emblem as drawn): a RANSAC affine transform, and a homography where the
    affine one keeps :data:`MIN_HOMOGRAPHY_MATCHES` and the homography keeps as many or more.
    Each is kept on the terms of :func:`_enough`; the affine one where it stretches the emblem by
    at most :data:`MAX_AFFINE_STRETCH`, the homography where it keeps the matches' extent a
    convex quadrilateral the same way round (see :func:`_keeps_shape`): it may foreshorten more.

    Every keypoint's position is in the drawn emblem's pixels, so matches found in different
    oblique views can agree on one placement. An emblem seen at a steep angle and up close (a
    sign photographed from the side) is foreshortened unevenly: its near part matches one oblique
    view, its far part another, and neither view's matches alone agree on a similarity."""
    if len(reference_points) < MIN_AFFINE_MATCHES:
        return []
    matrix, mask = cv2.estimateAffine2D(
        reference_points, query_points, method=cv2.RANSAC, ransacReprojThreshold=DEFAULT_RANSAC_PIXELS
    )
    if matrix is None or mask is None or float(np.linalg.det(matrix[:, :2])) <= 0:
        return []
    kept = mask.ravel().astype(bool)
    if not _enough(kept, to_beat):
        return []
    placements = [(matrix, kept)] if _stretch(matrix) <= MAX_AFFINE_STRETCH else []
    if int(kept.sum()) >= MIN_HOMOGRAPHY_MATCHES:
        perspective = _homography(reference_points, query_points, matrix)
        if (
            perspective is not None
            and int(perspective[1].sum()) >= int(kept.sum())
            and _keeps_shape(perspective[0], reference_points)
        ):
            placements.append(perspective)
    return placements


def _stretch(matrix: np.ndarray) -> float:
    """How much an affine transform stretches in one direction over the other (1 for a similarity)."""
    scales = np.linalg.svd(matrix[:2, :2], compute_uv=False)
    return float(scales[0] / max(float(scales[1]), 1e-12))


def _keeps_shape(homography: np.ndarray, points: np.ndarray) -> bool:
    """Whether ``homography`` shows the bounding box of ``points`` as a view of a flat picture (see
    :func:`shows_flat`), not a fit whose horizon crosses it."""
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    return shows_flat(homography, (left, top, right, bottom))


def shows_flat(transform: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether ``transform`` (2x3 or 3x3) carries the rectangle ``box`` (left, top, right, bottom)
    to a convex quadrilateral the same way round, in front of the viewer: as a flat picture can be
    seen, not folded over itself or beyond the horizon."""
    left, top, right, bottom = box
    turns = corner_turns(transform, np.array([[left, top], [right, top], [right, bottom], [left, bottom]]))
    return turns is not None and bool((turns > 0).all())


def corner_turns(transform: np.ndarray, corners: np.ndarray) -> np.ndarray | None:
    """Which way, and how sharply, the outline of the quadrilateral that ``transform`` (2x3 or 3x3)
    carries ``corners`` (4 x 2, in order) to turns at each of its corners: all of one sign for a
    convex one. None where the quadrilateral would straddle the horizon (its corners on both sides
    of the viewer)."""
    matrix = transform if transform.shape == (3, 3) else np.vstack([transform, [0.0, 0.0, 1.0]])
    mapped = np.hstack([corners.astype(np.float64), np.ones((4, 1))]) @ matrix.T
    depths = mapped[:, 2]
    if not (np.all(depths > 0) or np.all(depths < 0)):
        return None
    edges = np.diff(mapped[:, :2] / depths[:, None], axis=0, append=mapped[:1, :2] / depths[:1, None])
    following = np.roll(edges, -1, axis=0)
    turns: np.ndarray = edges[:, 0] * following[:, 1] - edges[:, 1] * following[:, 0]
    return turns


def _fits(transform: np.ndarray, reference_points: np.ndarray, query_points: np.ndarray) -> np.ndarray:
    """Which matches ``transform`` (2x3) carries to within :data:`DEFAULT_RANSAC_PIXELS` of their
    query keypoint."""
    placed = reference_points @ transform[:, :2].T + transform[:, 2]
    fits: np.ndarray = np.linalg.norm(placed - query_points, axis=1) <= DEFAULT_RANSAC_PIXELS
    return fits


def _least_squares_affine(reference_points: np.ndarray, query_points: np.ndarray) -> np.ndarray | None:
    """The 2x3 affine transform that carries the points closest to their matches; None for
    fewer than three or for points in a line."""
    if len(reference_points) < 3:
        return None
    design = np.hstack([reference_points.astype(np.float64), np.ones((len(reference_points), 1))])
    solution, _, rank, _ = np.linalg.lstsq(design, query_points.astype(np.float64), rcond=None)
    if rank < 3:
        return None
    matrix: np.ndarray = solution.T
    return matrix


def _plausible(matrix: np.ndarray, near: np.ndarray) -> bool:
    """Whether a flat emblem can have this affine placement: orientation kept, size within a
    factor of two of ``near``'s, stretched by at most :data:`MAX_AFFINE_STRETCH`."""
    return _kept_round_and_size(matrix[:, :2], near) and _stretch(matrix) <= MAX_AFFINE_STRETCH


def _kept_round_and_size(linear: np.ndarray, near: np.ndarray) -> bool:
    """Whether the linear part of a placement keeps the emblem's orientation (a mirror is a view
    of its own) and its area within a factor of four of ``near``'s (twice its size either way)."""
    area = float(np.linalg.det(linear))
    near_area = abs(float(np.linalg.det(near[:, :2])))
    return area > 0 and near_area > 0 and 0.25 <= area / near_area <= 4.0


def _similarity(
    reference_points: np.ndarray, query_points: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A RANSAC similarity transform (rotation, uniform scale, shift) and its inlier mask."""
    transform, mask = cv2.estimateAffinePartial2D(
        reference_points, query_points, method=cv2.RANSAC, ransacReprojThreshold=DEFAULT_RANSAC_PIXELS
    )
    if transform is None or mask is None:
        return None
    return transform, mask.ravel().astype(bool)


def _hypothesis(
    view: int,
    transform: np.ndarray,
    kept: np.ndarray,
    tentative: int,
    reference_points: np.ndarray,
    query_points: np.ndarray,
) -> Hypothesis:
    """A hypothesis from a RANSAC result: the transform and the matches it kept as inliers."""
    return Hypothesis(
        view=view,
        transform=transform,
        inliers=int(kept.sum()),
        tentative=tentative,
        reference_points=reference_points[kept],
        query_points=query_points[kept],
    )


def _affine(
    reference_points: np.ndarray, query_points: np.ndarray, similar_inliers: int, similarity: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A RANSAC affine transform, kept only where it explains more matches than the similarity
    did: an emblem seen at an angle (a sign, a card, a flag photographed obliquely) is foreshortened,
    and a similarity fits only the matches near one another. Too few matches for a homography are
    often enough for this. Orientation kept, size within a factor of two of the similarity's, as for
    a homography, and a stretch of at most :data:`MAX_AFFINE_STRETCH`."""
    matrix, mask = cv2.estimateAffine2D(
        reference_points, query_points, method=cv2.RANSAC, ransacReprojThreshold=DEFAULT_RANSAC_PIXELS
    )
    if matrix is None or mask is None:
        return None
    kept = mask.ravel().astype(bool)
    if int(kept.sum()) <= max(similar_inliers, MIN_AFFINE_MATCHES - 1) or not _plausible(matrix, similarity):
        return None
    return matrix, kept


def _homography(
    reference_points: np.ndarray, query_points: np.ndarray, similarity: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A RANSAC homography, if one is supported by enough matches and is a plausible view of a flat
    emblem: orientation kept (mirrors are separate views) and size within a factor of two of the
    similarity's."""
    matrix, mask = cv2.findHomography(
        reference_points, query_points, cv2.RANSAC, DEFAULT_RANSAC_PIXELS, maxIters=HOMOGRAPHY_ITERATIONS
    )
    if matrix is None or mask is None:
        return None
    kept = mask.ravel().astype(bool)
    if int(kept.sum()) < MIN_HOMOGRAPHY_MATCHES:
        return None
    if not _kept_round_and_size(matrix[:2, :2] / matrix[2, 2], similarity):
        return None
    return matrix, kept

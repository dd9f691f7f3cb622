"""Local features: keypoints, an index over every reference's descriptors, geometric verification.

The detector is SIFT with RootSIFT descriptors (Arandjelović and Zisserman, 2012), from OpenCV's
main package. Plain ORB finds about 16% of the altered emblems of the dev benchmark (issue 2);
ORB's binary tests break on shrunken, blurred and recompressed emblems, while SIFT's descriptor is
also unchanged when an image's polarity is inverted, which impersonators do.

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
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

logger = logging.getLogger(__name__)

#: Keypoints kept per reference view (drawn or mirrored).
DEFAULT_REFERENCE_FEATURES = 400
#: Keypoints kept per query image.
DEFAULT_QUERY_FEATURES = 900
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
#: RANSAC rounds for a homography. OpenCV's default (2,000) is spent in full whenever most matches
#: are wrong, which is every image without the emblem; a true perspective view, whose matches
#: mostly agree, is found in far fewer.
HOMOGRAPHY_ITERATIONS = 300
#: Minimum tentative matches before a geometric hypothesis is attempted.
MIN_MATCHES = 3
#: SIFT's contrast threshold; lower than OpenCV's 0.04 so that faint or small emblems give points.
SIFT_CONTRAST = 0.02


#: Index permutation that turns a SIFT descriptor into that of the same patch with inverted polarity.
POLARITY_PERMUTATION = np.array(
    [((3 - row) * 4 + (3 - column)) * 8 + b for row in range(4) for column in range(4) for b in range(8)]
)


@dataclass(frozen=True)
class Keypoints:
    """Keypoint positions (N x 2, pixels) and their descriptors (N x D)."""

    points: np.ndarray
    descriptors: np.ndarray

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @classmethod
    def empty(cls, dimensions: int = 128) -> Keypoints:
        return cls(np.zeros((0, 2), np.float32), np.zeros((0, dimensions), np.float32))

    def strongest(self, count: int) -> Keypoints:
        """The first ``count`` keypoints: :func:`detect` orders them strongest first."""
        return Keypoints(self.points[:count], self.descriptors[:count])

    def positions_only(self) -> Keypoints:
        """The same keypoints without descriptors, once an index holds those."""
        return Keypoints(self.points, np.zeros((len(self), 0), np.float32))


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb


def detect(rgb: np.ndarray, max_features: int, contrast: float = SIFT_CONTRAST) -> Keypoints:
    """The ``max_features`` strongest SIFT keypoints of ``rgb``, with RootSIFT descriptors;
    ``contrast`` is SIFT's contrast threshold (lower finds fainter keypoints).

    OpenCV's detector runs on several threads and returns its keypoints in an order that can vary
    between runs, which would make scores vary too. So all keypoints are detected and described,
    sorted by a total order (strength, then position), and only then cut.
    """
    grey = to_grey(rgb)
    sift = cv2.SIFT.create(nfeatures=0, contrastThreshold=contrast)
    # One pass: describing only the kept keypoints afterwards would build the scale space twice.
    found, described = sift.detectAndCompute(grey, None)
    if described is None or not found:
        return Keypoints.empty()
    rank = [(-k.response, k.pt[1], k.pt[0], -k.size, k.angle, k.octave) for k in found]
    order = sorted(range(len(found)), key=rank.__getitem__)[:max_features]
    descriptors = described[order]
    descriptors = descriptors / (np.abs(descriptors).sum(axis=1, keepdims=True) + 1e-7)
    points = np.array([found[i].pt for i in order], np.float32)
    return Keypoints(points, np.sqrt(descriptors).astype(np.float32))


#: Seeds that make RANSAC and the randomised k-d trees repeatable: the same image gets the same
#: score in every process and every run, which a reviewer comparing two reports expects.
RANSAC_SEED = 12345
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


class FeatureIndex:
    """Every reference view's descriptors in one approximate nearest-neighbour index.

    ``points`` and ``descriptors`` list, for each view, its keypoints' positions and descriptors;
    ``entity_of_view`` its entity number, used by the ratio test. Querying costs one
    k-nearest-neighbour search, however many references there are.
    """

    def __init__(self, points: list[np.ndarray], descriptors: list[np.ndarray], entity_of_view: list[int]) -> None:
        self.points = points
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

    def _flann(self) -> Any:
        """The k-d trees, built on first use (in the process that queries them)."""
        if self._index is None:
            cv2.setRNGSeed(FLANN_SEED)  # the randomised trees draw from OpenCV's generator
            # cv2.flann.Index searches our array in place: no copy, unlike a DescriptorMatcher.
            self._index = cv2.flann.Index(self.descriptors, {"algorithm": 1, "trees": 4})
        return self._index

    def tentative_matches(
        self, query: Keypoints, ratio: float = DEFAULT_RATIO
    ) -> dict[int, list[tuple[int, int]]]:
        """Query descriptor -> reference descriptor pairs that pass the ratio test, by view.

        Each descriptor is looked up as it is and with inverted polarity; per keypoint the closer
        of the two is kept if it beats the best match of any *other* entity by ``ratio``.
        """
        by_view: dict[int, list[tuple[int, int]]] = defaultdict(list)
        if len(query) < 2 or self.descriptor_count < 2:
            return by_view
        neighbours = min(DEFAULT_NEIGHBOURS, self.descriptor_count)
        count = len(query)
        both = np.ascontiguousarray(np.vstack([query.descriptors, query.descriptors[:, POLARITY_PERMUTATION]]))
        found, squared = self._flann().knnSearch(both, neighbours, params={"checks": DEFAULT_CHECKS})
        found = found.astype(np.int64)
        distance = np.sqrt(np.maximum(squared.astype(np.float64), 0.0))
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

    def hypotheses(self, query: Keypoints, max_views: int) -> list[Hypothesis]:
        """RANSAC similarity transforms for the ``max_views`` views with the most matches, and a
        homography where enough matches support one (an emblem seen in perspective)."""
        by_view = self.tentative_matches(query)
        ranked = sorted(by_view.items(), key=lambda item: -len(item[1]))[:max_views]
        found = []
        for view, pairs in ranked:
            if len(pairs) < MIN_MATCHES:
                continue
            reference_points = self.points[view][[r for _, r in pairs]]
            query_points = query.points[[q for q, _ in pairs]]
            cv2.setRNGSeed(RANSAC_SEED + view)
            transform, mask = cv2.estimateAffinePartial2D(
                reference_points,
                query_points,
                method=cv2.RANSAC,
                ransacReprojThreshold=DEFAULT_RANSAC_PIXELS,
            )
            if transform is None or mask is None:
                continue
            found.append(_hypothesis(view, transform, mask.ravel().astype(bool), pairs, reference_points, query_points))
            if len(pairs) >= MIN_HOMOGRAPHY_MATCHES:
                perspective = _homography(reference_points, query_points, transform)
                if perspective is not None:
                    matrix, kept = perspective
                    found.append(_hypothesis(view, matrix, kept, pairs, reference_points, query_points))
        return found


def _hypothesis(
    view: int,
    transform: np.ndarray,
    kept: np.ndarray,
    pairs: list[tuple[int, int]],
    reference_points: np.ndarray,
    query_points: np.ndarray,
) -> Hypothesis:
    """A hypothesis from a RANSAC result: the transform and the matches it kept as inliers."""
    return Hypothesis(
        view=view,
        transform=transform,
        inliers=int(kept.sum()),
        tentative=len(pairs),
        reference_points=reference_points[kept],
        query_points=query_points[kept],
    )


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
    linear = matrix[:2, :2] / matrix[2, 2]
    similar_area = abs(float(np.linalg.det(similarity[:, :2])))
    area = float(np.linalg.det(linear))
    if area <= 0 or similar_area <= 0 or not 0.25 <= area / similar_area <= 4.0:
        return None
    return matrix, kept

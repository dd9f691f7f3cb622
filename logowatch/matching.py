"""One image against the reference index: propose hypotheses, verify them, rank the entities.

Two cheap signals propose where an emblem might be: keypoint matches that agree on one similarity
transform (the emblem anywhere in the image, at any size, turned or mirrored; an affine transform or
a homography where many agree, or where they match an oblique view of the emblem, one seen at an
angle), and a near-identical perceptual hash of the image's content (the avatar *is* the emblem,
even when too small for keypoints); for a library of seals, circles of the image too, each round
emblem's ring put on them. Every proposal is then verified by render-and-compare
(:mod:`logowatch.verification`) and scored (:mod:`logowatch.scoring`); where none fits well, the
plane of the image seen at an angle (a card, a sign, a flag) is turned to face the viewer and
searched in the same way (see :mod:`logowatch.planes`), the nearest misses are placed again by
aligning the emblem's edges with the image's, and the image's flat regions that agree in shape
with an emblem's propose placements of their own (see :mod:`logowatch.regions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np

from logowatch import features, hashing, planes, process, regions, scoring, text, verification
from logowatch.library import EMBLEM_MARGIN, PreparedVariant, ReferenceIndex, default_text_model
from logowatch.loading import LoadedImage

#: Queries are described at a longer side between these, enlarging small avatars for keypoints.
MIN_WORKING_SIDE = 256
MAX_WORKING_SIDE = 512
#: A query with fewer keypoints than this keeps fainter ones too (see :func:`features.detect`).
SPARSE_KEYPOINTS = 150
#: Views per index whose hypotheses are tried (those with the most distinctive matches): each may
#: give a similarity, an affine transform and a homography (see ``features.FeatureIndex.hypotheses``).
DEFAULT_HYPOTHESES = 8
#: How many candidates a result keeps.
DEFAULT_CANDIDATES = 5
#: Where no candidate scores :data:`REFINE_BELOW` or more, the best :data:`REFINED_CANDIDATES` of
#: those scoring :data:`REFINE_FROM` or more are placed again, by aligning the emblem's edges with
#: the image's (see ``verification.refine``): a simple emblem seen at an angle has too few
#: keypoints for a homography, and the similarity they agree on fits it loosely (the emblems so
#: refined on the dev and dev-extra benchmarks had scored 0.21 to 0.72). Where one fits already,
#: refining those below it could only lift a look-alike, another seal of the same design say,
#: above it (the image's plane seen at an angle and its flat regions are looked at only then too:
#: see :func:`_plane_candidates` and :data:`REGION_PLACEMENTS`). A placement so refined, a
#: homography free to bend the emblem onto what is there, counts only where it scores
#: :data:`MIN_REFINED_SCORE` or more: refined without that floor, the dev and dev-extra images
#: without an emblem reached 0.71, the emblems 0.59 to 0.99. Three near misses at most, since each
#: costs an alignment (all of them together 1 to 2% of the time of a scan, 2.6 to 4.5% once the
#: best of them is aligned by its shape too: see :data:`SHAPE_REFINED_CANDIDATES` and README,
#: "Speed").
REFINE_FROM = 0.15
REFINE_BELOW = 0.75
REFINED_CANDIDATES = 3
MIN_REFINED_SCORE = 0.8
#: How many of those near misses, best first, are also placed again by aligning their shape with
#: a shape of the image (see ``verification.align_shapes``): a simple emblem seen at an angle that
#: its few keypoints place a fifth too large or a turn off, beyond what edges align from (on the
#: dev-extra benchmark three emblems at an angle, placed at 0.24 to 0.53, found at 0.94 to 0.99).
#: The best alone: a shape aligns from much further than edges do, and a striped flag so aligned
#: over another striped flag below the best candidate took its place (a screenshot of Malaysia's
#: flag named as Uruguay's at 0.81, when the three near misses were aligned).
SHAPE_REFINED_CANDIDATES = 1
#: Placements that the image's flat regions propose, one per entity, where no candidate scores
#: :data:`REFINE_BELOW` (see :func:`_region_proposals`): each costs an alignment of edges. In a
#: first trial on the dev and dev-extra benchmarks, the emblems they found were ranked first or
#: second among them but for one, fourth.
REGION_PLACEMENTS = 4
#: Round emblems placed on each circle of the image (see :func:`_ring_proposals`): those whose
#: disc, turned the way that fits best, agrees best with the circle's.
RING_DESIGNS = 3
#: Two candidates' rings are the same ring of the image where their centres, radii and text bands
#: differ by no more than this share of the radius (and they are placed the same way round):
#: what the recogniser read there for one candidate is compared with the next one's text too
#: (another seal of the same design placed where the first was), not read again. On the seals
#: benchmark the recogniser ran 505 times for the 3,234 readings the candidates asked for, and
#: reading each candidate's own strip instead changed no verdict, nor any score by 0.01.
SAME_RING = 0.1


@dataclass(frozen=True)
class Candidate:
    """One entity's best explanation of the image."""

    entity: str
    name: str
    variant: str
    mirrored: bool
    score: float
    evidence: scoring.Evidence
    #: The emblem's outline in the image, four (x, y) corners in the image's pixels.
    outline: tuple[tuple[float, float], ...]
    #: Verified keypoint correspondences: (emblem x, y) in the variant's working pixels and
    #: (image x, y) in the image's pixels.
    correspondences: tuple[tuple[float, float, float, float], ...]


@dataclass(frozen=True)
class _Proposal:
    """Where one view of a variant might lie in the working image, and what proposed it."""

    variant: int
    mirrored: bool
    transform: np.ndarray
    inliers: int = 0
    tentative: int = 0
    hash_distance: int | None = None
    distinctive: bool = True
    oblique: bool = False
    #: True for a round emblem's ring put on a circle of the image (see :func:`_ring_proposals`).
    ring: bool = False
    #: True for a placement refined by aligning edges, or shapes (see :func:`_refined`), and for
    #: one that the image's flat regions proposed (see :func:`_region_proposals`).
    refined: bool = False
    #: The emblem's regions that agree with the image's on a placement they proposed.
    regions: int = 0
    #: True for a placement found on a plane of the image seen at an angle, turned to face the
    #: viewer, and verified there (see :func:`_plane_candidates`).
    plane: bool = False
    #: The entity whose round emblem was placed so, for a placement moved onto another round
    #: emblem's ring (see :func:`_moved`).
    placed_as: str | None = None
    reference_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    image_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))


@dataclass(frozen=True)
class _ReadRing:
    """A ring of the image read for a candidate: where it lies, the text band and the way round
    it was unwrapped in, and what the recogniser reads there (see :data:`SAME_RING`)."""

    ring: text.Ring
    band: tuple[float, float]
    mirrored: bool
    copy: text.Copy

    def covers(self, ring: text.Ring, band: tuple[float, float], mirrored: bool) -> bool:
        """Whether another candidate's ``ring`` and ``band``, placed ``mirrored`` or not, are
        this one: what was read here is its reading too."""
        return mirrored == self.mirrored and ring.near(self.ring, SAME_RING) and _near(band, self.band, SAME_RING)


def working_copy(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The image at the size keypoints are found at, and that size over the original's."""
    height, width = rgb.shape[:2]
    longer = max(height, width)
    target = min(max(longer, MIN_WORKING_SIDE), MAX_WORKING_SIDE)
    scale = target / longer
    if abs(scale - 1.0) < 1e-6:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, size, interpolation=interpolation), scale


def _outline(prepared: PreparedVariant, transform: np.ndarray) -> np.ndarray:
    """Where a placement puts the emblem's own extent in the working image: its four corners,
    without the blank border it was prepared with (see ``library.EMBLEM_MARGIN``)."""
    width, height = prepared.emblem_size
    pad = max(width, height) * EMBLEM_MARGIN / (1 + 2 * EMBLEM_MARGIN)
    corners = np.array([[pad, pad], [width - pad, pad], [width - pad, height - pad], [pad, height - pad]])
    return verification.mapped(corners, transform)


def _hash_transform(prepared: PreparedVariant, box: tuple[int, int, int, int]) -> np.ndarray:
    """Placement of the emblem (without its blank border) stretched onto the content box.

    The border is taken as each side's own share of it, although preparation makes it a share
    of the longer side on every side (see :func:`_outline`): for a flag, a little of its border
    is stretched over the box's top and bottom. Taking the border exactly changed one verdict
    on the dev benchmark, a low-resolution Spanish flag then named as French Polynesia's."""
    width, height = prepared.emblem_size
    pad_x = width * EMBLEM_MARGIN / (1 + 2 * EMBLEM_MARGIN)
    pad_y = height * EMBLEM_MARGIN / (1 + 2 * EMBLEM_MARGIN)
    x0, y0, x1, y1 = box
    sx = (x1 - x0) / max(1.0, width - 2 * pad_x)
    sy = (y1 - y0) / max(1.0, height - 2 * pad_y)
    return np.array([[sx, 0.0, x0 - sx * pad_x], [0.0, sy, y0 - sy * pad_y]])


def _rendered(
    prepared: PreparedVariant, mirrored: bool, transform: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The variant's preview and support as placed (mirrored or not), and the transform from
    the preview's pixels into the working image."""
    preview = prepared.preview[:, ::-1] if mirrored else prepared.preview
    support = prepared.support[:, ::-1] if mirrored else prepared.support
    to_preview = transform.copy()
    to_preview[:, :2] /= prepared.preview_scale
    return np.ascontiguousarray(preview), np.ascontiguousarray(support), to_preview


def _refined(ranking: _Ranking) -> list[_Proposal]:
    """The best near misses of ``ranking`` placed again by aligning edges, where that converged
    (see :data:`REFINE_FROM`), and the best one's by aligning its shape and then its edges (see
    :data:`SHAPE_REFINED_CANDIDATES`). Each
    keeps the keypoint matches that proposed it as its evidence: they agreed on a similarity that
    only approximated the emblem's view (Oculus's emblem under a caption, refined to edges
    correlating at 0.99, had one of its four keypoint matches 13 pixels off the refined
    placement, and lost its match when such matches were left out)."""
    index, best, work = ranking.index, ranking.best, ranking.work
    if any(c.score >= REFINE_BELOW for c in best.values()):
        return []
    chosen = sorted((c.score, n) for n, c in best.items() if c.score >= REFINE_FROM)[::-1][:REFINED_CANDIDATES]
    if not chosen:
        return []
    edges = ranking.edges
    refined = []
    for rank, (_, entity_number) in enumerate(chosen):
        proposal = ranking.proposed[entity_number]
        prepared = index.variants[proposal.variant]
        preview, support, to_preview = _rendered(prepared, proposal.mirrored, proposal.transform)
        placements = [verification.refine(preview, support, edges, to_preview)]
        shaped = (
            verification.align_shapes(preview, support, work, to_preview, ranking.pixel_size)
            if rank < SHAPE_REFINED_CANDIDATES
            else None
        )
        if shaped is not None:
            # Edges finish what the shapes began; where they diverge, the shapes' own alignment.
            finished = verification.refine(preview, support, edges, shaped)
            placements.append(shaped if finished is None else finished)
        for homography in placements:
            if homography is None:
                continue
            transform = homography @ np.diag([prepared.preview_scale, prepared.preview_scale, 1.0])
            refined.append(replace(proposal, transform=transform, refined=True))
    return refined


def _region_proposals(ranking: _Ranking) -> list[_Proposal]:
    """Where no candidate scores :data:`REFINE_BELOW` or more, the placements that the working
    image's flat regions propose (see ``regions.RegionIndex.placements``), at most
    :data:`REGION_PLACEMENTS`, each refined by aligning the emblem's edges with the image's: an
    affine map fitted to two regions only approximates a view in perspective. Each is scored as
    a refined placement is (it counts from :data:`MIN_REFINED_SCORE`), and where the fewest
    regions agree on it (``scoring.FEWEST_REGIONS``), as one that the fewest keypoints propose:
    nothing but the shapes of two regions vouches for it."""
    index = ranking.index
    if not len(index.regions) or any(c.score >= REFINE_BELOW for c in ranking.best.values()):
        return []
    placements = index.regions.placements(regions.of_image(ranking.work), REGION_PLACEMENTS)
    proposals = []
    for placement in placements:
        variant, mirrored = index.view(placement.view)
        prepared = index.variants[variant]
        preview, support, to_preview = _rendered(prepared, mirrored, placement.transform)
        homography = verification.refine(preview, support, ranking.edges, to_preview)
        if homography is None:
            continue
        transform = homography @ np.diag([prepared.preview_scale, prepared.preview_scale, 1.0])
        proposals.append(_Proposal(variant, mirrored, transform, refined=True, regions=placement.regions))
    return proposals


def _plane_candidates(ranking: _Ranking) -> None:
    """Where no candidate scores :data:`REFINE_BELOW` or more, the candidates found on the plane
    of the working image seen at an angle (a card, a sign, a flag: see ``planes``), turned to face
    the viewer: its keypoints and its perceptual hash propose placements there, and each is
    verified there, as an emblem seen from the front is. An entity's candidate found so replaces
    its own where it scores higher, its outline and its matches in the image's pixels.

    Verified in the image instead, a thin emblem so foreshortened is a few pixels across at the
    size it is compared at, and its edges correlate worse than its keypoints fit: on dev-extra,
    five emblems found on their planes scored 0.69 to 0.91 turned, 0.49 to 0.77 in the image."""
    index, work = ranking.index, ranking.work
    if any(c.score >= REFINE_BELOW for c in ranking.best.values()):
        return
    for corners in planes.outlines(work):
        turned, back = planes.rectified(work, corners)
        plane = _Ranking(index, turned, ranking.scale, verification.upscale_factor(turned), to_work=back)
        for proposal in _keypoint_proposals(index, turned) + _hash_proposals(index, turned)[1]:
            plane.consider(replace(proposal, plane=True))
        for entity_number, candidate in plane.best.items():
            if entity_number in ranking.best and ranking.best[entity_number].score >= candidate.score:
                continue
            ranking.best[entity_number] = candidate
            # Placed again later (refined, or moved onto another seal's ring), it is measured in the image.
            proposal = plane.proposed[entity_number]
            ranking.proposed[entity_number] = replace(
                proposal,
                plane=False,
                transform=back @ verification.as_homography(proposal.transform),
                image_points=verification.mapped(proposal.image_points, back).astype(np.float32),
            )


def _moved(index: ReferenceIndex, proposal: _Proposal, hashed: np.ndarray | None) -> list[_Proposal]:
    """The placement of a round emblem moved onto every other entity's round emblems, each
    ring onto its ring (mirrored as the proposal is), with the keypoint matches or the count of
    flat regions that proposed it (on the ring and the star, which the seals of a design share:
    they vouch for each seal of the design alike) and each one's own perceptual hash distance from
    the image (``hashed``, see :func:`_hash_proposals`) where that proposes it.

    Seals of one design share their ring and star, and the keypoints on them match each seal of
    the design alike: where the text of the seal placed reads as another body's name, the seal
    carrying that name is placed where it was, and its text decides. Its own keypoints may never
    have proposed it (a small seal stamped over a photo: its letters are too small to match)."""
    entity = index.entity_of_variant[proposal.variant]
    here = index.ring_of_view(proposal.variant, proposal.mirrored)
    moved = []
    for variant in index.rings:
        if index.entity_of_variant[variant] == entity:
            continue
        there = index.ring_of_view(variant, proposal.mirrored)
        factor = here.radius / there.radius
        onto = np.array(
            [
                [factor, 0.0, here.centre[0] - factor * there.centre[0]],
                [0.0, factor, here.centre[1] - factor * there.centre[1]],
                [0.0, 0.0, 1.0],
            ]
        )
        transform = verification.as_homography(proposal.transform) @ onto
        points = proposal.reference_points
        if len(points):
            back = np.linalg.inv(onto)
            points = (points @ back[:2, :2].T + back[:2, 2]).astype(np.float32)
        distance = None if hashed is None else int(hashed[2 * variant + int(proposal.mirrored)])
        moved.append(
            replace(
                proposal,
                variant=variant,
                transform=transform if proposal.transform.shape == (3, 3) else transform[:2],
                hash_distance=distance if distance is not None and distance <= hashing.DEFAULT_HASH_DISTANCE else None,
                placed_as=index.entities[entity].id,
                reference_points=points,
            )
        )
    return moved


def _drawn(
    prepared: PreparedVariant, mirrored: bool, transform: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, float]:
    """The emblem drawn by a placement in an image of ``shape``, and how many times its preview was
    enlarged there (below 1 where it was shrunk). A preview shrunk is first shrunk by averaging,
    since a warp samples the pixels it shrinks."""
    preview, _, to_preview = _rendered(prepared, mirrored, transform)
    homography = verification.as_homography(to_preview)
    height, width = preview.shape[:2]
    scale = verification.local_scale(homography, (width / 2, height / 2))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        preview = cv2.resize(preview, size, interpolation=cv2.INTER_AREA)
        homography = homography @ np.diag([width / size[0], height / size[1], 1.0])
    return cv2.warpPerspective(preview, homography, (shape[1], shape[0]), borderMode=cv2.BORDER_REPLICATE), scale


def _ring_in_image(ring: text.Ring, transform: np.ndarray) -> text.Ring:
    """Where a placement (emblem pixels to image pixels) puts an emblem's ring in the image."""
    x, y = (float(v) for v in verification.mapped(np.array([ring.centre]), transform)[0])
    return text.Ring((x, y), ring.radius * verification.local_scale(transform, ring.centre))


def _near(one: tuple[float, float], other: tuple[float, float], share: float) -> bool:
    """Whether two text bands (outer, inner, as shares of the radius) are within ``share``."""
    return abs(one[0] - other[0]) <= share and abs(one[1] - other[1]) <= share


def _read_ring(
    index: ReferenceIndex,
    candidate: Candidate,
    proposal: _Proposal,
    work: np.ndarray,
    pixel_size: float,
    copies: list[_ReadRing],
) -> Candidate:
    """The candidate (its variant placed as ``proposal`` has it), rescored with
    what its ring reads in the image where its emblem is a round one with legible text (see
    :mod:`logowatch.text`) and it scores :data:`text.READ_FROM` or more; where the copy is too
    small or blurred to read (finest detail ``pixel_size`` working pixels), with how its text is
    laid out. ``copies`` holds the rings of the image read for earlier candidates, with their
    text bands (see :data:`SAME_RING`); one read now is added."""
    variant, transform = proposal.variant, proposal.transform
    ring = index.rings.get(variant)
    if ring is None or index.text_model is None or candidate.score < text.READ_FROM:
        return candidate
    recogniser = process.recogniser(index.text_model, default_text_model())
    if recogniser is None:
        return candidate
    placed = index.ring_of_view(variant, candidate.mirrored)
    in_image = _ring_in_image(placed, transform)
    copy = next((c.copy for c in copies if c.covers(in_image, ring.band, candidate.mirrored)), None)
    if copy is None:
        copy = text.Copy(recogniser, text.unwrap(work, placed, transform, candidate.mirrored, ring.band))
        copies.append(_ReadRing(in_image, ring.band, candidate.mirrored, copy))
    comparison = text.compare(copy, ring, within=scoring.MAX_TEXT_DISTANCE)
    if comparison is None:
        # Too small or blurred to read: the layout of its text is compared instead, where the
        # copy shows enough of it (at the detail of the copy or of the emblem's drawing, whichever
        # is coarser); else the evidence says that only the design was compared.
        drawn, enlarged = _drawn(index.variants[variant], candidate.mirrored, transform, work.shape)
        detail = max(pixel_size, enlarged)
        layout = text.layout_agreement(work, drawn, placed, transform, candidate.mirrored, ring.band, detail)
        evidence = replace(
            candidate.evidence, text_expected=ring.text, text_layout=None if layout is None else round(layout, 2)
        )
        return replace(candidate, score=round(scoring.score(evidence), 4), evidence=evidence)
    evidence = replace(
        candidate.evidence,
        text_read=text.shown(comparison.reading.text),
        text_expected=ring.text,
        text_distance=round(comparison.distance, 2),
    )
    return replace(candidate, score=round(scoring.score(evidence), 4), evidence=evidence)


def match(index: ReferenceIndex, image: LoadedImage, keep: int = DEFAULT_CANDIDATES) -> list[Candidate]:
    """The best candidates for ``image``, one per entity, best first."""
    rgb = image.composited()
    work, scale = working_copy(rgb)
    # How far the image was enlarged, in working pixels; measured on the smaller of the two copies
    # (a large photo shrunk for work costs a tenth as much to measure there).
    pixel_size = verification.upscale_factor(rgb) * scale if scale >= 1 else verification.upscale_factor(work)
    hashed, by_hash = _hash_proposals(index, work)
    ranking = _Ranking(index, work, scale, pixel_size)
    for proposal in _keypoint_proposals(index, work) + by_hash + _ring_proposals(index, work):
        ranking.consider(proposal)
    _plane_candidates(ranking)
    for proposal in _refined(ranking):
        ranking.consider(proposal)
    for proposal in _region_proposals(ranking):
        ranking.consider(proposal)
    if index.rings:
        _read_rings(ranking, hashed, keep)
    return [candidate for _, candidate in _ranked(ranking.best)[:keep]]


def _keypoint_proposals(index: ReferenceIndex, work: np.ndarray) -> list[_Proposal]:
    """The placements that the working image's keypoint matches agree on: upright ones, then
    oblique ones that explain more than any upright one (see ``features.FeatureIndex``)."""
    query = features.detect_in_colour(work, features.DEFAULT_QUERY_FEATURES, sparse=SPARSE_KEYPOINTS)
    matched: dict[int, list[tuple[int, int]]] = {}
    upright = index.features.hypotheses(query, DEFAULT_HYPOTHESES, matched)
    upright_inliers = max((h.inliers for h in upright if h.distinctive), default=0)
    oblique = index.oblique.oblique_hypotheses(query, DEFAULT_HYPOTHESES, index.features, matched, upright_inliers)
    proposals = []
    for hypothesis in upright + oblique:
        if hypothesis.inliers < scoring.MIN_INLIERS:
            continue
        variant, mirrored = index.view(hypothesis.view)
        proposals.append(
            _Proposal(
                variant, mirrored, hypothesis.transform, hypothesis.inliers, hypothesis.tentative,
                distinctive=hypothesis.distinctive, oblique=hypothesis.oblique,
                reference_points=hypothesis.reference_points, image_points=hypothesis.query_points,
            )
        )
    return proposals


def _ring_proposals(index: ReferenceIndex, work: np.ndarray) -> list[_Proposal]:
    """The library's round emblems put on the circles of the working image: each ring scaled and
    moved onto a circle, and turned (or mirrored) the way its disc fits the circle's best; the
    :data:`RING_DESIGNS` that fit best on each circle. None for a library without round emblems.

    A seal stamped small over a photo, or shrunk into a thumbnail, has letters too small for
    keypoints of their own, and its ring and star give keypoints that match every seal of its
    design alike, among a busy photo's: no keypoint placement puts it where it is. Its ring is a
    circle all the same. Which seal it is, the text on the ring then says (see :func:`_read_ring`);
    nothing vouches for the emblem but the circle, so the placement scores as look-alike matches do."""
    if not index.rings:
        return []
    proposals = []
    for found in text.circles(work):
        # Where Hough put it, then fitted to the emblem whose text band agrees best there, and
        # every emblem turned to fit it anew.
        first = max(_disc_fits(index, work, found), key=lambda fit: (fit[0], -fit[1], -fit[2]))
        band = index.rings[first[1]].band
        circle = text.fitted_circle(work, found, index.disc(first[1], first[2]), band)
        fits = sorted(_disc_fits(index, work, circle), key=lambda fit: (-fit[0], fit[1], fit[2]))
        for _, variant, mirrored, turn in fits[:RING_DESIGNS]:
            ring = index.ring_of_view(variant, mirrored)
            factor = circle.radius / ring.radius
            angle = np.deg2rad(turn)
            turned = factor * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            moved = np.asarray(circle.centre) - turned @ np.asarray(ring.centre)
            transform = np.hstack([turned, moved[:, None]])
            proposals.append(_Proposal(variant, mirrored, transform, distinctive=False, ring=True))
    return proposals


def _disc_fits(index: ReferenceIndex, work: np.ndarray, circle: text.Ring) -> list[tuple[float, int, bool, float]]:
    """How well each round emblem's text band, drawn and mirrored, agrees with ``circle`` of the
    working image, turned the way it fits best: (agreement, variant, mirrored, turn in degrees)."""
    bands: dict[tuple[float, float], tuple[np.ndarray, float]] = {}  # the circle's, by text band
    fits = []
    for variant, ring_text in index.rings.items():
        if ring_text.band not in bands:
            bands[ring_text.band] = text.disc_spectrum(work, circle, ring_text.band)
        for mirrored in (False, True):
            turn, agreement = text.best_turn(bands[ring_text.band], index.disc(variant, mirrored))
            fits.append((agreement, variant, mirrored, turn))
    return fits


def _hash_proposals(index: ReferenceIndex, work: np.ndarray) -> tuple[np.ndarray | None, list[_Proposal]]:
    """Each variant's perceptual hash distance from the working image's content, mirrored or not
    (rows ``2 * variant + mirrored``; None for an image too small to hash), and the variants near
    enough to be proposed, stretched over the content."""
    box = hashing.content_box(work)
    content = work[box[1] : box[3], box[0] : box[2]]
    if min(content.shape[:2]) < hashing.MIN_HASH_SIDE:
        return None, []
    hashed = hashing.hamming(hashing.hash_bits(hashing.phash(content)), index.hashes)
    proposals = []
    for row in np.flatnonzero(hashed <= hashing.DEFAULT_HASH_DISTANCE):
        variant, mirrored = int(row) // 2, bool(row % 2)
        transform = _hash_transform(index.variants[variant], box)
        proposals.append(_Proposal(variant, mirrored, transform, hash_distance=int(hashed[row])))
    return hashed, proposals


class _Ranking:
    """Each entity's best candidate for one image so far (``best``, by entity number), and the
    proposal behind it (``proposed``): a proposal is verified and kept where it beats its
    entity's best. ``work`` is the working image, ``scale`` its size over the image's, and
    ``pixel_size`` its finest detail in working pixels. For a plane of the working image turned
    to face the viewer (see :func:`_plane_candidates`), ``work`` is the plane and ``to_work`` the
    homography from its pixels back to the working image's: the candidates' outlines and matches
    are in the image's pixels all the same."""

    def __init__(
        self,
        index: ReferenceIndex,
        work: np.ndarray,
        scale: float,
        pixel_size: float,
        to_work: np.ndarray | None = None,
    ) -> None:
        self.index = index
        self.work = work
        self.scale = scale
        self.pixel_size = pixel_size
        self.to_work = np.eye(3) if to_work is None else to_work
        self.best: dict[int, Candidate] = {}
        self.proposed: dict[int, _Proposal] = {}

    @cached_property
    def edges(self) -> np.ndarray:
        """The working image's edge map, made where a placement is first aligned with it (see
        :func:`_refined` and :func:`_region_proposals`), once."""
        return verification.edge_map(self.work)

    def consider(self, proposal: _Proposal) -> None:
        """Render the proposal's emblem where it places it, compare, score, and keep it as its
        entity's candidate if it scores above the one kept."""
        variant, mirrored, transform = proposal.variant, proposal.mirrored, proposal.transform
        prepared = self.index.variants[variant]
        if not features.shows_flat(transform, (0.0, 0.0, *prepared.emblem_size)):
            # A homography fitted to matches on part of an emblem can fold the rest over itself or
            # beyond the horizon (two background images scored 0.45 and 0.47 against the accounts
            # emblems on such placements, drawn as a crossed outline and a sliver): no image shows that.
            return
        preview, support, to_preview = _rendered(prepared, mirrored, transform)
        comparison = verification.compare(preview, self.work, to_preview, support, pixel_size=self.pixel_size)
        if comparison is verification.REFUSED:
            return  # degenerate or off the image: not a placement at all
        evidence = scoring.Evidence(
            edge_correlation=comparison.correlation,
            shown=comparison.shown,
            inliers=proposal.inliers,
            tentative=proposal.tentative,
            hash_distance=proposal.hash_distance,
            distinctive=proposal.distinctive,
            oblique=proposal.oblique,
            refined=proposal.refined,
            ring=proposal.ring,
            regions=proposal.regions,
            plane=proposal.plane,
            placed_as=proposal.placed_as,
        )
        entity_number = self.index.entity_of_variant[variant]
        # This entity's best so far: a placement must score above it to replace it.
        to_beat = self.best[entity_number].score if entity_number in self.best else float("-inf")
        # The interior and the appearance can only lower the score: a placement that cannot beat
        # this entity's best without them is not compared further (a fifth of the time of a scan).
        if scoring.score(evidence) <= to_beat:
            return
        interior = verification.interior_correlation(
            preview, self.work, to_preview, self.index.interior(variant, mirrored), self.pixel_size
        )
        evidence = replace(evidence, interior_correlation=interior)
        value = scoring.score(evidence)
        if value <= to_beat:
            return
        if scoring.needs_appearance(evidence):
            appearance = verification.appearance_agreement(preview, self.work, to_preview, support, self.pixel_size)
            evidence = replace(evidence, appearance_agreement=appearance)
            value = scoring.score(evidence)
            if value <= to_beat:
                return
        if proposal.refined and value < MIN_REFINED_SCORE:
            return
        entity = self.index.entities[entity_number]
        corners = verification.mapped(_outline(prepared, transform), self.to_work) / self.scale
        in_image = verification.mapped(proposal.image_points, self.to_work) / self.scale
        pairs = np.hstack([proposal.reference_points, in_image]) if len(proposal.reference_points) else np.zeros((0, 4))
        self.best[entity_number] = Candidate(
            entity=entity.id,
            name=entity.name,
            variant=str(prepared.variant.path),
            mirrored=mirrored,
            score=round(value, 4),
            evidence=evidence,
            outline=tuple((round(float(x), 1), round(float(y), 1)) for x, y in corners),
            correspondences=tuple(tuple(round(float(v), 1) for v in row) for row in pairs),  # type: ignore[misc]
        )
        self.proposed[entity_number] = proposal


def _read_rings(ranking: _Ranking, hashed: np.ndarray | None, keep: int) -> None:
    """The candidates of round emblems rescored by what their rings read (see :func:`_read_ring`).

    Best first: every candidate a result lists (a seal of another name listed on its design
    alone looks like a second match to a reviewer), and beyond those any whose ring could still
    lift it above the best candidate read whose ring does not read otherwise (a ring read as the
    emblem's name raises a score, see ``scoring.raised_by_text``; one that reads otherwise lowers
    it). Most lie on a ring read already. Where the first ring read legibly reads another name,
    the library's other round emblems are placed on it (see :func:`_moved`)."""
    index, best, proposed = ranking.index, ranking.best, ranking.proposed
    copies: list[_ReadRing] = []
    read: dict[int, Candidate] = {}
    settled = float("-inf")
    moved = False
    while pending := [(n, c) for n, c in best.items() if read.get(n) is not c and c.score >= text.READ_FROM]:
        entity_number, candidate = max(pending, key=lambda item: item[1].score)
        listed = any(n == entity_number for n, _ in _ranked(best)[:keep])
        if not listed and scoring.raised_by_text(candidate.score) <= settled:
            break
        best[entity_number] = read[entity_number] = _read_ring(
            index, candidate, proposed[entity_number], ranking.work, ranking.pixel_size, copies
        )
        evidence = read[entity_number].evidence
        if not evidence.text_differs:
            settled = max(settled, read[entity_number].score)
        elif evidence.text_distance is not None and not moved and settled == float("-inf"):
            # Legibly another name, before any candidate kept its score: the library's other
            # round emblems, placed on its ring.
            moved = True
            for proposal in _moved(index, proposed[entity_number], hashed):
                ranking.consider(proposal)


def _ranked(best: dict[int, Candidate]) -> list[tuple[int, Candidate]]:
    """Each entity's best candidate, best first (ties by entity id)."""
    return sorted(best.items(), key=lambda item: (-item[1].score, item[1].entity))

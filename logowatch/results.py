"""What a check of one image found: :class:`Result`, the one value every front end reads.

A Result follows the scan contract (README, "Output"): ``path``, ``status`` (``ok`` or ``error``),
``match``, ``reference``, ``score``, ``threshold`` and, for a file that could not be read,
``error``; with the evidence for the best candidate and the scores of the next ones.
:meth:`Result.to_dict` is exactly one line of ``--format jsonl`` and :meth:`Result.from_dict` reads
it back, so that resuming, reports and the reviewer's tools never rebuild a row themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: ``status`` of a result whose image was read and matched against the library (a match or not).
OK = "ok"
#: ``status`` of a result whose file could not be read; ``error`` says why.
ERROR = "error"
#: What a result says, in one word (:attr:`Result.verdict`): a match, a picture a reviewer
#: cleared, no match, or a file that could not be read (:data:`ERROR`).
MATCH = "match"
ALLOWED = "allowed"
CLEAR = "clear"
#: Every verdict a result may have.
VERDICTS = (MATCH, CLEAR, ERROR, ALLOWED)


@dataclass(frozen=True)
class Evidence:
    """Why the best candidate scored what it did, in the image's own pixels."""

    #: The emblem image (a file of the reference library) that matched.
    variant: str
    mirrored: bool
    #: The signals that proposed the placement: ``keypoints``, ``phash``, ``ring``, ``regions``.
    signals: tuple[str, ...]
    edge_correlation: float
    #: Edge correlation of the emblem's interior, compared finely; None for an emblem that is all outline.
    interior_correlation: float | None
    inliers: int
    tentative_matches: int
    #: False when the keypoint matches did not pass the ratio test (look-alike matches).
    distinctive_matches: bool
    hash_distance: int | None
    #: The emblem's outline in the image: four (x, y) corners, in the original image's pixels.
    outline: tuple[tuple[float, float], ...]
    summary: str
    #: How far the image keeps the emblem's colours or its light and dark, 0..1; measured only
    #: for a placement that few keypoints vouch for (see ``scoring.needs_appearance``), else None,
    #: and None too for an emblem of flat grey or mostly out of sight.
    appearance_agreement: float | None = None
    #: True when the emblem was placed as seen at an angle: an affine placement found through an
    #: oblique view of it (see ``features.OBLIQUE_VIEWS``), or a placement found on a plane of the
    #: image seen at an angle, turned to face the viewer (see ``planes``).
    oblique_view: bool = False
    #: True when the placement was refined by aligning the emblem's edges with the image's, or its
    #: shape (and then its edges, where those converge): a homography fitted to a near miss, see
    #: ``verification.refine`` and ``verification.align_shapes``.
    refined_placement: bool = False
    #: The entity whose round emblem was found where this one was placed, when the placement was
    #: moved onto this emblem's ring from that one's, of the same design, whose text read
    #: otherwise (see ``matching._moved``); None otherwise.
    placed_as: str | None = None
    #: What the image's copy of a round emblem's ring reads, what the emblem's reads, and how far
    #: the copy's letters are from the emblem's in nats (see ``text.Comparison.distance``); None where
    #: they were not compared (no ring text, the text check off, or a candidate scoring under
    #: ``text.READ_FROM``), and all but ``text_expected`` where the copy was too small or
    #: blurred to read.
    text_read: str | None = None
    text_expected: str | None = None
    text_distance: float | None = None
    #: For a copy of a ring too small or blurred to read, how far its text is laid out as the
    #: emblem's is, -1..1 (see ``text.layout_agreement``); None otherwise.
    text_layout: float | None = None
    #: Verified correspondences, (emblem x, y, image x, y): emblem in the variant's working pixels,
    #: image in the original image's pixels. Kept in memory for evidence pictures, not written out.
    correspondences: tuple[tuple[float, float, float, float], ...] = field(default=(), compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "mirrored": self.mirrored,
            "signals": list(self.signals),
            "edge_correlation": self.edge_correlation,
            "interior_correlation": self.interior_correlation,
            "inliers": self.inliers,
            "tentative_matches": self.tentative_matches,
            "distinctive_matches": self.distinctive_matches,
            "hash_distance": self.hash_distance,
            "appearance_agreement": self.appearance_agreement,
            "oblique_view": self.oblique_view,
            "refined_placement": self.refined_placement,
            "placed_as": self.placed_as,
            "text_read": self.text_read,
            "text_expected": self.text_expected,
            "text_distance": self.text_distance,
            "text_layout": self.text_layout,
            "outline": [list(point) for point in self.outline],
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            variant=str(data["variant"]),
            mirrored=bool(data["mirrored"]),
            signals=tuple(str(s) for s in data.get("signals", ())),
            edge_correlation=float(data["edge_correlation"]),
            interior_correlation=None if data.get("interior_correlation") is None
            else float(data["interior_correlation"]),
            inliers=int(data["inliers"]),
            tentative_matches=int(data["tentative_matches"]),
            distinctive_matches=bool(data.get("distinctive_matches", True)),
            hash_distance=None if data.get("hash_distance") is None else int(data["hash_distance"]),
            outline=tuple((float(x), float(y)) for x, y in data.get("outline", ())),
            summary=str(data.get("summary", "")),
            appearance_agreement=None if data.get("appearance_agreement") is None
            else float(data["appearance_agreement"]),
            oblique_view=bool(data.get("oblique_view", False)),
            refined_placement=bool(data.get("refined_placement", False)),
            placed_as=None if data.get("placed_as") is None else str(data["placed_as"]),
            text_read=None if data.get("text_read") is None else str(data["text_read"]),
            text_expected=None if data.get("text_expected") is None else str(data["text_expected"]),
            text_distance=None if data.get("text_distance") is None else float(data["text_distance"]),
            text_layout=None if data.get("text_layout") is None else float(data["text_layout"]),
        )


@dataclass(frozen=True)
class Scored:
    """One entity's best score for an image: a line of a result's candidates."""

    reference: str
    name: str
    score: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "name": self.name, "score": self.score, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], threshold: float) -> Scored:
        reference = str(data["reference"])
        return cls(
            reference=reference,
            name=str(data.get("name") or reference),
            score=float(data["score"]),
            threshold=float(data.get("threshold", threshold)),
        )


@dataclass(frozen=True)
class Result:
    """The verdict on one image, with its evidence. Build one with the :class:`~logowatch.Detector`
    (or :meth:`failed` for a file that could not be read); read one back with :meth:`from_dict`."""

    path: str
    status: str
    #: True when the best candidate's score is at or above its threshold.
    match: bool
    #: The best candidate's entity id, or None when nothing resembled any emblem.
    reference: str | None
    #: That entity's display name.
    name: str | None
    #: The best candidate's score, 0..1; None only for a file that could not be read.
    score: float | None
    #: The threshold the verdict used (the best candidate's entity's own).
    threshold: float
    error: str | None = None
    evidence: Evidence | None = None
    candidates: tuple[Scored, ...] = ()
    #: The image's size as stored (upright), in pixels.
    width: int | None = None
    height: int | None = None
    #: How long the check took: a measurement, not part of what the result says (not compared).
    elapsed_ms: float | None = field(default=None, compare=False)
    #: SHA-256 of the file's bytes, for audits and deduplication.
    sha256: str | None = None
    #: Which library and preparation gave the scores (a prefix of ``ReferenceIndex.digest``).
    library: str | None = None
    #: True when a reviewer has cleared this picture (see :mod:`logowatch.allowlist`): then
    #: ``match`` is False whatever the score, and ``allowed_by`` names the cleared image.
    allowed: bool = False
    allowed_by: str | None = None
    #: The path of an earlier file of the same scan with the same bytes, whose result this repeats.
    duplicate_of: str | None = None

    @classmethod
    def failed(
        cls, path: str, reason: str, threshold: float, sha256: str | None = None, library: str | None = None
    ) -> Result:
        """The result for a file that could not be read: never a match, with the reason."""
        return cls(
            path=path, status=ERROR, match=False, reference=None, name=None, score=None,
            threshold=threshold, error=reason, sha256=sha256, library=library,
        )

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def verdict(self) -> str:
        """:data:`MATCH`, :data:`ALLOWED`, :data:`CLEAR` or :data:`ERROR`: what a summary counts."""
        if not self.ok:
            return ERROR
        return MATCH if self.match else (ALLOWED if self.allowed else CLEAR)

    def repeated_for(self, path: str) -> Result:
        """This result for ``path``, a later file with the same bytes."""
        return replace(self, path=path, duplicate_of=self.path, elapsed_ms=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of one ``--format jsonl`` line; the scan contract's fields first. Every
        row has every field, null where it does not apply: a reader with a strict schema needs
        no case for an error or a repeat."""
        return {
            "path": self.path,
            "status": self.status,
            "match": self.match,
            "reference": self.reference,
            "name": self.name,
            "score": self.score,
            "threshold": self.threshold,
            "error": self.error,
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
            "candidates": [c.to_dict() for c in self.candidates],
            "width": self.width,
            "height": self.height,
            "elapsed_ms": self.elapsed_ms,
            "sha256": self.sha256,
            "library": self.library,
            "allowed": self.allowed,
            "allowed_by": self.allowed_by,
            "duplicate_of": self.duplicate_of,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """A result read back from :meth:`to_dict`'s object. Raises ``KeyError``, ``TypeError`` or
        ``ValueError`` when ``data`` is not such an object."""
        threshold = float(data["threshold"])
        evidence = data.get("evidence")
        return cls(
            path=str(data["path"]),
            status=_status(data["status"]),
            match=bool(data["match"]),
            reference=None if data.get("reference") is None else str(data["reference"]),
            name=None if data.get("name") is None else str(data["name"]),
            score=None if data.get("score") is None else float(data["score"]),
            threshold=threshold,
            error=None if data.get("error") is None else str(data["error"]),
            evidence=None if not evidence else Evidence.from_dict(evidence),
            candidates=tuple(Scored.from_dict(c, threshold) for c in data.get("candidates") or ()),
            width=None if data.get("width") is None else int(data["width"]),
            height=None if data.get("height") is None else int(data["height"]),
            elapsed_ms=None if data.get("elapsed_ms") is None else float(data["elapsed_ms"]),
            sha256=None if data.get("sha256") is None else str(data["sha256"]),
            library=None if data.get("library") is None else str(data["library"]),
            allowed=bool(data.get("allowed", False)),
            allowed_by=None if data.get("allowed_by") is None else str(data["allowed_by"]),
            duplicate_of=None if data.get("duplicate_of") is None else str(data["duplicate_of"]),
        )


def _status(value: object) -> str:
    if value not in (OK, ERROR):
        raise ValueError(f"status must be {OK!r} or {ERROR!r}, not {value!r}")
    return str(value)

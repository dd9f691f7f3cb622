"""Evidence in, score and verdict out. Pure functions: no images, no I/O.

The score is the render-and-compare edge correlation of the best geometric hypothesis, in 0..1,
raised towards 1 when many distinctive keypoints agree on the placement and lowered when the
keypoints were ambiguous. A hypothesis only counts when something independent of that correlation
proposed it: enough keypoints agreeing on one transform, a near-identical perceptual hash, for a
round emblem a circle of the image that its ring was put on, or flat regions of the image that
agree with the emblem's in shape and place. This
keeps a lucky correlation somewhere in a busy photo from ever being reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from logowatch import regions

#: Default decision threshold on the score, chosen on the dev benchmark to keep its false positives
#: under 0.5% (see README, "Accuracy"); ``logowatch calibrate`` derives one for your own library.
DEFAULT_THRESHOLD = 0.55
#: Taken off the correlation of a hypothesis built from ambiguous matches (no ratio test): many
#: more such hypotheses are tried per image, so a chance alignment among them is likelier. The
#: penalty fades as more query keypoints agree on the placement, from its full value at
#: :data:`AMBIGUOUS_FADE_FROM` to none at that plus :data:`AMBIGUOUS_FADE_SPAN` (see
#: :func:`ambiguity_penalty`).
AMBIGUOUS_PENALTY = 0.15
AMBIGUOUS_FADE_FROM = 8
AMBIGUOUS_FADE_SPAN = 20
#: Distinctive inliers beyond which keypoints add to the score, how many more give the most they
#: add, and that most (see :func:`keypoint_support`).
KEYPOINT_SUPPORT_FROM = 12
KEYPOINT_SUPPORT_SPAN = 20
MAX_KEYPOINT_SUPPORT = 0.5
#: RANSAC inliers that a keypoint hypothesis needs to be considered at all: three, the fewest that
#: check a similarity transform (two fix it). A low-resolution avatar often has no more on its
#: emblem; verification decides, and such a thin placement scores :data:`FEW_INLIERS_PENALTY` lower.
MIN_INLIERS = 3
FEW_INLIERS_PENALTY = 0.05
#: Flat regions that agree on a placement they proposed (see ``regions``): one region of the image
#: and one of the emblem fix an affine placement, and another region of the image confirms it: the
#: fewest, scored as the fewest keypoints are (:data:`FEW_INLIERS_PENALTY` lower). Each region of
#: the image more that confirms it is a check of its own. On the 3,000 background images, no
#: placement that three or more regions agreed on scored above 0.61 against the dev emblems even
#: without the penalty; a flag seen at an angle that five agreed on scored 0.794 with it, under the
#: 0.8 that such a placement needs.
FEWEST_REGIONS = 1 + regions.MIN_CONFIRMATIONS
#: How far the whole emblem's edge correlation may exceed that of its interior (see
#: :func:`interior_cap`), once :data:`INTERIOR_SLACK_SPAN` keypoints more than the fewest
#: (:data:`MIN_INLIERS`) agree on the placement; none for a placement resting on the fewest.
INTERIOR_SLACK = 0.1
INTERIOR_SLACK_SPAN = 7
#: More slack, up to this, for a placement that distinctive keypoints support, from
#: :data:`INTERIOR_SUPPORT_FROM` inliers to that plus :data:`INTERIOR_SUPPORT_SPAN`.
INTERIOR_SUPPORT_SLACK = 0.1
INTERIOR_SUPPORT_FROM = 6
INTERIOR_SUPPORT_SPAN = 6
#: A placement that few keypoints vouch for (see :func:`needs_appearance`) scores this much lower
#: when the image under it agrees with the emblem less than :data:`APPEARANCE_AGREES` in colour
#: and in light and dark, either way round (see ``verification.appearance_agreement``).
APPEARANCE_PENALTY = 0.2
APPEARANCE_AGREES = 0.3
#: How far the interior's cap must fall below the edge correlation for the summary to say so.
INTERIOR_SAID_FROM = 0.01
#: Taken off a placement of a round emblem whose ring, in the image, legibly reads as other text
#: than the emblem's own (see ``text``): a seal of the same design with another body's name. The
#: copy reads as other text when its distance from the emblem's (``text.Comparison.distance``)
#: is above this many nats: the emblem's letters, where it has them, are e^8 (about 3,000) times
#: less likely than what the copy reads. In one run of the seals benchmark the 54 legible
#: copies of the right seal were 0 to 6.5 from its name (the most: a letter misread in a GIF),
#: the 54 legible seals of the same design with other names 11.3 or more from any reference's,
#: and no copy came within 8.8 of a name not its own (1,335 such comparisons).
TEXT_PENALTY = 0.5
MAX_TEXT_DISTANCE = 8.0
#: The same penalty for a copy too small or blurred to read whose text is laid out otherwise
#: than the emblem's (``text.layout_agreement`` under this): its letters elsewhere on the ring,
#: more or fewer of them. On the seals benchmark the 20 right copies too small to read agreed at
#: 0.83 to 0.92, the seals of other names placed as one of the references at 0.14 to 0.78, but
#: for three names as long as the reference's and sharing its first characters (0.86 to 0.90).
MIN_TEXT_LAYOUT = 0.8
#: Taken off a placement of a round emblem with text on its ring whose copy in the image the text
#: check could not read (too small or blurred) and whose layout did not differ: the name is what
#: says which body's seal this is, and unread, only the design and the layout of the letters say
#: it, which a seal of the same design whose name is as long and begins alike shares. On the
#: seals benchmark the three seals of other names so taken for a reference had scored 0.61 to
#: 0.70 on their design; the 20 right copies left unread, 0.63 to 0.93 (the one at 0.63 is lost to
#: this: recall 0.925 to 0.9125, other seals flagged 3 to 1).
UNREAD_TEXT_PENALTY = 0.1
#: Share of the gap to 1.0 that a ring's text closes where it legibly reads as the emblem's (its
#: distance within :data:`TEXT_SUPPORT_WITHIN`): a body's name read letter for letter where the
#: emblem has it says which seal this is as surely as a few dozen distinctive keypoints (see
#: :func:`keypoint_support`), which a seal's letters, small beside its ring and star, seldom
#: give. On the seals benchmark a seal stamped over a photo was placed at 0.43 with its name
#: read whole (0.72 with this); no seal with another name read within the distance.
TEXT_SUPPORT = 0.5
#: Where a copy reads that closely: the emblem's letters at most e^5 (about 150) times less
#: likely than what the copy reads freely. In the same run 51 of the 54 legible copies of the
#: right seal came within it (0 to 4.6; 5.4 and 6.5 with a letter misread, 6.2 with stray
#: characters read around the name), no copy within 8.8 of a name not its own; Latin seals of
#: other names drawn at 64 px for a new user's trial (DejaVu Sans Bold, sharing most of the
#: name: TOWN POLICE BUREAU, CITY PARKS BUREAU against CITY POLICE BUREAU) came within 8 at 6.8
#: and 7.7, and are left at their design's score.
TEXT_SUPPORT_WITHIN = 5.0


@dataclass(frozen=True)
class Evidence:
    """What was measured for one candidate."""

    edge_correlation: float
    inliers: int
    tentative: int
    hash_distance: int | None
    #: False when the keypoint matches behind the hypothesis did not pass the ratio test.
    distinctive: bool = True
    #: True when the placement was found through an oblique view of the emblem (an affine
    #: transform fitted to its matches, see ``features.OBLIQUE_VIEWS``).
    oblique: bool = False
    #: True when the placement was refined by aligning the emblem's edges with the image's, or its
    #: shape (and then its edges, where those converge): a homography, see ``verification.refine``
    #: and ``verification.align_shapes``.
    refined: bool = False
    #: The entity whose round emblem was found where this one was placed: its placement moved
    #: onto this emblem's ring, since its own ring read another name (see ``matching._moved``).
    placed_as: str | None = None
    #: True when a circle of the image proposed the placement: a round emblem's ring put on it
    #: (see ``matching._ring_proposals``).
    ring: bool = False
    #: How many of the emblem's flat regions agree in shape and place with the image's, where they
    #: proposed the placement (see ``regions``); 0 where they did not.
    regions: int = 0
    #: True when the placement was found, and measured, on a plane of the image seen at an angle
    #: (a card, a sign, a flag), turned to face the viewer (see ``planes``).
    plane: bool = False
    #: How fully the emblem lies inside the image, 0..1 (see ``verification.Comparison``).
    shown: float = 1.0
    #: Edge correlation of the emblem's interior, finely compared; None for an emblem that has
    #: no interior apart from its outline (see ``verification.interior_mask``).
    interior_correlation: float | None = None
    #: How far the image under the emblem keeps its colours or its light and dark, 0..1 (see
    #: ``verification.appearance_agreement``); None when not measured (see :func:`needs_appearance`).
    appearance_agreement: float | None = None
    #: What the image's copy of a round emblem's ring reads, what the emblem's own ring reads,
    #: and how far the copy's text is from the emblem's (see ``text.Comparison.distance``);
    #: None when not compared (no ring text, the text check off, or a candidate scoring under
    #: ``text.READ_FROM``), and all but ``text_expected`` where the copy was too small or
    #: blurred to read (then ``text_layout`` says how its text is laid out).
    text_read: str | None = None
    text_expected: str | None = None
    text_distance: float | None = None
    #: For a copy too small or blurred to read, how far its text is laid out as the emblem's is,
    #: -1..1 (see ``text.layout_agreement``); None otherwise.
    text_layout: float | None = None

    @property
    def text_differs(self) -> bool:
        """Whether the copy's ring legibly reads as other text than the emblem's, or, too small
        to read, has its text laid out otherwise."""
        if self.text_layout is not None:
            return self.text_layout < MIN_TEXT_LAYOUT
        return self.text_distance is not None and self.text_distance > MAX_TEXT_DISTANCE

    @property
    def text_unread(self) -> bool:
        """Whether the emblem has ring text that the copy shows too small or blurred to read, laid
        out as the emblem's or too faint to say (see :data:`UNREAD_TEXT_PENALTY`)."""
        return self.text_expected is not None and self.text_distance is None and not self.text_differs

    @property
    def text_supports(self) -> bool:
        """Whether the copy's ring legibly reads as the emblem's name, closely enough to raise
        the score (see :data:`TEXT_SUPPORT_WITHIN`)."""
        return self.text_distance is not None and self.text_distance <= TEXT_SUPPORT_WITHIN

    @property
    def proposed_by(self) -> tuple[str, ...]:
        """The signals that proposed this hypothesis."""
        signals = []
        if self.inliers >= MIN_INLIERS:
            signals.append("keypoints")
        if self.hash_distance is not None:
            signals.append("phash")
        if self.ring:
            signals.append("ring")
        if self.regions:
            signals.append("regions")
        return tuple(signals)


def score(evidence: Evidence) -> float:
    """0..1, higher is more alike. Zero when no independent signal proposed the hypothesis."""
    if not evidence.proposed_by:
        return 0.0
    value = min(evidence.edge_correlation, interior_cap(evidence))
    if looks_different(evidence):
        value -= APPEARANCE_PENALTY
    if not evidence.distinctive and evidence.hash_distance is None:
        value -= look_alike_penalty(evidence)
    elif rests_on_the_fewest(evidence):
        value -= FEW_INLIERS_PENALTY
    elif value > 0 and evidence.shown >= 1.0:
        # Only for an emblem in full view: a fragment of an emblem has as many distinctive matches
        # as the emblem, which say which emblem it comes from, not that the emblem is there.
        value += (1.0 - value) * keypoint_support(evidence.inliers)
    if evidence.text_differs:
        # Last: a seal of the same design shares every keypoint of the ring and the star.
        value -= TEXT_PENALTY
    elif evidence.text_supports and value > 0:
        value = raised_by_text(value)
    elif evidence.text_unread:
        value -= UNREAD_TEXT_PENALTY
    return min(1.0, max(0.0, value))


def raised_by_text(value: float) -> float:
    """A score once its ring reads as the emblem's name (see :data:`TEXT_SUPPORT`): the most that
    reading a ring can add to it."""
    return value + (1.0 - value) * TEXT_SUPPORT


def interior_cap(evidence: Evidence) -> float:
    """The most that the edge correlation may count for, given how well the emblem's interior
    correlates: up to :data:`INTERIOR_SLACK` above it, and up to :data:`INTERIOR_SUPPORT_SLACK`
    more where distinctive keypoints support the placement (counted down like the whole for a
    partial view).

    A disc, a rectangle or a shield with something inside is what a text avatar, a framed photo
    and many logos share; the outline's edges then carry the whole emblem's correlation, while
    what makes the emblem itself, inside, does not agree. A placement that three or four keypoints
    propose is where that happens (chance aligns a few corners of two silhouettes, hardly ever a
    dozen): its interior must agree as well as its whole. The slack grows with the keypoints that
    agree, and is whole for a placement the perceptual hash proposed (the image *is* the emblem).
    There is no slack at all for a placement through an oblique view: an affine transform, free to
    squash the emblem, fits a disc or a square with something inside onto another (a three-letter
    text avatar on a square onto a wordmark on a disc, on the background benchmark); nor for one
    refined by aligning edges, a homography freer still; nor for one found on a plane of the image
    turned to face the viewer, which a homography turned. No cap for an emblem with no interior."""
    if evidence.interior_correlation is None:
        return 1.0
    free = evidence.oblique or evidence.refined or evidence.plane
    slack = 0.0 if free else INTERIOR_SLACK
    if evidence.hash_distance is None:
        slack *= _ramp(evidence.inliers, MIN_INLIERS, INTERIOR_SLACK_SPAN)
    if evidence.distinctive and not free:
        # A dozen matches, each closer to this emblem than to any other, vouch for more than the
        # silhouette: the interior may then fall further behind (a caption across it).
        slack += INTERIOR_SUPPORT_SLACK * _ramp(evidence.inliers, INTERIOR_SUPPORT_FROM, INTERIOR_SUPPORT_SPAN)
    return (evidence.interior_correlation + slack) * evidence.shown


def needs_appearance(evidence: Evidence) -> bool:
    """Whether the placement rests on edges more than on keypoints: no perceptual hash proposed
    it, and fewer than :data:`KEYPOINT_SUPPORT_FROM` distinctive keypoints agree on it. Its
    colours and light and dark are then compared with the emblem's (see :func:`looks_different`)."""
    return evidence.hash_distance is None and (evidence.inliers < KEYPOINT_SUPPORT_FROM or not evidence.distinctive)


def looks_different(evidence: Evidence) -> bool:
    """A placement that rests on edges (see :func:`needs_appearance`) over which the image keeps
    neither the emblem's colours nor its light and dark, either way round.

    A flag of three stripes in other colours, a letter on a disc taken for a wordmark on a disc,
    a diagonal in a photo taken for a flag's: their edges fall where the emblem's do, and a few
    keypoints agree by chance. A recoloured, greyed or inverted emblem keeps one of the two."""
    return (
        needs_appearance(evidence)
        and evidence.appearance_agreement is not None
        and evidence.appearance_agreement < APPEARANCE_AGREES
    )


def keypoint_support(inliers: int) -> float:
    """Share of the gap to 1.0 that distinctive keypoints agreeing on one placement close, 0..0.5.

    A dozen agreeing matches can happen between look-alikes; several dozen, each closer to
    this emblem than to any other entity's, cannot, even when a heavy recolouring or a blur
    leaves the edges correlating weakly. The correlation is still needed: with none, there is
    no score to raise."""
    return MAX_KEYPOINT_SUPPORT * _ramp(inliers, KEYPOINT_SUPPORT_FROM, KEYPOINT_SUPPORT_SPAN)


def look_alike_penalty(evidence: Evidence) -> float:
    """What :func:`score` takes off a placement for resting on look-alike matches (no ratio test):
    the :func:`ambiguity_penalty` of its inliers, unless a perceptual hash proposed it too."""
    if evidence.distinctive or evidence.hash_distance is not None:
        return 0.0
    return ambiguity_penalty(evidence.inliers)


def ambiguity_penalty(inliers: int) -> float:
    """What a placement built from ambiguous matches loses, 0..:data:`AMBIGUOUS_PENALTY`.

    The penalty pays for the many more such placements tried per image, among which one may
    align by chance. Chance makes a few keypoints agree, hardly ever dozens: a blurred emblem
    whose every keypoint also resembles another emblem's (a wordmark, a flag sharing a canton)
    still has them all agree on its one placement. The correlation alone then decides."""
    return AMBIGUOUS_PENALTY * (1.0 - _ramp(inliers, AMBIGUOUS_FADE_FROM, AMBIGUOUS_FADE_SPAN))


def _ramp(count: int, start: float, span: float) -> float:
    """0 up to ``start``, rising linearly to 1 at ``start + span``, 1 beyond."""
    return min(1.0, max(0.0, (count - start) / span))


def rests_on_the_fewest(evidence: Evidence) -> bool:
    """Whether nothing but the fewest distinctive keypoints (:data:`MIN_INLIERS`) or flat regions
    (:data:`FEWEST_REGIONS`) vouch for the placement, with no perceptual hash proposing it too: it
    then scores :data:`FEW_INLIERS_PENALTY` lower."""
    return (
        evidence.distinctive
        and evidence.hash_distance is None
        and evidence.inliers <= MIN_INLIERS
        and evidence.regions <= FEWEST_REGIONS
    )


def is_match(value: float, threshold: float) -> bool:
    """Whether a score reports a match at ``threshold``: at it or above."""
    return value >= threshold


def explain(evidence: Evidence) -> str:
    """One line, in plain words, of why a candidate scored what it did."""
    parts = []
    if evidence.plane:
        parts.append(
            "placed on a plane of the image seen at an angle (a card, a sign, a flag), turned to face the viewer"
        )
    if evidence.inliers:
        kind = "keypoint matches"
        if not evidence.distinctive:
            kind = "look-alike keypoint matches" + (" (scored lower)" if look_alike_penalty(evidence) > 0 else "")
        if evidence.oblique:
            kind += " of the emblem seen at an angle"
        lower = f" (scored {FEW_INLIERS_PENALTY:g} lower)" if rests_on_the_fewest(evidence) else ""
        parts.append(f"{evidence.inliers} of {evidence.tentative} {kind} agree on one placement{lower}")
    if evidence.hash_distance is not None:
        parts.append(f"perceptual hash {evidence.hash_distance}/64 bits from the emblem")
    if evidence.ring:
        penalty = look_alike_penalty(evidence)
        lower = f" (scored {penalty:g} lower, as look-alike matches are)" if penalty > 0 else ""
        parts.append(f"its ring put on a circle of the image{lower}")
    if evidence.regions:
        lower = f" (scored {FEW_INLIERS_PENALTY:g} lower)" if rests_on_the_fewest(evidence) else ""
        parts.append(f"{evidence.regions} of its flat regions agree with the image's in shape and place{lower}")
    refined = " (the placement refined to fit them)" if evidence.refined else ""
    if evidence.placed_as is not None:
        refined += f" (placed on the ring where {evidence.placed_as}'s emblem was found)"
    parts.append(f"edges correlate at {evidence.edge_correlation:.2f} once aligned{refined}")
    if interior_cap(evidence) < evidence.edge_correlation - INTERIOR_SAID_FROM:
        parts.append(f"inside its outline only at {evidence.interior_correlation:.2f} (scored as such)")
    if looks_different(evidence):
        parts.append(
            f"neither its colours nor its light and dark agree ({evidence.appearance_agreement:.2f}; "
            f"scored {APPEARANCE_PENALTY:g} lower)"
        )
    if evidence.text_layout is not None:
        unread = f"the emblem's ring reads '{evidence.text_expected}', its copy here is too small or blurred to read"
        if evidence.text_differs:
            parts.append(
                f"{unread} and its text is laid out otherwise ({evidence.text_layout:.2f}; "
                f"scored {TEXT_PENALTY:g} lower)"
            )
        else:
            parts.append(
                f"{unread}; its text is laid out as the emblem's ({evidence.text_layout:.2f}; "
                f"unread, scored {UNREAD_TEXT_PENALTY:g} lower)"
            )
    elif evidence.text_differs:
        parts.append(
            f"its ring reads '{evidence.text_read}', not '{evidence.text_expected}' (scored {TEXT_PENALTY:g} lower)"
        )
    elif evidence.text_expected is not None and evidence.text_distance is None:
        parts.append(
            f"the emblem's ring reads '{evidence.text_expected}', its copy here is too small or blurred to read or "
            f"to show how its text is laid out: only its design was compared (scored {UNREAD_TEXT_PENALTY:g} lower)"
        )
    elif evidence.text_distance is not None:
        parts.append(
            f"its ring's letters fit the emblem's '{evidence.text_expected}' where it has them "
            f"({evidence.text_distance:.1f} nats; read freely: '{evidence.text_read}'"
            + ("; scored higher)" if evidence.text_supports else ")")
        )
    return "; ".join(parts)

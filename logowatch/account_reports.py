"""Writers of account verdicts (``logowatch accounts``): JSON lines, CSV, a terminal table, and the accounts report.

The streamed formats are the scan's writers (:mod:`logowatch.reports`) given verdicts; the HTML report is this
module's own page, built from the scan report's pieces. Data flows one way: this module reads from
:mod:`logowatch.reports` and :mod:`logowatch.evidence`, never the reverse.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import IO

from logowatch.accounts import AVATAR, CLEAR, IMPERSONATION, OFFICIAL, AccountImage, AccountVerdict
from logowatch.display import padded, printable
from logowatch.reports import (
    NEAR_MISS_SHARE,
    NEAR_MISSES,
    PICTURE_SIDE,
    REPORT_STYLE,
    CsvWriter,
    HtmlWriter,
    JsonLinesWriter,
    Pictures,
    StreamWriter,
    Writer,
    controls,
    entity_cell,
    entity_choices,
    file_link,
    is_near_miss,
    open_output,
    reason_text,
    report_page,
    report_target,
    results_table,
    section,
    sortable,
    summary,
)

#: Columns of the accounts CSV format; nested fields (the name claim, the images) as JSON in their cell.
ACCOUNT_CSV_FIELDS = (
    "platform", "account_id", "verdict", "entity", "entity_name", "reason", "handle", "display_name", "line",
    "error", "entities", "threshold", "library", "name", "images",
)
#: Where account verdicts go. ``streamed`` writers put each verdict out as it comes.
AccountWriter = Writer[AccountVerdict]


class AccountTableWriter(StreamWriter):
    """A human-readable line per account, for a terminal: the verdict, the body, the account and why."""

    def __init__(self, stream: IO[str], name: str = "<stdout>") -> None:
        super().__init__(stream, name)
        self.out.put(f"{'verdict':13} {'entity':28} {'account':24} display name / reason\n")

    def write(self, verdict: AccountVerdict) -> None:
        shown = (verdict.verdict or "ERROR").upper() if verdict.verdict != CLEAR else "-"
        account = printable(f"{verdict.platform}:{verdict.account_id}")
        text = verdict.error if verdict.error is not None else f"{verdict.display_name}  ({verdict.reason})"
        entity = padded(printable(verdict.entity or ""), 28)
        self.out.put(f"{shown:13} {entity} {padded(account, 24)} {printable(text)}\n")


def open_account_writer(
    output_format: str, output: Path | None, *, append: bool, references: str, threshold: float
) -> tuple[AccountWriter, IO[str] | None]:
    """The account writer of ``output_format`` to ``output`` (standard output when None), and the file it
    opened, for the caller to close. Raises :class:`OutputError` when the file cannot be opened."""
    if output_format == "html":
        return HtmlWriter(report_target(output), references, threshold, render_accounts_html), None
    stream, name, opened = open_output(output, append=append)
    writer: AccountWriter
    if output_format == "jsonl":
        writer = JsonLinesWriter(stream, name)
    elif output_format == "csv":
        writer = CsvWriter(stream, name, fields=ACCOUNT_CSV_FIELDS)
    else:
        writer = AccountTableWriter(stream, name)
    return writer, opened


#: Side, in pixels, of an impersonation's avatar that carries no emblem (one that does is drawn as a scan
#: report draws a match), and of an official account's avatar.
AVATAR_SIDE = 120
OFFICIAL_AVATAR_SIDE = 48
#: Pixels between two pictures side by side (the style's ``.shot`` gap).
PICTURE_GAP = 6

_ACCOUNT_STYLE = REPORT_STYLE + """
h3{font-size:15px;margin:18px 0 6px}h3 .id{font-weight:400;color:#666;font-size:12px}
section.group table{table-layout:fixed}
section.group th:nth-child(3){width:150px}section.group th:nth-child(4){width:72px}
td.pics{padding:6px 4px}.shot{display:flex;gap:6px;align-items:flex-start}.shot+.shot{margin-top:8px}
.shot figure{margin:0;width:200px}.shot a{display:block;outline-offset:2px}
.shot img{display:block;width:200px;height:200px;object-fit:contain;background:#e8e8e8}
.shot img.avatar{width:120px;height:120px}.shot figure.avatar{width:120px}
figcaption{font-size:12px;color:#555;text-align:center;overflow-wrap:anywhere}
.note{margin:0;font-size:12px;color:#555}
td.avatar{width:48px}img.small{display:block;width:48px;height:48px;object-fit:contain;background:#e8e8e8}
td.name{min-width:220px;overflow-wrap:anywhere}td.name bdi{font-weight:600}mark{background:#ffe08a;padding:0 1px}
p.how{margin:2px 0 0;color:#555;font-size:12px}p.reason{margin:4px 0 0;font-size:13px}
p.files{margin:4px 0 0;font-size:12px;color:#555}p.files span.image{display:block}
td.account{font-family:ui-monospace,monospace;font-size:12px;overflow-wrap:anywhere;min-width:130px}
"""


def marked_name(display_name: str, span: tuple[int, int] | None) -> str:
    """The display name as HTML, escaped, with the characters of ``span`` (the claimed name) in ``<mark>``."""
    if span is None:
        return escape(display_name)
    start, end = span
    return (
        f"{escape(display_name[:start])}<mark>{escape(display_name[start:end])}</mark>{escape(display_name[end:])}"
    )


def _best(images: list[AccountImage]) -> AccountImage | None:
    """The image that scored highest, or None without a scored image."""
    scored = [image for image in images if image.result.score is not None and image.result.reference is not None]
    return max(scored, key=lambda image: image.result.score or 0.0, default=None)


def _matched(verdict: AccountVerdict, entity: str | None = None) -> AccountImage | None:
    """The best image that matched ``entity``; where none is given, the body the account is listed
    under, else the best that matched another (an account whose images carry two bodies' emblems).
    Under a body it claims by name alone, none: another body's emblem is no evidence of it."""
    matched = [image for image in verdict.images if image.result.ok and image.result.match]
    if entity is not None:
        return _best([image for image in matched if image.result.reference == entity])
    return _best([image for image in matched if image.result.reference == verdict.entity] or matched)


def _near(verdict: AccountVerdict) -> AccountImage | None:
    return _best([image for image in verdict.images if is_near_miss(image.result)])


def _closest(verdict: AccountVerdict) -> AccountImage | None:
    return _best([image for image in verdict.images if image.result.ok])


def _score(image: AccountImage | None) -> str:
    return "" if image is None or image.result.score is None else f"{image.result.score:.3f}"


def _strength(image: AccountImage | None) -> float:
    return 0.0 if image is None else image.result.score or 0.0


class _AccountPage:
    """Builds the rows of the accounts report, numbering them, and drawing their pictures with the scan
    report's :class:`~logowatch.reports.Pictures` (each emblem once; evidence pictures for the page's end)."""

    def __init__(self) -> None:
        self.pictures = Pictures()
        self.numbers: Iterator[int] = itertools.count(1)
        #: The most pictures drawn side by side for one image, which the pictures' column is made wide for.
        self.abreast = 1

    def row(self, verdict: AccountVerdict, kind: str, cells: list[str], about: AccountImage | None,
            number: int | None = None, entity: str | None = None) -> str:
        """A row (``number``, by default the next): the data its table sorts and filters by (``about``: the image
        whose score it shows; ``entity``: the body, by default the account's, else ``about``'s), then ``cells``."""
        number = next(self.numbers) if number is None else number
        entity = entity or verdict.entity or (about.result.reference if about is not None else None) or ""
        return (
            f'<tr id="r{number}" class="{kind}" data-order="{number}" data-entity="{escape(entity)}" '
            f'data-score="{_score(about)}" data-name="{escape(verdict.display_name)}" '
            f'data-account="{escape(verdict.platform)} {escape(verdict.account_id)}">' + "".join(cells) + "</tr>"
        )

    def pictured_row(self, verdict: AccountVerdict, kind: str, shown: list[AccountImage], cells: list[str],
                     about: AccountImage | None, entity: str | None = None) -> str:
        """A row whose first cell pictures ``shown`` (see :meth:`_pictures_cell`), then ``cells``; listed under
        ``entity`` (by default the body the account is listed under)."""
        number = next(self.numbers)
        entity = entity or verdict.entity
        return self.row(verdict, kind, [self._pictures_cell(number, shown, entity), *cells], about, number, entity)

    def _pictures_cell(self, number: int, shown: list[AccountImage], entity: str | None) -> str:
        """The pictures of ``shown`` in row ``number`` of an account taken for ``entity`` (None for a clear
        one): an image that carries an emblem, or nearly carries ``entity``'s (any emblem's, for a clear
        account), as the scan report draws it (outlined, a crop around the emblem, the emblem, a click to the
        evidence); an avatar without one, smaller; an image that cannot be read, a note. (Another body's
        emblem nearly found on an account that claims a name is not evidence about it.)"""
        shots = []
        for index, image in enumerate(shown, start=1):
            result = image.result
            near = is_near_miss(result) and entity in (None, result.reference)
            if not result.ok:
                shots.append(f'<p class="note">{escape(image.role)}: could not be read</p>')
            elif result.match or near:
                shots.append(self._drawn(image, f"{number}-{index}", f"r{number}"))
            else:
                uri = self.pictures.small(result, AVATAR_SIDE)
                picture = (f'<img class="avatar" alt="the {escape(image.role)}" src="{uri}">' if uri is not None
                           else '<p class="note">no picture: the file could not be read again</p>')
                shots.append(f'<div class="shot"><figure class="avatar">{picture}'
                             f"<figcaption>{escape(image.role)}: no emblem</figcaption></figure></div>")
        if not shots:
            shots.append('<p class="note">no image</p>')
        return f'<td class="pics">{"".join(shots)}</td>'

    def _drawn(self, image: AccountImage, anchor: str, back: str) -> str:
        result = image.result
        shown = self.pictures.shown(result, anchor, back)
        figures = []
        if shown.image is not None:
            click = " (click: evidence)" if shown.evidence else ""
            figures.append(f"<figure>{shown.image}<figcaption>{escape(image.role)}{click}</figcaption></figure>")
        if shown.problem is not None:
            figures.append(f'<figure><p class="note">{escape(image.role)}: {escape(shown.problem)}</p></figure>')
        if shown.crop is not None:
            figures.append(f"<figure>{shown.crop}<figcaption>around the emblem</figcaption></figure>")
        if shown.emblem is not None:
            whose = "emblem of" if result.match else "closest emblem:"
            figures.append(f"<figure>{shown.emblem}<figcaption>{whose} {escape(result.name or '')} "
                           f"{_score(image)}</figcaption></figure>")
        self.abreast = max(self.abreast, len(figures))
        return f'<div class="shot">{"".join(figures)}</div>'

    def small_avatar_cell(self, verdict: AccountVerdict) -> str:
        avatar = next((image for image in verdict.images if image.role == AVATAR and image.result.ok), None)
        uri = None if avatar is None else self.pictures.small(avatar.result, OFFICIAL_AVATAR_SIDE)
        picture = "" if uri is None else f'<img class="small" alt="the avatar" src="{uri}">'
        return f'<td class="avatar">{picture}</td>'


def _name_cell(verdict: AccountVerdict, reason: bool = True) -> str:
    """The display name, the claimed name marked, and how it was written (the tricks, and how it reads once
    normalised); the reason (where ``reason``); a link to each image file."""
    claim = verdict.name
    how = ""
    if claim is not None and claim.tricks:
        how = (f'<p class="how">written: {escape(", ".join(claim.tricks))}; reads '
               f"\u201c{escape(claim.normalised)}\u201d</p>")
    span = claim.span if claim is not None else None
    said = f'<p class="reason">{escape(verdict.reason)}</p>' if reason else ""
    return f'<td class="name"><bdi>{marked_name(verdict.display_name, span)}</bdi>{how}{said}{_files(verdict)}</td>'


def _account_cell(verdict: AccountVerdict) -> str:
    handle = f" @{escape(verdict.handle.lstrip('@'))}" if verdict.handle.strip('@ ') else ""
    return (f'<td class="account">{escape(verdict.platform)} {escape(verdict.account_id)}{handle}'
            f'<br><span class="muted">line {verdict.line}</span></td>')


def _files(verdict: AccountVerdict) -> str:
    """A link to each image file, or, for one that could not be read, why."""
    parts = []
    for image in verdict.images:
        result = image.result
        shown = file_link(result.path, image.given) if result.ok else (
            f'<span class="path">{escape(image.given)}</span> <span class="error">{escape(reason_text(result))}</span>'
        )
        parts.append(f'<span class="image">{escape(image.role)} {shown}</span>')
    return f'<p class="files">{"".join(parts)}</p>' if parts else ""


def render_accounts_html(verdicts: list[AccountVerdict], references: str, threshold: float, started: str) -> str:
    """The accounts report page, for reviewing. Sections, each only when it has rows:

    - the impersonations, grouped by the body each pretends to be (most impersonated first; an account that
      pretends to be several, by name and by emblem, is listed under each), the strongest emblem evidence
      first: each image that carries an emblem as the scan report draws a match (outlined, a crop around a
      small emblem, the reference emblem, a click to the evidence picture), an avatar without one smaller;
      the display name with the claimed name marked and how it was written; the reason;
    - the official accounts, with a small avatar;
    - the near misses: the few clear accounts (:data:`~logowatch.reports.NEAR_MISSES`) whose image scored
      closest below the threshold, pictured as matches are;
    - every other clear account, as text, so that a large manifest stays light;
    - the rows that could not be decided, and why.
    """
    impersonations = [v for v in verdicts if v.verdict == IMPERSONATION]
    official = sorted((v for v in verdicts if v.verdict == OFFICIAL), key=lambda v: (v.entity or "", v.line))
    clear = sorted((v for v in verdicts if v.verdict == CLEAR), key=lambda v: v.line)
    errors = [v for v in verdicts if v.verdict is None]
    near = sorted(((v, image) for v in clear if (image := _near(v)) is not None),
                  key=lambda pair: (-_strength(pair[1]), pair[0].line))[:NEAR_MISSES]
    near_ids = {id(v) for v, _ in near}
    others = [v for v in clear if id(v) not in near_ids]
    names = {str(i.result.reference): str(i.result.name) for v in verdicts for i in v.images if i.result.reference}
    names |= {str(v.entity): str(v.entity_name or v.entity) for v in verdicts if v.entity}
    by_body: defaultdict[str, list[AccountVerdict]] = defaultdict(list)
    for verdict in impersonations:
        for entity in verdict.entities or (str(verdict.entity),):
            by_body[entity].append(verdict)
    per_entity = Counter({entity: len(members) for entity, members in by_body.items()})
    groups = sorted(per_entity, key=lambda e: (-per_entity[e], e))
    anchors = {entity: f"g{n}" for n, entity in enumerate(groups, start=1)}
    page = _AccountPage()

    def impersonation_row(verdict: AccountVerdict, entity: str) -> str:
        shown = [image for image in verdict.images if image.role == AVATAR or image.result.match]
        best = _matched(verdict, entity)
        return page.pictured_row(verdict, IMPERSONATION, shown, [
            _name_cell(verdict), _account_cell(verdict), f'<td class="score">{_score(best)}</td>',
        ], best, entity)

    def near_row(verdict: AccountVerdict, image: AccountImage) -> str:
        return page.pictured_row(verdict, "near", [image], [
            _name_cell(verdict, reason=False), _account_cell(verdict),
            entity_cell(image.result.reference, image.result.name), f'<td class="score">{_score(image)}</td>',
        ], image)

    sections = []
    if impersonations:
        groups_rows = {}
        for entity in groups:
            members = sorted(by_body[entity], key=lambda v: (-_strength(_matched(v, entity)), v.line))
            groups_rows[entity] = [impersonation_row(v, entity) for v in members]
        # Every group's columns line up: the pictures' column is as wide as the widest row of pictures.
        wide = page.abreast * (PICTURE_SIDE + PICTURE_GAP) - PICTURE_GAP
        head = (f'<th style="width:{wide}px">images and emblems (click: evidence)</th>'
                f"{sortable('display name, why, files', 'name')}{sortable('account', 'account')}"
                f"{sortable('score', 'score', 'score')}")
        blocks = []
        for entity, rows in groups_rows.items():
            table = results_table(f"{anchors[entity]}-table", head, rows)
            blocks.append(
                f'<section class="group" id="{anchors[entity]}" data-entity="{escape(entity)}">'
                f'<h3>{escape(names[entity])} <span class="id">({escape(entity)})</span>: {len(rows):,}</h3>'
                f"{table}</section>"
            )
        sections.append(section(
            "impersonations", f"Impersonations ({len(impersonations):,})",
            "Grouped by the body each account pretends to be, an account that pretends to be several under each; "
            "the strongest emblem evidence first. Click an image "
            "for the evidence: the emblem beside the image, the keypoints that agree, and the outline.",
            "\n".join(blocks),
        ))
    if official:
        head = (f"<th>avatar</th>{sortable('body', 'entity')}{sortable('display name, why, files', 'name')}"
                f"{sortable('account', 'account')}")
        rows = [page.row(v, OFFICIAL, [page.small_avatar_cell(v), entity_cell(v.entity, v.entity_name),
                                       _name_cell(v), _account_cell(v)], None) for v in official]
        sections.append(section(
            "official", f"Official accounts ({len(official):,})",
            "Listed among a body's official accounts in its entity.json: never flagged, whatever the name or avatar.",
            results_table("official-table", head, rows),
        ))
    if near:
        head = (f"<th>closest image (click: evidence)</th>{sortable('display name, files', 'name')}"
                f"{sortable('account', 'account')}{sortable('closest emblem', 'entity')}"
                f"{sortable('score', 'score', 'score')}")
        sections.append(section(
            "near-misses", f"Near misses ({len(near):,})",
            "Clear accounts whose image scored closest below the threshold (at least "
            f"{NEAR_MISS_SHARE:.0%} of it), for a second look.",
            results_table("near-table", head, [near_row(v, image) for v, image in near]),
        ))
    if others:
        head = (f"{sortable('display name, files', 'name')}{sortable('account', 'account')}"
                f"{sortable('closest emblem', 'entity')}{sortable('score', 'score')}")
        rows = []
        for v in others:
            closest = _closest(v)
            rows.append(page.row(v, CLEAR, [
                _name_cell(v, reason=v.unreadable_images > 0 or any(i.result.allowed for i in v.images)),
                _account_cell(v),
                entity_cell(None, None) if closest is None else entity_cell(closest.result.reference,
                                                                            closest.result.name),
                f'<td class="score">{_score(closest)}</td>',
            ], closest))
        sections.append(section(
            "clear", f"{'Other clear' if near else 'Clear'} accounts ({len(others):,})",
            "No body's name in the display name and no emblem in any image (but one a reviewer cleared, where the "
            "reason says so). Without pictures, to keep the page "
            "light; <code>logowatch check --evidence why.png FILE</code> draws one.",
            results_table("clear-table", head, rows),
        ))
    if errors:
        rows_html = "\n".join(
            f'<tr><td>{v.line}</td><td class="account">{escape(v.platform)} {escape(v.account_id)}</td>'
            f'<td class="error">{escape(v.error or "")}</td></tr>'
            for v in errors
        )
        sections.append(
            f'<h2 id="errors">Rows that could not be decided ({len(errors):,})</h2>\n'
            '<table id="error-table"><thead><tr><th>line</th><th>account</th><th>reason</th></tr></thead>'
            f"<tbody>\n{rows_html}\n</tbody></table>"
        )
    entity_list, options = entity_choices(per_entity, names, "impersonations per body", anchors)
    counts = [("accounts", len(verdicts)), ("impersonations", len(impersonations)), ("official", len(official)),
              ("clear", len(clear)), ("not decided", len(errors)),
              ("unreadable images", sum(v.unreadable_images for v in verdicts))]
    body = [summary(counts, references, threshold, ("run", started), entity_list)]
    body += [controls("Body", options, len(verdicts) - len(errors), min_score=False)] if options else []
    return report_page(
        f"logowatch accounts: {len(impersonations):,} impersonations in {len(verdicts):,} accounts",
        "logowatch accounts report", _ACCOUNT_STYLE, "\n".join([*body, *sections, *page.pictures.lightboxes]),
    )

"""Writers of account verdicts (``logowatch accounts``): JSON lines, CSV, a terminal table, and the accounts report.

The streamed formats are the scan's writers (:mod:`logowatch.reports`) given verdicts; the HTML report is this
module's own page, built from the scan report's pieces. Data flows one way: this module reads from
:mod:`logowatch.reports` and :mod:`logowatch.evidence`, never the reverse.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from pathlib import Path
from typing import IO

from logowatch.accounts import CLEAR, IMPERSONATION, OFFICIAL, AccountVerdict
from logowatch.reports import (
    _STYLE,
    REFERENCE_THUMBNAIL_SIDE,
    THUMBNAIL_SIDE,
    CsvWriter,
    HtmlWriter,
    JsonLinesWriter,
    StreamWriter,
    Writer,
    _now,
    _thumbnail_of,
    open_output,
    printable,
    report_target,
)

#: Columns of the accounts CSV format; nested fields (the name claim, the images) as JSON in their cell.
ACCOUNT_CSV_FIELDS = (
    "platform", "account_id", "verdict", "entity", "entity_name", "reason", "handle", "display_name", "line",
    "error", "entities", "threshold", "library", "name", "images",
)
#: The order of the accounts report's sections: impersonations first, undecided rows last.
ACCOUNT_SECTIONS = (IMPERSONATION, OFFICIAL, CLEAR)

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
        self.out.put(f"{shown:13} {printable(verdict.entity or ''):28} {account:24} {printable(text)}\n")


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


_ACCOUNT_STYLE = _STYLE + """
tr.impersonation td.verdict{color:#b42318;font-weight:700}tr.official td.verdict{color:#1a7f37;font-weight:700}
td.images{white-space:nowrap}td.images figure{display:inline-block;margin:0 6px 0 0;vertical-align:top}
td.images figcaption{font-size:11px;color:#666;max-width:96px;overflow:hidden;text-overflow:ellipsis}
td.name{max-width:320px;word-break:break-word}mark{background:#ffe08a;padding:0 1px}
td.reason{max-width:480px;font-size:13px}.account{font-family:ui-monospace,monospace;font-size:12px}
"""

_ACCOUNT_SCRIPT = """
(function(){
  var entity=document.getElementById('entity'), shown=document.getElementById('shown');
  function apply(){
    var e=entity.value, n=0;
    document.querySelectorAll('#accounts tbody tr').forEach(function(r){
      var ok=!e||r.dataset.entity===e; r.hidden=!ok; if(ok){n++;}
    });
    shown.textContent=n;
  }
  entity.addEventListener('change',apply); apply();
})();
"""


def marked_name(display_name: str, span: tuple[int, int] | None) -> str:
    """The display name as HTML, escaped, with the characters of ``span`` (the claimed name) in ``<mark>``."""
    if span is None:
        return escape(display_name)
    start, end = span
    return (
        f"{escape(display_name[:start])}<mark>{escape(display_name[start:end])}</mark>{escape(display_name[end:])}"
    )


def render_accounts_html(verdicts: list[AccountVerdict], references: str, threshold: float, started: str) -> str:
    """The accounts report page: impersonations first, then official accounts, then clear ones, then the rows
    that could not be read. Impersonations and official accounts show each image beside the emblem it carries
    (data URIs); clear accounts show none, so that a large manifest stays light."""
    sections = {verdict: [v for v in verdicts if v.verdict == verdict] for verdict in ACCOUNT_SECTIONS}
    errors = [v for v in verdicts if v.verdict is None]
    for verdict in (IMPERSONATION, OFFICIAL):
        sections[verdict].sort(key=lambda v: (v.entity or "", v.line))
    sections[CLEAR].sort(key=lambda v: v.line)
    names = {str(v.entity): str(v.entity_name or v.entity) for v in verdicts if v.entity}
    per_entity = Counter(str(v.entity) for v in sections[IMPERSONATION])
    emblem_uris: dict[str, str] = {}

    def emblem_uri(variant: str) -> str:
        if variant not in emblem_uris:
            emblem_uris[variant] = _thumbnail_of(variant, REFERENCE_THUMBNAIL_SIDE)
        return emblem_uris[variant]

    def images_cell(verdict: AccountVerdict) -> str:
        figures = []
        for image in verdict.images:
            result = image.result
            if image.role != "avatar" and not result.match:
                continue  # thumbnails are many; only those that carry an emblem are shown
            uri = _thumbnail_of(result.path, THUMBNAIL_SIDE) if result.ok else ""
            picture = f'<img class="thumb" alt="{escape(image.role)}" src="{escape(uri)}">' if uri else ""
            caption = escape(image.role if result.ok else f"{image.role}: unreadable")
            figures.append(f"<figure>{picture}<figcaption>{caption}</figcaption></figure>")
            if result.match and result.evidence is not None:
                emblem = emblem_uri(result.evidence.variant)
                if emblem:
                    figures.append(
                        f'<figure><img class="ref" alt="emblem" src="{escape(emblem)}">'
                        f"<figcaption>{escape(result.reference or '')} {result.score:.2f}</figcaption></figure>"
                    )
        return "".join(figures)

    def account_row(verdict: AccountVerdict, with_images: bool) -> str:
        label = str(verdict.verdict)
        entity = verdict.entity or ""
        entity_cell = f"{escape(verdict.entity_name or '')}<br><span class=\"evidence\">{escape(entity)}</span>"
        span = verdict.name.span if verdict.name is not None else None
        return (
            f'<tr class="{escape(label)}" data-entity="{escape(entity)}">'
            f'<td class="verdict">{escape(label)}</td>'
            f'<td class="images">{images_cell(verdict) if with_images else ""}</td>'
            f"<td>{entity_cell if entity else ''}</td>"
            f'<td class="name"><bdi>{marked_name(verdict.display_name, span)}</bdi>'
            f'<div class="account">{escape(verdict.platform)} {escape(verdict.account_id)}'
            f"{' @' + escape(verdict.handle) if verdict.handle else ''}</div></td>"
            f'<td class="reason">{escape(verdict.reason)}</td>'
            "</tr>"
        )

    ordered = sorted(per_entity.items(), key=lambda item: (-item[1], item[0]))
    options = "".join(f'<option value="{escape(e)}">{escape(names[e])} ({escape(e)}): {n}</option>'
                      for e, n in ordered)
    entity_list = "".join(f"<li>{escape(names[e])} ({escape(e)})<b>{n}</b></li>" for e, n in ordered)
    rows = [account_row(v, True) for v in sections[IMPERSONATION]]
    rows += [account_row(v, True) for v in sections[OFFICIAL]]
    rows += [account_row(v, False) for v in sections[CLEAR]]
    error_rows = "".join(
        f'<tr><td class="path">{v.line}</td><td class="account">{escape(v.platform)} {escape(v.account_id)}</td>'
        f'<td class="error">{escape(v.error or "")}</td></tr>'
        for v in errors
    )
    error_section = (
        f"<h2>Rows that could not be decided ({len(errors)})</h2>\n"
        '<table id="errors"><thead><tr><th>line</th><th>account</th><th>reason</th></tr></thead>'
        f"<tbody>{error_rows}</tbody></table>"
        if errors
        else ""
    )
    unreadable = sum(v.unreadable_images for v in verdicts)
    impersonations = len(sections[IMPERSONATION])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>logowatch accounts: {impersonations} impersonations in {len(verdicts)} accounts</title>
<style>{_ACCOUNT_STYLE}</style></head><body>
<h1>logowatch accounts report</h1>
<div class="summary">
<dl><dt>accounts</dt><dd>{len(verdicts)}</dd><dt>impersonations</dt><dd>{impersonations}</dd>
<dt>official</dt><dd>{len(sections[OFFICIAL])}</dd><dt>clear</dt><dd>{len(sections[CLEAR])}</dd>
<dt>not decided</dt><dd>{len(errors)}</dd><dt>unreadable images</dt><dd>{unreadable}</dd></dl>
<dl><dt>threshold</dt><dd>{threshold:g}</dd><dt>reference library</dt><dd>{escape(references)}</dd>
<dt>run started</dt><dd>{escape(started)}</dd><dt>report written</dt><dd>{escape(_now())}</dd></dl>
<ul class="entities" title="impersonations per body">{entity_list or "<li>no impersonation</li>"}</ul>
</div>
<h2>Accounts</h2>
<div class="controls">
<label>Body <select id="entity"><option value="">all</option>{options}</select></label>
<span><span id="shown">{len(rows)}</span> rows shown</span>
</div>
<table id="accounts"><thead><tr><th>verdict</th><th>images and emblems</th><th>body</th>
<th>display name and account</th><th>why</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
{error_section}
<script>{_ACCOUNT_SCRIPT}</script>
</body></html>
"""

"""Result rows out: JSON lines, CSV and a terminal table.

Every writer writes and flushes one row at a time, so that what a scan has done is on disk if it
is killed, and so that ``--resume`` can carry on from it.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections import Counter
from datetime import datetime, timezone
from html import escape
from typing import IO, Any

from PIL import Image

from logowatch.errors import ImageLoadError
from logowatch.loading import load_image

#: Columns of the CSV and table formats; nested fields are written as JSON in their cell.
CSV_FIELDS = (
    "path", "status", "match", "reference", "name", "score", "threshold", "error",
    "width", "height", "elapsed_ms", "candidates", "evidence",
)


class JsonLinesWriter:
    """One JSON object per line, UTF-8, flushed after each."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: nested structures as JSON, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CsvWriter:
    """The same fields as JSON lines, one row per image, with a header."""

    def __init__(self, stream: IO[str], header: bool = True) -> None:
        self.stream = stream
        self.writer = csv.writer(stream)
        if header:
            self.writer.writerow(CSV_FIELDS)
            stream.flush()

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow([csv_cell(row.get(field)) for field in CSV_FIELDS])
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class TableWriter:
    """A human-readable line per image, for a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.stream.write(f"{'verdict':8} {'score':>6}  {'reference':26} path\n")

    def write(self, row: dict[str, Any]) -> None:
        if row.get("status") == "error":
            line = f"{'ERROR':8} {'':>6}  {'':26} {row.get('error') or row['path']}"
        else:
            verdict = "MATCH" if row.get("match") else "-"
            score = row.get("score")
            shown = f"{score:.3f}" if isinstance(score, (int, float)) else ""
            line = f"{verdict:8} {shown:>6}  {row.get('reference') or ''!s:26} {row['path']}"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


THUMBNAIL_SIDE = 96
REFERENCE_THUMBNAIL_SIDE = 64

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:16px 24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}
.summary{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start;background:#fff;border:1px solid #ddd;
padding:12px 16px}
.summary dl{margin:0;display:grid;grid-template-columns:auto auto;gap:2px 12px;align-content:start}
.entities{margin:0;padding:0;list-style:none;columns:3 220px;max-height:168px;overflow:auto;flex:1}
.entities li{break-inside:avoid}.entities b{margin-left:6px}
.summary dt{color:#666}.summary dd{margin:0;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e5e5e5;padding:6px 8px;text-align:left;vertical-align:middle}
th{position:sticky;top:0;background:#f0f0f0;z-index:1}
td.path{word-break:break-all;max-width:420px;font-family:ui-monospace,monospace;font-size:12px}
td.score{font-variant-numeric:tabular-nums}
img.thumb{width:96px;height:96px;object-fit:contain;background:#eee;display:block}
img.ref{width:64px;height:64px;object-fit:contain;background:#fff;display:block}
tr.match td.verdict{color:#1a7f37;font-weight:700}tr.clear td.verdict{color:#888}
.controls{margin:12px 0;display:flex;gap:16px;align-items:center}
.evidence{color:#555;font-size:12px}.error{color:#b42318}
"""

_SCRIPT = """
(function(){
  var entity=document.getElementById('entity'), score=document.getElementById('minscore');
  var shown=document.getElementById('shown');
  function apply(){
    var e=entity.value, s=parseFloat(score.value)||0, n=0;
    document.querySelectorAll('#results tbody tr').forEach(function(r){
      var ok=(!e||r.dataset.entity===e)&&(parseFloat(r.dataset.score)||0)>=s;
      r.hidden=!ok; if(ok){n++;}
    });
    shown.textContent=n;
  }
  entity.addEventListener('change',apply); score.addEventListener('input',apply); apply();
})();
"""


def data_uri(rgb: Any, side: int) -> str:
    """A small JPEG thumbnail of an RGB array as a data URI, to embed in a self-contained page."""

    image = Image.fromarray(rgb)
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class HtmlWriter:
    """A self-contained HTML report: summary, matches first by score, then the rest, then errors.

    Images are embedded as small data-URI thumbnails (matches and their emblems only, so that
    10,000 rows stay light); there is no external resource of any kind, and every string taken
    from a file name or a result is escaped. Rows are collected and the page is written at
    :meth:`close`, since the matches must come first: use JSON lines for a crash-proof record.
    """

    def __init__(self, stream: IO[str], references: str, threshold: float) -> None:
        self.stream = stream
        self.references = references
        self.threshold = threshold
        self.rows: list[dict[str, Any]] = []
        self.started = _now()

    def write(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def close(self) -> None:
        self.stream.write(render_html(self.rows, self.references, self.threshold, self.started))
        self.stream.flush()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _thumbnail_of(path: str, side: int) -> str:
    try:
        return data_uri(load_image(path, max_side=4 * side).composited(), side)
    except ImageLoadError:
        return ""


def render_html(rows: list[dict[str, Any]], references: str, threshold: float, started: str) -> str:
    """The report page for ``rows`` (scan results), as one string."""
    ok = [r for r in rows if r.get("status") == "ok"]
    errors = [r for r in rows if r.get("status") != "ok"]
    matches = sorted((r for r in ok if r.get("match")), key=lambda r: (-float(r.get("score") or 0), r["path"]))
    clear = sorted((r for r in ok if not r.get("match")), key=lambda r: (-float(r.get("score") or 0), r["path"]))
    per_entity = Counter(str(r.get("reference")) for r in matches)
    names = {str(r.get("reference")): str(r.get("name") or r.get("reference")) for r in matches}
    emblem_uris: dict[str, str] = {}

    def emblem_uri(row: dict[str, Any]) -> str:
        variant = (row.get("evidence") or {}).get("variant")
        if not variant:
            return ""
        if variant not in emblem_uris:
            emblem_uris[variant] = _thumbnail_of(variant, REFERENCE_THUMBNAIL_SIDE)
        return emblem_uris[variant]

    def result_row(row: dict[str, Any], with_images: bool) -> str:
        matched = bool(row.get("match"))
        entity = str(row.get("reference") or "")
        score = row.get("score")
        score_text = f"{score:.3f}" if isinstance(score, (int, float)) else ""
        evidence = (row.get("evidence") or {}).get("summary", "")
        thumb = emblem = ""
        if with_images:
            uri = _thumbnail_of(row["path"], THUMBNAIL_SIDE)
            thumb = f'<img class="thumb" alt="image" src="{escape(uri)}">' if uri else ""
            ref_uri = emblem_uri(row)
            emblem = f'<img class="ref" alt="emblem" src="{escape(ref_uri)}">' if ref_uri else ""
        name = escape(str(row.get("name") or ""))
        return (
            f'<tr class="{"match" if matched else "clear"}" data-entity="{escape(entity)}" '
            f'data-score="{escape(score_text)}">'
            f'<td class="verdict">{"MATCH" if matched else "no match"}</td>'
            f"<td>{thumb}</td><td>{emblem}</td>"
            f'<td>{name}<br><span class="evidence">{escape(entity)}</span></td>'
            f'<td class="score">{escape(score_text)}</td>'
            f'<td class="path">{escape(row["path"])}<div class="evidence">{escape(str(evidence))}</div></td>'
            "</tr>"
        )

    options = "".join(
        f'<option value="{escape(e)}">{escape(names[e])} ({escape(e)}): {n}</option>'
        for e, n in sorted(per_entity.items(), key=lambda item: (-item[1], item[0]))
    )
    entity_list = "".join(
        f"<li>{escape(names[e])} ({escape(e)})<b>{n}</b></li>"
        for e, n in sorted(per_entity.items(), key=lambda item: (-item[1], item[0]))
    ) or "<li>no entity matched</li>"
    body_rows = [result_row(r, True) for r in matches] + [result_row(r, False) for r in clear]
    error_rows = "".join(
        f'<tr><td class="path">{escape(r["path"])}</td><td class="error">{escape(str(r.get("error") or ""))}</td></tr>'
        for r in errors
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>logowatch report: {len(matches)} matches in {len(rows)} images</title>
<style>{_STYLE}</style></head><body>
<h1>logowatch report</h1>
<div class="summary">
<dl><dt>images</dt><dd>{len(rows)}</dd><dt>matches</dt><dd>{len(matches)}</dd>
<dt>no match</dt><dd>{len(clear)}</dd><dt>unreadable</dt><dd>{len(errors)}</dd></dl>
<dl><dt>threshold</dt><dd>{threshold:g}</dd><dt>reference library</dt><dd>{escape(references)}</dd>
<dt>scan started</dt><dd>{escape(started)}</dd><dt>report written</dt><dd>{escape(_now())}</dd></dl>
<ul class="entities" title="matches per entity">{entity_list}</ul>
</div>
<h2>Results</h2>
<div class="controls">
<label>Entity <select id="entity"><option value="">all</option>{options}</select></label>
<label>Minimum score <input id="minscore" type="number" min="0" max="1" step="0.05" value="0"></label>
<span><span id="shown">{len(body_rows)}</span> rows shown</span>
</div>
<table id="results"><thead><tr><th>verdict</th><th>image</th><th>emblem</th><th>entity</th>
<th>score</th><th>file and evidence</th></tr></thead>
<tbody>
{chr(10).join(body_rows)}
</tbody></table>
<h2>Files that could not be read ({len(errors)})</h2>
<table id="errors"><thead><tr><th>file</th><th>reason</th></tr></thead><tbody>{error_rows}</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""

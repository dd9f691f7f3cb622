"""Writers of results: JSON lines, CSV, a terminal table, and a self-contained HTML report.

Every writer takes results and nothing else. Streamed formats (jsonl, csv, table) write
and flush each row as it comes, so a killed scan keeps what it finished; the HTML report needs
every row before it can sort them, so it is written to a temporary file at the end and renamed
into place: an interrupted scan never leaves an empty or half report over an old one. A failed
write raises :class:`OutputError` naming the file.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar

from PIL import Image

from logowatch.display import columns, padded, printable
from logowatch.errors import ImageLoadError, LogowatchError, OutputError
from logowatch.evidence import emblem_crop, picture, thumbnail
from logowatch.files import check_writable, is_special_file, json_line, write_atomically
from logowatch.loading import DEFAULT_MAX_SIDE, LoadedImage, load_image
from logowatch.results import Result

logger = logging.getLogger(__name__)

#: Output formats, and the file endings that choose them when ``--format`` is not given.
FORMATS = ("jsonl", "csv", "table", "html")
FORMAT_OF_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".html": "html",
                    ".htm": "html", ".txt": "table"}
#: Columns of the CSV format; nested fields are written as JSON in their cell.
CSV_FIELDS = (
    "path", "status", "match", "reference", "name", "score", "threshold", "error",
    "width", "height", "elapsed_ms", "sha256", "library", "allowed", "allowed_by", "duplicate_of",
    "candidates", "evidence",
)


#: What a writer takes: a :class:`Result` for ``scan``, an account verdict for ``accounts``.
Row = TypeVar("Row")
_Taken = TypeVar("_Taken", contravariant=True)


class Writer(Protocol[_Taken]):
    """Where rows go. ``streamed`` writers put each row out as it comes."""

    streamed: bool

    def write(self, row: _Taken) -> None: ...

    def close(self) -> None:
        """Finish the output; everything written is in place."""

    def abort(self) -> None:
        """Stop early: streamed rows stay; a report written at the end is not written."""


def format_for(output: Path | None, given: str | None, terminal: bool) -> str:
    """The output format: the one given (with a warning where the output's ending names
    another), else the output's ending says (JSON lines, with a warning, for an ending it does
    not know, but for a pipe or a device), else a table on a terminal and JSON lines anywhere
    else."""
    if given is not None:
        named = None if output is None else FORMAT_OF_SUFFIX.get(output.suffix.lower())
        if named is not None and named != given:
            logger.warning("%s: its ending says %s, but --format %s is written into it", output, named, given)
        return given
    if output is not None:
        if output.suffix.lower() not in FORMAT_OF_SUFFIX and not is_special_file(output):
            logger.warning("%s: its ending names no format; writing JSON lines (--format chooses one)", output)
        return FORMAT_OF_SUFFIX.get(output.suffix.lower(), "jsonl")
    return "table" if terminal else "jsonl"


class _Stream:
    """A text stream and the name its write errors are reported under."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self.stream = stream
        self.name = name

    def put(self, text: str) -> None:
        try:
            try:
                self.stream.write(text)
            except UnicodeEncodeError:
                # A file name that is not valid UTF-8 (kept by Python as lone surrogates): its
                # undecodable bytes are written as escapes rather than stopping the scan.
                self.stream.write(text.encode("utf-8", "backslashreplace").decode("utf-8"))
            self.stream.flush()
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise  # the reader went away (| head): not a failure to report
            raise OutputError(f"{self.name}: cannot write: {exc.strerror or exc}; what was written is kept") from exc

    def settle(self) -> None:
        """Flush what can be flushed when stopping early; a failure here was reported already."""
        with contextlib.suppress(OSError):
            self.stream.flush()


class _Dictable(Protocol):
    """A row that writes itself as one JSON object: a :class:`Result`, an account verdict."""

    def to_dict(self) -> dict[str, Any]: ...


class StreamWriter:
    """What the streamed writers share: each row is written and flushed as it comes, so that a killed run
    keeps what it finished."""

    streamed = True

    def __init__(self, stream: IO[str], name: str = "<stdout>") -> None:
        self.out = _Stream(stream, name)

    def close(self) -> None:
        self.out.put("")

    def abort(self) -> None:
        self.out.settle()


class JsonLinesWriter(StreamWriter):
    """One JSON object per line, UTF-8, flushed after each."""

    def write(self, row: _Dictable) -> None:
        self.out.put(json_line(row.to_dict()))


#: What a spreadsheet takes a cell beginning with for a formula (see :func:`csv_cell`), and what
#: so begins without being one: a signed number (a Telegram channel's id, -1001234567890) or a
#: handle (@valport_police), which stay as they are, to join with the manifest and the JSON.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NO_FORMULA = re.compile(r"[-+]?\d[\d.,]*|@[\w.]+")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: nested structures as JSON, None as an empty cell. Text that a
    spreadsheet would run as a formula gets a ``'`` before it, which spreadsheets show as text:
    display names are chosen by the impersonators, and ``=HYPERLINK(...)`` would otherwise be a
    link to their page in the analyst's spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not NO_FORMULA.fullmatch(value):
        return "'" + value
    return str(value)


class CsvWriter(StreamWriter):
    """The same fields as JSON lines (``fields`` of them, in that order), one row per line, with a header."""

    def __init__(
        self, stream: IO[str], name: str = "<stdout>", header: bool = True, fields: tuple[str, ...] = CSV_FIELDS
    ) -> None:
        super().__init__(stream, name)
        self.fields = fields
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        if header:
            self._row(fields)

    def _row(self, cells: Any) -> None:
        self.writer.writerow(cells)
        self.out.put(self.buffer.getvalue())
        self.buffer.seek(0)
        self.buffer.truncate()

    def write(self, row: _Dictable) -> None:
        cells = row.to_dict()
        self._row([csv_cell(cells.get(field)) for field in self.fields])


#: The table's reference column: this wide at least, and as wide as the library's longest entity id
#: up to the most (a longer one pushes its row's path along).
REFERENCE_WIDTH = 26
MAX_REFERENCE_WIDTH = 60


class TableWriter(StreamWriter):
    """A human-readable line per image, for a terminal. A row judged against another threshold than
    the run's (``threshold``: an entity calibrated to a threshold of its own) says which. The
    reference column is ``width`` wide (see :data:`REFERENCE_WIDTH`)."""

    def __init__(
        self, stream: IO[str], name: str = "<stdout>", threshold: float | None = None, width: int = REFERENCE_WIDTH
    ) -> None:
        super().__init__(stream, name)
        self.threshold = threshold
        self.width = width
        self.out.put(f"{'verdict':8} {'score':>6}  {'reference':{width}} path\n")

    def write(self, result: Result) -> None:
        width = self.width
        if not result.ok:
            line = f"{'ERROR':8} {'':>6}  {'':{width}} {printable(result.error or result.path)}"
        else:
            verdict = result.verdict.upper() if result.verdict != "clear" else "-"
            shown = f"{result.score:.3f}" if result.score is not None else ""
            reference = padded(printable(result.reference or ""), width)
            line = f"{verdict:8} {shown:>6}  {reference} {printable(result.path)}"
            if result.reference is not None and self.threshold is not None and result.threshold != self.threshold:
                line += f"  (its threshold {result.threshold:.2f})"
        self.out.put(line + "\n")


#: Side, in pixels, of each picture the report shows of a match or a near miss: the whole image with the
#: emblem outlined, the crop around the emblem, and the reference emblem.
PICTURE_SIDE = 200
#: How many of the best-scoring images below the threshold the report shows with their pictures.
NEAR_MISSES = 5
#: A near miss scores at least this share of its threshold; anything lower is not near.
NEAR_MISS_SHARE = 0.5
#: JPEG quality of the small pictures and of the evidence pictures a click opens.
PICTURE_QUALITY = 85
EVIDENCE_QUALITY = 75
#: What a report may load: images from its own data URIs, its own inline style and script, nothing else.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

#: The reports' style (scans and accounts). File names wrap anywhere (they have no spaces to wrap at); evidence is
#: prose and wraps between words only.
REPORT_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:16px 24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:28px 0 4px}h2+p.about{margin:0 0 8px;color:#555}
.summary{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start;background:#fff;border:1px solid #ddd;
padding:12px 16px}
.summary dl{margin:0;display:grid;grid-template-columns:auto auto;gap:2px 12px;align-content:start}
.entities{margin:0;padding:0;list-style:none;display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));
gap:4px 16px;align-content:start;max-height:168px;overflow-y:auto;flex:1 1 460px}
.entities b{margin-left:6px}
.summary dt{color:#666}.summary dd{margin:0;font-weight:600;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e5e5e5;padding:6px 8px;text-align:left;vertical-align:middle}
th{position:sticky;top:0;background:#f0f0f0;z-index:1;white-space:nowrap}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;color:#124e9c}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
td.pic{width:200px;padding:6px 4px}td.pic img{display:block;width:200px;height:200px;object-fit:contain;
background:#e8e8e8}td.pic a{display:block;outline-offset:2px}
td.pic .note{width:200px;margin:0;text-align:center;font-size:12px;color:#555}
td.entity .id,.muted{color:#666;font-size:12px}
td.score{font-variant-numeric:tabular-nums;white-space:nowrap}
td.file{min-width:260px;max-width:520px}#error-table td.path{min-width:240px;max-width:420px}
a.path,td.path{font-family:ui-monospace,monospace;font-size:12px;overflow-wrap:anywhere;color:#124e9c}
p.evidence{margin:4px 0 0;color:#444;font-size:13px}
td.verdict{white-space:nowrap}td.entity{min-width:140px}
tr.match td.verdict{color:#1a7f37;font-weight:700}tr.near td.verdict,tr.clear td.verdict{color:#777}
tr.allowed td.verdict{color:#8a5a00;font-weight:700}
.controls{margin:12px 0;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.error{color:#b42318}
.lightbox{display:none;position:fixed;inset:0;z-index:10;background:rgba(20,20,20,.85);
align-items:center;justify-content:center}
.lightbox:target{display:flex}.lightbox .backdrop{position:absolute;inset:0}
.lightbox figure{position:relative;margin:0;background:#fff;padding:8px;max-width:96vw}
.lightbox img{display:block;max-width:calc(96vw - 16px);max-height:calc(92vh - 48px)}
.lightbox figcaption{padding-top:6px;display:flex;gap:16px;justify-content:space-between}
"""

#: The reports' script: filter by entity (and minimum score, where the page has one), sort a table by a
#: column, Escape closes an evidence picture back to its row. A filter hides whole groups of another entity
#: too (``section.group``). Inline, as the page's Content-Security-Policy allows nothing else.
REPORT_SCRIPT = """
(function(){
  var entity=document.getElementById('entity'), score=document.getElementById('minscore');
  var shown=document.getElementById('shown');
  var rows=[].slice.call(document.querySelectorAll('table.results tbody tr'));
  var groups=[].slice.call(document.querySelectorAll('section.group'));
  function apply(){
    var e=entity.value, s=score?parseFloat(score.value)||0:0, n=0;
    rows.forEach(function(r){
      var ok=(!e||r.dataset.entity===e)&&(parseFloat(r.dataset.score)||0)>=s;
      r.hidden=!ok; if(ok){n++;}
    });
    groups.forEach(function(g){g.hidden=!!e&&g.dataset.entity!==e;});
    shown.textContent=n;
  }
  function sort(button){
    var th=button.parentNode, table=th.closest('table'), key=button.dataset.key, body=table.tBodies[0];
    var now=th.getAttribute('aria-sort'), down=now==='none'?key==='score':now==='ascending';
    table.querySelectorAll('th[aria-sort]').forEach(function(h){h.setAttribute('aria-sort','none');});
    th.setAttribute('aria-sort',down?'descending':'ascending');
    [].slice.call(body.rows).sort(function(a,b){
      var x=a.dataset[key]||'', y=b.dataset[key]||'';
      var c=key==='score'?(parseFloat(x)||0)-(parseFloat(y)||0):x.localeCompare(y);
      return (down?-c:c)||(a.dataset.order-b.dataset.order);
    }).forEach(function(r){body.appendChild(r);});
  }
  document.querySelectorAll('table.results th button[data-key]').forEach(function(b){
    b.addEventListener('click',function(){sort(b);});
  });
  document.addEventListener('keydown',function(ev){
    var open=ev.key==='Escape'&&location.hash.indexOf('#ev')===0&&document.getElementById(location.hash.slice(1));
    if(open){location.hash=open.querySelector('a.backdrop').getAttribute('href');}
  });
  if(entity){entity.addEventListener('change',apply);if(score){score.addEventListener('input',apply);}apply();}
})();
"""


class HtmlWriter(Generic[Row]):
    """A self-contained HTML report that ``render`` makes of every row (:func:`render_html` for a scan:
    summary, matches first by score, the best near misses, then the rest, then errors).

    Pictures are embedded as data URIs (for the matches and the few near misses only, so that
    10,000 rows stay light); there is no external resource of any kind, and every string taken
    from a file name or a result is escaped. Rows are collected and the page is written at
    :meth:`close`, since the matches must come first: to a temporary file beside ``target`` that
    is then renamed into place (or to ``stream``). Use JSON lines for a crash-proof record.
    """

    streamed = False

    def __init__(
        self, target: Path | IO[str], references: str, threshold: float,
        render: Callable[[list[Row], str, float, str], str],
    ) -> None:
        self.target = target
        self.references = references
        self.threshold = threshold
        self.render = render
        self.rows: list[Row] = []
        self.started = _now()

    def write(self, row: Row) -> None:
        self.rows.append(row)

    def close(self) -> None:
        page = self.render(self.rows, self.references, self.threshold, self.started)
        if not isinstance(self.target, Path):
            _Stream(self.target, "<stdout>").put(page)
            return
        write_atomically(self.target, page)

    def abort(self) -> None:
        """Nothing is written: an old report at the target stays as it was."""


def open_writer(
    output_format: str,
    output: Path | None,
    *,
    append: bool,
    references: str,
    threshold: float,
    entities: Sequence[str] = (),
) -> tuple[Writer[Result], IO[str] | None]:
    """The writer of ``output_format`` to ``output`` (standard output when None), and the file
    it opened, for the caller to close; a table's reference column fits the ids of ``entities``
    (see :data:`REFERENCE_WIDTH`). Raises :class:`OutputError` when the file cannot be opened."""
    if output_format == "html":
        return HtmlWriter(report_target(output), references, threshold, render_html), None
    stream, name, opened = open_output(output, append=append)
    writer: Writer[Result]
    if output_format == "jsonl":
        writer = JsonLinesWriter(stream, name)
    elif output_format == "csv":
        writer = CsvWriter(stream, name)
    else:
        longest = max((columns(printable(entity)) for entity in entities), default=0)
        writer = TableWriter(stream, name, threshold, min(max(REFERENCE_WIDTH, longest), MAX_REFERENCE_WIDTH))
    return writer, opened


def report_target(output: Path | None) -> Path | IO[str]:
    """Where an HTML report goes: ``output``, which must be writable (the report is written when
    the run ends, and a run of hours must not end in 'cannot write'), or standard output."""
    if output is None:
        return sys.stdout
    check_writable(output)
    return output


def open_output(output: Path | None, *, append: bool) -> tuple[IO[str], str, IO[str] | None]:
    """The stream a streamed writer writes to (``output``, or standard output when None), the name its
    errors are reported under, and the file opened, for the caller to close."""
    if output is None:
        return sys.stdout, "<stdout>", None
    try:
        stream = output.open("a" if append else "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise OutputError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    return stream, str(output), stream


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def jpeg_uri(image: Image.Image, quality: int = PICTURE_QUALITY) -> str:
    """A picture as a JPEG data URI, to embed in a self-contained page."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def file_uri(path: str) -> str:
    """The ``file://`` URI of ``path``, made absolute, with every character that a URI cannot hold escaped."""
    return Path(os.path.abspath(path)).as_uri()


def file_link(path: str, text: str | None = None) -> str:
    """A link to the file at ``path``, showing ``text`` (by default the path), both escaped."""
    return f'<a class="path" href="{escape(file_uri(path))}">{escape(path if text is None else text)}</a>'


@dataclass(frozen=True)
class _Drawn:
    """The report's pictures of one result, as data URIs; or why there are none."""

    image: str | None = None
    crop: str | None = None
    evidence: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Shown:
    """A result's pictures as HTML, for a report to lay out: the image with the emblem outlined (a link to
    its evidence picture when there is one), the crop around the emblem, the reference emblem; each None when
    there is none, and ``problem`` (a note) when the image could not be drawn."""

    image: str | None = None
    crop: str | None = None
    emblem: str | None = None
    problem: str | None = None
    evidence: bool = False


class Pictures:
    """Draws a report's pictures, each reference emblem once however many rows show it, and keeps the
    evidence pictures (:attr:`lightboxes`) that a click on an image opens."""

    def __init__(self) -> None:
        self.emblems: dict[str, str | None] = {}
        #: The evidence pictures, each a hidden element that its link's target shows; for the end of the page.
        self.lightboxes: list[str] = []

    def emblem(self, variant: str) -> str | None:
        if variant not in self.emblems:
            try:
                drawn = thumbnail(load_image(variant, max_side=4 * PICTURE_SIDE), PICTURE_SIDE)
                self.emblems[variant] = jpeg_uri(drawn)
            except ImageLoadError:
                self.emblems[variant] = None
        return self.emblems[variant]

    def of(self, result: Result) -> _Drawn:
        """The image with the emblem outlined, the crop around the emblem, and the evidence picture."""
        loaded = _scanned(result)
        if isinstance(loaded, str):
            return _Drawn(problem=f"no pictures: {loaded}")
        crop = emblem_crop(loaded, result, PICTURE_SIDE)
        try:
            evidence = jpeg_uri(picture(loaded.composited(), result), EVIDENCE_QUALITY)
        except LogowatchError as exc:  # the reference emblem is gone
            logger.warning("%s: no evidence picture: %s", result.path, exc)
            evidence = None
        return _Drawn(
            image=jpeg_uri(thumbnail(loaded, PICTURE_SIDE, result)),
            crop=None if crop is None else jpeg_uri(crop),
            evidence=evidence,
        )

    def shown(self, result: Result, anchor: str, back: str) -> Shown:
        """``result``'s pictures as HTML. Its evidence picture goes to :attr:`lightboxes` as ``#ev{anchor}``,
        opened by a click on the image and closed back to ``#{back}`` (the row)."""
        drawn = self.of(result)
        emblem = self.emblem(result.evidence.variant) if result.evidence is not None else None
        emblem_tag = None if emblem is None else f'<img alt="the reference emblem" src="{emblem}">'
        if drawn.problem is not None or drawn.image is None:
            return Shown(emblem=emblem_tag, problem=drawn.problem)
        image = f'<img alt="the image, the emblem outlined" src="{drawn.image}">'
        if drawn.evidence is not None:
            image = f'<a href="#ev{anchor}" title="open the evidence picture">{image}</a>'
            self.lightboxes.append(
                f'<div class="lightbox" id="ev{anchor}"><a class="backdrop" href="#{back}" aria-label="close"></a>'
                f'<figure><img alt="evidence picture of {escape(result.path)}" src="{drawn.evidence}">'
                f'<figcaption><span class="path">{escape(result.path)}</span>'
                f'<a href="#{back}">close (Esc)</a></figcaption></figure></div>'
            )
        crop = None if drawn.crop is None else f'<img alt="the image around the emblem" src="{drawn.crop}">'
        return Shown(image=image, crop=crop, emblem=emblem_tag, evidence=drawn.evidence is not None)

    def small(self, result: Result, side: int) -> str | None:
        """The image of ``result`` fitted into ``side`` pixels, without an outline, as a data URI; None when it
        cannot be drawn (unreadable, or changed since it was scanned)."""
        loaded = _scanned(result, max_side=4 * side)
        return None if isinstance(loaded, str) else jpeg_uri(thumbnail(loaded, side))


def _scanned(result: Result, max_side: int = DEFAULT_MAX_SIDE) -> LoadedImage | str:
    """The image ``result`` was made of, loaded again, or why it cannot be: unreadable now, or other bytes."""
    try:
        loaded = load_image(result.path, max_side=max_side)
    except ImageLoadError as exc:
        return str(exc)
    if result.sha256 is not None and loaded.sha256 != result.sha256:
        return "the file has changed since it was scanned"
    return loaded


def _by_score(result: Result) -> tuple[float, str]:
    return -(result.score or 0.0), result.path


def is_near_miss(result: Result) -> bool:
    """Below its threshold, yet scoring at least :data:`NEAR_MISS_SHARE` of it (and not cleared)."""
    return (
        result.ok and not result.match and not result.allowed and result.reference is not None
        and result.score is not None and result.score > 0 and result.score >= NEAR_MISS_SHARE * result.threshold
    )


def sortable(label: str, key: str, sorted_by: str | None = None) -> str:
    """A column header that sorts its table by the rows' ``data-{key}`` on a click (the report's script)."""
    order = "descending" if key == sorted_by else "none"
    return f'<th aria-sort="{order}"><button type="button" data-key="{key}">{label}</button></th>'


def results_table(table_id: str, head: str, rows: list[str]) -> str:
    """A table whose rows the report's script filters and sorts; ``head`` is its header cells."""
    return (f'<table class="results" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n'
            + "\n".join(rows) + "\n</tbody></table>")


def section(anchor: str, title: str, about: str, content: str) -> str:
    """A report's section: a heading, a line saying what it holds (HTML), and its content."""
    return f'<h2 id="{anchor}">{title}</h2>\n<p class="about">{about}</p>\n{content}'


def entity_cell(entity: str | None, name: str | None) -> str:
    """A cell naming an entity (its name, its id below), empty without one."""
    if entity is None:
        return '<td class="entity"></td>'
    return f'<td class="entity">{escape(name or entity)}<br><span class="id">{escape(entity)}</span></td>'


def definitions(terms: list[tuple[str, str]]) -> str:
    """A summary's list of terms and their values, both escaped."""
    return "<dl>" + "".join(f"<dt>{escape(term)}</dt><dd>{escape(value)}</dd>" for term, value in terms) + "</dl>"


def summary(counts: list[tuple[str, int]], references: str, threshold: float, started: tuple[str, str],
            entities: str) -> str:
    """A report's summary box: the ``counts``, how the run was made (``started``: what started, and when), and
    the per-entity list (HTML)."""
    run = [("threshold", f"{threshold:g}"), ("reference library", references), (f"{started[0]} started", started[1]),
           ("report written", _now())]
    return (
        '<div class="summary">\n' + definitions([(term, f"{count:,}") for term, count in counts]) + "\n"
        + definitions(run) + "\n" + entities + "\n</div>"
    )


def entity_choices(counts: Counter[str], names: dict[str, str], title: str,
                   anchors: dict[str, str] | None = None) -> tuple[str, str]:
    """The summary's list of entities, most ``counts`` first (each a link to ``anchors`` where given), and
    the filter's options; both empty without entities."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if not ordered:
        return "", ""
    items = []
    for entity, count in ordered:
        label = f"{escape(names[entity])} ({escape(entity)})"
        if anchors is not None:
            label = f'<a href="#{anchors[entity]}">{label}</a>'
        items.append(f"<li>{label}<b>{count:,}</b></li>")
    options = "".join(f'<option value="{escape(e)}">{escape(names[e])} ({escape(e)}): {n:,}</option>'
                      for e, n in ordered)
    return f'<ul class="entities" title="{escape(title)}">{"".join(items)}</ul>', options


def controls(label: str, options: str, rows: int, min_score: bool) -> str:
    """The filter above a report's tables: an entity, a minimum score where ``min_score``, the rows shown."""
    score = ('<label>Minimum score <input id="minscore" type="number" min="0" max="1" step="0.05" value="0">'
             "</label>") if min_score else ""
    return (f'<div class="controls"><label>{label} <select id="entity"><option value="">all</option>{options}'
            f'</select></label>{score}<span><span id="shown">{rows:,}</span> rows shown</span></div>')


def report_page(title: str, heading: str, style: str, body: str) -> str:
    """A whole report page: its Content-Security-Policy (nothing is fetched, only its own inline style and
    script run), ``style``, ``body`` and the reports' script. ``title`` and ``heading`` are HTML."""
    return _shown(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="{CONTENT_SECURITY_POLICY}">
<title>{title}</title>
<style>{style}</style></head><body>
<h1>{heading}</h1>
{body}
<script>{REPORT_SCRIPT}</script>
</body></html>
""")


def render_html(results: list[Result], references: str, threshold: float, started: str) -> str:
    """The report page for ``results``, as one string.

    Sections, each only when it has rows: the matches, best first, each with the image (the emblem
    outlined), a crop around the emblem, the reference emblem and a click to the evidence picture;
    the best few near misses (:data:`NEAR_MISSES`), pictured the same way; every other image, as
    text; the files that could not be read, and why."""
    ok = [r for r in results if r.ok]
    errors = [r for r in results if not r.ok]
    matches = sorted((r for r in ok if r.match), key=_by_score)
    unmatched = sorted((r for r in ok if not r.match), key=_by_score)
    near = [r for r in unmatched if is_near_miss(r)][:NEAR_MISSES]
    near_ids = {id(r) for r in near}
    others = [r for r in unmatched if id(r) not in near_ids]
    allowed = sum(1 for r in ok if r.allowed)
    per_entity = Counter(str(r.reference) for r in matches)
    names = {str(r.reference): str(r.name or r.reference) for r in matches}
    pictures = Pictures()
    numbers = iter(range(1, len(results) + 1))

    def row_start(number: int, result: Result, kind: str) -> str:
        return (
            f'<tr id="r{number}" class="{kind}" data-order="{number}" data-entity="{escape(result.reference or "")}" '
            f'data-score="{score_text(result)}" data-path="{escape(result.path)}">'
        )

    def verdict_cell(result: Result) -> str:
        if result.match:
            return '<td class="verdict">MATCH</td>'
        if result.allowed:
            return f'<td class="verdict" title="cleared: {escape(result.allowed_by or "")}">allowed</td>'
        return '<td class="verdict">no match</td>'

    def file_cell(number: int, result: Result, evidence_link: bool) -> str:
        lines = [file_link(result.path)]
        if result.allowed:
            lines.append(f'<p class="evidence">cleared by a reviewer: {escape(result.allowed_by or "")}</p>')
        if result.evidence is not None and result.evidence.summary:
            mirrored = " (emblem mirrored)" if result.evidence.mirrored else ""
            lines.append(f'<p class="evidence">{escape(result.evidence.summary)}{mirrored}</p>')
        if result.duplicate_of is not None:
            lines.append(f'<p class="evidence muted">same file as {escape(result.duplicate_of)}</p>')
        if evidence_link:
            lines.append(f'<a href="#ev{number}">evidence picture</a>')
        return f'<td class="file">{"".join(lines)}</td>'

    def pictured_row(result: Result, kind: str) -> str:
        number = next(numbers)
        shown = pictures.shown(result, str(number), f"r{number}")
        image = shown.image or (f'<p class="note">{escape(shown.problem)}</p>' if shown.problem else "")
        crop = shown.crop or ""
        if shown.image is not None and shown.crop is None and result.evidence is not None:
            crop = '<p class="note">the emblem fills the image</p>'
        return (
            row_start(number, result, kind)
            + f'<td class="pic">{image}</td><td class="pic">{crop}</td><td class="pic">{shown.emblem or ""}</td>'
            + entity_cell(result.reference, result.name) + f'<td class="score">{score_text(result)}</td>'
            + file_cell(number, result, shown.evidence) + "</tr>"
        )

    def plain_row(result: Result) -> str:
        number = next(numbers)
        kind = result.verdict
        return (
            row_start(number, result, kind) + verdict_cell(result) + entity_cell(result.reference, result.name)
            + f'<td class="score">{score_text(result)}</td>' + file_cell(number, result, False) + "</tr>"
        )

    pictured_head = (
        "<th>image (click: evidence)</th><th>around the emblem</th>"
        f"<th>reference emblem</th>{sortable('entity', 'entity')}{sortable('score', 'score', 'score')}"
        f"{sortable('file and evidence', 'path')}"
    )
    sections = []
    if matches:
        sections.append(section(
            "matches", f"Matches ({len(matches):,})", "Best first. Click an image for the evidence: the emblem "
            "beside the image, the keypoints that agree, and the outline.",
            results_table("match-table", pictured_head, [pictured_row(r, "match") for r in matches]),
        ))
    if near:
        sections.append(section(
            "near-misses", f"Near misses ({len(near):,})", "The best-scoring images below the threshold "
            f"(at least {NEAR_MISS_SHARE:.0%} of it), for a second look.",
            results_table("near-table", pictured_head, [pictured_row(r, "near") for r in near]),
        ))
    if others:
        head = (f'<th>verdict</th>{sortable("entity", "entity")}{sortable("score", "score", "score")}'
                f'{sortable("file and evidence", "path")}')
        sections.append(section(
            "others", f"Other images ({len(others):,})", "Without pictures, to keep the page light; "
            "<code>logowatch check --evidence why.png FILE</code> draws one.",
            results_table("other-table", head, [plain_row(r) for r in others]),
        ))
    if errors:
        rows = "\n".join(
            f'<tr><td class="path">{file_link(r.path)}</td><td class="error">{escape(reason_text(r))}</td></tr>'
            for r in errors
        )
        sections.append(
            f'<h2 id="errors">Files that could not be read ({len(errors):,})</h2>\n'
            f'<table id="error-table"><thead><tr><th>file</th><th>reason</th></tr></thead><tbody>\n{rows}\n'
            "</tbody></table>"
        )
    entity_list, options = entity_choices(per_entity, names, "matches per entity")
    # As the scan's summary counts them: an allowed image is not counted as clear too.
    counts = [("images", len(results)), ("matches", len(matches)), ("no match", len(unmatched) - allowed)]
    counts += [("allowed", allowed)] if allowed else []
    counts += [("unreadable", len(errors))]
    body = [summary(counts, references, threshold, ("scan", started), entity_list)]
    body += [controls("Entity", options, len(ok), min_score=True)] if ok else []
    return report_page(
        f"logowatch report: {len(matches):,} matches in {len(results):,} images", "logowatch report",
        REPORT_STYLE, "\n".join([*body, *sections, *pictures.lightboxes]),
    )


#: Characters that a file name not in UTF-8 brings into a string (Python's surrogate escapes).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _shown(page: str) -> str:
    """``page`` with the bytes of a file name that is not UTF-8 written as escapes (``bad\\xff.jpg``):
    they cannot be written into a UTF-8 page as they are. Links keep the bytes, percent-encoded."""

    def escaped(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"

    return _SURROGATE.sub(escaped, page)


def score_text(result: Result) -> str:
    """A result's score as a report shows it (three decimals), empty without one."""
    return f"{result.score:.3f}" if result.score is not None else ""


def reason_text(result: Result) -> str:
    """Why a file could not be read, without the file's name that the row shows already."""
    reason = result.error or ""
    return reason.removeprefix(f"{result.path}: ")

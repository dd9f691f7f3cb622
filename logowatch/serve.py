"""The reviewer's page (``logowatch serve``; the ``serve`` extra): check an image in a browser, work
through a scan's flags with the keyboard, and remember each decision.

A reviewer drops an image on the page and sees the verdict, the evidence picture and the candidates;
or opens a scan's JSON lines (or the output of ``logowatch accounts``) and goes through its matches
one by one: ``c`` confirms, ``d`` dismisses as a false positive, ``s`` skips, the arrows move. Each
decision is a line of the review log; a dismissed image also goes to the allow list
(:mod:`logowatch.allowlist`), so that the next scan reports it as ``allowed`` instead of a match.

Flask builds the page and waitress serves it: both are small, long-maintained, pure-Python projects
(Pallets' and the Pylons project's) and synchronous, as the :class:`~logowatch.Detector` is; Flask's
``MAX_CONTENT_LENGTH`` turns an oversized upload into a clear page, and its Jinja templates escape
every value by default.

Safety, for a page that reads files and writes lists:

- it listens on 127.0.0.1 unless told otherwise, and answers only requests addressed to the name it
  listens on (a DNS-rebinding page elsewhere cannot reach it);
- it serves only the files that the opened results name, looked up in those results, never a path
  built from the request (``../../etc/passwd`` is simply not among them), and only as the image
  format that their content shows;
- every POST carries a random token made when the server starts, or is refused (403), as is one
  the browser says comes from another site; a request addressed to another name is refused in
  plain text, without the token, which a rebinding page could otherwise read there;
- uploads are size-limited (:data:`DEFAULT_MAX_UPLOAD`) and decoded by the same loader as scans, so a
  decompression bomb is an error on the page and the server lives on;
- a Content-Security-Policy lets the page load nothing from anywhere else, and only its own scripts.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, redirect, render_template, request, url_for
from jinja2 import DictLoader
from PIL import Image
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from logowatch import allowlist
from logowatch.accounts import OFFICIAL, AccountVerdict
from logowatch.calibration import MAX_OWN_THRESHOLD
from logowatch.detector import Detector
from logowatch.display import some
from logowatch.errors import InputError, LogowatchError
from logowatch.evidence import emblem_crop, picture
from logowatch.files import append_json_line, read_json_lines
from logowatch.loading import DEFAULT_MAX_SIDE, LoadedImage, load_image
from logowatch.reports import EVIDENCE_QUALITY, jpeg_uri
from logowatch.results import Result

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: The largest upload accepted, in bytes.
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024
#: Where decisions go unless told otherwise: in the folder the server is started from.
DEFAULT_REVIEW_LOG = Path("logowatch-review.jsonl")
#: What a reviewer can decide about a flag; the first two settle it, a skip leaves it open.
DECISIONS = ("confirm", "dismiss", "skip")
SETTLED = ("confirm", "dismiss")
#: Side of the crop around the emblem shown beside the evidence picture.
CROP_SIDE = 320
#: Host names that always reach a server listening on the loopback interface.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
#: Image formats the page serves, and the type it serves them as.
SERVED_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
                "BMP": "image/bmp", "TIFF": "image/tiff", "AVIF": "image/avif"}


@dataclass(frozen=True)
class Flag:
    """One match of the opened results, for a reviewer to decide."""

    result: Result
    #: The file on this machine: the result's path, or the same path beside the results file.
    source: Path
    #: The accounts that showed the image (from an accounts output), as one line each.
    accounts: tuple[str, ...] = ()


def read_flags(results_file: Path) -> tuple[Flag, ...]:
    """The matches of a scan's JSON lines, or of the images of ``logowatch accounts`` verdicts, best
    first; each image once (its accounts together), pictures already cleared left out.

    Raises :class:`InputError` naming the line when the file holds anything else."""
    lines = read_json_lines(results_file, "a scan's results")
    found: dict[str, tuple[Result, list[str]]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            for result, account in _results_of(json.loads(line)):
                if result.ok and result.match and not result.allowed:
                    accounts = found.setdefault(result.path, (result, []))[1]
                    if account is not None and account not in accounts:
                        accounts.append(account)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f"{results_file}: line {number} is neither a scan result nor an accounts verdict ({exc}); "
                "open the JSON lines that logowatch scan or logowatch accounts wrote"
            ) from exc
    ordered = sorted(found.values(), key=lambda item: (-(item[0].score or 0.0), item[0].path))
    return tuple(Flag(result, _located(result.path, results_file), tuple(accounts)) for result, accounts in ordered)


def _results_of(row: Any) -> Iterable[tuple[Result, str | None]]:
    """The results of one line: a scan result, or each image of an account verdict with the account.
    An official account's images are no flags: the body's own account wears its emblem by right, and
    clearing its avatar would clear every impersonator who copies it."""
    if not isinstance(row, dict):
        raise TypeError("not a JSON object")
    if "images" in row and "account_id" in row:
        verdict = AccountVerdict.from_dict(row)
        if verdict.verdict == OFFICIAL:
            return []
        account = f"{verdict.platform} {verdict.account_id}: {verdict.display_name}".strip()
        return [(image.result, account) for image in verdict.images]
    return [(Result.from_dict(row), None)]


def _located(path: str, results_file: Path) -> Path:
    """Where a result's file is: its path as written, or (a scan run elsewhere) beside the results file."""
    given = Path(path)
    if given.is_absolute() or given.exists():
        return given
    beside = results_file.parent / given
    return beside if beside.exists() else given


@dataclass
class Review:
    """What the page works with: the Detector, the opened flags, and where decisions go.

    One lock serialises checks and decisions: the page is for one reviewer, and neither the index
    nor the two lists should see two writers at once."""

    detector: Detector
    flags: tuple[Flag, ...] = ()
    results_file: Path | None = None
    allow_list: Path | None = None
    review_log: Path = DEFAULT_REVIEW_LOG
    #: The last settling decision per image path (from the review log, then from this session).
    decisions: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.allow_list is None:
            self.allow_list = self.detector.root / allowlist.ALLOW_FILE
        served = {entity.id for entity in self.detector.index.entities}
        foreign = sorted({str(f.result.reference) for f in self.flags if f.result.reference not in served})
        if foreign:
            # A dismissal would clear the picture for an emblem this library does not hold.
            raise InputError(
                f"{self.results_file}: its matches name emblems that {self.detector.root} does not hold "
                f"({some(foreign)}); start the page with -r and the library they were scanned against"
            )
        here = (None, self.detector.library)
        scored = sorted({str(f.result.library) for f in self.flags if f.result.library not in here})
        if scored:
            logger.warning(
                "%s: scored with another version of %s or of logowatch (%s; this page %s): the flags are shown as "
                "written, and a dismissal goes to %s", self.results_file, self.detector.root, some(scored),
                self.detector.library, self.allow_list,
            )
        self.decisions.update(_read_decisions(self.review_log, self.flags))

    def check(self, data: bytes, name: str) -> tuple[Result, LoadedImage | None]:
        """The verdict on an uploaded image, and the image as loaded (None when it cannot be read):
        decoded once, as a scan decodes it."""
        with self.lock:
            return self.detector.check_with_image(data, path=name)

    def evidence(self, flag: Flag) -> tuple[LoadedImage, Result]:
        """The flag's image as loaded now, and its result to draw: as the results file has it, with the
        keypoint correspondences (which a results file does not keep) of a check with this library
        when that places the same emblem. Raises :class:`LogowatchError` when the file cannot be read,
        or holds other bytes than those scanned."""
        loaded = self._load(flag, max_side=DEFAULT_MAX_SIDE)  # larger than a scan's, for the pictures
        result = self._drawn_here(flag.result)
        written = result.evidence
        if written is None:
            return loaded, result
        with self.lock:
            # Checked as the scan checked it (at the scan's size), so the same placement is found.
            scanned = self._load(flag, max_side=None)
            fresh = self.detector.check(scanned, path=flag.result.path).evidence
        if fresh is None or (Path(fresh.variant).resolve(), fresh.mirrored, fresh.outline) != (
            Path(written.variant).resolve(), written.mirrored, written.outline
        ):
            return loaded, result  # another library or version placed it otherwise: no lines
        return loaded, replace(result, evidence=replace(written, correspondences=fresh.correspondences))

    def decide(self, index: int, decision: str) -> None:
        """Record ``decision`` on flag ``index`` in the review log; a dismissed image also goes to the
        allow list, and this server's Detector honours it at once."""
        if decision not in DECISIONS:
            raise ValueError(f"a decision is one of {', '.join(DECISIONS)}, not {decision!r}")
        flag = self.flags[index]
        result = flag.result
        with self.lock:
            row: dict[str, Any] = {
                "time": _now(),
                "decision": decision,
                "path": result.path,
                "sha256": result.sha256,
                "entity": result.reference,
                "name": result.name,
                "score": result.score,
                "threshold": result.threshold,
                "library": result.library,
                "results": None if self.results_file is None else str(self.results_file),
            }
            if decision == "dismiss" and self.allow_list is not None:
                loaded = self._load(flag, max_side=None)  # as a scan loads it, so its hash is a scan's
                entry = allowlist.entry_for(
                    loaded, result.path, "dismissed as a false positive in review", result.reference, result.score
                )
                allowlist.append(self.allow_list, entry)
                self.detector.allow_also(entry)
                row["allow_list"] = str(self.allow_list)
            _append(self.review_log, row)
            if decision in SETTLED:
                for path in _same_picture(self.flags, result):
                    self.decisions[path] = decision

    def _load(self, flag: Flag, max_side: int | None) -> LoadedImage:
        """The flag's image, loaded as a scan loads it (``max_side`` None) or at up to ``max_side``
        pixels; :class:`InputError` when its bytes are not those that were scanned."""
        if max_side is None:
            loaded = self.detector.load(flag.source, name=flag.result.path)
        else:
            loaded = load_image(flag.source, name=flag.result.path, max_side=max_side)
        if flag.result.sha256 is not None and loaded.sha256 != flag.result.sha256:
            raise InputError(
                f"{flag.result.path}: the file has changed since it was scanned (other bytes); scan it again"
            )
        return loaded

    def served(self, path: str) -> tuple[Path, str]:
        """The file and its type for a request of ``path``: only a file that the opened results name,
        found by looking ``path`` up in them, never by joining it to a folder. Raises ``LookupError``."""
        for flag in self.flags:
            if flag.result.path == path:
                try:
                    with Image.open(flag.source) as image:
                        kind = SERVED_TYPES.get(str(image.format))
                except (OSError, ValueError, Image.DecompressionBombError) as exc:
                    raise LookupError(path) from exc
                if kind is None:
                    raise LookupError(path)
                return flag.source, kind
        raise LookupError(path)

    def next_index(self, index: int) -> int | None:
        """The first flag after ``index`` still to decide (a copy of one decided is decided too);
        None when every later one is."""
        later = range(index + 1, len(self.flags))
        return next((n for n in later if self.flags[n].result.path not in self.decisions), None)

    def _drawn_here(self, result: Result) -> Result:
        """``result`` with its emblem's file as this library holds it, where the path written
        (relative to the folder the scan ran in) names nothing from here: the same entity's
        emblem file of the same name."""
        evidence = result.evidence
        if evidence is None or Path(evidence.variant).exists():
            return result
        index = self.detector.index
        for prepared, number in zip(index.variants, index.entity_of_variant, strict=True):
            path = prepared.variant.path
            if index.entities[number].id == result.reference and path.name == Path(evidence.variant).name:
                return replace(result, evidence=replace(evidence, variant=str(path)))
        return result


def _same_picture(flags: tuple[Flag, ...], result: Result) -> list[str]:
    """The paths of the flags whose files hold the same bytes as ``result``'s (its own among them):
    a decision on one picture is a decision on its copies."""
    if result.sha256 is None:
        return [result.path]
    return [flag.result.path for flag in flags if flag.result.sha256 == result.sha256] or [result.path]


def _read_decisions(review_log: Path, flags: tuple[Flag, ...]) -> dict[str, str]:
    """The last settling decision per path in an earlier review log, for the same bytes as now:
    a decision on a file's bytes holds for every flag with those bytes, whatever its path."""
    if not review_log.is_file():
        return {}
    wanted = {flag.result.path: flag.result.sha256 for flag in flags}
    copies: dict[str, list[str]] = {}  # the flags' paths by the bytes they hold
    for flag in flags:
        if flag.result.sha256 is not None:
            copies.setdefault(flag.result.sha256, []).append(flag.result.path)
    decided: dict[str, str] = {}
    lines = read_json_lines(review_log, "the review log")
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
            path, decision = str(row["path"]), str(row["decision"])
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("%s:%d: not a review decision (%s); skipped", review_log, number, exc)
            continue
        sha256 = row.get("sha256")
        if decision not in SETTLED:
            continue
        if sha256 is not None:
            decided.update(dict.fromkeys(copies.get(sha256, ()), decision))
        elif path in wanted and wanted[path] is None:
            decided[path] = decision
    return decided


def _append(target: Path, row: dict[str, Any]) -> None:
    append_json_line(target, row, "the review log")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _own_names() -> set[str]:
    """This machine's host names and addresses: what a request to a server listening everywhere may name."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    try:
        for *_, address in socket.getaddrinfo(socket.gethostname(), None):
            names.add(str(address[0]).lower())
    except OSError:
        pass
    return names


def _is_address(name: str) -> bool:
    """Whether ``name`` (a request's host, without its port) is an IP address rather than a name."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


#: What a request addressed to another name than the server's is told.
OTHER_HOST = "this page answers only requests addressed to the name it listens on"


def create_app(review: Review, *, max_upload: int = DEFAULT_MAX_UPLOAD, host: str = DEFAULT_HOST) -> Flask:
    """The page's Flask application for ``review``. ``host`` is the address the server listens on:
    requests addressed to another name are refused (a page elsewhere that points a name of its own
    at this machine cannot read the token). Listening on every interface, the machine's own names
    and any address are accepted (a request reaches the server only at one of its addresses)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_upload
    app.jinja_loader = DictLoader(TEMPLATES)
    token = secrets.token_urlsafe(32)
    names = {*LOOPBACK_NAMES, bare_host(host).lower()}
    everywhere = listens_everywhere(host)
    if everywhere:
        names |= _own_names()

    @app.before_request
    def guard() -> Response | None:
        g.nonce = secrets.token_urlsafe(16)
        addressed = urlsplit("//" + request.host).hostname or ""
        # An address, unlike a name, cannot be pointed at this machine by another site: a request
        # to any of the machine's addresses reaches a server listening everywhere.
        if addressed not in names and not (everywhere and _is_address(addressed)):
            # Plain text, not a page: a page carries the token, which a site that points a name
            # of its own at this machine could then read and send back.
            return Response(f"400 Bad Request: {OTHER_HOST}\n", 400, mimetype="text/plain")
        g.addressed_here = True
        if request.method == "POST":
            given = str(request.form.get("token", "")).encode("utf-8", "surrogatepass")
            if request.headers.get("Sec-Fetch-Site") == "cross-site" or not hmac.compare_digest(
                given, token.encode("ascii")
            ):
                abort(403, "the request carries no valid token: reload the page and try again")
        return None

    @app.after_request
    def harden(response: Response) -> Response:
        nonce = getattr(g, "nonce", "")
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; img-src 'self' data:; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def page(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
        # The token only in a page for a request addressed to this server (see guard).
        shown = token if getattr(g, "addressed_here", False) else ""
        return render_template(template, token=shown, nonce=getattr(g, "nonce", ""), review=review,
                               max_upload_mib=max_upload / 2**20, **values), status

    @app.errorhandler(HTTPException)
    def failed(error: HTTPException) -> tuple[str, int]:
        if isinstance(error, RequestEntityTooLarge):
            message = f"The upload is larger than {max_upload / 2**20:g} MiB; choose a smaller image."
        else:
            message = error.description or error.name
        return page("error.html", error.code or 500, title=f"{error.code} {error.name}", message=message)

    @app.get("/")
    def index() -> tuple[str, int]:
        return page("index.html")

    @app.post("/check")
    def check() -> tuple[str, int]:
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            return page("error.html", 400, title="No image", message="Choose an image to check, or drop one.")
        name = upload.filename
        result, loaded = review.check(upload.read(), name)
        if loaded is None:
            return page("error.html", 422, title="This file cannot be checked", message=result.error or "")
        evidence = jpeg_uri(picture(loaded.composited(), result), EVIDENCE_QUALITY)
        return page("checked.html", result=result, evidence=evidence, crop=_crop(loaded, result))

    @app.get("/review")
    def overview() -> tuple[str, int]:
        undecided = [n for n, f in enumerate(review.flags, start=1) if f.result.path not in review.decisions]
        return page("review.html", first=undecided[0] if undecided else 1)

    @app.get("/review/<int:number>")
    def flag_page(number: int) -> tuple[str, int]:
        flag = _flag(number)
        likely = _likely_emblem(flag)
        try:
            loaded, drawn = review.evidence(flag)
            evidence = jpeg_uri(picture(loaded.composited(), drawn), EVIDENCE_QUALITY)
        except LogowatchError as exc:
            problem = str(exc)
            if not flag.source.exists() and not flag.source.is_absolute():
                problem += "; the results name it relative to the folder the scan ran in: start the page there"
            return page("flag.html", number=number, flag=flag, problem=problem, likely=likely)
        return page("flag.html", number=number, flag=flag, evidence=evidence, crop=_crop(loaded, drawn),
                    on_disk=str(flag.source.resolve()), likely=likely)

    @app.post("/review/<int:number>")
    def decide(number: int) -> Any:
        _flag(number)
        decision = str(request.form.get("decision", ""))
        if decision not in DECISIONS:
            abort(400, f"a decision is one of {', '.join(DECISIONS)}")
        try:
            review.decide(number - 1, decision)
        except LogowatchError as exc:
            return page("error.html", 409, title="The decision was not recorded", message=str(exc))
        following = review.next_index(number - 1)
        target = url_for("flag_page", number=following + 1) if following is not None else url_for("overview")
        return redirect(target, code=303)

    @app.get("/file")
    def served_file() -> Response:
        try:
            path, kind = review.served(str(request.args.get("path", "")))
        except LookupError:
            abort(404, "only the images of the opened results are served, and this is not one of them")
        try:
            data = path.read_bytes()
        except OSError:
            abort(404, "the image of the opened results cannot be read any more")
        response = app.response_class(data, mimetype=kind)
        response.headers["Content-Disposition"] = "inline"
        return response

    def _flag(number: int) -> Flag:
        if not 1 <= number <= len(review.flags):
            abort(404, "no such flag in the opened results")
        return review.flags[number - 1]

    return app


def _likely_emblem(flag: Flag) -> bool:
    """Whether the flag's image scores as high as copies of the emblem do (see
    ``calibration.MAX_OWN_THRESHOLD``): one that is the emblem, or carries it plainly, dismissed as a
    false positive would clear it for every impersonator that shows it."""
    return flag.result.score is not None and flag.result.score >= MAX_OWN_THRESHOLD


def _crop(loaded: LoadedImage, result: Result) -> str | None:
    crop = emblem_crop(loaded, result, CROP_SIDE)
    return None if crop is None else jpeg_uri(crop)


def make_server(app: Flask, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> Any:
    """A waitress server of ``app`` on ``host``:``port`` (0: any free port, see ``effective_port``);
    ``run()`` serves until ``close()`` or Ctrl-C. Raises ``OSError`` when the port cannot be had."""
    from waitress.server import create_server

    limit = int(app.config["MAX_CONTENT_LENGTH"])
    # Waitress drops a body far over the limit itself; Flask answers one just over it with a page.
    body = limit + 2**20
    if listens_everywhere(host) and ":" in bare_host(host):
        return create_server(app, sockets=[_dual_stack(port)], threads=4, max_request_body_size=body)
    return create_server(app, host=bare_host(host), port=port, threads=4, max_request_body_size=body)


def bare_host(host: str) -> str:
    """``host`` without the brackets an IPv6 address may be written in (``[::1]``)."""
    return host.strip("[]")


def listens_everywhere(host: str) -> bool:
    """Whether a server on ``host`` listens on every address of the machine: ``0.0.0.0``, ``::``
    however it is written (``[::]``, ``::0``), or nothing."""
    if not bare_host(host):
        return True
    try:
        return ipaddress.ip_address(bare_host(host)).is_unspecified
    except ValueError:
        return False  # a name


def shown_host(host: str) -> str:
    """``host`` as a URL or a message writes it: an IPv6 address in brackets."""
    bare = bare_host(host)
    return f"[{bare}]" if ":" in bare else bare


def _dual_stack(port: int) -> socket.socket:
    """A socket bound to every address, IPv6 and IPv4 alike, as ``::`` means on most systems
    (waitress would bind it to IPv6 only); IPv6 alone where the system will not mix them.
    Raises ``OSError`` where IPv6 is missing."""
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(OSError):
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("::", port))
    except OSError:
        listener.close()
        raise
    return listener


_BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="logowatch-token" content="{{ token }}">
<link rel="icon" href="data:,">
<title>{% block title %}logowatch{% endblock %}</title>
<style nonce="{{ nonce }}">
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1d2b3a;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header b{font-size:17px;margin-right:8px}
main{padding:16px 24px;max-width:1280px}h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:20px 0 8px}
.drop{border:2px dashed #8aa0b8;border-radius:8px;padding:28px;text-align:center;background:#fff}
.drop.over{background:#e8f1ff;border-color:#124e9c}
.verdict{font-size:22px;font-weight:700}.match{color:#1a7f37}.clear{color:#666}.allowed,.caution{color:#8a5a00}
.error{color:#b42318}
table{border-collapse:collapse;background:#fff}th,td{border-bottom:1px solid #e5e5e5;padding:5px 10px;
text-align:left}th{background:#f0f0f0}td.num{font-variant-numeric:tabular-nums}
.pictures{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
.pictures img{max-width:100%;border:1px solid #ddd;background:#fff}
.pictures .wide{flex:0 1 800px;min-width:0}.pictures .wide img{width:100%}
.pictures figure{margin:0}.pictures figcaption{font-size:13px;color:#555}
.path{font-family:ui-monospace,monospace;font-size:13px;overflow-wrap:anywhere}
.keys{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin:12px 0}
.keys button,.keys a{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #999;background:#fff;
color:#222;text-decoration:none;cursor:pointer}
.keys button.confirm{background:#1a7f37;color:#fff;border-color:#1a7f37}
.keys button.dismiss{background:#b42318;color:#fff;border-color:#b42318}
kbd{font:12px ui-monospace,monospace;border:1px solid #aaa;border-bottom-width:2px;border-radius:3px;
padding:0 4px;background:#f6f6f6;color:#222}
.decided{padding:4px 10px;border-radius:4px;background:#eef;display:inline-block}
.muted{color:#666;font-size:13px}
</style></head><body>
<header><b>logowatch</b><a href="{{ url_for('index') }}">Check an image</a>
{% if review.flags %}<a href="{{ url_for('overview') }}">Review flags ({{ review.decisions|length }} of
{{ review.flags|length }} decided)</a>{% endif %}</header>
<main>{% block main %}{% endblock %}</main>
{% block script %}{% endblock %}
</body></html>
"""

_UPLOAD_FORM = """
<form id="upload" method="post" action="{{ url_for('check') }}" enctype="multipart/form-data" class="drop">
<input type="hidden" name="token" value="{{ token }}">
<p>Drop an image here, or choose one: <input id="image" type="file" name="image" accept="image/*">
<button type="submit">Check</button></p>
<p class="muted">Up to {{ '%g' % max_upload_mib }} MiB. The image is checked here and not kept.</p>
</form>
<script nonce="{{ nonce }}">
(function(){
  var form=document.getElementById('upload'), input=document.getElementById('image');
  input.addEventListener('change',function(){ if(input.files.length){ form.submit(); } });
  ['dragenter','dragover'].forEach(function(t){ form.addEventListener(t,function(e){
    e.preventDefault(); form.classList.add('over'); }); });
  form.addEventListener('dragleave',function(){ form.classList.remove('over'); });
  form.addEventListener('drop',function(e){
    e.preventDefault(); form.classList.remove('over');
    if(e.dataTransfer.files.length){ input.files=e.dataTransfer.files; form.submit(); }
  });
})();
</script>
"""

_CANDIDATES = """
{% if result.candidates %}
<h2>Candidates</h2>
<table><thead><tr><th>#</th><th>entity</th><th>score</th><th>threshold</th></tr></thead><tbody>
{% for c in result.candidates %}<tr><td>{{ loop.index }}</td><td>{{ c.name }} <span class="muted">{{ c.reference }}
</span></td><td class="num">{{ '%.3f' % c.score }}</td><td class="num">{{ '%g' % c.threshold }}</td></tr>{% endfor %}
</tbody></table>
{% endif %}
"""

_VERDICT = """
{% if result.match %}<p class="verdict match">MATCH: {{ result.name }} ({{ result.reference }}),
score {{ '%.3f' % result.score }}</p>
{% elif result.allowed %}<p class="verdict allowed">allowed: cleared by a reviewer ({{ result.allowed_by }});
score {{ '%.3f' % result.score }}</p>
{% elif result.reference %}<p class="verdict clear">no match: the closest emblem, {{ result.name }}
({{ result.reference }}), scores {{ '%.3f' % result.score }} &lt; {{ '%g' % result.threshold }}</p>
{% else %}<p class="verdict clear">no match: nothing in the image resembles a reference emblem</p>{% endif %}
{% if result.evidence %}<p>{{ result.evidence.summary }}{% if result.evidence.mirrored %} (emblem mirrored)
{% endif %}</p>{% endif %}
"""

_PICTURES = """
<div class="pictures">
{% if evidence %}<figure class="wide"><img id="evidence" alt="evidence picture" src="{{ evidence }}">
<figcaption>the emblem beside the image: keypoints that agree, and the emblem's outline</figcaption></figure>{% endif %}
{% if crop %}<figure><img alt="the image around the emblem" src="{{ crop }}">
<figcaption>around the emblem</figcaption></figure>{% endif %}
</div>
"""

TEMPLATES = {
    "base.html": _BASE,
    "index.html": """{% extends "base.html" %}{% block title %}logowatch: check an image{% endblock %}
{% block main %}<h1>Check an image</h1>""" + _UPLOAD_FORM + """
{% if review.flags %}<h2>Review</h2><p>{{ review.flags|length }} flags in
<span class="path">{{ review.results_file }}</span>, {{ review.decisions|length }} decided.
<a href="{{ url_for('overview') }}">Work through them</a>.</p>{% endif %}
<p class="muted">Library: <span class="path">{{ review.detector.root }}</span>, threshold
{{ '%g' % review.detector.threshold }}.</p>{% endblock %}""",
    "checked.html": """{% extends "base.html" %}{% block title %}logowatch: {{ result.path }}{% endblock %}
{% block main %}<h1 class="path">{{ result.path }}</h1>""" + _VERDICT + """
<p class="muted">{{ result.width }}x{{ result.height }} pixels, SHA-256 {{ result.sha256 }}</p>""" + _PICTURES
    + _CANDIDATES + "<h2>Check another</h2>" + _UPLOAD_FORM + "{% endblock %}",
    "review.html": """{% extends "base.html" %}{% block title %}logowatch: review{% endblock %}
{% block main %}<h1>Review</h1>
{% if not review.flags %}<p>No flags to review: start the page with <code>--results FILE.jsonl</code>, the output of
<code>logowatch scan</code> or <code>logowatch accounts</code>{% if review.results_file %} (there are no
matches in <span class="path">{{ review.results_file }}</span>){% endif %}.</p>
{% else %}<p>{{ review.flags|length }} flags in <span class="path">{{ review.results_file }}</span>;
{{ review.decisions|length }} decided. Decisions go to <span class="path">{{ review.review_log }}</span>, dismissed
images to <span class="path">{{ review.allow_list }}</span>.</p>
<p class="keys"><a id="start" href="{{ url_for('flag_page', number=first) }}">Start at flag {{ first }}</a></p>
<table><thead><tr><th>#</th><th>decision</th><th>entity</th><th>score</th><th>file</th></tr></thead><tbody>
{% for flag in review.flags %}<tr><td>{{ loop.index }}</td><td>{{ review.decisions.get(flag.result.path, '') }}</td>
<td>{{ flag.result.name }}</td><td class="num">{{ '%.3f' % flag.result.score }}</td>
<td><a class="path" href="{{ url_for('flag_page', number=loop.index) }}">{{ flag.result.path }}</a></td></tr>
{% endfor %}</tbody></table>{% endif %}{% endblock %}""",
    "flag.html": """{% extends "base.html" %}{% block title %}logowatch: flag {{ number }}{% endblock %}
{% block main %}{% set result = flag.result %}
<h1>Flag {{ number }} of {{ review.flags|length }}:
<span class="path">{{ result.path }}</span></h1>
{% set decided = review.decisions.get(result.path) %}
{% if decided %}<p class="decided" id="decided">decided: {{ decided }}</p>{% endif %}
{% if likely %}<p class="caution" id="likely">This image scores {{ '%.3f' % result.score }}, as high as copies of the
emblem do. Dismissed as a false positive, this picture and its copies are cleared for every account that shows
them, impersonators included.</p>{% endif %}
<form method="post" action="{{ url_for('decide', number=number) }}" class="keys" id="decide"
{%- if likely %} data-likely="1"{% endif %}>
<input type="hidden" name="token" value="{{ token }}">
<button class="confirm" name="decision" value="confirm"><kbd>c</kbd> confirm</button>
<button class="dismiss" name="decision" value="dismiss"><kbd>d</kbd> dismiss: false positive</button>
<button name="decision" value="skip"><kbd>s</kbd> skip</button>
{% if number > 1 %}<a id="previous" href="{{ url_for('flag_page', number=number - 1) }}"><kbd>&larr;</kbd>
previous</a>{% endif %}
{% if number < review.flags|length %}<a id="next" href="{{ url_for('flag_page', number=number + 1) }}">next
<kbd>&rarr;</kbd></a>{% endif %}
</form>""" + _VERDICT + """
{% if problem %}<p class="error">{{ problem }}</p>{% endif %}""" + _PICTURES + """
<p><a href="{{ url_for('served_file', path=result.path) }}" target="_blank" rel="noopener">open the image</a>
{% if on_disk %}<span class="muted">(on disk: <span class="path">{{ on_disk }}</span>)</span>{% endif %}</p>
<p class="muted">SHA-256 {{ result.sha256 }}; {{ result.width }}x{{ result.height }} pixels</p>
{% if flag.accounts %}<h2>Accounts that show it</h2><ul>{% for a in flag.accounts %}<li>{{ a }}</li>{% endfor %}
</ul>{% endif %}""" + _CANDIDATES + "{% endblock %}" + """
{% block script %}<script nonce="{{ nonce }}">
(function(){
  var form=document.getElementById('decide'), sent=false;
  var keys={c:'confirm',d:'dismiss',s:'skip'};
  var clicked=null;
  form.querySelectorAll('button').forEach(function(b){b.addEventListener('click',function(){clicked=b.value;});});
  form.addEventListener('submit',function(e){
    var decision=e.submitter?e.submitter.value:clicked;
    var asked='This image scores as high as copies of the emblem do. Dismiss it as a false positive, '+
      'and clear it for every account that shows it?';
    if(form.dataset.likely&&decision==='dismiss'&&!window.confirm(asked)){
      e.preventDefault();sent=false;
    }
  });
  document.addEventListener('keydown',function(e){
    if(e.ctrlKey||e.metaKey||e.altKey||sent){return;}
    var link=null;
    if(e.key==='ArrowRight'){link=document.getElementById('next');}
    if(e.key==='ArrowLeft'){link=document.getElementById('previous');}
    if(link){e.preventDefault();location.href=link.href;return;}
    var decision=keys[e.key];
    if(decision){e.preventDefault();sent=true;form.querySelector('button[value='+decision+']').click();}
  });
})();
</script>{% endblock %}""",
    "error.html": """{% extends "base.html" %}{% block title %}logowatch: {{ title }}{% endblock %}
{% block main %}<h1 class="error">{{ title }}</h1><p id="message">{{ message }}</p>
<p><a href="{{ url_for('index') }}">Back to the page</a></p>{% endblock %}""",
}

"""The reviewer's page: its safety rules over HTTP, and a reviewer's work in a real headless Chromium."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import logowatch
from logowatch import Detector, ReferenceIndex, Result
from logowatch.accounts import AccountImage, AccountVerdict
from logowatch.allowlist import AllowList
from logowatch.calibration import MAX_OWN_THRESHOLD
from logowatch.cli import main
from logowatch.errors import InputError
from logowatch.files import json_line
from logowatch.loading import load_image
from tests import browser
from tests.conftest import FIXTURES, REPO

SAMPLES = REPO / "samples"


@pytest.fixture(scope="module")
def serve() -> Any:
    """The serve module; the tests that need it skip when the serve extra is not installed."""
    pytest.importorskip("flask")
    pytest.importorskip("waitress")
    from logowatch import serve

    return serve


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory, index: ReferenceIndex) -> Path:
    """A scan of the bundled samples and a decompression bomb, as ``logowatch scan`` writes it."""
    target = tmp_path_factory.mktemp("scan") / "scan.jsonl"
    paths = [*sorted(SAMPLES.iterdir()), FIXTURES / "bomb.png"]
    with target.open("w", encoding="utf-8") as stream:
        for result in Detector(index).scan(paths):
            stream.write(json.dumps(result.to_dict()) + "\n")
    return target


@pytest.fixture()
def review(serve: Any, index: ReferenceIndex, scanned: Path, tmp_path: Path) -> Any:
    # A Detector of its own: dismissing changes the allow list of the Detector the page uses.
    return serve.Review(Detector(index), serve.read_flags(scanned), results_file=scanned,
                        allow_list=tmp_path / "allow.jsonl", review_log=tmp_path / "review.jsonl")


@pytest.fixture()
def client(serve: Any, review: Any) -> Any:
    return serve.create_app(review).test_client()


def token_of(client: Any) -> str:
    page = client.get("/").get_data(as_text=True)
    return page.split('name="logowatch-token" content="', 1)[1].split('"', 1)[0]


def test_the_flags_are_the_matches_best_first(review: Any) -> None:
    names = [Path(flag.result.path).name for flag in review.flags]
    assert names == ["shield-mirrored.png", "seal-avatar-captioned.jpg", "ministry-thumbnail.jpg",
                     "badge-grey-lowres.jpg"]


@pytest.mark.parametrize(
    "url",
    [
        "/file?path=../../etc/passwd",
        "/file?path=..%2F..%2Fetc%2Fpasswd",
        "/file?path=%2Fetc%2Fpasswd",
        "/file/../../etc/passwd",
        "/file/..%2F..%2Fetc%2Fpasswd",
        "/file?path=" + str(REPO / "README.md"),  # a file that exists, but is not in the results
        "/file?path=" + str(SAMPLES / ".." / "samples" / "shield-mirrored.png"),  # a flag, spelt otherwise
        "/file?path=" + str(FIXTURES / "bomb.png"),  # in the results, but a file that could not be read
        "/file",
        "/review/0",
        "/review/99",
    ],
)
def test_only_the_images_of_the_results_are_served(client: Any, url: str) -> None:
    assert client.get(url).status_code == 404


def test_an_image_of_the_results_is_served_as_what_its_content_is(client: Any) -> None:
    response = client.get("/file", query_string={"path": str(SAMPLES / "shield-mirrored.png")})
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.get_data() == (SAMPLES / "shield-mirrored.png").read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("token", [None, "", "not-the-token", "é"])
def test_a_post_without_the_token_is_refused(client: Any, review: Any, token: str | None) -> None:
    form = {"decision": "dismiss"} if token is None else {"decision": "dismiss", "token": token}
    assert client.post("/review/1", data=form).status_code == 403
    upload = {"image": (io.BytesIO((SAMPLES / "holiday-photo.jpg").read_bytes()), "holiday-photo.jpg")}
    assert client.post("/check", data=upload if token is None else {**upload, "token": token}).status_code == 403
    assert not review.review_log.exists() and not review.allow_list.exists()
    # With the token the same decision is taken.
    assert client.post("/review/1", data={"decision": "dismiss", "token": token_of(client)}).status_code == 303
    assert review.review_log.exists() and review.allow_list.exists()


def test_an_uploaded_bomb_is_an_error_page_and_the_server_lives_on(client: Any) -> None:
    token = token_of(client)
    with open(FIXTURES / "bomb.png", "rb") as bomb:
        response = client.post("/check", data={"token": token, "image": (bomb, "bomb.png")})
    assert response.status_code == 422
    assert "decompression bomb" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200
    with open(SAMPLES / "ministry-thumbnail.jpg", "rb") as sample:
        response = client.post("/check", data={"token": token, "image": (sample, "ministry-thumbnail.jpg")})
    assert response.status_code == 200
    assert "MATCH: Ministry of Waterways" in response.get_data(as_text=True)


def test_an_upload_over_the_limit_gets_a_clear_page(serve: Any, review: Any) -> None:
    data = (SAMPLES / "ministry-thumbnail.jpg").read_bytes()
    client = serve.create_app(review, max_upload=len(data) - 1).test_client()
    token = token_of(client)
    response = client.post("/check", data={"token": token, "image": (io.BytesIO(data), "big.jpg")})
    assert response.status_code == 413
    assert "larger than" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_a_request_addressed_to_another_name_is_refused(client: Any) -> None:
    # A page elsewhere that rebinds its name to 127.0.0.1 still sends its own name; the refusal
    # carries no token for it to read and send back.
    token = token_of(client)
    refused = client.get("/", headers={"Host": "attacker.example:8000"})
    assert refused.status_code == 400 and token not in refused.get_data(as_text=True)
    assert refused.mimetype == "text/plain"
    assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8000"}).status_code == 200


def test_a_post_sent_from_another_site_is_refused_even_with_the_token(client: Any) -> None:
    form = {"decision": "dismiss", "token": token_of(client)}
    assert client.post("/review/1", data=form, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/review/1", data=form, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303


def test_the_page_loads_nothing_from_elsewhere(client: Any) -> None:
    response = client.get("/review/3")
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; img-src 'self' data:;")
    nonce = policy.split("script-src 'nonce-", 1)[1].split("'", 1)[0]
    page = response.get_data(as_text=True)
    assert page.count("<script") == page.count(f'<script nonce="{nonce}">') == 1
    assert "http://" not in page and "https://" not in page
    assert 'src="data:image/jpeg;base64,' in page


def test_decisions_go_to_the_review_log_and_dismissals_to_the_allow_list(client: Any, review: Any,
                                                                        index: ReferenceIndex) -> None:
    token = token_of(client)
    assert client.post("/review/1", data={"decision": "confirm", "token": token}).headers["Location"] == "/review/2"
    assert client.post("/review/2", data={"decision": "dismiss", "token": token}).status_code == 303
    assert client.post("/review/3", data={"decision": "skip", "token": token}).status_code == 303
    assert client.post("/review/4", data={"decision": "confirm", "token": token}).headers["Location"] == "/review"
    rows = [json.loads(line) for line in review.review_log.read_text().splitlines()]
    flags = [flag.result for flag in review.flags]
    assert [(row["decision"], row["path"]) for row in rows] == [
        ("confirm", flags[0].path), ("dismiss", flags[1].path), ("skip", flags[2].path), ("confirm", flags[3].path)]
    assert [(row["sha256"], row["entity"]) for row in rows] == [(flag.sha256, flag.reference) for flag in flags]
    assert rows[1]["allow_list"] == str(review.allow_list)
    (cleared,) = [json.loads(line) for line in review.allow_list.read_text().splitlines()]
    assert cleared["sha256"] == flags[1].sha256 and cleared["entity"] == flags[1].reference
    assert cleared["score"] == flags[1].score  # what it was taken for, at what score
    # The page's own Detector honours the dismissal at once; a later scan with the list does too.
    with open(flags[1].path, "rb") as image:
        page = client.post("/check", data={"token": token, "image": (image, "again.jpg")}).get_data(as_text=True)
    assert "allowed: cleared by a reviewer" in page
    assert Detector(index, allow=[review.allow_list]).check(flags[1].path).allowed
    # A page started again with the same log knows what was decided; a skip settles nothing.
    again = type(review)(Detector(index), review.flags, results_file=review.results_file,
                         allow_list=review.allow_list, review_log=review.review_log)
    assert again.decisions == {flags[0].path: "confirm", flags[1].path: "dismiss", flags[3].path: "confirm"}


def test_a_flag_scoring_as_copies_of_the_emblem_do_is_marked_before_it_is_dismissed(
    serve: Any, review: Any, index: ReferenceIndex, scanned: Path, tmp_path: Path
) -> None:
    page = serve.create_app(review).test_client().get("/review/2").get_data(as_text=True)
    assert 'id="likely"' in page and 'data-likely="1"' in page
    lower = [replace(flag, result=replace(flag.result, score=0.7)) for flag in review.flags]
    quiet = serve.Review(Detector(index), lower, results_file=scanned, allow_list=tmp_path / "a.jsonl",
                         review_log=tmp_path / "r.jsonl")
    page = serve.create_app(quiet).test_client().get("/review/2").get_data(as_text=True)
    assert 'id="likely"' not in page and "data-likely" not in page


def test_a_file_changed_since_the_scan_is_not_dismissed(serve: Any, index: ReferenceIndex, tmp_path: Path) -> None:
    copy = tmp_path / "seal.jpg"
    copy.write_bytes((SAMPLES / "seal-avatar-captioned.jpg").read_bytes())
    results = tmp_path / "scan.jsonl"
    results.write_text(json.dumps(Detector(index).check(copy).to_dict()) + "\n")
    copy.write_bytes((SAMPLES / "holiday-photo.jpg").read_bytes())
    review = serve.Review(Detector(index), serve.read_flags(results), results_file=results,
                          allow_list=tmp_path / "allow.jsonl", review_log=tmp_path / "review.jsonl")
    client = serve.create_app(review).test_client()
    response = client.post("/review/1", data={"decision": "dismiss", "token": token_of(client)})
    assert response.status_code == 409
    assert "changed since it was scanned" in response.get_data(as_text=True)
    assert not review.allow_list.exists()


def test_a_decision_holds_for_every_copy_of_the_same_bytes(serve: Any, index: ReferenceIndex, tmp_path: Path) -> None:
    copies = [tmp_path / "shield.png", tmp_path / "again" / "shield-copy.png"]
    for copy in copies:
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes((SAMPLES / "shield-mirrored.png").read_bytes())
    results = tmp_path / "scan.jsonl"
    results.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in Detector(index).scan(copies)))
    log = tmp_path / "review.jsonl"

    def opened() -> Any:
        return serve.Review(Detector(index), serve.read_flags(results), results_file=results,
                            allow_list=tmp_path / "allow.jsonl", review_log=log)

    review = opened()
    assert len(review.flags) == 2
    client = serve.create_app(review).test_client()
    # Decided, the copy is passed over: the page goes to the overview, with nothing left to decide.
    response = client.post("/review/1", data={"decision": "dismiss", "token": token_of(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/review"
    assert review.decisions == {str(copies[0]): "dismiss", str(copies[1]): "dismiss"}
    # So does a page started again with the log.
    assert opened().decisions == review.decisions


def test_a_name_with_a_line_separator_in_it_is_one_flag_and_its_decision_holds(
    serve: Any, index: ReferenceIndex, tmp_path: Path
) -> None:
    # JSON writes U+2028 and U+0085 inside a string as they are; str.splitlines would split there.
    odd = tmp_path / "shield\u2028of\x85the coast.png"
    odd.write_bytes((SAMPLES / "shield-mirrored.png").read_bytes())
    results = tmp_path / "scan.jsonl"
    results.write_text(json_line(Detector(index).check(odd).to_dict()), encoding="utf-8")
    log, allowed = tmp_path / "review.jsonl", tmp_path / "allow.jsonl"

    def opened() -> Any:
        return serve.Review(Detector(index), serve.read_flags(results), results_file=results,
                            allow_list=allowed, review_log=log)

    review = opened()
    assert [flag.result.path for flag in review.flags] == [str(odd)]
    client = serve.create_app(review).test_client()
    assert client.post("/review/1", data={"decision": "dismiss", "token": token_of(client)}).status_code == 303
    assert opened().decisions == {str(odd): "dismiss"}
    assert AllowList.read([allowed]).allows(load_image(odd)) is not None


def test_results_of_another_library_are_refused(serve: Any, index: ReferenceIndex, scanned: Path,
                                                tmp_path: Path) -> None:
    # A dismissal would clear the picture in this library's allow list for an emblem it lacks.
    rows = [json.loads(line) for line in scanned.read_text().splitlines()]
    for row in rows:
        if row.get("match"):
            row["reference"] = "si-webdotde"
    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(InputError, match=r"name emblems that .* does not hold \(si-webdotde\)"):
        serve.Review(Detector(index), serve.read_flags(other), results_file=other,
                     allow_list=tmp_path / "allow.jsonl", review_log=tmp_path / "review.jsonl")


def test_results_written_elsewhere_or_by_another_version_are_still_shown(
    serve: Any, index: ReferenceIndex, scanned: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Scanned from another folder, with the library given relative to it, by another version.
    rows = [json.loads(line) for line in scanned.read_text().splitlines()]
    for row in rows:
        if row.get("evidence"):
            row["evidence"]["variant"] = str(Path("elsewhere") / Path(row["evidence"]["variant"]).relative_to(REPO))
        row["library"] = "0123456789abcdef"
    moved = tmp_path / "moved.jsonl"
    moved.write_text("".join(json.dumps(row) + "\n" for row in rows))
    review = serve.Review(Detector(index), serve.read_flags(moved), results_file=moved,
                          allow_list=tmp_path / "allow.jsonl", review_log=tmp_path / "review.jsonl")
    assert "scored with another version of" in caplog.text and "0123456789abcdef" in caplog.text
    page = serve.create_app(review).test_client().get("/review/1")
    assert page.status_code == 200 and "data:image/jpeg;base64," in page.get_data(as_text=True)
    # The same emblem placed the same way: the picture draws the keypoints that agree, too.
    _, drawn = review.evidence(review.flags[0])
    assert drawn.evidence is not None and drawn.evidence.correspondences


def test_an_emblem_path_written_relative_still_gets_its_correspondences(
    serve: Any, index: ReferenceIndex, scanned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Scanned with `-r reference_logos` in the project's folder; the page serves the same library
    # by its absolute path.
    monkeypatch.chdir(REPO)
    rows = [json.loads(line) for line in scanned.read_text().splitlines()]
    for row in rows:
        if row.get("evidence"):
            row["evidence"]["variant"] = str(Path(row["evidence"]["variant"]).relative_to(REPO))
    relative = tmp_path / "relative.jsonl"
    relative.write_text("".join(json.dumps(row) + "\n" for row in rows))
    review = serve.Review(Detector(index), serve.read_flags(relative), results_file=relative,
                          allow_list=tmp_path / "allow.jsonl", review_log=tmp_path / "review.jsonl")
    _, drawn = review.evidence(review.flags[0])
    assert drawn.evidence is not None and drawn.evidence.correspondences


def test_flags_are_read_from_an_accounts_output(serve: Any, scanned: Path, tmp_path: Path) -> None:
    results = [Result.from_dict(json.loads(line)) for line in scanned.read_text().splitlines()]
    seal = next(r for r in results if r.path.endswith("seal-avatar-captioned.jpg"))
    holiday = next(r for r in results if r.path.endswith("holiday-photo.jpg"))
    accounts = tmp_path / "verdicts.jsonl"
    avatar, thumbnail = AccountImage("avatar", "a.jpg", seal), AccountImage("thumbnail", "b.jpg", holiday)
    rows = [
        AccountVerdict("x", "1", "impersonation", "northmere", "Northmere Security Bureau", "its emblem",
                       display_name="Northmere Security Bureau", images=(avatar, thumbnail)).to_dict(),
        AccountVerdict("y", "2", "impersonation", "northmere", "Northmere Security Bureau", "its emblem",
                       display_name="NSB fan", images=(avatar,)).to_dict(),
        # The body's own account wears the emblem by right: its avatar is no flag to clear.
        AccountVerdict("z", "3", "official", "northmere", "Northmere Security Bureau", "its own account",
                       display_name="Northmere Security Bureau", images=(avatar,)).to_dict(),
    ]
    accounts.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (flag,) = serve.read_flags(accounts)
    assert flag.result == seal
    assert flag.accounts == ("x 1: Northmere Security Bureau", "y 2: NSB fan")
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"path": "a.jpg"}\n')
    with pytest.raises(InputError, match="line 1 is neither a scan result nor an accounts verdict"):
        serve.read_flags(notes)
    spreadsheet = tmp_path / "odd.csv"
    spreadsheet.write_bytes("platform,name\nweibo,国家安全\n".encode("gbk"))
    with pytest.raises(InputError, match=r"odd\.csv: not a scan's results: not UTF-8 text"):
        serve.read_flags(spreadsheet)


def test_serve_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "flask", None)  # what an environment without Flask shows an import
    monkeypatch.delitem(sys.modules, "logowatch.serve", raising=False)
    monkeypatch.delattr(logowatch, "serve", raising=False)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: logowatch serve needs the serve extra: pip install 'logowatch[serve]'"]


def test_serve_has_help_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "flask", None)
    result = CliRunner().invoke(main, ["serve", "-h"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and "--review-log" in result.output and "logowatch[serve]" in result.output


@pytest.fixture()
def running(serve: Any, review: Any) -> Iterator[str]:
    """The page served by waitress on a free port of 127.0.0.1, as ``logowatch serve`` serves it."""
    server = serve.make_server(serve.create_app(review), "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def test_a_reviewer_checks_an_image_and_works_through_the_flags_in_chromium(
    running: str, review: Any, index: ReferenceIndex, tmp_path: Path
) -> None:
    browser.require()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    with browser.chromium(tmp_path / "profile") as driver:
        wait = WebDriverWait(driver, browser.WAIT)
        # Upload a sample: the verdict, the evidence picture and the candidates.
        driver.get(running + "/")
        driver.find_element(By.ID, "image").send_keys(str(SAMPLES / "ministry-thumbnail.jpg"))
        verdict = wait.until(shown.presence_of_element_located((By.CSS_SELECTOR, "p.verdict")))
        assert verdict.text.startswith("MATCH: Ministry of Waterways")
        evidence = driver.find_element(By.ID, "evidence")
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", evidence) > 400
        assert "Candidates" in driver.page_source
        # Work through the scan's flags with the keyboard: confirm the first, dismiss the second.
        driver.get(running + "/review")
        driver.find_element(By.ID, "start").click()
        wait.until(shown.url_to_be(running + "/review/1"))
        driver.find_element(By.TAG_NAME, "body").send_keys("c")
        wait.until(shown.url_to_be(running + "/review/2"))
        # It scores as copies of the emblem do: the page warns, and asks before it dismisses.
        assert review.flags[1].result.score >= MAX_OWN_THRESHOLD and driver.find_element(By.ID, "likely")
        driver.find_element(By.TAG_NAME, "body").send_keys("d")
        wait.until(shown.alert_is_present()).dismiss()  # not sure after all: nothing is sent
        decided = [json.loads(line)["decision"] for line in review.review_log.read_text().splitlines()]
        assert driver.current_url == running + "/review/2" and decided == ["confirm"]
        driver.find_element(By.TAG_NAME, "body").send_keys("d")
        wait.until(shown.alert_is_present()).accept()
        wait.until(shown.url_to_be(running + "/review/3"))
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
        wait.until(shown.url_to_be(running + "/review/2"))
        assert driver.find_element(By.ID, "decided").text == "decided: dismiss"
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
        wait.until(shown.url_to_be(running + "/review/3"))
        driver.find_element(By.TAG_NAME, "body").send_keys("s")
        wait.until(shown.url_to_be(running + "/review/4"))
        assert browser.console_errors(driver) == []
    confirmed, dismissed, skipped = (flag.result for flag in review.flags[:3])
    rows = [json.loads(line) for line in review.review_log.read_text().splitlines()]
    assert [(row["decision"], row["path"], row["sha256"]) for row in rows] == [
        ("confirm", confirmed.path, confirmed.sha256),
        ("dismiss", dismissed.path, dismissed.sha256),
        ("skip", skipped.path, skipped.sha256),
    ]
    assert all(row["time"] and row["entity"] for row in rows)
    # A rescan with the allow list reports the dismissed image as allowed, and the confirmed one still matches.
    rescan = Detector(index, allow=[review.allow_list])
    again = rescan.check(dismissed.path)
    assert again.allowed and not again.match
    assert rescan.check(confirmed.path).match


def test_listening_everywhere_still_refuses_names_of_other_sites(serve: Any, review: Any) -> None:
    import socket

    client = serve.create_app(review, host="0.0.0.0").test_client()
    assert client.get("/", headers={"Host": "attacker.example:8000"}).status_code == 400
    assert client.get("/", headers={"Host": f"{socket.gethostname()}:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200
    # Any of the machine's addresses, which no other site can point a name of its own at.
    assert client.get("/", headers={"Host": "192.0.2.7:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "[2001:db8::7]:8000"}).status_code == 200
    # Every IPv6 address, written with or without its brackets, is everywhere too.
    for everywhere in ("::", "[::]", "::0", "0:0:0:0:0:0:0:0"):
        client = serve.create_app(review, host=everywhere).test_client()
        assert client.get("/", headers={"Host": "192.0.2.7:8000"}).status_code == 200
        assert client.get("/", headers={"Host": "attacker.example:8000"}).status_code == 400
    # Listening on the loopback address alone, another address is still refused.
    loopback = serve.create_app(review).test_client()
    assert loopback.get("/", headers={"Host": "192.0.2.7:8000"}).status_code == 400


def test_listening_on_every_ipv6_address_answers_over_ipv4_too(serve: Any, review: Any) -> None:
    import urllib.request

    try:
        server = serve.make_server(serve.create_app(review, host="::"), "::", 0)
    except OSError as exc:
        pytest.skip(f"no IPv6 on this machine: {exc}")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for address in ("127.0.0.1", "[::1]"):
            with urllib.request.urlopen(f"http://{address}:{server.effective_port}/", timeout=10) as answer:
                assert answer.status == 200
    finally:
        server.close()


def test_the_commands_defaults_are_the_pages(serve: Any) -> None:
    # The command cannot import the page (Flask is an extra) to read them: they are written twice.
    defaults = {option.name: option.default for option in main.commands["serve"].params}
    assert defaults["host"] == serve.DEFAULT_HOST
    assert defaults["port"] == serve.DEFAULT_PORT
    assert defaults["review_log"] == serve.DEFAULT_REVIEW_LOG

"""Accounts: one verdict per account from its official status, its display name and its images.

The library is a copy of the bundled reference_logos with names and official accounts written into each
entity.json; avatars are the bundled samples, copied beside each manifest made by the tests.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult

from logowatch import Detector, Result
from logowatch.account_reports import AVATAR_SIDE, OFFICIAL_AVATAR_SIDE, marked_name, render_accounts_html
from logowatch.accounts import (
    CLEAR,
    IMPERSONATION,
    NOT_UTF8,
    OFFICIAL,
    URL_NOT_PATH,
    AccountChecker,
    AccountImage,
    AccountRow,
    AccountVerdict,
    read_manifest,
    still_to_decide,
)
from logowatch.cli import main
from logowatch.errors import ManifestError
from logowatch.reports import PICTURE_SIDE
from tests import browser
from tests.conftest import FIXTURES, REFERENCES, REPO
from tests.pages import CSP, Page, parsed

SAMPLES = REPO / "samples"
HEADER = ("platform", "account_id", "handle", "display_name", "bio", "avatar", "thumbnails")

BODIES: dict[str, dict[str, Any]] = {
    "kesland-coast-guard": {
        "name": "Kesland Coast Guard",
        "names": ["Kesland Coast Guard", "克斯兰海岸警卫队"],
        "official_accounts": [{"platform": "weibo", "id": "kcg001"}],
    },
    "ministry-of-waterways": {
        "name": "Ministry of Waterways",
        "names": ["Ministry of Waterways", "国家水务部"],
        "official_accounts": [{"platform": "Douyin", "id": "mow-1"}],
    },
    "northmere-security-bureau": {
        "name": "Northmere Security Bureau",
        "names": ["Northmere Security Bureau"],
        "official_accounts": [{"platform": "x", "id": "nsb"}],
    },
    "valport-police": {
        "name": "Valport Police Department",
        "names": ["Valport Police Department", "Valport Police"],
        "hotlines": ["12345"],
    },
}

#: Bundled samples and the body whose emblem each carries (README, "Quick start"), or None.
EMBLEMS = {
    "shield-mirrored.png": "kesland-coast-guard",
    "ministry-thumbnail.jpg": "ministry-of-waterways",
    "seal-avatar-captioned.jpg": "northmere-security-bureau",
    "badge-grey-lowres.jpg": "valport-police",
    "holiday-photo.jpg": None,
    "bakery-avatar.png": None,
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library") / "references"
    shutil.copytree(REFERENCES, root)
    for entity, meta in BODIES.items():
        (root / entity / "entity.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def checker(library: Path, cache_dir: Path) -> AccountChecker:
    return AccountChecker(Detector(library, cache_dir=cache_dir))


def fullwidth(text: str) -> str:
    """``text`` in full-width forms, the way a Chinese input method types Latin letters."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def write_csv(folder: Path, rows: list[dict[str, str]], *, header: tuple[str, ...] = HEADER,
              encoding: str = "utf-8", name: str = "accounts.csv") -> Path:
    """A CSV manifest in ``folder`` with the samples, and a near miss, copied beside it under avatars/."""
    avatars = folder / "avatars"
    if not avatars.exists():
        shutil.copytree(SAMPLES, avatars)
        shutil.copy(FIXTURES / "shield-fragment.png", avatars)
    target = folder / name
    with target.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
    return target


def account(
    account_id: str, display_name: str, avatar: str = "", platform: str = "weibo", **more: str
) -> dict[str, str]:
    """A manifest row; a bare ``avatar`` file name is one of the samples copied under avatars/."""
    return {"platform": platform, "account_id": account_id, "handle": f"h{account_id}", "display_name": display_name,
            "avatar": f"avatars/{avatar}" if avatar and "/" not in avatar else avatar, **more}


def decide(checker: AccountChecker, folder: Path, rows: list[dict[str, str]], **options: Any) -> list[AccountVerdict]:
    return list(checker.check(read_manifest(write_csv(folder, rows, **options)).rows))


@pytest.fixture()
def run(library: Path, cache_dir: Path):
    def invoke(*args: str) -> CliResult:
        return CliRunner().invoke(main, ["accounts", "--cache-dir", str(cache_dir), "-r", str(library), "-j", "1",
                                         *args])

    return invoke


# The rule: official, else impersonation by name or emblem, else clear.


@pytest.mark.parametrize("platform", ["weibo", " WeiBo ", "WEIBO"])
def test_a_listed_official_account_is_official_however_the_platform_is_written(
    checker: AccountChecker, tmp_path: Path, platform: str
) -> None:
    [verdict] = decide(checker, tmp_path, [account("kcg001", "Kesland Coast Guard", "shield-mirrored.png", platform)])
    assert (verdict.verdict, verdict.entity) == (OFFICIAL, "kesland-coast-guard")
    assert verdict.images[0].result.match  # its own avatar carries its emblem, and that is fine
    assert "official" in verdict.reason and "kcg001" in verdict.reason


def test_an_official_account_is_official_whatever_its_name_or_avatar(checker: AccountChecker, tmp_path: Path) -> None:
    [verdict] = decide(checker, tmp_path, [account("mow-1", "Valport Police", "seal-avatar-captioned.jpg", "douyin")])
    assert (verdict.verdict, verdict.entity) == (OFFICIAL, "ministry-of-waterways")


def test_an_official_id_on_another_platform_is_not_official(checker: AccountChecker, tmp_path: Path) -> None:
    rows = [
        account("kcg001", "Kesland Coast Guard", "shield-mirrored.png", "douyin"),
        account("kcg001", "Bakery Mia", "bakery-avatar.png", "x"),
    ]
    copied, plain = decide(checker, tmp_path, rows)
    assert (copied.verdict, copied.entity) == (IMPERSONATION, "kesland-coast-guard")
    assert (plain.verdict, plain.entity) == (CLEAR, None)


@pytest.mark.parametrize(
    ("display_name", "entity", "alias", "trick"),
    [
        (fullwidth("Kesland Coast Guard"), "kesland-coast-guard", "Kesland Coast Guard", "full-width"),
        ("【官方】K e s l a n d  C o a s t  G u a r d", "kesland-coast-guard", "Kesland Coast Guard", "spaced"),
        ("國家水務部热线", "ministry-of-waterways", "国家水务部", "traditional"),
        ("🚨Valp0rt P0lice✅", "valport-police", "Valport Police", "digits-for-letters"),
        ("NORTHMERE SECURITY BUREAU news", "northmere-security-bureau", "Northmere Security Bureau", "case"),
    ],
)
def test_impersonation_by_name(
    checker: AccountChecker, tmp_path: Path, display_name: str, entity: str, alias: str, trick: str
) -> None:
    [verdict] = decide(checker, tmp_path, [account("u1", display_name, "holiday-photo.jpg")])
    assert (verdict.verdict, verdict.entity, verdict.entities) == (IMPERSONATION, entity, (entity,))
    assert verdict.name is not None and verdict.name.alias == alias and trick in verdict.name.tricks
    assert not verdict.images[0].result.match  # the name alone decided
    assert alias in verdict.reason and "display name" in verdict.reason


@pytest.mark.parametrize(("avatar", "entity"), [(a, e) for a, e in EMBLEMS.items() if e is not None])
def test_impersonation_by_emblem(checker: AccountChecker, tmp_path: Path, avatar: str, entity: str) -> None:
    [verdict] = decide(checker, tmp_path, [account("u1", "Mark's Kitchen", avatar)])
    assert (verdict.verdict, verdict.entity, verdict.name) == (IMPERSONATION, entity, None)
    assert "avatar carries its emblem" in verdict.reason


def test_impersonation_by_name_and_emblem(checker: AccountChecker, tmp_path: Path) -> None:
    [verdict] = decide(checker, tmp_path, [account("u1", "Kesland Coast Guard 官方", "shield-mirrored.png")])
    assert (verdict.verdict, verdict.entity, verdict.entities) == (IMPERSONATION, "kesland-coast-guard",
                                                                    ("kesland-coast-guard",))
    assert "display name claims" in verdict.reason and "avatar carries its emblem" in verdict.reason


@pytest.mark.parametrize(
    "display_name", ["Kesland Coast Walks", "Waterways Fan Club", "水务部落格", "Northmere Security"]
)
def test_a_name_that_shares_words_is_clear(checker: AccountChecker, tmp_path: Path, display_name: str) -> None:
    [verdict] = decide(checker, tmp_path, [account("u1", display_name, "bakery-avatar.png")])
    assert (verdict.verdict, verdict.entity, verdict.name) == (CLEAR, None, None)
    assert verdict.reason.startswith("clear: ")


def test_the_name_decides_the_body_when_name_and_emblem_disagree(checker: AccountChecker, tmp_path: Path) -> None:
    [verdict] = decide(checker, tmp_path, [account("u1", "Valport Police", "shield-mirrored.png")])
    assert (verdict.verdict, verdict.entity) == (IMPERSONATION, "valport-police")
    assert verdict.entities == ("valport-police", "kesland-coast-guard")
    assert "the emblem of Kesland Coast Guard (kesland-coast-guard)" in verdict.reason


def test_the_avatar_comes_before_a_thumbnail_with_a_higher_score(checker: AccountChecker, tmp_path: Path) -> None:
    row = account("u1", "Mark", "badge-grey-lowres.jpg", thumbnails="avatars/shield-mirrored.png")
    [verdict] = decide(checker, tmp_path, [row])
    avatar, thumbnail = verdict.images
    assert (avatar.role, thumbnail.role) == ("avatar", "thumbnail")
    assert (thumbnail.result.score or 0.0) > (avatar.result.score or 0.0)  # the score alone would pick the thumbnail
    assert verdict.entity == "valport-police"
    assert verdict.entities == ("valport-police", "kesland-coast-guard")


def test_a_thumbnail_carrying_an_emblem_flags_the_account(checker: AccountChecker, tmp_path: Path) -> None:
    row = account("u1", "Travel vlog", thumbnails=" avatars/holiday-photo.jpg | avatars/ministry-thumbnail.jpg ")
    [verdict] = decide(checker, tmp_path, [row])
    assert [image.given for image in verdict.images] == ["avatars/holiday-photo.jpg", "avatars/ministry-thumbnail.jpg"]
    assert (verdict.verdict, verdict.entity) == (IMPERSONATION, "ministry-of-waterways")
    # Of two thumbnails, the one carrying the emblem is named.
    assert "the thumbnail \u201cavatars/ministry-thumbnail.jpg\u201d carries its emblem" in verdict.reason


def test_two_thumbnails_with_an_emblem_are_told_apart_in_the_reason(checker: AccountChecker, tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "avatars")
    shutil.copy(SAMPLES / "ministry-thumbnail.jpg", tmp_path / "avatars" / "reposted.jpg")
    row = account("u1", "Travel vlog", thumbnails="avatars/ministry-thumbnail.jpg | avatars/holiday-photo.jpg"
                  " | avatars/reposted.jpg")
    [verdict] = decide(checker, tmp_path, [row])
    assert "the thumbnail \u201cavatars/ministry-thumbnail.jpg\u201d carries its emblem" in verdict.reason
    assert "the thumbnail \u201cavatars/reposted.jpg\u201d carries its emblem" in verdict.reason
    # One carrying it beside another that cannot be read: the one carrying it is named too.
    row = account("u2", "Travel vlog", thumbnails="avatars/ministry-thumbnail.jpg | avatars/missing.jpg")
    [verdict] = decide(checker, tmp_path, [row])
    assert "the thumbnail \u201cavatars/ministry-thumbnail.jpg\u201d carries its emblem" in verdict.reason


def test_the_verdicts_come_in_manifest_order_from_one_pool(checker: AccountChecker, tmp_path: Path) -> None:
    rows = [account(f"u{number}", "someone", avatar) for number, avatar in enumerate(EMBLEMS)]
    rows.insert(2, account("no-image", "Valport Police"))
    manifest = read_manifest(write_csv(tmp_path, rows))
    pooled = list(checker.check(manifest.rows, jobs=2))
    assert [v.account_id for v in pooled] == [row["account_id"] for row in rows]
    assert [v.entity for v in pooled] == [*list(EMBLEMS.values())[:2], "valport-police", *list(EMBLEMS.values())[2:]]
    alone = list(checker.check(manifest.rows, jobs=1))
    assert [(v.verdict, v.entity, v.reason) for v in pooled] == [(v.verdict, v.entity, v.reason) for v in alone]


def test_a_verdict_reads_back_from_its_dict(checker: AccountChecker, tmp_path: Path) -> None:
    rows = [account("u1", "Valp0rt Police", "shield-mirrored.png", thumbnails="https://x.test/a.jpg"),
            account("u1", "again")]
    for verdict in decide(checker, tmp_path, rows):
        line = json.loads(json.dumps(verdict.to_dict(), ensure_ascii=False))
        assert AccountVerdict.from_dict(line) == verdict
        assert line["images"] == [image.to_dict() for image in verdict.images]


# Bad manifests: a clear error naming the line, and every other row decided.


@pytest.mark.parametrize("column", ["platform", "account_id", "display_name"])
def test_a_manifest_without_a_required_column_is_refused(tmp_path: Path, run, column: str) -> None:
    header = tuple(c for c in HEADER if c != column)
    manifest = write_csv(tmp_path, [account("u1", "Valport Police")], header=header)
    with pytest.raises(ManifestError, match=rf"accounts\.csv:1: no '{column}' column; the header has"):
        read_manifest(manifest)
    result = run(str(manifest))
    assert result.exit_code == 2
    assert f"no '{column}' column" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_manifest_separated_by_semicolons_is_refused_with_the_reason(tmp_path: Path) -> None:
    # What a spreadsheet set for a European locale saves as "CSV".
    (tmp_path / "accounts.csv").write_text("platform;account_id;display_name\nweibo;1;Bob\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="its cells separated by semicolons"):
        read_manifest(tmp_path / "accounts.csv")


def test_a_manifest_without_the_optional_columns_is_decided(checker: AccountChecker, tmp_path: Path) -> None:
    rows = [account("u1", "Valport Police"), account("u2", "Bob")]
    first, second = decide(checker, tmp_path, rows, header=("platform", "account_id", "display_name"))
    assert (first.verdict, first.entity, first.images) == (IMPERSONATION, "valport-police", ())
    assert (second.verdict, second.images) == (CLEAR, ())
    assert second.reason == "clear: the display name claims no body's name, and there is no image"


def test_a_gbk_manifest_names_each_line_that_is_not_utf8(checker: AccountChecker, tmp_path: Path, run) -> None:
    rows = [account("u1", "国家水务部"), account("u2", "Kesland Coast Guard"), account("u3", "小明")]
    manifest = write_csv(tmp_path, rows, encoding="gbk")
    verdicts = list(checker.check(read_manifest(manifest).rows))
    assert [v.line for v in verdicts] == [2, 3, 4]
    for verdict in (verdicts[0], verdicts[2]):
        assert verdict.verdict is None and verdict.error == f"{manifest}:{verdict.line}: {NOT_UTF8}"
        assert verdict.account_id in ("u1", "u3")  # still named, so that it can be found
    assert (verdicts[1].verdict, verdicts[1].entity) == (IMPERSONATION, "kesland-coast-guard")
    assert run(str(manifest), "-f", "jsonl").exit_code == 0  # one impersonation found


def test_a_gbk_header_is_refused(tmp_path: Path) -> None:
    manifest = write_csv(tmp_path, [account("u1", "Bob")], header=("账号", *HEADER), encoding="gbk")
    with pytest.raises(ManifestError, match=r"accounts\.csv:1: the header is not UTF-8 \(GBK\?\)"):
        read_manifest(manifest)


def test_a_utf8_bom_is_fine(checker: AccountChecker, tmp_path: Path) -> None:
    [verdict] = decide(checker, tmp_path, [account("kcg001", "克斯兰海岸警卫队")], encoding="utf-8-sig")
    assert (verdict.verdict, verdict.entity) == (OFFICIAL, "kesland-coast-guard")


def test_a_repeated_account_is_an_error_naming_the_first_line(checker: AccountChecker, tmp_path: Path) -> None:
    rows = [account("u1", "Valport Police"), account("u2", "Bob"), account("u1", "Valport Police", platform=" WEIBO ")]
    first, _, repeat = decide(checker, tmp_path, rows)
    assert first.verdict == IMPERSONATION
    assert repeat.verdict is None and repeat.images == ()
    assert repeat.error is not None and re.search(r"accounts\.csv:4: the same account .* as line 2", repeat.error)


def test_a_row_with_too_many_cells_is_an_error(checker: AccountChecker, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path, [account("u1", "Bob")], header=("platform", "account_id", "display_name"))
    with manifest.open("a", encoding="utf-8") as handle:
        handle.write("weibo,u2,Smith, John\nweibo,,Kesland Coast Guard\n")
    first, extra, anonymous = list(checker.check(read_manifest(manifest).rows))
    assert first.verdict == CLEAR
    assert extra.verdict is None and "accounts.csv:3: 4 cells, the header has 3" in str(extra.error)
    assert anonymous.verdict is None and "accounts.csv:4: no account_id" in str(anonymous.error)


def test_a_row_too_short_or_swallowed_by_an_open_quote_is_an_error(checker: AccountChecker, tmp_path: Path) -> None:
    manifest = write_csv(tmp_path, [account("u1", "Bob")], header=("platform", "account_id", "display_name", "avatar"))
    with manifest.open("a", encoding="utf-8") as handle:
        handle.write('weibo,u2\nweibo,u3,"unterminated quote,,\nweibo,u4,Kesland Coast Guard,\n')
    bob, short, swallowed = list(checker.check(read_manifest(manifest).rows))
    assert bob.verdict == CLEAR  # no avatar cell: an optional column, decided on the name
    assert short.verdict is None and "accounts.csv:3: 2 cells, the header has 4: no display_name" in str(short.error)
    assert swallowed.verdict is None and swallowed.account_id == "u3"
    assert "accounts.csv:4-5: the display name runs over 2 lines (a quote left open?)" in str(swallowed.error)


@pytest.mark.parametrize("avatar", ["avatars/missing.jpg", "avatars/not-an-image.jpg", "avatars/"])
def test_an_unreadable_avatar_leaves_the_name_to_decide(
    checker: AccountChecker, tmp_path: Path, run, avatar: str
) -> None:
    rows = [account("u1", "Kesland Coast Guard", avatar), account("u2", "Bob", avatar)]
    manifest = write_csv(tmp_path, rows)
    (tmp_path / "avatars" / "not-an-image.jpg").write_text("<html>login</html>", encoding="utf-8")
    named, plain = list(checker.check(read_manifest(manifest).rows))
    for verdict in (named, plain):
        [image] = verdict.images
        assert image.result.status == "error" and image.result.error
        assert verdict.error is None and f"the avatar could not be read: {image.result.error}" in verdict.reason
    assert (named.verdict, named.entity) == (IMPERSONATION, "kesland-coast-guard")
    assert plain.verdict == CLEAR
    write_csv(tmp_path, [account("u2", "Bob", avatar)], name="only-plain.csv")
    assert run(str(tmp_path / "only-plain.csv"), "-q", "-f", "jsonl").exit_code == 3


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.jpg", "HTTP://x.test/b.png", "www.example.com/c.jpg"])
def test_a_url_where_a_path_belongs_is_an_image_error(checker: AccountChecker, tmp_path: Path, url: str) -> None:
    row = account("u1", "Valport Police", url, thumbnails="avatars/holiday-photo.jpg")
    [verdict] = decide(checker, tmp_path, [row])
    url_image, thumbnail = verdict.images
    assert url_image.result.status == "error" and url_image.result.error == f"{url}: {URL_NOT_PATH}"
    assert thumbnail.result.ok
    assert (verdict.verdict, verdict.entity) == (IMPERSONATION, "valport-police")


def test_a_jsonl_manifest(checker: AccountChecker, tmp_path: Path) -> None:
    write_csv(tmp_path, [])  # the avatars
    lines = [
        json.dumps({"platform": "x", "account_id": 42, "display_name": "Mark",
                    "thumbnails": ["avatars/shield-mirrored.png"]}),
        "",
        "{not json",
        json.dumps({"platform": "x", "account_id": "7"}),
        json.dumps(["x", "8", "Valport Police"]),
        json.dumps({"Platform": "X", "Account_ID": "nsb", "Display_Name": "anything", "avatar": None}),
    ]
    manifest = tmp_path / "accounts.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    verdicts = list(checker.check(read_manifest(manifest).rows))
    assert [v.line for v in verdicts] == [1, 3, 4, 5, 6]
    thumbnail, broken, nameless, listed, official = verdicts
    assert (thumbnail.account_id, thumbnail.verdict, thumbnail.entity) == ("42", IMPERSONATION, "kesland-coast-guard")
    assert broken.verdict is None and "accounts.jsonl:3: not a JSON object" in str(broken.error)
    assert nameless.verdict is None and "accounts.jsonl:4: no 'display_name'" in str(nameless.error)
    assert listed.verdict is None and "not a JSON object but list" in str(listed.error)
    assert (official.verdict, official.entity) == (OFFICIAL, "northmere-security-bureau")


def test_a_lone_surrogate_or_a_nul_in_a_jsonl_manifest_stays_with_its_row(run, tmp_path: Path) -> None:
    # JSON admits a lone surrogate (a scraper that cut a name in the middle of an emoji) and a NUL:
    # neither can be encoded or be a file's name, and neither may end the run.
    write_csv(tmp_path, [])  # the avatars
    lines = [
        '{"platform": "x", "account_id": "1", "display_name": "Valport \\ud83d Police"}',
        '{"platform": "x", "account_id": "2", "display_name": "Bob", "avatar": "avatars/pic\\ud83d.png"}',
        '{"platform": "x", "account_id": "3", "display_name": "Bob", "avatar": "avatars/pic\\u0000.png"}',
        '{"platform": "x", "account_id": "4", "display_name": "Mark", "avatar": "avatars/shield-mirrored.png"}',
    ]
    manifest = tmp_path / "accounts.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run(str(manifest), "-f", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["account_id"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[0]["display_name"] == "Valport \ufffd Police"
    # A lone surrogate in a path is what Python makes of a name that is not UTF-8; this one was not.
    assert "pic\ud83d.png: no file can have this name" in rows[1]["images"][0]["result"]["error"]
    assert "no file can have this name" in rows[2]["images"][0]["result"]["error"]
    assert (rows[3]["verdict"], rows[3]["entity"]) == (IMPERSONATION, "kesland-coast-guard")
    # A file name that is not UTF-8, as json.dumps writes one that Python listed: it opens as it is.
    latin = os.fsdecode(b"caf\xe9.png")
    (tmp_path / "avatars" / latin).write_bytes((SAMPLES / "shield-mirrored.png").read_bytes())
    manifest.write_text(json.dumps({"platform": "x", "account_id": "5", "display_name": "Mark",
                                    "avatar": f"avatars/{latin}"}) + "\n", encoding="utf-8")
    (row,) = [json.loads(line) for line in run(str(manifest), "-f", "jsonl").stdout.splitlines()]
    assert (row["verdict"], row["entity"]) == (IMPERSONATION, "kesland-coast-guard")


def test_a_manifest_on_standard_input_has_its_images_beside_the_current_folder(
    library: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_csv(tmp_path, [account("u1", "Mark", avatar="avatars/shield-mirrored.png"), account("u2", "Bob")])
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["accounts", "--cache-dir", str(cache_dir), "-r", str(library), "-j", "1",
                                       "-f", "jsonl", "-"], input=manifest.read_bytes())
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["account_id"], r["verdict"]) for r in rows] == [("u1", IMPERSONATION), ("u2", CLEAR)]


def test_the_manifest_is_not_written_over(tmp_path: Path, run) -> None:
    manifest = write_csv(tmp_path, [account("u1", "Valport Police")])
    before = manifest.read_text()
    result = run("-o", str(manifest), str(manifest))
    assert result.exit_code == 2 and "is the manifest too: writing to it would replace it" in result.output
    assert manifest.read_text() == before


def test_a_missing_or_empty_manifest_is_fatal(tmp_path: Path, run) -> None:
    (tmp_path / "empty.csv").write_text("\n\n", encoding="utf-8")
    (tmp_path / "utf16.csv").write_text("platform,account_id,display_name\n", encoding="utf-16")
    for name, message in [("absent.csv", "cannot read the manifest"), ("empty.csv", "the manifest is empty"),
                          ("utf16.csv", "UTF-16; save it as UTF-8")]:
        result = run(str(tmp_path / name))
        assert result.exit_code == 2 and message in result.stderr


# The command: formats, exit codes, resume, the report.


def test_exit_codes(tmp_path: Path, run) -> None:
    cases = {
        "impersonation.csv": ([account("u1", "Valport Police"), account("u2", "Bob", "missing.jpg")], 0),
        "clear.csv": ([account("u1", "Bob", "bakery-avatar.png"), account("kcg001", "K", "shield-mirrored.png")], 1),
        "image-error.csv": ([account("u1", "Bob", "missing.jpg")], 3),
        "row-error.csv": ([account("u1", "Bob"), account("u1", "Bob")], 3),
    }
    for name, (rows, code) in cases.items():
        result = run(str(write_csv(tmp_path, rows, name=name)), "-f", "jsonl")
        assert result.exit_code == code, (name, result.output)
        assert len(result.stdout.splitlines()) == len(rows)


def test_the_summary_counts_each_verdict(tmp_path: Path, run) -> None:
    rows = [account("u1", "Valport Police"), account("kcg001", "K"), account("u3", "Bob", "missing.jpg"),
            account("u3", "again")]
    result = run(str(write_csv(tmp_path, rows)), "-f", "csv")
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines()[-1] == (
        "4 accounts: 1 impersonation, 1 official, 1 clear, 1 not decided; 1 image unreadable (threshold 0.55)"
    )
    table = list(csv.DictReader(result.stdout.splitlines()))
    assert [row["verdict"] for row in table] == [IMPERSONATION, OFFICIAL, CLEAR, ""]
    assert json.loads(table[0]["name"])["alias"] == "Valport Police"


def test_resume_skips_the_accounts_already_written(tmp_path: Path, run) -> None:
    given = [("Valport Police", ""), ("Bob", "shield-mirrored.png"), ("Ann", "bakery-avatar.png"),
             ("Kesland Coast Guard", ""), ("Zed", "missing.jpg")]
    rows = [account(f"u{n}", name, avatar) for n, (name, avatar) in enumerate(given)]
    manifest = write_csv(tmp_path, rows)
    output = tmp_path / "verdicts.jsonl"
    assert run("-q", "-o", str(output), str(manifest)).exit_code == 0
    whole = output.read_text(encoding="utf-8").splitlines(keepends=True)
    output.write_text("".join(whole[:2]) + whole[2][:40], encoding="utf-8")  # killed while writing the third
    result = run("-o", str(output), "--resume", str(manifest))
    assert result.exit_code == 0, result.output
    assert "resuming: 2 already done, 3 to go" in result.stderr
    assert "5 accounts: 3 impersonations, 0 official, 2 clear" in result.stderr
    resumed = output.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["account_id"] for line in resumed] == [f"u{n}" for n in range(5)]
    assert [json.loads(line)["reason"] for line in resumed] == [json.loads(line)["reason"] for line in whole]


def test_a_manifest_of_a_header_alone_is_said_to_list_no_accounts(tmp_path: Path, run) -> None:
    manifest = write_csv(tmp_path, [])
    result = run(str(manifest), "-f", "jsonl")
    assert result.exit_code == 1 and result.stdout == ""
    assert f"{manifest}: lists no accounts to decide" in result.stderr


def test_resume_keeps_the_error_row_of_an_account_listed_twice(tmp_path: Path, run) -> None:
    # The repeat shares its account's key with the first listing: it is done only once its own
    # line is written, and the resumed file says, and exits, as the whole run did.
    manifest = write_csv(tmp_path, [account("u1", "Bob"), account("u2", "Ann"), account("u1", "Bob again")])
    output = tmp_path / "verdicts.jsonl"
    assert run("-q", "-o", str(output), str(manifest)).exit_code == 3
    whole = output.read_text(encoding="utf-8").splitlines(keepends=True)
    output.write_text(whole[0], encoding="utf-8")
    result = run("-o", str(output), "--resume", str(manifest))
    assert result.exit_code == 3, result.output
    assert "resuming: 1 already done, 2 to go" in result.stderr
    assert output.read_text(encoding="utf-8").splitlines(keepends=True) == whole


def test_what_is_left_to_decide_counts_each_accounts_listings_not_their_lines() -> None:
    def verdict(account_id: str, line: int) -> AccountVerdict:
        return AccountVerdict("x", account_id, CLEAR, None, None, "clear", line=line)

    # Written: u1 (line 2), u2 (line 3). Since then a row was added on top, moving every line down,
    # and u1 is listed again at the end (its repeat: an error row of its own, not yet written).
    rows = [AccountRow(2, "x", "u0"), AccountRow(3, "x", "u1"), AccountRow(4, "x", "u2"), AccountRow(5, "x", "u1")]
    left = still_to_decide(rows, [verdict("u1", 2), verdict("u2", 3)])
    assert [(row.account_id, row.line) for row in left] == [("u0", 2), ("u1", 5)]


def test_resume_refuses_a_file_it_did_not_write(tmp_path: Path, run) -> None:
    manifest = write_csv(tmp_path, [account("u1", "Bob")])
    scan_output = tmp_path / "scan.jsonl"
    scan_output.write_text(json.dumps({"path": "a.jpg", "status": "ok", "match": False, "reference": None,
                                       "score": 0.0, "threshold": 0.55}) + "\n", encoding="utf-8")
    before = scan_output.read_bytes()
    result = run("-o", str(scan_output), "--resume", str(manifest))
    assert result.exit_code == 2 and "not an account verdict" in result.stderr
    assert scan_output.read_bytes() == before
    verdicts = tmp_path / "verdicts.jsonl"
    assert run("-q", "-o", str(verdicts), str(manifest)).exit_code == 1
    result = run("-o", str(verdicts), "--resume", "-t", "0.7", str(manifest))
    assert result.exit_code == 2 and "threshold 0.55, this run uses 0.7" in result.stderr
    assert run("--resume", str(manifest)).exit_code == 2  # --resume needs -o


def test_the_table_names_the_verdict_and_the_account(tmp_path: Path, run) -> None:
    manifest = write_csv(tmp_path, [account("u1", "Valport Police\x1b[2J"), account("u2", "Bob")])
    result = run(str(manifest), "-f", "table")
    lines = result.stdout.splitlines()
    assert lines[1].startswith("IMPERSONATION valport-police") and "weibo:u1" in lines[1]
    assert "\x1b" not in result.stdout  # a name cannot steer the terminal
    assert lines[2].startswith("-")


# The HTML report: made for reviewing.

#: A manifest with one account of each kind the report shows (the repeat of u4 cannot be decided).
REVIEWED = [
    account("u1", "Bob", "holiday-photo.jpg"),  # clear
    account("kcg001", "Kesland Coast Guard", "shield-mirrored.png"),  # official
    account("u3", "Valport Police fans"),  # impersonation by name, no avatar
    account("u4", "Mark", "seal-avatar-captioned.jpg"),  # impersonation by emblem
    account("u5", "Northmere Security Bureau news", "pattern-avatar.png"),  # by name, an avatar without emblem
    account("u6", "Bo", "shield-fragment.png"),  # clear, its avatar a near miss
    account("u4", "Mark"),  # a repeat
]


def account_report(run, tmp_path: Path, rows: list[dict[str, str]]) -> tuple[Page, str]:
    report = tmp_path / "report.html"
    result = run("-o", str(report), str(write_csv(tmp_path, rows)))
    assert result.exit_code in (0, 1), result.output
    text = report.read_text(encoding="utf-8")
    return parsed(text), text


def row_of(page: Page, account_id: str) -> dict[str, str]:
    (row,) = [row for row in page.rows if row["data-account"] == f"weibo {account_id}"]
    return row


def sort_keys(text: str) -> dict[str, list[str]]:
    """Each result table's sortable columns (the ``data-key`` of its header buttons)."""
    heads = re.findall(r'<table class="results" id="([^"]+)"><thead><tr>(.*?)</tr></thead>', text)
    return {table: re.findall(r'data-key="(\w+)"', head) for table, head in heads}


def test_the_accounts_report_shows_impersonations_by_body_then_official_near_misses_clear(
    tmp_path: Path, run
) -> None:
    page, text = account_report(run, tmp_path, REVIEWED)
    sections = ["impersonations", "official", "near-misses", "clear", "errors"]
    starts = [text.index(f'<h2 id="{section}">') for section in sections]
    assert starts == sorted(starts)
    # Bodies by how many accounts impersonate them; in a body, the strongest emblem evidence first.
    assert [row["data-account"] for row in page.in_table("g1-table")] == ["weibo u4", "weibo u5"]
    assert [row["data-account"] for row in page.in_table("g2-table")] == ["weibo u3"]
    assert 'id="g1" data-entity="northmere-security-bureau"' in text and 'href="#g1"' in text
    assert [row["data-account"] for row in page.in_table("official-table")] == ["weibo kcg001"]
    assert [row["data-account"] for row in page.in_table("near-table")] == ["weibo u6"]
    assert [row["data-account"] for row in page.in_table("clear-table")] == ["weibo u1"]
    assert "the same account (weibo u4) as line 5" in text.split('<h2 id="errors">')[1]


def test_an_account_carrying_two_bodies_emblems_shows_the_score_of_the_body_it_is_listed_under(
    tmp_path: Path, run
) -> None:
    # The avatar carries Valport's badge (0.954), a thumbnail the ministry's emblem (0.962).
    rows = [account("u1", "Daily news", "badge-grey-lowres.jpg", thumbnails="avatars/ministry-thumbnail.jpg")]
    page, text = account_report(run, tmp_path, rows)
    (row,) = page.in_table("g1-table")
    entity = re.search(r'id="g1" data-entity="([^"]+)"', text)
    assert entity is not None
    expected = {"valport-police": "0.954", "ministry-of-waterways": "0.962"}[entity.group(1)]
    assert row["data-score"] == expected


def test_the_report_says_how_the_name_was_written_and_why(tmp_path: Path, run) -> None:
    name = fullwidth("Valport") + " Police 官方"
    page, text = account_report(run, tmp_path, [account("u1", name, "holiday-photo.jpg")])
    assert f"<bdi><mark>{fullwidth('Valport')} Police</mark> 官方</bdi>" in text
    assert '<p class="how">written: full-width; reads “valport police 官方”</p>' in text
    assert "impersonation of Valport Police Department (valport-police): the display name claims its name" in text
    (row,) = page.in_table("g1-table")
    assert row["data-name"] == name


def test_a_hostile_display_name_is_marked_and_escaped(tmp_path: Path, run) -> None:
    hostile = '<script>alert(1)</script>Valp0rt "Police"</mark><img src=x onerror=alert(2)>'
    page, text = account_report(run, tmp_path, [account("u3", hostile, "holiday-photo.jpg")])
    assert '<bdi>&lt;script&gt;alert(1)&lt;/script&gt;<mark>Valp0rt &quot;Police</mark>&quot;&lt;/mark&gt;' in text
    assert page.scripts == 1 and page.handlers == [] and "<img src=x" not in text
    assert row_of(page, "u3")["data-name"] == hostile  # the attribute holds the name, escaped, and no more


def test_the_accounts_report_fetches_nothing(tmp_path: Path, run) -> None:
    page, text = account_report(run, tmp_path, REVIEWED)
    assert CSP in text
    assert page.images and all(src.startswith("data:image/jpeg;base64,") for src in page.images)
    assert all(link.startswith(("file:///", "#")) for link in page.links)
    assert "http://" not in text and "https://" not in text
    # Every readable image file is linked; a missing one is named with its reason.
    assert (tmp_path / "avatars" / "seal-avatar-captioned.jpg").as_uri() in row_of(page, "u4")["links"].split()


def test_pictures_only_where_promised(tmp_path: Path, run) -> None:
    page, _ = account_report(run, tmp_path, REVIEWED)

    def sides(account_id: str) -> list[int]:
        return [max(page.picture(src).size) for src in row_of(page, account_id)["images"].split()]

    emblem = row_of(page, "u4")
    number = emblem["id"].removeprefix("r")
    assert sides("u4") == [PICTURE_SIDE, PICTURE_SIDE]  # the avatar, the emblem outlined, beside the emblem
    assert f"#ev{number}-1" in emblem["links"].split() and f"ev{number}-1" in page.ids  # the evidence a click away
    assert sides("u5") == [AVATAR_SIDE]  # an avatar without an emblem: smaller, no evidence
    assert sides("u3") == []  # no avatar
    assert sides("kcg001") == [OFFICIAL_AVATAR_SIDE]
    assert sides("u6") == [PICTURE_SIDE, PICTURE_SIDE]  # the near miss, pictured as a match is
    assert sides("u1") == []  # clear: text only
    assert sorted(i for i in page.ids if i.startswith("ev")) == sorted([f"ev{number}-1",
                                                                       f"ev{row_of(page, 'u6')['id'][1:]}-1"])


def test_a_near_miss_is_pictured_only_as_evidence_about_the_body_claimed(tmp_path: Path, run) -> None:
    # The avatar nearly carries the coast guard's emblem (see u6): evidence about an account that claims the
    # coast guard's name, none about one that claims the police's.
    page, _ = account_report(run, tmp_path, [account("u7", "Valport Police news", "shield-fragment.png"),
                                             account("u8", "Kesland Coast Guard news", "shield-fragment.png")])
    assert row_of(page, "u7")["data-entity"] == "valport-police"
    assert [max(page.picture(src).size) for src in row_of(page, "u7")["images"].split()] == [AVATAR_SIDE]
    assert [max(page.picture(src).size) for src in row_of(page, "u8")["images"].split()] == [PICTURE_SIDE] * 2


def test_a_small_emblem_in_a_thumbnail_gets_its_crop(tmp_path: Path, run) -> None:
    page, _ = account_report(run, tmp_path, [account("u1", "Bob", "holiday-photo.jpg",
                                                     thumbnails="avatars/ministry-thumbnail.jpg")])
    row = row_of(page, "u1")
    # The avatar without emblem, then the thumbnail, the crop around its emblem, and the emblem.
    assert [max(page.picture(src).size) for src in row["images"].split()] == [AVATAR_SIDE, *[PICTURE_SIDE] * 3]


def test_every_results_table_sorts(tmp_path: Path, run) -> None:
    _, text = account_report(run, tmp_path, REVIEWED)
    assert sort_keys(text) == {
        "g1-table": ["name", "account", "score"],
        "g2-table": ["name", "account", "score"],
        "official-table": ["entity", "name", "account"],
        "near-table": ["name", "account", "entity", "score"],
        "clear-table": ["name", "account", "entity", "score"],
    }


def test_nothing_empty_is_shown(tmp_path: Path, run) -> None:
    page, text = account_report(run, tmp_path, [account("u1", "Bob", "holiday-photo.jpg")])
    assert [t for t in page.tables if t] == ["clear-table"]
    assert "entity" not in page.ids  # no body to filter by
    assert all(f'id="{section}"' not in text for section in ("impersonations", "official", "near-misses", "errors"))
    page = parsed(render_accounts_html([], "refs", 0.55, "now"))
    assert page.tables == [] and page.rows == []


def test_a_large_manifest_stays_light(checker: AccountChecker, tmp_path: Path) -> None:
    clear = [
        AccountVerdict(
            platform="weibo", account_id=f"c{n}", verdict=CLEAR, entity=None, entity_name=None,
            reason="clear: the display name claims no body's name, and no image carries an emblem",
            handle=f"person{n}", display_name=f"Person {n}", line=n + 2,
            images=(AccountImage("avatar", f"avatars/{n:05d}.jpg", Result(
                path=f"/data/avatars/{n:05d}.jpg", status="ok", match=False, reference=None, name=None, score=0.0,
                threshold=0.55, sha256="0" * 64)),),
        )
        for n in range(10_000)
    ]
    flagged = decide(checker, tmp_path, REVIEWED[1:5])
    text = render_accounts_html([*clear, *flagged], "refs", 0.55, "now")
    page = parsed(text)
    assert len(page.rows) == 10_004
    # u4's avatar, its emblem and its evidence picture, u5's avatar, the official avatar: none for clear accounts.
    assert len(page.images) == 5
    assert len(text) - sum(map(len, page.images)) < 10_000 * 700


def test_an_account_that_pretends_to_be_two_bodies_is_listed_under_each(
    checker: AccountChecker, tmp_path: Path
) -> None:
    # By name the Kesland Coast Guard, by a thumbnail the Ministry of Waterways: the page's groups, their
    # counts and its filter by body all find it under either.
    row = account("u1", "Kesland Coast Guard", thumbnails="avatars/ministry-thumbnail.jpg")
    [verdict] = decide(checker, tmp_path, [row])
    assert verdict.verdict == IMPERSONATION
    assert set(verdict.entities) == {"kesland-coast-guard", "ministry-of-waterways"}
    page = parsed(render_accounts_html([verdict], "refs", 0.55, "now"))
    listed = {row["data-entity"]: row["data-score"] for row in page.rows}
    assert sorted(listed) == ["kesland-coast-guard", "ministry-of-waterways"]
    # Under the body it claims by name alone, the other body's emblem lends it no score.
    assert listed["kesland-coast-guard"] == "" and float(listed["ministry-of-waterways"]) > 0.55
    assert page.rows[0]["data-account"] == page.rows[1]["data-account"] == "weibo u1"


def test_marked_name_escapes_around_the_mark() -> None:
    assert marked_name("<b>Valport Police&", (3, 17)) == "&lt;b&gt;<mark>Valport Police</mark>&amp;"
    assert marked_name("<i>", None) == "&lt;i&gt;"


def test_the_accounts_report_sorts_filters_opens_evidence_and_obeys_its_policy_in_chromium(
    checker: AccountChecker, tmp_path: Path
) -> None:
    browser.require()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    report = tmp_path / "report.html"
    report.write_text(render_accounts_html(decide(checker, tmp_path, REVIEWED), "refs", 0.55, "now"),
                      encoding="utf-8")
    with browser.chromium(tmp_path / "profile") as driver:
        driver.get(report.as_uri())

        def shown(table: str, key: str) -> list[str]:
            rows = driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
            return [str(row.get_attribute(f"data-{key}")) for row in rows if row.is_displayed()]

        driver.find_element(By.CSS_SELECTOR, '#g1-table button[data-key="name"]').click()
        assert shown("g1-table", "name") == ["Mark", "Northmere Security Bureau news"]
        driver.find_element(By.CSS_SELECTOR, '#g1-table button[data-key="name"]').click()
        assert shown("g1-table", "name") == ["Northmere Security Bureau news", "Mark"]
        # Choosing a body hides the other bodies' groups and rows.
        Select(driver.find_element(By.ID, "entity")).select_by_value("valport-police")
        assert not driver.find_element(By.ID, "g1").is_displayed() and driver.find_element(By.ID, "g2").is_displayed()
        assert driver.find_element(By.ID, "shown").text == "1"
        Select(driver.find_element(By.ID, "entity")).select_by_value("")
        # A click on an avatar carrying an emblem opens its evidence picture; Escape closes it, back at the row.
        row = driver.find_element(By.CSS_SELECTOR, '#g1-table tr[data-name="Mark"]')
        number = str(row.get_attribute("id")).removeprefix("r")
        row.find_element(By.CSS_SELECTOR, "td.pics a").click()
        evidence = driver.find_element(By.ID, f"ev{number}-1")
        WebDriverWait(driver, browser.WAIT).until(lambda _: evidence.is_displayed())
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        WebDriverWait(driver, browser.WAIT).until(lambda _: not evidence.is_displayed())
        assert driver.current_url.endswith(f"#r{number}")
        assert browser.console_errors(driver) == []


def test_accounts_has_help_with_examples() -> None:
    result = CliRunner().invoke(main, ["accounts", "-h"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "logowatch accounts -o report.html" in result.output
    assert "Exit codes" in result.output and "no impersonation" in result.output


def test_a_name_with_nothing_to_match_is_a_library_error_naming_it(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    (library / "valport-police" / "entity.json").write_text(json.dumps({"name": "Valport Police", "names": ["★★"]}))
    manifest = tmp_path / "m.csv"
    manifest.write_text("platform,account_id,display_name\nx,1,someone\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["accounts", "--cache-dir", str(tmp_path / "c"), "-r", str(library),
                                       str(manifest)])
    assert result.exit_code == 2
    assert "'★★' has no letters or digits" in result.output and "entity.json" in result.output


def test_a_cleared_avatar_is_no_evidence_and_the_reason_says_so(checker: AccountChecker, tmp_path: Path) -> None:
    clearing = AccountChecker(Detector(checker.detector.index, allow=[SAMPLES / "shield-mirrored.png"]))
    [verdict] = decide(clearing, tmp_path, [account("u1", "Mark's Kitchen", "shield-mirrored.png")])
    assert verdict.verdict == CLEAR
    assert "a reviewer cleared that picture" in verdict.reason and "kesland-coast-guard" in verdict.reason
    # The report's clear account says why, though its closest emblem scores as a match would.
    assert "a reviewer cleared that picture" in render_accounts_html([verdict], "lib", 0.55, "now")


def test_a_handle_written_with_its_at_sign_is_shown_with_one(checker: AccountChecker, tmp_path: Path) -> None:
    verdicts = decide(checker, tmp_path, [account("u1", "Kesland Coast Guard", handle="@bob")])
    page = render_accounts_html(verdicts, "lib", 0.55, "now")
    assert "@bob" in page and "@@bob" not in page


def test_verdicts_decided_under_other_entity_thresholds_are_other_rules(checker: AccountChecker) -> None:
    # A resumed run must not mix verdicts from before and after a calibration raised an entity.
    raised = Detector(checker.detector.index)
    raised.entity_thresholds = {"kesland-coast-guard": 0.9}
    assert AccountChecker(raised).rules != checker.rules
    assert AccountChecker(Detector(checker.detector.index)).rules == checker.rules

"""The HTML report, CSV round trip and evidence pictures."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from logowatch import Detector, Result, Scored
from logowatch.cli import main
from logowatch.evidence import (
    CHECKER_GREYS,
    CHECKER_SQUARE,
    GAP,
    HEADER_HEIGHT,
    MARGIN_GREY,
    MIN_WIDTH,
    MISS_COLOUR,
    OUTLINE_COLOUR,
    PANEL_HEIGHT,
    emblem_crop,
    headline,
    picture,
    thumbnail,
)
from logowatch.loading import load_image
from logowatch.reports import (
    CSV_FIELDS,
    NEAR_MISS_SHARE,
    NEAR_MISSES,
    PICTURE_SIDE,
    CsvWriter,
    csv_cell,
    render_html,
)
from tests import browser
from tests.conftest import FIXTURES, REFERENCES, REPO
from tests.pages import CSP, Page, parsed

HOSTILE = '"><img src=x onerror=alert(1)>.png'


def html_report(tmp_path: Path, cache_dir: Path) -> tuple[Page, str, list[Path]]:
    inputs = tmp_path / "in"
    shutil.copytree(REPO / "samples", inputs)
    shutil.copy(REPO / "samples" / "shield-mirrored.png", inputs / HOSTILE)
    for name in ("empty.jpg", "bomb.png", "shield-fragment.png"):  # two unreadable files and a near miss
        shutil.copy(FIXTURES / name, inputs / name)
    output = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        ["scan", "--cache-dir", str(cache_dir), "-r", str(REFERENCES), "-f", "html", "-o", str(output), str(inputs)],
    )
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    return parsed(text), text, sorted(inputs.iterdir())


def test_html_report_has_a_row_per_image_and_escapes_names(tmp_path: Path, cache_dir: Path) -> None:
    page, text, inputs = html_report(tmp_path, cache_dir)
    readable = [p for p in inputs if p.name not in ("empty.jpg", "bomb.png")]
    assert sorted(row["data-path"] for row in page.rows) == sorted(str(p) for p in readable)
    assert "empty.jpg" in text and "bomb.png" in text and "decompression bomb" in text
    # The hostile name appears only as text, never as markup.
    assert HOSTILE not in text
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.png" in text
    assert page.handlers == []
    assert page.scripts == 1  # our own filter and sort script, nothing else


def test_html_report_embeds_images_and_sorts_matches_first(tmp_path: Path, cache_dir: Path) -> None:
    page, text, _ = html_report(tmp_path, cache_dir)
    assert page.images and all(src.startswith("data:image/jpeg;base64,") for src in page.images)
    assert "http://" not in text and "https://" not in text
    assert CSP in text
    assert [table for table in page.tables if table] == ["match-table", "near-table", "other-table", "error-table"]
    matches = page.in_table("match-table")
    assert {row["class"] for row in matches} == {"match"}
    scores = [float(row["data-score"]) for row in matches]
    assert scores == sorted(scores, reverse=True)
    assert len(scores) == 5  # the four sample emblems and the hostile copy of the shield
    others = page.in_table("near-table") + page.in_table("other-table")
    assert others and all(row["class"] != "match" and float(row["data-score"]) < min(scores) for row in others)


def sample_results(detector: Detector) -> list[Result]:
    return [detector.check(path) for path in sorted((REPO / "samples").iterdir())]


def test_every_match_has_its_pictures_and_opens_its_evidence(detector: Detector) -> None:
    results = sample_results(detector)
    page = parsed(render_html(results, "refs", 0.55, "now"))
    matches = page.in_table("match-table")
    assert len(matches) == sum(r.match for r in results) == 4
    for row in matches:
        number = row["id"].removeprefix("r")
        # A click on the picture opens the evidence picture, embedded in the page, and closes back to the row.
        assert f"#ev{number}" in row["links"].split()
        assert f"ev{number}" in page.ids
        sources = row["images"].split()
        assert len(sources) in (2, 3)  # the image and the emblem, and the crop where the emblem is small
        for src in sources:
            drawn = page.picture(src)
            assert max(drawn.size) == PICTURE_SIDE
    evidence = [page.picture(src) for src in page.images if page.picture(src).height == HEADER_HEIGHT + PANEL_HEIGHT]
    assert len(evidence) == 4 + len(page.in_table("near-table"))


def test_a_small_emblem_gets_a_crop_with_its_outline(detector: Detector) -> None:
    found = detector.check(REPO / "samples" / "ministry-thumbnail.jpg")
    loaded = load_image(REPO / "samples" / "ministry-thumbnail.jpg")
    crop = emblem_crop(loaded, found, PICTURE_SIDE)
    assert crop is not None and max(crop.size) == PICTURE_SIDE
    # The crop shows the emblem far larger than the thumbnail does: its outline spans most of the crop.
    outline = np.all(np.abs(np.asarray(crop).astype(int) - OUTLINE_COLOUR) < 40, axis=2)
    xs = np.nonzero(outline)[1]
    assert xs.max() - xs.min() > 0.6 * crop.width
    whole = np.asarray(thumbnail(loaded, PICTURE_SIDE, found))
    xs_whole = np.nonzero(np.all(np.abs(whole.astype(int) - OUTLINE_COLOUR) < 40, axis=2))[1]
    assert xs_whole.max() - xs_whole.min() < 0.5 * PICTURE_SIDE
    assert xs_whole.min() > PICTURE_SIDE / 2  # the emblem sits in the right half of the thumbnail
    # An avatar that is the emblem gets no crop: it would repeat the picture of the whole image.
    avatar = detector.check(REPO / "samples" / "shield-mirrored.png")
    assert emblem_crop(load_image(REPO / "samples" / "shield-mirrored.png"), avatar, PICTURE_SIDE) is None


def test_transparent_pixels_are_shown_on_a_checkerboard() -> None:
    drawn = np.asarray(thumbnail(load_image(REFERENCES / "kesland-coast-guard" / "emblem.png"), PICTURE_SIDE))
    corner = drawn[: 2 * CHECKER_SQUARE, : 2 * CHECKER_SQUARE].astype(int).mean(axis=2)
    light, dark = CHECKER_GREYS
    assert abs(corner[1, 1] - light) < 3 and abs(corner[1, CHECKER_SQUARE + 1] - dark) < 3
    assert abs(corner[CHECKER_SQUARE + 1, CHECKER_SQUARE + 1] - light) < 3


def test_near_misses_are_the_best_few_below_the_threshold_with_pictures(detector: Detector) -> None:
    fragment = detector.check(FIXTURES / "shield-fragment.png")
    assert not fragment.match and fragment.score is not None
    assert fragment.score >= NEAR_MISS_SHARE * fragment.threshold
    far = detector.check(REPO / "samples" / "bakery-avatar.png")  # a text avatar on a disc
    assert far.score is not None and 0 < far.score < NEAR_MISS_SHARE * far.threshold
    page = parsed(render_html([far, fragment], "refs", 0.55, "now"))
    assert [row["data-path"] for row in page.in_table("near-table")] == [fragment.path]
    # More near misses than are shown: copies of the fragment with falling scores.
    copies = [replace(fragment, path=str(FIXTURES / "shield-fragment.png") + f"#{n}", score=0.5 - n / 100)
              for n in range(NEAR_MISSES + 2)]
    page = parsed(render_html([far, *copies], "refs", 0.55, "now"))
    near = page.in_table("near-table")
    assert [float(row["data-score"]) for row in near] == [0.5 - n / 100 for n in range(NEAR_MISSES)]
    assert all(row["images"].strip() for row in near)
    others = page.in_table("other-table")
    assert {row["data-path"] for row in others} == {far.path, copies[-2].path, copies[-1].path}
    assert not any(row["images"].strip() for row in others)


def test_allowed_rows_are_marked_and_never_near_misses(detector: Detector) -> None:
    shield = detector.check(REPO / "samples" / "shield-mirrored.png")
    cleared = replace(shield, match=False, allowed=True, allowed_by="cleared.jsonl:1")
    page = parsed(render_html([cleared], "refs", 0.55, "now"))
    assert page.in_table("near-table") == [] and page.in_table("match-table") == []
    (row,) = page.in_table("other-table")
    assert row["class"] == "allowed"
    text = "".join(page.text)
    assert "allowed" in text and "cleared by a reviewer: cleared.jsonl:1" in text
    # Counted as the scan's summary counts it: allowed, and not also as no match.
    html = render_html([cleared], "refs", 0.55, "now")
    assert "<dt>no match</dt><dd>0</dd>" in html and "<dt>allowed</dt><dd>1</dd>" in html


def test_nothing_is_shown_that_is_empty(detector: Detector) -> None:
    matches_only = [r for r in sample_results(detector) if r.match]
    page = parsed(render_html(matches_only, "refs", 0.55, "now"))
    assert [t for t in page.tables if t] == ["match-table"]
    assert "Near misses" not in "".join(page.text) and "could not be read" not in "".join(page.text)
    unreadable = [Result.failed("gone.jpg", "gone.jpg: no such file", 0.55)]
    page = parsed(render_html(unreadable, "refs", 0.55, "now"))
    assert [t for t in page.tables if t] == ["error-table"]
    assert "entity" not in page.ids and "minscore" not in page.ids  # no filter without rows to filter
    assert "gone.jpg: no such file" not in "".join(page.text)  # the row names the file; the reason need not
    assert "no such file" in "".join(page.text)


def test_files_are_linked_by_their_absolute_file_uri(tmp_path: Path, cache_dir: Path) -> None:
    page, _, _ = html_report(tmp_path, cache_dir)
    for row in page.rows:
        assert Path(row["data-path"]).as_uri() in row["links"].split()
    hostile = next(row for row in page.rows if row["data-path"].endswith(HOSTILE))
    link = next(href for href in hostile["links"].split() if href.startswith("file://"))
    assert '"' not in link and "<" not in link and " " not in link and "%22%3E%3Cimg%20src" in link
    assert "file://" + str(tmp_path / "in" / "bomb.png") in page.links


def test_a_file_name_that_is_not_utf8_is_shown_escaped_and_linked_exactly(tmp_path: Path, cache_dir: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"bad\xff.jpg")
    shutil.copy(REPO / "samples" / "seal-avatar-captioned.jpg", folder / name)
    output = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["scan", "--cache-dir", str(cache_dir), "-r", str(REFERENCES), "-q",
                                       "-o", str(output), str(folder)])
    assert result.exit_code == 0, result.output
    page = parsed(output.read_text(encoding="utf-8"))
    (row,) = page.in_table("match-table")
    assert row["data-path"] == str(folder) + "/bad\\xff.jpg"
    assert (folder / name).as_uri() in row["links"].split() and "bad%FF.jpg" in (folder / name).as_uri()


def test_a_relative_path_is_linked_absolute(detector: Detector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    page = parsed(render_html([detector.check("samples/holiday-photo.jpg")], "refs", 0.55, "now"))
    assert (REPO / "samples" / "holiday-photo.jpg").as_uri() in page.links


def test_evidence_text_wraps_between_words_and_paths_anywhere(detector: Detector) -> None:
    text = render_html(sample_results(detector), "refs", 0.55, "now")
    assert "break-all" not in text
    assert "overflow-wrap:anywhere" in text
    assert '<p class="evidence">51 of 191 look-alike keypoint matches' in text


def test_a_file_changed_since_the_scan_gets_no_pictures(detector: Detector, tmp_path: Path) -> None:
    copy = tmp_path / "seal.jpg"
    shutil.copy(REPO / "samples" / "seal-avatar-captioned.jpg", copy)
    found = detector.check(copy)
    shutil.copy(REPO / "samples" / "holiday-photo.jpg", copy)
    page = parsed(render_html([found], "refs", 0.55, "now"))
    (row,) = page.in_table("match-table")
    assert "has changed since it was scanned" in "".join(page.text)
    assert len(row["images"].split()) == 1  # the emblem only: no picture of other bytes


def test_a_large_scan_stays_light(detector: Detector) -> None:
    clear = [
        Result(path=f"/avatars/{n:05d}.jpg", status="ok", match=False, reference=None, name=None, score=0.0,
               threshold=0.55, sha256="0" * 64)
        for n in range(10_000)
    ]
    matched = [r for r in sample_results(detector) if r.match]
    text = render_html([*clear, *matched], "refs", 0.55, "now")
    page = parsed(text)
    assert len(page.rows) == 10_004
    per_match = 4 * 160_000  # the image, the crop, the emblem and the evidence picture, generously
    assert len(text) < 10_000 * 600 + per_match * len(matched)


def test_the_report_sorts_opens_evidence_and_obeys_its_policy_in_chromium(detector: Detector, tmp_path: Path) -> None:
    browser.require()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    report = tmp_path / "report.html"
    report.write_text(render_html(sample_results(detector), "refs", 0.55, "now"), encoding="utf-8")
    with browser.chromium(tmp_path / "profile") as driver:
        driver.get(report.as_uri())

        def order(table: str, key: str) -> list[str]:
            rows = driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
            return [str(row.get_attribute(f"data-{key}")) for row in rows]

        scores = order("match-table", "score")
        assert scores == sorted(scores, reverse=True)
        driver.find_element(By.CSS_SELECTOR, '#match-table button[data-key="entity"]').click()
        assert order("match-table", "entity") == sorted(order("match-table", "entity"))
        driver.find_element(By.CSS_SELECTOR, '#match-table button[data-key="entity"]').click()
        assert order("match-table", "entity") == sorted(order("match-table", "entity"), reverse=True)
        driver.find_element(By.CSS_SELECTOR, '#match-table button[data-key="score"]').click()
        assert order("match-table", "score") == scores
        driver.find_element(By.CSS_SELECTOR, '#match-table button[data-key="path"]').click()
        assert order("match-table", "path") == sorted(order("match-table", "path"))
        # The filter hides what is below the minimum score.
        box = driver.find_element(By.ID, "minscore")
        box.clear()
        box.send_keys("0.96")
        assert driver.find_element(By.ID, "shown").text == str(sum(float(s) >= 0.96 for s in scores))
        box.clear()
        box.send_keys("0")
        # A click on a match's picture opens its evidence picture; Escape closes it, back at the row.
        first = driver.find_element(By.CSS_SELECTOR, "#match-table tbody tr")
        number = str(first.get_attribute("id")).removeprefix("r")
        first.find_element(By.CSS_SELECTOR, "td.pic a").click()
        evidence = driver.find_element(By.ID, f"ev{number}")
        WebDriverWait(driver, browser.WAIT).until(lambda _: evidence.is_displayed())
        image = evidence.find_element(By.TAG_NAME, "img")
        assert driver.execute_script("return arguments[0].naturalHeight", image) == HEADER_HEIGHT + PANEL_HEIGHT
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        WebDriverWait(driver, browser.WAIT).until(lambda _: not evidence.is_displayed())
        assert driver.current_url.endswith(f"#r{number}")
        assert browser.console_errors(driver) == []


def test_csv_round_trips() -> None:
    result = Result(path='a,b\n"c".png', status="ok", match=True, reference="x", name="X", score=0.5,
                    threshold=0.5, candidates=(Scored("x", "X", 0.5, 0.5),))
    stream = io.StringIO()
    CsvWriter(stream).write(result)
    parsed = next(csv.DictReader(io.StringIO(stream.getvalue())))
    assert list(parsed) == list(CSV_FIELDS)
    assert parsed["path"] == result.path
    assert parsed["match"] == "true"
    assert json.loads(parsed["candidates"]) == [c.to_dict() for c in result.candidates]
    assert parsed["evidence"] == "" and csv_cell(None) == ""


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example/","click")', "+86 hotline", "-1+1", "@SUM(A1)",
                                  "\tname", "\rname"])
def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_text(text: str) -> None:
    assert csv_cell(text) == "'" + text
    assert csv_cell("Valport Police") == "Valport Police" and csv_cell(-0.5) == "-0.5"


@pytest.mark.parametrize("text", ["-1001234567890", "+8613800000000", "@valport_police", "@nsb.official", "-0.5"])
def test_an_id_or_a_handle_that_begins_like_a_formula_is_kept_as_it_is(text: str) -> None:
    # To join with the manifest and the JSON lines; none of them is run as a formula.
    assert csv_cell(text) == text


def test_evidence_picture_shows_both_and_is_not_blank(detector: Detector) -> None:
    path = REPO / "samples" / "ministry-thumbnail.jpg"
    drawn = picture(load_image(path).rgb, detector.check(path))
    assert drawn.height == HEADER_HEIGHT + PANEL_HEIGHT
    assert drawn.width > PANEL_HEIGHT * 2
    pixels = np.asarray(drawn)
    assert pixels.std() > 30
    # The header is green for a match.
    assert tuple(pixels[5, 5]) == (30, 170, 60)


@pytest.mark.parametrize("size", [(300, 200), (314, 251), (145, 97), (327, 218)])
def test_an_opaque_emblem_is_shown_without_its_edges_smeared_into_its_margin(
    detector: Detector, tmp_path: Path, size: tuple[int, int]
) -> None:
    # A flag with a red stripe at its top and bottom: prepared, its margin repeats them. (Shrunk
    # to the working size, its support's rim blends with the margin: at some sizes its corners
    # fall under half while its sides do not.)
    width, height = size
    flag = np.full((height, width, 3), 255, np.uint8)
    flag[: height // 5], flag[-(height // 5) :] = (200, 20, 30), (200, 20, 30)
    Image.fromarray(flag).save(tmp_path / "flag.png")
    panel = _emblem_panel(detector, tmp_path / "flag.png")
    assert tuple(panel[2, 2]) == (MARGIN_GREY,) * 3  # the margin, not a red stripe's edge
    assert tuple(panel[PANEL_HEIGHT // 2, 2]) == (MARGIN_GREY,) * 3
    red = np.all(np.abs(panel.astype(int) - (200, 20, 30)) < 30, axis=2)
    # Each red stripe a fifth of the flag's height (less the rows blended with white), not widened
    # by the margin around it.
    flag_height = PANEL_HEIGHT - 2 * np.flatnonzero(panel[:, panel.shape[1] // 2, 0] != MARGIN_GREY)[0]
    assert 0.35 * flag_height < red[:, panel.shape[1] // 2].sum() <= 0.4 * flag_height


def test_a_transparent_emblem_is_shown_on_the_colour_it_was_flattened_onto(detector: Detector, tmp_path: Path) -> None:
    # A white emblem on nothing: flattened onto a dark ground to be seen, and shown so.
    emblem = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(emblem).rectangle((0, 0, 299, 199), fill=(255, 255, 255, 255))
    ImageDraw.Draw(emblem).ellipse((100, 50, 200, 150), fill=(0, 0, 0, 0))
    emblem.save(tmp_path / "emblem.png")
    panel = _emblem_panel(detector, tmp_path / "emblem.png")
    assert panel[PANEL_HEIGHT // 2, panel.shape[1] // 2].max() < 100  # its hole: the dark ground
    assert panel[2, 2].max() < 100 and tuple(panel[2, 2]) != (MARGIN_GREY,) * 3


def _emblem_panel(detector: Detector, variant: Path) -> np.ndarray:
    """The emblem's panel of an evidence picture, drawn with ``variant`` as the emblem matched
    (and no correspondences, which would cross it)."""
    path = REPO / "samples" / "ministry-thumbnail.jpg"
    result = detector.check(path)
    assert result.evidence is not None
    shown = replace(result, evidence=replace(result.evidence, variant=str(variant), mirrored=False, correspondences=()))
    drawn = np.asarray(picture(load_image(path).rgb, shown))
    image_width = round(PANEL_HEIGHT * (result.width or 1) / (result.height or 1))
    return drawn[HEADER_HEIGHT:, : drawn.shape[1] - image_width - GAP]


def test_evidence_counts_keypoints_as_its_summary_does_and_a_miss_accuses_nobody(detector: Detector) -> None:
    # The lowres sample is placed by look-alike matches: one keypoint, several of its neighbours.
    found = detector.check(REPO / "samples" / "badge-grey-lowres.jpg")
    assert found.evidence is not None
    points = [(x, y) for _, _, x, y in found.evidence.correspondences]
    assert len(points) == len(set(points))
    assert f"{found.evidence.inliers} keypoints agree" in headline(found)[1]
    assert found.evidence.summary.startswith(f"{found.evidence.inliers} of ")
    missed = detector.check(REPO / "samples" / "bakery-avatar.png")
    title, detail = headline(missed)
    assert title == "no match" and "closest emblem" in detail and missed.name in detail


def test_the_evidence_picture_outlines_the_emblem_in_a_large_photo(detector: Detector, tmp_path: Path) -> None:
    photo = Image.new("RGB", (3000, 2000), (200, 200, 200))
    seal = Image.open(REFERENCES / "northmere-security-bureau" / "emblem.png").convert("RGBA").resize((500, 500))
    photo.paste(seal, (2200, 1200), seal)
    path = tmp_path / "big.png"
    photo.save(path)
    result = detector.check(path)
    drawn = np.asarray(picture(load_image(path).rgb, result))
    outline = np.all(drawn == np.array(OUTLINE_COLOUR, np.uint8), axis=2)
    ys, _ = np.nonzero(outline[HEADER_HEIGHT:])
    # The image panel is PANEL_HEIGHT high: the seal's outline lies in its lower right quarter.
    scale = PANEL_HEIGHT / 2000
    assert abs(ys.min() - 1200 * scale) < 15 and abs(ys.max() - 1700 * scale) < 15


def test_an_outline_partly_off_the_image_is_drawn_on_the_image_panel_alone(detector: Detector) -> None:
    path = REPO / "samples" / "ministry-thumbnail.jpg"
    result = detector.check(path)
    assert result.evidence is not None and result.width is not None and result.height is not None
    # A placement reaching far past the image's left edge, as a candidate's may.
    left, middle = -2.0 * result.width, result.width / 2
    past = ((left, 10.0), (middle, 10.0), (middle, 60.0), (left, 60.0))
    drawn = np.asarray(picture(load_image(path).rgb, replace(result, evidence=replace(result.evidence, outline=past))))
    outline = np.all(drawn == np.array(OUTLINE_COLOUR, np.uint8), axis=2)
    _, xs = np.nonzero(outline[HEADER_HEIGHT:])
    image_panel_from = drawn.shape[1] - round(PANEL_HEIGHT * result.width / result.height)
    assert xs.size and xs.min() >= image_panel_from - 1


def test_check_writes_an_evidence_picture_even_without_match(tmp_path: Path, cache_dir: Path) -> None:
    target = tmp_path / "ev.png"
    result = CliRunner().invoke(
        main,
        ["check", "--cache-dir", str(cache_dir), "-r", str(REFERENCES), "--evidence", str(target),
         str(REPO / "samples" / "holiday-photo.jpg")],
    )
    assert result.exit_code == 1
    with Image.open(target) as drawn:
        assert drawn.format == "PNG"
        assert drawn.height == HEADER_HEIGHT + PANEL_HEIGHT
        assert tuple(drawn.convert("RGB").getpixel((5, 5))) == (200, 40, 40)


def test_the_evidence_header_fits_its_lines_in_the_picture(detector: Detector) -> None:
    # A miss whose closest emblem has a long name: its line is set smaller, not cut at the edge.
    path = REPO / "samples" / "bakery-avatar.png"
    result = replace(detector.check(path), name="Ministry of Waterways, Canals and Inland Navigation of Kesland")
    drawn = np.asarray(picture(load_image(path).rgb, result))
    assert drawn.shape[1] >= MIN_WIDTH
    margin = drawn[36:56, -8:].reshape(-1, 3)
    assert (margin == np.array(MISS_COLOUR)).all(axis=1).all()


def test_a_newline_in_a_file_or_entity_name_is_drawn_as_an_escape(
    detector: Detector, tmp_path: Path, cache_dir: Path
) -> None:
    # A file name may hold a newline; Pillow refuses to draw a header line that holds one.
    path = tmp_path / "new\nline.png"
    shutil.copy(REPO / "samples" / "shield-mirrored.png", path)
    result = detector.check(path)
    assert result.match
    drawn = picture(load_image(path).rgb, replace(result, name="Kesland\nCoast Guard"))
    assert drawn.height == HEADER_HEIGHT + PANEL_HEIGHT
    # The HTML report, which draws one for every match, is written.
    output = tmp_path / "report.html"
    scan = CliRunner().invoke(
        main, ["scan", "--cache-dir", str(cache_dir), "-r", str(REFERENCES), "-o", str(output), str(path)]
    )
    assert scan.exit_code == 0, scan.output
    assert "new\nline.png" in output.read_text(encoding="utf-8")

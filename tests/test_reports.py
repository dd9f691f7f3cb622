"""The HTML report, CSV round trip and evidence pictures."""

from __future__ import annotations

import csv
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from logowatch import Detector, Result, Scored
from logowatch.cli import main
from logowatch.evidence import HEADER_HEIGHT, OUTLINE_COLOUR, PANEL_HEIGHT, headline, picture
from logowatch.loading import load_image
from logowatch.reports import CSV_FIELDS, CsvWriter, csv_cell
from tests.conftest import FIXTURES, REFERENCES, REPO

HOSTILE = '"><img src=x onerror=alert(1)>.png'


class Page(HTMLParser):
    """Collects what matters of a report: rows, images, scripts, attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.images: list[str] = []
        self.scripts = 0
        self.handlers: list[str] = []
        self.text: list[str] = []
        self.in_results = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "table" and values.get("id") == "results":
            self.in_results = True
        if tag == "tr" and self.in_results and "data-entity" in values:
            self.rows.append({k: v or "" for k, v in values.items()})
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.in_results = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_report(tmp_path: Path, cache_dir: Path) -> tuple[Page, str, list[Path]]:
    inputs = tmp_path / "in"
    shutil.copytree(REPO / "samples", inputs)
    shutil.copy(REPO / "samples" / "shield-mirrored.png", inputs / HOSTILE)
    for name in ("empty.jpg", "bomb.png"):
        shutil.copy(FIXTURES / name, inputs / name)
    output = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        ["scan", "--cache-dir", str(cache_dir), "-r", str(REFERENCES), "-f", "html", "-o", str(output), str(inputs)],
    )
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return page, text, sorted(inputs.iterdir())


def test_html_report_has_a_row_per_image_and_escapes_names(tmp_path: Path, cache_dir: Path) -> None:
    page, text, inputs = html_report(tmp_path, cache_dir)
    readable = [p for p in inputs if p.name not in ("empty.jpg", "bomb.png")]
    assert len(page.rows) == len(readable)
    assert "empty.jpg" in text and "bomb.png" in text and "decompression bomb" in text
    # The hostile name appears only as text, never as markup.
    assert HOSTILE not in text
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.png" in text
    assert page.handlers == []
    assert page.scripts == 1  # our own filter script, nothing else


def test_html_report_embeds_images_and_sorts_matches_first(tmp_path: Path, cache_dir: Path) -> None:
    page, text, _ = html_report(tmp_path, cache_dir)
    assert page.images and all(src.startswith("data:image/jpeg;base64,") for src in page.images)
    assert "http://" not in text and "https://" not in text
    verdicts = [row["class"] for row in page.rows]
    assert verdicts == sorted(verdicts, key=lambda v: v != "match")
    scores = [float(row["data-score"]) for row in page.rows if row["class"] == "match"]
    assert scores == sorted(scores, reverse=True)
    assert len(scores) == 5  # the four sample emblems and the hostile copy of the shield


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


def test_evidence_picture_shows_both_and_is_not_blank(detector: Detector) -> None:
    path = REPO / "samples" / "ministry-thumbnail.jpg"
    drawn = picture(load_image(path).rgb, detector.check(path))
    assert drawn.height == HEADER_HEIGHT + PANEL_HEIGHT
    assert drawn.width > PANEL_HEIGHT * 2
    pixels = np.asarray(drawn)
    assert pixels.std() > 30
    # The header is green for a match.
    assert tuple(pixels[5, 5]) == (30, 170, 60)


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

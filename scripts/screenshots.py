"""Take the README's screenshots in headless Chromium: the HTML report and the reviewer's page.

Needs the serve extra, Selenium and Debian's ``chromium`` and ``chromium-driver``. Run from the
repository root:

    python scripts/screenshots.py

It scans the bundled samples, a copy of one named like HTML, and three files that cannot be read
(copied to /tmp/docs/avatars, so that the paths shown are short and the same every time), and
rewrites ``docs/report.png`` and ``docs/serve.png``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait

from logowatch import Detector, serve

ROOT = Path(__file__).resolve().parent.parent
AVATARS = Path("/tmp/docs/avatars")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
WIDTH = 1200


def inputs() -> list[Path]:
    shutil.rmtree(AVATARS, ignore_errors=True)
    shutil.copytree(ROOT / "samples", AVATARS)
    shutil.copy(ROOT / "samples" / "shield-mirrored.png", AVATARS / '"><img src=x onerror=alert(1)>.png')
    for name in ("bomb.png", "empty.jpg", "login-page.jpg"):
        shutil.copy(ROOT / "tests" / "fixtures" / name, AVATARS / name)
    return sorted(AVATARS.iterdir())


def trimmed(shot: Path, background: tuple[int, int, int] = (250, 250, 250), margin: int = 24) -> None:
    """Cut the empty page below the content off a screenshot."""
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
    rows = [y for y in range(rgb.height) if any(rgb.getpixel((x, y)) != background for x in range(0, rgb.width, 4))]
    rgb.crop((0, 0, rgb.width, min(rgb.height, rows[-1] + margin))).save(shot, optimize=True)


def report(detector: Detector, files: list[Path]) -> None:
    page = AVATARS.parent / "report.html"
    subprocess.run(["logowatch", "scan", "-q", "-j", "1", "-r", str(detector.root), "-o", str(page),
                    *map(str, files)], check=False)
    with tempfile.TemporaryDirectory() as profile:
        shot = ROOT / "docs" / "report.png"
        subprocess.run(["chromium", *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},3000",
                        f"--screenshot={shot}", page.as_uri()], check=True, capture_output=True)
    trimmed(shot)


def page(detector: Detector, files: list[Path]) -> None:
    with tempfile.TemporaryDirectory() as work:
        results = Path(work) / "scan.jsonl"
        results.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in detector.scan(files)), encoding="utf-8")
        review = serve.Review(detector, serve.read_flags(results), results_file=Path("scan.jsonl"),
                              allow_list=Path(work) / "allow.jsonl", review_log=Path(work) / "review.jsonl")
        server = serve.make_server(serve.create_app(review), "127.0.0.1", 0)
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"
        options = Options()
        for flag in [*FLAGS, f"--user-data-dir={work}/profile", f"--window-size={WIDTH},1000"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
        try:
            wait = WebDriverWait(driver, 30)
            driver.get(base + "/review/1")
            for number in (1, 2, 3):  # to the emblem small in a thumbnail, three decided
                driver.find_element(By.TAG_NAME, "body").send_keys("c")
                wait.until(shown.url_to_be(f"{base}/review/{number + 1}"))
            driver.save_screenshot(str(ROOT / "docs" / "serve.png"))
        finally:
            driver.quit()
            server.close()
    trimmed(ROOT / "docs" / "serve.png")


if __name__ == "__main__":
    detector = Detector(ROOT / "reference_logos")
    files = inputs()
    report(detector, files)
    page(Detector(detector.index), files)

"""Take the README's screenshots in headless Chromium: the HTML report, the accounts report and the
reviewer's page.

Needs the serve extra, Selenium, Debian's ``chromium`` and ``chromium-driver``, and a Chinese font
(``fonts-wqy-microhei``; without one the accounts' Chinese names show as boxes). Run from the
repository root:

    python scripts/screenshots.py

It scans the bundled samples, a copy of one named like HTML, and three files that cannot be read
(copied to /tmp/docs/avatars, so that the paths shown are short and the same every time); decides a
small manifest of accounts whose avatars and thumbnails are the samples, against a copy of the
bundled library given names and official accounts (in /tmp/docs/library: the bundled entity.json
files have none); and rewrites ``docs/report.png``, ``docs/accounts-report.png`` and ``docs/serve.png``.
"""

from __future__ import annotations

import csv
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
ACCOUNTS = Path("/tmp/docs/accounts")
LIBRARY = Path("/tmp/docs/library")
#: What the accounts screenshot's library says of each bundled body: its names and official accounts.
BODIES = {
    "kesland-coast-guard": {"name": "Kesland Coast Guard", "names": ["Kesland Coast Guard", "克斯兰海岸警卫队"],
                            "official_accounts": [{"platform": "weibo", "id": "kcg001"}]},
    "ministry-of-waterways": {"name": "Ministry of Waterways", "names": ["Ministry of Waterways", "国家水务部"],
                              "official_accounts": [{"platform": "douyin", "id": "mow-1"}]},
    "northmere-security-bureau": {"name": "Northmere Security Bureau", "names": ["Northmere Security Bureau"],
                                  "official_accounts": [{"platform": "x", "id": "nsb"}]},
    "valport-police": {"name": "Valport Police Department", "names": ["Valport Police Department",
                                                                      "Valport Police"]},
}
#: "Northmere" as a Chinese input method types it: full-width letters.
FULL_WIDTH_NORTHMERE = "".join(chr(ord(c) + 0xFEE0) for c in "Northmere")
#: The manifest: platform, account id, handle, display name, avatar, thumbnails.
MANIFEST = [
    ("weibo", "kcg001", "kesland_cg", "Kesland Coast Guard", "shield-mirrored.png", ""),
    ("douyin", "mow-1", "waterways", "国家水务部", "ministry-thumbnail.jpg", ""),
    ("weibo", "u1042", "kcg_news", "K e s l a n d  Coast Guard | news", "shield-mirrored.png", ""),
    ("weibo", "u2077", "marks_kitchen", "Mark's Kitchen", "seal-avatar-captioned.jpg", ""),
    ("douyin", "d318", "water_daily", "國家水務部 每日", "holiday-photo.jpg",
     "ministry-thumbnail.jpg|pattern-avatar.png"),
    ("x", "vp_fans", "vp_fans", "Valp0rt Police fan club", "badge-grey-lowres.jpg", ""),
    ("x", "nsb-alerts", "nsb_alerts", f"<b>{FULL_WIDTH_NORTHMERE} Security Bureau</b> alerts", "missing.png", ""),
    ("weibo", "u5120", "bos_bakery", "Bo's Bakery", "bakery-avatar.png", ""),
    ("weibo", "u5121", "holidays", "Holiday snaps", "holiday-photo.jpg", ""),
    ("weibo", "u5122", "patterns", "Patterns & tiles", "pattern-avatar.png", ""),
    ("weibo", "u5120", "bos_bakery", "Bo's Bakery (again)", "bakery-avatar.png", ""),
]
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
    shoot(page, ROOT / "docs" / "report.png", 3000)


def shoot(page: Path, shot: Path, height: int) -> None:
    """A screenshot of the static ``page`` in a window :data:`WIDTH` by ``height`` pixels, cut below its content."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(["chromium", *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{height}",
                        f"--screenshot={shot}", page.as_uri()], check=True, capture_output=True)
    trimmed(shot)


def accounts_report() -> None:
    """The accounts report of :data:`MANIFEST`, decided against a copy of the bundled library given
    :data:`BODIES`' names and official accounts."""
    shutil.rmtree(LIBRARY, ignore_errors=True)
    shutil.copytree(ROOT / "reference_logos", LIBRARY)
    for entity, meta in BODIES.items():
        (LIBRARY / entity / "entity.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(ACCOUNTS, ignore_errors=True)
    shutil.copytree(ROOT / "samples", ACCOUNTS / "avatars")
    manifest = ACCOUNTS / "accounts.csv"
    with manifest.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account_id", "handle", "display_name", "avatar", "thumbnails"])
        for platform, account, handle_name, name, avatar, thumbnails in MANIFEST:
            shown = "|".join(f"avatars/{t}" for t in thumbnails.split("|") if t)
            writer.writerow([platform, account, handle_name, name, f"avatars/{avatar}", shown])
    report_file = ACCOUNTS / "report.html"
    subprocess.run(["logowatch", "accounts", "-q", "-j", "1", "-r", str(LIBRARY), "-o", str(report_file),
                    str(manifest)], check=False)
    shoot(report_file, ROOT / "docs" / "accounts-report.png", 4000)


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
    accounts_report()
    page(Detector(detector.index), files)

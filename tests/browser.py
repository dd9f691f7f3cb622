"""A real headless Chromium for the tests that drive a page: Debian's ``chromium`` and ``chromium-driver``
packages, driven by Selenium. A test that needs one skips when any of the three is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Chromium as root in a container: no sandbox, no GPU, no /dev/shm, nothing fetched in the background.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,1000",
)
#: How long a test waits for a page to do what it should, in seconds.
WAIT = 30


def require() -> None:
    """Skip the calling test unless Selenium, chromium and chromedriver are all installed."""
    pytest.importorskip("selenium")
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (apt-get install chromium chromium-driver)")


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A Selenium driver of a fresh headless Chromium, whose profile lives in ``profile``."""
    require()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(shutil.which("chromium"))
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(shutil.which("chromedriver"))))
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    """What the page wrote to the console as errors (a Content-Security-Policy refusal among them)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]

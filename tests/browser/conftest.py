"""Headless Chromium driven by Selenium against pytest-django's live server.

Needs Debian's ``chromium`` and ``chromium-driver`` packages (``/usr/bin/chromium``,
``/usr/bin/chromedriver``) and the ``selenium`` package; without them every test here is skipped
with the reason. ``PGAUDIT_SCREENSHOTS=1`` saves the documentation screenshots into ``docs/img/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("PGAUDIT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PGAUDIT_CHROMEDRIVER", "/usr/bin/chromedriver")
WINDOW = (1280, 900)
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "img"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} not found: install the Debian package {package}"
    return None


@pytest.fixture(scope="session")
def browser_downloads() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="pgaudit-downloads-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(browser_downloads: Path) -> Iterator[Any]:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pgaudit-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    # A fresh profile per run: no state leaks between runs or into the user's own browser.
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(browser_downloads),
            "download.prompt_for_download": False,
        },
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_window_size(*WINDOW)
        # The page area itself is 1280x900 (the window's frame would take some of it).
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
        )
        driver.execute_cdp_cmd(
            "Page.setDownloadBehavior",
            {"behavior": "allow", "downloadPath": str(browser_downloads)},
        )
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot(browser: Any) -> Any:
    """``screenshot("name.png")``: saved to docs/img only when PGAUDIT_SCREENSHOTS=1."""

    def take(name: str) -> Path | None:
        if os.environ.get("PGAUDIT_SCREENSHOTS") != "1":
            return None
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / name
        browser.save_screenshot(str(path))
        return path

    return take

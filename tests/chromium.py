"""Headless Debian Chromium for the browser tests (Playwright's own browser download is blocked)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from .conftest import TIME_UNIT, require

CHROMIUM = Path("/usr/bin/chromium")
BASE_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def ms(seconds: float) -> int:
    """A Playwright timeout (milliseconds), scaled like every other wait of the suite."""
    return int(seconds * 1000 * TIME_UNIT)


@contextlib.contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator[Browser]:
    """A fresh Chromium, closed afterwards; a missing browser skips (fails under CI)."""
    require(CHROMIUM.exists(), "chromium (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[*BASE_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()

"""The console (static/js/connection.js, console.js) facing a limit close, in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from .chromium import chromium, ms
from .conftest import TENANT
from .wsclient import Client

pytestmark = pytest.mark.e2e


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.timeout(180)
def test_console_says_the_session_is_full_and_gets_in_once_a_place_frees(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """With the session's only connection taken, the console says why it cannot connect
    (TOO_MANY_CONNECTIONS, close 4429) and keeps trying; once the other connection leaves it
    connects, and the message goes away."""
    server = spawn("serve", env={"ASTRA_MAX_CONNECTIONS_PER_SESSION": "1"})
    token = server.token()
    session_id = httpx.post(
        f"{server.url}/v1/orchestrator/session/start",
        json={"tenant_id": TENANT},
        headers={"authorization": f"Bearer {token}"},
    ).json()["session_id"]
    holder = Client(server.ws_url, session_id)
    assert holder.hello(token, client_id="holder")["type"] == "welcome"

    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/#token={token}&session={session_id}")
    expect(page.locator("#text-error")).to_contain_text("demasiadas conexiones", timeout=ms(30))
    expect(page.locator("#conn-text")).to_have_text("reconectando…")
    expect(page.locator("#conn-detail")).to_contain_text("demasiadas conexiones")
    shot(page, "session-full")

    holder.close()
    expect(page.locator("#conn-text")).to_have_text("en línea", timeout=ms(40))
    expect(page.locator("#text-error")).to_have_text("")
    shot(page, "connected")
    assert not errors

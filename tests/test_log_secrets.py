"""Tokens never reach the logs. A real server process (its whole output, uvicorn's access log
included, captured by the ``spawn`` fixture) is driven with genuine and bad tokens in every place
a token travels: the Authorization header, the WebSocket hello, the ``astra.bearer.`` subprotocol,
and the console's ``#token=`` link in a real browser. Then the log (and the data directory: Redis'
append-only file, the object store) is searched for every token and every signature: none is
there. The tokens a development server prints on purpose, its demo console links at startup
(recorder and stenographer), are the only JWT-shaped strings allowed in the log."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from playwright.sync_api import expect

from server.auth import issue_token, load_or_create_secret

from .chromium import chromium, ms
from .conftest import TENANT, ServerProcess
from .hostile import JwksServer, bearer, public_jwk, with_payload, ws_attempt
from .wsclient import Client

pytestmark = pytest.mark.e2e

JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
START = "/v1/orchestrator/session/start"


def exercise(server: ServerProcess, good: list[str], bad: list[str]) -> str:
    """Use every genuine token over HTTP, the hello and the subprotocol, and every bad one the
    same ways (each refusal is logged); returns the session id."""
    started = httpx.post(server.url + START, json={"tenant_id": TENANT}, headers=bearer(good[0]))
    assert started.status_code == 201, started.text
    session_id: str = started.json()["session_id"]
    api = f"{server.url}/v1/orchestrator/session/{session_id}"
    for i, token in enumerate(good):
        assert httpx.post(
            f"{api}/append", json={"text": f"Intervención {i}."}, headers=bearer(token)
        ).is_success
        assert httpx.get(f"{api}/events?after=0", headers=bearer(token)).status_code == 200
        for via in ("hello", "subprotocol"):
            subprotocols = ["astra.v1"] + ([f"astra.bearer.{token}"] if via == "subprotocol" else [])
            client = Client(server.ws_url, session_id, subprotocols=subprotocols)
            try:
                assert (
                    client.hello(token if via == "hello" else None, client_id=f"log-{i}-{via}")["type"]
                    == "welcome"
                )
                client.text(1, f"Texto por {via}.")
                client.until(lambda m: m["type"] in ("ack", "error") and m.get("seq") == 1)
            finally:
                client.close()
    for token in bad:
        assert httpx.get(api, headers=bearer(token)).status_code == 401
        assert (
            httpx.post(server.url + START, json={"tenant_id": TENANT}, headers=bearer(token)).status_code
            == 401
        )
        for via in ("hello", "subprotocol"):
            assert ws_attempt(server, session_id, token, via)[1] == 4401
    return session_id


def open_console(server: ServerProcess, good: str, bad: str, session_id: str) -> None:
    """The console opened from a ``#token=`` link: once with a good token (it goes online in the
    session), once with a forged one (the server refuses it and the page asks for a token)."""
    with chromium() as browser:
        context = browser.new_context()
        context.set_default_timeout(ms(30))
        page = context.new_page()
        page.goto(f"{server.url}/#token={good}&session={session_id}")
        expect(page.locator("#conn-text")).to_have_text("en línea", timeout=ms(30))
        page.close()
        page = context.new_page()
        page.goto(f"{server.url}/#token={bad}&session={session_id}")
        expect(page.locator("#signin")).to_be_visible(timeout=ms(30))
        context.close()


def assert_absent(server: ServerProcess, tokens: list[str], allowed: set[str]) -> str:
    """No token, nor any part of a signature, in the server's log or data directory; the log is
    returned."""
    server.stop()  # everything flushed
    log_path = server.data_dir.parent / f"server-{server.port}.log"
    log = log_path.read_text(encoding="utf-8", errors="replace")
    stored = b"".join(
        p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file() and p.name not in ("jwt-secret",)
    )
    for token in tokens:
        # The token, and any 16 characters of its signature (a partial leak is a leak too).
        signature = token.rsplit(".", 1)[1]
        pieces = [token] + [signature[i : i + 16] for i in range(0, max(len(signature) - 15, 0), 4)]
        for piece in pieces:
            assert piece not in log, "a token reached the log"
            assert piece.encode() not in stored, "a token reached the data directory"
    assert set(JWT_SHAPE.findall(log)) <= allowed, "a JWT-shaped string reached the log"
    return log


def test_no_token_reaches_the_log_of_a_development_server(spawn: Callable[..., ServerProcess]) -> None:
    """HS256 server: genuine, expired, forged and tampered tokens over HTTP, the hello, the
    subprotocol and the console link leave no trace in the log or data dir; the refusals and
    uvicorn's access lines are there (the log was really written)."""
    server = spawn("serve")
    secret = load_or_create_secret(server.data_dir / "jwt-secret")
    now = int(time.time())
    good = [server.token(sub="log-recorder"), server.token(role="admin", sub="log-admin")]
    console_good = server.token(sub="log-console")
    bad = [
        issue_token(secret, tenant_id=TENANT, role="recorder", sub="late", ttl=-60),
        jwt.encode({"tenant_id": TENANT, "role": "admin", "sub": "x", "exp": now + 600}, b"f" * 32, "HS256"),
        with_payload(good[0], {"tenant_id": TENANT, "role": "admin", "sub": "x", "exp": now + 600}),
        jwt.encode(
            {"tenant_id": TENANT, "role": "recorder", "sub": "x", "nbf": now + 900, "exp": now + 999}, secret
        ),
    ]
    console_bad = with_payload(
        console_good, {"tenant_id": TENANT, "role": "admin", "sub": "y", "exp": now + 900}
    )
    session_id = exercise(server, good, bad)
    open_console(server, console_good, console_bad, session_id)

    log_path = server.data_dir.parent / f"server-{server.port}.log"
    printed = re.findall(r"http://\S+/#token=(\S+)", log_path.read_text(encoding="utf-8"))
    assert len(printed) == 4, "make run prints its demo links (recorder, two stenographers, admin)"
    log = assert_absent(server, [*good, console_good, *bad, console_bad], set(printed))
    assert "token refused: token expired" in log and "token refused: invalid token" in log
    assert "token refused: token not yet valid" in log
    assert '"GET /v1/orchestrator/session/' in log and "WebSocket /v1/orchestrator/session/" in log
    assert '"GET / HTTP/1.1" 200' in log  # the console page was served


def test_no_token_reaches_the_log_of_a_jwks_server(
    spawn: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """JWKS server: genuine RS256/ES256 tokens and hostile ones (a key-type mismatch that once
    raised inside the verifier, a stranger's key) leave no trace; no JWT at all is in its log."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    idp = JwksServer([public_jwk("rsa-1", rsa_key, "RS256"), public_jwk("ec-1", ec_key, "ES256")])
    try:
        server = spawn("serve", env={"ASTRA_JWKS_URL": idp.url, "ASTRA_JWT_AUDIENCE": "astra"})
        now = int(time.time())
        claims = {"tenant_id": TENANT, "role": "recorder", "sub": "rs", "aud": "astra"}
        claims |= {"iat": now, "exp": now + 600}
        good = [
            jwt.encode(claims, rsa_key, "RS256", headers={"kid": "rsa-1"}),
            jwt.encode(claims, ec_key, "ES256", headers={"kid": "ec-1"}),
        ]
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        bad = [
            jwt.encode(claims, ec_key, "ES256", headers={"kid": "rsa-1"}),
            jwt.encode({**claims, "role": "admin"}, stranger, "RS256", headers={"kid": "rsa-1"}),
            jwt.encode({**claims, "exp": now - 60}, rsa_key, "RS256", headers={"kid": "rsa-1"}),
        ]
        exercise(server, good, bad)
        log = assert_absent(server, [*good, *bad], set())
        assert "token refused" in log and "Traceback" not in log
    finally:
        idp.close()


@pytest.mark.parametrize("sealed_by", ["serve", "guard"])
def test_no_signed_link_reaches_the_log(
    spawn: Callable[..., ServerProcess], tmp_path: Path, sealed_by: str
) -> None:
    """A signed object link (the acta's download URL) is a credential until it expires: the
    access log of whoever serves it (the orchestrator, or a separate ``astra guard`` with its own
    disk) keeps the request's path but not the signature (each once printed whole links)."""
    guard = spawn("guard", data_dir=tmp_path / "guard") if sealed_by == "guard" else None
    server = spawn("serve", env={"ASTRA_GUARD_URL": guard.url} if guard else {})
    links = guard or server
    headers = bearer(server.token(sub="log-links"))
    started = httpx.post(server.url + START, json={"tenant_id": TENANT}, headers=headers)
    assert started.status_code == 201, started.text
    api = f"{server.url}/v1/orchestrator/session/{started.json()['session_id']}"
    assert httpx.post(f"{api}/append", json={"text": "Se abre la sesión."}, headers=headers).is_success
    finalized = httpx.post(f"{api}/finalize", headers=headers, timeout=60)
    assert finalized.status_code == 200, finalized.text
    link = finalized.json()["download_url"]
    assert link.startswith(links.url), link
    signature = parse_qs(urlsplit(link).query)["signature"][0]
    assert httpx.get(link).status_code == 200
    assert httpx.get(link.replace(signature, "0" * len(signature))).status_code == 401
    links.stop()
    log = (links.data_dir.parent / f"server-{links.port}.log").read_text(encoding="utf-8")
    assert signature not in log, "a signed link reached the log"
    downloads = [line for line in log.splitlines() if '"GET /v1/objects/' in line]
    assert len(downloads) == 2 and all("signature=[redacted]" in line for line in downloads), downloads
    assert "expires=" in downloads[0] and '" 200' in downloads[0] and '" 401' in downloads[1]

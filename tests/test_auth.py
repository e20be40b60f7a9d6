"""JWT verification: the development HS256 secret, and RS256/ES256 through a JWKS URL."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from server.auth import NO_AUDIENCE, Authenticator, Principal, issue_token, load_or_create_secret
from server.errors import AuthError, ConfigError, Forbidden


def test_secret_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    """The data dir's secret is generated on first use (mode 0600) and then reused."""
    path = tmp_path / "jwt-secret"
    first = load_or_create_secret(path)
    assert len(first) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(path) == first


def test_hs256_tokens_verify_and_bad_ones_do_not(tmp_path: Path) -> None:
    """A token of this secret verifies to its claims; another secret, expiry, a missing
    tenant or an unknown role are refused."""
    secret = load_or_create_secret(tmp_path / "s")
    auth = Authenticator(secret=secret)
    good = issue_token(secret, tenant_id="T", role="stenographer", sub="ana", ttl=60)
    verified = anyio.run(auth.verify, good)
    assert verified == Principal("T", "stenographer", "ana")
    now = int(time.time())
    assert verified.expires_at is not None and now + 55 <= verified.expires_at <= now + 61  # its exp
    bad = [
        None,
        "",
        issue_token(b"other-secret-of-32-bytes-length!", tenant_id="T", role="viewer", sub="x", ttl=60),
        issue_token(secret, tenant_id="T", role="viewer", sub="x", ttl=-1),
        jwt.encode({"role": "viewer", "sub": "x", "exp": now + 60}, secret, algorithm="HS256"),
        jwt.encode(
            {"tenant_id": "T", "role": "king", "sub": "x", "exp": now + 60}, secret, algorithm="HS256"
        ),
        jwt.encode({"tenant_id": "T", "role": "viewer", "sub": "x"}, secret, algorithm="HS256"),
        # "$" also matches before a final newline: "T\n" was a valid tenant id
        jwt.encode(
            {"tenant_id": "T\n", "role": "viewer", "sub": "x", "exp": now + 60}, secret, algorithm="HS256"
        ),
        jwt.encode({"tenant_id": "T", "role": "viewer", "sub": "x", "exp": now + 60}, "", algorithm="none"),
    ]
    for token in bad:
        with pytest.raises(AuthError):
            anyio.run(auth.verify, token)


def test_roles_gate_actions() -> None:
    """A principal without the role for an action gets Forbidden."""
    Principal("T", "recorder", "x").require(frozenset({"recorder"}), "send")
    with pytest.raises(Forbidden):
        Principal("T", "viewer", "x").require(frozenset({"recorder"}), "send")


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A JWKS endpoint on loopback serving one RSA and one EC public key."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = []
    for kid, key, alg in (("rsa-1", rsa_key, "RS256"), ("ec-1", ec_key, "ES256")):
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
    body = json.dumps({"keys": keys}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", {"rsa-1": rsa_key, "ec-1": ec_key}
    finally:
        server.shutdown()
        thread.join(10)


def test_jwks_verifies_rs256_and_es256_and_refuses_hs256(jwks_server: tuple[str, dict[str, Any]]) -> None:
    """With a JWKS URL, RS256 and ES256 tokens signed by its keys verify (audience and issuer
    checked); an HS256 token or one signed by an unknown key is refused."""
    url, private = jwks_server
    auth = Authenticator(secret=None, jwks_url=url, audience="astra", issuer="https://idp.example")
    claims = {
        "tenant_id": "T",
        "role": "recorder",
        "sub": "r",
        "exp": int(time.time()) + 60,
        "aud": "astra",
        "iss": "https://idp.example",
    }
    for kid, alg in (("rsa-1", "RS256"), ("ec-1", "ES256")):
        token = jwt.encode(claims, private[kid], algorithm=alg, headers={"kid": kid})
        assert anyio.run(auth.verify, token) == Principal("T", "recorder", "r")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = [
        jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "rsa-1"}),
        jwt.encode(claims, b"x" * 32, algorithm="HS256", headers={"kid": "rsa-1"}),
        jwt.encode({**claims, "aud": "other"}, private["rsa-1"], algorithm="RS256", headers={"kid": "rsa-1"}),
    ]
    for token in refused:
        with pytest.raises(AuthError):
            anyio.run(auth.verify, token)


def test_without_an_audience_setting_a_token_naming_one_is_refused_saying_why(
    jwks_server: tuple[str, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """``ASTRA_JWKS_URL`` without ``ASTRA_JWT_AUDIENCE`` (the README lists the audience as an
    addition): PyJWT refuses every token with an ``aud`` claim, as most providers' tokens have.
    The operator is told at startup and with each refusal which setting is missing (the log said
    only ``InvalidAudienceError``); a token without ``aud`` is still accepted."""
    url, private = jwks_server
    claims = {"tenant_id": "T", "role": "viewer", "sub": "v", "exp": int(time.time()) + 60}
    with caplog.at_level(logging.WARNING, logger="astra.auth"):
        auth = Authenticator(secret=None, jwks_url=url)
        plain = jwt.encode(claims, private["rsa-1"], algorithm="RS256", headers={"kid": "rsa-1"})
        assert anyio.run(auth.verify, plain) == Principal("T", "viewer", "v")
        aimed = jwt.encode(
            {**claims, "aud": "astra"}, private["rsa-1"], algorithm="RS256", headers={"kid": "rsa-1"}
        )
        with pytest.raises(AuthError, match="invalid token"):
            anyio.run(auth.verify, aimed)
    said = [r.getMessage() for r in caplog.records if r.name == "astra.auth"]
    assert "ASTRA_JWKS_URL is set without ASTRA_JWT_AUDIENCE" in said[0]
    assert said[1] == f"token refused: invalid token ({NO_AUDIENCE})" and "ASTRA_JWT_AUDIENCE" in NO_AUDIENCE


def test_a_secret_file_too_short_is_refused_and_a_new_one_is_whole(tmp_path: Path) -> None:
    """Review: an empty secret file (a power cut right after it was made, an empty mounted file)
    was used as it was: every token refused, and the local store's link key, derived from it, a
    public constant (anyone could sign a link to any acta). It is refused, saying what to do; a
    new one is written whole (a temporary file flushed and renamed), 32 bytes, mode 0600, and
    read back the same."""
    empty = tmp_path / "empty" / "jwt-secret"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    with pytest.raises(ConfigError, match="fewer than 32"):
        load_or_create_secret(empty)
    made = tmp_path / "new" / "jwt-secret"
    secret = load_or_create_secret(made)
    assert len(secret) == 32 and made.read_bytes() == secret and load_or_create_secret(made) == secret
    assert made.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in made.parent.iterdir()] == ["jwt-secret"]  # no temporary file left

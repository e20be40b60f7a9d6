"""Hostile JWTs against real server processes: one verifying RS256/ES256 through a JWKS served on a
loopback socket (audience and issuer configured), one with the development HS256 secret. Every
forged, expired, premature, misdirected or ill-claimed token is refused with 401 UNAUTHORIZED over
HTTP and closes the WebSocket with 4401, whether it travels in the hello or as the
``astra.bearer.`` subprotocol; claims beyond ``tenant_id``/``role``/``sub`` grant nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from server.auth import Authenticator, Principal, load_or_create_secret
from server.errors import AuthError, ServiceUnavailable

from .conftest import TENANT, TIME_UNIT, ServerProcess, free_port, wait_until
from .hostile import JwksServer, bearer, forge, public_jwk, server_process, with_payload, ws_attempt
from .wsclient import Client

pytestmark = [
    pytest.mark.e2e,
    # HS512 keyed with the server's 32-byte secret is one of the hostile tokens.
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

AUDIENCE = "astra-api"
ISSUER = "https://idp.concejo.test"
DROP = object()
"""A claim value meaning: leave this claim out."""
CHANNELS = ("http", "ws-hello", "ws-subprotocol")
START = "/v1/orchestrator/session/start"


def claims(*, jwks: bool = True, **changes: Any) -> dict[str, Any]:
    """Claims of a genuine recorder token of the demo tenant, with ``changes`` applied."""
    now = int(time.time())
    base: dict[str, Any] = {
        "tenant_id": TENANT,
        "role": "recorder",
        "sub": "ana",
        "iat": now,
        "exp": now + 600,
    }
    if jwks:
        base |= {"aud": AUDIENCE, "iss": ISSUER}
    for name, value in changes.items():
        if value is DROP:
            base.pop(name, None)
        else:
            base[name] = value
    return base


@dataclass
class Idp:
    """The identity provider the JWKS server trusts, and a stranger with its own key set."""

    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    stranger: rsa.RSAPrivateKey
    jwks: JwksServer
    stranger_jwks: JwksServer

    def sign(self, payload: dict[str, Any], kid: str = "rsa-1", **headers: Any) -> str:
        key: Any = self.ec if kid == "ec-1" else self.rsa
        return jwt.encode(
            payload, key, algorithm="ES256" if kid == "ec-1" else "RS256", headers={"kid": kid, **headers}
        )

    def stranger_sign(self, payload: dict[str, Any], kid: str = "rsa-1", **headers: Any) -> str:
        return jwt.encode(payload, self.stranger, algorithm="RS256", headers={"kid": kid, **headers})

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def idp() -> Iterator[Idp]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = JwksServer([public_jwk("rsa-1", rsa_key, "RS256"), public_jwk("ec-1", ec_key, "ES256")])
    stranger_jwks = JwksServer([public_jwk("attacker-1", stranger, "RS256")])
    try:
        yield Idp(rsa_key, ec_key, stranger, jwks, stranger_jwks)
    finally:
        jwks.close()
        stranger_jwks.close()


@dataclass
class Target:
    server: ServerProcess
    session_id: str
    hs_secret: bytes | None = None


def _start_session(server: ServerProcess, token: str) -> str:
    response = httpx.post(server.url + START, json={"tenant_id": TENANT}, headers=bearer(token))
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


@pytest.fixture(scope="module")
def jwks_target(idp: Idp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    env = {"ASTRA_JWKS_URL": idp.jwks.url, "ASTRA_JWT_AUDIENCE": AUDIENCE, "ASTRA_JWT_ISSUER": ISSUER}
    with server_process(tmp_path_factory.mktemp("jwks") / "data", env) as server:
        yield Target(server, _start_session(server, idp.sign(claims())))


@pytest.fixture(scope="module")
def hs_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with server_process(tmp_path_factory.mktemp("hs") / "data") as server:
        secret = load_or_create_secret(server.data_dir / "jwt-secret")
        yield Target(server, _start_session(server, server.token()), secret)


# -- the hostile tokens ----------------------------------------------------------------------------

JWKS_CASES: dict[str, Callable[[Idp], str]] = {
    "expired": lambda i: i.sign(claims(exp=int(time.time()) - 5)),
    "expired_long_ago": lambda i: i.sign(claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
    "nbf_in_the_future": lambda i: i.sign(claims(nbf=int(time.time()) + 600)),
    "iat_in_the_future": lambda i: i.sign(claims(iat=int(time.time()) + 600)),
    "iat_not_a_number": lambda i: i.sign(claims(iat="yesterday")),
    "wrong_audience": lambda i: i.sign(claims(aud="another-api")),
    "no_audience": lambda i: i.sign(claims(aud=DROP)),
    "wrong_issuer": lambda i: i.sign(claims(iss="https://idp.evil.test")),
    "no_issuer": lambda i: i.sign(claims(iss=DROP)),
    "alg_none": lambda i: forge({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims()),
    "alg_None_spelled_otherwise": lambda i: forge({"alg": "None", "typ": "JWT", "kid": "rsa-1"}, claims()),
    "hs256_keyed_with_the_rsa_public_pem": lambda i: forge(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), i.public_pem()
    ),
    "hs256_keyed_with_the_public_jwk": lambda i: forge(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), json.dumps(i.jwks.keys[0]).encode()
    ),
    "es256_token_naming_the_rsa_key": lambda i: jwt.encode(
        claims(), i.ec, algorithm="ES256", headers={"kid": "rsa-1"}
    ),
    "rs256_token_naming_the_ec_key": lambda i: jwt.encode(
        claims(), i.rsa, algorithm="RS256", headers={"kid": "ec-1"}
    ),
    "ps256_with_the_genuine_rsa_key": lambda i: jwt.encode(
        claims(), i.rsa, algorithm="PS256", headers={"kid": "rsa-1"}
    ),
    "rs512_with_the_genuine_rsa_key": lambda i: jwt.encode(
        claims(), i.rsa, algorithm="RS512", headers={"kid": "rsa-1"}
    ),
    "stranger_key_under_a_known_kid": lambda i: i.stranger_sign(claims()),
    "stranger_key_under_an_unknown_kid": lambda i: i.stranger_sign(claims(), kid="attacker-1"),
    "stranger_key_without_kid": lambda i: jwt.encode(claims(), i.stranger, algorithm="RS256"),
    "stranger_key_with_jku_to_its_own_jwks": lambda i: i.stranger_sign(
        claims(), kid="attacker-1", jku=i.stranger_jwks.url
    ),
    "stranger_key_with_embedded_jwk": lambda i: i.stranger_sign(
        claims(), kid="attacker-1", jwk=i.stranger_jwks.keys[0]
    ),
    "admin_role_signed_by_a_stranger": lambda i: i.stranger_sign(claims(role="admin")),
    "tampered_payload_viewer_to_admin": lambda i: with_payload(
        i.sign(claims(role="viewer")), claims(role="admin")
    ),
    "tampered_payload_other_tenant": lambda i: with_payload(
        i.sign(claims()), claims(tenant_id="CONCEJO_OTRO")
    ),
    "signature_stripped": lambda i: i.sign(claims()).rsplit(".", 1)[0] + ".",
    "signature_truncated": lambda i: i.sign(claims())[:-12],
    "no_tenant_id": lambda i: i.sign(claims(tenant_id=DROP)),
    "tenant_id_empty": lambda i: i.sign(claims(tenant_id="")),
    "tenant_id_a_list": lambda i: i.sign(claims(tenant_id=[TENANT])),
    "tenant_id_a_path": lambda i: i.sign(claims(tenant_id=f"../{TENANT}")),
    "no_role": lambda i: i.sign(claims(role=DROP)),
    "unknown_role": lambda i: i.sign(claims(role="superuser")),
    "role_in_other_case": lambda i: i.sign(claims(role="Admin")),
    "role_a_list": lambda i: i.sign(claims(role=["admin"])),
    "no_sub": lambda i: i.sign(claims(sub=DROP)),
    "no_exp": lambda i: i.sign(claims(exp=DROP)),
    "not_a_jwt": lambda i: "not.a.jwt",
    "header_not_json": lambda i: "eyJub3QganNvbg." + i.sign(claims()).split(".", 1)[1],
}

HS_CASES: dict[str, Callable[[Idp, bytes], str]] = {
    "rs256_token": lambda i, s: jwt.encode(
        claims(jwks=False), i.rsa, algorithm="RS256", headers={"kid": "rsa-1"}
    ),
    "es256_token": lambda i, s: jwt.encode(
        claims(jwks=False), i.ec, algorithm="ES256", headers={"kid": "ec-1"}
    ),
    "hs512_with_our_secret": lambda i, s: jwt.encode(claims(jwks=False), s, algorithm="HS512"),
    "another_secret": lambda i, s: jwt.encode(
        claims(jwks=False), b"another secret, 32 bytes long...", "HS256"
    ),
    "alg_none": lambda i, s: forge({"alg": "none", "typ": "JWT"}, claims(jwks=False)),
    "expired": lambda i, s: jwt.encode(claims(jwks=False, exp=int(time.time()) - 5), s, "HS256"),
    "nbf_in_the_future": lambda i, s: jwt.encode(claims(jwks=False, nbf=int(time.time()) + 600), s, "HS256"),
    "iat_in_the_future": lambda i, s: jwt.encode(claims(jwks=False, iat=int(time.time()) + 600), s, "HS256"),
    "tampered_payload_viewer_to_admin": lambda i, s: with_payload(
        jwt.encode(claims(jwks=False, role="viewer"), s, "HS256"), claims(jwks=False, role="admin")
    ),
    "no_tenant_id": lambda i, s: jwt.encode(claims(jwks=False, tenant_id=DROP), s, "HS256"),
    "tenant_id_a_path": lambda i, s: jwt.encode(claims(jwks=False, tenant_id="../../etc"), s, "HS256"),
    "unknown_role": lambda i, s: jwt.encode(claims(jwks=False, role="root"), s, "HS256"),
    "no_role": lambda i, s: jwt.encode(claims(jwks=False, role=DROP), s, "HS256"),
}


def assert_refused(target: Target, token: str, channel: str) -> None:
    """The token is refused on ``channel`` with the coded 401 / 4401, and nothing of the session
    it aimed at comes back."""
    server, session_id = target.server, target.session_id
    if channel == "http":
        read = httpx.get(f"{server.url}/v1/orchestrator/session/{session_id}", headers=bearer(token))
        start = httpx.post(server.url + START, json={"tenant_id": TENANT}, headers=bearer(token))
        for response in (read, start):
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "UNAUTHORIZED"
            assert session_id not in response.text
        return
    frames, close_code = ws_attempt(
        server, session_id, token, "hello" if channel == "ws-hello" else "subprotocol"
    )
    assert [f["type"] for f in frames] == ["error"] and frames[0]["code"] == "UNAUTHORIZED", frames
    assert close_code == 4401


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", sorted(JWKS_CASES))
def test_jwks_server_refuses_hostile_token(case: str, channel: str, idp: Idp, jwks_target: Target) -> None:
    """A JWKS-configured server refuses each hostile token with 401 / close 4401 on every channel."""
    assert_refused(jwks_target, JWKS_CASES[case](idp), channel)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", sorted(HS_CASES))
def test_hs256_server_refuses_hostile_token(case: str, channel: str, idp: Idp, hs_target: Target) -> None:
    """The development HS256 server refuses each hostile token with 401 / close 4401 on every channel."""
    assert hs_target.hs_secret is not None
    assert_refused(hs_target, HS_CASES[case](idp, hs_target.hs_secret), channel)


# -- what must still pass --------------------------------------------------------------------------


def genuine_tokens(idp: Idp, target: Target, **changes: Any) -> dict[str, str]:
    if target.hs_secret is not None:
        return {"hs256": jwt.encode(claims(jwks=False, **changes), target.hs_secret, "HS256")}
    return {"rs256": idp.sign(claims(**changes)), "es256": idp.sign(claims(**changes), kid="ec-1")}


def welcome(target: Target, token: str, via: str) -> dict[str, Any]:
    subprotocols = ["astra.v1"] + ([f"astra.bearer.{token}"] if via == "subprotocol" else [])
    client = Client(target.server.ws_url, target.session_id, subprotocols=subprotocols)
    try:
        reply = client.hello(token if via == "hello" else None, client_id=f"genuine-{via}")
        assert reply["type"] == "welcome", reply
        return reply
    finally:
        client.close()


@pytest.mark.parametrize("mode", ["jwks", "hs"])
def test_genuine_tokens_pass_on_every_channel(mode: str, idp: Idp, request: pytest.FixtureRequest) -> None:
    """The control: genuine tokens (RS256 and ES256 from the JWKS, HS256 from the secret), also
    minted by a clock a little ahead of ours (within the leeway), open the session everywhere."""
    target: Target = request.getfixturevalue(f"{mode}_target")
    ahead = int(time.time()) + 10
    for changes in ({}, {"iat": ahead, "nbf": ahead}):
        for name, token in genuine_tokens(idp, target, **changes).items():
            url = f"{target.server.url}/v1/orchestrator/session/{target.session_id}"
            assert httpx.get(url, headers=bearer(token)).status_code == 200, (name, changes)
            for via in ("hello", "subprotocol"):
                assert welcome(target, token, via)["role"] == "recorder"


@pytest.mark.parametrize("mode", ["jwks", "hs"])
def test_extra_claims_grant_nothing(mode: str, idp: Idp, request: pytest.FixtureRequest) -> None:
    """A viewer token carrying ``roles: [admin]``, ``scope: admin`` and the like stays a viewer:
    it may read, but starting, writing and finalizing are FORBIDDEN (HTTP 403 and on the socket)."""
    target: Target = request.getfixturevalue(f"{mode}_target")
    extra = {"roles": ["admin"], "scope": "admin", "is_admin": True, "realm_access": {"roles": ["admin"]}}
    api = f"{target.server.url}/v1/orchestrator/session/{target.session_id}"
    for token in genuine_tokens(idp, target, role="viewer", **extra).values():
        assert httpx.get(api, headers=bearer(token)).status_code == 200
        for response in (
            httpx.post(target.server.url + START, json={"tenant_id": TENANT}, headers=bearer(token)),
            httpx.post(f"{api}/append", json={"text": "Se abre la sesión."}, headers=bearer(token)),
            httpx.post(f"{api}/finalize", headers=bearer(token)),
        ):
            assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
        client = Client(target.server.ws_url, target.session_id)
        try:
            assert client.hello(token, client_id="viewer")["role"] == "viewer"
            client.text(1, "Se abre la sesión.")
            refused = client.until(lambda m: m["type"] == "error")
            assert refused["code"] == "FORBIDDEN" and refused["seq"] == 1
        finally:
            client.close()
        session = httpx.get(api, headers=bearer(token)).json()
        assert session["status"] == "OPEN" and session["block_count"] == 0


# -- the key set itself ----------------------------------------------------------------------------


def test_a_withdrawn_key_stops_verifying(idp: Idp) -> None:
    """A key the identity provider removes from its JWKS is refused once the cached key set
    expires (keys are not cached per key id forever)."""
    server = JwksServer([public_jwk("rotating", idp.rsa, "RS256")])
    try:
        auth = Authenticator(secret=None, jwks_url=server.url, jwks_cache_ttl=0.5)
        token = jwt.encode(claims(jwks=False), idp.rsa, algorithm="RS256", headers={"kid": "rotating"})
        assert anyio.run(auth.verify, token) == Principal(TENANT, "recorder", "ana")
        server.keys = [public_jwk("ec-1", idp.ec, "ES256")]

        def refused() -> bool:
            try:
                anyio.run(auth.verify, token)
            except AuthError:
                return True
            return False

        wait_until(refused, 10, "the withdrawn key to be refused")
    finally:
        server.close()


def test_forged_key_ids_do_not_hammer_the_identity_provider(idp: Idp) -> None:
    """Many tokens naming unknown key ids cost at most one extra JWKS fetch per cooldown."""
    server = JwksServer([public_jwk("rsa-1", idp.rsa, "RS256")])
    try:
        auth = Authenticator(secret=None, jwks_url=server.url)
        assert anyio.run(auth.verify, idp.sign(claims(jwks=False))).role == "recorder"
        for i in range(50):
            with pytest.raises(AuthError):
                anyio.run(auth.verify, idp.stranger_sign(claims(jwks=False), kid=f"forged-{i}"))
        assert server.fetches <= 2, server.fetches
    finally:
        server.close()


def test_an_unreachable_key_set_is_503_not_401(tmp_path: Path) -> None:
    """When the JWKS cannot be fetched the caller gets SERVICE_UNAVAILABLE (retry later), not
    UNAUTHORIZED (which would tell a client to discard a good token)."""
    auth = Authenticator(
        secret=None, jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json", jwks_timeout=5 * TIME_UNIT
    )
    token = jwt.encode(
        claims(jwks=False), rsa.generate_private_key(65537, 2048), "RS256", headers={"kid": "k"}
    )
    with pytest.raises(ServiceUnavailable):
        anyio.run(auth.verify, token)

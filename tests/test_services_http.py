"""Collaborators over HTTP: the HTTP clients against the embedded services served by ``astra``
commands over real sockets, and the clients' error translation."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import docx
import httpx
import msgpack
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.errors import ConfigError, NotFound, ServiceError, ServiceUnavailable
from server.services.builder import BuildRequest
from server.services.core import INLINE_TEXT_CHARS, AudioRequest, EmbeddedCore, HttpCore, TextRequest
from server.services.guard import content_hash
from server.services.http_client import collaborators_client, ignored_proxies, pack_body
from server.services.http_service import check_exposure
from server.services.resilience import with_retries
from server.services.tenants import DirectoryTenants, FileRegistry, HttpRegistry, HttpTenants
from server.settings import PACKAGE_TENANTS_DIR, Retry, Settings

from .conftest import ROOT, TENANT, ServerProcess, with_settings
from .faultkit import fault_proxy
from .test_http_api import without_core_properties_type

pytestmark = pytest.mark.e2e


SERVICE_TOKEN = "the-secret-the-orchestrators-share"


@pytest.fixture
def services(spawn: Callable[..., ServerProcess]) -> dict[str, ServerProcess]:
    """Every collaborator served by its ``astra`` command, requiring the service token."""
    env = {"ASTRA_SERVICE_TOKEN": SERVICE_TOKEN}
    return {kind: spawn(kind, env=env) for kind in ("core", "builder", "guard", "tenants", "registry")}


OPENING_READ = (
    "Siendo las nueve de la mañana se declara abierta la sesión ordinaria del Concejo Distrital de "
    "Santiago de Cali. Saludo a los honorables concejales, a los funcionarios citados y a la ciudadanía "
    "que nos acompaña en el recinto."
)
WORDS_AFTER_THE_CUT = "Señora secretaria, sírvase llamar a lista y verificar el quórum."


def test_http_clients_match_the_embedded_implementations(services: dict[str, ServerProcess]) -> None:
    """Tenants, registry and CORE over HTTP answer what the embedded ones answer; unknown ids
    are NotFound, not a crash."""

    async def scenario() -> None:
        async with collaborators_client(10, SERVICE_TOKEN) as http:
            tenants = HttpTenants(http, services["tenants"].url)
            local = DirectoryTenants(PACKAGE_TENANTS_DIR)
            assert (await tenants.config(TENANT)).to_dict() == (await local.config(TENANT)).to_dict()
            remote_skeleton = await tenants.skeleton(TENANT, "SKEL_STD_V1")
            local_skeleton = await local.skeleton(TENANT, "SKEL_STD_V1")
            assert remote_skeleton == local_skeleton
            with pytest.raises(NotFound):
                await tenants.config("NO_EXISTE")
            with pytest.raises(NotFound):
                await tenants.skeleton(TENANT, "NO_EXISTE")
            pin = await HttpRegistry(http, services["registry"].url).adapter_for(TENANT)
            assert pin.adapter_id == "adapter_cali_v2"
            core = HttpCore(http, services["core"].url)
            result = await core.process_text(
                TextRequest(
                    TENANT, "adapter_cali_v2", "Tiene la palabra el concejal Jhon Pérez.", {"Jhon": "John"}
                )
            )
            assert result.template_id == "TPL_DEBATE" and "John" in result.text
            # the words after a cut, with the speech they end: CORE over HTTP reads it whole too
            ending = TextRequest(
                TENANT, "adapter_cali_v2", WORDS_AFTER_THE_CUT, {}, "TPL_APERTURA", True, OPENING_READ
            )
            remote, embedded = await core.process_text(ending), EmbeddedCore().process_text_sync(ending)
            assert remote == embedded and remote.template_id == "TPL_APERTURA"

    anyio.run(scenario)


def test_orchestrator_runs_a_session_on_remote_services(
    services: dict[str, ServerProcess], settings: Settings, make_token: Callable[..., str]
) -> None:
    """With every collaborator configured by URL, a session starts, classifies, finalizes, and
    the guard's download link returns the bytes whose SHA-256 is the integrity hash: every call
    carries the service token, and the link, which people follow, needs none."""
    remote = with_settings(
        settings,
        core_url=services["core"].url,
        builder_url=services["builder"].url,
        guard_url=services["guard"].url,
        tenants_url=services["tenants"].url,
        registry_url=services["registry"].url,
        service_token=SERVICE_TOKEN,
    )
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(remote)) as client:
        response = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth)
        api = f"/v1/orchestrator/session/{response.json()['session_id']}"
        texts = [
            "Se abre la sesión.",
            "Señor secretario, sírvase llamar a lista.",
            "Tiene la palabra el concejal Pedro Gómez.",
        ]
        for text in texts:
            assert client.post(f"{api}/append", json={"text": text}, headers=auth).status_code == 200
        draft = client.get(f"{api}/preview", headers=auth)  # the draft's notice crosses the wire too
        assert draft.status_code == 200, draft.text
        assert docx.Document(io.BytesIO(draft.content)).paragraphs[0].text.startswith("BORRADOR SIN VALIDEZ")
        result = client.post(f"{api}/finalize", headers=auth).json()
        blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    # the block list spliced into the BUILDER and GUARD bodies is the session's, in order
    assert result["content_hash"] == content_hash(blocks) and result["block_count"] == 3
    assert result["download_url"].startswith(services["guard"].url)
    document = httpx.get(result["download_url"]).content
    assert hashlib.sha256(document).hexdigest() == result["integrity_hash"]
    body = docx.Document(io.BytesIO(document)).element.body
    text = "".join(
        t.text or "" for t in body.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t")
    )
    assert "Pedro Gómez" in text


def test_the_collaborators_refuse_a_call_without_the_service_token(
    services: dict[str, ServerProcess],
) -> None:
    """Every route of every collaborator but its health answers 401 UNAUTHORIZED, before reading
    the body, to a call without the service token or with another one; with it, the same call
    is served."""
    # each call, and what it gets with the token: the GETs and the link are served, the bodies
    # below are refused for what they are (422), no longer for who sent them
    calls = [
        ("core", "POST", "/v1/core/text", {"json": {"tenant_id": TENANT}}, 422),
        ("core", "POST", "/v1/core/audio", {"content": b"\x80"}, 422),
        ("builder", "POST", "/v1/builder/build", {"content": b"\x80"}, 422),
        ("guard", "POST", "/v1/guard/seal", {"content": b"\x80"}, 422),
        ("guard", "POST", "/v1/guard/url", {"json": {"key": f"{TENANT}/any/acta.docx"}}, 200),
        ("tenants", "GET", f"/v1/tenants/{TENANT}", {}, 200),
        ("tenants", "GET", f"/v1/tenants/{TENANT}/skeletons/SKEL_STD_V1", {}, 200),
        ("registry", "GET", f"/v1/registry/{TENANT}", {}, 200),
    ]
    wrong = ({}, {"authorization": "Bearer another-secret"}, {"authorization": SERVICE_TOKEN})
    for kind, method, path, body, status in calls:
        url = services[kind].url + path
        for headers in wrong:
            refused = httpx.request(method, url, headers=headers, timeout=10, **body)
            assert refused.status_code == 401, (path, headers, refused.text)
            assert refused.json()["error"]["code"] == "UNAUTHORIZED"
        auth = {"authorization": f"Bearer {SERVICE_TOKEN}"}
        served = httpx.request(method, url, headers=auth, timeout=10, **body)
        assert served.status_code == status, (path, served.text)
    for kind, service in services.items():
        assert httpx.get(service.url + "/healthz", timeout=10).json() == {"status": "ok", "service": kind}


def test_the_service_token_goes_to_our_collaborators_and_not_to_learn(settings: Settings) -> None:
    """Review: one HTTP client with the token as a default header also served LEARN, which is
    not one of ours (no ``astra learn`` checks the token): whoever runs the LEARN endpoint would
    have received the secret that lets GUARD seal documents and sign links to any acta."""
    nowhere = "http://127.0.0.1:9"
    remote = with_settings(settings, core_url=nowhere, learn_url=nowhere, service_token=SERVICE_TOKEN)
    with TestClient(create_app(remote)) as client:
        orchestrator = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        assert orchestrator.core._client.headers.get("authorization") == f"Bearer {SERVICE_TOKEN}"
        assert "authorization" not in orchestrator.learn._client.headers


def test_the_service_token_is_read_as_a_header_value() -> None:
    """The newline a secrets file ends with is not part of the token (it would make every call
    fail as if the collaborators were down); a token no header can carry is refused at start."""
    assert Settings.from_env({"ASTRA_SERVICE_TOKEN": " s3cr3t-token\n"}).service_token == "s3cr3t-token"
    assert Settings.from_env({"ASTRA_SERVICE_TOKEN": ""}).service_token is None
    assert "s3cr3t" not in repr(Settings.from_env({"ASTRA_SERVICE_TOKEN": "s3cr3t"}))
    with pytest.raises(ValueError, match="ASTRA_SERVICE_TOKEN"):
        Settings.from_env({"ASTRA_SERVICE_TOKEN": "contraseña"})


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "actas.example.org"])
def test_a_collaborator_beyond_loopback_without_the_token_refuses_to_start(host: str, tmp_path: Path) -> None:
    """``astra guard --host 0.0.0.0`` without ``ASTRA_SERVICE_TOKEN`` exits at once, saying what to
    set, instead of serving anyone who reaches it; loopback needs no token, and with the token any
    interface is allowed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTRA_")}
    command = [
        sys.executable,
        "-m",
        "server",
        "guard",
        "--host",
        host,
        "--port",
        "9",
        "--data-dir",
        str(tmp_path),
    ]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert refused.returncode == 2
    assert "ASTRA_SERVICE_TOKEN" in refused.stderr and host in refused.stderr
    check_exposure(host, "a-token")
    for loopback in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        check_exposure(loopback, None)
    with pytest.raises(ConfigError):
        check_exposure(host, None)


def test_a_remote_guard_seals_into_the_configured_s3_store(
    spawn: Callable[..., ServerProcess],
    tmp_path: Path,
    s3_env: dict[str, str],
    settings: Settings,
    make_token: Callable[..., str],
) -> None:
    """``astra guard`` given the orchestrators' ``ASTRA_S3_*`` stores the sealed acta and its audit
    report in that bucket, under Object Lock, and links to it there (it used to keep them on its
    own disk, unlocked, where neither the orchestrators nor ``astra verify`` look)."""
    import boto3

    guard_env = {**s3_env, "ASTRA_S3_PREFIX": "cali", "ASTRA_S3_OBJECT_LOCK_DAYS": "30"}
    guard = spawn("guard", data_dir=tmp_path / "guard", env=guard_env)
    remote = with_settings(
        settings,
        guard_url=guard.url,
        s3_bucket=s3_env["ASTRA_S3_BUCKET"],
        s3_endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"],
        s3_prefix="cali",
    )
    auth = {"authorization": f"Bearer {make_token()}"}
    with TestClient(create_app(remote)) as client:
        response = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth)
        api = f"/v1/orchestrator/session/{response.json()['session_id']}"
        appended = client.post(f"{api}/append", json={"text": "Se abre la sesión."}, headers=auth)
        assert appended.status_code == 200
        result = client.post(f"{api}/finalize", headers=auth).json()
    s3 = boto3.client("s3", endpoint_url=s3_env["ASTRA_S3_ENDPOINT_URL"], region_name="us-east-1")
    for key in (result["document_key"], result["report_key"]):
        head = s3.head_object(Bucket=s3_env["ASTRA_S3_BUCKET"], Key=f"cali/{key}")
        assert head["ObjectLockMode"] == "COMPLIANCE"
    assert not (guard.data_dir / "objects").exists()
    assert result["download_url"].startswith(s3_env["ASTRA_S3_ENDPOINT_URL"])
    document = httpx.get(result["download_url"]).content
    assert hashlib.sha256(document).hexdigest() == result["integrity_hash"]


def test_a_build_that_cannot_succeed_is_refused_with_422_and_sent_once(
    spawn: Callable[..., ServerProcess], settings: Settings, make_token: Callable[..., str], tmp_path: Path
) -> None:
    """``astra builder`` given inputs it cannot build from (bytes that are not a DOCX; a skeleton
    python-docx opens but fails on while writing the acta) answers 422 BUILD_FAILED with the
    reason, not a 5xx. The orchestrator's client sends such a build once, no retry (counted by a
    proxy in front of the service); finalize answers 502 BUILD_FAILED with the reason, as with
    the embedded builder, and the session is FINALIZE_FAILED with its blocks as they were."""
    builder = spawn("builder", data_dir=tmp_path / "builder")
    good = (PACKAGE_TENANTS_DIR / TENANT / "skeletons" / "SKEL_STD_V1.docx").read_bytes()
    unbuildable = without_core_properties_type(good)
    for skeleton, reason in ((b"not a docx", "not a readable DOCX"), (unbuildable, "core_properties")):
        req = BuildRequest(
            skeleton=skeleton,
            style_map={"Texto_Acta": "BODY"},
            blocks=msgpack.packb([]),
            metadata={"title": "Acta"},
        )
        answer = httpx.post(
            f"{builder.url}/v1/builder/build",
            content=pack_body(req, packed=("blocks",)),
            headers={"content-type": "application/msgpack"},
            timeout=60,
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "BUILD_FAILED" and reason in error["message"], error

    tenants = tmp_path / "tenants"
    shutil.copytree(PACKAGE_TENANTS_DIR, tenants)
    (tenants / TENANT / "skeletons" / "SKEL_STD_V1.docx").write_bytes(unbuildable)
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with fault_proxy(builder.url) as proxy:
        remote = with_settings(
            settings, builder_url=proxy.url, tenants_dir=tenants, retry=Retry(3, 0.001, 0.01, 30)
        )
        with TestClient(create_app(remote)) as client:
            started = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth)
            assert started.status_code == 201, started.text
            api = f"/v1/orchestrator/session/{started.json()['session_id']}"
            for text in ("Se abre la sesión.", "Tiene la palabra el concejal Pedro Gómez."):
                assert client.post(f"{api}/append", json={"text": text}, headers=auth).status_code == 200
            before = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
            failed = client.post(f"{api}/finalize", headers=auth)
            assert failed.status_code == 502, failed.text
            error = failed.json()["error"]
            assert error["code"] == "BUILD_FAILED" and "core_properties" in error["message"], error
            assert proxy.stats.forwarded_requests == 1
            status = client.get(api, headers=auth).json()
            assert (
                status["status"] == "FINALIZE_FAILED" and status["finalize_error"]["code"] == "BUILD_FAILED"
            )
            assert client.get(f"{api}/blocks", headers=auth).json()["blocks"] == before


def test_request_bodies_splice_packed_fields() -> None:
    """A field holding msgpack bytes goes into the body as that value, not as a bin string."""
    blocks = [{"block_id": "b1", "text": "Se abre la sesión."}, {"block_id": "b2", "n": 2.5}]
    req = BuildRequest(skeleton=b"\x00docx", style_map={"BODY": "Normal"}, blocks=msgpack.packb(blocks))
    body = msgpack.unpackb(pack_body(req, packed=("blocks",)))
    assert body["blocks"] == blocks and body["skeleton"] == b"\x00docx"
    assert body["style_map"] == {"BODY": "Normal"} and body["mark_human_edits"] is False
    assert set(body) == set(BuildRequest.__dataclass_fields__)
    # a field named optional is left out while None: a BUILDER older than it still builds
    body = msgpack.unpackb(pack_body(req, packed=("blocks",), optional=("draft_notice",)))
    assert set(body) == set(BuildRequest.__dataclass_fields__) - {"draft_notice"}
    notice = dataclasses.replace(req, draft_notice="BORRADOR")
    assert (
        msgpack.unpackb(pack_body(notice, packed=("blocks",), optional=("draft_notice",)))["draft_notice"]
        == "BORRADOR"
    )


def _mock_client(statuses: list[int], body: dict[str, Any]) -> tuple[httpx.AsyncClient, list[int]]:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(status)
        return httpx.Response(status, json=body if status == 200 else {"error": "x"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


CORE_ANSWER = {
    "text": "hola",
    "intent": "DEBATE",
    "label": "Intervención",
    "template_id": "TPL_DEBATE",
    "structured_data": {},
    "confidence": 0.5,
}
REQUEST = TextRequest(TENANT, "a", "hola", {})
FAST = Retry(attempts=4, base_delay=0.001, max_delay=0.005, timeout=5)


def test_a_tenants_or_registry_answer_of_the_wrong_shape_is_a_coded_error(tmp_path: Path) -> None:
    """Review: a tenants service or model registry answering what is not a JSON object, an entry
    that is not one or lacks a field, or another tenant's configuration (a misrouted answer) made
    session/start answer 500 INTERNAL, or pinned another council's configuration; now 502
    SERVICE_ERROR (remote) or 422 CONFIG_ERROR (the embedded registry file)."""
    good = json.loads((PACKAGE_TENANTS_DIR / TENANT / "tenant.json").read_text(encoding="utf-8"))
    good["templates"] = {}  # a file name only the tenants directory resolves
    answers: list[httpx.Response] = [
        httpx.Response(200, content=b"<html>proxy error</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={**good, "tenant_id": "OTRO_CONCEJO"}),
        httpx.Response(200, json={"adapter_id": "a"}),
        httpx.Response(200, json=[1]),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async def ask() -> list[Exception]:
        seen: list[Exception] = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            calls: list[Callable[[], Awaitable[Any]]] = [
                *[lambda: HttpTenants(http, "http://tenants").config(TENANT)] * 3,
                *[lambda: HttpRegistry(http, "http://registry").adapter_for(TENANT)] * 2,
            ]
            for call in calls:
                with pytest.raises(ServiceError) as refused:
                    await call()
                seen.append(refused.value)
        return seen

    refusals = anyio.run(ask)
    assert [type(e) for e in refusals] == [ServiceError] * 5
    assert "OTRO_CONCEJO" in str(refusals[2])
    registry = tmp_path / "registry.json"
    for content in ("{not json", "[]", '{"tenants": []}', json.dumps({"tenants": {TENANT: "x"}})):
        registry.write_text(content, encoding="utf-8")
        with pytest.raises(ConfigError):
            anyio.run(FileRegistry(registry).adapter_for, TENANT)


def test_transient_core_errors_are_retried_and_permanent_ones_are_not() -> None:
    """503/429 are retried with backoff until success; a 400 fails at once; attempts are bounded."""

    async def scenario() -> None:
        client, seen = _mock_client([503, 429, 200], CORE_ANSWER)
        async with client:
            core = HttpCore(client, "http://core")
            result = await with_retries(lambda: core.process_text(REQUEST), FAST)
        assert result.template_id == "TPL_DEBATE" and seen == [503, 429, 200]

        client, seen = _mock_client([400], CORE_ANSWER)
        async with client:
            core = HttpCore(client, "http://core")
            with pytest.raises(ServiceError) as info:
                await with_retries(lambda: core.process_text(REQUEST), FAST)
        assert not isinstance(info.value, ServiceUnavailable) and seen == [400]

        client, seen = _mock_client([500], CORE_ANSWER)
        async with client:
            core = HttpCore(client, "http://core")
            with pytest.raises(ServiceUnavailable):
                await with_retries(lambda: core.process_text(REQUEST), FAST)
        assert len(seen) == FAST.attempts

    anyio.run(scenario)


def test_proxy_variables_the_collaborators_client_does_not_follow_are_named() -> None:
    """The server warns at startup when these are set, since its collaborators' client goes direct."""
    assert ignored_proxies({}) == []
    assert ignored_proxies({"https_proxy": "http://p:3128", "HTTP_PROXY": "", "NO_PROXY": "x"}) == [
        "HTTPS_PROXY"
    ]
    assert ignored_proxies({"HTTP_PROXY": "http://p", "all_proxy": "socks5://p"}) == [
        "HTTP_PROXY",
        "ALL_PROXY",
    ]


def test_the_server_warns_of_a_proxy_its_collaborators_client_does_not_follow(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    app = create_app(with_settings(settings, core_url="http://127.0.0.1:9"))
    with caplog.at_level(logging.WARNING, logger="astra.app"), TestClient(app):
        pass
    assert "HTTPS_PROXY set but not used: the collaborators are reached directly" in caplog.text


@pytest.mark.parametrize(
    "client", [httpx.AsyncClient, lambda: collaborators_client(5)], ids=["httpcore", "aiohttp"]
)
def test_unreachable_service_is_a_retryable_error(client: Callable[[], httpx.AsyncClient]) -> None:
    """A refused connection becomes ServiceUnavailable, never an httpx or aiohttp type."""

    async def scenario() -> None:
        async with client() as http:
            core = HttpCore(http, "http://127.0.0.1:9")
            with pytest.raises(ServiceUnavailable, match="core unreachable"):
                await core.process_text(REQUEST)

    anyio.run(scenario)


async def _listening(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def test_the_collaborators_client_says_why_a_call_failed() -> None:
    """Over real sockets, the server's own client (aiohttp under httpx): a collaborator that
    closes the connection without answering or answers what is not HTTP is unreachable, one that
    never answers (or stops reading the request) timed out, one that answers 503 is unavailable
    with its status; each is ServiceUnavailable (retried), never an aiohttp or httpx type."""
    silent: list[asyncio.StreamWriter] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)  # held open, unanswered, until the test ends

    async def garbled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HELLO\r\n\r\n")
        await writer.drain()

    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()

    async def scenario() -> None:
        servers = [await _listening(answer) for answer in (hang_up, never_answer, garbled, busy)]
        try:
            async with collaborators_client(0.5) as http:
                (_, closing), (_, mute), (_, nonsense), (_, unavailable) = servers
                with pytest.raises(ServiceUnavailable, match="core unreachable"):
                    await HttpCore(http, closing).process_text(REQUEST)
                with pytest.raises(ServiceUnavailable, match="core timed out"):
                    await HttpCore(http, mute).process_text(REQUEST)
                # an upload it stops reading: aiohttp has no write timeout, request() bounds the call
                with pytest.raises(ServiceUnavailable, match="core timed out"):
                    # 32 MiB: far more than both ends' socket buffers hold while the peer reads none
                    await HttpCore(http, mute).process_audio(AudioRequest(TENANT, "a", bytes(32 << 20), {}))
                with pytest.raises(ServiceUnavailable, match="core unreachable"):
                    await HttpCore(http, nonsense).process_text(REQUEST)
                with pytest.raises(ServiceUnavailable, match="core answered 503") as info:
                    await HttpCore(http, unavailable).process_text(REQUEST)
                assert info.value.details == {"service": "core", "status": 503}
        finally:
            for writer in silent:
                writer.close()
            for server, _ in servers:
                server.close()
                await server.wait_closed()

    anyio.run(scenario)


class _SocketlessStream(anyio.abc.SocketStream):
    """What anyio's stream looks like once uvloop's transport has lost its socket (None)."""

    _raw_socket = None  # type: ignore[assignment]

    async def receive(self, max_bytes: int = 65536) -> bytes:
        raise NotImplementedError

    async def send(self, item: bytes) -> None:
        raise NotImplementedError

    async def send_eof(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


def test_a_core_that_never_answers_opens_the_circuit_breaker(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """Review: the orchestrator cut each CORE call at ``retry.timeout``, the HTTP client's own
    bound too, so a CORE that accepted and never answered was cancelled by the orchestrator
    first: no verdict for the breaker, which never opened, and every utterance and text frame
    waited for every attempt. The client's timeout now fires first and counts as a failure: after
    ``core_breaker_threshold`` of them the breaker is open and calls fail fast."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        with contextlib.suppress(OSError):  # closed when the test ends
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    retry = Retry(attempts=2, base_delay=0.01, max_delay=0.01, timeout=0.4)
    hung = with_settings(
        settings,
        retry=retry,
        core_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
        core_breaker_threshold=2,
        core_breaker_cooldown=60.0,
    )
    auth = {"authorization": f"Bearer {make_token()}"}
    try:
        with TestClient(create_app(hung)) as client:
            api = "/v1/orchestrator/session"
            sid = client.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
            kept = client.post(f"{api}/{sid}/append", json={"text": "Se abre la sesión."}, headers=auth)
            assert kept.status_code == 200 and kept.json()["block"]["type"] == "ERROR_PENDING_REVIEW", (
                kept.text
            )
            breaker = client.app.state.astra.orchestrator.core.breaker  # type: ignore[attr-defined]
            assert breaker.failures == 2 and breaker.opened_at is not None
    finally:
        listener.close()
        for connection in held:
            connection.close()


def test_a_connection_reset_during_setup_is_a_retryable_error() -> None:
    """An AttributeError raised inside the socket layer (uvloop's transport losing its socket to a
    reset while connecting: anyio then fails on None) is ServiceUnavailable, retried; one raised
    anywhere else is a bug and is not disguised."""

    def in_transport(request: httpx.Request) -> httpx.Response:
        _SocketlessStream().extra_attributes  # noqa: B018 -- raises inside anyio, as in the failure seen
        raise AssertionError("unreachable")

    def elsewhere(request: httpx.Request) -> httpx.Response:
        return None.status_code  # type: ignore[attr-defined, no-any-return]

    async def scenario() -> None:
        calls = 0

        def counting(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            return in_transport(request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(counting)) as http:
            core = HttpCore(http, "http://core")
            with pytest.raises(ServiceUnavailable):
                await with_retries(lambda: core.process_text(REQUEST), FAST)
        assert calls == FAST.attempts
        async with httpx.AsyncClient(transport=httpx.MockTransport(elsewhere)) as http:
            core = HttpCore(http, "http://core")
            with pytest.raises(AttributeError):
                await core.process_text(REQUEST)

    anyio.run(scenario)


def test_a_continuation_is_classified_by_a_core_that_predates_the_field() -> None:
    """Review: a CORE deployed before ``continues_previous`` (its ``astra core`` refuses a field it
    does not know with 400) refused every utterance after a cut at the segmenter's maximum
    length, which became a block pending review; the request is made again without the field."""
    known = {"tenant_id", "adapter_id", "text", "pcm16", "entities_dictionary", "previous_template_id"}
    sent: list[set[str]] = []

    def older_core(request: httpx.Request) -> httpx.Response:
        body = (
            json.loads(request.content)
            if request.url.path.endswith("/text")
            else msgpack.unpackb(request.content)
        )
        sent.append(set(body))
        if set(body) - known:
            return httpx.Response(400, json={"code": "INVALID_INPUT", "message": "bad CORE request"})
        return httpx.Response(200, json=CORE_ANSWER)

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(older_core)) as client:
            core = HttpCore(client, "http://core")
            text = await core.process_text(dataclasses.replace(REQUEST, continues_previous=True))
            audio = await core.process_audio(AudioRequest(TENANT, "a", b"\x00\x00", {}, None, True))
            whole = await core.process_text(
                dataclasses.replace(REQUEST, continues_previous=True, continued_text="Con gusto, presidente.")
            )
        assert text.template_id == audio.template_id == whole.template_id == "TPL_DEBATE"

    anyio.run(scenario)
    assert ["continues_previous" in body for body in sent] == [True, False, True, False, True, True, False]
    assert ["continued_text" in body for body in sent] == [False] * 4 + [True, False, False]

    known.add("continues_previous")  # a CORE that knows the continuation, not what it continues
    sent.clear()

    async def knows_continues() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(older_core)) as client:
            core = HttpCore(client, "http://core")
            await core.process_text(
                dataclasses.replace(REQUEST, continues_previous=True, continued_text="Con gusto, presidente.")
            )

    anyio.run(knows_continues)
    assert [sorted(body - known) for body in sent] == [["continued_text"], []]
    assert "continues_previous" in sent[-1]  # asked again without continued_text only


def test_a_long_text_is_classified_off_the_event_loop() -> None:
    """Review: the embedded CORE classified every text on the event loop, "microseconds"; a
    speech read whole with what it continues is thousands of words (1,200: ~55 ms), which held
    every session's acks. An utterance stays on the loop (a few ms); a longer text goes to a
    thread."""
    threads: list[int] = []

    class Watched(EmbeddedCore):
        def process_text_sync(self, req: TextRequest) -> Any:
            threads.append(threading.get_ident())
            return super().process_text_sync(req)

    async def scenario() -> int:
        core = Watched()
        await core.process_text(TextRequest(TENANT, "a", "Se abre la sesión.", {}))
        said_before = "Saludo a los honorables concejales. " * (INLINE_TEXT_CHARS // 30)
        await core.process_text(
            TextRequest(TENANT, "a", "Se abre la sesión.", {}, "TPL_APERTURA", True, said_before)
        )
        return threading.get_ident()

    loop = anyio.run(scenario)
    assert threads[0] == loop and threads[1] != loop


@pytest.mark.parametrize("fails", [False, True], ids=["loads", "fails"])
def test_a_core_service_loads_its_model_at_startup_and_says_when_it_cannot(
    settings: Settings, fails: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: `ASTRA_ASR_WARMUP` loaded the model at startup only in the embedded CORE; `astra
    core` (the GPU deployment) loaded it on the first utterance, inside the orchestrator's CORE
    timeout, and a device or compute type the machine lacks showed only as utterances failing.
    The service loads it at startup too (off the event loop) and logs a load that fails."""
    from server.services import asr
    from server.services.http_service import create_service_app

    loaded = threading.Event()

    def warm_up(self: asr.Transcriber) -> None:
        loaded.set()
        if fails:
            raise RuntimeError("unsupported device cuda")

    monkeypatch.setattr(asr.Transcriber, "warm_up", warm_up)
    app = create_service_app("core", with_settings(settings, asr_warmup=True))
    with caplog.at_level(logging.ERROR, logger="astra.asr"), TestClient(app) as client:
        assert loaded.wait(10), "the model was not loaded at startup"
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 10  # the failure is logged once the thread has ended
        while fails and not caplog.records and time.monotonic() < deadline:
            client.get("/healthz")
            time.sleep(0.01)
    said = [r.getMessage() for r in caplog.records if r.name == "astra.asr"]
    assert said == (
        ["speech recognizer: loading the model failed: RuntimeError('unsupported device cuda')"]
        if fails
        else []
    )

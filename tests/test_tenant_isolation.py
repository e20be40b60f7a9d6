"""Tenants are walled off, as a matrix over every HTTP route and every WebSocket message type.

A real server process serves two tenants made of data only (the demo tenant A, and B = a copy of
its folder under another id). Tenant A has an open session (text, image and audio blocks) and a
finalized one (a signed download link). A token of tenant B, with the strongest role, aims every
route and every message type at A's sessions, blocks, assets, download links and object keys: it
gets 404 NOT_FOUND exactly as for a session that does not exist (or 401 for a forged link, as for
a key that does not exist), no byte of A comes back, and A's sessions do not change. A route or a
message type added later without a row here fails :func:`test_the_matrix_covers_every_route`.

Cross-site WebSocket hijacking is covered here too: a foreign ``Origin`` is refused at the
handshake (403) even with a valid token; the server's own origin and ``ASTRA_ALLOWED_ORIGINS``
are accepted.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import typing
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgpack
import pytest
from starlette.routing import Mount, Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from server.app import create_app
from server.protocol import BEARER_PREFIX, SUBPROTOCOL, ClientMessage
from server.settings import PACKAGE_TENANTS_DIR, Settings
from server.state import origin_allowed

from .conftest import ROOT, TENANT, TIME_UNIT, ServerProcess, free_port, wait_until
from .hostile import bearer, encoded, photo, server_process, ws_attempt
from .wsclient import Client

pytestmark = pytest.mark.e2e

TENANT_B = "CONCEJO_PALMIRA"
ALLOWED_ORIGIN = "https://actas.concejo.test"
PREFIX = "/v1/orchestrator/session"
SPEECH = ROOT / "tests" / "fixtures" / "audio" / "sesion.wav"


def speech_seconds(seconds: float) -> bytes:
    """The first ``seconds`` of the scripted session as PCM16 16 kHz (its first utterance)."""
    with wave.open(str(SPEECH)) as w:
        return w.readframes(int(w.getframerate() * seconds))


@dataclass
class World:
    server: ServerProcess
    a_token: str
    b_token: str
    a_open: str
    a_final: str
    b_session: str
    a_blocks: dict[str, str]
    """role in the matrix (text, image, audio, final_text) → block id of A (utterance: the
    utterance id of its audio block)."""
    b_blocks: dict[str, str]
    a_download_url: str
    b_signed_url: str
    secrets: set[str] = field(default_factory=set)
    """Everything of A that must never reach B: ids, texts, keys, hashes."""

    def a(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, self.server.url + path, headers=bearer(self.a_token), timeout=60, **kwargs
        )

    def a_state(self) -> list[Any]:
        """What A's sessions hold now (compared before and after B's attempts)."""
        state = []
        for sid in (self.a_open, self.a_final):
            session = self.a("GET", f"{PREFIX}/{sid}").json()
            state.append({k: session[k] for k in ("status", "block_count", "head_event_id")})
            state.append(self.a("GET", f"{PREFIX}/{sid}/blocks").json()["blocks"])
        return state


def _tenants_dir(root: Path) -> Path:
    """The packaged tenants plus tenant B: a copy of A's folder and a registry entry (data only)."""
    tenants = root / "tenants"
    shutil.copytree(PACKAGE_TENANTS_DIR, tenants)
    shutil.copytree(tenants / TENANT, tenants / TENANT_B)
    config = json.loads((tenants / TENANT_B / "tenant.json").read_text(encoding="utf-8"))
    config.update(tenant_id=TENANT_B, name="Concejo Municipal de Palmira")
    (tenants / TENANT_B / "tenant.json").write_text(json.dumps(config), encoding="utf-8")
    registry = json.loads((tenants / "registry.json").read_text(encoding="utf-8"))
    registry["tenants"][TENANT_B] = {
        "adapter_id": "adapter_palmira_v1",
        "adapter_version": "1.0.0",
        "model": "m",
    }
    (tenants / "registry.json").write_text(json.dumps(registry), encoding="utf-8")
    return tenants


def _fill(server: ServerProcess, token: str, tenant: str, text: str) -> tuple[str, dict[str, str]]:
    """A session of ``tenant`` with a text block, an image block and an audio block."""
    headers = bearer(token)
    started = httpx.post(f"{server.url}{PREFIX}/start", json={"tenant_id": tenant}, headers=headers)
    assert started.status_code == 201, started.text
    sid = started.json()["session_id"]
    api = f"{server.url}{PREFIX}/{sid}"
    blocks = {"text": httpx.post(f"{api}/append", json={"text": text}, headers=headers).json()["block_id"]}
    image = httpx.post(
        f"{api}/upload-asset",
        # A picture of each tenant's own (different sizes, so no hash is shared by chance).
        files={"file": (f"{tenant}-plano.png", encoded(photo(4 * len(tenant), 30), "PNG"), "image/png")},
        data={"caption": f"{text} (plano)"},
        headers=headers,
    )
    assert image.status_code == 200, image.text
    blocks["image"] = image.json()["block_id"]
    pcm = base64.b64encode(speech_seconds(7.0)).decode()
    audio = httpx.post(
        f"{api}/append", json={"audio_chunk": pcm, "format": "pcm16", "sample_rate": 16000}, headers=headers
    )
    assert audio.status_code == 202, audio.text

    def audio_block() -> bool:
        found = [
            b
            for b in httpx.get(f"{api}/blocks", headers=headers).json()["blocks"]
            if (b.get("audio_metadata") or {}).get("audio_ref")
        ]
        if found:
            blocks["audio"] = found[0]["block_id"]
            blocks["utterance"] = found[0]["audio_metadata"]["utterance_id"]
        return bool(found)

    wait_until(audio_block, 120, f"the audio block of {tenant}")
    return sid, blocks


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("isolation")
    env = {
        "ASTRA_TENANTS_DIR": str(_tenants_dir(root)),
        "ASTRA_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        # CORE is unreachable: every input becomes a block pending review that keeps its text and
        # audio (a real outcome, and it gives a block to re-process), with no speech model to load.
        "ASTRA_CORE_URL": f"http://127.0.0.1:{free_port()}",
        "ASTRA_RETRY_ATTEMPTS": "1",
    }
    with server_process(root / "data", env) as server:
        a_token = server.token(role="admin", sub="ana-of-a")
        b_token = server.token(tenant=TENANT_B, role="admin", sub="bruno-of-b")
        a_open, a_blocks = _fill(server, a_token, TENANT, "Reservado A: presupuesto de la comuna 4711.")
        b_session, b_blocks = _fill(server, b_token, TENANT_B, "Texto propio de B.")
        headers = bearer(a_token)
        started = httpx.post(f"{server.url}{PREFIX}/start", json={"tenant_id": TENANT}, headers=headers)
        a_final = started.json()["session_id"]
        final_text = "Reservado A: acta cerrada 0815."
        a_blocks["final_text"] = httpx.post(
            f"{server.url}{PREFIX}/{a_final}/append", json={"text": final_text}, headers=headers
        ).json()["block_id"]
        result = httpx.post(f"{server.url}{PREFIX}/{a_final}/finalize", headers=headers, timeout=120).json()
        b_link = httpx.get(
            f"{server.url}{PREFIX}/{b_session}/blocks/{b_blocks['audio']}/audio", headers=bearer(b_token)
        ).json()["url"]
        world = World(
            server,
            a_token,
            b_token,
            a_open,
            a_final,
            b_session,
            a_blocks,
            b_blocks,
            result["download_url"],
            b_link,
        )
        blocks = [*world.a("GET", f"{PREFIX}/{a_open}/blocks").json()["blocks"]]
        blocks += world.a("GET", f"{PREFIX}/{a_final}/blocks").json()["blocks"]
        world.secrets = {
            a_open,
            a_final,
            # an utterance id is a place on the audio timeline, not a secret: B's has the same
            *(v for k, v in a_blocks.items() if k != "utterance"),
            result["integrity_hash"],
            result["document_key"],
        }
        world.secrets |= {"Reservado A", "ana-of-a"}
        for block in blocks:
            world.secrets.add(block["block_id"])
            if block.get("asset"):
                world.secrets |= {block["asset"]["key"], block["asset"]["sha256"], block["asset"]["asset_id"]}
            if (block.get("audio_metadata") or {}).get("audio_ref"):
                world.secrets.add(block["audio_metadata"]["audio_ref"])
        assert len(world.secrets) > 12
        yield world


def leaked(world: World, text: str, allowed: frozenset[str] = frozenset()) -> set[str]:
    return {s for s in world.secrets - allowed if s in text}


# -- HTTP ------------------------------------------------------------------------------------------

Call = Callable[[World, str, str], httpx.Response]
"""(world, session id, block id) → B's request."""


def _b(method: str, path: str, **kwargs: Any) -> Call:
    def call(world: World, sid: str, bid: str) -> httpx.Response:
        url = world.server.url + path.format(sid=sid, bid=bid)
        return httpx.request(method, url, headers=bearer(world.b_token), timeout=60, **kwargs)

    return call


def _upload(world: World, sid: str, bid: str) -> httpx.Response:
    return httpx.post(
        f"{world.server.url}{PREFIX}/{sid}/upload-asset",
        files={"file": ("b.png", encoded(photo(), "PNG"), "image/png")},
        headers=bearer(world.b_token),
    )


SESSION_ROUTES: dict[tuple[str, str], Call] = {
    ("GET", f"{PREFIX}/{{session_id}}"): _b("GET", PREFIX + "/{sid}"),
    ("GET", f"{PREFIX}/{{session_id}}/blocks"): _b("GET", PREFIX + "/{sid}/blocks"),
    ("GET", f"{PREFIX}/{{session_id}}/events"): _b("GET", PREFIX + "/{sid}/events?after=0"),
    ("POST", f"{PREFIX}/{{session_id}}/append"): _b("POST", PREFIX + "/{sid}/append", json={"text": "de B"}),
    ("POST", f"{PREFIX}/{{session_id}}/chunk"): _b("POST", PREFIX + "/{sid}/chunk", json={"text": "de B"}),
    ("POST", f"{PREFIX}/{{session_id}}/upload-asset"): _upload,
    ("POST", f"{PREFIX}/{{session_id}}/finalize"): _b("POST", PREFIX + "/{sid}/finalize"),
    ("GET", f"{PREFIX}/{{session_id}}/preview"): _b("GET", PREFIX + "/{sid}/preview"),
    ("POST", f"{PREFIX}/{{session_id}}/discard"): _b(
        "POST", PREFIX + "/{sid}/discard", json={"reason": "de B"}
    ),
    ("POST", f"{PREFIX}/{{session_id}}/blocks"): _b(
        "POST", PREFIX + "/{sid}/blocks", json={"after_block_id": None, "block": {"text": "de B"}}
    ),
}
"""Routes that name a session of A (B's request must get 404, as for a missing session)."""

BLOCK_ROUTES: dict[tuple[str, str], tuple[str, Call]] = {
    ("PATCH", f"{PREFIX}/{{session_id}}/blocks/{{block_id}}"): (
        "text",
        _b("PATCH", PREFIX + "/{sid}/blocks/{bid}", json={"base_version": 1, "changes": {"text": "de B"}}),
    ),
    ("DELETE", f"{PREFIX}/{{session_id}}/blocks/{{block_id}}"): (
        "text",
        _b("DELETE", PREFIX + "/{sid}/blocks/{bid}?base_version=1"),
    ),
    ("POST", f"{PREFIX}/{{session_id}}/blocks/{{block_id}}/reprocess"): (
        "audio",
        _b("POST", PREFIX + "/{sid}/blocks/{bid}/reprocess"),
    ),
    ("GET", f"{PREFIX}/{{session_id}}/blocks/{{block_id}}/audio"): (
        "audio",
        _b("GET", PREFIX + "/{sid}/blocks/{bid}/audio"),
    ),
    ("GET", f"{PREFIX}/{{session_id}}/utterances/{{utterance_id}}/audio"): (
        "utterance",  # an utterance id of A rather than a block id
        _b("GET", PREFIX + "/{sid}/utterances/{bid}/audio"),
    ),
}
"""Routes that name a block of A: aimed at A's session, and at B's own session with A's block id."""

OTHER_ROUTES = {
    ("POST", f"{PREFIX}/start"): "test_b_cannot_start_a_session_of_a",
    ("GET", f"{PREFIX}s"): "test_b_lists_only_its_own_open_sessions",
    ("GET", "/v1/objects/{key:path}"): "test_forged_links_to_objects_of_a_are_refused_alike",
}
EXEMPT = {
    ("GET", "/healthz"): "readiness, no tenant data",
    ("GET", "/metrics"): "counters by code and type only, no ids",
    ("GET", "/openapi.json"): "the API description, the same for every caller",
    ("GET", "/"): "the console page, static",
    ("WS", f"{PREFIX}/{{session_id}}/stream"): "the WebSocket matrix below",
    ("MOUNT", "/static"): "the console's static files",
}


def app_routes(settings: Settings) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in create_app(settings).routes:
        if isinstance(route, Route):
            found |= {(m, route.path) for m in (route.methods or ()) if m != "HEAD"}
        elif isinstance(route, WebSocketRoute):
            found.add(("WS", route.path))
        elif isinstance(route, Mount):
            found.add(("MOUNT", route.path))
        else:
            found.add(("UNKNOWN", repr(route)))
    return found


def test_the_matrix_covers_every_route(settings: Settings) -> None:
    """Every route of the app is in the isolation matrix (or exempt with a reason); a new route
    fails here until it gets its row."""
    covered = set(SESSION_ROUTES) | set(BLOCK_ROUTES) | set(OTHER_ROUTES) | set(EXEMPT)
    assert app_routes(settings) == covered


def _same_as_missing(world: World, call: Call, target: httpx.Response, sid: str, bid: str) -> None:
    missing = call(world, f"ses_{secrets.token_urlsafe(16)}", bid)
    assert target.status_code == 404 and target.json()["error"]["code"] == "NOT_FOUND", target.text
    assert (missing.status_code, missing.json()) == (target.status_code, target.json())


@pytest.mark.parametrize("which", ["open", "finalized"])
@pytest.mark.parametrize("route", sorted(SESSION_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_b_gets_404_on_every_session_route_of_a(route: tuple[str, str], which: str, world: World) -> None:
    """Each session route of A, called with B's admin token: 404 NOT_FOUND, the same answer as for a
    session that does not exist, nothing of A in it, and A unchanged."""
    before = world.a_state()
    sid = world.a_open if which == "open" else world.a_final
    call = SESSION_ROUTES[route]
    response = call(world, sid, "")
    _same_as_missing(world, call, response, sid, "")
    assert not leaked(world, response.text)
    assert world.a_state() == before


@pytest.mark.parametrize("where", ["a_session", "b_session"])
@pytest.mark.parametrize("route", sorted(BLOCK_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_b_gets_404_on_every_block_route_of_a(route: tuple[str, str], where: str, world: World) -> None:
    """Each block route with a block of A, through A's session or through B's own session: 404,
    the same answer as for a missing session or block, nothing of A in it, and A unchanged (an
    utterance id through B's session names B's own utterance)."""
    before = world.a_state()
    role, call = BLOCK_ROUTES[route]
    a_block = world.a_blocks[role]
    if where == "a_session":
        response = call(world, world.a_open, a_block)
        _same_as_missing(world, call, response, world.a_open, a_block)
    elif role == "utterance":
        # An utterance id is a place on a session's timeline: through B's session it names B's
        # own utterance at that place (B's audio starts there too), never A's audio.
        response = call(world, world.b_session, a_block)
        assert response.status_code == 200, response.text
        assert response.json()["audio_ref"].startswith(f"tenants/{TENANT_B}/sessions/{world.b_session}/")
        missing = call(world, world.b_session, "utt_999999999999")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND", missing.text
    else:
        response = call(world, world.b_session, a_block)
        missing_block = call(world, world.b_session, f"blk_{secrets.token_urlsafe(16)}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND", response.text
        assert (missing_block.status_code, missing_block.json()) == (response.status_code, response.json())
    assert not leaked(world, response.text)
    assert world.a_state() == before


def test_b_cannot_start_a_session_of_a(world: World) -> None:
    """Starting a session for tenant A with B's token is 404, as for a tenant that does not exist."""
    start = _b("POST", f"{PREFIX}/start", json={"tenant_id": TENANT})(world, "", "")
    unknown = _b("POST", f"{PREFIX}/start", json={"tenant_id": "CONCEJO_NINGUNO"})(world, "", "")
    assert start.status_code == 404 and start.json() == unknown.json()


def test_b_lists_only_its_own_open_sessions(world: World) -> None:
    """The list of open sessions holds B's own, and nothing of A's: no id, title, or name."""
    listed = _b("GET", f"{PREFIX}s")(world, "", "")
    assert listed.status_code == 200
    assert [s["session_id"] for s in listed.json()["sessions"]] == [world.b_session]
    assert not any(secret in listed.text for secret in world.secrets | {world.a_open, world.a_final})
    own = world.a("GET", f"{PREFIX}s").json()["sessions"]
    assert [s["session_id"] for s in own] == [world.a_open]  # A's finalized one is not open


def test_b_cannot_point_its_blocks_at_objects_of_a(world: World) -> None:
    """B cannot make the server read an object of A through its own blocks: an asset key is not
    an editable field (edit or insert), moving after A's block is 404, and B's acta holds only
    B's own image."""
    a_key = next(s for s in world.secrets if s.startswith(f"tenants/{TENANT}/") and s.endswith(".png"))
    api = f"{world.server.url}{PREFIX}/{world.b_session}"
    headers = bearer(world.b_token)
    edit = httpx.patch(
        f"{api}/blocks/{world.b_blocks['image']}",
        json={"base_version": 1, "changes": {"asset": {"key": a_key, "asset_id": "ast_x"}}},
        headers=headers,
    )
    insert = httpx.post(
        f"{api}/blocks",
        json={"after_block_id": None, "block": {"text": "x", "type": "IMAGE", "asset": {"key": a_key}}},
        headers=headers,
    )
    move = httpx.patch(
        f"{api}/blocks/{world.b_blocks['text']}",
        json={"base_version": 1, "changes": {"after_block_id": world.a_blocks["text"]}},
        headers=headers,
    )
    for response in (edit, insert):
        assert response.status_code == 422 and response.json()["error"]["code"] == "INVALID_INPUT", (
            response.text
        )
    assert move.status_code == 404 and move.json()["error"]["code"] == "NOT_FOUND"
    for response in (edit, insert, move):
        assert not leaked(world, response.text, frozenset({a_key, world.a_blocks["text"]}))
    blocks = httpx.get(f"{api}/blocks", headers=headers).json()["blocks"]
    keys = [b["asset"]["key"] for b in blocks if b.get("asset")]
    assert keys and all(key.startswith(f"tenants/{TENANT_B}/sessions/{world.b_session}/") for key in keys)


def test_forged_links_to_objects_of_a_are_refused_alike(world: World) -> None:
    """B holds a genuine signed link to its own object. Grafting its signature onto A's document
    or audio key, or presenting B's token instead of a signature, is refused with 401, the same
    answer as for a key that does not exist; A's own link works (the control)."""
    a_url = urlsplit(world.a_download_url)
    b_url = urlsplit(world.b_signed_url)
    base = world.server.url
    assert httpx.get(world.a_download_url).status_code == 200
    assert httpx.get(world.b_signed_url).status_code == 200
    a_audio_key = next(s for s in world.secrets if s.startswith(f"tenants/{TENANT}/") and s.endswith(".wav"))
    forged = [
        f"{base}{a_url.path}?{b_url.query}",
        f"{base}/v1/objects/{a_audio_key}?{b_url.query}",
        f"{base}{b_url.path.replace(TENANT_B, TENANT)}?{b_url.query}",
        f"{base}{a_url.path}",
    ]
    nowhere = f"{base}/v1/objects/tenants/{TENANT}/sessions/ses_{secrets.token_urlsafe(16)}/acta.docx"
    for url in forged:
        query = urlsplit(url).query
        missing = httpx.get(f"{nowhere}?{query}" if query else nowhere)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "UNAUTHORIZED"
        for headers in ({}, bearer(world.b_token)):
            response = httpx.get(url, headers=headers)
            assert (response.status_code, response.json()) == (missing.status_code, missing.json()), url
            assert not leaked(world, response.text)


# -- WebSocket -------------------------------------------------------------------------------------

WS_FRAMES: dict[str, Callable[[World], dict[str, Any]]] = {
    "Hello": lambda w: {"type": "hello", "v": 1, "client_id": "b-probe", "last_event_id": 0},
    "Text": lambda w: {"type": "text", "seq": 1, "text": "de B"},
    "Audio": lambda w: {"type": "audio", "seq": 1, "format": "pcm16", "data": b"\x00\x00" * 1600},
    "AudioEnd": lambda w: {"type": "audio_end", "seq": 1},
    "Edit": lambda w: {
        "type": "edit",
        "seq": 1,
        "block_id": w.a_blocks["text"],
        "base_version": 1,
        "changes": {"text": "de B"},
    },
    "Insert": lambda w: {
        "type": "insert",
        "seq": 1,
        "after_block_id": w.a_blocks["text"],
        "block": {"text": "de B"},
    },
    "Delete": lambda w: {"type": "delete", "seq": 1, "block_id": w.a_blocks["text"], "base_version": 1},
    "Presence": lambda w: {"type": "presence", "block_id": w.a_blocks["text"]},
    "Ping": lambda w: {"type": "ping", "ref": 7},
}
"""One frame of each client message type, naming A's blocks wherever the type names a block."""


def test_the_websocket_matrix_covers_every_message_type() -> None:
    """Every client message type of the protocol has a row in the WebSocket matrix."""
    assert {cls.__name__ for cls in typing.get_args(ClientMessage)} == set(WS_FRAMES)


def _read_until_closed(client: Client) -> tuple[list[dict[str, Any]], int]:
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(client.recv())
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return frames, closed.rcvd.code


@pytest.mark.parametrize("kind", sorted(WS_FRAMES))
def test_b_cannot_open_a_session_of_a_with_any_first_frame(kind: str, world: World) -> None:
    """On A's session, with B's token offered as the bearer subprotocol, any first frame ends the
    connection: a hello with 4404 NOT_FOUND (as for a missing session), anything else with 4400;
    no frame carries anything of A."""
    frame = WS_FRAMES[kind](world)
    if kind == "Hello":
        frame["token"] = world.b_token
    results = []
    for sid in (world.a_open, f"ses_{secrets.token_urlsafe(16)}"):
        client = Client(world.server.ws_url, sid, subprotocols=[SUBPROTOCOL, BEARER_PREFIX + world.b_token])
        try:
            client.send(frame)
            frames, code = _read_until_closed(client)
        finally:
            client.close()
        results.append(([(f["type"], f.get("code"), f.get("message")) for f in frames], code))
        assert not leaked(world, repr(frames))
    assert results[0] == results[1]
    assert results[0][1] == (4404 if kind == "Hello" else 4400)


def test_b_hello_on_a_session_is_refused_on_every_channel(world: World) -> None:
    """B's token in the hello or as the subprotocol, on A's open and finalized sessions: 4404."""
    for sid in (world.a_open, world.a_final):
        for via in ("hello", "subprotocol"):
            frames, code = ws_attempt(world.server, sid, world.b_token, via)
            assert code == 4404 and [f.get("code") for f in frames] == ["NOT_FOUND"]
            assert not leaked(world, repr(frames))


@pytest.mark.parametrize("kind", sorted(WS_FRAMES))
def test_b_messages_naming_a_reach_nothing_of_a(kind: str, world: World) -> None:
    """Connected to its own session, B sends each message type naming A's blocks: edits, inserts
    and deletes of A's blocks are NOT_FOUND (never STALE_VERSION with A's block), nothing B
    receives holds anything of A, a client of A hears nothing of B, and A is unchanged."""
    before = world.a_state()
    watcher = Client(world.server.ws_url, world.a_open)
    prober = Client(world.server.ws_url, world.b_session)
    try:
        assert watcher.hello(world.a_token, client_id="a-watcher")["type"] == "welcome"
        watcher.until(lambda m: m["type"] == "synced")
        heard_before = len(watcher.events)
        client_id = f"b-{kind}-{secrets.token_hex(4)}"
        assert prober.hello(world.b_token, client_id=client_id)["type"] == "welcome"
        prober.until(lambda m: m["type"] == "synced")
        frame = WS_FRAMES[kind](world)
        if kind == "Hello":
            frame["client_id"] = client_id
        prober.send(frame)
        if kind == "Ping":
            answer = prober.until(lambda m: m["type"] == "pong")
        elif kind == "Presence":
            answer = prober.until(
                lambda m: (
                    m["type"] == "presence"
                    and any(c.get("block_id") == world.a_blocks["text"] for c in m.get("clients", []))
                )
            )
            assert all(c.get("sub") == "bruno-of-b" for c in answer["clients"]), answer
        elif kind == "Hello":
            answer = prober.until(lambda m: m["type"] == "error")
            assert answer["code"] == "DUPLICATE_HELLO"
        else:
            answer = prober.until(lambda m: m.get("seq") == 1 and m["type"] in ("ack", "error"))
            if kind in ("Edit", "Insert", "Delete"):
                assert answer["type"] == "error" and answer["code"] == "NOT_FOUND", answer
            else:
                assert answer["type"] == "ack", answer
            if kind == "Audio":  # end the recording, which another prober of B may start next
                prober.send({"type": "audio_end", "seq": 2})
                assert prober.until(lambda m: m.get("seq") == 2)["type"] == "ack"
        # The echo of B's own presence names the block id B sent; nothing else of A may appear.
        allowed = frozenset({world.a_blocks["text"]}) if kind == "Presence" else frozenset()
        assert not leaked(world, repr(prober.events + prober.errors + [answer]), allowed)
        # A's watcher heard nothing from B: a ping of its own comes back with no event before it.
        watcher.send({"type": "ping", "ref": "after"})
        heard = []
        watcher.until(lambda m: heard.append(m) is None and m["type"] == "pong")
        assert len(watcher.events) == heard_before
        assert all(
            m["type"] != "presence" or all(c.get("sub") != "bruno-of-b" for c in m.get("clients", []))
            for m in heard
        )
    finally:
        prober.close()
        watcher.close()
    assert world.a_state() == before


# -- Cross-site WebSocket hijacking -----------------------------------------------------------------


def _handshake(world: World, origin: str | None) -> int | dict[str, Any]:
    """The HTTP status of a refused handshake, or the first frame after a hello with A's token."""
    uri = f"{world.server.ws_url}{PREFIX}/{world.a_open}/stream"
    try:
        with connect(
            uri,
            origin=origin,  # type: ignore[arg-type]
            subprotocols=[SUBPROTOCOL, BEARER_PREFIX + world.a_token],  # type: ignore[list-item]
            open_timeout=15 * TIME_UNIT,
        ) as ws:
            ws.send(msgpack.packb({"type": "hello", "v": 1, "client_id": "origin-probe"}))
            reply: dict[str, Any] = msgpack.unpackb(ws.recv(timeout=15 * TIME_UNIT))
            return reply
    except InvalidStatus as refused:
        return refused.response.status_code


def test_a_foreign_origin_is_refused_at_the_handshake_even_with_a_valid_token(world: World) -> None:
    """A page of another site (or a sandboxed one, Origin ``null``, or a look-alike host) cannot
    open the socket, even carrying a valid token: 403 before any frame."""
    port = world.server.port
    for origin in (
        "https://evil.test",
        "null",
        f"http://127.0.0.1:{port}.evil.test",
        f"http://localhost:{port + 1}",
        "http://[::1",  # not a URL at all
    ):
        assert _handshake(world, origin) == 403, origin


def test_the_public_url_origin_is_accepted_whatever_host_the_balancer_passes() -> None:
    """Behind a balancer that rewrites ``Host``, the console's page has ASTRA_PUBLIC_URL's
    origin, not the request's host: it is ours. Look-alikes of it are not."""
    settings = Settings(public_url="https://actas.example.gov/concejo/")
    for origin in ("https://actas.example.gov", "https://ACTAS.example.gov:443"):
        assert origin_allowed(settings, origin, "10.0.0.5:8000"), origin
    for origin in (
        "http://actas.example.gov",
        "https://actas.example.gov:8443",
        "https://actas.example.gov.evil.test",
        "https://evil.test",
        "null",
        "https://[::1",
    ):
        assert not origin_allowed(settings, origin, "10.0.0.5:8000"), origin
    assert not origin_allowed(Settings(), "https://actas.example.gov", "10.0.0.5:8000")


def test_own_and_allowed_origins_are_accepted(world: World) -> None:
    """The server's own origin, an origin in ASTRA_ALLOWED_ORIGINS, and clients that send no
    Origin (not browsers) get the session."""
    for origin in (f"http://127.0.0.1:{world.server.port}", ALLOWED_ORIGIN, None):
        reply = _handshake(world, origin)
        assert isinstance(reply, dict) and reply["type"] == "welcome", (origin, reply)

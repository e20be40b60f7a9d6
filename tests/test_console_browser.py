"""The recording console (static/) in a real browser: headless Chromium driven by Playwright
against a real server process. Chromium's fake microphone plays the scripted Spanish session
(tests/fixtures/audio/sesion.wav, looping), so the whole path runs for real: getUserMedia, the
AudioWorklet downsampler, numbered audio frames through the outbox, VAD, Whisper, CORE, the
live draft; and, besides, a second viewer, a network loss, CORE down with Reprocesar."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import msgpack
import numpy as np
import pytest
import redis
from docx import Document
from playwright.sync_api import Browser, BrowserContext, Page, expect

from server.keys import SessionKeys

from .chromium import chromium, ms
from .conftest import ROOT, TIME_UNIT, ServerProcess, free_port

pytestmark = pytest.mark.e2e

AUDIO = ROOT / "tests" / "fixtures" / "audio"
SCRIPT: list[dict[str, Any]] = json.loads((AUDIO / "sesion.json").read_text(encoding="utf-8"))
CHUNK_BYTES = 3200  # 100 ms of 16 kHz PCM16
PACED = {"ASTRA_FRAME_RATE": "30", "ASTRA_FRAME_BURST": "40"}
"""A server allowing fewer frames than a backlog of a few seconds: resending it all at once would
be held back (astra_ws_throttled_frames_total), a paced console never is."""


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A fresh Chromium per test, so the fake microphone starts at the top of the session."""
    fake_microphone = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={AUDIO / 'sesion.wav'}",
    )
    with chromium(fake_microphone) as launched:
        yield launched


class Console:
    """One console page, with the JavaScript errors and the WebSocket frames it sent."""

    def __init__(
        self,
        browser: Browser,
        server: ServerProcess,
        token: str,
        session_id: str | None = None,
        options: dict[str, Any] | None = None,
    ):
        """`options`: the page's `window.astraOptions` (console.js, e.g. the outbox's windows)."""
        self.context: BrowserContext = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(ms(30))
        if options:
            self.context.add_init_script(f"window.astraOptions = {json.dumps(options)};")
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("websocket", self._watch)
        fragment = f"token={token}" + (f"&session={session_id}" if session_id else "")
        self.page.goto(f"{server.url}/#{fragment}")

    def _watch(self, ws: Any) -> None:
        def sent(payload: str | bytes) -> None:
            if isinstance(payload, bytes):
                self.sent.append(msgpack.unpackb(payload, raw=False))

        ws.on("framesent", sent)

    def start_session(self, title: str) -> str:
        self.page.get_by_label("Título de la sesión").fill(title)
        self.page.get_by_role("button", name="Abrir la sesión del concejo").click()
        self.wait_online()
        session_id = self.page.locator("#session-id").inner_text()
        assert session_id.startswith("ses_"), session_id
        return session_id

    def wait_online(self, timeout: float = 30) -> None:
        expect(self.page.locator("#conn-text")).to_have_text("en línea", timeout=ms(timeout))

    def blocks(self) -> Any:
        """The draft's blocks (placeholders of utterances in transcription excluded)."""
        return self.page.locator("#draft li.block[data-block-id]")

    def send_text(self, text: str) -> None:
        self.page.get_by_label("Texto de la intervención").fill(text)
        self.page.get_by_role("button", name="Enviar").click()

    def positions_in_order(self) -> bool:
        result: bool = self.page.evaluate(
            """() => [...document.querySelectorAll('#draft ol.zone__blocks')].every((list) => {
                 const p = [...list.children].map((li) => Number(li.dataset.position));
                 return p.every((v, i) => Number.isFinite(v) && (i === 0 || p[i - 1] <= v));
               })"""
        )
        return result


class SocketTap:
    """The page's WebSockets routed through the test: while `blocked` each is closed at once (an
    outage the page cannot get through, also across a reload); otherwise passed on, with what the
    page sent and what the server answered logged in the order they went through."""

    def __init__(self, context: BrowserContext) -> None:
        self.blocked = False
        self.log: list[tuple[str, dict[str, Any]]] = []  # ("out" | "in", message)
        context.route_web_socket(re.compile(r".*"), self._route)

    @property
    def through(self) -> list[dict[str, Any]]:
        return [m for way, m in self.log if way == "out"]

    @property
    def answers(self) -> list[dict[str, Any]]:
        return [m for way, m in self.log if way == "in"]

    def _route(self, ws: Any) -> None:
        if self.blocked:
            ws.close()
            return
        upstream = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            if isinstance(message, bytes):
                self.log.append(("out", msgpack.unpackb(message, raw=False)))
            upstream.send(message)

        def to_page(message: str | bytes) -> None:
            if isinstance(message, bytes):
                self.log.append(("in", msgpack.unpackb(message, raw=False)))
            ws.send(message)

        ws.on_message(to_server)
        upstream.on_message(to_page)

    def applied(self) -> list[dict[str, Any]]:
        """The numbered frames the server applied, in seq order: for each seq, the frame last
        sent with it before a first (not duplicate) ack of it, or before a welcome whose last_seq
        covers it (its own ack lost with a connection)."""
        last_sent: dict[int, dict[str, Any]] = {}
        applied: dict[int, dict[str, Any]] = {}
        for way, m in self.log:
            if way == "out" and m["type"] in ("text", "audio", "audio_end", "edit", "insert", "delete"):
                last_sent[m["seq"]] = m
            elif way == "in" and m["type"] == "ack" and not m.get("duplicate"):
                applied.setdefault(m["seq"], last_sent[m["seq"]])
            elif way == "in" and m["type"] == "welcome":
                for seq, frame in last_sent.items():
                    if seq <= m["last_seq"]:
                        applied.setdefault(seq, frame)
        return [applied[seq] for seq in sorted(applied)]


def throttled_frames(server: ServerProcess) -> float:
    """Frames the server had to hold back for a connection's frame rate (protocol.md, Limits)."""
    text = httpx.get(f"{server.url}/metrics").text
    found = re.search(r"^astra_ws_throttled_frames_total (\S+)$", text, re.MULTILINE)
    assert found, "astra_ws_throttled_frames_total missing"
    return float(found[1])


RECORD_QUEUED = """async () => {
  // Every frame the console queues, in the order it is queued (the outbox module of the page).
  const { Outbox } = await import('/static/js/outbox.js');
  window.__queued = [];
  const addAudio = Outbox.prototype.addAudio;
  const add = Outbox.prototype.add;
  Outbox.prototype.addAudio = function (data, format) {
    window.__queued.push({ type: 'audio', data: data.slice() });
    return addAudio.call(this, data, format);
  };
  Outbox.prototype.add = function (text) {
    window.__queued.push({ type: 'text', text });
    return add.call(this, text);
  };
}"""

QUEUED = """async () => {
  const out = [];
  for (const q of window.__queued) {
    if (q.type !== 'audio') { out.push(['text', q.text]); continue; }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', q.data));
    out.push(['audio', [...digest].map((b) => b.toString(16).padStart(2, '0')).join('')]);
  }
  return out;
}"""


def as_queued(frames: list[dict[str, Any]]) -> list[list[str]]:
    """Numbered frames as RECORD_QUEUED lists them (audio by its SHA-256)."""
    return [
        ["audio", hashlib.sha256(m["data"]).hexdigest()] if m["type"] == "audio" else ["text", m["text"]]
        for m in frames
        if m["type"] in ("audio", "text")
    ]


def outbox_memory(page: Page) -> dict[str, float]:
    """The outbox's audio held in memory now, the most it held, and all it waits for (bytes)."""
    memory: dict[str, float] = page.evaluate(
        """() => { const o = window.astraConsole.outbox();
                   return { now: o.memoryBytes, peak: o.peakMemoryBytes, queued: o.audioBytes }; }"""
    )
    return memory


def wait_backlog(page: Page, seconds: float, timeout: float = 30) -> None:
    """Until the console shows at least `seconds` of unconfirmed audio (bounded)."""
    page.wait_for_function(
        """(s) => parseFloat(document.getElementById('rec-backlog').textContent
                   .replace(/^[^0-9]*/, '').replace(',', '.')) >= s""",
        arg=seconds,
        timeout=ms(timeout),
    )


def wait_stop_applied(page: Page, tap: SocketTap) -> None:
    """After «Detener», until the server applied its audio_end (the last chunk goes before it):
    the backlog line can read 0,0 s before the stop queues them."""
    for _ in range(int(30 * TIME_UNIT / 0.1)):
        if any(m["type"] == "audio_end" for m in tap.applied()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the stop's audio_end was not applied")


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def api_blocks(server: ServerProcess, token: str, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/v1/orchestrator/session/{session_id}/blocks", headers=auth(token))
    assert response.status_code == 200, response.text
    blocks: list[dict[str, Any]] = response.json()["blocks"]
    return blocks


# -- 1. recording from the microphone ------------------------------------------------------------


@pytest.mark.timeout(300)
def test_recording_from_the_microphone_fills_the_draft(spawn: Any, browser: Browser, shot: Any) -> None:
    """Grabar captures the fake microphone through the AudioWorklet as 100 ms PCM16 frames on the
    outbox's sequence; utterances show as «Transcribiendo…» placeholders, then as blocks in
    position order; Pausar and Detener each send audio_end; an audio block plays its evidence."""
    server = spawn("serve", env={"ASTRA_ASR_WARMUP": "1"})
    token = server.token()
    console = Console(browser, server, token)
    page = console.page
    session_id = console.start_session("Sesión grabada desde el navegador")
    # Count placeholders as they appear, and the loudest meter reading.
    page.evaluate(
        """() => {
             window.__placeholders = 0;
             window.__maxLevel = 0;
             new MutationObserver((records) => {
               for (const r of records) for (const n of r.addedNodes) {
                 if (n.classList && n.classList.contains('block--transcribing')) window.__placeholders += 1;
               }
             }).observe(document.getElementById('draft'), {childList: true, subtree: true});
             const meter = document.getElementById('rec-level');
             setInterval(() => { window.__maxLevel = Math.max(window.__maxLevel, meter.value); }, 50);
           }"""
    )

    record = page.get_by_role("button", name="Grabar")
    expect(record).to_have_attribute("aria-pressed", "false")
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true", timeout=ms(10))
    expect(page.locator("#rec-state")).to_have_text("Grabando.")

    # The first utterances: "…se abre la sesión…", "…llamar a lista.", "Contestaron a lista…".
    page.wait_for_function(
        """() => {
             const texts = [...document.querySelectorAll('#draft li.block[data-block-id] .block__text')]
               .map((p) => p.textContent.toLowerCase());
             return texts.length >= 3 && texts.some((t) => t.includes('sesión'))
               && texts.some((t) => t.includes('lista'));
           }""",
        timeout=ms(120),
    )
    shot(page, "blocks")
    assert page.evaluate("window.__placeholders") >= 3
    assert page.evaluate("window.__maxLevel") > 0.3
    assert console.positions_in_order()
    # A block that arrived replaced its placeholder.
    assert page.evaluate(
        """() => [...document.querySelectorAll('#draft li.block[data-block-id][data-utterance-id]')]
             .every((li) => !document.querySelector(
               `li.block--transcribing[data-utterance-id="${li.dataset.utteranceId}"]`))"""
    )

    # Pause, then resume: the elapsed time stands still, then runs again.
    page.get_by_role("button", name="Pausar").click()
    expect(page.locator("#rec-state")).to_contain_text("En pausa", timeout=ms(10))
    expect(record).to_have_attribute("aria-pressed", "false")
    paused_at = page.locator("#rec-elapsed").inner_text()
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true", timeout=ms(10))
    expect(page.locator("#rec-elapsed")).not_to_have_text(paused_at, timeout=ms(10))

    # The evidence audio of a block plays from its signed link.
    first = console.blocks().filter(has=page.locator(".block__text", has_text="sesión")).first
    first.get_by_role("button", name=re.compile("^Escuchar el audio")).click()
    player = first.locator("audio.block__player")
    expect(player).to_have_attribute("src", re.compile(r"/v1/objects/.+\.wav\?"), timeout=ms(15))
    player.evaluate(
        "(audio) => new Promise((ok, fail) => { if (audio.readyState >= 1) ok(); "
        "audio.onloadedmetadata = ok; audio.onerror = () => fail(new Error('audio failed')); })"
    )

    page.get_by_role("button", name="Detener").click()
    expect(record).to_have_attribute("aria-pressed", "false", timeout=ms(10))
    expect(page.locator("#rec-state")).to_contain_text("Grabación detenida")
    expect(page.locator("#rec-backlog")).to_have_text("Audio sin confirmar: 0,0 s", timeout=ms(30))
    expect(page.locator("#conn-text")).to_have_text("en línea")
    elapsed = page.locator("#rec-elapsed").inner_text()
    assert re.fullmatch(r"\d\d:\d\d", elapsed) and elapsed >= "00:10", elapsed
    shot(page, "stopped")

    # On the wire: one sequence, PCM16 frames of 3,200 bytes (a shorter one may close a
    # recording), an audio_end for the pause and one for the stop.
    numbered = [m for m in console.sent if m["type"] in ("text", "audio", "audio_end")]
    seqs = [m["seq"] for m in numbered]
    assert seqs == list(range(1, len(seqs) + 1))
    ends = [i for i, m in enumerate(numbered) if m["type"] == "audio_end"]
    assert len(ends) == 2 and ends[-1] == len(numbered) - 1 and 0 < ends[0] < ends[1] - 1
    audio = [m for m in numbered if m["type"] == "audio"]
    assert len(audio) >= 100 and all(m["format"] == "pcm16" and len(m["data"]) % 2 == 0 for m in audio)
    closing = {ends[0] - 1, ends[1] - 1}
    assert all(
        len(m["data"]) == CHUNK_BYTES
        for i, m in enumerate(numbered)
        if m["type"] == "audio" and i not in closing
    )
    # Audio never goes to localStorage: the saved outbox holds the counter (and text) only.
    saved = page.evaluate(
        "() => Object.keys(localStorage).filter((k) => k.startsWith('astra.outbox.'))"
        ".map((k) => localStorage.getItem(k))"
    )
    assert len(saved) == 1 and len(saved[0]) < 200 and json.loads(saved[0])["next"] >= len(seqs) - 20, saved

    blocks = api_blocks(server, token, session_id)
    spoken = [b for b in blocks if b["source"]["kind"] == "audio"]
    assert len(spoken) >= 3, [b["text"] for b in blocks]
    assert any("sesión" in b["text"].lower() for b in spoken)
    assert any("lista" in b["text"].lower() for b in spoken)
    for block in spoken:
        item = page.locator(f'#draft li[data-block-id="{block["block_id"]}"]')
        expect(item).to_have_count(1)
        assert block["audio_metadata"]["audio_ref"].endswith(".wav")
    assert not console.errors


# -- 2. a viewer follows live ----------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_viewer_sees_the_recorders_blocks_live(spawn: Any, browser: Browser, shot: Any) -> None:
    server = spawn("serve")
    token = server.token()
    recorder = Console(browser, server, token)
    session_id = recorder.start_session("Sesión con público")
    viewer = Console(browser, server, server.token(role="viewer", sub="ana"), session_id)
    viewer.wait_online()
    expect(viewer.page.locator("#who")).to_contain_text("consulta")
    # A viewer can neither record nor send nor upload: those cards are not shown, and the
    # session card says what the console is for them.
    for card in ("#recorder", "#input-card", "#upload-card"):
        expect(viewer.page.locator(card)).to_be_hidden()
    expect(viewer.page.get_by_role("button", name="Grabar")).to_have_count(0)
    expect(viewer.page.locator("#role-note")).to_have_text(
        "Consulta: sigue la sesión en vivo; no puede grabar, enviar textos ni corregir."
    )
    for card in ("#recorder", "#input-card", "#upload-card"):
        expect(recorder.page.locator(card)).to_be_visible()
    expect(recorder.page.locator("#role-note")).to_be_hidden()

    texts = [
        "Siendo las nueve de la mañana, se abre la sesión ordinaria del concejo.",
        "Señor secretario, sírvase llamar a lista.",
    ]
    for text in texts:
        recorder.send_text(text)
    for console in (recorder, viewer):
        expect(console.blocks()).to_have_count(2, timeout=ms(30))
        for text in texts:
            expect(console.blocks().filter(has_text=text)).to_have_count(1)
    ids = recorder.page.eval_on_selector_all(
        "#draft li[data-block-id]", "(l) => l.map((li) => li.dataset.blockId)"
    )
    seen = viewer.page.eval_on_selector_all(
        "#draft li[data-block-id]", "(l) => l.map((li) => li.dataset.blockId)"
    )
    shot(recorder.page, "recorder")
    shot(viewer.page, "viewer")
    assert ids == seen and len(set(ids)) == 2
    assert viewer.positions_in_order()
    assert not recorder.errors and not viewer.errors


def test_a_stenographer_joins_the_session_being_recorded_from_the_list(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """A stenographer opening the console (no session id in the link) sees the tenant's open
    sessions, newest first, with their titles, and joins one with a click; a new user once had
    to be sent the ``ses_…`` id and paste it."""
    server = spawn("serve")
    token = server.token(sub="ana")
    Console(browser, server, token).start_session("Sesión ordinaria 44")
    recorder = Console(browser, server, token)
    session_id = recorder.start_session("Sesión ordinaria 45")
    recorder.send_text("Siendo las nueve de la mañana, se abre la sesión ordinaria del concejo.")
    steno = Console(browser, server, server.token(role="stenographer", sub="luis"))
    choices = steno.page.locator("#open-sessions button")
    expect(choices).to_have_count(2)
    expect(choices.first).to_contain_text("Sesión ordinaria 45")
    expect(choices.first).to_contain_text("por ana")
    expect(choices.nth(1)).to_contain_text("Sesión ordinaria 44")
    shot(steno.page, "open-sessions")
    choices.first.click()
    steno.wait_online()
    expect(steno.page.locator("#session-id")).to_have_text(session_id)
    expect(steno.blocks().filter(has_text="se abre la sesión")).to_have_count(1, timeout=ms(30))
    # No recording or text cards for a stenographer (they could never use them); images, yes.
    expect(steno.page.locator("#recorder")).to_be_hidden()
    expect(steno.page.locator("#input-card")).to_be_hidden()
    expect(steno.page.locator("#upload-card")).to_be_visible()
    expect(steno.page.locator("#role-note")).to_contain_text("Relatoría: corrija los bloques en el borrador.")
    assert not recorder.errors and not steno.errors


def test_a_session_opened_by_mistake_is_discarded_from_the_console(spawn: Any, browser: Browser) -> None:
    """«Descartar la sesión…» asks why and closes the session without an acta: its status, the
    reason and who gave it show at once here and at a colleague's console, it leaves the list
    of open sessions, and input is refused. A recorder cannot discard a session that already
    holds blocks (only an admin can), and is told so; a stenographer has no such button."""
    server = spawn("serve")
    token = server.token(sub="ana")
    recorder = Console(browser, server, token)
    kept = recorder.start_session("Sesión ordinaria 46")
    recorder.send_text("Siendo las nueve de la mañana, se abre la sesión ordinaria del concejo.")
    expect(recorder.blocks()).to_have_count(1, timeout=ms(30))
    recorder.page.once("dialog", lambda dialog: dialog.accept("Ensayo"))
    recorder.page.get_by_role("button", name="Descartar la sesión…").click()
    expect(recorder.page.locator("#discard-status")).to_have_text(
        "Solo un administrador puede descartar una sesión que ya tiene bloques o audio."
    )
    expect(recorder.page.locator("#session-status")).to_have_text("Abierta")

    first, recorder = recorder, Console(browser, server, token)
    mistaken = recorder.start_session("Sesión abierta por error")
    steno = Console(browser, server, server.token(role="stenographer", sub="luis"), mistaken)
    steno.wait_online()
    expect(steno.page.get_by_role("button", name="Descartar la sesión…")).to_have_count(0)
    recorder.page.once("dialog", lambda dialog: dialog.accept("  La abrí por error.  "))
    recorder.page.get_by_role("button", name="Descartar la sesión…").click()
    said = (
        "Sesión descartada por ana (motivo: La abrí por error.): no tendrá acta ni admite más "
        "grabación, textos o correcciones. Lo registrado se conserva."
    )
    for console in (recorder, steno):
        expect(console.page.locator("#session-status")).to_have_text("Descartada: sin acta", timeout=ms(15))
        expect(console.page.locator("#discard-status")).to_have_text(said)
        expect(console.page.get_by_role("button", name="Finalizar y generar el acta")).to_be_disabled()
    expect(recorder.page.get_by_role("button", name="Descartar la sesión…")).to_be_disabled()
    expect(recorder.page.get_by_role("button", name="Enviar")).to_be_disabled()
    response = httpx.get(f"{server.url}/v1/orchestrator/sessions", headers=auth(token))
    listed = {s["session_id"] for s in response.json()["sessions"]}
    assert kept in listed and mistaken not in listed

    # An administrator clears a session out from the list, blocks and all, without joining it.
    admin = Console(browser, server, server.token(role="admin", sub="jefe"))
    choices = admin.page.locator("#open-sessions li")
    expect(choices).to_have_count(1)
    picker = Console(browser, server, server.token(role="stenographer", sub="marta"))
    expect(picker.page.locator("#open-sessions li")).to_have_count(1)
    expect(picker.page.locator("#open-sessions button", has_text="Descartar…")).to_have_count(0)
    admin.page.once("dialog", lambda dialog: dialog.accept("Ensayo del equipo de grabación"))
    admin.page.get_by_role("button", name="Descartar la sesión «Sesión ordinaria 46»").click()
    expect(admin.page.locator("#open-sessions-note")).to_have_text(
        "No hay sesiones abiertas en este momento."
    )
    described = httpx.get(f"{server.url}/v1/orchestrator/session/{kept}", headers=auth(token)).json()
    assert described["status"] == "DISCARDED" and described["discarded"]["by"] == "jefe"
    assert described["block_count"] == 1
    assert not first.errors and not recorder.errors and not steno.errors and not admin.errors


# -- 3. a network loss -----------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_text_sent_offline_is_delivered_once_after_reconnect(spawn: Any, browser: Browser, shot: Any) -> None:
    server = spawn("serve")
    token = server.token()
    console = Console(browser, server, token)
    page = console.page
    session_id = console.start_session("Sesión con cortes de red")
    console.send_text("Se abre la sesión.")
    console.send_text("Señor secretario, sírvase llamar a lista.")
    expect(console.blocks()).to_have_count(2, timeout=ms(30))
    expect(page.locator("#pending")).to_have_text("Pendientes de confirmar: 0")

    console.context.set_offline(True)
    expect(page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    late = "Contestaron a lista quince concejales. Hay quórum decisorio."
    console.send_text(late)
    expect(page.locator("#pending")).to_have_text("Pendientes de confirmar: 1")
    expect(console.blocks()).to_have_count(2)
    shot(page, "offline")

    console.context.set_offline(False)
    console.wait_online()
    expect(page.locator("#pending")).to_have_text("Pendientes de confirmar: 0", timeout=ms(30))
    expect(console.blocks().filter(has_text=late)).to_have_count(1, timeout=ms(30))
    expect(console.blocks()).to_have_count(3)
    blocks = api_blocks(server, token, session_id)
    assert [b["text"] for b in blocks].count(late) == 1 and len(blocks) == 3

    # A reload resumes from the saved draft: still each block once.
    page.reload()
    console.wait_online()
    expect(console.blocks()).to_have_count(3)
    expect(console.blocks().filter(has_text=late)).to_have_count(1)
    assert not console.errors


@pytest.mark.timeout(300)
def test_audio_recorded_offline_is_resent_and_transcribed_once(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """Audio captured while the network is down waits in the outbox (shown as seconds of
    unconfirmed audio), goes out after the reconnect and becomes blocks exactly once."""
    server = spawn("serve", env={"ASTRA_ASR_WARMUP": "1"})
    token = server.token()
    console = Console(browser, server, token)
    page = console.page
    session_id = console.start_session("Sesión grabada con un corte")
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#draft .block__text", has_text="sesión")).not_to_have_count(0, timeout=ms(120))

    console.context.set_offline(True)
    expect(page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    # Let the microphone play on (bounded): at least 4 s of audio waiting for its ack.
    page.wait_for_function(
        """() => parseFloat(document.getElementById('rec-backlog').textContent
                   .replace(/^[^0-9]*/, '').replace(',', '.')) >= 4""",
        timeout=ms(30),
    )
    expect(page.locator("#rec-state")).to_contain_text("sin conexión")
    shot(page, "offline")
    console.context.set_offline(False)
    console.wait_online()
    expect(page.locator("#rec-backlog")).to_have_text(
        re.compile(r"^Audio sin confirmar: 0,\d s$"), timeout=ms(30)
    )
    page.wait_for_function(
        """() => [...document.querySelectorAll('#draft li.block[data-block-id] .block__text')]
                   .some((p) => p.textContent.toLowerCase().includes('quórum'))""",
        timeout=ms(120),
    )
    page.get_by_role("button", name="Detener").click()
    expect(page.locator("#rec-backlog")).to_have_text("Audio sin confirmar: 0,0 s", timeout=ms(30))
    # It reconnected once, and every number of the one sequence went out.
    assert sum(m["type"] == "hello" for m in console.sent) == 2
    seqs = {m["seq"] for m in console.sent if m["type"] in ("audio", "audio_end")}
    assert seqs == set(range(1, max(seqs) + 1))

    spoken = [b for b in api_blocks(server, token, session_id) if b["source"]["kind"] == "audio"]
    spans = [(b["audio_metadata"]["time_start"], b["audio_metadata"]["time_end"]) for b in spoken]
    spans.sort()
    assert all(end <= spans[i + 1][0] for i, (_, end) in enumerate(spans[:-1])), spans
    assert len({b["audio_metadata"]["utterance_id"] for b in spoken}) == len(spoken)
    assert console.positions_in_order()
    assert not console.errors


@pytest.mark.timeout(420)
def test_recording_through_a_network_cut_then_finalize_and_download_the_minute(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """Record until three blocks show and stop; record again with the network cut for ~3 s after
    ~2 s of audio, then restored: the resent audio becomes blocks once, without overlapping spans.
    Finalize from the page: the DOCX behind the page's link has the SHA-256 the page shows."""
    server = spawn("serve", env={"ASTRA_ASR_WARMUP": "1"})
    token = server.token()
    console = Console(browser, server, token)
    page = console.page
    session_id = console.start_session("Sesión con corte de red y acta")
    backlog = page.locator("#rec-backlog")

    def audio_sent() -> int:
        return sum(m["type"] == "audio" for m in console.sent)

    def wait_audio(frames: int, timeout: float) -> None:
        """Pump Playwright's events (bounded) until `frames` more 100 ms frames went out."""
        target = audio_sent() + frames
        for _ in range(int(timeout * TIME_UNIT / 0.05)):
            if audio_sent() >= target:
                return
            page.wait_for_timeout(50)
        raise TimeoutError(f"fewer than {frames} audio frames sent in {timeout} s")

    def backlog_at_least(seconds: float) -> None:
        page.wait_for_function(
            """(s) => parseFloat(document.getElementById('rec-backlog').textContent
                       .replace(/^[^0-9]*/, '').replace(',', '.')) >= s""",
            arg=seconds,
            timeout=ms(30),
        )

    # First recording: until at least three blocks are shown.
    page.get_by_role("button", name="Grabar").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#draft li.block[data-block-id]').length >= 3", timeout=ms(120)
    )
    page.get_by_role("button", name="Detener").click()
    expect(backlog).to_have_text("Audio sin confirmar: 0,0 s", timeout=ms(30))
    shot(page, "first-recording")

    # Second recording: ~2 s of audio, the network cut for ~3 s (of audio held in the outbox), back.
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_have_text("Grabando.", timeout=ms(10))
    wait_audio(20, 30)
    console.context.set_offline(True)
    expect(page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    backlog_at_least(3)
    shot(page, "offline")
    console.context.set_offline(False)
    console.wait_online()
    expect(backlog).to_have_text(re.compile(r"^Audio sin confirmar: 0,\d s$"), timeout=ms(30))
    page.get_by_role("button", name="Detener").click()
    expect(backlog).to_have_text("Audio sin confirmar: 0,0 s", timeout=ms(30))
    # Every utterance detected has been transcribed (no «Transcribiendo…» placeholder left).
    expect(page.locator("#draft li.block--transcribing")).to_have_count(0, timeout=ms(120))
    shot(page, "recovered")
    assert sum(m["type"] == "hello" for m in console.sent) == 2
    seqs = [m["seq"] for m in console.sent if m["type"] in ("audio", "audio_end")]
    assert set(seqs) == set(range(1, max(seqs) + 1))

    blocks = api_blocks(server, token, session_id)
    spoken = [b for b in blocks if b["source"]["kind"] == "audio"]
    assert len(spoken) >= 3, [b["text"] for b in blocks]
    spans = sorted((b["audio_metadata"]["time_start"], b["audio_metadata"]["time_end"]) for b in spoken)
    assert all(start < end for start, end in spans), spans
    assert all(end <= spans[i + 1][0] for i, (_, end) in enumerate(spans[:-1])), spans
    utterances = [b["audio_metadata"]["utterance_id"] for b in spoken]
    assert len(set(utterances)) == len(utterances), utterances
    expect(console.blocks()).to_have_count(len(blocks))
    assert console.positions_in_order()

    # Finalize from the page (accepting its confirmation), then download what the page links.
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="Finalizar y generar el acta").click()
    link = page.locator("#download")
    expect(link).to_have_attribute("href", re.compile(r"/v1/objects/"), timeout=ms(120))
    integrity = page.locator("#integrity")
    expect(integrity).to_have_text(re.compile(r"^[0-9a-f]{64}$"), timeout=ms(120))
    expect(page.locator("#final-status")).to_contain_text("Acta generada.")
    # The audit summary tells people's edits from blocks CORE transcribed again (none here).
    expect(page.locator("#audit")).to_contain_text("Ediciones humanas")
    expect(page.locator("#audit")).to_contain_text(re.compile(r"Retranscritos por el sistema\s*0"))
    shot(page, "finalized")
    assert len(questions) == 1 and "sin confirmar" not in questions[0], questions
    expect(page.get_by_role("button", name="Finalizar y generar el acta")).to_be_disabled()

    url = link.evaluate("(a) => a.href")
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text[:500]
    document = response.content
    assert hashlib.sha256(document).hexdigest() == integrity.inner_text().strip()
    docx = Document(io.BytesIO(document))
    text = "\n".join(p.text for p in docx.paragraphs).lower()
    assert text.strip() and "lista" in text, text[:2000]
    assert not console.errors


# -- 4. CORE down: the block waits for review and Reprocesar recovers it -------------------------


@pytest.mark.timeout(300)
def test_reprocess_button_recovers_a_block_pending_review(spawn: Any, browser: Browser, shot: Any) -> None:
    core_port = free_port()
    server = spawn(
        "serve",
        env={
            "ASTRA_CORE_URL": f"http://127.0.0.1:{core_port}",
            "ASTRA_RETRY_ATTEMPTS": "2",
            "ASTRA_RETRY_BASE_DELAY": "0.01",
        },
    )
    token = server.token()
    console = Console(browser, server, token)
    page = console.page
    session_id = console.start_session("Sesión sin CORE")
    console.send_text("Tiene la palabra el concejal Pedro Gómez.")
    item = page.locator("#draft li.block--error-pending-review")
    expect(item).to_have_count(1, timeout=ms(60))
    block_id = item.get_attribute("data-block-id")
    again = item.get_by_role("button", name=re.compile("^Reprocesar"))
    again.click()  # CORE is still down: the error is shown, the block stays
    expect(item.locator(".block__status")).to_contain_text("No se pudo reprocesar", timeout=ms(60))
    shot(page, "core-down")

    spawn("core", port=core_port)
    again.click()
    fixed = page.locator(f'#draft li[data-block-id="{block_id}"]')
    expect(fixed).to_have_class(re.compile(r"\bblock--template\b"), timeout=ms(120))
    expect(fixed).to_contain_text("versión 2")
    expect(fixed.get_by_role("button", name=re.compile("^Reprocesar"))).to_have_count(0)
    shot(page, "reprocessed")
    expect(console.blocks()).to_have_count(1)
    (block,) = api_blocks(server, token, session_id)
    assert block["type"] == "TEMPLATE" and block["version"] == 2 and block["block_id"] == block_id
    assert not console.errors


# -- 5. the downsampler on its own -----------------------------------------------------------------


@pytest.mark.timeout(120)
def test_worklet_downsamples_to_16khz_pcm16_without_aliasing(spawn: Any, browser: Browser, shot: Any) -> None:
    """pcm-worklet.js in an OfflineAudioContext at 44.1 and 48 kHz: a 1 kHz tone keeps its
    amplitude, a 12 kHz tone (which would fold onto 4 kHz) is removed, chunks are 3,200 bytes."""
    server = spawn("serve")
    page = browser.new_page()
    page.goto(f"{server.url}/static/index.html")
    for rate in (44100, 48000):
        result = page.evaluate(
            """async (rate) => {
                 const seconds = 2;
                 const ctx = new OfflineAudioContext(1, rate * seconds, rate);
                 await ctx.audioWorklet.addModule('/static/js/pcm-worklet.js');
                 const node = new AudioWorkletNode(ctx, 'pcm16-downsampler', {
                   numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1,
                   channelCountMode: 'explicit', processorOptions: {active: true}});
                 const chunks = [];
                 let flushed;
                 const done = new Promise((ok) => { flushed = ok; });
                 node.port.onmessage = (e) => {
                   if (e.data.type === 'chunk') chunks.push(new Uint8Array(e.data.pcm));
                   else if (e.data.type === 'flushed') flushed();
                 };
                 const buffer = ctx.createBuffer(1, rate * seconds, rate);
                 const x = buffer.getChannelData(0);
                 for (let i = 0; i < x.length; i++) {
                   x[i] = 0.4 * Math.sin(2 * Math.PI * 1000 * i / rate)
                        + 0.4 * Math.sin(2 * Math.PI * 12000 * i / rate);
                 }
                 const source = ctx.createBufferSource();
                 source.buffer = buffer;
                 source.connect(node);
                 source.start();
                 await ctx.startRendering();
                 node.port.postMessage({type: 'flush'});
                 await done;
                 return chunks.map((c) => Array.from(c));
               }""",
            rate,
        )
        sizes = [len(c) for c in result]
        assert set(sizes[:-1]) == {CHUNK_BYTES}, sizes
        pcm = np.frombuffer(bytes(b for c in result for b in c), dtype="<i2").astype(float) / 32768
        assert abs(len(pcm) - 32000) < 200, len(pcm)
        middle = pcm[4000:28000]  # whole periods of both tones, away from the edges
        spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)))) / (len(middle) / 4)
        freqs = np.fft.rfftfreq(len(middle), 1 / 16000)
        tone = spectrum[np.argmin(abs(freqs - 1000))]
        alias = spectrum[np.argmin(abs(freqs - 4000))]
        assert 0.38 < tone < 0.42, (rate, tone)
        assert 20 * np.log10(alias / tone) < -60, (rate, alias, tone)
    shot(page, "page")
    page.close()


@pytest.mark.timeout(120)
def test_outbox_bounds_unacked_audio_and_persists_only_text(spawn: Any, browser: Browser, shot: Any) -> None:
    """outbox.js in the page: audio shares the text sequence, stays in memory only, and past the
    bound the oldest unsent chunks are dropped and the rest renumbered without a gap."""
    server = spawn("serve")
    page = browser.new_page()
    page.goto(f"{server.url}/static/index.html")
    result = page.evaluate(
        """async () => {
             const { Outbox, wireFrame } = await import('/static/js/outbox.js');
             let saved = null;
             const store = {
               load: () => saved && JSON.parse(saved),
               save: (state) => { saved = JSON.stringify(state); },
             };
             const box = new Outbox(store, { maxAudioBytes: 3 * 3200 });
             const chunk = () => new Uint8Array(3200);
             box.add('primero');                          // 1
             box.addAudio(chunk());                      // 2
             box.markSent(box.welcome(0));               // 1 and 2 sent
             for (let i = 0; i < 5; i++) box.addAudio(chunk());  // 3..7, unsent
             box.add('segundo');
             box.addAudioEnd();
             const queued = box.frames.map((f) => [f.seq, f.kind]);
             const wire = wireFrame(box.frames[1]);
             const persisted = JSON.parse(saved);
             box.ack(2);
             return { queued, persisted, dropped: box.droppedAudioSeconds, next: box.next,
                      pendingText: box.pendingText, audio: box.pendingAudioSeconds,
                      wire: [wire.type, wire.seq, wire.format, wire.data.length] };
           }"""
    )
    # Three of the five unsent chunks were dropped (the bound is 3 chunks, one sent chunk counts).
    assert result["dropped"] == pytest.approx(0.3)
    assert result["queued"] == [
        [1, "text"],
        [2, "audio"],
        [3, "audio"],
        [4, "audio"],
        [5, "text"],
        [6, "audio_end"],
    ]
    assert result["next"] == 7
    assert result["wire"] == ["audio", 2, "pcm16", CHUNK_BYTES]
    assert result["persisted"]["next"] == 7
    assert [f["kind"] for f in result["persisted"]["frames"]] == ["text", "text", "audio_end"]
    assert result["pendingText"] == 1 and result["audio"] == pytest.approx(0.2)
    shot(page, "page")
    page.close()


@pytest.mark.timeout(120)
def test_outbox_keeps_unacked_audio_on_disk_until_acked(spawn: Any, browser: Browser, shot: Any) -> None:
    """outbox.js with audiostore.js (IndexedDB) in the page: queued audio is written with its seq
    and whether it went out; a new outbox (a reload) gets it back in its place among the saved
    frames, the sent frames keep their seq (the welcome settles them); acked and refused audio
    leaves the disk; a full disk drops the oldest unsent audio, counted like the memory bound, until
    it takes a write again."""
    server = spawn("serve")
    page = browser.new_page()
    page.goto(f"{server.url}/static/index.html")
    result = page.evaluate(
        """async () => {
             const { Outbox } = await import('/static/js/outbox.js');
             const { AudioStore } = await import('/static/js/audiostore.js');
             let saved = null;
             const store = {
               load: () => saved && JSON.parse(saved),
               save: (state) => { saved = JSON.stringify(state); },
             };
             const chunk = (v) => new Uint8Array(3200).fill(v);
             const disk = await AudioStore.open('ses_disk', 'client');
             const onDisk = async () => (await disk.load()).map((r) => [r.seq, r.sent, r.data[0]]);
             const box = new Outbox(store);
             await box.restoreAudio(disk);
             box.addAudio(chunk(1));                     // 1
             box.addAudio(chunk(2));                     // 2
             box.add('texto');                           // 3
             box.markSent(box.welcome(0));               // 1..3 sent
             box.addAudio(chunk(3));                     // 4, unsent
             box.addAudioEnd();                          // 5
             await box.writeAudio();
             const written = await onDisk();
             box.ack(1);
             await box.writeAudio();
             const afterAck = await onDisk();
             // A reload: the same saved state and disk.
             const again = new Outbox(store);
             await again.restoreAudio(await AudioStore.open('ses_disk', 'client'));
             const restored = again.frames.map((f) => [f.seq, f.kind, f.sent, f.data ? f.data[0] : null]);
             const backlog = again.pendingAudioSeconds;
             const resend = again.welcome(2);             // the server had applied 2 (its ack was lost)
             const resent = resend.map((f) => [f.seq, f.kind]);
             again.markSent(resend);
             await again.writeAudio();
             const afterWelcome = await onDisk();
             // The session was finalized meanwhile: its audio is refused, and leaves the disk.
             const { dropped } = again.error(3 + 1, 'SESSION_CLOSED', {});
             await again.writeAudio();
             const afterClosed = await onDisk();
             const left = again.frames.map((f) => [f.seq, f.kind]);
             // A full disk: only what is on disk (at least 1 s) stays queued.
             const full = {
               load: async () => [],
               write: async () => { throw new DOMException('full', 'QuotaExceededError'); },
             };
             const box2 = new Outbox({ load: () => null, save: () => {} });
             await box2.restoreAudio(full);
             for (let i = 0; i < 15; i++) box2.addAudio(chunk(i));
             await box2.writeAudio();
             // A disk full for a moment: once it takes a write again, the whole bound is back.
             let refuse = true;
             const flaky = {
               load: async () => [],
               write: async () => { if (refuse) throw new DOMException('full', 'QuotaExceededError'); },
             };
             const box3 = new Outbox({ load: () => null, save: () => {} });
             await box3.restoreAudio(flaky);
             for (let i = 0; i < 15; i++) box3.addAudio(chunk(i));
             await box3.writeAudio();                    // refused: 1 s kept
             refuse = false;
             await box3.writeAudio();                    // taken
             for (let i = 0; i < 30; i++) box3.addAudio(chunk(i));
             await box3.writeAudio();
             return { written, afterAck, restored, backlog, resent, afterWelcome,
                      dropped: dropped && dropped.kind, afterClosed, left,
                      fullDropped: box2.droppedAudioSeconds, fullKept: box2.pendingAudioSeconds,
                      againDropped: box3.droppedAudioSeconds, againKept: box3.pendingAudioSeconds };
           }"""
    )
    assert result["written"] == [[1, True, 1], [2, True, 2], [4, False, 3]]
    assert result["afterAck"] == [[2, True, 2], [4, False, 3]]
    assert result["restored"] == [
        [2, "audio", True, 2],
        [3, "text", True, None],
        [4, "audio", False, 3],
        [5, "audio_end", False, None],
    ]
    assert result["backlog"] == pytest.approx(0.2)
    assert result["resent"] == [[3, "text"], [4, "audio"], [5, "audio_end"]]
    assert result["afterWelcome"] == [[4, True, 3]]
    assert result["dropped"] == "audio" and result["afterClosed"] == []
    assert result["left"] == [[3, "text"]]
    assert result["fullDropped"] == pytest.approx(0.5) and result["fullKept"] == pytest.approx(1.0)
    assert result["againDropped"] == pytest.approx(0.5) and result["againKept"] == pytest.approx(4.0)
    shot(page, "page")
    page.close()


@pytest.mark.timeout(120)
def test_outbox_holds_a_window_in_memory_and_pages_the_rest_in_from_disk(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """outbox.js with audiostore.js in the page: past the memory window, audio on disk gives its
    bytes up (keeping seq, order and size), the frames to send first keep theirs, and `pageIn`
    reads the next ones back in order once frames sent make room; a renumbering patches the saved
    seq of frames held on disk only; a reload reads the disk back page by page with only the
    window in memory; the bound on disk still drops the oldest never-sent audio, counted."""
    server = spawn("serve")
    page = browser.new_page()
    page.goto(f"{server.url}/static/index.html")
    result = page.evaluate(
        """async () => {
             const { Outbox } = await import('/static/js/outbox.js');
             const { AudioStore } = await import('/static/js/audiostore.js');
             const quiet = { load: () => null, save: () => {} };
             const chunk = (v) => new Uint8Array(3200).fill(v);
             const held = (box) => box.frames.map((f) => (f.data ? f.data[0] : null));
             const open = () => AudioStore.open('ses_window', 'client');
             const box = new Outbox(quiet, { memoryAudioBytes: 4 * 3200, maxAudioBytes: 30 * 3200 });
             await box.restoreAudio(await open());
             for (let i = 1; i <= 12; i++) box.addAudio(chunk(i));  // seq 1..12
             const unwritten = box.memoryBytes;                       // none on disk yet
             await box.writeAudio();
             const written = held(box);
             const blocked = await box.pageIn(4);   // the window holds the four to send first
             box.markSent(box.frames.slice(0, 4));  // they went out: they can make room
             const paged = await box.pageIn(4);
             const afterPage = held(box);
             // The server had applied the four, and its counter is ahead: the rest is renumbered.
             box.welcome(100);
             await box.writeAudio();
             const disk = (await (await open()).load()).map((r) => [r.seq, r.sent, r.data[0]]);
             const again = new Outbox(quiet, { memoryAudioBytes: 4 * 3200 });  // a reload
             await again.restoreAudio(await open());
             const restored = [again.audioBytes, again.memoryBytes, held(again)];
             for (let i = 13; i <= 40; i++) box.addAudio(chunk(i));  // past the bound of 30
             return { unwritten, written, blocked, paged, afterPage, disk, restored,
                      dropped: box.droppedAudioSeconds, queued: box.pendingAudioSeconds,
                      seqs: [box.frames[0].seq, box.frames[box.frames.length - 1].seq] };
           }"""
    )
    assert result["unwritten"] == 12 * CHUNK_BYTES
    assert result["written"] == [1, 2, 3, 4] + [None] * 8
    assert result["blocked"] == 0
    # Half a window at a time (two frames here), the first sent frames giving their bytes up.
    assert result["paged"] == 2 and result["afterPage"] == [None, None, 3, 4, 5, 6] + [None] * 6
    assert result["disk"] == [[100 + i, False, 4 + i] for i in range(1, 9)]
    assert result["restored"] == [8 * CHUNK_BYTES, 4 * CHUNK_BYTES, [5, 6, 7, 8] + [None] * 4]
    assert result["dropped"] == pytest.approx(0.6) and result["queued"] == pytest.approx(3.0)
    assert result["seqs"] == [101, 130]
    page.close()


def test_audio_the_browser_no_longer_has_on_disk_is_counted_lost_and_the_rest_goes_on(
    spawn: Any, browser: Browser
) -> None:
    """outbox.js with audiostore.js in the page: audio held only on disk whose copy is gone (the
    site's storage cleared) is given up, counted, and the audio after it takes its numbers on;
    a disk that keeps failing to read is given up after READ_FAILURES_LOST reads, with what only
    it held. Before, `pageIn` waited for those bytes for good and held back all the audio after
    them (the live recording included) while it piled up in memory."""
    server = spawn("serve")
    page = browser.new_page()
    page.goto(f"{server.url}/static/index.html")
    result = page.evaluate(
        """async () => {
             const { Outbox, READ_FAILURES_LOST } = await import('/static/js/outbox.js');
             const { AudioStore } = await import('/static/js/audiostore.js');
             const quiet = { load: () => null, save: () => {} };
             const chunk = (v) => new Uint8Array(3200).fill(v);
             const state = (box) => box.frames.map((f) => [f.seq, f.data ? f.data[0] : null]);
             const make = async (name) => {
               const box = new Outbox(quiet, { memoryAudioBytes: 4 * 3200 });
               await box.restoreAudio(await AudioStore.open(name, 'client'));
               for (let i = 1; i <= 10; i++) box.addAudio(chunk(i));  // seq 1..10
               await box.writeAudio();                                 // 5..10 on disk only
               box.markSent(box.frames.slice(0, 4));
               box.ack(4);                                             // room in memory
               return box;
             };
             // The browser deleted frames 5 and 6 (storage cleared under pressure, say).
             const cleared = await make('ses_cleared');
             const store = await AudioStore.open('ses_cleared', 'client');
             const orders = cleared.frames.slice(0, 2).map((f) => f.order);
             await store.write([], orders);
             const first = await cleared.pageIn(0);   // half a window: frames 5 and 6
             const lostFirst = state(cleared);
             const second = await cleared.pageIn(0);
             const afterClear = state(cleared);
             // The disk cannot be read at all.
             const broken = await make('ses_broken');
             broken.audioReader = { read: async () => { throw new DOMException('gone', 'UnknownError'); } };
             const tries = [];
             for (let i = 0; i < READ_FAILURES_LOST + 3; i++) tries.push(await broken.pageIn(0));
             return { first, lostFirst, second, afterClear, next: cleared.next,
                      lost: cleared.lostAudioSeconds, tries, brokenState: state(broken),
                      brokenLost: broken.lostAudioSeconds,
                      disk: broken.audioStore === null, brokenNext: broken.next,
                      bytes: [broken.audioBytes, broken.memoryBytes] };
           }"""
    )
    # 5 and 6 lost, and the rest renumbered down; then 7 and 8 read back into the room made.
    assert result["first"] == 2 and result["lostFirst"] == [[5, None], [6, None], [7, None], [8, None]]
    assert result["second"] == 2 and result["afterClear"] == [[5, 7], [6, 8], [7, None], [8, None]]
    assert result["next"] == 9 and result["lost"] == pytest.approx(0.2)
    # Four failed reads ask for a retry; the fifth gives the disk up, and with it, half a window
    # at a time, the six frames it held.
    assert result["tries"] == [-1, -1, -1, -1, 2, 2, 2, 0]
    assert result["brokenState"] == [] and result["brokenLost"] == pytest.approx(0.6)
    assert result["disk"] is True and result["brokenNext"] == 5 and result["bytes"] == [0, 0]
    page.close()


DISK_AUDIO = """async (sessionId) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('astra-audio');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  if (!db.objectStoreNames.contains('frames')) {
    db.close();
    return { bytes: 0, hashes: [] };
  }
  const records = await new Promise((resolve, reject) => {
    const request = db.transaction('frames').objectStore('frames').getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  db.close();
  const mine = records.filter((r) => r.owner.startsWith(`${sessionId}.`));
  const hashes = [];
  for (const r of mine) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', r.data));
    hashes.push([...digest].map((b) => b.toString(16).padStart(2, '0')).join(''));
  }
  return { bytes: mine.reduce((n, r) => n + r.data.length, 0), hashes };
}"""


def disk_audio_when(page: Page, session_id: str, ready: Any, what: str) -> dict[str, Any]:
    """The session's audio in the page's IndexedDB once `ready(it)` (a bounded wait: written in
    batches, deleted in batches)."""
    for _ in range(int(10 * TIME_UNIT / 0.1)):
        disk: dict[str, Any] = page.evaluate(DISK_AUDIO, session_id)
        if ready(disk):
            return disk
        page.wait_for_timeout(100)
    raise AssertionError(f"{what}: {disk['bytes']} bytes on disk")


def backlog_seconds(page: Page) -> float:
    text = page.locator("#rec-backlog").inner_text()
    match = re.fullmatch(r"Audio sin confirmar: (\d+),(\d) s", text)
    assert match, text
    return float(f"{match[1]}.{match[2]}")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("finalized", [False, True], ids=["open", "finalized-meanwhile"])
def test_audio_unacked_at_a_reload_during_an_outage_reaches_the_server(
    spawn: Any, browser: Browser, shot: Any, finalized: bool
) -> None:
    """Audio recorded with the network cut is on disk (IndexedDB) as well as in memory: a reload
    before the network is back shows it as unconfirmed and, once the connection is back, resends
    every chunk of it, in order, once, acked; then the disk holds nothing of it. It was lost
    with the page before (kept in memory only). If the session was finalized meanwhile, the
    server refuses the audio (SESSION_CLOSED): it leaves the queue and the disk alike."""
    server = spawn("serve", env=PACED)
    token = server.token()
    window = 1.0  # seconds of audio the outbox may hold in memory: the outage is longer
    console = Console(browser, server, token, options={"memoryAudioSeconds": window})
    page = console.page
    session_id = console.start_session("Sesión recargada sin red")

    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_contain_text("Grabando", timeout=ms(30))
    console.context.set_offline(True)
    tap = SocketTap(console.context)  # the WebSocket outage outlives the network cut, then ends
    tap.blocked = True
    expect(page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    wait_backlog(page, 5)
    page.get_by_role("button", name="Detener").click()
    expect(page.get_by_role("button", name="Grabar")).to_have_attribute("aria-pressed", "false")
    # The page shows the backlog rounded to 0.1 s, and may show it before the last chunk (the
    # part of a frame Detener flushed) is counted: wait until what it shows and what is on disk
    # agree to that rounding, reading both again each time.
    disk = disk_audio_when(
        page,
        session_id,
        lambda d: abs(d["bytes"] / 32000 - backlog_seconds(page)) <= 0.05 + 1e-6,
        "the unconfirmed audio shown",
    )
    recorded = backlog_seconds(page)
    assert recorded >= 3
    shot(page, "offline-before-reload")

    console.context.set_offline(False)
    page.reload()
    expect(page.locator("#session-id")).to_have_text(session_id)
    expect(page.locator("#rec-error")).to_have_text("")  # stopped before the reload: nothing to say
    restored = f"Audio sin confirmar: {recorded:.1f} s".replace(".", ",")
    expect(page.locator("#rec-backlog")).to_have_text(restored)
    expect(page.locator("#rec-waiting")).to_contain_text("guardado en el disco de este equipo")
    # Restored page by page: only the memory window is read back into memory.
    assert outbox_memory(page)["peak"] <= window * 32000
    shot(page, "reloaded-offline")
    if finalized:
        response = httpx.post(
            f"{server.url}/v1/orchestrator/session/{session_id}/finalize", headers=auth(token), timeout=60
        )
        assert response.status_code == 200, response.text
    tap.blocked = False
    console.wait_online()
    expect(page.locator("#rec-backlog")).to_contain_text("Audio sin confirmar: 0,0 s", timeout=ms(30))
    # Paced, the audio_end after the last audio may still be waiting for its turn.
    page.wait_for_function("() => window.astraConsole.outbox().pending === 0", timeout=ms(30))
    through, answers = tap.through, tap.answers
    if finalized:
        # The frames sent after the refused one are answered SEQ_GAP (the outbox handles it).
        refused = [m["code"] for m in answers if m["type"] == "error"]
        assert refused[0] == "SESSION_CLOSED" and set(refused) <= {"SESSION_CLOSED", "SEQ_GAP"}, refused
        # ... and the team is told how much was not stored (it read "0,0 s" unconfirmed: as if sent)
        gone = f"rechazado por el servidor, no guardado: {recorded:.1f} s".replace(".", ",")
        expect(page.locator("#rec-backlog")).to_have_text(f"Audio sin confirmar: 0,0 s · {gone}")
        disk_audio_when(page, session_id, lambda d: not d["hashes"], "all refused")
        assert not console.errors
        return

    audio = [m for m in through if m["type"] == "audio"]
    hashes = [hashlib.sha256(m["data"]).hexdigest() for m in audio]
    assert hashes == disk["hashes"], (len(hashes), len(disk["hashes"]))
    acked = [m for m in answers if m["type"] == "ack"]
    assert max(m["seq"] for m in acked) >= max(m["seq"] for m in audio)
    assert not [m for m in answers if m["type"] == "error"]
    numbered = [m for m in through if m["type"] in ("text", "audio", "audio_end")]
    assert numbered[-1]["type"] == "audio_end" and numbered[-1]["seq"] == audio[-1]["seq"] + 1
    # Paged in from disk as it went out, paced under the server's frame rate.
    assert outbox_memory(page)["peak"] <= window * 32000
    assert throttled_frames(server) == 0
    # Acked audio leaves the disk.
    disk_audio_when(page, session_id, lambda d: not d["hashes"], "all acked")
    assert not console.errors


def elapsed_seconds(page: Page) -> int:
    minutes, secs = page.locator("#rec-elapsed").inner_text().split(":")
    return int(minutes) * 60 + int(secs)


@pytest.mark.timeout(240)
@pytest.mark.timeout(180)
def test_finalize_waits_for_the_queued_audio_before_closing_the_session(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """Finalize while the console still paces out recorded audio (a server allowing 5 frames a
    second, the microphone making 10): the console waits until the server has acked the backlog,
    the last chunk and the audio_end, then finalizes; finalizing at once had them refused
    (SESSION_CLOSED) and the session's last words lost."""
    server = spawn("serve", env={"ASTRA_FRAME_RATE": "5", "ASTRA_FRAME_BURST": "5"})
    console = Console(browser, server, server.token())
    page = console.page
    session_id = console.start_session("Sesión que termina con audio en cola")
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_contain_text("Grabando", timeout=ms(30))
    page.wait_for_function("() => window.astraConsole.outbox().pendingAudioSeconds >= 1", timeout=ms(30))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Finalizar y generar el acta").click()
    expect(page.locator("#final-status")).to_contain_text("Acta generada.", timeout=ms(120))
    shot(page, "finalized-after-the-queue")
    assert page.evaluate("() => window.astraConsole.outbox().refusedAudio") == 0
    assert page.evaluate("() => window.astraConsole.outbox().pending") == 0
    sent = [m for m in console.sent if m["type"] in ("audio", "audio_end")]
    assert sent and sent[-1]["type"] == "audio_end"
    auth = {"authorization": f"Bearer {server.token()}"}
    events = httpx.get(
        f"{server.url}/v1/orchestrator/session/{session_id}/events", params={"limit": 1000}, headers=auth
    ).json()["events"]
    assert not [e for e in events if e["kind"] == "audio.rejected"]
    assert not console.errors


@pytest.mark.timeout(180)
def test_a_session_past_its_maximum_length_stops_the_recording_and_says_why(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """A session older than ASTRA_MAX_SESSION_SECONDS refuses recorded input (SESSION_TOO_LONG):
    the console stops its microphone and says why, instead of showing «Grabando» while every
    chunk it hears is refused and thrown away, ten a second."""
    server = spawn("serve", env={"ASTRA_MAX_SESSION_SECONDS": "6"})
    console = Console(browser, server, server.token())
    page = console.page
    console.start_session("Sesión más larga de lo permitido")
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-error")).to_contain_text("duración máxima", timeout=ms(60))
    expect(page.locator("#rec-state")).to_contain_text("Grabación detenida", timeout=ms(30))
    shot(page, "stopped-too-long")
    assert not console.errors


@pytest.mark.timeout(180)
def test_a_connection_ended_for_good_stops_promising_to_send_the_audio(
    spawn: Any, browser: Browser, redis_url: str, shot: Any
) -> None:
    """A close after which the console does not reconnect (here 4404: the session is gone from
    the server while the console was offline) must not leave it saying that the audio waiting
    will be sent when the connection comes back: it says the session is gone and stops the
    microphone, whose audio has nowhere to go."""
    server = spawn("serve", env={"REDIS_URL": redis_url})
    console = Console(browser, server, server.token())
    page = console.page
    session_id = console.start_session("Sesión que desaparece del servidor")
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_contain_text("Grabando", timeout=ms(30))
    console.context.set_offline(True)
    waiting = page.locator("#rec-waiting")
    expect(waiting).to_contain_text("se enviará al volver la conexión", timeout=ms(30))
    expect(page.locator("#rec-state")).to_contain_text("se enviará al reconectar")

    store = redis.Redis.from_url(redis_url)
    try:
        store.delete(*SessionKeys(session_id).kept())
    finally:
        store.close()
    console.context.set_offline(False)
    expect(page.locator("#conn-detail")).to_have_text("la sesión no existe", timeout=ms(60))
    expect(page.locator("#rec-error")).to_contain_text("La sesión ya no existe en el servidor")
    expect(page.locator("#rec-state")).to_contain_text("Grabación detenida", timeout=ms(30))
    expect(waiting).to_contain_text("la sesión ya no existe en el servidor y no se puede enviar")
    expect(waiting).not_to_contain_text("se enviará")
    shot(page, "session-gone")
    assert not console.errors


def test_a_reload_while_recording_says_the_recording_stopped_and_grabar_goes_on(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """A page reloaded (or restored after a crash) while it recorded cannot start the microphone
    by itself: it says, in red, that the recording was interrupted and that «Grabar» goes on; the
    time recorded goes on from where it was instead of 00:00. A pause or a stop before the reload
    leaves nothing to say."""
    server = spawn("serve")
    console = Console(browser, server, server.token())
    page = console.page
    session_id = console.start_session("Sesión recargada grabando")
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_contain_text("Grabando", timeout=ms(30))
    page.wait_for_function(
        "() => document.querySelector('#rec-elapsed').textContent >= '00:03'", timeout=ms(30)
    )
    page.reload()
    expect(page.locator("#session-id")).to_have_text(session_id)
    console.wait_online()
    notice = page.locator("#rec-error")
    expect(notice).to_contain_text("La grabación se interrumpió cuando la página se recargó o se cerró")
    expect(notice).to_contain_text("Pulse «Grabar» para seguir grabando.")
    expect(page.locator("#rec-state")).to_contain_text("Grabación interrumpida (")
    before = elapsed_seconds(page)
    assert before >= 2, before  # saved every second and at each state change: not back to 00:00
    shot(page, "reloaded-while-recording")

    reloaded_at = len(console.sent)
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_contain_text("Grabando", timeout=ms(30))
    expect(notice).to_have_text("")
    # the interrupted speech is ended before the new recording (no audio_end was ever sent)
    page.wait_for_function("() => window.astraConsole.outbox().pending === 0", timeout=ms(30))
    assert "audio_end" in [m["type"] for m in console.sent[reloaded_at:]]
    page.wait_for_function(
        f"() => {{ const [m, s] = document.querySelector('#rec-elapsed').textContent.split(':');"
        f" return Number(m) * 60 + Number(s) >= {before + 2}; }}",
        timeout=ms(30),
    )
    page.get_by_role("button", name="Pausar").click()
    expect(page.locator("#rec-state")).to_contain_text("En pausa")
    page.reload()
    expect(page.locator("#session-id")).to_have_text(session_id)
    console.wait_online()
    expect(page.locator("#rec-error")).to_have_text("")
    assert not console.errors


@pytest.mark.timeout(300)
def test_audio_cleared_from_the_browsers_storage_during_an_outage_is_reported_and_the_rest_arrives(
    spawn: Any, browser: Browser
) -> None:
    """During an outage longer than the memory window, part of the audio held only on disk is
    deleted (as when the browser clears the site's storage). Back online, everything else
    recorded reaches the server once, in order and numbered without a gap, the live audio after
    it, and the page says how much was lost. Before, the console waited for those bytes for
    good: nothing after them was ever sent."""
    server = spawn("serve", env=PACED)
    token = server.token()
    window = 2.0
    console = Console(browser, server, token, options={"memoryAudioSeconds": window})
    page = console.page
    tap = SocketTap(console.context)
    console.start_session("Sesión con el almacenamiento borrado")
    page.evaluate(RECORD_QUEUED)
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_have_text("Grabando.", timeout=ms(30))
    wait_audio_acked = """(n) => window.astraConsole.outbox() && window.__queued.length >= n
                            && window.astraConsole.outbox().pendingAudioSeconds < 1"""
    page.wait_for_function(wait_audio_acked, arg=10, timeout=ms(30))

    tap.blocked = True
    console.context.set_offline(True)
    expect(page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    wait_backlog(page, 3 * window)
    page.wait_for_function(
        "() => window.astraConsole.outbox().frames.filter((f) => !f.data && !f.sent).length >= 10",
        timeout=ms(30),
    )
    cleared = page.evaluate(
        """async () => {
             const box = window.astraConsole.outbox();
             // never sent (one sent before the cut may have been applied: not lost then)
             const gone = box.frames.filter((f) => f.kind === 'audio' && !f.data && !f.sent).slice(0, 10);
             const orders = gone.map((f) => f.order);
             const saved = await box.audioReader.read(orders[0], orders[orders.length - 1]);
             const hex = async (data) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))]
               .map((b) => b.toString(16).padStart(2, '0')).join('');
             const hashes = [];
             for (const r of saved) if (orders.includes(r.order)) hashes.push([r.order, await hex(r.data)]);
             await box.audioReader.write([], orders);  // what the browser's clearing does to them
             return { hashes, bytes: gone.reduce((n, f) => n + f.bytes, 0) };
           }"""
    )
    assert len(cleared["hashes"]) == 10

    console.context.set_offline(False)
    tap.blocked = False
    console.wait_online()
    backlog = page.locator("#rec-backlog")
    lost_text = f"{cleared['bytes'] / 32000:.1f}".replace(".", ",")
    expect(backlog).to_have_text(
        re.compile(
            rf"^Audio sin confirmar: 0,\d s · perdido, el navegador no conservó su copia en disco: "
            rf"{lost_text} s$"
        ),
        timeout=ms(60),
    )
    drained = page.evaluate("window.__queued.length")
    page.wait_for_function(wait_audio_acked, arg=drained + 10, timeout=ms(30))
    page.get_by_role("button", name="Detener").click()
    wait_stop_applied(page, tap)
    expect(backlog).to_contain_text("Audio sin confirmar: 0,0 s", timeout=ms(30))

    queued = page.evaluate(QUEUED)
    # Each frame's order is its place in the queue (1, 2, …: no other frame was queued before).
    for order, digest in cleared["hashes"]:
        assert queued[order - 1] == ["audio", digest]
    lost = {order - 1 for order, _ in cleared["hashes"]}
    expected = [q for i, q in enumerate(queued) if i not in lost]
    applied = tap.applied()
    assert [m["seq"] for m in applied] == list(range(1, len(applied) + 1))
    assert applied[-1]["type"] == "audio_end"
    assert as_queued(applied) == expected, (len(as_queued(applied)), len(expected))
    assert not [m for m in tap.answers if m["type"] == "error"]
    assert not console.errors


@pytest.mark.timeout(300)
def test_an_outage_longer_than_the_memory_window_loses_nothing_and_live_audio_follows(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """Recording on through an outage four times longer than the audio the outbox may hold in
    memory (a small window here; 5 minutes by default, against outages of an hour or more): the
    audio waits on disk, the page says how much and that it is safe there, and memory never holds
    more than the window. Back online, every chunk recorded is applied by the server once, in the
    order recorded, with a text typed during the outage in its place and the live audio after the
    backlog; the resend is paced under the server's frame rate (never held back, never refused).
    Before, the outbox dropped the oldest audio past its bound and resent the rest at once."""
    server = spawn("serve", env=PACED)
    token = server.token()
    window = 2.0
    console = Console(browser, server, token, options={"memoryAudioSeconds": window})
    page = console.page
    tap = SocketTap(console.context)
    console.start_session("Sesión con un corte largo")
    page.evaluate(RECORD_QUEUED)
    page.get_by_role("button", name="Grabar").click()
    expect(page.locator("#rec-state")).to_have_text("Grabando.", timeout=ms(30))
    wait_audio_acked = """(n) => window.astraConsole.outbox() && window.__queued.length >= n
                            && window.astraConsole.outbox().pendingAudioSeconds < 1"""
    page.wait_for_function(wait_audio_acked, arg=10, timeout=ms(30))

    tap.blocked = True
    console.context.set_offline(True)
    expect(page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    wait_backlog(page, 2 * window)
    late = "Se deja constancia de que la red se cortó durante la intervención."
    console.send_text(late)
    wait_backlog(page, 4 * window)
    waiting = page.locator("#rec-waiting")
    expect(waiting).to_contain_text("de audio en espera, guardado en el disco de este equipo")
    expect(waiting).to_contain_text("se enviará al volver la conexión")
    memory = outbox_memory(page)
    assert memory["queued"] >= 4 * window * 32000 and memory["peak"] <= window * 32000, memory
    shot(page, "long-outage")

    console.context.set_offline(False)
    tap.blocked = False
    console.wait_online()
    # The backlog drains while the microphone goes on: then some more live audio, and stop.
    backlog = page.locator("#rec-backlog")
    expect(backlog).to_have_text(re.compile(r"^Audio sin confirmar: 0,\d s$"), timeout=ms(60))
    drained = page.evaluate("window.__queued.length")
    page.wait_for_function(wait_audio_acked, arg=drained + 10, timeout=ms(30))
    page.get_by_role("button", name="Detener").click()
    wait_stop_applied(page, tap)
    expect(page.locator("#rec-backlog")).to_have_text("Audio sin confirmar: 0,0 s", timeout=ms(30))
    expect(waiting).to_be_hidden()

    queued = page.evaluate(QUEUED)
    applied = tap.applied()
    assert [m["seq"] for m in applied] == list(range(1, len(applied) + 1))
    assert as_queued(applied) == queued, (len(as_queued(applied)), len(queued))
    assert ["text", late] in queued and queued.index(["text", late]) > 20
    assert not [m for m in tap.answers if m["type"] == "error"]
    assert throttled_frames(server) == 0
    assert "descartado" not in page.locator("#rec-backlog").inner_text()
    assert outbox_memory(page)["peak"] <= window * 32000
    # Each connection sent its numbered frames in one increasing run (nothing resent out of order).
    runs: list[list[int]] = []
    for way, m in tap.log:
        if way == "out" and m["type"] == "hello":
            runs.append([])
        elif way == "out" and "seq" in m and m["type"] != "ping":
            runs[-1].append(m["seq"])
    assert len(runs) == 2 and all(run == list(range(run[0], run[0] + len(run))) for run in runs), runs
    assert not console.errors

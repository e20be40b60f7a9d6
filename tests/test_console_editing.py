"""Correcting the draft in the console (static/js/editing.js) in a real browser: headless Chromium
driven by Playwright against real server processes. Two people on one session edit blocks live,
see each other in the presence list and as "editando: …" badges (a soft lock), resolve a
conflict (STALE_VERSION) by keeping their text or taking the other's, insert and delete blocks,
move with the keyboard, and do it across two server instances sharing one Redis."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docx
import httpx
import msgpack
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from server.auth import issue_token
from server.settings import Settings

from .chromium import chromium, ms
from .conftest import TENANT, TIME_UNIT, ServerProcess, free_port
from .wsclient import Client

pytestmark = pytest.mark.e2e

CONFLICT_SCREENSHOT = Path("/tmp/console-conflict.png")
PREFIX = "/v1/orchestrator/session"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


# -- the HTTP API --------------------------------------------------------------------------------


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def start_session(server: ServerProcess, token: str, title: str) -> str:
    response = httpx.post(
        f"{server.url}{PREFIX}/start",
        json={"tenant_id": TENANT, "skeleton_id": "SKEL_STD_V1", "metadata": {"title": title}},
        headers=auth(token),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def append(server: ServerProcess, token: str, session_id: str, text: str) -> str:
    response = httpx.post(
        f"{server.url}{PREFIX}/{session_id}/append", json={"text": text}, headers=auth(token), timeout=60
    )
    assert response.status_code == 200, response.text
    block_id: str = response.json()["block_id"]
    return block_id


def insert_block(
    server: ServerProcess,
    token: str,
    session_id: str,
    after: str,
    text: str,
    template_id: str,
    data: dict[str, Any],
) -> str:
    """A block inserted after another over HTTP, as a stenographer inserts one; its id."""
    block = {"text": text, "template_id": template_id, "structured_data": data}
    response = httpx.post(
        f"{server.url}{PREFIX}/{session_id}/blocks",
        json={"after_block_id": after, "block": block},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    block_id: str = response.json()["block_id"]
    return block_id


def api_blocks(server: ServerProcess, token: str, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}{PREFIX}/{session_id}/blocks", headers=auth(token), timeout=30)
    assert response.status_code == 200, response.text
    blocks: list[dict[str, Any]] = response.json()["blocks"]
    return blocks


def api_block(server: ServerProcess, token: str, session_id: str, block_id: str) -> dict[str, Any]:
    (block,) = [b for b in api_blocks(server, token, session_id) if b["block_id"] == block_id]
    return block


# -- one console page ----------------------------------------------------------------------------


class Console:
    """One console page (its own browser context: own storage, own client id), with the
    JavaScript errors it raised and the WebSocket frames it sent, decoded."""

    def __init__(self, browser: Browser, server: ServerProcess, token: str, session_id: str | None = None):
        self.context: BrowserContext = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(ms(30))
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

    def wait_online(self, timeout: float = 30) -> None:
        expect(self.page.locator("#conn-text")).to_have_text("en línea", timeout=ms(timeout))

    def start_session(self, title: str) -> str:
        self.page.get_by_label("Título de la sesión").fill(title)
        self.page.get_by_role("button", name="Abrir la sesión del concejo").click()
        self.wait_online()
        session_id = self.page.locator("#session-id").inner_text()
        assert session_id.startswith("ses_"), session_id
        return session_id

    def block(self, block_id: str) -> Locator:
        return self.page.locator(f'#draft li.block[data-block-id="{block_id}"]')

    def block_ids(self) -> list[str]:
        ids: list[str] = self.page.eval_on_selector_all(
            "#draft li.block[data-block-id]", "(l) => l.map((li) => li.dataset.blockId)"
        )
        return ids

    def text_of(self, block_id: str) -> Locator:
        return self.block(block_id).locator(".block__text")

    def editor(self, block_id: str) -> Locator:
        return self.block(block_id).locator(".editor")

    def open_editor(self, block_id: str) -> Locator:
        self.block(block_id).get_by_role("button", name="Editar").click()
        editor = self.editor(block_id)
        expect(editor.get_by_label("Texto del bloque")).to_be_focused()
        return editor

    def presence_subs(self) -> Locator:
        return self.page.locator("#presence-list li.presence__item")

    def frames(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("type") == kind]

    def close(self) -> None:
        self.context.close()


def until(console: Console, check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition on what the page reported, letting Playwright deliver its events."""
    deadline = time.monotonic() + timeout * TIME_UNIT
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        console.page.wait_for_timeout(50)


def badge(console: Console, block_id: str) -> Locator:
    return console.block(block_id).locator(".block__presence")


def numbered_in_order(console: Console) -> bool:
    """Every numbered frame went out as 1, 2, 3, … (a refused frame does not use up its seq)."""
    seqs: list[int] = []
    for m in console.sent:
        if "seq" in m and m.get("type") in ("text", "audio", "audio_end", "edit", "insert", "delete"):
            if seqs and m["seq"] <= seqs[-1]:
                continue  # a resend after a reconnect
            seqs.append(m["seq"])
    return seqs == list(range(1, len(seqs) + 1))


# -- 1. two people, live --------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_an_edit_shows_live_with_presence_and_the_editing_badge(spawn: Any, browser: Browser) -> None:
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión corregida entre dos")
    block_id = append(server, api, session_id, "Siendo las nueve de la mañana se abre la sesion ordinaria.")

    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    for console in (ana, luis):
        console.wait_online()
        expect(console.block(block_id)).to_have_count(1, timeout=ms(30))
        # Both see each other (and themselves) in the presence list, with their roles.
        expect(console.presence_subs()).to_have_count(2, timeout=ms(15))
    for console, other in ((ana, "luis"), (luis, "ana")):
        item = console.presence_subs().filter(has_text=other)
        expect(item).to_contain_text("relatoría")
        expect(console.page.locator("#presence-list .presence__item--self")).to_have_count(1)

    # ana opens the editor: luis sees the soft lock on that block, and a warning on Editar.
    editor = ana.open_editor(block_id)
    expect(badge(luis, block_id)).to_have_text("editando: ana", timeout=ms(15))
    expect(luis.block(block_id).get_by_role("button", name="Editar")).to_have_class(
        re.compile(r"\bblock__edit--warn\b")
    )
    expect(luis.presence_subs().filter(has_text="ana")).to_contain_text("editando")
    expect(badge(ana, block_id)).to_have_count(0)  # not for oneself

    # A reconnect: the page says again which block it is editing.
    ana.context.set_offline(True)
    expect(ana.page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    ana.context.set_offline(False)
    ana.wait_online()
    hellos = [i for i, m in enumerate(ana.sent) if m["type"] == "hello"]
    assert len(hellos) >= 2
    until(ana, lambda: any(m["type"] == "presence" for m in ana.sent[hellos[-1] :]), 10, "presence resent")
    after = [m for m in ana.sent[hellos[-1] :] if m["type"] == "presence"]
    assert after[0]["block_id"] == block_id, ana.sent[hellos[-1] :]
    expect(badge(luis, block_id)).to_have_text("editando: ana", timeout=ms(15))

    fixed = "Siendo las nueve de la mañana, se abre la sesión ordinaria."
    editor.get_by_label("Texto del bloque").fill(fixed)
    editor.get_by_role("button", name="Guardar").click()

    # luis sees the new text live, and the badge goes away with ana's presence.
    expect(luis.text_of(block_id)).to_have_text(fixed, timeout=ms(15))
    expect(badge(luis, block_id)).to_have_count(0, timeout=ms(15))
    expect(luis.block(block_id).get_by_role("button", name="Editar")).not_to_have_class(
        re.compile(r"\bblock__edit--warn\b")
    )
    for console in (ana, luis):
        expect(console.block(block_id).locator(".block__edited")).to_have_text("editado por ana")
        expect(console.block(block_id).locator(".block__version")).to_have_text("versión 2")
    expect(ana.editor(block_id)).to_have_count(0)

    block = api_block(server, api, session_id, block_id)
    assert block["text"] == fixed and block["version"] == 2 and block["edited_by"] == "ana"
    # Only the changed field, on the version that was edited; presence claimed then released.
    (edit,) = ana.frames("edit")
    assert edit["block_id"] == block_id and edit["base_version"] == 1 and edit["changes"] == {"text": fixed}
    presence = [m["block_id"] for m in ana.frames("presence")]
    assert presence[0] == block_id and presence[-1] is None, presence
    assert not luis.frames("edit") and numbered_in_order(ana)
    assert not ana.errors and not luis.errors


@pytest.mark.timeout(300)
def test_the_same_person_in_two_windows_is_told_apart_from_someone_else(spawn: Any, browser: Browser) -> None:
    """Two windows with the same person's token (the one stenographer link `make run` prints,
    opened twice): each shows the other as "(usted, en otra ventana)", its editing badge as
    "usted (otra ventana)", and a conflict with a version saved there says so, instead of naming
    the person to themselves as if someone else had saved it."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión en dos ventanas")
    block_id = append(server, api, session_id, "Siendo las nueve de la mañana se abre la sesion ordinaria.")
    token = server.token(role="stenographer", sub="relator")
    here, there = Console(browser, server, token, session_id), Console(browser, server, token, session_id)
    for console in (here, there):
        console.wait_online()
        expect(console.presence_subs()).to_have_count(2, timeout=ms(15))
        expect(console.page.locator("#presence-list .presence__item--self")).to_have_count(1)
        expect(console.presence_subs().filter(has_text="(usted, en otra ventana)")).to_have_count(1)

    editor = here.open_editor(block_id)
    other = there.open_editor(block_id)
    expect(badge(here, block_id)).to_have_text("editando: usted (otra ventana)", timeout=ms(15))
    other.get_by_label("Texto del bloque").fill("Siendo las nueve, se abre la sesión ordinaria.")
    other.get_by_role("button", name="Guardar").click()
    expect(there.editor(block_id)).to_have_count(0, timeout=ms(15))
    editor.get_by_label("Texto del bloque").fill("Siendo las nueve de la mañana, se abre la sesión.")
    editor.get_by_role("button", name="Guardar").click()
    conflict = here.editor(block_id)
    expect(conflict.locator(".conflict__title")).to_have_text(
        "Este bloque cambió en otra ventana suya", timeout=ms(15)
    )
    expect(conflict.locator(".conflict__explain")).to_contain_text(
        "Usted guardó la versión 2 en otra ventana mientras editaba aquí la versión 1."
    )
    # Each side says whose it is; "la suya" read as the user's own (the formal "yours").
    expect(conflict.locator(".conflict__who")).to_have_text(
        ["Guardada en su otra ventana · versión 2", "Su versión, sin guardar"]
    )
    expect(conflict.get_by_role("button", name="Usar la de la otra ventana")).to_be_visible()
    assert not here.errors and not there.errors


@pytest.mark.timeout(300)
def test_finalize_warns_that_another_console_records_and_who_edits(spawn: Any, browser: Browser) -> None:
    """About to finalize, a stenographer is told that another console is recording now (the
    server says who holds the session's recording) and who is editing a block: finalizing would
    cut them off. Declining changes nothing."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión en curso")
    block_id = append(server, api, session_id, "Se abre la sesión.")
    recorder = Client(server.ws_url, session_id)
    editor = Client(server.ws_url, session_id)
    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    try:
        recorder.hello(server.token(sub="mic"), client_id="mic")
        editor.hello(server.token(role="stenographer", sub="luis"), client_id="luis")
        editor.send({"type": "presence", "block_id": block_id})
        ana.wait_online()
        expect(badge(ana, block_id)).to_have_text("editando: luis", timeout=ms(15))
        recorder.audio(1, b"\0" * 3200, start=True)  # holds the recording for 12 s from now
        recorder.until(lambda m: m["type"] == "ack" and m["seq"] == 1)
        questions: list[str] = []

        def decline(dialog: Any) -> None:
            questions.append(dialog.message)
            dialog.dismiss()

        ana.page.once("dialog", decline)
        ana.page.get_by_role("button", name="Finalizar y generar el acta").click()
        until(ana, lambda: bool(questions), 15, "the confirmation")
        assert "Otra consola está grabando" in questions[0], questions
        assert "luis está editando bloques" in questions[0], questions
        described = httpx.get(f"{server.url}/v1/orchestrator/session/{session_id}", headers=auth(api)).json()
        assert described["status"] == "OPEN" and described["recording"]["client_id"] == "mic"
        assert not ana.errors
    finally:
        recorder.close()
        editor.close()
        ana.close()


@pytest.mark.timeout(300)
def test_an_editor_open_when_the_session_is_finalized_keeps_its_text_and_cannot_save(
    spawn: Any, browser: Browser
) -> None:
    """Someone finalizes while luis has an editor open: his text stays (to copy), Guardar is
    disabled and he is told why, instead of a save that could only fail with SESSION_CLOSED."""
    server = spawn("serve")
    with luis_changing_a_block(server, browser, "Sesión que se cierra") as (luis, session_id, editor):
        finalized = httpx.post(
            f"{server.url}/v1/orchestrator/session/{session_id}/finalize",
            headers=auth(server.token()),
            timeout=120,
        )
        assert finalized.status_code == 200, finalized.text
        expect(editor.get_by_role("button", name="Guardar")).to_be_disabled(timeout=ms(30))
        expect(editor.locator(".editor__status")).to_contain_text("ya no admite cambios")
        expect(editor.get_by_label("Texto del bloque")).to_have_value("Se abre la sesión ordinaria.")
        assert not luis.frames("edit") and not luis.errors


@contextlib.contextmanager
def luis_changing_a_block(server: Any, browser: Browser, title: str) -> Iterator[tuple[Console, str, Any]]:
    """A session titled ``title`` with one block, and luis's console with the block's editor
    open, its text changed and not saved: the console, the session and the editor."""
    api = server.token()
    session_id = start_session(server, api, title)
    block_id = append(server, api, session_id, "Se abre la sesión.")
    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    try:
        luis.wait_online()
        expect(luis.block(block_id)).to_have_count(1, timeout=ms(30))
        editor = luis.open_editor(block_id)
        editor.get_by_label("Texto del bloque").fill("Se abre la sesión ordinaria.")
        yield luis, session_id, editor
    finally:
        luis.close()


@pytest.mark.timeout(300)
def test_a_correction_being_written_is_not_thrown_away_by_leaving_or_closing_without_asking(
    spawn: Any, browser: Browser
) -> None:
    """luis has changed a block's text in its editor and not saved it: "Cambiar de sesión" asks
    first, saying a correction would be lost (declined, the editor and its text stay), and so
    does closing the page. Both threw his words away without a word (only recording and
    unconfirmed audio were asked about)."""
    server = spawn("serve")
    title = "Sesión con una corrección a medias"
    with luis_changing_a_block(server, browser, title) as (luis, session_id, editor):
        asked: list[tuple[str, str]] = []

        def decline(dialog: Any) -> None:
            asked.append((dialog.type, dialog.message))
            dialog.dismiss()

        luis.page.once("dialog", decline)
        luis.page.get_by_role("button", name="Cambiar de sesión").click()
        until(luis, lambda: bool(asked), 15, "the question before leaving")
        assert asked[0][0] == "confirm" and "corrección(es) a medio escribir" in asked[0][1], asked
        expect(editor.get_by_label("Texto del bloque")).to_have_value("Se abre la sesión ordinaria.")
        expect(luis.page.locator("#session-id")).to_have_text(session_id)

        luis.page.once("dialog", decline)
        luis.page.close(run_before_unload=True)
        until(luis, lambda: len(asked) == 2, 15, "the question before closing the page")
        assert asked[1][0] == "beforeunload", asked
        assert not luis.frames("edit") and not luis.errors


@pytest.mark.timeout(300)
def test_after_a_failed_finalize_the_console_still_corrects_blocks(spawn: Any, browser: Browser) -> None:
    """BUILDER unreachable: finalize fails, and the stenographer's console says why and that the
    blocks can still be corrected, and an edit made then is saved (for the retried finalize)."""
    server = spawn(
        "serve",
        env={"ASTRA_BUILDER_URL": f"http://127.0.0.1:{free_port()}", "ASTRA_RETRY_ATTEMPTS": "2"},
    )
    api = server.token()
    session_id = start_session(server, api, "Sesión cuyo cierre falla")
    block_id = append(server, api, session_id, "Se abre la sesion.")
    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    try:
        luis.wait_online()
        expect(luis.block(block_id)).to_have_count(1, timeout=ms(30))
        failed = httpx.post(f"{server.url}{PREFIX}/{session_id}/finalize", headers=auth(api), timeout=120)
        assert failed.status_code == 502 and failed.json()["error"]["code"] == "BUILD_FAILED", failed.text
        status = luis.page.locator("#session-status")
        expect(status).to_have_text("Falló la generación del acta", timeout=ms(30))
        expect(luis.page.locator("#final-status")).to_contain_text("se pueden seguir corrigiendo")
        editor = luis.open_editor(block_id)
        editor.get_by_label("Texto del bloque").fill("Se abre la sesión ordinaria.")
        editor.get_by_role("button", name="Guardar").click()
        expect(luis.text_of(block_id)).to_have_text("Se abre la sesión ordinaria.", timeout=ms(30))
        stored = api_block(server, api, session_id, block_id)
        assert stored["text"] == "Se abre la sesión ordinaria." and stored["edited_by"] == "luis"
        assert len(luis.frames("edit")) == 1 and not luis.errors
    finally:
        luis.close()


@pytest.mark.timeout(300)
def test_the_console_downloads_a_draft_of_the_acta_before_finalizing(spawn: Any, browser: Browser) -> None:
    """ "Descargar borrador (DOCX)": the acta as it would be written now, its first line saying it
    is a draft, and the session still open; a viewer's button is disabled."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión por revisar")
    append(server, api, session_id, "Siendo las nueve de la mañana se abre la sesión ordinaria.")
    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    viewer = Console(browser, server, server.token(role="viewer", sub="publico"), session_id)
    try:
        for console in (luis, viewer):
            console.wait_online()
        expect(viewer.page.get_by_role("button", name="Descargar borrador (DOCX)")).to_be_disabled()
        with luis.page.expect_download(timeout=ms(60)) as started:
            luis.page.get_by_role("button", name="Descargar borrador (DOCX)").click()
        download = started.value
        assert download.suggested_filename == f"borrador-{session_id}.docx"
        document = docx.Document(download.path())
        assert document.paragraphs[0].text.startswith("BORRADOR SIN VALIDEZ"), document.paragraphs[0].text
        assert "9:00 a. m." in "".join(document.element.body.itertext())
        expect(luis.page.locator("#preview-status")).to_contain_text("Borrador descargado")
        expect(luis.page.locator("#session-status")).to_have_text("Abierta")
        assert not luis.errors and not viewer.errors
    finally:
        luis.close()
        viewer.close()


@pytest.mark.timeout(300)
def test_a_finalize_whose_answer_is_lost_after_the_acta_was_made_says_it_was_made(
    spawn: Any, browser: Browser
) -> None:
    """The finalize call's answer never reaches the page (a proxy's time-out, the network) after
    the server made the acta, whose event the page has shown: the page says the acta was
    generated, beside its download link. It said "No se pudo generar el acta" over it."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión cuya respuesta se pierde")
    append(server, api, session_id, "Siendo las nueve de la mañana se abre la sesión ordinaria.")
    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    try:
        luis.wait_online()
        held: list[Any] = []
        luis.page.route("**/finalize", lambda route: held.append(route))
        luis.page.once("dialog", lambda dialog: dialog.accept())
        luis.page.get_by_role("button", name="Finalizar y generar el acta").click()
        until(luis, lambda: bool(held), 30, "the finalize call")
        made = held[0].fetch(timeout=ms(120))  # the server makes the acta; its answer is dropped
        assert made.status == 200, made.text()
        expect(luis.page.locator("#session-status")).to_have_text("Finalizada", timeout=ms(30))
        held[0].abort("timedout")
        expect(luis.page.locator("#final-status")).to_have_text("Acta generada.", timeout=ms(30))
        expect(luis.page.locator("#download")).to_be_visible()
    finally:
        luis.close()


# -- 2. conflicts ----------------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_a_conflict_is_shown_and_resolved_by_keeping_mine_or_using_theirs(
    spawn: Any, browser: Browser
) -> None:
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión con conflictos")
    first = append(server, api, session_id, "Tiene la palabra el concejal Pedro Gomez.")
    second = append(server, api, session_id, "Se somete a votacion la proposicion.")
    third = append(server, api, session_id, "Se levanta la sesion.")

    ana = Console(browser, server, server.token(role="recorder", sub="ana"), session_id)
    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    for console in (ana, luis):
        console.wait_online()
        expect(console.block(third)).to_have_count(1, timeout=ms(30))

    def conflict(choice: str, block_id: str, theirs: str, mine: str) -> None:
        ana_editor = ana.open_editor(block_id)
        luis_editor = luis.open_editor(block_id)
        # Each sees the other on the block.
        expect(badge(ana, block_id)).to_have_text("editando: luis", timeout=ms(15))
        expect(badge(luis, block_id)).to_have_text("editando: ana", timeout=ms(15))
        expect(luis_editor.locator(".editor__notice")).to_contain_text("ana también está editando")

        ana_editor.get_by_label("Texto del bloque").fill(theirs)
        ana_editor.get_by_role("button", name="Guardar").click()
        expect(ana.editor(block_id)).to_have_count(0, timeout=ms(15))
        # luis is warned at once, while still editing.
        expect(luis_editor.locator(".editor__notice")).to_contain_text(
            "Cambiado por ana mientras editaba", timeout=ms(15)
        )
        luis_editor.get_by_label("Texto del bloque").fill(mine)
        luis_editor.get_by_role("button", name="Guardar").click()

        panel = luis.editor(block_id)
        expect(panel.get_by_role("heading", name="Otra persona cambió este bloque")).to_be_visible(
            timeout=ms(15)
        )
        expect(panel.locator(".conflict__side--theirs")).to_contain_text("ana")
        expect(panel.locator(".conflict__side--theirs .conflict__text")).to_have_text(theirs)
        expect(panel.locator(".conflict__side--yours .conflict__text")).to_have_text(mine)
        # Nothing was merged: the server still has ana's text.
        assert api_block(server, api, session_id, block_id)["text"] == theirs
        if choice == "mine":
            luis.page.screenshot(path=str(CONFLICT_SCREENSHOT), full_page=False)
        panel.get_by_role("button", name=choice_names[choice]).click()
        if choice == "merge":
            merged = panel.get_by_label("Texto combinado")
            expect(merged).to_be_focused()
            expect(merged).to_have_value(f"{theirs}\n\n{mine}")
            merged.fill(f"{theirs} {mine}")
            merged.press("Control+Enter")
        expect(luis.editor(block_id)).to_have_count(0, timeout=ms(15))

    choice_names = {"mine": "Mantener la mía", "theirs": "Usar la de ana", "merge": "Combinar a mano"}

    mine = "Tiene la palabra el honorable concejal Pedro Gómez Ospina."
    conflict("mine", first, "Tiene la palabra el concejal Pedro Gómez.", mine)
    for console in (ana, luis):
        expect(console.text_of(first)).to_contain_text(mine, timeout=ms(15))
        expect(console.block(first).locator(".block__version")).to_have_text("versión 3")
    block = api_block(server, api, session_id, first)
    assert block["text"] == mine and block["version"] == 3 and block["edited_by"] == "luis"
    # The first try was refused (STALE_VERSION) and did not use up its seq: the retry reused it.
    tries = [m for m in luis.frames("edit") if m["block_id"] == first]
    assert [m["base_version"] for m in tries] == [1, 2] and tries[0]["seq"] == tries[1]["seq"] == 1

    theirs = "Se somete a votación la proposición."
    conflict("theirs", second, theirs, "Se somete a votación la proposición presentada.")
    for console in (ana, luis):
        expect(console.text_of(second)).to_contain_text(theirs, timeout=ms(15))
    block = api_block(server, api, session_id, second)
    assert block["text"] == theirs and block["version"] == 2 and block["edited_by"] == "ana"
    assert [m["base_version"] for m in luis.frames("edit") if m["block_id"] == second] == [1]

    # Combinar a mano: both texts in one field, saved on the current version.
    conflict("merge", third, "Se levanta la sesión.", "Se levanta la sesión a las doce.")
    merged = "Se levanta la sesión. Se levanta la sesión a las doce."
    for console in (ana, luis):
        expect(console.text_of(third)).to_contain_text(merged, timeout=ms(15))
    block = api_block(server, api, session_id, third)
    assert block["text"] == merged and block["version"] == 3 and block["edited_by"] == "luis"
    assert numbered_in_order(luis) and numbered_in_order(ana)
    assert not ana.errors and not luis.errors


# -- 3. insert and delete --------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_insert_and_delete_from_the_console(spawn: Any, browser: Browser) -> None:
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión con bloques insertados")
    b1 = append(server, api, session_id, "Se abre la sesión.")
    b2 = append(server, api, session_id, "Señor secretario, sírvase llamar a lista.")
    b3 = append(server, api, session_id, "Esto se dijo por error y no va en el acta.")

    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    viewer = Console(browser, server, server.token(role="viewer", sub="publico"), session_id)
    for console in (ana, viewer):
        console.wait_online()
        expect(console.block(b3)).to_have_count(1, timeout=ms(30))
    # A viewer never sees editing controls.
    expect(viewer.page.get_by_role("button", name="Editar")).to_have_count(0)
    expect(viewer.page.get_by_role("button", name="Eliminar")).to_have_count(0)
    expect(viewer.page.get_by_role("button", name="Insertar")).to_have_count(0)

    ana.block(b1).get_by_role("button", name="Insertar después").click()
    form = ana.block(b1).locator("form.inserter")
    text = "Preside la sesión el concejal Juan Pérez."
    form.get_by_label("Texto del bloque nuevo").fill(text)
    form.get_by_role("button", name="Insertar").click()
    expect(form).to_have_count(0, timeout=ms(15))

    inserted = ana.page.locator("#draft li.block[data-block-id]").filter(has_text=text)
    expect(inserted).to_have_count(1, timeout=ms(15))
    new_id = inserted.get_attribute("data-block-id")
    assert new_id
    expect(inserted.locator(".block__edited")).to_have_text("añadido por ana")
    expect(inserted).to_be_focused()
    for console in (ana, viewer):
        expect(console.block(new_id)).to_have_count(1, timeout=ms(15))
        ids = console.block_ids()
        assert ids.index(b1) < ids.index(new_id) < ids.index(b2), ids

    ana.block(b3).get_by_role("button", name="Eliminar").click()
    confirm = ana.block(b3).locator(".confirm")
    expect(confirm).to_contain_text("¿Eliminar este bloque del acta?")
    expect(confirm.get_by_role("button", name="No, conservar")).to_be_focused()
    confirm.get_by_role("button", name="Sí, eliminar").click()
    for console in (ana, viewer):
        expect(console.block(b3)).to_have_count(0, timeout=ms(15))

    # Someone deletes the block ana is editing: her text stays on the page, and can go back in.
    editor = ana.open_editor(b2)
    rewritten = "Señor secretario, sírvase llamar a lista, por favor."
    editor.get_by_label("Texto del bloque").fill(rewritten)
    response = httpx.delete(
        f"{server.url}{PREFIX}/{session_id}/blocks/{b2}", params={"base_version": 1}, headers=auth(api)
    )
    assert response.status_code == 200, response.text
    expect(ana.block(b2)).to_have_count(0, timeout=ms(15))
    gone = ana.page.locator("#draft li.block-gone")
    expect(gone).to_contain_text("tester eliminó este bloque mientras usted lo editaba")
    expect(gone.get_by_label("Su texto")).to_have_value(rewritten)
    gone.get_by_role("button", name="Insertar mi texto como bloque nuevo").click()
    expect(gone).to_have_count(0, timeout=ms(15))
    again = ana.page.locator("#draft li.block[data-block-id]").filter(has_text=rewritten)
    expect(again).to_have_count(1, timeout=ms(15))
    again_id = again.get_attribute("data-block-id")
    assert again_id and ana.block_ids() == [b1, new_id, again_id]

    blocks = api_blocks(server, api, session_id)
    by_id = {b["block_id"]: b for b in blocks}
    order = [b["block_id"] for b in blocks]
    assert order.index(b1) < order.index(new_id) < order.index(b2), order
    assert by_id[b1]["position"] < by_id[new_id]["position"] < by_id[b2]["position"]
    assert by_id[new_id]["text"] == text and by_id[new_id]["created_by"] == "ana"
    assert by_id[b3]["deleted"] is True and by_id[b3]["edited_by"] == "ana"
    assert not by_id[b1].get("deleted") and not by_id[new_id].get("deleted")
    (delete,) = ana.frames("delete")
    assert delete["block_id"] == b3 and delete["base_version"] == 1
    insert, reinsert = ana.frames("insert")
    assert insert["after_block_id"] == b1 and insert["block"] == {"text": text}
    assert reinsert["after_block_id"] == new_id and reinsert["block"]["text"] == rewritten
    assert by_id[b2]["deleted"] is True and by_id[again_id]["text"] == rewritten
    assert not ana.frames("edit")
    assert not ana.errors and not viewer.errors


# -- 4. the keyboard -----------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_keyboard_moves_between_blocks_edits_and_saves(spawn: Any, browser: Browser) -> None:
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión a teclado")
    ids = [
        append(server, api, session_id, text)
        for text in ("Primer bloque.", "Segundo bloque con un eror.", "Tercer bloque.")
    ]
    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    ana.wait_online()
    expect(ana.block(ids[2])).to_have_count(1, timeout=ms(30))
    page = ana.page
    keyboard = page.keyboard

    def focused() -> Any:
        return page.evaluate("() => document.activeElement && document.activeElement.dataset.blockId")

    keyboard.press("j")
    expect(ana.block(ids[0])).to_be_focused()
    keyboard.press("j")
    expect(ana.block(ids[1])).to_be_focused()
    keyboard.press("j")
    keyboard.press("k")
    expect(ana.block(ids[1])).to_be_focused()
    keyboard.press("Alt+ArrowUp")
    expect(ana.block(ids[0])).to_be_focused()
    keyboard.press("Alt+ArrowDown")
    expect(ana.block(ids[1])).to_be_focused()
    assert focused() == ids[1]
    # The focus ring is visible, and the focused block is the one Tab reaches.
    outline = ana.block(ids[1]).evaluate("(li) => getComputedStyle(li).outlineStyle")
    assert outline not in ("none", ""), outline
    expect(ana.block(ids[1])).to_have_attribute("tabindex", "0")
    expect(ana.block(ids[0])).to_have_attribute("tabindex", "-1")

    # "?" shows the shortcuts, Esc hides them.
    help_box = page.locator("#shortcuts")
    expect(help_box).to_be_hidden()
    keyboard.press("?")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("Ctrl")
    keyboard.press("Escape")
    expect(help_box).to_be_hidden()

    # Enter opens the editor, Esc cancels (nothing sent).
    keyboard.press("Enter")
    area = ana.editor(ids[1]).get_by_label("Texto del bloque")
    expect(area).to_be_focused()
    keyboard.press("Escape")
    expect(ana.editor(ids[1])).to_have_count(0)
    expect(ana.block(ids[1])).to_be_focused()
    assert not ana.frames("edit")

    # With changes, one Esc only warns (typing disarms it); a second one discards them.
    keyboard.press("Enter")
    expect(area).to_be_focused()
    keyboard.type(" Algo escrito.")
    keyboard.press("Escape")
    status = ana.editor(ids[1]).locator(".editor__status")
    expect(status).to_contain_text("pulse Esc otra vez para descartarlos")
    expect(area).to_have_value(re.compile(r"Algo escrito\.$"))
    keyboard.type(" Más.")
    keyboard.press("Escape")
    expect(ana.editor(ids[1])).to_have_count(1)
    keyboard.press("Escape")
    expect(ana.editor(ids[1])).to_have_count(0)
    assert not ana.frames("edit")

    # A paste longer than the server takes is kept whole and said at once (not cut short).
    keyboard.press("Enter")
    max_chars = Settings.from_env({}).limits.max_text_chars
    area.fill("a" * (max_chars + 5))
    expect(status).to_have_text(
        f"El texto tiene {max_chars + 5} caracteres; el máximo es {max_chars}. "
        "Acórtelo o divídalo en varios bloques."
    )
    assert area.evaluate("(a) => a.value.length") == max_chars + 5
    keyboard.press("Control+Enter")  # refused here, nothing sent
    expect(ana.editor(ids[1])).to_have_count(1)
    area.fill("Corto.")
    expect(status).to_have_text("")
    keyboard.press("Escape")
    keyboard.press("Escape")
    expect(ana.editor(ids[1])).to_have_count(0)
    assert not ana.frames("edit")

    # Enter again, type, Ctrl+Enter saves.
    keyboard.press("Enter")
    expect(area).to_be_focused()
    keyboard.press("Control+a")
    keyboard.type("Segundo bloque con un error.")
    keyboard.press("Control+Enter")
    expect(ana.editor(ids[1])).to_have_count(0, timeout=ms(15))
    expect(ana.text_of(ids[1])).to_have_text("Segundo bloque con un error.", timeout=ms(15))
    expect(ana.block(ids[1])).to_be_focused()
    block = api_block(server, api, session_id, ids[1])
    assert block["text"] == "Segundo bloque con un error." and block["version"] == 2
    # j keeps working from the saved block.
    keyboard.press("j")
    expect(ana.block(ids[2])).to_be_focused()
    assert not ana.errors


# -- 5. two server instances -----------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_an_edit_on_another_instance_reaches_the_recorder_live(
    spawn: Any, browser: Browser, redis_url: str, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    env = {"REDIS_URL": redis_url}
    first = spawn("serve", data_dir=shared, env=env)
    second = spawn("serve", data_dir=shared, env=env)

    recorder = Console(browser, first, first.token(sub="grabacion"))
    session_id = recorder.start_session("Sesión en dos instancias")
    recorder.page.get_by_label("Texto de la intervención").fill("Se abre la sesion del concejo.")
    recorder.page.get_by_role("button", name="Enviar").click()
    expect(recorder.page.locator("#draft li.block[data-block-id]")).to_have_count(1, timeout=ms(30))
    (block_id,) = recorder.block_ids()

    maria = Console(browser, second, second.token(role="stenographer", sub="maria"), session_id)
    maria.wait_online()
    expect(maria.block(block_id)).to_have_count(1, timeout=ms(30))
    # Presence spans instances.
    expect(recorder.presence_subs().filter(has_text="maria")).to_have_count(1, timeout=ms(15))
    expect(maria.presence_subs().filter(has_text="grabacion")).to_have_count(1, timeout=ms(15))

    editor = maria.open_editor(block_id)
    expect(badge(recorder, block_id)).to_have_text("editando: maria", timeout=ms(15))
    fixed = "Se abre la sesión del Concejo."
    editor.get_by_label("Texto del bloque").fill(fixed)
    editor.get_by_role("button", name="Guardar").click()

    expect(recorder.text_of(block_id)).to_have_text(fixed, timeout=ms(15))
    expect(recorder.block(block_id).locator(".block__edited")).to_have_text("editado por maria")
    expect(badge(recorder, block_id)).to_have_count(0, timeout=ms(15))
    block = api_block(second, first.token(), session_id, block_id)
    assert block["text"] == fixed and block["version"] == 2
    assert not recorder.errors and not maria.errors


# -- 6. the outbox's corrections on their own ------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.timeout(120)
def test_a_stenographer_sees_a_correction_refused_after_a_reload(spawn: Any, browser: Browser) -> None:
    """A correction queued before a reload (here: an edit of a block a colleague deleted) is
    sent again with no editor open and refused (NOT_FOUND): its text goes to «Textos no
    registrados» with a copy button, which a stenographer sees (it was inside the text card, hidden
    from a role that cannot send: the text was gone from the screen)."""
    server = spawn("serve")
    session_id = httpx.post(
        f"{server.url}/v1/orchestrator/session/start",
        json={"tenant_id": TENANT},
        headers={"authorization": f"Bearer {server.token()}"},
    ).json()["session_id"]
    steno = Console(browser, server, server.token(role="stenographer", sub="ana"))
    page = steno.page
    page.evaluate(
        """async (sid) => {
             const { Outbox } = await import('/static/js/outbox.js');
             const { outboxStore } = await import('/static/js/identity.js');
             const { local } = await import('/static/js/storage.js');
             local.set(`client.${sid}`, 'steno-before-reload');
             const box = new Outbox(outboxStore(sid, 'steno-before-reload'));
             box.addCorrection('edit', {block_id: 'blk_borrado', base_version: 1,
                                        changes: {text: 'Corrección hecha antes de recargar.'}});
             box.save();
           }""",
        session_id,
    )
    page.goto(f"{server.url}/#session={session_id}")
    steno.wait_online()
    rejected = page.locator("#rejected")
    expect(rejected).to_be_visible()
    expect(rejected).to_contain_text("Corrección hecha antes de recargar.")
    expect(rejected).to_contain_text("NOT_FOUND")
    assert any(m.get("type") == "edit" and m.get("block_id") == "blk_borrado" for m in steno.sent)
    assert not steno.errors


@pytest.mark.timeout(180)
def test_a_stale_change_from_before_a_reload_leaves_the_editor_open_now_alone(
    spawn: Any, browser: Browser
) -> None:
    """An edit queued before a reload comes back STALE_VERSION while the user has the same block
    open again and is typing: what is typed stays in that editor, and the old change is listed
    among the refused texts. Before, the conflict took that editor over and emptied it."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión con un cambio viejo en cola")
    block_id = append(server, api, session_id, "Se abre la sesión ordinaria.")
    steno = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    page = steno.page
    steno.wait_online()
    expect(steno.text_of(block_id)).to_contain_text("Se abre la sesión ordinaria.")
    version = api_block(server, api, session_id, block_id)["version"]
    edited = httpx.patch(
        f"{server.url}/v1/orchestrator/session/{session_id}/blocks/{block_id}",
        json={"base_version": version, "changes": {"text": "Se abre la sesión ordinaria del concejo."}},
        headers=auth(api),
    )
    assert edited.status_code == 200, edited.text
    expect(steno.text_of(block_id)).to_contain_text("del concejo")
    page.goto(f"{server.url}/static/index.html")  # leave the session (its lease let go)
    page.evaluate(
        """async ([sid, block, version]) => {
             const { Outbox } = await import('/static/js/outbox.js');
             const { outboxStore } = await import('/static/js/identity.js');
             const { local } = await import('/static/js/storage.js');
             const box = new Outbox(outboxStore(sid, local.get(`client.${sid}.ana`)));  // ana's id
             box.addCorrection('edit', {block_id: block, base_version: version,
                                        changes: {text: 'Cambio viejo de antes de recargar.'}});
             box.save();
           }""",
        [session_id, block_id, version],
    )
    tap_blocked = {"on": True}

    def route(ws: Any) -> None:  # the socket held closed until the editor is open
        if tap_blocked["on"]:
            ws.close()
            return
        ws.connect_to_server()

    steno.context.route_web_socket(re.compile(r".*"), route)
    page.goto(f"{server.url}/#session={session_id}")
    editor = steno.open_editor(block_id)
    area = editor.get_by_label("Texto del bloque")
    area.fill("Lo que escribo ahora.")
    tap_blocked["on"] = False
    steno.wait_online(60)
    rejected = page.locator("#rejected")
    expect(rejected).to_contain_text("Cambio viejo de antes de recargar.", timeout=ms(30))
    expect(rejected).to_contain_text("STALE_VERSION")
    expect(area).to_have_value("Lo que escribo ahora.")
    assert not steno.errors


@pytest.mark.timeout(120)
def test_a_console_given_another_users_client_id_takes_one_of_its_own(spawn: Any, browser: Browser) -> None:
    """On a shared recording computer the browser kept one client id per session (from before
    ids were kept per user): the next user's console says hello with it, the server refuses it as
    the first user's (CLIENT_ID_TAKEN), and the console makes one of its own and goes on: its
    correction is stored, not acked as a duplicate of the other user's frames."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión en un equipo compartido")
    block_id = append(server, api, session_id, "Se abre la sesión.")
    first = Client(server.ws_url, session_id)
    assert (
        first.hello(server.token(role="recorder", sub="grabacion"), client_id="equipo-1")["type"] == "welcome"
    )
    first.close()
    steno = Console(browser, server, server.token(role="stenographer", sub="ana"))
    steno.page.evaluate(
        """async (sid) => {
             const { local } = await import('/static/js/storage.js');
             local.set(`client.${sid}`, 'equipo-1');   // the browser's one id, the recorder's
           }""",
        session_id,
    )
    steno.page.goto(f"{server.url}/#session={session_id}")
    steno.wait_online()
    hellos = [m["client_id"] for m in steno.frames("hello")]
    assert hellos[0] == "equipo-1" and hellos[-1] != "equipo-1", hellos
    kept = steno.page.evaluate(
        """async (sid) => (await import('/static/js/storage.js')).local.get(`client.${sid}`)""", session_id
    )
    assert kept == "equipo-1"  # the old id goes back, with its queue, for the user it belongs to
    editor = steno.open_editor(block_id)
    editor.get_by_label("Texto del bloque").fill("Se abre la sesión ordinaria.")
    editor.get_by_role("button", name="Guardar").click()
    expect(steno.text_of(block_id)).to_contain_text("ordinaria", timeout=ms(30))
    until(
        steno,
        lambda: api_block(server, api, session_id, block_id)["text"].endswith("ordinaria."),
        30,
        "stored",
    )
    assert not steno.errors


def test_a_tab_with_a_client_id_of_its_own_takes_it_again_after_a_reload(
    spawn: Any, browser: Browser
) -> None:
    """identity.js in the page: a second tab on a session (the shared client id held by the
    first) takes an id of its own; once the first tab has gone, a reload of the second takes its
    own id again, not the now free shared one: its outbox (what it queued offline) is kept under
    its own id, and taking the shared one left that queue unsent for good."""
    server = spawn("serve")
    page = browser.new_page()
    page.goto(f"{server.url}/static/index.html")
    result = page.evaluate(
        """async () => {
             const { claimClientId } = await import('/static/js/identity.js');
             const first = await claimClientId('ses_tabs');    // the first tab: the shared id
             const second = await claimClientId('ses_tabs');   // this tab, the shared one held
             first.release();                                    // the first tab closes
             second.release();                                   // this tab reloads
             for (let i = 0; i < 200 && (await navigator.locks.query()).held.length; i++) {
               await new Promise((r) => setTimeout(r, 10));       // the locks are let go
             }
             const again = await claimClientId('ses_tabs');
             again.release();
             return [first.clientId, second.clientId, again.clientId];
           }"""
    )
    shared, own, again = result
    assert own != shared
    assert again == own
    page.close()


def test_two_tabs_without_web_locks_take_different_client_ids(spawn: Any, browser: Browser) -> None:
    """identity.js where the Web Locks API is missing (plain http on a LAN is no secure
    context): two tabs of one user on one session took the same client id, and so the same
    sequence numbers: one tab's correction was acked as a duplicate of the other's, never
    applied, and shown as saved. A lease in localStorage stands in for the lock: the second tab
    takes an id of its own, again after a reload, and the shared one is free once the first tab
    has gone."""
    server = spawn("serve")
    context = browser.new_context()
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });")
    claim = """async () => {
                 const { claimClientId } = await import('/static/js/identity.js');
                 window.claimed = await claimClientId('ses_tabs', 'ana');
                 return [navigator.locks === undefined, window.claimed.clientId];
               }"""
    try:
        first, second = context.new_page(), context.new_page()
        for page in (first, second):
            page.goto(f"{server.url}/static/index.html")
        (no_locks, shared), (_, own) = first.evaluate(claim), second.evaluate(claim)
        assert no_locks and own != shared
        second.reload()
        assert second.evaluate(claim)[1] == own  # its own id again (its outbox is kept under it)
        first.close()  # the first tab goes: its lease is let go (pagehide)
        third = context.new_page()
        third.goto(f"{server.url}/static/index.html")
        assert third.evaluate(claim)[1] == shared
        # A tab that crashed (no pagehide: its lease stays) and is restored (its session storage
        # too) takes its id back once its lease is no longer renewed; while it is (a duplicate of
        # the tab, holding it), not.
        left_behind = """async ([id, age]) => {
                           const { local, session } = await import('/static/js/storage.js');
                           const holder = session.get('lease-holder');
                           session.remove('tab-client.ses_tabs.ana');  // no id of its own yet
                           local.setJSON(`lease.astra-client-${id}`, { holder, at: Date.now() - age });
                         }"""
        third.evaluate("() => window.claimed.release()")
        third.evaluate(left_behind, [shared, 5_000])
        assert third.evaluate(claim)[1] != shared
        third.evaluate("() => window.claimed.release()")
        third.evaluate(left_behind, [shared, 31_000])
        assert third.evaluate(claim)[1] == shared
    finally:
        context.close()


def test_outbox_sends_a_contended_change_again_and_drops_one_with_no_place_left(
    spawn: Any, browser: Browser
) -> None:
    """outbox.js in the page: a change refused PLACE_CONTENDED ("send it again", protocol.md)
    stays queued with its seq and is handed back to be sent again a moment later, with the frames
    after it; one refused POSITIONS_EXHAUSTED can never be applied at that place: it leaves the
    queue (shown on its block, the user inserts it elsewhere). Before, both stayed queued and
    unsent, the editor read-only on «Guardando…», until some later frame's SEQ_GAP. So did one
    refused SERVICE_UNAVAILABLE (a service it needs away): it is sent again too."""
    server = spawn("serve")
    page = browser.new_page()
    page.goto(f"{server.url}/static/index.html")
    result = page.evaluate(
        """async () => {
             const { Outbox } = await import('/static/js/outbox.js');
             const box = new Outbox({ load: () => null, save: () => {} });
             box.addCorrection('insert', {after_block_id: 'b1', block: {text: 'uno'}});  // 1
             box.addCorrection('edit', {block_id: 'b2', base_version: 1, changes: {text: 'dos'}});  // 2
             box.markSent(box.welcome(0));
             const contended = box.error(1, 'PLACE_CONTENDED', {attempts: 32});
             const gap = box.error(2, 'SEQ_GAP', {expected: 1});  // the frame sent after it
             const kept = box.frames.map((f) => [f.seq, f.kind]);
             const exhausted = box.error(1, 'POSITIONS_EXHAUSTED', {unit: 7});
             box.markSent(box.frames);
             const away = box.error(2, 'SERVICE_UNAVAILABLE', {});  // the store of its audio away
             return {
               away: [away.dropped, away.later, away.resend.map((f) => f.seq)],
               contended: [contended.dropped, contended.later, contended.resend.map((f) => f.seq)],
               gap: gap.resend.length,
               kept,
               exhausted: exhausted.dropped && exhausted.dropped.kind,
               left: box.frames.map((f) => [f.seq, f.kind]),
             };
           }"""
    )
    assert result["contended"] == [None, True, [1, 2]]
    assert result["gap"] == 0  # set aside: the frames go again once, a moment later
    assert result["kept"] == [[1, "insert"], [2, "edit"]]
    assert result["exhausted"] == "insert"
    assert result["left"] == [[2, "edit"]]
    assert result["away"] == [None, True, [2]]  # review: it sat unanswered, neither dropped nor sent
    page.close()


def test_outbox_numbers_corrections_and_reuses_a_refused_seq(spawn: Any, browser: Browser) -> None:
    """outbox.js in the page: edit/insert/delete share the text sequence, are saved (so a reload
    resends them) with a stable ref; a refused frame (STALE_VERSION, NOT_FOUND) leaves the queue
    and its seq is reused; frames already sent after it are renumbered on the SEQ_GAP."""
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
             const box = new Outbox(store);
             box.add('uno');                                                          // 1
             const edit = box.addCorrection('edit', {block_id: 'b1', base_version: 1,
                                                     changes: {text: 'dos'}});       // 2
             box.addCorrection('delete', {block_id: 'b2', base_version: 3});         // 3
             const wire = [wireFrame(box.frames[1]), wireFrame(box.frames[2])];
             const restored = new Outbox(store).frames.map((f) => [f.seq, f.kind, f.ref]);
             box.markSent(box.welcome(0));
             const acked = box.ack(1).map((f) => f.seq);
             const stale = box.error(2, 'STALE_VERSION', {current: {version: 2}});
             const gap = box.error(3, 'SEQ_GAP', {expected: 2});
             const insert = box.addCorrection('insert', {after_block_id: null, block: {text: 'tres'}});
             const insertSeq = insert.seq;
             box.markSent(box.welcome(1));
             box.ack(2);
             const missing = box.error(3, 'NOT_FOUND', {});
             const after = box.addCorrection('delete', {block_id: 'b3', base_version: 1});
             return {
               wire, restored, acked,
               stale: [stale.dropped && stale.dropped.ref === edit.ref, stale.resend.length],
               gap: gap.resend.map((f) => [f.seq, f.kind]),
               insertSeq,
               missing: missing.dropped && missing.dropped.kind,
               afterSeq: after.seq,
               pending: box.pendingCorrections,
             };
           }"""
    )
    assert result["wire"] == [
        {"type": "edit", "seq": 2, "block_id": "b1", "base_version": 1, "changes": {"text": "dos"}},
        {"type": "delete", "seq": 3, "block_id": "b2", "base_version": 3},
    ]
    restored = result["restored"]
    assert [r[:2] for r in restored] == [[1, "text"], [2, "edit"], [3, "delete"]]
    assert all(isinstance(r[2], str) and r[2] for r in restored[1:])
    assert result["acked"] == [1]
    assert result["stale"] == [True, 0]
    assert result["gap"] == [[2, "delete"]]  # renumbered into the refused frame's seq
    assert result["insertSeq"] == 3
    assert result["missing"] == "insert"
    assert result["afterSeq"] == 3  # NOT_FOUND did not use up 3 either
    assert result["pending"] == 1
    page.close()


@pytest.mark.timeout(300)
def test_the_draft_names_the_speaker_the_grant_before_the_words_names(spawn: Any, browser: Browser) -> None:
    """The draft shows who speaks as the acta will: the words right after the chair's grant of
    the floor under the speaker the grant names, even when the grant arrives after the words
    (here a stenographer adds it before them), following the grant as corrected, and without a
    name once the grant is deleted; a reload (the draft rebuilt at once) shows the same."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión con la palabra")
    opening = append(server, api, session_id, "Se abre la sesión.")
    url = f"{server.url}{PREFIX}/{session_id}/blocks"

    def insert(after: str, text: str, data: dict[str, Any]) -> str:
        return insert_block(server, api, session_id, after, text, "TPL_DEBATE", data)

    words = insert(opening, "Gracias, presidente. Quiero referirme a la movilidad.", {})
    viewer = Console(browser, server, server.token(role="viewer", sub="publico"), session_id)
    viewer.wait_online()
    speaker = viewer.text_of(words).locator(".block__speaker")
    expect(viewer.block(words)).to_have_count(1)
    expect(speaker).to_have_count(0)

    granted = {"orador": "Carlos Rodríguez", "rol": "concejal", "anuncio": True}
    grant = insert(opening, "Tiene la palabra el concejal Carlos Rodríguez.", granted)
    expect(speaker).to_have_text("Carlos Rodríguez:")
    expect(viewer.text_of(grant).locator(".block__speaker")).to_have_count(0)  # the chair's words

    corrected = httpx.patch(
        f"{url}/{grant}",
        json={"base_version": 1, "changes": {"structured_data": {**granted, "orador": "Ana Ruiz"}}},
        headers=auth(api),
    )
    assert corrected.status_code == 200, corrected.text
    expect(speaker).to_have_text("Ana Ruiz:")
    viewer.page.reload()
    viewer.wait_online()
    expect(speaker).to_have_text("Ana Ruiz:")

    deleted = httpx.delete(f"{url}/{grant}?base_version=2", headers=auth(api))
    assert deleted.status_code == 200, deleted.text
    expect(viewer.block(grant)).to_have_count(0)
    expect(speaker).to_have_count(0)
    assert api_block(server, api, session_id, words)["structured_data"] == {}  # derived, not stored
    assert viewer.errors == []
    viewer.close()


@pytest.mark.timeout(300)
def test_the_draft_names_the_ponente_the_bill_s_heading_gives(spawn: Any, browser: Browser) -> None:
    """As the acta does: after "Tiene la palabra la concejala ponente." the words are shown under
    the ponente the bill's heading names, also when the heading arrives after them (a
    stenographer adds it), following the heading as corrected; a reload shows the same."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión con un proyecto")
    opening = append(server, api, session_id, "Se abre la sesión.")
    url = f"{server.url}{PREFIX}/{session_id}/blocks"

    def insert(after: str, text: str, data: dict[str, Any]) -> str:
        return insert_block(server, api, session_id, after, text, "TPL_PROYECTO_ACUERDO", data)

    grant = insert(
        opening,
        "Tiene la palabra la concejala ponente.",
        {"rol": "concejala", "ponente": True, "anuncio": True},
    )
    words = insert(grant, "Gracias, presidente. Rindo ponencia positiva.", {})
    viewer = Console(browser, server, server.token(role="viewer", sub="publico"), session_id)
    viewer.wait_online()
    speaker = viewer.text_of(words).locator(".block__speaker")
    expect(viewer.block(words)).to_have_count(1)
    expect(speaker).to_have_count(0)

    said = {"numero": "045", "ponentes": [{"nombre": "Ana Ruiz", "rol": "concejala"}, "Luis Mora"]}
    heading = insert(opening, "Proyecto de Acuerdo 045 de 2025. Ponentes…", said)
    expect(speaker).to_have_count(0)  # two ponentes, and nothing says Luis Mora is a man
    corrected = httpx.patch(
        f"{url}/{heading}",
        json={"base_version": 1, "changes": {"structured_data": {**said, "ponentes": [said["ponentes"][0]]}}},
        headers=auth(api),
    )
    assert corrected.status_code == 200, corrected.text
    expect(speaker).to_have_text("Ana Ruiz:")
    viewer.page.reload()
    viewer.wait_online()
    expect(speaker).to_have_text("Ana Ruiz:")
    assert viewer.errors == []
    viewer.close()


@pytest.mark.timeout(300)
def test_the_draft_names_the_speaker_in_an_item_and_not_on_the_next_item(
    spawn: Any, browser: Browser
) -> None:
    """As the acta does: the words after a grant of the floor said during an acta's approval are
    shown under the speaker it named; a grant in the debate does not name the announcement of
    the next item right after it ("Siguiente punto. Aprobación del acta…")."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión con un acta")
    opening = append(server, api, session_id, "Se abre la sesión.")

    def insert(after: str, text: str, template_id: str, data: dict[str, Any]) -> str:
        return insert_block(server, api, session_id, after, text, template_id, data)

    granted = {"orador": "María Vélez", "rol": "concejala", "anuncio": True}
    grant = insert(opening, "Tiene la palabra la concejala María Vélez.", "TPL_APROBACION_ACTAS", granted)
    words = insert(
        grant, "Gracias, presidente. Solicito corregir la página doce.", "TPL_APROBACION_ACTAS", {}
    )
    debate = insert(
        words, "Tiene la palabra el concejal Luis Mora.", "TPL_DEBATE", {**granted, "orador": "Luis Mora"}
    )
    item = insert(
        debate,
        "Siguiente punto. Aprobación del acta número cuarenta.",
        "TPL_APROBACION_ACTAS",
        {"actas": [40]},
    )
    viewer = Console(browser, server, server.token(role="viewer", sub="publico"), session_id)
    viewer.wait_online()
    expect(viewer.block(item)).to_have_count(1)
    expect(viewer.text_of(words).locator(".block__speaker")).to_have_text("María Vélez:")
    expect(viewer.text_of(item).locator(".block__speaker")).to_have_count(0)
    assert viewer.errors == []
    viewer.close()


@pytest.mark.timeout(120)
def test_a_refused_token_asks_for_a_new_one_instead_of_an_empty_list(spawn: Any, browser: Browser) -> None:
    """A token the server refuses (signed with another secret here; expired is the same answer)
    opens the sign-in with the reason at once: the list of open sessions, the first thing the
    console asks for, had failed silently and looked like a tenant with no session open."""
    server = spawn("serve")
    secret = b"another server's secret" * 2
    stranger = issue_token(secret, tenant_id=TENANT, role="stenographer", sub="x", ttl=600)
    console = Console(browser, server, stranger)
    expect(console.page.locator("#signin-error")).to_contain_text("La clave de acceso no es válida o expiró")
    expect(console.page.locator("#token-input")).to_be_focused()
    expect(console.page.locator("#open-sessions-note")).to_have_text("")
    assert not console.errors

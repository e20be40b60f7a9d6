"""What the console tells a reviewer (static/js/draft.js, final.js, editing.js), in a real browser
(headless Chromium, Playwright) against a real server: audio blocks recognized with low
confidence are marked and counted until someone edits them, and the acta carries a Word comment
on those left; audio blocks are credited to the automatic transcription, not to the machine's
principal; empty sections say what the acta will do with them; the editing buttons look enabled;
the template menu names templates; the audit summary fits its column."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import time
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from docx import Document
from playwright.sync_api import Browser, expect

from server.services import classifier, docx_builder

from .chromium import chromium, ms
from .conftest import ROOT, TENANT, TIME_UNIT, ServerProcess
from .test_console_editing import PREFIX, Console, api_blocks, append, auth, start_session

pytestmark = pytest.mark.e2e

AUDIO = ROOT / "tests" / "fixtures" / "audio"
TENANT_CONFIG = json.loads((ROOT / "server" / "tenants_data" / TENANT / "tenant.json").read_text("utf-8"))
LOW = "Baja confianza — revisar con el audio"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def fixture_wav(name: str, snr_db: float | None = None) -> bytes:
    """A committed fixture as WAV, with white noise at `snr_db` (against its speech) if given."""
    with wave.open(str(AUDIO / name)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    if snr_db is not None:
        speech = samples[np.abs(samples) > 0.01 * np.abs(samples).max()]
        noise = math.sqrt(float(np.mean(speech**2)) / 10 ** (snr_db / 10))
        samples = samples + np.random.default_rng(7).normal(0, noise, len(samples))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())
    return out.getvalue()


def append_audio(server: ServerProcess, token: str, session_id: str, wav: bytes) -> None:
    response = httpx.post(
        f"{server.url}{PREFIX}/{session_id}/append",
        json={"audio_chunk": base64.b64encode(wav).decode()},
        headers=auth(token),
        timeout=60,
    )
    assert response.status_code == 202, response.text


def blocks_when(server: ServerProcess, token: str, session_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 180 * TIME_UNIT
    while True:
        response = httpx.get(f"{server.url}{PREFIX}/{session_id}/blocks", headers=auth(token), timeout=30)
        blocks: list[dict[str, Any]] = response.json()["blocks"]
        if len(blocks) >= count:
            return blocks
        assert time.monotonic() < deadline, f"{len(blocks)} of {count} blocks"
        time.sleep(0.5)


def finalize_from_the_page(console: Console) -> str:
    """Finalize with the button, accepting its confirmation; returns what the confirmation said."""
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    console.page.once("dialog", accept)
    console.page.get_by_role("button", name="Finalizar y generar el acta").click()
    expect(console.page.locator("#final-status")).to_contain_text("Acta generada.", timeout=ms(120))
    return asked[0]


def downloaded(console: Console) -> Any:
    url = console.page.locator("#download").evaluate("(a) => a.href")
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    return Document(io.BytesIO(response.content))


def comments_by_paragraph(document: Any) -> list[tuple[str, str]]:
    """(text of the paragraph a Word comment starts in, the comment), in document order."""
    texts = {c.comment_id: c.text for c in document.comments}
    starts = document.element.body.iter(f"{W}commentRangeStart")
    return [
        ("".join(t.text or "" for t in s.getparent().iter(f"{W}t")), texts[int(s.get(f"{W}id"))])
        for s in starts
    ]


# -- one place for the line, mirrored ------------------------------------------------------------


def test_the_console_mirrors_the_builder_s_line_and_the_template_labels() -> None:
    """The console flags the blocks BUILDER comments on: the same LOW_ASR_CONFIDENCE; its
    template menu names templates as the classifier labels them; its signature zone is BUILDER's."""
    draft = (ROOT / "static" / "js" / "draft.js").read_text("utf-8")
    (line,) = re.findall(r"^export const LOW_ASR_CONFIDENCE = ([0-9.]+);$", draft, re.M)
    assert float(line) == docx_builder.LOW_ASR_CONFIDENCE
    (zone,) = re.findall(r'^const SIGNATURE_ZONE = "(\w+)";$', draft, re.M)
    assert zone == docx_builder.SIGNATURE_ZONE
    messages = (ROOT / "static" / "js" / "messages.js").read_text("utf-8")
    names = messages.split("export const TEMPLATE_NAMES = {", 1)[1].split("};", 1)[0]
    assert dict(re.findall(r'^\s+(TPL_\w+): "([^"]+)",$', names, re.M)) == classifier.TEMPLATE_LABELS


# -- 1. low confidence -----------------------------------------------------------------------------


@pytest.mark.timeout(420)
def test_low_confidence_blocks_are_flagged_counted_and_commented(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """Three utterances through the real recognizer: one clean (confidence ~0.97), two under
    noise (~0.3-0.5). The noisy ones are marked "Baja confianza — revisar con el audio" and
    counted over the draft; all three are credited to the automatic transcription. One is
    corrected: its mark goes, the count drops. At finalize the audit summary counts the one
    left, and the acta has a Word comment on it alone."""
    server = spawn("serve", env={"ASTRA_ASR_WARMUP": "1"})
    api = server.token()
    session_id = start_session(server, api, "Sesión con audio ruidoso")
    for wav in (
        fixture_wav("02_llamado.wav"),
        fixture_wav("05_intervencion.wav", snr_db=-5),
        fixture_wav("07_votacion.wav", snr_db=0),
    ):
        append_audio(server, api, session_id, wav)
    blocks = sorted(blocks_when(server, api, session_id, 3), key=lambda b: b["position"])
    confidences = [b["audio_metadata"]["asr_confidence"] for b in blocks]
    line = docx_builder.LOW_ASR_CONFIDENCE
    assert confidences[0] > line + 0.15 and all(c < line - 0.15 for c in confidences[1:]), confidences
    clean, corrected, left = (b["block_id"] for b in blocks)

    recorder = Console(browser, server, api, session_id)
    recorder.wait_online()
    page = recorder.page
    expect(page.locator("#draft li.block[data-block-id]")).to_have_count(3, timeout=ms(30))
    for block_id in (clean, corrected, left):
        expect(recorder.block(block_id).locator(".block__author")).to_have_text("transcripción automática")
    expect(page.locator("#draft .block__author", has_text=re.compile(r"astra"))).to_have_count(0)
    expect(recorder.block(clean).locator(".block__flag--low")).to_have_count(0)
    for block_id in (corrected, left):
        expect(recorder.block(block_id).locator(".block__flag--low")).to_contain_text(LOW)
        expect(recorder.block(block_id)).to_have_class(re.compile(r"\bblock--low-confidence\b"))
    summary = page.locator("#review-summary")
    expect(summary).to_have_text("Por revisar: 2 de baja confianza (revisar con el audio).")
    shot(page, "flagged")

    # A stenographer corrects one: it is no longer unchecked machine output.
    ana = server.token(role="stenographer", sub="ana")
    edited = httpx.patch(
        f"{server.url}{PREFIX}/{session_id}/blocks/{corrected}",
        json={"base_version": 1, "changes": {"text": "Tiene la palabra el concejal Pedro Gómez."}},
        headers=auth(ana),
    )
    assert edited.status_code == 200, edited.text
    edited_mark = recorder.block(corrected).locator(".block__edited")
    expect(edited_mark).to_have_text("editado por ana", timeout=ms(15))
    expect(recorder.block(corrected).locator(".block__flag--low")).to_have_count(0)
    expect(recorder.block(left).locator(".block__flag--low")).to_have_count(1)
    expect(summary).to_have_text("Por revisar: 1 de baja confianza (revisar con el audio).")

    asked = finalize_from_the_page(recorder)
    assert "Quedan por revisar: 1 bloque de baja confianza sin revisar." in asked, asked
    low = page.locator("#audit dt", has_text="Baja confianza sin revisar")
    expect(low).to_have_count(1)
    expect(page.locator("#audit dd.audit__low")).to_have_text("1")
    expect(page.locator("#audit dd.audit__low")).to_have_class(re.compile(r"\baudit__warn\b"))
    shot(page, "finalized")

    note = "Reconocimiento de baja confianza: verificar con el audio."
    flagged = [p for p, c in comments_by_paragraph(downloaded(recorder)) if c == note]
    (text_left,) = (b["text"] for b in blocks if b["block_id"] == left)
    assert len(flagged) == 1 and text_left in flagged[0], flagged
    assert not recorder.errors


def session_with_a_hum(spawn: Any) -> tuple[ServerProcess, str, str]:
    """A session (the server, its admin token, its id) with an opening and a roll call's call
    typed, then a hum the recognizer hears no words in (tests/test_audio_e2e.py's `hum_wav`,
    through the real segmenter and Whisper)."""
    from .test_audio_e2e import hum_wav

    server = spawn("serve", env={"ASTRA_ASR_WARMUP": "1"})
    api = server.token()
    session_id = start_session(server, api, "Sesión con un zumbido")
    append(server, api, session_id, "Siendo las nueve de la mañana se abre la sesión ordinaria.")
    append(server, api, session_id, "Señor secretario, sírvase llamar a lista.")
    append_audio(server, api, session_id, hum_wav())
    return server, api, session_id


def test_audio_heard_with_no_words_is_shown_heard_and_written_by_hand(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """A hum the recognizer hears no words in (tests/test_audio_e2e.py's `hum_wav`, through the
    real segmenter and Whisper) has no block. The console shows it where it was said, counts it
    over the draft, plays its audio, and a stenographer writes what was said: the block takes its
    place, linked to its audio, the row and the count go; a viewer can listen but not write.
    At finalize the audit summary counts it."""
    server, api, session_id = session_with_a_hum(spawn)

    steno = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    steno.wait_online()
    page = steno.page
    row = page.locator("#draft li.block--discarded")
    expect(row).to_have_count(1, timeout=ms(180))
    expect(row.locator(".block__label")).to_have_text("Audio sin palabras reconocidas")
    # where it was said: after the roll call's call, in its section
    expect(page.locator('section.zone[data-zone="ZONE_ROLLCALL"] li.block--discarded')).to_have_count(1)
    summary = page.locator("#review-summary")
    expect(summary).to_have_text("Por revisar: 1 audio sin palabras reconocidas (escuchar).")
    assert [b["source"]["kind"] for b in blocks_when(server, api, session_id, 2)] == ["text", "text"]

    row.get_by_role("button", name=re.compile("^Escuchar")).click()
    player = row.locator("audio.block__player")
    expect(player).to_have_count(1)
    src = player.evaluate("(a) => a.src")
    wav = httpx.get(src, timeout=30)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    shot(page, "unheard")

    said = "Se deja constancia de una falla del micrófono de la presidencia."
    row.get_by_role("button", name=re.compile("^Escribir lo dicho")).click()
    form = row.get_by_role("form", name="Escribir lo dicho en el audio sin palabras reconocidas")
    form.get_by_label("Texto del bloque nuevo").fill(said)
    form.get_by_role("button", name=re.compile("^Insertar")).click()
    expect(row).to_have_count(0, timeout=ms(30))
    written = page.locator("#draft li.block[data-block-id]", has_text=said)
    expect(written).to_have_count(1)
    expect(summary).to_be_hidden()
    (insert,) = steno.frames("insert")
    utterance_id = insert["block"]["utterance_id"]
    blocks = sorted(blocks_when(server, api, session_id, 3), key=lambda b: b["position"])
    assert [b["text"] for b in blocks][-1] == said
    assert blocks[-1]["audio_metadata"]["utterance_id"] == utterance_id
    assert blocks[-1]["target_placeholder"] == "ZONE_ROLLCALL"
    expect(written.get_by_role("button", name=re.compile("^Escuchar"))).to_have_count(1)

    # Deleted, the words go and the audio is again to be written; a viewer may listen only.
    viewer = Console(browser, server, server.token(role="viewer", sub="público"), session_id)
    viewer.wait_online()
    expect(viewer.page.locator("#draft li.block--discarded")).to_have_count(0)
    written.get_by_role("button", name=re.compile("^Eliminar")).click()
    written.get_by_role("button", name="Sí, eliminar el bloque").click()
    for console in (steno, viewer):
        expect(console.page.locator("#draft li.block--discarded")).to_have_count(1, timeout=ms(30))
    viewer_row = viewer.page.locator("#draft li.block--discarded")
    expect(viewer_row.get_by_role("button", name=re.compile("^Escuchar"))).to_be_visible()
    expect(viewer_row.get_by_role("button", name=re.compile("^Escribir lo dicho"))).to_be_hidden()
    expect(summary).to_have_text("Por revisar: 1 audio sin palabras reconocidas (escuchar).")

    admin = Console(browser, server, api, session_id)
    admin.wait_online()
    expect(admin.page.locator("#review-summary")).to_have_text(
        "Por revisar: 1 audio sin palabras reconocidas (escuchar)."
    )
    asked = finalize_from_the_page(admin)
    assert "Quedan por revisar: 1 audio sin palabras reconocidas." in asked, asked
    expect(admin.page.locator("#audit dd.audit__unheard")).to_have_text("1")
    for console in (steno, viewer, admin):
        assert not console.errors


def test_esc_in_the_form_of_audio_heard_with_no_words_gives_focus_back_to_its_row(
    spawn: Any, browser: Browser
) -> None:
    """The form in a row of audio heard with no words: Esc gives focus back to the row's button
    (not to the block said before it, maybe in another section)."""
    server, _, session_id = session_with_a_hum(spawn)

    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    ana.wait_online()
    row = ana.page.locator("#draft li.block--discarded")
    expect(row).to_have_count(1, timeout=ms(180))
    write = row.get_by_role("button", name=re.compile("^Escribir lo dicho"))
    write.click()
    form = row.get_by_role("form", name="Escribir lo dicho en el audio sin palabras reconocidas")
    expect(form.get_by_label("Texto del bloque nuevo")).to_be_focused()
    ana.page.keyboard.press("Escape")
    expect(form).to_have_count(0)
    expect(write).to_be_focused()
    assert not ana.errors


def test_the_text_being_written_for_audio_heard_with_no_words_is_kept_when_another_writes_it(
    spawn: Any, browser: Browser
) -> None:
    """Two stenographers on one audio heard with no words: Luis is typing in its row when Ana's
    block for it arrives. The row goes, but Luis's text does not vanish with it: it stays, with
    focus, as the notice a block deleted under an editor leaves (to copy or insert). Focus on the
    row's buttons goes to the block written for it, not to the page."""
    server, api, session_id = session_with_a_hum(spawn)
    opening = blocks_when(server, api, session_id, 2)[0]["block_id"]

    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    luis.wait_online()
    row = luis.page.locator("#draft li.block--discarded")
    expect(row).to_have_count(1, timeout=ms(180))
    uid = row.get_attribute("data-utterance-id")
    row.get_by_role("button", name=re.compile("^Escribir lo dicho")).click()
    mine = "Lo que Luis oyó en el audio."
    row.get_by_label("Texto del bloque nuevo").fill(mine)
    said = "Se deja constancia de una falla del micrófono de la presidencia."

    def ana_writes_it() -> httpx.Response:
        return httpx.post(
            f"{server.url}{PREFIX}/{session_id}/blocks",
            json={"after_block_id": opening, "block": {"text": said, "utterance_id": uid}},
            headers=auth(server.token(role="stenographer", sub="ana")),
        )

    first = ana_writes_it()
    assert first.status_code == 201, first.text
    expect(row).to_have_count(0, timeout=ms(30))
    expect(luis.page.locator("#draft li.block[data-block-id]", has_text=said)).to_have_count(1)
    notice = luis.page.locator("#draft li.block-gone")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Otra persona escribió lo dicho en este audio")
    expect(notice.get_by_label("Su texto")).to_have_value(mine)
    expect(notice.get_by_label("Su texto")).to_be_focused()

    # Ana's block deleted, the row is back; Luis is on its "Escuchar" when Ana writes it again:
    # focus goes to the block now written for it, not to the page.
    block_id = first.json()["block_id"]
    gone = httpx.delete(
        f"{server.url}{PREFIX}/{session_id}/blocks/{block_id}?base_version=1", headers=auth(api)
    )
    assert gone.status_code == 200, gone.text
    expect(row).to_have_count(1, timeout=ms(30))
    row.get_by_role("button", name=re.compile("^Escuchar")).focus()
    again = ana_writes_it()
    assert again.status_code == 201, again.text
    expect(row).to_have_count(0, timeout=ms(30))
    expect(luis.block(again.json()["block_id"])).to_be_focused()
    assert not luis.errors


def test_a_second_stenographer_writing_audio_already_written_keeps_their_text(
    spawn: Any, browser: Browser, shot: Any
) -> None:
    """Luis writes what was said in audio heard with no words while offline; his insert waits.
    Ana writes the same audio meanwhile. Back online, Luis's insert is refused (UTTERANCE_WRITTEN):
    the acta has Ana's block only, and Luis is told in Spanish that a colleague wrote it first,
    with his text kept, visible and focused on the offer to open Ana's block, which opens it."""
    server, api, session_id = session_with_a_hum(spawn)
    luis = Console(browser, server, server.token(role="stenographer", sub="luis"), session_id)
    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    for console in (luis, ana):
        console.wait_online()
        expect(console.page.locator("#draft li.block--discarded")).to_have_count(1, timeout=ms(180))
    row = luis.page.locator("#draft li.block--discarded")
    uid = row.get_attribute("data-utterance-id")
    mine = "Lo que Luis oyó: se pidió verificar el quórum."
    row.get_by_role("button", name=re.compile("^Escribir lo dicho")).click()
    row.get_by_label("Texto del bloque nuevo").fill(mine)
    luis.context.set_offline(True)
    expect(luis.page.locator("#conn-text")).to_have_text("reconectando…", timeout=ms(10))
    row.get_by_role("button", name=re.compile("^Insertar")).click()
    expect(row).to_contain_text("Sin conexión: se insertará al reconectar.")

    said = "Se deja constancia de una falla del micrófono de la presidencia."
    ana_row = ana.page.locator("#draft li.block--discarded")
    ana_row.get_by_role("button", name=re.compile("^Escribir lo dicho")).click()
    ana_row.get_by_label("Texto del bloque nuevo").fill(said)
    ana_row.get_by_role("button", name=re.compile("^Insertar")).click()
    expect(ana_row).to_have_count(0, timeout=ms(30))

    luis.context.set_offline(False)
    luis.wait_online()
    notice = luis.page.locator("#draft li.block-gone")
    expect(notice).to_have_count(1, timeout=ms(30))
    expect(notice).to_contain_text("Un colega ya había escrito lo dicho en este audio")
    expect(notice.get_by_label("Su texto")).to_have_value(mine)
    opener = notice.get_by_role("button", name=re.compile("^Abrir el bloque de su colega"))
    expect(opener).to_be_focused()
    expect(row).to_have_count(0)
    written = luis.page.locator("#draft li.block[data-block-id]", has_text=said)
    expect(written).to_have_count(1)
    expect(luis.page.locator("#draft li.block[data-block-id]", has_text=mine)).to_have_count(0)
    shot(luis.page, "written-first")
    holders = [
        b
        for b in blocks_when(server, api, session_id, 3)
        if (b.get("audio_metadata") or {}).get("utterance_id") == uid and not b.get("deleted")
    ]
    assert [b["text"] for b in holders] == [said]

    opener.click()
    expect(written.locator(".editor").get_by_label("Texto del bloque")).to_be_focused()
    expect(notice.get_by_label("Su texto")).to_have_value(mine)  # still there to copy from
    for console in (luis, ana):
        assert not console.errors


def test_j_and_k_stop_on_audio_heard_with_no_words_and_enter_writes_it(spawn: Any, browser: Browser) -> None:
    """A stenographer reviewing by keyboard reaches every row that needs review: j/k stop on the
    row of audio heard with no words (they skipped it; only Tab reached its buttons), in draft
    order, and Enter on it opens "Escribir lo dicho" (Esc gives focus back to the row's button).
    A viewer's j stops there too, but Enter writes nothing."""
    server, api, session_id = session_with_a_hum(spawn)
    opening, call = (b["block_id"] for b in blocks_when(server, api, session_id, 2))
    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    viewer = Console(browser, server, server.token(role="viewer", sub="público"), session_id)
    for console in (ana, viewer):
        console.wait_online()
        expect(console.page.locator("#draft li.block--discarded")).to_have_count(1, timeout=ms(180))
    row = ana.page.locator("#draft li.block--discarded")
    keyboard = ana.page.keyboard

    keyboard.press("j")
    expect(ana.block(opening)).to_be_focused()
    keyboard.press("j")
    expect(ana.block(call)).to_be_focused()
    keyboard.press("j")
    expect(row).to_be_focused()
    expect(row).to_have_class(re.compile(r"\bblock--current\b"))
    keyboard.press("j")  # the last row: stays
    expect(row).to_be_focused()
    keyboard.press("k")
    expect(ana.block(call)).to_be_focused()
    keyboard.press("j")
    keyboard.press("Enter")
    form = row.get_by_role("form", name="Escribir lo dicho en el audio sin palabras reconocidas")
    expect(form.get_by_label("Texto del bloque nuevo")).to_be_focused()
    keyboard.press("Escape")
    expect(form).to_have_count(0)
    expect(row.get_by_role("button", name=re.compile("^Escribir lo dicho"))).to_be_focused()

    viewer_row = viewer.page.locator("#draft li.block--discarded")
    for _ in range(3):
        viewer.page.keyboard.press("j")
    expect(viewer_row).to_be_focused()
    viewer.page.keyboard.press("Enter")
    expect(viewer_row.locator("form")).to_have_count(0)
    expect(viewer_row).to_be_focused()
    for console in (ana, viewer):
        assert not console.errors


def test_the_row_of_audio_heard_with_no_words_follows_the_block_said_before_it(
    spawn: Any, browser: Browser
) -> None:
    """The row stands after the block said before it (the roll call's call). A colleague moves
    that block to another section: the row goes with it, after it there, with the form Ana was
    writing in it, her text and focus kept; and back again when the block comes back."""
    server, api, session_id = session_with_a_hum(spawn)
    _, call = (b["block_id"] for b in blocks_when(server, api, session_id, 2))
    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    ana.wait_online()
    page = ana.page
    row = page.locator("#draft li.block--discarded")
    expect(row).to_have_count(1, timeout=ms(180))

    def zone_of_row() -> Any:
        return row.evaluate("(li) => li.closest('section.zone').dataset.zone")

    def items_of(zone: str) -> list[str]:
        found: list[str] = page.eval_on_selector_all(
            f'section.zone[data-zone="{zone}"] li.block',
            "(l) => l.map((li) => li.dataset.blockId || 'row')",
        )
        return found

    assert zone_of_row() == "ZONE_ROLLCALL" and items_of("ZONE_ROLLCALL") == [call, "row"]
    row.get_by_role("button", name=re.compile("^Escribir lo dicho")).click()
    mine = "Lo que Ana oyó en el audio."
    row.get_by_label("Texto del bloque nuevo").fill(mine)

    def move_call(zone: str, version: int) -> None:
        moved = httpx.patch(
            f"{server.url}{PREFIX}/{session_id}/blocks/{call}",
            json={"base_version": version, "changes": {"target_placeholder": zone}},
            headers=auth(server.token(role="stenographer", sub="luis")),
        )
        assert moved.status_code == 200, moved.text

    move_call("ZONE_DEBATE", 1)
    expect(page.locator('section.zone[data-zone="ZONE_DEBATE"] li.block--discarded')).to_have_count(
        1, timeout=ms(30)
    )
    assert items_of("ZONE_DEBATE") == [call, "row"] and items_of("ZONE_ROLLCALL") == []
    expect(row.get_by_label("Texto del bloque nuevo")).to_have_value(mine)
    expect(row.get_by_label("Texto del bloque nuevo")).to_be_focused()

    move_call("ZONE_ROLLCALL", 2)
    expect(page.locator('section.zone[data-zone="ZONE_ROLLCALL"] li.block--discarded')).to_have_count(
        1, timeout=ms(30)
    )
    assert items_of("ZONE_ROLLCALL") == [call, "row"] and items_of("ZONE_DEBATE") == []
    assert not ana.errors


# -- 2. empty sections ------------------------------------------------------------------------------


def session_of_two_blocks(
    spawn: Any, browser: Browser, title: str
) -> tuple[ServerProcess, Console, str, str]:
    """A session with an opening and a roll call typed, open in a console page; with the API
    token and the session's id."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, title)
    append(server, api, session_id, "Siendo las nueve de la mañana se abre la sesión ordinaria.")
    append(server, api, session_id, "Señor secretario, sírvase llamar a lista.")
    console = Console(browser, server, api, session_id)
    console.wait_online()
    expect(console.page.locator("#draft li.block[data-block-id]")).to_have_count(2, timeout=ms(30))
    return server, console, api, session_id


@pytest.mark.timeout(300)
def test_empty_sections_say_what_the_acta_does_with_them(spawn: Any, browser: Browser, shot: Any) -> None:
    """Each empty section says what finalize does with it, from the tenant's `empty_zones`
    pinned with the session: left out, printed as a bare heading, or signed; once finalized,
    what it did. The acta's bare heading carries a Word comment."""
    server, console, api, session_id = session_of_two_blocks(spawn, browser, "Sesión con secciones vacías")
    page = console.page

    def note(zone: str) -> Any:
        return page.locator(f'#draft section.zone[data-zone="{zone}"] .zone__empty')

    empty_zones = TENANT_CONFIG["empty_zones"]
    left_out = [z for z, sentence in empty_zones.items() if sentence is None]
    assert "ZONE_PRIOR_ACTAS" in left_out and "ZONE_AGENDA_APPROVAL" not in empty_zones
    for zone in left_out:
        expect(note(zone)).to_have_text("Sin contenido todavía: se omitirá del acta si queda vacía.")
    expect(note("ZONE_AGENDA_APPROVAL")).to_have_text(
        "Sin contenido todavía: aparecerá vacía en el acta (solo el título)."
    )
    expect(note("SIGNATURE_BLOCK")).to_contain_text("si queda vacía, el acta llevará las firmas")
    expect(note("HEADER_ZONE")).to_be_hidden()
    # The opening deleted: the acta prints no heading over it, so no "bare heading" is promised.
    (opening,) = [b for b in api_blocks(server, api, session_id) if b["target_placeholder"] == "HEADER_ZONE"]
    response = httpx.delete(
        f"{server.url}{PREFIX}/{session_id}/blocks/{opening['block_id']}",
        params={"base_version": opening["version"]},
        headers=auth(api),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    expect(note("HEADER_ZONE")).to_have_text(
        "Sin contenido todavía: si queda vacía, el acta no llevará nada aquí (esta parte no tiene"
        " título), solo un comentario que lo señala."
    )
    shot(page, "draft")

    finalize_from_the_page(console)
    expect(note("ZONE_PRIOR_ACTAS")).to_have_text("Sin contenido: omitida del acta.")
    expect(note("ZONE_AGENDA_APPROVAL")).to_have_text(
        "Sin contenido: aparece vacía en el acta (solo el título)."
    )
    expect(note("HEADER_ZONE")).to_have_text(
        "Sin contenido: el acta no lleva nada aquí (esta parte no tiene título), solo un comentario"
        " que lo señala."
    )
    acta = downloaded(console)
    comments = comments_by_paragraph(acta)
    assert ("APROBACIÓN DEL ORDEN DEL DÍA", "Sección sin contenido en la sesión grabada.") in comments
    # the opening's empty paragraph, right under the letterhead, carries the comment
    assert comments[0] == ("", "Sección sin contenido en la sesión grabada.")
    assert [p.text for p in acta.paragraphs][:3] == [
        "CONCEJO DISTRITAL DE SANTIAGO DE CALI",
        "ACTA DE SESIÓN PLENARIA",
        "",
    ]
    assert not console.errors


def test_the_draft_heads_each_section_as_the_acta_does() -> None:
    """The draft's section headings are the skeleton's (sentence case); the zones the skeleton
    prints no heading over are the opening and the signatures, and the draft says so of the
    opening (UNTITLED_ZONES) and signs the other (SIGNATURE_ZONE)."""
    draft = (ROOT / "static" / "js" / "draft.js").read_text("utf-8")
    zones = draft.split("export const ZONES = [", 1)[1].split("];", 1)[0]
    headings = dict(re.findall(r'^\s+\["(\w+)", "([^"]+)"\],$', zones, re.M))
    skeleton = Document(str(ROOT / "server" / "tenants_data" / TENANT / "skeletons" / "SKEL_STD_V1.docx"))
    printed = [p.text for p in skeleton.paragraphs if p.style.name == "Estilo_Cali"]
    untitled = {"HEADER_ZONE", docx_builder.SIGNATURE_ZONE}
    assert [h.upper() for z, h in headings.items() if z not in untitled] == printed
    (names,) = re.findall(r"^const UNTITLED_ZONES = new Set\(\[([^\]]*)\]\);$", draft, re.M)
    assert set(re.findall(r'"(\w+)"', names)) == {"HEADER_ZONE"}


# -- 3. the audit summary ----------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_the_audit_summary_fits_its_column(spawn: Any, browser: Browser, shot: Any) -> None:
    """The audit summary in the ~300 px column: hashes shortened to their first 12 and last 8
    characters (whole in the title, and on the clipboard with Copiar), instants on one line,
    the blocks counted in words a reader knows ("2 de texto", not "Plantilla: 2")."""
    _, console, _, _ = session_of_two_blocks(spawn, browser, "Sesión con resumen de auditoría")
    console.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = console.page
    finalize_from_the_page(console)

    audit = page.locator("#audit")
    expect(audit.locator("dt", has_text="Bloques en el acta").locator("+ dd")).to_have_text("2 de texto")
    expect(audit).not_to_contain_text("Plantilla")
    expect(audit).not_to_contain_text("Por tipo")
    hashes = audit.locator("code[data-full]")
    expect(hashes).to_have_count(3)  # the event chain's head, the content, the skeleton
    for i in range(3):
        code = hashes.nth(i)
        full = code.get_attribute("title") or ""
        assert re.fullmatch(r"[0-9a-f]{64}", full), full
        expect(code).to_have_text(f"{full[:12]}…{full[-8:]}")
    # Each hash and instant on one line: one that wraps is drawn in several boxes.
    lines = audit.locator("code[data-full], .audit__when").evaluate_all(
        "(nodes) => nodes.map((n) => n.getClientRects().length)"
    )
    assert len(lines) == 7 and set(lines) == {1}, lines
    head = audit.locator("dt", has_text="Cabeza de la cadena de eventos").locator("+ dd")
    head.get_by_role("button", name="Copiar completo: Cabeza de la cadena de eventos").click()
    expect(page.locator("#announcer")).to_have_text("Cabeza de la cadena de eventos copiado.")
    assert page.evaluate("navigator.clipboard.readText()") == head.locator("code").get_attribute("title")
    shot(page, "finalized")
    assert not console.errors


# -- 4. editing tools and the template menu --------------------------------------------------------

# WCAG 2 contrast of a button's text on its background, and the opacity it is drawn with.
LOOK = """(b) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let opacity = 1;
  for (let n = b; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
  const style = getComputedStyle(b);
  const [l1, l2] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
  return { opacity, contrast: (l1 + 0.05) / (l2 + 0.05), disabled: b.disabled };
}"""


@pytest.mark.timeout(300)
def test_editing_tools_look_enabled_and_the_template_menu_names_templates(
    spawn: Any, browser: Browser
) -> None:
    """Editar, Insertar después and Eliminar are drawn fully opaque with text that passes WCAG AA
    (they were at opacity 0.55 and looked disabled), on any block, not only the one in use. The
    editor's Plantilla menu shows what each template is, its id kept as the value."""
    server = spawn("serve")
    api = server.token()
    session_id = start_session(server, api, "Sesión para corregir")
    block_id = append(server, api, session_id, "Siendo las nueve de la mañana se abre la sesión ordinaria.")
    append(server, api, session_id, "Señor secretario, sírvase llamar a lista.")
    ana = Console(browser, server, server.token(role="stenographer", sub="ana"), session_id)
    ana.wait_online()
    page = ana.page
    tools = page.locator("#draft .block__tools button")
    expect(tools).to_have_count(6, timeout=ms(30))
    page.mouse.move(0, 0)  # nothing hovered
    expect(page.locator("#draft li.block--current")).to_have_count(0)
    looks = tools.evaluate_all(f"(buttons) => buttons.map({LOOK})")
    enabled = [look["opacity"] == 1 and look["contrast"] >= 4.5 and not look["disabled"] for look in looks]
    assert all(enabled), looks

    editor = ana.open_editor(block_id)
    menu = editor.locator("select.editor__template")
    options = menu.locator("option").evaluate_all("(os) => os.map((o) => [o.value, o.textContent])")
    placeholder_map = TENANT_CONFIG["placeholder_map"]
    assert {value for value, _ in options} == set(placeholder_map), options
    assert all(text == classifier.TEMPLATE_LABELS[value] for value, text in options), options
    expect(menu).to_have_value("TPL_APERTURA")
    expect(menu.locator("option:checked")).to_have_text("Apertura de la sesión")
    assert not ana.errors

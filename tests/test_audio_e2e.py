"""Live audio end to end: real servers, real Redis, real Spanish speech through the recognizer."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import re
import time
import wave
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest
import redis

from server.audio_pipeline import wav_bytes
from server.keys import SessionKeys

from .conftest import ROOT, TENANT, ServerProcess, built_as_the_tenant, wait_until
from .faultkit import fake_core
from .wsclient import Client

pytestmark = pytest.mark.e2e

AUDIO = ROOT / "tests" / "fixtures" / "audio"
SCRIPT: list[dict[str, Any]] = json.loads((AUDIO / "sesion.json").read_text(encoding="utf-8"))
FRAME = 3200  # bytes: 100 ms of 16 kHz PCM16
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def session_pcm() -> bytes:
    with wave.open(str(AUDIO / "sesion.wav")) as w:
        return w.readframes(w.getnframes())


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME] for i in range(0, len(pcm), FRAME)]


def start(server: ServerProcess, token: str) -> str:
    response = httpx.post(
        f"{server.url}/v1/orchestrator/session/start",
        json={"tenant_id": TENANT, "metadata": {"title": "Sesión con audio"}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def blocks_of(server: ServerProcess, token: str, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/v1/orchestrator/session/{session_id}/blocks",
        headers={"authorization": f"Bearer {token}"},
    )
    blocks: list[dict[str, Any]] = response.json()["blocks"]
    return blocks


def finalize(server: ServerProcess, token: str, session_id: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/v1/orchestrator/session/{session_id}/finalize",
        headers={"authorization": f"Bearer {token}"},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_script_in(blocks: list[dict[str, Any]]) -> None:
    """One block per scripted utterance, in audio order, with its key words, in its zone."""
    audio_blocks = [b for b in blocks if b["source"]["kind"] == "audio"]
    assert len(audio_blocks) == len(SCRIPT), [b["text"] for b in audio_blocks]
    for block, item in zip(audio_blocks, SCRIPT, strict=True):
        assert block["type"] == "TEMPLATE", block
        for word in item["keywords"]:
            assert word in block["text"].lower(), (item["text"], block["text"])
        assert block["target_placeholder"] == item["zone"], (item["text"], block["text"])
        meta = block["audio_metadata"]
        assert abs(meta["time_start"] - item["start"]) < 0.6 and abs(meta["time_end"] - item["end"]) < 0.9
        assert meta["audio_ref"].startswith(f"tenants/{TENANT}/sessions/")
    starts = [b["audio_metadata"]["time_start"] for b in audio_blocks]
    assert starts == sorted(starts)


@pytest.mark.timeout(300)
def test_speech_streamed_in_real_time_becomes_blocks_and_acta(spawn: Any) -> None:
    """The scripted session streamed at real-time pace in 100 ms PCM16 frames: every frame is
    acked while transcription runs, each utterance becomes a block with its key words in its
    zone, the evidence audio is playable, and the DOCX holds the blocks."""
    server = spawn("serve", env={"ASTRA_ASR_WARMUP": "1"})
    token = server.token()
    session_id = start(server, token)
    client = Client(server.ws_url, session_id)
    client.hello(token, client_id="mic")
    pcm = session_pcm()
    began = time.monotonic()
    sent_first = time.time()
    for seq, frame in enumerate(frames(pcm), start=1):
        client.audio(seq, frame)
        if seq == 1:
            client.wait_for(lambda: len(client.acks) == 1, timeout=30)
            stored_first = time.time()
        pause = began + seq * 0.1 - time.monotonic()
        if pause > 0:
            # Real-time pacing; meanwhile read what the server sends (acks, events).
            with contextlib.suppress(TimeoutError):
                client.until(lambda m: False, timeout=pause)
    last = len(frames(pcm))
    sent_end = time.time()
    client.audio_end(last + 1)
    client.wait_for(lambda: len(client.acks) == last + 1, timeout=30)
    stored_end = time.time()
    assert not client.errors
    client.wait_for(lambda: len(client.added()) == len(SCRIPT), timeout=120)
    detected = [e for e in client.events if e["kind"] == "utterance.detected"]
    assert len(detected) == len(SCRIPT)

    blocks = blocks_of(server, token, session_id)
    assert_script_in(blocks)
    result = finalize(server, token, session_id)
    # The audit's timeline: when the server stored the first audio and the audio_end (the same
    # clock as this test's; stream entry ids keep milliseconds), then the blocks made of it.
    timeline = {
        k: dt.datetime.fromisoformat(v).timestamp()
        for k, v in result["audit_report"]["timeline"].items()
        if k.endswith("_at")
    }
    assert int(sent_first * 1000) / 1000 <= timeline["first_audio_at"] <= stored_first
    assert int(sent_end * 1000) / 1000 <= timeline["last_audio_at"] <= stored_end
    assert timeline["first_audio_at"] < timeline["first_input_at"] <= timeline["last_input_at"]
    body = docx.Document(io.BytesIO(httpx.get(result["download_url"]).content)).element.body
    text = "".join(t.text or "" for t in body.iter(f"{W}t"))
    # every block as the tenant's pinned templates write it
    built = built_as_the_tenant(blocks)
    assert text == "".join(t.text or "" for t in docx.Document(io.BytesIO(built)).element.body.iter(f"{W}t"))


def test_webm_stream_and_http_audio_chunk(spawn: Any) -> None:
    """MediaRecorder-style WebM/Opus chunks over the WebSocket and a WAV file over HTTP both
    become transcribed blocks on the same timeline."""
    import av

    server = spawn("serve")
    token = server.token()
    session_id = start(server, token)
    out = io.BytesIO()
    with wave.open(str(AUDIO / "02_llamado.wav")) as w:
        pcm = w.readframes(w.getnframes())
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            __import__("numpy").frombuffer(pcm, "<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 16000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for resampled in resampler.resample(frame):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    webm = out.getvalue()
    client = Client(server.ws_url, session_id)
    client.hello(token, client_id="browser")
    chunks = [webm[i : i + 4000] for i in range(0, len(webm), 4000)]
    for seq, chunk in enumerate(chunks, start=1):
        client.audio(seq, chunk, "webm", start=seq == 1)
    client.audio_end(len(chunks) + 1)
    client.wait_for(lambda: len(client.acks) == len(chunks) + 1)
    client.wait_for(lambda: len(client.added()) == 1, timeout=120)

    wav = (AUDIO / "08_cierre.wav").read_bytes()
    response = httpx.post(
        f"{server.url}/v1/orchestrator/session/{session_id}/append",
        json={"audio_chunk": base64.b64encode(wav).decode()},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202 and response.json()["accepted"] is True
    bad = httpx.post(
        f"{server.url}/v1/orchestrator/session/{session_id}/append",
        json={"audio_chunk": base64.b64encode(b"ID3\x04 not audio").decode()},
        headers={"authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 422 and "WebM" in bad.json()["error"]["message"]
    wait_until(lambda: len(blocks_of(server, token, session_id)) == 2, 120, "two audio blocks")
    first, second = blocks_of(server, token, session_id)
    assert "lista" in first["text"].lower() and first["target_placeholder"] == "ZONE_ROLLCALL"
    assert "levanta" in second["text"].lower() and second["target_placeholder"] == "ZONE_CIERRE"
    assert second["audio_metadata"]["time_start"] >= first["audio_metadata"]["time_end"]


def hum_wav() -> bytes:
    """A 300 Hz hum with its harmonics, swelling and fading like speech (shaped by the envelope of
    a committed utterance, `03_quorum.wav`): Silero takes it for speech; Whisper, prompted with
    the packaged tenant's names, "hears" one of them on it ("Ospina Gómez.", no_speech_prob 0.66,
    avg_logprob -0.92 in bench/asr_no_speech.py), which the echo filter drops, so no words are
    left. Made here (numpy, deterministic), not committed."""
    import numpy as np

    with wave.open(str(AUDIO / "03_quorum.wav")) as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
    envelope = np.convolve(np.abs(speech), np.ones(320) / 320, mode="same")
    t = np.arange(len(speech)) / 16000
    hum = sum(np.sin(2 * np.pi * 300 * k * t) / k for k in range(1, 6)) * envelope * 2
    samples = np.concatenate([np.zeros(8000), hum, np.zeros(16000)])
    return wav_bytes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())


def events_of(server: ServerProcess, token: str, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/v1/orchestrator/session/{session_id}/events?after=0",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


@pytest.mark.timeout(300)
def test_audio_heard_with_no_words_can_be_heard_written_by_hand_and_is_audited(spawn: Any) -> None:
    """An utterance the recognizer heard no words in has no block, but nothing recorded is lost:
    its audio has a link (`…/utterances/{id}/audio`), a stenographer can write what was said in a
    block linked to it (its audio then plays from the block), and the audit report lists it."""
    server = spawn("serve")
    token = server.token()
    steno = server.token(role="stenographer", sub="ana")
    viewer = server.token(role="viewer", sub="público")
    session_id = start(server, token)
    api = f"{server.url}/v1/orchestrator/session/{session_id}"
    headers = {"authorization": f"Bearer {token}"}
    opened = httpx.post(
        f"{api}/append",
        json={"text": "Siendo las nueve de la mañana se abre la sesión ordinaria."},
        headers=headers,
    )
    assert opened.status_code in (200, 201), opened.text
    response = httpx.post(
        f"{api}/append",
        json={"audio_chunk": base64.b64encode(hum_wav()).decode()},
        headers=headers,
        timeout=60,
    )
    assert response.status_code == 202, response.text

    def discarded() -> list[dict[str, Any]]:
        return [e for e in events_of(server, token, session_id) if e["kind"] == "utterance.discarded"]

    wait_until(lambda: bool(discarded()), 120, "the hum's utterance discarded")
    (event,) = discarded()
    record = event["data"]
    uid = record["utterance_id"]
    assert record["reason"] == "no speech recognized" and re.search(
        rf"/audio/{uid}-[0-9]{{12}}\.wav$", record["audio_ref"]
    )
    assert [b["source"]["kind"] for b in blocks_of(server, token, session_id)] == ["text"]

    # Its audio: a signed link, for any role that reads the session.
    for who in (token, viewer):
        link = httpx.get(f"{api}/utterances/{uid}/audio", headers={"authorization": f"Bearer {who}"})
        assert link.status_code == 200, link.text
        assert link.json()["audio_ref"] == record["audio_ref"]
        wav = httpx.get(link.json()["url"])
        assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
        with wave.open(io.BytesIO(wav.content)) as w:
            seconds = w.getnframes() / w.getframerate()
        assert abs(seconds - (record["time_end"] - record["time_start"])) < 0.01
    missing = [
        httpx.get(f"{api}/utterances/{other}/audio", headers=headers)
        for other in ("utt_000000000000", "utt_1", "utt_..secrets")
    ]
    assert {(r.status_code, r.json()["error"]["code"]) for r in missing} == {(404, "NOT_FOUND")}
    assert len({r.text for r in missing}) == 1  # a malformed id and a missing one answer alike

    # A stenographer listens and writes what was said, linked to the utterance.
    (opening,) = blocks_of(server, token, session_id)
    said = "Se deja constancia de una falla del micrófono de la presidencia."
    insert = httpx.post(
        f"{api}/blocks",
        json={"after_block_id": opening["block_id"], "block": {"text": said, "utterance_id": uid}},
        headers={"authorization": f"Bearer {steno}"},
    )
    assert insert.status_code == 201, insert.text
    block = insert.json()["block"]
    assert block["source"] == {"kind": "human", "utterance_id": uid}
    assert block["audio_metadata"] == {
        "utterance_id": uid,
        "audio_ref": record["audio_ref"],
        "time_start": record["time_start"],
        "time_end": record["time_end"],
    }
    again = httpx.get(f"{api}/blocks/{block['block_id']}/audio", headers=headers)
    assert again.status_code == 200 and again.json()["audio_ref"] == record["audio_ref"]
    for bad in ("utt_000000000000", 7):
        refused = httpx.post(
            f"{api}/blocks",
            json={"after_block_id": None, "block": {"text": "x", "utterance_id": bad}},
            headers={"authorization": f"Bearer {steno}"},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"]["field"] == "utterance_id"
    assert len(blocks_of(server, token, session_id)) == 2

    result = finalize(server, token, session_id)
    (listed,) = result["audit_report"]["discarded_utterances"]
    assert listed["event_id"] == event["id"]
    assert {k: listed[k] for k in ("utterance_id", "time_start", "time_end", "audio_ref", "reason")} == {
        k: record[k] for k in ("utterance_id", "time_start", "time_end", "audio_ref", "reason")
    }
    acta = docx.Document(io.BytesIO(httpx.get(result["download_url"]).content))
    assert said in "".join(t.text or "" for t in acta.element.body.iter(f"{W}t"))


def test_an_utterance_discarded_twice_is_listed_once_in_the_audit() -> None:
    """Two owners may transcribe one utterance (a takeover while it was being heard: the block
    path dedupes by utterance_id, "another owner's answer landed first"); when neither heard
    words each logged ``utterance.discarded`` (now the second finds it no longer pending and logs
    nothing, but sessions logged before keep both). The audit lists the audio once, as the
    console shows one row for it, with the first event."""
    from server.services.guard import LogFacts

    record = {
        "utterance_id": "utt_000000032000",
        "time_start": 2.0,
        "time_end": 3.5,
        "audio_ref": "tenants/T/sessions/S/audio/utt_000000032000.wav",
        "reason": "no speech recognized",
    }
    other = {**record, "utterance_id": "utt_000000096000", "time_start": 6.0, "time_end": 7.0}
    events = [
        {"id": i, "kind": "utterance.discarded", "at": 1_700_000_000.0 + i, "actor": "astra", "data": data}
        for i, data in enumerate((record, record, other), start=1)
    ]
    listed = LogFacts.of(events).discarded
    assert [(d["event_id"], d["utterance_id"]) for d in listed] == [
        (1, "utt_000000032000"),
        (3, "utt_000000096000"),
    ]


def test_dead_core_keeps_audio_for_review_and_reprocess_recovers(spawn: Any, tmp_path: Path) -> None:
    """With CORE unreachable, each utterance becomes an ERROR_PENDING_REVIEW block holding its
    audio reference (nothing is lost, the session is not stalled); once CORE is back, the
    re-process endpoint turns it into a transcribed block."""
    from .conftest import free_port

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
    auth = {"authorization": f"Bearer {token}"}
    session_id = start(server, token)
    client = Client(server.ws_url, session_id)
    client.hello(token, client_id="mic")
    with wave.open(str(AUDIO / "05_intervencion.wav")) as w:
        pcm = w.readframes(w.getnframes())
    for seq, frame in enumerate(frames(pcm), start=1):
        client.audio(seq, frame)
    client.audio_end(len(frames(pcm)) + 1)
    client.wait_for(lambda: len(client.added()) == 1, timeout=60)
    block = client.added()[0]["data"]["block"]
    assert block["type"] == "ERROR_PENDING_REVIEW" and block["error"]["code"] == "SERVICE_UNAVAILABLE"
    audio_ref = block["audio_metadata"]["audio_ref"]
    assert audio_ref.endswith(".wav")

    spawn("core", port=core_port)
    api = f"{server.url}/v1/orchestrator/session/{session_id}"
    fixed = httpx.post(f"{api}/blocks/{block['block_id']}/reprocess", headers=auth, timeout=120)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["block"]["type"] == "TEMPLATE" and "palabra" in fixed.json()["block"]["text"].lower()
    updated = client.until(lambda m: m["type"] == "event" and m["kind"] == "block.updated", timeout=30)
    assert updated["data"]["block"]["version"] == 2
    assert httpx.post(f"{api}/blocks/{block['block_id']}/reprocess", headers=auth).status_code == 422


def test_dropped_socket_mid_utterance_resumes_without_loss(spawn: Any) -> None:
    """The socket dies in the middle of an utterance with frames unacked; the client reconnects,
    resends from the server's last applied seq, and every utterance appears exactly once."""
    server = spawn("serve")
    token = server.token()
    session_id = start(server, token)
    pcm = session_pcm()
    all_frames = frames(pcm)
    cut = int((SCRIPT[2]["start"] + 1.0) * 10)  # inside the third utterance
    first = Client(server.ws_url, session_id)
    first.hello(token, client_id="mic")
    for seq in range(1, cut + 1):
        first.audio(seq, all_frames[seq - 1])
    first.ws.close()  # gone without waiting for the acks

    second = Client(server.ws_url, session_id)
    welcome = second.hello(token, client_id="mic")
    resume_from = welcome["last_seq"] + 1
    assert 1 <= resume_from <= cut + 1
    for seq in range(resume_from, len(all_frames) + 1):
        second.audio(seq, all_frames[seq - 1])
    second.audio_end(len(all_frames) + 1)
    second.wait_for(lambda: len(all_frames) + 1 in second.acks, timeout=60)
    finalize(server, token, session_id)
    assert_script_in(blocks_of(server, token, session_id))


@pytest.mark.cluster
def test_owner_killed_mid_session_another_instance_takes_over(
    spawn: Any, redis_url: str, tmp_path: Path
) -> None:
    """Two instances on one Redis; the instance transcribing the session is SIGKILLed halfway;
    the client reconnects to the other, which takes the lease and resumes from the durable audio:
    every utterance once, in order, none lost."""
    shared = tmp_path / "shared"
    env = {"REDIS_URL": redis_url, "ASTRA_AUDIO_LEASE_TTL": "2"}
    a = spawn("serve", data_dir=shared, env=env)
    b = spawn("serve", data_dir=shared, env=env)
    token = a.token()
    session_id = start(a, token)
    all_frames = frames(session_pcm())
    half = int(SCRIPT[4]["start"] * 10) + 5  # inside the fifth utterance
    on_a = Client(a.ws_url, session_id)
    on_a.hello(token, client_id="mic")
    for seq in range(1, half + 1):
        on_a.audio(seq, all_frames[seq - 1])
    on_a.wait_for(lambda: len(on_a.acks) == half, timeout=30)
    on_a.wait_for(lambda: len(on_a.added()) >= 1, timeout=60)
    a.kill()

    on_b = Client(b.ws_url, session_id)
    welcome = on_b.hello(token, client_id="mic")
    assert welcome["last_seq"] == half
    for seq in range(half + 1, len(all_frames) + 1):
        on_b.audio(seq, all_frames[seq - 1])
    on_b.audio_end(len(all_frames) + 1)
    on_b.wait_for(lambda: len(all_frames) + 1 in on_b.acks, timeout=60)
    finalize(b, token, session_id)
    blocks = blocks_of(b, token, session_id)
    assert_script_in(blocks)
    ids = [b["audio_metadata"]["utterance_id"] for b in blocks]
    assert len(ids) == len(set(ids))


def test_a_successor_takes_over_audio_sent_before_the_lease_ended_without_more_coming(
    spawn: Any, redis_url: str, tmp_path: Path
) -> None:
    """The owner dies in the middle of an utterance; the recorder resumes on the other instance
    and sends the rest of it and ``audio_end`` at once, while the dead owner's lease still holds,
    then nothing more. The other instance takes the audio over when the lease ends and the block
    arrives live, without another frame, client or finalize to wake it (it used to wait for one)."""
    with fake_core(tmp_path) as core:
        env = {"REDIS_URL": redis_url, "ASTRA_AUDIO_LEASE_TTL": "5", "ASTRA_CORE_URL": core.url}
        a = spawn("serve", data_dir=tmp_path / "shared", env=env)
        b = spawn("serve", data_dir=tmp_path / "shared", env=env)
        token = a.token()
        session_id = start(a, token)
        speech = frames(session_pcm())[:70]  # the first utterance (0.6–6.1 s) and silence after it
        half = 30
        on_a = Client(a.ws_url, session_id)
        on_a.hello(token, client_id="mic")
        for seq in range(1, half + 1):
            on_a.audio(seq, speech[seq - 1])
        on_a.wait_for(lambda: len(on_a.acks) == half, timeout=30)
        a.kill()

        on_b = Client(b.ws_url, session_id)
        assert on_b.hello(token, client_id="mic")["last_seq"] == half
        for seq in range(half + 1, len(speech) + 1):
            on_b.audio(seq, speech[seq - 1])
        on_b.audio_end(len(speech) + 1)
        on_b.wait_for(lambda: len(on_b.added()) == 1, timeout=60)
        (block,) = [event["data"]["block"] for event in on_b.added()]
        assert block["source"]["kind"] == "audio" and block["audio_metadata"]["time_start"] < 1.0
        on_b.close()


def test_audio_seen_while_another_instance_held_the_lease_is_taken_over_once_it_lets_go(
    spawn: Any, redis_url: str, tmp_path: Path
) -> None:
    """An instance stopped by SIGTERM lets its audio lease go at once: the instance its recorder
    went on with takes the audio over within a second or so, not when the lease would have
    ended (here 10 minutes; by default 10 s, a gap in every rolling restart). The holder is
    played by the test, which holds the lease key while the speech arrives, then deletes it."""
    with fake_core(tmp_path) as core:
        env = {"REDIS_URL": redis_url, "ASTRA_AUDIO_LEASE_TTL": "600", "ASTRA_CORE_URL": core.url}
        server = spawn("serve", env=env)
        token = server.token()
        session_id = start(server, token)
        store = redis.Redis.from_url(redis_url)
        lease = SessionKeys(session_id).owner
        assert store.set(lease, "an-instance-stopping", px=600_000)
        speech = frames(session_pcm())[:70]  # the first utterance and silence after it
        client = Client(server.ws_url, session_id)
        client.hello(token, client_id="mic")
        for seq, frame in enumerate(speech, start=1):
            client.audio(seq, frame)
        client.audio_end(len(speech) + 1)
        client.wait_for(lambda: len(speech) + 1 in client.acks, timeout=30)
        assert store.delete(lease) == 1  # nobody had taken it: the holder lets go now
        client.wait_for(lambda: len(client.added()) == 1, timeout=30)
        assert client.added()[0]["data"]["block"]["source"]["kind"] == "audio"
        client.close()
        store.close()

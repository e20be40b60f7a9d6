"""SIGKILL chaos: three ``astra serve`` instances on one Redis, a fast fake CORE, twenty live
sessions streaming speech and text, two stenographers correcting, and instances killed with
SIGKILL and restarted at random moments. Afterwards every client's acked frames and received
events are compared with Redis and with the sealed DOCX: nothing lost, nothing doubled, order kept.

Time is compressed honestly: each session streams about 35 s of 16 kHz PCM16 audio in 100 ms
frames (real espeak-ng Spanish speech from tests/fixtures/audio, separated by 1-1.6 s of
silence), sent as fast as the server acks it (a window of 64 unacked frames per client), so a
session's audio arrives many times faster than it was "spoken". The VAD, the cutting and the
dedupe do not depend on wall-clock time; what is compressed is only the wait between frames.
Kills happen at seeded random points of the streaming progress, so each run sees several owner
takeovers whatever the speed of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import TIME_UNIT, ServerProcess, wait_until
from .faultkit import (
    Timeline,
    audio_diagnosis,
    auth,
    check_audio_blocks,
    docx_text,
    exported_log,
    fake_core,
    fault_proxy,
    make_timeline,
    session_blocks,
    session_events,
    start_session,
)
from .resumable import ResumableClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INSTANCES = 3
SESSIONS = 20
SPEECH_PIECES = 6
"""Utterances per session (about 35 s of audio with the silences)."""
TEXT_EVERY = 45
"""One text frame every this many audio frames, on the same sequence."""
EDITS_EACH = 10
"""Edits per stenographer."""
KILLS = 5
"""SIGKILLs per run, at seeded random points of the streaming."""


@dataclass
class Edits:
    markers: list[str] = field(default_factory=list)
    """The marker of every applied edit."""
    rebases: int = 0
    """Edits refused with STALE_VERSION and sent again on the current block."""


@dataclass
class Recorder:
    index: int
    session_id: str
    timeline: Timeline
    client: ResumableClient
    texts: dict[int, str] = field(default_factory=dict)
    """seq → text of each text frame."""
    result: dict[str, Any] = field(default_factory=dict)
    """What finalize answered."""


def text_for(session: int, n: int) -> str:
    return f"Intervención escrita número {session}-{n}."


async def stream(recorder: Recorder, rng: random.Random) -> None:
    """Audio frames as fast as acked, a text frame now and then, then audio_end."""
    client = recorder.client
    for n, frame in enumerate(recorder.timeline.frames(), start=1):
        await client.send({"type": "audio", "format": "pcm16", "data": frame})
        if n % TEXT_EVERY == 0:
            text = text_for(recorder.index, n // TEXT_EVERY)
            seq = await client.send({"type": "text", "text": text})
            recorder.texts[seq] = text
        if rng.random() < 0.02:
            await asyncio.sleep(rng.uniform(0.0, 0.2))  # a network hiccup of the console
    await client.send({"type": "audio_end"})
    await client.all_acked(180)


def known_blocks(client: ResumableClient) -> dict[str, dict[str, Any]]:
    """The blocks this client has seen in events, latest version of each."""
    blocks: dict[str, dict[str, Any]] = {}
    for event in client.events:
        block = event["data"].get("block")
        if event["kind"] in ("block.added", "block.updated", "block.inserted") and block:
            blocks[block["block_id"]] = block
    return blocks


async def correct(client: ResumableClient, name: str, rng: random.Random, edits: Edits) -> None:
    """Append a marker to one of the first blocks: read it, think a moment (meanwhile the other
    stenographer may change it), send the edit on the version read, and on STALE_VERSION
    rebase on the current block and send again, until it applies."""
    for k in range(EDITS_EACH):
        await client.wait_until(lambda: len(known_blocks(client)) >= 3, 120, "blocks to correct")
        first = sorted(known_blocks(client).values(), key=lambda b: b["position"])[:3]
        block = rng.choice(first)
        marker = f"[ed-{name}-{k}]"
        await asyncio.sleep(rng.uniform(0.05, 0.4))
        for _ in range(50):
            text = f"{block['text']} {marker}"
            outcome = await client.request(
                {
                    "type": "edit",
                    "block_id": block["block_id"],
                    "base_version": block["version"],
                    "changes": {"text": text, "structured_data": {**block["structured_data"], "texto": text}},
                },
                within=120,
            )
            if outcome.kind in ("ack", "settled"):
                edits.markers.append(marker)
                break
            assert outcome.message["code"] == "STALE_VERSION", outcome.message
            edits.rebases += 1
            block = outcome.message["details"]["current"]
        else:
            raise AssertionError(f"{name}: edit {k} never applied")


async def chaos(
    servers: list[ServerProcess], rng: random.Random, progress: Callable[[], float], log: list[str]
) -> None:
    """SIGKILL a random live instance at ``KILLS`` seeded points of the streaming progress (0-1)
    and restart it on the same port (in the background: the next kill may come first)."""
    points = sorted(rng.uniform(0.05, 0.9) for _ in range(KILLS))
    restarting: dict[int, asyncio.Task[None]] = {}
    for point in points:
        while progress() < point:  # noqa: ASYNC110 (progress is a count, not an event)
            await asyncio.sleep(0.01)
        while True:  # never kill the last instance standing: wait for a restart first
            alive = [s for s in servers if s.port not in restarting or restarting[s.port].done()]
            if len(alive) > 1:
                break
            pending = [task for task in restarting.values() if not task.done()]
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        victim = rng.choice(alive)
        log.append(f"kill :{victim.port} at {progress():.2f}")
        await asyncio.to_thread(victim.kill)
        restarting[victim.port] = asyncio.create_task(asyncio.to_thread(victim.start))
    await asyncio.gather(*restarting.values())


@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_chaos_loses_nothing_doubles_nothing_keeps_order(
    spawn: Any, redis_url: str, tmp_path: Path, seed: int
) -> None:
    """Twenty sessions stream speech and text through three instances while two stenographers
    correct blocks and instances are SIGKILLed and restarted at seeded random moments; clients
    reconnect (to any instance) and resume. Then every frame each client sent was applied once
    (acked or settled), every text is one block in order, every utterance is one block whose
    fingerprint is the audio sent at its place, every applied edit is in its block, each client
    saw every event once in order, equal to the log, and the DOCX holds each of them once."""
    rng = random.Random(seed)
    with fake_core(tmp_path) as core:
        # A short audio lease makes takeovers quick; scaled, so a loaded machine's stalls do not
        # make live owners lose it over and over.
        lease = str(2 * TIME_UNIT)
        env = {"REDIS_URL": redis_url, "ASTRA_CORE_URL": core.url, "ASTRA_AUDIO_LEASE_TTL": lease}
        shared = tmp_path / "shared"
        servers = [spawn("serve", data_dir=shared, env=env) for _ in range(INSTANCES)]
        token = servers[0].token()
        sessions = [start_session(servers[i % INSTANCES].url, token) for i in range(SESSIONS)]
        timelines = [make_timeline(rng, SPEECH_PIECES) for _ in sessions]
        kills: list[str] = []
        recorders, stenos, edits = asyncio.run(
            _run(servers, token, sessions, timelines, rng, kills, redis_url)
        )
        assert len(kills) == KILLS, kills

        api = servers[0].url
        for recorder in recorders:
            _check_session(api, token, recorder, stenos if recorder.index == 0 else [], edits.markers)
        assert len(edits.markers) == 2 * EDITS_EACH and edits.rebases > 0, edits


async def _run(
    servers: list[ServerProcess],
    token: str,
    sessions: list[str],
    timelines: list[Timeline],
    rng: random.Random,
    kills: list[str],
    redis_url: str,
) -> tuple[list[Recorder], list[ResumableClient], Edits]:
    urls = [s.ws_url for s in servers]
    recorders = [
        Recorder(
            i,
            sid,
            timelines[i],
            ResumableClient(urls, sid, token, f"rec-{i}", rng=random.Random(rng.random())),
        )
        for i, sid in enumerate(sessions)
    ]
    stenos = [
        ResumableClient(
            urls,
            sessions[0],
            servers[0].token(role="stenographer", sub=name),
            f"steno-{name}",
            rng=random.Random(rng.random()),
        )
        for name in ("ana", "luis")
    ]
    edits = Edits()
    clients = [r.client for r in recorders] + stenos
    for client in clients:
        client.start()
    total = sum(len(r.timeline.frames()) for r in recorders)

    def progress() -> float:
        return sum(len(r.client.frames) for r in recorders) / total

    chaos_task = asyncio.create_task(chaos(servers, random.Random(rng.random()), progress, kills))
    try:
        await asyncio.gather(
            *(stream(r, random.Random(rng.random())) for r in recorders),
            *(
                correct(s, name, random.Random(rng.random()), edits)
                for s, name in zip(stenos, ("ana", "luis"), strict=True)
            ),
        )
    except BaseException:
        chaos_task.cancel()  # the kill points past the failure would never be reached
        raise
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await chaos_task
    for client in clients:
        assert client.fatal is None, client.fatal

    def finalize(session_id: str) -> dict[str, Any]:
        # As the console does: 503 SERVICE_UNAVAILABLE means "call again" (finalize waits for the
        # session's audio while it moves on, and gives up after ~137 s in which it did not); once,
        # so that audio that never drains still fails, and says where it stands.
        for attempt in (1, 2):
            response = httpx.post(
                f"{servers[0].url}/v1/orchestrator/session/{session_id}/finalize",
                headers=auth(token),
                timeout=300,
            )
            if response.status_code != 503 or attempt == 2:
                break
        assert response.status_code == 200, (
            f"{response.text}\n{audio_diagnosis(redis_url, session_id)}\n"
            + "\n".join(f"--- {s.url}\n{s.log_tail()}" for s in servers)
        )
        result: dict[str, Any] = response.json()
        return result

    results = await asyncio.gather(*(asyncio.to_thread(finalize, r.session_id) for r in recorders))
    for recorder, result in zip(recorders, results, strict=True):
        recorder.result = result

    # The log ends with learn.exported (after session.finalized); then every client must reach it.
    for recorder in recorders:
        events = await asyncio.to_thread(exported_log, servers[0].url, token, recorder.session_id)
        head = events[-1]["id"]
        watchers = [recorder.client] + (stenos if recorder.index == 0 else [])
        for client in watchers:
            await client.wait_until(lambda c=client, h=head: c.last_event_id >= h, 60, f"event {head}")
    for client in clients:
        await client.stop()
    return recorders, stenos, edits


def _check_session(
    api: str, token: str, recorder: Recorder, stenos: list[ResumableClient], markers: list[str]
) -> None:
    client = recorder.client
    sid = recorder.session_id
    # Every frame the client made was applied exactly once: acked, or settled by a welcome.
    assert client.applied() == list(range(1, client.next_seq)), "a frame was never applied"
    assert not client.errors, client.errors[:3]
    blocks = session_blocks(api, token, sid)
    log = session_events(api, token, sid)
    assert [e["id"] for e in log] == list(range(1, len(log) + 1))

    # Text: each acked text is one block, in seq order, nothing else from this producer.
    text_blocks = [b for b in blocks if b["source"]["kind"] == "text"]
    assert [b["source"]["seq"] for b in text_blocks] == sorted(recorder.texts)
    for block in text_blocks:
        assert block["text"].startswith(recorder.texts[block["source"]["seq"]]), block["text"]
    # Audio: every utterance once, its fingerprint the samples sent at its place.
    audio_count = check_audio_blocks(recorder.timeline, log, blocks)
    assert audio_count >= len(recorder.timeline.speech)

    # Events: each client saw every event once, in order, equal to the log.
    for watcher in [client, *stenos]:
        watcher.check_events()
        seen = [(e["id"], e["kind"], e["data"]) for e in watcher.events]
        assert seen == [(e["id"], e["kind"], e["data"]) for e in log[: len(seen)]]
        assert len(seen) == len(log)

    # Edits: every applied marker is in exactly one block, once.
    if stenos:
        joined = "\n".join(b["text"] for b in blocks)
        assert markers, "no edit applied"
        for marker in markers:
            assert joined.count(marker) == 1, marker

    # The sealed DOCX holds each text, each utterance and each edit once, in order.
    document = httpx.get(recorder.result["download_url"], timeout=60).content
    text = docx_text(document)
    positions = []
    for block in text_blocks:
        needle = recorder.texts[block["source"]["seq"]]
        assert text.count(needle) == 1, needle
        positions.append(text.index(needle))
    assert positions == sorted(positions), "texts out of order in the acta"
    fingerprints = [
        re.search(r"\[[0-9a-f]{8}\]", b["text"]) for b in blocks if b["source"]["kind"] == "audio"
    ]
    found = [m.group(0) for m in fingerprints if m]
    assert len(found) == audio_count
    places = [text.index(fp) for fp in found]
    assert all(text.count(fp) == 1 for fp in found)
    assert places == sorted(places), "utterances out of order in the acta"
    if stenos:
        for marker in markers:
            assert text.count(marker) == 1, marker


@pytest.mark.timeout(300)
def test_instance_killed_while_storing_an_input_does_not_hold_finalize(
    spawn: Any, redis_url: str, tmp_path: Path
) -> None:
    """An instance SIGKILLed while CORE works on a text frame leaves that frame's in-flight mark
    behind; another instance's finalize waits for it only one in-flight lease (the dead instance
    no longer renews it), not the whole CORE retry budget (here over half an hour)."""
    with fake_core(tmp_path) as core:
        env = {
            "REDIS_URL": redis_url,
            "ASTRA_CORE_URL": core.url,
            "ASTRA_SERVICE_TIMEOUT": "600",
            "ASTRA_INFLIGHT_LEASE_TTL": "2",
        }
        shared = tmp_path / "shared"
        doomed, survivor = spawn("serve", data_dir=shared, env=env), spawn("serve", data_dir=shared, env=env)
        token = doomed.token()
        session_id = start_session(doomed.url, token)
        core.mode(delay=3600)

        async def send_then_kill() -> None:
            client = ResumableClient([doomed.ws_url], session_id, token, "rec").start()
            await client.send({"type": "text", "text": "Tiene la palabra el concejal Pérez."})
            await asyncio.to_thread(wait_until, lambda: core.stats()["in_flight"] == 1, 30, "CORE busy")
            await asyncio.to_thread(doomed.kill)
            await client.stop()

        asyncio.run(send_then_kill())
        core.mode()
        response = httpx.post(
            f"{survivor.url}/v1/orchestrator/session/{session_id}/finalize", headers=auth(token), timeout=120
        )
        assert response.status_code == 200, response.text
        assert session_blocks(survivor.url, token, session_id) == []  # never acked, never stored


@pytest.mark.timeout(300)
def test_instance_killed_while_finalizing_another_takes_over(
    spawn: Any, redis_url: str, tmp_path: Path
) -> None:
    """The instance finalizing a session is SIGKILLed while BUILDER works; a finalize called on
    another instance waits for the dead one's lock to expire, takes over, and returns the sealed
    acta in that one call (instead of waiting out its whole wait and answering 'call again')."""
    builder = spawn("builder", data_dir=tmp_path / "builder")
    with fake_core(tmp_path) as core, fault_proxy(builder.url) as proxy:
        env = {
            "REDIS_URL": redis_url,
            "ASTRA_CORE_URL": core.url,
            "ASTRA_BUILDER_URL": proxy.url,
            "ASTRA_FINALIZE_LOCK_TTL": "3",
            "ASTRA_FINALIZE_WAIT": "30",
        }
        shared = tmp_path / "shared"
        doomed, survivor = spawn("serve", data_dir=shared, env=env), spawn("serve", data_dir=shared, env=env)
        token = doomed.token()
        session_id = start_session(doomed.url, token)
        api = f"/v1/orchestrator/session/{session_id}"
        for n in range(1, 4):
            text = {"text": f"Tiene la palabra el concejal número {n}."}
            assert httpx.post(doomed.url + api + "/append", json=text, headers=auth(token)).status_code == 200
        proxy.set_mode("blackhole")  # BUILDER takes the request and never answers

        def finalize_on_doomed() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(doomed.url + api + "/finalize", headers=auth(token), timeout=120)

        first = threading.Thread(target=finalize_on_doomed)
        first.start()
        wait_until(lambda: proxy.stats.connections >= 1, 30, "BUILDER to be called")
        doomed.kill()
        first.join(30)
        proxy.set_mode("pass")
        response = httpx.post(survivor.url + api + "/finalize", headers=auth(token), timeout=120)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["block_count"] == 3
        document = httpx.get(result["download_url"], timeout=30).content
        assert hashlib.sha256(document).hexdigest() == result["integrity_hash"]

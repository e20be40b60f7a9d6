"""A multi-hour session compressed in time: the server's memory stays flat, and a client that
joins late with ``last_event_id`` 0 gets the whole log, once, in order, then live events.

What it represents: three hours of a council session recorded by one console — 108,000 frames
of 100 ms 16 kHz PCM16 audio (exact silence with a real Spanish utterance every 30 s: 360
utterances) and a written intervention every 4 s on the same sequence (2,700 text frames),
about 3,400 events in all. The frames are sent as fast as the server acks them (a window of
64): on a loaded 2-core machine the three hours take about two minutes, some ninety times
faster than real time. Only the waiting between frames is compressed; every frame is stored,
cut by the VAD, and every utterance transcribed (by the fake CORE) as it would be live.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ServerProcess, require
from .faultkit import (
    LongTimeline,
    auth,
    check_audio_blocks,
    fake_core,
    has_proc,
    rss_bytes,
    session_blocks,
    session_events,
    start_session,
)
from .resumable import ResumableClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECONDS = 3 * 3600
SPEECH_EVERY = 30.0
TEXT_EVERY = 40
"""One text frame every this many audio frames (4 s of audio)."""
SAMPLES = 24
"""RSS samples over the run."""
LATE_JOIN_AT = 0.75
"""Fraction of the session streamed when the late viewer joins."""


@pytest.mark.timeout(600)
def test_three_hour_session_keeps_memory_flat_and_replays_whole_log_to_a_late_joiner(
    spawn: Any, redis_url: str, tmp_path: Path
) -> None:
    """Three hours of audio and text streamed into one session: the server's RSS late in the run is
    within a generous bound of its RSS after warm-up; every text and utterance is one block in
    order; a viewer joining at 75 % with last_event_id 0 receives events 1..head once, in
    order, across the replay-to-live switch, equal to the stored log."""
    require(has_proc(), "/proc (Linux) to read a process's memory")
    timeline = LongTimeline(random.Random(42), SECONDS, SPEECH_EVERY)
    with fake_core(tmp_path) as core:
        # Hours of frames in about a minute and a half: far above the per-connection frame rate a
        # live console needs, so that limit (tested in test_limits_ws.py) is lifted here.
        fast = {"ASTRA_FRAME_RATE": "1000000", "ASTRA_FRAME_BURST": "1000000"}
        server = spawn("serve", env={"REDIS_URL": redis_url, "ASTRA_CORE_URL": core.url, **fast})
        token = server.token()
        session_id = start_session(server.url, token, "Sesión de tres horas")
        texts, viewer, samples = asyncio.run(_stream(server, session_id, token, timeline))

        api = server.url
        blocks = session_blocks(api, token, session_id)
        log = session_events(api, token, session_id)
        assert [e["id"] for e in log] == list(range(1, len(log) + 1))
        assert len(log) > 3_000
        text_blocks = [b for b in blocks if b["source"]["kind"] == "text"]
        assert [b["source"]["seq"] for b in text_blocks] == sorted(texts)
        assert [b["text"] for b in text_blocks] == [texts[s] for s in sorted(texts)]
        assert check_audio_blocks(timeline, log, blocks) == len(timeline.speech)

        viewer.check_events()
        assert viewer.synced == 1
        assert [(e["id"], e["kind"], e["data"]) for e in viewer.events] == [
            (e["id"], e["kind"], e["data"]) for e in log
        ]

    mib = [s // 2**20 for s in samples]
    print(f"server RSS (MiB) over {SECONDS / 3600:g} h of audio, {len(samples)} samples: {mib}")
    warm = max(samples[2 : SAMPLES // 4])  # after warm-up (model loads, first allocations)
    late = max(samples[-SAMPLES // 4 :])
    assert late < warm + 100 * 2**20, mib


async def _stream(
    server: ServerProcess, session_id: str, token: str, timeline: LongTimeline
) -> tuple[dict[int, str], ResumableClient, list[int]]:
    assert server.process is not None
    pid = server.process.pid
    recorder = ResumableClient([server.ws_url], session_id, token, "console").start()
    viewer: ResumableClient | None = None
    texts: dict[int, str] = {}
    samples: list[int] = []
    frames = timeline.frame_count
    try:
        for n in range(frames):
            await recorder.send({"type": "audio", "format": "pcm16", "data": timeline.frame(n)})
            if n % TEXT_EVERY == TEXT_EVERY - 1:
                text = f"Constancia escrita número {n // TEXT_EVERY}."
                texts[await recorder.send({"type": "text", "text": text})] = text
            if n % (frames // SAMPLES) == frames // SAMPLES - 1:
                samples.append(rss_bytes(pid))
            if viewer is None and n >= frames * LATE_JOIN_AT:  # joins while the stream goes on
                viewer = ResumableClient(
                    [server.ws_url], session_id, server.token(role="viewer", sub="late"), "late"
                ).start()
        await recorder.send({"type": "audio_end"})
        await recorder.all_acked(120)
        assert viewer is not None
        response = await asyncio.to_thread(
            httpx.post,
            f"{server.url}/v1/orchestrator/session/{session_id}/finalize",
            headers=auth(token),
            timeout=300,
        )
        assert response.status_code == 200, response.text
        # the corrections are exported for LEARN after finalize answers: the log's last event
        deadline = time.monotonic() + 60
        log = await asyncio.to_thread(session_events, server.url, token, session_id)
        while log[-1]["kind"] != "learn.exported" and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            log = await asyncio.to_thread(session_events, server.url, token, session_id)
        assert log[-1]["kind"] == "learn.exported", log[-1]
        head = log[-1]["id"]
        await viewer.wait_until(lambda: viewer.last_event_id >= head, 120, f"event {head}")
        assert recorder.applied() == list(range(1, recorder.next_seq))
        assert not recorder.errors and not viewer.errors
    finally:
        await recorder.stop()
        if viewer is not None:
            await viewer.stop()
    return texts, viewer, samples

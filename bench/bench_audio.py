"""Benchmark: speech latency through the server versus the bare recognizer, and ack latency.

    make bench            (or: .venv/bin/python bench/bench_audio.py)

Runs a real ``astra serve`` (its own process, embedded Redis) and, in this process, the bare
faster-whisper call with the same model, settings and prompt on the same audio, so both sides
are measured in the same run on the same machine. Prints a Markdown table.

* utterance → block: for each scripted utterance, its 100 ms PCM16 frames are sent at once and
  closed with ``audio_end``; measured from sending ``audio_end`` to receiving the block's event.
  Versus the bare ``transcribe`` call on the same samples (median of 3 runs each).
* ack latency: 100 ms frames of the whole session streamed at real-time pace, the server
  transcribing as they arrive; send → ack per frame (p50/p99), versus the same stream of
  silence (nothing to transcribe).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import wave
from pathlib import Path
from typing import Any

import msgpack
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Server, percentile  # noqa: E402

from server.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from server.services.asr import Transcriber, build_prompt  # noqa: E402
from server.vad import SileroVad  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
FRAME = 3200
RUNS = 3
TARGET_RATIO = 1.10
"""design.md: ``audio_end`` → block at most 10 % over the bare faster-whisper call on the same audio."""


def read_pcm(name: str) -> bytes:
    with wave.open(str(AUDIO / name)) as w:
        return w.readframes(w.getnframes())


class Stream:
    def __init__(self, server: Server, session_id: str) -> None:
        self.cm = connect(
            f"ws://127.0.0.1:{server.port}/v1/orchestrator/session/{session_id}/stream",
            subprotocols=["astra.v1"],  # type: ignore[list-item]
            max_size=None,
        )
        self.ws = self.cm.__enter__()
        self.ws.send(msgpack.packb({"type": "hello", "client_id": "bench", "token": server.token}))
        self.seq = 0
        self.sent: dict[int, float] = {}
        self.acked: dict[int, float] = {}
        self.events: list[tuple[float, dict[str, Any]]] = []

    def send(self, message: dict[str, Any]) -> int:
        self.seq += 1
        self.sent[self.seq] = time.perf_counter()
        self.ws.send(msgpack.packb({**message, "seq": self.seq}))
        return self.seq

    def pump(self, timeout: float) -> None:
        try:
            data = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return
        now = time.perf_counter()
        message = msgpack.unpackb(data)
        if message["type"] == "ack":
            self.acked[message["seq"]] = now
        elif message["type"] == "event":
            self.events.append((now, message))

    def close(self) -> None:
        self.cm.__exit__(None, None, None)


def bench_latency(
    server: Server, transcriber: Transcriber, script: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per utterance: server (audio_end → block event) versus the bare call on the same samples."""
    rows = []
    prompt = build_prompt(
        json.loads((ROOT / "server/tenants_data/CONCEJO_CALI/tenant.json").read_text())["entities_dictionary"]
    )
    for item in script:
        pcm = read_pcm(item["file"])
        # What the server will transcribe: the segmenter's cut of this audio (with padding).
        segmenter = Segmenter(SileroVad(), SegmenterConfig(speech_pad_ms=300))
        cut = segmenter.feed(pcm) + segmenter.flush()
        samples = b"".join(u.pcm for u in cut[:1])
        bare = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            transcriber.transcribe_sync(samples, prompt)
            bare.append(time.perf_counter() - t0)
        served = []
        for _ in range(RUNS):
            stream = Stream(server, server.session())
            for i in range(0, len(pcm), FRAME):
                stream.send({"type": "audio", "format": "pcm16", "data": pcm[i : i + FRAME]})
            end = stream.send({"type": "audio_end"})
            deadline = time.monotonic() + 60
            while (
                not any(m["kind"] == "block.added" for _, m in stream.events) and time.monotonic() < deadline
            ):
                stream.pump(1.0)
            arrived = next(t for t, m in stream.events if m["kind"] == "block.added")
            served.append(arrived - stream.sent[end])
            stream.close()
        rows.append(
            {
                "utterance": item["file"],
                "audio_s": round(len(samples) / 32000, 2),
                "bare_s": statistics.median(bare),
                "server_s": statistics.median(served),
            }
        )
    return rows


def bench_acks(server: Server, pcm: bytes) -> dict[str, float]:
    """Real-time stream of ``pcm``: send → ack latency of every frame (seconds)."""
    stream = Stream(server, server.session())
    began = time.perf_counter()
    frames = [pcm[i : i + FRAME] for i in range(0, len(pcm), FRAME)]
    for n, frame in enumerate(frames, start=1):
        stream.send({"type": "audio", "format": "pcm16", "data": frame})
        while (pause := began + n * 0.1 - time.perf_counter()) > 0:
            stream.pump(pause)
    deadline = time.monotonic() + 30
    while len(stream.acked) < len(frames) and time.monotonic() < deadline:
        stream.pump(1.0)
    latencies = [stream.acked[s] - stream.sent[s] for s in stream.acked]
    blocks = sum(1 for _, m in stream.events if m["kind"] == "block.added")
    stream.close()
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "frames": len(latencies),
        "blocks": blocks,
    }


def main() -> None:
    cache = ROOT / ".venv" / "astra-model-cache"
    script = json.loads((AUDIO / "sesion.json").read_text(encoding="utf-8"))
    transcriber = Transcriber(cache, cpu_threads=os.cpu_count() or 1)
    transcriber.warm_up()
    server = Server({"ASTRA_MODEL_CACHE": str(cache), "ASTRA_ASR_WARMUP": "1"})
    try:
        rows = bench_latency(server, transcriber, script)
        speech = bench_acks(server, read_pcm("sesion.wav"))
        silence = bench_acks(server, bytes(len(read_pcm("sesion.wav"))))
    finally:
        server.stop()
    total_bare = sum(r["bare_s"] for r in rows)
    total_server = sum(r["server_s"] for r in rows)
    print(f"\n## Speech benchmark — {platform.node()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n")
    print("| utterance | audio (s) | bare faster-whisper (s) | audio_end → block event (s) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['utterance']} | {r['audio_s']:.2f} | {r['bare_s']:.3f} | {r['server_s']:.3f} "
            f"| {r['server_s'] / r['bare_s']:.2f} |"
        )
    ratio = total_server / total_bare
    met = "✅" if ratio <= TARGET_RATIO else "❌"
    print(
        f"| **all** | | **{total_bare:.2f}** | **{total_server:.2f}** "
        f"| **{ratio:.2f}** (target ≤ {TARGET_RATIO:.2f} {met}) |"
    )
    print("\n| real-time stream (100 ms frames) | frames | blocks | ack p50 (ms) | ack p99 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, m in (("speech (transcribing meanwhile)", speech), ("silence (baseline)", silence)):
        print(f"| {name} | {m['frames']} | {m['blocks']} | {m['p50'] * 1000:.1f} | {m['p99'] * 1000:.1f} |")


if __name__ == "__main__":
    main()

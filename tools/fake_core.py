"""A fast fake CORE over HTTP, for load benchmarks and fault tests — not a recognizer.

    python tools/fake_core.py --port 8101

It serves CORE's HTTP contract (``server/services/core.py``) in its own process, so a benchmark
measures the orchestrator and not speech recognition, and a fault test can make CORE slow,
failing or flapping on demand:

* ``POST /v1/core/text`` classifies the text with the real rule-based classifier (microseconds).
* ``POST /v1/core/audio`` does no speech recognition: it answers a debate intervention whose
  text names the utterance's duration and a fingerprint of its samples
  (``"Intervención de 2.40 s [a1b2c3d4]."``), so a test can match every block to the audio it
  came from.
* ``POST /fake/mode`` ``{"delay": s, "status": 503, "fail_every": n}`` changes behaviour from now
  on: ``delay`` before each answer; ``status`` ≠ 200 fails every call with it; ``fail_every`` = n
  fails one call in n with 503 (flapping). ``{}`` restores normal service.
* ``GET /fake/stats`` → ``{"text": n, "audio": n, "failed": n, "in_flight": n}``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.services import classifier

SAMPLE_RATE = 16_000


@dataclass
class Mode:
    delay: float = 0.0
    status: int = 200
    fail_every: int = 0


@dataclass
class Stats:
    counts: dict[str, int] = field(default_factory=lambda: {"text": 0, "audio": 0, "failed": 0})
    in_flight: int = 0


def audio_text(pcm16: bytes) -> str:
    """The fake transcript: the utterance's duration and a fingerprint of its samples."""
    seconds = len(pcm16) / 2 / SAMPLE_RATE
    return f"Intervención de {seconds:.2f} s [{hashlib.sha256(pcm16).hexdigest()[:8]}]."


def create_app() -> Starlette:
    mode = Mode()
    stats = Stats()

    async def answer(
        kind: str, text: str, entities: dict[str, str], previous: str | None, seconds: float | None = None
    ) -> Response:
        stats.in_flight += 1
        try:
            if mode.delay:
                await asyncio.sleep(mode.delay)
            calls = stats.counts["text"] + stats.counts["audio"]
            stats.counts[kind] += 1
            if mode.status != 200 or (mode.fail_every and calls % mode.fail_every == 0):
                stats.counts["failed"] += 1
                status = mode.status if mode.status != 200 else 503
                body = {"error": {"code": "FAKE_FAILURE", "message": "fake CORE told to fail"}}
                return JSONResponse(body, status_code=status)
            c = classifier.classify(text, entities, previous)
            result: dict[str, Any] = {
                "text": c.text,
                "intent": c.intent,
                "label": c.label,
                "template_id": c.template_id,
                "structured_data": c.structured_data,
                "confidence": c.confidence,
                "audio_metadata": None,
            }
            if seconds is not None:
                result["audio_metadata"] = {
                    "asr_text": text,
                    "asr_confidence": 1.0,
                    "duration": round(seconds, 3),
                    "language": "es",
                    "segments": [{"start": 0.0, "end": round(seconds, 3), "text": text}],
                }
            return JSONResponse(result)
        finally:
            stats.in_flight -= 1

    async def core_text(request: Request) -> Response:
        body = await request.json()
        entities = body.get("entities_dictionary") or {}
        return await answer("text", str(body["text"]), entities, body.get("previous_template_id"))

    async def core_audio(request: Request) -> Response:
        body = msgpack.unpackb(await request.body(), raw=False)
        pcm16 = bytes(body["pcm16"])
        entities = body.get("entities_dictionary") or {}
        seconds = len(pcm16) / 2 / SAMPLE_RATE
        return await answer("audio", audio_text(pcm16), entities, body.get("previous_template_id"), seconds)

    async def set_mode(request: Request) -> Response:
        body = await request.json()
        mode.delay = float(body.get("delay", 0.0))
        mode.status = int(body.get("status", 200))
        mode.fail_every = int(body.get("fail_every", 0))
        return JSONResponse({"delay": mode.delay, "status": mode.status, "fail_every": mode.fail_every})

    async def get_stats(request: Request) -> Response:
        return JSONResponse({**stats.counts, "in_flight": stats.in_flight})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "fake-core"})

    return Starlette(
        routes=[
            Route("/v1/core/text", core_text, methods=["POST"]),
            Route("/v1/core/audio", core_audio, methods=["POST"]),
            Route("/fake/mode", set_mode, methods=["POST"]),
            Route("/fake/stats", get_stats, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

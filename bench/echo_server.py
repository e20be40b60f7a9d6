"""The ingest baseline: a bare Starlette/uvicorn WebSocket server that acks msgpack frames.

    python bench/echo_server.py --port 8200

It speaks just enough of protocol v1 for the load generator (``hello`` → ``welcome`` and
``synced``; every numbered frame → an ``ack`` with its ``seq``), decoding each frame with msgpack
and encoding each answer, and does nothing else: no token, no Redis, no validation. uvicorn runs
with exactly the options of ``astra serve`` (``server.cli.uvicorn_options``: event loop, HTTP
parser, WebSocket implementation, compression, frame size, pings), so the difference in the
benchmark is the orchestrator's own work.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import msgpack
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.cli import uvicorn_options
from server.settings import Settings


async def stream(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="astra.v1")
    try:
        while True:
            frame = msgpack.unpackb(await websocket.receive_bytes(), raw=False)
            if frame["type"] == "hello":
                await websocket.send_bytes(msgpack.packb({"type": "welcome", "last_seq": 0}))
                await websocket.send_bytes(msgpack.packb({"type": "synced", "event_id": 0}))
                continue
            ack = {"type": "ack", "seq": frame["seq"], "block_id": None, "event_id": None, "duplicate": False}
            await websocket.send_bytes(msgpack.packb(ack))
    except WebSocketDisconnect:
        pass


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            WebSocketRoute("/v1/orchestrator/session/{session_id}/stream", stream),
            Route("/healthz", healthz),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8200)
    args = parser.parse_args()
    import uvicorn

    settings = dataclasses.replace(Settings.from_env({}), port=args.port)
    uvicorn.run(create_app(), **uvicorn_options(settings))


if __name__ == "__main__":
    main()

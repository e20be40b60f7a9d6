"""A small synchronous protocol-v1 client over a real socket (the ``websockets`` library)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgpack
from websockets.sync.client import ClientConnection, connect

from server.protocol import SUBPROTOCOL

WAIT = 15.0


class Client:
    def __init__(self, ws_base: str, session_id: str, *, subprotocols: list[str] | None = None) -> None:
        self._connect = connect(
            f"{ws_base}/v1/orchestrator/session/{session_id}/stream",
            subprotocols=subprotocols or [SUBPROTOCOL],  # type: ignore[list-item]
            open_timeout=WAIT,
            max_size=None,
        )
        self.ws: ClientConnection = self._connect.__enter__()
        self.events: list[dict[str, Any]] = []
        self.acks: dict[int, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(msgpack.packb(message))

    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        data = self.ws.recv(timeout=timeout)
        assert isinstance(data, bytes), "server must send binary frames"
        message: dict[str, Any] = msgpack.unpackb(data)
        match message["type"]:
            case "event":
                self.events.append(message)
            case "ack":
                self.acks[message["seq"]] = message
            case "error":
                self.errors.append(message)
            case "welcome":
                self.welcome = message
        return message

    def hello(self, token: str | None, client_id: str = "client-1", last_event_id: int = 0) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "hello",
            "v": 1,
            "client_id": client_id,
            "last_event_id": last_event_id,
        }
        if token is not None:
            msg["token"] = token
        self.send(msg)
        return self.recv()

    def until(self, done: Callable[[dict[str, Any]], bool], timeout: float = WAIT) -> dict[str, Any]:
        """Receive until a message satisfies ``done``; bounded by ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("expected message did not arrive")
            message = self.recv(remaining)
            if done(message):
                return message

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT) -> None:
        """Receive until ``condition()`` holds on what has been received (checked first)."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not reached")
            self.recv(remaining)

    def added(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == "block.added"]

    def text(self, seq: int, text: str) -> None:
        self.send({"type": "text", "seq": seq, "text": text})

    def audio(self, seq: int, data: bytes, fmt: str = "pcm16", *, start: bool = False) -> None:
        message: dict[str, Any] = {"type": "audio", "seq": seq, "format": fmt, "data": data}
        if start:
            message["start"] = True
        self.send(message)

    def audio_end(self, seq: int) -> None:
        self.send({"type": "audio_end", "seq": seq})

    def close(self) -> None:
        self._connect.__exit__(None, None, None)

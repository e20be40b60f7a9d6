"""Helpers of the hostile-input tests: module-wide server processes, a JWKS endpoint on a real
socket, hand-forged JWTs, and WebSocket handshakes that are expected to be refused."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from PIL import Image
from websockets.exceptions import ConnectionClosed

from server.protocol import BEARER_PREFIX, SUBPROTOCOL

from .conftest import MODEL_CACHE, ServerProcess, free_port
from .wsclient import Client


@contextlib.contextmanager
def server_process(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """``astra serve`` as its own process for a whole module (``spawn`` is per test)."""
    base = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("ASTRA_")}
    base |= {"ASTRA_MODEL_CACHE": str(MODEL_CACHE), "ASTRA_ASR_WARMUP": "0"}
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = ServerProcess(["serve"], free_port(), data_dir, {**base, **(env or {})})
    try:
        yield proc.start()
    finally:
        proc.stop()


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def photo(width: int = 64, height: int = 48, mode: str = "RGB") -> Image.Image:
    """A small picture with some structure (a gradient), so encoders have real work to do."""
    image = Image.linear_gradient("L").resize((width, height)).convert(mode)
    return image


def public_jwk(kid: str, private_key: Any, alg: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


class JwksServer:
    """A JWKS endpoint on a loopback socket; its key set can change, and it counts fetches."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None = None) -> str:
    """A JWT assembled by hand: HMAC-SHA256 over it with ``hmac_key``, or no signature at all."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = b""
    if hmac_key is not None:
        signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """The token with its payload swapped for ``claims`` and its signature kept (tampering)."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def ws_attempt(
    server: ServerProcess, session_id: str, token: str | None, via: str, client_id: str = "probe"
) -> tuple[list[dict[str, Any]], int]:
    """Connect with ``token`` in the hello or as the ``astra.bearer.`` subprotocol, send the
    hello, and read until the server closes: every frame received, and the close code (a
    connection that stays open fails on the client's bounded wait)."""
    subprotocols = [SUBPROTOCOL] + ([BEARER_PREFIX + token] if via == "subprotocol" and token else [])
    client = Client(server.ws_url, session_id, subprotocols=subprotocols)
    frames: list[dict[str, Any]] = []
    try:
        frames.append(client.hello(token if via == "hello" else None, client_id=client_id))
        while True:
            frames.append(client.recv())
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server closed without a close frame"
        return frames, closed.rcvd.code
    finally:
        client.close()

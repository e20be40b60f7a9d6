"""The HTTP API: the specification's contracts, as thin handlers over the orchestrator.

Every route but ``/healthz``, ``/metrics``, the console's static files and signed object links
requires ``Authorization: Bearer <jwt>``. Errors are JSON ``{"error": {"code", "message",
"details"?}}`` with the status that :mod:`server.errors` assigns to the code.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from . import openapi
from .audio import ACCEPTED, SAMPLE_RATE, AudioFormatError, decode_file
from .auth import CAN_DISCARD, CAN_EDIT, CAN_SEND, CAN_UPLOAD, Principal, bearer
from .buffer import UTTERANCE_KEY_PREFIX, Dedupe, SessionMeta, store_errors, unpack
from .errors import (
    AstraError,
    IdempotencyKeyReused,
    InvalidInput,
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    ProtocolError,
)
from .orchestrator import IngestResult
from .protocol import MAX_EVENT_ID, MAX_VERSION, validate_changes
from .services.builder import DOCX_TYPE
from .state import AppState

log = logging.getLogger("astra.http")

_MULTIPART_SLACK = 64 * 1024


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.astra
    return state


async def _principal(request: Request) -> Principal:
    return await _state(request).auth.verify(bearer(request.headers.get("authorization")))


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them."""
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


async def _json(request: Request) -> dict[str, Any]:
    """The JSON object body, read with a size bound so a huge body cannot exhaust memory."""
    limit = _state(request).settings.limits.max_json_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes", limit=limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes", limit=limit)
    try:
        # strict UTF-8 (RFC 8259; a BOM let through): json.loads of bytes decodes with
        # "surrogatepass", which took a surrogate's raw bytes (ED A0 80) into the text
        body = json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # ValueError: also an integer of over 4,300 digits
        raise MalformedBody("the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise MalformedBody("the body must be a JSON object")
    if _SURROGATE_ESCAPE.search(raw) is not None:
        try:  # a pair is one character (an emoji); a lone half is none, and no UTF-8 can hold it
            json.dumps(body, ensure_ascii=False).encode()
        except UnicodeEncodeError as exc:
            raise MalformedBody("the body holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from exc
    return body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A JSON escape of half a UTF-16 surrogate pair: Python's parser makes a string of a lone one,
which every later encoding (msgpack, Redis, the event log) refused with a 500."""


async def _dedupe(request: Request, principal: Principal, meta: SessionMeta, what: Any) -> Dedupe:
    """How the request is deduplicated: by its ``Idempotency-Key``, when it has one, bound to the
    request it was applied for. ``what`` is what the request asks (its body, or what stands for
    it); with the sender, the method, the path and the query it makes the request's fingerprint,
    kept beside the key once the request is applied (:func:`_applied`). A key applied for another
    fingerprint is refused (IDEMPOTENCY_KEY_REUSED), nothing written: answering that request
    "duplicate" would drop it silently. Not told apart: a request sent while the key's first
    request was still being applied (answered as its duplicate), and keys applied before
    fingerprints were kept."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return Dedupe("none")
    if not 1 <= len(key) <= 128:
        raise InvalidInput("Idempotency-Key must be 1-128 characters", field="Idempotency-Key")
    if key.startswith(UTTERANCE_KEY_PREFIX):  # the utterances' own keys: one would swallow its block
        raise InvalidInput(
            f"Idempotency-Key must not start with {UTTERANCE_KEY_PREFIX!r}", field="Idempotency-Key"
        )
    path = request.url.path
    if path.endswith("/chunk"):  # …/append by the name of the spec's flow: one route
        path = path.removesuffix("/chunk") + "/append"
    asked = [
        principal.sub,
        request.method,
        path,
        sorted(request.query_params.multi_items()),
        what,
    ]
    fingerprint = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:32]
    applied_for = await _state(request).orchestrator.buffer.key_fingerprint(meta.session_id, key)
    if applied_for is not None and applied_for != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for another request in this session (another "
            "body, block, route or sender); nothing was applied: use a new key for a new request",
            field="Idempotency-Key",
        )
    return Dedupe.by_key(key, fingerprint)


async def _applied(request: Request, meta: SessionMeta, dedupe: Dedupe, result: IngestResult) -> None:
    """A keyed request applied now (not a duplicate): its fingerprint is kept beside its key."""
    if dedupe.mode == "key" and dedupe.fingerprint and not result.duplicate:
        await _state(request).orchestrator.buffer.remember_key(
            meta.session_id, dedupe.token, dedupe.fingerprint
        )


def _sha256_file(file: BinaryIO) -> str:
    """The SHA-256 of an uploaded file (spooled), read from its start and left there."""
    file.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _ingested(result: IngestResult) -> dict[str, Any]:
    return {
        "block_id": result.block_id,
        "event_id": result.event_id,
        "duplicate": result.duplicate,
        "block": result.block,
    }


async def start_session(request: Request) -> Response:
    principal = await _principal(request)
    body = await _json(request)
    tenant_id = body.get("tenant_id")
    skeleton_id = body.get("skeleton_id")
    metadata = body.get("metadata", {})
    if not isinstance(tenant_id, str) or not tenant_id:
        raise InvalidInput("'tenant_id' is required", field="tenant_id")
    if skeleton_id is not None and not isinstance(skeleton_id, str):
        raise InvalidInput("'skeleton_id' must be a string", field="skeleton_id")
    if not isinstance(metadata, dict):
        raise InvalidInput("'metadata' must be an object", field="metadata")
    orch = _state(request).orchestrator
    session_id = await orch.start(principal, tenant_id, skeleton_id, metadata)
    meta = await orch.session(principal, session_id)
    return JSONResponse(await orch.describe(meta), status_code=201)


async def list_open_sessions(request: Request) -> Response:
    """The caller's tenant's open sessions, newest first, so a colleague can join one."""
    sessions = await _state(request).orchestrator.open_sessions(await _principal(request))
    return JSONResponse({"sessions": sessions})


async def get_session(request: Request) -> Response:
    orch = _state(request).orchestrator
    meta = await orch.session(await _principal(request), request.path_params["session_id"])
    return JSONResponse(await orch.describe(meta))


async def list_blocks(request: Request) -> Response:
    """Every block in order. Decoding and encoding them run off the event loop: a session of
    thousands of blocks at their size limits is hundreds of megabytes of it, which held every
    connection's acks for seconds."""
    orch = _state(request).orchestrator
    meta = await orch.session(await _principal(request), request.path_params["session_id"])
    stored = await orch.buffer.raw_blocks(meta.session_id)

    def respond() -> JSONResponse:
        blocks = [unpack(block) for block in stored]
        return JSONResponse(
            {"session_id": meta.session_id, "head_event_id": meta.head_event_id, "blocks": blocks}
        )

    return await asyncio.to_thread(respond)


EVENTS_PAGE_BYTES = 8 << 20
"""The stored events one page of ``…/events`` holds at most (as msgpack): 5,000 events of blocks
at their size limits would be hundreds of megabytes decoded on the event loop."""


async def list_events(request: Request) -> Response:
    """The session's event log from ``after`` (exclusive), ``limit`` at a time."""
    from .protocol import decode_event

    orch = _state(request).orchestrator
    meta = await orch.session(await _principal(request), request.path_params["session_id"])
    try:
        after = int(request.query_params.get("after", "0"))
        limit = min(int(request.query_params.get("limit", "500")), 5000)
    except ValueError as exc:
        raise InvalidInput("'after' and 'limit' must be integers") from exc
    if after > MAX_EVENT_ID:
        raise InvalidInput("'after' must be at most 2^63-1", field="after")
    page: list[dict[str, Any]] = []
    size, cursor, wanted = 0, max(after, 0), max(limit, 1)
    while len(page) < wanted:
        # read a little at a time: a page ends early past EVENTS_PAGE_BYTES (never empty)
        chunk = await orch.buffer.events_after(meta.session_id, cursor, min(100, wanted - len(page)))
        if not chunk:
            break
        for event_id, payload in chunk:
            if page and size + len(payload) > EVENTS_PAGE_BYTES:
                return JSONResponse({"events": page})
            page.append(decode_event(event_id, payload))
            size += len(payload)
        cursor = chunk[-1][0]
    return JSONResponse({"events": page})


async def append(request: Request) -> Response:
    principal = await _principal(request)
    orch = _state(request).orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    principal.require(CAN_SEND, "send input")  # before the body: a viewer's audio is not decoded
    body = await _json(request)
    text, audio = body.get("text"), body.get("audio_chunk")
    if (text is None) == (audio is None):
        raise InvalidInput("send exactly one of 'text' or 'audio_chunk'")
    if audio is not None:
        if not isinstance(audio, str):
            raise InvalidInput("'audio_chunk' must be base64 text", field="audio_chunk")
        try:
            raw = base64.b64decode(audio, validate=True)
        except ValueError as exc:  # binascii.Error, or non-ASCII characters in the string
            raise InvalidInput("'audio_chunk' is not valid base64", field="audio_chunk") from exc
        return await _append_audio(request, principal, meta, body, raw)
    if not isinstance(text, str):
        raise InvalidInput("'text' must be a string", field="text")
    source = {"kind": "text", "producer": "http", "idempotency_key": request.headers.get("idempotency-key")}
    dedupe = await _dedupe(request, principal, meta, body)
    result = await orch.ingest_text(principal, meta, text, dedupe, source)
    await _applied(request, meta, dedupe, result)
    return JSONResponse(_ingested(result))


HTTP_AUDIO_ENTRY_SAMPLES = SAMPLE_RATE  # one second of PCM per audio entry


async def _append_audio(
    request: Request, principal: Principal, meta: SessionMeta, body: dict[str, Any], raw: bytes
) -> Response:
    """A WAV/WebM/Ogg file (recognised by its header) or raw PCM16 with ``sample_rate``, decoded
    to PCM16 16 kHz and made durable on the session's audio timeline; blocks follow as events.
    Unless ``"continues": true``, the end of the chunk also ends the utterance in progress."""
    fmt, rate = body.get("format"), body.get("sample_rate")
    if fmt is not None and fmt not in ACCEPTED:  # audio of a format not accepted, as one not recognised
        raise InvalidInput(
            f"'format' must be one of {', '.join(ACCEPTED)}",
            code="UNSUPPORTED_AUDIO",
            field="format",
            accepted=list(ACCEPTED),
        )
    if rate is not None and (not isinstance(rate, int) or isinstance(rate, bool)):
        raise InvalidInput("'sample_rate' must be an integer", field="sample_rate")
    try:
        pcm = await asyncio.to_thread(decode_file, raw, fmt=fmt, sample_rate=rate)
    except AudioFormatError as exc:
        raise InvalidInput(str(exc), code="UNSUPPORTED_AUDIO", accepted=list(ACCEPTED)) from exc
    step = HTTP_AUDIO_ENTRY_SAMPLES * 2
    chunks: list[tuple[str, bytes, bool]] = [
        ("pcm16", pcm[i : i + step], False) for i in range(0, len(pcm), step)
    ]
    if body.get("continues") is not True:
        chunks.append(("end", b"", False))
    if not chunks:
        raise InvalidInput("the audio holds no samples", field="audio_chunk")
    orch = _state(request).orchestrator
    asked = {k: v for k, v in body.items() if k != "audio_chunk"}
    if request.headers.get("idempotency-key") is not None:  # the audio by its hash (off the loop)
        asked["audio_sha256"] = await asyncio.to_thread(lambda: hashlib.sha256(raw).hexdigest())
    dedupe = await _dedupe(request, principal, meta, asked)
    result = await orch.ingest_audio(principal, meta, dedupe, chunks)
    await _applied(request, meta, dedupe, result)
    return JSONResponse(
        {
            "accepted": True,
            "duplicate": result.duplicate,
            "audio_seconds": round(len(pcm) / 2 / SAMPLE_RATE, 3),
        },
        status_code=202,
    )


def _base_version(value: object) -> int:
    # JSON carries integers of any size; one past MAX_VERSION could not even be stored (a 500).
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_VERSION:
        raise InvalidInput(
            f"'base_version' must be an integer between 1 and {MAX_VERSION}", field="base_version"
        )
    return value


async def edit_block(request: Request) -> Response:
    """PATCH a block: ``{"base_version", "changes": {...}}`` (409 STALE_VERSION with the current
    block when someone changed it first)."""
    principal = await _principal(request)
    orch = _state(request).orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    principal.require(CAN_EDIT, "edit blocks")  # before the body: 403, not a complaint about it
    body = await _json(request)
    changes = body.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput("'changes' must be a non-empty object", field="changes")
    limit = _state(request).settings.limits.max_text_chars
    try:
        changes = validate_changes(changes, limit)
    except ProtocolError as exc:
        raise InvalidInput(exc.message, **exc.details) from exc
    block_id, version = request.path_params["block_id"], _base_version(body.get("base_version"))
    dedupe = await _dedupe(request, principal, meta, body)
    result = await orch.edit_block(principal, meta, dedupe, block_id, version, changes)
    await _applied(request, meta, dedupe, result)
    return JSONResponse(_ingested(result))


async def delete_block(request: Request) -> Response:
    """DELETE a block at ``?base_version=N``: a tombstone the acta skips."""
    principal = await _principal(request)
    orch = _state(request).orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    raw = request.query_params.get("base_version", "")
    # isdigit() alone takes '²', which int() refuses; 20 digits is beyond any real version.
    version = _base_version(int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 20 else None)
    dedupe = await _dedupe(request, principal, meta, None)  # what it asks is in its path and query
    result = await orch.delete_block(principal, meta, dedupe, request.path_params["block_id"], version)
    await _applied(request, meta, dedupe, result)
    return JSONResponse(_ingested(result))


async def insert_block(request: Request) -> Response:
    """POST a block written by a person: ``{"after_block_id": id|null, "block": {"text", ...}}``."""
    principal = await _principal(request)
    orch = _state(request).orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    principal.require(CAN_EDIT, "insert blocks")
    body = await _json(request)
    fields, after = body.get("block"), body.get("after_block_id")
    if not isinstance(fields, dict) or not isinstance(fields.get("text"), str) or not fields["text"].strip():
        raise InvalidInput("'block.text' is required", field="block.text")
    if after is not None and (not isinstance(after, str) or not 1 <= len(after) <= 64):
        raise InvalidInput("'after_block_id' must be a block id or null", field="after_block_id")
    try:
        fields = validate_changes(fields, _state(request).settings.limits.max_text_chars, container="block")
    except ProtocolError as exc:
        raise InvalidInput(exc.message, **exc.details) from exc
    dedupe = await _dedupe(request, principal, meta, body)
    result = await orch.insert_block(principal, meta, dedupe, after, fields)
    await _applied(request, meta, dedupe, result)
    return JSONResponse(_ingested(result), status_code=201)


async def reprocess(request: Request) -> Response:
    """Run CORE again on a block pending review (its stored audio or its kept text)."""
    principal = await _principal(request)
    orch = _state(request).orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    block = await orch.reprocess(principal, meta, request.path_params["block_id"])
    return JSONResponse({"block": block})


async def block_audio(request: Request) -> Response:
    """A signed, expiring link to a block's utterance audio (for playback beside the text)."""
    state = _state(request)
    orch = state.orchestrator
    meta = await orch.session(await _principal(request), request.path_params["session_id"])
    block = await orch.buffer.block(meta.session_id, request.path_params["block_id"])
    audio_ref = orch.block_audio(meta, block)
    url = await state.store.download_url(audio_ref, state.settings.download_url_ttl)
    return JSONResponse({"url": url, "audio_ref": audio_ref})


async def utterance_audio(request: Request) -> Response:
    """A signed, expiring link to an utterance's audio, block or not: one the recognizer heard
    no words in (``utterance.discarded``) has no block to play it from, and may still hold
    something said that a stenographer writes in by hand."""
    state = _state(request)
    orch = state.orchestrator
    principal = await _principal(request)
    meta = await orch.session(principal, request.path_params["session_id"])
    audio_ref = await orch.utterance_audio(principal, meta, request.path_params["utterance_id"])
    url = await state.store.download_url(audio_ref, state.settings.download_url_ttl)
    return JSONResponse({"url": url, "audio_ref": audio_ref})


async def preview(request: Request) -> Response:
    """The acta as it would be written now, marked as a draft (not sealed, not stored)."""
    orch = _state(request).orchestrator
    principal = await _principal(request)
    meta = await orch.session(principal, request.path_params["session_id"])
    document = await orch.preview(principal, meta)
    return Response(
        document,
        media_type=DOCX_TYPE,
        headers={
            "content-disposition": f'attachment; filename="borrador-{meta.session_id}.docx"',
            "cache-control": "no-store",
        },
    )


class _UploadBody:
    """A request's body as the multipart parser reads it: cut off past ``limit`` bytes (a body
    sent without Content-Length, chunked, is refused once it passes the bound, not spooled
    whole), and watched for the form's closing delimiter, which the parser does not ask for (a
    body cut short read as a form without its file part)."""

    def __init__(self, request: Request, limit: int) -> None:
        self._receive = request.receive
        self.limit = limit
        self.received = 0
        _, options = parse_options_header(request.headers.get("content-type", ""))
        boundary = options.get(b"boundary", b"")
        self._closing = b"--" + boundary + b"--"
        self._tail = b""
        self.closed = not boundary  # no boundary: the parser refuses the body itself

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            body: bytes = message.get("body", b"")
            self.received += len(body)
            if self.received > self.limit:
                raise PayloadTooLarge(f"upload exceeds {self.limit} bytes", limit=self.limit)
            if not self.closed:
                seen = self._tail + body
                self.closed = self._closing in seen
                self._tail = seen[-len(self._closing) :]
        return message


@contextlib.asynccontextmanager
async def _multipart(request: Request, limit: int) -> AsyncIterator[FormData]:
    """The multipart form (one file at most) of a body of at most ``limit`` bytes; a body the
    parser rejects, or that ends before the form's closing delimiter, is a coded 400."""
    body = _UploadBody(request, limit)
    try:
        form = await Request(request.scope, body).form(max_files=1, max_fields=8)
    except HTTPException as exc:
        raise MalformedBody(
            f"the body is not valid multipart form data: {exc.detail}", code="BAD_MULTIPART"
        ) from exc
    try:
        if not body.closed:
            raise MalformedBody(
                "the multipart body ended before its closing boundary (cut short): send it again",
                code="BAD_MULTIPART",
            )
        yield form
    finally:
        await form.close()


async def upload_asset(request: Request) -> Response:
    principal = await _principal(request)
    state = _state(request)
    orch = state.orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    principal.require(CAN_UPLOAD, "upload assets")  # before the form is parsed and spooled
    limit = state.settings.limits.max_asset_bytes
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit + _MULTIPART_SLACK):
        raise PayloadTooLarge(f"upload exceeds {limit} bytes", limit=limit)
    async with _multipart(request, limit + _MULTIPART_SLACK) as form:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("multipart field 'file' is required", field="file")
        zone, caption = form.get("zone"), form.get("caption")
        asked = {  # a form value that is a file part is not one of these (as before): None
            "zone": zone if isinstance(zone, str) else None,
            "caption": caption if isinstance(caption, str) else None,
            "filename": upload.filename,
        }
        if request.headers.get("idempotency-key") is not None:
            asked["sha256"] = await asyncio.to_thread(_sha256_file, upload.file)
        dedupe = await _dedupe(request, principal, meta, asked)
        result, uri = await orch.upload_asset(
            principal,
            meta,
            upload.file,
            upload.filename or "imagen",
            zone=zone if isinstance(zone, str) and zone else None,
            caption=caption if isinstance(caption, str) and caption else None,
            dedupe=dedupe,
        )
    await _applied(request, meta, dedupe, result)
    asset = (result.block or {}).get("asset", {})
    return JSONResponse({"asset_id": asset.get("asset_id"), "s3_url": uri, **_ingested(result)})


async def finalize(request: Request) -> Response:
    principal = await _principal(request)
    orch = _state(request).orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    return JSONResponse(await orch.finalize(principal, meta))


async def discard(request: Request) -> Response:
    """Close a session that will never have an acta, without sealing one (see Orchestrator.discard)."""
    principal = await _principal(request)
    orch = _state(request).orchestrator
    meta = await orch.session(principal, request.path_params["session_id"])
    principal.require(CAN_DISCARD, "discard sessions")
    body = await _json(request)
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise InvalidInput("reason must be a string", field="reason")
    return JSONResponse(await orch.discard(principal, meta, reason))


async def get_object(request: Request) -> Response:
    """Signed links of the local object store (embedded mode)."""
    store = _state(request).local_store
    if store is None:
        raise NotFound("no such object")
    key = request.path_params["key"]
    store.verify(key, request.query_params.get("expires", ""), request.query_params.get("signature", ""))
    path, stat = await store.file(key)  # streamed from the file in pieces, in a thread
    return FileResponse(
        path,
        stat_result=stat,
        media_type="application/octet-stream",
        filename=key.rsplit("/", 1)[-1],
        headers={"cache-control": "private"},
    )


async def healthz(request: Request) -> Response:
    """200 when the store answers; 503 ``STORE_UNAVAILABLE`` while it is unreachable, loading or down."""
    state = _state(request)
    with store_errors():
        await state.redis.ping()
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    return Response(_state(request).metrics.render(), media_type="text/plain; version=0.0.4")


async def astra_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AstraError)
    _state(request).metrics.errors.labels(exc.code).inc()
    if exc.http_status >= 500:
        log.warning("%s %s -> %s: %s", request.method, request.url.path, exc.code, exc.message)
    headers = {"retry-after": str(exc.retry_after)} if exc.retry_after is not None else None
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed, a malformed multipart body)
    in the API's error shape."""
    assert isinstance(exc, HTTPException)
    codes = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    code = codes.get(exc.status_code, "HTTP_ERROR")
    return JSONResponse(
        {"error": {"code": code, "message": exc.detail}}, status_code=exc.status_code, headers=exc.headers
    )


async def openapi_document(request: Request) -> Response:
    """The HTTP API as an OpenAPI 3.1 document (:mod:`server.openapi`)."""
    return JSONResponse(openapi.build(_state(request).settings.limits.max_text_chars))


PREFIX = "/v1/orchestrator/session"

routes = [
    Route(f"{PREFIX}/start", start_session, methods=["POST"]),
    Route(f"{PREFIX}s", list_open_sessions, methods=["GET"]),
    Route(f"{PREFIX}/{{session_id}}", get_session, methods=["GET"]),
    Route(f"{PREFIX}/{{session_id}}/blocks", list_blocks, methods=["GET"]),
    Route(f"{PREFIX}/{{session_id}}/events", list_events, methods=["GET"]),
    Route(f"{PREFIX}/{{session_id}}/append", append, methods=["POST"]),
    Route(f"{PREFIX}/{{session_id}}/chunk", append, methods=["POST"]),  # the spec's flow's name
    Route(f"{PREFIX}/{{session_id}}/upload-asset", upload_asset, methods=["POST"]),
    Route(f"{PREFIX}/{{session_id}}/finalize", finalize, methods=["POST"]),
    Route(f"{PREFIX}/{{session_id}}/preview", preview, methods=["GET"]),
    Route(f"{PREFIX}/{{session_id}}/discard", discard, methods=["POST"]),
    Route(f"{PREFIX}/{{session_id}}/blocks", insert_block, methods=["POST"]),
    Route(f"{PREFIX}/{{session_id}}/blocks/{{block_id}}", edit_block, methods=["PATCH"]),
    Route(f"{PREFIX}/{{session_id}}/blocks/{{block_id}}", delete_block, methods=["DELETE"]),
    Route(f"{PREFIX}/{{session_id}}/blocks/{{block_id}}/reprocess", reprocess, methods=["POST"]),
    Route(f"{PREFIX}/{{session_id}}/blocks/{{block_id}}/audio", block_audio, methods=["GET"]),
    Route(f"{PREFIX}/{{session_id}}/utterances/{{utterance_id}}/audio", utterance_audio, methods=["GET"]),
    Route("/v1/objects/{key:path}", get_object, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi_document, methods=["GET"]),
]

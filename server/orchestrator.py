"""The session workflow shared by the HTTP API and the WebSocket: start, ingest, assets, finalize.

Adapters (``http_api``, ``endpoint``) authenticate, parse and translate; every decision about a
session is taken here, on top of the session buffer and the collaborators. The orchestrator
keeps no session state in memory: any instance can serve any request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import re
import secrets
import time
import uuid
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Final, Literal

from . import images, malloc, protocol
from .audio_pipeline import AudioService, utterance_id, wav_bytes
from .auth import CAN_DISCARD, CAN_EDIT, CAN_FINALIZE, CAN_READ, CAN_SEND, CAN_START, CAN_UPLOAD, Principal
from .buffer import (
    CLOSING,
    DISCARDED,
    FINALIZE_FAILED,
    FINALIZED,
    OPEN,
    STORE_ERRORS,
    Dedupe,
    FinalizeBegun,
    IngestCheck,
    NoRoom,
    SessionBuffer,
    SessionMeta,
    as_unavailable,
    seq_verdicts,
    unpack,
)
from .cancel import cancel_and_wait
from .errors import (
    AstraError,
    AudioBacklog,
    BuildFailed,
    ConfigError,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PlaceContended,
    PositionsExhausted,
    ProtocolError,
    RecordingElsewhere,
    SequenceGap,
    ServiceError,
    ServiceUnavailable,
    SessionClosed,
    SessionTooLong,
    StaleVersion,
    TooManySessions,
    UtterancePending,
    UtteranceWritten,
    error_from_dict,
)
from .metrics import Metrics
from .segmenter import SAMPLE_RATE, Utterance
from .services.builder import Builder, BuildRequest
from .services.core import AudioRequest, Core, CoreResult, TextRequest
from .services.guard import Guard, SealRequest, canonical_json
from .services.learn import Learn
from .services.objectstore import ObjectStore, session_key, tenant_key
from .services.resilience import with_retries
from .services.tenants import Registry, Tenants
from .settings import PCM_BYTES_PER_SECOND, Settings
from .workers import BlockIndex, Offload, WorkerTimeout, check_configuration, corrections, index_blocks

log = logging.getLogger("astra.orchestrator")

DEFAULT_ZONE = "ZONE_DEBATE"
PLACEMENT_ATTEMPTS = 32
"""How many times one change is prepared again when the place it read for its block changed
before it was applied (another insert at the same spot, a renumbering): then PLACE_CONTENDED.
A try is a few round trips, and every try lets one of the competing changes through."""
INTERVENTION_TEMPLATES = ("TPL_DEBATE", "TPL_VARIOS")
"""Sections made of interventions alone, whose fields are the same (see Orchestrator._fields_of);
not the carry of a speaker, which is docx_builder.SPEECH_TEMPLATES."""
EDIT_EXTRACTION_TIMEOUT = 2.0
"""Seconds an edit of a block's text waits for CORE to extract the corrected text's fields."""
CORE_TIMEOUT_GRACE = 1.0
"""Seconds a CORE call may take past ``retry.timeout`` before the orchestrator cuts it: the HTTP
client's own timeout (``retry.timeout``) fires first and counts against the circuit breaker."""
MAX_METADATA_BYTES = 16_384
OPEN_SESSIONS_LISTED = 50
"""How many of a tenant's open sessions ``GET /v1/orchestrator/sessions`` lists (newest first)."""
MAX_DISCARD_REASON = 500
"""Characters of the reason given for discarding a session."""
LEARN_EXPORT_CLAIM = 600.0
"""Seconds a try of a LEARN export has before another instance may take it over (its instance
died): more than its calls to LEARN take with their retries."""
PREVIEW_BUILDS = 1
"""Previews of the acta one instance builds at a time (they share the finalize worker): a
finalize waits behind at most this many."""


async def give_back_heap() -> None:
    """Hand the heap's free pages back to the system between a finalize's steps, so that the
    buffers of one step (the blocks read, the pictures, the acta from the worker) are not still
    in the RSS under the next step's peak (``server.malloc``). In a thread: ``malloc_trim``
    holds the arenas' locks for about a millisecond."""
    await asyncio.to_thread(malloc.trim_heap)


def new_id(prefix: str) -> str:
    """Unguessable, URL-safe ids (128 bits of randomness)."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of one input: a new block, or a duplicate of one already stored."""

    duplicate: bool
    block_id: str | None
    event_id: int | None
    block: dict[str, Any] | None


_STORED = IngestResult(False, None, None, None)
_DUPLICATE = IngestResult(True, None, None, None)
"""The results of an audio frame (one per frame: shared, they are frozen)."""


READING_MAX_WORDS: Final = 600
"""Past this many words (about 4 minutes of speech) a speech cut at 15 s is no longer read whole
(:meth:`Orchestrator._with_the_reading`): the readings whose facts a cut splits (a roll call, a
nominal vote, an opening's guests) are far shorter, and each piece would cost CORE the whole
text again (1,200 words: ~55 ms of CPU)."""

_MACHINE_FIELDS: Final = ("text", "label", "template_id", "structured_data", "target_placeholder")
"""What CORE says of a block, kept in ``machine`` once a person changes it (for LEARN and the
audit)."""


class Orchestrator:
    def __init__(
        self,
        *,
        settings: Settings,
        buffer: SessionBuffer,
        core: Core,
        builder: Builder,
        guard: Guard,
        tenants: Tenants,
        registry: Registry,
        store: ObjectStore,
        metrics: Metrics,
        workers: Offload,
    ) -> None:
        self.settings = settings
        self.buffer = buffer
        self.core = core
        self.builder = builder
        self.guard = guard
        self.tenants = tenants
        self.registry = registry
        self.store = store
        self.metrics = metrics
        self.workers = workers
        """Where finalize decodes blocks and computes LEARN's records (a process pool)."""
        self._checked_skeletons: dict[str, list[str]] = {}
        self.audio: AudioService | None = None
        """Set by the app once built (it calls back into this object)."""
        self.learn: Learn | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._previews: dict[str, tuple[int, asyncio.Future[bytes]]] = {}
        """Per session, the preview being built on this instance and the event it reflects."""
        self._preview_builds = asyncio.Semaphore(PREVIEW_BUILDS)
        retry = settings.retry
        # How long an admitted input may take before finalize stops waiting for it; for the
        # session's audio, how long it may go without moving on (AudioService.drain).
        self.core_deadline = retry.timeout + CORE_TIMEOUT_GRACE
        """Seconds the orchestrator lets one CORE call take (see CORE_TIMEOUT_GRACE)."""
        self.ingest_ttl = retry.attempts * (self.core_deadline + retry.max_delay) + 5.0

    # -- reading ---------------------------------------------------------------------------------

    async def session(self, principal: Principal, session_id: str) -> SessionMeta:
        """The session if it exists *for this principal's tenant*; NotFound otherwise (no probing)."""
        principal.require(CAN_READ, "read sessions")
        meta = await self.buffer.meta(session_id) if _plausible_id(session_id) else None
        if meta is None or meta.tenant_id != principal.tenant_id:
            raise NotFound("no such session")
        return meta

    async def open_sessions(self, principal: Principal) -> list[dict[str, Any]]:
        """The principal's tenant's open sessions, newest first (at most ``OPEN_SESSIONS_LISTED``):
        a stenographer joins one from the console's list instead of being sent its id."""
        principal.require(CAN_READ, "read sessions")
        return await self.buffer.open_sessions(principal.tenant_id, OPEN_SESSIONS_LISTED)

    async def describe(self, meta: SessionMeta) -> dict[str, Any]:
        body: dict[str, Any] = {
            "session_id": meta.session_id,
            "tenant_id": meta.tenant_id,
            "status": meta.status,
            "metadata": meta.metadata,
            "pinned": {k: v for k, v in meta.pinned.items() if k != "skeleton_key"},
            "block_count": await self.buffer.block_count(meta.session_id),
            "head_event_id": meta.head_event_id,
            "created_at": meta.created_at,
            "created_by": meta.created_by,
        }
        if meta.is_open and (recording := await self.buffer.recording(meta.session_id)) is not None:
            # A console is recording now: who finalizes would cut it off (the console warns).
            body["recording"] = {"client_id": recording[0], "until": recording[1]}
        if meta.result is not None:
            body["result"] = await self._public_result(meta.result)
        if meta.error is not None:  # as the clients were told it (its status is for waiters)
            body["finalize_error"] = {k: v for k, v in meta.error.items() if k != "status"}
        if meta.discarded is not None:
            body["discarded"] = meta.discarded
        return body

    # -- start -----------------------------------------------------------------------------------

    async def start(
        self, principal: Principal, tenant_id: str, skeleton_id: str | None, metadata: dict[str, Any]
    ) -> str:
        """Open a session with the tenant's configuration pinned; returns its id."""
        principal.require(CAN_START, "start sessions")
        if tenant_id != principal.tenant_id:
            raise NotFound("unknown tenant")  # not 403: tenants cannot be probed either
        try:
            protocol.check_plain_data(metadata, "metadata")
        except ProtocolError as exc:
            raise InvalidInput(exc.message, **exc.details) from exc
        if len(protocol.encode(metadata)) > MAX_METADATA_BYTES:
            raise InvalidInput(f"metadata exceeds {MAX_METADATA_BYTES} bytes")
        config, adapter = await asyncio.gather(
            self.tenants.config(tenant_id), self.registry.adapter_for(tenant_id)
        )
        skeleton = await self.tenants.skeleton(tenant_id, skeleton_id or config.default_skeleton)
        await self._check_skeleton(
            skeleton.sha256,
            skeleton.content,
            config.style_map,
            config.placeholder_map,
            config.templates,
            config.empty_zones,
        )
        # The skeleton bytes are pinned too: a later edit of the tenant's file cannot reach us.
        skeleton_key = tenant_key(tenant_id, "skeletons", f"{skeleton.skeleton_id}-{skeleton.sha256}.docx")
        if not await self.store.exists(skeleton_key):
            await self.store.put_bytes(
                skeleton_key, skeleton.content, "application/octet-stream", durable=True
            )
        pinned = {
            "tenant_id": tenant_id,
            "skeleton_id": skeleton.skeleton_id,
            "skeleton_version": skeleton.version,
            "skeleton_sha256": skeleton.sha256,
            "skeleton_key": skeleton_key,
            "adapter_id": adapter.adapter_id,
            "adapter_version": adapter.adapter_version,
            "model": adapter.model,
            "style_map": config.style_map,
            "placeholder_map": config.placeholder_map,
            "entities_dictionary": config.entities_dictionary,
            "templates": config.templates,
            "mark_human_edits": config.mark_human_edits,
            "empty_zones": config.empty_zones,
        }
        session_id = new_id("ses")
        await self._admit(tenant_id, session_id)
        payload = self._event("session.started", principal, {"tenant_id": tenant_id, "metadata": metadata})
        try:
            await self.buffer.create(
                session_id,
                tenant_id=tenant_id,
                pinned=pinned,
                metadata=metadata,
                created_by=principal.sub,
                event_payload=payload,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.buffer.release_session(tenant_id, session_id))
            raise
        return session_id

    async def _admit(self, tenant_id: str, session_id: str) -> None:
        """Count the new session among the tenant's open ones (atomically, over all instances),
        or refuse it with TOO_MANY_SESSIONS when ``max_open_sessions`` are open."""
        limit = self.settings.limits.max_open_sessions
        if await self.buffer.admit_session(tenant_id, session_id, limit):
            return
        # At the limit: drop any counted session that is not open any more (its release was
        # lost with an instance), then try once more.
        if await self.buffer.prune_open_sessions(tenant_id) and await self.buffer.admit_session(
            tenant_id, session_id, limit
        ):
            return
        self.metrics.limit_refusals.labels("max_open_sessions").inc()
        raise TooManySessions(
            f"the tenant already has {limit} open sessions; finalize one first",
            limit="max_open_sessions",
            max=limit,
        )

    async def _check_skeleton(
        self,
        sha: str,
        content: bytes,
        style_map: dict[str, str],
        placeholder_map: dict[str, str],
        templates: dict[str, Any],
        empty_zones: dict[str, str | None],
    ) -> None:
        """Reject a skeleton that lacks a zone or style the maps name (``empty_zones`` too), or
        templates with problems (unknown role or table kind, Jinja2 errors), once per
        configuration."""
        cache_key = hashlib.sha256(
            sha.encode()
            + protocol.encode(
                {
                    "s": sorted(style_map.items()),
                    "p": sorted(placeholder_map.items()),
                    "t": templates,
                    "e": sorted(empty_zones.items()),
                }
            )
        ).hexdigest()
        problems = self._checked_skeletons.get(cache_key)
        if problems is None:
            problems = await with_retries(  # a worker that died is replaced: try again there
                lambda: self.workers.run(
                    check_configuration, content, style_map, placeholder_map, empty_zones, templates
                ),
                self.settings.retry,
            )
            self._checked_skeletons[cache_key] = problems
        if problems:
            raise ConfigError("the tenant's skeleton does not match its configuration", problems=problems)

    # -- ingest ----------------------------------------------------------------------------------

    async def _age_refusal(self, meta: SessionMeta) -> SessionTooLong | None:
        """The refusal of recorded input to a session older than ``max_session_seconds`` (a session
        left running by mistake cannot grow for ever), None while it is younger; corrections and
        finalize are not affected. None too for one closed to input since (finalizing, finalized,
        its finalize failed, discarded): its input is refused as closed (SESSION_CLOSED), not with
        "finalize it"."""
        limit = self.settings.limits.max_session_seconds
        if time.time() - meta.created_at <= limit:
            return None
        status = await self.buffer.status(meta.session_id)  # now: ``meta`` may be older
        if status is not None and status != OPEN:
            return None
        return SessionTooLong(
            f"the session is older than {limit:g} seconds and takes no more recorded input; finalize it",
            limit="max_session_seconds",
            max=limit,
        )

    async def _check_age(self, meta: SessionMeta, dedupe: Dedupe) -> IngestResult | None:
        """Refuse recorded input to a session too old for it, judged on its number first
        (:meth:`_refused`): a resend of an input already applied is still a duplicate (returned),
        one that skipped numbers still a gap. None if the session is young enough."""
        refusal = await self._age_refusal(meta)
        if refusal is None:
            return None
        try:
            return await self._refused(meta, dedupe, refusal)
        except SessionTooLong:
            self.metrics.limit_refusals.labels("max_session_seconds").inc()
            raise

    @contextlib.asynccontextmanager
    async def _admitted(self, meta: SessionMeta, dedupe: Dedupe) -> AsyncIterator[tuple[str, str, int]]:
        """Admit one input (closed/duplicate/gap checks) and track it as in flight until stored."""
        token = uuid.uuid4().hex
        lease = self.settings.inflight_lease_ttl
        check = await self.buffer.begin_ingest(meta.session_id, dedupe, token, lease)
        match check.outcome:
            case "missing":
                raise NotFound("no such session")
            case "closed":
                raise SessionClosed(f"session is {check.detail}; it takes no more input", status=check.detail)
            case "gap":
                raise SequenceGap(f"expected seq {int(check.detail) + 1}", expected=int(check.detail) + 1)
            case "dup":
                raise _Duplicate(check.detail)
        # Finalize waits for an admitted input while its mark lives: renewed while we work on
        # it, so if this instance dies the mark expires after one lease, not the whole budget.
        renew = asyncio.create_task(self._renew_ingest(meta.session_id, token, lease))
        try:
            yield token, check.detail, check.position
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.buffer.abandon_ingest(meta.session_id, token))
            raise
        finally:
            await cancel_and_wait([renew])  # Python 3.11 can lose a bare cancel (server.cancel)

    async def _renew_ingest(self, session_id: str, token: str, lease: float) -> None:
        while True:
            await asyncio.sleep(lease / 3)
            with contextlib.suppress(Exception):  # a store hiccup: the next renewal may succeed
                await self.buffer.renew_ingest(session_id, token, lease)

    async def ingest_text(
        self, principal: Principal, meta: SessionMeta, text: str, dedupe: Dedupe, source: dict[str, Any]
    ) -> IngestResult:
        """Classify one utterance through CORE and store it as a block, exactly once."""
        refused = await self._permitted(principal, CAN_SEND, "send input", meta, dedupe)
        if refused is not None:  # a duplicate, else FORBIDDEN or SEQ_GAP was raised
            return refused
        if (duplicate := await self._check_age(meta, dedupe)) is not None:
            return duplicate
        started = time.perf_counter()
        text = text.strip()
        if not text:
            return await self._refused(meta, dedupe, InvalidInput("text is empty", field="text"))
        if len(text) > self.settings.limits.max_text_chars:
            limit = self.settings.limits.max_text_chars
            return await self._refused(
                meta, dedupe, InvalidInput(f"text exceeds {limit} characters", field="text")
            )
        try:
            async with self._admitted(meta, dedupe) as (token, previous_template, position):
                block = await self._classify(meta, principal, text, previous_template or None, source)
                block["position"] = position
                result = await self._commit(meta, principal, block, dedupe, token)
        except _Duplicate as dup:
            result = self._duplicate(dedupe, dup.detail)
        self.metrics.ingest_seconds.observe(time.perf_counter() - started)
        return result

    async def _classify(
        self,
        meta: SessionMeta,
        principal: Principal,
        text: str,
        previous_template: str | None,
        source: dict[str, Any],
    ) -> dict[str, Any]:
        pinned = meta.pinned
        req = TextRequest(
            tenant_id=meta.tenant_id,
            adapter_id=pinned["adapter_id"],
            text=text,
            entities_dictionary=pinned["entities_dictionary"],
        )
        return await self._core_block(
            meta,
            principal,
            lambda previous: self.core.process_text(dataclasses.replace(req, previous_template_id=previous)),
            text=text,
            previous_template=previous_template,
            source=source,
            audio_metadata=None,
        )

    async def _core_block(
        self,
        meta: SessionMeta,
        principal: Principal,
        call_core: Callable[[str | None], Awaitable[CoreResult]],
        *,
        text: str,
        previous_template: str | None,
        source: dict[str, Any],
        audio_metadata: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Call CORE with timeout and retries; its answer, or (never losing the input) a block
        pending review that keeps the text and the audio reference."""
        attempts = 0

        async def call() -> CoreResult:
            nonlocal attempts
            attempts += 1
            with self.metrics.core_seconds.time():
                try:
                    # A backstop past the HTTP client's own bound of retry.timeout: a CORE that
                    # does not answer is then that client's timeout, which the circuit breaker
                    # counts as a failure; cut here first, the call was "abandoned" (no verdict)
                    # and a hung CORE never opened the breaker, each call taking every attempt.
                    async with asyncio.timeout(self.core_deadline):
                        return await call_core(previous_template)
                except TimeoutError as exc:
                    raise ServiceUnavailable("CORE timed out", service="core") from exc

        base = self._block_base(principal, source)
        try:
            result = await with_retries(call, self.settings.retry)
        except AstraError as exc:
            return self._pending_review(base, meta, text, previous_template, exc, attempts, audio_metadata)
        except Exception as exc:  # a bug in CORE must not lose what was said
            log.exception("session %s: CORE call failed unexpectedly; input kept for review", meta.session_id)
            error = ServiceError(repr(exc))
            return self._pending_review(base, meta, text, previous_template, error, attempts, audio_metadata)
        # What CORE says of the audio (its words, confidence, language) beside what the
        # orchestrator knows of it: where it is stored and when it was said stay ours, whatever
        # CORE's answer carries (a link to the block's audio is signed for that key).
        merged_audio = {**(result.audio_metadata or {}), **(audio_metadata or {})} or None
        return {
            **base,
            "type": "TEMPLATE",
            **self._classification(meta.pinned, result),
            "text": result.text,
            "confidence": result.confidence,
            "audio_metadata": merged_audio,
        }

    @classmethod
    def _classification(cls, pinned: dict[str, Any], result: CoreResult) -> dict[str, Any]:
        """What CORE's answer says of a block: its section, the zone that section goes to in the
        pinned skeleton, and the facts extracted."""
        return {
            "intent": result.intent,
            "label": result.label,
            "template_id": result.template_id,
            "target_placeholder": cls._zone(pinned, result.template_id),
            "structured_data": result.structured_data,
        }

    @staticmethod
    def _block_base(principal: Principal, source: dict[str, Any]) -> dict[str, Any]:
        """The fields every new block starts with, whatever CORE answers (or not)."""
        return {
            "block_id": new_id("blk"),
            "version": 1,
            "created_at": time.time(),
            "created_by": principal.sub,
            "source": source,
            "human_edited": False,
        }

    def _pending_review(
        self,
        base: dict[str, Any],
        meta: SessionMeta,
        text: str,
        previous_template: str | None,
        exc: AstraError,
        attempts: int,
        audio_metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """CORE failed for good: keep the input as a block a human must review (never drop it)."""
        return {
            **base,
            "type": "ERROR_PENDING_REVIEW",
            "intent": "PENDING_REVIEW",
            "label": "Pendiente de revisión",
            "template_id": None,
            "target_placeholder": self._zone(meta.pinned, previous_template),
            "text": text,
            "structured_data": {},
            "confidence": 0.0,
            "audio_metadata": audio_metadata,
            "error": {"code": exc.code, "message": exc.message, "attempts": attempts},
        }

    @staticmethod
    def _zone(pinned: dict[str, Any], template_id: str | None) -> str:
        placeholder_map: dict[str, str] = pinned["placeholder_map"]
        if template_id and template_id in placeholder_map:
            return placeholder_map[template_id]
        zones = set(placeholder_map.values())
        return DEFAULT_ZONE if DEFAULT_ZONE in zones or not zones else sorted(zones)[0]

    async def _commit(
        self, meta: SessionMeta, principal: Principal, block: dict[str, Any], dedupe: Dedupe, token: str
    ) -> IngestResult:
        payload = self._event("block.added", principal, {"block": block})
        commit = await self.buffer.commit_block(
            meta.session_id, block, dedupe, token, payload, position=block["position"]
        )
        match commit.outcome:
            case "ok":
                self.metrics.blocks.labels(block["type"]).inc()
                return IngestResult(False, block["block_id"], commit.event_id, block)
            case "dup":
                return self._duplicate(dedupe, commit.detail)
            case "closed":
                raise SessionClosed(
                    f"session is {commit.detail}; it takes no more input", status=commit.detail
                )
            case "gap":
                raise SequenceGap(f"expected seq {int(commit.detail) + 1}", expected=int(commit.detail) + 1)
            case _:
                raise NotFound("no such session")

    async def _refused(self, meta: SessionMeta, dedupe: Dedupe, exc: AstraError) -> IngestResult:
        """An input about to be refused for what it holds or names is judged on its number first,
        as protocol.md orders it: a resend of an input already applied is a duplicate (whatever
        it holds now), one that skipped numbers is a gap; only the expected input is refused
        with ``exc``. One read, on this error path only."""
        match dedupe.mode:
            case "seq":
                last, seq = await self.buffer.last_seq(meta.session_id, dedupe.producer), int(dedupe.token)
                if seq <= last:
                    return self._duplicate(dedupe, "")
                if seq > last + 1:
                    raise SequenceGap(f"expected seq {last + 1}", expected=last + 1) from exc
            case "key":
                existing = await self.buffer.idempotent(meta.session_id, dedupe.token)
                if existing is not None:
                    return self._duplicate(dedupe, existing)
        raise exc

    async def _permitted(
        self, principal: Principal, allowed: frozenset[str], action: str, meta: SessionMeta, dedupe: Dedupe
    ) -> IngestResult | None:
        """None when the role may do ``action``; else the input is judged on its number first, as
        every numbered input is (protocol.md): a resend of one applied before is a duplicate (the
        role changed since, with a new token), a skipped number a gap, the expected one FORBIDDEN."""
        if (refusal := principal.refusal(allowed, action)) is None:
            return None
        return await self._refused(meta, dedupe, refusal)

    def _duplicate(self, dedupe: Dedupe, detail: str) -> IngestResult:
        self.metrics.duplicates.inc()
        block_id = (detail or None) if dedupe.mode == "key" else None
        return IngestResult(True, block_id, None, None)

    # -- audio -----------------------------------------------------------------------------------

    async def ingest_audio(
        self, principal: Principal, meta: SessionMeta, dedupe: Dedupe, chunks: list[tuple[str, bytes, bool]]
    ) -> IngestResult:
        """Make audio durable (then it is acked); segmentation and CORE happen in the owner."""
        principal.require(CAN_SEND, "send input")
        if (duplicate := await self._check_age(meta, dedupe)) is not None:
            return duplicate
        started = time.perf_counter()
        holder = f"{protocol.HTTP_HOLDER_PREFIX}{principal.sub}"  # takes the recording as a console would
        result = self._audio_outcome(await self.buffer.append_audio(meta.session_id, dedupe, chunks, holder))
        if isinstance(result, AudioBacklog) and self.audio is not None:
            with contextlib.suppress(*STORE_ERRORS):  # best effort: the 429 is the answer
                await self.audio.notify(meta.session_id)  # an owner that died is replaced: it reads it
        if isinstance(result, AstraError):
            raise result
        if not result.duplicate:
            self.metrics.ingest_seconds.observe(time.perf_counter() - started)
        if self.audio is not None:  # a resend too: see ingest_audio_frames
            await self.audio.notify(meta.session_id)
        return result

    async def ingest_audio_frames(
        self,
        principal: Principal,
        meta: SessionMeta,
        producer: str,
        frames: list[tuple[int, str, bytes, bool]],
    ) -> tuple[list[IngestResult | AstraError], int]:
        """A client's numbered audio frames (seq, format, data, start) that arrived together, made
        durable in one round trip; per frame, in order, its result or the error to answer it with
        (what one ``ingest_audio`` per frame would give, but never AUDIO_BACKLOG: the caller
        holds the client back instead); and the session's audio backlog in bytes after them
        (``SessionBuffer.audio_backlog``; 0 when none was stored)."""
        refusal: AstraError | None = principal.refusal(CAN_SEND, "send input")
        refusal = refusal or await self._age_refusal(meta)
        if refusal is not None:  # none is stored, but each frame is judged on its seq first
            last = await self.buffer.last_seq(meta.session_id, producer)
            verdicts = seq_verdicts((seq for seq, *_ in frames), last, refusal)
            if isinstance(refusal, SessionTooLong):
                self.metrics.limit_refusals.labels("max_session_seconds").inc(verdicts.count(refusal))
            return [v if isinstance(v, AstraError) else self._audio_outcome(v) for v in verdicts], 0
        started = time.perf_counter()
        before, checks, entries, backlog = await self.buffer.append_audio_frames(
            meta.session_id, producer, frames
        )
        results = [self._audio_outcome(check) for check in checks]
        if entries:
            self.metrics.ingest_seconds.observe(time.perf_counter() - started, len(entries))
            if self.audio is not None:
                await self.audio.notify(meta.session_id, (before, entries))
        elif self.audio is not None and _DUPLICATE in results:
            # Frames stored before, sent again: the try that stored them may have failed after
            # storing, in the notify above (Redis gone a moment as it took the lease), and been
            # retried; an owner must still hear of them, or the last words of a recording would
            # wait for the next audio, a reconnect or finalize.
            await self.audio.notify(meta.session_id)
        return results, backlog

    def _audio_outcome(self, check: IngestCheck) -> IngestResult | AstraError:
        match check.outcome:
            case "ok":
                return _STORED
            case "dup":
                self.metrics.duplicates.inc()
                return _DUPLICATE
            case "gap":
                return SequenceGap(f"expected seq {int(check.detail) + 1}", expected=int(check.detail) + 1)
            case "closed":
                return SessionClosed(
                    f"session is {check.detail}; it takes no more input", status=check.detail
                )
            case "backlog":
                self.metrics.limit_refusals.labels("max_audio_backlog").inc()
                return AudioBacklog(
                    "the session holds more audio not yet processed than max_audio_backlog allows "
                    "(the speech service is behind or down); nothing was stored: send it again later",
                    limit="max_audio_backlog",
                    backlog_seconds=round(int(check.detail) / PCM_BYTES_PER_SECOND, 1),
                )
            case "recording":
                return RecordingElsewhere(
                    "another console is recording this session; stop one of them (this audio was not stored)",
                    client_id=check.detail,
                )
            case _:
                return NotFound("no such session")

    async def record_utterance(
        self, session_id: str, utt: Utterance, owner: str = ""
    ) -> dict[str, Any] | None:
        """An utterance was cut: store its audio (evidence), reserve its place, mark it pending
        (``owner``: only while that audio owner holds the session's lease, else LeaseLost)."""
        tenant_id = await self.buffer.tenant_of(session_id)
        if tenant_id is None:
            return None
        uid = utterance_id(utt.start)
        key = _utterance_audio_key(tenant_id, session_id, uid, utt.end)
        await self.store.put_bytes(key, wav_bytes(utt.pcm), "audio/wav")
        record = {
            "utterance_id": uid,
            "position": await self.buffer.reserve_position(session_id),
            "start_sample": utt.start,
            "end_sample": utt.end,
            "time_start": round(utt.start / SAMPLE_RATE, 3),
            "time_end": round(utt.end / SAMPLE_RATE, 3),
            "audio_ref": key,
            "forced": utt.forced,
            "continues": utt.continues,
        }
        payload = self._event(
            "utterance.detected",
            _SYSTEM,
            {k: v for k, v in record.items() if k not in ("forced", "continues")},
        )
        if not await self.buffer.record_utterance(
            session_id, uid, record, utt.end, payload, forced=utt.forced, carry=utt.carry, owner=owner
        ):
            return None
        return record

    async def transcribe_utterance(
        self,
        session_id: str,
        record: dict[str, Any],
        pcm: bytes | None,
        *,
        after: asyncio.Future[str | None] | None = None,
        continues: bool = False,
    ) -> str | None:
        """CORE on one utterance; the block lands at the utterance's reserved position. Returns
        the template of the block stored (None if none was).

        ``after``: the transcription of the utterance cut right before this one, whose result is
        its block's template. Utterances are transcribed together, but each is classified in the
        section of the one before it: CORE is called at once with the section known then (speech
        recognition, the long part, overlaps), and once ``after`` is done, if the section of the
        speech before (as stored then: a stenographer may have moved it) is another, the words
        are classified again with it (text only) before the block is stored.
        So blocks are stored in audio order, each classified as if the session had been heard
        one utterance at a time. ``continues``: that utterance was cut in the middle of speech (at
        the segmenter's maximum length, or where its audio stopped), and this one goes on with
        it (CORE keeps it in the same section unless it names another)."""
        meta = await self.buffer.meta(session_id)
        if meta is None:
            return None
        gone: AstraError | None = None
        if pcm is None:  # resumed after a takeover: the audio is in the object store
            # Removed or damaged behind our back: a human must review the gap; every later try
            # would fail the same way, and finalize would wait for it forever.
            try:
                pcm = await self._stored_pcm(record["audio_ref"])
            except (NotFound, InvalidInput) as exc:
                gone = exc
        audio_metadata = {
            "time_start": record["time_start"],
            "time_end": record["time_end"],
            "audio_ref": record["audio_ref"],
            "utterance_id": record["utterance_id"],
        }
        if continues:  # the acta joins a speech cut in two where it needs to
            audio_metadata["continues_previous"] = True
        req = AudioRequest(
            tenant_id=meta.tenant_id,
            adapter_id=meta.pinned["adapter_id"],
            pcm16=pcm or b"",
            entities_dictionary=meta.pinned["entities_dictionary"],
            previous_template_id=None,
        )

        async def call_core(previous: str | None) -> CoreResult:
            return await self.core.process_audio(
                dataclasses.replace(req, previous_template_id=previous, continues_previous=continues)
            )

        previous_template = await self.buffer.last_template(session_id)
        source = {"kind": "audio", "utterance_id": record["utterance_id"]}
        if gone is not None:  # CORE is not called (nor timed as a CORE call): 0 attempts
            base = self._block_base(_SYSTEM, source)
            block = self._pending_review(base, meta, "", previous_template, gone, 0, audio_metadata)
        else:
            block = await self._core_block(
                meta,
                _SYSTEM,
                call_core,
                text="",
                previous_template=previous_template,
                source=source,
                audio_metadata=audio_metadata,
            )
        if after is not None or continues:
            before = None
            if after is not None:
                await asyncio.wait({after})
                before = None if after.cancelled() or after.exception() is not None else after.result()
            # The section of the speech before, as stored now: a stenographer may have moved it
            # while this utterance was with CORE, and this one follows it there. A piece that
            # goes on with a speech after a takeover has nothing before it in this owner: the
            # piece before it was stored by the owner that died.
            said_before = await self.buffer.section_of_speech_before(session_id, record["position"])
            in_context = said_before or before or await self.buffer.last_template(session_id)
            if block["type"] == "TEMPLATE" and in_context != previous_template:
                block = await self._classified_again(meta, block, in_context, continues)
            elif block["type"] == "ERROR_PENDING_REVIEW":
                # no section of its own: the reviewer finds it where the speech before it is
                block["target_placeholder"] = self._zone(meta.pinned, in_context)
        if block["type"] == "TEMPLATE" and not block["text"].strip():
            await self._retire_silent(meta, record)
            return None
        if continues and block["type"] == "TEMPLATE":
            block = await self._with_the_reading(meta, block, record["position"])
        block["position"] = record["position"]
        payload = self._event("block.added", _SYSTEM, {"block": block})
        commit = await self.buffer.commit_block(
            session_id,
            block,
            Dedupe.for_utterance(record["utterance_id"]),
            "",
            payload,
            position=record["position"],
            utterance_id=record["utterance_id"],
        )
        if commit.outcome in ("closed", "missing"):  # the utterance stays pending, never dropped
            log.error(
                "session %s: the block of utterance %s was refused (%s %s)",
                session_id,
                record["utterance_id"],
                commit.outcome,
                commit.detail,
            )
        elif commit.outcome == "ok":  # not "dup": another owner's answer landed first
            self.metrics.blocks.labels(block["type"]).inc()
        return block["template_id"] if commit.outcome in ("ok", "dup") else None

    async def _with_the_reading(
        self, meta: SessionMeta, block: dict[str, Any], position: float
    ) -> dict[str, Any]:
        """A piece of a speech cut at the segmenter's maximum length (15 s), with ``reading``:
        CORE's classification of the whole reading so far, the words of the pieces before it
        and its own as one text. Each piece is classified on its own words, so the facts of a
        reading that spans a cut were split: a roll call read for 40 s listed in its table only
        the members named before the first cut, a ponente's name cut in two made two ponentes,
        a nominal vote lost the member whose "sí" came after the cut, an opening lost who
        presided. BUILDER writes such a run of pieces as one block with the reading's facts when
        nobody has changed them since (``docx_builder._readings_joined``).

        Only when the piece before it (stored first: blocks are stored in audio order) is machine
        output nobody edited, of the same section once the piece is read with it, and the reading
        as a whole stays in it. A piece whose words name another section is classified again with
        the words of the speech before it (CORE's ``continued_text``): the opening's "…sírvase
        llamar a lista" stays in the opening, while a point announced ("…Siguiente punto,
        proposiciones y varios.") stands alone. A CORE that fails here leaves the piece as it
        was."""
        before = await self.buffer.block_before(meta.session_id, position)
        if (
            before is None
            or (before.get("source") or {}).get("kind") != "audio"  # not a text typed meanwhile
            # the piece it goes on from, not one said earlier (that one was silent, or is lost)
            or (before.get("audio_metadata") or {}).get("time_end")
            != (block.get("audio_metadata") or {}).get("time_start")
            or before.get("type") != "TEMPLATE"
            or before.get("deleted")
            or before.get("human_edited")
        ):
            return block
        reading = before.get("reading")
        continued = (before.get("audio_metadata") or {}).get("continues_previous") is True
        if continued and isinstance(reading, dict) and isinstance(reading.get("text"), str):
            head, so_far = reading.get("head"), reading["text"]
        else:
            head, so_far = before["block_id"], before["text"]
        if len(so_far.split()) > READING_MAX_WORDS:
            return block  # a long speech, not a reading whose facts a cut would split
        if before.get("template_id") != block.get("template_id"):
            # Words that name another section ("…sírvase llamar a lista"), read with the speech
            # they end: they stay in it unless they announce a point of their own.
            section = before.get("template_id")
            again = await self._classified_again(meta, block, section, True, continued=so_far)
            if again.get("template_id") != section:
                return block
            block = again
        said = f"{so_far} {block['text']}"
        result = await self._text_once(meta, said, block.get("template_id"), True, "a reading as a whole")
        if result is None:
            return block
        if result.template_id != block.get("template_id"):
            return block  # read whole, it is something else: the pieces stand as they are
        whole = {"head": head, "text": said, "structured_data": result.structured_data or {}}
        return {**block, "reading": whole}

    async def _classified_again(
        self,
        meta: SessionMeta,
        block: dict[str, Any],
        previous: str | None,
        continues: bool,
        *,
        continued: str | None = None,
    ) -> dict[str, Any]:
        """``block`` (recognized speech, classified) classified again in the section of the block
        said before it (see :meth:`transcribe_utterance`): CORE on its words, with ``continued``
        (the words of the speech they go on with), once (if that fails, the first classification
        stands: the words are kept either way)."""
        result = await self._text_once(
            meta, block["text"], previous, continues, "an utterance again", continued=continued
        )
        if result is None:
            return block
        recognized = (block.get("audio_metadata") or {}).get("asr_confidence")
        confidence = result.confidence
        if isinstance(recognized, int | float) and not isinstance(recognized, bool):
            confidence = round(min(confidence, recognized), 4)
        return {**block, **self._classification(meta.pinned, result), "confidence": confidence}

    async def _text_once(
        self,
        meta: SessionMeta,
        text: str,
        previous: str | None,
        continues: bool,
        what: str,
        *,
        continued: str | None = None,
    ) -> CoreResult | None:
        """CORE's classification of words already recognized, asked once and timed like every
        CORE call; None if it fails (the caller keeps what it had: the words are kept either way)."""
        pinned = meta.pinned
        req = TextRequest(
            tenant_id=meta.tenant_id,
            adapter_id=pinned["adapter_id"],
            text=text,
            entities_dictionary=pinned["entities_dictionary"],
            previous_template_id=previous,
            continues_previous=continues,
            continued_text=continued,
        )
        try:
            with self.metrics.core_seconds.time():
                async with asyncio.timeout(self.core_deadline):
                    return await self.core.process_text(req)
        except Exception as exc:
            log.warning("session %s: CORE could not classify %s (%r)", meta.session_id, what, exc)
            return None

    async def utterance_audio(self, principal: Principal, meta: SessionMeta, uid: str) -> str:
        """The stored audio of one of the session's utterances (its object key), whatever became
        of it: above all one discarded because the recognizer heard no words in it, which has no
        block to play it from. NotFound, alike for a malformed id and for audio not stored."""
        principal.require(CAN_READ, "listen to the session's audio")
        if _UTTERANCE_ID.fullmatch(uid) is None:
            raise NotFound("no such utterance")
        # (recorded by an older version: no audio_ref kept, its WAV named by its start alone)
        key = await self.buffer.utterance_audio_ref(meta.session_id, uid)
        key = key or _utterance_audio_key(meta.tenant_id, meta.session_id, uid)
        if not await self.store.exists(key):
            raise NotFound("no such utterance")
        return key

    def block_audio(self, meta: SessionMeta, block: dict[str, Any] | None) -> str:
        """The object key of a block's utterance audio, for a link to play it; NotFound when it
        has none, or when its key is not one of this session's utterance WAVs (a block stored by
        an older version from a CORE answer that named another key)."""
        audio_ref = ((block or {}).get("audio_metadata") or {}).get("audio_ref")
        folder = session_key(meta.tenant_id, meta.session_id, "audio") + "/"
        if not isinstance(audio_ref, str) or not audio_ref.startswith(folder):
            raise NotFound("this block has no audio")
        name = audio_ref.removeprefix(folder)
        if not name.endswith(".wav") or "/" in name:
            raise NotFound("this block has no audio")
        return audio_ref

    async def _heard_by_hand(self, principal: Principal, meta: SessionMeta, uid: str) -> dict[str, Any]:
        """The audio_metadata of a block a person writes for one of the session's utterances (one
        the recognizer heard no words in): where its audio is and when it was said, so the block
        can be played back like a transcribed one and the console knows the utterance is written."""
        # the object store away for a moment: tried again here, not answered to the stenographer
        retry = self.settings.retry
        audio_ref = await with_retries(lambda: self.utterance_audio(principal, meta, uid), retry)
        pcm = await with_retries(lambda: self._stored_pcm(audio_ref), retry)
        start = int(uid.removeprefix("utt_"))
        return {
            "utterance_id": uid,
            "audio_ref": audio_ref,
            "time_start": round(start / SAMPLE_RATE, 3),
            "time_end": round((start + len(pcm) // 2) / SAMPLE_RATE, 3),
        }

    async def _stored_pcm(self, audio_ref: str) -> bytes:
        """The PCM16 of an utterance's stored WAV; AUDIO_MISSING (the store has it no more, or will
        not let us read it) or AUDIO_UNREADABLE (not a WAV any more) otherwise."""
        try:
            return pcm16_of_wav(await self.store.get_bytes(audio_ref))
        except NotFound as exc:
            raise NotFound(
                f"the utterance's stored audio is missing ({exc.message})", code="AUDIO_MISSING"
            ) from exc
        except (wave.Error, EOFError) as exc:
            raise InvalidInput(
                f"the utterance's stored audio is unreadable: {exc}", code="AUDIO_UNREADABLE"
            ) from exc

    async def _retire_silent(self, meta: SessionMeta, record: dict[str, Any]) -> None:
        """Whisper heard no words (noise the VAD let through): no block, but the log says so and
        keeps the audio reference, so the audit can still point to it."""
        payload = self._event("utterance.discarded", _SYSTEM, {**record, "reason": "no speech recognized"})
        await self.buffer.discard_utterance(meta.session_id, record["utterance_id"], payload)

    async def audio_rejected(self, session_id: str, entry_id: str, reason: str) -> None:
        """A WebM/Ogg stream could not be decoded: say so in the log (the client can resend it)."""
        self.metrics.errors.labels("UNDECODABLE_AUDIO").inc()
        payload = self._event("audio.rejected", _SYSTEM, {"entry_id": entry_id, "reason": reason})
        await self.buffer.emit(session_id, payload)

    async def reprocess(self, principal: Principal, meta: SessionMeta, block_id: str) -> dict[str, Any]:
        """Run CORE again on a block pending review (its stored audio, or its kept text)."""
        principal.require(CAN_UPLOAD, "re-process blocks")
        block = await self._current_block(meta, block_id)  # a deleted one stays deleted
        if block.get("type") != "ERROR_PENDING_REVIEW":
            raise InvalidInput("only blocks pending review can be re-processed", code="NOT_PENDING")
        audio_ref = (block.get("audio_metadata") or {}).get("audio_ref")
        previous = None
        if audio_ref:
            pcm = await self._stored_pcm(audio_ref)
            req = AudioRequest(
                meta.tenant_id, meta.pinned["adapter_id"], pcm, meta.pinned["entities_dictionary"]
            )

            def call(prev: str | None) -> Any:
                return self.core.process_audio(dataclasses.replace(req, previous_template_id=prev))
        else:
            text_req = TextRequest(
                meta.tenant_id, meta.pinned["adapter_id"], block["text"], meta.pinned["entities_dictionary"]
            )

            def call(prev: str | None) -> Any:
                return self.core.process_text(dataclasses.replace(text_req, previous_template_id=prev))

        fresh = await self._core_block(
            meta,
            principal,
            call,
            text=block["text"],
            previous_template=previous,
            source=block.get("source", {}),
            audio_metadata=block.get("audio_metadata"),
        )
        if fresh["type"] == "ERROR_PENDING_REVIEW":
            raise ServiceUnavailable(
                "CORE failed again; the block stays pending review", cause=fresh["error"]
            )
        fresh.update(
            block_id=block_id, version=int(block.get("version", 1)) + 1, position=block.get("position")
        )
        if block.get("human_edited"):
            fresh = self._placed_by_hand(block, fresh)
        replaced = block
        for _ in range(PLACEMENT_ATTEMPTS):
            payload = self._event(
                "block.updated",
                principal,
                {
                    "block": fresh,
                    "reason": "reprocessed",
                    "base_version": block.get("version", 1),
                    "before_hash": _block_hash(replaced),
                    "after_hash": _block_hash(fresh),
                },
            )
            applied = await self.buffer.replace_block(
                meta.session_id, block_id, int(block.get("version", 1)), fresh, payload
            )
            if applied >= 0:
                break
            # Renumbered while CORE worked: the new version goes where the block is now.
            now_block = await self.buffer.block(meta.session_id, block_id)
            replaced = now_block or replaced
            fresh["position"] = (now_block or {}).get("position")
        else:
            raise self._contended()
        if not applied:
            now = await self.buffer.meta(meta.session_id)
            if now is None or not now.takes_corrections:
                raise SessionClosed("the session is closed; the block was not re-processed")
            # A person changed the block meanwhile: the human wins. The machine's late answer is
            # kept in the log (for the audit and LEARN), not applied.
            late = self._event("core.answer_discarded", principal, {"block_id": block_id, "answer": fresh})
            await self.buffer.emit(meta.session_id, late)
            current = await self.buffer.block(meta.session_id, block_id)
            raise StaleVersion(
                "the block was changed by a person meanwhile; CORE's answer was not applied", current=current
            )
        return fresh

    # -- human corrections -----------------------------------------------------------------------

    async def edit_block(
        self,
        principal: Principal,
        meta: SessionMeta,
        dedupe: Dedupe,
        block_id: str,
        base_version: int,
        changes: dict[str, Any],
    ) -> IngestResult:
        """A person changes a block. Applied only to ``base_version`` (else STALE_VERSION with the
        current block); the first human change keeps the machine's output for LEARN."""
        refused = await self._permitted(principal, CAN_EDIT, "edit blocks", meta, dedupe)
        if refused is not None:  # a duplicate, else FORBIDDEN or SEQ_GAP was raised
            return refused
        extracted: dict[tuple[str, str | None], dict[str, Any]] = {}

        async def fields_of(text: str, template_id: str | None) -> dict[str, Any]:
            """CORE's fields of the corrected text, asked once per edit (a try again after a
            renumbering reuses them) and not at all for a resend of an edit already applied."""
            if (text, template_id) not in extracted:
                if await self._applied_before(meta, dedupe):
                    raise _Duplicate("")
                extracted[text, template_id] = await self._fields_of(meta, text, template_id)
            return dict(extracted[text, template_id])

        async def attempt() -> IngestResult:
            try:
                current, block, applied = await self._edited(meta, principal, block_id, changes, fields_of)
            except (NotFound, InvalidInput, PositionsExhausted, PlaceContended, SessionClosed) as exc:
                return await self._refused(meta, dedupe, exc)
            except _Duplicate:  # a resend of an edit applied before: the block it changed
                return self._duplicate(dedupe, block_id)
            data = {
                "block": block,
                "base_version": base_version,
                "changes": sorted(applied),
                "before_hash": _block_hash(current),
                "after_hash": _block_hash(block),
            }
            moved = "after_block_id" in applied  # a move: placed after that block, else kept in place
            placed_after: str | Literal[False] | None = applied["after_block_id"] if moved else False
            return await self._apply_change(
                meta, principal, dedupe, "edit", block, base_version, "block.updated", data, placed_after
            )

        return await self._until_placed(meta, dedupe, attempt)

    async def _until_placed(
        self, meta: SessionMeta, dedupe: Dedupe, attempt: Callable[[], Awaitable[IngestResult]]
    ) -> IngestResult:
        """Run a human change's ``attempt`` (read, prepare, apply) again while the place it read
        for its block changed before it applied (a renumbering, another block taking the spot);
        PLACE_CONTENDED after PLACEMENT_ATTEMPTS tries."""
        for _ in range(PLACEMENT_ATTEMPTS):
            try:
                return await attempt()
            except _Moved:
                continue
        return await self._refused(meta, dedupe, self._contended())

    async def _edited(
        self,
        meta: SessionMeta,
        principal: Principal,
        block_id: str,
        changes: dict[str, Any],
        fields_of: Callable[[str, str | None], Awaitable[dict[str, Any]]],
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The block now, the block as the change makes it, and the change as applied;
        ``fields_of`` gives the structured data of a corrected text."""
        current = await self._current_block(meta, block_id)
        self._check_changes(meta, changes)
        changes = dict(changes)
        moved = "after_block_id" in changes
        after_block_id = changes.pop("after_block_id", None)
        block = {**current, **changes}
        if moved:  # a move (e.g. an image to another place): a new position after that block
            if after_block_id == block_id:
                raise InvalidInput("a block cannot be moved after itself", field="after_block_id")
            try:
                block["position"] = await self._place(meta, after_block_id, moving=block_id)
            except KeyError as exc:
                raise NotFound("no such block to move after") from exc
            if after_block_id and "target_placeholder" not in changes:
                after = await self.buffer.block(meta.session_id, after_block_id)
                block["target_placeholder"] = (after or {}).get(
                    "target_placeholder", block["target_placeholder"]
                )
            changes["after_block_id"] = after_block_id
        if "template_id" in changes and "target_placeholder" not in changes:
            block["target_placeholder"] = self._zone(meta.pinned, changes["template_id"])
        if current["type"] == "ERROR_PENDING_REVIEW" and "text" in changes:
            block["type"] = "TEMPLATE"  # a person wrote what CORE could not: resolved
            block["resolved_error"] = current.get("error")
            block.pop("error", None)
        if "text" in changes and "structured_data" not in changes and block["text"] != current.get("text"):
            # The speaker the chair's grant named is not stored: BUILDER and the draft derive it
            # from the grant before the block, so it stays with the corrected words.
            block["structured_data"] = await fields_of(block["text"], block["template_id"])
        block.update(self._human_stamp(principal, current))
        return current, block, changes

    async def _applied_before(self, meta: SessionMeta, dedupe: Dedupe) -> bool:
        """Whether a change with this number or key was applied already (a resend): read before
        asking CORE anything for it. Only a shortcut: the change's own script still decides."""
        match dedupe.mode:
            case "seq":
                return int(dedupe.token) <= await self.buffer.last_seq(meta.session_id, dedupe.producer)
            case "key":
                return await self.buffer.idempotent(meta.session_id, dedupe.token) is not None
        return False

    async def _fields_of(self, meta: SessionMeta, text: str, template_id: str | None) -> dict[str, Any]:
        """The structured data of a corrected text, for the acta's templates: what CORE extracts
        from it when CORE puts it in the block's section (or both are sections of interventions,
        debate and "varios", whose fields are the same), else none (the acta then writes the
        text as corrected). The machine's data came from the old text: kept, it would print the
        speaker, time or vote the correction fixed. Bounded: an edit never waits long on CORE,
        and a CORE that fails or is slow leaves no data rather than refusing the edit."""
        pinned = meta.pinned
        req = TextRequest(
            meta.tenant_id, pinned["adapter_id"], text, pinned["entities_dictionary"], template_id
        )
        try:
            async with asyncio.timeout(EDIT_EXTRACTION_TIMEOUT):
                result = await self.core.process_text(req)
        except Exception as exc:  # CORE down, slow or broken: the text alone still reaches the acta
            log.warning("session %s: fields of a corrected text not extracted: %r", meta.session_id, exc)
            return {}
        same = result.template_id == template_id
        both_speech = result.template_id in INTERVENTION_TEMPLATES and template_id in INTERVENTION_TEMPLATES
        return dict(result.structured_data) if same or both_speech else {}

    async def delete_block(
        self, principal: Principal, meta: SessionMeta, dedupe: Dedupe, block_id: str, base_version: int
    ) -> IngestResult:
        """A person removes a block: a tombstone (kept, with who and when) that the acta skips."""
        refused = await self._permitted(principal, CAN_EDIT, "delete blocks", meta, dedupe)
        if refused is not None:  # a duplicate, else FORBIDDEN or SEQ_GAP was raised
            return refused

        async def attempt() -> IngestResult:
            try:
                current = await self._current_block(meta, block_id)
            except NotFound as exc:
                return await self._refused(meta, dedupe, exc)
            block = {**current, "deleted": True, **self._human_stamp(principal, current)}
            data = {
                "block_id": block_id,
                "base_version": base_version,
                "before_hash": _block_hash(current),
                "after_hash": None,
                "version": block["version"],
            }
            return await self._apply_change(
                meta, principal, dedupe, "delete", block, base_version, "block.deleted", data
            )

        return await self._until_placed(meta, dedupe, attempt)

    async def insert_block(
        self,
        principal: Principal,
        meta: SessionMeta,
        dedupe: Dedupe,
        after_block_id: str | None,
        fields: dict[str, Any],
    ) -> IngestResult:
        """A person adds a block right after another one (or first)."""
        refused = await self._permitted(principal, CAN_EDIT, "insert blocks", meta, dedupe)
        if refused is not None:  # a duplicate, else FORBIDDEN or SEQ_GAP was raised
            return refused
        try:
            self._check_changes(meta, fields, inserting=True)
        except InvalidInput as exc:
            return await self._refused(meta, dedupe, exc)
        heard: dict[str, Any] | None = None
        if (uid := fields.get("utterance_id")) is not None:
            try:
                heard = await self._heard_by_hand(principal, meta, uid)
            except (NotFound, InvalidInput) as exc:  # not this session's, or its audio is gone
                return await self._refused(meta, dedupe, InvalidInput(exc.message, field="utterance_id"))
            except ServiceUnavailable as exc:  # still away after the tries: a resend is a duplicate
                return await self._refused(meta, dedupe, exc)
        after = await self.buffer.block(meta.session_id, after_block_id) if after_block_id else None
        template_id = fields.get("template_id")
        zone = (
            fields.get("target_placeholder")
            or (
                self._zone(meta.pinned, template_id)
                if template_id
                else (after or {}).get("target_placeholder")
            )
            or self._zone(meta.pinned, None)  # a zone of this skeleton, not a fixed name
        )
        now = time.time()
        block = {
            "block_id": new_id("blk"),
            "type": "TEMPLATE",
            "intent": "HUMAN",
            "label": fields.get("label") or "Texto",
            "template_id": template_id,
            "target_placeholder": zone,
            "text": fields["text"].strip(),
            "structured_data": fields.get("structured_data") or {},
            "confidence": 1.0,
            "audio_metadata": heard,
            "version": 1,
            "created_at": now,
            "created_by": principal.sub,
            "source": {"kind": "human", **({"utterance_id": uid} if heard else {})},
            "human_edited": True,
            "edited_by": principal.sub,
            "edited_at": now,
            "position": 0.0,
        }
        data = {
            "block": block,
            "after_block_id": after_block_id,
            "before_hash": None,
            "after_hash": None,
        }

        async def attempt() -> IngestResult:
            try:
                block["position"] = await self._place(meta, after_block_id)
            except KeyError:
                return await self._refused(meta, dedupe, NotFound("no such block to insert after"))
            except (PositionsExhausted, PlaceContended, SessionClosed) as exc:
                return await self._refused(meta, dedupe, exc)
            data["after_hash"] = _block_hash(block)
            return await self._apply_change(
                meta, principal, dedupe, "insert", block, 0, "block.inserted", data, after_block_id
            )

        return await self._until_placed(meta, dedupe, attempt)

    async def _place(
        self, meta: SessionMeta, after_block_id: str | None, *, moving: str | None = None
    ) -> float:
        """A position right after ``after_block_id`` (None: the start), ``moving`` aside. When
        the gap there is used up, the blocks between the same two whole positions are renumbered
        first (spread evenly; every client is told by a ``block.updated`` per block)."""
        renumbered = False
        for _ in range(PLACEMENT_ATTEMPTS):
            try:
                return await self.buffer.position_after(meta.session_id, after_block_id, moving=moving)
            except NoRoom as full:
                # Full again after a renumbering (or nothing there to spread): no room at all.
                outcome = (
                    "exhausted"
                    if renumbered
                    else await self.buffer.renumber(meta.session_id, full.unit, self._renumbered)
                )
                match outcome:
                    case "ok":
                        renumbered = True
                        self.metrics.renumbers.inc()
                    case "exhausted" | "empty":
                        raise PositionsExhausted(
                            "no position is left at this place in the acta", unit=full.unit
                        ) from full
                    case "closed":
                        raise SessionClosed("the session is closed; it takes no more changes") from full
                    case "changed":
                        pass  # a change landed there meanwhile: look again
        raise self._contended()

    @staticmethod
    def _renumbered(block: dict[str, Any]) -> bytes:
        return Orchestrator._event("block.updated", _SYSTEM, {"block": block, "reason": "renumbered"})

    @staticmethod
    def _contended() -> PlaceContended:
        return PlaceContended(
            "the place of the block kept changing under other changes; send the change again",
            attempts=PLACEMENT_ATTEMPTS,
        )

    async def _current_block(self, meta: SessionMeta, block_id: str) -> dict[str, Any]:
        block = await self.buffer.block(meta.session_id, block_id)
        if block is None or block.get("deleted"):
            raise NotFound("no such block")
        return block

    def _check_changes(self, meta: SessionMeta, changes: dict[str, Any], *, inserting: bool = False) -> None:
        placeholder_map: dict[str, str] = meta.pinned["placeholder_map"]
        zones = set(placeholder_map.values())
        if "template_id" in changes and changes["template_id"] not in placeholder_map:
            raise InvalidInput("unknown template_id", field="template_id", accepted=sorted(placeholder_map))
        if "target_placeholder" in changes and changes["target_placeholder"] not in zones:
            raise InvalidInput("unknown zone", field="target_placeholder", accepted=sorted(zones))
        if "text" in changes and not str(changes["text"]).strip():
            raise InvalidInput(
                "text is empty" if inserting else "text is empty; delete the block instead", field="text"
            )

    @staticmethod
    def _placed_by_hand(pending: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
        """CORE's new answer for a block pending review that a person changed while it waited
        (its section, label or facts; its text unchanged, or it would no longer be pending): the
        words are the machine's, asked for; what the person changed stays theirs, and so does
        the record of their edit. ``machine`` is now this answer, what LEARN compares with."""
        before = pending.get("machine") or {}
        placed: dict[str, Any] = {
            key: pending.get(key)
            for key in _MACHINE_FIELDS
            if key != "text" and key in pending and pending.get(key) != before.get(key)
        }
        said = {k: fresh.get(k) for k in _MACHINE_FIELDS}
        stamp: dict[str, Any] = {k: pending[k] for k in ("edited_by", "edited_at") if k in pending}
        return {**fresh, **placed, **stamp, "human_edited": True, "machine": said}

    @staticmethod
    def _human_stamp(principal: Principal, current: dict[str, Any]) -> dict[str, Any]:
        stamp: dict[str, Any] = {
            "version": int(current.get("version", 1)) + 1,
            "human_edited": True,
            "edited_by": principal.sub,
            "edited_at": time.time(),
        }
        if not current.get("human_edited"):  # what the machine said, kept once for LEARN and audit
            stamp["machine"] = {k: current.get(k) for k in _MACHINE_FIELDS}
        return stamp

    async def _apply_change(
        self,
        meta: SessionMeta,
        principal: Principal,
        dedupe: Dedupe,
        op: Literal["edit", "delete", "insert"],
        block: dict[str, Any],
        base_version: int,
        kind: str,
        data: dict[str, Any],
        placed_after: str | Literal[False] | None = False,
    ) -> IngestResult:
        payload = self._event(kind, principal, data)
        outcome, raw = await self.buffer.change_block(
            meta.session_id, dedupe, op, block, base_version, payload, placed_after=placed_after
        )
        detail = raw.decode() if isinstance(raw, bytes) and outcome not in ("stale", "heard") else raw
        match outcome:
            case "ok":
                return IngestResult(False, block["block_id"], int(detail), block)
            case "dup":  # under a key, the script answers the block the change was applied to
                return self._duplicate(dedupe, detail if isinstance(detail, str) else "")
            case "stale":
                current = unpack(detail) if isinstance(detail, bytes) else None
                raise StaleVersion(
                    "the block changed since your version; rebase on the current one", current=current
                )
            case "heard" if isinstance(raw, bytes):
                holder = unpack(raw)
                raise UtteranceWritten(
                    "a block already holds what was said in this utterance; add to that block instead",
                    field="utterance_id",
                    utterance_id=block["audio_metadata"]["utterance_id"],
                    block_id=holder["block_id"],
                    current=holder,
                )
            case "pending":
                raise UtterancePending(
                    "the recognizer is still transcribing this utterance; its block is on the way",
                    field="utterance_id",
                    utterance_id=block["audio_metadata"]["utterance_id"],
                )
            case "gap":
                raise SequenceGap(f"expected seq {int(detail) + 1}", expected=int(detail) + 1)
            case "closed":
                raise SessionClosed(f"session is {detail!s}; it takes no more changes", status=detail)
            case "no_block":
                raise NotFound("no such block")
            case "moved":
                raise _Moved
            case _:
                raise NotFound("no such session")

    # -- assets ----------------------------------------------------------------------------------

    async def upload_asset(
        self,
        principal: Principal,
        meta: SessionMeta,
        fileobj: BinaryIO,
        filename: str,
        *,
        zone: str | None,
        caption: str | None,
        dedupe: Dedupe,
    ) -> tuple[IngestResult, str]:
        """Store an image and add its IMAGE block; returns the result and the object's URI.

        The file is checked in a worker process (:func:`images.inspect_image`); its name is kept only as
        a label (:func:`images.safe_filename`), the object key is made of ids."""
        principal.require(CAN_UPLOAD, "upload assets")
        if (duplicate := await self._check_age(meta, dedupe)) is not None:
            return await self._uploaded_before(meta, duplicate)
        limits = self.settings.limits
        if caption is not None and len(caption) > limits.max_text_chars:
            raise InvalidInput(f"caption exceeds {limits.max_text_chars} characters", field="caption")
        filename = images.safe_filename(filename)
        info = await self._checked_image(fileobj)
        content_type, ext = info.content_type, info.ext
        pinned_zones = set(meta.pinned["placeholder_map"].values())
        if zone is not None and zone not in pinned_zones:
            raise InvalidInput(f"unknown zone {zone!r}", field="zone", zones=sorted(pinned_zones))
        asset_id = new_id("ast")
        key = session_key(meta.tenant_id, meta.session_id, "assets", asset_id + ext)
        held = kept = False
        try:
            async with self._admitted(meta, dedupe) as (token, previous_template, position):
                # counted once admitted: a resend (its Idempotency-Key) was answered above as a
                # duplicate, even with the session's images at their bound
                await self._hold_asset_bytes(meta, info.size)
                held = True
                await self.store.put_file(key, fileobj, content_type)
                block = {
                    "block_id": new_id("blk"),
                    "type": "IMAGE",
                    "intent": "IMAGE",
                    "label": "Imagen",
                    "template_id": None,
                    "target_placeholder": zone or self._zone(meta.pinned, previous_template or None),
                    "text": caption or "",
                    "structured_data": {},
                    "confidence": 1.0,
                    "audio_metadata": None,
                    "asset": {
                        "asset_id": asset_id,
                        "key": key,
                        "content_type": content_type,
                        "filename": filename,
                        "caption": caption or filename,
                        "size": info.size,
                        "sha256": info.sha256,
                        "width": info.width,
                        "height": info.height,
                    },
                    "version": 1,
                    "created_at": time.time(),
                    "created_by": principal.sub,
                    "source": {"kind": "upload"},
                    "human_edited": False,
                    "position": position,
                }
                result = await self._commit(meta, principal, block, dedupe, token)
                kept = not result.duplicate
        except _Duplicate as dup:
            return await self._uploaded_before(meta, self._duplicate(dedupe, dup.detail))
        finally:
            if held and not kept:  # failed after it was counted: its bytes are not the session's
                with contextlib.suppress(Exception):
                    await self.buffer.hold_asset_bytes(meta.session_id, -info.size)
        if result.duplicate:  # resent while the first was being stored, which committed first:
            # its answer, not this one's object (stored under this call's asset id, kept by none)
            return await self._uploaded_before(meta, result)
        return result, self.store.uri(key)

    async def _hold_asset_bytes(self, meta: SessionMeta, size: int) -> None:
        """Count an upload's bytes against the session's bound, or refuse it (LIMIT_EXCEEDED)."""
        limit = self.settings.limits.max_session_asset_bytes
        held = await self.buffer.hold_asset_bytes(meta.session_id, size)
        if held <= limit:
            return
        await self.buffer.hold_asset_bytes(meta.session_id, -size)
        self.metrics.limit_refusals.labels("max_session_asset_bytes").inc()
        raise LimitExceeded(
            f"the session's images would take {held / (1 << 20):.1f} MiB, over its "
            f"{limit / (1 << 20):.0f} MiB (ASTRA_MAX_SESSION_ASSET_BYTES)",
            limit="max_session_asset_bytes",
            max=limit,
            held=held - size,
        )

    async def _uploaded_before(self, meta: SessionMeta, duplicate: IngestResult) -> tuple[IngestResult, str]:
        """A resent upload (same ``Idempotency-Key``) answered with the block and object the
        first one stored: a client whose first answer was lost learns its asset id and URL."""
        block = await self.buffer.block(meta.session_id, duplicate.block_id) if duplicate.block_id else None
        if block is None or "asset" not in block:
            return duplicate, ""
        return replace(duplicate, block=block), self.store.uri(block["asset"]["key"])

    async def _checked_image(self, fileobj: BinaryIO) -> images.ImageInfo:
        """Read an upload (bounded) and check it in a worker process; its bytes are let go of on
        return (the image is stored from the file, left at its start)."""
        limits = self.settings.limits
        data = await asyncio.to_thread(images.read_upload, fileobj, max_bytes=limits.max_asset_bytes)
        return await with_retries(  # a worker that died is replaced: try again there
            lambda: self.workers.run(images.inspect_image, data, limits.max_image_pixels),
            self.settings.retry,
        )

    # -- finalize --------------------------------------------------------------------------------

    async def finalize(self, principal: Principal, meta: SessionMeta) -> dict[str, Any]:
        """Close the session and produce the sealed acta, once; later calls return that result."""
        principal.require(CAN_FINALIZE, "finalize sessions")
        owner = uuid.uuid4().hex
        closing = self._event("session.closing", principal, {})
        lock_ttl = self.settings.limits.finalize_lock_ttl
        while True:
            begun = await self.buffer.begin_finalize(meta.session_id, owner, lock_ttl, closing, principal.sub)
            outcome, sealed_at = begun.outcome, begun.sealed_at
            match outcome:
                case "missing":
                    raise NotFound("no such session")
                case "done":
                    return await self._stored_result(meta.session_id)
                case "discarded":
                    raise SessionClosed("the session was discarded: it has no acta", status=DISCARDED)
                case "busy":
                    # Another call is finalizing: its outcome, or (its instance died and its lock
                    # expired) None, and this call takes the work over.
                    outcome_of_other = await self._wait_for_result(meta.session_id, take_over=True)
                    if outcome_of_other is not None:
                        return outcome_of_other
                    continue
            assert sealed_at is not None
            # The session as it closed: audio stored between the caller's read and the close is
            # in the acta, and its report's timeline says so (the same for a call taking over).
            meta = await self.buffer.meta(meta.session_id) or meta
            # Finalizing: the session no longer counts against the tenant's open sessions.
            await self.buffer.release_session(meta.tenant_id, meta.session_id)
            started = time.perf_counter()
            # counted whatever ends it (Redis failing too, a cancellation) but a lost lock
            outcome_label: str | None = "failed"
            try:
                result, edited = await self._finalize_owned(meta, principal, owner, sealed_at, begun)
                outcome_label = "ok"
            except _LockLost:
                # Its renewal found the lock another's (ours lapsed: this instance stalled, or Redis
                # was away for longer than it lives): the build was stopped, not carried on to seal
                # the same acta a second time; or the outcome could not be recorded for the same
                # reason. That call's outcome (its failure too: the session is then listed for
                # correction, not sealed anew), or, once it has died too (or none took the lock
                # over), the work.
                outcome_label = None
                log.warning("session %s: the finalize lock was lost; this call stops", meta.session_id)
                outcome_of_other = await self._wait_for_result(meta.session_id, take_over=True)
                if outcome_of_other is not None:
                    return outcome_of_other
                continue
            finally:
                if outcome_label is not None:
                    self.metrics.finalize_seconds.labels(outcome_label).observe(time.perf_counter() - started)
            break
        self._export_corrections(meta, edited)
        return await self._public_result(result)

    async def _finalize_owned(
        self, meta: SessionMeta, principal: Principal, owner: str, sealed_at: float, begun: FinalizeBegun
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Build, seal and record the outcome, holding the finalize lock: the result and the blocks
        people edited; _LockLost when the lock became another's or lapsed before the outcome was
        recorded (a failure too: that call's outcome, or the next try, stands)."""
        renew = asyncio.create_task(self._keep_lock(meta.session_id, owner))
        finalized_by = begun.finalized_by or principal.sub
        build = asyncio.create_task(self._build_and_seal(meta, sealed_at, finalized_by))
        try:
            await asyncio.wait((build, renew), return_when=asyncio.FIRST_COMPLETED)
            if not build.done():  # the renewal ended: the lock is no longer ours
                await cancel_and_wait([build])
                raise _LockLost
            result, edited = build.result()
        except _LockLost:
            raise
        except _SealUnavailable as exc:
            # GUARD or the object store failed as the acta was being sealed: some of its objects
            # may be stored (locked, under Object Lock). Marked failed, the session would take
            # corrections, and the next finalize would seal a second acta under another name
            # beside them. It stays closing instead; the next call takes the work over and
            # stores the same objects under the same names.
            log.warning(
                "session %s: the acta could not be sealed (%s); the session stays closing",
                meta.session_id,
                exc.__cause__,
            )
            await self.buffer.release_finalize(meta.session_id, owner)
            raise exc.failure from exc
        except Exception as exc:
            failure = exc if isinstance(exc, AstraError) else as_unavailable(exc)
            failure = failure or AstraError(f"finalize failed: {exc!r}")
            error = failure.to_dict() | {"at": time.time()}
            recorded = await self.buffer.end_finalize(
                meta.session_id,
                owner,
                retention=self.settings.limits.session_retention,
                ok=False,
                # with its HTTP status, so a call that waited on this one is answered as it was
                value=error | {"status": failure.http_status},
                event_payload=self._event("session.finalize_failed", principal, error),
            )
            if not recorded:  # the lock lapsed: another call's outcome stands, or this one goes on
                raise _LockLost from exc
            # listed again, for a colleague to find it, correct it and finalize it (an instance
            # dying right before this leaves it unlisted: it can still be joined by its id)
            await self.buffer.readmit_session(meta.tenant_id, meta.session_id, meta.created_at)
            raise
        finally:
            # (Python 3.11 can lose a cancellation: see server.cancel) the build does not seal
            # after this call was cancelled, and no renewal outlives it
            await cancel_and_wait([task for task in (build, renew) if not task.done()])
        summary = {k: result[k] for k in ("integrity_hash", "content_hash", "chain_head", "document_key")}
        summary["download_url"] = result["download_url"]
        if self.learn is not None:
            # owed before the outcome is recorded, so that an instance dying right after it
            # still owes it (a session not finalized in the end is dropped from what is owed)
            try:
                await self.buffer.owe_learn_export(meta.session_id, LEARN_EXPORT_CLAIM)
            except Exception as exc:  # exported all the same: only a failure then is not retried
                log.warning("session %s: the LEARN export not noted as owed: %r", meta.session_id, exc)
        stored = await self.buffer.end_finalize(
            meta.session_id,
            owner,
            retention=self.settings.limits.session_retention,
            ok=True,
            value=result,
            event_payload=self._event("session.finalized", principal, summary),
        )
        if not stored:  # the lock lapsed: the same objects, sealed by whoever took it over
            raise _LockLost
        return result, edited

    # -- discard ---------------------------------------------------------------------------------

    async def discard(self, principal: Principal, meta: SessionMeta, reason: str) -> dict[str, Any]:
        """Close a session that will never have an acta (started by mistake, a rehearsal) without
        sealing one: with Object Lock a sealed acta cannot be deleted for years. Everything it
        stored stays (blocks, audio, events) and the event log says who discarded it and why. An
        admin may discard any open session (or one whose finalize failed); the recording team
        only one that holds no block and no audio yet. Discarding again returns the same."""
        principal.require(CAN_DISCARD, "discard sessions")
        reason = reason.strip()
        if not 1 <= len(reason) <= MAX_DISCARD_REASON:
            raise InvalidInput(f"reason must be 1-{MAX_DISCARD_REASON} characters", field="reason")
        discard = {"at": time.time(), "by": principal.sub, "reason": reason}
        event = self._event("session.discarded", principal, {"reason": reason})
        only_if_empty = principal.role != "admin"
        outcome, detail = await self.buffer.discard(
            meta.session_id,
            discard,
            event,
            only_if_empty=only_if_empty,
            retention=self.settings.limits.session_retention,
        )
        match outcome:
            case "missing":
                raise NotFound("no such session")
            case "closed":
                raise SessionClosed(f"the session is {detail}: it cannot be discarded", status=detail)
            case "not_empty":
                raise Forbidden("only an admin may discard a session that holds blocks or audio")
        await self.buffer.release_session(meta.tenant_id, meta.session_id)
        now = await self.buffer.meta(meta.session_id)
        if now is None or now.discarded is None:
            raise NotFound("no such session")
        return {"session_id": meta.session_id, "status": now.status, "discarded": now.discarded}

    async def preview(self, principal: Principal, meta: SessionMeta) -> bytes:
        """The acta as BUILDER writes it from the blocks stored now, marked as a draft: not sealed,
        not stored, nothing logged. Finalize seals the acta for good (under Object Lock where the
        store has it), so the people who prepare it read it first as it will be printed, the
        summed-up sections and the derived speakers, votes and attendance included, which the
        console's draft (the blocks as said) does not show.

        A preview costs what a finalize's build costs (seconds and a few hundred MB for a long
        session, in the finalize worker): on this instance one session has one build at a time
        (a caller takes the running one when it reflects the session as the caller saw it or
        later, else waits for it to end and builds again), and the instance builds
        :data:`PREVIEW_BUILDS` at a time, so previews never hold up finalize for long."""
        principal.require(CAN_FINALIZE, "preview the acta")
        if not meta.takes_corrections:
            raise SessionClosed(
                f"session is {meta.status}: the acta is sealed or being sealed; download it",
                status=meta.status,
            )
        sid = meta.session_id
        while (entry := self._previews.get(sid)) is not None:
            head, running = entry
            if head >= meta.head_event_id:
                return await asyncio.shield(running)
            with contextlib.suppress(Exception):  # its callers get its outcome; this one builds anew
                await asyncio.shield(running)
        future = asyncio.ensure_future(self._build_preview(meta))
        self._previews[sid] = (meta.head_event_id, future)

        def forget(done: asyncio.Future[bytes]) -> None:
            if (current := self._previews.get(sid)) is not None and current[1] is done:
                del self._previews[sid]
            if not done.cancelled():
                done.exception()  # retrieved: each caller gets it from its await

        future.add_done_callback(forget)
        return await asyncio.shield(future)

    async def _build_preview(self, meta: SessionMeta) -> bytes:
        async with self._preview_builds:
            return await self._build_preview_now(meta)

    async def _build_preview_now(self, meta: SessionMeta) -> bytes:
        pending = len(await self.buffer.pending_utterances(meta.session_id))
        blocks, index, _ = await self._sorted_blocks(meta.session_id)
        await give_back_heap()
        notice = (
            f"BORRADOR SIN VALIDEZ. Escrito con los {len(index.live)} bloques guardados al pedirlo; "
            "el acta es la que se sella al finalizar la sesión."
        )
        if pending:
            utterances = "intervención" if pending == 1 else "intervenciones"
            notice += f" Falta lo que se estaba transcribiendo: {pending} {utterances}."
        return (await self._build(meta, blocks, index.images, draft_notice=notice))[0]

    def _export_corrections(self, meta: SessionMeta, edited: list[bytes]) -> None:
        """Hand the human corrections (``edited``: those blocks as stored) to LEARN in the
        background (never delays the acta). The export is owed (since before the session was
        recorded as finalized) until LEARN takes it: a try that fails, or dies with its instance,
        is tried again by :meth:`retry_learn_export`."""
        if self.learn is None:
            return

        task = asyncio.create_task(self._export_learn(meta, edited))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _export_learn(self, meta: SessionMeta, edited: list[bytes] | None) -> bool:
        """One try of the LEARN export owed for a finalized session (``edited`` None: read from
        its blocks). Done, it is no longer owed and ``learn.exported`` says so. A failure that may
        pass (LEARN, the object store, Redis or a worker away) leaves it owed, tried again
        ``learn_retry`` seconds later; one that would fail the same way again (LEARN refusing the
        records, records that cannot be made) gives it up. Returns False when it is to be tried
        again (the next ones owed wait too)."""
        learn, sid = self.learn, meta.session_id
        assert learn is not None
        try:
            if edited is None:
                edited = (await self._sorted_blocks(sid))[2]
            records = await self.workers.run(corrections, edited, meta.tenant_id, sid, meta.pinned)
            where = await with_retries(
                lambda: learn.export(meta.tenant_id, sid, records), self.settings.retry
            )
        except Exception as exc:
            self.metrics.learn_export_failures.inc()
            if not _may_pass(exc):
                log.error("session %s: the corrections were not exported to LEARN, for good: %r", sid, exc)
                with contextlib.suppress(Exception):
                    await self.buffer.learn_export_done(sid)
                return True
            retry = self.settings.learn_retry
            log.warning("session %s: the LEARN export failed (%r); tried again in %g s", sid, exc, retry)
            with contextlib.suppress(Exception):  # (left as claimed, it is tried after the claim)
                await self.buffer.retry_learn_export(sid, retry)
            return False
        try:  # (not done, it is exported again once its claim lapses: at least once)
            await self.buffer.learn_export_done(sid)
            payload = self._event("learn.exported", _SYSTEM, {"records": len(records), "location": where})
            await self.buffer.emit(sid, payload)
        except Exception as exc:
            log.warning("session %s: exported to LEARN, but not noted so: %r", sid, exc)
        return True

    async def retry_learn_export(self) -> bool | None:
        """Try again the LEARN export owed whose time came first (a try that failed, or one
        whose instance died: its claim lapsed), claimed just before its try. One that no longer
        has a finalized session (expired after its retention) is dropped. None when none is
        due; else whether it is done with (see :meth:`_export_learn`)."""
        claim, owed = await self.buffer.claim_learn_exports(LEARN_EXPORT_CLAIM, 1)
        if not owed:
            return None
        meta = await self.buffer.meta(owed[0])
        if meta is None or meta.status != FINALIZED:  # (unless a finalize owed it anew meanwhile)
            await self.buffer.drop_learn_export(owed[0], claim)
            return True
        return await self._export_learn(meta, None)

    async def stop_exports(self) -> None:
        """Shutdown: stop the exports to LEARN under way (each stays owed, claimed, and another
        instance takes it over once its claim lapses) before the workers they need close."""
        await cancel_and_wait(list(self._background))

    async def retry_learn_exports_forever(self) -> None:
        """Every ``learn_retry`` seconds, the exports owed that are due, one by one, until one
        fails (LEARN is still away: the others wait for the next round rather than each cost a
        try, and a warning, now)."""
        if self.learn is None:
            return
        while True:
            await asyncio.sleep(self.settings.learn_retry)
            try:
                while await self.retry_learn_export():
                    pass
            except Exception as exc:
                log.warning("the LEARN exports owed could not be read: %r", exc)

    async def _keep_lock(self, session_id: str, owner: str) -> None:
        """Renew the finalize lock until cancelled, or until it is no longer ours (ended, or
        taken over): a cancellation Python 3.11's ``wait_for`` dropped inside redis-py would
        otherwise leave this loop running for the life of the process. A renewal that fails (Redis
        unreachable for a moment: a failover, a restart) is tried again soon, not given up: the
        lock would lapse while the build and the seal go on, and another call would take the
        finalize over and seal a second acta."""
        ttl = self.settings.limits.finalize_lock_ttl
        delay = ttl / 3
        while True:
            await asyncio.sleep(delay)
            try:
                if not await self.buffer.renew_finalize(session_id, owner, ttl):
                    return
            except Exception as exc:
                log.warning(
                    "session %s: the finalize lock could not be renewed (%r); trying again", session_id, exc
                )
                delay = ttl / 10
                continue
            delay = ttl / 3

    async def _build_and_seal(
        self, meta: SessionMeta, sealed_at: float, finalized_by: str
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Drain, build, seal: the result, and the human-edited blocks as stored (for LEARN).

        The blocks and the event log are read in pages and never decoded here: a worker process
        does that, and the CPU work of BUILDER and GUARD, so other sessions' acks do not wait."""
        sid = meta.session_id
        # Drain: inputs admitted before the session closed are stored before we read the blocks.
        deadline = time.monotonic() + self.ingest_ttl
        delay = 0.01
        while await self.buffer.drain(sid) and time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        await self.buffer.drain(sid, force=True)
        if self.audio is not None:  # every acked audio frame becomes a block before we build
            try:
                await self.audio.drain(sid, self.ingest_ttl)
            except TimeoutError as exc:
                raise ServiceUnavailable(
                    "the session's audio is still being transcribed and has not moved on "
                    f"for {self.ingest_ttl:.0f} s; call again"
                ) from exc

        blocks, index, edited = await self._sorted_blocks(sid)
        await give_back_heap()
        document, skeleton_sha256 = await self._build(meta, blocks, index.images)
        await give_back_heap()
        events = await self._all_events(sid)
        pinned = meta.pinned
        seal_request = SealRequest(
            tenant_id=meta.tenant_id,
            session_id=sid,
            document=document,
            blocks=blocks,
            events=events,
            session={
                "pinned": {k: v for k, v in pinned.items() if k != "skeleton_key"},
                "skeleton_built_sha256": skeleton_sha256,
                "metadata": meta.metadata,
                "created_at": meta.created_at,
                "created_by": meta.created_by,
                "audio_first_at": meta.audio_first_at,
                "audio_last_at": meta.audio_last_at,
                "finalized_by": finalized_by,  # this finalize's caller, kept as sealed_at is
                # this finalize's, kept in the session: a seal tried again, or by the call that
                # takes this finalize over, stores the same objects again, not a second acta
                "sealed_at": sealed_at,
            },
        )
        try:
            seal = await with_retries(lambda: self.guard.seal(seal_request), self.settings.retry)
        except WorkerTimeout:  # GUARD's hashing, before it stores anything: the finalize failed
            raise
        except ServiceUnavailable as exc:  # an outage, not the acta's content: see _SealUnavailable
            raise _SealUnavailable(
                ServiceUnavailable(
                    f"the acta could not be sealed ({exc.message}); the session stays closed with "
                    "its content as it is: call finalize again to seal it",
                    service=exc.details.get("service", "guard"),
                )
            ) from exc
        result = {
            "integrity_hash": seal.integrity_hash,
            "content_hash": seal.content_hash,
            "chain_head": seal.chain_head,
            "document_key": seal.document_key,
            "report_key": seal.report_key,
            "download_url": seal.download_url,
            "audit_report": seal.audit_report,
            "block_count": len(index.live),
            "object_versions": seal.object_versions,
        }
        return result, edited

    async def _sorted_blocks(self, sid: str) -> tuple[bytes, BlockIndex, list[bytes]]:
        """The session's blocks as stored, sorted out in a worker: the acta's (one msgpack array,
        for BUILDER and GUARD), their index, and the human-edited ones (for LEARN)."""
        raw = await self.buffer.raw_blocks(sid)
        index: BlockIndex = await with_retries(
            lambda: self.workers.run(index_blocks, raw), self.settings.retry
        )
        return index.packed(raw), index, [raw[i] for i in index.edited]

    async def _build(
        self,
        meta: SessionMeta,
        blocks: bytes,
        image_refs: list[tuple[str, str, str | None]],
        *,
        draft_notice: str | None = None,
    ) -> tuple[bytes, str]:
        """BUILDER, with retries: the document and the SHA-256 of the skeleton it was built from.
        The images are read here, and let go of before GUARD runs.

        Each picture is the bytes its upload recorded (the SHA-256 the content hash vouches for),
        or BUILD_FAILED: pictures are not locked in the object store, and one replaced there
        (anyone with s3:PutObject) was built into an acta sealed under the original's hash. The
        skeleton may be replaced there on purpose (an operator repairing a pinned skeleton that
        cannot be built from): it is built from, the audit report names its hash beside the
        pinned one, and the server logs a warning."""
        pinned = meta.pinned
        skeleton = await self.store.get_bytes(pinned["skeleton_key"])
        skeleton_sha256 = await asyncio.to_thread(lambda: hashlib.sha256(skeleton).hexdigest())
        if skeleton_sha256 != pinned.get("skeleton_sha256"):
            log.warning(
                "session %s: the pinned skeleton %s in the object store is not the one pinned "
                "(SHA-256 %s, pinned %s): built from it, and the audit report says so",
                meta.session_id,
                pinned["skeleton_key"],
                skeleton_sha256,
                pinned.get("skeleton_sha256"),
            )
        images: dict[str, bytes] = {}
        for asset_id, key, sha256 in image_refs:
            images[asset_id] = await self.store.get_bytes(key)
            await _check_stored(images[asset_id], sha256, f"the picture {asset_id} ({key})")
        request = BuildRequest(
            skeleton=skeleton,
            style_map=pinned["style_map"],
            blocks=blocks,
            images=images,
            metadata=meta.metadata,
            templates=pinned.get("templates", {}),
            mark_human_edits=bool(pinned.get("mark_human_edits", False)),
            empty_zones=pinned.get("empty_zones") or {},
            draft_notice=draft_notice,
        )
        try:
            return await with_retries(
                lambda: self.builder.build(request), self.settings.retry
            ), skeleton_sha256
        except BuildFailed:
            raise
        except AstraError as exc:
            raise BuildFailed(f"BUILDER failed: {exc.message}") from exc
        except Exception as exc:
            # The embedded BUILDER failing in a way it did not anticipate (python-docx choking on
            # the pinned skeleton, say): a failed build like any other, as a remote BUILDER's 500
            # is, not an internal error. Its traceback (a worker's comes as the cause) is logged
            # here, once; the client gets the reason.
            log.error("BUILDER failed on session %s", meta.session_id, exc_info=exc)
            reason = f"{type(exc).__name__}: {exc}"[:300]
            raise BuildFailed(f"BUILDER failed: {reason}") from exc

    async def _all_events(self, session_id: str) -> list[tuple[int, bytes]]:
        events: list[tuple[int, bytes]] = []
        page = self.settings.limits.replay_page
        while True:
            batch = await self.buffer.events_after(session_id, events[-1][0] if events else 0, page)
            events.extend(batch)
            if len(batch) < page:
                return events

    async def _stored_result(self, session_id: str) -> dict[str, Any]:
        meta = await self.buffer.meta(session_id)
        if meta is None or meta.result is None:
            raise NotFound("no such session")
        return await self._public_result(meta.result)

    async def _wait_for_result(self, session_id: str, *, take_over: bool = False) -> dict[str, Any] | None:
        """Another call is finalizing this session: wait (bounded) for its outcome. With
        ``take_over``, None as soon as that call is seen dead (its lock expired, unrenewed, with
        the session still closing): the caller may then finalize in its place."""
        deadline = time.monotonic() + self.settings.limits.finalize_wait
        delay = 0.05
        while time.monotonic() < deadline:
            meta = await self.buffer.meta(session_id)
            if meta is None:
                raise NotFound("no such session")
            if meta.status == FINALIZED and meta.result is not None:
                return await self._public_result(meta.result)
            if meta.status == FINALIZE_FAILED:  # as the call that failed was told
                raise error_from_dict(meta.error or {}, BuildFailed("finalize failed"))
            if take_over and meta.status == CLOSING and not await self.buffer.finalize_lock_held(session_id):
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        raise ServiceUnavailable("finalize is still in progress; call again")

    async def _public_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """The stored result with a fresh download link (links expire; the result does not). The
        link is asked of GUARD with retries like the seal: a transient GUARD failure after the acta
        is sealed must not turn a successful finalize into an error."""
        key = result["document_key"]
        version = (result.get("object_versions") or {}).get(key)  # the sealed one, not a later write
        url = await with_retries(lambda: self.guard.download_url(key, version), self.settings.retry)
        return {**result, "download_url": url}

    # -- events ----------------------------------------------------------------------------------

    @staticmethod
    def _event(kind: str, principal: Principal, data: dict[str, Any]) -> bytes:
        return protocol.encode_event_payload(kind, time.time(), principal.sub, data)


class _LockLost(Exception):
    """Internal: a finalize's lock became another's while it built; its build was stopped."""


class _SealUnavailable(Exception):
    """Internal: GUARD or the object store was unavailable while the acta was sealed (some of
    its objects may be stored); ``failure`` is what the caller is answered."""

    def __init__(self, failure: ServiceUnavailable) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _Duplicate(Exception):
    """Internal: the input was already stored (detail: existing block id in key mode)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _Moved(Exception):
    """Internal: the place a change read for its block changed before it applied; read again."""


_SYSTEM = Principal(tenant_id="", role="admin", sub="astra")
"""The actor of machine events (utterances cut, blocks transcribed)."""


def _may_pass(exc: Exception) -> bool:
    """Whether a failed export of corrections may succeed if tried again later: a service, the
    object store, Redis or a worker away; not a refusal (LEARN's 4xx), a job that ran out of time
    or a fault in making the records, which would fail the same way."""
    transient = (ServiceUnavailable, OSError, *STORE_ERRORS)
    return isinstance(exc, transient) and not isinstance(exc, WorkerTimeout)


def _block_hash(block: dict[str, Any]) -> str:
    """SHA-256 of a block's canonical JSON: the before/after of a change in the audit."""
    return hashlib.sha256(canonical_json(block)).hexdigest()


def pcm16_of_wav(data: bytes) -> bytes:
    import io

    with wave.open(io.BytesIO(data)) as w:
        frames: bytes = w.readframes(w.getnframes())
    return frames


def _plausible_id(session_id: str) -> bool:
    return 8 <= len(session_id) <= 64 and all(c.isalnum() or c in "_-" for c in session_id)


_UTTERANCE_ID = re.compile(r"utt_[0-9]{12,15}")
"""What :func:`utterance_id` makes (a sample index, zero-padded to 12 digits)."""


async def _check_stored(data: bytes, sha256: str | None, what: str) -> None:
    """BUILD_FAILED unless ``data`` hashes to ``sha256`` (None: nothing was recorded to check)."""
    if sha256 is None:
        return
    found = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    if found != sha256:
        raise BuildFailed(
            f"{what} in the object store is not the one recorded (SHA-256 {found}, recorded "
            f"{sha256}): it was replaced there; put the original back to finalize"
        )


def _utterance_audio_key(tenant_id: str, session_id: str, uid: str, end_sample: int | None = None) -> str:
    """Where an utterance's WAV is stored: the evidence its block (if any) points to. Named by its
    cut, start (``uid``) and end: an owner that lost its lease as it wrote and its successor may
    cut the same start differently, and the stale write, landing late, replaced the successor's
    evidence. Without ``end_sample``: the name older versions gave it (the start alone)."""
    name = uid if end_sample is None else f"{uid}-{end_sample:012d}"
    return session_key(tenant_id, session_id, "audio", f"{name}.wav")

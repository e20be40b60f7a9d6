"""CORE: turns an utterance into a classified acta fragment.

Interface :class:`Core`, with the embedded implementation (the rule-based Spanish classifier of
:mod:`server.services.classifier`) and an HTTP client for a CORE deployed as its own service.

HTTP contract (served by ``astra core``)::

    POST /v1/core/text   (application/json)
      {"tenant_id", "adapter_id", "text", "entities_dictionary": {..}, "previous_template_id": str|null,
       "continues_previous"?: bool, "continued_text"?: str}
    POST /v1/core/audio  (application/msgpack)
      {"tenant_id", "adapter_id", "pcm16": bin (16 kHz mono, one utterance), "entities_dictionary",
       "previous_template_id", "continues_previous"?}
    previous_template_id: the section of the block said right before; continues_previous: true
      when the utterance continues that block's speech without a pause (the segmenter cut a long
      stretch of speech at its maximum length), sent only when true; continued_text: with it, the
      words of that speech before this utterance (the pieces it was cut into, as one text), sent
      only when known: CORE may read the speech whole to tell words that end it while naming
      another section ("…sírvase llamar a lista") from a point announced ("Siguiente punto, …")
    200 {"text", "intent", "label", "template_id", "structured_data": {..}, "confidence",
         "audio_metadata": {..}|null}
    audio_metadata (audio): {"asr_text", "asr_confidence", "duration", "language",
         "segments": [{"start", "end", "text", "avg_logprob", "no_speech_prob"}]}  (seconds, in the utterance)
    4xx: the request is wrong (not retried); 5xx/429: transient (retried with backoff)
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Final, Protocol

import httpx
import msgpack

from ..errors import ServiceError, ServiceUnavailable
from . import classifier
from .asr import Transcriber, Transcript, build_prompt
from .http_client import request


@dataclass(frozen=True, slots=True)
class TextRequest:
    tenant_id: str
    adapter_id: str
    text: str
    entities_dictionary: dict[str, str]
    previous_template_id: str | None = None
    continues_previous: bool = False
    continued_text: str | None = None


@dataclass(frozen=True, slots=True)
class CoreResult:
    text: str
    intent: str
    label: str
    template_id: str
    structured_data: dict[str, Any]
    confidence: float
    audio_metadata: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CoreResult:
        try:
            return cls(
                text=str(data["text"]),
                intent=str(data["intent"]),
                label=str(data["label"]),
                template_id=str(data["template_id"]),
                structured_data=dict(data.get("structured_data") or {}),
                confidence=float(data.get("confidence", 0.0)),
                audio_metadata=data.get("audio_metadata"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(f"CORE answered an invalid result: {exc}", service="core") from exc


@dataclass(frozen=True, slots=True)
class AudioRequest:
    tenant_id: str
    adapter_id: str
    pcm16: bytes
    """16 kHz mono PCM16 little-endian: one utterance."""
    entities_dictionary: dict[str, str]
    previous_template_id: str | None = None
    continues_previous: bool = False


class Core(Protocol):
    async def process_text(self, req: TextRequest) -> CoreResult: ...
    async def process_audio(self, req: AudioRequest) -> CoreResult: ...


INLINE_TEXT_CHARS: Final = 2_000
"""Texts up to this long (an utterance: 2-6 ms) are classified on the event loop; longer ones (a
speech read whole, with what it continues) in a thread: 1,200 words take ~55 ms of CPU, which on
the loop would hold every session's acks."""


class EmbeddedCore:
    """The in-process CORE: rule-based classification (milliseconds; on the loop, a long text in
    a thread) and speech recognition with faster-whisper (in the transcriber's own threads)."""

    def __init__(self, transcriber: Transcriber | None = None) -> None:
        self.transcriber = transcriber

    async def process_text(self, req: TextRequest) -> CoreResult:
        if len(req.text) + len(req.continued_text or "") <= INLINE_TEXT_CHARS:
            return self.process_text_sync(req)
        return await asyncio.to_thread(self.process_text_sync, req)

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        if self.transcriber is None:
            raise ServiceError("this CORE has no speech recognizer", service="core")
        transcript = await self.transcriber.transcribe(req.pcm16, build_prompt(req.entities_dictionary))
        return self._classified(req, transcript)

    def process_audio_sync(self, req: AudioRequest) -> CoreResult:
        if self.transcriber is None:
            raise ServiceError("this CORE has no speech recognizer", service="core")
        transcript = self.transcriber.transcribe_sync(req.pcm16, build_prompt(req.entities_dictionary))
        return self._classified(req, transcript)

    def _classified(self, req: AudioRequest, transcript: Transcript) -> CoreResult:
        text = self.process_text_sync(
            TextRequest(
                req.tenant_id,
                req.adapter_id,
                transcript.text,
                req.entities_dictionary,
                req.previous_template_id,
                req.continues_previous,
            )
        )
        metadata = {
            "asr_text": transcript.text,
            "asr_confidence": transcript.confidence,
            "duration": transcript.duration,
            "language": transcript.language,
            "segments": transcript.segments,
            "dropped_segments": transcript.dropped,
        }
        return CoreResult(
            text=text.text,
            intent=text.intent,
            label=text.label,
            template_id=text.template_id,
            structured_data=text.structured_data,
            confidence=round(min(text.confidence, transcript.confidence), 4),
            audio_metadata=metadata,
        )

    def process_text_sync(self, req: TextRequest) -> CoreResult:
        c = classifier.classify(
            req.text,
            req.entities_dictionary,
            req.previous_template_id,
            continues=req.continues_previous,
            continued=req.continued_text,
        )
        return CoreResult(
            text=c.text,
            intent=c.intent,
            label=c.label,
            template_id=c.template_id,
            structured_data=c.structured_data,
            confidence=c.confidence,
        )


class CircuitOpen(ServiceUnavailable):
    """CORE failed repeatedly; calls fail fast until the cool-down ends (not worth retrying)."""

    code = "CORE_CIRCUIT_OPEN"
    retryable = False


class CircuitBreaker:
    """Consecutive transient failures open the circuit for ``cooldown`` seconds; then one trial
    call is let through (half-open): success closes it, failure opens it again. So a dead CORE
    costs each session one fast failure instead of a full retry budget per utterance."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False

    def before(self) -> None:
        if self.opened_at is None:
            return
        if time.monotonic() - self.opened_at < self.cooldown or self._trial:
            raise CircuitOpen("CORE is failing; circuit open", service="core")
        self._trial = True  # half-open: this call is the trial

    def success(self) -> None:
        self.failures, self.opened_at, self._trial = 0, None, False

    def abandon(self) -> None:
        """The call ended without a verdict (the caller cancelled it, e.g. its own timeout): if it
        was the trial, the next call may be the trial instead of the circuit staying open."""
        self._trial = False

    def failure(self) -> None:
        self.failures += 1
        self._trial = False
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class HttpCore:
    """CORE over HTTP; errors are translated so the caller's retry policy can act on them, and a
    circuit breaker stops hammering a CORE that is down."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, breaker: CircuitBreaker | None = None
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self.breaker = breaker or CircuitBreaker()

    async def _call(self, path: str, **kwargs: Any) -> CoreResult:
        self.breaker.before()
        try:
            response = await request(self._client, "POST", self._base + path, service="core", **kwargs)
        except ServiceUnavailable:
            self.breaker.failure()
            raise
        except ServiceError:
            self.breaker.success()  # CORE answered (it refused the request): it is up
            raise
        except BaseException:
            self.breaker.abandon()  # cancelled by the caller: no verdict either way
            raise
        self.breaker.success()
        return CoreResult.from_dict(response.json())

    async def process_text(self, req: TextRequest) -> CoreResult:
        try:
            return await self._call("/v1/core/text", json=_body(req))
        except ServiceError as exc:
            if not _refused_continuation(req, exc):
                raise
        if req.continued_text is not None:  # a CORE that knows continues_previous only
            try:
                return await self._call("/v1/core/text", json=_body(replace(req, continued_text=None)))
            except ServiceError as exc:
                if not _refused_continuation(req, exc):
                    raise
        return await self._call(
            "/v1/core/text", json=_body(replace(req, continues_previous=False, continued_text=None))
        )

    async def process_audio(self, req: AudioRequest) -> CoreResult:
        try:
            return await self._send_audio(req)
        except ServiceError as exc:
            if not _refused_continuation(req, exc):
                raise
        return await self._send_audio(replace(req, continues_previous=False))

    async def _send_audio(self, req: AudioRequest) -> CoreResult:
        body = msgpack.packb(_body(req), use_bin_type=True)
        return await self._call(
            "/v1/core/audio", content=body, headers={"content-type": "application/msgpack"}
        )


_REFUSED: Final = frozenset({400, 422})
"""What a CORE deployed before ``continues_previous`` (or ``continued_text``) answers a request
that carries it (its ``astra core`` refuses a field it does not know with 400)."""


def _refused_continuation(req: TextRequest | AudioRequest, exc: ServiceError) -> bool:
    """Whether CORE refused a request that said ``continues_previous``: asked again without it
    (and without ``continued_text``), the utterance is classified as before the fields existed,
    rather than left pending review (every utterance after a cut at the segmenter's maximum
    length, with an older CORE)."""
    return (
        req.continues_previous
        and not isinstance(exc, ServiceUnavailable)
        and exc.details.get("status") in _REFUSED
    )


def _body(req: TextRequest | AudioRequest) -> dict[str, Any]:
    """A request as CORE's HTTP contract has it: ``continues_previous`` only when true and
    ``continued_text`` only when given, so that a CORE deployed before the fields were added
    still takes every other request."""
    body = asdict(req)
    if not body["continues_previous"]:
        del body["continues_previous"]
    if body.get("continued_text") is None:
        body.pop("continued_text", None)
    return body

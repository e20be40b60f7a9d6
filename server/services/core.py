"""CORE: turns an utterance into a classified acta fragment.

Interface :class:`Core`, with the embedded implementation (the rule-based Spanish classifier of
:mod:`server.services.classifier`) and an HTTP client for a CORE deployed as its own service.

HTTP contract (served by ``astra core``)::

    POST /v1/core/text
      {"tenant_id", "adapter_id", "text", "entities_dictionary": {..}, "previous_template_id": str|null}
    200 {"text", "intent", "label", "template_id", "structured_data": {..}, "confidence",
         "audio_metadata": {..}|null}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import httpx

from ..errors import ServiceError
from . import classifier
from .http_client import request


@dataclass(frozen=True, slots=True)
class TextRequest:
    tenant_id: str
    adapter_id: str
    text: str
    entities_dictionary: dict[str, str]
    previous_template_id: str | None = None


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


class Core(Protocol):
    async def process_text(self, req: TextRequest) -> CoreResult: ...


class EmbeddedCore:
    """The in-process CORE: rule-based classification (microseconds; safe on the loop)."""

    async def process_text(self, req: TextRequest) -> CoreResult:
        return self.process_text_sync(req)

    def process_text_sync(self, req: TextRequest) -> CoreResult:
        c = classifier.classify(req.text, req.entities_dictionary, req.previous_template_id)
        return CoreResult(
            text=c.text,
            intent=c.intent,
            label=c.label,
            template_id=c.template_id,
            structured_data=c.structured_data,
            confidence=c.confidence,
        )


class HttpCore:
    """CORE over HTTP; errors are translated so the caller's retry policy can act on them."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/v1/core/text"

    async def process_text(self, req: TextRequest) -> CoreResult:
        response = await request(self._client, "POST", self._url, service="core", json=asdict(req))
        return CoreResult.from_dict(response.json())

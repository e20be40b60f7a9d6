"""CORE's circuit breaker (server/services/core.py) when a call ends neither in an answer nor in
a transient error: cancelled by the caller's timeout, or refused with a 4xx."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.errors import ServiceError
from server.services.core import CircuitBreaker, CircuitOpen, HttpCore, TextRequest

from .conftest import TENANT

ANSWER = {"text": "t", "intent": "DEBATE", "label": "l", "template_id": "TPL_DEBATE", "confidence": 1}
REQ = TextRequest(TENANT, "a", "hola", {})


def test_trial_call_cancelled_by_the_callers_timeout_does_not_wedge_the_circuit() -> None:
    """A hung CORE opens the circuit; the half-open trial call hangs too and the caller's own
    timeout cancels it. The next call after the cool-down must be let through as a new trial
    (and close the circuit once CORE answers), not refused with CORE_CIRCUIT_OPEN forever."""
    state = {"mode": "fail"}

    async def handler(request: httpx.Request) -> httpx.Response:
        if state["mode"] == "hang":
            await asyncio.sleep(3600)
        return httpx.Response(503) if state["mode"] == "fail" else httpx.Response(200, json=ANSWER)

    async def scenario() -> None:
        breaker = CircuitBreaker(threshold=2, cooldown=0.05)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            core = HttpCore(http, "http://core", breaker)
            for _ in range(2):
                with pytest.raises(ServiceError):
                    await core.process_text(REQ)
            assert breaker.opened_at is not None
            await asyncio.sleep(0.1)
            state["mode"] = "hang"
            with pytest.raises(TimeoutError):  # the trial, cut by the caller (the orchestrator)
                await asyncio.wait_for(core.process_text(REQ), 0.1)
            state["mode"] = "ok"
            await asyncio.sleep(0.1)  # past the cool-down
            try:
                result = await core.process_text(REQ)
            except CircuitOpen:
                pytest.fail("the cancelled trial left the circuit open for good")
            assert result.template_id == "TPL_DEBATE" and breaker.opened_at is None

    asyncio.run(scenario())


def test_a_4xx_answer_counts_as_core_being_up() -> None:
    """CORE refusing a request (4xx) answered: it is up, so the trial closes the circuit."""
    state = {"status": 503}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(state["status"], json={"error": {"code": "BAD"}})

    async def scenario() -> None:
        breaker = CircuitBreaker(threshold=1, cooldown=0.05)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            core = HttpCore(http, "http://core", breaker)
            with pytest.raises(ServiceError):
                await core.process_text(REQ)
            assert breaker.opened_at is not None
            await asyncio.sleep(0.1)
            state["status"] = 422
            with pytest.raises(ServiceError) as refused:
                await core.process_text(REQ)
            assert not isinstance(refused.value, CircuitOpen)
            assert breaker.opened_at is None  # the trial reached a live CORE
            with pytest.raises(ServiceError) as again:
                await core.process_text(REQ)
            assert not isinstance(again.value, CircuitOpen)

    asyncio.run(scenario())

"""LEARN: human corrections exported after finalize, without delaying it."""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import msgpack
import pytest
from starlette.testclient import TestClient

from server import orchestrator as orchestrator_module
from server.app import create_app
from server.errors import ServiceError, ServiceUnavailable
from server.keys import LEARN_OWED, SessionKeys
from server.services.learn import HttpLearn, correction_records
from server.settings import Retry, Settings

from .conftest import TENANT, wait_until, with_settings


def test_corrected_blocks_are_exported_as_jsonl_after_finalize(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """A block a human changed (marked as the editing flow marks it) yields one JSONL record
    pairing the machine output with the final text, the adapter, zone and audio reference; the
    export is announced by a learn.exported event."""
    token = make_token()
    auth = {"authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        sid = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth).json()[
            "session_id"
        ]
        api = f"/v1/orchestrator/session/{sid}"
        first = client.post(
            f"{api}/append", json={"text": "Tiene la palabra el concejal Pedro Gomes."}, headers=auth
        )
        client.post(f"{api}/append", json={"text": "Se levanta la sesión."}, headers=auth)
        block = first.json()["block"]
        machine = {
            k: block[k] for k in ("text", "label", "template_id", "structured_data", "target_placeholder")
        }
        edited = block | {
            "text": "Tiene la palabra el concejal Pedro Gómez.",
            "human_edited": True,
            "machine": machine,
            "edited_by": "ana",
            "edited_at": 1.0,
            "version": 2,
        }

        async def edit() -> None:
            redis = client.app.state.astra.redis  # type: ignore[attr-defined]
            await redis.hset(SessionKeys(sid).blocks, block["block_id"], msgpack.packb(edited))

        client.portal.call(edit)  # type: ignore[union-attr]
        assert client.post(f"{api}/finalize", headers=auth).status_code == 200
        deadline = time.monotonic() + 30
        exported = None
        while exported is None and time.monotonic() < deadline:
            events = client.get(f"{api}/events", headers=auth).json()["events"]
            exported = next((e for e in events if e["kind"] == "learn.exported"), None)
        assert exported is not None and exported["data"]["records"] == 1
        store = client.app.state.astra.store  # type: ignore[attr-defined]
        lines = client.portal.call(store.get_bytes, exported["data"]["location"]).splitlines()  # type: ignore[union-attr]
    record = json.loads(lines[0])
    assert len(lines) == 1 and record["adapter_id"] == "adapter_cali_v2" and record["zone"] == "ZONE_DEBATE"
    assert record["machine"]["text"] == "Tiene la palabra el concejal Pedro Gomes."
    assert (
        record["human"]["text"] == "Tiene la palabra el concejal Pedro Gómez."
        and record["edited_by"] == "ana"
    )


class DownLearn:
    """A LEARN that refuses every export until ``up`` (counting the tries per session), then
    hands it on."""

    def __init__(self, then: Any, up: bool = False, refusing: bool = False) -> None:
        self.then, self.up, self.refusing = then, up, refusing
        self.tries: collections.Counter[str] = collections.Counter()

    async def export(self, tenant_id: str, session_id: str, records: Any) -> str:
        self.tries[session_id] += 1
        if self.refusing:
            raise ServiceError("LEARN answered 422")  # as HttpLearn raises a 4xx
        if not self.up:
            raise ServiceUnavailable("LEARN is down")
        location: str = await self.then.export(tenant_id, session_id, records)
        return location


def _finalized_with_a_correction(client: TestClient, token: str) -> str:
    """A session with one block a person corrected (through the API), finalized: its id."""
    auth = {"authorization": f"Bearer {token}"}
    sid: str = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth).json()[
        "session_id"
    ]
    api = f"/v1/orchestrator/session/{sid}"
    block = client.post(f"{api}/append", json={"text": "Tiene la palabra Pedro Gomes."}, headers=auth).json()[
        "block"
    ]
    edit = {"base_version": block["version"], "changes": {"text": "Tiene la palabra Pedro Gómez."}}
    assert client.patch(f"{api}/blocks/{block['block_id']}", json=edit, headers=auth).status_code == 200
    assert client.post(f"{api}/finalize", headers=auth).status_code == 200
    return sid


def _exported(client: TestClient, token: str, sid: str) -> list[dict[str, Any]]:
    auth = {"authorization": f"Bearer {token}"}
    events = client.get(f"/v1/orchestrator/session/{sid}/events", headers=auth).json()["events"]
    return [e for e in events if e["kind"] == "learn.exported"]


def _owed(client: TestClient, sid: str) -> bool:
    redis = client.app.state.astra.redis  # type: ignore[attr-defined]
    return client.portal.call(redis.zscore, LEARN_OWED, sid) is not None  # type: ignore[union-attr]


def _none_owed(client: TestClient) -> None:
    """Forget the exports owed by earlier tests' sessions (this Redis lives for the whole run)."""
    client.portal.call(client.app.state.astra.redis.delete, LEARN_OWED)  # type: ignore[attr-defined,union-attr]


def test_an_export_learn_refused_is_tried_again_until_it_is_taken(
    settings: Settings, make_token: Callable[..., str]
) -> None:
    """LEARN down when a session is finalized: the acta is sealed all the same, the export
    stays owed and is tried again every ``learn_retry`` seconds, and once LEARN is back it takes
    the corrections (the export was tried once, and a failure lost them for good)."""
    token = make_token(role="admin")
    fast = with_settings(settings, learn_retry=0.2, retry=Retry(attempts=1, base_delay=0.01))
    with TestClient(create_app(fast)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        _none_owed(client)
        learn = orch.learn = DownLearn(orch.learn)
        sid = _finalized_with_a_correction(client, token)
        wait_until(lambda: learn.tries[sid] >= 3, 30, "the export tried again")
        assert _owed(client, sid) and not _exported(client, token, sid)
        failures = orch.metrics.registry.get_sample_value("astra_learn_export_failures_total")
        assert failures is not None and failures >= 2  # (the third try may not be counted yet)
        learn.up = True
        wait_until(lambda: _exported(client, token, sid), 30, "learn.exported")
        (exported,) = _exported(client, token, sid)
        assert exported["data"]["records"] == 1 and not _owed(client, sid)
        store = client.app.state.astra.store  # type: ignore[attr-defined]
        (line,) = client.portal.call(store.get_bytes, exported["data"]["location"]).splitlines()  # type: ignore[union-attr]
    assert json.loads(line)["human"]["text"] == "Tiene la palabra Pedro Gómez."


def test_an_export_learn_refuses_is_given_up(settings: Settings, make_token: Callable[..., str]) -> None:
    """LEARN refusing the records (a 4xx) would refuse them again: the export is given up at
    once, not tried every ``learn_retry`` for the session's retention."""
    token = make_token(role="admin")
    fast = with_settings(settings, learn_retry=0.2, retry=Retry(attempts=1, base_delay=0.01))
    with TestClient(create_app(fast)) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        _none_owed(client)
        learn = orch.learn = DownLearn(orch.learn, refusing=True)
        sid = _finalized_with_a_correction(client, token)
        wait_until(lambda: learn.tries[sid] >= 1 and not _owed(client, sid), 30, "the export given up")
        assert learn.tries[sid] == 1 and not _exported(client, token, sid)


@pytest.mark.parametrize("died", ["during the export", "before the export began"])
def test_an_export_whose_instance_died_is_taken_over_by_another(
    settings: Settings, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch, died: str
) -> None:
    """The instance that finalized a session stops while LEARN is away (its try neither done
    nor failed), or right after the session was finalized (its try not begun): once its claim
    lapses, another instance exports the corrections."""
    monkeypatch.setattr(orchestrator_module, "LEARN_EXPORT_CLAIM", 1.0)
    token = make_token(role="admin")
    hanging = asyncio.Event()  # never set: LEARN does not answer

    class HungLearn:
        async def export(self, tenant_id: str, session_id: str, records: Any) -> str:
            await hanging.wait()
            raise AssertionError("unreachable")

    with TestClient(create_app(with_settings(settings, learn_retry=0.2))) as client:
        orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
        orch.learn = HungLearn()
        if died == "before the export began":
            orch._export_corrections = lambda *args: None
        _none_owed(client)
        sid = _finalized_with_a_correction(client, token)
        wait_until(lambda: _owed(client, sid), 30, "the export owed")
    with TestClient(create_app(with_settings(settings, learn_retry=0.2))) as other:
        wait_until(lambda: _exported(other, token, sid), 30, "learn.exported by the other instance")
        assert _exported(other, token, sid)[0]["data"]["records"] == 1 and not _owed(other, sid)


def test_http_learn_posts_ndjson() -> None:
    """The LEARN client sends one JSON object per line with the session's tenant and id."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    records = correction_records(
        TENANT,
        "ses_x",
        {"adapter_id": "a"},
        [{"block_id": "b", "human_edited": True, "text": "t"}, {"block_id": "c"}],
    )

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            await HttpLearn(http, "http://learn").export(TENANT, "ses_x", records)

    anyio.run(scenario)
    body = seen[0].content.decode().splitlines()
    assert seen[0].url.path == "/v1/learn/corrections" and seen[0].headers["x-astra-session"] == "ses_x"
    assert [json.loads(line)["block_id"] for line in body] == ["b"]

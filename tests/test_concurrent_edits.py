"""Many clients correcting the same session at once, over real sockets."""

from __future__ import annotations

import random
import threading
from typing import Any

import httpx
import pytest

from .conftest import TENANT, ServerProcess
from .wsclient import Client

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

CLIENTS = 6
EDITS_EACH = 15


def apply(state: dict[str, dict[str, Any]], event: dict[str, Any]) -> None:
    """What a client's view does with an event (the console's draft model, in short)."""
    data = event["data"]
    if event["kind"] in ("block.added", "block.inserted", "block.updated"):
        state[data["block"]["block_id"]] = data["block"]
    elif event["kind"] == "block.deleted":
        state[data["block_id"]] = {**state[data["block_id"]], "deleted": True, "version": data["version"]}


def latest_version(client: Client, block_id: str) -> int:
    """The newest version of a block this client has seen in events."""
    for event in reversed(client.events):
        block = event["data"].get("block") or {}
        if block.get("block_id") == block_id:
            version: int = block["version"]
            return version
    return 1


@pytest.mark.timeout(300)
def views_agree_then_replay(
    server: ServerProcess, sid: str, clients: list[Client], final: dict[str, dict[str, Any]], head: int
) -> Client:
    """Every client's view, rebuilt from the events it received up to ``head``, equals ``final``;
    then a viewer replaying the log from event 0 (returned, still open, its events up to head)."""
    for client in clients:
        client.wait_for(lambda c=client: bool(c.events) and c.events[-1]["id"] >= head, timeout=60)
        view: dict[str, dict[str, Any]] = {}
        for event in client.events:
            apply(view, event)
        assert view == final
        client.close()
    replay = Client(server.ws_url, sid)
    replay.hello(server.token(role="viewer"), client_id="auditor", last_event_id=0)
    replay.wait_for(lambda: bool(replay.events) and replay.events[-1]["id"] >= head, timeout=60)
    return replay


def test_concurrent_edits_converge_and_the_log_replays_to_redis(spawn: Any, redis_url: str) -> None:
    """Six clients edit the same few blocks and their own blocks at once, rebasing on
    STALE_VERSION; no edit is lost or merged silently, every client's view ends equal to what
    Redis holds, and replaying the log from the start rebuilds exactly that state."""
    server: ServerProcess = spawn("serve", env={"REDIS_URL": redis_url})
    auth = {"authorization": f"Bearer {server.token()}"}
    api = f"{server.url}/v1/orchestrator/session"
    sid = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
    for n in range(CLIENTS + 3):
        httpx.post(f"{api}/{sid}/append", json={"text": f"Tiene la palabra el concejal {n}."}, headers=auth)
    block_ids = [b["block_id"] for b in httpx.get(f"{api}/{sid}/blocks", headers=auth).json()["blocks"]]
    shared, own = block_ids[:3], block_ids[3:]
    clients = [Client(server.ws_url, sid) for _ in range(CLIENTS)]
    for n, client in enumerate(clients):
        client.hello(server.token(role="stenographer", sub=f"steno{n}"), client_id=f"steno-{n}")
        client.wait_for(
            lambda c=client: any(m["type"] == "synced" for m in [c.welcome]) or len(c.events) >= 1
        )
    applied: list[list[str]] = [[] for _ in clients]
    errors: list[BaseException] = []

    def work(n: int, client: Client) -> None:
        rng = random.Random(n)
        try:
            versions: dict[str, int] = {}
            seq = 0
            for k in range(EDITS_EACH):
                block_id = rng.choice(shared) if rng.random() < 0.6 else own[n]
                text = f"Versión {k} de steno{n}."
                version = versions.get(block_id) or latest_version(client, block_id)
                while True:  # rebase until applied: never merged silently, never lost
                    seq += 1
                    seen_errors = len(client.errors)
                    edit = {"text": text}
                    client.send(
                        {
                            "type": "edit",
                            "seq": seq,
                            "block_id": block_id,
                            "base_version": version,
                            "changes": edit,
                        }
                    )
                    client.wait_for(lambda s=seq, e0=seen_errors: s in client.acks or len(client.errors) > e0)
                    if seq in client.acks:
                        versions[block_id] = version + 1  # others may move it on: then STALE
                        applied[n].append(text)
                        break
                    error = client.errors[seen_errors]
                    assert error["code"] == "STALE_VERSION" and error["seq"] == seq, error
                    version = error["details"]["current"]["version"]
                    seq -= 1  # a refused frame does not use up its seq
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert not errors, errors
    assert all(len(done) == EDITS_EACH for done in applied)

    final = {b["block_id"]: b for b in httpx.get(f"{api}/{sid}/blocks", headers=auth).json()["blocks"]}
    head = httpx.get(f"{api}/{sid}", headers=auth).json()["head_event_id"]
    edits_logged = 0
    replay = views_agree_then_replay(server, sid, clients, final, head)
    rebuilt: dict[str, dict[str, Any]] = {}
    for event in replay.events:
        apply(rebuilt, event)
        edits_logged += event["kind"] == "block.updated"
    assert rebuilt == final
    assert edits_logged == CLIENTS * EDITS_EACH
    assert [e["id"] for e in replay.events] == list(range(1, head + 1))
    for block_id in shared:  # each shared block went through one version per applied edit
        updates = [
            e
            for e in replay.events
            if e["kind"] == "block.updated" and e["data"]["block"]["block_id"] == block_id
        ]
        assert [e["data"]["base_version"] for e in updates] == list(range(1, len(updates) + 1))
    replay.close()


INSERTERS = 4
INSERTS_EACH = 40
EDITORS = 2


def order_by_log(start: list[str], events: list[dict[str, Any]]) -> list[str]:
    """The block order the log says: each insert lands right after the block it names, at the
    moment it was applied (events are in that order)."""
    order = list(start)
    for event in events:
        if event["kind"] == "block.inserted":
            after = event["data"]["after_block_id"]
            order.insert(order.index(after) + 1 if after else 0, event["data"]["block"]["block_id"])
    return order


@pytest.mark.timeout(300)
def test_concurrent_inserts_at_one_spot_never_tie_and_every_view_agrees(spawn: Any, redis_url: str) -> None:
    """Four clients insert at one spot at once, two typing paragraph after paragraph and two
    inserting again and again right after the same block (so the gap there runs out and its
    blocks are renumbered), while two others edit the inserted blocks: every insert lands where
    "right after block X" put it when it was applied, no two blocks share a position, and every
    client's view, and a replay of the log, equal what Redis holds (positions included)."""
    server: ServerProcess = spawn("serve", env={"REDIS_URL": redis_url})
    auth = {"authorization": f"Bearer {server.token()}"}
    api = f"{server.url}/v1/orchestrator/session"
    sid = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
    for text in ("Se abre la sesión.", "Se levanta la sesión."):
        httpx.post(f"{api}/{sid}/append", json={"text": text}, headers=auth)
    start = [b["block_id"] for b in httpx.get(f"{api}/{sid}/blocks", headers=auth).json()["blocks"]]
    spot = start[0]
    clients = [Client(server.ws_url, sid) for _ in range(INSERTERS + EDITORS)]
    for n, client in enumerate(clients):
        client.hello(server.token(role="stenographer", sub=f"steno{n}"), client_id=f"steno-{n}")
    errors: list[BaseException] = []
    inserted = threading.Event()

    def insert(n: int, client: Client) -> None:
        try:
            after = spot
            for k in range(INSERTS_EACH):
                seq = k + 1
                block = {"text": f"Párrafo {k} de steno{n}."}
                client.send({"type": "insert", "seq": seq, "after_block_id": after, "block": block})
                client.wait_for(lambda s=seq: s in client.acks or bool(client.errors))
                assert not client.errors, client.errors
                if n % 2 == 0:  # typing: each paragraph after the one before
                    after = client.acks[seq]["block_id"]
                if k == 4:
                    inserted.set()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def edit(n: int, client: Client) -> None:
        rng = random.Random(n)
        try:
            assert inserted.wait(60)
            seq = 0
            for k in range(15):
                client.wait_for(lambda: any(e["kind"] == "block.inserted" for e in client.events))
                ids = [e["data"]["block"]["block_id"] for e in client.events if e["kind"] == "block.inserted"]
                block_id = rng.choice(ids)
                version = latest_version(client, block_id)
                while True:  # rebase until applied
                    seq += 1
                    seen = len(client.errors)
                    changes = {"text": f"Corrección {k} de steno{n}."}
                    frame = {"type": "edit", "seq": seq, "block_id": block_id, "base_version": version}
                    client.send({**frame, "changes": changes})
                    client.wait_for(lambda s=seq, e0=seen: s in client.acks or len(client.errors) > e0)
                    if seq in client.acks:
                        break
                    error = client.errors[seen]
                    assert error["code"] == "STALE_VERSION" and error["seq"] == seq, error
                    version = error["details"]["current"]["version"]
                    seq -= 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=insert, args=(n, c)) for n, c in enumerate(clients[:INSERTERS])]
    threads += [threading.Thread(target=edit, args=(n, c)) for n, c in enumerate(clients[INSERTERS:])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert not errors, errors

    blocks = httpx.get(f"{api}/{sid}/blocks", headers=auth).json()["blocks"]
    final = {b["block_id"]: b for b in blocks}
    positions = [b["position"] for b in blocks]
    assert len(set(positions)) == len(positions) == len(start) + INSERTERS * INSERTS_EACH
    assert positions == sorted(positions)
    head = httpx.get(f"{api}/{sid}", headers=auth).json()["head_event_id"]
    replay = views_agree_then_replay(server, sid, clients, final, head)
    replay.close()
    assert [b["block_id"] for b in blocks] == order_by_log(start, replay.events)
    renumbered = [e for e in replay.events if e["data"].get("reason") == "renumbered"]
    assert renumbered, "the gap after the spot was never used up: the test did not renumber"


ROUNDS = 8


def test_two_stenographers_writing_the_same_audio_at_once_make_one_block(spawn: Any, redis_url: str) -> None:
    """Audio heard with no words, written by several stenographers at the same moment (two
    WebSocket clients and an HTTP client released together, for each of several utterances):
    exactly one block per utterance; the others get UTTERANCE_WRITTEN naming it (field
    utterance_id, the block in details), and their seq is not used up. Once that block is deleted
    the utterance is free: a refused stenographer's insert, sent again, is stored, and the next
    writer is refused with the new block's id."""
    from server.audio_pipeline import SAMPLE_RATE, wav_bytes
    from server.services.objectstore import session_key

    server: ServerProcess = spawn("serve", env={"REDIS_URL": redis_url})
    auth = {"authorization": f"Bearer {server.token()}"}
    api = f"{server.url}/v1/orchestrator/session"
    sid = httpx.post(f"{api}/start", json={"tenant_id": TENANT}, headers=auth).json()["session_id"]
    opening = httpx.post(f"{api}/{sid}/append", json={"text": "Se abre la sesión."}, headers=auth).json()
    after = opening["block"]["block_id"]
    uids = [f"utt_{(n + 1) * SAMPLE_RATE * 10:012d}" for n in range(ROUNDS)]
    for uid in uids:  # audio the recognizer heard no words in, stored where the server keeps it
        path = server.data_dir / "objects" / session_key(TENANT, sid, "audio", f"{uid}.wav")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav_bytes(b"\x00\x00" * SAMPLE_RATE))
    clients = [Client(server.ws_url, sid) for _ in range(2)]
    for n, client in enumerate(clients):
        client.hello(server.token(role="stenographer", sub=f"steno{n}"), client_id=f"steno-{n}")
    steno = {"authorization": f"Bearer {server.token(role='stenographer', sub='http')}"}
    together = threading.Barrier(3)
    answers: list[dict[str, tuple[str, dict[str, Any]]]] = [{} for _ in uids]
    next_seq = [1, 1]
    errors: list[BaseException] = []

    def insert(uid: str, who: str) -> dict[str, Any]:
        return {"after_block_id": after, "block": {"text": f"Lo que oyó {who}.", "utterance_id": uid}}

    def send(n: int, uid: str) -> tuple[str, dict[str, Any]]:
        """Client n's insert for uid: ('ok', ack) or ('error', error); a refusal keeps its seq."""
        client, seq, seen = clients[n], next_seq[n], len(clients[n].errors)
        client.send({"type": "insert", "seq": seq, **insert(uid, f"steno{n}")})
        client.wait_for(lambda: seq in client.acks or len(client.errors) > seen)
        if seq in client.acks:
            next_seq[n] += 1
            return "ok", client.acks[seq]
        return "error", client.errors[seen]

    def over_ws(n: int) -> None:
        try:
            for k, uid in enumerate(uids):
                together.wait(30)
                answers[k][f"ws{n}"] = send(n, uid)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def over_http() -> None:
        try:
            for k, uid in enumerate(uids):
                together.wait(30)
                answer = httpx.post(
                    f"{api}/{sid}/blocks", json=insert(uid, "http"), headers=steno, timeout=30
                )
                assert answer.status_code in (201, 409), answer.text
                body = answer.json()
                answers[k]["http"] = ("ok", body) if answer.status_code == 201 else ("error", body["error"])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=over_ws, args=(n,)) for n in range(2)]
    threads.append(threading.Thread(target=over_http))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors

    def holders() -> dict[str, list[str]]:
        """Utterance id -> the live blocks written for it."""
        held: dict[str, list[str]] = {}
        for b in httpx.get(f"{api}/{sid}/blocks", headers=auth).json()["blocks"]:
            if b.get("audio_metadata") and not b.get("deleted"):
                held.setdefault(b["audio_metadata"]["utterance_id"], []).append(b["block_id"])
        return held

    accepted = [[a["block_id"] for kind, a in answered.values() if kind == "ok"] for answered in answers]
    assert holders() == dict(zip(uids, accepted, strict=True))
    for uid, answered, (stored,) in zip(uids, answers, accepted, strict=True):
        refused = [a for kind, a in answered.values() if kind == "error"]
        assert len(refused) == 2, answered
        for error in refused:
            assert error["code"] == "UTTERANCE_WRITTEN", error
            assert (error["details"]["field"], error["details"]["utterance_id"]) == ("utterance_id", uid)
            assert error["details"]["block_id"] == stored == error["details"]["current"]["block_id"]

    # The block written for the first utterance deleted: a refused stenographer's insert, sent
    # again, is stored now; the next writer is refused with the new block.
    (first,) = holders()[uids[0]]
    gone = httpx.delete(f"{api}/{sid}/blocks/{first}?base_version=1", headers=auth)
    assert gone.status_code == 200, gone.text
    n = next(n for n in range(2) if answers[0][f"ws{n}"][0] == "error")
    kind, ack = send(n, uids[0])
    assert kind == "ok", ack
    again = httpx.post(f"{api}/{sid}/blocks", json=insert(uids[0], "http"), headers=steno)
    assert again.status_code == 409, again.text
    refusal = again.json()["error"]
    assert (refusal["code"], refusal["details"]["block_id"]) == ("UTTERANCE_WRITTEN", ack["block_id"])
    assert holders()[uids[0]] == [ack["block_id"]]
    for client in clients:
        client.close()

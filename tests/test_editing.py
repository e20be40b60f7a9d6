"""Human corrections: versioned edits, inserts and tombstone deletes, over HTTP and WebSocket."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from hashlib import sha256
from typing import Any

import docx
import msgpack
import pytest
from starlette.testclient import TestClient

from server import protocol
from server.app import create_app
from server.buffer import Dedupe
from server.errors import ServiceUnavailable
from server.protocol import decode_event
from server.services.guard import canonical_json
from server.settings import Settings

from .conftest import ROOT, TENANT, SettledTestClient, ws_until

pytestmark = pytest.mark.cluster


class DeadCore:
    """A CORE that is down: text becomes a block pending review."""

    async def process_text(self, req: Any) -> Any:
        raise ServiceUnavailable("down", service="core")


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with SettledTestClient(create_app(settings)) as c:
        yield c


def session_with(client: TestClient, auth: dict[str, str], *texts: str) -> tuple[str, list[dict[str, Any]]]:
    sid = client.post("/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=auth).json()[
        "session_id"
    ]
    blocks = [
        client.post(f"/v1/orchestrator/session/{sid}/append", json={"text": t}, headers=auth).json()["block"]
        for t in texts
    ]
    return f"/v1/orchestrator/session/{sid}", blocks


def session_with_pending(client: TestClient, auth: dict[str, str], text: str) -> tuple[str, dict[str, Any]]:
    """A session whose one block is ``text`` pending review (CORE down when it came)."""
    orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
    real = orch.core
    orch.core = DeadCore()
    try:
        api, (pending,) = session_with(client, auth, text)
    finally:
        orch.core = real
    return api, pending


def test_edit_applies_to_its_version_and_refuses_stale_ones(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """An edit based on the current version applies (version+1, machine output kept, event with
    before/after hashes); a second edit based on the old version gets STALE_VERSION with the
    current block, and nothing is merged."""
    auth = {"authorization": f"Bearer {make_token()}"}
    steno = {"authorization": f"Bearer {make_token(role='stenographer', sub='ana')}"}
    api, (block,) = session_with(client, auth, "Tiene la palabra el concejal Pedro Gomes.")
    url = f"{api}/blocks/{block['block_id']}"
    edited = client.patch(
        url,
        json={"base_version": 1, "changes": {"text": "Tiene la palabra el concejal Pedro Gómez."}},
        headers=steno,
    )
    assert edited.status_code == 200, edited.text
    new = edited.json()["block"]
    assert new["version"] == 2 and new["human_edited"] and new["edited_by"] == "ana"
    assert new["machine"]["text"] == "Tiene la palabra el concejal Pedro Gomes."
    stale = client.patch(url, json={"base_version": 1, "changes": {"text": "Otra cosa."}}, headers=auth)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "STALE_VERSION"
    assert stale.json()["error"]["details"]["current"]["text"] == "Tiene la palabra el concejal Pedro Gómez."
    events = client.get(f"{api}/events", headers=auth).json()["events"]
    update = [e for e in events if e["kind"] == "block.updated"]
    assert len(update) == 1 and update[0]["actor"] == "ana"
    assert update[0]["data"]["before_hash"] != update[0]["data"]["after_hash"]
    bad = client.patch(url, json={"base_version": 2, "changes": {"template_id": "TPL_NOPE"}}, headers=auth)
    assert bad.status_code == 422
    unknown = client.patch(url, json={"base_version": 2, "changes": {"version": 9}}, headers=auth)
    assert unknown.status_code == 422
    viewer = {"authorization": f"Bearer {make_token(role='viewer')}"}
    assert (
        client.patch(url, json={"base_version": 2, "changes": {"text": "x"}}, headers=viewer).status_code
        == 403
    )


def test_insert_delete_and_the_acta_and_audit_follow(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """A block inserted between two lands between them; a deleted block is a tombstone the acta
    skips; the audit report lists every human change with who and the before/after hashes."""
    auth = {"authorization": f"Bearer {make_token(sub='secretaria')}"}
    api, (first, second) = session_with(
        client, auth, "Tiene la palabra el concejal Pedro Gómez.", "Tiene la palabra la concejala Ana Ruiz."
    )
    inserted = client.post(
        f"{api}/blocks",
        json={
            "after_block_id": first["block_id"],
            "block": {"text": "Intervención añadida por la secretaría."},
        },
        headers=auth,
    )
    assert inserted.status_code == 201, inserted.text
    new = inserted.json()["block"]
    assert (
        first["position"] < new["position"] < second["position"]
        and new["target_placeholder"] == "ZONE_DEBATE"
    )
    deleted = client.delete(f"{api}/blocks/{second['block_id']}?base_version=1", headers=auth)
    assert deleted.status_code == 200 and deleted.json()["block"]["deleted"] is True
    again = client.delete(f"{api}/blocks/{second['block_id']}?base_version=2", headers=auth)
    assert again.status_code == 404
    blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert [b["block_id"] for b in blocks] == [first["block_id"], new["block_id"], second["block_id"]]
    result = client.post(f"{api}/finalize", headers=auth).json()
    body = docx.Document(io.BytesIO(client.get(result["download_url"]).content)).element.body
    text = "".join(t.text or "" for t in body.iter(f"{W}t"))
    assert "Intervención añadida por la secretaría." in text and "Ana Ruiz" not in text
    assert text.index("Pedro Gómez") < text.index("añadida por la secretaría")
    edits = result["audit_report"]["human_edits"]
    assert [(e["who"], e["block_id"]) for e in edits] == [
        ("secretaria", new["block_id"]),
        ("secretaria", second["block_id"]),
    ]
    assert edits[1]["before_hash"] and edits[1]["after_hash"] is None
    late = client.patch(
        f"{api}/blocks/{first['block_id']}", json={"base_version": 1, "changes": {"text": "x"}}, headers=auth
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "SESSION_CLOSED"


def test_a_human_edit_wins_over_machine_output(client: TestClient, make_token: Callable[..., str]) -> None:
    """A block pending review that a person wrote becomes a normal block, and CORE can no longer
    re-process it: machine output never overwrites a human's text."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, pending = session_with_pending(client, auth, "Texto que nadie entendió.")
    assert pending["type"] == "ERROR_PENDING_REVIEW"
    fixed = client.patch(
        f"{api}/blocks/{pending['block_id']}",
        json={"base_version": 1, "changes": {"text": "Texto corregido por la relatoría."}},
        headers=auth,
    ).json()["block"]
    assert fixed["type"] == "TEMPLATE" and fixed["resolved_error"]["code"] == "SERVICE_UNAVAILABLE"
    refused = client.post(f"{api}/blocks/{pending['block_id']}/reprocess", headers=auth)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "NOT_PENDING"
    blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert blocks[0]["text"] == "Texto corregido por la relatoría."


def test_a_corrected_text_is_what_the_acta_says(client: TestClient, make_token: Callable[..., str]) -> None:
    """The acta's templates print fields CORE extracted (speaker, time, votes): a correction of
    the text has them extracted again from the corrected text, so the acta follows the person,
    not the machine's mishearing (kept for LEARN and audit). A correction CORE would put in
    another section keeps no machine fields: the acta writes the corrected text as it is."""
    auth = {"authorization": f"Bearer {make_token(sub='ana')}"}
    api, (opening, speech, vote, late) = session_with(
        client,
        auth,
        "Siendo las nueve de la mañana se abre la sesión ordinaria.",
        "Tiene la palabra el concejo Altezo Lómez.",
        "Votaron sí quince, no mos. Aprobado.",
        "Siendo las once se reanuda la sesión ordinaria.",
    )

    def correct(block: dict[str, Any], text: str) -> dict[str, Any]:
        answer = client.patch(
            f"{api}/blocks/{block['block_id']}",
            json={"base_version": 1, "changes": {"text": text}},
            headers=auth,
        )
        assert answer.status_code == 200, answer.text
        fixed: dict[str, Any] = answer.json()["block"]
        return fixed

    fixed = correct(speech, "Tiene la palabra el concejal Pedro Gómez.")
    assert fixed["structured_data"]["orador"] == "Pedro Gómez"
    # what the machine said is kept (for LEARN and the audit): its misheard speaker too
    assert fixed["machine"]["text"] == "Tiene la palabra el concejo Altezo Lómez."
    assert fixed["machine"]["structured_data"]["orador"] == "Altezo Lómez"
    fixed = correct(opening, "Siendo las diez y media de la mañana se abre la sesión extraordinaria.")
    assert fixed["structured_data"] == {"hora": "10:30", "tipo_sesion": "extraordinaria"}
    fixed = correct(vote, "Votaron sí doce, no cinco. Aprobado.")
    assert (fixed["structured_data"]["votacion"]["si"], fixed["structured_data"]["votacion"]["no"]) == (12, 5)
    fixed = correct(late, "Se levanta la sesión y se convoca para mañana.")
    assert fixed["template_id"] == late["template_id"] and fixed["structured_data"] == {}
    result = client.post(f"{api}/finalize", headers=auth).json()
    body = docx.Document(io.BytesIO(client.get(result["download_url"]).content)).element.body
    text = "".join(t.text or "" for t in body.iter(f"{W}t"))
    for said in (
        "Tiene la palabra el concejal Pedro Gómez.",  # the chair's announcement, as corrected
        "10:30",
        "extraordinaria",
        "sí: 12",
        "no: 5",
        "Se levanta la sesión y se convoca",
    ):
        assert said in text, said
    for misheard in ("ALTEZO", "Altezo", "9:00", "sesión ordinaria", "sí: 15", "las 11"):
        assert misheard not in text, misheard


def test_what_a_stenographer_adds_to_a_summed_up_block_is_in_the_acta(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """The opening, a communication, the closing are summed up from the facts extracted from
    their text: a sentence a stenographer adds to one ("Se deja constancia…") is written after
    the summary, once, while a sentence corrected in place is not written beside its summary."""
    auth = {"authorization": f"Bearer {make_token(sub='ana')}"}
    api, (opening, vote, closing) = session_with(
        client,
        auth,
        "Siendo las nueve de la mañana se abre la sesión ordinaria.",
        "Votaron sí quince, no mos. Aprobado.",
        "Siendo las once de la mañana se levanta la sesión.",
    )
    added = "Se deja constancia de que el recinto fue evacuado por una falla eléctrica."
    edits = {
        opening["block_id"]: f"Siendo las diez de la mañana se abre la sesión ordinaria. {added}",
        vote["block_id"]: "Votaron sí doce, no cinco. Aprobado.",
        closing["block_id"]: "Siendo las once y media de la mañana se levanta la sesión.",
    }
    for block_id, text in edits.items():
        answer = client.patch(
            f"{api}/blocks/{block_id}", json={"base_version": 1, "changes": {"text": text}}, headers=auth
        )
        assert answer.status_code == 200, answer.text
    result = client.post(f"{api}/finalize", headers=auth).json()
    body = docx.Document(io.BytesIO(client.get(result["download_url"]).content)).element.body
    text = "".join(t.text or "" for t in body.iter(f"{W}t"))
    assert text.count(added) == 1, text
    assert "10:00" in text and "11:30" in text and "sí: 12" in text
    assert text.count("Votaron sí doce, no cinco.") == 1  # as said, once (the vote's template)
    for summed_up in ("Siendo las diez de la mañana", "once y media"):
        assert summed_up not in text, summed_up


def test_a_reprocessed_block_is_not_a_human_edit_in_the_audit(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """A block pending review that CORE transcribes again at a person's request is machine output:
    the sealed audit report lists it under ``reprocessed`` (who asked, when, the block, the
    before/after hashes of the stored block), not under ``human_edits``, which still lists the
    person's own edit of another block."""
    auth = {"authorization": f"Bearer {make_token(sub='relatora')}"}
    orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
    real = orch.core
    api, (spoken,) = session_with(client, auth, "Se abre la sesión.")
    orch.core = DeadCore()
    pending = client.post(
        f"{api}/append", json={"text": "Tiene la palabra el concejal Pedro Gómez."}, headers=auth
    )
    orch.core = real
    assert pending.json()["block"]["type"] == "ERROR_PENDING_REVIEW"
    pending_id = pending.json()["block"]["block_id"]
    fixed = client.post(f"{api}/blocks/{pending_id}/reprocess", headers=auth)
    assert fixed.status_code == 200 and fixed.json()["block"]["type"] == "TEMPLATE", fixed.text
    edited = client.patch(
        f"{api}/blocks/{spoken['block_id']}",
        json={"base_version": 1, "changes": {"text": "Se abre la sesión plenaria."}},
        headers=auth,
    )
    assert edited.status_code == 200, edited.text
    report = client.post(f"{api}/finalize", headers=auth).json()["audit_report"]
    assert [(e["who"], e["block_id"], e["kind"]) for e in report["human_edits"]] == [
        ("relatora", spoken["block_id"], "block.updated")
    ]
    (reprocessed,) = report["reprocessed"]
    assert (reprocessed["who"], reprocessed["block_id"], reprocessed["kind"]) == (
        "relatora",
        pending_id,
        "block.updated",
    )
    assert reprocessed["at"] and reprocessed["event_id"] < report["human_edits"][0]["event_id"]
    assert reprocessed["before_hash"] == sha256(canonical_json(pending.json()["block"])).hexdigest()
    assert reprocessed["after_hash"] == sha256(canonical_json(fixed.json()["block"])).hexdigest()
    assert report["pending_review"] == []


def test_edits_over_the_websocket_are_numbered_acked_and_rebased(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """Edit frames share the client's sequence: acked once, a resend is a duplicate, a stale one
    gets STALE_VERSION carrying the current block so the client can rebase."""
    token = make_token(role="stenographer", sub="ana")
    auth = {"authorization": f"Bearer {make_token()}"}
    api, (block,) = session_with(client, auth, "Se abre la sesión.")
    sid = api.rsplit("/", 1)[-1]

    seen: list[dict[str, Any]] = []

    def recv(ws: Any, kind: str) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = msgpack.unpackb(ws.receive_bytes())
            seen.append(message)
            if message["type"] == kind:
                return message

    with client.websocket_connect(f"{api}/stream") as ws:
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "steno", "token": token}))
        edit = {"type": "edit", "seq": 1, "block_id": block["block_id"], "base_version": 1,
                "changes": {"text": "Siendo las nueve se abre la sesión."}}  # fmt: skip
        ws.send_bytes(msgpack.packb(edit))
        assert recv(ws, "ack") == {"type": "ack", "seq": 1, "block_id": block["block_id"],
                                   "event_id": 3, "duplicate": False}  # fmt: skip
        ws.send_bytes(msgpack.packb(edit))
        assert recv(ws, "ack")["duplicate"] is True
        ws.send_bytes(msgpack.packb({**edit, "seq": 2, "changes": {"text": "otra"}}))
        error = recv(ws, "error")
        assert error["code"] == "STALE_VERSION" and error["seq"] == 2
        assert error["details"]["current"]["version"] == 2
        ws.send_bytes(
            msgpack.packb({"type": "delete", "seq": 2, "block_id": block["block_id"], "base_version": 2})
        )
        assert recv(ws, "ack")["seq"] == 2  # the refused frame did not use up seq 2
        ws.send_bytes(
            msgpack.packb({"type": "insert", "seq": 3, "after_block_id": None, "block": {"text": "Primero."}})
        )
        assert recv(ws, "ack")["seq"] == 3
        while sum(1 for m in seen if m["type"] == "event") < 5:
            recv(ws, "event")
    kinds = [m["kind"] for m in seen if m["type"] == "event"]
    assert kinds == ["session.started", "block.added", "block.updated", "block.deleted", "block.inserted"]
    assert sid


def test_move_a_block_and_a_late_core_answer_is_logged_not_applied(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """An edit with after_block_id moves a block (here to the start); a re-process whose CORE
    answer comes back after a person changed the block is refused and kept in the log."""
    import asyncio

    auth = {"authorization": f"Bearer {make_token()}"}
    api, (first, second) = session_with(
        client, auth, "Se abre la sesión.", "Tiene la palabra el concejal Pedro Gómez."
    )
    moved = client.patch(
        f"{api}/blocks/{second['block_id']}",
        json={"base_version": 1, "changes": {"after_block_id": None}},
        headers=auth,
    )
    assert moved.status_code == 200, moved.text
    order = [b["block_id"] for b in client.get(f"{api}/blocks", headers=auth).json()["blocks"]]
    assert order == [second["block_id"], first["block_id"]]

    orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
    real = orch.core

    orch.core = DeadCore()
    pending = client.post(f"{api}/append", json={"text": "Frase pendiente."}, headers=auth).json()["block"]

    import threading

    called = threading.Event()
    edit_done = threading.Event()

    class SlowCore:
        async def process_text(self, req: Any) -> Any:
            if called.is_set():  # the edit's own extraction of the corrected text's fields
                return await real.process_text(req)
            called.set()  # CORE is working on the reprocess: now a person edits the block
            await asyncio.to_thread(edit_done.wait, 30)  # CORE answers once the edit is in
            return await real.process_text(req)

    orch.core = SlowCore()

    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(
            client.post(f"{api}/blocks/{pending['block_id']}/reprocess", headers=auth)
        )
    )
    worker.start()
    assert called.wait(30)
    edited = client.patch(
        f"{api}/blocks/{pending['block_id']}",
        json={"base_version": 1, "changes": {"text": "Frase escrita por la relatoría."}},
        headers=auth,
    )
    edit_done.set()
    worker.join(30)
    orch.core = real
    assert edited.status_code == 200 and results[0].status_code == 409
    assert results[0].json()["error"]["details"]["current"]["text"] == "Frase escrita por la relatoría."
    kinds = [e["kind"] for e in client.get(f"{api}/events", headers=auth).json()["events"]]
    assert "core.answer_discarded" in kinds


def test_inserted_blocks_never_tie_with_later_ones(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """A block inserted first in an empty session, or after the last block, sits strictly before
    the text that arrives next (it used to take the very position the next text got, 1.0 or
    n + 1, so the order of the two was left to chance)."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, _ = session_with(client, auth)
    first = client.post(f"{api}/blocks", json={"block": {"text": "Primero"}}, headers=auth).json()["block"]
    text = client.post(f"{api}/append", json={"text": "Se abre la sesión."}, headers=auth).json()["block"]
    last = client.post(
        f"{api}/blocks", json={"after_block_id": text["block_id"], "block": {"text": "Nota"}}, headers=auth
    ).json()["block"]
    later = client.post(f"{api}/append", json={"text": "Interviene el concejal."}, headers=auth).json()[
        "block"
    ]
    assert first["position"] < text["position"] < last["position"] < later["position"]
    order = [b["block_id"] for b in client.get(f"{api}/blocks", headers=auth).json()["blocks"]]
    assert order == [first["block_id"], text["block_id"], last["block_id"], later["block_id"]]


def all_events(client: TestClient, api: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    """The whole event log, page by page."""
    events: list[dict[str, Any]] = []
    while True:
        page = client.get(f"{api}/events?after={len(events)}&limit=5000", headers=auth).json()["events"]
        if not page:
            return events
        events += page


def view_of(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The live blocks a client builds from the events (the console's draft model, in short)."""
    view: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event["data"]
        if event["kind"] in ("block.added", "block.inserted", "block.updated"):
            view[data["block"]["block_id"]] = data["block"]
        elif event["kind"] == "block.deleted":
            view.pop(data["block_id"], None)
    return view


def assert_order(client: TestClient, api: str, auth: dict[str, str], expected: list[str]) -> None:
    """The session's blocks come back in ``expected`` order, no two at one position, and a client
    that orders the blocks its events carry by position (as the console does) sees that order."""
    blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert [b["block_id"] for b in blocks] == expected
    positions = [b["position"] for b in blocks]
    assert all(a < b for a, b in itertools.pairwise(positions)), "tied or misordered"
    view = view_of(all_events(client, api, auth))
    assert {b["block_id"]: b for b in blocks} == view
    assert sorted(view, key=lambda i: view[i]["position"]) == expected


def test_paragraphs_typed_one_after_another_keep_their_order(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """A stenographer types a missed passage paragraph by paragraph, each inserted after the one
    before: 200 of them stay in typing order, between the two blocks they were typed between,
    in the blocks, in what clients see and in the acta (halving the gap for each used to make
    the 50-odd-th tie with its neighbour, leaving the order to chance)."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, (first, second) = session_with(client, auth, "Se abre la sesión.", "Se levanta la sesión.")
    typed: list[str] = []
    after = first["block_id"]
    for n in range(200):
        answer = client.post(
            f"{api}/blocks",
            json={"after_block_id": after, "block": {"text": f"Párrafo {n:03d}."}},
            headers=auth,
        )
        assert answer.status_code == 201, answer.text
        after = answer.json()["block"]["block_id"]
        typed.append(after)
    assert_order(client, api, auth, [first["block_id"], *typed, second["block_id"]])
    result = client.post(f"{api}/finalize", headers=auth).json()
    body = docx.Document(io.BytesIO(client.get(result["download_url"]).content)).element.body
    text = "".join(t.text or "" for t in body.iter(f"{W}t"))
    at = [text.index(f"Párrafo {n:03d}.") for n in range(200)]
    assert text.index("Se abre") < at[0] and at == sorted(at) and at[-1] < text.index("Se levanta")


def test_inserts_again_and_again_between_two_adjacent_blocks_keep_their_order(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """Inserting over and over right after one block (each new one lands before the ones inserted
    there earlier), and typing paragraph after paragraph between two adjacent inserted blocks,
    never ties two blocks: 200 of each come back in the order asked for, and every client is
    told where blocks went."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, (first, second) = session_with(client, auth, "Se abre la sesión.", "Se levanta la sesión.")

    def insert(after: str, text: str) -> str:
        answer = client.post(
            f"{api}/blocks", json={"after_block_id": after, "block": {"text": text}}, headers=auth
        )
        assert answer.status_code == 201, answer.text
        block_id: str = answer.json()["block"]["block_id"]
        return block_id

    upper = insert(first["block_id"], "Arriba.")
    lower = insert(upper, "Abajo.")
    nested: list[str] = []
    after = upper
    for n in range(200):  # each after the previous one, between `upper` and `lower`
        after = insert(after, f"Entre {n}.")
        nested.append(after)
    stacked = [insert(first["block_id"], f"Primero {n}.") for n in range(200)]  # each right after `first`
    expected = [first["block_id"], *reversed(stacked), upper, *nested, lower, second["block_id"]]
    assert_order(client, api, auth, expected)
    renumbered = [e for e in all_events(client, api, auth) if e["data"].get("reason") == "renumbered"]
    assert renumbered and all(e["kind"] == "block.updated" and e["actor"] == "astra" for e in renumbered)
    edits = client.post(f"{api}/finalize", headers=auth).json()["audit_report"]["human_edits"]
    assert len(edits) == 402  # the inserts; a system renumbering is not a human edit


def test_changes_prepared_before_a_renumbering_or_a_rival_insert_are_placed_again(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """An edit or a delete read before a renumbering moved its block, and an insert whose place
    another insert took first, are each prepared again and applied once: the edit keeps the
    block's new position (its version is still current), the insert lands right after the block
    it names (before the rival), and every block is stored at the position its order says."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, (first, second) = session_with(client, auth, "Se abre la sesión.", "Se levanta la sesión.")
    start = first["block_id"]

    def insert(text: str) -> str:
        answer = client.post(
            f"{api}/blocks", json={"after_block_id": start, "block": {"text": text}}, headers=auth
        )
        assert answer.status_code == 201, answer.text
        block_id: str = answer.json()["block"]["block_id"]
        return block_id

    three, two, one = insert("Tres."), insert("Dos."), insert("Uno.")
    orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
    buffer = orch.buffer
    real = buffer.change_block
    raced: list[str] = []

    async def rival_insert(sid: str, text: str) -> None:
        fields = {"block_id": f"blk_{text}", "text": text, "version": 1}
        fields["position"] = await buffer.position_after(sid, start)
        event = protocol.encode_event_payload("block.inserted", 0.0, "rival", {"block": fields})
        assert (await real(sid, Dedupe("none"), "insert", fields, 0, event, placed_after=start))[0] == "ok"

    async def racing(sid: str, dedupe: Dedupe, op: str, block: dict[str, Any], *args: Any, **kw: Any) -> Any:
        if len(raced) < 3 and op not in raced:  # the first try of each change meets a rival
            raced.append(op)
            await rival_insert(sid, f"Rival-{op}")
            if op != "insert":  # ... and a renumbering that moves the block it read
                assert await buffer.renumber(sid, int(first["position"]), orch._renumbered) == "ok"
        return await real(sid, dedupe, op, block, *args, **kw)

    buffer.change_block = racing
    try:
        edited = client.patch(
            f"{api}/blocks/{one}",
            json={"base_version": 1, "changes": {"text": "Uno, corregido."}},
            headers=auth,
        )
        deleted = client.delete(f"{api}/blocks/{two}?base_version=1", headers=auth)
        zero = insert("Cero.")
    finally:
        buffer.change_block = real
    assert raced == ["edit", "delete", "insert"]
    assert edited.status_code == 200 and deleted.status_code == 200, (edited.text, deleted.text)
    blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert [b["block_id"] for b in blocks] == [
        start,
        zero,
        "blk_Rival-insert",
        "blk_Rival-delete",
        "blk_Rival-edit",
        one,
        two,
        three,
        second["block_id"],
    ]
    assert all(a["position"] < b["position"] for a, b in itertools.pairwise(blocks))
    stored = {b["block_id"]: b for b in blocks}
    # Stored where the renumbering before it put the block (second of four spread over the gap),
    # not where it was read; a later renumbering moved it on.
    assert edited.json()["block"]["position"] == first["position"] + 2 / 5
    assert {**edited.json()["block"], "position": 0} == {**stored[one], "position": 0}
    assert stored[one]["version"] == 2 and stored[one]["text"] == "Uno, corregido."
    assert stored[two]["deleted"] and deleted.json()["block"] == stored[two]
    assert view_of(all_events(client, api, auth)) == {k: b for k, b in stored.items() if not b.get("deleted")}


def test_a_place_that_cannot_be_had_is_a_coded_refusal_and_changes_nothing(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """A change whose place keeps being taken gets 429 PLACE_CONTENDED after its tries, and one
    with no position left even after renumbering gets 429 POSITIONS_EXHAUSTED: never a tie,
    never a 500, and nothing stored or logged for either."""
    from server.buffer import NoRoom

    auth = {"authorization": f"Bearer {make_token()}"}
    api, (first, _) = session_with(client, auth, "Se abre la sesión.", "Se levanta la sesión.")
    note = client.post(
        f"{api}/blocks", json={"after_block_id": first["block_id"], "block": {"text": "Nota."}}, headers=auth
    )
    buffer = client.app.state.astra.orchestrator.buffer  # type: ignore[attr-defined]
    head = client.get(api, headers=auth).json()["head_event_id"]
    body = {"after_block_id": first["block_id"], "block": {"text": "Otra."}}

    async def always_taken(*args: Any, **kwargs: Any) -> tuple[str, bytes]:
        return "moved", b""

    real_change, real_place = buffer.change_block, buffer.position_after
    buffer.change_block = always_taken
    try:
        contended = client.post(f"{api}/blocks", json=body, headers=auth)
        moved = client.patch(
            f"{api}/blocks/{note.json()['block']['block_id']}",
            json={"base_version": 1, "changes": {"after_block_id": None}},
            headers=auth,
        )
    finally:
        buffer.change_block = real_change
    assert contended.status_code == moved.status_code == 429, (contended.text, moved.text)
    assert contended.json()["error"]["code"] == moved.json()["error"]["code"] == "PLACE_CONTENDED"

    async def no_room(session_id: str, block_id: str | None, **kwargs: Any) -> float:
        raise NoRoom(int(first["position"]))

    buffer.position_after = no_room
    try:
        full = client.post(f"{api}/blocks", json=body, headers=auth)
    finally:
        buffer.position_after = real_place
    assert full.status_code == 429 and full.json()["error"]["code"] == "POSITIONS_EXHAUSTED", full.text
    blocks = client.get(f"{api}/blocks", headers=auth).json()["blocks"]
    assert [b["text"] for b in blocks] == ["Se abre la sesión.", "Nota.", "Se levanta la sesión."]
    events = all_events(client, api, auth)[head:]
    assert [e["data"].get("reason") for e in events] == ["renumbered"]  # the one try to make room


def test_an_edit_asks_core_once_and_a_resent_edit_not_at_all(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """An edit that changes a block's text asks CORE for the corrected text's fields once, even
    when a renumbering under it makes it prepare itself again; a resend of an edit already
    applied (same Idempotency-Key), after someone changed the text again, does not ask CORE at
    all (each used to ask again, up to EDIT_EXTRACTION_TIMEOUT each). What is stored is the same."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, (first, _) = session_with(client, auth, "Se abre la sesión.", "Se levanta la sesión.")

    def insert(text: str) -> str:
        block = {"text": text, "template_id": "TPL_DEBATE"}
        answer = client.post(
            f"{api}/blocks", json={"after_block_id": first["block_id"], "block": block}, headers=auth
        )
        assert answer.status_code == 201, answer.text
        block_id: str = answer.json()["block"]["block_id"]
        return block_id

    two, one = insert("Dos."), insert("Uno.")
    orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
    buffer, real_core, real_change = orch.buffer, orch.core, orch.buffer.change_block
    asked: list[str] = []
    outcomes: list[str] = []

    class CountingCore:
        async def process_text(self, req: Any) -> Any:
            asked.append(req.text)
            return await real_core.process_text(req)

    async def renumbered_once(
        sid: str, dedupe: Dedupe, op: str, block: dict[str, Any], *a: Any, **kw: Any
    ) -> Any:
        if not outcomes:  # the first try meets a renumbering that moves the block it read
            assert await buffer.renumber(sid, int(first["position"]), orch._renumbered) == "ok"
        outcome = await real_change(sid, dedupe, op, block, *a, **kw)
        outcomes.append(outcome[0])
        return outcome

    def edit(key: str, version: int, text: str) -> dict[str, Any]:
        answer = client.patch(
            f"{api}/blocks/{one}",
            json={"base_version": version, "changes": {"text": text}},
            headers={**auth, "idempotency-key": key},
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    orch.core, buffer.change_block = CountingCore(), renumbered_once
    try:
        applied = edit("k1", 1, "Uno, corregido.")
        assert outcomes == ["moved", "ok"], "the test meant the edit to be prepared twice"
        assert asked == ["Uno, corregido."]
        again = edit("k2", 2, "Uno, corregido otra vez.")
        resent = edit("k1", 1, "Uno, corregido.")
    finally:
        orch.core, buffer.change_block = real_core, real_change
    assert asked == ["Uno, corregido.", "Uno, corregido otra vez."]
    assert (applied["duplicate"], again["duplicate"], resent) == (
        False,
        False,
        {"block_id": one, "event_id": None, "duplicate": True, "block": None},  # the block it changed
    )
    stored = {b["block_id"]: b for b in client.get(f"{api}/blocks", headers=auth).json()["blocks"]}
    assert stored[one] == again["block"] and stored[one]["version"] == 3
    assert stored[two]["text"] == "Dos."


def test_an_insert_for_an_utterance_waits_out_a_moment_of_the_object_store_away(
    client: TestClient, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: an `insert` with block.utterance_id reads the utterance's audio from the object
    store; S3 failing once answered the frame SERVICE_UNAVAILABLE, a code protocol.md gave only
    for a key set at hello and the console neither dropped nor resent, so the insert sat
    unanswered. The read is tried again in the server (and the console sends such a frame again)."""
    from server.audio_pipeline import SAMPLE_RATE, wav_bytes
    from server.errors import ServiceUnavailable
    from server.services.objectstore import session_key

    auth = {"authorization": f"Bearer {make_token()}"}
    token = make_token(role="stenographer", sub="ana")
    api, (opening,) = session_with(client, auth, "Se abre la sesión.")
    sid = api.rsplit("/", 1)[-1]
    store = client.app.state.astra.orchestrator.store  # type: ignore[attr-defined]
    uid = "utt_000000032000"
    key = session_key(TENANT, sid, "audio", f"{uid}.wav")
    client.portal.call(store.put_bytes, key, wav_bytes(b"\x00\x00" * SAMPLE_RATE), "audio/wav")  # type: ignore[union-attr]
    real_get, real_exists, failures = store.get_bytes, store.exists, [2, 1]

    async def away_twice(name: str, version: str | None = None) -> bytes:
        if name == key and failures[0]:
            failures[0] -= 1
            raise ServiceUnavailable("object store: SlowDown", service="s3")
        data: bytes = await real_get(name, version)
        return data

    async def away_once(name: str) -> bool:  # the first look, whether the audio is there (review)
        if name == key and failures[1]:
            failures[1] -= 1
            raise ServiceUnavailable("object store: SlowDown", service="s3")
        there: bool = await real_exists(name)
        return there

    monkeypatch.setattr(store, "get_bytes", away_twice)
    monkeypatch.setattr(store, "exists", away_once)
    frame = {"type": "insert", "seq": 1, "after_block_id": opening["block_id"],
             "block": {"text": "Falla del micrófono.", "utterance_id": uid}}  # fmt: skip
    with client.websocket_connect(f"{api}/stream") as ws:
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "steno", "token": token}))
        ws.send_bytes(msgpack.packb(frame))
        while (answer := msgpack.unpackb(ws.receive_bytes()))["type"] not in ("ack", "error"):
            pass
    assert (answer["type"], answer["seq"], failures) == ("ack", 1, [0, 0]), answer


def test_an_insert_over_the_websocket_writes_an_utterance_heard_with_no_words(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """The WebSocket `insert` with block.utterance_id (not only HTTP): acked, the block carries
    the utterance's audio, a resend of the same seq after a reconnect is a duplicate (one block);
    an id with no audio stored is refused with the code protocol.md gives, details.field
    `utterance_id`, and the refused frame does not use up its seq."""
    from server.audio_pipeline import SAMPLE_RATE, wav_bytes
    from server.services.objectstore import session_key

    auth = {"authorization": f"Bearer {make_token()}"}
    token = make_token(role="stenographer", sub="ana")
    api, (opening,) = session_with(client, auth, "Se abre la sesión.")
    sid = api.rsplit("/", 1)[-1]
    store = client.app.state.astra.orchestrator.store  # type: ignore[attr-defined]
    uid = "utt_000000032000"  # said 2 s in, 1.5 s long
    key = session_key(TENANT, sid, "audio", f"{uid}.wav")
    client.portal.call(store.put_bytes, key, wav_bytes(b"\x00\x00" * (SAMPLE_RATE * 3 // 2)), "audio/wav")  # type: ignore[union-attr]
    said = "Se deja constancia de una falla del micrófono."
    frame = {"type": "insert", "seq": 1, "after_block_id": opening["block_id"],
             "block": {"text": said, "utterance_id": uid}}  # fmt: skip

    def recv(ws: Any, *kinds: str) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = msgpack.unpackb(ws.receive_bytes())
            if message["type"] in kinds:
                return message

    with client.websocket_connect(f"{api}/stream") as ws:
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "steno", "token": token}))
        ws.send_bytes(msgpack.packb(frame))
        ack = recv(ws, "ack", "error")
        assert (ack["type"], ack["seq"], ack["duplicate"]) == ("ack", 1, False), ack
    with client.websocket_connect(f"{api}/stream") as ws:  # reconnected: the same frame again
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "steno", "token": token}))
        ws.send_bytes(msgpack.packb(frame))
        assert recv(ws, "ack", "error")["duplicate"] is True
        ws.send_bytes(
            msgpack.packb({**frame, "seq": 2, "block": {"text": "x", "utterance_id": "utt_000000099999"}})
        )
        error = recv(ws, "ack", "error")
        assert (error["type"], error["seq"], error["details"]["field"]) == ("error", 2, "utterance_id")
        assert error["code"] == "INVALID_INPUT"  # what protocol.md's insert row says
        ws.send_bytes(msgpack.packb({**frame, "seq": 2, "block": {"text": "Otro."}}))
        assert recv(ws, "ack", "error")["seq"] == 2
    written = [b for b in client.get(f"{api}/blocks", headers=auth).json()["blocks"] if b["text"] == said]
    assert len(written) == 1
    assert written[0]["source"] == {"kind": "human", "utterance_id": uid}
    assert written[0]["audio_metadata"] == {
        "utterance_id": uid,
        "audio_ref": key,
        "time_start": 2.0,
        "time_end": 3.5,
    }
    protocol_md = (ROOT / "protocol.md").read_text("utf-8")
    (row,) = [line for line in protocol_md.splitlines() if line.startswith("| `insert` |")]
    assert "no stored audio in this session is refused with `INVALID_INPUT`" in row


def test_a_blank_insert_over_the_websocket_is_invalid_input_judged_in_seq_order(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """An insert whose text is blank is INVALID_INPUT (details.field ``text``) answered in seq
    order, as a blank `text` frame or edit is: a resend of an applied seq is still a duplicate and
    a skipped seq still SEQ_GAP, and the refused seq stays free. It was INVALID_FIELD from the
    frame's reader, answered before the frames queued ahead of it, whatever its seq."""
    auth = {"authorization": f"Bearer {make_token()}"}
    token = make_token(role="stenographer", sub="ana")
    api, (opening,) = session_with(client, auth, "Se abre la sesión.")
    insert = {"type": "insert", "after_block_id": opening["block_id"]}

    def answer(ws: Any, seq: int, text: str) -> dict[str, Any]:
        ws.send_bytes(msgpack.packb({**insert, "seq": seq, "block": {"text": text}}))
        return ws_until(ws, lambda m: m["type"] in ("ack", "error"))

    with client.websocket_connect(f"{api}/stream") as ws:
        ws.send_bytes(msgpack.packb({"type": "hello", "client_id": "steno", "token": token}))
        assert answer(ws, 1, "Se deja constancia.")["type"] == "ack"
        resent = answer(ws, 1, "   ")
        assert (resent["type"], resent["duplicate"]) == ("ack", True)
        gap = answer(ws, 3, " \n ")
        assert (gap["type"], gap["code"]) == ("error", "SEQ_GAP")
        blank = answer(ws, 2, " \n ")
        assert (blank["type"], blank["code"], blank["seq"]) == ("error", "INVALID_INPUT", 2)
        assert blank["details"]["field"] == "text" and "delete" not in blank["message"]
        assert answer(ws, 2, "Otro.")["type"] == "ack"


def test_a_deleted_block_pending_review_stays_deleted_when_reprocess_is_asked(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """Review: a stenographer deleted a block pending review, and "reprocess" (from a colleague
    whose screen had not seen the delete yet) brought it back to life as machine output: the
    sealed acta said what a person had removed. A deleted block is gone for reprocess too."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, pending = session_with_pending(client, auth, "Texto que se dijo por error.")
    deleted = client.delete(f"{api}/blocks/{pending['block_id']}?base_version=1", headers=auth)
    assert deleted.status_code == 200, deleted.text
    refused = client.post(f"{api}/blocks/{pending['block_id']}/reprocess", headers=auth)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "NOT_FOUND"
    result = client.post(f"{api}/finalize", headers=auth).json()
    body = docx.Document(io.BytesIO(client.get(result["download_url"]).content)).element.body
    assert "por error" not in "".join(t.text or "" for t in body.iter(f"{W}t"))


def test_reprocess_keeps_where_a_person_put_a_block_pending_review(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """Review: a stenographer moved a block pending review to "Proposiciones y varios" while it
    waited; CORE's answer to "reprocess" replaced the whole block, so it went back to the debate,
    and the record of the person's edit was lost. The words are CORE's (asked for); the section
    stays the person's, and so are the facts they gave it and the record of their edit."""
    auth = {"authorization": f"Bearer {make_token(sub='relatora')}"}
    api, pending = session_with_pending(client, auth, "Tiene la palabra el concejal Pedro Gómez.")
    moved = client.patch(
        f"{api}/blocks/{pending['block_id']}",
        json={
            "base_version": 1,
            "changes": {
                "target_placeholder": "ZONE_VARIOS",
                "structured_data": {"orador": "Pedro Gómez Ruiz"},
            },
        },
        headers=auth,
    )
    assert moved.status_code == 200 and moved.json()["block"]["type"] == "ERROR_PENDING_REVIEW", moved.text
    fixed = client.post(f"{api}/blocks/{pending['block_id']}/reprocess", headers=auth)
    assert fixed.status_code == 200, fixed.text
    block = fixed.json()["block"]
    assert (block["type"], block["target_placeholder"]) == ("TEMPLATE", "ZONE_VARIOS")
    assert block["structured_data"] == {"orador": "Pedro Gómez Ruiz"}  # the facts the person gave
    assert (block["human_edited"], block["edited_by"]) == (True, "relatora")
    assert block["machine"]["text"] == block["text"] == "Tiene la palabra el concejal Pedro Gómez."
    assert block["machine"]["target_placeholder"] == "ZONE_DEBATE"  # what CORE said, for LEARN
    assert block["machine"]["structured_data"]["orador"] == "Pedro Gómez"


def test_an_utterance_still_being_transcribed_is_not_written_by_hand(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """Review: an insert written for an utterance the recognizer was still transcribing was
    stored, and then the recognizer's block too: the acta said it twice. It is refused with
    UTTERANCE_PENDING until the recognizer is done; an utterance heard with no words (its pending
    record retired) may then be written."""
    from server.segmenter import SAMPLE_RATE, Utterance

    auth = {"authorization": f"Bearer {make_token()}"}
    api, (opening,) = session_with(client, auth, "Se abre la sesión.")
    sid = api.rsplit("/", 1)[-1]
    orch = client.app.state.astra.orchestrator  # type: ignore[attr-defined]
    pcm = b"\x00\x00" * SAMPLE_RATE
    record = client.portal.call(orch.record_utterance, sid, Utterance(0, SAMPLE_RATE, pcm, forced=False))  # type: ignore[union-attr]
    insert = {
        "after_block_id": opening["block_id"],
        "block": {"text": "Lo dicho.", "utterance_id": record["utterance_id"]},
    }
    refused = client.post(f"{api}/blocks", json=insert, headers=auth)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("UTTERANCE_PENDING", "utterance_id")
    # heard with no words: the log says so, and in the same step the utterance is no longer
    # pending (a stenographer who reads the event may write it at once, not get a 409); an
    # owner that took over and heard no words either finds it retired and logs nothing
    meta = client.portal.call(orch.buffer.meta, sid)  # type: ignore[union-attr]
    client.portal.call(orch._retire_silent, meta, record)  # type: ignore[union-attr]
    client.portal.call(orch._retire_silent, meta, record)  # type: ignore[union-attr]  # a second owner's
    assert client.portal.call(orch.buffer.pending_utterances, sid) == []  # type: ignore[union-attr]
    events = [decode_event(i, p) for i, p in client.portal.call(orch.buffer.events_after, sid, 0, 100)]  # type: ignore[union-attr]
    (discarded,) = [e for e in events if e["kind"] == "utterance.discarded"]
    assert discarded["data"]["utterance_id"] == record["utterance_id"]
    written = client.post(f"{api}/blocks", json=insert, headers=auth)
    assert written.status_code == 201, written.text


def test_a_block_deleted_while_a_change_to_it_was_on_its_way_is_not_found(
    client: TestClient, make_token: Callable[..., str]
) -> None:
    """An edit or a delete of a block already deleted is 404 NOT_FOUND ("another person deleted
    it"). When the delete landed between the server's read of the block and its write, the
    answer was 409 STALE_VERSION instead, which the console shows as a version to compare and
    rebase on; now it is the same NOT_FOUND either way."""
    auth = {"authorization": f"Bearer {make_token()}"}
    api, (one, two) = session_with(
        client, auth, "Se abre la sesión.", "Tiene la palabra el concejal Pedro Gómez."
    )
    buffer = client.app.state.astra.orchestrator.buffer  # type: ignore[attr-defined]
    real = buffer.change_block

    async def deleted_first(
        sid: str, dedupe: Dedupe, op: str, block: dict[str, Any], *args: Any, **kw: Any
    ) -> Any:
        """A colleague's delete lands after this change read the block, before it is written."""
        current = await buffer.block(sid, block["block_id"])
        if not current.get("deleted"):
            gone = {**current, "deleted": True, "version": current["version"] + 1}
            event = protocol.encode_event_payload(
                "block.deleted", 0.0, "colega", {"block_id": block["block_id"]}
            )
            assert (await real(sid, Dedupe("none"), "delete", gone, current["version"], event))[0] == "ok"
        return await real(sid, dedupe, op, block, *args, **kw)

    buffer.change_block = deleted_first
    try:
        edited = client.patch(
            f"{api}/blocks/{one['block_id']}",
            json={"base_version": 1, "changes": {"text": "Se abre la sesión ordinaria."}},
            headers=auth,
        )
        deleted = client.delete(f"{api}/blocks/{two['block_id']}?base_version=1", headers=auth)
    finally:
        buffer.change_block = real
    for answer in (edited, deleted):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "NOT_FOUND"
    # and the same answer when the delete came before the change was read
    later = client.patch(
        f"{api}/blocks/{one['block_id']}",
        json={"base_version": 2, "changes": {"text": "Otra."}},
        headers=auth,
    )
    assert (later.status_code, later.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert [b["deleted"] for b in client.get(f"{api}/blocks", headers=auth).json()["blocks"]] == [True, True]

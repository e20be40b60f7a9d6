"""The console's draft names the speakers the acta names, on every whole-session fixture.

Each fixture of ``tests/fixtures`` is classified as CORE stores it (``_classified`` of
test_acta_plenary.py), then every block's speaker is derived twice: by the builder, as
``build_docx`` does before it writes a word (:func:`_as_the_acta_writes`), and by
``static/js/draft.js`` under ``node``, the blocks applied one after another to a
``DraftModel`` as ``block.added`` events and derived as the view draws them
(``speakersOf``), one node process for every fixture. What the draft shows of the speaker
(:data:`SHOWN`) must be what the acta prints.
"""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from server.services.docx_builder import (
    CARRIED,
    SPEAKER_FIELDS,
    _as_spelled,
    _named_as_in_the_session,
    _openings_joined,
    _readings_joined,
    _with_report_ponentes,
    build_docx,
    given_the_floor,
)
from server.services.offices import OFFICE_GOES_ON, OFFICE_SCOPES, ONE_HOLDER_OFFICES

from .conftest import TIME_UNIT, require
from .test_acta_plenary import _classified

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHOWN = (*SPEAKER_FIELDS, CARRIED, "anuncio")
"""What the draft shows of who speaks: the speaker line (``orador``, not for an announcement,
``anuncio``), marked as given by the grant before it (``orador_por_anuncio``), and what the
grant said of them."""


BUILDER_STEPS = (
    "_as_spelled(_with_report_ponentes(given_the_floor(_named_as_in_the_session(_openings_joined("
    "_readings_joined(blocks))))))"
)
"""The steps build_docx takes on the blocks before it writes a speaker, as its source says them
(spaces and line breaks aside)."""


def _as_the_acta_writes(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The blocks as build_docx writes their speakers (:data:`BUILDER_STEPS`). The pieces of a
    speech cut at the segmenter's maximum length are joined into the first (an opening's always,
    other readings when CORE read them whole): the draft shows each piece, and only the first is
    compared (the fixtures have no such pieces)."""
    return _as_spelled(
        _with_report_ponentes(
            given_the_floor(_named_as_in_the_session(_openings_joined(_readings_joined(blocks))))
        )
    )


def test_the_builders_steps_are_those_compared() -> None:
    """build_docx still derives the speakers by :data:`BUILDER_STEPS`: a step added there must be
    added to :func:`_as_the_acta_writes` (and to draft.js's speakersOf when it touches a speaker)."""
    assert BUILDER_STEPS in "".join(inspect.getsource(build_docx).split())


def _shown(data: Any) -> dict[str, Any]:
    data = data if isinstance(data, Mapping) else {}
    return {k: data[k] for k in SHOWN if data.get(k)}


# The console's model and derivation (static/js/draft.js): every fixture's blocks applied one
# by one as block.added events, then each block's data as the view draws it.
_HARNESS = r"""
import { pathToFileURL } from "node:url";
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const { DraftModel, OFFICES, speakersOf } = await import(pathToFileURL(request.draft).href);
const out = { offices: OFFICES, sessions: {} };
for (const [name, blocks] of Object.entries(request.sessions)) {
  const model = new DraftModel(name);
  blocks.forEach((block, i) => model.apply({ id: i + 1, kind: "block.added", data: { block } }));
  const derived = speakersOf(model.blocks);
  out.sessions[name] = model.blocks.map((block) => derived.get(block.block_id));
}
process.stdout.write(JSON.stringify(out));
"""


_OPENING = (
    "Siendo las nueve de la mañana del día 3 de marzo de 2025, se abre la sesión plenaria ordinaria del"
    " Concejo Distrital de Santiago de Cali. Preside el concejal Roberto Carlos Ortiz. Actúa como"
    " secretario general el doctor Héctor Londoño."
)
_ROLL_CALL = (
    "Llamado a lista. Andrés Felipe Escobar Torres, presente. Ana María Ruiz Gómez, presente. Roberto"
    " Carlos Ortiz, presente. Hay quórum."
)
CUT = "✂ "
"""Before a hand-made utterance: its audio continues the previous one's, cut at the segmenter's
maximum length (``audio_metadata.continues_previous``)."""
HAND_MADE: dict[str, list[str]] = {
    # the president addressed by name is not the speaker: the grant's words, then unnamed
    "chair addressed": [
        _OPENING,
        "Continuamos con el debate de control político. Tiene la palabra el concejal Juan Pérez.",
        "Presidente, Roberto Carlos Ortiz, solicito la palabra para una réplica, porque el secretario de"
        " Movilidad me aludió directamente.",
        "Gracias, presidente. La secretaria de Movilidad no ha cumplido con el cronograma.",
        "Presidente, Roberto Carlos Ortiz, solicito la palabra para una réplica. Fui aludida.",
    ],
    # members given the floor by the surname, and given it back ("Continúe, concejal X.")
    "floor given back": [
        _OPENING,
        _ROLL_CALL,
        "Continuamos con el debate. Tiene la palabra el concejal Escobar.",
        "Gracias presidente, quiero decir que los semáforos no funcionan.",
        "Le pido silencio a las barras.",
        "Continúe, concejal Escobar.",
        "Gracias. Como decía, los semáforos del sur no funcionan.",
        "Tiene la palabra la concejala Ruiz.",
        "gracias presidente, me sumo a lo dicho.",
    ],
    # the oath asked names who answers; "Queda usted posesionado" makes him the personero
    "personero sworn in": [
        _OPENING,
        "Se declara elegido como personero municipal de Cali para el periodo 2026-2029 el doctor Andrés"
        " Felipe Rengifo Salazar.",
        "¿Jura usted, doctor Andrés Felipe Rengifo Salazar, por Dios y por la patria, cumplir la"
        " Constitución y las leyes?",
        "Sí, juro.",
        "Queda usted posesionado. Tiene la palabra el señor personero.",
        "muchas gracias señor presidente honorables concejales.",
    ],
    # a member heard with her ñ but no accents, spelled as the roll call said her name
    "ñ but no accents": [
        _OPENING,
        "Llamado a lista. Alexandra Hernández Cedeño, presente. Ana María Ruiz Gómez, presente. Hay quórum.",
        "Continuamos con el debate. tiene la palabra la concejala alexandra hernandez cedeño",
        "gracias presidente, el alumbrado del barrio no funciona.",
    ],
    # the personero given the floor by the office alone, his name not heard (recorded live)
    "personero by office alone": [
        _OPENING,
        "Si así fue, que me oci la patria os lo premié. Que me hacen posesionado. Tiene la palabra el señor"
        " personero.",
        "Muchas gracias, señor presidente, honorables concejales.",
        "Tiene la palabra la señora contralora.",
        "Gracias, presidente. El informe de auditoría está radicado.",
    ],
    # speech cut at the segmenter's maximum length (CUT: the block continues the previous one)
    "speech cut": [
        _OPENING,
        _ROLL_CALL,
        "Continuamos con el debate. Tiene la palabra la concejala Ruiz.",
        "Gracias presidente, yo respeto la constancia de la compañera, el concurso lo vigiló la Procuraduría",
        CUT + "y la lista quedó en firme, el Concejo tiene que cumplir la ley.",
        CUT + "Y por eso acompaño a la doctora Cárdenas.",
        "Presidente, Luis Alberto Lozano, moción de procedimiento. Yo llevé la cuenta y hay un error.",
        CUT + "Le pido a la secretaría revisar el registro.",
        "Le pido silencio a las barras.",
        CUT + "Gracias.",
    ],
}
"""Short sessions for the rules the fixtures do not exercise, classified as the fixtures are."""


def _sessions() -> dict[str, list[dict[str, Any]]]:
    said = {path.name: json.loads(path.read_text("utf-8")) for path in sorted(FIXTURES.glob("*.json"))}
    said |= {name: [{"text": text.removeprefix(CUT)} for text in texts] for name, texts in HAND_MADE.items()}
    sessions = {name: _classified(utterances) for name, utterances in said.items()}
    for name, texts in HAND_MADE.items():
        for block, text in zip(sessions[name], texts, strict=True):
            if text.startswith(CUT):
                block["audio_metadata"] = {"continues_previous": True}
    return sessions


def _draft(sessions: Mapping[str, Any]) -> dict[str, Any]:
    """draft.js's OFFICES, and each session's blocks as draft.js shows them (by session name)."""
    node = shutil.which("node")
    require(node is not None, "node")
    assert node is not None
    proc = subprocess.run(
        [node, "--input-type=module", "-e", _HARNESS],
        input=json.dumps({"draft": str(ROOT / "static" / "js" / "draft.js"), "sessions": sessions}).encode(),
        capture_output=True,
        timeout=120 * TIME_UNIT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def test_the_draft_names_every_fixtures_speakers_as_the_acta() -> None:
    """Every block of every whole-session fixture (and of :data:`HAND_MADE`) shows in the draft
    the speaker the acta writes it under, with what the grant said of them (see :data:`SHOWN`)."""
    sessions = _sessions()
    drafted = _draft(sessions)["sessions"]
    disagree = []
    for name, blocks in sessions.items():
        acta = {b["block_id"]: _shown(b.get("structured_data")) for b in _as_the_acta_writes(blocks)}
        draft = [_shown(d) for d in drafted[name]]
        assert len(draft) == len(blocks), name
        for block, d in zip(blocks, draft, strict=True):
            if block["block_id"] in acta and (a := acta[block["block_id"]]) != d:
                disagree.append((name, block["block_id"], block["text"][:70], {"acta": a, "draft": d}))
    assert not disagree, "\n".join(map(repr, disagree))


def test_the_drafts_offices_are_those_of_the_server() -> None:
    """draft.js's copy of the one-holder offices (which name the personero sworn in) is
    server/services/offices.py's."""
    assert _draft({})["offices"] == {
        "oneHolder": ONE_HOLDER_OFFICES,
        "scopes": list(OFFICE_SCOPES),
        "goesOn": list(OFFICE_GOES_ON),
    }

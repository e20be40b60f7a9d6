"""Fill a tenant's acta skeleton (a DOCX) with the session's blocks.

Pure and CPU-only: bytes in, bytes out; no asyncio and no I/O besides in-memory buffers.

A skeleton marks each *zone* either with a block-level content control (``w:sdt``) whose
``w:tag`` is the zone name, or, for skeletons made without content controls, with a paragraph
whose whole text is ``[[ZONE_NAME]]``. Zone names are upper-case identifiers
(``[A-Z][A-Z0-9_]*``); content controls with other tags are left alone.

The tenant's ``style_map`` maps style *names* to roles (see :data:`ROLES`). Each role is
resolved to its style id once per build, and paragraphs, runs and tables are built directly
with lxml: python-docx's lookup by style name costs about a millisecond per paragraph, which
matters for sessions with thousands of blocks.

Templates: how a TEMPLATE block is written
------------------------------------------

What a block of each ``template_id`` becomes is tenant data (``templates.json``, pinned at
session start and passed in as ``templates``): a JSON object mapping a template id to a list
of *elements*, rendered in order::

    {
      "TPL_CIERRE": [
        {"paragraph": "Siendo {{ hora|hora(articulo=true) }}, se levanta la sesión.",
         "role": "BODY", "requires": ["hora"]}
      ],
      "TPL_LLAMADO_LISTA": [
        {"paragraph": "{{ text }}"},
        {"table": "roll_call", "headers": ["Concejal", "Asistencia"]},
        {"paragraph": "Quórum: {{ quorum }}.", "requires": ["quorum"]}
      ],
      "*": [ ... ]
    }

A block uses the list of its ``template_id``; else the tenant's ``"*"`` list; else the built-in
list of that id; else the built-in ``"*"`` (:data:`DEFAULT_TEMPLATES`, which is the generic
rendering: speaker line, text, roll-call table, quorum, agenda for TPL_ORDEN_DIA, vote). An
empty ``templates`` means the built-in defaults for everything.

Every element may have
  ``"when"``      a Jinja2 *expression*; the element is skipped unless it is true;
  ``"requires"``  variable names; the element is skipped if any is missing, None, or an empty
                  string, list or object (``0`` and ``false`` count as present).

``{"paragraph": "<Jinja2 text>", "role": "<role>"}`` writes one paragraph in the style of
``role`` (a paragraph role of :data:`ROLES`; default: SIGNATURE_BLOCK in the signature zone,
BODY elsewhere). The text is rendered in a sandbox (``jinja2.sandbox.SandboxedEnvironment``)
with these variables: every field of the block's ``structured_data`` (None values left out),
then ``text`` (the block text), ``label`` and ``metadata`` (the session metadata: ``title``…),
which win over same-named fields. Outside the ``{{ }}``/``{% %}`` tags:

* ``**…**`` marks a run written in the SPEAKER character style (bold when the tenant maps no
  SPEAKER style). Only literal template text is markup: asterisks that come from variables
  are written as they are, so what was said cannot inject formatting. An unpaired ``**`` is
  written literally. A newline in the text is a line break.

A missing variable never reaches the document: using one in output (``{{ hora }}``,
``{{ hora|upper }}``, ``{{ 'x' ~ hora }}``), outputting None, iterating a missing list, or a
filter that cannot read its value (an unparseable date) makes the *element* fail, and it is
skipped like an unmet ``requires``. A missing variable is false in tests, so
``{{ ', ' ~ partido if partido }}`` and ``{{ lugar or 'el recinto' }}`` are fine. A rendered
paragraph is stripped; a blank one counts as not written. **Fallback**: when no paragraph
element of the list was written, the block text is written (zone role) where the block
begins, before its tables, so nothing said is lost; an empty text is only written when the
block produced nothing at all.

**Summaries** (a rule for tenant templates, kept by the Cali ones): a template that sums an
utterance up instead of writing it as said (TPL_APERTURA, TPL_COMUNICACION, TPL_CIERRE,
TPL_PROPOSICION, the TPL_PROYECTO_ACUERDO heading) gives the brief account Law 136 art. 26 asks
for, so it may leave out procedural words ("siguiente punto", greetings), but it writes every
fact the classifier extracts for that section as domain.md lists it: the opening's date, time,
place (none when none was said: no seat is assumed), type (``instalación``, ``cabildo abierto``
and a period's ``clausura`` too), number, commission (``comision``), topic (``tema``) or what a
sesión solemne is held for (``proposito``), constitutional period (``periodo``), the mayor's
delegate (``delegado``, ``delegado_cargo``, ``delegacion`` as said), who presides (and
``preside_provisional``, ``preside_rol``), secretary (with ``secretario_cargo``, the office as
said) and guests (``invitados``); a proposal's number,
authors and text, and what was said around it that is not its text (``introduccion``: the
sentences before the one presenting it; ``solicitud``: a procedural request after it, "El
concejal X solicita votación nominal."); a communication's sender, date, subject and filing
number; a bill's number, year, title, debate and ``ponentes``; the closing's time, summons (or
its denial) and the reason a session was lifted.
What the summary cannot write (its ``requires`` unmet) falls back to the text as said. What a
person added to the machine's words of a block (a sentence that corrects none heard and that the
block's rendering does not carry, :func:`added_by_hand`) is written after the block's paragraphs.

Filters besides Jinja2's: ``fecha_larga`` ("2026-03-14" → "14 de marzo de 2026"), ``hora``
("09:10" → "9:10 a. m.", "12:00" → "12:00 m.", "13:05" → "1:05 p. m.";
``hora(articulo=true)`` → "las 9:10 a. m." / "la 1:05 p. m."; a value of figures and words a
person typed, "3 de junio de 2025", "9:10 a. m.", as typed; one neither reads fails its paragraph
and the block's words are written after the others: :class:`UnreadableValue`), ``nombre`` (a
person given as a string or as ``{"nombre": …}``), ``lista`` (["A", "B", "C"] → "A, B y C"; ["A", "B, c", "D"]
→ "A; B, c; y D", an item having a comma of its own; a person given as ``{"nombre", "cargo"}`` is
written "Nombre (cargo)"; a list output directly is written this way too), ``capfirst`` (first
letter upper-case, the rest kept), ``titulo_cargo`` (an office as a title: "secretaria de la
comisión" → "Secretaria de la Comisión"),
``oracion`` (capfirst and a final period if it has no final punctuation), ``sin_punto``
(drops one final period, for a sentence the template closes itself) and ``quorum`` (true,
false or a mapping → Spanish words). True/false are written "sí"/"no".

``{"table": "<kind>", ...}`` runs one of the built-in writers over ``structured_data``:
  ``roll_call``  a table member | state from ``presentes``, ``ausentes``, ``excusados``,
                 ``tarde`` and ``retirados``; ``"headers"`` (2 strings, default ["Concejal",
                 "Estado"]) and ``"labels"`` ({"presentes": "Presente", "ausentes": "Ausente",
                 "excusados": "Excusado", "excusada": "Excusada", "tarde": "Llegó tarde",
                 "retirados": "Se retiró", "regreso": "regresó"}) are configurable. A member
                 given as ``{"nombre", "motivo"?, "hora"?, "rol"?}`` gets the reason or the
                 time after the label ("Excusado (incapacidad médica)", "Llegó tarde (9:40
                 a. m.)", "Se retiró (9:40 a. m.)"); an excused one whose ``rol`` is
                 "concejala" gets ``excusada`` (a tenant that sets only ``excusados`` gets its
                 word, "-ado" made "-ada"). Members said to arrive later in the session (any
                 block's ``llegadas``) are shown under ``tarde`` in the roll call before them,
                 no longer absent or excused, members said to leave (``salidas``) under
                 ``retirados`` (one who comes back: "Se retiró (9:40 a. m.) y regresó (10:15
                 a. m.)", the label ``regreso``), and members excused in a roll-call block of
                 their own after it under ``excusados`` (:func:`_with_arrivals`, at build time).
                 One roll call said over several blocks gets one table, after its last block
                 that lists members (:func:`_roll_call_tables`).
  ``votes``      the nominal vote of ``votacion``: a table Concejal | Voto from ``votos`` and a
                 summary paragraph. ``"headers"``, ``"labels"`` ({"si": "Sí", "no": "No",
                 "abstencion": "Abstención"}) and ``"summary"`` (Jinja2 text, or null for none)
                 are configurable; the summary sees ``si``, ``no``, ``abstencion`` (totals: the
                 counts said, else the votes listed; a side not said is missing, never a zero
                 nobody said: "con dieciocho votos" gives ``si`` alone; a side said with a
                 nominal list is completed by the list's count; a summary that writes a missing
                 side is left out), ``total`` (when every side is known), ``resultado`` (the
                 result said, upper-case: APROBADO, NEGADO, EMPATE…; else APROBADO when sí > no, EMPATE when
                 they are even, else NEGADO; with ``mayoria_requerida``, the sí votes a qualified
                 majority needs, said by the chair, APROBADO only with that many), ``declarado``
                 (the result said, or missing),
                 ``repetir`` (true when the vote is said to be taken again: "se repetirá la
                 votación"), ``objeto`` (what the vote decides when CORE says, such as
                 "impedimento" for a member's impediment, or missing), ``articulos`` (the
                 bill's articles voted, a list of numbers), ``modo`` ("por aclamación", "por
                 unanimidad": how the result was reached, when said, written after it),
                 ``partes`` (the bill's other parts
                 voted apart: ["título", "preámbulo"]), ``debate`` and ``sancion`` (the
                 debate the bill's result closes, and true when the bill is sent to the
                 mayor's sanction), each when said (:data:`VOTE_FACTS`), ``votacion``,
                 ``text`` and ``metadata``. Default summary: "Votos por el sí: {{ si }}. Votos
                 por el no: {{ no }}. Abstenciones: {{ abstencion }}. Resultado:
                 {{ resultado }}." (each side only when said; after "Artículo 9. " /
                 "Artículos 1, 2 y 3. " when articles are voted, "Título y preámbulo. " when
                 those are; the result after ``objeto`` when there is one: "Resultado:
                 impedimento ACEPTADO."; with the debate and "; pasa a sanción del alcalde"
                 when ``sancion``; "; se repetirá la votación" before the period
                 when ``repetir``) when anything was counted, else "Resultado:
                 {{ declarado }}." (likewise) when a result was said, else nothing (a vote only
                 called, "se abre la votación nominal", has nothing to sum up).
                 One vote is often said over several blocks of a zone (the call, the members'
                 list, the secretary's count and result): it gets one summary, after its last
                 block, with the totals and result declared (the list's count when none were
                 declared); each block keeps its own list table, and a list read over several
                 blocks is one table after its last part. Declared totals that differ
                 from the list's (in a side said) get a Word comment for the reviewer. How blocks are grouped
                 into votes: :func:`_vote_plans`.
  ``agenda``     the items of ``puntos`` as paragraphs numbered as text ("1. …"; items already
                 numbered as announced keep their number). ``"text"`` says how the block's text
                 (the agenda as read: "Orden del día. Primero, llamado a lista. Segundo, …") is
                 written with them, so the agenda is stated once: ``"around"`` writes the words
                 before the first item, the numbered items in place of the items as said, then
                 the words after the last (what is left out is exactly the items and their
                 markers: "Segundo,", "punto tres:"); ``"whole"`` writes the text as said and no
                 list. When the items are not all found in the text, in order, with only their
                 markers between them (the text or the items corrected apart), both write the
                 text, then the numbered items, so nothing said is lost; a block without items
                 writes nothing (the fallback writes its text). Without ``"text"``, the items
                 alone (the template writes the text if it wants it).
  ``election``   the result line of an election declared in the block (``eleccion``), with the
                 count said for it (the ``escrutinio`` of blocks of the zone since the previous
                 election that name the person elected; the last one, a count corrected later
                 taken as corrected, with a Word comment when the counts said differ:
                 :func:`_election_plans`). ``"summary"`` (Jinja2) sees the block's variables and
                 ``elegido``, ``participio``, ``cargo``, ``resolucion``, ``resolucion_fecha``,
                 ``votos``, ``candidatos``, ``en_blanco``, ``nulos``, ``total`` and ``escrutinio``
                 (the count as a phrase: "Ana Ruiz, 17 votos; Luis Mora, 2 votos; en blanco,
                 1"); default: "Resultado: {{ elegido }}, {{ participio }} {{ cargo }}. Votación:
                 {{ escrutinio }}." (each part when said).
  ``oath``       the oath declared in the block (``posesion``, its sentences as said);
                 ``"summary"`` default: "Posesión: {{ posesion }}".
  ``recess``     the times of a recess (``receso``: ``inicio`` when the session was suspended,
                 ``fin`` when it was resumed, each said in its own block), after the resumption
                 (:func:`_recesses`); ``"summary"`` sees ``inicio`` and ``fin`` (each when
                 said) and ``fecha`` (the day it was resumed, when not the opening's); default:
                 "Receso: de 10:40 a. m. a 10:58 a. m." ("desde las…", "hasta las…" when one
                 time alone was said; "Sesión suspendida a la 1:10 p. m. y reanudada el 15 de
                 octubre de 2025 a las 9:15 a. m." with ``fecha``).
Their paragraphs (summary, agenda items, result lines) take the element's ``"role"`` (default as
above). Like a vote's summary, an election's, an oath's or a recess's line is written after the
block's words and does not replace them (it is not a paragraph element, so the fallback still
writes the text).

:func:`check_templates` lists the problems of a templates object (unknown keys, roles or
table kinds, Jinja2 syntax errors, unknown filters, private attributes such as
``__class__``); :func:`build_docx` refuses templates with problems. Compiled templates are
cached by content, so a build compiles them at most once and most builds not at all.

Tenant option ``mark_human_edits``: blocks with ``human_edited: true`` get a Word comment
"Editado por <edited_by>" (``created_by`` when the block has no ``edited_by``), with
``edited_at`` when present.
"""

from __future__ import annotations

import bisect
import collections
import difflib
import functools
import io
import itertools
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from docx import Document
from docx.opc.pkgwriter import PackageWriter
from docx.oxml.parser import oxml_parser
from docx.oxml.shape import CT_Inline
from docx.shared import Emu
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from jinja2 import TemplateError, Undefined, UndefinedError, nodes
from jinja2.environment import Template
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from .offices import OFFICE_GOES_ON, OFFICE_SCOPES, ONE_HOLDER_OFFICES, ONE_HOLDER_ROLES

__all__ = [
    "DEFAULT_TEMPLATES",
    "ROLES",
    "SPEECH_TEMPLATES",
    "TABLE_KINDS",
    "BuildError",
    "SkeletonInfo",
    "build_docx",
    "check_skeleton",
    "check_templates",
    "given_the_floor",
    "inspect_skeleton",
]


class BuildError(Exception):
    """The skeleton, the style map or a block cannot be turned into a document."""


ROLES = (
    "HEADING_1",
    "HEADING_2",
    "BODY",
    "SPEAKER",
    "CAPTION",
    "SIGNATURE_BLOCK",
    "PENDING_REVIEW",
    "TABLE",
)
REQUIRED_ROLES = ("BODY",)

# The kind of style each role needs; roles not listed need a paragraph style.
_ROLE_STYLE_TYPE = {"SPEAKER": "character", "TABLE": "table"}

BLOCK_TYPES = ("TEMPLATE", "IMAGE", "ERROR_PENDING_REVIEW")
SIGNATURE_ZONE = "SIGNATURE_BLOCK"
PENDING_LABEL = "[Fragmento pendiente de revisión]"


@dataclass(frozen=True, slots=True)
class SkeletonInfo:
    """What a skeleton offers: its zones in document order and the names of its styles."""

    zones: tuple[str, ...]
    styles: frozenset[str]


# ---------------------------------------------------------------------------------------------
# XML names

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _w(tag: str) -> str:
    return f"{{{W_NS}}}{tag}"


W_VAL = _w("val")
W_W = _w("w")
W_TYPE = _w("type")
W_BODY = _w("body")
W_P = _w("p")
W_PPR = _w("pPr")
W_PSTYLE = _w("pStyle")
W_KEEPNEXT = _w("keepNext")
W_JC = _w("jc")
W_R = _w("r")
W_RPR = _w("rPr")
W_RSTYLE = _w("rStyle")
W_B = _w("b")
W_BCS = _w("bCs")
W_T = _w("t")
W_BR = _w("br")
W_TAB = _w("tab")
W_FLDCHAR = _w("fldChar")
W_FLDCHARTYPE = _w("fldCharType")
W_INSTRTEXT = _w("instrText")
W_TBL = _w("tbl")
W_TBLPR = _w("tblPr")
W_TBLSTYLE = _w("tblStyle")
W_TBLW = _w("tblW")
W_TBLBORDERS = _w("tblBorders")
W_TBLLOOK = _w("tblLook")
W_TBLGRID = _w("tblGrid")
W_GRIDCOL = _w("gridCol")
W_TR = _w("tr")
W_TRPR = _w("trPr")
W_TBLHEADER = _w("tblHeader")
W_TC = _w("tc")
W_TCPR = _w("tcPr")
W_TCW = _w("tcW")
W_SDT = _w("sdt")
W_SDTPR = _w("sdtPr")
W_SDTCONTENT = _w("sdtContent")
W_TAG = _w("tag")
W_SHOWINGPLCHDR = _w("showingPlcHdr")
W_SECTPR = _w("sectPr")
W_SPACING = _w("spacing")
W_BEFORE = _w("before")
W_AFTER = _w("after")
W_LINE = _w("line")
W_LINERULE = _w("lineRule")
W_SZ = _w("sz")
W_COMMENTREFERENCE = _w("commentReference")
W_PGSZ = _w("pgSz")
W_PGMAR = _w("pgMar")
W_STYLE = _w("style")
W_STYLEID = _w("styleId")
W_NAME = _w("name")
W_DATE = _w("date")

_ZONE_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_MARKER = re.compile(r"\[\[([A-Z][A-Z0-9_]*)\]\]\Z")
# Characters XML 1.0 cannot carry; lxml refuses them, so they are dropped from block text.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

EMU_PER_TWIP = 635
EMU_PER_PX_96DPI = 9525
# A4 with 2.5 cm margins, for a skeleton whose section lacks page size or margins.
_DEFAULT_PAGE = (11906, 16838)
_DEFAULT_MARGIN = 1417


# ---------------------------------------------------------------------------------------------
# Skeleton inspection


@dataclass(frozen=True, slots=True)
class _StyleDef:
    style_id: str
    name: str
    kind: str  # paragraph | character | table | numbering


@dataclass(slots=True)
class _Zone:
    name: str
    element: Any  # the w:sdt, or the marker w:p
    is_sdt: bool


def _open(skeleton: bytes) -> Any:
    try:
        return Document(io.BytesIO(skeleton))
    except Exception as exc:  # python-docx raises many kinds of errors on a bad package
        raise BuildError(f"skeleton is not a readable DOCX document: {exc}") from exc


def _read_styles(doc: Any) -> list[_StyleDef]:
    found: list[_StyleDef] = []
    for style in doc.styles.element.iterchildren(W_STYLE):
        name_el = style.find(W_NAME)
        style_id = style.get(W_STYLEID) or ""
        name = name_el.get(W_VAL) if name_el is not None else style_id
        found.append(_StyleDef(style_id, name or style_id, style.get(W_TYPE) or "paragraph"))
    return found


def _find_style(name: str, styles: Sequence[_StyleDef]) -> _StyleDef | None:
    """Find a style by name; Word stores built-in names in lower case, and ids are accepted."""
    for style in styles:
        if style.name == name:
            return style
    folded = name.casefold()
    for style in styles:
        if style.name.casefold() == folded:
            return style
    for style in styles:
        if style.style_id == name:
            return style
    return None


def _resolve_roles(
    style_map: Mapping[str, str], styles: Sequence[_StyleDef]
) -> tuple[dict[str, str], list[str]]:
    """Return ``(role -> style id, problems)``; the first style mapped to a role wins."""
    resolved: dict[str, str] = {}
    problems: list[str] = []
    for name, role in style_map.items():
        if role not in ROLES:
            problems.append(
                f"style_map: style {name!r} is mapped to unknown role {role!r} "
                f"(known roles: {', '.join(ROLES)})"
            )
            continue
        style = _find_style(name, styles)
        if style is None:
            problems.append(f"style_map: style {name!r} (role {role}) is not defined in the skeleton")
            continue
        expected = _ROLE_STYLE_TYPE.get(role, "paragraph")
        if style.kind != expected:
            problems.append(
                f"style_map: style {name!r} is a {style.kind} style, but role {role} needs a {expected} style"
            )
            continue
        resolved.setdefault(role, style.style_id)
    for role in REQUIRED_ROLES:
        if role not in resolved and role not in style_map.values():
            problems.append(f"style_map: required role {role} is not mapped to any style")
    return resolved, problems


def _paragraph_text(p: Any) -> str:
    return "".join(t.text or "" for t in p.iter(W_T))


def _is_block_level(sdt: Any) -> bool:
    parent = sdt.getparent()
    if parent is None or parent.tag not in (W_BODY, W_TC, W_SDTCONTENT):
        return False
    return next(sdt.iterancestors(W_P), None) is None


def _find_zones(body: Any) -> list[_Zone]:
    """Zones in document order; anything inside a zone belongs to it and is not a zone."""
    zones: list[_Zone] = []
    taken: set[Any] = set()
    for el in body.iter(W_SDT, W_P):
        if any(anc in taken for anc in el.iterancestors(W_SDT)):
            continue
        if el.tag == W_SDT:
            if not _is_block_level(el):
                continue
            tag = el.find(f"{W_SDTPR}/{W_TAG}")
            name = (tag.get(W_VAL) or "").strip() if tag is not None else ""
            if _ZONE_NAME.match(name):
                zones.append(_Zone(name, el, is_sdt=True))
                taken.add(el)
        else:
            text = _paragraph_text(el).strip()
            if text.startswith("[["):
                marker = _MARKER.match(text)
                if marker is not None:
                    zones.append(_Zone(marker.group(1), el, is_sdt=False))
    return zones


def _duplicate_zones(zones: Sequence[_Zone]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for zone in zones:
        if zone.name in seen and zone.name not in dupes:
            dupes.append(zone.name)
        seen.add(zone.name)
    return dupes


def _empty_zones_problems(empty_zones: Any, zone_names: set[str]) -> list[str]:
    """Problems of a tenant's ``empty_zones`` (zone name -> a sentence, or null) for a skeleton."""
    if not isinstance(empty_zones, Mapping):
        return ["empty_zones: must be an object mapping zone names to a sentence or null"]
    problems: list[str] = []
    for name, sentence in empty_zones.items():
        if name not in zone_names:
            problems.append(
                f"empty_zones: zone {name!r} is not in the skeleton "
                f"(zones: {', '.join(sorted(zone_names)) or 'none'})"
            )
        if sentence is not None and (not isinstance(sentence, str) or not sentence.strip()):
            problems.append(
                f"empty_zones: {name!r} must be a sentence to write, or null to leave the section out"
            )
    return problems


def inspect_skeleton(skeleton: bytes) -> SkeletonInfo:
    """List a skeleton's zones (in document order) and the names of the styles it defines."""
    doc = _open(skeleton)
    zones = _find_zones(doc.element.body)
    return SkeletonInfo(
        zones=tuple(zone.name for zone in zones),
        styles=frozenset(style.name for style in _read_styles(doc)),
    )


def check_skeleton(
    skeleton: bytes,
    style_map: Mapping[str, str],
    placeholder_map: Mapping[str, str],
    empty_zones: Mapping[str, Any] | None = None,
) -> list[str]:
    """Human-readable problems between a skeleton and a tenant's maps; ``[]`` when all fine.

    ``placeholder_map`` maps a template/intent to the zone its blocks go to; every zone it
    targets must exist in the skeleton. Every style named in ``style_map`` must exist with the
    kind its role needs, every role must be known, and the required role BODY must be mapped.
    Every zone ``empty_zones`` names must exist, with a sentence or null (see
    :func:`build_docx`). A skeleton python-docx cannot read is one problem, whatever
    python-docx raises.
    """
    try:
        doc = _open(skeleton)
    except BuildError as exc:
        return [str(exc)]
    # python-docx opens some broken packages and fails only when a part is read (a styles part
    # with no content type declared is an opaque Part; a main part without a body): whatever it
    # raises then is one problem naming the part.
    try:
        zones = _find_zones(doc.element.body)
    except Exception as exc:
        return [f"skeleton: its main document part cannot be read: {type(exc).__name__}: {exc}"]
    try:
        styles = _read_styles(doc)
    except Exception as exc:
        return [f"skeleton: its styles part cannot be read: {type(exc).__name__}: {exc}"]
    zone_names = {zone.name for zone in zones}
    problems: list[str] = []
    missing: list[str] = []
    for key, zone in placeholder_map.items():
        if zone not in zone_names and zone not in missing:
            missing.append(zone)
            problems.append(
                f"placeholder_map: zone {zone!r} (for {key!r}) is not in the skeleton "
                f"(zones: {', '.join(sorted(zone_names)) or 'none'})"
            )
    for name in _duplicate_zones(zones):
        problems.append(f"skeleton: zone {name!r} appears more than once")
    problems.extend(_empty_zones_problems(empty_zones or {}, zone_names))
    _, style_problems = _resolve_roles(style_map, styles)
    problems.extend(style_problems)
    return problems


# ---------------------------------------------------------------------------------------------
# Page geometry


@dataclass(frozen=True, slots=True)
class _Geometry:
    width_emu: int
    height_emu: int

    @property
    def width_twips(self) -> int:
        return self.width_emu // EMU_PER_TWIP


def _twips(el: Any, attr: str, default: int) -> int:
    if el is None:
        return default
    raw = el.get(_w(attr))
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def _geometry_of(sect_pr: Any) -> _Geometry:
    pg_sz = sect_pr.find(W_PGSZ) if sect_pr is not None else None
    pg_mar = sect_pr.find(W_PGMAR) if sect_pr is not None else None
    width = _twips(pg_sz, "w", _DEFAULT_PAGE[0])
    height = _twips(pg_sz, "h", _DEFAULT_PAGE[1])
    usable_w = (
        width
        - _twips(pg_mar, "left", _DEFAULT_MARGIN)
        - _twips(pg_mar, "right", _DEFAULT_MARGIN)
        - _twips(pg_mar, "gutter", 0)
    )
    usable_h = (
        height - abs(_twips(pg_mar, "top", _DEFAULT_MARGIN)) - abs(_twips(pg_mar, "bottom", _DEFAULT_MARGIN))
    )
    usable_w = max(usable_w, 1440)
    usable_h = max(usable_h, 1440)
    return _Geometry(usable_w * EMU_PER_TWIP, usable_h * EMU_PER_TWIP)


def _zone_geometry(body: Any, element: Any) -> _Geometry:
    """Usable page size of the section holding ``element`` (its sectPr follows it)."""
    top = element
    while top.getparent() is not None and top.getparent() is not body:
        top = top.getparent()
    for sib in itertools.chain((top,), top.itersiblings()):
        if sib.tag == W_SECTPR:
            return _geometry_of(sib)
        if sib.tag == W_P:
            sect_pr = sib.find(f"{W_PPR}/{W_SECTPR}")
            if sect_pr is not None:
                return _geometry_of(sect_pr)
    return _geometry_of(body.find(W_SECTPR))


# ---------------------------------------------------------------------------------------------
# Element builders (lxml, no style lookups)


def _clean(text: str) -> str:
    """``text`` as XML 1.0 can hold it: a control character a person typed (pasted from another
    program) separates what it stood between, a line break for a vertical tab or a form feed (as
    Word writes a manual line break), a space for the rest; a noncharacter (U+FFFE) goes."""
    return _INVALID_XML.sub(_replacement, text) if _INVALID_XML.search(text) else text


def _replacement(found: re.Match[str]) -> str:
    character = found.group()
    if character in "\x0b\x0c":
        return "\n"
    return " " if character < "\x20" else ""


def _append_text(r: Any, text: str) -> None:
    text = _clean(text)
    if "\n" not in text and "\t" not in text and "\r" not in text:
        t = etree.SubElement(r, W_T)
        t.set(XML_SPACE, "preserve")
        t.text = text
        return
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if i:
            etree.SubElement(r, W_BR)
        for j, part in enumerate(line.split("\t")):
            if j:
                etree.SubElement(r, W_TAB)
            if part:
                t = etree.SubElement(r, W_T)
                t.set(XML_SPACE, "preserve")
                t.text = part


def _last_child(el: Any) -> Any:
    """The last child or None (``len()`` of an lxml element walks all its children)."""
    try:
        return el[-1]
    except IndexError:
        return None


def _children_after(container: Any, before: Any) -> Any:
    """The children added after ``before`` (the last child at some point, or None)."""
    return container.iterchildren() if before is None else before.itersiblings()


def _add_run(p: Any, text: str, *, style_id: str | None = None, bold: bool = False) -> Any:
    r = etree.SubElement(p, W_R)
    if style_id is not None or bold:
        r_pr = etree.SubElement(r, W_RPR)
        if style_id is not None:
            etree.SubElement(r_pr, W_RSTYLE).set(W_VAL, style_id)
        if bold:
            etree.SubElement(r_pr, W_B)
            etree.SubElement(r_pr, W_BCS)
    _append_text(r, text)
    return r


def _add_paragraph(
    container: Any,
    style_id: str | None,
    text: str | None = None,
    *,
    keep_next: bool = False,
    center: bool = False,
) -> Any:
    p = etree.SubElement(container, W_P)
    if style_id is not None or keep_next or center:
        p_pr = etree.SubElement(p, W_PPR)
        if style_id is not None:
            etree.SubElement(p_pr, W_PSTYLE).set(W_VAL, style_id)
        if keep_next:
            etree.SubElement(p_pr, W_KEEPNEXT)
        if center:
            etree.SubElement(p_pr, W_JC).set(W_VAL, "center")
    if text:
        _add_run(p, text)
    return p


def _add_field(p: Any, instruction: str, result: str) -> None:
    """A complex field (e.g. SEQ) whose cached result is ``result``; Word can update it."""
    etree.SubElement(etree.SubElement(p, W_R), W_FLDCHAR).set(W_FLDCHARTYPE, "begin")
    instr = etree.SubElement(etree.SubElement(p, W_R), W_INSTRTEXT)
    instr.set(XML_SPACE, "preserve")
    instr.text = f" {instruction} "
    etree.SubElement(etree.SubElement(p, W_R), W_FLDCHAR).set(W_FLDCHARTYPE, "separate")
    _add_run(p, result)
    etree.SubElement(etree.SubElement(p, W_R), W_FLDCHAR).set(W_FLDCHARTYPE, "end")


_BORDER_SIDES = ("top", "left", "bottom", "right", "insideH", "insideV")


def _add_table(
    container: Any,
    style_id: str | None,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    fractions: Sequence[float],
    geometry: _Geometry,
) -> Any:
    # Two tables in a row would merge into one in Word: keep them apart.
    last = _last_child(container)
    if last is not None and last.tag == W_TBL:
        etree.SubElement(container, W_P)
    tbl = etree.SubElement(container, W_TBL)
    tbl_pr = etree.SubElement(tbl, W_TBLPR)
    if style_id is not None:
        etree.SubElement(tbl_pr, W_TBLSTYLE).set(W_VAL, style_id)
    tbl_w = etree.SubElement(tbl_pr, W_TBLW)
    tbl_w.set(W_W, "5000")
    tbl_w.set(W_TYPE, "pct")
    if style_id is None:  # no table style for the tenant: plain single borders
        borders = etree.SubElement(tbl_pr, W_TBLBORDERS)
        for side in _BORDER_SIDES:
            edge = etree.SubElement(borders, _w(side))
            edge.set(W_VAL, "single")
            edge.set(_w("sz"), "4")
            edge.set(_w("space"), "0")
            edge.set(_w("color"), "auto")
    look = etree.SubElement(tbl_pr, W_TBLLOOK)
    for attr, value in (
        ("val", "0620"),
        ("firstRow", "1"),
        ("lastRow", "0"),
        ("firstColumn", "0"),
        ("lastColumn", "0"),
        ("noHBand", "1"),
        ("noVBand", "1"),
    ):
        look.set(_w(attr), value)
    widths = [str(int(geometry.width_twips * f)) for f in fractions]
    grid = etree.SubElement(tbl, W_TBLGRID)
    for width in widths:
        etree.SubElement(grid, W_GRIDCOL).set(W_W, width)

    def add_row(cells: Sequence[str], is_header: bool) -> None:
        tr = etree.SubElement(tbl, W_TR)
        if is_header:
            etree.SubElement(etree.SubElement(tr, W_TRPR), W_TBLHEADER)
        for width, text in zip(widths, cells, strict=True):
            tc = etree.SubElement(tr, W_TC)
            tc_w = etree.SubElement(etree.SubElement(tc, W_TCPR), W_TCW)
            tc_w.set(W_W, width)
            tc_w.set(W_TYPE, "dxa")
            p = etree.SubElement(tc, W_P)
            if text:
                _add_run(p, text, bold=is_header)

    add_row(header, True)
    for row in rows:
        add_row(row, False)
    return tbl


# ---------------------------------------------------------------------------------------------
# Structured data helpers


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+(?=[¿¡\"“«]?[A-ZÁÉÍÓÚÑ])")
"""Between two sentences: final punctuation, then a capital ("a. m. se abre" is one sentence)."""
_CONTENT_WORD_RE = re.compile(r"[^\W\d_]{4,}")
_NEGATION_RE = re.compile(r"\b(?:no|ni|sin(?!\s+embargo)|nunca|jamas|tampoco|nadie|nada|ningun[oa]?s?)\b")
"""Words that deny what the rest of a sentence says, folded ("sin embargo" aside): a template
that sums a block up writes facts, never their denial, so a sentence that denies one ("El
secretario no asistió.") is not carried by a rendering that names the same people and places."""
_NUMBER_SIGN_RE = re.compile(r"\bN[oº°]\.")
""""No. 45", "No. dos mil…": número, not a denial."""


def _denials(sentence: str) -> set[str]:
    """The denying words of a sentence (as said or written), folded."""
    return set(_NEGATION_RE.findall(_fold_same_length(_NUMBER_SIGN_RE.sub(" ", sentence))))


CORRECTED_SENTENCE_RATIO = 0.6
"""A sentence of a person's text at least this similar (difflib's ratio, on the folded text) to
a sentence the machine heard is that sentence corrected ("Votaron sí doce, no cinco." for "Votaron
sí quince, no mos."): its facts were extracted again, and the template writes them."""
COMPARED_CHARS = 400
"""Sentences are compared by their first this many characters (a sentence of a speech read
whole can run to thousands: the comparison grows with the square of its length)."""
CANDIDATE_SENTENCES = 5
"""A sentence is compared with at most this many heard sentences, those sharing most of its words."""
WRITTEN_SENTENCE_SHARE = 0.5
"""A sentence at least this share of whose words of four letters or more the block's written
paragraphs and tables carry is already in the acta."""
NEW_WORDS_LOST = 2
"""A sentence of a person's text into which they inserted at least this many words of four
letters or more (against the heard sentence it corrects) that the rendering does not carry
(numbers, ordinals, times and days aside: a template writes them otherwise) says something the
summary leaves out: "…la sesión ordinaria número 12 con transmisión por el canal Telepacífico…"
corrected in place is still that sentence, but the summary of the opening has no word of the
broadcast. It is written as the person wrote it. Words put in the place of misheard ones ("del
martes" for "del jueves") are corrections, whose facts the template writes; one inserted word is
most often the template's own wording ("se abre" written "se dio inicio")."""
_WRITTEN_AS_FIGURES_RE = re.compile(
    r"(cero|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|dieci\w+|veint\w+"
    r"|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|cien|ciento|\w+cientos|quinientos"
    r"|miles?|millon\w*|tres|primer\w*|segund\w*|tercer\w*|cuart\w*|quint\w*|sext\w*|septim\w*"
    r"|setim\w*|octav\w*|noven\w*|decim\w*|undecim\w*|duodecim\w*|media|horas?|minutos?|manana"
    r"|tarde|noche|mediodia|medianoche|lunes|martes|miercoles|jueves|viernes|sabado|domingo)"
)
"""Words a template writes otherwise (numbers and ordinals as figures, times as "10:30 a. m.",
dates), folded."""


def _inserted_words(heard: Sequence[str], said: Sequence[str]) -> list[str]:
    """The words of ``said`` a person inserted into ``heard`` (word lists): those difflib aligns
    with nothing heard, or that lengthen what they replace by :data:`NEW_WORDS_LOST` or more."""
    matcher = difflib.SequenceMatcher(None, heard, said, autojunk=False)
    inserted: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert" or (tag == "replace" and (j2 - j1) - (i2 - i1) >= NEW_WORDS_LOST):
            inserted += said[j1:j2]
    return inserted


def _sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_END_RE.split(text) if sentence.strip()]


def added_by_hand(block: Mapping[str, Any], written: str) -> str:
    """The sentences a person added to what the machine heard of a block that the block's
    rendering (``written``: the text of its paragraphs and tables) does not carry. A template
    that sums a block up (the opening, a communication, the closing) writes the facts extracted
    from the text, so "Se deja constancia de que el recinto fue evacuado." added by a
    stenographer to the opening would not reach the acta. Neither a sentence corrected in place
    (:data:`CORRECTED_SENTENCE_RATIO`) nor one the rendering carries
    (:data:`WRITTEN_SENTENCE_SHARE`) counts as added. "" for a block no person edited, and for a
    block written by hand (no machine text to tell additions from): its template decides."""
    if block.get("human_edited") is not True:
        return ""
    machine = block.get("machine")
    heard = _as_text(machine.get("text")).strip() if isinstance(machine, Mapping) else ""
    text = _as_text(block.get("text")).strip()
    if not heard or not text or text == heard:
        return ""
    heard_of = _sentences(heard)
    heard_sentences = [_fold_same_length(sentence)[:COMPARED_CHARS] for sentence in heard_of]
    heard_words = [_CONTENT_WORD_RE.findall(folded) for folded in heard_sentences]
    heard_with: dict[str, list[int]] = {}  # a word → the heard sentences that have it
    for n, found in enumerate(heard_words):
        for word in set(found):
            heard_with.setdefault(word, []).append(n)
    written_folded = " ".join(_fold_same_length(written).split())
    in_acta = frozenset(_CONTENT_WORD_RE.findall(written_folded))
    added = []
    for sentence in _sentences(text):
        folded = _fold_same_length(sentence)
        words = set(_CONTENT_WORD_RE.findall(folded))
        if not words:
            continue
        # compared in full only with the few heard sentences sharing most of its words (b is the
        # sentence: SequenceMatcher caches what it learns of b)
        shared = collections.Counter(n for word in words for n in heard_with.get(word, ()))
        if " ".join(folded.split()).rstrip(" .") in written_folded:  # written as the person wrote it
            continue
        closest = shared.most_common(1)[0][0] if shared else None  # the heard sentence it is nearest
        if _denials(sentence) - _denials(heard_of[closest] if closest is not None else ""):
            # a denial the heard sentence it is closest to lacks: the rendering may carry its
            # words ("Invitados: …", "Actuó como secretario …"), never what it says ("Los
            # invitados no asistieron.", "El secretario … no asistió.")
            added.append(sentence)
            continue
        if closest is not None:  # what the person inserted into the heard sentence it corrects
            said_words = _CONTENT_WORD_RE.findall(folded[:COMPARED_CHARS])
            inserted = _inserted_words(heard_words[closest], said_words)
            lost = {w for w in inserted if w not in in_acta and not _WRITTEN_AS_FIGURES_RE.fullmatch(w)}
            if len(lost) >= NEW_WORDS_LOST:
                added.append(sentence)
                continue
        if len(in_acta & words) >= WRITTEN_SENTENCE_SHARE * len(words):
            continue
        matcher = difflib.SequenceMatcher(None, b=folded[:COMPARED_CHARS], autojunk=False)
        corrected = False
        for n, _ in shared.most_common(CANDIDATE_SENTENCES):
            matcher.set_seq1(heard_sentences[n])
            if (
                matcher.quick_ratio() >= CORRECTED_SENTENCE_RATIO
                and matcher.ratio() >= CORRECTED_SENTENCE_RATIO
            ):
                corrected = True
                break
        if not corrected:
            added.append(sentence)
    return " ".join(added)


def _person_name(value: Any) -> str:
    if isinstance(value, Mapping):
        for key in ("nombre", "name", "concejal"):
            if value.get(key):
                return _as_text(value[key]).strip()
        return ""
    return _as_text(value).strip()


_NUMBERED = re.compile(r"^\d+[.)]\s")


def _item_text(value: Any) -> str:
    if isinstance(value, Mapping):
        for key in ("titulo", "texto", "descripcion", "nombre", "text"):
            if value.get(key):
                return _as_text(value[key]).strip()
        return ""
    return _as_text(value).strip()


# An agenda item's marker as said: "primero", "punto número dos", "tercer punto", "4.", "cinco".
_ITEM_ORDINAL = (
    r"(?:decim[oa]\s*)?(?:primer[oa]?|segund[oa]|tercer[oa]?|cuart[oa]|quint[oa]|sext[oa]|sep?tim[oa]"
    r"|octav[oa]|noven[oa])|decim[oa]|undecim[oa]|duodecim[oa]|uno|dos|tres|cuatro|cinco|seis|siete"
    r"|ocho|nueve|diez|once|doce|trece|catorce|quince|[0-9]{1,2}"
)
_ITEM_MARKER = rf"(?:punto\s+(?:numero\s+)?)?(?:{_ITEM_ORDINAL})\b(?:\s+punto\b)?"
_ITEM_SEPARATORS = r"[\s,;:.\-–()]*"
# What may come between two items read one after the other: separators and the next marker.
_BETWEEN_ITEMS_RE = re.compile(rf"{_ITEM_SEPARATORS}(?:(?:y\s+)?{_ITEM_MARKER}{_ITEM_SEPARATORS})?")
# The first item's marker, at the end of the words before it.
_FIRST_MARKER_RE = re.compile(rf"(?<![^\W\d_]){_ITEM_MARKER}{_ITEM_SEPARATORS}\Z")
_ACCENTS = str.maketrans("áéíóúüñ", "aeiouun")  # draft.js's ACCENTS, for samePerson


def _fold_same_length(text: str) -> str:
    """Lower case without accents (ü and ñ too), one character for each (so positions match the
    text): the one accent folding of the builder, to compare names, offices, agenda items and
    votes as said and as written."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low.translate(_ACCENTS)


def _read_items(text: str, items: Sequence[str]) -> tuple[str, str] | None:
    """The words of an agenda read aloud that are not its items: (before the first item, after
    the last), when every item ("1. Llamado a lista", its number left out) is found in ``text``
    in order, with nothing but separators and the next item's marker ("Segundo,", "punto
    tres:") between two of them; else None. What is left out of the two is then exactly the
    items, as numbered, and their markers as said."""
    low = _fold_same_length(text)
    spans: list[tuple[int, int]] = []
    at = 0
    for item in items:
        said = _fold_same_length(_NUMBERED.sub("", item, count=1).strip())
        start = low.find(said, at) if said else -1
        if start < 0:
            return None
        if spans and _BETWEEN_ITEMS_RE.fullmatch(low, spans[-1][1], start) is None:
            return None
        spans.append((start, start + len(said)))
        at = start + len(said)
    marker = _FIRST_MARKER_RE.search(low, 0, spans[0][0])
    before = text[: marker.start() if marker else spans[0][0]].strip()
    after = text[spans[-1][1] :].lstrip(" \t\n,;:.-–)").strip()
    return before, after


def _fold(value: str) -> str:
    """A key said as a word ("Sí", "en contra", "Ana Núñez"), to compare: folded
    (:func:`_fold_same_length`), without dots, spaces as underscores."""
    return _fold_same_length(value.strip()).replace(".", "").replace(" ", "_")


def _words(value: str) -> list[str]:
    """The words of a name or an office, lower-case and without accents, to compare them."""
    return _fold_same_length(value).split()


def _vote_kind(value: Any) -> str | None:
    folded = _fold(_as_text(value))
    if folded in ("si", "s", "yes", "a_favor", "afirmativo"):
        return "si"
    if folded in ("no", "n", "en_contra", "negativo"):
        return "no"
    if folded.startswith("absten"):
        return "abstencion"
    return None


_COUNT_KEYS = {
    "si": ("si", "sí", "votos_si", "votos_sí", "a_favor"),
    "no": ("no", "votos_no", "en_contra"),
    "abstencion": ("abstenciones", "abstencion", "abstención", "votos_abstencion"),
}


def _count(votacion: Mapping[str, Any], kind: str) -> int | None:
    for key in _COUNT_KEYS[kind]:
        if (value := _as_count(votacion.get(key))) is not None:
            return value
    return None


def _as_count(value: Any) -> int | None:
    """A count as stored (an int, or digits a person typed), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # isdigit() alone takes '²' (int() refuses it) and any number of digits (int() has a limit).
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) < 10:
        return int(value.strip())
    return None


_ROLL_CALL_KEYS = ("presentes", "ausentes", "excusados", "tarde", "retirados")


def _attendance(key: str, member: Any, labels: Mapping[str, str]) -> str:
    """A member's cell in the roll call: the label of the list, in the feminine for an excused
    member said to be a concejala, with the reason or the arrival time when said; then what
    the member did after leaving (``luego``, see :func:`_arrived`): "Se retiró (9:40 a. m.) y
    regresó (10:15 a. m.)"."""
    label = labels[key]
    if not isinstance(member, Mapping):
        return label
    if key == "excusados" and _as_text(member.get("rol")).strip().lower() == "concejala":
        label = labels["excusada"]
    steps = [_with_detail(label, member)]
    later = member.get("luego")
    for step in later if isinstance(later, list) else []:
        if isinstance(step, Mapping) and step.get("estado") in _LATER_STEPS:
            word = labels[step["estado"]]
            steps.append(_with_detail(word[:1].lower() + word[1:], step))
    return steps[0] if len(steps) == 1 else f"{', '.join(steps[:-1])} y {steps[-1]}"


_LATER_STEPS = ("regreso", "retirados")  # what a member who left may do next, in ``luego``


def _with_detail(label: str, member: Mapping[str, Any]) -> str:
    """The label with the reason or the time said in brackets: "Se retiró (9:40 a. m.)"."""
    detail = _as_text(member.get("motivo")).strip()
    if not detail and member.get("hora") is not None:
        try:
            detail = _f_hora(member["hora"])
        except ValueError:
            detail = _as_text(member["hora"]).strip()
    return f"{label} ({detail})" if detail else label


def _quorum(data: Mapping[str, Any]) -> Any:
    value = data.get("quorum", data.get("quórum"))
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _format_seconds(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _as_text(value)
    total = max(0, int(value))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def _format_instant(value: Any) -> str:
    """An edit time: epoch seconds as UTC "2026-03-14 15:05 UTC"; a string as it is."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M UTC")
        except (OverflowError, OSError, ValueError):
            return ""
    return _as_text(value).strip()


def _initials(author: str) -> str:
    letters = [word[0] for word in re.split(r"[\s._-]+", author) if word]
    return "".join(letters[:3]).upper()


# ---------------------------------------------------------------------------------------------
# Templates: tenant data that says how each template_id is written (see the module docstring)

TABLE_KINDS = ("roll_call", "votes", "agenda", "election", "oath", "recess")
PARAGRAPH_ROLES = tuple(role for role in ROLES if role not in _ROLE_STYLE_TYPE)
DEFAULT_TEMPLATE = "*"

_ELEMENT_KEYS = {
    "paragraph": frozenset({"paragraph", "role", "when", "requires"}),
    "roll_call": frozenset({"table", "role", "when", "requires", "headers", "labels"}),
    "votes": frozenset({"table", "role", "when", "requires", "headers", "labels", "summary"}),
    "agenda": frozenset({"table", "role", "when", "requires", "text"}),
    "election": frozenset({"table", "role", "when", "requires", "summary"}),
    "oath": frozenset({"table", "role", "when", "requires", "summary"}),
    "recess": frozenset({"table", "role", "when", "requires", "summary"}),
}
AGENDA_TEXT_MODES = ("around", "whole")
_ROLL_CALL_LABELS = {
    "presentes": "Presente",
    "ausentes": "Ausente",
    "excusados": "Excusado",
    "excusada": "Excusada",
    "tarde": "Llegó tarde",
    "retirados": "Se retiró",
    "regreso": "regresó",
}
_VOTE_LABELS = {"si": "Sí", "no": "No", "abstencion": "Abstención"}
_DEFAULT_HEADERS = {"roll_call": ("Concejal", "Estado"), "votes": ("Concejal", "Voto")}
_DEFAULT_SUMMARY = (
    "{% if si or no or abstencion or declarado %}"
    "{{ ('Artículos ' if articulos|length > 1 else 'Artículo ') ~ articulos|lista ~ '. ' if articulos }}"
    "{{ partes|lista|capfirst ~ '. ' if partes }}"
    "{% if si or no or abstencion %}{{ 'Votos por el sí: ' ~ si ~ '. ' if si is defined }}"
    "{{ 'Votos por el no: ' ~ no ~ '. ' if no is defined }}"
    "{{ 'Abstenciones: ' ~ abstencion ~ '. ' if abstencion is defined }}"
    "Resultado: {{ objeto ~ ' ' if objeto }}{{ resultado }}{{ ' ' ~ modo if modo }}"
    "{% else %}Resultado: {{ objeto ~ ' ' if objeto }}{{ declarado }}{{ ' ' ~ modo if modo }}{% endif %}"
    "{{ (' en ' ~ ('primer' if debate == 'primero' else debate) ~ ' debate' if debate)"
    " ~ '; pasa a sanción del alcalde' if sancion }}{{ '; se repetirá la votación' if repetir }}.{% endif %}"
)
_DEFAULT_ELECTION = (
    "Resultado: {{ elegido }}, {{ participio }}{{ ' ' ~ cargo if cargo }}{{ ' (resolución No. ' ~ resolucion"
    " ~ (' del ' ~ resolucion_fecha|fecha_larga if resolucion_fecha else '') ~ ')' if resolucion }}."
    "{{ ' Votación: ' ~ escrutinio ~ '.' if escrutinio }}"
)
_DEFAULT_OATH = "Posesión: {{ posesion }}"
_DEFAULT_RECESS = (  # a time ends with its period ("10:58 a. m."): the line needs none of its own
    "{% if fecha %}Sesión suspendida{{ ' a ' ~ inicio|hora(articulo=true) if inicio }} y reanudada el "
    "{{ fecha|fecha_larga }}{{ ' a ' ~ fin|hora(articulo=true) if fin else '.' }}"
    "{% else %}Receso: {% if inicio and fin %}de {{ inicio|hora }} a {{ fin|hora }}"
    "{% elif inicio %}desde {{ inicio|hora(articulo=true) }}"
    "{% else %}hasta {{ fin|hora(articulo=true) }}{% endif %}{% endif %}"
)
_RECORD_SUMMARIES = {"election": _DEFAULT_ELECTION, "oath": _DEFAULT_OATH, "recess": _DEFAULT_RECESS}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_ANNOUNCEMENT_LINE: dict[str, Any] = {
    # "Siguiente punto. Tiene la palabra el concejal X." before X's words: written as said
    "paragraph": "{{ anuncio_texto }}",
    "requires": ["anuncio_texto"],
    "when": "not anuncio",
}
_SPEAKER_LINE: dict[str, Any] = {
    "paragraph": "**{{ orador|nombre|upper }}:** {{ (texto or '')|trim or text }}",
    "requires": ["orador"],
    "when": "not anuncio",  # "Tiene la palabra el concejal X.": the chair's words, not X's
}
_TEXT_LINE: dict[str, Any] = {"paragraph": "{{ text }}", "when": "not orador or anuncio"}
_ROLL_CALL: dict[str, Any] = {"table": "roll_call"}
_QUORUM_LINE: dict[str, Any] = {
    "paragraph": "Quórum: {{ quorum|quorum }}",
    "role": "BODY",
    "requires": ["quorum"],
}
_ROLL_CALL_WHEN = "presentes or ausentes or excusados or tarde or retirados"
_VOTES: dict[str, Any] = {"table": "votes", "role": "BODY"}
_ELECTION: dict[str, Any] = {"table": "election", "role": "BODY"}
_OATH: dict[str, Any] = {"table": "oath", "role": "BODY"}
_RECESS: dict[str, Any] = {"table": "recess", "role": "BODY"}
# The signature line of a signer the session did not name: the office, and a blank for the name,
# in the signatures the builder derives (they have no text: :func:`_signatures_of_the_session`).
_UNNAMED_PRESIDENT: dict[str, Any] = {
    "paragraph": "______________________________\nNombre: ____________________\nPresidente",
    "when": "not presidente and not text",
}
_UNNAMED_SECRETARY: dict[str, Any] = {
    "paragraph": "______________________________\nNombre: ____________________\nSecretario General",
    "when": "not secretario and not text",
}

DEFAULT_TEMPLATES: Mapping[str, list[dict[str, Any]]] = {
    DEFAULT_TEMPLATE: [
        _ANNOUNCEMENT_LINE,
        _SPEAKER_LINE,
        # not after the grant line: the grant is written, and the words said after it follow
        # it (written by the builder when no speaker line holds them), not the grant again
        {**_TEXT_LINE, "when": "anuncio or not (orador or anuncio_texto)"},
        _ROLL_CALL,
        {**_QUORUM_LINE, "when": _ROLL_CALL_WHEN},
        _VOTES,
        _ELECTION,
        _OATH,
        _RECESS,
    ],
    "TPL_LLAMADO_LISTA": [_SPEAKER_LINE, _TEXT_LINE, _ROLL_CALL, _QUORUM_LINE, _VOTES, _RECESS],
    "TPL_FIRMAS": [
        {
            "paragraph": (
                "______________________________\n{{ presidente|nombre|upper }}\n"
                "{{ (presidente_cargo or 'presidente')|titulo_cargo }}"
            ),
            "requires": ["presidente"],
        },
        _UNNAMED_PRESIDENT,
        {
            "paragraph": (
                "______________________________\n{{ secretario|nombre|upper }}\n"
                "{{ (secretario_cargo or 'secretario general')|titulo_cargo }}"
            ),
            "requires": ["secretario"],
        },
        _UNNAMED_SECRETARY,
    ],
    "TPL_ORDEN_DIA": [
        _SPEAKER_LINE,
        {**_TEXT_LINE, "when": "(not orador or anuncio) and not puntos"},
        _ROLL_CALL,
        {**_QUORUM_LINE, "when": _ROLL_CALL_WHEN},
        # the agenda read aloud: its items once, numbered, with the words around them
        {"table": "agenda", "text": "around", "when": "not orador or anuncio"},
        {"table": "agenda", "when": "orador and not anuncio"},
        _VOTES,
        _RECESS,
    ],
}
"""The built-in templates: the generic rendering, used for what a tenant does not define."""


class _Missing(Undefined):
    """A variable the block lacks: false in tests and empty for ``length``/``default``, but
    writing it, iterating it or reading an attribute of it makes the element fail."""

    __slots__ = ()

    def __str__(self) -> str:
        self._fail_with_undefined_error()

    def __iter__(self) -> Any:
        self._fail_with_undefined_error()

    def __contains__(self, item: Any) -> bool:
        self._fail_with_undefined_error()


_STAR_SENTINEL = "\x00"  # stands for "*" from variables while the markup is parsed


def _finalize(value: Any) -> str:
    """Every ``{{ }}`` output: missing/None fail the element; lists are enumerated; asterisks
    from data are protected from the ``**`` markup."""
    if isinstance(value, _Missing):
        value._fail_with_undefined_error()
    if value is None:
        raise UndefinedError("a value is None")
    if isinstance(value, Undefined):  # ``x if cond`` without else: Jinja's plain Undefined
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "sí" if value else "no"
    elif isinstance(value, list | tuple):
        text = _f_lista(value)
    else:
        text = str(value)
    return text.replace(_STAR_SENTINEL, "").replace("*", _STAR_SENTINEL)


_MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
_HHMM = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?\Z")


class UnreadableValue(ValueError):
    """A date or time a person typed that its filter cannot read ("2025-02-30", "24:00"): the
    paragraph it is in is not written, and the block's words are, after its other paragraphs, so
    that what the paragraph said (the opening's first: when, where, who presided) is not lost."""


def _typed_as_read(typed: str) -> bool:
    """Whether a value a filter cannot read is written as typed: figures and words ("3 de junio de
    2025", "9:10 a. m."), as a person writes a date or time to be read."""
    return any(c.isdigit() for c in typed) and any(c.isalpha() for c in typed)


def _f_fecha_larga(value: Any) -> Any:
    if isinstance(value, Undefined):
        return value
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        typed = str(value).strip()
        try:
            day = date.fromisoformat(typed[:10])
        except ValueError:
            if _typed_as_read(typed):
                return typed
            raise UnreadableValue(f"not a date: {value!r}") from None
    return f"{day.day} de {_MONTHS_ES[day.month - 1]} de {day.year}"


def _f_hora(value: Any, articulo: bool = False) -> Any:
    if isinstance(value, Undefined):
        return value
    typed = str(value).strip()
    m = _HHMM.match(typed)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        if m is None and _typed_as_read(typed):
            if articulo and not re.match(r"(?i)las?\s", typed):
                typed = ("la " if re.match(r"0?1\D", typed) else "las ") + typed
            return typed
        raise UnreadableValue(f"not a time of day: {value!r}")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour == 12 and minute == 0:
        shown, suffix = 12, "m."
    elif hour < 12:
        shown, suffix = hour or 12, "a. m."
    else:
        shown, suffix = hour - 12 or 12, "p. m."
    said = f"{shown}:{minute:02d} {suffix}"
    if articulo:
        said = ("la " if shown == 1 else "las ") + said
    return said


def _f_nombre(value: Any) -> Any:
    if isinstance(value, Undefined):
        return value
    name = _person_name(value).rstrip(":").strip()
    if not name:
        raise ValueError("no name")
    return name


def _f_lista(value: Any, conjuncion: str = "y") -> Any:
    if isinstance(value, Undefined | str):
        return value
    if isinstance(value, Mapping):
        return _f_nombre(value)
    items = [name for item in value if (name := _listed_person(item))]
    if not items:
        raise ValueError("empty list")
    if len(items) == 1:
        return items[0]
    last = items[-1]
    if conjuncion == "y" and re.match(r"(?i)h?i(?!e)", last):  # "Ana e Inés"
        conjuncion = "e"
    if any("," in item for item in items):
        # items with commas of their own ("la doctora Ana Ruiz, secretaria de Cultura, delegada del
        # señor alcalde", then "monseñor…"): commas between them would give one's office to the next
        return f"{'; '.join(items[:-1])}; {conjuncion} {last}"
    return f"{', '.join(items[:-1])} {conjuncion} {last}"


def _listed_person(item: Any) -> str:
    """A person in a list: "Nombre (cargo)" when the item carries a cargo."""
    name = _person_name(item)
    cargo = _as_text(item.get("cargo")).strip() if isinstance(item, Mapping) else ""
    return f"{name} ({cargo})" if name and cargo else name


def _f_capfirst(value: Any) -> Any:
    if isinstance(value, Undefined):
        return value
    text = _as_text(value)
    return text[:1].upper() + text[1:]


_LOWER_IN_TITLES = frozenset({"de", "del", "la", "las", "los", "el", "y", "e", "para"})


def _f_titulo_cargo(value: Any) -> Any:
    """An office as a signature's title: "secretaria de la comisión" → "Secretaria de la Comisión"."""
    if isinstance(value, Undefined):
        return value
    words = _as_text(value).split()
    return " ".join(
        w if i and w.lower() in _LOWER_IN_TITLES else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def _f_oracion(value: Any) -> Any:
    if isinstance(value, Undefined):
        return value
    text = _f_capfirst(value).rstrip()
    return text if not text or text[-1] in ".!?…" else text + "."


def _f_sin_punto(value: Any) -> Any:
    if isinstance(value, Undefined):
        return value
    text = _as_text(value).rstrip()
    return text[:-1] if text.endswith(".") and not text.endswith("...") else text


def _f_quorum(value: Any) -> Any:
    if isinstance(value, Undefined):
        return value
    if isinstance(value, bool):
        return "hay quórum" if value else "no hay quórum"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_as_text(v)}" for k, v in value.items())
    return _as_text(value)


def _make_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=_Missing,
        finalize=_finalize,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fecha_larga=_f_fecha_larga,
        hora=_f_hora,
        nombre=_f_nombre,
        lista=_f_lista,
        capfirst=_f_capfirst,
        titulo_cargo=_f_titulo_cargo,
        oracion=_f_oracion,
        sin_punto=_f_sin_punto,
        quorum=_f_quorum,
    )
    return env


_ENV = _make_environment()

_Test = Callable[[Mapping[str, Any]], bool]


def _private_names(node: nodes.Node) -> list[str]:
    """Attributes/items starting with ``_`` (``__class__``…): refused at validation time."""
    found: list[str] = []
    for sub in itertools.chain((node,), node.find_all((nodes.Getattr, nodes.Getitem))):
        if isinstance(sub, nodes.Getattr) and sub.attr.startswith("_"):
            found.append(sub.attr)
        elif (
            isinstance(sub, nodes.Getitem)
            and isinstance(sub.arg, nodes.Const)
            and isinstance(sub.arg.value, str)
            and sub.arg.value.startswith("_")
        ):
            found.append(sub.arg.value)
    return found


def _unknown_callables(node: nodes.Node) -> list[str]:
    """Filters and tests the environment lacks (Jinja2 only notices some when they run)."""
    found: list[str] = []
    for sub in itertools.chain((node,), node.find_all((nodes.Filter, nodes.Test))):
        if isinstance(sub, nodes.Filter) and sub.name not in _ENV.filters:
            found.append(f"filter {sub.name!r}")
        elif isinstance(sub, nodes.Test) and sub.name not in _ENV.tests:
            found.append(f"test {sub.name!r}")
    return found


def _fast_test(node: nodes.Node) -> _Test | None:
    """A plain-Python equivalent of simple ``when`` expressions (names, not, and, or)."""
    if isinstance(node, nodes.Name) and node.name not in _ENV.globals:
        name = node.name
        return lambda ctx: bool(ctx.get(name))
    if isinstance(node, nodes.Not):
        inner = _fast_test(node.node)
        return None if inner is None else (lambda ctx: not inner(ctx))
    if isinstance(node, nodes.And | nodes.Or):
        left, right = _fast_test(node.left), _fast_test(node.right)
        if left is None or right is None:
            return None
        if isinstance(node, nodes.And):
            return lambda ctx: left(ctx) and right(ctx)
        return lambda ctx: left(ctx) or right(ctx)
    return None


def _evaluate(template: Template, ctx: Mapping[str, Any]) -> bool:
    """A compiled ``{% set result = <expr> %}``: is the expression true for ``ctx``?"""
    context = template.new_context(dict(ctx) if not isinstance(ctx, dict) else ctx, shared=True)
    for _ in template.root_render_func(context):
        pass
    return bool(context.vars["result"])


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | Mapping):
        return not value
    return False


@dataclass(frozen=True, slots=True)
class _Element:
    kind: str  # "paragraph" or a table kind
    role: str | None
    requires: tuple[str, ...]
    when: _Test | None
    template: Template | None  # the paragraph text, or the votes summary
    fast_name: str | None  # the paragraph is exactly ``{{ name }}``
    headers: tuple[str, str]
    labels: Mapping[str, str]
    text: str | None = None  # agenda: how the block's text is written with the items

    def applies(self, ctx: Mapping[str, Any]) -> bool:
        for name in self.requires:
            if _is_empty(ctx.get(name)):
                return False
        if self.when is None:
            return True
        try:
            return bool(self.when(ctx))
        except Exception:  # a failing condition (missing value, odd data) is not met
            return False

    def render(self, ctx: Mapping[str, Any]) -> str | None:
        """The paragraph's text, or None when it failed or is blank."""
        try:
            return self.render_or_raise(ctx)
        except Exception:  # missing variable, unreadable value, sandbox refusal: skip it
            return None

    def render_or_raise(self, ctx: Mapping[str, Any]) -> str | None:
        """The paragraph's text, or None when it is blank; raises what its rendering raised."""
        if self.fast_name is not None:
            text = _finalize(ctx[self.fast_name]) if self.fast_name in ctx else ""
        elif self.template is not None:
            # ctx already holds the environment's globals (see _context): share it, no copies
            context = self.template.new_context(dict(ctx) if not isinstance(ctx, dict) else ctx, shared=True)
            text = "".join(self.template.root_render_func(context))
        else:
            return None
        text = text.strip()
        return text or None


@dataclass(frozen=True, slots=True)
class _TemplateSet:
    by_id: Mapping[str, tuple[_Element, ...]]
    star: tuple[_Element, ...]

    def elements(self, template_id: Any) -> tuple[_Element, ...]:
        if isinstance(template_id, str):
            found = self.by_id.get(template_id)
            if found is not None:
                return found
        return self.star


class _Compiler:
    """Validates a templates object and compiles it; collects every problem."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.origin}: {where}: {message}")

    def jinja_problem(self, where: str, what: str, exc: Exception) -> None:
        line = getattr(exc, "lineno", None)
        at = f" (line {line})" if isinstance(line, int) and line > 1 else ""
        message = getattr(exc, "message", None) or str(exc)
        self.problem(where, f"{what}{at}: {message}")

    def safe(self, where: str, what: str, tree: nodes.Node) -> bool:
        private = sorted(set(_private_names(tree)))
        if private:
            self.problem(where, f"{what} uses private attribute(s) {', '.join(private)}: not allowed")
        unknown = sorted(set(_unknown_callables(tree)))
        if unknown:
            self.problem(where, f"{what} uses unknown {', '.join(unknown)}")
        return not private and not unknown

    def text(self, where: str, source: Any, what: str) -> tuple[Template | None, str | None]:
        """Compile a Jinja2 text; returns (template, name when it is exactly ``{{ name }}``)."""
        if not isinstance(source, str):
            self.problem(where, f"{what} must be a string")
            return None, None
        try:
            tree = _ENV.parse(source)
            if not self.safe(where, what, tree):
                return None, None
            template = _ENV.from_string(tree)
        except TemplateError as exc:
            self.jinja_problem(where, f"{what} is not valid Jinja2", exc)
            return None, None
        except Exception as exc:  # the compiler can fail in other ways on odd input
            self.problem(where, f"{what} cannot be compiled: {exc!r}")
            return None, None
        fast = None
        if (
            len(tree.body) == 1
            and isinstance(tree.body[0], nodes.Output)
            and len(tree.body[0].nodes) == 1
            and isinstance(tree.body[0].nodes[0], nodes.Name)
            and tree.body[0].nodes[0].name not in _ENV.globals
        ):
            fast = tree.body[0].nodes[0].name
        return template, fast

    def when(self, where: str, source: Any) -> _Test | None:
        if source is None:
            return None
        if not isinstance(source, str) or not source.strip():
            self.problem(where, '"when" must be a non-empty Jinja2 expression string')
            return None
        try:
            parser = Parser(_ENV, source, state="variable")
            expr = parser.parse_expression()
            if not parser.stream.eos:
                self.problem(where, f'"when" {source!r} has text after the expression')
                return None
            if not self.safe(where, '"when"', expr):
                return None
            fast = _fast_test(expr)
            if fast is not None:
                return fast
            expr.set_environment(_ENV)
            compiled = _ENV.from_string(
                nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)], lineno=1)
            )
        except TemplateError as exc:
            self.jinja_problem(where, f'"when" {source!r} is not a valid Jinja2 expression', exc)
            return None
        except Exception as exc:
            self.problem(where, f'"when" {source!r} cannot be compiled: {exc!r}')
            return None
        return functools.partial(_evaluate, compiled)

    def requires(self, where: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and _IDENTIFIER.match(v) for v in value):
            self.problem(where, '"requires" must be a list of variable names')
            return ()
        return tuple(value)

    def role(self, where: str, value: Any) -> str | None:
        if value is None:
            return None
        if value not in PARAGRAPH_ROLES:
            self.problem(
                where, f"unknown paragraph role {value!r} (paragraph roles: {', '.join(PARAGRAPH_ROLES)})"
            )
            return None
        return str(value)

    def headers(self, where: str, kind: str, value: Any) -> tuple[str, str]:
        default = _DEFAULT_HEADERS[kind]
        if value is None:
            return default
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            self.problem(where, '"headers" must be a list of two strings')
            return default
        return (value[0], value[1])

    def labels(self, where: str, defaults: Mapping[str, str], value: Any) -> Mapping[str, str]:
        if value is None:
            return defaults
        if not isinstance(value, Mapping):
            self.problem(where, '"labels" must be an object')
            return defaults
        unknown = [k for k in value if k not in defaults]
        if unknown:
            self.problem(
                where,
                f'"labels" has unknown key(s) {", ".join(map(repr, unknown))} (known: {", ".join(defaults)})',
            )
        if not all(isinstance(v, str) for v in value.values()):
            self.problem(where, '"labels" values must be strings')
            return defaults
        return {**defaults, **{k: v for k, v in value.items() if k in defaults}}

    def element(self, where: str, raw: Any) -> _Element | None:
        if not isinstance(raw, Mapping):
            self.problem(where, 'an element must be an object with "paragraph" or "table"')
            return None
        if ("paragraph" in raw) == ("table" in raw):
            self.problem(where, 'an element needs exactly one of "paragraph" and "table"')
            return None
        kind = "paragraph" if "paragraph" in raw else raw["table"]
        if kind != "paragraph" and (not isinstance(kind, str) or kind not in TABLE_KINDS):
            self.problem(where, f"unknown table kind {kind!r} (known: {', '.join(TABLE_KINDS)})")
            return None
        unknown = sorted(str(k) for k in raw if k not in _ELEMENT_KEYS[kind])
        if unknown:
            self.problem(where, f"unknown key(s) {', '.join(map(repr, unknown))} for a {kind} element")
        before = len(self.problems)
        role = self.role(where, raw.get("role"))
        requires = self.requires(where, raw.get("requires"))
        when = self.when(where, raw.get("when"))
        template: Template | None = None
        fast: str | None = None
        headers: tuple[str, str] = ("", "")
        labels: Mapping[str, str] = {}
        text_mode: str | None = None
        if kind == "paragraph":
            template, fast = self.text(where, raw["paragraph"], '"paragraph"')
        elif kind == "roll_call":
            headers = self.headers(where, kind, raw.get("headers"))
            labels = self.labels(where, _ROLL_CALL_LABELS, raw.get("labels"))
            said = raw.get("labels")
            if isinstance(said, Mapping) and "excusados" in said and "excusada" not in said:
                # the tenant's word for excused, in the feminine when it is a participle
                word = labels["excusados"]
                labels = {**labels, "excusada": word[:-1] + "a" if word.endswith("ado") else word}
        elif kind == "votes":
            headers = self.headers(where, kind, raw.get("headers"))
            labels = self.labels(where, _VOTE_LABELS, raw.get("labels"))
            summary = raw.get("summary", _DEFAULT_SUMMARY)
            if summary is not None:
                template, _ = self.text(where, summary, '"summary"')
        elif kind in _RECORD_SUMMARIES:
            template, _ = self.text(where, raw.get("summary", _RECORD_SUMMARIES[kind]), '"summary"')
        elif kind == "agenda" and "text" in raw:
            text_mode = raw["text"]
            if text_mode not in AGENDA_TEXT_MODES:
                self.problem(where, f'"text" must be one of {", ".join(map(repr, AGENDA_TEXT_MODES))}')
        if len(self.problems) != before:
            return None
        return _Element(kind, role, requires, when, template, fast, headers, labels, text_mode)

    def compile(self, templates: Any) -> dict[str, tuple[_Element, ...]]:
        if not isinstance(templates, Mapping):
            self.problem("templates", "must be an object mapping template ids to lists of elements")
            return {}
        compiled: dict[str, tuple[_Element, ...]] = {}
        for template_id, raw in templates.items():
            if not isinstance(template_id, str) or not template_id:
                self.problem("templates", f"template id {template_id!r} must be a non-empty string")
                continue
            if not isinstance(raw, list):
                self.problem(template_id, "must be a list of elements")
                continue
            elements = [self.element(f"{template_id} element {i + 1}", el) for i, el in enumerate(raw)]
            compiled[template_id] = tuple(el for el in elements if el is not None)
        return compiled


def _compile(templates: Any) -> tuple[_TemplateSet | None, tuple[str, ...]]:
    builtin = _Compiler("built-in templates").compile(DEFAULT_TEMPLATES)
    compiler = _Compiler("templates")
    tenant = compiler.compile(templates)
    if compiler.problems:
        return None, tuple(compiler.problems)
    if DEFAULT_TEMPLATE in tenant:  # the tenant's catch-all wins over built-in specific lists
        return _TemplateSet(tenant, tenant[DEFAULT_TEMPLATE]), ()
    return _TemplateSet({**builtin, **tenant}, builtin[DEFAULT_TEMPLATE]), ()


@functools.lru_cache(maxsize=32)
def _compile_cached(canonical: str) -> tuple[_TemplateSet | None, tuple[str, ...]]:
    return _compile(json.loads(canonical))


def _template_set(templates: Any) -> tuple[_TemplateSet | None, tuple[str, ...]]:
    """Compile (or reuse the compilation of) a templates object."""
    try:
        canonical = json.dumps(templates or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON data: compile without the cache
        return _compile(templates)
    return _compile_cached(canonical)


def check_templates(templates: Any) -> list[str]:
    """Human-readable problems of a tenant's templates object; ``[]`` when all fine."""
    return list(_template_set(templates)[1])


def _context(data: Mapping[str, Any], text: str, label: Any, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of a block's templates; it includes the environment's globals (range,
    dict…) so that templates render with a shared context, without copying it."""
    ctx = dict(_ENV.globals)
    ctx.update((k, v) for k, v in data.items() if isinstance(k, str) and v is not None)
    ctx["text"] = text
    texto = ctx.get("texto")
    if isinstance(texto, str) and texto != text and texto == " ".join(text.split()):
        # CORE's words are the text with its spacing made one: a person's line breaks and tabs
        # (an edited intervention's paragraphs) are written as the person wrote them
        ctx["texto"] = text.strip()
    ctx["label"] = _as_text(label)
    ctx["metadata"] = metadata
    return ctx


# ---------------------------------------------------------------------------------------------
# Rendering


@dataclass(slots=True)
class _PendingComment:
    runs: list[Any]
    text: str


@dataclass(slots=True)
class _Renderer:
    doc: Any
    roles: Mapping[str, str]
    images: Mapping[str, bytes]
    next_shape_id: int
    templates: _TemplateSet
    metadata: Mapping[str, Any] = field(default_factory=dict)
    mark_human_edits: bool = False
    vote_plans: Mapping[int, _VotePlan] = field(default_factory=dict)
    election_plans: Mapping[int, _ElectionPlan] = field(default_factory=dict)
    roll_calls: Mapping[int, Mapping[str, list[Any]] | None] = field(default_factory=dict)
    recesses: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    image_count: int = 0
    comments: list[_PendingComment] = field(default_factory=list)

    def style(self, role: str) -> str:
        return self.roles.get(role) or self.roles["BODY"]

    def render(self, container: Any, block: Mapping[str, Any], zone: str, geo: _Geometry) -> None:
        before = _last_child(container)
        kind = block.get("type")
        if kind == "IMAGE":
            self.image(container, block, geo)
        elif kind == "ERROR_PENDING_REVIEW":
            self.pending(container, block)
        else:
            self.template(container, block, zone, geo)
        if self.mark_human_edits and block.get("human_edited") is True:
            self.mark_edit(container, before, block)
        if low_confidence(block):
            self.mark_low_confidence(container, before)

    # -- TEMPLATE -------------------------------------------------------------------------

    def template(self, container: Any, block: Mapping[str, Any], zone: str, geo: _Geometry) -> None:
        data = block.get("structured_data") or {}
        if not isinstance(data, Mapping):
            data = {}
        text = _as_text(block.get("text"))
        zone_role = "SIGNATURE_BLOCK" if zone == SIGNATURE_ZONE else "BODY"
        ctx = _context(data, text, block.get("label"), self.metadata)
        before = _last_child(container)
        wrote_paragraph = wrote_any = unreadable = False
        written: list[str] = []  # the paragraphs the template wrote, as written
        in_a_call = id(block) in self.roll_calls
        whole_call = self.roll_calls.get(id(block))
        for element in self.templates.elements(block.get("template_id")):
            if element.kind == "roll_call" and in_a_call:
                # one roll call said over several blocks: its one table, after its last block
                if whole_call is None or not element.applies({**ctx, **whole_call}):
                    continue
                wrote_any = self.roll_call(container, whole_call, geo, element) or wrote_any
                continue
            if not element.applies(ctx):
                continue
            role = element.role or zone_role
            if element.kind == "paragraph":
                try:
                    rendered = element.render_or_raise(ctx)
                except UnreadableValue:
                    rendered, unreadable = None, True
                except Exception:  # missing variable, sandbox refusal: skip it
                    rendered = None
                if rendered is not None:
                    self.marked_paragraph(container, self.style(role), rendered)
                    wrote_paragraph = wrote_any = True
                    written.append(rendered.replace(_STAR_SENTINEL, "*"))
            elif element.kind == "roll_call":
                wrote_any = self.roll_call(container, data, geo, element) or wrote_any
            elif element.kind == "votes":
                plan = self.vote_plans.get(id(block))
                wrote_any = self.vote(container, data.get("votacion"), geo, element, ctx, plan) or wrote_any
            elif element.kind == "agenda":
                wrote_items, wrote_text = self.agenda(container, data, text, self.style(role), element.text)
                wrote_any = wrote_items or wrote_any
                wrote_paragraph = wrote_text or wrote_paragraph
            elif element.kind == "election":
                if (election := self.election_plans.get(id(block))) is not None:
                    summary_ctx = {**ctx, **election.summary}
                    wrote_any = self.record(container, element, summary_ctx, election.check) or wrote_any
            elif element.kind == "oath" and isinstance(data.get("posesion"), str):
                wrote_any = self.record(container, element, ctx, None) or wrote_any
            elif element.kind == "recess" and (recess := self.recesses.get(id(block))) is not None:
                recess_ctx = {**ctx, "fecha": None, **recess}  # the block's own date is not the resumption's
                wrote_any = self.record(container, element, recess_ctx, None) or wrote_any
        words = _as_text(data.get("texto")).strip()
        granted = bool(data.get("anuncio_texto")) and not data.get("anuncio")
        if written and granted and words and not any(words in paragraph for paragraph in written):
            # a grant and the words after it in one block, their speaker not written (no name
            # said or known for "el secretario de Hacienda", a name heard garbled): the grant
            # was written, and the words are, as said, after it
            _add_paragraph(container, self.style(zone_role), words)
        if wrote_paragraph and unreadable and text:
            # a date or time typed otherwise lost a paragraph of the summary: the words it was
            # made from are written after it
            _add_paragraph(container, self.style(zone_role), text)
        elif wrote_paragraph and block.get("human_edited") is True:
            # a person's sentences the template does not write (it sums the block up): after it
            rendered = " ".join("".join(e.itertext()) for e in _children_after(container, before))
            if added := added_by_hand(block, rendered):
                _add_paragraph(container, self.style(zone_role), added)
        if not wrote_paragraph and (text or not wrote_any):
            # the fallback: what was said is kept, where the block begins
            p = _add_paragraph(container, self.style(zone_role), text)
            if before is None:
                container.insert(0, p)
            else:
                before.addnext(p)
            spacer = p.getnext()
            if spacer is not None and spacer.tag == W_P and len(spacer) == 0:
                container.remove(spacer)  # it kept two tables apart; p does that now

    def marked_paragraph(self, container: Any, style_id: str, text: str) -> None:
        """A paragraph whose ``**…**`` parts are SPEAKER runs (bold without a SPEAKER style)."""
        p = _add_paragraph(container, style_id)
        if "**" not in text:
            _add_run(p, text.replace(_STAR_SENTINEL, "*"))
            return
        parts = text.split("**")
        if len(parts) % 2 == 0:  # an unpaired marker is literal text
            parts[-2:] = [parts[-2] + "**" + parts[-1]]
        speaker = self.roles.get("SPEAKER")
        for i, part in enumerate(parts):
            if part:
                part = part.replace(_STAR_SENTINEL, "*")
                if i % 2:
                    _add_run(p, part, style_id=speaker, bold=speaker is None)
                else:
                    _add_run(p, part)

    def roll_call(self, container: Any, data: Mapping[str, Any], geo: _Geometry, element: _Element) -> bool:
        rows: list[tuple[str, str]] = []
        for key in _ROLL_CALL_KEYS:
            members = data.get(key)
            if isinstance(members, list):
                rows.extend((_person_name(m), _attendance(key, m, element.labels)) for m in members)
        if not rows:
            return False
        _add_table(container, self.roles.get("TABLE"), element.headers, rows, (0.7, 0.3), geo)
        return True

    def agenda(
        self, container: Any, data: Mapping[str, Any], text: str, style_id: str, mode: str | None
    ) -> tuple[bool, bool]:
        """The items as numbered paragraphs, with the block's text as ``mode`` says (see the
        module docstring); returns (anything written, the text written)."""
        items = data.get("puntos")
        if not isinstance(items, list) or not items:
            return False, False
        texts = [_item_text(item) for item in items]
        read = _read_items(text, texts) if mode is not None else None
        if mode == "whole" and read is not None:
            _add_paragraph(container, style_id, text)  # the items are in it, as read
            return True, True
        if mode is not None and read is None and text.strip():
            _add_paragraph(container, style_id, text)  # the items are not found in it: keep both
        if read is not None and read[0]:
            _add_paragraph(container, style_id, read[0])
        for number, item_text in enumerate(texts, start=1):
            # Items may carry the number as announced ("5. …" when a reading goes on in a
            # second block); number the others by position.
            _add_paragraph(
                container, style_id, item_text if _NUMBERED.match(item_text) else f"{number}. {item_text}"
            )
        if read is not None and read[1]:
            _add_paragraph(container, style_id, read[1])
        return True, mode is not None and bool(text.strip())

    def vote(
        self,
        container: Any,
        votacion: Any,
        geo: _Geometry,
        element: _Element,
        ctx: Mapping[str, Any],
        plan: _VotePlan | None,
    ) -> bool:
        """The block's nominal list, then the summary of the vote when the plan puts it here
        (without a plan: the block's own vote)."""
        if not isinstance(votacion, Mapping):
            return False
        votos = votacion.get("votos")
        if plan is not None and plan.votos is not None:  # one list read over several blocks
            votos = list(plan.votos) or None
        given = {kind: _count(votacion, kind) for kind in _VOTE_LABELS}
        result_said = bool(_as_text(votacion.get("resultado")).strip())  # "Aprobado.": no count said
        if not isinstance(votos, list) and all(v is None for v in given.values()) and not result_said:
            return False
        # what the members' list counts (each side known: none listed is a zero), else nothing
        counted: dict[str, int | None] = dict.fromkeys(_VOTE_LABELS, 0 if isinstance(votos, list) else None)
        if isinstance(votos, list):
            rows: list[tuple[str, str]] = []
            for entry in votos:
                if isinstance(entry, Mapping):
                    raw_vote = entry.get("voto")
                    kind = _vote_kind(raw_vote)
                    if kind is not None:
                        counted[kind] = (counted[kind] or 0) + 1
                    answer = _as_text(raw_vote)  # another answer said ("impedida"), as a label
                    label = element.labels[kind] if kind is not None else answer[:1].upper() + answer[1:]
                    rows.append((_person_name(entry), label))
                else:
                    rows.append((_person_name(entry), ""))
            _add_table(container, self.roles.get("TABLE"), element.headers, rows, (0.7, 0.3), geo)
        if plan is not None:
            if plan.summary is None:
                return True
            votacion = plan.summary
            given = {kind: _count(votacion, kind) for kind in _VOTE_LABELS}
            counted = dict.fromkeys(_VOTE_LABELS, None)  # the plan's totals hold the list's count
        totals = {kind: counted[kind] if (said := given[kind]) is None else said for kind in counted}
        known = {kind: count for kind, count in totals.items() if count is not None}
        declared = _as_text(votacion.get("resultado")).strip().upper()
        result = declared or _counted_result(known, _as_count(votacion.get("mayoria_requerida")))
        style = self.style(element.role or "BODY")
        runs: list[Any] = []
        if element.template is not None:
            summary_ctx: dict[str, Any] = {
                **_ENV.globals,
                "text": ctx.get("text", ""),
                "metadata": ctx.get("metadata", {}),
                "votacion": votacion,
                **known,  # a side not said is missing: the template writes only the ones said
                "resultado": result,
                "repetir": votacion.get("repetir") is True,
                **{key: votacion[key] for key in VOTE_FACTS if votacion.get(key)},
            }
            if len(known) == len(totals):
                summary_ctx["total"] = sum(known.values())
            if declared:
                summary_ctx["declarado"] = declared
            if objeto := _as_text(votacion.get("objeto")).strip():
                summary_ctx["objeto"] = objeto  # what was decided: "impedimento"
            summary = element.render(summary_ctx)
            if summary is not None:
                self.marked_paragraph(container, style, summary)
                paragraph = _last_child(container)
                runs = list(paragraph.iterchildren(W_R))
                if not runs:  # only markup ("****"): nothing to write
                    container.remove(paragraph)
        if plan is not None and plan.check is not None:
            # The reviewer's note goes over the summary; with none written (the tenant has no
            # summary, or it came out empty), on a paragraph of its own, so it is never lost.
            if not runs:
                runs = [_add_run(_add_paragraph(container, style), "")]
            self.comments.append(_PendingComment([runs[0], runs[-1]], _clean(plan.check)))
        return True

    def record(self, container: Any, element: _Element, ctx: Mapping[str, Any], check: str | None) -> bool:
        """A line recording what the block declares (an election's result, the oath), written
        after its words, which it does not replace; ``check``: a Word comment over it."""
        rendered = element.render(ctx)
        if rendered is None:
            return False
        self.marked_paragraph(container, self.style(element.role or "BODY"), rendered)
        runs = list(_last_child(container).iterchildren(W_R))
        if not runs:  # only markup ("****"): nothing to write
            container.remove(_last_child(container))
            return False
        if check is not None:
            self.comments.append(_PendingComment([runs[0], runs[-1]], _clean(check)))
        return True

    # -- human edits ----------------------------------------------------------------------

    def mark_edit(self, container: Any, before: Any, block: Mapping[str, Any]) -> None:
        """A comment over the block's paragraphs saying who edited it."""
        runs = [r for p in _children_after(container, before) if p.tag == W_P for r in p.iterchildren(W_R)]
        if not runs:
            return
        who = _as_text(block.get("edited_by")).strip() or _as_text(block.get("created_by")).strip()
        text = f"Editado por {who or 'un usuario'}"
        when = _format_instant(block.get("edited_at"))
        if when:
            text += f" ({when})"
        self.comments.append(_PendingComment([runs[0], runs[-1]], _clean(text) + "."))

    def mark_low_confidence(self, container: Any, before: Any) -> None:
        """A comment over the block's paragraphs: its words were recognized with low confidence
        (:func:`low_confidence`) and nobody has checked them."""
        runs = [r for p in _children_after(container, before) if p.tag == W_P for r in p.iterchildren(W_R)]
        if runs:
            self.comments.append(_PendingComment([runs[0], runs[-1]], LOW_CONFIDENCE_COMMENT))

    # -- IMAGE ----------------------------------------------------------------------------

    def image(self, container: Any, block: Mapping[str, Any], geo: _Geometry) -> None:
        block_id = block.get("block_id")
        asset = block.get("asset") or {}
        asset_id = asset.get("asset_id") if isinstance(asset, Mapping) else None
        if not asset_id:
            raise BuildError(f"block {block_id!r}: IMAGE block has no asset.asset_id")
        data = self.images.get(asset_id)
        if data is None:
            raise BuildError(f"block {block_id!r}: image bytes for asset {asset_id!r} missing")
        try:
            r_id, image = self.doc.part.get_or_add_image(io.BytesIO(data))
            px_w, px_h = int(image.px_width), int(image.px_height)
        except Exception as exc:  # python-docx's image header parsers raise assorted errors
            raise BuildError(
                f"block {block_id!r}: asset {asset_id!r} is not a supported image: {exc}"
            ) from exc
        if px_w <= 0 or px_h <= 0:
            raise BuildError(f"block {block_id!r}: asset {asset_id!r} has no pixel size")

        natural_w, natural_h = px_w * EMU_PER_PX_96DPI, px_h * EMU_PER_PX_96DPI
        scale = min(1.0, geo.width_emu / natural_w, geo.height_emu / natural_h)
        cx, cy = max(1, int(natural_w * scale)), max(1, int(natural_h * scale))

        caption = _clean(  # the block's text is the caption a person can correct
            _as_text(block.get("text")).strip()
            or _as_text(asset.get("caption")).strip()
            or _as_text(asset.get("filename")).strip()
            or _as_text(asset_id)
        )
        filename = _clean(_as_text(asset.get("filename")).strip()) or image.filename
        self.next_shape_id += 1
        inline = CT_Inline.new_pic_inline(self.next_shape_id, r_id, filename, Emu(cx), Emu(cy))
        inline.docPr.set("descr", caption)

        p = _add_paragraph(container, self.style("BODY"), keep_next=True, center=True)
        etree.SubElement(p, W_R).add_drawing(inline)

        self.image_count += 1
        number = str(self.image_count)
        cap = _add_paragraph(container, self.style("CAPTION"))
        _add_run(cap, "Imagen ")
        _add_field(cap, "SEQ Imagen \\* ARABIC", number)
        _add_run(cap, f". {caption}")

    # -- ERROR_PENDING_REVIEW -------------------------------------------------------------

    def pending(self, container: Any, block: Mapping[str, Any]) -> None:
        p = _add_paragraph(container, self.style("PENDING_REVIEW"))
        runs = [_add_run(p, PENDING_LABEL)]
        text = _as_text(block.get("text")).strip()
        if text:
            runs.append(_add_run(p, f" {text}"))
        self.comments.append(_PendingComment([runs[0], runs[-1]], _pending_comment_text(block)))


def _pending_comment_text(block: Mapping[str, Any]) -> str:
    error = block.get("error") or {}
    if not isinstance(error, Mapping):
        error = {}
    lines = [f"Fragmento pendiente de revisión (bloque {_as_text(block.get('block_id'))})."]
    code = _as_text(error.get("code")).strip() or "DESCONOCIDO"
    message = _as_text(error.get("message")).strip()
    lines.append(f"Error {code}: {message}" if message else f"Error {code}.")
    if error.get("attempts") is not None:
        lines.append(f"Intentos: {_as_text(error.get('attempts'))}")
    audio = block.get("audio_metadata") or {}
    if not isinstance(audio, Mapping):
        audio = {}
    ref = _as_text(audio.get("audio_ref")).strip()
    start, end = audio.get("time_start"), audio.get("time_end")
    where = f"Audio: {ref}" if ref else "Audio: sin referencia"
    if start is not None and end is not None:
        where += f", desde {_format_seconds(start)} hasta {_format_seconds(end)}"
    elif start is not None:
        where += f", desde {_format_seconds(start)}"
    elif end is not None:
        where += f", hasta {_format_seconds(end)}"
    lines.append(where)
    return _clean("\n".join(lines))


LOW_ASR_CONFIDENCE = 0.70
"""An audio block whose ``audio_metadata.asr_confidence`` (exp of the mean ``avg_logprob`` of
its segments, :mod:`server.services.asr`) is below this, and that no person has edited, is
flagged for review: a Word comment here, "Baja confianza — revisar con el audio" in the console
(``LOW_ASR_CONFIDENCE`` in static/js/draft.js mirrors this value). Measured with
bench/asr_confidence.py on the 8 committed fixtures, clean and degraded (white noise at 20, 10,
5, 0 and -5 dB SNR; gain 0.05 and 0.01): 64 transcripts. All 41 under 0.70 had words wrong; the
9 fully correct ones scored 0.77-0.98; 24 of the 25 garbled ones (half the words or more wrong)
scored 0.23-0.62 (the other 0.74); of the 22 with a sixth to a half of the words wrong, 15 are
under 0.70 (clean speech included: "Tiene la palabra el concejal de los lomas.", 0.66). At 0.62
most of those would pass unflagged; at 0.75 the line would be within 0.03 of correct ones."""
LOW_CONFIDENCE_COMMENT = "Reconocimiento de baja confianza: verificar con el audio."
EMPTY_ZONE_COMMENT = "Sección sin contenido en la sesión grabada."


def low_confidence(block: Mapping[str, Any]) -> bool:
    """Whether a block's words came from speech recognized with low confidence
    (:data:`LOW_ASR_CONFIDENCE`) and no person has edited it since (blocks pending review have
    their own comment)."""
    if block.get("type") == "ERROR_PENDING_REVIEW" or block.get("human_edited") is True:
        return False
    audio = block.get("audio_metadata")
    confidence = audio.get("asr_confidence") if isinstance(audio, Mapping) else None
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        return False
    return confidence < LOW_ASR_CONFIDENCE


def _empty_zone_comment(
    zone: _Zone, container: Any, style: str, levels: Mapping[str, int]
) -> _PendingComment:
    """A comment for a zone printed without content: over the section heading right before
    it (HEADING_1 or HEADING_2, with text), else over the zone's own empty paragraph."""
    heading = zone.element.getprevious()
    runs: list[Any] = []
    if heading is not None and _heading_level(heading, levels) is not None:
        runs = list(heading.iterchildren(W_R)) if _paragraph_text(heading).strip() else []
    if not runs:
        runs = [_add_run(_add_paragraph(container, style), "")]
    return _PendingComment([runs[0], runs[-1]], EMPTY_ZONE_COMMENT)


# ---------------------------------------------------------------------------------------------
# Zone filling


def _zone_container(zone: _Zone) -> tuple[Any, Any]:
    """An element to append the zone's content to (emptied), in the document's own tree, and the
    paragraph of the emptied content control that ended a section (its ``sectPr``: a landscape
    annex, other margins or headers after it), emptied of its text, or None: it goes back at the
    end of the zone (:func:`_finish_zone`), or in its place if the zone is left out, so the
    document keeps its sections."""
    if zone.is_sdt:
        sdt = zone.element
        sdt_pr = sdt.find(W_SDTPR)
        if sdt_pr is not None:
            for flag in sdt_pr.findall(W_SHOWINGPLCHDR):
                sdt_pr.remove(flag)
        content = sdt.find(W_SDTCONTENT)
        if content is None:
            content = etree.SubElement(sdt, W_SDTCONTENT)
        section_end = None
        for child in list(content):
            if child.tag == W_P and child.find(f"{W_PPR}/{W_SECTPR}") is not None:
                section_end = child  # the last one, if a placeholder held several
            content.remove(child)
        if section_end is not None:
            for child in list(section_end):
                if child.tag != W_PPR:
                    section_end.remove(child)
        return content, section_end
    # fallback marker paragraph: build in a scratch element next to it, then move into place
    scratch = oxml_parser.makeelement(W_SDTCONTENT)
    zone.element.addnext(scratch)
    return scratch, None  # the marker itself keeps its sectPr (see _finish_zone)


def _finish_zone(zone: _Zone, container: Any, empty_style: str, section_end: Any = None) -> None:
    if section_end is not None:
        container.append(section_end)  # the section ends after the zone's content, as it did
    if len(container) == 0:
        _add_paragraph(container, empty_style)
    if zone.is_sdt:
        return
    marker = zone.element
    for child in list(container):
        marker.addprevious(child)
    container.getparent().remove(container)
    if marker.find(f"{W_PPR}/{W_SECTPR}") is not None:
        # the marker paragraph also ends a section: keep it (and its sectPr), drop its content
        for child in list(marker):
            if child.tag != W_PPR:
                marker.remove(child)
    else:
        marker.getparent().remove(marker)


def _heading_level(el: Any, levels: Mapping[str, int]) -> int | None:
    """1 or 2 for a paragraph in the tenant's HEADING_1 or HEADING_2 style, else None."""
    if el.tag != W_P:
        return None
    style = el.find(f"{W_PPR}/{W_PSTYLE}")
    return levels.get(style.get(W_VAL) or "") if style is not None else None


def _shield_first_paragraph(content: Any) -> None:
    """Put a paragraph of no visible height before a zone's first paragraph when that one carries a
    Word comment or line breaks. LibreOffice (7.4, Debian 12's) drops the first paragraph of a
    block-level content control that carries a comment, text and all, and prints its line breaks
    as nothing: an acta of live audio, whose zones often begin with a block recognized with low
    confidence, opened there without its opening sentence, and an unnamed signer's lines ran
    together. Word shows either way; the shield is empty, 1 pt high, and holds no text."""
    first = content[0] if content is not None and len(content) else None
    if first is None or first.tag != W_P:
        return
    if first.find(f".//{W_COMMENTREFERENCE}") is None and first.find(f".//{W_BR}") is None:
        return
    shield = oxml_parser.makeelement(W_P)
    ppr = etree.SubElement(shield, W_PPR)
    etree.SubElement(ppr, W_SPACING, {W_BEFORE: "0", W_AFTER: "0", W_LINE: "20", W_LINERULE: "exact"})
    mark = etree.SubElement(ppr, W_RPR)
    etree.SubElement(mark, W_SZ, {W_VAL: "2"})
    first.addprevious(shield)


def is_shield(element: Any) -> bool:
    """Whether ``element`` is the empty paragraph :func:`_shield_first_paragraph` puts first in a
    zone (readers of the acta's structure pass over it)."""
    if element.tag != W_P or element.find(f".//{W_T}") is not None:
        return False
    spacing = element.find(f"{W_PPR}/{W_SPACING}")
    return spacing is not None and spacing.get(W_LINE) == "20" and spacing.get(W_LINERULE) == "exact"


def _leave_out(
    zone: _Zone,
    container: Any,
    levels: Mapping[str, int],
    skeleton_paragraphs: Set[Any],
    section_end: Any = None,
) -> None:
    """Take an empty zone out of the document, and the section heading right before it when
    nothing is left under that heading (it is followed by a heading of its level or above, or
    by the end of the body), and so on up (a heading whose last subheading went). A heading over
    another zone still there stays, and so does a paragraph that ends a section (its
    ``sectPr``), emptied: a marker's, or the one a content control held (``section_end``), put
    where the control was. Only the skeleton's own headings (``skeleton_paragraphs``) are taken
    for the zone's: one the acta wrote (a template's, last in the marker zone before) stays."""
    element = zone.element
    heading = element.getprevious()
    if section_end is not None:
        element.addprevious(section_end)
    if not zone.is_sdt:
        container.getparent().remove(container)
    if not zone.is_sdt and element.find(f"{W_PPR}/{W_SECTPR}") is not None:
        for child in list(element):
            if child.tag != W_PPR:
                element.remove(child)
    else:
        element.getparent().remove(element)
    while heading is not None:
        level = _heading_level(heading, levels)
        if (
            level is None
            or heading.find(f"{W_PPR}/{W_SECTPR}") is not None
            or heading not in skeleton_paragraphs
        ):
            return
        after = heading.getnext()
        below = _heading_level(after, levels) if after is not None else None
        if not (after is None or after.tag == W_SECTPR or (below is not None and below <= level)):
            return
        above = heading.getprevious()
        heading.getparent().remove(heading)
        heading = above


def _max_shape_id(doc: Any) -> int:
    ids = [int(v) for v in doc.element.xpath("//@id") if str(v).isdigit()]
    return max(ids, default=0)


def _counted_result(totals: Mapping[str, int], required: int | None = None) -> str:
    """The result of a vote none was said for: the side with more votes, a tie when sí and no
    are even (the rules call for the vote to be repeated: it is not a refusal); a side not
    said counts none. A vote the chair said needs a qualified majority (``required`` sí votes:
    "la mitad más uno de los miembros…, es decir, once votos") passes with that many, not with
    more sí than no: 10 to 7 of 21 members is not approved."""
    si, no = totals.get("si", 0), totals.get("no", 0)
    if required is not None and required > 0:
        return "APROBADO" if si >= required else "NEGADO"
    if si == no and si:
        return "EMPATE"
    return "APROBADO" if si > no else "NEGADO"


# The council's own president and general secretary, the acta's signers: the office alone or the
# council's ("presidenta del Concejo Distrital de Santiago de Cali para el año…", "secretario
# general de la corporación"), never another body's ("presidente de la Comisión de Presupuesto").
_OF_THE_COUNCIL = (
    r"(?:\s+(?:(?:del|de\s+la)\s+(?:honorable\s+)?(?:concejo|corporacion)\b(?!.*\bcomision\b)"
    r"|(?:para|por)\s+(?:el|la|los)\b(?!.*\b(?:comision|junta|mesa)\b)).*)?"
)
_COUNCIL_PRESIDENT_RE = re.compile(rf"president[ea]{_OF_THE_COUNCIL}")
_COUNCIL_SECRETARY_RE = re.compile(rf"secretari[oa]\s+general{_OF_THE_COUNCIL}")


def _signatures_of_the_session(blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The acta is signed by its president and secretary: when no block was said for the
    signatures, the ones the session named, written by the tenant's TPL_FIRMAS. The ones the
    opening named (``preside``, ``secretario``, the secretary with the office as said,
    ``secretario_cargo``; a president presiding provisionally as "presidente provisional", one
    said to be "la presidenta", ``preside_rol`` "concejala", as "presidenta"), and for an office
    the opening names nobody for, the one the session's first blocks name
    (:func:`_signers_at_the_start`: the president addressed by name, the secretary introducing
    herself, in the roll call); unless the session elected its president or its general
    secretary (an election declared,
    ``eleccion``: "ha sido elegida presidenta… la concejala X", the office alone or the
    council's: "presidenta del Concejo…", not "presidente de la Comisión de Presupuesto"): then
    the one elected, with the office as said ("presidenta", "secretaria general"), who holds it
    when the acta is signed.
    Derived when the document is built, not stored: the blocks (and the content hash over them)
    stay what was said and corrected. Signers it does not name are not made up: the block names
    only the ones said, and its templates write the others' signature lines with the office and
    a blank for the name (the block has no text, unlike a block said for the signatures)."""
    signers: dict[str, Any] = {}
    opened = False
    for block in blocks:
        data = block.get("structured_data")
        if block.get("deleted") or not isinstance(data, Mapping):
            continue
        if (
            block.get("template_id") == "TPL_APERTURA"
            and not opened
            and (data.get("preside") or data.get("secretario"))
        ):
            opened = True
            signers |= _opening_signers(data, _as_text(block.get("text")))
        election = data.get("eleccion")
        if isinstance(election, Mapping) and (elected := _as_text(election.get("elegido")).strip()):
            office = " ".join(_words(_as_text(election.get("cargo"))))
            words = _as_text(election.get("cargo")).split()
            if _COUNCIL_PRESIDENT_RE.fullmatch(office):
                signers |= {"presidente": elected, "presidente_cargo": words[0]}
            elif _COUNCIL_SECRETARY_RE.fullmatch(office):
                signers |= {"secretario": elected, "secretario_cargo": " ".join(words[:2])}
    for office, said in _signers_at_the_start(blocks).items():
        if not signers.get(office):
            signers |= said
    return {
        "block_id": "signatures-of-the-session",
        "type": "TEMPLATE",
        "template_id": "TPL_FIRMAS",
        "target_placeholder": SIGNATURE_ZONE,
        "text": "",
        "structured_data": {k: v for k, v in signers.items() if v},
    }


_SESSION_START = ("TPL_APERTURA", "TPL_LLAMADO_LISTA")
_SIGNERS = ("presidente", "secretario")


def _signatures_completed(
    in_zone: Sequence[Mapping[str, Any]], blocks: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The signatures zone's blocks, where the signatures said ("Firman el presidente Juan
    Carlos Pérez Gómez y la secretaria general.") leave an office without its signer: the acta
    is signed by both its president and its secretary, so the said blocks become one, in the
    place of the first, naming each office as said and, for an office none of them named, the
    signer :func:`_signatures_of_the_session` finds (the opening's secretary), else the line with
    a blank for the name. An office kept as said keeps the session's way of saying it
    ("presidenta") when the session named the same person. Said blocks that name nobody are
    written as before (their words), followed by the session's signatures. Where the said blocks
    name both, and for the zone's other blocks, nothing changes."""
    said = [
        b
        for b in in_zone
        if b.get("template_id") == "TPL_FIRMAS" and isinstance(b.get("structured_data"), Mapping)
    ]
    named: dict[str, Any] = {}
    for block in said:
        named |= {k: v for k, v in block["structured_data"].items() if v}
    if not said or all(named.get(office) for office in _SIGNERS):
        return list(in_zone)
    session = _signatures_of_the_session(blocks)
    if not any(named.get(office) for office in _SIGNERS):
        return [*in_zone, session]  # said without a name ("Firma el presidente encargado."): kept
    data = dict(session["structured_data"])
    for office in _SIGNERS:
        if not (name := named.get(office)):
            continue
        same_person = _words(_as_text(data.get(office))) == _words(_as_text(name))
        office_said = named.get(f"{office}_cargo") or (data.get(f"{office}_cargo") if same_person else None)
        data = {k: v for k, v in data.items() if not k.startswith(office)} | {office: name}
        if office_said:
            data[f"{office}_cargo"] = office_said
    one = {**said[0], "structured_data": data}
    if not all(data.get(office) for office in _SIGNERS):
        one["text"] = ""  # the templates write a signer nobody named as a blank line only then

    return [one if b is said[0] else b for b in in_zone if b is said[0] or b not in said]


def _signers_at_the_start(blocks: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The president and the secretary the session's first blocks name (the opening and the roll
    call, before anything else is said: "Con mucho gusto señor presidente Héctor Fabio Escobar
    Potes. Buenos días, habla Claudia Patricia Morales Giraldo, secretaria general."), by office,
    each with the office as said (:func:`_opening_signers`); an office two people are named for
    there is left out."""
    named: dict[str, list[dict[str, Any]]] = {office: [] for office in _SIGNERS}
    for block in blocks:
        data = block.get("structured_data")
        if block.get("deleted") or block.get("type") != "TEMPLATE" or not isinstance(data, Mapping):
            continue
        if block.get("template_id") not in _SESSION_START:
            break
        signers = _opening_signers(data, _as_text(block.get("text")))
        for office, said in named.items():
            if signers.get(office):
                said.append({k: v for k, v in signers.items() if k.startswith(office)})
    out: dict[str, dict[str, Any]] = {}
    for office, said in named.items():
        if said and len(_distinct(_as_text(s[office]) for s in said)) == 1:
            out[office] = max(said, key=lambda s: len(_words(_as_text(s[office]))))
    return out


def _opening_signers(data: Mapping[str, Any], text: str) -> dict[str, Any]:
    """The president and secretary an opening named, each with the office as said (and the
    president's gender, when said)."""
    signers: dict[str, Any] = {}
    if data.get("preside"):
        signers["presidente"] = data["preside"]
        said_feminine = data.get("preside_rol") == "concejala"  # "les habla la presidenta…"
        if data.get("preside_provisional") is True:
            feminine = said_feminine or "concejala" in _words(text)
            signers["presidente_cargo"] = ("presidenta" if feminine else "presidente") + " provisional"
        elif said_feminine:
            signers["presidente_cargo"] = "presidenta"
    if data.get("secretario"):  # the office as said: "secretaria de la comisión"
        signers |= {"secretario": data["secretario"], "secretario_cargo": data.get("secretario_cargo")}
    return signers


SPEECH_TEMPLATES = (
    "TPL_DEBATE",
    "TPL_VARIOS",
    "TPL_PROYECTO_ACUERDO",
    "TPL_PROPOSICION",
    "TPL_APROBACION_ACTAS",
    "TPL_APROBACION_ORDEN_DIA",
)
"""Sections where the chair gives the floor (a debate, "varios", an item under consideration:
a bill, a proposal, an acta, the agenda): a speaker the grant names carries to the next block
(:func:`given_the_floor`)."""
INTERVENTION_TEMPLATES = ("TPL_DEBATE", "TPL_VARIOS")
"""Sections of interventions alone: they take the words after a grant said in any section of
:data:`SPEECH_TEMPLATES`; an item's section takes only those after a grant said in it."""
OWN_FIELDS = ("orador", "anuncio", "votacion", "tramite", "autores", "titulo", "no_presente")
"""What a block says of its own that the carried speaker does not go over: who speaks, a vote
or the chair conducting one (``tramite``: "¿Lo aprueba la plenaria?", "Se somete a
consideración…", which CORE marks), an item presented (a proposal's authors, a bill's title,
which the acta sums up as the item), the one called said not to be there (``no_presente``:
"No se encuentra el señor Yacumal.", the chair's words after the call)."""
SPEAKER_FIELDS = ("orador", "rol", "cargo", "partido", "ponente")
"""What a grant of the floor says of the speaker, and a carried speaker brings along."""
CARRIED = "orador_por_anuncio"
BILL_TEMPLATE = "TPL_PROYECTO_ACUERDO"
"""The section of a bill, whose heading (``numero`` or ``titulo``) names its ``ponentes``."""
_OTHER_COUNCILLOR = {"concejala": "concejal", "concejal": "concejala"}
_ARTICLE_BEFORE_OFFICE = re.compile(r"(?:^|\s)(el|la|al|del)\s+(?:(?:señor|señora)\s+)?$")


def _ponente_named(grant: Mapping[str, Any], ponentes: Sequence[Any]) -> str | None:
    """The ponente a grant by part alone gives the floor to ("Tiene la palabra la concejala
    ponente."): the bill's only ponente, or its only one the heading does not say is a
    councillor of the other gender (each ponente's ``rol``, "concejala" or "concejal", as the
    heading said it); None when the heading leaves it open."""
    other = _OTHER_COUNCILLOR.get(_as_text(grant.get("rol")))
    names = [
        _person_name(p) for p in ponentes if not (other and isinstance(p, Mapping) and p.get("rol") == other)
    ]
    names = [n for n in names if n]
    return names[0] if len(names) == 1 else None


def _office_as_speaker(cargo: str, said: str) -> str:
    """An office named alone, as the speaker line: with the article the grant said before it
    ("…tiene la palabra la gerente de Emcali", "le concedo la palabra al secretario…"), else the
    one its first word asks for ("secretaria" la, "secretario" el): "El secretario de Hacienda",
    written "EL SECRETARIO DE HACIENDA: …" like the acta's "EL PRESIDENTE:"."""
    at = said.lower().find(cargo.lower())
    article = _ARTICLE_BEFORE_OFFICE.search(said[:at].lower()) if at >= 0 else None
    if article is not None:
        feminine = article.group(1) == "la"
    else:
        feminine = cargo.split()[0].lower().endswith("a") if cargo.split() else False
    return ("La " if feminine else "El ") + cargo


def given_the_floor(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The blocks (in acta order), each intervention that does not say who speaks right after
    the chair's grant of the floor ("Tiene la palabra el concejal X.") under the speaker the
    grant named: X's fields (:data:`SPEAKER_FIELDS`) and ``orador_por_anuncio: true`` in its
    data, as the acta must say who spoke (Law 136 art. 26).

    Derived when the document is built (and likewise by the console's draft), not stored: it
    holds whatever order the blocks were committed in (two utterances answered by CORE out of
    order, a grant retried after a timeout, a block re-processed after review), a grant
    corrected or deleted later is followed, a correction of the words keeps the speaker, and
    the blocks (and the content hash over them) stay what was said and corrected. Deleted
    blocks and images between the two are passed over; anything else said in between (a block
    pending review too) ends the grant, and only the block right after it is named: later ones
    may be the chair's again, except a block whose audio goes on with the speech of words that
    have their speaker, cut at the segmenter's maximum length (:func:`_continues_speech`), in the
    same section and saying nothing of its own: recorded live, the last 6 s of an intervention
    were written as nobody's. A vote is never put in the speaker's mouth, nor the chair's
    conduct of one (putting the item to consideration, asking for its approval), nor an item
    presented (:data:`OWN_FIELDS`), nor the first block of another item (a grant in the debate, then
    "Siguiente punto. Aprobación del acta…": see :data:`INTERVENTION_TEMPLATES`). Words that name
    their own speaker keep their name, and take what the grant said of that same person (the
    role, the office, "ponente") where they say nothing of it ("Tiene la palabra la concejala
    ponente Ana Ruiz." then "Gracias, presidente, habla Ana Ruiz, del Partido Verde…").

    A grant that names a ponente by part alone ("Tiene la palabra la concejala ponente.": no
    ``orador``) names the one the heading of the bill under consideration does
    (:func:`_ponente_named`); the bill is the last heading said in :data:`BILL_TEMPLATE`, until
    something is said in another section. A grant that names an official by office alone ("Tiene
    la palabra el secretario de Hacienda.": ``cargo`` and no ``orador``) carries the office as the
    speaker, with its article (:func:`_office_as_speaker`): written "EL SECRETARIO DE HACIENDA:
    …"; one that names an office one person holds alone, no name said or known for it ("Tiene
    la palabra el señor personero.", :func:`_one_holder_granted`), likewise ("EL PERSONERO: …";
    with the one the session elected and swore in known, his name: :func:`_named_as_in_the_session`).
    Speaker fields a block carries with ``orador_por_anuncio`` (stored by earlier versions)
    are derived again."""
    carried: list[Mapping[str, Any]] = []
    grant: dict[str, Any] | None = None
    granted_in: Any = None
    speaker: dict[str, Any] | None = None  # who said the last block's words, and where
    spoken_in: Any = None
    ponentes: Sequence[Any] = ()
    for block in blocks:
        if block.get("deleted") or block.get("type") == "IMAGE":
            carried.append(block)
            continue
        data = block.get("structured_data")
        data = data if isinstance(data, Mapping) else {}
        speech = block.get("type") == "TEMPLATE" and block.get("template_id") in SPEECH_TEMPLATES
        if data.get(CARRIED):
            data = {k: v for k, v in data.items() if k not in (*SPEAKER_FIELDS, CARRIED)}
            block = {**block, "structured_data": data}
        section = block.get("template_id")
        same_item = section == granted_in or section in INTERVENTION_TEMPLATES
        own = [k for k in OWN_FIELDS if data.get(k)]
        if speech and grant and same_item and not own:
            block = {**block, "structured_data": {**data, **grant, CARRIED: True}}
        elif speech and speaker and section == spoken_in and not own and _continues_speech(block):
            block = {**block, "structured_data": {**data, **speaker, CARRIED: True}}
        elif (
            speech
            and grant
            and same_item
            and own == ["orador"]
            and isinstance(data["orador"], str)
            and isinstance(grant["orador"], str)
            and _same_person(data["orador"], grant["orador"])
        ):
            block = {**block, "structured_data": {**grant, **data, CARRIED: True}}
        if block.get("type") == "TEMPLATE" and section != BILL_TEMPLATE:
            ponentes = ()  # another item is under consideration
        elif block.get("type") == "TEMPLATE" and (data.get("numero") or data.get("titulo")):
            ponentes = data["ponentes"] if isinstance(data.get("ponentes"), list) else ()
        grant = speaker = None
        data = block["structured_data"] if isinstance(block.get("structured_data"), Mapping) else data
        named = {k: data[k] for k in SPEAKER_FIELDS if data.get(k)}
        if speech and data.get("anuncio") and data.get("orador"):
            grant, granted_in = named, section
        elif (
            speech
            and data.get("anuncio")
            and data.get("ponente")
            and (name := _ponente_named(data, ponentes))
        ):
            grant, granted_in = {**named, "orador": name}, section
        elif speech and data.get("anuncio") and data.get("cargo"):
            # an official named by office alone ("tiene la palabra el secretario de Hacienda"):
            # the office is the speaker line ("EL SECRETARIO DE HACIENDA: …")
            office = _office_as_speaker(_as_text(data["cargo"]), _as_text(block.get("text")))
            grant, granted_in = {"orador": office}, section
        elif (
            speech
            and data.get("anuncio")
            and (alone := _one_holder_granted(data, _as_text(block.get("text"))))
        ):
            # "Tiene la palabra el señor personero." with no name known for him: "EL PERSONERO: …"
            grant, granted_in = {"orador": alone}, section
        elif speech and data.get("orador") and not data.get("anuncio"):
            # words with their speaker: a piece cut from them at the maximum length is theirs too
            speaker, spoken_in = {k: data[k] for k in SPEAKER_FIELDS if data.get(k)}, section
        carried.append(block)
    return carried


def _continues_speech(block: Mapping[str, Any]) -> bool:
    """Whether a block's audio goes on with the previous block's speech, cut at the segmenter's
    maximum length (``audio_metadata.continues_previous``)."""
    audio = block.get("audio_metadata")
    return isinstance(audio, Mapping) and audio.get("continues_previous") is True


def _one_holder_granted(data: Mapping[str, Any], said: str) -> str | None:
    """The office a grant names alone when one person holds it (:data:`ONE_HOLDER_ROLES`: "Tiene
    la palabra el señor personero.", "… la señora contralora.") and no name was said or known
    for it, as the speaker line: "El personero", "La contralora"; else None."""
    rol = _as_text(data.get("rol"))
    if rol not in ONE_HOLDER_ROLES or data.get("orador") or data.get("cargo"):
        return None
    said_last = [
        m for m in _LETTERS.finditer(_fold_same_length(said)) if ONE_HOLDER_OFFICES.get(m.group()) == rol
    ]
    if not said_last:
        return None
    office = said_last[-1]
    article = _ARTICLE_BEFORE_OFFICE.search(said[: office.start()].lower())
    feminine = article.group(1) == "la" if article is not None else office.group().endswith("a")
    return ("La " if feminine else "El ") + office.group()


_COUNCILLORS = ("concejal", "concejala")
_GRANT_FIELDS = ("anuncio", "anuncio_texto")
"""A block holding a grant of the floor: the grant alone, or with the speaker's words after it."""


def _named_as_in_the_session(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The blocks, each speaker the session tells more of named as it does, so the acta writes
    one person under one name:

    - a councillor named by part of the name ("Tiene la palabra para réplica el concejal
      Escobar.", "Rodrigo Salazar, presidente, para dejar constancia…") as the roll calls list
      the member (:meth:`_Listed.as_listed`: the only member with those words);
    - an official given the floor by office alone ("Tiene la palabra nuevamente el secretario de
      Movilidad…") as the one an earlier block named with that same office (a grant, a speaker
      introducing themselves, a guest of the opening);
    - the debate's citante given the floor by part alone ("Tiene la palabra el concejal citante…")
      as the one an earlier block named as citante, of the councillor's gender said;
    - the personero or the comptroller given the floor by the role alone ("Queda usted
      posesionado. Tiene la palabra el señor personero.") as the one an earlier block named with
      it (a grant, a guest of the opening) or the one the session elected to it, once an oath is
      declared after the election that names him, the office or "usted" (until then the one
      elected is not yet the one who holds it).

    And a name said right after addressing the chair that is the name of who presides
    ("Presidente, Roberto Carlos Ortiz, solicito la palabra para una réplica." when the opening
    said he presides) is the chair addressed, not the speaker: the words are unnamed, or the
    grant's that precedes them (:func:`_chair_addressed`).

    A name is never guessed: two people who fit (two members named Mora, two secretaries of
    Movilidad named) leave the grant as said. Derived when the document is built, before the
    carry (:func:`given_the_floor`) writes the words after a grant under its speaker; the
    blocks stay as said. Speaker fields carried by earlier versions are neither read nor named."""
    members = _members_listed(blocks)
    holders: dict[tuple[str, ...], list[str]] = {}  # an office's words (or its role): who held it
    citantes: dict[str, list[str]] = {}  # the citantes named, by the role said of them
    elected: dict[str, list[str]] = {}  # a role the session elected someone to, not yet sworn in
    presides = ""  # who presides, as the opening said
    last: list[str] = []  # the role of the last election declared
    out: list[Mapping[str, Any]] = []
    for block in blocks:
        data = block.get("structured_data")
        if block.get("deleted") or not isinstance(data, Mapping) or data.get(CARRIED):
            out.append(block)
            continue
        if block.get("template_id") == "TPL_APERTURA" and data.get("preside"):
            presides = _as_text(data["preside"])
        if _chair_addressed(data, _as_text(block.get("text")), presides):
            data = {k: v for k, v in data.items() if k not in SPEAKER_FIELDS}
            block = {**block, "structured_data": data}
        _learn_elected(data, elected, holders, last)  # "Queda usted posesionado. Tiene la palabra el…"
        named = _speaker_named(data, members, holders, citantes)
        if named is not data:
            block = {**block, "structured_data": named}
        _learn_holders(named, holders, citantes)
        out.append(block)
    return out


_CHAIR_ADDRESS_RE = re.compile(
    r"[\s¡¿]*(?:(?:muchas\s+)?gracias\s*,?\s*)?(?:(?:senor|senora)\s+)?president[ea]\s*[,.:]?\s*"
)


def _chair_addressed(data: Mapping[str, Any], text: str, presides: str) -> bool:
    """Whether the speaker the block names is who presides, named right after the chair is
    addressed ("Presidente, Roberto Carlos Ortiz, solicito…"): the one asking speaks to him."""
    orador = _as_text(data.get("orador")).strip()
    if not orador or not presides or data.get("anuncio") or not _same_person(orador, presides):
        return False
    low = _fold_same_length(text)
    address = _CHAIR_ADDRESS_RE.match(low)
    return address is not None and low.startswith(" ".join(_words(orador)), address.end())


def _members_listed(blocks: Sequence[Mapping[str, Any]]) -> _Listed:
    """Every member the session's roll calls list."""
    listed = _Listed()
    for block in blocks:
        roll_call = block.get("template_id") == "TPL_LLAMADO_LISTA" and not block.get("deleted")
        if roll_call and isinstance(block.get("structured_data"), Mapping):
            for members in _roll_call_lists(block).values():
                for member in members:
                    listed.add(_person_name(member))
    return listed


def _speaker_named(
    data: Mapping[str, Any],
    members: _Listed,
    holders: Mapping[tuple[str, ...], Sequence[str]],
    citantes: Mapping[str, Sequence[str]],
) -> Mapping[str, Any]:
    """``data`` with its speaker named as the session names them (see
    :func:`_named_as_in_the_session`), or ``data`` itself."""
    orador, rol = _as_text(data.get("orador")).strip(), _as_text(data.get("rol"))
    if orador:
        # a councillor's, or a name of two words said with no role: a citizen is not a member
        if rol in _COUNCILLORS or (not rol and len(_words(orador)) >= 2):
            listed = members.as_listed(orador)
            if len(_words(listed)) > len(_words(orador)):  # said by part of the name
                return {**data, "orador": listed}
        return data
    if not any(data.get(k) for k in _GRANT_FIELDS):
        return data
    if data.get("citante") is True:
        other = _OTHER_COUNCILLOR.get(rol)
        names = _distinct(name for said, named in citantes.items() if said != other for name in named)
    elif data.get("cargo"):
        names = list(holders.get(tuple(_words(_as_text(data["cargo"]))), ()))
    elif rol in ONE_HOLDER_ROLES:
        names = list(holders.get((rol,), ()))
    else:
        return data
    return {**data, "orador": names[0]} if len(names) == 1 else data


def _learn_holders(
    data: Mapping[str, Any], holders: dict[tuple[str, ...], list[str]], citantes: dict[str, list[str]]
) -> None:
    """Who a block names with an office (its speaker's ``cargo``, its guests') or as citante."""
    said = [(data.get("orador"), data.get("cargo"))]
    guests = data.get("invitados")
    if isinstance(guests, list):
        said += [(g.get("nombre"), g.get("cargo")) for g in guests if isinstance(g, Mapping)]
    for name, office in said:
        if isinstance(name, str) and name.strip() and isinstance(office, str) and office.strip():
            key = tuple(_words(office))
            holders[key] = _distinct([*holders.get(key, ()), name.strip()])
            if role := _one_holder_role(office):  # a guest "personero distrital": the personero
                holders[(role,)] = _distinct([*holders.get((role,), ()), name.strip()])
    orador, rol = data.get("orador"), _as_text(data.get("rol"))
    if rol in ONE_HOLDER_ROLES and not data.get("cargo") and isinstance(orador, str) and orador.strip():
        holders[(rol,)] = _distinct([*holders.get((rol,), ()), orador.strip()])
    if data.get("citante") is True and isinstance(name := data.get("orador"), str) and name.strip():
        rol = _as_text(data.get("rol"))
        citantes[rol] = _distinct([*citantes.get(rol, ()), name.strip()])


_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "e"})
_LETTERS = re.compile(r"[^\W\d_]+")
_OATH_CHARS_READ = 1000
"""An oath declared is a sentence or two: who is sworn in is read in its first words."""


def _one_holder_role(office: str) -> str | None:
    """The role of :data:`ONE_HOLDER_ROLES` an office as said is ("Personero Municipal de
    Palmira para el periodo 2026-2029": personero), None for any other office ("personera
    delegada", "personero municipal encargado": see :mod:`.offices`)."""
    words = _words(office)
    head = ONE_HOLDER_OFFICES.get(words[0]) if words else None
    rest = words[2:] if words[1:2] and words[1] in OFFICE_SCOPES else words[1:]
    return head if head and (not rest or rest[0] in OFFICE_GOES_ON) else None


def _learn_elected(
    data: Mapping[str, Any],
    elected: dict[str, list[str]],
    holders: dict[tuple[str, ...], list[str]],
    last: list[str],
) -> None:
    """Who the session elects personero or comptroller (``eleccion``), and, once an oath is
    declared that names the one elected or the office, or says "usted" when that office was the
    last one elected ("Queda usted posesionado."; after the general secretary's election, it is
    said to her), the holder of that role from this block on (:func:`_named_as_in_the_session`).
    ``last`` holds the role of the last election declared ("" for another office)."""
    election = data.get("eleccion")
    if isinstance(election, Mapping):
        name = _as_text(election.get("elegido")).strip()
        role = _one_holder_role(_as_text(election.get("cargo")))
        if name:
            last[:] = [role or ""]  # whom an oath's "usted" may be said to
        if name and role:
            elected[role] = _distinct([*elected.get(role, ()), name])
    if not elected or not data.get("posesion"):
        return
    oath = set(_LETTERS.findall(_fold_same_length(_as_text(data["posesion"])[:_OATH_CHARS_READ])))
    for role, names in list(elected.items()):
        addressed = "usted" in oath and last == [role]  # the one elected last, to that office
        office = any(ONE_HOLDER_OFFICES.get(word) == role for word in oath)
        if addressed or office or any(_named_in(name, oath) for name in names):
            holders[(role,)] = _distinct([*holders.get((role,), ()), *names])
            del elected[role]


def _named_in(name: str, words: set[str]) -> bool:
    """Whether words said name the person: two of the name's words at least ("Rengifo Salazar"),
    a particle ("de", "la") being none."""
    own = [w for w in _words(name) if w not in _NAME_PARTICLES]
    return len(own) >= 2 and sum(w in words for w in own) >= 2


_ENOUGH_TO_DOUBT = 2
"""People named for one office: from two on, none of them is taken for it (the list stops there)."""


def _distinct(names: Iterable[str]) -> list[str]:
    """The people among names, each once, by the longest name said (:func:`_same_person`): at
    most :data:`_ENOUGH_TO_DOUBT` of them, so a long session reads a short list each time."""
    people: list[str] = []
    for name in names:
        same = next((i for i, known in enumerate(people) if _same_person(name, known)), None)
        if same is None:
            people.append(name)
        elif len(_words(name)) > len(_words(people[same])):
            people[same] = name
    return people[:_ENOUGH_TO_DOUBT]


def _with_report_ponentes(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The blocks, a bill's heading that names no ponentes naming those of the ponencia report
    read for the same bill: a later block of :data:`BILL_TEMPLATE` with ``ponentes`` and no
    heading of its own (CORE stores them on the report's block: "Informe de ponencia… Firman
    Laura Victoria Benítez, coordinadora ponente, y Harold Mosquera Riascos, ponente."), before
    another heading or anything said in another section. Never names from elsewhere (the agenda,
    a grant of the floor), and never over ponentes the heading said. Derived when the document
    is built, like :func:`given_the_floor`, not stored (and not used for a grant by part alone)."""
    out = list(blocks)
    heading: int | None = None  # the bill's heading still naming no ponentes
    for i, block in enumerate(out):
        if block.get("deleted") or block.get("type") != "TEMPLATE":
            continue
        data = block.get("structured_data")
        data = data if isinstance(data, Mapping) else {}
        if block.get("template_id") != BILL_TEMPLATE:
            heading = None  # another item is under consideration
        elif data.get("numero") or data.get("titulo"):
            heading = None if data.get("ponentes") else i
        elif heading is not None and isinstance(ponentes := data.get("ponentes"), list) and ponentes:
            said = out[heading]
            out[heading] = {**said, "structured_data": {**said["structured_data"], "ponentes": ponentes}}
            heading = None
    return out


_NAMED_ONE = ("orador", "preside", "secretario", "delegado", "presidente", "elegido")
"""Fields of a block's data that name one person (a ``{"elegido"}`` election's too)."""
_NAMED_MANY = (*_ROLL_CALL_KEYS, "autores", "ponentes", "invitados", "llegadas", "salidas")
"""Fields of a block's data that list people, each a name or ``{"nombre", …}``."""


def _names_said(data: Mapping[str, Any]) -> list[str]:
    """The people a block's data names (see :data:`_NAMED_ONE`, :data:`_NAMED_MANY`)."""
    said = [data.get(k) for k in _NAMED_ONE]
    if isinstance(election := data.get("eleccion"), Mapping):
        said.append(election.get("elegido"))
    for key in _NAMED_MANY:
        listed = data.get(key)
        said += [_person_name(m) for m in listed] if isinstance(listed, list) else []
    return [name.strip() for name in said if isinstance(name, str) and name.strip()]


_ACCENT_MARKS = frozenset("áéíóúüÁÉÍÓÚÜ")
"""Accents a name is heard without; ñ is a letter, heard in lowercase speech too."""


def _marks(name: str) -> int:
    """How many letters of a name are not ASCII (accents, ñ)."""
    return sum(not c.isascii() for c in name)


def _offices_said(data: Mapping[str, Any]) -> list[str]:
    """The offices a block's data says: its speaker's (``cargo``) and its guests'."""
    guests = data.get("invitados")
    said = [data.get("cargo")]
    said += [g.get("cargo") for g in guests if isinstance(g, Mapping)] if isinstance(guests, list) else []
    return [office.strip() for office in said if isinstance(office, str) and office.strip()]


def _as_spelled(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The blocks, each speaker heard without a single accent ("tiene la palabra el señor
    delegado del alcalde doctor alvaro jose benitez": ``orador`` "Alvaro Jose Benitez") written
    as the session said the same name with its accents elsewhere ("Mi nombre es Álvaro José
    Benítez…": the opening's ``delegado``; a member called in the roll call; an author): one
    person, one spelling in the acta. So are the members a roll call or a nominal vote lists
    heard so (a quorum verified in lowercase speech: "henry pelaez cifuentes presente"; "olga
    lucia rendon salazar impedida"), unless a person edited it, and a speaker's office heard in
    lowercase, as the session wrote the same office (a guest's at the opening).
    Accents are never made up: only a spelling the session's
    blocks hold is used, when it is the same words but for accents and the only such spelling
    (a name heard with its ñ but no accent, "Alexandra Hernandez Cedeño", too).
    Derived when the document is built, like :func:`given_the_floor`: the blocks stay as said."""
    spellings: dict[tuple[str, ...], set[str]] = {}
    offices: dict[tuple[str, ...], set[str]] = {}
    for block in blocks:
        data = block.get("structured_data")
        if block.get("deleted") or not isinstance(data, Mapping):
            continue
        for said in _names_said(data):
            if not said.isascii():
                spellings.setdefault(tuple(_words(said)), set()).add(said)
        for said in _offices_said(data):
            if not (said.isascii() and said == said.lower()):
                offices.setdefault(tuple(_words(said)), set()).add(said)

    def spelled(heard: Any) -> Any:
        if not isinstance(heard, str) or _ACCENT_MARKS.intersection(heard):
            return heard
        # heard with no accent, its ñ perhaps ("Alexandra Hernandez Cedeño"): a spelling with more
        known = {said for said in spellings.get(tuple(_words(heard)), set()) if _marks(said) > _marks(heard)}
        return next(iter(known)) if len(known) == 1 else heard

    out: list[Mapping[str, Any]] = []
    for block in blocks:
        data = block.get("structured_data")
        if isinstance(data, Mapping) and (heard := data.get("orador")) != (said := spelled(heard)):
            block = {**block, "structured_data": {**data, "orador": said}}
        data = block.get("structured_data")
        heard = data.get("cargo") if isinstance(data, Mapping) else None
        if (
            isinstance(data, Mapping)
            and isinstance(heard, str)
            and heard.isascii()
            and heard == heard.lower()
        ):
            # the office heard in lowercase speech ("la directora del departamento administrativo
            # de gestion juridica publica"), as the session wrote it (the opening's guests)
            known = offices.get(tuple(_words(heard)), set())
            if len(known) == 1:
                block = {**block, "structured_data": {**data, "cargo": next(iter(known))}}
        if (
            isinstance(data := block.get("structured_data"), Mapping)
            and block.get("human_edited") is not True
        ):
            # the members a roll call lists alike (a quorum verified in lowercase speech)
            lists = {
                key: [
                    {**m, "nombre": spelled(m["nombre"])}
                    if isinstance(m, Mapping) and "nombre" in m
                    else spelled(m)
                    for m in members
                ]
                for key in _ROLL_CALL_KEYS
                if isinstance(members := data.get(key), list)
            }
            if any(lists[key] != data[key] for key in lists):
                block = {**block, "structured_data": {**data, **lists}}
            # and the members a nominal vote lists ("olga lucia rendon salazar impedida")
            vote = block["structured_data"].get("votacion")
            votos = vote.get("votos") if isinstance(vote, Mapping) else None
            if isinstance(vote, Mapping) and isinstance(votos, list):
                respelled = [
                    {**m, "nombre": spelled(m["nombre"])} if isinstance(m, Mapping) and "nombre" in m else m
                    for m in votos
                ]
                if respelled != votos:
                    data = block["structured_data"]
                    block = {**block, "structured_data": {**data, "votacion": {**vote, "votos": respelled}}}
        out.append(block)
    return out


def _with_arrivals(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A member who arrives after the roll call is said so later ("se deja constancia de que
    el concejal X se hizo presente a las 9:40", a block's ``llegadas``): the roll call before
    it shows the member as arrived late (``tarde``, with the time), no longer absent or
    excused, in the last block that listed the member (a roll call may be said over several
    blocks; a first call without quorum keeps the member absent, as said then); a member none
    listed is added to the last one. A member any of them has present is left alone. A member
    said to leave ("se retira del recinto siendo las 9:40", a block's ``salidas``) is shown as
    left (``retirados``, with the time) in the last roll call that has the member present or
    late (a first call without quorum keeps the member absent, as said then), else in the
    last that lists the member, else in the last one. A member shown left who arrives again
    ("se reintegra a la sesión") is shown back, and leaving again after that too, each step
    with its time (``luego`` of the entry: "Se retiró (9:40 a. m.) y regresó (10:15 a. m.)").
    A member said by part of the name ("el concejal Tenorio") is the one listed with it
    (:meth:`_Listed.as_listed`).
    A roll-call block a person edited (``human_edited``) is never changed: a human
    edit wins, so a member it lists keeps what it says. Excuses said on their own after the roll
    call ("Presentaron excusa las concejalas Ana Ruiz y Paula Díaz.", a roll-call block with only
    ``excusados``) go into the roll call's table too, instead of a table of their own, and no
    longer show those members absent. Derived when the document is built, on copies: the
    stored blocks stay as said, and the constancia stays where it was said."""
    out = list(blocks)
    roll_calls: list[int] = []
    listed = _Listed()  # every member the roll calls list, kept as they change
    placed = _Placed()  # where in them, likewise
    for index, block in enumerate(blocks):
        if block.get("deleted"):
            continue
        data = block.get("structured_data")
        if not isinstance(data, Mapping):
            continue
        if block.get("template_id") == "TPL_LLAMADO_LISTA" and any(data.get(k) for k in _ROLL_CALL_KEYS):
            excuses = data.get("excusados")
            others = any(
                data.get(k) for k in (*_ROLL_CALL_KEYS, "quorum", "total_presentes") if k != "excusados"
            )
            if isinstance(excuses, list) and not others and _with_excuses(out, roll_calls, excuses, placed):
                out[index] = {**block, "structured_data": {k: v for k, v in data.items() if k != "excusados"}}
                for excuse in excuses:
                    listed.add(_person_name(excuse))
            else:
                roll_calls.append(index)
                placed.add_call(index, block)
                for members in _roll_call_lists(block).values():
                    for member in members:
                        listed.add(_person_name(member))
            continue
        arrivals = data.get("llegadas")
        if roll_calls and isinstance(arrivals, list):
            for arrival in arrivals:
                _arrived(out, roll_calls, arrival, listed, placed)
        departures = data.get("salidas")
        if roll_calls and isinstance(departures, list):
            for departure in departures:
                _departed(out, roll_calls, departure, listed, placed)
    return out


@dataclass
class _Placed:
    """Where each member is in the roll calls :func:`_with_arrivals` has met: for a name and a
    roll-call key, the indices (in ``out``) of the roll calls whose list under that key has the
    name, in order; the roll calls a person edited, and the names they list. Kept up to date as
    members move, so an arrival, a departure or an excuse reads only its member's places (reading
    every roll call's lists for each grew with the product of the two)."""

    at: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    edited: set[int] = field(default_factory=set)
    in_edited: set[str] = field(default_factory=set)
    last_editable: int | None = None
    no_absent: list[int] = field(default_factory=list)  # editable roll calls with no ``ausentes`` yet

    def add_call(self, index: int, block: Mapping[str, Any]) -> None:
        edited = block.get("human_edited") is True
        lists = _roll_call_lists(block)
        if edited:
            self.edited.add(index)
        else:
            self.last_editable = index
            if "ausentes" not in lists:
                self.no_absent.append(index)
        for key, members in lists.items():
            for member in members:
                self.add(_person_name(member), key, index)
                if edited:
                    self.in_edited.add(_person_name(member))

    def add(self, name: str, key: str, index: int) -> None:
        where = self.at.setdefault((name, key), [])
        at = bisect.bisect_left(where, index)
        if at == len(where) or where[at] != index:
            where.insert(at, index)

    def remove(self, name: str, key: str, index: int) -> None:
        where = self.at.get((name, key), [])
        at = bisect.bisect_left(where, index)
        if at < len(where) and where[at] == index:
            del where[at]

    def moved(self, name: str, index: int, keys: Iterable[str], to: str) -> None:
        """The member left out of the lists ``keys`` of roll call ``index``, and put in ``to``."""
        for key in keys:
            self.remove(name, key, index)
        self.add(name, to, index)

    def last(self, name: str, *keys: str) -> int | None:
        """The last roll call whose list under one of ``keys`` has the name, None if none."""
        found = [where[-1] for key in keys if (where := self.at.get((name, key)))]
        return max(found) if found else None


def _with_excuses(
    out: list[Mapping[str, Any]], roll_calls: Sequence[int], excuses: Sequence[Any], placed: _Placed
) -> bool:
    """Put excuses said on their own into the last roll-call block ``out[i]`` (see
    :func:`_with_arrivals`): each member no longer absent in any of them, and excused in the
    last; a member one of them has present, late or excused already is left as it is. False
    (nothing changed) when there is no roll call before, or the last one was edited by a person."""
    if not roll_calls or out[roll_calls[-1]].get("human_edited") is True:
        return False
    last = roll_calls[-1]
    lists = {last: _roll_call_lists(out[last])}  # and those of the roll calls changed
    for excuse in excuses:
        name = _person_name(excuse)
        if not name or placed.last(name, "presentes", "tarde", "excusados") is not None:
            continue
        for i in placed.no_absent:  # each editable roll call is written with its absent, none too
            lists.setdefault(i, _roll_call_lists(out[i])).setdefault("ausentes", [])
        placed.no_absent.clear()
        for i in [i for i in placed.at.get((name, "ausentes"), []) if i not in placed.edited]:
            said = lists.setdefault(i, _roll_call_lists(out[i]))
            said["ausentes"] = [m for m in said.get("ausentes", []) if _person_name(m) != name]
            placed.remove(name, "ausentes", i)
        lists[last].setdefault("excusados", []).append(excuse)
        placed.add(name, "excusados", last)
    for i, said in lists.items():
        out[i] = {**out[i], "structured_data": {**out[i]["structured_data"], **said}}
    return True


def _roll_call_lists(block: Mapping[str, Any]) -> dict[str, list[Any]]:
    said = block["structured_data"]
    return {k: list(v) for k, v in said.items() if k in _ROLL_CALL_KEYS and isinstance(v, list)}


@dataclass
class _Listed:
    """The names every roll call lists, and the names by each of their words: built once as
    :func:`_with_arrivals` meets the roll calls, and added to as members are added to them (it
    read every list again for each arrival and departure)."""

    names: set[str] = field(default_factory=set)
    by_word: dict[str, set[str]] = field(default_factory=dict)

    def add(self, name: str) -> None:
        if name and name not in self.names:
            self.names.add(name)
            for word in _words(name):
                self.by_word.setdefault(word, set()).add(name)

    def as_listed(self, name: str) -> str:
        """The name of a member said by part of it ("El concejal Tenorio se retira…") as the
        roll calls list the member ("Mauricio Alberto Tenorio"), not a member of its own; the
        name as said when no listed member has it; "" when several do (two members named Mora:
        neither is guessed, and no row is made up). Only the names that share a word with it
        can be the same person (:func:`_same_person`)."""
        if not name or name in self.names:
            return name
        sharing = set().union(*(self.by_word.get(word, ()) for word in _words(name)))
        same = {member for member in sharing if _same_person(name, member)}
        return same.pop() if len(same) == 1 else "" if same else name


def _arrived(
    out: list[Mapping[str, Any]], roll_calls: Sequence[int], arrival: Any, listed: _Listed, placed: _Placed
) -> None:
    """Show one arrival in the roll-call blocks ``out[i]`` for i in roll_calls (see
    :func:`_with_arrivals`); ``listed`` and ``placed``: who they list and where, kept up to date."""
    name = listed.as_listed(_person_name(arrival))
    if not name:
        return
    if name in placed.in_edited:  # a roll call a person edited lists the member
        return
    gone = placed.last(name, "retirados")
    if gone is not None:
        _moved(out, gone, name, _step("regreso", arrival))  # back after leaving
        return
    if placed.last(name, "presentes") is not None or placed.last_editable is None:
        return
    # the last call that listed the member (a first call without quorum keeps the member
    # absent, as said then), else the last one
    listing = placed.last(name, *_ROLL_CALL_KEYS)
    home = listing if listing is not None else placed.last_editable
    late = {"nombre": name}
    if isinstance(arrival, Mapping) and arrival.get("hora"):
        late["hora"] = arrival["hora"]
    lists = _roll_call_lists(out[home])
    changed = {k: [m for m in v if _person_name(m) != name] for k, v in lists.items()}
    changed.setdefault("tarde", []).append(late)
    out[home] = {**out[home], "structured_data": {**out[home]["structured_data"], **changed}}
    placed.moved(name, home, lists, "tarde")
    listed.add(name)


def _step(estado: str, said: Any) -> dict[str, Any]:
    """A step of a member after the roll call (``estado``: a key of the roll-call labels), with
    the time when said."""
    step: dict[str, Any] = {"estado": estado}
    if isinstance(said, Mapping) and said.get("hora"):
        step["hora"] = said["hora"]
    return step


def _moved(out: list[Mapping[str, Any]], home: int, name: str, step: dict[str, Any]) -> None:
    """Add a step (``regreso``: back; ``retirados``: gone again) to the member shown left in
    ``out[home]``: the entry keeps the first departure, and ``luego`` the steps after it.
    The same step said twice in a row ("se reintegra…", then a constancia of it with the time)
    is one, with the time when either says it."""
    gone: list[Any] = []
    for member in _roll_call_lists(out[home])["retirados"]:
        if _person_name(member) != name:
            gone.append(member)
            continue
        entry = dict(member) if isinstance(member, Mapping) else {"nombre": name}
        said = entry.get("luego")
        later = [dict(s) for s in said if isinstance(s, Mapping)] if isinstance(said, list) else []
        last = (
            later[-1]
            if later
            else {"estado": "retirados", **({"hora": entry["hora"]} if "hora" in entry else {})}
        )
        if last.get("estado") != step["estado"]:
            later.append(step)
        elif step.get("hora"):
            (later[-1] if later else entry)["hora"] = step["hora"]
        if later:
            entry["luego"] = later
        gone.append(entry)
    out[home] = {**out[home], "structured_data": {**out[home]["structured_data"], "retirados": gone}}


def _departed(
    out: list[Mapping[str, Any]], roll_calls: Sequence[int], departure: Any, listed: _Listed, placed: _Placed
) -> None:
    """Show one member leaving in the roll-call blocks ``out[i]`` for i in roll_calls (see
    :func:`_with_arrivals`); ``listed`` and ``placed``: who they list and where, kept up to date."""
    name = listed.as_listed(_person_name(departure))
    if not name:
        return
    gone = placed.last(name, "retirados")
    if gone is not None:
        if out[gone].get("human_edited") is not True:
            _moved(out, gone, name, _step("retirados", departure))  # left again, or said again
        return
    homes = placed.last(name, "presentes", "tarde")
    home = homes if homes is not None else placed.last(name, *_ROLL_CALL_KEYS)
    if home is None:
        home = placed.last_editable
    if home is None or out[home].get("human_edited") is True:
        return
    left = {"nombre": name}
    if isinstance(departure, Mapping) and departure.get("hora"):
        left["hora"] = departure["hora"]
    lists = _roll_call_lists(out[home])
    changed = {k: [m for m in v if _person_name(m) != name] for k, v in lists.items()}
    changed.setdefault("retirados", []).append(left)
    out[home] = {**out[home], "structured_data": {**out[home]["structured_data"], **changed}}
    placed.moved(name, home, lists, "retirados")
    listed.add(name)


def _roll_call_tables(blocks: Sequence[Mapping[str, Any]]) -> dict[int, dict[str, list[Any]] | None]:
    """One roll call said over several blocks (the secretary calls half the members in one
    utterance and the rest in the next) gets one attendance table, after the last block that
    lists members, with every member of the call: ``{id(block): the lists of the whole call}``
    for that block, ``None`` (no table) for the blocks before it; a roll call said in one block
    is not in the plan. The blocks of one call follow each other in the session (deleted blocks
    and images passed over; a roll-call block that lists no one, such as the chair's "sírvase
    llamar a lista", does not end it, nor does a count of those present, which CORE also gives
    for each half). Another block said in between, the quorum declared (the call is over), or a
    member called again (a second call, a verification of the quorum) starts another roll call,
    which keeps a table of its own. Derived when the document
    is built, like :func:`_with_arrivals` (whose result it reads): the stored blocks stay as said."""
    plans: dict[int, dict[str, list[Any]] | None] = {}
    call: list[Mapping[str, Any]] = []
    called: set[str] = set()

    def close() -> None:
        if len(call) > 1:
            whole: dict[str, list[Any]] = {}
            for block in call:
                for key, members in _roll_call_lists(block).items():
                    whole.setdefault(key, []).extend(members)
                plans[id(block)] = None
            plans[id(call[-1])] = whole
        call.clear()
        called.clear()

    for block in blocks:
        if block.get("deleted") or block.get("type") == "IMAGE":
            continue
        data = block.get("structured_data")
        if (
            block.get("type") != "TEMPLATE"
            or block.get("template_id") != "TPL_LLAMADO_LISTA"
            or not isinstance(data, Mapping)
        ):
            close()
            continue
        if call and block.get("target_placeholder") != call[-1].get("target_placeholder"):
            close()
        lists = _roll_call_lists(block)
        if any(lists.values()):
            names = {name for members in lists.values() for m in members if (name := _person_name(m))}
            if names & called:
                close()  # the same member called again: a second roll call
            call.append(block)
            called.update(names)
        if _quorum(data) is not None:
            close()
    close()
    return plans


@dataclass(frozen=True, slots=True)
class _VotePlan:
    """How a block's vote is written once the vote is seen whole (see :func:`_vote_plans`)."""

    summary: Mapping[str, Any] | None  # the whole vote, summed up after this block; None: not here
    check: str | None = None  # a disagreement the reviewer must settle (a Word comment)
    # the members' votes tabled after this block: None, its own list; the whole list of a vote
    # read over several blocks after the last of them, and () (no table) after the others
    votos: tuple[Any, ...] | None = None


_Counts = tuple[int, int, int]  # sí, no, abstención, all known (a nominal list's count)
_Totals = tuple[int | None, int | None, int | None]  # sí, no, abstención; None: a side not said


def _vote_numbers(votacion: Mapping[str, Any]) -> tuple[_Totals | None, _Counts | None]:
    """(totals said or stored, totals of the nominal list); each None when there are none. A
    side of the totals not said is None ("con quince votos a favor y tres en contra" says no
    abstentions), never a zero nobody said."""
    said: _Totals = (
        _count(votacion, "si"),
        _count(votacion, "no"),
        _count(votacion, "abstencion"),
    )
    votos = votacion.get("votos")
    listed: _Counts | None = None
    if isinstance(votos, list):
        kinds = [_vote_kind(v.get("voto")) if isinstance(v, Mapping) else None for v in votos]
        listed = (kinds.count("si"), kinds.count("no"), kinds.count("abstencion"))
    return (said if any(said) else None), listed


def _agree(one: _Totals, other: _Totals) -> bool:
    """Do two counts of a vote say the same where both say a side?"""
    return all(a is None or b is None or a == b for a, b in zip(one, other, strict=True))


def _filled(said: _Totals, known: _Totals) -> _Totals:
    """The sides said, each side not said taken from ``known`` (a count of the same vote)."""
    return (
        said[0] if said[0] is not None else known[0],
        said[1] if said[1] is not None else known[1],
        said[2] if said[2] is not None else known[2],
    )


@dataclass(slots=True)
class _OpenVote:
    """A vote being followed across the blocks of one zone."""

    blocks: list[Mapping[str, Any]]
    item: Any  # what is voted (a bill's or proposal's number, the actas), when said
    listed: _Counts | None = None  # counted from the nominal list
    declared: _Totals | None = None  # totals said apart from the list
    list_totals: _Totals | None = None  # totals stored with the list itself
    lists: list[Mapping[str, Any]] = field(default_factory=list)  # the blocks the list was read in
    members: set[str] = field(default_factory=set)  # who is on the list so far (folded)
    result: str = ""
    nominal: bool = False
    repeat: bool = False  # the vote is to be taken again ("se repetirá la votación")
    subject: str = ""  # what the vote decides, when CORE says ("impedimento")
    said_of: dict[str, Any] = field(default_factory=dict)  # what it decides (:data:`VOTE_FACTS`)
    thanked: bool = False  # kept open across the chair's thanks (:meth:`ended_by`)

    def accepts(self, votacion: Mapping[str, Any], called: bool = False) -> bool:
        """Does this vote go on in ``votacion``? A second list, any list or totals after the
        result was declared (the next item's vote, even with the same count), another result,
        or other totals with no list between them (a count taken again) start a new vote; so
        does a call with nothing counted ("se abre la votación"), which begins one. The same
        result said again with no count (the chair echoing "Aprobada.") is the same vote, and so
        is the rest of a list read over several utterances (:meth:`goes_on`)."""
        said, listed = _vote_numbers(votacion)
        result = _as_text(votacion.get("resultado")).strip().upper()
        if said is None and listed is None and not result:
            return False
        if listed is not None and (self.result or (self.listed is not None and not self.goes_on(votacion))):
            return False  # a second list, or a list after the result was declared
        if self.result and (said is not None or listed is not None or (result and result != self.result)):
            return False  # the vote was over: this is another one ("Aprobada." alone echoes it)
        articles = votacion.get("articulos")
        if articles and self.said_of.get("articulos") and articles != self.said_of["articulos"]:
            return False  # another article's vote ("Aprobado el artículo noveno." after the eighth's)
        parts = ("articulos", "partes")
        if (
            self.result
            and any(votacion.get(key) and votacion[key] != self.said_of.get(key) for key in parts)
            and (called or any(self.said_of.get(key) for key in parts))
        ):
            # the vote was over and other parts of the bill are put to the vote ("Se somete a
            # votación el título y el preámbulo… Aprobado por unanimidad." after the bill's counted
            # vote, ``called``), or parts other than those it named: another vote, not the chair
            # echoing the result (it took over the bill's count). An echo naming for the first
            # time what was voted ("Aprobados los artículos primero a tercero.") is the same vote.
            return False
        if listed is None and said is not None:
            earlier = self.declared
            if earlier is None and self.listed is None:
                earlier = self.list_totals
            if earlier is not None and not _agree(earlier, said):
                return False
        return True

    def goes_on(self, votacion: Mapping[str, Any]) -> bool:
        """Is the list in ``votacion`` the rest of the one read so far ("…Isabel Sarria, sí." then
        "Jaime Orozco, no. … votaron dieciocho, quince por el sí y tres por el no")? Only while
        nothing was declared of the vote (no totals but the list's own count) and when it calls
        none of the members already called: one called again is a second vote."""
        if self.declared is not None or (
            self.list_totals is not None
            and (self.listed is None or not _agree(self.list_totals, self.listed))
        ):
            return False
        return not (_listed_members(votacion) & self.members)

    def ended_by(self, block: Mapping[str, Any]) -> bool:
        """Does a block with no vote, said after this one was counted or declared, end it? Words
        other than a question (another item read: "Siguiente proposición, que se cite…") do;
        a question about the vote ("¿Cómo vota el concejal…?"), the chair thanking the secretary
        for the count ("Gracias, señora secretaria.", before declaring its result) and a vote
        only called or only listed so far (the secretary's declaration is still to come) do not.
        The thanks are remembered (:attr:`thanked`)."""
        if not (self.result or self.declared):
            return False
        data = block.get("structured_data")
        said = _as_text(data.get("texto") if isinstance(data, Mapping) else None).strip()
        said = said or _as_text(block.get("text")).strip()
        courtesy = not self.result and all(
            w in _COURTESY_WORDS for w in re.findall(r"\w+", _fold_same_length(said))
        )
        self.thanked = self.thanked or (bool(said) and courtesy)
        return bool(said) and not said.endswith("?") and not courtesy

    def add(self, block: Mapping[str, Any], votacion: Mapping[str, Any]) -> None:
        said, listed = _vote_numbers(votacion)
        if listed is not None and self.listed is not None:
            # the rest of the list (:meth:`goes_on`): counted with the part read before; totals
            # stored with it that are not its own count were declared of the whole vote
            self.listed = (
                self.listed[0] + listed[0],
                self.listed[1] + listed[1],
                self.listed[2] + listed[2],
            )
            self.list_totals = said if said != listed else None
        elif listed is not None:
            self.listed, self.list_totals = listed, said
        elif said is not None:
            # said again, perhaps more fully ("quince por el sí", then "quince a favor, tres en contra")
            self.declared = said if self.declared is None else _filled(said, self.declared)
        self.result = _as_text(votacion.get("resultado")).strip().upper() or self.result
        self.nominal = self.nominal or votacion.get("nominal") is True
        self.repeat = self.repeat or votacion.get("repetir") is True
        self.subject = _as_text(votacion.get("objeto")).strip() or self.subject
        for key in VOTE_FACTS:
            if votacion.get(key) and key not in self.said_of:
                self.said_of[key] = votacion[key]
        if listed is not None:
            self.lists.append(block)
            self.members |= _listed_members(votacion)
        self.blocks.append(block)

    def plans(self) -> dict[int, _VotePlan]:
        """The summary goes after the vote's last block; the others keep their list only."""
        said = self.declared or self.list_totals
        agrees = said is None or self.listed is None or _agree(said, self.listed)
        totals: _Totals | None = said or self.listed
        if said is not None and self.listed is not None and agrees:
            totals = _filled(said, self.listed)  # a side not said, as the list counted it
        # only the sides said or counted: a side nobody said is no zero
        whole: dict[str, Any] = (
            {}
            if totals is None
            else {k: v for k, v in zip(_VOTE_LABELS, totals, strict=True) if v is not None}
        )
        whole.update(resultado=self.result.lower() or None, nominal=self.nominal)
        if self.repeat:
            whole["repetir"] = True
        if self.subject:
            whole["objeto"] = self.subject
        whole.update(self.said_of)
        check = None
        if self.listed is not None and said is not None and not agrees:
            check = (
                "Los totales declarados ({}) no coinciden con la votación nominal registrada ({}); "
                "revíselos antes de firmar el acta."
            ).format(*(_said_totals(t) for t in (said, self.listed)))
        tables: dict[int, tuple[Any, ...] | None] = {}
        if len(self.lists) > 1:  # one table of the whole list, after the last part read
            tables = dict.fromkeys((id(block) for block in self.lists[:-1]), ())
            tables[id(self.lists[-1])] = tuple(
                vote for block in self.lists for vote in block["structured_data"]["votacion"]["votos"]
            )
        plans = {id(block): _VotePlan(None, votos=tables.get(id(block))) for block in self.blocks[:-1]}
        last = id(self.blocks[-1])
        plans[last] = _VotePlan(whole, check, tables.get(last))
        return plans


_COURTESY_TEXT = """
    gracias muchas muy mil amable bien bueno listo senor senora secretario secretaria presidente
    presidenta honorable honorables concejal concejala concejales
    """
_COURTESY_WORDS = frozenset(_COURTESY_TEXT.split())
"""Words of a courtesy only ("Muchas gracias, señora secretaria."): said between a vote's count
and its result declared, they do not end the vote; the result was counted ("APROBADO", 10 sí to
7 no) and the declaration ("no ha sido aprobada") written apart."""


def _listed_members(votacion: Mapping[str, Any]) -> set[str]:
    """The members named in a vote's list (folded), to tell a list read on from one taken again."""
    votos = votacion.get("votos")
    names = (_fold(_person_name(v)) for v in votos) if isinstance(votos, list) else ()
    return {name for name in names if name}


VOTE_FACTS = ("articulos", "partes", "debate", "sancion", "mayoria_requerida", "modo")
"""What a vote's blocks say it decides, which its summary writes (first said wins): the bill's
articles voted (``articulos``), its other parts voted apart (``partes``: "título", "preámbulo"),
the debate its result closes and the bill sent to the mayor for sanction (``debate``,
``sancion``: "Aprobado en segundo debate… Pase a sanción…"), the sí votes it needs when the
chair said a qualified majority (``mayoria_requerida``: the result counted against it), and how
the result was reached when said (``modo``: "por aclamación", "por unanimidad")."""


def _said_totals(totals: _Totals) -> str:
    """The sides of a count that were said, as the reviewer's note writes them."""
    sides = zip(("sí", "no", "abstenciones"), totals, strict=True)
    return ", ".join(f"{side}: {count}" for side, count in sides if count is not None)


def _voted_item(data: Mapping[str, Any]) -> Any:
    """What a block names as voted: a number (bill, proposal) or the actas; None if nothing."""
    numero = data.get("numero")
    if isinstance(numero, str | int) and not isinstance(numero, bool) and str(numero).strip():
        return str(numero).strip().lstrip("0") or "0"
    actas = data.get("actas")
    if isinstance(actas, list) and actas:
        return tuple(str(a) for a in actas)
    return None


def _vote_plans(by_zone: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[int, _VotePlan]:
    """One vote of one item gets one summary, even when it is said over several blocks: the
    call ("se abre la votación nominal…"), the members' list, then the secretary's count and
    result. Within a zone, a vote block goes on with the vote before it unless an item was
    presented in between (a proposal's authors, a bill's title, another number) or the block
    cannot belong to the same vote (see :meth:`_OpenVote.accepts`), and a block said after the
    vote was counted or declared, with words and no vote, ends it (:meth:`_OpenVote.ended_by`).
    A list read over several blocks is one table, after its last part, counted whole. The
    summary is written after the vote's last block, with the totals and the result the
    secretary declared (the list's count when none were declared); when the declared totals and
    the list disagree, the summary carries the declared ones and a Word comment asks the
    reviewer to settle it. Derived when the document is built: the stored blocks stay as said."""
    plans: dict[int, _VotePlan] = {}
    for blocks in by_zone.values():
        current: _OpenVote | None = None
        for block in blocks:
            data = block.get("structured_data")
            if block.get("type") != "TEMPLATE" or not isinstance(data, Mapping):
                continue
            item = _voted_item(data)
            presents = bool(data.get("autores") or data.get("titulo"))
            if current is not None and (
                presents or (item is not None and current.item is not None and item != current.item)
            ):
                plans.update(current.plans())
                current = None
            votacion = data.get("votacion")
            if not isinstance(votacion, Mapping):
                if current is not None and current.ended_by(block):
                    plans.update(current.plans())
                    current = None
                continue
            # after the chair's thanks, only the result declared goes on with the vote: the chair
            # putting something to the vote ("Se somete a votación el impedimento de… Ha sido
            # negado.") begins another, and the count before keeps its own result
            conducted = current is not None and current.thanked and data.get("tramite") is True
            if current is None or conducted or not current.accepts(votacion, data.get("tramite") is True):
                if current is not None:
                    plans.update(current.plans())
                current = _OpenVote([], item)
            current.add(block, votacion)
            current.item = current.item if current.item is not None else item
        if current is not None:
            plans.update(current.plans())
    return plans


@dataclass(frozen=True, slots=True)
class _ElectionPlan:
    """An election's result line, once the count said before its declaration is known."""

    summary: Mapping[str, Any]  # the variables of the election's summary
    check: str | None = None  # counts said differently: a Word comment for the reviewer


def _candidates(count: Any) -> list[tuple[str, int]]:
    """(name, votes) of each candidate of a count (``escrutinio``), as stored."""
    listed = count.get("candidatos") if isinstance(count, Mapping) else None
    out: list[tuple[str, int]] = []
    for entry in listed if isinstance(listed, list) else []:
        votes = _as_count(entry.get("votos")) if isinstance(entry, Mapping) else None
        if votes is not None and (name := _person_name(entry).strip()):
            out.append((name, votes))
    return out


def _same_person(a: str, b: str) -> bool:
    """Whether two names said are one person ("Velasco" and "Ana María Velasco" too)."""
    words_a, words_b = _words(a), _words(b)
    shorter, longer = sorted((words_a, words_b), key=len)
    return bool(shorter) and all(w in longer for w in shorter)


_COUNT_EXTRAS = (("en_blanco", "en blanco"), ("nulos", "nulos"), ("total", "total"))


def _count_phrase(count: Mapping[str, Any]) -> str:
    """A count as the acta writes it: "Ana Ruiz, 17 votos; Luis Mora, 2 votos; en blanco, 1"."""
    parts = [f"{name}, {votes} {'voto' if votes == 1 else 'votos'}" for name, votes in _candidates(count)]
    parts += [
        f"{label}, {value}"
        for key, label in _COUNT_EXTRAS
        if (value := _as_count(count.get(key))) is not None
    ]
    return "; ".join(parts)


def _counts_disagree(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two counts of one election that give one candidate, the blank, null or total votes
    different figures (a figure said in one only is no disagreement)."""
    for name, votes in _candidates(a):
        if any(_same_person(name, other) and votes != said for other, said in _candidates(b)):
            return True
    for key, _ in _COUNT_EXTRAS:
        x, y = _as_count(a.get(key)), _as_count(b.get(key))
        if x is not None and y is not None and x != y:
            return True
    return False


def _election_plan(election: Mapping[str, Any], counts: Sequence[Mapping[str, Any]]) -> _ElectionPlan:
    """The result line of one election declared: the person elected, the office and the
    resolution as said, and the last count said for it since the previous election (a count
    corrected later is taken as corrected, with a comment for the reviewer)."""
    elected = _as_text(election.get("elegido")).strip()
    own = [c for c in counts if any(_same_person(name, elected) for name, _ in _candidates(c))]
    summary: dict[str, Any] = {
        k: v
        for k, v in election.items()
        if k in ("elegido", "participio", "cargo", "resolucion", "resolucion_fecha")
    }
    summary.setdefault("participio", "elegido")
    check = None
    if own:
        last = own[-1]
        summary.update(
            escrutinio=_count_phrase(last),
            candidatos=[{"nombre": n, "votos": v} for n, v in _candidates(last)],
            votos=next(v for n, v in _candidates(last) if _same_person(n, elected)),
            **{key: value for key, _ in _COUNT_EXTRAS if (value := _as_count(last.get(key))) is not None},
        )
        differing = [c for c in own[:-1] if _counts_disagree(c, last)]
        if differing:
            before, after = _count_phrase(differing[-1]), _count_phrase(last)
            check = (
                f"El escrutinio de esta elección se dijo con cifras distintas ({before}) y luego ({after}); "
                "el acta registra las últimas. Revíselas antes de firmar el acta."
            )
    elif (votes := _as_count(election.get("votos"))) is not None:
        summary.update(votos=votes, escrutinio=f"{elected}, {votes} {'voto' if votes == 1 else 'votos'}")
    return _ElectionPlan(summary, check)


def _count_read_on(count: Mapping[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """A count (``escrutinio``) with what its reading past a cut said: the candidates after, the
    blank votes and the total where the first part said none."""
    listed = [c for c in (count.get("candidatos"), more.get("candidatos")) if isinstance(c, list)]
    return {**more, **count, "candidatos": [entry for part in listed for entry in part]}


def _election_plans(by_zone: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[int, _ElectionPlan]:
    """An election is said over several blocks: the count ("Ana María Velasco, diecisiete votos;
    …; en blanco, uno"), perhaps corrected, then the declaration ("ha sido elegida presidenta…
    la concejala Ana María Velasco"). The declaration's block gets the result line, with the
    counts said in its zone since the previous declaration that name the person elected.
    A count read on past a cut at the segmenter's maximum length (its block continues the one
    before, which said a count) is that one count: recorded live, "El resultado correcto es:
    Andrés Felipe Rengifo Salazar diez (10) votos; | Luz Adriana Cárdenas Mejía cinco (5)
    votos; …" gave the result line the first candidate alone. Derived when the document is
    built: the stored blocks stay as said."""
    plans: dict[int, _ElectionPlan] = {}
    for blocks in by_zone.values():
        counts: list[Mapping[str, Any]] = []
        counted = False  # the block before said a count
        for block in blocks:
            data = block.get("structured_data")
            if block.get("deleted") or block.get("type") == "IMAGE":
                continue
            if block.get("type") != "TEMPLATE" or not isinstance(data, Mapping):
                counted = False
                continue
            count = data.get("escrutinio")
            goes_on = counted and counts and isinstance(count, Mapping) and _continues_speech(block)
            counted = isinstance(count, Mapping) and (bool(_candidates(count)) or bool(goes_on))
            if goes_on and isinstance(count, Mapping):
                counts[-1] = _count_read_on(counts[-1], count)
            elif isinstance(count, Mapping) and _candidates(count):
                counts.append(count)
            election = data.get("eleccion")
            if isinstance(election, Mapping) and _as_text(election.get("elegido")).strip():
                plans[id(block)] = _election_plan(election, counts)
                counts = []
    return plans


def _recesses(blocks: Sequence[Mapping[str, Any]]) -> dict[int, dict[str, str]]:
    """A recess is said over two blocks: the session suspended ("Siendo las diez y cuarenta…
    se suspende la sesión.", ``receso.inicio``), then resumed ("…se reanuda la sesión.",
    ``receso.fin``). The resumption's block gets the recess line with both times; a suspension
    no resumption with a time follows gets it with its own ("Receso: desde las 10:40 a. m."),
    as does a resumption none with a time came before. Resumed on a day said other than the
    opening's (``receso.fecha``, a session suspended to continue the next day), the line says
    that day (``fecha``): "Receso: de 1:10 p. m. a 9:15 a. m." was one morning's recess. Paired
    in the session's order, across zones: ``{id(block): {"inicio"?, "fin"?, "fecha"?}}``.
    Derived when the document is built."""
    plans: dict[int, dict[str, str]] = {}
    pending: tuple[int, str] | None = None  # the suspension waiting for its resumption
    opened = _opening_date(blocks)
    for block in blocks:
        data = block.get("structured_data")
        recess = data.get("receso") if block.get("type") == "TEMPLATE" and isinstance(data, Mapping) else None
        if block.get("deleted") or not isinstance(recess, Mapping):
            continue
        inicio, fin, fecha = (_as_text(recess.get(k)).strip() for k in ("inicio", "fin", "fecha"))
        if inicio and pending is not None:
            plans[pending[0]] = {"inicio": pending[1]}  # suspended again: the first one stands alone
        if inicio:
            pending = (id(block), inicio)
        if fin:
            plans[id(block)] = {"fin": fin, **({"inicio": pending[1]} if pending else {})}
            if fecha and opened and fecha != opened:
                plans[id(block)]["fecha"] = fecha
            pending = None
    if pending is not None:
        plans[pending[0]] = {"inicio": pending[1]}
    return plans


def _opening_date(blocks: Sequence[Mapping[str, Any]]) -> str:
    """The date the session was opened on, as its opening said it ("" if it said none)."""
    for block in blocks:
        data = block.get("structured_data")
        opening = block.get("template_id") == "TPL_APERTURA" and not block.get("deleted")
        if opening and isinstance(data, Mapping) and (fecha := _as_text(data.get("fecha")).strip()):
            return fecha
    return ""


def _audio_joined(head: Mapping[str, Any], later: Mapping[str, Any]) -> dict[str, Any]:
    """The audio_metadata of two pieces of one speech written as one block: the first's, ending
    where the later one ends, with the lower recognition confidence of the two."""
    first, audio = head.get("audio_metadata"), later.get("audio_metadata")
    joined = dict(first) if isinstance(first, Mapping) else {}
    audio = audio if isinstance(audio, Mapping) else {}
    confidences = [
        c
        for c in (joined.get("asr_confidence"), audio.get("asr_confidence"))
        if isinstance(c, int | float) and not isinstance(c, bool)
    ]
    if confidences:
        joined["asr_confidence"] = min(confidences)
    if "time_end" in audio:
        joined["time_end"] = audio["time_end"]
    return joined


def _continues(block: Mapping[str, Any], head: Mapping[str, Any] | None) -> bool:
    """Whether ``block`` is machine output that goes on with ``head``'s speech past a cut at the
    segmenter's maximum length, in the same section (neither edited by a person)."""
    return (
        head is not None
        and not block.get("deleted")
        and not head.get("deleted")
        and block.get("type", "TEMPLATE") == "TEMPLATE" == head.get("type", "TEMPLATE")
        and block.get("template_id") == head.get("template_id")
        and _continues_speech(block)
        and not (block.get("human_edited") or head.get("human_edited"))
    )


def _readings_joined(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A reading cut by the segmenter at its maximum length (15 s) and heard as pieces, written as
    one block with the facts CORE read in it as a whole. Each piece is classified on its own
    words, so facts that span a cut were split: a roll call read for 40 s had in its table only
    the members named before the first cut, a ponente's name cut in two made two ponentes, a
    nominal vote lost the member whose "sí" came after the cut. The last piece of such a run
    carries ``reading`` (the orchestrator asks CORE about the run's words as one text when the
    piece is stored): ``head`` (the run's first block), ``text`` and ``structured_data``. A run
    is joined only when that text is still exactly its pieces' words and no person edited any of
    them; otherwise (someone corrected a piece, a CORE without the second call) the pieces stand
    as they are. Derived when the document is built, on copies."""
    out: list[Mapping[str, Any]] = []
    run: list[Mapping[str, Any]] = []  # a head and the pieces that go on with it, so far
    for block in [*blocks, None]:
        if block is not None and run and _continues(block, run[-1]):
            run.append(block)
            continue
        while run:  # the run ends: join the longest part of it whose reading still holds
            k = next((k for k in range(len(run) - 1, 0, -1) if _read_whole(run[: k + 1])), 0)
            if k:
                merged: Mapping[str, Any] = run[0]
                for piece in run[1 : k + 1]:
                    merged = {**merged, "audio_metadata": _audio_joined(merged, piece)}
                reading = run[k]["reading"]
                out.append(
                    {**merged, "text": reading["text"], "structured_data": dict(reading["structured_data"])}
                )
            else:
                out.append(run[0])
            del run[: k + 1]
        if block is not None:
            run.append(block)
    return out


def _read_whole(pieces: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the last of ``pieces`` carries CORE's reading of exactly these pieces' words."""
    reading = pieces[-1].get("reading")
    return (
        isinstance(reading, Mapping)
        and reading.get("head") == pieces[0].get("block_id")
        and reading.get("text") == " ".join(_as_text(p.get("text")) for p in pieces)
        and isinstance(reading.get("structured_data"), Mapping)
    )


def _openings_joined(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The opening, cut by the segmenter at its maximum length (15 s) and heard as two or more
    blocks, as one: recorded through the console, "Siendo las nueve y quince… de hoy martes
    catorce | de octubre de dos mil veinticinco, damos inicio a la sesión plenaria…" gave the
    time to one block and the type and the secretary to the next, and the acta's opening
    sentence, written from one block's facts, said "se dio inicio a la sesión del Concejo"
    with neither. A block whose audio continues the previous one's speech
    (``audio_metadata.continues_previous``) and is the opening's too is joined to it: its words
    after, its facts where the first said none, its recognition confidence the lower. Blocks a
    person edited are left as they are. Derived when the document is built, on copies.

    So is the continuation of a communication or a closing whose summarised fact runs to the
    cut (:func:`_fact_cut`: the asunto, the summons) when its words are the rest of that one
    sentence (:func:`_rest_of_a_sentence`): the fact goes on with them. Recorded live, "…en la
    que informa que el 30 no miembre, vense... | El plazo para que los concejales presenten la
    declaración de bienes y rentas." was written "…con asunto: informa que el 30 no miembre,
    vense." and the rest apart. Words after the cut that say more are left as said, apart."""
    out: list[Mapping[str, Any]] = []
    at = -1  # the last block kept that is not deleted
    for block in blocks:
        head = out[at] if at >= 0 else None
        cut = _continues(block, head)
        goes_on: dict[str, str] = {}  # a summarised fact cut, with the words after the cut
        if cut and head is not None and head.get("template_id") in _SUMMARIES_CUT:
            head_data = head.get("structured_data")
            key = _fact_cut(head_data, _as_text(head.get("text"))) if isinstance(head_data, Mapping) else None
            rest = _rest_of_a_sentence(_as_text(block.get("text")))
            if key is not None and rest is not None and isinstance(head_data, Mapping):
                goes_on = {key: _as_text(head_data[key]).rstrip(_CUT_TRAIL) + " " + rest}
        if cut and head is not None and (head.get("template_id") == "TPL_APERTURA" or goes_on):
            joined_audio = _audio_joined(head, block)
            data = block.get("structured_data")
            head_data = head.get("structured_data")
            out[at] = {
                **head,
                "text": " ".join(
                    t for t in (_as_text(head.get("text")), _as_text(block.get("text"))) if t.strip()
                ),
                "structured_data": {
                    **(data if isinstance(data, Mapping) else {}),
                    **(head_data if isinstance(head_data, Mapping) else {}),
                    **goes_on,
                },
                "audio_metadata": joined_audio,
            }
            continue
        if not block.get("deleted"):
            at = len(out)
        out.append(block)
    return out


_SUMMARIES_CUT = ("TPL_COMUNICACION", "TPL_CIERRE")
"""Summarised sections whose fact cut at the segmenter's maximum length goes on after it."""
_CUT_TRAIL = " .…"
"""What Whisper ends the words before a cut with ("…vense..."): not the speaker's."""
_WORDS_NOT_NAMES = (
    "el la los las lo de del y e o u que en a al con para por se su sus un una unos unas no le les "
    "uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis "
    "diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés veinticuatro veinticinco "
    "veintiséis veintisiete veintiocho veintinueve treinta mil enero febrero marzo abril mayo junio "
    "julio agosto septiembre octubre noviembre diciembre"
)
_LOWER_AFTER_CUT = frozenset(_WORDS_NOT_NAMES.split())
"""A first word Whisper capitalised after a cut that is no name (a word of grammar, a day's or a
year's number, a month): written in lower case."""
_SENTENCE_GOES_ON = re.compile(r"[.!?…]\s")


def _fact_cut(data: Mapping[str, Any], text: str) -> str | None:
    """The field of a block's data (two words or more) that runs to the end of its words: the
    fact said up to the cut, or None."""
    tail = text.rstrip(_CUT_TRAIL)
    for key, value in data.items():
        said = value.rstrip(_CUT_TRAIL) if isinstance(value, str) else ""
        if len(said.split()) >= 2 and tail.endswith(said):
            return key
    return None


def _rest_of_a_sentence(text: str) -> str | None:
    """The words after a cut when they are one sentence (without its final period, its first
    word in lower case when Whisper capitalised a word that is no name), else None."""
    words = text.strip().rstrip(_CUT_TRAIL)
    if not words or _SENTENCE_GOES_ON.search(words):
        return None
    first, _, rest = words.partition(" ")
    if first.lower() in _LOWER_AFTER_CUT:
        first = first.lower()
    return f"{first} {rest}".strip()


def _dated_on_the_day_resumed(blocks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A session suspended and resumed on another day (a resumption's ``receso.fecha`` other
    than the opening's date) goes on that day, with one acta: its closing, which said its time
    alone, gets that day (``fecha``), or "Siendo las 10:20 a. m., se levanta la sesión" read as
    the opening's day, an hour after it began; and a roll call said after the resumption, in the
    roll call's section with the opening's, gets it as ``reanudada`` (its quorum is that day's,
    not the opening's). Derived when the document is built, on copies; a closing that has a date
    keeps it."""
    opened, day = _opening_date(blocks), ""
    out = list(blocks)
    for index, block in enumerate(blocks):
        data = block.get("structured_data")
        if block.get("deleted") or not isinstance(data, Mapping):
            continue
        recess = data.get("receso")
        if isinstance(recess, Mapping) and (fecha := _as_text(recess.get("fecha")).strip()):
            day = fecha if opened and fecha != opened else ""
        elif block.get("template_id") == "TPL_CIERRE" and day and not data.get("fecha"):
            out[index] = {**block, "structured_data": {**data, "fecha": day}}
        elif block.get("template_id") == "TPL_LLAMADO_LISTA" and day:
            out[index] = {**block, "structured_data": {**data, "reanudada": day}}
    return out


def _validate_blocks(
    blocks: Sequence[Mapping[str, Any]], zone_names: set[str]
) -> dict[str, list[Mapping[str, Any]]]:
    by_zone: dict[str, list[Mapping[str, Any]]] = {}
    for index, block in enumerate(blocks):
        if block.get("deleted"):
            continue
        block_id = block.get("block_id", f"#{index}")
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            raise BuildError(f"block {block_id!r}: unknown type {kind!r} (expected {', '.join(BLOCK_TYPES)})")
        zone = block.get("target_placeholder")
        if not isinstance(zone, str) or zone not in zone_names:
            raise BuildError(
                f"block {block_id!r}: target zone {zone!r} is not in the skeleton "
                f"(zones: {', '.join(sorted(zone_names)) or 'none'})"
            )
        by_zone.setdefault(zone, []).append(block)
    return by_zone


def _block_times(blocks: Sequence[Mapping[str, Any]]) -> list[datetime]:
    """When each block was made or last edited (UTC), from its own timestamps."""
    times = []
    for block in blocks:
        for key in ("created_at", "edited_at"):
            value = block.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
                times.append(datetime.fromtimestamp(value, UTC).replace(tzinfo=None))
    return times


def _describe_the_document(doc: Any, meta: Mapping[str, Any], blocks: Sequence[Mapping[str, Any]]) -> None:
    """The acta's own file properties, not the skeleton's: its title and subject from the
    session's metadata (a skeleton says "Esqueleto de acta…"), no generator note, and created /
    modified at the first and last block's times (a skeleton carries its own fixed date). Taken
    from the inputs, so a build stays a function of them."""
    props = doc.core_properties
    props.title = _clean(_as_text(meta.get("title")).strip() or "Acta")[:255]
    props.subject = _clean(_as_text(meta.get("subject")).strip())[:255]
    props.comments = ""
    times = _block_times(blocks)
    if times:
        props.created, props.modified = min(times), max(times)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The earliest date a zip entry can carry."""


class _DatedZip:
    """Where python-docx writes a package's parts: a zip whose entries all carry one date.
    python-docx's own writer dates each entry by the clock, so the same acta built a second later
    had other bytes, another integrity hash and another name in the object store."""

    def __init__(self, out: io.BytesIO, date_time: tuple[int, int, int, int, int, int]) -> None:
        self._zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
        self._date_time = date_time

    def write(self, pack_uri: Any, blob: bytes) -> None:
        entry = zipfile.ZipInfo(pack_uri.membername, date_time=self._date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o644 << 16
        self._zip.writestr(entry, blob)

    def close(self) -> None:
        self._zip.close()


def _package_bytes(doc: Any) -> bytes:
    """The .docx file of ``doc``, a function of its content alone: what ``Document.save`` writes
    (python-docx 1.2's ``OpcPackage.save``: the parts prepared, then the content types, the
    package's relationships and the parts in that order), its zip entries dated at the acta's last
    change (its ``modified`` property, the last block's time). A finalize taken over by another
    instance, or tried again after its result could not be stored, then seals the same bytes under
    the same keys instead of a second acta beside the first (each locked for years under Object
    Lock)."""
    package = doc.part.package
    parts = package.parts
    for part in parts:
        part.before_marshal()
    modified = doc.core_properties.modified
    date_time = max(modified.timetuple()[:6], _ZIP_EPOCH) if modified else _ZIP_EPOCH
    out = io.BytesIO()
    writer: Any = _DatedZip(out, date_time)  # in the place of python-docx's PhysPkgWriter
    PackageWriter._write_content_types_stream(writer, parts)  # type: ignore[no-untyped-call]
    PackageWriter._write_pkg_rels(writer, package.rels)  # type: ignore[no-untyped-call]
    PackageWriter._write_parts(writer, parts)
    writer.close()
    return out.getvalue()


def _end_cells_with_a_paragraph(body: Any) -> None:
    """Word requires every table cell to end with a paragraph. A zone laid out in a cell (a frame
    table, a signatures table) can leave its cell ending with a generated table (a roll call),
    directly or inside its content control, or with nothing once the zone is left out: such a
    cell gets an empty paragraph at its end."""

    def last_block(parent: Any) -> Any:
        return next((c for c in reversed(parent) if c.tag in (W_P, W_TBL, W_SDT)), None)

    for tc in body.iter(W_TC):
        last = last_block(tc)
        while last is not None and last.tag == W_SDT:  # a content control: what it ends with
            content = last.find(W_SDTCONTENT)
            last = last_block(content) if content is not None else None
        if last is None or last.tag == W_TBL:
            etree.SubElement(tc, W_P)


def build_docx(
    skeleton: bytes,
    *,
    style_map: Mapping[str, str],
    blocks: Sequence[Mapping[str, Any]],
    images: Mapping[str, bytes],
    metadata: Mapping[str, Any] | None = None,
    comment_author: str = "ASTRA",
    templates: Mapping[str, Any] | None = None,
    mark_human_edits: bool = False,
    empty_zones: Mapping[str, str | None] | None = None,
    draft_notice: str | None = None,
) -> bytes:
    """Fill ``skeleton`` with ``blocks`` and return the acta as DOCX bytes.

    Blocks (already in final order) go into their ``target_placeholder`` zone; zones are
    filled in document order, so images are numbered as they appear. Content outside the
    zones (letterhead, headings, header, footer, section properties) is left untouched, but for
    the headings of sections left out. A zone no block went to is left with one empty BODY
    paragraph, unless the tenant's ``empty_zones`` names it: with a sentence ("No se
    presentaron proposiciones."), the zone says that, in BODY; with None, the section is left
    out, the zone and its heading (the HEADING_1/HEADING_2 paragraph right before it, when
    nothing else is left under it), as an acta does not list sections the session did not
    have. TEMPLATE blocks are written by the
    tenant's ``templates`` (empty or None: the built-in :data:`DEFAULT_TEMPLATES`; see the
    module docstring); an intervention right after the chair's grant of the floor is written
    under the speaker the grant named (:func:`given_the_floor`), a bill's heading names the
    ponentes its ponencia report was signed by when it names none (:func:`_with_report_ponentes`),
    a speaker heard without accents spelled as the session said the name elsewhere
    (:func:`_as_spelled`), a session resumed on another day dating its closing and the roll calls
    after it (:func:`_dated_on_the_day_resumed`). With
    ``mark_human_edits``, blocks edited by a person get a comment. Audio blocks recognized with
    low confidence and not edited since get one (:func:`low_confidence`), and so does the heading
    of a zone printed without content when the tenant has ``empty_zones`` (it said which sections
    may go; this one it keeps, so its emptiness is worth a look). A ``draft_notice`` (a preview
    of the acta before it is sealed) is written in bold as the document's first paragraph and
    starts its title, so a draft is never taken for the acta. Raises :class:`BuildError`
    for a skeleton, style map, templates or ``empty_zones`` problem, a block aimed at a missing
    zone, or a missing image.
    """
    template_set, template_problems = _template_set(templates)
    if template_set is None:
        raise BuildError("; ".join(template_problems))
    doc = _open(skeleton)
    roles, problems = _resolve_roles(style_map, _read_styles(doc))
    if problems:
        raise BuildError("; ".join(problems))

    body = doc.element.body
    zones = _find_zones(body)
    dupes = _duplicate_zones(zones)
    if dupes:
        raise BuildError(f"skeleton: zone(s) {', '.join(dupes)} appear more than once")
    empty_zones = empty_zones or {}
    if problems := _empty_zones_problems(empty_zones, {zone.name for zone in zones}):
        raise BuildError("; ".join(problems))
    blocks = _as_spelled(
        _with_report_ponentes(
            given_the_floor(_named_as_in_the_session(_openings_joined(_readings_joined(blocks))))
        )
    )
    attended = _with_arrivals(_dated_on_the_day_resumed(blocks))
    by_zone = _validate_blocks(attended, {zone.name for zone in zones})
    if not by_zone.get(SIGNATURE_ZONE):
        by_zone[SIGNATURE_ZONE] = [_signatures_of_the_session(blocks)]
    else:
        by_zone[SIGNATURE_ZONE] = _signatures_completed(by_zone[SIGNATURE_ZONE], blocks)

    levels = {roles[role]: level for level, role in ((2, "HEADING_2"), (1, "HEADING_1")) if role in roles}
    meta = metadata or {}
    renderer = _Renderer(
        doc=doc,
        roles=roles,
        images=images,
        next_shape_id=_max_shape_id(doc),
        templates=template_set,
        metadata=meta,
        mark_human_edits=mark_human_edits,
        vote_plans=_vote_plans(by_zone),
        election_plans=_election_plans(by_zone),
        roll_calls=_roll_call_tables(attended),
        recesses=_recesses(attended),
    )
    skeleton_paragraphs = set(body.iter(W_P))  # before any zone is filled: the skeleton's own
    for zone in zones:
        geometry = _zone_geometry(body, zone.element)
        container, section_end = _zone_container(zone)
        for block in by_zone.get(zone.name, ()):
            renderer.render(container, block, zone.name, geometry)
        if not by_zone.get(zone.name) and zone.name in empty_zones:
            sentence = empty_zones[zone.name]
            if sentence is None:
                _leave_out(zone, container, levels, skeleton_paragraphs, section_end)
                continue
            _add_paragraph(container, renderer.style("BODY"), sentence.strip())
        elif not by_zone.get(zone.name) and empty_zones:
            # the tenant says which sections may be empty; this one it prints: tell the reviewer
            renderer.comments.append(_empty_zone_comment(zone, container, renderer.style("BODY"), levels))
        _finish_zone(zone, container, renderer.style("BODY"), section_end)

    initials = _initials(comment_author)
    for pending in renderer.comments:
        runs = [Run(r, Paragraph(r.getparent(), doc)) for r in pending.runs]
        comment = doc.add_comment(runs, text=pending.text, author=comment_author, initials=initials)
        # python-docx stamps the wall clock; drop it so the content depends on the inputs only
        comment._comment_elm.attrib.pop(W_DATE, None)

    for zone in zones:
        if zone.is_sdt and zone.element.getparent() is not None:
            _shield_first_paragraph(zone.element.find(W_SDTCONTENT))
    _end_cells_with_a_paragraph(body)

    _describe_the_document(doc, meta, blocks)
    if draft_notice:
        notice = _add_paragraph(body, renderer.style("BODY"))
        _add_run(notice, draft_notice.strip(), bold=True)
        body.insert(0, notice)  # moved from the end to the start
        core = doc.core_properties
        core.title = f"BORRADOR: {core.title}" if core.title else "BORRADOR"

    return _package_bytes(doc)

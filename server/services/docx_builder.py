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
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from docx import Document
from docx.oxml.parser import oxml_parser
from docx.oxml.shape import CT_Inline
from docx.shared import Emu
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

__all__ = [
    "ROLES",
    "BuildError",
    "SkeletonInfo",
    "build_docx",
    "check_skeleton",
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


def inspect_skeleton(skeleton: bytes) -> SkeletonInfo:
    """List a skeleton's zones (in document order) and the names of the styles it defines."""
    doc = _open(skeleton)
    zones = _find_zones(doc.element.body)
    return SkeletonInfo(
        zones=tuple(zone.name for zone in zones),
        styles=frozenset(style.name for style in _read_styles(doc)),
    )


def check_skeleton(
    skeleton: bytes, style_map: Mapping[str, str], placeholder_map: Mapping[str, str]
) -> list[str]:
    """Human-readable problems between a skeleton and a tenant's maps; ``[]`` when all fine.

    ``placeholder_map`` maps a template/intent to the zone its blocks go to; every zone it
    targets must exist in the skeleton. Every style named in ``style_map`` must exist with the
    kind its role needs, every role must be known, and the required role BODY must be mapped.
    """
    try:
        doc = _open(skeleton)
    except BuildError as exc:
        return [str(exc)]
    zones = _find_zones(doc.element.body)
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
    _, style_problems = _resolve_roles(style_map, _read_styles(doc))
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
    return _INVALID_XML.sub("", text)


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
    if len(container) and container[-1].tag == W_TBL:
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


def _fold(value: str) -> str:
    return value.strip().lower().translate(str.maketrans("áéíóú", "aeiou")).replace(".", "").replace(" ", "_")


def _vote_kind(value: Any) -> str | None:
    folded = _fold(_as_text(value))
    if folded in ("si", "s", "yes", "a_favor", "afirmativo"):
        return "si"
    if folded in ("no", "n", "en_contra", "negativo"):
        return "no"
    if folded.startswith("absten"):
        return "abstencion"
    return None


_VOTE_LABEL = {"si": "Sí", "no": "No", "abstencion": "Abstención"}
_COUNT_KEYS = {
    "si": ("si", "sí", "votos_si", "votos_sí", "a_favor"),
    "no": ("no", "votos_no", "en_contra"),
    "abstencion": ("abstenciones", "abstencion", "abstención", "votos_abstencion"),
}


def _count(votacion: Mapping[str, Any], kind: str) -> int | None:
    for key in _COUNT_KEYS[kind]:
        value = votacion.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    return None


_ROLL_CALL_KEYS = {
    "presentes": "Presente",
    "ausentes": "Ausente",
    "excusados": "Excusado",
    "tarde": "Llegó tarde",
}


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


def _initials(author: str) -> str:
    letters = [word[0] for word in re.split(r"[\s._-]+", author) if word]
    return "".join(letters[:3]).upper()


# ---------------------------------------------------------------------------------------------
# Rendering


@dataclass(slots=True)
class _PendingComment:
    paragraph: Any
    runs: list[Any]
    text: str


@dataclass(slots=True)
class _Renderer:
    doc: Any
    roles: Mapping[str, str]
    images: Mapping[str, bytes]
    next_shape_id: int
    image_count: int = 0
    comments: list[_PendingComment] = field(default_factory=list)

    def style(self, role: str) -> str:
        return self.roles.get(role) or self.roles["BODY"]

    def render(self, container: Any, block: Mapping[str, Any], zone: str, geo: _Geometry) -> None:
        kind = block.get("type")
        if kind == "IMAGE":
            self.image(container, block, geo)
        elif kind == "ERROR_PENDING_REVIEW":
            self.pending(container, block)
        else:
            self.template(container, block, zone, geo)

    # -- TEMPLATE -------------------------------------------------------------------------

    def template(self, container: Any, block: Mapping[str, Any], zone: str, geo: _Geometry) -> None:
        data = block.get("structured_data") or {}
        if not isinstance(data, Mapping):
            data = {}
        template_id = block.get("template_id")
        text = _as_text(block.get("text"))
        para_style = self.style("SIGNATURE_BLOCK" if zone == SIGNATURE_ZONE else "BODY")

        roll_call = any(isinstance(data.get(key), list) for key in _ROLL_CALL_KEYS) or (
            template_id == "TPL_LLAMADO_LISTA" and _quorum(data) is not None
        )
        agenda = template_id == "TPL_ORDEN_DIA" and isinstance(data.get("puntos"), list)
        votacion = data.get("votacion")
        has_vote = isinstance(votacion, Mapping) and (
            isinstance(votacion.get("votos"), list)
            or any(_count(votacion, kind) is not None for kind in _COUNT_KEYS)
        )
        composite = roll_call or agenda or has_vote

        orador = _person_name(data.get("orador"))
        if orador:
            speech = data.get("texto")
            body = speech if isinstance(speech, str) and speech.strip() else text
            p = _add_paragraph(container, para_style)
            name = orador.rstrip(":").strip().upper()
            speaker_style = self.roles.get("SPEAKER")
            _add_run(p, f"{name}:", style_id=speaker_style, bold=speaker_style is None)
            if body:
                _add_run(p, f" {body}")
        elif text or not composite:
            _add_paragraph(container, para_style, text)

        if roll_call:
            self.roll_call(container, data, geo)
        if agenda:
            for number, item in enumerate(data["puntos"], start=1):
                text = _item_text(item)
                # Items may carry the number as announced ("5. …" when a reading goes on in a
                # second block); number the others by position.
                _add_paragraph(container, para_style, text if _NUMBERED.match(text) else f"{number}. {text}")
        if has_vote and isinstance(votacion, Mapping):
            self.vote(container, votacion, geo)

    def roll_call(self, container: Any, data: Mapping[str, Any], geo: _Geometry) -> None:
        rows: list[tuple[str, str]] = []
        for key, label in _ROLL_CALL_KEYS.items():
            members = data.get(key)
            if isinstance(members, list):
                rows.extend((_person_name(m), label) for m in members)
        if rows:
            _add_table(
                container,
                self.roles.get("TABLE"),
                ("Concejal", "Estado"),
                rows,
                (0.7, 0.3),
                geo,
            )
        quorum = _quorum(data)
        if quorum is not None:
            if isinstance(quorum, bool):
                described = "hay quórum" if quorum else "no hay quórum"
            elif isinstance(quorum, Mapping):
                described = ", ".join(f"{k}: {_as_text(v)}" for k, v in quorum.items())
            else:
                described = _as_text(quorum)
            _add_paragraph(container, self.style("BODY"), f"Quórum: {described}")

    def vote(self, container: Any, votacion: Mapping[str, Any], geo: _Geometry) -> None:
        votos = votacion.get("votos")
        counted = {"si": 0, "no": 0, "abstencion": 0}
        has_list = isinstance(votos, list)
        if isinstance(votos, list):
            rows: list[tuple[str, str]] = []
            for entry in votos:
                if isinstance(entry, Mapping):
                    raw_vote = entry.get("voto")
                    kind = _vote_kind(raw_vote)
                    if kind is not None:
                        counted[kind] += 1
                    label = _VOTE_LABEL[kind] if kind is not None else _as_text(raw_vote)
                    rows.append((_person_name(entry), label))
                else:
                    rows.append((_person_name(entry), ""))
            _add_table(
                container,
                self.roles.get("TABLE"),
                ("Concejal", "Voto"),
                rows,
                (0.7, 0.3),
                geo,
            )
        given = {kind: _count(votacion, kind) for kind in counted}
        if not has_list and all(v is None for v in given.values()):
            return
        totals: dict[str, int] = {}
        for kind, computed in counted.items():
            explicit = given[kind]
            totals[kind] = explicit if explicit is not None else computed
        result = _as_text(votacion.get("resultado")).strip().upper()
        if not result:
            result = "APROBADO" if totals["si"] > totals["no"] else "NEGADO"
        _add_paragraph(
            container,
            self.style("BODY"),
            f"Votos por el sí: {totals['si']}. Votos por el no: {totals['no']}. "
            f"Abstenciones: {totals['abstencion']}. Resultado: {result}.",
        )

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

        caption = _clean(
            _as_text(asset.get("caption")).strip()
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
        self.comments.append(_PendingComment(p, runs, _pending_comment_text(block)))


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


# ---------------------------------------------------------------------------------------------
# Zone filling


def _zone_container(zone: _Zone) -> Any:
    """An element to append the zone's content to (emptied), in the document's own tree."""
    if zone.is_sdt:
        sdt = zone.element
        sdt_pr = sdt.find(W_SDTPR)
        if sdt_pr is not None:
            for flag in sdt_pr.findall(W_SHOWINGPLCHDR):
                sdt_pr.remove(flag)
        content = sdt.find(W_SDTCONTENT)
        if content is None:
            content = etree.SubElement(sdt, W_SDTCONTENT)
        for child in list(content):
            content.remove(child)
        return content
    # fallback marker paragraph: build in a scratch element next to it, then move into place
    scratch = oxml_parser.makeelement(W_SDTCONTENT)
    zone.element.addnext(scratch)
    return scratch


def _finish_zone(zone: _Zone, container: Any, empty_style: str) -> None:
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


def _max_shape_id(doc: Any) -> int:
    ids = [int(v) for v in doc.element.xpath("//@id") if str(v).isdigit()]
    return max(ids, default=0)


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


def build_docx(
    skeleton: bytes,
    *,
    style_map: Mapping[str, str],
    blocks: Sequence[Mapping[str, Any]],
    images: Mapping[str, bytes],
    metadata: Mapping[str, Any] | None = None,
    comment_author: str = "ASTRA",
) -> bytes:
    """Fill ``skeleton`` with ``blocks`` and return the acta as DOCX bytes.

    Blocks (already in final order) go into their ``target_placeholder`` zone; zones are
    filled in document order, so images are numbered as they appear. Content outside the
    zones (letterhead, headings, header, footer, section properties) is left untouched. An
    empty zone is left with one empty BODY paragraph. Raises :class:`BuildError` for a
    skeleton or configuration problem, a block aimed at a missing zone, or a missing image.
    """
    doc = _open(skeleton)
    roles, problems = _resolve_roles(style_map, _read_styles(doc))
    if problems:
        raise BuildError("; ".join(problems))

    body = doc.element.body
    zones = _find_zones(body)
    dupes = _duplicate_zones(zones)
    if dupes:
        raise BuildError(f"skeleton: zone(s) {', '.join(dupes)} appear more than once")
    by_zone = _validate_blocks(blocks, {zone.name for zone in zones})

    renderer = _Renderer(doc=doc, roles=roles, images=images, next_shape_id=_max_shape_id(doc))
    for zone in zones:
        geometry = _zone_geometry(body, zone.element)
        container = _zone_container(zone)
        for block in by_zone.get(zone.name, ()):
            renderer.render(container, block, zone.name, geometry)
        _finish_zone(zone, container, renderer.style("BODY"))

    initials = _initials(comment_author)
    for pending in renderer.comments:
        paragraph = Paragraph(pending.paragraph, doc)
        runs = [Run(r, paragraph) for r in pending.runs]
        comment = doc.add_comment(runs, text=pending.text, author=comment_author, initials=initials)
        # python-docx stamps the wall clock; drop it so the content depends on the inputs only
        comment._comment_elm.attrib.pop(W_DATE, None)

    meta = metadata or {}
    props = doc.core_properties
    props.title = _clean(_as_text(meta.get("title")).strip() or "Acta")[:255]
    subject = _as_text(meta.get("subject")).strip()
    if subject:
        props.subject = _clean(subject)[:255]

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

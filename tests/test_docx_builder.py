"""Tests for the acta DOCX builder and the demo tenant's skeleton (pure: bytes in, bytes out)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from lxml import etree

from server.services import docx_builder, offices
from server.services.classifier import classify
from server.services.docx_builder import (
    ROLES,
    BuildError,
    build_docx,
    check_skeleton,
    check_templates,
    given_the_floor,
    inspect_skeleton,
    is_shield,
)

from .conftest import TIME_UNIT, require

ROOT = Path(__file__).resolve().parent.parent
SKELETON_PATH = ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "skeletons" / "SKEL_STD_V1.docx"
SKELETON = SKELETON_PATH.read_bytes()

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {
    "w": W,
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
}

ZONES = (
    "HEADER_ZONE",
    "ZONE_AGENDA",
    "ZONE_ROLLCALL",
    "ZONE_AGENDA_APPROVAL",
    "ZONE_PRIOR_ACTAS",
    "ZONE_DEBATE",
    "ZONE_PROYECTOS",
    "ZONE_PROPOSICIONES",
    "ZONE_COMUNICACIONES",
    "ZONE_VARIOS",
    "ZONE_CIERRE",
    "SIGNATURE_BLOCK",
)
HEADINGS = {
    "ZONE_AGENDA": "ORDEN DEL DÍA",
    "ZONE_ROLLCALL": "LLAMADO A LISTA Y VERIFICACIÓN DEL QUÓRUM",
    "ZONE_AGENDA_APPROVAL": "APROBACIÓN DEL ORDEN DEL DÍA",
    "ZONE_PRIOR_ACTAS": "APROBACIÓN DE ACTAS ANTERIORES",
    "ZONE_DEBATE": "DESARROLLO DE LA SESIÓN",
    "ZONE_PROYECTOS": "PROYECTOS DE ACUERDO",
    "ZONE_PROPOSICIONES": "PROPOSICIONES",
    "ZONE_COMUNICACIONES": "COMUNICACIONES",
    "ZONE_VARIOS": "VARIOS",
    "ZONE_CIERRE": "CIERRE DE LA SESIÓN",
}
STYLE_MAP = {
    "Estilo_Cali": "HEADING_1",
    "Subtitulo_Acta": "HEADING_2",
    "Texto_Acta": "BODY",
    "Orador_Acta": "SPEAKER",
    "Pie_Imagen": "CAPTION",
    "Firma_Presidente": "SIGNATURE_BLOCK",
    "Pendiente_Revision": "PENDING_REVIEW",
    "Tabla_Acta": "TABLE",
}
PLACEHOLDER_MAP = {
    "TPL_APERTURA": "HEADER_ZONE",
    "TPL_ORDEN_DIA": "ZONE_AGENDA",
    "TPL_LLAMADO_LISTA": "ZONE_ROLLCALL",
    "TPL_APROBACION_ORDEN": "ZONE_AGENDA_APPROVAL",
    "TPL_ACTAS_ANTERIORES": "ZONE_PRIOR_ACTAS",
    "TPL_DEBATE": "ZONE_DEBATE",
    "TPL_PROYECTO_ACUERDO": "ZONE_PROYECTOS",
    "TPL_PROPOSICION": "ZONE_PROPOSICIONES",
    "TPL_COMUNICACION": "ZONE_COMUNICACIONES",
    "TPL_VARIOS": "ZONE_VARIOS",
    "TPL_CIERRE": "ZONE_CIERRE",
    "TPL_FIRMAS": "SIGNATURE_BLOCK",
}
# A4 21 cm minus 3 cm + 2 cm margins, in EMU (as Word stores it: twips * 635)
USABLE_WIDTH_EMU = (11906 - 1701 - 1134) * 635


# ---------------------------------------------------------------------------------------------
# helpers


def _make_png(width: int, height: int) -> bytes:
    """A valid RGB PNG of the given size, made with zlib/struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + b"\x20\x60\xa0" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _block(
    block_id: str,
    zone: str,
    text: str = "",
    *,
    template_id: str | None = None,
    block_type: str = "TEMPLATE",
    **extra: Any,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "block_id": block_id,
        "type": block_type,
        "target_placeholder": zone,
        "template_id": template_id,
        "text": text,
        "structured_data": {},
        "label": block_id,
        "audio_metadata": None,
    }
    block.update(extra)
    return block


def _build(blocks: list[dict[str, Any]], **kwargs: Any) -> bytes:
    kwargs.setdefault("images", {})
    return build_docx(SKELETON, style_map=STYLE_MAP, blocks=blocks, **kwargs)


def _part(docx: bytes, name: str) -> Any:
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        return etree.fromstring(zf.read(name))


def _body(docx: bytes) -> Any:
    return _part(docx, "word/document.xml").find(f"{{{W}}}body")


def _text(el: Any) -> str:
    return "".join(t.text or "" for t in el.iter(f"{{{W}}}t"))


def _zone(docx: bytes, name: str) -> Any:
    found = _body(docx).xpath("//w:sdt[w:sdtPr/w:tag/@w:val=$name]/w:sdtContent", namespaces=NS, name=name)
    assert len(found) == 1, name
    return found[0]


def _paragraphs(el: Any) -> list[Any]:
    return [p for p in el.iterchildren(f"{{{W}}}p") if not is_shield(p)]


def _style(p: Any) -> str | None:
    values = p.xpath("./w:pPr/w:pStyle/@w:val", namespaces=NS)
    return str(values[0]) if values else None


def _table_rows(tbl: Any) -> list[list[str]]:
    return [[_text(tc) for tc in tr.iterchildren(f"{{{W}}}tc")] for tr in tbl.xpath("./w:tr", namespaces=NS)]


def _outside_zones(docx: bytes) -> list[bytes]:
    """Canonical XML of every body child that is not a zone (letterhead, headings, sectPr)."""
    return [etree.tostring(child, method="c14n") for child in _body(docx) if child.tag != f"{{{W}}}sdt"]


@pytest.mark.parametrize("filled", [True, False], ids=["filled", "left-out"])
def test_a_zone_that_ends_a_section_keeps_the_section_break(filled: bool) -> None:
    """Review: a content control whose placeholder paragraph ended a section (its ``sectPr``: a
    landscape annex of votes after a portrait acta) was emptied whole, section break and all: the
    acta came out as one section, the annex's orientation, margins and headers lost. The break
    now ends the zone's content, and stays where the zone was when the zone is left out."""
    doc = Document()
    doc.styles.add_style("Texto_Acta", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("ACTA")
    landscape = '<w:sectPr><w:pgSz w:w="16838" w:h="11906" w:orient="landscape"/></w:sectPr>'
    doc.element.body.sectPr.addprevious(
        etree.fromstring(
            f'<w:sdt xmlns:w="{W}"><w:sdtPr><w:tag w:val="ZONE_VOTES"/></w:sdtPr><w:sdtContent>'
            f"<w:p><w:r><w:t>[[ZONE_VOTES]]</w:t></w:r></w:p>"
            f"<w:p><w:pPr>{landscape}</w:pPr><w:r><w:t>Anexo</w:t></w:r></w:p>"
            "</w:sdtContent></w:sdt>"
        )
    )
    doc.add_paragraph("Fin")
    raw = io.BytesIO()
    doc.save(raw)
    blocks = [_block("v1", "ZONE_VOTES", "Se aprueba por unanimidad.")] if filled else []
    out = build_docx(
        raw.getvalue(),
        style_map={"Texto_Acta": "BODY"},
        blocks=blocks,
        images={},
        empty_zones={"ZONE_VOTES": None},
    )
    ends = [p for p in _body(out).iter(f"{{{W}}}p") if p.find(f"{{{W}}}pPr/{{{W}}}sectPr") is not None]
    if filled:  # the zone's last paragraph, as the skeleton had it
        last = _zone(out, "ZONE_VOTES")[-1]
        assert last.find(f"{{{W}}}pPr/{{{W}}}sectPr/{{{W}}}pgSz").get(f"{{{W}}}orient") == "landscape"
    else:  # in the body where the zone was (python-docx reads the body's sections)
        sections = Document(io.BytesIO(out)).sections
        assert [s.orientation for s in sections] == [WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    assert len(ends) == 1 and _text(ends[0]) == ""  # the placeholder's words do not stay
    texts = [_text(p) for p in _body(out).iter(f"{{{W}}}p")]
    assert texts == (["ACTA", "Se aprueba por unanimidad.", "", "Fin"] if filled else ["ACTA", "", "Fin"])


def _with_part(docx: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The package with its part ``name`` replaced by ``change(part)``."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, change(data) if item.filename == name else data)
    return out.getvalue()


def _load_make_skeleton() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_skeleton", ROOT / "tools" / "make_skeleton.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# the skeleton


def test_skeleton_has_all_zones_in_order() -> None:
    """The demo skeleton exposes the 12 zones, in order, each as a tagged content control."""
    assert inspect_skeleton(SKELETON).zones == ZONES
    body = _body(SKELETON)
    for name in ZONES:
        sdt = body.xpath("./w:sdt[w:sdtPr/w:tag/@w:val=$n]", namespaces=NS, n=name)[0]
        assert sdt.xpath("./w:sdtPr/w:alias/@w:val", namespaces=NS)[0]
        assert _text(sdt) == f"[[{name}]]"


def test_skeleton_headings_precede_zones() -> None:
    """Each zone but the header and signature zones follows its fixed Estilo_Cali heading."""
    body = _body(SKELETON)
    for name, heading in HEADINGS.items():
        sdt = body.xpath("./w:sdt[w:sdtPr/w:tag/@w:val=$n]", namespaces=NS, n=name)[0]
        previous = sdt.getprevious()
        assert _text(previous) == heading
        assert _style(previous) == "Estilo_Cali"
    letterhead = [_text(p) for p in _paragraphs(body)[:2]]
    assert letterhead == ["CONCEJO DISTRITAL DE SANTIAGO DE CALI", "ACTA DE SESIÓN PLENARIA"]


def test_no_section_heading_of_the_skeleton_repeats_another() -> None:
    """Each heading names its own zone: "PROPOSICIONES Y VARIOS" over the varios zone repeated the
    proposals' heading, and a session with both printed two headings for proposiciones."""
    body = _body(SKELETON)
    headings = [_text(p) for p in _paragraphs(body) if _style(p) == "Estilo_Cali"]
    assert len(headings) == len(HEADINGS)
    assert [(a, b) for a in headings for b in headings if b.startswith(f"{a} ")] == []


def test_skeleton_defines_styles_with_their_kinds() -> None:
    """All styles of the demo style map exist, with the kind each role needs."""
    assert set(STYLE_MAP) <= inspect_skeleton(SKELETON).styles
    doc = Document(io.BytesIO(SKELETON))
    kinds = {name: doc.styles[name].type for name in STYLE_MAP}
    assert kinds["Orador_Acta"] == WD_STYLE_TYPE.CHARACTER
    assert kinds["Tabla_Acta"] == WD_STYLE_TYPE.TABLE
    paragraph_styles = set(STYLE_MAP) - {"Orador_Acta", "Tabla_Acta"}
    assert all(kinds[name] == WD_STYLE_TYPE.PARAGRAPH for name in paragraph_styles)
    assert doc.styles["Estilo_Cali"].font.bold
    assert doc.styles["Pie_Imagen"].font.italic


def test_skeleton_page_header_and_footer() -> None:
    """The skeleton is A4 and has header and footer text."""
    doc = Document(io.BytesIO(SKELETON))
    section = doc.sections[0]
    assert (section.page_width, section.page_height) == (11906 * 635, 16838 * 635)
    assert "Concejo Distrital de Santiago de Cali" in section.header.paragraphs[0].text
    assert "Página" in section.footer.paragraphs[0].text


def test_skeleton_generator_is_deterministic() -> None:
    """Regenerating the skeleton gives identical bytes, matching the committed file's XML."""
    make_skeleton = _load_make_skeleton()
    first, second = make_skeleton.build_skeleton(), make_skeleton.build_skeleton()
    assert first == second
    for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml", "docProps/core.xml"):
        assert etree.tostring(_part(first, part)) == etree.tostring(_part(SKELETON, part))


# ---------------------------------------------------------------------------------------------
# check_skeleton


def test_check_skeleton_accepts_demo_maps() -> None:
    """The demo tenant's style and placeholder maps fit the demo skeleton."""
    assert check_skeleton(SKELETON, STYLE_MAP, PLACEHOLDER_MAP) == []


def test_check_skeleton_names_each_problem() -> None:
    """A missing zone, a missing style, an unknown role and an unmapped BODY are all reported."""
    style_map = {k: v for k, v in STYLE_MAP.items() if v != "BODY"}
    style_map["Estilo_Fantasma"] = "HEADING_2"
    style_map["Subtitulo_Acta"] = "TITULO"
    problems = check_skeleton(SKELETON, style_map, {**PLACEHOLDER_MAP, "TPL_X": "ZONE_FANTASMA"})
    assert len(problems) == 4, problems
    joined = "\n".join(problems)
    assert "ZONE_FANTASMA" in joined
    assert "Estilo_Fantasma" in joined
    assert "TITULO" in joined
    assert "BODY" in joined


def test_check_skeleton_reports_wrong_style_kind() -> None:
    """A paragraph style mapped to the character role SPEAKER is reported."""
    problems = check_skeleton(SKELETON, {**STYLE_MAP, "Subtitulo_Acta": "SPEAKER"}, {})
    assert len(problems) == 1 and "Subtitulo_Acta" in problems[0] and "character" in problems[0]


def test_check_skeleton_and_inspect_on_garbage() -> None:
    """Bytes that are not a DOCX give one problem from check_skeleton and BuildError elsewhere."""
    assert len(check_skeleton(b"not a zip", STYLE_MAP, PLACEHOLDER_MAP)) == 1
    with pytest.raises(BuildError):
        inspect_skeleton(b"not a zip")
    with pytest.raises(BuildError):
        build_docx(b"not a zip", style_map=STYLE_MAP, blocks=[], images={})


def test_check_skeleton_reports_parts_python_docx_opens_but_cannot_read() -> None:
    """A package python-docx opens but then fails to read (no content type, or the wrong one,
    declared for its styles part; a main part without a body, or with another root) gives one
    problem naming the part, never python-docx's exception."""
    styles_type = rb'<Override PartName="/word/styles.xml" ContentType="[^"]*"/>'

    def content_types(replacement: bytes) -> Callable[[bytes], bytes]:
        def change(data: bytes) -> bytes:
            changed, found = re.subn(styles_type, replacement, data)
            assert found == 1
            return changed

        return change

    no_styles_type = _with_part(SKELETON, "[Content_Types].xml", content_types(b""))
    other_styles_type = _with_part(
        SKELETON,
        "[Content_Types].xml",
        content_types(b'<Override PartName="/word/styles.xml" ContentType="application/xml"/>'),
    )
    document = f'<w:document xmlns:w="{W}"/>'.encode()
    no_body = _with_part(SKELETON, "word/document.xml", lambda _: document)
    other_root = _with_part(SKELETON, "word/document.xml", lambda _: b'<other xmlns="urn:x"/>')
    for skeleton, part in (
        (no_styles_type, "styles part"),
        (other_styles_type, "styles part"),
        (no_body, "main document part"),
        (other_root, "main document part"),
    ):
        problems = check_skeleton(skeleton, STYLE_MAP, PLACEHOLDER_MAP)
        assert len(problems) == 1 and f"its {part} cannot be read" in problems[0], problems


def test_roles_constant() -> None:
    """ROLES lists the eight roles of the style map contract."""
    assert ROLES == (
        "HEADING_1",
        "HEADING_2",
        "BODY",
        "SPEAKER",
        "CAPTION",
        "SIGNATURE_BLOCK",
        "PENDING_REVIEW",
        "TABLE",
    )


# ---------------------------------------------------------------------------------------------
# build_docx: placement


def test_blocks_land_in_their_zone_in_order() -> None:
    """Blocks fill their zone in the given order with the BODY style id, markers removed."""
    blocks = [
        _block("b1", "HEADER_ZONE", "Se abre la sesión.", template_id="TPL_APERTURA"),
        _block("b2", "ZONE_CIERRE", "Se levanta la sesión.", template_id="TPL_CIERRE"),
        _block("b3", "HEADER_ZONE", "Preside el concejal Pérez."),
        _block("b4", "ZONE_COMUNICACIONES", "Se lee el oficio 123."),
    ]
    out = _build(blocks)
    header = _paragraphs(_zone(out, "HEADER_ZONE"))
    assert [_text(p) for p in header] == ["Se abre la sesión.", "Preside el concejal Pérez."]
    assert {_style(p) for p in header} == {"Texto_Acta"}
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_CIERRE"))] == ["Se levanta la sesión."]
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_COMUNICACIONES"))] == ["Se lee el oficio 123."]
    assert "[[" not in _text(_body(out))


def test_empty_zones_keep_one_empty_body_paragraph() -> None:
    """A zone without blocks is left with a single empty BODY paragraph (the signatures are
    never without blocks: the session's own, with blank names when none was said)."""
    out = _build([_block("b1", "ZONE_DEBATE", "Hola.")])
    for name in ZONES:
        if name in ("ZONE_DEBATE", "SIGNATURE_BLOCK"):
            continue
        content = _zone(out, name)
        assert len(content) == 1
        assert _text(content[0]) == ""
        assert _style(content[0]) == "Texto_Acta"


def _headings(out: bytes) -> list[str]:
    return [_text(p) for p in _paragraphs(_body(out)) if _style(p) == "Estilo_Cali"]


def test_a_tenant_leaves_out_or_names_the_sections_a_session_did_not_have() -> None:
    """An installation session has no previous acta nor bills: the acta printed their headings
    over an empty paragraph. Zones the tenant maps to null are left out with their heading; a
    sentence is written in its zone; a zone with blocks, or one not named, is as before."""
    empty_zones = {
        "ZONE_PRIOR_ACTAS": None,
        "ZONE_PROYECTOS": None,
        "ZONE_VARIOS": "No se presentaron asuntos varios.",
        "ZONE_DEBATE": None,
    }
    out = _build([_block("b1", "ZONE_DEBATE", "Hola.")], empty_zones=empty_zones)
    assert inspect_skeleton(out).zones == tuple(
        z for z in ZONES if z not in ("ZONE_PRIOR_ACTAS", "ZONE_PROYECTOS")
    )
    assert _headings(out) == [
        h for z, h in HEADINGS.items() if z not in ("ZONE_PRIOR_ACTAS", "ZONE_PROYECTOS")
    ]
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_VARIOS"))] == ["No se presentaron asuntos varios."]
    assert _style(_paragraphs(_zone(out, "ZONE_VARIOS"))[0]) == "Texto_Acta"
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_DEBATE"))] == ["Hola."]
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_COMUNICACIONES"))] == [""]


def test_a_heading_over_a_zone_still_there_stays() -> None:
    """A skeleton with one heading over two marker zones and a subheading over a third: the
    heading goes only when nothing is left under it (a subheading over a zone still there keeps
    it), and marker paragraphs are left out too."""
    doc = Document()
    for name in ("Texto_Acta", "Estilo_Cali", "Subtitulo_Acta"):
        doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    for text, style in (
        ("PROPOSICIONES Y VARIOS", "Estilo_Cali"),
        ("[[ZONE_A]]", "Texto_Acta"),
        ("[[ZONE_B]]", "Texto_Acta"),
        ("CIERRE", "Estilo_Cali"),
        ("Convocatoria", "Subtitulo_Acta"),
        ("[[ZONE_C]]", "Texto_Acta"),
        ("Anexos", "Subtitulo_Acta"),
        ("[[ZONE_D]]", "Texto_Acta"),
    ):
        doc.add_paragraph(text, style=style)
    raw = io.BytesIO()
    doc.save(raw)
    style_map = {"Texto_Acta": "BODY", "Estilo_Cali": "HEADING_1", "Subtitulo_Acta": "HEADING_2"}

    def built(blocks: list[dict[str, Any]]) -> list[str]:
        out = build_docx(
            raw.getvalue(),
            style_map=style_map,
            blocks=blocks,
            images={},
            empty_zones=dict.fromkeys(("ZONE_A", "ZONE_B", "ZONE_C", "ZONE_D")),
        )
        return [_text(p) for p in _paragraphs(_body(out))]

    one = [_block("b", "ZONE_B", "varios"), _block("c", "ZONE_C", "mañana")]
    assert built(one) == ["PROPOSICIONES Y VARIOS", "varios", "CIERRE", "Convocatoria", "mañana"]
    assert built([_block("a", "ZONE_A", "proposición")]) == ["PROPOSICIONES Y VARIOS", "proposición"]
    assert built([]) == []
    # Review: a heading the acta wrote (a template's, last in ZONE_A) is not the skeleton's: the
    # empty ZONE_B after it took it for its own section heading and left it out, words and all
    templates = {"TPL_TITULO": [{"paragraph": "{{ text }}", "role": "HEADING_2"}]}
    titled = [_block("a", "ZONE_A", "Proposición del concejal Ruiz", template_id="TPL_TITULO")]
    out = build_docx(
        raw.getvalue(),
        style_map=style_map,
        blocks=titled,
        images={},
        empty_zones=dict.fromkeys(("ZONE_A", "ZONE_B", "ZONE_C", "ZONE_D")),
        templates=templates,
    )
    assert [(_text(p), _style(p)) for p in _paragraphs(_body(out))] == [
        ("PROPOSICIONES Y VARIOS", "Estilo_Cali"),
        ("Proposición del concejal Ruiz", "Subtitulo_Acta"),
    ]


def test_a_cell_holding_a_zone_still_ends_with_a_paragraph() -> None:
    """Review: Word requires a paragraph as the last element of every table cell. A zone laid out
    in a cell ended it with the roll call's generated table (a marker zone, and a content
    control), and a zone left out emptied its cell: Word reports such a file as unreadable."""
    doc = Document()
    doc.styles.add_style("Texto_Acta", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("ACTA")
    frame = doc.add_table(rows=3, cols=1)
    frame.cell(0, 0).paragraphs[0].text = "[[ZONE_ROLLCALL]]"
    control = frame.cell(1, 0)._tc
    for p in control.findall(f"{{{W}}}p"):
        control.remove(p)
    control.append(
        etree.fromstring(
            f'<w:sdt xmlns:w="{W}"><w:sdtPr><w:tag w:val="ZONE_VOTES"/></w:sdtPr>'
            "<w:sdtContent><w:p><w:r><w:t>[[ZONE_VOTES]]</w:t></w:r></w:p></w:sdtContent></w:sdt>"
        )
    )
    frame.cell(2, 0).paragraphs[0].text = "[[ZONE_VARIOS]]"
    doc.add_paragraph("Fin")
    raw = io.BytesIO()
    doc.save(raw)
    roll = {"presentes": ["Ana Ruiz", "Luis Mora"], "ausentes": ["Pedro Paz"]}
    blocks = [
        _block(
            "r1", "ZONE_ROLLCALL", "Llamado a lista.", template_id="TPL_LLAMADO_LISTA", structured_data=roll
        ),
        _block(
            "v1",
            "ZONE_VOTES",
            "Quórum.",
            template_id="TPL_LLAMADO_LISTA",
            structured_data={"presentes": ["Rosa Díaz"]},
        ),
    ]
    out = build_docx(
        raw.getvalue(),
        style_map={"Texto_Acta": "BODY"},
        blocks=blocks,
        images={},
        empty_zones={"ZONE_VARIOS": None},
    )
    outer = _body(out).find(f"{{{W}}}tbl")
    cells = [tr.find(f"{{{W}}}tc") for tr in outer.findall(f"{{{W}}}tr")]
    assert cells[0].find(f"{{{W}}}tbl") is not None  # the roll call's table is in the cell
    for cell in cells:
        kinds = [etree.QName(c).localname for c in cell if etree.QName(c).localname != "tcPr"]
        assert kinds and kinds[-1] == "p", kinds


def test_empty_zones_are_checked_against_the_skeleton() -> None:
    """A zone the skeleton lacks, or a value that is neither a sentence nor null, is a
    configuration problem at session start (check_skeleton) and a build error."""
    bad = {"ZONE_INEXISTENTE": None, "ZONE_VARIOS": "  ", "ZONE_PROYECTOS": 3}
    problems = check_skeleton(SKELETON, STYLE_MAP, PLACEHOLDER_MAP, bad)
    assert len(problems) == 3 and all(p.startswith("empty_zones:") for p in problems)
    assert check_skeleton(SKELETON, STYLE_MAP, PLACEHOLDER_MAP, {"ZONE_VARIOS": None}) == []
    with pytest.raises(BuildError, match="ZONE_INEXISTENTE"):
        _build([], empty_zones=bad)


def test_content_outside_zones_is_unchanged() -> None:
    """Letterhead, headings, section properties, header and footer are left untouched."""
    blocks = [_block(f"b{i}", zone, f"texto {i}") for i, zone in enumerate(ZONES)]
    out = _build(blocks, metadata={"title": "Acta 045"})
    assert _outside_zones(out) == _outside_zones(SKELETON)
    for part in ("word/header1.xml", "word/footer1.xml"):
        assert etree.tostring(_part(out, part), method="c14n") == etree.tostring(
            _part(SKELETON, part), method="c14n"
        )
    doc = Document(io.BytesIO(out))
    assert "Concejo Distrital de Santiago de Cali" in doc.sections[0].header.paragraphs[0].text
    assert "Página" in doc.sections[0].footer.paragraphs[0].text
    # the zones are still content controls, with their tags and aliases
    assert inspect_skeleton(out).zones == ZONES


def test_zone_content_controls_keep_their_properties() -> None:
    """Filling a zone replaces only its content; the sdtPr (tag, alias, lock) stays."""
    out = _build([_block("b1", "ZONE_DEBATE", "x")])
    before = _body(SKELETON).xpath("//w:sdtPr", namespaces=NS)
    after = _body(out).xpath("//w:sdtPr", namespaces=NS)
    assert [etree.tostring(e, method="c14n") for e in before] == [
        etree.tostring(e, method="c14n") for e in after
    ]


def test_marker_paragraph_fallback() -> None:
    """A skeleton made with [[ZONE]] paragraphs (even split across runs) is filled in place."""
    doc = Document()
    doc.styles.add_style("Texto_Acta", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("Intro")
    doc.add_paragraph("[[ZONE_A]]")
    doc.add_paragraph("Medio")
    split = doc.add_paragraph("[[ZONE_")
    split.add_run("B]]")
    doc.add_paragraph("Fin")
    raw = io.BytesIO()
    doc.save(raw)
    skeleton = raw.getvalue()

    assert inspect_skeleton(skeleton).zones == ("ZONE_A", "ZONE_B")
    out = build_docx(
        skeleton,
        style_map={"Texto_Acta": "BODY"},
        blocks=[_block("a1", "ZONE_A", "uno"), _block("a2", "ZONE_A", "dos")],
        images={},
    )
    paragraphs = _paragraphs(_body(out))
    assert [_text(p) for p in paragraphs] == ["Intro", "uno", "dos", "Medio", "", "Fin"]
    assert _style(paragraphs[1]) == "Texto_Acta"
    assert _style(paragraphs[4]) == "Texto_Acta"


def test_unknown_zone_raises() -> None:
    """A block aimed at a zone the skeleton lacks raises BuildError naming zone and block."""
    with pytest.raises(BuildError) as info:
        _build([_block("b-77", "ZONE_INEXISTENTE", "x")])
    assert "ZONE_INEXISTENTE" in str(info.value)
    assert "b-77" in str(info.value)


def test_deleted_blocks_are_skipped() -> None:
    """Blocks flagged deleted do not appear in the document."""
    blocks = [
        _block("b1", "ZONE_DEBATE", "queda"),
        _block("b2", "ZONE_DEBATE", "borrado", deleted=True),
        _block("b3", "ZONE_INEXISTENTE", "borrado también", deleted=True),
        _block("b4", "ZONE_DEBATE", "también queda", deleted=False),
    ]
    out = _build(blocks)
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_DEBATE"))] == ["queda", "también queda"]


def test_style_map_problems_raise() -> None:
    """A style map without BODY, or naming a missing style, makes build_docx raise BuildError."""
    no_body = {k: v for k, v in STYLE_MAP.items() if v != "BODY"}
    with pytest.raises(BuildError, match="BODY"):
        build_docx(SKELETON, style_map=no_body, blocks=[], images={})
    with pytest.raises(BuildError, match="Estilo_Fantasma"):
        build_docx(SKELETON, style_map={**STYLE_MAP, "Estilo_Fantasma": "CAPTION"}, blocks=[], images={})


def test_missing_roles_fall_back_to_body() -> None:
    """With only BODY mapped, speakers are bold runs and tables get direct borders."""
    blocks = [
        _block("d", "ZONE_DEBATE", "Buenos días.", structured_data={"orador": "Ana Gómez"}),
        _block("r", "ZONE_ROLLCALL", structured_data={"presentes": ["Ana"]}),
        _block("s", "SIGNATURE_BLOCK", "Firma"),
    ]
    out = build_docx(SKELETON, style_map={"Texto_Acta": "BODY"}, blocks=blocks, images={})
    speaker = _paragraphs(_zone(out, "ZONE_DEBATE"))[0].xpath("./w:r", namespaces=NS)[0]
    assert speaker.xpath("./w:rPr/w:b", namespaces=NS)
    tbl = _zone(out, "ZONE_ROLLCALL").find(f"{{{W}}}tbl")
    assert tbl.xpath("./w:tblPr/w:tblBorders", namespaces=NS)
    assert _style(_paragraphs(_zone(out, "SIGNATURE_BLOCK"))[0]) == "Texto_Acta"


# ---------------------------------------------------------------------------------------------
# build_docx: rendering


def test_debate_speaker_run_is_styled() -> None:
    """A debate block is one BODY paragraph: an Orador_Acta run "NAME:" then the speech."""
    blocks = [
        _block(
            "d1",
            "ZONE_DEBATE",
            "texto crudo",
            template_id="TPL_DEBATE",
            structured_data={"orador": "H.C. María López", "texto": "Gracias, presidente."},
        ),
        _block("d2", "ZONE_DEBATE", "Sin orador.", template_id="TPL_DEBATE"),
    ]
    out = _build(blocks)
    first, second = _paragraphs(_zone(out, "ZONE_DEBATE"))
    assert _style(first) == "Texto_Acta"
    runs = first.xpath("./w:r", namespaces=NS)
    assert _text(runs[0]) == "H.C. MARÍA LÓPEZ:"
    assert runs[0].xpath("./w:rPr/w:rStyle/@w:val", namespaces=NS) == ["Orador_Acta"]
    assert _text(first) == "H.C. MARÍA LÓPEZ: Gracias, presidente."
    assert not runs[1].xpath("./w:rPr", namespaces=NS)
    assert _text(second) == "Sin orador."


def test_roll_call_table() -> None:
    """Roll call renders the text, a Tabla_Acta table Concejal | Estado, and the quorum."""
    data = {
        "presentes": ["Ana Gómez", {"nombre": "Luis Díaz"}],
        "ausentes": ["Pedro Ruiz"],
        "excusados": [{"nombre": "Eva Mora"}],
        "quorum": "decisorio",
    }
    block = _block(
        "r1",
        "ZONE_ROLLCALL",
        "Contestaron a lista los honorables concejales:",
        template_id="TPL_LLAMADO_LISTA",
        structured_data=data,
    )
    content = _zone(_build([block]), "ZONE_ROLLCALL")
    kinds = [etree.QName(child).localname for child in content]
    assert kinds == ["p", "tbl", "p"]
    assert _text(content[0]) == "Contestaron a lista los honorables concejales:"
    tbl = content[1]
    assert tbl.xpath("./w:tblPr/w:tblStyle/@w:val", namespaces=NS) == ["Tabla_Acta"]
    assert _table_rows(tbl) == [
        ["Concejal", "Estado"],
        ["Ana Gómez", "Presente"],
        ["Luis Díaz", "Presente"],
        ["Pedro Ruiz", "Ausente"],
        ["Eva Mora", "Excusado"],
    ]
    assert _text(content[2]) == "Quórum: decisorio"


def test_vote_table_and_summary() -> None:
    """A nominal vote renders Concejal | Voto rows and the totals with the result."""
    votos = [
        {"nombre": "Ana", "voto": "sí"},
        {"nombre": "Luis", "voto": "NO"},
        {"nombre": "Eva", "voto": "abstención"},
        {"nombre": "Juan", "voto": "si"},
    ]
    block = _block(
        "v1",
        "ZONE_PROYECTOS",
        "Se somete a votación el proyecto de acuerdo 045.",
        template_id="TPL_PROYECTO_ACUERDO",
        structured_data={"votacion": {"votos": votos}},
    )
    content = _zone(_build([block]), "ZONE_PROYECTOS")
    assert [etree.QName(child).localname for child in content] == ["p", "tbl", "p"]
    assert _table_rows(content[1]) == [
        ["Concejal", "Voto"],
        ["Ana", "Sí"],
        ["Luis", "No"],
        ["Eva", "Abstención"],
        ["Juan", "Sí"],
    ]
    assert _text(content[2]) == (
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 1. Resultado: APROBADO."
    )


def test_an_impeded_member_on_a_vote_list_is_written_so_and_counted_nowhere() -> None:
    """A member called in the list who answers she is impeded ("olga lucia rendon salazar
    impedida") is a row "Impedida" on no side of the count (blind audit of objections, #28)."""
    votos = [
        {"nombre": "Ana", "voto": "sí"},
        {"nombre": "Olga", "voto": "impedida"},
        {"nombre": "Luis", "voto": "no"},
        {"nombre": "Juan", "voto": "si"},
    ]
    block = _block(
        "v1",
        "ZONE_PROYECTOS",
        "Votación nominal del informe.",
        template_id="TPL_PROYECTO_ACUERDO",
        structured_data={"votacion": {"votos": votos}},
    )
    content = _zone(_build([block]), "ZONE_PROYECTOS")
    assert _table_rows(content[1])[2] == ["Olga", "Impedida"]
    assert _text(content[2]) == (
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 0. Resultado: APROBADO."
    )


def test_vote_counts_only() -> None:
    """A vote with counts but no list renders just the summary after the text."""
    block = _block(
        "v2",
        "ZONE_AGENDA_APPROVAL",
        "¿Lo aprueba la plenaria?",
        structured_data={"votacion": {"si": 3, "no": 15, "abstenciones": 0}},
    )
    content = _zone(_build([block]), "ZONE_AGENDA_APPROVAL")
    assert [_text(p) for p in content] == [
        "¿Lo aprueba la plenaria?",
        "Votos por el sí: 3. Votos por el no: 15. Abstenciones: 0. Resultado: NEGADO.",
    ]


def test_vote_counts_written_oddly_are_not_counts() -> None:
    """Counts a person typed as '²' or as thousands of digits are ignored, not a crash: they
    passed str.isdigit() and int() refused them, so finalize failed for good (500) and left the
    session closed to the edit that could fix it. Counts as plain digit strings still count."""
    block = _block(
        "v3",
        "ZONE_AGENDA_APPROVAL",
        "¿Lo aprueba la plenaria?",
        structured_data={"votacion": {"si": "²", "no": "9" * 5000, "abstenciones": " 2 "}},
    )
    content = _zone(_build([block]), "ZONE_AGENDA_APPROVAL")
    assert _text(content[0]) == "¿Lo aprueba la plenaria?"
    assert "Abstenciones: 2." in _text(content[-1])


def test_agenda_items_numbered_as_text() -> None:
    """Agenda items become BODY paragraphs numbered as text, after the block text."""
    block = _block(
        "o1",
        "ZONE_AGENDA",
        "Lectura del orden del día:",
        template_id="TPL_ORDEN_DIA",
        structured_data={"puntos": ["Llamado a lista", {"titulo": "Aprobación de actas"}, "Varios"]},
    )
    paragraphs = _paragraphs(_zone(_build([block]), "ZONE_AGENDA"))
    assert [_text(p) for p in paragraphs] == [
        "Lectura del orden del día:",
        "1. Llamado a lista",
        "2. Aprobación de actas",
        "3. Varios",
    ]
    assert {_style(p) for p in paragraphs} == {"Texto_Acta"}
    assert not _body(_build([block])).xpath("//w:numPr", namespaces=NS)


def test_agenda_items_keep_the_numbers_the_classifier_announced() -> None:
    """Items the classifier numbered as said ("5. …" in a continued reading) are not renumbered,
    so the acta never reads "1. 5. …"; the reading is the items alone, written once."""
    from server.services.classifier import classify

    said = classify("Quinto, informe de la Personería. Sexto, proposiciones y varios.", {}, "TPL_ORDEN_DIA")
    assert said.template_id == "TPL_ORDEN_DIA"
    block = _block(
        "o2", "ZONE_AGENDA", said.text, template_id="TPL_ORDEN_DIA", structured_data=said.structured_data
    )
    texts = [_text(p) for p in _paragraphs(_zone(_build([block]), "ZONE_AGENDA"))]
    assert texts == ["5. Informe de la Personería", "6. Proposiciones y varios"]


def test_signature_zone_uses_signature_style() -> None:
    """Blocks in SIGNATURE_BLOCK get the Firma_Presidente style; newlines become breaks."""
    block = _block("s1", "SIGNATURE_BLOCK", "JUAN PÉREZ\nPresidente")
    p = _paragraphs(_zone(_build([block]), "SIGNATURE_BLOCK"))[0]
    assert _style(p) == "Firma_Presidente"
    assert len(p.xpath(".//w:br", namespaces=NS)) == 1
    assert _text(p) == "JUAN PÉREZPresidente"


def test_text_with_control_characters_is_kept_valid() -> None:
    """Characters XML cannot carry do not glue the words they stood between (a review found
    "Uno\\x1fdos" printed "Unodos"): a control character is a space, a vertical tab or form feed
    (Word's manual line break, pasted from another program) a line break; a noncharacter goes.
    Tabs become w:tab."""
    out = _build([_block("c1", "ZONE_VARIOS", "a\x01b\x1fc\td.\x0bE\ufffef\x0cg")])
    p = _paragraphs(_zone(out, "ZONE_VARIOS"))[0]
    assert _text(p) == "a b cd.Efg"
    assert p.xpath(".//w:tab", namespaces=NS)
    assert len(p.xpath(".//w:br", namespaces=NS)) == 2


def test_an_image_caption_a_person_corrected_is_the_one_printed() -> None:
    """Review: the console corrects an image's caption by editing the block's text, but BUILDER
    printed ``asset.caption`` (set once at upload, the file name when none was given): the
    correction never reached the acta. The block's text wins; without one, the upload's."""
    images = {"a": _make_png(40, 20), "b": _make_png(40, 20)}
    asset = {"content_type": "image/png", "filename": "DSC_1234.png"}
    blocks = [
        _block(
            "i1",
            "ZONE_DEBATE",
            "Plano del nuevo hospital de Siloé",
            block_type="IMAGE",
            asset={**asset, "asset_id": "a", "caption": "Foto del recinto"},
        ),
        _block(
            "i2", "ZONE_DEBATE", "", block_type="IMAGE", asset={**asset, "asset_id": "b", "caption": "Foto"}
        ),
    ]
    texts = ["".join(p.itertext()) for p in _paragraphs(_zone(_build(blocks, images=images), "ZONE_DEBATE"))]
    captions = [t for t in texts if t.startswith("Imagen ")]  # "Imagen ", the SEQ field, ". caption"
    assert len(captions) == 2 and captions[0].endswith("1. Plano del nuevo hospital de Siloé"), texts
    assert captions[1].endswith("2. Foto"), texts


def test_image_embedded_scaled_and_captioned() -> None:
    """Images are embedded inline, scaled to the usable width at most, with numbered captions."""
    images = {"big": _make_png(2400, 600), "small": _make_png(120, 80)}
    blocks = [
        _block(
            "i1",
            "ZONE_DEBATE",
            block_type="IMAGE",
            asset={
                "asset_id": "big",
                "filename": "presentacion.png",
                "content_type": "image/png",
                "caption": "Presentación de la Secretaría",
            },
        ),
        _block("t", "ZONE_DEBATE", "Entre imágenes."),
        _block(
            "i2",
            "ZONE_DEBATE",
            block_type="IMAGE",
            asset={"asset_id": "small", "filename": "grafica.png", "content_type": "image/png"},
        ),
    ]
    out = _build(blocks, images=images)
    paragraphs = _paragraphs(_zone(out, "ZONE_DEBATE"))
    assert len(paragraphs) == 5
    extents = []
    for p in (paragraphs[0], paragraphs[3]):
        inline = p.xpath(".//w:drawing/wp:inline", namespaces=NS)
        assert len(inline) == 1
        assert inline[0].xpath(
            ".//pic:pic/pic:blipFill/a:blip/@r:embed",
            namespaces={**NS, "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"},
        )
        extent = inline[0].find("wp:extent", NS)
        extents.append((int(extent.get("cx")), int(extent.get("cy"))))
    (big_cx, big_cy), (small_cx, small_cy) = extents
    assert big_cx <= USABLE_WIDTH_EMU and big_cx >= USABLE_WIDTH_EMU - 10
    assert abs(big_cx / big_cy - 4.0) < 0.01
    assert (small_cx, small_cy) == (120 * 9525, 80 * 9525)  # natural size at 96 dpi, not upscaled

    assert _text(paragraphs[1]) == "Imagen 1. Presentación de la Secretaría"
    assert _style(paragraphs[1]) == "Pie_Imagen"
    assert _text(paragraphs[4]) == "Imagen 2. grafica.png"

    doc = Document(io.BytesIO(out))
    assert len(doc.inline_shapes) == 2
    image_parts = [p for p in doc.part.package.iter_parts() if p.partname.startswith("/word/media/")]
    assert len(image_parts) == 2


def test_images_numbered_in_document_order() -> None:
    """Caption numbers follow the document's zone order, not the block list order."""
    images = {"a": _make_png(10, 10), "b": _make_png(20, 10)}
    blocks = [
        _block("late", "ZONE_CIERRE", block_type="IMAGE", asset={"asset_id": "a", "caption": "B"}),
        _block("early", "HEADER_ZONE", block_type="IMAGE", asset={"asset_id": "b", "caption": "A"}),
    ]
    out = _build(blocks, images=images)
    assert _text(_paragraphs(_zone(out, "HEADER_ZONE"))[1]) == "Imagen 1. A"
    assert _text(_paragraphs(_zone(out, "ZONE_CIERRE"))[1]) == "Imagen 2. B"


def test_missing_image_bytes_raise() -> None:
    """An IMAGE block whose asset bytes are not provided raises BuildError."""
    block = _block("i9", "ZONE_DEBATE", block_type="IMAGE", asset={"asset_id": "nope"})
    with pytest.raises(BuildError, match="nope"):
        _build([block])
    with pytest.raises(BuildError, match="i9"):
        _build([block], images={"nope": b"not an image"})


def test_pending_review_block_gets_a_comment() -> None:
    """An ERROR_PENDING_REVIEW block is a Pendiente_Revision paragraph with a Word comment."""
    block = _block(
        "e1",
        "ZONE_VARIOS",
        "texto parcial del fragmento",
        block_type="ERROR_PENDING_REVIEW",
        error={"code": "LLM_TIMEOUT", "message": "el modelo no respondió", "attempts": 3},
        audio_metadata={
            "audio_ref": "s3://audio/sesion-12/chunk-0042.opus",
            "time_start": 3725.4,
            "time_end": 3790,
        },
    )
    out = _build([block, _block("ok", "ZONE_VARIOS", "normal")], comment_author="ASTRA Bot")
    p = _paragraphs(_zone(out, "ZONE_VARIOS"))[0]
    assert _style(p) == "Pendiente_Revision"
    assert _text(p).startswith("[Fragmento pendiente de revisión]")
    assert "texto parcial del fragmento" in _text(p)
    assert p.xpath("./w:commentRangeStart", namespaces=NS)
    assert p.xpath("./w:r/w:commentReference", namespaces=NS)

    doc = Document(io.BytesIO(out))
    comments = list(doc.comments)
    assert len(comments) == 1
    comment = comments[0]
    assert "LLM_TIMEOUT" in comment.text
    assert "s3://audio/sesion-12/chunk-0042.opus" in comment.text
    assert "01:02:05" in comment.text and "Intentos: 3" in comment.text
    assert comment.author == "ASTRA Bot"
    assert comment.initials == "AB"
    assert comment.timestamp is None  # no wall-clock time in the content


def test_core_properties_title() -> None:
    """The title comes from the metadata, "Acta" by default."""
    titled = Document(io.BytesIO(_build([], metadata={"title": "Acta 045 de 2025"})))
    assert titled.core_properties.title == "Acta 045 de 2025"
    assert Document(io.BytesIO(_build([]))).core_properties.title == "Acta"


def test_build_is_a_function_of_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building twice from the same inputs, a day apart by the clock, gives the same bytes: a
    finalize taken over or tried again seals the same file under the same name. The zip's entries
    are dated at the acta's last change (its last block's time)."""
    blocks = [
        _block(
            "e1",
            "ZONE_VARIOS",
            block_type="ERROR_PENDING_REVIEW",
            error={"code": "X", "message": "y", "attempts": 1},
        ),
        _block("i1", "ZONE_DEBATE", block_type="IMAGE", asset={"asset_id": "a"}),
    ]
    blocks[0]["created_at"] = 1_760_009_000.0  # 2025-10-09 11:23:20 UTC
    first = _build(blocks, images={"a": _make_png(5, 5)})
    real = zipfile.time

    class DayLater:  # the clock python-docx's zip writer would date the entries by
        time = staticmethod(lambda: real.time() + 86_400)
        localtime = staticmethod(real.localtime)

    monkeypatch.setattr(zipfile, "time", DayLater)
    second = _build(blocks, images={"a": _make_png(5, 5)})
    assert second == first
    dates = {entry.date_time for entry in zipfile.ZipFile(io.BytesIO(first)).infolist()}
    assert dates == {(2025, 10, 9, 11, 23, 20)}


def test_the_actas_file_properties_are_its_own_not_the_skeletons() -> None:
    """Word's file properties describe the acta: the session's title and subject, no generator
    note, created and modified at the first and last block's times (they were the skeleton's:
    "Esqueleto de acta…", "Generado por tools/make_skeleton.py", 1 January 2024)."""
    opened, edited = 1_760_000_000.0, 1_760_009_000.0  # 2025-10-09 08:53:20 and 11:23:20 UTC
    blocks = [
        _block("a", "HEADER_ZONE", "Se abre la sesión.", created_at=opened),
        _block("b", "ZONE_DEBATE", "Intervención.", created_at=opened + 60, edited_at=edited),
    ]
    built = Document(io.BytesIO(_build(blocks, metadata={"title": "Sesión ordinaria 45"})))
    props = built.core_properties
    assert (props.title, props.subject, props.comments) == ("Sesión ordinaria 45", "", "")
    assert props.created == datetime(2025, 10, 9, 8, 53, 20, tzinfo=UTC)
    assert props.modified == datetime(2025, 10, 9, 11, 23, 20, tzinfo=UTC)
    with_subject = _build(blocks, metadata={"title": "Sesión 45", "subject": "Acta 045 de 2025"})
    assert Document(io.BytesIO(with_subject)).core_properties.subject == "Acta 045 de 2025"


def test_five_thousand_blocks_in_order() -> None:
    """5,000 mixed debate/text blocks all appear, in order, in their zone."""
    blocks = []
    for i in range(5000):
        if i % 3 == 0:
            blocks.append(
                _block(
                    f"b{i}",
                    "ZONE_DEBATE",
                    f"intervención {i}",
                    template_id="TPL_DEBATE",
                    structured_data={"orador": f"Concejal {i % 21}"},
                )
            )
        else:
            blocks.append(_block(f"b{i}", "ZONE_DEBATE", f"párrafo {i}"))
    paragraphs = _paragraphs(_zone(_build(blocks), "ZONE_DEBATE"))
    assert len(paragraphs) == 5000
    for i, p in enumerate(paragraphs):
        text = _text(p)
        if i % 3 == 0:
            assert text == f"CONCEJAL {i % 21}: intervención {i}"
        else:
            assert text == f"párrafo {i}"


# ---------------------------------------------------------------------------------------------
# templates and human edits


CALI_TEMPLATES = json.loads(
    (ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "templates.json").read_text(encoding="utf-8")
)


def _mixed_blocks() -> list[dict[str, Any]]:
    return [
        _block("a", "HEADER_ZONE", "Se abre la sesión.", template_id="TPL_APERTURA"),
        _block(
            "r",
            "ZONE_ROLLCALL",
            "Contestaron a lista:",
            template_id="TPL_LLAMADO_LISTA",
            structured_data={"presentes": ["Ana"], "ausentes": [{"nombre": "Luis"}], "quorum": True},
        ),
        _block(
            "o",
            "ZONE_AGENDA",
            "Orden del día:",
            template_id="TPL_ORDEN_DIA",
            structured_data={"puntos": ["Llamado a lista", "5. Varios"]},
        ),
        _block("d", "ZONE_DEBATE", "crudo", template_id="TPL_DEBATE", structured_data={"orador": "Ana:"}),
        _block(
            "v",
            "ZONE_PROYECTOS",
            "",
            template_id="TPL_PROYECTO_ACUERDO",
            structured_data={"votacion": {"votos": [{"nombre": "Ana", "voto": "si"}], "resultado": "negado"}},
        ),
        _block(
            "s", "SIGNATURE_BLOCK", "FIRMA", template_id="TPL_FIRMAS", structured_data={"presentes": ["X"]}
        ),
        _block("x", "ZONE_VARIOS", "sin plantilla", template_id="TPL_QUE_NO_EXISTE"),
    ]


def test_no_templates_means_the_built_in_rendering() -> None:
    """``templates`` None, {} and DEFAULT_TEMPLATES give the same document."""
    from server.services.docx_builder import DEFAULT_TEMPLATES

    docs = [_build(_mixed_blocks(), templates=t) for t in (None, {}, dict(DEFAULT_TEMPLATES))]
    xml = [etree.tostring(_part(d, "word/document.xml")) for d in docs]
    assert xml[0] == xml[1] == xml[2]
    out = docs[0]
    assert [_text(p) for p in _zone(out, "ZONE_ROLLCALL")] == [
        "Contestaron a lista:",
        "ConcejalEstadoAnaPresenteLuisAusente",
        "Quórum: hay quórum",
    ]
    assert [_text(p) for p in _zone(out, "ZONE_AGENDA")] == [
        "Orden del día:",
        "1. Llamado a lista",
        "5. Varios",
    ]
    assert _text(_zone(out, "ZONE_DEBATE")[0]) == "ANA: crudo"
    assert [_text(p) for p in _zone(out, "ZONE_PROYECTOS")] == [
        "ConcejalVotoAnaSí",
        "Votos por el sí: 1. Votos por el no: 0. Abstenciones: 0. Resultado: NEGADO.",
    ]
    signature = [p for p in _zone(out, "SIGNATURE_BLOCK") if p.tag == f"{{{W}}}p"]
    # a signing block that names nobody: its words, then the session's (here unnamed) signers
    assert [_style(p) for p in signature] == ["Firma_Presidente"] * 3
    assert [_text(p).split("_")[-1] for p in signature] == ["FIRMA", "Presidente", "Secretario General"]


def test_tenant_catch_all_template() -> None:
    """A tenant's "*" applies to template ids it does not list (before the built-in lists)."""
    templates = {"*": [{"paragraph": "[{{ label }}] {{ text }}", "role": "HEADING_2"}]}
    out = _build(_mixed_blocks()[:1], templates=templates)
    (p,) = _paragraphs(_zone(out, "HEADER_ZONE"))
    assert _text(p) == "[a] Se abre la sesión." and _style(p) == "Subtitulo_Acta"


def test_human_edits_get_a_comment_when_the_tenant_asks() -> None:
    """mark_human_edits: "Editado por <edited_by> (<edited_at>)" over the block's paragraphs;
    created_by when there is no edited_by; nothing for machine blocks or when off."""
    edited = _block(
        "e",
        "ZONE_DEBATE",
        "Texto corregido.",
        template_id="TPL_DEBATE",
        human_edited=True,
        edited_by="ana.secretaria",
        edited_at=1773500700.0,  # 2026-03-14 15:05 UTC
        created_by="asr",
    )
    legacy = _block("l", "ZONE_DEBATE", "Otro.", human_edited=True, created_by="luis")
    machine = _block("m", "ZONE_DEBATE", "Máquina.", human_edited=False, created_by="asr")
    vote = _block(
        "v",
        "ZONE_PROYECTOS",
        "Votación.",
        human_edited=True,
        edited_by="eva",
        structured_data={"votacion": {"votos": [{"nombre": "Ana", "voto": "no"}]}},
    )
    blocks = [edited, legacy, machine, vote]
    assert not list(Document(io.BytesIO(_build(blocks))).comments)

    out = _build(blocks, mark_human_edits=True, comment_author="ASTRA")
    comments = list(Document(io.BytesIO(out)).comments)
    assert [c.text for c in comments] == [
        "Editado por ana.secretaria (2026-03-14 15:05 UTC).",
        "Editado por luis.",
        "Editado por eva.",
    ]
    assert {c.author for c in comments} == {"ASTRA"}
    first, _, third = _paragraphs(_zone(out, "ZONE_DEBATE"))
    assert first.xpath("./w:commentRangeStart", namespaces=NS) and first.xpath(
        "./w:r/w:commentReference", namespaces=NS
    )
    assert not third.xpath(".//w:commentRangeStart", namespaces=NS)
    # a block with a table: the range runs from its first paragraph to its last
    content = _zone(out, "ZONE_PROYECTOS")
    assert [etree.QName(c).localname for c in content] == ["p", "tbl", "p"]
    assert content[0].xpath("./w:commentRangeStart", namespaces=NS)
    assert content[2].xpath("./w:commentRangeEnd", namespaces=NS)


def test_five_thousand_blocks_with_tenant_templates() -> None:
    """5,000 debate blocks through the Cali templates: all written, in order, speaker runs styled."""
    blocks = [
        _block(
            f"b{i}",
            "ZONE_DEBATE",
            f"intervención {i}",
            template_id="TPL_DEBATE",
            structured_data={"orador": f"Concejal {i % 21}", "rol": "concejal", "texto": f"dijo {i}"}
            if i % 2
            else {"texto": f"dijo {i}"},
        )
        for i in range(5000)
    ]
    paragraphs = _paragraphs(_zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_DEBATE"))
    assert len(paragraphs) == 5000
    for i, p in enumerate(paragraphs):
        expected = f"CONCEJAL {i % 21} (concejal): dijo {i}" if i % 2 else f"intervención {i}"
        assert _text(p) == expected


AGENDA_READ = (
    "Orden del día. Primero, llamado a lista y verificación del quórum. Segundo, instalación del Concejo "
    "por parte del delegado del señor alcalde. Tercero, posesión de los concejales electos. Cuarto, "
    "proposiciones y varios. ¿Lo aprueba la plenaria?"
)
AGENDA_ITEMS = [
    "1. Llamado a lista y verificación del quórum",
    "2. Instalación del Concejo por parte del delegado del señor alcalde",
    "3. Posesión de los concejales electos",
    "4. Proposiciones y varios",
]


def _agenda_zone(*blocks: dict[str, Any], templates: dict[str, Any] | None = None) -> list[str]:
    return [_text(p) for p in _paragraphs(_zone(_build(list(blocks), templates=templates), "ZONE_AGENDA"))]


def _agenda_block(text: str, puntos: list[Any]) -> dict[str, Any]:
    return _block("o", "ZONE_AGENDA", text, template_id="TPL_ORDEN_DIA", structured_data={"puntos": puntos})


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_agenda_read_aloud_is_written_once(templates: dict[str, Any] | None) -> None:
    """The chair's "sírvase dar lectura al orden del día", then the agenda read: it was written as
    read and then again as a numbered list. The generic rendering writes the words before the
    items, the numbered items, the words after them (the approval asked for); Cali's the
    reading as said. The chair's request, which has no items, is written as said."""
    from server.services.classifier import classify

    said = classify(AGENDA_READ, {}, "TPL_ORDEN_DIA")
    assert said.structured_data["puntos"] == AGENDA_ITEMS
    asked = "señor secretario sirvase dar lectura al orden del dia"
    blocks = [_agenda_block(asked, []), _agenda_block(said.text, said.structured_data["puntos"])]
    if templates is None:
        assert _agenda_zone(*blocks) == [asked, "Orden del día.", *AGENDA_ITEMS, "¿Lo aprueba la plenaria?"]
    else:
        assert _agenda_zone(*blocks, templates=templates) == [asked, AGENDA_READ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_an_agenda_read_by_number_words_is_written_once(templates: dict[str, Any] | None) -> None:
    """ "Uno, … Dos, … Tres, …" (the blind control debate's agenda): the items are found, and the
    agenda is written once, with its heading words: numbered by the generic rendering, as read by
    Cali's."""
    from server.services.classifier import classify

    read = (
        "Orden del día, sesión plenaria ordinaria del martes catorce de octubre. Uno, llamado a lista y "
        "verificación del quórum. Dos, himno de Santiago de Cali. Tres, proposiciones. Cuatro, varios."
    )
    said = classify(read, {}, "TPL_APERTURA")
    blocks = [_agenda_block(said.text, said.structured_data["puntos"])]
    if templates is None:
        assert _agenda_zone(*blocks) == [
            "Orden del día, sesión plenaria ordinaria del martes catorce de octubre.",
            "1. Llamado a lista y verificación del quórum",
            "2. Himno de Santiago de Cali",
            "3. Proposiciones",
            "4. Varios",
        ]
    else:
        assert _agenda_zone(*blocks, templates=templates) == [read]


@pytest.mark.parametrize("mode", ["around", "whole"])
def test_an_agenda_whose_items_are_not_in_its_text_keeps_both(mode: str) -> None:
    """Items that cannot be matched to the text as read (one corrected apart, words said between
    two items that are not a marker) leave the text as said and the numbered items: what is left
    out is only ever the items printed as the list. Items found print once, in either mode."""
    templates = {"TPL_ORDEN_DIA": [{"table": "agenda", "text": mode}]}
    said = "Orden del día: primero, llamado a lista; segundo, varios."
    found = _agenda_zone(_agenda_block(said, ["1. Llamado a lista", "2. Varios"]), templates=templates)
    assert found == (["Orden del día:", "1. Llamado a lista", "2. Varios"] if mode == "around" else [said])
    for text, puntos in (
        (said, ["1. Llamado a lista", "2. Asuntos varios"]),
        (
            "Orden del día: primero, llamado a lista; hay quórum; segundo, varios.",
            ["Llamado a lista", "Varios"],
        ),
        ("Segundo, varios. Primero, llamado a lista.", ["Llamado a lista", "Varios"]),
    ):
        written = _agenda_zone(_agenda_block(text, puntos), templates=templates)
        assert written[0] == text and len(written) == 3


def test_the_agenda_text_mode_is_checked() -> None:
    """ "text" of an agenda is "around" or "whole"; anything else is a configuration problem."""
    assert check_templates({"TPL_ORDEN_DIA": [{"table": "agenda", "text": "around"}]}) == []
    (problem,) = check_templates({"TPL_ORDEN_DIA": [{"table": "agenda", "text": "todo"}]})
    assert '"text" must be one of' in problem


def _said(block_id: str, template_id: str = "TPL_DEBATE", **data: Any) -> dict[str, Any]:
    return _block(block_id, "ZONE_DEBATE", block_id, template_id=template_id, structured_data=data)


GRANT = {"orador": "Carlos Rodríguez", "rol": "concejal", "partido": "Liberal", "anuncio": True}
CARRIED = {"orador": "Carlos Rodríguez", "rol": "concejal", "partido": "Liberal", "orador_por_anuncio": True}


def _speakers(*blocks: dict[str, Any]) -> dict[str, Any]:
    """The speaker fields each block is written with (by block id), given the blocks before it."""
    out = given_the_floor(list(blocks))
    return {b["block_id"]: {k: v for k, v in b["structured_data"].items() if k in CARRIED} for b in out}


def test_the_words_right_after_a_grant_of_the_floor_are_the_named_speakers() -> None:
    """The chair's grant ("Tiene la palabra el concejal X.") names X on the block said right after
    it, whatever was deleted or shown (an image) in between, and only there: not on the block
    after that, not past anything else said (a block pending review, another section), never
    on a vote, never over a speaker the words name themselves. The blocks given are unchanged."""
    grant, words, more = _said("grant", **GRANT), _said("words", texto="Gracias."), _said("more")
    speakers = _speakers(grant, words, more)
    assert (speakers["words"], speakers["more"]) == (CARRIED, {})
    assert given_the_floor([grant, words])[1]["structured_data"] == {"texto": "Gracias."} | CARRIED
    assert words["structured_data"] == {"texto": "Gracias."}  # derived, not written into the block
    deleted = _said("deleted") | {"deleted": True}
    image = _block("image", "ZONE_DEBATE", block_type="IMAGE", asset={"asset_id": "a"})
    assert _speakers(grant, deleted, image, words)["words"] == CARRIED
    pending = _block("pending", "ZONE_DEBATE", "…", block_type="ERROR_PENDING_REVIEW")
    actas = _said("actas", "TPL_APROBACION_ACTAS", actas=[44])
    for between in (pending, actas, more):
        assert _speakers(grant, between, words)["words"] == {}
    vote = _said("vote", "TPL_PROYECTO_ACUERDO", votacion={"si": 15, "no": 2})
    assert _speakers(grant, vote)["vote"] == {}
    own = _said("own", orador="Ana Ruiz", rol="concejala")
    assert _speakers(grant, own)["own"] == {"orador": "Ana Ruiz", "rol": "concejala"}
    # a grant in "varios" names the words the classifier put in the debate, as before
    assert _speakers(_said("grant", "TPL_VARIOS", **GRANT), words)["words"] == CARRIED


@pytest.mark.parametrize("item", ["TPL_APROBACION_ACTAS", "TPL_APROBACION_ORDEN_DIA", "TPL_PROPOSICION"])
def test_a_grant_while_an_item_is_considered_names_the_words_after_it(item: str) -> None:
    """The floor given during an acta's, the agenda's or a proposal's consideration names the
    words right after it in that section, as in a debate (they were written without a speaker)."""
    grant, words = _said("grant", item, **GRANT), _said("words", item, texto="Gracias.")
    assert _speakers(grant, words)["words"] == CARRIED
    # the words a former classifier put in the debate still take it
    assert _speakers(grant, _said("words"))["words"] == CARRIED


def test_a_grant_does_not_name_the_next_item() -> None:
    """What comes right after a grant in another item's section is that item taken up ("Siguiente
    punto. Aprobación del acta…"), and a proposal read or a bill's heading is the item itself:
    none is put in the speaker's mouth."""
    grant = _said("grant", **GRANT)
    actas = _said("actas", "TPL_APROBACION_ACTAS", actas=[44])
    proposal = _said("proposal", "TPL_PROPOSICION", autores=["Ana Ruiz"], texto="exaltar…")
    bill = _said("bill", "TPL_PROYECTO_ACUERDO", numero="12", titulo="por el cual…")
    for after in (actas, proposal, bill):
        assert _speakers(grant, after)[after["block_id"]] == {}
    in_item = _said("grant", "TPL_PROPOSICION", **GRANT)
    assert _speakers(in_item, proposal)["proposal"] == {}


def test_the_chairs_conduct_of_a_vote_is_not_put_in_the_speakers_mouth() -> None:
    """After a grant, the chair putting the item to the vote ("¿Lo aprueba la plenaria?", which
    CORE marks ``tramite``) is not written under the speaker, like a vote; words without the
    mark still are."""
    for item in ("TPL_PROPOSICION", "TPL_DEBATE", "TPL_APROBACION_ACTAS"):
        grant = _said("grant", item, **GRANT)
        question = _said("question", item, texto="¿Lo aprueba la plenaria?", tramite=True)
        assert _speakers(grant, question)["question"] == {}
        assert _speakers(grant, _said("words", item, texto="Gracias."))["words"] == CARRIED


def test_the_chair_saying_the_one_called_is_not_there_is_not_put_in_their_mouth() -> None:
    """After the call of a citizen who did not come, the chair's "No se encuentra el señor
    Yacumal…" (which CORE marks ``no_presente``) is not written under the citizen's name (it
    was); words without the mark still are."""
    grant = _said("grant", orador="Gilberto Yacumal", rol="ciudadano", anuncio=True)
    absent = _said("absent", texto="No se encuentra el señor Yacumal.", no_presente=True)
    assert _speakers(grant, absent)["absent"] == {}
    assert _speakers(grant, _said("words", texto="Gracias."))["words"] == {
        "orador": "Gilberto Yacumal",
        "rol": "ciudadano",
        "orador_por_anuncio": True,
    }


# The console's copy of the rule (static/js/draft.js), called once per pair of blocks.
_DRAFT_HARNESS = r"""
import { pathToFileURL } from "node:url";
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const { givenTheFloor, ponentesAfter } = await import(pathToFileURL(request.draft).href);
const named = request.sequences.map((blocks) => {
  const [previous, block] = blocks.slice(-2);
  return givenTheFloor(previous, block, blocks.slice(0, -1).reduce(ponentesAfter, []));
});
process.stdout.write(JSON.stringify(named));
"""


def test_the_drafts_copy_of_the_carry_agrees_with_the_acta() -> None:
    """draft.js's givenTheFloor names the same speaker as given_the_floor on the same blocks: a
    grant then words, a vote, the chair's conduct of the vote (``tramite``), the one called not
    there (``no_presente``), a proposal read, a deleted block, words naming their own speaker
    (the grant's or another), another item; an office named alone, with its article; a ponente
    named by part alone after a bill's heading (draft.js's ponentesAfter reads the blocks
    before)."""
    node = shutil.which("node")
    require(node is not None, "node")
    assert node is not None
    grant = _said("grant", "TPL_PROPOSICION", **GRANT)
    nexts = [
        _said("words", "TPL_PROPOSICION", texto="Gracias."),
        _said("debate", texto="Gracias."),
        _said("question", "TPL_PROPOSICION", texto="¿Lo aprueba la plenaria?", tramite=True),
        _said("absent", "TPL_PROPOSICION", texto="No se encuentra.", no_presente=True),
        _said("vote", "TPL_PROPOSICION", votacion={"si": 15, "no": 2}),
        _said("proposal", "TPL_PROPOSICION", autores=["Ana Ruiz"], texto="exaltar…"),
        _said("own", "TPL_PROPOSICION", orador="Ana Ruiz", rol="concejala"),
        _said("actas", "TPL_APROBACION_ACTAS", actas=[44]),
    ]
    nexts += [
        _said("self", "TPL_PROPOSICION", orador="carlos rodriguez", partido="Verde"),
        _said("office-own", "TPL_PROPOSICION", orador="secretario de Hacienda"),
    ]
    office = _said("office", "TPL_PROPOSICION", **OFFICE_GRANT)
    gerente = _said("gerente", **OFFICE_GRANT) | {"text": "Le concedo la palabra a la gerente de Emcali."}
    gerente["structured_data"]["cargo"] = "gerente de Emcali"
    sequences = [[grant, b] for b in nexts] + [[office, b] for b in nexts] + [[gerente, _said("words")]]
    words = _said("words", BILL, texto="Gracias, presidente.")
    for ponentes, grant_rol in _PONENTE_CASES:
        heading = _said("heading", BILL, numero="045", ponentes=ponentes)
        by_part = _said("grant", BILL, rol=grant_rol, ponente=True, anuncio=True)
        sequences += [[heading, by_part, words], [heading, _said("debate"), by_part, words]]
        sequences.append([heading, by_part, _said("self", BILL, orador="Ana Ruiz", partido="Verde")])
    proc = subprocess.run(
        [node, "--input-type=module", "-e", _DRAFT_HARNESS],
        input=json.dumps(
            {"draft": str(ROOT / "static" / "js" / "draft.js"), "sequences": sequences}
        ).encode(),
        capture_output=True,
        timeout=60 * TIME_UNIT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    expected = [dict(given_the_floor(blocks)[-1]["structured_data"]) for blocks in sequences]
    assert json.loads(proc.stdout) == expected


OFFICE_GRANT = {"rol": "funcionario", "cargo": "secretario de Hacienda", "anuncio": True}


def test_a_grant_naming_an_office_alone_carries_the_office() -> None:
    """ "Para responder, tiene la palabra nuevamente el secretario de Hacienda.": the official is
    named by office alone, and the answer after it is written under the office with its article,
    as the acta writes "EL PRESIDENTE:" ("EL SECRETARIO DE HACIENDA: …"; it had no speaker, or the
    grant's adverb, "NUEVAMENTE", then the office without its article), by the Cali and the
    built-in templates alike; the article is the one the grant said ("a la gerente" is "LA
    GERENTE"), else the office's word's ("secretaria" is "LA SECRETARIA")."""
    grant, words = _said("grant", **OFFICE_GRANT), _said("words", texto="Concejala, vamos en el 76 %.")
    assert _speakers(grant, words)["words"] == {
        "orador": "El secretario de Hacienda",
        "orador_por_anuncio": True,
    }
    for text, cargo, orador in (
        ("Le concedo la palabra a la gerente de Emcali.", "gerente de Emcali", "La gerente de Emcali"),
        ("Tiene la palabra el señor gerente de Emcali.", "gerente de Emcali", "El gerente de Emcali"),
        ("Tiene la palabra al secretario de Salud.", "secretario de Salud", "El secretario de Salud"),
        ("", "secretaria de Movilidad", "La secretaria de Movilidad"),
        ("", "directora del DAGMA", "La directora del DAGMA"),
    ):
        said = _said("grant", **OFFICE_GRANT) | {"text": text}
        said["structured_data"]["cargo"] = cargo
        assert _speakers(said, words)["words"]["orador"] == orador, text
    for templates, line in (
        (CALI_TEMPLATES, "EL SECRETARIO DE HACIENDA: Concejala, vamos en el 76 %."),
        (None, "EL SECRETARIO DE HACIENDA: Concejala, vamos en el 76 %."),
    ):
        paragraphs = [
            _text(p) for p in _paragraphs(_zone(_build([grant, words], templates=templates), "ZONE_DEBATE"))
        ]
        assert paragraphs[-1] == line, templates


BILL = "TPL_PROYECTO_ACUERDO"


def _bill_headings(docx: bytes) -> list[str]:
    return [_text(p) for p in _paragraphs(_zone(docx, "ZONE_PROYECTOS")) if _text(p).startswith("Proyecto")]


def test_a_bill_heading_names_the_ponentes_its_report_was_signed_by() -> None:
    """The heading named no ponentes and the ponencia report read after it, for the same bill,
    was signed by them (CORE's ``ponentes`` on the report's block): the heading names them. A
    report after another item was taken up, or one for a heading that named its own, gives none."""

    def bill(block_id: str, **data: Any) -> dict[str, Any]:
        return _block(block_id, "ZONE_PROYECTOS", block_id, template_id=BILL, structured_data=data)

    report = bill("report", debate="segundo", ponentes=["Laura Victoria Benítez", "Harold Mosquera Riascos"])
    signed = _build([bill("h", numero="047", anio=2025, debate="segundo"), report], templates=CALI_TEMPLATES)
    (heading,) = _bill_headings(signed)
    assert heading.endswith("Ponentes: Laura Victoria Benítez y Harold Mosquera Riascos.")
    own = _build([bill("h", numero="047", ponentes=[ANA]), report], templates=CALI_TEMPLATES)
    assert [h.endswith("Ponente: Ana Ruiz.") for h in _bill_headings(own)] == [True]
    other = _block(
        "p", "ZONE_PROPOSICIONES", "Proposición.", template_id="TPL_PROPOSICION", structured_data={}
    )
    later = _build([bill("h", numero="047"), other, report], templates=CALI_TEMPLATES)
    assert ["Ponente" in h for h in _bill_headings(later)] == [False]
    second = _build([bill("h", numero="047"), bill("h2", numero="048"), report], templates=CALI_TEMPLATES)
    assert ["Ponente" in h for h in _bill_headings(second)] == [False, True]  # the report follows 048


ANA = {"nombre": "Ana Ruiz", "rol": "concejala"}
LUIS = {"nombre": "Luis Mora", "rol": "concejal"}
# (the bill's ponentes as its heading said them, the rol of "Tiene la palabra la concejala
# ponente." / "el coponente."), and whom the words after the grant are given to
_PONENTE_CASES = [
    ([ANA], "concejala"),
    (["Ana Ruiz"], "concejala"),
    ([ANA, LUIS], "concejala"),
    ([ANA, LUIS], "concejal"),
    ([ANA, "Eva Paz"], "concejal"),
    (["Ana Ruiz", "Luis Mora"], "concejala"),
    ([LUIS], "concejala"),
    ([], "concejala"),
]
_PONENTE_NAMED = ["Ana Ruiz", "Ana Ruiz", "Ana Ruiz", "Luis Mora", "Eva Paz", None, None, None]


@pytest.mark.parametrize(
    ("ponentes", "rol", "named"), [(*c, n) for c, n in zip(_PONENTE_CASES, _PONENTE_NAMED, strict=True)]
)
def test_a_ponente_given_the_floor_by_part_alone_is_the_one_the_bill_names(
    ponentes: list[Any], rol: str, named: str | None
) -> None:
    """ "Tiene la palabra la concejala ponente." names no one; the bill's heading does: its only
    ponente, or its only one the heading does not say is of the other gender, takes the words after
    the grant ("ANA RUIZ (concejala ponente): …"; they had no speaker). Two left open, one of the
    other gender, or no bill under consideration (something said in another section in between):
    nobody, as before."""
    heading = _said("heading", BILL, numero="045", titulo="por el cual…", ponentes=ponentes)
    grant = _said("grant", BILL, rol=rol, ponente=True, anuncio=True)
    words = _said("words", BILL, texto="Gracias, presidente.")
    expected = {"orador": named, "rol": rol, "orador_por_anuncio": True} if named else {}
    assert _speakers(heading, grant, words)["words"] == expected
    assert given_the_floor([heading, grant, words])[-1]["structured_data"].get("ponente") is (
        True if named else None
    )
    assert _speakers(heading, _said("debate", texto="…"), grant, words)["words"] == {}
    assert _speakers(grant, words)["words"] == {}
    if named:
        paragraphs = _paragraphs(
            _zone(_build([heading, grant, words], templates=CALI_TEMPLATES), "ZONE_DEBATE")
        )
        assert _text(paragraphs[-1]) == f"{named.upper()} ({rol} ponente): Gracias, presidente."


def test_words_naming_the_speaker_the_grant_named_keep_what_it_said_of_her() -> None:
    """ "Tiene la palabra la concejala ponente Ana Ruiz." then "Gracias, presidente, habla Ana
    Ruiz, del Partido Verde…": her words keep her name and party as she said them, and the role
    the grant gave her ("ANA RUIZ (concejala ponente, Partido Verde): …"; it was "ANA RUIZ
    (Partido Verde)"); the same person however her name is said (accents, case, the chair's
    surname alone). Someone else naming himself keeps only his own."""
    grant = _said("grant", BILL, orador="Ana María Ruiz", rol="concejala", ponente=True, anuncio=True)
    for said in ("Ana María Ruiz", "ana maria ruiz", "Ana Ruiz"):
        own = _said("own", BILL, orador=said, partido="Partido Verde", texto="Gracias, presidente.")
        assert _speakers(grant, own)["own"] == {
            "orador": said,
            "rol": "concejala",
            "partido": "Partido Verde",
            "orador_por_anuncio": True,
        }
    paragraphs = _paragraphs(_zone(_build([grant, own], templates=CALI_TEMPLATES), "ZONE_DEBATE"))
    assert _text(paragraphs[-1]) == "ANA RUIZ (concejala ponente, Partido Verde): Gracias, presidente."
    surname = _said("grant", orador="Zapata", rol="concejal", anuncio=True)
    own = _said("own", orador="Rodrigo Zapata", partido="Cambio Radical")
    assert _speakers(surname, own)["own"]["rol"] == "concejal"
    other = _said("own", BILL, orador="Luis Mora", partido="Partido Liberal")
    assert _speakers(grant, other)["own"] == {"orador": "Luis Mora", "partido": "Partido Liberal"}
    vote = _said("vote", BILL, orador="Ana María Ruiz", votacion={"si": 15, "no": 2})
    assert _speakers(grant, vote)["vote"] == {"orador": "Ana María Ruiz"}


def test_a_speaker_heard_without_accents_is_spelled_as_the_session_said_the_name() -> None:
    """The mayor's delegate introduces himself ("Mi nombre es Álvaro José Benítez…") and is later
    given the floor in speech without accents ("…doctor alvaro jose benitez"): his words are
    written under the name as the session spelled it (they were "ALVARO JOSE BENITEZ (delegado
    del alcalde)"), as is a member heard so who was called in the roll call. Accents are never
    made up: a name said nowhere else, said with accents of its own, or matching two spellings
    stays as heard; the stored blocks stay as said."""
    opening = _block(
        "open", "HEADER_ZONE", template_id="TPL_APERTURA", structured_data={"delegado": "Álvaro José Benítez"}
    )
    grant = _said("grant", orador="Alvaro Jose Benitez", rol="funcionario", cargo="delegado del alcalde")
    grant["structured_data"]["anuncio"] = True
    words = _said("words", texto="Gracias, presidente.")
    out = _build([opening, grant, words], templates=CALI_TEMPLATES)
    assert _text(_paragraphs(_zone(out, "ZONE_DEBATE"))[-1]) == (
        "ÁLVARO JOSÉ BENÍTEZ (delegado del alcalde): Gracias, presidente."
    )
    assert grant["structured_data"]["orador"] == "Alvaro Jose Benitez"
    roll = _block(
        "roll",
        "ZONE_ROLLCALL",
        template_id="TPL_LLAMADO_LISTA",
        structured_data={"presentes": ["Julián Peña"]},
    )
    member = _said("member", orador="Julian Pena", texto="Gracias.")
    assert _text(_paragraphs(_zone(_build([roll, member]), "ZONE_DEBATE"))[-1]) == "JULIÁN PEÑA: Gracias."
    twice = _block(
        "roll",
        "ZONE_ROLLCALL",
        template_id="TPL_LLAMADO_LISTA",
        structured_data={"presentes": ["Julián Peña", "Julian Peña"]},
    )
    for blocks, said in (
        ([member], "JULIAN PENA"),
        ([twice, member], "JULIAN PENA"),
        ([roll, _said("member", orador="Julián Pena", texto="Gracias.")], "JULIÁN PENA"),
    ):
        assert _text(_paragraphs(_zone(_build(blocks), "ZONE_DEBATE"))[-1]) == f"{said}: Gracias."


def test_an_office_heard_in_lowercase_is_written_as_the_session_wrote_it() -> None:
    """The Director of Legal Affairs, a guest of the opening ("directora del Departamento
    Administrativo de Gestión Jurídica Pública"), given the floor in lowercase speech: her words
    were written under "(directora del departamento administrativo de gestion juridica
    publica)" (blind audit of objections, #21–22). An office written nowhere else, or written
    two ways, stays as heard; the blocks stay as said."""
    office = "directora del Departamento Administrativo de Gestión Jurídica Pública"
    guest = {"nombre": "María Cristina Velasco Lenis", "cargo": office}
    opening = _block(
        "open", "HEADER_ZONE", template_id="TPL_APERTURA", structured_data={"invitados": [guest]}
    )
    heard = "directora del departamento administrativo de gestion juridica publica"
    grant = _said("grant", orador="María Cristina Velasco Lenis", rol="funcionario", cargo=heard)
    grant["structured_data"]["anuncio"] = True
    words = _said("words", texto="Muchas gracias.")
    written = _text(
        _paragraphs(_zone(_build([opening, grant, words], templates=CALI_TEMPLATES), "ZONE_DEBATE"))[-1]
    )
    assert written == f"MARÍA CRISTINA VELASCO LENIS ({office}): Muchas gracias."
    assert grant["structured_data"]["cargo"] == heard
    other = {
        "nombre": "Ana Ruiz",
        "cargo": "directora del departamento administrativo de Gestion Juridica Publica",
    }
    two_ways = _block(
        "open", "HEADER_ZONE", template_id="TPL_APERTURA", structured_data={"invitados": [guest, other]}
    )
    for blocks in ([grant, words], [two_ways, grant, words]):
        written = _text(_paragraphs(_zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_DEBATE"))[-1])
        assert written == f"MARÍA CRISTINA VELASCO LENIS ({heard}): Muchas gracias."


def test_members_a_roll_call_lists_without_accents_are_spelled_as_the_session_said_them() -> None:
    """A quorum verified in lowercase speech ("henry pelaez cifuentes presente") lists the members
    as the first roll call spelled them (its table had "Henry Pelaez Cifuentes" beside "Henry
    Peláez Cifuentes"); a roll call a person edited stays as edited."""
    first = _block(
        "roll",
        "ZONE_ROLLCALL",
        template_id="TPL_LLAMADO_LISTA",
        structured_data={
            "presentes": ["Henry Peláez Cifuentes"],
            "excusados": [{"nombre": "Tania Fernández"}],
        },
    )
    again = _block(
        "again",
        "ZONE_ROLLCALL",
        template_id="TPL_LLAMADO_LISTA",
        structured_data={
            "presentes": ["Henry Pelaez Cifuentes"],
            "excusados": [{"nombre": "Tania Fernandez"}],
        },
    )
    rows = [
        row
        for tbl in _zone(_build([first, again]), "ZONE_ROLLCALL").iterchildren(f"{{{W}}}tbl")
        for row in _table_rows(tbl)
    ]
    names = [row[0] for row in rows if row[0] != "Concejal"]
    assert names == ["Henry Peláez Cifuentes", "Tania Fernández", "Henry Peláez Cifuentes", "Tania Fernández"]
    assert again["structured_data"]["presentes"] == ["Henry Pelaez Cifuentes"]  # the block as said
    edited = {**again, "human_edited": True}
    tables = list(_zone(_build([first, edited]), "ZONE_ROLLCALL").iterchildren(f"{{{W}}}tbl"))
    assert ["Henry Pelaez Cifuentes", "Presente"] in _table_rows(tables[-1])


def test_a_member_heard_with_the_enye_but_no_accents_is_spelled_as_the_session_said() -> None:
    """Blind audit of a suspended session: the second day's roll call in lowercase speech listed
    "Alexandra Hernandez Cedeño" and "Monica Patricia Garces Riaño" (the ñ heard, the accents
    not) beside the first day's "Alexandra Hernández Cedeño": one member, two spellings. A name
    with its ñ is respelled only to the one spelling the session said with more accents; one
    the session said no other way, or two other ways, stays as heard."""
    first = _block(
        "roll",
        "ZONE_ROLLCALL",
        template_id="TPL_LLAMADO_LISTA",
        structured_data={
            "presentes": ["Alexandra Hernández Cedeño", "Mónica Patricia Garcés Riaño", "Luis Núñez Peña"],
            "ausentes": ["Luis Nuñez Péña"],
        },
    )
    again = _block(
        "again",
        "ZONE_ROLLCALL",
        template_id="TPL_LLAMADO_LISTA",
        structured_data={
            "presentes": ["Alexandra Hernandez Cedeño", "Sandra Ordoñez Muñoz"],
            "ausentes": ["Monica Patricia Garces Riaño", "Luis Nuñez Peña"],
        },
    )
    tables = list(_zone(_build([first, again]), "ZONE_ROLLCALL").iterchildren(f"{{{W}}}tbl"))
    assert [row[0] for row in _table_rows(tables[-1]) if row[0] != "Concejal"] == [
        "Alexandra Hernández Cedeño",
        "Sandra Ordoñez Muñoz",
        "Mónica Patricia Garcés Riaño",
        "Luis Nuñez Peña",  # "Luis Núñez Peña" and "Luis Nuñez Péña": two spellings, none chosen
    ]


def test_members_a_nominal_vote_lists_without_accents_are_spelled_as_the_session_said_them() -> None:
    """The rest of a nominal list heard in lowercase ("olga lucia rendon salazar impedida") names
    the members as the session spelled them (the vote's table had "Olga Lucia Rendon Salazar",
    the roll call "Olga Lucía Rendón Salazar": blind audit of objections, #28); a name said with
    no accent anywhere stays as heard, and the block stays as said."""
    roll = _block(
        "roll",
        "ZONE_ROLLCALL",
        template_id="TPL_LLAMADO_LISTA",
        structured_data={"presentes": ["Olga Lucía Rendón Salazar", "Ana Ruiz"]},
    )
    votos = [
        {"nombre": "Olga Lucia Rendon Salazar", "voto": "impedida"},
        {"nombre": "Ana Ruiz", "voto": "sí"},
        {"nombre": "Leidy Ocoro", "voto": "no"},
    ]
    vote = _vote_block("v", "olga lucia rendon salazar impedida…", votacion={"votos": votos})
    (table,) = _zone(_build([roll, vote]), "ZONE_PROYECTOS").iterchildren(f"{{{W}}}tbl")
    assert [row[0] for row in _table_rows(table)[1:]] == [
        "Olga Lucía Rendón Salazar",
        "Ana Ruiz",
        "Leidy Ocoro",
    ]
    assert vote["structured_data"]["votacion"]["votos"][0]["nombre"] == "Olga Lucia Rendon Salazar"


def _named(*blocks: dict[str, Any]) -> dict[str, Any]:
    """The speaker each block is written with (by block id): named as the session names them,
    then carried from the grant before it."""
    out = given_the_floor(docx_builder._named_as_in_the_session(list(blocks)))
    return {b["block_id"]: b["structured_data"].get("orador") for b in out}


def _roll_call(*members: str) -> dict[str, Any]:
    return _block(
        "roll", "ZONE_ROLLCALL", template_id="TPL_LLAMADO_LISTA", structured_data={"presentes": list(members)}
    )


CALI_ROLL = _roll_call(
    "Andrés Felipe Escobar Torres", "Carlos Hernán Valencia Muñoz", "Rodrigo Salazar Becerra"
)


def test_a_member_given_the_floor_by_part_of_the_name_is_the_one_the_roll_call_lists() -> None:
    """ "Tiene la palabra para réplica el concejal Escobar.": the reply after it is written under
    the member the roll call lists with that name (blind audit of a control debate, #19/#20),
    as is a councillor who names himself by part of his name (#49: "rodrigo salazar presidente
    para dejar constancia…"); written "ANDRÉS FELIPE ESCOBAR TORRES (concejal): …". A name two
    members share, one no member has, a citizen's, or a surname said with no role stay as said."""
    grant = _said("grant", orador="Escobar", rol="concejal", anuncio=True)
    reply = _said("reply", texto="gracias presidente concejal valencia yo no apoyé ese gobierno")
    assert _named(CALI_ROLL, grant, reply)["reply"] == "Andrés Felipe Escobar Torres"
    self_named = _said("own", orador="Rodrigo Salazar", texto="rodrigo salazar presidente para dejar…")
    assert _named(CALI_ROLL, self_named)["own"] == "Rodrigo Salazar Becerra"
    paragraphs = _paragraphs(
        _zone(_build([CALI_ROLL, grant, reply], templates=CALI_TEMPLATES), "ZONE_DEBATE")
    )
    assert _text(paragraphs[-1]).startswith("ANDRÉS FELIPE ESCOBAR TORRES (concejal): gracias presidente")
    two = _roll_call("Andrés Felipe Escobar Torres", "Luis Escobar Díaz")
    citizen = _said("grant", orador="Escobar", rol="ciudadano", anuncio=True)
    no_role = _said("grant", orador="Escobar", anuncio=True)
    nobody = _said("grant", orador="Pérez", rol="concejal", anuncio=True)
    for roll, said in ((two, grant), (CALI_ROLL, citizen), (CALI_ROLL, no_role), (CALI_ROLL, nobody)):
        assert _named(roll, said, reply)["reply"] == said["structured_data"]["orador"]
    assert _named(grant, reply)["reply"] == "Escobar"  # no roll call


MOBILITY = {"rol": "funcionario", "cargo": "secretario de Movilidad"}


def test_an_official_given_the_floor_by_office_alone_is_the_one_named_earlier_with_it() -> None:
    """ "Tiene la palabra nuevamente el secretario de Movilidad…": the answer after it is written
    under the secretary an earlier grant named with that office (blind audit of a control
    debate, #33/#34: "EL SECRETARIO DE MOVILIDAD: …", the name the grant in #13 gave missing), or
    a guest the opening named with it. Two people named with the office, another office, one
    named only later, or another gender said ("la secretaria…") leave the office as said."""
    named = _said("named", orador="Hernán Darío Zapata Molina", anuncio=True, **MOBILITY)
    again = _said("again", anuncio=True, **MOBILITY)
    answer = _said("answer", texto="Gracias presidente. Al concejal Mosquera le digo…")
    assert _named(named, _said("words"), again, answer)["answer"] == "Hernán Darío Zapata Molina"
    paragraphs = _paragraphs(_zone(_build([named, again, answer], templates=CALI_TEMPLATES), "ZONE_DEBATE"))
    assert _text(paragraphs[-1]).startswith("HERNÁN DARÍO ZAPATA MOLINA (secretario de Movilidad): Gracias")
    with_words = _said("with_words", anuncio_texto="Tiene la palabra el secretario de Movilidad.", **MOBILITY)
    assert _named(named, with_words)["with_words"] == "Hernán Darío Zapata Molina"
    guest = {"nombre": "Hernán Darío Zapata Molina", "cargo": "secretario de Movilidad"}
    opening = _block(
        "open", "HEADER_ZONE", template_id="TPL_APERTURA", structured_data={"invitados": [guest]}
    )
    assert _named(opening, again, answer)["answer"] == "Hernán Darío Zapata Molina"
    other = _said("other", orador="Luis Mora", anuncio=True, **MOBILITY)
    health = _said("health", orador="Ana Ruiz", anuncio=True, rol="funcionario", cargo="secretario de Salud")
    woman = _said("woman", anuncio=True, rol="funcionario", cargo="secretaria de Movilidad")
    office = "El secretario de Movilidad"
    assert _named(named, other, again, answer)["answer"] == office
    assert _named(health, again, answer)["answer"] == office
    assert _named(again, answer, named)["answer"] == office
    assert _named(named, woman, answer)["answer"] == "La secretaria de Movilidad"


def test_the_citante_given_the_floor_by_part_alone_is_the_one_named_as_citante() -> None:
    """ "Tiene la palabra el concejal citante para las conclusiones del debate.": the conclusions
    are written under the citante the earlier grant named (blind audit of a control debate,
    #10/#35: unnamed), of the gender the grant says when two were named, as a ponente is. Two
    citantes of that gender, or only one of the other, name nobody."""
    named = _said("named", orador="Andrés Felipe Escobar Torres", rol="concejal", citante=True, anuncio=True)
    by_part = _said("by_part", rol="concejal", citante=True, anuncio=True)
    words = _said("words", texto="Gracias presidente. Mis conclusiones son tres.")
    assert _named(named, _said("other"), by_part, words)["words"] == "Andrés Felipe Escobar Torres"
    second = _said("second", orador="Ana Ruiz", rol="concejala", citante=True, anuncio=True)
    assert _named(named, second, by_part, words)["words"] == "Andrés Felipe Escobar Torres"
    another = _said("another", orador="Luis Mora", rol="concejal", citante=True, anuncio=True)
    assert _named(named, another, by_part, words)["words"] is None
    her = _said("her", rol="concejala", citante=True, anuncio=True)
    assert _named(named, her, words)["words"] is None
    assert _named(named, second, her, words)["words"] == "Ana Ruiz"


PERSONERO = "Andrés Felipe Rengifo Salazar"


def _elected(
    block_id: str,
    cargo: str = "Personero Municipal de Palmira para el periodo 2026-2029",
    name: str = PERSONERO,
) -> Any:
    return _said(block_id, eleccion={"elegido": name, "participio": "elegido", "cargo": cargo})


def test_the_personero_given_the_floor_by_the_role_alone_is_the_one_the_session_named() -> None:
    """ "Queda usted posesionado. Tiene la palabra el señor personero." (``rol`` personero, no
    name): the speech after it is written under the personero the session elected and swore in
    (blind audit of a personero election, #37–#42: unnamed), or the one an earlier grant or the
    opening named with the office. Elected and not yet sworn in (the outgoing one still holds the
    office), sworn in before being elected, an oath of others, two personeros named, another
    office elected, or a delegate of the personería name nobody."""
    question = _said("question", texto="Doctor Andrés Felipe Rengifo Salazar, ¿jura usted…?")
    grant = _said("grant", rol="personero", anuncio=True, posesion="Queda usted posesionado.")
    speech = _said("speech", texto="muchas gracias señor presidente honorables concejales")
    assert _named(_elected("elected"), question, grant, speech)["speech"] == PERSONERO
    paragraphs = _paragraphs(
        _zone(_build([_elected("elected"), grant, speech], templates=CALI_TEMPLATES), "ZONE_DEBATE")
    )
    assert _text(paragraphs[-1]) == f"{PERSONERO.upper()} (personero): {speech['structured_data']['texto']}"
    bare = _said("bare", rol="personero", anuncio=True)
    sworn = [
        _said("oath", posesion="Queda posesionado el doctor Rengifo Salazar como personero."),
        _said("oath", posesion="Queda debidamente posesionada la nueva personera."),
        _said("oath", posesion="Queda usted, doctor, legalmente posesionado."),
    ]
    for oath in sworn:
        assert _named(_elected("elected", "personero"), oath, bare, speech)["speech"] == PERSONERO
    named = _said("named", orador="Luis Díaz", rol="personero", anuncio=True)
    guest = _block(
        "open",
        "HEADER_ZONE",
        template_id="TPL_APERTURA",
        structured_data={"invitados": [{"nombre": "Luis Díaz", "cargo": "personero distrital"}]},
    )
    for earlier in (named, guest):
        assert _named(earlier, _said("other"), bare, speech)["speech"] == "Luis Díaz"
    councillors = _said("oath", posesion="Quedan posesionados los diecinueve concejales presentes.")
    comptroller = _elected("elected", "Contralora Municipal de Palmira", "Ana Ruiz")
    deputy = _elected("elected", "personero delegado para los derechos humanos")
    acting = _said("acting", orador="Luis Díaz", rol="funcionario", cargo="personero municipal encargado")
    for blocks in (
        (_elected("elected"), bare, speech),  # not sworn in: the outgoing personero may speak
        (grant, _elected("elected"), bare, speech),
        (_elected("elected"), councillors, bare, speech),
        (named, _elected("elected"), grant, speech),  # two personeros
        (comptroller, grant, speech),
        (deputy, grant, speech),
        (acting, bare, speech),
        (bare, speech),
    ):
        assert _named(*blocks)["speech"] is None
    contralor = _said("bare", rol="contralor", anuncio=True)
    oath = _said("oath", posesion="Queda usted posesionada.")
    assert _named(comptroller, oath, contralor, speech)["speech"] == "Ana Ruiz"
    both = (_elected("elected"), comptroller)  # "usted" says which only to one of them
    assert _named(*both, oath, bare, speech)["speech"] is None
    personero = _said("oath", posesion="Queda posesionado el señor personero.")
    assert _named(*both, personero, bare, speech)["speech"] == PERSONERO
    assert _named(*both, personero, contralor, speech)["speech"] is None


def test_a_speaker_stored_by_the_old_carry_is_derived_again() -> None:
    """Blocks of sessions opened before the speaker was derived carry it in their data
    (``orador_por_anuncio``): it follows the grant before them now, and without one it is gone."""
    stored = _said("words", texto="Gracias.", **CARRIED)
    assert _speakers(stored)["words"] == {}
    other = _said("grant", orador="Ana Ruiz", rol="concejala", anuncio=True)
    assert _speakers(other, stored)["words"] == {
        "orador": "Ana Ruiz",
        "rol": "concejala",
        "orador_por_anuncio": True,
    }


# ---------------------------------------------------------------------------------------------
# a vote said over several blocks

_LIST = [
    {"nombre": "Ana Gómez", "voto": "sí"},
    {"nombre": "Luis Díaz", "voto": "sí"},
    {"nombre": "Eva Mora", "voto": "no"},
    {"nombre": "Pedro Ruiz", "voto": "abstención"},
]


def _vote_block(
    block_id: str, text: str, template_id: str = "TPL_PROYECTO_ACUERDO", **data: Any
) -> dict[str, Any]:
    zone = "ZONE_PROPOSICIONES" if template_id == "TPL_PROPOSICION" else "ZONE_PROYECTOS"
    return _block(block_id, zone, text, template_id=template_id, structured_data=data)


def _vote(si: int, no: int, abstencion: int, resultado: str | None = None, **more: Any) -> dict[str, Any]:
    return {"si": si, "no": no, "abstencion": abstencion, "resultado": resultado, "nominal": False, **more}


def _summaries(content: Any) -> list[str]:
    return [_text(p) for p in _paragraphs(content) if "Resultado:" in _text(p)]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
@pytest.mark.parametrize(
    "declared",
    [
        _vote(2, 1, 1, "aprobado"),  # "votaron sí dos, no uno, una abstención. Ha sido aprobado."
        _vote(0, 0, 0, "aprobado"),  # "Aprobado, señor presidente."
        _vote(2, 1, 1),  # "votaron sí dos, no uno, una abstención."
    ],
    ids=["count-and-result", "result-only", "count-only"],
)
def test_a_vote_said_over_several_blocks_gets_one_summary(
    templates: dict[str, Any] | None, declared: dict[str, Any]
) -> None:
    """The call, the members' list and the secretary's declaration are one vote: its table where
    the list was said and one summary, after the declaration, with the result declared (the
    acta wrote "Votos por el sí: 15…" twice, once for the list and once for the declaration)."""
    blocks = [
        _vote_block("call", "Se abre la votación nominal.", votacion=_vote(0, 0, 0, nominal=True)),
        _vote_block(
            "list", "Ana Gómez, sí. Luis Díaz, sí…", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)
        ),
        _vote_block("said", "Señor presidente, votaron…", votacion=declared),
    ]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")
    kinds = [etree.QName(c).localname for c in content]
    assert kinds == ["p", "p", "tbl", "p", "p"]
    assert [_text(p) for p in _paragraphs(content)][:3] == [
        "Se abre la votación nominal.",
        "Ana Gómez, sí. Luis Díaz, sí…",
        "Señor presidente, votaron…",
    ]
    assert _summaries(content) == [
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 1. Resultado: APROBADO."
    ]
    assert not list(Document(io.BytesIO(_build(blocks, templates=templates))).comments)


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_vote_on_articles_names_them_and_each_article_keeps_its_result(
    templates: dict[str, Any] | None,
) -> None:
    """A bill voted article by article: each summary says which articles it decides (they were
    not named), the call's article carried to the result said after it; two articles approved
    one after the other with no count are two votes (the second was taken for an echo of the
    first and lost its result line)."""
    blocks = [
        _vote_block(
            "call", "En consideración el artículo séptimo.", votacion={"resultado": None, "articulos": [7]}
        ),
        _vote_block(
            "said", "Ha sido negado. Cinco por el sí, trece por el no.", votacion=_vote(5, 13, 0, "negado")
        ),
        _vote_block(
            "block", "Aprobados en bloque…", votacion=_vote(17, 1, 0, "aprobado", articulos=[1, 2, 3])
        ),
        _vote_block(
            "eighth", "Aprobado el artículo octavo.", votacion={"resultado": "aprobado", "articulos": [8]}
        ),
        _vote_block(
            "ninth", "Aprobado el artículo noveno.", votacion={"resultado": "aprobado", "articulos": [9]}
        ),
    ]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Artículo 7. Votos por el sí: 5. Votos por el no: 13. Abstenciones: 0. Resultado: NEGADO.",
        "Artículos 1, 2 y 3. Votos por el sí: 17. Votos por el no: 1. Abstenciones: 0. Resultado: APROBADO.",
        "Artículo 8. Resultado: APROBADO.",
        "Artículo 9. Resultado: APROBADO.",
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_bill_sent_to_sanction_says_so_in_its_result(templates: dict[str, Any] | None) -> None:
    """ "Aprobado en segundo debate… Pase a sanción del señor alcalde." after the count: one
    result line with the debate and the sanction (it said "Resultado: APROBADO." only); the
    debate of a result alone is the heading's, and the line stays as it was."""
    blocks = [
        _vote_block("list", "Lista.", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)),
        _vote_block(
            "said",
            "Aprobado en segundo debate… Pase a sanción del señor alcalde.",
            votacion={"resultado": "aprobado", "debate": "segundo", "sancion": True},
        ),
    ]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 1. "
        "Resultado: APROBADO en segundo debate; pasa a sanción del alcalde."
    ]
    blocks[1]["structured_data"]["votacion"].pop("sancion")
    content = _zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 1. Resultado: APROBADO."
    ]


def test_the_declared_result_wins_over_the_count() -> None:
    """A result declared after the list ("Ha sido negado") is the one written, once."""
    blocks = [
        _vote_block("list", "Lista.", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)),
        _vote_block("said", "Ha sido negado.", votacion=_vote(0, 0, 0, "negado")),
    ]
    content = _zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 1. Resultado: NEGADO."
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
@pytest.mark.parametrize(("si", "result"), [(10, "NEGADO"), (11, "APROBADO")])
def test_a_qualified_majority_is_counted_against_the_votes_it_needs(
    templates: dict[str, Any] | None, si: int, result: str
) -> None:
    """A vote the chair said needs a qualified majority ("la moción de censura requiere el voto
    afirmativo de la mitad más uno de los miembros…, es decir, once votos"), counted with no
    result declared, passes with that many sí votes, not with more sí than no: 10 sí to 7 no was
    written "Resultado: APROBADO" (blind audit of a moción de censura)."""
    blocks = [
        _vote_block(
            "call", "Se abre la votación nominal.", votacion={**_vote(0, 0, 0), "mayoria_requerida": 11}
        ),
        _vote_block("said", "Votaron sí…, no siete.", votacion=_vote(si, 7, 0)),
    ]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        f"Votos por el sí: {si}. Votos por el no: 7. Abstenciones: 0. Resultado: {result}."
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_tie_is_written_as_a_tie(templates: dict[str, Any] | None) -> None:
    """A tie is its own result: "EMPATE" when declared (with "se repetirá la votación" when the
    vote is to be repeated) and when none was declared and sí and no are even (it was written
    "NEGADO")."""
    declared = [
        _vote_block("list", "Lista.", votacion=_vote(1, 1, 0, nominal=True, votos=_LIST[1:3])),
        _vote_block("said", "Hay empate…", votacion=_vote(1, 1, 0, "empate", repetir=True)),
    ]
    content = _zone(_build(declared, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 1. Votos por el no: 1. Abstenciones: 0. Resultado: EMPATE; se repetirá la votación."
    ]
    counted = [_vote_block("said", "Nueve y nueve.", votacion=_vote(9, 9, 1))]
    content = _zone(_build(counted, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 9. Votos por el no: 9. Abstenciones: 1. Resultado: EMPATE."
    ]


def test_a_vote_only_called_writes_no_summary() -> None:
    """ "Se abre la votación nominal" alone counts nothing: no "Votos por el sí: 0 … NEGADO" (the
    built-in summary wrote one)."""
    block = _vote_block("call", "Se abre la votación nominal.", votacion=_vote(0, 0, 0, nominal=True))
    for templates in (None, CALI_TEMPLATES):
        content = _zone(_build([block], templates=templates), "ZONE_PROYECTOS")
        assert [_text(p) for p in content] == ["Se abre la votación nominal."]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_result_declared_with_no_count_is_written(templates: dict[str, Any] | None) -> None:
    """A result said with no count is stored without sí/no figures (CORE stored zeros nobody
    said): its "Resultado: APROBADO." is still written, alone and after a call."""
    alone = [_vote_block("said", "Aprobada.", votacion={"resultado": "aprobado", "nominal": False})]
    content = _zone(_build(alone, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == ["Resultado: APROBADO."]
    called = [
        _vote_block("call", "Se abre la votación.", votacion=_vote(0, 0, 0)),
        _vote_block("said", "Negado.", votacion={"resultado": "negado", "nominal": False}),
    ]
    content = _zone(_build(called, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == ["Resultado: NEGADO."]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_result_says_what_the_vote_decided(templates: dict[str, Any] | None) -> None:
    """A vote on an impediment ("el impedimento … ha sido aceptado con dieciocho votos…") writes
    "Resultado: impedimento ACEPTADO.", counted or not, after the call it follows."""
    impediment = {"objeto": "impedimento"}
    blocks = [
        _vote_block("call", "Se abre la votación.", votacion=_vote(0, 0, 0)),
        _vote_block("a", "…ha sido aceptado…", votacion=_vote(18, 1, 0, "aceptado", **impediment)),
        _vote_block("n", "…fue negado.", votacion={"resultado": "negado", "nominal": False, **impediment}),
    ]
    assert _summaries(_zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")) == [
        "Votos por el sí: 18. Votos por el no: 1. Abstenciones: 0. Resultado: impedimento ACEPTADO.",
        "Resultado: impedimento NEGADO.",
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_reconsideration_and_a_report_decided_say_so(templates: dict[str, Any] | None) -> None:
    """The report on the mayor's objections approved, then a reconsideración of that vote negated:
    each result says what it decides (blind audit of objections: "Resultado: APROBADO." then
    "Resultado: NEGADO." read as the bill approved, then negated)."""
    blocks = [
        _vote_block(
            "r",
            "Aprobado el informe…",
            votacion=_vote(12, 6, 0, "aprobado", objeto="informe de la comisión accidental"),
        ),
        _vote_block("p", "Solicito la reconsideración de la votación."),
        _vote_block("c", "…se abre el registro…", votacion={"resultado": None, "nominal": False}),
        _vote_block(
            "n", "…negada la reconsideración.", votacion=_vote(5, 13, 0, "negada", objeto="reconsideración")
        ),
    ]
    assert _summaries(_zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")) == [
        "Votos por el sí: 12. Votos por el no: 6. Abstenciones: 0. Resultado: informe de la comisión "
        "accidental APROBADO.",
        "Votos por el sí: 5. Votos por el no: 13. Abstenciones: 0. Resultado: reconsideración NEGADA.",
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_result_says_how_it_was_reached(templates: dict[str, Any] | None) -> None:
    """A result said "por aclamación" (nothing counted) or "por unanimidad" keeps it: "Resultado:
    APROBADO." alone hid that no count was taken."""
    blocks = [
        _vote_block(
            "a", "Aprobada por aclamación.", votacion={"resultado": "aprobado", "modo": "por aclamación"}
        ),
        _vote_block("b", "Siguiente proyecto, el número doce."),
        _vote_block("u", "…por unanimidad.", votacion=_vote(15, 0, 0, "aprobado", modo="por unanimidad")),
    ]
    assert _summaries(_zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")) == [
        "Resultado: APROBADO por aclamación.",
        "Votos por el sí: 15. Votos por el no: 0. Abstenciones: 0. Resultado: APROBADO por unanimidad.",
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_two_items_voted_one_after_the_other_keep_both_summaries(templates: dict[str, Any] | None) -> None:
    """A proposal approved, then another presented and voted in one utterance; then two numbered
    proposals approved in a row with the same count: four votes, four summaries."""
    tpl = "TPL_PROPOSICION"
    blocks = [
        _vote_block(
            "a",
            "Aprobada la proposición 118, con 18 votos.",
            tpl,
            numero="118",
            votacion=_vote(18, 0, 0, "aprobado"),
        ),
        _vote_block(
            "b",
            "Proposición presentada por la concejala Paola Castillo: exaltar… Aprobada.",
            tpl,
            autores=["Paola Castillo"],
            texto="exaltar…",
            votacion=_vote(16, 0, 2, "aprobado"),
        ),
        _vote_block(
            "c",
            "Aprobada la proposición 120 con 17 votos.",
            tpl,
            numero="120",
            votacion=_vote(17, 0, 0, "aprobado"),
        ),
        _vote_block(
            "d",
            "Aprobada la proposición 121 con 17 votos.",
            tpl,
            numero="121",
            votacion=_vote(17, 0, 0, "aprobado"),
        ),
    ]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROPOSICIONES")
    assert _summaries(content) == [
        "Votos por el sí: 18. Votos por el no: 0. Abstenciones: 0. Resultado: APROBADO.",
        "Votos por el sí: 16. Votos por el no: 0. Abstenciones: 2. Resultado: APROBADO.",
        "Votos por el sí: 17. Votos por el no: 0. Abstenciones: 0. Resultado: APROBADO.",
        "Votos por el sí: 17. Votos por el no: 0. Abstenciones: 0. Resultado: APROBADO.",
    ]


def test_two_lists_or_two_different_counts_are_two_votes() -> None:
    """A count that differs from the one before with no list between them (a vote taken
    again), a list after a declared result, and a second list each start another vote: each
    keeps its summary."""
    blocks = [
        _vote_block("c1", "Votaron sí diez, no cinco.", votacion=_vote(10, 5, 0)),
        _vote_block("c2", "Votaron sí once, no cuatro. Aprobado.", votacion=_vote(11, 4, 0, "aprobado")),
        _vote_block("l1", "Lista.", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)),
        _vote_block("l2", "Lista otra vez.", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)),
    ]
    content = _zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_PROYECTOS")
    assert len(_summaries(content)) == 4


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
@pytest.mark.parametrize(
    ("votacion", "summary"),
    [
        (
            {"si": 18, "resultado": "aprobado", "nominal": False, "articulos": [4]},
            "Artículo 4. Votos por el sí: 18. Resultado: APROBADO.",
        ),
        (
            {"si": 18, "no": 1, "resultado": "aceptado", "nominal": False, "objeto": "impedimento"},
            "Votos por el sí: 18. Votos por el no: 1. Resultado: impedimento ACEPTADO.",
        ),
        (
            {"si": 12, "no": 0, "resultado": "aprobado", "nominal": False},
            "Votos por el sí: 12. Votos por el no: 0. Resultado: APROBADO.",
        ),
        (
            {"si": 5, "no": 13, "nominal": False},
            "Votos por el sí: 5. Votos por el no: 13. Resultado: NEGADO.",
        ),
    ],
    ids=["si-only", "no-abstentions", "zero-said", "no-result"],
)
def test_a_vote_summary_writes_only_the_counts_said(
    templates: dict[str, Any] | None, votacion: dict[str, Any], summary: str
) -> None:
    """ "Aprobado el artículo cuarto…, con dieciocho votos" said only the sí: the summary wrote
    "Votos por el no: 0. Abstenciones: 0." too, zeros nobody said. A side stored is written
    (a zero said too), one not stored is not."""
    blocks = [_vote_block("v", "Aprobado.", votacion=votacion)]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [summary]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_vote_on_the_title_and_preamble_says_so(templates: dict[str, Any] | None) -> None:
    """The bill's parts voted apart (``partes``) lead its line, as its articles do."""
    blocks = [
        _vote_block(
            "t",
            "En consideración el título y el preámbulo. Aprobados.",
            votacion={"resultado": "aprobado", "nominal": False, "partes": ["título", "preámbulo"]},
        ),
        _vote_block(
            "p",
            "Aprobado el preámbulo con diez votos.",
            votacion={"si": 10, "resultado": "aprobado", "nominal": False, "partes": ["preámbulo"]},
        ),
    ]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Título y preámbulo. Resultado: APROBADO.",
        "Preámbulo. Votos por el sí: 10. Resultado: APROBADO.",
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_title_and_preamble_voted_after_the_bill_is_another_vote(
    templates: dict[str, Any] | None,
) -> None:
    """Review: the bill's counted vote, then "Se somete a votación el título y el preámbulo…
    Aprobado por unanimidad.": the second was taken for the chair echoing the first's result, so
    one line credited the bill's 17 votes to the title and preamble and the bill's own result was
    gone. Two votes, two lines."""
    blocks = [
        _vote_block(
            "bill",
            "Se abre la votación nominal. Votaron sí diecisiete, no cero, abstenciones cero. Aprobado.",
            votacion={"si": 17, "no": 0, "abstenciones": 0, "resultado": "aprobado", "nominal": True},
        ),
        _vote_block(
            "parts",
            "Se somete a votación el título y el preámbulo. ¿Lo aprueba la plenaria? "
            "Aprobado por unanimidad.",
            votacion={"resultado": "aprobado", "partes": ["título", "preámbulo"], "modo": "por unanimidad"},
            tramite=True,  # put to the vote (CORE's reading of "Se somete a votación")
        ),
    ]
    summaries = _summaries(_zone(_build(blocks, templates=templates), "ZONE_PROYECTOS"))
    assert len(summaries) == 2, summaries
    assert "17" in summaries[0] and "Título" not in summaries[0]
    assert summaries[1].startswith("Título y preámbulo.") and "17" not in summaries[1]
    # the chair echoing the result and naming what was voted, nothing put to the vote: one vote
    echo = _vote_block(
        "echo",
        "Aprobados los artículos primero, segundo y tercero.",
        votacion={"resultado": "aprobado", "articulos": [1, 2, 3]},
    )
    summaries = _summaries(_zone(_build([blocks[0], echo], templates=templates), "ZONE_PROYECTOS"))
    assert len(summaries) == 1 and "17" in summaries[0] and summaries[0].startswith("Artículos 1"), summaries


def test_a_count_said_in_part_takes_the_rest_from_the_nominal_list() -> None:
    """The list counts 2-1-1 and the secretary says "votaron sí dos, no uno": the abstention is
    the list's (it was written 0, and flagged as a disagreement); a side said that differs from
    the list is flagged, the note naming only the sides said."""
    listed = _vote_block("list", "Lista.", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST))
    agree = _vote_block(
        "said", "Votaron sí dos, no uno. Aprobado.", votacion={"si": 2, "no": 1, "resultado": "aprobado"}
    )
    out = _build([listed, agree], templates=CALI_TEMPLATES)
    assert _summaries(_zone(out, "ZONE_PROYECTOS")) == [
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 1. Resultado: APROBADO."
    ]
    assert not Document(io.BytesIO(out)).comments
    differ = _vote_block(
        "said", "Votaron sí tres, no uno. Aprobado.", votacion={"si": 3, "no": 1, "resultado": "aprobado"}
    )
    out = _build([listed, differ], templates=CALI_TEMPLATES)
    assert _summaries(_zone(out, "ZONE_PROYECTOS")) == [
        "Votos por el sí: 3. Votos por el no: 1. Resultado: APROBADO."
    ]
    (comment,) = Document(io.BytesIO(out)).comments
    assert comment.text == (
        "Los totales declarados (sí: 3, no: 1) no coinciden con la votación nominal registrada (sí: 2, "
        "no: 1, abstenciones: 1); revíselos antes de firmar el acta."
    )


def test_a_summary_that_writes_a_side_not_said_is_left_out() -> None:
    """A tenant's summary that writes every side ("{{ no }}") has no zero to write for a side
    not said: the line is left out rather than written with a count nobody said; ``total`` is
    given only when every side is known."""
    templates = {
        "TPL_PROYECTO_ACUERDO": [
            {"table": "votes", "summary": "Sí {{ si }}, no {{ no }}.{{ ' Total ' ~ total ~ '.' if total }}"}
        ]
    }
    said = _vote_block("a", "Aprobado con dieciocho votos.", votacion={"si": 18, "resultado": "aprobado"})
    whole = _vote_block("b", "Votaron sí dos, no uno, una abstención.", votacion=_vote(2, 1, 1, "aprobado"))
    partial = _vote_block(
        "c", "Votaron sí diez, no dos.", votacion={"si": 10, "no": 2, "resultado": "negado"}
    )
    content = _zone(_build([said, whole, partial], templates=templates), "ZONE_PROYECTOS")
    assert [_text(p) for p in _paragraphs(content) if _text(p).startswith("Sí")] == [
        "Sí 2, no 1. Total 4.",
        "Sí 10, no 2.",
    ]


def test_declared_totals_that_disagree_with_the_list_are_flagged() -> None:
    """The list counts 2-1-1 and the secretary declares 3-1-0: the summary carries the declared
    totals (what the plenary heard) and a Word comment over it asks the reviewer to settle it."""
    blocks = [
        _vote_block("list", "Lista.", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)),
        _vote_block("said", "Votaron sí tres, no uno. Aprobado.", votacion=_vote(3, 1, 0, "aprobado")),
    ]
    out = _build(blocks, templates=CALI_TEMPLATES)
    content = _zone(out, "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 3. Votos por el no: 1. Abstenciones: 0. Resultado: APROBADO."
    ]
    summary = _paragraphs(content)[-1]
    assert summary.xpath("./w:commentRangeStart", namespaces=NS)
    (comment,) = Document(io.BytesIO(out)).comments
    assert comment.text == (
        "Los totales declarados (sí: 3, no: 1, abstenciones: 0) no coinciden con la votación nominal "
        "registrada (sí: 2, no: 1, abstenciones: 1); revíselos antes de firmar el acta."
    )


@pytest.mark.parametrize(
    ("declared", "comment"),
    [
        ((2, 1, 1), None),
        (
            (3, 1, 0),
            "Los totales declarados (sí: 3, no: 1, abstenciones: 0) no coinciden con la votación "
            "nominal registrada (sí: 2, no: 1, abstenciones: 1); revíselos antes de firmar el acta.",
        ),
    ],
    ids=["totals-agree", "totals-disagree"],
)
def test_a_list_read_over_two_blocks_is_one_vote(declared: tuple[int, int, int], comment: str | None) -> None:
    """The secretary reads half the list in one utterance and the rest, with the totals, in the
    next, then the result is declared: one table of every member after the list, one summary
    with the declared totals, and a disagreement only against the whole list (the acta had two
    tables, "Votos por el sí: 2…" after the first half, and a comment comparing the declared
    totals with the second half alone)."""
    blocks = [
        _vote_block("call", "Se abre la votación nominal.", votacion=_vote(0, 0, 0, nominal=True)),
        _vote_block(
            "half", "Ana Gómez, sí. Luis Díaz, sí.", votacion=_vote(2, 0, 0, nominal=True, votos=_LIST[:2])
        ),
        _vote_block(
            "rest",
            "Eva Mora, no. Pedro Ruiz, se abstiene. Votaron…",
            votacion=_vote(*declared, nominal=True, votos=_LIST[2:]),
        ),
        _vote_block("said", "Aprobado.", votacion={"resultado": "aprobado", "nominal": False}),
    ]
    out = _build(blocks, templates=CALI_TEMPLATES)
    content = _zone(out, "ZONE_PROYECTOS")
    assert [etree.QName(c).localname for c in content] == ["p", "p", "p", "tbl", "p", "p"]
    assert _table_rows(content[3]) == [
        ["Concejal", "Voto"],
        ["Ana Gómez", "Sí"],
        ["Luis Díaz", "Sí"],
        ["Eva Mora", "No"],
        ["Pedro Ruiz", "Abstención"],
    ]
    si, no, abstencion = declared
    assert _summaries(content) == [
        f"Votos por el sí: {si}. Votos por el no: {no}. Abstenciones: {abstencion}. Resultado: APROBADO."
    ]
    assert [c.text for c in Document(io.BytesIO(out)).comments] == ([comment] if comment else [])


# ---------------------------------------------------------------------------------------------
# an election and an oath declared


def _debate(block_id: str, text: str, **data: Any) -> dict[str, Any]:
    return _block(block_id, "ZONE_DEBATE", text, template_id="TPL_DEBATE", structured_data=data)


def _count_of(velasco: int, blank: int, **more: Any) -> dict[str, Any]:
    candidates = [{"nombre": "Ana María Velasco", "votos": velasco}, {"nombre": "Luisa Caicedo", "votos": 2}]
    return {"candidatos": candidates, "en_blanco": blank, **more}


_ELECTED = {"elegido": "Ana María Velasco", "participio": "elegida", "cargo": "presidenta del Concejo"}


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_an_election_declared_gets_its_result_line_with_the_count_said(
    templates: dict[str, Any] | None,
) -> None:
    """The count said before the declaration and the declaration are one election: its result
    line follows the declaration's words (kept as said), with the count; a count corrected later
    is taken as corrected and a Word comment asks the reviewer to settle the two (the acta had
    only the words, two conflicting counts among them)."""
    blocks = [
        _debate(
            "first", "…el resultado es: Ana María Velasco, dieciocho votos…", escrutinio=_count_of(18, 1)
        ),
        _debate("other", "Señor secretario, una corrección."),
        _debate(
            "fixed", "Corrijo: Ana María Velasco, diecisiete votos…", escrutinio=_count_of(17, 1, total=20)
        ),
        _debate(
            "said",
            "Ha sido elegida presidenta del Concejo la concejala Ana María Velasco.",
            eleccion=_ELECTED,
        ),
    ]
    out = _build(blocks, templates=templates)
    texts = [_text(p) for p in _paragraphs(_zone(out, "ZONE_DEBATE"))]
    result = (
        "Resultado: Ana María Velasco, elegida presidenta del Concejo. Votación: Ana María Velasco, 17 "
        "votos; Luisa Caicedo, 2 votos; en blanco, 1; total, 20."
    )
    assert texts[-2:] == ["Ha sido elegida presidenta del Concejo la concejala Ana María Velasco.", result]
    assert sum(t.startswith("Resultado:") for t in texts) == 1
    (comment,) = Document(io.BytesIO(out)).comments
    assert comment.text == (
        "El escrutinio de esta elección se dijo con cifras distintas (Ana María Velasco, 18 votos; Luisa "
        "Caicedo, 2 votos; en blanco, 1) y luego (Ana María Velasco, 17 votos; Luisa Caicedo, 2 votos; en "
        "blanco, 1; total, 20); el acta registra las últimas. Revíselas antes de firmar el acta."
    )
    assert _paragraphs(_zone(out, "ZONE_DEBATE"))[-1].xpath("./w:commentRangeStart", namespaces=NS)


def test_each_election_takes_only_its_own_count() -> None:
    """Two elections in a row: the second declaration takes the count said after the first,
    not the first's; an election with no count said writes its result alone, or with the votes
    said in the declaration; the same count said twice needs no comment."""
    second = {"elegido": "Julián Restrepo", "participio": "elegido", "cargo": "primer vicepresidente"}
    blocks = [
        _debate("c1", "…", escrutinio=_count_of(17, 1)),
        _debate("c1-again", "…", escrutinio=_count_of(17, 1)),
        _debate("d1", "Queda elegida…", eleccion=_ELECTED),
        _debate(
            "c2", "…", escrutinio={"candidatos": [{"nombre": "Julián Restrepo", "votos": 16}], "en_blanco": 4}
        ),
        _debate("d2", "Queda elegido…", eleccion=second),
        _debate(
            "d3", "Queda elegido…", eleccion={"elegido": "Mario Paz", "participio": "elegido", "votos": 15}
        ),
        _debate(
            "d4",
            "Queda elegida…",
            eleccion={"elegido": "Eva Gil", "participio": "elegida", "cargo": "personera"},
        ),
    ]
    out = _build(blocks, templates=CALI_TEMPLATES)
    results = [t for p in _paragraphs(_zone(out, "ZONE_DEBATE")) if (t := _text(p)).startswith("Resultado:")]
    assert results == [
        "Resultado: Ana María Velasco, elegida presidenta del Concejo. Votación: Ana María Velasco, 17 "
        "votos; Luisa Caicedo, 2 votos; en blanco, 1.",
        "Resultado: Julián Restrepo, elegido primer vicepresidente. Votación: Julián Restrepo, 16 votos; en "
        "blanco, 4.",
        "Resultado: Mario Paz, elegido. Votación: Mario Paz, 15 votos.",
        "Resultado: Eva Gil, elegida personera.",
    ]
    assert not list(Document(io.BytesIO(out)).comments)


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_oath_declared_gets_a_line_after_the_words(templates: dict[str, Any] | None) -> None:
    """ "Quedan debidamente posesionados…": the words as said, then the oath recorded in them."""
    said = "Si así lo hicieren… Quedan debidamente posesionados los diecinueve concejales presentes."
    block = _debate(
        "o", said, posesion="Quedan debidamente posesionados los diecinueve concejales presentes."
    )
    texts = [_text(p) for p in _paragraphs(_zone(_build([block], templates=templates), "ZONE_DEBATE"))]
    assert texts == [said, "Posesión: Quedan debidamente posesionados los diecinueve concejales presentes."]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_an_election_to_a_commission_does_not_change_who_signs(templates: dict[str, Any] | None) -> None:
    """The president of a commission elected in the session is not the council's president: the
    president who presided signs (the block read LUIS MORA / Presidente); so for a commission's
    secretary."""
    opening = _block(
        "a",
        "HEADER_ZONE",
        "Preside el concejal Juan Pérez; actúa como secretaria la doctora Ana Ruiz.",
        template_id="TPL_APERTURA",
        structured_data={"preside": "Juan Pérez", "secretario": "Ana Ruiz"},
    )
    commission = {
        "elegido": "Luis Mora",
        "participio": "elegido",
        "cargo": "presidente de la Comisión de Presupuesto",
    }
    secretary = {
        "elegido": "Eva Paz",
        "participio": "elegida",
        "cargo": "secretaria general de la Comisión Primera",
    }
    blocks = [opening, _debate("d1", "…", eleccion=commission), _debate("d2", "…", eleccion=secretary)]
    signed = _signed(blocks, templates)
    assert [line.split("\n")[1] for line in signed] == ["JUAN PÉREZ", "ANA RUIZ"]


def _signed(blocks: list[dict[str, Any]], templates: Any) -> list[str]:
    """The signature lines, each line break written as a newline."""
    br, t = f"{{{W}}}br", f"{{{W}}}t"
    paragraphs = _paragraphs(_zone(_build(blocks, templates=templates), "SIGNATURE_BLOCK"))
    return ["".join("\n" if n.tag == br else n.text or "" for n in p.iter(t, br)) for p in paragraphs]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_president_and_secretary_elected_in_the_session_sign_it(templates: dict[str, Any] | None) -> None:
    """An installation session presided provisionally elects its president and its general
    secretary: they sign, with the office as said (the signature block was empty); with no
    election, the provisional president signs as such."""
    opening = _block(
        "a",
        "HEADER_ZONE",
        "Presidirá provisionalmente el concejal Jorge Lozano; secretario provisional Hernán Quintero.",
        template_id="TPL_APERTURA",
        structured_data={
            "preside": "Jorge Lozano",
            "preside_provisional": True,
            "secretario": "Hernán Quintero",
            "secretario_cargo": "secretario provisional",
        },
    )
    line = "_" * 30
    assert _signed([opening], templates) == [
        f"{line}\nJORGE LOZANO\nPresidente Provisional",
        f"{line}\nHERNÁN QUINTERO\nSecretario Provisional",
    ]
    vice = {"elegido": "Julián Restrepo", "participio": "elegido", "cargo": "primer vicepresidente"}
    secretary = {
        "elegido": "Martha Cárdenas",
        "participio": "elegida",
        "cargo": "secretaria general del Concejo",
    }
    blocks = [
        opening,
        _debate("d1", "…", eleccion=_ELECTED),
        _debate("d2", "…", eleccion=vice),
        _debate("d3", "…", eleccion=secretary),
    ]
    assert _signed(blocks, templates) == [
        f"{line}\nANA MARÍA VELASCO\nPresidenta",
        f"{line}\nMARTHA CÁRDENAS\nSecretaria General",
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_the_president_and_secretary_named_in_the_roll_call_sign_when_the_opening_did_not(
    templates: dict[str, Any] | None,
) -> None:
    """ "Con mucho gusto señor presidente Héctor Fabio Escobar Potes. Buenos días, habla Claudia
    Patricia Morales Giraldo, secretaria general. Llamado a lista: …": the opening named nobody,
    the roll call right after it names both, and they sign, the secretary as "Secretaria General"
    (blind audit of a personero election, #1: both names blank, "Secretario General"). What the
    opening names comes first; a roll call after other words of the session, two people named for
    an office, or an office elected in the session do not sign from it."""
    opening = _block("a", "HEADER_ZONE", "Buenos días…", template_id="TPL_APERTURA", structured_data={})
    officers = {
        "preside": "Héctor Fabio Escobar Potes",
        "secretario": "Claudia Patricia Morales Giraldo",
        "secretario_cargo": "secretaria general",
    }
    roll_call = _roll_call_block(presentes=["Héctor Fabio Escobar Potes"], **officers)
    line = "_" * 30
    president = f"{line}\nHÉCTOR FABIO ESCOBAR POTES\nPresidente"
    secretary = f"{line}\nCLAUDIA PATRICIA MORALES GIRALDO\nSecretaria General"
    assert _signed([opening, roll_call], templates) == [president, secretary]
    presidenta = _roll_call_block(preside="Ana María Velasco Ruiz", preside_rol="concejala")
    assert _signed([presidenta], templates)[0] == f"{line}\nANA MARÍA VELASCO RUIZ\nPresidenta"
    named = _block(
        "a",
        "HEADER_ZONE",
        "Preside el concejal Juan Pérez.",
        template_id="TPL_APERTURA",
        structured_data={"preside": "Juan Pérez"},
    )
    assert _signed([named, roll_call], templates) == [f"{line}\nJUAN PÉREZ\nPresidente", secretary]
    unnamed = [f"{line}\nNombre: {'_' * 20}\nPresidente", f"{line}\nNombre: {'_' * 20}\nSecretario General"]
    later = [opening, _debate("d", "Himno nacional."), roll_call]
    other = _roll_call_block(preside="Luis Mora Díaz", secretario="Claudia Patricia Morales Giraldo")
    assert _signed(later, templates) == unnamed
    assert _signed([opening, roll_call, other], templates) == [unnamed[0], secretary]
    elected = _debate("d", "…", eleccion=_ELECTED)
    assert _signed([opening, roll_call, elected], templates) == [
        f"{line}\nANA MARÍA VELASCO\nPresidenta",
        secretary,
    ]


# ---------------------------------------------------------------------------------------------
# attendance: reasons, the feminine, late arrivals said later


def _roll_call_block(**data: Any) -> dict[str, Any]:
    return _block(
        "r", "ZONE_ROLLCALL", "Contestaron a lista…", template_id="TPL_LLAMADO_LISTA", structured_data=data
    )


def _roll_call_rows(out: bytes) -> list[list[str]]:
    (tbl,) = _zone(out, "ZONE_ROLLCALL").iterchildren(f"{{{W}}}tbl")
    return _table_rows(tbl)[1:]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_excused_members_with_reason_and_feminine(templates: dict[str, Any] | None) -> None:
    """Each excused member with the reason said ("Excusado (incapacidad médica)"), "Excusada" for
    one said to be a concejala, plain "Excusado" for a bare name."""
    block = _roll_call_block(
        presentes=["Ana Gómez"],
        excusados=[
            {"nombre": "Natalia Henao", "motivo": "incapacidad médica", "rol": "concejala"},
            {"nombre": "Wilson Aristizábal", "motivo": "comisión oficial"},
            {"nombre": "Paula Gil", "rol": "concejala"},
            "Luis Mora",
        ],
    )
    assert _roll_call_rows(_build([block], templates=templates)) == [
        ["Ana Gómez", "Presente"],
        ["Natalia Henao", "Excusada (incapacidad médica)"],
        ["Wilson Aristizábal", "Excusado (comisión oficial)"],
        ["Paula Gil", "Excusada"],
        ["Luis Mora", "Excusado"],
    ]


def test_a_tenant_word_for_excused_is_kept_for_women() -> None:
    """A tenant labelling excused "Con excusa" gets that for women too; "Excusado" → "Excusada"."""
    block = _roll_call_block(excusados=[{"nombre": "Paula Gil", "rol": "concejala"}, "Luis Mora"])
    for word, feminine in (("Con excusa", "Con excusa"), ("Excusado", "Excusada")):
        templates = {"TPL_LLAMADO_LISTA": [{"table": "roll_call", "labels": {"excusados": word}}]}
        assert _roll_call_rows(_build([block], templates=templates)) == [
            ["Paula Gil", feminine],
            ["Luis Mora", word],
        ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_late_arrival_said_later_shows_in_the_roll_call(templates: dict[str, Any] | None) -> None:
    """The roll call had Harold Cuero absent; a constancia during the debate says he arrived at
    9:40: the acta's roll call shows him "Llegó tarde (9:40 a. m.)" (it kept "Ausente" while
    he voted); an excused member who arrives and one the roll call did not name are shown late
    too. The constancia stays in the debate, and the stored blocks are not changed."""
    constancia = "Se deja constancia de que el concejal Harold Cuero se hizo presente a las nueve y cuarenta."
    blocks = [
        _roll_call_block(
            presentes=["Ana Gómez"],
            ausentes=["Harold Cuero", "Tulio Gaviria"],
            excusados=[{"nombre": "Eva Mora", "motivo": "cita médica"}],
        ),
        _block(
            "c",
            "ZONE_DEBATE",
            constancia,
            template_id="TPL_DEBATE",
            structured_data={"texto": constancia, "llegadas": [{"nombre": "Harold Cuero", "hora": "09:40"}]},
        ),
        _block(
            "d",
            "ZONE_DEBATE",
            "Llegaron la concejala Eva Mora y el concejal Juan Paz.",
            template_id="TPL_DEBATE",
            structured_data={"llegadas": [{"nombre": "Eva Mora"}, {"nombre": "Juan Paz", "hora": "10:05"}]},
        ),
    ]
    stored = json.dumps(blocks, sort_keys=True)
    out = _build(blocks, templates=templates)
    assert _roll_call_rows(out) == [
        ["Ana Gómez", "Presente"],
        ["Tulio Gaviria", "Ausente"],
        ["Harold Cuero", "Llegó tarde (9:40 a. m.)"],
        ["Eva Mora", "Llegó tarde"],
        ["Juan Paz", "Llegó tarde (10:05 a. m.)"],
    ]
    assert _text(_paragraphs(_zone(out, "ZONE_DEBATE"))[0]) == constancia
    assert json.dumps(blocks, sort_keys=True) == stored


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_excuses_said_after_the_roll_call_go_into_its_table(templates: dict[str, Any] | None) -> None:
    """ "Presentaron excusa las concejalas Ana Ruiz y Paula Díaz." said after the roll call: they
    are shown excused in the roll call's table (no longer absent), not in a table of their own;
    the sentence is written as said."""
    said = "Presentaron excusa las concejalas Ana Ruiz y Paula Díaz."
    excuses = [{"nombre": "Ana Ruiz", "rol": "concejala"}, {"nombre": "Paula Díaz", "rol": "concejala"}]
    blocks = [
        _roll_call_block(presentes=["Ana Gómez"], ausentes=["Ana Ruiz", "Tulio Gaviria"]),
        _block(
            "e",
            "ZONE_ROLLCALL",
            said,
            template_id="TPL_LLAMADO_LISTA",
            structured_data={"excusados": excuses},
        ),
    ]
    out = _build(blocks, templates=templates)
    assert _roll_call_rows(out) == [
        ["Ana Gómez", "Presente"],
        ["Tulio Gaviria", "Ausente"],
        ["Ana Ruiz", "Excusada"],
        ["Paula Díaz", "Excusada"],
    ]
    assert _text(_paragraphs(_zone(out, "ZONE_ROLLCALL"))[-1]) == said


def test_an_arrival_before_any_roll_call_changes_nothing() -> None:
    """An arrival said before the roll call has no roll call to amend; a later roll call is as said."""
    blocks = [
        _block(
            "c",
            "ZONE_DEBATE",
            "Llegó el concejal Juan Paz.",
            structured_data={"llegadas": [{"nombre": "Juan Paz"}]},
        ),
        _roll_call_block(ausentes=["Juan Paz"]),
    ]
    assert _roll_call_rows(_build(blocks)) == [["Juan Paz", "Ausente"]]


def _all_roll_call_rows(out: bytes) -> list[list[list[str]]]:
    return [_table_rows(tbl)[1:] for tbl in _zone(out, "ZONE_ROLLCALL").iterchildren(f"{{{W}}}tbl")]


def _arrival(block_id: str, name: str, hora: str) -> dict[str, Any]:
    text = f"Se deja constancia de que el concejal {name} se hizo presente."
    return _block(
        block_id,
        "ZONE_DEBATE",
        text,
        template_id="TPL_DEBATE",
        structured_data={"texto": text, "llegadas": [{"nombre": name, "hora": hora}]},
    )


def test_a_roll_call_said_over_several_blocks_shows_an_arrival_once() -> None:
    """Who is present in one block, who did not answer in the next, the quorum and who is
    excused in a third: a
    member said absent who arrives later is shown late where she was listed, not "Ausente" and
    "Llegó tarde" in two rows; a member present in an earlier block who is said
    to arrive again gets no second row. The call is one table."""
    blocks = [
        {**_roll_call_block(presentes=["Luis Mora", "Eva Paz"]), "block_id": "r1"},
        {**_roll_call_block(ausentes=["Ana Ruiz", "Pedro Gómez"]), "block_id": "r2"},
        {**_roll_call_block(quorum="hay quórum", excusados=["Marta Lía"]), "block_id": "r3"},
        _arrival("c1", "Ana Ruiz", "09:40"),
        _arrival("c2", "Luis Mora", "09:45"),
    ]
    assert _all_roll_call_rows(_build(blocks, templates=CALI_TEMPLATES)) == [
        [
            ["Luis Mora", "Presente"],
            ["Eva Paz", "Presente"],
            ["Pedro Gómez", "Ausente"],
            ["Marta Lía", "Excusado"],
            ["Ana Ruiz", "Llegó tarde (9:40 a. m.)"],
        ]
    ]


def test_an_arrival_does_not_override_a_roll_call_a_person_edited() -> None:
    """A stenographer corrected the roll call (Harold Cuero absent): a later constancia of his
    arrival leaves it as the person left it (a human edit wins); an unedited roll call after
    it still takes a member it did not list."""
    edited = {
        **_roll_call_block(presentes=["Ana Gómez"], ausentes=["Harold Cuero"], quorum="no hay quórum"),
        "human_edited": True,
    }
    assert _all_roll_call_rows(_build([edited, _arrival("c", "Harold Cuero", "09:40")])) == [
        [["Ana Gómez", "Presente"], ["Harold Cuero", "Ausente"]]
    ]
    blocks = [
        edited,
        {**_roll_call_block(ausentes=["Tulio Gaviria"]), "block_id": "r2"},
        _arrival("c", "Juan Paz", "10:05"),
    ]
    assert _all_roll_call_rows(_build(blocks)) == [
        [["Ana Gómez", "Presente"], ["Harold Cuero", "Ausente"]],
        [["Tulio Gaviria", "Ausente"], ["Juan Paz", "Llegó tarde (10:05 a. m.)"]],
    ]


def _called(block_id: str, text: str, **data: Any) -> dict[str, Any]:
    """A roll-call block said as ``text``."""
    return {**_roll_call_block(**data), "block_id": block_id, "text": text}


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_roll_call_said_over_several_blocks_gets_one_table(templates: dict[str, Any] | None) -> None:
    """The secretary calls half the members in one utterance and the rest, with the quorum, in
    the next: each is written as said, then one table with every member and the quorum (it was
    a table after each, the second with a header row of its own). A verification of the quorum
    later in the session keeps its own table."""
    blocks = [
        _called("r0", "Señor secretario, sírvase llamar a lista."),
        _called(
            "r1",
            "Ana Gómez, presente. Luis Mora, no contesta.",
            presentes=["Ana Gómez"],
            ausentes=["Luis Mora"],
            total_presentes=1,  # CORE counts each half: not the end of the call
        ),
        _called("r2", "Eva Paz, presente. Hay quórum decisorio.", presentes=["Eva Paz"], quorum="decisorio"),
        _block("d", "ZONE_DEBATE", "Tiene la palabra el concejal Juan Paz.", template_id="TPL_DEBATE"),
        _called("r3", "Verificación del quórum. Ana Gómez, presente.", presentes=["Ana Gómez"]),
    ]
    content = [
        ("p", _text(el)) if el.tag == f"{{{W}}}p" else ("tbl", _table_rows(el)[1:])
        for el in _zone(_build(blocks, templates=templates), "ZONE_ROLLCALL")
    ]
    assert content == [
        ("p", "Señor secretario, sírvase llamar a lista."),
        ("p", "Ana Gómez, presente. Luis Mora, no contesta."),
        ("p", "Eva Paz, presente. Hay quórum decisorio."),
        ("tbl", [["Ana Gómez", "Presente"], ["Eva Paz", "Presente"], ["Luis Mora", "Ausente"]]),
        ("p", "Quórum: decisorio." if templates else "Quórum: decisorio"),
        ("p", "Verificación del quórum. Ana Gómez, presente."),
        ("tbl", [["Ana Gómez", "Presente"]]),
    ]


def test_a_member_called_again_starts_another_roll_call() -> None:
    """A second call right after the first (a member called again, no quorum said in between) is
    another roll call, with its own table; a block of another section between two lists ends the
    call too."""
    again = [
        _called(
            "r1",
            "Ana Gómez, presente. Luis Mora, no contesta.",
            presentes=["Ana Gómez"],
            ausentes=["Luis Mora"],
        ),
        _called("r2", "Segundo llamado. Luis Mora, presente.", presentes=["Luis Mora"]),
    ]
    assert _all_roll_call_rows(_build(again)) == [
        [["Ana Gómez", "Presente"], ["Luis Mora", "Ausente"]],
        [["Luis Mora", "Presente"]],
    ]
    apart = [
        again[0],
        _block("d", "ZONE_DEBATE", "Buenos días."),
        {**again[1], "structured_data": {"presentes": ["Eva Paz"]}},
    ]
    assert _all_roll_call_rows(_build(apart)) == [
        [["Ana Gómez", "Presente"], ["Luis Mora", "Ausente"]],
        [["Eva Paz", "Presente"]],
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
@pytest.mark.parametrize("first_result", ["aprobado", None], ids=["declared", "counted-only"])
def test_two_proposals_voted_with_the_same_count_keep_both_summaries(
    templates: dict[str, Any] | None, first_result: str | None
) -> None:
    """A proposal presented and voted (15-2, approved), the next one read (no authors said, no
    vote), then voted with the same count: two votes, two summaries (they were merged into one
    and the first proposal's vote disappeared). The same after a count with no result said."""
    tpl = "TPL_PROPOSICION"
    blocks = [
        _vote_block("p1", "Proposición presentada por Ana Ruiz: …", tpl, autores=["Ana Ruiz"], texto="…"),
        _vote_block(
            "v1",
            "Se somete a votación… votaron sí quince, no dos.",
            tpl,
            votacion=_vote(15, 2, 0, first_result),
        ),
        _vote_block(
            "p2", "Siguiente proposición, que se cite al director del DAGMA…", tpl, texto="que se cite…"
        ),
        _vote_block(
            "v2",
            "Se somete a votación. Votaron sí quince, no dos. Aprobada.",
            tpl,
            votacion=_vote(15, 2, 0, "aprobado"),
        ),
    ]
    content = _zone(_build(blocks, templates=templates), "ZONE_PROPOSICIONES")
    assert _summaries(content) == [
        "Votos por el sí: 15. Votos por el no: 2. Abstenciones: 0. Resultado: APROBADO.",
        "Votos por el sí: 15. Votos por el no: 2. Abstenciones: 0. Resultado: APROBADO.",
    ]


def test_a_question_between_the_list_and_the_declaration_keeps_one_vote() -> None:
    """The members' list, a question about the vote, then the secretary's count and result are
    still one vote: one summary."""
    blocks = [
        _vote_block(
            "list", "Ana Gómez, sí. Luis Díaz, sí…", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)
        ),
        _vote_block("ask", "¿Cómo vota el concejal Pedro Ruiz?"),
        _vote_block(
            "said", "Votaron sí dos, no uno, una abstención. Aprobado.", votacion=_vote(2, 1, 1, "aprobado")
        ),
    ]
    content = _zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 2. Votos por el no: 1. Abstenciones: 1. Resultado: APROBADO."
    ]


def test_thanks_between_the_count_and_the_declaration_keep_one_vote() -> None:
    """The secretary's count, the chair's "Gracias, señora secretaria.", then his declaration
    of the result are one vote, with the result declared: 10 sí to 7 no declared not approved
    (a moción de censura short of the absolute majority of the members) was written "Resultado:
    APROBADO" from the count and "Resultado: NEGADO" apart. Once the result was declared, the
    thanks still end the vote."""
    blocks = [
        _vote_block("count", "Votaron por el sí diez, por el no siete.", votacion=_vote(10, 7, 0)),
        _vote_block("thanks", "Gracias, señora secretaria."),
        _vote_block(
            "said", "Con diez votos por el sí, no ha sido aprobada.", votacion=_vote(10, 0, 0, "negado")
        ),
    ]
    blocks[2]["structured_data"]["votacion"].pop("no")
    content = _zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 10. Votos por el no: 7. Abstenciones: 0. Resultado: NEGADO."
    ]


def test_a_vote_put_after_the_thanks_is_another_vote() -> None:
    """After a count with no result declared and the chair's thanks, the chair putting the next
    impediment to the vote, declared in the same words, begins another vote: the first kept the
    second's result ("Votos por el sí: 15. Votos por el no: 3. Resultado: NEGADO.")."""
    blocks = [
        _vote_block("count", "Votaron por el sí quince, por el no tres.", votacion=_vote(15, 3, 0)),
        _vote_block("thanks", "Gracias, señora secretaria."),
        _vote_block(
            "next",
            "Se somete a votación el impedimento de la concejala Ana Gómez. Ha sido negado.",
            votacion={"resultado": "negado", "nominal": False},
            tramite=True,
        ),
    ]
    content = _zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 15. Votos por el no: 3. Abstenciones: 0. Resultado: APROBADO.",
        "Resultado: NEGADO.",
    ]


def test_a_count_after_a_declared_result_is_another_vote() -> None:
    """Once a result was declared, a block with its own count is the next vote, even with the
    same count and nothing said between them (it was merged into the first); the chair echoing
    the result ("Aprobada.") is not."""
    said = "Votaron sí quince, no dos. Aprobada."
    blocks = [
        _vote_block("v1", said, votacion=_vote(15, 2, 0, "aprobado")),
        _vote_block("v2", said, votacion=_vote(15, 2, 0, "aprobado")),
        _vote_block("v3", "Aprobada.", votacion=_vote(0, 0, 0, "aprobado")),
    ]
    content = _zone(_build(blocks, templates=CALI_TEMPLATES), "ZONE_PROYECTOS")
    assert _summaries(content) == [
        "Votos por el sí: 15. Votos por el no: 2. Abstenciones: 0. Resultado: APROBADO.",
        "Votos por el sí: 15. Votos por el no: 2. Abstenciones: 0. Resultado: APROBADO.",
    ]


_DISAGREEING = [
    _vote_block("list", "Lista.", votacion=_vote(2, 1, 1, nominal=True, votos=_LIST)),
    _vote_block("said", "Votaron sí tres, no uno. Aprobado.", votacion=_vote(3, 1, 0, "aprobado")),
]


@pytest.mark.parametrize(
    "summary", ["****", None, "{% if false %}x{% endif %}"], ids=["markup-only", "null", "empty"]
)
def test_a_vote_summary_that_writes_nothing_still_carries_the_reviewers_comment(summary: str | None) -> None:
    """A tenant's summary that renders only markup ("****") raised IndexError, and with a null or
    empty summary the "totals disagree" comment was dropped: the build succeeds, writes no empty
    summary, and the comment sits on a paragraph of its own."""
    templates = {
        "TPL_PROYECTO_ACUERDO": [
            {"paragraph": "{{ text }}"},
            {"table": "votes", "headers": ["Concejal", "Voto"], "summary": summary},
        ]
    }
    out = _build(_DISAGREEING, templates=templates)
    (comment,) = Document(io.BytesIO(out)).comments
    assert comment.text.startswith("Los totales declarados (sí: 3, no: 1, abstenciones: 0)")
    anchored = [
        p
        for p in _paragraphs(_zone(out, "ZONE_PROYECTOS"))
        if p.xpath("./w:commentRangeStart", namespaces=NS)
    ]
    assert [_text(p) for p in anchored] == [""]


def test_a_vote_summary_of_markup_only_writes_nothing() -> None:
    """A summary rendering to "****" with nothing to flag writes no paragraph (it raised)."""
    templates = {"TPL_PROYECTO_ACUERDO": [{"table": "votes", "summary": "****"}]}
    block = _vote_block("said", "Votaron sí tres, no uno.", votacion=_vote(3, 1, 0, "aprobado"))
    content = _zone(_build([block], templates=templates), "ZONE_PROYECTOS")
    assert [_text(p) for p in _paragraphs(content)] == ["Votaron sí tres, no uno."]


def _departure(block_id: str, name: str, hora: str | None) -> dict[str, Any]:
    text = f"Se deja constancia de que el concejal {name} se retira del recinto."
    left = {"nombre": name, **({"hora": hora} if hora else {})}
    return _block(
        block_id,
        "ZONE_DEBATE",
        text,
        template_id="TPL_DEBATE",
        structured_data={"texto": text, "salidas": [left]},
    )


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_member_leaving_shows_in_the_roll_call(templates: dict[str, Any] | None) -> None:
    """A constancia during the debate says Jhon Montaño left at 9:40: the roll call shows him
    "Se retiró (9:40 a. m.)" (it kept "Presente" for the whole session); one leaving with no
    time said "Se retiró". The constancia stays in the debate, the stored blocks unchanged."""
    blocks = [
        _roll_call_block(presentes=["Ana Gómez", "Jhon Montaño", "Eva Mora"], ausentes=["Tulio Gaviria"]),
        _departure("c", "Jhon Montaño", "09:40"),
        _departure("d", "Eva Mora", None),
    ]
    stored = json.dumps(blocks, sort_keys=True)
    out = _build(blocks, templates=templates)
    assert _roll_call_rows(out) == [
        ["Ana Gómez", "Presente"],
        ["Tulio Gaviria", "Ausente"],
        ["Jhon Montaño", "Se retiró (9:40 a. m.)"],
        ["Eva Mora", "Se retiró"],
    ]
    assert _text(_paragraphs(_zone(out, "ZONE_DEBATE"))[0]) == blocks[1]["text"]
    assert json.dumps(blocks, sort_keys=True) == stored


def test_a_member_said_by_the_surname_is_the_one_the_roll_call_lists() -> None:
    """ "El concejal Tenorio se retira del recinto" after the call listed Mauricio Alberto Tenorio
    present: his row shows him left (the table had "Tenorio | Se retiró", a member of its own,
    and him present); "la concejala Duque" arriving is Valentina Duque Franco, shown late. A
    surname two members share moves neither and adds no row."""
    blocks = [
        _roll_call_block(
            presentes=["Ana Gómez", "Mauricio Alberto Tenorio", "Luis Mora", "Eva Mora"],
            ausentes=["Valentina Duque Franco"],
        ),
        _departure("a", "Tenorio", None),
        _arrival("b", "Duque", "09:32"),
        _departure("c", "Mora", "10:00"),
    ]
    assert _roll_call_rows(_build(blocks, templates=CALI_TEMPLATES)) == [
        ["Ana Gómez", "Presente"],
        ["Luis Mora", "Presente"],
        ["Eva Mora", "Presente"],
        ["Valentina Duque Franco", "Llegó tarde (9:32 a. m.)"],
        ["Mauricio Alberto Tenorio", "Se retiró"],
    ]


def test_members_said_by_the_surname_are_found_without_reading_every_list_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The members the roll calls list are gathered once and kept as they change, and a member
    said by the surname is compared only with those who share a word of the name: with 200
    members listed and 50 said by the surname, each is compared once (it was 200 times each,
    the lists read again for each arrival and departure: quadratic in the session)."""
    members = [f"Nombre{i} Apellido{i}" for i in range(200)]
    blocks = [_roll_call_block(ausentes=members)]
    blocks += [_arrival(f"a{i}", f"Apellido{i}", "09:30") for i in range(0, 100, 2)]
    compared = [0]
    real = docx_builder._same_person

    def counted(a: str, b: str) -> bool:
        compared[0] += 1
        return real(a, b)

    monkeypatch.setattr(docx_builder, "_same_person", counted)
    rows = _roll_call_rows(_build(blocks, templates=CALI_TEMPLATES))
    assert compared == [50]
    assert len(rows) == 200
    assert ["Nombre2 Apellido2", "Llegó tarde (9:30 a. m.)"] in rows
    assert ["Nombre3 Apellido3", "Ausente"] in rows


def test_names_offices_and_votes_fold_accents_one_way() -> None:
    """The builder compares what was said with what is written through one accent folding
    (ü and ñ too, as the console's draft.js): "Núñez" said "Nunez" is one voter in a list read
    over two blocks, an agenda item with "Niñez" read "ninez" is found (the three helpers folded
    ñ and ü differently: _fold neither, _fold_same_length not ñ)."""
    assert docx_builder._fold("Güiza Núñez") == docx_builder._fold("Guiza Nunez") == "guiza_nunez"
    assert docx_builder._fold_same_length("Niñez PÜBLICA") == "ninez publica"
    assert docx_builder._words("Ana Núñez Güiza") == ["ana", "nunez", "guiza"]
    assert docx_builder._listed_members({"votos": [{"nombre": "Ana Núñez"}]}) == docx_builder._listed_members(
        {"votos": [{"nombre": "Ana Nunez"}]}
    )


def test_a_member_leaving_after_a_second_call_changes_only_that_call() -> None:
    """A first call without quorum had Jhon Montaño absent, the second present; he leaves at
    9:40: the second call shows him left, the first keeps him absent (as said then)."""
    blocks = [
        {**_roll_call_block(presentes=["Ana Gómez"], ausentes=["Jhon Montaño"]), "block_id": "r1"},
        {**_roll_call_block(presentes=["Ana Gómez", "Jhon Montaño"]), "block_id": "r2"},
        _departure("c", "Jhon Montaño", "09:40"),
    ]
    assert _all_roll_call_rows(_build(blocks, templates=CALI_TEMPLATES)) == [
        [["Ana Gómez", "Presente"], ["Jhon Montaño", "Ausente"]],
        [["Ana Gómez", "Presente"], ["Jhon Montaño", "Se retiró (9:40 a. m.)"]],
    ]


def test_a_member_arriving_late_and_leaving_is_shown_left() -> None:
    """Absent at the roll call, arrived at 10:05, left at 11:00: shown left, once."""
    blocks = [
        _roll_call_block(presentes=["Ana Gómez"], ausentes=["Luis Mora"]),
        _arrival("a", "Luis Mora", "10:05"),
        _departure("c", "Luis Mora", "11:00"),
    ]
    assert _roll_call_rows(_build(blocks)) == [
        ["Ana Gómez", "Presente"],
        ["Luis Mora", "Se retiró (11:00 a. m.)"],
    ]


def test_an_arrival_after_two_calls_shows_in_the_last_that_listed_the_member() -> None:
    """Pedro Gil did not answer the first call (no quorum) nor the second; he arrives at 9:40:
    the second call shows him "Llegó tarde (9:40 a. m.)" and the first keeps him absent, as
    said then (he was shown late in the first call and was missing from the second)."""
    blocks = [
        {**_roll_call_block(presentes=["Ana Gómez"], ausentes=["Pedro Gil"]), "block_id": "r1"},
        {**_roll_call_block(presentes=["Ana Gómez", "Luis Mora"], ausentes=["Pedro Gil"]), "block_id": "r2"},
        _arrival("c", "Pedro Gil", "09:40"),
    ]
    assert _all_roll_call_rows(_build(blocks, templates=CALI_TEMPLATES)) == [
        [["Ana Gómez", "Presente"], ["Pedro Gil", "Ausente"]],
        [["Ana Gómez", "Presente"], ["Luis Mora", "Presente"], ["Pedro Gil", "Llegó tarde (9:40 a. m.)"]],
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_member_who_leaves_and_comes_back_is_shown_both(templates: dict[str, Any] | None) -> None:
    """Luis Mora leaves at 9:40 and comes back at 10:15; Eva Mora leaves at 10:00, comes back
    (no time said, then said again at 10:30) and leaves again at 11:00: the roll call shows each
    step (it showed only "Se retiró", as if they never came back)."""
    blocks = [
        _roll_call_block(presentes=["Ana Gómez", "Luis Mora", "Eva Mora"]),
        _departure("a", "Luis Mora", "09:40"),
        _departure("b", "Eva Mora", "10:00"),
        _arrival("c", "Luis Mora", "10:15"),
        _block(
            "d", "ZONE_DEBATE", "Regresa la concejala Eva Mora.", structured_data={"llegadas": ["Eva Mora"]}
        ),
        _arrival("e", "Eva Mora", "10:30"),
        _departure("f", "Eva Mora", "11:00"),
    ]
    assert _roll_call_rows(_build(blocks, templates=templates)) == [
        ["Ana Gómez", "Presente"],
        ["Luis Mora", "Se retiró (9:40 a. m.) y regresó (10:15 a. m.)"],
        ["Eva Mora", "Se retiró (10:00 a. m.), regresó (10:30 a. m.) y se retiró (11:00 a. m.)"],
    ]


def test_a_tenant_word_for_coming_back_is_used() -> None:
    """A tenant's labels for leaving and coming back are used, the later one in lower case."""
    templates = {
        "TPL_LLAMADO_LISTA": [
            {"table": "roll_call", "labels": {"retirados": "Retirado", "regreso": "Reintegrado"}}
        ]
    }
    blocks = [
        _roll_call_block(presentes=["Luis Mora"]),
        _departure("a", "Luis Mora", None),
        _arrival("b", "Luis Mora", "10:15"),
    ]
    assert _roll_call_rows(_build(blocks, templates=templates)) == [
        ["Luis Mora", "Retirado y reintegrado (10:15 a. m.)"]
    ]


def test_a_member_leaving_does_not_override_a_roll_call_a_person_edited() -> None:
    """A human edit wins: a roll call a person edited keeps the member present."""
    edited = {**_roll_call_block(presentes=["Ana Gómez", "Jhon Montaño"]), "human_edited": True}
    assert _all_roll_call_rows(_build([edited, _departure("c", "Jhon Montaño", "09:40")])) == [
        [["Ana Gómez", "Presente"], ["Jhon Montaño", "Presente"]]
    ]


@pytest.mark.parametrize("templates", [None, CALI_TEMPLATES], ids=["built-in", "cali"])
def test_a_recess_is_recorded_with_its_times_where_it_happened(templates: dict[str, Any] | None) -> None:
    """The session suspended at 10:40 during a bill and resumed at 10:58: the words as said, in
    the bill, then "Receso: de 10:40 a. m. a 10:58 a. m." after the resumption; a suspension no
    resumption follows is recorded with its own time. The stored blocks are not changed."""
    suspended = "Siendo las diez y cuarenta de la mañana se suspende la sesión."
    resumed = "Siendo las diez y cincuenta y ocho de la mañana se reanuda la sesión."
    again = "Siendo las cuatro y diez se decreta un receso."
    blocks = [
        _block(
            "s",
            "ZONE_PROYECTOS",
            suspended,
            template_id="TPL_PROYECTO_ACUERDO",
            structured_data={"receso": {"inicio": "10:40"}},
        ),
        _block(
            "r",
            "ZONE_PROYECTOS",
            resumed,
            template_id="TPL_PROYECTO_ACUERDO",
            structured_data={"receso": {"fin": "10:58"}},
        ),
        _block(
            "v",
            "ZONE_VARIOS",
            again,
            template_id="TPL_VARIOS",
            structured_data={"receso": {"inicio": "16:10"}},
        ),
    ]
    stored = json.dumps(blocks, sort_keys=True)
    out = _build(blocks, templates=templates)
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_PROYECTOS"))] == [
        suspended,
        resumed,
        "Receso: de 10:40 a. m. a 10:58 a. m.",
    ]
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_VARIOS"))] == [
        again,
        "Receso: desde las 4:10 p. m.",
    ]
    assert json.dumps(blocks, sort_keys=True) == stored


def _suspended_session(resumed_on: str) -> list[dict[str, Any]]:
    """Opened on 14 October 2025, suspended at 1:10 p. m. during a bill, resumed on ``resumed_on``
    at 9:15 a. m. with a roll call, lifted at 10:20 a. m."""
    return [
        _block(
            "a",
            "HEADER_ZONE",
            "Siendo las nueve y veinte…",
            template_id="TPL_APERTURA",
            structured_data={"hora": "09:20", "fecha": "2025-10-14"},
        ),
        _block(
            "s",
            "ZONE_PROYECTOS",
            "Siendo la una y diez de la tarde se suspende la sesión y se convoca para continuarla mañana.",
            template_id="TPL_PROYECTO_ACUERDO",
            structured_data={"receso": {"inicio": "13:10"}},
        ),
        _block(
            "r",
            "ZONE_PROYECTOS",
            "Siendo las nueve y quince de la mañana… se reanuda la sesión suspendida el día de ayer.",
            template_id="TPL_PROYECTO_ACUERDO",
            structured_data={"receso": {"fin": "09:15", "fecha": resumed_on}},
        ),
        _block(
            "l",
            "ZONE_ROLLCALL",
            "…han contestado a lista quince honorables concejales, hay quórum decisorio.",
            template_id="TPL_LLAMADO_LISTA",
            structured_data={"quorum": "decisorio", "total_presentes": 15},
        ),
        _block(
            "c",
            "ZONE_CIERRE",
            "Siendo las diez y veinte de la mañana, se levanta la sesión.",
            template_id="TPL_CIERRE",
            structured_data={"hora": "10:20"},
        ),
    ]


def test_a_session_resumed_the_next_day_says_which_day_each_thing_happened() -> None:
    """Blind audit of a session suspended and continued the next day: "Receso: de 1:10 p. m. a
    9:15 a. m." read as one morning's recess; the closing "Siendo las 10:20 a. m., se levanta la
    sesión" as the opening's day, an hour after it began, before its own recess; the quorum of
    the day it was resumed, written in the roll call's section with the opening's, as the
    opening's. Each now says the day it was resumed."""
    blocks = _suspended_session("2025-10-15")
    stored = json.dumps(blocks, sort_keys=True)
    out = _build(blocks, templates=CALI_TEMPLATES)
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_PROYECTOS"))][-1] == (
        "Sesión suspendida a la 1:10 p. m. y reanudada el 15 de octubre de 2025 a las 9:15 a. m."
    )
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_CIERRE"))] == [
        "Siendo las 10:20 a. m. del 15 de octubre de 2025, se levanta la sesión."
    ]
    quorum = (
        "Quórum al reanudarse la sesión el 15 de octubre de 2025: decisorio, con 15 concejales presentes."
    )
    assert quorum in [_text(p) for p in _paragraphs(_zone(out, "ZONE_ROLLCALL"))]
    assert json.dumps(blocks, sort_keys=True) == stored


def test_a_session_resumed_on_the_day_it_opened_is_a_recess() -> None:
    """The day said when resumed is the opening's: a recess, and the closing and the quorum say
    no day; a closing that says its day keeps it."""
    blocks = _suspended_session("2025-10-14")
    out = _build(blocks, templates=CALI_TEMPLATES)
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_PROYECTOS"))][-1] == (
        "Receso: de 1:10 p. m. a 9:15 a. m."
    )
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_CIERRE"))] == [
        "Siendo las 10:20 a. m., se levanta la sesión."
    ]
    assert "Quórum: decisorio, con 15 concejales presentes." in [
        _text(p) for p in _paragraphs(_zone(out, "ZONE_ROLLCALL"))
    ]
    dated = _suspended_session("2025-10-15")
    dated[-1]["structured_data"]["fecha"] = "2025-10-16"
    out = _build(dated, templates=CALI_TEMPLATES)
    assert [_text(p) for p in _paragraphs(_zone(out, "ZONE_CIERRE"))] == [
        "Siendo las 10:20 a. m. del 16 de octubre de 2025, se levanta la sesión."
    ]


# -- review comments: low-confidence recognition, sections printed empty --------------------------


def _audio(block_id: str, zone: str, text: str, confidence: float, **extra: Any) -> dict[str, Any]:
    meta = {
        "asr_confidence": confidence,
        "audio_ref": f"audio/{block_id}.wav",
        "time_start": 1.0,
        "time_end": 4.0,
    }
    return _block(block_id, zone, text, audio_metadata=meta, source={"kind": "audio"}, **extra)


def _commented(out: bytes) -> list[tuple[str, str]]:
    """(text of the paragraph a comment starts in, the comment's text), in document order."""
    comments = {c.comment_id: c.text for c in Document(io.BytesIO(out)).comments}
    starts = _body(out).xpath("//w:commentRangeStart", namespaces=NS)
    return [(_text(s.getparent()), comments[int(s.get(f"{{{W}}}id"))]) for s in starts]


def test_low_confidence_audio_blocks_get_a_comment_until_a_person_edits_them() -> None:
    """An audio block recognized with confidence under LOW_ASR_CONFIDENCE gets a Word comment
    asking to check it against the audio; not once a person edited it, not at or above the line,
    not a typed block, and a block pending review keeps only its own comment."""
    low = docx_builder.LOW_ASR_CONFIDENCE - 0.05
    blocks = [
        _audio("a", "ZONE_DEBATE", "Tiene la palabra el concejal de los Lómez.", low),
        _audio("b", "ZONE_DEBATE", "Votaron si quince, nomos.", low, human_edited=True, edited_by="ana"),
        _audio("c", "ZONE_DEBATE", "Señor secretario, sírvase llamar a lista.", 0.97),
        _audio("d", "ZONE_DEBATE", "En el límite.", docx_builder.LOW_ASR_CONFIDENCE),
        _block("e", "ZONE_DEBATE", "Texto escrito por la relatoría."),
        _audio("f", "ZONE_DEBATE", "Sin CORE.", low, block_type="ERROR_PENDING_REVIEW", error={"code": "X"}),
        _audio("g", "ZONE_VARIOS", "Se combo capa la mañana.", 0.31),
    ]
    out = _build(blocks)
    note = "Reconocimiento de baja confianza: verificar con el audio."
    commented = _commented(out)
    assert [(p, c) for p, c in commented if c == note] == [
        ("Tiene la palabra el concejal de los Lómez.", note),
        ("Se combo capa la mañana.", note),
    ]
    assert len(commented) == 3  # and the pending block's own
    assert docx_builder.low_confidence(blocks[0]) and not docx_builder.low_confidence(blocks[1])
    # odd metadata is not low confidence
    for meta in (None, {}, {"asr_confidence": None}, {"asr_confidence": "0.1"}, {"asr_confidence": True}):
        assert not docx_builder.low_confidence({"type": "TEMPLATE", "audio_metadata": meta})


def test_a_section_printed_empty_gets_a_comment_on_its_heading() -> None:
    """A tenant with ``empty_zones`` said which sections may go when empty; one it keeps and the
    session left empty is printed as a bare heading: a Word comment on the heading tells the
    reviewer. Sections left out, or saying the tenant's sentence, get none; nor does a tenant
    without ``empty_zones`` (every empty section printed, as before)."""
    empty_zones = {"ZONE_PRIOR_ACTAS": None, "ZONE_PROYECTOS": None, "ZONE_VARIOS": "No se presentaron."}
    filled = ("HEADER_ZONE", "ZONE_DEBATE")
    blocks = [_block("h", "HEADER_ZONE", "Siendo las nueve."), _block("d", "ZONE_DEBATE", "Hola.")]
    out = _build(blocks, empty_zones=empty_zones)
    note = "Sección sin contenido en la sesión grabada."
    printed_empty = [z for z in ZONES if z not in (*filled, *empty_zones, "SIGNATURE_BLOCK")]
    assert _commented(out) == [(HEADINGS[z], note) for z in printed_empty]
    for zone in printed_empty:  # the zone itself is as before: one empty paragraph
        assert [_text(p) for p in _paragraphs(_zone(out, zone))] == [""]
    assert not Document(io.BytesIO(_build(blocks))).comments


def _many_roll_calls(calls: int) -> list[dict[str, Any]]:
    """A long session: ``calls`` roll calls of 21 members (some absent, excused, late or gone,
    some edited by a person), each followed by arrivals, departures, returns, excuses said on
    their own and members said by part of the name; built by arithmetic, the same every run."""
    surnames = ("Ruiz", "Mora", "Paz", "Díaz", "Gómez", "Tenorio", "Lozano")
    members = [f"{first} {last}" for first in ("Ana", "Luis", "Eva") for last in surnames]
    states = ("presentes", "presentes", "presentes", "ausentes", "excusados", "tarde", "retirados")
    blocks: list[dict[str, Any]] = []
    for c in range(calls):
        lists: dict[str, list[Any]] = {}
        for m, name in enumerate(members):
            member: Any = {"nombre": name, "hora": f"09:{(c + m) % 60:02d}"} if (c * m) % 5 == 1 else name
            lists.setdefault(states[(c * 3 + m * 5) % len(states)], []).append(member)
        call: dict[str, Any] = {"template_id": "TPL_LLAMADO_LISTA", "structured_data": lists}
        if c % 9 == 4:
            call["human_edited"] = True
        blocks.append(call)
        for e in range(3):
            name = members[(c * 7 + e * 11) % len(members)]
            said = name.split()[1] if (c + e) % 4 == 0 else name  # "el concejal Mora"
            data: dict[str, Any] = (
                {"excusados": [name]}
                if (c + e) % 6 == 5
                else {
                    ("llegadas", "salidas")[(c + e) % 2]: [{"nombre": said, "hora": f"10:{(c * e) % 60:02d}"}]
                }
            )
            template = "TPL_LLAMADO_LISTA" if "excusados" in data else "TPL_DEBATE"
            blocks.append({"template_id": template, "structured_data": data})
    return [{**b, "block_id": f"b{i}"} for i, b in enumerate(blocks)]


def test_attendance_after_many_roll_calls_is_as_it_was() -> None:
    """Arrivals, departures and excuses shown in a session of 140 roll calls give the roll calls
    the quadratic version gave (their digest, pinned when each arrival read every roll call's
    lists); the work now grows with the events, not with events times roll calls."""
    shown = docx_builder._with_arrivals(_many_roll_calls(140))
    digest = hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()
    assert digest == "631f31a29a959a66783edd4c7da715f8e8bc3c2b74f3d47fd1ff5efafe55438c"


@pytest.mark.parametrize("qualifier", ["", *offices.HEAD_QUALIFIERS])
@pytest.mark.parametrize("scope", ["", *offices.OFFICE_SCOPES])
def test_the_classifier_and_the_builder_read_an_office_alike(scope: str, qualifier: str) -> None:
    """One vocabulary (:mod:`server.services.offices`) for both: "la personera distrital" is the
    personero for the classifier's speaker and for the builder's office said; "la personera
    delegada", "el contralor municipal (e)" are another official, or the holder for a time."""
    for word, role in offices.ONE_HOLDER_OFFICES.items():
        office = " ".join(w for w in (word, scope, qualifier) if w)
        said = classify(f"Tiene la palabra la {office}, doctora Ana Ruiz.", {}, "TPL_DEBATE").structured_data
        expected = None if qualifier else role
        assert docx_builder._one_holder_role(office) == expected
        assert (said.get("rol") == role) == (expected is not None), (office, said)


def test_a_reading_cut_in_pieces_is_written_whole_only_while_its_words_are_what_core_read() -> None:
    """Pieces of a reading cut at the segmenter's maximum length, the last carrying CORE's reading
    of them all, are one block with the reading's facts; a piece a person edited, a reading whose
    words are no longer the pieces' (a piece re-processed), a piece deleted: the pieces that no
    longer match stand alone, with their own facts."""
    from server.services.docx_builder import _readings_joined

    def piece(n: int, text: str, reading: str | None = None, **extra: Any) -> dict[str, Any]:
        block: dict[str, Any] = {
            "block_id": f"b{n}",
            "type": "TEMPLATE",
            "template_id": "TPL_LLAMADO_LISTA",
            "text": text,
            "structured_data": {"piece": n},
            "audio_metadata": {"time_start": n, "time_end": n + 1, "asr_confidence": 0.9 - n / 10},
            **extra,
        }
        if n:
            block["audio_metadata"]["continues_previous"] = True
        if reading is not None:
            block["reading"] = {"head": "b0", "text": reading, "structured_data": {"whole": n}}
        return block

    run = [piece(0, "Ana,"), piece(1, "Pedro,", "Ana, Pedro,"), piece(2, "Luis.", "Ana, Pedro, Luis.")]
    (whole,) = _readings_joined(run)
    assert whole["block_id"] == "b0" and whole["text"] == "Ana, Pedro, Luis."
    assert whole["structured_data"] == {"whole": 2}
    assert whole["audio_metadata"]["time_end"] == 3 and whole["audio_metadata"]["asr_confidence"] == 0.7
    other = {**piece(3, "Siguiente punto."), "template_id": "TPL_VARIOS"}
    assert [b["block_id"] for b in _readings_joined([*run, other])] == ["b0", "b3"]

    edited = [run[0], {**run[1], "human_edited": True}, run[2]]
    assert [b["structured_data"] for b in _readings_joined(edited)] == [
        {"piece": 0},
        {"piece": 1},
        {"piece": 2},
    ]
    changed = [run[0], run[1], {**run[2], "text": "Luis Castillo."}]
    assert [(b["text"], b["structured_data"]) for b in _readings_joined(changed)] == [
        ("Ana, Pedro,", {"whole": 1}),
        ("Luis Castillo.", {"piece": 2}),
    ]
    deleted = [run[0], {**run[1], "deleted": True}, run[2]]
    assert [b["block_id"] for b in _readings_joined(deleted)] == ["b0", "b1", "b2"]
    assert _readings_joined([run[1], run[2]]) == [run[1], run[2]]  # its head is not there


HEARD = "Siendo las nueve de la mañana se abre la sesión ordinaria."
ADDED = "Se deja constancia de que el recinto fue evacuado."
FIXED = "Siendo las diez de la mañana se abre la sesión ordinaria."
SUMMARY = "Siendo las 10:00 a. m., se dio inicio a la sesión ordinaria del Concejo."


@pytest.mark.parametrize(
    ("block", "added"),
    [
        # a sentence added to what the machine heard
        ({"text": f"{HEARD} {ADDED}", "machine": {"text": HEARD}}, ADDED),
        # the heard sentence corrected in place: its facts are in the summary (here the summary
        # carries under half of its words: only the comparison with what was heard tells)
        ({"text": FIXED, "machine": {"text": HEARD}}, ""),
        ({"text": "Votaron sí doce, no cinco.", "machine": {"text": "Votaron sí quince, no mos."}}, ""),
        # a sentence rewritten whole is the person's: written after the summary
        (
            {"text": "El presidente declara abierta la sesión a las 9:10.", "machine": {"text": HEARD}},
            "El presidente declara abierta la sesión a las 9:10.",
        ),
        # corrected in place, and with words of its own the summary has none of (review: the
        # broadcast was lost): written as the person wrote it
        (
            {"text": f"{HEARD[:-1]} con transmisión por el canal Telepacífico.", "machine": {"text": HEARD}},
            f"{HEARD[:-1]} con transmisión por el canal Telepacífico.",
        ),
        # words put in the place of misheard ones are corrections, whose facts the summary has
        (
            {
                "text": "Hoy martes se abre la sexta sesión extraordinaria.",
                "machine": {"text": "Hoy jueves se abre la quinta sesión extraordinaria."},
            },
            "",
        ),
        (
            {
                "text": "Se votan el artículo quinto y el sexto.",
                "machine": {"text": "Se votan el artículo cinto y el sesto."},
            },
            "",
        ),
        # a sentence the rendering carries (a template writing the text as said)
        ({"text": SUMMARY, "machine": {"text": "Buenos días."}}, ""),
        # a denial the heard sentence lacks, though the rendering has most of its words: written
        (
            {"text": f"{HEARD} La sesión ordinaria no fue transmitida.", "machine": {"text": HEARD}},
            "La sesión ordinaria no fue transmitida.",
        ),
        # "No." for número, "sin embargo": no denial (review: both were written a second time)
        (
            {
                "text": f"{HEARD} El acta No. 12 fue aprobada.",
                "machine": {"text": f"{HEARD} El acta número doce fue aprobada."},
            },
            "",
        ),
        (
            {
                "text": "Sin embargo, se abre la sesión ordinaria.",
                "machine": {"text": "Se abre la sesión ordinaria."},
            },
            "",
        ),
        # "a. m." ends no sentence; nothing changed; written by hand (no machine text)
        ({"text": "Siendo las 9 a. m. se abre la sesión.", "machine": {"text": "Siendo las 9 a. m."}}, ""),
        ({"text": HEARD, "machine": {"text": HEARD}}, ""),
        ({"text": ADDED}, ""),
    ],
)
def test_the_sentences_a_person_added_to_a_summed_up_block(block: dict[str, Any], added: str) -> None:
    """:func:`docx_builder.added_by_hand`: what a stenographer added to the machine's words that
    the block's rendering (here SUMMARY) does not carry, and nothing for a block nobody edited."""
    assert docx_builder.added_by_hand({**block, "human_edited": True}, SUMMARY) == added
    assert docx_builder.added_by_hand(block, SUMMARY) == ""


def test_a_denial_the_rendering_writes_as_written_is_not_written_again() -> None:
    """Review: a template that writes the text as said (an intervention) carries a corrected
    denial ("…no hay cuarenta familias…") word for word: it is not written a second time."""
    said = "Informo que en La Buitrera no hay cuarenta familias damnificadas."
    heard = "Informo que en La Buitrera hay cuarenta familias damnificadas."
    written = f"JORGE RAMÍREZ (concejal): Gracias, presidente. {said}"
    block = {"text": f"Gracias, presidente. {said}", "machine": {"text": heard}, "human_edited": True}
    assert docx_builder.added_by_hand(block, written) == ""
    assert docx_builder.added_by_hand(block, written.replace(" no hay", " hay")) == said

"""Generate the demo tenant's acta skeleton (``SKEL_STD_V1.docx``) for CONCEJO_CALI.

The skeleton is an A4 document with a letterhead, a header and a footer, a fixed section heading
(style ``Estilo_Cali``) before each zone, and one block-level content control (``w:sdt``) per
zone, tagged with the zone name and holding a ``[[ZONE_NAME]]`` placeholder paragraph. It also
defines the tenant's styles (paragraph, character and table styles) that the style map refers to.

Run from the project root::

    .venv/bin/python tools/make_skeleton.py [output.docx]

The output is deterministic: same XML content, and the zip entries are written with a fixed
timestamp, so regenerating it gives byte-identical files for a given python-docx/zlib version.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import (
    WD_ALIGN_PARAGRAPH,
    WD_COLOR_INDEX,
)
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "skeletons" / "SKEL_STD_V1.docx"

FONT = "Arial"
LANG = "es-CO"
FIXED_DATE = dt.datetime(2024, 1, 1, 0, 0, 0)
ZIP_DATE = (2024, 1, 1, 0, 0, 0)

LETTERHEAD = ("CONCEJO DISTRITAL DE SANTIAGO DE CALI", "ACTA DE SESIÓN PLENARIA")
HEADER_TEXT = "Concejo Distrital de Santiago de Cali — Acta"

# (zone tag, alias shown in Word, section heading before the zone or None)
ZONES: tuple[tuple[str, str, str | None], ...] = (
    ("HEADER_ZONE", "Encabezado y apertura", None),
    ("ZONE_AGENDA", "Orden del día", "ORDEN DEL DÍA"),
    ("ZONE_ROLLCALL", "Llamado a lista", "LLAMADO A LISTA Y VERIFICACIÓN DEL QUÓRUM"),
    ("ZONE_AGENDA_APPROVAL", "Aprobación del orden del día", "APROBACIÓN DEL ORDEN DEL DÍA"),
    ("ZONE_PRIOR_ACTAS", "Actas anteriores", "APROBACIÓN DE ACTAS ANTERIORES"),
    ("ZONE_DEBATE", "Desarrollo de la sesión", "DESARROLLO DE LA SESIÓN"),
    ("ZONE_PROYECTOS", "Proyectos de acuerdo", "PROYECTOS DE ACUERDO"),
    ("ZONE_PROPOSICIONES", "Proposiciones", "PROPOSICIONES"),
    ("ZONE_COMUNICACIONES", "Comunicaciones", "COMUNICACIONES"),
    ("ZONE_VARIOS", "Varios", "VARIOS"),
    ("ZONE_CIERRE", "Cierre de la sesión", "CIERRE DE LA SESIÓN"),
    ("SIGNATURE_BLOCK", "Firmas", None),
)


def _set_fonts(rpr: etree._Element, size_pt: float | None = None) -> None:
    """Set Arial for every script and Spanish (Colombia) as the language on a ``w:rPr``."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = etree.SubElement(rpr, qn("w:rFonts"))
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(attr), None)
    if size_pt is not None:
        for tag in ("w:sz", "w:szCs"):
            el = rpr.find(qn(tag))
            if el is None:
                el = etree.SubElement(rpr, qn(tag))
            el.set(qn("w:val"), str(int(size_pt * 2)))


def _doc_defaults(doc: Any) -> None:
    """Arial 11 pt, Spanish (Colombia), modest spacing as the document defaults."""
    styles_el = doc.styles.element
    rpr = styles_el.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    _set_fonts(rpr, 11)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), LANG)
    lang.set(qn("w:eastAsia"), LANG)
    lang.set(qn("w:bidi"), "ar-SA")
    spacing = styles_el.find(f"{qn('w:docDefaults')}/{qn('w:pPrDefault')}/{qn('w:pPr')}/{qn('w:spacing')}")
    spacing.set(qn("w:after"), "120")
    spacing.set(qn("w:line"), "264")


def _paragraph_style(
    doc: Any,
    name: str,
    *,
    size: float,
    bold: bool = False,
    italic: bool = False,
    align: Any | None = None,
    before: float = 0,
    after: float = 6,
    color: RGBColor | None = None,
    keep_next: bool = False,
    next_style: str | None = None,
) -> Any:
    styles = doc.styles
    st = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    st.base_style = styles["Normal"]
    st.quick_style = True
    st.priority = 1
    st.font.name = FONT
    st.font.size = Pt(size)
    if bold:
        st.font.bold = True
    if italic:
        st.font.italic = True
    if color is not None:
        st.font.color.rgb = color
    pf = st.paragraph_format
    if align is not None:
        pf.alignment = align
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    pf.keep_with_next = keep_next
    if next_style is not None:
        st.next_paragraph_style = styles[next_style]
    _set_fonts(st.element.get_or_add_rPr())
    return st


def _add_styles(doc: Any) -> None:
    styles = doc.styles
    center = WD_ALIGN_PARAGRAPH.CENTER

    _paragraph_style(doc, "Texto_Acta", size=11, align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=6)
    _paragraph_style(doc, "Membrete_Acta", size=14, bold=True, align=center, after=0, next_style="Texto_Acta")
    heading = _paragraph_style(
        doc,
        "Estilo_Cali",
        size=12,
        bold=True,
        align=center,
        before=18,
        after=6,
        color=RGBColor(0x1F, 0x38, 0x64),
        keep_next=True,
        next_style="Texto_Acta",
    )
    # outline level 1 so the headings show in Word's navigation pane
    etree.SubElement(heading.element.get_or_add_pPr(), qn("w:outlineLvl")).set(qn("w:val"), "0")
    sub = _paragraph_style(
        doc,
        "Subtitulo_Acta",
        size=11,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        before=12,
        after=6,
        keep_next=True,
        next_style="Texto_Acta",
    )
    etree.SubElement(sub.element.get_or_add_pPr(), qn("w:outlineLvl")).set(qn("w:val"), "1")
    _paragraph_style(doc, "Pie_Imagen", size=9, italic=True, align=center, after=12, next_style="Texto_Acta")
    firma = _paragraph_style(doc, "Firma_Presidente", size=11, align=center, before=36, after=0)
    firma.paragraph_format.keep_together = True
    pending = _paragraph_style(
        doc,
        "Pendiente_Revision",
        size=11,
        italic=True,
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
        after=6,
        color=RGBColor(0xC0, 0x00, 0x00),
    )
    pending.font.highlight_color = WD_COLOR_INDEX.YELLOW

    orador = styles.add_style("Orador_Acta", WD_STYLE_TYPE.CHARACTER)
    orador.base_style = styles["Default Paragraph Font"]
    orador.quick_style = True
    orador.priority = 1
    orador.font.bold = True
    orador.font.name = FONT
    _set_fonts(orador.element.get_or_add_rPr())

    # Styles Word uses for comments (python-docx refers to them by id when adding comments).
    comment_ref = styles.add_style("annotation reference", WD_STYLE_TYPE.CHARACTER)
    comment_ref.element.set(qn("w:styleId"), "CommentReference")
    comment_ref.base_style = styles["Default Paragraph Font"]
    comment_ref.font.size = Pt(8)
    comment_text = styles.add_style("annotation text", WD_STYLE_TYPE.PARAGRAPH)
    comment_text.element.set(qn("w:styleId"), "CommentText")
    comment_text.base_style = styles["Normal"]
    comment_text.font.size = Pt(10)

    border = 'w:val="single" w:sz="4" w:space="0" w:color="404040"'
    styles.element.append(
        parse_xml(
            f'<w:style {nsdecls("w")} w:type="table" w:customStyle="1" w:styleId="Tabla_Acta">'
            '<w:name w:val="Tabla_Acta"/>'
            '<w:basedOn w:val="TableNormal"/>'
            '<w:uiPriority w:val="1"/><w:qFormat/>'
            '<w:pPr><w:spacing w:before="20" w:after="20" w:line="240" w:lineRule="auto"/>'
            "</w:pPr>"
            f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:cs="{FONT}" '
            f'w:eastAsia="{FONT}"/><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr>'
            "<w:tblPr>"
            "<w:tblBorders>"
            f"<w:top {border}/><w:left {border}/><w:bottom {border}/><w:right {border}/>"
            f"<w:insideH {border}/><w:insideV {border}/>"
            "</w:tblBorders>"
            '<w:tblCellMar><w:left w:w="85" w:type="dxa"/><w:right w:w="85" w:type="dxa"/>'
            "</w:tblCellMar>"
            "</w:tblPr>"
            '<w:tblStylePr w:type="firstRow">'
            "<w:rPr><w:b/><w:bCs/></w:rPr>"
            '<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="D9E2F3"/></w:tcPr>'
            "</w:tblStylePr>"
            "</w:style>"
        )
    )


def _paragraph(parent: Any, text: str, style: str) -> None:
    parent.add_paragraph(text, style=style)


def _field_run(paragraph: Any, instr: str, cached: str) -> None:
    """Append a simple field (PAGE, NUMPAGES) with a cached result to a header/footer paragraph."""
    fld = parse_xml(
        f'<w:fldSimple {nsdecls("w")} w:instr=" {instr} \\* MERGEFORMAT ">'
        f"<w:r><w:t>{cached}</w:t></w:r></w:fldSimple>"
    )
    paragraph._p.append(fld)


def _header_footer(doc: Any) -> None:
    section = doc.sections[0]
    header_p = section.header.paragraphs[0]
    header_p.text = HEADER_TEXT
    header_p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for run in header_p.runs:
        run.font.size = Pt(9)
        run.font.italic = True

    footer_p = section.footer.paragraphs[0]
    footer_p.style = doc.styles["footer"]
    footer_p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer_p.add_run("Página ")
    _field_run(footer_p, "PAGE", "1")
    footer_p._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:t xml:space="preserve"> de </w:t></w:r>'))
    _field_run(footer_p, "NUMPAGES", "1")


def _zone(doc: Any, sdt_id: int, tag: str, alias: str) -> None:
    """Append a block-level rich-text content control tagged ``tag`` to the body."""
    style = "Firma_Presidente" if tag == "SIGNATURE_BLOCK" else "Texto_Acta"
    sdt = parse_xml(
        f"<w:sdt {nsdecls('w')}>"
        "<w:sdtPr>"
        f'<w:alias w:val="{alias}"/>'
        f'<w:tag w:val="{tag}"/>'
        f'<w:id w:val="{sdt_id}"/>'
        '<w:lock w:val="sdtLocked"/>'
        "</w:sdtPr>"
        "<w:sdtContent>"
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>'
        f"<w:r><w:t>[[{tag}]]</w:t></w:r></w:p>"
        "</w:sdtContent>"
        "</w:sdt>"
    )
    body = doc.element.body
    body.sectPr.addprevious(sdt)


def build_skeleton() -> bytes:
    """Return the skeleton as DOCX bytes (zip timestamps fixed)."""
    doc = Document()
    section = doc.sections[0]
    section.page_width = Cm(21.0)
    section.page_height = Cm(29.7)
    section.top_margin = Cm(3.0)
    section.bottom_margin = Cm(2.5)
    section.left_margin = Cm(3.0)
    section.right_margin = Cm(2.0)
    section.header_distance = Cm(1.25)
    section.footer_distance = Cm(1.25)

    _doc_defaults(doc)
    _add_styles(doc)
    _header_footer(doc)

    for line in LETTERHEAD:
        _paragraph(doc, line, "Membrete_Acta")
    _paragraph(doc, "", "Texto_Acta")

    for index, (tag, alias, heading) in enumerate(ZONES, start=1):
        if heading is not None:
            _paragraph(doc, heading, "Estilo_Cali")
        elif tag == "SIGNATURE_BLOCK":
            _paragraph(doc, "", "Texto_Acta")
        # stable ids so the output does not vary between runs
        _zone(doc, 100 + index, tag, alias)
    _paragraph(doc, "", "Texto_Acta")

    props = doc.core_properties
    props.title = "Acta de sesión plenaria (esqueleto SKEL_STD_V1)"
    props.subject = "Esqueleto de acta del Concejo Distrital de Santiago de Cali"
    props.author = "ASTRA"
    props.last_modified_by = "ASTRA"
    props.comments = "Generado por tools/make_skeleton.py"
    props.keywords = "acta; concejo; Cali"
    props.language = LANG
    props.revision = 1
    props.created = FIXED_DATE
    props.modified = FIXED_DATE

    raw = io.BytesIO()
    doc.save(raw)
    return _fixed_zip(raw.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a zip with a fixed timestamp on every entry, keeping the entry order.

    The thumbnail of python-docx's default template (a picture of an unrelated blank page) is
    dropped along with its relationship and content-type entry.
    """
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename == "docProps/thumbnail.jpeg":
                continue
            content = src.read(info.filename)
            if info.filename == "_rels/.rels":
                content = _drop_thumbnail_rel(content)
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def _drop_thumbnail_rel(rels_xml: bytes) -> bytes:
    root = etree.fromstring(rels_xml)
    for rel in list(root):
        if rel.get("Target", "").endswith("thumbnail.jpeg"):
            root.remove(rel)
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    output = Path(args[0]) if args else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(build_skeleton())
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

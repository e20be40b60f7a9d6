"""Hostile uploads against a real server process: files that lie about their type, decompression
bombs, corrupt or truncated images, and file names that try to climb out of the session's object
prefix. Each is refused with a coded error (UNSUPPORTED_MEDIA 415, IMAGE_TOO_LARGE 422) or, for a
name, kept only as a sanitized label; nothing is written outside the session's prefix, nothing of
the session is lost, and every image accepted is placed in the finalized acta."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import httpx
import psutil
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from PIL import Image

from server import images
from server.errors import AstraError, InvalidInput
from server.services.objectstore import session_key

from .conftest import TENANT, ServerProcess
from .hostile import bearer, encoded, photo, server_process

pytestmark = pytest.mark.e2e


# -- files ---------------------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A 1-bit PNG of ``width``×``height`` black pixels: a few KB that decode to width×height."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    squeeze = zlib.compressobj(9)
    data = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
    )


def png_text_bomb() -> bytes:
    """A valid small PNG carrying a zTXt chunk that inflates to 64 MB."""
    good = encoded(photo(), "PNG")
    squeeze = zlib.compressobj(9)
    blob = b"".join(squeeze.compress(b"\x00" * (1 << 20)) for _ in range(64)) + squeeze.flush()
    text = png_chunk(b"zTXt", b"Comment\x00\x00" + blob)
    return good[:33] + text + good[33:]  # right after the signature and IHDR


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is patched to declare ``width``×``height``."""
    data = bytearray(encoded(photo(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_without_jfif() -> bytes:
    """A valid baseline JPEG with its JFIF APP0 segment removed (decodes, but python-docx cannot
    tell what it is, so it could never be placed in the acta)."""
    data = encoded(photo(), "JPEG")
    assert data[2:4] == b"\xff\xe0"
    (length,) = struct.unpack(">H", data[4:6])
    return data[:2] + data[4 + length :]


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("foto.png", encoded(photo(), "PNG"))
    return out.getvalue()


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>'

REFUSED: dict[str, tuple[Callable[[], bytes], int, str]] = {
    "html_named_png": (lambda: HTML, 415, "UNSUPPORTED_MEDIA"),
    "svg_named_png": (lambda: SVG, 415, "UNSUPPORTED_MEDIA"),
    "zip_named_png": (zip_file, 415, "UNSUPPORTED_MEDIA"),
    "pdf_named_png": (
        lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        415,
        "UNSUPPORTED_MEDIA",
    ),
    "gif_named_png": (lambda: encoded(photo(mode="P"), "GIF"), 415, "UNSUPPORTED_MEDIA"),
    "bmp_named_png": (lambda: encoded(photo(), "BMP"), 415, "UNSUPPORTED_MEDIA"),
    "empty_file": (lambda: b"", 415, "UNSUPPORTED_MEDIA"),
    "png_signature_then_html": (lambda: b"\x89PNG\r\n\x1a\n" + HTML, 415, "UNSUPPORTED_MEDIA"),
    "jpeg_signature_then_html": (lambda: b"\xff\xd8\xff\xe0" + HTML, 415, "UNSUPPORTED_MEDIA"),
    "truncated_png": (lambda: encoded(photo(), "PNG")[:-60], 415, "UNSUPPORTED_MEDIA"),
    "truncated_jpeg": (lambda: encoded(photo(), "JPEG")[:-200], 415, "UNSUPPORTED_MEDIA"),
    "jpeg_without_jfif_or_exif": (jpeg_without_jfif, 415, "UNSUPPORTED_MEDIA"),
    "jpeg_cmyk_adobe_without_jfif": (lambda: encoded(photo(mode="CMYK"), "JPEG"), 415, "UNSUPPORTED_MEDIA"),
    "png_text_chunk_bomb": (png_text_bomb, 415, "UNSUPPORTED_MEDIA"),
    "png_bomb_20000x20000": (lambda: png_bomb(20_000, 20_000), 422, "IMAGE_TOO_LARGE"),
    "png_7000x7000": (lambda: png_bomb(7_000, 7_000), 422, "IMAGE_TOO_LARGE"),
    "jpeg_declaring_65000x65000": (lambda: jpeg_declaring(65_000, 65_000), 422, "IMAGE_TOO_LARGE"),
    "jpeg_declaring_9000x9000": (lambda: jpeg_declaring(9_000, 9_000), 422, "IMAGE_TOO_LARGE"),
}

ACCEPTED: dict[str, Callable[[], bytes]] = {
    "png_rgb": lambda: encoded(photo(), "PNG"),
    "png_rgba": lambda: encoded(photo(mode="RGBA"), "PNG"),
    "png_palette": lambda: encoded(photo(mode="P"), "PNG"),
    "png_16bit_gray": lambda: encoded(photo(mode="I;16"), "PNG"),
    "png_1bit": lambda: encoded(photo(mode="1"), "PNG"),
    "png_interlaced": lambda: encoded(photo(), "PNG", interlace=1),
    "jpeg_rgb": lambda: encoded(photo(), "JPEG"),
    "jpeg_gray": lambda: encoded(photo(mode="L"), "JPEG"),
    "jpeg_progressive": lambda: encoded(photo(), "JPEG", progressive=True),
    "jpeg_with_exif": lambda: encoded(photo(), "JPEG", exif=Image.Exif()),
    "jpeg_multi_picture": lambda: encoded(photo(), "MPO", save_all=True, append_images=[photo(32, 24)]),
}

NAMES: dict[str, tuple[bytes, str]] = {
    "relative_traversal": (b"../../etc/passwd.png", "passwd.png"),
    "absolute_path": (b"/etc/passwd.png", "passwd.png"),
    "windows_traversal": (b"..\\..\\Windows\\System32\\evil.png", "evil.png"),
    "windows_drive": (b"C:\\evil.png", "evil.png"),
    "nul_byte": (b"foto\x00.png.html", "foto.png.html"),
    "control_characters": (b"foto\x1b[31m\x07.png", "foto[31m.png"),
    "bidi_override": ("\u202egnp.exe".encode(), "gnp.exe"),
    "dot_file": (b".htaccess", "htaccess"),
    "only_dots": (b"..", "imagen"),
    "percent_encoded_traversal": (b"%2e%2e%2f%2e%2e%2fetc.png", "%2e%2e%2f%2e%2e%2fetc.png"),
    "very_long": (b"a" * 4000 + b".png", "a" * 116 + ".png"),
}


# -- the server ----------------------------------------------------------------------------------


@dataclass
class Session:
    server: ServerProcess
    token: str
    session_id: str

    @property
    def api(self) -> str:
        return f"{self.server.url}/v1/orchestrator/session/{self.session_id}"

    @property
    def prefix(self) -> Path:
        return self.server.data_dir / "objects" / "tenants" / TENANT / "sessions" / self.session_id

    def upload(
        self, data: bytes, filename: bytes = b"foto.png", content_type: str = "image/png", **fields: str
    ) -> httpx.Response:
        """A multipart upload written by hand, so the file name goes on the wire byte for byte."""
        boundary = uuid.uuid4().hex.encode()
        body = b""
        for name, value in fields.items():
            body += (
                b"--"
                + boundary
                + b'\r\nContent-Disposition: form-data; name="'
                + name.encode()
                + b'"\r\n\r\n'
            )
            body += value.encode() + b"\r\n"
        body += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="'
        body += filename + b'"\r\nContent-Type: ' + content_type.encode() + b"\r\n\r\n" + data + b"\r\n"
        body += b"--" + boundary + b"--\r\n"
        headers = {**bearer(self.token), "content-type": f"multipart/form-data; boundary={boundary.decode()}"}
        return httpx.post(f"{self.api}/upload-asset", content=body, headers=headers, timeout=60)

    def blocks(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.api}/blocks", headers=bearer(self.token))
        assert response.status_code == 200, response.text
        blocks: list[dict[str, Any]] = response.json()["blocks"]
        return blocks


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and "redis" not in p.relative_to(root).parts}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_process(tmp_path_factory.mktemp("uploads") / "data") as proc:
        yield proc


@pytest.fixture
def session(server: ServerProcess) -> Session:
    """A new session of the demo tenant holding one text block and one image already."""
    token = server.token()
    started = httpx.post(
        f"{server.url}/v1/orchestrator/session/start", json={"tenant_id": TENANT}, headers=bearer(token)
    )
    assert started.status_code == 201, started.text
    s = Session(server, token, started.json()["session_id"])
    text = httpx.post(f"{s.api}/append", json={"text": "Se abre la sesión."}, headers=bearer(token))
    assert text.status_code == 200, text.text
    assert s.upload(encoded(photo(), "PNG"), caption="Plano inicial").status_code == 200
    return s


# -- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_hostile_file_is_refused_with_a_code_and_nothing_is_stored(case: str, session: Session) -> None:
    """A file that is not a whole, bounded PNG/JPEG the acta can hold is refused with its code,
    whatever its name and declared type say; nothing is stored and the session keeps what it had."""
    make, status, code = REFUSED[case]
    before_files, before_blocks = files_under(session.server.data_dir), session.blocks()
    response = session.upload(make(), b"foto.png", "image/png")
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["details"]["field"] == "file", error
    assert files_under(session.server.data_dir) == before_files
    assert session.blocks() == before_blocks


def test_accepted_images_are_what_their_bytes_say_and_all_reach_the_acta(session: Session) -> None:
    """PNG and JPEG in their common variants are accepted under any declared type or extension,
    typed by their bytes (not by what the client says), stored under the session's prefix only,
    and every one of them is placed in the finalized DOCX."""
    for case in sorted(ACCEPTED):
        data = ACCEPTED[case]()
        response = session.upload(data, f"{case}.html".encode(), "text/html")
        assert response.status_code == 200, (case, response.text)
        asset = response.json()["block"]["asset"]
        is_png = data.startswith(b"\x89PNG")
        assert asset["content_type"] == ("image/png" if is_png else "image/jpeg"), case
        assert asset["key"].endswith(".png" if is_png else ".jpg")
        assert asset["sha256"] == hashlib.sha256(data).hexdigest()
        assert (session.server.data_dir / "objects" / asset["key"]).read_bytes() == data
    images_in_session = [b for b in session.blocks() if b["type"] == "IMAGE"]
    assert len(images_in_session) == len(ACCEPTED) + 1
    result = httpx.post(f"{session.api}/finalize", headers=bearer(session.token), timeout=120)
    assert result.status_code == 200, result.text
    document = httpx.get(result.json()["download_url"]).content
    assert len(docx.Document(io.BytesIO(document)).inline_shapes) == len(images_in_session)


def test_file_names_are_labels_never_paths(session: Session) -> None:
    """Traversal, absolute and Windows paths, NUL and control bytes, bidi overrides, dot files and
    very long names: the upload is accepted, the name is kept only as a safe label, and the only
    file written is the asset under the session's own prefix, named by its id."""
    key_form = re.compile(rf"tenants/{TENANT}/sessions/{session.session_id}/assets/ast_[A-Za-z0-9_-]+\.png")
    data = encoded(photo(), "PNG")
    for case, (raw, expected) in sorted(NAMES.items()):
        before = files_under(session.server.data_dir)
        response = session.upload(data, raw)
        assert response.status_code == 200, (case, response.text)
        asset = response.json()["block"]["asset"]
        assert asset["filename"] == expected and asset["caption"] == expected, (case, asset["filename"])
        assert key_form.fullmatch(asset["key"]), asset["key"]
        written = files_under(session.server.data_dir) - before
        assert written == {session.server.data_dir / "objects" / asset["key"]}, (case, written)
        assert all(session.prefix in path.parents for path in written)
    result = httpx.post(f"{session.api}/finalize", headers=bearer(session.token), timeout=120)
    assert result.status_code == 200, result.text


def test_a_name_beyond_the_multipart_header_limit_is_a_coded_400(session: Session) -> None:
    """A file name longer than a multipart header line may be gets BAD_MULTIPART (a coded JSON
    error, not the parser's bare text), and nothing is stored."""
    before = files_under(session.server.data_dir)
    response = session.upload(encoded(photo(), "PNG"), b"a" * 5000 + b".png")
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_MULTIPART"
    assert files_under(session.server.data_dir) == before


def test_an_oversized_caption_is_refused(session: Session) -> None:
    """A caption longer than a text utterance may be is refused (422) before anything is stored."""
    before = files_under(session.server.data_dir)
    response = session.upload(encoded(photo(), "PNG"), caption="palabra " * 3000)
    assert response.status_code == 422 and response.json()["error"]["details"]["field"] == "caption"
    assert files_under(session.server.data_dir) == before


def loads(pid: int, package: str) -> bool:
    """Has the process mapped one of ``package``'s compiled modules (its ``.so`` files)?"""
    return any(f"/{package}/" in m.path and ".so" in m.path for m in psutil.Process(pid).memory_maps())


def test_images_and_documents_are_read_in_a_worker_process_never_in_the_server(
    session: Session,
) -> None:
    """The skeleton check at session start, the image checks (Pillow decoding, python-docx
    parsing) and finalize's build all run in the finalize worker: the server process never loads
    Pillow or lxml (python-docx's XML), which cost it 17 MB of RSS and held its GIL."""
    result = httpx.post(f"{session.api}/finalize", headers=bearer(session.token), timeout=120)
    assert result.status_code == 200, result.text
    server = session.server.process
    assert server is not None
    assert not loads(server.pid, "PIL") and not loads(server.pid, "lxml")
    workers = [child.pid for child in psutil.Process(server.pid).children()]
    assert any(loads(pid, "PIL") and loads(pid, "lxml") for pid in workers), workers


def test_object_keys_cannot_leave_the_tenant_prefix() -> None:
    """Every part of an object key is one plain segment: a tenant or session id, or a name, that
    holds a separator, a NUL or a leading dot is refused (UNSAFE_KEY), whoever builds the key."""
    assert (
        session_key(TENANT, "ses_abc", "assets", "ast_x.png")
        == f"tenants/{TENANT}/sessions/ses_abc/assets/ast_x.png"
    )
    for tenant, session_id, name in (
        ("..", "ses_abc", "a.png"),
        ("OTHER/../" + TENANT, "ses_abc", "a.png"),
        (TENANT, "../ses_other", "a.png"),
        (TENANT, "ses_abc", "../../../other/a.png"),
        (TENANT, "ses_abc", "/etc/passwd"),
        (TENANT, "ses_abc", "a\\..\\b.png"),
        (TENANT, "ses_abc", "a\x00.png"),
        (TENANT, "ses_abc", ".hidden"),
        (TENANT, "", "a.png"),
    ):
        with pytest.raises(InvalidInput) as refused:
            session_key(tenant, session_id, "assets", name)
        assert refused.value.code == "UNSAFE_KEY"


SEEDS = [ACCEPTED[name]() for name in sorted(ACCEPTED)]


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # Pillow warns about some mangled headers
@examples(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=8), st.integers(0, 8)), max_size=4
    ),
    cut=st.floats(0.05, 1.0),
)
def test_mangled_images_get_a_coded_error_or_pass(
    seed: bytes, edits: list[tuple[float, bytes, int]], cut: float
) -> None:
    """Valid images with bytes overwritten, inserted, deleted and the tail cut: each one either
    passes every check or is refused with one of the coded errors, never anything else."""
    data = bytearray(seed[: max(1, int(len(seed) * cut))])
    for where, insert, delete in edits:
        at = int(where * len(data))
        data[at : at + delete] = insert
    try:
        images.inspect_image(bytes(data), 1 << 20)
    except AstraError as exc:
        assert exc.code in ("UNSUPPORTED_MEDIA", "IMAGE_TOO_LARGE"), exc


def test_safe_filename_keeps_ordinary_names() -> None:
    """Ordinary names, accents included, are kept as they are."""
    for name in ("Plano comuna 21.png", "Acta fotográfica Nº 3.jpg", "señalización.JPEG"):
        assert images.safe_filename(name) == name

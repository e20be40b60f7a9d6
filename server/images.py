"""Uploaded images: what a file really is, whether it is safe to keep, and a safe name for it.

An upload is trusted for nothing it says about itself: neither its declared content type nor
its file name's extension. Its bytes must be a PNG or JPEG that Pillow identifies, whose
declared pixel size is within ``max_pixels`` (a decompression bomb is refused before any pixel
is decoded), that decodes completely, and that python-docx can place in the acta, so an image
accepted now can never make finalize fail later. :func:`inspect_image` is blocking CPU work: the
server runs it in a finalize worker process (:mod:`server.workers`), which alone imports Pillow
and python-docx (the server process never loads them).
"""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from .errors import InvalidInput, PayloadTooLarge, UnsupportedMedia

ACCEPTED = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg")}
"""Pillow format → (content type, extension) of the images the acta accepts."""
MAX_FILENAME_CHARS = 120
"""Longest file name kept (the extension is kept when a name is shortened)."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    content_type: str
    ext: str
    size: int
    sha256: str
    width: int
    height: int


def read_upload(fileobj: BinaryIO, *, max_bytes: int) -> bytes:
    """The uploaded file's bytes (the file is left at its start); ``PayloadTooLarge`` (TOO_LARGE,
    413) over ``max_bytes``, read no further than one byte past it."""
    data = fileobj.read(max_bytes + 1)
    fileobj.seek(0)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"file exceeds the {max_bytes} byte limit", field="file", limit=max_bytes)
    return data


def inspect_image(data: bytes, max_pixels: int) -> ImageInfo:
    """Check an uploaded file's bytes (see the module docstring).

    Raises ``UnsupportedMedia`` (UNSUPPORTED_MEDIA, 415) for anything that is not a whole
    PNG/JPEG the acta can hold, and ``InvalidInput`` with code IMAGE_TOO_LARGE (422) over
    ``max_pixels``.
    """
    from docx.image.image import Image as DocxImage  # in the worker process only (module docs)
    from PIL import Image, UnidentifiedImageError

    found = "PNG or JPEG"
    try:
        with Image.open(io.BytesIO(data), formats=list(ACCEPTED)) as image:
            # A multi-picture JPEG (MPO, e.g. from a stereo camera) is a JPEG whose first picture
            # is what a reader shows.
            found = "JPEG" if image.format == "MPO" else str(image.format)
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise _too_large(width, height, max_pixels)
            if image.format == "JPEG":
                # Decode at 1/8 scale: every byte of the entropy-coded data is still checked.
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
            kind = ACCEPTED[found]
    except Image.DecompressionBombError as exc:
        raise _too_large(0, 0, max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise _unsupported("the file is not a PNG or JPEG image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise _unsupported(f"the file is not a valid {found} image: {exc}") from exc
    try:
        embedded = DocxImage.from_blob(data)
        placeable = embedded.px_width > 0 and embedded.px_height > 0
    except Exception as exc:  # python-docx's header parsers raise assorted errors
        reason = str(exc) or "this variant is not recognised (a JPEG needs a JFIF or Exif header)"
        raise _unsupported(f"the image cannot be placed in the acta: {reason}") from exc
    if not placeable:
        raise _unsupported("the image cannot be placed in the acta: it declares no pixel size")
    return ImageInfo(kind[0], kind[1], len(data), hashlib.sha256(data).hexdigest(), width, height)


def _unsupported(message: str) -> UnsupportedMedia:
    return UnsupportedMedia(message, field="file", accepted=[ct for ct, _ in ACCEPTED.values()])


def _too_large(width: int, height: int, max_pixels: int) -> InvalidInput:
    size = f"{width}×{height} pixels" if width and height else "far too many pixels"
    return InvalidInput(
        f"the image has {size}; at most {max_pixels} pixels are accepted",
        code="IMAGE_TOO_LARGE",
        field="file",
        max_pixels=max_pixels,
    )


def safe_filename(name: str | None, default: str = "imagen") -> str:
    """A file name fit to keep and show: its last path component only, without control, format
    (e.g. bidirectional override) or surrogate characters, whitespace collapsed, no leading dots,
    at most :data:`MAX_FILENAME_CHARS` characters. It never names a place to write: object keys
    are made from ids, not from this."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        " " if ch.isspace() else ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    kept = " ".join(kept.split()).lstrip(". ").rstrip(" ")
    if len(kept) > MAX_FILENAME_CHARS:
        stem, ext = os.path.splitext(kept)
        ext = ext if len(ext) <= 10 else ""
        kept = stem[: MAX_FILENAME_CHARS - len(ext)].rstrip(". ") + ext
    return kept or default

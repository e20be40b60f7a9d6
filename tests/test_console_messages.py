"""The console's words for what the server says: every error code it can send has them."""

from __future__ import annotations

import re

from .conftest import ROOT


def server_error_codes() -> set[str]:
    """The codes the server's errors carry: each class's ``code = "…"`` and each ``code="…"``
    given to one error."""
    source = "".join(path.read_text("utf-8") for path in sorted((ROOT / "server").rglob("*.py")))
    return set(re.findall(r'\bcode = "([A-Z][A-Z_]+)"', source)) | set(
        re.findall(r'\bcode="([A-Z][A-Z_]+)"', source)
    )


def test_every_error_code_the_server_sends_has_the_console_s_spanish_words() -> None:
    """Review: a code the console had no words for was shown as the server's English message
    (AUDIO_MISSING and AUDIO_UNREADABLE answering a reprocess, an upload's IMAGE_TOO_LARGE and
    UNSUPPORTED_MEDIA, CORE_CIRCUIT_OPEN, …)."""
    messages = (ROOT / "static" / "js" / "messages.js").read_text("utf-8")
    errors = messages.split("const ERRORS = {", 1)[1].split("\n};", 1)[0]
    worded = set(re.findall(r"^  ([A-Z][A-Z_]+):", errors, re.M))
    codes = server_error_codes()
    assert {"AUDIO_MISSING", "SEQ_GAP", "AUDIO_BACKLOG", "STORE_UNAVAILABLE"} <= codes  # the scan finds them
    assert sorted(codes - worded) == []

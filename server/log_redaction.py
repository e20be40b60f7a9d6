"""Signed links never reach the logs.

uvicorn's access log writes each request's path with its query string, and a signed object URL
(``/v1/objects/…?expires=…&signature=…``: the acta, a block's audio) is a credential: whoever
reads the line can fetch the object until it expires. :class:`RedactSecrets` replaces the value
of every secret query parameter with ``[redacted]`` before the line is formatted, so the path,
the method and the status stay in the log for the operator.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = ("signature", "token", "access_token")
"""Query parameters whose value is a credential (``signature`` is the object store's own)."""

_SECRET_VALUE = re.compile(r"([?&](?:" + "|".join(SECRET_PARAMS) + r")=)[^&#\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``/x?expires=1&signature=ab12`` → ``/x?expires=1&signature=[redacted]``."""
    return _SECRET_VALUE.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Redacts secret query values in a record's message and its string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install(logger_name: str = "uvicorn.access") -> None:
    """Put the filter on ``logger_name`` (once: the app may start more than once in a process)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())

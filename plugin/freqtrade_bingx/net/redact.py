"""Keeps BingX API keys, secrets and request signatures out of every log line.

ccxt logs each request's URL (signature included) and headers (``X-BX-APIKEY``) at DEBUG,
urllib3 logs signed URLs, and freqtrade attaches its handlers to the root logger, possibly
after the plugin loads. A filter on one logger misses records of its child loggers, and a
filter on a handler misses handlers added later, so :func:`install` wraps the process's
log-record factory instead: every record, from any logger, is scrubbed once when it is made,
before any handler sees it. Records that carry nothing secret are left untouched.
"""

import logging
import re
import threading
import traceback
from typing import Any


REDACTED = "<redacted>"
# Real BingX keys are 64 characters; shorter strings would make ordinary text unreadable.
_MIN_SECRET_CHARS = 8
# ``signature=<hex>``, and its URL-encoded forms ``signature%3D<hex>`` (ccxt's URL-prefix
# proxy, ``proxyUrl``, gets the signed URL encoded into its own path) and ``%253D`` (again).
_SIGNATURE = re.compile(r"(signature(?:=|%(?:25)*3D))[0-9a-f]+", re.IGNORECASE)
# The header as requests, aiohttp and ccxt print it: 'X-BX-APIKEY': 'value', X-BX-APIKEY=value.
_APIKEY_HEADER = re.compile(r"""(X-BX-APIKEY['"]?\s*[:=]\s*['"]?)[^'"\s,;&}>)]+""", re.IGNORECASE)

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_installed = False


def remember(*values: str | None) -> None:
    """Redact these values (an API key, a secret) wherever they appear from now on."""
    global _secrets
    fresh = {v for v in values if isinstance(v, str) and len(v) >= _MIN_SECRET_CHARS}
    if fresh - _secrets:
        with _lock:
            _secrets = _secrets | fresh


def redact_signatures(text: str) -> str:
    """``text`` with any ``signature=<hex>`` (or URL-encoded ``signature%3D<hex>``) made
    unreadable (ccxt's errors and debug lines quote signed URLs)."""
    return _SIGNATURE.sub(rf"\1{REDACTED}", text)


def redact(text: str) -> str:
    """``text`` without signatures, ``X-BX-APIKEY`` values or any remembered secret."""
    text = _APIKEY_HEADER.sub(rf"\1{REDACTED}", redact_signatures(text))
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub(record: logging.LogRecord) -> None:
    """Rewrite ``record`` in place if its message, traceback or stack carries a secret."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record: its handler reports it as usual
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Formatted now, as logging.Formatter would, so the text can be scrubbed too.
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text)
        if clean != text:
            # Handlers that render exc_info themselves (rich) must not see the original.
            record.exc_info, record.exc_text = None, clean
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install() -> None:
    """Scrub every log record made in this process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            scrub(record)
            return record

        logging.setLogRecordFactory(scrubbed_record)
        _installed = True

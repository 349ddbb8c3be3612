"""The plugin's cache files on disk: written whole or not at all, and distrusted when read;
and :func:`decode_json`, the one safe JSON decoding for them and for BingX's replies (the
plugin's own requests and ccxt's).

Several bots may share one data directory, and a hand or another program may edit a file.
A writer therefore writes a temporary file with a name of its own beside the target and moves
it into place in one step (``os.replace``), so a reader sees the old content or the new, never
a mix; a reader checks what it got and ignores what it cannot use, saying so once.
"""

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


logger = logging.getLogger(__name__)

# No reply or file of the plugin nests deeper than a handful of levels (a markets snapshot:
# snapshot, markets, market, info, a list, a row). A deeper one is garbled or hostile: decoded,
# it would still make any recursive reader (repr, a copy, a comparison) raise RecursionError.
MAX_JSON_DEPTH = 64

_reported: set[tuple[str, int, int]] = set()
_reported_lock = threading.Lock()


def write_json(path: Path, content: Any) -> None:
    """Write ``content`` to ``path`` as JSON, atomically.

    :raises OSError: the directory cannot be made or written (read-only, full, a file in the
        way); nothing is left behind.
    :raises TypeError, ValueError: ``content`` is not JSON; nothing was written.
    """
    text = json.dumps(content, default=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        tmp.replace(path)  # os.replace: atomic within one directory
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def read_json(path: Path) -> Any:
    """The JSON in ``path``.

    :raises OSError: it cannot be read.
    :raises ValueError: it is not JSON (or not UTF-8).
    """
    return decode_json(path.read_text(encoding="utf-8"))


def decode_json(text: str | bytes, loads: Callable[[Any], Any] = json.loads) -> Any:
    """The JSON value in ``text`` (bytes: UTF-8, -16 or -32, as ``json.loads`` detects), read
    by ``loads`` (ccxt's replies: ccxt's own parser).

    :raises ValueError: it is not JSON, not text, or nests deeper than :data:`MAX_JSON_DEPTH`
        (``json`` itself raises RecursionError for deep nesting: never passed on).
    """
    try:
        value = loads(text)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = _nests_deeper(value, MAX_JSON_DEPTH)
    if too_deep:
        raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _nests_deeper(value: Any, limit: int) -> bool:
    """True when ``value`` has containers more than ``limit`` levels deep (no recursion)."""
    level = [value]
    for _depth in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def report_unusable(path: Path, what: str, problem: str) -> None:
    """Log that ``path`` is ignored, once per version of the file (its mtime and size)."""
    try:
        stat = path.stat()
        version = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = (str(path), 0, 0)
    with _reported_lock:
        if version in _reported:
            return
        _reported.add(version)
    logger.warning("Ignoring %s %s: %s", what, path, problem)

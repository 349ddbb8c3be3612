"""The plugin's cache files on disk: written whole or not at all, and distrusted when read.

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
from pathlib import Path
from typing import Any


logger = logging.getLogger(__name__)

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
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except RecursionError as e:
        raise ValueError("JSON nested too deeply") from e


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

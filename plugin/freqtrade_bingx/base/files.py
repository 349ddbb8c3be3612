"""The plugin's cache files on disk: written whole or not at all, and distrusted when read;
and :func:`decode_json`, the one safe JSON decoding for them and for BingX's replies (the
plugin's own requests and ccxt's).

Several bots may share one data directory, and a hand or another program may edit a file.
A writer therefore writes a temporary file with a name of its own beside the target and moves
it into place in one step (``os.replace``), so a reader sees the old content or the new, never
a mix; a reader checks what it got and ignores what it cannot use, saying so once.

Files that tell others what this user trades (the account's state file: leverage per pair, bot
names, pids) are private: :func:`private_folder` and :func:`private_file`.
"""

import contextlib
import json
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson


logger = logging.getLogger(__name__)

# No reply or file of the plugin nests deeper than a handful of levels (a markets snapshot:
# snapshot, markets, market, info, a list, a row). A deeper one is garbled or hostile: decoded,
# it would still make any recursive reader (repr, a copy, a comparison) raise RecursionError.
MAX_JSON_DEPTH = 64

_reported: set[tuple[str, int, int]] = set()
_reported_lock = threading.Lock()
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


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


def save_json(path: Path, content: Any, what: str) -> bool:
    """:func:`write_json` for a cache: a failure is logged (naming ``what``), not raised; True
    when it was written."""
    try:
        write_json(path, content)
    except (OSError, TypeError, ValueError) as e:
        logger.warning("Could not write the %s %s: %s", what, path, e)
        return False
    return True


def read_json(path: Path) -> Any:
    """The JSON in ``path``.

    :raises OSError: it cannot be read.
    :raises ValueError: it is not JSON (or not UTF-8).
    """
    return decode_json(path.read_text(encoding="utf-8"))


def decode_json(text: str | bytes, loads: Callable[[Any], Any] = orjson.loads) -> Any:
    """The JSON value in ``text`` (UTF-8), read by ``loads`` (ccxt's replies: ccxt's own parser).

    orjson (a dependency of freqtrade) by default: it refuses nesting past 1024 levels by
    itself, without Python's recursion. The standard library's decoder recurses, and a reply
    nested a few thousand levels deep brings the interpreter to its recursion limit, where any
    finalizer that runs meanwhile fails too (seen as an unraisable RecursionError in the tests).
    It also refuses NaN and Infinity, which are not JSON.

    :raises ValueError: it is not JSON, not text, or nests deeper than :data:`MAX_JSON_DEPTH`
        (a recursive parser's RecursionError is never passed on).
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
        status = path.stat()
        version = (str(path), status.st_mtime_ns, status.st_size)
    except OSError:
        version = (str(path), 0, 0)
    _say_once(version, "Ignoring %s %s: %s", what, path, problem)


def private_folder(folder: Path) -> None:
    """Make ``folder`` for this user only (0700, whatever the umask; missing parents as the
    umask says). A folder that exists already keeps its permissions, as it may hold more
    than the plugin's files: if other users may open it, that is said once (the files the
    plugin keeps there are private all the same, only their names are not).

    :raises OSError: it cannot be made.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=PRIVATE_FOLDER)
    except FileExistsError:
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o077:
            _say_once(
                (str(folder), -1, -1),
                "%s is open to other users of this machine (mode %o): the plugin's files in it "
                "are private, but their names can be listed; chmod 700 it if it holds nothing "
                "else to share",
                folder,
                mode,
            )
    else:
        folder.chmod(PRIVATE_FOLDER)  # the umask may have taken the owner's bits too


def private_file(path: Path, *, create: bool = True) -> None:
    """Make ``path`` readable and writable by this user only (0600, whatever the umask):
    created so if missing (unless not ``create``), an existing one of this user's made so
    (left by an earlier version). SQLite gives a database's ``-wal`` and ``-shm`` files the
    database's permissions when it creates them, so a database made this way first keeps
    them private too.

    An existing file is changed by its path and never opened here: closing a descriptor of a
    file that SQLite has open in this process would drop SQLite's locks on it (POSIX locks
    belong to the process, sqlite.org/howtocorrupt.html, 2.2).

    :raises OSError: it cannot be made, or changed.
    """
    if create:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
        except FileExistsError:
            pass
        else:
            try:
                os.fchmod(fd, PRIVATE_FILE)  # the umask may have taken the owner's bits too
            finally:
                os.close(fd)
            return
    try:
        status = os.stat(path)  # noqa: PTH116 (as os.chmod below: one call each)
    except FileNotFoundError:
        return  # not there: SQLite makes its -wal and -shm like the database
    if stat.S_IMODE(status.st_mode) != PRIVATE_FILE and status.st_uid == os.geteuid():
        os.chmod(path, PRIVATE_FILE)  # noqa: PTH101


def _say_once(key: tuple[str, int, int], message: str, *args: Any) -> None:
    with _reported_lock:
        if key in _reported:
            return
        _reported.add(key)
    logger.warning(message, *args)

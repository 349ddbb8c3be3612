"""Account settings confirmed by any bot on this machine, so no bot trades on a stale memory.

Leverage (per symbol and position side), margin type (per symbol) and position mode are
account-wide on BingX. Each bot remembers what BingX confirmed to it, to send nothing when an
entry needs no change; once another bot on the same account sets a different value, that memory
is wrong. So each confirmation is also written here, in the account's state file (the same one
as :mod:`freqtrade_bingx.account_budget`), and a bot checks its memory against it before an
entry: a row with another value means "send it again".

Writes are compare-and-set on a version number: a bot reads the row's version before sending,
and writes its value only if no one wrote in between. Otherwise the order in which the two
requests reached BingX is unknown, and the row is marked unknown, so every bot sends its value
again before its next entry.

Only bots on this machine, using the same state folder, see each other here. A change made on
bingx.com or by a bot elsewhere is seen only with ``exchange.leverage_check:
"read_before_entry"`` (see ``exchange.py``).
"""

import logging
import math
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path


logger = logging.getLogger(__name__)

LEVERAGE = "leverage"
MARGIN_TYPE = "margin type"
POSITION_MODE = "position mode"
UNKNOWN = None  # a row's value when two bots changed it at the same moment
# How often a statement first checks that the file is still there (a removed file means the other
# bots no longer see this one): a stat per statement cost more than the statement itself.
FILE_CHECK_S = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS confirmed (
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    value TEXT,
    writer TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (kind, symbol, side)
)
"""


@dataclass(frozen=True)
class Entry:
    value: str | None  # None: unknown (two bots changed it at once)
    writer: str  # "bot_name (pid N)" of the bot that wrote it
    version: int
    mine: bool  # written by this process


class SharedSettings:
    """The ``confirmed`` table of one account's state file.

    Every method answers as if no other bot existed once the file failed (logged once): the
    bot then trusts its own memory, as a single bot does.
    """

    def __init__(self, path: Path, bot_name: str = "freqtrade") -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self.writer = f"{bot_name} (pid {os.getpid()}, {uuid.uuid4().hex[:6]})"
        self._conn = sqlite3.connect(
            str(path), timeout=5.0, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # No fsync on every commit (WAL's NORMAL level, as pyrate-limiter sets for the account
        # budget in the same file): a crash of a bot loses nothing, only a crash of the machine
        # can lose the last rows, and then every bot starts afresh and reads BingX's values
        # before trusting any row. An fsync per confirmed leverage cost ~200 µs a call.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()  # one connection, shared by this process's threads
        self._failed = False
        self._file_checked_at = -math.inf  # monotonic seconds

    def __repr__(self) -> str:
        return f"SharedSettings(path={str(self.path)!r})"

    def read(self, kind: str, symbol: str, side: str = "") -> Entry | None:
        """The row for the setting; None when no bot here has confirmed it (or on failure)."""
        row = self._run(
            "SELECT value, writer, version FROM confirmed WHERE kind=? AND symbol=? AND side=?",
            (kind, symbol, side),
        )
        if not row:
            return None
        value, writer, version = row[0]
        return Entry(value, writer, version, writer == self.writer)

    def version(self, kind: str, symbol: str, side: str = "") -> int:
        entry = self.read(kind, symbol, side)
        return entry.version if entry else 0

    def confirm(self, kind: str, symbol: str, side: str, value: object, seen_version: int) -> bool:
        """Record ``value`` as confirmed by BingX, unless another bot wrote after
        ``seen_version`` (read before sending): then mark it unknown and return False."""
        if self._failed:
            return True
        written = self._run(
            "INSERT INTO confirmed (kind, symbol, side, value, writer, version) "
            "VALUES (?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (kind, symbol, side) DO UPDATE SET value=excluded.value, "
            "writer=excluded.writer, version=version+1 WHERE version=?",
            (kind, symbol, side, str(value), self.writer, seen_version),
            rowcount=True,
        )
        if written or self._failed:
            return True
        self._run(
            "UPDATE confirmed SET value=NULL, writer=?, version=version+1 "
            "WHERE kind=? AND symbol=? AND side=?",
            (self.writer, kind, symbol, side),
        )
        return False

    def forget(self, kind: str, symbol: str, side: str = "") -> None:
        """Mark the setting unknown for every bot (this one did not learn what BingX holds).

        A missing row is written as unknown too: another bot may remember a value it read.
        """
        self._run(
            "INSERT INTO confirmed (kind, symbol, side, value, writer, version) "
            "VALUES (?, ?, ?, NULL, ?, 1) "
            "ON CONFLICT (kind, symbol, side) DO UPDATE SET value=NULL, "
            "writer=excluded.writer, version=version+1",
            (kind, symbol, side, self.writer),
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _run(self, sql: str, args: tuple, *, rowcount: bool = False):
        if self._failed:
            return None
        try:
            self._check_file()
            with self._lock:
                cursor = self._conn.execute(sql, args)
                result = cursor.rowcount if rowcount else cursor.fetchall()
                cursor.close()
                return result
        except (OSError, sqlite3.Error) as e:
            self._failed = True
            logger.warning(
                "BingX settings confirmed by other bots on this account can no longer be seen: "
                "%s failed (%s). This bot trusts its own memory from now on: a leverage another "
                "bot changes goes unnoticed (exchange.leverage_check 'read_before_entry' does "
                "not depend on this file).",
                self.path,
                e,
            )
            return None

    def _check_file(self) -> None:
        now = time.monotonic()
        if now - self._file_checked_at < FILE_CHECK_S:
            return
        if not self.path.exists():
            raise FileNotFoundError("the file was removed")
        self._file_checked_at = now


def open_shared(path: Path, bot_name: str) -> SharedSettings | None:
    """The account's shared settings, or None (logged once) if the file cannot be used."""
    try:
        return SharedSettings(path, bot_name)
    except (OSError, sqlite3.Error) as e:
        logger.warning(
            "BingX settings cannot be shared with other bots on this account: %s (%s). A "
            "leverage another bot changes goes unnoticed by this one (see "
            "exchange.leverage_check).",
            path,
            e,
        )
        return None

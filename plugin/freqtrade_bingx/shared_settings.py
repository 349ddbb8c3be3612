"""Account settings confirmed by any bot on this machine, so no bot trades on a stale memory.

Leverage (per symbol and position side), margin type (per symbol) and position mode are
account-wide on BingX. Each bot remembers what BingX confirmed to it, to send nothing when an
entry needs no change; once another bot on the same account sets a different value, that memory
is wrong. So each confirmation is also written here, in the account's state file (the same one
as :mod:`freqtrade_bingx.account_budget`), and a bot checks its memory against it before an
entry: a row with another value means "send it again".

A bot marks the row unknown before it sends a request that may change the setting
(:meth:`SharedSettings.claim`): while the request travels, and for good if its outcome is never
known (a timeout: BingX may still have handled it), no other bot trusts its memory. The answer is
written compare-and-set on the version the claim left: only if no one wrote in between.
Otherwise the order in which the two requests reached BingX is unknown, and the row stays
unknown, so every bot sends its value again before its next entry.

If the file fails, this bot can no longer see what the others change: it then trusts no
memory of a setting, and sets it again before every entry (see ``exchange.py``).

Only bots on this machine, using the same state folder, see each other here. A change made on
bingx.com or by a bot elsewhere is seen only with ``exchange.leverage_check:
"read_before_entry"`` (see ``exchange.py``).
"""

import logging
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from freqtrade_bingx.account_budget import SQLITE_TIMEOUT_S, check_same_file, file_identity


logger = logging.getLogger(__name__)

LEVERAGE = "leverage"
MARGIN_TYPE = "margin type"
POSITION_MODE = "position mode"
UNKNOWN = None  # a row's value when two bots changed it at the same moment

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

    Once the file failed (logged once), :attr:`active` is False and every method answers as if
    no other bot existed: the caller must then trust no memory of its own (see module doc).
    """

    def __init__(self, path: Path, bot_name: str = "freqtrade") -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self.writer = f"{bot_name} (pid {os.getpid()}, {uuid.uuid4().hex[:6]})"
        self._conn = sqlite3.connect(
            str(path), timeout=SQLITE_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            self._identity = file_identity(path)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # No fsync on every commit (WAL's NORMAL level, as pyrate-limiter sets for its
            # SQLite buckets): a crash of a bot loses nothing, only a crash of the machine can
            # lose the last rows, and then every bot starts afresh and reads BingX's values
            # before trusting any row. An fsync per confirmed leverage cost ~200 µs a call.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except BaseException:
            self._conn.close()
            raise
        self._lock = threading.Lock()  # one connection, shared by this process's threads
        self._failed = False

    def __repr__(self) -> str:
        return f"SharedSettings(path={str(self.path)!r})"

    @property
    def active(self) -> bool:
        return not self._failed

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

    def claim(self, kind: str, symbol: str, side: str = "") -> int:
        """Mark the setting unknown before sending a request that may change it; returns the
        row's version to pass to :meth:`confirm` with BingX's answer (0 on failure)."""
        rows = self._run(
            "INSERT INTO confirmed (kind, symbol, side, value, writer, version) "
            "VALUES (?, ?, ?, NULL, ?, 1) "
            "ON CONFLICT (kind, symbol, side) DO UPDATE SET value=NULL, "
            "writer=excluded.writer, version=version+1 RETURNING version",
            (kind, symbol, side, self.writer),
        )
        return rows[0][0] if rows else 0

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
            check_same_file(self.path, self._identity)
            with self._lock:
                cursor = self._conn.execute(sql, args)
                result = cursor.rowcount if rowcount else cursor.fetchall()
                cursor.close()
                return result
        except (OSError, sqlite3.Error) as e:
            with self._lock:  # two threads may fail at once: one says so
                first, self._failed = not self._failed, True
            if not first:
                return None
            logger.warning(
                "BingX settings confirmed by other bots on this account can no longer be seen: "
                "%s failed (%s). This bot sets its leverage and margin type again before every "
                "entry from now on (exchange.leverage_check 'read_before_entry' reads them "
                "instead); restart it with a working exchange.account_state_dir.",
                self.path,
                e,
            )
            return None


def open_shared(path: Path, bot_name: str) -> SharedSettings | None:
    """The account's shared settings, or None (logged once) if the file cannot be used."""
    try:
        return SharedSettings(path, bot_name)
    except (OSError, sqlite3.Error) as e:
        logger.warning(
            "BingX settings cannot be shared with other bots on this account: %s (%s). This "
            "bot sets its leverage and margin type again before every entry, as it cannot see "
            "another bot change them (exchange.leverage_check 'read_before_entry' reads them "
            "instead); set exchange.account_state_dir to a writable folder.",
            path,
            e,
        )
        return None

"""Account settings confirmed by any bot on this machine, so no bot trades on a stale memory.

Leverage (per symbol and position side), margin type (per symbol) and position mode are
account-wide on BingX. Each bot remembers what BingX confirmed to it, to send nothing when an
entry needs no change; once another bot on the same account sets a different value, that memory
is wrong. So each confirmation is also written here, in the account's state file (the same one
as :mod:`freqtrade_bingx.account_budget`), and a bot checks its memory against it before an
entry: a row with another value means "send it again".

A bot marks the row unknown before it sends a request that may change the setting
(:meth:`SharedSettings.claim`): while the request travels, and for good if its outcome is never
known (a timeout: BingX may still have handled it), no other bot trusts its memory. If the mark
cannot be written (the file is busy), the request is not sent: :meth:`~SharedSettings.claim`
raises :class:`Busy`, and the caller tries again later. The answer is written compare-and-set
on the version the claim left: only if no one wrote in between. Otherwise the order in which
the two requests reached BingX is unknown, and the row stays unknown, so every bot sends its
value again before its next entry.

If the file fails (removed, replaced, corrupt, unreadable), this bot can no longer see what
the others change: it then trusts no memory of a setting, and sets it again before every entry
(see ``exchange.py``). If the file is only busy past its timeout (another bot holds its lock, a
load spike), :meth:`SharedSettings.read` raises :class:`Busy` and the bot trusts no memory for
that entry, nor for the next :data:`BUSY_PAUSE_S` (the file is left alone meanwhile, so a lock
held by a stopped bot costs no wait on every entry); then it reads the file again. A file busy
when the bot starts is opened that way too, after the pause.

Only bots on this machine, using the same state folder, see each other here. A change made on
bingx.com or by a bot elsewhere is seen only with ``exchange.leverage_check:
"read_before_entry"`` (see ``exchange.py``).
"""

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from freqtrade_bingx.account_budget import (
    BUSY_PAUSE_S,
    SQLITE_TIMEOUT_S,
    FirstWarning,
    check_same_file,
    file_identity,
    is_transient,
    prepare_state_file,
)


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


_FORGET = (
    "INSERT INTO confirmed (kind, symbol, side, value, writer, version) "
    "VALUES (?, ?, ?, NULL, ?, 1) "
    "ON CONFLICT (kind, symbol, side) DO UPDATE SET value=NULL, "
    "writer=excluded.writer, version=version+1"
)


@dataclass(frozen=True)
class Entry:
    value: str | None  # None: unknown (two bots changed it at once)
    writer: str  # "bot_name (pid N)" of the bot that wrote it
    version: int
    mine: bool  # written by this process


class Busy(Exception):
    """The shared file was busy past its timeout (or still is, see :data:`BUSY_PAUSE_S`): what
    other bots confirmed could not be read, so no memory of the setting is to be trusted."""


class SharedSettings:
    """The ``confirmed`` table of one account's state file.

    Once the file failed (logged once), :attr:`active` is False and every method answers as if
    no other bot existed: the caller must then trust no memory of its own (see module doc).
    While it is busy, :meth:`read` and :meth:`confirm` raise :class:`Busy` (see module doc).

    :param clock: monotonic seconds, for :data:`BUSY_PAUSE_S`; ``sleep`` waits (both
        injectable for tests).
    """

    def __init__(
        self,
        path: Path,
        bot_name: str = "freqtrade",
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        prepare_state_file(path)
        self.path = path
        self.writer = f"{bot_name} (pid {os.getpid()}, {uuid.uuid4().hex[:6]})"
        self._lock = threading.Lock()  # one connection, shared by this process's threads
        self._failed = False
        self._clock = clock
        self._sleep = sleep
        self._busy_until: float | None = None  # busy: the file is left alone until then
        self._busy_said = FirstWarning(logger)
        # Settings to mark unknown, after their request was sent, that the busy file did not
        # take yet (see _mark_later).
        self._unwritten: set[tuple[str, str, str]] = set()
        self._opened = False  # the table: opened later if the file was busy at first
        self._conn = sqlite3.connect(
            str(path), timeout=SQLITE_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            # The file this connection opened, taken now rather than when the table opens: a
            # file removed and created again while this bot waited for it is then noticed.
            self._identity = file_identity(path)
            self._open()
        except (OSError, sqlite3.Error) as e:
            if not is_transient(e):
                self._conn.close()
                raise
            # Busy while this bot starts: trust nothing for now, open it after the pause
            # rather than go without the other bots' rows for the whole run.
            self._busy(e)
        except BaseException:
            self._conn.close()
            raise

    def _open(self) -> None:
        self._conn.execute("PRAGMA journal_mode=WAL")
        # No fsync on every commit (WAL's NORMAL level, as pyrate-limiter sets for its SQLite
        # buckets): a crash of a bot loses nothing, only a crash of the machine can lose the
        # last rows, and then every bot starts afresh and reads BingX's values before trusting
        # any row. An fsync per confirmed leverage cost ~200 µs a call.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)
        self._opened = True

    def __repr__(self) -> str:
        return f"SharedSettings(path={str(self.path)!r})"

    @property
    def active(self) -> bool:
        return not self._failed

    def read(self, kind: str, symbol: str, side: str = "") -> Entry | None:
        """The row for the setting; None when no bot here has confirmed it (or the file failed
        for good). :class:`Busy` when the file is busy."""
        row = self._run(
            "SELECT value, writer, version FROM confirmed WHERE kind=? AND symbol=? AND side=?",
            (kind, symbol, side),
        )
        if not row:
            return None
        value, writer, version = row[0]
        return Entry(value, writer, version, writer == self.writer)

    def version(self, kind: str, symbol: str, side: str = "") -> int:
        """The row's version, 0 when there is none; :class:`Busy` when the file is busy."""
        entry = self.read(kind, symbol, side)
        return entry.version if entry else 0

    def confirm(self, kind: str, symbol: str, side: str, value: object, seen_version: int) -> bool:
        """Record ``value`` as confirmed by BingX, unless another bot wrote after
        ``seen_version`` (from :meth:`claim`, or read before sending): then mark it unknown and
        return False.

        :class:`Busy` when the file is busy: not recorded, and marked unknown once the file
        takes a statement again (another bot may have written between the claim and now).
        """
        if self._failed:
            return True
        try:
            written = self._run(
                "INSERT INTO confirmed (kind, symbol, side, value, writer, version) "
                "VALUES (?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (kind, symbol, side) DO UPDATE SET value=excluded.value, "
                "writer=excluded.writer, version=version+1 WHERE version=?",
                (kind, symbol, side, str(value), self.writer, seen_version),
                rowcount=True,
            )
        except Busy:
            self._mark_later(kind, symbol, side)
            raise
        if written or self._failed:
            return True
        self.forget(kind, symbol, side)
        return False

    def claim(self, kind: str, symbol: str, side: str = "", *, wait_s: float = 0.0) -> int:
        """Mark the setting unknown before sending a request that may change it; returns the
        row's version to pass to :meth:`confirm` with BingX's answer (0 once the file failed:
        nothing is shared then).

        :class:`Busy` when the mark could not be written within ``wait_s`` seconds (the file is
        busy; each try waits up to its timeout, and none is made during :data:`BUSY_PAUSE_S`):
        the request must not be sent, as the other bots would go on trusting the old value.
        """
        give_up = self._clock() + wait_s
        while True:
            try:
                rows = self._run(
                    "INSERT INTO confirmed (kind, symbol, side, value, writer, version) "
                    "VALUES (?, ?, ?, NULL, ?, 1) "
                    "ON CONFLICT (kind, symbol, side) DO UPDATE SET value=NULL, "
                    "writer=excluded.writer, version=version+1 RETURNING version",
                    (kind, symbol, side, self.writer),
                )
                return rows[0][0] if rows else 0
            except Busy:
                now, next_try = self._clock(), self._busy_until or 0.0
                if next_try >= give_up:
                    raise
                self._sleep(max(next_try - now, 0.0))  # no lock is held here

    def forget(self, kind: str, symbol: str, side: str = "") -> None:
        """Mark the setting unknown for every bot (this one did not learn what BingX holds).

        A missing row is written as unknown too: another bot may remember a value it read.
        While the file is busy, it is written before the next statement that gets through.
        """
        try:
            self._run(_FORGET, (kind, symbol, side, self.writer))
        except Busy:
            self._mark_later(kind, symbol, side)

    def _mark_later(self, kind: str, symbol: str, side: str) -> None:
        """After a request was sent: mark the row unknown before the next statement that gets
        through the busy file (nothing better is left: the request cannot be called back)."""
        with self._lock:
            self._unwritten.add((kind, symbol, side))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _run(self, sql: str, args: tuple, *, rowcount: bool = False):
        """The statement's rows (or row count); None once the file failed; :class:`Busy` while
        it is busy."""
        if self._failed:
            return None
        busy_until = self._busy_until
        if busy_until is not None and self._clock() < busy_until:
            raise Busy(f"{self.path} was busy less than {BUSY_PAUSE_S:g} s ago")
        try:
            check_same_file(self.path, self._identity)
            with self._lock:
                if not self._opened:
                    self._open()  # the file was busy when this bot started
                for key in sorted(self._unwritten):
                    self._conn.execute(_FORGET, (*key, self.writer)).close()
                self._unwritten.clear()
                cursor = self._conn.execute(sql, args)
                result = cursor.rowcount if rowcount else cursor.fetchall()
                cursor.close()
                return result
        except (OSError, sqlite3.Error) as e:
            if is_transient(e):
                self._busy(e)
                raise Busy(str(e)) from e
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

    def _busy(self, error: Exception) -> None:
        """The file was busy past its timeout: trust no memory for a while, keep sharing."""
        self._busy_until = self._clock() + BUSY_PAUSE_S
        self._busy_said.say(
            "BingX settings confirmed by other bots on this account could not be read: %s was "
            "busy for more than %g s (another bot holds it, or the machine is loaded: %s). For "
            "the next %g s this bot trusts no memory of its leverage and margin type, and sends "
            "no change of them (the other bots could not be told); then it tries the file again.",
            self.path,
            SQLITE_TIMEOUT_S,
            error,
            BUSY_PAUSE_S,
        )


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

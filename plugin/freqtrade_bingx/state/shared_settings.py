"""Account settings confirmed by any bot on this machine, so no bot trades on a stale memory.

Leverage (per symbol and position side), margin type (per symbol) and position mode are
account-wide on BingX. Each bot remembers what BingX confirmed to it, to send nothing when an
entry needs no change; once another bot on the same account sets a different value, that memory
is wrong. So each confirmation is also written here, in the ``confirmed`` table of the account's
state file (:mod:`freqtrade_bingx.state.state_store`), and a bot checks its memory against it
before an
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
that entry, nor for the next :data:`~freqtrade_bingx.state.state_store.BUSY_PAUSE_S` (the file is
left alone meanwhile, so a lock held by a stopped bot costs no wait on every entry); then it
reads the file again. A file busy when the bot starts is opened that way too, after the pause.

Only bots on this machine, using the same state folder, see each other here; bots on several
machines share the same rows through Redis (``exchange.account_state_url``:
:mod:`freqtrade_bingx.state.redis_store`). A change made on bingx.com is seen only with
``exchange.leverage_check: "read_before_entry"`` (see ``exchange.py``).
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

from freqtrade_bingx.state import state_store
from freqtrade_bingx.state.state_store import FirstWarning, StateStore, StoreBusy, StoreFailed


logger = logging.getLogger(__name__)

LEVERAGE = "leverage"
MARGIN_TYPE = "margin type"
POSITION_MODE = "position mode"

_READ = "SELECT value, writer, version FROM confirmed WHERE kind=? AND symbol=? AND side=?"
# A setting's row and the position mode's, in one statement: the mode decides which side's
# leverage a bot needs, and another bot may switch it.
_READ_WITH_MODE = (
    "SELECT kind, value, writer, version FROM confirmed "
    "WHERE (kind=? AND symbol=? AND side=?) OR (kind=? AND symbol='' AND side='')"
)
_CONFIRM = (
    "INSERT INTO confirmed (kind, symbol, side, value, writer, version) "
    "VALUES (?, ?, ?, ?, ?, 1) "
    "ON CONFLICT (kind, symbol, side) DO UPDATE SET value=excluded.value, "
    "writer=excluded.writer, version=version+1 WHERE version=?"
)
# Marking a setting unknown (a claim, or an answer not learnt); a claim reads the version it
# left in the same transaction (no RETURNING: SQLite's costs more than the statement).
_VERSION = "SELECT version FROM confirmed WHERE kind=? AND symbol=? AND side=?"
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


class Busy(Exception):
    """The shared file was busy past its timeout (or still is, see
    :data:`~freqtrade_bingx.state.state_store.BUSY_PAUSE_S`): what other bots confirmed could not be
    read, so no memory of the setting is to be trusted."""


# Its table in the account's state file (state_store.SCHEMA): an error of its rows fails it
# alone, not the rate budget sharing the file.
TABLE = "confirmed"


class SharedSettings:
    """The ``confirmed`` table of one account's state file.

    Once the file failed (logged once), :attr:`active` is False and every method answers as if
    no other bot existed: the caller must then trust no memory of its own (see module doc).
    While it is busy, :meth:`read` and :meth:`confirm` raise :class:`Busy` (see module doc).

    :param clock: monotonic seconds, for the busy pause (public as ``store.clock``).
    :param store: the account's store opened by its rate budget (one store per file: one busy
        pause, one failure); None: a store of its own on ``path``.
    :raises OSError, sqlite3.Error: the file cannot be made or opened (and is not only busy).
    """

    def __init__(
        self,
        path: Path,
        bot_name: str = "freqtrade",
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        store: StateStore | None = None,
    ) -> None:
        self.path = path
        self.writer = f"{bot_name} (pid {os.getpid()}, {uuid.uuid4().hex[:6]})"
        self._sleep = sleep
        self._busy_said = FirstWarning(logger)
        # Settings to mark unknown, after their request was sent, that the busy file did not
        # take yet (see _mark_later).
        self._unwritten: set[tuple[str, str, str]] = set()
        self._unwritten_lock = threading.Lock()
        if store is not None:  # the account's store, opened by its rate budget
            self.store = store
            store.tell(on_busy=self._said_busy, on_failed=self._said_failed, table=TABLE)
        else:
            self.store = StateStore(
                path, on_busy=self._said_busy, on_failed=self._said_failed, clock=clock
            )

    def __repr__(self) -> str:
        return f"SharedSettings(path={str(self.path)!r})"

    @property
    def active(self) -> bool:
        return self.store.active_for(TABLE)

    def read(self, kind: str, symbol: str, side: str = "") -> Entry | None:
        """The row for the setting; None when no bot here has confirmed it (or the file failed
        for good). :class:`Busy` when the file is busy."""
        row = self._run(
            lambda conn: conn.execute(_READ, (kind, symbol, side)).fetchone(), begin=False
        )
        if not row:
            return None
        value, writer, version = row
        return Entry(value, writer, version)

    def read_with_mode(
        self, kind: str, symbol: str, side: str
    ) -> tuple[Entry | None, Entry | None]:
        """:meth:`read` of the setting's row and of the position mode's, in one statement."""
        args = (kind, symbol, side, POSITION_MODE)
        rows = self._run(lambda conn: conn.execute(_READ_WITH_MODE, args).fetchall(), begin=False)
        found = {row[0]: Entry(*row[1:]) for row in rows or ()}
        return found.get(kind), found.get(POSITION_MODE)

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
        if not self.active:
            return True
        try:  # one transaction: recorded, or (another bot wrote meanwhile) marked unknown
            written = self._run(
                lambda conn: self.answer_row(conn, kind, symbol, side, value, seen_version)
            )
        except Busy:
            self._mark_later(kind, symbol, side)
            raise
        return written is None or written

    def claim(self, kind: str, symbol: str, side: str = "", *, wait_s: float = 0.0) -> int:
        """Mark the setting unknown before sending a request that may change it; returns the
        row's version to pass to :meth:`confirm` with BingX's answer (0 once the file failed:
        nothing is shared then).

        :class:`Busy` when the mark could not be written within ``wait_s`` seconds (the file is
        busy; each try waits up to its timeout, and none is made during the busy pause): the
        request must not be sent, as the other bots would go on trusting the old value.
        """
        store = self.store
        give_up = store.clock() + wait_s
        while True:
            try:
                # One transaction: the version read is the one this claim left.
                version = self._run(lambda conn: self.claim_row(conn, kind, symbol, side))
                return version or 0
            except Busy:
                now, next_try = store.clock(), store.busy_until
                if next_try >= give_up:
                    raise
                self._sleep(max(next_try - now, 0.0))  # no lock is held here

    def claim_row(self, conn: sqlite3.Connection, kind: str, symbol: str, side: str) -> int:
        """:meth:`claim`'s statement inside a caller's transaction on this file; the row's
        version. (Marks the busy file did not take wait for this bot's next statement of its
        own: they are about other rows.)"""
        conn.execute(_FORGET, (kind, symbol, side, self.writer)).close()
        cursor = conn.execute(_VERSION, (kind, symbol, side))
        row = cursor.fetchone()
        cursor.close()
        return int(row[0])

    def answer_row(
        self, conn: sqlite3.Connection, kind: str, symbol: str, side: str, value: object, seen: int
    ) -> bool:
        """Inside a caller's transaction: ``value`` recorded compare-and-set on ``seen`` (True),
        or, with ``value`` None or another bot's write since ``seen``, the row marked unknown."""
        if value is not None:
            cursor = conn.execute(_CONFIRM, (kind, symbol, side, str(value), self.writer, seen))
            written = cursor.rowcount > 0
            cursor.close()
            if written:
                return True
        conn.execute(_FORGET, (kind, symbol, side, self.writer)).close()
        return False

    def claim_in(self, conn: sqlite3.Connection, change: "Change") -> None:
        """``change`` claimed in the caller's transaction (its version set)."""
        change.version = self.claim_row(conn, *change.key)

    def answer_in(self, conn: sqlite3.Connection, change: "Change") -> None:
        """``change``'s answer written in the caller's transaction (``recorded`` set)."""
        if change.version is not None:
            change.recorded = self.answer_row(conn, *change.key, change.value, change.version)

    def forget(self, kind: str, symbol: str, side: str = "") -> None:
        """Mark the setting unknown for every bot (this one did not learn what BingX holds).

        A missing row is written as unknown too: another bot may remember a value it read.
        While the file is busy, it is written before the next statement that gets through.
        """
        try:
            args = (kind, symbol, side, self.writer)
            self._run(lambda conn: conn.execute(_FORGET, args).close(), begin=False)
        except Busy:
            self._mark_later(kind, symbol, side)

    def _mark_later(self, kind: str, symbol: str, side: str) -> None:
        """After a request was sent: mark the row unknown before the next statement that gets
        through the busy file (nothing better is left: the request cannot be called back)."""
        with self._unwritten_lock:
            self._unwritten.add((kind, symbol, side))

    def close(self) -> None:
        self.store.close()

    def _run(self, work, *, begin: bool = True):
        """``work`` in one transaction, after the marks the busy file did not take; None once
        the file failed; :class:`Busy` while it is busy. Without ``begin``, ``work`` is one
        statement (its own transaction, unless marks are written first)."""

        with self._unwritten_lock:
            unwritten = sorted(self._unwritten)

        def marked_first(conn: sqlite3.Connection):
            for key in unwritten:
                conn.execute(_FORGET, (*key, self.writer)).close()
            return work(conn)

        try:
            if unwritten:
                result = self.store.run(marked_first, table=TABLE)
            else:
                result = self.store.run(work, begin=begin, table=TABLE)
        except StoreBusy as e:
            raise Busy(str(e)) from None
        except StoreFailed:
            return None
        if unwritten:
            with self._unwritten_lock:
                self._unwritten.difference_update(unwritten)
        return result

    def _said_failed(self, error: BaseException) -> None:
        logger.warning(
            "BingX settings confirmed by other bots on this account can no longer be seen: "
            "%s failed (%s). This bot sets its leverage and margin type again before every "
            "entry from now on (exchange.leverage_check 'read_before_entry' reads them "
            "instead); restart it with a working exchange.account_state_dir.",
            self.path,
            error,
        )

    def _said_busy(self, error: BaseException) -> None:
        """The file was busy past its timeout: trust no memory for a while, keep sharing."""
        self._busy_said.say(
            "BingX settings confirmed by other bots on this account could not be read: %s was "
            "busy for more than %g s (another bot holds it, or the machine is loaded: %s). For "
            "the next %g s this bot trusts no memory of its leverage and margin type, and sends "
            "no change of them (the other bots could not be told); then it tries the file again.",
            self.path,
            state_store.SQLITE_TIMEOUT_S,
            error,
            state_store.BUSY_PAUSE_S,
        )


class Change:
    """One request that may change a setting, told to the other bots with the request's own
    statements in the account's file.

    The request pipeline (``net/pipeline.py``) writes the claim (:meth:`claim_in`) in the
    transaction that admits the request to the account's budget, and the answer
    (:meth:`answer_in`) in the one that settles its slot: a setting change costs the file no
    transaction of its own. Where the request takes no slot of the shared budget (the file busy
    or failed), each is written alone (:meth:`claim`, :meth:`write_answer`), with the same
    rules as :meth:`SharedSettings.claim` and :meth:`SharedSettings.confirm`.
    """

    def __init__(self, settings: SharedSettings, kind: str, symbol: str, side: str) -> None:
        self.settings = settings
        self.key = (kind, symbol, side)
        self.version: int | None = None  # the row's version once claimed
        self.value: object = None  # BingX's answer to record (None: unknown)
        self.recorded: bool | None = None  # once written: the answer recorded, else unknown
        self.lost = False  # the answer could not be written (busy or unreachable), not refused
        self.slot: object = None  # the request's slot, settled with the answer (pipeline)

    def claim_in(self, conn: sqlite3.Connection) -> None:
        self.settings.claim_in(conn, self)

    def claim(self) -> None:
        """The claim alone: :class:`Busy` if the file would not take it (send nothing)."""
        self.version = self.settings.claim(*self.key)

    def answer(self, value: object) -> None:
        """BingX's answer, to be recorded when the request's slot is settled (None: unknown)."""
        self.value = value

    def answer_in(self, conn: sqlite3.Connection) -> None:
        self.settings.answer_in(conn, self)

    def write_answer(self) -> None:
        """The answer alone (a file busy now: the row is marked unknown once it is free)."""
        if self.version is None:
            return  # never claimed: nothing was sent, nothing to tell
        if self.value is None:
            self.settings.forget(*self.key)
            self.recorded = False
            return
        try:
            self.recorded = self.settings.confirm(*self.key, self.value, self.version)
        except Busy:
            self.recorded = False  # said in the log; marked unknown once the file is free
            self.lost = True

    @property
    def overwritten(self) -> bool:
        """BingX's answer was refused because another bot wrote the row since the claim."""
        return self.recorded is False and self.value is not None and not self.lost


def open_shared(
    path: Path, bot_name: str, store: StateStore | None = None
) -> SharedSettings | None:
    """The account's shared settings, or None (logged once) if the file cannot be used;
    on ``store`` (the rate budget's) when given, else on a store of their own."""
    try:
        return SharedSettings(path, bot_name, store=store)
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

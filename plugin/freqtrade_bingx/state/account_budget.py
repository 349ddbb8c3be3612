"""One rate budget per BingX account, shared by every bot process on this machine.

BingX counts set-leverage, margin-type and position-mode requests per account (UID), not per
process: two bots that each keep to 2/s together send 4/s and draw 100410 blocks. The budget
is the ``stamps`` table of the account's state file (:mod:`freqtrade_bingx.state.state_store`): one
row per request let go, per endpoint. Admitting a request is one SQLite statement: add this
request's stamp unless the endpoint's last window already holds the limit. Its reply is one more
statement (the re-stamp). Waiting, and every :data:`LEAK_EVERY` requests, one transaction also
drops old stamps and those of another clock. Rows a request's caller writes before it is sent
and after its reply (a setting marked unknown, then BingX's answer: ``shared_settings.Change``)
ride in the same two transactions (``also``).

Plain SQL rather than a rate-limit library: pyrate-limiter's SQLite bucket, used before, runs
several statements per request and needs a file lock (``filelock``) around them, as it does not
run them in one transaction. Profiled, that cost 0.7 to 1.1 ms per request (four file-lock
holds, a dozen statements), most of the plugin's bookkeeping (bench/leverage_call.py, issue
17). Here a request costs two statements: one admits it (``INSERT ... WHERE NOT EXISTS``, atomic
across processes: SQLite takes its write lock for the statement), one re-stamps it. (Plus an
index look-up of the endpoint's latest stamp; SQLite's ``RETURNING``, which would have given it,
cost more than the rest of both statements.)

Counted at arrival, as BingX counts: a request is stamped :data:`IN_FLIGHT_S` into the future
while it travels (so it counts for certain whatever the trip takes), and re-stamped with the
time its reply came in (the latest it can have arrived). Another process admits a request only
while fewer than the limit of stamps lie in the last window.

The clock is ``time.monotonic``: on Linux it is ``CLOCK_MONOTONIC``, one clock for the whole
machine (seconds since boot, never stepped by NTP or a user setting the date), so stamps from
different processes, and from containers sharing the kernel, compare. A stamp no request of
this clock can carry, later than now plus :data:`IN_FLIGHT_S` and a margin, is dropped whenever
a request is admitted: an earlier boot's (dropped quietly when the file is opened), or a bot's
on another monotonic clock (a container restored from a checkpoint, another time namespace),
which would otherwise block every other bot for as long as the two clocks differ (logged once).
A bot whose clock is behind leaves stamps that look old to the others and count for nothing:
bots on different clocks do not share the budget, each keeps to its own per-process limits.

If the file cannot be opened or used, or is removed or replaced, the transport keeps its own
per-process limits from then on and says so once in the log: the bot still runs, its requests
are limited per process only. A file only busy for longer than SQLite's timeout (a load spike,
a backup, a bot paused mid-transaction) is no such failure, also when this bot starts: that
request, and those of the next :data:`~freqtrade_bingx.state.state_store.BUSY_PAUSE_S`, are limited
per process only, then the file is shared again (see :mod:`freqtrade_bingx.state.state_store`).
"""

import contextlib
import logging
import math
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from freqtrade_bingx.state import state_store
from freqtrade_bingx.state.state_store import (
    FirstWarning,
    StateStore,
    StoreBusy,
    StoreFailed,
)


logger = logging.getLogger(__name__)

# A request counts for certain until its reply, and at most this long without one: longer than
# the transport's deadline for the whole request (10 s, look-up and connecting included). A
# process killed mid-request leaves its slot taken until then.
IN_FLIGHT_S = 15.0
# A stamp later than now + IN_FLIGHT_S + this is from another clock (see the module doc).
FUTURE_MARGIN_S = 1.0
# A waiter polls the shared table at least this often: a slot held by another process's request
# in flight frees when that process settles it, which no one here is told about.
POLL_S = 0.05
WINDOW_MS = 1000
# Stamps older than a window are deleted every this many requests (and while waiting).
LEAK_EVERY = 64

_ADMIT_FULL = (
    # The stamp whose leaving the window makes room: the limit-th latest in it (none: room).
    "SELECT at FROM stamps WHERE endpoint = ? AND at > ? ORDER BY at DESC LIMIT 1 OFFSET ?"
)
_LATEST = "SELECT MAX(at) FROM stamps WHERE endpoint = ?"
# Admitting in one statement: this request's stamp, unless the limit-th latest stamp of the
# window is there (stamps of another clock, later than the bound, not counted). No RETURNING:
# SQLite's costs more than the rest of the statement (about 65 µs here, bench/leverage_call.py);
# the endpoint's latest stamp (_LATEST, an index look-up) tells whether one of another clock
# is there to drop.
_ADMIT = (
    "INSERT INTO stamps (endpoint, at, name) SELECT ?1, ?2, ?3 WHERE NOT EXISTS ("
    "SELECT 1 FROM stamps WHERE endpoint = ?1 AND at > ?4 AND at <= ?5 "
    "ORDER BY at DESC LIMIT 1 OFFSET ?6)"
)
_INSERT = "INSERT INTO stamps (endpoint, at, name) VALUES (?, ?, ?)"
_ADOPT = "INSERT OR IGNORE INTO stamps (endpoint, at, name) VALUES (?, ?, ?)"
_RESTAMP = "UPDATE stamps SET at = ? WHERE endpoint = ? AND at = ? AND name = ?"
_RELEASE = "DELETE FROM stamps WHERE endpoint = ? AND at = ? AND name = ?"
_LEAK = "DELETE FROM stamps WHERE endpoint = ? AND at < ?"
_FUTURE = "SELECT COUNT(*), MAX(at) FROM stamps WHERE endpoint = ? AND at > ?"
_DROP_FUTURE = "DELETE FROM stamps WHERE endpoint = ? AND at > ?"


class Rate(NamedTuple):
    limit: int  # requests ...
    interval: int  # ... per this many milliseconds


def _rate(per_second: float) -> Rate:
    """Whole requests per window of at least a second: BingX counts per second, so a limit of
    2.5/s is kept as 2 per second, and 0.5/s as 1 per 2 seconds."""
    capacity = max(1, int(per_second))
    return Rate(capacity, max(WINDOW_MS, math.ceil(WINDOW_MS * capacity / per_second)))


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def _endpoint(method: str, path: str) -> str:
    return f"{method} {path}"


class NoRoomInTime(Exception):
    """The account had no room for the request within the caller's bound: nothing was sent."""


class Ticket:
    """One admitted request: pass it to :meth:`AccountBudget.settle` once the reply is in."""

    __slots__ = ("at", "endpoint", "name", "settled_at")

    def __init__(self, endpoint: str, name: str, at: int) -> None:
        self.endpoint = endpoint
        self.name = name
        self.at = at  # its stamp while in flight
        self.settled_at: int | None = None  # its stamp once the reply came in


class Counting:
    """What a budget keeps in this process, whichever store counts the account's requests (this
    file, or Redis: ``state/redis_store.py``): its rates, its requests' names, its latest
    requests."""

    def __init__(
        self,
        limits: Mapping[tuple[str, str], float],
        clock_ms: Callable[[], int],
        sleep: Callable[[float], None],
    ) -> None:
        self.clock_ms = clock_ms
        self.sleep = sleep
        self._prefix = uuid.uuid4().hex[:12]  # this process's names for its requests
        self._count = 0
        self._lock = threading.Lock()  # the count only
        # This process's latest requests per endpoint (as many as its limit), for the budget
        # that takes over when this one cannot take a request (see adopt).
        self._recent: dict[str, deque[Ticket]] = {}
        # The endpoints counted here: a limit of 0 (or none at all) is not counted. Public: a
        # benchmark or a test takes an endpoint out.
        self.rates = {
            key: _rate(per_second)
            for key, per_second in limits.items()
            if per_second and math.isfinite(per_second) and per_second > 0
        }

    def _next_name(self) -> tuple[str, int]:
        """A name for this process's next request, and its number."""
        with self._lock:
            self._count += 1
            count = self._count
        return f"{self._prefix}-{count}", count

    def _remember(self, endpoint: str, rate: Rate, ticket: Ticket) -> None:
        self._recent.setdefault(endpoint, deque(maxlen=rate.limit)).append(ticket)

    def recent(self, method: str, path: str) -> list[Ticket]:
        """This process's latest requests to the endpoint admitted here (at most its limit)."""
        return list(self._recent.get(_endpoint(method, path), ()))


class AccountBudget(Counting):
    """Requests per second per endpoint, counted across every process using the same file.

    :param path: the account's state file (:func:`state_file`); None: the same budget in this
        process's memory, for a bot that shares none (see :func:`local_budget`).
    :param limits: requests per second per ``(method, path)`` (see :func:`_rate`). Processes
        with different figures for one endpoint share its rows; each keeps to its own figure.
    :param clock_ms: monotonic milliseconds shared by the processes; ``sleep`` waits (both
        injectable for tests, and public: :attr:`clock_ms`, :attr:`sleep`).
    :raises OSError, sqlite3.Error: the file cannot be made or opened (and is not only busy).
    """

    def __init__(
        self,
        path: Path | None,
        limits: Mapping[tuple[str, str], float],
        *,
        clock_ms: Callable[[], int] = _now_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(limits, clock_ms, sleep)
        self.path = path
        self._settled = threading.Condition()  # in this process's memory: a slot was settled
        self._busy_said = FirstWarning(logger)
        self._future_said = FirstWarning(logger)  # stamps of another clock were dropped
        self.store = StateStore(
            path,
            on_opened=self._drop_earlier_boot,
            on_busy=self._said_busy,
            on_failed=self._said_failed,
            clock=lambda: self.clock_ms() / 1000,
        )

    def __repr__(self) -> str:
        return f"AccountBudget(path={str(self.path)!r})"

    @property
    def active(self) -> bool:
        return self.store.active

    def acquire(
        self,
        method: str,
        path: str,
        max_wait_s: float | None = None,
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> Ticket | None:
        """Wait until the account has room for one more request on the endpoint, and take it.

        None when the endpoint has no shared limit, the shared file failed (logged once), or it
        is busy (for this request and the busy pause): the caller's own per-process limit is
        then all there is. With ``max_wait_s``, :class:`NoRoomInTime` when no room came within
        that many seconds. ``also(connection)`` runs in the transaction that takes the slot
        (not at all when None is returned): other rows the request's caller writes before it
        is sent, for the price of one transaction.
        """
        rate = self.rates.get((method, path))
        if rate is None:
            return None
        endpoint = _endpoint(method, path)
        name, count = self._next_name()
        leak = count % LEAK_EVERY == 0
        give_up_ms = None if max_wait_s is None else self.clock_ms() + max_wait_s * 1000
        while True:
            now = self.clock_ms()
            admit = self._admit_or_wait if leak else self._admit_at_once
            try:
                if leak or also:  # every so often, while waiting, or with ``also``: a transaction
                    answer = self.store.run(
                        lambda conn, now=now, admit=admit: _admitted_then(
                            admit(conn, endpoint, rate, now, name), also, conn
                        )
                    )
                else:  # the usual case: one statement
                    answer = self.store.run(
                        lambda conn, now=now: self._admit_at_once(conn, endpoint, rate, now, name),
                        begin=False,
                    )
            except (StoreBusy, StoreFailed):
                return None
            if answer > 0:
                ticket = Ticket(endpoint, name, answer)
                self._remember(endpoint, rate, ticket)
                return ticket
            if answer < 0:
                if give_up_ms is not None and now >= give_up_ms:
                    raise NoRoomInTime(f"{method} {path}: no room within {max_wait_s:g} s")
                self._wait(-answer, rate, now, give_up_ms)
            leak = True

    def _wait(self, wait_ms: int, rate: Rate, now: int, give_up_ms: float | None) -> None:
        if wait_ms > rate.interval and not self.store.shared:
            # Only a request of this process in flight holds the room: its settle wakes this
            # wait (an unsettled one is looked at again after POLL_S).
            with self._settled:
                self._settled.wait(POLL_S)
            return
        pause_ms = min(wait_ms, POLL_S * 1000) if self.store.shared else wait_ms
        if give_up_ms is not None:
            pause_ms = min(pause_ms, max(give_up_ms - now, 1))
        self.sleep(pause_ms / 1000)

    def _admit_or_wait(
        self, conn: sqlite3.Connection, endpoint: str, rate: Rate, now: int, name: str
    ) -> int:
        """In a transaction (SQLite's write lock held): stamps of another clock and old ones
        dropped; this request's stamp if admitted, else minus the milliseconds until room."""
        self._drop_future(conn, endpoint)
        conn.execute(_LEAK, (endpoint, now - rate.interval)).close()
        cursor = conn.execute(_ADMIT_FULL, (endpoint, now - rate.interval, rate.limit - 1))
        full = cursor.fetchone()
        cursor.close()
        if full is None:
            at = now + int(IN_FLIGHT_S * 1000)
            conn.execute(_INSERT, (endpoint, at, name)).close()
            return at
        return -max(int(full[0]) + rate.interval - now, 1)

    def _admit_at_once(
        self, conn: sqlite3.Connection, endpoint: str, rate: Rate, now: int, name: str
    ) -> int:
        """One statement admits (its own transaction, with SQLite's write lock from its start):
        this request's stamp if the window has room, not counting stamps of another clock; else
        0.
        Stamps of another clock found meanwhile are dropped (and said) on the same connection,
        not through the store again: the in-memory store's lock is held here and not re-entrant.
        """
        at = now + int(IN_FLIGHT_S * 1000)
        bound = self._future_bound_ms()
        args = (endpoint, at, name, now - rate.interval, bound, rate.limit - 1)
        cursor = conn.execute(_ADMIT, args)
        admitted = cursor.rowcount == 1
        cursor.close()
        if not admitted:
            return 0
        cursor = conn.execute(_LATEST, (endpoint,))
        (latest,) = cursor.fetchone()
        cursor.close()
        if int(latest) > bound:  # int(): a damaged row fails the file
            self._drop_future(conn, endpoint)
        return at

    def settle(
        self, ticket: Ticket | None, also: Callable[[sqlite3.Connection], None] | None = None
    ) -> bool:
        """The request's reply came in (or it failed): it reached BingX by now, if at all.
        ``also(connection)`` runs in the same transaction; returns whether it ran.

        Skipped while the file is busy: the stamp then counts until :data:`IN_FLIGHT_S` ran
        out, longer than needed, never shorter.
        """
        if ticket is None:
            return False
        now = self.clock_ms()
        ticket.settled_at = now
        args = (now, ticket.endpoint, ticket.at, ticket.name)

        def restamp(conn: sqlite3.Connection) -> None:
            conn.execute(_RESTAMP, args).close()
            if also is not None:
                also(conn)

        # One statement, its own transaction; with ``also``, one transaction.
        return self._freed(restamp, begin=also is not None) and also is not None

    def release(self, ticket: Ticket | None) -> None:
        """The admitted request was not sent after all (refused before sending): its slot is
        given back, for this process and the others. Skipped while the file is busy: the stamp
        then counts until :data:`IN_FLIGHT_S` ran out, longer than needed, never shorter."""
        if ticket is None:
            return
        recent = self._recent.get(ticket.endpoint)
        if recent is not None:
            with contextlib.suppress(ValueError):  # gone already (another thread's turn)
                recent.remove(ticket)  # not one of the requests that count at BingX
        args = (ticket.endpoint, ticket.at, ticket.name)
        self._freed(lambda conn: conn.execute(_RELEASE, args).close(), begin=False)

    def _freed(self, work: Callable[[sqlite3.Connection], None], *, begin: bool) -> bool:
        """A slot's stamp moved or deleted by ``work``; whether it ran (not while the file is
        busy or failed). A wait in this process's memory is woken (see :meth:`_wait`)."""
        try:
            self.store.run(work, begin=begin)
        except (StoreBusy, StoreFailed):
            return False
        if not self.store.shared:
            with self._settled:
                self._settled.notify_all()
        return True

    def adopt(self, tickets: list[Ticket]) -> None:
        """Count requests another budget admitted (this process's, taken over when the shared
        file stopped taking requests), so that no window holds more than the limit across the
        switch."""
        rows = [
            (t.endpoint, t.at if t.settled_at is None else t.settled_at, t.name) for t in tickets
        ]
        if rows:
            self.store.run(lambda conn: conn.executemany(_ADOPT, rows).close())

    def close(self) -> None:
        self.store.close()

    def _future_bound_ms(self) -> int:
        """The latest stamp a request of this clock can carry now (read with the write lock
        held: another bot's request let go while this one waited for it lies later)."""
        return self.clock_ms() + int((IN_FLIGHT_S + FUTURE_MARGIN_S) * 1000)

    def _drop_earlier_boot(self, conn: sqlite3.Connection) -> None:
        """Opening the file: stamps later than this clock's requests can carry are an earlier
        boot's (or another clock's), dropped quietly."""
        bound = self._future_bound_ms()
        for method, path in self.rates:
            conn.execute(_DROP_FUTURE, (_endpoint(method, path), bound)).close()

    def _drop_future(self, conn: sqlite3.Connection, endpoint: str) -> None:
        """With the write lock held: drop the stamps of another monotonic clock (module doc)."""
        bound = self._future_bound_ms()
        cursor = conn.execute(_LATEST, (endpoint,))
        (latest,) = cursor.fetchone()
        cursor.close()
        if latest is None or int(latest) <= bound:  # int(): a damaged row fails the file
            return
        cursor = conn.execute(_FUTURE, (endpoint, bound))
        dropped, latest = cursor.fetchone()
        cursor.close()
        conn.execute(_DROP_FUTURE, (endpoint, bound)).close()
        self._future_said.say(
            "BingX rate limits: dropped %d request stamp(s) in %s up to %.0f s ahead of "
            "this process's monotonic clock: a bot on this account runs on another clock (a "
            "container restored from a checkpoint, another time namespace). Bots on "
            "different clocks do not share the rate budget; each keeps to its own limits, "
            "and together they may exceed BingX's.",
            dropped,
            self.path,
            (int(latest) - bound) / 1000 + IN_FLIGHT_S + FUTURE_MARGIN_S,
        )

    def _said_failed(self, error: BaseException) -> None:
        logger.warning(
            "BingX rate limits are no longer shared with other bots on this account: %s "
            "failed (%s). This bot keeps to them on its own; bots on the same account may "
            "together exceed them.",
            self.path,
            error,
        )

    def _said_busy(self, error: BaseException) -> None:
        """The file was busy past its timeout: go on per process for a while, keep sharing."""
        self._busy_said.say(
            "BingX rate limits: %s was busy for more than %g s (another bot holds it, or the "
            "machine is loaded: %s). This request, and this bot's requests of the next %g s, "
            "are limited per process only; then the limits are shared again.",
            self.path,
            state_store.SQLITE_TIMEOUT_S,
            error,
            state_store.BUSY_PAUSE_S,
        )


def _admitted_then(answer: int, also: Callable[[sqlite3.Connection], None] | None, conn) -> int:
    """An admission's ``answer`` (positive: the request's stamp; see
    :meth:`AccountBudget.acquire`), after ``also`` ran on ``conn`` if it admitted the request."""
    if also is not None and answer > 0:
        also(conn)
    return answer


def local_budget(
    limits: Mapping[tuple[str, str], float],
    clock_ms: Callable[[], int] = _now_ms,
    sleep: Callable[[float], None] = time.sleep,
) -> AccountBudget:
    """The budget a bot keeps on its own, in memory: the same counting as the shared one."""
    return AccountBudget(None, limits, clock_ms=clock_ms, sleep=sleep)


def open_budget(path: Path, limits: Mapping[tuple[str, str], float]) -> AccountBudget | None:
    """The account's shared budget, or None (logged once) if its file cannot be used."""
    try:
        return AccountBudget(path, limits)
    except (OSError, sqlite3.Error) as e:
        logger.warning(
            "BingX rate limits cannot be shared with other bots on this account: %s (%s). "
            "This bot keeps to them on its own; bots on the same account may together "
            "exceed them.",
            path,
            e,
        )
        return None

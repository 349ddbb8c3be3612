"""One rate budget per BingX account, shared by every bot process on this machine.

BingX counts set-leverage, margin-type and position-mode requests per account (UID), not per
process: two bots that each keep to 2/s together send 4/s and draw 100410 blocks. The budget
lives in one SQLite file per account (see :func:`state_file`), one table per endpoint, held by
``pyrate-limiter``'s :class:`~pyrate_limiter.SQLiteBucket` with its file lock (``filelock``),
so counting and admitting a request is atomic across processes.

Counted at arrival, as BingX counts: a request is stamped in the shared table when it is let go,
moved :data:`IN_FLIGHT_S` into the future while it travels (so it counts for certain whatever
the trip takes), and re-stamped with the time its reply came in (the latest it can have
arrived). Another process admits a request only while fewer than the limit of stamps lie in the
last window.

The clock is ``time.monotonic``: on Linux it is ``CLOCK_MONOTONIC``, one clock for the whole
machine (seconds since boot, never stepped by NTP or a user setting the date), so stamps from
different processes, and from containers sharing the kernel, compare. Stamps from an earlier
boot are dropped when the file is opened.

If the file cannot be opened or used, the transport keeps its own per-process limits and says so
once in the log: the bot still runs, its requests are limited per process only.
"""

import hashlib
import logging
import math
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from filelock import Timeout as LockTimeout
from pyrate_limiter import Rate, RateItem, SQLiteBucket


logger = logging.getLogger(__name__)

# A request counts for certain until its reply, and at most this long without one: longer than
# the transport's connect timeout plus its whole-request deadline (3.05 s + 10 s). A process
# killed mid-request leaves its slot taken until then.
IN_FLIGHT_S = 15.0
# A waiter polls the shared table at least this often: a slot held by another process's request
# in flight frees when that process settles it, which no one here is told about.
POLL_S = 0.05
WINDOW_MS = 1000
# Stamps older than a window are deleted every this many requests (and while waiting).
LEAK_EVERY = 64
STATE_DIR_NAME = "freqtrade-bingx"
# How often a request first checks that the file is still there (a removed file means the other
# bots no longer see this one's requests): a stat per request cost more than its SQL.
FILE_CHECK_MS = 1000
_FAILURES = (OSError, sqlite3.Error, LockTimeout)


def account_id(api_key: str, base_url: str) -> str:
    """A name for the account behind ``api_key`` on ``base_url``; the key cannot be read back.

    The host is part of it: BingX's demo host (VST) keeps leverage and margin type apart from
    the live account's.
    """
    return hashlib.sha256(f"{base_url}\n{api_key}".encode()).hexdigest()[:20]


def default_state_dir() -> Path:
    """``$XDG_CACHE_HOME/freqtrade-bingx``, else ``~/.cache/freqtrade-bingx``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / STATE_DIR_NAME


def state_file(account: str, state_dir: str | os.PathLike | None = None) -> Path:
    """The SQLite file every process trading ``account`` on this machine shares."""
    folder = Path(state_dir) if state_dir else default_state_dir()
    return folder / f"account-{account}.sqlite"


def _rate(per_second: float) -> Rate:
    """Whole requests per window of at least a second: BingX counts per second, so a limit of
    2.5/s is kept as 2 per second, and 0.5/s as 1 per 2 seconds."""
    capacity = max(1, int(per_second))
    return Rate(capacity, max(WINDOW_MS, math.ceil(WINDOW_MS * capacity / per_second)))


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class _EndpointBucket(SQLiteBucket):
    """pyrate-limiter's SQLite bucket, plus moving one request's stamp (arrival counting).

    Its table has pyrate-limiter's columns ``name`` and ``item_timestamp``; the table name is
    built here from the plugin's own endpoint paths, never from outside input.
    """

    def restamp(self, name: str, timestamp_ms: int) -> None:
        with self.lock:
            self.conn.execute(
                f"UPDATE '{self.table}' SET item_timestamp = ? WHERE name = ?",  # noqa: S608
                (timestamp_ms, name),
            ).close()
            self.conn.commit()

    def drop_after(self, timestamp_ms: int) -> None:
        """Forget stamps later than any request of this boot can carry (an earlier boot's)."""
        with self.lock:
            self.conn.execute(
                f"DELETE FROM '{self.table}' WHERE item_timestamp > ?",  # noqa: S608
                (timestamp_ms,),
            ).close()
            self.conn.commit()


class Ticket:
    """One admitted request: pass it to :meth:`AccountBudget.settle` once the reply is in."""

    __slots__ = ("bucket", "name")

    def __init__(self, bucket: _EndpointBucket, name: str) -> None:
        self.bucket = bucket
        self.name = name


class AccountBudget:
    """Requests per second per endpoint, counted across every process using the same file.

    :param path: the account's state file (:func:`state_file`).
    :param limits: requests per second per ``(method, path)`` (see :func:`_rate`). Processes
        with different figures for one endpoint share its table; each keeps to its own figure.
    :param clock_ms: monotonic milliseconds shared by the processes; ``sleep`` waits (both
        injectable for tests).
    """

    def __init__(
        self,
        path: Path,
        limits: Mapping[tuple[str, str], float],
        *,
        clock_ms: Callable[[], int] = _now_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self._clock_ms = clock_ms
        self._sleep = sleep
        self._prefix = uuid.uuid4().hex[:12]  # this process's names for its requests
        self._count = 0
        self._lock = threading.Lock()
        self._failed = False
        self._file_checked_ms: int | None = None
        self._buckets: dict[tuple[str, str], _EndpointBucket] = {}
        boot_bound = clock_ms() + int(IN_FLIGHT_S * 1000)
        for (method, endpoint), per_second in sorted(limits.items()):
            if not per_second or not math.isfinite(per_second) or per_second <= 0:
                continue
            bucket = _EndpointBucket.init_from_file(
                [_rate(per_second)],
                table=f"rate_{method}_{endpoint.strip('/').replace('/', '_')}",
                db_path=str(path),
                use_file_lock=True,
            )
            bucket.drop_after(boot_bound)
            self._buckets[(method, endpoint)] = bucket

    def __repr__(self) -> str:
        return f"AccountBudget(path={str(self.path)!r})"

    @property
    def active(self) -> bool:
        return not self._failed

    def acquire(self, method: str, path: str) -> Ticket | None:
        """Wait until the account has room for one more request on the endpoint, and take it.

        None when the endpoint has no shared limit, or the shared file failed (logged once):
        the caller's own per-process limit is then all there is.
        """
        bucket = self._buckets.get((method, path))
        if bucket is None or self._failed:
            return None
        with self._lock:
            self._count += 1
            name = f"{self._prefix}-{self._count}"
        try:
            self._check_file()
            if self._count % LEAK_EVERY == 0:
                bucket.leak(self._clock_ms())
            while True:
                now = self._clock_ms()
                item = RateItem(name, now)
                if bucket.put(item):
                    bucket.restamp(name, now + int(IN_FLIGHT_S * 1000))
                    return Ticket(bucket, name)
                wait_ms = bucket.waiting(item)
                bucket.leak(now)
                self._sleep(min(max(wait_ms, 1) / 1000, POLL_S))
        except _FAILURES as e:
            self._fail(e)
            return None

    def settle(self, ticket: Ticket | None) -> None:
        """The request's reply came in (or it failed): it reached BingX by now, if at all."""
        if ticket is None or self._failed:
            return
        try:
            ticket.bucket.restamp(ticket.name, self._clock_ms())
        except _FAILURES as e:
            self._fail(e)

    def close(self) -> None:
        for bucket in self._buckets.values():
            bucket.close()

    def _check_file(self) -> None:
        now = self._clock_ms()
        checked = self._file_checked_ms
        if checked is not None and 0 <= now - checked < FILE_CHECK_MS:
            return
        if not self.path.exists():
            raise FileNotFoundError("the file was removed")
        self._file_checked_ms = now

    def _fail(self, error: Exception) -> None:
        if not self._failed:
            self._failed = True
            logger.warning(
                "BingX rate limits are no longer shared with other bots on this account: %s "
                "failed (%s). This bot keeps to them on its own; bots on the same account may "
                "together exceed them.",
                self.path,
                error,
            )


def open_budget(path: Path, limits: Mapping[tuple[str, str], float]) -> AccountBudget | None:
    """The account's shared budget, or None (logged once) if its file cannot be used."""
    try:
        return AccountBudget(path, limits)
    except _FAILURES as e:
        logger.warning(
            "BingX rate limits cannot be shared with other bots on this account: %s (%s). "
            "This bot keeps to them on its own; bots on the same account may together "
            "exceed them.",
            path,
            e,
        )
        return None

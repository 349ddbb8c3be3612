"""One rate budget per BingX account, shared by every bot process on this machine.

BingX counts set-leverage, margin-type and position-mode requests per account (UID), not per
process: two bots that each keep to 2/s together send 4/s and draw 100410 blocks. The budget
lives in one SQLite file per account (see :func:`state_file`), one table per endpoint, held by
``pyrate-limiter``'s :class:`~pyrate_limiter.SQLiteBucket` under one file lock (``filelock``,
with a timeout), so counting and admitting a request is atomic across processes.

Counted at arrival, as BingX counts: a request is stamped in the shared table when it is let go,
moved :data:`IN_FLIGHT_S` into the future while it travels (so it counts for certain whatever
the trip takes), and re-stamped with the time its reply came in (the latest it can have
arrived). Another process admits a request only while fewer than the limit of stamps lie in the
last window.

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
are limited per process only. A file only busy for longer than :data:`LOCK_TIMEOUT_S` (a load
spike, a backup, a bot paused while holding its lock) is no such failure, also when this bot
starts: that request, and those of the next :data:`BUSY_PAUSE_S`, are limited per process
only, then the file is shared (again; see :func:`is_transient`). Nothing here waits on the file
for longer than that.
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

from filelock import FileLock
from filelock import Timeout as LockTimeout
from pyrate_limiter import Rate, RateItem, SQLiteBucket
from pyrate_limiter.buckets.sqlite_bucket import Queries

from freqtrade_bingx import files


logger = logging.getLogger(__name__)

# A request counts for certain until its reply, and at most this long without one: longer than
# the transport's connect timeout plus its whole-request deadline (3.05 s + 10 s). A process
# killed mid-request leaves its slot taken until then.
IN_FLIGHT_S = 15.0
# A stamp later than now + IN_FLIGHT_S + this is from another clock (see the module doc).
FUTURE_MARGIN_S = 1.0
# A waiter polls the shared table at least this often: a slot held by another process's request
# in flight frees when that process settles it, which no one here is told about.
POLL_S = 0.05
WINDOW_MS = 1000
# Stamps older than a window are deleted every this many requests (and while waiting).
LEAK_EVERY = 64
STATE_DIR_NAME = "freqtrade-bingx"
# The file lock is held for a few milliseconds per request. Held longer, its holder is stuck (a
# process stopped by SIGSTOP or ``docker pause``): go on per process for a while (BUSY_PAUSE_S)
# rather than freeze every bot on the account. Well under the transport's whole-request
# deadline, and so are SQLite's waits for its own locks (SQLITE_TIMEOUT_S).
LOCK_TIMEOUT_S = 2.0
SQLITE_TIMEOUT_S = 2.0
# After the file was busy past those timeouts, this process leaves it alone for this long: a
# lock held by a stopped bot would otherwise cost every request here the whole wait.
BUSY_PAUSE_S = 5.0
_FAILURES = (OSError, sqlite3.Error, LockTimeout)
# Once the file is open, whatever its rows hold comes back through pyrate-limiter, which does
# not check it: a damaged stamp raised a bare ValueError out of int(). Anything but the caller's
# own NoRoomInTime ends the sharing (logged once), never the caller's request.
_USE_FAILURES = (*_FAILURES, ArithmeticError, AssertionError, LookupError, TypeError, ValueError)
# SQLite's primary result codes for "another connection holds the lock" (sqlite.org/rescode.html).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


class FirstWarning:
    """A condition said at WARNING the first time, at DEBUG after (threads meeting it at once:
    one warns)."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._said = False
        self._lock = threading.Lock()

    def say(self, message: str, *args: object) -> None:
        with self._lock:
            first, self._said = not self._said, True
        if first:
            self._log.warning(f"{message} Later ones are logged at DEBUG.", *args)
        else:
            self._log.debug(message, *args)


def is_transient(error: BaseException) -> bool:
    """True when the state file was only busy (its lock held past the timeout, by another bot or
    a load spike), not broken: removed, replaced, corrupt, unreadable or on a failing disk."""
    if isinstance(error, LockTimeout):
        return True
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)  # extended codes keep the primary
    message = str(error).lower()
    return "locked" in message or "busy" in message


def account_id(api_key: str, base_url: str) -> str:
    """A name for the account behind ``api_key`` on ``base_url``; the key cannot be read back.

    The host is part of it: BingX's demo host (VST) keeps leverage and margin type apart from
    the live account's. ``api_key`` may instead be a name the user gave the account
    (``exchange.account_state_name``), for bots that use different keys of one account.
    """
    return hashlib.sha256(f"{base_url}\n{api_key}".encode()).hexdigest()[:20]


def default_state_dir() -> Path:
    """``$XDG_CACHE_HOME/freqtrade-bingx``, else ``~/.cache/freqtrade-bingx``: absolute, so
    bots started from different folders share it (a relative ``XDG_CACHE_HOME`` is ignored, as
    the XDG base directory specification says)."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):  # noqa: PTH117 (a str from the environment)
        cache = str(Path.home() / ".cache")
    return Path(cache) / STATE_DIR_NAME


def state_file(account: str, state_dir: str | os.PathLike | None = None) -> Path:
    """The SQLite file every process trading ``account`` on this machine shares."""
    folder = Path(state_dir) if state_dir else default_state_dir()
    return folder / f"account-{account}.sqlite"


def prepare_state_file(path: Path) -> None:
    """The state folder and file, for this user only (0700 and 0600, whatever the umask): they
    tell which pairs the account trades at which leverage, by which bots. Made before SQLite
    opens the file (its ``-wal`` and ``-shm`` then take its permissions), with the lock file;
    the files an earlier version left readable by others are made private.

    :raises OSError: the folder or a file cannot be made or opened.
    """
    files.private_folder(path.parent)
    files.private_file(path)
    files.private_file(Path(f"{path}.lock"))
    for suffix in ("-wal", "-shm"):
        files.private_file(Path(f"{path}{suffix}"), create=False)


def file_identity(path: Path) -> tuple[int, int]:
    """The file's device and inode: a file removed and created again under the same name (by a
    bot started later) is another file, which this process's open connection does not see."""
    # os.stat, not Path(path).stat(): this runs before every statement on the file, and making
    # the Path object cost twice the system call.
    stat = os.stat(path)  # noqa: PTH116
    return (stat.st_dev, stat.st_ino)


def check_same_file(path: Path, identity: tuple[int, int]) -> None:
    """FileNotFoundError unless ``path`` is still the file opened as ``identity``."""
    try:
        same = file_identity(path) == identity
    except FileNotFoundError:
        same = False
    if not same:
        raise FileNotFoundError("the file was removed or replaced")


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

    def drop_after(self, timestamp_ms: int) -> tuple[int, int]:
        """Forget stamps later than any request of this clock can carry; returns how many
        there were and the latest (0, 0 when none: then nothing is written)."""
        with self.lock:
            cursor = self.conn.execute(
                f"SELECT COUNT(*), MAX(item_timestamp) FROM '{self.table}' "  # noqa: S608
                "WHERE item_timestamp > ?",
                (timestamp_ms,),
            )
            count, latest = cursor.fetchone()
            cursor.close()
            if count:
                self.conn.execute(
                    f"DELETE FROM '{self.table}' WHERE item_timestamp > ?",  # noqa: S608
                    (timestamp_ms,),
                ).close()
                self.conn.commit()
            return count, int(latest or 0)


class NoRoomInTime(Exception):
    """The account had no room for the request within the caller's bound: nothing was sent."""


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
        prepare_state_file(path)
        self.path = path
        self._clock_ms = clock_ms
        self._sleep = sleep
        self._prefix = uuid.uuid4().hex[:12]  # this process's names for its requests
        self._count = 0
        self._lock = threading.Lock()
        self._failed = False
        self._busy_until_ms = 0  # the file was busy: left alone until then (BUSY_PAUSE_S)
        self._busy_said = FirstWarning(logger)
        self._future_said = FirstWarning(logger)  # stamps of another clock were dropped
        # The endpoints counted here: a limit of 0 (or none at all) is not counted.
        self._limits = {
            key: per_second
            for key, per_second in limits.items()
            if per_second and math.isfinite(per_second) and per_second > 0
        }
        self._buckets: dict[tuple[str, str], _EndpointBucket] = {}
        self._opened = False  # the tables: opened later if the file was busy at first
        self._opening = False  # a thread is opening them
        # One lock for every table of the file, with a timeout (pyrate-limiter's own file lock
        # waits for ever). Thread-local, as filelock's default: threads of this process hold it
        # in turn, like other processes.
        self._file_lock = FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_S, mode=files.PRIVATE_FILE)
        self._conn = sqlite3.connect(
            str(path), timeout=SQLITE_TIMEOUT_S, isolation_level="DEFERRED", check_same_thread=False
        )
        try:
            # The file this connection opened, taken now rather than when the tables open: a
            # file removed and created again while this bot waited for it is then noticed.
            self._identity = file_identity(path)
            self._open_tables()
        except _FAILURES as e:
            if not is_transient(e):
                self._conn.close()
                raise
            # Busy while this bot starts (another bot holds the lock, a load spike): not a
            # reason to go without the shared budget for the whole run. Opened on a request
            # after the pause.
            self._busy(e)
        except BaseException:
            self._conn.close()
            raise

    def _open_tables(self) -> None:
        """One pyrate-limiter table per limited endpoint, all on one connection and lock."""
        conn, lock = self._conn, self._file_lock
        buckets = {}
        with lock:
            # Read once the lock is held: other bots may stamp requests in flight while this one
            # waits for it, and those stamps lie later than a bound read before the wait.
            boot_bound = self._future_bound_ms()
            check_same_file(self.path, self._identity)
            conn.execute("PRAGMA journal_mode=WAL").close()
            # No fsync per commit (as pyrate-limiter's own SQLite buckets): a stamp only matters
            # while the processes that wrote it run, and a crash of the machine ends them all
            # (stamps of an earlier boot are dropped on opening). It cost 3 fsyncs per request.
            conn.execute("PRAGMA synchronous=NORMAL").close()
            for (method, endpoint), per_second in sorted(self._limits.items()):
                table = f"rate_{method}_{endpoint.strip('/').replace('/', '_')}"
                conn.execute(Queries.CREATE_BUCKET_TABLE.format(table=table)).close()
                conn.execute(
                    Queries.CREATE_INDEX_ON_TIMESTAMP.format(
                        index_name=f"idx_{table}_rate_item_timestamp", table_name=table
                    )
                ).close()
                conn.commit()
                bucket = _EndpointBucket([_rate(per_second)], conn, table=table, lock=lock)
                bucket.drop_after(boot_bound)
                buckets[(method, endpoint)] = bucket
        self._buckets = buckets
        self._opened = True

    def _ready(self) -> bool:
        """True once the tables are open. Else one thread tries to open them now, while the
        others go on per process (the file was busy when this bot started)."""
        if self._opened:
            return True
        with self._lock:
            if self._opened or self._opening:  # opened, or being opened, by another thread
                return self._opened
            self._opening = True
        try:
            self._open_tables()
        except _USE_FAILURES as e:
            self._fail(e)
        finally:
            with self._lock:
                self._opening = False
        return self._opened

    def __repr__(self) -> str:
        return f"AccountBudget(path={str(self.path)!r})"

    @property
    def active(self) -> bool:
        return not self._failed

    def acquire(self, method: str, path: str, max_wait_s: float | None = None) -> Ticket | None:
        """Wait until the account has room for one more request on the endpoint, and take it.

        None when the endpoint has no shared limit, the shared file failed (logged once), or it
        is busy (for this request and :data:`BUSY_PAUSE_S`): the caller's own per-process limit
        is then all there is. With ``max_wait_s``, :class:`NoRoomInTime` when no room came
        within that many seconds.
        """
        if (method, path) not in self._limits or self._failed or self._pausing():
            return None
        if not self._ready():
            return None
        bucket = self._buckets[(method, path)]
        with self._lock:
            self._count += 1
            name = f"{self._prefix}-{self._count}"
        try:
            check_same_file(self.path, self._identity)
            if self._count % LEAK_EVERY == 0:
                bucket.leak(self._clock_ms())
            give_up_ms = None if max_wait_s is None else self._clock_ms() + max_wait_s * 1000
            while True:
                now = self._clock_ms()
                item = RateItem(name, now)
                # One hold of the file lock for admitting and stamping in flight (put and
                # restamp take it again, which a holder may): each hold costs ~250 µs of CPU.
                with bucket.lock:
                    self._drop_future(bucket)
                    admitted = bucket.put(item)
                    if admitted:
                        bucket.restamp(name, now + int(IN_FLIGHT_S * 1000))
                if admitted:
                    return Ticket(bucket, name)
                wait_ms = bucket.waiting(item)
                bucket.leak(now)
                pause_ms = min(max(wait_ms, 1), POLL_S * 1000)
                if give_up_ms is not None:
                    if now >= give_up_ms:
                        raise NoRoomInTime(f"{method} {path}: no room within {max_wait_s:g} s")
                    pause_ms = min(pause_ms, max(give_up_ms - now, 1))
                self._sleep(pause_ms / 1000)
        except _USE_FAILURES as e:
            self._fail(e)
            return None

    def _future_bound_ms(self) -> int:
        """The latest stamp a request of this clock can carry now (read with the file lock
        held: another bot's request let go while this one waited for it lies later)."""
        return self._clock_ms() + int((IN_FLIGHT_S + FUTURE_MARGIN_S) * 1000)

    def _drop_future(self, bucket: _EndpointBucket) -> None:
        """With the file lock held: drop the stamps of another monotonic clock (module doc)."""
        bound = self._future_bound_ms()
        dropped, latest = bucket.drop_after(bound)
        if dropped:
            self._future_said.say(
                "BingX rate limits: dropped %d request stamp(s) in %s up to %.0f s ahead of "
                "this process's monotonic clock: a bot on this account runs on another clock (a "
                "container restored from a checkpoint, another time namespace). Bots on "
                "different clocks do not share the rate budget; each keeps to its own limits, "
                "and together they may exceed BingX's.",
                dropped,
                self.path,
                (latest - bound) / 1000 + IN_FLIGHT_S + FUTURE_MARGIN_S,
            )

    def settle(self, ticket: Ticket | None) -> None:
        """The request's reply came in (or it failed): it reached BingX by now, if at all.

        Skipped while the file is busy: the stamp then counts until :data:`IN_FLIGHT_S` ran
        out, longer than needed, never shorter.
        """
        if ticket is None or self._failed or self._pausing():
            return
        try:
            ticket.bucket.restamp(ticket.name, self._clock_ms())
        except _USE_FAILURES as e:
            self._fail(e)

    def close(self) -> None:
        self._conn.close()

    def _pausing(self) -> bool:
        return self._busy_until_ms > 0 and self._clock_ms() < self._busy_until_ms

    def _fail(self, error: Exception) -> None:
        if is_transient(error):
            self._busy(error)
            return
        with self._lock:  # two threads may fail at once: one says so
            first, self._failed = not self._failed, True
        if first:
            logger.warning(
                "BingX rate limits are no longer shared with other bots on this account: %s "
                "failed (%s). This bot keeps to them on its own; bots on the same account may "
                "together exceed them.",
                self.path,
                error,
            )

    def _busy(self, error: Exception) -> None:
        """The file was busy past its timeout: go on per process for a while, keep sharing."""
        self._busy_until_ms = self._clock_ms() + int(BUSY_PAUSE_S * 1000)
        self._busy_said.say(
            "BingX rate limits: %s was busy for more than %g s (another bot holds it, or the "
            "machine is loaded: %s). This request, and this bot's requests of the next %g s, "
            "are limited per process only; then the limits are shared again.",
            self.path,
            LOCK_TIMEOUT_S,
            error,
            BUSY_PAUSE_S,
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

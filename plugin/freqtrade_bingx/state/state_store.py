"""The account's state file: one SQLite file per BingX account, shared by the bots on a machine.

:class:`StateStore` owns the file: where it lies (:func:`state_file`), making it private,
opening it (WAL, no fsync per commit), what "busy" and "failed" mean, and whether it is still
the file this bot opened. Its tables belong to the plugin's two users of it:

- ``stamps``: the account's rate budget (:mod:`freqtrade_bingx.state.account_budget`);
- ``confirmed``: the settings BingX confirmed to any bot
(:mod:`freqtrade_bingx.state.shared_settings`).

Every use is one SQLite transaction, written ones opened with ``BEGIN IMMEDIATE``: SQLite's own
write lock, taken with its busy timeout, is atomic across processes and threads, so there is no
second lock around it. Each thread has a connection of its own (made on its first use), so no
lock of this process is held while SQLite waits for the file.

- **Busy**: SQLite could not take its lock within :data:`SQLITE_TIMEOUT_S` (another bot holds
  it, a backup, a load spike, a bot stopped mid-transaction). Not a failure: that use, and every
  use of the next :data:`BUSY_PAUSE_S`, raise :class:`StoreBusy` at once (a lock held by a
  stopped bot then costs no wait on every request); then the file is used again. A file busy
  when the bot starts is opened that way too, on a use after the pause.
- **Failed**: removed, replaced (another file under the name: :func:`check_same_file`, before
  every transaction: an ``os.stat`` costs ~3 µs, less than any cheaper scheme would be worth),
  corrupt, unreadable, or a row this bot cannot read. For good: every later use raises
  :class:`StoreFailed`, and the user is told once (by the store's owner, who knows what it means
  for the bot).

No fsync per commit (``synchronous=NORMAL``: WAL syncs at its checkpoints only): a stamp only
matters while the processes that wrote it run, and a crash of the machine ends them all; a
confirmed setting lost that way is read from BingX again before it is trusted. Pages are 1 KiB
(a transaction writes one or two) and the WAL is checkpointed every 4000 of them, so a request's
bookkeeping costs a few tens of microseconds (bench/leverage_call.py).
"""

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from freqtrade_bingx.base import files


logger = logging.getLogger(__name__)

STATE_DIR_NAME = "freqtrade-bingx"
# SQLite waits this long for its lock. Longer, the holder is stuck (a process stopped by
# SIGSTOP or ``docker pause``): go on without the file for a while (BUSY_PAUSE_S) rather than
# freeze every bot on the account. Well under the transport's whole-request deadline.
SQLITE_TIMEOUT_S = 2.0
# After the file was busy past that timeout, this process leaves it alone for this long.
BUSY_PAUSE_S = 5.0
# The WAL is copied back into the file (with its one fsync) every this many pages.
WAL_CHECKPOINT_PAGES = 4000
PAGE_SIZE = 1024  # a new file's; SQLite keeps an existing file's own
# Anything SQLite, the file system or a row that is not what this plugin wrote raises.
FAILURES = (
    OSError,
    sqlite3.Error,
    ArithmeticError,
    AssertionError,
    LookupError,
    TypeError,
    ValueError,
)
# SQLite's primary result codes for "another connection holds the lock" (sqlite.org/rescode.html).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6

SCHEMA = (
    # One row per request let go to a limited endpoint: when it arrived at BingX at the latest
    # (in flight: IN_FLIGHT_S ahead; account_budget.py). The key orders each endpoint's stamps
    # by time, so counting the last window reads only that window.
    (
        "CREATE TABLE IF NOT EXISTS stamps (endpoint TEXT NOT NULL, at INTEGER NOT NULL, "
        "name TEXT NOT NULL, PRIMARY KEY (endpoint, at, name)) WITHOUT ROWID"
    ),
    # One row per account-wide setting (shared_settings.py).
    (
        "CREATE TABLE IF NOT EXISTS confirmed (kind TEXT NOT NULL, symbol TEXT NOT NULL, "
        "side TEXT NOT NULL, value TEXT, writer TEXT NOT NULL, version INTEGER NOT NULL, "
        "PRIMARY KEY (kind, symbol, side))"
    ),
)

T = TypeVar("T")


class StoreBusy(Exception):
    """The file was busy past SQLite's timeout, now or less than :data:`BUSY_PAUSE_S` ago."""


class StoreFailed(Exception):
    """The file is lost for good (removed, replaced, corrupt, unreadable)."""


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
    if isinstance(error, StoreBusy):
        return True
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)  # extended codes keep the primary
    message = str(error).lower()
    return "locked" in message or "busy" in message


# SQLite's primary result codes for a statement this file's schema or rows refuse, rather than
# the file itself (sqlite.org/rescode.html): SQLITE_ERROR (no such column: a table another
# version of the plugin made), SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE.
_STATEMENT_CODES = (1, 19, 20, 25)


def is_file_failure(error: BaseException) -> bool:
    """True when the file itself is lost (removed, replaced, corrupt, unreadable, a failing
    disk), False when only what a statement read or wrote was refused (a row this bot cannot
    read, a table of another shape)."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is None or code & 0xFF not in _STATEMENT_CODES
    return isinstance(error, OSError)


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
    opens the file (its ``-wal`` and ``-shm`` then take its permissions); the files an earlier
    version left readable by others (its ``.lock`` file too) are made private.

    :raises OSError: the folder or a file cannot be made or opened.
    """
    files.private_folder(path.parent)
    files.private_file(path)
    for suffix in ("-wal", "-shm", ".lock"):
        files.private_file(Path(f"{path}{suffix}"), create=False)


def file_identity(path: Path) -> tuple[int, int]:
    """The file's device and inode: a file removed and created again under the same name (by a
    bot started later) is another file, which this process's open connections do not see."""
    # os.stat, not Path(path).stat(): this runs before every transaction, and making the Path
    # object cost twice the system call.
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


class StateStore:
    """One account's state file, as this bot sees it: open, busy (paused) or failed.

    :param on_opened: run inside the transaction that opens the file (once), e.g. to drop what
        an earlier boot left.
    :param on_busy: told of the error when the file was busy past the timeout (it is then left
        alone for :data:`BUSY_PAUSE_S`); ``on_failed`` once, when it failed for good.
    :param clock: monotonic seconds, for the busy pause (:attr:`clock` may be replaced, e.g.
        by a test's clock).
    :raises OSError, sqlite3.Error: the file cannot be made or opened, and is not only busy.

    With ``path`` None, the same tables in this process's memory: one connection that its
    threads take in turn (a transaction holds it for microseconds; no other process can make
    it wait), never busy, never failed. What a bot keeps to on its own when it shares nothing.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        on_opened: Callable[[sqlite3.Connection], None] | None = None,
        on_busy: Callable[[BaseException], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.clock = clock
        self._on_opened = on_opened
        # Each user of the store is told (see tell()); a table's own failure, its user alone.
        self._on_busy = [on_busy] if on_busy else []
        self._on_failed = [on_failed] if on_failed else []
        self._on_table_failed: dict[str, Callable[[BaseException], None]] = {}
        self._failed_tables: set[str] = set()
        self._local = threading.local()  # this thread's connection
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # the list above and the flags below; never around SQLite
        self._failed = False
        self._busy_until: float | None = None
        self._opened = False  # the schema: opened later if the file was busy at first
        self._opening = False  # a thread is opening it
        # This process's memory: one connection, taken in turn (see the class doc).
        self._memory = None
        if path is None:
            self._memory = sqlite3.connect(
                ":memory:", isolation_level=None, check_same_thread=False
            )
            self._identity = (0, 0)
            self.open_schema(self._memory)
            return
        prepare_state_file(path)
        try:
            # The file made above, taken now rather than when the schema opens: a file removed
            # and created again while this bot waited for it is then noticed.
            self._identity = file_identity(path)
            self.open_schema(self.connection())  # on the caller's thread, which uses it next
        except FAILURES as e:
            if not is_transient(e):
                self.close()
                raise
            # Busy while this bot starts (another bot holds the lock, a load spike): not a
            # reason to go without the file for the whole run. Opened on a use after the pause.
            self._busy(e)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"StateStore(path={str(self.path or ':memory:')!r})"

    def tell(
        self,
        on_busy: Callable[[BaseException], None],
        on_failed: Callable[[BaseException], None],
        *,
        table: str,
    ) -> None:
        """Another user of the file, the owner of ``table``, is told too when the file is busy
        or failed (each says what that means for it), and alone when only its table failed
        (see :meth:`run`)."""
        self._on_busy.append(on_busy)
        self._on_failed.append(on_failed)
        self._on_table_failed[table] = on_failed

    def active_for(self, table: str) -> bool:
        """False once the file, or ``table`` alone, failed for good."""
        return not self._failed and table not in self._failed_tables

    @property
    def shared(self) -> bool:
        """True for the account's file, False for this process's memory."""
        return self._memory is None

    @property
    def active(self) -> bool:
        """False once the file failed for good."""
        return not self._failed

    @property
    def busy_until(self) -> float:
        """When the busy pause ends, on :attr:`clock` (0.0: there was none)."""
        return self._busy_until or 0.0

    def pausing(self) -> bool:
        busy_until = self._busy_until
        return busy_until is not None and self.clock() < busy_until

    def connection(self) -> sqlite3.Connection:
        """This thread's connection to the file (made on its first use, or shared with the
        other stores of this process on the same file: see :class:`_Connections`)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():  # none yet, or the parent's (fork)
            entry = _CONNECTIONS.take(self.path, self._identity, self)
            conn = entry[0]
            with self._lock:
                if conn not in self._connections:
                    self._connections.append(conn)
            if not entry[2]:
                conn.execute("PRAGMA synchronous=NORMAL").close()  # per connection; may be busy
                entry[2] = True
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def open_schema(self, conn: sqlite3.Connection) -> None:
        """WAL mode and the tables, with ``on_opened`` in the same transaction."""
        if self._memory is None:
            check_same_file(self.path, self._identity)
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}").close()  # a new (empty) file only
            conn.execute("PRAGMA journal_mode=WAL").close()  # kept in the file
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}").close()
        conn.execute("BEGIN IMMEDIATE").close()
        try:
            for statement in SCHEMA:
                conn.execute(statement).close()
            if self._on_opened:
                self._on_opened(conn)
            conn.execute("COMMIT").close()
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK").close()
            raise
        self._opened = True

    def ready(self) -> bool:
        """True once the schema is open. Else one thread tries to open it now (a file busy
        when the bot started), while the others go on without the file for this use."""
        if self._opened:
            return True
        with self._lock:
            if self._opened or self._opening:  # opened, or being opened, by another thread
                return self._opened
            self._opening = True
        try:
            self.open_schema(self.connection())
        except FAILURES as e:
            self._trouble(e)
        finally:
            with self._lock:
                self._opening = False
        return self._opened

    def run(
        self, work: Callable[[sqlite3.Connection], T], *, begin: bool = True, table: str = ""
    ) -> T:
        """``work(connection)`` in one transaction, its answer: between ``BEGIN IMMEDIATE`` and
        ``COMMIT`` (SQLite's write lock taken first, so what it reads stays true until it
        commits), or, without ``begin``, one statement that is its own transaction.

        With ``table``, an error of the work itself (a row it cannot read, a statement the
        file's schema refuses: another version of the plugin) fails that table alone; the file
        and its other table go on. Without it, any failure is the file's.

        :raises StoreBusy: busy now (then paused) or paused.
        :raises StoreFailed: failed now (said once by ``on_failed``) or before.
        """
        if self._memory is not None:
            with self._lock:
                return self._transaction(self._memory, work, begin)
        if self._failed or table in self._failed_tables:
            raise StoreFailed(f"{self.path} failed")
        if self.pausing():
            raise StoreBusy(f"{self.path} was busy less than {BUSY_PAUSE_S:g} s ago")
        if not self.ready():
            raise StoreFailed(f"{self.path} failed") if self._failed else StoreBusy(str(self.path))
        try:
            conn = self.connection()
            check_same_file(self.path, self._identity)
            return self._transaction(conn, work, begin)
        except FAILURES as e:
            raise self._trouble(e, table) from e

    @staticmethod
    def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T], begin):
        if not begin:
            return work(conn)
        conn.execute("BEGIN IMMEDIATE").close()
        try:
            result = work(conn)
            conn.execute("COMMIT").close()
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK").close()
            raise
        return result

    def _trouble(self, error: BaseException, table: str = "") -> Exception:
        """Pause on a busy file, fail on anything else (``table`` alone when the error is its
        work's, not the file's); the exception to raise for it."""
        if is_transient(error):
            self._busy(error)
            return StoreBusy(str(error))
        if table and not is_file_failure(error):
            with self._lock:
                first = table not in self._failed_tables
                self._failed_tables.add(table)
            said = self._on_table_failed.get(table)
            if first:
                for tell in [said] if said else self._on_failed:
                    tell(error)
            return StoreFailed(str(error))
        with self._lock:  # two threads may fail at once: one says so
            first, self._failed = not self._failed, True
        if first:
            for said in self._on_failed:
                said(error)
        return StoreFailed(str(error))

    def _busy(self, error: BaseException) -> None:
        self._busy_until = self.clock() + BUSY_PAUSE_S
        for said in self._on_busy:
            said(error)

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            _CONNECTIONS.release(conn, self)
        if self._memory is not None:
            self._memory.close()
        self._local = threading.local()


class _Connections:
    """One connection per file and thread for the whole process, shared by the stores on it
    (the rate budget and the confirmed settings of a bot, and of bots sharing a process).

    A forked child never uses its parent's connections (SQLite's "How To Corrupt An SQLite
    Database File", 2.6: its locks are not the parent's): they are set aside, still open, as
    closing one could checkpoint the parent's WAL, and the child opens its own.

    A connection reads its cached pages again after another connection wrote to the file:
    one connection for both tables saves those reads, about a third of each transaction's
    cost (bench/leverage_call.py). A file's identity is part of the key: a store on a file
    created again under the same name gets a connection of its own. Closed with its last store.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (path, identity, thread) -> [connection, its stores, its pragma set]
        self._open: dict[tuple[str, tuple[int, int], int], list] = {}
        self._inherited: list[dict] = []  # a forked child's parent connections, never used

    def forget_after_fork(self) -> None:
        """In a forked child: the parent's connections (and a lock another thread of the
        parent may have held) are not this process's."""
        self._lock = threading.Lock()
        self._inherited.append(self._open)
        self._open = {}

    def take(self, path: Path, identity: tuple[int, int], store: object) -> list:
        """``[connection, its stores, its pragma set]``, made if needed: it holds the file open
        from now on (so the file's identity stays its own), also while the file is busy."""
        key = (str(path), identity, threading.get_ident())
        with self._lock:
            found = self._open.get(key)
            if found is None:
                conn = sqlite3.connect(
                    str(path),
                    timeout=SQLITE_TIMEOUT_S,
                    isolation_level=None,  # transactions as written: BEGIN IMMEDIATE ... COMMIT
                    check_same_thread=False,  # closed by the last store's close(), any thread
                )
                found = self._open[key] = [conn, set(), False]
            found[1].add(id(store))
            return found

    def release(self, conn: sqlite3.Connection, store: object) -> None:
        with self._lock:
            if any(entry[0] is conn for parent in self._inherited for entry in parent.values()):
                return  # the parent's: left open (see the class doc)
            for key, (open_conn, users, _configured) in list(self._open.items()):
                if open_conn is conn:
                    users.discard(id(store))
                    if users:
                        return
                    del self._open[key]
                    break
        conn.close()


_CONNECTIONS = _Connections()
os.register_at_fork(after_in_child=_CONNECTIONS.forget_after_fork)

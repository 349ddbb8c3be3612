"""The account's state on Redis: the same store as the SQLite file, for bots on several machines.

With ``exchange.account_state_url`` (``redis://`` or ``rediss://``), every bot naming that Redis
and the same BingX account shares, across machines, what bots on one machine share through the
account's SQLite file (:mod:`freqtrade_bingx.state.state_store`), with the same rules:

- the rate budget (:class:`RedisBudget`, the counting of
  :mod:`~freqtrade_bingx.state.account_budget`: a stamp ``IN_FLIGHT_S`` ahead while the
  request travels, re-stamped when its reply came in, a limit per window), one sorted set
  per endpoint;
- the confirmed leverage, margin type and position mode (:class:`RedisSettings`, the rules of
  :mod:`~freqtrade_bingx.state.shared_settings`: marked unknown before a change is sent, written
  compare-and-set on the version the claim left), one hash per account; a
  :class:`~freqtrade_bingx.state.shared_settings.Change`'s claim rides with its request's slot
  and its answer with the settle, one script call each, as on SQLite;
- BingX's endpoint blocks (:class:`RedisBlocks`): an unblock time one bot learns is honoured by
  all.

Each of these is one Lua script run by Redis (redis-py's ``register_script``: ``EVALSHA``, the
script sent again if the server lost it). A script runs atomically, nothing else runs on the
server meanwhile, so "count the window, then stamp" and "compare the version, then write" need
no lock and no ``WATCH`` retry loop, and cost one round trip. The times are the Redis server's
(``TIME`` in the script): bots on different machines have no common monotonic clock.

Keys are named by :func:`~freqtrade_bingx.state.state_store.account_id` (a hash, never the API
key), in one hash slot (``fb:{account}:...``, so the scripts also run on a Redis Cluster).

**Redis slow or gone.** Every call is bounded by :data:`REDIS_TIMEOUT_S` (connect and reply),
far under the request's deadline, and redis-py retries nothing. A failed call is said once in
the log and Redis is left alone for :data:`DOWN_PAUSE_S` (so a dead server costs no timeout per
request); meanwhile the bot keeps trading on its own limits (the pipeline's own budget), trusts
no remembered setting (a read raises :class:`~freqtrade_bingx.state.shared_settings.Busy`: it
sets them again before entries) and sends its changes unclaimed, marking them unknown once
Redis answers again. Then it shares again (said in the log).

**Redis restarted empty.** The account's ``epoch`` key holds a random number written by the
first script to find it missing; a row's version lies in its epoch's range
(``epoch * VERSION_SPAN + n``). A row of another epoch, or no row at all, reads as unknown,
never as confirmed: a bot cannot tell "never written" from "lost", so it sets the value again.
(Run Redis without persistence, as the README's recipe does: a snapshot restored with its
epoch would bring back rows older than BingX's state.)
"""

import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from freqtrade_bingx.state.account_budget import (
    IN_FLIGHT_S,
    POLL_S,
    Counting,
    NoRoomInTime,
    Ticket,
    _endpoint,
    _now_ms,
)
from freqtrade_bingx.state.shared_settings import (
    POSITION_MODE,
    Busy,
    Change,
    Entry,
)
from freqtrade_bingx.state.state_store import FirstWarning, StoreBusy


logger = logging.getLogger(__name__)

# Every Redis call (connecting included) gives up after this long: far under the request's
# deadline (10 s) and the budget's wait (5 s); a healthy Redis on a LAN answers in a millisecond.
REDIS_TIMEOUT_S = 0.5
# After a failed call, Redis is left alone this long (calls raise StoreBusy at once).
DOWN_PAUSE_S = 2.0
# Blocks other bots noted are read at most this often (a request checks them in memory).
BLOCKS_CACHE_S = 0.5
# The Redis password when the URL carries none.
PASSWORD_ENV = "FREQTRADE_BINGX_REDIS_PASSWORD"
# A row's version is epoch * VERSION_SPAN + n: versions of two epochs never meet.
VERSION_SPAN = 2**24
EPOCH_MAX = 2**24  # epoch * span < 2**48: exact in Lua's doubles

# --- the scripts ------------------------------------------------------------------------------
# KEYS[1] the epoch, KEYS[2] the confirmed settings, KEYS[3] the script's own key (an endpoint's
# stamps, or the blocks). ARGV[1] a new epoch (if none), ARGV[2] VERSION_SPAN, ARGV[3] the writer.
# Every script answers {epoch, ...}.
_PRELUDE = """
redis.replicate_commands()  -- TIME, then writes: needed before Redis 5, a no-op since
local function num(x) return string.format('%d', x) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local e = tonumber(redis.call('GET', KEYS[1]))
if not e then e = tonumber(ARGV[1]); redis.call('SET', KEYS[1], ARGV[1]) end
local span = tonumber(ARGV[2])
local function version(field)
  local row = redis.call('HGET', KEYS[2], field)
  if not row then return 0 end
  local n = tonumber(string.match(row, '^(%d+)'))
  if not n or math.floor(n / span) ~= e then return 0 end
  return n
end
local function unknown(field)
  local n = version(field)
  if n == 0 then n = e * span end
  n = n + 1
  redis.call('HSET', KEYS[2], field, num(n) .. '\\n0\\n\\n' .. ARGV[3])
  return n
end
local function confirm(field, value, seen)
  local n = version(field)
  if n > 0 and n == seen then
    redis.call('HSET', KEYS[2], field, num(n + 1) .. '\\n1\\n' .. value .. '\\n' .. ARGV[3])
    return 1
  end
  unknown(field)
  return 0
end
"""
# ARGV[4] window ms, [5] limit, [6] in-flight ms, [7] the request's name, [8...] fields to claim.
# Answers {epoch, stamp, versions...} or {epoch, -ms until room}.
_ADMIT = (
    _PRELUDE
    + """
local now = now_ms()
local window = tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', num(now - window))
if redis.call('ZCARD', KEYS[3]) >= limit then
  local full = redis.call('ZRANGE', KEYS[3], -limit, -limit, 'WITHSCORES')
  return {e, -math.max(tonumber(full[2]) + window - now, 1)}
end
local at = now + tonumber(ARGV[6])
redis.call('ZADD', KEYS[3], num(at), ARGV[7])
redis.call('PEXPIRE', KEYS[3], num(tonumber(ARGV[6]) + window))
local out = {e, at}
for i = 8, #ARGV do out[#out + 1] = unknown(ARGV[i]) end
return out
"""
)
# ARGV[4] a request's name to re-stamp ('' none), then (op, field, value, seen) per write:
# op 'u' marks unknown (answers the new version), 'k' records compare-and-set (answers 1 or 0).
_WRITE = (
    _PRELUDE
    + """
if ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[3], ARGV[4]) then
  redis.call('ZADD', KEYS[3], 'XX', num(now_ms()), ARGV[4])
end
local out = {e}
for i = 5, #ARGV, 4 do
  if ARGV[i] == 'k' then
    out[#out + 1] = confirm(ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]))
  else
    out[#out + 1] = unknown(ARGV[i + 1])
  end
end
return out
"""
)
# ARGV[4...] fields. Answers {epoch, row or false, ...}, rows of another epoch as false.
_READ = (
    _PRELUDE
    + """
local out = {e}
for i = 4, #ARGV do
  if version(ARGV[i]) > 0 then out[#out + 1] = redis.call('HGET', KEYS[2], ARGV[i])
  else out[#out + 1] = false end
end
return out
"""
)
# ARGV[4] endpoint, [5] ms, [6] reason: kept unless a later unblock time is there.
_BLOCK = (
    _PRELUDE
    + """
local ms = tonumber(ARGV[5])
local untl = now_ms() + ms
local old = redis.call('HGET', KEYS[3], ARGV[4])
if not old or tonumber(string.match(old, '^(%d+)')) < untl then
  redis.call('HSET', KEYS[3], ARGV[4], num(untl) .. '\\n' .. ARGV[6])
end
if redis.call('PTTL', KEYS[3]) < ms then redis.call('PEXPIRE', KEYS[3], num(ms)) end
return {e}
"""
)
# Answers {epoch, server now ms, endpoint, row, endpoint, row ...}.
_BLOCKS = (
    _PRELUDE
    + """
local out = {e, now_ms()}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all do out[#out + 1] = all[i] end
return out
"""
)
_SCRIPTS = {"admit": _ADMIT, "write": _WRITE, "read": _READ, "block": _BLOCK, "blocks": _BLOCKS}


def shown_url(url: str) -> str:
    """The URL without its user and password: for logs, reprs and ``status``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _field(kind: str, symbol: str, side: str) -> str:
    return f"{kind}|{symbol}|{side}"


def _text(value: str) -> str:
    """One line (the rows separate their parts with line breaks)."""
    return " ".join(str(value).split())


class RedisStore:
    """One account's keys on one Redis, as this bot sees it: up, or down for a pause.

    :param url: ``redis://`` or ``rediss://`` (checked by ``adapter/settings.py``); its password,
        else :data:`PASSWORD_ENV`'s, is never shown (:attr:`path` is the URL without it).
    :param account: :func:`~freqtrade_bingx.state.state_store.account_id`.
    """

    shared = True  # as StateStore's: the account's store, not this process's memory
    active = True  # never failed for good: Redis may come back

    def __init__(
        self, url: str, account: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        import redis  # only with exchange.account_state_url
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.path = f"{shown_url(url)} (account {account})"
        self.clock = clock
        self._errors = (redis.RedisError, OSError)
        kwargs: dict[str, Any] = {
            "socket_timeout": REDIS_TIMEOUT_S,
            "socket_connect_timeout": REDIS_TIMEOUT_S,
            "retry": Retry(NoBackoff(), 0),  # a failed call is not tried again within it
        }
        password = os.environ.get(PASSWORD_ENV)
        if password and not urlsplit(url).password:
            kwargs["password"] = password
        self._redis = redis.Redis.from_url(url, **kwargs)
        prefix = f"fb:{{{account}}}:"
        self._keys = (f"{prefix}epoch", f"{prefix}confirmed")
        self.prefix = prefix
        self._scripts = {name: self._redis.register_script(s) for name, s in _SCRIPTS.items()}
        self.epoch: int | None = None  # the epoch this bot last saw
        self.writer = "freqtrade"  # who wrote a row (RedisSettings names its bot)
        self._lock = threading.Lock()  # the flags below; never around a call
        self._down_until = 0.0
        self._down = False
        self._down_said = FirstWarning(logger)

    def __repr__(self) -> str:
        return f"RedisStore({self.path!r})"

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def run(self, script: str, key: str, args: list) -> list:
        """The script's answer after its epoch; :class:`StoreBusy` when Redis failed now (said
        once) or less than :data:`DOWN_PAUSE_S` ago."""
        if self.clock() < self._down_until:
            raise StoreBusy(f"{self.path} was unreachable less than {DOWN_PAUSE_S:g} s ago")
        keys = [*self._keys, key]
        try:
            # A new epoch for Redis to take if it has none: a fresh one every call, so that an
            # epoch lost and made again is never the one the rows were written under.
            new_epoch = secrets.randbelow(EPOCH_MAX - 1) + 1
            args = [new_epoch, VERSION_SPAN, self.writer, *args]
            answer = self._scripts[script](keys=keys, args=args)
            epoch = int(answer[0])
        except self._errors as e:
            self._went_down(e)
            raise StoreBusy(f"{self.path}: {type(e).__name__}") from None
        except (TypeError, ValueError, IndexError) as e:  # not this plugin's scripts' answer
            self._went_down(e)
            raise StoreBusy(f"{self.path}: unexpected answer") from None
        self._up(epoch)
        return answer[1:]

    def ping(self) -> str | None:
        """None when Redis answers; else why not (for ``status`` and ``preflight``)."""
        try:
            self._redis.ping()
        except self._errors as e:
            return f"{type(e).__name__}: {e}"
        return None

    def _went_down(self, error: BaseException) -> None:
        with self._lock:
            self._down_until = self.clock() + DOWN_PAUSE_S
            self._down = True
        self._down_said.say(
            "BingX account state: Redis %s could not be used (no answer within %g s, or %s: %s). "
            "Until it answers, "
            "this bot keeps to BingX's rate limits on its own (bots on this account together "
            "may exceed them), trusts no remembered leverage or margin type (it sets them again "
            "before entries) and cannot see the blocks other bots met; it tries again every %g s.",
            self.path,
            REDIS_TIMEOUT_S,
            type(error).__name__,
            error,
            DOWN_PAUSE_S,
        )

    def _up(self, epoch: int) -> None:
        with self._lock:
            was_down, self._down = self._down, False
            previous, self.epoch = self.epoch, epoch
        if was_down:
            logger.warning("BingX account state: Redis %s answers again; shared again.", self.path)
        if previous is not None and previous != epoch:
            logger.warning(
                "BingX account state: Redis %s lost this account's keys (restarted empty, or "
                "they were evicted): every leverage, margin type and position mode is unknown "
                "to every bot until one sets it again.",
                self.path,
            )

    def close(self) -> None:
        self._redis.close()


class _Batch:
    """What a request's caller writes with its slot (claims) or its settle (answers): the
    ``also`` of :meth:`RedisBudget.acquire` and :meth:`RedisBudget.settle`, as the SQLite
    budget hands its callers the transaction's connection."""

    def __init__(self) -> None:
        self.claims: list[tuple[str, Callable[[int], None]]] = []
        self.writes: list[tuple[list, Callable[[int], None]]] = []


class _RedisTicket(Ticket):
    __slots__ = ("local",)


class RedisBudget(Counting):
    """:class:`~freqtrade_bingx.state.account_budget.AccountBudget`'s counting on Redis, for
    every bot on the account, wherever it runs (see the module doc)."""

    active = True

    def __init__(
        self,
        store: RedisStore,
        limits: Mapping[tuple[str, str], float],
        *,
        clock_ms: Callable[[], int] = _now_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # clock_ms: this process's, for the tickets its own budget takes over (recent()).
        super().__init__(limits, clock_ms, sleep)
        self.store = store
        self.path = store.path

    def __repr__(self) -> str:
        return f"RedisBudget({self.path!r})"

    def acquire(
        self,
        method: str,
        path: str,
        max_wait_s: float | None = None,
        also: Callable[[_Batch], None] | None = None,
    ) -> Ticket | None:
        """As :meth:`AccountBudget.acquire`: one script call admits (``also``'s claims
        written with it), or tells how long until room; None while Redis is down."""
        rate = self.rates.get((method, path))
        if rate is None:
            return None
        endpoint = _endpoint(method, path)
        name, _count = self._next_name()
        give_up_ms = None if max_wait_s is None else self.clock_ms() + max_wait_s * 1000
        in_flight_ms = int(IN_FLIGHT_S * 1000)
        while True:
            batch = _Batch()
            if also is not None:
                also(batch)
            args = [rate.interval, rate.limit, in_flight_ms, name]
            args += [field for field, _set in batch.claims]
            try:
                answer = self.store.run("admit", self.store.key(f"budget:{endpoint}"), args)
            except StoreBusy:
                return None
            now = self.clock_ms()
            if int(answer[0]) > 0:
                for (_field, set_version), version in zip(batch.claims, answer[1:], strict=True):
                    set_version(int(version))
                local = Ticket(endpoint, name, now + in_flight_ms)
                ticket = _RedisTicket(endpoint, name, int(answer[0]))
                ticket.local = local
                self._remember(endpoint, rate, local)
                return ticket
            if give_up_ms is not None and now >= give_up_ms:
                raise NoRoomInTime(f"{method} {path}: no room within {max_wait_s:g} s")
            pause_ms = min(-int(answer[0]), POLL_S * 1000)
            if give_up_ms is not None:
                pause_ms = min(pause_ms, max(give_up_ms - now, 1))
            self.sleep(pause_ms / 1000)

    def settle(self, ticket: Ticket | None, also: Callable[[_Batch], None] | None = None) -> bool:
        """As :meth:`AccountBudget.settle`: re-stamped, ``also``'s answers written with it, in
        one script call; False when they were not (Redis down)."""
        if ticket is None:
            return False
        local = getattr(ticket, "local", None)
        if local is not None:
            local.settled_at = self.clock_ms()
        batch = _Batch()
        if also is not None:
            also(batch)
        try:
            run_writes(self.store, batch, ticket.name, self.store.key(f"budget:{ticket.endpoint}"))
        except StoreBusy:
            return False
        return also is not None

    def release(self, ticket: Ticket | None) -> None:
        """As :meth:`AccountBudget.release`, the careful way: re-stamped as if it had been sent
        (it counts for a window, longer than needed, never shorter)."""
        self.settle(ticket)

    def close(self) -> None:
        self.store.close()


def run_writes(store: RedisStore, batch: _Batch, name: str = "", key: str | None = None) -> None:
    """The batch's writes (and a request's re-stamp) in one script call; StoreBusy if down."""
    args: list = [name]
    for ops, _set in batch.writes:
        args += ops
    answer = store.run("write", key or store.key("none"), args)
    for (_ops, set_result), result in zip(batch.writes, answer, strict=True):
        set_result(int(result))


class RedisSettings:
    """:class:`~freqtrade_bingx.state.shared_settings.SharedSettings` on Redis (the same
    methods and rules; see the module doc for Redis down or restarted)."""

    active = True

    def __init__(self, store: RedisStore, bot_name: str = "freqtrade") -> None:
        self.store = store
        self.path = store.path
        self.writer = _text(f"{bot_name} (pid {os.getpid()}, {uuid.uuid4().hex[:6]})")
        store.writer = self.writer
        self._unwritten: set[str] = set()  # fields to mark unknown once Redis answers
        self._unwritten_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisSettings({self.path!r})"

    # --- reads ------------------------------------------------------------------------------

    def read(self, kind: str, symbol: str, side: str = "") -> Entry | None:
        """The row; unknown (never None) when Redis holds none (lost or never written: see
        the module doc). :class:`Busy` while Redis is down."""
        (row,) = self._read([_field(kind, symbol, side)])
        return _entry(row) or _NO_RECORD

    def read_with_mode(
        self, kind: str, symbol: str, side: str
    ) -> tuple[Entry | None, Entry | None]:
        row, mode = self._read([_field(kind, symbol, side), _field(POSITION_MODE, "", "")])
        return _entry(row) or _NO_RECORD, _entry(mode)

    def version(self, kind: str, symbol: str, side: str = "") -> int:
        return self.read(kind, symbol, side).version

    def _read(self, fields: list[str]) -> list:
        self._write_marks()
        try:
            return self.store.run("read", self.store.key("none"), fields)
        except StoreBusy as e:
            raise Busy(str(e)) from None

    # --- writes -----------------------------------------------------------------------------

    def claim(self, kind: str, symbol: str, side: str = "", *, wait_s: float = 0.0) -> int:
        """The row marked unknown; its version. While Redis is down: 0 (the change is sent
        anyway, so the bot keeps trading) and the row is marked unknown once Redis answers."""
        field = _field(kind, symbol, side)
        result = self._write([("u", field, "", 0)])
        if result is None:
            self._mark_later(field)
            return 0
        return result[0]

    def confirm(self, kind: str, symbol: str, side: str, value: object, seen_version: int) -> bool:
        """``value`` recorded compare-and-set on ``seen_version``; False (the row unknown) if
        another bot wrote since. :class:`Busy` while Redis is down (marked unknown later)."""
        field = _field(kind, symbol, side)
        result = self._write([("k", field, _text(value), seen_version)])
        if result is None:
            self._mark_later(field)
            raise Busy(f"{self.path} is unreachable")
        return result[0] == 1

    def forget(self, kind: str, symbol: str, side: str = "") -> None:
        field = _field(kind, symbol, side)
        if self._write([("u", field, "", 0)]) is None:
            self._mark_later(field)

    def claim_in(self, batch: _Batch, change: Change) -> None:
        def set_version(version: int) -> None:
            change.version = version

        batch.claims.append((_field(*change.key), set_version))

    def answer_in(self, batch: _Batch, change: Change) -> None:
        if change.version is None:
            return
        field = _field(*change.key)
        if change.value is None:
            ops = ["u", field, "", 0]
        else:
            ops = ["k", field, _text(change.value), change.version]

        def set_recorded(result: int) -> None:
            change.recorded = ops[0] == "k" and result == 1

        batch.writes.append((ops, set_recorded))

    def close(self) -> None:
        self.store.close()

    def _write(self, ops: list[tuple[str, str, str, int]]) -> list[int] | None:
        """The writes (after the marks Redis did not take) in one call; None while down."""
        batch = _Batch()
        with self._unwritten_lock:
            marks = sorted(self._unwritten)
        results: list[int] = []
        for field in marks:
            batch.writes.append((["u", field, "", 0], lambda _r: None))
        for op in ops:
            batch.writes.append((list(op), results.append))
        try:
            run_writes(self.store, batch)
        except StoreBusy:
            return None
        with self._unwritten_lock:
            self._unwritten.difference_update(marks)
        return results

    def _write_marks(self) -> None:
        if self._unwritten:
            self._write([])

    def _mark_later(self, field: str) -> None:
        with self._unwritten_lock:
            self._unwritten.add(field)


_NO_RECORD = Entry(None, "nobody since the shared Redis holds this account's keys", 0)


def _entry(row: Any) -> Entry | None:
    """A row as :class:`Entry`; a row this plugin did not write reads as unknown."""
    if not row:
        return None
    text = row.decode(errors="replace") if isinstance(row, bytes) else str(row)
    parts = text.split("\n", 3)
    if len(parts) != 4 or not parts[0].isdigit():
        return Entry(None, "(a row this plugin did not write)", 0)
    version, known, value, writer = parts
    return Entry(value if known == "1" else None, writer, int(version))


class RedisBlocks:
    """BingX's endpoint blocks shared through Redis: one bot's block is every bot's
    (``net/throttle.py``'s :class:`BlockRegistry` publishes and consults it). Read at most every
    :data:`BLOCKS_CACHE_S`, so a request checks memory, not Redis.

    Only the ``endpoints`` BingX limits per account (``"METHOD /path"``, the budget's): market
    data is limited per IP, which bots on other machines do not share, and is what ccxt's async
    object fetches inside freqtrade's event loop, which must not wait on Redis.
    """

    def __init__(
        self,
        store: RedisStore,
        endpoints: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.endpoints = frozenset(endpoints)
        self._clock = clock
        self._key = store.key("blocks")
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, str]] = {}  # endpoint -> (monotonic end, reason)
        self._read_at: float | None = None

    def publish(self, endpoint: str, seconds: float, reason: str) -> None:
        if endpoint not in self.endpoints:
            return
        try:
            self.store.run("block", self._key, [endpoint, int(seconds * 1000), _text(reason)])
        except StoreBusy:
            return  # said by the store; this bot keeps the block on its own
        with self._lock:
            self._read_at = None  # read again on the next request

    def remaining(self, endpoint: str) -> tuple[float, str]:
        """Seconds until the endpoint may be used again by any bot, and why."""
        if endpoint not in self.endpoints:
            return 0.0, ""
        now = self._clock()
        with self._lock:
            due = self._read_at is None or now - self._read_at >= BLOCKS_CACHE_S
            if due:
                self._read_at = now  # one thread reads; the others use what is known
        if due:
            self._refresh(now)
        with self._lock:
            until, reason = self._known.get(endpoint, (0.0, ""))
        return max(until - now, 0.0), reason

    def _refresh(self, now: float) -> None:
        try:
            answer = self.store.run("blocks", self._key, [])
        except StoreBusy:
            return
        try:
            server_now = int(answer[0])
        except (TypeError, ValueError, IndexError):
            return
        known = {}
        for endpoint, row in zip(answer[1::2], answer[2::2], strict=False):
            text = row.decode(errors="replace") if isinstance(row, bytes) else str(row)
            until, _, reason = text.partition("\n")
            if not until.isdigit():
                continue  # not this plugin's: no block
            left_s = (int(until) - server_now) / 1000
            if left_s > 0:
                name = endpoint.decode() if isinstance(endpoint, bytes) else str(endpoint)
                known[name] = (now + left_s, reason)
        with self._lock:
            self._known = known

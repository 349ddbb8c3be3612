"""HTTP requests with a deadline for the whole request and a cap on the reply's size.

A ``requests`` timeout bounds each socket read, not the request: a server that drips one byte
every few seconds, or sends an endless chunked body, holds the caller for ever, and a huge body
is read into memory whole. :class:`BoundedSession` is a ``requests.Session`` that

- ends every request at its deadline (connect, send, headers and body together): a watchdog
  thread shuts the socket down, which wakes the blocked read at once;
- reads the body in chunks and gives up beyond ``max_reply_bytes`` (checked against
  ``Content-Length`` first, and again on the decoded bytes as they come);
- never follows redirects: a signed URL goes only to the host it was signed for.

Either failure drops the connection and raises a ``requests`` exception that callers already
treat as temporary: :class:`ReplyDeadlineExceeded` (a ``Timeout``) or :class:`ReplyTooLarge`
(a ``ConnectionError``). ccxt turns them into ``RequestTimeout`` and ``NetworkError``.
"""

import contextlib
import datetime
import heapq
import itertools
import math
import os
import socket
import threading
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection


# BingX's largest replies (the contract list, the coin list with its networks, 1440 candles) are
# well under 2 MiB. 32 MiB leaves room for growth and still keeps a hostile body out of memory.
MAX_REPLY_BYTES = 32 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024
# The keyword arguments of a request BoundedSession sends without requests' session layer.
_PLAIN_KWARGS = frozenset({"headers", "stream", "allow_redirects"})


class ReplyDeadlineExceeded(requests.Timeout):
    """No complete reply before the request's deadline; the connection was dropped."""


class ReplyTooLarge(requests.ConnectionError):
    """The reply was larger than the cap; the connection was dropped."""


class _Guard:
    """One request's deadline and the socket (descriptor) it is using."""

    __slots__ = ("deadline", "fd", "fired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.fd: int | None = None  # a duplicate descriptor of its socket, closed on detach


class _Watchdog:
    """Shuts down the socket of each request still running at its deadline (one thread)."""

    def __init__(self) -> None:
        self._holding: set[_Guard] = set()
        self.reset()

    # Heap entries of stopped requests are dropped when they reach the top; past this many
    # (and twice the live ones) the heap is rebuilt from the live ones.
    COMPACT_AT = 256

    def reset(self) -> None:
        """Start afresh (also in a forked child, which has none of the parent's threads)."""
        # A forked child holds copies of the descriptors of the parent's requests in flight;
        # it never ends those requests, so it closes them now (kept, they would hold the
        # parent's connections open for as long as the child lives).
        for guard in self._holding:
            if guard.fd is not None:
                with contextlib.suppress(OSError):
                    os.close(guard.fd)
                guard.fd = None
        self._holding = set()
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._live = 0  # guards started and not stopped
        # When the thread wakes up on its own (inf: only when told). A request whose deadline
        # is no earlier needs no wake-up call: most requests end long before their deadline,
        # and waking the thread on each one cost a thread switch per request.
        self._next_wake = math.inf
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    # --- the requesting thread ---------------------------------------------------------

    def start(self, deadline: float) -> _Guard:
        guard = _Guard(deadline)
        self._stack().append(guard)
        with self._wake:
            heapq.heappush(self._heap, (deadline, next(self._order), guard))
            self._live += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="bingx-http-deadline", daemon=True
                )
                self._thread.start()
            if deadline < self._next_wake:
                self._next_wake = deadline  # the thread recomputes it as soon as it runs
                self._wake.notify()
        return guard

    def stop(self, guard: _Guard) -> None:
        stack = self._stack()
        if stack and stack[-1] is guard:
            stack.pop()
        with self._wake:
            self._release(guard)
            if guard.deadline >= 0:
                guard.deadline = -1.0  # tells the thread to drop it (the heap is cleaned lazily)
                self._live -= 1
            if len(self._heap) > max(self.COMPACT_AT, 2 * self._live):
                self._heap = [entry for entry in self._heap if entry[2].deadline == entry[0]]
                heapq.heapify(self._heap)

    def attach(self, sock: socket.socket | None) -> None:
        """The current request now uses ``sock`` (called from the connection class)."""
        stack = self._stack()
        if not stack or sock is None:
            return
        guard = stack[-1]
        try:
            # A descriptor of our own: the connection may close or TLS-wrap its socket, and a
            # shutdown through any descriptor ends the connection for all of them. A bare
            # number (a socket object is made only to shut it down): this runs on every request.
            duplicate = os.dup(sock.fileno())
        except OSError:
            return
        with self._wake:
            self._release(guard)
            guard.fd = duplicate
            self._holding.add(guard)
            if guard.fired:
                _shut(duplicate)

    def detach(self) -> None:
        """The current request's connection goes back to the pool: hands off from now on."""
        stack = self._stack()
        if stack:
            with self._wake:
                self._release(stack[-1])

    # --- the watchdog thread -----------------------------------------------------------

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].deadline != self._heap[0][0]):
                    heapq.heappop(self._heap)  # stopped, or a later deadline
                if not self._heap:
                    self._next_wake = math.inf
                    self._wake.wait()
                    continue
                deadline, _order, guard = self._heap[0]
                if deadline > now:
                    self._next_wake = deadline
                    self._wake.wait(deadline - now)
                    continue
                heapq.heappop(self._heap)
                guard.fired = True
                if guard.fd is not None:
                    _shut(guard.fd)

    # --- helpers -------------------------------------------------------------------------

    def _stack(self) -> list[_Guard]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _release(self, guard: _Guard) -> None:
        # Under the lock, as every use of guard.fd: the number is never used once closed.
        if guard.fd is not None:
            os.close(guard.fd)
            guard.fd = None
            self._holding.discard(guard)


def _shut(fd: int) -> None:
    """Shut the connection down through the descriptor ``fd`` (which stays open)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return  # not a socket any more
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer
    finally:
        sock.detach()  # the descriptor is the guard's, closed by _release


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.reset)


class _GuardedConnection:
    """Tells the watchdog which socket the current request uses."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _WATCHDOG.attach(sock)  # before any TLS handshake, which can stall too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _WATCHDOG.attach(self.sock)  # type: ignore[attr-defined]  # a kept-alive connection
        super().request(*args, **kwargs)  # type: ignore[misc]


class _GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedPool:
    def _put_conn(self, conn: Any) -> None:
        _WATCHDOG.detach()  # an idle connection in the pool belongs to no deadline
        super()._put_conn(conn)  # type: ignore[misc]


class _GuardedHTTPConnectionPool(_GuardedPool, urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(_GuardedPool, urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOL_CLASSES = {"http": _GuardedHTTPConnectionPool, "https": _GuardedHTTPSConnectionPool}


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOL_CLASSES)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOL_CLASSES)
        return manager


def split_timeout(timeout: Any) -> tuple[float, float]:
    """``(connect, total)`` seconds from a number (both) or a pair."""
    if isinstance(timeout, tuple | list):
        connect, total = timeout
    else:
        connect = total = timeout
    if connect is None or total is None or not (connect > 0 and total > 0):
        raise ValueError("a bounded request needs a positive connect timeout and deadline")
    return float(min(connect, total)), float(total)


class BoundedSession(requests.Session):
    """A ``requests.Session`` whose every request ends by its deadline, with a capped reply.

    ``timeout`` is ``(connect, total)`` seconds, or one number for both: ``total`` bounds the
    whole request. The returned response has its body read already.
    """

    def __init__(self, max_reply_bytes: int = MAX_REPLY_BYTES) -> None:
        super().__init__()
        self.max_reply_bytes = max_reply_bytes
        adapter = _GuardedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str, url: str, *, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        connect_s, total_s = split_timeout(timeout)
        kwargs["stream"] = True
        kwargs["allow_redirects"] = False
        guard = _WATCHDOG.start(time.monotonic() + total_s)
        try:
            if self._is_plain(kwargs):
                response = self._send_plain(method, url, (connect_s, total_s), kwargs)
            else:
                response = super().request(method, url, timeout=(connect_s, total_s), **kwargs)
            try:
                response._content = self._read_body(response, guard, total_s)
            except BaseException:
                response.close()  # drops the connection: it is never reused half-read
                raise
            response._content_consumed = True
        except ReplyDeadlineExceeded:
            raise
        except requests.RequestException:
            if guard.fired or time.monotonic() >= guard.deadline:
                # Not chained: requests' exceptions quote the URL, signature included.
                raise ReplyDeadlineExceeded(_late(total_s)) from None
            raise
        finally:
            _WATCHDOG.stop(guard)
        return response

    def _is_plain(self, kwargs: dict[str, Any]) -> bool:
        """True for a request with nothing for ``requests``' session layer to add or merge:
        headers only, no cookies, auth, hooks or environment (the transport's requests)."""
        return (
            kwargs.keys() <= _PLAIN_KWARGS
            and not self.trust_env
            and self.auth is None
            and not self.params
            and not self.cookies
            and not any(self.hooks.values())
        )

    def _send_plain(
        self, method: str, url: str, timeout: tuple[float, float], kwargs: dict[str, Any]
    ) -> requests.Response:
        """What ``Session.request`` does for such a request, without its general machinery.

        The session layer (merging cookies, auth, hooks and environment settings, redirect
        bookkeeping) cost about a third of a loopback round trip. The request is prepared as
        ``requests`` prepares it (method, URL checked and re-quoted, headers checked and merged
        over the session's, body) and goes out through the same adapter and connection pool.
        """
        request = requests.PreparedRequest()
        request.prepare_method(method)
        request.prepare_url(url, None)
        request.prepare_headers(
            merge_setting(kwargs.get("headers"), self.headers, dict_class=CaseInsensitiveDict)
        )
        request.prepare_body(None, None)
        request.prepare_hooks({})
        proxies = self.rebuild_proxies(request, self.proxies)  # as Session.send: proxy auth
        started = time.perf_counter()
        response = self.get_adapter(request.url).send(
            request,
            stream=True,
            timeout=timeout,
            verify=self.verify,
            cert=self.cert,
            proxies=proxies,
        )
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        if "Set-Cookie" in response.headers:
            # Kept as the session would; with cookies held, later requests take its own path.
            extract_cookies_to_jar(self.cookies, request, response.raw)
        return response

    def _read_body(self, response: requests.Response, guard: _Guard, total_s: float) -> bytes:
        limit = self.max_reply_bytes
        declared = _as_int(response.headers.get("Content-Length"))
        if declared is not None and declared > limit:
            raise ReplyTooLarge(f"reply of {declared} bytes is over the {limit}-byte cap")
        body = bytearray()
        for chunk in response.iter_content(_CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise ReplyTooLarge(f"reply is over the {limit}-byte cap")
            if time.monotonic() >= guard.deadline:
                raise ReplyDeadlineExceeded(_late(total_s))
        return bytes(body)


def _late(total_s: float) -> str:
    return f"no complete reply within the request's deadline ({total_s:g} s)"


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

"""HTTP requests with a deadline for the whole request and a cap on the reply's size.

A ``requests`` timeout bounds each socket read, not the request: a server that drips one byte
every few seconds, or sends an endless chunked body, holds the caller for ever, and a huge body
is read into memory whole. :class:`BoundedSession` is a ``requests.Session`` that

- ends every request at its deadline (name look-up, every connection attempt, send, headers
  and body together): the host name is looked up in a thread of its own, waited for only
  until the deadline; each address is tried with what is left of it (never the whole connect
  timeout per address); once connected, a watchdog thread shuts the socket down at the
  deadline, which wakes the blocked read at once;
- reads the body in chunks and gives up beyond ``max_reply_bytes`` (checked against
  ``Content-Length`` first, and again on the decoded bytes as they come);
- never follows redirects: a signed URL goes only to the host it was signed for.

Either failure drops the connection and raises a ``requests`` exception that callers already
treat as temporary: :class:`ReplyDeadlineExceeded` (a ``Timeout``) or :class:`ReplyTooLarge`
(a ``ConnectionError``). ccxt turns them into ``RequestTimeout`` and ``NetworkError``.
"""

import concurrent.futures
import contextlib
import datetime
import heapq
import ipaddress
import itertools
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from freqtrade_bingx.bingx.replies import whole


try:  # optional: requests and urllib3 use SOCKS proxies only with PySocks installed
    import socks
    from urllib3.contrib.socks import (
        SOCKSConnection,
        SOCKSHTTPConnectionPool,
        SOCKSHTTPSConnectionPool,
    )
except ImportError:
    socks = None


# BingX's largest replies (the contract list, the coin list with its networks, 1440 candles) are
# well under 2 MiB. 32 MiB leaves room for growth and still keeps a hostile body out of memory.
MAX_REPLY_BYTES = 32 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024
# The keyword arguments of a request BoundedSession sends without requests' session layer.
_PLAIN_KWARGS = frozenset({"headers", "stream", "allow_redirects"})
# Name look-ups still running after their requests gave up (getaddrinfo cannot be interrupted:
# a DNS server that never answers holds its thread for the resolver's own timeouts, 5 s times
# 2 attempts per server with glibc's defaults). Look-ups of one name share a thread; past this
# many names pending, a request fails at once instead of starting another thread.
MAX_PENDING_LOOKUPS = 8


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

    def current(self) -> _Guard | None:
        """The guard of the request running in this thread, if any."""
        stack = self._stack()
        return stack[-1] if stack else None

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


class _Lookups:
    """Host name look-ups a request waits for only until its deadline (see
    :data:`MAX_PENDING_LOOKUPS`)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start afresh (also in a forked child, where the look-up threads do not exist)."""
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int, int], concurrent.futures.Future] = {}

    def addresses(self, host: str, port: int, family: int, deadline: float) -> list[tuple]:
        """``socket.getaddrinfo(host, port, family, SOCK_STREAM)``, or ``TimeoutError`` at
        ``deadline`` (monotonic seconds)."""
        if _is_ip_address(host):  # nothing to look up: getaddrinfo answers at once
            return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        future = self.start(host, port, family)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"no address for {host} within the request's deadline") from None

    def start(self, host: str, port: int, family: int) -> concurrent.futures.Future:
        """The look-up of ``host`` running (or started now) in its thread; it cannot be
        cancelled, so a waiter that gives up leaves it to the others."""
        key = (host, port, family)
        with self._lock:
            future = self._pending.get(key)
            if future is None:
                if len(self._pending) >= MAX_PENDING_LOOKUPS:
                    raise socket.gaierror(
                        socket.EAI_AGAIN,
                        f"{len(self._pending)} host name look-ups still unanswered",
                    )
                future = self._pending[key] = concurrent.futures.Future()
                future.set_running_or_notify_cancel()
                threading.Thread(
                    target=self._look_up, args=(key, future), name="bingx-http-lookup", daemon=True
                ).start()
        return future

    def _look_up(self, key: tuple[str, int, int], future: concurrent.futures.Future) -> None:
        host, port, family = key
        try:
            future.set_result(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM))
        except OSError as e:
            future.set_exception(e)
        except Exception as e:  # noqa: BLE001 - UnicodeError for a malformed name, ...
            future.set_exception(OSError(f"cannot look up {host!r}: {type(e).__name__}"))
        finally:
            with self._lock:
                if self._pending.get(key) is future:
                    del self._pending[key]


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 address may name its interface
    except ValueError:
        return False
    return True


_LOOKUPS = _Lookups()
os.register_at_fork(after_in_child=_LOOKUPS.reset)


def start_lookup(host: str, port: int, family: int) -> concurrent.futures.Future:
    """``socket.getaddrinfo(host, port, family, SOCK_STREAM)`` in the look-up threads shared
    with every bounded request (see :data:`MAX_PENDING_LOOKUPS`); ``socket.gaierror`` at once
    when too many are pending."""
    return _LOOKUPS.start(host, port, family)


def _connect_first(
    addresses: list[tuple],
    connect_s: float | None,
    deadline: float,
    new_socket: Callable[[tuple], tuple[socket.socket, Any]],
    source_address: tuple[str, int] | None = None,
    socket_options: Any = None,
) -> socket.socket:
    """A socket connected to the first of ``addresses`` (getaddrinfo's entries) that answers:
    each tried in turn for ``connect_s`` seconds at most, never past ``deadline`` (monotonic
    seconds, ``TimeoutError``). ``new_socket(entry)`` gives an unconnected socket and where to
    connect it."""
    error: OSError | None = None
    for entry in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock, destination = new_socket(entry)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(left if connect_s is None else min(connect_s, left))
            if source_address:
                sock.bind(source_address)
            # From now on the deadline shuts it down: a SOCKS handshake, and the TLS handshake
            # after connecting, can stall too.
            _WATCHDOG.attach(sock)
            sock.connect(destination)
        except OSError as e:
            sock.close()
            # PySocks wraps what went wrong: a timeout stays a timeout.
            cause = getattr(e, "socket_err", None)
            error = cause if isinstance(cause, TimeoutError) else e
            continue
        return sock
    if time.monotonic() >= deadline:
        raise TimeoutError("could not connect within the request's deadline")
    raise error or OSError("no address to connect to")


def _plain_socket(entry: tuple) -> tuple[socket.socket, Any]:
    family, kind, proto, _name, address = entry
    return socket.socket(family, kind, proto), address


class _GuardedConnection:
    """Connects within the current request's deadline and tells the watchdog which socket the
    request uses."""

    def _new_conn(self) -> socket.socket:
        guard = _WATCHDOG.current()
        if guard is None:  # not a request of BoundedSession's
            return super()._new_conn()  # type: ignore[misc]
        # What urllib3's own _new_conn does, connecting within the deadline.
        timeout = self.timeout  # type: ignore[attr-defined]
        connect_s = timeout if isinstance(timeout, int | float) else None
        try:
            sock = self._connect_within(connect_s, guard.deadline)
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e  # type: ignore[attr-defined]
        except TimeoutError as e:
            raise ConnectTimeoutError(self, str(e)) from e
        except OSError as e:
            raise NewConnectionError(self, f"Failed to establish a new connection: {e}") from e
        sys.audit("http.client.connect", self, self.host, self.port)  # type: ignore[attr-defined]
        return sock

    def _connect_within(self, connect_s: float | None, deadline: float) -> socket.socket:
        """Connected to the host, looked up within the deadline, or to the HTTP proxy."""
        host, port = self._dns_host.strip("[]"), self.port  # type: ignore[attr-defined]
        return _connect_first(
            _LOOKUPS.addresses(host, port, allowed_gai_family(), deadline),
            connect_s,
            deadline,
            _plain_socket,
            self.source_address,  # type: ignore[attr-defined]
            self.socket_options,  # type: ignore[attr-defined]
        )

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
_SOCKS_POOL_CLASSES: dict[str, type] = {}


if socks is not None:

    class _GuardedSocksConnection(_GuardedConnection, SOCKSConnection):
        """Through a SOCKS proxy (PySocks, when installed): the proxy's name looked up and its
        addresses tried within the deadline, the watchdog on the socket from before the SOCKS
        handshake, and a name the proxy does not resolve itself (``socks5://``, ``socks4://``)
        looked up here within the deadline too."""

        def _connect_within(self, connect_s: float | None, deadline: float) -> socket.socket:
            options = self._socks_options
            host = self.host.strip("[]")
            if not options["rdns"]:
                found = _LOOKUPS.addresses(host, self.port, allowed_gai_family(), deadline)
                host = found[0][4][0] if found else host
            version = options["socks_version"]
            proxy_port = int(options["proxy_port"] or socks.DEFAULT_PORTS[version])

            def new_socket(entry: tuple) -> tuple[socket.socket, Any]:
                family, kind, proto, _name, proxy = entry
                sock = socks.socksocket(family, kind, proto)
                user, password = options["username"], options["password"]
                sock.set_proxy(version, proxy[0], proxy[1], options["rdns"], user, password)
                return sock, (host, self.port)

            return _connect_first(
                _LOOKUPS.addresses(options["proxy_host"].strip("[]"), proxy_port, 0, deadline),
                connect_s,
                deadline,
                new_socket,
                self.source_address,
                self.socket_options,
            )

    class _GuardedSocksHTTPSConnection(_GuardedSocksConnection, HTTPSConnection):
        pass

    class _GuardedSocksHTTPConnectionPool(_GuardedPool, SOCKSHTTPConnectionPool):
        ConnectionCls = _GuardedSocksConnection

    class _GuardedSocksHTTPSConnectionPool(_GuardedPool, SOCKSHTTPSConnectionPool):
        ConnectionCls = _GuardedSocksHTTPSConnection

    _SOCKS_POOL_CLASSES = {
        "http": _GuardedSocksHTTPConnectionPool,
        "https": _GuardedSocksHTTPSConnectionPool,
    }


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOL_CLASSES)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        socks_proxy = proxy.lower().startswith("socks")
        manager.pool_classes_by_scheme = dict(_SOCKS_POOL_CLASSES if socks_proxy else _POOL_CLASSES)
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
        declared = whole(response.headers.get("Content-Length"))
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

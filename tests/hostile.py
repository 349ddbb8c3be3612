"""Small hostile HTTP servers on 127.0.0.1 (raw sockets, one thread per connection).

Each answers every request the same way:
- ``drip_body``: a 200 with ``Content-Length: 100``, then one body byte every ``interval`` s.
- ``drip_headers``: the status line and headers one byte every ``interval`` s.
- ``endless_chunked``: a chunked 200 whose chunks never end (a small one every ``interval`` s).
- ``huge``: ``Content-Length`` of 1 GiB, then zeros as fast as the client reads them.
- ``flood_chunked``: a chunked 200 of 64 KiB chunks as fast as the client reads them, up to
  1 GiB (no ``Content-Length`` to refuse it by).
- ``count``: accepts connections, counts them and closes them without a byte.
- ``redirect``: a 302 to ``location``.

Also a guard that refuses any connection off loopback before it is made (:class:`LoopbackOnly`).

``served_bytes`` counts the body bytes written, ``connections`` the connections accepted,
``hung_up`` is set when a handler saw the client close its side.
"""

import ipaddress
import random
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self


GIB = 1024**3


class HostileServer:
    def __init__(self, behaviour: str, interval: float = 0.2, location: str = "") -> None:
        self.behaviour = behaviour
        self.interval = interval
        self.location = location
        self.connections = 0
        self.served_bytes = 0
        self.hung_up = threading.Event()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HostileServer":
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._sock.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            if self.behaviour == "count":
                conn.close()
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(2.0)
        try:
            self._read_request(conn)
            getattr(self, f"_{self.behaviour}")(conn)
        except OSError:
            self.hung_up.set()
        finally:
            conn.close()

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionResetError("client went away before its request was complete")
            data += chunk

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            if self._stop.wait(self.interval):
                return
            conn.sendall(bytes([byte]))

    def _drip_body(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        conn.sendall(b"Content-Length: 100\r\n\r\n")
        self._drip(conn, b'{"code":0,"msg":"","data":"' + b"x" * 71 + b'"}')

    def _drip_headers(self, conn: socket.socket) -> None:
        self._drip(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 50)

    def _endless_chunked(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        conn.sendall(b"Transfer-Encoding: chunked\r\n\r\n")
        conn.sendall(b"1\r\n{\r\n")
        while not self._stop.wait(self.interval):
            conn.sendall(b"10\r\n" + b" " * 16 + b"\r\n")

    def _redirect(self, conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\n".encode())
        conn.sendall(b"Content-Length: 0\r\n\r\n")
        conn.recv(1)  # until the client hangs up (it must not send another request here)

    def _huge(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        conn.sendall(f"Content-Length: {GIB}\r\n\r\n".encode())
        self._flood(conn, b"0" * 65536)

    def _flood_chunked(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        conn.sendall(b"Transfer-Encoding: chunked\r\n\r\n")
        self._flood(conn, b"10000\r\n" + b"0" * 65536 + b"\r\n")

    def _flood(self, conn: socket.socket, block: bytes) -> None:
        start = time.monotonic()
        while not self._stop.is_set() and self.served_bytes < GIB:
            conn.sendall(block)
            self.served_bytes += len(block)
            if time.monotonic() - start > 30:  # a client that never hangs up: give up
                return


@contextmanager
def hostile_server(
    behaviour: str, interval: float = 0.2, location: str = ""
) -> Iterator[HostileServer]:
    server = HostileServer(behaviour, interval, location).start()
    try:
        yield server
    finally:
        server.stop()


class _Relay:
    """A listening socket on 127.0.0.1 whose connections ``_handle`` serves, with a thread that
    accepts them; a context manager. ``_relay`` copies both ways between two sockets."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._handle(client)

    def _handle(self, client: socket.socket) -> None:
        raise NotImplementedError

    def _delay(self) -> float:
        return 0.0

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                time.sleep(self._delay())
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class JitterProxy(_Relay):
    """A TCP relay on 127.0.0.1 that delays every chunk, each way, by 0 to ``max_delay`` s.

    Each direction keeps its order, as TCP does: a request sent early may still arrive late.
    """

    def __init__(self, target_port: int, max_delay: float = 0.3, seed: int = 7) -> None:
        self.target_port = target_port
        self.max_delay = max_delay
        self._random = random.Random(seed)
        self._random_lock = threading.Lock()
        super().__init__()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _delay(self) -> float:
        with self._random_lock:
            return self._random.uniform(0.0, self.max_delay)

    def _handle(self, client: socket.socket) -> None:
        self._relay(client, socket.create_connection(("127.0.0.1", self.target_port)))


class LoopbackOnly:
    """Refuses, before anything is sent, every connection this process makes to an address
    off loopback (through Python's ``socket.connect`` audit event: sync and asyncio sockets
    alike), and lists them in ``attempts``. Use as a context manager."""

    _installed = False
    _active: "LoopbackOnly | None" = None

    def __init__(self) -> None:
        self.attempts: list[object] = []

    @classmethod
    def _hook(cls, event: str, args: tuple) -> None:
        guard = cls._active
        if guard is None or event != "socket.connect":
            return
        address = args[1]
        if isinstance(address, tuple) and not _is_loopback(str(address[0])):
            guard.attempts.append(address)
            raise PermissionError(f"test refused a connection off loopback: {address}")

    def __enter__(self) -> Self:
        if not LoopbackOnly._installed:  # audit hooks stay for the process's life
            sys.addaudithook(LoopbackOnly._hook)
            LoopbackOnly._installed = True
        LoopbackOnly._active = self
        return self

    def __exit__(self, *exc: object) -> None:
        LoopbackOnly._active = None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # any other name is refused too


class Socks5Proxy(_Relay):
    """A SOCKS5 proxy on 127.0.0.1 (no authentication, CONNECT only, RFC 1928) that relays to
    loopback targets only. ``behaviour``: ``relay``, or ``drip_handshake`` (its replies one
    byte every ``interval`` s, then the relay). ``targets`` lists the (host, port) asked for."""

    def __init__(self, behaviour: str = "relay", interval: float = 0.3) -> None:
        self.behaviour = behaviour
        self.interval = interval
        self.targets: list[tuple[str, int]] = []
        super().__init__()

    def url(self, scheme: str = "socks5h") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def _handle(self, client: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _send(self, conn: socket.socket, data: bytes) -> None:
        if self.behaviour != "drip_handshake":
            conn.sendall(data)
            return
        for byte in data:
            if self._stop.wait(self.interval):
                raise ConnectionAbortedError("proxy stopped")
            conn.sendall(bytes([byte]))

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(5)
        try:
            _version, methods = _read_exactly(client, 2)
            _read_exactly(client, methods)
            self._send(client, b"\x05\x00")  # no authentication
            _version, _command, _reserved, kind = _read_exactly(client, 4)
            if kind == 1:
                host = socket.inet_ntoa(_read_exactly(client, 4))
            elif kind == 3:
                host = _read_exactly(client, _read_exactly(client, 1)[0]).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, _read_exactly(client, 16))
            port = int.from_bytes(_read_exactly(client, 2), "big")
            self.targets.append((host, port))
            if not _is_loopback(host):
                self._send(client, b"\x05\x02\x00\x01" + bytes(6))  # not allowed by ruleset
                client.close()
                return
            upstream = socket.create_connection((host, port), timeout=5)
            self._send(client, b"\x05\x00\x00\x01" + bytes(6))
        except OSError:
            client.close()
            return
        self._relay(client, upstream)


def _read_exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ConnectionResetError("peer went away")
        data += chunk
    return data

"""Run inside a loopback-only network namespace (tests/test_hostile_network.py starts it): how
long requests with a 2 s deadline take when the host name resolves to two addresses that never
answer a connection, and when the DNS server never answers.

The namespace has only ``lo`` (brought up here); its ``/etc/hosts`` maps
``blackhole.bingx.test`` to 127.0.0.2 and 127.0.0.3 and its ``/etc/resolv.conf`` names
127.0.0.1 as the only DNS server. Here:

- a listening socket on each black-hole address whose accept queue is full: the kernel drops
  every further SYN, so a connection attempt waits until its timeout (a closed port would
  refuse at once);
- a "DNS server" on 127.0.0.1:53 (UDP and TCP) that reads queries and never answers;
- last, a SOCKS proxy named by a host name that never resolves, for the sync paths.

Prints one JSON line per case: ``{"case", "error", "message", "elapsed"}``.
"""

import contextlib
import fcntl
import json
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any


DEADLINE_S = 2.0
BLACKHOLE_ADDRESSES = ("127.0.0.2", "127.0.0.3")
HOSTS = {"blackhole": "blackhole.bingx.test", "silent_dns": "silent.bingx.test"}
PAIR = "BTC/USDT:USDT"


def loopback_up() -> None:
    """``ip link set lo up`` without iproute2 (not in slim images): SIOCGIFFLAGS, then
    SIOCSIFFLAGS with IFF_UP (linux/sockios.h, linux/if.h), on a ``struct ifreq``."""
    get_flags, set_flags, up = 0x8913, 0x8914, 0x1
    layout = "16sh22x"  # ifr_name, ifr_flags, the rest of the 40-byte union
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        reply = fcntl.ioctl(sock, get_flags, struct.pack(layout, b"lo", 0))
        flags = struct.unpack(layout, reply)[1]
        fcntl.ioctl(sock, set_flags, struct.pack(layout, b"lo", flags | up))


def black_holes(port: int = 443) -> list[socket.socket]:
    """Listening sockets whose accept queue is full (kept open by the caller)."""
    kept = []
    for address in BLACKHOLE_ADDRESSES:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((address, port))
        listener.listen(0)
        kept.append(listener)
        for _ in range(8):  # fill the queue until a connection attempt is no longer answered
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.2)
            try:
                filler.connect((address, port))
            except TimeoutError:
                filler.close()
                break
            kept.append(filler)
        else:
            raise RuntimeError(f"could not fill the accept queue on {address}")
    return kept


def silent_dns() -> list[socket.socket]:
    """UDP and TCP sockets on 127.0.0.1:53 that take queries and never answer."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 53))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 53))
    tcp.listen(16)
    accepted: list[socket.socket] = []

    def drop_datagrams() -> None:
        with contextlib.suppress(OSError):  # closed at the end
            while True:
                udp.recv(4096)

    def hold_connections() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(tcp.accept()[0])  # read nothing, answer nothing

    for target in (drop_datagrams, hold_connections):
        threading.Thread(target=target, daemon=True).start()
    return [udp, tcp]


def timed(case: str, call: Callable[[], Any]) -> None:
    started = time.monotonic()
    try:
        call()
    except Exception as e:  # noqa: BLE001 - reported to the test, which checks the class
        error, message = f"{type(e).__module__}.{type(e).__qualname__}", str(e)[:300]
    else:
        error, message = None, ""
    elapsed = time.monotonic() - started
    print(json.dumps({"case": case, "error": error, "message": message, "elapsed": elapsed}))
    sys.stdout.flush()


def main() -> None:
    from freqtrade.enums import CandleType
    from freqtrade.resolvers import ExchangeResolver

    from freqtrade_bingx.sim import FakeBingx
    from tests.configs import API_KEY, API_SECRET, futures_config

    others = [name for _index, name in socket.if_nameindex() if name != "lo"]
    if others:  # its look-ups would go to the machine's real DNS servers
        raise SystemExit(f"only for a loopback-only network namespace, not beside {others}")
    loopback_up()
    kept = black_holes() + silent_dns()
    with FakeBingx(accounts={API_KEY: API_SECRET}) as fake:
        # As tests/conftest.py's make_exchange builds it: the request paths are what counts.
        config = futures_config(fake, datadir=os.environ["XDG_CACHE_HOME"])
        exchange = ExchangeResolver.load_exchange(config, validate=False)
        try:
            exchange.reload_markets(True, load_leverage_tiers=False)
            exchange.bingx.sync_time()  # so the leverage call below is one request
            for name, host in HOSTS.items():
                url = f"https://{host}/openApi"
                # The plugin's own transport, through freqtrade's retrier (one try).
                exchange.link.reset()  # rebuilt for the new host on first use
                exchange._api.urls["api"]["swap"] = url
                exchange.bingx.timeout = (DEADLINE_S, DEADLINE_S)
                timed(
                    f"plugin-{name}",
                    lambda: exchange._set_leverage(3, PAIR, side="buy", count=0),
                )
                # ccxt's sync object (freqtrade's tickers, orders, balances).
                exchange._api.timeout = int(DEADLINE_S * 1000)
                timed(f"ccxt_sync-{name}", lambda: exchange.fetch_ticker(PAIR, count=0))
                # ccxt's async object (freqtrade's candles).
                exchange._api_async.urls["api"]["swap"] = url
                exchange._api_async.timeout = int(DEADLINE_S * 1000)
                candles = exchange._async_get_candle_history(
                    PAIR, "1m", CandleType.FUTURES, count=0
                )
                timed(f"ccxt_async-{name}", partial(exchange.loop.run_until_complete, candles))
            # Through a SOCKS proxy whose name never resolves (PySocks, the test extra).
            proxy = f"socks5h://{HOSTS['silent_dns']}:1080"
            os.environ["ALL_PROXY"] = proxy  # read by the plugin's transport when it is built
            exchange.link.reset()
            exchange._api.urls["api"]["swap"] = f"https://{HOSTS['blackhole']}/openApi"
            exchange.bingx.timeout = (DEADLINE_S, DEADLINE_S)
            timed(
                "plugin-socks_proxy_silent_dns",
                lambda: exchange._set_leverage(3, PAIR, side="buy", count=0),
            )
            exchange._api.socksProxy = proxy
            timed("ccxt_sync-socks_proxy_silent_dns", lambda: exchange.fetch_ticker(PAIR, count=0))
        finally:
            exchange.close()
    for sock in kept:
        sock.close()


if __name__ == "__main__":
    main()

"""BingX's perpetual swap market-data websocket, served on loopback for the fake exchange.

What ccxt.pro's ``bingx.watchOHLCV`` (freqtrade's ``ExchangeWS``) speaks, as BingX documents it.
Every frame this server sends, with its source:

- the heartbeat ``Ping`` (text, gzip-compressed) every 5 s, answered by the client with ``Pong``:
  BingX's "Perpetual Swap Websocket Market Interface" page, sections "Data Compression" ("All
  response data from Websocket server are compressed into GZIP format") and "Heartbeats"
  (BingX-API/BingX-swap-api-doc, Perpetual_Swap_WebSocket_Market_Interface.md); ccxt's bingx
  ``pong()`` quotes the swap heartbeat as the bare string ``Ping``.
- the answer to ``{"id", "reqType": "sub" | "unsub", "dataType"}``: ``{"id", "code": 0, "msg",
  "timestamp"}``. The page ("Subscriptions", "Unsubscribe") shows ``{"id", "code": 0, "msg": ""}``;
  the live confirmation ccxt quotes in ``handle_subscription_status`` carries ``"msg":
  "SUCCESS"`` and ``timestamp``, which is what is sent.
- a refused subscription (a symbol or interval BingX does not list): ``{"id", "code": 100400,
  "msg": "", "timestamp"}``, the live error frame ccxt quotes in ``handle_error_message``.
- a kline push, ``{"code": 0, "dataType": "BTC-USDT@kline_1m", "s": "BTC-USDT", "data": [{"c",
  "o", "h", "l", "v", "T"}]}`` with ``T`` the candle's open time: the live linear-swap frame
  ccxt quotes in ``handle_ohlcv`` (and its ``parse_ws_ohlcv``: "for linear swap, (T) is the
  opening time"); the same fields in the frames quoted in BingX-API/BingX-swap-api-doc issue
  #25. The values are the REST klines' (``candle_row`` of the fake's one price model), so the
  two agree.

When a candle closes, the next push of that subscription is the closed candle's final state,
then the new candle's: a client never keeps a half-made candle as the closed one.

Faults, switchable while it runs (each for the tests that want it): :meth:`drop` (every
connection cut, mid-candle), ``silent`` (nothing sent, not even the heartbeat), ``frozen``
(silent, and nothing read either: the client's pings go unanswered), :meth:`send_raw`
(any bytes: a frame that is not gzip, not JSON), :meth:`push_foreign` (a kline frame of a symbol
nobody asked for) and ``lag_s`` (every frame sent that much later: a slow stream).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .market import INTERVALS, MINUTE_MS


logger = logging.getLogger(__name__)

WS_PATH = (
    "/swap-market"  # ccxt's urls['api']['ws']['linear']: wss://open-api-swap.bingx.com/swap-market
)
PING_INTERVAL_S = 5.0  # "Heartbeats": a Ping every 5 seconds
PUSH_INTERVAL_S = 1.0  # the kline channel pushes "on update"; here once a second
REFUSED_CODE = 100400
# A closed candle is pushed once more at most this many candles back (a clock that jumped).
MAX_CATCH_UP = 5

CandleRow = Callable[[str, int, int, int], dict[str, str]]


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    # dataType -> open time of the candle last pushed (None: none yet)
    subs: dict[str, int | None] = field(default_factory=dict)
    queue: asyncio.Queue | None = None
    pongs: int = 0


class MarketStream:
    """The swap market websocket of one fake exchange, on its own thread and event loop."""

    def __init__(
        self,
        host: str,
        symbols: Callable[[], set[str]],
        candle_row: CandleRow,
        clock_ms: Callable[[], int],
        push_interval_s: float | None = PUSH_INTERVAL_S,
        ping_interval_s: float | None = PING_INTERVAL_S,
    ) -> None:
        """``candle_row(symbol, open_ms, interval_ms, now_ms)``: the REST kline row's values.
        ``push_interval_s`` / ``ping_interval_s`` None: only :meth:`push_now` sends klines,
        nothing sends the heartbeat (tests that move the clock themselves)."""
        self._symbols = symbols
        self._candle_row = candle_row
        self._clock_ms = clock_ms
        self.push_interval_s = push_interval_s
        self.ping_interval_s = ping_interval_s
        self.silent = False
        self.frozen = False
        self.lag_s = 0.0
        self.subscribe_frames: list[dict[str, Any]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self._conns: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._serve, name=f"FakeBingx-ws:{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the fake websocket server did not start")

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get(WS_PATH, self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.SockSite(self._runner, self._sock).start())
        tasks = [loop.create_task(self._every(self.push_interval_s, self._push_all))]
        tasks.append(loop.create_task(self._every(self.ping_interval_s, self._ping_all)))
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for task in tasks:
                task.cancel()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            self._sock.close()
            return
        try:
            self._call(self._close_all())
        except Exception:  # stopping: a connection that will not close is cut with the loop
            logger.debug("fake websocket: closing connections failed", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._thread = None

    def _call(self, coro: Any, timeout: float = 5.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _every(self, interval_s: float | None, action: Callable[[], Any]) -> None:
        if not interval_s:
            return
        while True:
            await asyncio.sleep(interval_s)
            try:
                await action()
            except Exception:  # the loop must survive; the error shows up in the log
                logger.exception("fake websocket: periodic send failed")

    # --- what tests call (from any thread) ----------------------------------------------

    def push_now(self) -> None:
        """Push every subscription's candle now (what the periodic push does)."""
        self._call(self._push_all())

    def ping_now(self) -> None:
        """Send the heartbeat now (what the periodic heartbeat does)."""
        self._call(self._ping_all())

    def drop(self) -> None:
        """Cut every connection at once, without a close frame (a network drop)."""
        self._call(self._drop_all())

    def send_raw(self, payload: bytes, binary: bool = True) -> None:
        """Send ``payload`` as it is to every connection (not gzip, not JSON, ...)."""
        self._call(self._send_all(payload if binary else payload.decode("latin-1"), force=True))

    def push_foreign(self, symbol: str, interval: str = "1m") -> None:
        """A kline frame of ``symbol`` to every connection, whether it asked for it or not."""
        self._call(self._push_foreign(symbol, interval))

    def subscriptions(self) -> list[str]:
        """Every dataType subscribed on an open connection."""
        return [data_type for conn in list(self._conns) for data_type in conn.subs]

    @property
    def connections(self) -> int:
        return len(self._conns)

    @property
    def pongs(self) -> int:
        return sum(conn.pongs for conn in list(self._conns))

    # --- the server -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Connection(ws, request, queue=asyncio.Queue())
        sender = asyncio.get_running_loop().create_task(self._sender(conn))
        self._conns.append(conn)
        try:
            while not ws.closed:
                if self.frozen:  # not reading: aiohttp answers a ping only while reading
                    await asyncio.sleep(0.02)
                    continue
                try:
                    message = await ws.receive(timeout=0.05)
                except TimeoutError:
                    continue
                if message.type == WSMsgType.TEXT:
                    await self._on_text(conn, message.data)
                elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
                    break
        finally:
            if conn in self._conns:
                self._conns.remove(conn)
            sender.cancel()
        return ws

    async def _on_text(self, conn: _Connection, text: str) -> None:
        if text == "Pong":
            conn.pongs += 1
            return
        try:
            request = json.loads(text)
        except ValueError:
            return  # not a request: BingX's pages say nothing of an answer
        if not isinstance(request, dict):
            return
        self.subscribe_frames.append(request)
        req_type, data_type = request.get("reqType"), str(request.get("dataType", ""))
        code = 0
        if req_type == "sub":
            if self._kline(data_type) is None:
                code = REFUSED_CODE
            else:
                conn.subs.setdefault(data_type, None)
        elif req_type == "unsub":
            conn.subs.pop(data_type, None)
        else:
            code = REFUSED_CODE
        msg = "SUCCESS" if code == 0 else ""
        reply = {"id": request.get("id"), "code": code, "msg": msg, "timestamp": self._clock_ms()}
        await self._send(conn, _gzip_json(reply))

    def _kline(self, data_type: str) -> tuple[str, int] | None:
        """(symbol, interval in ms) of ``SYMBOL@kline_<interval>`` if BingX lists both."""
        symbol, sep, interval = data_type.partition("@kline_")
        if not sep or symbol not in self._symbols() or interval not in INTERVALS:
            return None
        return symbol, INTERVALS[interval] * MINUTE_MS

    def _push_frame(self, data_type: str, symbol: str, open_ms: int, step: int, now: int) -> bytes:
        row = self._candle_row(symbol, open_ms, step, now)
        candle = {"c": row["close"], "o": row["open"], "h": row["high"], "l": row["low"]}
        candle.update({"v": row["volume"], "T": open_ms})
        return _gzip_json({"code": 0, "dataType": data_type, "s": symbol, "data": [candle]})

    async def _push_all(self) -> None:
        if self.silent or self.frozen:
            return
        now = self._clock_ms()
        for conn in list(self._conns):
            for data_type, last_open in list(conn.subs.items()):
                symbol, step = self._kline(data_type) or ("", 0)
                if not step:
                    continue
                current = now // step * step
                if last_open is not None and last_open < current:
                    # The candles that closed since the last push, in their final state.
                    first = max(last_open, current - MAX_CATCH_UP * step)
                    for open_ms in range(first, current, step):
                        end = open_ms + step - 1
                        await self._send(
                            conn, self._push_frame(data_type, symbol, open_ms, step, end)
                        )
                await self._send(conn, self._push_frame(data_type, symbol, current, step, now))
                conn.subs[data_type] = current

    async def _push_foreign(self, symbol: str, interval: str) -> None:
        step = INTERVALS[interval] * MINUTE_MS
        now = self._clock_ms()
        data_type = f"{symbol}@kline_{interval}"
        frame = self._push_frame(data_type, symbol, now // step * step, step, now)
        await self._send_all(frame, force=True)

    async def _ping_all(self) -> None:
        if not (self.silent or self.frozen):
            await self._send_all(gzip.compress(b"Ping"))

    async def _send_all(self, frame: bytes | str, force: bool = False) -> None:
        if (self.silent or self.frozen) and not force:
            return
        for conn in list(self._conns):
            await self._send(conn, frame)

    async def _send(self, conn: _Connection, frame: bytes | str) -> None:
        assert conn.queue is not None
        loop = asyncio.get_running_loop()
        conn.queue.put_nowait((loop.time() + self.lag_s, frame))

    async def _sender(self, conn: _Connection) -> None:
        """Sends one connection's frames in order, each no earlier than its time (``lag_s``)."""
        assert conn.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            due, frame = await conn.queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if isinstance(frame, bytes):
                    await conn.ws.send_bytes(frame)
                else:
                    await conn.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return  # the connection is gone; its handler cleans up

    async def _drop_all(self) -> None:
        for conn in list(self._conns):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            if conn in self._conns:
                self._conns.remove(conn)

    async def _close_all(self) -> None:
        for conn in list(self._conns):
            await conn.ws.close()


def _gzip_json(payload: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(payload, separators=(",", ":")).encode())

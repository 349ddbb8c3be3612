"""The plugin's network rules on ccxt.pro's websocket clients (freqtrade's candle feed).

freqtrade builds its websocket object (``ExchangeWS``) through the same ``_init_ccxt`` as its
other async object, so every rule of :mod:`~freqtrade_bingx.net.ccxt_guard` applies to it too:
its URLs are checked at start-up (``wss``, or ``ws`` to loopback only: ``check_urls`` reads
``urls['api']['ws']`` like every other section) and its ``log`` (which each websocket client
takes over) prints redacted. What is left is what only a websocket has, fitted by
:func:`guard_streams`:

- A frame is read by the plugin, not by ccxt's client: gunzipped within
  :data:`MAX_FRAME_BYTES` (ccxt inflates without a bound), JSON decoded with the plugin's
  depth bound (:func:`~freqtrade_bingx.base.files.decode_json`). ccxt's own reading raises
  inside an asyncio callback on a frame that is not gzip or not JSON, which ends its receive
  loop for good: the connection stays open and silent, and freqtrade falls back to REST for
  every pair on it until the next daily reset. Such a frame is dropped and logged instead.
- A kline push is checked (:func:`~freqtrade_bingx.bingx.replies.kline_push`) and dropped
  when it is not a candle, or when it is of a stream this client has not subscribed to (by
  the last ``sub`` / ``unsub`` it sent, not by ccxt's bookkeeping, which a late ``unsub``
  confirmation clears after a new ``sub`` of the same stream): ccxt would keep it in its
  candle cache, where freqtrade could read it later.
- Any frame from BingX counts as a sign of life (BingX sends ``Ping`` every 5 s), and a
  connection with none for :data:`SILENT_AFTER_MS` is closed by ccxt's own keep-alive, which
  rejects the pending watches: freqtrade's watch task ends, its REST fallback carries on and
  the next refresh subscribes again on a fresh connection. ccxt's BingX waits an hour.
"""

import logging
import zlib
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMessage, WSMsgType

from freqtrade_bingx.base.files import decode_json
from freqtrade_bingx.bingx import replies
from freqtrade_bingx.bingx.failures import BingxBadResponse


logger = logging.getLogger(__name__)

# The largest frame taken once inflated: the REST replies' cap (bounded_http.MAX_REPLY_BYTES)
# is for whole market lists; one push of a kline, a ticker or 100 depth levels is a few KB.
MAX_FRAME_BYTES = 1024 * 1024
# ccxt's client pings every KEEP_ALIVE_MS and gives up after MISSES of them without a sign of
# life: 3 x 10 s, while BingX's heartbeat comes every 5 s ("Heartbeats", BingX-swap-api-doc).
KEEP_ALIVE_MS = 10_000
MISSES = 3
SILENT_AFTER_MS = KEEP_ALIVE_MS * MISSES


class FrameDropped(ValueError):
    """A websocket frame the plugin does not pass on (the reason is the message)."""


def guard_streams(api: Any) -> None:
    """Fit the websocket rules onto ``api`` (a ccxt.pro object; others have no websocket)."""
    if not hasattr(api, "clients") or not callable(getattr(api, "client", None)):
        return
    api.streaming = {**api.streaming, "keepAlive": KEEP_ALIVE_MS, "maxPingPongMisses": MISSES}
    make_client = api.client
    handle_message = api.handle_message

    def guarded_client(url: str) -> Any:
        fresh = url not in (api.clients or {})
        client = make_client(url)
        if fresh:
            _read_frames(api, client)
        return client

    def checked_message(client: Any, message: Any) -> Any:
        try:
            _check_push(client, message)
        except FrameDropped as e:
            _dropped(client, str(e))
            return None
        return handle_message(client, message)

    api.client = guarded_client
    api.handle_message = checked_message


def gunzip_bounded(data: bytes, limit: int = MAX_FRAME_BYTES) -> bytes:
    """``data`` gunzipped; :class:`FrameDropped` if it is not gzip or inflates past ``limit``."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as e:
        raise FrameDropped(f"not gzip ({e})") from None
    if len(out) > limit:
        raise FrameDropped(f"over {limit} bytes once inflated")
    if not inflater.eof:
        raise FrameDropped("not gzip (truncated)")
    return out


def decode_frame(message: WSMessage) -> Any:
    """A TEXT or BINARY (gzip) frame's value: JSON decoded when it looks like JSON, else text."""
    data = message.data
    if message.type == WSMsgType.BINARY:
        data = gunzip_bounded(data)
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise FrameDropped("not UTF-8 text") from None
    if data[:1] in ("{", "["):
        try:
            return decode_json(data)
        except ValueError as e:
            raise FrameDropped(f"not JSON ({e})") from None
    return data


def _read_frames(api: Any, client: Any) -> None:
    """Replace ccxt's reading of ``client``'s data frames (see the module's docstring)."""
    client.gunzip = False
    client.inflate = False
    ccxt_handle = client.handle_message
    ccxt_send = client.send
    client.bingx_streams = set()  # the dataTypes this client asked for, by what it sent

    async def send(message: Any) -> Any:
        if isinstance(message, dict) and isinstance(message.get("dataType"), str):
            if message.get("reqType") == "sub":
                client.bingx_streams.add(message["dataType"])
            elif message.get("reqType") == "unsub":
                client.bingx_streams.discard(message["dataType"])
        return await ccxt_send(message)

    def handle(message: Any) -> None:
        if getattr(message, "type", None) not in (WSMsgType.TEXT, WSMsgType.BINARY):
            ccxt_handle(message)  # ping, pong, close, error: ccxt's own handling
            return
        now = api.milliseconds()
        client.last_message_at = now
        client.lastPong = now  # BingX's traffic (its Ping every 5 s) is the sign of life
        try:
            value = decode_frame(message)
        except FrameDropped as e:
            _dropped(client, str(e))
            return
        if client.verbose:
            client.log(api.iso8601(now), "message", value)
        client.on_message_callback(client, value)

    client.handle_message = handle
    client.send = send


def _check_push(client: Any, message: Any) -> None:
    """:class:`FrameDropped` for a kline push that is not one, or of a stream never asked."""
    if not isinstance(message, dict):
        return
    data_type = message.get("dataType")
    if not isinstance(data_type, str) or "@kline_" not in data_type:
        return
    if data_type not in getattr(client, "bingx_streams", ()):
        raise FrameDropped(f"{data_type} is not subscribed")
    try:
        replies.kline_push(message)
    except BingxBadResponse as e:
        raise FrameDropped(str(e)) from None


def _dropped(client: Any, reason: str) -> None:
    """Log a dropped frame: a warning for the first of each kind on a connection."""
    kind = reason.split(" (", 1)[0]
    seen = client.__dict__.setdefault("_bingx_dropped", set())
    level = logging.DEBUG if kind in seen else logging.WARNING
    seen.add(kind)
    # Without the query: a private stream's URL carries its listen key there.
    where = urlsplit(str(client.url))._replace(query="").geturl()
    logger.log(level, "BingX websocket %s: frame dropped, %s", where, reason)

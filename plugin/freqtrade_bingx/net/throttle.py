"""BingX's endpoint blocks and rate-limit headers, shared by the transport and ccxt.

:class:`BlockRegistry` remembers, per endpoint, until when BingX said it refuses requests
(100410, HTTP 429 / 418 with ``Retry-After``), on a monotonic clock, so a step of the system
clock (NTP, a suspended laptop, a user setting the date) neither freezes requests nor lets
them through early. Nothing is sent to a blocked endpoint, by the plugin or by ccxt. The
client-side rate limits are :mod:`freqtrade_bingx.state.account_budget`'s.
"""

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from freqtrade_bingx.bingx.replies import finite


logger = logging.getLogger(__name__)

# A block never lasts longer than this, whatever the reply says. BingX's rate-limit page says a
# throttled client recovers after 5 minutes, and its "over 20 error requests" block counts
# errors over 8 minutes (480000 ms); 15 minutes covers both with room to spare. A longer figure
# comes from a garbled reply or a wrong clock (one reply once blocked an endpoint for 32 years):
# after 15 minutes one request goes out, and if BingX still refuses, its answer blocks again.
MAX_BLOCK_S = 15 * 60.0
# An unblock time already past (our estimate of BingX's clock is a little off) still pauses the
# endpoint this long, so a block never turns into a tight retry loop.
MIN_BLOCK_S = 1.0
# A 100410 that names no unblock time ("rate limited") and carries no rate-limit headers: BingX's
# rate-limit page says the restricted client "recovers after 5 minutes", so nothing is sent to
# the endpoint for 5 minutes. A shorter pause would only spend requests BingX refuses anyway.
PLAIN_RATE_LIMIT_BLOCK_S = 5 * 60.0

# HTTP statuses that say "too many requests" and may carry Retry-After.
RATE_LIMIT_STATUSES = frozenset({418, 429})
# BingX's usage headers (rate-limit page): requests left in the window and when it expires.
REMAIN_HEADER = "X-RateLimit-Requests-Remain"
EXPIRE_HEADER = "X-RateLimit-Requests-Expire"
# Epoch milliseconds are 13 digits from 2001 to 2286; anything shorter (the "480000 ms" of the
# 100202 form) is a duration, anything longer no epoch in milliseconds.
_EPOCH_MS = re.compile(r"(?<!\d)\d{13}(?!\d)")
_EPOCH_MS_MIN = 10**12
_OPENAPI = "/openApi/"


def unblock_time_ms(msg: str) -> int | None:
    """The absolute epoch-millisecond time a 100410 message names, if any (the last one).

    >>> unblock_time_ms("... will be unblocked after 1727193814249")
    1727193814249
    >>> unblock_time_ms("over 20 error code:100202 requests within 480000 ms") is None
    True
    """
    found = _EPOCH_MS.findall(msg or "")
    return int(found[-1]) if found else None


def retry_after_s(value: Any, now_epoch_s: float) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header: delta-seconds or an HTTP date."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - now_epoch_s
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return seconds if math.isfinite(seconds) else None


def header_pause_s(headers: Mapping[str, Any] | None, server_now_ms: int) -> float | None:
    """How long BingX's usage headers say to wait, if they say the window is used up.

    ``X-RateLimit-Requests-Expire`` is read as milliseconds until the window expires (the live
    replies quoted in public bots show e.g. ``10000`` for a 10-second window), or as an epoch
    time in milliseconds when it is that large.
    """
    if not headers:
        return None
    expire = finite(_header(headers, EXPIRE_HEADER))
    remain = finite(_header(headers, REMAIN_HEADER))
    if expire is None or (remain is not None and remain > 0):
        return None
    if expire >= _EPOCH_MS_MIN:
        return (expire - server_now_ms) / 1000
    return expire / 1000


def endpoint_key(method: str, path: str) -> str:
    """The endpoint a request names, the same for the plugin's and ccxt's URLs: ``"POST
    /openApi/swap/v2/trade/leverage"``.

    BingX limits each API on its own, and its endpoint pages name an API by method and path
    (placing, cancelling and querying an order are three APIs on one path). BingX's paths
    start at ``/openApi/``; anything before it (a proxy's prefix) is not part of the endpoint.
    """
    at = path.find(_OPENAPI)
    return f"{method.upper()} {path[at:] if at >= 0 else path}"


class BlockRegistry:
    """Until when BingX refuses requests to each endpoint (see :func:`endpoint_key`), on a
    monotonic clock.

    BingX names unblock times in its own epoch milliseconds; each is turned into a duration once,
    with the best estimate of BingX's clock at the time the reply came in, then counted down on
    the monotonic clock. Every block lasts between :data:`MIN_BLOCK_S` and :data:`MAX_BLOCK_S`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, tuple[float, str]] = {}  # endpoint -> (monotonic end, reason)
        self._lock = threading.Lock()
        # The blocks other bots on the account met (state/redis_store.RedisBlocks: ``publish``
        # and ``remaining``), when they share them; None: this bot's own only.
        self.shared: Any = None

    def remaining_s(self, key: str) -> float:
        """Seconds until the endpoint may be used again; 0 when it is not blocked (by this
        bot's replies, or by another bot's shared ones)."""
        with self._lock:
            until, _reason = self._until.get(key, (0.0, ""))
            left = until - self._clock()
            if left <= 0 and key in self._until:
                del self._until[key]
        shared = self.shared
        if shared is not None and left <= 0:  # bounded as this bot's own (a row not ours)
            left = min(shared.remaining(key)[0], MAX_BLOCK_S)
        return max(left, 0.0)

    def reason(self, key: str) -> str:
        with self._lock:
            reason = self._until.get(key, (0.0, ""))[1]
        shared = self.shared
        if not reason and shared is not None:
            reason = f"another bot on this account met: {shared.remaining(key)[1]}"
        return reason

    def clear(self) -> None:
        with self._lock:
            self._until.clear()

    def block(self, key: str, seconds: float, reason: str) -> float:
        """Block the endpoint for ``seconds``, bounded; returns the seconds applied."""
        if not math.isfinite(seconds):
            seconds = MAX_BLOCK_S
        seconds = min(max(seconds, MIN_BLOCK_S), MAX_BLOCK_S)
        with self._lock:
            until = self._clock() + seconds
            if until > self._until.get(key, (0.0, ""))[0]:
                self._until[key] = (until, reason)
        shared = self.shared
        if shared is not None:  # outside the lock: a Redis call
            shared.publish(key, seconds, reason)
        logger.warning(
            "BingX blocked %s: nothing is sent there for %.0f s (%s)", key, seconds, reason
        )
        return seconds

    def note_rate_limit(
        self, key: str, msg: str, headers: Mapping[str, Any] | None, server_now_ms: int
    ) -> float:
        """Record a 100410: until its unblock time, else what the headers say, else 5 minutes."""
        until_ms = unblock_time_ms(msg)
        if until_ms is not None:
            seconds = (until_ms - server_now_ms) / 1000
        else:
            pause = header_pause_s(headers, server_now_ms)
            seconds = PLAIN_RATE_LIMIT_BLOCK_S if pause is None else pause
        return self.block(key, seconds, msg or "100410")

    def note_retry_after(
        self, key: str, status: int, headers: Mapping[str, Any] | None, now_epoch_s: float
    ) -> float | None:
        """Record an HTTP 429 / 418 that says when to come back (``Retry-After``)."""
        seconds = retry_after_s(_header(headers or {}, "Retry-After"), now_epoch_s)
        if seconds is None:
            return None
        return self.block(key, seconds, f"HTTP {status}, Retry-After {seconds:.0f} s")


def _header(headers: Mapping[str, Any], name: str) -> Any:
    # requests' and aiohttp's header maps ignore case; ccxt's async path hands over a plain dict.
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lower), None)
    return value

"""Signs and sends BingX REST requests; knows nothing of freqtrade.

Request path: check the endpoint is not blocked -> wait for the client-side rate limit ->
add ``timestamp`` / ``recvWindow`` -> sign -> send with a timeout -> check the HTTP status ->
unpack the ``{code, msg, data}`` envelope.

Exceptions (all carry method, path, and where known the BingX code, msg and HTTP status;
none carries the key, the secret, a signature or a signed URL)::

    BingxError
     +-- BingxRequestFailed   no answer: timeout, refused or reset connection
     +-- BingxBadResponse     an answer that is not a BingX envelope: HTTP 4xx/5xx, not JSON
     +-- BingxRejected        an envelope with a non-zero ``code``
     +-- BingxBlocked         refused locally: BingX blocked this endpoint until ``until_ms``
"""

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import requests

from freqtrade_bingx.account_budget import AccountBudget
from freqtrade_bingx.rate_limits import client_limits


logger = logging.getLogger(__name__)

# (connect, read) seconds. BingX answers in well under a second; a stalled socket must not
# hold freqtrade's loop for long.
DEFAULT_TIMEOUT = (3.05, 10.0)
DEFAULT_RECV_WINDOW_MS = 5000
SERVER_TIME_PATH = "/openApi/swap/v2/server/time"

# Requests per second per endpoint, kept on the client so BingX never has to refuse one:
# BingX's figures per endpoint page, or a lower one where sources disagree (rate_limits.py).
DEFAULT_RATE_LIMITS: dict[tuple[str, str], float] = client_limits()

RATE_LIMIT_CODE = 100410
# Codes after which our clock offset is suspect: re-read the server time. 80014 is BingX's
# generic "Invalid parameters" ("Invalid parameters, err:EOF"; since 2025-10 sent as 109400, see
# BingX's change log) and 100421 also answers "This pair is currently restricted from API
# trading": only a message about the timestamp ("timestamp is invalid", "Null timestamp or
# timestamp mismatch") is a clock problem.
CLOCK_ERROR_CODES = frozenset({80014, 100421, 109400})
TIMESTAMP_TEXT = r"timestamp"
# A 100410 without an unblock time ("rate limited") still means: slow down for a moment.
PLAIN_RATE_LIMIT_PAUSE_MS = 1000
_EPOCH_MS = re.compile(r"\b(1\d{12})\b")
_SIGNATURE_IN_URL = re.compile(r"(signature=)[0-9a-fA-F]+")


def redact_signatures(text: str) -> str:
    """``text`` with any ``signature=<hex>`` made unreadable (ccxt's errors quote signed URLs)."""
    return _SIGNATURE_IN_URL.sub(r"\1<redacted>", text)


class _RedactSignatures(logging.Filter):
    """urllib3 logs each request's URL at DEBUG; BingX's signature rides in that URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_signatures(a) if isinstance(a, str) else a for a in record.args
            )
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactSignatures())


class BingxError(Exception):
    def __init__(
        self,
        reason: str,
        *,
        method: str,
        path: str,
        code: int | None = None,
        msg: str = "",
        http_status: int | None = None,
    ) -> None:
        self.reason = reason
        self.method = method
        self.path = path
        self.code = code
        self.msg = msg
        self.http_status = http_status
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"BingX {self.method} {self.path}: {self.reason}"]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.msg:
            parts.append(f"msg {self.msg!r}")
        return ", ".join(parts)


class BingxRequestFailed(BingxError):
    """No usable answer. The request may or may not have reached BingX."""


class BingxBadResponse(BingxError):
    """BingX (or something in front of it) answered with something that is not an envelope."""


class BingxRejected(BingxError):
    """BingX answered with a non-zero ``code``."""


class BingxBlocked(BingxError):
    """Not sent: BingX said this endpoint is blocked until ``until_ms``."""

    def __init__(self, *, method: str, path: str, until_ms: int, msg: str = "") -> None:
        self.until_ms = until_ms
        super().__init__(
            f"endpoint blocked by BingX until {until_ms} (epoch ms), request not sent",
            method=method,
            path=path,
            code=RATE_LIMIT_CODE,
            msg=msg,
        )


def sign(secret: str, payload: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``payload`` keyed with ``secret``: BingX's signature."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> None:
    """Credentials travel only over https, or over plain http to this machine."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return
    raise ValueError(
        f"Refusing to send BingX credentials to {parts.scheme}://{parts.hostname}: "
        "use https (plain http is only allowed to 127.0.0.1/localhost)"
    )


def is_clock_error(code: int | None, msg: str) -> bool:
    """True when BingX refused a request's timestamp (not another invalid parameter)."""
    if code not in CLOCK_ERROR_CODES:
        return False
    return re.search(TIMESTAMP_TEXT, msg or "", re.IGNORECASE) is not None


def unblock_time_ms(msg: str) -> int | None:
    """The absolute epoch-millisecond time in a 100410 message, if it names one.

    >>> unblock_time_ms("... will be unblocked after 1727193814249")
    1727193814249
    """
    found = _EPOCH_MS.findall(msg or "")
    return int(found[-1]) if found else None


class _RateLimiter:
    """At most ``per_second`` calls in any one-second window; callers wait for a slot."""

    def __init__(self, per_second: float, clock: Callable[[], float], sleep: Callable) -> None:
        self._capacity = max(1, int(per_second))
        self._window = self._capacity / per_second
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot; returns its stamp, to be passed to :meth:`settle`."""
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self._window:
                    self._sent.popleft()
                if len(self._sent) < self._capacity:
                    self._sent.append(now)
                    return now
                self._sleep(self._window - (now - self._sent[0]))

    def settle(self, stamp: float) -> None:
        """Re-stamp a slot with the time its reply came in.

        BingX counts a request when it arrives, some time after it was stamped here; counting
        from the reply keeps the next window clear of it however long the trip took.
        """
        with self._lock:
            try:
                self._sent.remove(stamp)
            except ValueError:
                return  # already out of the window
            self._sent.append(self._clock())  # the latest time: the deque stays in order


class BingxTransport:
    """Signs and sends requests to one BingX REST host.

    :param base_url: scheme and host, e.g. ``https://open-api.bingx.com`` (paths start with
        ``/openApi/...``).
    :param rate_limits: requests per second per ``(method, path)``; merged over the defaults.
    :param budget: the same limits counted across every process on this account, if shared.
    :param clock: seconds since the epoch (injectable for tests); ``sleep`` likewise.
    """

    def __init__(
        self,
        api_key: str,
        secret: str,
        base_url: str,
        *,
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        rate_limits: Mapping[tuple[str, str], float] | None = None,
        session: requests.Session | None = None,
        budget: AccountBudget | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key or not secret:
            raise ValueError("BingX API key and secret are required for private endpoints")
        if not timeout or any(t is None or t <= 0 for t in timeout):
            raise ValueError("every BingX request needs a positive connect and read timeout")
        check_base_url(base_url)
        self.api_key = api_key
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.recv_window_ms = int(recv_window_ms)
        self.timeout = timeout
        self.session = session or _session_for(self.base_url)
        self._clock = clock
        self._sleep = sleep
        limits = {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}
        self._limiters = {
            key: _RateLimiter(per_s, clock, sleep) for key, per_s in limits.items() if per_s
        }
        self.budget = budget
        # path -> (unblock time in server epoch ms, BingX's message that set it)
        self._blocked: dict[str, tuple[int, str]] = {}
        self._offset_ms: int | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BingxTransport(base_url={self.base_url!r}, api_key='***')"

    # --- public -------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def server_now_ms(self) -> int:
        """Our best guess of BingX's clock."""
        if self._offset_ms is None:
            self.sync_time()
        return self.now_ms() + (self._offset_ms or 0)

    def sync_time(self) -> int:
        """Re-read BingX's clock; returns the offset (server minus local) in ms."""
        before = self.now_ms()
        data = self.request("GET", SERVER_TIME_PATH, signed=False)
        after = self.now_ms()
        value = data.get("serverTime") if isinstance(data, dict) else None
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        # int64 milliseconds on BingX's page: not a bool, a float (1e400 reads as inf) or text.
        if not (text.isdigit() and len(text) <= 16):
            raise BingxBadResponse(
                "server time reply lacks serverTime in ms", method="GET", path=SERVER_TIME_PATH
            )
        server_ms = int(text)
        self._offset_ms = server_ms - (before + after) // 2
        logger.debug("BingX clock offset: %d ms", self._offset_ms)
        return self._offset_ms

    @property
    def clock_synced(self) -> bool:
        return self._offset_ms is not None

    @property
    def offset_ms(self) -> int:
        """BingX's clock minus ours, as last measured (0 before the first measurement)."""
        return self._offset_ms or 0

    def blocked_until_ms(self, path: str) -> int:
        return self._blocked.get(path, (0, ""))[0]

    def request(
        self, method: str, path: str, params: Mapping[str, Any] | None = None, *, signed=True
    ) -> Any:
        """Send one request and return the envelope's ``data``."""
        method = method.upper()
        self._refuse_if_blocked(method, path)
        limiter = self._limiters.get((method, path))
        stamp = limiter.acquire() if limiter else None
        # Then the account's budget, shared with other bots on this machine (account_budget.py).
        ticket = self.budget.acquire(method, path) if self.budget else None
        try:
            response = self._send(method, path, self._query(params or {}, signed), signed)
        finally:
            if self.budget:
                self.budget.settle(ticket)
            if limiter:
                limiter.settle(stamp)
        return self._unpack(method, path, response, signed)

    # --- steps ----------------------------------------------------------------------------

    def _refuse_if_blocked(self, method: str, path: str) -> None:
        until, msg = self._blocked.get(path, (0, ""))
        if until and self._server_now_ms_no_sync() < until:
            raise BingxBlocked(method=method, path=path, until_ms=until, msg=msg)

    def _server_now_ms_no_sync(self) -> int:
        # Never sends a request: used where asking the server would defeat the purpose.
        return self.now_ms() + (self._offset_ms or 0)

    def _query(self, params: Mapping[str, Any], signed: bool) -> str:
        items = {key: _wire_value(value) for key, value in params.items() if value is not None}
        if signed:
            items["timestamp"] = str(self.server_now_ms())
            items["recvWindow"] = str(self.recv_window_ms)
        query = urlencode(items)
        if signed:
            # BingX signs the parameter string with its values URL-decoded.
            query += "&signature=" + sign(self._secret, unquote(query))
        return query

    def _send(self, method: str, path: str, query: str, signed: bool) -> requests.Response:
        url = self.base_url + path + (f"?{query}" if query else "")
        headers = {"X-BX-APIKEY": self.api_key} if signed else {}
        logger.debug("BingX %s %s", method, path)
        try:
            return self.session.request(method, url, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            reason = "timed out"
        except requests.ConnectionError:
            reason = "connection failed or was reset"
        except requests.RequestException as e:
            reason = f"request failed ({type(e).__name__})"
        # Raised outside the except blocks on purpose: requests' exceptions quote the signed
        # URL, and a chained cause would put the signature into tracebacks and logs.
        raise BingxRequestFailed(reason, method=method, path=path)

    def _unpack(self, method: str, path: str, response: requests.Response, signed: bool) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        envelope = body if isinstance(body, dict) and "code" in body else None
        if envelope is None:
            if status in (418, 429):
                self._block_for_retry_after(path, response)
            if status != 200:
                reason = "HTTP error"
            elif body is None:
                reason = "reply is not JSON"
            else:
                reason = "reply lacks 'code'"
            raise BingxBadResponse(reason, method=method, path=path, http_status=status)
        code = _as_int(envelope.get("code"))
        msg = str(envelope.get("msg") or "")
        if code == 0 and status == 200:
            return envelope.get("data")
        if code == RATE_LIMIT_CODE:
            until = unblock_time_ms(msg)
            pause_end = self._server_now_ms_no_sync() + PLAIN_RATE_LIMIT_PAUSE_MS
            self._block(path, until or pause_end, msg)
        elif signed and is_clock_error(code, msg):
            self._resync_after_clock_error()
        if code is None or code == 0:
            raise BingxBadResponse(
                "HTTP error", method=method, path=path, http_status=status, msg=msg
            )
        raise BingxRejected(
            "rejected", method=method, path=path, code=code, msg=msg, http_status=status
        )

    def _block(self, path: str, until_ms: int, msg: str) -> None:
        with self._lock:
            if until_ms > self.blocked_until_ms(path):
                self._blocked[path] = (until_ms, msg)
        logger.warning(
            "BingX blocked %s until %d (epoch ms): nothing is sent there before", path, until_ms
        )

    def _block_for_retry_after(self, path: str, response: requests.Response) -> None:
        seconds = _as_int(response.headers.get("Retry-After"))
        if seconds:
            until = self._server_now_ms_no_sync() + seconds * 1000
            self._block(path, until, f"HTTP {response.status_code}, Retry-After {seconds}s")

    def _resync_after_clock_error(self) -> None:
        try:
            self.sync_time()
        except BingxError as e:
            # The original clock error is what the caller needs to see; this one is logged.
            logger.warning("Could not re-read BingX server time: %s", e)


def _session_for(base_url: str) -> requests.Session:
    """A keep-alive session that reads proxy and CA settings from the environment once.

    With ``trust_env`` on, requests re-reads the environment and ~/.netrc on every call, which
    was a measurable part of a loopback round trip (bench/leverage_call.py).
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    return session


def _wire_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

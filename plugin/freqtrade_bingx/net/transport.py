"""Signs and sends BingX REST requests; knows nothing of freqtrade.

Request path: check the endpoint is not blocked -> re-read BingX's clock if due -> wait for a
slot of the rate budget (the account's, shared with the other bots on it, when its file is usable;
else this bot's own, in memory: one of the two, never both) -> add ``timestamp`` /
``recvWindow`` -> sign -> send with a deadline for
the whole request and a cap on the reply's size -> check the HTTP status -> unpack the
``{code, msg, data}`` envelope (and note a block BingX announces in it).

It raises the exceptions of :mod:`freqtrade_bingx.bingx.failures` (their tree is drawn there).
"""

import hashlib
import hmac
import ipaddress
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote, urlsplit

import requests

from freqtrade_bingx.base import files
from freqtrade_bingx.bingx.endpoints import DEFAULT_RECV_WINDOW_MS, SERVER_TIME
from freqtrade_bingx.bingx.errors import is_clock_error
from freqtrade_bingx.bingx.failures import (
    RATE_LIMIT_CODE,
    BingxBadResponse,
    BingxBlocked,
    BingxError,
    BingxNoRoom,
    BingxRejected,
    BingxRequestFailed,
)
from freqtrade_bingx.bingx.rate_limits import client_limits
from freqtrade_bingx.net import redact
from freqtrade_bingx.net.bounded_http import (
    MAX_REPLY_BYTES,
    BoundedSession,
    ReplyDeadlineExceeded,
    ReplyTooLarge,
    split_timeout,
)
from freqtrade_bingx.net.clock import ServerClock, is_plausible_offset
from freqtrade_bingx.net.redact import redact_signatures
from freqtrade_bingx.net.throttle import (
    RATE_LIMIT_STATUSES,
    BlockRegistry,
    endpoint_key,
    unblock_time_ms,
)
from freqtrade_bingx.state.account_budget import AccountBudget, NoRoomInTime, Ticket, local_budget


__all__ = ["redact_signatures", "unblock_time_ms"]  # re-exported: callers import them from here

logger = logging.getLogger(__name__)

# (connect, whole request) seconds. BingX answers in well under a second; a stalled or dripping
# socket must not hold freqtrade's loop for long: the second figure bounds connecting, sending,
# the headers and the body together.
DEFAULT_TIMEOUT = (3.05, 10.0)
# The longest a request waits for room in the account's budget shared with other bots (the
# plugin's own requests and ccxt's): half the whole-request deadline, so the wait and the request
# stay within about one deadline of freqtrade's loop (BingX answers in well under a second).
# Bots taking turns wait a fraction of a second each; only a pile-up of requests is refused.
BUDGET_WAIT_S = DEFAULT_TIMEOUT[1] / 2

# Requests per second per endpoint, kept on the client so BingX never has to refuse one:
# BingX's figures per endpoint page, or a lower one where sources disagree (rate_limits.py).
DEFAULT_RATE_LIMITS: dict[tuple[str, str], float] = client_limits()

# Characters urlencode() leaves as they are; BingX's parameters (symbols, sides, numbers, times)
# are almost always made of these alone, and quoting them one by one cost more than the HMAC.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]*")


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


class BingxTransport:
    """Signs and sends requests to one BingX REST host.

    :param base_url: scheme and host, e.g. ``https://open-api.bingx.com`` (paths start with
        ``/openApi/...``).
    :param timeout: ``(connect, whole request)`` seconds.
    :param rate_limits: requests per second per ``(method, path)``; merged over the defaults.
    :param session: a :class:`BoundedSession` (one is made for ``base_url`` if not given).
    :param budget: the same limits counted across every process on this account, if shared;
        when it is not, or cannot take a request (its file failed, or is busy), the request
        takes a slot of :attr:`local_budget`, the same counting in this process's memory.
    :param blocks: the endpoint blocks, shared with ccxt's objects; ``server_clock`` likewise
        BingX's clock offset.
    :param clock: seconds since the epoch, for timestamps; ``monotonic``: seconds on a clock
        that never steps, for rate limits and blocks; ``sleep`` waits (all injectable).
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
        session: BoundedSession | None = None,
        blocks: BlockRegistry | None = None,
        server_clock: ServerClock | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        budget: AccountBudget | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key or not secret:
            raise ValueError("BingX API key and secret are required for private endpoints")
        if not timeout or len(timeout) != 2:
            raise ValueError("every BingX request needs a connect timeout and a deadline")
        split_timeout(timeout)  # positive figures, or ValueError
        check_base_url(base_url)
        redact.install()
        redact.remember(api_key, secret)
        self.api_key = api_key
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self._base_path = urlsplit(self.base_url).path
        self.recv_window_ms = int(recv_window_ms)
        self.timeout = timeout
        self.session = session or _session_for(self.base_url, max_reply_bytes)
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        limits = {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}
        self.local_budget = local_budget(limits, lambda: round(monotonic() * 1000), sleep)
        # The endpoints whose last request took a slot of the shared budget (see _take_slot).
        self._shared_last: set[tuple[str, str]] = set()
        self.blocks = blocks or BlockRegistry(monotonic)
        self.server_clock = server_clock or ServerClock(monotonic)
        self.budget = budget

    def __repr__(self) -> str:
        return f"BingxTransport(base_url={self.base_url!r}, api_key='***')"

    # --- public -------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def server_now_ms(self) -> int:
        """Our best guess of BingX's clock; never sends a request."""
        return self.now_ms() + self.server_clock.offset_ms

    def sync_time(self) -> int:
        """Re-read BingX's clock now; returns the offset (server minus local) in ms.

        A failure (including a server time more than a day from ours, which is a broken reply,
        not a clock) puts off the next automatic reading: see :mod:`freqtrade_bingx.net.clock`.
        """
        self.server_clock.begin_reading()
        try:
            offset = self._read_offset()
        except BaseException:  # whatever it is, the reading is over: never left claimed
            self.server_clock.record_failure()
            raise
        self.server_clock.record(offset)
        logger.debug("BingX clock offset: %d ms", offset)
        return offset

    def refresh_clock_if_due(self) -> None:
        """Re-read BingX's clock if it was never read or a timestamp was rejected since, and
        the back-off after a failed reading allows; a failure is logged, not raised."""
        if not self.server_clock.claim_reading():
            return
        try:
            offset = self._read_offset()
        except BingxError as e:
            wait = self.server_clock.record_failure()
            logger.warning(
                "Could not read BingX server time (%s); next attempt in %.0f s, requests go "
                "out with the last known offset (%d ms)",
                e,
                wait,
                self.server_clock.offset_ms,
            )
            return
        except BaseException:  # not BingX's answer but ours: raised, and the reading released
            self.server_clock.record_failure()
            raise
        self.server_clock.record(offset)
        logger.debug("BingX clock offset: %d ms", offset)

    @property
    def clock_synced(self) -> bool:
        return self.server_clock.synced

    @property
    def offset_ms(self) -> int:
        """BingX's clock minus ours, as last measured (0 before the first measurement)."""
        return self.server_clock.offset_ms

    def blocked_until_ms(self, method: str, path: str) -> int:
        """When a blocked endpoint opens again, on BingX's clock as we estimate it (0 if open)."""
        left = self.blocks.remaining_s(self._key(method, path))
        return self.server_now_ms() + int(left * 1000) if left else 0

    def request(
        self, method: str, path: str, params: Mapping[str, Any] | None = None, *, signed=True
    ) -> Any:
        """Send one request and return the envelope's ``data``."""
        method = method.upper()
        self._refuse_if_blocked(method, path)
        if signed:
            self.refresh_clock_if_due()
        budget, ticket = self._take_slot(method, path)
        try:
            # The timestamp is taken after the wait for a slot, right before sending.
            response = self._send(method, path, self._query(params or {}, signed), signed)
        finally:
            budget.settle(ticket)
        return self._unpack(method, path, response, signed)

    # --- steps ----------------------------------------------------------------------------

    def _read_offset(self) -> int:
        before = self.now_ms()
        data = self.request("GET", SERVER_TIME, signed=False)
        after = self.now_ms()
        value = data.get("serverTime") if isinstance(data, dict) else None
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        # int64 milliseconds on BingX's page: not a bool, a float (1e400 reads as inf) or text.
        if not (text.isdigit() and len(text) <= 16):
            raise BingxBadResponse(
                "server time reply lacks serverTime in ms", method="GET", path=SERVER_TIME
            )
        server_ms = int(text)
        offset = server_ms - (before + after) // 2
        if not is_plausible_offset(offset):
            raise BingxBadResponse(
                f"server time {server_ms} is more than a day from this machine's clock: "
                "not believed",
                method="GET",
                path=SERVER_TIME,
            )
        return offset

    def _key(self, method: str, path: str) -> str:
        return endpoint_key(method, self._base_path + path)

    def _refuse_if_blocked(self, method: str, path: str) -> None:
        key = self._key(method, path)
        left = self.blocks.remaining_s(key)
        if left > 0:
            until = self.server_now_ms() + int(left * 1000)
            reason = self.blocks.reason(key)
            raise BingxBlocked(method=method, path=path, until_ms=until, msg=reason)

    def _take_slot(self, method: str, path: str) -> tuple[AccountBudget, Ticket | None]:
        """A slot of the account's budget, shared with other bots on this machine
        (account_budget.py), waited for at most :data:`BUDGET_WAIT_S`; when there is none for
        the request (not shared, its file failed or is busy), a slot of this bot's own."""
        shared = self.budget
        if shared is not None:
            try:
                ticket = shared.acquire(method, path, max_wait_s=BUDGET_WAIT_S)
            except NoRoomInTime:
                raise BingxNoRoom(method=method, path=path, waited_s=BUDGET_WAIT_S) from None
            if ticket is not None:
                self._shared_last.add((method, path))
                return shared, ticket
            if (method, path) in self._shared_last:  # the file stopped taking requests: this
                self._shared_last.discard((method, path))  # bot's own budget takes over, with
                self.local_budget.adopt(shared.recent(method, path))  # its latest requests
        return self.local_budget, self.local_budget.acquire(method, path)

    def _query(self, params: Mapping[str, Any], signed: bool) -> str:
        items = {key: _wire_value(value) for key, value in params.items() if value is not None}
        if signed:
            items["timestamp"] = str(self.server_now_ms())
            items["recvWindow"] = str(self.recv_window_ms)
        query = _form_encode(items)
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
        except (ReplyDeadlineExceeded, ReplyTooLarge) as e:
            reason = str(e)  # says which bound, never the URL
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
            body = files.decode_json(response.content)
        except ValueError:
            body = None  # not JSON, or nested too deep to read safely
        envelope = body if isinstance(body, dict) and "code" in body else None
        if status in RATE_LIMIT_STATUSES:
            key = self._key(method, path)
            self.blocks.note_retry_after(key, status, response.headers, self._clock())
        if envelope is None:
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
            self.blocks.note_rate_limit(
                self._key(method, path), msg, response.headers, self.server_now_ms()
            )
        elif signed and is_clock_error(code, msg):
            self._resync_after_clock_error()
        if code is None or code == 0:
            raise BingxBadResponse(
                "HTTP error", method=method, path=path, http_status=status, msg=msg
            )
        raise BingxRejected(
            "rejected", method=method, path=path, code=code, msg=msg, http_status=status
        )

    def _resync_after_clock_error(self) -> None:
        # The original clock error is what the caller needs to see; a failed reading is logged.
        self.server_clock.mark_stale()
        self.refresh_clock_if_due()


def _session_for(base_url: str, max_reply_bytes: int) -> BoundedSession:
    """A keep-alive session that reads proxy and CA settings from the environment once.

    With ``trust_env`` on, requests re-reads the environment and ~/.netrc on every call, which
    was a measurable part of a loopback round trip (bench/leverage_call.py).
    """
    session = BoundedSession(max_reply_bytes)
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    return session


def _form_encode(items: Mapping[str, str]) -> str:
    """``urllib.parse.urlencode(items)``, byte for byte, without quoting what needs none."""
    return "&".join(f"{_quoted(key)}={_quoted(value)}" for key, value in items.items())


def _quoted(text: str) -> str:
    return text if _UNQUOTED.fullmatch(text) else quote_plus(text)


def _wire_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None

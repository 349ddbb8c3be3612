"""Signs and sends BingX REST requests; knows nothing of freqtrade.

A request passes the stages of :mod:`freqtrade_bingx.net.pipeline`, the same ones ccxt's requests
pass: refused if the endpoint is blocked, BingX's clock re-read if due, a slot of the account's
budget; then, here, ``timestamp`` / ``recvWindow`` added and the query signed, sent with a
deadline for the whole request and a cap on the reply's size; the slot settled; the reply decoded
and judged by the pipeline.

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
from freqtrade_bingx.bingx.failures import (
    BingxBadResponse,
    BingxError,
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
from freqtrade_bingx.net.clock import is_plausible_offset
from freqtrade_bingx.net.pipeline import RequestPipeline
from freqtrade_bingx.net.redact import redact_signatures
from freqtrade_bingx.net.throttle import endpoint_key, unblock_time_ms
from freqtrade_bingx.state.shared_settings import Change


__all__ = ["redact_signatures", "unblock_time_ms"]  # re-exported: callers import them from here

logger = logging.getLogger(__name__)

# (connect, whole request) seconds. BingX answers in well under a second; a stalled or dripping
# socket must not hold freqtrade's loop for long: the second figure bounds connecting, sending,
# the headers and the body together.
DEFAULT_TIMEOUT = (3.05, 10.0)
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
    :param session: a :class:`BoundedSession` (one is made for ``base_url`` if not given).
    :param pipeline: the request stages shared with ccxt's objects (the account's budget, the
        endpoint blocks, BingX's clock); one is made with ``rate_limits`` (merged over the
        defaults), ``monotonic`` and ``sleep`` if not given.
    :param clock: seconds since the epoch, for timestamps: the clock of the pipeline made here
        (a pipeline passed in brings its own, :attr:`RequestPipeline.clock`).
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
        pipeline: RequestPipeline | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
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
        self.pipeline = pipeline or RequestPipeline(
            {**DEFAULT_RATE_LIMITS, **(rate_limits or {})},
            clock=clock,
            monotonic=monotonic,
            sleep=sleep,
        )
        self.server_clock = self.pipeline.server_clock

    def __repr__(self) -> str:
        return f"BingxTransport(base_url={self.base_url!r}, api_key='***')"

    # --- public -------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.pipeline.clock() * 1000)

    def server_now_ms(self) -> int:
        """Our best guess of BingX's clock (the pipeline's); never sends a request."""
        return self.pipeline.server_now_ms()

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
        left = self.pipeline.blocks.remaining_s(self._key(method, path))
        return self.server_now_ms() + int(left * 1000) if left else 0

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        signed: bool = True,
        change: Change | None = None,
    ) -> Any:
        """Send one request through the pipeline's stages; return the envelope's ``data``.

        ``change``: the account-wide setting the request may change, claimed with its slot; the
        slot is then left to the caller to settle with BingX's answer
        (:meth:`RequestPipeline.finish`).
        """
        method = method.upper()
        pipeline = self.pipeline
        if signed:  # a blocked endpoint is refused before BingX's clock is read for it
            pipeline.refuse_if_blocked(self._key(method, path))
            self.refresh_clock_if_due()
        slot = pipeline.admit(method, self._base_path + path, change)
        try:
            # The timestamp is taken after the wait for a slot, right before sending.
            response = self._send(method, path, self._query(params or {}, signed), signed)
        finally:
            if change is None:
                pipeline.settle(slot)
            else:
                change.slot = slot
        try:
            body = files.decode_json(response.content)
        except ValueError:
            body = None  # not JSON, or nested too deep to read safely
        try:
            return pipeline.judge(
                slot.key, response.status_code, response.headers, body, signed=signed
            )
        except BingxRejected:
            if signed and self.server_clock.stale:  # BingX refused the timestamp: read its
                self.refresh_clock_if_due()  # clock now (a failed reading is logged)
            raise

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

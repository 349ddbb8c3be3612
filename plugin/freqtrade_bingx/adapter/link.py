"""The plugin's connection to BingX: its signed transport, the account state it shares with the
other bots on this account, and the rules it puts on freqtrade's ccxt objects.

One :class:`BingxLink` per exchange object. ccxt's objects and the transport share the
registry of endpoints BingX blocked (a block announced to one holds for all), BingX's measured
clock (all stamp signed requests with it) and the account's rate budget.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from freqtrade.exceptions import OperationalException

from freqtrade_bingx.adapter import settings
from freqtrade_bingx.bingx.endpoints import LEVERAGE
from freqtrade_bingx.bingx.errors import translate
from freqtrade_bingx.bingx.failures import RATE_LIMIT_CODE, BingxError, BingxSettingError
from freqtrade_bingx.bingx.rate_limits import client_limits
from freqtrade_bingx.bingx.replies import finite
from freqtrade_bingx.net import ccxt_guard, ccxt_ws, redact
from freqtrade_bingx.net.ccxt_errors import is_bingx_envelope, redact_ccxt_errors
from freqtrade_bingx.net.ccxt_errors import route_errors as route_ccxt_errors
from freqtrade_bingx.net.clock import ServerClock
from freqtrade_bingx.net.throttle import RATE_LIMIT_STATUSES, BlockRegistry, endpoint_key
from freqtrade_bingx.net.transport import DEFAULT_RATE_LIMITS, BingxTransport
from freqtrade_bingx.state import account_budget, state_store
from freqtrade_bingx.state import shared_settings as shared


logger = logging.getLogger(__name__)


def swap_base_url(api: Any) -> str:
    """The host ccxt uses for BingX swaps, so one setting moves both ccxt and the plugin.

    ccxt's ``urls['api']['swap']`` looks like ``https://open-api.{hostname}/openApi``; sandbox
    mode and ``exchange.ccxt_config`` ``urls`` / ``hostname`` change it.
    """
    url = api.implode_hostname(api.urls["api"]["swap"]).rstrip("/")
    return url.removesuffix("/openApi")


def demo_switch(exchange_config: dict[str, Any], futures: bool) -> tuple[dict[str, Any], bool]:
    """freqtrade's ccxt config with BingX's demo switch taken out, and whether it was on.

    freqtrade's own demo switch calls ccxt's enable_demo_trading, which needs urls['demo'];
    ccxt's BingX has none. Its urls['test'] are the VST demo host (open-api-vst.bingx.com),
    reached with sandbox mode (set by the caller once the object exists), which also makes ccxt
    load swap markets only. The plugin's transport follows ccxt's swap URL, so both go there.
    """
    demo = bool(exchange_config.get("demo_trading", False))
    if demo and not futures:
        # BingX's demo (VST) host serves USDT-M perpetual swaps only (ccxt loads nothing
        # else there). Refused here, before any ccxt object exists, so a spot config with
        # demo_trading can never fall through to the live host, which takes the same keys.
        raise BingxSettingError(
            "BingX's demo account (VST) trades USDT-M perpetual futures only: set "
            "trading_mode to futures, or use dry_run for spot"
        )
    return ({**exchange_config, "demo_trading": False} if demo else exchange_config), demo


class BingxLink:
    """The signed transport (built on first use), the shared account state, the ccxt rules."""

    def __init__(
        self,
        config: settings.BingxSettings,
        api: Callable[[], Any],
        bot_name: str,
        futures: Callable[[], bool],
    ) -> None:
        """``api``: freqtrade's sync ccxt object (built after this); ``futures``: whether the
        trading mode is futures (known once freqtrade's __init__ has read it; spot is
        freqtrade's stock Bingx: nothing shared, nothing routed)."""
        self._settings = config
        self._api = api
        self._bot_name = bot_name
        self._futures = futures
        self.blocks = BlockRegistry()
        self.clock = ServerClock()
        self._transport: BingxTransport | None = None
        self._transport_lock = threading.Lock()
        # The settings confirmed by any bot on this account and machine (shared_settings.py).
        self.shared: shared.SharedSettings | None = None

    # --- the signed transport ---------------------------------------------------------------

    @property
    def transport(self) -> BingxTransport:
        """The signed transport, built on first use (building it sends nothing).

        Live trading uses it for every account setting; dry-run and backtesting only for the
        read-only tier endpoint, and only when the config has keys.
        """
        transport = self._transport
        if transport is not None:
            return transport
        # One transport for all threads: it keeps the rate limits and the endpoint blocks.
        with self._transport_lock:
            if self._transport is None:
                try:
                    key, secret = self._credentials()
                    base_url = swap_base_url(self._api())
                    overrides = _rate_limit_overrides(self._settings)
                    transport = BingxTransport(
                        key,
                        secret,
                        base_url,
                        recv_window_ms=self._settings.recv_window_ms,
                        rate_limits=overrides,
                        blocks=self.blocks,
                        server_clock=self.clock,
                    )
                except ValueError as e:
                    raise OperationalException(f"BingX futures: {e}") from e
                # Before any thread can use it: no request leaves outside the account's budget.
                self.open_account_state(transport, key, base_url, overrides)
                self._transport = transport
            return self._transport

    @property
    def built(self) -> BingxTransport | None:
        """The transport if it was built; None if nothing signed was needed yet."""
        return self._transport

    def reset(self) -> None:
        """Drop the transport: the next signed request builds it again (for a new host)."""
        with self._transport_lock:
            self._transport = None

    def open_account_state(
        self, transport: BingxTransport, key: str, base_url: str, overrides: dict
    ) -> None:
        """Share rate limits and confirmed settings with the other bots on this account."""
        name = self._settings.account_state_name
        account = state_store.account_id(f"name:{name}" if name else key, base_url)
        path = state_store.state_file(account, self._settings.account_state_dir)
        # Every endpoint BingX limits per account, freqtrade's requests through ccxt included
        # (share_account_budget in ccxt_guard.py); the plugin's own at the transport's figures.
        limits = {**client_limits(caller=None), **DEFAULT_RATE_LIMITS, **overrides}
        transport.budget = account_budget.open_budget(path, limits)
        self.shared = shared.open_shared(path, self._bot_name)

    def shared_state_file(self) -> str | None:
        """The account's state file while this bot shares both its rate budget and its
        confirmed settings with the other bots on this machine; None when it does not (the
        reason was logged)."""
        budget, confirmed = self.transport.budget, self.shared
        if budget is None or confirmed is None or not (budget.active and confirmed.active):
            return None
        return str(budget.path)

    def _credentials(self) -> tuple[str, str]:
        # ccxt's object first: freqtrade blanks its config's copy at run time.
        api = self._api()
        key = api.apiKey or self._settings.api_key
        secret = api.secret or self._settings.secret
        return key, secret

    def can_sign(self) -> bool:
        return all(self._credentials())

    def call(
        self,
        action: str,
        endpoint: Callable[..., Any],
        *args: Any,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """``endpoint``'s reply data, checked by ``parse`` (see
        :mod:`freqtrade_bingx.bingx.replies`);
        BingX's errors and malformed replies as freqtrade exceptions."""
        try:
            data = endpoint(self.transport, *args)
            return parse(data) if parse else data
        except BingxError as e:
            raise translate(e, action) from e

    # --- freqtrade's ccxt objects -------------------------------------------------------------

    def prepare_ccxt(self, api: Any, sync: bool, live: bool) -> None:
        """The plugin's rules on one of freqtrade's ccxt objects (``live``: not dry-run)."""
        self._apply_network_rules(api, sync)
        redact_ccxt_errors(api, sync)
        if self._futures():  # spot: freqtrade's stock Bingx
            self._route_ccxt_replies(api, sync, live)
        # Last, since the routing replaces handle_errors: a block BingX announces in any reply
        # to ccxt holds for ccxt and the transport alike.
        ccxt_guard.note_blocks(api, self._note_block)

    def _apply_network_rules(self, api: Any, sync: bool) -> None:
        """Plain http only to loopback in every URL section, a deadline and a size cap on every
        request, no request to a blocked endpoint, no key or signature in ccxt's verbose
        output."""
        try:
            ccxt_guard.check_urls(api)
        except ValueError as e:
            raise BingxSettingError(f"BingX: {e}") from None
        redact.remember(api.apiKey, api.secret)
        ccxt_guard.bound_requests(api, sync)
        ccxt_guard.share_account_budget(api, sync, self.shared_budget, self.blocks)
        ccxt_guard.refuse_blocked(api, sync, self.blocks)
        ccxt_guard.redact_verbose_log(api)
        ccxt_ws.guard_streams(api)  # ccxt.pro's websocket clients (freqtrade's candle feed)

    def _route_ccxt_replies(self, api: Any, sync: bool, live: bool) -> None:
        if live:
            # ccxt's BingX stamps signed requests with the local clock and never corrects
            # drift, so a clock off by more than recvWindow fails every order with 80014.
            # Stamp them with BingX's clock as the transport measures it instead, and re-read
            # that clock after BingX refused one of ccxt's timestamps. Only the sync object
            # may read the clock: the async one runs inside freqtrade's event loop, where a
            # blocking request would stall everything, so it takes the last offset.
            if sync:
                api.nonce = lambda: api.milliseconds() + self.clock_offset_ms()
            else:
                api.nonce = lambda: api.milliseconds() + self.clock.offset_ms
        # BingX's errors on ccxt's requests go through the plugin's table, as its own do.
        route_ccxt_errors(api, on_clock_error=self.clock.mark_stale if live else None)

    def shared_budget(self) -> account_budget.AccountBudget | None:
        """The account's budget shared with other bots, opened on first use (ccxt's first
        signed request may come before the plugin's own, in any order freqtrade calls them);
        None when nothing is shared: spot, no keys, or the file could not be opened."""
        if not self._futures() or not self.can_sign():
            return None
        try:
            return self.transport.budget
        except OperationalException:
            return None

    def _note_block(self, method: str, url: str, status: Any, headers: Any, reply: Any) -> None:
        """Record a block BingX announced in a reply to ccxt (100410, 429/418 Retry-After),
        in the registry the transport uses too."""
        key = endpoint_key(method, urlsplit(url).path)
        if status in RATE_LIMIT_STATUSES:
            self.blocks.note_retry_after(key, status, headers, time.time())
        if is_bingx_envelope(reply) and finite(reply.get("code")) == RATE_LIMIT_CODE:
            server_now_ms = int(time.time() * 1000) + self.clock.offset_ms
            msg = str(reply.get("msg") or "")
            self.blocks.note_rate_limit(key, msg, headers, server_now_ms)

    def clock_offset_ms(self) -> int:
        """BingX's clock minus ours; read on first use and after a timestamp error, unless a
        failed reading put the next one off (the transport logs why)."""
        if self.can_sign():
            # ccxt stamps public requests too, and without keys nothing is ever signed: its
            # own clock is good enough, and the signed transport cannot be built.
            self.transport.refresh_clock_if_due()
        return self.clock.offset_ms


def _rate_limit_overrides(config: settings.BingxSettings) -> dict[tuple[str, str], float]:
    if config.leverage_rate_limit is None:
        return {}
    return {("POST", LEVERAGE): config.leverage_rate_limit}

"""The plugin's connection to BingX: its signed transport, the account state it shares with the
other bots on this account, and the rules it puts on freqtrade's ccxt objects.

One :class:`BingxLink` per exchange object. ccxt's objects and the transport send through one
:class:`~freqtrade_bingx.net.pipeline.RequestPipeline`: the registry of endpoints BingX blocked
(a block announced to one holds for all), BingX's measured clock (all stamp signed requests with
it) and the account's rate budget.
"""

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from freqtrade.exceptions import OperationalException, TemporaryError

from freqtrade_bingx.adapter import settings
from freqtrade_bingx.bingx.endpoints import LEVERAGE
from freqtrade_bingx.bingx.errors import translate
from freqtrade_bingx.bingx.failures import BingxError, BingxSettingError
from freqtrade_bingx.bingx.rate_limits import client_limits
from freqtrade_bingx.net import ccxt_guard, ccxt_ws, redact
from freqtrade_bingx.net.ccxt_errors import redact_ccxt_errors
from freqtrade_bingx.net.pipeline import RequestPipeline
from freqtrade_bingx.net.transport import DEFAULT_RATE_LIMITS, BingxTransport
from freqtrade_bingx.state import account_budget, redis_store, state_store
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
        # Every endpoint BingX limits per account, freqtrade's requests through ccxt included;
        # the plugin's own at the transport's figures.
        limits = {**client_limits(caller=None), **DEFAULT_RATE_LIMITS}
        self._limits = {**limits, **_rate_limit_overrides(config)}
        self.pipeline = RequestPipeline(self._limits, open_shared=self._open_shared)
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
                    transport = BingxTransport(
                        key,
                        secret,
                        base_url,
                        recv_window_ms=self._settings.recv_window_ms,
                        pipeline=self.pipeline,
                    )
                except ValueError as e:
                    raise OperationalException(f"BingX futures: {e}") from e
                # Before any thread can use it: no request leaves outside the account's budget.
                self.open_account_state(key, base_url)
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

    def close(self) -> None:
        """Let go of the account's state file: every connection to it this bot's threads
        opened (freqtrade's main loop, its API server). A later use opens it again."""
        for store in (self.pipeline.budget, self.shared):
            if store is not None:
                store.close()

    def account(self, key: str, base_url: str) -> str:
        """The account's name in its state: a hash of ``key`` (or of the account's name)."""
        name = self._settings.account_state_name
        return state_store.account_id(f"name:{name}" if name else key, base_url)

    def state_path(self, key: str, base_url: str) -> Path:
        """The account's state file for ``key`` on ``base_url`` (or the account's name)."""
        return state_store.state_file(self.account(key, base_url), self._settings.account_state_dir)

    def open_account_state(self, key: str, base_url: str) -> None:
        """Share rate limits, confirmed settings (and, on Redis, BingX's blocks) with the
        other bots on this account: on this machine (the SQLite file), or wherever they run
        (``exchange.account_state_url``: Redis)."""
        url = self._settings.account_state_url
        if url:
            store = redis_store.RedisStore(url, self.account(key, base_url))
            self.pipeline.budget = redis_store.RedisBudget(store, self._limits)
            self.shared = redis_store.RedisSettings(store, self._bot_name)
            limited = [f"{method} {path}" for method, path in self._limits]
            self.pipeline.blocks.shared = redis_store.RedisBlocks(store, limited)
            return
        path = self.state_path(key, base_url)
        # One store on the file: the budget's table and the settings', one busy pause, one
        # failure (each says what it means for it).
        budget = account_budget.open_budget(path, self._limits)
        self.pipeline.budget = budget
        self.shared = shared.open_shared(path, self._bot_name, budget.store if budget else None)

    def _open_shared(self) -> None:
        """Before ccxt's first signed request (it may come before the plugin's own, in any
        order freqtrade calls them): the account's state, opened with the transport. Nothing is
        shared for spot (freqtrade's stock Bingx), without keys, or with a bad host."""
        if self._futures() and self.can_sign():
            with contextlib.suppress(OperationalException):  # said when the transport is built
                _ = self.transport

    def shared_state_file(self) -> str | None:
        """The account's state file while this bot shares both its rate budget and its
        confirmed settings with the other bots on this machine; None when it does not (the
        reason was logged)."""
        budget, confirmed = self.pipeline.budget, self.shared
        if budget is None or confirmed is None or not (budget.active and confirmed.active):
            return None
        return str(budget.path)

    def account_state_problem(self) -> str | None:
        """Why the account's shared store cannot be reached now (Redis only: a file that
        fails is said by ``shared_state_file``); None when it can."""
        store = getattr(self.pipeline.budget, "store", None)
        return store.ping() if isinstance(store, redis_store.RedisStore) else None

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
        change: shared.Change | None = None,
    ) -> Any:
        """``endpoint``'s reply data, checked by ``parse`` (see
        :mod:`freqtrade_bingx.bingx.replies`);
        BingX's errors and malformed replies as freqtrade exceptions. ``change``: the setting
        the request may change (see :meth:`changing`)."""
        try:
            if change is None:
                data = endpoint(self.transport, *args)
            else:
                data = endpoint(self.transport, *args, change=change)
            return parse(data) if parse else data
        except BingxError as e:
            raise translate(e, action) from e

    @contextlib.contextmanager
    def changing(self, kind: str, symbol: str, side: str) -> Iterator[shared.Change | None]:
        """Around a request that may change a setting the bots on this account share (pass the
        change to :meth:`call`, and BingX's answer to ``change.answer``): the setting is marked
        unknown to every bot with the request's slot in the account's budget, before it is
        sent, and the answer written with the slot's settle (``pipeline.finish``).

        None when nothing is shared (the file failed or could not be opened). While the file is
        busy the mark cannot be written, and nothing is sent: the other bots would trust their
        memory of the old value meanwhile. freqtrade gets a ``TemporaryError`` (its retrier
        tries again; an entry that still fails is skipped for this loop and tried again on a
        later one: late, not lost).
        """
        settings = self.shared
        if settings is None or not settings.active:
            yield None
            return
        change = shared.Change(settings, kind, symbol, side)
        try:
            yield change
        except shared.Busy as e:
            raise not_sent_while_busy(settings, kind, symbol, side, e) from None
        finally:
            self.pipeline.finish(change)

    # --- freqtrade's ccxt objects -------------------------------------------------------------

    def prepare_ccxt(self, api: Any, sync: bool, live: bool) -> None:
        """The plugin's rules on one of freqtrade's ccxt objects (``live``: not dry-run): plain
        http only to loopback in every URL section, a deadline and a size cap on every request,
        no key or signature in its errors or verbose output, and every request through the
        pipeline the plugin's own requests pass (futures: replies judged by the error table;
        spot, freqtrade's stock Bingx: blocks noted, ccxt's own mapping)."""
        try:
            ccxt_guard.check_urls(api)
        except ValueError as e:
            raise BingxSettingError(f"BingX: {e}") from None
        redact.remember(api.apiKey, api.secret)
        ccxt_guard.bound_requests(api, sync)
        ccxt_guard.run_through(api, sync, self.pipeline, judge=self._futures())
        redact_ccxt_errors(api, sync)
        ccxt_guard.redact_verbose_log(api)
        ccxt_ws.guard_streams(api)  # ccxt.pro's websocket clients (freqtrade's candle feed)
        if self._futures() and live:
            # ccxt's BingX stamps signed requests with the local clock and never corrects
            # drift, so a clock off by more than recvWindow fails every order with 80014.
            # Stamp them with BingX's clock as the transport measures it instead (re-read
            # after BingX refused one of ccxt's timestamps). Only the sync object may read the
            # clock: the async one runs inside freqtrade's event loop, where a blocking
            # request would stall everything, so it takes the last offset.
            if sync:
                api.nonce = lambda: api.milliseconds() + self.clock_offset_ms()
            else:
                api.nonce = lambda: api.milliseconds() + self.pipeline.server_clock.offset_ms

    def clock_offset_ms(self) -> int:
        """BingX's clock minus ours; read on first use and after a timestamp error, unless a
        failed reading put the next one off (the transport logs why)."""
        if self.can_sign():
            # ccxt stamps public requests too, and without keys nothing is ever signed: its
            # own clock is good enough, and the signed transport cannot be built.
            self.transport.refresh_clock_if_due()
        return self.pipeline.server_clock.offset_ms


def not_sent_while_busy(
    settings: shared.SharedSettings, kind: str, symbol: str, side: str, error: shared.Busy
) -> TemporaryError:
    """freqtrade's exception for a setting change not sent because the account's state file was
    busy (the other bots could not be told): retried by freqtrade, late, not lost."""
    what = f"{kind} of {symbol} {side}".rstrip() if symbol else kind
    return TemporaryError(
        f"BingX {what} not changed, nothing sent: the account's state file {settings.path} is "
        f"busy (another process holds it: {error}), so the other bots on this account could not "
        "be told of the change."
    )


def _rate_limit_overrides(config: settings.BingxSettings) -> dict[tuple[str, str], float]:
    if config.leverage_rate_limit is None:
        return {}
    return {("POST", LEVERAGE): config.leverage_rate_limit}

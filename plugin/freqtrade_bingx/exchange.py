"""freqtrade's BingX exchange class, extended for USDT-M perpetual futures.

freqtrade's generic leverage hook calls ccxt's ``set_leverage(symbol, leverage)`` without the
``side`` BingX requires, and ccxt maps several BingX error codes in ways that mislead a bot.
:class:`BingxFuturesMixin` sets leverage and margin type through the plugin's own transport,
with the position side the account's position mode needs, and turns BingX errors into the
freqtrade exceptions that make the bot retry, back off, skip the pair or stop.
"""

import contextlib
import itertools
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

from freqtrade.constants import BuySell
from freqtrade.enums import MarginMode, RunMode, TradingMode
from freqtrade.enums.runmode import TRADE_MODES
from freqtrade.exceptions import (
    ConfigurationError,
    DDosProtection,
    FreqtradeException,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)
from freqtrade.exchange.bingx import Bingx as FreqtradeBingx
from freqtrade.exchange.common import retrier
from freqtrade.exchange.exchange_types import FtHas

from freqtrade_bingx import (
    __version__,
    account,
    account_budget,
    account_modes,
    ccxt_guard,
    redact,
    replies,
    settings,
)
from freqtrade_bingx import shared_settings as shared
from freqtrade_bingx.ccxt_errors import is_bingx_envelope, redact_ccxt_errors
from freqtrade_bingx.ccxt_errors import route_errors as route_ccxt_errors
from freqtrade_bingx.clock import ServerClock
from freqtrade_bingx.confirmed import ConfirmedSettings
from freqtrade_bingx.errors import PositionModeMismatch, translate
from freqtrade_bingx.futures_data import BingxFuturesDataMixin
from freqtrade_bingx.orders import STOPLOSS_FT_HAS_FUTURES, BingxOrdersMixin
from freqtrade_bingx.position_mode import PositionMode, PositionSide, position_side
from freqtrade_bingx.rate_limits import client_limits
from freqtrade_bingx.reconcile import RECONCILE_FT_HAS_FUTURES, BingxReconcileMixin
from freqtrade_bingx.throttle import RATE_LIMIT_STATUSES, BlockRegistry, endpoint_key
from freqtrade_bingx.transport import (
    DEFAULT_RATE_LIMITS,
    RATE_LIMIT_CODE,
    BingxBlocked,
    BingxError,
    BingxRejected,
    BingxTransport,
)


logger = logging.getLogger(__name__)

MARGIN_TYPES = {MarginMode.ISOLATED: "ISOLATED", MarginMode.CROSS: "CROSSED"}
SEPARATE_ISOLATED = "SEPARATE_ISOLATED"
# A setting BingX refused for good (unknown symbol, leverage too high, risk control ...) is
# answered locally with the same error for this long instead of being sent again: BingX blocks
# an endpoint after more than 20 failing requests in 8 minutes, and freqtrade retries an entry
# on every loop while the strategy's signal lasts.
REFUSAL_MEMORY_S = 600.0
# How long after a set request failed without a definite answer BingX may still handle it, on
# top of recvWindow (after which BingX refuses the request's timestamp): the clock offset the
# transport measured may be off by a round trip.
LATE_REQUEST_MARGIN_S = 1.0
# How long a position-mode switch at start-up waits for a busy state file (shared_settings.py)
# before the bot gives up starting: three tries of the file, across its busy pause.
MODE_CLAIM_WAIT_S = 15.0


def swap_base_url(api: Any) -> str:
    """The host ccxt uses for BingX swaps, so one setting moves both ccxt and the plugin.

    ccxt's ``urls['api']['swap']`` looks like ``https://open-api.{hostname}/openApi``; sandbox
    mode and ``exchange.ccxt_config`` ``urls`` / ``hostname`` change it.
    """
    url = api.implode_hostname(api.urls["api"]["swap"]).rstrip("/")
    return url.removesuffix("/openApi")


class BingxFuturesMixin:
    """Leverage, margin type and position mode for BingX USDT-M perpetual swaps."""

    _supported_trading_mode_margin_pairs: list[tuple[TradingMode, MarginMode]] = [
        (TradingMode.SPOT, MarginMode.NONE),
        (TradingMode.FUTURES, MarginMode.ISOLATED),
        (TradingMode.FUTURES, MarginMode.CROSS),
    ]

    _ft_has_futures: FtHas = {
        "ccxt_futures_name": "swap",
        # BingX's VST demo host, for swaps only; routed in BingxFuturesDataMixin._init_ccxt.
        "supports_demo_trading": True,
        # BingX's contract list schedules delistings: check_delisting_time in futures_data.py.
        "has_delisting": True,
        **STOPLOSS_FT_HAS_FUTURES,
        **RECONCILE_FT_HAS_FUTURES,
    }
    # Read by freqtrade's close(), which __del__ runs even when __init__ stopped at a bad
    # setting before freqtrade's own __init__ set them.
    _exchange_ws = None
    _ws_async = None

    def __init__(self, config: dict, *args, **kwargs) -> None:
        logger.info("freqtrade-bingx %s: BingX USDT-M futures adapter in use", __version__)
        exchange_conf = kwargs.get("exchange_config") or config.get("exchange", {})
        # Checked in every mode before anything is built or sent: a bad value stops here.
        # The key and secret are kept because freqtrade blanks them in its config (and, in
        # dry-run, never gives them to ccxt); read-only requests such as tiers use them.
        self._settings = settings.from_config(exchange_conf)
        redact.install()
        redact.remember(self._settings.api_key, self._settings.secret)
        # Shared by ccxt's objects and the transport: a block BingX announces to one holds for
        # all, and all stamp requests with the same measured clock.
        self._bingx_blocks = BlockRegistry()
        self._bingx_clock = ServerClock()
        # Set before freqtrade's __init__, which calls additional_exchange_init.
        # freqtrade's main loop and its API server (a force entry) call in from two threads:
        # every piece of state below is safe for both, and no lock is held during a request.
        self._bingx_transport: BingxTransport | None = None
        self._transport_lock = threading.Lock()
        self._position_mode: PositionMode | None = None
        # Reads of the position mode are numbered as they start; an answer is applied only if
        # no read that started later was applied already (see refresh_position_mode).
        self._mode_lock = threading.Lock()
        self._mode_tickets = itertools.count(1)
        self._mode_applied = 0
        # What BingX confirmed last, so an unchanged setting costs no request; never a value
        # BingX may not have (confirmed.py says how, with concurrent requests).
        doubt_s = self._settings.recv_window_ms / 1000 + LATE_REQUEST_MARGIN_S
        self._leverage_confirmed: ConfirmedSettings[tuple[str, PositionSide], int] = (
            ConfirmedSettings(doubt_s, _may_have_landed)
        )
        self._margin_type_confirmed: ConfirmedSettings[str, str] = ConfirmedSettings(
            doubt_s, _may_have_landed
        )
        # The same, as confirmed by any bot on this account and machine (shared_settings.py).
        self._shared: shared.SharedSettings | None = None
        # The account's maximum leverage per symbol and side, from GET leverage (read once per
        # symbol) or from a 101414 reply. It is often above the contract list's figure. Each
        # symbol's dict is replaced, never changed in place, so readers need no lock.
        self._leverage_max: dict[str, dict[PositionSide, int]] = {}
        self._maxima_lock = threading.Lock()
        self._leverage_read: set[str] = set()
        # A log-once flag: two threads may both log the note, nothing worse.
        self._contract_max_noted = False
        # Leverage tiers (futures_data.py): pairs whose tiers are an estimate from the maximum
        # leverage alone; pairs a trading bot has used (their tiers loaded on first use); and
        # whether BingX refused a tier request for every pair (no more tried until a reload).
        # The lock covers these sets, the tier cache file and updates of loaded tiers; never
        # a request to BingX.
        self._estimated_tiers: set[str] = set()
        self._tier_pairs_used: set[str] = set()
        self._tier_fetch_refused = False
        self._tier_lock = threading.Lock()
        # Requests BingX refused for good: key -> (monotonic time to forget it, the error).
        # The epoch counts clearings, so a refusal answered after one is not put back.
        self._refusals: dict[tuple, tuple[float, InvalidOrderException]] = {}
        self._refusals_lock = threading.Lock()
        self._refusals_epoch = 0
        # The create_stoploss call under way in this thread (BingxOrdersMixin.create_stoploss).
        self._stoploss_call = threading.local()
        super().__init__(config, *args, **kwargs)

    # --- transport ----------------------------------------------------------------------

    def _init_ccxt(self, exchange_config: dict[str, Any], sync: bool, ccxt_kwargs: dict):
        api = super()._init_ccxt(exchange_config, sync, ccxt_kwargs)
        self._apply_network_rules(api, sync)
        redact_ccxt_errors(api, sync)
        if self.trading_mode == TradingMode.FUTURES:  # spot: freqtrade's stock Bingx
            self._route_ccxt_replies(api, sync)
        # Last, since the routing replaces handle_errors: a block BingX announces in any reply
        # to ccxt holds for ccxt and the transport alike.
        ccxt_guard.note_blocks(api, self._note_bingx_block)
        return api

    def _route_ccxt_replies(self, api: Any, sync: bool) -> None:
        live = not self._config["dry_run"]
        if live:
            # ccxt's BingX stamps signed requests with the local clock and never corrects
            # drift, so a clock off by more than recvWindow fails every order with 80014.
            # Stamp them with BingX's clock as the transport measures it instead, and re-read
            # that clock after BingX refused one of ccxt's timestamps. Only the sync object
            # may read the clock: the async one runs inside freqtrade's event loop, where a
            # blocking request would stall everything, so it takes the last offset.
            if sync:
                api.nonce = lambda: api.milliseconds() + self._bingx_clock_offset_ms()
            else:
                api.nonce = lambda: api.milliseconds() + self._bingx_clock.offset_ms

        def clock_refused() -> None:
            self._bingx_clock.mark_stale()

        # BingX's errors on ccxt's requests go through the plugin's table, as its own do.
        route_ccxt_errors(api, on_clock_error=clock_refused if live else None)

    def _apply_network_rules(self, api: Any, sync: bool) -> None:
        """The plugin's rules on a ccxt object: plain http only to loopback in every URL
        section, a deadline and a size cap on every request, no request to a blocked
        endpoint, no key or signature in ccxt's verbose output."""
        try:
            ccxt_guard.check_urls(api)
        except ValueError as e:
            raise settings.BingxSettingError(f"BingX: {e}") from None
        redact.remember(api.apiKey, api.secret)
        ccxt_guard.bound_requests(api, sync)
        ccxt_guard.share_account_budget(api, sync, self._account_budget, self._bingx_blocks)
        ccxt_guard.refuse_blocked(api, sync, self._bingx_blocks)
        ccxt_guard.redact_verbose_log(api)

    def _account_budget(self) -> account_budget.AccountBudget | None:
        """The account's budget shared with other bots, opened on first use (ccxt's first
        signed request may come before the plugin's own, in any order freqtrade calls them);
        None when nothing is shared: spot, no keys, or the file could not be opened."""
        if self.trading_mode != TradingMode.FUTURES or not self.can_sign():
            return None
        try:
            return self.bingx.budget
        except OperationalException:
            return None

    def _note_bingx_block(
        self, method: str, url: str, status: Any, headers: Any, reply: Any
    ) -> None:
        """Record a block BingX announced in a reply to ccxt (100410, 429/418 Retry-After),
        in the registry the transport uses too."""
        key = endpoint_key(method, urlsplit(url).path)
        if status in RATE_LIMIT_STATUSES:
            self._bingx_blocks.note_retry_after(key, status, headers, time.time())
        if is_bingx_envelope(reply) and _as_int(reply.get("code")) == RATE_LIMIT_CODE:
            server_now_ms = int(time.time() * 1000) + self._bingx_clock.offset_ms
            msg = str(reply.get("msg") or "")
            self._bingx_blocks.note_rate_limit(key, msg, headers, server_now_ms)

    def _bingx_clock_offset_ms(self) -> int:
        """BingX's clock minus ours; read on first use and after a timestamp error, unless a
        failed reading put the next one off (the transport logs why)."""
        if self.can_sign():
            # ccxt stamps public requests too, and without keys nothing is ever signed: its
            # own clock is good enough, and the signed transport cannot be built.
            self.bingx.refresh_clock_if_due()
        return self._bingx_clock.offset_ms

    @property
    def bingx(self) -> BingxTransport:
        """The signed transport, built on first use.

        Live trading uses it for every account setting; dry-run and backtesting only for the
        read-only tier endpoint, and only when the config has keys.
        """
        transport = self._bingx_transport
        if transport is not None:
            return transport
        # One transport for all threads: it keeps the rate limits and the endpoint blocks.
        # Building it sends nothing.
        with self._transport_lock:
            if self._bingx_transport is None:
                try:
                    key, secret = self._credentials()
                    base_url = swap_base_url(self._api)
                    overrides = _rate_limit_overrides(self._settings)
                    transport = BingxTransport(
                        key,
                        secret,
                        base_url,
                        recv_window_ms=self._settings.recv_window_ms,
                        rate_limits=overrides,
                        blocks=self._bingx_blocks,
                        server_clock=self._bingx_clock,
                    )
                except ValueError as e:
                    raise OperationalException(f"BingX futures: {e}") from e
                # Before any thread can use it: no request leaves outside the account's budget.
                self._open_account_state(transport, key, base_url, overrides)
                self._bingx_transport = transport
            return self._bingx_transport

    def _open_account_state(
        self, transport: BingxTransport, key: str, base_url: str, overrides: dict
    ) -> None:
        """Share rate limits and confirmed settings with the other bots on this account."""
        name = self._settings.account_state_name
        account = account_budget.account_id(f"name:{name}" if name else key, base_url)
        path = account_budget.state_file(account, self._settings.account_state_dir)
        # Every endpoint BingX limits per account, freqtrade's requests through ccxt included
        # (share_account_budget in ccxt_guard.py); the plugin's own at the transport's figures.
        limits = {**client_limits(caller=None), **DEFAULT_RATE_LIMITS, **overrides}
        transport.budget = account_budget.open_budget(path, limits)
        self._shared = shared.open_shared(path, str(self._config.get("bot_name") or "freqtrade"))

    def shared_state_file(self) -> str | None:
        """The account's state file while this bot shares both its rate budget and its
        confirmed settings with the other bots on this machine; None when it does not (the
        reason was logged)."""
        budget, settings = self.bingx.budget, self._shared
        if budget is None or settings is None or not (budget.active and settings.active):
            return None
        return str(budget.path)

    def _credentials(self) -> tuple[str, str]:
        # ccxt's object first: freqtrade blanks its config's copy at run time.
        key = self._api.apiKey or self._settings.api_key
        secret = self._api.secret or self._settings.secret
        return key, secret

    def can_sign(self) -> bool:
        return all(self._credentials())

    def _call(
        self,
        action: str,
        endpoint: Callable[..., Any],
        *args: Any,
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """``endpoint``'s reply data, checked by ``parse`` (see :mod:`freqtrade_bingx.replies`);
        BingX's errors and malformed replies as freqtrade exceptions."""
        try:
            data = endpoint(self.bingx, *args)
            return parse(data) if parse else data
        except BingxError as e:
            raise translate(e, action) from e

    def _symbol(self, pair: str) -> str:
        market = self.markets.get(pair)
        if not market or not market.get("swap"):
            raise InvalidOrderException(
                f"{pair} is not a BingX USDT-M perpetual swap market; nothing was sent"
            )
        return market["id"]

    # --- start-up -------------------------------------------------------------------------

    def validate_trading_mode_and_margin_mode(self, *args, **kwargs) -> None:
        # freqtrade refuses a margin mode the class does not list with a ConfigurationError,
        # on which it exits with code 0: the plugin's refusal exits non-zero (settings.py).
        try:
            super().validate_trading_mode_and_margin_mode(*args, **kwargs)
        except ConfigurationError as e:
            raise settings.BingxSettingError(
                f"{e} BingX USDT-M futures take margin_mode isolated or cross."
            ) from None

    @retrier
    def additional_exchange_init(self) -> None:
        super().additional_exchange_init()
        if (
            self.trading_mode != TradingMode.FUTURES
            or self._config["dry_run"]
            or self._config.get("runmode") != RunMode.LIVE
        ):
            return
        if not self._is_demo_trading:  # BingX serves the asset mode on its live host only
            account_modes.check_asset_mode(self._call, self.margin_mode)
        self.refresh_position_mode()
        self.apply_position_mode_setting()

    def refresh_position_mode(self) -> PositionMode:
        """Read the account's position mode; forget confirmed settings if it changed."""
        ticket = next(self._mode_tickets)
        mode = self._call(
            "read the position mode", account.get_position_mode, parse=replies.position_mode
        )
        with self._mode_lock:
            if ticket < self._mode_applied and self._position_mode is not None:
                # Another thread's read started later and was applied: its answer is newer.
                return self._position_mode
            previous = self._replace_position_mode(mode, ticket)
        if previous is not None and mode is not previous:
            logger.warning("BingX position mode changed from %s to %s", previous.value, mode.value)
        if previous is not mode:
            logger.info("BingX account position mode: %s", mode.value)
        return mode

    def _replace_position_mode(self, mode: PositionMode, ticket: int) -> PositionMode | None:
        """With ``_mode_lock`` held: make ``mode`` the account's; return the mode it replaced.

        What was confirmed for the old mode is forgotten in the same step, so no thread sees
        the new mode with the old mode's settings.
        """
        previous = self._position_mode
        self._mode_applied = ticket
        if previous is not None and mode is not previous:
            self._forget_confirmed()
        self._position_mode = mode
        return previous

    def _check_shared_position_mode(self) -> None:
        """Re-read the position mode if another bot on this account recorded another one."""
        try:
            entry = self._shared.read(shared.POSITION_MODE, "") if self._shared else None
        except shared.Busy:
            # As when the file failed: the mode is trusted; a leverage sent for the wrong mode
            # is refused by BingX, and that refusal re-reads it (_ensure_leverage).
            return
        current = self._position_mode
        if entry is None or current is None or entry.value == current.value:
            return
        mode = self.refresh_position_mode()
        if self._shared and entry.value != mode.value:
            # The row is older than BingX's answer (e.g. the mode was switched on bingx.com):
            # correct it, so no bot reads the mode again on every entry.
            with contextlib.suppress(shared.Busy):  # said in the log; corrected next time
                self._shared.confirm(shared.POSITION_MODE, "", "", mode.value, entry.version)

    @property
    def position_mode(self) -> PositionMode:
        return self._position_mode or self.refresh_position_mode()

    def apply_position_mode_setting(self) -> None:
        """Honour ``exchange.position_mode`` (``auto``, ``one_way`` or ``hedge``)."""
        wanted = self._settings.position_mode  # checked in __init__
        if wanted == "auto" or PositionMode(wanted) is self.position_mode:
            return
        self.set_position_mode(PositionMode(wanted))

    def set_position_mode(self, mode: PositionMode) -> None:
        """Switch the account's position mode; BingX allows it only with nothing open."""
        current = self.position_mode
        if mode is current:
            return
        positions = self._call(
            "read open positions", account.get_positions, parse=replies.positions
        )
        open_symbols = sorted({p.symbol for p in positions if p.amount != 0})
        if open_symbols:
            raise OperationalException(
                f"BingX account is in {current.value} mode and exchange.position_mode asks for "
                f"{mode.value}, but positions are open ({', '.join(open_symbols)}). Close them "
                "(and their orders) on BingX, or set exchange.position_mode to 'auto'."
            )
        try:
            # At start-up (see apply_position_mode_setting): nothing trades yet, so a busy file
            # is waited for a while; then the bot does not start rather than switch unseen.
            seen = self._shared_claim(shared.POSITION_MODE, "", "", wait_s=MODE_CLAIM_WAIT_S)
        except TemporaryError as e:
            raise OperationalException(
                f"{e} exchange.position_mode asks for {mode.value}: start the bot again once "
                "the file is free, or set exchange.position_mode to 'auto'."
            ) from None
        try:
            self._call("switch the position mode", account.set_position_mode, mode.dual_side)
        except TemporaryError as e:
            raise OperationalException(
                f"Could not switch BingX to {mode.value} mode ({e}). Cancel open orders on "
                "BingX, or set exchange.position_mode to 'auto'."
            ) from e
        logger.info("BingX position mode switched from %s to %s", current.value, mode.value)
        with self._mode_lock:
            self._replace_position_mode(mode, next(self._mode_tickets))
        if self._shared:
            with contextlib.suppress(shared.Busy):  # said in the log; the claim left it unknown
                self._shared.confirm(shared.POSITION_MODE, "", "", mode.value, seen)

    def _forget_confirmed(self) -> None:
        """Forget every confirmed setting and refusal, including the answers to requests still
        in flight (they were sent for what is now forgotten)."""
        self._leverage_confirmed.forget_all()
        self._margin_type_confirmed.forget_all()
        with self._refusals_lock:
            self._refusals_epoch += 1
            self._refusals.clear()

    def _unless_refused(self, key: tuple, send: Callable[[], Any]) -> Any:
        """``send()``, unless BingX refused the same request for good a short while ago.

        The lock covers the memory only, never ``send()``; two threads may both send a request
        not refused yet, and both refusals are then remembered as one.
        """
        now = monotonic()
        with self._refusals_lock:
            held = self._refusals.get(key)
            if held is not None and now >= held[0]:
                del self._refusals[key]  # under the lock: the expired entry, not a newer one
                held = None
            epoch = self._refusals_epoch
        if held is not None:
            error = held[1]
            raise type(error)(f"{error} [not sent again: BingX refused this request]")
        try:
            return send()
        except InvalidOrderException as e:
            self._remember_refusal(key, e, epoch)
            raise

    def _remember_refusal(
        self, key: tuple, error: InvalidOrderException, epoch: int | None = None
    ) -> None:
        """Hold ``error`` for ``key``; not if the memory was cleared since ``epoch`` (the
        refusals' epoch read before the request was sent)."""
        forget_at = monotonic() + REFUSAL_MEMORY_S
        with self._refusals_lock:
            if epoch is None or epoch == self._refusals_epoch:
                self._refusals[key] = (forget_at, error)

    # --- freqtrade hooks ------------------------------------------------------------------

    def _lev_prep(self, pair: str, leverage: float, side: BuySell, accept_fail: bool = False):
        if self.trading_mode != TradingMode.FUTURES or self._config["dry_run"]:
            return super()._lev_prep(pair, leverage, side, accept_fail)
        if getattr(self._stoploss_call, "order_types", None) is not None:  # orders.py
            logger.debug("Stoploss for %s: leverage left as it is", pair)
            return
        self.set_margin_mode(pair, self.margin_mode, accept_fail)
        self._set_leverage(leverage, pair, accept_fail, side=side)

    @retrier
    def _set_leverage(
        self,
        leverage: float,
        pair: str | None = None,
        accept_fail: bool = False,
        side: BuySell = "buy",
    ) -> int | None:
        """Set the leverage of the position an entry on ``side`` opens or adds to.

        Returns the whole-number leverage BingX confirmed, None when nothing was set.
        """
        if self._config["dry_run"] or self.trading_mode != TradingMode.FUTURES:
            return None
        if pair is None:
            raise OperationalException("BingX sets leverage per pair, and no pair was given")
        try:
            return self._ensure_leverage(pair, leverage, side)
        except InvalidOrderException as e:
            if not accept_fail:
                raise
            logger.warning("%s (accepted, going on)", e)
            return None

    @retrier
    def set_margin_mode(
        self,
        pair: str,
        margin_mode: MarginMode,
        accept_fail: bool = False,
        params: dict | None = None,
    ) -> None:
        if self._config["dry_run"] or self.trading_mode != TradingMode.FUTURES:
            return
        try:
            self._ensure_margin_type(pair, margin_mode)
        except InvalidOrderException as e:
            if not accept_fail:
                raise
            logger.warning("%s (accepted, going on)", e)

    def get_max_leverage(self, pair: str, stake_amount: float | None) -> float:
        # freqtrade caps the strategy's leverage (and its ``max_leverage`` argument) with this,
        # from the tiers. Their cap is the contract list's figure until the account's own is
        # known, so read that first: once per pair, in live and dry-run alike when the config
        # has a key (a read-only request, like the tiers). Then the pair's tiers, if this is
        # its first use (a dynamic pairlist's pairs are not loaded at start-up). Backtesting
        # uses the tiers as loaded.
        if (
            self.trading_mode == TradingMode.FUTURES
            and self._config.get("runmode") in TRADE_MODES
            and self.can_sign()
        ):
            self._learn_account_leverage(pair)
        self._ensure_tiers(pair)
        if (
            self.trading_mode == TradingMode.FUTURES
            and pair not in self._leverage_tiers
            and self._config.get("runmode") == RunMode.UTIL_EXCHANGE
            and (self.markets.get(pair) or {}).get("swap")
        ):
            # Listings (list-markets) show every pair, with tiers loaded for the whitelist
            # only: show the best maximum known, the account's if read, else the contract
            # list's (a lower bound), rather than freqtrade's 1x for a pair without tiers.
            maximum = self.max_leverage_for_side(pair, "BOTH")
            if maximum is not None:
                return float(maximum)
        return super().get_max_leverage(pair, stake_amount)

    # --- leverage and margin type ---------------------------------------------------------

    def _ensure_leverage(self, pair: str, leverage: float, side: BuySell) -> int:
        symbol = self._symbol(pair)
        _check_leverage(pair, leverage)  # before anything is sent
        read_first = self._settings.leverage_check == "read_before_entry"
        if read_first or symbol not in self._leverage_read:
            self.read_account_leverage(pair)  # "read_before_entry": BingX's value, every entry
        self._check_shared_position_mode()
        pos_side = position_side(self.position_mode, side)
        target = self.whole_leverage(pair, leverage, pos_side)
        if self._leverage_confirmed.get((symbol, pos_side)) == target:
            if self._shared_agrees(shared.LEVERAGE, symbol, pos_side, target):
                return target
            self._leverage_confirmed.discard([(symbol, pos_side)])  # another bot changed it
        epoch = self._refusals_epoch
        try:
            return self._send_leverage(pair, pos_side, target)
        except PositionModeMismatch as first:
            # BingX refused the side for the account's position mode. That is never sent again
            # as it is: if the user switched the mode on bingx.com, re-reading it gives the side
            # to retry with (once), and the mode change forgets this refusal.
            refusal = InvalidOrderException(
                f"BingX refused leverage {target}x ({pos_side}) for {pair}: {first}"
            )
            self._remember_refusal(_leverage_key(symbol, pos_side, target), refusal, epoch)
            retry_side = position_side(self.refresh_position_mode(), side)
            if retry_side == pos_side:
                # The mode is the one the side was chosen for. BingX has been seen answering
                # "In the One-way mode, the 'PositionSide' field can only be set to BOTH." to
                # side=BOTH (github.com/ccxt/ccxt/issues/22237): a state of that pair on BingX,
                # nothing the bot's settings could fix. Skip the pair for now; keep trading.
                raise refusal from first
            try:
                return self._send_leverage(
                    pair, retry_side, self.whole_leverage(pair, leverage, retry_side)
                )
            except PositionModeMismatch as second:
                raise _mode_help(pair, second) from second

    def _send_leverage(self, pair: str, pos_side: PositionSide, leverage: int) -> int:
        """Set ``leverage``; returns what BingX accepted.

        A leverage above the account's maximum (101414, which names it) is sent once more at
        that maximum, and the maximum is remembered.
        """
        symbol = self._symbol(pair)
        try:
            return self._post_leverage(symbol, pos_side, leverage)
        except InvalidOrderException as e:
            maximum = _maximum_named(e)
            if maximum is None or maximum >= leverage:
                raise
            logger.warning(
                "BingX says the maximum leverage for %s %s is %dx; sending that instead of %dx",
                pair,
                pos_side,
                maximum,
                leverage,
            )
        self._remember_maximum(pair, pos_side, maximum)
        return self._post_leverage(symbol, pos_side, maximum)

    def _post_leverage(self, symbol: str, pos_side: PositionSide, leverage: int) -> int:
        """POST leverage; returns the leverage BingX confirmed (and remembers it)."""
        action = f"set leverage {leverage}x ({pos_side}) on {symbol}"
        memory = self._leverage_confirmed

        def send() -> int:
            seen = self._shared_claim(shared.LEVERAGE, symbol, pos_side)
            with memory.writing(_sides_changed(symbol, pos_side)) as ticket:
                try:
                    confirmed = self._call(
                        action,
                        account.set_leverage,
                        symbol,
                        pos_side,
                        leverage,
                        parse=replies.leverage_set,
                    )
                except TemporaryError as e:
                    if _maximum_named(e) is None:
                        raise
                    # BingX's error list also has this refusal under 80001, which would read
                    # as a temporary error: it is permanent and must not be retried.
                    raise InvalidOrderException(str(e)) from e.__cause__
                key = (symbol, pos_side)
                if confirmed != leverage:
                    # freqtrade stored the trade's leverage before create_order and would size
                    # its stake, liquidation and risk on it while BingX holds another: refuse
                    # the entry (freqtrade skips it). Nothing is remembered, here or in the
                    # shared file, and the refusal is held (not sent again for a while).
                    self._share_answer(False, shared.LEVERAGE, symbol, pos_side, confirmed, seen)
                    raise InvalidOrderException(
                        f"BingX confirmed leverage {confirmed}x for {symbol} {pos_side}, asked "
                        f"for {leverage}x: entry refused, since freqtrade would trade it at "
                        f"{leverage}x"
                    )
                kept = key in memory.confirm(ticket, {key: confirmed})
                if not self._share_answer(kept, shared.LEVERAGE, symbol, pos_side, confirmed, seen):
                    memory.discard([key])
            return confirmed

        confirmed = self._unless_refused(_leverage_key(symbol, pos_side, leverage), send)
        logger.info("BingX leverage for %s %s set to %dx", symbol, pos_side, confirmed)
        return confirmed

    def read_account_leverage(self, pair: str) -> replies.Leverage:
        """GET leverage for ``pair``: remember the account's maximum and current leverage."""
        symbol = self._symbol(pair)
        memory = self._leverage_confirmed
        with memory.reading(_sides_changed(symbol, "BOTH")) as ticket:
            lev = self._unless_refused(
                ("read leverage", symbol),
                lambda: self._call(
                    f"read leverage of {symbol}",
                    account.get_leverage,
                    symbol,
                    parse=replies.leverage,
                ),
            )
            current = {(symbol, "LONG"): lev.long, (symbol, "SHORT"): lev.short}
            # One-way mode sets both sides at once (side BOTH): the account has a BOTH
            # leverage only when the two agree.
            if lev.long == lev.short:
                current[(symbol, "BOTH")] = lev.long
            memory.confirm(ticket, current)
        if lev.long != lev.short:
            memory.discard([(symbol, "BOTH")])
        self._leverage_read.add(symbol)
        maxima = {"LONG": lev.max_long, "SHORT": lev.max_short}
        with self._maxima_lock:
            self._leverage_max[symbol] = {
                side: value for side, value in maxima.items() if value is not None
            }
        self._refresh_pair_tiers(pair)
        return lev

    def _learn_account_leverage(self, pair: str) -> None:
        """Read the account's leverage for ``pair`` if not read yet; a failure is logged only."""
        market = self.markets.get(pair) or {}
        if market.get("id") in self._leverage_read or not market.get("swap"):
            return
        try:
            self.read_account_leverage(pair)
        except FreqtradeException as e:
            logger.warning(
                "Could not read the account's maximum leverage for %s (%s); using the tiers "
                "as loaded",
                pair,
                e,
            )

    def _remember_maximum(self, pair: str, pos_side: PositionSide, maximum: int) -> None:
        symbol = self._symbol(pair)
        with self._maxima_lock:
            self._leverage_max[symbol] = {**self._leverage_max.get(symbol, {}), pos_side: maximum}
        self._refresh_pair_tiers(pair)

    def whole_leverage(self, pair: str, leverage: float, pos_side: PositionSide) -> int:
        """BingX takes whole numbers: floor (never round risk up), clamp to the pair's max."""
        _check_leverage(pair, leverage)
        whole = math.floor(leverage)
        maximum = self.max_leverage_for_side(pair, pos_side)
        if maximum is not None and whole > maximum:
            whole = maximum
        if whole != leverage:
            logger.warning(
                "Leverage %s for %s %s sent as %dx (BingX takes whole numbers up to %s)",
                leverage,
                pair,
                pos_side,
                whole,
                maximum,
            )
        return whole

    def max_leverage_for_side(self, pair: str, pos_side: PositionSide) -> int | None:
        """The most this account may use on the side; None if unknown.

        The account's figure where known (GET leverage, or a 101414 reply naming it); else the
        contract list's ``maxLongLeverage`` / ``maxShortLeverage``, which BingX's change log
        (2023-08-03) says not to use and which often understates the account's: a lower bound.
        """
        market = self.markets.get(pair) or {}
        known = _side_maximum(self._leverage_max.get(market.get("id"), {}), pos_side)
        if known is not None:
            return known
        info = market.get("info") or {}
        listed = {
            "LONG": _whole(info.get("maxLongLeverage")),
            "SHORT": _whole(info.get("maxShortLeverage")),
        }
        maximum = _side_maximum({side: n for side, n in listed.items() if n is not None}, pos_side)
        if maximum is not None and not self._contract_max_noted and not self.can_sign():
            self._contract_max_noted = True
            logger.warning(
                "No BingX API key: the maximum leverage per pair comes from BingX's contract "
                "list, a lower bound (an account may use more; e.g. %s: %dx listed). A key with "
                "read permission lets the plugin read the account's own figures.",
                pair,
                maximum,
            )
        return maximum

    def _ensure_margin_type(self, pair: str, margin_mode: MarginMode) -> None:
        symbol = self._symbol(pair)
        target = MARGIN_TYPES.get(margin_mode)
        if target is None:  # refused at start-up (validate_trading_mode_and_margin_mode)
            raise settings.BingxSettingError(
                f"BingX futures support margin_mode isolated or cross, not {margin_mode!r}"
            )
        memory = self._margin_type_confirmed
        if memory.get(symbol) == target:
            # "read_before_entry" asks BingX every entry (a read; a POST only on a change).
            read_first = self._settings.leverage_check == "read_before_entry"
            if not read_first and self._shared_agrees(shared.MARGIN_TYPE, symbol, "", target):
                return
            memory.discard([symbol])

        def send() -> None:
            seen = self._shared_claim(shared.MARGIN_TYPE, symbol, "")
            with memory.writing([symbol]) as ticket:
                self._set_margin_type(symbol, target)
                kept = symbol in memory.confirm(ticket, {symbol: target})
                if not self._share_answer(kept, shared.MARGIN_TYPE, symbol, "", target, seen):
                    memory.discard([symbol])

        self._unless_refused(("margin type", symbol, target), send)

    # --- settings shared with other bots on this account (shared_settings.py) -------------

    def _shared_claim(self, kind: str, symbol: str, side: str, *, wait_s: float = 0.0) -> int:
        """Mark the shared row unknown before a request that may change the setting: no other
        bot trusts its memory while it travels, nor for good if its outcome stays unknown.
        Returns the row's version, to write the answer with.

        While the file is busy the mark cannot be written, and the request is not sent: the
        other bots would trust their memory of the old value meanwhile. freqtrade gets a
        ``TemporaryError`` (its retrier tries again; an entry that still fails is skipped for
        this loop, a ``DependencyException``, and tried again on a later one: late, not lost).
        """
        shared_file = self._shared
        if shared_file is None:
            return 0
        try:
            return shared_file.claim(kind, symbol, side, wait_s=wait_s)
        except shared.Busy as e:
            what = f"{kind} of {symbol} {side}".rstrip() if symbol else kind
            raise TemporaryError(
                f"BingX {what} not changed, nothing sent: the account's state file "
                f"{shared_file.path} is busy (another process holds it: {e}), so the other bots "
                "on this account could not be told of the change."
            ) from None

    def _shared_agrees(self, kind: str, symbol: str, side: str, value: object) -> bool:
        """False when another bot on this account recorded another value (or an unknown one)
        for a setting this bot remembers as ``value``: it must be sent again.

        Also False when the shared file is unusable (said once in the log), or busy for this
        entry: this bot cannot see another bot change the setting, so it trusts no memory of it
        ("read_before_entry" has just read the leverage from BingX, which is trusted).
        """
        read_first = self._settings.leverage_check == "read_before_entry"
        read_first = read_first and kind == shared.LEVERAGE
        shared_file = self._shared
        if shared_file is None or not shared_file.active:
            return read_first
        try:
            entry = shared_file.read(kind, symbol, side)
        except shared.Busy:
            return read_first
        if not shared_file.active:
            return False
        if entry is None or entry.value == str(value):
            return True
        shown = (
            "unknown (another bot is setting it, or did not learn BingX's answer)"
            if entry.value is None
            else entry.value
        )
        logger.warning(
            "BingX %s of %s %s is %s since %s set it; this bot set %s: sending %s again. Bots "
            "on one account share %s per pair%s, so the one that sets it last decides for the "
            "open positions of all.",
            kind,
            symbol,
            side or "",
            shown,
            entry.writer,
            value,
            value,
            kind,
            " and side" if side else "",
        )
        return False

    def _share_answer(
        self, kept: bool, kind: str, symbol: str, side: str, value: object, seen: int
    ) -> bool:
        """Tell the other bots what BingX confirmed to a request that may have changed a setting;
        False when this bot must not remember the answer either.

        Recorded only when this bot's memory ``kept`` the answer (no request of its own
        overlapped). Otherwise, or when another bot wrote the row since its version ``seen``
        (read before sending), which request BingX handled last is unknown: the row is marked
        unknown, so every bot sends its value again before its next entry.
        """
        if self._shared is None:
            return True
        if not kept:
            self._shared.forget(kind, symbol, side)
            return False
        try:
            if self._shared.confirm(kind, symbol, side, value, seen):
                return True
        except shared.Busy:
            return False  # said in the log; marked unknown once the file is free again
        logger.warning(
            "Another bot on this account changed the BingX %s of %s %s while this one set it "
            "to %s: it will be sent again before the next entry.",
            kind,
            symbol,
            side,
            value,
        )
        return False

    def _set_margin_type(self, symbol: str, target: str) -> None:
        current = self._call(
            f"read margin type of {symbol}",
            account.get_margin_type,
            symbol,
            parse=replies.margin_type,
        )
        if current == target:
            return
        # SEPARATE_ISOLATED (BingX's "separated isolated margin") is not a kind of ISOLATED the
        # bot can trade: there each entry opens a position of its own, and closing one needs its
        # positionId (BingX's order pages), which freqtrade's orders never carry. So it is a
        # different type like any other, switched to the configured one.
        try:
            self._call(
                f"set margin type {target} on {symbol}", account.set_margin_type, symbol, target
            )
        except InvalidOrderException as e:
            if current != SEPARATE_ISOLATED:
                raise
            raise InvalidOrderException(
                f"{e}. {symbol} is in BingX's separated isolated margin mode, which freqtrade "
                "cannot trade (closing needs a positionId per position): close its positions "
                f"and orders on BingX, or switch the pair to {target} there"
            ) from e
        logger.info("BingX margin type for %s set to %s (was %s)", symbol, target, current)


# BingX's 101414: "The maximum leverage for the trading pair is 5, please reduce the leverage"
# (BingX's common error codes page, which also lists the text under 80001).
MAXIMUM_LEVERAGE_TEXT = re.compile(r"maximum leverage for the trading pair is (\d+)", re.IGNORECASE)


def _mode_help(pair: str, error: Exception) -> OperationalException:
    return OperationalException(
        f"BingX refused the position side for {pair} even after re-reading the account's "
        f"position mode ({error}). Check the mode on BingX (Perpetual futures > Preferences > "
        "Position mode) or set exchange.position_mode to 'one_way' or 'hedge'."
    )


def _check_leverage(pair: str, leverage: Any) -> None:
    if (
        isinstance(leverage, bool)
        or not isinstance(leverage, int | float)
        or not math.isfinite(leverage)
        or leverage < 1
    ):
        raise InvalidOrderException(
            f"Leverage for {pair} must be a finite number >= 1, got {leverage!r}; "
            "nothing was sent to BingX"
        )


def _leverage_key(symbol: str, pos_side: PositionSide, leverage: int) -> tuple:
    return ("leverage", symbol, pos_side, leverage)


def _sides_changed(symbol: str, pos_side: PositionSide) -> list[tuple[str, PositionSide]]:
    """The remembered leverages that setting ``pos_side`` may change: BOTH (one-way mode) sets
    the long and the short side, and a BOTH figure holds only while the two agree."""
    sides: tuple[PositionSide, ...] = ("LONG", "SHORT") if pos_side == "BOTH" else (pos_side,)
    return [(symbol, side) for side in (*sides, "BOTH")]


def _may_have_landed(error: BaseException) -> bool:
    """Whether a request that failed with ``error`` may still change the account.

    Not when it was never sent (BingX blocked the endpoint), when BingX or its firewall turned
    it away (rate limit, HTTP 403/418/429), or when BingX refused it with an error code the
    table makes permanent. No answer, a garbled answer, or a temporary error (BingX reports
    internal failures that way) leave the outcome unknown.
    """
    if isinstance(error, DDosProtection):
        return False
    cause = error.__cause__  # the BingX error, possibly under a freqtrade exception with advice
    while cause is not None and not isinstance(cause, BingxError):
        cause = cause.__cause__
    if isinstance(cause, BingxBlocked):
        return False
    return not (isinstance(cause, BingxRejected) and not isinstance(error, TemporaryError))


def _maximum_named(error: Exception) -> int | None:
    """The maximum leverage BingX named in refusing a leverage above it, if it did."""
    cause = error.__cause__
    if not isinstance(cause, BingxError):
        return None
    found = MAXIMUM_LEVERAGE_TEXT.search(cause.msg)
    return _whole(found.group(1)) if found else None


def _side_maximum(maxima: dict[PositionSide, int], pos_side: PositionSide) -> int | None:
    if pos_side in maxima:
        return maxima[pos_side]
    if pos_side != "BOTH":
        return None
    # One-way mode sets both sides at once: the lower maximum holds.
    known = [maxima[side] for side in ("LONG", "SHORT") if side in maxima]
    return min(known) if known else None


def _whole(value: Any) -> int | None:
    """A leverage figure from BingX (int or string) as a whole number >= 1, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number >= 1 else None


def _rate_limit_overrides(config: settings.BingxSettings) -> dict[tuple[str, str], float]:
    if config.leverage_rate_limit is None:
        return {}
    return {("POST", account.LEVERAGE): config.leverage_rate_limit}


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):  # OverflowError: "inf" or "1e400"
        return None


class Bingx(
    BingxOrdersMixin,
    BingxFuturesMixin,
    BingxFuturesDataMixin,
    BingxReconcileMixin,
    FreqtradeBingx,
):
    """freqtrade's ``Bingx`` with USDT-M perpetual futures (registered by the plugin)."""

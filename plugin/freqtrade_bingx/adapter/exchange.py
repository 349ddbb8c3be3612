"""freqtrade's BingX exchange class, extended for USDT-M perpetual futures.

:class:`BingxAdapter` holds every freqtrade hook the plugin changes, each overridden once and
each a few lines that hand the work to a module with one job; :class:`Bingx`, the class
freqtrade resolves, is the adapter on freqtrade's own ``Bingx`` and adds nothing. Spot is
freqtrade's stock ``Bingx``: each hook passes straight through outside futures.

===================================== ========================================== =================
freqtrade hook                        what changes, and why                      work lives in
===================================== ========================================== =================
__init__                              the plugin's settings checked before       settings.py
                                      anything is built; the helpers built;
                                      freqtrade's websocket thread stopped if
                                      start-up fails, and at exit
_init_ccxt                            BingX's demo host by sandbox mode; the     link.py
                                      plugin's network rules, error table, clock
                                      and account budget on each ccxt object
close                                 the account's state file let go (every     link.py
                                      thread's connection to it)
validate_trading_mode_and_margin_mode a margin mode BingX futures lack exits     settings.py
                                      non-zero (freqtrade's refusal exits 0)
additional_exchange_init              live: asset mode checked, position mode    account_modes.py
                                      read, exchange.position_mode applied       leverage.py
_lev_prep                             leverage and margin type through the       leverage.py
_set_leverage                         plugin's transport, with the side the
set_margin_mode                       position mode needs; nothing sent when
                                      confirmed
get_max_leverage                      the account's own maximum (read once per   leverage.py
                                      pair); tiers loaded on first use           tier_book.py
load_leverage_tiers                   tiers from the cache, BingX or an          tier_book.py
fill_leverage_tiers                   estimate, held to the account's maximum    tiers.py
parse_leverage_tier                   (BingX's carry none)
get_maintenance_ratio_and_amt
_get_max_notional_from_tiers
create_order                          placed once more after a position mode     orders.py
create_stoploss                       switched on bingx.com; a stop leaves the
                                      leverage alone; a stop whose placement
                                      failed for a passing reason is looked for
                                      on BingX, placed again at once if absent
_get_params                           positionSide / reduceOnly as the account's orders.py
_get_stop_params                      mode allows; the stop's trigger price      stops.py
validate_stop_ordertypes              (workingType)
fetch_stoploss_order                  a triggered stop's fill under another id;  orders.py
cancel_stoploss_order                 a stop BingX ended is read, not cancelled  stops.py
                                      again
_fetch_orders                         7-day windows of the order history, plus   reconcile.py
                                      the force orders (liquidation, ADL)
_try_build_from_websocket             the websocket's candles only once it has   (here)
                                      shown the current candle: the closed one
                                      is then whole, not a late stream's part
_load_async_markets                   a markets snapshot when BingX cannot be    futures_data.py
get_tickers                           reached (tools, backtesting); the
                                      account's fee rates read with the markets
get_fee                               the account's fee rate (with a key)        futures_data.py
get_liquidation_price                 BingX's price for the trade's own side     futures_data.py
dry_run_liquidation_price             (live); BingX's rule with cross margin     liquidation.py
                                      (dry-run)
check_delisting_time                  BingX's scheduled contract stops           delisting.py
get_funding_fees                      every funding payment, paged; a failed     funding_reads.py
_get_funding_fees_from_exchange       read keeps the trade's last figure
===================================== ========================================== =================

Public seams the plugin's tools and tests use: :attr:`BingxAdapter.bingx` (the signed
transport), ``link`` (:class:`~freqtrade_bingx.adapter.link.BingxLink`: clock, blocks, shared
state),
``account_settings`` (:class:`~freqtrade_bingx.adapter.leverage.AccountSettings`), ``tier_book``,
``account_fees`` (:class:`~freqtrade_bingx.adapter.futures_data.AccountFees`),
``refresh_position_mode``, ``read_account_leverage``, ``whole_leverage``,
``max_leverage_for_side``, ``stop_order_params``, ``fetch_force_orders``,
``funding_interval_hours``, ``tier_cache_path``, ``markets_snapshot_path``,
``shared_state_file``, ``account_state_problem`` and ``can_sign``.
"""

import atexit
import logging
import threading
import weakref
from datetime import datetime
from pathlib import Path
from typing import Any

from freqtrade.constants import BuySell, MakerTaker
from freqtrade.enums import CandleType, MarginMode, RunMode, TradingMode
from freqtrade.enums.runmode import TRADE_MODES
from freqtrade.exceptions import (
    ConfigurationError,
    ExchangeError,
    InvalidOrderException,
    OperationalException,
)
from freqtrade.exchange.bingx import Bingx as FreqtradeBingx
from freqtrade.exchange.common import API_RETRY_COUNT, retrier
from freqtrade.exchange.exchange_types import CcxtOrder, FtHas, Tickers
from freqtrade.exchange.exchange_utils import ROUND_DOWN, ROUND_UP
from freqtrade.exchange.exchange_utils_timeframe import timeframe_to_prev_date
from freqtrade.util.datetime_helpers import dt_from_ts, dt_ts

from freqtrade_bingx import __version__
from freqtrade_bingx.adapter import account_modes, futures_data, orders, settings
from freqtrade_bingx.adapter.funding_reads import FundingReader
from freqtrade_bingx.adapter.leverage import AccountSettings, swap_symbol
from freqtrade_bingx.adapter.link import BingxLink, demo_switch
from freqtrade_bingx.adapter.reconcile import RECONCILE_FT_HAS_FUTURES, ForceOrders, order_window
from freqtrade_bingx.adapter.refusals import RefusalMemory
from freqtrade_bingx.adapter.tier_book import TierBook
from freqtrade_bingx.bingx import delisting, liquidation, markets_cache, replies, stops, tiers
from freqtrade_bingx.bingx.endpoints import FUNDING_RATE_MAX_LIMIT, KLINES_MAX_LIMIT
from freqtrade_bingx.bingx.failures import BingxSettingError, LeverageMismatch
from freqtrade_bingx.bingx.position_mode import PositionMode, PositionSide
from freqtrade_bingx.net import redact
from freqtrade_bingx.net.transport import BingxTransport


logger = logging.getLogger(__name__)


class BingxAdapter:
    """Every freqtrade hook the plugin changes for BingX USDT-M perpetual swaps."""

    _supported_trading_mode_margin_pairs: list[tuple[TradingMode, MarginMode]] = [
        (TradingMode.SPOT, MarginMode.NONE),
        (TradingMode.FUTURES, MarginMode.ISOLATED),
        (TradingMode.FUTURES, MarginMode.CROSS),
    ]

    _ft_has_futures: FtHas = {
        "ccxt_futures_name": "swap",
        # BingX's VST demo host, for swaps only; routed in _init_ccxt (link.demo_switch).
        "supports_demo_trading": True,
        # BingX's contract list schedules delistings: check_delisting_time.
        "has_delisting": True,
        # The order page's timeInForce: "PostOnly, GTC, IOC, and FOK". freqtrade's name for
        # post-only is "PO", which ccxt 4.5.90 sends as PostOnly; IOC and FOK it sends as they
        # are (swap orders). freqtrade sends none for market orders.
        "order_time_in_force": ["GTC", "IOC", "FOK", "PO"],
        # The klines and mark-price klines pages: limit "maximum: 1440"; the funding-rate
        # history page: "maximum: 1000" (ccxt 4.5.90 caps its request there too).
        "ohlcv_candle_limit": KLINES_MAX_LIMIT,
        "funding_fee_candle_limit": FUNDING_RATE_MAX_LIMIT,
        # ccxt 4.5.90's total is availableMargin + usedMargin (BingX's balance page has no
        # maxWithdrawAmount): the wallet balance, without the unrealized PnL that BingX puts
        # in equity (the live reply ccxt quotes: balance 194.8212, unrealizedProfit 1.9219,
        # equity 196.7431, availableMargin 193.7609 + usedMargin 1.0602 = the balance).
        # True would make freqtrade's Wallets take the positions' PnL off a total that never
        # held it.
        "balance_includes_unrealized_pnl": False,
        # freqtrade's websocket candle feed (ExchangeWS, ccxt.pro's watchOHLCV), switched off
        # by exchange.enable_ws false; the plugin's rules on it are net/ccxt_ws.py's.
        "ws_enabled": True,
        **orders.STOPLOSS_FT_HAS_FUTURES,
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
        # Built before freqtrade's __init__, which builds the ccxt objects and calls
        # additional_exchange_init. freqtrade's main loop and its API server (a force entry)
        # call in from two threads: every helper is safe for both.
        self.link = BingxLink(
            self._settings,
            lambda: self._api,
            str(config.get("bot_name") or "freqtrade"),
            self._is_futures,
        )
        self.account_settings = AccountSettings(
            self._settings,
            self.link,
            RefusalMemory(),
            lambda: self.markets,
            lambda pair: self.tier_book.refresh(pair),
        )
        self.tier_book = TierBook(
            config,
            self.link,
            self.account_settings,
            RefusalMemory(),
            lambda: self.markets,
            lambda: self._leverage_tiers,
            self.tier_cache_path,
        )
        self.force_orders = ForceOrders(lambda: self._api, RefusalMemory())
        self.funding = FundingReader(lambda: self._api, self._log_exchange_response)
        self.stop_orders = orders.StopOrders(
            lambda: self._api, self._log_exchange_response, self._order_contracts_to_amount
        )
        self.markets_snapshot = futures_data.MarketsSnapshot(self.markets_snapshot_path)
        self.account_fees = futures_data.AccountFees(self.link)
        # The create_stoploss call under way in this thread: its order types, else None.
        self._stoploss_call = threading.local()
        try:
            super().__init__(config, *args, **kwargs)
        except BaseException:
            # freqtrade may have started its websocket thread (ExchangeWS, not a daemon) before
            # a setting stopped it: closed now, or the process could not exit (see below).
            self.close()
            raise
        if self._exchange_ws is not None:
            _stop_websocket_at_exit(self)

    def _is_futures(self) -> bool:
        return self.trading_mode == TradingMode.FUTURES

    def _is_live_futures(self) -> bool:
        return self._is_futures() and not self._config["dry_run"]

    # --- the connection -----------------------------------------------------------------

    def _init_ccxt(self, exchange_config: dict[str, Any], sync: bool, ccxt_kwargs: dict):
        exchange_config, demo = demo_switch(exchange_config, self._is_futures())
        api = super()._init_ccxt(exchange_config, sync, ccxt_kwargs)
        if demo:
            api.set_sandbox_mode(True)
        self.link.prepare_ccxt(api, sync, live=not self._config["dry_run"])
        return api

    def close(self) -> None:
        super().close()
        link = getattr(self, "link", None)  # __del__ runs close() after a failed __init__ too
        if link is not None:
            link.close()

    @property
    def bingx(self) -> BingxTransport:
        """The signed transport, built on first use
        (:class:`~freqtrade_bingx.adapter.link.BingxLink`)."""
        return self.link.transport

    def can_sign(self) -> bool:
        return self.link.can_sign()

    def shared_state_file(self) -> str | None:
        return self.link.shared_state_file()

    def account_state_problem(self) -> str | None:
        return self.link.account_state_problem()

    # --- start-up -------------------------------------------------------------------------

    def validate_trading_mode_and_margin_mode(self, *args, **kwargs) -> None:
        # freqtrade refuses a margin mode the class does not list with a ConfigurationError,
        # on which it exits with code 0: the plugin's refusal exits non-zero (settings.py).
        try:
            super().validate_trading_mode_and_margin_mode(*args, **kwargs)
        except ConfigurationError as e:
            raise BingxSettingError(
                f"{e} BingX USDT-M futures take margin_mode isolated or cross."
            ) from None

    @retrier
    def additional_exchange_init(self) -> None:
        super().additional_exchange_init()
        if not self._is_live_futures() or self._config.get("runmode") != RunMode.LIVE:
            return
        if not self._is_demo_trading:  # BingX serves the asset mode on its live host only
            account_modes.check_asset_mode(self.link.call, self.margin_mode)
        self.account_settings.refresh_position_mode()
        self.account_settings.apply_position_mode_setting()

    # --- leverage, margin type, position mode (leverage.py) -------------------------------

    def _lev_prep(self, pair: str, leverage: float, side: BuySell, accept_fail: bool = False):
        if not self._is_live_futures():
            return super()._lev_prep(pair, leverage, side, accept_fail)
        if getattr(self._stoploss_call, "order_types", None) is not None:
            # A stop's exit side names the opposite position in hedge mode: left alone.
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
        """The whole-number leverage BingX confirmed for ``side``'s position; None if unset."""
        if not self._is_live_futures():
            return None
        if pair is None:
            raise OperationalException("BingX sets leverage per pair, and no pair was given")
        return _accepting(accept_fail, self.account_settings.ensure_leverage, pair, leverage, side)

    @retrier
    def set_margin_mode(
        self,
        pair: str,
        margin_mode: MarginMode,
        accept_fail: bool = False,
        params: dict | None = None,
    ) -> None:
        if self._is_live_futures():
            _accepting(accept_fail, self.account_settings.ensure_margin_type, pair, margin_mode)

    def get_max_leverage(self, pair: str, stake_amount: float | None) -> float:
        # freqtrade caps the strategy's leverage with this, from the tiers, whose cap is the
        # contract list's figure until the account's own is read (once per pair, when the
        # config has a key), then the pair's tiers on first use.
        if not self._is_futures():
            return super().get_max_leverage(pair, stake_amount)
        if self._config.get("runmode") in TRADE_MODES and self.can_sign():
            self.account_settings.learn_account_leverage(pair)
        self.tier_book.ensure(pair)
        listed = self.tier_book.listing_maximum(pair)
        return listed if listed is not None else super().get_max_leverage(pair, stake_amount)

    def refresh_position_mode(self) -> PositionMode:
        return self.account_settings.refresh_position_mode()

    @property
    def position_mode(self) -> PositionMode:
        return self.account_settings.position_mode

    def read_account_leverage(self, pair: str) -> replies.Leverage:
        return self.account_settings.read_account_leverage(pair)

    def whole_leverage(self, pair: str, leverage: float, pos_side: PositionSide) -> int:
        return self.account_settings.whole_leverage(pair, leverage, pos_side)

    def max_leverage_for_side(self, pair: str, pos_side: PositionSide) -> int | None:
        return self.account_settings.max_leverage_for_side(pair, pos_side)

    # --- leverage tiers (tier_book.py) ----------------------------------------------------

    def load_leverage_tiers(self) -> dict[str, list[dict]]:
        return self.tier_book.load() if self._is_futures() else {}

    def fill_leverage_tiers(self) -> None:
        super().fill_leverage_tiers()
        self.tier_book.refresh_known()

    def parse_leverage_tier(self, tier) -> dict:
        return dict(tier)  # load_leverage_tiers already returns freqtrade's shape

    def get_maintenance_ratio_and_amt(
        self, pair: str, notional_value: float
    ) -> tuple[float, float | None]:
        self._ensure_tiers(pair)
        return super().get_maintenance_ratio_and_amt(pair, notional_value)

    def _get_max_notional_from_tiers(self, pair: str, leverage: float) -> float | None:
        # freqtrade caps an entry's stake with this; an open trade's pair may be new this run.
        self._ensure_tiers(pair)
        return super()._get_max_notional_from_tiers(pair, leverage)

    def _ensure_tiers(self, pair: str) -> None:
        if self._is_futures():
            self.tier_book.ensure(pair)

    def tier_cache_path(self) -> Path | None:
        if "datadir" not in self._config:
            return None
        path = tiers.cache_path(self._config["datadir"], self._config["stake_currency"])
        return self._demo_variant(path)

    def _demo_variant(self, path: Path) -> Path:
        """A cache file of the demo host beside the live one: their markets and tiers differ,
        and freqtrade names both data directories after the exchange (``bingx``)."""
        return path.with_stem(f"{path.stem}_demo") if self._is_demo_trading else path

    # --- orders and stops (orders.py) -----------------------------------------------------

    def create_order(self, **kwargs):
        if not self._is_futures():
            return super().create_order(**kwargs)
        return orders.again_after_mode_change(
            lambda: super(BingxAdapter, self).create_order(**kwargs),
            self.account_settings.current_mode,
            self.refresh_position_mode,
        )

    def create_stoploss(
        self,
        pair: str,
        amount: float,
        stop_price: float,
        order_types: dict,
        side: BuySell,
        leverage: float,
    ) -> CcxtOrder:
        # freqtrade's create_stoploss asks _get_stop_params for the stop's parameters, which
        # need the order types (the trigger price), and calls _lev_prep with the exit side.
        def place() -> CcxtOrder:
            return super(BingxAdapter, self).create_stoploss(
                pair=pair,
                amount=amount,
                stop_price=stop_price,
                order_types=order_types,
                side=side,
                leverage=leverage,
            )

        if not self._is_futures():
            return place()

        def place_in_mode() -> CcxtOrder:
            return orders.again_after_mode_change(
                place, self.account_settings.current_mode, self.refresh_position_mode
            )

        self._stoploss_call.order_types = order_types
        try:
            if not self._is_live_futures():
                return place_in_mode()
            # The stop as freqtrade's create_stoploss sends it: its rounding, its contracts.
            round_mode = ROUND_DOWN if side == "buy" else ROUND_UP
            sent = orders.SentStop(
                pair=pair,
                side=side,
                contracts=self.amount_to_precision(pair, self._amount_to_contracts(pair, amount)),
                stop_price=self.price_to_precision(pair, stop_price, rounding_mode=round_mode),
            )
            return self.stop_orders.place(place_in_mode, sent)
        finally:
            self._stoploss_call.order_types = None

    def _get_params(
        self,
        side: BuySell,
        ordertype: str,
        leverage: float,
        reduceOnly: bool,
        time_in_force: str = "GTC",
    ) -> dict:
        params = super()._get_params(side, ordertype, leverage, reduceOnly, time_in_force)
        if not self._is_futures():
            return params
        return orders.order_params(params, self.position_mode, side, reduceOnly)

    def _get_stop_params(self, side: BuySell, ordertype: str, stop_price: float) -> dict:
        if not self._is_futures():
            return super()._get_stop_params(side=side, ordertype=ordertype, stop_price=stop_price)
        order_types = getattr(self._stoploss_call, "order_types", None) or {}
        return self.stop_order_params(side, ordertype, stop_price, order_types)

    def stop_order_params(
        self, side: BuySell, ordertype: str, stop_price: float, order_types: dict
    ) -> dict:
        """Every parameter of a BingX stop order beyond ccxt's own (orders.stop_order_params)."""
        params = super()._get_stop_params(side=side, ordertype=ordertype, stop_price=stop_price)
        return orders.stop_order_params(params, self.position_mode, side, order_types)

    def validate_stop_ordertypes(self, order_types: dict) -> None:
        if self._is_futures():
            stops.check_price_type(order_types)  # before freqtrade's check, which exits 0
        super().validate_stop_ordertypes(order_types)
        # freqtrade validates the config's order types, then again with the strategy's: the
        # line is said once per distinct setting, in trading runs only.
        if (
            self._is_futures()
            and order_types.get("stoploss_on_exchange")
            and self._config.get("runmode") in (RunMode.LIVE, RunMode.DRY_RUN)
        ):
            self.stop_orders.say_trigger(order_types)

    @retrier(retries=API_RETRY_COUNT)
    def fetch_stoploss_order(
        self, order_id: str, pair: str, params: dict | None = None
    ) -> CcxtOrder:
        if not self._is_live_futures():
            return super().fetch_stoploss_order(order_id, pair, params)
        return self.stop_orders.fetch(order_id, pair, params)

    def cancel_stoploss_order(self, order_id: str, pair: str, params: dict | None = None) -> dict:
        """Cancel a stop that is still waiting; a stop BingX already ended is only read.

        With ``stoploss_blocks_assets`` False the stop stays while freqtrade exits, and once
        the exit closes the position BingX cancels the closing orders left on it. freqtrade
        then cancels the stop once more, which BingX would refuse (80018 / 109422), and each
        refusal counts towards BingX blocking the endpoint after 20 failing requests in 8
        minutes. A read is a successful request; freqtrade takes its answer as the cancel's.
        """
        if self._is_live_futures():
            try:
                current = self.fetch_stoploss_order(order_id, pair)
            except InvalidOrderException:
                current = None
            if current is not None and current.get("status") != "open":
                logger.debug("BingX stop %s of %s is %s already", order_id, pair, current["status"])
                return current
        return super().cancel_stoploss_order(order_id, pair, params)

    # --- orders BingX placed itself (reconcile.py) ----------------------------------------

    def _fetch_orders(
        self, pair: str, since: datetime, params: dict | None = None
    ) -> list[CcxtOrder]:
        if self._is_futures():
            limit = self._ft_has.get("fetch_orders_limit_minutes")
            params = order_window(since, params, limit)
        found = super()._fetch_orders(pair, since, params=params)
        if not self._is_live_futures():
            return found
        known = {order["id"] for order in found}
        forced = self.fetch_force_orders(pair, since, (params or {}).get("until"))
        return found + [order for order in forced if order["id"] not in known]

    def fetch_force_orders(
        self, pair: str, since: datetime, until_ms: int | None = None
    ) -> list[CcxtOrder]:
        """``pair``'s liquidation and ADL orders (reconcile.ForceOrders.fetch)."""
        market = self.markets.get(pair) or {}
        return self.force_orders.fetch(pair, market, since, until_ms)

    # --- candles ----------------------------------------------------------------------------

    def _try_build_from_websocket(self, pair: str, timeframe: str, candle_type: CandleType):
        # freqtrade takes the websocket's candles once they reach the last closed candle, and
        # keeps that one when no newer came yet. After a close, a slow or stalled stream then
        # hands over the last part of the closed candle it sent, not the whole: the strategy
        # would see it as closed. Until the stream has shown the current candle, REST serves.
        if self._is_futures() and self._exchange_ws is not None:
            candles, _ = self._exchange_ws.get_ohlcv_with_refresh(pair, timeframe, candle_type)
            current_open = dt_ts(timeframe_to_prev_date(timeframe))
            if not candles or candles[-1][0] < current_open:
                return None
        return super()._try_build_from_websocket(pair, timeframe, candle_type)

    # --- markets (futures_data.py) --------------------------------------------------------

    def markets_snapshot_path(self) -> Path | None:
        datadir = self._config.get("datadir")
        if not datadir:
            return None
        return self._demo_variant(markets_cache.snapshot_path(datadir, self.trading_mode.value))

    def _load_async_markets(self, reload: bool = False) -> None:
        if not self._is_futures():  # spot: no snapshot written, none read
            return super()._load_async_markets(reload=reload)
        # Backtesting, hyperopt and tools may run on a snapshot; a trading bot must not trade on
        # markets it could not confirm, and one that already has markets keeps them.
        may_use = self._config.get("runmode") not in TRADE_MODES and not self._api_async.markets
        self.markets_snapshot.load_markets(
            lambda: super(BingxAdapter, self)._load_async_markets(reload=reload),
            self._api_async,
            may_use,
        )
        # The account's fee rates, refreshed with the markets by a trading bot (live or
        # dry-run). Backtests keep the contract's figure: a rate read today says nothing of
        # the past.
        if self._config.get("runmode") in TRADE_MODES:
            self.account_fees.refresh()

    def get_fee(
        self,
        symbol: str,
        order_type: str = "",
        side: str = "",
        amount: float = 1,
        price: float = 1,
        taker_or_maker: MakerTaker = "maker",
    ) -> float:
        """The account's own rate once BingX's commissionRate was read (a key is set);
        else freqtrade's figure, the contract's. A ``fee`` in a dry-run config wins, as in
        freqtrade."""
        configured = self._config["dry_run"] and self._config.get("fee") is not None
        if self._is_futures() and not configured:
            rate = self.account_fees.rate("taker" if order_type == "market" else taker_or_maker)
            if rate is not None:
                return rate
        return super().get_fee(symbol, order_type, side, amount, price, taker_or_maker)

    def get_tickers(
        self,
        symbols: list[str] | None = None,
        *,
        cached: bool = False,
        market_type: TradingMode | None = None,
    ) -> Tickers:
        """No tickers while the markets are the snapshot: BingX could not be reached."""
        if self.markets_snapshot.saved is None:
            return super().get_tickers(symbols, cached=cached, market_type=market_type)
        self.markets_snapshot.note_no_tickers()
        return {}

    def check_delisting_time(self, pair: str) -> datetime | None:
        """When BingX stops the pair's contract (``maintainTime`` / ``offTime``), if scheduled;
        in dry-run and live only (the contract list is today's, not a backtest's)."""
        if not self._is_futures() or self._config.get("runmode") not in TRADE_MODES:
            return super().check_delisting_time(pair)
        info = (self.markets.get(pair) or {}).get("info") or {}
        stop_ms = delisting.stop_time_ms(info, dt_ts())
        return dt_from_ts(stop_ms) if stop_ms is not None else None

    # --- liquidation (futures_data.py, liquidation.py) ------------------------------------

    def get_liquidation_price(
        self, pair: str, open_rate: float, is_short: bool, *args: Any, **kwargs: Any
    ) -> float | None:
        # The rest (amount, stake, leverage, wallet balance, open trades) is freqtrade's only.
        if not self._is_live_futures():
            return super().get_liquidation_price(pair, open_rate, is_short, *args, **kwargs)
        return futures_data.live_liquidation_price(
            self.fetch_positions(pair), open_rate, is_short, self.liquidation_buffer
        )

    def dry_run_liquidation_price(
        self,
        pair: str,
        open_rate: float,
        is_short: bool,
        amount: float,
        stake_amount: float,
        leverage: float,
        wallet_balance: float,
        open_trades: list,
    ) -> float | None:
        if not self._is_futures():
            return super().dry_run_liquidation_price(
                pair,
                open_rate,
                is_short,
                amount,
                stake_amount,
                leverage,
                wallet_balance,
                open_trades,
            )
        mmr, maint_amount = self.get_maintenance_ratio_and_amt(pair, open_rate * amount)
        margin = wallet_balance
        if self.margin_mode == MarginMode.CROSS:
            # Dry-run reads the others' mark prices (one request); backtesting has none.
            others = [t.pair for t in open_trades if t.pair != pair]
            trading = self._config.get("runmode") in TRADE_MODES
            marks = futures_data.mark_prices(self._api, others) if trading else {}
            margin += futures_data.cross_margin_of_others(
                pair, open_trades, marks, self.get_maintenance_ratio_and_amt
            )
        return liquidation.liquidation_price(
            entry=open_rate,
            qty=amount,
            margin=margin,
            is_short=is_short,
            mmr=mmr,
            maint_amount=maint_amount or 0.0,
            fee=self.markets[pair].get("taker") or futures_data.DEFAULT_TAKER_FEE,
        )

    # --- funding (funding_reads.py) -------------------------------------------------------

    def get_funding_fees(
        self, pair: str, amount: float, is_short: bool, open_date: datetime
    ) -> float | None:
        """The trade's funding fees since ``open_date``; None (live) when they could not be read.

        freqtrade's version answers 0.0 when the read fails, and its callers store that as the
        trade's funding fees: a failed read would wipe what was charged so far. None is what
        freqtrade's ``Trade.set_funding_fees`` takes as "no new figure".
        """
        if not self._is_live_futures():
            return super().get_funding_fees(pair, amount, is_short, open_date)
        try:
            return self._get_funding_fees_from_exchange(pair, open_date)
        except ExchangeError as e:
            logger.warning(
                "Could not update the funding fees of %s, the trade keeps its last figure: %s",
                pair,
                e,
            )
            return None

    @retrier
    def _get_funding_fees_from_exchange(self, pair: str, since: datetime | int) -> float:
        """Every funding payment of ``pair`` since ``since``, paged (freqtrade's version makes
        one request of 100 rows at most)."""
        if not self._is_futures():
            return super()._get_funding_fees_from_exchange(pair, since)
        since_ms = dt_ts(since) if isinstance(since, datetime) else int(since)
        return self.funding.fees_since(pair, swap_symbol(self.markets, pair), since_ms)

    @retrier
    def funding_interval_hours(self, pair: str) -> int | None:
        """BingX's funding interval for the pair in hours (1, 4 or 8), or None if unknown."""
        return self.funding.interval_hours(pair, swap_symbol(self.markets, pair))


def _stop_websocket_at_exit(exchange: BingxAdapter) -> None:
    """Stop ``exchange``'s websocket thread when the interpreter begins to exit, if it runs.

    freqtrade's ExchangeWS thread is not a daemon, and freqtrade stops it in ``close()``, which
    ``__del__`` calls. The adapter's helpers call back into it, so a dropped exchange that was
    never closed (a start-up that failed later on) is freed only by Python's last collection,
    which comes after the interpreter waited for that thread: the process would never exit.
    threading's own exit hooks run before it waits (concurrent.futures uses them the same way).
    """
    ref = weakref.ref(exchange)

    def stop() -> None:
        alive = ref()
        if alive is not None and alive._exchange_ws is not None:
            alive._exchange_ws.cleanup()

    register = getattr(threading, "_register_atexit", None) or atexit.register
    register(stop)


def _accepting(accept_fail: bool, change: Any, *args: Any) -> Any:
    """``change(*args)``; with ``accept_fail``, a refusal is logged and None returned (never a
    leverage BingX confirmed other than asked: :class:`LeverageMismatch`)."""
    try:
        return change(*args)
    except LeverageMismatch:
        raise
    except InvalidOrderException as e:
        if not accept_fail:
            raise
        logger.warning("%s (accepted, going on)", e)
        return None


class Bingx(BingxAdapter, FreqtradeBingx):
    """freqtrade's ``Bingx`` with USDT-M perpetual futures (registered by the plugin)."""

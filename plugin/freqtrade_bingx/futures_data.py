"""What freqtrade needs besides orders to trade and backtest BingX futures.

- Leverage tiers with a usable maximum leverage (BingX's tiers carry none), cached on disk,
  held to the account's maximum leverage where the plugin has read it.
- Liquidation prices by BingX's rule for dry-run and backtesting.
- A markets snapshot, so backtesting, freqtrade's listing commands and the plugin's tools run
  without network.
- ``exchange.demo_trading``: BingX's VST demo host for ccxt and the plugin alike.

Leverage tiers are loaded for the pairs the bot uses, not for every swap. BingX sends them one
signed request per pair (two with the account's maximum leverage, at 5 requests/s): all of its
~600 USDT swaps would take minutes before the first loop.

- A trading bot (live, dry-run) loads at start-up every cached pair (no request) and the pairs
  its whitelist names. Any other pair, e.g. one a dynamic pairlist picks, is loaded on its
  first use, when freqtrade asks for its maximum leverage, maintenance rate or tier notional:
  from BingX, at most two requests, once per run, and added to the cache. A pair BingX gives
  no tiers for gets the logged estimate, as at start-up. freqtrade's hourly market reload loads
  the named and used pairs again from the cache (or BingX, once the cache is four weeks old).
- Backtesting, hyperopt and the tools know every pair up front and never load on first use:
  the whitelist (its patterns expanded), or every swap without one, from the cache, else
  BingX when the config has a key, else the estimate.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import ccxt
from freqtrade.enums import MarginMode, RunMode, TradingMode
from freqtrade.enums.runmode import TRADE_MODES
from freqtrade.exceptions import (
    DDosProtection,
    ExchangeError,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)
from freqtrade.exchange.common import retrier
from freqtrade.exchange.exchange_types import Tickers
from freqtrade.plugins.pairlist.pairlist_helpers import expand_pairlist
from freqtrade.util.datetime_helpers import dt_from_ts, dt_ts

from freqtrade_bingx import (
    account,
    delisting,
    funding,
    liquidation,
    markets_cache,
    paging,
    replies,
    tiers,
)
from freqtrade_bingx.errors import translate
from freqtrade_bingx.settings import BingxSettingError
from freqtrade_bingx.transport import BingxError, redact_signatures


logger = logging.getLogger(__name__)

# Loading tiers for many pairs takes a while (5 pairs/s): say how far it got this often.
TIER_PROGRESS_EVERY = 25
DEFAULT_TAKER_FEE = 0.0005  # BingX's standard USDT-M taker fee, when a market lacks one
HOUR_MS = 3_600_000
# Funding-rate rows read to tell a pair's funding interval from their spacing.
FUNDING_HISTORY_PROBE = 3


class BingxFuturesDataMixin:
    # When the markets came from the snapshot (BingX could not be reached): its saving time.
    _markets_snapshot_saved: str | None = None
    _no_tickers_noted = False
    _no_snapshot_noted = False

    def __init__(self, *args, **kwargs) -> None:
        # Funding payments read per symbol (live trading), so each update reads only what is new.
        self._funding_ledgers: dict[str, funding.FundingLedger] = {}
        self._funding_lock = threading.Lock()
        self._funding_retention_warned: set[str] = set()
        super().__init__(*args, **kwargs)

    # --- demo account -------------------------------------------------------------------

    def _init_ccxt(self, exchange_config: dict[str, Any], sync: bool, ccxt_kwargs: dict):
        demo = bool(exchange_config.get("demo_trading", False))
        if demo and self.trading_mode != TradingMode.FUTURES:
            # BingX's demo (VST) host serves USDT-M perpetual swaps only (ccxt loads nothing
            # else there). Refused here, before any ccxt object exists, so a spot config with
            # demo_trading can never fall through to the live host, which takes the same keys.
            raise BingxSettingError(
                "BingX's demo account (VST) trades USDT-M perpetual futures only: set "
                "trading_mode to futures, or use dry_run for spot"
            )
        # freqtrade's own demo switch calls ccxt's enable_demo_trading, which needs
        # urls['demo']; ccxt's BingX has none. Its urls['test'] are the VST demo host
        # (open-api-vst.bingx.com), reached with sandbox mode, which also makes ccxt load swap
        # markets only. The plugin's transport follows ccxt's swap URL, so both go there.
        if demo:
            exchange_config = {**exchange_config, "demo_trading": False}
        api = super()._init_ccxt(exchange_config, sync, ccxt_kwargs)
        if demo:
            api.set_sandbox_mode(True)
        return api

    def _demo_variant(self, path: Path) -> Path:
        """A cache file of the demo host beside the live one: their markets and tiers differ,
        and freqtrade names both data directories after the exchange (``bingx``)."""
        return path.with_stem(f"{path.stem}_demo") if self._is_demo_trading else path

    # --- markets snapshot -----------------------------------------------------------------

    def _markets_snapshot_path(self) -> Path | None:
        datadir = self._config.get("datadir")
        if not datadir:
            return None
        return self._demo_variant(markets_cache.snapshot_path(datadir, self.trading_mode.value))

    def _load_async_markets(self, reload: bool = False) -> None:
        if self.trading_mode != TradingMode.FUTURES:
            # Spot is freqtrade's stock Bingx: no snapshot written, none read.
            return super()._load_async_markets(reload=reload)
        try:
            super()._load_async_markets(reload=reload)
        except TemporaryError as e:
            if not self._may_use_markets_snapshot():
                raise
            path = self._markets_snapshot_path()
            loaded = markets_cache.load(path) if path else None
            if loaded is None:
                if path is not None and not self._no_snapshot_noted:
                    self._no_snapshot_noted = True
                    logger.warning(
                        "BingX could not be reached, and there is no usable markets snapshot "
                        "at %s to fall back on. One is saved whenever markets load (any "
                        "freqtrade command with this config and datadir, while online).",
                        path,
                    )
                raise
            markets, saved = loaded
            self._api_async.set_markets(markets)
            self._markets_snapshot_saved = saved
            logger.warning(
                "BingX could not be reached (%s); using the markets snapshot saved %s (%s). "
                "Markets listed or used in this run are as they were then.",
                redact_signatures(str(e)),
                markets_cache.describe_saved(saved),
                path,
            )
            return
        self._markets_snapshot_saved = None
        path = self._markets_snapshot_path()
        if path is not None and self._api_async.markets:
            markets_cache.save(
                path, self._api_async.markets, source=self._api_async.urls["api"].get("swap", "")
            )

    def _may_use_markets_snapshot(self) -> bool:
        # Backtesting, hyperopt and tools may run on a snapshot; a trading bot must not trade on
        # markets it could not confirm, and one that already has markets keeps them.
        return self._config.get("runmode") not in TRADE_MODES and not self._api_async.markets

    def get_tickers(
        self,
        symbols: list[str] | None = None,
        *,
        cached: bool = False,
        market_type: TradingMode | None = None,
    ) -> Tickers:
        """No tickers while the markets are the snapshot: BingX could not be reached.

        Only tools reach this (a trading bot never runs on the snapshot). ``freqtrade
        list-markets`` / ``list-pairs`` read tickers for the minimum stake alone, and asking
        an unreachable host again would cost freqtrade's retries, each up to ccxt's timeout.
        """
        if self._markets_snapshot_saved is None:
            return super().get_tickers(symbols, cached=cached, market_type=market_type)
        if not self._no_tickers_noted:
            self._no_tickers_noted = True
            logger.warning(
                "No BingX tickers offline: the markets are the snapshot saved %s, and no "
                "current price is known (a minimum stake shown is a lower bound).",
                markets_cache.describe_saved(self._markets_snapshot_saved),
            )
        return {}

    # --- leverage tiers -------------------------------------------------------------------

    def load_leverage_tiers(self) -> dict[str, list[dict]]:
        """Tiers per pair at start-up (and at freqtrade's hourly market reload).

        Every cached pair, plus the pairs wanted now (see :meth:`_tier_pairs`): from the cache,
        else from BingX (signed), else an estimate that is logged. A trading bot loads any other
        pair on its first use (:meth:`_ensure_tiers`).
        """
        if self.trading_mode != TradingMode.FUTURES:
            return {}
        swaps = self._tier_swaps()
        wanted = self._tier_pairs(swaps)
        path = self.tier_cache_path()
        cached = tiers.load_cache(path) if path else {}
        result = {pair: rows for pair, rows in cached.items() if pair in swaps}
        missing = [pair for pair in wanted if pair not in result]
        self._tier_fetch_refused = False  # a new load may try again, once per pair
        if missing and self.can_sign():
            fetched = self._fetch_tiers(missing)
            result.update(fetched)
            if fetched and path:
                tiers.save_cache(path, {**cached, **fetched})
        estimated = {pair for pair in wanted if pair not in result}
        with self._tier_lock:
            self._estimated_tiers = (self._estimated_tiers | estimated) - result.keys()
        if estimated:
            self._warn_estimated(sorted(estimated))
        return {
            pair: self._capped_tiers(pair, result.get(pair)) for pair in sorted({*result, *wanted})
        }

    def tier_cache_path(self) -> Path | None:
        if "datadir" not in self._config:
            return None
        return self._demo_variant(
            tiers.cache_path(self._config["datadir"], self._config["stake_currency"])
        )

    def parse_leverage_tier(self, tier) -> dict:
        # load_leverage_tiers already returns freqtrade's shape.
        return dict(tier)

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
        """Load ``pair``'s tiers on its first use by a trading bot: cache, BingX, estimate.

        At most two requests (the account's leverage, then the tiers), once per pair and run.
        A concurrent caller for the same pair does not wait: it sees freqtrade's answer for a
        pair without tiers (maximum leverage 1) until the first caller is done.
        """
        if (
            self.trading_mode != TradingMode.FUTURES
            or self._config.get("runmode") not in TRADE_MODES
        ):
            return  # backtesting and tools use the tiers loaded at start-up, nothing more
        with self._tier_lock:
            if pair in self._tier_pairs_used:
                return
            self._tier_pairs_used.add(pair)
        if pair in self._leverage_tiers or pair not in self._tier_swaps():
            return
        path = self.tier_cache_path()
        rows = None
        if self.can_sign() and not self._tier_fetch_refused:
            rows = self._fetch_tiers([pair]).get(pair)
        if rows is not None and path:
            with self._tier_lock:  # read, add, write: another pair's write must not be lost
                tiers.save_cache(path, {**tiers.load_cache(path), pair: rows})
        with self._tier_lock:  # held to the maximum known now, as in _refresh_pair_tiers
            if rows is None:
                self._estimated_tiers = self._estimated_tiers | {pair}
            self._leverage_tiers[pair] = self._capped_tiers(pair, rows)
        if rows is None:
            self._warn_estimated([pair])

    def _warn_estimated(self, pairs: list[str]) -> None:
        logger.warning(
            "No BingX leverage tiers for %d pair(s) (%s%s): no API key or BingX not reachable,"
            " and no cache. Using one estimated tier per pair from the maximum leverage "
            "(maintenance rate 1/(2*max)); liquidation prices are estimates.",
            len(pairs),
            ", ".join(pairs[:5]),
            " ..." if len(pairs) > 5 else "",
        )

    def _capped_tiers(self, pair: str, rows: list[dict] | None) -> list[dict]:
        """``rows`` (None: no tiers) held to the best maximum leverage known for ``pair``."""
        maximum = self.max_leverage_for_side(pair, "BOTH") or 1
        if rows is None:
            return tiers.fallback_tiers(maximum)
        if self._account_maximum_known(pair):
            return tiers.recap(rows, maximum)
        return rows  # capped when fetched, with the account's figure where it was read

    def fill_leverage_tiers(self) -> None:
        super().fill_leverage_tiers()
        # A maximum learnt by another thread (a force entry) while these tiers loaded was
        # applied to the tiers they replaced: apply the maxima known now once more.
        for pair in list(self._leverage_tiers):
            if self._account_maximum_known(pair):
                self._refresh_pair_tiers(pair)

    def _refresh_pair_tiers(self, pair: str) -> None:
        """Apply a newly learnt maximum to the pair's loaded tiers (freqtrade reads these).

        Under the tier lock, so of two threads that learnt a maximum, the one that updates the
        tiers last reads the latest maximum (nothing is sent to BingX here).
        """
        with self._tier_lock:
            rows = self._leverage_tiers.get(pair)
            if rows is not None:
                if pair in self._estimated_tiers:
                    rows = None
                self._leverage_tiers[pair] = self._capped_tiers(pair, rows)

    def _account_maximum_known(self, pair: str) -> bool:
        return bool(self._leverage_max.get((self.markets.get(pair) or {}).get("id")))

    def _tier_swaps(self) -> set[str]:
        """The USDT-M (stake-currency) linear swaps: the pairs that have tiers."""
        stake = self._config["stake_currency"]
        return {
            pair
            for pair, market in self.markets.items()
            if market.get("swap") and market.get("linear") and market.get("quote") == stake
        }

    def _tier_pairs(self, swaps: set[str]) -> list[str]:
        """The pairs whose tiers must be loaded now, not on first use.

        A trading bot: the pairs its whitelist names, and those it used this run (so an expired
        cache or an estimate is loaded again at the hourly reload); a dynamic pairlist's pairs
        and those a whitelist pattern matches load on first use. Backtesting and tools need
        every pair up front: the whitelist with its patterns expanded, or every swap without one
        (``save-offline``). Listings (list-markets, list-pairs) load none without a whitelist:
        they show each pair's maximum leverage without its tiers (``get_max_leverage``), where
        loading ~600 pairs would take two signed requests each.
        """
        whitelist = list(self._config["exchange"].get("pair_whitelist", []))
        if self._config.get("runmode") in TRADE_MODES:
            with self._tier_lock:  # another thread may be adding a pair
                used = list(self._tier_pairs_used)
            return sorted({p for p in [*whitelist, *used] if p in swaps})
        try:
            expanded = expand_pairlist(whitelist, sorted(swaps))
        except ValueError:  # freqtrade's pairlist refuses a bad pattern with its own message
            expanded = [p for p in whitelist if p in swaps]
        if whitelist:
            return sorted(set(expanded))
        return [] if self._config.get("runmode") == RunMode.UTIL_EXCHANGE else sorted(swaps)

    def _fetch_tiers(self, pairs: list[str]) -> dict[str, list[dict]]:
        """Tiers from BingX, each pair's read together with the account's maximum leverage.

        A refusal that would hit every pair (OperationalException: the key, the permissions)
        stops this load and loads on first use until the next start-up or hourly reload.
        """
        fetched: dict[str, list[dict]] = {}
        if len(pairs) > TIER_PROGRESS_EVERY:
            logger.info("Loading BingX leverage tiers for %d pairs (5 pairs/s)", len(pairs))
        for done, pair in enumerate(pairs, start=1):
            symbol = self.markets[pair]["id"]
            try:
                self._learn_account_leverage(pair)
                rows = self._call(
                    f"read leverage tiers of {symbol}",
                    account.get_tiers,
                    symbol,
                    parse=_checked_tier_rows(symbol),
                )
                fetched[pair] = tiers.parse_tiers(
                    rows, self.max_leverage_for_side(pair, "BOTH") or 1
                )
            except OperationalException as e:
                logger.warning("Stopped loading BingX tiers: %s", e)
                self._tier_fetch_refused = True
                break
            except (TemporaryError, InvalidOrderException, ValueError) as e:
                logger.warning("No BingX tiers for %s: %s", pair, e)
            if done % TIER_PROGRESS_EVERY == 0:
                logger.info("BingX leverage tiers: %d/%d pairs", done, len(pairs))
        return fetched

    # --- liquidation ----------------------------------------------------------------------

    def get_liquidation_price(
        self,
        pair: str,
        open_rate: float,
        is_short: bool,
        amount: float,
        stake_amount: float,
        leverage: float,
        wallet_balance: float,
        open_trades: list | None = None,
    ) -> float | None:
        """Live: the liquidation price BingX reports for the trade's own position.

        freqtrade's version takes the pair's first position. In hedge mode a pair can have a
        long and a short position, and the first may be the other side's.
        """
        if self.trading_mode != TradingMode.FUTURES or self._config["dry_run"]:
            return super().get_liquidation_price(
                pair,
                open_rate,
                is_short,
                amount,
                stake_amount,
                leverage,
                wallet_balance,
                open_trades,
            )
        position = liquidation.position_of_side(self.fetch_positions(pair), is_short)
        price = liquidation.positive_number((position or {}).get("liquidationPrice"))
        if price is None:
            return None
        # freqtrade's liquidation_buffer: stop that share of the distance short of liquidation.
        margin = abs(open_rate - price) * self.liquidation_buffer
        return max(price - margin if is_short else price + margin, 0.0)

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
        if self.trading_mode != TradingMode.FUTURES:
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
            margin += self._cross_margin_of_others(pair, open_trades)
        return liquidation.liquidation_price(
            entry=open_rate,
            qty=amount,
            margin=margin,
            is_short=is_short,
            mmr=mmr,
            maint_amount=maint_amount or 0.0,
            fee=self.markets[pair].get("taker") or DEFAULT_TAKER_FEE,
        )

    def _cross_margin_of_others(self, pair: str, open_trades: list) -> float:
        """What the account's other positions add to (or take from) this one's cross margin.

        The wallet backs every cross position: the others' unrealised PnL counts, and their
        maintenance margin is spoken for, both at the mark price. Dry-run reads the mark prices
        from BingX (one request); backtesting has none at hand and uses the open rates, so
        there the others count with their maintenance only.
        """
        others = [t for t in open_trades if t.pair != pair]
        if not others:
            return 0.0
        marks = self._mark_prices([t.pair for t in others])
        positions = []
        for t in others:
            mark = marks.get(t.pair, t.open_rate)
            mmr, maint_amount = self.get_maintenance_ratio_and_amt(t.pair, mark * t.amount)
            positions.append(
                liquidation.OtherPosition(
                    entry=t.open_rate,
                    qty=t.amount,
                    is_short=t.is_short,
                    mark=mark,
                    mmr=mmr,
                    maint_amount=maint_amount or 0.0,
                )
            )
        return liquidation.cross_margin_of_others(positions)

    def _mark_prices(self, pairs: list[str]) -> dict[str, float]:
        """Mark prices of ``pairs`` from BingX's premium index, in dry-run and live only."""
        if self._config.get("runmode") not in TRADE_MODES:
            return {}
        try:
            rates = self._api.fetch_funding_rates(pairs)
        except ccxt.BaseError as e:
            logger.warning(
                "Could not read BingX mark prices (%s); cross liquidation prices use the open "
                "rates of the other trades",
                redact_signatures(str(e)),
            )
            return {}
        marks = {}
        for pair in pairs:
            mark = liquidation.positive_number((rates.get(pair) or {}).get("markPrice"))
            if mark is not None:
                marks[pair] = mark
        return marks

    # --- delisting ------------------------------------------------------------------------

    def check_delisting_time(self, pair: str) -> datetime | None:
        """When BingX stops the pair's contract (``maintainTime`` / ``offTime``), if scheduled.

        freqtrade's ``DelistFilter`` and ``DataProvider.check_delisting`` read this. Only in
        dry-run and live: the contract list is today's, not a backtest's.
        """
        if (
            self.trading_mode != TradingMode.FUTURES
            or self._config.get("runmode") not in TRADE_MODES
        ):
            return super().check_delisting_time(pair)
        info = (self.markets.get(pair) or {}).get("info") or {}
        stop_ms = delisting.stop_time_ms(info, dt_ts())
        return dt_from_ts(stop_ms) if stop_ms is not None else None

    # --- funding --------------------------------------------------------------------------

    def get_funding_fees(
        self, pair: str, amount: float, is_short: bool, open_date: datetime
    ) -> float | None:
        """The trade's funding fees since ``open_date``; None (live) when they could not be read.

        freqtrade's version answers 0.0 when the read fails, and its callers store that as the
        trade's funding fees: a failed read would wipe what was charged so far. None is what
        freqtrade's ``Trade.set_funding_fees`` takes as "no new figure": the trade keeps the
        last one until a later update reads them.
        """
        if self.trading_mode != TradingMode.FUTURES or self._config["dry_run"]:
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
        """The sum of every funding payment of ``pair`` since ``since`` (live trading).

        freqtrade's version makes one request without ``limit`` (100 rows at most); this one
        pages through BingX's income endpoint (see :mod:`freqtrade_bingx.funding`). A window
        BingX's replies do not let it read ends with :class:`~freqtrade_bingx.paging.WindowNotRead`
        (not retried: asked again, BingX would answer the same way).
        """
        if self.trading_mode != TradingMode.FUTURES:
            return super()._get_funding_fees_from_exchange(pair, since)
        since_ms = dt_ts(since) if isinstance(since, datetime) else int(since)
        symbol = self._symbol(pair)
        now_ms = self._api.milliseconds()
        oldest_kept = now_ms - funding.RETENTION_MS
        with self._funding_lock:
            ledger = self._funding_ledgers.setdefault(symbol, funding.FundingLedger())
        for start, end in ledger.gaps(max(since_ms, oldest_kept), now_ms):
            payments = paging.read_window(
                funding.INCOME_PAGING, self._income_page(symbol), start, end
            )
            ledger.add(start, end, payments)
        if since_ms < oldest_kept and ledger.gaps(since_ms, oldest_kept):
            self._warn_funding_retention(pair, since_ms)
        return ledger.total(since_ms)

    def _income_page(self, symbol: str) -> paging.FetchPage[funding.FundingPayment]:
        def fetch(start_ms: int, end_ms: int) -> tuple[int, list]:
            params = {
                "symbol": symbol,
                "incomeType": funding.FUNDING_FEE,
                "startTime": start_ms,
                "endTime": end_ms,
                "limit": funding.PAGE_LIMIT,
            }
            try:
                # ccxt's fetch_funding_history turns a malformed row into an amount of None,
                # which freqtrade's sum would crash on; the raw reply is checked instead.
                reply = self._api.swapV2PrivateGetUserIncome(params)
                self._log_exchange_response("funding_history", reply, add_info=symbol)
            except ccxt.DDoSProtection as e:
                raise DDosProtection(e) from e
            except (ccxt.OperationFailed, ccxt.ExchangeError) as e:
                raise TemporaryError(f"Could not read funding fees of {symbol}: {e}") from e
            except ccxt.BaseError as e:
                raise OperationalException(e) from e
            data = reply.get("data") if isinstance(reply, dict) else None
            try:
                payments = funding.parse_income(data, symbol)
            except funding.BadIncomeReply as e:
                raise TemporaryError(f"BingX {funding.INCOME_PATH}: {e}") from e
            return len(data) if isinstance(data, list) else 0, payments

        return fetch

    def _warn_funding_retention(self, pair: str, since_ms: int) -> None:
        if pair in self._funding_retention_warned:
            return
        self._funding_retention_warned.add(pair)
        logger.warning(
            "%s: the trade's funding payments before %s are older than the 3 months BingX keeps "
            "(GET %s); the funding fees freqtrade shows for it leave them out",
            pair,
            dt_from_ts(since_ms),
            funding.INCOME_PATH,
        )

    @retrier
    def funding_interval_hours(self, pair: str) -> int | None:
        """BingX's funding interval for the pair in hours (1, 4 or 8), or None if unknown.

        BingX's premiumIndex page lists no interval; newer replies carry ``fundingIntervalHours``
        (ccxt reads it as ``interval``), so that is used when present. Otherwise the spacing of
        the two latest settlements in the funding-rate history (one row per settlement, with its
        ``fundingTime``) gives it. freqtrade charges funding from that history, at a 1h funding
        timeframe that divides every BingX interval.
        """
        symbol = self._symbol(pair)
        # ccxt's fetch_funding_rate turns a malformed reply into an empty result; the raw reply
        # is checked here instead.
        reply = self._funding_call(
            pair, self._api.swapV2PublicGetQuotePremiumIndex, {"symbol": symbol}
        )
        try:
            data = reply.get("data") if isinstance(reply, dict) else reply
            hours = replies.funding_interval_hours(data, symbol)
        except BingxError as e:
            raise translate(e, f"read the funding interval of {pair}") from e
        if hours is not None:
            return hours
        history = self._funding_call(
            pair, self._api.fetch_funding_rate_history, pair, limit=FUNDING_HISTORY_PROBE
        )
        times = sorted(
            {row["timestamp"] for row in history or [] if isinstance(row.get("timestamp"), int)}
        )
        if len(times) < 2:
            return None
        hours, rest = divmod(times[-1] - times[-2], HOUR_MS)
        return hours if hours > 0 and rest == 0 else None

    def _funding_call(self, pair: str, method: Callable[..., Any], *args, **kwargs) -> Any:
        """A public ccxt call for the funding interval, its errors as freqtrade's."""
        try:
            return method(*args, **kwargs)
        except ccxt.DDoSProtection as e:
            raise DDosProtection(e) from e
        except (ccxt.OperationFailed, ccxt.ExchangeError) as e:
            raise TemporaryError(f"Could not read the funding interval of {pair}: {e}") from e
        except ccxt.BaseError as e:
            raise OperationalException(e) from e


def _checked_tier_rows(symbol: str) -> Callable[[Any], list[dict[str, Any]]]:
    """A reply check for ``symbol``'s tiers that hands the checked rows on as BingX sent them."""

    def check(data: Any) -> list[dict[str, Any]]:
        replies.tiers(data, symbol)
        return data

    return check

"""What freqtrade needs besides orders to trade and backtest BingX futures.

- Leverage tiers with a usable maximum leverage (BingX's tiers carry none), cached on disk,
  held to the account's maximum leverage where the plugin has read it.
- Liquidation prices by BingX's rule for dry-run and backtesting.
- A markets snapshot, so backtesting and the plugin's tools run without network.
- ``exchange.demo_trading``: BingX's VST demo host for ccxt and the plugin alike.
"""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt
from freqtrade.enums import MarginMode, TradingMode
from freqtrade.enums.runmode import TRADE_MODES
from freqtrade.exceptions import (
    ConfigurationError,
    DDosProtection,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)
from freqtrade.exchange.common import retrier

from freqtrade_bingx import account, liquidation, markets_cache, replies, tiers
from freqtrade_bingx.errors import translate
from freqtrade_bingx.transport import BingxError, redact_signatures


logger = logging.getLogger(__name__)

# Loading tiers for many pairs takes a while (5 pairs/s): say how far it got this often.
TIER_PROGRESS_EVERY = 25
DEFAULT_TAKER_FEE = 0.0005  # BingX's standard USDT-M taker fee, when a market lacks one


class BingxFuturesDataMixin:
    # --- demo account -------------------------------------------------------------------

    def _init_ccxt(self, exchange_config: dict[str, Any], sync: bool, ccxt_kwargs: dict):
        demo = bool(exchange_config.get("demo_trading", False))
        if demo and self.trading_mode != TradingMode.FUTURES:
            # BingX's demo (VST) host serves USDT-M perpetual swaps only (ccxt loads nothing
            # else there). Refused here, before any ccxt object exists, so a spot config with
            # demo_trading can never fall through to the live host, which takes the same keys.
            raise ConfigurationError(
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
                raise
            markets, saved = loaded
            self._api_async.set_markets(markets)
            logger.warning(
                "BingX could not be reached (%s); using the markets snapshot saved %s (%s)",
                redact_signatures(str(e)),
                saved,
                path,
            )
            return
        path = self._markets_snapshot_path()
        if path is not None and self._api_async.markets:
            markets_cache.save(
                path, self._api_async.markets, source=self._api_async.urls["api"].get("swap", "")
            )

    def _may_use_markets_snapshot(self) -> bool:
        # Backtesting, hyperopt and tools may run on a snapshot; a trading bot must not trade on
        # markets it could not confirm, and one that already has markets keeps them.
        return self._config.get("runmode") not in TRADE_MODES and not self._api_async.markets

    # --- leverage tiers -------------------------------------------------------------------

    def load_leverage_tiers(self) -> dict[str, list[dict]]:
        """Tiers per pair: cache, then BingX (signed), then an estimate that is logged.

        Each tier's maximum leverage is held to the pair's maximum: the account's where the
        plugin has read it (GET leverage, together with the tiers), else as cached.
        """
        if self.trading_mode != TradingMode.FUTURES:
            return {}
        stake = self._config["stake_currency"]
        wanted = self._tier_pairs(stake)
        path = self.tier_cache_path()
        cached = tiers.load_cache(path) if path else {}
        result = {pair: cached[pair] for pair in wanted if pair in cached}
        missing = [pair for pair in wanted if pair not in result]
        if missing and self.can_sign():
            fetched = self._fetch_tiers(missing)
            result.update(fetched)
            if fetched and path:
                tiers.save_cache(path, {**cached, **fetched})
        self._estimated_tiers = {pair for pair in wanted if pair not in result}
        if self._estimated_tiers:
            estimated = sorted(self._estimated_tiers)
            logger.warning(
                "No BingX leverage tiers for %d pair(s) (%s%s): no API key or BingX not reachable,"
                " and no cache. Using one estimated tier per pair from the maximum leverage "
                "(maintenance rate 1/(2*max)); liquidation prices are estimates.",
                len(estimated),
                ", ".join(estimated[:5]),
                " ..." if len(estimated) > 5 else "",
            )
        return {pair: self._capped_tiers(pair, result.get(pair)) for pair in wanted}

    def tier_cache_path(self) -> Path | None:
        if "datadir" not in self._config:
            return None
        return self._demo_variant(
            tiers.cache_path(self._config["datadir"], self._config["stake_currency"])
        )

    def parse_leverage_tier(self, tier) -> dict:
        # load_leverage_tiers already returns freqtrade's shape.
        return dict(tier)

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

        Under a lock, so of two threads that learnt a maximum, the one that updates the tiers
        last reads the latest maximum (no I/O happens here).
        """
        with self._tiers_lock:
            rows = self._leverage_tiers.get(pair)
            if rows is not None:
                if pair in self._estimated_tiers:
                    rows = None
                self._leverage_tiers[pair] = self._capped_tiers(pair, rows)

    def _account_maximum_known(self, pair: str) -> bool:
        return bool(self._leverage_max.get((self.markets.get(pair) or {}).get("id")))

    def _tier_pairs(self, stake: str) -> list[str]:
        swaps = {
            pair
            for pair, market in self.markets.items()
            if market.get("swap") and market.get("linear") and market.get("quote") == stake
        }
        whitelist = [p for p in self._config["exchange"].get("pair_whitelist", []) if p in swaps]
        # A static whitelist needs only its pairs; dynamic pairlists may pick any swap.
        return sorted(whitelist) if whitelist else sorted(swaps)

    def _fetch_tiers(self, pairs: list[str]) -> dict[str, list[dict]]:
        """Tiers from BingX, each pair's read together with the account's maximum leverage."""
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
                break
            except (TemporaryError, InvalidOrderException, ValueError) as e:
                logger.warning("No BingX tiers for %s: %s", pair, e)
            if done % TIER_PROGRESS_EVERY == 0:
                logger.info("BingX leverage tiers: %d/%d pairs", done, len(pairs))
        return fetched

    # --- liquidation ----------------------------------------------------------------------

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
        if self.margin_mode == MarginMode.ISOLATED:
            margin = wallet_balance
        else:
            # Cross: the wallet backs every position; the others' maintenance is spoken for.
            margin = wallet_balance - sum(
                self._maintenance_margin(t.pair, t.open_rate * t.amount)
                for t in open_trades
                if t.pair != pair
            )
        return liquidation.liquidation_price(
            entry=open_rate,
            qty=amount,
            margin=margin,
            is_short=is_short,
            mmr=mmr,
            maint_amount=maint_amount or 0.0,
            fee=self.markets[pair].get("taker") or DEFAULT_TAKER_FEE,
        )

    def _maintenance_margin(self, pair: str, notional: float) -> float:
        mmr, maint_amount = self.get_maintenance_ratio_and_amt(pair, notional)
        return notional * mmr - (maint_amount or 0.0)

    # --- funding --------------------------------------------------------------------------

    @retrier
    def funding_interval_hours(self, pair: str) -> int | None:
        """BingX's funding interval for the pair (1, 4 or 8 hours), from its premium index.

        freqtrade charges funding from the funding-rate history, which holds one row per
        funding event, at a 1h funding timeframe that divides every BingX interval.
        """
        symbol = self._symbol(pair)
        try:
            # ccxt's fetch_funding_rate turns a malformed reply into an empty result; the
            # raw reply is checked here instead.
            reply = self._api.swapV2PublicGetQuotePremiumIndex({"symbol": symbol})
        except ccxt.DDoSProtection as e:
            raise DDosProtection(e) from e
        except (ccxt.OperationFailed, ccxt.ExchangeError) as e:
            raise TemporaryError(f"Could not read the funding interval of {pair}: {e}") from e
        except ccxt.BaseError as e:
            raise OperationalException(e) from e
        try:
            data = reply.get("data") if isinstance(reply, dict) else reply
            return replies.funding_interval_hours(data, symbol)
        except BingxError as e:
            raise translate(e, f"read the funding interval of {pair}") from e


def _checked_tier_rows(symbol: str) -> Callable[[Any], list[dict[str, Any]]]:
    """A reply check for ``symbol``'s tiers that hands the checked rows on as BingX sent them."""

    def check(data: Any) -> list[dict[str, Any]]:
        replies.tiers(data, symbol)
        return data

    return check

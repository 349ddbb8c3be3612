"""
Example strategy for BingX USDT-M perpetual futures: channel breakouts in both directions,
with leverage scaled down when the market is volatile.

Leverage = target risk / ATR%, floored to a whole number and clamped to
[1, min(max_leverage, 10)]: with a 3 % target, an hourly ATR of 0.5 % of the price gives
6x, an ATR of 1.5 % (a sell-off) gives 2x. The aim is a similar move in equity per candle
whatever the pair's volatility.

This is an example of the plugin's moving parts, not trading advice: its parameters were
not optimised and it has only been run on the plugin's SYNTHETIC sample data
(freqtrade_bingx.tools.sample_data). Indicators are computed with pandas only.
"""

import logging
from datetime import datetime
from math import floor, isfinite

import pandas as pd
from freqtrade.strategy import IStrategy
from pandas import DataFrame


logger = logging.getLogger(__name__)


def ema(series: pd.Series, length: int) -> pd.Series:
    """Exponential moving average with the usual span-based smoothing (2 / (length + 1))."""
    return series.ewm(span=length, adjust=False, min_periods=length).mean()


def atr(dataframe: DataFrame, length: int = 14) -> pd.Series:
    """Average true range with Wilder's smoothing (alpha = 1 / length)."""
    prev_close = dataframe["close"].shift(1)
    true_range = pd.concat(
        [
            dataframe["high"] - dataframe["low"],
            (dataframe["high"] - prev_close).abs(),
            (dataframe["low"] - prev_close).abs(),
        ],
        axis=1,
    ).max(axis=1)
    return true_range.ewm(alpha=1 / length, adjust=False, min_periods=length).mean()


def leverage_for_volatility(
    atr_pct: float | None, max_leverage: float, target_risk: float, cap: int
) -> float:
    """
    Whole-number leverage for a given ATR (as a fraction of price): target_risk / atr_pct,
    floored, clamped to [1, min(floor(max_leverage), cap)]. Unknown or non-positive ATR
    gives 1x: without a volatility estimate the safe choice is the lowest leverage.
    """
    ceiling = max(1, min(cap, floor(max_leverage)))
    if atr_pct is None or not isfinite(atr_pct) or atr_pct <= 0:
        return 1.0
    return float(max(1, min(ceiling, floor(target_risk / atr_pct))))


class BingxVolatilityLeverage(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "1h"
    can_short = True

    minimal_roi = {"0": 0.08, "720": 0.04, "2160": 0.01}
    # Leverage changes from trade to trade here, and freqtrade's stoploss is a loss on the
    # stake: -10 % is a 1 % price move at 10x and a 10 % move at 1x, so the stop tightens in
    # price terms exactly when leverage is high (calm markets) and loosens when it is low.
    stoploss = -0.10
    trailing_stop = False

    use_exit_signal = True
    process_only_new_candles = True
    startup_candle_count = 100

    # Stop order kept at BingX in live and demo trading; ignored in backtesting.
    order_types = {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": True,
        "stoploss_on_exchange_interval": 60,
    }
    order_time_in_force = {"entry": "GTC", "exit": "GTC"}

    # Price move per candle (one ATR) that should move equity by about 3 %.
    target_risk = 0.03
    # Never above 10x, whatever the pair allows: an example should not invite liquidation.
    leverage_cap = 10
    channel_length = 24

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_trend"] = ema(dataframe["close"], 100)
        dataframe["atr_pct"] = atr(dataframe, 14) / dataframe["close"]
        # Channel of the previous candles only, so the current close can break out of it.
        dataframe["channel_high"] = dataframe["high"].rolling(self.channel_length).max().shift(1)
        dataframe["channel_low"] = dataframe["low"].rolling(self.channel_length).min().shift(1)
        dataframe["channel_mid"] = (dataframe["channel_high"] + dataframe["channel_low"]) / 2
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        has_volume = dataframe["volume"] > 0
        dataframe.loc[
            (dataframe["close"] > dataframe["channel_high"])
            & (dataframe["close"] > dataframe["ema_trend"])
            & has_volume,
            ["enter_long", "enter_tag"],
        ] = (1, "breakout_up")
        dataframe.loc[
            (dataframe["close"] < dataframe["channel_low"])
            & (dataframe["close"] < dataframe["ema_trend"])
            & has_volume,
            ["enter_short", "enter_tag"],
        ] = (1, "breakout_down")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # Give up once price is back in the lower (for longs) or upper (shorts) half of the
        # channel it broke out of.
        has_volume = dataframe["volume"] > 0
        dataframe.loc[(dataframe["close"] < dataframe["channel_mid"]) & has_volume, "exit_long"] = 1
        dataframe.loc[
            (dataframe["close"] > dataframe["channel_mid"]) & has_volume, "exit_short"
        ] = 1
        return dataframe

    def _latest_atr_pct(self, pair: str) -> float | None:
        """ATR% of the last analysed candle (in backtesting: the candle that gave the signal)."""
        if self.dp is None:
            return None
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if dataframe.empty or "atr_pct" not in dataframe.columns:
            return None
        return float(dataframe["atr_pct"].iloc[-1])

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        atr_pct = self._latest_atr_pct(pair)
        result = leverage_for_volatility(atr_pct, max_leverage, self.target_risk, self.leverage_cap)
        logger.debug("%s %s: ATR%% %s -> leverage %s", pair, side, atr_pct, result)
        return result

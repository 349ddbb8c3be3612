"""
Example strategy for BingX USDT-M perpetual futures: EMA crossover in both directions at a
fixed 3x leverage.

This is an example of the plugin's moving parts (futures, shorting, the leverage callback,
stop loss on the exchange), not trading advice: its parameters were not optimised and it
has only been run on the plugin's SYNTHETIC sample data (freqtrade_bingx.tools.sample_data).
Indicators are computed with pandas only, so it needs neither TA-Lib nor pandas_ta.
"""

from datetime import datetime
from math import floor

from freqtrade.strategy import IStrategy
from pandas import DataFrame


def ema(series, length: int):
    """Exponential moving average with the usual span-based smoothing (2 / (length + 1))."""
    return series.ewm(span=length, adjust=False, min_periods=length).mean()


class BingxFixedLeverage(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "1h"
    can_short = True

    # Take profit in steps: 6 % at once, 3 % after a day, anything positive after two days.
    minimal_roi = {"0": 0.06, "1440": 0.03, "2880": 0.005}
    # At 3x leverage freqtrade's stoploss is a loss on the stake (margin), so -9 % here is a
    # price move of about 3 % against the position - well inside liquidation at 3x isolated.
    stoploss = -0.09
    trailing_stop = False

    use_exit_signal = True
    exit_profit_only = False
    process_only_new_candles = True
    # The slow EMA needs 100 candles before it is defined.
    startup_candle_count = 100

    # stoploss_on_exchange places a stop order at BingX in live and demo trading, so the
    # position is protected even if the bot is down; backtesting ignores this setting.
    order_types = {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": True,
        "stoploss_on_exchange_interval": 60,
    }
    order_time_in_force = {"entry": "GTC", "exit": "GTC"}

    fixed_leverage = 3

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = ema(dataframe["close"], 12)
        dataframe["ema_slow"] = ema(dataframe["close"], 36)
        dataframe["ema_trend"] = ema(dataframe["close"], 100)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast_above = dataframe["ema_fast"] > dataframe["ema_slow"]
        crossed_up = fast_above & ~fast_above.shift(1, fill_value=True)
        crossed_down = ~fast_above & fast_above.shift(1, fill_value=False)
        # Trade a crossover only in the direction of the slower trend, to skip most of the
        # whipsaws a bare crossover gives in ranging markets.
        dataframe.loc[
            crossed_up & (dataframe["close"] > dataframe["ema_trend"]) & (dataframe["volume"] > 0),
            ["enter_long", "enter_tag"],
        ] = (1, "ema_cross_up")
        dataframe.loc[
            crossed_down
            & (dataframe["close"] < dataframe["ema_trend"])
            & (dataframe["volume"] > 0),
            ["enter_short", "enter_tag"],
        ] = (1, "ema_cross_down")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast_above = dataframe["ema_fast"] > dataframe["ema_slow"]
        # Leave when the crossover that opened the trade is undone.
        dataframe.loc[~fast_above & (dataframe["volume"] > 0), "exit_long"] = 1
        dataframe.loc[fast_above & (dataframe["volume"] > 0), "exit_short"] = 1
        return dataframe

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
        # BingX's set-leverage endpoint takes a whole number, so floor the pair's maximum
        # (which may be fractional after tier clamping) before comparing.
        return float(max(1, min(self.fixed_leverage, floor(max_leverage))))

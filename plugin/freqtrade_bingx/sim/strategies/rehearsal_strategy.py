"""A fast strategy for rehearsals against the local fake BingX (not a trading strategy).

It exists to exercise the plugin's moving parts within a minute of live trading:
- enters on the first loop on every whitelisted pair, long or short per pair (``DIRECTIONS``;
  ``"alternate"`` flips the direction on every re-entry, starting long; pairs not listed are
  long or short by their place in the whitelist),
- uses leverage > 1 through ``leverage()``. ``LEVERAGE_STEPS`` pairs change their leverage on
  every re-entry; the others keep theirs, so unchanged leverage must not be re-sent. With the
  shipped whitelist: BTC alternates long / short at 2x (hedge mode: LONG and SHORT each set
  once), ETH is short at 3x, SOL is long at 2x, 3x, 2x, ...,
- places its stoploss on the exchange (wide, so it protects but does not trigger),
- exits with ``custom_exit`` after ``HOLD_SECONDS`` and re-enters on the next loop (freqtrade's
  one-candle "Auto lock" after an exit is lifted in ``bot_loop_start``).

Load it with ``--strategy-path <this folder> --strategy BingxRehearsal``.
"""

from datetime import UTC, datetime

from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class BingxRehearsal(IStrategy):
    INTERFACE_VERSION = 3

    timeframe = "1m"
    can_short = True
    startup_candle_count = 0
    # Signals every loop, not once a candle: the session is shorter than a few candles.
    process_only_new_candles = False

    minimal_roi = {"0": 100.0}  # exits come from custom_exit only
    stoploss = -0.5  # a price move of 1/6 at 3x: placed on the exchange, never reached here
    use_exit_signal = True

    order_types = {
        "entry": "market",
        "exit": "market",
        "emergency_exit": "market",
        "force_exit": "market",
        "force_entry": "market",
        "stoploss": "market",
        "stoploss_on_exchange": True,
        "stoploss_on_exchange_interval": 60,
    }
    order_time_in_force = {"entry": "GTC", "exit": "GTC"}

    HOLD_SECONDS = 12.0
    DIRECTIONS = {
        "BTC/USDT:USDT": "alternate",
        "ETH/USDT:USDT": "short",
        "SOL/USDT:USDT": "long",
    }
    LEVERAGE_STEPS = {
        "BTC/USDT:USDT": (2.0,),
        "ETH/USDT:USDT": (3.0,),
        "SOL/USDT:USDT": (2.0, 3.0),
    }
    DEFAULT_LEVERAGE = (2.0,)

    def bot_loop_start(self, current_time: datetime, **kwargs) -> None:
        # freqtrade locks a pair until the end of the candle after an exit; a 1m candle is
        # too long for a one-minute rehearsal.
        self.unlock_reason("Auto lock")

    @staticmethod
    def trades_so_far(pair: str) -> int:
        return len(Trade.get_trades_proxy(pair=pair))

    def direction(self, pair: str) -> str:
        wanted = self.DIRECTIONS.get(pair)
        if wanted == "alternate":
            return "long" if self.trades_so_far(pair) % 2 == 0 else "short"
        if wanted:
            return wanted
        whitelist = self.dp.current_whitelist() if self.dp else [pair]
        index = whitelist.index(pair) if pair in whitelist else 0
        return "long" if index % 2 == 0 else "short"

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        column = "enter_long" if self.direction(metadata["pair"]) == "long" else "enter_short"
        dataframe[column] = 1
        dataframe["enter_tag"] = "rehearsal"
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def custom_exit(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        **kwargs,
    ) -> str | None:
        opened = trade.open_date_utc
        if (datetime.now(UTC) - opened).total_seconds() >= self.HOLD_SECONDS:
            return "rehearsal_hold_over"
        return None

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
        # Called before the new trade is stored: trades_so_far counts the earlier ones.
        steps = self.LEVERAGE_STEPS.get(pair, self.DEFAULT_LEVERAGE)
        return min(steps[self.trades_so_far(pair) % len(steps)], max_leverage)

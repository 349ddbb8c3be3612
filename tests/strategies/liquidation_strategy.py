"""The rehearsal strategy, arranged for a liquidation at the fake BingX (tests only).

BTC is entered long once at 5x and held; nothing but BingX closes it. There is no stoploss on
the exchange (a stop sits above the liquidation price and would close the position first), and
freqtrade's own stoploss is never reached because the test moves only the mark price. ETH keeps
entering and exiting every few seconds: each fill refreshes freqtrade's wallets, which is how
freqtrade learns that the BTC position is gone (otherwise it re-reads positions once an hour).
"""

from datetime import datetime

from freqtrade.persistence import Trade
from pandas import DataFrame

from freqtrade_bingx.sim.strategies.rehearsal_strategy import BingxRehearsal


HELD = "BTC/USDT:USDT"


class BingxLiquidationRehearsal(BingxRehearsal):
    stoploss = -0.99
    order_types = {**BingxRehearsal.order_types, "stoploss_on_exchange": False}

    HOLD_SECONDS = 4.0
    DIRECTIONS = {HELD: "long", "ETH/USDT:USDT": "short"}
    LEVERAGE_STEPS = {HELD: (5.0,), "ETH/USDT:USDT": (2.0,)}

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if metadata["pair"] == HELD and self.trades_so_far(HELD):
            return dataframe  # one BTC trade only
        return super().populate_entry_trend(dataframe, metadata)

    def custom_exit(self, pair: str, trade: Trade, current_time: datetime, **kwargs) -> str | None:
        if pair == HELD:
            return None
        return super().custom_exit(pair, trade, current_time, **kwargs)


class BingxAdlRehearsal(BingxLiquidationRehearsal):
    """The same, with freqtrade's stoploss on the exchange: BingX cancels it with the position."""

    order_types = {**BingxRehearsal.order_types, "stoploss_on_exchange": True}

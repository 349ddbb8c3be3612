"""BingX position modes and the position side each order or leverage change needs.

One-way ("BOTH") keeps one net position per contract; hedge keeps a LONG and a SHORT position
side by side, each with its own leverage. BingX reports the mode as ``dualSidePosition``
(the strings ``"true"`` / ``"false"``) and it applies to every contract of the account.
"""

from enum import Enum
from typing import Literal


PositionSide = Literal["BOTH", "LONG", "SHORT"]


class PositionMode(Enum):
    ONE_WAY = "one_way"
    HEDGE = "hedge"

    @classmethod
    def from_dual_side(cls, value: object) -> "PositionMode":
        """Parse BingX's ``dualSidePosition`` ("true"/"false", sometimes a real bool)."""
        text = str(value).strip().lower()
        if text == "true":
            return cls.HEDGE
        if text == "false":
            return cls.ONE_WAY
        raise ValueError(f"unexpected dualSidePosition value {value!r}")

    @property
    def dual_side(self) -> str:
        return "true" if self is PositionMode.HEDGE else "false"


def position_side(mode: PositionMode, order_side: str, reduce_only: bool = False) -> PositionSide:
    """The position an order belongs to.

    Entries: buy opens or adds to a long, sell to a short. Exits (reduce-only, stoplosses)
    close the opposite: sell closes the long, buy closes the short.
    """
    if mode is PositionMode.ONE_WAY:
        return "BOTH"
    if order_side not in ("buy", "sell"):
        raise ValueError(f"order side must be 'buy' or 'sell', not {order_side!r}")
    opens_long = (order_side == "buy") != reduce_only
    return "LONG" if opens_long else "SHORT"

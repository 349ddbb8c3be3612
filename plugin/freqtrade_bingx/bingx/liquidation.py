"""Liquidation price by BingX's rule, for dry-run and backtesting.

BingX liquidates when the position margin (margin plus unrealised PnL) falls to the
maintenance margin plus the fee of closing at that price:

    margin + side * (P - entry) * qty  =  P * qty * mmr - maint_amount  +  P * qty * fee

with ``side`` +1 for a long and -1 for a short, and the tier's maintenance margin rate
``mmr`` and maintenance amount. Solved for P:

    long:  P = (entry * qty - margin - maint_amount) / (qty * (1 - mmr - fee))
    short: P = (entry * qty + margin + maint_amount) / (qty * (1 + mmr + fee))

Source: BingX "Perpetual futures liquidation" help page (isolated margin).

Cross margin: the whole wallet backs every cross position, so the account is liquidated when
the wallet plus every position's unrealised PnL falls to the sum of their maintenance margins
(plus this position's closing fee). With the other positions held at their mark prices, that is
the rule above with

    margin = wallet + sum over the others of (unrealised PnL - maintenance margin)

which :func:`cross_margin_of_others` computes (freqtrade's Binance class treats cross the same
way: the others' PnL and maintenance at the mark price).
"""

from dataclasses import dataclass
from typing import Any

from freqtrade_bingx.bingx.replies import finite


@dataclass(frozen=True)
class OtherPosition:
    """Another open cross position of the account, at its current mark price."""

    entry: float
    qty: float
    is_short: bool
    mark: float
    mmr: float
    maint_amount: float

    @property
    def unrealised_pnl(self) -> float:
        side = -1 if self.is_short else 1
        return side * (self.mark - self.entry) * self.qty

    @property
    def maintenance_margin(self) -> float:
        return self.mark * self.qty * self.mmr - self.maint_amount


def cross_margin_of_others(others: list[OtherPosition]) -> float:
    """What the other cross positions add to the wallet: their PnL less their maintenance."""
    return sum(p.unrealised_pnl - p.maintenance_margin for p in others)


def positive_number(value: Any) -> float | None:
    """A finite number above zero (a price from a reply), else None."""
    number = finite(value)
    return number if number is not None and number > 0 else None


def liquidation_price(
    *,
    entry: float,
    qty: float,
    margin: float,
    is_short: bool,
    mmr: float,
    maint_amount: float,
    fee: float,
) -> float | None:
    """The price at which BingX liquidates, or None when it cannot (a long that never can)."""
    if entry <= 0 or qty <= 0:
        raise ValueError(f"entry price and quantity must be positive, got {entry}, {qty}")
    if is_short:
        price = (entry * qty + margin + maint_amount) / (qty * (1 + mmr + fee))
    else:
        price = (entry * qty - margin - maint_amount) / (qty * (1 - mmr - fee))
    return price if price > 0 else None


def position_of_side(positions: list[dict[str, Any]], is_short: bool) -> dict[str, Any] | None:
    """The open position of a short (``is_short``) or long trade among ccxt's positions.

    In hedge mode each side has its own row (ccxt's ``side`` "long" / "short", from BingX's
    ``positionSide``); the other side's row is never taken. A row without a side of either kind
    (BingX's one-way ``BOTH``) is the pair's one position.
    """
    wanted = "short" if is_short else "long"
    open_rows = [
        p for p in positions if isinstance(p, dict) and positive_number(p.get("contracts"))
    ]
    for row in open_rows:
        if row.get("side") == wanted:
            return row
    for row in open_rows:
        if row.get("side") not in ("long", "short"):
            return row
    return None

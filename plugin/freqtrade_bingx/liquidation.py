"""Liquidation price by BingX's rule, for dry-run and backtesting.

BingX liquidates when the position margin (margin plus unrealised PnL) falls to the
maintenance margin plus the fee of closing at that price:

    margin + side * (P - entry) * qty  =  P * qty * mmr - maint_amount  +  P * qty * fee

with ``side`` +1 for a long and -1 for a short, and the tier's maintenance margin rate
``mmr`` and maintenance amount. Solved for P:

    long:  P = (entry * qty - margin - maint_amount) / (qty * (1 - mmr - fee))
    short: P = (entry * qty + margin + maint_amount) / (qty * (1 + mmr + fee))

Source: BingX "Perpetual futures liquidation" help page (isolated margin). For cross margin
the margin is the wallet's collateral less what the account's other positions need for their
own maintenance, which is how freqtrade treats cross elsewhere.
"""


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

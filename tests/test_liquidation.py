"""Liquidation prices against examples worked out by hand from BingX's rule.

Rule: liquidation when margin + unrealised PnL = maintenance margin + closing fee, where the
maintenance margin is notional * rate - maintenance amount and the fee is notional * taker fee,
both at the liquidation price P.
"""

import pytest

from freqtrade_bingx.bingx import replies
from freqtrade_bingx.bingx.liquidation import liquidation_price
from freqtrade_bingx.bingx.tiers import parse_tiers
from freqtrade_bingx.sim.accounts import leverage_tiers


FEE = 0.0005

# Each case: the inputs, then P as solved by hand (steps in the comment).
HAND_WORKED = [
    # Long BTC, entry 60000, 0.1 BTC (notional 6000) at 10x: margin 600; tier 1 rate 0.4%.
    # 600 + 0.1 (P - 60000) = 0.1 P (0.004 + 0.0005)
    # 0.1 P - 0.00045 P = 6000 - 600  ->  0.09955 P = 5400  ->  P = 54244.098...
    (dict(entry=60000, qty=0.1, margin=600, is_short=False, mmr=0.004, maint_amount=0), 54244.098),
    # Short ETH, entry 3000, 2 ETH (notional 6000) at 5x: margin 1200; rate 0.5%.
    # 1200 + 2 (3000 - P) = 2 P (0.005 + 0.0005)
    # 7200 = 2 P + 0.011 P = 2.011 P  ->  P = 3580.308...
    (dict(entry=3000, qty=2, margin=1200, is_short=True, mmr=0.005, maint_amount=0), 3580.308),
    # Long BTC, entry 60000, 10 BTC (notional 600000) at 20x: margin 30000; tier 2 of the fake's
    # ladder: rate 0.8%, maintenance amount 300000 * (0.008 - 0.004) = 1200.
    # 30000 + 10 (P - 60000) = 10 P * 0.008 - 1200 + 10 P * 0.0005
    # 10 P - 0.085 P = 600000 - 30000 - 1200  ->  9.915 P = 568800  ->  P = 57367.625...
    (
        dict(entry=60000, qty=10, margin=30000, is_short=False, mmr=0.008, maint_amount=1200),
        57367.625,
    ),
    # Short at 1x: 6000 + 0.1 (60000 - P) = 0.1 P * 0.0045 -> 12000 = 0.10045 P -> 119462.419...
    (dict(entry=60000, qty=0.1, margin=6000, is_short=True, mmr=0.004, maint_amount=0), 119462.419),
]


@pytest.mark.parametrize("inputs, by_hand", HAND_WORKED)
def test_liquidation_price_matches_the_hand_worked_example(inputs, by_hand):
    price = liquidation_price(fee=FEE, **inputs)
    assert price == pytest.approx(by_hand, abs=0.001)
    # And it satisfies the rule itself at that price.
    side = -1 if inputs["is_short"] else 1
    equity = inputs["margin"] + side * (price - inputs["entry"]) * inputs["qty"]
    notional = price * inputs["qty"]
    required = notional * inputs["mmr"] - inputs["maint_amount"] + notional * FEE
    assert equity == pytest.approx(required, rel=1e-9)


def test_a_long_at_1x_is_never_liquidated():
    # 6000 + 0.1 (P - 60000) = 0.00045 P  ->  0.09955 P = 0  ->  P = 0: no liquidation.
    assert (
        liquidation_price(
            entry=60000, qty=0.1, margin=6000, is_short=False, mmr=0.004, maint_amount=0, fee=FEE
        )
        is None
    )


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="positive"):
        liquidation_price(
            entry=0, qty=1, margin=1, is_short=False, mmr=0.01, maint_amount=0, fee=FEE
        )


def test_the_exchange_uses_bingx_tiers_for_dry_run_liquidation(fake_bingx, make_exchange):
    exchange = make_exchange(dry_run=False)
    exchange.fill_leverage_tiers()
    # The first worked example, through freqtrade's entry point: stake 600 at 10x.
    price = exchange.dry_run_liquidation_price(
        "BTC/USDT:USDT",
        open_rate=60000,
        is_short=False,
        amount=0.1,
        stake_amount=600,
        leverage=10,
        wallet_balance=600,
        open_trades=[],
    )
    assert price == pytest.approx(54244.098, abs=0.001)
    # A position large enough for tier 2 picks tier 2's rate and amount (third example).
    price = exchange.dry_run_liquidation_price(
        "BTC/USDT:USDT",
        open_rate=60000,
        is_short=False,
        amount=10,
        stake_amount=30000,
        leverage=20,
        wallet_balance=30000,
        open_trades=[],
    )
    assert price == pytest.approx(57367.625, abs=0.001)


def test_fake_ladder_tier_two_is_what_the_hand_example_assumed():
    tiers = parse_tiers(replies.tiers(leverage_tiers("BTC-USDT", 125), "BTC-USDT"), 125)
    assert (tiers[1]["maintenanceMarginRate"], tiers[1]["maintAmt"]) == (0.008, 1200.0)


def _trade(pair: str, open_rate: float, amount: float, is_short: bool, leverage: float):
    from datetime import UTC, datetime

    from freqtrade.persistence import LocalTrade

    return LocalTrade(
        pair=pair,
        open_rate=open_rate,
        amount=amount,
        is_short=is_short,
        leverage=leverage,
        stake_amount=open_rate * amount / leverage,
        fee_open=FEE,
        fee_close=FEE,
        open_date=datetime.now(UTC),
        exchange="bingx",
        trading_mode="futures",
    )


# Cross margin, worked by hand. Wallet (freqtrade's cross collateral) 10000 USDT.
# The other position: short 2 ETH from 3000, mark now 3100.
#   unrealised PnL = -(3100 - 3000) * 2 = -200
#   maintenance at mark: notional 3100 * 2 = 6200, the fake's ETH tier 1 (max 100x):
#   rate 1 / (2 * 100) = 0.005, amount 0  ->  6200 * 0.005 = 31
#   margin left for BTC = 10000 + (-200 - 31) = 9769
# This position: long 1 BTC from 60000 (notional 60000, BTC tier 1: rate 0.004, amount 0).
#   9769 + 1 * (P - 60000) = P * 0.004 + P * 0.0005
#   P (1 - 0.0045) = 60000 - 9769  ->  0.9955 P = 50231  ->  P = 50458.061...
# Without the ETH loss (its maintenance only) it would be (60000 - 9969) / 0.9955 = 50257.157.
CROSS_BY_HAND = 50458.061


def test_cross_liquidation_counts_the_other_positions_pnl_at_mark(fake_bingx, make_exchange):
    from freqtrade.enums import RunMode

    exchange = make_exchange(dry_run=True, runmode=RunMode.DRY_RUN, margin_mode="cross")
    exchange.fill_leverage_tiers()
    fake_bingx.set_mark_price("ETH-USDT", 3100)
    btc = _trade("BTC/USDT:USDT", 60000, 1, is_short=False, leverage=10)
    eth = _trade("ETH/USDT:USDT", 3000, 2, is_short=True, leverage=5)
    price = exchange.dry_run_liquidation_price(
        "BTC/USDT:USDT",
        open_rate=60000,
        is_short=False,
        amount=1,
        stake_amount=6000,
        leverage=10,
        wallet_balance=10000,
        open_trades=[btc, eth],
    )
    assert price == pytest.approx(CROSS_BY_HAND, abs=0.001)
    # The ETH mark price moved in its favour: BTC's liquidation price falls with it.
    # PnL +200, maintenance 5800 * 0.005 = 29: P = (60000 - 10171) / 0.9955
    fake_bingx.set_mark_price("ETH-USDT", 2900)
    price = exchange.dry_run_liquidation_price(
        "BTC/USDT:USDT", 60000, False, 1, 6000, 10, 10000, [btc, eth]
    )
    assert price == pytest.approx((60000 - 10000 - 200 + 29) / 0.9955, abs=0.001)


def test_cross_liquidation_in_backtesting_uses_open_rates(fake_bingx, make_exchange):
    # No mark price at hand in backtesting: the others count with their maintenance only.
    from freqtrade.enums import RunMode

    exchange = make_exchange(dry_run=True, runmode=RunMode.BACKTEST, margin_mode="cross")
    exchange.fill_leverage_tiers()
    fake_bingx.clear_requests()
    eth = _trade("ETH/USDT:USDT", 3000, 2, is_short=True, leverage=5)
    price = exchange.dry_run_liquidation_price(
        "BTC/USDT:USDT", 60000, False, 1, 6000, 10, 10000, [eth]
    )
    # ETH maintenance at 3000: 6000 * 0.005 = 30  ->  (60000 - 9970) / 0.9955
    assert price == pytest.approx((60000 - 9970) / 0.9955, abs=0.001)
    assert fake_bingx.count("/openApi/swap/v2/quote/premiumIndex") == 0

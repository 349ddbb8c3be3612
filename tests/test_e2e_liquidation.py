"""A live ``freqtrade trade`` session in which the fake BingX liquidates a position.

freqtrade holds a BTC long at 5x (``tests/strategies/liquidation_strategy.py``). The test moves
BTC's mark price through the position's liquidation price; the fake closes the position at that
price and records a force order. freqtrade must then close its trade with that price, from the
order the plugin adds to ``fetch_orders`` out of BingX's forceOrders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from freqtrade_bingx.rehearse import REHEARSAL_KEY, Rehearsal


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
STRATEGY_PATH = Path(__file__).parent / "strategies"
# freqtrade starts in about 10 s and enters on its first loop.
ENTRY_DEADLINE_S = 30.0
# ETH trades every 4 s or so; its next fill refreshes the wallets and freqtrade looks.
CLOSE_DEADLINE_S = 25.0


def _btc_trades(run: Rehearsal) -> list[dict]:
    trades, _orders = run.db_rows()
    return [t for t in trades if t["pair"] == PAIR]


def _btc_held(run: Rehearsal) -> bool:
    trades = _btc_trades(run)
    held = any(p["symbol"] == SYMBOL for p in run.positions())
    return held and bool(trades) and trades[0]["is_open"] and run.settled(require_stoploss=False)


def _btc_closed(run: Rehearsal) -> bool:
    trades = _btc_trades(run)
    return bool(trades) and not trades[0]["is_open"]


@pytest.fixture
def rehearsal(tmp_path: Path):
    run = Rehearsal(
        workdir=tmp_path,
        strategy="BingxLiquidationRehearsal",
        strategy_path=STRATEGY_PATH,
        extra_config={
            "exchange": {"pair_whitelist": [PAIR, "ETH/USDT:USDT"]},
            "max_open_trades": 2,
            "entry_pricing": {"price_side": "other"},
            "exit_pricing": {"price_side": "other"},
        },
    )
    try:
        yield run
    finally:
        run.stop()


def test_a_liquidated_position_closes_the_trade_at_bingxs_price(rehearsal: Rehearsal) -> None:
    rehearsal.start()
    rehearsal.run(ENTRY_DEADLINE_S, on_tick=_btc_held, poll_s=0.25)
    assert _btc_held(rehearsal), rehearsal.log_text()[-4000:]
    server = rehearsal.server
    assert server is not None
    [position] = [p for p in rehearsal.positions() if p["symbol"] == SYMBOL]
    liquidation_price = float(position["liquidationPrice"])

    server.set_mark_price(SYMBOL, liquidation_price * 0.98)

    [(kind, force_order)] = server.force_orders(REHEARSAL_KEY)
    assert kind == "LIQUIDATION"
    assert float(force_order["avgPrice"]) == pytest.approx(liquidation_price)
    assert not any(p["symbol"] == SYMBOL for p in rehearsal.positions())

    # freqtrade logs "handled order <id>" once it has saved what the order did to the trade.
    handled = f"handled order {force_order['orderId']}"
    rehearsal.run(CLOSE_DEADLINE_S, on_tick=lambda run: handled in run.log_text(), poll_s=0.25)
    log = rehearsal.log_text()
    assert _btc_closed(rehearsal), log[-4000:]
    [trade] = _btc_trades(rehearsal)
    # freqtrade 2026.9 names every close it did not order "sold_on_exchange"
    # (freqtradebot.handle_onexchange_order); the price is the liquidation's.
    assert trade["exit_reason"] == "sold_on_exchange"
    assert trade["close_rate"] == pytest.approx(float(force_order["avgPrice"]))
    assert trade["close_profit"] < -0.9  # 5x and a 20 % fall: the margin is gone
    _trades, orders = rehearsal.db_rows()
    [recorded] = [o for o in orders if o["order_id"] == str(force_order["orderId"])]
    assert recorded["status"] == "closed"
    assert recorded["ft_order_side"] == "sell"
    assert "BingX closed BTC/USDT:USDT itself (LIQUIDATION)" in log
    assert "Fatal exception" not in log

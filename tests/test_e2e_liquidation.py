"""A live ``freqtrade trade`` session in which the fake BingX liquidates a position.

freqtrade holds a BTC long at 5x (``tests/strategies/liquidation_strategy.py``). The test moves
BTC's mark price through the position's liquidation price; the fake closes the position at that
price and records a force order. freqtrade must then close its trade with that price, from the
order the plugin adds to ``fetch_orders`` out of BingX's forceOrders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from freqtrade_bingx.tools.rehearse import REHEARSAL_KEY, Rehearsal


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


def _btc_stop_placed(run: Rehearsal) -> bool:
    _trades, orders = run.db_rows()
    stop_open = any(
        o["ft_pair"] == PAIR and o["ft_order_side"] == "stoploss" and o["ft_is_open"]
        for o in orders
    )
    return stop_open and _btc_held(run)


def _btc_closed(run: Rehearsal) -> bool:
    trades = _btc_trades(run)
    return bool(trades) and not trades[0]["is_open"]


def _rehearsal(workdir: Path, strategy: str) -> Rehearsal:
    return Rehearsal(
        workdir=workdir,
        strategy=strategy,
        strategy_path=STRATEGY_PATH,
        extra_config={
            "exchange": {"pair_whitelist": [PAIR, "ETH/USDT:USDT"]},
            "max_open_trades": 2,
            "entry_pricing": {"price_side": "other"},
            "exit_pricing": {"price_side": "other"},
        },
    )


@pytest.fixture
def rehearsal(tmp_path: Path):
    run = _rehearsal(tmp_path, "BingxLiquidationRehearsal")
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


def test_adl_with_a_stoploss_on_the_exchange_closes_the_trade(tmp_path: Path) -> None:
    """BingX closes the position by ADL while freqtrade's stop order waits on the exchange:
    the fake cancels the stop with its position, and freqtrade still closes the trade at the
    ADL order's price."""
    run = _rehearsal(tmp_path, "BingxAdlRehearsal")
    try:
        run.start()
        run.run(ENTRY_DEADLINE_S, on_tick=_btc_stop_placed, poll_s=0.25)
        assert _btc_stop_placed(run), run.log_text()[-4000:]
        assert run.server is not None
        force_order = run.server.liquidate(SYMBOL, kind="ADL", api_key=REHEARSAL_KEY)

        handled = f"handled order {force_order['orderId']}"
        run.run(CLOSE_DEADLINE_S, on_tick=lambda r: handled in r.log_text(), poll_s=0.25)
        log = run.log_text()
        [trade] = _btc_trades(run)
        assert not trade["is_open"], log[-4000:]
        assert trade["exit_reason"] == "sold_on_exchange"
        assert trade["close_rate"] == pytest.approx(float(force_order["avgPrice"]))
        assert "BingX closed BTC/USDT:USDT itself (ADL)" in log
        _trades, orders = run.db_rows()
        stops = [o for o in orders if o["ft_pair"] == PAIR and o["ft_order_side"] == "stoploss"]
        assert stops and not any(o["ft_is_open"] for o in stops)
        assert "Fatal exception" not in log
    finally:
        run.stop()

"""A stop freqtrade moves on BingX (trailing stop), through freqtrade's own bot flow, with faults.

freqtrade moves a stop on the exchange in two requests: ``handle_trailing_stoploss_on_exchange``
cancels the stop (``cancel_stoploss_on_exchange``, which records the cancel at once) and then
places the new one (``create_stoploss_order``). Its ``create_stoploss`` allows no retry, so a
failed placement leaves the position without a stop on BingX until freqtrade's next loop, and a
reply lost on its way back leaves BingX holding a stop freqtrade never hears of. The plugin
looks for the stop on BingX after a passing failure and places it again at once if it is not
there (``orders.StopOrders.place``). BingX's one-request ``cancelReplace`` is not used: the
README says why.

Each test builds a real ``FreqtradeBot`` on the fake BingX (the resolver with validate=True),
enters with freqtrade's ``execute_entry``, places the first stop with
``handle_stoploss_on_exchange``, moves freqtrade's stop with its strategy's trailing stop, and
runs ``handle_stoploss_on_exchange`` again, as freqtrade's loop does, with a fault queued on
BingX's place-order endpoint. After every outcome freqtrade's record of the stop (id, price,
status) must be BingX's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import freqtrade_bingx.sim.strategies as sim_strategies
from freqtrade_bingx.sim import FakeBingx, Fault
from tests.configs import futures_config


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
ORDER = "/openApi/swap/v2/trade/order"
OPEN_ORDERS = "/openApi/swap/v2/trade/openOrders"
# A BingX reply that says "not placed, try again" (error_codes.md, 100400: "The current system
# is busy, please try again later"); the plugin's error table makes it a TemporaryError.
BUSY = {"code": 100400, "msg": "The current system is busy, please try again later"}
ENTRY = 60000.0
# Long: the price rises and the trailing stop follows it up; short: it falls, the stop comes down.
MOVES = {"long": 62000.0, "short": 58000.0}


def _config(server: FakeBingx, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return futures_config(
        server,
        strategy="BingxRehearsal",
        strategy_path=str(Path(sim_strategies.__file__).parent),
        datadir=tmp_path / "data",
        user_data_dir=tmp_path,
        db_url="sqlite://",
        stake_amount=100,
        max_open_trades=1,
        tradable_balance_ratio=0.99,
        fiat_display_currency="",
        timeframe="1m",
        entry_pricing={"price_side": "other", "use_order_book": False, "price_last_balance": 0.0},
        exit_pricing={"price_side": "other", "use_order_book": False},
        pairlists=[{"method": "StaticPairList"}],
        internals={},
        telegram={"enabled": False, "token": "", "chat_id": ""},
        stoploss=-0.05,
        trailing_stop=True,
        order_types={
            "entry": "market",
            "exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": True,
            # Move the stop on every loop that moved freqtrade's.
            "stoploss_on_exchange_interval": 0,
        },
        **overrides,
    )


@pytest.fixture
def bot_with_stop(fake_bingx, mocker, tmp_path) -> Iterator[Callable[..., tuple[Any, Any]]]:
    """A FreqtradeBot holding one trade on the fake BingX, its first stop placed."""
    from freqtrade.freqtradebot import FreqtradeBot
    from freqtrade.persistence import Trade

    mocker.patch("freqtrade.exchange.common.time.sleep")
    fake_bingx.set_price(SYMBOL, ENTRY)
    fake_bingx.set_mark_price(SYMBOL, ENTRY)
    built = []

    def build(direction: str = "long", hedge: bool = False) -> tuple[Any, Any]:
        fake_bingx.account().hedge_mode = hedge
        bot = FreqtradeBot(_config(fake_bingx, tmp_path))
        built.append(bot)
        assert bot.execute_entry(PAIR, 100.0, is_short=direction == "short")
        [trade] = Trade.get_open_trades()
        bot.handle_stoploss_on_exchange(trade)
        _same_stop(fake_bingx, trade)
        return bot, trade

    yield build
    for bot in built:
        bot.cleanup()


def _bingx_stops(server: FakeBingx) -> list[dict[str, Any]]:
    """The stops waiting on BingX for the symbol."""
    return [
        o
        for o in server.orders()
        if o["symbol"] == SYMBOL and o["type"] == "STOP_MARKET" and o["status"] == "NEW"
    ]


def _same_stop(server: FakeBingx, trade: Any) -> dict[str, Any]:
    """freqtrade's open stop is BingX's only waiting stop: its id, price and status."""
    [bingx] = _bingx_stops(server)
    [mine] = trade.open_sl_orders
    assert mine.order_id == str(bingx["orderId"])
    assert mine.status == "open"
    assert mine.ft_price == pytest.approx(float(bingx["stopPrice"]))
    return bingx


def _move_the_stop(bot: Any, server: FakeBingx, trade: Any, direction: str) -> float:
    """The price moves; freqtrade's trailing stop follows it (its strategy's own path)."""
    price = MOVES[direction]
    server.set_price(SYMBOL, price)
    server.set_mark_price(SYMBOL, price)
    before = trade.stop_loss
    bot.strategy.ft_stoploss_adjust(
        price, trade, datetime.now(UTC), trade.calc_profit_ratio(price), 0
    )
    assert trade.stop_loss != before
    return trade.stop_loss


def _places(server: FakeBingx) -> int:
    return server.count(ORDER, "POST")


def test_a_failed_placement_between_cancel_and_place_is_placed_again_at_once(
    fake_bingx, bot_with_stop, caplog
):
    """The old way's hole: the cancel went through, the placement failed. freqtrade alone
    leaves the position with no stop on BingX until its next loop; the plugin places it again
    in the same call, and freqtrade records BingX's new stop."""
    bot, trade = bot_with_stop()
    [old] = _bingx_stops(fake_bingx)
    new_stop = _move_the_stop(bot, fake_bingx, trade, "long")
    fake_bingx.inject(Fault(ORDER, "POST", **BUSY))  # BingX answers: not placed
    places = _places(fake_bingx)

    with caplog.at_level(logging.WARNING):
        bot.handle_stoploss_on_exchange(trade)

    bingx = _same_stop(fake_bingx, trade)
    assert float(bingx["stopPrice"]) == pytest.approx(new_stop, rel=1e-4)
    assert bingx["orderId"] != old["orderId"]
    cancelled = [o for o in trade.orders if o.order_id == str(old["orderId"])]
    assert [o.status for o in cancelled] == ["canceled"]
    assert _places(fake_bingx) == places + 2  # the failed one and one more, at once
    assert "the position has none on the exchange, placing it again now" in caplog.text


def test_a_dropped_connection_is_not_placed_again_at_once_but_on_the_next_loop(
    fake_bingx, bot_with_stop, caplog
):
    """No answer at all: BingX may still handle the request after the plugin's read, so placing
    again at once could leave a second stop freqtrade never tracks. freqtrade's next loop
    places it (as without the plugin), and its record is BingX's one stop."""
    bot, trade = bot_with_stop()
    _move_the_stop(bot, fake_bingx, trade, "long")
    fake_bingx.inject(Fault(ORDER, "POST", reset=True))
    places = _places(fake_bingx)

    with caplog.at_level(logging.WARNING):
        bot.handle_stoploss_on_exchange(trade)

    assert _places(fake_bingx) == places + 1  # not placed again in the same call
    assert "has no stop on the exchange" in caplog.text
    bot.handle_stoploss_on_exchange(trade)  # freqtrade's next loop
    _same_stop(fake_bingx, trade)
    assert _places(fake_bingx) == places + 2


@pytest.mark.parametrize(
    ("direction", "hedge"),
    [pytest.param("long", False, id="long_one_way"), pytest.param("short", True, id="short_hedge")],
)
def test_a_lost_reply_records_the_stop_bingx_placed(
    fake_bingx, bot_with_stop, direction, hedge, caplog
):
    """BingX placed the new stop and its reply was lost. freqtrade alone records no stop, and
    its next loop places a second one; the plugin finds the stop on BingX and freqtrade
    records it, so the next loop places nothing."""
    bot, trade = bot_with_stop(direction, hedge)
    _move_the_stop(bot, fake_bingx, trade, direction)
    fake_bingx.inject(Fault(ORDER, "POST", lose_reply=True))
    places = _places(fake_bingx)

    with caplog.at_level(logging.WARNING):
        bot.handle_stoploss_on_exchange(trade)

    _same_stop(fake_bingx, trade)
    assert _places(fake_bingx) == places + 1  # nothing sent again
    assert "but BingX holds it" in caplog.text
    bot.handle_stoploss_on_exchange(trade)  # freqtrade's next loop
    _same_stop(fake_bingx, trade)
    assert _places(fake_bingx) == places + 1


def test_a_position_left_without_a_stop_is_said_and_covered_on_the_next_loop(
    fake_bingx, bot_with_stop, caplog
):
    """Both attempts fail: the position has no stop on BingX and the log says so; freqtrade's
    next loop places it, and its record is BingX's again."""
    bot, trade = bot_with_stop()
    _move_the_stop(bot, fake_bingx, trade, "long")
    fake_bingx.inject(Fault(ORDER, "POST", times=2, **BUSY))
    places = _places(fake_bingx)

    with caplog.at_level(logging.WARNING):
        bot.handle_stoploss_on_exchange(trade)

    assert _bingx_stops(fake_bingx) == []
    assert trade.open_sl_orders == []
    assert _places(fake_bingx) == places + 2
    assert f"BingX: {PAIR} has no stop on the exchange: placing it failed" in caplog.text
    bot.handle_stoploss_on_exchange(trade)  # freqtrade's next loop
    _same_stop(fake_bingx, trade)


def test_a_rate_limited_placement_is_not_pressed(fake_bingx, bot_with_stop, caplog):
    """BingX's rate limit (100410) is a refusal: nothing is looked up or sent again, and the
    log says the position has no stop (the plugin then holds the endpoint for BingX's block)."""
    bot, trade = bot_with_stop()
    _move_the_stop(bot, fake_bingx, trade, "long")
    # The text BingX's pages list for 100410 (older-export trading__place_order.md).
    fake_bingx.inject(Fault(ORDER, "POST", code=100410, msg="rate limited"))
    places = _places(fake_bingx)
    reads = fake_bingx.count(OPEN_ORDERS)

    with caplog.at_level(logging.WARNING):
        bot.handle_stoploss_on_exchange(trade)

    assert _places(fake_bingx) == places + 1
    assert fake_bingx.count(OPEN_ORDERS) == reads
    assert f"BingX: {PAIR} has no stop on the exchange" in caplog.text
    assert trade.open_sl_orders == [] and _bingx_stops(fake_bingx) == []


def test_no_second_placement_when_bingx_cannot_be_read_either(fake_bingx, bot_with_stop, caplog):
    """The placement failed and the open orders cannot be read: whether BingX holds the stop is
    unknown, so nothing is placed blind (it could be a second stop); freqtrade's next loop
    places it, as without the plugin."""
    bot, trade = bot_with_stop()
    _move_the_stop(bot, fake_bingx, trade, "long")
    fake_bingx.inject(Fault(ORDER, "POST", reset=True))
    fake_bingx.inject(Fault(OPEN_ORDERS, "GET", **BUSY))
    places = _places(fake_bingx)

    with caplog.at_level(logging.WARNING):
        bot.handle_stoploss_on_exchange(trade)

    assert _places(fake_bingx) == places + 1
    assert f"BingX: could not read the open orders of {PAIR}" in caplog.text
    assert f"BingX: {PAIR} has no stop on the exchange" in caplog.text
    assert trade.open_sl_orders == [] and _bingx_stops(fake_bingx) == []
    bot.handle_stoploss_on_exchange(trade)  # freqtrade's next loop
    _same_stop(fake_bingx, trade)

"""A stop order's life on BingX, read through freqtrade's Exchange methods against the fake.

A triggered stop is executed by another order linked by ``triggerOrderId``
(freqtrade_bingx.bingx.stops
gives the sources). freqtrade must still read it as its stop, closed at the fill's price and
amount, whether BingX answers the stop's id with the executing order, says "not found", or
answers with the stop itself and no fill.
"""

import logging

import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import ConfigurationError, InvalidOrderException, OperationalException
from freqtrade.resolvers import ExchangeResolver

from freqtrade_bingx.bingx import stops
from freqtrade_bingx.bingx.position_mode import PositionMode
from freqtrade_bingx.sim.orders import TRIGGERED_LOOKUPS
from tests.configs import futures_config


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
ORDER_PATH = "/openApi/swap/v2/trade/order"
ALL_ORDERS_PATH = "/openApi/swap/v2/trade/allOrders"
MODES = [
    pytest.param(PositionMode.ONE_WAY, id="one_way"),
    pytest.param(PositionMode.HEDGE, id="hedge"),
]
# entry side, exit side, a stop below a long / above a short, a price through it
DIRECTIONS = [
    pytest.param("buy", "sell", 57000.0, 56800.0, id="long"),
    pytest.param("sell", "buy", 63000.0, 63200.0, id="short"),
]

# The live reply quoted in stops.py (2026-07-30): GET /openApi/swap/v2/trade/order with the
# stop's id 2082629881359347712 answered with the order that executed it.
LIVE_EXECUTING_ORDER = {
    "orderId": "2082796043553173508",
    "triggerOrderId": "2082629881359347712",
    "symbol": "BTC-USDT",
    "side": "BUY",
    "positionSide": "SHORT",
    "type": "STOP_MARKET",
    "origQty": "0.0023",
    "executedQty": "0.0023",
    "avgPrice": "64733.0",
    "cumQuote": "149",
    "stopPrice": "64767.1",
    "profit": "-2.4081",
    "commission": "-0.074443",
    "status": "FILLED",
    "workingType": "MARK_PRICE",
    "reduceOnly": True,
    "closePosition": "false",
    "positionID": "2082629807737368578",
    "time": "1785412247000",
    "updateTime": "1785412247926",
}


@pytest.fixture
def live(fake_bingx, make_exchange):
    def build(mode: PositionMode, lookup: str = "child", **overrides):
        fake_bingx.account().hedge_mode = mode is PositionMode.HEDGE
        fake_bingx.engine.triggered_stop_lookup = lookup
        exchange = make_exchange(**overrides)
        assert exchange.position_mode is mode
        fake_bingx.set_price(SYMBOL, 60000.0)
        fake_bingx.set_mark_price(SYMBOL, 60000.0)
        return exchange

    return build


def _enter(exchange, side: str) -> None:
    exchange.create_order(
        pair=PAIR, ordertype="market", side=side, amount=0.01, rate=60000.0, leverage=3.0
    )


def _stop(exchange, side: str, stop: float, **order_types) -> dict:
    return exchange.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=stop,
        order_types={"stoploss": "market", **order_types},
        side=side,
        leverage=3.0,
    )


def _executing(fake_bingx, stop_id: str) -> dict:
    [row] = [o for o in fake_bingx.orders() if str(o["triggerOrderId"]) == stop_id]
    return row


def _failed(fake_bingx, path: str) -> int:
    return sum(1 for r in fake_bingx.requests if r.path == path and r.code not in (0, None))


# --- the live reply, through ccxt and the plugin -------------------------------------------


def test_live_executing_order_becomes_the_stop_with_its_fill(live):
    exchange = live(PositionMode.HEDGE)
    parsed = exchange._api.parse_order(LIVE_EXECUTING_ORDER, exchange._api.market(PAIR))
    stop_id = "2082629881359347712"

    assert stops.is_answer(parsed, stop_id)
    order = stops.as_stop(parsed, stop_id)

    # freqtrade matches the reply to its stop by id; the fill is the executing order's.
    assert order["id"] == stop_id
    assert order["id_stop"] == "2082796043553173508"
    assert (order["status"], order["filled"], order["average"]) == ("closed", 0.0023, 64733.0)
    assert parsed["id"] == "2082796043553173508"  # the parsed reply itself is left alone
    # Another stop's executing order, or the stop as a trigger object without fill, is not.
    assert not stops.is_answer(parsed, "1")
    stub = {**parsed, "id": stop_id, "status": "TRIGGERED", "filled": 0.0}
    assert not stops.is_answer(stub, stop_id)


# --- the lifecycle against the fake ----------------------------------------------------------


@pytest.mark.parametrize("lookup", TRIGGERED_LOOKUPS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("entry_side, exit_side, stop, through", DIRECTIONS)
def test_triggered_stop_reads_back_closed_at_its_fill(
    fake_bingx, live, mode, lookup, entry_side, exit_side, stop, through
):
    exchange = live(mode, lookup)
    _enter(exchange, entry_side)
    order = _stop(exchange, exit_side, stop)
    assert exchange.fetch_stoploss_order(order["id"], PAIR)["status"] == "open"

    # The default trigger is the mark price: the last price alone does not fire it.
    fake_bingx.set_price(SYMBOL, through)
    fake_bingx.set_mark_price(SYMBOL, 60000.0)
    assert exchange.fetch_stoploss_order(order["id"], PAIR)["status"] == "open"
    fake_bingx.clear_requests()
    fake_bingx.set_mark_price(SYMBOL, through)

    fetched = exchange.fetch_stoploss_order(order["id"], PAIR)

    executing = _executing(fake_bingx, order["id"])
    assert executing["orderId"] != int(order["id"])
    assert executing["status"] == "FILLED"
    assert fetched["id"] == order["id"]
    assert fetched["id_stop"] == str(executing["orderId"])
    assert fetched["status"] == "closed"
    assert fetched["filled"] == pytest.approx(0.01)
    assert fetched["average"] == pytest.approx(float(executing["avgPrice"]))
    assert not fake_bingx.account().has_position(SYMBOL)
    # "not found" and a stub cost one refused / useless query, then one history read.
    history_reads = fake_bingx.count(ALL_ORDERS_PATH, "GET")
    assert history_reads == (0 if lookup == "child" else 1)
    assert _failed(fake_bingx, ORDER_PATH) == (1 if lookup == "not_found" else 0)


def test_history_read_starts_at_the_stop(fake_bingx, live):
    exchange = live(PositionMode.ONE_WAY, "not_found")
    _enter(exchange, "buy")
    order = _stop(exchange, "sell", 57000.0)
    fake_bingx.set_mark_price(SYMBOL, 56800.0)
    fake_bingx.clear_requests()

    exchange.fetch_stoploss_order(order["id"], PAIR)

    [read] = [r for r in fake_bingx.requests if r.path == ALL_ORDERS_PATH]
    assert read.params["orderId"] == order["id"]
    assert read.params["symbol"] == SYMBOL
    assert read.params["limit"] == str(stops.HISTORY_LIMIT)


def test_stop_limit_triggered_but_resting_stays_open(fake_bingx, live):
    # A STOP (limit) whose limit the price jumps over rests after the trigger: still open.
    exchange = live(PositionMode.ONE_WAY)
    _enter(exchange, "buy")
    order = _stop(exchange, "sell", 57000.0, stoploss="limit", stoploss_on_exchange_limit_ratio=1.0)
    fake_bingx.set_price(SYMBOL, 50000.0)
    fake_bingx.set_mark_price(SYMBOL, 56900.0)

    fetched = exchange.fetch_stoploss_order(order["id"], PAIR)

    assert fetched["id"] == order["id"]
    assert fetched["status"] == "open"
    assert fetched["status_stop"] == "triggered"
    assert fake_bingx.account().has_position(SYMBOL)


def test_stub_without_a_fill_anywhere_waits_and_says_so_once(fake_bingx, live, mocker, caplog):
    exchange = live(PositionMode.ONE_WAY, "stub")
    _enter(exchange, "buy")
    order = _stop(exchange, "sell", 57000.0)
    fake_bingx.set_mark_price(SYMBOL, 56800.0)
    # The executing order not in the history yet.
    mocker.patch.object(exchange._api, "fetch_canceled_and_closed_orders", return_value=[])
    caplog.set_level(logging.DEBUG, logger="freqtrade_bingx.adapter.orders")

    first = exchange.fetch_stoploss_order(order["id"], PAIR)
    second = exchange.fetch_stoploss_order(order["id"], PAIR)

    for fetched in (first, second):
        assert (fetched["id"], fetched["status"]) == (order["id"], "open")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "without a fill" in warnings[0].getMessage()


def test_stop_nowhere_is_refused_once_not_retried(fake_bingx, live):
    exchange = live(PositionMode.ONE_WAY)
    fake_bingx.clear_requests()

    with pytest.raises(InvalidOrderException, match="not by its id, not in BingX's order history"):
        exchange.fetch_stoploss_order("1800000000000000042", PAIR)

    assert fake_bingx.count(ORDER_PATH, "GET") == 1
    assert fake_bingx.count(ALL_ORDERS_PATH, "GET") == 1


def test_cancelled_stop_reads_back_cancelled(fake_bingx, live):
    exchange = live(PositionMode.HEDGE, "not_found")
    _enter(exchange, "buy")
    order = _stop(exchange, "sell", 57000.0)

    exchange.cancel_stoploss_order(order["id"], PAIR)

    assert exchange.fetch_stoploss_order(order["id"], PAIR)["status"] == "canceled"


# --- a limit exit next to the stop (stoploss_blocks_assets False) ----------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("entry_side, exit_side, stop, through", DIRECTIONS)
def test_limit_exit_and_stop_coexist_and_the_first_fill_ends_both(
    fake_bingx, live, mode, entry_side, exit_side, stop, through
):
    exchange = live(mode)
    assert exchange.get_option("stoploss_blocks_assets") is False
    _enter(exchange, entry_side)
    stop_order = _stop(exchange, exit_side, stop)
    target = 61000.0 if exit_side == "sell" else 59000.0

    exit_order = exchange.create_order(
        pair=PAIR,
        ordertype="limit",
        side=exit_side,
        amount=0.01,
        rate=target,
        leverage=3.0,
        reduceOnly=True,
    )

    open_ids = {str(o["orderId"]) for o in fake_bingx.orders() if o["status"] == "NEW"}
    assert open_ids == {stop_order["id"], exit_order["id"]}
    assert exchange.fetch_stoploss_order(stop_order["id"], PAIR)["status"] == "open"

    # The limit exit fills: the position is gone, BingX cancels the stop left on it.
    fake_bingx.set_price(SYMBOL, target)
    assert exchange.fetch_order(exit_order["id"], PAIR)["status"] == "closed"
    assert exchange.fetch_stoploss_order(stop_order["id"], PAIR)["status"] == "canceled"
    assert not fake_bingx.account().has_position(SYMBOL)
    # freqtrade cancels the stop of a closed trade: read, not refused by BingX.
    fake_bingx.clear_requests()
    cancelled = exchange.cancel_stoploss_order_with_result(stop_order["id"], PAIR, 0.01)
    assert (cancelled["id"], cancelled["status"]) == (stop_order["id"], "canceled")
    assert fake_bingx.count(ORDER_PATH, "DELETE") == 0
    assert _failed(fake_bingx, ORDER_PATH) == 0


@pytest.mark.parametrize("mode", MODES)
def test_cancel_of_a_waiting_stop_is_sent(fake_bingx, live, mode):
    exchange = live(mode)
    _enter(exchange, "buy")
    stop_order = _stop(exchange, "sell", 57000.0)
    fake_bingx.clear_requests()

    cancelled = exchange.cancel_stoploss_order_with_result(stop_order["id"], PAIR, 0.01)

    assert cancelled["status"] == "canceled"
    assert fake_bingx.count(ORDER_PATH, "DELETE") == 1
    assert _failed(fake_bingx, ORDER_PATH) == 0


@pytest.mark.parametrize("mode", MODES)
def test_stop_fills_first_and_the_limit_exit_closes_nothing(fake_bingx, live, mode):
    exchange = live(mode)
    _enter(exchange, "buy")
    stop_order = _stop(exchange, "sell", 57000.0)
    exit_order = exchange.create_order(
        pair=PAIR,
        ordertype="limit",
        side="sell",
        amount=0.01,
        rate=61000.0,
        leverage=3.0,
        reduceOnly=True,
    )

    fake_bingx.set_mark_price(SYMBOL, 56800.0)
    fake_bingx.set_price(SYMBOL, 56800.0)
    assert exchange.fetch_stoploss_order(stop_order["id"], PAIR)["status"] == "closed"
    # The price comes back through the limit: a closing order never opens a position.
    fake_bingx.set_price(SYMBOL, 61500.0)
    assert exchange.fetch_order(exit_order["id"], PAIR)["status"] == "canceled"
    assert not fake_bingx.account().has_position(SYMBOL)


# --- the trigger price ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "price_type, working_type", [(None, "MARK_PRICE"), ("last", "CONTRACT_PRICE")]
)
def test_stop_names_its_trigger_price(fake_bingx, live, price_type, working_type):
    exchange = live(PositionMode.ONE_WAY)
    _enter(exchange, "buy")
    fake_bingx.clear_requests()
    extra = {"stoploss_price_type": price_type} if price_type else {}

    _stop(exchange, "sell", 57000.0, **extra)

    [sent] = [r.params for r in fake_bingx.requests if r.path == ORDER_PATH and r.method == "POST"]
    assert sent["workingType"] == working_type


@pytest.mark.parametrize("runmode", [RunMode.LIVE, RunMode.DRY_RUN, RunMode.BACKTEST])
def test_an_index_trigger_is_refused_at_start_up(fake_bingx, runmode):
    # BingX removed INDEX_PRICE from workingType on 2025-08-21: every such stop would be refused.
    order_types = {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": True,
        "stoploss_price_type": "index",
    }
    config = futures_config(
        fake_bingx, order_types=order_types, runmode=runmode, dry_run=runmode != RunMode.LIVE
    )
    with pytest.raises(OperationalException) as raised:
        ExchangeResolver.load_exchange(config, validate=True)
    # Not freqtrade's ConfigurationError, on which it exits with code 0.
    assert not isinstance(raised.value, ConfigurationError)
    message = str(raised.value)
    assert message.startswith(
        "order_types.stoploss_price_type must be 'last' or 'mark' for BingX stops on the "
        "exchange, not 'index': BingX removed INDEX_PRICE"
    )
    assert "2025-08-21" in message and "\n" not in message
    assert not [r for r in fake_bingx.requests if r.path == ORDER_PATH]


def test_last_price_stop_fires_on_the_last_price(fake_bingx, live):
    exchange = live(PositionMode.ONE_WAY)
    _enter(exchange, "buy")
    order = _stop(exchange, "sell", 57000.0, stoploss_price_type="last")

    fake_bingx.set_mark_price(SYMBOL, 56800.0)
    assert exchange.fetch_stoploss_order(order["id"], PAIR)["status"] == "open"
    fake_bingx.set_price(SYMBOL, 56800.0)
    assert exchange.fetch_stoploss_order(order["id"], PAIR)["status"] == "closed"


@pytest.mark.parametrize(
    "order_types, expected",
    [
        ({"stoploss_on_exchange": True}, "stoploss trigger price: mark (MARK_PRICE, default;"),
        (
            {"stoploss_on_exchange": True, "stoploss_price_type": "last"},
            "stoploss trigger price: last (CONTRACT_PRICE, order_types.stoploss_price_type)",
        ),
    ],
)
def test_trigger_price_said_once_at_start_up(live, caplog, order_types, expected):
    exchange = live(PositionMode.ONE_WAY)
    caplog.set_level(logging.INFO, logger="freqtrade_bingx.adapter.orders")

    # freqtrade validates the order types twice at start-up (config, then strategy).
    exchange.validate_stop_ordertypes(order_types)
    exchange.validate_stop_ordertypes(order_types)
    exchange.validate_stop_ordertypes({"stoploss_on_exchange": False})

    said = [r.getMessage() for r in caplog.records if "trigger price" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith(f"BingX {expected}")


def test_trigger_price_not_said_in_backtesting(live, caplog):
    exchange = live(PositionMode.ONE_WAY)
    exchange._config["runmode"] = RunMode.BACKTEST
    caplog.set_level(logging.INFO, logger="freqtrade_bingx.adapter.orders")

    exchange.validate_stop_ordertypes({"stoploss_on_exchange": True})

    assert not [r for r in caplog.records if "trigger price" in r.getMessage()]

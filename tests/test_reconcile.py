"""Positions BingX closed itself, as freqtrade's order look-up sees them.

freqtrade's ``handle_onexchange_order`` closes a trade whose position is gone with the orders
``Exchange.fetch_orders(pair, since)`` returns. These tests drive the fake BingX (liquidation on
the mark price, ADL, a close on bingx.com) and call freqtrade's own ``fetch_orders`` and
``fetch_positions`` on the plugin's exchange.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.exceptions import DDosProtection, ExchangeError, TemporaryError

from freqtrade_bingx.bingx import paging, replies
from freqtrade_bingx.sim import Fault
from freqtrade_bingx.sim.server import FORCE_ORDERS_PATH, FULL_ORDER_PATH


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
DAY = timedelta(days=1)
# The forceOrders page's response table and its example reply (BingX docs, "User's Force
# Orders"; get_openapi_swap_v2_trade_forceorders.md).
FORCE_ORDER_FIELDS = {
    "time", "symbol", "side", "type", "positionSide", "reduceOnly", "cumQuote", "status",
    "stopPrice", "price", "origQty", "avgPrice", "executedQty", "orderId", "profit",
    "commission", "workingType", "updateTime", "stopGuaranteed", "clientOrderId", "leverage",
    "takeProfit", "stopLoss", "advanceAttr", "positionID", "takeProfitEntrustPrice",
    "stopLossEntrustPrice", "orderType",
}  # fmt: skip


def _long_btc(server, amount: float = 0.01, price: float = 60000.0) -> dict:
    server.set_price(SYMBOL, price)
    return server.open_position(SYMBOL, "LONG", amount, price, api_key="test-key")


def _since() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=5)


def _btc_positions(exchange) -> list[dict]:
    return [p for p in exchange.fetch_positions() if p["symbol"] == PAIR and p["contracts"]]


def test_futures_order_lookback_is_seven_days(make_exchange):
    exchange = make_exchange()
    assert exchange._ft_has["fetch_orders_limit_minutes"] == 7 * 24 * 60
    # Spot keeps freqtrade's stock Bingx capabilities.
    assert "fetch_orders_limit_minutes" not in type(exchange)._ft_has


def test_mark_through_liquidation_price_closes_at_it_and_freqtrade_sees_the_order(
    make_exchange, fake_bingx
):
    exchange = make_exchange()
    pos = _long_btc(fake_bingx)
    liq = float(pos["liquidationPrice"])
    assert 0 < liq < 60000.0
    assert _btc_positions(exchange)

    fake_bingx.set_mark_price(SYMBOL, liq * 0.99)

    assert _btc_positions(exchange) == []
    orders = exchange.fetch_orders(PAIR, _since())
    forced = [o for o in orders if o["status"] == "closed" and o["side"] == "sell"]
    assert len(forced) == 1
    order = forced[0]
    assert order["average"] == pytest.approx(liq)
    assert order["filled"] == pytest.approx(0.01)
    assert order["symbol"] == PAIR
    # The force order is not in BingX's order history: it came from forceOrders.
    assert order["id"] not in {str(o["orderId"]) for o in fake_bingx.orders("test-key")}
    [(kind, row)] = fake_bingx.force_orders("test-key")
    assert kind == "LIQUIDATION"
    assert set(row) <= FORCE_ORDER_FIELDS
    assert str(row["orderId"]) == order["id"]


@pytest.mark.parametrize(
    ("hedge", "side", "closing", "position_side"),
    [
        (False, "SHORT", "buy", "BOTH"),
        (True, "LONG", "sell", "LONG"),
        (True, "SHORT", "buy", "SHORT"),
    ],
)
def test_liquidation_of_each_side_and_mode(
    make_exchange, fake_bingx, hedge, side, closing, position_side
):
    fake_bingx.account("test-key").hedge_mode = hedge
    exchange = make_exchange()
    fake_bingx.set_price(SYMBOL, 60000.0)
    pos = fake_bingx.open_position(SYMBOL, side, 0.02, 60000.0, api_key="test-key")
    liq = float(pos["liquidationPrice"])
    # A short is liquidated when the mark rises to its liquidation price.
    fake_bingx.set_mark_price(SYMBOL, liq * (1.01 if side == "SHORT" else 0.99))

    assert _btc_positions(exchange) == []
    [order] = [o for o in exchange.fetch_orders(PAIR, _since()) if o["side"] == closing]
    assert order["average"] == pytest.approx(liq)
    assert order["filled"] == pytest.approx(0.02)
    [(_kind, row)] = fake_bingx.force_orders("test-key")
    assert row["positionSide"] == position_side


def test_adl_is_a_force_order_at_the_mark(make_exchange, fake_bingx, caplog):
    exchange = make_exchange()
    _long_btc(fake_bingx)
    fake_bingx.set_mark_price(SYMBOL, 59000.0)
    fake_bingx.liquidate(SYMBOL, kind="ADL", api_key="test-key")

    assert _btc_positions(exchange) == []
    [order] = [o for o in exchange.fetch_orders(PAIR, _since()) if o["side"] == "sell"]
    assert order["average"] == pytest.approx(59000.0)
    assert "BingX closed BTC/USDT:USDT itself (ADL)" in caplog.text
    # BingX filters by autoCloseType (page: "LIQUIDATION" / "ADL").
    api = exchange._api
    adl = api.swapV2PrivateGetTradeForceOrders({"symbol": SYMBOL, "autoCloseType": "ADL"})
    liq = api.swapV2PrivateGetTradeForceOrders({"symbol": SYMBOL, "autoCloseType": "LIQUIDATION"})
    assert len(adl["data"]["orders"]) == 1
    assert liq["data"]["orders"] == []


def test_close_on_the_website_is_an_order_in_the_history(make_exchange, fake_bingx):
    exchange = make_exchange()
    _long_btc(fake_bingx)
    closed = fake_bingx.close_position_on_web(SYMBOL, api_key="test-key")

    assert _btc_positions(exchange) == []
    [order] = [o for o in exchange.fetch_orders(PAIR, _since()) if o["side"] == "sell"]
    assert order["id"] == str(closed["orderId"])
    assert order["type"] == "market"
    assert order["status"] == "closed"
    assert fake_bingx.force_orders("test-key") == []


def test_each_request_spans_at_most_seven_days(make_exchange, fake_bingx):
    exchange = make_exchange()
    fake_bingx.clear_requests()
    exchange.fetch_orders(PAIR, datetime.now(UTC) - 10 * DAY)

    for path in (FULL_ORDER_PATH, FORCE_ORDERS_PATH):
        sent = [r.params for r in fake_bingx.requests if r.path == path]
        if path == FORCE_ORDERS_PATH:  # one request per autoCloseType and step
            assert [p["autoCloseType"] for p in sent] == ["LIQUIDATION", "ADL"] * 2
            sent = sent[::2]
        assert len(sent) == 2, path
        first, second = sent
        assert int(first["endTime"]) - int(first["startTime"]) <= 7 * DAY / timedelta(
            milliseconds=1
        )
        if path == FULL_ORDER_PATH:
            assert "endTime" not in second  # the last step runs to now
        else:  # force orders are read in windows, so the last one ends now
            assert int(second["endTime"]) >= fake_bingx.server_time_ms() - 60_000
        assert int(second["startTime"]) <= int(first["endTime"])  # no gap between the steps


def test_a_permanent_refusal_is_sent_once_and_the_history_still_counts(
    make_exchange, fake_bingx, caplog
):
    exchange = make_exchange()
    _long_btc(fake_bingx)
    closed = fake_bingx.close_position_on_web(SYMBOL, api_key="test-key")
    fake_bingx.inject(
        Fault(FORCE_ORDERS_PATH, code=109400, msg="Invalid parameters, symbol", times=5)
    )
    fake_bingx.clear_requests()

    for _ in range(3):
        orders = exchange.fetch_orders(PAIR, _since())
        assert str(closed["orderId"]) in {o["id"] for o in orders}

    assert fake_bingx.count(FORCE_ORDERS_PATH) == 1
    assert "did not list force orders" in caplog.text


def test_a_rate_limit_is_freqtrades_ddos_protection(make_exchange, fake_bingx):
    exchange = make_exchange()
    fake_bingx.inject(Fault(FORCE_ORDERS_PATH, code=100410, msg="rate limited"))
    with pytest.raises(DDosProtection):
        exchange.fetch_orders(PAIR, _since())


@pytest.mark.parametrize(
    "data",
    [
        {"orders": "none"},
        {"orders": [{"symbol": SYMBOL, "orderId": "not-a-number"}]},
        {"orders": [["BTC-USDT", 1]]},
        ["BTC-USDT"],
    ],
)
def test_a_garbled_reply_is_a_temporary_error(make_exchange, fake_bingx, data):
    exchange = make_exchange()
    body = json.dumps({"code": 0, "msg": "", "data": data}).encode()
    fake_bingx.inject(Fault(FORCE_ORDERS_PATH, body=body))
    with pytest.raises(TemporaryError, match="forceOrders"):
        exchange.fetch_orders(PAIR, _since())


def test_no_orders_key_is_no_force_orders():
    assert replies.force_orders({}) == []  # {"code": 0, "msg": "", "data": {}}
    assert replies.force_orders(None) == []  # {"code": 0, "msg": ""}


def test_dry_run_sends_nothing(make_exchange, fake_bingx):
    exchange = make_exchange(dry_run=True)
    fake_bingx.clear_requests()
    assert exchange.fetch_orders(PAIR, _since()) == []
    assert fake_bingx.count(FORCE_ORDERS_PATH) == 0


def test_the_liquidation_is_logged_once(make_exchange, fake_bingx, caplog):
    exchange = make_exchange()
    pos = _long_btc(fake_bingx)
    fake_bingx.set_mark_price(SYMBOL, float(pos["liquidationPrice"]) * 0.98)
    exchange.fetch_orders(PAIR, _since())
    exchange.fetch_orders(PAIR, _since())
    assert caplog.text.count("BingX closed BTC/USDT:USDT itself (LIQUIDATION)") == 1


def _liquidations_every_half_hour(server, count: int) -> list[str]:
    """``count`` liquidations of a BTC long, one every 30 minutes up to now (newest first);
    their order ids."""
    ids = []
    try:
        for k in range(1, count + 1):
            server.clock_skew_ms = -k * 30 * 60_000
            server.open_position(SYMBOL, "LONG", 0.01, 60000.0, api_key="test-key")
            ids.append(str(server.liquidate(SYMBOL)["orderId"]))
    finally:
        server.clock_skew_ms = 0
    return ids


def test_more_force_orders_than_one_page_are_all_found(make_exchange, fake_bingx):
    """The page answers at most 100 rows: 150 liquidations in the window are read in halves."""
    exchange = make_exchange()
    ids = _liquidations_every_half_hour(fake_bingx, 150)  # over the last 75 hours
    fake_bingx.clear_requests()

    orders = exchange.fetch_orders(PAIR, datetime.now(UTC) - 4 * DAY)

    assert set(ids) <= {o["id"] for o in orders}
    sent = [r.params for r in fake_bingx.requests if r.path == FORCE_ORDERS_PATH]
    liquidations = [p for p in sent if p["autoCloseType"] == "LIQUIDATION"]
    assert len(liquidations) == 3  # the window (a full page of 100), then both halves
    assert {p["limit"] for p in sent} == {"100"}  # the page's maximum


def test_force_orders_ignoring_the_window_end_in_a_few_requests(make_exchange, fake_bingx, caplog):
    """BingX (or a proxy) ignoring startTime/endTime: the read stops at the first row outside
    the window asked for, with an exception naming the endpoint, which freqtrade's
    handle_onexchange_order catches (ExchangeError) and does not retry."""
    exchange = make_exchange()
    _liquidations_every_half_hour(fake_bingx, 150)
    fake_bingx.open_position(SYMBOL, "LONG", 0.01, 60000.0, api_key="test-key")
    fake_bingx.inject(
        Fault(FORCE_ORDERS_PATH, ignore_params=("startTime", "endTime"), times=10_000)
    )
    fake_bingx.clear_requests()

    with pytest.raises(paging.WindowNotRead, match="outside the window") as raised:
        exchange.fetch_orders(PAIR, datetime.now(UTC) - 4 * DAY)

    assert isinstance(raised.value, ExchangeError)
    assert not isinstance(raised.value, TemporaryError)
    assert f"GET {FORCE_ORDERS_PATH}" in str(raised.value)
    assert fake_bingx.count(FORCE_ORDERS_PATH) == 2  # the window, then its older half
    assert f"GET {FORCE_ORDERS_PATH}" in caplog.text  # freqtrade's own line does not say

    # Not asked again on freqtrade's next loops for a while; the order history still counts.
    closed = fake_bingx.close_position_on_web(SYMBOL, api_key="test-key")
    fake_bingx.clear_requests()
    orders = exchange.fetch_orders(PAIR, _since())
    assert str(closed["orderId"]) in {o["id"] for o in orders}
    assert fake_bingx.count(FORCE_ORDERS_PATH) == 0


def test_a_force_order_row_without_its_time_is_a_garbled_reply(make_exchange, fake_bingx):
    exchange = make_exchange()
    row = {"symbol": SYMBOL, "orderId": 1, "side": "SELL", "type": "LIMIT", "status": "FILLED"}
    body = json.dumps({"code": 0, "msg": "", "data": {"orders": [row]}}).encode()
    fake_bingx.inject(Fault(FORCE_ORDERS_PATH, body=body))
    with pytest.raises(TemporaryError, match="forceOrders"):
        exchange.fetch_orders(PAIR, _since())

"""Position side, reduce-only and stoploss on exchange for the orders freqtrade sends to BingX.

Three layers: the pure parameter mapping (a truth table), the exact request ccxt 4.5.90 builds
from what freqtrade's create_order / create_stoploss hand it, and the requests that reach the
fake BingX over loopback.
"""

from typing import Any

import pytest
from freqtrade.enums import PriceType
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import Exchange

from freqtrade_bingx.adapter.orders import WORKING_TYPES, swap_order_params
from freqtrade_bingx.bingx.failures import BingxSettingError
from freqtrade_bingx.bingx.position_mode import PositionMode
from freqtrade_bingx.sim import Fault
from tests.conftest import LEVERAGE_PATH, MODE_PATH


PAIR = "BTC/USDT:USDT"
HEDGE = PositionMode.HEDGE
ONE_WAY = PositionMode.ONE_WAY
STOP = 57000.0

# mode, kind, order side -> the parameters freqtrade's hooks return for that order.
# "exit" covers every reduce-only order: regular, emergency, forced and liquidation exits.
# A stop (stop_order_params): reduceOnly in both modes, as freqtrade sets it for futures (in
# hedge mode "hedged" makes ccxt drop it, see below), and its trigger price, named.
SL = {"stopLossPrice": STOP, "reduceOnly": True, "workingType": "MARK_PRICE"}
PARAMS_TABLE = [
    (ONE_WAY, "entry", "buy", {"positionSide": "BOTH"}),
    (ONE_WAY, "entry", "sell", {"positionSide": "BOTH"}),
    (ONE_WAY, "exit", "sell", {"positionSide": "BOTH", "reduceOnly": True}),
    (ONE_WAY, "exit", "buy", {"positionSide": "BOTH", "reduceOnly": True}),
    (ONE_WAY, "stoploss", "sell", {**SL, "positionSide": "BOTH"}),
    (ONE_WAY, "stoploss", "buy", {**SL, "positionSide": "BOTH"}),
    (HEDGE, "entry", "buy", {"positionSide": "LONG", "hedged": True}),
    (HEDGE, "entry", "sell", {"positionSide": "SHORT", "hedged": True}),
    (HEDGE, "exit", "sell", {"positionSide": "LONG", "hedged": True}),
    (HEDGE, "exit", "buy", {"positionSide": "SHORT", "hedged": True}),
    (HEDGE, "stoploss", "sell", {**SL, "positionSide": "LONG", "hedged": True}),
    (HEDGE, "stoploss", "buy", {**SL, "positionSide": "SHORT", "hedged": True}),
]


def _ids(row: tuple) -> str:
    return f"{row[0].value}-{row[1]}-{row[2]}"


@pytest.mark.parametrize(
    "mode, side, reduce_only, expected",
    [
        (ONE_WAY, "buy", False, {"positionSide": "BOTH"}),
        (ONE_WAY, "sell", False, {"positionSide": "BOTH"}),
        (ONE_WAY, "buy", True, {"positionSide": "BOTH", "reduceOnly": True}),
        (ONE_WAY, "sell", True, {"positionSide": "BOTH", "reduceOnly": True}),
        (HEDGE, "buy", False, {"positionSide": "LONG", "hedged": True}),
        (HEDGE, "sell", False, {"positionSide": "SHORT", "hedged": True}),
        (HEDGE, "buy", True, {"positionSide": "SHORT", "hedged": True}),
        (HEDGE, "sell", True, {"positionSide": "LONG", "hedged": True}),
    ],
)
def test_swap_order_params_truth_table(mode, side, reduce_only, expected):
    assert swap_order_params(mode, side, reduce_only) == expected


def _hook_params(exchange, kind: str, side: str, ordertype: str = "market") -> dict:
    if kind == "stoploss":
        return exchange._get_stop_params(side=side, ordertype=ordertype, stop_price=STOP)
    return exchange._get_params(side, ordertype, 1.0, kind == "exit", "GTC")


@pytest.fixture
def exchange_in(fake_bingx, make_exchange):
    """A live futures exchange whose account is in the given position mode at start-up."""

    def build(mode: PositionMode, **overrides: Any):
        fake_bingx.account().hedge_mode = mode is HEDGE
        exchange = make_exchange(**overrides)
        assert exchange.position_mode is mode
        return exchange

    return build


@pytest.mark.parametrize("mode, kind, side, expected", PARAMS_TABLE, ids=map(_ids, PARAMS_TABLE))
def test_hook_params_truth_table(exchange_in, mode, kind, side, expected):
    exchange = exchange_in(mode)
    assert _hook_params(exchange, kind, side) == expected


def test_hooks_keep_freqtrades_time_in_force(exchange_in):
    exchange = exchange_in(HEDGE)
    assert exchange._get_params("buy", "limit", 2.0, False, "PO") == {
        "timeInForce": "PO",
        "positionSide": "LONG",
        "hedged": True,
    }


# --- the request ccxt builds from what freqtrade passes ----------------------------------


@pytest.fixture
def ccxt_requests(mocker):
    """Stand in for ccxt's create_order: keep the request it would send, answer like BingX."""

    def spy(exchange) -> list[dict]:
        built: list[dict] = []
        api = exchange._api

        def create_order(symbol, type, side, amount, price=None, params=None):  # noqa: A002
            request = api.create_order_request(symbol, type, side, amount, price, dict(params))
            built.append(request)
            return api.parse_order(
                {**request, "orderId": str(len(built)), "status": "NEW"}, api.market(symbol)
            )

        mocker.patch.object(api, "create_order", side_effect=create_order)
        return built

    return spy


def _request_for(exchange, kind: str, side: str, order_types: dict | None = None) -> dict:
    if kind == "stoploss":
        exchange.create_stoploss(
            pair=PAIR,
            amount=0.01,
            stop_price=STOP,
            order_types=order_types or {"stoploss": "market"},
            side=side,
            leverage=3.0,
        )
    else:
        exchange.create_order(
            pair=PAIR,
            ordertype="limit",
            side=side,
            amount=0.01,
            rate=60000.0,
            leverage=3.0,
            reduceOnly=kind == "exit",
        )
    return exchange._api.create_order.call_args


# mode, kind, order side -> the request ccxt's BingX create_order_request builds.
REQUEST_TABLE = [
    (ONE_WAY, "entry", "buy", {"side": "BUY", "positionSide": "BOTH"}),
    (ONE_WAY, "entry", "sell", {"side": "SELL", "positionSide": "BOTH"}),
    (ONE_WAY, "exit", "sell", {"side": "SELL", "positionSide": "BOTH", "reduceOnly": True}),
    (ONE_WAY, "exit", "buy", {"side": "BUY", "positionSide": "BOTH", "reduceOnly": True}),
    (ONE_WAY, "stoploss", "sell", {"side": "SELL", "positionSide": "BOTH", "reduceOnly": True}),
    (ONE_WAY, "stoploss", "buy", {"side": "BUY", "positionSide": "BOTH", "reduceOnly": True}),
    (HEDGE, "entry", "buy", {"side": "BUY", "positionSide": "LONG"}),
    (HEDGE, "entry", "sell", {"side": "SELL", "positionSide": "SHORT"}),
    (HEDGE, "exit", "sell", {"side": "SELL", "positionSide": "LONG"}),
    (HEDGE, "exit", "buy", {"side": "BUY", "positionSide": "SHORT"}),
    (HEDGE, "stoploss", "sell", {"side": "SELL", "positionSide": "LONG"}),
    (HEDGE, "stoploss", "buy", {"side": "BUY", "positionSide": "SHORT"}),
]


@pytest.mark.parametrize("mode, kind, side, expected", REQUEST_TABLE, ids=map(_ids, REQUEST_TABLE))
def test_ccxt_request_for_each_order(exchange_in, ccxt_requests, mode, kind, side, expected):
    exchange = exchange_in(mode)
    built = ccxt_requests(exchange)

    _request_for(exchange, kind, side)

    if kind == "stoploss":
        # A standalone conditional order freqtrade can fetch and cancel by id, with its
        # trigger price named although order_types names none (BingX's default, said aloud).
        common = {
            "type": "STOP_MARKET",
            "stopPrice": 57000,
            "quantity": 0.01,
            "workingType": "MARK_PRICE",
        }
    else:
        common = {"type": "LIMIT", "price": 60000, "quantity": 0.01}
    assert built == [{"symbol": "BTC-USDT", **common, **expected}]


@pytest.mark.parametrize(
    "mode, side, position_side", [(ONE_WAY, "sell", "BOTH"), (HEDGE, "buy", "SHORT")]
)
@pytest.mark.parametrize("price_type", list(WORKING_TYPES))
def test_stop_limit_request_with_trigger_price_type(
    exchange_in, ccxt_requests, mode, side, position_side, price_type
):
    exchange = exchange_in(mode)
    built = ccxt_requests(exchange)
    order_types = {
        "stoploss": "limit",
        "stoploss_on_exchange_limit_ratio": 0.99,
        "stoploss_price_type": price_type,
    }

    _request_for(exchange, "stoploss", side, order_types)

    # freqtrade puts the limit 1 % beyond the stop: below it for a long, above for a short.
    limit = 56430 if side == "sell" else 57570
    expected = {
        "symbol": "BTC-USDT",
        "type": "STOP",
        "side": side.upper(),
        "positionSide": position_side,
        "stopPrice": 57000,
        "price": limit,
        "quantity": 0.01,
        "workingType": WORKING_TYPES[price_type],
    }
    if mode is ONE_WAY:
        expected["reduceOnly"] = True
    assert built == [expected]


def test_working_types_are_bingx_s_and_index_is_refused(exchange_in):
    exchange = exchange_in(ONE_WAY)
    assert exchange._ft_has["stop_price_type_field"] == "workingType"
    # BingX's order page: MARK_PRICE, CONTRACT_PRICE (INDEX_PRICE removed on 2025-08-21).
    assert exchange._ft_has["stop_price_type_value_mapping"] == {
        PriceType.LAST: "CONTRACT_PRICE",
        PriceType.MARK: "MARK_PRICE",
    }
    for price_type in (PriceType.LAST, PriceType.MARK):
        exchange.validate_stop_ordertypes(
            {"stoploss_on_exchange": True, "stoploss_price_type": price_type}
        )
    with pytest.raises(BingxSettingError, match="not 'index'"):
        exchange.validate_stop_ordertypes(
            {"stoploss_on_exchange": True, "stoploss_price_type": PriceType.INDEX}
        )


def test_hedge_stoploss_reaches_ccxt_with_reduce_only_that_ccxt_drops(exchange_in, ccxt_requests):
    # freqtrade's create_stoploss adds reduceOnly after _get_stop_params; "hedged" is what
    # keeps it from BingX. Pinned here so a ccxt upgrade that changes this fails loudly.
    exchange = exchange_in(HEDGE)
    built = ccxt_requests(exchange)

    call = _request_for(exchange, "stoploss", "sell")

    assert call.kwargs["params"] == {
        "stopLossPrice": STOP,
        "positionSide": "LONG",
        "hedged": True,
        "reduceOnly": True,
        "workingType": "MARK_PRICE",
    }
    assert "reduceOnly" not in built[0]
    assert "hedged" not in built[0]


# --- reading the stop order back ----------------------------------------------------------


def _bingx_stop_order(side: str, position_side: str, status: str = "NEW") -> dict:
    # Shaped like data.order of GET /openApi/swap/v2/trade/order for a stop-market order.
    return {
        "symbol": "BTC-USDT",
        "orderId": "1736012449498123456",
        "side": side,
        "positionSide": position_side,
        "type": "STOP_MARKET",
        "origQty": "0.0100",
        "price": "0.0",
        "executedQty": "0.0000",
        "avgPrice": "0.0",
        "cumQuote": "0",
        "stopPrice": "57000.0",
        "profit": "0.0000",
        "commission": "0.000000",
        "status": status,
        "time": 1736012449498,
        "updateTime": 1736012449498,
        "clientOrderId": "",
        "leverage": "3X",
        "takeProfit": {"type": "", "quantity": 0, "stopPrice": 0, "price": 0, "workingType": ""},
        "stopLoss": {"type": "", "quantity": 0, "stopPrice": 0, "price": 0, "workingType": ""},
        "workingType": "MARK_PRICE",
        "reduceOnly": False,
    }


@pytest.mark.parametrize(
    "exit_side, position_side, tighter, looser",
    [("sell", "LONG", 57500.0, 56500.0), ("buy", "SHORT", 56500.0, 57500.0)],
)
def test_stop_price_reads_back_and_stoploss_adjust_compares_it(
    exchange_in, exit_side, position_side, tighter, looser
):
    exchange = exchange_in(HEDGE)
    raw = _bingx_stop_order(exit_side.upper(), position_side)
    order = exchange._api.parse_order(raw, exchange._api.market(PAIR))

    assert order[exchange._ft_has["stop_price_prop"]] == STOP
    assert order["type"] == "market"
    assert order["status"] == "open"
    # A stop closer to the price moves the order; one further away leaves it.
    assert exchange.stoploss_adjust(tighter, order, side=exit_side) is True
    assert exchange.stoploss_adjust(looser, order, side=exit_side) is False
    assert exchange.stoploss_adjust(STOP, order, side=exit_side) is False


# --- what must not change -------------------------------------------------------------------


def test_spot_orders_are_freqtrades_own(fake_bingx, make_exchange, ccxt_requests):
    exchange = make_exchange(
        trading_mode="spot",
        margin_mode="",
        exchange={"pair_whitelist": ["BTC/USDT"]},
    )
    assert fake_bingx.count(MODE_PATH) == 0
    for key in ("stop_price_type_field", "stop_price_type_value_mapping"):
        assert key not in exchange._ft_has
    for side in ("buy", "sell"):
        for reduce_only in (False, True):
            assert exchange._get_params(side, "limit", 1.0, reduce_only, "IOC") == (
                Exchange._get_params(exchange, side, "limit", 1.0, reduce_only, "IOC")
            )
        assert exchange._get_stop_params(side=side, ordertype="market", stop_price=STOP) == (
            Exchange._get_stop_params(exchange, side=side, ordertype="market", stop_price=STOP)
        )
    assert fake_bingx.count(MODE_PATH) == 0


def test_dry_run_stoploss_sends_nothing(fake_bingx, make_exchange, mocker):
    exchange = make_exchange(dry_run=True)
    mocker.patch.object(exchange, "fetch_l2_order_book", return_value={"bids": [], "asks": []})
    create = mocker.patch.object(exchange._api, "create_order")
    fake_bingx.clear_requests()

    order = exchange.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=STOP,
        order_types={"stoploss": "market"},
        side="sell",
        leverage=3.0,
    )

    assert order["id"].startswith("dry_run_")
    assert order["stopLossPrice"] == STOP
    create.assert_not_called()
    # Markets may still be loading in the background; nothing account-related goes out but
    # the read-only tier and maximum-leverage reads that come with them.
    sent = [(r.method, r.path) for r in fake_bingx.requests]
    assert [
        (method, path)
        for method, path in sent
        if ("/trade/" in path or path == MODE_PATH) and (method, path) != ("GET", LEVERAGE_PATH)
    ] == []


# --- against the fake BingX over loopback ---------------------------------------------------

ORDER_PATH = "/openApi/swap/v2/trade/order"
SIGNING = ("timestamp", "recvWindow", "signature")


@pytest.fixture
def live(fake_bingx, exchange_in):
    """A live futures exchange in the given mode, for tests that place real (fake) orders."""

    def build(mode: PositionMode):
        exchange = exchange_in(mode)
        fake_bingx.set_price("BTC-USDT", 60000.0)
        return exchange

    return build


def sent_orders(server, method: str = "POST") -> list[dict[str, str]]:
    return [
        {k: v for k, v in r.params.items() if k not in SIGNING}
        for r in server.requests
        if r.path == ORDER_PATH and r.method == method
    ]


def _enter(exchange, side: str) -> dict:
    return exchange.create_order(
        pair=PAIR, ordertype="market", side=side, amount=0.01, rate=60000.0, leverage=3.0
    )


DIRECTIONS = [
    # entry side, exit side, hedge-mode position side, a stop below a long / above a short
    pytest.param("buy", "sell", "LONG", 57000.0, id="long"),
    pytest.param("sell", "buy", "SHORT", 63000.0, id="short"),
]
MODES = [pytest.param(ONE_WAY, id="one_way"), pytest.param(HEDGE, id="hedge")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("entry_side, exit_side, hedge_side, stop", DIRECTIONS)
def test_live_entry_and_exit_carry_the_position_side(
    fake_bingx, live, mode, entry_side, exit_side, hedge_side, stop
):
    exchange = live(mode)
    fake_bingx.clear_requests()

    _enter(exchange, entry_side)
    exchange.create_order(
        pair=PAIR,
        ordertype="market",
        side=exit_side,
        amount=0.01,
        rate=60000.0,
        leverage=3.0,
        reduceOnly=True,
    )

    position_side = hedge_side if mode is HEDGE else "BOTH"
    order = {"symbol": "BTC-USDT", "type": "MARKET", "quantity": "0.01"}
    entry = {**order, "side": entry_side.upper(), "positionSide": position_side}
    exit_ = {**order, "side": exit_side.upper(), "positionSide": position_side}
    if mode is ONE_WAY:
        exit_["reduceOnly"] = "true"
    assert sent_orders(fake_bingx) == [entry, exit_]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("entry_side, exit_side, hedge_side, stop", DIRECTIONS)
def test_live_stoploss_is_a_stop_order_freqtrade_fetches_and_cancels(
    fake_bingx, live, mode, entry_side, exit_side, hedge_side, stop
):
    exchange = live(mode)
    _enter(exchange, entry_side)
    fake_bingx.clear_requests()

    order = exchange.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=stop,
        order_types={"stoploss": "market", "stoploss_price_type": "mark"},
        side=exit_side,
        leverage=3.0,
    )

    expected = {
        "symbol": "BTC-USDT",
        "type": "STOP_MARKET",
        "side": exit_side.upper(),
        "positionSide": hedge_side if mode is HEDGE else "BOTH",
        "stopPrice": f"{stop:g}",
        "quantity": "0.01",
        "workingType": "MARK_PRICE",
    }
    if mode is ONE_WAY:
        expected["reduceOnly"] = "true"
    assert sent_orders(fake_bingx) == [expected]

    fetched = exchange.fetch_stoploss_order(order["id"], PAIR)
    assert fetched["id"] == order["id"]
    assert fetched["status"] == "open"
    assert fetched[exchange._ft_has["stop_price_prop"]] == stop
    tighter = stop * 1.01 if exit_side == "sell" else stop * 0.99
    assert exchange.stoploss_adjust(tighter, fetched, side=exit_side) is True
    assert exchange.stoploss_adjust(stop, fetched, side=exit_side) is False

    exchange.cancel_stoploss_order(order["id"], PAIR)
    assert sent_orders(fake_bingx, "DELETE") == [{"symbol": "BTC-USDT", "orderId": order["id"]}]
    assert exchange.fetch_stoploss_order(order["id"], PAIR)["status"] == "canceled"


@pytest.mark.parametrize("mode", MODES)
def test_live_stop_limit_for_a_short(fake_bingx, live, mode):
    exchange = live(mode)
    _enter(exchange, "sell")
    fake_bingx.clear_requests()

    exchange.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=63000.0,
        order_types={"stoploss": "limit", "stoploss_price_type": "last"},
        side="buy",
        leverage=3.0,
    )

    [sent] = sent_orders(fake_bingx)
    assert sent["type"] == "STOP"
    assert (sent["stopPrice"], sent["price"]) == ("63000", "63630")
    assert sent["workingType"] == "CONTRACT_PRICE"
    assert sent["positionSide"] == ("SHORT" if mode is HEDGE else "BOTH")
    assert ("reduceOnly" in sent) is (mode is ONE_WAY)


@pytest.mark.parametrize("mode", MODES)
def test_live_stoploss_that_triggers_reads_back_closed(fake_bingx, live, mode):
    exchange = live(mode)
    _enter(exchange, "buy")
    order = exchange.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=57000.0,
        order_types={"stoploss": "market", "stoploss_price_type": "last"},
        side="sell",
        leverage=3.0,
    )

    fake_bingx.set_price("BTC-USDT", 56900.0)

    fetched = exchange.fetch_stoploss_order(order["id"], PAIR)
    assert fetched["id"] == order["id"]
    assert fetched["status"] == "closed"
    assert fetched["filled"] == 0.01
    assert not fake_bingx.account().has_position("BTC-USDT")


@pytest.mark.parametrize(
    "start, flipped, new_side", [(ONE_WAY, True, "LONG"), (HEDGE, False, "BOTH")]
)
def test_user_switches_the_mode_between_entries(fake_bingx, live, start, flipped, new_side):
    exchange = live(start)
    _enter(exchange, "buy")
    _enter(exchange, "sell")  # flat again (one-way) / a short beside the long (hedge)
    if start is HEDGE:
        fake_bingx.close_positions("BTC-USDT")
    fake_bingx.account().hedge_mode = flipped  # switched on bingx.com, nothing open
    fake_bingx.clear_requests()

    _enter(exchange, "buy")  # leverage is confirmed already: the order is where it shows

    sides = [o["positionSide"] for o in sent_orders(fake_bingx)]
    assert sides == ["LONG" if start is HEDGE else "BOTH", new_side]
    assert [r.code for r in fake_bingx.requests if r.path == ORDER_PATH] == [109400, 0]
    assert exchange.position_mode is (HEDGE if flipped else ONE_WAY)
    # The new side's leverage was set before the order went out again.
    assert [r.params["side"] for r in fake_bingx.requests if r.path == LEVERAGE_PATH] == [new_side]


def test_a_side_refusal_without_a_mode_change_is_not_repeated(fake_bingx, live):
    exchange = live(ONE_WAY)
    fake_bingx.inject(
        Fault(
            path=ORDER_PATH,
            method="POST",
            code=109400,
            times=5,
            msg="In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT.",
        )
    )
    fake_bingx.clear_requests()
    with pytest.raises(OperationalException, match="Position mode"):
        _enter(exchange, "buy")
    assert len(sent_orders(fake_bingx)) == 1


# --- time in force ------------------------------------------------------------------------


def test_fok_and_ioc_are_accepted_at_start_up_sent_and_answered_as_bingx_does(
    fake_bingx, mocker, tmp_path
):
    """freqtrade's start-up checks order_time_in_force against _ft_has (before: FOK refused
    with "Time in force policies are not supported"); ccxt sends FOK and IOC as BingX's order
    page names them; an unfilled one comes back canceled with nothing filled."""
    from freqtrade.resolvers import ExchangeResolver

    from tests.configs import config_file, trade_config

    mocker.patch("freqtrade.exchange.common.time.sleep")
    tif = {"order_time_in_force": {"entry": "FOK", "exit": "IOC"}}
    config = trade_config(config_file(fake_bingx, tmp_path, top=tif))
    exchange = ExchangeResolver.load_exchange(config, validate=True)
    try:
        fake_bingx.set_price("BTC-USDT", 60000.0)
        fake_bingx.clear_requests()

        def order(side: str, rate: float, tif: str, reduce: bool = False) -> dict:
            return exchange.create_order(
                pair=PAIR,
                ordertype="limit",
                side=side,
                amount=0.01,
                rate=rate,
                leverage=3.0,
                time_in_force=tif,
                reduceOnly=reduce,
            )

        unfilled = order("buy", 55000.0, "FOK")  # below the ask: cannot fill at once
        filled = order("buy", 61000.0, "FOK")  # marketable: fills whole
        exit_unfilled = order("sell", 66000.0, "IOC", reduce=True)  # above the bid

        assert [o["timeInForce"] for o in sent_orders(fake_bingx)] == ["FOK", "FOK", "IOC"]
        assert (unfilled["status"], unfilled["filled"]) == ("canceled", 0.0)
        # BingX's create reply has no avgPrice for a limit order: freqtrade reads it once more.
        assert filled["filled"] == 0.01
        assert exchange.fetch_order(filled["id"], PAIR)["status"] == "closed"
        assert (exit_unfilled["status"], exit_unfilled["filled"]) == ("canceled", 0.0)
        # Nothing of the unfilled ones rests on the book.
        assert exchange._api.fetch_open_orders(PAIR) == []
    finally:
        exchange.close()

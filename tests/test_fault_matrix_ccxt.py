"""The fault matrix on ccxt's paths: BingX's errors through freqtrade's own ``Exchange`` methods.

Each row injects one BingX reply on the endpoint a freqtrade method reaches through ccxt (the
local exchange answers it over loopback), calls the method as freqtrade's bot does, and asserts
the freqtrade exception (which decides what the bot does) and how many requests reached the
exchange. freqtrade's retrier retries a TemporaryError (and an order not found) on cancel_order
(5 calls), fetch_order (6), get_balances and fetch_positions (5); create_order has no retrier and
create_stoploss allows no retry. A permanent refusal is sent once. freqtrade's back-off sleep is
patched out.

The texts are BingX's (see tests/test_conformance_errors.py for their sources).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from freqtrade.exceptions import (
    DDosProtection,
    InsufficientFundsError,
    InvalidOrderException,
    OperationalException,
    RetryableOrderError,
    TemporaryError,
)

from freqtrade_bingx.sim import FakeBingx, Fault
from tests.conftest import API_KEY, API_SECRET, MODE_PATH, TIME_PATH, futures_config


PAIR = "BTC/USDT:USDT"
ORDER = "/openApi/swap/v2/trade/order"
BALANCE = "/openApi/swap/v3/user/balance"
POSITIONS = "/openApi/swap/v2/user/positions"

BUY, EXIT, STOP = "entry", "exit", "stoploss"
CANCEL, FETCH, BALANCES, POSITIONS_ = "cancel_order", "fetch_order", "get_balances", "positions"

# The endpoint each method reaches through ccxt 4.5.90.
ENDPOINTS = {
    BUY: (ORDER, "POST"),
    EXIT: (ORDER, "POST"),
    STOP: (ORDER, "POST"),
    CANCEL: (ORDER, "DELETE"),
    FETCH: (ORDER, "GET"),
    BALANCES: (BALANCE, "GET"),
    POSITIONS_: (POSITIONS, "GET"),
}

CALLS: dict[str, Callable[[Any], Any]] = {
    BUY: lambda ex: ex.create_order(
        pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=60000.0, leverage=2.0
    ),
    EXIT: lambda ex: ex.create_order(
        pair=PAIR,
        ordertype="market",
        side="sell",
        amount=0.01,
        rate=60000.0,
        leverage=2.0,
        reduceOnly=True,
    ),
    STOP: lambda ex: ex.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=57000.0,
        order_types={"stoploss": "market"},
        side="sell",
        leverage=2.0,
    ),
    CANCEL: lambda ex: ex.cancel_order("1234", PAIR),
    FETCH: lambda ex: ex.fetch_order("1234", PAIR),
    BALANCES: lambda ex: ex.get_balances(),
    POSITIONS_: lambda ex: ex.fetch_positions(),
}

FAULTS: dict[str, dict[str, Any]] = {
    "http 429": dict(http_status=429, body=b"Too Many Requests"),
    "http 503": dict(http_status=503, body=b"<html>Service Unavailable</html>"),
    "reset": dict(reset=True),
    "100410": dict(code=100410, msg="rate limited"),
    "80014 timestamp": dict(code=80014, msg="timestamp is invalid"),
    "80014 parameter": dict(
        code=80014, msg="Invalid parameters,positionSide: This field is required."
    ),
    "110411": dict(code=110411, msg="Stop Loss price should be lower than the current price"),
    "109400 stop": dict(
        code=109400, msg="The stop loss trigger price should be lower than the current price 60012"
    ),
    "101204": dict(code=101204, msg="Insufficient margin"),
    "80012 margin": dict(code=80012, msg='{"Code":101253,"Msg":"margin is not enough"}'),
    "109414": dict(code=109414, msg="order not exist"),
    "80016": dict(code=80016, msg="order does not exist"),
    "80018": dict(code=80018, msg="order is already filled, The order doesn't exist"),
    "101290": dict(
        code=101290,
        msg="The Reduce Only order can only decrease the position and not be used to open a "
        "position. Please check your positions and open orders.",
    ),
    "101481": dict(code=101481, msg="clientOrderID cannot be repeated"),
    "109400 side": dict(
        code=109400,
        msg="In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT.",
    ),
    "100413": dict(code=100413, msg="Incorrect apiKey"),
    "100421 restricted": dict(
        code=100421, msg="This pair is currently restricted from API trading"
    ),
    "unknown code": dict(code=99999, msg="something new"),
}

D, T, IO, IF = DDosProtection, TemporaryError, InvalidOrderException, InsufficientFundsError
NF, OP = RetryableOrderError, OperationalException

# (fault, method, freqtrade exception, requests that reach the exchange)
MATRIX = [
    # Rate limit: freqtrade backs off and retries where it retries at all.
    ("http 429", BUY, D, 1),
    ("http 429", EXIT, D, 1),
    ("http 429", STOP, D, 1),
    ("http 429", CANCEL, D, 5),
    ("http 429", FETCH, D, 6),
    ("http 429", BALANCES, D, 5),
    ("http 429", POSITIONS_, D, 5),
    # 100410 on ccxt's order endpoint (ccxt itself calls it OperationFailed: no back-off).
    ("100410", BUY, D, 1),
    ("100410", EXIT, D, 1),
    ("100410", STOP, D, 1),
    # Temporary: retried.
    ("http 503", BUY, T, 1),
    ("http 503", EXIT, T, 1),
    ("http 503", STOP, T, 1),
    ("http 503", CANCEL, T, 5),
    ("http 503", FETCH, T, 6),
    ("http 503", BALANCES, T, 5),
    ("http 503", POSITIONS_, T, 5),
    ("reset", BUY, T, 1),
    ("reset", CANCEL, T, 5),
    ("reset", BALANCES, T, 5),
    ("unknown code", BUY, T, 1),
    ("unknown code", CANCEL, T, 5),
    ("unknown code", FETCH, T, 6),
    ("unknown code", POSITIONS_, T, 5),
    # Clock: retried (each retry re-reads BingX's clock first, see below).
    ("80014 timestamp", BUY, T, 1),
    ("80014 timestamp", STOP, T, 1),
    ("80014 timestamp", FETCH, T, 6),
    ("80014 timestamp", BALANCES, T, 5),
    # BingX's generic "Invalid parameter": sent once wherever freqtrade knows an order refusal;
    # on the account reads freqtrade's ladder has no such outcome and retries it.
    ("80014 parameter", BUY, IO, 1),
    ("80014 parameter", EXIT, IO, 1),
    ("80014 parameter", STOP, IO, 1),
    ("80014 parameter", CANCEL, IO, 1),
    ("80014 parameter", FETCH, IO, 1),
    ("80014 parameter", BALANCES, T, 5),
    ("80014 parameter", POSITIONS_, T, 5),
    # A stop the price has already crossed: freqtrade exits the trade (create_stoploss_order).
    ("110411", STOP, IO, 1),
    ("110411", BUY, IO, 1),
    ("109400 stop", STOP, IO, 1),
    # Not enough margin: the entry is skipped.
    ("101204", BUY, IF, 1),
    ("101204", EXIT, IF, 1),
    ("101204", STOP, IF, 1),
    ("80012 margin", BUY, IF, 1),
    # Orders that are gone: looked up again by fetch_order, read back after a cancel.
    ("109414", CANCEL, IO, 1),
    ("109414", FETCH, NF, 6),
    ("80016", FETCH, NF, 6),
    ("80016", CANCEL, IO, 1),
    ("80018", CANCEL, IO, 1),
    # Refused for good.
    ("101290", EXIT, IO, 1),
    ("101481", BUY, IO, 1),
    ("100421 restricted", BUY, IO, 1),
    # The position side does not fit the account's mode, and the mode did not change: stop.
    ("109400 side", BUY, OP, 1),
    ("109400 side", STOP, OP, 1),
    # A person must act: stop trading, say what to fix; never retried.
    ("100413", BUY, OP, 1),
    ("100413", EXIT, OP, 1),
    ("100413", STOP, OP, 1),
    ("100413", CANCEL, OP, 1),
    ("100413", FETCH, OP, 1),
    ("100413", BALANCES, OP, 1),
    ("100413", POSITIONS_, OP, 1),
]


@pytest.fixture(scope="module")
def server():
    with FakeBingx(accounts={API_KEY: API_SECRET}) as fake:
        # ccxt's throttle is off in these tests (futures_config): the fake's per-account limits
        # would answer 100410 to the retries themselves. Injected faults are the subject here.
        fake.rate_limits.clear()
        fake.set_price("BTC-USDT", 60000.0)
        yield fake


@pytest.fixture(scope="module")
def exchange(server, tmp_path_factory):
    from freqtrade.resolvers import ExchangeResolver

    config = futures_config(server)
    config["datadir"] = tmp_path_factory.mktemp("data")
    ex = ExchangeResolver.load_exchange(config, validate=False)
    ex.reload_markets(True, load_leverage_tiers=False)
    server.account().margin_type["BTC-USDT"] = "ISOLATED"
    ex._lev_prep(PAIR, 2.0, "buy")  # confirmed: an entry sends no leverage request
    yield ex
    ex.close()


@pytest.fixture(autouse=True)
def _clean(server, exchange, mocker):
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off, instant
    server.clear_faults()
    server.clear_requests()
    exchange.link.blocks.clear()  # a 100410 row blocks its endpoint: each row starts afresh
    yield
    server.clear_faults()


@pytest.mark.parametrize(
    "fault, method, exception, sends",
    MATRIX,
    ids=[f"{row[0]}-{row[1]}" for row in MATRIX],
)
def test_fault_matrix(server, exchange, fault, method, exception, sends):
    path, verb = ENDPOINTS[method]
    server.inject(Fault(path=path, method=verb, times=10, **FAULTS[fault]))

    with pytest.raises(Exception) as raised:
        CALLS[method](exchange)

    assert type(raised.value) is exception, raised.value
    assert server.count(path, verb) == sends
    if "msg" in FAULTS[fault]:
        assert FAULTS[fault]["msg"] in str(raised.value)
    if fault == "109400 side":
        # The plugin re-read the account's mode once before it gave up.
        assert server.count(MODE_PATH, "GET") == 1
        assert "exchange.position_mode" in str(raised.value)


def test_a_timestamp_refusal_on_ccxt_re_reads_the_clock_before_the_retry(server, exchange):
    server.inject(Fault(path=ORDER, method="GET", code=80014, msg="timestamp is invalid"))
    with pytest.raises(RetryableOrderError):  # the retry reaches the (unknown) order
        exchange.fetch_order("1234", PAIR)
    sent = [(r.method, r.path) for r in server.requests]
    assert sent[:3] == [("GET", ORDER), ("GET", TIME_PATH), ("GET", ORDER)]


def test_an_invalid_parameter_on_ccxt_leaves_the_clock_alone(server, exchange):
    server.inject(Fault(path=ORDER, method="POST", **FAULTS["80014 parameter"]))
    with pytest.raises(InvalidOrderException):
        CALLS[BUY](exchange)
    exchange.get_balances()  # the next signed request
    assert server.count(TIME_PATH, "GET") == 0


@pytest.mark.parametrize("fault", ["80018", "109414"])
def test_cancel_of_an_order_that_is_gone_reads_it_back(server, exchange, fault):
    """freqtrade's cancel_order_with_result: the refused cancel is not retried, the order is."""
    order = CALLS[BUY](exchange)  # a market order: filled at once
    server.clear_requests()
    server.inject(Fault(path=ORDER, method="DELETE", times=10, **FAULTS[fault]))

    result = exchange.cancel_order_with_result(order["id"], PAIR, 0.01)

    assert result["id"] == order["id"]
    assert result["status"] == "closed"
    assert server.count(ORDER, "DELETE") == 1
    assert server.count(ORDER, "GET") == 1
    CALLS[EXIT](exchange)  # flat again for the other rows

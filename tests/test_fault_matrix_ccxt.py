"""The fault matrix on ccxt's paths: BingX's errors through freqtrade's own ``Exchange`` methods.

Each row (a reply of tests/error_replies.py and one of its ``loopback`` methods) injects the
reply on the endpoint a freqtrade method reaches through ccxt (the local exchange answers it
over loopback), calls the method as freqtrade's bot does, and asserts the freqtrade exception
(which decides what the bot does) and how many requests reached the exchange, as the table's
``outcome`` and ``sends`` say: freqtrade's retrier retries a TemporaryError (and an order not
found) on cancel_order (5 calls), fetch_order (6), get_balances and fetch_positions (5);
create_order has no retrier and create_stoploss allows no retry. A permanent refusal is sent
once. freqtrade's back-off sleep is patched out.

The texts and their sources are in tests/error_replies.py.
"""

from __future__ import annotations

import pytest
from freqtrade.exceptions import InvalidOrderException, RetryableOrderError

from freqtrade_bingx.bingx.errors import PositionModeMismatch
from freqtrade_bingx.sim import Fault
from tests import error_replies
from tests.conftest import MODE_PATH, TIME_PATH
from tests.error_replies import (
    BUY,
    CALLS,
    ENDPOINTS,
    EXIT,
    ORDER,
    PAIR,
    REPLIES,
    outcome,
    reply,
    sends,
)


# (reply, freqtrade method) pairs, from each reply's ``loopback`` methods
MATRIX = [(row, method) for row in REPLIES for method in row.loopback]
INVALID_SIDE = reply(80014, "Invalid parameters,positionSide: This field is required.")


server, exchange = error_replies.server, error_replies.exchange  # module-scoped fixtures


@pytest.fixture(autouse=True)
def _clean(server, exchange, mocker):
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off, instant
    server.clear_faults()
    server.clear_requests()
    exchange.link.pipeline.blocks.clear()  # a 100410 row blocks its endpoint: rows start afresh
    yield
    server.clear_faults()


@pytest.mark.parametrize(
    "row, method", MATRIX, ids=[f"{row.name}-{method}" for row, method in MATRIX]
)
def test_fault_matrix(server, exchange, row, method):
    verb, path, _ = ENDPOINTS[method]
    server.inject(row.fault(path, verb, times=10))

    with pytest.raises(Exception) as raised:
        CALLS[method](exchange)

    assert type(raised.value) is outcome(row, method), raised.value
    assert server.count(path, verb) == sends(row, method)
    if row.code is not None:
        assert row.msg in str(raised.value)
    if row.means is PositionModeMismatch:
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
    server.inject(INVALID_SIDE.fault(ORDER, "POST"))
    with pytest.raises(InvalidOrderException):
        CALLS[BUY](exchange)
    exchange.get_balances()  # the next signed request
    assert server.count(TIME_PATH, "GET") == 0


@pytest.mark.parametrize(
    "row",
    [
        reply(80018, "order is already filled, The order doesn't exist"),
        reply(109414, "order not exist"),
    ],
    ids=lambda row: row.name,
)
def test_cancel_of_an_order_that_is_gone_reads_it_back(server, exchange, row):
    """freqtrade's cancel_order_with_result: the refused cancel is not retried, the order is."""
    order = CALLS[BUY](exchange)  # a market order: filled at once
    server.clear_requests()
    server.inject(row.fault(ORDER, "DELETE", times=10))

    result = exchange.cancel_order_with_result(order["id"], PAIR, 0.01)

    assert result["id"] == order["id"]
    assert result["status"] == "closed"
    assert server.count(ORDER, "DELETE") == 1
    assert server.count(ORDER, "GET") == 1
    CALLS[EXIT](exchange)  # flat again for the other rows

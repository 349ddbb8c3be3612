"""The error table on the plugin's own endpoint, driven through HTTP on loopback and freqtrade's
@retrier.

Each row of tests/error_replies.py marked ``leverage`` asserts the freqtrade exception class
(which decides what the bot does) and how many requests reached BingX: a permanent error is sent
once, never retried. Every rule of the table meets a documented BingX text in
tests/test_conformance_errors.py; ccxt's endpoints are in tests/test_fault_matrix_ccxt.py.
"""

import logging
import re
import time

import pytest
from freqtrade.exceptions import (
    DDosProtection,
    InvalidOrderException,
)

from freqtrade_bingx.adapter.refusals import REFUSAL_MEMORY_S
from freqtrade_bingx.sim import Fault
from tests.conftest import API_KEY, API_SECRET, LEVERAGE_PATH, TIME_PATH
from tests.error_replies import DISABLED_PERIOD, LEVERAGE, PAIR, REPLIES, outcome, sends


LEVERAGE_ROWS = [r for r in REPLIES if r.leverage]


@pytest.fixture
def exchange(fake_bingx, make_exchange):
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    # The client-side limiter (2/s) is tested on its own; here it would only slow retries down.
    ex = make_exchange()
    ex.bingx.pipeline.local_budget.rates.pop(("POST", LEVERAGE_PATH))
    ex.bingx.timeout = (1.0, 0.3)
    ex._lev_prep(PAIR, 2, "buy")  # margin type confirmed: only the leverage POST is under test
    fake_bingx.clear_requests()
    fake_bingx.rate_limits.clear()
    return ex


@pytest.mark.parametrize("row", LEVERAGE_ROWS, ids=lambda row: row.name)
def test_error_row(fake_bingx, exchange, caplog, row):
    fake_bingx.inject(row.fault(LEVERAGE_PATH, "POST", times=10))
    caplog.set_level(logging.DEBUG)

    exception = outcome(row, LEVERAGE)
    with pytest.raises(exception) as raised:
        exchange._lev_prep(PAIR, 3, "buy")

    assert type(raised.value) is exception
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == sends(row, LEVERAGE)
    # Only a timestamp refusal has BingX's clock read again, after each one.
    assert fake_bingx.count(TIME_PATH, "GET") == (sends(row, LEVERAGE) if row.clock else 0)
    message = str(raised.value)
    if row.code is not None:
        assert str(row.code) in message and row.msg in message
    if row.http_status != 200:
        assert f"HTTP {row.http_status}" in message
    assert_no_secrets([message, *(r.getMessage() for r in caplog.records)])
    # Not remembered as set.
    assert (
        ("BTC-USDT", "BOTH") not in exchange.account_settings.leverage_confirmed
        or exchange.account_settings.leverage_confirmed[("BTC-USDT", "BOTH")] == 2
    )


def test_clock_errors_resync_before_each_retry(fake_bingx, exchange):
    fake_bingx.inject(
        Fault(
            path=LEVERAGE_PATH,
            method="POST",
            code=100421,
            times=1,
            msg="Null timestamp or timestamp mismatch",
        )
    )
    exchange._lev_prep(PAIR, 3, "buy")  # one failure, then the retry goes through
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 2
    assert fake_bingx.count(TIME_PATH, "GET") == 1
    assert fake_bingx.account().leverage[("BTC-USDT", "LONG")] == 3


def test_clock_skew_is_corrected_from_server_time(fake_bingx, exchange):
    fake_bingx.clock_skew_ms = 20_000  # BingX's clock 20 s ahead of ours: 80014 at first
    exchange._lev_prep(PAIR, 4, "buy")
    codes = [r.code for r in fake_bingx.requests if r.path == LEVERAGE_PATH]
    assert codes == [80014, 0]


def test_blocked_endpoint_gets_nothing_before_its_unblock_time(fake_bingx, exchange, mocker):
    unblock = fake_bingx.server_time_ms() + 60_000
    fake_bingx.inject(
        Fault(
            path=LEVERAGE_PATH,
            method="POST",
            code=100410,
            msg=DISABLED_PERIOD.format(unblock),
        )
    )
    with pytest.raises(DDosProtection):
        exchange._lev_prep(PAIR, 3, "buy")
    with pytest.raises(DDosProtection, match="not sent"):
        exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1

    # Past the unblock time (61 s on; BingX's clock with ours). Blocks count on the
    # monotonic clock; the wall clock moves too, so that timestamps still match BingX's.
    fake_bingx.clock_skew_ms = 61_000
    mocker.patch.object(exchange.link.pipeline.blocks, "_clock", lambda: time.monotonic() + 61)
    mocker.patch.object(exchange.link.pipeline, "clock", lambda: time.time() + 61)
    exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 2


@pytest.mark.parametrize(
    "code, msg", [(101414, "leverage exceeds the maximum"), (80020, "risk forbidden")]
)
def test_a_refused_request_is_not_sent_again_until_forgotten(
    fake_bingx, exchange, mocker, code, msg
):
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", code=code, msg=msg))
    for _ in range(3):  # freqtrade retries the entry on every loop while the signal lasts
        with pytest.raises(InvalidOrderException, match=msg):
            exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1
    # Another leverage is another request.
    exchange._lev_prep(PAIR, 4, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 2
    # Ten minutes later the refusal is forgotten and the request may go out once more.
    refusals = exchange.account_settings.refusals
    later = time.monotonic() + REFUSAL_MEMORY_S + 1
    mocker.patch.object(refusals, "clock", return_value=later)
    exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 3


def test_leverage_illegal_is_permanent(fake_bingx, exchange):
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", code=80012, msg="leverage illegal"))
    with pytest.raises(InvalidOrderException):
        exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1


def test_margin_type_refused_with_positions(fake_bingx, make_exchange):
    fake_bingx.open_position("ETH-USDT", side="LONG", amount=0.1, price=3000.0)
    exchange = make_exchange()
    fake_bingx.clear_requests()
    with pytest.raises(InvalidOrderException, match="positions or pending orders"):
        exchange._lev_prep("ETH/USDT:USDT", 3, "buy")
    assert fake_bingx.count("/openApi/swap/v2/trade/marginType", "POST") == 1
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 0


_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def assert_no_secrets(lines):
    for line in lines:
        assert API_SECRET not in line
        assert API_KEY not in line, line
        assert not _HEX64.search(line), line

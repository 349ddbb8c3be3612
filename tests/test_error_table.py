"""The error table on the plugin's own endpoint, driven through HTTP on loopback and freqtrade's
@retrier.

Each case asserts the freqtrade exception class (which decides what the bot does) and how many
requests reached BingX: a permanent error is sent once, never retried. Every rule of the table
meets a documented BingX text in tests/test_conformance_errors.py; ccxt's endpoints are in
tests/test_fault_matrix_ccxt.py.
"""

import logging
import re
import time

import pytest
from freqtrade.exceptions import (
    DDosProtection,
    InsufficientFundsError,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)

from freqtrade_bingx.refusals import REFUSAL_MEMORY_S
from freqtrade_bingx.sim import Fault
from tests.conftest import API_KEY, API_SECRET, LEVERAGE_PATH, TIME_PATH


PAIR = "BTC/USDT:USDT"
ATTEMPTS = 5  # freqtrade's retrier: the call plus API_RETRY_COUNT (4) retries
FUTURE_MS = 4102444800000  # 2100-01-01
# BingX's own wording (its endpoint page); the number is the absolute unblock time.
DISABLED_PERIOD = (
    "code:100410:The endpoint trigger frequency limit rule is currently in the disabled period "
    "and will be unblocked after {}"
)
OVER_20_ERRORS = (
    "over 20 error code:100202 requests within 480000 ms for this api, please verify and fix "
    "it ,can retry after time: {}"
)

CASES = [
    # (id, fault kwargs, exception, POSTs that reach BingX)
    ("100410 rate limited", dict(code=100410, msg="rate limited"), DDosProtection, 1),
    (
        "100410 disabled period",
        dict(
            code=100410,
            msg=(DISABLED_PERIOD.format(FUTURE_MS)),
        ),
        DDosProtection,
        1,
    ),
    (
        "100410 over 20 errors",
        dict(
            code=100410,
            msg=(OVER_20_ERRORS.format(FUTURE_MS)),
        ),
        DDosProtection,
        1,
    ),
    ("http 429", dict(http_status=429, body=b"Too Many Requests"), DDosProtection, ATTEMPTS),
    ("http 418", dict(http_status=418, body=b"I'm a teapot"), DDosProtection, ATTEMPTS),
    ("http 403", dict(http_status=403, body=b"<html>Forbidden</html>"), DDosProtection, ATTEMPTS),
    ("80014 timestamp", dict(code=80014, msg="timestamp is invalid"), TemporaryError, ATTEMPTS),
    (
        "100421 timestamp",
        dict(code=100421, msg="Null timestamp or timestamp mismatch"),
        TemporaryError,
        ATTEMPTS,
    ),
    ("100413 api key", dict(code=100413, msg="Incorrect apiKey"), OperationalException, 1),
    (
        "100001 signature",
        dict(code=100001, msg="Signature verification failed"),
        OperationalException,
        1,
    ),
    (
        "100419 whitelist",
        dict(
            code=100419,
            msg="IP does not match IP whitelist , please go to "
            "https://bingx.com/en/account/api/ to verify the ip you have set",
        ),
        OperationalException,
        1,
    ),
    ("109400 margin", dict(code=109400, msg="margin is not enough"), InsufficientFundsError, 1),
    ("100202 balance", dict(code=100202, msg="Insufficient balance"), InsufficientFundsError, 1),
    ("80012 margin", dict(code=80012, msg="margin is not enough"), InsufficientFundsError, 1),
    (
        "109400 symbol",
        dict(
            code=109400,
            msg="BTC-USDT,symbol not exist, please verify it in "
            "api: /openApi/swap/v2/quote/contracts",
        ),
        InvalidOrderException,
        1,
    ),
    ("109500 symbol", dict(code=109500, msg="symbol not exist"), InvalidOrderException, 1),
    # BingX's generic "Invalid parameter" is not a clock problem: sent once, not retried.
    (
        "80014 invalid parameter",
        dict(code=80014, msg="Invalid parameters, err:EOF"),
        InvalidOrderException,
        1,
    ),
    (
        "100421 restricted pair",
        dict(code=100421, msg="This pair is currently restricted from API trading"),
        InvalidOrderException,
        1,
    ),
    ("80020 risk", dict(code=80020, msg="risk forbidden"), InvalidOrderException, 1),
    (
        "101414 max leverage",
        dict(code=101414, msg="leverage exceeds the maximum"),
        InvalidOrderException,
        1,
    ),
    (
        "101209 position value",
        dict(code=101209, msg="the max position value for this leverage is 1000000 USDT"),
        InvalidOrderException,
        1,
    ),
    ("http 500", dict(http_status=500, body=b"Internal Server Error"), TemporaryError, ATTEMPTS),
    ("http 503", dict(http_status=503, body=b""), TemporaryError, ATTEMPTS),
    (
        "http 504",
        dict(http_status=504, body=b"<html>Gateway Timeout</html>"),
        TemporaryError,
        ATTEMPTS,
    ),
    ("not json", dict(body=b"<html>maintenance</html>"), TemporaryError, ATTEMPTS),
    ("truncated json", dict(body=b'{"code":0,"msg":"","data":{"leve'), TemporaryError, ATTEMPTS),
    ("json without code", dict(body=b'{"msg":"ok","data":{}}'), TemporaryError, ATTEMPTS),
    ("connection reset", dict(reset=True), TemporaryError, ATTEMPTS),
    ("read timeout", dict(delay_s=0.8), TemporaryError, ATTEMPTS),
    ("unknown code", dict(code=99999, msg="something new"), TemporaryError, ATTEMPTS),
]


@pytest.fixture
def exchange(fake_bingx, make_exchange):
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    # The client-side limiter (2/s) is tested on its own; here it would only slow retries down.
    ex = make_exchange()
    ex.bingx._limiters.pop(("POST", LEVERAGE_PATH))
    ex.bingx.timeout = (1.0, 0.3)
    ex._lev_prep(PAIR, 2, "buy")  # margin type confirmed: only the leverage POST is under test
    fake_bingx.clear_requests()
    fake_bingx.rate_limits.clear()
    return ex


@pytest.mark.parametrize(
    "fault, exception, posts", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error_row(fake_bingx, exchange, caplog, fault, exception, posts):
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", times=10, **fault))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(exception) as raised:
        exchange._lev_prep(PAIR, 3, "buy")

    assert type(raised.value) is exception
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == posts
    message = str(raised.value)
    if "code" in fault:
        assert str(fault["code"]) in message and fault["msg"] in message
    if "http_status" in fault:
        assert f"HTTP {fault['http_status']}" in message
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


@pytest.mark.parametrize(
    "code, msg",
    [
        (80014, "Invalid parameters,positionSide: This field is required."),
        (100421, "This pair is currently restricted from API trading"),
    ],
)
def test_a_refusal_that_is_not_about_the_timestamp_leaves_the_clock_alone(
    fake_bingx, exchange, code, msg
):
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", code=code, msg=msg))
    with pytest.raises(InvalidOrderException, match=msg):
        exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1
    assert fake_bingx.count(TIME_PATH, "GET") == 0


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
            msg=(DISABLED_PERIOD.format(unblock)),
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
    mocker.patch.object(exchange.link.blocks, "_clock", lambda: time.monotonic() + 61)
    mocker.patch.object(exchange.bingx, "_clock", lambda: time.time() + 61)
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

"""BingX's documented error replies, through both of the plugin's paths, to freqtrade's exception.

Each row of tests/error_replies.py (with its source) is checked where a bot meets it:
- the plugin's own endpoints: every reply comes over loopback to the plugin's transport and
  through the error table (``translate``);
- ccxt's endpoints: a row's ``ccxt`` methods; the same reply goes through the reply check
  installed on ccxt's sync and async objects, and the ccxt exception it raises through the
  freqtrade ``Exchange`` method that meets it (ccxt's own call is replaced, so only freqtrade's
  exception ladder runs).
"""

from __future__ import annotations

import json

import ccxt
import pytest
from freqtrade.exceptions import OperationalException, TemporaryError

from freqtrade_bingx.bingx.errors import RULES, rule_for, translate
from freqtrade_bingx.bingx.failures import BingxBadResponse, BingxError, BingxRejected
from freqtrade_bingx.net.ccxt_errors import CCXT_EXCEPTIONS, ccxt_exception_class
from freqtrade_bingx.net.transport import BingxTransport
from tests import error_replies
from tests.conftest import API_KEY, API_SECRET, LEVERAGE_PATH, TIME_PATH
from tests.error_replies import (
    CALLS,
    ENDPOINTS,
    REPLIES,
    Reply,
    outcome,
)


NO_LIMIT = {("POST", LEVERAGE_PATH): 0.0}  # the transport's limiter has tests of its own
# Every reply BingX could send (a broken connection is the transport's own tests' subject).
ANSWERED = [row for row in REPLIES if not row.broken]
DOCUMENTED = [row for row in REPLIES if row.source]
CCXT_CASES = [(row, method) for row in REPLIES for method in row.ccxt]


def _error(row: Reply, method: str = "POST", path: str = LEVERAGE_PATH) -> BingxError:
    """The error as the plugin's transport builds it from this reply."""
    if row.code is None:
        return BingxBadResponse("HTTP error", method=method, path=path, http_status=row.http_status)
    return BingxRejected(
        "rejected", method=method, path=path, code=row.code, msg=row.msg, http_status=200
    )


server, exchange = error_replies.server, error_replies.exchange  # module-scoped fixtures


@pytest.fixture(autouse=True)
def _clean(server, mocker):
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off, instant
    server.clear_faults()
    server.clear_requests()
    yield
    server.clear_faults()


# ------------------------------------------------------------------ the plugin's own endpoints
@pytest.mark.parametrize("row", ANSWERED, ids=lambda row: row.name)
def test_plugins_own_endpoint(server, row):
    """The reply over loopback, through the plugin's transport and the error table; only a
    timestamp refusal has the transport read BingX's clock again."""
    # A fresh transport: a block or a clock re-read from an earlier case must not leak in.
    transport = BingxTransport(API_KEY, API_SECRET, server.base_url, rate_limits=NO_LIMIT)
    transport.sync_time()
    server.clear_requests()
    server.inject(row.fault(LEVERAGE_PATH, "POST"))
    params = {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 2}
    with pytest.raises(BingxError) as raised:
        transport.request("POST", LEVERAGE_PATH, params)
    translated = translate(raised.value, "set leverage")
    assert type(translated) is row.means
    assert server.count(LEVERAGE_PATH, "POST") == 1
    assert server.count(TIME_PATH, "GET") == int(row.clock)
    if row.code is not None:
        assert row.msg in str(translated)


# ------------------------------------------------------------------ ccxt's endpoints
@pytest.mark.parametrize(
    "row, where", CCXT_CASES, ids=[f"{row.name} {where}" for row, where in CCXT_CASES]
)
def test_ccxt_endpoint(exchange, mocker, row, where):
    """The reply through ccxt's reply check (sync and async), then freqtrade's method; only a
    timestamp refusal marks BingX's clock for a new reading."""
    method, path, ccxt_call = ENDPOINTS[where]
    clock = exchange.link.pipeline.server_clock
    clock.record(clock.offset_ms)  # a fresh reading: not stale
    url = f"http://127.0.0.1:1{path}?symbol=BTC-USDT&timestamp=1&signature=" + "ab" * 32
    if row.code is None:
        body, response = row.msg, None
    else:
        response = {"code": row.code, "msg": row.msg, "data": {}}
        body = json.dumps(response)
    raised = []
    for api in (exchange._api, exchange._api_async):
        with pytest.raises(ccxt.BaseError) as error:
            api.handle_errors(row.http_status, "", url, method, {}, body, response, {}, None)
        raised.append(error.value)
    sync_error, async_error = raised
    assert type(sync_error) is type(async_error) is ccxt_exception_class(row.means)
    assert str(sync_error) == str(async_error)
    assert "ab" * 32 not in str(sync_error)  # the reply check quotes the path, not the URL
    assert clock.stale is row.clock

    mocker.patch.object(exchange._api, ccxt_call, side_effect=sync_error)
    with pytest.raises(Exception) as raised:
        CALLS[where](exchange)
    assert type(raised.value) is outcome(row, where), raised.value
    if row.code is not None:
        assert row.msg in str(raised.value)


def test_a_good_reply_passes(exchange):
    for api in (exchange._api, exchange._api_async):
        response = {"code": "0", "msg": "", "data": {}}
        assert (
            api.handle_errors(200, "OK", "http://x/p", "GET", {}, "{}", response, {}, None) is None
        )


# ------------------------------------------------------------------ the table itself
def test_every_rule_meets_a_documented_reply():
    met = {id(rule_for(_error(row))) for row in DOCUMENTED}
    unmet = [rule for rule in RULES if id(rule) not in met]
    assert unmet == []


@pytest.mark.parametrize("row", DOCUMENTED, ids=lambda row: row.name)
def test_the_rule_a_reply_meets_has_its_class(row):
    rule = rule_for(_error(row))
    assert (rule.exception if rule else TemporaryError) is row.means


def test_every_table_class_has_a_ccxt_class():
    for rule in RULES:
        assert ccxt_exception_class(rule.exception) in CCXT_EXCEPTIONS.values()
    # A person must act: neither of the two ccxt families freqtrade makes temporary.
    needs_person = ccxt_exception_class(OperationalException)
    assert not issubclass(needs_person, ccxt.ExchangeError | ccxt.OperationFailed)

"""A ``code: 0`` reply whose ``data`` is not what the endpoint documents.

Each case goes through freqtrade's own entry points against the fake BingX, which sends the
malformed body for the endpoint under test (``Fault(body=...)``). What freqtrade must get is
its ``TemporaryError`` naming the endpoint (retried by its ``@retrier``), never another Python
exception: those end freqtrade with "Fatal exception!", or make its exchange resolver fall
back to the generic class.
"""

import json
import logging

import pytest
from freqtrade.enums import MarginMode
from freqtrade.exceptions import TemporaryError

from freqtrade_bingx import cli
from freqtrade_bingx.sim import Fault
from freqtrade_bingx.transport import BingxBadResponse
from tests.conftest import LEVERAGE_PATH, MARGIN_PATH, MODE_PATH, TIME_PATH


PAIR = "BTC/USDT:USDT"
POSITIONS_PATH = "/openApi/swap/v2/user/positions"
TIER_PATH = "/openApi/swap/v1/maintMarginRatio"
PREMIUM_PATH = "/openApi/swap/v2/quote/premiumIndex"
ATTEMPTS = 5  # freqtrade's @retrier: the first call and four retries


def body(data) -> bytes:
    return json.dumps({"code": 0, "msg": "", "data": data}).encode()


# Raw bodies for what json.dumps cannot write: a number too large for a float reads as inf.
HUGE_NUMBER = 1e400


def raw(data_text: str) -> bytes:
    return b'{"code":0,"msg":"","data":' + data_text.encode() + b"}"


def tier(**changes) -> dict:
    row = {
        "tier": "Tier 1",
        "symbol": "BTC-USDT",
        "minPositionVal": "0",
        "maxPositionVal": "300000",
        "maintMarginRatio": "0.004000",
        "maintAmount": "0.000000",
    }
    row.update(changes)
    return row


def expect_temporary(call, path: str):
    with pytest.raises(TemporaryError) as raised:
        call()
    assert type(raised.value) is TemporaryError
    assert path in str(raised.value)
    return raised.value


@pytest.mark.parametrize(
    "reply",
    [
        body(["true"]),
        body("true"),
        body(None),
        body({}),
        body({"dualSidePosition": "maybe"}),
        body({"dualSidePosition": 1}),
    ],
)
def test_position_mode(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=MODE_PATH, method="GET", body=reply, times=10))
    fake_bingx.clear_requests()
    expect_temporary(exchange.additional_exchange_init, MODE_PATH)
    assert fake_bingx.count(MODE_PATH, "GET") == ATTEMPTS


@pytest.mark.parametrize(
    "reply",
    [
        body("ISOLATED"),  # the margin type as a bare string
        body(["ISOLATED"]),
        body(None),
        body({}),
        body({"marginType": 5}),
        body({"marginType": None}),
        body({"marginType": {"type": "ISOLATED"}}),
        body({"marginType": "ISO LATED"}),
    ],
)
def test_margin_type(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=MARGIN_PATH, method="GET", body=reply, times=10))
    fake_bingx.clear_requests()
    expect_temporary(lambda: exchange.set_margin_mode(PAIR, MarginMode.ISOLATED), MARGIN_PATH)
    assert fake_bingx.count(MARGIN_PATH, "POST") == 0  # nothing changed on a reply not read
    assert exchange._margin_type_confirmed == {}


@pytest.mark.parametrize(
    "reply",
    [
        body({"symbol": "BTC-USDT", "positionAmt": "0"}),  # one row, not a list
        body("none"),
        body([1, 2]),
        body([{"positionAmt": "0.01"}]),
        body([{"symbol": "BTC-USDT", "positionAmt": "NaN"}]),
        body([{"symbol": "BTC-USDT", "positionAmt": "lots"}]),
        body([{"symbol": 7, "positionAmt": "0"}]),
    ],
)
def test_positions_before_a_mode_switch(fake_bingx, make_exchange, reply):
    fake_bingx.inject(Fault(path=POSITIONS_PATH, method="GET", body=reply, times=10))
    expect_temporary(lambda: make_exchange(exchange={"position_mode": "hedge"}), POSITIONS_PATH)
    assert fake_bingx.count(MODE_PATH, "POST") == 0  # not switched on a reply not understood


@pytest.mark.parametrize(
    "reply",
    [
        body(None),
        body("ok"),
        body([]),
        body({}),
        body({"leverage": "three"}),
        body({"leverage": 0}),
        body({"leverage": 2.5}),
        body({"leverage": True}),
        raw('{"leverage":1e400}'),
    ],
)
def test_set_leverage(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", body=reply, times=10))
    fake_bingx.clear_requests()
    expect_temporary(lambda: exchange._set_leverage(3, PAIR, side="buy"), LEVERAGE_PATH)
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == ATTEMPTS
    # Not remembered as set (the account's GET leverage may have filled in what it reported).
    assert exchange._leverage_confirmed.get(("BTC-USDT", "BOTH")) != 3


@pytest.mark.parametrize(
    "reply",
    [
        body(None),
        body([]),
        body({"serverTime": "soon"}),
        body({"serverTime": True}),
        body({"serverTime": 1.7e12}),
        body({"serverTime": -5}),
        raw('{"serverTime":1e400}'),
    ],
)
def test_server_time(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    offset = exchange.bingx.offset_ms
    fake_bingx.inject(Fault(path=TIME_PATH, method="GET", body=reply, times=10))
    with pytest.raises(BingxBadResponse, match="serverTime"):
        exchange.bingx.sync_time()
    assert exchange.bingx.offset_ms == offset  # not believed
    # A broken clock reading is not asked for again on every request: the next signed ones go
    # out with the last offset, and the clock is read again after a back-off.
    fake_bingx.clear_requests()
    exchange._bingx_clock.mark_stale()
    exchange._set_leverage(3, PAIR, side="buy")
    assert fake_bingx.count(TIME_PATH, "GET") == 0
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1


@pytest.mark.parametrize(
    "reply",
    [
        body(5),  # tiers as an int
        body("Tier 1"),
        body([]),
        body([5]),
        body([tier(maintMarginRatio="1e-320")]),  # a denormal: 1 / (2 * rate) overflows
        body([tier(maintMarginRatio="-0.004")]),
        body([tier(maintMarginRatio="NaN")]),
        body([tier(maintMarginRatio="inf")]),
        body([tier(maintMarginRatio="-Infinity")]),
        body([tier(maintMarginRatio="1e300")]),
        body([tier(maintMarginRatio=None)]),
        body([tier(maxPositionVal="1e400")]),
        body([tier(maxPositionVal="0")]),
        body([tier(minPositionVal="-1")]),
        body([tier(maintAmount="x")]),
        body([tier(symbol="ETH-USDT")]),
        body([tier(), "Tier 2"]),
    ],
)
def test_leverage_tiers(fake_bingx, make_exchange, tmp_path, caplog, reply):
    """A pair whose tiers BingX garbles gets the logged estimate; nothing garbled is cached."""
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=TIER_PATH, body=reply, params={"symbol": "BTC-USDT"}))
    caplog.set_level(logging.WARNING)

    tiers = exchange.load_leverage_tiers()

    btc_warnings = [r.getMessage() for r in caplog.records if "BTC/USDT:USDT" in r.getMessage()]
    assert any(TIER_PATH in line and "not understood" in line for line in btc_warnings)
    assert [t["maxNotional"] for t in tiers[PAIR]] == [None]  # the estimate
    assert len(tiers["ETH/USDT:USDT"]) > 1  # the other pair is BingX's
    cache = tmp_path / "data" / "futures" / "bingx_leverage_tiers_USDT.json"
    assert set(json.loads(cache.read_text())["data"]) == {"ETH/USDT:USDT"}


@pytest.mark.parametrize(
    "reply",
    [
        body("x"),
        body({"longLeverage": "5"}),
        body({"longLeverage": 5, "shortLeverage": "lots"}),
        body({"longLeverage": 5, "shortLeverage": 0}),
        body({"longLeverage": 5, "shortLeverage": 5, "maxLongLeverage": "NaN"}),
    ],
)
def test_get_leverage_in_the_status_command(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="GET", body=reply, times=10))
    expect_temporary(lambda: cli.status(exchange), LEVERAGE_PATH)


@pytest.mark.parametrize(
    "reply",
    [
        body([{"symbol": "BTC-USDT", "fundingIntervalHours": 8}]),  # a list for one symbol
        body("8h"),
        body({"symbol": "BTC-USDT", "fundingIntervalHours": "eight"}),
        body({"symbol": "BTC-USDT", "fundingIntervalHours": 8.5}),
        body({"symbol": "BTC-USDT", "fundingIntervalHours": -1}),
        body({"symbol": "BTC-USDT", "fundingIntervalHours": 10**9}),
        body({"symbol": "ETH-USDT", "fundingIntervalHours": 8}),
    ],
)
def test_funding_interval(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=PREMIUM_PATH, method="GET", body=reply, times=10))
    fake_bingx.clear_requests()
    expect_temporary(lambda: exchange.funding_interval_hours(PAIR), PREMIUM_PATH)
    assert fake_bingx.count(PREMIUM_PATH) == ATTEMPTS


def test_well_formed_replies_still_read(fake_bingx, make_exchange):
    """The checks refuse the garbled, not BingX's real shapes (the fake sends those)."""
    fake_bingx.account().leverage[("BTC-USDT", "LONG")] = 7
    exchange = make_exchange()
    exchange.set_margin_mode(PAIR, MarginMode.ISOLATED)
    assert exchange._set_leverage(3, PAIR, side="buy") == 3
    assert exchange.funding_interval_hours(PAIR) in (1, 2, 4, 8)
    assert len(exchange.load_leverage_tiers()[PAIR]) > 1
    assert any("BTC/USDT:USDT" in line for line in cli.status(exchange))

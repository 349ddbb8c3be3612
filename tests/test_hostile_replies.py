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

from freqtrade_bingx.base import files
from freqtrade_bingx.bingx.failures import BingxBadResponse
from freqtrade_bingx.net import clock as clock_module
from freqtrade_bingx.net.transport import BingxTransport
from freqtrade_bingx.sim import Fault
from freqtrade_bingx.tools import cli
from tests.clocks import FakeClock
from tests.conftest import (
    API_KEY,
    API_SECRET,
    LEVERAGE_PATH,
    MARGIN_PATH,
    MODE_PATH,
    TIME_PATH,
)


PAIR = "BTC/USDT:USDT"
POSITIONS_PATH = "/openApi/swap/v2/user/positions"
ORDER_PATH = "/openApi/swap/v2/trade/order"
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
    assert exchange.account_settings.margin_type_confirmed == {}


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
    assert exchange.account_settings.leverage_confirmed.get(("BTC-USDT", "BOTH")) != 3


@pytest.mark.parametrize(
    "reply",
    [
        body(None),
        body([]),
        body({"serverTime": "soon"}),
        body({"serverTime": True}),
        body({"serverTime": 1.7e12}),
        body({"serverTime": -5}),
        # Infinity once decoded: the decoder (orjson) refuses it as not JSON.
        raw('{"serverTime":1e400}'),
    ],
)
def test_server_time(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    offset = exchange.bingx.offset_ms
    fake_bingx.inject(Fault(path=TIME_PATH, method="GET", body=reply, times=10))
    with pytest.raises(BingxBadResponse, match="serverTime|reply is not JSON"):
        exchange.bingx.sync_time()
    assert exchange.bingx.offset_ms == offset  # not believed
    # A broken clock reading is not asked for again on every request: the next signed ones go
    # out with the last offset, and the clock is read again after a back-off.
    fake_bingx.clear_requests()
    exchange.link.pipeline.server_clock.mark_stale()
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


# --- a reply nested deeper than any reader can follow ------------------------------------

# 400 KB of brackets: json (and anything that walks the value recursively) raises RecursionError
# on it, which would end freqtrade with "Fatal exception!" instead of an exception it handles.
NESTED = b"[" * 200_000 + b"]" * 200_000
NESTED_DATA = raw("[" * 100_000 + "]" * 100_000)  # a sound envelope, its data nested


def _validated_exchange(fake_bingx, tmp_path, mocker):
    """The exchange as ``freqtrade trade`` builds it (its resolver with validate=True)."""
    from tests.test_cold_start import start

    mocker.patch("freqtrade.exchange.common.time.sleep")
    return start(fake_bingx, tmp_path)


@pytest.mark.parametrize("reply", [NESTED, NESTED_DATA], ids=["body", "data"])
def test_a_nested_leverage_reply_is_a_temporary_error_in_create_order(
    fake_bingx, tmp_path, mocker, reply
):
    exchange = _validated_exchange(fake_bingx, tmp_path, mocker)
    try:
        fake_bingx.inject(Fault(path=LEVERAGE_PATH, body=reply, times=100))
        fake_bingx.clear_requests()
        error = expect_temporary(
            lambda: exchange.create_order(
                pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=None, leverage=3.0
            ),
            LEVERAGE_PATH,
        )
        assert "not JSON" in str(error)
        assert fake_bingx.count(ORDER_PATH, "POST") == 0  # no entry on a leverage not read
        # The next entry, once BingX answers sanely, goes through.
        fake_bingx.clear_faults()
        order = exchange.create_order(
            pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=None, leverage=3.0
        )
        assert order["id"]
    finally:
        exchange.close()


@pytest.mark.parametrize(
    "reply",
    [
        # ccxt's parser reads up to 1024 levels: these reach the code after it.
        b'{"code":100001,"msg":' + b"[" * 1000 + b"]" * 1000 + b"}",
        raw("[" * 1000 + "]" * 1000),
    ],
    ids=["msg", "data"],
)
def test_a_nested_reply_to_ccxt_is_a_temporary_error(fake_bingx, make_exchange, reply):
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=POSITIONS_PATH, method="GET", body=reply, times=10))
    fake_bingx.clear_requests()
    expect_temporary(exchange.fetch_positions, POSITIONS_PATH)
    assert fake_bingx.count(POSITIONS_PATH, "GET") == ATTEMPTS  # freqtrade retried it


def test_a_nested_server_time_reply_leaves_the_clock_readable(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.inject(Fault(path=TIME_PATH, method="GET", body=NESTED))
    with pytest.raises(BingxBadResponse, match="not JSON"):
        exchange.bingx.sync_time()
    fake_bingx.clear_requests()
    exchange.bingx.sync_time()  # read again, and believed
    assert fake_bingx.count(TIME_PATH, "GET") == 1
    assert exchange.bingx.clock_synced


def test_the_clock_reading_is_released_whatever_the_reading_raises(fake_bingx, monkeypatch):
    """Not only BingX's errors end a reading: any exception out of it (a bug, a RecursionError)
    must release it, or the clock is never read again."""
    clock = FakeClock()
    transport = BingxTransport(API_KEY, API_SECRET, fake_bingx.base_url, monotonic=clock)
    real_read = transport._read_offset

    def broken_read() -> int:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(transport, "_read_offset", broken_read)
    with pytest.raises(RecursionError):
        transport.refresh_clock_if_due()
    with pytest.raises(RecursionError):
        transport.sync_time()
    monkeypatch.setattr(transport, "_read_offset", real_read)
    clock.sleep(clock_module.MAX_RETRY_S)  # past the back-off after the failed readings
    fake_bingx.clear_requests()
    transport.request("GET", "/openApi/swap/v2/user/positions", {"symbol": "BTC-USDT"})
    assert fake_bingx.count(TIME_PATH, "GET") == 1
    assert transport.clock_synced


def test_json_nested_within_reason_still_decodes_and_deeper_does_not():
    value: object = 1
    for _ in range(files.MAX_JSON_DEPTH):
        value = [value]
    assert files.decode_json(json.dumps(value)) == value
    with pytest.raises(ValueError, match="nested"):
        files.decode_json(json.dumps([value]))
    # Deep but decodable by json (a recursive reader would fail on it later): refused too. The
    # cache files read through the same function (test_files: a nested tier cache is a miss).
    with pytest.raises(ValueError, match="nested"):
        files.decode_json("[" * 500 + "]" * 500)

"""Tests for the fake BingX server (freqtrade_bingx.sim) over real loopback sockets."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from freqtrade_bingx.sim import FakeBingx, Fault
from tests.configs import ccxt_bingx


LEV = "/openApi/swap/v2/trade/leverage"
DUAL = "/openApi/swap/v1/positionSide/dual"
MARGIN = "/openApi/swap/v2/trade/marginType"
TIME = "/openApi/swap/v2/server/time"
CONTRACTS = "/openApi/swap/v2/quote/contracts"

VECTOR_SECRET = (
    "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"
)
VECTOR_MESSAGE = "symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6"
VECTOR_SIGNATURE = "4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf"


def sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


def call(
    srv: FakeBingx,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    key: str | None = "test-key",
    secret: str = "test-secret",
    timestamp: int | None | bool = None,
    signature: str | None = None,
    timeout: float = 2.0,
) -> requests.Response:
    """A signed request: params, then timestamp, then signature, all in the query string."""
    items = [(k, str(v)) for k, v in (params or {}).items()]
    if timestamp is not False:
        items.append(("timestamp", str(now_ms() if timestamp is None else timestamp)))
    query = "&".join(f"{k}={v}" for k, v in items)
    sig = sign(secret, query) if signature is None else signature
    headers = {"X-BX-APIKEY": key} if key is not None else {}
    url = f"{srv.base_url}{path}?{query}&signature={sig}"
    return requests.request(method, url, headers=headers, timeout=timeout)


def code_of(resp: requests.Response) -> int:
    return int(resp.json()["code"])


@pytest.fixture
def srv() -> Iterator[FakeBingx]:
    with FakeBingx(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def hedge_srv() -> Iterator[FakeBingx]:
    with FakeBingx(host="127.0.0.1", port=0, hedge_mode=True) as server:
        yield server


# ------------------------------------------------------------------------------ signing
def test_known_answer_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_MESSAGE) == VECTOR_SIGNATURE
    with FakeBingx(accounts={"vec": VECTOR_SECRET}) as server:
        url = f"{server.base_url}{LEV}?{VECTOR_MESSAGE}&signature={VECTOR_SIGNATURE}"
        resp = requests.post(url, headers={"X-BX-APIKEY": "vec"}, timeout=2)
        # The signature check passes; the 2022 timestamp then fails the window check.
        assert code_of(resp) == 80014
        bad = VECTOR_SIGNATURE[:-1] + ("0" if VECTOR_SIGNATURE[-1] != "0" else "1")
        url = f"{server.base_url}{LEV}?{VECTOR_MESSAGE}&signature={bad}"
        resp = requests.post(url, headers={"X-BX-APIKEY": "vec"}, timeout=2)
        assert code_of(resp) == 100001


def test_auth_errors(srv: FakeBingx) -> None:
    assert code_of(call(srv, "GET", DUAL, key=None)) == 100413
    resp = call(srv, "GET", DUAL, key="nope")
    assert code_of(resp) == 100413 and resp.json()["msg"] == "Incorrect apiKey"
    assert resp.status_code == 200
    assert code_of(call(srv, "GET", DUAL, timestamp=False)) == 100421
    assert code_of(call(srv, "GET", DUAL, secret="wrong")) == 100001
    assert code_of(call(srv, "GET", DUAL, timestamp=now_ms() - 6000)) == 80014
    assert code_of(call(srv, "GET", DUAL, timestamp=now_ms() + 6000)) == 80014
    # A wider recvWindow accepts the same age.
    ok = call(srv, "GET", DUAL, {"recvWindow": 20000}, timestamp=now_ms() - 6000)
    assert code_of(ok) == 0
    assert code_of(call(srv, "GET", DUAL)) == 0


def test_uppercase_signature_refused(srv: FakeBingx) -> None:
    query = f"timestamp={now_ms()}"
    url = f"{srv.base_url}{DUAL}?{query}&signature={sign('test-secret', query).upper()}"
    resp = requests.get(url, headers={"X-BX-APIKEY": "test-key"}, timeout=2)
    assert code_of(resp) == 100001


def test_signature_over_url_decoded_query(srv: FakeBingx) -> None:
    # The client signs the raw value and percent-encodes on the wire (what ccxt does).
    ts = now_ms()
    raw = f"symbol=BTC-USDT&note=a b:c&timestamp={ts}"
    wire = f"symbol=BTC-USDT&note=a%20b%3Ac&timestamp={ts}"
    url = f"{srv.base_url}{MARGIN}?{wire}&signature={sign('test-secret', raw)}"
    resp = requests.get(url, headers={"X-BX-APIKEY": "test-key"}, timeout=2)
    assert code_of(resp) == 0


def test_clock_skew(srv: FakeBingx) -> None:
    srv.clock_skew_ms = 60_000
    server_time = requests.get(f"{srv.base_url}{TIME}", timeout=2).json()["data"]["serverTime"]
    assert server_time - now_ms() > 55_000
    assert code_of(call(srv, "GET", DUAL)) == 80014
    assert code_of(call(srv, "GET", DUAL, timestamp=now_ms() + 60_000)) == 0


# ------------------------------------------------------------------------------ leverage
def test_leverage_one_way_both_sets_both(srv: FakeBingx) -> None:
    resp = call(srv, "POST", LEV, {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 10})
    body = resp.json()
    assert body["code"] == 0
    assert body["data"]["leverage"] == 10 and body["data"]["symbol"] == "BTC-USDT"
    assert "availableLongVol" in body["data"] and "maxPositionShortVal" in body["data"]
    acct = srv.account()
    assert acct.leverage[("BTC-USDT", "LONG")] == 10
    assert acct.leverage[("BTC-USDT", "SHORT")] == 10
    data = call(srv, "GET", LEV, {"symbol": "BTC-USDT"}).json()["data"]
    assert (data["longLeverage"], data["shortLeverage"]) == (10, 10)
    assert (data["maxLongLeverage"], data["maxShortLeverage"]) == (125, 125)
    # Other symbols keep the default.
    data = call(srv, "GET", LEV, {"symbol": "ETH-USDT"}).json()["data"]
    assert (data["longLeverage"], data["shortLeverage"]) == (5, 5)


def test_leverage_hedge_per_side(hedge_srv: FakeBingx) -> None:
    assert (
        code_of(call(hedge_srv, "POST", LEV, {"symbol": "ETH-USDT", "side": "LONG", "leverage": 7}))
        == 0
    )
    data = call(hedge_srv, "GET", LEV, {"symbol": "ETH-USDT"}).json()["data"]
    assert (data["longLeverage"], data["shortLeverage"]) == (7, 5)
    assert (
        code_of(
            call(hedge_srv, "POST", LEV, {"symbol": "ETH-USDT", "side": "SHORT", "leverage": 3})
        )
        == 0
    )
    data = call(hedge_srv, "GET", LEV, {"symbol": "ETH-USDT"}).json()["data"]
    assert (data["longLeverage"], data["shortLeverage"]) == (7, 3)


@pytest.mark.parametrize("side", ["LONG", "SHORT", "long", "", None])
def test_leverage_side_errors_one_way(srv: FakeBingx, side: str | None) -> None:
    params: dict[str, Any] = {"symbol": "BTC-USDT", "leverage": 3}
    if side is not None:
        params["side"] = side
    body = call(srv, "POST", LEV, params).json()
    assert body["code"] == 109400
    assert body["msg"] == "In the One-way mode, the 'PositionSide' field can only be set to BOTH."
    assert srv.account().leverage[("BTC-USDT", "LONG")] == 5


@pytest.mark.parametrize("side", ["BOTH", "short", None])
def test_leverage_side_errors_hedge(hedge_srv: FakeBingx, side: str | None) -> None:
    params: dict[str, Any] = {"symbol": "BTC-USDT", "leverage": 3}
    if side is not None:
        params["side"] = side
    body = call(hedge_srv, "POST", LEV, params).json()
    assert body["code"] == 109400
    assert body["msg"] == (
        "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT."
    )


def test_leverage_unknown_symbol(srv: FakeBingx) -> None:
    body = call(srv, "POST", LEV, {"symbol": "CATI-USDT", "side": "BOTH", "leverage": 3}).json()
    assert body["code"] == 109400
    assert body["msg"] == (
        "CATI-USDT,symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts"
    )
    assert code_of(call(srv, "GET", LEV, {"symbol": "CATI-USDT"})) == 109400


def test_leverage_limits_and_illegal_values(srv: FakeBingx) -> None:
    srv.rate_limits.clear()  # many calls in a row; limits are tested elsewhere

    def set_lev(symbol: str, lev: Any) -> int:
        return code_of(call(srv, "POST", LEV, {"symbol": symbol, "side": "BOTH", "leverage": lev}))

    assert set_lev("BTC-USDT", 126) == 101414
    assert set_lev("BTC-USDT", 125) == 0
    assert set_lev("SOL-USDT", 51) == 101414
    assert set_lev("SOL-USDT", 50) == 0
    for bad in ("0", "-3", "abc", "5.5", ""):
        assert set_lev("XRP-USDT", bad) == 109400, bad
    assert srv.account().leverage[("XRP-USDT", "LONG")] == 5


def test_leverage_rate_limit(srv: FakeBingx) -> None:
    # Default 5/s: a burst of 10 must see 100410 after the first 5.
    codes = [
        code_of(call(srv, "POST", LEV, {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 2}))
        for _ in range(10)
    ]
    assert codes[:5] == [0] * 5
    assert 100410 in codes[5:]
    limited = [r for r in srv.requests if r.code == 100410]
    assert limited and limited[0].path == LEV
    # GET has a window of its own.
    assert code_of(call(srv, "GET", LEV, {"symbol": "BTC-USDT"})) == 0


@pytest.mark.parametrize("path", [MARGIN, DUAL])
def test_reads_of_margin_type_and_mode_are_limited_to_2_per_second(srv: FakeBingx, path) -> None:
    # BingX's pages "Query Margin Type" and "Query position mode": 2/s per UID.
    codes = [code_of(call(srv, "GET", path, {"symbol": "BTC-USDT"})) for _ in range(4)]
    assert codes[:2] == [0, 0] and 100410 in codes[2:]


def test_leverage_limits_are_the_account_maximum(srv: FakeBingx) -> None:
    srv.rate_limits.clear()

    def read(symbol: str) -> tuple[int, int]:
        data = call(srv, "GET", LEV, {"symbol": symbol}).json()["data"]
        return data["maxLongLeverage"], data["maxShortLeverage"]

    def set_lev(symbol: str, side: str, lev: int) -> dict[str, Any]:
        return call(srv, "POST", LEV, {"symbol": symbol, "side": side, "leverage": lev}).json()

    # The contract list understates XRP-USDT: 75x listed, 100x usable.
    xrp = next(c for c in srv.contracts if c["symbol"] == "XRP-USDT")
    assert (xrp["maxLongLeverage"], xrp["maxShortLeverage"]) == (75, 75)
    assert read("XRP-USDT") == (100, 100)
    assert set_lev("XRP-USDT", "BOTH", 100)["code"] == 0
    # Per account and side, set from Python; BOTH is held to the lower side.
    srv.account().max_leverage[("BTC-USDT", "SHORT")] = 20
    assert read("BTC-USDT") == (125, 20)
    assert read("ETH-USDT") == (100, 100)
    assert set_lev("BTC-USDT", "BOTH", 21) == {
        "code": 101414,
        "msg": "The maximum leverage for the trading pair is 20, please reduce the leverage",
        "data": {},
    }
    assert set_lev("BTC-USDT", "BOTH", 20)["code"] == 0
    srv.account().hedge_mode = True
    assert set_lev("BTC-USDT", "LONG", 125)["code"] == 0
    assert set_lev("BTC-USDT", "SHORT", 21)["code"] == 101414


def test_rate_limit_is_per_key_and_configurable() -> None:
    accounts = {"a": "sa", "b": "sb"}
    with FakeBingx(accounts=accounts, leverage_rate_limit_per_s=2.0) as server:
        params = {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 2}
        codes_a = [
            code_of(call(server, "POST", LEV, params, key="a", secret="sa")) for _ in range(4)
        ]
        assert codes_a[:2] == [0, 0] and 100410 in codes_a[2:]
        assert code_of(call(server, "POST", LEV, params, key="b", secret="sb")) == 0
        resp = call(server, "POST", LEV, params, key="b", secret="sb")
        assert "X-RateLimit-Requests-Remain" in resp.headers
    with FakeBingx(leverage_rate_limit_per_s=None) as server:
        params = {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 2}
        assert all(code_of(call(server, "POST", LEV, params)) == 0 for _ in range(12))
    with FakeBingx(rate_limits={("POST", MARGIN): None}) as server:
        params = {"symbol": "BTC-USDT", "marginType": "ISOLATED"}
        assert all(code_of(call(server, "POST", MARGIN, params)) == 0 for _ in range(5))


def test_margin_type_rate_limit_default(srv: FakeBingx) -> None:
    params = {"symbol": "BTC-USDT", "marginType": "ISOLATED"}
    codes = [code_of(call(srv, "POST", MARGIN, params)) for _ in range(5)]
    assert codes[:2] == [0, 0] and 100410 in codes[2:]


# ------------------------------------------------------------------------------ margin / mode
def test_margin_type(srv: FakeBingx) -> None:
    srv.rate_limits.clear()
    body = call(srv, "GET", MARGIN, {"symbol": "ETH-USDT"}).json()
    assert body["data"]["marginType"] == "CROSSED"
    resp = call(srv, "POST", MARGIN, {"symbol": "ETH-USDT", "marginType": "ISOLATED"})
    assert resp.json() == {"code": 0, "msg": ""}
    assert srv.account().margin_type["ETH-USDT"] == "ISOLATED"
    body = call(srv, "GET", MARGIN, {"symbol": "ETH-USDT"}).json()
    assert body["data"]["marginType"] == "ISOLATED"
    assert (
        code_of(call(srv, "POST", MARGIN, {"symbol": "ETH-USDT", "marginType": "cross"})) == 109400
    )
    assert (
        code_of(call(srv, "POST", MARGIN, {"symbol": "NOPE-USDT", "marginType": "CROSSED"}))
        == 109400
    )


def test_margin_type_refused_with_position(srv: FakeBingx) -> None:
    srv.open_position("SOL-USDT", side="LONG", amount=3, price=140.0)
    body = call(srv, "POST", MARGIN, {"symbol": "SOL-USDT", "marginType": "ISOLATED"}).json()
    assert body["code"] == 109400
    assert body["msg"] == "the account has positions or pending orders"
    assert srv.account().margin_type["SOL-USDT"] == "CROSSED"
    # Another symbol is not affected by the SOL position.
    assert code_of(call(srv, "POST", MARGIN, {"symbol": "BTC-USDT", "marginType": "ISOLATED"})) == 0


def test_position_mode(srv: FakeBingx) -> None:
    body = call(srv, "GET", DUAL).json()
    assert body["code"] == "0"  # BingX sends this one as a string
    assert body["data"] == {"dualSidePosition": "false"}
    body = call(srv, "POST", DUAL, {"dualSidePosition": "true"}).json()
    assert body["data"] == {"dualSidePosition": "true"}
    assert srv.account().hedge_mode is True
    assert call(srv, "GET", DUAL).json()["data"]["dualSidePosition"] == "true"
    assert code_of(call(srv, "POST", DUAL, {"dualSidePosition": "True"})) == 109400


def test_position_mode_refused_with_position(hedge_srv: FakeBingx) -> None:
    hedge_srv.open_position("BTC-USDT", side="SHORT", amount=0.01)
    body = call(hedge_srv, "POST", DUAL, {"dualSidePosition": "false"}).json()
    assert (int(body["code"]), body["msg"]) == (109401, "user has pending orders or position")
    assert hedge_srv.account().hedge_mode is True
    hedge_srv.close_positions()
    assert code_of(call(hedge_srv, "POST", DUAL, {"dualSidePosition": "false"})) == 0
    assert hedge_srv.account().hedge_mode is False


def test_positions_tiers_balance(srv: FakeBingx) -> None:
    srv.open_position("ETH-USDT", side="SHORT", amount=2, price=2900.0)
    call(srv, "POST", LEV, {"symbol": "ETH-USDT", "side": "BOTH", "leverage": 8})
    rows = call(srv, "GET", "/openApi/swap/v2/user/positions").json()["data"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["symbol"], row["positionSide"], row["positionAmt"], row["avgPrice"]) == (
        "ETH-USDT",
        "SHORT",
        "2",
        "2900",
    )
    assert row["leverage"] == 8 and row["isolated"] is False
    assert (
        call(srv, "GET", "/openApi/swap/v2/user/positions", {"symbol": "BTC-USDT"}).json()["data"]
        == []
    )
    tiers = call(srv, "GET", "/openApi/swap/v1/maintMarginRatio", {"symbol": "BTC-USDT"}).json()
    assert tiers["data"][0]["tier"] == "Tier 1"
    assert all(isinstance(v, str) for v in tiers["data"][0].values())
    assert not any("everage" in k for k in tiers["data"][0])
    bal = call(srv, "GET", "/openApi/swap/v2/user/balance").json()["data"]["balance"]
    assert bal["asset"] == "USDT" and float(bal["usedMargin"]) > 0


def test_json_body_params_are_merged(srv: FakeBingx) -> None:
    query = f"symbol=XRP-USDT&timestamp={now_ms()}"
    url = f"{srv.base_url}{MARGIN}?{query}&signature={sign('test-secret', query)}"
    resp = requests.post(
        url, json={"marginType": "ISOLATED"}, headers={"X-BX-APIKEY": "test-key"}, timeout=2
    )
    assert code_of(resp) == 0
    assert srv.account().margin_type["XRP-USDT"] == "ISOLATED"


# ------------------------------------------------------------------------------ public
def test_public_endpoints(srv: FakeBingx) -> None:
    contracts = requests.get(f"{srv.base_url}{CONTRACTS}", timeout=2).json()["data"]
    by_symbol = {c["symbol"]: c for c in contracts}
    assert {s: c["maxLongLeverage"] for s, c in by_symbol.items()} == {
        "BTC-USDT": 125,
        "ETH-USDT": 100,
        "SOL-USDT": 50,
        "XRP-USDT": 75,
    }
    btc = by_symbol["BTC-USDT"]
    assert btc["apiStateOpen"] == "true" and btc["status"] == 1 and btc["currency"] == "USDT"
    pi = requests.get(
        f"{srv.base_url}/openApi/swap/v2/quote/premiumIndex",
        params={"symbol": "BTC-USDT"},
        timeout=2,
    ).json()["data"]
    assert pi["symbol"] == "BTC-USDT" and "fundingIntervalHours" not in pi
    assert pi["nextFundingTime"] > now_ms() - 1000
    many = requests.get(f"{srv.base_url}/openApi/swap/v2/quote/premiumIndex", timeout=2).json()
    assert isinstance(many["data"], list) and len(many["data"]) == 4
    spot = requests.get(f"{srv.base_url}/openApi/spot/v1/common/symbols", timeout=2).json()
    assert spot["data"] == {"symbols": []}
    resp = requests.get(f"{srv.base_url}/openApi/swap/v9/nothing", timeout=2)
    assert resp.status_code == 404
    assert resp.json() == {"code": 100400, "msg": "this api is not exist"}


def test_contracts_override() -> None:
    custom = [{"symbol": "DOGE-USDT", "maxLongLeverage": 20, "maxShortLeverage": 10}]
    with FakeBingx(contracts=custom) as server:
        data = requests.get(f"{server.base_url}{CONTRACTS}", timeout=2).json()["data"]
        assert [c["symbol"] for c in data] == ["DOGE-USDT"]
        assert data[0]["takerFeeRate"] == 0.0005
        params = {"symbol": "DOGE-USDT", "side": "BOTH", "leverage": 11}
        assert code_of(call(server, "POST", LEV, params)) == 101414
        params["leverage"] = 10
        assert code_of(call(server, "POST", LEV, params)) == 0


def test_refuses_non_loopback_host() -> None:
    with pytest.raises(ValueError):
        FakeBingx(host="0.0.0.0")


# ------------------------------------------------------------------------------ faults
def test_fault_code_then_normal(srv: FakeBingx) -> None:
    msg = (
        "code:100410:The endpoint trigger frequency limit rule is currently in the disabled "
        "period and will be unblocked after 1727193814249"
    )
    srv.inject(Fault(path=LEV, method="POST", code=100410, msg=msg))
    params = {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 4}
    # A GET to the same path does not consume a POST-only fault.
    assert code_of(call(srv, "GET", LEV, {"symbol": "BTC-USDT"})) == 0
    resp = call(srv, "POST", LEV, params)
    assert resp.status_code == 200 and resp.json()["code"] == 100410 and resp.json()["msg"] == msg
    assert srv.account().leverage[("BTC-USDT", "LONG")] == 5  # not applied
    assert code_of(call(srv, "POST", LEV, params)) == 0
    assert [r.code for r in srv.requests if r.method == "POST"] == [100410, 0]


def test_fault_http_status(srv: FakeBingx) -> None:
    srv.inject(Fault(path=TIME, http_status=429))
    srv.inject(Fault(path=TIME, http_status=503, code=100500, msg="busy"))
    resp = requests.get(f"{srv.base_url}{TIME}", timeout=2)
    assert resp.status_code == 429
    resp = requests.get(f"{srv.base_url}{TIME}", timeout=2)
    assert resp.status_code == 503 and resp.json()["code"] == 100500
    assert requests.get(f"{srv.base_url}{TIME}", timeout=2).status_code == 200
    assert [r.http_status for r in srv.requests] == [429, 503, 200]


def test_fault_raw_body(srv: FakeBingx) -> None:
    srv.inject(Fault(path=TIME, http_status=403, body=b"<html>blocked</html>"))
    srv.inject(Fault(path=TIME, body=b'{"code":0,"data":{"serverTi'))
    resp = requests.get(f"{srv.base_url}{TIME}", timeout=2)
    assert resp.status_code == 403 and resp.content == b"<html>blocked</html>"
    resp = requests.get(f"{srv.base_url}{TIME}", timeout=2)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()


def test_fault_delay(srv: FakeBingx) -> None:
    srv.inject(Fault(path=TIME, delay_s=0.1))
    start = time.monotonic()
    resp = requests.get(f"{srv.base_url}{TIME}", timeout=2)
    assert time.monotonic() - start >= 0.1
    assert resp.json()["code"] == 0  # delay alone: then normal handling
    srv.inject(Fault(path=TIME, delay_s=0.5))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{srv.base_url}{TIME}", timeout=0.1)


def test_fault_reset(srv: FakeBingx) -> None:
    srv.inject(Fault(path=LEV, method="POST", reset=True))
    with pytest.raises(requests.exceptions.ConnectionError):
        call(srv, "POST", LEV, {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 9})
    assert srv.account().leverage[("BTC-USDT", "LONG")] == 5
    rec = srv.requests[-1]
    assert rec.path == LEV and rec.http_status is None
    # The server keeps serving after the reset.
    assert (
        code_of(call(srv, "POST", LEV, {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 9})) == 0
    )


def test_fault_times(srv: FakeBingx) -> None:
    srv.inject(Fault(path=TIME, code=109500, msg="system busy", times=2))
    codes = [requests.get(f"{srv.base_url}{TIME}", timeout=2).json()["code"] for _ in range(3)]
    assert codes == [109500, 109500, 0]
    assert srv.count(TIME) == 3


def test_http_control_endpoint(srv: FakeBingx) -> None:
    resp = requests.post(
        f"{srv.base_url}/_sim/fault",
        json={"path": TIME, "http_status": 418, "body": "\xff<html>", "times": 1},
        timeout=2,
    )
    assert resp.status_code == 200
    resp = requests.get(f"{srv.base_url}{TIME}", timeout=2)
    assert resp.status_code == 418 and resp.content == b"\xff<html>"
    ledger = requests.get(f"{srv.base_url}/_sim/requests", timeout=2).json()["data"]
    assert [(r["path"], r["http_status"]) for r in ledger] == [(TIME, 418)]
    bad = requests.post(f"{srv.base_url}/_sim/fault", json={"nope": 1}, timeout=2)
    assert bad.status_code == 400
    requests.post(f"{srv.base_url}/_sim/fault", json={"path": TIME, "code": 1}, timeout=2)
    assert requests.post(f"{srv.base_url}/_sim/reset", timeout=2).status_code == 200
    assert srv.requests == []
    assert requests.get(f"{srv.base_url}{TIME}", timeout=2).json()["code"] == 0  # fault cleared
    assert srv.count("/_sim/requests") == 0 and srv.count("/_sim/reset") == 0


# ------------------------------------------------------------------------------ ledger
def test_ledger(srv: FakeBingx) -> None:
    call(srv, "POST", LEV, {"symbol": "ETH-USDT", "side": "BOTH", "leverage": 3})
    call(srv, "GET", LEV, {"symbol": "ETH-USDT"})
    call(srv, "GET", LEV, {"symbol": "ETH-USDT"}, key="bad")
    assert srv.count(LEV) == 3
    assert srv.count(LEV, "POST") == 1 and srv.count(LEV, method="get") == 2
    rec = srv.requests[0]
    assert rec.method == "POST" and rec.api_key == "test-key"
    assert rec.params["leverage"] == "3" and "signature" not in rec.params
    assert rec.http_status == 200 and rec.code == 0 and abs(rec.t - now_ms()) < 5000
    assert srv.requests[2].code == 100413
    srv.clear_requests()
    assert srv.count(LEV) == 0


# ------------------------------------------------------------------------------ ccxt / CLI
def test_ccxt_load_markets_and_time(srv: FakeBingx) -> None:
    exchange = ccxt_bingx(srv)
    markets = exchange.load_markets()
    btc = markets["BTC/USDT:USDT"]
    assert btc["id"] == "BTC-USDT" and btc["swap"] and btc["linear"] and btc["active"]
    assert btc["limits"]["leverage"]["max"] == 125 or int(btc["info"]["maxLongLeverage"]) == 125
    assert abs(exchange.fetch_time() - now_ms()) < 5000
    # The signed currency call went through the same server and passed auth.
    assert [r.code for r in srv.requests if r.path.endswith("capital/config/getall")] == [0]
    exchange.set_leverage(20, "ETH/USDT:USDT", {"side": "BOTH"})
    assert srv.account().leverage[("ETH-USDT", "SHORT")] == 20


def test_cli_serves_and_stops() -> None:
    env = dict(os.environ)
    plugin_dir = str(Path(__file__).resolve().parents[1] / "plugin")
    env["PYTHONPATH"] = plugin_dir + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "freqtrade_bingx.sim", "--port", "0", "--hedge"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("base_url http://127.0.0.1:")
        base_url = first.split()[1]
        assert "ready" in proc.stdout.readline()
        assert requests.get(f"{base_url}{TIME}", timeout=2).json()["code"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    refused = subprocess.run(
        [sys.executable, "-m", "freqtrade_bingx.sim", "--host", "0.0.0.0"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
    )
    assert refused.returncode != 0 and "refusing" in refused.stderr

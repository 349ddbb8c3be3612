"""The fake BingX as a trading venue, driven through a real ccxt ``bingx`` instance."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
import requests

from freqtrade_bingx.bingx.rate_limits import page_limits
from freqtrade_bingx.sim import FakeBingx
from tests.configs import ccxt_bingx


KEY, SECRET = "test-key", "test-secret"
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
ORDER = "/openApi/swap/v2/trade/order"
ANCHOR = 1_750_000_000_000


def make_ccxt(srv: FakeBingx) -> ccxt.bingx:
    exchange = ccxt_bingx(srv, KEY, SECRET)
    exchange.load_markets()
    return exchange


@pytest.fixture
def srv() -> Iterator[FakeBingx]:
    with FakeBingx(accounts={KEY: SECRET}) as server:
        # ccxt's throttle is off here, and BingX allows 5 order queries a second: the server's
        # limits are tested in test_sim_server.py.
        server.rate_limits.clear()
        yield server


@pytest.fixture
def hedge_srv() -> Iterator[FakeBingx]:
    with FakeBingx(accounts={KEY: SECRET}, hedge_mode=True) as server:
        server.rate_limits.clear()
        yield server


@pytest.fixture
def ex(srv: FakeBingx) -> ccxt.bingx:
    return make_ccxt(srv)


@pytest.fixture
def hex_(hedge_srv: FakeBingx) -> ccxt.bingx:
    return make_ccxt(hedge_srv)


def signed(srv: FakeBingx, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    query += f"&timestamp={int(time.time() * 1000)}"
    sig = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    url = f"{srv.base_url}{path}?{query}&signature={sig}"
    return requests.request(method, url, headers={"X-BX-APIKEY": KEY}, timeout=5).json()


def last_order_params(srv: FakeBingx) -> dict[str, str]:
    return [r for r in srv.requests if r.path == ORDER and r.method == "POST"][-1].params


def usdt_total(ex: ccxt.bingx) -> float:
    return float(ex.fetch_balance()["info"]["data"][0]["balance"])


# ------------------------------------------------------------------------------ prices
def test_price_path_is_deterministic_and_pinnable() -> None:
    with (
        FakeBingx(anchor_ms=ANCHOR, seed=7) as a,
        FakeBingx(anchor_ms=ANCHOR, seed=7) as b,
        FakeBingx(anchor_ms=ANCHOR, seed=8) as c,
    ):
        t = ANCHOR + 3 * 86_400_000 + 12_345
        assert a.market.last("BTC-USDT", ANCHOR) == pytest.approx(60000.0)
        assert a.market.last("BTC-USDT", t) == b.market.last("BTC-USDT", t)
        assert a.market.last("BTC-USDT", t) != c.market.last("BTC-USDT", t)
        a.set_price("ETH-USDT", 2500.0)
        assert a.price("ETH-USDT") == 2500.0
        assert a.mark_price("ETH-USDT") == pytest.approx(2500.0 * 1.0002)
        a.set_mark_price("ETH-USDT", 2490.0)
        assert a.mark_price("ETH-USDT") == 2490.0 and a.price("ETH-USDT") == 2500.0
        a.release_price("ETH-USDT")
        # The walk continues from the pinned value instead of jumping back.
        assert a.price("ETH-USDT") == pytest.approx(2500.0, rel=0.01)
        assert a.mark_price("ETH-USDT") == pytest.approx(a.price("ETH-USDT") * 1.0002)


def test_market_data_through_ccxt(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.set_price("BTC-USDT", 61234.5)
    candles = ex.fetch_ohlcv(BTC, "5m", limit=50)
    assert len(candles) == 50
    assert all(b[0] - a[0] == 300_000 for a, b in itertools.pairwise(candles))
    assert candles[-1][0] <= srv.server_time_ms() < candles[-1][0] + 300_000
    assert candles[-1][4] == 61234.5  # the current candle closes at the pinned price
    assert all(c[2] >= max(c[1], c[4]) and c[3] <= min(c[1], c[4]) for c in candles)
    assert all(c[5] > 0 for c in candles)
    since = (srv.server_time_ms() // 3_600_000 - 30) * 3_600_000
    hourly = ex.fetch_ohlcv(BTC, "1h", since=since, limit=10)
    assert [c[0] for c in hourly] == [since + i * 3_600_000 for i in range(10)]
    assert ex.fetch_ohlcv(BTC, "1h", since=since, limit=10) == hourly  # history is stable
    daily = ex.fetch_ohlcv(BTC, "1d", limit=30)
    assert len(daily) == 30 and daily[-1][0] % 86_400_000 == 0

    marks = ex.fetch_ohlcv(BTC, "1m", limit=5, params={"price": "mark"})
    assert srv.requests[-1].path == "/openApi/swap/v1/market/markPriceKlines"
    assert len(marks) == 5 and marks[-1][0] % 60_000 == 0
    assert marks[-1][4] == pytest.approx(61234.5 * 1.0002, abs=0.1)

    ticker = ex.fetch_ticker(BTC)
    assert ticker["last"] == 61234.5 and ticker["bid"] < 61234.5 < ticker["ask"]
    tickers = ex.fetch_tickers()
    assert {BTC, ETH} <= set(tickers) and tickers[BTC]["last"] == 61234.5

    book = ex.fetch_order_book(BTC, limit=10)
    assert len(book["bids"]) == 10 and len(book["asks"]) == 10
    assert book["bids"][0][0] < 61234.5 < book["asks"][0][0]
    assert book["bids"][0][0] > book["bids"][1][0] and book["asks"][0][0] < book["asks"][1][0]

    rates = ex.fetch_funding_rate_history(BTC, limit=6)
    assert len(rates) == 6
    times = [r["timestamp"] for r in rates]
    assert times == sorted(times) and all(t % (8 * 3_600_000) == 0 for t in times)
    assert all(b - a == 8 * 3_600_000 for a, b in itertools.pairwise(times))
    current = ex.fetch_funding_rate(BTC)
    # BingX's premiumIndex page lists no funding interval (see test_sim_conformance.py).
    assert current["interval"] is None and "fundingIntervalHours" not in current["info"]
    assert current["markPrice"] == pytest.approx(srv.mark_price("BTC-USDT"), abs=0.1)
    assert current["nextFundingTimestamp"] == times[-1] + 8 * 3_600_000

    trades = ex.fetch_trades(BTC, limit=20)
    assert len(trades) == 20 and all(t["price"] > 0 for t in trades)

    balance = ex.fetch_balance()
    assert balance["USDT"]["free"] == 10_000.0


# ------------------------------------------------------------------------------ one-way mode
def test_one_way_market_round_trip(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.set_price("BTC-USDT", 60000.0)
    before = usdt_total(ex)
    created = ex.create_order(BTC, "market", "buy", 0.01)
    sent = last_order_params(srv)
    assert (sent["type"], sent["side"], sent["positionSide"], sent["quantity"]) == (
        "MARKET",
        "BUY",
        "BOTH",
        "0.01",
    )
    assert "reduceOnly" not in sent
    order = ex.fetch_order(created["id"], BTC)
    assert order["status"] == "closed" and order["filled"] == 0.01
    assert order["average"] == pytest.approx(60006.0)  # buy at last + half the spread
    assert order["fee"]["currency"] == "USDT"
    assert order["fee"]["cost"] == pytest.approx(0.01 * 60006.0 * 0.0005, abs=1e-6)
    (pos,) = ex.fetch_positions([BTC])
    assert pos["side"] == "long" and pos["contracts"] == 0.01 and pos["entryPrice"] == 60006.0
    assert pos["marginMode"] == "cross" and pos["leverage"] == 5

    srv.set_price("BTC-USDT", 61000.0)
    closing = ex.create_order(BTC, "market", "sell", 0.01, params={"reduceOnly": True})
    assert last_order_params(srv)["reduceOnly"] == "true"
    closed = ex.fetch_order(closing["id"], BTC)
    assert closed["status"] == "closed" and closed["average"] == pytest.approx(60993.9)
    assert ex.fetch_positions([BTC]) == []
    fills = srv.fills(KEY)
    pnl = (60993.9 - 60006.0) * 0.01
    fees = sum(-float(f["commission"]) for f in fills)
    assert fees == pytest.approx(0.01 * (60006.0 + 60993.9) * 0.0005)
    assert usdt_total(ex) == pytest.approx(before + pnl - fees, abs=1e-3)
    assert float(fills[-1]["realizedPnl"]) == pytest.approx(pnl, abs=1e-3)

    # Reduce-only with nothing to reduce is refused; an over-sized reduce never flips.
    with pytest.raises(ccxt.ExchangeError, match="101290"):
        ex.create_order(BTC, "market", "sell", 0.01, params={"reduceOnly": True})
    ex.create_order(BTC, "market", "buy", 0.01)
    ex.create_order(BTC, "market", "sell", 0.05, params={"reduceOnly": True})
    assert ex.fetch_positions([BTC]) == []
    # Without reduceOnly an opposite order flips the one-way position.
    ex.create_order(BTC, "market", "buy", 0.01)
    ex.create_order(BTC, "market", "sell", 0.03)
    (pos,) = ex.fetch_positions([BTC])
    assert pos["side"] == "short" and pos["contracts"] == pytest.approx(0.02)


def test_one_way_refuses_hedge_fields_and_bad_amounts(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.set_price("BTC-USDT", 60000.0)
    with pytest.raises(ccxt.BadRequest, match="One-way mode"):
        ex.create_order(BTC, "market", "buy", 0.01, params={"positionSide": "LONG"})
    base = {"symbol": "BTC-USDT", "side": "BUY", "positionSide": "BOTH", "type": "MARKET"}
    # quantityPrecision is 4 for BTC-USDT: extra decimals are truncated, as BingX's page says.
    tiny = signed(srv, "POST", ORDER, {**base, "quantity": "0.00009"})
    assert (tiny["code"], tiny["msg"]) == (101400, "The minimum order amount is 0.0001 BTC.")
    assert signed(srv, "POST", ORDER, {**base, "symbol": "DOGE-USDT", "quantity": "1"})[
        "msg"
    ].startswith("DOGE-USDT,symbol not exist")
    with pytest.raises(ccxt.InsufficientFunds, match="Insufficient margin"):
        ex.create_order(BTC, "market", "buy", 1.0)  # 60k notional at 5x > 10k balance
    assert srv.orders(KEY) == []
    truncated = signed(srv, "POST", ORDER, {**base, "quantity": "0.00019"})
    assert truncated["data"]["order"]["quantity"] == 0.0001
    assert [o["origQty"] for o in srv.orders(KEY)] == ["0.0001"]


# ------------------------------------------------------------------------------ hedge mode
def test_hedge_mode_orders(hedge_srv: FakeBingx, hex_: ccxt.bingx) -> None:
    srv, ex = hedge_srv, hex_
    srv.set_price("ETH-USDT", 3000.0)
    ex.create_order(ETH, "market", "buy", 0.5, params={"positionSide": "LONG"})
    assert last_order_params(srv)["positionSide"] == "LONG"
    # ccxt's hedged=True derives positionSide from side (+reduceOnly) and drops reduceOnly.
    ex.create_order(ETH, "market", "sell", 0.3, params={"hedged": True})
    assert last_order_params(srv)["positionSide"] == "SHORT"
    sides = {p["side"]: p["contracts"] for p in ex.fetch_positions([ETH])}
    assert sides == {"long": 0.5, "short": 0.3}

    with pytest.raises(ccxt.BadRequest, match="Hedge mode, the 'PositionSide'"):
        ex.create_order(ETH, "market", "buy", 0.1)  # ccxt sends positionSide=BOTH
    with pytest.raises(ccxt.BadRequest, match="ReduceOnly"):
        ex.create_order(
            ETH, "market", "buy", 0.3, params={"positionSide": "SHORT", "reduceOnly": True}
        )

    srv.set_price("ETH-USDT", 2900.0)
    before = float(ex.fetch_balance()["info"]["data"][0]["balance"])
    ex.create_order(ETH, "market", "buy", 0.3, params={"hedged": True, "reduceOnly": True})
    sent = last_order_params(srv)
    assert sent["positionSide"] == "SHORT" and "reduceOnly" not in sent
    sides = {p["side"]: p["contracts"] for p in ex.fetch_positions([ETH])}
    assert sides == {"long": 0.5}
    fill = srv.fills(KEY)[-1]
    assert float(fill["realizedPnl"]) == pytest.approx((3000 * 0.9999 - 2900 * 1.0001) * 0.3)
    after = float(ex.fetch_balance()["info"]["data"][0]["balance"])
    assert after == pytest.approx(
        before + float(fill["realizedPnl"]) + float(fill["commission"]), abs=1e-3
    )
    # A closing order bigger than the position closes it and never opens the other side.
    ex.create_order(ETH, "market", "sell", 0.9, params={"positionSide": "LONG"})
    assert ex.fetch_positions([ETH]) == []
    with pytest.raises(ccxt.InvalidOrder, match="No position to close"):
        ex.create_order(ETH, "market", "sell", 0.1, params={"positionSide": "LONG"})


# ------------------------------------------------------------------------------ resting orders
def test_stop_market_triggers_on_mark_price(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.set_price("BTC-USDT", 60000.0)
    ex.create_order(BTC, "market", "buy", 0.02)
    # What freqtrade's create_stoploss sends for a market stop in futures mode.
    stop = ex.create_order(
        BTC, "market", "sell", 0.02, params={"stopLossPrice": 59000.0, "reduceOnly": True}
    )
    sent = last_order_params(srv)
    assert (sent["type"], sent["stopPrice"], sent["reduceOnly"], sent["positionSide"]) == (
        "STOP_MARKET",
        "59000",
        "true",
        "BOTH",
    )
    (open_order,) = ex.fetch_open_orders(BTC)
    assert open_order["id"] == stop["id"] and open_order["stopLossPrice"] == 59000.0
    assert open_order["status"] == "open" and open_order["type"] == "market"

    srv.set_price("BTC-USDT", 59010.0)  # mark 59021.8: not yet
    assert ex.fetch_order(stop["id"], BTC)["status"] == "open"
    srv.set_price("BTC-USDT", 58950.0)  # mark 58961.8 <= 59000: triggers, sells at the bid
    done = ex.fetch_order(stop["id"], BTC)
    assert done["status"] == "closed" and done["filled"] == 0.02
    assert done["average"] == pytest.approx(58950.0 * 0.9999, abs=0.1)
    assert ex.fetch_positions([BTC]) == [] and ex.fetch_open_orders(BTC) == []

    # A stop that would trigger at once is refused (freqtrade: InvalidOrderException).
    ex.create_order(BTC, "market", "buy", 0.01)
    with pytest.raises(ccxt.ExchangeError, match="110411"):
        ex.create_order(
            BTC, "market", "sell", 0.01, params={"stopLossPrice": 59500.0, "reduceOnly": True}
        )
    # Stop-limit (freqtrade's limit stoploss): STOP type, rests as a limit once triggered.
    ex.create_order(
        BTC,
        "limit",
        "sell",
        0.01,
        58000.0,
        params={"stopLossPrice": 58500.0, "reduceOnly": True, "workingType": "CONTRACT_PRICE"},
    )
    assert last_order_params(srv)["type"] == "STOP"
    srv.set_price("BTC-USDT", 58400.0)  # last <= 58500 -> limit sell at 58000, marketable
    assert ex.fetch_positions([BTC]) == []
    assert srv.orders(KEY)[-1]["status"] == "FILLED"


def test_limit_order_rests_fills_and_cancels(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.set_price("ETH-USDT", 3000.0)
    buy = ex.create_order(ETH, "limit", "buy", 0.5, 2950.0)
    assert last_order_params(srv)["price"] == "2950"
    assert ex.fetch_order(buy["id"], ETH)["status"] == "open"
    assert [o["id"] for o in ex.fetch_open_orders(ETH)] == [buy["id"]]
    balance = ex.fetch_balance()
    assert balance["info"]["data"][0]["freezedMargin"] == f"{0.5 * 2950 / 5:.4f}"

    srv.set_price("ETH-USDT", 2960.0)
    assert ex.fetch_order(buy["id"], ETH)["status"] == "open"
    srv.set_price("ETH-USDT", 2949.0)
    filled = ex.fetch_order(buy["id"], ETH)
    assert filled["status"] == "closed" and filled["average"] == 2950.0
    assert filled["fee"]["cost"] == pytest.approx(0.5 * 2950 * 0.0002)  # maker

    sell = ex.create_order(ETH, "limit", "sell", 0.5, 3100.0, params={"reduceOnly": True})
    canceled = ex.cancel_order(sell["id"], ETH)
    assert canceled["status"] == "canceled"
    assert ex.fetch_order(sell["id"], ETH)["status"] == "canceled"
    with pytest.raises(ccxt.ExchangeError):
        ex.cancel_order(sell["id"], ETH)
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order("123", ETH)
    # A marketable limit takes liquidity at once, at the better price, taker fee.
    taker = ex.create_order(ETH, "limit", "sell", 0.5, 2900.0, params={"reduceOnly": True})
    done = ex.fetch_order(taker["id"], ETH)
    assert done["status"] == "closed" and done["average"] == pytest.approx(2949 * 0.9999, abs=0.01)

    closed = ex.fetch_closed_orders(ETH)
    assert {o["id"] for o in closed} >= {buy["id"], taker["id"]}
    everything = ex.fetch_orders(ETH)
    assert {o["id"] for o in everything} == {buy["id"], sell["id"], taker["id"]}


def test_background_tick_fills_without_requests(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.set_price("SOL-USDT", 150.0)
    order = ex.create_order("SOL/USDT:USDT", "limit", "buy", 2.0, 149.0)
    # Pin via the engine-free path so only the background tick can fill the order.
    srv.market.pin("SOL-USDT", 148.0, srv.server_time_ms())
    deadline = time.monotonic() + 3
    while srv.orders(KEY)[-1]["status"] != "FILLED" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.orders(KEY)[-1]["status"] == "FILLED"
    assert str(srv.orders(KEY)[-1]["orderId"]) == order["id"]


def test_fee_detection_trades_and_funding(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.set_price("BTC-USDT", 60000.0)
    order = ex.create_order(BTC, "market", "buy", 0.01)
    # freqtrade's get_trades_for_order: fetch_my_trades(pair, since) filtered by order id.
    since = int(time.time() * 1000) - 5000
    trades = [t for t in ex.fetch_my_trades(BTC, since) if t["order"] == order["id"]]
    assert len(trades) == 1
    trade = trades[0]
    assert trade["side"] == "buy" and trade["amount"] == 0.01 and trade["price"] == 60006.0
    assert trade["fee"]["currency"] == "USDT"
    assert trade["fee"]["cost"] == pytest.approx(0.30003, abs=1e-6)
    assert abs(trade["timestamp"] - since) < 10_000

    # Funding: jump the server clock past the next 8h boundary, let the tick settle it.
    now = srv.server_time_ms()
    boundary = (now // (8 * 3_600_000) + 1) * 8 * 3_600_000
    before = srv.account(KEY).balance
    srv.clock_skew_ms = boundary - now + 1000
    srv.tick()
    srv.clock_skew_ms = 0
    (income,) = ex.fetch_funding_history(BTC)
    rate = srv.market.funding_rate("BTC-USDT", boundary)
    expected = -0.01 * srv.market.mark("BTC-USDT", boundary) * rate
    assert income["timestamp"] == boundary
    assert income["amount"] == pytest.approx(expected, abs=1e-4)
    assert srv.account(KEY).balance == pytest.approx(before + expected)


def test_order_rate_limit(srv: FakeBingx) -> None:
    srv.rate_limits.update(page_limits())  # BingX's page: 10 orders a second per account
    bad = {"symbol": "BTC-USDT", "side": "BUY", "type": "MARKET", "quantity": "0.00001"}
    codes = [signed(srv, "POST", ORDER, bad)["code"] for _ in range(12)]
    assert codes.count(100410) >= 1 and codes[:10] == [109400] * 10


def test_http_price_control(srv: FakeBingx) -> None:
    resp = requests.post(
        f"{srv.base_url}/_sim/price", json={"symbol": "XRP-USDT", "price": 0.6}, timeout=2
    ).json()
    assert resp["data"]["price"] == 0.6 and srv.price("XRP-USDT") == 0.6

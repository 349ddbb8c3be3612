"""The fake BingX answers as BingX documents: example replies against what the fake sends.

Each case pairs an example reply for an endpoint with what the fake sends for the same request.
BingX's pages (``../shared/reference/bingx-swap-api/`` beside the checkout) hold one JSON
example (server time); the others are live replies quoted next to the calling method in ccxt
4.5.90's ``bingx.py`` ("ccxt") or in public threads and notes, named at each case. The fake must:

- send every key of the example, with the same JSON type (string, number, bool, object, array);
- send no key that neither the example, nor the endpoint's page, nor another quoted reply lists.

Values differ, of course. The error cases assert BingX's code and text as the fake sends them,
and that the reply is a BingX envelope that ccxt or the plugin's transport reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
import requests

from freqtrade_bingx.bingx.failures import BingxRejected
from freqtrade_bingx.net import account as bingx_account
from freqtrade_bingx.net.transport import BingxTransport
from freqtrade_bingx.sim import FakeBingx, Fault
from freqtrade_bingx.sim.faults import RATE_LIMIT_RECOVERY_S
from tests.configs import ccxt_bingx
from tests.reference import bingx_page


KEY, SECRET = "test-key", "test-secret"
BTC = "BTC/USDT:USDT"
SWAP = "/openApi/swap"
ORDER = f"{SWAP}/v2/trade/order"
DUAL = f"{SWAP}/v1/positionSide/dual"
MARGIN_TYPE = f"{SWAP}/v2/trade/marginType"


# ------------------------------------------------------------------------------ examples
def fields(names: str) -> set[str]:
    return set(names.split())


# Field lists of the pages (Response Parameters), by page file name.
PAGE_FIELDS: dict[str, set[str]] = {
    "get_openapi_swap_v2_quote_contracts": fields(
        "contractId symbol quantityPrecision pricePrecision takerFeeRate makerFeeRate "
        "tradeMinQuantity tradeMinUSDT currency asset status apiStateOpen apiStateClose "
        "ensureTrigger triggerFeeRate brokerState launchTime maintainTime offTime displayName"
    ),
    "get_openapi_swap_v2_quote_premiumindex": fields(
        "symbol lastFundingRate markPrice indexPrice nextFundingTime"
    ),
    "get_openapi_swap_v3_quote_klines": fields("open close high low volume time"),
    "get_openapi_swap_v1_market_markpriceklines": fields("open close high low volume time"),
    "get_openapi_swap_v2_quote_ticker": fields(
        "symbol priceChange priceChangePercent lastPrice lastQty highPrice lowPrice volume "
        "quoteVolume openPrice openTime closeTime bidPrice bidQty askPrice askQty"
    ),
    "get_openapi_swap_v2_quote_depth": fields("T asks bids asksCoin bidsCoin"),
    "get_openapi_swap_v2_quote_trades": fields("time isBuyerMaker price qty quoteQty"),
    "get_openapi_swap_v2_quote_fundingrate": fields("symbol fundingRate fundingTime"),
    "get_openapi_swap_v2_user_positions": fields(
        "symbol positionId positionSide isolated positionAmt availableAmt unrealizedProfit "
        "realisedProfit initialMargin margin avgPrice liquidationPrice leverage positionValue "
        "markPrice riskRate maxMarginReduction pnlRatio updateTime"
    ),
    "get_openapi_swap_v3_user_balance": fields(
        "asset balance equity unrealizedProfit realisedProfit availableMargin usedMargin "
        "freezedMargin shortUid"
    ),
    "get_openapi_swap_v2_user_income": fields(
        "symbol incomeType income asset info time tranId tradeId"
    ),
    "get_openapi_swap_v1_maintmarginratio": fields(
        "tier symbol minPositionVal maxPositionVal maintMarginRatio maintAmount"
    ),
    "get_openapi_swap_v2_trade_margintype": fields("marginType"),
    "get_openapi_swap_v1_positionside_dual": fields("dualSidePosition"),
    "post_openapi_swap_v2_trade_order": fields(
        "symbol side type positionSide reduceOnly orderID workingType clientOrderId "
        "stopGuaranteed status avgPrice executedQty"
    ),
    "get_openapi_swap_v2_trade_order": fields(
        "time symbol side type positionSide reduceOnly cumQuote status stopPrice price origQty "
        "avgPrice executedQty orderId profit commission updateTime workingType clientOrderId "
        "stopGuaranteed triggerOrderId closePosition"
    ),
    "get_openapi_swap_v2_trade_openorders": fields(
        "time symbol side type positionSide reduceOnly cumQuote status stopPrice price origQty "
        "avgPrice executedQty orderId profit commission workingType updateTime postOnly "
        "trailingStopRate trailingStopDistance stopGuaranteed priceRate actPrice closePosition"
    ),
    "get_openapi_swap_v2_trade_allorders": fields(
        "time symbol side type positionSide reduceOnly cumQuote status stopPrice price origQty "
        "avgPrice executedQty orderId profit commission workingType updateTime stopGuaranteed "
        "triggerOrderId isTwap mainOrderId"
    ),
    "get_openapi_swap_v2_trade_allfillorders": fields(
        "filledTm symbol volume price amount commission currency orderId liquidatedPrice "
        "liquidatedMarginRatio workingType filledTime side type positionSide clientOrderID "
        "onlyOnePosition"
    ),
    "delete_openapi_swap_v2_trade_allopenorders": fields("success failed"),
}
PAGE_FIELDS["get_openapi_swap_v1_trade_fullorder"] = PAGE_FIELDS[
    "get_openapi_swap_v2_trade_allorders"
]

# ccxt, fetchMarkets (strings there where the page says int/float; the live reply below has
# the page's types) and a live reply printed in a public BingX API test script.
CONTRACT_QUOTED_FIELDS = fields("size feeRate tradeMinLimit maxLongLeverage maxShortLeverage")
CONTRACT_EXAMPLE = json.loads(
    '{"contractId":"100","symbol":"BTC-USDT","size":"0.0001","quantityPrecision":4,'
    '"pricePrecision":1,"feeRate":0.0005,"makerFeeRate":0.0002,"takerFeeRate":0.0005,'
    '"tradeMinLimit":0,"tradeMinQuantity":0.0001,"tradeMinUSDT":2,"currency":"USDT",'
    '"asset":"BTC","status":1,"apiStateOpen":"true","apiStateClose":"true",'
    '"ensureTrigger":true,"triggerFeeRate":"0.00050000","brokerState":false,'
    '"launchTime":1586275200000,"maintainTime":0,"offTime":0}'
)
# ccxt, fetchFundingRate.
PREMIUM_EXAMPLE = json.loads(
    '{"symbol":"BTC-USDT","markPrice":"16884.5","indexPrice":"16886.9",'
    '"lastFundingRate":"0.0001","nextFundingTime":1672041600000}'
)
# ccxt, parseFundingRate: the fields BingX added later (ccxt PR #30471, 2026-09).
PREMIUM_WITH_INTERVAL_EXAMPLE = {
    **PREMIUM_EXAMPLE,
    "fundingIntervalHours": 8,
    "updateTime": 1672012800000,
}
# ccxt, fetchOHLCV (v3 klines and mark-price klines).
KLINE_EXAMPLE = json.loads(
    '{"open":"19396.8","close":"19394.4","high":"19397.5","low":"19385.7","volume":"110.05",'
    '"time":1666583700000}'
)
MARK_KLINE_EXAMPLE = json.loads(
    '{"open":"42191.7","close":"42189.5","high":"42196.5","low":"42189.5","volume":"0.00",'
    '"openTime":1706508840000,"closeTime":1706508840000}'
)
# ccxt, parseTicker (swap; bid/ask numbers "added 2023-11-10", a "%" in priceChangePercent).
TICKER_EXAMPLE = json.loads(
    '{"symbol":"BTC-USDT","priceChange":"52.5","priceChangePercent":"0.31%",'
    '"lastPrice":"16880.5","lastQty":"2.2238","highPrice":"16897.5","lowPrice":"16726.0",'
    '"volume":"245870.1692","quoteVolume":"4151395117.73","openPrice":"16832.0",'
    '"openTime":1672026667803,"closeTime":1672026648425,"bidPrice":16726.0,"bidQty":0.05,'
    '"askPrice":16726.0,"askQty":0.05}'
)
# ccxt, fetchOrderBook (linear swap).
DEPTH_EXAMPLE = json.loads(
    '{"T":1743240836255,"bids":[["83760.7","7.0861"]],"asks":[["83784.3","8.3531"]],'
    '"bidsCoin":[["83760.7","0.0007"]],"asksCoin":[["83784.3","0.0008"]]}'
)
# ccxt, fetchTrades (swap).
TRADE_EXAMPLE = json.loads(
    '{"time":1672025549368,"isBuyerMaker":true,"price":"16885.0","qty":"3.3002",'
    '"quoteQty":"55723.87"}'
)
# ccxt, fetchFundingRateHistory.
FUNDING_RATE_EXAMPLE = {"symbol": "BTC-USDT", "fundingRate": "0.0001", "fundingTime": 1585684800000}
# ccxt, fetchPositions; currency and onlyOnePosition are not on the page.
POSITION_EXAMPLE = json.loads(
    '{"positionId":"1792480725958881280","symbol":"LTC-USDT","currency":"USDT",'
    '"positionAmt":"0.1","availableAmt":"0.1","positionSide":"LONG","isolated":false,'
    '"avgPrice":"83.53","initialMargin":"1.3922","margin":"0.3528","leverage":6,'
    '"unrealizedProfit":"-1.0393","realisedProfit":"-0.2119","liquidationPrice":0,'
    '"pnlRatio":"-0.7465","maxMarginReduction":"0.0000","riskRate":"0.0008",'
    '"markPrice":"73.14","positionValue":"7.3136","onlyOnePosition":true,'
    '"updateTime":1721088016688}'
)
# ccxt, fetchBalance (v3).
BALANCE_EXAMPLE = json.loads(
    '{"userId":"116***295","asset":"USDT","balance":"194.8212","equity":"196.7431",'
    '"unrealizedProfit":"1.9219","realisedProfit":"-109.2504","availableMargin":"193.7609",'
    '"usedMargin":"1.0602","freezedMargin":"0.0000","shortUid":"12851936"}'
)
# v2 balance (no page in the reference set): a live reply abridged in a public bot's notes.
BALANCE_V2_EXAMPLE = json.loads(
    '{"userId":"...","asset":"USDT","availableMargin":"48.02","equity":"492.87",'
    '"usedMargin":"444.57"}'
)
# ccxt, fetchFundingHistory.
INCOME_EXAMPLE = json.loads(
    '{"symbol":"LDO-USDT","incomeType":"FUNDING_FEE","income":"-0.0292","asset":"USDT",'
    '"info":"Funding Fee","time":1702713615000,"tranId":"170***6*2_3*9_20***97",'
    '"tradeId":"170***6*2_3*9_20***97"}'
)
# ccxt, fetchMarketLeverageTiers.
TIER_EXAMPLE = json.loads(
    '{"tier":"Tier 1","symbol":"ETH-USDT","minPositionVal":"0","maxPositionVal":"900000",'
    '"maintMarginRatio":"0.003300","maintAmount":"0.000000"}'
)
# The create reply (inside data.order): a live reply from BingX's demo host (2026) quoted in a
# public project's verification notes. ccxt's older quote ("with tp and sl") has a subset.
CREATED_EXAMPLE = json.loads(
    '{"orderId":2086368129182601216,"orderID":"2086368129182601216","symbol":"BTC-USDT",'
    '"positionSide":"LONG","side":"BUY","type":"MARKET","price":0,"quantity":0.001,'
    '"quoteOrderQty":0,"stopPrice":0,"workingType":"MARK_PRICE",'
    '"clientOrderID":"a0dc6508-31b5-4ef1-8b5b-93dc1b987ba8","clientOrderId":"",'
    '"timeInForce":"GTC","priceRate":0,"stopLoss":"","takeProfit":"","reduceOnly":false,'
    '"activationPrice":0,"closePosition":"","stopGuaranteed":"","status":"FILLED",'
    '"avgPrice":"64881.5","executedQty":"0.0010"}'
)
# A live query reply quoted in a public bot's API notes (2023-12, BTC-USDT MARKET FILLED).
ORDER_EXAMPLE = json.loads(
    '{"symbol":"BTC-USDT","orderId":1735556416452698112,"side":"BUY","positionSide":"LONG",'
    '"type":"MARKET","origQty":"0.0023","price":"42599.1","executedQty":"0.0023",'
    '"avgPrice":"42599.2","cumQuote":"98","stopPrice":"","profit":"0.0000",'
    '"commission":"-0.048989","status":"FILLED","time":1702623869418,'
    '"updateTime":1702623869486,"clientOrderId":"","leverage":"20X","takeProfit":{"type":"",'
    '"quantity":0,"stopPrice":0,"price":0,"workingType":""},"stopLoss":{"type":"",'
    '"quantity":0,"stopPrice":0,"price":0,"workingType":""},"advanceAttr":0,"positionID":0,'
    '"takeProfitEntrustPrice":0,"stopLossEntrustPrice":0,"orderType":"",'
    '"workingType":"MARK_PRICE"}'
)
# ccxt, cancelAllOrders: a row of data.success.
CANCEL_ALL_ROW_EXAMPLE = json.loads(
    '{"symbol":"LINK-USDT","orderId":1597783835095859200,"side":"BUY","positionSide":"LONG",'
    '"type":"TRIGGER_LIMIT","origQty":"5.0","price":"9.0000","executedQty":"0.0",'
    '"avgPrice":"0.0000","cumQuote":"0","stopPrice":"9.5000","profit":"","commission":"",'
    '"status":"NEW","time":1669776326000,"updateTime":1669776326000}'
)
# ccxt, parseOrder under editOrder: a live cancel reply that also carries these two.
ORDER_QUOTED_FIELDS = {"onlyOnePosition", "reduceOnly"}
# Live openOrders rows (XRP-USDT demo replies of 2026-10-05, kept as test fixtures in a public
# bot's repository) carry triggerOrderId (0 on a waiting stop), as the query and history pages
# document; the openOrders page does not list it.
OPEN_ORDERS_QUOTED_FIELDS = {"triggerOrderId"}
# ccxt, fetchMyTrades (allFillOrders).
FILL_EXAMPLE = json.loads(
    '{"volume":"0.1","price":"106.75","amount":"10.6750","commission":"-0.0053",'
    '"currency":"USDT","orderId":"1676213270274379776","liquidatedPrice":"0.00",'
    '"liquidatedMarginRatio":"0.00","filledTime":"2023-07-04T20:56:01.000+0800"}'
)


# ------------------------------------------------------------------------------ helpers
def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", dict: "object", list: "array", type(None): "null"}[type(value)]


def assert_conforms(sent: dict[str, Any], example: dict[str, Any], allowed: set[str]) -> None:
    """Every example key sent with the example's type; no key outside example and ``allowed``."""
    missing = set(example) - set(sent)
    assert not missing, f"the fake does not send {sorted(missing)}"
    wrong = {
        k: (json_type(sent[k]), json_type(v))
        for k, v in example.items()
        if json_type(sent[k]) != json_type(v)
    }
    assert not wrong, f"types differ (fake, BingX): {wrong}"
    for key, value in example.items():
        if isinstance(value, dict):
            assert_conforms(sent[key], value, set(value))
    unknown = set(sent) - set(example) - allowed
    assert not unknown, f"the fake sends keys nothing documents: {sorted(unknown)}"


def assert_envelope(body: dict[str, Any], code: int | str = 0, extra: set[str] = frozenset()):
    """BingX's envelope: code (0 or "0" on success), msg, data, and documented extras."""
    assert str(body["code"]) == str(code) and isinstance(body["msg"], str)
    assert set(body) <= {"code", "msg", "data"} | set(extra), sorted(body)


def call(
    srv: FakeBingx, method: str, path: str, params: dict[str, Any] | None = None
) -> requests.Response:
    """A request signed with the server's clock (so clock jumps in a test stay valid)."""
    items = [(k, str(v)) for k, v in (params or {}).items()]
    items.append(("timestamp", str(srv.server_time_ms())))
    query = "&".join(f"{k}={v}" for k, v in items)
    sig = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    url = f"{srv.base_url}{path}?{query}&signature={sig}"
    return requests.request(method, url, headers={"X-BX-APIKEY": KEY}, timeout=5)


def data_of(srv: FakeBingx, method: str, path: str, params: dict[str, Any] | None = None):
    body = call(srv, method, path, params).json()
    assert str(body["code"]) == "0", body
    return body["data"]


def ccxt_envelope(error: ccxt.BaseError) -> dict[str, Any]:
    """The BingX reply ccxt quotes in its error message ("bingx {...}")."""
    return json.loads(str(error).split(" ", 1)[1])


@pytest.fixture
def srv() -> Iterator[FakeBingx]:
    with FakeBingx(accounts={KEY: SECRET}, volatility=0.0) as server:
        server.set_price("BTC-USDT", 60000.0)
        yield server


@pytest.fixture
def ex(srv: FakeBingx) -> ccxt.bingx:
    exchange = ccxt_bingx(srv, KEY, SECRET, enableRateLimit=True)
    exchange.load_markets()
    return exchange


def place(srv: FakeBingx, **params: Any) -> dict[str, Any]:
    base = {"symbol": "BTC-USDT", "side": "BUY", "positionSide": "BOTH", "type": "MARKET"}
    return call(srv, "POST", ORDER, {**base, **params}).json()


# ------------------------------------------------------------------------------ shapes
def test_server_time_is_the_pages_example(srv: FakeBingx) -> None:
    # older-export general_information__get_server_time.md, the one JSON example on the pages.
    example = {"code": 0, "msg": "", "data": {"serverTime": 1675319535362}}
    body = requests.get(f"{srv.base_url}{SWAP}/v2/server/time", timeout=5).json()
    assert_envelope(body)
    assert_conforms(body, example, set())


@pytest.mark.parametrize(
    "path, params, pick, example, page, quoted",
    [
        (
            "/v2/quote/contracts",
            {},
            lambda d: d[0],
            CONTRACT_EXAMPLE,
            "get_openapi_swap_v2_quote_contracts",
            CONTRACT_QUOTED_FIELDS,
        ),
        (
            "/v2/quote/premiumIndex",
            {"symbol": "BTC-USDT"},
            lambda d: d,
            PREMIUM_EXAMPLE,
            "get_openapi_swap_v2_quote_premiumindex",
            set(),
        ),
        (
            "/v2/quote/premiumIndex",
            {},
            lambda d: d[0],
            PREMIUM_EXAMPLE,
            "get_openapi_swap_v2_quote_premiumindex",
            set(),
        ),
        (
            "/v3/quote/klines",
            {"symbol": "BTC-USDT", "interval": "1m", "limit": 3},
            lambda d: d[-1],
            KLINE_EXAMPLE,
            "get_openapi_swap_v3_quote_klines",
            set(),
        ),
        (
            "/v1/market/markPriceKlines",
            {"symbol": "BTC-USDT", "interval": "1m", "limit": 3},
            lambda d: d[-1],
            MARK_KLINE_EXAMPLE,
            "get_openapi_swap_v1_market_markpriceklines",
            set(),
        ),
        (
            "/v2/quote/ticker",
            {"symbol": "BTC-USDT"},
            lambda d: d,
            TICKER_EXAMPLE,
            "get_openapi_swap_v2_quote_ticker",
            set(),
        ),
        (
            "/v2/quote/ticker",
            {},
            lambda d: d[0],
            TICKER_EXAMPLE,
            "get_openapi_swap_v2_quote_ticker",
            set(),
        ),
        (
            "/v2/quote/depth",
            {"symbol": "BTC-USDT", "limit": 5},
            lambda d: d,
            DEPTH_EXAMPLE,
            "get_openapi_swap_v2_quote_depth",
            set(),
        ),
        (
            "/v2/quote/trades",
            {"symbol": "BTC-USDT", "limit": 5},
            lambda d: d[0],
            TRADE_EXAMPLE,
            "get_openapi_swap_v2_quote_trades",
            set(),
        ),
        (
            "/v2/quote/fundingRate",
            {"symbol": "BTC-USDT", "limit": 3},
            lambda d: d[0],
            FUNDING_RATE_EXAMPLE,
            "get_openapi_swap_v2_quote_fundingrate",
            set(),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None,
)
def test_public_replies(srv, path, params, pick, example, page, quoted) -> None:
    body = requests.get(f"{srv.base_url}{SWAP}{path}", params=params, timeout=5).json()
    assert_envelope(body)
    assert_conforms(pick(body["data"]), example, PAGE_FIELDS[page] | quoted)


def test_depth_levels_are_string_pairs(srv: FakeBingx) -> None:
    book = requests.get(
        f"{srv.base_url}{SWAP}/v2/quote/depth", params={"symbol": "BTC-USDT"}, timeout=5
    ).json()["data"]
    for side in ("bids", "asks", "bidsCoin", "asksCoin"):
        assert all(
            len(level) == 2 and all(isinstance(x, str) for x in level) for level in book[side]
        )


def test_premium_index_interval_when_modelling_the_newer_reply() -> None:
    with FakeBingx(premium_index_interval=True) as server:
        row = requests.get(
            f"{server.base_url}{SWAP}/v2/quote/premiumIndex",
            params={"symbol": "BTC-USDT"},
            timeout=5,
        ).json()["data"]
    assert_conforms(row, PREMIUM_WITH_INTERVAL_EXAMPLE, set())
    assert row["fundingIntervalHours"] == 8


def test_account_replies(srv: FakeBingx) -> None:
    srv.open_position("BTC-USDT", "LONG", 0.01)
    (position,) = data_of(srv, "GET", f"{SWAP}/v2/user/positions", {"symbol": "BTC-USDT"})
    assert_conforms(position, POSITION_EXAMPLE, PAGE_FIELDS["get_openapi_swap_v2_user_positions"])
    (balance,) = data_of(srv, "GET", f"{SWAP}/v3/user/balance")
    assert_conforms(balance, BALANCE_EXAMPLE, PAGE_FIELDS["get_openapi_swap_v3_user_balance"])
    balance_v2 = data_of(srv, "GET", f"{SWAP}/v2/user/balance")["balance"]
    assert_conforms(balance_v2, BALANCE_V2_EXAMPLE, set(BALANCE_EXAMPLE))
    tiers = call(srv, "GET", f"{SWAP}/v1/maintMarginRatio", {"symbol": "BTC-USDT"}).json()
    assert_envelope(tiers, extra={"timestamp"})  # ccxt's quote carries "timestamp"
    assert_conforms(tiers["data"][0], TIER_EXAMPLE, set())

    # Funding is settled at the next 8h boundary: jump the server clock past it.
    now = srv.server_time_ms()
    srv.clock_skew_ms = (now // 28_800_000 + 1) * 28_800_000 - now + 1000
    srv.tick()
    (income,) = data_of(srv, "GET", f"{SWAP}/v2/user/income", {"symbol": "BTC-USDT"})
    assert_conforms(income, INCOME_EXAMPLE, set())


def test_position_mode_and_margin_type_replies(srv: FakeBingx) -> None:
    # ccxt, fetchPositionMode: {"code": "0", "msg": "", "timeStamp": "1709002057516", ...}
    body = call(srv, "GET", DUAL).json()
    assert_envelope(body, code="0", extra={"timeStamp"})
    assert isinstance(body["timeStamp"], str) and body["data"] == {"dualSidePosition": "false"}
    # The POST page answers the same field.
    body = call(srv, "POST", DUAL, {"dualSidePosition": "true"}).json()
    assert body["data"] == {"dualSidePosition": "true"}
    # ccxt, fetchMarginMode: {"marginType": "CROSSED"}; the POST page: code and msg only.
    assert data_of(srv, "GET", MARGIN_TYPE, {"symbol": "BTC-USDT"}) == {"marginType": "CROSSED"}
    body = call(srv, "POST", MARGIN_TYPE, {"symbol": "BTC-USDT", "marginType": "ISOLATED"})
    assert body.json() == {"code": 0, "msg": ""}


def test_order_replies(srv: FakeBingx) -> None:
    created = place(srv, quantity="0.01")
    assert_envelope(created)
    assert_conforms(
        created["data"]["order"], CREATED_EXAMPLE, PAGE_FIELDS["post_openapi_swap_v2_trade_order"]
    )
    assert created["data"]["order"]["status"] == "FILLED"
    order_id = created["data"]["order"]["orderId"]
    resting = place(
        srv, side="SELL", type="LIMIT", quantity="0.01", price="70000", reduceOnly="true"
    )["data"]["order"]
    assert "avgPrice" not in resting  # the page: "present when type=MARKET"

    row_fields = ORDER_QUOTED_FIELDS | PAGE_FIELDS["get_openapi_swap_v2_trade_order"]
    query = data_of(srv, "GET", ORDER, {"symbol": "BTC-USDT", "orderId": order_id})
    assert_conforms(query["order"], ORDER_EXAMPLE, row_fields)
    (open_row,) = data_of(srv, "GET", f"{SWAP}/v2/trade/openOrders", {"symbol": "BTC-USDT"})[
        "orders"
    ]
    assert_conforms(
        open_row,
        ORDER_EXAMPLE,
        ORDER_QUOTED_FIELDS
        | OPEN_ORDERS_QUOTED_FIELDS
        | PAGE_FIELDS["get_openapi_swap_v2_trade_openorders"],
    )
    canceled = data_of(srv, "DELETE", ORDER, {"symbol": "BTC-USDT", "orderId": resting["orderId"]})[
        "order"
    ]
    assert_conforms(canceled, ORDER_EXAMPLE, row_fields)  # its page lists a subset of these
    for path, page in (
        ("/v2/trade/allOrders", "get_openapi_swap_v2_trade_allorders"),
        ("/v1/trade/fullOrder", "get_openapi_swap_v1_trade_fullorder"),
    ):
        rows = data_of(srv, "GET", f"{SWAP}{path}", {"symbol": "BTC-USDT"})["orders"]
        assert rows
        for row in rows:
            assert_conforms(
                row, ORDER_EXAMPLE, ORDER_QUOTED_FIELDS | PAGE_FIELDS[page] | {"closePosition"}
            )

    fills = call(srv, "GET", f"{SWAP}/v2/trade/allFillOrders", {"symbol": "BTC-USDT"}).json()
    assert_envelope(fills, code="0")  # ccxt's quote: "code": "0"
    (fill,) = fills["data"]["fill_orders"]
    assert_conforms(fill, FILL_EXAMPLE, PAGE_FIELDS["get_openapi_swap_v2_trade_allfillorders"])
    # The page's filledTm format: "2024-10-24T17:13:12Z".
    assert time.strptime(fill["filledTm"], "%Y-%m-%dT%H:%M:%SZ")

    place(srv, side="SELL", type="LIMIT", quantity="0.01", price="70000", reduceOnly="true")
    # ccxt, cancelAllOrders: {"success": [order rows], "failed": null}
    done = data_of(srv, "DELETE", f"{SWAP}/v2/trade/allOpenOrders", {"symbol": "BTC-USDT"})
    assert set(done) == PAGE_FIELDS["delete_openapi_swap_v2_trade_allopenorders"]
    assert done["failed"] is None
    assert_conforms(done["success"][0], CANCEL_ALL_ROW_EXAMPLE, set(ORDER_EXAMPLE) | row_fields)


def test_separate_isolated_margin_is_held_and_reported(srv: FakeBingx) -> None:
    srv.rate_limits[("GET", MARGIN_TYPE)] = None  # BingX's 2/s is not what is tested here
    acct = srv.account(KEY)
    acct.default_margin_type = "SEPARATE_ISOLATED"  # the user switched it on bingx.com
    acct.margin_type["ETH-USDT"] = "CROSSED"
    assert data_of(srv, "GET", MARGIN_TYPE, {"symbol": "BTC-USDT"}) == {
        "marginType": "SEPARATE_ISOLATED"
    }
    assert data_of(srv, "GET", MARGIN_TYPE, {"symbol": "ETH-USDT"}) == {"marginType": "CROSSED"}
    transport = BingxTransport(KEY, SECRET, srv.base_url)
    assert bingx_account.get_margin_type(transport, "SOL-USDT") == {
        "marginType": "SEPARATE_ISOLATED"
    }
    srv.open_position("BTC-USDT", "LONG", 0.01)
    (position,) = data_of(srv, "GET", f"{SWAP}/v2/user/positions", {"symbol": "BTC-USDT"})
    assert position["isolated"] is True
    # The POST page names it among the three types.
    body = call(srv, "POST", MARGIN_TYPE, {"symbol": "SOL-USDT", "marginType": "SEPARATE_ISOLATED"})
    assert body.json()["code"] == 0


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "position_side, side, trigger, stop, code, msg",
    [
        # A long's stop must sit below the price, its take-profit above; a short's the reverse.
        (
            "LONG",
            "sell",
            "stopLossPrice",
            60500.0,
            110411,
            "Stop Loss price should be lower than the current price",
        ),
        (
            "SHORT",
            "buy",
            "stopLossPrice",
            59500.0,
            110412,
            "Stop Loss price should be greater than the current price",
        ),
        (
            "LONG",
            "sell",
            "takeProfitPrice",
            59500.0,
            110413,
            "Take Profit price should be greater than the current price",
        ),
        (
            "SHORT",
            "buy",
            "takeProfitPrice",
            60500.0,
            110414,
            "Take Profit price should be lower than the current price",
        ),
    ],
)
def test_crossed_trigger_price(srv, ex, position_side, side, trigger, stop, code, msg) -> None:
    srv.open_position("BTC-USDT", position_side, 0.01)  # mark price 60012
    with pytest.raises(ccxt.ExchangeError) as raised:
        ex.create_order(BTC, "market", side, 0.01, params={trigger: stop, "reduceOnly": True})
    assert ccxt_envelope(raised.value) == {"code": code, "msg": msg, "data": {}}
    sent = [r for r in srv.requests if r.path == ORDER][-1]
    assert (sent.code, sent.msg) == (code, msg)


def documented_working_types() -> set[str]:
    """The trigger prices the place-order page lists in its workingType row."""
    text = bingx_page("post_openapi_swap_v2_trade_order.md")
    [row] = re.findall(r"^\|\s*workingType\s*\|\s*string\s*\|\s*no\s*\|(.*)$", text, re.MULTILINE)
    listed = row.split("default")[0]  # "... types: MARK_PRICE, CONTRACT_PRICE, default ..."
    return set(re.findall(r"\b[A-Z]+_PRICE\b", listed))


@pytest.mark.parametrize("path", [ORDER, f"{ORDER}/test"])
def test_stop_trigger_prices_are_the_order_pages(srv: FakeBingx, path: str) -> None:
    # BingX's change log, 2025-08-21: "Removed the INDEX_PRICE type from the workingType field
    # in the order API"; the page lists the two left.
    documented = documented_working_types()
    assert documented == {"MARK_PRICE", "CONTRACT_PRICE"}
    srv.open_position("BTC-USDT", "LONG", 0.01)
    stop = {"side": "SELL", "type": "STOP_MARKET", "quantity": "0.01", "stopPrice": "59000"}
    base = {"symbol": "BTC-USDT", "positionSide": "BOTH", "reduceOnly": "true", **stop}
    for working_type in sorted(documented):
        body = call(srv, "POST", path, {**base, "workingType": working_type}).json()
        assert body["code"] == 0, (working_type, body)
    refused = call(srv, "POST", path, {**base, "workingType": "INDEX_PRICE"}).json()
    assert_envelope(refused, code=109400)
    # BingX's generic invalid-parameter text, naming the field (see sim/orders.py).
    assert refused["msg"].startswith("Invalid parameters,workingType: INDEX_PRICE")


def test_an_uncrossed_stop_is_accepted(srv: FakeBingx) -> None:
    srv.open_position("BTC-USDT", "LONG", 0.01)
    body = place(
        srv, side="SELL", type="STOP_MARKET", quantity="0.01", stopPrice="59000", reduceOnly="true"
    )
    assert body["code"] == 0 and body["data"]["order"]["status"] == "NEW"


def test_insufficient_margin(srv: FakeBingx, ex: ccxt.bingx) -> None:
    with pytest.raises(ccxt.InsufficientFunds) as raised:
        ex.create_order(BTC, "market", "buy", 1.0)  # 60k notional at 5x > 10k balance
    assert ccxt_envelope(raised.value) == {"code": 101204, "msg": "Insufficient margin", "data": {}}


def test_position_mode_change_refused_with_an_open_order(srv: FakeBingx) -> None:
    srv.open_position("BTC-USDT", "LONG", 0.01)
    place(srv, side="SELL", type="LIMIT", quantity="0.01", price="70000", reduceOnly="true")
    srv.close_positions()
    assert srv.account(KEY).busy()  # an order is still pending
    transport = BingxTransport(KEY, SECRET, srv.base_url)
    with pytest.raises(BingxRejected) as raised:
        bingx_account.set_position_mode(transport, "true")
    assert (raised.value.code, raised.value.msg) == (109401, "user has pending orders or position")
    assert raised.value.http_status == 200 and srv.account(KEY).hedge_mode is False


def test_unknown_order_cancel_and_query(srv: FakeBingx, ex: ccxt.bingx) -> None:
    with pytest.raises(ccxt.ExchangeError) as raised:
        ex.cancel_order("123", BTC)
    assert ccxt_envelope(raised.value) == {"code": 109414, "msg": "order not exist", "data": {}}
    with pytest.raises(ccxt.OrderNotFound) as raised:
        ex.fetch_order("123", BTC)
    assert ccxt_envelope(raised.value) == {
        "code": 80016,
        "msg": "order does not exist",
        "data": {},
    }


def test_cancel_of_a_filled_order(srv: FakeBingx, ex: ccxt.bingx) -> None:
    order = ex.create_order(BTC, "market", "buy", 0.01)
    with pytest.raises(ccxt.ExchangeError) as raised:
        ex.cancel_order(order["id"], BTC)
    assert ccxt_envelope(raised.value) == {
        "code": 80018,
        "msg": "order is already filled, The order doesn't exist",
        "data": {},
    }


def test_duplicate_client_order_id(srv: FakeBingx, ex: ccxt.bingx) -> None:
    ex.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "Entry-1"})
    # The page: "The system will convert this field to lowercase."
    assert srv.orders(KEY)[-1]["clientOrderId"] == "entry-1"
    with pytest.raises(ccxt.DuplicateOrderId) as raised:
        ex.create_order(BTC, "market", "buy", 0.01, params={"clientOrderId": "ENTRY-1"})
    assert ccxt_envelope(raised.value) == {
        "code": 101481,
        "msg": "clientOrderID cannot be repeated",
        "data": {},
    }


REDUCE_ONLY_MSG = (
    "The Reduce Only order can only decrease the position and not be used to open a position. "
    "Please check your positions and open orders."
)


@pytest.mark.parametrize("position", [None, "LONG"], ids=["no position", "same side"])
def test_reduce_only_that_would_open_or_grow(srv, ex, position) -> None:
    if position:
        srv.open_position("BTC-USDT", position, 0.01)
    with pytest.raises(ccxt.ExchangeError) as raised:
        ex.create_order(BTC, "market", "buy", 0.01, params={"reduceOnly": True})
    assert ccxt_envelope(raised.value) == {"code": 101290, "msg": REDUCE_ONLY_MSG, "data": {}}


@pytest.mark.parametrize("kind", ["STOP", "TRIGGER_MARKET", "LIMIT", "MARKET"])
def test_close_position_only_on_stop_market_and_take_profit_market(srv, kind) -> None:
    srv.open_position("BTC-USDT", "LONG", 0.01)
    body = place(
        srv, side="SELL", type=kind, closePosition="true", stopPrice="59000", price="59000"
    )
    assert body["code"] == 109400 and "closePosition" in body["msg"]
    ok = place(srv, side="SELL", type="STOP_MARKET", closePosition="true", stopPrice="59000")
    assert ok["code"] == 0


def test_plain_rate_limit_with_headers(srv: FakeBingx) -> None:
    srv.rate_limits[("GET", ORDER)] = 2.0
    replies = [call(srv, "GET", ORDER, {"symbol": "BTC-USDT", "orderId": "1"}) for _ in range(3)]
    assert [r.json()["code"] for r in replies] == [80016, 80016, 100410]
    assert replies[2].json() == {"code": 100410, "msg": "rate limited", "data": {}}
    # Remaining requests in the window, and milliseconds until it ends (not an epoch).
    remains = [int(r.headers["X-RateLimit-Requests-Remain"]) for r in replies]
    expires = [int(r.headers["X-RateLimit-Requests-Expire"]) for r in replies]
    assert remains == [1, 0, 0] and all(0 <= e <= 1000 for e in expires)
    # Public market data is limited per IP group, which the fake does not model: no headers.
    ticker = requests.get(f"{srv.base_url}{SWAP}/v2/quote/ticker", timeout=5)
    assert "X-RateLimit-Requests-Remain" not in ticker.headers


def test_rate_limit_recovery_period_as_a_fault(srv: FakeBingx, ex: ccxt.bingx) -> None:
    srv.inject(
        Fault(ORDER, method="POST", code=100410, msg="rate limited", block_s=RATE_LIMIT_RECOVERY_S)
    )
    for _ in range(3):  # refused for the whole recovery period, not just once
        with pytest.raises(ccxt.OperationFailed) as raised:
            ex.create_order(BTC, "market", "buy", 0.01)
        assert ccxt_envelope(raised.value)["msg"] == "rate limited"
    # Other endpoints are not blocked.
    assert call(srv, "GET", f"{SWAP}/v2/user/positions").json()["code"] == 0
    srv.clock_skew_ms = int(RATE_LIMIT_RECOVERY_S * 1000) - 5_000
    assert place(srv, quantity="0.01")["code"] == 100410
    srv.clock_skew_ms = int(RATE_LIMIT_RECOVERY_S * 1000) + 1_000
    assert place(srv, quantity="0.01")["code"] == 0
    codes = [r.code for r in srv.requests if r.path == ORDER]
    assert codes == [100410] * 4 + [0]


def test_rate_limit_recovery_period_on_the_servers_own_limit() -> None:
    query = {"symbol": "BTC-USDT", "orderId": "1"}
    with FakeBingx(
        accounts={KEY: SECRET}, rate_limits={("GET", ORDER): 1.0}, rate_limit_recovery_s=60
    ) as server:
        codes = [call(server, "GET", ORDER, query).json()["code"] for _ in range(2)]
        server.rate_limits[("GET", ORDER)] = None  # the per-second window no longer refuses
        codes.append(call(server, "GET", ORDER, query).json()["code"])
        server.clock_skew_ms = 61_000
        codes.append(call(server, "GET", ORDER, query).json()["code"])
    assert codes == [80016, 100410, 100410, 80016]

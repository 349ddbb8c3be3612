"""BingX's documented error replies, through both of the plugin's paths, to freqtrade's exception.

Each case is a reply BingX documents or that was quoted live, and names where a bot meets it:
- the plugin's own endpoints: the reply comes over loopback to the plugin's transport and
  through the error table (``translate``);
- ccxt's endpoints: the same reply goes through the reply check installed on ccxt's sync and
  async objects, and the ccxt exception it raises through the freqtrade ``Exchange`` method
  that meets it (ccxt's own call is replaced, so only freqtrade's exception ladder runs).

Sources (``../shared/reference/bingx-swap-api`` beside the checkout): [place]
older-export/trading__place_order, [batch] trading__place_multiple_orders, [cancel]
trading__cancel_order, [query] trading__query_order_details, [lev] trading__set_leverage, [margin]
trading__change_margin_type, [mode] trading__query_position_mode, [common]
general_information__common_error_codes, [codes] error_codes.md, [log] change_log.md 2025-10-09
(codes renamed; the text is the log's "meaning"), [ccxt] a reply quoted in ccxt 4.5.90's bingx.py
exception table, [issue 8] quoted in this project's issue 8 (no public page with it found). HTTP
statuses: [common]'s list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt
import pytest
from freqtrade.exceptions import (
    DDosProtection,
    InsufficientFundsError,
    InvalidOrderException,
    OperationalException,
    RetryableOrderError,
    TemporaryError,
)

from freqtrade_bingx.ccxt_errors import CCXT_EXCEPTIONS, ccxt_exception_class
from freqtrade_bingx.errors import RULES, PositionModeMismatch, rule_for, translate
from freqtrade_bingx.sim import FakeBingx, Fault
from freqtrade_bingx.transport import BingxBadResponse, BingxError, BingxRejected, BingxTransport
from tests.conftest import API_KEY, API_SECRET, LEVERAGE_PATH, TIME_PATH, futures_config


PAIR = "BTC/USDT:USDT"
ORDER = "/openApi/swap/v2/trade/order"
BALANCE = "/openApi/swap/v3/user/balance"
POSITIONS = "/openApi/swap/v2/user/positions"
NO_LIMIT = {("POST", LEVERAGE_PATH): 0.0}  # the transport's limiter has tests of its own


@dataclass(frozen=True)
class Case:
    code: int | None  # None: an HTTP error without a BingX envelope
    table: type[Exception]  # the error table's class (the plugin's own endpoints)
    where: str  # the freqtrade Exchange method that meets the reply on ccxt's path
    outcome: type[Exception]  # what that method raises
    msg: str
    http_status: int = 200

    @property
    def name(self) -> str:
        return f"{self.code or self.http_status} {self.where} {self.msg[:40]}"

    def error(self, method: str = "POST", path: str = LEVERAGE_PATH) -> BingxError:
        """The error as the plugin's transport builds it from this reply."""
        if self.code is None:
            return BingxBadResponse(
                "HTTP error", method=method, path=path, http_status=self.http_status
            )
        return BingxRejected(
            "rejected", method=method, path=path, code=self.code, msg=self.msg, http_status=200
        )


T, D, IO = TemporaryError, DDosProtection, InvalidOrderException
IF, NF, OP = InsufficientFundsError, RetryableOrderError, OperationalException
PM = PositionModeMismatch
BUY, EXIT, STOP = "create_order", "exit", "create_stoploss"
CANCEL, FETCH, BALANCE_, POSITIONS_ = (
    "cancel_order",
    "fetch_order",
    "get_balances",
    "fetch_positions",
)

DISABLED = (
    "code:100410:The endpoint trigger frequency limit rule is currently in the disabled period "
    "and will be unblocked after 1727193814249"
)
OVER_20 = (
    "over 20 error code:100202 requests within 480000 ms for this api, please verify and fix it "
    ",can retry after time: 1727193970155"
)
BUSY = "The current system is busy, please try again later"
SAMPLE = "try to run our sample code from the link https://bingx-api.github.io/docs/#/en-us/spot/"
TIMESTAMP_MISMATCH = (
    f"Null timestamp or timestamp mismatch, {SAMPLE}account-api.html#Query%20Assets"
)
SIGNATURE = (
    "Signature verification failed due to signature mismatch,please verify our authentication "
    f"signature and {SAMPLE}account-api.html#Query%20Assets"
)
WHITELIST = (
    "IP does not match IP whitelist , please go to https://bingx.com/en/account/api/ to verify "
    "the ip you have set"
)
PERMISSION = "Permission denied as the API key was created without the permission"
ABNORMAL = "The account is abnormal, please contact customer service."
HEDGE_SIDE = "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT."
ONE_WAY_SIDE = "In the One-way mode, the 'PositionSide' field can only be set to BOTH."
HEDGE_LEVERAGE_SIDE = "In the Hedge mode, the 'Side' field can only be set to LONG or SHORT."
HEDGE_REDUCE_ONLY = (
    "In the Hedge mode, the 'ReduceOnly' field can not be filled.; In the Hedge mode, the "
    "'ReduceOnly' field can not be filled."
)
ASSETS_PROCESSED = (
    "This operation is not allowed as your account assets are being processed. Please try "
    "again later."
)
COPY_TRADING = "You have a copy trading signal in process, please try again later."
REDUCE_ONLY = (
    "The Reduce Only order can only decrease the position and not be used to open a position. "
    "Please check your positions and open orders."
)
SAME_ORDER = "The same order number is only allowed to be submitted once within 1 second."
MIN_NOMINAL = (
    "Please ensure that the minimum nominal value of the order placed must be greater than 2u"
)
PENDING = (
    "Failed. Please check if you have pending orders under the trading pair. If yes, please "
    "cancel them and try again"
)
POST_ONLY = (
    "The Maker (Post Only) order ensures that the user always acts as a maker. If the order "
    "would immediately match with available orders in the market, it will be canceled."
)
KYC = (
    "This order exceeds the current position limit amount of 5000 USDT. Please complete your "
    "KYC to increase the maximum position limit."
)
LIQUIDATION = (
    "The order price should be higher than the estimated liquidation price of the long position"
)
ORDER_COUNT = (
    "The number of your entrusted orders has reached the system limit. If you need to place an "
    "order, please cancel other orders first"
)
SYMBOL = "CATI-USDT,symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts"
ORDERS_DISABLED = (
    "Reminder: Due to the large market fluctuations, in order to reduce the risk of "
    "liquidation, API orders are temporarily disabled."
)

CASES = [
    # --- rate limits: back off -----------------------------------------------------------------
    Case(100410, D, BUY, D, "rate limited"),  # [place]
    Case(100410, D, FETCH, D, DISABLED),  # [place]
    Case(100410, D, CANCEL, D, OVER_20),  # [place]
    Case(100410, D, BALANCE_, D, BUSY),  # [ccxt]
    Case(109429, D, BALANCE_, D, "APIRateLimit"),  # [log]
    Case(100409, D, BUY, D, "APIRateLimit"),  # [log]: the old code of 109429
    Case(None, D, POSITIONS_, D, "Too Many Requests", http_status=429),  # [common]
    Case(None, D, STOP, D, "I'm a teapot", http_status=418),  # [common]
    Case(None, D, BALANCE_, D, "<html>Forbidden</html>", http_status=403),  # [common]
    # --- a person must act: stop with advice -----------------------------------------------------
    Case(100413, OP, BALANCE_, OP, "Incorrect apiKey"),  # [place]
    Case(100413, OP, BUY, OP, "Null apiKey"),  # [codes]
    Case(100001, OP, BUY, OP, SIGNATURE),  # [batch]
    Case(100412, OP, FETCH, OP, "Null signature"),  # [common]
    Case(100419, OP, POSITIONS_, OP, WHITELIST),  # [place]
    Case(100004, OP, BUY, OP, PERMISSION),  # [common]
    Case(100414, OP, CANCEL, OP, ABNORMAL),  # [codes]
    # [mode]; freqtrade never switches the mode through ccxt: any read stands in for it
    Case(109401, OP, BALANCE_, OP, "user has pending orders or position"),
    # The side does not fit the mode: the plugin re-reads the mode, finds it unchanged and
    # stops with advice.
    Case(109400, PM, BUY, OP, HEDGE_SIDE),  # [place]
    Case(109400, PM, STOP, OP, ONE_WAY_SIDE),  # [place]
    Case(109400, PM, EXIT, OP, HEDGE_REDUCE_ONLY),  # [batch]
    Case(109400, PM, BUY, OP, HEDGE_LEVERAGE_SIDE),  # [lev]
    # --- clock: re-read BingX's clock, retry ---------------------------------------------------
    Case(80014, T, BUY, T, "timestamp is invalid"),  # [place]
    Case(100421, T, BALANCE_, T, TIMESTAMP_MISMATCH),  # [place]
    Case(109400, T, FETCH, T, "timestamp is invalid"),  # [log]: 80014 is 109400 now
    # --- BingX says try again ------------------------------------------------------------------
    Case(100202, T, BUY, T, BUSY),  # [codes]
    Case(100421, T, POSITIONS_, T, BUSY),  # [codes]
    Case(80001, T, BUY, T, ASSETS_PROCESSED),  # [place]
    Case(109400, T, BUY, T, COPY_TRADING),  # [place]
    # --- not enough money: skip the entry ------------------------------------------------------
    Case(101204, IF, BUY, IF, "Insufficient margin"),  # [place]
    Case(101204, IF, STOP, IF, ""),  # [ccxt]
    Case(80012, IF, BUY, IF, '{"Code":101253,"Msg":"margin is not enough"}'),  # [ccxt]
    Case(109400, IF, BUY, IF, "margin is not enough"),  # [lev]
    Case(80001, IF, EXIT, IF, "Insufficient margin"),  # [batch]
    Case(100202, IF, BUY, IF, "Insufficient assets"),  # [codes]
    # freqtrade's balance read has no funds outcome: its ladder makes it temporary.
    Case(101204, IF, BALANCE_, T, "Insufficient margin"),  # [place]
    # --- orders that are gone ------------------------------------------------------------------
    # Already filled or cancelled: not temporary; cancel_order_with_result reads the order back.
    Case(80018, IO, CANCEL, IO, "order is already filled, The order doesn't exist"),  # [cancel]
    Case(109422, IO, CANCEL, IO, "APIAccountErrorOrderStatusIllegal"),  # [log]
    # Not found: freqtrade's fetch_order looks again; its cancel_order reads the order back.
    Case(80016, NF, FETCH, NF, "order does not exist"),  # [query]
    Case(109421, NF, FETCH, NF, "order not exist"),  # [log]
    Case(109414, NF, CANCEL, IO, "order not exist"),  # [cancel]
    Case(109414, NF, FETCH, NF, "Request failed"),  # [query]
    Case(80001, NF, CANCEL, IO, "service has some errors, The order doesn't exist"),  # [cancel]
    # --- refused for good: skip the entry, or exit the trade a stop cannot protect -------------
    Case(109400, IO, BUY, IO, "the account has positions or pending orders"),  # [margin]
    Case(110411, IO, STOP, IO, "Stop Loss price should be lower than the current price"),  # [place]
    # [place]
    Case(110412, IO, STOP, IO, "Stop Loss price should be greater than the current price"),
    # [place]
    Case(110413, IO, BUY, IO, "Take Profit price should be greater than the current price"),
    # BingX's newer error list, as copied in public code (a short's take-profit)
    Case(110414, IO, BUY, IO, "Take Profit price should be lower than the current price"),
    Case(80001, IO, STOP, IO, "Stop Loss price should be lower than the current price"),  # [batch]
    # [issue 8]: the 109400 form since BingX folded 80001 into 109400 ([log])
    Case(
        109400,
        IO,
        STOP,
        IO,
        "The stop loss trigger price should be lower than the current price 60012.5",
    ),
    Case(101290, IO, EXIT, IO, REDUCE_ONLY),  # [place]
    Case(101290, IO, EXIT, IO, ""),  # [place]
    Case(101481, IO, BUY, IO, "clientOrderID cannot be repeated"),  # [place]
    Case(109201, IO, CANCEL, IO, SAME_ORDER),  # [cancel]
    Case(101205, IO, EXIT, IO, "No position to close"),  # [place]
    Case(80001, IO, EXIT, IO, "No position to close; parameter quantity is must"),  # [batch]
    Case(80017, IO, EXIT, IO, "position not exist"),  # [place]
    Case(101400, IO, BUY, IO, MIN_NOMINAL),  # [place]
    Case(110425, IO, BUY, IO, MIN_NOMINAL),  # [ccxt]
    Case(101211, IO, BUY, IO, "Order price should be higher than 15.5"),  # [place]
    Case(101212, IO, BUY, IO, PENDING),  # [place]
    Case(101215, IO, BUY, IO, POST_ONLY),  # [place]
    # [common]
    Case(101415, IO, BUY, IO, "This trading pair is suspended from opening new position"),
    Case(101419, IO, BUY, IO, "Your order size has reached the upper limit"),  # [place]
    Case(101424, IO, BUY, IO, KYC),  # [place]
    Case(101460, IO, BUY, IO, LIQUIDATION),  # [common]
    Case(80013, IO, BUY, IO, ORDER_COUNT),  # [common]
    Case(109400, IO, BUY, IO, SYMBOL),  # [place]
    Case(109500, IO, BUY, IO, "Account Service Unavailable, err:symbol not exist"),  # [lev]
    Case(80012, IO, FETCH, IO, "query Service Unavailable, err:contract not exist"),  # [margin]
    Case(100421, IO, BUY, IO, "This pair is currently restricted from API trading"),  # [ccxt]
    Case(80020, IO, BUY, IO, "risk forbidden"),  # [place]
    Case(109403, IO, BUY, IO, "risk forbidden"),  # [log]
    Case(40029, IO, BUY, IO, "risk forbidden"),  # [log]: an old code of 109403
    Case(80012, IO, BUY, IO, "leverage illegal"),  # [common]
    # [common]
    Case(
        101414,
        IO,
        BUY,
        IO,
        "The maximum leverage for the trading pair is 20, please reduce the leverage",
    ),
    # [place]
    Case(101209, IO, BUY, IO, "The maximum position value for this leverage is 170000 USDT."),
    # [batch]
    Case(80001, IO, BUY, IO, "The maximum position value for this leverage is 150000 USDT."),
    Case(100400, IO, BUY, IO, "miss arguments"),  # [common]
    # BingX's generic "Invalid parameter": sent once, not a clock problem.
    Case(80014, IO, BUY, IO, "Invalid parameters,positionSide: This field is required."),  # [place]
    Case(80014, IO, STOP, IO, "parameter quantity is must"),  # [place]
    Case(80014, IO, CANCEL, IO, "Invalid parameters, err:EOF"),  # BINGX.md (a live reply)
    Case(80014, IO, BUY, IO, ORDERS_DISABLED),  # [place]
    Case(109400, IO, FETCH, IO, "parameter invalid"),  # [log]
    # A read freqtrade has no order outcome for: its ladder makes the refusal temporary.
    Case(80014, IO, POSITIONS_, T, "Invalid parameters, err:EOF"),  # BINGX.md
    # --- anything else: retried ----------------------------------------------------------------
    Case(80001, T, CANCEL, T, "Mismatch type"),  # [common]
    Case(109500, T, BUY, T, "SetTradingStrategy network failed"),  # [margin]
    Case(100500, T, BALANCE_, T, "Internal system error"),  # [common]
    Case(None, T, FETCH, T, "Internal Server Error", http_status=500),  # [common]
    Case(None, T, BUY, T, "<html>Gateway Time-out</html>", http_status=504),  # [common]
]

# where -> (method, path) of ccxt's request, and the ccxt call freqtrade's method makes.
ENDPOINTS = {
    BUY: ("POST", ORDER, "create_order"),
    EXIT: ("POST", ORDER, "create_order"),
    STOP: ("POST", ORDER, "create_order"),
    CANCEL: ("DELETE", ORDER, "cancel_order"),
    FETCH: ("GET", ORDER, "fetch_order"),
    BALANCE_: ("GET", BALANCE, "fetch_balance"),
    POSITIONS_: ("GET", POSITIONS, "fetch_positions"),
}

CALLS: dict[str, Callable[[Any], Any]] = {
    "create_order": lambda ex: ex.create_order(
        pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=60000.0, leverage=2.0
    ),
    "exit": lambda ex: ex.create_order(
        pair=PAIR,
        ordertype="market",
        side="sell",
        amount=0.01,
        rate=60000.0,
        leverage=2.0,
        reduceOnly=True,
    ),
    "create_stoploss": lambda ex: ex.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=57000.0,
        order_types={"stoploss": "market"},
        side="sell",
        leverage=2.0,
    ),
    "cancel_order": lambda ex: ex.cancel_order("1234", PAIR),
    "fetch_order": lambda ex: ex.fetch_order("1234", PAIR),
    "get_balances": lambda ex: ex.get_balances(),
    "fetch_positions": lambda ex: ex.fetch_positions(),
}


def _ids(case: Case) -> str:
    return case.name


@pytest.fixture(scope="module")
def server():
    with FakeBingx(accounts={API_KEY: API_SECRET}) as fake:
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
def _clean(server, mocker):
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off, instant
    server.clear_faults()
    server.clear_requests()
    yield
    server.clear_faults()


# ------------------------------------------------------------------ the plugin's own endpoints
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_plugins_own_endpoint(server, case):
    """The reply over loopback, through the plugin's transport and the error table."""
    fault: dict[str, Any] = {"http_status": case.http_status}
    if case.code is None:
        fault["body"] = case.msg.encode()
    else:
        fault["code"], fault["msg"] = case.code, case.msg
    server.inject(Fault(path=LEVERAGE_PATH, method="POST", **fault))
    # A fresh transport: a block or a clock re-read from an earlier case must not leak in.
    transport = BingxTransport(API_KEY, API_SECRET, server.base_url, rate_limits=NO_LIMIT)
    params = {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 2}
    with pytest.raises(BingxError) as raised:
        transport.request("POST", LEVERAGE_PATH, params)
    translated = translate(raised.value, "set leverage")
    assert type(translated) is case.table
    assert server.count(LEVERAGE_PATH, "POST") == 1
    if case.code is not None:
        assert case.msg in str(translated)


# ------------------------------------------------------------------ ccxt's endpoints
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_ccxt_endpoint(exchange, mocker, case):
    """The reply through ccxt's reply check (sync and async), then freqtrade's method."""
    method, path, ccxt_call = ENDPOINTS[case.where]
    url = f"http://127.0.0.1:1{path}?symbol=BTC-USDT&timestamp=1&signature=" + "ab" * 32
    if case.code is None:
        body, response = case.msg, None
    else:
        response = {"code": case.code, "msg": case.msg, "data": {}}
        body = json.dumps(response)
    raised = []
    for api in (exchange._api, exchange._api_async):
        with pytest.raises(ccxt.BaseError) as error:
            api.handle_errors(case.http_status, "", url, method, {}, body, response, {}, None)
        raised.append(error.value)
    sync_error, async_error = raised
    assert type(sync_error) is type(async_error) is ccxt_exception_class(case.table)
    assert str(sync_error) == str(async_error)
    assert "ab" * 32 not in str(sync_error)  # the reply check quotes the path, not the URL

    mocker.patch.object(exchange._api, ccxt_call, side_effect=sync_error)
    with pytest.raises(Exception) as outcome:
        CALLS[case.where](exchange)
    assert type(outcome.value) is case.outcome, outcome.value
    if case.code is not None:
        assert case.msg in str(outcome.value)


def test_a_good_reply_passes(exchange):
    for api in (exchange._api, exchange._api_async):
        response = {"code": "0", "msg": "", "data": {}}
        assert (
            api.handle_errors(200, "OK", "http://x/p", "GET", {}, "{}", response, {}, None) is None
        )


def test_only_a_timestamp_refusal_marks_the_clock_stale(exchange):
    for code, msg, stale in [
        (80014, "Invalid parameters, err:EOF", False),
        (100421, "This pair is currently restricted from API trading", False),
        (80014, "timestamp is invalid", True),
        (100421, TIMESTAMP_MISMATCH, True),
        (109400, "timestamp is invalid", True),
    ]:
        clock = exchange.link.clock
        clock.record(clock.offset_ms)  # a fresh reading: not stale
        response = {"code": code, "msg": msg}
        with pytest.raises(ccxt.BaseError):
            exchange._api.handle_errors(200, "", "http://x/p", "GET", {}, "", response, {}, None)
        assert clock.stale is stale, (code, msg)
    exchange.link.clock.record(exchange.link.clock.offset_ms)


def test_transport_resyncs_only_for_a_timestamp_refusal(server):
    transport = BingxTransport(API_KEY, API_SECRET, server.base_url, rate_limits=NO_LIMIT)
    transport.sync_time()
    for code, msg, resyncs in [
        (80014, "Invalid parameters,positionSide: This field is required.", 0),
        (100421, "This pair is currently restricted from API trading", 0),
        (80014, "timestamp is invalid", 1),
        (109400, "timestamp is invalid", 1),
    ]:
        server.clear_requests()
        server.inject(Fault(path=LEVERAGE_PATH, method="POST", code=code, msg=msg))
        with pytest.raises(BingxRejected):
            transport.request("POST", LEVERAGE_PATH, {"symbol": "BTC-USDT"})
        assert server.count(TIME_PATH, "GET") == resyncs, (code, msg)


# ------------------------------------------------------------------ the table itself
def test_every_rule_meets_a_documented_reply():
    met = {id(rule_for(case.error())) for case in CASES}
    unmet = [rule for rule in RULES if id(rule) not in met]
    assert unmet == []


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_the_rule_a_case_meets_has_its_class(case):
    rule = rule_for(case.error())
    assert (rule.exception if rule else TemporaryError) is case.table


def test_every_table_class_has_a_ccxt_class():
    for rule in RULES:
        assert ccxt_exception_class(rule.exception) in CCXT_EXCEPTIONS.values()
    # A person must act: neither of the two ccxt families freqtrade makes temporary.
    needs_person = ccxt_exception_class(OperationalException)
    assert not issubclass(needs_person, ccxt.ExchangeError | ccxt.OperationFailed)

"""The tests' one statement of what each BingX error reply must become in freqtrade.

``REPLIES`` is written once, by hand, from BingX's pages (it is not read from the plugin's own
table, which is what it checks). Each row names a reply, the freqtrade exception the plugin's
error table must make of it (``means``) and where it is checked:
- every reply: over loopback through the plugin's transport and the error table, one request
  (tests/test_conformance_errors.py);
- ``leverage``: through the plugin's leverage call and freqtrade's @retrier
  (tests/test_error_table.py);
- ``ccxt``: through the reply check on ccxt's objects and the freqtrade ``Exchange`` method
  that meets it (tests/test_conformance_errors.py);
- ``loopback``: over loopback through ccxt and that freqtrade method
  (tests/test_fault_matrix_ccxt.py).
What a freqtrade method raises, and how often it sends, follows from ``means`` through
freqtrade's own ladder and retrier: ``outcome`` and ``sends`` below.

Sources (``../shared/reference/bingx-swap-api`` beside the checkout): [place]
older-export/trading__place_order, [batch] trading__place_multiple_orders, [cancel]
trading__cancel_order, [query] trading__query_order_details, [lev] trading__set_leverage, [margin]
trading__change_margin_type, [mode] trading__query_position_mode, [common]
general_information__common_error_codes, [codes] error_codes.md, [log] change_log.md 2025-10-09
(codes renamed; the text is the log's "meaning"), [ccxt] a reply quoted in ccxt 4.5.90's bingx.py
exception table, [issue 8] quoted in this project's issue 8 (no public page with it found),
[newer] BingX's newer error list as copied in public code, [BINGX.md] a live reply quoted there.
HTTP statuses: [common]'s list. A row without a source is a stand-in text for its code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import freqtrade.exceptions as ft
import pytest

from freqtrade_bingx.bingx.errors import PositionModeMismatch
from freqtrade_bingx.sim import FakeBingx, Fault
from tests.configs import API_KEY, API_SECRET, futures_config


PAIR = "BTC/USDT:USDT"
ORDER = "/openApi/swap/v2/trade/order"
BALANCE = "/openApi/swap/v3/user/balance"
POSITIONS = "/openApi/swap/v2/user/positions"

# The freqtrade Exchange methods a bot meets BingX's replies in.
LEVERAGE = "set_leverage"  # the plugin's own endpoint, through its leverage hook
BUY, EXIT, STOP = "create_order", "exit", "create_stoploss"
CANCEL, FETCH, BALANCES, POSITIONS_ = "cancel_order", "fetch_order", "get_balances", "positions"

# Requests freqtrade's retrier makes of a method when every one fails temporarily: the call
# plus API_RETRY_COUNT (4), or API_FETCH_ORDER_RETRY_COUNT (5) for fetch_order; create_order
# has no retrier and create_stoploss allows no retry, but the plugin places a stop once more
# when BingX shows none after a passing failure (adapter/orders.py, StopOrders.place).
ATTEMPTS = {
    LEVERAGE: 5,
    BUY: 1,
    EXIT: 1,
    STOP: 2,
    CANCEL: 5,
    FETCH: 6,
    BALANCES: 5,
    POSITIONS_: 5,
}

# where -> (method, path) of ccxt's request, and the ccxt call freqtrade's method makes (4.5.90).
ENDPOINTS = {
    BUY: ("POST", ORDER, "create_order"),
    EXIT: ("POST", ORDER, "create_order"),
    STOP: ("POST", ORDER, "create_order"),
    CANCEL: ("DELETE", ORDER, "cancel_order"),
    FETCH: ("GET", ORDER, "fetch_order"),
    BALANCES: ("GET", BALANCE, "fetch_balance"),
    POSITIONS_: ("GET", POSITIONS, "fetch_positions"),
}

CALLS: dict[str, Callable[[Any], Any]] = {
    BUY: lambda ex: ex.create_order(
        pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=60000.0, leverage=2.0
    ),
    EXIT: lambda ex: ex.create_order(
        pair=PAIR,
        ordertype="market",
        side="sell",
        amount=0.01,
        rate=60000.0,
        leverage=2.0,
        reduceOnly=True,
    ),
    STOP: lambda ex: ex.create_stoploss(
        pair=PAIR,
        amount=0.01,
        stop_price=57000.0,
        order_types={"stoploss": "market"},
        side="sell",
        leverage=2.0,
    ),
    CANCEL: lambda ex: ex.cancel_order("1234", PAIR),
    FETCH: lambda ex: ex.fetch_order("1234", PAIR),
    BALANCES: lambda ex: ex.get_balances(),
    POSITIONS_: lambda ex: ex.fetch_positions(),
}

ALL = (BUY, EXIT, STOP, CANCEL, FETCH, BALANCES, POSITIONS_)
ORDERS = (BUY, EXIT, STOP)


@dataclass(frozen=True)
class Reply:
    code: int | None  # None: no BingX envelope (an HTTP error, a broken body, no reply at all)
    msg: str  # BingX's msg; without a code, the body
    means: type[Exception]  # what the plugin's error table must make of it
    source: str = ""
    http_status: int = 200
    leverage: bool = False
    ccxt: tuple[str, ...] = ()
    loopback: tuple[str, ...] = ()
    broken: tuple[tuple[str, Any], ...] = ()  # no reply: the connection fails (Fault fields)
    clock: bool = False  # a timestamp refusal: BingX's clock is read again before the next try

    @property
    def name(self) -> str:
        if self.broken:
            return self.msg
        return f"{self.code or f'http {self.http_status}'} {self.msg[:40]}"

    @property
    def blocks(self) -> bool:
        """100410: BingX blocked the endpoint; the plugin sends nothing there again until the
        unblock time, so a retrying caller's retries are refused before they are sent."""
        return self.code == 100410

    def fault(self, path: str, method: str, times: int = 1) -> Fault:
        """This reply, queued on the local exchange for ``method path``."""
        if self.broken:
            return Fault(path=path, method=method, times=times, **dict(self.broken))
        if self.code is None:
            body = self.msg.encode()
            return Fault(
                path=path, method=method, times=times, http_status=self.http_status, body=body
            )
        return Fault(path=path, method=method, times=times, code=self.code, msg=self.msg)


T, D, IO = ft.TemporaryError, ft.DDosProtection, ft.InvalidOrderException
IF, NF, OP = ft.InsufficientFundsError, ft.RetryableOrderError, ft.OperationalException
PM = PositionModeMismatch


def outcome(reply: Reply, method: str) -> type[Exception]:
    """What freqtrade's ``method`` raises for ``reply``: the error table's class, through
    freqtrade's own exception ladder for the ccxt class the plugin raises on ccxt's path."""
    means = reply.means
    if method == LEVERAGE:
        return means
    if means is PositionModeMismatch:
        # The plugin re-reads the account's mode, finds it unchanged and stops with advice.
        return OP
    if method in (BALANCES, POSITIONS_) and means in (IO, IF, NF):
        return T  # freqtrade's account reads know no order or funds refusal
    if means is NF and method != FETCH:
        return IO  # cancel_order: freqtrade reads the order back
    return means


def sends(reply: Reply, method: str) -> int:
    """Requests that reach BingX: a permanent refusal is sent once; what freqtrade's retrier
    retries (temporary, or an order not found yet) is sent as often as it allows."""
    if reply.blocks or not issubclass(outcome(reply, method), T | NF):
        return 1
    if method == STOP and issubclass(outcome(reply, method), D):
        return 1  # the plugin does not press a rate limit with a second stop
    if method == STOP and reply.code is None:
        # No BingX code in the answer (a gateway's page, a bare status): it may still be
        # handled, so the plugin places no second stop at once (orders.StopOrders.place).
        return 1
    return ATTEMPTS[method]


FUTURE_MS = 4102444800000  # 2100-01-01
# BingX's own wording ([place]); the number is the absolute unblock time.
DISABLED_PERIOD = (
    "code:100410:The endpoint trigger frequency limit rule is currently in the disabled period "
    "and will be unblocked after {}"
)
OVER_20_ERRORS = (
    "over 20 error code:100202 requests within 480000 ms for this api, please verify and fix it "
    ",can retry after time: {}"
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
INVALID_SIDE = "Invalid parameters,positionSide: This field is required."
RESTRICTED = "This pair is currently restricted from API trading"
STOP_BELOW = "Stop Loss price should be lower than the current price"
MAX_LEVERAGE = "The maximum leverage for the trading pair is 20, please reduce the leverage"

TIMESTAMP = "timestamp is invalid"
MARGIN_JSON = '{"Code":101253,"Msg":"margin is not enough"}'
FILLED = "order is already filled, The order doesn't exist"
SL_ABOVE = "Stop Loss price should be greater than the current price"
TP_ABOVE = "Take Profit price should be greater than the current price"
TP_BELOW = "Take Profit price should be lower than the current price"
STOP_TRIGGER = "The stop loss trigger price should be lower than the current price 60012.5"
SUSPENDED = "This trading pair is suspended from opening new position"
MAX_VALUE = "The maximum position value for this leverage is {} USDT."
EOF = "Invalid parameters, err:EOF"

R = Reply
REPLIES = [
    # --- rate limits: back off -----------------------------------------------------------------
    R(100410, "rate limited", D, "[place]", leverage=True, ccxt=(BUY,), loopback=ORDERS),
    R(100410, DISABLED_PERIOD.format(1727193814249), D, "[place]", ccxt=(FETCH,)),
    R(100410, DISABLED_PERIOD.format(FUTURE_MS), D, "[place]", leverage=True),
    R(100410, OVER_20_ERRORS.format(1727193970155), D, "[place]", ccxt=(CANCEL,)),
    R(100410, OVER_20_ERRORS.format(FUTURE_MS), D, "[place]", leverage=True),
    R(100410, BUSY, D, "[ccxt]", ccxt=(BALANCES,)),
    R(109429, "APIRateLimit", D, "[log]", ccxt=(BALANCES,)),
    R(100409, "APIRateLimit", D, "[log]: the old code of 109429", ccxt=(BUY,)),
    R(None, "Too Many Requests", D, "[common]", 429, True, (POSITIONS_,), ALL),
    R(None, "I'm a teapot", D, "[common]", 418, True, (STOP,)),
    R(None, "<html>Forbidden</html>", D, "[common]", 403, True, (BALANCES,)),
    # --- a person must act: stop with advice -----------------------------------------------------
    R(100413, "Incorrect apiKey", OP, "[place]", leverage=True, ccxt=(BALANCES,), loopback=ALL),
    R(100413, "Null apiKey", OP, "[codes]", ccxt=(BUY,)),
    R(100001, SIGNATURE, OP, "[batch]", ccxt=(BUY,)),
    R(100001, "Signature verification failed", OP, leverage=True),
    R(100412, "Null signature", OP, "[common]", ccxt=(FETCH,)),
    R(100419, WHITELIST, OP, "[place]", leverage=True, ccxt=(POSITIONS_,)),
    R(100004, PERMISSION, OP, "[common]", ccxt=(BUY,)),
    R(100414, ABNORMAL, OP, "[codes]", ccxt=(CANCEL,)),
    # freqtrade never switches the mode through ccxt: any read stands in for it
    R(109401, "user has pending orders or position", OP, "[mode]", ccxt=(BALANCES,)),
    # The side does not fit the mode: the plugin re-reads the mode, finds it unchanged and
    # stops with advice.
    R(109400, HEDGE_SIDE, PM, "[place]", ccxt=(BUY,), loopback=(BUY, STOP)),
    R(109400, ONE_WAY_SIDE, PM, "[place]", ccxt=(STOP,)),
    R(109400, HEDGE_REDUCE_ONLY, PM, "[batch]", ccxt=(EXIT,)),
    R(109400, HEDGE_LEVERAGE_SIDE, PM, "[lev]", ccxt=(BUY,)),
    # --- clock: re-read BingX's clock, retry ---------------------------------------------------
    R(80014, TIMESTAMP, T, "[place]", 200, True, (BUY,), (BUY, STOP, FETCH, BALANCES), clock=True),
    R(100421, TIMESTAMP_MISMATCH, T, "[place]", ccxt=(BALANCES,), clock=True),
    R(100421, "Null timestamp or timestamp mismatch", T, leverage=True, clock=True),
    R(109400, TIMESTAMP, T, "[log]: 80014 is 109400 now", ccxt=(FETCH,), clock=True),
    # --- BingX says try again ------------------------------------------------------------------
    R(100202, BUSY, T, "[codes]", ccxt=(BUY,)),
    R(100421, BUSY, T, "[codes]", ccxt=(POSITIONS_,)),
    R(80001, ASSETS_PROCESSED, T, "[place]", ccxt=(BUY,)),
    R(109400, COPY_TRADING, T, "[place]", ccxt=(BUY,)),
    # --- not enough money: skip the entry ------------------------------------------------------
    # freqtrade's balance read has no funds outcome: its ladder makes it temporary.
    R(101204, "Insufficient margin", IF, "[place]", ccxt=(BUY, BALANCES), loopback=ORDERS),
    R(101204, "", IF, "[ccxt]", ccxt=(STOP,)),
    R(80012, MARGIN_JSON, IF, "[ccxt]", ccxt=(BUY,), loopback=(BUY,)),
    R(80012, "margin is not enough", IF, leverage=True),
    R(109400, "margin is not enough", IF, "[lev]", leverage=True, ccxt=(BUY,)),
    R(80001, "Insufficient margin", IF, "[batch]", ccxt=(EXIT,)),
    R(100202, "Insufficient assets", IF, "[codes]", ccxt=(BUY,)),
    R(100202, "Insufficient balance", IF, leverage=True),
    # --- orders that are gone ------------------------------------------------------------------
    # Already filled or cancelled: not temporary; cancel_order_with_result reads the order back.
    R(80018, FILLED, IO, "[cancel]", ccxt=(CANCEL,), loopback=(CANCEL,)),
    R(109422, "APIAccountErrorOrderStatusIllegal", IO, "[log]", ccxt=(CANCEL,)),
    # Not found: freqtrade's fetch_order looks again; its cancel_order reads the order back.
    R(80016, "order does not exist", NF, "[query]", ccxt=(FETCH,), loopback=(FETCH, CANCEL)),
    R(109421, "order not exist", NF, "[log]", ccxt=(FETCH,)),
    R(109414, "order not exist", NF, "[cancel]", ccxt=(CANCEL,), loopback=(CANCEL, FETCH)),
    R(109414, "Request failed", NF, "[query]", ccxt=(FETCH,)),
    R(80001, "service has some errors, The order doesn't exist", NF, "[cancel]", ccxt=(CANCEL,)),
    # --- refused for good: skip the entry, or exit the trade a stop cannot protect -------------
    R(109400, "the account has positions or pending orders", IO, "[margin]", ccxt=(BUY,)),
    # A stop the price has already crossed: freqtrade exits the trade (create_stoploss_order).
    R(110411, STOP_BELOW, IO, "[place]", ccxt=(STOP,), loopback=(STOP, BUY)),
    R(110412, SL_ABOVE, IO, "[place]", ccxt=(STOP,)),
    R(110413, TP_ABOVE, IO, "[place]", ccxt=(BUY,)),
    R(110414, TP_BELOW, IO, "[newer]", ccxt=(BUY,)),
    R(80001, STOP_BELOW, IO, "[batch]", ccxt=(STOP,)),
    # the 109400 form since BingX folded 80001 into 109400 ([log])
    R(109400, STOP_TRIGGER, IO, "[issue 8]", ccxt=(STOP,), loopback=(STOP,)),
    R(101290, REDUCE_ONLY, IO, "[place]", ccxt=(EXIT,), loopback=(EXIT,)),
    R(101290, "", IO, "[place]", ccxt=(EXIT,)),
    R(101481, "clientOrderID cannot be repeated", IO, "[place]", ccxt=(BUY,), loopback=(BUY,)),
    R(109201, SAME_ORDER, IO, "[cancel]", ccxt=(CANCEL,)),
    R(101205, "No position to close", IO, "[place]", ccxt=(EXIT,)),
    R(80001, "No position to close; parameter quantity is must", IO, "[batch]", ccxt=(EXIT,)),
    R(80017, "position not exist", IO, "[place]", ccxt=(EXIT,)),
    R(101400, MIN_NOMINAL, IO, "[place]", ccxt=(BUY,)),
    R(110425, MIN_NOMINAL, IO, "[ccxt]", ccxt=(BUY,)),
    R(101211, "Order price should be higher than 15.5", IO, "[place]", ccxt=(BUY,)),
    R(101212, PENDING, IO, "[place]", ccxt=(BUY,)),
    R(101215, POST_ONLY, IO, "[place]", ccxt=(BUY,)),
    R(101415, SUSPENDED, IO, "[common]", ccxt=(BUY,)),
    R(101419, "Your order size has reached the upper limit", IO, "[place]", ccxt=(BUY,)),
    R(101424, KYC, IO, "[place]", ccxt=(BUY,)),
    R(101460, LIQUIDATION, IO, "[common]", ccxt=(BUY,)),
    R(80013, ORDER_COUNT, IO, "[common]", ccxt=(BUY,)),
    R(109400, SYMBOL, IO, "[place]", leverage=True, ccxt=(BUY,)),
    R(109500, "Account Service Unavailable, err:symbol not exist", IO, "[lev]", ccxt=(BUY,)),
    R(109500, "symbol not exist", IO, leverage=True),
    R(80012, "query Service Unavailable, err:contract not exist", IO, "[margin]", ccxt=(FETCH,)),
    R(100421, RESTRICTED, IO, "[ccxt]", leverage=True, ccxt=(BUY,), loopback=(BUY,)),
    R(80020, "risk forbidden", IO, "[place]", leverage=True, ccxt=(BUY,)),
    R(109403, "risk forbidden", IO, "[log]", ccxt=(BUY,)),
    R(40029, "risk forbidden", IO, "[log]: an old code of 109403", ccxt=(BUY,)),
    R(80012, "leverage illegal", IO, "[common]", ccxt=(BUY,)),
    R(101414, MAX_LEVERAGE, IO, "[common]", ccxt=(BUY,)),
    R(101414, "leverage exceeds the maximum", IO, leverage=True),
    R(101209, MAX_VALUE.format(170000), IO, "[place]", ccxt=(BUY,)),
    R(101209, "the max position value for this leverage is 1000000 USDT", IO, leverage=True),
    R(80001, MAX_VALUE.format(150000), IO, "[batch]", ccxt=(BUY,)),
    R(100400, "miss arguments", IO, "[common]", ccxt=(BUY,)),
    # BingX's generic "Invalid parameter": sent once wherever freqtrade knows an order refusal,
    # not a clock problem; freqtrade's account reads have no such outcome and retry it.
    R(80014, INVALID_SIDE, IO, "[place]", leverage=True, ccxt=(BUY,), loopback=ALL),
    R(80014, "parameter quantity is must", IO, "[place]", ccxt=(STOP,)),
    R(80014, EOF, IO, "[BINGX.md]", leverage=True, ccxt=(CANCEL, POSITIONS_)),
    R(80014, ORDERS_DISABLED, IO, "[place]", ccxt=(BUY,)),
    R(109400, "parameter invalid", IO, "[log]", ccxt=(FETCH,)),
    # --- anything else: retried ----------------------------------------------------------------
    R(80001, "Mismatch type", T, "[common]", ccxt=(CANCEL,)),
    R(109500, "SetTradingStrategy network failed", T, "[margin]", ccxt=(BUY,)),
    R(100500, "Internal system error", T, "[common]", ccxt=(BALANCES,)),
    R(99999, "something new", T, leverage=True, loopback=(BUY, CANCEL, FETCH, POSITIONS_)),
    R(None, "Internal Server Error", T, "[common]", 500, True, (FETCH,)),
    R(None, "", T, "[common]", 503, True),
    R(None, "<html>Service Unavailable</html>", T, "[common]", 503, loopback=ALL),
    R(None, "<html>Gateway Time-out</html>", T, "[common]", 504, True, (BUY,)),
    # --- no reply BingX would send: a broken body or connection; retried -----------------------
    R(None, "<html>maintenance</html>", T, leverage=True),
    R(None, '{"code":0,"msg":"","data":{"leve', T, leverage=True),
    R(None, '{"msg":"ok","data":{}}', T, leverage=True),
    R(
        None,
        "connection reset",
        T,
        leverage=True,
        loopback=(BUY, CANCEL, BALANCES),
        broken=(("reset", True),),
    ),
    R(None, "read timeout", T, leverage=True, broken=(("delay_s", 0.8),)),
]


def reply(code: int | None, msg: str) -> Reply:
    """The table's row for this reply."""
    (row,) = [r for r in REPLIES if (r.code, r.msg) == (code, msg)]
    return row


# Module-scoped fixtures for the modules that drive replies through ccxt: ``server = ...server``.
@pytest.fixture(scope="module")
def server() -> Iterator[FakeBingx]:
    with FakeBingx(accounts={API_KEY: API_SECRET}) as fake:
        # ccxt's throttle is off in these tests (futures_config): the fake's per-account limits
        # would answer 100410 to the retries themselves. Injected faults are the subject here.
        fake.rate_limits.clear()
        fake.set_price("BTC-USDT", 60000.0)
        yield fake


@pytest.fixture(scope="module")
def exchange(server: FakeBingx, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """freqtrade's exchange on ``server`` with markets loaded and BTC's leverage confirmed, so
    an entry sends no leverage request."""
    from freqtrade.resolvers import ExchangeResolver

    config = futures_config(server, datadir=tmp_path_factory.mktemp("data"))
    ex = ExchangeResolver.load_exchange(config, validate=False)
    ex.reload_markets(True, load_leverage_tiers=False)
    server.account().margin_type["BTC-USDT"] = "ISOLATED"
    ex._lev_prep(PAIR, 2.0, "buy")
    yield ex
    ex.close()

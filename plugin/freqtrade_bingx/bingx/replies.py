"""BingX replies checked against what each endpoint documents, before anything reads them.

The transport hands back the envelope's ``data`` once ``code`` is 0; nothing guarantees that
``data`` has the shape the endpoint's page promises. One function per endpoint turns ``data``
into clean, typed values or raises :class:`BingxBadData`, which names the endpoint and, like
every :class:`~freqtrade_bingx.bingx.failures.BingxBadResponse`, becomes freqtrade's
``TemporaryError``. No other Python exception leaves this module.

Shapes come from BingX's endpoint pages (``GET /openApi/swap/v1/positionSide/dual`` and so
on, https://bingx-api.github.io/docs/#/en-us/swapV2/trade-api.html): numbers arrive as JSON
numbers or as strings, booleans as the strings ``"true"`` / ``"false"``.
"""

import math
from dataclasses import dataclass
from typing import Any

from freqtrade_bingx.bingx.endpoints import (
    COMMISSION_RATE,
    FORCE_ORDERS,
    INCOME,
    LEVERAGE,
    MARGIN_TYPE,
    POSITION_MODE,
    POSITIONS,
    PREMIUM_INDEX,
    TIERS,
)
from freqtrade_bingx.bingx.failures import BingxBadResponse
from freqtrade_bingx.bingx.funding import FUNDING_FEE, FundingPayment
from freqtrade_bingx.bingx.position_mode import PositionMode


# BingX writes maintenance rates with six decimals ("0.003300"): anything smaller than one
# step of that is not a rate BingX sends, and 1 / (2 * rate) of a denormal overflows.
MIN_MAINT_MARGIN_RATE = 1e-6
# BingX funds every 1, 2, 4 or 8 hours; a day is the most any perpetual swap has used.
MAX_FUNDING_INTERVAL_HOURS = 24
# A fee rate of 1 % or more either way (a charge or a rebate) is not one BingX sends: its
# standard USDT-M rates are 0.02 % maker and 0.05 % taker, VIP tiers and rebates lower.
MAX_FEE_RATE = 0.01
# A reply is quoted in error messages up to this many characters.
QUOTE_LIMIT = 200


class BingxBadData(BingxBadResponse):
    """BingX said ``code: 0`` but ``data`` is not what the endpoint documents."""


@dataclass(frozen=True)
class Leverage:
    """``GET /openApi/swap/v2/trade/leverage``: the account's leverage per side."""

    long: int
    short: int
    max_long: int | None
    max_short: int | None


@dataclass(frozen=True)
class OpenPosition:
    """One row of ``GET /openApi/swap/v2/user/positions``, as far as the plugin reads it."""

    symbol: str
    position_side: str
    amount: float


@dataclass(frozen=True)
class TierRow:
    """One row of ``GET /openApi/swap/v1/maintMarginRatio``, as numbers."""

    min_position_value: float
    max_position_value: float
    maint_margin_ratio: float
    maint_amount: float


@dataclass(frozen=True)
class CommissionRate:
    """``GET /openApi/swap/v2/user/commissionRate``: the account's fee rates, as fractions."""

    taker: float
    maker: float


# --- one function per endpoint ----------------------------------------------------------


def position_mode(data: Any) -> PositionMode:
    """``GET`` (and ``POST``) ``/openApi/swap/v1/positionSide/dual``: ``dualSidePosition``."""
    check = _Checker("GET", POSITION_MODE, data)
    value = check.field(check.mapping(), "dualSidePosition")
    try:
        return PositionMode.from_dual_side(value)
    except ValueError:
        raise check.bad('dualSidePosition is not "true" or "false"') from None


def commission_rate(data: Any) -> CommissionRate:
    """``GET /openApi/swap/v2/user/commissionRate``: ``takerCommissionRate`` and
    ``makerCommissionRate``, below :data:`MAX_FEE_RATE` either way (a maker rebate is
    negative); a taker rate below zero is refused.

    The page lists the two fields; the live reply ccxt 4.5.90 quotes for linear swaps carries
    them inside ``commission`` (``{"commission": {"takerCommissionRate": 0.0005, ...}}``):
    both shapes are read.
    """
    check = _Checker("GET", COMMISSION_RATE, data)
    row = check.mapping()
    if "commission" in row:
        row = _Checker("GET", COMMISSION_RATE, row["commission"]).mapping()
    rates = CommissionRate(
        taker=check.number(row, "takerCommissionRate", minimum=0.0),
        maker=check.number(row, "makerCommissionRate", minimum=-MAX_FEE_RATE),
    )
    if max(abs(rates.taker), abs(rates.maker)) >= MAX_FEE_RATE:
        raise check.bad(f"a fee rate is {MAX_FEE_RATE:g} or more")
    return rates


def margin_type(data: Any) -> str:
    """``GET /openApi/swap/v2/trade/marginType``: ``marginType``, upper case.

    BingX documents ``ISOLATED``, ``CROSSED`` and ``SEPARATE_ISOLATED``; any other word is
    returned as it is (the caller only compares it with the type it wants).
    """
    check = _Checker("GET", MARGIN_TYPE, data)
    value = check.field(check.mapping(), "marginType")
    if not isinstance(value, str) or not value.replace("_", "").isalpha():
        raise check.bad("marginType is not a word")
    return value.upper()


def leverage(data: Any) -> Leverage:
    """``GET /openApi/swap/v2/trade/leverage``: leverage per side, whole numbers >= 1."""
    check = _Checker("GET", LEVERAGE, data)
    row = check.mapping()
    return Leverage(
        long=check.whole(row, "longLeverage"),
        short=check.whole(row, "shortLeverage"),
        max_long=check.whole(row, "maxLongLeverage", required=False),
        max_short=check.whole(row, "maxShortLeverage", required=False),
    )


def leverage_set(data: Any) -> int:
    """``POST /openApi/swap/v2/trade/leverage``: the ``leverage`` BingX confirmed."""
    check = _Checker("POST", LEVERAGE, data)
    return check.whole(check.mapping(), "leverage")


def positions(data: Any) -> list[OpenPosition]:
    """``GET /openApi/swap/v2/user/positions``: a list of position rows."""
    check = _Checker("GET", POSITIONS, data)
    rows = []
    for row in check.rows(allow_empty=True):
        symbol = check.field(row, "symbol")
        if not isinstance(symbol, str) or not symbol:
            raise check.bad("a position's symbol is not a string")
        side = row.get("positionSide", "")
        if not isinstance(side, str):
            raise check.bad("a position's positionSide is not a string")
        rows.append(OpenPosition(symbol, side, check.number(row, "positionAmt")))
    return rows


def tiers(data: Any, symbol: str) -> list[TierRow]:
    """``GET /openApi/swap/v1/maintMarginRatio``: the maintenance tiers of ``symbol``."""
    check = _Checker("GET", TIERS, data)
    rows = []
    for row in check.rows(allow_empty=False):
        if row.get("symbol", symbol) != symbol:
            raise check.bad(f"a tier names another symbol than {symbol}")
        fields = ("minPositionVal", "maxPositionVal", "maintMarginRatio", "maintAmount")
        tier = TierRow(*(check.number(row, key) for key in fields))
        problem = tier_problem(tier)
        if problem:
            raise check.bad(f"a tier's {problem}")
        rows.append(tier)
    return rows


def tier_problem(tier: TierRow) -> str | None:
    """What makes one maintenance tier unusable, or None: the one check of a tier's numbers,
    for BingX's rows and for the plugin's tier cache (``tiers.py``) alike. A
    ``max_position_value`` of infinity is a tier without an upper bound (the cache's None)."""
    if tier.min_position_value < 0 or tier.maint_amount < 0:
        return "position value or maintenance amount is negative"
    if tier.max_position_value <= tier.min_position_value:
        return "maximum position value is not above its minimum"
    if not MIN_MAINT_MARGIN_RATE <= tier.maint_margin_ratio < 1:
        return f"maintenance margin rate is not from {MIN_MAINT_MARGIN_RATE:g} to below 1"
    return None


def force_orders(data: Any) -> list[dict[str, Any]]:
    """``GET /openApi/swap/v2/trade/forceOrders``: the order rows, ``{"orders": [...]}`` as the
    page's example shows, each with a ``symbol``, an ``orderId`` and a ``time`` (int64s, sent as
    numbers or digits). No ``data`` or no ``orders`` is read as none, as ccxt reads fullOrder's
    reply (``safe_dict(response, 'data', {})``, ``safe_list(data, 'orders', [])``)."""
    if data is None:
        return []
    rows = _Checker("GET", FORCE_ORDERS, data).mapping().get("orders")
    if rows is None:
        return []
    check = _Checker("GET", FORCE_ORDERS, rows)
    for row in check.rows(allow_empty=True):
        if not isinstance(row.get("symbol"), str):
            raise check.bad("an order's symbol is not a string")
        for key in ("orderId", "time"):
            if int64(row.get(key)) is None:
                raise check.bad(f"an order's {key} is not an int64")
    return rows


def income(data: Any, symbol: str) -> list[FundingPayment]:
    """``GET /openApi/swap/v2/user/income``: ``symbol``'s funding payments in one reply.

    Rows of another symbol or income type are left out (the request names both); a row that
    is not shaped as the page documents fails the whole reply. No ``data``: nothing matched.
    """
    if data is None:
        return []
    check = _Checker("GET", INCOME, data)
    payments = []
    for row in check.rows(allow_empty=True):
        if row.get("symbol") != symbol or row.get("incomeType") != FUNDING_FEE:
            continue
        time_ms = finite(row.get("time"))
        amount = finite(row.get("income"))
        if time_ms is None or time_ms != int(time_ms) or time_ms <= 0 or amount is None:
            raise check.bad(
                f"an income row of {symbol} has no valid time or income: "
                f"time={row.get('time')!r} income={row.get('income')!r}"
            )
        payments.append(FundingPayment(_identity(row, int(time_ms), amount), int(time_ms), amount))
    return payments


def _identity(row: dict[str, Any], time_ms: int, amount: float) -> str:
    """A payment's ``tranId`` (a string on the page; a whole number is the same identity, as
    text); without one, its time and amount, the best there is."""
    tran_id = row.get("tranId")
    if isinstance(tran_id, int) and not isinstance(tran_id, bool):
        return str(tran_id)
    if isinstance(tran_id, str) and tran_id:
        return tran_id
    return f"{time_ms}:{amount!r}"


def funding_interval_hours(data: Any, symbol: str) -> int | None:
    """``GET /openApi/swap/v2/quote/premiumIndex?symbol=...``: ``fundingIntervalHours``.

    BingX's page does not list the field, but its replies carry it (ccxt 4.5.90 reads it):
    a missing one is None, a garbled one an error.
    """
    check = _Checker("GET", PREMIUM_INDEX, data)
    row = check.mapping()
    if row.get("symbol", symbol) != symbol:
        raise check.bad(f"the reply names another symbol than {symbol}")
    hours = check.whole(row, "fundingIntervalHours", required=False)
    if hours is not None and hours > MAX_FUNDING_INTERVAL_HOURS:
        raise check.bad(f"fundingIntervalHours is above {MAX_FUNDING_INTERVAL_HOURS}")
    return hours


# The swap market websocket's kline channel (ccxt.pro's watchOHLCV): no REST path.
KLINE_STREAM = "websocket SYMBOL@kline_<interval>"


def kline_push(message: dict[str, Any]) -> list[tuple[int, float, float, float, float, float]]:
    """The candles of one kline push, ``(open ms, open, high, low, close, volume)`` each.

    The live linear-swap frame (ccxt's bingx ``handle_ohlcv`` quotes it; the same fields in
    BingX-API/BingX-swap-api-doc issue #25): ``{"code": 0, "dataType": "BTC-USDT@kline_1m",
    "s": "BTC-USDT", "data": [{"c", "o", "h", "l", "v", "T"}]}``, prices as strings, ``T`` the
    candle's open time in ms. A candle that is not whole, with a low above its high or an open
    or close outside them, or a negative volume, is not a candle.
    """
    check = _Checker("WS", KLINE_STREAM, message.get("data"))
    candles = []
    for row in check.rows(allow_empty=False):
        open_ms = int64(check.field(row, "T"))
        if open_ms is None:
            raise check.bad("T is not a time in ms")
        o, h, lo, c = (check.number(row, key, minimum=0.0) for key in ("o", "h", "l", "c"))
        if not lo <= min(o, c) <= max(o, c) <= h:
            raise check.bad("open or close outside low..high")
        candles.append((open_ms, o, h, lo, c, check.number(row, "v", minimum=0.0)))
    return candles


# --- the checks -------------------------------------------------------------------------


class _Checker:
    """Checks on one reply, each raising :class:`BingxBadData` that quotes the reply."""

    def __init__(self, method: str, path: str, data: Any) -> None:
        self.method = method
        self.path = path
        self.data = data

    def bad(self, problem: str) -> BingxBadData:
        return BingxBadData(
            f"reply data not understood ({problem}): {_quote(self.data)}",
            method=self.method,
            path=self.path,
        )

    def mapping(self) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise self.bad(f"expected an object, got {type(self.data).__name__}")
        return self.data

    def rows(self, *, allow_empty: bool) -> list[dict[str, Any]]:
        if not isinstance(self.data, list):
            raise self.bad(f"expected a list, got {type(self.data).__name__}")
        if not self.data and not allow_empty:
            raise self.bad("the list is empty")
        if not all(isinstance(row, dict) for row in self.data):
            raise self.bad("a row is not an object")
        return self.data

    def field(self, row: dict[str, Any], key: str) -> Any:
        if key not in row:
            raise self.bad(f"{key} is missing")
        return row[key]

    def number(self, row: dict[str, Any], key: str, minimum: float | None = None) -> float:
        value = finite(self.field(row, key))
        if value is None:
            raise self.bad(f"{key} is not a finite number")
        if minimum is not None and value < minimum:
            raise self.bad(f"{key} is below {minimum:g}")
        return value

    def whole(self, row: dict[str, Any], key: str, *, required: bool = True) -> int | None:
        if not required and row.get(key) in (None, ""):
            return None
        value = finite(self.field(row, key))
        if value is None or value != int(value) or value < 1:
            raise self.bad(f"{key} is not a whole number >= 1")
        return int(value)


def int64(value: Any) -> int | None:
    """An int64 of a page (an id, a time in ms) sent as a number or as digits; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return None


def whole(value: Any) -> int | None:
    """A whole JSON number or a string of digits (an envelope's ``code``) as an int; else None."""
    number = finite(value)
    if number is None or number != int(number) or abs(number) > 2**63:
        return None
    return int(value) if isinstance(value, int) else int(number)


def finite(value: Any) -> float | None:
    """A JSON number or a numeric string as a finite float; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > 64:
        return None  # no number BingX sends is this long
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _quote(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "..."

"""BingX USDT-M swap account settings, one function per endpoint.

Each function takes a :class:`~freqtrade_bingx.net.transport.BingxTransport` and returns the
envelope's ``data``; parsing and decisions belong to the caller.
See https://bingx-api.github.io/docs/#/en-us/swapV2/trade-api.html
"""

from typing import Any

from freqtrade_bingx.bingx.endpoints import (
    COMMISSION_RATE,
    LEVERAGE,
    MARGIN_TYPE,
    POSITION_MODE,
    POSITIONS,
    TIERS,
)
from freqtrade_bingx.net.transport import BingxTransport
from freqtrade_bingx.state.shared_settings import Change


def get_leverage(t: BingxTransport, symbol: str) -> dict[str, Any]:
    """The account's long/short leverage and its maximum per side (``maxLongLeverage``...)."""
    return t.request("GET", LEVERAGE, {"symbol": symbol})


def set_leverage(
    t: BingxTransport, symbol: str, side: str, leverage: int, change: Change | None = None
) -> dict[str, Any]:
    params = {"symbol": symbol, "side": side, "leverage": leverage}
    return t.request("POST", LEVERAGE, params, change=change)


def get_position_mode(t: BingxTransport) -> dict[str, Any]:
    return t.request("GET", POSITION_MODE)


def set_position_mode(t: BingxTransport, dual_side: str) -> dict[str, Any]:
    return t.request("POST", POSITION_MODE, {"dualSidePosition": dual_side})


def get_margin_type(t: BingxTransport, symbol: str) -> dict[str, Any]:
    return t.request("GET", MARGIN_TYPE, {"symbol": symbol})


def set_margin_type(t: BingxTransport, symbol: str, margin_type: str) -> Any:
    return t.request("POST", MARGIN_TYPE, {"symbol": symbol, "marginType": margin_type})


def get_positions(t: BingxTransport, symbol: str | None = None) -> list[dict[str, Any]]:
    return t.request("GET", POSITIONS, {"symbol": symbol}) or []


def get_tiers(t: BingxTransport, symbol: str) -> list[dict[str, Any]]:
    return t.request("GET", TIERS, {"symbol": symbol}) or []


def get_commission_rate(t: BingxTransport) -> dict[str, Any]:
    """The account's taker and maker fee rates (one pair for every USDT-M swap)."""
    return t.request("GET", COMMISSION_RATE)

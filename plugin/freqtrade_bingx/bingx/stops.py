"""What happens to a BingX stop order after it is placed, and the price that triggers it.

The lifecycle of a STOP_MARKET / STOP order on USDT-M perpetual swaps, with what each fact rests
on (P = BingX's endpoint pages under ``reference/bingx-swap-api``, L = a live reply quoted in a
public thread, U = not verified without a real account):

1. Placed with ``POST /openApi/swap/v2/trade/order`` (type, ``stopPrice``, ``workingType``
   ``MARK_PRICE`` | ``CONTRACT_PRICE``, "default MARK_PRICE"). P:
   post_openapi_swap_v2_trade_order.md; BingX's change log of 2025-08-21 "Removed the
   INDEX_PRICE type from the workingType field in the order API".
2. While waiting it is an ordinary open order with status ``NEW`` in ``openOrders``, with
   ``triggerOrderId`` 0. L: open STOP_MARKET rows with ``"status":"NEW"`` (a live report of
   2026-07-30 on BTC-USDT, and the live XRP-USDT demo replies of 2026-10-05 kept as test
   fixtures in a public bot's repository).
3. When the trigger price is crossed, the stop does not fill under its own id: BingX places a
   new order that executes it. That order has its own ``orderId``, ``triggerOrderId`` = the
   stop's id, the stop's type, side, positionSide, stopPrice and workingType,
   ``reduceOnly: true`` (set by BingX, also in hedge mode) and ``time`` = the trigger time.
   L: the 2026-07-30 report, ``GET /openApi/swap/v2/trade/order`` with the stop's id
   2082629881359347712 answered ``{"orderId":"2082796043553173508","triggerOrderId":
   "2082629881359347712","type":"STOP_MARKET","status":"FILLED","executedQty":"0.0023",
   "avgPrice":"64733.0","cumQuote":"149","commission":"-0.074443","profit":"-2.4081", ...}``.
   P: the query, history and all-orders pages list ``triggerOrderId`` ("trigger order ID
   associated with this order"), added to both query endpoints on 2024-03-19 (change log).
4. The fill price and quantity are that order's ``avgPrice`` and ``executedQty`` (fee:
   ``commission``, negative = paid). L: as in 3; the report checked them against the trade.
5. A query by the stop's id answers with the executing order (L: 3). It does not always:
   ccxt issue #19563 (2023-10) reports stop orders "not found" by id once closed or
   cancelled, for days at a time, and ccxt's maintainer points to the history endpoint
   (``allOrders`` with ``orderId``). U: whether BingX still does this, and whether a query can
   return the stop itself as a trigger object without its fill (status ``TRIGGERED``, nothing
   executed: no reply of that shape has been seen; the plugin never books a price from it).
6. ``GET /openApi/swap/v2/trade/allOrders`` (finished orders, "the last 7 days by default")
   and ``GET /openApi/swap/v1/trade/fullOrder`` return the executing order with its
   ``triggerOrderId``; their ``orderId`` parameter "Only return subsequent orders". The
   executing order is placed after the stop, so its id is later (L: 3, 2082796... >
   2082629...). P: get_openapi_swap_v2_trade_allorders.md, get_openapi_swap_v1_trade_fullorder.md.
   U: whether the stop itself is also listed after it triggers, and under which status.
7. Order statuses on the pages: NEW, PARTIALLY_FILLED, FILLED, CANCELED (P:
   older-export/trading__query_order_details.md); ``PENDING`` for a resting limit and
   ``CANCELLED`` on a cancel reply (L: the 2026-10-05 demo replies). ccxt maps FILLED to
   ``closed`` and passes unknown statuses through unchanged.
8. When the position is gone, BingX cancels the closing stop orders left on it (L: the
   2026-07-30 report found no orphan order after the stop filled; U otherwise).

So the plugin (``orders.StopOrders.fetch``) reads a stop by its id; when the
answer is the executing order, it returns that order's fill under the stop's id; when the id
is "not found" or the answer is a trigger object without a fill, it looks in ``allOrders``
from the stop's id on for the order whose ``triggerOrderId`` is the stop.

Trigger price. Without ``order_types.stoploss_price_type`` freqtrade sends no ``workingType``
and BingX triggers on the mark price. The plugin sends it explicitly and keeps BingX's mark
price as the default: it is what BingX liquidates on (a stop on the last price can be overtaken
by a liquidation on a mark spike), and a wick on BingX's own book does not fire it. Backtests
fill stops on last-price candles; the two differ little and briefly (the 2026-07-30 report
measured a median of 0 over 1,000 BTC minutes, one fill 34 points away in a fast minute). Set
``stoploss_price_type`` to ``last`` to trigger as the backtest does. freqtrade's third choice,
``index``, has no BingX counterpart since 2025-08-21: the start-up refuses it
(:func:`check_price_type`) rather than have BingX refuse every stop.
"""

import logging
from typing import Any

from freqtrade.enums import PriceType

from freqtrade_bingx.bingx.failures import BingxSettingError


logger = logging.getLogger(__name__)

# BingX's trigger price types (the order page's workingType) by freqtrade's
# order_types.stoploss_price_type. No INDEX_PRICE: BingX removed it on 2025-08-21.
WORKING_TYPES: dict[PriceType, str] = {
    PriceType.LAST: "CONTRACT_PRICE",
    PriceType.MARK: "MARK_PRICE",
}
# When the config names none: BingX's own default, said aloud (see the module docstring).
DEFAULT_PRICE_TYPE = PriceType.MARK
PRICE_NAMES = {PriceType.LAST: "last", PriceType.MARK: "mark"}

# Orders read from allOrders when the stop's fill is looked up (BingX's maximum is 1000).
HISTORY_LIMIT = 1000
# ccxt statuses of a stop that is still waiting or was cancelled: an answer, not a stub.
_WAITING_OR_CANCELLED = ("open", "canceled", "cancelled", "expired", "rejected")


def stop_price_type(order_types: dict[str, Any]) -> tuple[PriceType, bool]:
    """The price that triggers stops, and whether the config chose it (False: the default).

    :raises BingxSettingError: for a trigger price BingX does not offer, naming it.
    """
    configured = order_types.get("stoploss_price_type")
    if configured is None:
        return DEFAULT_PRICE_TYPE, False
    if configured not in WORKING_TYPES:
        offered = " or ".join(repr(PRICE_NAMES[price]) for price in WORKING_TYPES)
        why = (
            "BingX removed INDEX_PRICE from its stop orders' workingType on 2025-08-21 (its API "
            "change log) and refuses it"
            if configured == PriceType.INDEX
            else "BingX has no such trigger price"
        )
        raise BingxSettingError(
            f"order_types.stoploss_price_type must be {offered} for BingX stops on the "
            f"exchange, not {str(configured)!r}: {why}. 'mark' is BingX's default."
        )
    return PriceType(configured), True


def check_price_type(order_types: dict[str, Any]) -> None:
    """Refuse at start-up a stop trigger BingX does not offer, when stops go to the exchange.

    freqtrade's own check refuses it too, but with a ``ConfigurationError``, on which freqtrade
    exits with code 0 (see :mod:`freqtrade_bingx.adapter.settings`).
    """
    if order_types.get("stoploss_on_exchange"):
        stop_price_type(order_types)


def working_type(order_types: dict[str, Any]) -> str:
    """The ``workingType`` every stop is sent with: the configured trigger price, else BingX's
    default said aloud (see the module docstring)."""
    return WORKING_TYPES[stop_price_type(order_types)[0]]


def describe_trigger(order_types: dict[str, Any]) -> str:
    """One line for the start-up log and ``freqtrade-bingx status``."""
    price_type, chosen = stop_price_type(order_types)
    name = PRICE_NAMES[price_type]
    if chosen:
        where = "order_types.stoploss_price_type"
    else:
        where = "default; set order_types.stoploss_price_type to 'last' to match backtests"
    return f"stoploss trigger price: {name} ({WORKING_TYPES[price_type]}, {where})"


def _info(order: dict[str, Any]) -> dict[str, Any]:
    info = order.get("info")
    return info if isinstance(info, dict) else {}


def _id(value: Any) -> str:
    """An order id as text; BingX sends them as numbers or strings, 0 / "" meaning none."""
    if value is None or isinstance(value, bool):
        return ""
    text = str(value).strip()
    return "" if text in ("", "0") else text


def executes(order: dict[str, Any], stop_id: str) -> bool:
    """Is ``order`` the order BingX placed when the stop ``stop_id`` triggered?"""
    return _id(order.get("id")) != stop_id and _id(_info(order).get("triggerOrderId")) == stop_id


def has_fill(order: dict[str, Any]) -> bool:
    filled = order.get("filled")
    return isinstance(filled, int | float) and filled > 0


def is_answer(order: dict[str, Any], stop_id: str) -> bool:
    """Does this reply to a query by ``stop_id`` say where the stop stands?

    Yes for the stop waiting or cancelled, for the stop filled under its own id, and for the
    executing order. No for anything else: a trigger object without a fill (a ``TRIGGERED``
    status ccxt does not know, or closed with nothing filled), or another order.
    """
    if executes(order, stop_id):
        return True
    if _id(order.get("id")) != stop_id:
        return False
    return order.get("status") in _WAITING_OR_CANCELLED or has_fill(order)


def as_stop(order: dict[str, Any], stop_id: str) -> dict[str, Any]:
    """The reply as freqtrade's stoploss order: the stop's id, the executing order's fill.

    freqtrade matches a reply to its stored order by ``id`` and refuses another one
    ("Order-id's don't match"), so the executing order's own id moves to ``id_stop``.
    """
    if not executes(order, stop_id):
        return order
    stop = dict(order)
    stop["id_stop"] = order.get("id")
    stop["id"] = stop_id
    stop["status_stop"] = "triggered"
    return stop


def find_in_history(orders: list[dict[str, Any]], stop_id: str) -> dict[str, Any] | None:
    """The stop's answer in a list of orders: its executing order first, else the stop.

    An executing order with a fill wins over one without (a STOP limit may still rest).
    """
    executing = [o for o in orders if executes(o, stop_id)]
    executing.sort(key=has_fill, reverse=True)
    if executing:
        return executing[0]
    for order in orders:
        if is_answer(order, stop_id):
            return order
    return None

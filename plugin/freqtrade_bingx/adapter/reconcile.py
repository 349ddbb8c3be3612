"""Trades whose position BingX closed: liquidation, ADL, a close on bingx.com.

How freqtrade 2026.9 notices (``freqtradebot.py``): before exiting a trade it checks that the
position is still there (``Wallets.check_exit_amount`` reads ``fetch_positions``). If it is
gone, ``handle_onexchange_order`` asks ``fetch_orders(pair, trade open time)`` for the pair's
orders, adds every order it did not place to the trade and lets it close the trade at that
order's average price, with exit reason ``sold_on_exchange``. freqtrade gives that reason to
every close it did not order: its exchange classes have no hook to name a liquidation (freqtrade
PR #8560: "making no distinction between liquidations and regular, manual orders").
freqtrade re-reads positions after each of its fills and, in futures, at minute 1 and 31 of
every hour, so a quiet bot notices within 30 minutes. With a stoploss on the exchange it first
finds its stop cancelled (BingX cancels it with the position), tries to place it again and to
exit, and BingX answers 101205 "No position to close" to both; the next loop reconciles.

What BingX needs for that to work:

- **The order history's time limit.** ccxt 4.5.90's BingX ``fetch_orders`` reads
  ``GET /openApi/swap/v1/trade/fullOrder`` ("Query data within the last 7 days by default"), and
  the order history answers 80014 "the query range is more than seven days" (older export,
  ``trading__query_order_history.md``). ``fetch_orders_limit_minutes`` makes freqtrade ask in
  7-day steps, and each step is sent with an end time so no request spans more than 7 days.
- **Forced orders.** Liquidation and ADL orders are served by
  ``GET /openApi/swap/v2/trade/forceOrders`` (page ``get_openapi_swap_v2_trade_forceorders.md``:
  autoCloseType "LIQUIDATION": liquidation order, "ADL": ADL liquidation order). BingX does not
  say that the order history lists them too, so :class:`ForceOrders` adds, for the adapter's
  ``_fetch_orders``, the pair's force orders of the same window, parsed by ccxt like any BingX
  order. A close on bingx.com is an ordinary order and already in the history.
- **All of them.** The page answers at most 100 rows ("The default value is 50, the maximum
  value is 100") and does not say which ones when more match: the window is read with
  :mod:`freqtrade_bingx.bingx.paging`, split while a page is full, down to an hour (a hundred force
  orders of one kind for one pair within an hour is not something one account can have), at
  most 16 requests per kind. A reply with rows outside the window asked for, or beyond those
  bounds, is not understood: ``WindowNotRead`` names the endpoint (freqtrade's
  ``handle_onexchange_order`` catches it), the log says so, and force orders are not asked
  for again for a while, as after a refusal: the order history still counts meanwhile.
- **Which it was.** The force orders are asked for per ``autoCloseType``, since a row does not
  say whether it is a liquidation or ADL, and the log names it. The trade's exit reason stays
  freqtrade's ``sold_on_exchange``: no exchange hook sets it, and freqtrade hands strategy
  callbacks such as ``order_filled`` a copy of the trade (``strategy_safe_wrapper``).

Only live futures send anything; dry-run and spot are freqtrade's own.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ccxt
from freqtrade.exceptions import InvalidOrderException, TemporaryError
from freqtrade.exchange.exchange_types import CcxtOrder, FtHas

from freqtrade_bingx.adapter.refusals import RefusalMemory
from freqtrade_bingx.bingx import paging, replies
from freqtrade_bingx.bingx.endpoints import FORCE_ORDERS
from freqtrade_bingx.bingx.errors import translate
from freqtrade_bingx.bingx.failures import BingxError
from freqtrade_bingx.net.ccxt_errors import CREATE_ORDER, ccxt_to_freqtrade


logger = logging.getLogger(__name__)

# The forceOrders page: autoCloseType "LIQUIDATION": liquidation order, "ADL": ADL liquidation
# order. Without it BingX returns both, and nothing in a row says which it is.
AUTO_CLOSE_TYPES = ("LIQUIDATION", "ADL")
# The forceOrders page: limit "The default value is 50, the maximum value is 100".
FORCE_ORDERS_LIMIT = 100
FORCE_ORDERS_PAGING = paging.Paging(
    path=f"GET {FORCE_ORDERS}",
    limit=FORCE_ORDERS_LIMIT,
    min_window_ms=3600 * 1000,  # a full page of one kind for one pair within an hour: no
    max_pages=16,  # split 7 days four times: 31 requests; 16 already read 800 orders at least
)
# freqtrade's _fetch_orders asks from 10 s before ``since``.
FREQTRADE_SINCE_MARGIN_MS = 10_000
# A permanent refusal of forceOrders (key without the trading permission, ...) is held in the
# refusal memory (refusals.py) under this key: BingX blocks an endpoint after more than 20
# failing requests in 8 minutes, and freqtrade looks for the orders on every loop while a
# position is missing.
REFUSED = ("force orders",)

RECONCILE_FT_HAS_FUTURES: FtHas = {
    # 7 days: fullOrder's default window and the order history's limit (see the docstring).
    "fetch_orders_limit_minutes": 7 * 24 * 60,
}


def order_window(since: datetime, params: dict | None, limit_minutes: int | None) -> dict:
    """``params`` with an end time, when ``since`` is further back than one request may
    reach (``limit_minutes``): freqtrade's loop in ``fetch_orders`` sends only a start."""
    params = dict(params or {})
    if limit_minutes is None or "until" in params:
        return params
    # freqtrade's next step starts (minutes - 1) later; ending there leaves no gap, and the
    # span, 10 s more, stays within the limit.
    end = since + timedelta(minutes=limit_minutes - 1)
    if end < datetime.now(end.tzinfo):
        params["until"] = int(end.timestamp() * 1000)
    return params


class ForceOrders:
    """Reads BingX's force orders (liquidation, ADL) of a pair for freqtrade's ``fetch_orders``."""

    def __init__(self, api: Callable[[], Any], refusals: RefusalMemory) -> None:
        """``api``: freqtrade's sync ccxt object; ``refusals``: where a refusal is held (for
        its time, :data:`~freqtrade_bingx.adapter.refusals.REFUSAL_MEMORY_S`)."""
        self._api = api
        self.refusals = refusals
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    def fetch(
        self, pair: str, market: dict, since: datetime, until_ms: int | None = None
    ) -> list[CcxtOrder]:
        """``pair``'s liquidation and ADL orders from ``since`` (to ``until_ms``, else now), as
        ccxt orders (amounts in contracts, as ccxt gives them; freqtrade's ``_fetch_orders``
        converts).

        A refusal only a person can fix is logged and skipped for a while; the orders freqtrade
        found on the order history still count. A window the replies do not let it read raises
        :class:`~freqtrade_bingx.bingx.paging.WindowNotRead`, and is then skipped for as long.
        """
        if not market.get("swap") or self.refusals.refused(REFUSED) is not None:
            return []
        start = int(since.timestamp() * 1000) - FREQTRADE_SINCE_MARGIN_MS
        end = until_ms if until_ms is not None else self._api().milliseconds()
        orders = []
        for kind in AUTO_CLOSE_TYPES:
            fetch = self._page(market["id"], kind)
            try:
                rows = paging.read_window(FORCE_ORDERS_PAGING, fetch, start, end)
            except InvalidOrderException as refused:
                # The plugin's error table marks these permanent (ccxt_errors.py): send no more.
                self._refuse(refused)
                return []
            except paging.WindowNotRead as e:
                # Raised to freqtrade (which logs only "Error finding onexchange order"); not
                # asked again for a while, so the order history counts on the next loops.
                self._refuse(e)
                raise
            found = self._as_orders(pair, market, [row.row for row in rows])
            self._report(pair, kind, found)
            orders += found
        return orders

    def _page(self, symbol: str, kind: str) -> paging.FetchPage["ForceOrderRow"]:
        """One forceOrders request for a window, its rows checked."""

        def fetch(start_ms: int, end_ms: int) -> tuple[int, list[ForceOrderRow]]:
            request = {
                "symbol": symbol,
                "autoCloseType": kind,
                "startTime": start_ms,
                "endTime": end_ms,
                "limit": FORCE_ORDERS_LIMIT,
            }
            # A refusal and missing funds arrive as themselves: both need a person (see fetch).
            with ccxt_to_freqtrade(f"read BingX force orders of {symbol}", CREATE_ORDER):
                reply = self._api().swapV2PrivateGetTradeForceOrders(request)
            data = reply.get("data") if isinstance(reply, dict) else None
            try:
                rows = replies.force_orders(data)
            except BingxError as e:
                raise translate(e, f"read BingX force orders of {symbol}") from e
            return len(rows), [ForceOrderRow.of(row) for row in rows]

        return fetch

    def _as_orders(self, pair: str, market: dict, rows: list[dict[str, Any]]) -> list[CcxtOrder]:
        """Force order rows as ccxt orders of ``pair``."""
        try:
            orders = [self._api().parse_order(row, market) for row in rows]
        except (ccxt.BaseError, TypeError, ValueError, ArithmeticError) as e:
            raise TemporaryError(f"BingX {FORCE_ORDERS}: an order ccxt cannot read: {e}") from e
        return [order for order in orders if order.get("symbol") == pair]

    def _refuse(self, error: Exception) -> None:
        self.refusals.remember(REFUSED, error)
        logger.warning(
            "BingX did not list force orders (%s): liquidations are not looked up for %d "
            "minutes. A trade BingX liquidated then closes only once its order shows in the "
            "order history.",
            error,
            self.refusals.for_s // 60,
        )

    def _report(self, pair: str, kind: str, orders: list[CcxtOrder]) -> None:
        """One warning per force order, the first time it is seen."""
        for order in orders:
            with self._lock:
                if order["id"] in self._reported:
                    continue
                self._reported.add(order["id"])
            logger.warning(
                "BingX closed %s itself (%s): force order %s, %s %s at %s. freqtrade records "
                "the trade as closed on the exchange at that price.",
                pair,
                kind,
                order["id"],
                order.get("side"),
                order.get("filled"),
                order.get("average"),
            )


@dataclass(frozen=True)
class ForceOrderRow:
    """One row of a forceOrders reply, as :mod:`freqtrade_bingx.bingx.paging` walks it."""

    key: str  # orderId
    time_ms: int  # "order time"
    update_ms: int | None  # "update time"
    row: dict[str, Any]

    @classmethod
    def of(cls, row: dict[str, Any]) -> "ForceOrderRow":
        """A row :func:`~freqtrade_bingx.bingx.replies.force_orders` checked."""
        time_ms = replies.int64(row["time"]) or 0
        return cls(str(row["orderId"]), time_ms, replies.int64(row.get("updateTime")), row)

    def in_window(self, start_ms: int, end_ms: int) -> bool:
        # The page does not say which of its two times the window applies to: either counts.
        return any(
            t is not None and start_ms <= t <= end_ms for t in (self.time_ms, self.update_ms)
        )

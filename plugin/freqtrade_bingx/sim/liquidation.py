"""Positions the fake exchange closes on its own: liquidation, ADL, a close on bingx.com.

- **Liquidation**: when the mark price reaches a position's ``liquidationPrice`` (the estimate
  ``orders.py`` shows in ``/user/positions``), the whole position is closed at that price and a
  force order is recorded. It is served by ``GET /openApi/swap/v2/trade/forceOrders`` (page
  ``get_openapi_swap_v2_trade_forceorders.md``), not by the order history (``allOrders``,
  ``fullOrder``): whether BingX lists forced orders there too is not documented, so the fake
  takes the case that needs the force-order endpoint.
- **ADL** (auto-deleveraging): the same record with ``autoCloseType`` ``ADL``, closed at the
  mark price; the page names both kinds ("LIQUIDATION": liquidation order, "ADL": ADL
  liquidation order).
- **A close on bingx.com**: a MARKET order that closes the position, recorded in the order
  history like any other order (it is one, placed by the user outside the bot).

Standard library only, like the rest of the fake.
"""

import logging
from typing import Any

from .accounts import Account
from .errors import ApiError
from .market import DAY_MS
from .orders import SimOrder, TradingEngine


logger = logging.getLogger(__name__)

LIQUIDATION = "LIQUIDATION"
ADL = "ADL"
AUTO_CLOSE_TYPES = (LIQUIDATION, ADL)
# forceOrders page: "The default value is 50, the maximum value is 100"; the older export
# (trading__user_s_force_orders.md): 'If "startTime" is not passed, only the data within
# 7 days before "endTime" will be returned'.
FORCE_ORDERS_DEFAULT_LIMIT = 50
FORCE_ORDERS_MAX_LIMIT = 100
FORCE_ORDERS_DEFAULT_SPAN_MS = 7 * DAY_MS
# Fields of an order row that the forceOrders page and its example reply do not show.
_NOT_ON_FORCE_ORDERS_PAGE = ("onlyOnePosition", "timeInForce", "closePosition", "triggerOrderId")


class LiquidationEngine:
    """Force-closes positions of a :class:`TradingEngine`'s accounts and keeps the records."""

    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine
        # Per API key: (autoCloseType, order), oldest first. Guarded by the account's lock.
        self._force: dict[str, list[tuple[str, SimOrder]]] = {}

    # ----------------------------------------------------------------- automatic
    def check(self, acct: Account) -> list[SimOrder]:
        """Liquidate every position of ``acct`` whose mark price reached its liquidation price."""
        now = self.engine._now()
        done = []
        with acct.lock:
            for pos in list(acct.positions):
                self.engine.refresh_position(acct, pos, now)
                liq = float(pos["liquidationPrice"] or 0)
                mark = self.engine.prices.mark(pos["symbol"], now)
                long = pos["positionSide"] == "LONG"
                if liq > 0 and (mark <= liq if long else mark >= liq):
                    done.append(self.force_close(acct, pos, LIQUIDATION, liq, now))
        return done

    # ----------------------------------------------------------------- by hand
    def liquidate(
        self,
        acct: Account,
        symbol: str,
        side: str | None = None,
        kind: str = LIQUIDATION,
        price: float | None = None,
    ) -> SimOrder:
        """Force-close ``symbol``'s position (``side`` LONG / SHORT in hedge mode) now.

        ``price`` defaults to the liquidation price for a liquidation and the mark for ADL.
        """
        if kind not in AUTO_CLOSE_TYPES:
            raise ValueError(f"kind must be one of {AUTO_CLOSE_TYPES}")
        now = self.engine._now()
        with acct.lock:
            pos = self._find(acct, symbol, side)
            self.engine.refresh_position(acct, pos, now)
            if price is None:
                liq = float(pos["liquidationPrice"] or 0)
                mark = self.engine.prices.mark(symbol, now)
                price = liq if kind == LIQUIDATION and liq > 0 else mark
            return self.force_close(acct, pos, kind, float(price), now)

    def close_by_user(self, acct: Account, symbol: str, side: str | None = None) -> SimOrder:
        """A MARKET order closing the position, as a click on bingx.com places it."""
        now = self.engine._now()
        with acct.lock:
            pos = self._find(acct, symbol, side)
            order = self._closing_order(acct, pos, "MARKET", 0.0, now)
            acct.orders[order.order_id] = order
            self.engine._evaluate(acct, order, now, arriving=True)
            return order

    # ----------------------------------------------------------------- records
    def force_close(
        self, acct: Account, pos: dict[str, Any], kind: str, price: float, now: int
    ) -> SimOrder:
        """Close all of ``pos`` at ``price``; record and return the force order."""
        contract = self.engine._contract(pos["symbol"])
        price = round(price, int(contract["pricePrecision"]))
        qty = float(pos["positionAmt"])
        # The forceOrders page's example is a LIMIT order, filled, with price and avgPrice
        # close together: {"type": "LIMIT", "price": "8.096", "avgPrice": "8.095", ...}.
        order = self._closing_order(acct, pos, "LIMIT", price, now)
        fee = qty * price * float(contract["takerFeeRate"])
        pnl = self.engine._reduce(acct, pos, qty, price, now)
        acct.balance += pnl - fee
        acct.realised_pnl += pnl
        order.executed_qty = qty
        order.cum_quote = qty * price
        order.commission = -fee
        order.profit = pnl
        order.status = "FILLED"
        self._force.setdefault(acct.api_key, []).append((kind, order))
        logger.info(
            "FakeBingx: %s of %s %s, %s at %s", kind, pos["symbol"], pos["positionSide"], qty, price
        )
        return order

    def force_orders(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        """``GET /openApi/swap/v2/trade/forceOrders``: ``{"orders": [...]}``, as the page's
        example reply shows."""
        symbol = None
        if params.get("symbol"):
            symbol = self.engine._contract(params["symbol"])["symbol"]
        kind = params.get("autoCloseType") or None
        end = _int(params.get("endTime"))
        start = _int(params.get("startTime"))
        if start is None:
            start = (end if end is not None else self.engine._now()) - FORCE_ORDERS_DEFAULT_SPAN_MS
        limit = _int(params.get("limit")) or FORCE_ORDERS_DEFAULT_LIMIT
        limit = min(max(limit, 1), FORCE_ORDERS_MAX_LIMIT)
        with acct.lock:
            rows = [
                self._show(order)
                for order_kind, order in self._force.get(acct.api_key, [])
                if (kind is None or order_kind == kind)
                and (symbol is None or order.symbol == symbol)
                and order.time >= start
                and (end is None or order.time <= end)
            ]
        return {"orders": rows[-limit:]}

    def records(self, acct: Account) -> list[tuple[str, dict[str, Any]]]:
        """Every force order of ``acct`` as ``(autoCloseType, row)``, oldest first."""
        with acct.lock:
            return [(kind, self._show(order)) for kind, order in self._force.get(acct.api_key, [])]

    # ----------------------------------------------------------------- helpers
    def _show(self, order: SimOrder) -> dict[str, Any]:
        row = self.engine._show(order)
        for name in _NOT_ON_FORCE_ORDERS_PAGE:
            row.pop(name, None)
        return row

    def _find(self, acct: Account, symbol: str, side: str | None) -> dict[str, Any]:
        for pos in acct.positions:
            if pos["symbol"] == symbol and (side is None or pos["positionSide"] == side.upper()):
                return pos
        # BingX's "no position" answer to a close (older export, trading__test_order.md).
        raise ApiError(101205, "No position to close")

    def _closing_order(
        self, acct: Account, pos: dict[str, Any], order_type: str, price: float, now: int
    ) -> SimOrder:
        long = pos["positionSide"] == "LONG"
        contract = self.engine._contract(pos["symbol"])
        return SimOrder(
            order_id=next(self.engine._order_ids),
            symbol=pos["symbol"],
            side="SELL" if long else "BUY",
            # One-way accounts trade with BOTH and a reduce-only close; hedge accounts name
            # the side (Place order page: positionSide, reduceOnly).
            position_side=pos["positionSide"] if acct.hedge_mode else "BOTH",
            type=order_type,
            quantity=float(pos["positionAmt"]),
            price=price,
            stop_price=0.0,
            working_type="MARK_PRICE",
            reduce_only=not acct.hedge_mode,
            close_position=False,
            time_in_force="GTC",
            client_order_id="",
            leverage=int(pos.get("leverage") or 1),
            time=now,
            update_time=now,
            price_precision=int(contract["pricePrecision"]),
        )


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None

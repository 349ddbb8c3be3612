"""Orders, fills, positions, balance and funding of the fake BingX server (stdlib only).

All state of an account (orders, fills, positions, balance) lives on its ``Account`` and is
changed only under ``Account.lock``. Matching is evaluated lazily on every API request and on
a background tick, always against the current prices of the ``PriceModel``:

* MARKET orders fill at once at the last price plus (buy) or minus (sell) half the spread,
  taker fee. A LIMIT order that is marketable on arrival fills the same way (capped at its
  limit price); otherwise it rests and fills at its limit price, maker fee, once the last price
  trades through it (buy: last <= limit; sell: last >= limit).
* Conditional orders trigger on the price selected by ``workingType`` (MARK_PRICE by default,
  CONTRACT_PRICE = last; INDEX_PRICE is refused, as BingX does since 2025-08-21):
  STOP_MARKET/STOP when it moves against the position (sell: price <= stopPrice, buy: price >=
  stopPrice), TAKE_PROFIT_MARKET/TAKE_PROFIT the other way, TRIGGER_MARKET/TRIGGER_LIMIT when it
  reaches stopPrice from where it was at creation.
  *_MARKET then fill as market orders; STOP/TAKE_PROFIT/TRIGGER_LIMIT become a limit at price.
* A triggered STOP_MARKET / STOP does not fill under its own id: it hands over to a new order
  (its child) that carries ``triggerOrderId`` = the stop's id, and the child fills. A query by
  the stop's id answers with the child; the lists show the child. See ``TRIGGERED_LOOKUPS``
  and ``freqtrade_bingx.bingx.stops`` for the sources and the variants.
* A closing stop reserves nothing: a reduce-only / closing LIMIT exit for the whole position
  can rest next to it, in either mode. Whichever fills first closes the position; BingX then
  cancels the closing orders left on it (see ``_cancel_position_orders``), and a closing order
  that still fills is cut to what is left.
* Fees are the account's own rates if set (``Account.taker_rate`` / ``maker_rate``), else the
  contract's takerFeeRate/makerFeeRate, charged in USDT; realized PnL and fees
  change the wallet balance at once; funding is settled every 8 h on open positions.
* One-way mode keeps one net position per symbol (rows say LONG or SHORT, onlyOnePosition
  true), an opposite order reduces and then flips it unless it is reduce-only. Hedge mode
  keeps LONG and SHORT apart. Reduce-only and closing orders never open or flip a position.

Validation follows BingX's error codes where known (see ``_validate``); where BingX's exact
code is unknown the choice is documented next to it.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from .accounts import Account, leverage_tiers
from .errors import ApiError
from .market import FUNDING_INTERVAL_MS, PriceModel, fmt, num


logger = logging.getLogger(__name__)

MARKET_TYPES = ("MARKET",)
LIMIT_TYPES = ("LIMIT",)
STOP_TYPES = ("STOP_MARKET", "STOP")
TAKE_PROFIT_TYPES = ("TAKE_PROFIT_MARKET", "TAKE_PROFIT")
TRIGGER_TYPES = ("TRIGGER_MARKET", "TRIGGER_LIMIT")
CONDITIONAL_TYPES = STOP_TYPES + TAKE_PROFIT_TYPES + TRIGGER_TYPES
ORDER_TYPES = MARKET_TYPES + LIMIT_TYPES + CONDITIONAL_TYPES
# The page: closePosition "only support STOP_MARKET and TAKE_PROFIT_MARKET".
CLOSE_POSITION_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")
# Types that carry a limit price (sent by ccxt as ``price``).
PRICED_TYPES = ("LIMIT", "STOP", "TAKE_PROFIT", "TRIGGER_LIMIT")
# The order page's workingType: "MARK_PRICE, CONTRACT_PRICE, default MARK_PRICE"; BingX's change
# log of 2025-08-21: "Removed the INDEX_PRICE type from the workingType field in the order API".
WORKING_TYPES = ("MARK_PRICE", "CONTRACT_PRICE")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "POSTONLY")
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")

# Error replies of the order endpoints, from their pages' error tables (reference/bingx-swap-api/
# older-export/trading__place_order.md, trading__cancel_order.md, trading__query_order_details.md).
MARGIN_ERROR = (101204, "Insufficient margin")  # place order
CANCEL_NOT_FOUND = (109414, "order not exist")  # cancel order
QUERY_NOT_FOUND = (80016, "order does not exist")  # query order
# Cancel of an order that is already filled or canceled: the cancel page lists only this text.
ORDER_FINAL = (80018, "order is already filled, The order doesn't exist")
DUPLICATE_CLIENT_ID = (101481, "clientOrderID cannot be repeated")
REDUCE_ONLY_GROWS = (
    101290,
    (
        "The Reduce Only order can only decrease the position and not be used to open a "
        "position. Please check your positions and open orders."
    ),
)
NO_POSITION = (101205, "No position to close")
# A stop-loss / take-profit whose trigger price the reference price has already crossed. 110411,
# 110412 and 110413 are on the place-order page; 110414 (take profit of a short) is in BingX's
# newer error-code list (docs-v3), which also says which position side each one is for.
SL_LONG = (110411, "Stop Loss price should be lower than the current price")
SL_SHORT = (110412, "Stop Loss price should be greater than the current price")
TP_LONG = (110413, "Take Profit price should be greater than the current price")
TP_SHORT = (110414, "Take Profit price should be lower than the current price")
# What a query by a triggered stop's own id answers (TradingEngine.triggered_stop_lookup):
# - "child": the order that filled, with triggerOrderId = the stop's id. A live reply
#   (2026-07-30, BTC-USDT, hedge mode) shows exactly this for GET /openApi/swap/v2/trade/order.
# - "not_found": "order not exist", as ccxt issue #19563 reports for closed stop orders
#   ("after change to close or canceled fetch order give a OrderNotFound error").
# - "stub": the stop itself, status TRIGGERED with nothing executed. No reply of this shape
#   has been seen; it stands for "a trigger object without its fill", which the plugin must
#   never book as an exit.
TRIGGERED_LOOKUPS = ("child", "not_found", "stub")
BEIJING = timezone(timedelta(hours=8))
# Fill fields the fake keeps for srv.fills() but BingX's allFillOrders page does not list.
FILL_LEDGER_ONLY = ("realizedPnl", "maker", "time")


def _bool_param(params: dict[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ApiError(109400, f"Invalid parameters, {name} must be true or false")


def _positive(params: dict[str, str], name: str, precision: int | None = None) -> float | None:
    """A positive number parameter, truncated to ``precision`` decimals.

    BingX's place-order page (demo variant, post_openapi_swap_v2_trade_order_1.md): "If the
    accuracy exceeds the range of the current period, the current API order will still be
    successful, but it will be truncated."
    """
    text = params.get(name)
    if text is None or text == "" or text == "0":
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ApiError(109400, f"Invalid parameters, {name} must be a number") from None
    if not value.is_finite() or value <= 0:
        raise ApiError(109400, f"Invalid parameters, {name} must be greater than 0")
    if precision is not None:
        value = value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_DOWN)
    return float(value)


@dataclass
class SimOrder:
    order_id: int
    symbol: str
    side: str
    position_side: str
    type: str
    quantity: float
    price: float
    stop_price: float
    working_type: str
    reduce_only: bool
    close_position: bool
    time_in_force: str
    client_order_id: str
    leverage: int
    time: int
    update_time: int
    price_precision: int
    status: str = "NEW"
    executed_qty: float = 0.0
    cum_quote: float = 0.0
    commission: float = 0.0
    profit: float = 0.0
    triggered: bool = False
    trigger_up: bool | None = None
    stop_loss: dict[str, Any] | None = None
    take_profit: dict[str, Any] | None = None
    children: list[int] = field(default_factory=list)
    # The stop this order executes (BingX's triggerOrderId; 0 on every other order).
    trigger_order_id: int = 0
    # Set on a triggered stop: the id of the order that executes it.
    executed_by: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.executed_qty, 0.0)

    @property
    def avg_price(self) -> float:
        return self.cum_quote / self.executed_qty if self.executed_qty else 0.0

    def to_bingx(self, qty_precision: int) -> dict[str, Any]:
        """The order as the query, cancel, openOrders, allOrders and fullOrder endpoints show it.

        Keys and types follow a live query reply quoted in a public bot's notes (2023-12,
        ``{"code":0,"msg":"","data":{"order":{"symbol":"BTC-USDT","orderId":1735556416452698112,
        ...,"takeProfit":{"type":"","quantity":0,"stopPrice":0,"price":0,"workingType":""},
        ...,"orderType":"","workingType":"MARK_PRICE"}}}``) and ccxt 4.5.90's fetchOrders
        example; ``onlyOnePosition`` and ``reduceOnly`` (booleans) are in the live cancel reply
        ccxt quotes under editOrder; ``closePosition`` (a string) is on the query and
        openOrders pages.
        """
        pp = self.price_precision

        def attached(spec: dict[str, Any] | None) -> dict[str, Any]:
            spec = spec or {}
            return {
                "type": spec.get("type", ""),
                "quantity": spec.get("quantity", 0),
                "stopPrice": spec.get("stopPrice", 0),
                "price": spec.get("price", 0),
                "workingType": spec.get("workingType", ""),
            }

        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "side": self.side,
            "positionSide": self.position_side,
            "type": self.type,
            "origQty": fmt(self.quantity, qty_precision),
            "price": fmt(self.price, pp) if self.price else "0",
            "executedQty": fmt(self.executed_qty, qty_precision),
            "avgPrice": fmt(self.avg_price, pp),
            "cumQuote": f"{self.cum_quote:.4f}",
            "stopPrice": fmt(self.stop_price, pp) if self.stop_price else "",
            "profit": f"{self.profit:.4f}",
            "commission": f"{self.commission:.6f}",
            "status": self.status,
            "time": self.time,
            "updateTime": self.update_time,
            "clientOrderId": self.client_order_id,
            "leverage": f"{self.leverage}X",
            "takeProfit": attached(self.take_profit),
            "stopLoss": attached(self.stop_loss),
            "advanceAttr": 0,
            "positionID": 0,
            "takeProfitEntrustPrice": 0,
            "stopLossEntrustPrice": 0,
            "orderType": "",
            "workingType": self.working_type,
            "onlyOnePosition": self.position_side == "BOTH",
            "reduceOnly": self.reduce_only,
            "closePosition": "true" if self.close_position else "false",
            # Query / history pages: "trigger order ID associated with this order"; live
            # replies show 0 on ordinary orders.
            "triggerOrderId": self.trigger_order_id,
        }

    def to_created(self, qty_precision: int) -> dict[str, Any]:
        """The order as the create endpoint answers it (inside ``data.order``).

        Keys and types follow a live reply from BingX's demo host (2026) quoted in a public
        project's verification notes: ``{"orderId":2086368129182601216,"orderID":
        "2086368129182601216","symbol":"BTC-USDT",...,"price":0,"quantity":0.001,
        "quoteOrderQty":0,"stopPrice":0,...,"clientOrderID":"<id>","clientOrderId":"",
        ...,"closePosition":"","stopGuaranteed":"","status":"FILLED","avgPrice":"64881.5",
        "executedQty":"0.0010"}``. The place-order page lists status, avgPrice ("present when
        type=MARKET") and executedQty too.
        """
        pp = self.price_precision
        created: dict[str, Any] = {
            "orderId": self.order_id,
            "orderID": str(self.order_id),
            "symbol": self.symbol,
            "positionSide": self.position_side,
            "side": self.side,
            "type": self.type,
            "price": round(self.price, pp),
            "quantity": round(self.quantity, qty_precision),
            "quoteOrderQty": 0,
            "stopPrice": round(self.stop_price, pp),
            "workingType": self.working_type,
            "clientOrderID": self.client_order_id,
            "clientOrderId": "",
            "timeInForce": "PostOnly" if self.time_in_force == "POSTONLY" else self.time_in_force,
            "priceRate": 0,
            "stopLoss": json.dumps(self.stop_loss) if self.stop_loss else "",
            "takeProfit": json.dumps(self.take_profit) if self.take_profit else "",
            "reduceOnly": self.reduce_only,
            "activationPrice": 0,
            "closePosition": "true" if self.close_position else "",
            "stopGuaranteed": "",
            "status": self.status,
            "executedQty": fmt(self.executed_qty, qty_precision),
        }
        if self.type == "MARKET":
            created["avgPrice"] = fmt(self.avg_price, pp)
        return created


class TradingEngine:
    """Order validation and matching for every account of one server."""

    def __init__(
        self,
        prices: PriceModel,
        contract: Callable[[str], dict[str, Any]],
        clock: Callable[[], int],
        accounts: Callable[[], list[Account]],
    ) -> None:
        self.prices = prices
        self._contract = contract
        self._now = clock
        self._accounts = accounts
        self._order_ids = itertools.count(1_800_000_000_000_000_000 + clock() * 1000)
        self._position_ids = itertools.count(1_900_000_000_000_000_000)
        self._tran_ids = itertools.count(1)
        # How a query by a triggered stop's own id is answered: one of TRIGGERED_LOOKUPS.
        self.triggered_stop_lookup = "child"

    # ----------------------------------------------------------------- prices
    def reference(self, symbol: str, working_type: str, now: int) -> float:
        if working_type == "CONTRACT_PRICE":
            return self.prices.last(symbol, now)
        return self.prices.mark(symbol, now)

    # ----------------------------------------------------------------- positions
    def _positions(self, acct: Account, symbol: str) -> list[dict[str, Any]]:
        return [p for p in acct.positions if p["symbol"] == symbol]

    def _position(self, acct: Account, symbol: str, side: str) -> dict[str, Any] | None:
        """The hedge-mode row for ``side``, or the one-way net row when side is BOTH."""
        for pos in self._positions(acct, symbol):
            if side == "BOTH" or pos["positionSide"] == side:
                return pos
        return None

    def new_position(
        self, acct: Account, symbol: str, side: str, amount: float, price: float, now: int
    ) -> dict[str, Any]:
        """A row of GET /openApi/swap/v2/user/positions: the page's fields, plus ``currency``
        and ``onlyOnePosition`` from the live reply ccxt 4.5.90 quotes for fetchPositions."""
        lev = acct.leverage[(symbol, side)]
        position = {
            "positionId": str(next(self._position_ids)),
            "symbol": symbol,
            "currency": "USDT",
            "positionAmt": num(abs(amount)),
            "availableAmt": num(abs(amount)),
            "positionSide": side,
            # "true: isolated margin mode false: cross margin"; SEPARATE_ISOLATED is isolated.
            "isolated": acct.margin_type[symbol] != "CROSSED",
            "avgPrice": num(price),
            "initialMargin": f"{abs(amount) * price / lev:.4f}",
            "margin": f"{abs(amount) * price / lev:.4f}",
            "leverage": lev,
            "unrealizedProfit": "0.0000",
            "realisedProfit": "0.0000",
            "liquidationPrice": 0,
            "pnlRatio": "0.0000",
            "maxMarginReduction": "0.0000",
            "riskRate": "0.0010",
            "markPrice": num(price),
            "positionValue": f"{abs(amount) * price:.4f}",
            "onlyOnePosition": not acct.hedge_mode,
            "updateTime": now,
        }
        acct.positions.append(position)
        self.refresh_position(acct, position, now)
        return position

    def refresh_position(self, acct: Account, pos: dict[str, Any], now: int) -> None:
        """Recompute the mark-dependent fields of one position row."""
        symbol = pos["symbol"]
        amount = float(pos["positionAmt"])
        entry = float(pos["avgPrice"])
        mark = self.prices.mark(symbol, now)
        lev = max(int(pos.get("leverage") or 1), 1)
        sign = 1 if pos["positionSide"] == "LONG" else -1
        pnl = (mark - entry) * amount * sign
        init_margin = amount * entry / lev
        contract = self._contract(symbol)
        tiers = leverage_tiers(symbol, int(contract["maxLongLeverage"]))
        mmr = float(tiers[0]["maintMarginRatio"])
        # Isolated liquidation estimate: margin + pnl == maintenance margin.
        if amount > 0:
            liq = entry * (1 - sign / lev) / (1 - sign * mmr)
        else:
            liq = 0.0
        pos.update(
            {
                "markPrice": fmt(mark, int(contract["pricePrecision"])),
                "unrealizedProfit": f"{pnl:.4f}",
                "initialMargin": f"{init_margin:.4f}",
                "margin": f"{init_margin + pnl:.4f}",
                "positionValue": f"{amount * mark:.4f}",
                "pnlRatio": f"{pnl / init_margin if init_margin else 0:.4f}",
                "liquidationPrice": round(max(liq, 0.0), int(contract["pricePrecision"])),
                "onlyOnePosition": not acct.hedge_mode,
            }
        )

    def refresh(self, acct: Account) -> None:
        now = self._now()
        with acct.lock:
            for pos in acct.positions:
                self.refresh_position(acct, pos, now)

    # ----------------------------------------------------------------- balance
    def frozen_margin(self, acct: Account) -> float:
        total = 0.0
        for order in acct.orders.values():
            reserves = order.position_side == "BOTH" or self._opens(order)
            if order.is_open and order.type == "LIMIT" and not order.reduce_only and reserves:
                total += order.remaining * order.price / max(order.leverage, 1)
        return total

    def available(self, acct: Account, now: int) -> float:
        """``availableMargin``: the wallet less the margin used and frozen. The live linear
        reply ccxt 4.5.90 quotes under parseBalance has availableMargin 193.7609 + usedMargin
        1.0602 = balance 194.8212 (to the last digit) while unrealizedProfit is 1.9219: a
        profit is not available. That a cross position's loss is taken off is the fake's
        assumption (no reply with a loss is quoted)."""
        used = upnl_cross = 0.0
        for pos in acct.positions:
            self.refresh_position(acct, pos, now)
            used += float(pos["initialMargin"])
            if not pos["isolated"]:
                upnl_cross += min(float(pos["unrealizedProfit"]), 0.0)
        return acct.balance + upnl_cross - used - self.frozen_margin(acct)

    def balance_row(self, acct: Account) -> dict[str, Any]:
        """A row of GET /openApi/swap/v3/user/balance: the page's fields. ``balance`` is the
        wallet (realized PnL and fees in at once, unrealized PnL out); ``equity``, the page's
        "net asset value", is balance + unrealizedProfit, as in the live linear reply ccxt
        4.5.90 quotes (194.8212 + 1.9219 = 196.7431)."""
        now = self._now()
        with acct.lock:
            for pos in acct.positions:
                self.refresh_position(acct, pos, now)
            used = sum(float(p["initialMargin"]) for p in acct.positions)
            upnl = sum(float(p["unrealizedProfit"]) for p in acct.positions)
            frozen = self.frozen_margin(acct)
            available = self.available(acct, now)
            realised = acct.realised_pnl
        return {
            "userId": "116***295",
            "asset": "USDT",
            "balance": f"{acct.balance:.4f}",
            "equity": f"{acct.balance + upnl:.4f}",
            "unrealizedProfit": f"{upnl:.4f}",
            "realisedProfit": f"{realised:.4f}",
            "availableMargin": f"{available:.4f}",
            "usedMargin": f"{used:.4f}",
            "freezedMargin": f"{frozen:.4f}",
            "shortUid": "12851936",
        }

    # ----------------------------------------------------------------- create
    def _opens(self, order: SimOrder) -> bool:
        """Hedge mode: does this order add to its position side?"""
        return (order.position_side == "LONG") == (order.side == "BUY")

    def _closable(self, acct: Account, order: SimOrder) -> float:
        """How much of the order can close an existing position (0 if it only opens)."""
        pos = self._position(acct, order.symbol, order.position_side)
        if pos is None:
            return 0.0
        amount = float(pos["positionAmt"])
        if order.position_side == "BOTH":
            long = pos["positionSide"] == "LONG"
            return amount if long == (order.side == "SELL") else 0.0
        return 0.0 if self._opens(order) else amount

    def create(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        now = self._now()
        with acct.lock:
            order = self._validate(acct, params, now)
            acct.orders[order.order_id] = order
            self._evaluate(acct, order, now, arriving=True)
            return order.to_created(int(self._contract(order.symbol)["quantityPrecision"]))

    def test_order(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        """BingX's test order: validated like :meth:`create`, nothing placed or reserved.

        BingX's page: "The participation and return are consistent with the ordering
        interface, but the actual order will not be placed".
        """
        with acct.lock:
            order = self._validate(acct, params, self._now())
            return order.to_created(int(self._contract(order.symbol)["quantityPrecision"]))

    def _validate(self, acct: Account, params: dict[str, str], now: int) -> SimOrder:
        contract = self._contract(params.get("symbol", ""))
        symbol = contract["symbol"]
        side = params.get("side", "")
        if side not in ("BUY", "SELL"):
            raise ApiError(109400, "Invalid parameters, side must be BUY or SELL")
        otype = params.get("type", "")
        if otype not in ORDER_TYPES:
            raise ApiError(109400, f"Invalid parameters, order type {otype!r} is not supported")
        position_side, reduce_only = self._check_mode(acct, params)
        close_position = bool(_bool_param(params, "closePosition"))
        if close_position and otype not in CLOSE_POSITION_TYPES:
            # The page: closePosition "only support STOP_MARKET and TAKE_PROFIT_MARKET"; its
            # refusal is not documented, so the fake answers BingX's generic parameter error.
            raise ApiError(
                109400,
                "Invalid parameters, closePosition only supports STOP_MARKET and "
                "TAKE_PROFIT_MARKET",
            )
        quantity, price, stop_price = self._amounts(contract, params, otype, close_position)
        working_type = params.get("workingType") or "MARK_PRICE"
        if working_type not in WORKING_TYPES:
            # No reply of BingX to a workingType outside its list is quoted anywhere (its pages,
            # ccxt, public threads). The closest documented answer is the place-order page's
            # generic invalid parameter, "Invalid parameters,positionSide: This field is
            # required." under 80014 (older-export trading__place_order.md), which BingX's change
            # log of 2025-10-09 renames to 109400 "parameter invalid" from 2025-10-16.
            raise ApiError(
                109400,
                f"Invalid parameters,workingType: {working_type} is not one of "
                + ", ".join(WORKING_TYPES),
            )
        tif = (params.get("timeInForce") or "GTC").upper()
        if tif not in TIME_IN_FORCE:
            raise ApiError(109400, f"Invalid parameters, timeInForce {tif!r} illegal")
        # The page: "The system will convert this field to lowercase. Different orders cannot
        # use the same clientOrderId".
        client_id = (params.get("clientOrderID") or params.get("clientOrderId") or "").lower()
        if client_id and any(o.client_order_id == client_id for o in acct.orders.values()):
            raise ApiError(*DUPLICATE_CLIENT_ID)
        leverage_side = position_side
        if position_side == "BOTH":
            leverage_side = "LONG" if side == "BUY" else "SHORT"
        order = SimOrder(
            order_id=next(self._order_ids),
            symbol=symbol,
            side=side,
            position_side=position_side,
            type=otype,
            quantity=quantity,
            price=price,
            stop_price=stop_price,
            working_type=working_type if otype in CONDITIONAL_TYPES else "MARK_PRICE",
            reduce_only=reduce_only,
            close_position=close_position,
            time_in_force=tif,
            client_order_id=client_id,
            leverage=acct.leverage[(symbol, leverage_side)],
            time=now,
            update_time=now,
            price_precision=int(contract["pricePrecision"]),
            stop_loss=self._attached(params, "stopLoss"),
            take_profit=self._attached(params, "takeProfit"),
        )
        self._check_exposure(acct, order, contract, now)
        return order

    @staticmethod
    def _check_mode(acct: Account, params: dict[str, str]) -> tuple[str, bool]:
        # The page: positionSide "defaults to LONG if empty".
        position_side = params.get("positionSide") or "LONG"
        reduce_only = _bool_param(params, "reduceOnly")
        # The refusals below are live replies quoted in ccxt and bot threads (ccxt issue
        # #22237 for the one-way text); the one-way and hedge positionSide texts are also on
        # the place-order page.
        if acct.hedge_mode:
            if position_side not in ("LONG", "SHORT"):
                raise ApiError(
                    109400,
                    "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT.",
                )
            if reduce_only is not None:
                # reduceOnly "is not accepted for both long and short positions mode".
                raise ApiError(
                    109400, "In the Hedge mode, the 'ReduceOnly' field can not be filled."
                )
        elif position_side != "BOTH":
            raise ApiError(
                109400, "In the One-way mode, the 'PositionSide' field can only be set to BOTH."
            )
        return position_side, bool(reduce_only)

    @staticmethod
    def _amounts(
        contract: dict[str, Any], params: dict[str, str], otype: str, close_position: bool
    ) -> tuple[float, float, float]:
        pp, qp = int(contract["pricePrecision"]), int(contract["quantityPrecision"])
        quantity = _positive(params, "quantity", qp)
        if quantity is None and params.get("quantity") is None and not close_position:
            raise ApiError(80014, "parameter quantity is must")  # the place-order page
        min_qty = float(contract.get("tradeMinQuantity") or 0)
        if not close_position and (quantity or 0.0) + 1e-12 < min_qty:
            # ccxt's table quotes this live reply: "The minimum order amount is 0.0001 BTC."
            asset = contract.get("asset", "")
            raise ApiError(101400, f"The minimum order amount is {num(min_qty)} {asset}.")
        price = _positive(params, "price", pp)
        if otype in PRICED_TYPES and price is None:
            raise ApiError(109400, f"Invalid parameters, price is required for {otype} orders")
        stop_price = _positive(params, "stopPrice", pp)
        if otype in CONDITIONAL_TYPES and stop_price is None:
            raise ApiError(109400, f"Invalid parameters, stopPrice is required for {otype} orders")
        return quantity or 0.0, price or 0.0, stop_price or 0.0

    def _check_exposure(
        self, acct: Account, order: SimOrder, contract: dict[str, Any], now: int
    ) -> None:
        """Position to close, immediate triggers, minimum notional and margin."""
        closable = self._closable(acct, order)
        if order.reduce_only and closable <= 0:
            # One-way mode: a reduce-only order on the position's own side, or with no
            # position, would open or grow one.
            raise ApiError(*REDUCE_ONLY_GROWS)
        closing = acct.hedge_mode and not self._opens(order)
        if (closing or order.close_position) and closable <= 0:
            raise ApiError(*NO_POSITION)
        if order.type in CONDITIONAL_TYPES:
            ref = self.reference(order.symbol, order.working_type, now)
            self._check_trigger_side(order, ref)
            order.trigger_up = order.stop_price > ref
        opening_qty = order.quantity - min(order.quantity, closable)
        if opening_qty <= 0 or order.reduce_only:
            return
        ref_price = order.price or order.stop_price or self.prices.last(order.symbol, now)
        min_usdt = float(contract.get("tradeMinUSDT") or 0)
        if order.quantity * ref_price + 1e-9 < min_usdt:
            # ccxt's table quotes this live reply with 110425; the place-order page lists the
            # same text under 101400.
            raise ApiError(
                110425,
                "Please ensure that the minimum nominal value of the order placed must be "
                f"greater than {num(min_usdt)}u",
            )
        lev = max(order.leverage, 1)
        needed = opening_qty * ref_price * (1 / lev + float(contract["takerFeeRate"]))
        if needed > self.available(acct, now) + 1e-9:
            raise ApiError(*MARGIN_ERROR)

    @staticmethod
    def _attached(params: dict[str, str], name: str) -> dict[str, Any] | None:
        text = params.get(name)
        if not text:
            return None
        try:
            spec = json.loads(text)
        except ValueError:
            raise ApiError(109400, f"Invalid parameters, {name} must be JSON") from None
        if not isinstance(spec, dict) or not spec.get("stopPrice"):
            raise ApiError(109400, f"Invalid parameters, {name}.stopPrice is required")
        return spec

    @staticmethod
    def _check_trigger_side(order: SimOrder, ref: float) -> None:
        """Refuse a stop-loss / take-profit whose trigger price is already crossed (like BingX).

        A SELL stop or take-profit guards a long position, a BUY one a short (the page's
        trigger rules: a sell stop triggers when the mark price is at or below stopPrice).
        """
        stop, sell = order.stop_price, order.side == "SELL"
        if order.type in STOP_TYPES and (stop >= ref if sell else stop <= ref):
            raise ApiError(*(SL_LONG if sell else SL_SHORT))
        if order.type in TAKE_PROFIT_TYPES and (stop <= ref if sell else stop >= ref):
            raise ApiError(*(TP_LONG if sell else TP_SHORT))

    # ----------------------------------------------------------------- matching
    def tick(self) -> None:
        """Evaluate every open order of every account and settle funding; called often."""
        now = self._now()
        for acct in self._accounts():
            with acct.lock:
                self._settle_funding(acct, now)
                for order in list(acct.orders.values()):
                    if order.is_open:
                        self._evaluate(acct, order, now)

    def _triggered(self, order: SimOrder, now: int) -> bool:
        ref = self.reference(order.symbol, order.working_type, now)
        stop, sell = order.stop_price, order.side == "SELL"
        if order.type in STOP_TYPES:
            return ref <= stop if sell else ref >= stop
        if order.type in TAKE_PROFIT_TYPES:
            return ref >= stop if sell else ref <= stop
        return ref >= stop if order.trigger_up else ref <= stop

    def _evaluate(self, acct: Account, order: SimOrder, now: int, arriving: bool = False) -> None:
        if order.type in CONDITIONAL_TYPES and not order.triggered:
            if arriving or not self._triggered(order, now):
                return
            order.triggered = True
            order.update_time = now
            if order.type in STOP_TYPES:
                order = self._hand_over(acct, order, now)
            arriving = True  # a triggered order reaches the book like a new one
        bid, ask = self.prices.bid_ask(order.symbol, now)
        last = self.prices.last(order.symbol, now)
        buy = order.side == "BUY"
        if order.type.endswith("MARKET"):
            self._fill(acct, order, ask if buy else bid, maker=False, now=now)
            return
        limit = order.price
        marketable = limit >= ask if buy else limit <= bid
        if arriving and marketable:
            if order.time_in_force == "POSTONLY":
                self._finish(order, "CANCELED", now)
                return
            fill_price = min(limit, ask) if buy else max(limit, bid)
            self._fill(acct, order, fill_price, maker=False, now=now)
            return
        if arriving and order.time_in_force in ("IOC", "FOK"):
            # No live reply to an unfilled IOC / FOK swap order is quoted anywhere we could
            # find. Modelled: accepted (code 0) with status CANCELED and executedQty 0, as
            # BingX's order statuses have no EXPIRED (ccxt 4.5.90 maps NEW, PENDING,
            # PARTIALLY_FILLED, RUNNING, FILLED, CANCELED, CANCELLED, FAILED; a VST user-stream
            # probe's notes list NEW, PARTIALLY_FILLED, FILLED, CANCELED), and bingx.com shows
            # such an order as canceled ("Any part of the order that isn't immediately filled
            # will be canceled", ccxt issue #18746). The fake fills whole or not at all, so FOK
            # and IOC differ only where BingX's book is thinner than the order (not modelled).
            self._finish(order, "CANCELED", now)
            return
        if not arriving and (last <= limit if buy else last >= limit):
            self._fill(acct, order, limit, maker=True, now=now)

    def _hand_over(self, acct: Account, stop: SimOrder, now: int) -> SimOrder:
        """A triggered stop leaves the book; a new order with its terms executes it.

        Live reply (GET /openApi/swap/v2/trade/order with the stop's id, 2026-07-30): the
        answer is another orderId with ``triggerOrderId`` = the stop's id, the stop's type,
        side, positionSide, stopPrice and workingType, ``reduceOnly`` true (also in hedge
        mode), ``time`` = the trigger time, status FILLED, avgPrice / executedQty / cumQuote
        / commission / profit of the fill.
        """
        child = copy.copy(stop)
        child.order_id = next(self._order_ids)
        child.trigger_order_id = stop.order_id
        child.reduce_only = True
        child.client_order_id = ""
        child.time = child.update_time = now
        child.children = []
        acct.orders[child.order_id] = child
        stop.status = "TRIGGERED"  # internal: the stop itself is shown only as a "stub"
        stop.executed_by = child.order_id
        return child

    def _finish(self, order: SimOrder, status: str, now: int) -> None:
        order.status = status
        order.update_time = now

    def _fill(self, acct: Account, order: SimOrder, price: float, maker: bool, now: int) -> None:
        contract = self._contract(order.symbol)
        pp = int(contract["pricePrecision"])
        price = round(price, pp)
        qty = order.remaining
        closable = self._closable(acct, order)
        closing_only = order.reduce_only or order.close_position
        closing_only = closing_only or (order.position_side != "BOTH" and not self._opens(order))
        if order.close_position:
            qty = closable
        if closing_only:
            qty = min(qty, closable)
            if qty <= 0:
                # The position is gone (closed by another order): BingX cancels such orders.
                self._finish(order, "CANCELED", now)
                return
        elif order.triggered and qty > closable:
            # Margin of plain orders was checked (and for limits reserved) at creation; a
            # triggered conditional order is checked now and canceled if it cannot open.
            lev = max(order.leverage, 1)
            needed = (qty - closable) * price * (1 / lev + float(contract["takerFeeRate"]))
            if needed > self.available(acct, now) + 1e-9:
                self._finish(order, "CANCELED", now)
                return
        rate = self.fee_rate(acct, contract, maker)
        fee = qty * price * rate
        pnl = self._apply_to_positions(acct, order, qty, price, now)
        acct.balance += pnl - fee
        acct.realised_pnl += pnl
        order.executed_qty += qty
        order.cum_quote += qty * price
        order.commission -= fee
        order.profit += pnl
        if order.close_position:
            order.quantity = order.executed_qty
        self._finish(order, "FILLED", now)
        # The fields of GET /openApi/swap/v2/trade/allFillOrders (its page), plus three kept
        # for the Python-side ledger only (``FILL_LEDGER_ONLY``: never sent).
        acct.fills.append(
            {
                "filledTm": self._utc_seconds(now),
                "symbol": order.symbol,
                "volume": num(qty),
                "price": fmt(price, pp),
                "amount": f"{qty * price:.4f}",
                "commission": f"{-fee:.6f}",
                "currency": "USDT",
                "orderId": str(order.order_id),
                "liquidatedPrice": "0.00",
                "liquidatedMarginRatio": "0.00",
                "workingType": order.working_type,
                "filledTime": self._beijing(now),
                "side": order.side,
                "type": order.type,
                "positionSide": order.position_side,
                "clientOrderID": order.client_order_id,
                "onlyOnePosition": order.position_side == "BOTH",
                "realizedPnl": f"{pnl:.4f}",
                "maker": maker,
                "time": now,
            }
        )
        self._place_attached(acct, order, now)

    @staticmethod
    def fee_rate(acct: Account, contract: dict[str, Any], maker: bool) -> float:
        """The account's own rate if set, else the contract's standard one."""
        own = acct.maker_rate if maker else acct.taker_rate
        if own is not None:
            return own
        return float(contract["makerFeeRate"] if maker else contract["takerFeeRate"])

    @staticmethod
    def _utc_seconds(now: int) -> str:
        """``filledTm`` as the page shows it: "2024-10-24T17:13:12Z"."""
        return datetime.fromtimestamp(now // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @staticmethod
    def _beijing(now: int) -> str:
        """``filledTime`` as the page shows it: "2006-01-02T15:04:05.999+0800"."""
        stamp = datetime.fromtimestamp(now / 1000, UTC).astimezone(BEIJING)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now % 1000:03d}+0800"

    def _apply_to_positions(
        self, acct: Account, order: SimOrder, qty: float, price: float, now: int
    ) -> float:
        """Change positions by a fill; returns the realized PnL."""
        symbol = order.symbol
        if order.position_side != "BOTH":
            pos = self._position(acct, symbol, order.position_side)
            if self._opens(order):
                self._add(acct, pos, symbol, order.position_side, qty, price, now)
                return 0.0
            return self._reduce(acct, pos, qty, price, now) if pos else 0.0
        pos = self._position(acct, symbol, "BOTH")
        want = "LONG" if order.side == "BUY" else "SHORT"
        pnl = 0.0
        if pos is not None and pos["positionSide"] != want:
            closing = min(qty, float(pos["positionAmt"]))
            pnl = self._reduce(acct, pos, closing, price, now)
            qty -= closing
            pos = None
        if qty > 1e-12 and not order.reduce_only:
            self._add(acct, pos, symbol, want, qty, price, now)
        return pnl

    def _add(
        self,
        acct: Account,
        pos: dict[str, Any] | None,
        symbol: str,
        side: str,
        qty: float,
        price: float,
        now: int,
    ) -> None:
        if pos is None:
            self.new_position(acct, symbol, side, qty, price, now)
            return
        amount = float(pos["positionAmt"])
        entry = float(pos["avgPrice"])
        total = amount + qty
        pos["avgPrice"] = num((amount * entry + qty * price) / total)
        pos["positionAmt"] = pos["availableAmt"] = num(total)
        pos["leverage"] = acct.leverage[(symbol, side)]
        pos["updateTime"] = now
        self.refresh_position(acct, pos, now)

    def _reduce(
        self, acct: Account, pos: dict[str, Any], qty: float, price: float, now: int
    ) -> float:
        amount = float(pos["positionAmt"])
        entry = float(pos["avgPrice"])
        qty = min(qty, amount)
        sign = 1 if pos["positionSide"] == "LONG" else -1
        pnl = (price - entry) * qty * sign
        left = amount - qty
        pos["realisedProfit"] = f"{float(pos['realisedProfit']) + pnl:.4f}"
        if left <= 1e-12:
            acct.positions.remove(pos)
            self._cancel_position_orders(acct, pos, now)
        else:
            pos["positionAmt"] = pos["availableAmt"] = num(left)
            pos["updateTime"] = now
            self.refresh_position(acct, pos, now)
        return pnl

    def _cancel_position_orders(self, acct: Account, pos: dict[str, Any], now: int) -> None:
        """BingX cancels closing TP/SL orders once their position is gone."""
        for order in acct.orders.values():
            if (
                order.is_open
                and order.symbol == pos["symbol"]
                and order.type in STOP_TYPES + TAKE_PROFIT_TYPES
                and (order.reduce_only or order.close_position or order.position_side != "BOTH")
                and self._closable(acct, order) <= 0
            ):
                self._finish(order, "CANCELED", now)

    def _place_attached(self, acct: Account, parent: SimOrder, now: int) -> None:
        for spec, default in ((parent.stop_loss, "STOP_MARKET"), (parent.take_profit, None)):
            if not spec:
                continue
            otype = spec.get("type") or default or "TAKE_PROFIT_MARKET"
            child = SimOrder(
                order_id=next(self._order_ids),
                symbol=parent.symbol,
                side="SELL" if parent.side == "BUY" else "BUY",
                position_side=parent.position_side,
                type=otype,
                quantity=float(spec.get("quantity") or parent.executed_qty),
                price=float(spec.get("price") or 0),
                stop_price=float(spec["stopPrice"]),
                working_type=spec.get("workingType") or "MARK_PRICE",
                reduce_only=parent.position_side == "BOTH",
                close_position=False,
                time_in_force="GTC",
                client_order_id="",
                leverage=parent.leverage,
                time=now,
                update_time=now,
                price_precision=parent.price_precision,
            )
            ref = self.reference(child.symbol, child.working_type, now)
            child.trigger_up = child.stop_price > ref
            acct.orders[child.order_id] = child
            parent.children.append(child.order_id)

    # ----------------------------------------------------------------- funding
    def _settle_funding(self, acct: Account, now: int) -> None:
        if acct.funded_until is None:
            acct.funded_until = now
            return
        due = (now // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
        if due <= acct.funded_until:
            return
        first = max(
            (acct.funded_until // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS,
            due - 9 * FUNDING_INTERVAL_MS,  # a clock jump must not replay years of funding
        )
        for t in range(first, due + 1, FUNDING_INTERVAL_MS):
            for pos in acct.positions:
                symbol = pos["symbol"]
                rate = self.prices.funding_rate(symbol, t)
                value = float(pos["positionAmt"]) * self.prices.mark(symbol, t)
                income = -value * rate if pos["positionSide"] == "LONG" else value * rate
                acct.balance += income
                acct.incomes.append(
                    {
                        "symbol": symbol,
                        "incomeType": "FUNDING_FEE",
                        "income": f"{income:.4f}",
                        "asset": "USDT",
                        "info": "Funding Fee",
                        "time": t,
                        "tranId": f"{t}_{next(self._tran_ids)}",
                        "tradeId": f"{t}_{symbol}",
                    }
                )
        acct.funded_until = due

    # ----------------------------------------------------------------- queries
    def _find(self, acct: Account, params: dict[str, str], not_found: tuple[int, str]) -> SimOrder:
        symbol = self._contract(params.get("symbol", ""))["symbol"]
        order_id = params.get("orderId")
        client_id = (params.get("clientOrderID") or params.get("clientOrderId") or "").lower()
        for order in acct.orders.values():
            if order.symbol != symbol:
                continue
            if order_id and str(order.order_id) == order_id:
                return self._resolve(acct, order, not_found)
            if not order_id and client_id and order.client_order_id == client_id:
                return self._resolve(acct, order, not_found)
        raise ApiError(*not_found)

    def _resolve(self, acct: Account, order: SimOrder, not_found: tuple[int, str]) -> SimOrder:
        """A triggered stop answers as ``triggered_stop_lookup`` says (TRIGGERED_LOOKUPS)."""
        if order.executed_by is None or self.triggered_stop_lookup == "stub":
            return order
        if self.triggered_stop_lookup == "not_found":
            raise ApiError(*not_found)
        return acct.orders[order.executed_by]

    def _show(self, order: SimOrder) -> dict[str, Any]:
        row = order.to_bingx(int(self._contract(order.symbol)["quantityPrecision"]))
        if order.executed_by is not None:
            # The "stub" variant: the trigger object without a fill (no reply seen).
            row.update(status="TRIGGERED", executedQty="0", cumQuote="0.0000")
        return row

    def query(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        with acct.lock:
            return {"order": self._show(self._find(acct, params, QUERY_NOT_FOUND))}

    def cancel(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        now = self._now()
        with acct.lock:
            order = self._find(acct, params, CANCEL_NOT_FOUND)
            if not order.is_open:
                raise ApiError(*ORDER_FINAL)
            self._finish(order, "CANCELED", now)
            return {"order": self._show(order)}

    def cancel_all(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        now = self._now()
        symbol = None
        if params.get("symbol"):
            symbol = self._contract(params["symbol"])["symbol"]
        with acct.lock:
            done = []
            for order in acct.orders.values():
                if order.is_open and (symbol is None or order.symbol == symbol):
                    self._finish(order, "CANCELED", now)
                    done.append(self._show(order))
        return {"success": done, "failed": None}

    def _select(
        self,
        acct: Account,
        params: dict[str, str],
        keep: Callable[[SimOrder], bool],
        start_key: str = "startTime",
        end_key: str = "endTime",
    ) -> list[dict[str, Any]]:
        symbol = None
        if params.get("symbol"):
            symbol = self._contract(params["symbol"])["symbol"]
        start = int(params[start_key]) if params.get(start_key, "").isdigit() else None
        end = int(params[end_key]) if params.get(end_key, "").isdigit() else None
        limit = int(params["limit"]) if params.get("limit", "").isdigit() else 500
        # allOrders / fullOrder: orderId "Only return subsequent orders" (read as: that id and
        # later ones, like the Binance endpoint BingX's mirrors; unverified).
        first = int(params["orderId"]) if params.get("orderId", "").isdigit() else None
        with acct.lock:
            rows = [
                self._show(o)
                for o in acct.orders.values()
                if keep(o)
                # A triggered stop is listed as the order that executed it (an assumption:
                # no list reply of a triggered stop has been seen).
                and o.executed_by is None
                and (first is None or o.order_id >= first)
                and (symbol is None or o.symbol == symbol)
                and (start is None or o.time >= start)
                and (end is None or o.time <= end)
            ]
        return rows[-limit:] if limit > 0 else rows

    def open_orders(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        return {"orders": self._select(acct, params, lambda o: o.is_open)}

    def all_orders(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        # /v2/trade/allOrders is BingX's order history: finished orders only.
        return {"orders": self._select(acct, params, lambda o: not o.is_open)}

    def full_orders(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        return {"orders": self._select(acct, params, lambda o: True)}

    def fills(self, acct: Account, params: dict[str, str]) -> dict[str, Any]:
        symbol = self._contract(params.get("symbol", ""))["symbol"]
        start = int(params["startTs"]) if params.get("startTs", "").isdigit() else None
        end = int(params["endTs"]) if params.get("endTs", "").isdigit() else None
        order_id = params.get("orderId")
        with acct.lock:
            rows = [
                copy.deepcopy(f)
                for f in acct.fills
                if f["symbol"] == symbol
                and (start is None or f["time"] >= start)
                and (end is None or f["time"] <= end)
                and (not order_id or f["orderId"] == order_id)
            ]
        for row in rows:
            for name in FILL_LEDGER_ONLY:
                del row[name]
        return {"fill_orders": rows}

    def income(self, acct: Account, params: dict[str, str]) -> list[dict[str, Any]]:
        symbol = None
        if params.get("symbol"):
            symbol = self._contract(params["symbol"])["symbol"]
        kind = params.get("incomeType")
        start = int(params["startTime"]) if params.get("startTime", "").isdigit() else None
        end = int(params["endTime"]) if params.get("endTime", "").isdigit() else None
        limit = int(params["limit"]) if params.get("limit", "").isdigit() else 100
        with acct.lock:
            rows = [
                dict(r)
                for r in acct.incomes
                if (symbol is None or r["symbol"] == symbol)
                and (not kind or r["incomeType"] == kind)
                and (start is None or r["time"] >= start)
                and (end is None or r["time"] <= end)
            ]
        return rows[-limit:]

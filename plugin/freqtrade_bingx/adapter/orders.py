"""Position side and reduce-only on every BingX swap order freqtrade sends.

BingX USDT-M swaps want ``positionSide`` on each order: ``BOTH`` in one-way mode, ``LONG`` or
``SHORT`` in hedge mode, where an exit names the position it closes (a sell closes the LONG).
In hedge mode BingX rejects ``reduceOnly``: the position side alone says the order closes.
https://bingx-api.github.io/docs-v3/#/en/Swap/Trades%20Endpoints/Place%20order

freqtrade's stoploss on exchange sends ``stopLossPrice``, from which ccxt 4.5.90 builds a
standalone conditional order (``STOP_MARKET``, or ``STOP`` with a limit price) with
``stopPrice``. It lives on the ordinary order endpoints, so freqtrade fetches and cancels it by
id like any order, and ccxt parses ``stopPrice`` of a ``STOP*`` order back as
``stopLossPrice``. Once triggered, its fill lives under another order id; reading it back,
and the trigger price sent with it, are described in :mod:`freqtrade_bingx.bingx.stops`. Nothing
here runs outside futures: spot is freqtrade's own ``Bingx``.
"""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ccxt
from freqtrade.constants import BuySell
from freqtrade.exceptions import (
    DDosProtection,
    DependencyException,
    ExchangeError,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)
from freqtrade.exchange.exchange_types import CcxtOrder, FtHas

from freqtrade_bingx.bingx import stops
from freqtrade_bingx.bingx.errors import names_position_side_mismatch
from freqtrade_bingx.bingx.position_mode import PositionMode, position_side
from freqtrade_bingx.bingx.stops import WORKING_TYPES
from freqtrade_bingx.net.ccxt_errors import FETCH_ORDER, bingx_answered, ccxt_to_freqtrade


logger = logging.getLogger(__name__)

# The parameter of BingX's place-order endpoint naming a stop's trigger price.
TRIGGER_FIELD = "workingType"
# Stoploss-on-exchange capabilities of BingX swaps, merged into the exchange's _ft_has_futures.
# stoploss_on_exchange and the limit/market stop types come from freqtrade's Bingx already.
STOPLOSS_FT_HAS_FUTURES: FtHas = {
    # ccxt turns stopLossPrice into a standalone STOP_MARKET / STOP order (not the JSON
    # stopLoss attached to an entry), fetched and cancelled by id on the ordinary order
    # endpoints: no "stop" flag needed.
    "stop_price_param": "stopLossPrice",
    "stoploss_query_requires_stop_flag": False,
    # ccxt parses a STOP* order's stopPrice as stopLossPrice (triggerPrice stays None).
    "stop_price_prop": "stopLossPrice",
    "stop_price_type_field": TRIGGER_FIELD,
    "stop_price_type_value_mapping": WORKING_TYPES,
    # A closing stop reserves nothing on BingX: a live position row shows availableAmt equal
    # to positionAmt while a STOP_MARKET for the whole position is open (2026-07-30 report,
    # see stops.py), so a closing limit exit can be placed next to it, and BingX cancels the
    # closing orders left once the position is gone. freqtrade therefore keeps the stop in
    # place while an exit order is open instead of cancelling it first (and leaving the
    # position unprotected until the exit fills), as for Binance, Bybit, OKX, Gate and Bitget
    # futures. Unverified without an account: that BingX accepts a reduce-only limit exit in
    # one-way mode while the stop is open. If it refused it (101290), the exit is skipped for
    # that loop and the stop stays: the position is still protected.
    "stoploss_blocks_assets": False,
}


def swap_order_params(mode: PositionMode, side: BuySell, reduce_only: bool) -> dict[str, Any]:
    """The position parameters of one swap order, as ccxt's BingX ``create_order`` takes them.

    ``reduce_only`` marks an exit (regular, emergency, forced, or a stoploss). One-way mode
    sends ``positionSide=BOTH`` and ``reduceOnly`` on exits. Hedge mode sends the position
    side and never ``reduceOnly``; ``hedged`` tells ccxt the account is hedged, which makes it
    drop a ``reduceOnly`` added after these parameters were built (see
    :func:`stop_order_params`). ccxt does not send ``hedged`` itself, and the
    explicit ``positionSide`` (a documented ccxt parameter) wins over the side ccxt derives.
    """
    pos_side = position_side(mode, side, reduce_only)
    if mode is PositionMode.HEDGE:
        return {"positionSide": pos_side, "hedged": True}
    params: dict[str, Any] = {"positionSide": pos_side}
    if reduce_only:
        params["reduceOnly"] = True
    return params


def again_after_mode_change(
    place: Callable[[], Any],
    built_with: PositionMode | None,
    refresh_mode: Callable[[], PositionMode],
) -> Any:
    """Place an order; if BingX says its position side no longer fits the account's mode
    (the user switched it on bingx.com), re-read the mode once and place it once more.

    freqtrade builds the order's parameters before the leverage step, and a leverage that
    is already confirmed sends nothing, so the order itself is where a switch shows first.
    BingX rejected the first order outright, so placing it again cannot double it. The
    error table makes the refusal an OperationalException; when the mode did not change,
    it stops the bot with advice, as on the leverage path.

    ``built_with``: the mode this order's position side is built from. The leverage step
    inside ``place`` may meet the switch first and re-read the mode: compare with this, not
    with that.
    """
    try:
        return place()
    except (OperationalException, DependencyException) as e:
        if not names_position_side_mismatch(str(e)):
            raise
        mode = refresh_mode()
        if mode is built_with:
            # Sending the same order again would not help.
            raise OperationalException(
                f"{e} BingX refused the order's position side, yet it reports the account "
                f"in {mode.value} mode as before. Check the mode on BingX "
                "(Perpetual futures > Preferences > Position mode) or set "
                "exchange.position_mode to 'one_way' or 'hedge'."
            ) from e
        logger.warning(
            "BingX position mode changed to %s while running; placing the order again",
            mode.value,
        )
        return place()


def order_params(params: dict, mode: PositionMode, side: BuySell, reduce_only: bool) -> dict:
    """freqtrade's order ``params`` with its reduceOnly replaced by what ``mode`` allows."""
    params = dict(params)
    params.pop("reduceOnly", None)
    params.update(swap_order_params(mode, side, reduce_only))
    return params


def stop_order_params(params: dict, mode: PositionMode, side: BuySell, order_types: dict) -> dict:
    """Every parameter of a BingX stop order beyond ccxt's own (symbol, type, side, amount,
    limit price), from freqtrade's stop ``params``: the one builder of what the bot's stops
    send and what preflight tests.

    The position side the exit side names in the account's mode, ``reduceOnly`` and the
    trigger price (``workingType``, BingX's default said aloud when ``order_types`` names
    none). freqtrade's create_stoploss takes these from _get_stop_params and then sets
    ``reduceOnly`` and, when ``order_types`` names it, the same ``workingType`` itself, on
    this dict, before handing it straight to ccxt. In hedge mode the "hedged" flag from
    swap_order_params makes ccxt's BingX create_order_request omit ``reduceOnly`` from the
    request (ccxt 4.5.90; pinned by tests/test_orders.py), so BingX never sees it: ccxt's
    documented parameter for exactly this, and no override of create_stoploss's body, which
    has no later hook.
    """
    params = dict(params)
    params.update(swap_order_params(mode, side, reduce_only=True))
    params["reduceOnly"] = True
    params[TRIGGER_FIELD] = stops.working_type(order_types)
    return params


# Attempts at placing one stop: freqtrade's, and one more at once when BingX does not show it.
STOP_PLACE_ATTEMPTS = 2
# How much older than the attempt (BingX's clock, as ccxt stamps requests) a stop found after a
# lost reply may be: the gap between the request's timestamp and BingX's order time.
ADOPT_SLACK_MS = 10_000


@dataclass(frozen=True)
class SentStop:
    """What one stop placement asks BingX for, as freqtrade's create_stoploss sends it."""

    pair: str
    side: BuySell
    contracts: float  # the amount in contracts, at the market's precision
    stop_price: float  # at the market's precision, rounded as freqtrade rounds it

    def is_on_bingx(self, order: dict[str, Any], since_ms: int) -> bool:
        """Is ``order`` (ccxt's, from BingX's open orders) this stop, placed since
        ``since_ms``?"""
        price = order.get(STOPLOSS_FT_HAS_FUTURES["stop_price_prop"])
        amount = order.get("amount")
        placed = order.get("timestamp")
        return (
            order.get("status") == "open"
            and order.get("side") == self.side
            and isinstance(price, int | float)
            and math.isclose(price, self.stop_price, rel_tol=1e-9)
            and isinstance(amount, int | float)
            and math.isclose(amount, self.contracts, rel_tol=1e-9)
            and isinstance(placed, int)
            and placed >= since_ms - ADOPT_SLACK_MS
        )


class StopOrders:
    """A stop placed (again at once, or found on BingX, when placing it fails), a stop read
    back by its id, or, once triggered, its fill; the trigger line said once."""

    def __init__(
        self,
        api: Callable[[], Any],
        log_reply: Callable[..., None],
        to_amount: Callable[[dict], CcxtOrder],
    ) -> None:
        """``api``: freqtrade's sync ccxt object; ``log_reply``: freqtrade's
        ``_log_exchange_response``; ``to_amount``: its ``_order_contracts_to_amount``."""
        self._api = api
        self._log_reply = log_reply
        self._to_amount = to_amount
        self._without_fill: set[str] = set()  # triggered stops whose fill was not seen yet
        # The stop trigger line last logged (freqtrade validates the order types twice).
        self._trigger_said: str | None = None

    def place(self, place: Callable[[], CcxtOrder], sent: SentStop) -> CcxtOrder:
        """Place a stop with freqtrade's ``place``; when that fails for a passing reason,
        look for it on BingX and place it once more at once if it is not there.

        freqtrade asks for a stop only while the position has none on BingX: after the entry,
        or right after cancelling the one it moves (trailing, custom stoploss). Its
        create_stoploss allows no retry, so a passing failure leaves the position without
        a stop until freqtrade's next loop; and when only the reply was lost, BingX holds a
        stop freqtrade never hears of, and the next loop places a second one. Here a
        ``TemporaryError`` makes one read of the pair's open orders: the stop sent is
        returned (freqtrade records BingX's order) if it is there; placed once more if it is
        not and BingX's own answer said it was not placed; left to freqtrade's next loop if
        the request got no such answer (a timeout, a dropped connection: it may still land
        after the read) or the read fails too (placing blind could make a second stop). A
        rate limit (``DDosProtection``) is not pressed. Refusals (InvalidOrder,
        InsufficientFunds) are freqtrade's to handle, as before.
        """
        since_ms = int(self._api().nonce())
        for attempt in range(1, STOP_PLACE_ATTEMPTS + 1):
            try:
                return place()
            except DDosProtection as e:
                _say_without_stop(sent.pair, e)
                raise
            except TemporaryError as e:
                seen, found = self._find_placed(sent, since_ms)
                if found is not None:
                    logger.warning(
                        "BingX: placing the stop of %s failed (%s), but BingX holds it: "
                        "order %s, stop price %s; recorded as the stop",
                        sent.pair,
                        e,
                        found.get("id"),
                        sent.stop_price,
                    )
                    self._log_reply("create_stoploss_order", found)
                    return self._to_amount(found)
                # Placed again at once only when BingX answered "not placed" with a code: after
                # a timeout or a dropped connection the first request may still land after this
                # read, and a second stop would be left on BingX that freqtrade never tracks.
                if not seen or attempt == STOP_PLACE_ATTEMPTS or not bingx_answered(e):
                    _say_without_stop(sent.pair, e)
                    raise
                logger.warning(
                    "BingX: placing the stop of %s failed (%s) and BingX shows no such stop: "
                    "the position has none on the exchange, placing it again now",
                    sent.pair,
                    e,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _find_placed(self, sent: SentStop, since_ms: int) -> tuple[bool, CcxtOrder | None]:
        """Whether the pair's open orders could be read, and the stop ``sent`` among them."""
        try:
            with ccxt_to_freqtrade("read the open orders", FETCH_ORDER):
                open_orders = self._api().fetch_open_orders(sent.pair)
        except (ExchangeError, OperationalException) as e:
            logger.warning("BingX: could not read the open orders of %s: %s", sent.pair, e)
            return False, None
        placed = [o for o in open_orders or [] if sent.is_on_bingx(o, since_ms)]
        return True, (placed[-1] if placed else None)

    def say_trigger(self, order_types: dict) -> None:
        """Log the stop's trigger price once per distinct setting."""
        line = stops.describe_trigger(order_types)
        if self._trigger_said != line:
            logger.info("BingX %s", line)
            self._trigger_said = line

    def fetch(self, order_id: str, pair: str, params: dict | None) -> CcxtOrder:
        """The stop by its id, or, once triggered, its fill under the stop's id.

        BingX executes a triggered stop as another order linked by ``triggerOrderId``, and a
        query by the stop's id has at times answered "not found" (stops.py). Then the fill
        is looked up in the order history from the stop's id on. Nothing found anywhere is an
        ``InvalidOrderException``, sent once: freqtrade then places a new stop.
        """
        api = self._api()
        stop_id = str(order_id)
        reply = _read_orders(api.fetch_order, stop_id, pair, params=params or {})
        if reply is not None:
            self._log_reply("fetch_stoploss_order", reply)
            if stops.is_answer(reply, stop_id):
                return self._to_amount(stops.as_stop(reply, stop_id))
        # allOrders from the stop's id on (the executing order comes later). ccxt 4.5.90 does
        # not pass its own limit argument to this endpoint, so it goes in params.
        history = _read_orders(
            api.fetch_canceled_and_closed_orders,
            pair,
            params={"orderId": stop_id, "limit": stops.HISTORY_LIMIT},
        )
        found = stops.find_in_history(history or [], stop_id)
        if found is not None:
            self._log_reply("fetch_stoploss_order_history", found)
            logger.info(
                "BingX stop %s of %s read from the order history (status %s, filled %s)",
                stop_id,
                pair,
                found.get("status"),
                found.get("filled"),
            )
            return self._to_amount(stops.as_stop(found, stop_id))
        if reply is not None:
            # Triggered, its fill not visible yet: still open to freqtrade, asked again next loop.
            logger.log(
                logging.DEBUG if stop_id in self._without_fill else logging.WARNING,
                "BingX stop %s of %s answers status %r without a fill; waiting for it",
                stop_id,
                pair,
                reply.get("status"),
            )
            self._without_fill.add(stop_id)
            waiting = self._to_amount(dict(reply))
            waiting.update(id=stop_id, status="open")
            return waiting
        raise InvalidOrderException(
            f"Stoploss order not found (pair: {pair} id: {stop_id}): not by its id, not in "
            "BingX's order history."
        )


def _say_without_stop(pair: str, error: Exception) -> None:
    logger.warning(
        "BingX: %s has no stop on the exchange: placing it failed (%s); freqtrade places it "
        "again on its next loop",
        pair,
        error,
    )


def _read_orders(method: Callable[..., Any], *args, **kwargs) -> Any:
    """Call a ccxt order read; None when BingX says the order does not exist. The other ccxt
    errors end as freqtrade's ``fetch_order`` ends them."""
    with ccxt_to_freqtrade("read the stoploss order", FETCH_ORDER):
        try:
            return method(*args, **kwargs)
        except ccxt.OrderNotFound:
            return None

"""Position side and reduce-only on every BingX swap order freqtrade sends.

BingX USDT-M swaps want ``positionSide`` on each order: ``BOTH`` in one-way mode, ``LONG`` or
``SHORT`` in hedge mode, where an exit names the position it closes (a sell closes the LONG).
In hedge mode BingX rejects ``reduceOnly``: the position side alone says the order closes.
https://bingx-api.github.io/docs-v3/#/en/Swap/Trades%20Endpoints/Place%20order

freqtrade's stoploss on exchange sends ``stopLossPrice``, from which ccxt 4.5.90 builds a
standalone conditional order (``STOP_MARKET``, or ``STOP`` with a limit price) with
``stopPrice``. It lives on the ordinary order endpoints, so freqtrade fetches and cancels it by
id like any order, and ccxt parses ``stopPrice`` of a ``STOP*`` order back as
``stopLossPrice``. Nothing here runs outside futures: spot is freqtrade's own ``Bingx``.
"""

import logging
from typing import Any

from freqtrade.constants import BuySell
from freqtrade.enums import PriceType, TradingMode
from freqtrade.exceptions import DependencyException, OperationalException
from freqtrade.exchange.exchange_types import FtHas

from freqtrade_bingx.errors import names_position_side_mismatch
from freqtrade_bingx.position_mode import PositionMode, position_side


logger = logging.getLogger(__name__)

# freqtrade's order_types.stoploss_price_type -> BingX's workingType (BingX's default, when
# freqtrade sends none, is MARK_PRICE).
WORKING_TYPES: dict[PriceType, str] = {
    PriceType.LAST: "CONTRACT_PRICE",
    PriceType.MARK: "MARK_PRICE",
    PriceType.INDEX: "INDEX_PRICE",
}

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
    "stop_price_type_field": "workingType",
    "stop_price_type_value_mapping": WORKING_TYPES,
}


def swap_order_params(mode: PositionMode, side: BuySell, reduce_only: bool) -> dict[str, Any]:
    """The position parameters of one swap order, as ccxt's BingX ``create_order`` takes them.

    ``reduce_only`` marks an exit (regular, emergency, forced, or a stoploss). One-way mode
    sends ``positionSide=BOTH`` and ``reduceOnly`` on exits. Hedge mode sends the position
    side and never ``reduceOnly``; ``hedged`` tells ccxt the account is hedged, which makes it
    drop a ``reduceOnly`` added after these parameters were built (see
    :meth:`BingxOrdersMixin._get_stop_params`). ccxt does not send ``hedged`` itself, and the
    explicit ``positionSide`` (a documented ccxt parameter) wins over the side ccxt derives.
    """
    pos_side = position_side(mode, side, reduce_only)
    if mode is PositionMode.HEDGE:
        return {"positionSide": pos_side, "hedged": True}
    params: dict[str, Any] = {"positionSide": pos_side}
    if reduce_only:
        params["reduceOnly"] = True
    return params


class BingxOrdersMixin:
    """Adds BingX's position parameters to freqtrade's order and stoploss parameters."""

    trading_mode: TradingMode
    position_mode: PositionMode

    def create_order(self, **kwargs):
        return self._again_after_mode_change(super().create_order, **kwargs)

    def create_stoploss(self, *args, **kwargs):
        return self._again_after_mode_change(super().create_stoploss, *args, **kwargs)

    def _again_after_mode_change(self, place, *args, **kwargs):
        """Place an order; if BingX says its position side no longer fits the account's mode
        (the user switched it on bingx.com), re-read the mode once and place it once more.

        freqtrade builds the order's parameters before the leverage step, and a leverage that
        is already confirmed sends nothing, so the order itself is where a switch shows first.
        BingX rejected the first order outright, so placing it again cannot double it. The
        error table makes the refusal an OperationalException; when the mode did not change,
        it stops the bot with advice, as on the leverage path.
        """
        # The mode this order's position side is built from. The leverage step inside place()
        # may meet the switch first and re-read the mode: compare with this, not with that.
        built_with = self._position_mode
        try:
            return place(*args, **kwargs)
        except (OperationalException, DependencyException) as e:
            if self.trading_mode != TradingMode.FUTURES or not names_position_side_mismatch(str(e)):
                raise
            mode = self.refresh_position_mode()
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
            return place(*args, **kwargs)

    def _get_params(
        self,
        side: BuySell,
        ordertype: str,
        leverage: float,
        reduceOnly: bool,
        time_in_force: str = "GTC",
    ) -> dict:
        params = super()._get_params(
            side=side,
            ordertype=ordertype,
            leverage=leverage,
            reduceOnly=reduceOnly,
            time_in_force=time_in_force,
        )
        if self.trading_mode != TradingMode.FUTURES:
            return params
        # freqtrade's reduceOnly is replaced by what the account's mode allows.
        params.pop("reduceOnly", None)
        params.update(swap_order_params(self.position_mode, side, reduceOnly))
        return params

    def _get_stop_params(self, side: BuySell, ordertype: str, stop_price: float) -> dict:
        params = super()._get_stop_params(side=side, ordertype=ordertype, stop_price=stop_price)
        if self.trading_mode != TradingMode.FUTURES:
            return params
        # A stoploss closes the position its exit side names. freqtrade's create_stoploss sets
        # params["reduceOnly"] = True *after* this hook, on the dict returned here, and hands it
        # straight to ccxt. In hedge mode the "hedged" flag from swap_order_params makes ccxt's
        # BingX create_order_request omit reduceOnly from the request (ccxt 4.5.90; pinned by
        # tests/test_orders.py), so BingX never sees it. That is ccxt's documented parameter for
        # exactly this, and avoids overriding create_stoploss, which has no later hook.
        params.update(swap_order_params(self.position_mode, side, reduce_only=True))
        return params

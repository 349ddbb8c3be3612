"""BingX's multi-assets mode, checked when live futures trading starts.

``GET /openApi/swap/v1/trade/assetMode`` answers ``assetMode``: ``singleAssetMode`` or
``multiAssetsMode`` (its page, ``get_openapi_swap_v1_trade_assetmode.md``). The older export of
the page adds "Only available for live trading": the demo host is not asked.

In multi-assets mode other assets of the futures account (BTC, ETH ...) count as margin at
their LTV (``GET /openApi/swap/v1/trade/multiAssetsRules`` lists the assets, LTV and collateral
ratios). freqtrade sizes stakes, keeps its wallet and computes liquidation in the stake currency
alone, so it does not see that margin nor the risk on it. BingX's help pages:

- Multi-Assets Mode FAQ (bingx.com support article 11263344675215): "Only cross margin mode and
  hedge mode are supported"; profits and losses settle in the quote asset (USDT).
- A later notice (article 12140157478927) adds isolated margin to the mode, and says an LTV of
  0.995 or more triggers automatic conversion of the pledged assets.

So, like freqtrade's Binance class (which refuses multi-assets mode unless the margin mode is
cross), the plugin refuses the mode with ``margin_mode: isolated``, the combination the FAQ rules
out, and warns with cross, where BingX may convert the user's other assets to cover losses that
freqtrade never accounts for.
"""

import logging
from collections.abc import Callable
from typing import Any

from freqtrade.enums import MarginMode
from freqtrade.exceptions import OperationalException

from freqtrade_bingx.bingx.endpoints import ASSET_MODE
from freqtrade_bingx.bingx.replies import BingxBadData
from freqtrade_bingx.net.transport import BingxTransport


logger = logging.getLogger(__name__)

SINGLE_ASSET = "singleAssetMode"
MULTI_ASSETS = "multiAssetsMode"

ADVICE = (
    "Switch the futures account to single-asset mode on bingx.com (Perpetual Futures, "
    "preferences / asset mode; BingX allows it with nothing open)"
)


def get_asset_mode(t: BingxTransport) -> Any:
    """``GET /openApi/swap/v1/trade/assetMode``: the envelope's ``data``."""
    return t.request("GET", ASSET_MODE)


def parse_asset_mode(data: Any) -> str:
    """``assetMode`` of the reply, one of the two values the page lists."""
    mode = data.get("assetMode") if isinstance(data, dict) else None
    if mode not in (SINGLE_ASSET, MULTI_ASSETS):
        raise BingxBadData(
            f"reply data not understood (assetMode is not {SINGLE_ASSET} or {MULTI_ASSETS}): "
            f"{str(data)[:200]}",
            method="GET",
            path=ASSET_MODE,
        )
    return mode


def check_asset_mode(call: Callable[..., Any], margin_mode: MarginMode) -> str:
    """Read the account's asset mode through ``call`` (the exchange's ``_call``); refuse
    multi-assets mode with isolated margin, warn with cross. Returns the mode."""
    mode = call("read the multi-assets mode", get_asset_mode, parse=parse_asset_mode)
    if mode == SINGLE_ASSET:
        logger.debug("BingX account asset mode: %s", mode)
        return mode
    if margin_mode != MarginMode.CROSS:
        raise OperationalException(
            "BingX futures account is in multi-assets mode, which BingX offers with cross "
            "margin (its Multi-Assets FAQ), and margin_mode is isolated. In that mode BTC, ETH "
            "and other assets back the positions, which freqtrade, counting only the stake "
            f"currency, does not see. {ADVICE}, or set margin_mode to cross."
        )
    logger.warning(
        "BingX futures account is in multi-assets mode: other assets of the futures account "
        "(BTC, ETH ...) count as margin for the cross positions at their LTV, and BingX may "
        "convert them to cover losses (at an LTV of 0.995). freqtrade sizes trades and "
        "reports balance and profit in the stake currency only. %s to have freqtrade's "
        "balance be the whole margin.",
        ADVICE,
    )
    return mode

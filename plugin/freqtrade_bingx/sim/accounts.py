"""Account state and market reference data for the fake BingX server."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


logger = logging.getLogger(__name__)

DEFAULT_LEVERAGE = 5
DEFAULT_MARGIN_TYPE = "CROSSED"
# POST /openApi/swap/v2/trade/marginType: "Margin mode ISOLATED (isolated margin), CROSSED (cross
# margin) and SEPARATE_ISOLATED (separated isolated margin)"; GET answers one of them.
MARGIN_TYPES = ("ISOLATED", "CROSSED", "SEPARATE_ISOLATED")

# symbol -> (max leverage, price precision, quantity precision, step, min qty, mark price)
_DEFAULT_MARKETS: dict[str, tuple[int, int, int, str, float, float]] = {
    "BTC-USDT": (125, 1, 4, "0.0001", 0.0001, 60000.0),
    "ETH-USDT": (100, 2, 2, "0.01", 0.01, 3000.0),
    "SOL-USDT": (50, 3, 1, "0.1", 0.1, 150.0),
    "XRP-USDT": (75, 4, 0, "1", 1.0, 0.5),
}

# What an account may use where BingX's contract list says less. The contracts'
# maxLongLeverage / maxShortLeverage understate it for some pairs: BingX's change log
# (2023-08-03) moved the maximum to "Query Leverage" and asks not to read it from the contract
# list, and a user saw 5x there for STX-USDT, which the account traded at 50x
# (github.com/germangar/whook/issues/9). XRP-USDT shows that here: 75x listed, 100x usable.
ACCOUNT_MAX_LEVERAGE: dict[str, int] = {"XRP-USDT": 100}

_contract_ids = itertools.count(100)


def make_contract(
    symbol: str,
    max_long_leverage: int = 50,
    max_short_leverage: int | None = None,
    price_precision: int = 4,
    quantity_precision: int = 2,
    size: str | None = None,
    trade_min_quantity: float | None = None,
) -> dict[str, Any]:
    """A contract entry shaped like ``/openApi/swap/v2/quote/contracts``.

    Numbers are JSON numbers except where BingX sends strings (``size``, ``apiState*``,
    ``contractId``), so clients see the same mix as live.
    """
    asset, _, currency = symbol.partition("-")
    step = size
    if step is None:
        step = format(10.0**-quantity_precision, f".{quantity_precision}f")
    return {
        "contractId": str(next(_contract_ids)),
        "symbol": symbol,
        "size": step,
        "quantityPrecision": quantity_precision,
        "pricePrecision": price_precision,
        "feeRate": 0.0005,
        "makerFeeRate": 0.0002,
        "takerFeeRate": 0.0005,
        "tradeMinLimit": 0,
        "tradeMinQuantity": trade_min_quantity if trade_min_quantity is not None else float(step),
        "tradeMinUSDT": 2,
        "maxLongLeverage": max_long_leverage,
        "maxShortLeverage": max_short_leverage
        if max_short_leverage is not None
        else max_long_leverage,
        "currency": currency,
        "asset": asset,
        "status": 1,
        "apiStateOpen": "true",
        "apiStateClose": "true",
        "ensureTrigger": True,
        "triggerFeeRate": "0.00020000",
        "brokerState": True,
        "launchTime": 1586275200000,
        "maintainTime": 0,
        "offTime": 0,
        "displayName": symbol,
    }


def default_contracts() -> list[dict[str, Any]]:
    return [
        make_contract(sym, lev, lev, pp, qp, step, mq)
        for sym, (lev, pp, qp, step, mq, _mark) in _DEFAULT_MARKETS.items()
    ]


# Maximum leverages found on BingX's USDT-M contract list, for made-up contracts to cycle
# through (BingX lists about 600 USDT-M swaps: tests of cold starts need as many).
_SYNTHETIC_MAX_LEVERAGE = (20, 25, 50, 75, 100)


def many_contracts(count: int) -> list[dict[str, Any]]:
    """The default contracts, then made-up ones (``C0004-USDT`` ...) up to ``count`` swaps.

    Shaped like the contract page as :func:`make_contract` builds it; their price defaults to 1.
    """
    contracts = default_contracts()
    for i in range(len(contracts), count):
        leverage = _SYNTHETIC_MAX_LEVERAGE[i % len(_SYNTHETIC_MAX_LEVERAGE)]
        contracts.append(make_contract(f"C{i:04d}-USDT", leverage, leverage))
    return contracts[:count]


def default_mark_prices() -> dict[str, float]:
    return {sym: spec[5] for sym, spec in _DEFAULT_MARKETS.items()}


def normalize_contracts(contracts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill fields a caller left out so partial overrides still parse in ccxt."""
    result = []
    for given in contracts:
        if "symbol" not in given:
            raise ValueError("every contract needs a 'symbol'")
        lev = int(given.get("maxLongLeverage", 50))
        base = make_contract(
            given["symbol"],
            lev,
            int(given.get("maxShortLeverage", lev)),
            int(given.get("pricePrecision", 4)),
            int(given.get("quantityPrecision", 2)),
        )
        base.update(given)
        result.append(base)
    return result


def leverage_tiers(symbol: str, max_leverage: int) -> list[dict[str, str]]:
    """A plausible maintenance-margin tier ladder for ``symbol``.

    Shaped like ``/openApi/swap/v1/maintMarginRatio``: strings only, and no max leverage per
    tier (BingX does not send one, which is exactly what the plugin has to cope with).
    The first tier's ratio follows the contract's max leverage like real ladders do.
    """
    scale = 300_000 if max_leverage >= 100 else 50_000
    bounds = [0, scale, scale * 5, scale * 20, scale * 50, scale * 200]
    first = round(1.0 / (2 * max_leverage), 6)
    ratios = [first, first * 2, first * 5, first * 10, min(first * 25, 0.25)]
    tiers = []
    maint_amount = 0.0
    prev_ratio = 0.0
    for i, ratio in enumerate(ratios):
        # Cumulative maintenance amount keeps the margin continuous across tier edges.
        maint_amount += bounds[i] * (ratio - prev_ratio)
        prev_ratio = ratio
        tiers.append(
            {
                "tier": f"Tier {i + 1}",
                "symbol": symbol,
                "minPositionVal": str(bounds[i]),
                "maxPositionVal": str(bounds[i + 1]),
                "maintMarginRatio": f"{ratio:.6f}",
                "maintAmount": f"{maint_amount:.6f}",
            }
        )
    return tiers


def default_max_leverage(contract: dict[str, Any], side: str = "LONG") -> int:
    """What an account may use on ``side`` (LONG or SHORT) of ``contract`` unless set."""
    listed = contract["maxShortLeverage" if side == "SHORT" else "maxLongLeverage"]
    return ACCOUNT_MAX_LEVERAGE.get(contract["symbol"], int(listed))


def _leverage_default() -> int:
    return DEFAULT_LEVERAGE


class MarginTypes(dict[str, str]):
    """Margin type per symbol; a symbol never set reads as the account's default (not stored)."""

    def __init__(self, default: Callable[[], str]) -> None:
        super().__init__()
        self._default = default

    def __missing__(self, symbol: str) -> str:
        return self._default()


@dataclass
class Account:
    """Mutable per-API-key state. Handlers hold ``lock`` for check-then-set sequences.

    ``margin_type`` is per symbol; a symbol never set has ``default_margin_type``. Either can be
    set from Python, e.g. ``account.default_margin_type = "SEPARATE_ISOLATED"`` for an account
    the user switched on bingx.com.
    """

    api_key: str
    secret: str = field(repr=False)
    hedge_mode: bool = False
    default_margin_type: str = DEFAULT_MARGIN_TYPE
    margin_type: MarginTypes = field(init=False)
    leverage: defaultdict[tuple[str, str], int] = field(
        default_factory=lambda: defaultdict(_leverage_default)
    )
    # The account's maximum per (symbol, "LONG" / "SHORT"), set from Python; unset sides get
    # default_max_leverage. GET leverage reports it; POST leverage above it answers 101414.
    max_leverage: dict[tuple[str, str], int] = field(default_factory=dict)
    positions: list[dict[str, Any]] = field(default_factory=list)
    balance: float = 10_000.0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    # Trading state, kept by sim.orders.TradingEngine (orders by id in creation order).
    orders: dict[int, Any] = field(default_factory=dict, repr=False)
    fills: list[dict[str, Any]] = field(default_factory=list, repr=False)
    incomes: list[dict[str, Any]] = field(default_factory=list, repr=False)
    realised_pnl: float = 0.0
    # GET /openApi/swap/v1/trade/assetMode: "singleAssetMode" or "multiAssetsMode" (its page).
    asset_mode: str = "singleAssetMode"
    funded_until: int | None = None
    # The key as GET /openApi/v1/account/apiPermissions describes it: permission numbers
    # (1 spot trading, 2 read, 3 perpetual futures trading, 4 universal transfer, 5 withdrawal,
    # 7 sub-account transfer) and the IP whitelist (empty: the key is bound to no IP).
    permissions: list[int] = field(default_factory=lambda: [2, 3])
    ip_whitelist: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    # The account's own fee rates (a VIP tier, a rebate: negative maker), set from Python; None:
    # BingX's standard ones, the contracts' takerFeeRate / makerFeeRate. GET
    # /openApi/swap/v2/user/commissionRate reports them, and fills are charged at them.
    taker_rate: float | None = None
    maker_rate: float | None = None

    def __post_init__(self) -> None:
        if self.default_margin_type not in MARGIN_TYPES:
            raise ValueError(f"margin type must be one of {MARGIN_TYPES}")
        self.margin_type = MarginTypes(lambda: self.default_margin_type)

    def max_leverage_for(self, contract: dict[str, Any], side: str) -> int:
        """The account's maximum on ``side``; BOTH (one-way) is held to the lower of the two."""
        if side not in ("LONG", "SHORT"):
            return min(self.max_leverage_for(contract, s) for s in ("LONG", "SHORT"))
        with self.lock:
            given = self.max_leverage.get((contract["symbol"], side))
        return given if given is not None else default_max_leverage(contract, side)

    def has_position(self, symbol: str | None = None) -> bool:
        with self.lock:
            return any(
                float(p.get("positionAmt", 0)) != 0 and (symbol is None or p["symbol"] == symbol)
                for p in self.positions
            )

    def has_open_orders(self, symbol: str | None = None) -> bool:
        with self.lock:
            return any(
                o.is_open and (symbol is None or o.symbol == symbol) for o in self.orders.values()
            )

    def busy(self, symbol: str | None = None) -> bool:
        """Open positions or pending orders: BingX then refuses mode and margin-type changes."""
        return self.has_position(symbol) or self.has_open_orders(symbol)

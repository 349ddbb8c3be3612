"""``freqtrade-bingx preflight``: check a BingX account against a config before going live.

Checks, in this order, one line each (PASS, WARN, FAIL, or SKIP when an earlier failure makes
a check pointless):

- the API key works and may trade perpetual futures (BingX's key-permission endpoint);
- BingX admits this machine's IP (it answers 100419 otherwise);
- BingX's clock and this machine's agree, measured against ``recvWindow``;
- this bot shares the account's rate budget and confirmed settings with the other bots on this
  machine (its state file; no request);
- the account's position mode and each pair's margin type fit ``exchange.position_mode`` and
  ``margin_mode``;
- the leverage the strategy asks for (its ``leverage()`` callback, or ``--leverage``) is within
  what the account allows per pair and side (``maxLongLeverage`` / ``maxShortLeverage``);
- BingX's test-order endpoint accepts the entry, exit and stop orders the strategy would send,
  built by the plugin's own exchange class (``_get_params`` and ``stop_order_params``, which
  build the bot's own orders) and ccxt's request builder, at the market's smallest quantity.
  Entries are tested on every pair and side; exits and stops once per side, on the first pair:
  with nothing open BingX answers them "No position to close" (101205; 101290 for a reduce-only
  order), which counts as a failing request, and the check reports it as the expected answer.

It only reads, plus ``POST /openApi/swap/v2/trade/order/test``, which validates an order and
places nothing. It never sets leverage, margin type or position mode, and never places or
cancels an order. The key is checked before ccxt loads markets, and after a key, IP or rate
limit error nothing more is sent; test orders stop after the first one BingX refuses, because
BingX blocks an endpoint after more than 20 failing requests in 8 minutes.

A strategy given by name is loaded as freqtrade loads it; its ``leverage()`` is called per pair
and side with the current price, ``proposed_leverage`` 1 and ``max_leverage`` the account's
maximum for that side. Without one, ``--leverage`` (default 1, freqtrade's own default) is
checked for both sides with freqtrade's default order types and a stop order.
"""

import logging
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

import ccxt
from freqtrade.constants import BuySell
from freqtrade.exceptions import (
    DDosProtection,
    FreqtradeException,
    InvalidOrderException,
)
from freqtrade.exchange.exchange_utils import ROUND_DOWN, ROUND_UP

from freqtrade_bingx.adapter.leverage import MARGIN_TYPES, swap_symbol
from freqtrade_bingx.adapter.refusals import UNTIL_CLEARED, RefusalMemory
from freqtrade_bingx.adapter.settings import POSITION_MODES
from freqtrade_bingx.bingx.endpoints import API_PERMISSIONS, OPEN_ORDERS, ORDER_TEST
from freqtrade_bingx.bingx.errors import translate
from freqtrade_bingx.bingx.failures import BingxError
from freqtrade_bingx.bingx.position_mode import PositionMode
from freqtrade_bingx.bingx.replies import finite, whole
from freqtrade_bingx.net import account


logger = logging.getLogger(__name__)

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"

PERMISSION_NAMES = {
    1: "spot trading",
    2: "read",
    3: "perpetual futures trading",
    4: "universal transfer",
    5: "withdrawal",
    7: "sub-account transfer",
}
FUTURES_TRADING, WITHDRAWAL = 3, 5
# Codes meaning "the key, the IP or the signature is wrong": nothing else can be checked.
ACCESS_CODES = frozenset({100413, 100001, 100419})
IP_NOT_WHITELISTED = 100419
# freqtrade itself warns about a clock off by more than this (Exchange.check_time_offset).
CLOCK_TOLERANCE_MS = 1500
# BingX's answers to a closing test order when there is nothing to close ("No position to
# close", "position not exist", and for a reduce-only order "The Reduce Only order can only
# decrease the position and not be used to open a position": its place-order error list).
# The order got that far.
NO_POSITION_CODES = frozenset({101205, 80017, 101290})
# Stop distance from the price when no strategy gives its stoploss.
DEFAULT_STOP_DISTANCE = 0.05
# Quantity above the market's minimum notional, so rounding cannot take it below.
MIN_COST_MARGIN = 1.05
# freqtrade's order settings for a strategy that sets none (IStrategy's defaults), with the
# stop order tested as well.
DEFAULT_ORDER_TYPES: dict[str, Any] = {
    "entry": "limit",
    "exit": "limit",
    "stoploss": "limit",
    "stoploss_on_exchange": True,
}


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status}  {self.name}: {self.detail}"


@dataclass
class Intent:
    """What the strategy would do: sides, order types, stoploss and leverage."""

    source: str
    sides: tuple[str, ...]
    order_types: dict[str, Any]
    time_in_force: dict[str, str]
    stoploss: float | None
    # (pair, side, current rate, account's max for the side) -> leverage asked for, or None
    leverage: Callable[[str, str, float, float], float | None]


def fixed_intent(config: dict[str, Any], leverage: float | None) -> Intent:
    """Without a strategy: ``--leverage`` (or freqtrade's default 1x) for long and short."""
    wanted = 1.0 if leverage is None else leverage
    source = "freqtrade's default 1x" if leverage is None else f"--leverage {leverage:g}"
    return Intent(
        source=source,
        sides=("long", "short"),
        order_types={**DEFAULT_ORDER_TYPES, **config.get("order_types", {})},
        time_in_force=dict(config.get("order_time_in_force", {})),
        stoploss=None,
        leverage=lambda pair, side, rate, maximum: wanted,
    )


def strategy_intent(config: dict[str, Any]) -> Intent:
    """Load ``config["strategy"]`` as freqtrade does and ask it what it would do."""
    from freqtrade.resolvers import StrategyResolver
    from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

    strategy = StrategyResolver.load_strategy(config)
    ask = strategy_safe_wrapper(strategy.leverage, default_retval=None)

    def leverage(pair: str, side: str, rate: float, maximum: float) -> float | None:
        return ask(
            pair=pair,
            current_time=datetime.now(UTC),
            current_rate=rate,
            proposed_leverage=1.0,
            max_leverage=maximum,
            entry_tag=None,
            side=side,
        )

    return Intent(
        source=f"strategy {config['strategy']}",
        sides=("long", "short") if strategy.can_short else ("long",),
        order_types=dict(strategy.order_types),
        time_in_force=dict(strategy.order_time_in_force),
        stoploss=strategy.stoploss,
        leverage=leverage,
    )


class Stop(Exception):
    """An access failure (key, IP, rate limit): further requests would only fail too."""


class Preflight:
    """The checks against one exchange object: the plugin's, built with ``dry_run`` off.

    Build it outside freqtrade's LIVE run mode (``cli.load_exchange`` does): in LIVE mode the
    exchange's start-up would apply ``exchange.position_mode`` to the account.
    """

    def __init__(self, exchange: Any, intent: Intent) -> None:
        self.exchange = exchange
        self.intent = intent
        self.checks: list[Check] = []
        self._mode: PositionMode | None = None
        self._positions: list[dict[str, Any]] | None = None
        self._rates: dict[str, float] = {}
        # (pair, "long" / "short") -> the leverage freqtrade would trade with
        self._leverage: dict[tuple[str, str], float] = {}
        # A test order BingX refused: no more sent this run (it blocks an endpoint after 20
        # failing requests in 8 minutes).
        self._refusals = RefusalMemory(for_s=UNTIL_CLEARED)

    @property
    def transport(self):
        return self.exchange.bingx

    @property
    def config(self) -> dict[str, Any]:
        return self.exchange._config

    @property
    def pairs(self) -> list[str]:
        return list(self.config.get("exchange", {}).get("pair_whitelist", []))

    def run(self) -> list[Check]:
        # Key and IP first, before ccxt loads markets: with a wrong key ccxt's market load
        # fails on its signed currency list, and freqtrade retries that four times.
        steps = [
            ("access", self._check_access),
            ("clock", self._check_clock),
            ("shared state", self._check_shared_state),
            ("markets", self._load_markets),
            ("position mode", self._check_position_mode),
            ("margin type", self._check_margin_types),
            ("leverage", self._check_leverage),
            ("orders", self._check_orders),
        ]
        for index, (_name, step) in enumerate(steps):
            try:
                step()
            except Stop:
                for name, _step in steps[index + 1 :]:
                    self._add(SKIP, name, "not checked: see the failure above")
                break
        return self.checks

    @property
    def failed(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    def verdict(self) -> str:
        failures = sum(c.status == FAIL for c in self.checks)
        warnings = sum(c.status == WARN for c in self.checks)
        if failures:
            return f"VERDICT: FAIL ({_count(failures, 'check')} failed): fix before going live"
        if warnings:
            return f"VERDICT: PASS with {_count(warnings, 'warning')}: read them before going live"
        return "VERDICT: PASS: the account fits the config"

    # --- helpers ----------------------------------------------------------------------------

    def _add(self, status: str, name: str, detail: str) -> None:
        self.checks.append(Check(status, name, detail))

    def _read(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """A signed GET through the plugin's transport; BingX errors stay BingxError."""
        return self.transport.request("GET", path, params)

    def _stop_on_access_error(self, name: str, error: BingxError, action: str) -> None:
        """FAIL and Stop for a key, IP or rate-limit error; anything else is for the caller."""
        translated = translate(error, action)
        if error.code in ACCESS_CODES or isinstance(translated, DDosProtection):
            self._add(FAIL, name, str(translated))
            raise Stop

    # --- the checks -------------------------------------------------------------------------

    def _check_access(self) -> None:
        try:
            self.transport.sync_time()
        except BingxError as e:
            self._add(FAIL, "BingX host", str(translate(e, "read BingX's server time")))
            raise Stop from None
        permissions = None
        signed_ok = False
        try:
            permissions = self._read(API_PERMISSIONS)
            signed_ok = True
        except BingxError as e:
            if e.code == IP_NOT_WHITELISTED:
                self._add(SKIP, "API key", "not checked: BingX refused this machine's IP first")
            self._stop_on_access_error(
                "IP whitelist" if e.code == IP_NOT_WHITELISTED else "API key",
                e,
                "read the API key's permissions",
            )
            self._add(
                WARN,
                "API key",
                f"permissions not readable ({translate(e, 'read them')}); the test orders "
                "below show whether the key may trade futures",
            )
        try:
            # The signed read freqtrade makes first; the mode also shapes the test orders.
            self._mode = self.exchange.refresh_position_mode()
            signed_ok = True
        except FreqtradeException as e:
            cause = e.__cause__
            if isinstance(cause, BingxError):
                name = "IP whitelist" if cause.code == IP_NOT_WHITELISTED else "API key"
                self._stop_on_access_error(name, cause, "read the position mode")
            self._add(FAIL, "position mode", str(e))
        if isinstance(permissions, dict):
            self._judge_permissions(permissions)
        elif permissions is not None:
            self._add(WARN, "API key", f"permission reply not understood: {permissions!r:.80}")
        if signed_ok and not any(c.name == "IP whitelist" for c in self.checks):
            self._add(PASS, "IP whitelist", "BingX accepted signed requests from this machine")

    def _judge_permissions(self, data: dict[str, Any]) -> None:
        granted = {whole(p) for p in _as_list(data.get("permissions"))} - {None}
        names = ", ".join(PERMISSION_NAMES.get(p, f"#{p}") for p in sorted(granted)) or "none"
        if FUTURES_TRADING not in granted:
            self._add(
                FAIL,
                "API key",
                f"works, but may not trade perpetual futures (permissions: {names}): enable "
                "'Perpetual Futures Trading' for this key on bingx.com > API management",
            )
        elif WITHDRAWAL in granted:
            self._add(
                WARN,
                "API key",
                f"works and may trade futures, but may also withdraw (permissions: {names}): "
                "a bot needs no withdrawal permission; create a key without it",
            )
        else:
            self._add(PASS, "API key", f"works and may trade futures (permissions: {names})")
        addresses = [str(a).strip() for a in _as_list(data.get("ipAddresses")) if str(a).strip()]
        if addresses:
            self._add(
                PASS,
                "IP whitelist",
                f"BingX admitted this machine; the key is bound to {_count(len(addresses), 'IP')}",
            )
        else:
            self._add(
                WARN,
                "IP whitelist",
                "the key is bound to no IP: anyone holding it can trade, and BingX deletes "
                "unbound trading keys after 14 days without use; bind it to this machine's IP",
            )

    def _check_clock(self) -> None:
        offset = self.transport.offset_ms
        window = self.transport.recv_window_ms
        where = f"BingX's clock is {abs(offset)} ms {'ahead of' if offset >= 0 else 'behind'} "
        where += f"this machine's (recvWindow {window} ms)"
        if abs(offset) >= window:
            self._add(
                FAIL,
                "clock",
                f"{where}: every request stamped with this clock is refused (80014). The "
                "plugin stamps with BingX's clock, but freqtrade times candles with yours: "
                "synchronise it (NTP)",
            )
        elif abs(offset) > CLOCK_TOLERANCE_MS:
            self._add(WARN, "clock", f"{where}: synchronise this machine's clock (NTP)")
        else:
            self._add(PASS, "clock", where)

    def _check_shared_state(self) -> None:
        path = self.exchange.shared_state_file()
        if path and path.startswith(("redis://", "rediss://")):
            problem = self.exchange.account_state_problem()
            if problem:
                self._add(
                    WARN,
                    "shared state",
                    f"{path} is unreachable ({problem}): this bot keeps to BingX's limits on "
                    "its own and trusts no remembered leverage until it answers",
                )
            else:
                self._add(
                    PASS,
                    "shared state",
                    f"{path}: reachable; rate limits, confirmed settings and BingX's blocks "
                    "shared with every bot naming this Redis and this BingX account",
                )
        elif path:
            self._add(
                PASS,
                "shared state",
                f"{path}: rate limits and confirmed settings shared with the bots on this "
                "machine that use this API key (or the same exchange.account_state_name)",
            )
        else:
            self._add(
                WARN,
                "shared state",
                "the account's state file cannot be used (see the log above): this bot keeps "
                "to BingX's limits on its own, and bots on this account together may exceed "
                "them; set exchange.account_state_dir to a writable local folder",
            )

    def _load_markets(self) -> None:
        self.exchange.reload_markets(True, load_leverage_tiers=False)
        if not self.exchange.markets:
            self._add(FAIL, "markets", "BingX's markets could not be loaded (see the log above)")
            raise Stop
        if not self.pairs:
            self._add(
                WARN,
                "pairs",
                "exchange.pair_whitelist is empty (a dynamic pairlist?): no pair was checked; "
                "list the pairs you expect to trade there for this check",
            )

    def _check_position_mode(self) -> None:
        if self._mode is None:
            return  # already failed above
        wanted = self.config.get("exchange", {}).get("position_mode", "auto")
        if wanted not in POSITION_MODES:
            self._add(
                FAIL,
                "position mode",
                f"exchange.position_mode must be one of {', '.join(POSITION_MODES)}, "
                f"not {wanted!r}",
            )
            return
        current = self._mode.value
        if wanted == "auto" or wanted == current:
            self._add(PASS, "position mode", f"the account is in {current} mode ({wanted})")
            return
        busy = self._open_symbols()
        if busy is None:
            return
        if busy:
            self._add(
                FAIL,
                "position mode",
                f"the account is in {current} mode, exchange.position_mode asks for {wanted}, "
                f"and {', '.join(busy)} have positions or orders open: freqtrade would stop "
                "at start-up. Close them and switch on bingx.com, or set position_mode 'auto'",
            )
        else:
            self._add(
                WARN,
                "position mode",
                f"the account is in {current} mode; freqtrade will switch it to {wanted} at "
                f"start-up (nothing is open). The test orders below use {current} mode",
            )

    def _open_symbols(self) -> list[str] | None:
        """Symbols with an open position or order (None after a failed read, reported)."""
        try:
            positions = self._positions_now()
            orders = self._read(OPEN_ORDERS) or {}
        except BingxError as e:
            self._stop_on_access_error("position mode", e, "read open positions and orders")
            self._add(FAIL, "position mode", str(translate(e, "read open positions and orders")))
            return None
        rows = _as_list(orders.get("orders")) if isinstance(orders, dict) else []
        symbols = {str(p.get("symbol")) for p in positions if _holds(p)}
        symbols |= {str(o.get("symbol")) for o in rows if isinstance(o, dict)}
        return sorted(symbols)

    def _positions_now(self) -> list[dict[str, Any]]:
        if self._positions is None:
            rows = account.get_positions(self.transport)
            self._positions = [p for p in _as_list(rows) if isinstance(p, dict)]
        return self._positions

    def _check_margin_types(self) -> None:
        target = MARGIN_TYPES.get(self.exchange.margin_mode)
        if target is None:
            self._add(FAIL, "margin type", "margin_mode must be isolated or cross for futures")
            return
        same, to_set, blocked = [], [], []
        for pair in self.pairs:
            symbol = self._symbol_or_fail("margin type", pair)
            if symbol is None:
                continue
            try:
                data = self._read(account.MARGIN_TYPE, {"symbol": symbol})
                positions = self._positions_now()
            except BingxError as e:
                self._stop_on_access_error("margin type", e, f"read margin type of {symbol}")
                self._add(FAIL, "margin type", str(translate(e, f"read margin type of {symbol}")))
                continue
            current = str((data or {}).get("marginType", "?")).upper()
            if current == target:
                same.append(symbol)
            elif any(_holds(p, symbol) for p in positions):
                blocked.append(f"{symbol} ({current})")
            else:
                to_set.append(f"{symbol} ({current})")
        if blocked:
            self._add(
                FAIL,
                "margin type",
                f"{', '.join(blocked)} not {target} with a position open: BingX refuses to "
                "change it and freqtrade would skip the pair. Close the position, or change "
                "margin_mode",
            )
        elif to_set:
            already = f"{target} on {', '.join(same)}; " if same else ""
            self._add(
                PASS,
                "margin type",
                f"{already}freqtrade sets {target} on {', '.join(to_set)} before the first "
                "entry (nothing open there)",
            )
        elif same:
            self._add(PASS, "margin type", f"{target} on all {_count(len(same), 'pair')}")

    def _symbol_or_fail(self, name: str, pair: str) -> str | None:
        try:
            return swap_symbol(self.exchange.markets, pair)
        except InvalidOrderException as e:
            self._add(FAIL, f"{name} {pair}", str(e))
            return None

    def _rate(self, pair: str) -> float:
        if pair not in self._rates:
            ticker = self.exchange.fetch_ticker(pair)
            rate = finite(ticker.get("last") or ticker.get("close")) or 0.0
            if not rate > 0:
                raise ValueError(f"no price for {pair} in BingX's ticker")
            self._rates[pair] = rate
        return self._rates[pair]

    def _check_leverage(self) -> None:
        for pair in self.pairs:
            name = f"leverage {pair}"
            symbol = self._symbol_or_fail("leverage", pair)
            if symbol is None:
                continue
            try:
                data = self._read(account.LEVERAGE, {"symbol": symbol})
                rate = self._rate(pair)
            except BingxError as e:
                self._stop_on_access_error(name, e, f"read leverage of {symbol}")
                self._add(FAIL, name, str(translate(e, f"read leverage of {symbol}")))
                continue
            except (FreqtradeException, ValueError) as e:
                self._add(FAIL, name, f"no price to ask the strategy with: {e}")
                continue
            maxima = {
                "long": finite((data or {}).get("maxLongLeverage")) or 0.0,
                "short": finite((data or {}).get("maxShortLeverage")) or 0.0,
            }
            self._judge_leverage(pair, name, rate, maxima)

    def _judge_leverage(self, pair: str, name: str, rate: float, maxima: dict[str, float]) -> None:
        problems, fine = [], []
        for side in self.intent.sides:
            maximum = maxima[side]
            if not maximum >= 1:
                problems.append(f"{side}: BingX gave no maximum leverage")
                continue
            asked = self.intent.leverage(pair, side, rate, maximum)
            if not _is_leverage(asked):
                problems.append(f"{side} asks {asked!r}, not a leverage >= 1")
                continue
            # What freqtrade sends: at least 1x, at most the maximum.
            self._leverage[(pair, side)] = min(float(asked), maximum)
            if asked > maximum:
                problems.append(
                    f"{side} asks {asked:g}x, the account allows at most {maximum:g}x "
                    f"(freqtrade would trade {maximum:g}x)"
                )
            else:
                fine.append(f"{side} {asked:g}x of at most {maximum:g}x")
        if problems:
            self._add(FAIL, name, "; ".join(problems) + f" ({self.intent.source})")
        else:
            self._add(PASS, name, ", ".join(fine) + f" ({self.intent.source})")

    # --- test orders --------------------------------------------------------------------------

    def _check_orders(self) -> None:
        # Exit and stop orders are tested once per side, on the first pair: with nothing open
        # BingX answers them "No position to close", an error it counts towards blocking the
        # endpoint, and they are built the same way for every pair.
        closing_tested: set[str] = set()
        for pair in self.pairs:
            for side in self.intent.sides:
                name = f"orders {pair} {side}"
                if (pair, side) not in self._leverage:
                    self._add(SKIP, name, "not tested: no usable leverage or price above")
                    continue
                refused = self._refusals.refused(ORDER_TEST)
                if refused is not None:
                    self._add(
                        SKIP,
                        name,
                        f"not sent: BingX refused a test order above ({refused}; it blocks an "
                        "endpoint after 20 failing requests in 8 minutes)",
                    )
                    continue
                self._test_orders(pair, side, name, closing=side not in closing_tested)
                closing_tested.add(side)

    def _test_orders(self, pair: str, side: str, name: str, closing: bool) -> None:
        entry_side: BuySell = "buy" if side == "long" else "sell"
        exit_side: BuySell = "sell" if side == "long" else "buy"
        try:
            orders = [("entry", self._order_request(pair, side, entry_side, "entry"))]
            if closing:
                orders.append(("exit", self._order_request(pair, side, exit_side, "exit")))
                if self.intent.order_types.get("stoploss_on_exchange"):
                    orders.append(("stop", self._stop_request(pair, exit_side, side)))
        except (FreqtradeException, ccxt.BaseError, ValueError, TypeError, KeyError) as e:
            self._add(FAIL, name, f"could not build the orders: {e!r}")
            return
        results = []
        for kind, request in orders:
            described = " ".join(str(request.get(key)) for key in ("type", "side", "positionSide"))
            try:
                reply = self.transport.request("POST", ORDER_TEST, request)
            except BingxError as e:
                if kind != "entry" and e.code in NO_POSITION_CODES:
                    results.append(f"{kind} {described}: nothing to close yet ({e.code} {e.msg})")
                    continue
                self._refusals.remember(ORDER_TEST, e)
                self._stop_on_access_error(name, e, f"test the {kind} order")
                self._add(
                    FAIL, name, f"{kind} {described}: {translate(e, f'test the {kind} order')}"
                )
                return
            if not (isinstance(reply, dict) and isinstance(reply.get("order"), dict)):
                self._add(WARN, name, f"{kind} {described}: reply not understood: {reply!r:.80}")
                return
            results.append(f"{kind} {described}: accepted")
        quantity = orders[0][1].get("quantity")
        self._add(PASS, name, f"{'; '.join(results)} (test orders, quantity {quantity})")

    def _order_request(self, pair: str, position: str, side: BuySell, kind: str) -> dict:
        """The request ccxt would send for freqtrade's create_order, built the same way.

        ``kind`` is "entry" or "exit"; ``position`` the side traded, "long" or "short".
        """
        exchange = self.exchange
        ordertype = self.intent.order_types.get(kind, "limit")
        tif = self.intent.time_in_force.get(kind, "GTC")
        leverage = self._leverage[(pair, position)]
        params = exchange._get_params(side, ordertype, leverage, kind == "exit", tif)
        rate = self._rate(pair)
        price = None
        if exchange._order_needs_price(side, ordertype):
            price = exchange.price_to_precision(pair, rate)
        return exchange._api.create_order_request(
            pair, ordertype, side, self._tiny_amount(pair), price, params
        )

    def _stop_request(self, pair: str, side: BuySell, position: str) -> dict:
        """The request ccxt would send for freqtrade's create_stoploss, built the same way."""
        exchange = self.exchange
        order_types = self.intent.order_types
        rate = self._rate(pair)
        leverage = self._leverage[(pair, position)]
        distance = DEFAULT_STOP_DISTANCE
        if self.intent.stoploss is not None:
            distance = min(max(abs(self.intent.stoploss) / leverage, 0.005), 0.5)
        stop = rate * (1 - distance) if side == "sell" else rate * (1 + distance)
        ordertype, user_type = exchange._get_stop_order_type(order_types.get("stoploss", "market"))
        rounding = ROUND_DOWN if side == "buy" else ROUND_UP
        stop = exchange.price_to_precision(pair, stop, rounding_mode=rounding)
        limit = None
        if user_type == "limit":
            limit = exchange._get_stop_limit_rate(stop, order_types, side)
            limit = exchange.price_to_precision(pair, limit, rounding_mode=rounding)
        # The bot's own builder: what its create_stoploss sends (orders.py).
        params = exchange.stop_order_params(side, ordertype, stop, order_types)
        return exchange._api.create_order_request(
            pair, ordertype, side, self._tiny_amount(pair), limit, params
        )

    def _tiny_amount(self, pair: str) -> float:
        """The market's smallest quantity that also meets its minimum notional."""
        market = self.exchange.markets[pair]
        limits = market.get("limits") or {}
        step = Decimal(str(market["precision"]["amount"]))
        least = Decimal(str((limits.get("amount") or {}).get("min") or step))
        min_cost = (limits.get("cost") or {}).get("min") or 0
        by_cost = Decimal(str(min_cost * MIN_COST_MARGIN / self._rate(pair)))
        steps = (max(least, by_cost, step) / step).to_integral_value(rounding=ROUND_CEILING)
        return float(steps * step)


def run(exchange: Any, intent: Intent) -> tuple[list[str], int]:
    """The report's lines and the exit status (1 when a check failed)."""
    preflight = Preflight(exchange, intent)
    mode = exchange._config.get("exchange", {}).get("position_mode", "auto")
    header = (
        f"BingX preflight against {exchange.bingx.base_url}: position_mode {mode}, "
        f"margin_mode {exchange.margin_mode.value}, leverage from {intent.source}"
    )
    checks = preflight.run()
    lines = [header, *(c.line() for c in checks), preflight.verdict()]
    return lines, 1 if preflight.failed else 0


def _holds(position: dict[str, Any], symbol: str | None = None) -> bool:
    """An open position (on ``symbol``, if given)."""
    return bool(finite(position.get("positionAmt"))) and symbol in (None, position.get("symbol"))


def _is_leverage(value: Any) -> bool:
    # numbers.Real: a strategy may answer with a numpy number.
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 1
    )


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []

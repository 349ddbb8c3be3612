"""freqtrade's BingX exchange class, extended for USDT-M perpetual futures.

freqtrade's generic leverage hook calls ccxt's ``set_leverage(symbol, leverage)`` without the
``side`` BingX requires, and ccxt maps several BingX error codes in ways that mislead a bot.
:class:`BingxFuturesMixin` sets leverage and margin type through the plugin's own transport,
with the position side the account's position mode needs, and turns BingX errors into the
freqtrade exceptions that make the bot retry, back off, skip the pair or stop.
"""

import logging
import math
import re
import threading
import time
from collections.abc import Callable
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

import ccxt
from freqtrade.constants import BuySell
from freqtrade.enums import MarginMode, RunMode, TradingMode
from freqtrade.exceptions import (
    ConfigurationError,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)
from freqtrade.exchange.bingx import Bingx as FreqtradeBingx
from freqtrade.exchange.common import retrier
from freqtrade.exchange.exchange_types import FtHas

from freqtrade_bingx import __version__, account, ccxt_guard, redact
from freqtrade_bingx.clock import ServerClock
from freqtrade_bingx.errors import PositionModeMismatch, translate
from freqtrade_bingx.futures_data import BingxFuturesDataMixin
from freqtrade_bingx.orders import STOPLOSS_FT_HAS_FUTURES, BingxOrdersMixin
from freqtrade_bingx.position_mode import PositionMode, PositionSide, position_side
from freqtrade_bingx.throttle import RATE_LIMIT_STATUSES, BlockRegistry
from freqtrade_bingx.transport import (
    DEFAULT_RECV_WINDOW_MS,
    RATE_LIMIT_CODE,
    BingxError,
    BingxTransport,
    redact_signatures,
)


logger = logging.getLogger(__name__)

MARGIN_TYPES = {MarginMode.ISOLATED: "ISOLATED", MarginMode.CROSS: "CROSSED"}
POSITION_MODE_SETTINGS = ("auto", "one_way", "hedge")
# A setting BingX refused for good (unknown symbol, leverage too high, risk control ...) is
# answered locally with the same error for this long instead of being sent again: BingX blocks
# an endpoint after more than 20 failing requests in 8 minutes, and freqtrade retries an entry
# on every loop while the strategy's signal lasts.
REFUSAL_MEMORY_S = 600.0


def swap_base_url(api: Any) -> str:
    """The host ccxt uses for BingX swaps, so one setting moves both ccxt and the plugin.

    ccxt's ``urls['api']['swap']`` looks like ``https://open-api.{hostname}/openApi``; sandbox
    mode and ``exchange.ccxt_config`` ``urls`` / ``hostname`` change it.
    """
    url = api.implode_hostname(api.urls["api"]["swap"]).rstrip("/")
    return url.removesuffix("/openApi")


class BingxFuturesMixin:
    """Leverage, margin type and position mode for BingX USDT-M perpetual swaps."""

    _supported_trading_mode_margin_pairs: list[tuple[TradingMode, MarginMode]] = [
        (TradingMode.SPOT, MarginMode.NONE),
        (TradingMode.FUTURES, MarginMode.ISOLATED),
        (TradingMode.FUTURES, MarginMode.CROSS),
    ]

    _ft_has_futures: FtHas = {
        "ccxt_futures_name": "swap",
        **STOPLOSS_FT_HAS_FUTURES,
    }

    def __init__(self, config: dict, *args, **kwargs) -> None:
        logger.info("freqtrade-bingx %s: BingX USDT-M futures adapter in use", __version__)
        # freqtrade blanks key and secret in its config (and, in dry-run, never gives them to
        # ccxt). Kept for read-only requests such as leverage tiers.
        exchange_conf = kwargs.get("exchange_config") or config.get("exchange", {})
        self._configured_key = exchange_conf.get("api_key") or exchange_conf.get("key") or ""
        self._configured_secret = exchange_conf.get("secret") or ""
        redact.install()
        redact.remember(self._configured_key, self._configured_secret)
        # Shared by ccxt's objects and the transport: a block BingX announces to one holds for
        # all, and all stamp requests with the same measured clock.
        self._bingx_blocks = BlockRegistry()
        self._bingx_clock = ServerClock()
        # Set before freqtrade's __init__, which calls additional_exchange_init.
        self._bingx_transport: BingxTransport | None = None
        self._position_mode: PositionMode | None = None
        # What BingX confirmed, so an unchanged setting costs no request.
        self._leverage_confirmed: dict[tuple[str, PositionSide], int] = {}
        self._margin_type_confirmed: dict[str, str] = {}
        # Requests BingX refused for good: key -> (monotonic time to forget it, the error).
        self._refusals: dict[tuple, tuple[float, InvalidOrderException]] = {}
        self._stoploss_call = threading.local()
        super().__init__(config, *args, **kwargs)

    # --- transport ----------------------------------------------------------------------

    def _init_ccxt(self, exchange_config: dict[str, Any], sync: bool, ccxt_kwargs: dict):
        api = super()._init_ccxt(exchange_config, sync, ccxt_kwargs)
        self._apply_network_rules(api, sync)
        redact_ccxt_errors(api, sync)
        futures = self.trading_mode == TradingMode.FUTURES
        live_futures = futures and not self._config["dry_run"]
        if live_futures:
            # ccxt's BingX stamps signed requests with the local clock and never corrects
            # drift, so a clock off by more than recvWindow fails every order with 80014.
            # Stamp them with BingX's clock as the transport measures it instead, and re-read
            # that clock after BingX rejects one of ccxt's timestamps (below). Only the sync
            # object may read the clock: the async one runs inside freqtrade's event loop,
            # where a blocking request would stall everything, so it takes the last offset.
            if sync:
                api.nonce = lambda: api.milliseconds() + self._bingx_clock_offset_ms()
            else:
                api.nonce = lambda: api.milliseconds() + self._bingx_clock.offset_ms
        handle_errors = api.handle_errors

        def check_reply(code, reason, url, method, headers, body, response, *rest):
            if futures and code == 200 and not is_bingx_envelope(response):
                # ccxt would read a truncated or non-JSON 200 reply as an empty result (an
                # order with id None, which freqtrade then records as a trade). Spot is left
                # as freqtrade's stock Bingx has it.
                raise ccxt.ExchangeNotAvailable(
                    f"{api.id} {method} {urlsplit(url).path}: reply is not a BingX envelope"
                )
            if live_futures and body and CCXT_CLOCK_ERROR.search(body):
                self._bingx_clock.mark_stale()
            self._note_bingx_block(url, code, headers, response)
            return handle_errors(code, reason, url, method, headers, body, response, *rest)

        api.handle_errors = check_reply
        return api

    def _apply_network_rules(self, api: Any, sync: bool) -> None:
        """The plugin's rules on a ccxt object: plain http only to loopback in every URL
        section, a deadline and a size cap on every request, no request to a blocked
        endpoint, no key or signature in ccxt's verbose output."""
        try:
            ccxt_guard.check_urls(api)
        except ValueError as e:
            raise ConfigurationError(f"BingX: {e}") from None
        redact.remember(api.apiKey, api.secret)
        ccxt_guard.bound_requests(api, sync)
        ccxt_guard.refuse_blocked(api, sync, self._bingx_blocks)
        ccxt_guard.redact_verbose_log(api)

    def _note_bingx_block(self, url: str, status: Any, headers: Any, reply: Any) -> None:
        """Record a block BingX announced in a reply to ccxt (100410, 429/418 Retry-After),
        in the registry the transport uses too."""
        path = urlsplit(url).path
        if status in RATE_LIMIT_STATUSES:
            self._bingx_blocks.note_retry_after(path, status, headers, time.time())
        if is_bingx_envelope(reply) and _as_int(reply.get("code")) == RATE_LIMIT_CODE:
            server_now_ms = int(time.time() * 1000) + self._bingx_clock.offset_ms
            msg = str(reply.get("msg") or "")
            self._bingx_blocks.note_rate_limit(path, msg, headers, server_now_ms)

    def _bingx_clock_offset_ms(self) -> int:
        """BingX's clock minus ours; read on first use and after a timestamp error, unless a
        failed reading put the next one off (the transport logs why)."""
        if self.can_sign():
            self.bingx.refresh_clock_if_due()
        return self._bingx_clock.offset_ms

    @property
    def bingx(self) -> BingxTransport:
        """The signed transport, built on first use.

        Live trading uses it for every account setting; dry-run and backtesting only for the
        read-only tier endpoint, and only when the config has keys.
        """
        if self._bingx_transport is None:
            exchange_conf = self._config.get("exchange", {})
            try:
                key, secret = self._credentials()
                self._bingx_transport = BingxTransport(
                    key,
                    secret,
                    swap_base_url(self._api),
                    recv_window_ms=exchange_conf.get("recv_window", DEFAULT_RECV_WINDOW_MS),
                    rate_limits=_rate_limit_overrides(exchange_conf),
                    blocks=self._bingx_blocks,
                    server_clock=self._bingx_clock,
                )
            except ValueError as e:
                raise OperationalException(f"BingX futures: {e}") from e
        return self._bingx_transport

    def _credentials(self) -> tuple[str, str]:
        # ccxt's object first: freqtrade blanks its config's copy at run time.
        key = self._api.apiKey or self._configured_key
        secret = self._api.secret or self._configured_secret
        return key, secret

    def can_sign(self) -> bool:
        return all(self._credentials())

    def _call(self, action: str, endpoint: Callable[..., Any], *args: Any) -> Any:
        try:
            return endpoint(self.bingx, *args)
        except BingxError as e:
            raise translate(e, action) from e

    def _symbol(self, pair: str) -> str:
        market = self.markets.get(pair)
        if not market or not market.get("swap"):
            raise InvalidOrderException(
                f"{pair} is not a BingX USDT-M perpetual swap market; nothing was sent"
            )
        return market["id"]

    # --- start-up -------------------------------------------------------------------------

    @retrier
    def additional_exchange_init(self) -> None:
        super().additional_exchange_init()
        if (
            self.trading_mode != TradingMode.FUTURES
            or self._config["dry_run"]
            or self._config.get("runmode") != RunMode.LIVE
        ):
            return
        self.refresh_position_mode()
        self.apply_position_mode_setting()

    def refresh_position_mode(self) -> PositionMode:
        """Read the account's position mode; forget confirmed settings if it changed."""
        data = self._call("read the position mode", account.get_position_mode)
        try:
            mode = PositionMode.from_dual_side((data or {})["dualSidePosition"])
        except (KeyError, TypeError, ValueError) as e:
            raise TemporaryError(f"BingX position mode reply not understood: {data!r}") from e
        if self._position_mode is not None and mode is not self._position_mode:
            logger.warning(
                "BingX position mode changed from %s to %s", self._position_mode.value, mode.value
            )
            self._forget_confirmed()
        if self._position_mode is not mode:
            logger.info("BingX account position mode: %s", mode.value)
        self._position_mode = mode
        return mode

    @property
    def position_mode(self) -> PositionMode:
        return self._position_mode or self.refresh_position_mode()

    def apply_position_mode_setting(self) -> None:
        """Honour ``exchange.position_mode`` (``auto``, ``one_way`` or ``hedge``)."""
        wanted = self._config.get("exchange", {}).get("position_mode", "auto")
        if wanted not in POSITION_MODE_SETTINGS:
            raise ConfigurationError(
                f"exchange.position_mode must be one of {', '.join(POSITION_MODE_SETTINGS)}, "
                f"not {wanted!r}"
            )
        if wanted == "auto" or PositionMode(wanted) is self.position_mode:
            return
        self.set_position_mode(PositionMode(wanted))

    def set_position_mode(self, mode: PositionMode) -> None:
        """Switch the account's position mode; BingX allows it only with nothing open."""
        current = self.position_mode
        if mode is current:
            return
        positions = self._call("read open positions", account.get_positions)
        open_symbols = sorted(
            {str(p.get("symbol")) for p in positions if _as_float(p.get("positionAmt")) != 0}
        )
        if open_symbols:
            raise OperationalException(
                f"BingX account is in {current.value} mode and exchange.position_mode asks for "
                f"{mode.value}, but positions are open ({', '.join(open_symbols)}). Close them "
                "(and their orders) on BingX, or set exchange.position_mode to 'auto'."
            )
        try:
            self._call("switch the position mode", account.set_position_mode, mode.dual_side)
        except TemporaryError as e:
            raise OperationalException(
                f"Could not switch BingX to {mode.value} mode ({e}). Cancel open orders on "
                "BingX, or set exchange.position_mode to 'auto'."
            ) from e
        logger.info("BingX position mode switched from %s to %s", current.value, mode.value)
        self._forget_confirmed()
        self._position_mode = mode

    def _forget_confirmed(self) -> None:
        self._leverage_confirmed.clear()
        self._margin_type_confirmed.clear()
        self._refusals.clear()

    def _unless_refused(self, key: tuple, send: Callable[[], Any]) -> Any:
        """``send()``, unless BingX refused the same request for good a short while ago."""
        held = self._refusals.get(key)
        if held is not None:
            forget_at, error = held
            if monotonic() < forget_at:
                raise type(error)(f"{error} [not sent again: BingX refused this request]")
            del self._refusals[key]
        try:
            return send()
        except InvalidOrderException as e:
            self._refusals[key] = (monotonic() + REFUSAL_MEMORY_S, e)
            raise

    # --- freqtrade hooks ------------------------------------------------------------------

    def create_stoploss(self, *args, **kwargs):
        # freqtrade's create_stoploss calls _lev_prep with the *exit* side. In hedge mode that
        # side names the opposite position, so leverage is left alone on this path.
        self._stoploss_call.active = True
        try:
            return super().create_stoploss(*args, **kwargs)
        finally:
            self._stoploss_call.active = False

    def _lev_prep(self, pair: str, leverage: float, side: BuySell, accept_fail: bool = False):
        if self.trading_mode != TradingMode.FUTURES or self._config["dry_run"]:
            return super()._lev_prep(pair, leverage, side, accept_fail)
        if getattr(self._stoploss_call, "active", False):
            logger.debug("Stoploss for %s: leverage left as it is", pair)
            return
        self.set_margin_mode(pair, self.margin_mode, accept_fail)
        self._set_leverage(leverage, pair, accept_fail, side=side)

    @retrier
    def _set_leverage(
        self,
        leverage: float,
        pair: str | None = None,
        accept_fail: bool = False,
        side: BuySell = "buy",
    ) -> int | None:
        """Set the leverage of the position an entry on ``side`` opens or adds to.

        Returns the whole-number leverage BingX confirmed, None when nothing was set.
        """
        if self._config["dry_run"] or self.trading_mode != TradingMode.FUTURES:
            return None
        if pair is None:
            raise OperationalException("BingX sets leverage per pair, and no pair was given")
        try:
            return self._ensure_leverage(pair, leverage, side)
        except InvalidOrderException as e:
            if not accept_fail:
                raise
            logger.warning("%s (accepted, going on)", e)
            return None

    @retrier
    def set_margin_mode(
        self,
        pair: str,
        margin_mode: MarginMode,
        accept_fail: bool = False,
        params: dict | None = None,
    ) -> None:
        if self._config["dry_run"] or self.trading_mode != TradingMode.FUTURES:
            return
        try:
            self._ensure_margin_type(pair, margin_mode)
        except InvalidOrderException as e:
            if not accept_fail:
                raise
            logger.warning("%s (accepted, going on)", e)

    # --- leverage and margin type ---------------------------------------------------------

    def _ensure_leverage(self, pair: str, leverage: float, side: BuySell) -> int:
        symbol = self._symbol(pair)
        pos_side = position_side(self.position_mode, side)
        target = self.whole_leverage(pair, leverage, pos_side)
        if self._leverage_confirmed.get((symbol, pos_side)) == target:
            return target
        try:
            self._send_leverage(symbol, pos_side, target)
        except PositionModeMismatch as first:
            # The account's mode changed under us (the user switched it on bingx.com):
            # re-read it once and retry once with the side the new mode needs.
            retry_side = position_side(self.refresh_position_mode(), side)
            if retry_side == pos_side:
                raise _mode_help(pair, first) from first
            try:
                self._send_leverage(symbol, retry_side, target)
            except PositionModeMismatch as second:
                raise _mode_help(pair, second) from second
        return target

    def _send_leverage(self, symbol: str, pos_side: PositionSide, leverage: int) -> None:
        self._leverage_confirmed.pop((symbol, pos_side), None)
        action = f"set leverage {leverage}x ({pos_side}) on {symbol}"
        self._unless_refused(
            ("leverage", symbol, pos_side, leverage),
            lambda: self._call(action, account.set_leverage, symbol, pos_side, leverage),
        )
        self._leverage_confirmed[(symbol, pos_side)] = leverage
        logger.info("BingX leverage for %s %s set to %dx", symbol, pos_side, leverage)

    def whole_leverage(self, pair: str, leverage: float, pos_side: PositionSide) -> int:
        """BingX takes whole numbers: floor (never round risk up), clamp to the pair's max."""
        if (
            isinstance(leverage, bool)
            or not isinstance(leverage, int | float)
            or not math.isfinite(leverage)
            or leverage < 1
        ):
            raise InvalidOrderException(
                f"Leverage for {pair} must be a finite number >= 1, got {leverage!r}; "
                "nothing was sent to BingX"
            )
        whole = math.floor(leverage)
        maximum = self.max_leverage_for_side(pair, pos_side)
        if maximum is not None and whole > maximum:
            whole = maximum
        if whole != leverage:
            logger.warning(
                "Leverage %s for %s %s sent as %dx (BingX takes whole numbers up to %s)",
                leverage,
                pair,
                pos_side,
                whole,
                maximum,
            )
        return whole

    def max_leverage_for_side(self, pair: str, pos_side: PositionSide) -> int | None:
        """The contract's maximum from BingX's contract info, per side; None if unknown."""
        info = (self.markets.get(pair) or {}).get("info") or {}
        longs = _as_int(info.get("maxLongLeverage"))
        shorts = _as_int(info.get("maxShortLeverage"))
        if pos_side == "LONG":
            return longs
        if pos_side == "SHORT":
            return shorts
        known = [m for m in (longs, shorts) if m is not None]
        return min(known) if known else None

    def _ensure_margin_type(self, pair: str, margin_mode: MarginMode) -> None:
        symbol = self._symbol(pair)
        target = MARGIN_TYPES.get(margin_mode)
        if target is None:
            raise ConfigurationError(f"BingX futures support isolated or cross, not {margin_mode}")
        if self._margin_type_confirmed.get(symbol) == target:
            return
        self._margin_type_confirmed.pop(symbol, None)
        self._unless_refused(
            ("margin type", symbol, target), lambda: self._set_margin_type(symbol, target)
        )
        self._margin_type_confirmed[symbol] = target

    def _set_margin_type(self, symbol: str, target: str) -> None:
        data = self._call(f"read margin type of {symbol}", account.get_margin_type, symbol)
        current = str((data or {}).get("marginType", "")).upper()
        if current != target:
            self._call(
                f"set margin type {target} on {symbol}", account.set_margin_type, symbol, target
            )
            logger.info("BingX margin type for %s set to %s (was %s)", symbol, target, current)


# A BingX timestamp error in a reply body ccxt received: {"code":80014,...} / "100421".
CCXT_CLOCK_ERROR = re.compile(r'"code"\s*:\s*"?(80014|100421)\b')


def is_bingx_envelope(response: Any) -> bool:
    """BingX answers every REST call with ``{"code": ..., "msg": ..., "data": ...}``."""
    return isinstance(response, dict) and "code" in response


def redact_ccxt_errors(api: Any, sync: bool) -> None:
    """Remove signatures from the messages of ccxt's errors before anyone logs them.

    ccxt's network errors quote the request URL, and BingX's signature travels in it; freqtrade
    logs those messages. The original exception is not chained, since it holds the same text.
    """
    fetch = api.fetch

    def redacted(error: ccxt.BaseError) -> ccxt.BaseError:
        return type(error)(redact_signatures(str(error)))

    if sync:

        def fetch_redacted(*args, **kwargs):
            try:
                return fetch(*args, **kwargs)
            except ccxt.BaseError as e:
                raise redacted(e) from None

    else:

        async def fetch_redacted(*args, **kwargs):
            try:
                return await fetch(*args, **kwargs)
            except ccxt.BaseError as e:
                raise redacted(e) from None

    api.fetch = fetch_redacted


def _mode_help(pair: str, error: Exception) -> OperationalException:
    return OperationalException(
        f"BingX refused the position side for {pair} even after re-reading the account's "
        f"position mode ({error}). Check the mode on BingX (Perpetual futures > Preferences > "
        "Position mode) or set exchange.position_mode to 'one_way' or 'hedge'."
    )


def _rate_limit_overrides(exchange_conf: dict) -> dict[tuple[str, str], float]:
    per_second = exchange_conf.get("leverage_rate_limit")
    if per_second is None:
        return {}
    return {("POST", account.LEVERAGE): float(per_second)}


def _as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class Bingx(BingxOrdersMixin, BingxFuturesMixin, BingxFuturesDataMixin, FreqtradeBingx):
    """freqtrade's ``Bingx`` with USDT-M perpetual futures (registered by the plugin)."""

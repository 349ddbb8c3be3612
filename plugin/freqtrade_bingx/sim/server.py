"""A BingX-compatible fake exchange served over real loopback sockets (stdlib only).

It exists so the plugin and ccxt can be exercised end to end (real HTTP, real signing,
real timeouts and dropped connections) without touching BingX. Only the endpoints the
plugin needs are modelled; their envelopes mimic BingX's quirks (``code`` as ``0`` or
``"0"``, numbers as strings in places, ``dualSidePosition`` as a string).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import http
import ipaddress
import json
import logging
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from freqtrade_bingx.bingx.rate_limits import page_limits

from . import income
from .accounts import (
    MARGIN_TYPES,
    Account,
    default_contracts,
    default_mark_prices,
    default_max_leverage,
    leverage_tiers,
    normalize_contracts,
)
from .errors import ApiError
from .faults import RATE_LIMITED_MSG, Fault, FaultQueue
from .liquidation import LIQUIDATION, LiquidationEngine
from .market import FUNDING_INTERVAL_HOURS, INTERVALS, MINUTE_MS, PriceModel
from .orders import TradingEngine
from .ws_market import PING_INTERVAL_S, PUSH_INTERVAL_S, MarketStream


logger = logging.getLogger(__name__)

API_PREFIX = "/openApi"
SERVER_TIME_PATH = "/openApi/swap/v2/server/time"
CONTRACTS_PATH = "/openApi/swap/v2/quote/contracts"
CSWAP_CONTRACTS_PATH = "/openApi/cswap/v1/market/contracts"
SPOT_SYMBOLS_PATH = "/openApi/spot/v1/common/symbols"
PREMIUM_INDEX_PATH = "/openApi/swap/v2/quote/premiumIndex"
CURRENCIES_PATH = "/openApi/wallets/v1/capital/config/getall"
DUAL_PATH = "/openApi/swap/v1/positionSide/dual"
LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
MARGIN_TYPE_PATH = "/openApi/swap/v2/trade/marginType"
TIERS_PATH = "/openApi/swap/v1/maintMarginRatio"
POSITIONS_PATH = "/openApi/swap/v2/user/positions"
BALANCE_PATH = "/openApi/swap/v2/user/balance"
BALANCE_V3_PATH = "/openApi/swap/v3/user/balance"
INCOME_PATH = "/openApi/swap/v2/user/income"
ASSET_MODE_PATH = "/openApi/swap/v1/trade/assetMode"
COMMISSION_RATE_PATH = "/openApi/swap/v2/user/commissionRate"
# Market data, as ccxt 4.5.90 calls it for linear swaps.
KLINES_PATH = "/openApi/swap/v3/quote/klines"
MARK_KLINES_PATH = "/openApi/swap/v1/market/markPriceKlines"  # fetch_ohlcv(price='mark')
TICKER_PATH = "/openApi/swap/v2/quote/ticker"
DEPTH_PATH = "/openApi/swap/v2/quote/depth"
TRADES_PATH = "/openApi/swap/v2/quote/trades"
FUNDING_RATE_PATH = "/openApi/swap/v2/quote/fundingRate"
# Trading.
ORDER_PATH = "/openApi/swap/v2/trade/order"  # POST create, GET query, DELETE cancel
OPEN_ORDERS_PATH = "/openApi/swap/v2/trade/openOrders"
ALL_OPEN_ORDERS_PATH = "/openApi/swap/v2/trade/allOpenOrders"  # DELETE: cancel_all_orders
ALL_ORDERS_PATH = "/openApi/swap/v2/trade/allOrders"  # fetch_closed/canceled_orders
FULL_ORDER_PATH = "/openApi/swap/v1/trade/fullOrder"  # fetch_orders
FILLS_PATH = "/openApi/swap/v2/trade/allFillOrders"  # fetch_my_trades
# Liquidation and ADL orders (get_openapi_swap_v2_trade_forceorders.md), see liquidation.py.
FORCE_ORDERS_PATH = "/openApi/swap/v2/trade/forceOrders"
ORDER_TEST_PATH = "/openApi/swap/v2/trade/order/test"  # validates, places nothing
# BingX's "Query user API Key permissions" (common / sub-account section of its API docs).
API_PERMISSIONS_PATH = "/openApi/v1/account/apiPermissions"

# Every section of ccxt 4.5.90's bingx urls['api']; hard-coded because sim/ must not import ccxt.
CCXT_URL_SECTIONS = (
    "fund",
    "spot",
    "swap",
    "contract",
    "wallets",
    "user",
    "subAccount",
    "account",
    "copyTrading",
    "cswap",
    "api",
)

# Server-side limits per (api key, method, path) in requests per rolling second: the figure
# each of BingX's endpoint pages states per UID, for every private endpoint modelled here (the
# table with its page per row is freqtrade_bingx/bingx/rate_limits.py). Market data is limited per
# IP
# group only (500 requests per 10 s), which is not modelled.
DEFAULT_RATE_LIMITS: dict[tuple[str, str], float | None] = dict(page_limits())
TICK_INTERVAL_S = 0.2

FUNDING_INTERVAL_MS = FUNDING_INTERVAL_HOURS * 3600 * 1000
_POSITIVE_INT = re.compile(r"[1-9][0-9]*")
TIMESTAMP_MISMATCH_MSG = (
    "Null timestamp or timestamp mismatch, try to run our sample code from the link "
    "https://bingx-api.github.io/docs/#/en-us/spot/account-api.html#Query%20Assets"
)


@dataclass
class RequestRecord:
    """One request that reached an API path (``/_sim/*`` control calls are not recorded)."""

    method: str
    path: str
    params: dict[str, str]
    api_key: str | None
    http_status: int | None = None
    code: int | None = None
    t: int = 0
    msg: str = ""


@dataclass
class _Ctx:
    method: str
    path: str
    params: dict[str, str]
    account: Account | None


@dataclass
class _Reply:
    payload: dict[str, Any]
    http_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


_Endpoint = Callable[[_Ctx], _Reply]


def _ok(data: Any = None, *, code: int | str = 0, **extra: Any) -> _Reply:
    payload: dict[str, Any] = {"code": code, "msg": ""}
    payload.update(extra)
    if data is not None:
        payload["data"] = data
    return _Reply(payload)


def _int_code(code: Any) -> int | None:
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


class _SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Tests open and close many keep-alive connections; a larger backlog avoids refusals.
    request_queue_size = 64

    def __init__(self, addr: tuple[str, int], sim: FakeBingx) -> None:
        self.sim = sim
        super().__init__(addr, _Handler)


class FakeBingx:
    """The fake exchange. See the package docstring for the public interface."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        hedge_mode: bool = False,
        recv_window_default_ms: int = 5000,
        accounts: dict[str, str] | None = None,
        more_keys: dict[str, tuple[str, str]] | None = None,
        leverage_rate_limit_per_s: float | None = DEFAULT_RATE_LIMITS[("POST", LEVERAGE_PATH)],
        contracts: list[dict[str, Any]] | None = None,
        mark_prices: dict[str, float] | None = None,
        rate_limits: dict[tuple[str, str], float | None] | None = None,
        seed: int | str = 1,
        volatility: float = 0.0005,
        anchor_ms: int | None = None,
        balance: float | None = None,
        rate_limit_recovery_s: float = 0.0,
        premium_index_interval: bool = False,
        clock_ms: Callable[[], int] | None = None,
        ws_push_interval_s: float | None = PUSH_INTERVAL_S,
        ws_ping_interval_s: float | None = PING_INTERVAL_S,
    ) -> None:
        if host == "localhost":
            host = "127.0.0.1"
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback or ":" in host:
            # It answers any request signed with well-known test keys: never expose it.
            raise ValueError(f"FakeBingx only binds to IPv4 loopback, not {host!r}")
        self.recv_window_default_ms = recv_window_default_ms
        self.clock_skew_ms = 0
        # The server's clock (ms): the wall clock unless a test moves its own.
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        if accounts is None:
            accounts = {"test-key": "test-secret"}
        self._accounts = {
            key: Account(api_key=key, secret=secret, hedge_mode=hedge_mode)
            for key, secret in accounts.items()
        }
        # One BingX account (UID) may hold several API keys: ``more_keys`` maps each extra key
        # to (its secret, the key of the account in ``accounts``). They share the account's
        # positions and settings, and its rate limits, which BingX counts per UID
        # (rate_limits.md: "Based on account UID rate limit"; each endpoint page: "rate
        # limitation by UID").
        self._secrets = dict(accounts)
        self._account_of = dict(self._accounts)
        for key, (secret, owner) in (more_keys or {}).items():
            if owner not in self._accounts or key in self._account_of:
                raise ValueError(f"more_keys: {key!r} must be a new key of an account in accounts")
            self._secrets[key] = secret
            self._account_of[key] = self._accounts[owner]
        if balance is not None:
            for acct in self._accounts.values():
                acct.balance = float(balance)
        self.contracts = normalize_contracts(contracts) if contracts else default_contracts()
        self._contract_by_symbol = {c["symbol"]: c for c in self.contracts}
        initial = default_mark_prices()
        if mark_prices:
            initial.update(mark_prices)
        # Prices: a seeded walk per symbol, equal to ``initial`` at anchor_ms (default: now).
        self.market = PriceModel(
            {c["symbol"]: float(initial.get(c["symbol"], 1.0)) for c in self.contracts},
            anchor_ms=self.server_time_ms() if anchor_ms is None else int(anchor_ms),
            seed=seed,
            volatility=volatility,
        )
        self.engine = TradingEngine(
            self.market,
            lambda symbol: self._contract({"symbol": symbol}),
            self.server_time_ms,
            lambda: list(self._accounts.values()),
        )
        self.liquidations = LiquidationEngine(self.engine)
        self.rate_limits: dict[tuple[str, str], float | None] = dict(DEFAULT_RATE_LIMITS)
        self.rate_limits[("POST", LEVERAGE_PATH)] = leverage_rate_limit_per_s
        if rate_limits:
            self.rate_limits.update({(m.upper(), p): v for (m, p), v in rate_limits.items()})
        self._rate_lock = threading.Lock()
        self._rate_windows: dict[tuple[str | None, str, str], deque[float]] = {}
        self._blocked_until: dict[tuple[str | None, str, str], int] = {}
        self.rate_limit_recovery_s = rate_limit_recovery_s
        self.premium_index_interval = premium_index_interval
        self._faults = FaultQueue()
        self._ledger_lock = threading.Lock()
        self._ledger: list[RequestRecord] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._routes: dict[tuple[str, str], tuple[bool, _Endpoint]] = {
            ("GET", SERVER_TIME_PATH): (False, self._ep_server_time),
            ("GET", CONTRACTS_PATH): (False, self._ep_contracts),
            ("GET", CSWAP_CONTRACTS_PATH): (False, self._ep_cswap_contracts),
            ("GET", SPOT_SYMBOLS_PATH): (False, self._ep_spot_symbols),
            ("GET", PREMIUM_INDEX_PATH): (False, self._ep_premium_index),
            ("GET", CURRENCIES_PATH): (True, self._ep_currencies),
            ("GET", DUAL_PATH): (True, self._ep_get_dual),
            ("POST", DUAL_PATH): (True, self._ep_set_dual),
            ("GET", LEVERAGE_PATH): (True, self._ep_get_leverage),
            ("POST", LEVERAGE_PATH): (True, self._ep_set_leverage),
            ("GET", MARGIN_TYPE_PATH): (True, self._ep_get_margin_type),
            ("POST", MARGIN_TYPE_PATH): (True, self._ep_set_margin_type),
            ("GET", TIERS_PATH): (True, self._ep_tiers),
            ("GET", POSITIONS_PATH): (True, self._ep_positions),
            ("GET", BALANCE_PATH): (True, self._ep_balance_v2),
            ("GET", BALANCE_V3_PATH): (True, self._ep_balance_v3),
            ("GET", INCOME_PATH): (True, self._ep_income),
            ("GET", ASSET_MODE_PATH): (True, self._ep_asset_mode),
            ("GET", COMMISSION_RATE_PATH): (True, self._ep_commission_rate),
            ("GET", KLINES_PATH): (False, self._ep_klines),
            ("GET", MARK_KLINES_PATH): (False, self._ep_mark_klines),
            ("GET", TICKER_PATH): (False, self._ep_ticker),
            ("GET", DEPTH_PATH): (False, self._ep_depth),
            ("GET", TRADES_PATH): (False, self._ep_trades),
            ("GET", FUNDING_RATE_PATH): (False, self._ep_funding_rate),
            ("POST", ORDER_PATH): (True, self._ep_create_order),
            ("GET", ORDER_PATH): (True, self._ep_query_order),
            ("DELETE", ORDER_PATH): (True, self._ep_cancel_order),
            ("GET", OPEN_ORDERS_PATH): (True, self._ep_open_orders),
            ("DELETE", ALL_OPEN_ORDERS_PATH): (True, self._ep_cancel_all),
            ("GET", ALL_ORDERS_PATH): (True, self._ep_all_orders),
            ("GET", FULL_ORDER_PATH): (True, self._ep_full_orders),
            ("GET", FILLS_PATH): (True, self._ep_fills),
            ("GET", FORCE_ORDERS_PATH): (True, self._ep_force_orders),
            ("POST", ORDER_TEST_PATH): (True, self._ep_test_order),
            ("GET", API_PERMISSIONS_PATH): (True, self._ep_api_permissions),
        }
        # Bind now so base_url is known before start(); connections wait in the backlog.
        self._httpd = _SimHTTPServer((host, port), self)
        self.host, self.port = self._httpd.server_address[:2]
        # BingX's swap market-data websocket (ws_market.py), on a port of its own.
        self.ws = MarketStream(
            self.host,
            lambda: set(self._contract_by_symbol),
            self.candle_row,
            self.server_time_ms,
            push_interval_s=ws_push_interval_s,
            ping_interval_s=ws_ping_interval_s,
        )

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("FakeBingx already started")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeBingx:{self.port}",
            daemon=True,
        )
        self._thread.start()
        # Background matching so resting and stop orders fill even when nobody asks.
        self._ticker = threading.Thread(
            target=self._tick_loop, name=f"FakeBingx-tick:{self.port}", daemon=True
        )
        self._ticker.start()
        self.ws.start()
        logger.info("FakeBingx listening on %s (websocket %s)", self.base_url, self.ws.url)
        return self

    def _tick_loop(self) -> None:
        while not self._stopping.wait(TICK_INTERVAL_S):
            try:
                self._tick()
            except Exception:  # the loop must survive; the error shows up in the log
                logger.exception("FakeBingx tick failed")

    def stop(self) -> None:
        # Wakes handlers stalled in a delay fault so shutdown does not hang on them.
        self._stopping.set()
        self.ws.stop()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- public helpers
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ccxt_urls(self) -> dict[str, dict[str, str]]:
        sections: dict[str, Any] = {
            section: f"{self.base_url}{API_PREFIX}" for section in CCXT_URL_SECTIONS
        }
        # ccxt.pro's swap market websocket (freqtrade's candle feed) comes here too.
        sections["ws"] = {"linear": self.ws.url}
        # 'test' too, so a ccxt instance put into sandbox mode still lands here.
        return {"api": copy.deepcopy(sections), "test": copy.deepcopy(sections)}

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the ledger (a copy, so callers can iterate while requests arrive)."""
        with self._ledger_lock:
            return list(self._ledger)

    def count(self, path: str, method: str | None = None) -> int:
        method = method.upper() if method else None
        with self._ledger_lock:
            return sum(
                1 for r in self._ledger if r.path == path and (method is None or r.method == method)
            )

    def clear_requests(self) -> None:
        with self._ledger_lock:
            self._ledger.clear()

    def inject(self, fault: Fault) -> None:
        self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset_rate_limits(self) -> None:
        with self._rate_lock:
            self._rate_windows.clear()
            self._blocked_until.clear()

    def account(self, api_key: str = "test-key") -> Account:
        return self._account_of[api_key]

    def _uid(self, api_key: str | None) -> str | None:
        """What BingX counts limits by: the account, named by its first key (None: unsigned)."""
        account = self._account_of.get(api_key) if api_key else None
        return account.api_key if account else api_key

    def server_time_ms(self) -> int:
        return self._clock_ms() + int(getattr(self, "clock_skew_ms", 0))

    # ----------------------------------------------------------------- prices
    def _symbol(self, symbol: str) -> str:
        if symbol not in self._contract_by_symbol:
            raise ValueError(f"unknown symbol {symbol}")
        return symbol

    def price(self, symbol: str) -> float:
        """The current last (contract) price of ``symbol``."""
        return self.market.last(self._symbol(symbol), self.server_time_ms())

    def mark_price(self, symbol: str) -> float:
        return self.market.mark(self._symbol(symbol), self.server_time_ms())

    def index_price(self, symbol: str) -> float:
        return self.market.index(self._symbol(symbol), self.server_time_ms())

    def set_price(self, symbol: str, price: float) -> None:
        """Pin the last price (mark follows with its basis) and match orders against it now."""
        self.market.pin(self._symbol(symbol), float(price), self.server_time_ms())
        self._tick()

    def set_mark_price(self, symbol: str, price: float) -> None:
        """Pin the mark price on its own (released by release_price or release_mark_price)."""
        self.market.pin_mark(self._symbol(symbol), float(price), self.server_time_ms())
        self._tick()

    def release_mark_price(self, symbol: str) -> None:
        self.market.release_mark(self._symbol(symbol), self.server_time_ms())
        self._tick()

    def release_price(self, symbol: str) -> None:
        """Let the walk move the price again, continuing from the pinned value."""
        self.market.release(self._symbol(symbol), self.server_time_ms())
        self._tick()

    @property
    def mark_prices(self) -> dict[str, float]:
        """Current mark price of every symbol (a snapshot)."""
        now = self.server_time_ms()
        return {s: self.market.mark(s, now) for s in self._contract_by_symbol}

    def tick(self) -> None:
        """Match open orders and settle funding now (the background tick does this too)."""
        self._tick()

    def _tick(self) -> None:
        # Orders first (a stop that triggers closes its position before it is liquidated),
        # then positions whose mark price reached their liquidation price.
        self.engine.tick()
        for acct in list(self._accounts.values()):
            self.liquidations.check(acct)

    # ----------------------------------------------------------------- closes by BingX
    def liquidate(
        self,
        symbol: str,
        side: str | None = None,
        kind: str = LIQUIDATION,
        price: float | None = None,
        api_key: str = "test-key",
    ) -> dict[str, Any]:
        """Force-close a position now (``kind`` LIQUIDATION or ADL); returns the force order.

        Positions are also liquidated on their own when the mark price reaches their
        liquidation price (``set_mark_price``). See ``liquidation.py``.
        """
        acct = self.account(api_key)
        order = self.liquidations.liquidate(acct, self._symbol(symbol), side, kind, price)
        return self.liquidations._show(order)

    def close_position_on_web(
        self, symbol: str, side: str | None = None, api_key: str = "test-key"
    ) -> dict[str, Any]:
        """Close a position with a MARKET order, as a user on bingx.com does; returns it."""
        acct = self.account(api_key)
        order = self.liquidations.close_by_user(acct, self._symbol(symbol), side)
        return self.engine._show(order)

    def force_orders(self, api_key: str = "test-key") -> list[tuple[str, dict[str, Any]]]:
        """Every force order of the account as ``(autoCloseType, row)``, oldest first."""
        return self.liquidations.records(self.account(api_key))

    # ----------------------------------------------------------------- trading ledgers
    def orders(self, api_key: str = "test-key") -> list[dict[str, Any]]:
        """Every order of the account, oldest first, shaped like BingX's order queries."""
        acct = self.account(api_key)
        with acct.lock:
            return [self.engine._show(o) for o in acct.orders.values()]

    def fills(self, api_key: str = "test-key") -> list[dict[str, Any]]:
        """Every fill of the account, oldest first (price, qty, commission, realizedPnl...)."""
        acct = self.account(api_key)
        with acct.lock:
            return copy.deepcopy(acct.fills)

    def open_position(
        self,
        symbol: str,
        side: str = "LONG",
        amount: float = 1.0,
        price: float | None = None,
        api_key: str = "test-key",
    ) -> dict[str, Any]:
        """Seed an open position (shaped like /user/positions rows); returns the stored dict."""
        if symbol not in self._contract_by_symbol:
            raise ValueError(f"unknown symbol {symbol}")
        side = side.upper()
        if side not in ("LONG", "SHORT"):
            raise ValueError("side must be LONG or SHORT")
        acct = self.account(api_key)
        now = self.server_time_ms()
        price = self.market.mark(symbol, now) if price is None else float(price)
        with acct.lock:
            return self.engine.new_position(acct, symbol, side, abs(amount), price, now)

    def close_positions(self, symbol: str | None = None, api_key: str = "test-key") -> None:
        acct = self.account(api_key)
        with acct.lock:
            acct.positions[:] = [
                p for p in acct.positions if symbol is not None and p["symbol"] != symbol
            ]

    # ----------------------------------------------------------------- request plumbing
    def _record(self, record: RequestRecord) -> None:
        with self._ledger_lock:
            self._ledger.append(record)

    def _ledger_json(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.requests]

    def _handle(
        self, method: str, path: str, raw_query: str, params: dict[str, str], api_key: str | None
    ) -> _Reply:
        route = self._routes.get((method, path))
        if route is None:
            return _Reply({"code": 100400, "msg": "this api is not exist"}, http_status=404)
        signed, endpoint = route
        headers: dict[str, str] = {}
        try:
            account = self._authenticate(raw_query, params, api_key) if signed else None
            headers = self._rate_check(api_key, method, path)
            # Lazy matching: every answer reflects fills due at the current price.
            self._tick()
            reply = endpoint(_Ctx(method, path, params, account))
        except ApiError as err:
            # BingX's business errors: HTTP 200, the code and msg, and an empty data object
            # (ccxt's quotes, e.g. {"code":101204,"msg":"","data":{}}).
            payload = {"code": err.code, "msg": err.msg, "data": {}}
            return _Reply(payload, err.http_status, {**headers, **err.headers})
        reply.headers.update(headers)
        return reply

    def _authenticate(self, raw_query: str, params: dict[str, str], api_key: str | None) -> Account:
        # Order of checks is our choice (BingX's is unknown); see the project brief.
        # Codes and texts from BingX's error tables (error_codes.md and each endpoint's page).
        if not api_key:
            raise ApiError(100413, "Null apiKey")
        account = self._account_of.get(api_key)
        if account is None:
            raise ApiError(100413, "Incorrect apiKey")
        ts_text = params.get("timestamp", "")
        if not ts_text.lstrip("-").isdigit():
            raise ApiError(100421, TIMESTAMP_MISMATCH_MSG)
        pieces = raw_query.split("&") if raw_query else []
        given = [p[len("signature=") :] for p in pieces if p.startswith("signature=")]
        message = unquote("&".join(p for p in pieces if p and not p.startswith("signature=")))
        secret = self._secrets[api_key]
        expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        # Exact comparison: upper-case hex is refused, so clients must send what BingX documents.
        if len(given) != 1 or not hmac.compare_digest(given[0].encode(), expected.encode()):
            raise ApiError(100001, "Signature verification failed")
        recv_text = params.get("recvWindow")
        if recv_text is None:
            recv_window = self.recv_window_default_ms
        elif recv_text.isdigit():
            recv_window = int(recv_text)
        else:
            raise ApiError(80014, "Invalid parameters, recvWindow must be an integer")
        if abs(self.server_time_ms() - int(ts_text)) > recv_window:
            raise ApiError(80014, "timestamp is invalid")
        return account

    def block(self, api_key: str | None, method: str, path: str, seconds: float) -> None:
        """Refuse ``method path`` to ``api_key``'s account (every key of it) with a plain 100410
        for ``seconds``."""
        until = self.server_time_ms() + int(seconds * 1000)
        with self._rate_lock:
            key = (self._uid(api_key), method.upper(), path)
            self._blocked_until[key] = max(until, self._blocked_until.get(key, 0))

    def _rate_check(self, api_key: str | None, method: str, path: str) -> dict[str, str]:
        """The rate-limit headers of an accepted request; ApiError 100410 if refused.

        BingX's rate-limit page: "X-RateLimit-Requests-Remain" (remaining number of frequency
        limits) and "X-RateLimit-Requests-Expire" (window expiration time) in the HTTP header.
        Expire is sent as milliseconds until the current window ends, not an epoch: a live reply
        quoted in a public bot's notes reads ``x-ratelimit-requests-remain: 499`` with
        ``x-ratelimit-requests-expire: 10000`` on a 10-second window. A refused request gets the
        headers too, with nothing remaining (our reading; the page does not restrict them).
        """
        key = (self._uid(api_key), method, path)  # counted per account, as BingX counts
        with self._rate_lock:
            blocked_until = self._blocked_until.get(key, 0)
        if blocked_until:
            if self.server_time_ms() < blocked_until:
                # The plain form names no unblock time (BingX's error tables: "rate limited").
                raise ApiError(100410, RATE_LIMITED_MSG)
            with self._rate_lock:
                self._blocked_until.pop(key, None)
        limit = self.rate_limits.get((method, path))
        if limit is None:
            return {}
        allowed = max(1, int(limit))
        now = time.monotonic()
        with self._rate_lock:
            window = self._rate_windows.setdefault(key, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            refused = len(window) >= allowed
            if not refused:
                window.append(now)
            expire_ms = max(int((1.0 - (now - window[0])) * 1000), 0)
            headers = {
                "X-RateLimit-Requests-Remain": str(allowed - len(window)),
                "X-RateLimit-Requests-Expire": str(expire_ms),
            }
        if refused:
            if self.rate_limit_recovery_s > 0:
                self.block(api_key, method, path, self.rate_limit_recovery_s)
            # Refused calls are not counted, so (without a recovery period) a client that backs
            # off recovers in <= 1 s.
            raise ApiError(100410, RATE_LIMITED_MSG, headers=headers)
        return headers

    # ----------------------------------------------------------------- endpoint helpers
    def _contract(self, params: dict[str, str]) -> dict[str, Any]:
        symbol = params.get("symbol", "")
        contract = self._contract_by_symbol.get(symbol)
        if contract is None:
            raise ApiError(
                109400,
                f"{symbol},symbol not exist, please verify it in api: {CONTRACTS_PATH}",
            )
        return contract

    def _available(
        self, acct: Account, symbol: str, lev_long: int, lev_short: int
    ) -> dict[str, str]:
        mark = self.market.mark(symbol, self.server_time_ms())
        contract = self._contract_by_symbol[symbol]
        tiers = leverage_tiers(symbol, default_max_leverage(contract))

        def max_val(lev: int) -> str:
            # Highest tier whose initial margin (1/lev) still covers twice its maintenance ratio.
            cap = tiers[0]["maxPositionVal"]
            for tier in tiers:
                if 1.0 / lev >= 2 * float(tier["maintMarginRatio"]):
                    cap = tier["maxPositionVal"]
            return cap

        long_val = acct.balance * lev_long
        short_val = acct.balance * lev_short
        return {
            "availableLongVol": f"{long_val / mark:.4f}",
            "availableShortVol": f"{short_val / mark:.4f}",
            "availableLongVal": f"{long_val:.1f}",
            "availableShortVal": f"{short_val:.1f}",
            "maxPositionLongVal": max_val(lev_long),
            "maxPositionShortVal": max_val(lev_short),
        }

    def _premium(self, symbol: str) -> dict[str, Any]:
        """A row of GET /openApi/swap/v2/quote/premiumIndex, with the page's fields.

        The page (get_openapi_swap_v2_quote_premiumindex.md) lists symbol, lastFundingRate,
        markPrice, indexPrice (strings) and nextFundingTime (int64). ccxt PR #30471 (2026-09)
        reports that BingX has since added ``fundingIntervalHours`` and ``updateTime``, listed
        in its docs-v3: ``premium_index_interval=True`` sends them too, so clients can be tested
        against both.
        """
        now = self.server_time_ms()
        pp = int(self._contract_by_symbol[symbol]["pricePrecision"])
        next_funding = self.market.next_funding_ms(now)
        row: dict[str, Any] = {
            "symbol": symbol,
            "markPrice": f"{self.market.mark(symbol, now):.{pp}f}",
            "indexPrice": f"{self.market.index(symbol, now):.{pp}f}",
            # The rate that will be settled at nextFundingTime (and then shows in fundingRate).
            "lastFundingRate": f"{self.market.funding_rate(symbol, next_funding):.8f}",
            # The page calls it "the remaining time for the next settlement, in milliseconds";
            # live replies carry the absolute time (ccxt PR #20864: "1705593600000").
            "nextFundingTime": next_funding,
        }
        if self.premium_index_interval:
            row["fundingIntervalHours"] = FUNDING_INTERVAL_HOURS
            row["updateTime"] = now
        return row

    def _balance_row(self, acct: Account) -> dict[str, Any]:
        return self.engine.balance_row(acct)

    # ----------------------------------------------------------------- public endpoints
    # Each reply names its source: "page" is BingX's page for the endpoint in
    # reference/bingx-swap-api/ (e.g. get_openapi_swap_v2_quote_contracts.md); "ccxt" is a
    # live reply quoted in ccxt 4.5.90's bingx.py next to the method that calls the endpoint.
    def _ep_server_time(self, ctx: _Ctx) -> _Reply:
        # older-export general_information__get_server_time.md: {"serverTime": 1675319535362}
        return _ok({"serverTime": self.server_time_ms()})

    def _ep_contracts(self, ctx: _Ctx) -> _Reply:
        # The page's fields; size, feeRate, tradeMinLimit, max*Leverage from ccxt (fetchMarkets).
        now = self.server_time_ms()
        return _ok([_with_status(c, now) for c in self.contracts])

    def schedule_delisting(
        self, symbol: str, off_time_ms: int, maintain_time_ms: int | None = None
    ) -> None:
        """Give ``symbol``'s contract an ``offTime`` (and ``maintainTime``), in epoch ms."""
        contract = self._contract_by_symbol[self._symbol(symbol)]
        contract["offTime"] = int(off_time_ms)
        if maintain_time_ms is not None:
            contract["maintainTime"] = int(maintain_time_ms)

    # ccxt's load_markets also asks for coin-margined contracts, spot symbols and (signed)
    # currencies; the envelopes follow ccxt's quotes, the lists are empty on purpose.
    def _ep_cswap_contracts(self, ctx: _Ctx) -> _Reply:
        return _ok([], timestamp=self.server_time_ms())

    def _ep_spot_symbols(self, ctx: _Ctx) -> _Reply:
        return _ok({"symbols": []}, debugMsg="")

    def _ep_premium_index(self, ctx: _Ctx) -> _Reply:
        if ctx.params.get("symbol"):
            return _ok(self._premium(self._contract(ctx.params)["symbol"]))
        return _ok([self._premium(c["symbol"]) for c in self.contracts])

    # ----------------------------------------------------------------- signed endpoints
    def _ep_currencies(self, ctx: _Ctx) -> _Reply:
        return _ok([], code="0", timestamp=str(self.server_time_ms()))

    def _dual_reply(self, acct: Account) -> _Reply:
        # The page: "dualSidePosition" as the string "true"/"false"; envelope from ccxt
        # (fetchPositionMode): "code": "0" and "timeStamp" as strings.
        value = "true" if acct.hedge_mode else "false"
        return _ok({"dualSidePosition": value}, code="0", timeStamp=str(self.server_time_ms()))

    def _ep_get_dual(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return self._dual_reply(ctx.account)

    def _ep_set_dual(self, ctx: _Ctx) -> _Reply:
        acct = ctx.account
        assert acct is not None
        value = ctx.params.get("dualSidePosition")
        if value not in ("true", "false"):
            raise ApiError(109400, "dualSidePosition must be 'true' or 'false'")
        with acct.lock:
            if acct.busy():
                # BingX's position-mode pages: changes only "when there are no active positions
                # or pending orders"; the refusal is in the older export's error table
                # (trading__query_position_mode.md): 109401 "user has pending orders or position".
                raise ApiError(109401, "user has pending orders or position")
            acct.hedge_mode = value == "true"
        return self._dual_reply(acct)

    def _ep_get_leverage(self, ctx: _Ctx) -> _Reply:
        acct = ctx.account
        assert acct is not None
        contract = self._contract(ctx.params)
        symbol = contract["symbol"]
        with acct.lock:
            lev_long = acct.leverage[(symbol, "LONG")]
            lev_short = acct.leverage[(symbol, "SHORT")]
        data: dict[str, Any] = {
            "longLeverage": lev_long,
            "shortLeverage": lev_short,
            # The account's maximum, which may exceed the contract list's figure.
            "maxLongLeverage": acct.max_leverage_for(contract, "LONG"),
            "maxShortLeverage": acct.max_leverage_for(contract, "SHORT"),
        }
        data.update(self._available(acct, symbol, lev_long, lev_short))
        return _ok(data)

    def _ep_set_leverage(self, ctx: _Ctx) -> _Reply:
        acct = ctx.account
        assert acct is not None
        contract = self._contract(ctx.params)
        symbol = contract["symbol"]
        # Case-sensitive on purpose: the documented values are upper case, so send those.
        side = ctx.params.get("side", "")
        with acct.lock:
            if acct.hedge_mode and side not in ("LONG", "SHORT"):
                raise ApiError(
                    109400,
                    "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT.",
                )
            if not acct.hedge_mode and side != "BOTH":
                raise ApiError(
                    109400, "In the One-way mode, the 'PositionSide' field can only be set to BOTH."
                )
            lev_text = ctx.params.get("leverage", "")
            if not _POSITIVE_INT.fullmatch(lev_text):
                raise ApiError(109400, f"leverage illegal: {lev_text!r} is not a positive integer")
            leverage = int(lev_text)
            max_lev = acct.max_leverage_for(contract, side)
            if leverage > max_lev:
                # BingX's text (its common error codes page: 101414 "The maximum leverage for
                # the trading pair is *, please reduce the leverage", met as "... is 5, ...").
                raise ApiError(
                    101414,
                    f"The maximum leverage for the trading pair is {max_lev}, "
                    "please reduce the leverage",
                )
            sides = ("LONG", "SHORT") if side == "BOTH" else (side,)
            for s in sides:
                acct.leverage[(symbol, s)] = leverage
            for pos in acct.positions:
                if pos["symbol"] == symbol and pos["positionSide"] in sides:
                    pos["leverage"] = leverage
            lev_long = acct.leverage[(symbol, "LONG")]
            lev_short = acct.leverage[(symbol, "SHORT")]
        data: dict[str, Any] = {"leverage": leverage, "symbol": symbol}
        data.update(self._available(acct, symbol, lev_long, lev_short))
        return _ok(data)

    def _ep_get_margin_type(self, ctx: _Ctx) -> _Reply:
        acct = ctx.account
        assert acct is not None
        symbol = self._contract(ctx.params)["symbol"]
        with acct.lock:
            # The page: "marginType" (string); ccxt: {"marginType": "CROSSED"}. The account may
            # hold SEPARATE_ISOLATED, one of the three types the POST page names.
            return _ok({"marginType": acct.margin_type[symbol]})

    def _ep_set_margin_type(self, ctx: _Ctx) -> _Reply:
        acct = ctx.account
        assert acct is not None
        symbol = self._contract(ctx.params)["symbol"]
        margin_type = ctx.params.get("marginType", "")
        if margin_type not in MARGIN_TYPES:
            raise ApiError(
                109400, f"marginType illegal, it must be one of {', '.join(MARGIN_TYPES)}"
            )
        with acct.lock:
            if acct.busy(symbol):
                # older-export trading__change_margin_type.md's error table.
                raise ApiError(109400, "the account has positions or pending orders")
            # Setting the current type again succeeds: BingX's answer to a no-op is unknown.
            acct.margin_type[symbol] = margin_type
        # The page's response parameters are code and msg only.
        return _ok()

    def _ep_tiers(self, ctx: _Ctx) -> _Reply:
        contract = self._contract(ctx.params)
        # Built on what accounts may use, so the ladder agrees with GET leverage, not the list.
        tiers = leverage_tiers(contract["symbol"], default_max_leverage(contract))
        # The page's fields (all strings); the envelope's "timestamp" is in ccxt's quote.
        return _ok(tiers, timestamp=self.server_time_ms())

    def _ep_positions(self, ctx: _Ctx) -> _Reply:
        acct = ctx.account
        assert acct is not None
        symbol = None
        if ctx.params.get("symbol"):
            symbol = self._contract(ctx.params)["symbol"]
        self.engine.refresh(acct)
        with acct.lock:
            rows = [
                copy.deepcopy(p) for p in acct.positions if symbol is None or p["symbol"] == symbol
            ]
        return _ok(rows)

    def _ep_balance_v2(self, ctx: _Ctx) -> _Reply:
        # No page for v2 in the reference set: the row sits in data.balance, as in a live reply
        # quoted in a public bot's notes ({"data":{"balance":{"userId":...,"asset":"USDT",
        # "availableMargin":...}}}); its fields are v3's.
        assert ctx.account is not None
        return _ok({"balance": self._balance_row(ctx.account)})

    def _ep_balance_v3(self, ctx: _Ctx) -> _Reply:
        # ccxt 4.5.90's fetch_balance for linear swap uses v3 (a list), not v2. The page's
        # fields, plus userId from ccxt's quote.
        assert ctx.account is not None
        return _ok([self._balance_row(ctx.account)])

    def _ep_commission_rate(self, ctx: _Ctx) -> _Reply:
        # The page's two fields (float64), inside "commission" as in the live linear-swap reply
        # ccxt 4.5.90 quotes under fetchTradingFee ({"code":0,"msg":"","data":{"commission":
        # {"takerCommissionRate":0.0005,"makerCommissionRate":0.0002}}}). One pair of rates
        # for the account: the standard ones are the contracts' (all alike here).
        acct = ctx.account
        assert acct is not None
        contract = self.contracts[0]
        return _ok(
            {
                "commission": {
                    "takerCommissionRate": self.engine.fee_rate(acct, contract, maker=False),
                    "makerCommissionRate": self.engine.fee_rate(acct, contract, maker=True),
                }
            }
        )

    # ----------------------------------------------------------------- market data
    @staticmethod
    def _int_param(params: dict[str, str], name: str) -> int | None:
        text = params.get(name)
        if text is None or text == "":
            return None
        if not text.lstrip("-").isdigit():
            raise ApiError(109400, f"Invalid parameters, {name} must be an integer")
        return int(text)

    def _klines(self, ctx: _Ctx, mark: bool) -> list[dict[str, Any]]:
        contract = self._contract(ctx.params)
        symbol = contract["symbol"]
        interval = ctx.params.get("interval", "")
        if interval not in INTERVALS:
            raise ApiError(109400, f"Invalid parameters, interval {interval!r} illegal")
        limit = self._int_param(ctx.params, "limit") or 500
        if limit > 1440:
            # A live reply quoted in a public bot's notes (trailing space included).
            raise ApiError(109414, "limit: This field must be less than or equal to 1440. ")
        if limit < 1:
            raise ApiError(109400, "Invalid parameters, limit must be between 1 and 1440")
        start = self._int_param(ctx.params, "startTime")
        end = self._int_param(ctx.params, "endTime")
        now = self.server_time_ms()
        step = INTERVALS[interval] * MINUTE_MS
        rows = []
        for open_ms in self.market.candle_opens(step, start, end, limit, now):
            row: dict[str, Any] = self.candle_row(symbol, open_ms, step, now, mark=mark)
            if mark:
                # The page lists "time", but the live mark-kline reply ccxt quotes carries
                # openTime and closeTime instead, the two equal; ccxt reads closeTime.
                row.update({"openTime": open_ms, "closeTime": open_ms})
            else:
                row["time"] = open_ms
            rows.append(row)
        return rows

    def candle_row(
        self, symbol: str, open_ms: int, step_ms: int, now: int, mark: bool = False
    ) -> dict[str, Any]:
        """One candle's values as BingX writes them, for the REST klines and the websocket's
        pushes alike (one source: the two always agree)."""
        pp = int(self._contract_by_symbol[symbol]["pricePrecision"])
        o, h, lo, c, v = self.market.candle(symbol, open_ms, step_ms, now, mark=mark)
        # The pages type these float64; live replies (ccxt's quotes) carry strings, as
        # BingX's "Numbers" page says decimals are returned.
        return {
            "open": f"{o:.{pp}f}",
            "close": f"{c:.{pp}f}",
            "high": f"{h:.{pp}f}",
            "low": f"{lo:.{pp}f}",
            "volume": f"{v:.2f}",
        }

    def _ep_klines(self, ctx: _Ctx) -> _Reply:
        return _ok(self._klines(ctx, mark=False))

    def _ep_mark_klines(self, ctx: _Ctx) -> _Reply:
        return _ok(self._klines(ctx, mark=True))

    def _ep_ticker(self, ctx: _Ctx) -> _Reply:
        now = self.server_time_ms()
        if ctx.params.get("symbol"):
            contract = self._contract(ctx.params)
            pp = int(contract["pricePrecision"])
            return _ok(self.market.ticker(contract["symbol"], now, pp))
        return _ok(
            [self.market.ticker(c["symbol"], now, int(c["pricePrecision"])) for c in self.contracts]
        )

    def _ep_depth(self, ctx: _Ctx) -> _Reply:
        contract = self._contract(ctx.params)
        limit = self._int_param(ctx.params, "limit") or 20
        if limit not in (5, 10, 20, 50, 100, 500, 1000):
            raise ApiError(109400, "Invalid parameters, limit must be 5/10/20/50/100/500/1000")
        book = self.market.depth(
            contract["symbol"],
            self.server_time_ms(),
            limit,
            int(contract["pricePrecision"]),
            int(contract["quantityPrecision"]),
        )
        return _ok(book)

    def _ep_trades(self, ctx: _Ctx) -> _Reply:
        contract = self._contract(ctx.params)
        limit = min(max(self._int_param(ctx.params, "limit") or 500, 1), 1000)
        rows = self.market.trades(
            contract["symbol"], self.server_time_ms(), limit, int(contract["pricePrecision"])
        )
        return _ok(rows)

    def _ep_funding_rate(self, ctx: _Ctx) -> _Reply:
        contract = self._contract(ctx.params)
        limit = min(max(self._int_param(ctx.params, "limit") or 100, 1), 1000)
        rows = self.market.funding_history(
            contract["symbol"],
            self._int_param(ctx.params, "startTime"),
            self._int_param(ctx.params, "endTime"),
            limit,
            self.server_time_ms(),
        )
        return _ok(rows)

    # ----------------------------------------------------------------- trading endpoints
    def _ep_create_order(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok({"order": self.engine.create(ctx.account, ctx.params)})

    def _ep_test_order(self, ctx: _Ctx) -> _Reply:
        # Same parameters, checks and reply as placing an order (BingX's page for
        # /trade/order/test); BingX.Net records the reply as {"order": {symbol, orderId, side,
        # positionSide, type, clientOrderID, workingType}}.
        assert ctx.account is not None
        return _ok({"order": self.engine.test_order(ctx.account, ctx.params)})

    def _ep_api_permissions(self, ctx: _Ctx) -> _Reply:
        # Fields from BingX's page (apiKey, permissions, ipAddresses, note). The masked key,
        # permission numbers as ints and [""] for a key without IP whitelist follow the reply
        # BingX.Net records for the sibling endpoint /openApi/account/v1/apiKey/query.
        acct = ctx.account
        assert acct is not None
        with acct.lock:
            permissions = list(acct.permissions)
            addresses = list(acct.ip_whitelist) or [""]
        masked = f"{acct.api_key[:2]}*******{acct.api_key[-2:]}"
        return _ok(
            {"apiKey": masked, "permissions": permissions, "ipAddresses": addresses, "note": ""}
        )

    def _ep_query_order(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.engine.query(ctx.account, ctx.params))

    def _ep_cancel_order(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.engine.cancel(ctx.account, ctx.params))

    def _ep_cancel_all(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.engine.cancel_all(ctx.account, ctx.params))

    def _ep_open_orders(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.engine.open_orders(ctx.account, ctx.params))

    def _ep_all_orders(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.engine.all_orders(ctx.account, ctx.params))

    def _ep_full_orders(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.engine.full_orders(ctx.account, ctx.params))

    def _ep_fills(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.engine.fills(ctx.account, ctx.params), code="0")

    def _ep_force_orders(self, ctx: _Ctx) -> _Reply:
        assert ctx.account is not None
        return _ok(self.liquidations.force_orders(ctx.account, ctx.params))

    def _ep_income(self, ctx: _Ctx) -> _Reply:
        acct = ctx.account
        assert acct is not None
        params = dict(ctx.params)
        if params.get("symbol"):
            params["symbol"] = self._contract(params)["symbol"]
        with acct.lock:
            rows = income.query(acct.incomes, params, self.server_time_ms())
        return _ok(rows)

    def _ep_asset_mode(self, ctx: _Ctx) -> _Reply:
        # The page's one response parameter; set from Python: account().asset_mode.
        assert ctx.account is not None
        return _ok({"assetMode": ctx.account.asset_mode})

    # ----------------------------------------------------------------- control endpoint
    def _control(self, method: str, path: str, body: bytes) -> _Reply:
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(data, dict):
                raise TypeError("JSON object expected")
            if (method, path) == ("POST", "/_sim/fault"):
                self.inject(Fault.from_json(data))
                return _ok({"pending": self._faults.pending()})
            if (method, path) == ("GET", "/_sim/requests"):
                return _ok(self._ledger_json())
            if (method, path) == ("POST", "/_sim/reset"):
                self.clear_faults()
                self.clear_requests()
                self.reset_rate_limits()
                return _ok({})
            if (method, path) == ("POST", "/_sim/position"):
                position = self.open_position(
                    data["symbol"],
                    data.get("side", "LONG"),
                    float(data.get("amount", 1.0)),
                    data.get("price"),
                    data.get("api_key", "test-key"),
                )
                return _ok(position)
            if (method, path) == ("POST", "/_sim/price"):
                symbol = data["symbol"]
                if data.get("release"):
                    self.release_price(symbol)
                if data.get("price") is not None:
                    self.set_price(symbol, float(data["price"]))
                if data.get("mark_price") is not None:
                    self.set_mark_price(symbol, float(data["mark_price"]))
                return _ok({"price": self.price(symbol), "markPrice": self.mark_price(symbol)})
            if (method, path) == ("POST", "/_sim/clock"):
                self.clock_skew_ms = int(data.get("skew_ms", 0))
                return _ok({"skew_ms": self.clock_skew_ms})
        except (ValueError, TypeError, KeyError) as err:
            return _Reply({"code": 100400, "msg": f"bad control request: {err}"}, 400)
        return _Reply({"code": 100400, "msg": "unknown control endpoint"}, 404)


def _with_status(contract: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """A copy of ``contract`` whose ``status`` follows its times, as the contracts page says:
    after ``maintainTime`` 25 (forbidden to open positions), after ``offTime`` 0 (offline)."""
    shown = copy.deepcopy(contract)
    off, maintain = int(shown.get("offTime") or 0), int(shown.get("maintainTime") or 0)
    if 0 < off <= now_ms:
        shown["status"] = 0
    elif 0 < maintain <= now_ms:
        shown["status"] = 25
    return shown


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like ccxt's and requests' pooled sessions
    server: _SimHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The default logs the full request line (query incl. signature) to stderr; don't.
        pass

    def _dispatch(self, method: str) -> None:
        try:
            self._dispatch_inner(method)
        except (ConnectionError, TimeoutError, OSError) as err:
            # The client gave up (e.g. its timeout fired during a delay fault): nothing to do.
            logger.debug("client connection lost: %s", err)
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch_inner(self, method: str) -> None:
        sim = self.server.sim
        split = urlsplit(self.path)
        path, raw_query = split.path, split.query
        body = self._read_body()
        if path.startswith("/_sim/"):
            self._send_reply(None, sim._control(method, path, body))
            return
        params = self._body_params(body)
        params.update(dict(parse_qsl(raw_query, keep_blank_values=True)))
        api_key = self.headers.get("X-BX-APIKEY")
        record = RequestRecord(
            method=method,
            path=path,
            params={k: v for k, v in params.items() if k != "signature"},
            api_key=api_key,
            t=sim.server_time_ms(),
        )
        sim._record(record)
        fault = sim._faults.take(path, method, record.params)
        if fault is not None:
            logger.debug("fault on %s %s: %s", method, path, fault)
            if fault.delay_s > 0 and sim._stopping.wait(fault.delay_s):
                self._drop_connection()
                return
            if self._send_fault(record, fault):
                return
            params = {k: v for k, v in params.items() if k not in fault.ignore_params}
        reply = sim._handle(method, path, raw_query, params, api_key)
        logger.debug("%s %s -> %s %s", method, path, reply.http_status, reply.payload.get("code"))
        if fault is not None and fault.lose_reply:
            record.http_status = reply.http_status
            record.code = _int_code(reply.payload.get("code"))
            self._drop_connection()
            return
        self._send_reply(record, reply)

    def _body_params(self, body: bytes) -> dict[str, str]:
        if not body:
            return {}
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        text = body.decode("utf-8", errors="replace")
        if ctype == "application/json" or text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                return {}
            if not isinstance(data, dict):
                return {}
            return {str(k): _stringify(v) for k, v in data.items()}
        return dict(parse_qsl(text, keep_blank_values=True))

    def _send_fault(self, record: RequestRecord, fault: Fault) -> bool:
        """Answer per the fault; False means 'continue with normal handling' (delay only)."""
        msg = fault.message(record.t)
        if fault.block_s > 0:
            self.server.sim.block(record.api_key, record.method, record.path, fault.block_s)
        if fault.reset:
            self._drop_connection()
            return True
        if fault.body is not None:
            status = fault.http_status or 200
            record.http_status, record.code, record.msg = status, fault.code, msg
            ctype = "text/html" if fault.body.lstrip().startswith(b"<") else "application/json"
            self._send_bytes(status, fault.body, ctype, headers=fault.headers)
            return True
        if fault.http_status is not None:
            record.http_status, record.code, record.msg = fault.http_status, fault.code, msg
            if fault.code is not None:
                self._send_bytes(
                    fault.http_status,
                    _encode({"code": fault.code, "msg": msg}),
                    headers=fault.headers,
                )
            else:
                try:
                    phrase = http.HTTPStatus(fault.http_status).phrase
                except ValueError:
                    phrase = "Error"
                text = msg or f"{fault.http_status} {phrase}"
                self._send_bytes(
                    fault.http_status, text.encode(), "text/plain", headers=fault.headers
                )
            return True
        if fault.code is not None:
            record.http_status, record.code, record.msg = 200, fault.code, msg
            self._send_bytes(
                200, _encode({"code": fault.code, "msg": msg, "data": {}}), headers=fault.headers
            )
            return True
        return False

    def _send_reply(self, record: RequestRecord | None, reply: _Reply) -> None:
        if record is not None:
            # Set before writing so a client that has its answer sees a complete ledger entry.
            record.http_status = reply.http_status
            record.code = _int_code(reply.payload.get("code"))
            record.msg = str(reply.payload.get("msg") or "")
        self._send_bytes(reply.http_status, _encode(reply.payload), headers=reply.headers)

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _drop_connection(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST without any HTTP bytes: a hard reset.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()

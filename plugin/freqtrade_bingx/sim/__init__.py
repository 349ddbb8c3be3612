"""A BingX USDT-M perpetual fake exchange for tests and local runs (standard library, and
aiohttp for its websocket).

    from freqtrade_bingx.sim import FakeBingx, Fault

    with FakeBingx(hedge_mode=False) as srv:        # binds 127.0.0.1, random port
        srv.base_url                                 # "http://127.0.0.1:<port>"
        srv.ccxt_urls                                # for exchange.ccxt_config["urls"]
        srv.inject(Fault("/openApi/swap/v2/trade/leverage", code=100410, msg="rate limited"))
        srv.count("/openApi/swap/v2/trade/leverage", "POST")
        srv.set_price("BTC-USDT", 60000.0)           # pin the last price (matches orders now)
        srv.set_mark_price("BTC-USDT", 59990.0)      # pin the mark price on its own
        srv.release_price("BTC-USDT")                # walk on from the pinned value
        srv.price("BTC-USDT"), srv.mark_price("BTC-USDT"), srv.index_price("BTC-USDT")
        srv.orders("test-key"), srv.fills("test-key")  # trading ledgers (BingX-shaped dicts)
        srv.tick()                                   # match orders / settle funding now
        srv.account().incomes.append({...})          # fund-flow rows for /user/income
        srv.account().asset_mode = "multiAssetsMode" # GET /openApi/swap/v1/trade/assetMode
        srv.schedule_delisting("ETH-USDT", off_ms)   # a contract's offTime (and maintainTime)
        srv.liquidate("BTC-USDT", kind="ADL")        # BingX closes it: a force order
        srv.close_position_on_web("BTC-USDT")        # a MARKET close placed on bingx.com
        srv.force_orders("test-key")                 # [(autoCloseType, row), ...]
        srv.ws.url                                   # BingX's swap market websocket (in ccxt_urls)
        srv.ws.silent = True; srv.ws.drop()          # its faults (ws_market.py)

Prices follow a seeded walk (``FakeBingx(seed=..., volatility=..., anchor_ms=...)``, see
``market.py``); orders, positions, fees and funding are modelled in ``orders.py``; a position
whose mark price reaches its liquidation price is liquidated (``liquidation.py``).

Replies follow BingX's endpoint pages and live replies quoted in public threads (each names
its source). Options for what BingX does in more than one way:
``FakeBingx(premium_index_interval=True)`` adds ``fundingIntervalHours`` and ``updateTime`` to
premiumIndex (newer replies; the page lists neither); ``rate_limit_recovery_s=300`` keeps an
endpoint refused for BingX's documented five minutes after its rate limit is exceeded
(default 0: a client that backs off recovers within the one-second window);
``Fault(..., block_s=RATE_LIMIT_RECOVERY_S)`` does that from one injected 100410;
``srv.account().default_margin_type = "SEPARATE_ISOLATED"`` models an account switched on
bingx.com; ``FakeBingx(more_keys={"key-2": ("secret-2", "test-key")})`` gives the account of
``test-key`` a second API key (one account: its positions, settings and per-UID rate limits).

Other processes drive it over HTTP: ``POST /_sim/fault`` (Fault fields as JSON, ``body`` as a
latin-1 string), ``GET /_sim/requests``, ``POST /_sim/reset``, ``POST /_sim/position``,
``POST /_sim/clock`` (``{"skew_ms": n}``), ``POST /_sim/price`` (``{"symbol": ..., "price": p,
"mark_price": m, "release": true}``). Run standalone with ``python -m freqtrade_bingx.sim``.

Ledger entries (``srv.requests``) carry method, path, params (without the signature), the API
key, HTTP status, ``code`` and ``msg`` of the answer. pytest fixtures: ``bingx_sim`` and
``bingx_rehearsal`` in ``freqtrade_bingx.sim.pytest_fixture``; a live freqtrade session against
this server: ``freqtrade_bingx.tools.rehearse``.
"""

from .accounts import Account, default_contracts, leverage_tiers, make_contract, many_contracts
from .faults import Fault
from .server import CCXT_URL_SECTIONS, FakeBingx, RequestRecord


__all__ = [
    "CCXT_URL_SECTIONS",
    "Account",
    "FakeBingx",
    "Fault",
    "RequestRecord",
    "default_contracts",
    "leverage_tiers",
    "make_contract",
    "many_contracts",
]

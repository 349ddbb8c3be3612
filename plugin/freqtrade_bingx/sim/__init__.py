"""A BingX USDT-M perpetual fake exchange for tests and local runs (standard library only).

    from freqtrade_bingx.sim import FakeBingx, Fault

    with FakeBingx(hedge_mode=False) as srv:        # binds 127.0.0.1, random port
        srv.base_url                                 # "http://127.0.0.1:<port>"
        srv.ccxt_urls                                # for exchange.ccxt_config["urls"]
        srv.inject(Fault("/openApi/swap/v2/trade/leverage", code=100410, msg="rate limited"))
        srv.count("/openApi/swap/v2/trade/leverage", "POST")

Other processes drive it over HTTP: ``POST /_sim/fault`` (Fault fields as JSON, ``body`` as a
latin-1 string), ``GET /_sim/requests``, ``POST /_sim/reset``, ``POST /_sim/position``,
``POST /_sim/clock`` (``{"skew_ms": n}``). Run standalone with ``python -m freqtrade_bingx.sim``.
"""

from .accounts import Account, default_contracts, leverage_tiers, make_contract
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
]

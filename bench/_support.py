"""Helpers shared by the benchmarks: the plugin's exchange against the fake BingX, statistics.

Everything runs against :class:`freqtrade_bingx.sim.FakeBingx` on 127.0.0.1; nothing leaves
this machine.
"""

import contextlib
import logging
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/configs.py

API_KEY = "bench-key"
API_SECRET = "bench-secret-0123456789abcdef"
LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
MARGIN_PATH = "/openApi/swap/v2/trade/marginType"
MODE_PATH = "/openApi/swap/v1/positionSide/dual"


def quiet_logs() -> None:
    """freqtrade's and the plugin's INFO lines would only slow the loops down and clutter."""
    logging.disable(logging.WARNING)  # errors still show
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("freqtrade", "freqtrade_bingx", "ccxt", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def no_nagle_stalls() -> Iterator[None]:
    """Set TCP_NODELAY on the fake server's connections for the duration (this process only).

    FakeBingx's handler (http.server) writes a reply's headers and body in two ``send`` calls.
    With Nagle's algorithm on, the body waits for the client's delayed ACK: about 40 ms on a
    third to a half of all keep-alive calls, equally for every client, which buries the
    sub-millisecond differences measured here. Real HTTP servers set TCP_NODELAY.
    """
    from freqtrade_bingx.sim import server as sim_server

    handler = sim_server._Handler
    before = handler.disable_nagle_algorithm
    handler.disable_nagle_algorithm = True
    try:
        yield
    finally:
        handler.disable_nagle_algorithm = before


def contracts(n: int) -> list[dict[str, Any]]:
    """``n`` made-up USDT-M contracts (``C000-USDT`` ...), max leverage 50 each side."""
    from freqtrade_bingx.sim import make_contract

    return [make_contract(f"C{i:03d}-USDT", 50, 50) for i in range(n)]


def pair(symbol: str) -> str:
    """``C000-USDT`` -> ``C000/USDT:USDT`` (ccxt's unified linear swap symbol)."""
    base, _, quote = symbol.partition("-")
    return f"{base}/{quote}:{quote}"


def futures_config(server, datadir: Path, **exchange_overrides: Any) -> dict[str, Any]:
    """The tests' live futures config (tests/configs.py) on ``server``, with the bench's key."""
    from tests.configs import futures_config as tests_config

    exchange = {
        "key": API_KEY,
        "secret": API_SECRET,
        # One pair only: tiers are not loaded here, and nothing else reads the whitelist.
        "pair_whitelist": [pair(server.contracts[0]["symbol"])],
        # Each exchange's shared account state (account_budget.py) in its own folder.
        "account_state_dir": str(datadir / "account-state"),
        **exchange_overrides,
    }
    return tests_config(server, datadir=datadir, exchange=exchange)


@contextlib.contextmanager
def plugin_exchange(server, **exchange_overrides: Any) -> Iterator[Any]:
    """The plugin's freqtrade exchange (live, futures, isolated) against ``server``."""
    import freqtrade.exchange
    from freqtrade.resolvers import ExchangeResolver

    with tempfile.TemporaryDirectory(prefix="ftbx-bench-") as tmp:
        config = futures_config(server, Path(tmp), **exchange_overrides)
        exchange = ExchangeResolver.load_exchange(config, validate=False)
        if not isinstance(exchange, freqtrade.exchange.Bingx) or not hasattr(exchange, "bingx"):
            raise SystemExit("the plugin's Bingx class is not registered: pip install . first")
        exchange.reload_markets(True, load_leverage_tiers=False)
        try:
            yield exchange
        finally:
            exchange.close()


def plain_ccxt(server) -> Any:
    """A plain sync ``ccxt.bingx`` against ``server``, without its throttle: the peer the
    plugin is measured against."""
    import ccxt

    api = ccxt.bingx(
        {
            "apiKey": API_KEY,
            "secret": API_SECRET,
            "urls": {"api": server.ccxt_urls["api"]},
            "enableRateLimit": False,
        }
    )
    api.load_markets()
    return api


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """Inter-quartile range as ``q1-q3`` in the values' own unit (for the how-measured notes)."""
    q = statistics.quantiles(values, n=4)
    return f"{q[0]:.3g}-{q[2]:.3g}"

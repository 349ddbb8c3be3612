"""Ways into the plugin: any import order, a plugin that cannot load, no keys at all."""

import os
import subprocess
import sys
import time

import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.resolvers import ExchangeResolver

from freqtrade_bingx._autoload import DISABLE_ENV
from tests.configs import futures_config


PAIR = "BTC/USDT:USDT"
PLUGIN_CLASS = "freqtrade_bingx.adapter.exchange"
STOCK_CLASS = "freqtrade.exchange.bingx"


def python(code: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen) -> tuple[str, str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip(), err.strip()


# The plugin modules that import freqtrade themselves, the command, and freqtrade's own way in.
FIRST_IMPORTS = [
    "from freqtrade_bingx.adapter.exchange import Bingx",
    "import freqtrade_bingx.adapter.orders",
    "import freqtrade_bingx.adapter.futures_data",
    "import freqtrade_bingx.adapter.settings",
    "import freqtrade_bingx.tools.cli",
    "import freqtrade.resolvers",
]


def test_any_first_import_registers_the_plugin():
    """Each in a fresh interpreter, started together (they mostly wait on the disk)."""
    check = (
        "\nimport freqtrade.exchange as e"
        "\nfrom freqtrade.resolvers.exchange_resolver import exchanges"
        "\nprint(e.Bingx.__module__, exchanges.Bingx is e.Bingx, 'Bingx' in dir(e))"
    )
    processes = {first: python(first + check) for first in FIRST_IMPORTS}
    results = {first: finish(process)[0] for first, process in processes.items()}
    assert results == {first: f"{PLUGIN_CLASS} True True" for first in FIRST_IMPORTS}


# The plugin's exchange module made unimportable in two ways: an ImportError (a missing
# dependency), and an arbitrary exception while the module runs.
BREAK_IMPORT = "import sys; sys.modules['freqtrade_bingx.adapter.exchange'] = None\n"
BREAK_EXECUTION = """
import sys
class Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "freqtrade_bingx.adapter.exchange":
            import importlib.util
            return importlib.util.spec_from_loader(name, self)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        raise RuntimeError("plugin bug")
sys.meta_path.insert(1, Broken())
"""


@pytest.mark.parametrize("breakage", [BREAK_IMPORT, BREAK_EXECUTION], ids=["import", "runtime"])
def test_a_plugin_that_cannot_load_leaves_freqtrade_working(breakage):
    code = breakage + (
        "import freqtrade.exchange as e\n"
        "from freqtrade.resolvers.exchange_resolver import exchanges\n"
        "print(e.Bingx.__module__, exchanges.Bingx.__module__, e.Bingx.__module__,"
        " e.Binance.__module__)\n"
    )
    out, err = finish(python(code))
    assert out == f"{STOCK_CLASS} {STOCK_CLASS} {STOCK_CLASS} freqtrade.exchange.binance"
    lines = err.splitlines()
    assert len(lines) == 1, err  # one clear line, logged once however often Bingx is used
    assert "freqtrade-bingx could not be loaded" in lines[0]
    assert "freqtrade's own Bingx" in lines[0]


def test_register_still_raises_when_called_by_hand():
    """Registering by hand is a request for the plugin: its failure is the caller's to see."""
    code = BREAK_IMPORT + (
        "import freqtrade_bingx\n"
        "try:\n    freqtrade_bingx.register()\n"
        "except ImportError:\n    print('raised')\n"
    )
    assert finish(python(code))[0] == "raised"


@pytest.mark.parametrize("runmode", [RunMode.UTIL_EXCHANGE, RunMode.OTHER, RunMode.PLOT])
def test_live_futures_without_keys_reads_public_data(fake_bingx, runmode):
    """download-data, list-markets and friends run with dry_run off and often without keys."""
    config = futures_config(
        fake_bingx, runmode=runmode, dry_run=False, exchange={"key": "", "secret": ""}
    )
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)  # public, like the rest
        assert exchange.markets[PAIR]["id"] == "BTC-USDT"
        assert exchange.fetch_ticker(PAIR)["last"] > 0
        since = int(time.time() * 1000) - 5 * 3600_000
        candles = exchange.get_historic_ohlcv(PAIR, "1h", since_ms=since, candle_type="futures")
        assert len(candles) > 0
        assert not exchange.can_sign()
        assert exchange.link.built is None  # nothing signed was ever built
    finally:
        exchange.close()


def test_live_trading_without_keys_stops_with_a_clear_message(fake_bingx):
    config = futures_config(
        fake_bingx, runmode=RunMode.LIVE, dry_run=False, exchange={"key": "", "secret": ""}
    )
    with pytest.raises(OperationalException, match="API key and secret are required"):
        ExchangeResolver.load_exchange(config, validate=False)

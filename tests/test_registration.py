"""Registration in freqtrade: lazy, switchable, and the class freqtrade resolves."""

import json
import os
import site
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from freqtrade.enums import MarginMode, TradingMode
from freqtrade.exceptions import ConfigurationError

from freqtrade_bingx._autoload import DISABLE_ENV


HEAVY = ("freqtrade", "ccxt", "requests", "pandas")


def run_python(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_the_pth_hook_is_installed():
    found = [Path(d) / "freqtrade_bingx.pth" for d in site.getsitepackages()]
    assert any(p.is_file() for p in found), "install the project (pip install .) first"


def test_interpreter_start_imports_nothing_heavy():
    code = (
        "import sys, json; print(json.dumps(["
        f"sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}),"
        "[type(f).__name__ for f in sys.meta_path]]))"
    )
    heavy, finders = json.loads(run_python(code))
    assert heavy == []
    assert "_ExchangeImportHook" in finders  # armed, and nothing more


def test_freqtrade_resolves_the_plugin_class():
    out = run_python("import freqtrade.exchange as e, freqtrade_bingx; print(e.Bingx)")
    assert out == "<class 'freqtrade_bingx.adapter.exchange.Bingx'>"
    resolved = run_python(
        "from freqtrade.resolvers.exchange_resolver import exchanges; "
        "from freqtrade.exchange.bingx import Bingx as Stock; "
        "print(exchanges.Bingx.__module__, issubclass(exchanges.Bingx, Stock))"
    )
    # What freqtrade's resolver looks up is the plugin's class, and it extends the stock one.
    assert resolved == "freqtrade_bingx.adapter.exchange True"


def test_environment_variable_switches_registration_off_and_register_turns_it_on():
    code = "import freqtrade.exchange as e; print(e.Bingx.__module__)"
    assert run_python(code, **{DISABLE_ENV: "0"}) == "freqtrade.exchange.bingx"
    code = (
        "import freqtrade.exchange as e, freqtrade_bingx; freqtrade_bingx.register(); "
        "print(e.Bingx.__module__)"
    )
    assert run_python(code, **{DISABLE_ENV: "0"}) == "freqtrade_bingx.adapter.exchange"


def test_hook_is_gone_after_it_fired():
    code = "import sys, freqtrade.exchange; print([type(f).__name__ for f in sys.meta_path])"
    assert "_ExchangeImportHook" not in run_python(code)


@pytest.mark.parametrize("margin_mode", [MarginMode.ISOLATED, MarginMode.CROSS])
def test_futures_modes_are_accepted_where_stock_freqtrade_refuses(margin_mode):
    from freqtrade.exchange.bingx import Bingx as StockBingx

    from freqtrade_bingx.adapter.exchange import Bingx

    def check(cls):
        # freqtrade's own check, run against each class's declared capabilities.
        fake_self = SimpleNamespace(
            name="BingX",
            _supported_trading_mode_margin_pairs=cls._supported_trading_mode_margin_pairs,
        )
        StockBingx.validate_trading_mode_and_margin_mode(
            fake_self, TradingMode.FUTURES, margin_mode
        )

    check(Bingx)
    with pytest.raises(ConfigurationError, match="does not support"):
        check(StockBingx)


def test_version_is_logged_once_when_the_class_is_used(make_exchange, caplog):
    import freqtrade_bingx

    caplog.set_level("INFO")
    make_exchange()
    lines = [r.getMessage() for r in caplog.records if "freqtrade-bingx" in r.getMessage()]
    expected = f"freqtrade-bingx {freqtrade_bingx.__version__}: BingX USDT-M futures adapter in use"
    assert lines == [expected]

"""Shared fixtures: a fake BingX on loopback and freqtrade exchange objects pointed at it."""

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from freqtrade_bingx.sim import FakeBingx


API_KEY = "test-key"
API_SECRET = "test-secret-0123456789abcdef"
LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
MARGIN_PATH = "/openApi/swap/v2/trade/marginType"
MODE_PATH = "/openApi/swap/v1/positionSide/dual"
TIME_PATH = "/openApi/swap/v2/server/time"


@pytest.fixture(scope="session", autouse=True)
def no_account_state_in_home(tmp_path_factory) -> Iterator[None]:
    """Nothing the suite starts writes shared account state (account_budget.py) into the
    user's ``~/.cache``: session-wide, so module-scoped fixtures and the freqtrade processes
    they launch (set up before any per-test fixture) inherit it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("session-cache")))
        yield


@pytest.fixture(autouse=True)
def account_state_in_tmp(tmp_path_factory, monkeypatch) -> None:
    """Each test's shared account state (account_budget.py) in a folder of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def fake_bingx() -> Iterator[FakeBingx]:
    with FakeBingx(accounts={API_KEY: API_SECRET}) as server:
        yield server


def futures_config(server: FakeBingx, **overrides: Any) -> dict[str, Any]:
    from freqtrade.enums import RunMode

    exchange = {
        "name": "bingx",
        "key": API_KEY,
        "secret": API_SECRET,
        # ccxt's own throttle only slows the tests down; the plugin keeps its limiter.
        "ccxt_config": {"urls": {"api": server.ccxt_urls["api"]}, "enableRateLimit": False},
        "pair_whitelist": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        "pair_blacklist": [],
        **overrides.pop("exchange", {}),
    }
    config = {
        "exchange": exchange,
        "dry_run": False,
        "runmode": RunMode.LIVE,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "user_data_dir": None,
        **overrides,
    }
    return config


@pytest.fixture
def make_exchange(fake_bingx, mocker, tmp_path) -> Callable[..., Any]:
    """Build the plugin's exchange against the fake server; freqtrade's back-off is instant."""
    import freqtrade.exchange
    from freqtrade.resolvers import ExchangeResolver

    mocker.patch("freqtrade.exchange.common.time.sleep")
    built = []

    def make(**overrides: Any):
        config = futures_config(fake_bingx, **overrides)
        config.setdefault("datadir", tmp_path / "data")
        exchange = ExchangeResolver.load_exchange(config, validate=False)
        assert isinstance(exchange, freqtrade.exchange.Bingx)
        # Short timeouts keep the stall tests quick; a real run uses the defaults.
        if not config["dry_run"]:
            exchange.bingx.timeout = (1.0, 0.5)
            exchange.reload_markets(True, load_leverage_tiers=False)
        built.append(exchange)
        return exchange

    yield make
    for exchange in built:
        exchange.close()


@pytest.fixture
def quiet_ccxt_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog

"""Markets snapshot for offline runs, and the demo host for ccxt and the plugin."""

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

from freqtrade_bingx.bingx.failures import BingxSettingError
from freqtrade_bingx.sim import FakeBingx
from freqtrade_bingx.sim.server import CONTRACTS_PATH, TIERS_PATH
from tests.configs import API_KEY, API_SECRET, config_file, futures_config, trade_config


def _dead_urls(port: int) -> dict:
    base = f"http://127.0.0.1:{port}/openApi"
    return {"api": {section: base for section in ("swap", "spot", "cswap", "wallets", "api")}}


def test_online_load_saves_a_snapshot_and_offline_backtesting_uses_it(fake_bingx, tmp_path, caplog):
    config = futures_config(fake_bingx, runmode=RunMode.BACKTEST, dry_run=True, datadir=tmp_path)
    online = ExchangeResolver.load_exchange(config, validate=False)
    online.reload_markets(True, load_leverage_tiers=False)
    online.close()
    assert (tmp_path / "bingx_markets_futures.json").is_file()

    port = fake_bingx.base_url.rsplit(":", 1)[1]
    fake_bingx.stop()  # BingX is gone: connections to it are refused
    offline_config = futures_config(
        fake_bingx, runmode=RunMode.BACKTEST, dry_run=True, datadir=tmp_path
    )
    offline_config["exchange"]["ccxt_config"]["urls"] = _dead_urls(int(port))
    caplog.set_level(logging.WARNING)
    offline = ExchangeResolver.load_exchange(offline_config, validate=False)
    offline.reload_markets(True, load_leverage_tiers=False)
    try:
        assert offline.markets["BTC/USDT:USDT"]["id"] == "BTC-USDT"
        assert offline.markets["BTC/USDT:USDT"]["info"]["maxLongLeverage"] in (125, "125")
        assert "using the markets snapshot saved" in caplog.text
        # ccxt's error quotes the signed URL; the plugin's own log line must not.
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("freqtrade_bingx")]
        assert ours and not any(re.search(r"[0-9a-f]{64}", line) for line in ours)
    finally:
        offline.close()


@pytest.mark.parametrize("runmode, has_snapshot", [(RunMode.LIVE, True), (RunMode.BACKTEST, False)])
def test_no_snapshot_fallback_for_a_trading_bot_or_without_a_snapshot(
    fake_bingx, tmp_path, runmode, has_snapshot
):
    if has_snapshot:
        online = ExchangeResolver.load_exchange(
            futures_config(fake_bingx, runmode=RunMode.BACKTEST, dry_run=True, datadir=tmp_path),
            validate=False,
        )
        online.reload_markets(True, load_leverage_tiers=False)
        online.close()
    port = int(fake_bingx.base_url.rsplit(":", 1)[1])
    fake_bingx.stop()
    config = futures_config(fake_bingx, runmode=runmode, dry_run=True, datadir=tmp_path)
    config["exchange"]["ccxt_config"]["urls"] = _dead_urls(port)
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)  # logs, does not raise
        assert exchange._markets == {}
    finally:
        exchange.close()


class _Reply:
    """What the transport reads of a ``requests`` reply: status, headers and the body's bytes."""

    def __init__(self, body: dict) -> None:
        self.status_code = 200
        self.content = json.dumps(body).encode()
        self.headers: dict = {}


def test_demo_trading_routes_ccxt_and_the_plugin_to_the_vst_host(fake_bingx, mocker, tmp_path):
    config = futures_config(fake_bingx, runmode=RunMode.OTHER, datadir=tmp_path)
    config["exchange"]["ccxt_config"] = {}  # no loopback override: the real demo host
    config["exchange"]["demo_trading"] = True
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        for api in (exchange._api, exchange._api_async):
            swap_url = api.implode_hostname(api.urls["api"]["swap"])
            assert swap_url == "https://open-api-vst.bingx.com/openApi"
        sent = []

        def fake_request(method, url, **kwargs):
            sent.append(url)
            data = {"serverTime": 1} if "server/time" in url else {"dualSidePosition": "true"}
            return _Reply({"code": 0, "msg": "", "data": data})

        mocker.patch.object(exchange.bingx.session, "request", side_effect=fake_request)
        assert exchange.refresh_position_mode().value == "hedge"
        assert sent and all(u.startswith("https://open-api-vst.bingx.com/openApi/") for u in sent)
    finally:
        exchange.close()


@pytest.fixture
def decoy_live_host() -> Iterator[FakeBingx]:
    """Stands in for BingX's live host: in demo mode nothing may reach it."""
    with FakeBingx(accounts={API_KEY: API_SECRET}) as server:
        yield server


def _demo_config(demo_host: FakeBingx, live_host: FakeBingx, tmp_path: Path, **extra) -> dict:
    """The shipped configs/demo.json, with ccxt's 'test' URLs on ``demo_host``.

    ccxt's 'api' URLs (the live host) point at ``live_host``, so a request that was not routed
    to the demo host is counted instead of leaving this machine.
    """
    path = config_file(live_host, tmp_path, shipped="demo.json", demo=demo_host, top=extra)
    return trade_config(path)


def test_demo_config_passes_freqtrades_start_up_validation(fake_bingx, decoy_live_host, tmp_path):
    config = _demo_config(fake_bingx, decoy_live_host, tmp_path)
    assert config["exchange"]["demo_trading"] is True and config["dry_run"] is False
    # Not freqtrade's default live database, which a live bot would then share.
    assert config["db_url"] == "sqlite:///tradesv3.demo.sqlite"
    # The path `freqtrade trade` takes: validate=True (markets, config checks, clock check),
    # then the leverage tiers.
    exchange = ExchangeResolver.load_exchange(config, validate=True, load_leverage_tiers=True)
    try:
        assert exchange.name == "BingX (Demo)" and exchange.id == "bingx_demo"
        for api in (exchange._api, exchange._api_async):
            rest = {k: v for k, v in api.urls["api"].items() if k != "ws"}
            assert rest == {k: v for k, v in fake_bingx.ccxt_urls["test"].items() if k != "ws"}
            # The websocket candle feed goes to the demo host's stream too.
            assert api.urls["api"]["ws"]["linear"] == fake_bingx.ws.url
        assert exchange.bingx.base_url == fake_bingx.base_url
        assert exchange.refresh_position_mode().value == "one_way"
        assert "BTC/USDT:USDT" in exchange.markets
        # Caches of the demo host sit beside the live ones, never in their place.
        datadir = Path(config["datadir"])
        assert exchange.markets_snapshot_path() == datadir / "bingx_markets_futures_demo.json"
        assert exchange.markets_snapshot_path().is_file()
        assert not (datadir / "bingx_markets_futures.json").exists()
        tier_cache = exchange.tier_cache_path()
        assert tier_cache == datadir / "futures" / "bingx_leverage_tiers_USDT_demo.json"
        assert tier_cache.is_file()
    finally:
        exchange.close()
    assert fake_bingx.count(CONTRACTS_PATH, "GET") >= 1
    assert fake_bingx.count(TIERS_PATH, "GET") == 3  # the whitelist of base.json
    assert decoy_live_host.requests == []


def test_demo_trading_api_urls_are_ccxts_test_urls(fake_bingx, tmp_path):
    config = futures_config(fake_bingx, runmode=RunMode.OTHER, datadir=tmp_path)
    config["exchange"]["ccxt_config"] = {}  # ccxt's own URLs, nothing overridden
    config["exchange"]["demo_trading"] = True
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        for api in (exchange._api, exchange._api_async):
            assert api.isSandboxModeEnabled
            assert api.urls["api"] == api.urls["test"]
            hosts = {
                urlsplit(api.implode_hostname(url)).hostname
                for section, url in api.urls["api"].items()
                if section != "ws"  # {"linear": "wss://vst-open-api-ws.bingx.com/..."}
            }
            assert hosts == {"open-api-vst.bingx.com"}
        assert exchange.bingx.base_url == "https://open-api-vst.bingx.com"
    finally:
        exchange.close()
    assert fake_bingx.requests == []


def test_spot_demo_is_refused_before_any_request(fake_bingx, decoy_live_host, tmp_path):
    config = _demo_config(
        fake_bingx, decoy_live_host, tmp_path, trading_mode="spot", margin_mode=""
    )
    with pytest.raises(BingxSettingError, match="perpetual futures only"):
        ExchangeResolver.load_exchange(config, validate=True)
    assert fake_bingx.requests == [] and decoy_live_host.requests == []

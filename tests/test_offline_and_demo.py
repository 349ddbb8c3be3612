"""Markets snapshot for offline runs, and the demo host for ccxt and the plugin."""

import logging
import re

import pytest
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

from tests.conftest import futures_config


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
    def __init__(self, body: dict) -> None:
        self.status_code = 200
        self._body = body
        self.headers: dict = {}

    def json(self) -> dict:
        return self._body


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

"""Cold start: leverage tiers for the pairs the bot uses, not for every BingX swap.

Against the fake BingX with 60 USDT-M swaps; requests are counted in its ledger.
"""

import json
import threading
from typing import Any

import pytest

from freqtrade_bingx.sim import FakeBingx, Fault, many_contracts
from tests.configs import API_KEY, API_SECRET, config_file, trade_config


TIER_PATH = "/openApi/swap/v1/maintMarginRatio"
LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
SWAPS = 60
DYNAMIC = {"pairlists": [{"method": "VolumePairList", "number_assets": 20}]}
NEW = "C0042/USDT:USDT"  # a made-up swap no whitelist names; 50x
OTHER = "C0043/USDT:USDT"


@pytest.fixture
def fake_bingx():
    # Overrides conftest's fixture, so make_exchange builds against this one.
    with FakeBingx(accounts={API_KEY: API_SECRET}, contracts=many_contracts(SWAPS)) as server:
        yield server


def tier_symbols(server: FakeBingx) -> list[str]:
    return [r.params["symbol"] for r in server.requests if r.path == TIER_PATH]


def cache_file(exchange) -> dict[str, Any]:
    return json.loads(exchange.tier_cache_path().read_text())["data"]


def start(server: FakeBingx, tmp_path, **override: Any):
    """The exchange as ``freqtrade trade`` builds it from the shipped live config: validated,
    markets and tiers loaded."""
    from freqtrade.resolvers import ExchangeResolver

    exchange = override.pop("exchange", {})
    config = trade_config(config_file(server, tmp_path, top=override, **exchange))
    return ExchangeResolver.load_exchange(config, validate=True, load_leverage_tiers=True)


def test_a_dynamic_pairlist_starts_without_loading_any_tiers(fake_bingx, tmp_path):
    exchange = start(fake_bingx, tmp_path, exchange={"pair_whitelist": []}, **DYNAMIC)
    try:
        assert tier_symbols(fake_bingx) == []
        assert fake_bingx.count(LEVERAGE_PATH, "GET") == 0
        assert exchange._leverage_tiers == {}
        assert len(exchange.markets) >= SWAPS
    finally:
        exchange.close()


def test_first_use_loads_a_pair_once_and_caches_it(fake_bingx, make_exchange, tmp_path):
    exchange = make_exchange(exchange={"pair_whitelist": []}, **DYNAMIC)
    exchange.fill_leverage_tiers()
    fake_bingx.clear_requests()

    # freqtrade's entry path asks for the maximum leverage first.
    assert exchange.get_max_leverage(NEW, 10) == 50.0
    assert exchange.get_max_leverage(NEW, 10) == 50.0
    assert tier_symbols(fake_bingx) == ["C0042-USDT"]
    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 1  # the account's maximum, with it
    assert len(exchange._leverage_tiers[NEW]) > 1  # BingX's ladder, not the estimate
    assert set(cache_file(exchange)) == {NEW}

    # A liquidation estimate (maintenance rate) loads another pair the same way, once.
    exchange.get_maintenance_ratio_and_amt(OTHER, 1000.0)
    exchange.get_maintenance_ratio_and_amt(OTHER, 2000.0)
    assert tier_symbols(fake_bingx) == ["C0042-USDT", "C0043-USDT"]
    assert set(cache_file(exchange)) == {NEW, OTHER}

    # The next run starts from the cache: nothing sent, for either pair.
    again = make_exchange(exchange={"pair_whitelist": []}, **DYNAMIC)
    again.fill_leverage_tiers()
    fake_bingx.clear_requests()
    assert again.get_maintenance_ratio_and_amt(OTHER, 1000.0) == (
        exchange.get_maintenance_ratio_and_amt(OTHER, 1000.0)
    )
    assert tier_symbols(fake_bingx) == []


def test_a_static_whitelist_loads_just_its_pairs(fake_bingx, tmp_path):
    whitelist = ["BTC/USDT:USDT", "C0010/USDT:USDT"]
    exchange = start(fake_bingx, tmp_path, exchange={"pair_whitelist": whitelist})
    try:
        assert sorted(tier_symbols(fake_bingx)) == ["BTC-USDT", "C0010-USDT"]
        assert sorted(exchange._leverage_tiers) == whitelist
        assert set(cache_file(exchange)) == set(whitelist)
    finally:
        exchange.close()


def test_a_dry_run_entry_path_loads_tiers_for_the_liquidation_price(
    fake_bingx, make_exchange, tmp_path
):
    from freqtrade.enums import RunMode

    exchange = make_exchange(
        dry_run=True, runmode=RunMode.DRY_RUN, exchange={"pair_whitelist": []}, **DYNAMIC
    )
    exchange.reload_markets(True)
    fake_bingx.clear_requests()
    price = exchange.get_liquidation_price(
        NEW,
        open_rate=1.0,
        is_short=False,
        amount=100.0,
        stake_amount=10.0,
        leverage=10.0,
        wallet_balance=10.0,
        open_trades=[],
    )
    assert price is not None and 0 < price < 1.0
    assert tier_symbols(fake_bingx) == ["C0042-USDT"]


def test_backtesting_loads_its_whitelist_from_the_cache_and_nothing_on_use(
    fake_bingx, make_exchange, tmp_path
):
    from freqtrade.enums import RunMode

    live = make_exchange(exchange={"pair_whitelist": []}, **DYNAMIC)
    live.get_max_leverage(NEW, 10)  # cached on first use
    backtest = make_exchange(
        dry_run=True, runmode=RunMode.BACKTEST, exchange={"pair_whitelist": [NEW]}
    )
    fake_bingx.clear_requests()
    backtest.reload_markets(True)
    assert backtest._leverage_tiers[NEW] == live._leverage_tiers[NEW]
    # A pair outside the backtest's whitelist: freqtrade's answer, and nothing is sent.
    assert backtest.get_max_leverage(OTHER, 10) == 1.0
    assert [r for r in fake_bingx.requests if r.api_key is not None] == []


def test_backtesting_expands_whitelist_patterns(fake_bingx, make_exchange):
    from freqtrade.enums import RunMode

    backtest = make_exchange(
        dry_run=True, runmode=RunMode.BACKTEST, exchange={"pair_whitelist": ["C001[0-2]/.*"]}
    )
    backtest.reload_markets(True)
    assert sorted(tier_symbols(fake_bingx)) == ["C0010-USDT", "C0011-USDT", "C0012-USDT"]


def test_a_refusal_for_every_pair_stops_loading_on_first_use(fake_bingx, make_exchange, caplog):
    exchange = make_exchange(exchange={"pair_whitelist": []}, **DYNAMIC)
    fake_bingx.inject(Fault(path=TIER_PATH, code=100413, msg="Incorrect apiKey"))
    assert exchange.get_max_leverage(NEW, 10) == 50.0  # the estimate's
    assert exchange.get_max_leverage(OTHER, 10) == 75.0
    assert tier_symbols(fake_bingx) == ["C0042-USDT"]  # OTHER's was never sent
    assert "Stopped loading BingX tiers" in caplog.text
    assert "estimated tier" in caplog.text
    assert exchange._leverage_tiers[OTHER][0]["maxNotional"] is None  # the estimate

    # freqtrade's hourly market reload tries the used pairs again.
    exchange.reload_markets(True)
    assert sorted(tier_symbols(fake_bingx)) == ["C0042-USDT", "C0042-USDT", "C0043-USDT"]
    assert len(exchange._leverage_tiers[OTHER]) > 1
    assert exchange.tier_book.estimated == set()


def test_concurrent_first_uses_send_one_tier_request(fake_bingx, make_exchange):
    exchange = make_exchange(exchange={"pair_whitelist": []}, **DYNAMIC)
    exchange.bingx.timeout = (1.0, 5.0)
    # Hold the tier reply so both callers are inside the first use at once.
    fake_bingx.inject(Fault(path=TIER_PATH, delay_s=1.0))
    results: list[float] = []
    threads = [
        threading.Thread(target=lambda: results.append(exchange.get_max_leverage(NEW, 10)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert tier_symbols(fake_bingx) == ["C0042-USDT"]
    # The caller that did not load answers as freqtrade does for a pair without tiers.
    assert sorted(results) == [1.0, 50.0]

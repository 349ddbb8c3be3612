import json
import logging

import pytest

from freqtrade_bingx.bingx import replies, tiers
from freqtrade_bingx.sim import Fault
from freqtrade_bingx.sim.accounts import leverage_tiers


TIER_PATH = "/openApi/swap/v1/maintMarginRatio"
LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
XRP = "XRP/USDT:USDT"  # the fake's contract list says 75x; its accounts may use 100x


def test_bingx_rows_become_freqtrade_tiers_with_a_max_leverage():
    rows = leverage_tiers("BTC-USDT", 125)
    assert all("maxLeverage" not in row for row in rows)  # what BingX sends
    parsed = tiers.parse_tiers(replies.tiers(list(reversed(rows)), "BTC-USDT"), pair_max=125)
    assert [t["minNotional"] for t in parsed] == sorted(t["minNotional"] for t in parsed)
    # Tier 1 rate 0.4% -> floor(1 / 0.008) = 125 = the pair max; tier 2 0.8% -> 62.
    assert [t["maxLeverage"] for t in parsed[:3]] == [125.0, 62.0, 25.0]
    assert all(isinstance(t["maxLeverage"], float) for t in parsed)
    assert parsed[0]["maintAmt"] == 0.0


def test_recap_derives_each_tier_again_under_a_new_maximum():
    parsed = tiers.parse_tiers(replies.tiers(leverage_tiers("XRP-USDT", 100), "XRP-USDT"), 75)
    assert [t["maxLeverage"] for t in parsed[:2]] == [75.0, 50.0]
    raised = tiers.recap(parsed, 100)
    assert [t["maxLeverage"] for t in raised[:2]] == [100.0, 50.0]
    assert [t["maxLeverage"] for t in tiers.recap(raised, 20)[:2]] == [20.0, 20.0]
    assert [t["maintenanceMarginRate"] for t in raised] == [
        t["maintenanceMarginRate"] for t in parsed
    ]


def test_pair_max_caps_every_tier():
    rows = [
        {
            "minPositionVal": "0",
            "maxPositionVal": "1000",
            "maintMarginRatio": "0.001",
            "maintAmount": "0",
        }
    ]
    assert tiers.parse_tiers(replies.tiers(rows, "BTC-USDT"), pair_max=20)[0]["maxLeverage"] == 20.0


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [{"minPositionVal": "0"}],
        [
            {
                "minPositionVal": "x",
                "maxPositionVal": "1",
                "maintMarginRatio": "0.01",
                "maintAmount": "0",
            }
        ],
    ],
)
def test_garbled_tier_replies_are_refused(rows):
    with pytest.raises(replies.BingxBadData):
        replies.tiers(rows, "BTC-USDT")


def test_live_load_fetches_whitelist_tiers_once_and_caches_them(
    fake_bingx, make_exchange, tmp_path
):
    exchange = make_exchange()
    fake_bingx.clear_requests()
    exchange.fill_leverage_tiers()
    assert fake_bingx.count(TIER_PATH, "GET") == 2  # BTC and ETH, the whitelist
    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 2  # and the account's maximum of each
    assert exchange.get_max_leverage("BTC/USDT:USDT", 10) == 125.0
    assert exchange.get_max_leverage("ETH/USDT:USDT", 0) == 100.0
    cache = json.loads(
        (tmp_path / "data" / "futures" / "bingx_leverage_tiers_USDT.json").read_text()
    )
    assert set(cache["data"]) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}

    again = make_exchange()
    fake_bingx.clear_requests()
    again.fill_leverage_tiers()
    assert fake_bingx.count(TIER_PATH) == 0
    assert again._leverage_tiers == exchange._leverage_tiers


def test_max_leverage_falls_with_the_stake(fake_bingx, make_exchange):
    exchange = make_exchange()
    exchange.fill_leverage_tiers()
    # Tier 2 of BTC starts at 300000 notional: a stake of 10000 at 62x reaches it.
    assert exchange.get_max_leverage("BTC/USDT:USDT", 100) == 125.0
    assert exchange.get_max_leverage("BTC/USDT:USDT", 10000) == 62.0


def test_without_keys_or_cache_tiers_are_estimated_and_say_so(fake_bingx, make_exchange, caplog):
    exchange = make_exchange(dry_run=True, exchange={"key": "", "secret": ""})
    exchange.reload_markets(True, load_leverage_tiers=False)
    caplog.set_level(logging.WARNING)
    exchange.fill_leverage_tiers()
    assert fake_bingx.count(TIER_PATH) == 0
    assert "estimated tier" in caplog.text
    btc = exchange._leverage_tiers["BTC/USDT:USDT"]
    assert btc == [
        {
            "minNotional": 0.0,
            "maxNotional": None,
            "maintenanceMarginRate": 0.004,
            "maxLeverage": 125.0,
            "maintAmt": 0.0,
        }
    ]
    assert exchange.get_max_leverage("BTC/USDT:USDT", 50) == 125.0


def test_a_failing_pair_falls_back_and_is_not_cached(fake_bingx, make_exchange, tmp_path):
    exchange = make_exchange()
    fake_bingx.inject(
        Fault(path=TIER_PATH, code=109400, msg="ETH-USDT,symbol not exist, please verify it in api")
    )
    exchange.fill_leverage_tiers()
    cached = json.loads(
        (tmp_path / "data" / "futures" / "bingx_leverage_tiers_USDT.json").read_text()
    )["data"]
    assert len(cached) == 1  # the other pair only; the estimate is never written down
    assert len(exchange._leverage_tiers) == 2


def test_old_cache_is_ignored(tmp_path):
    from datetime import UTC, datetime, timedelta

    path = tmp_path / "t.json"
    cached = {"X": tiers.fallback_tiers(10)}
    tiers.save_cache(path, cached, now=datetime.now(UTC) - timedelta(weeks=5))
    assert tiers.load_cache(path) == {}
    tiers.save_cache(path, cached)
    assert tiers.load_cache(path) == cached


def test_tiers_follow_the_account_maximum_not_the_contract_list(
    fake_bingx, make_exchange, tmp_path
):
    exchange = make_exchange(exchange={"pair_whitelist": [XRP]})
    exchange.fill_leverage_tiers()
    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 1
    assert exchange.get_max_leverage(XRP, 10) == 100.0  # the contract list says 75

    # Live again from the cache: freqtrade's cap comes from the account, read at first use.
    live = make_exchange(exchange={"pair_whitelist": [XRP]})
    fake_bingx.clear_requests()
    live.fill_leverage_tiers()
    assert fake_bingx.requests == []
    fake_bingx.account().max_leverage.update({("XRP-USDT", "LONG"): 20, ("XRP-USDT", "SHORT"): 20})
    assert live.get_max_leverage(XRP, 10) == 20.0
    assert live.get_max_leverage(XRP, 10) == 20.0
    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 1


def test_backtesting_reads_no_account_and_uses_the_cached_tiers(fake_bingx, make_exchange):
    from freqtrade.enums import RunMode

    make_exchange(exchange={"pair_whitelist": [XRP]}).fill_leverage_tiers()  # writes the cache
    backtest = make_exchange(
        dry_run=True, runmode=RunMode.BACKTEST, exchange={"pair_whitelist": [XRP]}
    )
    fake_bingx.clear_requests()
    backtest.reload_markets(True)
    assert backtest.get_max_leverage(XRP, 10) == 100.0
    assert [r for r in fake_bingx.requests if r.api_key is not None] == []

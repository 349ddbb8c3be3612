"""Delisting: BingX's contract times feed freqtrade's DelistFilter and check_delisting_time."""

from datetime import UTC, datetime

import pytest
from freqtrade.enums import RunMode
from freqtrade.plugins.pairlistmanager import PairListManager

from freqtrade_bingx.bingx.delisting import stop_time_ms


DAY_MS = 24 * 3600 * 1000
NOW_MS = 1_790_000_000_000


def _whitelist(exchange, max_days: int) -> list[str]:
    config = {
        **exchange._config,
        "pairlists": [
            {"method": "StaticPairList"},
            {"method": "DelistFilter", "max_days_from_now": max_days},
        ],
    }
    manager = PairListManager(exchange, config)
    manager.refresh_pairlist()
    return manager.whitelist


def test_delist_filter_keeps_out_a_pair_bingx_takes_offline_soon(fake_bingx, make_exchange):
    off_ms = fake_bingx.server_time_ms() + 2 * DAY_MS
    fake_bingx.schedule_delisting("ETH-USDT", off_ms)
    exchange = make_exchange()  # loads the contract list with ETH's offTime

    assert exchange.check_delisting_time("ETH/USDT:USDT") == datetime.fromtimestamp(
        off_ms / 1000, tz=UTC
    )
    assert exchange.check_delisting_time("BTC/USDT:USDT") is None
    # freqtrade's DelistFilter, as configured in a user's pairlists: no longer refused for
    # BingX futures, and ETH (offline in 2 days) is out of the whitelist, so never entered.
    assert _whitelist(exchange, max_days=7) == ["BTC/USDT:USDT"]
    assert _whitelist(exchange, max_days=1) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_no_new_positions_after_maintain_time_counts_first(fake_bingx, make_exchange):
    now = fake_bingx.server_time_ms()
    fake_bingx.schedule_delisting("ETH-USDT", now + 5 * DAY_MS, maintain_time_ms=now + DAY_MS)
    exchange = make_exchange()
    stop = exchange.check_delisting_time("ETH/USDT:USDT")
    assert stop == datetime.fromtimestamp((now + DAY_MS) / 1000, tz=UTC)


def test_a_pair_already_closed_to_entries_is_filtered(fake_bingx, make_exchange):
    now = fake_bingx.server_time_ms()
    # maintainTime passed: the local exchange shows status 25, as the contracts page describes.
    fake_bingx.schedule_delisting("ETH-USDT", now + DAY_MS, maintain_time_ms=now - DAY_MS)
    exchange = make_exchange()
    assert exchange.markets["ETH/USDT:USDT"]["info"]["status"] == 25
    stop = exchange.check_delisting_time("ETH/USDT:USDT")
    assert stop == datetime.fromtimestamp((now - DAY_MS) / 1000, tz=UTC)
    assert "ETH/USDT:USDT" not in _whitelist(exchange, max_days=0)


def test_backtesting_and_spot_keep_freqtrades_answer(fake_bingx, make_exchange):
    fake_bingx.schedule_delisting("ETH-USDT", fake_bingx.server_time_ms() + DAY_MS)
    exchange = make_exchange(dry_run=True, runmode=RunMode.BACKTEST)
    assert exchange.check_delisting_time("ETH/USDT:USDT") is None


@pytest.mark.parametrize(
    "info, expected",
    [
        ({"offTime": 0, "maintainTime": 0, "status": 1}, None),  # nothing scheduled
        ({"offTime": NOW_MS + DAY_MS, "maintainTime": 0, "status": 1}, NOW_MS + DAY_MS),
        ({"offTime": str(NOW_MS + DAY_MS), "status": 1}, NOW_MS + DAY_MS),  # as a string
        ({"offTime": NOW_MS + 2 * DAY_MS, "maintainTime": NOW_MS + DAY_MS}, NOW_MS + DAY_MS),
        ({"maintainTime": NOW_MS - DAY_MS, "status": 1}, None),  # past, and online again
        ({"maintainTime": NOW_MS - DAY_MS, "status": 25}, NOW_MS - DAY_MS),  # closed to entries
        ({"offTime": NOW_MS + 5000 * DAY_MS, "status": 1}, None),  # a placeholder, not a date
        ({"offTime": "soon", "maintainTime": -1, "status": "x"}, None),  # garbage
        ({"offTime": float("nan"), "maintainTime": True}, None),
        ({"offTime": "1e400"}, None),
    ],
)
def test_stop_time_from_contract_fields(info, expected):
    assert stop_time_ms(info, NOW_MS) == expected

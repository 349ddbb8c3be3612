"""The markets snapshot and the tier cache on disk: hostile files, failing disks, shared dirs."""

import errno
import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

from freqtrade_bingx.bingx import markets_cache, tiers
from tests.conftest import futures_config


PAIR = "BTC/USDT:USDT"
TIER_PATH = "/openApi/swap/v1/maintMarginRatio"


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.rglob("*.tmp"))


def warnings_about(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


# --- writing ---------------------------------------------------------------------------------


def test_a_datadir_that_is_a_file_is_logged_not_raised(make_exchange, tmp_path, caplog):
    """Fails for root too: nothing can be created below a regular file."""
    datadir = tmp_path / "datadir"
    datadir.write_text("not a directory")
    caplog.set_level(logging.WARNING)

    exchange = make_exchange(datadir=datadir)  # loads markets live, then writes the snapshot
    exchange.fill_leverage_tiers()  # fetches tiers, then writes their cache

    assert PAIR in exchange.markets
    assert exchange.get_max_leverage(PAIR, 10) == 125.0
    assert warnings_about(caplog, "Could not write the BingX markets snapshot")
    assert warnings_about(caplog, "Could not write the BingX tier cache")
    assert datadir.read_text() == "not a directory"


def test_a_full_disk_is_logged_and_leaves_nothing_behind(make_exchange, tmp_path, mocker, caplog):
    exchange = make_exchange()
    datadir = tmp_path / "data"
    before = {p.name: p.read_bytes() for p in datadir.glob("*.json")}
    mocker.patch("os.replace", side_effect=OSError(errno.ENOSPC, "No space left on device"))
    caplog.set_level(logging.WARNING)

    exchange.reload_markets(True, load_leverage_tiers=False)
    exchange.fill_leverage_tiers()

    assert warnings_about(caplog, "No space left on device")
    assert leftovers(datadir) == []
    # The snapshot written before the disk filled is untouched.
    assert {p.name: p.read_bytes() for p in datadir.glob("*.json")} == before


WRITER = """
import sys
from pathlib import Path
from freqtrade_bingx.bingx import markets_cache
path, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
market = {"id": "BTC-USDT", "symbol": "BTC/USDT:USDT", "base": "BTC", "quote": "USDT",
          "type": "swap", "spot": False, "swap": True, "future": False, "option": False,
          "contract": True, "linear": True, "inverse": False, "contractSize": 1.0,
          "precision": {"amount": 0.0001, "price": 0.1}, "limits": {}, "info": {"w": tag}}
for i in range(count):
    if not markets_cache.save(path, {"BTC/USDT:USDT": market}, source=f"{tag}-{i}"):
        sys.exit(1)
"""


def test_two_bots_sharing_a_datadir_never_collide(tmp_path):
    """Two processes rewrite the same snapshot while this one reads it: always valid JSON."""
    path = tmp_path / "bingx_markets_futures.json"
    writes = 150
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(writes)])
        for tag in ("a", "b")
    ]
    reads = 0
    deadline = time.monotonic() + 60
    while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
        if path.exists():
            content = json.loads(path.read_text())  # never a half-written file
            assert content["markets"][PAIR]["info"]["w"] in ("a", "b")
            reads += 1
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    assert reads > 0
    assert markets_cache.load(path) is not None
    assert leftovers(tmp_path) == []


# --- reading ---------------------------------------------------------------------------------

NOW = datetime.now(UTC).isoformat()
GOOD_TIER = {
    "minNotional": 0.0,
    "maxNotional": 300000.0,
    "maintenanceMarginRate": 0.004,
    "maxLeverage": 125.0,
    "maintAmt": 0.0,
}


def tier_cache(*tiers_of_btc, updated: str = NOW) -> str:
    return json.dumps({"updated": updated, "data": {PAIR: list(tiers_of_btc)}})


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "\x00\xff",
        "[]",
        "5",
        json.dumps({"updated": NOW, "data": []}),
        json.dumps({"updated": NOW, "data": {PAIR: 5}}),
        json.dumps({"updated": 5, "data": {}}),
        json.dumps({"updated": "yesterday", "data": {}}),
        tier_cache(GOOD_TIER, updated="2026-01-01T00:00:00"),  # no time zone
        tier_cache(),
        tier_cache("tier 1"),
        tier_cache({**GOOD_TIER, "maintenanceMarginRate": 1e-320}),
        tier_cache({**GOOD_TIER, "maintenanceMarginRate": -0.004}),
        tier_cache({**GOOD_TIER, "maintenanceMarginRate": "0.004"}),
        tier_cache({**GOOD_TIER, "maxLeverage": 0}),
        tier_cache({**GOOD_TIER, "maxLeverage": None}),
        tier_cache({**GOOD_TIER, "maxNotional": -1.0}),
        tier_cache({**GOOD_TIER, "maintAmt": "x"}),
        tier_cache(GOOD_TIER).replace("125.0", "NaN"),
        tier_cache(GOOD_TIER).replace("125.0", "Infinity"),
        "[" * 100_000,
    ],
    # Ids without the time of the run: pytest-xdist's workers must collect the same tests.
    ids=lambda content: content.replace(NOW, "now") if NOW in content else None,
)
def test_a_hand_edited_tier_cache_is_ignored_with_one_line(
    fake_bingx, make_exchange, tmp_path, caplog, content
):
    cache = tiers.cache_path(tmp_path / "data", "USDT")
    cache.parent.mkdir(parents=True)
    cache.write_text(content, encoding="latin-1")
    exchange = make_exchange()
    caplog.set_level(logging.INFO)
    fake_bingx.clear_requests()

    assert tiers.load_cache(cache) == {}
    assert tiers.load_cache(cache) == {}  # as at the next markets reload: no second line
    exchange.fill_leverage_tiers()

    assert len(warnings_about(caplog, "Ignoring BingX tier cache")) == 1
    # BingX's own tiers were fetched instead, and replaced the bad file.
    assert fake_bingx.count(TIER_PATH) == 2
    assert len(exchange._leverage_tiers[PAIR]) > 1
    assert exchange.get_max_leverage(PAIR, 10) == 125.0
    assert json.loads(cache.read_text())["data"][PAIR] == exchange._leverage_tiers[PAIR]


def snapshot(markets, saved: object = "2026-11-01T00:00:00+00:00") -> str:
    return json.dumps({"saved": saved, "source": "test", "markets": markets})


def _market(**changes) -> dict:
    market = {
        "id": "BTC-USDT",
        "symbol": PAIR,
        "base": "BTC",
        "quote": "USDT",
        "settle": "USDT",
        "type": "swap",
        "spot": False,
        "swap": True,
        "future": False,
        "option": False,
        "contract": True,
        "linear": True,
        "inverse": False,
        "contractSize": 1.0,
        "precision": {"amount": 0.0001, "price": 0.1},
        "limits": {"amount": {"min": 0.0001, "max": None}},
        "info": {},
    }
    market.update(changes)
    return market


def _dead_urls(port: int) -> dict:
    base = f"http://127.0.0.1:{port}/openApi"
    return {"api": {section: base for section in ("swap", "spot", "cswap", "wallets", "api")}}


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        snapshot([_market()]),
        snapshot({}),
        snapshot({PAIR: []}),  # ccxt's set_markets: TypeError
        snapshot({PAIR: _market(spot=None)}),  # ccxt's set_markets: KeyError
        snapshot({"ETH/USDT:USDT": _market()}),
        snapshot({PAIR: _market(id=5)}),
        snapshot({PAIR: _market(precision="high")}),
        snapshot({PAIR: _market(limits={"amount": {"min": "tiny"}})}),
        snapshot({PAIR: _market(contractSize=True)}),
        snapshot({PAIR: _market()}, saved=None),
    ],
)
def test_a_garbage_markets_snapshot_is_ignored_with_one_line(fake_bingx, tmp_path, caplog, content):
    (tmp_path / "bingx_markets_futures.json").write_text(content)
    port = int(fake_bingx.base_url.rsplit(":", 1)[1])
    fake_bingx.stop()  # offline: only the snapshot could help
    config = futures_config(fake_bingx, runmode=RunMode.BACKTEST, dry_run=True, datadir=tmp_path)
    config["exchange"]["ccxt_config"]["urls"] = _dead_urls(port)
    caplog.set_level(logging.WARNING)
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)  # logs, does not raise
        exchange.reload_markets(True, load_leverage_tiers=False)
        assert exchange._markets == {}
        assert len(warnings_about(caplog, "Ignoring BingX markets snapshot")) == 1
    finally:
        exchange.close()


def test_a_good_snapshot_still_loads(tmp_path):
    path = tmp_path / "bingx_markets_futures.json"
    path.write_text(snapshot({PAIR: _market()}))
    markets, saved = markets_cache.load(path)
    assert markets[PAIR]["id"] == "BTC-USDT" and saved.startswith("2026")


# --- spot ------------------------------------------------------------------------------------


def test_spot_writes_nothing(fake_bingx, make_exchange, tmp_path):
    exchange = make_exchange(
        trading_mode="spot", margin_mode="", exchange={"pair_whitelist": ["BTC/USDT"]}
    )
    exchange.reload_markets(True, load_leverage_tiers=False)
    assert exchange._api_async.markets  # markets were loaded ...
    written = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert written == []  # ... and nothing was written for them

"""freqtrade's `list-markets` and `list-pairs` with BingX out of reach: the markets snapshot.

The snapshot is made once by loading markets from the local fake BingX through the plugin.
Then every BingX URL of the config points at a loopback port that nobody listens on, so
freqtrade's requests are refused at once and nothing leaves the machine.
"""

import csv
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import ccxt
import pytest
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

from freqtrade_bingx.bingx import markets_cache
from freqtrade_bingx.sim import FakeBingx
from freqtrade_bingx.sim.server import TIERS_PATH
from tests.configs import API_KEY, API_SECRET, futures_config


ROOT = Path(__file__).resolve().parent.parent
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def closed_loopback_port() -> int:
    """A loopback port that was free a moment ago: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_urls(port: int) -> dict:
    """Every URL ccxt's BingX has (live and demo), sent to ``port`` on 127.0.0.1."""
    base = f"http://127.0.0.1:{port}/openApi"
    sections = ccxt.bingx().urls
    return {kind: {name: base for name in sections[kind]} for kind in ("api", "test")}


def save_snapshot(fake_bingx, datadir: Path) -> dict:
    """Markets loaded from the fake exchange through the plugin, which saves the snapshot."""
    config = futures_config(
        fake_bingx, runmode=RunMode.UTIL_EXCHANGE, dry_run=True, datadir=datadir
    )
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)
    finally:
        exchange.close()
    return json.loads(markets_cache.snapshot_path(datadir, "futures").read_text())


def save_snapshot_content(path: Path) -> dict:
    """A snapshot written by the plugin's own writer, for one fake market, as JSON."""
    market = {
        "id": "BTC-USDT",
        "symbol": "BTC/USDT:USDT",
        "base": "BTC",
        "quote": "USDT",
        "settle": "USDT",
        "type": "swap",
        **dict.fromkeys(("spot", "future", "option", "inverse"), False),
        **dict.fromkeys(("swap", "contract", "linear"), True),
        "contractSize": 1.0,
        "precision": {"amount": 0.0001, "price": 0.1},
        "limits": {"amount": {"min": 0.0001, "max": None}},
        "info": {},
    }
    assert markets_cache.save(path, {"BTC/USDT:USDT": market}, source="test")
    assert markets_cache.load(path) is not None
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("offline-listing")
    user_data = work / "user_data"
    with FakeBingx(accounts={API_KEY: API_SECRET}) as server:
        snapshot = save_snapshot(server, user_data / "data" / "bingx")
    port = closed_loopback_port()
    urls = loopback_urls(port)
    config = work / "offline.json"
    config.write_text(
        json.dumps(
            {
                # The shipped backtest config names the real BingX host; only the URLs change.
                "add_config_files": [str(ROOT / "configs" / "backtest.json")],
                "exchange": {
                    "ccxt_config": {"urls": urls},
                    "ccxt_async_config": {"urls": urls},
                },
            }
        )
    )
    yield {"config": config, "user_data": user_data, "port": port, "snapshot": snapshot}


def freqtrade(offline: dict, *args: str) -> subprocess.CompletedProcess:
    script = shutil.which("freqtrade", path=str(Path(sys.executable).parent))
    assert script, "freqtrade is not installed next to this python"
    # No proxy (it would be asked instead of 127.0.0.1) and no FREQTRADE__ overrides.
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in PROXY_VARIABLES and not k.startswith("FREQTRADE__")
    }
    env["NO_PROXY"] = "*"
    return subprocess.run(
        [script, *args, "-c", str(offline["config"]), "--user-data-dir", str(offline["user_data"])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def active_swaps(snapshot: dict) -> set[str]:
    return {
        symbol
        for symbol, market in snapshot["markets"].items()
        if market["swap"] and market.get("active") is not False
    }


def assert_ran_on_the_snapshot(result: subprocess.CompletedProcess, offline: dict) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    log = " ".join(result.stderr.split())  # freqtrade's console log wraps long lines
    # BingX was asked (on the closed loopback port), and only there.
    assert f"127.0.0.1:{offline['port']}" in log
    assert "bingx.com" not in log
    saved = datetime.fromisoformat(offline["snapshot"]["saved"])
    assert f"using the markets snapshot saved {saved:%Y-%m-%d %H:%M} UTC" in log
    assert "No BingX tickers offline" in log
    assert "Could not load tickers" not in log


def test_list_pairs_prints_the_snapshots_swaps(offline):
    result = freqtrade(offline, "list-pairs", "--print-json")
    assert_ran_on_the_snapshot(result, offline)
    listed = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(listed) == active_swaps(offline["snapshot"])
    assert "BTC/USDT:USDT" in listed


def test_list_markets_prints_its_table_from_the_snapshot(offline):
    result = freqtrade(offline, "list-markets")
    assert_ran_on_the_snapshot(result, offline)
    assert "Exchange BingX has" in result.stdout
    for symbol in active_swaps(offline["snapshot"]):
        market = offline["snapshot"]["markets"][symbol]
        row = next(line for line in result.stdout.splitlines() if f" {symbol} " in line)
        assert market["id"] in row and "Future" in row


def _contract_maximum(market: dict) -> float:
    """The contract list's maximum leverage of a swap (both sides: the lower)."""
    info = market["info"]
    return float(min(int(info["maxLongLeverage"]), int(info["maxShortLeverage"])))


def test_list_markets_shows_each_pairs_maximum_leverage_in_or_out_of_the_whitelist(offline):
    result = freqtrade(offline, "list-markets", "--print-csv")
    assert_ran_on_the_snapshot(result, offline)
    rows = list(csv.DictReader(io.StringIO(result.stdout[result.stdout.index("Id,") :])))
    shown = {row["Symbol"]: float(row["Leverage"]) for row in rows}
    whitelist = {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"}  # configs/base.json
    swaps = active_swaps(offline["snapshot"])
    assert whitelist < swaps  # and pairs outside it, which have no tiers loaded
    expected = {s: _contract_maximum(offline["snapshot"]["markets"][s]) for s in swaps}
    assert {s: shown[s] for s in swaps} == expected
    assert all(value > 1 for value in expected.values())  # not freqtrade's 1x without tiers


# --- in-process: what reaches the exchange -------------------------------------------------


def test_listing_every_swap_with_a_key_loads_no_tiers(fake_bingx, tmp_path):
    # An empty whitelist lists every swap: loading their tiers would cost two signed requests
    # per pair (~600 on BingX), and the listing shows each pair's maximum without them.
    config = futures_config(fake_bingx, runmode=RunMode.UTIL_EXCHANGE, dry_run=True)
    config["exchange"]["pair_whitelist"] = []
    config["datadir"] = tmp_path
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        exchange.reload_markets(True)  # with the tiers, as freqtrade's first market load
        contract = exchange.markets["BTC/USDT:USDT"]
        assert exchange.get_max_leverage("BTC/USDT:USDT", 20) == _contract_maximum(contract)
    finally:
        exchange.close()
    assert [r for r in fake_bingx.requests if r.path == TIERS_PATH] == []


class RefusingHost:
    """A loopback listener that closes every connection at once, counting them."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


@pytest.fixture
def refusing_host() -> Iterator[RefusingHost]:
    host = RefusingHost()
    yield host
    host.close()


def tool_exchange(fake_bingx, datadir: Path, port: int, runmode: RunMode):
    config = futures_config(fake_bingx, runmode=runmode, dry_run=True, datadir=datadir)
    config["exchange"]["ccxt_config"]["urls"] = loopback_urls(port)
    return ExchangeResolver.load_exchange(config, validate=False)


def test_tickers_on_the_snapshot_send_nothing(fake_bingx, refusing_host, tmp_path, caplog):
    save_snapshot(fake_bingx, tmp_path)
    exchange = tool_exchange(fake_bingx, tmp_path, refusing_host.port, RunMode.UTIL_EXCHANGE)
    caplog.set_level(logging.WARNING)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)
        assert "BTC/USDT:USDT" in exchange.markets
        tried = refusing_host.connections
        assert tried >= 1  # the markets were asked for before the snapshot was used
        assert exchange.get_tickers() == {}
        assert exchange.get_tickers(cached=True) == {}
        assert refusing_host.connections == tried
        assert len([r for r in caplog.records if "No BingX tickers" in r.getMessage()]) == 1
    finally:
        exchange.close()


@pytest.mark.parametrize("runmode", [RunMode.LIVE, RunMode.DRY_RUN])
def test_a_trading_bot_gets_no_snapshot_and_asks_bingx_for_tickers(
    fake_bingx, refusing_host, tmp_path, mocker, runmode
):
    mocker.patch("freqtrade.exchange.common.time.sleep")
    save_snapshot(fake_bingx, tmp_path)
    exchange = tool_exchange(fake_bingx, tmp_path, refusing_host.port, runmode)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)  # logs, does not raise
        assert exchange._markets == {}
        tried = refusing_host.connections
        with pytest.raises(Exception, match="Could not load tickers"):
            exchange.get_tickers()
        assert refusing_host.connections > tried
    finally:
        exchange.close()


def test_a_missing_snapshot_is_named_once(fake_bingx, refusing_host, tmp_path, caplog):
    exchange = tool_exchange(fake_bingx, tmp_path, refusing_host.port, RunMode.UTIL_EXCHANGE)
    caplog.set_level(logging.WARNING)
    try:
        exchange.reload_markets(True, load_leverage_tiers=False)
        assert exchange._markets == {}
        named = [r for r in caplog.records if "no usable markets snapshot" in r.getMessage()]
        assert len(named) == 1
        assert str(markets_cache.snapshot_path(tmp_path, "futures")) in named[0].getMessage()
    finally:
        exchange.close()


@pytest.mark.parametrize(
    "now, expected",
    [
        ("2026-11-01T00:20:00+00:00", "2026-11-01 00:00 UTC, less than an hour ago"),
        ("2026-11-01T05:59:00+00:00", "2026-11-01 00:00 UTC, 5 hours ago"),
        ("2026-11-02T01:00:00+00:00", "2026-11-01 00:00 UTC, 1 day ago"),
        ("2026-11-11T00:00:00+00:00", "2026-11-01 00:00 UTC, 10 days ago"),
        (
            "2026-10-31T00:00:00+00:00",
            "2026-11-01 00:00 UTC, in the future: check this machine's clock",
        ),
    ],
)
def test_the_snapshot_notice_says_when_and_how_old(now, expected):
    saved = "2026-11-01T01:00:00+01:00"  # another time zone: shown in UTC
    assert markets_cache.describe_saved(saved, datetime.fromisoformat(now)) == expected


@pytest.mark.parametrize("saved", ["yesterday", "2026-11-01T00:00:00", "", 20261101])
def test_a_snapshot_without_a_real_saving_time_is_not_used(tmp_path, caplog, saved):
    path = tmp_path / "bingx_markets_futures.json"
    good = save_snapshot_content(path)
    path.write_text(json.dumps({**good, "saved": saved}))
    assert markets_cache.load(path) is None
    assert "'saved' is not a date" in caplog.text

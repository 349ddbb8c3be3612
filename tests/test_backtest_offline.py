"""`freqtrade backtesting` of the example strategies on the shipped synthetic data, offline.

The fake BingX serves markets and tiers once (`freqtrade-bingx save-offline`), then it stops.
The backtest runs on the shipped backtest config with BingX's URLs on a closed loopback
port (nothing leaves this machine).
"""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from freqtrade_bingx.bingx import tiers
from freqtrade_bingx.bingx.liquidation import liquidation_price
from freqtrade_bingx.tools.demo import (
    STRATEGIES,
    TIMERANGE,
    out_of_reach_backtest_config,
    prepare_offline,
)


ROOT = Path(__file__).resolve().parent.parent
LIQUIDATION_BUFFER = 0.05  # freqtrade's default liquidation_buffer
TAKER_FEE = 0.0005


@pytest.fixture(scope="module")
def backtest(tmp_path_factory):
    user_data = prepare_offline(tmp_path_factory.mktemp("backtest"), ROOT / "configs")
    datadir = user_data / "data" / "bingx"
    freqtrade = shutil.which("freqtrade", path=str(Path(sys.executable).parent))
    result = subprocess.run(
        [
            freqtrade,
            "backtesting",
            "-c",
            str(out_of_reach_backtest_config(user_data.parent, ROOT / "configs")),
            "--user-data-dir",
            str(user_data),
            "--strategy-path",
            str(ROOT / "strategies"),
            "--strategy-list",
            *STRATEGIES,
            "--timerange",
            TIMERANGE,
            "--export",
            "trades",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    archive = next((user_data / "backtest_results").glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        results = json.loads(z.read(archive.with_suffix(".json").name))
    tier_cache = tiers.load_cache(tiers.cache_path(datadir, "USDT"))
    return result, results["strategy"], tier_cache


def test_it_ran_offline_on_the_snapshot(backtest):
    result, _, _ = backtest
    assert "using the markets snapshot saved" in result.stderr
    assert "bingx.com" not in result.stderr  # asked on loopback only
    assert "estimated tier" not in result.stderr  # real (cached) tiers, not the fallback


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_trades_both_ways_with_leverage_and_pays_funding(backtest, strategy):
    trades = backtest[1][strategy]["trades"]
    assert any(t["is_short"] for t in trades) and any(not t["is_short"] for t in trades)
    assert max(t["leverage"] for t in trades) > 1
    assert all(t["leverage"] == int(t["leverage"]) for t in trades)  # whole numbers, as BingX
    assert sum(abs(t["funding_fees"]) for t in trades) > 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_liquidations_agree_with_the_hand_checked_formula(backtest, strategy):
    _, results, tier_cache = backtest
    for t in results[strategy]["trades"]:
        notional = t["open_rate"] * t["amount"]
        tier = [x for x in tier_cache[t["pair"]] if notional >= x["minNotional"]][-1]
        liq = liquidation_price(
            entry=t["open_rate"],
            qty=t["amount"],
            margin=t["stake_amount"],
            is_short=t["is_short"],
            mmr=tier["maintenanceMarginRate"],
            maint_amount=tier["maintAmt"],
            fee=TAKER_FEE,
        )
        if liq is None:
            assert t["exit_reason"] != "liquidation"
            continue
        buffered = liq + (t["open_rate"] - liq) * LIQUIDATION_BUFFER
        crossed = t["max_rate"] >= buffered if t["is_short"] else t["min_rate"] <= buffered
        assert (t["exit_reason"] == "liquidation") == crossed, t

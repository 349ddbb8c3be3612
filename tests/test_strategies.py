"""Tests of the example strategies on the synthetic sample data, and of the stage configs."""

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from freqtrade.configuration.config_validation import validate_config_consistency
from freqtrade.configuration.load_config import load_from_files
from freqtrade.data.history.datahandlers import get_datahandler
from freqtrade.enums import CandleType, RunMode
from freqtrade.resolvers import StrategyResolver

from freqtrade_bingx.tools.sample_data import generate_sample_data


ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ("BingxFixedLeverage", "BingxVolatilityLeverage")
PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
NOW = datetime(2026, 10, 1, tzinfo=UTC)


def load_strategy(name: str, tmp_path: Path):
    config = {
        "strategy": name,
        "strategy_path": str(ROOT / "strategies"),
        "user_data_dir": tmp_path,
        "stake_currency": "USDT",
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "candle_type_def": CandleType.FUTURES,
        "dry_run": True,
    }
    return StrategyResolver.load_strategy(config)


def call_leverage(strategy, max_leverage: float, side: str = "long") -> float:
    return strategy.leverage(
        pair="BTC/USDT:USDT",
        current_time=NOW,
        current_rate=65000.0,
        proposed_leverage=1.0,
        max_leverage=max_leverage,
        entry_tag=None,
        side=side,
    )


@pytest.fixture(scope="module")
def candles(tmp_path_factory) -> dict[str, pd.DataFrame]:
    datadir = tmp_path_factory.mktemp("data")
    generate_sample_data(datadir, pairs=PAIRS)
    handler = get_datahandler(datadir, "feather")
    return {pair: handler.ohlcv_load(pair, "1h", CandleType.FUTURES) for pair in PAIRS}


@pytest.fixture(scope="module")
def strategies(tmp_path_factory):
    path = tmp_path_factory.mktemp("user_data")
    return {name: load_strategy(name, path) for name in STRATEGIES}


def analyse(strategy, candles: pd.DataFrame, pair: str) -> pd.DataFrame:
    dataframe = strategy.advise_all_indicators({pair: candles.copy()})[pair]
    return strategy.ft_advise_signals(dataframe, {"pair": pair})


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_settings(strategies, name):
    strategy = strategies[name]
    assert strategy.INTERFACE_VERSION == 3
    assert strategy.timeframe == "1h"
    assert strategy.can_short is True
    assert -0.10 <= strategy.stoploss <= -0.08
    assert strategy.minimal_roi
    assert strategy.order_types["stoploss_on_exchange"] is True


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("name", STRATEGIES)
def test_signals_in_both_directions(strategies, candles, name, pair):
    strategy = strategies[name]
    df = analyse(strategy, candles[pair], pair)
    assert df["enter_long"].sum() > 0
    assert df["enter_short"].sum() > 0
    assert df["exit_long"].sum() > 0
    assert df["exit_short"].sum() > 0
    # No entry while the indicators are still warming up.
    assert df["enter_long"].iloc[: strategy.startup_candle_count].sum() == 0
    assert df["enter_short"].iloc[: strategy.startup_candle_count].sum() == 0
    # Never long and short on the same candle.
    assert not ((df["enter_long"] == 1) & (df["enter_short"] == 1)).any()


@pytest.mark.parametrize(
    ("max_leverage", "expected"), [(1, 1), (2, 2), (2.9, 2), (7.5, 3), (125, 3), (0.5, 1)]
)
@pytest.mark.parametrize("side", ["long", "short"])
def test_fixed_leverage(strategies, max_leverage, expected, side):
    result = call_leverage(strategies["BingxFixedLeverage"], max_leverage, side)
    assert result == expected
    assert float(result).is_integer()


@pytest.mark.parametrize(
    ("atr_pct", "max_leverage", "expected"),
    [
        (0.006, 125, 5),  # 0.03 / 0.006
        (0.0075, 125, 4),  # 4.0 exactly
        (0.007, 125, 4),  # 4.28 floored
        (0.0015, 125, 10),  # 20 capped at 10
        (0.0015, 7.5, 7),  # fractional maximum floored
        (0.006, 2, 2),
        (0.02, 125, 1),  # 1.5 floored
        (0.05, 125, 1),  # below 1 raised to 1
        (0.05, 2, 1),
        (None, 125, 1),  # no ATR yet: lowest leverage
        (float("nan"), 125, 1),
        (0.0, 125, 1),
    ],
)
def test_volatility_leverage(strategies, mocker, atr_pct, max_leverage, expected):
    strategy = strategies["BingxVolatilityLeverage"]
    analysed = pd.DataFrame({"close": [65000.0, 65100.0], "atr_pct": [0.5, atr_pct]})
    strategy.dp = mocker.Mock()
    strategy.dp.get_analyzed_dataframe.return_value = (analysed, NOW)
    result = call_leverage(strategy, max_leverage)
    assert result == expected
    assert float(result).is_integer()
    strategy.dp.get_analyzed_dataframe.assert_called_once_with("BTC/USDT:USDT", "1h")


def test_volatility_leverage_without_data_provider_is_1x(strategies, mocker):
    strategy = strategies["BingxVolatilityLeverage"]
    strategy.dp = None
    assert call_leverage(strategy, 125) == 1
    strategy.dp = mocker.Mock()
    strategy.dp.get_analyzed_dataframe.return_value = (pd.DataFrame(), NOW)
    assert call_leverage(strategy, 125) == 1


@pytest.mark.parametrize("max_leverage", [2, 7.5, 125])
def test_volatility_leverage_on_sample_data(strategies, candles, mocker, max_leverage):
    strategy = strategies["BingxVolatilityLeverage"]
    df = analyse(strategy, candles["SOL/USDT:USDT"], "SOL/USDT:USDT")
    strategy.dp = mocker.Mock()
    results = set()
    for end in range(strategy.startup_candle_count, len(df), 25):
        strategy.dp.get_analyzed_dataframe.return_value = (df.iloc[:end], NOW)
        result = call_leverage(strategy, max_leverage)
        assert float(result).is_integer()
        assert 1 <= result <= min(max_leverage, 10)
        results.add(result)
    if max_leverage > 2:
        # Leverage really follows volatility on this data: more than one level is used.
        assert len(results) > 1


@pytest.mark.parametrize(
    ("stage", "runmode", "dry_run"),
    [
        ("backtest", RunMode.BACKTEST, True),
        ("dry-run", RunMode.DRY_RUN, True),
        ("demo", RunMode.LIVE, False),
        ("live", RunMode.LIVE, False),
    ],
)
@pytest.mark.parametrize("name", STRATEGIES)
def test_stage_configs_validate_with_strategy(tmp_path, name, stage, runmode, dry_run):
    config = load_from_files([str(ROOT / "configs" / f"{stage}.json")])
    merged = load_from_files(
        [str(ROOT / "configs" / "base.json"), str(ROOT / "configs" / f"{stage}.json")]
    )
    assert {k: v for k, v in config.items() if k != "config_files"} == {
        k: v for k, v in merged.items() if k != "config_files"
    }
    assert config["dry_run"] is dry_run
    assert config["trading_mode"] == "futures"
    assert config["margin_mode"] == "isolated"
    assert config["exchange"]["name"] == "bingx"
    assert config["exchange"]["pair_whitelist"] == list(PAIRS)
    assert config["exchange"].get("demo_trading", False) is (stage == "demo")
    # The resolver copies stoploss, minimal_roi, order_types, ... from the strategy into the
    # config, as freqtrade does before its final validation.
    config.update(
        runmode=runmode,
        strategy=name,
        strategy_path=str(ROOT / "strategies"),
        user_data_dir=tmp_path,
    )
    StrategyResolver.load_strategy(config)
    assert config["stoploss"] < 0
    validate_config_consistency(config)

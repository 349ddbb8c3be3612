"""Tests of the synthetic sample data generator (freqtrade_bingx.tools.sample_data)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.history.datahandlers import get_datahandler
from freqtrade.enums import CandleType, TradingMode
from freqtrade.exchange import Exchange

from freqtrade_bingx.tools import sample_data
from freqtrade_bingx.tools.sample_data import build_pair_frames, generate_sample_data


PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
DAYS = 42
HOURS = DAYS * 24
# (candle type, timeframe the file is stored at, rows expected for 42 days)
STORED = [
    (CandleType.FUTURES, "1h", HOURS),
    (CandleType.MARK, "1h", HOURS),
    (CandleType.FUNDING_RATE, "1h", DAYS * 3),
]


@pytest.fixture(scope="module")
def datadir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "bingx"
    generate_sample_data(path)
    return path


@pytest.fixture(scope="module")
def handler(datadir):
    return get_datahandler(datadir, "feather")


def test_timeframes_match_freqtrade_defaults():
    # Backtesting loads mark candles and funding rates at these timeframes.
    assert sample_data.MARK_TIMEFRAME == Exchange._ft_has_default["mark_ohlcv_timeframe"]
    assert sample_data.FUNDING_TIMEFRAME == Exchange._ft_has_default["funding_fee_timeframe"]
    assert Exchange._ft_has_default["mark_ohlcv_price"] == "mark"


def test_same_seed_gives_identical_frames():
    first = build_pair_frames("ETH/USDT:USDT", days=7, seed=123)
    second = build_pair_frames("ETH/USDT:USDT", days=7, seed=123)
    assert first.keys() == second.keys() == {"futures", "mark", "funding_rate"}
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_other_seed_gives_other_frames():
    first = build_pair_frames("ETH/USDT:USDT", days=7, seed=123)
    other = build_pair_frames("ETH/USDT:USDT", days=7, seed=124)
    for name in first:
        assert not first[name].equals(other[name]), name


def test_pairs_differ_under_the_same_seed():
    btc = build_pair_frames("BTC/USDT:USDT", days=7)["futures"]["close"].pct_change()
    sol = build_pair_frames("SOL/USDT:USDT", days=7)["futures"]["close"].pct_change()
    assert not np.allclose(btc.iloc[1:], sol.iloc[1:])


def test_files_are_written_where_freqtrade_looks(datadir):
    written = generate_sample_data(datadir, pairs=("BTC/USDT:USDT",), days=DAYS)
    assert [p.relative_to(datadir).as_posix() for p in written] == [
        "futures/BTC_USDT_USDT-1h-futures.feather",
        "futures/BTC_USDT_USDT-1h-mark.feather",
        "futures/BTC_USDT_USDT-1h-funding_rate.feather",
        "SYNTHETIC_DATA.txt",
    ]
    available = set(
        get_datahandler(datadir, "feather").ohlcv_get_available_data(datadir, TradingMode.FUTURES)
    )
    for pair in PAIRS:
        for candle_type, timeframe, _ in STORED:
            assert (pair, timeframe, candle_type) in available


def test_directory_is_labelled_synthetic(datadir):
    note = (datadir / "SYNTHETIC_DATA.txt").read_text()
    assert "SYNTHETIC DATA - NOT REAL MARKET DATA" in note
    assert f"seed:       {sample_data.DEFAULT_SEED}" in note
    assert "--timerange 20260906-20261012" in note
    assert sample_data.__doc__.lstrip().startswith("Labelled synthetic")


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize(("candle_type", "timeframe", "rows"), STORED)
def test_files_load_back_without_gaps(handler, pair, candle_type, timeframe, rows):
    # fill_missing=False, so a gap would show as a missing row instead of being filled.
    df = handler.ohlcv_load(pair, timeframe, candle_type, fill_missing=False)
    assert len(df) == rows
    assert df["date"].iloc[0] == pd.Timestamp("2026-09-01", tz="UTC")
    step = pd.Timedelta(hours=8 if candle_type == CandleType.FUNDING_RATE else 1)
    assert (df["date"].diff().iloc[1:] == step).all()
    assert not df.isna().any().any()


@pytest.mark.parametrize("pair", PAIRS)
def test_ohlc_invariants(handler, pair):
    for candle_type in (CandleType.FUTURES, CandleType.MARK):
        df = handler.ohlcv_load(pair, "1h", candle_type)
        assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
        assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
        assert (df["low"] > 0).all()
    futures = handler.ohlcv_load(pair, "1h", CandleType.FUTURES)
    assert (futures["volume"] > 0).all()
    # Each candle opens at the previous close, as on a continuously traded market.
    assert (futures["open"].iloc[1:].to_numpy() == futures["close"].iloc[:-1].to_numpy()).all()


@pytest.mark.parametrize(
    ("pair", "low", "high"),
    [("BTC/USDT:USDT", 50000, 80000), ("ETH/USDT:USDT", 2200, 3800), ("SOL/USDT:USDT", 100, 200)],
)
def test_prices_have_realistic_scale(handler, pair, low, high):
    df = handler.ohlcv_load(pair, "1h", CandleType.FUTURES)
    assert low < df["low"].min() and df["high"].max() < high


@pytest.mark.parametrize("pair", PAIRS)
def test_mark_price_is_close_plus_small_basis(handler, pair):
    futures = handler.ohlcv_load(pair, "1h", CandleType.FUTURES)
    mark = handler.ohlcv_load(pair, "1h", CandleType.MARK)
    basis = mark["close"] / futures["close"] - 1
    assert basis.abs().max() <= 0.0021
    assert basis.abs().max() > 0  # a basis, not a copy


@pytest.mark.parametrize("pair", PAIRS)
def test_funding_only_at_8_hourly_stamps_and_never_zero(handler, pair):
    df = handler.ohlcv_load(pair, "1h", CandleType.FUNDING_RATE)
    assert set(df["date"].dt.hour) == {0, 8, 16}
    assert (df["date"].dt.minute == 0).all()
    assert (df["funding_rate"] != 0).all()
    assert df["funding_rate"].abs().max() <= 0.0015
    # Both signs occur: longs pay in rallies, shorts in sell-offs.
    assert (df["funding_rate"] > 0).any() and (df["funding_rate"] < 0).any()


def test_funding_and_mark_combine_as_in_backtesting(handler):
    funding = handler.ohlcv_load("BTC/USDT:USDT", "1h", CandleType.FUNDING_RATE)
    mark = handler.ohlcv_load("BTC/USDT:USDT", "1h", CandleType.MARK)
    combined = Exchange.combine_funding_and_mark(funding, mark)
    assert len(combined) == DAYS * 3
    assert not combined[["open_mark", "open_fund"]].isna().any().any()


def test_regimes_include_trends_ranges_and_a_sharp_drop(handler):
    names = {name for name, _ in sample_data.regime_schedule(HOURS, sample_data.DEFAULT_SEED)}
    assert names >= {"range", "up", "down", "crash"}
    close = handler.ohlcv_load("BTC/USDT:USDT", "1h", CandleType.FUTURES)["close"]
    day_change = close / close.shift(24) - 1
    assert day_change.min() < -0.07
    assert day_change.max() > 0.04


def test_finer_timeframe_keeps_hourly_closes():
    hourly = build_pair_frames("SOL/USDT:USDT", timeframe="1h", days=3)
    quarter = build_pair_frames("SOL/USDT:USDT", timeframe="15m", days=3)
    assert len(quarter["futures"]) == 3 * 96
    assert len(quarter["mark"]) == 3 * 24
    assert len(quarter["funding_rate"]) == 3 * 3
    last_of_hour = quarter["futures"]["close"].iloc[3::4].to_numpy()
    assert (last_of_hour == hourly["futures"]["close"].to_numpy()).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"timeframe": "7m"}, "do not line up"), ({"start": "2026-09-01 05:00"}, "whole UTC day")],
)
def test_rejects_unaligned_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_pair_frames("BTC/USDT:USDT", **{"days": 2, **kwargs})


def test_main_writes_data(tmp_path, capsys):
    assert (
        sample_data.main(
            ["--datadir", str(tmp_path), "--days", "2", "--pairs", "BTC/USDT:USDT", "--seed", "7"]
        )
        == 0
    )
    df = get_datahandler(tmp_path, "feather").ohlcv_load("BTC/USDT:USDT", "1h", CandleType.FUTURES)
    assert len(df) == 48
    assert "seed 7" in capsys.readouterr().out

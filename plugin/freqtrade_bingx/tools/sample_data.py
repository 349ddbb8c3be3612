"""
Labelled synthetic BingX USDT-M futures data, for offline backtesting.

Nothing written by this module is market data. Prices, mark prices and funding rates come
from a seeded random walk so that ``freqtrade backtesting`` can run on a fresh machine with
no network: the same seed always gives the same files, and every directory written carries a
``SYNTHETIC_DATA.txt`` note saying so. Never draw conclusions about real markets from it.

How the data is made:

* One market-wide path of hourly log returns, cut into regimes (ranging, trending up,
  trending down, a sharp drop) whose order and lengths come from the seed. Every pair
  follows that market path with its own beta and idiosyncratic noise, and a weak pull back
  to its starting price keeps it near a realistic scale (BTC ~65000, ETH ~3000, SOL ~150).
* Futures candles: open = previous close; high and low reach past the body by a random
  wick; volume grows with the size of the move. Prices are rounded to the pair's tick.
* Mark price candles: the futures candle times ``1 + basis``, where the basis is a small
  seeded AR(1) process (a few basis points). Volume is 0: a mark price has no volume.
* Funding rates: BingX funds these pairs every 8 hours (00:00, 08:00, 16:00 UTC). One row
  per funding event, as freqtrade itself stores funding history it downloads (one row per
  event from ccxt's ``fetch_funding_rate_history``), in the file for freqtrade's
  ``funding_fee_timeframe`` (1h). The rate follows the recent trend (positive in rallies,
  negative in sell-offs), clipped to +-0.15 %, and is never exactly zero.

Files are written with freqtrade's own data handler, so names, columns and formats are
exactly what freqtrade reads for ``trading_mode: futures``, e.g. with feather::

    <datadir>/futures/BTC_USDT_USDT-1h-futures.feather
    <datadir>/futures/BTC_USDT_USDT-1h-mark.feather
    <datadir>/futures/BTC_USDT_USDT-1h-funding_rate.feather

Use from the command line::

    python -m freqtrade_bingx.tools.sample_data --datadir user_data/data/bingx
"""

from __future__ import annotations

import argparse
import logging
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd


logger = logging.getLogger(__name__)

DEFAULT_PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
DEFAULT_SEED = 20261124
NOTE_FILENAME = "SYNTHETIC_DATA.txt"

# freqtrade's defaults for futures backtesting (Exchange._ft_has_default), which neither
# freqtrade's Bingx class nor this plugin overrides: backtesting loads mark candles at
# `mark_ohlcv_timeframe` and funding rates at `funding_fee_timeframe`.
MARK_TIMEFRAME = "1h"
FUNDING_TIMEFRAME = "1h"
# BingX's `fundingIntervalHours` for BTC, ETH and SOL USDT-M perpetuals.
FUNDING_INTERVAL_HOURS = 8

_HOUR = 3600


@dataclass(frozen=True)
class PairProfile:
    """Scale and character of one synthetic pair."""

    start_price: float
    tick: float
    beta: float  # sensitivity to the market path
    idio_vol: float  # hourly idiosyncratic volatility (log return)
    base_volume: float  # typical hourly volume, in base currency


_PROFILES = {
    "BTC": PairProfile(65000.0, 0.1, 1.0, 0.0015, 900.0),
    "ETH": PairProfile(3000.0, 0.01, 1.15, 0.0025, 14000.0),
    "SOL": PairProfile(150.0, 0.001, 1.4, 0.0040, 120000.0),
}
_GENERIC_PROFILE = PairProfile(10.0, 0.0001, 1.2, 0.0040, 500000.0)


@dataclass(frozen=True)
class Regime:
    """Hourly drift and volatility of the market path while a regime lasts."""

    drift: float
    vol: float
    min_hours: int
    max_hours: int


REGIMES = {
    "range": Regime(0.0, 0.0040, 36, 96),
    "up": Regime(0.0010, 0.0045, 60, 132),
    "down": Regime(-0.0010, 0.0050, 60, 132),
    "crash": Regime(-0.0090, 0.0120, 8, 14),
}
# Pull of each pair's log price back to its start (per hour); keeps prices near their scale.
_MEAN_REVERSION = 0.004
# Extra pull towards the regime's starting level while ranging, so ranges stay ranges.
_RANGE_REVERSION = 0.05


def _profile(pair: str) -> PairProfile:
    return _PROFILES.get(pair.split("/")[0].upper(), _GENERIC_PROFILE)


def _pair_rng(seed: int, pair: str) -> np.random.Generator:
    # crc32 is stable across runs (unlike hash()), so a pair's data does not depend on
    # which other pairs are generated with it, nor on their order.
    return np.random.default_rng([seed, zlib.crc32(pair.encode())])


def regime_schedule(hours: int, seed: int) -> list[tuple[str, int]]:
    """
    Seeded sequence of (regime name, length in hours) covering at least ``hours``.
    Starts ranging (so indicators warm up), then goes through all of up, down and crash in
    a seeded order, then draws regimes at random (never two drops in a row).
    """
    rng = np.random.default_rng([seed, 0])
    names = ["range", *rng.permutation(["up", "down", "crash"]).tolist()]
    while len(names) < 64:
        choices = ["range", "up", "down"] if names[-1] == "crash" else list(REGIMES)
        weights = np.array([{"crash": 0.5}.get(name, 3.0) for name in choices])
        names.append(str(rng.choice(choices, p=weights / weights.sum())))
    schedule = []
    total = 0
    for name in names:
        if total >= hours:
            break
        regime = REGIMES[name]
        length = int(rng.integers(regime.min_hours, regime.max_hours + 1))
        schedule.append((name, length))
        total += length
    return schedule


def _market_path(hours: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hourly market log returns and regime labels for ``hours`` steps."""
    drift = np.empty(hours)
    vol = np.empty(hours)
    labels = np.empty(hours, dtype=object)
    pos = 0
    for name, length in regime_schedule(hours, seed):
        end = min(pos + length, hours)
        drift[pos:end] = REGIMES[name].drift
        vol[pos:end] = REGIMES[name].vol
        labels[pos:end] = name
        pos = end
    noise = np.random.default_rng([seed, 1]).standard_normal(hours)
    return drift + vol * noise, labels


def _hourly_closes(pair: str, market: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Hourly log prices of one pair (one value per hour boundary, ``len(market) + 1``)."""
    profile = _profile(pair)
    rng = _pair_rng(seed, pair)
    noise = rng.standard_normal(len(market))
    x0 = np.log(profile.start_price)
    log_price = np.empty(len(market) + 1)
    log_price[0] = x0
    anchor = x0
    for i, ret in enumerate(market):
        x = log_price[i]
        if labels[i] == "range":
            if i == 0 or labels[i - 1] != "range":
                anchor = x
            pull = _RANGE_REVERSION * (anchor - x)
        else:
            pull = 0.0
        log_price[i + 1] = (
            x + profile.beta * ret + profile.idio_vol * noise[i] + _MEAN_REVERSION * (x0 - x) + pull
        )
    return log_price


def _round_to_tick(values: np.ndarray, tick: float) -> np.ndarray:
    # Rounding is monotonic, so high >= max(open, close) and low <= min(open, close) survive.
    decimals = max(0, round(-math.log10(tick)))
    return np.round(np.round(values / tick) * tick, decimals)


def _candles_from_path(
    dates: pd.DatetimeIndex, log_price: np.ndarray, pair: str, seed: int, step_hours: float
) -> pd.DataFrame:
    """Futures OHLCV candles from a log price path sampled at candle boundaries."""
    profile = _profile(pair)
    rng = np.random.default_rng([seed, zlib.crc32(pair.encode()), 2])
    price = np.exp(log_price)
    open_ = price[:-1]
    close = price[1:]
    n = len(open_)
    move = np.abs(np.diff(log_price))
    wick_scale = 0.0025 * np.sqrt(step_hours)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, wick_scale, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, wick_scale, n)))
    volume = (
        profile.base_volume
        * step_hours
        * rng.lognormal(0.0, 0.35, n)
        * (1.0 + move / (0.005 * np.sqrt(step_hours)))
    )
    tick = profile.tick
    return pd.DataFrame(
        {
            "date": dates,
            "open": _round_to_tick(open_, tick),
            "high": _round_to_tick(high, tick),
            "low": _round_to_tick(low, tick),
            "close": _round_to_tick(close, tick),
            "volume": np.maximum(np.round(volume, 4), 0.0001),
        }
    )


def _resample(candles: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    from freqtrade.exchange import timeframe_to_resample_freq

    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    out = candles.resample(timeframe_to_resample_freq(timeframe), on="date").agg(agg)
    return out.reset_index()


def _mark_candles(futures: pd.DataFrame, pair: str, seed: int) -> pd.DataFrame:
    """Mark price candles: futures prices times (1 + a small AR(1) basis)."""
    profile = _profile(pair)
    rng = np.random.default_rng([seed, zlib.crc32(pair.encode()), 3])
    n = len(futures)
    basis = np.empty(n + 1)
    basis[0] = rng.normal(0.0, 0.0002)
    shocks = rng.normal(0.0, 0.0001, n)
    for i in range(n):
        basis[i + 1] = np.clip(0.9 * basis[i] + shocks[i], -0.002, 0.002)
    close = futures["close"].to_numpy() * (1.0 + basis[1:])
    open_ = np.concatenate(([futures["open"].iloc[0] * (1.0 + basis[0])], close[:-1]))
    high = np.maximum(futures["high"].to_numpy() * (1.0 + basis[1:]), np.maximum(open_, close))
    low = np.minimum(futures["low"].to_numpy() * (1.0 + basis[1:]), np.minimum(open_, close))
    tick = profile.tick
    return pd.DataFrame(
        {
            "date": futures["date"].to_numpy(),
            "open": _round_to_tick(open_, tick),
            "high": _round_to_tick(high, tick),
            "low": _round_to_tick(low, tick),
            "close": _round_to_tick(close, tick),
            "volume": 0.0,
        }
    )


def _funding_rates(hourly_close: pd.Series, pair: str, seed: int) -> pd.DataFrame:
    """One funding rate per 8-hour funding event, following the trend of the last day."""
    rng = np.random.default_rng([seed, zlib.crc32(pair.encode()), 4])
    events = hourly_close[hourly_close.index.hour % FUNDING_INTERVAL_HOURS == 0]
    day_return = (hourly_close / hourly_close.shift(24) - 1.0).reindex(events.index).fillna(0.0)
    rate = 0.0001 + 0.01 * day_return.to_numpy() + rng.normal(0.0, 0.00003, len(events))
    rate = np.round(np.clip(rate, -0.0015, 0.0015), 6)
    # A rate of exactly zero would read as "no funding"; BingX quotes at least 1e-6.
    rate[rate == 0.0] = 0.000001
    return pd.DataFrame({"date": events.index, "funding_rate": rate})


def build_pair_frames(
    pair: str,
    timeframe: str = "1h",
    start: str = "2026-09-01",
    days: int = 42,
    seed: int = DEFAULT_SEED,
) -> dict[str, pd.DataFrame]:
    """
    Synthetic frames for one pair, keyed by freqtrade candle type name:
    ``futures`` (at ``timeframe``), ``mark`` (at MARK_TIMEFRAME) and ``funding_rate``
    (one row per 8-hourly funding event, stored at FUNDING_TIMEFRAME).
    Dates are timezone-aware UTC, as freqtrade's data handlers return them.
    """
    from freqtrade.exchange import timeframe_to_seconds

    tf_secs = timeframe_to_seconds(timeframe)
    mark_secs = timeframe_to_seconds(MARK_TIMEFRAME)
    step_secs = min(tf_secs, mark_secs)
    if tf_secs % step_secs or mark_secs % step_secs or (days * 86400) % max(tf_secs, mark_secs):
        raise ValueError(
            f"timeframe {timeframe} and {days} days do not line up with the {MARK_TIMEFRAME} "
            "mark price candles"
        )
    start_dt = pd.Timestamp(start, tz="UTC")
    if start_dt != start_dt.floor("D"):
        raise ValueError(f"start must be a whole UTC day, got {start!r}")
    hours = days * 24
    steps = days * 86400 // step_secs
    step_hours = step_secs / _HOUR

    market, labels = _market_path(hours, seed)
    hourly_log = _hourly_closes(pair, market, labels, seed)
    # Steps finer than an hour: spread each hour's move over its steps, with extra seeded
    # noise that cancels out at the hour, so hourly closes are the same for any timeframe.
    per_hour = _HOUR // step_secs if step_secs < _HOUR else 1
    if per_hour > 1:
        rng = np.random.default_rng([seed, zlib.crc32(pair.encode()), 5])
        frac = np.linspace(0.0, 1.0, per_hour + 1)
        bridge = rng.normal(0.0, 0.001, (hours, per_hour + 1))
        bridge -= frac * bridge[:, -1:] + (1 - frac) * bridge[:, :1]
        pieces = hourly_log[:-1, None] + np.outer(np.diff(hourly_log), frac) + bridge
        log_path = np.concatenate((pieces[:, :-1].ravel(), hourly_log[-1:]))
    else:
        log_path = hourly_log
    dates = pd.date_range(start_dt, periods=steps, freq=f"{step_secs}s")
    base = _candles_from_path(dates, log_path, pair, seed, step_hours)

    futures = base if step_secs == tf_secs else _resample(base, timeframe)
    mark_base = base if step_secs == mark_secs else _resample(base, MARK_TIMEFRAME)
    mark = _mark_candles(mark_base, pair, seed)
    hourly_close = pd.Series(
        np.exp(hourly_log[:-1]), index=pd.date_range(start_dt, periods=hours, freq="1h")
    )
    funding = _funding_rates(hourly_close, pair, seed)
    return {"futures": futures, "mark": mark, "funding_rate": funding}


def _note_text(
    pairs: Sequence[str],
    timeframe: str,
    start: str,
    days: int,
    seed: int,
    data_format: str,
    files: list[Path],
) -> str:
    first = datetime.fromisoformat(start).replace(tzinfo=UTC)
    end = (first + timedelta(days=days)).date()
    # Leave the strategies' warm-up (100 hourly candles) inside the data, and stop at the
    # last whole day, so freqtrade does not warn about data missing at either end.
    bt_start = (first + timedelta(days=min(5, max(0, days - 2)))).strftime("%Y%m%d")
    bt_end = (end - timedelta(days=1)).strftime("%Y%m%d")
    listing = "\n".join(f"  futures/{f.name}" for f in files)
    return (
        "SYNTHETIC DATA - NOT REAL MARKET DATA\n"
        "=====================================\n\n"
        "Every candle, mark price and funding rate in this directory was generated by\n"
        "freqtrade_bingx.tools.sample_data from a seeded random walk. It does not come from BingX\n"
        "and says nothing about real markets. It exists so that freqtrade backtesting can\n"
        "run offline. Delete it before downloading real data into this directory.\n\n"
        f"seed:       {seed}\n"
        f"pairs:      {', '.join(pairs)}\n"
        f"timeframe:  {timeframe} (futures candles); mark {MARK_TIMEFRAME}; "
        f"funding every {FUNDING_INTERVAL_HOURS}h, stored as {FUNDING_TIMEFRAME}\n"
        f"period:     {start} 00:00 UTC to {end} 00:00 UTC ({days} days, end exclusive)\n"
        f"backtest:   --timerange {bt_start}-{bt_end} (5 days left for indicator warm-up)\n\n"
        "Model: market-wide regimes (ranging, trending up, trending down, sharp drop) in a\n"
        "seeded order; each pair follows the market with its own beta and noise and a weak\n"
        "pull to its start price. Mark price = futures price x (1 + small AR(1) basis).\n"
        "Funding rate follows the last day's trend, one row per 8-hourly funding event.\n\n"
        "Regenerate (same seed gives identical files):\n"
        f"  python -m freqtrade_bingx.tools.sample_data --datadir <this directory> --seed {seed} "
        f"--timeframe {timeframe} --start {start} --days {days} --data-format {data_format} "
        f"--pairs {' '.join(pairs)}\n\n"
        f"Files:\n{listing}\n"
    )


def generate_sample_data(
    datadir: Path,
    pairs: Sequence[str] = DEFAULT_PAIRS,
    timeframe: str = "1h",
    start: str = "2026-09-01",
    days: int = 42,
    seed: int = DEFAULT_SEED,
    data_format: str = "feather",
) -> list[Path]:
    """
    Write labelled synthetic futures, mark and funding rate data for ``pairs`` to
    ``datadir`` (the directory freqtrade uses as ``datadir``, e.g. user_data/data/bingx),
    with freqtrade's data handler for ``data_format``, plus a SYNTHETIC_DATA.txt note.
    Existing files for the same pairs and timeframes are overwritten.
    :return: paths of the data files written, followed by the note
    """
    from freqtrade.data.history.datahandlers import get_datahandler
    from freqtrade.enums import CandleType

    datadir = Path(datadir)
    datadir.mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(datadir, data_format)
    timeframes = {
        "futures": timeframe,
        "mark": MARK_TIMEFRAME,
        "funding_rate": FUNDING_TIMEFRAME,
    }
    written: list[Path] = []
    for pair in pairs:
        frames = build_pair_frames(pair, timeframe=timeframe, start=start, days=days, seed=seed)
        for candle_name, frame in frames.items():
            # Millisecond resolution, as freqtrade stores the data it downloads.
            frame = frame.assign(date=frame["date"].dt.as_unit("ms"))
            candle_type = CandleType.from_string(candle_name)
            tf = timeframes[candle_name]
            handler.ohlcv_store(pair, tf, frame, candle_type)
            written.append(handler._pair_data_filename(datadir, pair, tf, candle_type))
        logger.info("Wrote synthetic %s data for %s", timeframe, pair)
    note = datadir / NOTE_FILENAME
    note.write_text(
        _note_text(pairs, timeframe, start, days, seed, data_format, written), encoding="utf-8"
    )
    written.append(note)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m freqtrade_bingx.tools.sample_data",
        description=(
            "Write SYNTHETIC (seeded random walk, not real) BingX USDT-M futures candles, "
            "mark prices and funding rates in freqtrade's format, for offline backtesting."
        ),
    )
    parser.add_argument(
        "--datadir",
        type=Path,
        default=Path("user_data/data/bingx"),
        help="freqtrade data directory (default: %(default)s)",
    )
    parser.add_argument("--pairs", nargs="+", default=list(DEFAULT_PAIRS))
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--start", default="2026-09-01", help="first UTC day, YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=42)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--data-format", default="feather", choices=["feather", "parquet", "json", "jsongz"]
    )
    args = parser.parse_args(argv)
    written = generate_sample_data(
        args.datadir,
        pairs=tuple(args.pairs),
        timeframe=args.timeframe,
        start=args.start,
        days=args.days,
        seed=args.seed,
        data_format=args.data_format,
    )
    for path in written:
        print(path)
    print(f"Synthetic data (seed {args.seed}) written to {args.datadir}; see {NOTE_FILENAME}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

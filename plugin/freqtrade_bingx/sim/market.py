"""Deterministic prices and public market data for the fake BingX server (stdlib only).

Every symbol follows a seeded geometric random walk at one-minute resolution. The walk is a
function of absolute time: day-level steps are drawn per UTC day, then filled in with Brownian
bridges (24 hourly points per day, 60 minute points per hour), so any minute can be computed
without replaying the path from the start and a 500-day candle request stays cheap. Between
minute points the price moves linearly, so "now" is a pure function of server time.

The walk is scaled so that at ``anchor_ms`` (the server's creation time by default) the price
equals the symbol's initial price. Tests pin prices with ``set_price`` (a step in the path that
stays until changed or released); on release the walk continues from the pinned price.

Mark price = last price * (1 + ``mark_basis``) unless pinned separately; index price = last
price * (1 + ``index_basis``). Funding happens every 8 hours (00:00, 08:00, 16:00 UTC) with a
deterministic rate per symbol and funding time.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from dataclasses import dataclass
from typing import Any


MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
FUNDING_INTERVAL_HOURS = 8
FUNDING_INTERVAL_MS = FUNDING_INTERVAL_HOURS * HOUR_MS

# Kline intervals the fake serves, in minutes (BingX also has 3d, 1w and 1M; not modelled).
INTERVALS: dict[str, int] = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}

_CACHE_CAP = 8192


def fmt(value: float, decimals: int) -> str:
    """Fixed decimals, like BingX's price strings ("60000.0", "0.5000")."""
    return f"{value:.{decimals}f}"


def num(value: float) -> str:
    """A plain number without float noise or trailing zeros ("2900", "0.01")."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


class _Walk:
    """The log-price path of one symbol: ``level(minute)`` for absolute minute indexes."""

    def __init__(self, key: str, sigma: float, origin_day: int) -> None:
        self._key = key
        self.sigma = sigma
        self._days: dict[int, float] = {origin_day: 0.0}
        self._lo = self._hi = origin_day
        self._hours: dict[int, list[float]] = {}
        self._minutes: dict[int, list[float]] = {}

    def _rng(self, kind: str, index: int) -> random.Random:
        # String seeds are hashed with SHA-512 by random: stable across runs and processes.
        return random.Random(f"{self._key}:{kind}:{index}")

    def _day_step(self, day: int) -> float:
        return self._rng("d", day).gauss(0.0, self.sigma * math.sqrt(1440))

    def _day(self, day: int) -> float:
        while day > self._hi:
            self._days[self._hi + 1] = self._days[self._hi] + self._day_step(self._hi)
            self._hi += 1
        while day < self._lo:
            self._days[self._lo - 1] = self._days[self._lo] - self._day_step(self._lo - 1)
            self._lo -= 1
        return self._days[day]

    @staticmethod
    def _bridge(rng: random.Random, start: float, end: float, steps: int, sd: float) -> list[float]:
        walk = [0.0]
        for _ in range(steps):
            walk.append(walk[-1] + rng.gauss(0.0, sd))
        total = walk[-1]
        return [
            start + walk[k] - k / steps * total + k / steps * (end - start)
            for k in range(steps + 1)
        ]

    def _hour_levels(self, day: int) -> list[float]:
        levels = self._hours.get(day)
        if levels is None:
            start, end = self._day(day), self._day(day + 1)
            levels = self._bridge(self._rng("h", day), start, end, 24, self.sigma * math.sqrt(60))
            if len(self._hours) > _CACHE_CAP:
                self._hours.clear()
            self._hours[day] = levels
        return levels

    def _minute_levels(self, hour: int) -> list[float]:
        levels = self._minutes.get(hour)
        if levels is None:
            day, k = divmod(hour, 24)
            hours = self._hour_levels(day)
            levels = self._bridge(self._rng("m", hour), hours[k], hours[k + 1], 60, self.sigma)
            if len(self._minutes) > _CACHE_CAP:
                self._minutes.clear()
            self._minutes[hour] = levels
        return levels

    def level(self, minute: int) -> float:
        if self.sigma == 0:
            return 0.0
        hour, k = divmod(minute, 60)
        if k == 0:
            day, h = divmod(hour, 24)
            return self._hour_levels(day)[h]
        return self._minute_levels(hour)[k]

    def level_at(self, t_ms: int) -> float:
        minute, rest = divmod(t_ms, MINUTE_MS)
        here = self.level(minute)
        if rest == 0 or self.sigma == 0:
            return here
        return here + rest / MINUTE_MS * (self.level(minute + 1) - here)


@dataclass
class _Segment:
    start_ms: int
    pinned: float | None  # a pinned price, or None for "follow the walk"
    offset: float = 0.0  # log(price) = offset + walk level, when not pinned


class PriceModel:
    """Last/mark/index prices, candles, ticker, depth, trades and funding for every symbol."""

    def __init__(
        self,
        initial: dict[str, float],
        anchor_ms: int,
        seed: int | str = 1,
        volatility: float = 0.0005,
        mark_basis: float = 0.0002,
        index_basis: float = 0.0001,
        spread: float = 0.0002,
    ) -> None:
        self.seed = seed
        self.volatility = volatility
        self.mark_basis = mark_basis
        self.index_basis = index_basis
        self.spread = spread  # full bid/ask spread as a fraction of the last price
        self._anchor_ms = anchor_ms
        self._lock = threading.RLock()
        self._walks: dict[str, _Walk] = {}
        self._last: dict[str, list[_Segment]] = {}
        self._mark: dict[str, list[tuple[int, float | None]]] = {}
        self._initial: dict[str, float] = {}
        for symbol, price in initial.items():
            self.add_symbol(symbol, price)

    def add_symbol(self, symbol: str, price: float) -> None:
        if price <= 0:
            raise ValueError(f"price of {symbol} must be positive")
        with self._lock:
            walk = _Walk(f"{self.seed}:{symbol}", self.volatility, self._anchor_ms // DAY_MS)
            self._walks[symbol] = walk
            self._initial[symbol] = price
            offset = math.log(price) - walk.level_at(self._anchor_ms)
            self._last[symbol] = [_Segment(-(2**62), None, offset)]
            self._mark[symbol] = [(-(2**62), None)]

    def symbols(self) -> list[str]:
        return list(self._walks)

    def _walk(self, symbol: str) -> _Walk:
        walk = self._walks.get(symbol)
        if walk is None:
            raise KeyError(symbol)
        return walk

    # ----------------------------------------------------------------- prices
    def last(self, symbol: str, t_ms: int) -> float:
        with self._lock:
            segments = self._last[symbol]
            i = bisect.bisect_right([s.start_ms for s in segments], t_ms) - 1
            seg = segments[max(i, 0)]
            if seg.pinned is not None:
                return seg.pinned
            return math.exp(seg.offset + self._walk(symbol).level_at(t_ms))

    def mark(self, symbol: str, t_ms: int) -> float:
        with self._lock:
            pins = self._mark[symbol]
            i = bisect.bisect_right([p[0] for p in pins], t_ms) - 1
            pinned = pins[max(i, 0)][1]
        if pinned is not None:
            return pinned
        return self.last(symbol, t_ms) * (1 + self.mark_basis)

    def index(self, symbol: str, t_ms: int) -> float:
        return self.last(symbol, t_ms) * (1 + self.index_basis)

    def bid_ask(self, symbol: str, t_ms: int) -> tuple[float, float]:
        last = self.last(symbol, t_ms)
        return last * (1 - self.spread / 2), last * (1 + self.spread / 2)

    def is_pinned(self, symbol: str) -> bool:
        with self._lock:
            return self._last[symbol][-1].pinned is not None

    def _append_start(self, segments_starts: int, t_ms: int) -> int:
        # Segments must stay ordered even if the server clock was skewed backwards.
        return max(t_ms, segments_starts)

    def pin(self, symbol: str, price: float, t_ms: int) -> None:
        if price <= 0:
            raise ValueError("price must be positive")
        with self._lock:
            segments = self._last[symbol]
            start = self._append_start(segments[-1].start_ms, t_ms)
            segments.append(_Segment(start, float(price)))

    def release(self, symbol: str, t_ms: int) -> None:
        with self._lock:
            segments = self._last[symbol]
            if segments[-1].pinned is not None:
                start = self._append_start(segments[-1].start_ms, t_ms)
                here = segments[-1].pinned
                offset = math.log(here) - self._walk(symbol).level_at(start)
                segments.append(_Segment(start, None, offset))
            self.release_mark(symbol, t_ms)

    def pin_mark(self, symbol: str, price: float | None, t_ms: int) -> None:
        if price is not None and price <= 0:
            raise ValueError("price must be positive")
        with self._lock:
            pins = self._mark[symbol]
            pins.append((max(t_ms, pins[-1][0]), None if price is None else float(price)))

    def release_mark(self, symbol: str, t_ms: int) -> None:
        with self._lock:
            if self._mark[symbol][-1][1] is not None:
                self.pin_mark(symbol, None, t_ms)

    # ----------------------------------------------------------------- candles
    def _segment_starts(self, symbol: str, lo: int, hi: int, mark: bool) -> list[int]:
        with self._lock:
            starts = [s.start_ms for s in self._last[symbol]]
            if mark:
                starts += [p[0] for p in self._mark[symbol]]
        return [s for s in starts if lo <= s <= hi]

    def candle_opens(
        self, interval_ms: int, start: int | None, end: int | None, limit: int, now: int
    ) -> list[int]:
        """Open times BingX-style: from ``start`` forward, else the last ``limit`` up to ``end``."""
        last_open = (min(end, now) if end is not None else now) // interval_ms * interval_ms
        if start is not None:
            first = -(-max(start, 0) // interval_ms) * interval_ms
            opens = []
            t = first
            while t <= last_open and len(opens) < limit:
                opens.append(t)
                t += interval_ms
            return opens
        return [last_open - i * interval_ms for i in range(limit - 1, -1, -1)]

    def candle(
        self, symbol: str, open_ms: int, interval_ms: int, now: int, mark: bool = False
    ) -> tuple[float, float, float, float, float]:
        """(open, high, low, close, volume) of one candle; the current one ends at ``now``."""
        price = self.mark if mark else self.last
        end = min(open_ms + interval_ms - 1, now)
        stride = MINUTE_MS if interval_ms <= 4 * HOUR_MS else HOUR_MS
        times = list(range(open_ms, end, stride)) + [end]
        for s in self._segment_starts(symbol, open_ms, end, mark):
            times += [max(s - 1, open_ms), s]
        values = [price(symbol, t) for t in times]
        first, last = price(symbol, open_ms), price(symbol, end)
        minutes = max(1, (end - open_ms + 1) // MINUTE_MS)
        if mark:
            volume = 0.0
        else:
            rng = random.Random(f"{self.seed}:{symbol}:v:{open_ms}:{interval_ms}")
            # About 50k USDT per minute, +-50 %, expressed in base units.
            volume = 50_000 * minutes * rng.uniform(0.5, 1.5) / first
        return first, max(values), min(values), last, volume

    # ----------------------------------------------------------------- funding
    def funding_rate(self, symbol: str, funding_ms: int) -> float:
        rng = random.Random(f"{self.seed}:{symbol}:f:{funding_ms}")
        return round(0.0001 + rng.uniform(-0.0001, 0.0001), 8)

    @staticmethod
    def next_funding_ms(now: int) -> int:
        return (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS

    def funding_history(
        self, symbol: str, start: int | None, end: int | None, limit: int, now: int
    ) -> list[dict[str, Any]]:
        """Rows of GET /openApi/swap/v2/quote/fundingRate: the page's fields and types."""
        hi = min(end, now) if end is not None else now
        last = hi // FUNDING_INTERVAL_MS * FUNDING_INTERVAL_MS
        if start is not None:
            first = -(-start // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
            times = list(range(first, last + 1, FUNDING_INTERVAL_MS))[:limit]
        else:
            times = [last - i * FUNDING_INTERVAL_MS for i in range(limit - 1, -1, -1)]
        # Newest first, as BingX lists it; ccxt sorts by time anyway.
        return [
            {
                "symbol": symbol,
                "fundingRate": f"{self.funding_rate(symbol, t):.8f}",
                "fundingTime": t,
            }
            for t in reversed(times)
        ]

    # ----------------------------------------------------------------- ticker / book / trades
    def ticker(self, symbol: str, now: int, price_precision: int) -> dict[str, Any]:
        last = self.last(symbol, now)
        open_ms = now - DAY_MS
        opened = self.last(symbol, open_ms)
        samples = [self.last(symbol, t) for t in range(open_ms, now, 5 * MINUTE_MS)] + [last]
        bid, ask = self.bid_ask(symbol, now)
        volume = 50_000 * 1440 / opened
        rng = random.Random(f"{self.seed}:{symbol}:q:{now // MINUTE_MS}")
        change = last - opened

        def p(x: float) -> str:
            return fmt(x, price_precision)

        # GET /openApi/swap/v2/quote/ticker: the page's fields and types (bid/ask price and
        # quantity as numbers, the rest as strings, open/close time as int64), with the "%"
        # BingX appends to priceChangePercent in the live swap reply ccxt 4.5.90 quotes.
        return {
            "symbol": symbol,
            "priceChange": p(change),
            "priceChangePercent": f"{change / opened * 100:.2f}%",
            "lastPrice": p(last),
            "lastQty": num(round(rng.uniform(0.1, 5) * 1000 / last, 4) or 1),
            "highPrice": p(max(samples)),
            "lowPrice": p(min(samples)),
            "volume": f"{volume:.2f}",
            "quoteVolume": f"{volume * (last + opened) / 2:.2f}",
            "openPrice": p(opened),
            "openTime": open_ms,
            "closeTime": now,
            "bidPrice": round(bid, price_precision),
            "bidQty": round(rng.uniform(1, 20) * 1000 / last, 4) or 1.0,
            "askPrice": round(ask, price_precision),
            "askQty": round(rng.uniform(1, 20) * 1000 / last, 4) or 1.0,
        }

    def depth(
        self, symbol: str, now: int, limit: int, price_precision: int, qty_precision: int
    ) -> dict[str, Any]:
        """GET /openApi/swap/v2/quote/depth: the page's fields, levels as [price, qty] strings
        as in the live linear-swap reply ccxt quotes."""
        bid, ask = self.bid_ask(symbol, now)
        tick = 10.0**-price_precision
        step = max(tick, bid * 0.0001)
        rng = random.Random(f"{self.seed}:{symbol}:book:{now // 1000}")

        def level(price: float) -> tuple[str, str, str]:
            qty = round(rng.uniform(500, 20_000) / price, qty_precision) or 10.0**-qty_precision
            return fmt(price, price_precision), num(qty), num(round(qty * price / 1000, 4))

        bids = [level(bid - i * step) for i in range(limit)]
        asks = [level(ask + i * step) for i in range(limit)]
        asks.reverse()  # BingX lists asks from the far side down to the best ask
        return {
            "T": now,
            "bids": [[p, q] for p, q, _ in bids],
            "asks": [[p, q] for p, q, _ in asks],
            "bidsCoin": [[p, c] for p, _, c in bids],
            "asksCoin": [[p, c] for p, _, c in asks],
        }

    def trades(
        self, symbol: str, now: int, limit: int, price_precision: int
    ) -> list[dict[str, Any]]:
        """Rows of GET /openApi/swap/v2/quote/trades: the page's fields and types."""
        rows = []
        for i in range(limit):
            t = (now // 1000 - i * 10) * 1000
            price = self.last(symbol, t)
            rng = random.Random(f"{self.seed}:{symbol}:t:{t}")
            qty = round(rng.uniform(50, 5000) / price, 4) or 0.0001
            rows.append(
                {
                    "time": t,
                    "isBuyerMaker": rng.random() < 0.5,
                    "price": fmt(price, price_precision),
                    "qty": num(qty),
                    "quoteQty": f"{qty * price:.2f}",
                }
            )
        return rows

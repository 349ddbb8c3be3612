"""A snapshot of BingX's markets, so backtesting, listings and the plugin's tools work offline.

freqtrade 2026.9 loads markets from the exchange at every start, backtesting included. Each
successful online load in futures mode is written to ``<datadir>/bingx_markets_futures.json``.
When BingX cannot be reached, nothing is loaded yet and freqtrade is not trading (a trading bot
never runs on it), the snapshot is used instead and the log says from when. The file is
checked when read: a snapshot that is not ccxt's market structure is ignored, never handed to
ccxt.
"""

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from freqtrade_bingx.base import files


WHAT = "BingX markets snapshot"
# ccxt's unified market fields that ccxt's set_markets and freqtrade read, by type.
_TEXT = ("id", "symbol", "base", "quote", "type")
_FLAGS = ("spot", "swap", "future", "option", "contract", "linear", "inverse")


def snapshot_path(datadir: Path, trading_mode: str) -> Path:
    return Path(datadir) / f"bingx_markets_{trading_mode}.json"


def save(path: Path, markets: dict[str, Any], source: str) -> bool:
    """Write the snapshot; a failure is logged, not raised. True when it was written."""
    content = {"saved": datetime.now(UTC).isoformat(), "source": source, "markets": markets}
    return files.save_json(path, content, WHAT)


def load(path: Path) -> tuple[dict[str, Any], str] | None:
    """(markets, saved-at) from the snapshot, or None when there is no usable one."""
    if not path.is_file():
        return None
    try:
        content = files.read_json(path)
        markets = content["markets"]
        saved = content["saved"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        files.report_unusable(path, WHAT, f"not readable ({type(e).__name__}: {e})")
        return None
    problem = _problem(markets, saved)
    if problem:
        files.report_unusable(path, WHAT, problem)
        return None
    return markets, saved


def describe_saved(saved: str, now: datetime | None = None) -> str:
    """When a snapshot was saved, for a person: ``2026-11-25 16:19 UTC, 3 days ago``."""
    when = _saved_at(saved)
    if when is None:
        return saved[:40]
    age = (now or datetime.now(UTC)) - when
    days, hours = age.days, age.seconds // 3600
    if days > 0:
        ago = f"{days} day{'s' if days != 1 else ''} ago"
    elif age.total_seconds() >= 0:
        ago = f"{hours} hour{'s' if hours != 1 else ''} ago" if hours else "less than an hour ago"
    else:
        ago = "in the future: check this machine's clock"
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {ago}"


def _saved_at(saved: Any) -> datetime | None:
    """The snapshot's time of saving, if ``saved`` is an ISO date with a time zone."""
    if not isinstance(saved, str):
        return None
    try:
        when = datetime.fromisoformat(saved)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _problem(markets: Any, saved: Any) -> str | None:
    """What makes the snapshot unusable, or None."""
    if _saved_at(saved) is None:
        return "'saved' is not a date"
    if not isinstance(markets, dict) or not markets:
        return "no markets in it"
    for symbol, market in markets.items():
        problem = _market_problem(symbol, market)
        if problem:
            return f"market {str(symbol)[:40]!r}: {problem}"
    return None


def _market_problem(symbol: str, market: Any) -> str | None:
    if not isinstance(market, dict):
        return "not an object"
    if market.get("symbol") != symbol:
        return "listed under another symbol"
    for key in _TEXT:
        if not isinstance(market.get(key), str) or not market[key]:
            return f"{key} is not a name"
    for key in _FLAGS:
        if not isinstance(market.get(key), bool):
            return f"{key} is not true or false"
    if not isinstance(market.get("info", {}), dict):
        return "info is not an object"
    return _numbers_problem(market)


def _numbers_problem(market: dict[str, Any]) -> str | None:
    if not _is_number_or_none(market.get("contractSize")):
        return "contractSize is not a number"
    precision = market.get("precision")
    if not isinstance(precision, dict) or not all(map(_is_number_or_none, precision.values())):
        return "precision is not numbers"
    limits = market.get("limits")
    if not isinstance(limits, dict):
        return "limits is not an object"
    for bounds in limits.values():
        if not isinstance(bounds, dict) or not all(map(_is_number_or_none, bounds.values())):
            return "limits are not numbers"
    return None


def _is_number_or_none(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

"""BingX maintenance-margin tiers in the shape freqtrade's leverage code expects.

BingX's tier endpoint (``GET /openApi/swap/v1/maintMarginRatio``, signed, one symbol a call)
gives each tier's position-value range, maintenance margin rate and maintenance amount, but no
maximum leverage. ccxt therefore returns ``maxLeverage: None``, which breaks freqtrade's
``get_max_leverage``. Here each tier's maximum leverage is derived instead: the pair's maximum
caps it, and within a tier the initial margin at full leverage must cover twice the maintenance
rate (``floor(1 / (2 * rate))``), the rule that makes tier 1 of BingX's ladders agree with the
pair's maximum. That is a derivation, and the log says so once.

The pair's maximum is the account's (``GET /openApi/swap/v2/trade/leverage``) where the caller
knows it; the contract list's ``maxLongLeverage`` / ``maxShortLeverage`` often understate it.
"""

import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from freqtrade_bingx.base import files
from freqtrade_bingx.bingx.replies import TierRow, finite, tier_problem


logger = logging.getLogger(__name__)

CACHE_MAX_AGE = timedelta(weeks=4)
SOURCE = "BingX GET /openApi/swap/v1/maintMarginRatio"
CACHE_WHAT = "BingX tier cache"
# The numbers every cached tier must carry (maxNotional may also be None: no upper bound).
CACHED_NUMBERS = ("minNotional", "maintenanceMarginRate", "maxLeverage", "maintAmt")


def tier_max_leverage(maint_margin_rate: float, pair_max: float) -> float:
    if maint_margin_rate <= 0:
        return float(pair_max)
    return float(max(1, min(int(pair_max), math.floor(1 / (2 * maint_margin_rate)))))


def parse_tiers(rows: list[TierRow], pair_max: float) -> list[dict[str, Any]]:
    """BingX's tier rows, checked by :func:`freqtrade_bingx.bingx.replies.tiers`, as freqtrade
    ``LeverageTier`` dicts, lowest tier first."""
    tiers = [
        {
            "minNotional": row.min_position_value,
            "maxNotional": row.max_position_value,
            "maintenanceMarginRate": row.maint_margin_ratio,
            "maxLeverage": tier_max_leverage(row.maint_margin_ratio, pair_max),
            "maintAmt": row.maint_amount,
        }
        for row in rows
    ]
    tiers.sort(key=lambda tier: tier["minNotional"])
    return tiers


def recap(tiers: list[dict[str, Any]], pair_max: float) -> list[dict[str, Any]]:
    """Parsed ``tiers`` with each maximum leverage derived again under a new ``pair_max``."""
    return [
        {**tier, "maxLeverage": tier_max_leverage(tier["maintenanceMarginRate"], pair_max)}
        for tier in tiers
    ]


def fallback_tiers(pair_max: float) -> list[dict[str, Any]]:
    """One tier from the pair's maximum leverage alone, for when no real tiers can be had.

    Maintenance rate ``1 / (2 * max leverage)`` is the same derivation run backwards; the
    caller logs that these tiers are an estimate. Used for the maximum leverage and liquidation
    estimates of dry-run and backtesting only; never written to the cache.
    """
    pair_max = max(1.0, float(pair_max))
    return [
        {
            "minNotional": 0.0,
            "maxNotional": None,
            "maintenanceMarginRate": 1 / (2 * pair_max),
            "maxLeverage": pair_max,
            "maintAmt": 0.0,
        }
    ]


def cache_path(datadir: Path, stake_currency: str) -> Path:
    # Beside freqtrade's own tier cache; a name of its own so neither reads the other's format.
    return Path(datadir) / "futures" / f"bingx_leverage_tiers_{stake_currency}.json"


def load_cache(path: Path, now: datetime | None = None) -> dict[str, list[dict]]:
    """Tiers cached within the last four weeks; {} when there is no usable cache.

    The file is checked before it is trusted: a hand-edited or damaged cache is ignored (and
    said so once), never handed to freqtrade's leverage and liquidation code.
    """
    if not path.is_file():
        return {}
    try:
        content = files.read_json(path)
        updated = datetime.fromisoformat(content["updated"])
        data = content["data"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        files.report_unusable(path, CACHE_WHAT, f"not readable ({type(e).__name__}: {e})")
        return {}
    problem = _cache_problem(updated, data)
    if problem:
        files.report_unusable(path, CACHE_WHAT, problem)
        return {}
    if updated < (now or datetime.now(UTC)) - CACHE_MAX_AGE:
        logger.info("BingX tier cache %s is older than four weeks; reloading", path)
        return {}
    return data


def save_cache(path: Path, tiers: dict[str, list[dict]], now: datetime | None = None) -> bool:
    """Write the cache; a failure is logged, not raised. True when it was written."""
    content = {"updated": (now or datetime.now(UTC)).isoformat(), "source": SOURCE, "data": tiers}
    return files.save_json(path, content, CACHE_WHAT)


def _cache_problem(updated: datetime, data: Any) -> str | None:
    """What makes cached tiers unusable, or None. They are freqtrade's ``LeverageTier``s."""
    if updated.tzinfo is None:
        return "'updated' has no time zone"
    if not isinstance(data, dict):
        return "'data' is not an object"
    for pair, pair_tiers in data.items():
        if not isinstance(pair_tiers, list) or not pair_tiers:
            return f"{str(pair)[:40]!r} has no list of tiers"
        for tier in pair_tiers:
            problem = _tier_problem(tier)
            if problem:
                return f"{str(pair)[:40]!r}: {problem}"
    return None


def _tier_problem(tier: Any) -> str | None:
    if not isinstance(tier, dict):
        return "a tier is not an object"
    numbers = {key: _cached_number(tier.get(key)) for key in CACHED_NUMBERS}
    missing = [key for key, value in numbers.items() if value is None]
    if missing:
        return f"{', '.join(missing)} not a finite number"
    high = math.inf if tier.get("maxNotional") is None else _cached_number(tier["maxNotional"])
    if high is None:
        return "maxNotional not a finite number"
    if numbers["maxLeverage"] < 1:
        return "maxLeverage below 1"
    # The same check as BingX's rows get (replies.py), on the cached form of the tier.
    return tier_problem(
        TierRow(numbers["minNotional"], high, numbers["maintenanceMarginRate"], numbers["maintAmt"])
    )


def _cached_number(value: Any) -> float | None:
    """A number the cache file holds as a JSON number (the plugin writes no other form: a
    string there was edited by hand, and the file is not trusted)."""
    return finite(value) if isinstance(value, int | float) else None

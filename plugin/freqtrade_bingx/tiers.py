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

from freqtrade_bingx import files
from freqtrade_bingx.replies import MIN_MAINT_MARGIN_RATE


logger = logging.getLogger(__name__)

CACHE_MAX_AGE = timedelta(weeks=4)
SOURCE = "BingX GET /openApi/swap/v1/maintMarginRatio"
CACHE_WHAT = "BingX tier cache"
# The numbers every cached tier must carry (maxNotional may also be None: no upper bound).
CACHED_NUMBERS = ("minNotional", "maintenanceMarginRate", "maxLeverage", "maintAmt")


def _number(row: dict, key: str) -> float:
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"BingX tier row lacks a number in {key!r}: {row!r}") from e


def tier_max_leverage(maint_margin_rate: float, pair_max: float) -> float:
    if maint_margin_rate <= 0:
        return float(pair_max)
    return float(max(1, min(int(pair_max), math.floor(1 / (2 * maint_margin_rate)))))


def parse_tiers(rows: list[dict[str, Any]], pair_max: float) -> list[dict[str, Any]]:
    """BingX tier rows -> freqtrade ``LeverageTier`` dicts, lowest tier first.

    :raises ValueError: on a reply freqtrade could not use (empty, a field missing or garbled).
    """
    if not rows:
        raise ValueError("BingX returned no tiers")
    tiers = []
    for row in rows:
        rate = _number(row, "maintMarginRatio")
        tiers.append(
            {
                "minNotional": _number(row, "minPositionVal"),
                "maxNotional": _number(row, "maxPositionVal"),
                "maintenanceMarginRate": rate,
                "maxLeverage": tier_max_leverage(rate, pair_max),
                "maintAmt": _number(row, "maintAmount"),
            }
        )
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
    try:
        files.write_json(path, content)
    except (OSError, TypeError, ValueError) as e:
        logger.warning("Could not write the %s %s: %s", CACHE_WHAT, path, e)
        return False
    return True


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
    numbers = {key: _finite(tier.get(key)) for key in CACHED_NUMBERS}
    missing = [key for key, value in numbers.items() if value is None]
    if missing:
        return f"{', '.join(missing)} not a finite number"
    if tier.get("maxNotional") is not None and (
        _finite(tier["maxNotional"]) is None or tier["maxNotional"] <= numbers["minNotional"]
    ):
        return "maxNotional is not above minNotional"
    if not MIN_MAINT_MARGIN_RATE <= numbers["maintenanceMarginRate"] < 1:
        return f"maintenanceMarginRate is not from {MIN_MAINT_MARGIN_RATE:g} to below 1"
    if numbers["maxLeverage"] < 1 or numbers["minNotional"] < 0 or numbers["maintAmt"] < 0:
        return "maxLeverage below 1, or a negative notional or maintenance amount"
    return None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None

"""When BingX stops a contract, from its contract list, for freqtrade's delisting hooks.

``GET /openApi/swap/v2/quote/contracts`` (its page, ``get_openapi_swap_v2_quote_contracts.md``)
gives each contract, in epoch milliseconds:

- ``maintainTime``: "The start time of the prohibition of opening a position, after the time
  is up, the currency pair is in a state of prohibition from opening a position, and can only
  close the position";
- ``offTime``: "Down line time, after the time is up, the currency pair is in the offline state
  and trading is prohibited";
- ``status``: "1 online, 25 forbidden to open positions, 5 pre-online, 0 offline".

For a bot the pair is finished at the earlier of the two times: no entry after
``maintainTime``, nothing at all after ``offTime``. A contract with no stop scheduled carries
0 (the local exchange does the same; the page gives no other value for "none"). A time already
past counts only while ``status`` says the contract is restricted (25 or 0); on an online
contract it is a restriction that is over. Standard library only.
"""

import math
from typing import Any


RESTRICTED_STATUS = frozenset({0, 25})  # offline, forbidden to open positions
# A time further ahead than this is not a schedule but a placeholder (freqtrade's Binance and
# Bybit classes met such far dates); BingX announces delistings days or weeks ahead.
HORIZON_MS = 365 * 24 * 3600 * 1000


def stop_time_ms(info: dict[str, Any], now_ms: int) -> int | None:
    """When the contract stops taking entries (epoch ms), or None if nothing is scheduled."""
    times = [t for t in (_epoch_ms(info.get("maintainTime")), _epoch_ms(info.get("offTime"))) if t]
    if not times:
        return None
    earliest = min(times)
    if earliest > now_ms + HORIZON_MS:
        return None
    if earliest <= now_ms and _status(info.get("status")) not in RESTRICTED_STATUS:
        return None
    return earliest


def _epoch_ms(value: Any) -> int | None:
    """A positive epoch-millisecond time (number or numeric string), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(number) or number <= 0 or number > 1e14:
        return None
    return int(number)


def _status(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None

"""``GET /openApi/swap/v2/user/income`` of the fake BingX: the account's fund flow.

As BingX's page documents it (``get_openapi_swap_v2_user_income.md``; the older export
``account__get_account_profit_and_loss_fund_flow.md`` adds the remarks quoted here):

- ``limit``: "Default: 100 Maximum: 1000". A larger figure is held to 1000 (the page gives no
  error for it).
- "If neither startTime nor endTime is sent, only the data of the last 7 days will be
  returned."
- "If the incomeType is not sent, return all types of account profit and loss fund flow."
- "Only keep the last 3 months data" (90 days here).

The page does not say which rows a full page holds when more match; this fake sends the newest
``limit`` of them, oldest first, so a client that walks forward from ``startTime`` and trusts a
full page to be complete misses rows here as it could at BingX.
"""

from typing import Any

from .errors import ApiError


DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
DEFAULT_SPAN_MS = 7 * 24 * 3600 * 1000
RETENTION_MS = 90 * 24 * 3600 * 1000


def query(rows: list[dict[str, Any]], params: dict[str, str], now_ms: int) -> list[dict[str, Any]]:
    """The rows of ``rows`` (the account's ledger, oldest first) that ``params`` ask for.

    ``params["symbol"]`` must already be checked against the contracts.
    """
    symbol = params.get("symbol") or None
    kind = params.get("incomeType") or None
    start = _int_param(params, "startTime")
    end = _int_param(params, "endTime")
    limit = _int_param(params, "limit")
    limit = DEFAULT_LIMIT if limit is None else max(1, min(limit, MAX_LIMIT))
    if start is None and end is None:
        start = now_ms - DEFAULT_SPAN_MS
    oldest = now_ms - RETENTION_MS
    start = oldest if start is None else max(start, oldest)
    found = [
        dict(r)
        for r in rows
        if (symbol is None or r["symbol"] == symbol)
        and (kind is None or r["incomeType"] == kind)
        and r["time"] >= start
        and (end is None or r["time"] <= end)
    ]
    return found[-limit:]


def _int_param(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    if not text.lstrip("-").isdigit():
        # BingX's generic invalid-parameter code (its common error codes page: 109400).
        raise ApiError(109400, f"Invalid parameters, {name} must be an integer")
    return int(text)

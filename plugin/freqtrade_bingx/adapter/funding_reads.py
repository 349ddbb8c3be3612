"""freqtrade's funding reads, through ccxt's object: every funding payment of a trade (paged
through BingX's income endpoint) and each pair's funding interval.

The arithmetic and BingX's reply shapes are :mod:`freqtrade_bingx.bingx.funding`; the paging is
:mod:`freqtrade_bingx.bingx.paging`. ccxt's exceptions become freqtrade's through the one mapping
(:func:`~freqtrade_bingx.net.ccxt_errors.ccxt_to_freqtrade`).
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from freqtrade.util.datetime_helpers import dt_from_ts

from freqtrade_bingx.bingx import endpoints, funding, paging, replies
from freqtrade_bingx.bingx.errors import translate
from freqtrade_bingx.bingx.failures import BingxError
from freqtrade_bingx.net.ccxt_errors import ccxt_to_freqtrade


logger = logging.getLogger(__name__)

HOUR_MS = 3_600_000
# Funding-rate rows read to tell a pair's funding interval from their spacing.
FUNDING_HISTORY_PROBE = 3


class FundingReader:
    """Funding payments read per symbol (live trading), so each update reads only what is new."""

    def __init__(self, api: Callable[[], Any], log_reply: Callable[..., None]) -> None:
        """``api``: freqtrade's sync ccxt object; ``log_reply``: freqtrade's
        ``_log_exchange_response``."""
        self._api = api
        self._log_reply = log_reply
        self._ledgers: dict[str, funding.FundingLedger] = {}
        self._lock = threading.Lock()
        self._retention_warned: set[str] = set()

    def fees_since(self, pair: str, symbol: str, since_ms: int) -> float:
        """The sum of every funding payment of ``symbol`` since ``since_ms``.

        A window BingX's replies do not let it read ends with
        :class:`~freqtrade_bingx.bingx.paging.WindowNotRead` (not retried: asked again, BingX would
        answer the same way).
        """
        now_ms = self._api().milliseconds()
        oldest_kept = now_ms - funding.RETENTION_MS
        with self._lock:
            ledger = self._ledgers.setdefault(symbol, funding.FundingLedger())
        for start, end in ledger.gaps(max(since_ms, oldest_kept), now_ms):
            payments = paging.read_window(funding.INCOME_PAGING, self._page(symbol), start, end)
            ledger.add(start, end, payments)
        if since_ms < oldest_kept and ledger.gaps(since_ms, oldest_kept):
            self._warn_retention(pair, since_ms)
        return ledger.total(since_ms)

    def _page(self, symbol: str) -> paging.FetchPage[funding.FundingPayment]:
        def fetch(start_ms: int, end_ms: int) -> tuple[int, list]:
            params = {
                "symbol": symbol,
                "incomeType": funding.FUNDING_FEE,
                "startTime": start_ms,
                "endTime": end_ms,
                "limit": funding.PAGE_LIMIT,
            }
            # ccxt's fetch_funding_history turns a malformed row into an amount of None,
            # which freqtrade's sum would crash on; the raw reply is checked instead.
            with ccxt_to_freqtrade(f"read funding fees of {symbol}"):
                reply = self._api().swapV2PrivateGetUserIncome(params)
            self._log_reply("funding_history", reply, add_info=symbol)
            data = reply.get("data") if isinstance(reply, dict) else None
            try:
                payments = replies.income(data, symbol)
            except BingxError as e:
                raise translate(e, f"read funding fees of {symbol}") from e
            return len(data) if isinstance(data, list) else 0, payments

        return fetch

    def _warn_retention(self, pair: str, since_ms: int) -> None:
        if pair in self._retention_warned:
            return
        self._retention_warned.add(pair)
        logger.warning(
            "%s: the trade's funding payments before %s are older than the 3 months BingX keeps "
            "(GET %s); the funding fees freqtrade shows for it leave them out",
            pair,
            dt_from_ts(since_ms),
            endpoints.INCOME,
        )

    def interval_hours(self, pair: str, symbol: str) -> int | None:
        """BingX's funding interval for the pair in hours (1, 4 or 8), or None if unknown.

        BingX's premiumIndex page lists no interval; newer replies carry ``fundingIntervalHours``
        (ccxt reads it as ``interval``), so that is used when present. Otherwise the spacing of
        the two latest settlements in the funding-rate history (one row per settlement, with its
        ``fundingTime``) gives it. freqtrade charges funding from that history, at a 1h funding
        timeframe that divides every BingX interval.
        """
        action = f"read the funding interval of {pair}"
        api = self._api()
        # ccxt's fetch_funding_rate turns a malformed reply into an empty result; the raw reply
        # is checked here instead.
        with ccxt_to_freqtrade(action):
            reply = api.swapV2PublicGetQuotePremiumIndex({"symbol": symbol})
        try:
            data = reply.get("data") if isinstance(reply, dict) else reply
            hours = replies.funding_interval_hours(data, symbol)
        except BingxError as e:
            raise translate(e, action) from e
        if hours is not None:
            return hours
        with ccxt_to_freqtrade(action):
            history = api.fetch_funding_rate_history(pair, limit=FUNDING_HISTORY_PROBE)
        times = sorted(
            {row["timestamp"] for row in history or [] if isinstance(row.get("timestamp"), int)}
        )
        if len(times) < 2:
            return None
        hours, rest = divmod(times[-1] - times[-2], HOUR_MS)
        return hours if hours > 0 and rest == 0 else None

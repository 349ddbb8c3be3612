"""Every funding payment of a pair, read from BingX's income endpoint page by page.

freqtrade charges a live trade the sum of the pair's funding payments since the trade's last
fill (``Exchange._get_funding_fees_from_exchange``). ccxt reads them with one request to
``GET /openApi/swap/v2/user/income`` without ``limit``, which BingX answers with at most 100
rows (its page: "Default: 100 Maximum: 1000"): a trade on a 1h-funding pair is under-charged
after about four days. This module walks the endpoint instead.

What the page says, and what follows from it (``get_openapi_swap_v2_user_income.md`` and the
older export ``account__get_account_profit_and_loss_fund_flow.md``):

- ``limit`` is at most 1000, so each request asks for 1000.
- "If neither startTime nor endTime is sent, only the data of the last 7 days will be
  returned": both are always sent.
- "Only keep the last 3 months data": nothing older is asked for. A trade open for longer gets
  what BingX still has (and what this process read before), and the log says so.
- The page does not say which rows a full page holds when more match (the oldest or the newest)
  nor whether ``endTime`` is inclusive: the window is read by :mod:`freqtrade_bingx.bingx.paging`,
  which halves a window whose page is full, and rows are told apart by ``tranId`` (a string
  on the page; a number is taken as the same identity).
- How dense payments can be, which bounds that walk: BingX funds every 1, 2, 4 or 8 hours, and
  pays one row per position at each settlement, at most two positions per symbol (hedge mode:
  long and short). :data:`MAX_ROWS_PER_HOUR` allows five times that, for what the page does not
  say; a full page of 1000 rows then needs a window of at least 100 hours. A window of 90 days
  is split at most 5 times: 63 requests at most, in the worst legitimate case.

:class:`FundingLedger` remembers, per pair, the payments read and the span they cover, so the
next update (freqtrade asks every 30 minutes for every open trade) reads only what is new.
The freqtrade glue is ``funding_reads.py``.
"""

import threading
from dataclasses import dataclass

from freqtrade_bingx.bingx.endpoints import INCOME
from freqtrade_bingx.bingx.paging import Paging


FUNDING_FEE = "FUNDING_FEE"
PAGE_LIMIT = 1000  # the page's maximum for ``limit``
RETENTION_MS = 90 * 24 * 3600 * 1000  # "Only keep the last 3 months data" (at least 90 days)
HOUR_MS = 3600 * 1000
# Funding rows of one symbol per hour at most: hourly settlements (the shortest interval), one
# row per position, two positions (hedge mode); five times that for what the page leaves open.
MAX_ROWS_PER_HOUR = 2 * 5
INCOME_PAGING = Paging(
    path=f"GET {INCOME}",
    limit=PAGE_LIMIT,
    min_window_ms=PAGE_LIMIT // MAX_ROWS_PER_HOUR * HOUR_MS,
    max_pages=64,  # 2**6 - 1 requests split a 90-day window down to the smallest one
)
# Rows this recent are read again next time: BingX may book a payment a little after its time.
RECENT_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class FundingPayment:
    """One ``FUNDING_FEE`` row: what the account received (negative: paid) at ``time_ms``."""

    key: str
    time_ms: int
    amount: float

    def in_window(self, start_ms: int, end_ms: int) -> bool:
        return start_ms <= self.time_ms <= end_ms


class FundingLedger:
    """The funding payments of one pair read so far, and the span they are complete for.

    Safe for concurrent callers: the lock guards the state only, never a request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._payments: dict[str, FundingPayment] = {}
        self._covered: tuple[int, int] | None = None  # [from, to] read completely

    def gaps(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """The parts of ``[start_ms, end_ms]`` not read yet (at most one before, one after)."""
        with self._lock:
            covered = self._covered
        if covered is None or start_ms > covered[1] or end_ms < covered[0]:
            return [(start_ms, end_ms)]
        gaps = []
        if start_ms < covered[0]:
            gaps.append((start_ms, covered[0]))
        if end_ms > covered[1]:
            gaps.append((covered[1], end_ms))
        return gaps

    def add(self, start_ms: int, end_ms: int, payments: list[FundingPayment]) -> None:
        """Record a window read completely; its last ``RECENT_MS`` count as not read yet."""
        complete_to = max(start_ms, end_ms - RECENT_MS)
        with self._lock:
            self._payments.update((p.key, p) for p in payments)
            covered = self._covered
            if covered is None or start_ms > covered[1] or complete_to < covered[0]:
                # Not touching what is covered: keep the newer span (the one updates extend).
                if covered is None or complete_to >= covered[1]:
                    self._covered = (start_ms, complete_to)
                return
            self._covered = (min(start_ms, covered[0]), max(complete_to, covered[1]))

    def total(self, since_ms: int) -> float:
        with self._lock:
            return sum(p.amount for p in self._payments.values() if p.time_ms >= since_ms)

    def count(self, since_ms: int) -> int:
        with self._lock:
            return sum(1 for p in self._payments.values() if p.time_ms >= since_ms)

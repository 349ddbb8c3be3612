"""Every row of a time window from a BingX endpoint that answers one page of at most ``limit``
rows, and does not say which rows a full page holds (the oldest or the newest).

A full page is never trusted to be the whole window: the window is halved and both halves are
read again, overlapping by one millisecond (BingX's pages do not say whether ``endTime`` is
inclusive), and rows are told apart by their identity. Used for the funding payments
(``funding.py``) and the force orders (``reconcile.py``).

The walk is bounded, so that a reply that does not keep to the window (BingX ignoring
``startTime``/``endTime``, a proxy stripping them) costs a few requests, not thousands:

- a row outside the window asked for is a reply not understood: the read ends;
- a window shorter than :attr:`Paging.min_window_ms` is never split: a full page for it holds
  more rows than the endpoint can legitimately have there, and the read ends;
- at most :attr:`Paging.max_pages` requests per read.

The read then ends with :class:`WindowNotRead`, a freqtrade ``ExchangeError`` naming the
endpoint: not retried by freqtrade's ``@retrier`` (asking the same way gets the same reply),
and caught by freqtrade's callers of both reads (``get_funding_fees``,
``handle_onexchange_order``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from freqtrade.exceptions import ExchangeError


class Row(Protocol):
    """What the walk needs of a row: its identity and whether it lies in a window."""

    @property
    def key(self) -> str: ...

    @property
    def time_ms(self) -> int: ...

    def in_window(self, start_ms: int, end_ms: int) -> bool: ...


R = TypeVar("R", bound=Row)

# A page of rows for [start_ms, end_ms]: (how many rows BingX sent, the rows among them that
# the read is for; rows of another kind the request did not ask for are left out by the caller).
FetchPage = Callable[[int, int], tuple[int, list[R]]]


@dataclass(frozen=True)
class Paging:
    """How one endpoint's time window is read."""

    path: str  # for messages: "GET /openApi/..."
    limit: int  # the page's maximum for ``limit``, sent with every request
    min_window_ms: int  # the shortest window that can legitimately hold ``limit`` rows
    max_pages: int  # requests per read at most


class WindowNotRead(ExchangeError):
    """BingX's replies did not let the window be read completely; names the endpoint."""


def read_window(paging: Paging, fetch: FetchPage[R], start_ms: int, end_ms: int) -> list[R]:
    """Every row in ``[start_ms, end_ms]``, oldest first: a full page is split until none is.

    :raises WindowNotRead: a bound was hit (see the module's docstring).
    """
    found: dict[str, R] = {}
    windows = [(start_ms, end_ms)]
    pages = 0
    while windows:
        low, high = windows.pop()
        if pages >= paging.max_pages:
            raise _not_read(paging, start_ms, end_ms, f"not done after {paging.max_pages} pages")
        pages += 1
        sent, rows = fetch(low, high)
        outside = next((row for row in rows if not row.in_window(low, high)), None)
        if outside is not None:
            raise _not_read(
                paging,
                low,
                high,
                f"a row at {outside.time_ms} is outside the window asked for "
                "(startTime/endTime not applied?)",
            )
        if sent >= paging.limit:
            if high - low < paging.min_window_ms:
                raise _not_read(
                    paging,
                    low,
                    high,
                    f"a full page ({sent} rows) for {high - low} ms, shorter than any window "
                    "that can hold one",
                )
            middle = (low + high) // 2
            windows += [(middle, high), (low, middle)]  # overlap at ``middle``: keys dedupe
            continue
        found.update((row.key, row) for row in rows)
    return sorted(found.values(), key=lambda row: row.time_ms)


def _not_read(paging: Paging, low: int, high: int, problem: str) -> WindowNotRead:
    return WindowNotRead(
        f"BingX {paging.path}: could not read the window [{low}, {high}] (epoch ms): {problem}; "
        "nothing of it was used"
    )

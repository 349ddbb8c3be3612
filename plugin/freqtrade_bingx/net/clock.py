"""BingX's clock as the plugin knows it: the offset from ours, and when to read it again.

Signed requests carry a timestamp BingX checks against its own clock, so the offset is read
from BingX's time endpoint on first use and again after BingX rejects a timestamp. While that
endpoint fails, it is not asked again on every request: the next attempt waits 30 s, then
twice as long after each failure, up to 5 minutes. Requests meanwhile go out with the last
known offset (or none), and BingX's answer says if that was wrong.
"""

import threading
import time
from collections.abc import Callable


# A server time further than this from our clock is a broken reply, not a clock: no machine
# that can trade is a day off, and taking such a reading would make every timestamp wrong.
MAX_PLAUSIBLE_OFFSET_MS = 24 * 3600 * 1000
FIRST_RETRY_S = 30.0
MAX_RETRY_S = 300.0


class ServerClock:
    """The measured offset (BingX minus local, in ms) and the re-read schedule; thread-safe.

    :param clock: monotonic seconds, for the retry schedule (injectable for tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._offset_ms: int | None = None
        self._stale = False
        self._reading = False
        self._failures = 0
        self._next_try = 0.0

    @property
    def offset_ms(self) -> int:
        """BingX's clock minus ours, as last measured (0 before the first measurement)."""
        return self._offset_ms or 0

    @property
    def synced(self) -> bool:
        return self._offset_ms is not None

    @property
    def stale(self) -> bool:
        """BingX refused a timestamp since the last reading."""
        return self._stale

    def mark_stale(self) -> None:
        """BingX rejected a timestamp: read its clock again at the next chance."""
        with self._lock:
            self._stale = True

    def claim_reading(self) -> bool:
        """True if a reading is due now and no other thread is taking one; the caller must then
        report :meth:`record` or :meth:`record_failure`."""
        with self._lock:
            due = (self._offset_ms is None or self._stale) and self._clock() >= self._next_try
            if not due or self._reading:
                return False
            self._reading = True
            return True

    def begin_reading(self) -> None:
        """An explicit reading, due or not."""
        with self._lock:
            self._reading = True

    def record(self, offset_ms: int) -> None:
        with self._lock:
            self._offset_ms = offset_ms
            self._stale = False
            self._reading = False
            self._failures = 0
            self._next_try = 0.0

    def record_failure(self) -> float:
        """The reading failed; returns the seconds until the next attempt."""
        with self._lock:
            self._reading = False
            self._failures += 1
            wait = min(FIRST_RETRY_S * 2 ** min(self._failures - 1, 16), MAX_RETRY_S)
            self._next_try = self._clock() + wait
            return wait


def is_plausible_offset(offset_ms: int) -> bool:
    return abs(offset_ms) <= MAX_PLAUSIBLE_OFFSET_MS

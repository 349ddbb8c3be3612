"""The plugin's one memory of requests BingX refused for good: "do not send this again".

BingX blocks an endpoint after more than 20 failing requests in 8 minutes (its error-code
pages, ``errors.py``), and freqtrade asks again on every loop while a strategy's signal or a
missing position lasts. So a refusal no retry can change is remembered under a key (the request,
or the kind of request) and answered locally for a while instead of being sent again. The
adapter holds one memory for its account settings, force orders and tier loads; preflight holds
one per run for its test orders.

Thread-safe: freqtrade's main loop and its API server (a force entry) call in from two threads.
The lock covers the memory only, never a request. The clock is injectable (monotonic seconds).
"""

import math
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar


# How long a refusal is answered locally: past BingX's 8-minute counting window, so the one
# request sent after it cannot add to an earlier run of failures.
REFUSAL_MEMORY_S = 600.0
# For a refusal held until the memory is cleared (a reload, the end of a preflight run).
UNTIL_CLEARED = math.inf

E = TypeVar("E", bound=Exception)


class RefusalMemory:
    """Refusals by key, each forgotten after its time or when the memory is cleared."""

    def __init__(
        self, for_s: float = REFUSAL_MEMORY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.for_s = for_s
        self.clock = clock
        self._held: dict[Hashable, tuple[float, Exception]] = {}
        self._lock = threading.Lock()
        # Counts clearings: a refusal answered to a request sent before one is not put back.
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """Read before sending; pass to :meth:`remember` with the refusal that comes back."""
        with self._lock:
            return self._epoch

    def remember(
        self,
        key: Hashable,
        error: Exception,
        for_s: float | None = None,
        epoch: int | None = None,
    ) -> None:
        """Hold ``error`` for ``key`` (``for_s``, else the memory's time); not if the memory
        was cleared since ``epoch``."""
        forget_at = self.clock() + (self.for_s if for_s is None else for_s)
        with self._lock:
            if epoch is None or epoch == self._epoch:
                self._held[key] = (forget_at, error)

    def refused(self, key: Hashable) -> Exception | None:
        """The error BingX refused ``key`` with, while it is remembered; else None."""
        now = self.clock()
        with self._lock:
            held = self._held.get(key)
            if held is None:
                return None
            if now >= held[0]:
                del self._held[key]  # under the lock: the expired entry, not a newer one
                return None
            return held[1]

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._held.pop(key, None)

    def clear(self) -> None:
        """Forget every refusal, including those of requests still in flight."""
        with self._lock:
            self._epoch += 1
            self._held.clear()

    def unless_refused(self, key: Hashable, send: Callable[[], Any], refusal: type[E]) -> Any:
        """``send()``, unless ``key`` is refused; a ``refusal`` it raises is remembered.

        Two threads may both send a request not refused yet; both refusals are then one entry.
        """
        epoch = self.epoch
        held = self.refused(key)
        if held is not None:
            raise type(held)(f"{held} [not sent again: BingX refused this request]")
        try:
            return send()
        except refusal as e:
            self.remember(key, e, epoch=epoch)
            raise

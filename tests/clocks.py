"""The tests' one fake clock: monotonic time that moves only when someone sleeps on it (or a
test moves it); :func:`freqtrade_now` puts freqtrade's own "now" on it."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from unittest.mock import patch


class FakeClock:
    """Seconds when called, like ``time.monotonic``; ``ms`` / ``now_ms`` give the same time in
    whole milliseconds, for the components that count in them (the shared budget). ``sleep``
    records each wait in ``slept`` and moves the clock; ``on_sleep``, if set, runs after each
    wait (what happens meanwhile)."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t
        self.slept: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.t

    def now_ms(self) -> int:
        return round(self.t * 1000)

    @property
    def ms(self) -> int:
        return self.now_ms()

    @ms.setter
    def ms(self, value: int) -> None:
        self.t = value / 1000

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        if self.on_sleep:
            self.on_sleep()


@contextmanager
def freqtrade_now(clock: FakeClock) -> Iterator[FakeClock]:
    """freqtrade's "now" on ``clock``: ``dt_now``, ``dt_ts`` and the timeframe helpers
    (``timeframe_to_prev_date``, ``date_minus_candles``, ...) that its candle refresh and its
    websocket feed decide with. A fake exchange on ``clock.now_ms`` then agrees with it."""

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.fromtimestamp(clock(), tz or UTC)

    with ExitStack() as stack:
        stack.enter_context(patch("freqtrade.util.datetime_helpers.time", clock))
        for module in (
            "freqtrade.util.datetime_helpers",
            "freqtrade.exchange.exchange_utils_timeframe",
            "freqtrade.exchange.exchange_utils",
        ):
            stack.enter_context(patch(f"{module}.datetime", ClockDatetime))
        yield clock

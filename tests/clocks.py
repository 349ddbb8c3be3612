"""The tests' one fake clock: monotonic time that moves only when someone sleeps on it (or a
test moves it)."""

from collections.abc import Callable


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

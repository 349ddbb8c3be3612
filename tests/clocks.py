"""A monotonic clock for tests: it moves only when someone sleeps on it."""


class FakeClock:
    """Seconds, like ``time.monotonic``; ``sleep`` records each wait and moves the clock."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

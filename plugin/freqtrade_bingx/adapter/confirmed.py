"""What BingX confirmed last, safe for concurrent callers; never a value BingX may not have.

freqtrade calls the exchange from its main loop and from its API server (a force entry from
the REST API or Telegram), so two threads may set or read one pair's leverage at once. Their
replies can arrive in another order than BingX handled the requests, and a request whose
reply never came (a timeout) may still be handled after a later one. The plugin remembers a
confirmed setting only to skip a request that would change nothing, so the memory must never
hold a value BingX does not have: a wrong "already 5x" means trading at 3x while freqtrade
sizes stakes, liquidation and risk for 5x.

Optimistic, with no lock held while a request is sent (rather than a lock per pair and side
held across the request). A lock would hold one thread up for the length of another's request,
and would still not cover a request that timed out on our side and is handled by BingX later,
nor a read racing a write: both need the bookkeeping below anyway. Its only cost is a request
sent again after two overlapped, which is rare (two entries on one pair at the same moment).

- A write (a request that may change a setting) drops what is remembered for the keys it
  affects before it is sent, and counts as in flight on them until it ends.
- Its answer is remembered only if it was alone from start to end: no other write on those
  keys was in flight when it started, none started before it ended (a generation number per
  key), and the memory was not cleared meanwhile (an epoch, bumped by :meth:`forget_all`).
  Two writes that overlap are both dropped; the next entry sends again.
- A read is remembered under the same rule, though reads do not disturb writes.
- A write that failed without a definite refusal (no answer, a garbled or temporary one) may
  still be handled by BingX until its timestamp is older than ``recvWindow``: for that long its
  keys are "in doubt", and nothing started meanwhile is remembered for them.
"""

import threading
from collections.abc import (
    Callable,
    Hashable,
    ItemsView,
    Iterable,
    Iterator,
    Mapping,
    ValuesView,
)
from contextlib import contextmanager
from dataclasses import dataclass
from time import monotonic
from typing import Generic, TypeVar


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _KeyState:
    generation: int = 0  # writes started on the key
    writing: int = 0  # writes in flight
    doubt_until: float = 0.0  # a write of unknown outcome may land until then (clock time)


@dataclass(frozen=True)
class Ticket(Generic[K]):
    """One request's claim on some keys; its answer may be remembered for the trusted ones."""

    generations: dict[K, int]
    trusted: frozenset[K]
    epoch: int


class ConfirmedSettings(Mapping[K, V]):
    """A read-only mapping of what BingX confirmed last, written through tickets.

    :param doubt_s: how long a write whose outcome is unknown may still change the account.
    :param may_have_landed: whether a write that raised this exception may have been handled.
    """

    def __init__(
        self,
        doubt_s: float,
        may_have_landed: Callable[[BaseException], bool],
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self._doubt_s = doubt_s
        self._may_have_landed = may_have_landed
        self._clock = clock
        self._lock = threading.Lock()  # held only around dictionary work, never across I/O
        self._values: dict[K, V] = {}
        self._states: dict[K, _KeyState] = {}
        self._epoch = 0

    # --- Mapping: a snapshot under the lock -----------------------------------------------

    def __getitem__(self, key: K) -> V:
        with self._lock:
            return self._values[key]

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._values))

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __repr__(self) -> str:
        return f"ConfirmedSettings({self.snapshot()!r})"

    def snapshot(self) -> dict[K, V]:
        with self._lock:
            return dict(self._values)

    # Mapping's own items() and values() look each key up again, which another thread may
    # have dropped in between.
    def items(self) -> ItemsView[K, V]:
        return self.snapshot().items()

    def values(self) -> ValuesView[V]:
        return self.snapshot().values()

    # --- requests -------------------------------------------------------------------------

    @contextmanager
    def writing(self, keys: Iterable[K]) -> Iterator[Ticket[K]]:
        """Around a request that may change ``keys``; :meth:`confirm` its answer inside."""
        ticket = self._start(tuple(keys), write=True)
        try:
            yield ticket
        except BaseException as e:
            self._end(ticket, in_doubt=self._may_have_landed(e))
            raise
        self._end(ticket, in_doubt=False)

    @contextmanager
    def reading(self, keys: Iterable[K]) -> Iterator[Ticket[K]]:
        """Around a request that only reads ``keys``; :meth:`confirm` its answer inside."""
        yield self._start(tuple(keys), write=False)

    def confirm(self, ticket: Ticket[K], values: Mapping[K, V]) -> frozenset[K]:
        """Remember BingX's answer for each key no other request may have changed since;
        return the keys remembered."""
        unknown = set(values) - set(ticket.generations)
        if unknown:
            raise ValueError(f"keys not claimed by the request: {sorted(map(str, unknown))}")
        kept = []
        with self._lock:
            if ticket.epoch != self._epoch:
                return frozenset()
            for key, value in values.items():
                alone = self._states[key].generation == ticket.generations[key]
                if key in ticket.trusted and alone:
                    self._values[key] = value
                    kept.append(key)
        return frozenset(kept)

    def discard(self, keys: Iterable[K]) -> None:
        """Drop what is remembered for ``keys`` (dropping never makes the memory wrong)."""
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def forget_all(self) -> None:
        """Drop everything, including answers to requests still in flight."""
        with self._lock:
            self._epoch += 1
            self._values.clear()

    def _start(self, keys: tuple[K, ...], write: bool) -> Ticket[K]:
        now = self._clock()
        with self._lock:
            states = {key: self._states.setdefault(key, _KeyState()) for key in keys}
            trusted = frozenset(
                key for key, s in states.items() if s.writing == 0 and now >= s.doubt_until
            )
            if write:
                for key, state in states.items():
                    state.generation += 1
                    state.writing += 1
                    self._values.pop(key, None)
            generations = {key: state.generation for key, state in states.items()}
            return Ticket(generations, trusted, self._epoch)

    def _end(self, ticket: Ticket[K], in_doubt: bool) -> None:
        until = self._clock() + self._doubt_s if in_doubt else 0.0
        with self._lock:
            for key in ticket.generations:
                state = self._states[key]
                state.writing -= 1
                state.doubt_until = max(state.doubt_until, until)

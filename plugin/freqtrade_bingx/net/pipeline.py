"""The stages every request to BingX passes, the plugin's own and ccxt's, in one place.

The plugin's requests run them from :meth:`BingxTransport.request
<freqtrade_bingx.net.transport.BingxTransport.request>`, freqtrade's requests through ccxt from
the hooks :func:`freqtrade_bingx.net.ccxt_guard.run_through` puts on ccxt's objects. In order:

1. :meth:`RequestPipeline.admit`: refused at once if BingX blocked the endpoint
   (:class:`~freqtrade_bingx.bingx.failures.BingxBlocked`); a request to an endpoint BingX limits
   per account then takes a slot of the account's budget, the one shared with the other
   bots on this machine while its file takes requests, else this bot's own (the same counting in
   memory; never both), or :class:`~freqtrade_bingx.bingx.failures.BingxNoRoom` after
   :data:`BUDGET_WAIT_S`.
2. The caller signs, stamped with BingX's clock (:meth:`RequestPipeline.server_now_ms`), and sends
   under one deadline with a capped reply (:mod:`freqtrade_bingx.net.bounded_http`).
3. :meth:`RequestPipeline.settle`: the slot's stamp moves to the time the reply came in.

A request that may change an account-wide setting (leverage) carries a
:class:`~freqtrade_bingx.state.shared_settings.Change`: its claim (the setting unknown to every
bot while the request travels) is written in the transaction that takes the slot, and its
answer in the one that settles it, once the caller knows it (:meth:`RequestPipeline.finish`).
4. :meth:`RequestPipeline.judge`: the reply's ``{code, msg, data}`` envelope checked and, if it is
   a refusal, classified as the error table (:mod:`freqtrade_bingx.bingx.errors`) reads it; what it
   says about the endpoint or the clock noted first (:meth:`RequestPipeline.note`): a block
   (100410, HTTP 429 / 418 with ``Retry-After``) holds for the plugin and ccxt alike, a refused
   timestamp has BingX's clock read again before the next signed request.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from freqtrade_bingx.bingx.errors import is_clock_error
from freqtrade_bingx.bingx.failures import (
    RATE_LIMIT_CODE,
    BingxBadResponse,
    BingxBlocked,
    BingxNoRoom,
    BingxRejected,
)
from freqtrade_bingx.bingx.replies import finite, whole
from freqtrade_bingx.net.clock import ServerClock
from freqtrade_bingx.net.throttle import RATE_LIMIT_STATUSES, BlockRegistry, endpoint_key
from freqtrade_bingx.state.account_budget import AccountBudget, NoRoomInTime, Ticket, local_budget
from freqtrade_bingx.state.shared_settings import Change


logger = logging.getLogger(__name__)

# The longest a request waits for room in the account's budget: half the transport's deadline
# for a whole request (10 s), so the wait and the request stay within about one deadline of
# freqtrade's loop. Bots taking turns wait a fraction of a second each; only a pile-up of
# requests is refused.
BUDGET_WAIT_S = 5.0


class Slot:
    """One admitted request: its endpoint and, if it took one, its place in a budget."""

    __slots__ = ("budget", "key", "ticket")

    def __init__(self, key: str, budget: AccountBudget | None, ticket: Ticket | None) -> None:
        self.key = key
        self.budget = budget
        self.ticket = ticket


class RequestPipeline:
    """The account's request stages, shared by the transport and freqtrade's ccxt objects.

    :param limits: requests per second per ``(method, path)`` BingX limits per account; this
        bot's own budget keeps to them whenever the shared one cannot take a request.
    :param open_shared: called once, before the first request is admitted, to open the
        account's shared budget (:attr:`budget`) if it was not opened yet.
    :param clock: seconds since the epoch; ``monotonic`` never steps (blocks, budgets);
        ``sleep`` waits (all injectable for tests).
    """

    def __init__(
        self,
        limits: Mapping[tuple[str, str], float],
        *,
        open_shared: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.blocks = BlockRegistry(monotonic)
        self.server_clock = ServerClock(monotonic)
        # Milliseconds as the shared budget counts them (account_budget._now_ms: floored), so
        # the stamps it hands over at a switch compare.
        self.local_budget = local_budget(limits, lambda: int(monotonic() * 1000), sleep)
        # The account's budget shared with the other bots on this machine (None: not shared).
        self.budget: AccountBudget | None = None
        self._open_shared = open_shared
        self._opened = threading.Event()
        # This machine's wall clock (public: a test moves it); BingX's is it plus the offset.
        self.clock = clock
        # The endpoints whose last request took a slot of the shared budget (see _take_slot).
        self._shared_last: set[tuple[str, str]] = set()

    def server_now_ms(self) -> int:
        """Our best guess of BingX's clock; never sends a request."""
        return int(self.clock() * 1000) + self.server_clock.offset_ms

    # --- 1. admit -------------------------------------------------------------------------

    def refuse_if_blocked(self, key: str) -> None:
        """:class:`BingxBlocked` if BingX blocked the endpoint ``key`` (see
        :func:`~freqtrade_bingx.net.throttle.endpoint_key`)."""
        left = self.blocks.remaining_s(key)
        if left > 0:
            method, _, path = key.partition(" ")
            until = self.server_now_ms() + int(left * 1000)
            reason = self.blocks.reason(key)
            raise BingxBlocked(method=method, path=path, until_ms=until, msg=reason)

    def admit(self, method: str, url_path: str, change: Change | None = None) -> Slot:
        """Stage 1 for a request to ``url_path`` (a proxy's prefix before ``/openApi/`` is not
        part of the endpoint): :class:`BingxBlocked`, :class:`BingxNoRoom`, or its slot (none
        for an endpoint without a limit here), with ``change`` claimed (or its ``Busy``: then
        nothing may be sent)."""
        key = endpoint_key(method, url_path)
        self.refuse_if_blocked(key)
        if not self._opened.is_set() and self._open_shared is not None:
            self._open_shared()  # idempotent; the first request of any kind opens the file
            self._opened.set()
        method, _, path = key.partition(" ")
        budget, ticket = self._take_slot(method, path, change)
        slot = Slot(key, budget, ticket)
        if change is not None and change.version is None:  # the shared budget did not take it
            try:
                change.claim()
            except BaseException:
                self.release(slot)  # nothing is sent
                raise
        return slot

    def _take_slot(
        self, method: str, path: str, change: Change | None
    ) -> tuple[AccountBudget, Ticket | None]:
        """A slot of the shared budget, waited for at most :data:`BUDGET_WAIT_S` (``change``
        claimed in the same transaction); when it has none for the request (not shared, its
        file failed or is busy), one of this bot's own."""
        shared = self.budget
        if shared is not None:
            also = change.claim_in if change is not None else None
            try:
                ticket = shared.acquire(method, path, max_wait_s=BUDGET_WAIT_S, also=also)
            except NoRoomInTime:
                raise BingxNoRoom(method=method, path=path, waited_s=BUDGET_WAIT_S) from None
            if ticket is not None:
                self._shared_last.add((method, path))
                try:
                    self._own_requests_still_count(method, path)
                except NoRoomInTime:
                    shared.release(ticket)  # not sent: the account's slot is given back
                    raise BingxNoRoom(method=method, path=path, waited_s=BUDGET_WAIT_S) from None
                return shared, ticket
            if change is not None:
                # Its claim, if written in the transaction the file did not take (a failed
                # commit), was rolled back with it: claimed alone below, or nothing is sent.
                change.version = None
            if (method, path) in self._shared_last:  # the file stopped taking requests: this
                self._shared_last.discard((method, path))  # bot's own budget takes over, with
                self.local_budget.adopt(shared.recent(method, path))  # its latest requests
        return self.local_budget, self.local_budget.acquire(method, path)

    def _own_requests_still_count(self, method: str, path: str) -> None:
        """Back on the shared budget: this bot's requests its own budget let go in the last
        window (the shared one could not take them, and does not know of them) still count at
        BingX, so the request also waits for room in its own budget."""
        own = self.local_budget
        rate = own.rates.get((method, path))
        if rate is None:
            return
        since = own.clock_ms() - rate.interval
        if any((t.settled_at or t.at) > since for t in own.recent(method, path)):
            own.settle(own.acquire(method, path, max_wait_s=BUDGET_WAIT_S))

    # --- 3. settle ------------------------------------------------------------------------

    @staticmethod
    def settle(slot: Slot) -> None:
        """The request's reply came in, or it failed: it reached BingX by now, if at all."""
        if slot.ticket is not None:
            slot.budget.settle(slot.ticket)

    @staticmethod
    def release(slot: Slot) -> None:
        """The admitted request was not sent after all: its slot is given back."""
        if slot.ticket is not None:
            slot.budget.release(slot.ticket)

    def finish(self, change: Change) -> None:
        """Settle the slot of ``change``'s request (the transport left it to the caller) with
        the answer the caller gave it, in one transaction when the shared budget holds the
        slot; else each alone."""
        slot, change.slot = change.slot, None
        if slot is None:
            return  # nothing was admitted: nothing sent, nothing claimed
        if slot.budget is self.budget and slot.ticket is not None:
            if slot.budget.settle(slot.ticket, also=change.answer_in):
                return
        else:
            self.settle(slot)
        change.write_answer()

    # --- 4. judge -------------------------------------------------------------------------

    def note(self, key: str, status: int, headers: Mapping[str, Any] | None, body: Any) -> None:
        """What a reply says about its endpoint: a block (100410 in the envelope, HTTP 429 / 418
        with ``Retry-After``) holds for every request to it, the plugin's and ccxt's."""
        if status in RATE_LIMIT_STATUSES:
            self.blocks.note_retry_after(key, status, headers, self.clock())
        if isinstance(body, dict) and finite(body.get("code")) == RATE_LIMIT_CODE:
            msg = str(body.get("msg") or "")
            self.blocks.note_rate_limit(key, msg, headers, self.server_now_ms())

    def judge(
        self, key: str, status: int, headers: Mapping[str, Any] | None, body: Any, *, signed: bool
    ) -> Any:
        """The envelope's ``data`` of a decoded reply (``body`` None: not JSON), after
        :meth:`note`; else the :class:`~freqtrade_bingx.bingx.failures.BingxError` to raise for
        it (a refused timestamp of a signed request also marks BingX's clock for reading)."""
        self.note(key, status, headers, body)
        method, _, path = key.partition(" ")
        if not (isinstance(body, dict) and "code" in body):
            if status != 200:
                reason = "HTTP error"
            elif body is None:
                reason = "reply is not JSON"
            else:
                reason = "reply is not a BingX envelope"
            raise BingxBadResponse(reason, method=method, path=path, http_status=status)
        code = whole(body.get("code"))
        msg = str(body.get("msg") or "")
        if code == 0 and status == 200:
            return body.get("data")
        if code is None or code == 0:
            raise BingxBadResponse(
                "HTTP error", method=method, path=path, http_status=status, msg=msg
            )
        if signed and is_clock_error(code, msg):
            self.server_clock.mark_stale()
        raise BingxRejected(
            "rejected", method=method, path=path, code=code, msg=msg, http_status=status
        )

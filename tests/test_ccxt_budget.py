"""freqtrade's signed requests through ccxt take a slot in the account's shared rate budget.

BingX limits orders, cancels and order, balance and position reads per account (UID), not per
bot (rate_limits.py, rows marked CCXT). ccxt_guard.run_through sends each signed ccxt request
through the pipeline the plugin's own requests pass (pipeline.py): it waits for room in the
budget the bots on this machine share, or takes a slot of the bot's own when the shared file
cannot take it; public requests never touch either.
"""

import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from freqtrade.exceptions import DDosProtection

from freqtrade_bingx.net.pipeline import BUDGET_WAIT_S
from freqtrade_bingx.state import account_budget
from freqtrade_bingx.state.account_budget import AccountBudget
from tests.clocks import FakeClock


PAIR = "BTC/USDT:USDT"
ORDER = "/openApi/swap/v2/trade/order"
LEVERAGE = "/openApi/swap/v2/trade/leverage"
BALANCE = "/openApi/swap/v3/user/balance"
TICKER = "/openApi/swap/v2/quote/ticker"


@pytest.fixture
def budget_calls(monkeypatch) -> list[tuple]:
    """Every acquire and settle of any AccountBudget, with its answer and thread."""
    calls: list[tuple] = []
    acquire, settle = AccountBudget.acquire, AccountBudget.settle

    def recording_acquire(self, method, path, max_wait_s=None, also=None):
        ticket = acquire(self, method, path, max_wait_s, also)
        calls.append(("acquire", method, path, max_wait_s, ticket, threading.current_thread()))
        return ticket

    def recording_settle(self, ticket, also=None):
        calls.append(("settle", ticket))
        return settle(self, ticket, also)

    monkeypatch.setattr(AccountBudget, "acquire", recording_acquire)
    monkeypatch.setattr(AccountBudget, "settle", recording_settle)
    return calls


def _buy(exchange) -> dict:
    return exchange.create_order(
        pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=None, leverage=2.0
    )


def _on(calls: list[tuple], path: str) -> list[tuple]:
    return [c for c in calls if c[0] == "acquire" and c[2] == path]


def test_an_order_takes_a_slot_before_it_is_sent_and_settles_it(
    make_exchange, fake_bingx, budget_calls
):
    exchange = make_exchange()

    order = _buy(exchange)

    assert order["id"]
    [(_, method, _, max_wait_s, ticket, _)] = _on(budget_calls, ORDER)
    assert (method, max_wait_s) == ("POST", BUDGET_WAIT_S)
    assert ticket is not None
    assert ("settle", ticket) in budget_calls
    posts = [r for r in fake_bingx.requests if (r.method, r.path) == ("POST", ORDER)]
    assert [r.code for r in posts] == [0]


def test_a_balance_read_through_ccxt_takes_a_slot(make_exchange, budget_calls):
    exchange = make_exchange()

    exchange.get_balances()

    [(_, method, _, _, ticket, _)] = _on(budget_calls, BALANCE)
    assert method == "GET" and ticket is not None
    assert ("settle", ticket) in budget_calls


def test_a_public_request_never_touches_the_budget(make_exchange, fake_bingx, budget_calls):
    exchange = make_exchange()
    fake_bingx.clear_requests()
    budget_calls.clear()

    exchange.fetch_ticker(PAIR)

    assert [r.path for r in fake_bingx.requests] == [TICKER]
    assert budget_calls == []


def test_no_room_in_time_is_refused_before_sending(make_exchange, fake_bingx):
    exchange = make_exchange()
    _buy(exchange)  # leverage and margin type set: only the order is left to send
    budget = exchange.bingx.pipeline.budget
    # That order's slot is free again: its stamp lies over a whole window back (at exactly one
    # window back it would still count, until the first 1 ms wait frees it).
    clock = FakeClock((account_budget._now_ms() + 2000) / 1000)
    budget.clock_ms, budget.sleep = clock.now_ms, clock.sleep
    started_ms = clock.ms
    with pytest.raises(account_budget.NoRoomInTime):
        for _ in range(100):  # other bots' orders in flight: the account's order budget used up
            assert budget.acquire("POST", ORDER, max_wait_s=0) is not None
    fake_bingx.clear_requests()

    with pytest.raises(DDosProtection, match="request not sent"):
        _buy(exchange)

    assert fake_bingx.requests == []
    assert clock.ms - started_ms >= BUDGET_WAIT_S * 1000


def test_an_async_signed_request_waits_off_the_event_loop(make_exchange, budget_calls):
    exchange = make_exchange()

    exchange.loop.run_until_complete(exchange._api_async.fetch_balance())

    [(_, _, _, _, ticket, thread)] = _on(budget_calls, BALANCE)
    assert ticket is not None
    assert thread is not threading.main_thread()  # a worker thread, not the loop's
    assert ("settle", ticket) in budget_calls


def test_an_async_request_called_off_while_admitted_gives_its_slot_back(
    make_exchange, fake_bingx, budget_calls, monkeypatch
):
    # freqtrade cancels an async request (its loop stops, a timeout around it) while the worker
    # thread is taking its slot: nothing is sent, and the slot, once taken, is given back
    # (off the event loop: the file may make it wait) rather than counting until it lapses.
    import asyncio

    exchange = make_exchange()
    exchange.get_balances()  # the account's state opened
    taking, called_off = threading.Event(), threading.Event()
    acquire = AccountBudget.acquire
    released = []

    def acquire_once_called_off(self, method, path, *args, **kwargs):
        if path == BALANCE:
            taking.set()
            called_off.wait(10)  # the file busy until the request was called off
        return acquire(self, method, path, *args, **kwargs)

    def release(self, ticket):
        released.append((ticket, threading.current_thread()))

    monkeypatch.setattr(AccountBudget, "acquire", acquire_once_called_off)
    monkeypatch.setattr(AccountBudget, "release", release)
    fake_bingx.clear_requests()

    async def call_off() -> None:
        task = asyncio.ensure_future(exchange._api_async.fetch_balance())
        assert await asyncio.to_thread(taking.wait, 10)  # the worker thread is taking it
        task.cancel()
        called_off.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(500):  # the worker thread takes the slot, then it is given back
            if released:
                return
            await asyncio.sleep(0.01)

    exchange.loop.run_until_complete(call_off())
    [(ticket, thread)] = released
    assert ticket.endpoint == f"GET {BALANCE}"
    assert thread is not threading.main_thread()  # not on the event loop's thread
    assert [r for r in fake_bingx.requests if r.path == BALANCE] == []


def test_every_ccxt_object_is_wrapped(make_exchange):
    exchange = make_exchange()

    apis = [exchange._api, exchange._api_async, exchange._ws_async]
    wrapped = [api.fetch2.__name__ for api in apis if api is not None]
    assert wrapped and set(wrapped) == {"admitted_fetch2"}
    assert len(wrapped) >= 2


def test_the_budget_is_opened_for_ccxts_first_signed_request(make_exchange, budget_calls):
    exchange = make_exchange()
    exchange.bingx.pipeline.budget.close()
    exchange.link.reset()  # as if the plugin had sent nothing yet

    exchange.get_balances()

    assert exchange.link.built is not None
    [(_, _, _, _, ticket, _)] = _on(budget_calls, BALANCE)
    assert ticket is not None


def test_an_unusable_budget_leaves_ccxt_orders_to_the_bots_own_limits(
    make_exchange, fake_bingx, budget_calls, caplog
):
    exchange = make_exchange()
    _buy(exchange)
    path = exchange.bingx.pipeline.budget.path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    caplog.set_level(logging.WARNING, "freqtrade_bingx.state.account_budget")
    fake_bingx.clear_requests()

    _buy(exchange)
    _buy(exchange)

    posts = [r for r in fake_bingx.requests if (r.method, r.path) == ("POST", ORDER)]
    assert [r.code for r in posts] == [0, 0]
    # Each order: no slot of the lost file, then one of the bot's own budget (never neither).
    taken = [c[4] is not None for c in _on(budget_calls, ORDER)][-4:]
    assert taken == [False, True, False, True]
    assert len(exchange.bingx.pipeline.local_budget.recent("POST", ORDER)) == 2
    said = [r for r in caplog.records if "no longer shared" in r.getMessage()]
    assert len(said) == 1


def test_a_damaged_stamp_in_the_state_file_leaves_ccxt_sending(
    make_exchange, fake_bingx, budget_calls, caplog
):
    # A row the budget cannot read (a text stamp: SQLite keeps what it is given) must not
    # reach freqtrade as a raw ValueError; the bot keeps to its own limits, as for a lost file.
    exchange = make_exchange()
    _buy(exchange)
    other = sqlite3.connect(exchange.bingx.pipeline.budget.path)  # another program writing there
    with other:
        other.executemany(
            "INSERT INTO stamps (endpoint, at, name) VALUES (?, ?, ?)",
            [(f"POST {ORDER}", "not a time", f"damaged-{n}") for n in range(20)],
        )
    other.close()
    caplog.set_level(logging.WARNING, "freqtrade_bingx.state.account_budget")
    fake_bingx.clear_requests()

    _buy(exchange)

    posts = [r for r in fake_bingx.requests if (r.method, r.path) == ("POST", ORDER)]
    assert [r.code for r in posts] == [0]
    taken = [c[4] is not None for c in _on(budget_calls, ORDER)][-2:]
    assert taken == [False, True]  # the bot's own budget took the order
    assert any("no longer shared" in r.getMessage() for r in caplog.records)


def test_a_blocked_endpoint_is_refused_without_waiting_for_or_taking_a_slot(
    make_exchange, fake_bingx, budget_calls
):
    exchange = make_exchange()
    _buy(exchange)
    budget = exchange.bingx.pipeline.budget
    clock = FakeClock((account_budget._now_ms() + 2000) / 1000)
    budget.clock_ms, budget.sleep = clock.now_ms, clock.sleep
    exchange.link.pipeline.blocks.block(f"POST {ORDER}", 60, "100410 from another request")
    fake_bingx.clear_requests()
    budget_calls.clear()

    with pytest.raises(DDosProtection, match="blocked by BingX"):
        _buy(exchange)

    assert fake_bingx.requests == []
    assert _on(budget_calls, ORDER) == []  # no slot of the account's taken for nothing
    assert clock.slept == []


def test_the_plugins_own_request_finding_no_room_in_time_is_refused_before_sending(
    make_exchange, fake_bingx
):
    # The plugin's set-leverage waits for the shared budget no longer than ccxt's requests do:
    # freqtrade's loop is never held past about one request deadline by other bots' traffic.
    exchange = make_exchange()
    exchange._lev_prep(PAIR, 3, "buy")
    budget = exchange.bingx.pipeline.budget
    clock = FakeClock((account_budget._now_ms() + 2000) / 1000)
    budget.clock_ms, budget.sleep = clock.now_ms, clock.sleep
    started_ms = clock.ms
    with pytest.raises(account_budget.NoRoomInTime):
        for _ in range(100):  # other bots' leverage changes: the account's budget used up
            assert budget.acquire("POST", LEVERAGE, max_wait_s=0) is not None
    fake_bingx.clear_requests()

    with pytest.raises(DDosProtection, match="request not sent"):
        exchange._set_leverage(4, PAIR, side="buy", count=0)  # count: freqtrade's retries

    assert fake_bingx.requests == []
    assert clock.ms - started_ms >= BUDGET_WAIT_S * 1000
    # Room again (the clock moves on): the refused request settled its per-process slot, so
    # nothing waits for it; the leverage is not trusted from the refused request: it goes.
    clock.ms += 60_000
    assert exchange._set_leverage(4, PAIR, side="buy") == 4
    assert [(r.path, r.code) for r in fake_bingx.requests] == [(LEVERAGE, 0)]

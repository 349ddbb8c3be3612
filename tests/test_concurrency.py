"""The plugin's memory of what BingX confirmed, under concurrent callers.

freqtrade calls the exchange from its main loop and from its API server (a force entry from
the REST API or Telegram), so these tests run real threads against the fake BingX and check at
the SERVER that whatever the plugin remembers is what BingX has, and that the next entry sends
a request whenever BingX has something else.

Where the order of events matters, a reply is held on the client after BingX answered it (the
thread that sent it is "descheduled"): the fake's delay faults act before BingX handles a
request, so they cannot make a reply arrive after BingX handled a later request.
"""

import threading
import time
from collections.abc import Callable
from time import monotonic, sleep  # bound now: make_exchange replaces time.sleep with a mock
from typing import Any

import pytest
from freqtrade.enums import MarginMode
from freqtrade.exceptions import InvalidOrderException

from freqtrade_bingx.adapter.refusals import RefusalMemory
from freqtrade_bingx.bingx import replies
from freqtrade_bingx.bingx.errors import translate
from freqtrade_bingx.bingx.failures import (
    BingxBadResponse,
    BingxBlocked,
    BingxRejected,
    BingxRequestFailed,
)
from freqtrade_bingx.sim import Fault
from tests.conftest import LEVERAGE_PATH, MARGIN_PATH


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
WAIT_S = 5.0  # the most any step waits for another thread; the tests take far less


def fast_exchange(make_exchange) -> Any:
    # The highest set-leverage rate the plugin allows, so the limiter spaces requests least.
    return make_exchange(exchange={"leverage_rate_limit": 5})


def server_leverage(server, side: str = "LONG") -> int:
    return server.account().leverage[(SYMBOL, side)]


def run(name: str, target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``target`` in a thread called ``name``; its result or exception lands in the dict."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            outcome["result"] = target()
        except Exception as e:  # noqa: BLE001 - handed to the test, which asserts on it
            outcome["error"] = e

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread, outcome


def finish(thread: threading.Thread, outcome: dict[str, Any]) -> Any:
    thread.join(WAIT_S)
    assert not thread.is_alive(), f"{thread.name} did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        sleep(0.01)


class HeldReply:
    """Holds the reply parsed by ``replies.<name>`` in the thread called ``thread_name``:
    BingX has answered, and that thread is paused before the plugin acts on the answer."""

    def __init__(self, mocker, name: str, thread_name: str) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        original = getattr(replies, name)

        def parse(*args: Any) -> Any:
            if threading.current_thread().name == thread_name:
                self.arrived.set()
                self.release.wait(WAIT_S)
            return original(*args)

        mocker.patch.object(replies, name, parse)


def test_two_threads_setting_5x_and_3x_leave_what_bingx_has(fake_bingx, make_exchange, mocker):
    for side in ("LONG", "SHORT"):
        fake_bingx.account().leverage[(SYMBOL, side)] = 2
    exchange = fast_exchange(make_exchange)
    exchange.read_account_leverage(PAIR)  # as the first entry on the pair does
    held = HeldReply(mocker, "leverage_set", thread_name="five")

    five, five_done = run("five", lambda: exchange._set_leverage(5, PAIR, side="buy"))
    assert held.arrived.wait(WAIT_S)  # BingX set 5x; the thread has not remembered it yet
    three, three_done = run("three", lambda: exchange._set_leverage(3, PAIR, side="buy"))
    finish(three, three_done)  # BingX set 3x after 5x
    held.release.set()
    finish(five, five_done)

    assert server_leverage(fake_bingx) == 3
    assert exchange.account_settings.leverage_confirmed.get((SYMBOL, "BOTH")) in (None, 3)
    # The next entry at 5x must reach BingX, whatever the plugin remembered.
    exchange._set_leverage(5, PAIR, side="buy")
    assert server_leverage(fake_bingx) == 5
    assert exchange.account_settings.leverage_confirmed.get((SYMBOL, "BOTH")) in (None, 5)
    # And once nothing overlaps, the memory works again: the same leverage costs nothing.
    exchange._set_leverage(5, PAIR, side="buy")
    fake_bingx.clear_requests()
    exchange._set_leverage(5, PAIR, side="buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 0


def test_reading_the_leverage_while_another_thread_sets_it(fake_bingx, make_exchange, mocker):
    # get_max_leverage reads the account's leverage from the main loop while a force entry
    # from the API server sets it: the read's answer is older than the set's.
    exchange = fast_exchange(make_exchange)
    assert server_leverage(fake_bingx) == 5
    held = HeldReply(mocker, "leverage", thread_name="reader")

    reader, read_done = run("reader", lambda: exchange.read_account_leverage(PAIR))
    assert held.arrived.wait(WAIT_S)  # BingX answered "5x"; not remembered yet
    exchange._set_leverage(3, PAIR, side="buy")
    held.release.set()
    finish(reader, read_done)

    assert server_leverage(fake_bingx) == 3
    for side in ("BOTH", "LONG", "SHORT"):
        assert exchange.account_settings.leverage_confirmed.get((SYMBOL, side)) in (None, 3)
    exchange._set_leverage(5, PAIR, side="buy")
    assert server_leverage(fake_bingx) == 5


def test_a_request_that_lands_after_its_timeout_is_not_trusted(fake_bingx, make_exchange):
    # The client gives up on a set-leverage request after its read timeout (0.5 s here) and
    # retries; BingX handles the first request later, after a 3x set in between.
    exchange = fast_exchange(make_exchange)
    exchange.read_account_leverage(PAIR)
    fake_bingx.inject(
        Fault(path=LEVERAGE_PATH, method="POST", delay_s=2.0, params={"leverage": "4"})
    )
    exchange._set_leverage(4, PAIR, side="buy")  # the retry gets through
    assert server_leverage(fake_bingx) == 4
    exchange._set_leverage(3, PAIR, side="buy")
    assert server_leverage(fake_bingx) == 3
    wait_for(lambda: server_leverage(fake_bingx) == 4, "the first request to land")

    assert exchange.account_settings.leverage_confirmed.get((SYMBOL, "BOTH")) in (None, 4)
    exchange._set_leverage(3, PAIR, side="buy")
    assert server_leverage(fake_bingx) == 3


def test_forgetting_during_a_send_keeps_nothing_from_before(fake_bingx, make_exchange):
    # A position-mode change forgets every confirmed setting; a send that started before it
    # must not put its answer back afterwards.
    exchange = fast_exchange(make_exchange)
    exchange.read_account_leverage(PAIR)
    exchange.account_settings.forget_confirmed()
    fake_bingx.clear_requests()
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", delay_s=0.3))
    fake_bingx.inject(Fault(path=MARGIN_PATH, method="GET", delay_s=0.3))

    leverage, leverage_done = run("leverage", lambda: exchange._set_leverage(3, PAIR, side="buy"))
    margin, margin_done = run("margin", lambda: exchange.set_margin_mode(PAIR, MarginMode.ISOLATED))
    wait_for(
        lambda: fake_bingx.count(LEVERAGE_PATH, "POST") and fake_bingx.count(MARGIN_PATH, "GET"),
        "both requests to reach BingX",
    )
    exchange.account_settings.forget_confirmed()
    finish(leverage, leverage_done)
    finish(margin, margin_done)

    assert server_leverage(fake_bingx) == 3
    assert fake_bingx.account().margin_type[SYMBOL] == "ISOLATED"
    assert (SYMBOL, "BOTH") not in exchange.account_settings.leverage_confirmed
    assert SYMBOL not in exchange.account_settings.margin_type_confirmed


def test_a_refusal_from_before_a_forget_is_not_held_after_it(fake_bingx, make_exchange):
    exchange = fast_exchange(make_exchange)
    exchange.read_account_leverage(PAIR)
    # BingX's common error codes page: 101209 "The maximum position value for this leverage
    # is ** USDT".
    refusal = "The maximum position value for this leverage is 5000 USDT"
    fake_bingx.inject(
        Fault(path=LEVERAGE_PATH, method="POST", delay_s=0.3, code=101209, msg=refusal)
    )
    refused, refused_done = run("refused", lambda: exchange._set_leverage(3, PAIR, side="buy"))
    wait_for(lambda: fake_bingx.count(LEVERAGE_PATH, "POST"), "the request to reach BingX")
    exchange.account_settings.forget_confirmed()
    with pytest.raises(InvalidOrderException):
        finish(refused, refused_done)

    fake_bingx.clear_requests()
    exchange._set_leverage(3, PAIR, side="buy")  # sent again: the refusal was forgotten
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1
    assert server_leverage(fake_bingx) == 3


def test_refusal_memory_hammered_by_threads():
    # Every refusal is due to be forgotten at once, so each call also drops an expired one.
    # Reading the clock lets other threads run, as any call may.
    def yielding_clock() -> float:
        sleep(0.0002)
        return monotonic()

    memory = RefusalMemory(for_s=0.0, clock=yielding_clock)
    threads, rounds = 8, 100
    start = threading.Barrier(threads, timeout=WAIT_S)
    keys = [("test", n) for n in range(2)]

    def refuse() -> None:
        raise InvalidOrderException("refused for good")

    def hammer() -> int:
        start.wait()
        refused = 0
        for n in range(rounds):
            try:
                memory.unless_refused(keys[n % len(keys)], refuse, InvalidOrderException)
            except InvalidOrderException:
                refused += 1
        return refused

    running = [run(f"hammer-{n}", hammer) for n in range(threads)]
    assert [finish(*each) for each in running] == [rounds] * threads

    # Once held for its full time again, a refusal answers locally: nothing is sent.
    memory.for_s = 600.0
    sent = []
    with pytest.raises(InvalidOrderException):
        memory.unless_refused(keys[0], refuse, InvalidOrderException)
    with pytest.raises(InvalidOrderException, match="not sent again"):
        memory.unless_refused(keys[0], lambda: sent.append(1), InvalidOrderException)
    assert sent == []


def test_two_position_mode_reads_keep_the_newer_answer(fake_bingx, make_exchange, mocker):
    exchange = fast_exchange(make_exchange)
    assert exchange.position_mode.value == "one_way"
    held = HeldReply(mocker, "position_mode", thread_name="older")

    older, older_done = run("older", exchange.refresh_position_mode)
    assert held.arrived.wait(WAIT_S)  # BingX answered one-way; not applied yet
    fake_bingx.account().hedge_mode = True  # the user switches on bingx.com
    assert exchange.refresh_position_mode().value == "hedge"
    held.release.set()
    finish(older, older_done)

    assert exchange.position_mode.value == "hedge"


REQUEST = {"method": "POST", "path": LEVERAGE_PATH}


@pytest.mark.parametrize(
    ("error", "may_land"),
    [
        # No answer, or none that can be read: BingX may have handled it, or may still.
        (BingxRequestFailed("timed out", **REQUEST), True),
        (BingxBadResponse("not JSON", http_status=502, **REQUEST), True),
        (BingxRejected("rejected", code=80001, msg="system is busy", **REQUEST), True),
        # Turned away or refused for good: nothing changed.
        (BingxRejected("rejected", code=100410, msg="rate limited", **REQUEST), False),
        (BingxBadResponse("too many requests", http_status=429, **REQUEST), False),
        (BingxBlocked(until_ms=1_900_000_000_000, **REQUEST), False),
        (BingxRejected("refused", code=101209, msg="maximum position value", **REQUEST), False),
        (
            BingxRejected(
                "rejected",
                code=109400,
                msg="In the One-way mode, the 'PositionSide' field can only be set to BOTH.",
                **REQUEST,
            ),
            False,
        ),
    ],
    ids=["timeout", "HTTP 502", "busy", "100410", "HTTP 429", "blocked", "101209", "wrong side"],
)
def test_which_failed_requests_may_still_change_the_account(error, may_land):
    from freqtrade_bingx.adapter.leverage import _may_have_landed

    try:
        raise translate(error, "set leverage") from error
    except Exception as e:  # noqa: BLE001 - the translated exception, with its cause
        assert _may_have_landed(e) is may_land


def test_a_maximum_learnt_while_tiers_load_is_kept(fake_bingx, make_exchange, mocker):
    # The main loop reloads markets and tiers while a force entry from the API server reads a
    # pair's account maximum: the tiers freqtrade ends up with must hold the newer maximum.
    exchange = fast_exchange(make_exchange)
    exchange.fill_leverage_tiers()
    assert exchange.get_max_leverage(PAIR, 10) == 125.0
    for side in ("LONG", "SHORT"):
        fake_bingx.account().max_leverage[(SYMBOL, side)] = 50
    loaded = threading.Event()
    release = threading.Event()
    load = exchange.load_leverage_tiers

    def held_load() -> dict:
        tiers = load()  # held to the maximum known so far (125x)
        loaded.set()
        release.wait(WAIT_S)
        return tiers

    mocker.patch.object(exchange, "load_leverage_tiers", held_load)
    loader, load_done = run("loader", exchange.fill_leverage_tiers)
    assert loaded.wait(WAIT_S)
    exchange.read_account_leverage(PAIR)  # BingX now says 50x
    release.set()
    finish(loader, load_done)

    assert max(tier["maxLeverage"] for tier in exchange._leverage_tiers[PAIR]) == 50
    assert exchange.get_max_leverage(PAIR, 10) == 50.0

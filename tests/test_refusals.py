"""The one refusal memory (refusals.py) and its users: leverage and margin type, force orders,
tier loads and preflight's test orders each hold a refusal in it, for its time, on its clock."""

import threading

import pytest
from freqtrade.exceptions import InvalidOrderException, OperationalException

from freqtrade_bingx.adapter.refusals import REFUSAL_MEMORY_S, RefusalMemory
from freqtrade_bingx.sim import Fault
from freqtrade_bingx.sim.server import FORCE_ORDERS_PATH
from tests.clocks import FakeClock
from tests.test_reconcile import PAIR, _since


def test_a_refusal_is_held_for_its_time_on_the_injected_clock():
    clock = FakeClock()
    memory = RefusalMemory(clock=clock)
    refusal = InvalidOrderException("risk forbidden")
    memory.remember(("leverage", "BTC-USDT"), refusal)
    assert memory.refused(("leverage", "BTC-USDT")) is refusal
    assert memory.refused(("leverage", "ETH-USDT")) is None
    clock.sleep(REFUSAL_MEMORY_S - 1)
    assert memory.refused(("leverage", "BTC-USDT")) is refusal
    clock.sleep(1)
    assert memory.refused(("leverage", "BTC-USDT")) is None
    # Its own time, else the memory's.
    memory.remember("short", refusal, for_s=5)
    clock.sleep(5)
    assert memory.refused("short") is None


def test_a_refusal_answered_after_a_clearing_is_not_put_back():
    memory = RefusalMemory(clock=FakeClock())
    sent = threading.Event()

    def send_while_cleared() -> None:
        sent.set()
        memory.clear()  # e.g. the position mode changed while the request travelled
        raise InvalidOrderException("refused for the old mode")

    with pytest.raises(InvalidOrderException):
        memory.unless_refused("key", send_while_cleared, InvalidOrderException)
    assert sent.is_set()
    assert memory.refused("key") is None
    # A refusal of another kind is raised, not held.
    with pytest.raises(OperationalException):
        memory.unless_refused("key", _raise(OperationalException("key")), InvalidOrderException)
    assert memory.refused("key") is None


def _raise(error):
    def send():
        raise error

    return send


def test_a_force_orders_refusal_is_sent_again_once_its_time_is_over(make_exchange, fake_bingx):
    exchange = make_exchange()
    clock = FakeClock()
    exchange.force_orders.refusals.clock = clock
    fake_bingx.inject(
        Fault(FORCE_ORDERS_PATH, code=109400, msg="Invalid parameters, symbol", times=5)
    )
    fake_bingx.clear_requests()
    exchange.fetch_orders(PAIR, _since())
    exchange.fetch_orders(PAIR, _since())
    assert fake_bingx.count(FORCE_ORDERS_PATH) == 1
    clock.sleep(REFUSAL_MEMORY_S)
    exchange.fetch_orders(PAIR, _since())
    assert fake_bingx.count(FORCE_ORDERS_PATH) == 2
    # A leverage refusal is held apart: the force orders' do not stop a leverage request.
    assert exchange.account_settings.refusals is not exchange.force_orders.refusals

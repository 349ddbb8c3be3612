"""A stop on the exchange triggers during a real ``freqtrade trade`` session.

The fake BingX runs in one-way mode with BTC only and answers a triggered stop's id with
"order does not exist", the worst case reported for BingX (freqtrade_bingx.bingx.stops). Once
freqtrade
has its first trade protected by a stop, the test drives the mark and last price through it.
freqtrade must close the trade at the price of the order that executed the stop, with exit
reason ``stoploss_on_exchange``, and create no second stop for a position that is gone.
"""

from __future__ import annotations

import time
from typing import Any

from freqtrade_bingx.sim.orders import QUERY_NOT_FOUND
from freqtrade_bingx.sim.server import ORDER_PATH
from freqtrade_bingx.tools.rehearse import REHEARSAL_KEY, Rehearsal


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
ALL_ORDERS_PATH = "/openApi/swap/v2/trade/allOrders"
DEADLINE_S = 50.0


def _stop_rows(server: Any) -> list[dict[str, Any]]:
    return [o for o in server.orders(REHEARSAL_KEY) if o["type"] == "STOP_MARKET"]


def test_stop_triggers_and_freqtrade_closes_at_its_fill(tmp_path):
    rehearsal = Rehearsal(
        workdir=tmp_path,
        extra_config={"exchange": {"pair_whitelist": [PAIR]}},
    )
    pushed: dict[str, Any] = {}

    def drive(r: Rehearsal) -> bool:
        assert r.server is not None
        if not pushed:
            trades, orders = r.db_rows()
            waiting = [o for o in orders if o["ft_order_side"] == "stoploss" and o["ft_is_open"]]
            if not (trades and waiting):
                return False
            [stop] = [o for o in _stop_rows(r.server) if o["status"] == "NEW"]
            through = float(stop["stopPrice"]) * 0.98
            r.server.set_price(SYMBOL, through)
            r.server.set_mark_price(SYMBOL, through)
            pushed.update(stop=stop, trade_id=waiting[0]["ft_trade_id"], at=time.monotonic())
            return False
        trades, _orders = r.db_rows()
        return any(t["id"] == pushed["trade_id"] and not t["is_open"] for t in trades)

    try:
        rehearsal.start_exchange()
        assert rehearsal.server is not None
        rehearsal.server.engine.triggered_stop_lookup = "not_found"
        rehearsal.start_freqtrade()
        rehearsal.run(DEADLINE_S, on_tick=drive)
        # Read before the stop: freqtrade turns SIGTERM into a KeyboardInterrupt wherever its
        # loop is (here often mid-way through a database read), and logs that while cleaning up.
        log_before_stop = rehearsal.log_text()
    finally:
        rehearsal.stop()

    log = rehearsal.log_text()
    assert pushed, f"no stop was placed within {DEADLINE_S} s:\n{log[-3000:]}"
    stop_id = str(pushed["stop"]["orderId"])
    [executing] = [
        o for o in rehearsal.server.orders(REHEARSAL_KEY) if str(o["triggerOrderId"]) == stop_id
    ]
    assert executing["status"] == "FILLED"

    trades, orders = rehearsal.db_rows()
    [trade] = [t for t in trades if t["id"] == pushed["trade_id"]]
    assert not trade["is_open"], log[-3000:]
    assert trade["exit_reason"] == "stoploss_on_exchange"
    assert trade["close_rate"] == float(executing["avgPrice"])
    [stoploss] = [o for o in orders if o["order_id"] == stop_id]
    assert stoploss["status"] == "closed"
    assert stoploss["filled"] == float(executing["executedQty"]) == trade["amount"]
    assert stoploss["average"] == float(executing["avgPrice"])
    # The stop's own id was refused once, the fill came from the history read from that id.
    lookups = [r for r in rehearsal.requests if r.path == ORDER_PATH and r.method == "GET"]
    refused = [
        r for r in lookups if r.params.get("orderId") == stop_id and r.code == QUERY_NOT_FOUND[0]
    ]
    assert len(refused) == 1
    assert any(
        r.path == ALL_ORDERS_PATH and r.params.get("orderId") == stop_id for r in rehearsal.requests
    )
    # No second stop was sent for the position the first one closed.
    stops_sent = [
        r
        for r in rehearsal.requests
        if r.path == ORDER_PATH
        and r.method == "POST"
        and r.params.get("type") == "STOP_MARKET"
        and r.params.get("side") == pushed["stop"]["side"]
    ]
    assert len(stops_sent) == 1
    assert "Traceback" not in log_before_stop

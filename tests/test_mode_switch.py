"""The user switches the account's position mode on bingx.com while the bot runs.

The first entry afterwards on a pair whose leverage is not confirmed yet meets the switch
twice: the leverage step is refused first, re-reads the mode and sets the new side's leverage;
then the order, whose position side freqtrade built before that step, is refused too. It must
be placed again with the new side, not given up because the mode "did not change" since the
leverage step's re-read.
"""

import pytest

from freqtrade_bingx.bingx.position_mode import PositionMode
from tests.conftest import LEVERAGE_PATH


ORDER_PATH = "/openApi/swap/v2/trade/order"
SIGNING = ("timestamp", "recvWindow", "signature")


def _enter(exchange, pair: str, side: str = "buy") -> dict:
    return exchange.create_order(
        pair=pair, ordertype="market", side=side, amount=0.01, rate=60000.0, leverage=3.0
    )


@pytest.mark.parametrize(
    "hedge_at_start, new_side", [(False, "LONG"), (True, "BOTH")], ids=["to_hedge", "to_one_way"]
)
def test_first_entry_of_a_new_pair_after_a_switch_goes_through(
    fake_bingx, make_exchange, hedge_at_start, new_side
):
    fake_bingx.account().hedge_mode = hedge_at_start
    fake_bingx.set_price("BTC-USDT", 60000.0)
    fake_bingx.set_price("ETH-USDT", 3000.0)
    exchange = make_exchange()
    _enter(exchange, "BTC/USDT:USDT")
    fake_bingx.close_positions("BTC-USDT")
    fake_bingx.account().hedge_mode = not hedge_at_start  # switched on bingx.com
    fake_bingx.clear_requests()

    order = _enter(exchange, "ETH/USDT:USDT")  # no leverage confirmed for ETH yet

    assert order["id"]
    old_side = "LONG" if hedge_at_start else "BOTH"
    # The POSTs (the account's leverage is read first with a GET, which names no side).
    leverage = [r for r in fake_bingx.requests if r.path == LEVERAGE_PATH and r.method == "POST"]
    orders = [r for r in fake_bingx.requests if r.path == ORDER_PATH and r.method == "POST"]
    assert [(r.params["side"], r.code) for r in leverage] == [(old_side, 109400), (new_side, 0)]
    assert [(r.params["positionSide"], r.code) for r in orders] == [
        (old_side, 109400),
        (new_side, 0),
    ]
    expected_mode = PositionMode.ONE_WAY if hedge_at_start else PositionMode.HEDGE
    assert exchange.position_mode is expected_mode
    assert fake_bingx.account().has_position("ETH-USDT")

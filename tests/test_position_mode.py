import pytest

from freqtrade_bingx.bingx.position_mode import PositionMode, position_side


ONE_WAY, HEDGE = PositionMode.ONE_WAY, PositionMode.HEDGE


@pytest.mark.parametrize(
    "mode, order_side, reduce_only, expected",
    [
        (ONE_WAY, "buy", False, "BOTH"),
        (ONE_WAY, "sell", False, "BOTH"),
        (ONE_WAY, "buy", True, "BOTH"),
        (ONE_WAY, "sell", True, "BOTH"),
        (HEDGE, "buy", False, "LONG"),  # long entry
        (HEDGE, "sell", False, "SHORT"),  # short entry
        (HEDGE, "sell", True, "LONG"),  # long exit / long stoploss
        (HEDGE, "buy", True, "SHORT"),  # short exit / short stoploss
    ],
)
def test_position_side_truth_table(mode, order_side, reduce_only, expected):
    assert position_side(mode, order_side, reduce_only) == expected


def test_hedge_mode_rejects_an_unknown_order_side():
    with pytest.raises(ValueError, match="buy"):
        position_side(HEDGE, "long")


@pytest.mark.parametrize(
    "value, mode", [("true", HEDGE), ("false", ONE_WAY), (True, HEDGE), (False, ONE_WAY)]
)
def test_dual_side_position_parsing(value, mode):
    assert PositionMode.from_dual_side(value) is mode
    assert PositionMode.from_dual_side(mode.dual_side) is mode


@pytest.mark.parametrize("value", ["", None, "yes", "1"])
def test_garbled_dual_side_position_is_an_error(value):
    with pytest.raises(ValueError, match="dualSidePosition"):
        PositionMode.from_dual_side(value)

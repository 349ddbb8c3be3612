"""Account modes at start-up (multi-assets) and the hedge-mode position of a trade."""

import logging

import pytest
from freqtrade.exceptions import OperationalException, TemporaryError
from freqtrade.exchange import Exchange

from freqtrade_bingx.adapter import account_modes


ASSET_MODE_PATH = "/openApi/swap/v1/trade/assetMode"
PAIR = "BTC/USDT:USDT"


def test_single_asset_mode_starts_quietly(fake_bingx, make_exchange, caplog):
    make_exchange()
    assert fake_bingx.count(ASSET_MODE_PATH, "GET") == 1
    assert "multi-assets" not in caplog.text


def test_multi_assets_mode_with_isolated_margin_is_refused(fake_bingx, make_exchange):
    fake_bingx.account().asset_mode = "multiAssetsMode"
    with pytest.raises(OperationalException, match="multi-assets mode.*set margin_mode to cross"):
        make_exchange(margin_mode="isolated")
    assert fake_bingx.count(ASSET_MODE_PATH, "GET") == 1  # refused for good: asked once
    # Nothing else was read or set after the refusal.
    assert fake_bingx.count("/openApi/swap/v1/positionSide/dual") == 0


def test_multi_assets_mode_with_cross_margin_warns(fake_bingx, make_exchange, caplog):
    fake_bingx.account().asset_mode = "multiAssetsMode"
    caplog.set_level(logging.WARNING)
    make_exchange(margin_mode="cross")
    assert "multi-assets mode" in caplog.text
    assert "single-asset mode" in caplog.text  # the advice


def test_a_garbled_asset_mode_is_a_temporary_error(fake_bingx, make_exchange):
    fake_bingx.account().asset_mode = "bothModes"
    with pytest.raises(TemporaryError, match="assetMode"):
        make_exchange()


def test_dry_run_and_spot_do_not_ask(fake_bingx, make_exchange):
    from freqtrade.enums import RunMode

    make_exchange(dry_run=True, runmode=RunMode.DRY_RUN)
    assert fake_bingx.count(ASSET_MODE_PATH) == 0


def test_parse_asset_mode_takes_only_the_pages_values():
    assert account_modes.parse_asset_mode({"assetMode": "singleAssetMode"}) == "singleAssetMode"
    for bad in (None, [], {"assetMode": None}, {"assetMode": 1}, {"mode": "multiAssetsMode"}):
        with pytest.raises(account_modes.BingxBadData):
            account_modes.parse_asset_mode(bad)


@pytest.mark.parametrize("is_short, side", [(False, "LONG"), (True, "SHORT")])
def test_hedge_liquidation_price_is_the_trades_own_side(fake_bingx, make_exchange, is_short, side):
    fake_bingx.account().hedge_mode = True
    exchange = make_exchange()
    fake_bingx.open_position("BTC-USDT", "LONG", 0.1, price=60000)
    fake_bingx.open_position("BTC-USDT", "SHORT", 0.1, price=60000)
    rows = {p["positionSide"]: float(p["liquidationPrice"]) for p in fake_bingx.account().positions}
    assert rows["LONG"] < 60000 < rows["SHORT"]

    args = dict(
        pair=PAIR,
        open_rate=60000,
        is_short=is_short,
        amount=0.1,
        stake_amount=1200,
        leverage=5,
        wallet_balance=1200,
    )
    price = exchange.get_liquidation_price(**args)
    buffer = abs(60000 - rows[side]) * exchange.liquidation_buffer
    expected = rows[side] - buffer if is_short else rows[side] + buffer
    assert price == pytest.approx(expected)
    # freqtrade's own version takes the pair's first position, the long: for a short that is
    # a "liquidation" below the entry, where the short gains.
    stock = Exchange.get_liquidation_price(exchange, **args)
    assert (stock < 60000) if is_short else (stock == pytest.approx(expected))


def test_no_position_of_the_trades_side_gives_no_liquidation_price(fake_bingx, make_exchange):
    fake_bingx.account().hedge_mode = True
    exchange = make_exchange()
    fake_bingx.open_position("BTC-USDT", "LONG", 0.1, price=60000)
    price = exchange.get_liquidation_price(PAIR, 60000, True, 0.1, 1200, 5, 1200)
    assert price is None

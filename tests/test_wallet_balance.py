"""What freqtrade's wallet holds for a BingX futures account with a position in profit.

BingX's balance page (``GET /openApi/swap/v3/user/balance``) lists ``balance`` (the wallet),
``equity`` (net asset value: wallet plus unrealized PnL), ``availableMargin`` and
``usedMargin``. ccxt 4.5.90 makes ``free`` = availableMargin, ``used`` = usedMargin and, the
page having no ``maxWithdrawAmount``, ``total`` = free + used: the wallet, without the
unrealized PnL. freqtrade's ``Wallets`` subtracts the positions' unrealized PnL from ``total``
only where ``balance_includes_unrealized_pnl`` says ``total`` is equity.
"""

from freqtrade.wallets import Wallets


PAIR = "BTC/USDT:USDT"


def test_the_wallet_total_is_bingx_s_wallet_balance_not_less_the_profit(fake_bingx, make_exchange):
    exchange = make_exchange(dry_run_wallet=1000.0)
    fake_bingx.set_price("BTC-USDT", 60000.0)
    exchange.create_order(
        pair=PAIR, ordertype="market", side="buy", amount=0.1, rate=60000.0, leverage=3.0
    )
    fake_bingx.set_price("BTC-USDT", 63000.0)  # the long gains about 300 USDT
    row = fake_bingx.engine.balance_row(fake_bingx.account())
    upnl = float(row["unrealizedProfit"])
    assert upnl > 250
    assert float(row["equity"]) == float(row["balance"]) + upnl

    wallets = Wallets(exchange._config, exchange)

    # freqtrade's own path: get_balances, fetch_positions, _strip_unrealized_pnl.
    assert wallets._positions[PAIR].unrealized_pnl == upnl
    assert wallets.get_total("USDT") == float(row["balance"])
    assert wallets.get_free("USDT") == float(row["availableMargin"])

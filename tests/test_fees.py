"""The account's own fee rates (BingX's commissionRate) in freqtrade's fee estimates.

With a key, the plugin reads ``GET /openApi/swap/v2/user/commissionRate`` whenever freqtrade
(re)loads the markets, and freqtrade's ``get_fee`` (trade records, dry-run fills) answers the
account's rate; without one, freqtrade's own figure, the contract's. A failed or malformed read
keeps the last good rates (or the contract's), says so once, and never reaches freqtrade.
"""

import logging

import pytest
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

from freqtrade_bingx.sim import Fault
from tests.configs import config_file, trade_config


PAIR = "BTC/USDT:USDT"
COMMISSION = "/openApi/swap/v2/user/commissionRate"
CONTRACT_TAKER, CONTRACT_MAKER = 0.0005, 0.0002  # the fake contracts' takerFeeRate / maker
LOGGER = "freqtrade_bingx.adapter.futures_data"


@pytest.fixture
def dry_run(fake_bingx, tmp_path, mocker):
    """A dry-run futures bot's exchange as ``freqtrade trade`` builds it (validate=True)."""
    mocker.patch("freqtrade.exchange.common.time.sleep")
    built = []

    def build(**exchange):
        path = config_file(fake_bingx, tmp_path, top={"dry_run": True}, **exchange)
        config = trade_config(path)
        config["runmode"] = RunMode.DRY_RUN
        built.append(ExchangeResolver.load_exchange(config, validate=True))
        return built[-1]

    yield build
    for exchange in built:
        exchange.close()


def _reads(server) -> list:
    return [r for r in server.requests if r.path == COMMISSION]


def _fees(exchange) -> tuple[float, float, float]:
    return (
        exchange.get_fee(PAIR),  # freqtrade's default: maker
        exchange.get_fee(PAIR, taker_or_maker="taker"),
        exchange.get_fee(PAIR, order_type="market"),  # a market order pays the taker rate
    )


def test_with_a_key_estimates_and_dry_run_fills_use_the_account_s_rates(fake_bingx, dry_run):
    account = fake_bingx.account()
    account.taker_rate, account.maker_rate = 0.0003, -0.0001  # a VIP tier with a rebate
    fake_bingx.set_price("BTC-USDT", 60000.0)

    exchange = dry_run()

    assert _fees(exchange) == (-0.0001, 0.0003, 0.0003)
    order = exchange.create_order(
        pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=60000.0, leverage=3.0
    )
    assert order["fee"]["rate"] == 0.0003
    assert order["fee"]["cost"] == pytest.approx(order["cost"] * 0.0003)
    [read] = _reads(fake_bingx)
    assert read.api_key == "test-key" and read.code == 0
    # A dry-run bot places nothing at BingX.
    assert not [r for r in fake_bingx.requests if r.path.endswith("/trade/order")]

    # Without a key: freqtrade's figure, the contract's, and no read.
    fake_bingx.clear_requests()
    keyless = dry_run(api_key="", secret="")
    assert _fees(keyless) == (CONTRACT_MAKER, CONTRACT_TAKER, CONTRACT_TAKER)
    assert _reads(fake_bingx) == []


def test_the_fake_charges_live_fills_at_the_account_s_rate(fake_bingx, make_exchange):
    fake_bingx.account().taker_rate = 0.0003
    exchange = make_exchange()
    fake_bingx.set_price("BTC-USDT", 60000.0)
    exchange.create_order(
        pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=60000.0, leverage=3.0
    )
    [fill] = fake_bingx.fills()
    notional = float(fill["price"]) * float(fill["volume"])
    assert float(fill["commission"]) == pytest.approx(-notional * 0.0003, abs=1e-6)
    assert exchange.get_fee(PAIR, order_type="market") == 0.0003  # live: the same rate


def test_rates_are_read_again_with_the_markets(fake_bingx, dry_run, caplog):
    exchange = dry_run()
    assert _fees(exchange) == (CONTRACT_MAKER, CONTRACT_TAKER, CONTRACT_TAKER)

    fake_bingx.account().taker_rate = 0.00045  # the account moved up a VIP tier
    with caplog.at_level(logging.INFO, logger=LOGGER):
        exchange.reload_markets(True, load_leverage_tiers=False)

    assert _fees(exchange) == (CONTRACT_MAKER, 0.00045, 0.00045)
    assert len(_reads(fake_bingx)) == 2
    assert "BingX account fee rates: taker 0.0450%, maker 0.0200%" in caplog.text


BAD_READS = [
    pytest.param(Fault(path=COMMISSION, http_status=502), id="http-502"),
    pytest.param(Fault(path=COMMISSION, code=80020, msg="risk forbidden"), id="refused"),
    pytest.param(Fault(path=COMMISSION, code=100413, msg="Incorrect apiKey"), id="key-refused"),
    pytest.param(Fault(path=COMMISSION, body=b"<html>busy</html>"), id="not-json"),
    pytest.param(
        Fault(path=COMMISSION, body=b'{"code":0,"msg":"","data":{"commission":{}}}'),
        id="no-rates",
    ),
    pytest.param(
        Fault(
            path=COMMISSION,
            body=b'{"code":0,"msg":"","data":{"takerCommissionRate":"NaN",'
            b'"makerCommissionRate":0.0002}}',
        ),
        id="nan",
    ),
    pytest.param(
        Fault(
            path=COMMISSION,
            body=b'{"code":0,"msg":"","data":{"takerCommissionRate":0.5,'
            b'"makerCommissionRate":0.0002}}',
        ),
        id="implausible",
    ),
]


@pytest.mark.parametrize("fault", BAD_READS)
def test_a_bad_read_keeps_the_last_good_rates_and_says_so_once(fake_bingx, dry_run, caplog, fault):
    account = fake_bingx.account()
    account.taker_rate, account.maker_rate = 0.0004, 0.0001
    exchange = dry_run()
    assert _fees(exchange) == (0.0001, 0.0004, 0.0004)

    account.taker_rate = 0.0003
    fault.times = 2
    fake_bingx.inject(fault)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        exchange.reload_markets(True, load_leverage_tiers=False)  # nothing raised
        exchange.reload_markets(True, load_leverage_tiers=False)
    assert _fees(exchange) == (0.0001, 0.0004, 0.0004)
    warnings = [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        "BingX account fee rates not updated, keeping the last ones read (taker 0.0400%, "
        "maker 0.0100%): Could not read the account's fee rates"
    )
    assert "signature" not in warnings[0]

    exchange.reload_markets(True, load_leverage_tiers=False)  # BingX answers again
    assert _fees(exchange) == (0.0001, 0.0003, 0.0003)


def test_a_failed_first_read_leaves_the_contract_s_rates(fake_bingx, dry_run, caplog):
    fake_bingx.account().taker_rate = 0.0003
    fake_bingx.inject(Fault(path=COMMISSION, http_status=503))

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        exchange = dry_run()

    assert _fees(exchange) == (CONTRACT_MAKER, CONTRACT_TAKER, CONTRACT_TAKER)
    assert "BingX account fee rates not updated, using the contracts' fee rates" in caplog.text

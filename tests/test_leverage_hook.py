"""The leverage hook against the fake BingX over loopback: what is sent, and how often."""

import json
import logging
import math
import re

import pytest
from freqtrade.exceptions import InvalidOrderException, OperationalException

from freqtrade_bingx.sim import Fault
from freqtrade_bingx.state import shared_settings as shared
from tests.conftest import LEVERAGE_PATH, MARGIN_PATH, MODE_PATH


PAIR = "BTC/USDT:USDT"


def sent(server, path, method="POST"):
    return [r.params for r in server.requests if r.path == path and r.method == method]


def test_startup_reads_the_position_mode_once(fake_bingx, make_exchange):
    exchange = make_exchange()
    assert fake_bingx.count(MODE_PATH, "GET") == 1
    assert exchange.position_mode.value == "one_way"
    assert fake_bingx.count(MODE_PATH, "GET") == 1


def test_one_way_entry_sets_margin_type_and_both_side_leverage_once(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.clear_requests()

    exchange._lev_prep(PAIR, 3.0, "buy")

    assert sent(fake_bingx, MARGIN_PATH) == [
        {
            "symbol": "BTC-USDT",
            "marginType": "ISOLATED",
            **_signed(sent(fake_bingx, MARGIN_PATH)[0]),
        }
    ]
    assert [(p["symbol"], p["side"], p["leverage"]) for p in sent(fake_bingx, LEVERAGE_PATH)] == [
        ("BTC-USDT", "BOTH", "3")
    ]
    assert fake_bingx.account().leverage[("BTC-USDT", "LONG")] == 3
    assert fake_bingx.account().leverage[("BTC-USDT", "SHORT")] == 3
    assert fake_bingx.account().margin_type["BTC-USDT"] == "ISOLATED"

    # Steady state: the same entry again costs no request at all, on either side.
    fake_bingx.clear_requests()
    exchange._lev_prep(PAIR, 3.0, "buy")
    exchange._lev_prep(PAIR, 3.0, "sell")
    assert fake_bingx.requests == []


def _signed(params):
    # The parts of a signed request that are not the caller's parameters.
    return {k: params[k] for k in ("timestamp", "recvWindow") if k in params}


def test_margin_type_already_right_is_only_read(fake_bingx, make_exchange):
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    exchange = make_exchange()
    fake_bingx.clear_requests()
    exchange._lev_prep(PAIR, 2, "buy")
    assert fake_bingx.count(MARGIN_PATH, "GET") == 1
    assert fake_bingx.count(MARGIN_PATH, "POST") == 0


@pytest.mark.parametrize("order_side, expected", [("buy", "LONG"), ("sell", "SHORT")])
def test_hedge_mode_sets_the_side_of_the_entry_only(
    fake_bingx, make_exchange, order_side, expected
):
    fake_bingx.account().hedge_mode = True
    exchange = make_exchange()
    fake_bingx.clear_requests()
    other = "SHORT" if expected == "LONG" else "LONG"
    before_other = fake_bingx.account().leverage[("BTC-USDT", other)]

    exchange._lev_prep(PAIR, 7, order_side)

    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == [expected]
    assert fake_bingx.account().leverage[("BTC-USDT", expected)] == 7
    assert fake_bingx.account().leverage[("BTC-USDT", other)] == before_other


def test_hedge_mode_long_and_short_are_remembered_separately(fake_bingx, make_exchange):
    fake_bingx.account().hedge_mode = True
    exchange = make_exchange()
    fake_bingx.clear_requests()
    for side in ("buy", "sell", "buy", "sell"):
        exchange._lev_prep(PAIR, 4, side)
    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["LONG", "SHORT"]
    exchange._lev_prep(PAIR, 5, "sell")
    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["LONG", "SHORT", "SHORT"]


def test_stoploss_path_never_touches_leverage(fake_bingx, make_exchange, mocker):
    fake_bingx.account().hedge_mode = True
    exchange = make_exchange()
    exchange._lev_prep(PAIR, 3, "buy")  # the long entry
    fake_bingx.clear_requests()
    # What freqtrade's create_stoploss does for a long: _lev_prep with the exit side "sell".
    # The order itself is not this test's business.
    mocker.patch.object(exchange._api, "create_order", return_value={"id": "1", "info": {}})
    mocker.patch.object(exchange, "_get_stop_params", return_value={})
    exchange.create_stoploss(PAIR, 0.01, 50000.0, {"stoploss": "market"}, "sell", leverage=9)
    assert fake_bingx.count(LEVERAGE_PATH) == 0
    assert fake_bingx.account().leverage[("BTC-USDT", "SHORT")] != 9


@pytest.mark.parametrize(
    "requested, expected",
    [(3.0, 3), (3.99, 3), (1, 1), (1.5, 1), (125, 125), (200, 125), (125.7, 125)],
)
def test_leverage_is_floored_and_clamped_to_the_pair_max(
    fake_bingx, make_exchange, caplog, requested, expected
):
    exchange = make_exchange()
    fake_bingx.clear_requests()
    with caplog.at_level(logging.WARNING):
        exchange._lev_prep(PAIR, requested, "buy")
    assert [p["leverage"] for p in sent(fake_bingx, LEVERAGE_PATH)] == [str(expected)]
    changed = [r for r in caplog.records if "sent as" in r.getMessage()]
    assert bool(changed) == (expected != requested)


@pytest.mark.parametrize("bad", [0, 0.99, -3, math.nan, math.inf, -math.inf, None, "5", True])
def test_bad_leverage_is_refused_and_nothing_is_sent(fake_bingx, make_exchange, bad):
    exchange = make_exchange()
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    fake_bingx.clear_requests()
    with pytest.raises(InvalidOrderException, match="nothing was sent"):
        exchange._set_leverage(bad, PAIR, side="buy")
    assert fake_bingx.count(LEVERAGE_PATH) == 0


def test_unknown_pair_is_refused_and_nothing_is_sent(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.clear_requests()
    with pytest.raises(InvalidOrderException, match="not a BingX USDT-M perpetual"):
        exchange._lev_prep("NOPE/USDT:USDT", 3, "buy")
    assert fake_bingx.requests == []


def test_dry_run_calls_no_private_endpoint(fake_bingx, make_exchange):
    exchange = make_exchange(dry_run=True)
    exchange._lev_prep(PAIR, 3, "buy")
    exchange.set_margin_mode(PAIR, exchange.margin_mode)
    private = [r for r in fake_bingx.requests if r.api_key is not None]
    assert private == []


def test_user_flips_to_hedge_mode_mid_run(fake_bingx, make_exchange):
    exchange = make_exchange()
    exchange._lev_prep(PAIR, 3, "buy")
    fake_bingx.account().hedge_mode = True  # the user switched on bingx.com
    fake_bingx.clear_requests()

    exchange._lev_prep("ETH/USDT:USDT", 4, "sell")

    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["BOTH", "SHORT"]
    assert fake_bingx.count(MODE_PATH, "GET") == 1
    assert exchange.position_mode.value == "hedge"
    # What was confirmed in one-way mode is forgotten: BTC's LONG is sent again.
    fake_bingx.clear_requests()
    exchange._lev_prep(PAIR, 3, "buy")
    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["LONG"]


def test_side_refused_after_rereading_the_mode_stops_with_advice(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    fake_bingx.account().hedge_mode = True
    # BingX keeps refusing whatever side we pick (an account in an odd state).
    fake_bingx.inject(
        Fault(
            path=LEVERAGE_PATH,
            method="POST",
            code=109400,
            times=5,
            msg="In the One-way mode, the 'Side' field can only be set to BOTH.",
        )
    )
    fake_bingx.clear_requests()
    with pytest.raises(OperationalException, match="position_mode"):
        exchange._lev_prep(PAIR, 3, "buy")
    # Two different requests (BOTH, then LONG after re-reading), never the same one twice.
    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["BOTH", "LONG"]


def test_accept_fail_logs_a_permanent_error_instead_of_raising(fake_bingx, make_exchange, caplog):
    exchange = make_exchange()
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", code=80020, msg="risk forbidden"))
    fake_bingx.clear_requests()
    with caplog.at_level(logging.WARNING):
        exchange._lev_prep(PAIR, 3, "buy", accept_fail=True)
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1
    assert any("risk forbidden" in r.getMessage() for r in caplog.records)
    # Not remembered as set, and not sent again either: the refusal is answered locally.
    assert ("BTC-USDT", "BOTH") not in exchange.account_settings.leverage_confirmed
    with pytest.raises(InvalidOrderException, match="not sent again"):
        exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1


@pytest.mark.parametrize(
    "setting, start_hedge, switches",
    [
        ("hedge", False, True),
        ("one_way", True, True),
        ("hedge", True, False),
        ("auto", False, False),
    ],
)
def test_position_mode_setting_switches_an_empty_account(
    fake_bingx, make_exchange, setting, start_hedge, switches
):
    fake_bingx.account().hedge_mode = start_hedge
    exchange = make_exchange(exchange={"position_mode": setting})
    assert fake_bingx.count(MODE_PATH, "POST") == int(switches)
    expected_hedge = start_hedge if setting == "auto" else setting == "hedge"
    assert fake_bingx.account().hedge_mode is expected_hedge
    assert exchange.position_mode.value == ("hedge" if expected_hedge else "one_way")


def test_position_mode_setting_with_open_positions_fails_clearly(fake_bingx, make_exchange):
    fake_bingx.open_position("BTC-USDT", side="LONG", amount=0.01, price=60000.0)
    with pytest.raises(OperationalException, match="positions are open.*BTC-USDT"):
        make_exchange(exchange={"position_mode": "hedge"})
    assert fake_bingx.count(MODE_PATH, "POST") == 0


def test_bad_position_mode_setting_is_a_config_error(fake_bingx, make_exchange):
    with pytest.raises(OperationalException, match="position_mode must be one of"):
        make_exchange(exchange={"position_mode": "both"})


def test_ccxt_signed_requests_use_the_measured_clock_offset(fake_bingx, make_exchange):
    fake_bingx.clock_skew_ms = 30_000  # BingX 30 s ahead: far outside the 5 s recvWindow
    exchange = make_exchange()
    assert abs(exchange.bingx.offset_ms - 30_000) < 2_000
    balance = exchange._api.fetch_balance()  # a signed ccxt request
    assert "USDT" in balance
    timestamps = [int(r.params["timestamp"]) for r in fake_bingx.requests if "balance" in r.path]
    assert timestamps and abs(timestamps[-1] - fake_bingx.server_time_ms()) < 5_000


def test_clock_jump_mid_run_is_corrected_after_one_rejected_ccxt_request(fake_bingx, make_exchange):
    import ccxt

    exchange = make_exchange()
    exchange._api.fetch_balance()
    fake_bingx.clock_skew_ms = 30_000  # BingX's clock jumps 30 s ahead mid-run
    with pytest.raises(ccxt.ExchangeNotAvailable, match="80014"):
        exchange._api.fetch_balance()
    assert "USDT" in exchange._api.fetch_balance()  # re-synced before this request


@pytest.mark.parametrize("sync", [True, False])
def test_ccxt_errors_carry_no_signature(fake_bingx, make_exchange, sync):
    import ccxt

    exchange = make_exchange()
    # Nothing listens on port 1: every request fails with the signed URL in ccxt's message.
    for api in (exchange._api, exchange._api_async):
        api.urls["api"] = dict.fromkeys(api.urls["api"], "http://127.0.0.1:1/openApi")
    with pytest.raises(ccxt.NetworkError) as raised:
        if sync:
            exchange._api.fetch_balance()
        else:
            exchange.loop.run_until_complete(exchange._api_async.fetch_balance())
    message = str(raised.value)
    assert "signature=<redacted>" in message
    assert not re.search(r"[0-9a-f]{64}", message)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.parametrize(
    "body", [b'{"code":0,"msg":"","data":{"orderId"', b"<html>ok</html>", b'{"msg":"no code"}']
)
def test_a_garbled_200_reply_to_ccxt_is_an_error_not_an_empty_order(
    fake_bingx, make_exchange, body
):
    import ccxt

    exchange = make_exchange()
    fake_bingx.set_price("BTC-USDT", 60000.0)
    fake_bingx.inject(Fault(path="/openApi/swap/v2/trade/order", method="POST", body=body))
    with pytest.raises(ccxt.ExchangeNotAvailable, match="reply is not (JSON|a BingX envelope)"):
        exchange._api.create_order(PAIR, "market", "buy", 0.01, None, {"positionSide": "BOTH"})


# --- the account's maximum leverage (GET leverage) ------------------------------------------

XRP = "XRP/USDT:USDT"  # the fake lists 75x for XRP-USDT in its contracts; the account may use 100x
LOWER_BOUND_LOG = "a lower bound"


def maximum_text(n):
    # BingX's common error codes page: 101414 "The maximum leverage for the trading pair is *,
    # please reduce the leverage", met as "... is 5, please reduce the leverage".
    return f"The maximum leverage for the trading pair is {n}, please reduce the leverage"


def test_the_account_maximum_is_read_once_and_beats_the_contract_figure(fake_bingx, make_exchange):
    exchange = make_exchange()
    assert exchange.markets[XRP]["info"]["maxLongLeverage"] in (75, "75")
    fake_bingx.clear_requests()

    exchange._lev_prep(XRP, 90, "buy")
    exchange._lev_prep(XRP, 100, "buy")
    exchange._lev_prep(XRP, 150, "sell")  # above the account's maximum: held to 100

    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 1
    assert [p["leverage"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["90", "100"]
    assert fake_bingx.account().leverage[("XRP-USDT", "LONG")] == 100
    assert exchange.max_leverage_for_side(XRP, "BOTH") == 100


def test_an_account_already_at_the_target_gets_no_post(fake_bingx, make_exchange):
    fake_bingx.account().hedge_mode = True
    fake_bingx.account().leverage[("BTC-USDT", "SHORT")] = 9
    exchange = make_exchange()
    fake_bingx.clear_requests()

    exchange._lev_prep(PAIR, 9, "sell")  # the account's short side is at 9x already
    exchange._lev_prep(PAIR, 5, "buy")  # and its long side at the default 5x

    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 1
    assert sent(fake_bingx, LEVERAGE_PATH) == []


def test_a_lower_account_maximum_holds_the_leverage_before_anything_is_refused(
    fake_bingx, make_exchange, caplog
):
    # A restricted account: BingX's contract list says 125x for BTC, this account may use 20x.
    fake_bingx.account().max_leverage.update({("BTC-USDT", "LONG"): 20, ("BTC-USDT", "SHORT"): 20})
    exchange = make_exchange()
    fake_bingx.clear_requests()
    with caplog.at_level(logging.WARNING):
        exchange._lev_prep(PAIR, 50, "buy")
    assert [p["leverage"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["20"]
    assert "sent as 20x" in caplog.text
    assert [r.code for r in fake_bingx.requests if r.path == LEVERAGE_PATH] == [0, 0]


@pytest.mark.parametrize("hedge, side", [(False, "BOTH"), (True, "LONG")])
def test_101414_holds_to_the_maximum_it_names_and_sends_once_more(
    fake_bingx, make_exchange, hedge, side
):
    fake_bingx.account().hedge_mode = hedge
    exchange = make_exchange()
    exchange.fill_leverage_tiers()
    assert exchange.get_max_leverage(PAIR, 10) == 125.0  # reads the account's figure
    # BingX lowers the account's maximum after the plugin read it.
    fake_bingx.account().max_leverage.update({("BTC-USDT", "LONG"): 20, ("BTC-USDT", "SHORT"): 20})
    fake_bingx.clear_requests()

    exchange._lev_prep(PAIR, 50, "buy")

    replies = [
        (r.params["leverage"], r.code, r.msg)
        for r in fake_bingx.requests
        if r.path == LEVERAGE_PATH and r.method == "POST"
    ]
    assert replies == [("50", 101414, maximum_text(20)), ("20", 0, "")]
    assert {p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)} == {side}
    # Remembered: freqtrade's cap and the next entry use 20x, and nothing more is sent.
    assert exchange.get_max_leverage(PAIR, 10) == 20.0
    fake_bingx.clear_requests()
    exchange._lev_prep(PAIR, 50, "buy")
    assert fake_bingx.requests == []


@pytest.mark.parametrize("code", [101414, 80001])
def test_a_second_maximum_refusal_is_not_sent_a_third_time(fake_bingx, make_exchange, code):
    # 80001 carries the same text in BingX's error list; it must not be retried as temporary.
    exchange = make_exchange()
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    for n in (20, 10):
        fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", code=code, msg=maximum_text(n)))
    fake_bingx.clear_requests()

    with pytest.raises(InvalidOrderException, match="maximum leverage for the trading pair is 10"):
        exchange._lev_prep(PAIR, 50, "buy")

    assert [p["leverage"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["50", "20"]
    with pytest.raises(InvalidOrderException, match="not sent again"):
        exchange._lev_prep(PAIR, 50, "buy")
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 2


def test_get_max_leverage_reads_the_account_in_dry_run_with_a_key(fake_bingx, make_exchange):
    exchange = make_exchange(dry_run=True, exchange={"pair_whitelist": [XRP]})
    fake_bingx.clear_requests()
    exchange.reload_markets(True)  # markets and tiers, as freqtrade's start-up loads them
    # Read-only: the account's leverage is read with the tiers, once; nothing is set.
    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 1
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 0
    fake_bingx.clear_requests()

    assert exchange.get_max_leverage(XRP, 10) == 100.0
    assert exchange.get_max_leverage(XRP, 10) == 100.0
    assert fake_bingx.requests == []


def test_get_max_leverage_reads_a_pair_not_read_with_the_tiers_once(fake_bingx, make_exchange):
    exchange = make_exchange(dry_run=True, exchange={"pair_whitelist": [XRP]})
    exchange.reload_markets(True)
    exchange._leverage_tiers[PAIR] = exchange.tier_book.capped(PAIR, None)  # e.g. a dynamic list
    fake_bingx.clear_requests()

    assert exchange.get_max_leverage(PAIR, 10) == 125.0
    exchange.get_max_leverage(PAIR, 10)
    assert [(r.method, r.path, r.params["symbol"]) for r in fake_bingx.requests] == [
        ("GET", LEVERAGE_PATH, "BTC-USDT")
    ]


def test_without_a_key_the_contract_figure_is_used_and_called_a_lower_bound(
    fake_bingx, make_exchange, caplog
):
    exchange = make_exchange(
        dry_run=True, exchange={"key": "", "secret": "", "pair_whitelist": [XRP]}
    )
    with caplog.at_level(logging.WARNING):
        exchange.reload_markets(True)
        assert exchange.get_max_leverage(XRP, 10) == 75.0
        exchange.reload_markets(True)
    assert caplog.text.count(LOWER_BOUND_LOG) == 1
    assert [r for r in fake_bingx.requests if r.api_key is not None] == []


def test_a_failing_read_leaves_freqtrade_the_tiers_it_has(fake_bingx, make_exchange, caplog):
    exchange = make_exchange(dry_run=True, exchange={"pair_whitelist": [XRP]})
    # BingX fails the read that comes with the tiers and the one at the first entry.
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="GET", http_status=503, times=2))
    with caplog.at_level(logging.WARNING):
        exchange.reload_markets(True)
        assert exchange.get_max_leverage(XRP, 10) == 75.0  # the tiers, capped by the list
    assert caplog.text.count("Could not read the account's maximum leverage") == 2
    assert exchange.get_max_leverage(XRP, 10) == 100.0  # read at the next entry
    assert exchange.get_max_leverage(XRP, 10) == 100.0
    assert fake_bingx.count(LEVERAGE_PATH, "GET") == 3


# --- 109400 although the side was right ------------------------------------------------------

# Seen live in reply to side=BOTH on a one-way account (github.com/ccxt/ccxt/issues/22237).
ONE_WAY_REFUSAL = "In the One-way mode, the 'PositionSide' field can only be set to BOTH."


@pytest.mark.parametrize("accept_fail", [False, True])
def test_side_refused_although_right_skips_the_pair_and_keeps_the_bot(
    fake_bingx, make_exchange, caplog, accept_fail
):
    exchange = make_exchange()
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", code=109400, msg=ONE_WAY_REFUSAL))
    fake_bingx.clear_requests()

    with caplog.at_level(logging.WARNING):
        if accept_fail:
            exchange._lev_prep(PAIR, 3, "buy", accept_fail=True)
            assert ONE_WAY_REFUSAL in caplog.text
        else:
            with pytest.raises(InvalidOrderException, match="BOTH") as raised:
                exchange._lev_prep(PAIR, 3, "buy")
            assert not isinstance(raised.value, OperationalException)

    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["BOTH"]
    assert fake_bingx.count(MODE_PATH, "GET") == 1  # re-read: still one-way
    # Remembered like any refusal: not sent again for a while, other pairs go on.
    with pytest.raises(InvalidOrderException, match="not sent again"):
        exchange._lev_prep(PAIR, 3, "buy")
    exchange._lev_prep("ETH/USDT:USDT", 3, "buy")
    assert [p["symbol"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["BTC-USDT", "ETH-USDT"]


def test_side_refusal_is_forgotten_when_the_mode_changes(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", code=109400, msg=ONE_WAY_REFUSAL))
    with pytest.raises(InvalidOrderException):
        exchange._lev_prep(PAIR, 3, "buy")
    fake_bingx.account().hedge_mode = True
    exchange.refresh_position_mode()
    fake_bingx.clear_requests()
    exchange._lev_prep(PAIR, 3, "buy")
    assert [p["side"] for p in sent(fake_bingx, LEVERAGE_PATH)] == ["LONG"]


# --- margin type SEPARATE_ISOLATED -----------------------------------------------------------


@pytest.mark.parametrize("margin_mode, target", [("isolated", "ISOLATED"), ("cross", "CROSSED")])
def test_separate_isolated_is_switched_to_the_configured_type(
    fake_bingx, make_exchange, margin_mode, target
):
    fake_bingx.account().margin_type["BTC-USDT"] = "SEPARATE_ISOLATED"
    exchange = make_exchange(margin_mode=margin_mode)
    fake_bingx.clear_requests()
    exchange._lev_prep(PAIR, 3, "buy")
    assert [p["marginType"] for p in sent(fake_bingx, MARGIN_PATH)] == [target]
    assert fake_bingx.account().margin_type["BTC-USDT"] == target


def test_separate_isolated_with_open_positions_refuses_the_pair_with_advice(
    fake_bingx, make_exchange
):
    fake_bingx.account().margin_type["BTC-USDT"] = "SEPARATE_ISOLATED"
    fake_bingx.open_position("BTC-USDT", side="LONG", amount=0.01, price=60000.0)
    exchange = make_exchange()
    fake_bingx.clear_requests()
    with pytest.raises(InvalidOrderException, match="separated isolated.*positionId"):
        exchange._lev_prep(PAIR, 3, "buy")
    with pytest.raises(InvalidOrderException, match="not sent again"):
        exchange._lev_prep(PAIR, 3, "buy")
    assert fake_bingx.count(MARGIN_PATH, "POST") == 1
    assert fake_bingx.count(LEVERAGE_PATH) == 0


@pytest.mark.parametrize("hedge", [False, True], ids=["one_way", "hedge"])
def test_a_leverage_bingx_confirms_other_than_asked_refuses_the_entry(
    fake_bingx, make_exchange, hedge
):
    fake_bingx.account().hedge_mode = hedge
    side = "LONG" if hedge else "BOTH"
    exchange = make_exchange()
    exchange._lev_prep(PAIR, 2.0, "buy")  # the pair's margin type and a first leverage
    fake_bingx.clear_requests()
    # TEST-ONLY REPLY: no BingX page or quoted live reply shows BingX confirming a leverage
    # other than the one asked; the fake answers so only when a test injects it.
    other = {"code": 0, "msg": "", "data": {"leverage": 5, "symbol": "BTC-USDT"}}
    fake_bingx.inject(Fault(LEVERAGE_PATH, method="POST", body=json.dumps(other).encode()))

    def enter():
        return exchange.create_order(
            pair=PAIR, ordertype="market", side="buy", amount=0.01, rate=60000.0, leverage=3.0
        )

    with pytest.raises(InvalidOrderException, match=r"confirmed leverage 5x .* asked for 3x"):
        enter()  # freqtrade's create_order: the entry is skipped, the bot goes on
    assert sent(fake_bingx, "/openApi/swap/v2/trade/order") == []
    # Neither remembered by this bot nor shared as confirmed with the other bots.
    assert ("BTC-USDT", side) not in exchange.account_settings.leverage_confirmed
    assert exchange.link.shared.read(shared.LEVERAGE, "BTC-USDT", side).value is None
    # Held as a refusal: the next entry at 3x is refused without a request.
    with pytest.raises(InvalidOrderException, match="not sent again"):
        enter()
    assert len(sent(fake_bingx, LEVERAGE_PATH)) == 1


@pytest.mark.parametrize("hedge", [False, True], ids=["one_way", "hedge"])
def test_an_order_adding_to_a_trade_is_not_placed_at_a_leverage_bingx_did_not_confirm(
    fake_bingx, make_exchange, hedge
):
    # freqtrade accepts a failed leverage change for an order that adds to an open trade
    # (create_order(..., initial_order=False) -> _lev_prep(accept_fail=True)); a leverage BingX
    # confirmed other than asked is not such a failure: the order is not placed.
    fake_bingx.account().hedge_mode = hedge
    exchange = make_exchange()
    exchange._lev_prep(PAIR, 2.0, "buy")
    fake_bingx.clear_requests()
    # TEST-ONLY REPLY, as in the test above: no BingX page shows this answer.
    other = {"code": 0, "msg": "", "data": {"leverage": 5, "symbol": "BTC-USDT"}}
    fake_bingx.inject(Fault(LEVERAGE_PATH, method="POST", body=json.dumps(other).encode()))

    def add_to_trade():
        return exchange.create_order(
            pair=PAIR,
            ordertype="market",
            side="buy",
            amount=0.01,
            rate=60000.0,
            leverage=3.0,
            initial_order=False,
        )

    with pytest.raises(InvalidOrderException, match=r"confirmed leverage 5x .* asked for 3x"):
        add_to_trade()
    with pytest.raises(InvalidOrderException, match="not sent again"):
        add_to_trade()  # the refusal held is not accepted either
    assert sent(fake_bingx, "/openApi/swap/v2/trade/order") == []

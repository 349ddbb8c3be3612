"""``freqtrade-bingx preflight`` against the fake BingX, with the shipped live config.

Every test also checks that nothing which changes the account reached the exchange: only
reads and BingX's test-order endpoint.
"""

from pathlib import Path

import pytest

from freqtrade_bingx.sim import Fault
from freqtrade_bingx.sim.accounts import DEFAULT_LEVERAGE, DEFAULT_MARGIN_TYPE
from freqtrade_bingx.sim.server import (
    API_PERMISSIONS_PATH,
    DUAL_PATH,
    ORDER_PATH,
    ORDER_TEST_PATH,
)
from freqtrade_bingx.tools import cli
from freqtrade_bingx.tools import preflight as checks
from tests.configs import API_KEY, API_SECRET, config_file
from tests.conftest import run_console_script


ROOT = Path(__file__).resolve().parent.parent
IP_MESSAGE = (
    "IP does not match IP whitelist , please go to https://bingx.com/en/account/api/ to verify "
    "the ip you have set"
)
# A strategy asking for more than SOL-USDT's 50x on the fake exchange, long only.
GREEDY_STRATEGY = """
from freqtrade.strategy import IStrategy


class GreedyLeverage(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    stoploss = -0.2
    can_short = False
    order_types = {"entry": "market", "exit": "market", "stoploss": "market",
                   "stoploss_on_exchange": True}

    def populate_indicators(self, dataframe, metadata):
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):
        return dataframe

    def leverage(self, pair, current_time, current_rate, proposed_leverage, max_leverage,
                 entry_tag, side, **kwargs):
        return 80.0
"""


def preflight(capsys, fake, config: Path, *args: str) -> tuple[int, dict[str, str], list[str]]:
    """Exit code, {check name: status} and the output lines; asserts nothing was changed."""
    before = account_state(fake)
    code = cli.main(["-c", str(config), "preflight", *args])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("VERDICT: ")
    statuses = {}
    for line in lines[1:-1]:
        status, _, rest = line.partition("  ")
        statuses[rest.partition(": ")[0]] = status
    assert_nothing_changed(fake, before)
    return code, statuses, lines


def account_state(fake) -> tuple:
    account = fake.account()
    with account.lock:
        return (
            account.hedge_mode,
            # Default dicts: a read fills in the default, which is no change.
            {k: v for k, v in account.leverage.items() if v != DEFAULT_LEVERAGE},
            {k: v for k, v in account.margin_type.items() if v != DEFAULT_MARGIN_TYPE},
            # Mark-price fields of a position move on their own; what it holds must not.
            sorted(
                (p["symbol"], p["positionSide"], p["positionAmt"], p["avgPrice"], p["leverage"])
                for p in account.positions
            ),
            len(account.orders),
            account.balance,
        )


def assert_nothing_changed(fake, before: tuple) -> None:
    changing = [
        (r.method, r.path)
        for r in fake.requests
        if r.method != "GET" and (r.method, r.path) != ("POST", ORDER_TEST_PATH)
    ]
    assert changing == []
    assert account_state(fake) == before


@pytest.mark.parametrize("hedge", [False, True])
def test_all_checks_pass_in_one_way_and_hedge_mode(fake_bingx, tmp_path, capsys, hedge):
    fake_bingx.account().hedge_mode = hedge
    config = config_file(fake_bingx, tmp_path, position_mode="hedge" if hedge else "one_way")
    code, statuses, lines = preflight(
        capsys,
        fake_bingx,
        config,
        "--strategy",
        "BingxFixedLeverage",
        "--strategy-path",
        "strategies",
    )
    assert code == 0, "\n".join(lines)
    assert set(statuses.values()) == {"PASS"}, "\n".join(lines)
    assert lines[-1] == "VERDICT: PASS: the account fits the config"
    names = set(statuses)
    pairs = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
    assert {"API key", "IP whitelist", "clock", "position mode", "margin type"} <= names
    assert "shared state" in names  # PASS above: the bots on this machine share the file
    assert {f"orders {p} {s}" for p in pairs for s in ("long", "short")} <= names
    assert "long 3x of at most 125x, short 3x of at most 125x" in "\n".join(lines)
    tests = [r.params for r in fake_bingx.requests if r.path == ORDER_TEST_PATH]
    # Entries on every pair and side; exit and stop once per side.
    assert len(tests) == 6 + 2 * 2
    sides = {p["positionSide"] for p in tests}
    assert sides == ({"LONG", "SHORT"} if hedge else {"BOTH"})
    # BingX refuses reduceOnly in hedge mode; one-way exits and stops carry it.
    assert any("reduceOnly" in p for p in tests) is not hedge
    assert {p["type"] for p in tests} == {"LIMIT", "STOP_MARKET"}


def test_exit_and_stop_test_orders_are_accepted_with_a_position_open(fake_bingx, tmp_path, capsys):
    fake_bingx.account().margin_type["BTC-USDT"] = "ISOLATED"
    fake_bingx.open_position("BTC-USDT", "LONG", 0.01)
    code, _statuses, lines = preflight(
        capsys, fake_bingx, config_file(fake_bingx, tmp_path), "--leverage", "2"
    )
    assert code == 0, "\n".join(lines)
    btc_long = next(line for line in lines if "orders BTC/USDT:USDT long" in line)
    assert btc_long.count(": accepted") == 3 and "nothing to close" not in btc_long


# Parameters that differ between two orders of the same kind: prices, sizes and the signature.
PER_ORDER = {"quantity", "stopPrice", "price", "timestamp", "recvWindow", "signature"}


@pytest.mark.parametrize("hedge", [False, True], ids=["one_way", "hedge"])
def test_the_test_stop_is_the_stop_the_bot_sends(fake_bingx, tmp_path, capsys, hedge):
    # The strategy's order types name no stoploss_price_type: the bot's stop still says
    # MARK_PRICE, and so must the stop preflight tests.
    fake_bingx.account().hedge_mode = hedge
    config = config_file(fake_bingx, tmp_path)
    strategy = ("--strategy", "BingxFixedLeverage", "--strategy-path", "strategies")
    code, _statuses, lines = preflight(capsys, fake_bingx, config, *strategy)
    assert code == 0, "\n".join(lines)
    tested = [
        r.params
        for r in fake_bingx.requests
        if r.path == ORDER_TEST_PATH and r.params["type"] == "STOP_MARKET"
    ]
    tested_long = next(p for p in tested if p["side"] == "SELL")

    # The bot: freqtrade's create_stoploss with the strategy's order types, on a long.
    exchange = cli.load_exchange([str(config)])
    try:
        intent = checks.strategy_intent(
            {**exchange._config, "strategy": "BingxFixedLeverage", "strategy_path": "strategies"}
        )
        assert "stoploss_price_type" not in intent.order_types
        fake_bingx.open_position("BTC-USDT", "LONG", 0.01)
        fake_bingx.clear_requests()
        exchange.create_stoploss(
            pair="BTC/USDT:USDT",
            amount=0.01,
            stop_price=57000.0,
            order_types=intent.order_types,
            side="sell",
            leverage=3.0,
        )
    finally:
        exchange.close()
    [sent] = [r.params for r in fake_bingx.requests if r.path == ORDER_PATH and r.method == "POST"]
    assert sent["workingType"] == "MARK_PRICE"
    assert {k: v for k, v in tested_long.items() if k not in PER_ORDER} == {
        k: v for k, v in sent.items() if k not in PER_ORDER
    }


def test_bad_api_key_fails_at_once(fake_bingx, tmp_path, capsys):
    config = config_file(fake_bingx, tmp_path, api_key="not-a-key")
    code, statuses, lines = preflight(capsys, fake_bingx, config)
    assert code == 1
    assert statuses["API key"] == "FAIL" and "100413" in "\n".join(lines)
    assert {s for name, s in statuses.items() if name != "API key"} == {"SKIP"}
    assert lines[-1].startswith("VERDICT: FAIL")
    # Nothing was sent after the refusal: not even ccxt's market load.
    assert [r.path for r in fake_bingx.requests if r.code not in (0, None)] == [
        API_PERMISSIONS_PATH
    ]
    assert API_SECRET not in "\n".join(lines)


def test_ip_not_on_the_whitelist(fake_bingx, tmp_path, capsys):
    fake_bingx.inject(Fault(API_PERMISSIONS_PATH, code=100419, msg=IP_MESSAGE))
    code, statuses, lines = preflight(capsys, fake_bingx, config_file(fake_bingx, tmp_path))
    assert code == 1
    assert statuses["IP whitelist"] == "FAIL" and "add this machine's public IP" in "\n".join(lines)
    assert fake_bingx.count(ORDER_TEST_PATH) == 0 and fake_bingx.count(DUAL_PATH) == 0


@pytest.mark.parametrize(
    "skew_ms, status, code", [(10_000, "FAIL", 1), (-2_500, "WARN", 0), (300, "PASS", 0)]
)
def test_clock_offset_against_recv_window(fake_bingx, tmp_path, capsys, skew_ms, status, code):
    fake_bingx.clock_skew_ms = skew_ms
    exit_code, statuses, lines = preflight(capsys, fake_bingx, config_file(fake_bingx, tmp_path))
    assert exit_code == code, "\n".join(lines)
    assert statuses["clock"] == status
    # The plugin stamps its requests with BingX's clock: everything else still passes.
    assert {s for name, s in statuses.items() if name != "clock"} == {"PASS"}, "\n".join(lines)


@pytest.mark.parametrize("position_open, status, code", [(True, "FAIL", 1), (False, "WARN", 0)])
def test_position_mode_other_than_the_config_asks(
    fake_bingx, tmp_path, capsys, position_open, status, code
):
    if position_open:
        fake_bingx.open_position("ETH-USDT", "SHORT", 0.5)
    config = config_file(fake_bingx, tmp_path, position_mode="hedge")
    exit_code, statuses, lines = preflight(capsys, fake_bingx, config)
    assert exit_code == code, "\n".join(lines)
    assert statuses["position mode"] == status
    line = next(line for line in lines if "position mode:" in line)
    assert "one_way" in line and "hedge" in line
    assert not fake_bingx.account().hedge_mode  # never switched


def test_margin_type_that_cannot_change_under_a_position(fake_bingx, tmp_path, capsys):
    fake_bingx.open_position("SOL-USDT", "LONG", 1.0)  # CROSSED, config asks isolated
    code, statuses, lines = preflight(capsys, fake_bingx, config_file(fake_bingx, tmp_path))
    assert code == 1 and statuses["margin type"] == "FAIL"
    assert "SOL-USDT (CROSSED)" in next(line for line in lines if "margin type:" in line)


def test_leverage_above_the_accounts_maximum(fake_bingx, tmp_path, capsys):
    code, statuses, lines = preflight(
        capsys, fake_bingx, config_file(fake_bingx, tmp_path), "--leverage", "60"
    )
    assert code == 1
    assert statuses["leverage SOL/USDT:USDT"] == "FAIL"  # 50x at most
    assert statuses["leverage BTC/USDT:USDT"] == statuses["leverage ETH/USDT:USDT"] == "PASS"
    assert "asks 60x, the account allows at most 50x" in "\n".join(lines)


def test_a_strategys_leverage_callback_is_asked(fake_bingx, tmp_path, capsys):
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "greedy.py").write_text(GREEDY_STRATEGY)
    args = ("--strategy", "GreedyLeverage", "--strategy-path", str(strategies))
    code, statuses, _lines = preflight(capsys, fake_bingx, config_file(fake_bingx, tmp_path), *args)
    assert code == 1
    assert statuses["leverage SOL/USDT:USDT"] == "FAIL"
    assert statuses["leverage ETH/USDT:USDT"] == "PASS"  # 80x of 100x
    # can_short is False: only the long side is checked and tested.
    assert not any(name.endswith(" short") for name in statuses)
    tests = [r.params for r in fake_bingx.requests if r.path == ORDER_TEST_PATH]
    assert {p["side"] for p in tests if p["type"] == "MARKET"} == {"BUY", "SELL"}
    assert all(p["side"] == "SELL" for p in tests if p["type"] == "STOP_MARKET")


def test_a_refused_test_order_fails_and_no_more_are_sent(fake_bingx, tmp_path, capsys):
    fake_bingx.inject(Fault(ORDER_TEST_PATH, method="POST", code=80020, msg="risk forbidden"))
    code, statuses, lines = preflight(capsys, fake_bingx, config_file(fake_bingx, tmp_path))
    assert code == 1
    assert statuses["orders BTC/USDT:USDT long"] == "FAIL"
    assert "risk forbidden" in "\n".join(lines)
    later = [name for name in statuses if name.startswith("orders ")][1:]
    assert later and all(statuses[name] == "SKIP" for name in later)
    assert fake_bingx.count(ORDER_TEST_PATH) == 1


@pytest.mark.parametrize(
    "permissions, whitelist, check, status",
    [
        ([2], ["127.0.0.1"], "API key", "FAIL"),  # read only
        ([2, 3, 5], ["127.0.0.1"], "API key", "WARN"),  # may withdraw
        ([2, 3], [], "IP whitelist", "WARN"),  # bound to no IP
    ],
)
def test_key_permissions_and_whitelist(
    fake_bingx, tmp_path, capsys, permissions, whitelist, check, status
):
    account = fake_bingx.account()
    account.permissions, account.ip_whitelist = permissions, whitelist
    code, statuses, lines = preflight(capsys, fake_bingx, config_file(fake_bingx, tmp_path))
    assert statuses[check] == status, "\n".join(lines)
    assert code == (1 if status == "FAIL" else 0)


def test_console_script_exits_non_zero_on_a_failed_check(fake_bingx, tmp_path):
    config = config_file(fake_bingx, tmp_path)
    before = account_state(fake_bingx)
    result = run_console_script("-c", str(config), "preflight", "--leverage", "200")
    assert result.returncode == 1, result.stderr
    assert "FAIL  leverage BTC/USDT:USDT" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("VERDICT: FAIL")
    assert_nothing_changed(fake_bingx, before)


def test_preflight_of_a_demo_config_talks_to_the_demo_host(fake_bingx, tmp_path, capsys):
    from freqtrade_bingx.sim import FakeBingx

    with FakeBingx(accounts={API_KEY: API_SECRET}) as live:
        config = config_file(live, tmp_path, shipped="demo.json", demo=fake_bingx)
        code, statuses, lines = preflight(capsys, fake_bingx, config, "--leverage", "2")
        assert live.requests == []
    assert code == 0 and set(statuses.values()) == {"PASS"}, "\n".join(lines)
    assert fake_bingx.base_url in lines[0]
    assert fake_bingx.count(ORDER_TEST_PATH, "POST") == 6 + 2 * 2


def test_a_state_file_that_cannot_be_used_is_a_warning(fake_bingx, tmp_path, capsys):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    config = config_file(fake_bingx, tmp_path, account_state_dir=str(not_a_folder / "state"))

    code, statuses, lines = preflight(capsys, fake_bingx, config)

    assert code == 0, "\n".join(lines)
    assert statuses["shared state"] == "WARN"
    assert [s for name, s in statuses.items() if name != "shared state"] == ["PASS"] * (
        len(statuses) - 1
    )
    assert lines[-1].startswith("VERDICT: PASS with 1 warning")


def test_the_state_file_is_named_as_it_is_on_disk(fake_bingx, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = config_file(fake_bingx, tmp_path, account_state_dir="~/bingx-state")
    monkeypatch.chdir(tmp_path)

    code, statuses, lines = preflight(capsys, fake_bingx, config)

    assert code == 0, "\n".join(lines)
    assert statuses["shared state"] == "PASS"
    said = next(line for line in lines if "shared state: " in line)
    assert f"shared state: {tmp_path}/home/bingx-state/account-" in said
    assert not (tmp_path / "~").exists()

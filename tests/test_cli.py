"""``freqtrade-bingx`` against the fake BingX, with the shipped config family."""

import json
import os
from pathlib import Path

import pytest

from freqtrade_bingx.sim import Fault
from freqtrade_bingx.tools import cli
from tests import configs
from tests.configs import API_SECRET, CONFIGS
from tests.conftest import LEVERAGE_PATH, run_console_script


@pytest.fixture
def config_file(fake_bingx, tmp_path):
    """configs/live.json (which pulls in base.json) pointed at the fake exchange."""
    return configs.config_file(fake_bingx, tmp_path)


def test_status_lists_mode_margin_and_leverage_per_pair(fake_bingx, config_file, capsys):
    account = fake_bingx.account()
    account.hedge_mode = True
    account.leverage[("ETH-USDT", "SHORT")] = 7
    account.margin_type["SOL-USDT"] = "ISOLATED"

    assert cli.main(["-c", str(config_file), "status"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "position mode hedge" in out[0]
    state_dir = Path(os.environ["XDG_CACHE_HOME"], "freqtrade-bingx")  # the suite's cache
    assert out[1].startswith(f"shared with other bots on this machine: {state_dir}/account-")
    # configs/base.json names no stoploss_price_type: BingX's mark price, said as the default.
    assert out[2].startswith("stoploss trigger price: mark (MARK_PRICE, default;")
    rows = {line.split()[0]: line.split()[1:] for line in out[4:]}
    # The last column is BingX's funding interval, here from its funding-rate history.
    assert rows["ETH/USDT:USDT"] == ["ETH-USDT", "CROSSED", "5x", "7x", "100x", "8h"]
    assert rows["SOL/USDT:USDT"] == ["SOL-USDT", "ISOLATED", "5x", "5x", "50x", "8h"]
    assert set(rows) == {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"}
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 0


def test_status_says_when_the_state_file_cannot_be_shared(config_file, tmp_path, capsys):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    config = json.loads(config_file.read_text())
    config["exchange"]["account_state_dir"] = str(not_a_folder / "state")
    path = tmp_path / "unshared.json"
    path.write_text(json.dumps(config))

    assert cli.main(["-c", str(path), "status"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "shared with other bots on this machine: no (the state file cannot be used, see the log)"
    )


def test_a_state_folder_under_home_is_one_folder_from_any_working_folder(
    config_file, tmp_path, capsys, monkeypatch
):
    home, first, second = tmp_path / "home", tmp_path / "bot-1", tmp_path / "bot-2"
    for folder in (home, first, second):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("BOT_STATE", str(home / "env"))
    shared = []
    for cwd, state_dir in ((first, "~/x"), (second, "~/x"), (first, "$BOT_STATE/../x")):
        config = json.loads(config_file.read_text())
        config["exchange"]["account_state_dir"] = state_dir
        path = cwd / "config.json"
        path.write_text(json.dumps(config))
        monkeypatch.chdir(cwd)

        assert cli.main(["-c", str(path), "status"]) == 0

        shared.append(capsys.readouterr().out.splitlines()[1])
    # Two bots started from two folders share one file, named as it is on disk.
    assert shared == [shared[0]] * 3
    assert shared[0].startswith(f"shared with other bots on this machine: {home}/x/account-")
    assert [p.name for p in (home / "x").iterdir() if p.suffix == ".sqlite"] != []
    assert not any(p.name in ("~", "$BOT_STATE") for cwd in (first, second) for p in cwd.iterdir())


@pytest.mark.parametrize(
    "hedge, side, expected_sides",
    [
        (False, "both", ["BOTH"]),
        (False, "long", ["BOTH"]),
        (True, "both", ["LONG", "SHORT"]),
        (True, "long", ["LONG"]),
        (True, "short", ["SHORT"]),
    ],
)
def test_set_leverage_per_side(fake_bingx, config_file, capsys, hedge, side, expected_sides):
    fake_bingx.account().hedge_mode = hedge
    assert (
        cli.main(["-c", str(config_file), "set-leverage", "SOL/USDT:USDT", "8.7", "--side", side])
        == 0
    )
    sent = [r.params for r in fake_bingx.requests if r.path == LEVERAGE_PATH and r.method == "POST"]
    assert [(p["side"], p["leverage"]) for p in sent] == [(s, "8") for s in expected_sides]
    out = capsys.readouterr().out
    for s in expected_sides:
        assert f"SOL/USDT:USDT {s}: leverage 8x" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["set-leverage", "DOGE/USDT:USDT", "3"], "not a BingX USDT-M perpetual"),
        (["set-leverage", "BTC/USDT:USDT", "0"], "finite number >= 1"),
        (["set-leverage", "BTC/USDT:USDT", "nan"], "finite number >= 1"),
    ],
)
def test_errors_are_one_clear_line_and_a_non_zero_exit(
    fake_bingx, config_file, capsys, args, message
):
    assert cli.main(["-c", str(config_file), *args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 0


def test_bad_api_key_says_what_to_fix(fake_bingx, config_file, capsys, tmp_path):
    wrong = tmp_path / "wrong-key.json"
    wrong.write_text(json.dumps({"exchange": {"api_key": "not-a-key"}}))
    assert cli.main(["-c", str(config_file), "-c", str(wrong), "status"]) == 1
    err = capsys.readouterr().err
    assert "100413" in err and "exchange.api_key" in err and API_SECRET not in err


FUNDING_RATE_PATH = "/openApi/swap/v2/quote/fundingRate"


@pytest.mark.parametrize(
    "source, expected, history_reads",
    [
        # Newer BingX replies name the interval in the premium index: no history is read.
        ("premium index", "8h", 0),
        # BingX's page lists no interval there: the spacing of the latest settlements tells it.
        ("history", "8h", 3),
        # A history that cannot tell (one settlement) leaves it unknown, not guessed.
        ("nothing", "unknown", 3),
    ],
)
def test_status_funding_interval_from_what_bingx_sends(
    fake_bingx, config_file, capsys, source, expected, history_reads
):
    fake_bingx.premium_index_interval = source == "premium index"
    if source == "nothing":
        one_row = b'{"code":0,"msg":"","data":[{"symbol":"BTC-USDT","fundingRate":"0.0001",'
        one_row += b'"fundingTime":1700006400000}]}'
        fake_bingx.inject(Fault(FUNDING_RATE_PATH, body=one_row, times=3))

    assert cli.main(["-c", str(config_file), "status"]) == 0

    rows = [line.split() for line in capsys.readouterr().out.splitlines()[4:]]
    assert [row[-1] for row in rows] == [expected] * 3
    assert fake_bingx.count(FUNDING_RATE_PATH, "GET") == history_reads


def test_console_script_is_installed_and_runs(fake_bingx, config_file):
    result = run_console_script("-c", str(config_file), "status")
    assert result.returncode == 0, result.stderr
    assert "position mode one_way" in result.stdout


def test_the_main_jobs_local_account_keeps_its_state_in_the_work_folder(tmp_path, capsys):
    from freqtrade_bingx.sim import FakeBingx
    from freqtrade_bingx.tools import demo

    (tmp_path / "user_data").mkdir()
    with FakeBingx(accounts={demo.DEMO_KEY: demo.DEMO_SECRET}) as server:
        config = demo._write_config(tmp_path, CONFIGS, server)
        assert cli.main(["-c", str(config), "status"]) == 0

    shared = capsys.readouterr().out.splitlines()[1]
    assert shared.startswith(f"shared with other bots on this machine: {tmp_path}/account-state/")

"""The plugin's settings are checked at start-up, in every mode, before anything is sent."""

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import ConfigurationError, OperationalException
from freqtrade.resolvers import ExchangeResolver

from freqtrade_bingx import cli, settings
from freqtrade_bingx.rehearse import freqtrade_executable
from tests.conftest import API_KEY, API_SECRET, futures_config, live_config_file


ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"

BAD = [
    ("recv_window", -5),
    ("recv_window", 0),
    ("recv_window", 2.5),
    ("recv_window", None),
    ("recv_window", 10**9),
    ("recv_window", 60_001),
    ("recv_window", "5000"),
    ("recv_window", True),
    ("leverage_rate_limit", 0),
    ("leverage_rate_limit", -1),
    ("leverage_rate_limit", 1e9),
    ("leverage_rate_limit", 1e-9),
    ("leverage_rate_limit", "inf"),
    ("leverage_rate_limit", float("inf")),
    ("leverage_rate_limit", float("nan")),
    ("leverage_rate_limit", None),
    ("leverage_rate_limit", True),
    ("position_mode", "both"),
    ("position_mode", "Hedge"),
    ("position_mode", None),
    ("position_mode", ""),
    ("position_mode", ["hedge"]),
    ("leverage_check", "read"),
    ("leverage_check", None),
    ("account_state_dir", ""),
    ("account_state_dir", 5),
    ("account_state_dir", "$FREQTRADE_BINGX_UNSET_FOLDER/state"),  # would be a folder "$..."
    ("account_state_dir", "~no-such-user-here/state"),
    ("account_state_name", ""),
    ("account_state_name", 7),
    ("account_state_name", "main\n"),
]
BAD_CREDENTIALS = [
    ("key", API_KEY + "\n"),
    ("key", " " + API_KEY),
    ("key", "test key"),
    ("key", 12345),
    ("api_key", API_KEY + "\r\n"),
    ("secret", API_SECRET + "\n"),
    ("secret", API_SECRET + " "),
    ("secret", "test\tsecret"),
    ("secret", API_SECRET + "\u200b"),  # a zero-width space pasted along
]
MODES = {
    "live": dict(runmode=RunMode.LIVE, dry_run=False),
    "dry-run": dict(runmode=RunMode.DRY_RUN, dry_run=True),
    "backtest": dict(runmode=RunMode.BACKTEST, dry_run=True),
}


def _build(fake_bingx, mode: str, **exchange):
    config = futures_config(fake_bingx, exchange=exchange, **MODES[mode])
    return ExchangeResolver.load_exchange(config, validate=True)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name, value", BAD, ids=[f"{n}={v!r}" for n, v in BAD])
def test_bad_setting_stops_the_start_naming_key_and_value(fake_bingx, mode, name, value):
    with pytest.raises(OperationalException) as raised:
        _build(fake_bingx, mode, **{name: value})
    # Not freqtrade's ConfigurationError: its main() exits with code 0 on that one.
    assert not isinstance(raised.value, ConfigurationError)
    message = str(raised.value)
    assert message.startswith(f"exchange.{name} must be ")
    assert repr(value) in message
    assert "\n" not in message
    assert fake_bingx.requests == []  # refused before anything was sent


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name, value", BAD_CREDENTIALS, ids=[n for n, _ in BAD_CREDENTIALS])
def test_a_key_with_whitespace_is_refused_without_quoting_it(fake_bingx, mode, name, value):
    with pytest.raises(OperationalException) as raised:
        _build(fake_bingx, mode, **{name: value})
    message = str(raised.value)
    assert message.startswith(f"exchange.{name}: ")
    for secret_part in (API_SECRET, API_KEY, "12345", str(value).strip()):
        assert secret_part not in message
    assert fake_bingx.requests == []


@pytest.mark.parametrize(
    "exchange, expected",
    [
        ({}, settings.BingxSettings(api_key=API_KEY, secret=API_SECRET)),
        (
            {"recv_window": 1, "leverage_rate_limit": 0.1, "position_mode": "hedge"},
            settings.BingxSettings(1, 0.1, "hedge", API_KEY, API_SECRET),
        ),
        (
            {"recv_window": 60_000, "leverage_rate_limit": 5, "position_mode": "one_way"},
            settings.BingxSettings(60_000, 5.0, "one_way", API_KEY, API_SECRET),
        ),
        ({"key": None, "secret": None}, settings.BingxSettings()),  # blanked by freqtrade
        (
            {"leverage_check": "read_before_entry", "account_state_dir": "/srv/bingx"},
            settings.BingxSettings(
                api_key=API_KEY,
                secret=API_SECRET,
                leverage_check="read_before_entry",
                account_state_dir="/srv/bingx",
            ),
        ),
        (
            {"account_state_name": "main account"},
            settings.BingxSettings(
                api_key=API_KEY, secret=API_SECRET, account_state_name="main account"
            ),
        ),
    ],
)
def test_good_settings_are_typed(fake_bingx, exchange, expected):
    conf = futures_config(fake_bingx, exchange=exchange)["exchange"]
    assert settings.from_config(conf) == expected
    assert API_SECRET not in repr(settings.from_config(conf))


def test_the_transport_uses_the_settings(make_exchange):
    exchange = make_exchange(exchange={"recv_window": 7000, "leverage_rate_limit": 0.5})
    assert exchange.bingx.recv_window_ms == 7000
    limiter = exchange.bingx._limiters[("POST", "/openApi/swap/v2/trade/leverage")]
    assert limiter._window == 2.0  # one request per two seconds


# --- the freqtrade-bingx command -------------------------------------------------------------


@pytest.mark.parametrize(
    "exchange, expected",
    [
        ({"recv_window": 0}, "error: exchange.recv_window must be "),
        ({"secret": API_SECRET + "\n"}, "error: exchange.secret: "),
        ({"api_key": "", "secret": ""}, "error: freqtrade-bingx reads and changes the account"),
    ],
)
def test_cli_refuses_bad_settings_in_one_line(fake_bingx, tmp_path, capsys, exchange, expected):
    path = live_config_file(fake_bingx, tmp_path, **exchange)
    with pytest.raises(SystemExit) as exited:
        code = cli.main(["-c", str(path), "status"])
        raise SystemExit(code)
    assert exited.value.code not in (0, None)
    err = capsys.readouterr().err + str(exited.value.code)
    assert expected in err
    assert API_SECRET not in err
    assert fake_bingx.requests == []


# --- a real freqtrade process ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value",
    [("position_mode", "both"), ("recv_window", 2.5), ("leverage_rate_limit", 0)],
)
def test_freqtrade_trade_exits_non_zero_before_sending_anything(fake_bingx, tmp_path, name, value):
    path = live_config_file(fake_bingx, tmp_path, **{name: value})
    override = json.loads(path.read_text())
    override.update(
        db_url=f"sqlite:///{tmp_path / 'trades.sqlite'}",
        api_server={
            "enabled": False,
            "listen_ip_address": "127.0.0.1",
            "listen_port": 8080,
            "username": "test",
            "password": secrets.token_hex(8),
            "jwt_secret_key": secrets.token_hex(8),
        },
        telegram={"enabled": False, "token": "disabled", "chat_id": "0"},
    )
    path.write_text(json.dumps(override))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")}
    started = time.monotonic()
    result = subprocess.run(
        [
            freqtrade_executable(),
            "trade",
            "-c",
            str(path),
            "--strategy",
            "BingxFixedLeverage",
            "--strategy-path",
            str(ROOT / "strategies"),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"exchange.{name} must be " in output
    assert "Fatal exception" not in output
    assert fake_bingx.requests == []  # stopped before any request
    assert time.monotonic() - started < 60

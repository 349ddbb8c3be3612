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

from freqtrade_bingx.adapter import settings
from freqtrade_bingx.tools import cli
from freqtrade_bingx.tools.rehearse import freqtrade_executable
from tests.configs import API_KEY, API_SECRET, config_file, futures_config
from tests.hostile import hostile_server


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
    rate = exchange.bingx.pipeline.local_budget.rates[("POST", "/openApi/swap/v2/trade/leverage")]
    assert rate.interval == 2000  # one request per two seconds, in ms


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
    path = config_file(fake_bingx, tmp_path, **exchange)
    with pytest.raises(SystemExit) as exited:
        code = cli.main(["-c", str(path), "status"])
        raise SystemExit(code)
    assert exited.value.code not in (0, None)
    err = capsys.readouterr().err + str(exited.value.code)
    assert expected in err
    assert API_SECRET not in err
    assert fake_bingx.requests == []


# --- a real freqtrade process ----------------------------------------------------------------


def _trade_config(fake_bingx, tmp_path: Path, top: dict | None = None, **exchange) -> Path:
    """A live config for ``freqtrade trade`` against the fake: no API server, no Telegram."""
    path = config_file(fake_bingx, tmp_path, **exchange)
    override = json.loads(path.read_text())
    override.update(
        db_url=f"sqlite:///{tmp_path / 'trades.sqlite'}",
        api_server={
            "enabled": False,
            "listen_ip_address": "127.0.0.1",
            "listen_port": 8080,
            "username": "test",
            "password": secrets.token_hex(8),
            "jwt_secret_key": secrets.token_hex(16),
        },
        telegram={"enabled": False, "token": "disabled", "chat_id": "0"},
        **(top or {}),
    )
    path.write_text(json.dumps(override))
    return path


def _freqtrade(tmp_path: Path, command: str, path: Path) -> subprocess.CompletedProcess:
    args = [freqtrade_executable(), command, "-c", str(path)]
    if command == "trade":
        args += ["--strategy", "BingxFixedLeverage", "--strategy-path", str(ROOT / "strategies")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")}
    return subprocess.run(
        args, check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


@pytest.mark.parametrize(
    "name, value",
    [("position_mode", "both"), ("recv_window", 2.5), ("leverage_rate_limit", 0)],
)
def test_freqtrade_trade_exits_non_zero_before_sending_anything(fake_bingx, tmp_path, name, value):
    path = _trade_config(fake_bingx, tmp_path, **{name: value})
    started = time.monotonic()
    result = _freqtrade(tmp_path, "trade", path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"exchange.{name} must be " in output
    assert "Fatal exception" not in output
    assert fake_bingx.requests == []  # stopped before any request
    assert time.monotonic() - started < 60


# Every other start-up refusal of the plugin, as freqtrade meets it: (command, settings at the
# top of the config, in its exchange section, the line the user reads).
REFUSALS = [
    pytest.param(
        "list-markets",
        {},
        # Any plain-http section that is not loopback: ccxt would send the key header there.
        {"ccxt_config": {"urls": {"api": {"wallets": "http://open-api.bingx.com/openApi"}}}},
        "BingX: ccxt's urls['api']['wallets']",
        id="plain-http URL section",
    ),
    pytest.param(
        "list-markets",
        {},
        # ccxt's URL-prefix proxy in clear, off loopback: it would receive the signed URL. The
        # address is never dialled: the refusal comes first (and ccxt 4.5.90 refuses proxyUrl
        # beside its other proxy settings before sending anything).
        {"ccxt_config": {"proxyUrl": "http://10.1.2.3:8080/"}},
        "proxyUrl",
        id="plain-http proxyUrl",
    ),
    pytest.param(
        "trade",
        {"trading_mode": "spot", "margin_mode": ""},
        {"demo_trading": True},
        "BingX's demo account (VST) trades USDT-M perpetual futures only",
        id="demo with spot",
    ),
    pytest.param(
        "trade",
        {"margin_mode": ""},
        {},
        "BingX USDT-M futures take margin_mode isolated or cross",
        id="unsupported margin mode",
    ),
    pytest.param(
        "trade",
        {
            "order_types": {
                "entry": "limit",
                "exit": "limit",
                "stoploss": "market",
                "stoploss_on_exchange": True,
                "stoploss_price_type": "index",
            }
        },
        {},
        "order_types.stoploss_price_type must be 'last' or 'mark'",
        id="index stop trigger",
    ),
]


@pytest.mark.parametrize("command, top, exchange, line", REFUSALS)
def test_every_refusal_ends_freqtrade_with_a_non_zero_code(
    fake_bingx, tmp_path, command, top, exchange, line
):
    urls = dict(fake_bingx.ccxt_urls["api"])
    extra = dict(exchange.pop("ccxt_config", {}))
    ccxt_urls = extra.pop("urls", {}).get("api", {})
    ccxt_config = {"urls": {"api": {**urls, **ccxt_urls}}, "enableRateLimit": False, **extra}
    # With a plain-http section, every ccxt request goes through this loopback proxy, which
    # only counts connections: had anything been sent before the refusal it would show here,
    # and nothing leaves the machine.
    with hostile_server("count") as proxy:
        if ccxt_urls:
            ccxt_config["httpProxy"] = proxy.base_url
        if command == "trade":
            path = _trade_config(fake_bingx, tmp_path, top, ccxt_config=ccxt_config, **exchange)
        else:
            path = config_file(fake_bingx, tmp_path, ccxt_config=ccxt_config, **exchange)
        result = _freqtrade(tmp_path, command, path)
    output = result.stdout + result.stderr
    assert result.returncode not in (0, None), output
    assert line in output
    # freqtrade logs its ConfigurationError so, and exits with code 0.
    assert "Configuration error" not in output and "Fatal exception" not in output
    assert proxy.connections == 0

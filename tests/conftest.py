"""Shared fixtures: a fake BingX on loopback and freqtrade exchange objects pointed at it."""

import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from freqtrade_bingx.sim import FakeBingx
from tests.configs import API_KEY, API_SECRET, futures_config


LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
MARGIN_PATH = "/openApi/swap/v2/trade/marginType"
MODE_PATH = "/openApi/swap/v1/positionSide/dual"
TIME_PATH = "/openApi/swap/v2/server/time"
# How long a module's stopped servers and processes get to wind down before they count as left.
LEFT_RUNNING_GRACE_S = 5.0


def _left_running() -> set[str]:
    """Fake exchanges' threads (server and tick) and child processes alive in this process."""
    running = {f"thread {t.name}" for t in threading.enumerate() if t.name.startswith("FakeBingx")}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue  # ended meanwhile
        # multiprocessing's resource tracker lives, idle, until this interpreter exits.
        if "multiprocessing.resource_tracker" not in command:
            running.add(f"process {child.pid}: {command[:200]}")
    return running


@pytest.fixture(scope="module", autouse=True)
def nothing_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module that leaves a fake exchange or a child process (freqtrade, ...) running fails:
    it would go on serving, ticking or trading, and take CPU from the modules after it (the
    freqtrade sessions of the e2e modules are timed against a fake in this process)."""
    before = _left_running()
    yield
    deadline = time.monotonic() + LEFT_RUNNING_GRACE_S
    while (left := _left_running() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        pytest.fail(f"{request.module.__name__} left running: {sorted(left)}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def no_account_state_in_home(tmp_path_factory) -> Iterator[None]:
    """Nothing the suite starts writes shared account state (account_budget.py) into the
    user's ``~/.cache``: session-wide, so module-scoped fixtures and the freqtrade processes
    they launch (set up before any per-test fixture) inherit it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("session-cache")))
        yield


@pytest.fixture(scope="session", autouse=True)
def no_terminal_size_for_subprocesses() -> Iterator[None]:
    """pytest-xdist's workers set COLUMNS=80 and LINES=24; freqtrade processes the tests start
    would then wrap their log lines at 80 characters (its rich console reads COLUMNS), and the
    tests search those logs for whole messages."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        patch.delenv("LINES", raising=False)
        yield


@pytest.fixture(autouse=True)
def account_state_in_tmp(tmp_path_factory, monkeypatch) -> None:
    """Each test's shared account state (account_budget.py) in a folder of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def fake_bingx() -> Iterator[FakeBingx]:
    with FakeBingx(accounts={API_KEY: API_SECRET}) as server:
        yield server


@pytest.fixture
def make_exchange(fake_bingx, mocker, tmp_path) -> Callable[..., Any]:
    """Build the plugin's exchange against the fake server; freqtrade's back-off is instant."""
    import freqtrade.exchange
    from freqtrade.resolvers import ExchangeResolver

    mocker.patch("freqtrade.exchange.common.time.sleep")
    built = []

    def make(**overrides: Any):
        config = futures_config(fake_bingx, **overrides)
        config.setdefault("datadir", tmp_path / "data")
        exchange = ExchangeResolver.load_exchange(config, validate=False)
        assert isinstance(exchange, freqtrade.exchange.Bingx)
        # Short timeouts keep the stall tests quick; a real run uses the defaults.
        if not config["dry_run"]:
            exchange.bingx.timeout = (1.0, 0.5)
            exchange.reload_markets(True, load_leverage_tiers=False)
        built.append(exchange)
        return exchange

    yield make
    for exchange in built:
        exchange.close()


def run_console_script(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``freqtrade-bingx`` command, run in its own process as a user runs it."""
    script = shutil.which("freqtrade-bingx", path=str(Path(sys.executable).parent))
    assert script, "pip install . puts freqtrade-bingx next to python"
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def quiet_ccxt_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog

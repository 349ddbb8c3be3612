"""The main job on its embedded default: the plugin against a local fake BingX, no account needed.

1. Starts the fake exchange on 127.0.0.1, points the shipped live config at it, runs
   ``freqtrade-bingx status`` and ``set-leverage`` in one-way and in hedge mode, and prints
   what reached the exchange.
2. Runs a real ``freqtrade trade`` in live mode (dry_run off) against a fresh local exchange
   in hedge mode for a minute, with a few injected faults, and prints what happened: trades,
   leverage calls per pair and side, errors met and how they were handled.
3. Writes seeded synthetic candles, mark prices and funding rates, saves the fake exchange's
   markets and leverage tiers for offline use (``freqtrade-bingx save-offline``), stops the
   fake exchange, and runs ``freqtrade backtesting`` of both example strategies offline (the
   shipped backtest config, with BingX's URLs on a closed loopback port).

Nothing leaves this machine.

    python -m freqtrade_bingx.tools.demo --configs configs --strategies strategies
"""

import argparse
import datetime
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from freqtrade_bingx.sim import FakeBingx, Fault
from freqtrade_bingx.sim.server import API_PREFIX, CCXT_URL_SECTIONS
from freqtrade_bingx.tools import sample_data
from freqtrade_bingx.tools.rehearse import SETTLE_SECONDS, Rehearsal


DEMO_KEY = "demo-key"
# A throwaway secret for the local fake exchange only; it never leaves 127.0.0.1.
DEMO_SECRET = "demo-secret-for-the-local-fake-exchange"
PRIVATE_PREFIXES = ("/openApi/swap/v1/", "/openApi/swap/v2/trade/", "/openApi/swap/v2/user/")
STRATEGIES = ("BingxFixedLeverage", "BingxVolatilityLeverage")
SAMPLE_START = datetime.date(2026, 9, 1)
SAMPLE_DAYS = 42
# Leave the strategies five days of candles to warm up, and skip the last, partial day.
TIMERANGE = (
    f"{SAMPLE_START + datetime.timedelta(days=5):%Y%m%d}-"
    f"{SAMPLE_START + datetime.timedelta(days=SAMPLE_DAYS - 1):%Y%m%d}"
)


def _write_config(workdir: Path, configs: Path, server: FakeBingx) -> Path:
    override = {
        "add_config_files": [str((configs / "live.json").resolve())],
        "user_data_dir": str(workdir / "user_data"),
        "exchange": {
            "api_key": DEMO_KEY,
            "secret": DEMO_SECRET,
            "ccxt_config": {"urls": {"api": server.ccxt_urls["api"]}},
            # The local account's shared state (account_budget.py) stays in the work folder,
            # not in the user's ~/.cache beside real accounts' files.
            "account_state_dir": str(workdir / "account-state"),
        },
    }
    path = workdir / "local-bingx.json"
    path.write_text(json.dumps(override, indent=2))
    return path


def closed_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def out_of_reach_backtest_config(workdir: Path, configs: Path) -> Path:
    """The shipped backtest config with every ccxt BingX URL on a closed loopback port.

    The shipped file names the real BingX host; "BingX cannot be reached" is rehearsed here
    without sending a single packet (or a DNS query) beyond this machine.
    """
    base = f"http://127.0.0.1:{closed_loopback_port()}{API_PREFIX}"
    sections = {section: base for section in CCXT_URL_SECTIONS}
    urls = {"api": sections, "test": dict(sections)}
    override = {
        "add_config_files": [str((configs / "backtest.json").resolve())],
        "exchange": {"ccxt_config": {"urls": urls}, "ccxt_async_config": {"urls": urls}},
    }
    path = workdir / "backtest-out-of-reach.json"
    path.write_text(json.dumps(override, indent=2))
    return path


def prepare_offline(workdir: Path, configs: Path) -> Path:
    """Synthetic data, and a fake exchange's markets snapshot and tier cache, for offline
    backtests in ``workdir/user_data`` (which it returns)."""
    from freqtrade_bingx.tools import cli

    datadir = workdir / "user_data" / "data" / "bingx"
    sample_data.generate_sample_data(datadir, start=SAMPLE_START.isoformat(), days=SAMPLE_DAYS)
    with FakeBingx(accounts={DEMO_KEY: DEMO_SECRET}) as server:
        config = _write_config(workdir, configs, server)
        if cli.main(["-c", str(config), "save-offline"]) != 0:
            raise RuntimeError("freqtrade-bingx save-offline failed against the fake exchange")
    return workdir / "user_data"


def _bin(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        raise SystemExit(f"{name} is not installed next to this python: pip install .")
    return path


def _run(cli: str, config: Path, *args: str) -> None:
    print(f"\n$ freqtrade-bingx -c live.json -c local-bingx.json {' '.join(args)}", flush=True)
    result = subprocess.run(
        [cli, "-c", str(config), *args], text=True, capture_output=True, check=False
    )
    print(result.stdout.rstrip())
    for line in result.stderr.splitlines():
        if " - WARNING - " in line:
            print("  (log) " + line.split(" - WARNING - ", 1)[1])
    if result.returncode != 0:
        print(result.stderr.rstrip())
        raise SystemExit(f"freqtrade-bingx exited with {result.returncode}")


def _print_ledger(server: FakeBingx, since: int) -> None:
    print("\nWhat reached the exchange (private endpoints; timestamp and signature left out):")
    for record in server.requests[since:]:
        if not record.path.startswith(PRIVATE_PREFIXES):
            continue
        params = {k: v for k, v in record.params.items() if k not in ("timestamp", "recvWindow")}
        shown = " ".join(f"{k}={v}" for k, v in params.items())
        print(f"  {record.method:<4} {record.path:<36} {shown:<40} -> code {record.code}")


def account_settings(server: FakeBingx, config: Path) -> None:
    cli = _bin("freqtrade-bingx")
    print(f"Local fake BingX at {server.base_url} (loopback only, synthetic account)")
    for hedge, steps in (
        (
            False,
            [("set-leverage", "BTC/USDT:USDT", "5"), ("set-leverage", "ETH/USDT:USDT", "12.8")],
        ),
        (
            True,
            [
                ("set-leverage", "BTC/USDT:USDT", "10", "--side", "long"),
                ("set-leverage", "BTC/USDT:USDT", "3", "--side", "short"),
                ("set-leverage", "SOL/USDT:USDT", "80", "--side", "both"),
            ],
        ),
    ):
        server.account(DEMO_KEY).hedge_mode = hedge
        print(f"\n=== Account in {'hedge' if hedge else 'one-way'} mode ===")
        since = len(server.requests)
        _run(cli, config, "status")
        for step in steps:
            _run(cli, config, *step)
        _run(cli, config, "status")
        _print_ledger(server, since)


LIVE_SECONDS = 60


def _rate_limit_block(server: FakeBingx) -> None:
    # BingX's wording; the number is the absolute time (epoch ms) the block ends.
    until = server.server_time_ms() + 5_000
    server.inject(
        Fault(
            path="/openApi/swap/v2/trade/leverage",
            method="POST",
            code=100410,
            msg="code:100410:The endpoint trigger frequency limit rule is currently in the "
            f"disabled period and will be unblocked after {until}",
        )
    )


def live_session(workdir: Path, configs: Path) -> None:
    """freqtrade trading live (dry_run off) against the local exchange, hedge mode."""
    print(
        f"\n=== freqtrade trading live against a local exchange (hedge mode, {LIVE_SECONDS} s) ==="
    )
    session_dir = workdir / "live-session"
    shutil.rmtree(session_dir, ignore_errors=True)
    session_dir.mkdir(parents=True)
    rehearsal = Rehearsal(
        hedge=True,
        config_files=[configs / "live.json"],
        workdir=session_dir,
        faults=[
            (8, _rate_limit_block),
            (20, Fault(path="/openApi/swap/v2/trade/order", method="POST", http_status=503,
                       body=b"Service Temporarily Unavailable")),
            (30, Fault(path="/openApi/swap/v2/quote/depth", reset=True)),
        ],
    )  # fmt: skip
    try:
        rehearsal.start()
        rehearsal.run(LIVE_SECONDS)
        # Stop at a quiet moment (no order in flight) if one comes soon.
        rehearsal.run(SETTLE_SECONDS, on_tick=lambda r: r.settled(), poll_s=0.25)
    finally:
        rehearsal.stop()
    print(rehearsal.summary().text())
    print(f"freqtrade's log: {rehearsal.log_path}")


def offline_backtest(workdir: Path, configs: Path, strategies: Path) -> None:
    """Backtest both example strategies with BingX out of reach (snapshot and tier cache)."""
    print("\n=== Offline backtest on synthetic data ===")
    command = [
        _bin("freqtrade"), "backtesting",
        "-c", str(out_of_reach_backtest_config(workdir, configs)),
        "--user-data-dir", str(workdir / "user_data"),
        "--strategy-path", str(strategies),
        "--strategy-list", *STRATEGIES,
        "--timerange", TIMERANGE,
        "--export", "trades",
    ]  # fmt: skip
    print("$ freqtrade " + " ".join(command[1:]).replace(str(workdir), "<workdir>"), flush=True)
    result = subprocess.run(command, text=True, capture_output=True, check=False)
    for line in result.stderr.splitlines():
        if "snapshot" in line or " - WARNING - " in line or " - ERROR - " in line:
            print("  (log) " + line.split(" - ", 3)[-1])
    print(result.stdout.rstrip())
    if result.returncode != 0:
        print(result.stderr[-3000:])
        raise SystemExit(f"freqtrade backtesting exited with {result.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        type=Path,
        default=Path("configs"),
        help="folder with the shipped configs (live.json, backtest.json, ...)",
    )
    parser.add_argument(
        "--strategies",
        type=Path,
        default=Path("strategies"),
        help="folder with the example strategies",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("run/main-job"),
        help="where data, caches and backtest results are written",
    )
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    datadir = workdir / "user_data" / "data" / "bingx"
    sample_data.generate_sample_data(datadir, start=SAMPLE_START.isoformat(), days=SAMPLE_DAYS)
    print(f"Synthetic sample data (seeded, labelled) in {datadir}")

    with FakeBingx(accounts={DEMO_KEY: DEMO_SECRET}) as server:
        config = _write_config(workdir, args.configs, server)
        account_settings(server, config)
        print("\n=== Saving markets and leverage tiers for offline use ===")
        _run(_bin("freqtrade-bingx"), config, "save-offline")
    live_session(workdir, args.configs.resolve())
    # The fake exchange is gone now, and BingX's URLs point at a closed port on 127.0.0.1:
    # freqtrade runs on the saved snapshot and tier cache.
    offline_backtest(workdir, args.configs.resolve(), args.strategies.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())

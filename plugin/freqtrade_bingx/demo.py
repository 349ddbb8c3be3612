"""The main job on its embedded default: the plugin against a local fake BingX, no account needed.

Starts the fake exchange on 127.0.0.1, points the shipped live config at it, runs
``freqtrade-bingx status`` and ``set-leverage`` in one-way and in hedge mode, and prints what
reached the exchange. Nothing leaves this machine.

    python -m freqtrade_bingx.demo --configs configs
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from freqtrade_bingx.sim import FakeBingx


DEMO_KEY = "demo-key"
# A throwaway secret for the local fake exchange only; it never leaves 127.0.0.1.
DEMO_SECRET = "demo-secret-for-the-local-fake-exchange"
PRIVATE_PREFIXES = ("/openApi/swap/v1/", "/openApi/swap/v2/trade/", "/openApi/swap/v2/user/")


def _write_config(workdir: Path, configs: Path, server: FakeBingx) -> Path:
    override = {
        "add_config_files": [str((configs / "live.json").resolve())],
        "user_data_dir": str(workdir),
        "exchange": {
            "api_key": DEMO_KEY,
            "secret": DEMO_SECRET,
            "ccxt_config": {"urls": {"api": server.ccxt_urls["api"]}},
        },
    }
    path = workdir / "local-bingx.json"
    path.write_text(json.dumps(override, indent=2))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        type=Path,
        default=Path("configs"),
        help="folder with the shipped configs (live.json, base.json)",
    )
    args = parser.parse_args(argv)
    cli = shutil.which("freqtrade-bingx", path=str(Path(sys.executable).parent))
    if cli is None:
        raise SystemExit("freqtrade-bingx is not installed next to this python: pip install .")

    with (
        FakeBingx(accounts={DEMO_KEY: DEMO_SECRET}) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = _write_config(Path(tmp), args.configs, server)
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
            mode = "hedge" if hedge else "one-way"
            print(f"\n=== Account in {mode} mode ===")
            since = len(server.requests)
            _run(cli, config, "status")
            for step in steps:
                _run(cli, config, *step)
            _run(cli, config, "status")
            _print_ledger(server, since)
    return 0


if __name__ == "__main__":
    sys.exit(main())

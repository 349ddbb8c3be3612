"""Run the fake BingX server standalone: ``python -m freqtrade_bingx.sim [--port 8080]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .server import FakeBingx


logger = logging.getLogger(__name__)

_LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m freqtrade_bingx.sim", description="Fake BingX USDT-M swap API"
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback only (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--hedge", action="store_true", help="start accounts in hedge mode")
    parser.add_argument("--key", default="test-key", help="API key the server accepts")
    parser.add_argument("--secret", default="test-secret", help="secret for --key")
    parser.add_argument(
        "--leverage-rate-limit",
        type=float,
        default=5.0,
        help="set-leverage calls per second per key; 0 disables the limit",
    )
    parser.add_argument("--seed", default="1", help="seed of the price walk")
    parser.add_argument(
        "--volatility", type=float, default=0.0005, help="per-minute log volatility; 0 = flat"
    )
    parser.add_argument("--balance", type=float, default=10_000.0, help="USDT per account")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)

    if args.host not in _LOOPBACK_NAMES:
        # It accepts well-known test credentials: binding beyond loopback would be an open door.
        parser.error(f"refusing to bind to {args.host!r}: only 127.0.0.1 is allowed")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")

    srv = FakeBingx(
        host=args.host,
        port=args.port,
        hedge_mode=args.hedge,
        accounts={args.key: args.secret},
        leverage_rate_limit_per_s=args.leverage_rate_limit or None,
        seed=args.seed,
        volatility=args.volatility,
        balance=args.balance,
    )
    done = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    srv.start()
    # The secret is deliberately not printed.
    print(f"base_url {srv.base_url}", flush=True)
    print(
        f"FakeBingx ready on {srv.base_url} (key {args.key}, "
        f"{'hedge' if args.hedge else 'one-way'} mode)",
        flush=True,
    )
    try:
        while not done.wait(0.5):
            pass
    finally:
        srv.stop()
        print("FakeBingx stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

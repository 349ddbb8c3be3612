"""``freqtrade-bingx``: look at and change BingX futures account settings from freqtrade configs.

    freqtrade-bingx -c config.json [-c more.json ...] status
    freqtrade-bingx -c config.json set-leverage BTC/USDT:USDT 5 [--side long|short|both]
    freqtrade-bingx -c config.json save-offline
    freqtrade-bingx -c config.json preflight [--strategy NAME [--strategy-path DIR] | --leverage X]

They go through the same adapter freqtrade uses when it trades. They talk to the account, so
they run with ``dry_run`` off whatever the config says, and need the API key and secret.
``preflight`` only reads and sends test orders (see :mod:`freqtrade_bingx.tools.preflight`); it
exits
non-zero when a check fails.
"""

import argparse
import logging
import sys
from typing import Any


logger = logging.getLogger(__name__)

SIDES = {"long": ("buy",), "short": ("sell",), "both": ("buy", "sell")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="freqtrade-bingx", description="BingX USDT-M futures settings for freqtrade."
    )
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        required=True,
        metavar="PATH",
        help="freqtrade config file; repeat to merge several, later files win",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is sent")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="position mode, margin type and leverage per pair")
    commands.add_parser(
        "save-offline",
        help="save BingX's markets and the leverage tiers of the whitelist under the data "
        "directory, for backtesting without network",
    )
    preflight = commands.add_parser(
        "preflight",
        help="check the account against the config before going live; changes nothing",
    )
    source = preflight.add_mutually_exclusive_group()
    source.add_argument(
        "--strategy", help="ask this strategy's leverage() and use its order types and sides"
    )
    source.add_argument(
        "--leverage",
        type=float,
        help="the leverage to check when no strategy is given (default: 1, freqtrade's own)",
    )
    preflight.add_argument("--strategy-path", metavar="DIR", help="where --strategy lives")
    set_lev = commands.add_parser("set-leverage", help="set a pair's leverage")
    set_lev.add_argument("pair", help="freqtrade pair, e.g. BTC/USDT:USDT")
    set_lev.add_argument("leverage", type=float)
    set_lev.add_argument(
        "--side",
        choices=sorted(SIDES),
        default="both",
        help="position side in hedge mode (one-way mode has only one): default both",
    )
    return parser


def load_exchange(
    config_files: list[str], log_level: int = logging.WARNING, load_markets: bool = True
):
    """Build freqtrade's exchange object for the configs, in live mode, with the plugin."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import TradingMode
    from freqtrade.resolvers import ExchangeResolver

    from freqtrade_bingx import register
    from freqtrade_bingx.adapter import settings

    register()
    config = Configuration.from_files(config_files)
    # freqtrade's configuration set up its own (INFO) logging; this tool only says what matters.
    for name in ("", "freqtrade"):
        logging.getLogger(name).setLevel(log_level)
    if config["exchange"]["name"].lower() != "bingx":
        name = config["exchange"]["name"]
        raise SystemExit(f"error: the config's exchange is {name!r}, not bingx")
    if config.get("trading_mode") != TradingMode.FUTURES:
        raise SystemExit("error: the config's trading_mode must be 'futures'")
    # The same checks the exchange runs at start-up, before anything else happens here.
    if not settings.from_config(config["exchange"]).has_credentials:
        raise SystemExit(
            "error: freqtrade-bingx reads and changes the account, so the config needs "
            "exchange.key and exchange.secret"
        )
    config["dry_run"] = False
    exchange = ExchangeResolver.load_exchange(config, validate=False)
    if load_markets:
        # Leverage tiers are not needed here and cost one request per pair.
        exchange.reload_markets(True, load_leverage_tiers=False)
    return exchange


def _shared_state_line(exchange) -> str:
    """Which store the bot shares the account's state through, and whether it is reachable."""
    where = exchange.shared_state_file()
    if where is None:
        return (
            "shared with other bots on this machine: no (the state file cannot be used, see "
            "the log)"
        )
    if not where.startswith(("redis://", "rediss://")):
        return f"shared with other bots on this machine: {where}"
    problem = exchange.account_state_problem()
    reach = f"unreachable ({problem})" if problem else "reachable"
    return f"shared with other bots through Redis: {where}, {reach}"


def status(exchange) -> list[str]:
    from freqtrade_bingx.adapter.leverage import swap_symbol
    from freqtrade_bingx.bingx import replies, stops
    from freqtrade_bingx.net import account

    mode = exchange.refresh_position_mode()
    lines = [
        f"BingX {exchange.bingx.base_url}: position mode {mode.value}",
        _shared_state_line(exchange),
        # From the config's order_types (a strategy's own order_types are not read here).
        stops.describe_trigger(exchange._config.get("order_types", {})),
        (
            f"{'pair':<18} {'symbol':<12} {'margin':<10} {'long':>6} {'short':>6} {'max':>6}"
            f" {'funding':>8}"
        ),
    ]
    for pair in exchange._config["exchange"].get("pair_whitelist", []):
        symbol = swap_symbol(exchange.markets, pair)
        lev = exchange.read_account_leverage(pair)
        margin = exchange.link.call(
            f"read margin type of {symbol}",
            account.get_margin_type,
            symbol,
            parse=replies.margin_type,
        )
        lines.append(
            f"{pair:<18} {symbol:<12} {margin:<10} {_x(lev.long):>6} {_x(lev.short):>6} "
            f"{_x(exchange.max_leverage_for_side(pair, 'BOTH')):>6}"
            f" {_every(exchange.funding_interval_hours(pair)):>8}"
        )
    return lines


def set_leverage(exchange, pair: str, leverage: float, side: str) -> list[str]:
    from freqtrade_bingx.bingx.position_mode import PositionMode, position_side

    mode = exchange.refresh_position_mode()
    order_sides = SIDES[side] if mode is PositionMode.HEDGE else ("buy",)
    lines = []
    for order_side in order_sides:
        whole = exchange._set_leverage(leverage, pair, side=order_side)
        pos_side = position_side(mode, order_side)
        lines.append(f"{pair} {pos_side}: leverage {whole}x ({mode.value} mode)")
    return lines


def save_offline(exchange) -> list[str]:
    # Loading markets online writes the snapshot; tiers go to their cache.
    from freqtrade_bingx.bingx import tiers

    exchange.fill_leverage_tiers()
    tier_cache = exchange.tier_cache_path()
    return [
        f"markets snapshot: {exchange.markets_snapshot_path()} ({len(exchange.markets)} markets)",
        f"leverage tiers: {tier_cache} ({len(tiers.load_cache(tier_cache))} pairs)",
    ]


def preflight(exchange, strategy: str | None, strategy_path: str | None, leverage: float | None):
    """The preflight report's lines and exit status."""
    from freqtrade_bingx.tools import preflight as checks

    config = exchange._config
    if strategy:
        config["strategy"] = strategy
        if strategy_path:
            config["strategy_path"] = strategy_path
        intent = checks.strategy_intent(config)
    else:
        intent = checks.fixed_intent(config, leverage)
    return checks.run(exchange, intent)


def _every(hours: int | None) -> str:
    return "unknown" if hours is None else f"{hours}h"


def _x(value: Any) -> str:
    return "?" if value in (None, "") else f"{value}x"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_level = logging.DEBUG if args.verbose else logging.WARNING
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    from freqtrade.exceptions import FreqtradeException

    code = 0
    exchange = None
    try:
        # preflight checks the key before loading markets (see freqtrade_bingx.tools.preflight).
        exchange = load_exchange(args.config, log_level, load_markets=args.command != "preflight")
        if args.command == "status":
            lines = status(exchange)
        elif args.command == "save-offline":
            lines = save_offline(exchange)
        elif args.command == "preflight":
            lines, code = preflight(exchange, args.strategy, args.strategy_path, args.leverage)
        else:
            lines = set_leverage(exchange, args.pair, args.leverage, args.side)
    except FreqtradeException as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if exchange is not None:
            exchange.close()  # ccxt's async session, which warns when left open
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Rehearse a strategy live against the local fake BingX: a real ``freqtrade trade``, no account.

    python -m freqtrade_bingx.tools.rehearse --seconds 75                 # shipped live config
    python -m freqtrade_bingx.tools.rehearse --hedge -c my.json --strategy MyStrategy \\
        --strategy-path user_data/strategies --seconds 120

It starts :class:`~freqtrade_bingx.sim.FakeBingx` on 127.0.0.1, writes an override config
(``dry_run`` false, API server and Telegram off, ccxt and the plugin pointed at the fake, the
fake's key and secret, the database and ``user_data_dir`` in a work directory), runs
``freqtrade trade`` for a bounded time, stops it with SIGTERM and prints what happened: trades
from freqtrade's database, and leverage, margin type, orders, stoplosses and errors from the
exchange's request ledger. Without ``--strategy`` it runs :class:`BingxRehearsal`
(``freqtrade_bingx/sim/strategies``), which trades within the first loop.

From Python (tests, the main job)::

    # A 100410 without an unblock time or usage headers blocks the endpoint for 5 minutes.
    fault = Fault(LEVERAGE_PATH, code=100410, msg="rate limited", block_s=5)
    with Rehearsal(hedge=True, faults=[(20.0, fault)]) as r:
        r.run(75)
    print(r.summary().text())

Nothing leaves this machine: the fake only binds to loopback, and ccxt's and the plugin's
hosts are both replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from freqtrade_bingx.net.redact import redact_signatures
from freqtrade_bingx.sim import FakeBingx, Fault, make_contract
from freqtrade_bingx.sim.server import (
    LEVERAGE_PATH,
    MARGIN_TYPE_PATH,
    ORDER_PATH,
    RequestRecord,
)


REHEARSAL_KEY = "rehearsal-key"
# A throwaway secret for the local fake exchange only; it never leaves 127.0.0.1.
REHEARSAL_SECRET = "rehearsal-secret-for-the-local-fake-exchange"
STRATEGY_PATH = Path(__file__).resolve().parents[1] / "sim" / "strategies"
STRATEGY = "BingxRehearsal"
# Per-minute log volatility of the fake's price walk: about 0.3 % a minute, so a one-minute
# session shows profits and losses without reaching the rehearsal strategy's stoploss.
VOLATILITY = 0.003
STOP_TYPES = ("STOP_MARKET", "STOP")
# After --seconds, how long the command line waits for a moment with no order in flight.
SETTLE_SECONDS = 15.0

FaultAction = Fault | Callable[[FakeBingx], Any]
_LOG_PROBLEM = re.compile(r" - (WARNING|ERROR|CRITICAL) - ")


def default_config_files() -> list[Path]:
    """The shipped ``configs/live.json``: from the working directory, else the source tree."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidate = root / "configs" / "live.json"
        if candidate.is_file():
            return [candidate]
    raise FileNotFoundError(
        "configs/live.json not found in the working directory; pass your config with -c"
    )


def freqtrade_executable() -> str:
    """The ``freqtrade`` console script installed next to this Python."""
    found = shutil.which("freqtrade", path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError("freqtrade is not installed next to this python")
    return found


def swap_symbol(pair: str) -> str:
    """freqtrade's ``BTC/USDT:USDT`` as BingX's ``BTC-USDT``."""
    base, _, rest = pair.partition("/")
    quote, _, settle = rest.partition(":")
    if not base or quote != "USDT" or settle != "USDT":
        raise ValueError(f"{pair!r} is not a USDT-M perpetual pair (BASE/USDT:USDT)")
    return f"{base}-USDT"


def _is_exit(record: RequestRecord, hedge: bool) -> bool:
    params = record.params
    if hedge:
        # Hedge mode: a SELL closes the LONG side, a BUY closes the SHORT side.
        return (params.get("side"), params.get("positionSide")) in (
            ("SELL", "LONG"),
            ("BUY", "SHORT"),
        )
    return params.get("reduceOnly", "").lower() == "true"


def classify_order(record: RequestRecord, hedge: bool) -> str:
    """``entry``, ``exit`` or ``stoploss`` for a POST to the order endpoint."""
    if record.params.get("type") in STOP_TYPES:
        return "stoploss"
    return "exit" if _is_exit(record, hedge) else "entry"


def order_requests(records: Sequence[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if r.method == "POST" and r.path == ORDER_PATH]


def entry_position_side(record: RequestRecord) -> str:
    """The side whose leverage an entry uses: its positionSide, or from BUY/SELL if BOTH."""
    side = record.params.get("positionSide", "BOTH")
    if side in ("LONG", "SHORT"):
        return side
    return "LONG" if record.params.get("side") == "BUY" else "SHORT"


def leverage_calls(records: Sequence[RequestRecord], hedge: bool) -> list[dict[str, Any]]:
    """Each set-leverage call, with how many later entries ran on it before the next change."""
    calls: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        if record.method == "POST" and record.path == LEVERAGE_PATH:
            calls.append(
                {
                    "index": index,
                    "t": record.t,
                    "symbol": record.params.get("symbol"),
                    "side": record.params.get("side"),
                    "leverage": record.params.get("leverage"),
                    "code": record.code,
                    "entries": 0,
                }
            )
    for index, record in enumerate(records):
        if not (record.method == "POST" and record.path == ORDER_PATH and record.code == 0):
            continue
        if classify_order(record, hedge) != "entry":
            continue
        side = entry_position_side(record)
        covering = [
            c
            for c in calls
            if c["index"] < index
            and c["code"] == 0
            and c["symbol"] == record.params.get("symbol")
            and c["side"] in (side, "BOTH")
        ]
        if covering:
            covering[-1]["entries"] += 1
    return calls


def read_db(db_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """freqtrade's trades and orders, straight from its sqlite file (read-only)."""
    if not db_path.is_file():
        return [], []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        trades = [
            dict(row)
            for row in conn.execute(
                "SELECT id, pair, is_short, leverage, amount, stake_amount, open_rate, "
                "close_rate, open_date, close_date, is_open, close_profit, close_profit_abs, "
                "exit_reason, enter_tag FROM trades ORDER BY id"
            )
        ]
        orders = [
            dict(row)
            for row in conn.execute(
                "SELECT ft_trade_id, ft_pair, ft_order_side, ft_is_open, order_id, status, "
                "order_type, side, amount, filled, price, average, stop_price, order_date "
                "FROM orders ORDER BY id"
            )
        ]
    except sqlite3.OperationalError:
        # freqtrade has not created its tables yet (it stopped before its first loop).
        return [], []
    finally:
        conn.close()
    return trades, orders


def reconcile(
    trades: Sequence[dict[str, Any]],
    positions: Sequence[dict[str, Any]],
    skip: Sequence[str] = (),
) -> list[str]:
    """Differences between freqtrade's open trades and the exchange's open positions.

    ``skip`` lists BingX symbols to leave out (freqtrade still had an order open there).
    """
    wanted: dict[tuple[str, str], float] = {}
    for trade in trades:
        if trade["is_open"]:
            key = (swap_symbol(trade["pair"]), "SHORT" if trade["is_short"] else "LONG")
            wanted[key] = wanted.get(key, 0.0) + float(trade["amount"] or 0.0)
    held: dict[tuple[str, str], float] = {}
    for pos in positions:
        amount = abs(float(pos.get("positionAmt") or 0.0))
        if amount:
            key = (pos["symbol"], pos["positionSide"])
            held[key] = held.get(key, 0.0) + amount
    problems = []
    for key in sorted(set(wanted) | set(held)):
        if key[0] in skip:
            continue
        mine, theirs = wanted.get(key, 0.0), held.get(key, 0.0)
        if abs(mine - theirs) > 1e-9 * max(1.0, mine, theirs):
            problems.append(f"{key[0]} {key[1]}: freqtrade holds {mine:g}, the exchange {theirs:g}")
    return problems


@dataclass
class RehearsalSummary:
    """What a rehearsal did, from freqtrade's database, the exchange's ledger and the log."""

    mode: str
    seconds: float
    exit_code: int | None
    interrupted: bool
    trades: list[dict[str, Any]]
    leverage_calls: list[dict[str, Any]]
    margin_type_calls: list[dict[str, Any]]
    orders_by_side: dict[str, dict[str, int]]
    stoplosses: list[dict[str, Any]]
    ledger_errors: list[dict[str, Any]]
    log_problems: list[str]
    mismatches: list[str]
    unsettled: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"Rehearsal ({self.mode} mode, {self.seconds:.0f} s), {self._exit_text()}"]
        lines.append(f"\nTrades ({len(self.trades)}):")
        for t in self.trades:
            side = "short" if t["is_short"] else "long"
            closed = t["close_date"] or "open"
            profit = "" if t["close_profit"] is None else f"{100 * t['close_profit']:+.2f} %"
            lines.append(
                f"  #{t['id']:<3} {t['pair']:<15} {side:<5} {t['leverage']:g}x  "
                f"{t['open_date'][11:19]} -> {closed[11:19] if t['close_date'] else closed:<8} "
                f"{profit:>9}  {t['exit_reason'] or ''}"
            )
        lines.append("\nLeverage calls (POST /openApi/swap/v2/trade/leverage):")
        for c in self.leverage_calls:
            lines.append(
                f"  {c['symbol']:<9} {c['side']:<5} {c['leverage']:>3}x -> code {c['code']}, "
                f"covered {c['entries']} entr{'y' if c['entries'] == 1 else 'ies'}"
            )
        lines.append("\nMargin type calls:")
        for c in self.margin_type_calls:
            lines.append(f"  {c['symbol']:<9} {c['marginType']} -> code {c['code']}")
        lines.append("\nOrders per position side (accepted by the exchange):")
        for side, kinds in sorted(self.orders_by_side.items()):
            shown = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            lines.append(f"  {side:<5} {shown}")
        lines.append(f"\nStoplosses placed on the exchange: {len(self.stoplosses)}")
        for s in self.stoplosses:
            lines.append(
                f"  {s['symbol']:<9} {s['positionSide']:<5} {s['side']:<4} stop {s['stopPrice']}"
            )
        if self.faults:
            lines.append("\nFaults applied:")
            lines.extend(f"  {f}" for f in self.faults)
        lines.append("\nErrors the exchange answered:" if self.ledger_errors else "\nNo errors.")
        for e in self.ledger_errors:
            lines.append(
                f"  {e['count']}x {e['method']} {e['path']} code {e['code']} {e['msg']!r}: "
                f"{e['handled']}"
            )
        if self.log_problems:
            lines.append(f"\nfreqtrade's warnings and errors ({len(self.log_problems)}):")
            lines.extend(f"  {line}" for line in self.log_problems[:40])
            if len(self.log_problems) > 40:
                lines.append(f"  ... {len(self.log_problems) - 40} more")
        if self.unsettled:
            lines.append(
                "\nOrders freqtrade still had open when it stopped (it updates them on its next "
                "start; these pairs are not compared):"
            )
            lines.extend(f"  {u}" for u in self.unsettled)
        if self.mismatches:
            lines.append("\nfreqtrade and the exchange DISAGREE:")
            lines.extend(f"  {m}" for m in self.mismatches)
        else:
            lines.append("\nfreqtrade's open trades match the exchange's positions.")
        return "\n".join(lines)

    def _exit_text(self) -> str:
        if self.exit_code is None:
            return "freqtrade still running"
        if not self.interrupted:
            return f"freqtrade ENDED BY ITSELF (exit code {self.exit_code}): see its log"
        if self.exit_code in (0, 130):
            # 130: freqtrade's own code for a stop by Ctrl-C, which is how it takes SIGTERM.
            return f"freqtrade stopped cleanly on SIGTERM (exit code {self.exit_code})"
        return f"freqtrade did not stop cleanly (exit code {self.exit_code})"

    @property
    def clean(self) -> bool:
        """freqtrade ran until stopped, stopped cleanly, and agrees with the exchange."""
        return self.interrupted and self.exit_code in (0, 130) and not self.mismatches


class Rehearsal:
    """A fake BingX and a real ``freqtrade trade`` process pointed at it.

    ``faults`` is a schedule of ``(seconds after freqtrade started, action)``; an action is a
    :class:`Fault` (queued on the server) or a callable taking the server. They are applied by
    :meth:`run` while freqtrade runs.
    """

    def __init__(
        self,
        *,
        hedge: bool = False,
        config_files: Sequence[str | Path] | None = None,
        strategy: str = STRATEGY,
        strategy_path: str | Path | None = None,
        workdir: str | Path | None = None,
        timeframe: str | None = None,
        seed: int | str = 1,
        volatility: float = VOLATILITY,
        throttle_secs: int = 1,
        faults: Sequence[tuple[float, FaultAction]] = (),
        extra_config: dict[str, Any] | None = None,
        server_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.hedge = hedge
        self.config_files = [Path(p) for p in (config_files or default_config_files())]
        self.strategy = strategy
        if strategy_path is None and strategy == STRATEGY:
            strategy_path = STRATEGY_PATH
        self.strategy_path = Path(strategy_path) if strategy_path else None
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="bingx-rehearsal-"))
        self.timeframe = timeframe
        self.seed = seed
        self.volatility = volatility
        self.throttle_secs = throttle_secs
        self.faults = sorted(faults, key=lambda item: item[0])
        self.extra_config = extra_config or {}
        self.server_kwargs = server_kwargs or {}
        self.key, self.secret = REHEARSAL_KEY, REHEARSAL_SECRET
        self.server: FakeBingx | None = None
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None
        self.applied_faults: list[str] = []
        # True once stop() had to interrupt freqtrade (False: it ended by itself).
        self.interrupted = False
        self._pending_faults = list(self.faults)
        self._log_handle: Any = None
        self.config_path = self.workdir / "rehearsal-override.json"
        self.db_path = self.workdir / "tradesv3.rehearsal.sqlite"
        self.log_path = self.workdir / "freqtrade.log"

    # --- set-up ------------------------------------------------------------------------

    def whitelist(self) -> list[str]:
        from freqtrade.configuration.load_config import load_from_files

        config = load_from_files([str(p) for p in self.config_files])
        return list(config.get("exchange", {}).get("pair_whitelist", []))

    def _contracts(self, pairs: Sequence[str]) -> list[dict[str, Any]] | None:
        from freqtrade_bingx.sim import default_contracts

        contracts = default_contracts()
        known = {c["symbol"] for c in contracts}
        extra = [swap_symbol(p) for p in pairs if swap_symbol(p) not in known]
        if not extra:
            return None
        return contracts + [make_contract(symbol) for symbol in dict.fromkeys(extra)]

    def override_config(self) -> dict[str, Any]:
        assert self.server is not None
        urls = self.server.ccxt_urls
        config: dict[str, Any] = {
            "dry_run": False,
            "db_url": f"sqlite:///{self.db_path}",
            "user_data_dir": str(self.workdir / "user_data"),
            # The schema wants these keys even when the API server is off.
            "api_server": {
                "enabled": False,
                "listen_ip_address": "127.0.0.1",
                "listen_port": 8080,
                "username": "rehearsal",
                "password": secrets.token_hex(16),
                "jwt_secret_key": secrets.token_hex(16),
            },
            # freqtrade's schema wants these two keys even when Telegram is off.
            "telegram": {"enabled": False, "token": "disabled", "chat_id": "0"},
            "initial_state": "running",
            "internals": {"process_throttle_secs": self.throttle_secs, "heartbeat_interval": 0},
            "exchange": {
                "api_key": self.key,
                "secret": self.secret,
                # Both ccxt instances (sync and async) and, through urls['api']['swap'], the
                # plugin's own transport; urls['api']['ws'] is the fake's market websocket
                # (freqtrade's candle feed, enable_ws). 'test' covers sandbox (demo) configs.
                "ccxt_config": {"urls": urls},
                "ccxt_async_config": {"urls": urls},
                # The fake's account lives as long as this run: its shared state (several
                # bots on one account) belongs in the work directory, not the user's cache.
                "account_state_dir": str(self.workdir / "account-state"),
            },
        }
        if self.strategy == STRATEGY:
            # The rehearsal strategy enters and exits with market orders.
            config["entry_pricing"] = {"price_side": "other"}
            config["exit_pricing"] = {"price_side": "other"}
        if self.timeframe:
            config["timeframe"] = self.timeframe
        return _merge(config, self.extra_config)

    def start(self) -> None:
        """Start the fake exchange, write the override config and launch freqtrade."""
        if self.process is not None:
            raise RuntimeError("rehearsal already started")
        if self.server is None:
            self.start_exchange()
        self.start_freqtrade()

    def start_exchange(self) -> FakeBingx:
        """Start the fake exchange (with every whitelisted pair) and write the override."""
        pairs = self.whitelist()
        server_kwargs = {
            "hedge_mode": self.hedge,
            "accounts": {self.key: self.secret},
            "seed": self.seed,
            "volatility": self.volatility,
            "contracts": self._contracts(pairs),
            **self.server_kwargs,
        }
        self.server = FakeBingx(**server_kwargs).start()
        (self.workdir / "user_data").mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.override_config(), indent=2))
        return self.server

    def command(self) -> list[str]:
        """The ``freqtrade trade`` command line of this rehearsal."""
        command = [freqtrade_executable(), "trade"]
        for path in (*self.config_files, self.config_path):
            command += ["-c", str(path)]
        command += ["--strategy", self.strategy]
        if self.strategy_path:
            command += ["--strategy-path", str(self.strategy_path)]
        return command

    def start_freqtrade(self) -> None:
        """Launch ``freqtrade trade`` against the running fake exchange."""
        if self.server is None:
            raise RuntimeError("start_exchange() first")
        # Keys from the environment would override the fake's key; the rehearsal never needs
        # the real ones.
        env = {k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")}
        env["PYTHONUNBUFFERED"] = "1"
        self._log_handle = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.workdir,
            env=env,
        )
        self.started_at = time.monotonic()

    # --- running -----------------------------------------------------------------------

    def elapsed(self) -> float:
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    def _apply_due_faults(self) -> None:
        assert self.server is not None
        while self._pending_faults and self._pending_faults[0][0] <= self.elapsed():
            at, action = self._pending_faults.pop(0)
            if isinstance(action, Fault):
                self.server.inject(action)
                label = f"{action.method or 'ANY'} {action.path}"
                shown = action.code if action.code is not None else action.http_status
                self.applied_faults.append(f"{at:5.1f} s: {label} -> {shown} x{action.times}")
            else:
                action(self.server)
                name = getattr(action, "__name__", type(action).__name__)
                self.applied_faults.append(f"{at:5.1f} s: {name}(server)")

    def run(
        self,
        seconds: float,
        on_tick: Callable[[Rehearsal], Any] | None = None,
        poll_s: float = 0.5,
    ) -> int | None:
        """Let freqtrade trade for ``seconds`` (or until it exits), applying the fault schedule.

        ``on_tick(rehearsal)`` is called about every ``poll_s``; it may return True to end the
        run early. Returns freqtrade's exit code if it ended by itself, else None.
        """
        if self.process is None:
            self.start()
        assert self.process is not None
        deadline = time.monotonic() + seconds
        while True:
            self._apply_due_faults()
            if on_tick is not None and on_tick(self):
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = min(poll_s, remaining)
            if self._pending_faults:
                wait = min(wait, max(0.0, self._pending_faults[0][0] - self.elapsed()))
            try:
                return self.process.wait(timeout=max(wait, 0.01))
            except subprocess.TimeoutExpired:
                continue

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM freqtrade, wait up to ``timeout``, then kill it; stop the fake exchange.

        SIGTERM, as ``docker stop`` and systemd send: freqtrade installs its own handler for it
        and stops as on Ctrl-C. SIGINT would be lost whenever this process was started as a
        background job of a script (``bash run.sh &``, cron): the shell starts those with SIGINT
        ignored, freqtrade inherits that, and would run on until killed.
        """
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.interrupted = True
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            code = self.process.returncode
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if self.server is not None:
            self.server.stop()
        return code

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- results -----------------------------------------------------------------------

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    @property
    def requests(self) -> list[RequestRecord]:
        return [] if self.server is None else self.server.requests

    def log_text(self) -> str:
        """freqtrade's output so far, with the key, the secret and signatures masked."""
        if not self.log_path.is_file():
            return ""
        return self.scrub(self.log_path.read_text(encoding="utf-8", errors="replace"))

    def raw_log_text(self) -> str:
        """freqtrade's output as written (for checks that it holds no secret)."""
        if not self.log_path.is_file():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def scrub(self, text: str) -> str:
        text = text.replace(self.secret, "***").replace(self.key, "***")
        return redact_signatures(text)

    def db_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(trades, orders) from freqtrade's database."""
        return read_db(self.db_path)

    def settled(self, require_stoploss: bool = True) -> bool:
        """No entry or exit order is open in freqtrade's database, and (by default) every open
        trade has an open stoploss order: a moment when stopping leaves nothing half done."""
        trades, orders = self.db_rows()
        open_ids = {t["id"] for t in trades if t["is_open"]}
        protected = set()
        for order in orders:
            if not order["ft_is_open"]:
                continue
            if order["ft_order_side"] != "stoploss":
                return False
            protected.add(order["ft_trade_id"])
        return not require_stoploss or open_ids <= protected

    def positions(self) -> list[dict[str, Any]]:
        """The exchange's open positions of the rehearsal account."""
        assert self.server is not None
        acct = self.server.account(self.key)
        with acct.lock:
            return [dict(p) for p in acct.positions if float(p.get("positionAmt") or 0) != 0]

    def summary(self) -> RehearsalSummary:
        records = self.requests
        trades, orders = self.db_rows()
        open_orders = [o for o in orders if o["ft_is_open"] and o["ft_order_side"] != "stoploss"]
        unsettled = [
            f"{o['ft_pair']} {o['ft_order_side']} {o['order_type']} {o['order_id']} "
            f"(trade #{o['ft_trade_id']})"
            for o in open_orders
        ]
        pending = sorted({swap_symbol(o["ft_pair"]) for o in open_orders})
        by_side: dict[str, Counter] = {}
        stoplosses = []
        for record in order_requests(records):
            if record.code != 0:
                continue
            kind = classify_order(record, self.hedge)
            side = record.params.get("positionSide", "(none)")
            by_side.setdefault(side, Counter())[kind] += 1
            if kind == "stoploss":
                stoplosses.append(
                    {k: record.params.get(k) for k in ("symbol", "positionSide", "side")}
                    | {"stopPrice": record.params.get("stopPrice"), "t": record.t}
                )
        margin_calls = [
            {
                "symbol": r.params.get("symbol"),
                "marginType": r.params.get("marginType"),
                "code": r.code,
            }
            for r in records
            if r.method == "POST" and r.path == MARGIN_TYPE_PATH
        ]
        log = self.log_text()
        return RehearsalSummary(
            mode="hedge" if self.hedge else "one-way",
            seconds=self.elapsed(),
            exit_code=self.exit_code,
            interrupted=self.interrupted,
            trades=trades,
            leverage_calls=leverage_calls(records, self.hedge),
            margin_type_calls=margin_calls,
            orders_by_side={side: dict(kinds) for side, kinds in by_side.items()},
            stoplosses=stoplosses,
            ledger_errors=ledger_errors(records),
            log_problems=[line for line in log.splitlines() if _LOG_PROBLEM.search(line)],
            mismatches=reconcile(trades, self.positions(), pending) if self.server else [],
            unsettled=unsettled,
            faults=list(self.applied_faults),
        )


def ledger_errors(records: Sequence[RequestRecord]) -> list[dict[str, Any]]:
    """Non-zero answers grouped by endpoint and code, with what followed on that endpoint."""
    groups: dict[tuple[str, str, int | None], dict[str, Any]] = {}
    for index, record in enumerate(records):
        failed = record.code not in (0, None) or (record.http_status or 200) >= 400
        if not failed:
            continue
        key = (record.method, record.path, record.code)
        group = groups.setdefault(
            key,
            {
                "method": record.method,
                "path": record.path,
                "code": record.code if record.code is not None else record.http_status,
                "msg": getattr(record, "msg", ""),
                "count": 0,
                "last_index": index,
                "last_t": record.t,
            },
        )
        group["count"] += 1
        group["last_index"], group["last_t"] = index, record.t
    for group in groups.values():
        later = [
            r
            for r in records[group["last_index"] + 1 :]
            if r.method == group["method"] and r.path == group["path"] and r.code == 0
        ]
        if later:
            delay = (later[0].t - group["last_t"]) / 1000
            group["handled"] = f"the endpoint answered OK again {delay:.1f} s later"
        else:
            group["handled"] = "no later successful call to this endpoint"
    return sorted(groups.values(), key=lambda g: g["last_index"])


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m freqtrade_bingx.tools.rehearse",
        description="Run freqtrade live against a local fake BingX and summarise what it did.",
    )
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        help="freqtrade config (repeatable); default: configs/live.json",
    )
    parser.add_argument("--strategy", default=STRATEGY)
    parser.add_argument("--strategy-path", help=f"default for {STRATEGY}: {STRATEGY_PATH}")
    parser.add_argument("--seconds", type=float, default=75.0, help="how long freqtrade trades")
    parser.add_argument("--hedge", action="store_true", help="the account starts in hedge mode")
    parser.add_argument("--timeframe", help="override the strategy's timeframe")
    parser.add_argument("--seed", default="1", help="seed of the fake's price walk")
    parser.add_argument("--volatility", type=float, default=VOLATILITY)
    parser.add_argument("--workdir", help="keep config, database and log here (default: temp)")
    parser.add_argument("--show-log", action="store_true", help="print freqtrade's log too")
    args = parser.parse_args(argv)

    rehearsal = Rehearsal(
        hedge=args.hedge,
        config_files=args.config,
        strategy=args.strategy,
        strategy_path=args.strategy_path,
        workdir=args.workdir,
        timeframe=args.timeframe,
        seed=args.seed,
        volatility=args.volatility,
    )
    print(
        f"Rehearsing {args.strategy} for {args.seconds:.0f} s "
        f"({'hedge' if args.hedge else 'one-way'} mode) in {rehearsal.workdir}",
        flush=True,
    )
    try:
        rehearsal.start()
        assert rehearsal.server is not None
        print(f"Local fake BingX at {rehearsal.server.base_url}; freqtrade started", flush=True)
        rehearsal.run(args.seconds)
        # Stop at a moment with no entry or exit order in flight, if one comes soon.
        rehearsal.run(
            SETTLE_SECONDS,
            on_tick=lambda r: r.settled(require_stoploss=args.strategy == STRATEGY),
            poll_s=0.25,
        )
    except KeyboardInterrupt:
        print("Interrupted; stopping freqtrade", flush=True)
    finally:
        code = rehearsal.stop()
    if args.show_log:
        print(rehearsal.log_text())
    summary = rehearsal.summary()
    print(summary.text())
    print(f"\nfreqtrade's log: {rehearsal.log_path}")
    return 0 if code is not None and summary.clean else 1


if __name__ == "__main__":
    sys.exit(main())

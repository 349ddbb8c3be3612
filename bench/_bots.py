"""Several bots on one BingX account: the plugin's exchange in processes of its own.

Each :class:`BotProcess` is a separate Python process (``multiprocessing``, spawn: a fresh
interpreter, as a second ``freqtrade trade`` would be) that builds the plugin's live futures
exchange against a fake BingX on 127.0.0.1, then runs what the parent sends it. The bots start
together: every process first builds its exchange and loads markets, then waits for
:func:`go`, so their requests meet at BingX's per-account limits at the same moment.
"""

import multiprocessing
import sys
import time
import types
from pathlib import Path
from typing import Any


BENCH = Path(__file__).resolve().parent
READY_TIMEOUT_S = 60.0


def _bot_main(conn, server: dict, overrides: dict, instant_backoff: bool) -> None:
    sys.path.insert(0, str(BENCH))
    from _support import plugin_exchange, quiet_logs

    quiet_logs()
    if instant_backoff:
        # freqtrade's @retrier backs off 1, 4, 9 ... s between tries: not here.
        from freqtrade.exchange import common

        common.time = types.SimpleNamespace(sleep=lambda _s: None)
    fake = types.SimpleNamespace(**server)
    with plugin_exchange(fake, **overrides) as exchange:
        conn.send(("ready", None))
        while True:
            command, args = conn.recv()
            if command == "stop":
                return
            conn.send(_run(exchange, command, args))


def _run(exchange, command: str, args: Any) -> tuple[str, Any]:
    if command == "lev_prep":
        # args: [(pair, leverage, side), ...], as freqtrade's loop calls them one after another
        started = time.perf_counter()
        errors = []
        for pair, leverage, side in args:
            try:
                exchange._lev_prep(pair, leverage, side)
            except Exception as e:  # noqa: BLE001  (reported to the parent, not lost)
                errors.append(f"{pair}: {type(e).__name__}: {e}")
        return ("done", {"elapsed": time.perf_counter() - started, "errors": errors})
    if command == "create_orders":
        # args: [(pair, side, amount, leverage), ...]: market orders through freqtrade's
        # Exchange.create_order, one after another as freqtrade's loop places them.
        started = time.perf_counter()
        errors = []
        for pair, side, amount, leverage in args:
            try:
                exchange.create_order(
                    pair=pair,
                    ordertype="market",
                    side=side,
                    amount=amount,
                    rate=None,
                    leverage=leverage,
                )
            except Exception as e:  # noqa: BLE001  (reported to the parent, not lost)
                errors.append(f"{pair}: {type(e).__name__}: {e}")
        return ("done", {"elapsed": time.perf_counter() - started, "errors": errors})
    if command == "confirmed":
        return ("done", dict(exchange.account_settings.leverage_confirmed))
    return ("error", f"unknown command {command!r}")


class BotProcess:
    """One bot in a process of its own; ``overrides`` go into its ``exchange`` config."""

    def __init__(self, server, instant_backoff: bool = False, **overrides: Any) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        shared = {"ccxt_urls": server.ccxt_urls, "contracts": server.contracts}
        self.process = ctx.Process(
            target=_bot_main, args=(child, shared, overrides, instant_backoff), daemon=True
        )
        self.process.start()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        if not self._conn.poll(timeout):
            raise TimeoutError("a bot process did not start in time")
        status, detail = self._conn.recv()
        if status != "ready":
            raise RuntimeError(f"bot process failed to start: {detail}")

    def send(self, command: str, args: Any = None) -> None:
        self._conn.send((command, args))

    def result(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise TimeoutError(f"a bot process gave no answer within {timeout:.0f} s")
        status, detail = self._conn.recv()
        if status != "done":
            raise RuntimeError(detail)
        return detail

    def call(self, command: str, args: Any = None, timeout: float = 60.0) -> Any:
        self.send(command, args)
        return self.result(timeout)

    def stop(self) -> None:
        try:
            self._conn.send(("stop", None))
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()  # this process only, started above
            self.process.join(timeout=5)


def start_bots(server, n: int, **overrides: Any) -> list[BotProcess]:
    """``n`` bots on the server's account, all started and ready."""
    bots = [BotProcess(server, **overrides) for _ in range(n)]
    try:
        for bot in bots:
            bot.wait_ready()
    except BaseException:
        for bot in bots:
            bot.stop()
        raise
    return bots


def together(bots: list[BotProcess], command: str, args_per_bot: list, timeout: float) -> list:
    """Send every bot its command at once; their answers in the same order."""
    for bot, args in zip(bots, args_per_bot, strict=True):
        bot.send(command, args)
    return [bot.result(timeout) for bot in bots]

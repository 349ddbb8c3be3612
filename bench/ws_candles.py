"""Candle latency at a close, websocket vs REST only, for 20 and 100 pairs; REST kline requests.

freqtrade's own exchange (the plugin's class, built by freqtrade's resolver from the shipped
live config, in dry-run, ccxt's throttle on as every user has it) refreshes its candles with
``refresh_latest_ohlcv`` as the bot loop does, against the fake BingX: REST klines, and its
swap market websocket (ccxt.pro ``watchOHLCV``, freqtrade's ``ExchangeWS``). One clock drives
both freqtrade's candle arithmetic and the fake, and moves to 1 s past each candle's close, so
three 1-minute candles take seconds, not minutes.

Both exchanges share the fake and the clock. At each close the websocket one is measured
first, then the REST one.

Latency: from the candle's close (websocket: the fake sends the closing pushes of every pair
then) until ``refresh_latest_ohlcv`` has returned with the closed candle of all N pairs in
freqtrade's cache. freqtrade's loop wakes on its own schedule (``process_throttle_secs``) in
both modes; the figure assumes it wakes at the close.
"""

import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import API_KEY, API_SECRET, contracts, median, pair, quiet_logs


SIZES = (20, 100)
CLOSES = 2
MINUTE = 60_000
TIMEFRAME = "1m"
WAIT_S = 30.0


def _exchange(server, folder: Path, pairs: list[str], ws: bool):
    from freqtrade.resolvers import ExchangeResolver

    from tests.configs import dry_run_config

    config = dry_run_config(
        server,
        folder,
        {"enableRateLimit": True},  # ccxt's own throttle, on as it is for every user
        enable_ws=ws,
        pair_whitelist=pairs,
        account_state_dir=str(folder / "state"),
    )
    return ExchangeResolver.load_exchange(config, validate=True)


def _wait(done, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _session(n: int) -> dict[str, dict]:
    """Two exchanges on one fake and one clock, websocket candles on and off: latency and
    REST kline requests at each of ``CLOSES`` candle closes of ``n`` pairs."""
    from freqtrade.enums import CandleType

    from freqtrade_bingx.sim import FakeBingx
    from freqtrade_bingx.sim.server import KLINES_PATH
    from tests.clocks import FakeClock, freqtrade_now

    listed = contracts(n)
    pairs = [pair(c["symbol"]) for c in listed]
    jobs = [(p, TIMEFRAME, CandleType.FUTURES) for p in pairs]
    start_ms = (int(time.time() * 1000) // MINUTE - 30) * MINUTE + 10_000
    out: dict[str, dict] = {mode: {"latencies": [], "requests": []} for mode in ("ws", "rest")}
    with (
        freqtrade_now(FakeClock(start_ms / 1000)) as clock,
        FakeBingx(
            accounts={API_KEY: API_SECRET},
            contracts=listed,
            clock_ms=clock.now_ms,
            ws_push_interval_s=None,
            ws_ping_interval_s=None,
        ) as server,
        tempfile.TemporaryDirectory(prefix="ftbx-bench-ws-") as tmp,
    ):
        bots = {}
        try:
            for mode in ("ws", "rest"):
                (Path(tmp) / mode).mkdir()
                bots[mode] = _exchange(server, Path(tmp) / mode, pairs, ws=mode == "ws")
            feed = bots["ws"]._exchange_ws

            def delivered() -> bool:
                want = clock.ms // MINUTE * MINUTE
                return all((feed.ohlcvs(p, TIMEFRAME) or [[0]])[-1][0] == want for p in pairs)

            # The start-up history over REST, one bot after the other (side by side, the fake in
            # this process answers late enough under load for ccxt to time out).
            for bot in bots.values():
                bot.refresh_latest_ohlcv(jobs)
                if len(bot._klines) != n:
                    raise RuntimeError("the start-up history did not load for every pair")
            _wait(lambda: len(server.ws.subscriptions()) == n, "the subscriptions")
            server.ws.push_now()
            _wait(delivered, "the first pushes")
            for _ in range(CLOSES):
                clock.ms += 30_000  # mid-candle: the candle so far
                server.ws.push_now()
                _wait(delivered, "the mid-candle pushes")
                clock.ms += MINUTE - clock.ms % MINUTE + 1_000  # 1 s past the close
                closed = clock.ms // MINUTE * MINUTE - MINUTE
                for mode, bot in bots.items():
                    before = server.count(KLINES_PATH)
                    started = time.perf_counter()
                    if mode == "ws":
                        server.ws.push_now()
                        _wait(delivered, "the closing pushes")
                    bot.refresh_latest_ohlcv(jobs)
                    out[mode]["latencies"].append(time.perf_counter() - started)
                    out[mode]["requests"].append(server.count(KLINES_PATH) - before)
                    for job in jobs:
                        last = bot.klines(job)["date"].iloc[-1]
                        if int(last.timestamp() * 1000) != closed:
                            raise RuntimeError(f"{job[0]}: the closed candle is not in the cache")
        finally:
            for bot in bots.values():
                bot.close()
    return out


def main() -> list[dict]:
    quiet_logs()
    rows = []
    for n in SIZES:
        measured = _session(n)
        ws, rest = measured["ws"], measured["rest"]
        ws_ms, rest_ms = median(ws["latencies"]) * 1000, median(rest["latencies"]) * 1000
        # Steady state, 1-minute candles: requests per close x 60 closes an hour.
        ws_hour, rest_hour = median(ws["requests"]) * 60, median(rest["requests"]) * 60
        rows.append(
            {
                "benchmark": f"10. candle close -> closed candle of all {n} pairs in freqtrade's "
                f"cache, 1m ({CLOSES} closes each)",
                "plugin": f"websocket: {ws_ms:.0f} ms; {ws_hour:.0f} REST kline requests/hour",
                "peer": f"REST only: {rest_ms:.0f} ms; {rest_hour:.0f} REST kline requests/hour",
                "result": f"x{rest_ms / ws_ms:.1f} faster; {rest_hour - ws_hour:.0f} fewer "
                "requests/hour (start-up history and fallbacks aside)",
                "target": "(informational: the websocket feed's gain)",
                "how": (
                    "In-process freqtrade exchange (plugin class, freqtrade's resolver with "
                    "validate=True, shipped live config in dry-run, ccxt's throttle on) against "
                    f"the fake BingX with {n} contracts; its candles refreshed by "
                    "`refresh_latest_ohlcv` as the bot loop does. One stepped clock drives "
                    "freqtrade's candle arithmetic and the fake; at 1 s past each close the fake "
                    "sends every pair's closing pushes (websocket) and freqtrade refreshes. "
                    "Latency = close until the refresh returned with every pair's closed candle "
                    "in the cache (checked), median over the closes, assuming freqtrade's loop "
                    "wakes at the close (it wakes every process_throttle_secs in both modes). "
                    "Requests = REST kline requests per close in steady state x 60."
                ),
            }
        )
    return rows


if __name__ == "__main__":
    for row in main():
        print(row)

"""The account's state on Redis (``exchange.account_state_url``) against the SQLite file.

Per request: the bookkeeping of one request to a limited endpoint (its slot taken, then
settled) and of one leverage change (the same, with the setting's claim riding with the slot
and BingX's answer with the settle), on the SQLite file (``AccountBudget``, ``SharedSettings``)
and on a real ``redis-server`` on loopback (``RedisBudget``, ``RedisSettings``), interleaved
call by call, median wall time. The limit is set far above the calls, so nothing waits.

Burst: bench/multi_bot.py's two-bot start-up burst (25 pairs each, margin type and leverage at
2/s per account at the fake BingX, counted at arrival), the bots in separate state folders (as
on two machines) sharing only one Redis.
"""

import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import multi_bot
from _support import LEVERAGE_PATH, median, quiet_logs, spread
from startup_burst import floor_seconds


CALLS = 2000
WARMUP = 100
LIMITS = {("POST", LEVERAGE_PATH): 1_000_000}  # never waits: the bookkeeping alone


def _clients(sqlite_path: Path, redis_url: str):
    from freqtrade_bingx.state import account_budget, redis_store, shared_settings

    store = redis_store.RedisStore(redis_url, "bench-account")
    on_redis = (redis_store.RedisBudget(store, LIMITS), redis_store.RedisSettings(store, "bench"))
    on_file = (
        account_budget.AccountBudget(sqlite_path, LIMITS),
        shared_settings.SharedSettings(sqlite_path, "bench"),
    )
    return {"SQLite file": on_file, "Redis (loopback)": on_redis}


def _request(budget, _settings) -> None:
    budget.settle(budget.acquire("POST", LEVERAGE_PATH))


def _change(budget, settings) -> None:
    from freqtrade_bingx.state.shared_settings import LEVERAGE, Change

    change = Change(settings, LEVERAGE, "BTC-USDT", "LONG")
    ticket = budget.acquire("POST", LEVERAGE_PATH, also=change.claim_in)
    change.answer(3)
    budget.settle(ticket, also=change.answer_in)
    if not change.recorded:
        raise RuntimeError("the answer was not recorded")


def measure(calls: int = CALLS) -> dict[tuple[str, str], list[float]]:
    from tests.redis_server import RedisServer

    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ftbx-redis-bench-") as folder, RedisServer() as redis:
        clients = _clients(Path(folder) / "account.sqlite", redis.url)
        for what, run in (("request", _request), ("leverage change", _change)):
            for i in range(WARMUP + calls):
                for name, (budget, settings) in clients.items():
                    started = time.perf_counter()
                    run(budget, settings)
                    if i >= WARMUP:
                        times.setdefault((what, name), []).append(time.perf_counter() - started)
        for budget, settings in clients.values():
            budget.close()
            settings.close()
    return times


def burst() -> dict:
    from tests.redis_server import RedisServer

    with RedisServer(password="bench-redis-password") as redis:
        return multi_bot.burst(1, account_state_url=redis.url)[0]


def main() -> list[dict]:
    quiet_logs()
    times = measure()
    rows = []
    for what in ("request", "leverage change"):
        on_file = times[(what, "SQLite file")]
        on_redis = times[(what, "Redis (loopback)")]
        file_us, redis_us = median(on_file) * 1e6, median(on_redis) * 1e6
        rows.append(
            {
                "benchmark": f"9. account state on Redis: bookkeeping per {what} "
                f"({CALLS} calls each, interleaved)",
                "plugin": f"Redis {redis_us:.0f} µs (IQR {spread([t * 1e6 for t in on_redis])})",
                "peer": f"SQLite file {file_us:.0f} µs (IQR {spread([t * 1e6 for t in on_file])})",
                "result": f"x{redis_us / file_us:.2f} of the file ({redis_us - file_us:+.0f} µs)",
                "target": "(informational: one script call per slot and per settle; a LAN adds "
                "its round trip to each)",
                "how": "slot taken and settled (a leverage change: with its claim and answer) "
                "on the state store alone, no HTTP; redis-server 7 on 127.0.0.1, no "
                "persistence; the SQLite file on the local disk (WAL).",
            }
        )
    out = burst()
    floor = floor_seconds(multi_bot.BOTS * multi_bot.PAIRS_PER_BOT, 2.0)
    refused = out["codes"].get(multi_bot.RATE_LIMITED, 0)
    over = out["elapsed"] / floor - 1
    met = refused == 0 and not out["errors"] and out["ok"] and over <= 0.10
    rows.append(
        {
            "benchmark": "9. two bots on two machines (separate state folders, one Redis) start "
            f"together, {multi_bot.PAIRS_PER_BOT} pairs each",
            "plugin": f"{out['elapsed']:.2f} s; {sum(out['sent'].values())} requests in all",
            "peer": f"per-account floor {floor:.1f} s "
            f"({multi_bot.BOTS * multi_bot.PAIRS_PER_BOT} POSTs at 2 per rolling second)",
            "result": f"{over:+.2%} over the floor; {refused} x 100410; {len(out['errors'])} "
            f"errors; account settings {'all applied' if out['ok'] else 'WRONG'}",
            "target": f"no 100410, within 10% of the floor: {'met' if met else 'missed'}",
            "how": "as row 7's burst, but each bot process in a state folder of its own and "
            "exchange.account_state_url on one redis-server (AUTH) on 127.0.0.1.",
        }
    )
    return rows


if __name__ == "__main__":
    for row in main():
        print(row)

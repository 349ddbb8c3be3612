"""Per-call cost of one order through freqtrade's ccxt object, against the loopback fake BingX.

Two clients place the same market order on the same fake server, in the same process,
interleaved call by call (the order rotates every round):

- plugin: the ccxt object freqtrade's exchange of the plugin made (``exchange._api``), with the
  plugin's guards on it: the account's shared rate budget (a slot taken before signing and
  settled at the reply: the pipeline's stages, net/pipeline.py), the refusal of blocked endpoints,
  BingX's clock for the timestamp, the whole-request deadline and reply cap, the error routing
  through the plugin's table, the block noting. The budget is on, as for every user, with the
  order endpoint's figure raised so that no call waits for a slot.
- ccxt: a plain ``ccxt.bingx`` (sync, ``enableRateLimit: False``) on the same server.

Both call ``create_order(pair, "market", side, amount)``, buy and sell in turn. The server has
no limit on the order endpoint. Each figure is the median wall time of one call.
"""

import itertools
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    API_KEY,
    API_SECRET,
    median,
    no_nagle_stalls,
    plain_ccxt,
    plugin_exchange,
    quiet_logs,
)


PAIR = "BTC/USDT:USDT"
ORDER_PATH = "/openApi/swap/v2/trade/order"
AMOUNT = 0.01
# The shared budget's figure for the order endpoint here: as many orders per window as the real
# figure (10 per second), in a window so short that no call waits for a slot, so only the
# bookkeeping of each request is measured, reading as many stamps as in use.
BENCH_RATE = (10, 10)  # 10 orders per 10 ms; the plugin's client places one every ~4 ms


def measure(calls: int = 300, warmup: int = 20) -> dict[str, list[tuple[float, float]]]:
    """(wall, client-thread CPU) seconds per call for each client, interleaved call by call."""
    from freqtrade_bingx.sim import FakeBingx
    from freqtrade_bingx.state.account_budget import Rate

    quiet_logs()
    with (
        no_nagle_stalls(),
        tempfile.TemporaryDirectory(prefix="ftbx-bench-state-") as state,
        FakeBingx(
            accounts={API_KEY: API_SECRET}, rate_limits={("POST", ORDER_PATH): None}
        ) as server,
        plugin_exchange(server, account_state_dir=state) as exchange,
    ):
        budget = exchange.bingx.pipeline.budget
        if budget is None or not budget.active:
            raise RuntimeError("the plugin opened no shared account budget")
        budget.rates[("POST", ORDER_PATH)] = Rate(*BENCH_RATE)
        api = plain_ccxt(server)
        clients = {"plugin": exchange._api, "ccxt": api}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        sides = {name: itertools.cycle(("buy", "sell")) for name in clients}
        names = list(clients)
        try:
            for round_no in range(warmup + calls):
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    client = clients[name]
                    side = next(sides[name])
                    cpu = time.thread_time()
                    start = time.perf_counter()
                    client.create_order(PAIR, "market", side, AMOUNT)
                    elapsed = time.perf_counter() - start
                    cpu = time.thread_time() - cpu
                    if round_no >= warmup:
                        times[name].append((elapsed, cpu))
            orders = [r for r in server.requests if (r.method, r.path) == ("POST", ORDER_PATH)]
            expected = len(names) * (warmup + calls)
            if len(orders) != expected or any(r.code not in (0, None) for r in orders):
                raise RuntimeError(f"{len(orders)} orders reached the server, not {expected}")
        finally:
            if api.session is not None:
                api.session.close()
    return times


def main(calls: int = 300) -> list[dict]:
    times = measure(calls)
    wall = {name: median([w for w, _ in values]) * 1e6 for name, values in times.items()}
    cpu = {name: median([c for _, c in values]) * 1e6 for name, values in times.items()}
    ratio = wall["plugin"] / wall["ccxt"]
    verdict = "met" if ratio <= 1.10 else f"missed: x{ratio:.2f} of ccxt"
    return [
        {
            "benchmark": f"2c. order through freqtrade's ccxt object, shared budget on, per call "
            f"({calls} calls each, interleaved)",
            "plugin": f"{wall['plugin']:.0f} µs (client CPU {cpu['plugin']:.0f} µs)",
            "peer": f"plain ccxt.bingx {wall['ccxt']:.0f} µs (CPU {cpu['ccxt']:.0f})",
            "result": f"x{ratio:.3f} of plain ccxt ({wall['plugin'] - wall['ccxt']:+.0f} µs)",
            "target": f"≤ x1.10 of plain ccxt: {verdict}",
            "how": (
                f"{calls} market orders per client (buy and sell in turn, {AMOUNT} {PAIR}) after "
                "20 warm-up calls, interleaved call by call (order rotating) on one in-process "
                "loopback FakeBingx with no server-side limit on orders and TCP_NODELAY set. "
                "plugin = `create_order` on the sync ccxt object of the plugin's freqtrade "
                "exchange (live futures), every guard on: the account's shared budget (one "
                "SQLite statement to take the slot, one to settle it), blocked-endpoint "
                "refusal, BingX's clock, deadline and reply cap, error routing, block noting; "
                f"the order endpoint's shared figure {BENCH_RATE[0]} per {BENCH_RATE[1]} ms (as "
                "many stamps in the window as the real figure; no call waits); ccxt = a plain "
                "sync `ccxt.bingx`, `enableRateLimit: False`. "
                "Median wall µs per call; client CPU = `time.thread_time` of the calling thread."
            ),
        }
    ]


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else 300):
        print(row)

"""Per-call cost of one leverage change against the loopback fake BingX.

Five clients set leverage on the same fake server, in the same process, interleaved call by
call (the order rotates every round):

- plugin: the plugin's ``Bingx._set_leverage`` hook, exactly as freqtrade calls it
  (``@retrier``, position side, whole-number check, signed transport, error translation), with
  everything a user has by default: the account's state file, whose rate budget takes a slot
  for the request (one SQLite statement to admit it, one to settle it at the reply) and whose
  confirmed-settings rows are read, claimed before sending and written after (state_store.py).
  The value alternates between two leverages so the plugin's memory of the confirmed value
  never lets it skip the request. The endpoint's shared figure is raised to
  :data:`BENCH_RATE` (5 per 5 ms; the plugin keeps to 2 per second), so that no call waits.
- plugin without the shared budget (informational): a second exchange object whose requests
  take no slot at all (neither the shared budget nor its own): the cost of the budget.
- plugin without the state file (informational): a third one with no budget and no
  confirmed-settings rows, to show what the multi-bot safety costs.
- bare: a few lines of ``requests.Session`` (keep-alive): HMAC-SHA256 over the query string,
  one POST, the JSON envelope checked. The floor any Python client pays.
- ccxt: ``ccxt.bingx`` (sync, ``enableRateLimit: False``) ``set_leverage(lev, symbol,
  {'side': 'BOTH'})`` on the same server.

Each figure is the median wall time of one call.
"""

import hashlib
import hmac
import itertools
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    API_KEY,
    API_SECRET,
    LEVERAGE_PATH,
    median,
    no_nagle_stalls,
    plain_ccxt,
    plugin_exchange,
    quiet_logs,
)


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
LEVERAGES = (3, 4)
# The second plugin exchange reads the leverage the first one set when it starts: other values,
# so that neither ever finds the leverage it wants already set and skips the request.
BUDGETED_LEVERAGES = (11, 12)  # not the fake account's starting 5x either
STATELESS_LEVERAGES = (7, 8)
NO_BUDGET_LEVERAGES = (9, 10)


def bare_client(base_url: str, offset_ms: int = 0):
    """A minimal signed BingX client: the cost floor of a leverage POST from Python."""
    import requests

    session = requests.Session()
    session.trust_env = False  # as the plugin's and ccxt's sessions: no environment scan per call
    url = base_url + LEVERAGE_PATH
    headers = {"X-BX-APIKEY": API_KEY}
    secret = API_SECRET.encode()

    def set_leverage(leverage: int) -> None:
        query = (
            f"symbol={SYMBOL}&side=BOTH&leverage={leverage}"
            f"&timestamp={int(time.time() * 1000) + offset_ms}&recvWindow=5000"
        )
        signature = hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()
        reply = session.post(f"{url}?{query}&signature={signature}", headers=headers, timeout=5)
        if reply.json().get("code") not in (0, "0"):
            raise RuntimeError(f"bare client: {reply.text}")

    return set_leverage, session.close


def ccxt_client(server):
    api = plain_ccxt(server)

    def set_leverage(leverage: int) -> None:
        api.set_leverage(leverage, PAIR, {"side": "BOTH"})

    def close() -> None:
        session = getattr(api, "session", None)
        if session is not None:
            session.close()

    return set_leverage, close


# The shared budget's figure for the endpoint in the headline client: as many requests per
# window as a real figure allows (so the window the admitting statement reads holds as many
# stamps as in use), in a window so short that no call waits for a slot, and only the
# bookkeeping of each request is measured. (A figure raised to 100000 per second instead had
# it read the hundreds of stamps of the last second on every call, which no real one does.)
BENCH_RATE = (5, 5)  # 5 requests per 5 ms; the clients take turns, the plugin's comes every ~5 ms


def plugin_client(exchange, *, shared_budget: bool = True, state_file: bool = True):
    from freqtrade_bingx.state.account_budget import Rate

    transport = exchange.bingx
    # The bot's own budget holds a request only when the shared one cannot: taken off here.
    transport.pipeline.local_budget.rates.pop(("POST", LEVERAGE_PATH), None)
    if shared_budget:
        budget = transport.pipeline.budget
        if budget is None or not budget.active:
            raise RuntimeError("the plugin opened no shared account budget")
        budget.rates[("POST", LEVERAGE_PATH)] = Rate(*BENCH_RATE)
    else:
        transport.pipeline.budget = None
    if not state_file:
        exchange.link.shared = None  # no confirmed-settings rows either: the transport's share

    def set_leverage(leverage: int) -> None:
        if exchange._set_leverage(leverage, PAIR, side="buy") != leverage:
            raise RuntimeError("plugin did not confirm the leverage")

    return set_leverage


def measure(calls: int = 300, warmup: int = 20) -> dict[str, list[tuple[float, float]]]:
    """(wall, client-thread CPU) seconds per call for each client, interleaved call by call."""
    from freqtrade_bingx.sim import FakeBingx

    quiet_logs()
    with (
        no_nagle_stalls(),
        # One account state for the three plugin exchanges, as for bots on one account: their
        # start-up requests keep to BingX's per-account limits together.
        tempfile.TemporaryDirectory(prefix="ftbx-bench-state-") as state,
        FakeBingx(accounts={API_KEY: API_SECRET}, leverage_rate_limit_per_s=None) as server,
        plugin_exchange(server, account_state_dir=state) as exchange,
        plugin_exchange(server, account_state_dir=state) as budgeted,
        plugin_exchange(server, account_state_dir=state) as stateless,
    ):
        bare, bare_close = bare_client(server.base_url)
        ccxt_set, ccxt_close = ccxt_client(server)
        clients = {
            "plugin": plugin_client(budgeted),
            "bare": bare,
            "ccxt": ccxt_set,
            "no budget": plugin_client(exchange, shared_budget=False),
            "stateless": plugin_client(stateless, shared_budget=False, state_file=False),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        levs = {name: itertools.cycle(LEVERAGES) for name in clients}
        levs["no budget"] = itertools.cycle(NO_BUDGET_LEVERAGES)
        levs["plugin"] = itertools.cycle(BUDGETED_LEVERAGES)
        levs["stateless"] = itertools.cycle(STATELESS_LEVERAGES)
        names = list(clients)
        try:
            for round_no in range(warmup + calls):
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    call = clients[name]
                    leverage = next(levs[name])
                    cpu = time.thread_time()
                    start = time.perf_counter()
                    call(leverage)
                    elapsed = time.perf_counter() - start
                    cpu = time.thread_time() - cpu
                    if round_no >= warmup:
                        times[name].append((elapsed, cpu))
            sent = server.count(LEVERAGE_PATH, "POST")
            expected = len(names) * (warmup + calls)
            if sent != expected:
                raise RuntimeError(f"{sent} leverage POSTs reached the server, not {expected}")
            refused = [r for r in server.requests if r.code not in (0, None)]
            if refused:
                raise RuntimeError(f"the server refused {len(refused)} calls: {refused[0]}")
        finally:
            bare_close()
            ccxt_close()
    return times


def main(calls: int = 300) -> list[dict]:
    times = measure(calls)
    wall = {name: median([w for w, _ in values]) * 1e6 for name, values in times.items()}
    cpu = {name: median([c for _, c in values]) * 1e6 for name, values in times.items()}
    vs_bare = wall["plugin"] / wall["bare"]
    vs_ccxt = wall["plugin"] / wall["ccxt"]
    misses = []
    if vs_bare > 1.10:
        misses.append(f"x{vs_bare:.2f} of bare")
    if vs_ccxt >= 1.0:
        misses.append(f"x{vs_ccxt:.3f} of ccxt")
    verdict = "met" if not misses else "missed: " + "; ".join(misses)
    peers = (
        f"bare requests {wall['bare']:.0f} µs (CPU {cpu['bare']:.0f}); "
        f"ccxt {wall['ccxt']:.0f} µs (CPU {cpu['ccxt']:.0f})"
    )
    budget_cost = wall["plugin"] - wall["no budget"]
    return [
        {
            "benchmark": f"2. leverage change, shared budget on (the default), per call ({calls} "
            "calls each, interleaved)",
            "plugin": f"{wall['plugin']:.0f} µs (client CPU {cpu['plugin']:.0f} µs)",
            "peer": peers,
            "result": f"x{vs_bare:.3f} of bare ({wall['plugin'] - wall['bare']:+.0f} µs); "
            f"x{vs_ccxt:.3f} of ccxt ({wall['plugin'] - wall['ccxt']:+.0f} µs)",
            "target": f"≤ x1.10 of bare and < ccxt: {verdict}",
            "how": (
                f"{calls} calls per client after 20 warm-up calls, interleaved call by call "
                "(order rotating) on one in-process loopback FakeBingx with no server-side "
                "limit and TCP_NODELAY set on its sockets (else 40 ms delayed-ACK stalls hit "
                "every client alike). plugin = freqtrade's `_set_leverage` hook of the plugin "
                "class, alternating two leverages so its cache never skips a request, with the "
                "account's state file as every user has it: the shared rate budget and the "
                "confirmed-settings rows in two SQLite transactions (the slot taken with the "
                "row marked unknown before sending; the slot settled with BingX's answer "
                "after), the three plugin exchanges sharing one state file. The endpoint's "
                f"shared figure is {BENCH_RATE[0]} per {BENCH_RATE[1]} ms (as many stamps in "
                "the window as a real figure allows; no call waits for a slot); bare = "
                "`requests.Session` keep-alive POST, HMAC over the query, "
                "envelope checked; ccxt = sync `ccxt.bingx.set_leverage(lev, symbol, {'side': "
                "'BOTH'})`, `enableRateLimit: False`. Median wall µs per call; client CPU = "
                "`time.thread_time` of the calling thread."
            ),
        },
        {
            "benchmark": "2b. leverage change without the shared budget, per call (informational)",
            "plugin": f"{wall['no budget']:.0f} µs (client CPU {cpu['no budget']:.0f} µs)",
            "peer": peers,
            "result": f"x{wall['no budget'] / wall['bare']:.3f} of bare; the budget adds "
            f"{budget_cost:+.0f} µs (row 2). Without the account's state file at all "
            f"(neither budget nor confirmed-settings rows): {wall['stateless']:.0f} µs "
            f"(CPU {cpu['stateless']:.0f}), x{wall['stateless'] / wall['bare']:.3f} of bare",
            "target": "none (no config value takes the budget or the file away)",
            "how": (
                "Measured in the same interleaved loop as row 2, on a second plugin exchange "
                "whose requests take no slot of any budget (neither the shared one nor the "
                "bot's own), and a third with no confirmed-settings rows either."
            ),
        },
    ]


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else 300):
        print(row)

"""Per-call cost of one leverage change against the loopback fake BingX.

Five clients set leverage on the same fake server, in the same process, interleaved call by
call (the order rotates every round):

- plugin: the plugin's ``Bingx._set_leverage`` hook, exactly as freqtrade calls it
  (``@retrier``, position side, whole-number check, signed transport, error translation).
  The value alternates between two leverages so the plugin's memory of the confirmed value
  never lets it skip the request. Both its limiters are taken off the transport for this
  measurement (no config value switches them off): the per-process one, and the rate budget
  it shares with other bots on the account (account_budget.py, one SQLite file per account).
  The server has no limit on the endpoint, so no call waits for a rate-limit slot. What stays
  is everything else a user pays: the deadline and size cap, the reply checks, the memory of
  confirmed values and its rows in the account's state file (shared_settings.py: the position
  mode read, the row claimed before sending and BingX's answer written after, one SQLite
  statement each).
- plugin + shared budget (informational, no target): the same on a second exchange object
  whose shared budget stays on, with the leverage endpoint's figure raised so that no call
  waits: the cost of counting each request in the shared file, which every real user pays.
- plugin without the state file (informational): a third exchange object with the shared
  budget off and no confirmed-settings rows, to show what the multi-bot safety costs.
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
    plugin_exchange,
    quiet_logs,
)


PAIR = "BTC/USDT:USDT"
SYMBOL = "BTC-USDT"
LEVERAGES = (3, 4)
# The second plugin exchange reads the leverage the first one set when it starts: other values,
# so that neither ever finds the leverage it wants already set and skips the request.
BUDGETED_LEVERAGES = (5, 6)
STATELESS_LEVERAGES = (7, 8)


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
    import ccxt

    api = ccxt.bingx(
        {
            "apiKey": API_KEY,
            "secret": API_SECRET,
            "urls": {"api": server.ccxt_urls["api"]},
            "enableRateLimit": False,
        }
    )
    api.load_markets()

    def set_leverage(leverage: int) -> None:
        api.set_leverage(leverage, PAIR, {"side": "BOTH"})

    def close() -> None:
        session = getattr(api, "session", None)
        if session is not None:
            session.close()

    return set_leverage, close


# The shared budget's figure for the endpoint in the "plugin + shared budget" client: far above
# the calls made here, so no call waits and only the bookkeeping of each request is measured.
UNLIMITED_PER_S = 100_000.0


def plugin_client(exchange, *, shared_budget: bool = False, state_file: bool = True):
    # Measured without the client-side limiters, which only the benchmark takes away.
    transport = exchange.bingx
    transport._limiters.pop(("POST", LEVERAGE_PATH), None)
    if shared_budget:
        from freqtrade_bingx.account_budget import AccountBudget

        budget = transport.budget
        if budget is None:
            raise RuntimeError("the plugin opened no shared account budget")
        budget.close()
        transport.budget = AccountBudget(budget.path, {("POST", LEVERAGE_PATH): UNLIMITED_PER_S})
    else:
        transport.budget = None
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
            "plugin": plugin_client(exchange),
            "bare": bare,
            "ccxt": ccxt_set,
            "budget": plugin_client(budgeted, shared_budget=True),
            "stateless": plugin_client(stateless, state_file=False),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        levs = {name: itertools.cycle(LEVERAGES) for name in clients}
        levs["budget"] = itertools.cycle(BUDGETED_LEVERAGES)
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
    budget_cost = wall["budget"] - wall["plugin"]
    return [
        {
            "benchmark": f"2. leverage change, per call ({calls} calls each, interleaved)",
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
                "class, alternating 3x/4x so its cache never skips a request, with both "
                "client-side limiters taken off the transport for this measurement only (the "
                "per-process limiter and the shared per-account budget; row 2b counts the "
                "budget); still counted: the whole-request deadline and reply cap, the reply "
                "checks, the confirmed-settings rows in the account's state file (position "
                "mode read, row claimed before sending, answer written after: three SQLite "
                "statements, the three plugin exchanges sharing one state file); bare = "
                "`requests.Session` keep-alive POST, HMAC over the query, envelope checked; "
                "ccxt = sync `ccxt.bingx.set_leverage(lev, symbol, {'side': 'BOTH'})`, "
                "`enableRateLimit: False`. Median wall µs per call; client CPU = "
                "`time.thread_time` of the calling thread."
            ),
        },
        {
            "benchmark": "2b. leverage change with the shared account budget, per call "
            "(informational)",
            "plugin": f"{wall['budget']:.0f} µs (client CPU {cpu['budget']:.0f} µs)",
            "peer": peers,
            "result": f"x{wall['budget'] / wall['bare']:.3f} of bare; the budget adds "
            f"{budget_cost:+.0f} µs to row 2. Without the account's state file at all "
            f"(neither budget nor confirmed-settings rows): {wall['stateless']:.0f} µs "
            f"(CPU {cpu['stateless']:.0f}), x{wall['stateless'] / wall['bare']:.3f} of bare",
            "target": "none (what a real user pays per request on a limited endpoint)",
            "how": (
                "Measured in the same interleaved loop as row 2, on a second plugin exchange "
                "whose shared per-account budget (account_budget.py: pyrate-limiter's SQLite "
                "bucket under a file lock, so bots on one account keep to BingX's per-account "
                f"limits together) stays on, with the endpoint's figure raised to "
                f"{UNLIMITED_PER_S:.0f}/s so no call waits: what is measured is counting each "
                "request in the shared file, not waiting for a slot. The figure without the "
                "state file comes from a third plugin exchange in the same loop with the "
                "budget off and no confirmed-settings rows (what one bot alone would pay "
                "without the multi-bot safety; no config value turns it off)."
            ),
        },
    ]


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else 300):
        print(row)

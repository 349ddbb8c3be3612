"""Start-up burst: margin type and leverage for 100 pairs at once, at BingX's rate limits.

A bot that enters 100 pairs at once (or a cold start with 100 open slots) calls
``_lev_prep(pair, 3, side)`` for each pair in turn, as freqtrade's single loop does. For each
pair the plugin reads the margin type (GET, client limit 5/s), sets it (POST, 2/s) because the
account starts at CROSSED and the config says isolated, and sets leverage (POST, 2/s) because
the account starts at 5x. Client limits are the plugin's defaults; nothing is scaled.

The fake BingX enforces BingX's published limits on its side and answers 100410 beyond them:
margin-type POST 2/s, and set-leverage either 5/s (BingX's endpoint page) or 2/s (BingX's
markdown export and ccxt, the figure the client uses). The floor: 100 POSTs on an endpoint
allowed 2 per rolling second go out as 2 at t=0, 2 at t=1, ... 2 at t=49, so no client can
finish before 49.0 s (49.5 s if spaced evenly). The margin-type POSTs (2/s at BingX) set that
floor whatever the leverage limit; the plugin's leverage POSTs run in its shadow.

Each run has its own fake server, account and exchange object. The runs are sleep-bound
(about 6 requests a second), so they run side by side in threads to fit the time budget.
"""

import contextlib
import sys
import threading
import time
from collections import Counter
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    API_KEY,
    API_SECRET,
    LEVERAGE_PATH,
    MARGIN_PATH,
    contracts,
    median,
    no_nagle_stalls,
    pair,
    plugin_exchange,
    quiet_logs,
)


PAIRS = 100
LEVERAGE = 3
RATE_LIMITED = 100410
SERVER_LEVERAGE_LIMITS = (5.0, 2.0)  # BingX's endpoint page; its markdown export and ccxt
SERVER_MARGIN_LIMIT = 2.0


def floor_seconds(requests: int, per_second: float) -> float:
    """Least time for ``requests`` sends when any rolling second allows ``per_second``."""
    per_window = max(1, int(per_second))
    window = per_window / per_second
    return (-(-requests // per_window) - 1) * window


def _burst(exchange, server, pairs: list[str], out: dict) -> None:
    try:
        since = len(server.requests)
        start = time.perf_counter()
        for p in pairs:
            exchange._lev_prep(p, LEVERAGE, "buy")
        out["elapsed"] = time.perf_counter() - start
        records = server.requests[since:]
        out["sent"] = Counter((r.method, r.path) for r in records)
        out["codes"] = Counter(r.code for r in records)
        acct = server.account(API_KEY)
        out["ok"] = all(
            acct.margin_type[c["symbol"]] == "ISOLATED"
            and acct.leverage[(c["symbol"], "LONG")] == LEVERAGE
            for c in server.contracts
        )
    except Exception as e:  # noqa: BLE001  (reported in the table, not lost in a thread)
        out["error"] = repr(e)


def measure(runs: int = 3) -> dict[float, list[dict]]:
    from freqtrade_bingx.sim import FakeBingx

    quiet_logs()
    results: dict[float, list[dict]] = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(no_nagle_stalls())
        threads = []
        for limit in SERVER_LEVERAGE_LIMITS:
            for _ in range(runs):
                server = stack.enter_context(
                    FakeBingx(
                        accounts={API_KEY: API_SECRET},
                        contracts=contracts(PAIRS),
                        leverage_rate_limit_per_s=limit,
                        rate_limits={("POST", MARGIN_PATH): SERVER_MARGIN_LIMIT},
                    )
                )
                exchange = stack.enter_context(plugin_exchange(server))
                pairs = [pair(c["symbol"]) for c in server.contracts]
                out: dict = {}
                results.setdefault(limit, []).append(out)
                threads.append(threading.Thread(target=_burst, args=(exchange, server, pairs, out)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
            if thread.is_alive():
                raise RuntimeError("a burst run took over 4 minutes")
    return results


def main(runs: int = 3) -> list[dict]:
    from freqtrade_bingx.net.transport import DEFAULT_RATE_LIMITS

    client_lev = DEFAULT_RATE_LIMITS[("POST", LEVERAGE_PATH)]
    client_margin = DEFAULT_RATE_LIMITS[("POST", MARGIN_PATH)]
    floor = max(
        floor_seconds(PAIRS, min(client_margin, SERVER_MARGIN_LIMIT)),
        floor_seconds(PAIRS, client_lev),
    )
    results = measure(runs)
    rows = []
    for limit, outs in results.items():
        errors = [o["error"] for o in outs if "error" in o]
        if errors:
            rows.append(
                {
                    "benchmark": f"4. start-up burst, server set-leverage {limit:g}/s",
                    "result": f"failed: {errors[0]}",
                    "target": "missed",
                }
            )
            continue
        elapsed = median([o["elapsed"] for o in outs])
        refused = sum(o["codes"].get(RATE_LIMITED, 0) for o in outs)
        sent = outs[0]["sent"]
        ok = all(o["ok"] for o in outs)
        over = elapsed / floor - 1
        met = refused == 0 and ok and over <= 0.10
        verdict = "met" if met else "missed"
        if refused:
            verdict += f": {refused} x 100410 from the server"
        if over > 0.10:
            verdict += f": {over:.1%} over the floor"
        rows.append(
            {
                "benchmark": f"4. start-up burst, {PAIRS} pairs; server: "
                f"set-leverage {limit:g}/s, margin type {SERVER_MARGIN_LIMIT:g}/s "
                f"({len(outs)} runs)",
                "plugin": f"{elapsed:.2f} s; per run {sent[('POST', LEVERAGE_PATH)]} leverage "
                f"POST, {sent[('POST', MARGIN_PATH)]} margin-type POST, "
                f"{sent[('GET', MARGIN_PATH)]} GET",
                "peer": f"floor {floor:.1f} s ({PAIRS} POSTs at 2 per rolling second; "
                f"{(PAIRS - 1) / 2:.1f} s evenly spaced)",
                "result": f"{over:+.2%} over the floor; {refused} x 100410; "
                f"account settings {'all applied' if ok else 'WRONG'}",
                "target": f"no 100410, within 10% of the floor: {verdict}",
            }
        )
    rows[0]["how"] = (
        f"`_lev_prep(pair, {LEVERAGE}, 'buy')` for {PAIRS} fake contracts in a row, account "
        "starting at 5x CROSSED, config isolated: per pair 1 margin-type GET + POST and 1 "
        "leverage POST. Client limits = the plugin's defaults (leverage POST 2/s, margin-type "
        "POST 2/s, GET 5/s); the fake answers 100410 above its limits (margin-type POST 2/s; "
        "leverage 5/s per BingX's endpoint page, or 2/s as the markdown export and ccxt say). "
        f"Unscaled; {runs} runs per setting, each with its own server and exchange, all run side "
        "by side in threads (they sleep almost all the time). Median wall time; 100410 summed "
        "over runs. Every 100410 costs the plugin a 1 s endpoint block plus freqtrade's "
        "retrier back-off."
    )
    return rows


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(row)

"""Cold start: ``freqtrade trade`` with a dynamic pairlist over 600 swaps, no tier cache.

BingX lists about 600 USDT-M swaps and sends leverage tiers one signed request per pair (with
the account's maximum leverage, two), each endpoint 5 requests/s. Loading them all before the
first loop takes two minutes or more; the plugin loads the pairs the bot uses, on first use.

Each run is a real ``freqtrade trade`` process (``freqtrade_bingx.tools.rehearse``: the shipped live
config, the fake BingX on 127.0.0.1 with 600 contracts, the rehearsal strategy, which enters
within its first loop, ``max_open_trades`` 3) with ``VolumePairList`` (10 pairs by quote
volume) over every swap and an empty ``pair_whitelist``:

- cold: a fresh ``user_data``, no tier cache.
- warm: the same, with a tier cache of all 600 pairs written before the start (what the
  plugin would have saved after loading every pair).

Timed: from launching the process to freqtrade's first ``Bot heartbeat`` log line, which it
writes once its first loop (pairlist, candles, analysis, entries) is done; the line's own time
stamp is read, so polling adds nothing. Also shown: the same span from freqtrade's
``Starting worker`` line, after its imports (about half of a start, and most of its noise
when other jobs share the cores). Runs alternate cold and warm after one warm-up run.
"""

import statistics
import sys
import time
from datetime import datetime
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import median


SWAPS = 600
RUNS = 3
TARGET_S = 2.0
MARKER = "Bot heartbeat"
WORKER = "Starting worker"  # freqtrade's first line after its imports
DEADLINE_S = 90.0
TIER_PATH = "/openApi/swap/v1/maintMarginRatio"
ORDER_PATH = "/openApi/swap/v2/trade/order"
DYNAMIC = {
    "exchange": {"pair_whitelist": []},
    "pairlists": [{"method": "VolumePairList", "number_assets": 10, "refresh_period": 1800}],
    # freqtrade logs its heartbeat at the end of the first loop, then every interval.
    "internals": {"heartbeat_interval": 3600},
}


def _pair(symbol: str) -> str:
    base, _, quote = symbol.partition("-")
    return f"{base}/{quote}:{quote}"


def write_full_cache(rehearsal, contracts: list[dict]) -> None:
    """The tier cache a full load would have left: every pair, at the account's maximum."""
    from freqtrade_bingx.bingx import replies, tiers
    from freqtrade_bingx.sim.accounts import default_max_leverage, leverage_tiers

    cached = {}
    for contract in contracts:
        maximum = default_max_leverage(contract)
        rows = replies.tiers(leverage_tiers(contract["symbol"], maximum), contract["symbol"])
        cached[_pair(contract["symbol"])] = tiers.parse_tiers(rows, maximum)
    datadir = rehearsal.workdir / "user_data" / "data" / "bingx"
    tiers.save_cache(tiers.cache_path(datadir, "USDT"), cached)


def _marker_time(rehearsal, marker: str = MARKER) -> datetime | None:
    for line in rehearsal.log_text().splitlines():
        if marker in line:
            # freqtrade's log lines start with "YYYY-mm-dd HH:MM:SS,mmm - ".
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return None


def one_start(warm: bool) -> dict:
    from freqtrade_bingx.sim import many_contracts
    from freqtrade_bingx.tools.rehearse import Rehearsal

    contracts = many_contracts(SWAPS)
    rehearsal = Rehearsal(
        extra_config=DYNAMIC, server_kwargs={"contracts": contracts}, timeframe="1m"
    )
    try:
        rehearsal.start_exchange()
        if warm:
            write_full_cache(rehearsal, contracts)
        launched = datetime.fromtimestamp(time.time())
        rehearsal.start_freqtrade()
        rehearsal.run(DEADLINE_S, on_tick=lambda r: _marker_time(r) is not None, poll_s=0.2)
        seen = _marker_time(rehearsal)
        if seen is None:
            tail = "\n".join(rehearsal.log_text().splitlines()[-20:])
            raise RuntimeError(f"no '{MARKER}' within {DEADLINE_S:.0f} s:\n{tail}")
        ledger = rehearsal.requests
        worker = _marker_time(rehearsal, WORKER) or launched
        return {
            "seconds": (seen - launched).total_seconds(),
            "after_imports": (seen - worker).total_seconds(),
            "tier_requests": sum(r.path == TIER_PATH for r in ledger),
            "orders": sum(r.path == ORDER_PATH and r.method == "POST" for r in ledger),
        }
    finally:
        rehearsal.stop()


def main(runs: int = RUNS) -> list[dict]:
    one_start(warm=True)  # warm-up: file caches, .pyc
    cold, warm = [], []
    for i in range(runs):
        order = ((False, cold), (True, warm)) if i % 2 == 0 else ((True, warm), (False, cold))
        for is_warm, into in order:
            into.append(one_start(is_warm))
    cold_s = [run["seconds"] for run in cold]
    warm_s = [run["seconds"] for run in warm]
    diff = median(cold_s) - median(warm_s)
    cold_after = median([run["after_imports"] for run in cold])
    warm_after = median([run["after_imports"] for run in warm])
    tiers_cold = statistics.median(run["tier_requests"] for run in cold)
    tiers_warm = statistics.median(run["tier_requests"] for run in warm)
    orders = statistics.median(run["orders"] for run in cold + warm)
    # The old start-up: every swap's tiers and account leverage, each endpoint at 5/s.
    floor_before = SWAPS / 5.0
    verdict = "met" if diff <= TARGET_S else "missed"
    return [
        {
            "benchmark": f"6. cold start, VolumePairList over {SWAPS} swaps ({runs} runs each)",
            "plugin": f"{median(cold_s):.1f} s to the end of the first loop without a tier "
            f"cache ({cold_after:.1f} s after freqtrade's imports); {tiers_cold:.0f} tier "
            "requests",
            "peer": f"{median(warm_s):.1f} s with a full tier cache ({warm_after:.1f} s after "
            f"imports; {tiers_warm:.0f} tier requests); loading all {SWAPS} pairs first: "
            f">= {floor_before:.0f} s more ({SWAPS} tier + {SWAPS} leverage GETs at 5/s each, "
            "not run)",
            "result": f"{diff:+.1f} s (cold - warm, medians; after imports "
            f"{cold_after - warm_after:+.1f} s); {orders:.0f} order POSTs per run",
            "target": f"within {TARGET_S:.0f} s of the warm start: {verdict}",
            "how": (
                "Real `freqtrade trade` processes (`freqtrade_bingx.tools.rehearse`: shipped live "
                f"config, rehearsal strategy, max_open_trades 3) against the fake BingX with "
                f"{SWAPS} USDT-M contracts (`sim.many_contracts`), `VolumePairList` "
                "(10 by quote volume) and an empty whitelist; cold = fresh user_data, warm = "
                f"a tier cache of all {SWAPS} pairs written before launch. Time from launching "
                f"the process to the time stamp of freqtrade's first `{MARKER}` line (written "
                "when the first loop, entries included, is done), and from its `Starting worker` "
                "line (after imports); alternating after one warm-up run, medians."
            ),
        }
    ]


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS):
        print(row)

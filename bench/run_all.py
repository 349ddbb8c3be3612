"""Run every benchmark and write BENCHMARKS.md (date, machine, one row per figure).

Each module's ``main()`` returns rows ``{benchmark, plugin, peer, result, target}``; a row may
carry ``how`` (one line on how it was measured), printed under the table. Everything runs on
this machine against loopback only, within a few minutes (budget: 10).
"""

import datetime
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

import backtest
import cold_start
import download_requests
import leverage_call
import multi_bot
import order_call
import redis_state
import requests_per_entry
import startup
import startup_burst
import ws_candles


OUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
COLUMNS = ("benchmark", "plugin", "peer", "result", "target")
MODULES = (
    startup,
    leverage_call,
    order_call,
    requests_per_entry,
    startup_burst,
    backtest,
    cold_start,
    multi_bot,
    redis_state,
    download_requests,
    ws_candles,
)
BUDGET_S = 600


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _versions() -> str:
    from importlib.metadata import version

    names = ("freqtrade", "ccxt", "requests", "freqtrade-bingx")
    return ", ".join(f"{name} {version(name)}" for name in names)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def main() -> int:
    # The fake accounts' shared state (account_budget.py) belongs in a temporary folder, not
    # in the user's ~/.cache; processes the benchmarks start inherit it.
    with tempfile.TemporaryDirectory(prefix="ftbx-bench-cache-") as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        return _run_all()


def _run_all() -> int:
    rows: list[dict] = []
    failed = False
    started = time.perf_counter()
    for module in MODULES:
        print(f"running {module.__name__} ...", flush=True)
        t0 = time.perf_counter()
        try:
            rows.extend(module.main())
        except Exception as e:  # noqa: BLE001  (one failure must not hide the rest)
            failed = True
            traceback.print_exc()
            rows.append(
                {"benchmark": module.__name__, "result": f"failed: {e!r}", "target": "missed"}
            )
        print(f"  {module.__name__}: {time.perf_counter() - t0:.0f} s", flush=True)
    total = time.perf_counter() - started
    lines = [
        "# Benchmarks",
        "",
        (
            f"Written by `bash run.sh bench` on {datetime.date.today().isoformat()}: "
            f"{machine()}; {_versions()}. All benchmarks took {total:.0f} s together "
            f"(budget {BUDGET_S} s)."
        ),
        (
            "Each figure is a median over repeated runs; a peer is measured in the same run, "
            "interleaved. Everything runs on this machine against loopback only (the fake "
            "BingX, `freqtrade_bingx.sim`). Other jobs may have shared the machine's cores, so "
            "absolute times are noisy; the ratios are measured side by side."
        ),
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in COLUMNS) + " |" for row in rows]
    lines += ["", "## How measured", ""]
    lines += [f"- **{row['benchmark']}**: {row['how']}" for row in rows if row.get("how")]
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())
    if total > BUDGET_S:
        print(f"warning: the benchmarks took {total:.0f} s, over the {BUDGET_S} s budget")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

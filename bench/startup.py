"""Start-up cost of the installed plugin.

Runs ``python -c pass`` (and ``freqtrade --version``) in this environment with the plugin's
``.pth`` line in place and with it moved aside. Both variants run alternately in the same
environment, so the only difference is the plugin. Each figure is the median wall time of
whole processes.
"""

import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path


PTH = Path(sysconfig.get_paths()["purelib"]) / "freqtrade_bingx.pth"


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def compare(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median seconds (with plugin, without plugin), runs alternating."""
    if not PTH.is_file():
        raise SystemExit(f"{PTH} not found: install the project with pip install . first")
    aside = PTH.with_suffix(".pth-off")
    with_plugin, without = [], []
    try:
        for _ in range(3):  # warm the file cache
            _wall(cmd)
        for _ in range(runs):
            with_plugin.append(_wall(cmd))
            PTH.rename(aside)
            try:
                without.append(_wall(cmd))
            finally:
                aside.rename(PTH)
    finally:
        if aside.exists() and not PTH.exists():
            aside.rename(PTH)
    return statistics.median(with_plugin), statistics.median(without)


def main(runs: int = 60) -> list[dict]:
    freqtrade = str(Path(sys.executable).parent / "freqtrade")
    rows = []
    for name, cmd, n, target in (
        ("python -c pass", [sys.executable, "-c", "pass"], runs, "< 5 ms added"),
        ("freqtrade --version", [freqtrade, "--version"], max(5, runs // 6), ""),
    ):
        with_plugin, without = compare(cmd, n)
        rows.append(
            {
                "benchmark": f"start-up: {name} ({n} runs each)",
                "plugin": f"{with_plugin * 1000:.1f} ms",
                "peer": f"{without * 1000:.1f} ms without the plugin",
                "result": f"{(with_plugin - without) * 1000:+.1f} ms, x{with_plugin / without:.3f}",
                "target": target,
            }
        )
    return rows


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else 60):
        print(row)

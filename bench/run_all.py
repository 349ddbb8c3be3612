"""Run every benchmark and write BENCHMARKS.md (date, machine, one row per figure)."""

import datetime
import os
import platform
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

import startup


OUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
COLUMNS = ("benchmark", "plugin", "peer", "result", "target")


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> int:
    rows = []
    for module in (startup,):
        print(f"running {module.__name__} ...", flush=True)
        rows.extend(module.main())
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bash run.sh bench` on {datetime.date.today().isoformat()}, {machine()}.",
        "Each figure is a median over repeated runs; a peer is measured in the same run.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |" for row in rows]
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

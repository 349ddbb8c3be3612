#!/usr/bin/env bash
# One command does all set-up (a virtual environment in .venv, the project and its
# dependencies) and then runs one job. Needs only Python 3.11 (and apt-get if its venv module
# is missing, as on a bare Debian; for test and bench, also to install redis-server).
#
#   bash run.sh          the main job: a local fake BingX, then `freqtrade-bingx status` and
#                        `set-leverage` against it in one-way and hedge mode
#   bash run.sh test     lint and the test suite (what CI runs)
#   bash run.sh bench    the benchmarks (bench/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
VENV="${FREQTRADE_BINGX_VENV:-.venv}"

find_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 is required and was not found" >&2
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    python=$(find_python)
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
        # Debian ships the venv module in a package of its own.
        rm -rf "$VENV"
        apt-get update -qq && apt-get install -y -qq python3.11-venv
        "$python" -m venv "$VENV"
    fi
fi
# The tests and benchmarks start real Redis servers on loopback ports (tests/redis_server.py):
# Debian's redis-server, installed when missing (CI runs as root on a fresh machine).
if { [ "${1:-main}" = test ] || [ "${1:-main}" = bench ]; } &&
    ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
    apt-get update -qq && apt-get install -y -qq redis-server
fi
# A stale build/ could put removed modules into the wheel.
rm -rf build
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ".[test]"

case "${1:-main}" in
    main)
        exec "$VENV/bin/python" -m freqtrade_bingx.tools.demo --configs configs --strategies strategies
        ;;
    test)
        "$VENV/bin/python" -m ruff check .
        # Most of the suite's time is spent waiting (freqtrade processes, timeouts, rate limits),
        # so three workers share 2 cores well. Each module runs whole on one worker: its
        # module-scoped fake exchanges and freqtrade sessions start once.
        exec "$VENV/bin/python" -m pytest -q -n 3 --dist loadfile
        ;;
    bench)
        exec "$VENV/bin/python" bench/run_all.py
        ;;
    *)
        echo "usage: bash run.sh [main|test|bench]" >&2
        exit 2
        ;;
esac

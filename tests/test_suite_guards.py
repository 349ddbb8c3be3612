"""The suite's own guard (conftest.nothing_left_running) sees what a module leaves running."""

import subprocess
import sys

from freqtrade_bingx.sim import FakeBingx
from tests.conftest import _left_running


def test_a_running_fake_exchange_is_seen_until_stopped():
    before = _left_running()
    server = FakeBingx().start()
    try:
        left = _left_running() - before
        assert left == {f"thread FakeBingx:{server.port}", f"thread FakeBingx-tick:{server.port}"}
    finally:
        server.stop()
    assert _left_running() - before == set()


def test_a_running_child_process_is_seen_until_it_ends():
    before = _left_running()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        [left] = _left_running() - before
        assert left.startswith(f"process {child.pid}: ")
    finally:
        child.kill()
        child.wait(timeout=10)
    assert _left_running() - before == set()

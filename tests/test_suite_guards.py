"""The suite's own guards: conftest.nothing_left_running sees what a module leaves running, and
the tests that compare with BingX's pages find them, or fail under CI without them."""

import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from freqtrade_bingx.sim import FakeBingx
from tests.conftest import _left_running
from tests.reference import bingx_pages


def test_a_running_fake_exchange_is_seen_until_stopped():
    before = _left_running()
    server = FakeBingx().start()
    try:
        left = _left_running() - before
        assert left == {
            f"thread FakeBingx:{server.port}",
            f"thread FakeBingx-tick:{server.port}",
            f"thread FakeBingx-ws:{urlsplit(server.ws.url).port}",  # its market websocket
        }
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


def test_bingx_pages_are_found_beside_the_checkout_whatever_the_working_folder(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI", raising=False)
    assert (bingx_pages() / "change_log.md").is_file()


@pytest.mark.parametrize(
    "ci, outcome",
    [("true", pytest.fail.Exception), ("", pytest.skip.Exception), (None, pytest.skip.Exception)],
)
def test_missing_bingx_pages_fail_under_ci_and_skip_elsewhere(tmp_path, monkeypatch, ci, outcome):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="not beside this checkout"):
        bingx_pages(tmp_path / "no-reference")

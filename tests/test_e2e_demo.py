"""`freqtrade trade -c configs/demo.json`: a real freqtrade process in BingX demo mode.

The shipped demo config is used as it is, plus an override that points ccxt's ``urls['test']``
(the VST demo host in ccxt's BingX) at the local exchange, which stands in for the demo host.
ccxt's ``urls['api']`` (the live host) point at a second local exchange that stands in for
BingX live and must see no request at all: nothing can leave this machine, and anything not
routed to the demo host would show up there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from freqtrade_bingx.sim import FakeBingx
from freqtrade_bingx.sim.server import (
    CONTRACTS_PATH,
    DUAL_PATH,
    KLINES_PATH,
    LEVERAGE_PATH,
    ORDER_PATH,
)
from freqtrade_bingx.tools.rehearse import REHEARSAL_KEY, REHEARSAL_SECRET, Rehearsal


CONFIGS = Path(__file__).resolve().parent.parent / "configs"
# freqtrade starts in a few seconds and the rehearsal strategy enters on its first loop.
MAX_SECONDS = 45.0


def _order_accepted(run: Rehearsal) -> bool:
    return any(r.method == "POST" and r.path == ORDER_PATH and r.code == 0 for r in run.requests)


def _traded(run: Rehearsal) -> bool:
    """The exchange accepted an order and freqtrade has recorded its trade."""
    trades, _orders = run.db_rows()
    return bool(trades) and _order_accepted(run)


@pytest.fixture(scope="module")
def demo_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rehearsal, list]]:
    live = FakeBingx(accounts={REHEARSAL_KEY: REHEARSAL_SECRET}).start()
    live_urls = live.ccxt_urls["api"]
    run = Rehearsal(
        config_files=[CONFIGS / "demo.json"],
        workdir=tmp_path_factory.mktemp("demo"),
        hedge=True,  # demo accounts are reported to start in hedge mode
        # ccxt's live URLs on the stand-in for BingX live; its 'test' URLs stay on the
        # rehearsal's exchange, the stand-in for the demo host.
        extra_config={
            "exchange": {
                "ccxt_config": {"urls": {"api": live_urls}},
                "ccxt_async_config": {"urls": {"api": live_urls}},
            }
        },
    )
    try:
        run.start()
        run.run(MAX_SECONDS, on_tick=_traded, poll_s=0.25)
        run.stop()
        yield run, live.requests
    finally:
        run.stop()
        live.stop()
        if run.exit_code not in (0, 130) or not _traded(run):
            print(run.log_text()[-5000:])


def test_demo_config_starts_freqtrade_in_demo_mode(demo_session):
    run, _live_requests = demo_session
    log = run.log_text()
    assert run.interrupted and run.exit_code in (0, 130), log[-3000:]
    assert "Demo trading enabled for BingX (Demo)" in log
    assert 'Using Exchange "BingX (Demo)"' in log
    assert "Configuration error" not in log and "Fatal exception" not in log


def test_ccxt_and_the_plugin_talk_to_the_demo_host_only(demo_session):
    run, live_requests = demo_session
    assert live_requests == []
    demo = run.requests
    count = {
        path: sum(r.path == path for r in demo)
        for path in (CONTRACTS_PATH, KLINES_PATH, DUAL_PATH, LEVERAGE_PATH, ORDER_PATH)
    }
    # ccxt: markets, candles and the orders; the plugin's transport: position mode, leverage.
    assert count[CONTRACTS_PATH] >= 1 and count[KLINES_PATH] >= 1, count
    assert count[DUAL_PATH] >= 1 and count[LEVERAGE_PATH] >= 1, count
    assert count[ORDER_PATH] >= 1, count


def test_an_order_was_placed_and_recorded_as_a_demo_trade(demo_session):
    run, _live_requests = demo_session
    assert _order_accepted(run)
    assert run.server is not None and run.server.orders(REHEARSAL_KEY)
    conn = sqlite3.connect(f"file:{run.db_path}?mode=ro", uri=True)
    try:
        exchanges = {row[0] for row in conn.execute("SELECT exchange FROM trades")}
    finally:
        conn.close()
    # freqtrade records trades under the exchange's id, which is bingx_demo in demo mode.
    assert exchanges == {"bingx_demo"}

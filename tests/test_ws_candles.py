"""Websocket candles for BingX futures: freqtrade's own ExchangeWS over ccxt.pro's bingx,
against the fake exchange's swap market websocket (sim/ws_market.py).

freqtrade is built by its resolver (validate=True) and its candles refreshed through its own
``refresh_latest_ohlcv``, as the bot loop does. Time is a stepped clock shared by the fake and
freqtrade's candle arithmetic, so several 1-minute candles pass in a second or two; the fake
pushes only when a test says so (``push``).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from typing import Any

import pytest

from freqtrade_bingx.sim import FakeBingx
from freqtrade_bingx.sim.server import KLINES_PATH
from tests.clocks import FakeClock, freqtrade_now
from tests.configs import API_KEY, API_SECRET, dry_run_config


PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
TF = "1m"
MINUTE = 60_000
# The longest any step waits for the feed or the fake (each returns as soon as it holds): a
# loaded 2-core machine has taken over 5 s to deliver a push after a reconnect.
WAIT_S = 15.0


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    """freqtrade's "now" on a clock that moves only when a test moves it, 10 s into a minute
    half an hour ago (signed requests stamp BingX's time, which is the fake's)."""
    start_ms = (int(time.time() * 1000) // MINUTE - 30) * MINUTE + 10_000
    with freqtrade_now(FakeClock(start_ms / 1000)) as stepped:
        yield stepped


@pytest.fixture
def sim(clock) -> Iterator[FakeBingx]:
    with FakeBingx(
        accounts={API_KEY: API_SECRET},
        clock_ms=clock.now_ms,
        volatility=0.003,
        ws_push_interval_s=None,
        ws_ping_interval_s=None,
    ) as server:
        yield server


@pytest.fixture
def build(sim, mocker, tmp_path) -> Iterator[Any]:
    """freqtrade's exchange in dry-run on the fake, websocket candles on or off."""
    from freqtrade.resolvers import ExchangeResolver

    mocker.patch("freqtrade.exchange.common.time.sleep")
    built = []

    def make(ws: bool) -> Any:
        # The shipped live config in dry-run, as ``freqtrade trade`` builds the exchange.
        folder = tmp_path / ("ws" if ws else "rest")
        folder.mkdir()
        config = dry_run_config(
            sim, folder, enable_ws=ws, pair_whitelist=PAIRS, account_state_dir=str(tmp_path)
        )
        exchange = ExchangeResolver.load_exchange(config, validate=True)
        built.append(exchange)
        return exchange

    yield make
    for exchange in built:
        exchange.close()


def _jobs() -> list[tuple]:
    from freqtrade.enums import CandleType

    return [(pair, TF, CandleType.FUTURES) for pair in PAIRS]


class Bots:
    """One freqtrade exchange with websocket candles, one with REST only, on one fake."""

    def __init__(self, sim: FakeBingx, clock: FakeClock, build: Any) -> None:
        self.sim, self.clock = sim, clock
        self.ws = build(True)
        self.rest = build(False)
        self.rest_calls: list[int] = []  # REST kline requests of the websocket bot, per refresh

    def at(self, offset_ms: int, push: bool = True) -> None:
        """Move the clock to ``offset_ms`` past the current minute's open (or the next's)."""
        self.clock.ms += offset_ms
        if push:
            self.push()

    def push(self) -> None:
        """The fake pushes every subscription's candle; wait until freqtrade's feed has it."""
        self.sim.ws.push_now()
        self.wait_delivered()

    def wait_delivered(self) -> None:
        exchange_ws = self.ws._exchange_ws
        want = self.clock.ms // MINUTE * MINUTE
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            refreshed = exchange_ws._klines_last_refresh
            if all(
                (exchange_ws.ohlcvs(pair, TF) or [[0]])[-1][0] == want
                and refreshed.get(job, 0) >= self.clock.ms
                for pair, job in zip(PAIRS, _jobs(), strict=True)
            ):
                return
            time.sleep(0.01)
        raise AssertionError(f"the websocket feed did not deliver the candle of {want}")

    def refresh(self) -> None:
        """The bot loop's candle refresh, both bots; nothing may block it."""
        before = self.sim.count(KLINES_PATH)
        started = time.monotonic()
        self.ws.refresh_latest_ohlcv(_jobs())
        assert time.monotonic() - started < 2.0
        self.rest_calls.append(self.sim.count(KLINES_PATH) - before)
        self.rest.refresh_latest_ohlcv(_jobs())

    def subscribed(self) -> None:
        """Wait until the fake holds a subscription of every pair (after a (re)connect)."""
        wanted = {f"{pair.split('/')[0]}-USDT@kline_{TF}" for pair in PAIRS}
        deadline = time.monotonic() + WAIT_S
        while not wanted <= set(self.sim.ws.subscriptions()):
            assert time.monotonic() < deadline, self.sim.ws.subscriptions()
            time.sleep(0.01)

    def watch_ended(self) -> None:
        """Wait until freqtrade's watch tasks ended (they learnt of a lost connection) and
        freqtrade unsubscribed them (on a new connection; ccxt has the confirmation)."""
        deadline = time.monotonic() + WAIT_S
        clients = self.ws._exchange_ws._ccxt_object.clients
        while (
            self.ws._exchange_ws._klines_scheduled
            or any(
                "@kline_" in str(hash_)
                for client in list(clients.values())
                for hash_ in list(client.subscriptions)
            )
            or sum(f.get("reqType") == "unsub" for f in self.sim.ws.subscribe_frames) < len(PAIRS)
        ):
            assert time.monotonic() < deadline, "freqtrade's watch tasks did not end"
            time.sleep(0.01)

    def same(self) -> None:
        """The closed candles the strategy sees are the same with and without websocket, with
        every minute once, the last closed one included."""
        closed = self.clock.ms // MINUTE * MINUTE - MINUTE
        for job in _jobs():
            ws, rest = self.ws.klines(job), self.rest.klines(job)
            assert ws.equals(rest), f"{job}:\n{ws.tail(4)}\n{rest.tail(4)}"
            stamps = [int(d.timestamp() * 1000) for d in ws["date"]]
            assert stamps == list(range(stamps[0], closed + 1, MINUTE))

    def close_candle(self, push: bool = True) -> None:
        """To 1 s past the next candle's open, push (unless not), refresh both bots."""
        self.at(MINUTE - self.clock.ms % MINUTE + 1_000, push=push)
        self.refresh()
        self.same()

    def mid_candle(self) -> None:
        self.at(30_000)


@pytest.fixture
def bots(sim, clock, build) -> Bots:
    bots = Bots(sim, clock, build)
    bots.refresh()  # the start-up history over REST; subscribes
    bots.subscribed()
    bots.push()
    return bots


def test_websocket_candles_equal_rest_over_several_candles(bots):
    for _ in range(5):
        bots.mid_candle()
        bots.close_candle()
    # The first close after subscribing is served by the websocket already; no kline request.
    assert bots.rest_calls[1:] == [0] * 5, bots.rest_calls
    # ccxt.pro's subscribe frame, as BingX's page shows it.
    frame = bots.sim.ws.subscribe_frames[0]
    assert frame["reqType"] == "sub" and frame["dataType"].endswith("@kline_1m")


def test_dropped_connection_mid_candle_falls_back_to_rest_then_resumes(bots):
    bots.mid_candle()
    bots.close_candle()
    bots.mid_candle()
    bots.sim.ws.drop()  # mid-candle: the partial candle on the wire is lost with it
    bots.watch_ended()
    bots.close_candle(push=False)  # freqtrade's watch ended: REST, and it subscribes again
    assert bots.rest_calls[-1] == len(PAIRS)
    bots.subscribed()
    bots.push()
    bots.close_candle()  # one candle seen from its start is not enough: REST
    bots.mid_candle()
    bots.close_candle()
    assert bots.rest_calls[-1] == 0  # the websocket serves again


def test_silence_falls_back_to_rest_and_resumes(bots):
    bots.mid_candle()
    bots.close_candle()
    bots.sim.ws.silent = True
    bots.at(30_000, push=False)
    bots.sim.ws.push_now()  # nothing goes out
    bots.close_candle(push=False)
    bots.at(30_000, push=False)
    bots.close_candle(push=False)
    assert bots.rest_calls[-2:] == [len(PAIRS)] * 2
    bots.sim.ws.silent = False
    bots.push()
    bots.close_candle()
    bots.mid_candle()
    bots.close_candle()
    assert bots.rest_calls[-1] == 0


@pytest.mark.parametrize(
    "frame",
    [b"\x00not gzip at all", gzip.compress(b'{"code": 0, "dataType": '), b"\xff\xfe"],
    ids=["not-gzip", "not-json", "not-text"],
)
def test_a_broken_frame_is_dropped_and_the_stream_goes_on(bots, frame, caplog):
    bots.mid_candle()
    bots.sim.ws.send_raw(frame)
    bots.sim.ws.send_raw(b"{half a frame", binary=False)
    bots.push()
    bots.close_candle()
    bots.mid_candle()
    bots.close_candle()
    # ccxt's reader would have died on the frame: the websocket still serves.
    assert bots.rest_calls[-2:] == [0, 0], bots.rest_calls
    assert "frame dropped" in caplog.text


def test_a_frame_of_a_symbol_never_asked_is_not_kept(bots):
    bots.mid_candle()
    bots.sim.ws.push_foreign("XRP-USDT")
    bots.push()
    bots.close_candle()
    assert "XRP/USDT:USDT" not in bots.ws._exchange_ws._ccxt_object.ohlcvs
    assert bots.rest_calls[-1] == 0


def test_a_malformed_kline_push_is_dropped(bots, caplog):
    import json

    bots.mid_candle()
    now = bots.clock.ms // MINUTE * MINUTE
    bad = {"code": 0, "dataType": "BTC-USDT@kline_1m", "s": "BTC-USDT"}
    bad["data"] = [{"c": "1", "o": "1", "h": "0.5", "l": "2", "v": "1", "T": now}]
    bots.sim.ws.send_raw(gzip.compress(json.dumps(bad).encode()))
    bots.push()
    bots.close_candle()
    assert "low..high" in caplog.text


def test_slow_stream_never_gives_a_partial_candle_as_closed(bots):
    bots.mid_candle()
    bots.close_candle()
    bots.mid_candle()
    bots.sim.ws.lag_s = 0.5
    # The close: the fake sends the closed candle's final state and the new one, both late.
    bots.at(MINUTE - bots.clock.ms % MINUTE + 1_000, push=False)
    bots.sim.ws.push_now()
    bots.refresh()  # before they arrive: freqtrade's feed still ends with the partial candle
    bots.same()
    assert bots.rest_calls[-1] == len(PAIRS)
    bots.wait_delivered()
    bots.sim.ws.lag_s = 0.0
    bots.mid_candle()
    bots.close_candle()
    assert bots.rest_calls[-1] == 0


def test_a_frame_that_inflates_past_the_cap_is_refused_before_it_is_read():
    from freqtrade_bingx.net.ccxt_ws import MAX_FRAME_BYTES, FrameDropped, gunzip_bounded

    bomb = gzip.compress(b"0" * (MAX_FRAME_BYTES * 4))  # a few KB on the wire
    assert len(bomb) < 16_384
    with pytest.raises(FrameDropped, match="over"):
        gunzip_bounded(bomb)
    assert gunzip_bounded(gzip.compress(b"Ping")) == b"Ping"


def test_bingx_heartbeat_is_answered(bots):
    bots.sim.ws.ping_now()  # BingX's gzip-compressed "Ping"
    deadline = time.monotonic() + WAIT_S
    while bots.sim.ws.pongs < 1:
        assert time.monotonic() < deadline, "no Pong"
        time.sleep(0.01)


@pytest.fixture
def quick_keep_alive(monkeypatch) -> None:
    from freqtrade_bingx.net import ccxt_ws

    monkeypatch.setattr(ccxt_ws, "KEEP_ALIVE_MS", 200)


def test_a_frozen_connection_is_given_up_and_subscribed_again(quick_keep_alive, bots):
    bots.mid_candle()
    bots.close_candle()
    bots.sim.ws.frozen = True  # no frame, no answer to a ping: a connection dead on the way
    deadline = time.monotonic() + WAIT_S
    while bots.ws._exchange_ws._klines_scheduled:  # ccxt's keep-alive gave up on it
        assert time.monotonic() < deadline, "the frozen connection was kept"
        time.sleep(0.01)
    bots.sim.ws.frozen = False
    bots.watch_ended()
    bots.close_candle(push=False)
    assert bots.rest_calls[-1] == len(PAIRS)
    bots.subscribed()
    bots.push()
    bots.close_candle()
    bots.mid_candle()
    bots.close_candle()
    assert bots.rest_calls[-1] == 0


def test_a_start_up_that_fails_leaves_no_websocket_thread(sim):
    import threading

    from freqtrade.enums import RunMode
    from freqtrade.exceptions import OperationalException
    from freqtrade.resolvers import ExchangeResolver

    from tests.configs import futures_config

    config = futures_config(sim, runmode=RunMode.LIVE, exchange={"key": "", "secret": ""})
    with pytest.raises(OperationalException, match="API key and secret are required"):
        ExchangeResolver.load_exchange(config, validate=False)
    # freqtrade's websocket thread is not a daemon: left running, the process could not exit.
    assert not [t for t in threading.enumerate() if t.name == "ccxt_ws"]


EXIT_WITH_AN_EXCHANGE_LEFT_OPEN = """
import sys
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver
from freqtrade_bingx.sim import FakeBingx
from tests.configs import futures_config

server = FakeBingx(accounts={"test-key": "test-secret-0123456789abcdef"}).start()
config = futures_config(server, runmode=RunMode.DRY_RUN, dry_run=True)
exchange = ExchangeResolver.load_exchange(config, validate=False)
assert exchange._exchange_ws is not None
del exchange  # never closed: a start-up that failed after the exchange was built
server.stop()
sys.exit(3)
"""


def test_a_process_with_an_exchange_left_open_still_exits(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "XDG_CACHE_HOME": str(tmp_path)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", EXIT_WITH_AN_EXCHANGE_LEFT_OPEN],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the process waits forever for freqtrade's websocket thread")
    assert done.returncode == 3, done.stderr.decode()[-2000:]

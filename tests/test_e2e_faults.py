"""The fault matrix: real ``freqtrade trade`` processes against the fake BingX while it fails.

Five sessions run side by side (at most three at once), each with a schedule of faults:

- ``survivable`` (hedge mode, six pairs): every failure the bot must ride out. The plugin's
  set-leverage endpoint answers 5xx, a reset connection, truncated JSON, an HTML page, 429,
  418, 403, 80014 and a 100410 block with an unblock time; it refuses three pairs for good
  (101414, 80020 on leverage, 109400 "positions or pending orders" on margin type). ccxt's
  order endpoint (ETH's entries) and a public market-data endpoint (BTC's order book) answer
  5xx, resets, truncated JSON, HTML, 429 / 418 / 403 and a stall longer than ccxt's timeout.
- ``clock``: BingX's clock jumps 20 s ahead mid-run.
- ``mode_flip``: once the account is flat, the user switches it from one-way to hedge.
- ``ip`` and ``key``: 100419 (IP whitelist) or 100413 (API key) on set-leverage; a person must
  act, so freqtrade must stop trading and say what to fix.
- ``stop_refused``: ccxt's stoploss order for SOL is answered with 110411 (the stop price is
  already crossed); freqtrade must exit the trade rather than leave it without a stop.

Every assertion reads the exchange's request ledger, its positions, or freqtrade's database
and log. The promises come from the plugin's error table (``freqtrade_bingx/bingx/errors.py``).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from freqtrade_bingx.bingx.errors import is_permanent, translate
from freqtrade_bingx.bingx.failures import BingxRejected
from freqtrade_bingx.net.transport import unblock_time_ms
from freqtrade_bingx.sim import FakeBingx, Fault, RequestRecord, default_contracts, make_contract
from freqtrade_bingx.sim.server import (
    DEPTH_PATH,
    DUAL_PATH,
    LEVERAGE_PATH,
    MARGIN_TYPE_PATH,
    ORDER_PATH,
    SERVER_TIME_PATH,
)
from freqtrade_bingx.tools.rehearse import (
    REHEARSAL_KEY,
    REHEARSAL_SECRET,
    Rehearsal,
    classify_order,
    swap_symbol,
)


PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
# The survivable session adds three pairs that BingX refuses for good.
REFUSED = {
    "XRP-USDT": (MARGIN_TYPE_PATH, 109400),
    "DOGE-USDT": (LEVERAGE_PATH, 101414),
    "ADA-USDT": (LEVERAGE_PATH, 80020),
}
# ccxt's timeout (ms): a stall of STALL_S outlasts it. The plugin's own transport reads for
# 10 s (transport.DEFAULT_TIMEOUT), so stalls are aimed at ccxt's endpoints.
CCXT_TIMEOUT_MS = 10000
STALL_S = 12.0
CLOCK_JUMP_MS = 20_000
PLUGIN_PATHS = (LEVERAGE_PATH, MARGIN_TYPE_PATH, DUAL_PATH)
WORKERS = 3
SETTLE_S = 20.0

HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
TRUNCATED = b'{"code":0,"msg":"","data":{"lever'
IP_MSG = (
    "IP does not match IP whitelist , please go to https://bingx.com/en/account/api/ "
    "to verify the ip you have set"
)


def _faults(
    path: str, method: str, params: dict[str, str], marker: str, truncated: bool = True
) -> list[Fault]:
    """5xx, reset, truncated JSON, an HTML page: one each, told apart by ``msg``/status."""
    common = {"path": path, "method": method, "params": params}
    faults = [
        Fault(**common, http_status=500, msg=f"{marker}-500"),
        Fault(**common, reset=True),
        Fault(**common, http_status=502, body=HTML, msg=f"{marker}-html"),
    ]
    if truncated:
        faults.insert(2, Fault(**common, body=TRUNCATED, msg=f"{marker}-truncated"))
    return faults


SOL_LEVERAGE = {"symbol": "SOL-USDT"}
ETH_ENTRY = {"symbol": "ETH-USDT", "side": "SELL", "positionSide": "SHORT", "type": "MARKET"}
BTC_BOOK = {"symbol": "BTC-USDT"}
# SOL is long: its stoploss is a STOP_MARKET SELL. BingX's place-order page lists 110411 "Stop
# Loss price should be lower than the current price" (older-export/trading__place_order.md).
SOL_STOP = {"symbol": "SOL-USDT", "type": "STOP_MARKET"}
STOP_CROSSED = "Stop Loss price should be lower than the current price"
# One-way mode: ETH's entries are its only market SELLs (its exits are BUYs).
ETH_ORDER_ONE_WAY = {
    "path": ORDER_PATH,
    "method": "POST",
    "params": {"symbol": "ETH-USDT", "side": "SELL", "type": "MARKET"},
}


def survivable_schedule() -> list[tuple[float, Any]]:
    """The faults queued at the start; :class:`SurvivableScript` adds the rest as it goes."""
    schedule: list[tuple[float, Any]] = []
    # SOL's leverage changes on every entry (2x, 3x, 2x, ...), so each SOL entry sets it.
    # First entry: four temporary errors in a row; freqtrade's retrier allows four retries.
    schedule += [(0.0, f) for f in _faults(LEVERAGE_PATH, "POST", SOL_LEVERAGE, "lev")]
    # Pairs BingX refuses for good, on their first entry.
    for symbol, (path, code) in REFUSED.items():
        msg = {
            109400: "the account has positions or pending orders",
            101414: f"The maximum leverage of {symbol} is 1x, please adjust your leverage",
            80020: "risk forbidden",
        }[code]
        schedule.append(
            (0.0, Fault(path, method="POST", code=code, msg=msg, params={"symbol": symbol}))
        )
    # ETH's entry orders (ccxt): 5xx, reset, HTML, then 429 / 418 / 403. (Truncated JSON on
    # this endpoint has a session of its own: it leaves freqtrade with a phantom trade.)
    order = {"path": ORDER_PATH, "method": "POST", "params": ETH_ENTRY}
    schedule += [(0.0, f) for f in _faults(ORDER_PATH, "POST", ETH_ENTRY, "order", truncated=False)]
    schedule += [
        (0.0, Fault(**order, http_status=status, msg=f"order-{status}"))
        for status in (429, 418, 403)
    ]
    # BTC's order book (public, ccxt): four temporary errors; the script adds more later.
    schedule += [(0.0, f) for f in _faults(DEPTH_PATH, "GET", BTC_BOOK, "book")]
    return schedule


class SurvivableScript:
    """on_tick of the survivable session: queues each next group of faults once the previous
    one is over, so that no group runs into freqtrade's retry limit (five calls) by chance."""

    def __init__(self, tail_s: float) -> None:
        lev = {"path": LEVERAGE_PATH, "method": "POST", "params": SOL_LEVERAGE}
        book = {"path": DEPTH_PATH, "method": "GET", "params": BTC_BOOK}
        self.tail_s = tail_s
        self.done_at: float | None = None  # rehearsal.elapsed() when the last fault was over
        # (SOL entries whose leverage went through before this group, its faults)
        self.leverage_groups: list[tuple[int, list[Fault]]] = [
            # Second SOL entry: blocked until 4 s after the request arrives.
            (1, [Fault(**lev, code=100410, unblock_in_s=4.0)]),
            # Third: rate limited twice in a row.
            (
                2,
                [
                    Fault(**lev, http_status=429, msg="lev-429"),
                    Fault(**lev, http_status=418, msg="lev-418"),
                ],
            ),
            # Fourth: the firewall, then a timestamp error.
            (
                3,
                [
                    Fault(**lev, http_status=403, msg="lev-403"),
                    Fault(**lev, code=80014, msg="timestamp is invalid"),
                ],
            ),
        ]
        self.book_group = [
            Fault(**book, http_status=429, msg="book-429"),
            Fault(**book, delay_s=STALL_S, http_status=500, msg="book-stall"),
        ]

    @staticmethod
    def _ok_after(records: list[RequestRecord], path: str, symbol: str, msg: str) -> bool:
        marks = [i for i, r in enumerate(records) if r.path == path and r.msg == msg]
        return bool(marks) and any(
            r.path == path and r.code == 0 and r.params.get("symbol") == symbol
            for r in records[marks[-1] + 1 :]
        )

    def __call__(self, rehearsal: Rehearsal) -> bool:
        server = rehearsal.server
        assert server is not None
        records = rehearsal.requests
        sol_ok = sum(
            r.path == LEVERAGE_PATH and r.code == 0 and r.params.get("symbol") == "SOL-USDT"
            for r in records
        )
        while self.leverage_groups and sol_ok >= self.leverage_groups[0][0]:
            for fault in self.leverage_groups.pop(0)[1]:
                server.inject(fault)
        if self.book_group and self._ok_after(records, DEPTH_PATH, "BTC-USDT", "book-html"):
            for fault in self.book_group:
                server.inject(fault)
            self.book_group = []
        # Done once every group was met, SOL set its leverage after the last one, and the
        # bot traded on for a round (every pair enters again within about 20 s).
        over = not self.leverage_groups and not self.book_group and sol_ok >= 4
        if self.done_at is None and over and server._faults.pending() == 0:
            self.done_at = rehearsal.elapsed()
        return self.done_at is not None and rehearsal.elapsed() - self.done_at >= self.tail_s


class ClockJump:
    """BingX's clock jumps ahead (the exchange's, not ours: the same for the bot)."""

    __name__ = "clock_jump"

    def __init__(self, skew_ms: int) -> None:
        self.skew_ms = skew_ms
        self.at_ms: int | None = None  # server time right after the jump

    def __call__(self, server: FakeBingx) -> None:
        server.clock_skew_ms = self.skew_ms
        self.at_ms = server.server_time_ms()


class FlipWhenFlat:
    """on_tick: after a round of trades, switch the account to hedge mode the moment it is flat
    (what a user on bingx.com can do), then let freqtrade trade on for ``after_s``."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self.flipped_at: float | None = None  # rehearsal.elapsed() at the flip
        self.at_ms: int | None = None

    def __call__(self, rehearsal: Rehearsal) -> bool:
        if self.flipped_at is not None:
            return rehearsal.elapsed() - self.flipped_at >= self.after_s
        trades, _orders = rehearsal.db_rows()
        if not any(not t["is_open"] for t in trades):
            return False
        assert rehearsal.server is not None
        acct = rehearsal.server.account(REHEARSAL_KEY)
        with acct.lock:
            if acct.busy():
                return False
            acct.hedge_mode = True
        self.flipped_at = rehearsal.elapsed()
        self.at_ms = rehearsal.server.server_time_ms()
        return False


class StopAfterCode:
    """on_tick: end the run ``after_s`` seconds after the exchange first answered ``code``."""

    def __init__(self, code: int, after_s: float) -> None:
        self.code, self.after_s = code, after_s
        self.seen_at: float | None = None

    def __call__(self, rehearsal: Rehearsal) -> bool:
        if self.seen_at is None and any(r.code == self.code for r in rehearsal.requests):
            self.seen_at = rehearsal.elapsed()
        return self.seen_at is not None and rehearsal.elapsed() - self.seen_at >= self.after_s


@dataclass
class Session:
    rehearsal: Rehearsal
    seconds: float
    on_tick: Callable[[Rehearsal], Any] | None = None
    settle: bool = True
    extras: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    def drive(self) -> None:
        started = time.monotonic()
        run = self.rehearsal
        try:
            run.start()
            run.run(self.seconds, on_tick=self.on_tick, poll_s=0.25)
            if self.settle and run.exit_code is None:
                # Stop when no entry or exit is in flight, so freqtrade and BingX can be compared.
                run.run(SETTLE_S, on_tick=lambda r: r.settled(), poll_s=0.25)
        finally:
            run.stop()
            self.wall_s = time.monotonic() - started


def _ccxt_timeout() -> dict[str, Any]:
    timeout = {"timeout": CCXT_TIMEOUT_MS}
    return {"exchange": {"ccxt_config": timeout, "ccxt_async_config": timeout}}


def build_sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Session]:
    extra_pairs = [f"{s.split('-')[0]}/USDT:USDT" for s in REFUSED]
    survivable_config = _ccxt_timeout()
    survivable_config["exchange"]["pair_whitelist"] = [*PAIRS, *extra_pairs]
    survivable_config["max_open_trades"] = len(PAIRS) + len(extra_pairs)
    contracts = default_contracts()
    known = {c["symbol"] for c in contracts}
    contracts += [make_contract(s) for s in REFUSED if s not in known]
    clock = ClockJump(CLOCK_JUMP_MS)
    flip = FlipWhenFlat(after_s=24.0)

    def person(code: int, msg: str, name: str) -> Session:
        # SOL's first leverage call, after BTC and ETH entered in the same loop.
        fault = Fault(LEVERAGE_PATH, method="POST", code=code, msg=msg, params=SOL_LEVERAGE)
        return Session(
            Rehearsal(workdir=tmp_path_factory.mktemp(name), seed=5, faults=[(0.0, fault)]),
            seconds=45.0,
            on_tick=StopAfterCode(code, after_s=10.0),
            settle=False,
        )

    return {
        "survivable": Session(
            Rehearsal(
                hedge=True,
                workdir=tmp_path_factory.mktemp("survivable"),
                seed=3,
                faults=survivable_schedule(),
                extra_config=survivable_config,
                server_kwargs={"contracts": contracts},
            ),
            seconds=140.0,
            on_tick=SurvivableScript(tail_s=24.0),
            extras={"blocked": True},
        ),
        "clock": Session(
            Rehearsal(
                workdir=tmp_path_factory.mktemp("clock"),
                seed=4,
                faults=[(22.0, clock)],
                extra_config=_ccxt_timeout(),
            ),
            seconds=52.0,
            extras={"jump": clock},
        ),
        "ip": person(100419, IP_MSG, "ip"),
        "key": person(100413, "Incorrect apiKey", "key"),
        "truncated_order": Session(
            Rehearsal(
                workdir=tmp_path_factory.mktemp("truncated_order"),
                seed=7,
                faults=[(0.0, Fault(**ETH_ORDER_ONE_WAY, body=TRUNCATED, msg="order-truncated"))],
                extra_config=_ccxt_timeout(),
            ),
            seconds=40.0,
        ),
        "stop_refused": Session(
            Rehearsal(
                workdir=tmp_path_factory.mktemp("stop_refused"),
                seed=8,
                faults=[
                    (
                        0.0,
                        Fault(
                            ORDER_PATH,
                            method="POST",
                            code=110411,
                            msg=STOP_CROSSED,
                            params=SOL_STOP,
                        ),
                    )
                ],
                extra_config=_ccxt_timeout(),
            ),
            seconds=45.0,
            on_tick=StopAfterCode(110411, after_s=6.0),
        ),
        "mode_flip": Session(
            Rehearsal(workdir=tmp_path_factory.mktemp("mode_flip"), seed=6),
            seconds=75.0,
            on_tick=flip,
            extras={"flip": flip},
        ),
    }


SESSIONS = ("survivable", "clock", "ip", "key", "mode_flip", "truncated_order", "stop_refused")
# Sessions whose faults the plugin is meant to handle completely.
HANDLED = ("survivable", "clock", "ip", "key", "mode_flip", "truncated_order", "stop_refused")
KEEPS_TRADING = ("survivable", "clock", "mode_flip")
PERSON_MUST_ACT = {
    "ip": (100419, "add this machine's public IP to the API key's whitelist"),
    "key": (100413, "check exchange.api_key / exchange.secret"),
}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Session]]:
    built = build_sessions(tmp_path_factory)
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for future in [pool.submit(built[name].drive) for name in SESSIONS]:
                future.result()
        yield built
    finally:
        for name, session in built.items():
            run = session.rehearsal
            run.stop()
            print(f"--- {name}: {session.wall_s:.0f} s")
            if run.summary().mismatches or run.exit_code not in (0, 130):
                print(run.summary().text())
                print(run.log_text()[-5000:])


@pytest.fixture(params=SESSIONS)
def session(request: pytest.FixtureRequest, sessions: dict[str, Session]) -> Session:
    return sessions[request.param]


# ----------------------------------------------------------------------------- helpers
def _same_request(params: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A request's identity: its parameters without the signing stamp."""
    return tuple(sorted((k, v) for k, v in params.items() if k not in ("timestamp", "recvWindow")))


def _failed(record: RequestRecord) -> bool:
    return record.code not in (0, None) or record.http_status != 200


def _entries(run: Rehearsal, hedge: bool | None = None) -> list[RequestRecord]:
    hedge = run.hedge if hedge is None else hedge
    return [
        r
        for r in run.requests
        if r.method == "POST"
        and r.path == ORDER_PATH
        and r.code == 0
        and classify_order(r, hedge) == "entry"
    ]


def _log(run: Rehearsal) -> str:
    """freqtrade's log (scrubbed) with its line wrapping undone."""
    return re.sub(r"\s+", " ", run.log_text())


def _find(run: Rehearsal, path: str, **where: Any) -> tuple[int, RequestRecord]:
    found = [
        (i, r)
        for i, r in enumerate(run.requests)
        if r.path == path and all(getattr(r, k) == v for k, v in where.items())
    ]
    assert len(found) == 1, (path, where, found)
    return found[0]


# ----------------------------------------------------------------------------- every session
def test_freqtrade_ran_until_stopped(session: Session) -> None:
    run = session.rehearsal
    assert run.interrupted and run.exit_code in (0, 130), run.summary().text()
    assert "Fatal exception" not in run.log_text()
    assert _entries(run), "freqtrade never entered a trade"


@pytest.mark.parametrize("name", KEEPS_TRADING)
def test_bot_keeps_trading_through_its_faults(sessions: dict[str, Session], name: str) -> None:
    run = sessions[name].rehearsal
    log = _log(run)
    assert "Stopping trader" not in log
    # freqtrade's worker sleeps 30 s when a TemporaryError escapes a whole loop: none may.
    assert "retrying in 30 seconds" not in log
    last_fault = max(r.t for r in run.requests if _failed(r))
    later = {r.params["symbol"] for r in _entries(run) if r.t > last_fault}
    assert later == {swap_symbol(p) for p in PAIRS}, run.summary().text()


@pytest.mark.parametrize("name", HANDLED)
def test_no_trade_lost(sessions: dict[str, Session], name: str) -> None:
    session = sessions[name]
    run = session.rehearsal
    summary = run.summary()
    assert summary.mismatches == [], summary.text()
    assert len(summary.unsettled) <= (0 if session.settle else 3), summary.text()
    trades, _orders = run.db_rows()
    # Every position freqtrade knows of is on the exchange and the other way round.
    assert {(swap_symbol(t["pair"]), bool(t["is_short"])) for t in trades if t["is_open"]} == {
        (p["symbol"], p["positionSide"] == "SHORT") for p in run.positions()
    }


def test_no_key_secret_or_signature_in_freqtrade_log(session: Session) -> None:
    raw = session.rehearsal.raw_log_text()
    assert "freqtrade-bingx" in raw  # the log was captured
    assert REHEARSAL_SECRET not in raw
    assert REHEARSAL_KEY not in raw
    assert not re.search(r"signature=(?!<redacted>)", raw)
    assert not re.search(r"\b[0-9a-f]{64}\b", raw), "something like a signature was logged"


def test_permanent_errors_are_sent_once(session: Session) -> None:
    """BingX blocks an endpoint after 20 failing requests in 8 minutes: never repeat one."""
    answered: Counter = Counter()
    for r in session.rehearsal.requests:
        if r.path not in PLUGIN_PATHS or r.code in (0, None):
            continue
        error = BingxRejected(
            "rejected", method=r.method, path=r.path, code=r.code, msg=r.msg, http_status=200
        )
        if is_permanent(translate(error, "test")):
            answered[(r.method, r.path, _same_request(r.params))] += 1
    assert all(n == 1 for n in answered.values()), answered


def test_blocked_endpoint_gets_nothing_before_its_unblock_time(session: Session) -> None:
    records = session.rehearsal.requests
    blocks = 0
    for index, record in enumerate(records):
        until = unblock_time_ms(record.msg) if record.code == 100410 else None
        if until is None:
            continue
        blocks += 1
        # BingX limits each API (method and path) on its own: a blocked POST leaves GET open.
        same = [
            r for r in records[index + 1 :] if (r.method, r.path) == (record.method, record.path)
        ]
        early = [r for r in same if r.t < until]
        assert early == [], f"{len(early)} request(s) to {record.path} before {until}"
        later_ok = [r for r in same if r.code == 0]
        if record.path == LEVERAGE_PATH:
            assert later_ok and later_ok[0].t >= until
    if session.extras.get("blocked"):
        assert blocks


# ----------------------------------------------------------------------------- survivable
# (label, path, how the faulted request shows in the ledger, what the plugin promises)
LEVERAGE_FAULTS = [
    ("5xx", {"http_status": 500, "msg": "lev-500"}, "retry"),
    ("reset", {"http_status": None}, "retry"),
    ("truncated JSON", {"msg": "lev-truncated"}, "retry"),
    ("HTML page", {"msg": "lev-html"}, "retry"),
    ("429", {"msg": "lev-429"}, "back off 1 s"),
    ("418", {"msg": "lev-418"}, "back off 2 s"),
    ("403", {"msg": "lev-403"}, "back off 1 s"),
    ("80014", {"code": 80014}, "re-sync clock"),
    ("100410 until", {"code": 100410}, "wait until unblocked"),
]


@pytest.mark.parametrize(
    ("label", "where", "promise"), LEVERAGE_FAULTS, ids=[f[0] for f in LEVERAGE_FAULTS]
)
def test_survivable_leverage_faults(
    sessions: dict[str, Session], label: str, where: dict[str, Any], promise: str
) -> None:
    run = sessions["survivable"].rehearsal
    records = run.requests
    index, fault = _find(run, LEVERAGE_PATH, method="POST", **where)
    same = _same_request(fault.params)
    after = records[index + 1 :]
    posts = [r for r in after if (r.method, r.path) == ("POST", LEVERAGE_PATH)]
    if promise == "wait until unblocked":
        # The endpoint is blocked for every pair: nothing reaches BingX before the unblock
        # time, and then whichever pair freqtrade enters first may go first.
        until = unblock_time_ms(fault.msg)
        assert until is not None and all(r.t >= until for r in posts)
        nxt = next(r for r in posts if _same_request(r.params) == same)
    else:
        nxt = posts[0]
    # The same request again (freqtrade's retrier), and it went through in the end.
    assert _same_request(nxt.params) == same
    assert any(
        r.path == LEVERAGE_PATH and r.code == 0 and _same_request(r.params) == same for r in after
    )
    gap_s = (nxt.t - fault.t) / 1000
    if promise == "retry":
        # TemporaryError: retried without a sleep; the plugin's limiter (2/s on this
        # endpoint) may hold the retry for up to a second.
        assert gap_s <= 1.2, gap_s
    elif promise.startswith("back off"):
        # DDosProtection: freqtrade's growing back-off sleep (1 s, 2 s, ...) comes first.
        assert gap_s >= float(promise.split()[2]) - 0.1, gap_s
        assert "Applying DDosProtection backoff delay" in _log(run)
    elif promise == "re-sync clock":
        between = records[index + 1 : records.index(nxt)]
        assert any(r.path == SERVER_TIME_PATH and r.code == 0 for r in between)
    # The SOL entry this leverage was for was placed after it.
    assert any(r.params["symbol"] == "SOL-USDT" and r.t > fault.t for r in _entries(run)), (
        run.summary().text()
    )


@pytest.mark.parametrize("symbol", list(REFUSED))
def test_survivable_refused_pair_is_skipped_and_not_asked_again(
    sessions: dict[str, Session], symbol: str
) -> None:
    run = sessions["survivable"].rehearsal
    path, code = REFUSED[symbol]
    sent = [r for r in run.requests if r.path == path and r.params.get("symbol") == symbol]
    posts = [r for r in sent if r.method == "POST"]
    # Sent once, refused once, and then answered locally on every later attempt.
    assert [r.code for r in posts] == [code]
    log = _log(run)
    pair = f"{symbol.split('-')[0]}/USDT:USDT"
    assert f"Unable to create trade for {pair}" in log
    assert re.search(rf"{symbol}.{{0,300}}?not sent again: BingX refused this request", log)
    assert not any(r.params.get("symbol") == symbol for r in _entries(run))


ORDER_FAULTS = [
    ("5xx", {"msg": "order-500"}),
    ("reset", {"http_status": None}),
    ("HTML page", {"msg": "order-html"}),
    ("429", {"msg": "order-429"}),
    ("418", {"msg": "order-418"}),
    ("403", {"msg": "order-403"}),
]


@pytest.mark.parametrize(("label", "where"), ORDER_FAULTS, ids=[f[0] for f in ORDER_FAULTS])
def test_survivable_order_endpoint_faults(
    sessions: dict[str, Session], label: str, where: dict[str, Any]
) -> None:
    """ccxt's own endpoint: the entry fails, freqtrade goes on and enters ETH later."""
    run = sessions["survivable"].rehearsal
    _index, fault = _find(run, ORDER_PATH, method="POST", **where)
    assert fault.params["symbol"] == "ETH-USDT"
    later = [r for r in _entries(run) if r.params["symbol"] == "ETH-USDT" and r.t > fault.t]
    assert later, run.summary().text()
    assert "Unable to create trade for ETH/USDT:USDT" in _log(run)


BOOK_FAULTS = [
    ("5xx", {"msg": "book-500"}),
    ("reset", {"http_status": None}),
    ("truncated JSON", {"msg": "book-truncated"}),
    ("HTML page", {"msg": "book-html"}),
    ("429", {"msg": "book-429"}),
    ("stall past ccxt's timeout", {"msg": "book-stall"}),
]


@pytest.mark.parametrize(("label", "where"), BOOK_FAULTS, ids=[f[0] for f in BOOK_FAULTS])
def test_survivable_market_data_faults(
    sessions: dict[str, Session], label: str, where: dict[str, Any]
) -> None:
    """A public endpoint read through ccxt: retried, and BTC trades on."""
    run = sessions["survivable"].rehearsal
    records = run.requests
    index, fault = _find(run, DEPTH_PATH, method="GET", **where)
    assert fault.params["symbol"] == "BTC-USDT"
    nxt = next(r for r in records[index + 1 :] if r.path == DEPTH_PATH)
    if label == "stall past ccxt's timeout":
        # Asked again once ccxt's timeout ended the stalled request, before the stall did.
        assert CCXT_TIMEOUT_MS / 1000 - 0.5 <= (nxt.t - fault.t) / 1000 < STALL_S
    assert any(r.params["symbol"] == "BTC-USDT" and r.t > fault.t for r in _entries(run)), (
        run.summary().text()
    )


def test_survivable_faults_were_all_applied(sessions: dict[str, Session]) -> None:
    run = sessions["survivable"].rehearsal
    assert run.server is not None
    assert run.server._faults.pending() == 0, "some faults were never met"
    assert len(run.applied_faults) == len(run.faults)


def test_truncated_order_reply_is_not_taken_for_an_order(sessions: dict[str, Session]) -> None:
    run = sessions["truncated_order"].rehearsal
    _index, fault = _find(run, ORDER_PATH, msg="order-truncated")
    assert fault.params["symbol"] == "ETH-USDT"
    trades, orders = run.db_rows()
    assert all(o["order_id"] for o in orders), "freqtrade stored an order without an id"
    assert "Order None was created" not in _log(run)
    assert run.summary().mismatches == []
    open_trades = {(swap_symbol(t["pair"]), bool(t["is_short"])) for t in trades if t["is_open"]}
    assert open_trades == {(p["symbol"], p["positionSide"] == "SHORT") for p in run.positions()}
    # The entry is skipped like any other failed one, and ETH trades again.
    assert any(r.params["symbol"] == "ETH-USDT" and r.t > fault.t for r in _entries(run))


# ----------------------------------------------------------------------------- stop refused
def test_refused_stoploss_exits_the_trade(sessions: dict[str, Session]) -> None:
    """110411 on the stoploss: freqtrade exits the trade instead of leaving it unprotected."""
    run = sessions["stop_refused"].rehearsal
    records = run.requests
    index, refused = _find(run, ORDER_PATH, code=110411)
    assert refused.params["symbol"] == "SOL-USDT" and refused.params["side"] == "SELL"
    sol_orders = [
        r
        for r in records[index + 1 :]
        if r.method == "POST" and r.path == ORDER_PATH and r.params.get("symbol") == "SOL-USDT"
    ]
    # The next SOL order is the exit, accepted at once; the refused stop was not sent again.
    exit_ = sol_orders[0]
    assert classify_order(exit_, run.hedge) == "exit" and exit_.code == 0
    assert exit_.params["type"] == "MARKET"
    assert (exit_.t - refused.t) / 1000 < 5.0
    # freqtrade's database: that trade is closed as an emergency exit.
    trades, _orders = run.db_rows()
    first_sol = next(t for t in trades if t["pair"] == "SOL/USDT:USDT")
    assert not first_sol["is_open"]
    assert first_sol["exit_reason"] == "emergency_exit"
    log = _log(run)
    assert "Unable to place a stoploss order on exchange" in log
    assert "Exiting the trade forcefully" in log
    assert STOP_CROSSED in log


# ----------------------------------------------------------------------------- clock
def test_clock_jump_is_recovered_from(sessions: dict[str, Session]) -> None:
    session = sessions["clock"]
    run = session.rehearsal
    jump: ClockJump = session.extras["jump"]
    assert jump.at_ms is not None
    records = run.requests
    clock_errors = [(i, r) for i, r in enumerate(records) if r.code in (80014, 100421)]
    # The jump was seen (BingX refused a stale timestamp) ...
    assert clock_errors, "the clock jump never reached a signed request"
    first = clock_errors[0][0]
    # ... the bot re-read BingX's clock right after ...
    resync = next(
        i for i, r in enumerate(records) if i > first and r.path == SERVER_TIME_PATH and r.code == 0
    )
    # ... and no signed request was refused for its timestamp a second after that.
    settled_ms = records[resync].t + 1000
    assert [
        r.path for r in records[resync:] if r.code in (80014, 100421) and r.t > settled_ms
    ] == []
    assert len(clock_errors) <= 4, [(r.method, r.path) for _i, r in clock_errors]
    # Signed requests after the re-sync carry BingX's new time.
    signed = [r for r in records[resync + 1 :] if "timestamp" in r.params and r.code == 0]
    assert signed and all(abs(int(r.params["timestamp"]) - r.t) < 5000 for r in signed)


# ----------------------------------------------------------------------------- mode flip
def test_mode_flip_is_followed(sessions: dict[str, Session]) -> None:
    session = sessions["mode_flip"]
    run = session.rehearsal
    flip: FlipWhenFlat = session.extras["flip"]
    assert flip.at_ms is not None, "the account was never flat"
    after = [r for r in run.requests if r.t >= flip.at_ms]
    mismatches = [r for r in after if r.code == 109400 and "mode" in r.msg]
    # One refusal shows the switch; the plugin re-reads the mode and the bot goes on.
    assert 1 <= len(mismatches) <= 2, [(r.path, r.msg) for r in mismatches]
    assert any(r.path == DUAL_PATH and r.method == "GET" for r in after)
    entries = _entries(run, hedge=True)
    hedged = [r for r in entries if r.t >= flip.at_ms]
    assert {r.params["symbol"] for r in hedged} == {swap_symbol(p) for p in PAIRS}
    assert all(r.params["positionSide"] in ("LONG", "SHORT") for r in hedged)
    assert all("reduceOnly" not in r.params for r in after if r.path == ORDER_PATH)
    leverage = [r for r in after if r.path == LEVERAGE_PATH and r.method == "POST" and r.code == 0]
    assert leverage and all(r.params["side"] in ("LONG", "SHORT") for r in leverage)
    assert "BingX position mode changed from one_way to hedge" in _log(run)


# ----------------------------------------------------------------------------- person must act
@pytest.mark.parametrize("name", list(PERSON_MUST_ACT))
def test_person_must_act_stops_the_trader(sessions: dict[str, Session], name: str) -> None:
    run = sessions[name].rehearsal
    code, advice = PERSON_MUST_ACT[name]
    records = run.requests
    index, _fault = _find(run, LEVERAGE_PATH, code=code)
    log = _log(run)
    assert "OperationalException. Stopping trader" in log
    # The message names what to fix.
    stop_at = log.index("OperationalException. Stopping trader")
    assert advice in log[stop_at:], log[stop_at : stop_at + 3000]
    # Not retried, and nothing was entered after it.
    assert not any(r.path == LEVERAGE_PATH for r in records[index + 1 :])
    assert not any(
        r.method == "POST" and r.path == ORDER_PATH and classify_order(r, run.hedge) == "entry"
        for r in records[index + 1 :]
    )
    # freqtrade stayed up (stopped trading, not crashed) until it was interrupted.
    assert run.interrupted and run.exit_code in (0, 130)
    assert sessions[name].rehearsal.elapsed() >= 10.0


# ----------------------------------------------------------------------------- the fake's faults
def test_fault_params_and_unblock_time() -> None:
    import requests

    with FakeBingx() as server:
        server.inject(
            Fault("/openApi/swap/v2/quote/depth", params={"symbol": "ETH-USDT"}, http_status=503)
        )
        server.inject(Fault(SERVER_TIME_PATH, code=100410, unblock_in_s=3.0))
        url = server.base_url + "/openApi/swap/v2/quote/depth"
        assert requests.get(url, params={"symbol": "BTC-USDT"}, timeout=5).status_code == 200
        assert requests.get(url, params={"symbol": "ETH-USDT"}, timeout=5).status_code == 503
        reply = requests.get(server.base_url + SERVER_TIME_PATH, timeout=5).json()
        until = unblock_time_ms(reply["msg"])
        record = server.requests[-1]
        assert reply["code"] == 100410 and record.msg == reply["msg"]
        assert until is not None and until - record.t == 3000

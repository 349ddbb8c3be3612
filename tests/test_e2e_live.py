"""freqtrade trades live against the fake BingX: a real ``freqtrade trade`` process per mode.

One session in one-way and one in hedge mode run side by side (about a minute in all) with the
rehearsal strategy (``freqtrade_bingx/sim/strategies``): BTC alternates long / short at 2x,
ETH is short at 3x, SOL is long at 2x, 3x, 2x, ... Each session is stopped at a quiet point
(every pair has a trade open, protected by its stoploss, and none is about to exit) so that
freqtrade's database and the exchange can be compared. Every assertion reads the exchange's
request ledger, its orders and positions, or freqtrade's database and log.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from freqtrade_bingx.sim import Fault, RequestRecord
from freqtrade_bingx.sim.server import LEVERAGE_PATH, MARGIN_TYPE_PATH, ORDER_PATH
from freqtrade_bingx.sim.strategies.rehearsal_strategy import BingxRehearsal
from freqtrade_bingx.tools.rehearse import (
    REHEARSAL_KEY,
    REHEARSAL_SECRET,
    Rehearsal,
    classify_order,
    ledger_errors,
    leverage_calls,
    order_requests,
    reconcile,
    swap_symbol,
)


# Long enough for three rounds of trades (BTC long, short, long) at ~18 s a round.
MIN_SECONDS = 44.0
# Then up to this long for a quiet point to stop at.
SETTLE_SECONDS = 25.0
MODES = ("one_way", "hedge")
PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")


def _opened(trade: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(trade["open_date"]).replace(tzinfo=UTC)


def quiet_point(rehearsal: Rehearsal) -> bool:
    """Every pair traded three times; the open trades have their stoplosses, nothing is
    pending, and none exits within 4 s.

    Not every pair need be open then: BingX's create reply already says a market entry FILLED,
    so freqtrade books it at once, and the pairs' rounds drift apart.
    """
    trades, _orders = rehearsal.db_rows()
    open_trades = [t for t in trades if t["is_open"]]
    if not open_trades or not rehearsal.settled():
        return False
    if any(sum(t["pair"] == pair for t in trades) < 3 for pair in PAIRS):
        return False
    oldest = min(_opened(t) for t in open_trades)
    return (datetime.now(UTC) - oldest).total_seconds() < BingxRehearsal.HOLD_SECONDS - 4


# A plain 100410 with the usage headers of BingX's rate-limit page: the window ends in 1 s.
# Without them the plugin keeps off the endpoint for the 5 minutes that page names, longer
# than these sessions.
WINDOW_USED_UP = {"X-RateLimit-Requests-Remain": "0", "X-RateLimit-Requests-Expire": "1000"}


def _rate_limited() -> Fault:
    return Fault(
        LEVERAGE_PATH, method="POST", code=100410, msg="rate limited", headers=WINDOW_USED_UP
    )


def _rate_limited_once(server: Any) -> None:
    # A callable in the schedule: freqtrade must back off and set leverage again.
    server.inject(_rate_limited())


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Rehearsal]]:
    runs = {
        "one_way": Rehearsal(
            workdir=tmp_path_factory.mktemp("one_way"),
            # The first set-leverage call is rate limited, then one a little later too.
            faults=[
                (0.0, _rate_limited()),
                (22.0, _rate_limited_once),
            ],
        ),
        "hedge": Rehearsal(hedge=True, workdir=tmp_path_factory.mktemp("hedge"), seed=2),
    }
    try:
        for run in runs.values():
            run.start()
        for run in runs.values():
            run.run(max(0.0, MIN_SECONDS - run.elapsed()))
        for run in runs.values():
            # Stop each session at its own quiet point, right when it is reached.
            run.run(SETTLE_SECONDS, on_tick=quiet_point, poll_s=0.25)
            run.stop()
        yield runs
    finally:
        for run in runs.values():
            run.stop()
            if run.summary().mismatches or run.exit_code not in (0, 130):
                print(run.summary().text())
                print(run.log_text()[-5000:])


@pytest.fixture(params=MODES)
def session(request: pytest.FixtureRequest, sessions: dict[str, Rehearsal]) -> Rehearsal:
    return sessions[request.param]


def _entries(run: Rehearsal) -> list[tuple[int, RequestRecord]]:
    records = run.requests
    return [
        (i, r)
        for i, r in enumerate(records)
        if r.method == "POST"
        and r.path == ORDER_PATH
        and r.code == 0
        and classify_order(r, run.hedge) == "entry"
    ]


def _exchange_orders(run: Rehearsal) -> dict[str, dict[str, Any]]:
    assert run.server is not None
    return {str(o["orderId"]): o for o in run.server.orders(REHEARSAL_KEY)}


# ----------------------------------------------------------------------------- trading
def test_freqtrade_traded_live_and_stopped_cleanly(session: Rehearsal) -> None:
    summary = session.summary()
    assert summary.interrupted and session.exit_code in (0, 130), summary.text()
    assert "Fatal exception" not in session.log_text()
    trades = summary.trades
    closed = [t for t in trades if not t["is_open"]]
    assert len(closed) >= 6, summary.text()
    assert {bool(t["is_short"]) for t in trades} == {False, True}
    assert all(t["leverage"] > 1 for t in trades)
    assert {t["exit_reason"] for t in closed} == {"rehearsal_hold_over"}
    # Re-entries: every pair traded at least three times (two round trips and an open one).
    assert all(sum(t["pair"] == pair for t in trades) >= 3 for pair in PAIRS), summary.text()
    # BTC alternated its direction.
    btc = [bool(t["is_short"]) for t in trades if t["pair"] == "BTC/USDT:USDT"]
    assert btc[:3] == [False, True, False]


def test_leverage_set_for_the_right_side_before_each_entry(session: Rehearsal) -> None:
    records = session.requests
    trades, _orders = session.db_rows()
    per_pair: dict[str, list[dict[str, Any]]] = {}
    for trade in trades:
        per_pair.setdefault(swap_symbol(trade["pair"]), []).append(trade)
    seen: dict[str, int] = {}
    for index, entry in _entries(session):
        symbol = entry.params["symbol"]
        trade = per_pair[symbol][seen.get(symbol, 0)]
        seen[symbol] = seen.get(symbol, 0) + 1
        want_side = ("SHORT" if trade["is_short"] else "LONG") if session.hedge else "BOTH"
        assert entry.params["positionSide"] == want_side
        assert entry.params["side"] == ("SELL" if trade["is_short"] else "BUY")
        earlier = [
            r
            for r in records[:index]
            if r.method == "POST"
            and r.path == LEVERAGE_PATH
            and r.code == 0
            and r.params["symbol"] == symbol
        ]
        # Every leverage call used the side the mode needs, and the last one for this side
        # before the entry set the trade's leverage.
        assert {r.params["side"] for r in earlier} <= (
            {"LONG", "SHORT"} if session.hedge else {"BOTH"}
        )
        last = [r for r in earlier if r.params["side"] == want_side][-1]
        assert int(last.params["leverage"]) == int(trade["leverage"]), (symbol, trade["id"])
    assert sum(seen.values()) == len(trades)


def test_unchanged_leverage_is_not_sent_again(session: Rehearsal) -> None:
    calls = [c for c in leverage_calls(session.requests, session.hedge) if c["code"] == 0]
    entries = _entries(session)
    assert len(calls) < len(entries)
    last: dict[tuple[str, str], str] = {}
    for call in calls:
        key = (call["symbol"], call["side"])
        assert last.get(key) != call["leverage"], f"{key} set to {call['leverage']}x twice"
        last[key] = call["leverage"]
    btc_sides = [c["side"] for c in calls if c["symbol"] == "BTC-USDT"]
    eth_sides = [c["side"] for c in calls if c["symbol"] == "ETH-USDT"]
    # BTC at 2x both ways: hedge sets LONG and SHORT once each, one-way BOTH once.
    assert sorted(btc_sides) == (["LONG", "SHORT"] if session.hedge else ["BOTH"])
    assert eth_sides == (["SHORT"] if session.hedge else ["BOTH"])
    # SOL changes its leverage on each re-entry, so each change is sent: 2x, 3x, 2x, ...
    sol = [c["leverage"] for c in calls if c["symbol"] == "SOL-USDT"]
    assert len(sol) >= 3 and sol[:3] == ["2", "3", "2"]
    # Each successful call covered at least one entry.
    assert all(c["entries"] >= 1 for c in calls)
    assert sum(c["entries"] for c in calls) == len(entries)


def test_margin_type_set_once_before_the_first_entry(session: Rehearsal) -> None:
    records = session.requests
    entries = _entries(session)
    for symbol in {swap_symbol(p) for p in PAIRS}:
        first_entry = min(i for i, r in entries if r.params["symbol"] == symbol)
        sets = [
            i
            for i, r in enumerate(records)
            if r.method == "POST"
            and r.path == MARGIN_TYPE_PATH
            and r.params.get("symbol") == symbol
        ]
        assert len(sets) == 1 and sets[0] < first_entry
        assert records[sets[0]].params["marginType"] == "ISOLATED" and records[sets[0]].code == 0


def test_orders_carry_the_position_side(session: Rehearsal) -> None:
    trades, orders = session.db_rows()
    by_id = {t["id"]: t for t in trades}
    on_exchange = _exchange_orders(session)
    requests = [r for r in order_requests(session.requests) if r.code == 0]
    assert requests
    if session.hedge:
        # BingX refuses reduceOnly in hedge mode: it must never be sent.
        assert all("reduceOnly" not in r.params for r in order_requests(session.requests))
        assert all(r.params["positionSide"] in ("LONG", "SHORT") for r in requests)
    else:
        assert all(r.params["positionSide"] == "BOTH" for r in requests)
    kinds = set()
    for order in orders:
        trade = by_id[order["ft_trade_id"]]
        placed = on_exchange[str(order["order_id"])]
        entry_side = "sell" if trade["is_short"] else "buy"
        kind = "entry" if order["ft_order_side"] == entry_side else "exit"
        if order["ft_order_side"] == "stoploss":
            kind = "stoploss"
        kinds.add(kind)
        position = "SHORT" if trade["is_short"] else "LONG"
        assert placed["positionSide"] == (position if session.hedge else "BOTH")
        assert placed["reduceOnly"] is (kind != "entry" and not session.hedge)
        closing_side = "BUY" if trade["is_short"] else "SELL"
        assert placed["side"] == (closing_side if kind != "entry" else entry_side.upper())
    assert kinds == {"entry", "exit", "stoploss"}


def test_stoplosses_placed_on_the_exchange(session: Rehearsal) -> None:
    trades, orders = session.db_rows()
    on_exchange = _exchange_orders(session)
    for trade in trades:
        stops = [
            o
            for o in orders
            if o["ft_trade_id"] == trade["id"] and o["ft_order_side"] == "stoploss"
        ]
        assert stops, f"trade {trade['id']} had no stoploss order"
        placed = on_exchange[str(stops[-1]["order_id"])]
        assert placed["type"] == "STOP_MARKET"
        stop = float(placed["stopPrice"])
        if trade["is_short"]:
            assert stop > trade["open_rate"]
        else:
            assert stop < trade["open_rate"]
        if trade["is_open"]:
            assert placed["status"] == "NEW", f"open trade {trade['id']}: stop {placed['status']}"
        else:
            # freqtrade cancelled the stop before its own exit.
            assert placed["status"] in ("CANCELED", "CANCELLED")


def test_freqtrade_agrees_with_the_exchange_at_the_end(session: Rehearsal) -> None:
    trades, _orders = session.db_rows()
    open_trades = [t for t in trades if t["is_open"]]
    positions = session.positions()
    assert open_trades and len(positions) == len(open_trades)
    assert reconcile(trades, positions) == []
    for trade in open_trades:
        (position,) = [p for p in positions if p["symbol"] == swap_symbol(trade["pair"])]
        assert position["positionSide"] == ("SHORT" if trade["is_short"] else "LONG")
        assert float(position["positionAmt"]) == pytest.approx(trade["amount"])
        assert int(position["leverage"]) == int(trade["leverage"])


def test_candles_came_over_the_fakes_websocket(session: Rehearsal) -> None:
    # freqtrade's ExchangeWS (enable_ws, on by default) subscribed each pair's candles (of the
    # config's timeframe) on the fake's swap market websocket, and no frame was refused.
    assert session.server is not None
    asked = [f["dataType"] for f in session.server.ws.subscribe_frames if f["reqType"] == "sub"]
    assert {data_type.split("@kline_")[0] for data_type in asked} >= {
        f"{pair.split('/')[0]}-USDT" for pair in PAIRS
    }
    assert "frame dropped" not in session.log_text()


def test_no_key_secret_or_signature_in_freqtrade_log(session: Rehearsal) -> None:
    raw = session.raw_log_text()
    assert "freqtrade-bingx" in raw and "BingX leverage for" in raw  # the log was captured
    assert REHEARSAL_SECRET not in raw
    assert REHEARSAL_KEY not in raw
    assert "signature=" not in raw


def test_rate_limit_faults_were_applied_and_survived(sessions: dict[str, Rehearsal]) -> None:
    run = sessions["one_way"]
    summary = run.summary()
    assert len(summary.faults) == 2
    (error,) = summary.ledger_errors
    assert (error["path"], error["code"], error["msg"]) == (LEVERAGE_PATH, 100410, "rate limited")
    assert error["count"] == 2 and "answered OK again" in error["handled"]
    text = summary.text()
    for part in ("Leverage calls", "covered", "Stoplosses placed", "100410", "stopped cleanly"):
        assert part in text
    assert REHEARSAL_SECRET not in text
    assert sessions["hedge"].summary().ledger_errors == []


# ----------------------------------------------------------------------------- helpers
def _record(path: str, code: int = 0, **params: str) -> RequestRecord:
    return RequestRecord("POST", path, dict(params), REHEARSAL_KEY, 200, code)


def test_ledger_helpers_on_a_hand_written_ledger() -> None:
    ledger = [
        _record(LEVERAGE_PATH, code=100410, symbol="BTC-USDT", side="LONG", leverage="2"),
        _record(LEVERAGE_PATH, symbol="BTC-USDT", side="LONG", leverage="2"),
        _record(ORDER_PATH, symbol="BTC-USDT", side="BUY", positionSide="LONG", type="MARKET"),
        _record(
            ORDER_PATH, symbol="BTC-USDT", side="SELL", positionSide="LONG", type="STOP_MARKET"
        ),
        _record(ORDER_PATH, symbol="BTC-USDT", side="SELL", positionSide="LONG", type="MARKET"),
        _record(ORDER_PATH, symbol="BTC-USDT", side="BUY", positionSide="LONG", type="MARKET"),
    ]
    assert [classify_order(r, hedge=True) for r in order_requests(ledger)] == [
        "entry",
        "stoploss",
        "exit",
        "entry",
    ]
    calls = leverage_calls(ledger, hedge=True)
    assert [(c["code"], c["entries"]) for c in calls] == [(100410, 0), (0, 2)]
    (error,) = ledger_errors(ledger)
    assert error["count"] == 1 and error["handled"].startswith("the endpoint answered OK again")
    one_way_exit = _record(ORDER_PATH, side="SELL", positionSide="BOTH", reduceOnly="true")
    assert classify_order(one_way_exit, hedge=False) == "exit"
    trade = {"is_open": 1, "pair": "BTC/USDT:USDT", "is_short": 0, "amount": 0.05}
    position = {"symbol": "BTC-USDT", "positionSide": "LONG", "positionAmt": "0.05"}
    assert reconcile([trade], [position]) == []
    assert reconcile([trade], []) == ["BTC-USDT LONG: freqtrade holds 0.05, the exchange 0"]
    stray = {"symbol": "ETH-USDT", "positionSide": "SHORT", "positionAmt": "1"}
    assert reconcile([], [stray]) == ["ETH-USDT SHORT: freqtrade holds 0, the exchange 1"]
    with pytest.raises(ValueError, match="USDT-M perpetual"):
        swap_symbol("BTC/USDT")


def test_override_points_everything_at_the_fake(tmp_path) -> None:
    from freqtrade.configuration.load_config import load_from_files

    user = tmp_path / "user.json"
    shipped = Rehearsal(workdir=tmp_path).config_files[0].resolve()
    user.write_text(
        json.dumps(
            {
                "add_config_files": [str(shipped)],
                "exchange": {"pair_whitelist": ["DOGE/USDT:USDT"]},
                "telegram": {"enabled": True, "token": "t", "chat_id": "1"},
            }
        )
    )
    rehearsal = Rehearsal(config_files=[user], workdir=tmp_path / "work", timeframe="5m")
    server = rehearsal.start_exchange()
    try:
        assert "DOGE-USDT" in {c["symbol"] for c in server.contracts}
        command = rehearsal.command()
        files = [path for flag, path in itertools.pairwise(command) if flag == "-c"]
        assert files[-1] == str(rehearsal.config_path)
        config = load_from_files(files)
        assert config["dry_run"] is False
        assert config["telegram"]["enabled"] is False
        assert config["api_server"]["enabled"] is False
        assert config["timeframe"] == "5m"
        assert config["db_url"] == f"sqlite:///{rehearsal.db_path}"
        assert config["user_data_dir"] == str(tmp_path / "work" / "user_data")
        exchange = config["exchange"]
        assert (exchange["api_key"], exchange["secret"]) == (REHEARSAL_KEY, REHEARSAL_SECRET)
        for section in ("ccxt_config", "ccxt_async_config"):
            urls = exchange[section]["urls"]
            assert urls["api"]["swap"] == f"{server.base_url}/openApi"
            assert urls["test"]["swap"] == f"{server.base_url}/openApi"
            assert urls["api"]["ws"]["linear"] == urls["test"]["ws"]["linear"] == server.ws.url
        assert exchange.get("enable_ws", True) is True  # freqtrade's websocket candles on
        assert rehearsal.command()[-2:] == ["--strategy-path", str(rehearsal.strategy_path)]
    finally:
        rehearsal.stop()

"""Live funding fees: every payment of a trade, read page by page from BingX's income endpoint.

BingX's page (GET /openApi/swap/v2/user/income) returns 100 rows by default and 1000 at most;
the local exchange keeps to it, so these tests fail for a client that reads one page.
"""

from datetime import UTC, datetime

import pytest
from freqtrade.exceptions import TemporaryError
from freqtrade.persistence import Trade

from freqtrade_bingx.bingx import funding, paging
from freqtrade_bingx.sim import Fault


INCOME_PATH = "/openApi/swap/v2/user/income"
HOUR_MS = 3600 * 1000
PAIR = "BTC/USDT:USDT"


def _row(symbol: str, time_ms: int, amount: float, kind: str = "FUNDING_FEE") -> dict:
    # Shaped like the page's response parameters (and ccxt's quoted live reply).
    return {
        "symbol": symbol,
        "incomeType": kind,
        "income": f"{amount:.4f}",
        "asset": "USDT",
        "info": "Funding Fee" if kind == "FUNDING_FEE" else kind,
        "time": time_ms,
        "tranId": f"{time_ms}_{symbol}_{kind}",
        "tradeId": f"{time_ms}_{symbol}",
    }


def _hourly_ledger(server, hours: int) -> tuple[int, float]:
    """``hours`` hourly BTC-USDT payments up to the last full hour, plus noise the client must
    leave out; returns the first payment's time and the BTC-USDT sum."""
    now = server.server_time_ms()
    last = (now // HOUR_MS) * HOUR_MS
    first = last - (hours - 1) * HOUR_MS
    rows, expected = [], 0.0
    for i in range(hours):
        t = first + i * HOUR_MS
        amount = -0.0123 if i % 3 else 0.0456  # mixed signs, exact in four decimals
        rows.append(_row("BTC-USDT", t, amount))
        expected += amount
        rows.append(_row("ETH-USDT", t, 1.0))  # another pair
        rows.append(_row("BTC-USDT", t + 1, 5.0, kind="REALIZED_PNL"))  # another type
    rows.append(_row("BTC-USDT", first - HOUR_MS, 100.0))  # before the trade opened
    server.account().incomes[:] = sorted(rows, key=lambda r: r["time"])
    return first, expected


def test_a_trade_with_more_than_1000_payments_is_charged_all_of_them(fake_bingx, make_exchange):
    exchange = make_exchange()
    first, expected = _hourly_ledger(fake_bingx, hours=1100)  # about 46 days at 1h funding
    fake_bingx.clear_requests()

    open_date = datetime.fromtimestamp((first - 60_000) / 1000, tz=UTC)  # a minute before
    fee = exchange.get_funding_fees(PAIR, amount=0.1, is_short=False, open_date=open_date)

    assert fee == pytest.approx(expected, abs=1e-9)
    requests = [r for r in fake_bingx.requests if r.path == INCOME_PATH]
    # The whole span holds 1100 rows: a full page, so the window is halved and both halves read.
    assert len(requests) == 3
    assert {r.params["limit"] for r in requests} == {"1000"}
    assert all("startTime" in r.params and "endTime" in r.params for r in requests)
    assert {r.params["incomeType"] for r in requests} == {"FUNDING_FEE"}

    # The next update reads only what is new: one request for the last minutes.
    fake_bingx.reset_rate_limits()
    fake_bingx.clear_requests()
    now = fake_bingx.server_time_ms()
    fake_bingx.account().incomes.append(_row("BTC-USDT", now - 1000, -0.5))
    fee = exchange.get_funding_fees(PAIR, amount=0.1, is_short=False, open_date=open_date)
    assert fee == pytest.approx(expected - 0.5, abs=1e-9)
    assert fake_bingx.count(INCOME_PATH) == 1


def test_one_page_would_have_undercharged(fake_bingx, make_exchange):
    # What ccxt's fetch_funding_history (freqtrade's stock path) gets from the same ledger.
    exchange = make_exchange()
    first, expected = _hourly_ledger(fake_bingx, hours=1100)
    stock = exchange._api.fetch_funding_history(PAIR, since=first)
    assert len(stock) == 100
    assert sum(r["amount"] for r in stock) != pytest.approx(expected)


def test_a_garbled_row_is_a_temporary_error_not_a_crash(fake_bingx, make_exchange):
    exchange = make_exchange()
    now = fake_bingx.server_time_ms()
    fake_bingx.account().incomes[:] = [dict(_row("BTC-USDT", now - HOUR_MS, 0.1), income="NaN")]
    fake_bingx.clear_requests()
    with pytest.raises(TemporaryError, match="no valid time or income"):
        exchange._get_funding_fees_from_exchange.__wrapped__(exchange, PAIR, now - 2 * HOUR_MS)


def _trade_charged(fees: float) -> Trade:
    trade = Trade(
        pair=PAIR,
        is_open=True,
        amount=0.1,
        open_rate=60000.0,
        fee_open=0.0005,
        fee_close=0.0005,
        is_short=False,
        leverage=1.0,
    )
    trade.set_funding_fees(fees)
    return trade


def test_a_failed_read_keeps_the_trades_funding_fees(fake_bingx, make_exchange, caplog):
    """freqtrade's own get_funding_fees answers 0.0 on an error, which its callers store as
    the trade's fees: a failed read would wipe what was charged so far."""
    exchange = make_exchange()
    now = fake_bingx.server_time_ms()
    fake_bingx.account().incomes[:] = [dict(_row("BTC-USDT", now - HOUR_MS, 0.1), income="NaN")]
    trade = _trade_charged(-1.25)
    opened = datetime.fromtimestamp((now - 2 * HOUR_MS) / 1000, tz=UTC)

    # What freqtrade's update_funding_fees does every 30 minutes.
    trade.set_funding_fees(exchange.get_funding_fees(PAIR, 0.1, False, opened))

    assert trade.funding_fees == -1.25
    assert "Could not update the funding fees of BTC/USDT:USDT" in caplog.text
    assert INCOME_PATH in caplog.text


def test_payments_with_numeric_tran_ids_are_kept_apart(fake_bingx, make_exchange):
    """Two payments at the same time of the same amount (long and short of a hedge-mode
    account) are two payments, whether BingX sends tranId as a string or as a number."""
    exchange = make_exchange()
    now = fake_bingx.server_time_ms()
    t = (now // HOUR_MS) * HOUR_MS
    rows = [_row("BTC-USDT", t, -0.25), _row("BTC-USDT", t, -0.25)]
    rows[0]["tranId"], rows[1]["tranId"] = 1234567890123456789, 1234567890123456790
    fake_bingx.account().incomes[:] = rows
    opened = datetime.fromtimestamp((t - HOUR_MS) / 1000, tz=UTC)
    assert exchange.get_funding_fees(PAIR, 0.1, False, opened) == pytest.approx(-0.5)


def test_a_reply_that_ignores_the_window_ends_in_a_few_requests(fake_bingx, make_exchange):
    """BingX (or a proxy) ignoring startTime/endTime: a full page whatever the window. The read
    stops at the first row outside the window asked for, with an exception naming the
    endpoint that freqtrade does not retry, and the trade keeps its fees."""
    exchange = make_exchange()
    now = fake_bingx.server_time_ms()
    # 1120 payments in the last 7 days (what the fake sends with no times): more than a page.
    fake_bingx.account().incomes[:] = [
        _row("BTC-USDT", now - 7 * 24 * HOUR_MS + i * 9 * 60_000, -0.01) for i in range(1120)
    ]
    fake_bingx.inject(Fault(INCOME_PATH, ignore_params=("startTime", "endTime"), times=10_000))
    sent = _count_calls(exchange, "swapV2PrivateGetUserIncome", stop_after=100)
    fake_bingx.clear_requests()
    opened = datetime.fromtimestamp((now - 30 * 24 * HOUR_MS) / 1000, tz=UTC)

    with pytest.raises(paging.WindowNotRead, match="outside the window") as raised:
        exchange._get_funding_fees_from_exchange(PAIR, opened)
    assert not isinstance(raised.value, TemporaryError)  # not retried: the same reply again
    assert f"GET {INCOME_PATH}" in str(raised.value)
    assert sent == [1, 2]  # the whole window (a full page), then its older half
    assert fake_bingx.count(INCOME_PATH) == 2

    trade = _trade_charged(-3.0)
    trade.set_funding_fees(exchange.get_funding_fees(PAIR, 0.1, False, opened))
    assert trade.funding_fees == -3.0


def _count_calls(exchange, name: str, stop_after: int) -> list[int]:
    """Count calls of ccxt's ``name``; stop a runaway walk (the code before the bound)."""
    calls: list[int] = []
    call = getattr(exchange._api, name)

    def counted(*args, **kwargs):
        calls.append(len(calls) + 1)
        if len(calls) > stop_after:
            pytest.fail(f"more than {stop_after} requests for one read")
        return call(*args, **kwargs)

    setattr(exchange._api, name, counted)
    return calls


def test_a_reply_that_is_not_an_envelope_is_retried(fake_bingx, make_exchange):
    exchange = make_exchange()
    now = fake_bingx.server_time_ms()
    fake_bingx.account().incomes[:] = [_row("BTC-USDT", now - HOUR_MS, 0.25)]
    fake_bingx.inject(Fault(INCOME_PATH, body=b"<html>busy</html>", http_status=200))
    fake_bingx.clear_requests()
    fee = exchange._get_funding_fees_from_exchange(PAIR, now - 2 * HOUR_MS)
    assert fee == pytest.approx(0.25)
    assert fake_bingx.count(INCOME_PATH) == 2  # freqtrade's retrier sent it again


@pytest.mark.parametrize(
    "params, expected_count",
    [
        ({}, 100),  # "Default: 100"; no times: the last 7 days (168 rows here)
        ({"limit": "500"}, 168),  # all 168 of the last 7 days
        ({"limit": "5000", "startTime": "0"}, 1000),  # "Maximum: 1000"
        ({"limit": "1000", "startTime": "0", "incomeType": "REALIZED_PNL"}, 0),
    ],
)
def test_the_local_exchange_keeps_to_the_page(fake_bingx, make_exchange, params, expected_count):
    exchange = make_exchange()
    _hourly_ledger(fake_bingx, hours=1100)
    fake_bingx.account().incomes[:] = [
        r for r in fake_bingx.account().incomes if r["incomeType"] == "FUNDING_FEE"
    ]
    reply = exchange._api.swapV2PrivateGetUserIncome({"symbol": "BTC-USDT", **params})
    assert len(reply["data"]) == expected_count


def test_the_local_exchange_keeps_three_months(fake_bingx, make_exchange):
    exchange = make_exchange()
    now = fake_bingx.server_time_ms()
    old = now - funding.RETENTION_MS - HOUR_MS
    fake_bingx.account().incomes[:] = [_row("BTC-USDT", old, 1.0), _row("BTC-USDT", now - 1, 2.0)]
    reply = exchange._api.swapV2PrivateGetUserIncome(
        {"symbol": "BTC-USDT", "startTime": "0", "endTime": str(now)}
    )
    assert [float(r["income"]) for r in reply["data"]] == [2.0]


def test_split_windows_find_every_row_whichever_rows_a_full_page_holds():
    # Pure walk against a fake that returns the OLDEST rows of a full window (the local
    # exchange returns the newest): both orders must give every payment exactly once. Ten
    # payments an hour, the densest the walk believes.
    step = HOUR_MS // funding.MAX_ROWS_PER_HOUR
    payments = [funding.FundingPayment(str(t), t, 1.0) for t in range(0, 250 * HOUR_MS, step)]

    def oldest_first(start: int, end: int):
        rows = [p for p in payments if start <= p.time_ms <= end][: funding.PAGE_LIMIT]
        return len(rows), rows

    found = paging.read_window(funding.INCOME_PAGING, oldest_first, 0, 250 * HOUR_MS)
    assert [p.time_ms for p in found] == [p.time_ms for p in payments]


def _always_full(calls: list[tuple[int, int]]):
    """A page that is full whatever the window, its rows inside it (no row gives it away)."""

    def fetch(start: int, end: int):
        calls.append((start, end))
        rows = [funding.FundingPayment(f"{start}:{i}", start, 1.0) for i in range(1000)]
        return len(rows), rows

    return fetch


def test_a_full_page_for_a_window_too_short_to_hold_it_ends_the_read():
    calls: list[tuple[int, int]] = []
    span = 12 * 24 * HOUR_MS  # split 12 days: 6 days, 3 days (< 100 hours: full is a lie)
    with pytest.raises(paging.WindowNotRead, match="shorter than any window that can hold one"):
        paging.read_window(funding.INCOME_PAGING, _always_full(calls), 0, span)
    assert len(calls) == 3  # 12 days, its first 6-day half, that half's first 3-day half
    assert funding.INCOME_PAGING.min_window_ms == 100 * HOUR_MS


def test_a_read_sends_at_most_max_pages():
    calls: list[tuple[int, int]] = []
    bounds = paging.Paging("GET /x", limit=1000, min_window_ms=1, max_pages=7)
    with pytest.raises(paging.WindowNotRead, match="not done after 7 pages"):
        paging.read_window(bounds, _always_full(calls), 0, 10**9)
    assert len(calls) == 7


def test_ledger_reads_only_gaps_and_rereads_recent_minutes():
    ledger = funding.FundingLedger()
    assert ledger.gaps(100, 200) == [(100, 200)]
    ledger.add(0, 10 * funding.RECENT_MS, [funding.FundingPayment("a", 5, 1.5)])
    # Before the covered span, and the recent minutes at its end.
    assert ledger.gaps(-50, 11 * funding.RECENT_MS) == [
        (-50, 0),
        (9 * funding.RECENT_MS, 11 * funding.RECENT_MS),
    ]
    assert ledger.total(0) == 1.5
    assert ledger.total(6) == 0.0

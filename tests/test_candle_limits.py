"""Candles per request: as many as BingX's pages allow, through freqtrade's download path.

The klines and mark-price klines pages allow 1440 rows a request, the funding-rate history page
1000. freqtrade splits a download into requests of ``ohlcv_candle_limit`` candles each (per
candle type), so the request count at the fake shows the limit freqtrade used.
"""

from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.data.history import load_pair_history
from freqtrade.enums import CandleType

from tests.configs import download_data


PAIR = "BTC/USDT:USDT"
KLINES = "/openApi/swap/v3/quote/klines"
MARK_KLINES = "/openApi/swap/v1/market/markPriceKlines"
FUNDING = "/openApi/swap/v2/quote/fundingRate"
DAYS = 50  # 1200 hours: one request of 1440 candles, two of 1000


@pytest.fixture
def downloaded(fake_bingx, tmp_path, mocker):
    """freqtrade's download-data of 1h candles over DAYS days."""
    mocker.patch("freqtrade.exchange.common.time.sleep")
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    fake_bingx.clear_requests()
    download_data(fake_bingx, tmp_path, PAIR, "1h", f"{start:%Y%m%d}-{end:%Y%m%d}")
    return tmp_path, start, end


def _requests(server, path: str) -> list[dict[str, str]]:
    return [r.params for r in server.requests if r.path == path]


def test_a_long_download_asks_as_many_candles_as_the_pages_allow(fake_bingx, downloaded):
    datadir, start, end = downloaded
    hours = int((end - start) / timedelta(hours=1))

    klines, marks = _requests(fake_bingx, KLINES), _requests(fake_bingx, MARK_KLINES)
    funding = _requests(fake_bingx, FUNDING)
    # 1200 candles of each kind: one request of up to 1440 (it was two of 1000).
    assert [int(p["limit"]) for p in klines] == [1440]
    assert [int(p["limit"]) for p in marks] == [1440]
    # Funding rows: at most 1000 a request, so freqtrade plans 1000 hours per request; it
    # never counts on rows BingX does not send (a contract funding every hour would have gaps).
    assert len(funding) == -(-hours // 1000) == 2
    assert all(int(p["limit"]) <= 1000 for p in funding)

    # Nothing missing from what was stored.
    for candle_type in (CandleType.FUTURES, CandleType.MARK):
        frame = load_pair_history(
            pair=PAIR,
            timeframe="1h",
            datadir=datadir,
            data_format="feather",
            candle_type=candle_type,
        )
        since = frame[frame["date"] >= start]
        assert len(since) >= hours
        assert (since["date"].diff().dropna() == timedelta(hours=1)).all()

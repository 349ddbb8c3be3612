"""Requests of a one-year 1-minute download: 1440 candles a request (BingX's pages) vs 1000.

freqtrade's ``download-data`` path (``download_data_main``) fetches one pair's 1m futures
candles, plus the 1h mark candles and funding rates it adds for futures, over ``DAYS`` days
from the fake BingX; the fake's ledger counts the requests per endpoint. The peer is the same
exchange class with freqtrade's ``_ft_has_params`` setting the limits back to freqtrade's
``Bingx`` figure (1000 a request for every candle type). freqtrade splits a download into
requests of ``limit`` candles each, so a year needs ceil(candles / limit) per type: the
measured counts are checked against that split, then carried to 365 days.
"""

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import quiet_logs


DAYS = 30
YEAR_DAYS = 365
PATHS = {
    "1m klines": "/openApi/swap/v3/quote/klines",
    "1h mark klines": "/openApi/swap/v1/market/markPriceKlines",
    "1h funding rates": "/openApi/swap/v2/quote/fundingRate",
}
CANDLES_PER_DAY = {"1m klines": 1440, "1h mark klines": 24, "1h funding rates": 24}
PLUGIN_LIMITS = {"1m klines": 1440, "1h mark klines": 1440, "1h funding rates": 1000}
STOCK_LIMITS = dict.fromkeys(PATHS, 1000)  # freqtrade's Bingx: ohlcv_candle_limit 1000


def _split(days: int, limits: dict[str, int]) -> dict[str, int]:
    return {kind: -(-days * CANDLES_PER_DAY[kind] // limits[kind]) for kind in PATHS}


def download(ft_has: dict | None) -> dict[str, int]:
    """Requests per kind of one DAYS-day download through freqtrade's download path."""
    from freqtrade_bingx.sim import FakeBingx
    from tests.configs import download_data

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    exchange = {"_ft_has_params": ft_has} if ft_has else {}
    with FakeBingx() as server, tempfile.TemporaryDirectory(prefix="ftbx-bench-dl-") as tmp:
        timerange = f"{start:%Y%m%d}-{end:%Y%m%d}"
        download_data(server, Path(tmp), "BTC/USDT:USDT", "1m", timerange, **exchange)
        return {kind: server.count(path) for kind, path in PATHS.items()}


def main() -> list[dict]:
    quiet_logs()
    plugin = download(None)
    stock = download({"ohlcv_candle_limit": 1000, "funding_fee_candle_limit": 1000})
    for measured, limits in ((plugin, PLUGIN_LIMITS), (stock, STOCK_LIMITS)):
        if measured != _split(DAYS, limits):
            raise RuntimeError(f"{measured} is not the split {_split(DAYS, limits)}")
    year_plugin, year_stock = _split(YEAR_DAYS, PLUGIN_LIMITS), _split(YEAR_DAYS, STOCK_LIMITS)

    def text(counts: dict[str, int]) -> str:
        return f"{sum(counts.values())} requests: " + ", ".join(
            f"{n} {kind}" for kind, n in counts.items()
        )

    saved = sum(year_stock.values()) - sum(year_plugin.values())
    klines_cut = 1 - year_plugin["1m klines"] / year_stock["1m klines"]
    met = year_plugin["1m klines"] == -(-YEAR_DAYS * 1440 // 1440)
    return [
        {
            "benchmark": "8. requests of a one-year 1-minute futures download (1 pair)",
            "plugin": text(year_plugin),
            "peer": "freqtrade's Bingx limit (1000 a request): " + text(year_stock),
            "result": f"{saved} fewer requests; 1m klines -{klines_cut:.1%} "
            f"(measured over {DAYS} days: plugin {text(plugin)}; peer {text(stock)})",
            "target": "1440 candles a request for klines and mark klines, 1000 for funding "
            "rates (BingX's pages): " + ("met" if met else "missed"),
            "how": (
                f"freqtrade's `download_data` (what `freqtrade download-data` runs) for "
                f"BTC/USDT:USDT, `--timeframes 1m`, futures (freqtrade adds the 1h mark candles "
                f"and 1h funding rates), over {DAYS} whole days ending at today's midnight UTC, "
                "against the fake BingX without keys; requests counted in the fake's ledger "
                "per endpoint. peer = the same class with `_ft_has_params` "
                "`ohlcv_candle_limit` and `funding_fee_candle_limit` 1000 (freqtrade's Bingx "
                "figure). The year's counts are the split freqtrade makes, ceil(candles / "
                f"limit) per type, which the {DAYS}-day counts were checked to equal; not run "
                "over a whole year."
            ),
        }
    ]


if __name__ == "__main__":
    for row in main():
        print(row)

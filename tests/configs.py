"""The one builder of the freqtrade configs the tests (and bench/) run with, pointed at a local
fake BingX: a config dict for freqtrade's resolver, or the shipped configs/*.json as a file for
freqtrade's own loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any


if TYPE_CHECKING:
    from freqtrade_bingx.sim import FakeBingx


API_KEY = "test-key"
API_SECRET = "test-secret-0123456789abcdef"
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def futures_config(server: FakeBingx, **overrides: Any) -> dict[str, Any]:
    """A live futures config (isolated, USDT) on ``server``'s ccxt URLs; ``exchange`` merges
    over the exchange section, every other keyword over the top level."""
    from freqtrade.enums import RunMode

    exchange = {
        "name": "bingx",
        "key": API_KEY,
        "secret": API_SECRET,
        # ccxt's own throttle only slows the tests down; the plugin keeps its limiter.
        "ccxt_config": {"urls": {"api": server.ccxt_urls["api"]}, "enableRateLimit": False},
        "pair_whitelist": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        "pair_blacklist": [],
        **overrides.pop("exchange", {}),
    }
    return {
        "exchange": exchange,
        "dry_run": False,
        "runmode": RunMode.LIVE,
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "user_data_dir": None,
        **overrides,
    }


def config_file(
    server: FakeBingx,
    tmp_path: Path,
    ccxt_config: dict | None = None,
    *,
    shipped: str = "live.json",
    demo: FakeBingx | None = None,
    top: dict[str, Any] | None = None,
    name: str = "config.json",
    **exchange: Any,
) -> Path:
    """The shipped ``configs/<shipped>`` (live.json pulls in base.json) pointed at ``server``
    (ccxt's 'api' URLs; its 'test' URLs, the demo host, on ``demo``), written to
    ``tmp_path/name`` for freqtrade's own loading. ``ccxt_config`` merges over the URLs,
    ``exchange`` over the exchange section, ``top`` over the top level."""
    urls = {"api": server.ccxt_urls["api"]}
    if demo is not None:
        urls["test"] = demo.ccxt_urls["test"]
    override = {
        "add_config_files": [str(CONFIGS / shipped)],
        "user_data_dir": str(tmp_path),
        "exchange": {
            "api_key": API_KEY,
            "secret": API_SECRET,
            "ccxt_config": {"urls": urls, "enableRateLimit": False, **(ccxt_config or {})},
            **exchange,
        },
        **(top or {}),
    }
    path = tmp_path / name
    path.write_text(json.dumps(override))
    return path


def trade_config(path: Path) -> dict[str, Any]:
    """The config ``freqtrade trade`` runs with, loaded from ``path`` as freqtrade loads it."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode

    config = Configuration.from_files([str(path)])
    config["runmode"] = RunMode.LIVE
    return config


def dry_run_config(
    server: FakeBingx, tmp_path: Path, ccxt_config: dict | None = None, **exchange: Any
) -> dict[str, Any]:
    """The shipped live config in dry-run on ``server`` (``config_file``'s arguments), as
    ``freqtrade trade`` runs it with ``dry_run`` true."""
    from freqtrade.enums import RunMode

    config = trade_config(
        config_file(server, tmp_path, ccxt_config, top={"dry_run": True}, **exchange)
    )
    config["runmode"] = RunMode.DRY_RUN
    return config


def ccxt_bingx(
    server: FakeBingx, key: str = "test-key", secret: str = "test-secret", **config: Any
) -> Any:
    """A plain ``ccxt.bingx`` (no freqtrade, no plugin) on ``server``'s URLs, swap markets by
    default, ccxt's throttle off unless ``config`` says otherwise."""
    import ccxt

    return ccxt.bingx(
        {
            "apiKey": key,
            "secret": secret,
            "urls": server.ccxt_urls,
            "options": {"defaultType": "swap"},
            "enableRateLimit": False,
            "timeout": 5000,
            **config,
        }
    )


def download_data(
    server: FakeBingx,
    datadir: Path,
    pair: str,
    timeframe: str,
    timerange: str,
    **exchange: Any,
) -> None:
    """freqtrade's ``download-data`` (``download_data_main``'s two steps, the exchange closed
    afterwards) of ``pair``'s futures candles (with the mark candles and funding rates freqtrade
    adds) from ``server``, without keys; ``exchange`` merges over the exchange section."""
    from freqtrade.data.history.history_utils import download_data as freqtrade_download
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import ExchangeResolver

    config = futures_config(
        server,
        runmode=RunMode.UTIL_EXCHANGE,
        exchange={"key": "", "secret": "", **exchange},
        datadir=datadir,
        pairs=[pair],
        timeframes=[timeframe],
        timerange=timerange,
        dataformat_ohlcv="feather",
        new_pairs_days=30,
    )
    built = ExchangeResolver.load_exchange(config, validate=False)
    try:
        freqtrade_download(config, built)
    finally:
        built.close()

"""Market data glue for freqtrade's BingX futures besides orders and tiers.

- A markets snapshot, so backtesting, freqtrade's listing commands and the plugin's tools run
  without network (:class:`MarketsSnapshot`).
- The account's own fee rates, read with every markets load when a key is set
  (:class:`AccountFees`), for freqtrade's fee estimates and dry-run fills.
- Liquidation prices: BingX's own for a live trade's position side, and by BingX's rule for
  dry-run and backtesting, with the mark prices of the account's other positions.
"""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from freqtrade.exceptions import FreqtradeException, TemporaryError

from freqtrade_bingx.bingx import liquidation, markets_cache, replies
from freqtrade_bingx.net import account
from freqtrade_bingx.net.ccxt_errors import ccxt_to_freqtrade
from freqtrade_bingx.net.redact import redact_signatures


logger = logging.getLogger(__name__)

DEFAULT_TAKER_FEE = 0.0005  # BingX's standard USDT-M taker fee, when a market lacks one


class MarketsSnapshot:
    """The markets saved whenever they load, used when BingX cannot be reached by a run that
    may use them (backtesting, hyperopt, tools; never a trading bot)."""

    def __init__(self, path: Callable[[], Path | None]) -> None:
        self.path = path
        # When the markets came from the snapshot (BingX could not be reached): its saving time.
        self.saved: str | None = None
        self._no_tickers_noted = False
        self._no_snapshot_noted = False

    def load_markets(self, load: Callable[[], None], api: Any, may_use: bool) -> None:
        """``load()`` (freqtrade's market load into ``api``), saving what it loaded; if BingX
        could not be reached and ``may_use``, the snapshot into ``api`` instead."""
        try:
            load()
        except TemporaryError as e:
            if not may_use:
                raise
            path = self.path()
            loaded = markets_cache.load(path) if path else None
            if loaded is None:
                if path is not None and not self._no_snapshot_noted:
                    self._no_snapshot_noted = True
                    logger.warning(
                        "BingX could not be reached, and there is no usable markets snapshot "
                        "at %s to fall back on. One is saved whenever markets load (any "
                        "freqtrade command with this config and datadir, while online).",
                        path,
                    )
                raise
            markets, saved = loaded
            api.set_markets(markets)
            self.saved = saved
            logger.warning(
                "BingX could not be reached (%s); using the markets snapshot saved %s (%s). "
                "Markets listed or used in this run are as they were then.",
                redact_signatures(str(e)),
                markets_cache.describe_saved(saved),
                path,
            )
            return
        self.saved = None
        path = self.path()
        if path is not None and api.markets:
            markets_cache.save(path, api.markets, source=api.urls["api"].get("swap", ""))

    def note_no_tickers(self) -> None:
        """Say once that the snapshot's markets come without tickers.

        Only tools reach this (a trading bot never runs on the snapshot). ``freqtrade
        list-markets`` / ``list-pairs`` read tickers for the minimum stake alone, and asking
        an unreachable host again would cost freqtrade's retries, each up to ccxt's timeout.
        """
        if not self._no_tickers_noted:
            self._no_tickers_noted = True
            logger.warning(
                "No BingX tickers offline: the markets are the snapshot saved %s, and no "
                "current price is known (a minimum stake shown is a lower bound).",
                markets_cache.describe_saved(self.saved),
            )


class AccountFees:
    """The account's taker and maker rates from BingX's commissionRate endpoint.

    Read whenever freqtrade (re)loads the markets (at start-up, then every
    ``markets_refresh_interval``), and only with a key: without one, or until a read
    succeeds, :meth:`rate` is None and freqtrade's own figure (the contract's) applies. A
    failed or malformed read keeps the last good rates and is logged, once until a read
    succeeds again; it never reaches freqtrade.
    """

    def __init__(self, link: Any) -> None:
        """``link``: the :class:`~freqtrade_bingx.adapter.link.BingxLink` (signed calls)."""
        self._link = link
        self.rates: replies.CommissionRate | None = None
        self._failing = False

    def rate(self, taker_or_maker: str) -> float | None:
        rates = self.rates  # one read: another thread may replace it
        if rates is None:
            return None
        return rates.taker if taker_or_maker == "taker" else rates.maker

    def refresh(self) -> None:
        if not self._link.can_sign():
            return
        try:
            rates = self._link.call(
                "read the account's fee rates",
                account.get_commission_rate,
                parse=replies.commission_rate,
            )
        except FreqtradeException as e:
            if not self._failing:
                self._failing = True
                kept = (
                    f"keeping the last ones read (taker {self.rates.taker:.4%}, maker "
                    f"{self.rates.maker:.4%})"
                    if self.rates
                    else "using the contracts' fee rates"
                )
                logger.warning(
                    "BingX account fee rates not updated, %s: %s",
                    kept,
                    redact_signatures(str(e)),
                )
            return
        if rates != self.rates or self._failing:
            logger.info(
                "BingX account fee rates: taker %.4f%%, maker %.4f%% (used for fee estimates "
                "and dry-run fills)",
                rates.taker * 100,
                rates.maker * 100,
            )
        self.rates = rates
        self._failing = False


def live_liquidation_price(
    positions: list[dict], open_rate: float, is_short: bool, buffer: float
) -> float | None:
    """The liquidation price BingX reports for the trade's own position side, moved
    freqtrade's ``liquidation_buffer`` share of the distance towards the entry.

    freqtrade's version takes the pair's first position. In hedge mode a pair can have a long
    and a short position, and the first may be the other side's.
    """
    position = liquidation.position_of_side(positions, is_short)
    price = liquidation.positive_number((position or {}).get("liquidationPrice"))
    if price is None:
        return None
    margin = abs(open_rate - price) * buffer
    return max(price - margin if is_short else price + margin, 0.0)


def cross_margin_of_others(
    pair: str,
    open_trades: list,
    marks: dict[str, float],
    maintenance: Callable[[str, float], tuple[float, float | None]],
) -> float:
    """What the account's other positions add to (or take from) this one's cross margin.

    The wallet backs every cross position: the others' unrealised PnL counts, and their
    maintenance margin (``maintenance(pair, notional)``: freqtrade's
    ``get_maintenance_ratio_and_amt``) is spoken for, both at the mark price. Without a
    pair's mark (backtesting has none) its open rate stands in, so it counts with its
    maintenance only.
    """
    positions = []
    for t in open_trades:
        if t.pair == pair:
            continue
        mark = marks.get(t.pair, t.open_rate)
        mmr, maint_amount = maintenance(t.pair, mark * t.amount)
        positions.append(
            liquidation.OtherPosition(
                entry=t.open_rate,
                qty=t.amount,
                is_short=t.is_short,
                mark=mark,
                mmr=mmr,
                maint_amount=maint_amount or 0.0,
            )
        )
    return liquidation.cross_margin_of_others(positions)


def mark_prices(api: Any, pairs: list[str]) -> dict[str, float]:
    """Mark prices of ``pairs`` from BingX's premium index; none when they cannot be read."""
    if not pairs:
        return {}
    try:
        with ccxt_to_freqtrade("read BingX mark prices"):
            rates = api.fetch_funding_rates(pairs)
    except FreqtradeException as e:
        logger.warning(
            "Could not read BingX mark prices (%s); cross liquidation prices use the open "
            "rates of the other trades",
            redact_signatures(str(e)),
        )
        return {}
    marks = {}
    for pair in pairs:
        mark = liquidation.positive_number((rates.get(pair) or {}).get("markPrice"))
        if mark is not None:
            marks[pair] = mark
    return marks

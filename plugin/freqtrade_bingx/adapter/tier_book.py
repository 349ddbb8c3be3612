"""Leverage tiers for freqtrade: which pairs to load when, from the cache, BingX or an estimate.

Leverage tiers are loaded for the pairs the bot uses, not for every swap. BingX sends them one
signed request per pair (two with the account's maximum leverage, at 5 requests/s): all of its
~600 USDT swaps would take minutes before the first loop.

- A trading bot (live, dry-run) loads at start-up every cached pair (no request) and the pairs
  its whitelist names. Any other pair, e.g. one a dynamic pairlist picks, is loaded on its
  first use, when freqtrade asks for its maximum leverage, maintenance rate or tier notional:
  from BingX, at most two requests, once per run, and added to the cache. A pair BingX gives
  no tiers for gets the logged estimate, as at start-up. freqtrade's hourly market reload loads
  the named and used pairs again from the cache (or BingX, once the cache is four weeks old).
- Backtesting, hyperopt and the tools know every pair up front and never load on first use:
  the whitelist (its patterns expanded), or every swap without one, from the cache, else
  BingX when the config has a key, else the estimate.

Every tier is held to the best maximum leverage known for its pair (the account's, once read).
"""

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from freqtrade.enums import RunMode
from freqtrade.enums.runmode import TRADE_MODES
from freqtrade.exceptions import InvalidOrderException, OperationalException, TemporaryError
from freqtrade.plugins.pairlist.pairlist_helpers import expand_pairlist

from freqtrade_bingx.adapter.leverage import AccountSettings
from freqtrade_bingx.adapter.link import BingxLink
from freqtrade_bingx.adapter.refusals import UNTIL_CLEARED, RefusalMemory
from freqtrade_bingx.bingx import replies, tiers
from freqtrade_bingx.net import account


logger = logging.getLogger(__name__)

# Loading tiers for many pairs takes a while (5 pairs/s): say how far it got this often.
TIER_PROGRESS_EVERY = 25
# The refusal of a tier request that would hit every pair (the key, its permissions): no more
# tried until the next load (start-up or freqtrade's hourly reload).
ALL_PAIRS_REFUSED = ("tiers", "every pair")


class TierBook:
    """The tiers freqtrade holds (``loaded``, freqtrade's ``_leverage_tiers``), kept in step
    with the cache, BingX and the maxima :class:`AccountSettings` learns.

    The lock covers the book's sets, the tier cache file and updates of loaded tiers; never a
    request to BingX.
    """

    def __init__(
        self,
        config: dict,
        link: BingxLink,
        account_settings: AccountSettings,
        refusals: RefusalMemory,
        markets: Callable[[], dict],
        loaded: Callable[[], dict[str, list[dict]]],
        cache_path: Callable[[], Path | None],
    ) -> None:
        self._config = config
        self._link = link
        self._settings = account_settings
        self._refusals = refusals
        self._markets = markets
        self._loaded = loaded
        self.cache_path = cache_path
        # Pairs whose tiers are an estimate from the maximum leverage alone, and pairs a
        # trading bot has used (their tiers loaded on first use).
        self.estimated: set[str] = set()
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def load(self) -> dict[str, list[dict]]:
        """Tiers per pair at start-up (and at freqtrade's hourly market reload).

        Every cached pair, plus the pairs wanted now (see :meth:`_wanted`): from the cache,
        else from BingX (signed), else an estimate that is logged. A trading bot loads any other
        pair on its first use (:meth:`ensure`).
        """
        swaps = self._swaps()
        wanted = self._wanted(swaps)
        path = self.cache_path()
        cached = tiers.load_cache(path) if path else {}
        result = {pair: rows for pair, rows in cached.items() if pair in swaps}
        missing = [pair for pair in wanted if pair not in result]
        self._refusals.forget(ALL_PAIRS_REFUSED)  # a new load may try again, once per pair
        if missing and self._link.can_sign():
            fetched = self._fetch(missing)
            result.update(fetched)
            if fetched and path:
                tiers.save_cache(path, {**cached, **fetched})
        estimated = {pair for pair in wanted if pair not in result}
        with self._lock:
            self.estimated = (self.estimated | estimated) - result.keys()
        if estimated:
            _warn_estimated(sorted(estimated))
        return {pair: self.capped(pair, result.get(pair)) for pair in sorted({*result, *wanted})}

    def ensure(self, pair: str) -> None:
        """Load ``pair``'s tiers on its first use by a trading bot: cache, BingX, estimate.

        At most two requests (the account's leverage, then the tiers), once per pair and run.
        A concurrent caller for the same pair does not wait: it sees freqtrade's answer for a
        pair without tiers (maximum leverage 1) until the first caller is done.
        """
        if self._config.get("runmode") not in TRADE_MODES:
            return  # backtesting and tools use the tiers loaded at start-up, nothing more
        with self._lock:
            if pair in self._used:
                return
            self._used.add(pair)
        loaded = self._loaded()
        if pair in loaded or pair not in self._swaps():
            return
        path = self.cache_path()
        rows = None
        if self._link.can_sign() and self._refusals.refused(ALL_PAIRS_REFUSED) is None:
            rows = self._fetch([pair]).get(pair)
        if rows is not None and path:
            with self._lock:  # read, add, write: another pair's write must not be lost
                tiers.save_cache(path, {**tiers.load_cache(path), pair: rows})
        with self._lock:  # held to the maximum known now, as in refresh
            if rows is None:
                self.estimated = self.estimated | {pair}
            loaded[pair] = self.capped(pair, rows)
        if rows is None:
            _warn_estimated([pair])

    def listing_maximum(self, pair: str) -> float | None:
        """For a listing (list-markets), the best maximum leverage known for a swap without
        loaded tiers (the account's if read, else the contract list's, a lower bound), rather
        than freqtrade's 1x; None otherwise. Listings load tiers for the whitelist only."""
        if (
            self._config.get("runmode") != RunMode.UTIL_EXCHANGE
            or pair in self._loaded()
            or not (self._markets().get(pair) or {}).get("swap")
        ):
            return None
        maximum = self._settings.max_leverage_for_side(pair, "BOTH")
        return float(maximum) if maximum is not None else None

    def capped(self, pair: str, rows: list[dict] | None) -> list[dict]:
        """``rows`` (None: no tiers) held to the best maximum leverage known for ``pair``."""
        maximum = self._settings.max_leverage_for_side(pair, "BOTH") or 1
        if rows is None:
            return tiers.fallback_tiers(maximum)
        if self._settings.account_maximum_known(pair):
            return tiers.recap(rows, maximum)
        return rows  # capped when fetched, with the account's figure where it was read

    def refresh(self, pair: str) -> None:
        """Apply a newly learnt maximum to the pair's loaded tiers (freqtrade reads these).

        Under the lock, so of two threads that learnt a maximum, the one that updates the
        tiers last reads the latest maximum (nothing is sent to BingX here).
        """
        loaded = self._loaded()
        with self._lock:
            rows = loaded.get(pair)
            if rows is not None:
                if pair in self.estimated:
                    rows = None
                loaded[pair] = self.capped(pair, rows)

    def refresh_known(self) -> None:
        """Apply the maxima known now to every loaded pair: one learnt by another thread (a
        force entry) while tiers loaded was applied to the tiers they replaced."""
        for pair in list(self._loaded()):
            if self._settings.account_maximum_known(pair):
                self.refresh(pair)

    def _swaps(self) -> set[str]:
        """The USDT-M (stake-currency) linear swaps: the pairs that have tiers."""
        stake = self._config["stake_currency"]
        return {
            pair
            for pair, market in self._markets().items()
            if market.get("swap") and market.get("linear") and market.get("quote") == stake
        }

    def _wanted(self, swaps: set[str]) -> list[str]:
        """The pairs whose tiers must be loaded now, not on first use.

        A trading bot: the pairs its whitelist names, and those it used this run (so an expired
        cache or an estimate is loaded again at the hourly reload); a dynamic pairlist's pairs
        and those a whitelist pattern matches load on first use. Backtesting and tools need
        every pair up front: the whitelist with its patterns expanded, or every swap without one
        (``save-offline``). Listings (list-markets, list-pairs) load none without a whitelist:
        they show each pair's maximum leverage without its tiers (``get_max_leverage``), where
        loading ~600 pairs would take two signed requests each.
        """
        whitelist = list(self._config["exchange"].get("pair_whitelist", []))
        if self._config.get("runmode") in TRADE_MODES:
            with self._lock:  # another thread may be adding a pair
                used = list(self._used)
            return sorted({p for p in [*whitelist, *used] if p in swaps})
        try:
            expanded = expand_pairlist(whitelist, sorted(swaps))
        except ValueError:  # freqtrade's pairlist refuses a bad pattern with its own message
            expanded = [p for p in whitelist if p in swaps]
        if whitelist:
            return sorted(set(expanded))
        return [] if self._config.get("runmode") == RunMode.UTIL_EXCHANGE else sorted(swaps)

    def _fetch(self, pairs: list[str]) -> dict[str, list[dict]]:
        """Tiers from BingX, each pair's read together with the account's maximum leverage.

        A refusal that would hit every pair (OperationalException: the key, the permissions)
        stops this load and loads on first use until the next start-up or hourly reload.
        """
        fetched: dict[str, list[dict]] = {}
        if len(pairs) > TIER_PROGRESS_EVERY:
            logger.info("Loading BingX leverage tiers for %d pairs (5 pairs/s)", len(pairs))
        markets = self._markets()
        for done, pair in enumerate(pairs, start=1):
            symbol = markets[pair]["id"]
            try:
                self._settings.learn_account_leverage(pair)
                rows = self._link.call(
                    f"read leverage tiers of {symbol}",
                    account.get_tiers,
                    symbol,
                    parse=lambda data, symbol=symbol: replies.tiers(data, symbol),
                )
                maximum = self._settings.max_leverage_for_side(pair, "BOTH") or 1
                fetched[pair] = tiers.parse_tiers(rows, maximum)
            except OperationalException as e:
                logger.warning("Stopped loading BingX tiers: %s", e)
                self._refusals.remember(ALL_PAIRS_REFUSED, e, for_s=UNTIL_CLEARED)
                break
            except (TemporaryError, InvalidOrderException) as e:
                logger.warning("No BingX tiers for %s: %s", pair, e)
            if done % TIER_PROGRESS_EVERY == 0:
                logger.info("BingX leverage tiers: %d/%d pairs", done, len(pairs))
        return fetched


def _warn_estimated(pairs: list[str]) -> None:
    logger.warning(
        "No BingX leverage tiers for %d pair(s) (%s%s): no API key or BingX not reachable,"
        " and no cache. Using one estimated tier per pair from the maximum leverage "
        "(maintenance rate 1/(2*max)); liquidation prices are estimates.",
        len(pairs),
        ", ".join(pairs[:5]),
        " ..." if len(pairs) > 5 else "",
    )

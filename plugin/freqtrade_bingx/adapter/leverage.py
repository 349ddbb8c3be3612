"""The account's leverage, margin type and position mode: what BingX confirmed, what the other
bots on this account confirmed, and how a setting is changed.

freqtrade's generic leverage hook calls ccxt's ``set_leverage(symbol, leverage)`` without the
``side`` BingX requires. :class:`AccountSettings` sets leverage and margin type through the
plugin's own transport (:class:`~freqtrade_bingx.adapter.link.BingxLink`), with the position side
the
account's position mode needs, sends nothing when a setting is already confirmed (here, and by
the other bots on this account: ``shared_settings.py``), answers a request BingX refused for
good locally for a while (:mod:`freqtrade_bingx.adapter.refusals`), and turns BingX errors into the
freqtrade exceptions that make the bot retry, back off, skip the pair or stop.

freqtrade's main loop and its API server (a force entry) call in from two threads: every piece
of state below is safe for both, and no lock is held during a request.
"""

import contextlib
import itertools
import logging
import math
import re
import threading
from collections.abc import Callable
from typing import Any

from freqtrade.constants import BuySell
from freqtrade.enums import MarginMode
from freqtrade.exceptions import (
    DDosProtection,
    FreqtradeException,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)

from freqtrade_bingx.adapter import settings
from freqtrade_bingx.adapter.confirmed import ConfirmedSettings
from freqtrade_bingx.adapter.link import BingxLink, not_sent_while_busy
from freqtrade_bingx.adapter.refusals import RefusalMemory
from freqtrade_bingx.bingx import replies
from freqtrade_bingx.bingx.errors import PositionModeMismatch
from freqtrade_bingx.bingx.failures import (
    BingxBlocked,
    BingxError,
    BingxRejected,
    BingxSettingError,
    LeverageMismatch,
)
from freqtrade_bingx.bingx.position_mode import PositionMode, PositionSide, position_side
from freqtrade_bingx.net import account
from freqtrade_bingx.state import shared_settings as shared


logger = logging.getLogger(__name__)

MARGIN_TYPES = {MarginMode.ISOLATED: "ISOLATED", MarginMode.CROSS: "CROSSED"}
SEPARATE_ISOLATED = "SEPARATE_ISOLATED"
# How long after a set request failed without a definite answer BingX may still handle it, on
# top of recvWindow (after which BingX refuses the request's timestamp): the clock offset the
# transport measured may be off by a round trip.
LATE_REQUEST_MARGIN_S = 1.0
# How long a position-mode switch at start-up waits for a busy state file (shared_settings.py)
# before the bot gives up starting: three tries of the file, across its busy pause.
MODE_CLAIM_WAIT_S = 15.0


class AccountSettings:
    """Leverage, margin type and position mode of one BingX account, for one bot."""

    def __init__(
        self,
        config: settings.BingxSettings,
        link: BingxLink,
        refusals: RefusalMemory,
        markets: Callable[[], dict],
        on_maximum: Callable[[str], None],
    ) -> None:
        """``markets``: freqtrade's markets now; ``on_maximum(pair)``: called after a maximum
        leverage was learnt for the pair (its loaded tiers are held to it)."""
        self._settings = config
        self._link = link
        # Requests BingX refused for good (leverage, margin type, a leverage read).
        self.refusals = refusals
        self._markets = markets
        self._on_maximum = on_maximum
        self._position_mode: PositionMode | None = None
        # Reads of the position mode are numbered as they start; an answer is applied only if
        # no read that started later was applied already (see refresh_position_mode).
        self._mode_lock = threading.Lock()
        self._mode_tickets = itertools.count(1)
        self._mode_applied = 0
        # What BingX confirmed last, so an unchanged setting costs no request; never a value
        # BingX may not have (confirmed.py says how, with concurrent requests).
        doubt_s = config.recv_window_ms / 1000 + LATE_REQUEST_MARGIN_S
        self.leverage_confirmed: ConfirmedSettings[tuple[str, PositionSide], int] = (
            ConfirmedSettings(doubt_s, _may_have_landed)
        )
        self.margin_type_confirmed: ConfirmedSettings[str, str] = ConfirmedSettings(
            doubt_s, _may_have_landed
        )
        # The account's maximum leverage per symbol and side, from GET leverage (read once per
        # symbol) or from a 101414 reply. It is often above the contract list's figure. Each
        # symbol's dict is replaced, never changed in place, so readers need no lock.
        self._leverage_max: dict[str, dict[PositionSide, int]] = {}
        self._maxima_lock = threading.Lock()
        self._leverage_read: set[str] = set()
        # A log-once flag: two threads may both log the note, nothing worse.
        self._contract_max_noted = False

    def _symbol(self, pair: str) -> str:
        return swap_symbol(self._markets(), pair)

    def _unless_refused(self, key: tuple, send: Callable[[], Any]) -> Any:
        return self.refusals.unless_refused(key, send, InvalidOrderException)

    def account_maximum_known(self, pair: str) -> bool:
        """Whether the account's own maximum leverage for ``pair`` was read or named."""
        return bool(self._leverage_max.get((self._markets().get(pair) or {}).get("id")))

    def refresh_position_mode(self) -> PositionMode:
        """Read the account's position mode; forget confirmed settings if it changed."""
        ticket = next(self._mode_tickets)
        mode = self._link.call(
            "read the position mode", account.get_position_mode, parse=replies.position_mode
        )
        with self._mode_lock:
            if ticket < self._mode_applied and self._position_mode is not None:
                # Another thread's read started later and was applied: its answer is newer.
                return self._position_mode
            previous = self._replace_position_mode(mode, ticket)
        if previous is not None and mode is not previous:
            logger.warning("BingX position mode changed from %s to %s", previous.value, mode.value)
        if previous is not mode:
            logger.info("BingX account position mode: %s", mode.value)
        return mode

    def _replace_position_mode(self, mode: PositionMode, ticket: int) -> PositionMode | None:
        """With ``_mode_lock`` held: make ``mode`` the account's; return the mode it replaced.

        What was confirmed for the old mode is forgotten in the same step, so no thread sees
        the new mode with the old mode's settings.
        """
        previous = self._position_mode
        self._mode_applied = ticket
        if previous is not None and mode is not previous:
            self.forget_confirmed()
        self._position_mode = mode
        return previous

    def _follow_shared_position_mode(self, entry: shared.Entry | None) -> bool:
        """Re-read the position mode if another bot on this account recorded another one in
        ``entry`` (the shared row); whether it did.

        Read with the leverage row before an entry that sends nothing. Before a change that is
        sent it is not read: BingX refuses a side the account's mode does not take, and that
        refusal re-reads the mode (ensure_leverage).
        """
        current = self._position_mode
        if entry is None or current is None or entry.value == current.value:
            return False
        mode = self.refresh_position_mode()
        if self._link.shared and entry.value != mode.value:
            # The row is older than BingX's answer (e.g. the mode was switched on bingx.com):
            # correct it, so no bot reads the mode again on every entry.
            with contextlib.suppress(shared.Busy):  # said in the log; corrected next time
                self._link.shared.confirm(shared.POSITION_MODE, "", "", mode.value, entry.version)
        return True

    @property
    def current_mode(self) -> PositionMode | None:
        """The position mode as last read, None before the first read (nothing is sent)."""
        return self._position_mode

    @property
    def position_mode(self) -> PositionMode:
        return self._position_mode or self.refresh_position_mode()

    def apply_position_mode_setting(self) -> None:
        """Honour ``exchange.position_mode`` (``auto``, ``one_way`` or ``hedge``)."""
        wanted = self._settings.position_mode  # checked in __init__
        if wanted == "auto" or PositionMode(wanted) is self.position_mode:
            return
        self.set_position_mode(PositionMode(wanted))

    def set_position_mode(self, mode: PositionMode) -> None:
        """Switch the account's position mode; BingX allows it only with nothing open."""
        current = self.position_mode
        if mode is current:
            return
        positions = self._link.call(
            "read open positions", account.get_positions, parse=replies.positions
        )
        open_symbols = sorted({p.symbol for p in positions if p.amount != 0})
        if open_symbols:
            raise OperationalException(
                f"BingX account is in {current.value} mode and exchange.position_mode asks for "
                f"{mode.value}, but positions are open ({', '.join(open_symbols)}). Close them "
                "(and their orders) on BingX, or set exchange.position_mode to 'auto'."
            )
        try:
            # At start-up (see apply_position_mode_setting): nothing trades yet, so a busy file
            # is waited for a while; then the bot does not start rather than switch unseen.
            seen = self._shared_claim(shared.POSITION_MODE, "", "", wait_s=MODE_CLAIM_WAIT_S)
        except TemporaryError as e:
            raise OperationalException(
                f"{e} exchange.position_mode asks for {mode.value}: start the bot again once "
                "the file is free, or set exchange.position_mode to 'auto'."
            ) from None
        try:
            self._link.call("switch the position mode", account.set_position_mode, mode.dual_side)
        except TemporaryError as e:
            raise OperationalException(
                f"Could not switch BingX to {mode.value} mode ({e}). Cancel open orders on "
                "BingX, or set exchange.position_mode to 'auto'."
            ) from e
        logger.info("BingX position mode switched from %s to %s", current.value, mode.value)
        with self._mode_lock:
            self._replace_position_mode(mode, next(self._mode_tickets))
        if self._link.shared:
            with contextlib.suppress(shared.Busy):  # said in the log; the claim left it unknown
                self._link.shared.confirm(shared.POSITION_MODE, "", "", mode.value, seen)

    def forget_confirmed(self) -> None:
        """Forget every confirmed setting and refusal, including the answers to requests still
        in flight (they were sent for what is now forgotten)."""
        self.leverage_confirmed.forget_all()
        self.margin_type_confirmed.forget_all()
        self.refusals.clear()

    def ensure_leverage(self, pair: str, leverage: float, side: BuySell) -> int:
        symbol = self._symbol(pair)
        _check_leverage(pair, leverage)  # before anything is sent
        read_first = self._settings.leverage_check == "read_before_entry"
        if read_first or symbol not in self._leverage_read:
            self.read_account_leverage(pair)  # "read_before_entry": BingX's value, every entry
        pos_side = position_side(self.position_mode, side)
        target = self.whole_leverage(pair, leverage, pos_side)
        if self.leverage_confirmed.get((symbol, pos_side)) == target:
            if self._shared_agrees(shared.LEVERAGE, symbol, pos_side, target):
                return target
            self.leverage_confirmed.discard([(symbol, pos_side)])  # another bot changed it
            # Or another bot switched the position mode (read with the row): the side follows.
            pos_side = position_side(self.position_mode, side)
            target = self.whole_leverage(pair, leverage, pos_side)
        epoch = self.refusals.epoch
        try:
            return self._send_leverage(pair, pos_side, target)
        except PositionModeMismatch as first:
            # BingX refused the side for the account's position mode. That is never sent again
            # as it is: if the user switched the mode on bingx.com, re-reading it gives the side
            # to retry with (once), and the mode change forgets this refusal.
            refusal = InvalidOrderException(
                f"BingX refused leverage {target}x ({pos_side}) for {pair}: {first}"
            )
            self.refusals.remember(_leverage_key(symbol, pos_side, target), refusal, epoch=epoch)
            retry_side = position_side(self.refresh_position_mode(), side)
            if retry_side == pos_side:
                # The mode is the one the side was chosen for. BingX has been seen answering
                # "In the One-way mode, the 'PositionSide' field can only be set to BOTH." to
                # side=BOTH (github.com/ccxt/ccxt/issues/22237): a state of that pair on BingX,
                # nothing the bot's settings could fix. Skip the pair for now; keep trading.
                raise refusal from first
            try:
                return self._send_leverage(
                    pair, retry_side, self.whole_leverage(pair, leverage, retry_side)
                )
            except PositionModeMismatch as second:
                raise _mode_help(pair, second) from second

    def _send_leverage(self, pair: str, pos_side: PositionSide, leverage: int) -> int:
        """Set ``leverage``; returns what BingX accepted.

        A leverage above the account's maximum (101414, which names it) is sent once more at
        that maximum, and the maximum is remembered.
        """
        symbol = self._symbol(pair)
        try:
            return self._post_leverage(symbol, pos_side, leverage)
        except InvalidOrderException as e:
            maximum = _maximum_named(e)
            if maximum is None or maximum >= leverage:
                raise
            logger.warning(
                "BingX says the maximum leverage for %s %s is %dx; sending that instead of %dx",
                pair,
                pos_side,
                maximum,
                leverage,
            )
        self._remember_maximum(pair, pos_side, maximum)
        return self._post_leverage(symbol, pos_side, maximum)

    def _post_leverage(self, symbol: str, pos_side: PositionSide, leverage: int) -> int:
        """POST leverage; returns the leverage BingX confirmed (and remembers it)."""
        action = f"set leverage {leverage}x ({pos_side}) on {symbol}"
        memory = self.leverage_confirmed

        def send() -> int:
            key = (symbol, pos_side)
            # The other bots are told with the request's own statements in the account's file:
            # the row unknown when its slot is taken, BingX's answer when the slot is settled.
            with (
                self._link.changing(shared.LEVERAGE, symbol, pos_side) as change,
                memory.writing(_sides_changed(symbol, pos_side)) as ticket,
            ):
                try:
                    confirmed = self._link.call(
                        action,
                        account.set_leverage,
                        symbol,
                        pos_side,
                        leverage,
                        parse=replies.leverage_set,
                        change=change,
                    )
                except TemporaryError as e:
                    if _maximum_named(e) is None:
                        raise
                    # BingX's error list also has this refusal under 80001, which would
                    # read as a temporary error: it is permanent and must not be retried.
                    raise InvalidOrderException(str(e)) from e.__cause__
                if confirmed != leverage:
                    # freqtrade stored the trade's leverage before create_order and would
                    # size its stake, liquidation and risk on it while BingX holds another:
                    # refuse the entry (freqtrade skips it). Nothing is remembered, here or
                    # in the shared file (the row stays unknown), and the refusal is held
                    # (not sent again for a while).
                    raise LeverageMismatch(
                        f"BingX confirmed leverage {confirmed}x for {symbol} {pos_side}, "
                        f"asked for {leverage}x: entry refused, since freqtrade would trade "
                        f"it at {leverage}x"
                    )
                kept = key in memory.confirm(ticket, {key: confirmed})
                if change is not None:
                    change.answer(confirmed if kept else None)
            if change is not None and not change.recorded:
                memory.discard([key])
                if change.overwritten:
                    _said_overwritten(shared.LEVERAGE, symbol, pos_side, confirmed)
            return confirmed

        confirmed = self._unless_refused(_leverage_key(symbol, pos_side, leverage), send)
        logger.info("BingX leverage for %s %s set to %dx", symbol, pos_side, confirmed)
        return confirmed

    def read_account_leverage(self, pair: str) -> replies.Leverage:
        """GET leverage for ``pair``: remember the account's maximum and current leverage."""
        symbol = self._symbol(pair)
        memory = self.leverage_confirmed
        with memory.reading(_sides_changed(symbol, "BOTH")) as ticket:
            lev = self._unless_refused(
                ("read leverage", symbol),
                lambda: self._link.call(
                    f"read leverage of {symbol}",
                    account.get_leverage,
                    symbol,
                    parse=replies.leverage,
                ),
            )
            current = {(symbol, "LONG"): lev.long, (symbol, "SHORT"): lev.short}
            # One-way mode sets both sides at once (side BOTH): the account has a BOTH
            # leverage only when the two agree.
            if lev.long == lev.short:
                current[(symbol, "BOTH")] = lev.long
            memory.confirm(ticket, current)
        if lev.long != lev.short:
            memory.discard([(symbol, "BOTH")])
        self._leverage_read.add(symbol)
        maxima = {"LONG": lev.max_long, "SHORT": lev.max_short}
        with self._maxima_lock:
            self._leverage_max[symbol] = {
                side: value for side, value in maxima.items() if value is not None
            }
        self._on_maximum(pair)
        return lev

    def learn_account_leverage(self, pair: str) -> None:
        """Read the account's leverage for ``pair`` if not read yet; a failure is logged only."""
        market = self._markets().get(pair) or {}
        if market.get("id") in self._leverage_read or not market.get("swap"):
            return
        try:
            self.read_account_leverage(pair)
        except FreqtradeException as e:
            logger.warning(
                "Could not read the account's maximum leverage for %s (%s); using the tiers "
                "as loaded",
                pair,
                e,
            )

    def _remember_maximum(self, pair: str, pos_side: PositionSide, maximum: int) -> None:
        symbol = self._symbol(pair)
        with self._maxima_lock:
            self._leverage_max[symbol] = {**self._leverage_max.get(symbol, {}), pos_side: maximum}
        self._on_maximum(pair)

    def whole_leverage(self, pair: str, leverage: float, pos_side: PositionSide) -> int:
        """BingX takes whole numbers: floor (never round risk up), clamp to the pair's max."""
        _check_leverage(pair, leverage)
        whole = math.floor(leverage)
        maximum = self.max_leverage_for_side(pair, pos_side)
        if maximum is not None and whole > maximum:
            whole = maximum
        if whole != leverage:
            logger.warning(
                "Leverage %s for %s %s sent as %dx (BingX takes whole numbers up to %s)",
                leverage,
                pair,
                pos_side,
                whole,
                maximum,
            )
        return whole

    def max_leverage_for_side(self, pair: str, pos_side: PositionSide) -> int | None:
        """The most this account may use on the side; None if unknown.

        The account's figure where known (GET leverage, or a 101414 reply naming it); else the
        contract list's ``maxLongLeverage`` / ``maxShortLeverage``, which BingX's change log
        (2023-08-03) says not to use and which often understates the account's: a lower bound.
        """
        market = self._markets().get(pair) or {}
        known = _side_maximum(self._leverage_max.get(market.get("id"), {}), pos_side)
        if known is not None:
            return known
        info = market.get("info") or {}
        listed = {
            "LONG": _whole(info.get("maxLongLeverage")),
            "SHORT": _whole(info.get("maxShortLeverage")),
        }
        maximum = _side_maximum({side: n for side, n in listed.items() if n is not None}, pos_side)
        if maximum is not None and not self._contract_max_noted and not self._link.can_sign():
            self._contract_max_noted = True
            logger.warning(
                "No BingX API key: the maximum leverage per pair comes from BingX's contract "
                "list, a lower bound (an account may use more; e.g. %s: %dx listed). A key with "
                "read permission lets the plugin read the account's own figures.",
                pair,
                maximum,
            )
        return maximum

    def ensure_margin_type(self, pair: str, margin_mode: MarginMode) -> None:
        symbol = self._symbol(pair)
        target = MARGIN_TYPES.get(margin_mode)
        if target is None:  # refused at start-up (validate_trading_mode_and_margin_mode)
            raise BingxSettingError(
                f"BingX futures support margin_mode isolated or cross, not {margin_mode!r}"
            )
        memory = self.margin_type_confirmed
        if memory.get(symbol) == target:
            # "read_before_entry" asks BingX every entry (a read; a POST only on a change).
            read_first = self._settings.leverage_check == "read_before_entry"
            if not read_first and self._shared_agrees(shared.MARGIN_TYPE, symbol, "", target):
                return
            memory.discard([symbol])

        def send() -> None:
            seen = self._shared_claim(shared.MARGIN_TYPE, symbol, "")
            with memory.writing([symbol]) as ticket:
                self._set_margin_type(symbol, target)
                kept = symbol in memory.confirm(ticket, {symbol: target})
                if not self._share_answer(kept, shared.MARGIN_TYPE, symbol, "", target, seen):
                    memory.discard([symbol])

        self._unless_refused(("margin type", symbol, target), send)

    # --- settings shared with other bots on this account (shared_settings.py) -------------

    def _shared_claim(self, kind: str, symbol: str, side: str, *, wait_s: float = 0.0) -> int:
        """Mark the shared row unknown before a request that may change the setting: no other
        bot trusts its memory while it travels, nor for good if its outcome stays unknown.
        Returns the row's version, to write the answer with.

        While the file is busy the mark cannot be written, and the request is not sent: the
        other bots would trust their memory of the old value meanwhile. freqtrade gets a
        ``TemporaryError`` (its retrier tries again; an entry that still fails is skipped for
        this loop, a ``DependencyException``, and tried again on a later one: late, not lost).
        """
        shared_file = self._link.shared
        if shared_file is None:
            return 0
        try:
            return shared_file.claim(kind, symbol, side, wait_s=wait_s)
        except shared.Busy as e:
            raise not_sent_while_busy(shared_file, kind, symbol, side, e) from None

    def _shared_agrees(self, kind: str, symbol: str, side: str, value: object) -> bool:
        """False when another bot on this account recorded another value (or an unknown one)
        for a setting this bot remembers as ``value``: it must be sent again.

        Also False when the shared file is unusable (said once in the log), or busy for this
        entry: this bot cannot see another bot change the setting, so it trusts no memory of it
        ("read_before_entry" has just read the leverage from BingX, which is trusted). And
        False for a leverage when another bot recorded another position mode (read with the
        row): the mode is read from BingX again, and with it the side whose leverage is needed.
        """
        read_first = self._settings.leverage_check == "read_before_entry"
        read_first = read_first and kind == shared.LEVERAGE
        shared_file = self._link.shared
        if shared_file is None or not shared_file.active:
            return read_first
        try:
            if kind == shared.LEVERAGE:
                entry, mode = shared_file.read_with_mode(kind, symbol, side)
                if self._follow_shared_position_mode(mode):
                    return False
            else:
                entry = shared_file.read(kind, symbol, side)
        except shared.Busy:
            return read_first
        if not shared_file.active:
            return False
        if entry is None or entry.value == str(value):
            return True
        shown = (
            "unknown (another bot is setting it, or did not learn BingX's answer)"
            if entry.value is None
            else entry.value
        )
        logger.warning(
            "BingX %s of %s %s is %s since %s set it; this bot set %s: sending %s again. Bots "
            "on one account share %s per pair%s, so the one that sets it last decides for the "
            "open positions of all.",
            kind,
            symbol,
            side or "",
            shown,
            entry.writer,
            value,
            value,
            kind,
            " and side" if side else "",
        )
        return False

    def _share_answer(
        self, kept: bool, kind: str, symbol: str, side: str, value: object, seen: int
    ) -> bool:
        """Tell the other bots what BingX confirmed to a request that may have changed a setting;
        False when this bot must not remember the answer either.

        Recorded only when this bot's memory ``kept`` the answer (no request of its own
        overlapped). Otherwise, or when another bot wrote the row since its version ``seen``
        (read before sending), which request BingX handled last is unknown: the row is marked
        unknown, so every bot sends its value again before its next entry.
        """
        if self._link.shared is None:
            return True
        if not kept:
            self._link.shared.forget(kind, symbol, side)
            return False
        try:
            if self._link.shared.confirm(kind, symbol, side, value, seen):
                return True
        except shared.Busy:
            return False  # said in the log; marked unknown once the file is free again
        _said_overwritten(kind, symbol, side, value)
        return False

    def _set_margin_type(self, symbol: str, target: str) -> None:
        current = self._link.call(
            f"read margin type of {symbol}",
            account.get_margin_type,
            symbol,
            parse=replies.margin_type,
        )
        if current == target:
            return
        # SEPARATE_ISOLATED (BingX's "separated isolated margin") is not a kind of ISOLATED the
        # bot can trade: there each entry opens a position of its own, and closing one needs its
        # positionId (BingX's order pages), which freqtrade's orders never carry. So it is a
        # different type like any other, switched to the configured one.
        try:
            self._link.call(
                f"set margin type {target} on {symbol}", account.set_margin_type, symbol, target
            )
        except InvalidOrderException as e:
            if current != SEPARATE_ISOLATED:
                raise
            raise InvalidOrderException(
                f"{e}. {symbol} is in BingX's separated isolated margin mode, which freqtrade "
                "cannot trade (closing needs a positionId per position): close its positions "
                f"and orders on BingX, or switch the pair to {target} there"
            ) from e
        logger.info("BingX margin type for %s set to %s (was %s)", symbol, target, current)


# BingX's 101414: "The maximum leverage for the trading pair is 5, please reduce the leverage"
# (BingX's common error codes page, which also lists the text under 80001).
MAXIMUM_LEVERAGE_TEXT = re.compile(r"maximum leverage for the trading pair is (\d+)", re.IGNORECASE)


def _mode_help(pair: str, error: Exception) -> OperationalException:
    return OperationalException(
        f"BingX refused the position side for {pair} even after re-reading the account's "
        f"position mode ({error}). Check the mode on BingX (Perpetual futures > Preferences > "
        "Position mode) or set exchange.position_mode to 'one_way' or 'hedge'."
    )


def _check_leverage(pair: str, leverage: Any) -> None:
    if (
        isinstance(leverage, bool)
        or not isinstance(leverage, int | float)
        or not math.isfinite(leverage)
        or leverage < 1
    ):
        raise InvalidOrderException(
            f"Leverage for {pair} must be a finite number >= 1, got {leverage!r}; "
            "nothing was sent to BingX"
        )


def _leverage_key(symbol: str, pos_side: PositionSide, leverage: int) -> tuple:
    return ("leverage", symbol, pos_side, leverage)


def _sides_changed(symbol: str, pos_side: PositionSide) -> list[tuple[str, PositionSide]]:
    """The remembered leverages that setting ``pos_side`` may change: BOTH (one-way mode) sets
    the long and the short side, and a BOTH figure holds only while the two agree."""
    sides: tuple[PositionSide, ...] = ("LONG", "SHORT") if pos_side == "BOTH" else (pos_side,)
    return [(symbol, side) for side in (*sides, "BOTH")]


def _said_overwritten(kind: str, symbol: str, side: str, value: object) -> None:
    logger.warning(
        "Another bot on this account changed the BingX %s of %s %s while this one set it "
        "to %s: it will be sent again before the next entry.",
        kind,
        symbol,
        side,
        value,
    )


def _may_have_landed(error: BaseException) -> bool:
    """Whether a request that failed with ``error`` may still change the account.

    Not when it was never sent (BingX blocked the endpoint), when BingX or its firewall turned
    it away (rate limit, HTTP 403/418/429), or when BingX refused it with an error code the
    table makes permanent. No answer, a garbled answer, or a temporary error (BingX reports
    internal failures that way) leave the outcome unknown.
    """
    if isinstance(error, DDosProtection):
        return False
    cause = error.__cause__  # the BingX error, possibly under a freqtrade exception with advice
    while cause is not None and not isinstance(cause, BingxError):
        cause = cause.__cause__
    if isinstance(cause, BingxBlocked):
        return False
    return not (isinstance(cause, BingxRejected) and not isinstance(error, TemporaryError))


def _maximum_named(error: Exception) -> int | None:
    """The maximum leverage BingX named in refusing a leverage above it, if it did."""
    cause = error.__cause__
    if not isinstance(cause, BingxError):
        return None
    found = MAXIMUM_LEVERAGE_TEXT.search(cause.msg)
    return _whole(found.group(1)) if found else None


def _side_maximum(maxima: dict[PositionSide, int], pos_side: PositionSide) -> int | None:
    if pos_side in maxima:
        return maxima[pos_side]
    if pos_side != "BOTH":
        return None
    # One-way mode sets both sides at once: the lower maximum holds.
    known = [maxima[side] for side in ("LONG", "SHORT") if side in maxima]
    return min(known) if known else None


def _whole(value: Any) -> int | None:
    """A leverage figure from BingX (int or string) as a whole number >= 1, else None."""
    number = replies.finite(value)
    return int(number) if number is not None and number >= 1 else None


def swap_symbol(markets: dict, pair: str) -> str:
    """BingX's symbol of ``pair``; an ``InvalidOrderException`` for a pair that is no swap."""
    market = markets.get(pair)
    if not market or not market.get("swap"):
        raise InvalidOrderException(
            f"{pair} is not a BingX USDT-M perpetual swap market; nothing was sent"
        )
    return market["id"]

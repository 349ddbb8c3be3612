"""BingX errors as freqtrade exceptions: one table, one translator, one default.

The same table decides for every request, whoever sends it: the plugin's own (leverage, margin
type, position mode, tiers) through :func:`translate`, and ccxt's (orders, cancels, order
queries, balance, positions, funding, market data) through ``freqtrade_bingx.net.ccxt_errors``,
which raises the ccxt exception that freqtrade's ``Exchange`` methods turn into the same
freqtrade exception. The exception class decides what freqtrade does (see
``freqtrade.exchange.common.retrier`` and ``freqtrade.freqtradebot``)::

    FreqtradeException
     +-- OperationalException       not retried; freqtrade stops trading and tells the user:
     |                              what only a person can fix (key, IP whitelist, mode)
     +-- DependencyException
          +-- ExchangeError
               +-- TemporaryError   retried up to four more times (the default)
               |    +-- DDosProtection     retried after growing back-off sleeps
               +-- InvalidOrderException   not retried; the entry is skipped, a refused
                    |                      stoploss makes freqtrade exit the trade
                    +-- InsufficientFundsError   not retried; the entry is skipped
                    +-- RetryableOrderError      order not found: freqtrade looks it up again

BingX blocks an endpoint after more than 20 failing requests in 8 minutes, so a permanent
error must never be sent twice.

Sources: BingX's endpoint pages and their error tables (``reference/bingx-swap-api``, the
``older-export`` tables and ``error_codes.md``), BingX's change log of 2025-10-09 (old codes
replaced by new ones from 2025-10-16; both forms have rows), and replies quoted in ccxt 4.5.90's
``bingx.py``, which maps several of these codes in ways that mislead a bot (100410 to
OperationFailed, 100421 to BadSymbol).
"""

import re
from dataclasses import dataclass

from freqtrade.exceptions import (
    DDosProtection,
    InsufficientFundsError,
    InvalidOrderException,
    OperationalException,
    RetryableOrderError,
    TemporaryError,
)

from freqtrade_bingx.bingx.failures import BingxError, BingxNoRoom


# Codes after which our clock offset is suspect: re-read the server time. 80014 is BingX's
# generic "Invalid parameters" ("Invalid parameters, err:EOF"; since 2025-10 sent as 109400, see
# BingX's change log) and 100421 also answers "This pair is currently restricted from API
# trading": only a message about the timestamp ("timestamp is invalid", "Null timestamp or
# timestamp mismatch") is a clock problem.
CLOCK_ERROR_CODES = frozenset({80014, 100421, 109400})
TIMESTAMP_TEXT = r"timestamp"


def is_clock_error(code: int | None, msg: str) -> bool:
    """True when BingX refused a request's timestamp (not another invalid parameter)."""
    if code not in CLOCK_ERROR_CODES:
        return False
    return re.search(TIMESTAMP_TEXT, msg or "", re.IGNORECASE) is not None


class PositionModeMismatch(OperationalException):
    """BingX refused the position side for the account's position mode (109400).

    The adapter catches it, re-reads the mode and retries once; it reaches freqtrade only when
    that did not help.
    """


@dataclass(frozen=True)
class Rule:
    exception: type[Exception]
    code: int | None = None
    http_status: int | None = None
    pattern: str | None = None  # regular expression searched in msg, case-insensitive
    hint: str = ""

    def matches(self, error: BingxError) -> bool:
        if self.code is not None and error.code != self.code:
            return False
        if self.http_status is not None and error.http_status != self.http_status:
            return False
        return self.pattern is None or re.search(self.pattern, error.msg, re.IGNORECASE) is not None


# BingX's 109400 when the position side does not fit the account's mode: "In the Hedge mode,
# the 'Side' field can only be set to LONG or SHORT." / "In the One-way mode, the
# 'PositionSide' field can only be set to BOTH." / "In the Hedge mode, the 'ReduceOnly' field
# can not be filled." (the batch endpoint sends the same texts with 80001).
POSITION_SIDE_MISMATCH = r"in the (hedge|one-way) mode"
# "Stop Loss price should be lower than the current price" (110411, and 80001 on the batch
# endpoint), "Stop Loss price should be greater than the current price" (110412), "Take Profit
# price should be greater than the current price" (110413), and since BingX folded 80001 into
# 109400: "The stop loss trigger price should be lower than the current price X".
STOP_PRICE_CROSSED = (
    r"(stop loss|take profit)( trigger)? price should be (lower|greater|higher) than the current"
)


def names_position_side_mismatch(text: str) -> bool:
    return re.search(POSITION_SIDE_MISMATCH, text, re.IGNORECASE) is not None


_KEY_HINT = "check exchange.api_key / exchange.secret and the key's permissions on bingx.com"
_CLOCK_HINT = "clock re-synchronised with BingX; will retry"
_MODE_HINT = (
    "close the positions and cancel the open orders on BingX, or set exchange.position_mode "
    "to 'auto'"
)

# First match wins. Each row quotes what BingX sends; "any code" rows match the text alone.
# Sources: [place] older-export/trading__place_order.md, [batch] trading__place_multiple_orders,
# [cancel] trading__cancel_order, [query] trading__query_order_details, [common]
# general_information__common_error_codes, [codes] error_codes.md, [log] change_log.md
# (announced 2025-10-09, in force from 2025-10-16: 100409 / 100410 -> 109429, 80014 / 80001 /
# 109414 -> 109400, 80016 -> 109421, 80017 / 80018 -> 109422, 80020 / 40029 -> 109403, 80012 ->
# 109500, 80019 -> 109423 "The order is being processed" / 109424; the last two, of unknown
# outcome, take the default), [ccxt] a reply quoted in ccxt 4.5.90's bingx.py.
RULES: tuple[Rule, ...] = (
    # --- rate limits: back off -------------------------------------------------------------
    # [place] "rate limited"; "code:100410:The endpoint trigger frequency limit rule is
    # currently in the disabled period and will be unblocked after 1727193814249"; "over 20
    # error code:100202 requests within 480000 ms for this api, please verify and fix it ,can
    # retry after time: 1727193970155"; [ccxt] "The current system is busy, please try again"
    Rule(DDosProtection, code=100410, hint="BingX rate limit; waiting until it unblocks"),
    Rule(DDosProtection, code=109429, hint="BingX rate limit; waiting until it unblocks"),  # [log]
    Rule(DDosProtection, code=100409, hint="BingX rate limit; waiting until it unblocks"),  # [log]
    Rule(DDosProtection, http_status=429, hint="HTTP 429: too many requests"),
    Rule(DDosProtection, http_status=418, hint="HTTP 418: IP banned after repeated 429s"),
    Rule(DDosProtection, http_status=403, hint="HTTP 403: blocked by BingX's firewall"),
    # --- a person must act: stop and say what to fix ---------------------------------------
    # [place] "Incorrect apiKey"; [codes] "Null apiKey"
    Rule(OperationalException, code=100413, hint=_KEY_HINT),
    # [batch] "Signature verification failed due to signature mismatch,please verify ..."
    Rule(OperationalException, code=100001, hint=f"wrong API secret? {_KEY_HINT}"),
    # [common] "Null signature"
    Rule(OperationalException, code=100412, hint=f"the request was not signed; {_KEY_HINT}"),
    # [place] "IP does not match IP whitelist , please go to https://bingx.com/en/account/api/
    # to verify the ip you have set"
    Rule(
        OperationalException,
        code=100419,
        hint="add this machine's public IP to the API key's whitelist on bingx.com",
    ),
    # [common] "Permission denied as the API key was created without the permission"
    Rule(
        OperationalException,
        code=100004,
        hint="give the API key the Perpetual Futures trading permission on bingx.com",
    ),
    # [codes] "The account is abnormal, please contact customer service."
    Rule(OperationalException, code=100414, hint="contact BingX's customer service"),
    # Position mode switch: "user has pending orders or position"
    # (older-export/trading__query_position_mode.md)
    Rule(OperationalException, code=109401, hint=_MODE_HINT),
    # Any code: the position side does not fit the account's mode (see POSITION_SIDE_MISMATCH).
    Rule(PositionModeMismatch, pattern=POSITION_SIDE_MISMATCH),
    # --- clock: the transport has re-read BingX's clock, a retry carries a fresh timestamp ----
    # [place] 80014 "timestamp is invalid"; 100421 "Null timestamp or timestamp mismatch, try
    # to run our sample code ..."; [log] 80014 is 109400 now. Any other 80014 / 100421 / 109400
    # is not about the clock (below).
    Rule(TemporaryError, code=80014, pattern=TIMESTAMP_TEXT, hint=_CLOCK_HINT),
    Rule(TemporaryError, code=100421, pattern=TIMESTAMP_TEXT, hint=_CLOCK_HINT),
    Rule(TemporaryError, code=109400, pattern=TIMESTAMP_TEXT, hint=_CLOCK_HINT),
    # --- BingX says try again (any code) ---------------------------------------------------
    # [codes] 100202 / 100421 / 100400 "The current system is busy, please try again later";
    # [batch] 80001 "This operation is not allowed as your account assets are being processed.
    # Please try again later."; [place] 109400 "You have a copy trading signal in process,
    # please try again later."
    Rule(TemporaryError, pattern=r"system is busy|try again later"),
    # --- not enough money: skip the entry --------------------------------------------------
    # [place] 101204 "Insufficient margin"; [ccxt] {"code":101204,"msg":"","data":{}}
    Rule(InsufficientFundsError, code=101204, hint="insufficient margin"),
    # [codes] 100202 "Insufficient balance" / "Insufficient assets"
    Rule(InsufficientFundsError, code=100202, hint="insufficient balance"),
    # Any code: 109400 "margin is not enough" (set leverage page); [common] 80012; [ccxt]
    # 80012 "{\"Code\":101253,\"Msg\":\"margin is not enough\"}"; [batch] 80001 / [common]
    # 101400 "Insufficient margin"
    Rule(InsufficientFundsError, pattern=r"margin (is )?not enough|insufficient margin"),
    # --- orders that are gone --------------------------------------------------------------
    # [cancel] 80018 "order is already filled, The order doesn't exist"; [log] 80017 / 80018
    # -> 109422 ("order status illegal", "position not exist"). Not temporary: freqtrade's
    # cancel paths then read the order back.
    Rule(InvalidOrderException, code=80018, hint="the order is already filled or cancelled"),
    Rule(InvalidOrderException, code=109422, hint="the order is already filled or cancelled"),
    # [query] 80016 "order does not exist"; [log] 80016 -> 109421; [cancel] 109414 "order not
    # exist" ([query] 109414 "Request failed"); [cancel] 80001 "service has some errors, The
    # order doesn't exist". freqtrade looks an order it cannot find up again.
    Rule(RetryableOrderError, code=80016, hint="order not found"),
    Rule(RetryableOrderError, code=109421, hint="order not found"),
    Rule(RetryableOrderError, code=109414, hint="order not found"),
    Rule(RetryableOrderError, pattern=r"order (does )?not exist|order doesn't exist"),
    # --- refused for good: skip the pair / exit the trade; never sent again -----------------
    # Margin type: 109400 "the account has positions or pending orders" (margin type page)
    Rule(
        InvalidOrderException,
        pattern=r"has positions or pending orders",
        hint="close the pair's positions and orders on BingX before changing this setting",
    ),
    # A stop that the price has already crossed: freqtrade exits the trade instead of leaving
    # it without a stop. [place] 110411 / 110412 / 110413, and any code (STOP_PRICE_CROSSED).
    Rule(InvalidOrderException, code=110411, hint="stop price already crossed"),
    Rule(InvalidOrderException, code=110412, hint="stop price already crossed"),
    Rule(InvalidOrderException, code=110413, hint="take-profit price already crossed"),
    # "Take Profit price should be lower than the current price" (a short's take-profit): not
    # on the stored pages; BingX's newer error list as copied in public code (see sim/orders.py).
    Rule(InvalidOrderException, code=110414, hint="take-profit price already crossed"),
    Rule(InvalidOrderException, pattern=STOP_PRICE_CROSSED, hint="stop price already crossed"),
    # [place] 101290 "The Reduce Only order can only decrease the position and not be used to
    # open a position. Please check your positions and open orders." (also with an empty msg)
    Rule(InvalidOrderException, code=101290, hint="a reduce-only order would open a position"),
    # [place] 101481 "clientOrderID cannot be repeated"; [cancel] 109201 "The same order number
    # is only allowed to be submitted once within 1 second."
    Rule(InvalidOrderException, code=101481, hint="duplicate client order id"),
    Rule(InvalidOrderException, code=109201, hint="duplicate order"),
    # [place] 101205 / [batch] 80001 "No position to close"; [place] 80017 "position not exist"
    Rule(InvalidOrderException, code=101205, hint="no position to close"),
    Rule(InvalidOrderException, pattern=r"no position to close|position not exist"),
    # [place] 101400 "Please ensure that the minimum nominal value of the order placed must be
    # greater than 2u" / "The trading pair is not available for trading"; [common] "Order size
    # error"; [ccxt] 110425 "Please ensure that the minimum nominal value ..."
    Rule(InvalidOrderException, code=101400),
    Rule(InvalidOrderException, code=110425),
    # [place] 101211 "Order price should be higher than 15.5"
    Rule(InvalidOrderException, code=101211),
    # [place] 101212 "Failed. Please check if you have pending orders under the trading pair."
    Rule(InvalidOrderException, code=101212),
    # [place] 101215 "The Maker (Post Only) order ensures that the user always acts as a maker."
    Rule(InvalidOrderException, code=101215),
    # [common] 101415 "This trading pair is suspended from opening new position"
    Rule(InvalidOrderException, code=101415),
    # [place] 101419 "Your order size has reached the upper limit"; 101424 "This order exceeds
    # the current position limit amount of 5000 USDT. Please complete your KYC ..."
    Rule(InvalidOrderException, code=101419),
    Rule(InvalidOrderException, code=101424),
    # [common] 101460 "The order price should be higher than the estimated liquidation price"
    Rule(InvalidOrderException, code=101460),
    # [common] 80013 "The number of your entrusted orders has reached the system limit."
    Rule(InvalidOrderException, code=80013),
    # Any code: "<SYMBOL>,symbol not exist, please verify it in api: /openApi/swap/v2/quote/
    # contracts" (109400 [place]; 109500 set leverage; 80012 [common]); 80012 "query Service
    # Unavailable, err:contract not exist" (margin type page)
    Rule(InvalidOrderException, pattern=r"\b(symbol|contract) not exist"),
    # [ccxt] 100421 "This pair is currently restricted from API trading"
    Rule(InvalidOrderException, pattern=r"restricted from API trading"),
    # [place] 80020 "risk forbidden"; [log] 80020 / 40029 -> 109403
    Rule(InvalidOrderException, code=80020, hint="BingX risk control refused the request"),
    Rule(InvalidOrderException, code=109403, hint="BingX risk control refused the request"),
    Rule(InvalidOrderException, code=40029, hint="BingX risk control refused the request"),
    # Leverage: [common] 80012 "leverage illegal"; 101414 "The maximum leverage for the trading
    # pair is *, please reduce the leverage"; 101209 "The maximum position value for this
    # leverage is ** USDT" (also as 80001 [batch])
    Rule(InvalidOrderException, pattern=r"leverage illegal"),
    Rule(InvalidOrderException, code=101414, hint="leverage above the pair's maximum"),
    Rule(InvalidOrderException, code=101209, hint="position value too large for this leverage"),
    Rule(InvalidOrderException, pattern=r"maximum (leverage|position value)"),
    # [codes] 100400 "miss arguments", "invalid symbol, send symbol like BTC-USDT"
    Rule(InvalidOrderException, code=100400),
    # BingX's generic "Invalid parameter" [common]: [place] 80014 "parameter quantity is must",
    # "Invalid parameters,positionSide: This field is required.", "Reminder: Due to the large
    # market fluctuations, ... API orders are temporarily disabled."; [log] 80014 is 109400 now.
    # Sent once: the same parameters would be refused again.
    Rule(InvalidOrderException, code=80014, hint="BingX refused the request's parameters"),
    Rule(InvalidOrderException, code=109400, hint="BingX refused the request's parameters"),
)

# HTTP 5xx, timeouts, resets, replies that are not a BingX envelope, and any code not above.
DEFAULT_EXCEPTION: type[Exception] = TemporaryError


def rule_for(error: BingxError) -> Rule | None:
    # A local BingxBlocked carries code 100410 and so meets the first row; a timeout or a
    # reset connection (no code, no status) meets none and takes the default.
    return next((rule for rule in RULES if rule.matches(error)), None)


def exception_for(error: BingxError) -> type[Exception]:
    """The freqtrade exception class for ``error``."""
    if isinstance(error, BingxNoRoom):  # not sent, BingX said nothing: back off, try later
        return DDosProtection
    rule = rule_for(error)
    return rule.exception if rule else DEFAULT_EXCEPTION


def describe(error: BingxError) -> str:
    """``error`` with the table's hint on what it means or what to do."""
    rule = rule_for(error)
    return f"{error} ({rule.hint})" if rule and rule.hint else str(error)


def translate(error: BingxError, action: str) -> Exception:
    """The freqtrade exception for ``error``; ``action`` says what was being done."""
    return exception_for(error)(f"Could not {action}: {describe(error)}")


def is_permanent(exception: Exception) -> bool:
    """True for the errors freqtrade must not retry."""
    return not isinstance(exception, TemporaryError)

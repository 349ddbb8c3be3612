"""BingX errors as freqtrade exceptions: one table, one translator, one default.

The exception class decides what freqtrade does (see ``freqtrade.exchange.common.retrier``):

- ``DDosProtection``: retried after growing back-off sleeps.
- ``TemporaryError``: retried up to four more times, then the entry is skipped.
- ``InvalidOrderException`` / ``InsufficientFundsError``: not retried; the pair is skipped for
  now and the bot goes on. BingX blocks an endpoint after more than 20 failing requests in
  8 minutes, so a permanent error must never be sent twice.
- ``OperationalException``: not retried; freqtrade stops trading and tells the user. Used for
  what only a person can fix (key, secret, IP whitelist, position mode).

Sources: BingX's endpoint pages (error lists), ccxt's ``bingx.py`` exception table (which maps
several of these codes in ways that mislead a bot, e.g. 100410 to OperationFailed).
"""

import re
from dataclasses import dataclass

from freqtrade.exceptions import (
    DDosProtection,
    InsufficientFundsError,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)

from freqtrade_bingx.transport import BingxError


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
# 'PositionSide' field can only be set to BOTH."
POSITION_SIDE_MISMATCH = r"in the (hedge|one-way) mode"


def names_position_side_mismatch(text: str) -> bool:
    return re.search(POSITION_SIDE_MISMATCH, text, re.IGNORECASE) is not None


_KEY_HINT = "check exchange.api_key / exchange.secret and the key's permissions on bingx.com"

# First match wins. Each row quotes a reply BingX really sends.
RULES: tuple[Rule, ...] = (
    # "rate limited"; "code:100410:The endpoint trigger frequency limit rule is currently in the
    # disabled period and will be unblocked after 1727193814249"; "over 20 error code:100202
    # requests within 480000 ms for this api, please verify and fix it ,can retry after time:
    # 1727193970155"
    Rule(DDosProtection, code=100410, hint="BingX rate limit; waiting until it unblocks"),
    Rule(DDosProtection, http_status=429, hint="HTTP 429: too many requests"),
    Rule(DDosProtection, http_status=418, hint="HTTP 418: IP banned after repeated 429s"),
    Rule(DDosProtection, http_status=403, hint="HTTP 403: blocked by BingX's firewall"),
    # "timestamp is invalid" / "Null timestamp or timestamp mismatch": the transport has
    # already re-read BingX's clock, so a retry goes out with a corrected timestamp.
    Rule(TemporaryError, code=80014, hint="clock re-synchronised with BingX; will retry"),
    Rule(TemporaryError, code=100421, hint="clock re-synchronised with BingX; will retry"),
    # "Incorrect apiKey"
    Rule(OperationalException, code=100413, hint=_KEY_HINT),
    # "Signature verification failed"
    Rule(OperationalException, code=100001, hint=f"wrong API secret? {_KEY_HINT}"),
    # "IP does not match IP whitelist , please go to https://bingx.com/en/account/api/ ..."
    Rule(
        OperationalException,
        code=100419,
        hint="add this machine's public IP to the API key's whitelist on bingx.com",
    ),
    Rule(PositionModeMismatch, code=109400, pattern=POSITION_SIDE_MISMATCH),
    Rule(InsufficientFundsError, code=109400, pattern=r"margin is not enough"),
    Rule(InsufficientFundsError, code=100202, hint="insufficient balance"),
    Rule(InsufficientFundsError, code=80012, pattern=r"margin is not enough"),
    # "CATI-USDT,symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts"
    Rule(InvalidOrderException, code=109400, pattern=r"symbol not exist"),
    Rule(InvalidOrderException, code=109500, pattern=r"symbol not exist"),
    # Margin type: "the account has positions or pending orders"
    Rule(
        InvalidOrderException,
        code=109400,
        pattern=r"positions or pending orders",
        hint="close the pair's positions and orders on BingX before changing this setting",
    ),
    Rule(InvalidOrderException, code=80020, hint="BingX risk control refused the request"),
    Rule(InvalidOrderException, code=80012, pattern=r"leverage illegal"),
    Rule(InvalidOrderException, code=101414, hint="leverage above the pair's maximum"),
    Rule(InvalidOrderException, code=101209, hint="position value too large for this leverage"),
)

DEFAULT_EXCEPTION: type[Exception] = TemporaryError


def rule_for(error: BingxError) -> Rule | None:
    # A local BingxBlocked carries code 100410 and so meets the first row; a timeout or a
    # reset connection (no code, no status) meets none and takes the default.
    return next((rule for rule in RULES if rule.matches(error)), None)


def translate(error: BingxError, action: str) -> Exception:
    """The freqtrade exception for ``error``; ``action`` says what was being done."""
    rule = rule_for(error)
    exception = rule.exception if rule else DEFAULT_EXCEPTION
    message = f"Could not {action}: {error}"
    if rule and rule.hint:
        message += f" ({rule.hint})"
    return exception(message)


def is_permanent(exception: Exception) -> bool:
    """True for the errors freqtrade must not retry."""
    return not isinstance(exception, TemporaryError)

"""ccxt's BingX replies through the plugin's error table, and ccxt's errors without secrets.

freqtrade's ``Exchange`` methods catch ccxt's exception classes and raise their own. ccxt's
BingX mapping would decide what freqtrade does for orders, cancels, balance and positions, and
it misleads a bot (100410 is not a rate limit to it, a clock error looks like a bad symbol). So
the ccxt objects of a futures exchange check each reply themselves: a BingX error is looked up in
``freqtrade_bingx.bingx.errors`` and raised as the ccxt exception that makes freqtrade end in the
table's freqtrade exception. The same code gets the same behaviour whichever path sent it.
Spot is left to ccxt, as in freqtrade's stock ``Bingx``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ccxt
from freqtrade.exceptions import (
    DDosProtection,
    InsufficientFundsError,
    InvalidOrderException,
    OperationalException,
    RetryableOrderError,
    TemporaryError,
)

from freqtrade_bingx.bingx.errors import describe, exception_for
from freqtrade_bingx.bingx.failures import BingxError
from freqtrade_bingx.net.redact import redact_signatures


class BingxNeedsAttention(ccxt.BaseError):
    """A BingX refusal only a person can fix (key, IP whitelist, position mode).

    Neither ``ccxt.ExchangeError`` nor ``ccxt.OperationFailed`` on purpose: freqtrade turns
    those into ``TemporaryError`` and any other ccxt error into ``OperationalException``.
    """


# The table's freqtrade exception -> the ccxt exception that produces it. What freqtrade 2026.9
# raises for each ccxt exception, method by method (freqtrade/exchange/exchange.py; "others":
# get_balances, fetch_positions, the funding and market-data methods):
#
#   ccxt raises          create_order   create_stoploss  fetch_order        cancel_order  others
#   DDoSProtection       DDosProtection DDosProtection   DDosProtection     DDosProtection  DDos..
#   InsufficientFunds    InsufficientF. InsufficientF.   TemporaryError     TemporaryError  Temp..
#   InvalidOrder         InvalidOrder   InvalidOrder     InvalidOrder       InvalidOrder    Temp..
#   OrderNotFound        InvalidOrder   InvalidOrder     RetryableOrderErr. InvalidOrder    Temp..
#   ExchangeNotAvailable TemporaryError TemporaryError   TemporaryError     TemporaryError  Temp..
#   BingxNeedsAttention  Operational    Operational      Operational        Operational     Oper..
#
# So every table class arrives as itself where freqtrade knows it. Where a method has no such
# branch, freqtrade's own ladder decides: an order refusal or missing funds on a balance or
# market-data read is a TemporaryError, an order not found is an InvalidOrderException on a
# cancel (freqtrade then reads the order back: cancel_order_with_result). ExchangeNotAvailable
# is ccxt's "try again" class (a NetworkError); a plain ExchangeError would do the same in
# freqtrade, but BadRequest or OperationRejected would not (create_stoploss makes those invalid).
CCXT_EXCEPTIONS: dict[type[Exception], type[ccxt.BaseError]] = {
    DDosProtection: ccxt.DDoSProtection,
    TemporaryError: ccxt.ExchangeNotAvailable,
    RetryableOrderError: ccxt.OrderNotFound,
    InsufficientFundsError: ccxt.InsufficientFunds,
    InvalidOrderException: ccxt.InvalidOrder,
    OperationalException: BingxNeedsAttention,
}


def ccxt_exception_class(exception: type[Exception]) -> type[ccxt.BaseError]:
    """The ccxt class for a table class (a subclass takes its nearest mapped base)."""
    for cls in exception.__mro__:
        if cls in CCXT_EXCEPTIONS:
            return CCXT_EXCEPTIONS[cls]
    return ccxt.ExchangeNotAvailable


# The columns of the table above that the plugin's own ccxt calls follow.
CREATE_ORDER, FETCH_ORDER, OTHERS = "create_order", "fetch_order", "others"


@contextmanager
def ccxt_to_freqtrade(action: str, like: str = OTHERS) -> Iterator[None]:
    """ccxt's exceptions raised inside the block as freqtrade's: the one mapping every override
    of the plugin uses for its own ccxt calls, by freqtrade's own ladder for the method the
    call is ``like`` (a column of the table above).

    ``CREATE_ORDER``: an order refusal and missing funds arrive as themselves
    (InvalidOrderException, InsufficientFundsError). ``FETCH_ORDER``: an order refusal arrives
    as itself, missing funds as a TemporaryError. ``OTHERS`` (balances, positions, funding,
    market data): both are a TemporaryError. A DDoSProtection is freqtrade's, ccxt's other
    exchange and network errors a TemporaryError, anything else of ccxt's (such as
    BingxNeedsAttention) an OperationalException. What is not ccxt's passes unchanged.
    """
    try:
        yield
    except ccxt.DDoSProtection as e:
        raise DDosProtection(f"Could not {action}: {e}") from e
    except ccxt.InsufficientFunds as e:
        if like == CREATE_ORDER:
            raise InsufficientFundsError(f"Could not {action}: {e}") from e
        raise TemporaryError(f"Could not {action}: {e}") from e
    except ccxt.InvalidOrder as e:
        if like in (CREATE_ORDER, FETCH_ORDER):
            raise InvalidOrderException(f"Could not {action}: {e}") from e
        raise TemporaryError(f"Could not {action}: {e}") from e
    except (ccxt.OperationFailed, ccxt.ExchangeError) as e:
        raise TemporaryError(
            f"Could not {action} due to {e.__class__.__name__}. Message: {e}"
        ) from e
    except ccxt.BaseError as e:
        raise OperationalException(f"Could not {action}: {e}") from e


def ccxt_error(error: BingxError) -> ccxt.BaseError:
    """The ccxt exception for ``error``, worded with the table's hint, carrying BingX's code as
    ``bingx_code`` (None: no BingX envelope; see :func:`bingx_answered`)."""
    exception = ccxt_exception_class(exception_for(error))(describe(error))
    exception.bingx_code = error.code
    return exception


def bingx_answered(error: BaseException) -> bool:
    """Whether a freqtrade exception came from a BingX reply with an error code: the request
    was handled and refused. Without one (a timeout, a dropped connection, a garbled reply),
    BingX may still handle it later."""
    return getattr(error.__cause__, "bingx_code", None) is not None


def redact_ccxt_errors(api: Any, sync: bool) -> None:
    """Remove signatures from the messages of ccxt's errors before anyone logs them.

    ccxt's network errors quote the request URL, and BingX's signature travels in it; freqtrade
    logs those messages. The original exception is not chained, since it holds the same text.
    """
    fetch = api.fetch

    def redacted(error: ccxt.BaseError) -> ccxt.BaseError:
        copy = type(error)(redact_signatures(str(error)))
        copy.bingx_code = getattr(error, "bingx_code", None)  # see bingx_answered
        return copy

    if sync:

        def fetch_redacted(*args, **kwargs):
            try:
                return fetch(*args, **kwargs)
            except ccxt.BaseError as e:
                raise redacted(e) from None

    else:

        async def fetch_redacted(*args, **kwargs):
            try:
                return await fetch(*args, **kwargs)
            except ccxt.BaseError as e:
                raise redacted(e) from None

    api.fetch = fetch_redacted

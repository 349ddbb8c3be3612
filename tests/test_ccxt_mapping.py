"""The one ccxt-to-freqtrade mapping the plugin's own ccxt calls go through
(``ccxt_errors.ccxt_to_freqtrade``): freqtrade's ladder for the method each call is like.

The expectations are freqtrade 2026.9's own (freqtrade/exchange/exchange.py): create_order
lets an order refusal and missing funds through as themselves, fetch_order the refusal only,
and its other methods (balances, positions, funding) make both a TemporaryError.
"""

import ccxt
import pytest
from freqtrade.exceptions import (
    DDosProtection,
    InsufficientFundsError,
    InvalidOrderException,
    OperationalException,
    TemporaryError,
)

from freqtrade_bingx.net.ccxt_errors import (
    CREATE_ORDER,
    FETCH_ORDER,
    OTHERS,
    BingxNeedsAttention,
    ccxt_to_freqtrade,
)


EXPECTED = [
    # ccxt raises,            create_order,          fetch_order,           others
    (ccxt.DDoSProtection, DDosProtection, DDosProtection, DDosProtection),
    # Not a DDoSProtection in ccxt 4.5.90: freqtrade retries it as any network error.
    (ccxt.RateLimitExceeded, TemporaryError, TemporaryError, TemporaryError),
    (ccxt.InsufficientFunds, InsufficientFundsError, TemporaryError, TemporaryError),
    (ccxt.InvalidOrder, InvalidOrderException, InvalidOrderException, TemporaryError),
    (ccxt.OrderNotFound, InvalidOrderException, InvalidOrderException, TemporaryError),
    (ccxt.ExchangeNotAvailable, TemporaryError, TemporaryError, TemporaryError),
    (ccxt.RequestTimeout, TemporaryError, TemporaryError, TemporaryError),
    (ccxt.BadSymbol, TemporaryError, TemporaryError, TemporaryError),
    (BingxNeedsAttention, OperationalException, OperationalException, OperationalException),
]
EXPECTED = [(row[0], row[1:]) for row in EXPECTED]


@pytest.mark.parametrize("raised, expected", EXPECTED, ids=[row[0].__name__ for row in EXPECTED])
def test_each_ccxt_error_ends_as_freqtrades_ladder_ends_it(raised, expected):
    for like, wanted in zip((CREATE_ORDER, FETCH_ORDER, OTHERS), expected, strict=True):
        with pytest.raises(wanted) as caught, ccxt_to_freqtrade("read the thing", like):
            raise raised("BingX said no")
        # Exactly that class where a subclass would change what freqtrade does.
        if wanted in (TemporaryError, InvalidOrderException):
            assert type(caught.value) is wanted, like
        assert "read the thing" in str(caught.value) and "BingX said no" in str(caught.value)
        assert isinstance(caught.value.__cause__, raised)


def test_what_is_not_ccxts_passes_unchanged():
    with pytest.raises(KeyError), ccxt_to_freqtrade("read the thing"):
        raise KeyError("not ccxt's")

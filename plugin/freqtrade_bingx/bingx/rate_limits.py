"""BingX's request-rate limits, one row per endpoint, each with the page that states it.

BingX limits every private endpoint per account (UID) on its own: each endpoint page says
"rate limitation by UID: N/s". Going over earns a 100410 and, repeated, a block of the endpoint
(see ``errors.py``). The pages are sections of
https://bingx-api.github.io/docs/#/en-us/swapV2/trade-api.html and ``.../account-api.html``;
each row names its section. Market-data endpoints are limited per IP group only (group 1: 500
requests per 10 s, BingX's "Rate limit" page), which no row here models.

- ``per_second``: the endpoint page's figure. The local exchange (``freqtrade_bingx.sim``)
  enforces it, as BingX says it does.
- ``client_per_second``: what the plugin's transport keeps to. The page's figure, or a lower
  one where another source (an older export of the pages, ccxt's cost table) says less.

Rows marked ``CCXT`` are endpoints freqtrade reaches through ccxt, which throttles them per bot.
Like the plugin's own, every signed request to any endpoint here also takes a slot in the
account's budget shared by the bots on this machine, at ``client_per_second``, or in the bot's
own when the shared one cannot take it (``net/pipeline.py``, for the plugin's requests and
ccxt's alike). Standard library only:
the local exchange imports this module too.
"""

from dataclasses import dataclass

from freqtrade_bingx.bingx import endpoints as ep


PLUGIN = "plugin"  # sent by the plugin's own transport
CCXT = "ccxt"  # sent by ccxt on freqtrade's behalf

_TRADE = "swapV2/trade-api"
_ACCOUNT = "swapV2/account-api"
# ccxt 4.5.90 bingx.py: rateLimit 100 ms, so a cost of 5 allows 2/s and a cost of 2 allows 5/s.
_CCXT_COST_5 = "ccxt 4.5.90 costs it 5 x 100 ms = 2/s"


@dataclass(frozen=True)
class RateLimit:
    method: str
    path: str
    per_second: float
    page: str
    caller: str
    lower: float | None = None  # a lower figure from another source, kept to by the client
    note: str = ""

    @property
    def client_per_second(self) -> float:
        return min(self.per_second, self.lower) if self.lower else self.per_second


RATE_LIMITS: tuple[RateLimit, ...] = (
    # --- the plugin's own requests
    RateLimit(
        "POST",
        ep.LEVERAGE,
        5,
        f"{_TRADE}: Set Leverage",
        PLUGIN,
        lower=2,
        # Both exports of the page here say 5/s; the earlier export noted in BINGX.md and
        # ccxt's cost table say 2/s. A 100410 costs far more than a slower start: keep to 2/s.
        note=f"the page says 5/s; {_CCXT_COST_5}, as did an earlier export of the page",
    ),
    RateLimit(
        "GET",
        ep.LEVERAGE,
        5,
        f"{_TRADE}: Query Leverage and Available Positions",
        PLUGIN,
    ),
    RateLimit("POST", ep.POSITION_MODE, 2, f"{_TRADE}: Set Position Mode", PLUGIN),
    RateLimit("GET", ep.POSITION_MODE, 2, f"{_TRADE}: Query position mode", PLUGIN),
    RateLimit("POST", ep.MARGIN_TYPE, 2, f"{_TRADE}: Change Margin Type", PLUGIN),
    RateLimit("GET", ep.MARGIN_TYPE, 2, f"{_TRADE}: Query Margin Type", PLUGIN),
    RateLimit(
        "GET",
        ep.TIERS,
        5,
        f"{_TRADE}: Position and Maintenance Margin Ratio",
        PLUGIN,
    ),
    # Also ccxt's fetch_positions; the plugin reads it before switching the position mode.
    RateLimit("GET", ep.POSITIONS, 5, f"{_ACCOUNT}: Query position data", PLUGIN),
    RateLimit("GET", ep.ASSET_MODE, 2, f"{_TRADE}: Query Multi-Assets Mode", PLUGIN),
    RateLimit("GET", ep.COMMISSION_RATE, 5, f"{_ACCOUNT}: Query Trading Commission Rate", PLUGIN),
    # ``freqtrade-bingx preflight``: BingX's test-order page, and the key-permissions page of
    # its common account section (not a swap page).
    RateLimit("POST", ep.ORDER_TEST, 5, f"{_TRADE}: Test Order", PLUGIN),
    RateLimit("GET", ep.API_PERMISSIONS, 2, "account: Query API Key Permissions", PLUGIN),
    # --- freqtrade's requests through ccxt
    RateLimit(
        "POST",
        ep.ORDER,
        10,
        f"{_TRADE}: Place order",
        CCXT,
        lower=5,
        note="the current page says 10/s, the older export 5/s (trading__place_order)",
    ),
    RateLimit("DELETE", ep.ORDER, 5, f"{_TRADE}: Cancel Order", CCXT),
    RateLimit("GET", ep.ORDER, 5, f"{_TRADE}: Query Order details", CCXT),
    RateLimit("GET", ep.OPEN_ORDERS, 5, f"{_TRADE}: Current All Open Orders", CCXT),
    RateLimit(
        "DELETE",
        ep.ALL_OPEN_ORDERS,
        5,
        f"{_TRADE}: Cancel All Open Orders",
        CCXT,
    ),
    RateLimit("GET", ep.ALL_ORDERS, 5, f"{_TRADE}: Query Order history", CCXT),
    RateLimit("GET", ep.FULL_ORDER, 5, f"{_TRADE}: All Orders", CCXT),
    # Read by the plugin through ccxt's implicit method when freqtrade looks for orders it did
    # not place (reconcile.py); ccxt 4.5.90 costs it 1 x 100 ms = 10/s, as the page says.
    RateLimit("GET", ep.FORCE_ORDERS, 10, f"{_TRADE}: User's Force Orders", CCXT),
    RateLimit(
        "GET",
        ep.ALL_FILL_ORDERS,
        5,
        f"{_TRADE}: Query historical transaction orders",
        CCXT,
    ),
    RateLimit(
        "GET",
        ep.INCOME,
        5,
        f"{_ACCOUNT}: Get Account Profit and Loss Fund Flow",
        CCXT,
    ),
    RateLimit("GET", ep.BALANCE, 5, f"{_ACCOUNT}: Query account data", CCXT),
)


def client_limits(caller: str | None = PLUGIN) -> dict[tuple[str, str], float]:
    """Requests per second a client keeps to, per ``(method, path)`` (``caller`` None: all)."""
    return {
        (row.method, row.path): row.client_per_second
        for row in RATE_LIMITS
        if caller is None or row.caller == caller
    }


def page_limits() -> dict[tuple[str, str], float]:
    """Requests per second BingX's pages state, per ``(method, path)``, for every row."""
    return {(row.method, row.path): row.per_second for row in RATE_LIMITS}

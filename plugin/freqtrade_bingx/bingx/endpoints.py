"""BingX's endpoint paths the plugin and freqtrade's ccxt object reach, and the request
constants shared by the plugin's modules: the one table of them.

Paths are those of BingX's endpoint pages (``../shared/reference/bingx-swap-api/``; the sections
of https://bingx-api.github.io/docs/#/en-us/swapV2/trade-api.html and ``.../account-api.html``).
``rate_limits.py`` keys its rows on them; the modules that send (``account.py``,
``account_modes.py``, ``funding.py``, ``reconcile.py``, ``preflight.py``, the transport) and
the reply checks that name them import them from here. The local exchange (``sim``) keeps its
own routes: it models BingX, and a test comparing the two would otherwise compare a table
with itself. Standard library only (the local exchange imports ``rate_limits.py``).
"""

# --- the plugin's own requests (its transport)
SERVER_TIME = "/openApi/swap/v2/server/time"
LEVERAGE = "/openApi/swap/v2/trade/leverage"
POSITION_MODE = "/openApi/swap/v1/positionSide/dual"
MARGIN_TYPE = "/openApi/swap/v2/trade/marginType"
POSITIONS = "/openApi/swap/v2/user/positions"
TIERS = "/openApi/swap/v1/maintMarginRatio"
ASSET_MODE = "/openApi/swap/v1/trade/assetMode"
# The account's own maker / taker fee rates (VIP tiers, rebates): the fee estimates' source.
COMMISSION_RATE = "/openApi/swap/v2/user/commissionRate"
# ``freqtrade-bingx preflight``: the test-order page and the key-permissions page of BingX's
# common account section (not a swap page).
ORDER_TEST = "/openApi/swap/v2/trade/order/test"
API_PERMISSIONS = "/openApi/v1/account/apiPermissions"

# --- freqtrade's requests through ccxt (and the plugin's through ccxt's implicit methods)
ORDER = "/openApi/swap/v2/trade/order"
OPEN_ORDERS = "/openApi/swap/v2/trade/openOrders"
ALL_OPEN_ORDERS = "/openApi/swap/v2/trade/allOpenOrders"
ALL_ORDERS = "/openApi/swap/v2/trade/allOrders"
FULL_ORDER = "/openApi/swap/v1/trade/fullOrder"
FORCE_ORDERS = "/openApi/swap/v2/trade/forceOrders"
ALL_FILL_ORDERS = "/openApi/swap/v2/trade/allFillOrders"
INCOME = "/openApi/swap/v2/user/income"
BALANCE = "/openApi/swap/v3/user/balance"
PREMIUM_INDEX = "/openApi/swap/v2/quote/premiumIndex"

# The most rows one request may ask for: the klines and mark-price klines pages ("limit ...
# maximum: 1440"), the funding-rate history page ("maximum: 1000").
KLINES_MAX_LIMIT = 1440
FUNDING_RATE_MAX_LIMIT = 1000

# recvWindow when the config sets none: the age past which BingX's signature page says it refuses
# a request by default (5 s); settings.py checks a configured one, the transport sends it.
DEFAULT_RECV_WINDOW_MS = 5000

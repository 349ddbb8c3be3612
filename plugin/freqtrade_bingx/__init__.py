"""BingX USDT-M perpetual futures for freqtrade.

Importing this package is cheap on purpose: it runs at every interpreter start (through the
``.pth`` line that arms the import hook), so it must not import freqtrade, ccxt or requests.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "register"]


def register() -> type:
    """Install the plugin's exchange class as ``freqtrade.exchange.Bingx`` and return it.

    Safe to call more than once. Use it when automatic registration is switched off
    (``FREQTRADE_BINGX_AUTOLOAD=0``) or the package was not installed with pip.
    """
    from freqtrade_bingx._autoload import register_now

    return register_now()

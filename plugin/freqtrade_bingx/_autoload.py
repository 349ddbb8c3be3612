"""Lazy registration of the plugin's exchange class in freqtrade.

freqtrade picks an exchange class by ``getattr(freqtrade.exchange, "Bingx")`` and has no
plugin lookup, so the class must be in place before freqtrade builds its exchange, in every
command. The ``freqtrade_bingx.pth`` file installed next to site-packages calls :func:`arm`
at interpreter start. ``arm`` only puts a small finder on ``sys.meta_path``. When some code
imports ``freqtrade.exchange``, the finder makes its ``Bingx`` attribute lazy: the plugin is
imported on first use of ``freqtrade.exchange.Bingx`` (freqtrade's exchange resolver), when
every import is complete. Importing it any earlier would break whenever a plugin module is
what imported ``freqtrade.exchange`` (``import freqtrade_bingx.adapter.exchange`` as the first
line):
that module would still be half-initialised.

If the plugin cannot be loaded, one error is logged and freqtrade's own ``Bingx`` stays in
place, so freqtrade keeps working for every other exchange (and BingX spot).
"""

import os
import sys


TARGET = "freqtrade.exchange"
DISABLE_ENV = "FREQTRADE_BINGX_AUTOLOAD"
_OFF_VALUES = ("0", "false", "no", "off")


def register_now() -> type:
    """Install the plugin's class now; an import error is raised to the caller."""
    import freqtrade.exchange

    from freqtrade_bingx.adapter.exchange import Bingx

    freqtrade.exchange.Bingx = Bingx
    return Bingx


def install_lazily(module) -> None:
    """Make ``module.Bingx`` (``freqtrade.exchange``) load the plugin on first use."""
    stock = module.__dict__.pop("Bingx", None)
    if stock is None or stock.__module__.startswith("freqtrade_bingx"):
        if stock is not None:
            module.Bingx = stock  # registered already
        return

    def __getattr__(name: str):
        if name != "Bingx":
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        module.Bingx = _load_plugin_class(stock)
        return module.Bingx

    def __dir__() -> list[str]:
        return sorted({*module.__dict__, "Bingx"})

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__


def _load_plugin_class(stock: type) -> type:
    """The plugin's ``Bingx``, or freqtrade's own when the plugin cannot be imported."""
    try:
        from freqtrade_bingx.adapter.exchange import Bingx
    except Exception as e:  # whatever breaks in the plugin must not break freqtrade
        import logging

        logger = logging.getLogger(__name__)
        logger.error(
            "freqtrade-bingx could not be loaded (%s: %s); freqtrade's own Bingx (spot only) "
            "is used instead. Reinstall freqtrade-bingx, or set %s=0 to switch it off.",
            type(e).__name__,
            e,
            DISABLE_ENV,
        )
        logger.debug("freqtrade-bingx import failure", exc_info=True)
        return stock
    return Bingx


class _RegisteringLoader:
    """Runs the real loader of ``freqtrade.exchange``, then makes its ``Bingx`` the plugin's."""

    def __init__(self, loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        install_lazily(module)

    def __getattr__(self, name):
        # Anything else (get_code, get_resource_reader, ...) is the real loader's business.
        return getattr(self._loader, name)


class _ExchangeImportHook:
    """A meta path finder that only reacts to ``freqtrade.exchange``, once."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        disarm()
        # Ask the other finders (plain site-packages, editable installs, ...) for the real spec.
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


_HOOK = _ExchangeImportHook()


def disarm() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def arm() -> None:
    if os.environ.get(DISABLE_ENV, "").strip().lower() in _OFF_VALUES:
        return
    if TARGET in sys.modules:
        install_lazily(sys.modules[TARGET])
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)

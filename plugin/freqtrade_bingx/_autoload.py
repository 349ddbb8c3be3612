"""Lazy registration of the plugin's exchange class in freqtrade.

freqtrade picks an exchange class by ``getattr(freqtrade.exchange, "Bingx")`` and has no
plugin lookup, so the class must be in place before freqtrade builds its exchange, in every
command. The ``freqtrade_bingx.pth`` file installed next to site-packages calls :func:`arm`
at interpreter start. ``arm`` only puts a small finder on ``sys.meta_path``; freqtrade, ccxt
and requests are imported when (and only when) some code imports ``freqtrade.exchange``.
"""

import os
import sys


TARGET = "freqtrade.exchange"
DISABLE_ENV = "FREQTRADE_BINGX_AUTOLOAD"
_OFF_VALUES = ("0", "false", "no", "off")


def register_now() -> type:
    import freqtrade.exchange  # noqa: F401  (a no-op when called from the hook below)

    from freqtrade_bingx.exchange import Bingx

    # From sys.modules: while the hook runs, the package attribute freqtrade.exchange is
    # not bound yet.
    sys.modules[TARGET].Bingx = Bingx
    return Bingx


class _RegisteringLoader:
    """Runs the real loader of ``freqtrade.exchange``, then registers the plugin."""

    def __init__(self, loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        register_now()

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
        register_now()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)

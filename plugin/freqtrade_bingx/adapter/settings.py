"""The plugin's settings in freqtrade's ``exchange`` section, checked once at start-up.

Every mode (live, dry-run, backtesting, the ``freqtrade-bingx`` command) builds the exchange
object, and that reads its settings here first, before ccxt or any request. A bad value stops
the start with one line that names the key, the value and what is allowed. The API secret is
never quoted, and neither is the key.

:class:`BingxSettingError` is the plugin's one way to refuse a start, here and elsewhere (a
plain-http URL section, demo trading in spot mode, a margin mode or stop trigger BingX does not
offer): raise it, never freqtrade's ``ConfigurationError``. freqtrade 2026.9's ``main`` logs a
``ConfigurationError`` and exits with code 0, so Docker's ``restart: on-failure``, systemd and
scripts would read a refusal as a clean stop; on this ``OperationalException`` it exits with 2.
"""

import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from freqtrade_bingx.bingx.endpoints import DEFAULT_RECV_WINDOW_MS
from freqtrade_bingx.bingx.failures import BingxSettingError
from freqtrade_bingx.net.transport import is_loopback_host
from freqtrade_bingx.state import redis_store


logger = logging.getLogger(__name__)


# BingX's pages give no upper bound for recvWindow; they reject requests more than 5 s
# (signature page) or 30 s (base-info page) old by default. A minute is the bound Binance-style
# APIs enforce, and a window that long already lets a delayed order through late.
RECV_WINDOW_RANGE_MS = (1, 60_000)
# Set-leverage requests per second. BingX allows 5/s per UID on its endpoint page (2/s in its
# markdown export, the default here); below 0.1/s a start-up with a few pairs takes minutes.
LEVERAGE_RATE_LIMIT_RANGE = (0.1, 5.0)
POSITION_MODES = ("auto", "one_way", "hedge")
# How a bot learns that another bot (or bingx.com) changed an account-wide setting it relies on:
# "shared": from the account's state file, shared by the bots on this machine (no request);
# "read_before_entry": by reading leverage and margin type from BingX before every entry.
LEVERAGE_CHECKS = ("shared", "read_before_entry")
# freqtrade hands ccxt the first of these that is present (Exchange._init_ccxt).
KEY_NAMES = ("api_key", "apiKey", "key")


@dataclass(frozen=True)
class BingxSettings:
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
    # None: the transport's default for the set-leverage endpoint.
    leverage_rate_limit: float | None = None
    position_mode: str = "auto"
    api_key: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    leverage_check: str = "shared"
    # None: state_store.default_state_dir() (the user's cache folder). Else absolute, with
    # ~ and environment variables expanded.
    account_state_dir: str | None = None
    # Names the account's state file instead of the API key: bots using different API keys of
    # one BingX account (BingX counts per UID) must set the same name to share it.
    account_state_name: str | None = None
    # redis:// or rediss://: the account's state on Redis, shared by bots on several machines
    # (state/redis_store.py); None: the SQLite file in account_state_dir. Never shown: it may
    # carry the Redis password.
    account_state_url: str | None = field(default=None, repr=False)

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key and self.secret)


def from_config(exchange_conf: dict[str, Any]) -> BingxSettings:
    """The plugin's settings from freqtrade's ``exchange`` section.

    :raises BingxSettingError: naming the first bad key, its value (never for the key or the
        secret) and what is allowed.
    """
    key_name = next((name for name in KEY_NAMES if name in exchange_conf), "key")
    return BingxSettings(
        recv_window_ms=_recv_window(exchange_conf),
        leverage_rate_limit=_leverage_rate_limit(exchange_conf),
        position_mode=_position_mode(exchange_conf),
        leverage_check=_leverage_check(exchange_conf),
        account_state_dir=_account_state_dir(exchange_conf),
        account_state_name=_account_state_name(exchange_conf),
        account_state_url=_account_state_url(exchange_conf),
        api_key=_credential(exchange_conf, key_name),
        secret=_credential(exchange_conf, "secret"),
    )


def _recv_window(conf: dict[str, Any]) -> int:
    if "recv_window" not in conf:
        return DEFAULT_RECV_WINDOW_MS
    value = conf["recv_window"]
    low, high = RECV_WINDOW_RANGE_MS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse("recv_window", value, f"a whole number of milliseconds from {low} to {high}")
    return value


def _leverage_rate_limit(conf: dict[str, Any]) -> float | None:
    if "leverage_rate_limit" not in conf:
        return None
    value = conf["leverage_rate_limit"]
    low, high = LEVERAGE_RATE_LIMIT_RANGE
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise _refuse(
            "leverage_rate_limit", value, f"set-leverage requests per second, {low:g} to {high:g}"
        )
    return float(value)


def _position_mode(conf: dict[str, Any]) -> str:
    value = conf.get("position_mode", "auto")
    if value not in POSITION_MODES:
        raise _refuse("position_mode", value, "one of " + ", ".join(POSITION_MODES))
    return value


def _leverage_check(conf: dict[str, Any]) -> str:
    value = conf.get("leverage_check", "shared")
    if value not in LEVERAGE_CHECKS:
        raise _refuse("leverage_check", value, "one of " + ", ".join(LEVERAGE_CHECKS))
    return value


def _account_state_dir(conf: dict[str, Any]) -> str | None:
    """The folder as an absolute path, ``~`` and environment variables expanded: bots started
    from different working folders must name the same file (a relative path would not)."""
    if "account_state_dir" not in conf:
        return None
    value = conf["account_state_dir"]
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise _refuse("account_state_dir", value, "a folder path (string)")
    unset = [
        a or b for a, b in re.findall(r"\$(\w+)|\$\{(\w+)\}", value) if (a or b) not in os.environ
    ]
    if unset:
        allowed = f"a folder path whose environment variables are set ({unset[0]} is not)"
        raise _refuse("account_state_dir", value, allowed)
    try:
        expanded = os.path.expandvars(Path(value).expanduser())
    except RuntimeError:  # no home folder for ~ (or ~user)
        raise _refuse("account_state_dir", value, "a folder path whose ~ names a home") from None
    # abspath, not resolve(): as written, with links kept, but ".." and the cwd taken out.
    return os.path.abspath(expanded)  # noqa: PTH100


def _account_state_name(conf: dict[str, Any]) -> str | None:
    if "account_state_name" not in conf:
        return None
    value = conf["account_state_name"]
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise _refuse("account_state_name", value, "a name (string) for the BingX account")
    return value


def _account_state_url(conf: dict[str, Any]) -> str | None:
    """A Redis URL; a plain ``redis://`` to a host other than loopback is warned about (its
    password and every row travel readable, and anyone who can write that Redis can make a bot
    trust a leverage BingX does not have). Quoted without its password."""
    if "account_state_url" not in conf:
        return None
    value = conf["account_state_url"]
    allowed = "a redis:// or rediss:// URL, e.g. rediss://redis.example:6380/0"
    if not isinstance(value, str) or not value.isprintable():
        raise _refuse("account_state_url", "(not shown)", allowed)
    parts = urlsplit(value.strip())
    shown = redis_store.shown_url(value.strip())
    host, db = parts.hostname, parts.path.strip("/")
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a port number
        port_ok = False
    bad_db = bool(db) and not db.isdigit()
    if parts.scheme not in ("redis", "rediss") or not host or not port_ok or bad_db:
        raise BingxSettingError(f"exchange.account_state_url must be {allowed}, not {shown!r}")
    from redis.connection import parse_url  # only with the setting

    try:
        parse_url(value.strip())  # its query options too (socket_timeout=...)
    except ValueError as e:  # redis-py's message names the option, never the password
        raise BingxSettingError(f"exchange.account_state_url {shown!r}: {e}") from None
    if parts.scheme == "redis" and not is_loopback_host(host):
        logger.warning(
            "exchange.account_state_url %s is plain redis:// to a host other than this machine: "
            "the Redis password and the account's state travel readable, and anyone who can "
            "write to that Redis can make a bot trust a leverage BingX does not have. Use "
            "rediss:// (TLS) and a password (AUTH), as the README says.",
            shown,
        )
    return value.strip()


def _credential(conf: dict[str, Any], name: str) -> str:
    value = conf.get(name)
    if value is None:
        return ""  # no key, or freqtrade blanked it (dry-run, backtesting)
    what = "secret" if name == "secret" else "API key"
    if not isinstance(value, str):
        raise BingxSettingError(
            f"exchange.{name}: the {what} must be a string, not {type(value).__name__} "
            "(value not shown)"
        )
    if any(c.isspace() or not c.isprintable() for c in value):
        raise BingxSettingError(
            f"exchange.{name}: the {what} contains a space, a line break or another "
            "invisible character (often a trailing newline from a file or an environment "
            "variable); BingX keys have none. Copy it again without it (value not shown)."
        )
    return value


def _refuse(name: str, value: Any, allowed: str) -> BingxSettingError:
    return BingxSettingError(f"exchange.{name} must be {allowed}, not {value!r}")

"""The plugin's exceptions: what went wrong with a BingX request, and a refused start.

Every failure of a BingX request (all carry method, path, and where known the BingX code, msg
and HTTP status; none carries the key, the secret, a signature or a signed URL)::

    BingxError
     +-- BingxRequestFailed   no answer: deadline passed, reply too large, refused or reset
     +-- BingxBadResponse     an answer that is not a BingX envelope: HTTP 4xx/5xx, not JSON
     +-- BingxRejected        an envelope with a non-zero ``code``
     +-- BingxBlocked         refused locally: BingX blocked this endpoint until ``until_ms``
     +-- BingxNoRoom          refused locally: no room in the account's shared budget in time

:mod:`freqtrade_bingx.bingx.errors` turns them into freqtrade's exceptions. A start the plugin
refuses raises :class:`BingxSettingError`.
"""

from freqtrade.exceptions import InvalidOrderException, OperationalException


# BingX's code for "rate limited" and "endpoint blocked until ..." (its rate-limit page).
RATE_LIMIT_CODE = 100410


class BingxError(Exception):
    def __init__(
        self,
        reason: str,
        *,
        method: str,
        path: str,
        code: int | None = None,
        msg: str = "",
        http_status: int | None = None,
    ) -> None:
        self.reason = reason
        self.method = method
        self.path = path
        self.code = code
        self.msg = msg
        self.http_status = http_status
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"BingX {self.method} {self.path}: {self.reason}"]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.msg:
            parts.append(f"msg {self.msg!r}")
        return ", ".join(parts)


class BingxRequestFailed(BingxError):
    """No usable answer. The request may or may not have reached BingX."""


class BingxBadResponse(BingxError):
    """BingX (or something in front of it) answered with something that is not an envelope."""


class BingxRejected(BingxError):
    """BingX answered with a non-zero ``code``."""


class BingxBlocked(BingxError):
    """Not sent: BingX said this endpoint is blocked until ``until_ms``."""

    def __init__(self, *, method: str, path: str, until_ms: int, msg: str = "") -> None:
        self.until_ms = until_ms
        super().__init__(
            f"endpoint blocked by BingX until {until_ms} (epoch ms), request not sent",
            method=method,
            path=path,
            code=RATE_LIMIT_CODE,
            msg=msg,
        )


class BingxNoRoom(BingxError):
    """Not sent: the account's rate budget, shared with the other bots on it, had no room for
    the request within :data:`BUDGET_WAIT_S`."""

    def __init__(self, *, method: str, path: str, waited_s: float) -> None:
        super().__init__(
            f"no room in this BingX account's rate budget (shared with the other bots on it) "
            f"within {waited_s:g} s, request not sent",
            method=method,
            path=path,
        )


class BingxSettingError(OperationalException):
    """The plugin refuses to start with this config (freqtrade exits with code 2).

    Every start-up refusal of the plugin raises this class, with one line naming the setting,
    the value (never a key or secret) and what is allowed.
    """


class LeverageMismatch(InvalidOrderException):
    """BingX confirmed another leverage than the one asked: the order is not placed, also where
    freqtrade accepts a failed leverage change (``accept_fail``: the orders that add to an open
    position), since freqtrade would size and risk it at the leverage it asked for."""

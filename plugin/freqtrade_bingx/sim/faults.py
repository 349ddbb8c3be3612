"""Fault injection for the fake BingX server.

A fault is queued by a test (or by another process through ``POST /_sim/fault``) and is
consumed by the next matching request(s). Faults exist so client code can be exercised
against the failure modes the real exchange shows: envelope error codes with HTTP 200,
HTTP 429/418/403/5xx, non-JSON bodies, stalls and dropped connections.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any


logger = logging.getLogger(__name__)

# Two of BingX's three 100410 texts, as its endpoint pages list them (older-export
# trading__place_order.md and every other endpoint's error table); the second names an absolute
# time in epoch milliseconds.
RATE_LIMITED_MSG = "rate limited"
UNBLOCK_MSG = (
    "code:100410:The endpoint trigger frequency limit rule is currently in the disabled "
    "period and will be unblocked after {unblock_ms}"
)
# BingX's rate-limit page (older-export general_information__rate_limit.md): "If the request is
# too frequent, the system will automatically restrict the request and recover after 5 minutes".
RATE_LIMIT_RECOVERY_S = 300.0


@dataclass
class Fault:
    """One queued failure for requests to ``path`` (and ``method`` if given).

    Precedence when answering: ``delay_s`` is always applied first; then ``reset`` drops the
    connection; else ``body`` is sent raw (with ``http_status`` or 200); else ``http_status``
    is sent (with a JSON envelope if ``code`` is set, a plain reason text otherwise); else
    ``code`` is sent as an envelope error with HTTP 200. A fault with only ``delay_s`` stalls
    and then lets the request be handled normally.

    ``params`` narrows the fault to requests carrying these parameter values (e.g. one
    symbol's entry orders). ``unblock_in_s`` makes ``msg`` name an unblock time that many
    seconds after the request arrived, in server epoch ms: ``{unblock_ms}`` in ``msg`` is
    replaced by it (an empty ``msg`` becomes BingX's "will be unblocked after" form).
    ``headers`` go out with the answer (e.g. ``Retry-After``, or the
    ``X-RateLimit-Requests-Remain`` / ``-Expire`` usage headers of BingX's rate-limit page).

    ``ignore_params`` answers the request normally, as if these parameters had not been sent
    (signed as they were): BingX ignoring a filter it documents, or a proxy stripping it, e.g.
    ``("startTime", "endTime")``.

    ``lose_reply`` handles the request as usual (an order is placed, a cancel done) and then
    drops the connection instead of answering: the reply lost on its way back, so the client
    cannot know what BingX did. A network fault, not a BingX reply.

    ``block_s`` keeps the endpoint refused after the fault fired: for that many seconds of
    server time every request of the same API key to the same method and path gets BingX's
    plain ``100410 "rate limited"``, which names no unblock time. BingX's rate-limit page says
    a restricted client recovers after 5 minutes: ``block_s=RATE_LIMIT_RECOVERY_S``.
    """

    path: str
    method: str | None = None
    code: int | None = None
    msg: str = ""
    http_status: int | None = None
    body: bytes | None = None
    delay_s: float = 0.0
    reset: bool = False
    times: int = 1
    params: dict[str, str] | None = None
    unblock_in_s: float | None = None
    headers: dict[str, str] | None = None
    block_s: float = 0.0
    ignore_params: tuple[str, ...] = ()
    lose_reply: bool = False

    def __post_init__(self) -> None:
        if self.method is not None:
            self.method = self.method.upper()
        if self.times < 1:
            raise ValueError("Fault.times must be >= 1")
        if self.delay_s < 0:
            raise ValueError("Fault.delay_s must be >= 0")
        if self.block_s < 0:
            raise ValueError("Fault.block_s must be >= 0")
        self.ignore_params = tuple(self.ignore_params)  # a JSON list from the control endpoint

    def matches(self, path: str, method: str, params: dict[str, str] | None = None) -> bool:
        if self.path != path or (self.method is not None and self.method != method.upper()):
            return False
        if self.params:
            given = params or {}
            return all(given.get(name) == str(value) for name, value in self.params.items())
        return True

    def message(self, now_ms: int) -> str:
        """``msg`` as sent for a request that arrived at ``now_ms`` (server time)."""
        if self.unblock_in_s is None:
            return self.msg
        template = self.msg or UNBLOCK_MSG
        return template.replace("{unblock_ms}", str(now_ms + int(self.unblock_in_s * 1000)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from the control endpoint's JSON (``body`` as a latin-1 string)."""
        fields = dict(data)
        body = fields.get("body")
        if isinstance(body, str):
            # latin-1 maps every byte 0-255 to one code point, so any raw body survives JSON.
            fields["body"] = body.encode("latin-1")
        allowed = set(cls.__dataclass_fields__)
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown Fault fields: {sorted(unknown)}")
        return cls(**fields)


class FaultQueue:
    """FIFO of faults; the first matching fault wins and loses one use per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[list[Any]] = []  # [fault, remaining uses]

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append([fault, fault.times])

    def take(self, path: str, method: str, params: dict[str, str] | None = None) -> Fault | None:
        with self._lock:
            for entry in self._faults:
                fault, remaining = entry
                if fault.matches(path, method, params):
                    remaining -= 1
                    if remaining <= 0:
                        self._faults.remove(entry)
                    else:
                        entry[1] = remaining
                    return fault
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(entry[1] for entry in self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

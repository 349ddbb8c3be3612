"""Business errors of the fake BingX server (shared by the server and its engines)."""

from __future__ import annotations


class ApiError(Exception):
    """A BingX business error: HTTP 200 (unless told otherwise) with a non-zero code."""

    def __init__(
        self,
        code: int,
        msg: str,
        http_status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.headers = headers or {}

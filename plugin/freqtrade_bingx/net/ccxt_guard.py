"""The plugin's network rules, applied to ccxt's own BingX objects (sync and async).

freqtrade sends most requests through ccxt, not through the plugin's transport. Each helper
here fits one rule onto a ccxt object right after freqtrade creates it:

- :func:`check_urls`: credentials go over https (wss) only, or plain http (ws) to loopback,
  in every URL section ccxt may use, not only the swap one, and through ccxt's URL-prefix
  proxy (``proxyUrl``), which receives the whole signed URL and the key header.
- :func:`bound_requests`: a deadline for each whole request, a cap on the reply's size and no
  redirects (sync: the ``requests`` session; async: aiohttp's total timeout already covers the
  look-up, connecting and the body, the cap and the refusal of redirects are added to its
  responses, and its host name look-ups go to bounded threads of their own).
- :func:`refuse_blocked` and :func:`note_blocks`: a block BingX announces in a reply to ccxt is
  recorded, and nothing goes to an endpoint BingX blocked, whoever learnt of the block.
- :func:`share_account_budget`: a signed request to an endpoint BingX limits per account waits
  (before it is signed) for room in the account's budget shared by every bot on this machine (see
  :mod:`freqtrade_bingx.state.account_budget`), as the plugin's own requests do.
- :func:`redact_verbose_log`: ccxt's ``verbose`` output (printed, not logged) loses keys and
  signatures as the log records do (see :mod:`freqtrade_bingx.net.redact`).
"""

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import ccxt

from freqtrade_bingx.bingx.failures import BingxNoRoom
from freqtrade_bingx.net.bounded_http import MAX_REPLY_BYTES, BoundedSession, start_lookup
from freqtrade_bingx.net.redact import redact
from freqtrade_bingx.net.throttle import BlockRegistry, endpoint_key
from freqtrade_bingx.net.transport import BUDGET_WAIT_S, check_base_url, is_loopback_host
from freqtrade_bingx.state.account_budget import AccountBudget, NoRoomInTime, Ticket


class RefusedReplyAsync(aiohttp.ClientConnectionError):
    """An aiohttp reply refused: over the size cap, or a redirect. A connection error, so ccxt
    raises a NetworkError (freqtrade: TemporaryError)."""


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class CappedClientResponse(aiohttp.ClientResponse):
    """An aiohttp response that refuses a body larger than ``max_bytes``, and a redirect.

    aiohttp follows redirects unless told otherwise, and ccxt does not tell it: a signed URL
    would go to whatever host the ``Location`` names. Raising here, as the headers come in,
    stops aiohttp before it sends anything there (the sync side never follows them either).
    """

    max_bytes = MAX_REPLY_BYTES

    async def start(self, connection: Any) -> "CappedClientResponse":
        await super().start(connection)
        if self.status in _REDIRECTS:
            self.close()  # drops the connection
            raise RefusedReplyAsync(
                f"HTTP {self.status} redirect not followed: a signed request goes only to the "
                "host it was signed for"
            )
        return self

    async def read(self) -> bytes:
        if self._body is None:
            limit = self.max_bytes
            if self.content_length is not None and self.content_length > limit:
                self.close()  # drops the connection
                raise RefusedReplyAsync(
                    f"reply of {self.content_length} bytes is over the {limit}-byte cap"
                )
            body = bytearray()
            try:
                async for chunk in self.content.iter_any():
                    body += chunk
                    if len(body) > limit:
                        raise RefusedReplyAsync(f"reply is over the {limit}-byte cap")
            except BaseException:
                self.close()
                raise
            self._body = bytes(body)
        return await super().read()


class BoundedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's host name look-ups in the plugin's look-up threads (bounded_http.py).

    aiohttp's default resolver runs getaddrinfo in the event loop's default executor: a DNS
    server that never answers leaves its threads stuck there (aiohttp's total timeout ends
    the request, not the look-up), where they hold up ``asyncio.to_thread`` work of the whole
    loop (the account budget's wait) and the interpreter's exit. Here look-ups of one name
    share a daemon thread, and only so many may be pending.
    """

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        infos = await asyncio.wrap_future(start_lookup(host, port, family))
        return [
            aiohttp.abc.ResolveResult(
                hostname=host,
                host=address[0],
                port=address[1],
                family=found_family,
                proto=proto,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for found_family, _kind, proto, _name, address in infos
            # As aiohttp's own resolver: an IPv6 address Python cannot use is left out.
            if found_family != socket.AF_INET6 or len(address) >= 3
        ]

    async def close(self) -> None:
        pass


def check_urls(api: Any) -> None:
    """Raise ValueError if any of ccxt's URLs would carry credentials over plain http (or ws)
    to anything but this machine. Checked after hostname substitution, in every URL set ccxt
    may send to: ``api``, ``test`` (sandbox, BingX's demo host) and ``apiBackup`` (the live set
    while sandbox mode is on), and in its URL-prefix proxy settings."""
    for name, tree in api.urls.items():
        if isinstance(tree, dict):
            for section, url in _urls(tree):
                _check(api, f"urls['{name}']['{section}']", url)
    for name in _PROXY_URL_SETTINGS:
        url = getattr(api, name, None)
        if isinstance(url, str) and url:
            _check(api, name, url)


# ccxt's URL-prefix proxy: the request goes to ``proxyUrl + target URL`` (query, signature and
# all, URL-encoded), with the key header. ``proxy`` is its older name (ccxt's
# check_proxy_url_settings); the callback forms cannot come from a JSON config.
_PROXY_URL_SETTINGS = ("proxyUrl", "proxy_url", "proxy")


def _urls(tree: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(tree, str):
        yield prefix, tree
    elif isinstance(tree, dict):
        for name, value in tree.items():
            yield from _urls(value, f"{prefix}.{name}" if prefix else str(name))


def _check(api: Any, where: str, url: str) -> None:
    url = api.implode_hostname(url)
    parts = urlsplit(url)
    if parts.scheme in ("ws", "wss"):
        if parts.scheme == "wss" or is_loopback_host(parts.hostname):
            return
        raise ValueError(
            f"Refusing ccxt's {where} = ws://{parts.hostname}: use wss "
            "(plain ws is only allowed to 127.0.0.1/localhost)"
        )
    try:
        check_base_url(url)
    except ValueError as e:
        raise ValueError(f"ccxt's {where}: {e}") from None


def bound_requests(api: Any, sync: bool) -> None:
    """Every ccxt request ends within ``api.timeout`` ms in all, with a reply of at most
    :data:`~freqtrade_bingx.net.bounded_http.MAX_REPLY_BYTES`, and goes to no other host."""
    if sync:
        session = BoundedSession()
        if api.session is not None:
            session.trust_env = api.session.trust_env
            api.session.close()
        api.session = session
        return
    open_session = api.open

    def open_capped(*args: Any, **kwargs: Any) -> Any:
        result = open_session(*args, **kwargs)
        session = api.session
        # ccxt makes its aiohttp session lazily, in open(); aiohttp's total timeout (ccxt's
        # ``timeout``) already bounds the body, the size cap and the refusal of redirects come
        # with the response class.
        if session is not None and session._response_class is aiohttp.ClientResponse:
            session._response_class = CappedClientResponse
            connector = session.connector
            # aiohttp's c-ares resolver (with aiodns) needs no threads: only the threaded one.
            if isinstance(getattr(connector, "_resolver", None), aiohttp.ThreadedResolver):
                connector._resolver = BoundedResolver()
        return result

    api.open = open_capped


def refuse_blocked(api: Any, sync: bool, blocks: BlockRegistry) -> None:
    """Wrap ``api.fetch``: an endpoint BingX blocked is refused before anything is sent, with
    ``ccxt.DDoSProtection`` (freqtrade's ``DDosProtection``: it backs off)."""
    fetch = api.fetch

    def refuse_if_blocked(url: str, method: str) -> None:
        _refuse_if_blocked(api, blocks, endpoint_key(method, urlsplit(url).path))

    if sync:

        def guarded_fetch(url, method="GET", headers=None, body=None):
            refuse_if_blocked(url, method)
            return fetch(url, method, headers, body)

    else:

        async def guarded_fetch(url, method="GET", headers=None, body=None):
            refuse_if_blocked(url, method)
            return await fetch(url, method, headers, body)

    api.fetch = guarded_fetch


def _refuse_if_blocked(api: Any, blocks: BlockRegistry, key: str) -> None:
    left = blocks.remaining_s(key)
    if left > 0:
        raise ccxt.DDoSProtection(
            f"{api.id} {key}: endpoint blocked by BingX for another {left:.0f} s "
            f"({blocks.reason(key)}), request not sent"
        )


_KEY_HEADER = "X-BX-APIKEY"  # ccxt's BingX sign(): on every private request, on no public one


def share_account_budget(
    api: Any,
    sync: bool,
    budget_for: Callable[[], AccountBudget | None],
    blocks: BlockRegistry,
    max_wait_s: float = BUDGET_WAIT_S,
) -> None:
    """Wrap ``api.fetch2``: a signed request to an endpoint the account's budget limits takes a
    slot before it is signed and sent, and settles it when its reply comes in or it fails.

    ``fetch2`` rather than ``fetch``: ccxt stamps the timestamp when it signs, and BingX refuses
    one older than recvWindow (5 s unless given; ccxt's BingX gives none). The first request of
    each kind is signed once beforehand only to learn its URL, and again by ccxt after the wait.

    ``budget_for()`` gives the budget (None: not shared, the request goes as before). No room
    within ``max_wait_s``: refused before sending with ``ccxt.DDoSProtection`` (freqtrade's
    ``DDosProtection``: it backs off and tries again later). Public requests (market data,
    limited per IP only) never touch the budget. The async object waits in a worker thread:
    the budget's wait and SQLite's lock on its file block, and freqtrade's event loop must not.

    An endpoint BingX blocked is refused here already (as :func:`refuse_blocked` does at
    sending): a request that cannot go must neither wait for room nor take a slot the other
    bots on the account could use.
    """
    fetch2 = api.fetch2
    endpoint = _SignedEndpoints(api)

    def take(key: str) -> tuple[AccountBudget, Ticket] | None:
        _refuse_if_blocked(api, blocks, key)
        budget = budget_for()
        if budget is None:
            return None
        method, _, path = key.partition(" ")
        try:
            ticket = budget.acquire(method, path, max_wait_s=max_wait_s)
        except NoRoomInTime:
            refused = BingxNoRoom(method=method, path=path, waited_s=max_wait_s)
            raise ccxt.DDoSProtection(str(refused)) from None
        return (budget, ticket) if ticket is not None else None

    if sync:

        def budgeted_fetch2(path, api_section="public", method="GET", params=None, config=None):
            key = endpoint(path, api_section, method, params)
            taken = take(key) if key else None
            try:
                return fetch2(path, api_section, method, _box(params), _box(config))
            finally:
                if taken:
                    taken[0].settle(taken[1])

    else:

        async def budgeted_fetch2(
            path, api_section="public", method="GET", params=None, config=None
        ):
            key = endpoint(path, api_section, method, params)
            taken = await asyncio.to_thread(take, key) if key else None
            try:
                return await fetch2(path, api_section, method, _box(params), _box(config))
            finally:
                if taken:
                    await asyncio.to_thread(taken[0].settle, taken[1])

    api.fetch2 = budgeted_fetch2


class _SignedEndpoints:
    """``"METHOD /openApi/..."`` of a signed ccxt request, None for a public one.

    ccxt's BingX builds a URL's path from the request's path, section and method alone (its
    base URL's path, the section, the version, the path), so each kind is signed once to learn
    it, not before every request (a signature and a URL cost ~70 µs). A path with parameters in
    it (``{...}``) is signed each time.
    """

    def __init__(self, api: Any) -> None:
        self._api = api
        self._known: dict[tuple[str, tuple, str], str | None] = {}

    def __call__(self, path: str, section: Any, method: str, params: Any) -> str | None:
        sections = tuple(section) if isinstance(section, list | tuple) else (section,)
        if "private" not in sections:
            return None  # ccxt's BingX names its signed sections "private"
        kind = (path, sections, method)
        if kind in self._known:
            return self._known[kind]
        # A copy: implicit methods may pass a list body, and sign() must change nothing.
        box = dict(params) if isinstance(params, dict) else params
        request = self._api.sign(path, section, method, {} if box is None else box)
        found = None
        if _KEY_HEADER in (request.get("headers") or {}):
            found = endpoint_key(request["method"], urlsplit(request["url"]).path)
        if "{" not in path:
            self._known[kind] = found
        return found


def _box(value: Any) -> Any:
    return {} if value is None else value  # ccxt's default for params and config


def note_blocks(api: Any, note: Callable[[str, str, Any, Any, Any], None]) -> None:
    """Wrap ``api.handle_errors`` (ccxt calls it on every reply, sync and async):
    ``note(method, url, http_status, headers, parsed_reply)`` first, then the handler."""
    handle_errors = api.handle_errors

    def noting_handler(http_status, reason, url, method, headers, body, response, *rest):
        note(method, url, http_status, headers, response)
        return handle_errors(http_status, reason, url, method, headers, body, response, *rest)

    api.handle_errors = noting_handler


def redact_verbose_log(api: Any) -> None:
    """ccxt's ``verbose`` mode prints every request with its headers: print them redacted."""
    log = api.log

    def redacted_log(*args: Any) -> None:
        log(*(redact(str(arg)) for arg in args))

    api.log = redacted_log

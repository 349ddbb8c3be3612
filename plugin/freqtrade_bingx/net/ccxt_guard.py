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
- :func:`run_through`: every request through the stages of :mod:`freqtrade_bingx.net.pipeline`,
  the ones the plugin's own requests pass: blocked endpoints refused, the account's budget, each
  reply judged by the error table, blocks and clock errors noted.
- :func:`redact_verbose_log`: ccxt's ``verbose`` output (printed, not logged) loses keys and
  signatures as the log records do (see :mod:`freqtrade_bingx.net.redact`).
"""

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import ccxt

from freqtrade_bingx.base.files import decode_json
from freqtrade_bingx.bingx.failures import BingxBlocked, BingxError, BingxNoRoom
from freqtrade_bingx.net.bounded_http import MAX_REPLY_BYTES, BoundedSession, start_lookup
from freqtrade_bingx.net.ccxt_errors import ccxt_error
from freqtrade_bingx.net.pipeline import RequestPipeline, Slot
from freqtrade_bingx.net.redact import redact
from freqtrade_bingx.net.throttle import endpoint_key
from freqtrade_bingx.net.transport import check_base_url, is_loopback_host


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


def run_through(api: Any, sync: bool, pipeline: RequestPipeline, *, judge: bool) -> None:
    """Send ``api``'s requests (a sync or async ccxt BingX object) through the pipeline's stages
    (:mod:`freqtrade_bingx.net.pipeline`), as the plugin's transport sends its own:

    1. ``fetch2`` (before ccxt signs): a signed request is admitted (a blocked endpoint refused,
       a slot of the account's budget taken) and its slot settled when its reply is in or it
       failed. Before signing, since ccxt stamps the timestamp when it signs and BingX refuses
       one older than recvWindow (5 s unless given; ccxt's BingX gives none).
    2. ``fetch`` (public requests too: their URL is known only here): a blocked endpoint refused.
    3. ``handle_errors`` (every reply): judged by the pipeline (``judge``: BingX's refusals
       raised as the ccxt exception the error table's freqtrade exception comes from), or, for
       spot, only what it says about blocks noted (ccxt's own mapping stays).

    Refused before sending (a block, no room in the budget): ``ccxt.DDoSProtection``
    (freqtrade's ``DDosProtection``: it backs off). The async object is admitted in a worker
    thread: the budget's wait and SQLite's lock on its file block, freqtrade's event loop must
    not.
    """
    stages = _CcxtStages(api, pipeline, judge)
    if sync:
        api.fetch2, api.fetch = _sync_fetch2(api.fetch2, stages), _sync_fetch(api.fetch, stages)
    else:
        api.fetch2, api.fetch = _async_fetch2(api.fetch2, stages), _async_fetch(api.fetch, stages)
    api.handle_errors = stages.judged
    # ccxt's parse_json reads a reply its parser refuses (ValueError) as no JSON; a reply it
    # reads but nested too deep for the code after it (a msg made of 1000 brackets, which str()
    # cannot print) is refused the same way, so it ends as any reply that is not an envelope.
    loads = api.on_json_response
    api.on_json_response = lambda text: decode_json(text, loads)


class _CcxtStages:
    """The pipeline's stages in ccxt's terms: its arguments in, its exceptions out."""

    def __init__(self, api: Any, pipeline: RequestPipeline, judge: bool) -> None:
        self._api = api
        self._endpoint = _SignedEndpoints(api)
        self._handle_errors = api.handle_errors
        self.pipeline = pipeline
        self._judge = judge

    def admit(self, path: str, section: Any, method: str, params: Any) -> Slot | None:
        key = self._endpoint(path, section, method, params)
        if key is None:
            return None  # public (limited per IP, not per account): refused at fetch if blocked
        method, _, url_path = key.partition(" ")
        try:
            return self.pipeline.admit(method, url_path)
        except (BingxBlocked, BingxNoRoom) as e:
            raise ccxt.DDoSProtection(f"{self._api.id} {e}") from None

    def refuse_if_blocked(self, url: str, method: str) -> None:
        try:
            self.pipeline.refuse_if_blocked(endpoint_key(method, urlsplit(url).path))
        except BingxBlocked as e:
            raise ccxt.DDoSProtection(f"{self._api.id} {e}") from None

    def judged(self, http_status, reason, url, method, headers, body, response, *rest):
        key = endpoint_key(method, urlsplit(url).path)  # never the query: it holds the signature
        if not self._judge:
            self.pipeline.note(key, http_status, headers, response)
            return self._handle_errors(
                http_status, reason, url, method, headers, body, response, *rest
            )
        try:
            self.pipeline.judge(key, http_status, headers, response, signed=True)
        except BingxError as e:
            raise ccxt_error(e) from None
        return None  # ccxt goes on with the reply


def _sync_fetch2(fetch2: Callable, stages: _CcxtStages) -> Callable:
    def admitted_fetch2(path, api_section="public", method="GET", params=None, config=None):
        slot = stages.admit(path, api_section, method, params)
        try:
            return fetch2(path, api_section, method, _box(params), _box(config))
        finally:
            if slot is not None:
                stages.pipeline.settle(slot)

    return admitted_fetch2


def _async_fetch2(fetch2: Callable, stages: _CcxtStages) -> Callable:
    async def admitted_fetch2(path, api_section="public", method="GET", params=None, config=None):
        admitting = asyncio.ensure_future(
            asyncio.to_thread(stages.admit, path, api_section, method, params)
        )
        try:
            slot = await asyncio.shield(admitting)
        except asyncio.CancelledError:
            # The request was called off while its slot was being taken (freqtrade's loop
            # stopping, a timeout around it): the thread still takes it, and nothing is sent,
            # so the slot is given back once taken (else it would count until it lapsed).
            admitting.add_done_callback(_give_back(stages.pipeline, asyncio.get_running_loop()))
            raise
        try:
            return await fetch2(path, api_section, method, _box(params), _box(config))
        finally:
            if slot is not None:
                await asyncio.to_thread(stages.pipeline.settle, slot)

    return admitted_fetch2


def _give_back(
    pipeline: RequestPipeline, loop: asyncio.AbstractEventLoop
) -> Callable[[asyncio.Future], None]:
    """A done-callback (it runs on the event loop) that gives the admitted slot back in a
    worker thread: the state file may make it wait, and the loop must not."""

    def give_back(admitting: asyncio.Future) -> None:
        if admitting.cancelled() or admitting.exception() is not None:
            # No slot to give back: none was taken, or the worker thread's answer was dropped
            # with the loop's tasks (then its slot counts until it lapses: longer, not shorter).
            return
        slot = admitting.result()
        if slot is not None:
            with contextlib.suppress(RuntimeError):  # the loop's executor is shut: it lapses
                loop.run_in_executor(None, pipeline.release, slot)

    return give_back


def _sync_fetch(fetch: Callable, stages: _CcxtStages) -> Callable:
    def guarded_fetch(url, method="GET", headers=None, body=None):
        stages.refuse_if_blocked(url, method)
        return fetch(url, method, headers, body)

    return guarded_fetch


def _async_fetch(fetch: Callable, stages: _CcxtStages) -> Callable:
    async def guarded_fetch(url, method="GET", headers=None, body=None):
        stages.refuse_if_blocked(url, method)
        return await fetch(url, method, headers, body)

    return guarded_fetch


_KEY_HEADER = "X-BX-APIKEY"  # ccxt's BingX sign(): on every private request, on no public one


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


def redact_verbose_log(api: Any) -> None:
    """ccxt's ``verbose`` mode prints every request with its headers: print them redacted."""
    log = api.log

    def redacted_log(*args: Any) -> None:
        log(*(redact(str(arg)) for arg in args))

    api.log = redacted_log

"""The plugin and ccxt's BingX objects on a hostile, slow or jittery network.

Servers of our own on 127.0.0.1 (``tests/hostile.py``) drip bytes, never end a chunked body or
announce a 1 GiB one; a relay adds 0-300 ms of jitter each way in front of the fake BingX.
Every request, by the plugin's transport or by ccxt (sync and async) through freqtrade's own
Exchange methods, must end within one deadline, keep little in memory, and leave no key or
signature in any log line.
"""

import json
import logging
import re
import threading
import time
import tracemalloc

import ccxt
import pytest
from freqtrade.enums import CandleType
from freqtrade.exceptions import DDosProtection, OperationalException, TemporaryError

from freqtrade_bingx.bingx.failures import (
    BingxBadResponse,
    BingxBlocked,
    BingxRejected,
    BingxRequestFailed,
)
from freqtrade_bingx.net import account
from freqtrade_bingx.net.throttle import MAX_BLOCK_S, PLAIN_RATE_LIMIT_BLOCK_S
from freqtrade_bingx.net.transport import BingxTransport
from freqtrade_bingx.sim import Fault
from tests.clocks import FakeClock
from tests.configs import config_file, futures_config, trade_config
from tests.conftest import (
    API_KEY,
    API_SECRET,
    LEVERAGE_PATH,
    TIME_PATH,
)
from tests.hostile import JitterProxy, LoopbackOnly, Socks5Proxy, hostile_server


PAIR = "BTC/USDT:USDT"
CONTRACTS_PATH = "/openApi/swap/v2/quote/contracts"
TICKER_PATH = "/openApi/swap/v2/quote/ticker"
DEADLINE_S = 1.0
# Thread scheduling on a loaded two-core machine; still far below any drip's natural end.
SLACK_S = 0.8
# Above the 32 MiB reply cap (the capped body is held once), far below the 1 GiB offered.
MEMORY_LIMIT = 80 * 1024 * 1024
BEHAVIOURS = ("drip_body", "drip_headers", "endless_chunked", "huge", "flood_chunked")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def bounded_call(call):
    """Run ``call``; returns (exception, seconds taken, peak traced memory in bytes)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        call()
    except Exception as e:  # noqa: BLE001 - returned to the test, which checks its class
        error = e
    else:
        error = None
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, elapsed, peak


def assert_bounded(error, elapsed, peak, expected, server) -> None:
    assert isinstance(error, expected), repr(error)
    assert elapsed < DEADLINE_S + SLACK_S, f"took {elapsed:.2f} s"
    assert peak < MEMORY_LIMIT, f"peak {peak / 2**20:.0f} MiB"
    assert server.served_bytes < MEMORY_LIMIT
    assert server.hung_up.wait(3), "the client kept the connection"


# ----------------------------------------------------------------------------- deadline, size
@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_transport_request_ends_by_its_deadline_with_a_capped_reply(behaviour):
    with hostile_server(behaviour) as server:
        transport = BingxTransport(
            API_KEY, API_SECRET, server.base_url, timeout=(DEADLINE_S, DEADLINE_S)
        )
        outcome = bounded_call(lambda: transport.request("GET", CONTRACTS_PATH, signed=False))
        assert_bounded(*outcome, BingxRequestFailed, server)
        assert re.search("deadline|cap", str(outcome[0]))


@pytest.mark.parametrize("behaviour", ("drip_body", "huge"))
def test_set_leverage_through_freqtrade_is_bounded(make_exchange, behaviour):
    exchange = make_exchange()
    with hostile_server(behaviour) as server:
        exchange.link.reset()  # rebuilt on the hostile host below
        exchange._api.urls["api"]["swap"] = server.base_url + "/openApi"
        exchange.bingx.timeout = (DEADLINE_S, DEADLINE_S)
        outcome = bounded_call(lambda: exchange._set_leverage(3, PAIR, side="buy", count=0))
        assert_bounded(*outcome, TemporaryError, server)


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_ccxt_sync_request_through_freqtrade_is_bounded(make_exchange, behaviour):
    exchange = make_exchange()
    with hostile_server(behaviour) as server:
        exchange._api.urls["api"]["swap"] = server.base_url + "/openApi"
        exchange._api.timeout = int(DEADLINE_S * 1000)
        outcome = bounded_call(lambda: exchange.fetch_ticker(PAIR, count=0))
        assert_bounded(*outcome, TemporaryError, server)


# aiohttp's total timeout (ccxt's ``timeout``) already covers the body: the drip cases guard
# that; the size cap is the plugin's.
@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_ccxt_async_request_through_freqtrade_is_bounded(make_exchange, behaviour):
    exchange = make_exchange()
    with hostile_server(behaviour) as server:
        exchange._api_async.urls["api"]["swap"] = server.base_url + "/openApi"
        exchange._api_async.timeout = int(DEADLINE_S * 1000)
        history = exchange._async_get_candle_history(PAIR, "1m", CandleType.FUTURES, count=0)
        outcome = bounded_call(lambda: exchange.loop.run_until_complete(history))
        assert_bounded(*outcome, TemporaryError, server)


def test_ccxt_async_name_look_ups_leave_the_event_loop_free(make_exchange, monkeypatch):
    """aiohttp's total timeout ends a request whose DNS server never answers, not the look-up:
    in the event loop's default executor, such look-ups held up everything else sent there
    (the account budget's wait, asyncio.to_thread) until the resolver gave up."""
    import asyncio
    import os
    import socket
    from functools import partial

    from freqtrade_bingx.net import bounded_http

    exchange = make_exchange()
    answer = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def silent_resolver(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".invalid"):  # answered here, when allowed
            answer.wait(10)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", silent_resolver)
    api = exchange._api_async
    api.timeout = 300  # ms
    # More names than the default executor has threads (Python's default size).
    names = min(32, (os.cpu_count() or 1) + 4) + 1
    try:
        for number in range(names):
            api.urls["api"]["swap"] = f"https://n{number}.invalid/openApi"
            candles = exchange._async_get_candle_history(PAIR, "1m", CandleType.FUTURES, count=0)
            started = time.monotonic()
            with pytest.raises(TemporaryError):
                exchange.loop.run_until_complete(candles)
            assert time.monotonic() - started < 0.3 + SLACK_S
        started = time.monotonic()
        exchange.loop.run_until_complete(asyncio.to_thread(partial(int, "1")))
        assert time.monotonic() - started < 0.5, "the loop's executor was held up"
        lookups = [t for t in threading.enumerate() if t.name == "bingx-http-lookup"]
        assert len(lookups) <= bounded_http.MAX_PENDING_LOOKUPS
    finally:
        answer.set()


# A SOCKS proxy (requests and urllib3 use one with PySocks installed, from the test extra): the
# plugin's transport takes it from the environment (ALL_PROXY, HTTPS_PROXY), ccxt's sync object
# from its socksProxy setting. The deadline covers the SOCKS handshake and the reply through it.
SOCKS_CASES = [("relay", "drip_body"), ("relay", "endless_chunked"), ("drip_handshake", "count")]


@pytest.fixture
def socks_env(monkeypatch):
    pytest.importorskip("socks", reason="PySocks is needed for SOCKS proxies (the test extra)")
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("proxy_behaviour, behaviour", SOCKS_CASES)
def test_a_request_through_a_socks_proxy_ends_by_its_deadline(
    socks_env, proxy_behaviour, behaviour
):
    with hostile_server(behaviour) as server, Socks5Proxy(proxy_behaviour) as proxy:
        socks_env.setenv("ALL_PROXY", proxy.url())
        transport = BingxTransport(
            API_KEY, API_SECRET, server.base_url, timeout=(DEADLINE_S, DEADLINE_S)
        )
        error, elapsed, _peak = bounded_call(
            lambda: transport.request("GET", CONTRACTS_PATH, signed=False)
        )
    assert proxy.targets == [("127.0.0.1", server.port)]  # it went through the proxy
    assert isinstance(error, BingxRequestFailed) and "deadline" in str(error), repr(error)
    assert elapsed < DEADLINE_S + SLACK_S, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("proxy_behaviour, behaviour", SOCKS_CASES)
def test_ccxt_sync_request_through_a_socks_proxy_is_bounded(
    socks_env, make_exchange, proxy_behaviour, behaviour
):
    with hostile_server(behaviour) as server, Socks5Proxy(proxy_behaviour) as proxy:
        exchange = make_exchange(exchange={"ccxt_sync_config": {"socksProxy": proxy.url()}})
        exchange._api.urls["api"]["swap"] = server.base_url + "/openApi"
        exchange._api.timeout = int(DEADLINE_S * 1000)
        error, elapsed, _peak = bounded_call(lambda: exchange.fetch_ticker(PAIR, count=0))
    assert ("127.0.0.1", server.port) in proxy.targets
    assert isinstance(error, TemporaryError), repr(error)
    assert elapsed < DEADLINE_S + SLACK_S, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("sync", [True, False])
def test_ccxt_never_follows_a_redirect_with_a_signed_request(make_exchange, sync):
    exchange = make_exchange()
    api = exchange._api if sync else exchange._api_async
    with (
        hostile_server("count") as elsewhere,
        hostile_server("redirect", location=elsewhere.base_url + "/steal") as server,
    ):
        api.urls["api"]["swap"] = server.base_url + "/openApi"
        if sync:
            call = exchange.get_balances
        else:
            call = lambda: exchange.loop.run_until_complete(api.fetch_balance())  # noqa: E731
        with pytest.raises((TemporaryError, ccxt.NetworkError)):
            call()
        assert server.connections >= 1 and elsewhere.connections == 0


# ----------------------------------------------------------------------------- rate limits
def test_concurrent_leverage_calls_never_overrun_bingx_under_jitter(fake_bingx, make_exchange):
    # BingX counts a request when it arrives. Four threads (freqtrade's loop, the API server's
    # force entries ...) set leverage through a relay adding 0-300 ms each way.
    limit, calls = 2, 3  # BingX's set-leverage figure (ccxt's cost table; its page says 5/s)
    fake_bingx.rate_limits[("POST", LEVERAGE_PATH)] = float(limit)
    exchange = make_exchange(exchange={"leverage_rate_limit": limit})
    errors: list[Exception] = []

    def entries(k: int) -> None:
        try:
            for leverage in range(20 + 10 * k, 20 + 10 * k + calls):
                exchange._set_leverage(leverage, ("BTC/USDT:USDT", "ETH/USDT:USDT")[k % 2])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    with JitterProxy(fake_bingx.port, max_delay=0.3) as proxy:
        exchange.link.reset()
        exchange._api.urls["api"]["swap"] = proxy.base_url + "/openApi"
        exchange.bingx.timeout = (3.0, 5.0)
        fake_bingx.clear_requests()
        fake_bingx.reset_rate_limits()
        threads = [threading.Thread(target=entries, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    posts = [r for r in fake_bingx.requests if r.path == LEVERAGE_PATH and r.method == "POST"]
    assert [r.code for r in posts] == [0] * 4 * calls
    arrivals = sorted(r.t for r in posts)
    # Never more than the limit in any one-second window, counted at the server.
    spans = [last - first for first, last in zip(arrivals, arrivals[limit:], strict=False)]
    assert min(spans) >= 1000, spans


def test_limiter_and_blocks_ignore_steps_of_the_wall_clock(fake_bingx):
    shift = [0.0]
    monotonic = FakeClock()
    transport = BingxTransport(
        API_KEY,
        API_SECRET,
        fake_bingx.base_url,
        rate_limits={("GET", TIME_PATH): 2.0},
        clock=lambda: time.time() + shift[0],
        monotonic=monotonic,
        sleep=monotonic.sleep,
    )
    for step in (0, -3600, 3600, -3600, 3600, 0):  # the system clock jumps an hour each way
        shift[0] = step
        transport.request("GET", TIME_PATH, signed=False)
    assert sum(monotonic.slept) == pytest.approx(2.0)  # six requests at 2/s, no more waiting

    shift[0] = 0
    fake_bingx.inject(Fault(TIME_PATH, code=100410, unblock_in_s=60))
    with pytest.raises(BingxRejected):
        transport.request("GET", TIME_PATH, signed=False)
    for step in (3600, -3600):
        shift[0] = step
        with pytest.raises(BingxBlocked):
            transport.request("GET", TIME_PATH, signed=False)
    monotonic.t += 58
    with pytest.raises(BingxBlocked):
        transport.request("GET", TIME_PATH, signed=False)
    monotonic.t += 3
    transport.request("GET", TIME_PATH, signed=False)
    assert fake_bingx.count(TIME_PATH, "GET") == 6 + 1 + 1


@pytest.mark.parametrize(
    "fault, seconds",
    [
        # One reply named an unblock time 32 years on; a block lasts 15 minutes at most.
        (Fault(LEVERAGE_PATH, code=100410, unblock_in_s=32 * 365 * 86400.0), MAX_BLOCK_S),
        (Fault(LEVERAGE_PATH, code=100410, unblock_in_s=90.0), 90.0),
        # "rate limited", nothing else: BingX's page says the client recovers after 5 minutes.
        (Fault(LEVERAGE_PATH, code=100410, msg="rate limited"), PLAIN_RATE_LIMIT_BLOCK_S),
        # ... unless its usage headers say when the window ends.
        (
            Fault(
                LEVERAGE_PATH,
                code=100410,
                msg="rate limited",
                headers={"X-RateLimit-Requests-Remain": "0", "X-RateLimit-Requests-Expire": "7000"},
            ),
            7.0,
        ),
        (Fault(LEVERAGE_PATH, http_status=429, headers={"Retry-After": "1000000000"}), MAX_BLOCK_S),
        (Fault(LEVERAGE_PATH, http_status=418, headers={"Retry-After": "120"}), 120.0),
        (
            Fault(
                LEVERAGE_PATH,
                http_status=429,
                headers={"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
            ),
            MAX_BLOCK_S,
        ),
    ],
)
def test_blocks_last_what_bingx_says_within_bounds(fake_bingx, fault, seconds):
    transport = BingxTransport(API_KEY, API_SECRET, fake_bingx.base_url)
    fake_bingx.inject(fault)
    with pytest.raises((BingxRejected, BingxBadResponse)):
        account.set_leverage(transport, "BTC-USDT", "BOTH", 3)
    left_ms = transport.blocked_until_ms("POST", LEVERAGE_PATH) - transport.server_now_ms()
    assert seconds * 1000 - 3000 <= left_ms <= seconds * 1000
    with pytest.raises(BingxBlocked):
        account.set_leverage(transport, "BTC-USDT", "BOTH", 3)
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1


def test_a_block_bingx_announces_to_ccxt_holds_for_ccxt_and_the_plugin(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.clear_requests()
    fake_bingx.inject(Fault(TICKER_PATH, code=100410, unblock_in_s=60))
    with pytest.raises(TemporaryError):  # freqtrade's retries never reach BingX again
        exchange.fetch_ticker(PAIR)
    assert fake_bingx.count(TICKER_PATH) == 1
    with pytest.raises(ccxt.DDoSProtection, match="not sent"):
        exchange.loop.run_until_complete(exchange._api_async.fetch_ticker(PAIR))
    with pytest.raises(BingxBlocked):
        exchange.bingx.request("GET", TICKER_PATH, {"symbol": "BTC-USDT"}, signed=False)
    assert fake_bingx.count(TICKER_PATH) == 1


def test_a_block_the_plugin_learns_holds_for_ccxt(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.inject(Fault(LEVERAGE_PATH, method="POST", code=100410, unblock_in_s=60))
    with pytest.raises(DDosProtection):
        exchange._set_leverage(3, PAIR, side="buy", count=0)
    with pytest.raises(ccxt.DDoSProtection, match="not sent"):
        exchange._api.set_leverage(3, PAIR, {"side": "BOTH"})
    assert fake_bingx.count(LEVERAGE_PATH, "POST") == 1


# ----------------------------------------------------------------------------- clock
@pytest.mark.parametrize("server_time", [0, -1_700_000_000_000, 32_503_680_000_000, 1])
def test_an_absurd_server_time_is_refused(fake_bingx, server_time):
    transport = BingxTransport(API_KEY, API_SECRET, fake_bingx.base_url)
    body = {"code": 0, "msg": "", "data": {"serverTime": server_time}}
    fake_bingx.inject(Fault(TIME_PATH, body=json.dumps(body).encode()))
    with pytest.raises(BingxBadResponse, match="more than a day|serverTime in ms"):
        transport.sync_time()
    assert not transport.clock_synced and transport.offset_ms == 0


def test_a_failing_time_endpoint_is_not_asked_on_every_request(fake_bingx):
    fake_bingx.rate_limits.clear()  # the client's limiter runs on the fake clock below
    monotonic = FakeClock()
    transport = BingxTransport(
        API_KEY, API_SECRET, fake_bingx.base_url, monotonic=monotonic, sleep=monotonic.sleep
    )
    fake_bingx.inject(Fault(TIME_PATH, http_status=503, times=100))
    expected = []
    for advance in (0, 0, 0, 31, 31, 30, 1):
        monotonic.t += advance
        account.get_position_mode(transport)  # goes out with the last known offset
        expected.append(fake_bingx.count(TIME_PATH, "GET"))
    # Read once, then after 30 s, then after 60 s more.
    assert expected == [1, 1, 1, 2, 2, 3, 3]
    fake_bingx.clear_faults()
    monotonic.t += 121
    account.get_position_mode(transport)
    assert fake_bingx.count(TIME_PATH, "GET") == 4 and transport.clock_synced


def test_the_async_nonce_never_reads_the_clock(fake_bingx, make_exchange):
    exchange = make_exchange()
    fake_bingx.clock_skew_ms = 30_000  # BingX's clock jumps: ccxt's next timestamp is refused
    with pytest.raises(ccxt.BaseError, match="80014"):
        exchange.loop.run_until_complete(exchange._api_async.fetch_balance())
    reads = fake_bingx.count(TIME_PATH, "GET")
    exchange._api_async.nonce()  # inside freqtrade's event loop: no request, the last offset
    assert fake_bingx.count(TIME_PATH, "GET") == reads
    assert "USDT" in exchange.get_balances()  # the sync path reads BingX's clock again
    assert fake_bingx.count(TIME_PATH, "GET") == reads + 1


# ----------------------------------------------------------------------------- secrets
def test_no_key_secret_or_signature_in_any_log_line(fake_bingx, make_exchange, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    for name in ("ccxt", "urllib3", "aiohttp", "asyncio", "freqtrade", "freqtrade_bingx"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    ccxt_config = {
        "urls": {"api": fake_bingx.ccxt_urls["api"]},
        "enableRateLimit": False,
        "verbose": True,
    }
    exchange = make_exchange(exchange={"ccxt_config": ccxt_config})
    assert exchange._api.verbose
    exchange.get_balances()  # signed, ccxt sync
    exchange.loop.run_until_complete(exchange._api_async.fetch_balance())  # signed, async
    exchange._set_leverage(3, PAIR, side="buy")  # signed, the plugin's transport
    printed = capsys.readouterr()
    lines = [
        caplog.text,
        *(r.getMessage() for r in caplog.records),
        *(r.exc_text or "" for r in caplog.records),
        printed.out,
        printed.err,
    ]
    text = "\n".join(lines)
    # The request lines were there: logged and printed, headers and signed URLs included.
    assert "X-BX-APIKEY" in caplog.text and "X-BX-APIKEY" in printed.out
    assert "signature=<redacted>" in caplog.text
    assert API_KEY not in text
    assert API_SECRET not in text
    assert not _HEX64.search(text)


def test_a_plain_http_ccxt_section_is_refused_before_anything_is_sent(fake_bingx, make_exchange):
    # Every request ccxt makes goes to this proxy, which only counts connections: had the
    # plain-http section been used, it would show here (and nothing leaves the machine).
    with hostile_server("count") as proxy:
        urls = dict(fake_bingx.ccxt_urls["api"], wallets="http://open-api.bingx.com/openApi")
        ccxt_config = {"urls": {"api": urls}, "enableRateLimit": False, "httpProxy": proxy.base_url}
        with pytest.raises(OperationalException, match=r"wallets.*Refusing"):
            make_exchange(exchange={"ccxt_config": ccxt_config})
        assert proxy.connections == 0


def test_a_plain_http_demo_section_is_refused(fake_bingx, make_exchange):
    # exchange.demo_trading switches ccxt to its 'test' URLs: those are checked too.
    test_urls = dict(fake_bingx.ccxt_urls["test"], swap="http://open-api-vst.bingx.com/openApi")
    ccxt_config = {"urls": {"api": fake_bingx.ccxt_urls["api"], "test": test_urls}}
    with pytest.raises(OperationalException, match=r"swap.*Refusing"):
        make_exchange(exchange={"ccxt_config": ccxt_config, "demo_trading": True})
    assert fake_bingx.requests == []


def _validated_exchange(server, tmp_path, ccxt_config: dict):
    """The exchange as ``freqtrade trade`` builds it from the shipped live config (freqtrade's
    resolver with validate=True: markets loaded, config checked)."""
    from freqtrade.resolvers import ExchangeResolver

    config = trade_config(config_file(server, tmp_path, ccxt_config))
    return ExchangeResolver.load_exchange(config, validate=True)


# ccxt's URL-prefix proxy gets the signed URL (query and signature) and the key header: over
# plain http to another machine, anyone on the way reads them. ``proxy`` is its older name.
@pytest.mark.parametrize("setting", ["proxyUrl", "proxy_url", "proxy"])
def test_a_plain_http_proxy_url_is_refused_before_anything_is_sent(fake_bingx, tmp_path, setting):
    with LoopbackOnly() as guard, pytest.raises(OperationalException) as raised:
        _validated_exchange(fake_bingx, tmp_path, {setting: "http://10.1.2.3:8080/"})
    # ccxt copies proxy_url to proxyUrl: the message may name either.
    assert re.search(r"ccxt's proxy\w*: Refusing .* http://10\.1\.2\.3", str(raised.value))
    assert guard.attempts == []  # no connection to 10.1.2.3 was even tried
    assert fake_bingx.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://localhost:9/", "https://p.test/"])
def test_a_proxy_url_over_https_or_to_loopback_is_allowed(fake_bingx, url):
    from freqtrade.resolvers import ExchangeResolver

    config = futures_config(fake_bingx)
    config["exchange"]["ccxt_config"]["proxyUrl"] = url
    with LoopbackOnly() as guard:
        # validate=False: ccxt 4.5's Python code refuses every request made with a proxyUrl
        # ("multiple conflicting proxy settings", before sending), so markets cannot load.
        exchange = ExchangeResolver.load_exchange(config, validate=False)
    try:
        assert exchange._api.proxyUrl == exchange._api_async.proxyUrl == url
    finally:
        exchange.close()
    assert guard.attempts == []


@pytest.mark.parametrize(
    "section, url, refused",
    [
        ("wallets", "https://open-api.{hostname}/openApi", False),
        ("wallets", "http://127.0.0.1:9/openApi", False),
        ("wallets", "http://localhost:9/openApi", False),
        ("wallets", "http://open-api.{hostname}/openApi", True),  # after hostname substitution
        ("copyTrading", "http://10.1.2.3/openApi", True),
        ("ws", {"linear": "ws://open-api-swap.bingx.com/swap-market"}, True),
        ("ws", {"linear": "wss://open-api-swap.bingx.com/swap-market"}, False),
        ("ws", {"linear": "ws://127.0.0.1:9/swap-market"}, False),
    ],
)
def test_every_ccxt_url_section_is_checked(section, url, refused):
    from freqtrade_bingx.net import ccxt_guard

    api = ccxt.bingx()
    api.urls["api"][section] = url
    if refused:
        with pytest.raises(ValueError, match=f"urls\\['api'\\]\\['{section}"):
            ccxt_guard.check_urls(api)
    else:
        ccxt_guard.check_urls(api)
    api.set_sandbox_mode(True)  # the live set waits in 'apiBackup': still checked
    if refused:
        with pytest.raises(ValueError, match=f"urls\\['apiBackup'\\]\\['{section}"):
            ccxt_guard.check_urls(api)


def test_records_of_any_logger_and_their_tracebacks_are_scrubbed(caplog):
    from freqtrade_bingx.net import redact

    key, signature, encoded = "k" * 64, "ab" * 32, "cd" * 32
    redact.install()
    redact.remember(key)
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("some.library.deep.child")  # no filter of ours on it or its parents
    log.debug("GET /openApi/x?a=1&signature=%s %s", signature, {"X-BX-APIKEY": "other-key-value"})
    # ccxt's URL-prefix proxy (proxyUrl) gets the signed URL URL-encoded: signature%3D<hex>.
    log.debug(
        "GET http://127.0.0.1:8/https%%3A%%2F%%2Fx%%2Fy%%3Fa%%3D1%%26signature%%3D%s", encoded
    )
    try:
        raise ValueError(f"https://x/openApi/y?signature={signature}&k={key}")
    except ValueError:
        log.exception("request failed")
    text = caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "request failed" in text and "Traceback" in text
    for secret in (key, signature, encoded, "other-key-value"):
        assert secret not in text


# ----------------------------------------------------------------------------- name look-up
# tests/netns_deadline.py runs in a network namespace of its own with only the loopback device
# (nothing can leave the machine), its /etc/hosts and /etc/resolv.conf bind-mounted over in a
# mount namespace of its own: a name with two addresses that never answer a connection, and a
# DNS server that never answers. One deadline must cover the look-up and every attempt.
NAMESPACE_HOSTS = """127.0.0.1 localhost
127.0.0.2 blackhole.bingx.test
127.0.0.3 blackhole.bingx.test
"""
# Long resolver timeouts (glibc's defaults), so that waiting for them shows.
NAMESPACE_RESOLV = "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n"
NAMESPACE_CASES = [
    f"{path}-{host}"
    for host in ("blackhole", "silent_dns")
    for path in ("plugin", "ccxt_sync", "ccxt_async")
] + ["plugin-socks_proxy_silent_dns", "ccxt_sync-socks_proxy_silent_dns"]


@pytest.fixture(scope="module")
def namespace_outcomes(tmp_path_factory) -> dict[str, dict]:
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    probe = ["unshare", "-n", "-m", "true"]
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed: no loopback-only network namespace")
    refused = subprocess.run(probe, capture_output=True, text=True, check=False)
    if refused.returncode != 0:
        pytest.skip(f"network namespaces not permitted here: {refused.stderr.strip()}")
    folder = tmp_path_factory.mktemp("netns")
    (folder / "hosts").write_text(NAMESPACE_HOSTS)
    (folder / "resolv.conf").write_text(NAMESPACE_RESOLV)
    (folder / "cache").mkdir()
    script = (
        "set -e; "
        'mount --bind "$1/hosts" /etc/hosts; mount --bind "$1/resolv.conf" /etc/resolv.conf; '
        'shift; exec "$@"'
    )
    root = Path(__file__).resolve().parents[1]
    path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "PYTHONPATH": path}
    command = ["unshare", "-n", "-m", "sh", "-c", script, "sh", str(folder)]
    command += [sys.executable, "-m", "tests.netns_deadline"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=180, cwd=root, env=env, check=False
    )
    outcomes = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            outcome = json.loads(line)
            outcomes[outcome["case"]] = outcome
    assert done.returncode == 0 and outcomes, done.stderr[-3000:]
    return outcomes


@pytest.mark.parametrize("case", NAMESPACE_CASES)
def test_one_deadline_covers_name_look_up_and_every_address(namespace_outcomes, case):
    from tests.netns_deadline import DEADLINE_S

    if "socks" in case:
        pytest.importorskip("socks", reason="PySocks is needed for SOCKS proxies (the test extra)")
    outcome = namespace_outcomes[case]
    # freqtrade's TemporaryError: its retrier tries again, the bot goes on.
    assert outcome["error"] == "freqtrade.exceptions.TemporaryError", outcome
    assert re.search("deadline|RequestTimeout", outcome["message"]), outcome
    # Two addresses that never answer took twice the deadline, a silent DNS server five times
    # (for the name of a SOCKS proxy too).
    assert DEADLINE_S - 0.1 < outcome["elapsed"] < DEADLINE_S + 1.0, outcome

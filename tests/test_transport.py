import threading

import pytest

from freqtrade_bingx.bingx import rate_limits
from freqtrade_bingx.bingx.failures import BingxRequestFailed
from freqtrade_bingx.bingx.rate_limits import RATE_LIMITS
from freqtrade_bingx.net.pipeline import RequestPipeline
from freqtrade_bingx.net.throttle import (
    MAX_BLOCK_S,
    MIN_BLOCK_S,
    PLAIN_RATE_LIMIT_BLOCK_S,
    BlockRegistry,
    endpoint_key,
    retry_after_s,
)
from freqtrade_bingx.net.transport import (
    DEFAULT_RATE_LIMITS,
    BingxTransport,
    check_base_url,
    sign,
    unblock_time_ms,
)
from freqtrade_bingx.state.account_budget import AccountBudget, local_budget
from tests.clocks import FakeClock
from tests.reference import bingx_page


API_KEY_T = "transport-test-key"
SECRET = "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"


def test_signature_known_answer_from_bingx_docs():
    payload = "symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6"
    assert sign(SECRET, payload) == (
        "4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf"
    )


@pytest.mark.parametrize(
    "msg, expected",
    [
        ("rate limited", None),
        (
            (
                "code:100410:The endpoint trigger frequency limit rule is currently in the "
                "disabled period and will be unblocked after 1727193814249"
            ),
            1727193814249,
        ),
        (
            (
                "over 20 error code:100202 requests within 480000 ms for this api, please "
                "verify and fix it ,can retry after time: 1727193970155"
            ),
            1727193970155,
        ),
    ],
)
def test_unblock_time_is_the_absolute_epoch_ms_in_the_message(msg, expected):
    # 480000 is a duration, not the unblock time: only the 13-digit epoch counts.
    assert unblock_time_ms(msg) == expected


DISABLED = "The endpoint trigger frequency limit rule is currently in the disabled period and "


@pytest.mark.parametrize(
    "msg, expected",
    [
        # Epoch milliseconds after 2033 start with 2 (and from 2286 on need 14 digits).
        (DISABLED + "will be unblocked after 2000000000000", 2000000000000),
        (DISABLED + "will be unblocked after 4102444800000", 4102444800000),  # 2100
        (DISABLED + "will be unblocked after 9999999999999", 9999999999999),
        ("can retry after time:1727193970155,", 1727193970155),  # glued to its punctuation
        ("within 480000 ms", None),  # a duration
        ("after 172719397015", None),  # 12 digits: no epoch in milliseconds
        ("after 17271939701550", None),  # 14 digits: microseconds, or garbage
        ("ids 1727193970155 and 1727193999999", 1727193999999),  # the last one
        ("", None),
    ],
)
def test_unblock_time_in_any_epoch_millisecond_form(msg, expected):
    assert unblock_time_ms(msg) == expected


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("120", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0 - 1445412000.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(value, seconds):
    assert retry_after_s(value, now_epoch_s=1445412000.0) == seconds


@pytest.mark.parametrize(
    "given, applied",
    [
        (32 * 365 * 86400.0, MAX_BLOCK_S),  # one reply really named a time 32 years on
        (MAX_BLOCK_S + 1, MAX_BLOCK_S),
        (float("inf"), MAX_BLOCK_S),
        (float("nan"), MAX_BLOCK_S),
        (60.0, 60.0),
        (0.0, MIN_BLOCK_S),  # an unblock time already past still pauses a moment
        (-3600.0, MIN_BLOCK_S),
    ],
)
def test_blocks_are_bounded(given, applied):
    clock = FakeClock()
    blocks = BlockRegistry(clock)
    key = endpoint_key("POST", "/openApi/swap/v2/trade/leverage")
    assert blocks.block(key, given, "test") == applied
    assert blocks.remaining_s(key) == applied
    clock.t += applied
    assert blocks.remaining_s(key) == 0


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ({}, PLAIN_RATE_LIMIT_BLOCK_S),
        ({"X-RateLimit-Requests-Remain": "0", "X-RateLimit-Requests-Expire": "2500"}, 2.5),
        ({"x-ratelimit-requests-remain": "0", "x-ratelimit-requests-expire": "2500"}, 2.5),
        # An absolute expiry in epoch ms, 4 s after BingX's "now".
        ({"X-RateLimit-Requests-Expire": str(1_800_000_004_000)}, 4.0),
        # Requests left in the window: the 100410 came from elsewhere; BingX's 5 minutes.
        (
            {"X-RateLimit-Requests-Remain": "3", "X-RateLimit-Requests-Expire": "2500"},
            PLAIN_RATE_LIMIT_BLOCK_S,
        ),
        ({"X-RateLimit-Requests-Expire": "a while"}, PLAIN_RATE_LIMIT_BLOCK_S),
    ],
)
def test_a_plain_rate_limit_reads_the_usage_headers(headers, seconds):
    blocks = BlockRegistry(FakeClock())
    key = endpoint_key("POST", "/openApi/swap/v2/trade/leverage")
    applied = blocks.note_rate_limit(key, "rate limited", headers, server_now_ms=1_800_000_000_000)
    assert applied == max(seconds, MIN_BLOCK_S)


def test_an_endpoint_is_its_method_and_path_wherever_the_host_puts_it():
    assert endpoint_key("post", "/prefix/openApi/swap/v2/trade/order") == (
        "POST /openApi/swap/v2/trade/order"
    )
    assert endpoint_key("DELETE", "/openApi/swap/v2/trade/order") != endpoint_key(
        "POST", "/openApi/swap/v2/trade/order"
    )


@pytest.mark.parametrize(
    "url",
    ["https://open-api.bingx.com", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"],
)
def test_credentials_go_over_https_or_to_loopback(url):
    check_base_url(url)


@pytest.mark.parametrize(
    "url", ["http://open-api.bingx.com", "http://10.0.0.5:8080", "ftp://127.0.0.1", "bingx.com"]
)
def test_plain_http_to_another_host_is_refused(url):
    with pytest.raises(ValueError, match="Refusing to send BingX credentials"):
        BingxTransport("key", "secret", url)


def test_repr_hides_key_and_secret():
    t = BingxTransport("my-api-key", "my-secret-value", "https://open-api.bingx.com")
    assert "my-secret-value" not in repr(t)
    assert "my-api-key" not in repr(t)


@pytest.mark.parametrize("timeout", [None, (3, None), (0, 5), ()])
def test_every_request_needs_a_timeout(timeout):
    with pytest.raises(ValueError, match="timeout"):
        BingxTransport("k", "s", "https://open-api.bingx.com", timeout=timeout)


def test_missing_credentials_are_refused():
    with pytest.raises(ValueError, match="key and secret"):
        BingxTransport("", "s", "https://open-api.bingx.com")


ENDPOINT = ("POST", "/openApi/swap/v2/trade/leverage")


def own_budget(per_second: float, clock: FakeClock) -> AccountBudget:
    """The limits a bot keeps on its own (no shared file): the budget, in this process's memory."""
    return local_budget({ENDPOINT: per_second}, lambda: round(clock() * 1000), clock.sleep)


def request_through(limiter: AccountBudget, clock: FakeClock, trip_s: float = 0.0) -> float:
    """One request: wait for a slot, then a round trip of ``trip_s``; returns the send time."""
    slot = limiter.acquire(*ENDPOINT)
    sent = clock.t
    clock.t += trip_s
    limiter.settle(slot)
    return sent


@pytest.mark.parametrize("per_second, calls, expected_elapsed", [(2, 10, 4.0), (5, 10, 1.0)])
def test_rate_limiter_spreads_a_burst_to_the_limit(per_second, calls, expected_elapsed):
    clock = FakeClock()
    limiter = own_budget(per_second, clock)
    times = [request_through(limiter, clock) for _ in range(calls)]
    assert clock.t - 1000.0 == pytest.approx(expected_elapsed)
    # No one-second window ever holds more than the limit.
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t - start < 1.0) <= per_second


def test_rate_limiter_does_not_wait_when_under_the_limit():
    clock = FakeClock()
    limiter = own_budget(2, clock)
    request_through(limiter, clock)
    clock.t += 0.6
    request_through(limiter, clock)
    clock.t += 0.6
    request_through(limiter, clock)
    assert clock.slept == []


def test_rate_limiter_counts_a_request_from_its_reply():
    # BingX counts a request when it arrives: a window opened by a slow request must be
    # measured from its reply, or the next burst reaches BingX less than a second later.
    clock = FakeClock()
    limiter = own_budget(2, clock)
    slots = [limiter.acquire(*ENDPOINT), limiter.acquire(*ENDPOINT)]
    clock.t += 0.3  # the round trip
    for slot in slots:
        limiter.settle(slot)
    clock.t += 0.2
    limiter.acquire(*ENDPOINT)
    assert clock.t == pytest.approx(1000.0 + 0.3 + 1.0)


def test_a_request_in_flight_holds_its_slot_until_its_reply():
    # Another caller may not take the slot while the first request is still travelling (it
    # may arrive at any moment), and the settle is not held up by the waiting caller.
    clock = FakeClock()
    limiter = own_budget(1, clock)
    first = limiter.acquire(*ENDPOINT)
    got_slot_at: list[float] = []
    waiter = threading.Thread(target=lambda: got_slot_at.append(request_through(limiter, clock)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and clock.slept == []  # waiting for the reply, not sleeping
    clock.t += 0.4  # the first request's round trip
    limiter.settle(first)
    waiter.join(2.0)
    assert got_slot_at == [pytest.approx(1000.0 + 0.4 + 1.0)]


def test_a_stamp_from_another_clock_in_the_own_budget_does_not_hang_the_next_request():
    # A stamp later than this clock can carry (the own budget adopted the shared budget's
    # stamps at a switch, and the two clocks differ) is dropped while the next request is
    # admitted. It was dropped through the in-memory store a second time, under its lock,
    # which is not re-entrant: every later request of the bot hung.
    clock = FakeClock()
    limiter = own_budget(5, clock)
    limiter.acquire(*ENDPOINT)
    clock.t -= 100  # the first stamp now lies 100 s in this clock's future
    answer: list = []
    second = threading.Thread(target=lambda: answer.append(limiter.acquire(*ENDPOINT)), daemon=True)
    second.start()
    second.join(5.0)
    assert not second.is_alive(), "the second request hung in the own budget"
    assert answer and answer[0] is not None


@pytest.mark.parametrize("per_second, capacity, window", [(2.5, 2, 1.0), (0.5, 1, 2.0)])
def test_a_fractional_limit_never_allows_more_than_its_whole_part_per_second(
    per_second, capacity, window
):
    clock = FakeClock()
    limiter = own_budget(per_second, clock)
    times = [request_through(limiter, clock) for _ in range(7)]
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t - start < window) <= capacity


def test_the_transport_keeps_to_its_own_limits_when_nothing_is_shared():
    # No shared budget (or its file failed, or is busy): the transport's own, the same budget
    # in memory, holds each request, one of the two and never both.
    clock = FakeClock()
    transport = BingxTransport(
        "k", "s", "https://open-api.bingx.com", monotonic=clock, sleep=clock.sleep
    )
    sent: list[float] = []
    transport._send = lambda *_args: sent.append(clock.t) or _Reply()
    for _ in range(5):
        transport.request(*ENDPOINT, {"symbol": "BTC-USDT"}, signed=False)
    assert transport.pipeline.budget is None
    assert sent == pytest.approx([1000.0, 1000.0, 1001.0, 1001.0, 1002.0])  # 2/s, from replies


def _stamps(budget: AccountBudget) -> int:
    return budget.store.run(lambda conn: conn.execute("SELECT COUNT(*) FROM stamps").fetchone()[0])


def test_a_request_takes_one_slot_the_shared_one_while_the_file_takes_it(tmp_path):
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    shared = AccountBudget(
        path, {ENDPOINT: 2}, clock_ms=lambda: round(clock() * 1000), sleep=clock.sleep
    )
    pipeline = RequestPipeline({ENDPOINT: 2}, monotonic=clock, sleep=clock.sleep)
    pipeline.budget = shared
    transport = BingxTransport("k", "s", "https://open-api.bingx.com", pipeline=pipeline)
    sent: list[float] = []
    transport._send = lambda *_args: sent.append(clock.t) or _Reply()
    own = transport.pipeline.local_budget
    assert isinstance(own, AccountBudget)  # the same component, in memory
    assert not own.store.shared

    for _ in range(2):
        transport.request(*ENDPOINT, {"symbol": "BTC-USDT"}, signed=False)
    assert (_stamps(shared), _stamps(transport.pipeline.local_budget)) == (2, 0)  # never both

    path.unlink()  # the shared file is lost: the bot's own limits hold its requests
    for _ in range(2):
        transport.request(*ENDPOINT, {"symbol": "BTC-USDT"}, signed=False)
    assert not shared.active
    # The 2/s hold across the switch: the two requests the shared budget let go count.
    assert sent == pytest.approx([1000.0, 1000.0, 1001.0, 1001.0])
    assert _stamps(transport.pipeline.local_budget) == 4


class _Reply:
    status_code = 200
    content = b'{"code": 0, "msg": "", "data": {}}'
    headers: dict = {}


def test_environment_proxies_are_read_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    t = BingxTransport("k", "s", "https://open-api.bingx.com")
    assert t.session.trust_env is False
    assert t.session.proxies.get("https") == "http://proxy.example:3128"


# --- the rate-limit table -------------------------------------------------------------------


def test_every_endpoint_the_plugin_sends_to_has_a_limit_with_its_page():
    from freqtrade_bingx.adapter import account_modes
    from freqtrade_bingx.net import account
    from freqtrade_bingx.tools import preflight

    plugin_rows = {(r.method, r.path): r for r in RATE_LIMITS if r.caller == rate_limits.PLUGIN}
    used = {
        ("GET", account.LEVERAGE),
        ("POST", account.LEVERAGE),
        ("GET", account.POSITION_MODE),
        ("POST", account.POSITION_MODE),
        ("GET", account.MARGIN_TYPE),
        ("POST", account.MARGIN_TYPE),
        ("GET", account.POSITIONS),
        ("GET", account.TIERS),
        ("GET", account.COMMISSION_RATE),
        ("GET", preflight.API_PERMISSIONS),
        ("POST", preflight.ORDER_TEST),
        ("GET", account_modes.ASSET_MODE),
    }
    assert set(plugin_rows) == used
    assert DEFAULT_RATE_LIMITS == {key: row.client_per_second for key, row in plugin_rows.items()}
    for row in RATE_LIMITS:
        assert row.page.startswith(("swapV2/", "account:")) and row.per_second > 0, row
        assert 0 < row.client_per_second <= row.per_second, row


@pytest.mark.parametrize(
    "method, path, page, client",
    [
        # The pages say 2/s for both reads (the plugin used to allow itself 5/s).
        ("GET", "/openApi/swap/v2/trade/marginType", 2, 2),
        ("GET", "/openApi/swap/v1/positionSide/dual", 2, 2),
        # Set leverage: the page says 5/s, ccxt's cost table 2/s: the client keeps the lower.
        ("POST", "/openApi/swap/v2/trade/leverage", 5, 2),
        ("GET", "/openApi/swap/v2/trade/leverage", 5, 5),
        ("POST", "/openApi/swap/v2/trade/marginType", 2, 2),
        ("GET", "/openApi/swap/v1/maintMarginRatio", 5, 5),
    ],
)
def test_figures_from_bingx_pages(method, path, page, client):
    assert rate_limits.page_limits()[(method, path)] == page
    assert DEFAULT_RATE_LIMITS[(method, path)] == client


def test_page_figures_match_the_stored_pages():
    for row in RATE_LIMITS:
        if row.path == "/openApi/v1/account/apiPermissions":
            continue  # BingX's common account section: not among the stored swap pages
        name = f"{row.method}{row.path}".lower().replace("/", "_") + ".md"
        text = bingx_page(name)
        assert f"rate limitation by UID: {row.per_second:g}/s" in text, name


def test_the_leverage_rate_limit_setting_still_overrides_the_table(fake_bingx, make_exchange):
    from freqtrade_bingx.net import account

    default = make_exchange()
    assert ("POST", account.LEVERAGE) in default.bingx.pipeline.local_budget.rates
    slower = make_exchange(exchange={"leverage_rate_limit": 0.5})
    assert slower.bingx.pipeline.local_budget.rates[("POST", account.LEVERAGE)].interval == 2000
    shared = slower.bingx.pipeline.budget
    assert shared.rates[("POST", account.LEVERAGE)].interval == 2000  # shared too
    assert ("GET", account.LEVERAGE) in slower.bingx.pipeline.local_budget.rates  # the rest stays


# --- the hot path: the same request on the wire as requests' own session would send ----------


@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "BTC-USDT", "side": "BOTH", "leverage": "5", "timestamp": "1667872120843"},
        {"clientOrderId": "a b&c=d/é", "price": "0.1+2", "empty": "", "tilde~dot.": "x\n"},
    ],
)
def test_query_is_encoded_exactly_as_urlencode(params):
    from urllib.parse import urlencode

    from freqtrade_bingx.net.transport import _form_encode

    assert _form_encode(params) == urlencode(params)


class _Recorder:
    """A loopback HTTP server that records each request's line and headers; may set a cookie."""

    def __init__(self, set_cookie: str = "") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                seen.append((self.command, self.path, sorted(self.headers.items())))
                body = b'{"code":0,"msg":"","data":{}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if set_cookie:
                    self.send_header("Set-Cookie", set_cookie)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/openApi/x?a=1&b=c%20d"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_bounded_session_sends_what_a_requests_session_sends():
    import requests

    from freqtrade_bingx.net.bounded_http import BoundedSession

    recorder = _Recorder()
    try:
        plain, ours = requests.Session(), BoundedSession()
        for session in (plain, ours):
            session.trust_env = False
            reply = session.request(
                "POST", recorder.url, headers={"X-BX-APIKEY": "k"}, timeout=(3, 5)
            )
            assert reply.json()["code"] == 0
            session.close()
    finally:
        recorder.close()

    assert recorder.seen[1] == recorder.seen[0]
    assert ("X-BX-APIKEY", "k") in recorder.seen[1][2]


def test_bounded_session_keeps_and_sends_back_cookies_as_a_session_does():
    from freqtrade_bingx.net.bounded_http import BoundedSession

    recorder = _Recorder(set_cookie="__cf_bm=abc; Path=/")
    try:
        session = BoundedSession()
        session.trust_env = False
        for _ in range(2):
            session.request("POST", recorder.url, timeout=(3, 5))
        session.close()
    finally:
        recorder.close()

    assert session.cookies.get("__cf_bm") == "abc"
    assert ("Cookie", "__cf_bm=abc") in recorder.seen[1][2]


def test_a_short_deadline_after_many_long_ones_still_holds():
    """The deadline thread is woken only for a deadline earlier than its next wake-up, and
    ended requests are dropped from its heap lazily: neither may delay a short deadline."""
    import time

    from freqtrade_bingx.net import bounded_http
    from tests.hostile import hostile_server

    watchdog = bounded_http._WATCHDOG
    for _ in range(1000):
        watchdog.stop(watchdog.start(time.monotonic() + 60))
    running = watchdog.start(time.monotonic() + 60)  # the thread now sleeps until this one
    try:
        assert len(watchdog._heap) <= watchdog.COMPACT_AT + 1
        with hostile_server("drip_body") as server:
            transport = BingxTransport(API_KEY_T, SECRET, server.base_url, timeout=(1.0, 1.0))
            started = time.monotonic()
            with pytest.raises(BingxRequestFailed, match="deadline"):
                transport.request("GET", "/openApi/swap/v2/quote/contracts", signed=False)
            assert time.monotonic() - started < 1.8
    finally:
        watchdog.stop(running)


def test_a_forked_child_closes_the_deadline_descriptors_it_inherited():
    """A child forked while a request runs gets the watchdog's duplicate descriptor too; it
    forgets the parent's requests, so it must close those copies (else it keeps the parent's
    connection open, and leaks a descriptor per request in flight at the fork)."""
    import os
    import socket
    import time

    from freqtrade_bingx.net import bounded_http

    watchdog = bounded_http._WATCHDOG
    ours, theirs = socket.socketpair()
    guard = watchdog.start(time.monotonic() + 60)
    try:
        watchdog.attach(ours)
        inherited = guard.fd
        assert inherited is not None
        pid = os.fork()
        if pid == 0:  # the child: only system calls, then out
            try:
                os.fstat(inherited)
            except OSError:
                os._exit(0)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child kept the parent's descriptor"
        os.fstat(inherited)  # the parent's copy stays until its request ends
    finally:
        watchdog.stop(guard)
        ours.close()
        theirs.close()


def test_name_look_ups_end_at_the_deadline_and_hold_a_bounded_number_of_threads(monkeypatch):
    """getaddrinfo cannot be interrupted: a request stops waiting for it at its deadline, one
    thread serves every request for the same name, and past MAX_PENDING_LOOKUPS names still
    unanswered a request fails at once instead of starting another thread. (The look-up in a
    real resolver that never answers: test_hostile_network.py, in a network namespace.)"""
    import socket
    import threading
    import time

    import requests

    from freqtrade_bingx.net import bounded_http

    answer = threading.Event()
    real_getaddrinfo = socket.getaddrinfo
    asked: list[str] = []

    def silent_resolver(host, *args, **kwargs):
        if host.endswith(".invalid"):  # never sent anywhere: answered here, when allowed
            asked.append(host)
            answer.wait(10)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", silent_resolver)
    session = bounded_http.BoundedSession()
    session.trust_env = False

    def lookup_threads() -> int:
        return sum(t.name == "bingx-http-lookup" for t in threading.enumerate())

    def timed_request(host: str) -> tuple[type, float]:
        started = time.monotonic()
        with pytest.raises(requests.RequestException) as raised:
            session.request("GET", f"https://{host}/openApi", timeout=(0.3, 0.3))
        return type(raised.value), time.monotonic() - started

    try:
        for host in ["same.invalid", "same.invalid"] + [
            f"n{i}.invalid" for i in range(1, bounded_http.MAX_PENDING_LOOKUPS)
        ]:
            error, elapsed = timed_request(host)
            assert error is bounded_http.ReplyDeadlineExceeded and elapsed < 0.8
        assert asked.count("same.invalid") == 1
        assert lookup_threads() == bounded_http.MAX_PENDING_LOOKUPS
        error, elapsed = timed_request("one-more.invalid")
        assert issubclass(error, requests.ConnectionError) and elapsed < 0.2
        assert "one-more.invalid" not in asked
    finally:
        answer.set()
        session.close()
    deadline = time.monotonic() + 5
    while lookup_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lookup_threads() == 0 and not bounded_http._LOOKUPS._pending

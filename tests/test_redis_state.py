"""The account's state on Redis (``exchange.account_state_url``): bots on several machines.

Every test runs a real ``redis-server`` on a free loopback port (tests/redis_server.py), with a
password (AUTH). The bots keep separate ``account_state_dir``s, as on separate machines: what
they share goes through Redis only. The fake BingX counts rate limits per account at arrival.
"""

import logging
import sys
import threading
import time
from pathlib import Path

import pytest

from freqtrade_bingx.adapter import settings
from freqtrade_bingx.bingx.failures import BingxBlocked, BingxSettingError
from freqtrade_bingx.sim import FakeBingx
from freqtrade_bingx.state import redis_store, state_store
from freqtrade_bingx.state.shared_settings import LEVERAGE, MARGIN_TYPE, Busy, Change
from tests import test_multi_bot as one_machine
from tests.configs import API_KEY as TEST_KEY
from tests.redis_server import RedisServer, SlowProxy


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from _bots import BotProcess
from _support import API_KEY, API_SECRET, contracts


LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
RATE_LIMITED = 100410
PASSWORD = "redis-test-pass-7f3a"


@pytest.fixture
def redis_srv():
    with RedisServer(password=PASSWORD) as server:
        yield server


@pytest.fixture
def quick_recovery(monkeypatch):
    """Redis is tried again 0.2 s after it failed (2 s in a real run)."""
    monkeypatch.setattr(redis_store, "DOWN_PAUSE_S", 0.2)


def _pause(seconds: float) -> None:
    """A real wait (make_exchange mocks time.sleep for freqtrade's back-off)."""
    threading.Event().wait(seconds)


def _store(server: RedisServer, account: str = "acct", url: str | None = None):
    return redis_store.RedisStore(url or server.url, account)


def _evalsha_calls(server: RedisServer) -> int:
    """Script calls Redis ran (not those it sent back for the script's text: NOSCRIPT)."""
    stats = server.client().info("commandstats").get("cmdstat_evalsha", {})
    return stats.get("calls", 0) - stats.get("rejected_calls", 0) - stats.get("failed_calls", 0)


# --- the store on its own -------------------------------------------------------------------


def test_two_bots_on_one_redis_share_one_budget(redis_srv):
    limits = {("POST", LEVERAGE_PATH): 2}
    first = redis_store.RedisBudget(_store(redis_srv), limits)
    second = redis_store.RedisBudget(_store(redis_srv), limits)
    started = time.monotonic()
    for budget in (first, second):  # one request each: the account's 2/s are used up
        budget.settle(budget.acquire("POST", LEVERAGE_PATH))
    assert time.monotonic() - started < 0.5

    second.settle(second.acquire("POST", LEVERAGE_PATH))

    # Admitted only once the first two left the one-second window, whichever bot sent them.
    assert 0.95 <= time.monotonic() - started < 1.6


def test_a_change_costs_one_script_call_with_its_slot_and_one_with_its_settle(redis_srv):
    store = _store(redis_srv)
    budget = redis_store.RedisBudget(store, {("POST", LEVERAGE_PATH): 5})
    mine = redis_store.RedisSettings(store, "bot-a")
    other = redis_store.RedisSettings(_store(redis_srv), "bot-b")
    change = Change(mine, LEVERAGE, "BTC-USDT", "LONG")
    calls = _evalsha_calls(redis_srv)

    ticket = budget.acquire("POST", LEVERAGE_PATH, also=change.claim_in)

    assert _evalsha_calls(redis_srv) == calls + 1
    assert other.read(LEVERAGE, "BTC-USDT", "LONG").value is None  # unknown while it travels
    change.answer(10)
    calls = _evalsha_calls(redis_srv)
    assert budget.settle(ticket, also=change.answer_in)
    assert _evalsha_calls(redis_srv) == calls + 1
    assert change.recorded
    assert other.read(LEVERAGE, "BTC-USDT", "LONG").value == "10"


def test_an_answer_after_another_bots_claim_leaves_the_setting_unknown(redis_srv):
    mine = redis_store.RedisSettings(_store(redis_srv), "bot-a")
    other = redis_store.RedisSettings(_store(redis_srv), "bot-b")
    seen = mine.claim(LEVERAGE, "BTC-USDT", "LONG")
    other.claim(LEVERAGE, "BTC-USDT", "LONG")  # another bot sends a change meanwhile

    assert not mine.confirm(LEVERAGE, "BTC-USDT", "LONG", 3, seen)
    assert other.read(LEVERAGE, "BTC-USDT", "LONG").value is None


def test_a_redis_restarted_empty_means_unknown_never_confirmed(redis_srv, caplog):
    mine = redis_store.RedisSettings(_store(redis_srv), "bot-a")
    other = redis_store.RedisSettings(_store(redis_srv), "bot-b")
    seen = mine.claim(MARGIN_TYPE, "BTC-USDT")
    assert mine.confirm(MARGIN_TYPE, "BTC-USDT", "", "ISOLATED", seen)
    assert other.read(MARGIN_TYPE, "BTC-USDT").value == "ISOLATED"
    seen = mine.claim(LEVERAGE, "BTC-USDT", "LONG")  # a request in flight ...

    redis_srv.stop()
    redis_srv.start()

    entry = other.read(MARGIN_TYPE, "BTC-USDT")
    assert entry is not None
    assert entry.value is None  # unknown: "never written" and "lost" look alike
    # ... answered after the restart: its claim is gone, so nothing is recorded.
    assert not mine.confirm(LEVERAGE, "BTC-USDT", "LONG", 5, seen)
    assert other.read(LEVERAGE, "BTC-USDT", "LONG").value is None
    assert "lost this account's keys" in caplog.text


def test_rows_of_an_earlier_epoch_are_not_trusted(redis_srv):
    # The epoch key alone lost (evicted): the rows written under it are unknown.
    mine = redis_store.RedisSettings(_store(redis_srv), "bot-a")
    seen = mine.claim(LEVERAGE, "BTC-USDT", "LONG")
    assert mine.confirm(LEVERAGE, "BTC-USDT", "LONG", 7, seen)
    redis_srv.client().delete("fb:{acct}:epoch")

    assert mine.read(LEVERAGE, "BTC-USDT", "LONG").value is None


def test_a_block_one_bot_met_is_honoured_by_another(redis_srv):
    from freqtrade_bingx.net.pipeline import RequestPipeline

    bots = []
    for _ in range(2):
        limits = {("POST", LEVERAGE_PATH): 2, ("GET", LEVERAGE_PATH): 5}
        pipeline = RequestPipeline(limits)
        shared = redis_store.RedisBlocks(_store(redis_srv), [f"POST {LEVERAGE_PATH}"])
        pipeline.blocks.shared = shared
        bots.append(pipeline)
    first, second = bots
    key = f"POST {LEVERAGE_PATH}"
    until = first.server_now_ms() + 30_000
    reply = {"code": RATE_LIMITED, "msg": f"rate limited, will be unblocked after {until}"}

    first.note(key, 200, {}, reply)

    with pytest.raises(BingxBlocked) as blocked:
        second.admit("POST", LEVERAGE_PATH)
    assert abs(blocked.value.until_ms - until) < 2000
    second.admit("GET", LEVERAGE_PATH)  # another endpoint is not blocked


def test_a_redis_gone_costs_no_wait_and_is_said_once(redis_srv, caplog, quick_recovery):
    store = _store(redis_srv)
    budget = redis_store.RedisBudget(store, {("POST", LEVERAGE_PATH): 2})
    mine = redis_store.RedisSettings(store, "bot-a")
    budget.settle(budget.acquire("POST", LEVERAGE_PATH))
    redis_srv.stop()
    caplog.set_level(logging.DEBUG, logger="freqtrade_bingx.state.redis_store")

    started = time.monotonic()
    for _ in range(3):
        assert budget.acquire("POST", LEVERAGE_PATH) is None  # the bot's own budget takes it
        with pytest.raises(Busy):  # no remembered setting is trusted
            mine.read(LEVERAGE, "BTC-USDT", "LONG")
    assert mine.claim(LEVERAGE, "BTC-USDT", "LONG") == 0  # sent anyway: the bot keeps trading
    assert time.monotonic() - started < 2 * redis_store.REDIS_TIMEOUT_S

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "could not be used" in warnings[0].getMessage()

    redis_srv.start()
    time.sleep(redis_store.DOWN_PAUSE_S)
    assert budget.acquire("POST", LEVERAGE_PATH) is not None  # shared again
    assert "answers again" in caplog.text


def test_a_change_sent_while_redis_was_gone_is_unknown_to_the_others_once_it_is_back(
    redis_srv, quick_recovery
):
    mine = redis_store.RedisSettings(_store(redis_srv), "bot-a")
    other = redis_store.RedisSettings(_store(redis_srv), "bot-b")
    seen = other.claim(LEVERAGE, "BTC-USDT", "LONG")
    assert other.confirm(LEVERAGE, "BTC-USDT", "LONG", 10, seen)
    # A network cut between this bot and Redis only (its store pauses; the others' do not).
    mine.store.run = _unreachable(mine.store.run)
    seen = mine.claim(LEVERAGE, "BTC-USDT", "LONG")
    with pytest.raises(Busy):
        mine.confirm(LEVERAGE, "BTC-USDT", "LONG", 3, seen)
    assert other.read(LEVERAGE, "BTC-USDT", "LONG").value == "10"  # not told yet: Redis was gone

    del mine.store.run  # the cut healed
    mine.read(MARGIN_TYPE, "BTC-USDT")  # this bot's next call to Redis writes its marks first

    assert other.read(LEVERAGE, "BTC-USDT", "LONG").value is None


def _unreachable(run):
    def cut(*_args, **_kwargs):
        raise state_store.StoreBusy("cut")

    return cut


def test_a_slow_redis_costs_at_most_its_timeout(redis_srv):
    proxy = SlowProxy(redis_srv.port)
    try:
        url = f"redis://:{PASSWORD}@127.0.0.1:{proxy.port}/0"
        store = _store(redis_srv, url=url)
        budget = redis_store.RedisBudget(store, {("POST", LEVERAGE_PATH): 2})
        mine = redis_store.RedisSettings(store, "bot-a")
        assert budget.acquire("POST", LEVERAGE_PATH) is not None
        proxy.delay_s = 3.0

        started = time.monotonic()
        assert budget.acquire("POST", LEVERAGE_PATH) is None
        with pytest.raises(Busy):
            mine.read(LEVERAGE, "BTC-USDT", "LONG")

        assert time.monotonic() - started < redis_store.REDIS_TIMEOUT_S + 0.3
    finally:
        proxy.close()


# --- settings and secrets -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379",
        "redis://",
        "redis://127.0.0.1:6379/zero",
        "redis://h:99999/0",
        5,
        "redis://:pw-xyz@127.0.0.1:6379/0?socket_timeout=abc",
    ],
)
def test_a_bad_account_state_url_is_refused_without_its_password(url):
    with pytest.raises(BingxSettingError, match="account_state_url") as refused:
        settings.from_config({"account_state_url": url})
    assert "pw-xyz" not in str(refused.value)


def test_a_refused_url_never_shows_its_password():
    with pytest.raises(BingxSettingError) as refused:
        settings.from_config({"account_state_url": "redis://:pw-xyz@h:notaport/0"})
    assert "pw-xyz" not in str(refused.value)


@pytest.mark.parametrize(
    "url, warned",
    [
        ("redis://:pw-xyz@redis.internal:6379/0", True),
        ("redis://:pw-xyz@10.0.0.5:6379/0", True),
        ("rediss://:pw-xyz@redis.internal:6380/0", False),
        ("redis://:pw-xyz@127.0.0.1:6379/0", False),
        ("redis://localhost:6379", False),
        ("redis://[::1]:6379/1", False),
    ],
)
def test_plain_redis_to_another_host_is_warned_about(url, warned, caplog):
    config = settings.from_config({"account_state_url": url})

    assert config.account_state_url == url
    said = [r.getMessage() for r in caplog.records if "account_state_url" in r.getMessage()]
    assert bool(said) == warned
    if warned:
        assert "trust a leverage BingX does not have" in said[0]
    assert "pw-xyz" not in caplog.text
    assert "pw-xyz" not in repr(config)


def test_keys_are_named_by_a_hash_and_the_password_is_shown_nowhere(
    make_exchange, fake_bingx, redis_srv, tmp_path, caplog, capsys
):
    from freqtrade_bingx.tools.cli import status

    bot = make_exchange(
        exchange={"account_state_url": redis_srv.url, "account_state_dir": str(tmp_path / "a")}
    )
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    client = redis_srv.client()
    keys = [k.decode() for k in client.keys("*")]
    account = state_store.account_id(TEST_KEY, bot.bingx.base_url)

    assert keys
    assert all(k.startswith(f"fb:{{{account}}}:") for k in keys)
    dumped = b"".join(client.dump(k) for k in keys)
    assert TEST_KEY.encode() not in dumped
    assert TEST_KEY not in " ".join(keys)
    lines = status(bot)
    assert any(f"127.0.0.1:{redis_srv.port}" in line and "reachable" in line for line in lines)
    reprs = [repr(bot.link.shared), repr(bot.link.pipeline.budget), repr(bot.link._settings)]
    for shown in (caplog.text, " ".join(lines), *reprs):
        assert PASSWORD not in shown
    redis_srv.stop()
    lines = status(bot)
    assert any("unreachable" in line for line in lines)
    assert PASSWORD not in " ".join(lines)
    assert not (tmp_path / "a").exists() or not list((tmp_path / "a").glob("*.sqlite"))


# --- bots in processes of their own, one Redis --------------------------------------------


@pytest.fixture(scope="module")
def bots_on_redis():
    """Three bot processes with separate state folders (as on three machines), one Redis."""
    with (
        RedisServer(password=PASSWORD) as redis_server,
        FakeBingx(accounts={API_KEY: API_SECRET}, contracts=contracts(one_machine.PAIRS)) as server,
    ):
        bots = [BotProcess(server, account_state_url=redis_server.url) for _ in range(3)]
        try:
            for bot in bots:
                bot.wait_ready()
            yield server, bots
        finally:
            for bot in bots:
                bot.stop()


# The same checks as bots on one machine sharing the SQLite file (test_multi_bot.py), here on
# three "machines" sharing only Redis.


def test_two_bots_on_two_machines_starting_together_draw_no_100410(bots_on_redis):
    one_machine.test_two_bots_starting_together_draw_no_100410(bots_on_redis)


def test_three_bots_on_three_machines_entering_together_draw_no_100410(bots_on_redis):
    one_machine.test_three_bots_entering_together_draw_no_100410(bots_on_redis)


def test_a_leverage_set_on_another_machine_is_set_again(bots_on_redis):
    one_machine.test_a_leverage_set_by_another_bot_process_is_set_again(bots_on_redis)


# --- a bot through freqtrade's hook, Redis stopped and restarted empty -----------------------


def _leverage_posts(fake) -> list[str]:
    return [
        r.params["leverage"] for r in fake.requests if (r.method, r.path) == ("POST", LEVERAGE_PATH)
    ]


def test_a_bot_trusts_no_leverage_while_redis_is_gone_nor_after_it_restarted_empty(
    make_exchange, fake_bingx, redis_srv, tmp_path, caplog, quick_recovery
):
    bot = make_exchange(
        exchange={"account_state_url": redis_srv.url, "account_state_dir": str(tmp_path / "a")}
    )
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    fake_bingx.clear_requests()
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    assert _leverage_posts(fake_bingx) == []  # confirmed and shared: nothing to send

    redis_srv.stop()
    started = time.monotonic()
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")

    # Set again before each entry (no memory trusted), on the bot's own limits, no long wait.
    assert _leverage_posts(fake_bingx) == ["3", "3"]
    assert time.monotonic() - started < 3 * redis_store.REDIS_TIMEOUT_S + 1.5
    said = [r for r in caplog.records if "could not be used" in r.getMessage()]
    assert [r.levelno for r in said if r.levelno >= logging.WARNING] == [logging.WARNING]

    redis_srv.start()  # empty: the leverage shared before is gone
    _pause(redis_store.DOWN_PAUSE_S)
    fake_bingx.clear_requests()
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    assert _leverage_posts(fake_bingx) == ["3"]  # unknown, never confirmed: set again
    fake_bingx.clear_requests()
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    assert _leverage_posts(fake_bingx) == []  # shared again
    assert "answers again" in caplog.text


def test_a_block_one_bot_met_stops_the_other_bots_requests(
    make_exchange, fake_bingx, redis_srv, tmp_path
):
    from freqtrade.exceptions import DDosProtection

    bot_a, bot_b = (
        make_exchange(
            exchange={"account_state_url": redis_srv.url, "account_state_dir": str(tmp_path / n)}
        )
        for n in "ab"
    )
    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")
    pipeline = bot_a.link.pipeline
    until = pipeline.server_now_ms() + 60_000
    # What bot A's judge stage notes from BingX's 100410 reply to its set-leverage.
    reply = {"code": RATE_LIMITED, "msg": f"rate limited, unblocked after {until}"}
    pipeline.note(f"POST {LEVERAGE_PATH}", 200, {}, reply)
    _pause(redis_store.BLOCKS_CACHE_S)  # bot B reads the blocks at most this often
    fake_bingx.clear_requests()

    with pytest.raises(DDosProtection, match="blocked"):
        bot_b._lev_prep("BTC/USDT:USDT", 5, "buy")

    assert _leverage_posts(fake_bingx) == []  # nothing sent to the blocked endpoint


@pytest.mark.parametrize("running", [True, False])
def test_preflight_says_which_redis_a_bot_shares_and_whether_it_answers(
    fake_bingx, redis_srv, tmp_path, capsys, running
):
    from tests.configs import config_file
    from tests.test_preflight import preflight

    config = config_file(fake_bingx, tmp_path, account_state_url=redis_srv.url)
    if not running:
        redis_srv.stop()

    _code, statuses, lines = preflight(capsys, fake_bingx, config)

    said = next(line for line in lines if "shared state: " in line)
    assert f"redis://127.0.0.1:{redis_srv.port}/0" in said
    assert statuses["shared state"] == ("PASS" if running else "WARN")
    assert ("unreachable" in said) != running
    assert PASSWORD not in "\n".join(lines)


def test_rows_this_plugin_did_not_write_are_unknown_never_an_error(redis_srv):
    # Anyone who can write to the Redis can write anything: read as unknown or as no block.
    mine = redis_store.RedisSettings(_store(redis_srv), "bot-a")
    blocks = redis_store.RedisBlocks(mine.store, [f"POST {LEVERAGE_PATH}"])
    mine.read(LEVERAGE, "BTC-USDT", "LONG")  # the epoch is made
    client = redis_srv.client()
    epoch = int(client.get("fb:{acct}:epoch"))
    version = epoch * redis_store.VERSION_SPAN + 5
    client.hset("fb:{acct}:confirmed", f"{LEVERAGE}|BTC-USDT|LONG", f"{version} 10x")
    client.hset("fb:{acct}:blocks", f"POST {LEVERAGE_PATH}", "soon\nno reason")

    assert mine.read(LEVERAGE, "BTC-USDT", "LONG").value is None
    assert blocks.remaining(f"POST {LEVERAGE_PATH}") == (0.0, "")


def test_a_bot_on_a_slow_redis_keeps_trading_within_its_deadline(
    make_exchange, fake_bingx, redis_srv, tmp_path
):
    proxy = SlowProxy(redis_srv.port)
    try:
        url = f"redis://:{PASSWORD}@127.0.0.1:{proxy.port}/0"
        bot = make_exchange(
            exchange={"account_state_url": url, "account_state_dir": str(tmp_path / "a")}
        )
        bot._lev_prep("BTC/USDT:USDT", 3, "buy")
        fake_bingx.clear_requests()
        proxy.delay_s = 5.0  # every Redis reply comes 5 s late: past the plugin's bound

        started = time.monotonic()
        bot._lev_prep("BTC/USDT:USDT", 3, "buy")
        bot._lev_prep("BTC/USDT:USDT", 3, "buy")

        # Set again (no memory trusted), and Redis cost at most one bound of 0.5 s.
        assert _leverage_posts(fake_bingx) == ["3", "3"]
        assert time.monotonic() - started < redis_store.REDIS_TIMEOUT_S + 1.0
    finally:
        proxy.close()

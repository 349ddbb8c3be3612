"""Several bots on one BingX account: one rate budget, and no leverage assumed from memory.

The fake BingX counts rate limits per account (API key) at arrival, as BingX counts them per
UID (sim/server.py ``_rate_check``). The bots are the plugin's exchange in separate processes
(bench/_bots.py), started together, sharing one state folder as bots on one machine do.
"""

import contextlib
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from freqtrade_bingx.sim import FakeBingx
from freqtrade_bingx.state import account_budget, shared_settings, state_store
from tests.clocks import FakeClock
from tests.configs import config_file, trade_config


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from _bots import start_bots, together
from _support import API_KEY, API_SECRET, contracts, pair, plugin_exchange


LEVERAGE_PATH = "/openApi/swap/v2/trade/leverage"
MARGIN_PATH = "/openApi/swap/v2/trade/marginType"
ORDER_PATH = "/openApi/swap/v2/trade/order"
RATE_LIMITED = 100410
# Market orders of 5 contracts at the fake's price of about 1 USDT: above BingX's 2 USDT minimum.
ORDER_AMOUNT = 5.0
ORDERS_PER_BOT = 7  # three bots: 21 orders, twice the account's 10 per second on the order page
PAIRS = 12
BURST_PAIRS = 3  # per bot: 3 margin-type GETs and POSTs and 3 leverage POSTs each


# --- the shared budget on its own ---------------------------------------------------------


def _budget(path: Path, clock: FakeClock, per_second: float = 2) -> account_budget.AccountBudget:
    return account_budget.AccountBudget(
        path, {("POST", LEVERAGE_PATH): per_second}, clock_ms=clock.now_ms, sleep=clock.sleep
    )


def test_two_budgets_on_one_file_share_one_limit(tmp_path):
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    first, second = _budget(path, clock), _budget(path, clock)
    for budget in (first, second):  # one request each: the account's 2/s are used up
        budget.settle(budget.acquire("POST", LEVERAGE_PATH))
    used_up_at = clock.ms

    second.settle(second.acquire("POST", LEVERAGE_PATH))

    # Admitted only once the first two left the one-second window, however they were shared.
    assert clock.ms - used_up_at >= 1000
    assert clock.ms - used_up_at < 1100


def test_a_forked_child_uses_a_connection_of_its_own(tmp_path):
    # SQLite's locks are per process: a child using its parent's connection corrupts the file
    # ("How To Corrupt An SQLite Database File", 2.6). The child opens its own, and leaves the
    # parent's open (closing it could checkpoint the parent's WAL under it).
    settings = shared_settings.SharedSettings(tmp_path / "account.sqlite", "parent")
    try:
        settings.read(shared_settings.LEVERAGE, "BTC-USDT", "LONG")
        parent = id(settings.store.connection())
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the child: report, then leave at once (no pytest teardown here)
            try:
                own = id(settings.store.connection()) != parent
                settings.confirm(shared_settings.LEVERAGE, "BTC-USDT", "LONG", 3, 0)
                settings.close()
                os.write(write, b"own" if own else b"parent's")
            finally:
                os._exit(0)
        os.close(write)
        answer = os.read(read, 16)
        os.close(read)
        os.waitpid(child, 0)
        assert answer == b"own"
        assert id(settings.store.connection()) == parent  # the parent's is still its own, open
        assert settings.read(shared_settings.LEVERAGE, "BTC-USDT", "LONG") is not None
    finally:
        settings.close()


def test_a_request_counts_until_its_reply_comes_in(tmp_path):
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    bot_a, bot_b = _budget(path, clock), _budget(path, clock)
    in_flight = [bot_a.acquire("POST", LEVERAGE_PATH), bot_a.acquire("POST", LEVERAGE_PATH)]
    replied_at = []

    def replies_come_in_after_5_s():
        if clock.ms - 1_000_000 >= 5000 and in_flight:
            replied_at.append(clock.ms)
            for ticket in in_flight:
                bot_a.settle(ticket)
            in_flight.clear()

    clock.on_sleep = replies_come_in_after_5_s

    bot_b.acquire("POST", LEVERAGE_PATH)

    # Slow replies: BingX may have counted them as late as their replies, so bot B waits a
    # whole window after those, not after the moment they were sent.
    assert replied_at
    assert clock.ms - replied_at[0] >= 1000


def test_a_removed_state_file_leaves_per_process_limits_and_says_so_once(tmp_path, caplog):
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    budget = _budget(path, clock)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    caplog.set_level(logging.WARNING, "freqtrade_bingx.state.account_budget")

    assert budget.acquire("POST", LEVERAGE_PATH) is None
    assert budget.acquire("POST", LEVERAGE_PATH) is None

    warnings = [r for r in caplog.records if "no longer shared" in r.getMessage()]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage()


def test_an_unusable_state_folder_is_said_once_and_the_bot_still_trades(
    make_exchange, fake_bingx, tmp_path, caplog
):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    caplog.set_level(logging.WARNING)
    exchange = make_exchange(exchange={"account_state_dir": str(blocker / "state")})
    fake_bingx.clear_requests()

    exchange._lev_prep("BTC/USDT:USDT", 3, "buy")
    exchange._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert exchange.bingx.pipeline.budget is None
    posts = [r for r in fake_bingx.requests if (r.method, r.path) == ("POST", LEVERAGE_PATH)]
    # Another bot's change could not be seen: the leverage is set again before every entry.
    assert [r.code for r in posts] == [0, 0]
    said = [r for r in caplog.records if "cannot be shared" in r.getMessage()]
    assert len(said) == 2  # the rate budget, and the confirmed settings: once each
    assert API_KEY not in caplog.text


def test_a_state_file_removed_while_running_means_setting_the_leverage_again(
    make_exchange, fake_bingx, tmp_path, caplog
):
    state = tmp_path / "state"
    bot = make_exchange(exchange={"account_state_dir": str(state)})
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    for file in state.iterdir():
        file.unlink()
    caplog.set_level(logging.WARNING)
    fake_bingx.clear_requests()

    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")

    posts = [r for r in fake_bingx.requests if (r.method, r.path) == ("POST", LEVERAGE_PATH)]
    assert [r.code for r in posts] == [0, 0]
    said = [r for r in caplog.records if "can no longer be seen" in r.getMessage()]
    assert len(said) == 1


def test_a_set_leverage_whose_answer_was_lost_is_trusted_by_no_bot(make_exchange, fake_bingx):
    from freqtrade.exceptions import TemporaryError

    from freqtrade_bingx.sim import Fault

    bot_a, bot_b = make_exchange(), make_exchange()
    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")
    # Bot B's request outlives its deadline (0.5 s here); BingX handles it afterwards.
    fake_bingx.inject(Fault(path=LEVERAGE_PATH, method="POST", delay_s=1.0))
    with pytest.raises(TemporaryError):
        bot_b.account_settings.ensure_leverage("BTC/USDT:USDT", 10, "buy")
    deadline = time.monotonic() + 5
    while fake_bingx.account().leverage[("BTC-USDT", "LONG")] != 10:
        assert time.monotonic() < deadline, "the delayed request was never handled"
        time.sleep(0.02)
    fake_bingx.clear_requests()

    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert ("POST", LEVERAGE_PATH) in [(r.method, r.path) for r in fake_bingx.requests]
    assert fake_bingx.account().leverage[("BTC-USDT", "LONG")] == 3


def test_the_state_file_is_named_by_a_hash_not_the_key(make_exchange, tmp_path):
    exchange = make_exchange(exchange={"account_state_dir": str(tmp_path / "state")})
    exchange._lev_prep("BTC/USDT:USDT", 3, "buy")

    names = [p.name for p in (tmp_path / "state").iterdir()]
    assert any(n.startswith("account-") and n.endswith(".sqlite") for n in names)
    assert not any(API_KEY in n for n in names)
    for file in (tmp_path / "state").iterdir():
        assert API_KEY.encode() not in file.read_bytes()


@pytest.fixture
def umask_022():
    """The usual umask, under which files are made readable by everyone unless asked not to."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.parametrize("left_by", [None, "an earlier version"])
def test_the_state_files_are_private_in_a_folder_that_existed(
    make_exchange, tmp_path, caplog, umask_022, left_by
):
    state = tmp_path / "state"
    state.mkdir()  # 0755: made by the user (or a Docker volume) before the bot started
    if left_by:  # an earlier version's files, made under the umask: readable by everyone
        older = make_exchange(exchange={"account_state_dir": str(state)})
        older._lev_prep("BTC/USDT:USDT", 3, "buy")
        for file in state.iterdir():
            file.chmod(0o644)
    caplog.set_level(logging.WARNING)

    bot = make_exchange(exchange={"account_state_dir": str(state)})
    bot._lev_prep("BTC/USDT:USDT", 5, "buy")  # SQLite's -wal and -shm files are in use now

    path = bot.bingx.pipeline.budget.path
    made = {p.name: stat.S_IMODE(p.stat().st_mode) for p in state.iterdir()}
    names = [path.name, f"{path.name}-wal", f"{path.name}-shm"]
    assert {name: made.get(name) for name in names} == dict.fromkeys(names, 0o600)
    assert set(made.values()) == {0o600}
    # The folder is the user's: left as it is, and said once.
    assert stat.S_IMODE(state.stat().st_mode) == 0o755
    said = [r.getMessage() for r in caplog.records if "open to other users" in r.getMessage()]
    assert len(said) == 1
    assert str(state) in said[0]


def test_a_state_folder_the_plugin_makes_is_private(make_exchange, tmp_path, umask_022):
    state = tmp_path / "new" / "state"
    bot = make_exchange(exchange={"account_state_dir": str(state)})
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in state.iterdir()} == {0o600}


def test_a_relative_cache_folder_is_ignored_for_the_default_state_folder(tmp_path, monkeypatch):
    # A relative XDG_CACHE_HOME would name another folder for each working folder (the XDG
    # specification says to ignore it).
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "cache")
    assert state_store.default_state_dir() == tmp_path / ".cache" / "freqtrade-bingx"


def test_bots_with_different_keys_of_one_account_share_a_named_state_file(make_exchange, tmp_path):
    # BingX counts per account (UID), and one account may have several API keys.
    state = {"account_state_dir": str(tmp_path / "state")}
    named = make_exchange(exchange={**state, "account_state_name": "main"})
    unnamed = make_exchange(exchange=state)

    def state_file_with_key(exchange, key):
        return exchange.link.state_path(key, exchange.bingx.base_url)

    assert state_file_with_key(named, "another-key") == named.bingx.pipeline.budget.path
    assert state_file_with_key(unnamed, "another-key") != unnamed.bingx.pipeline.budget.path
    assert named.bingx.pipeline.budget.path != unnamed.bingx.pipeline.budget.path
    assert "main" not in named.bingx.pipeline.budget.path.name


# --- leverage changed by another bot: in one process, the truth table -----------------------


@pytest.mark.parametrize(
    "check, same_machine, expected",
    [
        # (settings.leverage_check, bots share a state folder, bot A's requests on its next entry)
        ("shared", True, [("POST", LEVERAGE_PATH)]),
        ("shared", False, []),  # a bot elsewhere is not seen: the documented limit of "shared"
        (
            "read_before_entry",
            False,
            [("GET", MARGIN_PATH), ("GET", LEVERAGE_PATH), ("POST", LEVERAGE_PATH)],
        ),
    ],
)
def test_a_leverage_another_bot_set_is_never_assumed(
    make_exchange, fake_bingx, tmp_path, check, same_machine, expected
):
    folder_a = tmp_path / "a"
    folder_b = folder_a if same_machine else tmp_path / "b"
    if not same_machine:
        # Bots on two machines share no rate budget either (the README says so); what is
        # checked here is the leverage, so the account's limits are lifted for this case.
        fake_bingx.rate_limits.clear()
    bot_a = make_exchange(exchange={"leverage_check": check, "account_state_dir": str(folder_a)})
    bot_b = make_exchange(exchange={"leverage_check": check, "account_state_dir": str(folder_b)})
    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")
    bot_b._lev_prep("BTC/USDT:USDT", 10, "buy")
    fake_bingx.clear_requests()

    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert [(r.method, r.path) for r in fake_bingx.requests] == expected
    account_leverage = fake_bingx.account().leverage[("BTC-USDT", "LONG")]
    assert account_leverage == (10 if expected == [] else 3)


@pytest.mark.parametrize(
    "check, expected",
    [
        ("shared", []),
        ("read_before_entry", [("GET", MARGIN_PATH), ("GET", LEVERAGE_PATH)]),
    ],
)
def test_requests_per_entry_in_steady_state(make_exchange, fake_bingx, check, expected):
    bot = make_exchange(exchange={"leverage_check": check})
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    fake_bingx.clear_requests()

    for _ in range(3):
        bot._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert [(r.method, r.path) for r in fake_bingx.requests] == expected * 3


def test_two_bots_setting_at_once_leave_it_unknown_to_both(make_exchange, fake_bingx):
    from freqtrade_bingx.state import shared_settings as shared

    bot_a, bot_b = make_exchange(), make_exchange()
    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")
    # Bot B's POST lands between bot A reading the row's version and writing its own value.
    seen = bot_a.link.shared.version(shared.LEVERAGE, "BTC-USDT", "BOTH")
    bot_b._lev_prep("BTC/USDT:USDT", 10, "buy")

    assert not bot_a.link.shared.confirm(shared.LEVERAGE, "BTC-USDT", "BOTH", 3, seen)

    entry = bot_b.link.shared.read(shared.LEVERAGE, "BTC-USDT", "BOTH")
    assert entry.value is None
    fake_bingx.clear_requests()
    bot_b._lev_prep("BTC/USDT:USDT", 10, "buy")  # B's memory says 10x, the row says unknown
    assert [(r.method, r.path) for r in fake_bingx.requests] == [("POST", LEVERAGE_PATH)]


def test_a_request_overlapped_in_one_bot_leaves_the_row_unknown(make_exchange, fake_bingx):
    from freqtrade_bingx.state import shared_settings as shared

    bot_a, bot_b = make_exchange(), make_exchange()
    bot_b._lev_prep("BTC/USDT:USDT", 10, "buy")
    # Another of bot A's threads sets the same leverage meanwhile: which of the two BingX
    # handled last is unknown, so neither bot may trust a value for it.
    with bot_a.account_settings.leverage_confirmed.writing([("BTC-USDT", "BOTH")]):
        bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert bot_a.link.shared.read(shared.LEVERAGE, "BTC-USDT", "BOTH").value is None
    assert ("BTC-USDT", "BOTH") not in bot_a.account_settings.leverage_confirmed
    fake_bingx.clear_requests()
    bot_b._lev_prep("BTC/USDT:USDT", 10, "buy")  # B's memory says 10x, the row says unknown
    assert [(r.method, r.path) for r in fake_bingx.requests] == [("POST", LEVERAGE_PATH)]


def test_a_leverage_another_bot_wrote_meanwhile_is_not_remembered(
    make_exchange, fake_bingx, mocker
):
    from freqtrade_bingx.state import shared_settings as shared

    bot_a, bot_b = make_exchange(), make_exchange()
    bot_b._lev_prep("BTC/USDT:USDT", 10, "buy")
    # Bot B starts setting the leverage again while bot A's request, its row claimed, travels.
    send = bot_a.bingx._send

    def bot_b_claims_meanwhile(method, path, *rest):
        if (method, path) == ("POST", LEVERAGE_PATH):
            bot_b.link.shared.claim(shared.LEVERAGE, "BTC-USDT", "BOTH")
        return send(method, path, *rest)

    mocker.patch.object(bot_a.bingx, "_send", side_effect=bot_b_claims_meanwhile)
    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert ("BTC-USDT", "BOTH") not in bot_a.account_settings.leverage_confirmed
    mocker.stopall()
    fake_bingx.clear_requests()
    bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")
    assert [(r.method, r.path) for r in fake_bingx.requests] == [("POST", LEVERAGE_PATH)]


# --- bots in processes of their own ---------------------------------------------------------


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    """One fake account with BingX's per-account limits, and three bots sharing a folder."""
    state = tmp_path_factory.mktemp("shared-state")
    with FakeBingx(accounts={API_KEY: API_SECRET}, contracts=contracts(PAIRS)) as server:
        bots = start_bots(server, 3, account_state_dir=str(state))
        try:
            yield server, bots
        finally:
            for bot in bots:
                bot.stop()


def _codes(server) -> Counter:
    return Counter(r.code for r in server.requests)


def _pairs(server, first: int, n: int) -> list[str]:
    return [pair(c["symbol"]) for c in server.contracts[first : first + n]]


def test_two_bots_starting_together_draw_no_100410(account):
    server, (bot_a, bot_b, _) = account
    server.clear_requests()
    jobs = [
        [(p, 3, "buy") for p in _pairs(server, 0, BURST_PAIRS)],
        [(p, 4, "sell") for p in _pairs(server, BURST_PAIRS, BURST_PAIRS)],
    ]

    results = together([bot_a, bot_b], "lev_prep", jobs, timeout=60)

    assert [r["errors"] for r in results] == [[], []]
    assert _codes(server)[RATE_LIMITED] == 0
    sent = Counter((r.method, r.path) for r in server.requests)
    assert sent[("POST", LEVERAGE_PATH)] == 2 * BURST_PAIRS
    acct = server.account(API_KEY)
    for i, c in enumerate(server.contracts[: 2 * BURST_PAIRS]):
        assert acct.margin_type[c["symbol"]] == "ISOLATED"
        assert acct.leverage[(c["symbol"], "LONG")] == (3 if i < BURST_PAIRS else 4)


def test_three_bots_entering_together_draw_no_100410(account):
    server, bots = account
    entries = _pairs(server, 6, 2)
    server.clear_requests()
    jobs = [[(p, leverage, "buy") for p in entries] for leverage in (2, 5, 7)]

    results = together(bots, "lev_prep", jobs, timeout=60)

    assert [r["errors"] for r in results] == [[], [], []]
    assert _codes(server)[RATE_LIMITED] == 0


def test_a_leverage_set_by_another_bot_process_is_set_again(account):
    server, (bot_a, bot_b, _) = account
    (p,) = _pairs(server, 9, 1)
    symbol = p.split("/")[0] + "-USDT"
    bot_a.call("lev_prep", [(p, 3, "buy")])
    bot_b.call("lev_prep", [(p, 10, "buy")])
    assert server.account(API_KEY).leverage[(symbol, "LONG")] == 10
    server.clear_requests()

    result = bot_a.call("lev_prep", [(p, 3, "buy")])

    assert result["errors"] == []
    posts = [r for r in server.requests if (r.method, r.path) == ("POST", LEVERAGE_PATH)]
    assert [r.params["leverage"] for r in posts] == ["3"]
    assert server.account(API_KEY).leverage[(symbol, "LONG")] == 3
    server.clear_requests()
    bot_a.call("lev_prep", [(p, 3, "buy")])  # nothing changed since: nothing sent
    assert server.requests == []


def test_three_bots_placing_orders_at_once_keep_to_the_accounts_order_limit(account):
    server, bots = account
    own_pairs = _pairs(server, 10, 2) + _pairs(server, 8, 1)
    for bot, p in zip(bots, own_pairs, strict=True):  # leverage set: only orders in the burst
        assert bot.call("lev_prep", [(p, 3, "buy")])["errors"] == []
    server.clear_requests()
    jobs = [[(p, "buy", ORDER_AMOUNT, 3)] * ORDERS_PER_BOT for p in own_pairs]

    results = together(bots, "create_orders", jobs, timeout=60)

    assert [r["errors"] for r in results] == [[], [], []]
    orders = [r for r in server.requests if (r.method, r.path) == ("POST", ORDER_PATH)]
    assert [r.code for r in orders] == [0] * 3 * ORDERS_PER_BOT
    assert _codes(server)[RATE_LIMITED] == 0
    assert _most_in_one_second([r.t for r in orders]) <= server.rate_limits[("POST", ORDER_PATH)]


def _most_in_one_second(arrivals_ms: list[int]) -> int:
    """The most requests that arrived within one rolling second."""
    times = sorted(arrivals_ms)
    first, most = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - 1000:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- the same burst without the shared budget: it must fail (the test can fail) -------------


def test_without_the_shared_budget_three_bots_placing_orders_draw_100410(tmp_path):
    # Three bots sharing nothing (a state folder each, as on three machines): each keeps to the
    # account's figures on its own, and together they exceed them.
    ccxt_throttle_on = {"enableRateLimit": True}
    with FakeBingx(accounts={API_KEY: API_SECRET}, contracts=contracts(3)) as server:
        with contextlib.ExitStack() as stack:
            bots = [
                stack.enter_context(
                    plugin_exchange(
                        server,
                        account_state_dir=str(tmp_path / f"bot-{n}"),
                        ccxt_config={"urls": {"api": server.ccxt_urls["api"]}, **ccxt_throttle_on},
                    )
                )
                for n in range(3)
            ]
            own_pairs = _pairs(server, 0, 3)
            for bot, p in zip(bots, own_pairs, strict=True):
                bot._lev_prep(p, 3, "buy")
            server.clear_requests()
            threads = [
                threading.Thread(target=_place_orders, args=(bot, p))
                for bot, p in zip(bots, own_pairs, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        orders = [r for r in server.requests if (r.method, r.path) == ("POST", ORDER_PATH)]
        assert RATE_LIMITED in [r.code for r in orders]


def _place_orders(exchange, p: str) -> None:
    for _ in range(ORDERS_PER_BOT):
        try:
            exchange.create_order(
                pair=p, ordertype="market", side="buy", amount=ORDER_AMOUNT, rate=None, leverage=3
            )
        except Exception:  # noqa: BLE001  (the server's ledger is what is checked)
            continue


def test_without_the_shared_budget_two_bots_draw_100410(tmp_path, mocker):
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off
    with FakeBingx(accounts={API_KEY: API_SECRET}, contracts=contracts(2 * BURST_PAIRS)) as server:
        with (
            plugin_exchange(server, account_state_dir=str(tmp_path / "a")) as bot_a,
            plugin_exchange(server, account_state_dir=str(tmp_path / "b")) as bot_b,
        ):
            server.clear_requests()
            _set_leverage_at_once(server, bot_a, bot_b)
        assert _codes(server)[RATE_LIMITED] > 0


SECOND_KEY, SECOND_SECRET = "second-key-of-the-account", "second-secret-of-the-account"


@pytest.mark.parametrize("named", [True, False], ids=["account_state_name", "no-name"])
def test_two_keys_of_one_account_keep_to_its_limits_when_named(tmp_path, mocker, named):
    # BingX counts per account (UID), whichever of its API keys a request is signed with; the
    # plugin can only tell that two keys are one account from exchange.account_state_name.
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off
    shared = {"account_state_dir": str(tmp_path / "state")}
    if named:
        shared["account_state_name"] = "main account"
    with FakeBingx(
        accounts={API_KEY: API_SECRET},
        more_keys={SECOND_KEY: (SECOND_SECRET, API_KEY)},
        contracts=contracts(2 * BURST_PAIRS),
    ) as server:
        with (
            plugin_exchange(server, **shared) as bot_a,
            plugin_exchange(server, key=SECOND_KEY, secret=SECOND_SECRET, **shared) as bot_b,
        ):
            server.clear_requests()
            errors = _set_leverage_at_once(server, bot_a, bot_b)
        refused = _codes(server)[RATE_LIMITED]
        keys = {r.api_key for r in server.requests if r.path == LEVERAGE_PATH}
        acct = server.account(SECOND_KEY)

    assert keys == {API_KEY, SECOND_KEY}
    assert acct is server.account(API_KEY)
    if named:
        assert refused == 0
        assert errors == []
        for c in server.contracts[: 2 * BURST_PAIRS]:
            assert acct.leverage[(c["symbol"], "LONG")] == 3
    else:  # two budgets, one account: together over BingX's per-account limit
        assert refused > 0


def _set_leverage_at_once(server, bot_a, bot_b) -> list[str]:
    """Each bot sets 3x on pairs of its own, in two threads at once; the errors they got."""
    errors: list[str] = []
    threads = [
        threading.Thread(target=_try_all, args=(bot, _pairs(server, first, BURST_PAIRS), errors))
        for bot, first in ((bot_a, 0), (bot_b, BURST_PAIRS))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def _try_all(exchange, pairs: list[str], errors: list[str]) -> None:
    for p in pairs:
        try:
            exchange._lev_prep(p, 3, "buy")
        except Exception as e:  # noqa: BLE001  (the server's ledger is what is checked)
            errors.append(f"{p}: {e}")


@pytest.mark.parametrize(
    "per_second, limit, interval_ms", [(2, 2, 1000), (2.5, 2, 1000), (0.5, 1, 2000), (5, 5, 1000)]
)
def test_a_fractional_limit_is_never_rounded_up(per_second, limit, interval_ms):
    rate = account_budget._rate(per_second)
    assert (rate.limit, rate.interval) == (limit, interval_ms)


# --- the shared file's failures: each bot goes on alone, says so once, never freezes --------


class _HeldLock:
    """A bot stopped (SIGSTOP, docker pause) mid-transaction: SQLite's write lock on the file,
    held by another connection until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_a_lock_held_by_a_stuck_bot_does_not_freeze_this_one(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.3)
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    budget = _budget(path, clock)
    caplog.set_level(logging.DEBUG, "freqtrade_bingx.state.account_budget")
    held = _HeldLock(path)
    answers = []
    waiter = threading.Thread(target=lambda: answers.append(budget.acquire("POST", LEVERAGE_PATH)))
    waiter.start()
    waiter.join(timeout=5)
    started = time.monotonic()
    during_the_pause = budget.acquire("POST", LEVERAGE_PATH)
    pause_took = time.monotonic() - started
    held.release()

    assert not waiter.is_alive()
    assert answers == [None]  # this request: per-process limits only
    assert during_the_pause is None
    assert pause_took < state_store.SQLITE_TIMEOUT_S  # the file is left alone meanwhile
    clock.sleep(state_store.BUSY_PAUSE_S)
    ticket = budget.acquire("POST", LEVERAGE_PATH)
    assert isinstance(ticket, account_budget.Ticket)  # shared again
    assert budget.active
    budget.settle(ticket)

    held = _HeldLock(path)  # stuck again: said at DEBUG only
    assert budget.acquire("POST", LEVERAGE_PATH) is None
    held.release()

    busy = [r for r in caplog.records if "was busy for more than" in r.getMessage()]
    assert [r.levelno for r in busy] == [logging.WARNING, logging.DEBUG]
    assert not any("no longer shared" in r.getMessage() for r in caplog.records)
    clock.sleep(state_store.BUSY_PAUSE_S)
    assert budget.acquire("POST", LEVERAGE_PATH) is not None


def _budget_started_while_busy(path: Path, clock: FakeClock) -> account_budget.AccountBudget:
    """A bot starting while another holds the file's lock: its tables open after the pause."""
    held = _HeldLock(path)
    try:
        return _budget(path, clock)
    finally:
        held.release()


def test_a_bot_starting_while_the_lock_is_held_shares_the_budget_once_it_is_free(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.3)
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    running = _budget(path, clock)  # a bot already trading on the account
    caplog.set_level(logging.DEBUG, "freqtrade_bingx.state.account_budget")
    starting = _budget_started_while_busy(path, clock)
    assert starting.acquire("POST", LEVERAGE_PATH) is None  # per process meanwhile
    clock.sleep(state_store.BUSY_PAUSE_S)

    tickets = [budget.acquire("POST", LEVERAGE_PATH) for budget in (running, starting)]
    assert all(isinstance(t, account_budget.Ticket) for t in tickets)  # shared from now on
    for budget, ticket in zip((running, starting), tickets, strict=True):
        budget.settle(ticket)
    used_up_at = clock.ms
    starting.settle(starting.acquire("POST", LEVERAGE_PATH))
    assert clock.ms - used_up_at >= 1000  # the two bots' requests count against one limit
    assert starting.active
    said = [r.getMessage() for r in caplog.records]
    assert any("was busy for more than" in m for m in said)
    assert not any("no longer shared" in m or "cannot be shared" in m for m in said)


def _settings_started_while_busy(path: Path, clock: FakeClock) -> shared_settings.SharedSettings:
    """Bot "a" starting while another bot creating the file (or a backup) holds its lock: its
    table opens after the pause."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        return shared_settings.SharedSettings(path, "a", clock=clock)
    finally:
        other.execute("COMMIT")
        other.close()


def test_a_settings_file_busy_when_a_bot_starts_is_read_once_it_is_free(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.1)
    key = (shared_settings.LEVERAGE, "BTC-USDT", "LONG")
    path = tmp_path / "account.sqlite"
    clock = FakeClock()
    caplog.set_level(logging.DEBUG, "freqtrade_bingx.state.shared_settings")

    bot_a = _settings_started_while_busy(path, clock)  # starts anyway
    with pytest.raises(shared_settings.Busy):  # and trusts no memory meanwhile
        bot_a.read(*key)
    clock.sleep(state_store.BUSY_PAUSE_S)

    bot_b = shared_settings.SharedSettings(path, "b", clock=clock)
    assert bot_b.confirm(*key, 3, bot_b.claim(*key))
    assert bot_a.read(*key).value == "3"  # bot A sees what bot B confirmed
    assert bot_a.confirm(*key, 5, bot_a.claim(*key))
    assert bot_b.read(*key).value == "5"
    assert bot_a.active
    said = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING]
    assert not any("can no longer be seen" in r.getMessage() for r in caplog.records)


def _remove_state_file(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_a_state_file_replaced_while_a_starting_bot_waited_for_it_is_noticed(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.3)
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    starting = _budget_started_while_busy(path, clock)
    _remove_state_file(path)  # meanwhile the folder was cleared, and a later bot made the file
    later_bot = _budget(path, clock)
    clock.sleep(state_store.BUSY_PAUSE_S)
    caplog.set_level(logging.WARNING, "freqtrade_bingx.state.account_budget")

    # This bot's connection holds the removed file, which no other bot sees: not shared.
    assert starting.acquire("POST", LEVERAGE_PATH) is None
    assert not starting.active
    assert later_bot.acquire("POST", LEVERAGE_PATH) is not None
    assert sum("no longer shared" in r.getMessage() for r in caplog.records) == 1


def test_a_settings_file_replaced_while_a_starting_bot_waited_for_it_is_noticed(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.1)
    key = (shared_settings.LEVERAGE, "BTC-USDT", "LONG")
    path = tmp_path / "account.sqlite"
    clock = FakeClock()
    bot_a = _settings_started_while_busy(path, clock)
    _remove_state_file(path)  # meanwhile the folder was cleared, and bot B made the file
    bot_b = shared_settings.SharedSettings(path, "b", clock=clock)
    clock.sleep(state_store.BUSY_PAUSE_S)
    caplog.set_level(logging.WARNING, "freqtrade_bingx.state.shared_settings")

    # Bot A would write to the removed file, which bot B never reads: it trusts no memory.
    assert bot_a.read(*key) is None
    assert not bot_a.active
    assert bot_b.confirm(*key, 3, bot_b.claim(*key))
    assert sum("can no longer be seen" in r.getMessage() for r in caplog.records) == 1


def test_two_threads_finding_the_budget_unopened_open_it_once(tmp_path, monkeypatch):
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.3)
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    budget = _budget_started_while_busy(path, clock)
    clock.sleep(state_store.BUSY_PAUSE_S)
    store = budget.store
    opened = []
    open_schema = store.open_schema
    main_thread_opens, api_thread_done = threading.Event(), threading.Event()

    def slow_open(conn):
        """The main loop's thread opening the file, while the API server's thread comes in."""
        opened.append(threading.current_thread())
        main_thread_opens.set()
        assert api_thread_done.wait(5)
        open_schema(conn)

    monkeypatch.setattr(store, "open_schema", slow_open)
    answers = []

    def api_thread_request():
        assert main_thread_opens.wait(5)
        answers.append(budget.acquire("POST", LEVERAGE_PATH))
        api_thread_done.set()

    api_thread = threading.Thread(target=api_thread_request)
    api_thread.start()
    ticket = budget.acquire("POST", LEVERAGE_PATH)
    api_thread.join(timeout=5)

    assert isinstance(ticket, account_budget.Ticket)  # opened by the main thread, once
    assert answers == [None]  # meanwhile the other thread went on per process
    assert opened == [threading.main_thread()]  # a second open could find the file busy again
    assert isinstance(budget.acquire("POST", LEVERAGE_PATH), account_budget.Ticket)
    assert budget.active


def test_opening_after_a_wait_for_the_lock_keeps_the_requests_others_sent_meanwhile(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.3)
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    running = _budget(path, clock)
    running.settle(running.acquire("POST", LEVERAGE_PATH))
    starting = _budget_started_while_busy(path, clock)
    clock.sleep(state_store.BUSY_PAUSE_S)
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 5)  # for the opening thread's wait
    # The running bot holds the file's write lock: while the starting bot waits for it, two
    # seconds pass and the running bot lets a request go (in flight, its reply not in yet):
    # its stamp lies later than a bound read before the wait.
    running_bot = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    running_bot.execute("BEGIN IMMEDIATE")
    answers = []
    opening = threading.Thread(
        target=lambda: answers.append(starting.acquire("POST", LEVERAGE_PATH, max_wait_s=0))
    )
    opening.start()
    time.sleep(0.3)  # the starting bot is waiting for the lock now
    clock.sleep(2)
    in_flight_at = clock.ms + int(account_budget.IN_FLIGHT_S * 1000)
    running_bot.execute(
        "INSERT INTO stamps (endpoint, at, name) VALUES (?, ?, 'running-2')",
        (f"POST {LEVERAGE_PATH}", in_flight_at),
    )
    running_bot.execute("COMMIT")
    running_bot.close()
    opening.join(timeout=10)

    assert isinstance(answers[0], account_budget.Ticket)  # the file opened, its request went
    # The account's 2/s: the running bot's request in flight counts, it was not dropped as
    # a stamp of an earlier boot.
    with pytest.raises(account_budget.NoRoomInTime):
        starting.acquire("POST", LEVERAGE_PATH, max_wait_s=0)


def _busy_error(path: Path) -> sqlite3.OperationalError:
    """SQLite's own error when another connection holds the file's write lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError) as raised:
            writer.execute("INSERT INTO t VALUES (1)")
        return raised.value
    finally:
        holder.close()
        writer.close()


def _corrupt_error(path: Path) -> sqlite3.DatabaseError:
    path.write_bytes(b"not a database, " * 512)
    with pytest.raises(sqlite3.DatabaseError) as raised:
        sqlite3.connect(path).execute("SELECT 1 FROM sqlite_master").fetchall()
    return raised.value


def _replaced_error(path: Path) -> FileNotFoundError:
    path.write_bytes(b"")
    identity = state_store.file_identity(path)
    path.unlink()
    with pytest.raises(FileNotFoundError) as raised:
        state_store.check_same_file(path, identity)
    return raised.value


@pytest.mark.parametrize(
    "make_error, transient",
    [
        (_busy_error, True),
        (lambda _path: sqlite3.OperationalError("database table is locked"), True),  # no code
        (_corrupt_error, False),
        (_replaced_error, False),
        (lambda _path: sqlite3.OperationalError("disk I/O error"), False),
        (lambda path: PermissionError(13, "Permission denied", str(path)), False),
    ],
    ids=["sqlite-busy", "locked-no-code", "corrupt", "replaced", "io", "perm"],
)
def test_only_a_busy_file_is_a_passing_failure(tmp_path, make_error, transient):
    assert state_store.is_transient(make_error(tmp_path / "account.sqlite")) is transient


def _two_bots_sharing_settings(tmp_path, monkeypatch):
    """The leverage row's key, the file, a fake clock, and bots A and B sharing the file's
    settings (SQLite waits 0.1 s for a lock another connection holds)."""
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.1)
    key = (shared_settings.LEVERAGE, "BTC-USDT", "LONG")
    path = tmp_path / "account.sqlite"
    clock = FakeClock()
    bot_a = shared_settings.SharedSettings(path, "a", clock=clock)
    bot_b = shared_settings.SharedSettings(path, "b", clock=clock)
    return key, path, clock, bot_a, bot_b


def test_a_busy_settings_file_is_trusted_for_nothing_until_it_is_free_again(
    tmp_path, caplog, monkeypatch
):
    key, path, clock, bot_a, bot_b = _two_bots_sharing_settings(tmp_path, monkeypatch)
    assert bot_b.confirm(*key, 3, bot_b.claim(*key))
    caplog.set_level(logging.DEBUG, "freqtrade_bingx.state.shared_settings")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another bot, a backup: the file's write lock is held

    with pytest.raises(shared_settings.Busy):  # bot A is about to set 5x: no bot can be told,
        bot_a.claim(*key)  # so it must not send it
    with pytest.raises(shared_settings.Busy):  # nor trust any row, for a while
        bot_a.read(*key)
    other.execute("COMMIT")
    other.close()
    with pytest.raises(shared_settings.Busy):
        bot_a.read(*key)
    clock.sleep(state_store.BUSY_PAUSE_S)

    # Free again: nothing was sent meanwhile, so bot B's 3x still holds; the file is shared
    # as before.
    assert bot_a.active
    assert bot_a.read(*key).value == "3"
    assert bot_a.confirm(*key, 5, bot_a.claim(*key))
    assert bot_b.read(*key).value == "5"
    busy = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert [r.levelno for r in busy][:1] == [logging.WARNING]
    assert all(r.levelno == logging.DEBUG for r in busy[1:])
    assert not any("can no longer be seen" in r.getMessage() for r in caplog.records)


def test_an_answer_the_busy_file_did_not_take_leaves_the_row_unknown_once_it_is_free(
    tmp_path, monkeypatch
):
    key, path, clock, bot_a, bot_b = _two_bots_sharing_settings(tmp_path, monkeypatch)
    seen_a = bot_a.claim(*key)  # bot A sends 3x ...
    assert bot_b.confirm(*key, 10, bot_b.claim(*key))  # ... bot B sends 10x, answered first
    # Bot A's answer comes in while the file is busy: which of the two BingX handled last is
    # unknown, but bot B's row says 10x.
    with _write_locked(path), pytest.raises(shared_settings.Busy):
        bot_a.confirm(*key, 3, seen_a)
    clock.sleep(state_store.BUSY_PAUSE_S)

    bot_a.read(*key)  # the file is free again: the first statement through marks it

    assert bot_b.read(*key).value is None  # bot B sets its 10x again before its next entry


def _validated_bot(fake, state: Path, margin_mode: str = "isolated", **exchange):
    """A live bot as ``freqtrade trade`` builds it from the shipped live config (validated,
    markets loaded), sharing the state folder ``state``."""
    from freqtrade.resolvers import ExchangeResolver

    name = f"bot-{len(list(state.parent.glob('bot-*.json')))}.json"
    path = config_file(
        fake,
        state.parent,
        name=name,
        top={"margin_mode": margin_mode},
        account_state_dir=str(state),
        **exchange,
    )
    return ExchangeResolver.load_exchange(trade_config(path), validate=True)


def _buy(bot, leverage: float) -> dict:
    """freqtrade's create_order for an entry: margin type and leverage first, then the order."""
    return bot.create_order(
        pair="BTC/USDT:USDT",
        ordertype="market",
        side="buy",
        amount=0.01,
        rate=None,
        leverage=leverage,
    )


@contextlib.contextmanager
def _write_locked(path: Path):
    """Another process's SQLite write lock on the state file (a backup, an I/O stall, a bot
    stopped mid-transaction); readers go on, as SQLite's WAL mode lets them."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def short_file_waits(monkeypatch, mocker):
    """SQLite gives up on a held lock after 0.1 s (2 s in a real run); freqtrade's back-off is
    instant."""
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.1)
    mocker.patch("freqtrade.exchange.common.time.sleep")


def _sent(fake, method: str, path: str) -> list:
    return [r for r in fake.requests if (r.method, r.path) == (method, path)]


def test_a_leverage_change_is_not_sent_while_the_state_file_is_busy(
    fake_bingx, tmp_path, short_file_waits
):
    from freqtrade.exceptions import DependencyException, TemporaryError

    state = tmp_path / "state"
    bot_a, bot_b = _validated_bot(fake_bingx, state), _validated_bot(fake_bingx, state)
    clock = FakeClock()
    bot_b.link.shared.store.clock = clock
    try:
        _buy(bot_a, 3)
        _buy(bot_b, 3)
        fake_bingx.clear_requests()

        # freqtrade's retrier tries it again first, then it reaches freqtrade's loop.
        locked = _write_locked(Path(bot_a.shared_state_file()))
        with locked, pytest.raises(TemporaryError) as raised:
            _buy(bot_b, 10)
        # Nothing sent: bot A, whose memory says 3x, would trust the row's "3x" meanwhile.
        assert fake_bingx.requests == []
        assert "state file" in str(raised.value)
        # Also what freqtrade's enter_positions catches: this entry is skipped for this loop,
        # and tried again on the next while its signal lasts. The bot goes on.
        assert isinstance(raised.value, DependencyException)
        assert fake_bingx.account().leverage[("BTC-USDT", "LONG")] == 3

        clock.sleep(state_store.BUSY_PAUSE_S)  # the lock was let go: the retry goes through
        _buy(bot_b, 10)
        assert [r.params["leverage"] for r in _sent(fake_bingx, "POST", LEVERAGE_PATH)] == ["10"]
        fake_bingx.clear_requests()

        _buy(bot_a, 3)  # bot A sees bot B's 10x and sets its 3x again before its entry
        assert [r.params["leverage"] for r in _sent(fake_bingx, "POST", LEVERAGE_PATH)] == ["3"]
        assert fake_bingx.account().leverage[("BTC-USDT", "LONG")] == 3
    finally:
        bot_a.close()
        bot_b.close()


def test_a_settings_table_of_another_shape_fails_the_settings_alone(fake_bingx, tmp_path, caplog):
    # One store holds both tables, but a table this bot cannot use (another version of the
    # plugin made it) is no reason to stop sharing the account's rate budget: bots would then
    # together exceed BingX's limits. Only the settings stop being shared (said once).
    bot = _validated_bot(fake_bingx, tmp_path / "state")
    try:
        _buy(bot, 3)
        other_version = sqlite3.connect(bot.shared_state_file(), isolation_level=None)
        other_version.execute("DROP TABLE confirmed")
        other_version.execute("CREATE TABLE confirmed (kind TEXT, symbol TEXT, value TEXT)")
        other_version.close()
        caplog.set_level(logging.WARNING)

        _buy(bot, 5)  # the row cannot be read: the leverage is set again, trusted to no one

        assert not bot.link.shared.active
        assert bot.link.pipeline.budget.active
        assert bot.link.pipeline.budget.acquire("POST", LEVERAGE_PATH) is not None  # shared
        said = [r.getMessage() for r in caplog.records]
        assert sum("can no longer be seen" in m for m in said) == 1
        assert not any("no longer shared" in m for m in said)
    finally:
        bot.close()


def _entry_refused_while_the_file_is_busy(bot, leverage: int) -> float:
    """Seconds an entry at ``leverage`` took to be refused (TemporaryError, after freqtrade's
    tries) while another process holds the state file's write lock."""
    from freqtrade.exceptions import TemporaryError

    with _write_locked(Path(bot.shared_state_file())), pytest.raises(TemporaryError):
        started = time.monotonic()
        try:
            _buy(bot, leverage)
        finally:
            waited = time.monotonic() - started
    return waited


def test_a_busy_state_file_costs_an_entry_one_wait_not_one_per_table(
    fake_bingx, tmp_path, monkeypatch, mocker, caplog
):
    # The rate budget and the confirmed settings are two tables of one store: the wait for a
    # lock another process holds is made once, and both are left alone for the busy pause.
    # (Two stores on the file waited twice in freqtrade's loop: once for the request's slot,
    # once more for the setting's claim.)
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.2)
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off: instant
    bot = _validated_bot(fake_bingx, tmp_path / "state")
    waits = []  # each time SQLite gave up waiting for the lock
    is_transient = state_store.is_transient
    monkeypatch.setattr(
        state_store, "is_transient", lambda e: is_transient(e) and not waits.append(e)
    )
    try:
        assert bot.link.shared.store is bot.link.pipeline.budget.store
        _buy(bot, 3)
        fake_bingx.clear_requests()
        caplog.set_level(logging.WARNING)
        _entry_refused_while_the_file_is_busy(bot, 10)
        assert len(waits) == 1, f"waited {len(waits)} times for the lock"
        assert fake_bingx.requests == []
        said = [r.getMessage() for r in caplog.records]
        assert any("BingX rate limits" in m and "was busy" in m for m in said)
        assert any("could not be read" in m for m in said)  # each table says what it means
    finally:
        bot.close()


def test_a_request_refused_before_sending_gives_its_slot_back(
    fake_bingx, tmp_path, monkeypatch, mocker
):
    # The file busy, each of freqtrade's five tries of the entry takes a slot of the bot's own
    # budget (2 leverage changes a second) and is refused before sending (the other bots could
    # not be told). Nothing reached BingX: the slots are given back, so the tries do not wait
    # for each other's (a slot kept would hold them about 2 s).
    monkeypatch.setattr(state_store, "SQLITE_TIMEOUT_S", 0.2)
    mocker.patch("freqtrade.exchange.common.time.sleep")  # freqtrade's back-off: instant
    bot = _validated_bot(fake_bingx, tmp_path / "state")
    try:
        _buy(bot, 3)
        fake_bingx.clear_requests()
        waited = _entry_refused_while_the_file_is_busy(bot, 10)
        assert fake_bingx.requests == []
        assert waited < 1.2, f"the entry's tries waited {waited:.2f} s for slots of their own"
        assert bot.link.pipeline.local_budget.recent("POST", LEVERAGE_PATH) == []
    finally:
        bot.close()


def test_a_margin_type_change_is_not_sent_while_the_state_file_is_busy(
    fake_bingx, tmp_path, short_file_waits
):
    from freqtrade.exceptions import TemporaryError

    state = tmp_path / "state"
    bot_a = _validated_bot(fake_bingx, state)
    bot_b = _validated_bot(fake_bingx, state, margin_mode="cross")
    clock = FakeClock()
    bot_b.link.shared.store.clock = clock
    try:
        bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")  # isolated, confirmed in the file
        fake_bingx.clear_requests()

        with _write_locked(Path(bot_a.shared_state_file())), pytest.raises(TemporaryError):
            _buy(bot_b, 3)
        assert fake_bingx.requests == []
        assert fake_bingx.account().margin_type["BTC-USDT"] == "ISOLATED"

        clock.sleep(state_store.BUSY_PAUSE_S)
        _buy(bot_b, 3)
        assert [r.params["marginType"] for r in _sent(fake_bingx, "POST", MARGIN_PATH)] == [
            "CROSSED"
        ]
    finally:
        bot_a.close()
        bot_b.close()


@pytest.mark.parametrize("freed_during_the_wait", [False, True])
def test_a_position_mode_switch_at_start_up_waits_for_a_busy_state_file(
    fake_bingx, tmp_path, short_file_waits, monkeypatch, freed_during_the_wait
):
    from freqtrade.exceptions import OperationalException

    from freqtrade_bingx.adapter import leverage as plugin_exchange_module
    from tests.conftest import MODE_PATH

    monkeypatch.setattr(state_store, "BUSY_PAUSE_S", 0.2)
    monkeypatch.setattr(plugin_exchange_module, "MODE_CLAIM_WAIT_S", 1.5, raising=False)
    state = tmp_path / "state"
    running = _validated_bot(fake_bingx, state)  # a one-way bot, already trading
    path = Path(running.shared_state_file())
    fake_bingx.clear_requests()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    sent_while_held = []

    def let_go():
        sent_while_held.append(len(_sent(fake_bingx, "POST", MODE_PATH)))
        other.rollback()

    if freed_during_the_wait:
        threading.Timer(0.5, let_go).start()
    try:
        if freed_during_the_wait:
            started = _validated_bot(fake_bingx, state, position_mode="hedge")
            started.close()
            assert sent_while_held == [0]  # sent once the file took the mark, not before
            assert len(_sent(fake_bingx, "POST", MODE_PATH)) == 1
            assert fake_bingx.account().hedge_mode
        else:
            with pytest.raises(OperationalException, match="state file .* is busy"):
                _validated_bot(fake_bingx, state, position_mode="hedge")
            assert _sent(fake_bingx, "POST", MODE_PATH) == []
            assert not fake_bingx.account().hedge_mode
    finally:
        other.rollback()
        other.close()
        running.close()


class _ReadsBusy:
    """The settings' connection, with its reads (a SELECT on its own, not one inside a write
    transaction, which holds the lock already) answered by SQLite's busy error while ``busy``."""

    def __init__(self, conn: sqlite3.Connection, error: sqlite3.OperationalError) -> None:
        self.conn, self.error, self.busy = conn, error, True

    def execute(self, sql: str, args: tuple = ()):
        if self.busy and sql.startswith("SELECT") and not self.conn.in_transaction:
            raise self.error
        return self.conn.execute(sql, args)

    def __getattr__(self, name: str):
        return getattr(self.conn, name)


def test_an_entry_that_cannot_read_the_shared_row_sets_the_leverage_again(
    make_exchange, fake_bingx, tmp_path, caplog, monkeypatch
):
    # In WAL mode a write lock blocks no reader: a read is busy only while a stopped bot holds
    # SQLite's own recovery lock. The error is SQLite's real one, raised for the reads.
    monkeypatch.setattr(state_store, "BUSY_PAUSE_S", 0)
    bot = make_exchange(exchange={"account_state_dir": str(tmp_path / "state")})
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    store = bot.link.shared.store
    reads = _ReadsBusy(store.connection(), _busy_error(tmp_path / "other.sqlite"))
    monkeypatch.setattr(store, "connection", lambda: reads)
    caplog.set_level(logging.WARNING)
    fake_bingx.clear_requests()

    bot._lev_prep("BTC/USDT:USDT", 3, "buy")  # its memory says 3x: not trusted unread
    reads.busy = False
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")  # read again: the shared row agrees
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")

    posts = [r for r in fake_bingx.requests if (r.method, r.path) == ("POST", LEVERAGE_PATH)]
    assert [r.code for r in posts] == [0]
    assert bot.link.shared.active
    said = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(said) == 1
    assert not any("can no longer be seen" in r.getMessage() for r in caplog.records)


def test_a_state_file_created_again_by_a_later_bot_is_noticed(tmp_path, caplog):
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    budget = _budget(path, clock)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    later_bot = _budget(path, clock)  # its file has the old name, not this bot's connection
    caplog.set_level(logging.WARNING, "freqtrade_bingx.state.account_budget")

    assert budget.acquire("POST", LEVERAGE_PATH) is None
    assert later_bot.acquire("POST", LEVERAGE_PATH) is not None
    warnings = [r for r in caplog.records if "no longer shared" in r.getMessage()]
    assert len(warnings) == 1


def test_a_bot_on_a_file_created_again_writes_to_the_new_file(tmp_path):
    # Stores of one process on one file share a connection per thread; one on a file created
    # again under the same name must not get the connection to the removed file.
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    earlier = _budget(path, clock)
    earlier.settle(earlier.acquire("POST", LEVERAGE_PATH))
    _remove_state_file(path)
    later_bot = _budget(path, clock)
    settings = shared_settings.SharedSettings(path, "later")  # the same file, one connection

    later_bot.settle(later_bot.acquire("POST", LEVERAGE_PATH))
    settings.confirm(shared_settings.LEVERAGE, "BTC-USDT", "LONG", 3, 0)

    another_process = sqlite3.connect(path)
    assert another_process.execute("SELECT COUNT(*) FROM stamps").fetchone() == (1,)
    assert another_process.execute("SELECT value FROM confirmed").fetchall() == [("3",)]
    another_process.close()
    assert earlier.acquire("POST", LEVERAGE_PATH) is None  # its file is gone: not shared


def test_a_corrupt_state_file_is_said_once_and_trusted_for_nothing(
    make_exchange, fake_bingx, tmp_path, caplog
):
    state = tmp_path / "state"
    bot = make_exchange(exchange={"account_state_dir": str(state)})
    path = bot.bingx.pipeline.budget.path
    bot.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"not a database, " * 512)
    caplog.set_level(logging.WARNING)

    bot = make_exchange(exchange={"account_state_dir": str(state)})
    fake_bingx.clear_requests()
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")

    assert bot.bingx.pipeline.budget is None
    posts = [r for r in fake_bingx.requests if (r.method, r.path) == ("POST", LEVERAGE_PATH)]
    assert [r.code for r in posts] == [0, 0]
    said = [r for r in caplog.records if "cannot be shared" in r.getMessage()]
    assert len(said) == 2  # the rate budget, and the confirmed settings: once each


def test_threads_failing_at_once_say_so_once(tmp_path, caplog, monkeypatch):
    settings = shared_settings.SharedSettings(tmp_path / "account.sqlite")
    together_ = threading.Barrier(8)

    def removed_under_all_threads_at_once(*_args):
        together_.wait(5)  # every thread is past the "already failed?" check
        raise FileNotFoundError("the file was removed or replaced")

    monkeypatch.setattr(state_store, "check_same_file", removed_under_all_threads_at_once)
    caplog.set_level(logging.WARNING)
    threads = [
        threading.Thread(target=settings.read, args=(shared_settings.LEVERAGE, "BTC-USDT"))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert not settings.active
    assert sum("can no longer be seen" in r.getMessage() for r in caplog.records) == 1


def test_a_request_counts_in_flight_for_longer_than_the_transport_lets_it_travel():
    from freqtrade_bingx.net.transport import DEFAULT_TIMEOUT

    # An in-flight stamp that ran out before the request's deadline would let another bot send
    # while this request may still arrive at BingX.
    assert account_budget.IN_FLIGHT_S > sum(DEFAULT_TIMEOUT)


# A bot in a container restored from a checkpoint: its monotonic clock a day ahead of ours.
CLOCK_AHEAD_S = 86_400
_BOT_ON_ITS_OWN_CLOCK = """
import sys, time
from pathlib import Path
from freqtrade_bingx.state import account_budget
budget = account_budget.AccountBudget(Path(sys.argv[1]), {("POST", sys.argv[2]): 2})
for _ in range(2):  # the account's 2/s, used up on its clock
    budget.settle(budget.acquire("POST", sys.argv[2]))
print(time.monotonic())
"""


def _time_namespaces() -> bool:
    try:
        probe = subprocess.run(
            ["unshare", "-T", "--fork", "--monotonic", str(CLOCK_AHEAD_S), "true"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.mark.skipif(not _time_namespaces(), reason="no time namespace (unshare -T) here")
def test_stamps_of_a_bot_on_another_monotonic_clock_block_no_other_bot(tmp_path, caplog):
    path = tmp_path / "account.sqlite"
    limits = {("POST", LEVERAGE_PATH): 2}
    ours = account_budget.AccountBudget(path, limits)  # running before the other bot starts
    caplog.set_level(logging.WARNING, "freqtrade_bingx.state.account_budget")

    other = subprocess.run(
        ["unshare", "-T", "--fork", "--monotonic", str(CLOCK_AHEAD_S), sys.executable, "-c"]
        + [_BOT_ON_ITS_OWN_CLOCK, str(path), LEVERAGE_PATH],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert float(other.stdout) - time.monotonic() > CLOCK_AHEAD_S - 60  # a real second clock

    # Its two stamps lie a day ahead of this clock: counted, they would fill the account's
    # window for a day. Nobody's request can carry them: dropped, and said once.
    assert ours.acquire("POST", LEVERAGE_PATH, max_wait_s=0) is not None
    assert ours.acquire("POST", LEVERAGE_PATH, max_wait_s=0) is not None
    said = [r for r in caplog.records if "another clock" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING]
    assert str(path) in said[0].getMessage()


def test_stamps_from_the_future_are_dropped_whatever_wrote_them(tmp_path, caplog):
    clock = FakeClock()
    path = tmp_path / "account.sqlite"
    ours = _budget(path, clock)  # running before the other bot starts
    ahead = FakeClock()  # an injected second clock, for machines without time namespaces
    ahead.ms = clock.ms + CLOCK_AHEAD_S * 1000
    other = _budget(path, ahead)
    for _ in range(2):  # the account's 2/s, used up on its clock
        other.settle(other.acquire("POST", LEVERAGE_PATH))
    caplog.set_level(logging.DEBUG, "freqtrade_bingx.state.account_budget")

    # Two requests in flight (their stamps IN_FLIGHT_S ahead): those count, the others' not.
    assert ours.acquire("POST", LEVERAGE_PATH, max_wait_s=0) is not None
    assert ours.acquire("POST", LEVERAGE_PATH, max_wait_s=0) is not None
    with pytest.raises(account_budget.NoRoomInTime):
        ours.acquire("POST", LEVERAGE_PATH, max_wait_s=0)
    said = [r for r in caplog.records if "another clock" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING]


def test_a_wall_clock_step_frees_no_room(tmp_path, monkeypatch):
    class Waited(Exception):
        pass

    def sleep(_seconds):
        raise Waited

    limits = {("POST", LEVERAGE_PATH): 2}
    path = tmp_path / "account.sqlite"
    bot_a = account_budget.AccountBudget(path, limits, sleep=sleep)
    bot_b = account_budget.AccountBudget(path, limits, sleep=sleep)
    for budget in (bot_a, bot_a):  # the account's 2/s are used up
        budget.settle(budget.acquire("POST", LEVERAGE_PATH))
    # The date jumps an hour ahead (NTP, a user): the stamps must not look an hour old.
    stepped = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: stepped)
    monkeypatch.setattr(time, "time_ns", lambda: int(stepped * 1e9))

    with pytest.raises(Waited):
        bot_b.acquire("POST", LEVERAGE_PATH)


def test_a_position_mode_another_bot_switched_is_followed_before_an_entry(fake_bingx, tmp_path):
    # Bot A trades one-way at 3x; bot B starts in hedge mode and switches the (empty) account.
    # Bot A's next leverage hook would send nothing (3x is what it remembers): the mode row,
    # read with the leverage row, makes it read the mode from BingX and set the LONG side's
    # leverage, with no request BingX refuses. (freqtrade builds an order's parameters before
    # it calls the hook, so an order placed right then still goes out for the old mode.)
    from tests.conftest import MODE_PATH

    state = tmp_path / "state"
    bot_a = _validated_bot(fake_bingx, state)
    try:
        _buy(bot_a, 3)
        bot_a.create_order(
            pair="BTC/USDT:USDT",
            ordertype="market",
            side="sell",
            amount=0.01,
            rate=None,
            leverage=3,
            reduceOnly=True,
        )
        bot_b = _validated_bot(fake_bingx, state, position_mode="hedge")
        bot_b.close()
        assert fake_bingx.account().hedge_mode
        fake_bingx.clear_requests()

        bot_a._lev_prep("BTC/USDT:USDT", 3, "buy")

        assert [r for r in fake_bingx.requests if r.code not in (0, None)] == []
        assert len(_sent(fake_bingx, "GET", MODE_PATH)) == 1  # read from BingX again
        [leverage] = _sent(fake_bingx, "POST", LEVERAGE_PATH)
        assert leverage.params["side"] == "LONG"
    finally:
        bot_a.close()


def test_closing_the_exchange_lets_go_of_the_state_file(make_exchange, tmp_path):
    # freqtrade closes its exchange when the bot stops (and on reload_config): the state file's
    # connections, one per thread that used it (the main loop, the API server), close with it.
    bot = make_exchange(exchange={"account_state_dir": str(tmp_path / "state")})
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    connections = [bot.link.shared.store.connection()]
    other_thread = threading.Thread(
        target=lambda: connections.append(bot.link.shared.store.connection())
    )
    other_thread.start()
    other_thread.join(timeout=10)

    bot.close()

    for conn in connections:
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")


def test_an_answer_the_busy_file_did_not_take_is_not_called_another_bots_change(
    make_exchange, fake_bingx, tmp_path, short_file_waits, mocker, caplog, monkeypatch
):
    # The file is locked while the leverage request travels: its answer cannot be written.
    # That is not another bot's change (no such warning), the answer is not remembered, and
    # the row is marked unknown once the file is free.
    from freqtrade_bingx.state import shared_settings as shared

    monkeypatch.setattr(state_store, "BUSY_PAUSE_S", 0)
    bot = make_exchange(exchange={"account_state_dir": str(tmp_path / "state")})
    bot._lev_prep("BTC/USDT:USDT", 3, "buy")
    path = Path(bot.shared_state_file())
    send = bot.bingx._send
    holder = sqlite3.connect(path, isolation_level=None)

    def locked_while_it_travels(method, path_, *rest):
        holder.execute("BEGIN IMMEDIATE")
        return send(method, path_, *rest)

    mocker.patch.object(bot.bingx, "_send", side_effect=locked_while_it_travels)
    caplog.set_level(logging.WARNING)
    bot._lev_prep("BTC/USDT:USDT", 5, "buy")
    holder.execute("ROLLBACK")
    holder.close()

    assert not any("Another bot" in r.getMessage() for r in caplog.records)
    assert ("BTC-USDT", "BOTH") not in bot.account_settings.leverage_confirmed
    assert bot.link.shared.read(shared.LEVERAGE, "BTC-USDT", "BOTH").value is None


def test_a_claim_rolled_back_with_its_slot_is_written_alone_before_sending(tmp_path, monkeypatch):
    # The transaction that takes the request's slot and claims the row fails at its end (a
    # full disk, an I/O error): both are rolled back. The claim is then written alone before
    # anything is sent, or the other bots would trust the old value while the request travels.
    from freqtrade_bingx.net.pipeline import RequestPipeline
    from freqtrade_bingx.state import shared_settings as shared

    path = tmp_path / "account.sqlite"
    limits = {("POST", LEVERAGE_PATH): 2}
    budget = account_budget.AccountBudget(path, limits)
    ours, other = shared.SharedSettings(path, "ours"), shared.SharedSettings(path, "other")
    other.confirm(
        shared.LEVERAGE, "BTC-USDT", "LONG", 5, other.claim(shared.LEVERAGE, "BTC-USDT", "LONG")
    )
    transaction = state_store.StateStore._transaction

    def commit_fails(conn, work, begin):
        if not begin:
            return transaction(conn, work, begin)
        conn.execute("BEGIN IMMEDIATE")
        try:
            work(conn)
            raise sqlite3.OperationalError("disk I/O error")  # as a failed COMMIT
        finally:
            conn.execute("ROLLBACK")

    monkeypatch.setattr(budget.store, "_transaction", commit_fails)
    pipeline = RequestPipeline(limits)
    pipeline.budget = budget
    change = shared.Change(ours, shared.LEVERAGE, "BTC-USDT", "LONG")

    slot = pipeline.admit("POST", LEVERAGE_PATH, change)

    assert slot.budget is pipeline.local_budget  # the file failed: the bot's own limits
    assert other.read(shared.LEVERAGE, "BTC-USDT", "LONG").value is None  # told before sending
    change.slot = slot
    change.answer(10)
    pipeline.finish(change)
    assert change.recorded and not change.overwritten
    assert other.read(shared.LEVERAGE, "BTC-USDT", "LONG").value == "10"

"""Several bots on one BingX account: a start-up burst at the per-account floor, and the
requests each way of checking leverage costs per entry.

Burst: two bots, each in a process of its own (spawn, as two ``freqtrade trade`` would be),
sharing one state folder, start together; each calls ``_lev_prep(pair, 3, side)`` for 25 pairs
of its own. The account starts at 5x CROSSED and the configs say isolated, so per pair: one
margin-type GET and POST and one leverage POST. BingX limits each of these endpoints to 2/s per
account (UID), not per bot: the fake BingX enforces that per API key and answers 100410 beyond
it. The floor: 50 requests on an endpoint allowed 2 per rolling second take at least 24.0 s,
however they are split between bots.

Orders: the same two bots, leverage already set, each place ``ORDERS_PER_BOT`` market orders
through freqtrade's ``Exchange.create_order`` at once. BingX's Place Order page allows 10/s per
account (an older export says 5/s, which the plugin keeps to): the floor is 50 orders at 5 per
rolling second.

Per entry: the requests BingX sees on each entry once everything is set (steady state), for
one bot and for two bots on one machine (same or different leverage on one pair), with
``exchange.leverage_check`` ``shared`` (the default) and ``read_before_entry``. Counted
in one process against a fake with its rate limits lifted: counts, not timing.
"""

import contextlib
import sys
import tempfile
from collections import Counter
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bots import start_bots, together
from _support import (
    API_KEY,
    API_SECRET,
    LEVERAGE_PATH,
    MARGIN_PATH,
    contracts,
    no_nagle_stalls,
    pair,
    plugin_exchange,
    quiet_logs,
)
from startup_burst import floor_seconds


BOTS = 2
PAIRS_PER_BOT = 25
LEVERAGE = 3
RATE_LIMITED = 100410
ENTRIES = 20
SINGLE_BOT = "one bot, shared (the default)"
ORDER_PATH = "/openApi/swap/v2/trade/order"
ORDERS_PER_BOT = 25
# Market orders of 5 contracts at the fake's price of about 1 USDT: above BingX's 2 USDT minimum.
ORDER_AMOUNT = 5.0


def burst(runs: int = 1, **shared: str) -> list[dict]:
    """``runs`` bursts of two bot processes; ``shared``: how they share the account's state
    (default: one state folder; ``account_state_url``: Redis, each bot in a folder of its own)."""
    from freqtrade_bingx.sim import FakeBingx

    outs = []
    for _ in range(runs):
        with (
            no_nagle_stalls(),
            tempfile.TemporaryDirectory(prefix="ftbx-multi-") as state,
            FakeBingx(
                accounts={API_KEY: API_SECRET}, contracts=contracts(BOTS * PAIRS_PER_BOT)
            ) as server,
        ):
            bots = start_bots(server, BOTS, **(shared or {"account_state_dir": state}))
            try:
                pairs = [pair(c["symbol"]) for c in server.contracts]
                jobs = [
                    [
                        (p, LEVERAGE, "buy")
                        for p in pairs[i * PAIRS_PER_BOT : (i + 1) * PAIRS_PER_BOT]
                    ]
                    for i in range(BOTS)
                ]
                since = len(server.requests)
                results = together(bots, "lev_prep", jobs, timeout=240)
            finally:
                for bot in bots:
                    bot.stop()
            records = server.requests[since:]
            acct = server.account(API_KEY)
            outs.append(
                {
                    "elapsed": max(r["elapsed"] for r in results),
                    "errors": [e for r in results for e in r["errors"]],
                    "codes": Counter(r.code for r in records),
                    "sent": Counter((r.method, r.path) for r in records),
                    "ok": all(
                        acct.margin_type[c["symbol"]] == "ISOLATED"
                        and acct.leverage[(c["symbol"], "LONG")] == LEVERAGE
                        for c in server.contracts
                    ),
                }
            )
    return outs


def order_burst() -> dict:
    """Two bots place their orders at once; what the account's order endpoint saw."""
    from freqtrade_bingx.sim import FakeBingx

    with (
        no_nagle_stalls(),
        tempfile.TemporaryDirectory(prefix="ftbx-multi-") as state,
        FakeBingx(accounts={API_KEY: API_SECRET}, contracts=contracts(BOTS)) as server,
    ):
        bots = start_bots(server, BOTS, account_state_dir=state)
        try:
            pairs = [pair(c["symbol"]) for c in server.contracts]
            for bot, p in zip(bots, pairs, strict=True):
                bot.call("lev_prep", [(p, LEVERAGE, "buy")])
            since = len(server.requests)
            jobs = [[(p, "buy", ORDER_AMOUNT, LEVERAGE)] * ORDERS_PER_BOT for p in pairs]
            results = together(bots, "create_orders", jobs, timeout=240)
        finally:
            for bot in bots:
                bot.stop()
        records = server.requests[since:]
    return {
        "elapsed": max(r["elapsed"] for r in results),
        "errors": [e for r in results for e in r["errors"]],
        "codes": Counter(r.code for r in records if (r.method, r.path) == ("POST", ORDER_PATH)),
    }


def _order_row() -> dict:
    out = order_burst()
    total = BOTS * ORDERS_PER_BOT
    floor = floor_seconds(total, 5.0)
    refused = out["codes"].get(RATE_LIMITED, 0)
    over = out["elapsed"] / floor - 1
    met = refused == 0 and not out["errors"] and over <= 0.10
    return {
        "benchmark": f"7. two bots on one account place {ORDERS_PER_BOT} orders each at once",
        "plugin": f"{out['elapsed']:.2f} s; {out['codes'].get(0, 0)} orders accepted",
        "peer": f"per-account floor {floor:.1f} s ({total} orders at 5 per rolling second)",
        "result": f"{over:+.2%} over the floor; {refused} x 100410; {len(out['errors'])} errors",
        "target": f"no 100410, within 10% of the floor: {'met' if met else 'missed'}",
        "how": "two processes (spawn) sharing one state folder, leverage set beforehand; "
        "market orders through freqtrade's Exchange.create_order, one after another in each "
        "bot, both started on one signal. The fake limits POST trade/order to 10/s per API key "
        "(BingX's current page), counted at arrival; the plugin keeps to 5/s (the older "
        "export's figure, rate_limits.py), so the floor is counted at 5/s. Wall time = the "
        "slower bot's.",
    }


def per_entry() -> dict[str, Counter]:
    """Requests per entry in steady state, per case."""
    from freqtrade_bingx.bingx.rate_limits import page_limits
    from freqtrade_bingx.sim import FakeBingx

    cases = {
        SINGLE_BOT: ("shared", [3]),
        "two bots on one machine, same leverage, shared": ("shared", [3, 3]),
        "two bots on one machine, one pair at 3x and 10x, shared": ("shared", [3, 10]),
        "one bot, read_before_entry": ("read_before_entry", [3]),
        "two bots, one pair at 3x and 10x, read_before_entry": ("read_before_entry", [3, 10]),
    }
    counts = {}
    for name, (check, leverages) in cases.items():
        with (
            tempfile.TemporaryDirectory(prefix="ftbx-multi-") as state,
            FakeBingx(
                accounts={API_KEY: API_SECRET},
                contracts=contracts(1),
                leverage_rate_limit_per_s=None,
                rate_limits=dict.fromkeys(page_limits(), None),
            ) as server,
            contextlib.ExitStack() as stack,
        ):
            bots = [
                stack.enter_context(
                    plugin_exchange(server, leverage_check=check, account_state_dir=state)
                )
                for _ in leverages
            ]
            p = pair(server.contracts[0]["symbol"])
            for bot, leverage in zip(bots, leverages, strict=True):
                bot.bingx.pipeline.local_budget.rates.clear()  # counts, not timing
                bot._lev_prep(p, leverage, "buy")
            since = len(server.requests)
            for i in range(ENTRIES):
                bot = i % len(bots)
                bots[bot]._lev_prep(p, leverages[bot], "buy")
            counts[name] = Counter((r.method, r.path) for r in server.requests[since:])
    return counts


def _per_entry_text(sent: Counter) -> str:
    if not sent:
        return "0"
    parts = [
        f"{n / ENTRIES:g} {method} {path.rsplit('/', 1)[-1]}" for (method, path), n in sent.items()
    ]
    return ", ".join(sorted(parts))


def main(runs: int = 1) -> list[dict]:
    quiet_logs()
    floor = floor_seconds(BOTS * PAIRS_PER_BOT, 2.0)
    outs = burst(runs)
    elapsed = sorted(o["elapsed"] for o in outs)[len(outs) // 2]
    refused = sum(o["codes"].get(RATE_LIMITED, 0) for o in outs)
    errors = [e for o in outs for e in o["errors"]]
    ok = all(o["ok"] for o in outs)
    over = elapsed / floor - 1
    met = refused == 0 and not errors and ok and over <= 0.10
    verdict = "met" if met else "missed"
    if refused:
        verdict += f": {refused} x 100410"
    if over > 0.10:
        verdict += f": {over:.1%} over the floor"
    sent = outs[0]["sent"]
    rows = [
        {
            "benchmark": f"7. two bots on one account start together, {PAIRS_PER_BOT} pairs each "
            f"({len(outs)} run{'s' if len(outs) > 1 else ''})",
            "plugin": f"{elapsed:.2f} s; {sent[('POST', LEVERAGE_PATH)]} leverage POST, "
            f"{sent[('POST', MARGIN_PATH)]} margin-type POST, {sent[('GET', MARGIN_PATH)]} GET "
            "in all",
            "peer": f"per-account floor {floor:.1f} s ({BOTS * PAIRS_PER_BOT} POSTs at 2 per "
            "rolling second)",
            "result": f"{over:+.2%} over the floor; {refused} x 100410; {len(errors)} errors; "
            f"account settings {'all applied' if ok else 'WRONG'}",
            "target": f"no 100410, within 10% of the floor: {verdict}",
            "how": "two processes (spawn), each the plugin's live exchange with its own "
            "transport, one shared state folder; both start their burst on one signal. The fake "
            "limits margin-type GET/POST and leverage POST to 2/s per API key, counted at "
            "arrival. Wall time = the slower bot's.",
        }
    ]
    rows.append(_order_row())
    for name, sent in per_entry().items():
        total = sum(sent.values())
        if name == SINGLE_BOT:  # the target: a lone bot pays nothing per entry
            target = f"0 for one bot in steady state: {'met' if total == 0 else 'missed'}"
        else:
            target = "(informational: the request cost of the mode)"
        rows.append(
            {
                "benchmark": f"7. requests per entry in steady state: {name}",
                "plugin": _per_entry_text(sent),
                "peer": "",
                "result": f"{total} requests over {ENTRIES} entries",
                "target": target,
            }
        )
    return rows


if __name__ == "__main__":
    for row in main(int(sys.argv[1]) if len(sys.argv) > 1 else 1):
        print(row)

"""Requests sent per entry order: the plugin's ``_lev_prep`` vs freqtrade's stock path.

A scripted session of 200 entries, round robin over 10 pairs (long and short alternating,
one-way account), at 3x, with 4 leverage changes along the way. Before each entry freqtrade
calls ``exchange._lev_prep(pair, leverage, side)``; the fake BingX records what reaches it.

- plugin: the plugin's ``_lev_prep`` (margin type, then leverage, each remembered once
  confirmed).
- stock: the same exchange object with ``_lev_prep``, ``set_margin_mode`` and
  ``_set_leverage`` swapped back to ``freqtrade.exchange.Exchange``'s own functions (instance
  attributes, this process only): margin mode through ccxt's ``set_margin_mode``, then ccxt's
  ``set_leverage(symbol, leverage)`` without the ``side`` BingX needs. ccxt raises
  ``ArgumentsRequired`` before sending, freqtrade maps it to ``TemporaryError`` and its
  ``@retrier`` tries 4 more times, then the entry fails. Attempts are counted at ccxt's
  ``set_leverage``. With ``side`` fixed, stock freqtrade would send 2 requests per entry.

Rate limits (client and server) are off here: they change timing, not counts.
"""

import sys
import types
from collections import Counter
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

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


ENTRIES = 200
PAIRS = 10
BASE_LEVERAGE = 3
# entry index -> (pair index, new leverage from then on)
CHANGES = {40: (0, 5), 90: (3, 4), 130: (7, 2), 170: (0, 3)}
ACCOUNT_DEFAULT_LEVERAGE = 5  # FakeBingx's starting leverage per symbol and side
ACCOUNT_DEFAULT_MARGIN = "CROSSED"  # ... and margin type; the config asks for isolated


def script(pairs: list[str]) -> list[tuple[str, int, str]]:
    """(pair, leverage, side) for every entry."""
    leverage = dict.fromkeys(pairs, BASE_LEVERAGE)
    entries = []
    for i in range(ENTRIES):
        if i in CHANGES:
            index, new = CHANGES[i]
            leverage[pairs[index]] = new
        p = pairs[i % len(pairs)]
        entries.append((p, leverage[p], "buy" if (i // len(pairs)) % 2 == 0 else "sell"))
    return entries


def real_changes(entries: list[tuple[str, int, str]]) -> tuple[int, int]:
    """(leverage changes, margin-type changes) the account actually needs (one-way mode)."""
    account_lev: dict[str, int] = {}
    account_margin: dict[str, str] = {}
    lev_changes = margin_changes = 0
    for p, leverage, _side in entries:
        if account_margin.get(p, ACCOUNT_DEFAULT_MARGIN) != "ISOLATED":
            account_margin[p] = "ISOLATED"
            margin_changes += 1
        if account_lev.get(p, ACCOUNT_DEFAULT_LEVERAGE) != leverage:
            account_lev[p] = leverage
            lev_changes += 1
    return lev_changes, margin_changes


def _server(n_pairs: int):
    from freqtrade_bingx.bingx.rate_limits import page_limits
    from freqtrade_bingx.sim import FakeBingx

    no_limits = dict.fromkeys(page_limits(), None)
    return FakeBingx(
        accounts={API_KEY: API_SECRET},
        contracts=contracts(n_pairs),
        leverage_rate_limit_per_s=None,
        rate_limits=no_limits,
    )


def _ledger(server, since: int) -> Counter:
    return Counter((r.method, r.path) for r in server.requests[since:])


def run_plugin(entries) -> tuple[Counter, dict]:
    with no_nagle_stalls(), _server(PAIRS) as server, plugin_exchange(server) as exchange:
        # Counts, not timing: no client-side waits.
        exchange.bingx.pipeline.local_budget.rates.clear()
        since = len(server.requests)
        for p, leverage, side in entries:
            exchange._lev_prep(p, leverage, side)  # any error here is a failed benchmark
        sent = _ledger(server, since)
        acct = server.account(API_KEY)
        final = {
            sym: (acct.margin_type[sym], acct.leverage[(sym, "LONG")])
            for sym in (c["symbol"] for c in server.contracts)
        }
    return sent, final


def run_stock(entries) -> tuple[Counter, int, int]:
    from freqtrade.exceptions import FreqtradeException
    from freqtrade.exchange import Exchange

    with no_nagle_stalls(), _server(PAIRS) as server, plugin_exchange(server) as exchange:
        for name in ("_lev_prep", "set_margin_mode", "_set_leverage"):
            setattr(exchange, name, types.MethodType(getattr(Exchange, name), exchange))
        attempts = 0
        ccxt_set_leverage = exchange._api.set_leverage

        def counted(*args, **kwargs):
            nonlocal attempts
            attempts += 1
            return ccxt_set_leverage(*args, **kwargs)

        exchange._api.set_leverage = counted
        since = len(server.requests)
        failed = 0
        for p, leverage, side in entries:
            try:
                exchange._lev_prep(p, leverage, side)
            except FreqtradeException:  # what create_order would log before skipping the entry
                failed += 1
        sent = _ledger(server, since)
    return sent, failed, attempts


def main() -> list[dict]:
    quiet_logs()
    pairs = [pair(c["symbol"]) for c in contracts(PAIRS)]
    entries = script(pairs)
    lev_changes, margin_changes = real_changes(entries)

    plugin_sent, final = run_plugin(entries)
    lev_posts = plugin_sent[("POST", LEVERAGE_PATH)]
    margin_gets = plugin_sent[("GET", MARGIN_PATH)]
    lev_gets = plugin_sent[("GET", LEVERAGE_PATH)]
    margin_posts = plugin_sent[("POST", MARGIN_PATH)]
    plugin_total = sum(plugin_sent.values())
    expected_final = {}
    for p, leverage, _side in entries:
        expected_final[p.split("/")[0] + "-USDT"] = ("ISOLATED", leverage)
    if final != expected_final:
        raise RuntimeError(f"plugin session left the account wrong: {final}")

    stock_sent, stock_failed, stock_attempts = run_stock(entries)
    stock_total = sum(stock_sent.values())

    met = (
        lev_posts == lev_changes
        and margin_posts == margin_changes
        and margin_gets == PAIRS
        and lev_gets == PAIRS
    )
    extra = plugin_total - lev_changes - margin_changes
    return [
        {
            "benchmark": f"3. requests per entry ({ENTRIES} entries, {PAIRS} pairs, "
            f"{len(CHANGES)} leverage changes)",
            "plugin": f"{plugin_total} requests ({plugin_total / ENTRIES:.3f}/entry): "
            f"{lev_posts} leverage POST, {lev_gets} leverage GET, {margin_gets} margin-type GET, "
            f"{margin_posts} margin-type POST",
            "peer": f"stock freqtrade: {2 * ENTRIES} if its leverage call worked (2/entry); "
            f"as it is: {stock_total} reached BingX ({stock_sent[('POST', MARGIN_PATH)]} "
            f"margin-type POST, {stock_sent[('POST', LEVERAGE_PATH)]} leverage POST), "
            f"{stock_attempts} set_leverage attempts refused by ccxt (no side), "
            f"{stock_failed}/{ENTRIES} entries failed",
            "result": f"real changes: {lev_changes} leverage ({PAIRS} first sets from the "
            f"account's {ACCOUNT_DEFAULT_LEVERAGE}x + {len(CHANGES)}), {margin_changes} margin "
            f"type; plugin sends {extra} more: one margin-type read and one leverage read "
            "(the account's maximum and current leverage) per pair",
            "target": "leverage POSTs = real changes, + 1 margin-type read (+ set if it "
            "differs) and 1 leverage read per pair: " + ("met" if met else "missed"),
            "how": (
                f"Scripted: {ENTRIES} `_lev_prep(pair, leverage, side)` calls, round robin over "
                f"{PAIRS} fake contracts, long/short alternating every round, one-way account "
                f"starting at {ACCOUNT_DEFAULT_LEVERAGE}x CROSSED, config isolated 3x, leverage "
                f"changed at entries {', '.join(map(str, CHANGES))}; requests counted in the "
                "fake server's ledger. stock = the same exchange object with `_lev_prep`, "
                "`set_margin_mode`, `_set_leverage` replaced on the instance by "
                "`freqtrade.exchange.Exchange`'s; ccxt's `set_leverage` wrapped to count "
                "attempts. Rate limits off (counts only). The one position-mode read at "
                "start-up is not per entry and not counted."
            ),
        }
    ]


if __name__ == "__main__":
    for row in main():
        print(row)

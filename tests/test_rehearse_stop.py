"""A rehearsal stops freqtrade cleanly even when it was started as a background job.

A non-interactive shell starts a background job (``bash run.sh &``, a cron line, ``nohup``)
with SIGINT ignored, and every process below it inherits that: a freqtrade started from such a
job ignores Ctrl-C's signal. The rehearsal stops it with SIGTERM, for which freqtrade installs
its own handler, and so ends it cleanly either way.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

from freqtrade_bingx.sim.server import ORDER_PATH
from freqtrade_bingx.tools.rehearse import Rehearsal


MAX_SECONDS = 45.0


def _entered(run: Rehearsal) -> bool:
    return any(r.method == "POST" and r.path == ORDER_PATH and r.code == 0 for r in run.requests)


@contextmanager
def sigint_ignored():
    """What a background job of a script has: SIGINT ignored, inherited by what it starts."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def test_freqtrade_started_with_sigint_ignored_still_stops_cleanly(tmp_path):
    run = Rehearsal(workdir=tmp_path)
    try:
        run.start_exchange()
        with sigint_ignored():
            run.start_freqtrade()
        run.run(MAX_SECONDS, on_tick=_entered, poll_s=0.25)
        assert _entered(run), run.log_text()[-3000:]

        code = run.stop(timeout=20)

        assert code in (0, 130), run.log_text()[-3000:]
        # freqtrade's own words for a stop it handled (not a kill).
        assert "SIGINT received, aborting" in run.log_text()
    finally:
        run.stop()

"""pytest fixtures for testing against the fake BingX (loopback only, no account needed).

Enable them in your top-level ``conftest.py``::

    pytest_plugins = ["freqtrade_bingx.sim.pytest_fixture"]

``bingx_sim`` is a running :class:`~freqtrade_bingx.sim.FakeBingx` in one-way mode with the
account ``test-key`` / ``test-secret``; pass other constructor arguments through indirect
parametrisation::

    def test_order(bingx_sim):
        exchange = ccxt.bingx({"apiKey": "test-key", "secret": "test-secret",
                               "urls": bingx_sim.ccxt_urls})
        ...
        assert bingx_sim.count("/openApi/swap/v2/trade/leverage", "POST") == 1

    @pytest.mark.parametrize("bingx_sim", [{"hedge_mode": True}], indirect=True)
    def test_hedge(bingx_sim): ...

``bingx_rehearsal`` builds :class:`~freqtrade_bingx.tools.rehearse.Rehearsal` objects (a fake BingX
plus a real ``freqtrade trade``) in the test's temporary directory and stops them afterwards::

    def test_my_strategy(bingx_rehearsal):
        r = bingx_rehearsal(config_files=["my.json"], strategy="Mine", strategy_path="strats")
        r.run(60)
        r.stop()
        assert not r.summary().mismatches
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .server import FakeBingx


if TYPE_CHECKING:
    from freqtrade_bingx.tools.rehearse import Rehearsal


@pytest.fixture
def bingx_sim(request: pytest.FixtureRequest) -> Iterator[FakeBingx]:
    """A fake BingX on 127.0.0.1 (random port), stopped after the test."""
    kwargs: dict[str, Any] = dict(getattr(request, "param", None) or {})
    with FakeBingx(**kwargs) as server:
        yield server


@pytest.fixture
def bingx_rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Rehearsal]]:
    """A factory of rehearsals; each is stopped (freqtrade and the fake) after the test."""
    from freqtrade_bingx.tools.rehearse import Rehearsal

    made: list[Rehearsal] = []

    def make(**kwargs: Any) -> Rehearsal:
        kwargs.setdefault("workdir", tmp_path_factory.mktemp("rehearsal"))
        rehearsal = Rehearsal(**kwargs)
        made.append(rehearsal)
        return rehearsal

    yield make
    for rehearsal in made:
        rehearsal.stop()

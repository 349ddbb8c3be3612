"""The ``bingx_sim`` / ``bingx_rehearsal`` pytest fixtures users get from the package."""

import pytest

from freqtrade_bingx.sim import FakeBingx
from freqtrade_bingx.tools.rehearse import Rehearsal
from tests.configs import ccxt_bingx


# What a user's top-level conftest.py does.
pytest_plugins = ["freqtrade_bingx.sim.pytest_fixture"]


def test_bingx_sim_is_a_running_one_way_exchange(bingx_sim: FakeBingx) -> None:
    assert bingx_sim.base_url.startswith("http://127.0.0.1:")
    exchange = ccxt_bingx(bingx_sim)
    assert exchange.fetch_position_mode("BTC/USDT:USDT")["hedged"] is False
    assert bingx_sim.count("/openApi/swap/v1/positionSide/dual", "GET") == 1


@pytest.mark.parametrize("bingx_sim", [{"hedge_mode": True, "seed": 3}], indirect=True)
def test_bingx_sim_takes_constructor_arguments(bingx_sim: FakeBingx) -> None:
    assert ccxt_bingx(bingx_sim).fetch_position_mode("BTC/USDT:USDT")["hedged"] is True


def test_bingx_rehearsal_builds_unstarted_rehearsals(bingx_rehearsal) -> None:
    rehearsal = bingx_rehearsal(hedge=True)
    assert isinstance(rehearsal, Rehearsal)
    assert rehearsal.server is None and rehearsal.process is None
    assert rehearsal.config_files[0].name == "live.json"
    assert rehearsal.workdir.is_dir()

"""Installed the way freqtrade's Docker image installs extra packages: ``pip install --user``.

freqtrade's image runs a plain (non-venv) Python; freqtrade's dependencies live in the user
site (``/home/ftuser/.local``) and freqtrade itself is an editable install there, which is
one path line in a ``.pth`` file. A plugin added with ``pip install --user`` lands in the
same user site, so its ``freqtrade_bingx.pth`` must be read from there at interpreter start.

Here the project's wheel is built from a copy of the source and installed with the base
interpreter (the one this venv was made from) into a temporary user site
(``PYTHONUSERBASE``). A path line in that user site stands for freqtrade's editable install:
it points at the site-packages holding freqtrade and its dependencies (this venv's). A fresh
interpreter then has to pick the plugin up from the user site. Nothing is downloaded:
``--no-index --no-deps --no-build-isolation``.
"""

import configparser
import importlib.metadata
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import freqtrade
import pytest
from packaging.requirements import Requirement
from packaging.version import Version


ROOT = Path(__file__).resolve().parent.parent
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
SOURCE_FILES = ("setup.py", "setup.cfg", "pyproject.toml", "README.md")
# Variables that would change what the fresh interpreter sees.
CLEARED = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "VIRTUAL_ENV", "PYTHONSTARTUP")

PROBE = """
import json, site, sys
from freqtrade_bingx import _autoload

armed = _autoload._HOOK in sys.meta_path  # before anything imported freqtrade
import freqtrade.exchange
import freqtrade_bingx

cls = freqtrade.exchange.Bingx
print(json.dumps({
    "in_venv": sys.prefix != sys.base_prefix,
    "user_site": site.getusersitepackages(),
    "pth_ran": "freqtrade_bingx._autoload" in sys.modules,
    "armed": armed,
    "plugin_file": freqtrade_bingx.__file__,
    "class": f"{cls.__module__}.{cls.__qualname__}",
}))
"""


def _build_tools_problem() -> str | None:
    """Why this venv cannot build the project's wheel offline, or None."""
    try:
        setuptools = Version(importlib.metadata.version("setuptools"))
        importlib.metadata.version("wheel")
    except importlib.metadata.PackageNotFoundError as e:
        return f"{e.name} is not installed in this venv (pip install '.[test]')"
    if setuptools < Version("68"):
        return f"setuptools {setuptools} is older than pyproject.toml's 68 (pip install '.[test]')"
    return None


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def user_install(tmp_path_factory) -> dict:
    problem = _build_tools_problem()
    if problem:
        pytest.skip(f"cannot build the wheel without downloading: {problem}")
    has_pip = [BASE_PYTHON, "-m", "pip", "--version"]
    if subprocess.run(has_pip, capture_output=True, check=False).returncode:
        pytest.skip(f"the base interpreter {BASE_PYTHON} has no pip for a --user install")

    work = tmp_path_factory.mktemp("user-install")
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("PIP_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONUSERBASE"] = str(work / "userbase")
    env.pop("FREQTRADE_BINGX_AUTOLOAD", None)

    # A copy of the source: building in the checkout would leave build/ and *.egg-info there.
    source = work / "source"
    shutil.copytree(
        ROOT / "plugin",
        source / "plugin",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, source / name)
    wheels = work / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index"]
    _run([*build, "--no-build-isolation", "-w", str(wheels), str(source)], env, work)
    (wheel,) = wheels.glob("freqtrade_bingx-*.whl")

    install = [BASE_PYTHON, "-m", "pip", "install", "--user", "--no-deps", "--no-index"]
    _run([*install, str(wheel)], env, work)
    user_site = Path(
        _run(
            [BASE_PYTHON, "-c", "import site; print(site.getusersitepackages())"], env, work
        ).stdout.strip()
    )
    # freqtrade's editable install in the image's user site is a path line like these: here
    # freqtrade's folder and this interpreter's site-packages (freqtrade's dependencies).
    homes = dict.fromkeys([str(Path(freqtrade.__file__).parent.parent), *site.getsitepackages()])
    (user_site / "freqtrade-editable-stand-in.pth").write_text("".join(f"{h}\n" for h in homes))
    return {"env": env, "work": work, "user_site": user_site}


def _probe(user_install: dict, **extra_env: str) -> dict:
    env = {**user_install["env"], **extra_env}
    result = _run([BASE_PYTHON, "-c", PROBE], env, user_install["work"])
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_pth_file_lands_in_the_user_site(user_install):
    user_site = user_install["user_site"]
    assert user_site.is_relative_to(user_install["work"] / "userbase")
    pth = user_site / "freqtrade_bingx.pth"
    assert pth.read_text().strip() == (ROOT / "plugin" / "freqtrade_bingx.pth").read_text().strip()
    assert (user_site / "freqtrade_bingx" / "_autoload.py").is_file()


def test_a_fresh_interpreter_resolves_the_plugins_bingx(user_install):
    seen = _probe(user_install)
    assert not seen["in_venv"]  # the base interpreter, as in the image
    assert Path(seen["user_site"]) == user_install["user_site"]
    assert seen["pth_ran"] and seen["armed"]
    assert Path(seen["plugin_file"]).is_relative_to(user_install["user_site"])
    assert seen["class"] == "freqtrade_bingx.adapter.exchange.Bingx"


def test_autoload_off_keeps_freqtrades_own_bingx(user_install):
    seen = _probe(user_install, FREQTRADE_BINGX_AUTOLOAD="0")
    assert seen["pth_ran"] and not seen["armed"]
    assert seen["class"] == "freqtrade.exchange.bingx.Bingx"


def test_list_exchanges_shows_bingx_futures(user_install):
    command = [BASE_PYTHON, "-m", "freqtrade", "list-exchanges", "--trading-mode", "futures"]
    table = _run(command, user_install["env"], user_install["work"]).stdout
    # freqtrade's own Bingx is spot only and would not be listed for futures at all.
    row = next(line for line in table.splitlines() if "BingX" in line)
    assert "spot, isolated futures, cross futures" in row


# --- extras ------------------------------------------------------------------------------------


def _requirements(text: str) -> list[Requirement]:
    return [Requirement(line) for line in text.splitlines() if line and not line.startswith("#")]


def test_the_hyperopt_extra_pulls_freqtrades_own():
    # freqtrade installs without its hyperopt packages; "freqtrade hyperopt" then fails with
    # "No module named 'optuna'". pip install "freqtrade-bingx[hyperopt]" brings them.
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    [wanted] = _requirements(setup["options.extras_require"]["hyperopt"])
    [pinned] = [
        r for r in _requirements(setup["options"]["install_requires"]) if r.name == "freqtrade"
    ]
    assert (wanted.name, wanted.extras) == ("freqtrade", {"hyperopt"})
    assert wanted.specifier == pinned.specifier  # the freqtrade the plugin runs on
    # freqtrade's own hyperopt extra names what its hyperopt imports.
    freqtrade_extra = {
        Requirement(r).name
        for r in importlib.metadata.requires("freqtrade") or []
        if Requirement(r).marker and Requirement(r).marker.evaluate({"extra": "hyperopt"})
    }
    assert {"optuna", "scikit-learn"} <= freqtrade_extra


def test_the_wheel_offers_the_hyperopt_extra(user_install):
    [dist] = importlib.metadata.distributions(path=[str(user_install["user_site"])])
    assert "hyperopt" in (dist.metadata.get_all("Provides-Extra") or [])
    extra = [
        Requirement(r)
        for r in dist.requires or []
        if Requirement(r).marker and Requirement(r).marker.evaluate({"extra": "hyperopt"})
    ]
    assert [(r.name, r.extras) for r in extra] == [("freqtrade", {"hyperopt"})]

"""The package's layers import one way: from freqtrade glue down to pure BingX knowledge.

ARCHITECTURE.md draws them. A module of a lower layer that imports a higher one, a trading
bot's module that imports a tool or the local exchange, or a module outside every layer fails
here, so the folder listing keeps reading as the architecture.
"""

import ast
from pathlib import Path

import pytest


PACKAGE = Path(__file__).resolve().parent.parent / "plugin" / "freqtrade_bingx"
# Lowest first. A module may import its own layer and the ones before it.
LAYERS = ["base", "bingx", "state", "net", "adapter", "tools"]
# Beside the layers: the local exchange, a model of BingX's pages. It may read BingX knowledge
# (its rate-limit table names the page of every row) and the tools (its pytest fixture runs
# rehearsals); no trading bot's module imports it.
APART = {"sim"}
SIM_MAY_IMPORT = {"base", "bingx", "tools", "sim"}
TOP_LEVEL = {"__init__", "_autoload"}  # registration: imports the adapter lazily


def _layer(module: str) -> str | None:
    """``freqtrade_bingx.<layer>.x`` -> layer; None for a module outside the package."""
    parts = module.split(".")
    if parts[0] != "freqtrade_bingx" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    """The plugin modules ``path`` imports, absolute or relative, at any depth of the file."""
    return _imports_of(ast.parse(path.read_text(encoding="utf-8")), path)


def _imports_of(tree: ast.AST, path: Path) -> set[str]:
    package = ["freqtrade_bingx", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module in ("freqtrade_bingx", ".".join(package)) or not node.module:
                found |= {f"{module}.{alias.name}" for alias in node.names}
            else:
                found.add(module)
    return {name for name in found if name.startswith("freqtrade_bingx")}


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_lies_in_a_layer():
    outside = [
        str(path.relative_to(PACKAGE))
        for path in MODULES
        if path.parent == PACKAGE
        and path.stem not in TOP_LEVEL
        or path.parent != PACKAGE
        and path.relative_to(PACKAGE).parts[0] not in {*LAYERS, *APART}
    ]
    assert outside == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    own = path.relative_to(PACKAGE).parts[0] if path.parent != PACKAGE else None
    wrong = []
    for name in _imports(path):
        target = _layer(name)
        if target is None or target in {"__version__", "_autoload"} or own is None:
            continue
        if own in APART:
            if target not in SIM_MAY_IMPORT:
                wrong.append(name)  # the local exchange models BingX, not the plugin's bot
        elif target in APART:
            if own != "tools":
                wrong.append(name)  # a trading bot never imports the local exchange
        elif target in LAYERS and LAYERS.index(target) > LAYERS.index(own):
            wrong.append(name)
    assert wrong == [], f"{path.relative_to(PACKAGE)} imports a higher layer: {sorted(wrong)}"


@pytest.mark.parametrize(
    "line",
    [
        "from freqtrade_bingx.net.transport import BingxTransport",
        "from ..net import transport",
        "from ..net.transport import BingxTransport",
        "import freqtrade_bingx.net.transport",
    ],
)
def test_the_check_sees_an_upward_import(line):
    """The check can fail: a knowledge module importing the network is caught, however the
    import is written (a file in bingx/ is read as it would be there)."""
    probe = PACKAGE / "bingx" / "probe_not_written.py"
    found = {name for node in [ast.parse(line)] for name in _imports_of(node, probe)}
    assert {_layer(name) for name in found} == {"net"}

"""BingX's stored pages, for the tests that compare the plugin and the fake exchange with them.

The pages live beside the checkout (``../shared/reference/bingx-swap-api``), found from this
file, whatever the working folder. A checkout on its own skips those tests; with ``CI=true`` in
the environment a missing reference fails them instead, so CI cannot go green without them.
"""

import os
from pathlib import Path

import pytest


BINGX_PAGES = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "bingx-swap-api"


def bingx_pages(folder: Path = BINGX_PAGES) -> Path:
    """The folder of BingX's pages; skips the test without it (fails it under ``CI=true``)."""
    if folder.is_dir():
        return folder
    missing = f"BingX's pages are not beside this checkout ({folder})"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{missing}; CI=true needs them", pytrace=False)
    pytest.skip(missing)


def bingx_page(name: str) -> str:
    """The text of one of BingX's pages, e.g. ``post_openapi_swap_v2_trade_order.md``."""
    return (bingx_pages() / name).read_text(encoding="utf-8")

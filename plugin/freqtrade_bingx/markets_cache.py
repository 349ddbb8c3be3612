"""A snapshot of BingX's markets, so backtesting and the plugin's tools work offline.

freqtrade 2026.9 loads markets from the exchange at every start, backtesting included. Each
successful online load is written to ``<datadir>/bingx_markets_<mode>.json``; when BingX cannot
be reached and nothing is loaded yet, the snapshot is used instead and the log says from when.
"""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


logger = logging.getLogger(__name__)


def snapshot_path(datadir: Path, trading_mode: str) -> Path:
    return Path(datadir) / f"bingx_markets_{trading_mode}.json"


def save(path: Path, markets: dict[str, Any], source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"saved": datetime.now(UTC).isoformat(), "source": source, "markets": markets}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, default=str))
    tmp.replace(path)


def load(path: Path) -> tuple[dict[str, Any], str] | None:
    """(markets, saved-at) from the snapshot, or None when there is no usable one."""
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text())
        markets = content["markets"]
        saved = str(content["saved"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        logger.warning("Ignoring unreadable BingX markets snapshot %s: %s", path, e)
        return None
    if not isinstance(markets, dict) or not markets:
        return None
    return markets, saved

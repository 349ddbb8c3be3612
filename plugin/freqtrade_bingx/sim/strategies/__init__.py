"""Strategies for rehearsals against the fake BingX (``--strategy-path`` points at this folder)."""

"""Independent Kognitos REST API v2 Runs server for contract tests, built from the vendor's pages only."""

from .breaks import BREAKS, Break
from .serving import DEFAULT_IDS, Served, serve

__all__ = ["BREAKS", "DEFAULT_IDS", "Break", "Served", "serve"]

"""An independent SolveXia Process Run APIs server, written from the vendor's documents alone."""

from .breaks import BREAKS, Break
from .serving import Served, serve

__all__ = ["BREAKS", "Break", "Served", "serve"]

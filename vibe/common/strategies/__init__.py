"""Strategies: the per-bar :class:`Strategy` interface and Opening Range Breakout.

The vectorized ORB reference (``orb_signals``, ``session_bounds``, pandas) is
imported from :mod:`vibe.common.strategies.orb_vectorized` itself, so the engine's
import of this package does not import pandas.
"""

from vibe.common.strategies.base import BarContext, Rejection, Strategy
from vibe.common.strategies.orb import OrbStrategy
from vibe.common.strategies.orb_rules import OrbParams

__all__ = [
    "BarContext",
    "OrbParams",
    "OrbStrategy",
    "Rejection",
    "Strategy",
]

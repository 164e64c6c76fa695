"""Strategies: the per-bar :class:`Strategy` interface and Opening Range Breakout."""

from vibe.common.strategies.base import BarContext, Rejection, Strategy
from vibe.common.strategies.orb import OrbStrategy
from vibe.common.strategies.orb_rules import OrbParams
from vibe.common.strategies.orb_vectorized import SIGNAL_COLUMNS, orb_signals, session_bounds

__all__ = [
    "SIGNAL_COLUMNS",
    "BarContext",
    "OrbParams",
    "OrbStrategy",
    "Rejection",
    "Strategy",
    "orb_signals",
    "session_bounds",
]

"""Strategies: the per-bar :class:`Strategy` interface and Opening Range Breakout."""

from vibe.common.strategies.base import BarContext, Rejection, Strategy
from vibe.common.strategies.orb import ExitLevels, OrbParams, OrbStrategy, exit_levels
from vibe.common.strategies.orb_vectorized import SIGNAL_COLUMNS, orb_signals, session_bounds

__all__ = [
    "SIGNAL_COLUMNS",
    "BarContext",
    "ExitLevels",
    "OrbParams",
    "OrbStrategy",
    "Rejection",
    "Strategy",
    "exit_levels",
    "orb_signals",
    "session_bounds",
]

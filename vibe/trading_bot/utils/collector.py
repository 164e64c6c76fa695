"""Pausing Python's cyclic garbage collector around bounded bursts of allocations."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Suspend Python's cyclic garbage collector for a bounded burst of allocations.

    Reference counting still frees everything that is not in a reference cycle;
    only cycle detection waits until the block ends (the previous state is then
    restored). Building ~100,000 bars, or replaying them as fast as possible,
    otherwise triggers repeated full collections that walk every live object
    (about 20 % of a backtest's loop time; 0.2 s of collections in a whole
    ``backtest`` command on a 1-minute year).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

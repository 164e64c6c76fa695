"""Byte-compile the ``vibe`` package before timing its commands, as an install does.

``pip install`` compiles every module of a package it installs (its ``.pyc`` files),
so the image's commands start from bytecode. An editable checkout only gets
``.pyc`` files written as its modules are imported, and never under
``PYTHONDONTWRITEBYTECODE=1`` (set in the image, and on the machines these
benchmarks ran on): every process timed would then compile each of our modules it
imports (~130 for a ``backtest``; a module edited since its ``.pyc`` was written is
compiled again at each start), while the libraries it is compared with
(backtesting.py, pandas) come compiled from their wheels.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vibe"


def compile_package() -> None:
    """Write up-to-date ``.pyc`` files for every module of the ``vibe`` package.

    Raises:
        SystemExit: a module does not compile (a syntax error).
    """
    if not compileall.compile_dir(PACKAGE, quiet=1):
        raise SystemExit(f"{PACKAGE}: a module does not compile")

"""Run ``python -m vibe.trading_bot backtest ...`` with each phase timed (for bench_backtest).

Usage: ``python benchmarks/backtest_phases.py OUT.json backtest --data ...``: runs the
command in this process (same code as ``python -m vibe.trading_bot``) and writes to
``OUT.json`` the wall seconds spent in each phase, each counted once (a phase's
time excludes the phases and imports inside it):

* ``import``: every module import (outermost ``import`` statements);
* ``settings``: ``load_settings``; ``calendar``: ``load_schedule``;
* ``data load``: ``HistoricalFeed.load``; ``loop``: ``ReplayDriver.run``;
* ``metrics``: the result metrics (``runner._result``); ``benchmark``: buy and hold
  and the report's price history (``runner._benchmark``);
* ``reports``: JSON, console summary and HTML (``commands.backtest._write``);
* ``other``: the rest of the command (argument parsing, start-up phases, shutdown);

plus ``started`` and ``finished``: ``time.time()`` when this script began and when the
command returned, so the caller can tell interpreter start-up and exit apart.
"""

import builtins
import time

STARTED = time.time()
_T0 = time.perf_counter()

import importlib  # noqa: E402 - after the start time
import inspect  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

spent: dict[str, float] = {}
_stack: list[list[Any]] = []  # [phase, started, seconds in nested phases]
_import = builtins.__import__
_depth = [0]


def _enter(phase: str) -> None:
    _stack.append([phase, time.perf_counter(), 0.0])


def _leave() -> None:
    phase, started, nested = _stack.pop()
    total = time.perf_counter() - started
    spent[phase] = spent.get(phase, 0.0) + total - nested
    if _stack:
        _stack[-1][2] += total


def _timed_import(*args: Any, **kwargs: Any) -> Any:
    if _depth[0]:
        return _import(*args, **kwargs)
    _depth[0] += 1
    _enter("import")
    try:
        return _import(*args, **kwargs)
    finally:
        _leave()
        _depth[0] -= 1


def _wrap(module: str, path: str, phase: str) -> None:
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)

    async def timed_async(*args: Any, **kwargs: Any) -> Any:
        _enter(phase)
        try:
            return await original(*args, **kwargs)
        finally:
            _leave()

    def timed(*args: Any, **kwargs: Any) -> Any:
        _enter(phase)
        try:
            return original(*args, **kwargs)
        finally:
            _leave()

    setattr(owner, name, timed_async if inspect.iscoroutinefunction(original) else timed)


PHASES = (
    ("vibe.trading_bot.config.loader", "load_settings", "settings"),
    ("vibe.trading_bot.core.calendar_schedule", "load_schedule", "calendar"),
    ("vibe.trading_bot.core.historical_feed", "HistoricalFeed.load", "data load"),
    ("vibe.trading_bot.core.replay_driver", "ReplayDriver.run", "loop"),
    ("vibe.trading_bot.backtest.runner", "_result", "metrics"),
    ("vibe.trading_bot.backtest.runner", "_benchmark", "benchmark"),
    ("vibe.trading_bot.commands.backtest", "_write", "reports"),
)


def main() -> None:
    """Time the command given after the output path (see the module doc)."""
    out = sys.argv[1]
    builtins.__import__ = _timed_import
    _enter("other")
    for module, path, phase in PHASES:
        _wrap(module, path, phase)
    from vibe.trading_bot import cli

    exit_now = cli.exit_now

    def record_then_exit(exc: SystemExit) -> Any:  # the command's own exit, after the record
        _record(out)
        exit_now(exc)

    cli.exit_now = record_then_exit
    sys.argv = ["vibe", *sys.argv[2:]]
    try:
        cli.main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        _record(out)


def _record(out: str) -> None:
    """Write the phases once (the command may end the process right after)."""
    if _stack:
        _leave()
        record = {**spent, "started": STARTED, "finished": time.time()}
        with open(out, "w", encoding="utf-8") as file:
            json.dump(record, file)


if __name__ == "__main__":
    main()

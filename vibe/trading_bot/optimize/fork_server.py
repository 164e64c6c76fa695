"""The fork server of the local trial pool, started early so its imports overlap ours.

:class:`~vibe.trading_bot.optimize.executors.LocalExecutor` starts its worker
processes from Python's fork server (``multiprocessing`` ``"forkserver"`` start
method): one process that imports :data:`WORKER_PRELOAD` once, then forks a worker
per request, so every worker starts with the backtest imported and no thread of
ours is copied into it. Importing those modules takes the fork server about 1 s of
CPU. Started when the pool is made, that second came after the parent's own
start-up (imports, settings, bars: ~1.4 s) and the pool's first worker waited for
it. :func:`start_fork_server` starts it at the beginning of ``optimize``, so on a
machine with two or more cores the two start-ups run side by side.

Python's documentation: "multiprocessing" > "Contexts and start methods",
``set_forkserver_preload``; ``multiprocessing.forkserver.ensure_running`` spawns the
server and returns without waiting for its imports (a worker's start waits for them).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
from multiprocessing import forkserver

#: imported once by the fork server, so each pool worker starts with them loaded
WORKER_PRELOAD = (
    "vibe.trading_bot.optimize.trial",
    "vibe.trading_bot.backtest.runner",
    "vibe.trading_bot.core.orchestrator",
    "vibe.trading_bot.core.replay_driver",
    "vibe.trading_bot.config.loader",
)


def fork_server_context() -> multiprocessing.context.ForkServerContext:
    """The ``"forkserver"`` context, its server set to preload :data:`WORKER_PRELOAD`."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return context


def start_fork_server() -> None:
    """Start the fork server now (it imports :data:`WORKER_PRELOAD` in the background).

    Idempotent: a running server is kept (the pool made later uses it). The server
    (and Python's resource tracker, started with it) ends when this process ends.
    """
    fork_server_context()
    forkserver.ensure_running()

"""Dask worker preload: ``dask worker ... --preload vibe.trading_bot.optimize.dask_preload``.

Importing this module imports what an ``optimize`` trial runs (the modules the
local pool's fork server preloads, :data:`~.fork_server.WORKER_PRELOAD`: the
backtest, the orchestrator, the settings loader; ~1 s of CPU per worker process on
the reference machine). Dask imports a ``--preload`` module in each worker
process before the worker connects to the scheduler (Dask documentation,
"Customize Initialization", "Preload Scripts"), so a worker started with it takes
its first trial without that second; without it, each worker imports them when the
first ``optimize`` client connects (:func:`~.trial.prepare_worker`), inside that
search's time. Either way the results are the same.
"""

from __future__ import annotations

import importlib

from vibe.trading_bot.optimize.fork_server import WORKER_PRELOAD

for _name in WORKER_PRELOAD:
    importlib.import_module(_name)

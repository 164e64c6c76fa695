"""``optimize``: parameter search (Optuna) with walk-forward validation.

Modules, one idea each:

* :mod:`.space`: ``--space NAME=SPEC`` -> the search dimensions;
* :mod:`.objective`: the score of a trial from its backtest metrics (infeasible below
  ``--min-trades``);
* :mod:`.bars`: the bar frames loaded once on the client and installed once per worker;
* :mod:`.trial`: one trial = one :func:`~vibe.trading_bot.backtest.runner.run_backtest`;
* :mod:`.executors`: a local process pool or a Dask distributed cluster;
* :mod:`.study`: the Optuna study in RDB (SQLite) storage, asked and told in batches;
* :mod:`.walk_forward`: anchored folds over blocks of sessions;
* :mod:`.results`, :mod:`.html`, :mod:`.console`: the JSON, the HTML page, the console.
"""

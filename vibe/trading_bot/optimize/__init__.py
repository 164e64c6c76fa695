"""``optimize``: parameter search (Optuna) with walk-forward validation.

Modules, one idea each:

* :mod:`.space`: ``--space NAME=SPEC`` -> the search dimensions;
* :mod:`.objective`: the score of a trial from its backtest metrics (infeasible below
  ``--min-trades``);
* :mod:`.bars`: the bar frames loaded once on the client and installed once per worker;
  :mod:`.fetch`: without ``--data``, those bars fetched once as a backtest would;
* :mod:`.trial`: one trial = one :func:`~vibe.trading_bot.backtest.runner.run_backtest`;
* :mod:`.executors`: a local process pool or a Dask distributed cluster;
* :mod:`.samplers`, :mod:`.study`: the Optuna samplers and the study in RDB (SQLite)
  storage, asked and told in batches (resumable, executor-independent);
* :mod:`.walk_forward`: anchored folds over blocks of sessions;
* :mod:`.driver`: one run (the search or every fold) on an executor;
* :mod:`.results`, :mod:`.aggregate`, :mod:`.html`, :mod:`.console`: the JSON report,
  the summaries by parameter, the HTML page, the progress bar and the top-trials table.
"""

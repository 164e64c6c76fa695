"""Where trials run: a local process pool, or an existing Dask distributed cluster.

Both run :func:`~vibe.trading_bot.optimize.trial.run_trial` and yield outcomes as
they complete; the study tells Optuna in trial order, so results never depend on
the executor or the worker count (see :mod:`.study`).

* :class:`LocalExecutor`: ``concurrent.futures.ProcessPoolExecutor`` with ``workers``
  processes started by a fork server (fork after the imports, safe with threads;
  see :mod:`.fork_server`); each worker receives the bar set once (its initializer)
  and ignores Ctrl-C.
* :class:`DaskExecutor`: a ``distributed.Client`` on ``tcp://HOST:PORT``; the bar set
  is scattered to every worker once (``broadcast=True``) and each task gets a
  reference to it, never a copy. Workers need this package (and its dependencies)
  installed, at the client's version; one thread per worker process
  (``dask worker --nthreads 1``) runs one backtest at a time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from typing import Any, Protocol

from vibe.common.errors import OperationalError
from vibe.trading_bot.optimize.bars import BarSet
from vibe.trading_bot.optimize.fork_server import fork_server_context
from vibe.trading_bot.optimize.trial import (
    TrialContext,
    TrialOutcome,
    TrialSpec,
    init_local_worker,
    prepare_worker,
    run_trial,
)

DASK_CONNECT_TIMEOUT_SECONDS = 10.0
#: trials submitted ahead per worker: one running and one queued, so a worker never
#: waits for the parent, while trials asked lazily are asked only when one finishes
IN_FLIGHT_PER_WORKER = 2


class TrialExecutor(Protocol):
    """Runs trials somewhere and yields their outcomes as they complete."""

    description: str

    def run(self, context: TrialContext, specs: Iterable[TrialSpec]) -> Iterator[TrialOutcome]:
        """Run ``specs``, each submitted as it is taken; yield outcomes as they finish."""
        ...

    def close(self) -> None:
        """Cancel what has not started and release the workers."""
        ...


class LocalExecutor:
    """A process pool on this machine.

    Args:
        bars: the bar set, sent once to each worker.
        workers: number of worker processes (>= 1).
    """

    def __init__(self, bars: BarSet, workers: int) -> None:
        context = fork_server_context()
        self.description = f"local pool, {workers} worker(s)"
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=init_local_worker,
            initargs=(bars,),
        )
        self._window = IN_FLIGHT_PER_WORKER * workers
        self._pending: set[Future[TrialOutcome]] = set()
        # start every worker now, so they install the bars while the parent opens the
        # study and asks the first trials. The pool starts a worker at a submit, and
        # the first start waits for the fork server's imports: a thread waits for them
        # (blocked on the server's socket, not holding the GIL) instead of the parent.
        threading.Thread(
            target=_start_workers, args=(self._pool, workers), name="pool-start", daemon=True
        ).start()

    def run(self, context: TrialContext, specs: Iterable[TrialSpec]) -> Iterator[TrialOutcome]:
        """Keep up to ``IN_FLIGHT_PER_WORKER`` trials per worker submitted; yield outcomes.

        The next spec is taken only when a trial finishes (after its outcome was
        yielded), so lazily asked trials are asked while the workers are busy.

        Raises:
            Exception: what a trial raised (a bug, not a bad parameter value).
        """
        todo = iter(specs)
        self._pending = set()
        self._fill(context, todo)
        while self._pending:
            done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                self._fill(context, todo)

    def _fill(self, context: TrialContext, todo: Iterator[TrialSpec]) -> None:
        while len(self._pending) < self._window:
            spec = next(todo, None)
            if spec is None:
                return
            self._pending.add(self._pool.submit(run_trial, context, spec))

    def close(self) -> None:
        """Cancel queued trials, wait for the running ones, stop the workers."""
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _started() -> None:
    """A no-op task: submitting it starts one of the pool's worker processes."""


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start ``workers`` pool processes (one per no-op task: none is idle yet)."""
    with contextlib.suppress(RuntimeError):  # the pool was shut down meanwhile
        for _ in range(workers):
            pool.submit(_started)


class DaskExecutor:
    """An existing Dask distributed cluster (``dask scheduler`` + ``dask worker``).

    Args:
        bars: the bar set, scattered to every worker once.
        address: the scheduler, ``tcp://HOST:PORT``.

    Raises:
        OperationalError: the scheduler does not answer within
            ``DASK_CONNECT_TIMEOUT_SECONDS`` or has no worker.
    """

    def __init__(self, bars: BarSet, address: str) -> None:
        from distributed import Client

        try:
            self._client = Client(
                address, timeout=DASK_CONNECT_TIMEOUT_SECONDS, set_as_default=False
            )
        except OSError as exc:
            raise OperationalError(
                f"--address={address}: no Dask scheduler answered ({exc}); start one with "
                "`dask scheduler` and workers with `dask worker tcp://HOST:PORT`"
            ) from exc
        found = self._client.scheduler_info(n_workers=-1).get("workers", {})
        if not found:
            self._client.close()
            raise OperationalError(f"--address={address}: the Dask cluster has no worker")
        self.description = f"dask {address}, {len(found)} worker(s)"
        threads = sum(int(worker.get("nthreads", 1)) for worker in found.values())
        self._window = IN_FLIGHT_PER_WORKER * max(1, threads)
        self._bars = self._client.scatter(bars, broadcast=True, hash=False)
        self._pending: list[Any] = []
        # each worker imports the backtest and installs the bars now, while the parent
        # opens the study and asks the first trials (not in the first trial's time)
        self._warm_up = [
            self._client.submit(prepare_worker, self._bars, workers=[worker], pure=False)
            for worker in found
        ]

    def run(self, context: TrialContext, specs: Iterable[TrialSpec]) -> Iterator[TrialOutcome]:
        """Keep up to ``IN_FLIGHT_PER_WORKER`` trials per worker thread submitted; yield outcomes.

        Raises:
            Exception: what a trial raised on its worker.
        """
        from distributed import as_completed as dask_completed

        todo = iter(specs)
        self._pending = [self._submit(context, spec) for spec in islice(todo, self._window)]
        completed = dask_completed(self._pending, loop=self._client.loop)
        for future in completed:
            self._pending.remove(future)
            outcome: TrialOutcome = future.result()
            yield outcome
            spec = next(todo, None)
            if spec is not None:
                submitted = self._submit(context, spec)
                self._pending.append(submitted)
                completed.add(submitted)

    def _submit(self, context: TrialContext, spec: TrialSpec) -> Any:
        return self._client.submit(run_trial, context, spec, self._bars, pure=False)

    def close(self) -> None:
        """Cancel unfinished trials and disconnect (the cluster keeps running)."""
        if self._pending or self._warm_up:
            self._client.cancel([*self._pending, *self._warm_up])
        self._client.close()


def make_executor(kind: str, bars: BarSet, workers: int, address: str | None) -> TrialExecutor:
    """``local`` -> :class:`LocalExecutor`; ``dask`` -> :class:`DaskExecutor` on ``address``.

    Raises:
        OperationalError: the Dask cluster cannot be reached.
    """
    if kind == "dask" and address is not None:
        return DaskExecutor(bars, address)
    return LocalExecutor(bars, workers)

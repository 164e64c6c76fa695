"""kill -9 right after a commit, restart, and end with exactly an uninterrupted run's records.

The real ``python -m vibe.trading_bot run --replay`` process kills itself right
after its N-th SQLite commit (``VIBE_CRASH_AFTER_COMMIT``); a second run on the
same ``DATA_DIR`` resumes. For every N tried, the trades, fills, every order's
final state, open positions, daily metrics and the progress marks must equal
those of a run that was never interrupted.

The window (AAPL and AMZN, three sessions) holds a stop-loss exit, end-of-day
exits and three session closes. The fast test tries every commit to
``trades.db`` and ``metrics.db`` (the bar cursor commits in between change
nothing else); the ``exhaustive`` test (``make test-exhaustive``) tries every commit.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vibe.tests.trading_bot.e2e.crash_runs import (
    KILLED,
    Window,
    commit_trace,
    crash_then_resume,
    describe,
    differences,
    kill_at,
    log_tail,
    records,
    replay,
)

WINDOW = Window("AAPL,AMZN", "2025-06-05", "2025-06-09")
#: The window of the random kills: four symbols, twelve sessions.
LONG_WINDOW = Window("SPY,QQQ,AAPL,MSFT", "2025-06-05", "2025-06-20")
SEEDS = range(10)
WORKERS = 2


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, object]]:
    folder = tmp_path_factory.mktemp("reference")
    trace = commit_trace(folder, WINDOW)
    expected = records(folder / "data")
    assert expected["trades"], "the window must trade"
    assert {t[7] for t in expected["trades"]} >= {"stop_loss", "end_of_day"}
    return trace, expected


def interesting(trace: list[str]) -> list[int]:
    """1-based numbers of every trades.db / metrics.db commit, and the first and last commit.

    The commits in between only move the bar cursor in state.db (the exhaustive
    test tries those too).
    """
    chosen = {1, len(trace)}
    chosen.update(i for i, name in enumerate(trace, start=1) if name != "state.db")
    return sorted(chosen)


def resume_each(tmp_path: Path, expected: dict[str, object], points: list[int]) -> None:
    def attempt(commit: int) -> str | None:
        folder = tmp_path / f"kill_{commit:04d}"
        crashed, resumed = crash_then_resume(folder, WINDOW, commit)
        if crashed != KILLED:
            return f"commit {commit}: the crash run exited {crashed}\n{log_tail(folder)}"
        if resumed != 0:
            return f"commit {commit}: the restart exited {resumed}\n{log_tail(folder)}"
        diff = differences(expected, records(folder / "data"))  # type: ignore[arg-type]
        return f"commit {commit}: {describe(diff)}" if diff else None

    with ThreadPoolExecutor(WORKERS) as pool:
        failures = [f for f in pool.map(attempt, points) if f is not None]
    assert not failures, f"{len(failures)} of {len(points)} kill points differ:\n" + "\n".join(
        failures[:5]
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_after_each_trading_commit_resumes_to_the_same_records(
    tmp_path: Path, reference: tuple[list[str], dict[str, object]]
) -> None:
    trace, expected = reference
    points = interesting(trace)
    assert len(points) >= 15
    resume_each(tmp_path, expected, points)


@pytest.mark.exhaustive
@pytest.mark.timeout(3600)
def test_kill_after_every_commit_resumes_to_the_same_records(
    tmp_path: Path, reference: tuple[list[str], dict[str, object]]
) -> None:
    trace, expected = reference
    resume_each(tmp_path, expected, list(range(1, len(trace) + 1)))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_9_at_random_moments_then_restart_resumes_to_the_same_records(
    tmp_path: Path,
) -> None:
    """A real SIGKILL from outside at a seeded random moment of the run (10 seeds)."""
    started = time.monotonic()
    done = replay(tmp_path / "reference", LONG_WINDOW)
    took = time.monotonic() - started
    assert done.returncode == 0, log_tail(tmp_path / "reference")
    expected = records(tmp_path / "reference" / "data")
    assert len(expected["trades"]) >= 5

    def attempt(seed: int) -> str | None:
        folder = tmp_path / f"seed_{seed}"
        moment = random.Random(seed).uniform(0.5, 0.95 * took)
        killed = kill_at(folder, LONG_WINDOW, moment)
        resumed = replay(folder, LONG_WINDOW).returncode
        if resumed != 0:
            return f"seed {seed}: the restart exited {resumed}\n{log_tail(folder)}"
        diff = differences(expected, records(folder / "data"))
        note = "" if killed == KILLED else " (ended before the kill)"
        return f"seed {seed} at {moment:.2f} s{note}: {describe(diff)}" if diff else None

    with ThreadPoolExecutor(WORKERS) as pool:
        failures = [f for f in pool.map(attempt, SEEDS) if f is not None]
    assert not failures, "\n".join(failures[:3])

r"""``backtest`` against backtesting.py, whole command against whole script (issue 23).

Called by ``bench_backtest.py`` (``--vs-backtesting-py`` runs only this part). The
command is the one a trader types::

    python -m vibe.trading_bot backtest --data ../shared/data/bars_1m/alpaca_spy_2024-03_2025-04 \\
        --symbols SPY --timeframe 1m --start 2024-03-26 --end 2025-03-31

with its JSON and HTML reports, in a fresh ``DATA_DIR`` each time (cold caches, as a
new user runs it) and again in one warm ``DATA_DIR``; backtesting.py's side is
``backtesting_py_orb.py`` (same bars, same ORB rules, ``Backtest.run``, statistics
printed). Runs go in rounds (ours fresh, theirs, ours warm), so that the load of the
machine, which drifts by 20-40 % over minutes on the 2-core VM, weighs on all three
alike; the median of ``BENCH_SIDE_REPEAT`` (default 5) each is reported with the
ratio (target <= 0.5), peak RSS (target < 250 MB) and our per-phase breakdown
(``backtest_phases.py``, the median of each phase).
Last, the start-up commands ``--help`` and ``validate-config`` (default settings, no
``.env``): median and range of ``STARTUP_REPEAT`` (10) runs each (target < 0.3 s).

Both run with bytecode: the package is compiled once first (as ``pip install``
does), and ``PYTHONDONTWRITEBYTECODE`` is removed from the children's environment.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPY_1M = DATA / "bars_1m" / "alpaca_spy_2024-03_2025-04"
START, END = "2024-03-26", "2025-03-31"
REPEAT = int(os.environ.get("BENCH_SIDE_REPEAT", "5"))
TARGET_RATIO, TARGET_RSS_MB = 0.5, 250.0
STARTUP_REPEAT, TARGET_STARTUP_S = 10, 0.3
PHASES = ("import", "settings", "calendar", "data load", "loop", "metrics", "benchmark",
          "reports", "other")  # fmt: skip
COMMAND = ["backtest", f"--data={SPY_1M}", "--symbols=SPY", "--timeframe=1m",
           f"--start={START}", f"--end={END}"]  # fmt: skip


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(DATA_DIR=str(folder / "data"), RESULTS_DIR=str(folder / "results"))
    return env


def _spawn(args: list[str], folder: Path) -> tuple[float, float]:
    """Run ``python *args`` to completion; ``(wall s, peak RSS MB)``; raises on failure."""
    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, *args], cwd=folder, env=_env(folder), stdout=out, stderr=out
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise RuntimeError(out.read().decode(errors="replace")[-2000:])
    return wall, usage.ru_maxrss / 1024.0


def ours(folder: Path) -> tuple[float, float]:
    """The ``backtest`` command once in ``folder`` (its DATA_DIR and RESULTS_DIR)."""
    (folder / "none.env").touch()  # an empty env file: no developer .env is read
    return _spawn(["-m", "vibe.trading_bot", *COMMAND, f"--env-file={folder / 'none.env'}"],
                  folder)  # fmt: skip


def theirs(folder: Path) -> tuple[float, float]:
    """backtesting.py's script once."""
    return _spawn([str(ROOT / "benchmarks" / "backtesting_py_orb.py"), START, END], folder)


def phases(folder: Path) -> dict[str, float]:
    """Our command once under ``backtest_phases.py``: seconds per phase, start-up and exit."""
    out = folder / "phases.json"
    (folder / "none.env").touch()
    began = time.time()
    _spawn([str(ROOT / "benchmarks" / "backtest_phases.py"), str(out), *COMMAND,
            f"--env-file={folder / 'none.env'}"], folder)  # fmt: skip
    ended = time.time()
    record: dict[str, float] = json.loads(out.read_text())
    record["interpreter"] = record.pop("started") - began
    record["exit"] = ended - record.pop("finished")
    return record


def startup(args: tuple[str, ...]) -> list[float]:
    """Wall seconds of ``python -m vibe.trading_bot *args``, STARTUP_REPEAT runs (no ``.env``)."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        return [_spawn(["-m", "vibe.trading_bot", *args], Path(tmp))[0]
                for _ in range(STARTUP_REPEAT)]  # fmt: skip


def report_startup() -> None:
    """Print median and range of ``--help`` and ``validate-config`` (target < 0.3 s each)."""
    for args in (("--help",), ("validate-config",)):
        walls = startup(args)
        print(f"  {' '.join(args):28s} wall {statistics.median(walls):6.3f} s  "
              f"(range {min(walls):.3f}-{max(walls):.3f}, median of {len(walls)}; "
              f"target < {TARGET_STARTUP_S} s)")  # fmt: skip


def _fresh(run: Callable[[Path], T]) -> T:
    with tempfile.TemporaryDirectory(prefix="bench-side-") as tmp:
        return run(Path(tmp))


def report() -> None:
    """Print both walls, the ratios, peak RSS and our phases (see the module doc)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "vibe")],  # noqa: S603
                   check=True, env=_env(ROOT), stdout=subprocess.DEVNULL)  # fmt: skip
    cold, other, warm = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-side-warm-") as tmp:
        ours(Path(tmp)), _fresh(theirs)  # the page cache for both; DATA_DIR's caches
        for _ in range(REPEAT):  # one round of each at a time: load drifts over minutes
            cold.append(_fresh(ours))
            other.append(_fresh(theirs))
            warm.append(ours(Path(tmp)))
    split = [_fresh(phases) for _ in range(REPEAT)]
    theirs_wall = statistics.median(w for w, _ in other)
    print(f"backtest vs backtesting.py, SPY 1m {START}..{END}, median of {REPEAT} each:")
    print(f"  backtesting.py script        wall {theirs_wall:6.3f} s  "
          f"peak RSS {max(r for _, r in other):6.1f} MB")  # fmt: skip
    for label, runs in (("ours, fresh DATA_DIR", cold), ("ours, warm DATA_DIR", warm)):
        wall = statistics.median(w for w, _ in runs)
        print(f"  {label:28s} wall {wall:6.3f} s  peak RSS {max(r for _, r in runs):6.1f} MB  "
              f"ratio {wall / theirs_wall:4.2f} (target <= {TARGET_RATIO}; RSS < "
              f"{TARGET_RSS_MB:.0f} MB)")  # fmt: skip
    names = ("interpreter", *PHASES, "exit")
    parts = {name: statistics.median(s.get(name, 0.0) for s in split) for name in names}
    print("  our phases (fresh DATA_DIR, medians): "
          + ", ".join(f"{name} {parts[name]:.3f}" for name in names)
          + f" = {sum(parts.values()):.3f} s")  # fmt: skip
    report_startup()

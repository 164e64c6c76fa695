"""Backtest throughput, whole-command wall time, peak RSS and replay time-to-ready.

Run with ``.venv/bin/python benchmarks/bench_backtest.py``. Prints, for
(a) the real SPY 1-minute year (``../shared/data/bars_1m/alpaca_spy_2024-03_2025-04``,
sessions 2024-03-27..2025-04-01) and (b) the seven symbols of the 5-minute sample
(``examples/data``, 2025-06-05..2025-08-28), default settings (filters on):

* the ``backtest`` command as a subprocess for (a) and (b): wall time from spawn to
  exit, the time until the summary and the JSON report are out (the ``report:``
  line on stdout, printed before the HTML chart is rendered), and peak RSS
  (``os.wait4``); for (a) also without the report writers (the same command with
  ``commands.backtest._write`` replaced by a no-op: the difference is the report
  writing and its imports);
* ``run --replay examples/data --speed 60``: wall time from spawn until
  ``GET /health/ready`` answers 200 (``DATA_DIR`` in a temporary folder,
  ``HEALTH_CHECK_HOST=127.0.0.1``, a free port), then SIGTERM, its exit status and
  how long it took to exit;
* in-process bars/s of ``await run_backtest(settings, request)`` (the whole daemon
  path: orchestrator start-up phases with the calendar build, feed load, replay
  loop, shutdown, result metrics; report writing excluded): the first run (cold:
  lazy imports), then the best and the median of the following ones; also the
  loop-only time (``ReplayDriver.run``) and the feed load (``HistoricalFeed.load``),
  measured by wrapping those two methods.

First (and alone with ``--vs-backtesting-py``), the command side by side with
backtesting.py running the same ORB rules on the same bars, with our per-phase
breakdown (``backtest_side_by_side.py``; target: our wall <= 0.5x theirs, peak RSS
< 250 MB; then the wall of ``--help`` and ``validate-config``, target < 0.3 s).

The subprocesses run first, while this process is small (a child's ``ru_maxrss``
starts from its parent's resident size at fork time).

Targets (issue 10, whole daemon path on a simulated clock): (a) >= 300,000 bars/s
in-process and the whole command under 2 s including start-up; peak RSS < 300 MB;
ready < 3 s after start. No threshold is enforced here. ``BENCH_REPEAT`` (default 5)
sets the in-process repetitions and ``BENCH_CMD_REPEAT`` (default 3) the command ones
(the best is reported: the machine is shared, the minimum is the least disturbed).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from installed_package import compile_package

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPY_1M = DATA / "bars_1m" / "alpaca_spy_2024-03_2025-04"
SAMPLE = ROOT / "examples" / "data"
SAMPLE_SYMBOLS = ("AAPL", "AMZN", "GOOGL", "MSFT", "QQQ", "SPY", "TSLA")
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
CMD_REPEAT = int(os.environ.get("BENCH_CMD_REPEAT", "3"))
READY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Case:
    """One backtest workload."""

    label: str
    start: date
    end: date
    symbols: tuple[str, ...]
    timeframe: str
    data: Path


CASES = (
    Case("(a) SPY 1m year", date(2024, 3, 27), date(2025, 4, 1), ("SPY",), "1m", SPY_1M),
    Case("(b) 7 symbols 5m", date(2025, 6, 5), date(2025, 8, 28), SAMPLE_SYMBOLS, "5m", SAMPLE),
)


@dataclass
class Timings:
    """Seconds spent in the wrapped phases of the last run, and its bar count."""

    phases: dict[str, float] = field(default_factory=dict)
    bars: int = 0


def _wrap(cls: type, name: str, key: str, timings: Timings) -> None:
    original: Callable[..., Awaitable[Any]] = getattr(cls, name)

    async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            timings.phases[key] = timings.phases.get(key, 0.0) + time.perf_counter() - t0
            processor = getattr(getattr(self, "sessions", None), "processor", None)
            if processor is not None:
                timings.bars = processor.bars_processed

    setattr(cls, name, timed)


def in_process(case: Case, timings: Timings) -> list[tuple[float, dict[str, float], int]]:
    """Run ``run_backtest`` REPEAT times; ``[(seconds, phases, bars), ...]``, cold run first."""
    from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
    from vibe.trading_bot.config.loader import load_settings

    settings = load_settings(None, {"symbols": list(case.symbols), "timeframe": case.timeframe})
    request = BacktestRequest(
        case.start, case.end, case.symbols, case.timeframe, case.data, params={}
    )
    runs = []
    for _ in range(REPEAT):
        timings.phases.clear()
        t0 = time.perf_counter()
        result = asyncio.run(run_backtest(settings, request))
        elapsed = time.perf_counter() - t0
        runs.append((elapsed, dict(timings.phases), timings.bars))
        assert result.equity_curve
    return runs


def report_in_process() -> None:
    """Print the in-process figures of every case."""
    from vibe.trading_bot.core.historical_feed import HistoricalFeed
    from vibe.trading_bot.core.replay_driver import ReplayDriver

    timings = Timings()
    _wrap(ReplayDriver, "run", "loop", timings)
    _wrap(HistoricalFeed, "load", "load", timings)
    print(
        f"in-process run_backtest (first run cold; then the best and the median of "
        f"{REPEAT - 1} warm runs, each phase's best taken on its own):"
    )
    for case in CASES:
        runs = in_process(case, timings)
        bars = runs[0][2]
        _print_run(case.label, "cold", bars, runs[0][0], runs[0][1])
        warm = runs[1:] or runs
        best = {key: min(r[1].get(key, 0.0) for r in warm) for key in ("loop", "load")}
        _print_run(case.label, "best", bars, min(r[0] for r in warm), best)
        _print_run(case.label, "median", bars, statistics.median(r[0] for r in warm), None)


def _print_run(
    label: str, name: str, bars: int, seconds: float, phases: dict[str, float] | None
) -> None:
    line = f"  {label:18s} {name:>6s}: {bars:>7,} bars  total {seconds:6.3f} s = "
    line += f"{bars / seconds:>9,.0f} bars/s"
    if phases is not None:
        loop, load = phases.get("loop", 0.0), phases.get("load", 0.0)
        line += f" | loop {loop:6.3f} s = {bars / loop:>9,.0f} bars/s | feed load {load:5.3f} s"
    print(line)


def _wait_rusage(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Reap ``proc``; ``(exit status, peak RSS in MB)``."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024.0


NO_REPORT = (
    "import sys\n"
    "import vibe.trading_bot.commands.backtest as b\n"
    "b._write = lambda *args, **kwargs: None\n"
    "from vibe.trading_bot.cli import app\n"
    "sys.argv = ['vibe-trading-bot', *sys.argv[1:]]\n"
    "app()\n"
)


def command(case: Case, folder: Path, *, reports: bool) -> tuple[float, float, float]:
    """Run the ``backtest`` command once; ``(wall s, s until the summary, peak RSS MB)``.

    "Until the summary" is when the ``report: <json>`` line (printed after the JSON
    report and the summary table, before the HTML chart is rendered) reaches stdout;
    without the report writers it equals the wall time.
    """
    (folder / "none.env").touch()  # an empty env file: the developer's .env is not read
    args = [
        "backtest",
        f"--start={case.start.isoformat()}",
        f"--end={case.end.isoformat()}",
        f"--symbols={','.join(case.symbols)}",
        f"--timeframe={case.timeframe}",
        f"--data={case.data}",
        f"--output={folder / 'report.json'}",
        f"--env-file={folder / 'none.env'}",
    ]
    head = ["-m", "vibe.trading_bot"] if reports else ["-c", NO_REPORT]
    env = {**os.environ, "RESULTS_DIR": str(folder), "DATA_DIR": str(folder / "data")}
    summary = None
    with tempfile.TemporaryFile() as errors:
        t0 = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, *head, *args],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if summary is None and line.startswith(b"report:"):
                summary = time.perf_counter() - t0
        code, rss = _wait_rusage(proc)
        elapsed = time.perf_counter() - t0
        if code != 0:
            errors.seek(0)
            detail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"backtest exited {code}: {detail}")
    return elapsed, summary if summary is not None else elapsed, rss


def report_commands() -> None:
    """Print the whole-command wall times and peak RSS."""
    print(f"backtest command as a subprocess (best of {CMD_REPEAT}; peak RSS of that run):")
    variants = [(CASES[0], True), (CASES[0], False), (CASES[1], True)]
    for case, reports in variants:
        with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
            runs = [command(case, Path(tmp), reports=reports) for _ in range(CMD_REPEAT)]
        wall, summary, rss = min(runs)
        what = "with JSON+HTML reports" if reports else "without report writers"
        print(
            f"  {case.label:18s} {what:24s} wall {wall:6.3f} s (summary+JSON after "
            f"{summary:6.3f} s)  peak RSS {rss:6.1f} MB"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:  # noqa: S310 - 127.0.0.1
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def time_to_ready() -> tuple[float, int, float, float]:
    """``run --replay examples/data --speed 60``; ``(ready s, exit code, stop s, RSS MB)``."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-ready-") as tmp:
        env = {
            **os.environ,
            "DATA_DIR": str(Path(tmp) / "data"),
            "HEALTH_CHECK_HOST": "127.0.0.1",
            "HEALTH_CHECK_PORT": str(port),
        }
        url = f"http://127.0.0.1:{port}/health/ready"
        (Path(tmp) / "none.env").touch()
        t0 = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "vibe.trading_bot",
                "run",
                "--replay",
                str(SAMPLE),
                "--speed",
                "60",
                f"--env-file={Path(tmp) / 'none.env'}",
            ],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ready = None
        while time.perf_counter() - t0 < READY_TIMEOUT_SECONDS and proc.poll() is None:
            if _ready(url):
                ready = time.perf_counter() - t0
                break
            time.sleep(0.01)
        stop0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code, rss = _wait_rusage(proc)
        stopped = time.perf_counter() - stop0
    if ready is None:
        raise RuntimeError(f"run --replay never became ready (exit {code})")
    return ready, code, stopped, rss


def report_ready() -> None:
    """Print the replay daemon's time-to-ready (best of CMD_REPEAT)."""
    runs = [time_to_ready() for _ in range(CMD_REPEAT)]
    ready, code, stopped, rss = min(runs)
    print(
        f"run --replay examples/data --speed 60 (best of {CMD_REPEAT}): ready after "
        f"{ready:5.3f} s; SIGTERM -> exit {code} in {stopped:5.3f} s; peak RSS {rss:6.1f} MB"
    )


def main() -> None:
    """Print every figure (see the module doc); ``--vs-backtesting-py``: only that part."""
    for case in CASES:
        if not case.data.is_dir():
            raise SystemExit(f"missing data folder {case.data}")
    compile_package()  # see installed_package: timed as installed
    if importlib.util.find_spec("backtesting") is not None:
        from backtest_side_by_side import report as side_by_side

        side_by_side()
    else:
        print("backtesting.py is not installed (pip install -e '.[bench]'): no side by side")
    if "--vs-backtesting-py" in sys.argv:
        return
    report_commands()  # first: see the module doc on ru_maxrss
    report_ready()
    report_in_process()


if __name__ == "__main__":
    main()

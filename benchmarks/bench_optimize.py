"""``optimize`` against backtesting.py's ``Backtest.optimize``: one 48-point grid, one run.

Run with ``.venv/bin/python benchmarks/bench_optimize.py`` (needs the ``bench`` extra:
``pip install -e '.[bench]'`` for backtesting.py). On the real SPY 1-minute year
(``../shared/data/bars_1m/alpaca_spy_2024-03_2025-04``, sessions 2024-03-27..2025-04-01)
the grid ``orb_minutes`` 5,15,30,60 x ``take_profit_r`` 1.0..2.0 step 0.5 x
``trend_filter`` true,false x ``allow_short`` true,false (48 points), objective Sharpe,
``volume_filter=false`` fixed, is searched by:

1. ``python -m vibe.trading_bot optimize --executor local --workers 2`` (subprocess);
2. the same with ``--executor dask`` on a cluster started here beforehand
   (``dask scheduler`` + 2 ``dask worker --nthreads 1`` on 127.0.0.1; their start-up is
   not timed, as a cluster exists before ``optimize`` is pointed at it);
3. backtesting.py 0.6 ``Backtest.optimize`` over the same grid with its own process
   pool limited to 2 processes (``backtesting.Pool``), and the ORB strategy below.

``--rounds N`` repeats the three runs N times in turn and ends with the medians and
ranges over the rounds, the ratios taken within each round (this 2-core VM drifts by
20-40 % between runs minutes apart, so one round alone says little).

Reported: wall time (spawn to exit for 1 and 2; the ``optimize`` call for 3, after the
data is loaded), trials/s, the peak RSS (VmHWM) of each worker process (sampled from
``/proc`` every 0.1 s; local: the pool workers, then the fork server and the
resource tracker; dask: the worker processes under each ``dask worker`` nanny;
backtesting.py: its pool processes), the ratios ours/backtesting.py (target <= 0.5) and
dask/local (target <= 1.3). Nothing is enforced.

The backtesting.py ORB follows ``vibe.common.strategies.orb`` and
``vibe.common.strategies.orb_rules`` as closely as its model allows: opening range of the bars
starting in the first ``orb_minutes``; the first bar after it closing beyond the range
is the session's only breakout; range width 0.1..3.0 % of its midpoint; longs need
close > session VWAP (typical price) with ``trend_filter``; no entry once a bar closes
within 60 minutes of the session close; stop at the other side of the range,
take-profit at ``take_profit_r`` x R; 1 % of equity risked, position <= 25 % of
equity; flat at the first bar ending within 5 minutes of the close. Differences:
backtesting.py fills the market entry at the next bar's open with no slippage and no
commission (ours: 1 bps slippage and per-share commission, the defaults); R and the
exits are not recomputed from the fill; the stop/take-profit order within a bar
follows backtesting.py's rules; no buying-power collar, daily-loss or PDT checks; its
Sharpe is from daily equity returns, ours from per-bar returns.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from installed_package import compile_package

try:  # the bench extra
    from backtesting import Strategy
except ImportError:  # pragma: no cover - reported when the comparison runs
    Strategy = object

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPY_1M = DATA / "bars_1m" / "alpaca_spy_2024-03_2025-04"
START, END = "2024-03-27", "2025-04-01"
WORKERS = 2
GRID = {
    "orb_minutes": [5, 15, 30, 60],
    "take_profit_r": [1.0, 1.5, 2.0],
    "trend_filter": [True, False],
    "allow_short": [True, False],
}
SPACE = [
    "--space=orb_minutes=5,15,30,60",
    "--space=take_profit_r=1.0:2.0:0.5",
    "--space=trend_filter=true,false",
    "--space=allow_short=true,false",
]
POINTS = 48


class RssSampler:
    """Peak RSS (VmHWM, MB) of ``roots`` and all their descendants, sampled every 0.1 s."""

    def __init__(self, *roots: int) -> None:
        self.roots = list(roots)
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _targets(self) -> list[int]:
        found, frontier = [], list(self.roots)
        while frontier:
            pid = frontier.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):  # a child may be any thread's
                try:
                    frontier += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    continue
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self._targets():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        mb = int(line.split()[1]) / 1024
                        self.peaks[pid] = max(self.peaks.get(pid, 0.0), mb)
            time.sleep(0.1)


def run_ours(extra: list[str]) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-optimize-"))
    out = home / "opt.json"
    env = dict(os.environ, RESULTS_DIR=str(home / "results"), DATA_DIR=str(home / "data"))
    args = [
        sys.executable, "-m", "vibe.trading_bot", "optimize", "--start", START, "--end", END,
        "--symbols", "SPY", "--timeframe", "1m", "--data", str(SPY_1M),
        "--param", "volume_filter=false", *SPACE, "--output", str(out), *extra,
    ]  # fmt: skip
    began = time.perf_counter()
    with (home / "log.txt").open("w") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            args, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        with RssSampler(proc.pid) as rss:
            code = proc.wait()
    wall = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"optimize failed ({code}): {(home / 'log.txt').read_text()[-2000:]}")
    report = json.loads(out.read_text())
    main_rss = rss.peaks.pop(proc.pid, 0.0)
    workers = sorted(rss.peaks.values(), reverse=True)
    return {"wall": wall, "trials": len(report["trials"]), "best": report["best"],
            "main_rss": main_rss, "worker_rss": workers}  # fmt: skip


def start_cluster(home: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    import socket

    from distributed import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    commands = [["scheduler", "--host", "127.0.0.1", "--port", str(port)]]
    preload = ["--preload", "vibe.trading_bot.optimize.dask_preload"]  # as the README deploys
    commands += [["worker", address, "--nthreads", "1", "--host", "127.0.0.1", *preload]] * WORKERS
    procs = []
    # the workers as the README deploys them for optimize: Dask's statistical profiler
    # (a thread walking the task's stack every 10 ms) off, ~5-15 % of a CPU-bound trial
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED="False")
    for i, command in enumerate(commands):
        with (home / f"dask-{i}.log").open("w") as log:
            argv = [sys.executable, "-m", "dask", *command, "--no-dashboard"]
            proc = subprocess.Popen(  # noqa: S603 - our interpreter
                argv, stdout=log, stderr=subprocess.STDOUT, env=env
            )
            procs.append(proc)
    with Client(address, timeout=60) as client:
        client.wait_for_workers(WORKERS, timeout=120)
    return address, procs


def run_dask() -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    address, procs = start_cluster(home)
    try:
        nannies = [p.pid for p in procs[1:]]  # `dask worker` runs its worker as a child
        with RssSampler(*nannies) as workers:
            result = run_ours(["--executor", "dask", "--address", address])
        peaks = {pid: mb for pid, mb in workers.peaks.items() if pid not in nannies}
        result["worker_rss"] = sorted(peaks.values(), reverse=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    return result


def spy_frame() -> pd.DataFrame:
    frame = pd.read_csv(SPY_1M / "SPY_1m.csv")
    index = pd.to_datetime(frame.pop("timestamp"), utc=True).dt.tz_convert("America/New_York")
    frame.index = pd.DatetimeIndex(index).tz_localize(None)
    frame.columns = [c.capitalize() for c in frame.columns]
    return frame.loc[START : pd.Timestamp(END) + pd.Timedelta(days=1)]


def session_features(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-bar session features.

    Minutes since the open, session length (minutes), session VWAP, day id, and the
    mean volume of the 20 bars before it (across sessions, as ``volume_ok``).
    """
    idx = pd.DatetimeIndex(frame.index)
    day = idx.normalize()
    minute = (idx - day).total_seconds().to_numpy() / 60 - 570  # 09:30 ET = minute 0
    last = pd.Series(minute, index=idx).groupby(day).transform("max").to_numpy()
    typical = (frame["High"] + frame["Low"] + frame["Close"]) / 3 * frame["Volume"]
    vwap = typical.groupby(day).cumsum() / frame["Volume"].groupby(day).cumsum()
    day_id = pd.factorize(day)[0]
    prior = frame["Volume"].rolling(20, min_periods=1).sum().shift(1).fillna(0) / 20
    return {"minute": minute, "length": last + 1, "vwap": vwap.to_numpy(), "day": day_id,
            "prior_volume": prior.to_numpy()}  # fmt: skip


#: per-bar session features of the backtesting.py run (inherited by its forked pool)
FEATURES: dict[str, np.ndarray] = {}


class Orb(Strategy):  # type: ignore[misc,valid-type]
    """The ORB rules of the module docstring, on backtesting.py."""

    orb_minutes = 15
    take_profit_r = 2.0
    trend_filter = True
    allow_short = True
    volume_filter = False  # the optimize grid fixes volume_filter=false

    def init(self) -> None:
        """Per-run state: the session and its opening range."""
        self.day = -1
        self.done = True
        self.high = self.low = 0.0

    def next(self) -> None:
        """One bar: range, breakout with its filters, bracket entry, flat by the close."""
        i = len(self.data) - 1
        minute, length = FEATURES["minute"][i], FEATURES["length"][i]
        if FEATURES["day"][i] != self.day:
            self.day, self.done = FEATURES["day"][i], False
            self.high, self.low = -np.inf, np.inf
        if self.position and minute + 1 >= length - 5:
            self.position.close()
            return
        bar_high, bar_low, close = self.data.High[-1], self.data.Low[-1], self.data.Close[-1]
        if minute < self.orb_minutes:
            self.high, self.low = max(self.high, bar_high), min(self.low, bar_low)
            return
        if self.done or self.position:
            return
        if minute + 1 > length - 60 or not np.isfinite(self.high):
            self.done = True
            return
        width = (self.high - self.low) / ((self.high + self.low) / 2) * 100
        is_long, is_short = close > self.high, self.allow_short and close < self.low
        if not (is_long or is_short):
            return
        self.done = True
        vwap = FEATURES["vwap"][i]
        if not 0.1 <= width <= 3.0:
            return
        if self._filtered(i, is_long, is_short, close, vwap):
            return
        stop = self.low if is_long else self.high
        risk = abs(close - stop)
        size = int(min(self.equity * 0.01 / risk, self.equity * 0.25 / close))
        if size < 1:
            return
        target = close + self.take_profit_r * risk * (1 if is_long else -1)
        order = self.buy if is_long else self.sell
        order(size=size, sl=stop, tp=target)

    def _filtered(self, i: int, is_long: bool, is_short: bool, close: float, vwap: float) -> bool:
        """The trend (VWAP) and volume filters refuse the breakout."""
        if self.trend_filter and ((is_long and close <= vwap) or (is_short and close >= vwap)):
            return True
        return bool(self.volume_filter and self.data.Volume[-1] < 1.5 * FEATURES["prior_volume"][i])


def run_backtesting_py() -> dict[str, Any]:
    import backtesting
    from backtesting import Backtest

    frame = spy_frame()
    original_pool = backtesting.Pool
    backtesting.Pool = lambda *a, **k: original_pool(WORKERS, *a[1:], **k)  # type: ignore[assignment]
    FEATURES.update(session_features(frame))
    bt = Backtest(frame, Orb, cash=100_000, commission=0.0,
                  finalize_trades=True)  # fmt: skip
    with RssSampler(os.getpid()) as rss:
        began = time.perf_counter()
        stats, heatmap = bt.optimize(**GRID, maximize="Sharpe Ratio", return_heatmap=True)
        wall = time.perf_counter() - began
    rss.peaks.pop(os.getpid(), None)
    best = dict(zip(heatmap.index.names, heatmap.idxmax(), strict=True))
    return {"wall": wall, "trials": int(heatmap.size), "best": best,
            "sharpe": float(heatmap.max()), "trades": int(stats["# Trades"]),
            "worker_rss": sorted(rss.peaks.values(), reverse=True)}  # fmt: skip


def _line(label: str, result: dict[str, Any]) -> str:
    rss = ", ".join(f"{mb:.0f}" for mb in result["worker_rss"][:4]) or "n/a"
    return (
        f"{label:<34} wall {result['wall']:7.1f} s  {result['trials'] / result['wall']:6.2f} "
        f"trials/s  peak RSS per worker (MB): {rss}"
    )


def run_theirs() -> dict[str, Any] | None:
    """backtesting.py's optimize in a clean process (its own pool); ``None``: not installed."""
    if Strategy is object:
        return None
    done = subprocess.run(  # noqa: S603 - this script, in a clean process
        [sys.executable, __file__, "--backtesting-py"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, TQDM_DISABLE="1"),  # no per-run progress bars
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def one_round() -> dict[str, dict[str, Any] | None]:
    """Local, Dask and backtesting.py one after the other, each line printed as it ends."""
    local = run_ours(["--executor", "local", "--workers", str(WORKERS)])
    print(_line("vibe optimize --executor local", local), f"main RSS {local['main_rss']:.0f} MB")
    dask = run_dask()
    print(_line("vibe optimize --executor dask", dask))
    print(f"wall ratio dask/local: {dask['wall'] / local['wall']:.2f} (target <= 1.3)")
    theirs = run_theirs()
    if theirs is None:
        print("backtesting.py not installed (pip install -e '.[bench]'): comparison skipped")
        return {"local": local, "dask": dask, "theirs": None}
    print(_line("backtesting.py Backtest.optimize", theirs))
    print(f"ours best: {local['best']['params']} sharpe {local['best']['value']}")
    print(f"backtesting.py best: {theirs['best']} sharpe {theirs['sharpe']:.4f}")
    print(f"wall ratio local/backtesting.py: {local['wall'] / theirs['wall']:.2f} (target <= 0.5)")
    return {"local": local, "dask": dask, "theirs": theirs}


def _spread(values: list[float]) -> str:
    return f"median {statistics.median(values):5.2f} (range {min(values):.2f}-{max(values):.2f})"


def summary(rounds: list[dict[str, dict[str, Any] | None]]) -> None:
    """Medians and ranges over the rounds: walls, and the ratios of each round's own runs.

    A ratio is taken within a round (runs minutes apart), so a machine that drifts
    between rounds moves both of its walls together.
    """
    walls = {
        name: [r[name]["wall"] for r in rounds if r[name] is not None]  # type: ignore[index]
        for name in ("local", "dask", "theirs")
    }
    print(f"over {len(rounds)} rounds:")
    for name, values in walls.items():
        if values:
            print(f"  wall {name:<7} {_spread(values)} s")
    dask_ratios = [d / lo for lo, d in zip(walls["local"], walls["dask"], strict=True)]
    print(f"  dask/local ratio  {_spread(dask_ratios)} (target <= 1.3)")
    if walls["theirs"]:
        ratios = [lo / t for lo, t in zip(walls["local"], walls["theirs"], strict=True)]
        print(f"  local/backtesting.py ratio {_spread(ratios)} (target <= 0.5)")


def main() -> None:
    if "--backtesting-py" in sys.argv:  # a clean process for backtesting.py's own pool
        print(json.dumps(run_backtesting_py(), default=str))
        return
    compile_package()  # see installed_package: timed as installed
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
    print(f"grid {POINTS} points, SPY 1m {START}..{END}, {WORKERS} workers, {os.cpu_count()} CPUs")
    results = []
    for number in range(1, rounds + 1):
        if rounds > 1:
            print(f"-- round {number} of {rounds}")
        results.append(one_round())
    if rounds > 1:
        summary(results)


if __name__ == "__main__":
    main()

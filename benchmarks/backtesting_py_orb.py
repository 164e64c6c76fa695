"""backtesting.py's side of ``bench_backtest.py --vs-backtesting-py`` (issue 23).

A whole script as a backtesting.py user writes it: import, read the SPY 1-minute CSV
with pandas, compute the per-bar session features, run ``Backtest.run`` with the ORB
strategy of ``bench_optimize.py`` (volume filter on, as the ``backtest`` command's
defaults) and print the statistics. Run: ``python benchmarks/backtesting_py_orb.py
START END`` (session dates, inclusive).
"""

import sys

import pandas as pd
from backtesting import Backtest
from bench_optimize import FEATURES, SPY_1M, Orb, session_features


def main() -> None:
    """Load the bars of ``argv[1]..argv[2]``, run the ORB once, print trades and return."""
    start, end = pd.Timestamp(sys.argv[1]), pd.Timestamp(sys.argv[2]) + pd.Timedelta(days=1)
    frame = pd.read_csv(SPY_1M / "SPY_1m.csv")
    index = pd.to_datetime(frame.pop("timestamp"), utc=True).dt.tz_convert("America/New_York")
    frame.index = pd.DatetimeIndex(index).tz_localize(None)
    frame.columns = [c.capitalize() for c in frame.columns]
    frame = frame.loc[start:end]
    FEATURES.update(session_features(frame))
    Orb.volume_filter = True
    stats = Backtest(frame, Orb, cash=100_000, commission=0.0, finalize_trades=True).run()
    print(f"backtesting.py: {stats['# Trades']} trades, return {stats['Return [%]']:.2f} %")


if __name__ == "__main__":
    main()

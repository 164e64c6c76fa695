"""Backtest: runner on a simulated clock, performance metrics, reports."""

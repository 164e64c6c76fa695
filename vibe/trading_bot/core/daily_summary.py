"""The end-of-session figures: summary alert and daily metrics, from the trade store.

Counted over the round trips *entered* during the session (ORB trades open and
close the same day). Win = net P&L > 0 (after fees), loss = net P&L < 0.
Win rate = wins / closed trades x 100. Starting equity is the executor's
start-of-day equity; ending equity is the portfolio's equity after the
end-of-day flatten (USD).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date, datetime

from vibe.common.models import Trade
from vibe.trading_bot.notifications.payloads import DailySummaryAlert


@dataclass(frozen=True, slots=True)
class TradeTally:
    """Counts and sums over closed round trips (USD; ``win_rate_pct`` in percent or ``None``)."""

    trades: int
    wins: int
    losses: int
    gross_pnl: float
    fees: float
    net_pnl: float
    win_rate_pct: float | None
    per_symbol_pnl: dict[str, float]


@dataclass(frozen=True, slots=True)
class DailyFigures(TradeTally):
    """One session's results: its :class:`TradeTally` plus the day and equity (USD)."""

    day: date
    starting_equity: float
    ending_equity: float

    def to_alert(self, at: datetime) -> DailySummaryAlert:
        """The Discord daily summary for these figures, stamped ``at`` (tz-aware)."""
        return DailySummaryAlert(
            timestamp=at,
            session_date=self.day,
            trades=self.trades,
            wins=self.wins,
            losses=self.losses,
            gross_pnl_usd=round(self.gross_pnl, 2),
            fees_usd=round(self.fees, 2),
            starting_equity=round(self.starting_equity, 2),
            ending_equity=round(self.ending_equity, 2),
            per_symbol_pnl={s: round(v, 2) for s, v in self.per_symbol_pnl.items()},
        )

    def metrics(self) -> dict[str, float]:
        """Metric name -> value for the metrics store (kind ``daily``)."""
        values = {
            "trades": float(self.trades),
            "wins": float(self.wins),
            "losses": float(self.losses),
            "net_pnl_usd": self.net_pnl,
            "fees_usd": self.fees,
            "equity_usd": self.ending_equity,
        }
        if self.win_rate_pct is not None:
            values["win_rate_pct"] = self.win_rate_pct
        return values


def tally_trades(trades: list[Trade]) -> TradeTally:
    """Sum up the closed ``trades`` (open ones are skipped; see module doc for the rules)."""
    closed = [t for t in trades if t.is_closed]
    per_symbol: dict[str, float] = defaultdict(float)
    for trade in closed:
        per_symbol[trade.symbol] += trade.pnl or 0.0
    wins = sum(1 for t in closed if (t.pnl or 0.0) > 0)
    losses = sum(1 for t in closed if (t.pnl or 0.0) < 0)
    net = sum(t.pnl or 0.0 for t in closed)
    fees = sum(t.fees for t in closed)
    return TradeTally(
        trades=len(closed),
        wins=wins,
        losses=losses,
        gross_pnl=net + fees,
        fees=fees,
        net_pnl=net,
        win_rate_pct=wins / len(closed) * 100.0 if closed else None,
        per_symbol_pnl=dict(sorted(per_symbol.items())),
    )


def daily_figures(
    day: date, trades: list[Trade], starting_equity: float, ending_equity: float
) -> DailyFigures:
    """Sum up the session ``day`` from its ``trades`` (see module doc for the rules)."""
    tally = tally_trades(trades)
    counts = {f.name: getattr(tally, f.name) for f in fields(TradeTally)}
    return DailyFigures(
        **counts, day=day, starting_equity=starting_equity, ending_equity=ending_equity
    )

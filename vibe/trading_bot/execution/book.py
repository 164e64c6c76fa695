"""The executor's book: the portfolio and the round trips in progress, restored at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from vibe.trading_bot.execution.portfolio import Portfolio
from vibe.trading_bot.execution.recovery import RecoveryReport
from vibe.trading_bot.execution.round_trip import RoundTrip, rebuild_round_trips
from vibe.trading_bot.storage.trade_store import TradeStore


@dataclass(slots=True)
class Book:
    """What the executor books into: the portfolio and the round trips in progress.

    Attributes:
        portfolio: cash and positions (USD, shares).
        trips: round trips in progress by symbol (an entry sent, filled or closing).
    """

    portfolio: Portfolio
    trips: dict[str, RoundTrip]


def restored_book(store: TradeStore, report: RecoveryReport, initial_capital: float) -> Book:
    """The book rebuilt from the stored fills and the orders working at recovery.

    Call after :meth:`OrderManager.recover` (``report``), before the executor is built.

    Raises:
        StorageError: the trade store cannot be read.
    """
    fills = store.get_fills()
    portfolio = Portfolio.from_fills(initial_capital, fills)
    return Book(portfolio, rebuild_round_trips(store, report.working, fills))

"""Refused entries, counted by rule, whoever refused them.

An entry the strategy wanted can be refused at three stages; each refusal is
counted once, under the name of the rule that refused it:

* ``strategy``: a breakout validation rule (``min_range_pct``, ``max_range_pct``,
  ``trend_filter``, ``volume_filter``; :class:`vibe.common.strategies.orb_rules.Rule`);
* ``risk``: the risk manager (``zero_quantity``, ``max_open_positions``,
  ``max_trades_per_day``, ``max_daily_loss_pct``, ``enforce_pdt``, ...;
  :class:`vibe.common.risk.RiskRule`), or the circuit breaker
  (``circuit_breaker_open``);
* ``venue``: the exchange refused the entry order (``insufficient_buying_power``,
  ``market_closed``, ``unknown_symbol``, ...).

Rule names do not overlap between stages, so ``rule -> count`` is enough for
the backtest report; the stage is a dimension of the stored metric.

Every refusal is also one row in ``metrics.db``: type :data:`METRIC_TYPE`, name
:data:`METRIC_NAME`, value 1, dimensions ``symbol``, ``stage`` and ``rule``,
timestamped by the trading clock (so a replay's refusals fall on its simulated
sessions). ``show-status`` sums them per rule for its session.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vibe.common.models import SignalAction
from vibe.common.risk import RiskRule
from vibe.common.strategies.orb_rules import Rule
from vibe.trading_bot.execution.outcome import ExecutionResult, Outcome

METRIC_TYPE = "trading"
METRIC_NAME = "entry_rejected"


class RejectionStage(StrEnum):
    """Who refused an entry."""

    STRATEGY = "strategy"
    RISK = "risk"
    VENUE = "venue"


#: The circuit breaker's refusal (counted with the risk stage).
CIRCUIT_BREAKER_OPEN = "circuit_breaker_open"
_STRATEGY_RULES = frozenset(rule.value for rule in Rule)
_RISK_RULES = frozenset(rule.value for rule in RiskRule) | {CIRCUIT_BREAKER_OPEN}

_STAGE_OF_OUTCOME = {
    Outcome.RISK_REJECTED: RejectionStage.RISK,
    Outcome.BLOCKED: RejectionStage.RISK,
    Outcome.EXCHANGE_REJECTED: RejectionStage.VENUE,
}


@dataclass(frozen=True, slots=True)
class RefusedEntry:
    """One refused entry.

    Attributes:
        symbol: ticker.
        stage: who refused it.
        rule: the rule or reason (see the module doc).
    """

    symbol: str
    stage: RejectionStage
    rule: str


def refused_entry(result: ExecutionResult) -> RefusedEntry | None:
    """The refusal behind an executor's answer, or ``None``.

    ``None`` for a close (closes are never counted as refused entries), a
    submitted or cancelled order, and an execution error (those are errors,
    reported to health and the circuit breaker, not refusals).
    """
    if result.signal.action is SignalAction.CLOSE:
        return None
    stage = _STAGE_OF_OUTCOME.get(result.outcome)
    if stage is None:
        return None
    return RefusedEntry(result.signal.symbol, stage, result.reason or result.outcome.value)


def stage_of(rule: str) -> RejectionStage:
    """The stage a rule name belongs to (a name no rule table knows is the venue's)."""
    if rule in _STRATEGY_RULES:
        return RejectionStage.STRATEGY
    if rule in _RISK_RULES:
        return RejectionStage.RISK
    return RejectionStage.VENUE

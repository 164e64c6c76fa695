"""What became of a signal: the executor's answer (:class:`ExecutionResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vibe.common.models import Order, Signal


class Outcome(StrEnum):
    """What became of a signal."""

    SUBMITTED = "submitted"
    RISK_REJECTED = "risk_rejected"
    EXCHANGE_REJECTED = "exchange_rejected"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The executor's answer to one signal.

    Attributes:
        signal: the signal handled.
        outcome: submitted, refused by risk / the venue / the circuit breaker, an
            unfilled entry cancelled, or an execution error.
        reason: machine-readable reason (a ``RiskRule`` value, a venue reason such as
            ``unknown_symbol``, ``circuit_breaker_open``, or the error's class name).
        detail: the numbers or message behind the reason.
        order: the order sent (or cancelled), if any.
    """

    signal: Signal
    outcome: Outcome
    reason: str = ""
    detail: str = ""
    order: Order | None = None

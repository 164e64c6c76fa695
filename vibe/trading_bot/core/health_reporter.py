"""How a component tells the health monitor how it is doing.

Components receive a :class:`HealthReporter` in their constructor (never a
module global) and call :meth:`HealthReporter.set_state` and
:meth:`HealthReporter.record_error`. The health monitor hands out one reporter
per registered component; :class:`RecordingHealthReporter` is the stand-in
for tests and for components run outside the daemon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class HealthState(StrEnum):
    """A component's state, from best to worst (plus ``starting`` and ``stopped``)."""

    STARTING = "starting"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"


class HealthReporter(Protocol):
    """The reporting side of one registered component."""

    def set_state(self, state: HealthState, reason: str = "") -> None:
        """Report the component's current state and why."""
        ...

    def record_error(self, message: str) -> None:
        """Count one error (kept in a rolling window with its time and message)."""
        ...


@dataclass
class RecordingHealthReporter:
    """A reporter that remembers every call (tests, standalone use).

    Attributes:
        states: every ``(state, reason)`` reported, oldest first.
        errors: every error message recorded, oldest first.
    """

    states: list[tuple[HealthState, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def set_state(self, state: HealthState, reason: str = "") -> None:
        """Append ``(state, reason)`` to :attr:`states`."""
        self.states.append((state, reason))

    def record_error(self, message: str) -> None:
        """Append ``message`` to :attr:`errors`."""
        self.errors.append(message)

    @property
    def state(self) -> HealthState | None:
        """The last state reported, or ``None`` before any report."""
        return self.states[-1][0] if self.states else None

"""What the notifier tells an observer (the ``/metrics`` feed) as alerts move."""

from __future__ import annotations

from typing import Protocol


class NotifierObserver(Protocol):
    """Receives the notifier's delivery events; every method must return quickly, never raise."""

    def on_alert(self, kind: str, *, sent: bool) -> None:
        """One webhook message of ``kind`` was accepted (``sent``) or refused for good."""
        ...

    def on_alerts_queued(self, count: int) -> None:
        """``count`` messages are now stored and not yet sent."""
        ...

    def on_rate_limit_wait(self, limiter: str, seconds: float) -> None:
        """The sender waited ``seconds`` (>= 0) for ``limiter`` (e.g. ``"discord"``)."""
        ...

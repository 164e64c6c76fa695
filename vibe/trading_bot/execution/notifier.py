"""The notification interface the executor announces order and trade events through.

:class:`~vibe.trading_bot.notifications.discord.DiscordNotifier` satisfies
:class:`Notifier`; :class:`RecordingNotifier` keeps alerts in memory for tests
and for runs without a notifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from vibe.trading_bot.notifications.payloads import Alert


class Notifier(Protocol):
    """Something that accepts alerts; ``notify`` must not raise."""

    async def notify(self, alert: Alert) -> bool:
        """Accept ``alert`` for delivery; True when it was accepted."""
        ...


@dataclass
class RecordingNotifier:
    """A notifier that remembers every alert, oldest first.

    Attributes:
        alerts: every alert passed to :meth:`notify`.
    """

    alerts: list[Alert] = field(default_factory=list)

    async def notify(self, alert: Alert) -> bool:
        """Append ``alert`` to :attr:`alerts`; always True."""
        self.alerts.append(alert)
        return True

"""Alerts without a Discord webhook: one log line per alert, nothing kept in memory."""

from __future__ import annotations

from typing import Any, Protocol

from vibe.trading_bot.notifications.formatter import log_summary
from vibe.trading_bot.notifications.payloads import Alert, SystemAlert
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


class LineLogger(Protocol):
    """The part of a structlog logger the notifier uses."""

    def info(self, event: str, **fields: Any) -> Any:
        """Log ``event`` at INFO with ``fields``."""
        ...

    def warning(self, event: str, **fields: Any) -> Any:
        """Log ``event`` at WARNING with ``fields``."""
        ...


class LogNotifier:
    """Writes each alert to the log as one ``alert`` line (kind, symbol, key figures).

    Error alerts (a failing component, a circuit breaker, a sync failure) are
    logged at WARNING, the others at INFO.

    The notifier of a daemon without ``DISCORD_WEBHOOK_URL``: the line goes to
    stdout and ``logs.db`` like any other; nothing accumulates in memory.

    Args:
        logger: where the lines go; default this module's structlog logger.

    Attributes:
        logged: alerts written so far.
    """

    def __init__(self, logger: LineLogger | None = None) -> None:
        self._log: LineLogger = logger if logger is not None else _log
        self.logged = 0

    async def notify(self, alert: Alert) -> bool:
        """Log ``alert`` as one line; always True (never raises)."""
        fields: dict[str, Any] = log_summary(alert)
        symbol = getattr(alert, "symbol", None)
        if symbol is not None:
            fields["symbol"] = symbol
        error = isinstance(alert, SystemAlert) and alert.is_error
        (self._log.warning if error else self._log.info)(
            "alert", why="no webhook URL configured", **fields
        )
        self.logged += 1
        return True

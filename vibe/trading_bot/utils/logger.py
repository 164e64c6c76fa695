"""Logger access for every module: ``get_logger(__name__)``.

Configure the output once with
:func:`vibe.trading_bot.config.logging_config.configure_logging`; loggers
obtained before that still work and follow the configuration.
"""

from __future__ import annotations

from typing import Any

import structlog

_LEVELS = {"debug", "info", "warning", "error", "critical", "exception"}


def get_logger(name: str, **context: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (shown as ``logger``), with ``context`` bound.

    Args:
        name: usually the module's ``__name__``.
        context: key/value pairs added to every line from this logger.
    """
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**context) if context else logger


def log_with_context(
    logger: structlog.stdlib.BoundLogger, level: str, msg: str, **fields: Any
) -> None:
    """Log ``msg`` at ``level`` with ``fields`` as structured key/values.

    Raises:
        ValueError: ``level`` is not one of debug, info, warning, error, critical, exception.
    """
    method = level.lower()
    if method not in _LEVELS:
        raise ValueError(f"level={level!r}; expected one of {sorted(_LEVELS)}")
    getattr(logger, method)(msg, **fields)

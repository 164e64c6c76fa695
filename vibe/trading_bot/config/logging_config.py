"""structlog set-up: JSON lines or coloured console, UTC timestamps, secret redaction.

structlog events and plain ``logging`` records from libraries (uvicorn, httpx,
botocore) go through one ``structlog.stdlib.ProcessorFormatter`` chain, so both
get the same ISO-8601 UTC timestamp, level, logger name and, last before
rendering, :class:`SecretRedactor`. httpx, for instance, logs every request URL
at INFO, which would otherwise print a Discord webhook token.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "**********"
LOG_FILE_MAX_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUPS = 5

#: Secret shapes redacted even when the value is not known in advance.
SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Discord webhook: https://discord.com/api/webhooks/<id>/<token>
    (re.compile(r"(/api/webhooks/\d+/)[\w\-.~%]+"), rf"\g<1>{REDACTED}"),
    # Finnhub and other query-string keys: ?token=..., &apikey=...
    (re.compile(r"(?i)\b(token|api_?key|apikey|sig|signature)=([^&\s\"']+)"), rf"\1={REDACTED}"),
    # Azure connection strings: AccountKey=...; SharedAccessSignature=...
    (re.compile(r"(?i)(AccountKey|SharedAccessSignature)=([^;\s\"']+)"), rf"\1={REDACTED}"),
)


class SecretRedactor:
    """structlog processor that replaces secret values anywhere in an event.

    Walks every string in the event dict (nested dicts, lists and tuples
    included) and replaces each known secret value with ``**********``, then
    applies :data:`SECRET_PATTERNS` for secrets whose value is unknown.

    Args:
        secrets: exact secret strings to remove (e.g. ``AppSettings.secret_values()``).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret and secret-shaped substring masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def redact_value(self, value: Any) -> Any:
        """Redact strings inside ``value`` (str, mapping, list, tuple, exception)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            items = [self.redact_value(item) for item in value]
            # a named tuple (e.g. Bar) takes its fields as arguments, not one iterable
            return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
        if isinstance(value, BaseException):
            return self.redact(repr(value))
        return value

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        """Redact the event in place and return it."""
        for key, value in list(event_dict.items()):
            if not key.startswith("_"):
                event_dict[key] = self.redact_value(value)
        return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def build_formatter(
    log_format: Literal["json", "console"], redactor: SecretRedactor
) -> structlog.stdlib.ProcessorFormatter:
    """A ``logging.Formatter`` that renders structlog and stdlib records alike.

    Args:
        log_format: ``json`` (one JSON object per line) or ``console`` (coloured, human).
        redactor: applied after exceptions are formatted and before rendering.
    """
    renderer: Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )


def configure_logging(
    level: str = "INFO",
    log_format: Literal["json", "console"] = "console",
    secrets: Iterable[str] = (),
    log_file: Path | None = None,
    extra_handlers: Sequence[logging.Handler] = (),
) -> SecretRedactor:
    """Route structlog and stdlib logging to stdout (and optionally a rotating file).

    Replaces the root logger's handlers, so calling it again reconfigures cleanly.

    Args:
        level: ``DEBUG`` .. ``CRITICAL``.
        log_format: ``json`` for production, ``console`` for development.
        secrets: secret values to redact from every line.
        log_file: optional path of a rotating JSON log file (10 MB x 5 backups).
        extra_handlers: further handlers (e.g. the SQLite log store), added as given.

    Returns:
        The redactor in use, for components that format text themselves.
    """
    redactor = SecretRedactor(secrets)
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    handlers[0].setFormatter(build_formatter(log_format, redactor))
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=LOG_FILE_MAX_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
        rotating.setFormatter(build_formatter("json", redactor))
        handlers.append(rotating)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in [*handlers, *extra_handlers]:
        root.addHandler(handler)
    root.setLevel(level.upper())
    return redactor

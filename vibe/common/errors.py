"""The project's one exception tree.

Every error the bot raises on purpose is a :class:`VibeError`. Third-party
exceptions (httpx, botocore, sqlite3, websockets, yfinance) are translated at
the adapter boundary with ``raise OurError(...) from exc`` so that nothing above
an adapter ever has to know which SDK failed.

::

    VibeError
     ├── ConfigurationError        bad settings; the CLI exits 2 and names each variable
     ├── TemporaryError            retryable: network blips, 5xx, rate limits, busy files
     │    ├── RateLimitedError     the remote asked us to wait ``retry_after_seconds``
     │    └── DataUnavailableError every market data provider failed for a request
     ├── OperationalError          needs a human: corrupt database, invalid webhook, bug
     │    ├── StorageError         a database file cannot be opened, read or written
     │    └── InvalidTransitionError
     │                             an order status change the lifecycle forbids
     ├── DataError                 market data that is missing or fails validation
     │    └── NoDataError          a provider has no bars for the requested range
     ├── OrderRejectedError        an order refused by risk or the exchange, with a reason
     └── InvalidInputError         a domain object built from bad values (also a ValueError)

The split between temporary and operational errors follows freqtrade's
``TemporaryError`` / ``OperationalException``: retry policies retry only
:class:`TemporaryError`; everything else is reported and left to a person.
"""

from __future__ import annotations

from dataclasses import dataclass


class VibeError(Exception):
    """Base class of every error the bot raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One bad configuration variable.

    Attributes:
        variable: the environment variable's name as a user writes it, e.g. ``INITIAL_CAPITAL``.
        value: the value as given, already masked when the variable is a secret;
            ``None`` when the variable was missing.
        expected: what a valid value looks like, in plain words.
    """

    variable: str
    value: str | None
    expected: str

    def __str__(self) -> str:
        shown = "<missing>" if self.value is None else repr(self.value)
        return f"{self.variable}: got {shown}; expected {self.expected}"


class ConfigurationError(VibeError):
    """Settings are invalid; carries one :class:`ConfigIssue` per bad variable.

    Args:
        issues: every bad variable found (at least one).
    """

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


class TemporaryError(VibeError):
    """A failure that may succeed when retried (network, 5xx, busy database)."""


class RateLimitedError(TemporaryError):
    """The remote service asked us to slow down.

    Args:
        message: what was rate limited.
        retry_after_seconds: how long the remote asked us to wait, in seconds.
    """

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(message)


class DataUnavailableError(TemporaryError):
    """Every history provider failed to deliver bars for one request (network, remote errors).

    Args:
        symbol: the ticker asked for.
        timeframe: the bar timeframe asked for (``1m``, ``5m``...).
        failures: ``(provider name, its error message)`` per provider tried, in order.
        request: the request as text (symbol, timeframe, UTC range), for the message.
    """

    def __init__(
        self, symbol: str, timeframe: str, failures: list[tuple[str, str]], request: str
    ) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self.failures = list(failures)
        detail = "; ".join(f"{name}: {message}" for name, message in failures)
        super().__init__(
            f"every history provider failed for {request}: "
            f"{detail or 'no history provider configured'}"
        )


class OperationalError(VibeError):
    """A failure that retrying will not fix; a person has to look."""


class StorageError(OperationalError):
    """A database file cannot be opened, read or written; the message names the file."""


class InvalidTransitionError(OperationalError):
    """An order status change that the order lifecycle forbids."""


class DataError(VibeError):
    """Market data is missing or fails validation."""


class NoDataError(DataError):
    """A provider has no bars for the requested symbol and range."""


class OrderRejectedError(VibeError):
    """An order refused by risk checks or the exchange.

    Args:
        reason: a short machine-readable reason such as ``insufficient_buying_power``.
        detail: a human-readable explanation naming the offending values.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class InvalidInputError(VibeError, ValueError):
    """A domain object was given a bad value; the message names it and what was expected."""

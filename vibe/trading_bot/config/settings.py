"""Application settings, read from the environment and a ``.env`` file.

Every variable has a flat, documented name (see ``.env.example``): the field
``initial_capital`` of :class:`TradingSettings` is the variable
``INITIAL_CAPITAL``. Fields are grouped per component (trading, strategy, risk,
exchange, data, storage, cloud, notifications, health, service); each group is a
frozen pydantic-settings model that the component receives. Units are in the
field names (``_seconds``, ``_pct``, ``_bps``) and descriptions.

:func:`load_settings` is the one entry point: it builds every group, collects
every bad variable (including cross-field rules) into one
:class:`~vibe.common.errors.ConfigurationError`, and never echoes a secret.

why-large: the whole configuration surface, one pydantic-settings class per group, in
one place so ``validate-config`` and the README table are read from it.
"""

from __future__ import annotations

import json
import re
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vibe.common.errors import ConfigIssue, ConfigurationError

_GROUP_CONFIG = SettingsConfigDict(
    case_sensitive=False,
    extra="ignore",  # one .env file feeds every group; unknown names are checked by the loader
    frozen=True,
    env_file_encoding="utf-8",
    validate_default=True,
)

Percent = Annotated[float, Field(gt=0, le=100)]
#: Yahoo Finance's public chart host (``YAHOO_BASE_URL`` default).
PUBLIC_YAHOO_BASE_URL = "https://query2.finance.yahoo.com"
_TICKER = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


def _blank_to_none(value: Any) -> Any:
    """Treat ``VAR=`` (an empty value, as in ``.env.example``) as not set."""
    return None if isinstance(value, str) and not value.strip() else value


class TradingSettings(BaseSettings):
    """What to trade, with how much, on which calendar."""

    model_config = _GROUP_CONFIG

    symbols: Annotated[list[str], NoDecode] = Field(
        default=["SPY"], description="tickers, a JSON list or comma-separated"
    )
    initial_capital: PositiveFloat = Field(100_000.0, description="starting equity in USD, > 0")
    timeframe: Literal["1m", "5m"] = Field("5m", description="bar timeframe the strategy runs on")
    market_calendar: str = Field("XNYS", description="pandas-market-calendars calendar name")
    warmup_minutes_before_open: PositiveInt = Field(
        30, description="minutes before the open to load history"
    )

    @field_validator("symbols", mode="before")
    @classmethod
    def _parse_symbols(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"a JSON list of tickers ({exc.msg})") from exc
            return [part for part in text.split(",") if part.strip()]
        return value

    @field_validator("symbols")
    @classmethod
    def _check_symbols(cls, value: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(s.strip().upper() for s in value))
        bad = [s for s in cleaned if not _TICKER.match(s)]
        if bad or not cleaned:
            raise ValueError(f"one or more tickers like AAPL,MSFT (bad: {bad or 'empty list'})")
        return cleaned


class StrategySettings(BaseSettings):
    """Opening Range Breakout parameters (names are the backtest ``--param`` names)."""

    model_config = _GROUP_CONFIG

    orb_minutes: PositiveInt = Field(15, description="opening range length in minutes")
    allow_short: bool = Field(True, description="take short breakouts below the range")
    entry_cutoff_minutes_before_close: int = Field(
        60, ge=0, description="no new entry once a bar closes within this many minutes of close"
    )
    take_profit_r: PositiveFloat = Field(2.0, description="take-profit distance in multiples of R")
    flatten_minutes_before_close: int = Field(
        5, ge=0, description="close positions this many minutes before the session close"
    )
    trend_filter: bool = Field(True, description="longs need close > VWAP, shorts close < VWAP")
    volume_filter: bool = Field(True, description="breakout volume must beat the average")
    volume_multiplier: PositiveFloat = Field(1.5, description="x mean volume of previous bars")
    volume_lookback_bars: PositiveInt = Field(20, description="bars in the volume average")
    min_range_pct: float = Field(0.1, ge=0, description="min range width, % of its midpoint")
    max_range_pct: PositiveFloat = Field(3.0, description="max range width, % of its midpoint")

    @model_validator(mode="after")
    def _range_bounds_ordered(self) -> Self:
        if self.min_range_pct >= self.max_range_pct:
            raise ConfigurationError(
                [
                    ConfigIssue(
                        "MIN_RANGE_PCT",
                        str(self.min_range_pct),
                        f"less than MAX_RANGE_PCT ({self.max_range_pct})",
                    )
                ]
            )
        return self


class RiskSettings(BaseSettings):
    """Position sizing and account limits."""

    model_config = _GROUP_CONFIG

    risk_per_trade_pct: Percent = Field(1.0, description="% of equity risked per trade")
    max_position_pct: Percent = Field(25.0, description="max position value, % of equity")
    max_open_positions: PositiveInt = Field(5, description="max simultaneous positions")
    max_trades_per_day: PositiveInt = Field(10, description="max entries per session")
    max_daily_loss_pct: Percent = Field(2.0, description="stop entries at this % daily loss")
    enforce_pdt: bool = Field(False, description="apply the pattern-day-trader rule (< 25k USD)")
    buying_power_buffer_bps: NonNegativeFloat = Field(
        50.0,
        description="price collar in bps above the signal price reserved per share of an entry"
        " (besides the slippage model's worst case), so fills never exceed the cash",
    )
    max_consecutive_errors: PositiveInt = Field(5, description="circuit breaker threshold")


class ExchangeSettings(BaseSettings):
    """Mock exchange: slippage, commission and fill participation."""

    model_config = _GROUP_CONFIG

    slippage_model: Literal["none", "fixed_bps", "half_spread", "sqrt_impact"] = "fixed_bps"
    slippage_bps: float = Field(1.0, ge=0, description="fixed slippage in bps of price")
    assumed_spread_bps: float = Field(2.0, ge=0, description="spread when no quote, in bps")
    impact_coefficient: float = Field(1.0, ge=0, description="k in k*sigma*sqrt(q/V)")
    commission_model: Literal["zero", "per_share", "bps"] = "per_share"
    commission_per_share: float = Field(0.005, ge=0, description="USD per share")
    commission_min_per_order: float = Field(1.0, ge=0, description="USD minimum per order")
    commission_max_pct: float = Field(1.0, ge=0, description="cap, % of order notional")
    commission_bps: float = Field(1.0, ge=0, description="bps of notional (bps model)")
    max_volume_participation: float = Field(
        0.10, gt=0, le=1, description="max fraction of a bar's volume filled per bar"
    )


class DataSettings(BaseSettings):
    """Market data providers and cache."""

    model_config = _GROUP_CONFIG

    finnhub_api_key: SecretStr | None = Field(None, description="Finnhub key; unset: Yahoo polling")
    finnhub_ws_url: str = Field(
        "wss://ws.finnhub.io", description="Finnhub websocket URL, ws:// or wss:// (no token)"
    )
    yahoo_base_url: str = Field(
        PUBLIC_YAHOO_BASE_URL,
        description="Yahoo Finance host (or a mirror) for history and polling, http(s)://",
    )
    yahoo_rate_limit: PositiveFloat = Field(2.0, description="Yahoo requests per second")
    data_cache_ttl_seconds: PositiveInt = Field(60, description="TTL of today's cached bars")
    stream_silence_seconds: PositiveFloat = Field(
        120.0, description="no message this long in session = silent stream"
    )

    _blank = field_validator("finnhub_api_key", mode="before")(_blank_to_none)

    @field_validator("finnhub_ws_url")
    @classmethod
    def _check_finnhub_url(cls, value: str) -> str:
        return check_endpoint_url(value, ("ws", "wss"), "a websocket URL like wss://ws.finnhub.io")

    @field_validator("yahoo_base_url")
    @classmethod
    def _check_yahoo_url(cls, value: str) -> str:
        url = check_endpoint_url(value, ("http", "https"), "a URL like https://mirror.example")
        return url.rstrip("/")


def check_endpoint_url(value: str, schemes: tuple[str, ...], example: str) -> str:
    """``value`` stripped, when it is an absolute URL with one of ``schemes`` and a host.

    A ``token`` query parameter is refused: keys belong in their secret setting
    (``FINNHUB_API_KEY``), never in a URL that is printed.

    Raises:
        ValueError: not such a URL (the message says what is expected).
    """
    url = value.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"{example} ({exc})") from None
    if parts.scheme not in schemes or not parts.hostname or parts.fragment:
        raise ValueError(f"{example} (scheme {' or '.join(schemes)}, a host, no #fragment)")
    if port == 0:
        raise ValueError(f"{example} (port 1..65535)")
    if any(key.lower() == "token" for key, _ in parse_qsl(parts.query)):
        raise ValueError(f"{example} without token= (set the key in FINNHUB_API_KEY)")
    return url


class StorageSettings(BaseSettings):
    """Where the SQLite databases, cache and results live."""

    model_config = _GROUP_CONFIG

    data_dir: Path = Field(Path("./data"), description="SQLite files and cache")
    results_dir: Path = Field(Path("./results"), description="backtest reports")
    log_retention_days: PositiveInt = Field(3, description="days of service logs kept")
    log_queue_size: PositiveInt = Field(10_000, description="log records buffered for SQLite")


class CloudSettings(BaseSettings):
    """Database snapshots to a local directory, S3 or Azure Blob."""

    model_config = _GROUP_CONFIG

    enable_cloud_sync: bool = False
    cloud_provider: Literal["local", "s3", "azure"] = "local"
    cloud_sync_bucket: str | None = None
    cloud_sync_container: str | None = None
    cloud_sync_prefix: str = "vibe-trading-bot"
    cloud_sync_dir: Path = Path("./backups")
    cloud_sync_interval_seconds: PositiveInt = Field(3600, description="seconds between syncs")
    cloud_sync_keep: PositiveInt = Field(10, description="snapshots kept per database")
    azure_storage_connection_string: SecretStr | None = None
    azure_storage_account_url: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_default_region: str | None = None
    aws_endpoint_url: str | None = None

    _blank = field_validator(
        "cloud_sync_bucket",
        "cloud_sync_container",
        "azure_storage_connection_string",
        "azure_storage_account_url",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_default_region",
        "aws_endpoint_url",
        mode="before",
    )(_blank_to_none)

    @model_validator(mode="after")
    def _provider_requirements(self) -> Self:
        issues: list[ConfigIssue] = []
        if self.enable_cloud_sync and self.cloud_provider == "s3":
            issues += _require_s3_bucket(self)
        if self.enable_cloud_sync and self.cloud_provider == "azure":
            issues += _require_azure_target(self)
        if issues:
            raise ConfigurationError(issues)
        return self


def _require_s3_bucket(cloud: CloudSettings) -> list[ConfigIssue]:
    if cloud.cloud_sync_bucket:
        return []
    return [
        ConfigIssue(
            "CLOUD_SYNC_BUCKET",
            None,
            "a bucket name when ENABLE_CLOUD_SYNC=true and CLOUD_PROVIDER=s3",
        )
    ]


def _require_azure_target(cloud: CloudSettings) -> list[ConfigIssue]:
    issues = []
    if not cloud.cloud_sync_container:
        issues.append(
            ConfigIssue(
                "CLOUD_SYNC_CONTAINER",
                None,
                "a container name when ENABLE_CLOUD_SYNC=true and CLOUD_PROVIDER=azure",
            )
        )
    if cloud.azure_storage_connection_string is None and not cloud.azure_storage_account_url:
        issues.append(
            ConfigIssue(
                "AZURE_STORAGE_CONNECTION_STRING",
                None,
                "a connection string (or AZURE_STORAGE_ACCOUNT_URL) when CLOUD_PROVIDER=azure",
            )
        )
    return issues


class NotificationSettings(BaseSettings):
    """Discord alerts and the client-side rate limit."""

    model_config = _GROUP_CONFIG

    discord_webhook_url: SecretStr | None = Field(None, description="unset: alerts go to the log")
    notify_on_trade: bool = True
    notify_on_order: bool = True
    notify_on_error: bool = True
    notify_daily_summary: bool = True
    discord_rate_limit_capacity: PositiveInt = Field(
        5, description="requests allowed in any window of the period"
    )
    discord_rate_limit_period_seconds: PositiveFloat = Field(
        2.0, description="sliding window length, real seconds in every mode"
    )

    _blank = field_validator("discord_webhook_url", mode="before")(_blank_to_none)

    @field_validator("discord_webhook_url")
    @classmethod
    def _check_webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_webhook_url(value.get_secret_value())
        return value


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost" or _is_loopback(host)
    secure = parts.scheme == "https" or (parts.scheme == "http" and loopback)
    if not (secure and host and parts.path.startswith("/api/webhooks/")):
        raise ValueError("a URL like https://discord.com/api/webhooks/<id>/<token>")


def _is_loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class HealthSettings(BaseSettings):
    """Health probes, heartbeat and readiness thresholds."""

    model_config = _GROUP_CONFIG

    health_check_host: str = "0.0.0.0"  # noqa: S104 - probes must be reachable from the kubelet
    health_check_port: int = Field(8080, ge=1, le=65535, description="TCP port 1..65535")
    heartbeat_interval_seconds: PositiveFloat = 60.0
    liveness_max_loop_lag_seconds: PositiveFloat = Field(
        10.0, description="event loop blocked longer than this: not alive"
    )
    readiness_max_bar_age_seconds: PositiveFloat = Field(
        600.0, description="in session, newest bar older than this: not ready"
    )
    feed_quiet_grace_seconds: NonNegativeFloat = Field(
        60.0, description="in session, no bar for one bar plus this: market_data degraded"
    )
    api_token: SecretStr | None = Field(
        None,
        description=(
            "bearer token for /api/v1 (unset: read endpoints open, control endpoints 403)"
        ),
    )

    _blank = field_validator("api_token", mode="before")(_blank_to_none)


class ServiceSettings(BaseSettings):
    """Process-level behaviour: environment, logging, shutdown."""

    model_config = _GROUP_CONFIG

    environment: Literal["development", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] | None = Field(
        None, description="unset: json in production, console in development"
    )
    log_file: Path | None = Field(None, description="optional rotating log file (10 MB x 5)")
    shutdown_timeout_seconds: PositiveFloat = 30.0
    close_positions_on_shutdown: bool = True

    _blank = field_validator("log_format", "log_file", mode="before")(_blank_to_none)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_log_format(self) -> Literal["json", "console"]:
        """``LOG_FORMAT`` if set, else json in production and console in development."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "console"


GROUPS: dict[str, type[BaseSettings]] = {
    "trading": TradingSettings,
    "strategy": StrategySettings,
    "risk": RiskSettings,
    "exchange": ExchangeSettings,
    "data": DataSettings,
    "storage": StorageSettings,
    "cloud": CloudSettings,
    "notifications": NotificationSettings,
    "health": HealthSettings,
    "service": ServiceSettings,
}


class AppSettings(BaseModel):
    """All settings, one frozen group per component.

    ``AppSettings()`` reads them as the daemon does: the environment, then ``.env``
    in the working directory when it exists, then the defaults (it is
    :func:`~vibe.trading_bot.config.loader.load_settings` with its defaults), so
    ``AppSettings().trading.symbols`` is the ``SYMBOLS`` the daemon would trade.
    Groups given as arguments are used as given; the missing ones are read so.

    Raises:
        ConfigurationError: a group is read and a variable is bad, unknown or
            missing (every one named, secrets masked).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    trading: TradingSettings
    strategy: StrategySettings
    risk: RiskSettings
    exchange: ExchangeSettings
    data: DataSettings
    storage: StorageSettings
    cloud: CloudSettings
    notifications: NotificationSettings
    health: HealthSettings
    service: ServiceSettings

    def __init__(self, **groups: Any) -> None:
        missing = [name for name in GROUPS if name not in groups]
        if missing:
            from vibe.trading_bot.config.loader import load_settings  # it imports this module

            loaded = load_settings()
            groups = {name: getattr(loaded, name) for name in missing} | groups
        super().__init__(**groups)

    def secret_values(self) -> list[str]:
        """The plain text of every configured secret (for log redaction), longest first."""
        found = []
        for group_name in GROUPS:
            group = getattr(self, group_name)
            for name in type(group).model_fields:
                value = getattr(group, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
        return sorted(set(found), key=len, reverse=True)

    def rows(self) -> list[tuple[str, str, str]]:
        """``(group, VARIABLE, shown value)`` for display; secrets masked, unset ones blank."""
        out = []
        for group_name in GROUPS:
            group = getattr(self, group_name)
            for name in type(group).model_fields:
                out.append((group_name, name.upper(), display_value(getattr(group, name))))
        return out


def display_value(value: Any) -> str:
    """Render a setting for people: secrets as ``**********``, lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return "**********"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def setting_names() -> dict[str, str]:
    """Map every setting's lower-case name to its group name."""
    return {name: group for group, cls in GROUPS.items() for name in cls.model_fields}


def is_secret_setting(name: str) -> bool:
    """True when the setting ``name`` (any case) holds a secret."""
    group = setting_names().get(name.lower())
    if group is None:
        return False
    field = GROUPS[group].model_fields[name.lower()]
    return "SecretStr" in repr(field.annotation)

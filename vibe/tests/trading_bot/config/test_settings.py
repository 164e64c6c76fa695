"""Every settings rule: defaults, parsing, constraints, cross-field checks, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe.common.errors import ConfigurationError
from vibe.trading_bot.config.loader import MASK, load_settings


def issues_for(**env: str) -> dict[str, tuple[str | None, str]]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        with pytest.raises(ConfigurationError) as info:
            load_settings(None)
    return {i.variable: (i.value, i.expected) for i in info.value.issues}


def load(**env: str):
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        return load_settings(None)


def test_defaults_are_valid_and_documented_values():
    s = load_settings(None)
    assert s.trading.symbols == ["SPY"]
    assert s.health.health_check_port == 8080
    assert s.storage.data_dir == Path("./data")
    assert s.storage.results_dir == Path("./results")
    assert s.cloud.cloud_provider == "local"
    assert s.cloud.enable_cloud_sync is False
    assert s.strategy.orb_minutes == 15
    assert s.risk.max_daily_loss_pct == 2.0
    assert s.exchange.max_volume_participation == 0.10
    assert s.notifications.discord_rate_limit_capacity == 5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AAPL,MSFT", ["AAPL", "MSFT"]),
        (" aapl , msft ,", ["AAPL", "MSFT"]),
        ('["AAPL", "MSFT"]', ["AAPL", "MSFT"]),
        ("BRK.B,SPY,SPY", ["BRK.B", "SPY"]),
    ],
)
def test_symbols_accept_json_and_comma_separated(raw, expected):
    assert load(SYMBOLS=raw).trading.symbols == expected


@pytest.mark.parametrize("raw", ["", "[]", "AAPL,12X", '["AAPL"', "A B"])
def test_bad_symbols_name_the_variable(raw):
    assert "SYMBOLS" in issues_for(SYMBOLS=raw)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INITIAL_CAPITAL", "-5"),
        ("INITIAL_CAPITAL", "0"),
        ("INITIAL_CAPITAL", "lots"),
        ("YAHOO_RATE_LIMIT", "0"),
        ("HEALTH_CHECK_PORT", "http"),
        ("HEALTH_CHECK_PORT", "0"),
        ("HEALTH_CHECK_PORT", "65536"),
        ("CLOUD_PROVIDER", "gcs"),
        ("LOG_FORMAT", "xml"),
        ("ENVIRONMENT", "staging"),
        ("SLIPPAGE_MODEL", "random"),
        ("COMMISSION_MODEL", "free"),
        ("MAX_VOLUME_PARTICIPATION", "1.5"),
        ("RISK_PER_TRADE_PCT", "150"),
        ("TIMEFRAME", "3m"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "-1"),
        ("ENABLE_CLOUD_SYNC", "maybe"),
    ],
)
def test_constraint_violation_names_variable_and_value(variable, value):
    issues = issues_for(**{variable: value})
    assert set(issues) == {variable}
    shown, expected = issues[variable]
    assert shown == value
    assert expected


def test_every_bad_variable_is_reported_at_once():
    issues = issues_for(INITIAL_CAPITAL="-5", HEALTH_CHECK_PORT="x", CLOUD_PROVIDER="gcs")
    assert set(issues) == {"INITIAL_CAPITAL", "HEALTH_CHECK_PORT", "CLOUD_PROVIDER"}


def test_port_bounds_accept_edges():
    assert load(HEALTH_CHECK_PORT="1").health.health_check_port == 1
    assert load(HEALTH_CHECK_PORT="65535").health.health_check_port == 65535


def test_s3_sync_needs_bucket():
    issues = issues_for(ENABLE_CLOUD_SYNC="true", CLOUD_PROVIDER="s3")
    assert set(issues) == {"CLOUD_SYNC_BUCKET"}
    assert "CLOUD_PROVIDER=s3" in issues["CLOUD_SYNC_BUCKET"][1]
    ok = load(ENABLE_CLOUD_SYNC="true", CLOUD_PROVIDER="s3", CLOUD_SYNC_BUCKET="b")
    assert ok.cloud.cloud_sync_bucket == "b"


def test_s3_without_sync_enabled_needs_nothing():
    assert load(CLOUD_PROVIDER="s3").cloud.cloud_sync_bucket is None


def test_azure_sync_needs_container_and_credentials():
    issues = issues_for(ENABLE_CLOUD_SYNC="true", CLOUD_PROVIDER="azure")
    assert set(issues) == {"CLOUD_SYNC_CONTAINER", "AZURE_STORAGE_CONNECTION_STRING"}
    ok = load(
        ENABLE_CLOUD_SYNC="true",
        CLOUD_PROVIDER="azure",
        CLOUD_SYNC_CONTAINER="c",
        AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountKey=abc",
    )
    assert ok.cloud.azure_storage_connection_string is not None
    via_url = load(
        ENABLE_CLOUD_SYNC="true",
        CLOUD_PROVIDER="azure",
        CLOUD_SYNC_CONTAINER="c",
        AZURE_STORAGE_ACCOUNT_URL="https://acct.blob.core.windows.net",
    )
    assert via_url.cloud.azure_storage_account_url


def test_range_bounds_must_be_ordered():
    issues = issues_for(MIN_RANGE_PCT="3", MAX_RANGE_PCT="1")
    assert set(issues) == {"MIN_RANGE_PCT"}


def test_secrets_are_secretstr_and_masked_in_errors():
    issues = issues_for(DISCORD_WEBHOOK_URL="https://example.com/hooks/secret-token")
    assert issues["DISCORD_WEBHOOK_URL"][0] == MASK
    assert "secret-token" not in repr(issues)


def test_webhook_accepts_discord_and_loopback_standin():
    url = "https://discord.com/api/webhooks/1/secret-token"
    s = load(DISCORD_WEBHOOK_URL=url)
    assert s.notifications.discord_webhook_url is not None
    assert s.notifications.discord_webhook_url.get_secret_value() == url
    assert "secret-token" not in repr(s)
    assert load(DISCORD_WEBHOOK_URL="http://127.0.0.1:9999/api/webhooks/1/t").notifications
    assert "DISCORD_WEBHOOK_URL" in issues_for(
        DISCORD_WEBHOOK_URL="http://discord.com/api/webhooks/1/t"
    )


def test_blank_optional_values_mean_unset():
    s = load(DISCORD_WEBHOOK_URL="", FINNHUB_API_KEY="", CLOUD_SYNC_BUCKET="")
    assert s.notifications.discord_webhook_url is None
    assert s.data.finnhub_api_key is None
    assert s.cloud.cloud_sync_bucket is None


def test_secret_values_lists_every_configured_secret():
    s = load(FINNHUB_API_KEY="fh-key", AWS_SECRET_ACCESS_KEY="aws-secret")
    assert set(s.secret_values()) == {"fh-key", "aws-secret"}
    shown = {var: value for _, var, value in s.rows()}
    assert shown["FINNHUB_API_KEY"] == MASK
    assert "fh-key" not in str(s.rows())


def test_log_format_follows_environment_unless_set():
    assert load().service.effective_log_format == "console"
    assert load(ENVIRONMENT="production").service.effective_log_format == "json"
    assert (
        load(ENVIRONMENT="production", LOG_FORMAT="console").service.effective_log_format
        == "console"
    )
    assert load(LOG_LEVEL="debug").service.log_level == "DEBUG"


def test_env_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("INITIAL_CAPITAL=25000\nSYMBOLS=AAPL,MSFT\n")
    s = load_settings(env_file)
    assert s.trading.initial_capital == 25000
    assert s.trading.symbols == ["AAPL", "MSFT"]
    monkeypatch.setenv("INITIAL_CAPITAL", "30000")
    assert load_settings(env_file).trading.initial_capital == 30000


def test_unknown_env_file_key_is_an_error_with_a_suggestion(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("INITAL_CAPITAL=25000\nAWS_PROFILE=x\n")
    with pytest.raises(ConfigurationError) as info:
        load_settings(env_file)
    [issue] = info.value.issues
    assert issue.variable == "INITAL_CAPITAL"
    assert "INITIAL_CAPITAL" in issue.expected


def test_overrides_win_and_unknown_names_fail():
    s = load_settings(None, overrides={"trend_filter": "false", "MAX_OPEN_POSITIONS": "20"})
    assert s.strategy.trend_filter is False
    assert s.risk.max_open_positions == 20
    with pytest.raises(ConfigurationError) as info:
        load_settings(None, overrides={"trend_filtr": "false"})
    assert info.value.issues[0].variable == "TREND_FILTR"
    assert "TREND_FILTER" in info.value.issues[0].expected


def test_settings_are_frozen():
    s = load_settings(None)
    with pytest.raises(ValueError, match="frozen"):
        s.trading.initial_capital = 1  # type: ignore[misc]


def test_env_example_documents_every_setting():
    from vibe.tests.conftest import REPO_ROOT
    from vibe.trading_bot.config.settings import setting_names

    text = (REPO_ROOT / ".env.example").read_text()
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in text.splitlines()
        if "=" in line and not line.startswith("##")
    }
    missing = {name.upper() for name in setting_names()} - documented
    assert not missing, f".env.example lacks {sorted(missing)}"
    assert load_settings(REPO_ROOT / ".env.example").trading.symbols

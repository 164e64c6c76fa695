"""The CLI as a user runs it: ``python -m vibe.trading_bot`` in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vibe.tests.support import user_env
from vibe.trading_bot.config.settings import setting_names

from .data.yahoo_chart_standin import YahooChartStandIn

DAILY = "bars_daily/tiingo_unadjusted_2024-2026"  # real daily bars for the Yahoo stand-in
#: Our only modules on the ``validate-config`` path (the command line and the settings).
VALIDATE_CONFIG_MODULES = {
    "vibe", "vibe.common", "vibe.common.errors", "vibe.trading_bot", "vibe.trading_bot.cli",
    "vibe.trading_bot.commands", "vibe.trading_bot.commands.common",
    "vibe.trading_bot.commands.optimize", "vibe.trading_bot.commands.options",
    "vibe.trading_bot.config", "vibe.trading_bot.config.loader",
    "vibe.trading_bot.config.settings",
}  # fmt: skip
#: Libraries ``validate-config`` has no use for (``--check-connections`` imports its own).
NOT_FOR_VALIDATE_CONFIG = {
    "pandas", "numpy", "pyarrow", "rich", "structlog", "httpx", "yfinance", "websockets",
    "fastapi", "uvicorn", "boto3", "azure", "exchange_calendars", "optuna",
}  # fmt: skip


def run_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD", "INITIAL"))}
    return subprocess.run(
        [sys.executable, "-m", "vibe.trading_bot", *args],
        capture_output=True, text=True, cwd=cwd, env={**clean, **env}, timeout=60, check=False,
    )  # fmt: skip


def test_help_lists_validate_config(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "validate-config" in result.stdout


def test_valid_config_shows_symbols(tmp_path):
    result = run_cli("validate-config", cwd=tmp_path, SYMBOLS="AAPL,MSFT", INITIAL_CAPITAL="25000")
    assert result.returncode == 0, result.stderr
    assert "AAPL,MSFT" in result.stdout
    assert "25000" in result.stdout


def test_validate_config_prints_a_plain_table_and_imports_only_the_settings(tmp_path):
    secret = "https://discord.com/api/webhooks/42/s3cr3t-token"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vibe.trading_bot", "validate-config"],
        cwd=tmp_path, env=user_env(tmp_path, SYMBOLS="AAPL,MSFT", DISCORD_WEBHOOK_URL=secret),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    title, header, rule, *body, valid = done.stdout.splitlines()
    assert (title, header.split(), rule.split()) == (
        "vibe trading bot settings",
        ["group", "variable", "value"],
        ["-----", "--------", "-----"],
    )
    column, value = header.index("variable"), header.index("value")  # aligned columns
    rows = {(r[:column].strip(), r[column:value].strip(), r[value:]) for r in body}
    assert len(rows) == len(body) == len(setting_names())
    assert ("trading", "SYMBOLS", "AAPL,MSFT") in rows
    assert ("notifications", "DISCORD_WEBHOOK_URL", "**********") in rows
    assert ("health", "API_TOKEN", "(not set)") in rows
    assert valid == "configuration is valid"
    assert "s3cr3t" not in done.stdout + done.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert {name for name in imported if name.split(".")[0] == "vibe"} == VALIDATE_CONFIG_MODULES
    heavy = {name.split(".")[0] for name in imported} & NOT_FOR_VALIDATE_CONFIG
    assert not heavy, sorted(heavy)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"INITIAL_CAPITAL": "-5"}, "INITIAL_CAPITAL"),
        ({"HEALTH_CHECK_PORT": "eighty"}, "HEALTH_CHECK_PORT"),
        ({"CLOUD_PROVIDER": "gcs"}, "CLOUD_PROVIDER"),
        ({"ENABLE_CLOUD_SYNC": "true", "CLOUD_PROVIDER": "s3"}, "CLOUD_SYNC_BUCKET"),
    ],
)
def test_bad_config_exits_2_and_names_variable(tmp_path, env, variable):
    result = run_cli("validate-config", cwd=tmp_path, **env)
    assert result.returncode == 2
    assert variable in result.stderr
    as_json = run_cli("validate-config", "--json", cwd=tmp_path, **env)
    assert as_json.returncode == 2
    payload = json.loads(as_json.stdout)
    assert payload["valid"] is False
    assert variable in {e["variable"] for e in payload["errors"]}


def test_webhook_secret_never_printed(tmp_path):
    url = "https://discord.com/api/webhooks/1/secret-token"
    result = run_cli("validate-config", "--json", cwd=tmp_path, DISCORD_WEBHOOK_URL=url)
    assert result.returncode == 0
    assert "secret-token" not in result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert payload["settings"]["notifications"]["DISCORD_WEBHOOK_URL"] == "**********"
    bad = run_cli("validate-config", cwd=tmp_path, DISCORD_WEBHOOK_URL="ftp://x/secret-token")
    assert bad.returncode == 2
    assert "secret-token" not in bad.stdout + bad.stderr


def test_env_file_in_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text("SYMBOLS=NVDA\n")
    result = run_cli("validate-config", "--json", cwd=tmp_path)
    assert json.loads(result.stdout)["settings"]["trading"]["SYMBOLS"] == "NVDA"


def test_check_connections_local_ok(tmp_path, shared_data):
    with YahooChartStandIn(shared_data / DAILY) as yahoo:
        result = run_cli(
            "validate-config", "--check-connections", "--json", cwd=tmp_path,
            CLOUD_SYNC_DIR=str(tmp_path / "backups"), YAHOO_BASE_URL=yahoo.url,
            XDG_CACHE_HOME=str(tmp_path / "cache"),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    check = json.loads(result.stdout)["cloud_sync_check"]
    assert check["ok"] is True and check["provider"] == "local"
    checks = {c["name"]: c for c in json.loads(result.stdout)["connection_checks"]}
    assert checks["yahoo"]["ok"] and checks["yahoo"]["configured"]
    assert checks["finnhub"]["ok"] and checks["finnhub"]["configured"] is False  # no key: unused
    assert checks["cloud sync [local, disabled]"]["ok"]


def test_check_connections_unreachable_s3_exits_1_without_secrets(tmp_path):
    result = run_cli(
        "validate-config", "--check-connections", cwd=tmp_path,
        CLOUD_PROVIDER="s3", CLOUD_SYNC_BUCKET="bots", AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="very-secret-key",
        YAHOO_BASE_URL="http://127.0.0.1:9", XDG_CACHE_HOME=str(tmp_path / "cache"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "FAILED" in result.stdout
    assert "very-secret-key" not in result.stdout + result.stderr


@pytest.mark.asyncio
async def test_check_connections_gets_the_webhook_with_its_token_masked(tmp_path, shared_data):
    from vibe.tests.trading_bot.notifications.discord_standin import (
        DiscordStandIn,
        StandInServer,
        load_limits,
    )

    async with StandInServer(DiscordStandIn(load_limits(shared_data))) as discord:
        good = discord.add_webhook("777", "tok-en-secret")
        bad = good.replace("tok-en-secret", "wrong-secret")
        backups = str(tmp_path / "backups")

        def check(url: str, *flags: str) -> subprocess.CompletedProcess[str]:
            return run_cli(
                "validate-config", "--check-connections", *flags, cwd=tmp_path,
                CLOUD_SYNC_DIR=backups, DISCORD_WEBHOOK_URL=url, YAHOO_BASE_URL=yahoo.url,
                XDG_CACHE_HOME=str(tmp_path / "cache"),
            )  # fmt: skip

        with YahooChartStandIn(shared_data / DAILY) as yahoo:
            ok = await asyncio.to_thread(check, good)
            refused = await asyncio.to_thread(check, bad, "--json")
        posts = [r for r in discord.requests if r.status != 200]
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"discord webhook {discord.base_url}/api/webhooks/777/***: ok" in ok.stdout
    assert refused.returncode == 1
    webhook = json.loads(refused.stdout)["webhook_check"]
    assert webhook["ok"] is False and webhook["configured"] is True
    assert "404" in webhook["detail"] and webhook["target"].endswith("/777/***")
    assert "secret" not in ok.stdout + ok.stderr + refused.stdout + refused.stderr
    assert not discord.bodies() and len(posts) == 1  # the 404 of the wrong token; nothing posted


def test_check_connections_without_webhook_says_alerts_go_to_the_log(tmp_path, shared_data):
    with YahooChartStandIn(shared_data / DAILY) as yahoo:
        result = run_cli(
            "validate-config", "--check-connections", cwd=tmp_path,
            CLOUD_SYNC_DIR=str(tmp_path / "backups"), YAHOO_BASE_URL=yahoo.url,
            XDG_CACHE_HOME=str(tmp_path / "cache"),
        )  # fmt: skip
    assert result.returncode == 0
    assert "discord webhook: not configured: alerts are written to the log" in result.stdout

"""The CLI as a user runs it: ``python -m vibe.trading_bot`` in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


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


def test_check_connections_local_ok(tmp_path):
    result = run_cli(
        "validate-config", "--check-connections", "--json", cwd=tmp_path,
        CLOUD_SYNC_DIR=str(tmp_path / "backups"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    check = json.loads(result.stdout)["cloud_sync_check"]
    assert check["ok"] is True and check["provider"] == "local"


def test_check_connections_unreachable_s3_exits_1_without_secrets(tmp_path):
    result = run_cli(
        "validate-config", "--check-connections", cwd=tmp_path,
        CLOUD_PROVIDER="s3", CLOUD_SYNC_BUCKET="bots", AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="very-secret-key",
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
                CLOUD_SYNC_DIR=backups, DISCORD_WEBHOOK_URL=url,
            )  # fmt: skip

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


def test_check_connections_without_webhook_says_alerts_go_to_the_log(tmp_path):
    result = run_cli(
        "validate-config", "--check-connections", cwd=tmp_path,
        CLOUD_SYNC_DIR=str(tmp_path / "backups"),
    )  # fmt: skip
    assert result.returncode == 0
    assert "discord webhook: not configured: alerts are written to the log" in result.stdout

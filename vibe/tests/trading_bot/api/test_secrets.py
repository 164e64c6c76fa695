"""/health/state and the other endpoints never show a configured secret."""

from __future__ import annotations

import pytest

from vibe.tests.trading_bot.api.support import PHASES, Stack
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.core.health_reporter import HealthState

pytestmark = pytest.mark.asyncio


SECRETS = {
    "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/998877/hook-token-ABCdef123",
    "FINNHUB_API_KEY": "finnhub-key-0123456789",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY123",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-zyx987654321",
    "AZURE_STORAGE_CONNECTION_STRING": (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=azure-key-QWERTY==;"
    ),
}


@pytest.fixture
def monitor_kwargs() -> dict:
    settings = load_settings(env_file=None, overrides=SECRETS)
    return {"secrets": settings.secret_values()}


async def test_state_never_contains_a_configured_secret(stack: Stack):
    monitor = stack.monitor
    for name in PHASES:
        monitor.complete_phase(name)
    notifier = monitor.register("notifier", critical=False)
    data = monitor.register("data")
    # Components carelessly put secrets into reasons and errors.
    notifier.set_state(HealthState.DEGRADED, f"POST {SECRETS['DISCORD_WEBHOOK_URL']} -> 429")
    notifier.record_error(f"webhook {SECRETS['DISCORD_WEBHOOK_URL']} rejected")
    data.record_error(f"wss://ws.finnhub.io?token={SECRETS['FINNHUB_API_KEY']} closed")
    data.set_state(HealthState.UNHEALTHY, f"key {SECRETS['AWS_SECRET_ACCESS_KEY']} denied")
    monitor.fail_phase("stores", f"sync: {SECRETS['AZURE_STORAGE_CONNECTION_STRING']}")
    monitor.record_sync(succeeded=False, detail=f"id {SECRETS['AWS_ACCESS_KEY_ID']} unknown")
    for path in ("/health/state", "/health/ready", "/health/startup", "/health/live", "/metrics"):
        text = (await stack.client.get(path)).text
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} leaked through {path}"
        assert "hook-token-ABCdef123" not in text
        assert "azure-key-QWERTY" not in text
    state = (await stack.client.get("/health/state")).json()
    assert state["components"][0]["reason"] == "POST ********** -> 429"  # context survives
    assert state["components"][1]["errors"]["last_error"] == (
        "wss://ws.finnhub.io?token=********** closed"
    )

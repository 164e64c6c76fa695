"""Redaction of secrets from every log line, structlog and stdlib alike."""

from __future__ import annotations

import json
import logging

import pytest

from vibe.trading_bot.config.logging_config import REDACTED, SecretRedactor, configure_logging
from vibe.trading_bot.utils.logger import get_logger, log_with_context

WEBHOOK = "https://discord.com/api/webhooks/123/secret-token"


def test_known_secret_removed_from_nested_values():
    redactor = SecretRedactor(["s3cr3t"])
    event = {
        "event": "calling s3cr3t",
        "payload": {"a": ["x", "s3cr3t", ("s3cr3t-suffix",)]},
        "n": 5,
    }
    out = redactor(None, "info", event)
    assert "s3cr3t" not in repr(out)
    assert out["n"] == 5
    assert out["payload"]["a"][2] == (f"{REDACTED}-suffix",)


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        (f"POST {WEBHOOK} 204", "secret-token"),
        ("wss://ws.finnhub.io?token=abc123def", "abc123def"),
        ("https://x/q?symbol=AAPL&apikey=zzzz9", "zzzz9"),
        ("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=Eby8vdM02x==;", "Eby8vdM02x"),
    ],
)
def test_secret_shapes_redacted_without_knowing_the_value(text, leaked):
    assert leaked not in SecretRedactor().redact(text)


def test_exception_values_are_redacted():
    out = SecretRedactor(["pw"]).redact_value(RuntimeError("bad pw"))
    assert "pw" not in out.replace("RuntimeError", "")


def _reset_logging():
    configure_logging("INFO", "console")


def test_json_lines_redact_structlog_and_stdlib_records(capsys):
    try:
        configure_logging("INFO", "json", secrets=["secret-token"])
        log = get_logger("vibe.test", component="notifier")
        log.info("sending alert", url=WEBHOOK, nested={"k": "secret-token"})
        log_with_context(log, "warning", "retrying", attempt=2)
        logging.getLogger("httpx").info('HTTP Request: POST %s "HTTP/1.1 204"', WEBHOOK)
        try:
            raise ValueError("token secret-token refused")
        except ValueError:
            log.exception("failed")
        out = capsys.readouterr().out
    finally:
        _reset_logging()
    assert "secret-token" not in out
    lines = [json.loads(line) for line in out.strip().splitlines()]
    first = lines[0]
    assert first["event"] == "sending alert"
    assert first["level"] == "info"
    assert first["logger"] == "vibe.test"
    assert first["component"] == "notifier"
    assert first["timestamp"].endswith("Z")
    assert lines[1]["attempt"] == 2 and lines[1]["level"] == "warning"
    assert lines[2]["logger"] == "httpx"
    assert "ValueError" in lines[3]["exception"]


def test_rotating_file_gets_json(tmp_path, capsys):
    path = tmp_path / "logs" / "bot.log"
    try:
        configure_logging("DEBUG", "console", secrets=["hunter2"], log_file=path)
        get_logger("vibe.file").debug("password hunter2 used")
    finally:
        _reset_logging()
    record = json.loads(path.read_text().strip().splitlines()[-1])
    assert record["event"] == f"password {REDACTED} used"
    assert "hunter2" not in capsys.readouterr().out


def test_log_with_context_rejects_unknown_level():
    with pytest.raises(ValueError, match="level='loud'"):
        log_with_context(get_logger("x"), "loud", "msg")


def test_a_bar_in_a_log_event_keeps_its_type():
    from datetime import UTC, datetime

    from vibe.common.models import Bar

    bar = Bar("SPY", datetime(2025, 7, 3, 13, 30, tzinfo=UTC), 620.0, 621.0, 619.5, 620.5, 900)
    out = SecretRedactor(["s3cr3t"])(None, "info", {"event": "bar", "bar": bar})
    assert out["bar"] == bar and type(out["bar"]) is Bar

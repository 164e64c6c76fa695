"""User errors on the command line: one line ``error: ...`` naming the value, exit 2, no traceback.

Every test runs the real ``python -m vibe.trading_bot`` process, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vibe.tests.conftest import REPO_ROOT
from vibe.tests.support import free_port

SAMPLE = REPO_ROOT / "examples" / "data"
HEAVY = ("pandas", "numpy", "pydantic", "pydantic_settings", "rich", "structlog")


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without settings, plus an isolated DATA_DIR and RESULTS_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        RESULTS_DIR=str(tmp_path / "results"),
        HEALTH_CHECK_HOST="127.0.0.1",
        HEALTH_CHECK_PORT=str(free_port()),
        COLUMNS="200",
        **extra,
    )
    return env


def bot(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vibe.trading_bot *args`` in ``tmp_path`` (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "vibe.trading_bot", *args],
        cwd=tmp_path,
        env=env if env is not None else user_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_error_line(done: subprocess.CompletedProcess[str], *named: str) -> str:
    """The single ``error: ...`` line on stderr (exit 2, no traceback), naming every ``named``."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("error: "), lines[0]
    for text in named:
        assert text in lines[0], lines[0]
    return lines[0]


def test_help_imports_neither_pandas_nor_pydantic(tmp_path: Path) -> None:
    done = bot(tmp_path, "--help")
    assert done.returncode == 0
    for command in ("run", "backtest", "show-status", "validate-config", "--version"):
        assert command in done.stdout
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vibe.trading_bot", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()}
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    done = bot(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"vibe-trading-bot {version('vibe-trading-bot')}"


def test_a_missing_env_file_is_an_error_for_every_command(tmp_path: Path) -> None:
    for args in (
        ["validate-config"],
        ["show-status"],
        ["run", "--replay", str(SAMPLE)],
        ["backtest", "--start", "2025-06-05", "--end", "2025-06-06", "--data", str(SAMPLE)],
    ):
        done = bot(tmp_path, *args, "--env-file", "prod.env")
        one_error_line(done, "--env-file=prod.env: no such file")


def test_without_env_file_a_missing_dotenv_is_fine(tmp_path: Path) -> None:
    done = bot(tmp_path, "validate-config", "--json")
    assert done.returncode == 0, done.stderr


def test_malformed_env_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    secret = "https://discord.com/api/webhooks/123/s3cr3t-token"
    (tmp_path / "prod.env").write_text(
        "SYMBOLS=SPY\n"
        "this is not a setting\n"
        "# a comment\n"
        "\n"
        f"DISCORD_WEBHOOK_URL {secret}\n"
        "INITIAL_CAPITAL=25000\n"
    )
    done = bot(tmp_path, "validate-config", "--env-file", "prod.env")
    assert done.returncode == 2
    assert "prod.env line 2: got 'this **********'" in done.stderr
    assert "prod.env line 5: got 'DISCORD_WEBHOOK_URL **********'" in done.stderr
    assert "line 1:" not in done.stderr and "line 6:" not in done.stderr
    assert "s3cr3t" not in done.stderr + done.stdout
    assert "could not parse" not in done.stderr  # python-dotenv's own warning is not repeated
    backtest = bot(
        tmp_path,
        "backtest",
        "--start",
        "2025-06-05",
        "--end",
        "2025-06-06",
        "--data",
        str(SAMPLE),
        "--env-file",
        "prod.env",
    )
    one_error_line(backtest, "prod.env line 2", "prod.env line 5")

"""A finished ``backtest`` ends through ``cli.exit_now``: its status kept, nothing lost.

The process ends with ``os._exit``, which skips the interpreter's exit handlers, so
the test checks what a user would lose otherwise: text still in stdout's buffer (a
pipe is block-buffered), log records a buffering handler holds until it is closed,
and the exit status (a message as the status: printed, status 1).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import logging, logging.handlers, sys
from vibe.trading_bot.cli import exit_now
target = logging.FileHandler(sys.argv[1])
logging.getLogger().addHandler(logging.handlers.MemoryHandler(100, target=target))
logging.getLogger("run").warning("record held by the handler until it closes")
print("summary without a newline", end="")
exit_now(SystemExit(STATUS))
"""


@pytest.mark.parametrize(
    ("status", "expected", "message"),
    [
        ("None", 0, ""),
        ("0", 0, ""),
        ("130", 130, ""),
        ("'stopped by SIGINT'", 1, "stopped by SIGINT"),
    ],
)
def test_exit_now_keeps_the_status_and_flushes_output_and_logs(
    tmp_path: Path, status: str, expected: int, message: str
) -> None:
    log = tmp_path / "run.log"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("STATUS", status), str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == expected, done.stderr
    assert done.stdout == "summary without a newline"
    assert log.read_text() == "record held by the handler until it closes\n"
    assert done.stderr.strip() == message

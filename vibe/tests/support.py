"""Test helpers shared across the suite: polling instead of sleeping, free ports, kill -9."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

Condition = Callable[[], bool] | Callable[[], Awaitable[bool]]


async def eventually(condition: Condition, within: float = 10.0, interval: float = 0.01) -> None:
    """Poll ``condition`` (sync or async) until it is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


def eventually_sync(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Blocking form of :func:`eventually` for thread-based code."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        time.sleep(0.01)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kill_9_after(script: str, args: list[str], after: int) -> list[int]:
    """Run ``python -c script *args``, SIGKILL it once it printed ``after`` integer lines.

    Returns every whole integer line it printed (also those between the last read
    and the kill): the records the child had committed when it died.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    printed: list[int] = []
    try:
        while len(printed) < after:
            line = child.stdout.readline()
            if not line:
                raise AssertionError(f"child exited early: {child.stderr.read()}")
            printed.append(int(line))
    finally:
        os.kill(child.pid, signal.SIGKILL)
    rest = child.stdout.read()  # lines printed between our last read and the kill
    printed.extend(int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n"))
    child.wait()
    child.stdout.close()
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return printed


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without cloud credentials, plus an isolated DATA_DIR,
    RESULTS_DIR and health port (and ``extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        RESULTS_DIR=str(tmp_path / "results"),
        HEALTH_CHECK_HOST="127.0.0.1",
        HEALTH_CHECK_PORT=str(free_port()),
        COLUMNS="200",
    )
    env.update(extra)
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

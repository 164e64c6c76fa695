"""The image's command line, run directly on this machine (no Docker engine here).

``ENTRYPOINT + CMD`` from the Dockerfile, plus ``--replay examples/data``, with
the environment the Dockerfile's ``ENV`` lines set (container paths moved into
``tmp_path``, the probe port a free one on 127.0.0.1). The process must answer
the liveness probe, pass the image's own HEALTHCHECK command, and exit 0 on
SIGTERM within compose's ``stop_grace_period``.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vibe.tests.deploy.deploy_files import (
    CONTAINER_TMP,
    REPO,
    compose,
    dockerfile_env,
    dockerfile_instructions,
    duration_seconds,
    exec_form,
    healthcheck,
    only,
    runtime_stage,
)
from vibe.tests.support import eventually, free_port
from vibe.trading_bot.storage.trade_store import DEFAULT_FILENAME as TRADES_DB

EXAMPLES = REPO / "examples" / "data"
STARTUP_WITHIN_SECONDS = 60.0
MEMORY_LIMIT_MIB = 512


def _container_argv() -> list[str]:
    runtime = runtime_stage(dockerfile_instructions())
    argv = exec_form(only(runtime, "ENTRYPOINT")[-1]) + exec_form(only(runtime, "CMD")[-1])
    assert argv[0] == "python"
    return [sys.executable, *argv[1:]]


def _moved(value: str, root: Path) -> str:
    # Absolute container paths (/app/..., /tmp/...) are re-rooted under tmp_path.
    for prefix in ("/app", CONTAINER_TMP):
        if value == prefix or value.startswith(prefix + "/"):
            return str(root / value.lstrip("/"))
    return value


def _container_env(root: Path, port: int) -> dict[str, str]:
    env = {
        key: _moved(value, root) for key, value in dockerfile_env(dockerfile_instructions()).items()
    }
    env |= {"HEALTH_CHECK_HOST": "127.0.0.1", "HEALTH_CHECK_PORT": str(port)}
    # Nothing else from this shell (no settings, no AWS/Azure variables) reaches the process.
    return env | {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root / "home")}


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str], Path]]:
    assert EXAMPLES.is_dir(), f"sample data missing: {EXAMPLES} (<SYMBOL>_5m.csv files)"
    port = free_port()
    env = _container_env(tmp_path, port)
    log = tmp_path / "container.log"
    argv = [*_container_argv(), "--replay", str(EXAMPLES), "--speed", "60"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc, env, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


async def _wait_until_live(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    async with httpx.AsyncClient(timeout=2.0) as client:

        async def live() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"exited with {proc.returncode} before answering:\n{_tail(log)}"
                )
            try:
                return (await client.get(url)).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(live, within=STARTUP_WITHIN_SECONDS, interval=0.2)


@pytest.mark.asyncio
async def test_container_command_answers_liveness_and_stops_cleanly_on_sigterm(started):
    proc, env, log = started
    _, check = healthcheck(dockerfile_instructions())
    port = env["HEALTH_CHECK_PORT"]
    # The HEALTHCHECK's path (test_deploy_consistency ties it to the app's liveness route).
    match = re.search(r"/health/\w+", check[2])
    assert match, check
    live_path = match.group(0)
    await _wait_until_live(proc, f"http://127.0.0.1:{port}{live_path}", log)

    # The image's own HEALTHCHECK command passes against the running process.
    probe = await asyncio.to_thread(
        subprocess.run, [sys.executable, *check[1:]], env=env, timeout=10, check=False
    )
    assert probe.returncode == 0

    # Peak resident memory so far stays inside the 512 MiB limit of compose and k8s.
    assert _peak_rss_mib(proc.pid) < MEMORY_LIMIT_MIB

    grace = duration_seconds(compose()["services"]["bot"]["stop_grace_period"])
    proc.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(proc.wait, grace)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {grace} s after SIGTERM:\n{_tail(log)}")
    assert code == 0, _tail(log)
    assert (Path(env["DATA_DIR"]) / TRADES_DB).is_file(), "DATA_DIR from the image is used"

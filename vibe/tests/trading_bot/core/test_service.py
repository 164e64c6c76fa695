"""Signals and the ordered shutdown registry, with real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vibe.trading_bot.core.service import FORCED_EXIT_STATUS, Service


@pytest.mark.asyncio
async def test_handlers_run_in_reverse_order_and_failures_are_isolated():
    service = Service(shutdown_timeout_seconds=2.0)
    ran: list[str] = []

    def stores() -> None:
        ran.append("stores")

    async def notifier() -> None:
        await asyncio.sleep(0)
        ran.append("notifier")

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("boom")

    async def slow() -> None:
        await asyncio.sleep(10)

    service.register_shutdown_handler(stores)
    service.register_shutdown_handler(notifier)
    service.register_shutdown_handler(broken, name="broken")
    service.register_shutdown_handler(slow, name="slow")
    results = await service.shutdown()
    assert ran == ["broken", "notifier", "stores"]
    assert [(r.name, r.outcome) for r in results] == [
        ("slow", "timed_out"),
        ("broken", "failed"),
        ("test_handlers_run_in_reverse_order_and_failures_are_isolated.<locals>.notifier", "ok"),
        ("test_handlers_run_in_reverse_order_and_failures_are_isolated.<locals>.stores", "ok"),
    ]
    assert results[0].seconds < 3.0


@pytest.mark.asyncio
async def test_sigterm_requests_a_graceful_stop():
    service = Service(shutdown_timeout_seconds=1.0, exit_on_second_signal=False)
    service.install_signal_handlers()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(service.wait_for_stop(), timeout=5)
        assert service.stop_requested and service.stop_reason == "SIGTERM"
    finally:
        service.remove_signal_handlers()


def test_second_signal_forces_exit():
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys
        from vibe.trading_bot.core.service import Service

        async def main():
            service = Service(shutdown_timeout_seconds=30)
            service.install_signal_handlers()
            os.kill(os.getpid(), signal.SIGINT)
            await service.wait_for_stop()
            print("graceful stop requested", flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(30)
            print("not reached", flush=True)

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == FORCED_EXIT_STATUS, result.stderr
    assert "graceful stop requested" in result.stdout
    assert "not reached" not in result.stdout

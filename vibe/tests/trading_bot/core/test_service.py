"""Signals and the ordered shutdown registry, with real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

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


@pytest.mark.asyncio
async def test_a_budgeted_step_gets_all_the_time_the_later_steps_do_not_reserve():
    service = Service(shutdown_timeout_seconds=4.0)
    budgets: dict[str, float] = {}

    def stores() -> None:
        budgets["stores"] = 0.0

    async def notifier(budget: float) -> None:
        budgets["notifier"] = budget
        await asyncio.sleep(0.2)

    service.register_shutdown_handler(stores, "stores", reserve_seconds=0.5)
    service.register_budgeted_shutdown_handler(notifier, "notifier", reserve_seconds=0.5)
    service.register_shutdown_handler(lambda: None, "trading", reserve_seconds=0.5)
    results = await service.shutdown()
    assert [r.outcome for r in results] == ["ok", "ok", "ok"]
    assert 3.0 < budgets["notifier"] <= 3.1  # 4 s less the exit's 0.4 s and the stores' 0.5 s
    assert results[1].budget_seconds == budgets["notifier"]
    assert results[2].budget_seconds > 3.3  # the notifier left most of its time unused


@pytest.mark.asyncio
async def test_a_hung_step_cannot_take_the_reserve_of_the_steps_after_it():
    service = Service(shutdown_timeout_seconds=2.0)
    closed: list[str] = []

    async def stores() -> None:
        await asyncio.sleep(0.3)  # needs most of its 0.4 s reserve
        closed.append("stores")

    async def hung() -> None:
        await asyncio.sleep(60)

    service.register_shutdown_handler(stores, "stores", reserve_seconds=0.4)
    service.register_shutdown_handler(hung, "hung", reserve_seconds=0.1)
    started = time.monotonic()
    results = await service.shutdown()
    assert [(r.name, r.outcome) for r in results] == [("hung", "timed_out"), ("stores", "ok")]
    assert closed == ["stores"]
    assert time.monotonic() - started < 2.1


@pytest.mark.asyncio
async def test_the_budget_counts_from_the_stop_request_and_reserves_are_capped():
    service = Service(shutdown_timeout_seconds=2.0)
    seen: list[float] = []

    async def step(budget: float) -> None:
        seen.append(budget)

    service.register_budgeted_shutdown_handler(step, "last", reserve_seconds=10.0)
    service.register_budgeted_shutdown_handler(step, "first", reserve_seconds=10.0)
    service.request_stop("test")
    # 2 s less a tenth for the process exit, less the reserves capped at half of 2 s
    assert service.spare_seconds() == pytest.approx(0.8, abs=0.05)
    await asyncio.sleep(0.5)  # e.g. the trading loop finishing its step
    assert service.spare_seconds() == pytest.approx(0.3, abs=0.05)
    await service.shutdown()
    assert seen[0] == pytest.approx(0.8, abs=0.05)  # 1.8 s - 0.5 s spent - 0.5 s reserved
    assert seen[1] == pytest.approx(1.3, abs=0.05)  # all that is left

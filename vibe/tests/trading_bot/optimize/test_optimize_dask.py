"""``optimize --executor dask`` on a real cluster: ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1 (free ports, output in files, killed at the end).

A walk-forward grid search on real SPY 1-minute bars gives the same trials, best and
folds on the Dask cluster (2 workers) as on the local pool with 1 worker; its folds'
out-of-sample windows follow their in-sample windows without overlap.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date

import pytest

from vibe.tests.support import bot, free_port, user_env
from vibe.tests.trading_bot.optimize.optimize_support import (
    END,
    SPY_1M,
    START,
    optimize_args,
    read_report,
    trial_results,
)

WORKERS = 2
PRELOAD = "vibe.trading_bot.optimize.dask_preload"
GRID = ["--space", "orb_minutes=15,30", "--space", "take_profit_r=1.0,2.0"]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tcp://127.0.0.1:<port>`` of a scheduler with two single-thread workers."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    commands = [["scheduler", "--host", "127.0.0.1", "--port", port]]
    worker = ["worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--preload", PRELOAD]
    commands += [worker] * WORKERS
    procs = []
    try:
        for i, command in enumerate(commands):
            with (logs / f"{command[0]}-{i}.log").open("w") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "dask", *command, "--no-dashboard"],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        cwd=logs,
                    )
                )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(WORKERS, timeout=120)
            # the README's --preload: the backtest is imported before any client connects
            loaded = client.run(lambda: "vibe.trading_bot.backtest.runner" in sys.modules)
            assert list(loaded.values()) == [True] * WORKERS
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_dask_and_local_walk_forward_agree_and_folds_never_overlap(
    tmp_path, shared_data, dask_cluster
):
    data = shared_data / SPY_1M
    reports = {}
    for name, flags in {
        "dask": ["--executor", "dask", "--address", dask_cluster],
        "local": ["--executor", "local", "--workers", "1"],
    }.items():
        home = tmp_path / name  # its own RESULTS_DIR: no study is shared between the runs
        home.mkdir()
        out = home / "wf.json"
        args = optimize_args(data, *GRID, "--walk-forward", "2", "--output", str(out), *flags)
        done = bot(home, *args, env=user_env(home))
        assert done.returncode == 0, done.stderr
        reports[name] = read_report(out)
    dask, local = reports["dask"], reports["local"]
    assert "dask tcp://127.0.0.1" in dask["config"]["executor_description"]
    assert trial_results(dask) == trial_results(local) and len(dask["trials"]) == 4
    assert dask["best"] == local["best"]
    assert dask["walk_forward"] == local["walk_forward"]

    folds = dask["walk_forward"]["folds"]
    assert [f["fold"] for f in folds] == [1, 2]
    day = date.fromisoformat
    for fold in folds:
        ins, oos = fold["in_sample"], fold["out_of_sample"]
        assert ins["start"] == START  # anchored
        assert day(ins["end"]) < day(oos["start"]) <= day(oos["end"]) <= day(END)
    assert day(folds[0]["out_of_sample"]["end"]) < day(folds[1]["out_of_sample"]["start"])
    assert folds[1]["in_sample"]["end"] == folds[0]["out_of_sample"]["end"]
    summary = dask["walk_forward"]["out_of_sample"]
    curve = summary["equity_curve"]
    assert curve and curve[0][0] >= folds[0]["out_of_sample"]["start"]
    assert summary["metrics"]["final_equity"] == curve[-1][1]
    _page_draws(tmp_path / "dask" / "wf.html", len(curve))


def _page_draws(page, equity_points):
    """The HTML page draws its charts offline in Chromium, without console errors."""
    from selenium.webdriver.support.ui import WebDriverWait

    from vibe.tests.browser import chromium, console_errors, save_screenshot

    with chromium() as driver:
        driver.get(page.as_uri())
        drawn = WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return window.optimizeDrawn")
        )
        assert drawn["parameterCharts"] == 2  # orb_minutes and take_profit_r are numeric
        assert 0 < drawn["equityPoints"] <= equity_points  # one point per bar time
        assert driver.find_elements("css selector", "#equity canvas")
        assert "table" in driver.find_element("css selector", "table.heat").tag_name
        assert console_errors(driver) == []
        save_screenshot(driver, page.with_suffix(".png"))

"""Checks a command runs before it starts anything: what would otherwise fail late, or as a trace.

Each check ends the command with one line ``error: ...`` naming the setting or
option, the value and the cause the operating system gave, and exit status 2:

* :func:`check_port_free`: ``HEALTH_CHECK_PORT`` is not taken by another process;
* :func:`check_writable_folder`: ``DATA_DIR`` (or any folder the command writes)
  exists or can be created, and a file can be created in it (a read-only file
  system, a missing permission or a file in the way are named);
* :func:`check_report_path`: the backtest report can be written where asked,
  as JSON, before the backtest runs.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from vibe.trading_bot.commands.common import fail

#: Suffix of the backtest report (the HTML report is written beside it).
REPORT_SUFFIX = ".json"


def check_port_free(host: str, port: int, setting: str = "HEALTH_CHECK_PORT") -> None:
    """Exit 2 unless ``host:port`` can be bound now (bound the way the health server binds).

    The port is released at once; the health server binds it again at the end of
    the start-up (a process that takes it in between still fails there, with one line).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(1)
    except OSError as exc:
        cause = exc.strerror or str(exc)
        fail(
            f"{setting}={port}: cannot listen on {host}:{port} ({cause}); another program "
            f"(another daemon?) uses it: stop it, or set {setting} to a free port"
        )


def check_writable_folder(folder: Path, label: str) -> Path:
    """Exit 2 unless ``folder`` exists (or can be created) and a file can be written in it.

    Args:
        folder: the folder, e.g. ``DATA_DIR``.
        label: how the user set it, first on the error line (``DATA_DIR=./data``).

    Returns:
        ``folder``.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        fail(f"{label}: {folder} is not a folder (a file of that name is in the way)")
    except OSError as exc:
        fail(f"{label}: the folder {folder} cannot be created ({_cause(exc)})")
    try:
        handle, probe = tempfile.mkstemp(prefix=".vibe-write-test-", dir=folder)
    except OSError as exc:
        fail(f"{label}: cannot write in {folder} ({_cause(exc)})")
    os.close(handle)
    os.unlink(probe)
    return folder


def check_report_path(output: Path | None, results_dir: Path) -> None:
    """Exit 2 unless the backtest report can be written: a ``.json`` path in a writable folder.

    Args:
        output: ``--output`` as given; ``None``: a new file in ``results_dir``.
        results_dir: ``RESULTS_DIR``.
    """
    if output is None:
        check_writable_folder(results_dir, f"RESULTS_DIR={results_dir}")
        return
    if output.suffix.lower() != REPORT_SUFFIX:
        fail(
            f"--output={output}: expected a .json path (the report is JSON; the HTML "
            "report is written beside it with .html)"
        )
    if output.is_dir():
        fail(f"--output={output}: is a folder; expected a .json file path")
    check_writable_folder(output.parent, f"--output={output}")


def _cause(exc: OSError) -> str:
    """The operating system's words: "Read-only file system", "Permission denied"..."""
    return exc.strerror or str(exc)

"""A crash point after the N-th SQLite commit, for crash-safety tests; inert unless set.

The daemon promises that a ``kill -9`` at *any* moment, followed by a restart on
the same ``DATA_DIR``, ends with exactly the records of an uninterrupted run. The
moments that matter are the commits: between two commits nothing durable
changes. Tests prove the promise by killing the real process right after each
commit in turn:

* ``VIBE_CRASH_AFTER_COMMIT=N`` (an integer >= 1): right after the N-th commit
  of this process to a counted database, the process sends itself ``SIGKILL``
  (no handler, no ``finally``, no flush: exactly a ``kill -9``).
* ``VIBE_COMMIT_TRACE=FILE``: every counted commit appends one line
  ``<n> <database file name>`` to ``FILE`` (how a test learns how many commits a
  run makes, and which).

Counted databases are every store's except ``logs.db``, whose rows are written by
a background thread at times that vary between runs and hold no trading state.
With neither variable set (production), :func:`committed` is one global lookup
and a return. The environment is read once, at import.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

CRASH_ENV = "VIBE_CRASH_AFTER_COMMIT"
TRACE_ENV = "VIBE_COMMIT_TRACE"
_UNCOUNTED = frozenset({"logs.db"})


def _limit_from_env() -> int | None:
    text = os.environ.get(CRASH_ENV, "").strip()
    if not text:
        return None
    try:
        limit = int(text)
    except ValueError:
        raise SystemExit(f"error: {CRASH_ENV}={text!r}; expected an integer >= 1") from None
    if limit < 1:
        raise SystemExit(f"error: {CRASH_ENV}={text!r}; expected an integer >= 1")
    return limit


_LIMIT = _limit_from_env()
_TRACE = os.environ.get(TRACE_ENV) or None
_ACTIVE = _LIMIT is not None or _TRACE is not None
_lock = threading.Lock()
_count = 0


def committed(path: Path) -> None:
    """Note one committed transaction on the database file ``path``.

    Kills the process with ``SIGKILL`` when it is the ``VIBE_CRASH_AFTER_COMMIT``-th
    counted commit; appends to the ``VIBE_COMMIT_TRACE`` file when set. A no-op
    when neither variable is set.
    """
    if not _ACTIVE or path.name in _UNCOUNTED:
        return
    global _count
    with _lock:
        _count += 1
        if _TRACE is not None:
            with open(_TRACE, "a", encoding="utf-8") as trace:
                trace.write(f"{_count} {path.name}\n")
        if _LIMIT is not None and _count >= _LIMIT:
            os.kill(os.getpid(), signal.SIGKILL)

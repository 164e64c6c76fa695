"""Replace a file atomically: write a temporary file beside it, fsync, ``os.replace``.

Readers see either the old file or the whole new one, never a part: the
temporary file lives in the target's folder (same file system, so the rename
is atomic on POSIX) and is flushed to disk before the rename (unless the caller
says the file need not survive a crash of the machine). On any failure
the temporary file is removed and an existing target keeps its old content.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"  # temporary files are named ".<target name>.<random>.tmp"


def is_temporary(name: str) -> bool:
    """True for the name of a temporary file of :func:`replace_atomically` (e.g. to hide it)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def replace_atomically(
    target: Path,
    write: Callable[[BinaryIO], object],
    mode: int | None = None,
    *,
    durable: bool = True,
) -> Path:
    """Create or replace ``target`` with what ``write`` puts into a binary file handle.

    Args:
        target: the file to create or replace; missing parent folders are created.
        write: called once with the open temporary file (binary, write mode).
        mode: permission bits to give the file (e.g. ``0o644``); default the
            temporary file's ``0o600``.
        durable: fsync the file before the rename, so that it survives an OS crash or
            a power cut. ``False`` for a file that can be made again (a report): the
            rename alone still keeps a killed process from leaving a partial file.

    Returns:
        ``target``.

    Raises:
        OSError: the folder or file cannot be created or written (nothing is left behind).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return target


def write_bytes_atomically(
    target: Path, data: bytes, mode: int | None = None, *, durable: bool = True
) -> Path:
    """:func:`replace_atomically` with ``data`` as the new content."""
    return replace_atomically(target, lambda handle: handle.write(data), mode, durable=durable)

"""Where snapshots go: the :class:`SyncBackend` interface and the local directory backend.

A backend stores opaque objects under ``/``-separated keys, each with a small
``str -> str`` metadata map. Every method is a coroutine; SDK and file calls
run in a worker thread (:func:`asyncio.to_thread`) so the event loop never
blocks. Failures come out as the project's errors only:

* :class:`~vibe.common.errors.TemporaryError`: worth retrying (connection
  refused or reset, timeouts, throttling, 5xx).
* :class:`~vibe.common.errors.OperationalError`: a person has to act (missing
  bucket or container, bad credentials, permission denied).

A missing object is not an error: :meth:`SyncBackend.get_bytes` returns
``None`` and :meth:`SyncBackend.get_file` returns ``False``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar, runtime_checkable

from vibe.common.errors import InvalidInputError, OperationalError, TemporaryError, VibeError
from vibe.trading_bot.utils.atomic_file import (
    is_temporary,
    replace_atomically,
    write_bytes_atomically,
)

T = TypeVar("T")
METADATA_SUFFIX = ".metadata.json"


@runtime_checkable
class SyncBackend(Protocol):
    """An object store for snapshots (local directory, S3, Azure Blob)."""

    name: str

    def describe(self) -> str:
        """Where objects go, for logs and ``--check-connections`` (never contains a secret)."""
        ...

    async def put_file(self, key: str, path: Path, metadata: Mapping[str, str]) -> None:
        """Upload the file at ``path`` as ``key`` with ``metadata``, replacing any object."""
        ...

    async def put_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        """Upload ``data`` as ``key`` with ``metadata``, replacing any object."""
        ...

    async def get_file(self, key: str, dest: Path) -> bool:
        """Download ``key`` into ``dest``; ``False`` (and no file) when ``key`` does not exist."""
        ...

    async def get_bytes(self, key: str) -> bytes | None:
        """The content of ``key``, or ``None`` when it does not exist."""
        ...

    async def list_keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix``, sorted ascending."""
        ...

    async def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing key is not an error."""
        ...

    async def check(self) -> None:
        """Prove the target exists and is reachable and writable (used at start-up and by the CLI).

        Raises:
            TemporaryError: the service cannot be reached.
            OperationalError: the target is missing or access is denied.
        """
        ...


def validate_key(key: str) -> str:
    """Return ``key`` when it is a relative ``/``-separated object key.

    Raises:
        InvalidInputError: empty, absolute, or containing ``..`` / ``.`` / empty segments.
    """
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise InvalidInputError(f"object key {key!r}; expected a relative path like 'a/b/c.gz'")
    return key


class ThreadedBackend:
    """Base class: run a blocking call in a thread and translate its exceptions.

    Subclasses implement :meth:`translate`, mapping an SDK exception to a
    :class:`VibeError` (or ``None`` to let it propagate unchanged, e.g. a bug).
    """

    name = "threaded"

    async def run(self, action: str, func: Callable[..., T], *args: Any) -> T:
        """``await asyncio.to_thread(func, *args)`` with exceptions translated.

        Args:
            action: what was attempted, e.g. ``"upload snapshots/x.gz"`` (goes into messages).
            func: the blocking callable.
            *args: its positional arguments.

        Raises:
            TemporaryError | OperationalError: translated SDK failures, naming ``action``.
        """
        try:
            return await asyncio.to_thread(func, *args)
        except VibeError:
            raise
        except Exception as exc:
            translated = self.translate(exc, f"{self.name} {action} ({self.describe()})")
            if translated is None:
                raise
            raise translated from exc

    def describe(self) -> str:
        """Where objects go (overridden by subclasses)."""
        return self.name

    def translate(self, exc: Exception, context: str) -> VibeError | None:
        """Map ``exc`` to the project's errors; ``None`` lets it propagate (overridden)."""
        return None


class LocalDirectoryBackend(ThreadedBackend):
    """Objects as files under a directory (``CLOUD_SYNC_DIR``; the default backend).

    ``key`` ``a/b.gz`` is the file ``<root>/a/b.gz``; its metadata is the JSON
    file ``<root>/a/b.gz.metadata.json``. Writes go to a temporary file in the
    same directory, are fsynced, then renamed into place (:func:`os.replace`),
    so a reader never sees a partial object.

    Args:
        root: the directory; created when missing.
    """

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        """``file://<absolute root>``."""
        return self.root.resolve().as_uri()

    def translate(self, exc: Exception, context: str) -> VibeError | None:
        """Permission problems need a person; other OS errors (full or absent mount) may pass."""
        if isinstance(exc, PermissionError | NotADirectoryError | IsADirectoryError):
            return OperationalError(f"{context}: {exc}")
        if isinstance(exc, OSError):
            return TemporaryError(f"{context}: {exc}")
        return None

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    async def put_file(self, key: str, path: Path, metadata: Mapping[str, str]) -> None:
        """Copy ``path`` to ``<root>/<key>`` atomically and write its metadata file."""
        await self.run(f"upload {key}", self._put, key, Path(path), None, dict(metadata))

    async def put_bytes(self, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        """Write ``data`` to ``<root>/<key>`` atomically and write its metadata file."""
        await self.run(f"upload {key}", self._put, key, None, data, dict(metadata))

    def _put(self, key: str, path: Path | None, data: bytes | None, meta: dict[str, str]) -> None:
        target = self._path(key)
        write_bytes_atomically(
            target.with_name(target.name + METADATA_SUFFIX), json.dumps(meta).encode()
        )
        if path is not None:
            _atomic_copy(path, target)
        else:
            write_bytes_atomically(target, data or b"")

    async def get_file(self, key: str, dest: Path) -> bool:
        """Copy ``<root>/<key>`` to ``dest``; ``False`` when it does not exist."""
        return await self.run(f"download {key}", self._get_file, key, Path(dest))

    def _get_file(self, key: str, dest: Path) -> bool:
        try:
            shutil.copyfile(self._path(key), dest)
        except FileNotFoundError:
            return False
        return True

    async def get_bytes(self, key: str) -> bytes | None:
        """The bytes of ``<root>/<key>``, or ``None`` when it does not exist."""
        return await self.run(f"download {key}", self._get_bytes, key)

    def _get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    async def list_keys(self, prefix: str) -> list[str]:
        """Keys (files other than metadata and temporary files) starting with ``prefix``."""
        return await self.run(f"list {prefix}", self._list, prefix)

    def _list(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            hidden = path.name.endswith(METADATA_SUFFIX) or is_temporary(path.name)
            if path.is_file() and not hidden and key.startswith(prefix):
                keys.append(key)
        return sorted(keys)

    async def delete(self, key: str) -> None:
        """Remove ``<root>/<key>`` and its metadata file (missing files are ignored)."""
        await self.run(f"delete {key}", self._delete, key)

    def _delete(self, key: str) -> None:
        target = self._path(key)
        target.unlink(missing_ok=True)
        target.with_name(target.name + METADATA_SUFFIX).unlink(missing_ok=True)

    async def check(self) -> None:
        """Create the root when missing and write, read and delete a probe file."""
        await self.run("check", self._check)

    def _check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(self.root / ".connection-check", b"ok")
        (self.root / ".connection-check").unlink()


def _atomic_copy(source: Path, target: Path) -> None:
    def copy(handle: BinaryIO) -> None:
        with source.open("rb") as src:
            shutil.copyfileobj(src, handle, 1024 * 1024)

    replace_atomically(target, copy)

"""Crash-safe file writing, the wallet's inter-process lock, and reading our JSON documents
(:func:`load_document`). Stdlib and wallet.errors only.

:func:`atomic_write` gives the guarantee every wallet file relies on: after a crash at any
moment, the path holds either the complete old contents or the complete new contents, never a
mix or a truncated file. It writes a temporary file in the same directory (mode 0600 from
the start), flushes and fsyncs it, ``os.replace``-s it over the target (an atomic rename on
POSIX) and fsyncs the directory so the rename itself is durable. On any error the temporary
file is removed and the target is untouched.

:func:`exclusive_lock` serialises processes that read-modify-write a wallet (two ``send``
commands started together must not pick the same coins): an ``fcntl.flock`` on a lock file
next to the wallet, released when the block ends or the process dies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from wallet.errors import WalletLocked

FILE_MODE = 0o600
DIR_MODE = 0o700


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_directory(directory: Path) -> None:
    """Create ``directory`` (and parents) if missing; a new one gets mode 0700."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new, fsynced temporary file beside ``path``; return its path."""
    temp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # whatever the umask did
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    os.close(fd)
    return temp


def atomic_write(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` atomically and durably (see the module docstring)."""
    temp = _write_temp(path, data, mode)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_directory(path.parent)


def atomic_create(path: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Like :func:`atomic_write`, but never replaces an existing ``path``: raises
    ``FileExistsError`` instead, even when another process creates it at the same moment.

    The complete temporary file is hard-linked to ``path`` (``link`` fails if the name
    exists); a file system without hard links falls back to an existence check and a rename.
    """
    temp = _write_temp(path, data, mode)
    try:
        try:
            os.link(temp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            if path.exists():
                raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
            os.replace(temp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    fsync_directory(path.parent)


def read_file(path: Path, limit: int) -> bytes:
    """Read at most ``limit`` bytes (a wallet file is small; a huge one is not ours).

    Returns ``limit + 1`` bytes when the file is longer, so the caller can refuse it.
    """
    with open(path, "rb") as file:
        return file.read(limit + 1)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created 0600 if missing) for the block.

    With ``wait=False`` a held lock raises :class:`WalletLocked` instead of blocking.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise WalletLocked(
                    f"wallet is in use by another process (lock {lock_path.name})"
                ) from None
            raise
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def load_document(
    raw: bytes, file_format: str, version: int, bad: Callable[[str], Exception]
) -> dict[str, Any]:
    """A JSON object of our own whose ``format`` and ``version`` are these (the watch file, the
    transaction file); ``bad(why)`` is raised for anything else."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad("not JSON") from None
    if not isinstance(document, dict) or document.get("format") != file_format:
        raise bad(f"no 'format': {file_format!r}")
    if document.get("version") != version:
        raise bad(f"version {document.get('version')!r} is not {version}")
    return document

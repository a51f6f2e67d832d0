"""The data directory's lock: one node (or ``seedchain verify``) at a time, as Bitcoin Core's
``.lock``.

May import the standard library only. ``DatadirLock`` takes an exclusive ``flock`` on
``<datadir>/.lock`` without waiting and holds it until ``release()`` (or the process ends:
the kernel drops it even after a SIGKILL, so a crash never leaves a stale lock). The file
holds the holder's process id, for the operator; the lock, not the file, is what counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = ".lock"


class DatadirLocked(RuntimeError):
    """Another process holds the data directory."""


class DatadirLock:
    def __init__(self, datadir: Path) -> None:
        self.path = datadir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now, or raise ``DatadirLocked`` naming the holder."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (process {holder})" if holder.isdigit() else ""
            raise DatadirLocked(
                f"cannot lock the data directory {self.path.parent}: a seedchain node or"
                f" verify{who} is using it"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go (idempotent). The file stays: removing it could race a new holder."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> DatadirLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

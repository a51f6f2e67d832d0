"""Replacing a file atomically and durably: write a temporary file beside it, fsync it,
``os.replace`` it over the target, fsync the directory. A crash at any instant leaves the old
file or the new one, never a mix (a leftover ``.<name>.tmp`` is overwritten by the next write).

Standard library only. Used by the address book here and by the node's mempool and fee-estimate
files (``node`` may import ``p2p``; the wallet has its own, with private file modes).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (creating its directory if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)

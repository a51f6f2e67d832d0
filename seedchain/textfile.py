"""Reading a small UTF-8 text file whole, with a size limit (every input has one).

Standard library only. Callers word the error for their file (a password file, a
configuration file); the reason never quotes the contents.
"""

from __future__ import annotations

import sys
from pathlib import Path


class TextFileError(ValueError):
    """Why a file could not be read as small text: ``cannot be read: ...``, ``is larger than
    N bytes`` or ``is not UTF-8 text``."""


def read_text_file(path: str | Path, limit: int) -> str:
    """The text of ``path`` (``"-"``: standard input), at most ``limit`` bytes of UTF-8."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(Path(path).expanduser(), "rb") as file:
                data = file.read(limit + 1)
    except OSError as exc:
        raise TextFileError(f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise TextFileError(f"is larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TextFileError("is not UTF-8 text") from None

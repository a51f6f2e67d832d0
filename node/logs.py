"""structlog set-up for every Seedchain process: events, not sentences.

Console rendering on a terminal, one JSON object per line otherwise (containers), or as forced
by ``--log-format``. Stdlib logging (aiohttp's, the miner's) is routed through the same
renderer so there is one format per process.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Literal

import structlog

LogFormat = Literal["auto", "console", "json"]
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}  # fmt: skip
MAX_LOGGER_LEVELS = 100  # loggers given their own level at run time
_LOGGER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_overrides: dict[str, str] = {}  # logger -> level, set through set_level


class LogLevelError(ValueError):
    """An unknown level or a malformed logger name; too many loggers with their own level."""


def levels() -> dict[str, object]:
    """The process's level and the loggers given their own (Core's ``logging`` RPC)."""
    root = logging.getLevelName(logging.getLogger().level).lower()
    return {"level": root, "loggers": logger_levels()}


def logger_levels() -> dict[str, str]:
    """The loggers given their own level, by name."""
    return dict(sorted(_overrides.items()))


def set_level(level: str | None, logger: str | None = None) -> None:
    """Change a level while running: the whole process's (``logger`` None), or one logger's and
    its children's (e.g. ``p2p`` or ``node.netsync``; ``level`` None: follow the process's
    again)."""
    if level is not None and level not in LEVELS:
        raise LogLevelError(f"level must be one of {', '.join(LEVELS)}")
    if logger is None:
        if level is None:
            raise LogLevelError("the process's level cannot be unset")
        logging.getLogger().setLevel(LEVELS[level])
        return
    if len(logger) > 100 or not _LOGGER_NAME.fullmatch(logger):
        raise LogLevelError("logger must be a dotted name such as p2p or node.netsync")
    if logger == "root":  # logging's name for the process's own: unsetting it would log all
        raise LogLevelError("the process's level is set without a logger")
    if level is None:
        if _overrides.pop(logger, None) is not None:
            logging.getLogger(logger).setLevel(logging.NOTSET)
        return
    if logger not in _overrides and len(_overrides) >= MAX_LOGGER_LEVELS:
        raise LogLevelError(f"at most {MAX_LOGGER_LEVELS} loggers can have their own level")
    _overrides[logger] = level
    logging.getLogger(logger).setLevel(LEVELS[level])


def configure_logging(fmt: LogFormat = "auto", level: str = "info") -> None:
    """Render every event of the process (structlog's and stdlib logging's) one way, at
    ``level`` (a name of ``LEVELS``: ``--log-level``)."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,  # the name POST /v1/logging takes
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

"""``--stop-at-height N`` (Bitcoin Core's ``-stopatheight``): the node connects blocks up to
height N, never past it, and then stops as SIGTERM would. For reproducible syncs and tests.

May import asyncio, structlog, node.blockindex and node types. ``ChainState`` does the
capping (its best candidate is never above the height, :func:`capped_at`); the task
:func:`stop_at_height` does the stopping, at start too if the chain is already there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from node.blockindex import ChainEntry

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.node")


async def stop_at_height(node: Node, height: int) -> None:
    """Wait until the active chain is at ``height`` (or above: a chain that already was), then
    ask the node to stop."""
    while True:
        changed = node.tip_changed_event()  # taken first: a change from now on sets it
        if node.chain.height >= height:
            break
        await changed.wait()
    log.info("stop_at_height_reached", height=node.chain.height, stop_at_height=height)
    node.request_stop(0)


def capped_at(best: ChainEntry, tip: ChainEntry, height: int | None) -> ChainEntry:
    """``best``, or with a ``height`` below it its ancestor there (the tip if that has no more
    work than the tip): what ``ChainState`` may connect up to."""
    if height is None or best.height <= height:
        return best
    capped = best.ancestor(height)
    return capped if capped.chainwork > tip.chainwork else tip

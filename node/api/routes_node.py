"""``GET /v1/node``: the node itself, as Bitcoin Core's ``getnetworkinfo``, ``uptime`` and
``getnettotals`` together: software and protocol versions, how long it has run, its P2P
listener and connections against their limits, its relay fee floors, the bytes its peers sent
and received, and the proof-of-work engine this machine runs. ``GET /v1/indexes``: Core's
``getindexinfo``, how far each optional index has got.

May import aiohttp, consensus, p2p constants, node modules and the standard library.
"""

from __future__ import annotations

import platform
import time
from importlib import metadata

from aiohttp import web

from consensus.nonce_search import default_backend, native_features
from node.api.context import CONTEXT, ApiContext
from node.api.views import Json
from node.uploadtarget import UploadTarget
from p2p import PROTOCOL_VERSION
from p2p.settings import USER_AGENT


def _version() -> str:
    try:
        return metadata.version("seedchain")
    except metadata.PackageNotFoundError:  # run from a checkout without installing
        return USER_AGENT.strip("/").partition(":")[2]


def _listen_port(manager: object) -> int | None:
    try:
        return int(getattr(manager, "port"))  # noqa: B009 - a property that raises when idle
    except (AttributeError, RuntimeError, TypeError):
        return None


def _policy_on_chain(ctx: ApiContext) -> Json:
    policy = ctx.mempool.policy
    return {
        "relay_fee_rate": policy.min_relay_fee_rate,
        "incremental_fee_rate": policy.incremental_relay_fee_rate,
        "mempool_max_bytes": policy.max_bytes,
    }


def _upload_target(node: object) -> Json:
    target = getattr(node, "upload_target", None)
    return UploadTarget(0, 0).status() if target is None else target.status()


async def node_info(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    node, config = ctx.node, ctx.node.config
    manager = ctx.connmgr
    inbound, outbound = ctx.peer_counts()
    started_at = getattr(node, "started_at", None)
    backend = default_backend()
    return web.json_response(
        {
            "version": _version(),
            "user_agent": USER_AGENT,
            "protocol_version": PROTOCOL_VERSION,
            "network": ctx.params.name,
            "started_at": None if started_at is None else int(started_at),
            "uptime": 0 if started_at is None else int(time.time() - started_at),
            "p2p": {
                "enabled": manager is not None,
                "listening": manager is not None and config.listen,
                "network_active": manager is not None and manager.network_active,
                "port": _listen_port(manager),
                "connections": {"in": inbound, "out": outbound, "total": inbound + outbound},
                "max_inbound": config.max_inbound,
                "max_outbound": config.max_outbound,
                "whitelist": list(config.whitelist),
                "totals": dict(ctx.metrics.p2p_totals),
                "upload_target": _upload_target(node),
            },
            **await ctx.call(_policy_on_chain, ctx),
            "pow_backend": backend if backend != "native" else f"native ({native_features()})",
            "python": platform.python_version(),
        }
    )


INDEX_NAMES = ("address", "transaction", "spending", "block_filter")


def _indexes_on_chain(ctx: ApiContext) -> Json:
    """Every index of the index database shares its tip (``node.addrindex``); a pruned node
    keeps none, and the answer is then ``{}``, as Core's for indexes that are off."""
    index = ctx.index
    if index is None:
        return {}
    chain = ctx.node.chain
    tip = index.tip_hash
    entry = None if tip is None else chain.entries.get(tip)
    state = {
        "synced": index.is_synced(chain),
        "best_block_height": None if entry is None else entry.height,
        "best_block_hash": None if entry is None else entry.hash_hex,
        "waiting_for_sync": ctx.index_waiting,
    }
    return {name: dict(state) for name in INDEX_NAMES}


async def indexes(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return web.json_response(await ctx.call(_indexes_on_chain, ctx))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/node", node_info, allow_head=False),
        web.get("/v1/indexes", indexes, allow_head=False),
    ]

"""Peer endpoints: ``GET /v1/peers``, ``GET /v1/peers/addresses`` (Core's ``getnodeaddresses``);
admin ``POST /v1/peers``, ``DELETE /v1/peers/{address}`` and ``POST /v1/network/active``.

May import aiohttp, p2p errors, node modules and the standard library. The connection manager
is read from ``node.connmgr`` (``node.api.context.PeerManager``); without one the list is empty
and the admin actions answer 503 ``p2p_disabled``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from node.api.context import CONTEXT, ApiContext, PeerManager
from node.api.errors import ApiError
from node.api.guard import check_admin
from node.api.inputs import json_field, parse_int, read_json_object
from node.api.views import Json
from p2p.errors import ConnectionLimit, InvalidAddress, P2PError

MAX_ADDRESS_LENGTH = 300
MAX_NODE_ADDRESSES = 2500


def peer_json(peer: Any) -> Json:
    """What the API shows of a peer (read defensively: the P2P layer owns the type)."""
    version = getattr(peer, "remote_version", None)
    stats = getattr(peer, "stats", None)
    latency = getattr(peer, "latency", None)
    return {
        "address": str(getattr(peer, "address", "")),
        "inbound": bool(getattr(peer, "inbound", False)),
        "user_agent": getattr(version, "user_agent", None),
        "protocol_version": getattr(version, "protocol_version", None),
        "services": getattr(version, "services", None),
        "best_height": getattr(version, "best_height", None),
        "latency_ms": None if latency is None else round(latency * 1000, 3),
        "bytes_in": getattr(stats, "bytes_in", 0),
        "bytes_out": getattr(stats, "bytes_out", 0),
        "messages_in": getattr(stats, "messages_in", 0),
        "messages_out": getattr(stats, "messages_out", 0),
    }


async def list_peers(request: web.Request) -> web.Response:
    manager = request.app[CONTEXT].connmgr
    if manager is None:
        return web.json_response([])
    whitelist = getattr(manager, "whitelist", ())
    peers = [
        {**peer_json(p), "permissions": ["noban"] if p.address in whitelist else []}
        for p in manager.peers()
    ]
    return web.json_response(peers)


async def node_addresses(request: web.Request) -> web.Response:
    """Core's ``getnodeaddresses``: up to ``count`` (default 1, 0: all, at most
    ``MAX_NODE_ADDRESSES``) random addresses from the address book, good ones only."""
    ctx = request.app[CONTEXT]
    count = parse_int(request.query.get("count", "1"), "count", 0, MAX_NODE_ADDRESSES)
    book = getattr(ctx.connmgr, "addrbook", None)
    if book is None:
        return web.json_response([])
    found = book.sample(count or MAX_NODE_ADDRESSES)
    return web.json_response(
        [{"address": i.address, "services": i.services, "last_seen": i.last_seen} for i in found]
    )


def _manager(ctx: ApiContext) -> PeerManager:
    manager = ctx.connmgr
    if manager is None:
        raise ApiError(503, "p2p_disabled", "this node runs without P2P")
    return manager


def _checked_address(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_ADDRESS_LENGTH or any(c.isspace() for c in text):
        raise ApiError(400, "invalid_peer_address", "address must be host:port")
    return text


async def add_peer(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    data = await read_json_object(request, 4096)
    text = _checked_address(json_field(data, "address", str))
    manager = _manager(ctx)
    try:
        async with asyncio.timeout(ctx.settings.peer_connect_timeout):
            peer = await manager.connect(text)
    except InvalidAddress as exc:
        raise ApiError(400, "invalid_peer_address", str(exc)) from None
    except ConnectionLimit as exc:
        raise ApiError(409, exc.code, str(exc)) from None
    except P2PError as exc:
        raise ApiError(502, exc.code, str(exc) or exc.code) from None
    except TimeoutError:
        raise ApiError(504, "connect_timeout", f"no handshake with {text} in time") from None
    return web.json_response({"address": str(getattr(peer, "address", text)), "connected": True})


async def remove_peer(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    text = _checked_address(request.match_info["address"])
    manager = _manager(ctx)
    if not await manager.disconnect(text):
        raise ApiError(404, "peer_not_found", f"no connection to {text}")
    return web.json_response({"address": text, "disconnected": True})


async def set_network_active(request: web.Request) -> web.Response:
    """Core's ``setnetworkactive``: ``{"active": false}`` closes every P2P connection and makes
    or accepts none until ``{"active": true}``."""
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    data = await read_json_object(request, 4096)
    active = json_field(data, "active", bool)
    manager = _manager(ctx)
    closed = await manager.set_network_active(active)
    return web.json_response({"network_active": manager.network_active, "closed": closed})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/peers", list_peers, allow_head=False),
        web.get("/v1/peers/addresses", node_addresses, allow_head=False),  # before {address}
        web.post("/v1/peers", add_peer),
        web.delete("/v1/peers/{address}", remove_peer),
        web.post("/v1/network/active", set_network_active),
    ]

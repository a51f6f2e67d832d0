"""Manual bans (admin), as Bitcoin Core's ``listbanned`` / ``setban`` / ``clearbanned``:
``GET /v1/bans``, ``POST /v1/bans``, ``DELETE /v1/bans/{subnet}``, ``DELETE /v1/bans``.

May import aiohttp, p2p.banlist, node.api modules and the standard library. The ban list is the
connection manager's (``node.connmgr.banned``, see ``p2p.banlist``); each change is saved to
``<datadir>/banlist.json`` (in a worker thread) before the answer. A new ban closes the
connections it covers at once. Without P2P every action answers 503 ``p2p_disabled``.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from node.api.context import CONTEXT, PeerManager
from node.api.errors import ApiError, bad_request
from node.api.guard import check_admin
from node.api.inputs import json_field, read_json_object
from node.api.views import Json
from p2p.banlist import DEFAULT_BAN_SECONDS, MAX_BAN_SECONDS, Ban, BanListFull, InvalidSubnet

MAX_SUBNET_LENGTH = 64


def ban_json(ban: Ban) -> Json:
    """Core's ``listbanned`` fields, with ``subnet`` for its ``address``."""
    return {
        "subnet": ban.subnet,
        "ban_created": ban.created,
        "banned_until": ban.until,
        "ban_duration": ban.until - ban.created,
        "time_remaining": max(0, ban.until - int(time.time())),
    }


def _manager(request: web.Request) -> PeerManager:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    manager = ctx.connmgr
    if manager is None:
        raise ApiError(503, "p2p_disabled", "this node runs without P2P")
    return manager


def _subnet(text: str) -> str:
    if not text or len(text) > MAX_SUBNET_LENGTH:
        raise ApiError(400, "invalid_subnet", "subnet must be an IP address or IP/prefix")
    return text


async def _save(manager: PeerManager) -> None:
    """The list is read here, on the event loop that owns it; only the write is threaded."""
    banned = manager.banned
    await asyncio.to_thread(banned.write, banned.snapshot())


async def list_bans(request: web.Request) -> web.Response:
    manager = _manager(request)
    return web.json_response([ban_json(b) for b in manager.banned.bans()])


async def add_ban(request: web.Request) -> web.Response:
    manager = _manager(request)
    data = await read_json_object(request, 4096)
    subnet = _subnet(json_field(data, "subnet", str))
    seconds = data.get("seconds", DEFAULT_BAN_SECONDS)
    if type(seconds) is not int or not 0 < seconds <= MAX_BAN_SECONDS:
        raise bad_request("bad_field", f"'seconds' must be an integer in 1..{MAX_BAN_SECONDS}")
    try:
        ban = manager.banned.ban(subnet, seconds)
    except InvalidSubnet as exc:
        raise ApiError(400, "invalid_subnet", str(exc)) from None
    except BanListFull as exc:
        raise ApiError(409, "ban_list_full", str(exc)) from None
    await _save(manager)
    disconnected = await manager.disconnect_banned()
    return web.json_response({**ban_json(ban), "disconnected": disconnected})


async def remove_ban(request: web.Request) -> web.Response:
    manager = _manager(request)
    subnet = _subnet(request.match_info["subnet"])
    try:
        removed = manager.banned.unban(subnet)
    except InvalidSubnet as exc:
        raise ApiError(400, "invalid_subnet", str(exc)) from None
    if not removed:
        raise ApiError(404, "ban_not_found", f"no ban of {subnet}")
    await _save(manager)
    return web.json_response({"subnet": subnet, "removed": True})


async def clear_bans(request: web.Request) -> web.Response:
    manager = _manager(request)
    removed = manager.banned.clear()
    await _save(manager)
    return web.json_response({"removed": removed})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/bans", list_bans, allow_head=False),
        web.post("/v1/bans", add_ban),
        web.delete("/v1/bans", clear_bans),
        web.delete("/v1/bans/{subnet:.+}", remove_ban),
    ]

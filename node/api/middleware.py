"""The one middleware every request passes: rate limit, readiness, deadline, error shape,
latency metrics.

May import aiohttp, structlog, node.api modules and the standard library. Whatever a handler
raises ends here as ``{"error": {"code", "message"}}``: ``ApiError`` with its own status,
aiohttp's HTTP exceptions (404 no route, 405, 413) with theirs, a deadline as 503 ``timeout``,
and anything unexpected as a logged 500 ``internal_error`` (never with details of the fault).
Latency is observed per route template (``/v1/tx/{txid}``), never per raw path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from node.api.context import CONTEXT
from node.api.deadlines import Deadlines
from node.api.errors import ApiError, code_for_status, error_response
from node.api.settings import ApiSettings

log = structlog.get_logger("seedchain.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Served even before the node has finished starting.
ALWAYS_READY = frozenset({"/healthz", "/metrics", "/v1/openapi.json"})
GENERATE_ROUTE = "/v1/mining/generate"
# Answered from memory without awaiting anything: no deadline to keep.
NEVER_WAITS = frozenset(
    {"/healthz", "/v1/blocks/tip/height", "/v1/blocks/tip/hash", "/v1/peers", "/v1/peers/addresses"}
)
# Open for as long as the client stays: no deadline (a WebSocket pings its client instead).
LONG_LIVED = frozenset({"/v1/ws"})
UNMATCHED = "unmatched"
CLIENT_CLOSED = 499  # nginx's code for "the client went away", in metrics only


def route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return UNMATCHED if resource is None else resource.canonical


async def _with_deadline(
    request: web.Request, handler: Handler, deadlines: Deadlines, route: str, settings: ApiSettings
) -> web.StreamResponse:
    """``handler(request)`` within the route's deadline (``node.api.deadlines``): past it the
    sweeper cancels the request, and this raises ``TimeoutError`` instead."""
    task = asyncio.current_task()
    assert task is not None
    seconds = settings.generate_timeout if route == GENERATE_ROUTE else settings.request_timeout
    deadlines.add(task, asyncio.get_running_loop().time() + seconds)
    try:
        return await handler(request)
    except asyncio.CancelledError:
        if deadlines.expired(task):
            raise TimeoutError from None
        raise
    finally:
        deadlines.discard(task)


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    started = time.perf_counter()
    route = route_of(request)
    status = 500
    try:
        ctx.gate.check(request)
        if route not in ALWAYS_READY and not ctx.node.started.is_set():
            raise ApiError(503, "not_ready", "the node is starting", {"Retry-After": "1"})
        if route in NEVER_WAITS or route in LONG_LIVED:
            response = await handler(request)
        else:
            response = await _with_deadline(request, handler, ctx.deadlines, route, ctx.settings)
        status = response.status
        return response
    except ApiError as exc:
        status = exc.status
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    except web.HTTPException as exc:
        status = exc.status
        headers = {k: exc.headers[k] for k in ("Allow", "Retry-After") if k in exc.headers}
        code = code_for_status(status)
        return error_response(status, code, exc.reason or code, headers)
    except TimeoutError:
        status = 503
        return error_response(503, "timeout", "the request took too long", {"Retry-After": "1"})
    except asyncio.CancelledError:
        status = CLIENT_CLOSED
        raise
    except Exception:
        log.exception("api_request_failed", method=request.method, route=route)
        status = 500
        return error_response(500, "internal_error", "internal error; the node logged it")
    finally:
        ctx.metrics.observe_api(request.method, route, status, time.perf_counter() - started)

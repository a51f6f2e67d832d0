"""The API's one error shape, ``{"error": {"code": "snake_case", "message": "..."}}``, and the
HTTP status each kind of refusal gets.

May import aiohttp, consensus errors, node.mempool_errors and the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from consensus.errors import ConsensusError
from node.mempool_errors import (
    AlreadyConfirmed,
    AlreadyInMempool,
    MempoolConflict,
    MempoolError,
)


class ApiError(Exception):
    """Raised anywhere in a request (also on the chain thread): becomes the error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def not_found(code: str, message: str) -> ApiError:
    return ApiError(404, code, message)


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(error_body(code, message), status=status, headers=headers)


def rejection(exc: ConsensusError | MempoolError) -> ApiError:
    """The API error for a transaction or block the node refused: 409 for conflicts with
    what the node already has (a double spend, an already confirmed transaction), 400 for
    everything that is wrong with the object itself or against policy."""
    status = 409 if isinstance(exc, MempoolConflict | AlreadyConfirmed | AlreadyInMempool) else 400
    return ApiError(status, exc.code, str(exc) or exc.code)


HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    411: "length_required",
    413: "body_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    503: "not_ready",
}


def code_for_status(status: int) -> str:
    return HTTP_CODES.get(status, "bad_request" if 400 <= status < 500 else "internal_error")

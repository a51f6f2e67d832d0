"""Parameters and shared bits of the OpenAPI description (``node.api.openapi``): the path and
query parameters its operations take.

May import the other ``node.api.openapi_*`` modules and the standard library.
"""

from __future__ import annotations

from typing import Any

from consensus.transaction import MAX_MONEY
from node.api.openapi_schemas import Schema, integer, string
from node.mempool_policy import DEFAULT_MAX_FEE_RATE


def path_param(name: str, schema: Schema, description: str) -> dict[str, Any]:
    return _param(name, "path", schema, description)


def query_param(name: str, schema: Schema, description: str) -> dict[str, Any]:
    return _param(name, "query", schema, description)


def _param(name: str, where: str, schema: Schema, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",  # OpenAPI: path parameters are always required
        "description": description,
        "schema": schema,
    }


HASH_PARAM = string(pattern="^[0-9a-fA-F]{64}$")
BLOCK_HASH = path_param("hash", HASH_PARAM, "block hash (display order)")
TXID = path_param("txid", HASH_PARAM, "transaction id (display order)")
ADDRESS = path_param("address", string(minLength=1, maxLength=90), "an address of this network")
HEIGHT = path_param("height", integer(0, 0xFFFF_FFFF), "block height on the active chain")
TX_PATH_ERRORS = (400, 404)
LAST_SEEN = path_param("last_seen", HASH_PARAM, "the txid of the last transaction seen")
VOUT = path_param("vout", integer(0, 1_000_000), "the output's index in the transaction")
TXS_START = path_param("start", integer(0, 10_000_000), "a multiple of 25")
TX_INDEX = path_param("index", integer(0, 10_000_000), "position in the block (0: coinbase)")


HASH_TEXT = "^[0-9a-f]{64}$"
TX_TEXT_BODY = {"required": True, "content": {"text/plain": {"schema": string(maxLength=262144)}}}
RAW_BLOCK = {
    "description": "header || msgpack array of transactions",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
ADDRESS_TXS_QUERY = [
    query_param("cursor", string(maxLength=64), "next_cursor of the previous page"),
    query_param("limit", integer(1, 100), "page size (default 25)"),
]
HASHPS_BLOCKS = query_param(
    "blocks", integer(1, 10_000), "blocks the hash rate estimate covers (default 120)"
)
START_HEIGHT_PATH = path_param(
    "start_height", integer(0, 0xFFFF_FFFF), "the newest height of the page"
)
RAW_TX = {
    "description": "the transaction's canonical bytes",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
TIPS_LIMIT = query_param("limit", integer(1, 1000), "at most this many tips (default 100)")
START_HEIGHT = query_param("start_height", integer(0, 0xFFFF_FFFF), "the newest height")
PAY_TO = query_param("address", string(maxLength=90), "pay the coinbase to this address")
LONGPOLL = query_param(
    "longpollid",
    string(maxLength=84),
    "the longpollid of an earlier template: answer once the tip has changed, or after 20 s",
)
NODE_ADDR_COUNT = query_param("count", integer(0, 2500), "how many (default 1; 0: all)")
FILTER_COUNT = query_param("count", integer(1, 2000), "how many headers (default 1)")
MAX_FEE_RATE = query_param(
    "maxfeerate",
    integer(0, MAX_MONEY),
    "refuse a fee above this many units/byte"
    f" (default {DEFAULT_MAX_FEE_RATE}, Core's 0.10 coin/kB; 0: no limit)",
)
VERBOSE = query_param(
    "verbose", {"type": "boolean"}, "true: each as GET /v1/mempool/tx/{txid} shows it"
)
PEER = path_param("address", string(minLength=1), "host:port")
SUBNET = path_param(
    "subnet", string(minLength=1, maxLength=64), "an IP address or IP/prefix, as banned"
)

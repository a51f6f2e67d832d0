"""The OpenAPI 3.0 component schemas of the REST API, as Python data.

Standard library only. Every JSON body the API sends has a schema here; ``node.api.openapi``
puts them together with the paths. Hashes are 64 hex digits in display order (reversed
bytes); other bytes are plain hex; amounts are integers of base units.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

HEX64 = "^[0-9a-f]{64}$"
HEX = "^([0-9a-f]{2})*$"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    """An object schema; every property is required unless ``required`` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        **extra,
    }


def nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def integer(minimum: int | None = 0, maximum: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "integer", **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


HASH = string(pattern=HEX64, description="a hash: hex of the reversed bytes")
HEX_BYTES = string(pattern=HEX, description="bytes as hex")
AMOUNT = integer(description="base units (1 coin = 100,000,000)")
BOOL = {"type": "boolean"}
NUMBER = {"type": "number"}

OUTPUT = obj(
    {
        "scriptpubkey": {**HEX_BYTES, "description": "the output's lock"},
        "scriptpubkey_address": nullable(string(description="the lock's address, if it has one")),
        "scriptpubkey_type": string(enum=["v0_keyhash", "unknown"]),
        "value": AMOUNT,
    }
)

TX_STATUS = obj(
    {
        "confirmed": BOOL,
        "block_height": integer(),
        "block_hash": HASH,
        "block_time": integer(),
    },
    required=["confirmed"],
)

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": string(pattern="^[a-z0-9_]+$", description="stable snake_case code"),
                    "message": string(),
                }
            )
        }
    ),
    "Health": obj({"status": string(enum=["ok"])}),
    "Chain": obj(
        {
            "network": string(enum=["main", "test", "regtest"]),
            "chain_id": string(),
            "height": integer(),
            "tip": HASH,
            "chainwork": string(pattern=HEX64, description="cumulative work, 64 hex digits"),
            "bits": integer(),
            "difficulty": NUMBER,
            "median_time": integer(),
            "mempool": obj({"count": integer(), "bytes": integer()}),
            "peers": integer(),
            "headers": integer(description="height of the best validated header chain"),
            "initial_block_download": BOOL,
            "verification_progress": {"type": "number", "minimum": 0, "maximum": 1},
            "pruned": BOOL,
            "prune_height": nullable(integer(description="blocks up to here have no data")),
        }
    ),
    "Block": obj(
        {
            "id": HASH,
            "height": integer(),
            "version": integer(),
            "timestamp": integer(),
            "mediantime": integer(),
            "bits": integer(),
            "nonce": integer(),
            "difficulty": NUMBER,
            "merkle_root": HASH,
            "previousblockhash": nullable(HASH),
            "tx_count": nullable(integer()),
            "size": nullable(integer()),
            "weight": nullable(integer()),
            "chainwork": string(pattern=HEX64),
            "in_best_chain": BOOL,
        }
    ),
    "Blocks": {"type": "array", "items": ref("Block"), "maxItems": 10},
    "Txids": {"type": "array", "items": HASH},
    "Output": OUTPUT,
    "Input": obj(
        {
            "txid": HASH,
            "vout": integer(),
            "prevout": nullable(OUTPUT),
            "witness": {"type": "array", "items": HEX_BYTES, "maxItems": 2},
            "is_coinbase": BOOL,
        }
    ),
    "TxStatus": TX_STATUS,
    "Transaction": obj(
        {
            "txid": HASH,
            "wtxid": HASH,
            "version": integer(),
            "locktime": integer(),
            "extra": HEX_BYTES,
            "is_coinbase": BOOL,
            "size": integer(),
            "weight": integer(),
            "fee": nullable(integer()),
            "vin": {"type": "array", "items": ref("Input")},
            "vout": {"type": "array", "items": ref("Output")},
            "status": ref("TxStatus"),
        }
    ),
    "MerkleProof": obj(
        {
            "block_height": integer(),
            "block_hash": HASH,
            "merkle": {"type": "array", "items": HASH},
            "pos": integer(),
            "wtxid": {**HASH, "description": "the proven leaf: the tree is over wtxids"},
        }
    ),
    "AddressStats": obj(
        {
            "funded_txo_count": integer(),
            "funded_txo_sum": integer(),
            "spent_txo_count": integer(),
            "spent_txo_sum": integer(),
            "tx_count": integer(),
        }
    ),
    "Address": obj(
        {
            "address": string(),
            "chain_stats": ref("AddressStats"),
            "mempool_stats": ref("AddressStats"),
        }
    ),
    "Utxo": obj(
        {
            "txid": HASH,
            "vout": integer(),
            "value": AMOUNT,
            "coinbase": BOOL,
            "status": ref("TxStatus"),
        }
    ),
    "Utxos": {"type": "array", "items": ref("Utxo")},
    "AddressTxs": obj(
        {
            "txs": {"type": "array", "items": ref("Transaction")},
            "next_cursor": nullable(string(description="pass as ?cursor= for the next page")),
        }
    ),
    "Mempool": obj(
        {
            "count": integer(),
            "vsize": integer(),
            "bytes": integer(),
            "total_fee": integer(),
            "min_fee_rate": NUMBER,
            "fee_histogram": {
                "type": "array",
                "items": {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2},
            },
        }
    ),
    "FeeEstimates": {
        "type": "object",
        "additionalProperties": NUMBER,
        "description": "fee-rate (base units per byte) by confirmation target in blocks",
    },
    "Peer": obj(
        {
            "address": string(),
            "inbound": BOOL,
            "user_agent": nullable(string()),
            "protocol_version": nullable(integer()),
            "services": nullable(integer()),
            "best_height": nullable(integer()),
            "latency_ms": nullable(NUMBER),
            "bytes_in": integer(),
            "bytes_out": integer(),
            "messages_in": integer(),
            "messages_out": integer(),
            "permissions": {"type": "array", "items": string(enum=["noban"])},
        }
    ),
    "Peers": {"type": "array", "items": ref("Peer")},
    "PeerRequest": obj({"address": string(minLength=1, maxLength=300)}),
    "PeerAdded": obj({"address": string(), "connected": BOOL}),
    "PeerRemoved": obj({"address": string(), "disconnected": BOOL}),
    "NetworkActiveRequest": obj({"active": BOOL}),
    "NetworkActive": obj({"network_active": BOOL, "closed": integer(minimum=0)}),
    "Transactions": {"type": "array", "items": ref("Transaction")},
    "MempoolRecent": {
        "type": "array",
        "items": obj({"txid": HASH, "fee": integer(), "vsize": integer(), "value": integer()}),
    },
    "Outspend": obj(
        {
            "spent": BOOL,
            "txid": HASH,
            "vin": integer(),
            "status": ref("TxStatus"),
        },
        required=["spent"],
    ),
    "Outspends": {"type": "array", "items": ref("Outspend")},
    "TxTest": obj(
        {
            "txid": HASH,
            "allowed": BOOL,
            "fee": integer(),
            "size": integer(),
            "fee_rate": NUMBER,
            "replaces": {"type": "array", "items": HASH},
            "reject_reason": string(description="the code POST /v1/tx would answer"),
            "message": string(),
        },
        required=["txid", "allowed"],
    ),
    "MempoolSaved": obj({"path": string(), "transactions": integer()}),
    "Stopping": obj({"stopping": BOOL}),
    "Verdict": obj(
        {
            "hash": HASH,
            "tip": HASH,
            "height": integer(),
            "disconnected": integer(),
            "connected": integer(),
        }
    ),
    "ChainTip": obj(
        {
            "height": integer(),
            "hash": HASH,
            "branchlen": integer(description="blocks from this tip down to the active chain"),
            "status": string(
                enum=["active", "invalid", "headers-only", "valid-fork", "valid-headers"]
            ),
        }
    ),
    "ChainTips": {"type": "array", "items": ref("ChainTip"), "minItems": 1},
    "BlockStatus": obj(
        {
            "in_best_chain": BOOL,
            "height": integer(),
            "next_best": nullable(HASH),
        },
        required=["in_best_chain"],
    ),
    "Ban": obj(
        {
            "subnet": string(description="canonical IP/prefix"),
            "ban_created": integer(description="Unix seconds"),
            "banned_until": integer(description="Unix seconds"),
            "ban_duration": integer(),
            "time_remaining": integer(),
        }
    ),
    "Bans": {"type": "array", "items": ref("Ban")},
    "BanRequest": obj(
        {
            "subnet": string(minLength=1, maxLength=64),
            "seconds": integer(1, 315_360_000, description="default 86400"),
        },
        required=["subnet"],
    ),
    "BanAdded": {
        "allOf": [ref("Ban"), obj({"disconnected": integer(description="connections closed")})]
    },
    "BanRemoved": obj({"subnet": string(), "removed": BOOL}),
    "BansCleared": obj({"removed": integer()}),
    "TemplateTransaction": obj(
        {
            "data": HEX_BYTES,
            "txid": HASH,
            "wtxid": HASH,
            "fee": integer(),
            "size": integer(),
        }
    ),
    "Template": obj(
        {
            "height": integer(),
            "previous_hash": HASH,
            "version": integer(),
            "bits": integer(),
            "bits_hex": string(pattern="^[0-9a-f]{8}$"),
            "target": string(pattern=HEX64),
            "time": integer(),
            "min_time": integer(),
            "max_time": integer(),
            "transactions": {"type": "array", "items": ref("TemplateTransaction")},
            "fees": integer(),
            "subsidy": integer(),
            "reward": integer(),
            "size_limit": integer(),
            "coinbase": obj(
                {
                    "height": integer(),
                    "height_le": string(pattern="^[0-9a-f]{8}$"),
                    "extranonce_size": integer(),
                    "extranonce1_size": integer(),
                    "extranonce2_size": integer(),
                    "max_tag_size": integer(),
                    "max_size": integer(),
                    "maturity": integer(),
                }
            ),
            "merkle_branch": {"type": "array", "items": HASH},
            "coinbase_tx": HEX_BYTES,
            "coinb1": HEX_BYTES,
            "coinb2": HEX_BYTES,
            "merkle_root": HASH,
            "header": string(pattern="^[0-9a-f]{160}$"),
            "block": HEX_BYTES,
            "longpollid": string(
                pattern="^[0-9a-f]{64}[0-9]{1,20}$",
                description="send back as ?longpollid= to wait for the next block (BIP 22)",
            ),
        },
        required=[
            "longpollid",
            "height",
            "previous_hash",
            "version",
            "bits",
            "bits_hex",
            "target",
            "time",
            "min_time",
            "max_time",
            "transactions",
            "fees",
            "subsidy",
            "reward",
            "size_limit",
            "coinbase",
            "merkle_branch",
        ],
    ),
    "SubmitRequest": obj({"block": {**HEX_BYTES, "description": "the block's bytes as hex"}}),
    "SubmitResult": obj(
        {
            "hash": HASH,
            "height": nullable(integer()),
            "status": string(enum=["connected", "stored", "orphan", "duplicate"]),
        }
    ),
    "GenerateRequest": obj(
        {"blocks": integer(1, 1000), "address": string(minLength=1, maxLength=90)}
    ),
    "Hashes": {"type": "array", "items": HASH},
}

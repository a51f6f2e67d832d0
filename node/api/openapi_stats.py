"""The OpenAPI schemas of the statistics endpoints (``node.api.routes_stats``), of the mempool
entry (``GET /v1/mempool/tx/{txid}``) and of the node's own endpoints added since (filters,
indexes, log levels, node addresses), as Python data.

Standard library, ``consensus.transaction``, ``node.logs`` (the level names) and
``node.api.openapi_schemas`` only.
"""

from __future__ import annotations

from consensus.transaction import MAX_MONEY
from node.api.openapi_schemas import (
    BOOL,
    HASH,
    HEX,
    NUMBER,
    Schema,
    integer,
    nullable,
    obj,
    ref,
    string,
)
from node.logs import LEVELS

LOG_LEVELS = list(LEVELS)
TARGET = string(pattern="^[0-9a-f]{64}$", description="the target, 64 hex digits")
FEE_RATE = {"type": "number", "minimum": 0, "description": "base units per byte"}

STATS_SCHEMAS: dict[str, Schema] = {
    "MiningInfo": obj(
        {
            "network": string(enum=["main", "test", "regtest"]),
            "height": integer(),
            "bits": integer(),
            "difficulty": NUMBER,
            "target": TARGET,
            "networkhashps": {
                "type": "number",
                "minimum": 0,
                "description": "hashes per second over the last hashps_blocks blocks",
            },
            "hashps_blocks": integer(description="blocks the estimate covers"),
            "next": obj(
                {
                    "height": integer(),
                    "bits": integer(),
                    "difficulty": NUMBER,
                    "target": TARGET,
                    "subsidy": integer(),
                }
            ),
            "mempool": obj({"count": integer(), "bytes": integer()}),
            "local": obj(
                {
                    "mining": {"type": "boolean"},
                    "hashps": {"type": "number", "minimum": 0},
                    "threads": integer(),
                    "blocks_found": integer(),
                }
            ),
        }
    ),
    "UtxoSet": obj(
        {
            "height": integer(),
            "bestblock": HASH,
            "txouts": integer(),
            "transactions": integer(),
            "total_amount": integer(),
            "total_issued": integer(description="block subsidies from height 1 up"),
            "total_unclaimed": integer(
                minimum=None, description="issued but held by no output (unclaimed fees)"
            ),
            "hash_serialized": string(pattern="^[0-9a-f]{64}$"),
        }
    ),
    "BlockStats": obj(
        {
            "blockhash": HASH,
            "height": integer(),
            "time": integer(),
            "mediantime": integer(),
            "in_best_chain": {"type": "boolean"},
            "txs": integer(1),
            "ins": integer(),
            "outs": integer(),
            "utxo_increase": integer(minimum=None),
            "total_size": integer(),
            "total_out": integer(),
            "subsidy": integer(),
            "coinbase_out": integer(),
            "totalfee": integer(),
            "avgfee": integer(),
            "minfee": integer(),
            "maxfee": integer(),
            "medianfee": integer(),
            "avgfeerate": FEE_RATE,
            "minfeerate": FEE_RATE,
            "maxfeerate": FEE_RATE,
            "feerate_percentiles": {
                "type": "array",
                "items": FEE_RATE,
                "minItems": 5,
                "maxItems": 5,
                "description": "at 10, 25, 50, 75 and 90% of the bytes",
            },
            "avgtxsize": integer(),
            "mintxsize": integer(),
            "maxtxsize": integer(),
            "mediantxsize": integer(),
        }
    ),
    "BlockFilter": obj(
        {
            "block_hash": HASH,
            "height": integer(),
            "filter": string(pattern=HEX, description="the basic filter (docs/api.md)"),
            "header": HASH,
        }
    ),
    "FilterHeaders": {
        "type": "array",
        "items": obj({"block_hash": HASH, "height": integer(), "header": HASH}),
    },
    "Indexes": {
        "type": "object",
        "additionalProperties": obj(
            {
                "synced": BOOL,
                "best_block_height": nullable(integer()),
                "best_block_hash": nullable(HASH),
                "waiting_for_sync": BOOL,
            }
        ),
    },
    "LogLevels": obj(
        {
            "level": string(),
            "loggers": {"type": "object", "additionalProperties": string(enum=LOG_LEVELS)},
        }
    ),
    "LogLevelRequest": obj(
        {
            "level": nullable(string(enum=LOG_LEVELS)),
            "logger": string(minLength=1, maxLength=100, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$"),
        },
        required=["level"],
    ),
    "NodeAddresses": {
        "type": "array",
        "items": obj({"address": string(), "services": integer(), "last_seen": integer()}),
    },
    "MempoolRelatives": {
        "anyOf": [ref("Txids"), {"type": "array", "items": ref("MempoolEntry")}],
        "description": "txids (default) or, with verbose=true, mempool entries",
    },
    "MempoolEntry": obj(
        {
            "txid": HASH,
            "wtxid": HASH,
            "vsize": integer(1),
            "weight": integer(4),
            "time": integer(description="when it entered, Unix seconds"),
            "height": integer(description="the tip's height when it entered"),
            "fee": integer(),
            "modified_fee": integer(
                None, description="fee + the prioritisetransaction delta: what ranks it"
            ),
            "fee_rate": FEE_RATE,
            "ancestor_count": integer(1),
            "ancestor_size": integer(1),
            "ancestor_fees": integer(None, description="modified fees, itself included"),
            "descendant_count": integer(1),
            "descendant_size": integer(1),
            "descendant_fees": integer(None, description="modified fees, itself included"),
            "depends": {"type": "array", "items": HASH, "description": "mempool parents"},
            "spentby": {"type": "array", "items": HASH, "description": "mempool children"},
            "bip125_replaceable": BOOL,
            "unbroadcast": BOOL,
        }
    ),
    "Node": obj(
        {
            "version": string(),
            "user_agent": string(),
            "protocol_version": integer(),
            "network": string(enum=["main", "test", "regtest"]),
            "started_at": {"type": "integer", "nullable": True},
            "uptime": integer(description="seconds since the node finished starting"),
            "p2p": obj(
                {
                    "enabled": BOOL,
                    "listening": BOOL,
                    "network_active": BOOL,
                    "port": {"type": "integer", "nullable": True},
                    "connections": obj({"in": integer(), "out": integer(), "total": integer()}),
                    "max_inbound": integer(),
                    "max_outbound": integer(),
                    "whitelist": {"type": "array", "items": string()},
                    "totals": obj({"in": integer(), "out": integer()}),
                    "upload_target": obj(
                        {
                            "timeframe": integer(),
                            "target": integer(description="bytes per timeframe; 0: none"),
                            "target_reached": BOOL,
                            "serve_historical_blocks": BOOL,
                            "bytes_left_in_cycle": integer(),
                            "time_left_in_cycle": integer(),
                        },
                        description="Core's getnettotals uploadtarget (--max-upload-target)",
                    ),
                }
            ),
            "relay_fee_rate": integer(),
            "incremental_fee_rate": integer(),
            "mempool_max_bytes": integer(),
            "pow_backend": string(),
            "python": string(),
        }
    ),
    "PrioritiseRequest": obj(
        {
            "txid": HASH,
            "fee_delta": integer(
                -MAX_MONEY, MAX_MONEY, description="base units added to the fee it is ranked by"
            ),
        }
    ),
    "Prioritised": obj(
        {
            "txid": HASH,
            "fee_delta": integer(None, description="the transaction's total delta now"),
            "in_mempool": BOOL,
        }
    ),
    "PrioritisedList": obj(
        {
            "transactions": {
                "type": "array",
                "items": obj(
                    {
                        "txid": HASH,
                        "fee_delta": integer(None),
                        "in_mempool": BOOL,
                        "modified_fee": {"type": "integer", "nullable": True},
                    }
                ),
            }
        }
    ),
    "ScanRequest": obj(
        {
            "addresses": {
                "type": "array",
                "items": string(minLength=1, maxLength=100),
                "minItems": 1,
                "maxItems": 100,
            }
        }
    ),
    "BlockScanRequest": obj(
        {
            "addresses": {
                "type": "array",
                "items": string(minLength=1, maxLength=100),
                "minItems": 1,
                "maxItems": 100,
            },
            "start_height": nullable(integer(description="default 0")),
            "stop_height": nullable(integer(description="default: the tip")),
        },
        required=["addresses"],
    ),
    "BlockScan": obj(
        {
            "from_height": integer(),
            "to_height": integer(),
            "relevant_blocks": {
                "type": "array",
                "items": obj({"block_hash": HASH, "height": integer()}),
            },
        }
    ),
    "UtxoScan": obj(
        {
            "height": integer(),
            "bestblock": HASH,
            "unspents": {
                "type": "array",
                "items": obj(
                    {
                        "txid": HASH,
                        "vout": integer(),
                        "address": string(),
                        "value": integer(),
                        "height": integer(),
                        "coinbase": BOOL,
                    }
                ),
            },
            "total_amount": integer(),
        }
    ),
    "PackageRequest": obj(
        {
            "txs": {
                "type": "array",
                "items": string(pattern="^([0-9a-fA-F]{2})+$", maxLength=262144),
                "minItems": 1,
                "maxItems": 25,
                "description": "parents first, the child last",
            }
        }
    ),
    "PackageResult": obj(
        {
            "results": {
                "type": "array",
                "items": obj(
                    {
                        "txid": HASH,
                        "accepted": BOOL,
                        "fee": nullable(integer()),
                        "size": integer(),
                        "error": nullable(obj({"code": string(), "message": string()})),
                    }
                ),
            },
            "package_fee_rate": nullable(NUMBER),
            "accepted_orphans": {"type": "array", "items": HASH},
        }
    ),
    "PruneRequest": obj({"height": integer(0)}),
    "Pruned": obj({"pruned_height": integer(description="every block up to it is pruned")}),
    "Proposal": obj(
        {
            "hash": HASH,
            "valid": BOOL,
            "reason": nullable(string(description="the broken rule's code")),
            "message": nullable(string()),
        }
    ),
}

"""The OpenAPI 3.0 description of the REST API (served at ``/v1/openapi.json``), as Python data.

May import ``consensus.params`` and the standard library. Every endpoint, every response it can
give (errors included, in the one error shape), every body's schema (``node.api.openapi_schemas``).
Every operation may also answer 429 (rate limit, with ``Retry-After``), 500 (a logged fault)
and 503 (not ready, syncing, timeout). The tests validate this document and run schemathesis
against a live node with it.
"""

from __future__ import annotations

from typing import Any

from consensus.params import ChainParams
from node.api.openapi_params import (
    ADDRESS,
    ADDRESS_TXS_QUERY,
    BLOCK_HASH,
    FILTER_COUNT,
    HASH_TEXT,
    HASHPS_BLOCKS,
    HEIGHT,
    LAST_SEEN,
    LONGPOLL,
    MAX_FEE_RATE,
    NODE_ADDR_COUNT,
    PAY_TO,
    PEER,
    RAW_BLOCK,
    RAW_TX,
    START_HEIGHT,
    START_HEIGHT_PATH,
    SUBNET,
    TIPS_LIMIT,
    TX_INDEX,
    TX_PATH_ERRORS,
    TX_TEXT_BODY,
    TXID,
    TXS_START,
    VERBOSE,
    VOUT,
)
from node.api.openapi_schemas import SCHEMAS, Schema, ref, string
from node.api.openapi_stats import STATS_SCHEMAS

Operation = dict[str, Any]

ERROR_TEXT = {
    400: "Bad input: the error code says which (bad_hash, bad_height, a rule's code...)",
    401: "No admin token: send 'Authorization: Bearer <token from api.cookie>'",
    403: "Wrong admin token, or not allowed on this network",
    404: "Unknown block, transaction, height, peer, ban or path",
    409: "Conflicts with what the node has (double spend, already spent or confirmed, full)",
    413: "Body too large",
    429: "Rate limited: retry after Retry-After seconds",
    500: "Internal fault (logged by the node)",
    502: "The peer could not be reached or refused the handshake",
    503: "Not ready: starting, syncing, index catching up, P2P disabled, or timed out",
    504: "The peer did not complete the handshake in time",
}
ALWAYS = (429, 500, 503)


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERROR_TEXT[status], "content": _json(ref("Error"))}
    if status == 429:
        response["headers"] = {
            "Retry-After": {
                "description": "seconds to wait",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


def _ok_json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": _json(schema)}


def _ok_text(description: str, pattern: str | None = None) -> dict[str, Any]:
    schema = string() if pattern is None else string(pattern=pattern)
    return {"description": description, "content": {"text/plain": {"schema": schema}}}


def _operation(
    operation_id: str,
    summary: str,
    ok: dict[str, Any],
    errors: tuple[int, ...] = (),
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    admin: bool = False,
    tag: str,
) -> Operation:
    codes = sorted({*errors, *ALWAYS, *((401, 403) if admin else ())})
    operation: Operation = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": {"200": ok, **{str(code): _error(code) for code in codes}},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    if admin:
        operation["security"] = [{"adminToken": []}]
    return operation


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": _json(ref(schema_name))}


# fmt: off
# (path, method, operationId, tag, summary, 200 response, extra error statuses, parameters,
#  request body, admin)
_TABLE: list[tuple[Any, ...]] = [
    ("/healthz", "get", "healthz", "node", "Liveness",
     _ok_json(ref("Health"), "the process is up"), (), [], None, False),
    ("/metrics", "get", "metrics", "node", "Prometheus metrics (text exposition format)",
     _ok_text("metrics"), (), [], None, False),
    ("/v1/openapi.json", "get", "openapi", "node", "This document",
     _ok_json({"type": "object"}, "the OpenAPI description"), (), [], None, False),
    ("/v1/node", "get", "getNode", "node",
     "Versions, uptime, P2P connections and byte totals, relay fees (as Bitcoin Core's"
     " getnetworkinfo, uptime and getnettotals)",
     _ok_json(ref("Node"), "the node"), (), [], None, False),
    ("/v1/indexes", "get", "getIndexes", "node", "How far each index has got (Core's"
     " getindexinfo); {} on a pruned node", _ok_json(ref("Indexes"), "the indexes"), (), [],
     None, False),
    ("/v1/chain", "get", "getChain", "chain", "The active chain's tip and the node's state",
     _ok_json(ref("Chain"), "chain summary"), (), [], None, False),
    ("/v1/chain/tips", "get", "getChainTips", "chain",
     "Every tip of the block tree, highest first, with its branch length and status (as"
     " Bitcoin Core's getchaintips)",
     _ok_json(ref("ChainTips"), "chain tips"), (400,), [TIPS_LIMIT], None, False),
    ("/v1/chain/utxo-set", "get", "getUtxoSet", "chain",
     "Size, total amount and hash of the UTXO set at the tip (as Bitcoin Core's"
     " gettxoutsetinfo; a scan, kept until the tip moves)",
     _ok_json(ref("UtxoSet"), "UTXO set statistics"), (), [], None, False),
    ("/v1/chain/scan", "post", "scanUtxoSet", "chain", "Coins of up to 100 addresses, from the"
     " UTXO set (Core's scantxoutset)", _ok_json(ref("UtxoScan"), "the outputs found"),
     (400, 409, 413), [], _body("ScanRequest"), True),
    ("/v1/chain/scan-blocks", "post", "scanBlocks", "chain", "Blocks whose compact filters"
     " match any of up to 100 addresses (Core's scanblocks)", _ok_json(ref("BlockScan"),
     "the matching blocks"), (400, 409, 413, 503), [], _body("BlockScanRequest"), True),
    ("/v1/blocks/tip/height", "get", "getTipHeight", "chain", "Height of the tip (plain text)",
     _ok_text("height", "^[0-9]+$"), (), [], None, False),
    ("/v1/blocks/tip/hash", "get", "getTipHash", "chain", "Hash of the tip (plain text)",
     _ok_text("hash", HASH_TEXT), (), [], None, False),
    ("/v1/blocks", "get", "getBlocks", "chain", "Up to 10 block summaries, newest first",
     _ok_json(ref("Blocks"), "from start_height (default: the tip) down"), (400,),
     [START_HEIGHT], None, False),
    ("/v1/blocks/{start_height}", "get", "getBlocksFrom", "chain",
     "Up to 10 block summaries, newest first, from start_height down (Esplora's path form)",
     _ok_json(ref("Blocks"), "from start_height down"), (400,), [START_HEIGHT_PATH], None, False),
    ("/v1/block/{hash}", "get", "getBlock", "chain", "A block's summary",
     _ok_json(ref("Block"), "the block"), TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/txids", "get", "getBlockTxids", "chain", "The block's txids, in order",
     _ok_json(ref("Txids"), "txids"), TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/raw", "get", "getBlockRaw", "chain", "The block's canonical bytes",
     RAW_BLOCK, TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/header", "get", "getBlockHeader", "chain",
     "The block's 80-byte header as hex (plain text)",
     _ok_text("header", "^[0-9a-f]{160}$"), TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/status", "get", "getBlockStatus", "chain",
     "Whether the block is on the active chain, its height and the next block there",
     _ok_json(ref("BlockStatus"), "status"), TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/filter", "get", "getBlockFilter", "chain",
     "The block's compact filter and filter header (Core's getblockfilter)",
     _ok_json(ref("BlockFilter"), "filter"), TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/filter-headers", "get", "getFilterHeaders", "chain",
     "Filter headers from this block up the active chain (Core's REST blockfilterheaders)",
     _ok_json(ref("FilterHeaders"), "headers"), TX_PATH_ERRORS, [BLOCK_HASH, FILTER_COUNT],
     None, False),
    ("/v1/block/{hash}/stats", "get", "getBlockStats", "chain",
     "Fees, fee rates and sizes of the block's transactions (as Bitcoin Core's getblockstats)",
     _ok_json(ref("BlockStats"), "statistics"), TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/txid/{index}", "get", "getBlockTxid", "chain",
     "The txid at a position of the block (plain text)",
     _ok_text("txid", HASH_TEXT), TX_PATH_ERRORS, [BLOCK_HASH, TX_INDEX], None, False),
    ("/v1/block/{hash}/txs", "get", "getBlockTxs", "chain",
     "The block's first 25 transactions, as /v1/tx/{txid} shows them",
     _ok_json(ref("Transactions"), "transactions"), TX_PATH_ERRORS, [BLOCK_HASH], None, False),
    ("/v1/block/{hash}/txs/{start}", "get", "getBlockTxsFrom", "chain",
     "25 transactions of the block from start (a multiple of 25)",
     _ok_json(ref("Transactions"), "transactions"), TX_PATH_ERRORS, [BLOCK_HASH, TXS_START],
     None, False),
    ("/v1/mempool/save", "post", "saveMempool", "node",
     "Write <datadir>/mempool.dat now (Core's savemempool)",
     _ok_json(ref("MempoolSaved"), "saved"), (409,), [], None, True),
    ("/v1/mempool/prioritise", "post", "prioritiseTransaction", "mempool", "A fee delta that"
     " selection, eviction and fee floors count (Core's prioritisetransaction)",
     _ok_json(ref("Prioritised"), "the total delta"), (400, 413), [],
     _body("PrioritiseRequest"), True),
    ("/v1/mempool/prioritised", "get", "getPrioritised", "mempool",
     "Every fee delta in force (Core's getprioritisedtransactions)",
     _ok_json(ref("PrioritisedList"), "deltas"), (), [], None, True),
    ("/v1/chain/prune", "post", "pruneChain", "chain", "Prune up to a height now (Core's"
     " pruneblockchain)", _ok_json(ref("Pruned"), "the pruned height"), (400, 409, 413), [],
     _body("PruneRequest"), True),
    ("/v1/logging", "get", "getLogging", "node", "Log levels now (admin; Core's logging)",
     _ok_json(ref("LogLevels"), "levels"), (), [], None, True),
    ("/v1/logging", "post", "setLogging", "node", "Change a log level while running (admin)",
     _ok_json(ref("LogLevels"), "levels now"), (400, 413), [], _body("LogLevelRequest"), True),
    ("/v1/stop", "post", "stop", "node",
     "Stop the node as SIGTERM would, after answering (Core's stop)",
     _ok_json(ref("Stopping"), "stopping"), (), [], None, True),
    ("/v1/block/{hash}/invalidate", "post", "invalidateBlock", "chain",
     "Mark a block and its descendants invalid and move the chain off them (Core's"
     " invalidateblock)", _ok_json(ref("Verdict"), "the tip left"), (400, 404), [BLOCK_HASH],
     None, True),
    ("/v1/block/{hash}/reconsider", "post", "reconsiderBlock", "chain",
     "Clear the invalid marks of a block, its descendants and ancestors, and activate the"
     " most-work chain (Core's reconsiderblock)", _ok_json(ref("Verdict"), "the tip left"),
     (400, 404), [BLOCK_HASH], None, True),
    ("/v1/block-height/{height}", "get", "getBlockAtHeight", "chain",
     "The hash of the active chain's block at a height (plain text)",
     _ok_text("hash", HASH_TEXT), TX_PATH_ERRORS, [HEIGHT], None, False),
    ("/v1/tx", "post", "postTx", "transactions",
     "Broadcast a transaction (its canonical bytes as hex); answers the txid",
     _ok_text("the txid", HASH_TEXT), (400, 409, 413), [MAX_FEE_RATE], TX_TEXT_BODY, False),
    ("/v1/txs/package", "post", "submitPackage", "transactions", "A child with its parents,"
     " judged together (Core's submitpackage)", _ok_json(ref("PackageResult"), "outcomes"),
     (400, 413), [], _body("PackageRequest"), False),
    ("/v1/tx/test", "post", "testTx", "transactions",
     "Whether POST /v1/tx would accept this transaction now (Core's testmempoolaccept);"
     " nothing is stored or relayed",
     _ok_json(ref("TxTest"), "the verdict"), (400, 413), [MAX_FEE_RATE], TX_TEXT_BODY, False),
    ("/v1/tx/{txid}", "get", "getTx", "transactions", "A transaction, confirmed or in the mempool",
     _ok_json(ref("Transaction"), "the transaction"), TX_PATH_ERRORS, [TXID], None, False),
    ("/v1/tx/{txid}/hex", "get", "getTxHex", "transactions", "A transaction's bytes as hex",
     _ok_text("hex", "^([0-9a-f]{2})+$"), TX_PATH_ERRORS, [TXID], None, False),
    ("/v1/tx/{txid}/raw", "get", "getTxRaw", "transactions", "A transaction's canonical bytes",
     RAW_TX, TX_PATH_ERRORS, [TXID], None, False),
    ("/v1/tx/{txid}/status", "get", "getTxStatus", "transactions",
     "Whether and where a transaction is confirmed",
     _ok_json(ref("TxStatus"), "status"), TX_PATH_ERRORS, [TXID], None, False),
    ("/v1/tx/{txid}/merkle-proof", "get", "getTxMerkleProof", "transactions",
     "Merkle branch of a confirmed transaction (the tree is over wtxids)",
     _ok_json(ref("MerkleProof"), "Electrum-style proof"), TX_PATH_ERRORS, [TXID], None, False),
    ("/v1/tx/{txid}/outspends", "get", "getTxOutspends", "transactions",
     "Whether and by what each output of a transaction was spent",
     _ok_json(ref("Outspends"), "one per output, in order"), TX_PATH_ERRORS, [TXID], None, False),
    ("/v1/tx/{txid}/outspend/{vout}", "get", "getTxOutspend", "transactions",
     "Whether and by what one output of a transaction was spent",
     _ok_json(ref("Outspend"), "the output's spending status"), TX_PATH_ERRORS, [TXID, VOUT],
     None, False),
    ("/v1/address/{address}", "get", "getAddress", "addresses",
     "Confirmed and unconfirmed totals of an address",
     _ok_json(ref("Address"), "stats"), TX_PATH_ERRORS, [ADDRESS], None, False),
    ("/v1/address/{address}/utxo", "get", "getAddressUtxo", "addresses",
     "Unspent outputs of an address (mempool-aware)",
     _ok_json(ref("Utxos"), "unspent outputs"), TX_PATH_ERRORS, [ADDRESS], None, False),
    ("/v1/address/{address}/txs", "get", "getAddressTxs", "addresses",
     "History of an address, newest first, cursor-paged",
     _ok_json(ref("AddressTxs"), "a page"), TX_PATH_ERRORS, [ADDRESS, *ADDRESS_TXS_QUERY],
     None, False),
    ("/v1/address/{address}/txs/mempool", "get", "getAddressTxsMempool", "addresses",
     "The address's mempool transactions, newest first (Esplora)",
     _ok_json(ref("Transactions"), "transactions"), TX_PATH_ERRORS, [ADDRESS], None, False),
    ("/v1/address/{address}/txs/chain", "get", "getAddressTxsChain", "addresses",
     "The address's 25 newest confirmed transactions (Esplora)",
     _ok_json(ref("Transactions"), "transactions"), TX_PATH_ERRORS, [ADDRESS], None, False),
    ("/v1/address/{address}/txs/chain/{last_seen}", "get", "getAddressTxsChainAfter",
     "addresses", "25 confirmed transactions of the address older than last_seen (Esplora)",
     _ok_json(ref("Transactions"), "transactions"), TX_PATH_ERRORS, [ADDRESS, LAST_SEEN], None,
     False),
    ("/v1/mempool", "get", "getMempool", "mempool", "Mempool summary with fee histogram",
     _ok_json(ref("Mempool"), "summary"), (), [], None, False),
    ("/v1/mempool/txids", "get", "getMempoolTxids", "mempool", "Every txid in the mempool",
     _ok_json(ref("Txids"), "txids"), (), [], None, False),
    ("/v1/mempool/recent", "get", "getMempoolRecent", "mempool",
     "The last 10 transactions to enter the mempool, newest first",
     _ok_json(ref("MempoolRecent"), "recent"), (), [], None, False),
    ("/v1/mempool/tx/{txid}", "get", "getMempoolEntry", "mempool",
     "A mempool transaction with its ancestors, descendants and fees (as Bitcoin Core's"
     " getmempoolentry)",
     _ok_json(ref("MempoolEntry"), "the entry"), TX_PATH_ERRORS, [TXID], None, False),
    ("/v1/mempool/tx/{txid}/ancestors", "get", "getMempoolAncestors", "mempool",
     "In-mempool ancestors, parents first (Core's getmempoolancestors)",
     _ok_json(ref("MempoolRelatives"), "txids, or entries with verbose"), TX_PATH_ERRORS,
     [TXID, VERBOSE], None, False),
    ("/v1/mempool/tx/{txid}/descendants", "get", "getMempoolDescendants", "mempool",
     "In-mempool descendants, parents first (Core's getmempooldescendants)",
     _ok_json(ref("MempoolRelatives"), "txids, or entries with verbose"), TX_PATH_ERRORS,
     [TXID, VERBOSE], None, False),
    ("/v1/fee-estimates", "get", "getFeeEstimates", "mempool", "Fee-rate per confirmation target",
     _ok_json(ref("FeeEstimates"), "estimates"), (), [], None, False),
    ("/v1/peers", "get", "getPeers", "peers", "Connected peers",
     _ok_json(ref("Peers"), "peers"), (), [], None, False),
    ("/v1/peers/addresses", "get", "getNodeAddresses", "peers", "Known addresses from the"
     " address book, a random sample (Core's getnodeaddresses)",
     _ok_json(ref("NodeAddresses"), "addresses"), (400,), [NODE_ADDR_COUNT], None, False),
    ("/v1/peers", "post", "addPeer", "peers", "Connect to a peer (admin)",
     _ok_json(ref("PeerAdded"), "connected"), (400, 409, 413, 502, 504), [],
     _body("PeerRequest"), True),
    ("/v1/peers/{address}", "delete", "removePeer", "peers", "Disconnect a peer (admin)",
     _ok_json(ref("PeerRemoved"), "disconnected"), TX_PATH_ERRORS, [PEER], None, True),
    ("/v1/network/active", "post", "setNetworkActive", "peers", "P2P activity on or off (admin;"
     " Core's setnetworkactive)", _ok_json(ref("NetworkActive"), "the state now, connections"
     " closed"), (400, 413), [], _body("NetworkActiveRequest"), True),
    ("/v1/bans", "get", "getBans", "peers", "Manual bans in force (admin)",
     _ok_json(ref("Bans"), "bans, oldest first"), (), [], None, True),
    ("/v1/bans", "post", "addBan", "peers",
     "Ban an IP address or subnet and drop its connections (admin)",
     _ok_json(ref("BanAdded"), "banned"), (400, 409, 413), [], _body("BanRequest"), True),
    ("/v1/bans", "delete", "clearBans", "peers", "Lift every ban (admin)",
     _ok_json(ref("BansCleared"), "how many were lifted"), (), [], None, True),
    ("/v1/bans/{subnet}", "delete", "removeBan", "peers", "Lift one ban (admin)",
     _ok_json(ref("BanRemoved"), "lifted"), (400, 404), [SUBNET], None, True),
    ("/v1/mining/template", "get", "getTemplate", "mining", "A block template on the tip",
     _ok_json(ref("Template"), "template"), (400,), [PAY_TO, LONGPOLL], None, False),
    ("/v1/mining/info", "get", "getMiningInfo", "mining",
     "Difficulty now and for the next block, the network's hash rate, the node's own miner"
     " (as Bitcoin Core's getmininginfo and getnetworkhashps)",
     _ok_json(ref("MiningInfo"), "mining state"), (400,), [HASHPS_BLOCKS], None, False),
    ("/v1/mining/submit", "post", "submitBlock", "mining", "Submit a solved block",
     _ok_json(ref("SubmitResult"), "what the node did with it"), (400, 413), [],
     _body("SubmitRequest"), False),
    ("/v1/mining/proposal", "post", "proposeBlock", "mining", "Every rule but the proof of work,"
     " nothing kept (BIP 23)", _ok_json(ref("Proposal"), "the verdict"), (400, 413), [],
     _body("SubmitRequest"), False),
    ("/v1/mining/generate", "post", "generate", "mining", "Mine blocks now (admin, regtest only)",
     _ok_json(ref("Hashes"), "hashes of the new blocks"), (400, 413), [],
     _body("GenerateRequest"), True),
]
# fmt: on


def _events_operation() -> Operation:
    """``GET /v1/ws``: its success is the switch to a WebSocket (101), not a 200 body."""
    operation = _operation(
        "events",
        "WebSocket of events as JSON text messages: {event: block | block_disconnected,"
        " hash, height} and {event: tx, txid}; send {subscribe: [blocks, txs]} to choose",
        {"description": "unused: the success is 101"},
        (400,),
        tag="node",
    )
    responses = operation["responses"]
    del responses["200"]
    operation["responses"] = {"101": {"description": "switching to the WebSocket protocol"},
                              **responses}  # fmt: skip
    return operation


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method, op_id, tag, summary, ok, errors, params, body, admin in _TABLE:
        paths.setdefault(path, {})[method] = _operation(
            op_id, summary, ok, errors, parameters=params, body=body, admin=admin, tag=tag
        )
    paths["/v1/ws"] = {"get": _events_operation()}
    return paths


def build_openapi(params: ChainParams) -> dict[str, Any]:
    """The whole document for a node of ``params``' network."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Seedchain node REST API",
            "version": "1.0.0",
            "description": (
                f"A Seedchain {params.name} node. Shapes follow Blockstream Esplora where one"
                " exists. Amounts are integers of base units; hashes are hex of the reversed"
                " bytes; merkle trees are over wtxids. Errors are always"
                ' {"error": {"code", "message"}}.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": {**SCHEMAS, **STATS_SCHEMAS},
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the token in <datadir>/api.cookie",
                }
            },
        },
    }

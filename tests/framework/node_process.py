"""A node in a child process, with a control channel for the test that started it.

    python -m tests.framework.node_process [--control-bind 127.0.0.1:0] [--tag T]
        [--stall-timeout S] [--handshake-timeout S] -- <the arguments of `seedchain node`>

The node arguments are parsed by the real ``seedchain node`` parser and turned into a
``NodeConfig`` by the real ``build_config``; the node is ``node_ops.TestNodeServer`` (no
dialling from the address book, test deadlines). Next to it runs a tiny HTTP server on
loopback: ``POST /op/<name>`` with ``{"args": [...]}`` calls ``NodeOps.<name>`` and answers
``{"result": ...}`` or ``{"error": ..., "message": ..., "code": ...}``. Transactions and blocks
travel as ``{"__tx__": hex}`` / ``{"__block__": hex}``. Its port is logged as the
``control_started`` event (the P2P port as ``p2p_started``). SIGTERM/SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any

import structlog
from aiohttp import web

from consensus.block import Block
from consensus.params import ChainParams
from consensus.transaction import Transaction

log = structlog.get_logger("seedchain.test_control")

OPS = {
    "height", "tip", "best_block", "utxo_hash", "mempool_txids", "mempool_size", "block_hash",
    "get_block", "send_tx", "send_txs", "submit_block", "submit_blocks", "generate", "connect",
    "peers", "close_peer", "is_discouraged", "set_stall_timeout", "sync_state",
}


def encode_value(value: Any) -> Any:
    """Python values (with transactions and blocks) to JSON-able ones."""
    if isinstance(value, Transaction):
        return {"__tx__": value.encoded.hex()}
    if isinstance(value, Block):
        return {"__block__": value.encoded.hex()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    return value


def decode_value(value: Any, params: ChainParams) -> Any:
    if isinstance(value, dict):
        if "__tx__" in value:
            return Transaction.decode(bytes.fromhex(value["__tx__"]))
        if "__block__" in value:
            return Block.decode(bytes.fromhex(value["__block__"]), params.max_block_size)
        return {k: decode_value(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v, params) for v in value]
    return value


def make_app(ops: Any, params: ChainParams) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in OPS:
            return web.json_response({"error": "UnknownOp", "message": name}, status=404)
        body = await request.json()
        args = decode_value(body.get("args", []), params)
        try:
            result = await getattr(ops, name)(*args)
        except Exception as exc:  # reported to the test, which raises it there
            return web.json_response(
                {
                    "error": type(exc).__name__,
                    "message": str(exc),
                    "code": getattr(exc, "code", None),
                }
            )
        return web.json_response({"result": encode_value(result)}, dumps=json.dumps)

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/op/{name}", handle)
    return app


async def serve(node: Any, ops: Any, host: str, port: int, stall_timeout: float | None) -> None:
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(node.run(), name="node")
        await node.started.wait()
        if stall_timeout is not None:
            await ops.set_stall_timeout(stall_timeout)
        runner = web.AppRunner(make_app(ops, node.params), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            log.info("control_started", port=runner.addresses[0][1])
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="node_process")
    parser.add_argument("--control-bind", default="127.0.0.1:0")
    parser.add_argument("--tag", default="")
    parser.add_argument("--stall-timeout", type=float, default=None)
    parser.add_argument("--handshake-timeout", type=float, default=None)
    parser.add_argument("node_args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    node_args = ns.node_args[1:] if ns.node_args[:1] == ["--"] else ns.node_args

    from node.logs import configure_logging
    from seedchain.cli import parse_args
    from seedchain.cmd_node import build_config
    from seedchain.runner import run_service
    from tests.framework.node_ops import TEST_PEER_SETTINGS, NodeOps, TestNodeServer

    config = build_config(parse_args(["node", *node_args]))
    configure_logging(config.log_format)
    settings = TEST_PEER_SETTINGS
    if ns.handshake_timeout is not None:
        settings = dataclasses.replace(settings, handshake_timeout=ns.handshake_timeout)
    node = TestNodeServer(config, peer_settings=settings)
    ops = NodeOps(node, ns.tag.encode())
    host, _, port = ns.control_bind.rpartition(":")
    return run_service(lambda: serve(node, ops, host, int(port), ns.stall_timeout))


if __name__ == "__main__":
    sys.exit(main())

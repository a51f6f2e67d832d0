"""An example functional test: copy this file to start a new scenario.

Name the copy ``test_<what>.py`` (pytest also collects this file: its name matches the
default ``*_test.py`` pattern). Read docs/testing.md for the whole framework API.

The shape of every scenario test:
1. ask the ``network`` fixture for nodes (``add_nodes``) and scripted peers (``add_p2p``);
   the fixture stops all of them when the test ends, pass or fail;
2. wire the topology with ``connect_nodes`` (nothing is dialled automatically: test nodes
   never dial from their address book);
3. act: mine (``generate``), send transactions (``MiniWallet`` + ``send_tx``), send P2P
   messages from a ``P2PInterface``;
4. synchronise, never ``asyncio.sleep``: ``sync_blocks`` / ``sync_mempools`` poll with a
   deadline; ``peer.sync_with_ping()`` / ``send_and_ping`` prove the node has processed what
   the peer sent; ``wait_for_*`` wait for a message;
5. assert on what the node exposes: ``height``, ``tip``, ``mempool_txids``, ``utxo_hash``,
   ``is_discouraged``, or the messages a scripted peer received.
"""

from __future__ import annotations

from consensus.hashing import hex_to_hash
from p2p.messages import Headers
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks, sync_mempools
from tests.framework.p2p_interface import P2PInterface


class HeaderCounter(P2PInterface):
    """A scripted peer reacts to what it receives with ``on_<command>`` callbacks (plain
    functions or coroutines). Every message is also recorded in ``self.messages``."""

    def __init__(self) -> None:
        super().__init__()
        self.announced: list[bytes] = []

    def on_headers(self, message: Headers) -> None:
        self.announced.extend(h.hash for h in message.headers)


async def test_example(network: TestNetwork) -> None:
    # Two in-process nodes (mode="process" would run each in its own child process).
    node0, node1 = await network.add_nodes(2)
    await connect_nodes(node0, node1)  # node0 dials node1; returns once both see the link

    # A scripted peer on node1: it completes the handshake and records what node1 says.
    peer = await network.add_p2p(node1, HeaderCounter())

    # MiniWallet mines to its own key, so it knows its coins: 101 blocks make the first
    # coinbase spendable (maturity 100).
    wallet = MiniWallet()
    await wallet.generate(node0, 101)
    tip = await sync_blocks([node0, node1])
    assert await node1.height() == 101

    # node1 announced its new blocks to the scripted peer (headers, or an inv of the tip).
    await peer.sync_with_ping()  # node1 has processed everything the peer sent before this
    await peer.wait_until(lambda: hex_to_hash(tip) in peer.announced
                          or peer.message_count["inv"] > 0)

    # A transaction sent to node0 reaches node1's mempool; a block at node1 confirms it.
    tx = wallet.create_self_transfer(await node0.height())
    await node0.send_tx(tx)
    assert tx.txid_hex in await sync_mempools([node0, node1])
    await node1.generate(1)
    await sync_blocks([node0, node1])
    assert await node0.mempool_txids() == set()
    # Both nodes agree on the whole UTXO set, not just the tip.
    assert await node0.utxo_hash() == await node1.utxo_hash()

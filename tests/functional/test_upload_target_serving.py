"""``--max-upload-target`` (Core's ``-maxuploadtarget``): past the target's historical-block
buffer, a peer asking for an old stored block is disconnected without it, while the blocks
just connected are still served and a whitelisted peer still gets everything."""

from __future__ import annotations

import pytest

from consensus.hashing import hex_to_hash
from p2p.messages import INV_BLOCK, GetData, InvItem, Mempool
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork
from tests.framework.p2p_interface import P2PInterface

MIB = 1024 * 1024


async def test_old_blocks_stop_past_the_target_and_whitelisted_peers_are_exempt(
    network: TestNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every stored block counts as "older than a week" here (regtest blocks are all recent)
    monkeypatch.setattr("node.uploadtarget.HISTORICAL_BLOCK_AGE", -1)
    # 1 MiB a day is under the buffer of one block per 10 minutes: no historical serving
    limited = await network.add_node(config_overrides={"max_upload_target": MIB})
    exempt = await network.add_node(
        config_overrides={"max_upload_target": MIB, "whitelist": ("127.0.0.0/8",)}
    )
    for node in (limited, exempt):
        hashes = [hex_to_hash(h) for h in await MiniWallet().generate(node, 8)]
        assert node.node is not None
        status = node.node.upload_target.status()
        assert status["target"] == MIB and status["serve_historical_blocks"] is False

        newest = await network.add_p2p(node, P2PInterface())
        await newest.send_message(GetData((InvItem(INV_BLOCK, hashes[-1]),)))
        assert (await newest.wait_for_block(hashes[-1], timeout=10)).hash == hashes[-1]

        old = await network.add_p2p(node, P2PInterface())
        await old.send_message(GetData((InvItem(INV_BLOCK, hashes[0]),)))
        if node is exempt:
            assert (await old.wait_for_block(hashes[0], timeout=10)).hash == hashes[0]
        else:
            await old.wait_for_disconnect(timeout=10)
            assert old.received("block") == []


async def test_a_mempool_request_past_the_target_disconnects(network: TestNetwork) -> None:
    node = await network.add_node(config_overrides={"max_upload_target": 1})
    await MiniWallet().generate(node, 1)
    peer = await network.add_p2p(node, P2PInterface())  # the handshake alone passes 1 byte
    assert node.node is not None and node.node.upload_target.reached()
    await peer.send_message(Mempool())
    await peer.wait_for_disconnect(timeout=10)

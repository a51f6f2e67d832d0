"""REST API: transactions (POST /v1/tx and the lookups), merkle proofs, the mempool and fee
endpoints — against a real regtest node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import pytest
import pytest_asyncio

from consensus.hashing import hex_to_hash
from consensus.merkle import root_from_branch
from consensus.params import REGTEST
from consensus.transaction import OutPoint, Transaction, TxOut, Witness
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, LiveApi, live_api, pay

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveApi]:
    async with live_api(tmp_path_factory.mktemp("tx")) as live:
        await live.generate(110)  # coinbases 1..10 are mature
        yield live


async def test_post_tx_accepts_and_every_lookup_finds_it(api: LiveApi) -> None:
    tx = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN)
    reply = await api.post_tx(tx)
    assert reply.status == 200, reply.text
    assert reply.text == tx.txid_hex
    assert reply.headers["Content-Type"].startswith("text/plain")

    data = await api.get_json(f"/v1/tx/{tx.txid_hex}")
    assert data["txid"] == tx.txid_hex
    assert data["status"] == {"confirmed": False}
    assert data["fee"] == 1000
    assert data["vin"][0]["prevout"]["value"] == 50 * COIN
    assert data["vin"][0]["prevout"]["scriptpubkey_address"] == ALICE.address()
    assert data["vin"][0]["witness"] == [
        tx.witnesses[0].pubkey.hex(),
        tx.witnesses[0].signature.hex(),
    ]
    assert data["vout"][0] == {
        "scriptpubkey": BOB.lock.hex(),
        "scriptpubkey_address": BOB.address(),
        "scriptpubkey_type": "v0_keyhash",
        "value": 10 * COIN,
    }
    assert (await api.get(f"/v1/tx/{tx.txid_hex}/hex")).text == tx.encoded.hex()
    assert await api.get_json(f"/v1/tx/{tx.txid_hex}/status") == {"confirmed": False}
    assert tx.txid_hex in await api.get_json("/v1/mempool/txids")
    mempool = await api.get_json("/v1/mempool")
    assert mempool["count"] == 1 and mempool["bytes"] == tx.size and mempool["total_fee"] == 1000
    assert mempool["fee_histogram"] == [[1000 / tx.size, tx.size]]
    proof = await api.get(f"/v1/tx/{tx.txid_hex}/merkle-proof")
    assert proof.status == 404 and proof.error_code == "tx_not_confirmed"

    again = await api.post_tx(tx)  # already in the mempool: the txid again, as Esplora
    assert again.status == 200 and again.text == tx.txid_hex

    template = await api.get_json(f"/v1/mining/template?address={CAROL.address()}")
    assert [t["txid"] for t in template["transactions"]] == [tx.txid_hex]
    assert template["fees"] == 1000
    assert template["reward"] == 50 * COIN + 1000

    [block_hash] = await api.generate(1)
    status = await api.get_json(f"/v1/tx/{tx.txid_hex}/status")
    assert status["confirmed"] is True
    assert status["block_hash"] == block_hash
    assert status["block_height"] == 111
    confirmed = await api.get_json(f"/v1/tx/{tx.txid_hex}")
    assert confirmed["fee"] == 1000
    assert confirmed["vin"][0]["prevout"]["value"] == 50 * COIN
    assert await api.get_json("/v1/mempool/txids") == []

    proof_data = await api.get_json(f"/v1/tx/{tx.txid_hex}/merkle-proof")
    assert proof_data["block_height"] == 111 and proof_data["pos"] == 1
    header = await api.get_json(f"/v1/block/{block_hash}")
    root = root_from_branch(
        hex_to_hash(proof_data["wtxid"]),
        [hex_to_hash(h) for h in proof_data["merkle"]],
        proof_data["pos"],
    )
    assert root == hex_to_hash(header["merkle_root"])
    assert proof_data["wtxid"] == tx.wtxid[::-1].hex()

    spent_again = await api.post_tx(tx)
    assert spent_again.status == 409 and spent_again.error_code == "already_confirmed"


async def test_merkle_proofs_verify_for_every_position(api: LiveApi) -> None:
    txs = [pay(await api.coinbase_at(h), ALICE, BOB, COIN) for h in (2, 3, 4, 5, 6)]
    for tx in txs:
        assert (await api.post_tx(tx)).status == 200
    [block_hash] = await api.generate(1)
    root = hex_to_hash((await api.get_json(f"/v1/block/{block_hash}"))["merkle_root"])
    txids = await api.get_json(f"/v1/block/{block_hash}/txids")
    assert len(txids) == 6
    for position, txid in enumerate(txids):
        proof = await api.get_json(f"/v1/tx/{txid}/merkle-proof")
        assert proof["pos"] == position
        leaf = hex_to_hash(proof["wtxid"])
        assert root_from_branch(leaf, [hex_to_hash(h) for h in proof["merkle"]], position) == root


async def test_rule_rejection_is_400_with_the_rules_code(api: LiveApi) -> None:
    tx = pay(await api.coinbase_at(7), ALICE, BOB, COIN)
    bad_sig = tx.witnesses[0].signature[:-1] + bytes([tx.witnesses[0].signature[-1] ^ 1])
    forged = tx.with_witnesses((Witness(tx.witnesses[0].pubkey, bad_sig),))
    reply = await api.post_tx(forged)
    assert reply.status == 400 and reply.error_code == "bad_signature"

    greedy = pay(await api.coinbase_at(7), ALICE, BOB, 51 * COIN, fee=0)
    reply = await api.post_tx(greedy)
    assert reply.status == 400 and reply.error_code == "inputs_below_outputs"

    immature = pay(await api.coinbase_at(100), ALICE, BOB, COIN)
    reply = await api.post_tx(immature)
    assert reply.status == 400 and reply.error_code == "immature_coinbase_spend"

    no_fee = pay(await api.coinbase_at(7), ALICE, BOB, COIN, fee=0)
    reply = await api.post_tx(no_fee)
    assert reply.status == 400 and reply.error_code == "min_fee_not_met"

    wrong_key = pay(await api.coinbase_at(7), BOB, CAROL, COIN)
    reply = await api.post_tx(wrong_key)
    assert reply.status == 400 and reply.error_code == "key_hash_mismatch"

    metrics = (await api.get("/metrics")).text
    assert 'seedchain_transactions_rejected_total{reason="bad_signature",source="api"}' in metrics
    assert 'seedchain_transactions_accepted_total{source="api"}' in metrics


async def test_an_absurd_fee_is_refused_unless_allowed(api: LiveApi) -> None:
    """Core's ``sendrawtransaction`` / ``testmempoolaccept`` ``maxfeerate``: by default a fee
    above 10,000 units/byte is refused (400 ``max_fee_exceeded``), nothing kept; the caller
    may raise the limit or lift it with 0."""
    await api.generate(30)  # a coinbase no other test of this module spends
    tip = int((await api.get("/v1/blocks/tip/height")).text)
    absurd = pay(await api.coinbase_at(tip - 99), ALICE, BOB, COIN, fee=10 * COIN)
    rate = -(-10 * COIN // absurd.size)  # its fee rate, rounded up
    reply = await api.post_tx(absurd)
    assert (reply.status, reply.error_code) == (400, "max_fee_exceeded"), reply.text
    assert absurd.txid_hex not in await api.get_json("/v1/mempool/txids")
    verdict = (await api.post("/v1/tx/test", data=absurd.encoded.hex())).json()
    assert (verdict["allowed"], verdict["reject_reason"]) == (False, "max_fee_exceeded")
    hex_body = absurd.encoded.hex()
    for query, allowed in ((f"{rate - 1}", False), (f"{rate}", True)):
        verdict = (await api.post(f"/v1/tx/test?maxfeerate={query}", data=hex_body)).json()
        assert verdict["allowed"] is allowed, (query, verdict)
    for query in ("-1", "x", "1.5"):
        reply = await api.post(f"/v1/tx?maxfeerate={query}", data=hex_body)
        assert (reply.status, reply.error_code) == (400, "bad_maxfeerate"), query
    reply = await api.post("/v1/tx?maxfeerate=0", data=absurd.encoded.hex())
    assert reply.status == 200, reply.text
    assert absurd.txid_hex in await api.get_json("/v1/mempool/txids")


async def test_double_spend_is_409(api: LiveApi) -> None:
    coin = await api.coinbase_at(8)
    first = pay(coin, ALICE, BOB, COIN, fee=5000)
    assert (await api.post_tx(first)).status == 200
    second = pay(coin, ALICE, CAROL, COIN, fee=5000)  # same fee: full RBF refuses it
    reply = await api.post_tx(second)
    assert reply.status == 409
    assert reply.error_code.startswith("rbf_") or reply.error_code == "mempool_conflict"
    await api.generate(1)


async def test_spending_an_output_spent_in_the_chain_is_409(api: LiveApi) -> None:
    coin = await api.coinbase_at(9)
    assert (await api.post_tx(pay(coin, ALICE, BOB, COIN))).status == 200
    await api.generate(1)
    reply = await api.post_tx(pay(coin, ALICE, CAROL, 2 * COIN))
    assert reply.status == 409 and reply.error_code == "missing_inputs"
    unknown = (OutPoint(b"\x11" * 32, 0), TxOut(COIN, ALICE.lock))
    reply = await api.post_tx(pay(unknown, ALICE, BOB, COIN // 2))
    assert reply.status == 400 and reply.error_code == "missing_inputs"
    assert await api.get_json("/v1/mempool/txids") == []
    assert api.node.mempool.orphans.txids() == []  # REST never leaves orphans behind


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "empty_body"),
        ("zz", "bad_hex"),
        ("abc", "bad_hex"),
        ("00", "decode_error"),
        ("héllo", "bad_hex"),
    ],
)
async def test_malformed_bodies_are_400(api: LiveApi, body: str, code: str) -> None:
    reply = await api.post("/v1/tx", data=body.encode())
    assert reply.status == 400, reply.text
    assert reply.error_code == code


async def test_non_canonical_encoding_is_400(api: LiveApi) -> None:
    tx = pay(await api.coinbase_at(10), ALICE, BOB, COIN)
    reply = await api.post("/v1/tx", data=(tx.encoded + b"\x00").hex())
    assert reply.status == 400 and reply.error_code in {"decode_error", "non_canonical_encoding"}


async def test_unknown_and_malformed_txids(api: LiveApi) -> None:
    for suffix in ("", "/hex", "/status", "/merkle-proof"):
        missing = await api.get(f"/v1/tx/{'cd' * 32}{suffix}")
        assert missing.status == 404 and missing.error_code == "tx_not_found"
        bad = await api.get(f"/v1/tx/nothex{suffix}")
        assert bad.status == 400 and bad.error_code == "bad_hash"


async def test_coinbase_lookup(api: LiveApi) -> None:
    outpoint, _ = await api.coinbase_at(3)
    data = await api.get_json(f"/v1/tx/{outpoint.txid[::-1].hex()}")
    assert data["is_coinbase"] is True
    assert data["vin"] == [] and data["fee"] == 0
    assert data["status"]["block_height"] == 3


async def test_fee_estimates_cover_esploras_targets(api: LiveApi) -> None:
    estimates = await api.get_json("/v1/fee-estimates")
    assert set(estimates) == {"1", "2", "3", "4", "5", "6", "8", "10", "12", "24", "48", "144"}
    assert all(rate >= 1.0 for rate in estimates.values())


async def test_submit_block_statuses_and_rejections(api: LiveApi) -> None:
    template = await api.get_json(f"/v1/mining/template?address={CAROL.address()}")
    assert template["height"] == await api.height() + 1
    assert template["previous_hash"] == (await api.get("/v1/blocks/tip/hash")).text
    assert template["min_time"] <= template["time"] <= template["max_time"]
    assert template["coinbase"]["extranonce_size"] == 8
    from consensus.assemble import solve_block
    from consensus.block import Block

    unsolved = Block.decode(bytes.fromhex(template["block"]), REGTEST.max_block_size)
    assert unsolved.header.encoded.hex() == template["header"]
    assert unsolved.transactions[0].encoded.hex() == template["coinbase_tx"]
    solved = solve_block(unsolved)
    assert solved is not None
    reply = await api.post("/v1/mining/submit", json={"block": solved.encoded.hex()})
    assert reply.status == 200, reply.text
    assert reply.json() == {
        "hash": solved.hash_hex,
        "height": template["height"],
        "status": "connected",
    }
    dup = await api.post("/v1/mining/submit", json={"block": solved.encoded.hex()})
    assert dup.json()["status"] == "duplicate"

    template = await api.get_json("/v1/mining/template")
    assert "block" not in template  # no address: no coinbase of ours
    bad = await api.post("/v1/mining/submit", json={"block": "00"})
    assert bad.status == 400 and bad.error_code == "decode_error"
    not_hex = await api.post("/v1/mining/submit", json={"block": "xyz"})
    assert not_hex.status == 400 and not_hex.error_code == "bad_hex"
    missing = await api.post("/v1/mining/submit", json={"blk": "00"})
    assert missing.status == 400 and missing.error_code == "missing_field"
    not_json = await api.post("/v1/mining/submit", data=b"{")
    assert not_json.status == 400 and not_json.error_code == "bad_json"
    bad_address = await api.get("/v1/mining/template?address=nope")
    assert bad_address.status == 400 and bad_address.error_code == "malformed_address"


async def test_submit_high_hash_is_400(api: LiveApi) -> None:
    from consensus.block import Block

    template = await api.get_json(f"/v1/mining/template?address={CAROL.address()}")
    block = Block.decode(bytes.fromhex(template["block"]), REGTEST.max_block_size)
    from consensus.pow import compact_to_target

    target = compact_to_target(block.header.bits)
    for nonce in range(1000):
        header = replace(block.header, nonce=nonce)
        if int.from_bytes(header.hash, "little") > target:
            break
    reply = await api.post(
        "/v1/mining/submit", json={"block": Block(header, block.transactions).encoded.hex()}
    )
    assert reply.status == 400 and reply.error_code == "high_hash"


async def test_concurrent_posts_are_batched_when_the_node_offers_it(api: LiveApi) -> None:
    import asyncio
    import time

    from consensus.errors import ConsensusError
    from node.mempool import AcceptResult
    from node.mempool_errors import MempoolError

    node = api.node
    batches: list[int] = []
    Results = list[AcceptResult | ConsensusError | MempoolError]

    async def submit_transactions(
        txs: Sequence[Transaction], max_fee_rates: Sequence[int | None] | None = None
    ) -> Results:
        batches.append(len(txs))
        now = int(time.time())

        def accept_all() -> Results:
            results: Results = []
            for tx, cap in zip(txs, max_fee_rates or [None] * len(txs), strict=True):
                try:
                    results.append(node.mempool.accept(tx, now, None, cap))
                except (ConsensusError, MempoolError) as exc:
                    results.append(exc)
            return results

        return await node.call(accept_all)

    await api.generate(6)
    good = [pay(await api.coinbase_at(h), ALICE, BOB, COIN) for h in range(11, 17)]
    bad = pay(await api.coinbase_at(17), BOB, CAROL, COIN)  # BOB's key for ALICE's coin
    # patch the instance for this test (the class method comes back below): mypy forbids it
    node.submit_transactions = submit_transactions  # type: ignore[method-assign]
    try:
        replies = await asyncio.gather(*(api.post_tx(tx) for tx in [*good, bad]))
    finally:
        del node.submit_transactions
    assert [r.status for r in replies] == [200] * 6 + [400]
    assert replies[-1].error_code == "key_hash_mismatch"
    assert sum(batches) == 7 and max(batches) >= 2
    assert set(await api.get_json("/v1/mempool/txids")) >= {tx.txid_hex for tx in good}


async def test_concurrent_posts_verified_together_get_their_own_answers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The node's own batching (``Node.submit_transactions``: signatures verified together on
    a helper thread, then ``accept`` with the signature cache): a forged signature, a double
    spend and a duplicate in the same batch get their own errors; the rest are accepted."""
    import asyncio

    async with live_api(tmp_path_factory.mktemp("batched"), verify_threads=1) as live:
        await live.generate(110)
        good = [pay(await live.coinbase_at(h), ALICE, BOB, COIN) for h in range(1, 7)]
        signature = good[0].witnesses[0].signature
        forged_witness = Witness(
            good[0].witnesses[0].pubkey, bytes([signature[0] ^ 1]) + signature[1:]
        )
        forged = pay(await live.coinbase_at(7), ALICE, BOB, COIN).with_witnesses((forged_witness,))
        double = pay(await live.coinbase_at(1), ALICE, CAROL, COIN, fee=500)  # pays less
        offers = [*good[:3], forged, double, good[3], good[3], *good[4:]]
        replies = await asyncio.gather(*(live.post_tx(tx) for tx in offers))
        statuses = [(r.status, None if r.status == 200 else r.error_code) for r in replies]
        assert statuses[3] == (400, "bad_signature")
        assert statuses[4][0] == 409  # the replacement rules refuse it
        assert [s for i, s in enumerate(statuses) if i not in (3, 4)] == [(200, None)] * 7
        assert [r.text for i, r in enumerate(replies) if i not in (3, 4)] == [
            tx.txid_hex for tx in [*good[:4], good[3], *good[4:]]
        ]
        assert set(await live.get_json("/v1/mempool/txids")) == {tx.txid_hex for tx in good}
        assert len(live.node.mempool.signatures) == 0

"""REST API: ``POST /v1/tx/test`` (Bitcoin Core's ``testmempoolaccept``) against a real
regtest node: the verdict POST /v1/tx would give, with nothing stored."""

from __future__ import annotations

from pathlib import Path

from consensus.transaction import OutPoint, Transaction, TxOut, Witness
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, LiveApi, live_api, pay


async def test_tx_test_says_what_post_would_do_and_changes_nothing(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        await check_verdicts(api)


async def check_verdicts(api: LiveApi) -> None:
    async def verdict(tx: Transaction) -> dict[str, object]:
        reply = await api.post("/v1/tx/test", data=tx.encoded.hex())
        assert reply.status == 200, reply.text
        answer: dict[str, object] = reply.json()
        assert answer["txid"] == tx.txid_hex
        return answer

    coin = await api.coinbase_at(1)
    before = await api.get_json("/v1/mempool/txids")
    tx = pay(coin, ALICE, BOB, COIN, fee=2000)
    assert await verdict(tx) == {
        "txid": tx.txid_hex,
        "allowed": True,
        "fee": 2000,
        "size": tx.size,
        "fee_rate": round(2000 / tx.size, 3),
        "replaces": [],
    }
    bad_sig = tx.witnesses[0].signature[:-1] + bytes([tx.witnesses[0].signature[-1] ^ 1])
    forged = await verdict(tx.with_witnesses((Witness(tx.witnesses[0].pubkey, bad_sig),)))
    assert (forged["allowed"], forged["reject_reason"]) == (False, "bad_signature")
    nowhere = (OutPoint(b"\x12" * 32, 0), TxOut(COIN, ALICE.lock))
    unknown = await verdict(pay(nowhere, ALICE, BOB, COIN // 2))
    assert (unknown["allowed"], unknown["reject_reason"]) == (False, "missing_inputs")
    assert await api.get_json("/v1/mempool/txids") == before  # nothing went in
    assert api.node.mempool.orphans.txids() == []

    assert (await api.post_tx(tx)).status == 200
    again = await verdict(tx)
    assert (again["allowed"], again["reject_reason"]) == (False, "already_in_mempool")
    richer = pay(coin, ALICE, CAROL, COIN, fee=20_000)  # full RBF: pays enough more
    verdict_richer = await verdict(richer)
    assert verdict_richer["allowed"] is True and verdict_richer["replaces"] == [tx.txid_hex]
    same_fee = await verdict(pay(coin, ALICE, CAROL, COIN, fee=2000))
    assert same_fee["allowed"] is False and str(same_fee["reject_reason"]).startswith("rbf_")
    assert tx.txid_hex in await api.get_json("/v1/mempool/txids")  # still the original
    assert richer.txid_hex not in await api.get_json("/v1/mempool/txids")

    reply = await api.post("/v1/tx/test", data="zz")
    assert reply.status == 400 and reply.error_code == "bad_hex"


async def test_the_relay_fee_floor_and_expiry_come_from_the_config(tmp_path: Path) -> None:
    async with live_api(tmp_path, min_relay_fee_rate=50, mempool_expiry_hours=24) as api:
        policy = await api.node.call(lambda: api.node.mempool.policy)
        assert (policy.min_relay_fee_rate, policy.expiry_seconds) == (50, 24 * 3600)
        await api.generate(101)
        cheap = pay(await api.coinbase_at(1), ALICE, BOB, COIN, fee=2000)  # ~10 units/byte
        reply = await api.post_tx(cheap)
        assert (reply.status, reply.error_code) == (400, "min_fee_not_met")
        dear = pay(await api.coinbase_at(2), ALICE, BOB, COIN, fee=20_000)
        assert (await api.post_tx(dear)).status == 200

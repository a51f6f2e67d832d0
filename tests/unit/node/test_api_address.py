"""REST API: address stats, unspent outputs and history with cursor paging — against a real
regtest node, with the mempool taken into account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from consensus.params import MAIN
from tests.framework.factory import Key
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, LiveApi, live_api, pay

pytestmark = pytest.mark.asyncio(loop_scope="module")
DAVE = Key.from_index(4)
ERIN = Key.from_index(5)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveApi]:
    async with live_api(tmp_path_factory.mktemp("address")) as live:
        await live.generate(105)
        yield live


def zero_stats() -> dict[str, int]:
    return {
        "funded_txo_count": 0,
        "funded_txo_sum": 0,
        "spent_txo_count": 0,
        "spent_txo_sum": 0,
        "tx_count": 0,
    }


async def test_stats_utxos_and_history_follow_mempool_and_blocks(api: LiveApi) -> None:
    coin = await api.coinbase_at(1)
    tx = pay(coin, ALICE, BOB, 7 * COIN, fee=2000)
    assert (await api.post_tx(tx)).status == 200

    bob = await api.get_json(f"/v1/address/{BOB.address()}")
    assert bob["address"] == BOB.address()
    assert bob["chain_stats"] == zero_stats()
    assert bob["mempool_stats"] == {
        **zero_stats(),
        "funded_txo_count": 1,
        "funded_txo_sum": 7 * COIN,
        "tx_count": 1,
    }
    alice = await api.get_json(f"/v1/address/{ALICE.address()}")
    assert alice["chain_stats"]["funded_txo_count"] == 105
    assert alice["chain_stats"]["tx_count"] == 105
    assert alice["mempool_stats"] == {
        "funded_txo_count": 1,
        "funded_txo_sum": 43 * COIN - 2000,
        "spent_txo_count": 1,
        "spent_txo_sum": 50 * COIN,
        "tx_count": 1,
    }
    bob_utxos = await api.get_json(f"/v1/address/{BOB.address()}/utxo")
    assert bob_utxos == [
        {
            "txid": tx.txid_hex,
            "vout": 0,
            "value": 7 * COIN,
            "coinbase": False,
            "status": {"confirmed": False},
        }
    ]
    alice_utxos = await api.get_json(f"/v1/address/{ALICE.address()}/utxo")
    spent_txid = coin[0].txid[::-1].hex()
    assert all(u["txid"] != spent_txid for u in alice_utxos)  # spent in the mempool
    assert len(alice_utxos) == 105  # 104 confirmed coinbases + the unconfirmed change
    bob_txs = await api.get_json(f"/v1/address/{BOB.address()}/txs")
    assert [t["txid"] for t in bob_txs["txs"]] == [tx.txid_hex]
    assert bob_txs["next_cursor"] is None

    [block_hash] = await api.generate(1, CAROL)
    bob = await api.get_json(f"/v1/address/{BOB.address()}")
    assert bob["chain_stats"] == {
        **zero_stats(),
        "funded_txo_count": 1,
        "funded_txo_sum": 7 * COIN,
        "tx_count": 1,
    }
    assert bob["mempool_stats"] == zero_stats()
    alice = await api.get_json(f"/v1/address/{ALICE.address()}")
    assert alice["chain_stats"]["spent_txo_count"] == 1
    assert alice["chain_stats"]["spent_txo_sum"] == 50 * COIN
    assert alice["chain_stats"]["tx_count"] == 106
    [utxo] = await api.get_json(f"/v1/address/{BOB.address()}/utxo")
    assert utxo["status"]["confirmed"] is True and utxo["status"]["block_hash"] == block_hash
    carol = await api.get_json(f"/v1/address/{CAROL.address()}")
    assert carol["chain_stats"]["funded_txo_sum"] == 50 * COIN + 2000  # subsidy + fee
    [carol_utxo] = await api.get_json(f"/v1/address/{CAROL.address()}/utxo")
    assert carol_utxo["coinbase"] is True


async def test_unused_address_is_empty(api: LiveApi) -> None:
    nobody = Key.from_index(999).address()
    data = await api.get_json(f"/v1/address/{nobody}")
    assert data == {"address": nobody, "chain_stats": zero_stats(), "mempool_stats": zero_stats()}
    assert await api.get_json(f"/v1/address/{nobody}/utxo") == []
    assert await api.get_json(f"/v1/address/{nobody}/txs") == {"txs": [], "next_cursor": None}


async def test_upper_case_address_is_the_same_address(api: LiveApi) -> None:
    data = await api.get_json(f"/v1/address/{ALICE.address().upper()}")
    assert data["address"] == ALICE.address()


@pytest.mark.parametrize("suffix", ["", "/utxo", "/txs"])
async def test_bad_addresses_are_400_with_the_address_error_code(api: LiveApi, suffix: str) -> None:
    good = ALICE.address()
    cases = {
        "malformed_address": "nonsense",
        "bad_address_checksum": good[:-1] + ("q" if good[-1] != "q" else "p"),
        "wrong_network_address": ALICE.address(MAIN),
    }
    for code, text in cases.items():
        reply = await api.get(f"/v1/address/{text}{suffix}")
        assert reply.status == 400, (text, reply.text)
        assert reply.error_code == code


async def test_bad_cursor_and_limit(api: LiveApi) -> None:
    base = f"/v1/address/{ALICE.address()}/txs"
    for cursor in ("!!", "AAAA", "AAAAAAAAAAAAAAAA", "é"):
        reply = await api.get(base, params={"cursor": cursor})
        assert reply.status == 400 and reply.error_code == "bad_cursor"
    for limit in ("0", "101", "x", "-1"):
        reply = await api.get(base, params={"limit": limit})
        assert reply.status == 400 and reply.error_code == "bad_limit"


async def test_paging_never_repeats_or_skips_while_blocks_arrive(api: LiveApi) -> None:
    await api.generate(23, DAVE)
    snapshot: list[str] = []
    cursor = None
    while True:
        page = await api.get_json(
            f"/v1/address/{DAVE.address()}/txs?limit=100" + (f"&cursor={cursor}" if cursor else "")
        )
        snapshot += [t["txid"] for t in page["txs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(snapshot) == 23 == len(set(snapshot))

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = await api.get_json(f"/v1/address/{DAVE.address()}/txs{query}")
        seen += [t["txid"] for t in page["txs"]]
        assert all(t["status"]["confirmed"] for t in page["txs"])
        heights = [t["status"]["block_height"] for t in page["txs"]]
        assert heights == sorted(heights, reverse=True)
        cursor = page["next_cursor"]
        pages += 1
        if cursor is None:
            break
        await api.generate(2, DAVE)  # newer history arrives between pages
    assert pages == 5
    assert seen == snapshot


async def test_first_page_leads_with_mempool_transactions(api: LiveApi) -> None:
    await api.generate(1, ERIN)
    coinbase = await api.coinbase_at(await api.height())
    assert coinbase[1].lock == ERIN.lock
    # ERIN's coinbase is immature: pay ERIN from ALICE instead, twice
    first = pay(await api.coinbase_at(2), ALICE, ERIN, COIN)
    second = pay(await api.coinbase_at(3), ALICE, ERIN, COIN)
    for tx in (first, second):
        assert (await api.post_tx(tx)).status == 200
    page = await api.get_json(f"/v1/address/{ERIN.address()}/txs?limit=1")
    txids = [t["txid"] for t in page["txs"]]
    assert txids[:2] == [second.txid_hex, first.txid_hex]  # newest first
    assert [t["status"]["confirmed"] for t in page["txs"]] == [False, False, True]
    assert page["next_cursor"] is None
    utxos = await api.get_json(f"/v1/address/{ERIN.address()}/utxo")
    assert sorted(u["value"] for u in utxos if not u["status"]["confirmed"]) == [COIN, COIN]
    await api.generate(1, ERIN)
    page = await api.get_json(f"/v1/address/{ERIN.address()}/txs")
    assert all(t["status"]["confirmed"] for t in page["txs"])
    assert len(page["txs"]) == 4  # two payments and two coinbases


async def test_esplora_chain_and_mempool_paging(api: LiveApi) -> None:
    address = ALICE.address()
    ours: list[str] = []  # the cursor-paged confirmed history
    base = f"/v1/address/{address}/txs?limit=100"
    page = await api.get_json(base)
    while True:
        ours += [t["txid"] for t in page["txs"] if t["status"]["confirmed"]]
        if page["next_cursor"] is None:
            break
        page = await api.get_json(f"{base}&cursor={page['next_cursor']}")
    esplora: list[str] = []
    path = f"/v1/address/{address}/txs/chain"
    while True:
        txs = await api.get_json(path)
        assert len(txs) <= 25 and all(t["status"]["confirmed"] for t in txs)
        if not txs:
            break
        esplora += [t["txid"] for t in txs]
        path = f"/v1/address/{address}/txs/chain/{txs[-1]['txid']}"
    assert esplora == ours and len(set(esplora)) == len(esplora) >= 105

    tx = pay(await api.coinbase_at(30), ALICE, ERIN, COIN, fee=1500)
    assert (await api.post_tx(tx)).status == 200
    pending = await api.get_json(f"/v1/address/{ERIN.address()}/txs/mempool")
    assert [t["txid"] for t in pending] == [tx.txid_hex]
    assert pending[0]["status"] == {"confirmed": False}
    unknown = await api.get(f"/v1/address/{address}/txs/chain/{'00' * 32}")
    assert (unknown.status, unknown.error_code) == (404, "tx_not_found")
    bad = await api.get(f"/v1/address/{address}/txs/chain/xyz")
    assert (bad.status, bad.error_code) == (400, "bad_hash")

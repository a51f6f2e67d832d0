"""mempool.dat and fee_estimates.dat (node.persist): what is saved comes back, in an order the
mempool accepts, each entry with its own time; what no longer fits the chain is counted, not
fatal; a damaged, foreign, stale or oversized file is refused with a typed error and changes
nothing."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from consensus.errors import MissingInputs
from consensus.params import REGTEST
from node import persist
from node.fees import ESPLORA_TARGETS, FeeEstimator
from node.mempool import Mempool
from node.mempool_policy import MempoolPolicy
from p2p.atomicfile import write_atomically
from tests.unit.node.test_mempool_fees import _simulate
from tests.unit.node.test_mempool_support import NOW, FakeChain, fund, make_pool, out, pay

NET = "regtest"
EXPIRY = MempoolPolicy().expiry_seconds


def _filled_pool() -> tuple[Mempool, FakeChain, list[bytes]]:
    """A pool holding a chain of three (parent, child, grandchild) and two independent
    transactions, entered at different times; the txids in the order they went in."""
    pool, chain = make_pool()
    coins = fund(chain, 3)
    parent = pay([coins[0]], 1_000)
    child = pay([out(parent)], 1_000)
    grandchild = pay([out(child)], 1_000)
    lone = [pay([coins[1]], 2_000), pay([coins[2]], 3_000)]
    order = [parent, lone[0], child, grandchild, lone[1]]
    for offset, tx in enumerate(order):
        pool.accept(tx, NOW - 3_600 + offset * 60)
    return pool, chain, [tx.txid for tx in order]


def _restore(
    data: bytes, chain: FakeChain, now: int = NOW
) -> tuple[Mempool, persist.RestoreCounts]:
    pool = Mempool(REGTEST, chain)
    counts = persist.RestoreCounts()
    saved = persist.decode_mempool(data, NET)
    persist.restore_chunk(pool, saved.txs, now, EXPIRY, counts)
    pool.check()
    return pool, counts


def test_saved_mempool_comes_back_with_entry_times(tmp_path: Path) -> None:
    pool, chain, txids = _filled_pool()
    path = tmp_path / persist.MEMPOOL_FILE
    assert persist.save_mempool(path, pool, NET) == 5
    saved = persist.read_mempool(path, NET, pool.policy.max_bytes)
    assert saved is not None and len(saved.txs) == 5 and saved.unbroadcast == []
    position = {tx.txid: i for i, (tx, _) in enumerate(saved.txs)}
    assert position[txids[0]] < position[txids[2]] < position[txids[3]]  # parents first
    restored, counts = _restore(path.read_bytes(), chain)
    assert (counts.restored, counts.expired, counts.failed, counts.already) == (5, 0, 0, 0)
    assert sorted(restored.txids()) == sorted(txids)
    for txid in txids:
        before, after = pool.get(txid), restored.get(txid)
        assert before is not None and after is not None
        assert (after.time, after.fee, after.size) == (before.time, before.fee, before.size)
    assert len(restored.orphans) == 0


def test_unbroadcast_txids_are_kept_for_transactions_still_held() -> None:
    pool, _, txids = _filled_pool()
    gone = b"\x01" * 32  # confirmed or replaced meanwhile: not saved
    data = persist.encode_mempool(pool, NET, [txids[3], gone, txids[0]])
    assert persist.decode_mempool(data, NET).unbroadcast == [txids[3], txids[0]]


def test_children_saved_before_their_parents_still_come_back(tmp_path: Path) -> None:
    """A transaction that came back from a disconnected block enters after its children; the
    file still lists it first (sorted by ancestor count)."""
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    parent = pay([coin], 1_000)
    child = pay([out(parent)], 1_000)
    pool.accept(parent, NOW)
    pool.accept(child, NOW)
    entry = pool.get(parent.txid)
    assert entry is not None
    entry.sequence = 10**6  # as if it had entered last
    restored, counts = _restore(persist.encode_mempool(pool, NET), chain)
    assert counts.restored == 2 and child.txid in restored


def test_expired_and_no_longer_valid_transactions_are_counted_not_kept() -> None:
    pool, chain, txids = _filled_pool()
    data = persist.encode_mempool(pool, NET)
    # A block spent the second lone transaction's coin meanwhile.
    lone = pool.get(txids[4])
    assert lone is not None
    chain.coins.spend_coin(lone.tx.inputs[0])
    # Now the parent (entered first) is past the expiry; the next ones are not.
    restored, counts = _restore(data, chain, now=NOW - 3_600 + EXPIRY + 30)
    assert counts.expired == 1
    assert counts.failed == 3  # child and grandchild (their parent is gone), the spent one
    assert counts.restored == 1 and restored.txids() == [txids[1]]
    assert len(restored.orphans) == 0


def test_restore_never_holds_an_orphan() -> None:
    pool, chain, txids = _filled_pool()
    child = pool.get(txids[2])
    assert child is not None
    fresh = Mempool(REGTEST, chain)
    with pytest.raises(MissingInputs):
        fresh.restore(child.tx, child.time, NOW)
    assert len(fresh) == 0 and len(fresh.orphans) == 0


def test_transactions_already_in_the_mempool_are_counted() -> None:
    pool, chain, txids = _filled_pool()
    data = persist.encode_mempool(pool, NET)
    fresh = Mempool(REGTEST, chain)
    lone = pool.get(txids[1])
    assert lone is not None
    fresh.accept(lone.tx, NOW)
    counts = persist.RestoreCounts()
    persist.restore_chunk(fresh, persist.decode_mempool(data, NET).txs, NOW, EXPIRY, counts)
    assert (counts.restored, counts.already) == (4, 1)


def _damaged(data: bytes) -> list[bytes]:
    top = msgpack.unpackb(data)
    bad_tx = dict(top, txs=[[b"\x00" * 10, 1]])
    return [
        data[: len(data) // 2],
        b"",
        b"not msgpack at all",
        msgpack.packb([1, 2, 3]),
        msgpack.packb(dict(top, version=2)),
        msgpack.packb(dict(top, extra=1)),
        msgpack.packb(bad_tx),
        msgpack.packb(dict(top, txs=[[top["txs"][0][0], -5]])),
        msgpack.packb(dict(top, txs=[[top["txs"][0][0]]])),
        msgpack.packb(dict(top, txs="none")),
        msgpack.packb(dict(top, unbroadcast=[b"short"])),
        msgpack.packb(dict(top, unbroadcast="none")),
        msgpack.packb({k: v for k, v in top.items() if k != "unbroadcast"}),
    ]


def test_damaged_mempool_files_are_refused() -> None:
    pool, _, _ = _filled_pool()
    data = persist.encode_mempool(pool, NET)
    for bad in _damaged(data):
        with pytest.raises(persist.PersistFileError):
            persist.decode_mempool(bad, NET)
    with pytest.raises(persist.PersistFileError, match="'mainnet'"):
        persist.decode_mempool(data, "mainnet")


def test_a_flipped_byte_is_refused_or_caught_when_restored() -> None:
    """No checksum (Core's mempool.dat has none either): an alteration that still decodes is a
    different transaction, which the mempool's checks refuse (a signature no longer matches)."""
    pool, chain, txids = _filled_pool()
    data = persist.encode_mempool(pool, NET)
    refused = caught = 0
    for at in range(0, len(data), 3):
        flipped = bytearray(data)
        flipped[at] ^= 0x5A
        try:
            saved = persist.decode_mempool(bytes(flipped), NET)
        except persist.PersistFileError:
            refused += 1
            continue
        fresh = Mempool(REGTEST, chain)
        counts = persist.RestoreCounts()
        persist.restore_chunk(fresh, saved.txs, NOW, EXPIRY, counts)
        fresh.check()
        assert set(fresh.txids()) <= set(txids)
        caught += counts.failed + counts.expired
    assert refused > 0 and caught > 0


def test_missing_and_oversized_mempool_files(tmp_path: Path) -> None:
    path = tmp_path / persist.MEMPOOL_FILE
    assert persist.read_mempool(path, NET, 1000) is None
    path.write_bytes(b"\x00" * (1000 + persist.FILE_SLACK_BYTES + 1))
    with pytest.raises(persist.PersistFileError, match="larger than"):
        persist.read_mempool(path, NET, 1000)


def test_a_failed_write_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool, _, _ = _filled_pool()
    path = tmp_path / persist.MEMPOOL_FILE
    persist.save_mempool(path, pool, NET)
    before = path.read_bytes()

    def crash(*_: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr("p2p.atomicfile.os.replace", crash)
    with pytest.raises(OSError):
        write_atomically(path, b"half")
    assert path.read_bytes() == before


# --- fee estimates ------------------------------------------------------------------------------
def test_fee_estimates_survive_a_restart(tmp_path: Path) -> None:
    estimator = FeeEstimator()
    _simulate(estimator, 300)
    path = tmp_path / persist.FEE_ESTIMATES_FILE
    persist.save_fee_estimates(path, estimator, NET, NOW)
    assert estimator.tracked == {}  # flushed: counted as not confirmed in time
    data = persist.read_fee_estimates(path)
    assert data is not None
    loaded = FeeEstimator()
    persist.load_fee_estimates(data, loaded, NET, NOW + 3_600)
    assert loaded.best_height == estimator.best_height
    want = estimator.estimates(ESPLORA_TARGETS)
    got = loaded.estimates(ESPLORA_TARGETS)
    assert want[1] == pytest.approx(50, rel=0.01) and want[144] == pytest.approx(2, rel=0.01)
    for target in ESPLORA_TARGETS:
        assert got[target] == pytest.approx(want[target], rel=1e-9)
    # It keeps learning from the height it reached.
    _simulate(loaded, 5)
    assert loaded.best_height is not None and loaded.best_height >= 1000


def test_stale_foreign_or_damaged_fee_files_are_refused() -> None:
    estimator = FeeEstimator()
    _simulate(estimator, 50)
    data = persist.encode_fee_estimates(estimator, NET, NOW)
    top = msgpack.unpackb(data)
    fresh = FeeEstimator()
    cases = {
        "60 hours": (data, NOW + persist.MAX_FEE_FILE_AGE + 1),
        "future": (data, NOW - 3 * 3_600),
        "buckets": (persist.encode_fee_estimates(FeeEstimator(bucket_spacing=1.1), NET, NOW), NOW),
        "decay": (msgpack.packb(dict(top, decay=0.99)), NOW),
        "network": (data, NOW),
        "finite": (msgpack.packb(dict(top, tx_count=[float("nan")] * len(top["tx_count"]))), NOW),
        "rows": (msgpack.packb(dict(top, confirmed=top["confirmed"][:-1])), NOW),
        "height": (msgpack.packb(dict(top, best_height=-1)), NOW),
        "msgpack": (data[:100], NOW),
    }
    for name, (bad, now) in cases.items():
        network = "mainnet" if name == "network" else NET
        with pytest.raises(persist.PersistFileError):
            persist.load_fee_estimates(bad, fresh, network, now)
        assert fresh.best_height is None and fresh.version == 0, name

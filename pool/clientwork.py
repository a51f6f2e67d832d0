"""What a Stratum miner builds from ``mining.notify``: the header, exactly as cpuminer does.

May import consensus, mining and the standard library. cpuminer's ``stratum_gen_work``:

* coinbase = ``coinb1 || extranonce1 || extranonce2 || coinb2``; merkle root = sha256d of it,
  then ``root = sha256d(root || branch[i])`` for each branch hash (hex decoded as is);
* header words: ``version``, the eight words of ``prevhash``, ``ntime`` and ``nbits`` are read
  with ``le32dec`` from the notify's hex bytes and the whole header is hashed big-endian, so in
  the 80-byte header the version, ntime and nbits bytes are the notify's bytes reversed, each
  prevhash word is byte-reversed, and the merkle root is copied as it was hashed;
* extranonce2 is a little-endian counter (cpuminer's ``++xnonce2[i]`` loop);
* ``mining.submit`` sends ``ntime`` as received and the nonce as 8 big-endian hex digits of the
  header's little-endian u32.

The search space of a job is a :class:`mining.Work` whose rolls are successive extranonce2
values, so every worker thread of the :class:`mining.Miner` hashes distinct headers.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from mining.work import Work
from pool.wire import swap_words

_HEX = frozenset("0123456789abcdefABCDEF")


class BadNotify(ValueError):
    """A ``mining.notify`` cpuminer would refuse ("Stratum notify: invalid parameters")."""


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _hex(value: Any, digits: int | None = None) -> bytes:
    if not isinstance(value, str) or (digits is not None and len(value) != digits):
        raise BadNotify(f"expected {digits or 'some'} hex digits, got {value!r}")
    if len(value) % 2 or not _HEX.issuperset(value):
        raise BadNotify(f"not hex: {value!r}")
    return bytes.fromhex(value)


@dataclass(frozen=True)
class ClientJob:
    job_id: str
    prevhash: bytes  # as sent: word-swapped
    coinb1: bytes
    coinb2: bytes
    branch: tuple[bytes, ...]
    version: bytes  # as sent: big-endian
    nbits: bytes
    ntime: bytes
    clean: bool

    @classmethod
    def from_notify(cls, params: Any) -> ClientJob:
        if not isinstance(params, list) or len(params) < 9:
            raise BadNotify("mining.notify takes 9 parameters")
        job_id = params[0]
        if not isinstance(job_id, str) or not job_id:
            raise BadNotify("bad job id")
        branch = params[4]
        if not isinstance(branch, list):
            raise BadNotify("merkle branch must be a list")
        return cls(
            job_id=job_id,
            prevhash=_hex(params[1], 64),
            coinb1=_hex(params[2]),
            coinb2=_hex(params[3]),
            branch=tuple(_hex(h, 64) for h in branch),
            version=_hex(params[5], 8),
            nbits=_hex(params[6], 8),
            ntime=_hex(params[7], 8),
            clean=params[8] is True,
        )

    def header76(self, extranonce1: bytes, extranonce2: bytes) -> bytes:
        root = _sha256d(self.coinb1 + extranonce1 + extranonce2 + self.coinb2)
        for sibling in self.branch:
            root = _sha256d(root + sibling)
        return (
            self.version[::-1]
            + swap_words(self.prevhash)
            + root
            + self.ntime[::-1]
            + self.nbits[::-1]
        )


def extranonce2_bytes(counter: int, size: int) -> bytes:
    return (counter % (1 << (8 * size))).to_bytes(size, "little")


class JobWork:
    """A job's search space from extranonce2 ``start`` on: roll ``k`` uses ``start + k``.
    ``rolls_used`` says how far the workers got, so the next search never repeats one."""

    def __init__(self, job: ClientJob, extranonce1: bytes, extranonce2_size: int, start: int):
        self.job = job
        self.extranonce1 = extranonce1
        self.size = extranonce2_size
        self.start = start
        self._lock = threading.Lock()
        self.rolls_used = 0
        max_roll = max(0, min(1 << 20, (1 << (8 * extranonce2_size)) - 1 - start))
        self.work = Work(self._header(0), self._roll, max_roll)

    def extranonce2(self, roll: int) -> bytes:
        return extranonce2_bytes(self.start + roll, self.size)

    def _header(self, roll: int) -> bytes:
        return self.job.header76(self.extranonce1, self.extranonce2(roll))

    def _roll(self, roll: int) -> bytes:  # called from worker threads
        with self._lock:
            self.rolls_used = max(self.rolls_used, roll)
        return self._header(roll)

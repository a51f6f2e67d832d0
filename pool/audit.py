"""Auditing a pool's found blocks from its public share log: pure functions, no I/O.

Standard library, ``consensus`` and ``pool.rewards`` only. What ``seedchain pool-audit``
checks for each block, from ``GET /v1/pool/blocks`` (the block's scheme, share window,
reward and credits), ``GET /v1/pool/shares`` (the shares of that window) and, when the node
has the block, its coinbase:

1. **the window** — PPLNS: the shares of ``(window_start, window_end]`` hold at least the
   window ``N x block work`` and would not without the oldest (so it is the newest shares'
   window, no more, no less); SOLO: no shares (``window_start == window_end``);
2. **the split** — the scheme's weights over those shares (docs/pool.md), the announced fee
   and the largest-remainder split give every miner's ``amount`` exactly, and the operator the
   rest;
3. **the ledger** — every credit is ``amount = paid + carry_delta``, and the paid outputs plus
   the operator's sum to the reward;
4. **the coinbase** — it pays each credit its ``paid`` and the operator ``operator_paid``,
   nothing else, to the unit.

Each problem is a line of text in :attr:`BlockAudit.problems`; a block with none passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from consensus.pow import compact_to_target
from pool.rewards import ShareWork, pplns_weights, prop_weights, split_reward

Json = dict[str, Any]


@dataclass
class BlockAudit:
    height: int
    hash: str
    scheme: str
    status: str
    shares: int = 0
    coinbase_checked: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> Json:
        return {
            "height": self.height,
            "hash": self.hash,
            "scheme": self.scheme,
            "status": self.status,
            "shares": self.shares,
            "coinbase_checked": self.coinbase_checked,
            "ok": self.ok,
            "problems": self.problems,
        }


def block_work(bits: int) -> int:
    return (1 << 256) // (compact_to_target(bits) + 1)


def audit_block(
    block: Json,
    shares: Sequence[Json],
    *,
    fee_ppm: int,
    pplns_n: int,
    bits: int | None,
    coinbase: Sequence[tuple[str, int]] | None,
    pruned_upto: int = 0,
) -> BlockAudit:
    """Check one block row of ``GET /v1/pool/blocks`` (see the module docstring). ``shares``:
    the log's shares with ``window_start < id <= window_end``, in id order; ``bits``: the
    block's (needed for PPLNS); ``coinbase``: its outputs as ``(address, value)``, or None when
    the node does not have the block; ``pruned_upto``: the pool's (every share with an id up to
    it is pruned)."""
    audit = BlockAudit(block["height"], block["hash"], block["scheme"], block["status"])
    audit.shares = len(shares)
    start, end = block["window_start"], block["window_end"]
    if start < min(end, pruned_upto):
        audit.problems.append(
            f"its window ({start}, {end}] is pruned: the pool keeps no share up to {pruned_upto}"
            " (--prune-shares); audit fewer blocks"
        )
        return audit
    ids = [share["id"] for share in shares]
    if ids != sorted(set(ids)) or any(not start < i <= end for i in ids):
        audit.problems.append(f"the shares given are not the log's ({start}, {end}] in order")
        return audit
    works = [ShareWork(s["id"], s["address"], int(s["work"])) for s in shares]
    weights = _weights(audit, block, works, pplns_n, bits)
    if weights is None:
        return audit
    _check_split(audit, block, weights, fee_ppm)
    _check_ledger(audit, block)
    if coinbase is not None:
        audit.coinbase_checked = True
        _check_coinbase(audit, block, coinbase)
    return audit


def _weights(
    audit: BlockAudit, block: Json, works: list[ShareWork], pplns_n: int, bits: int | None
) -> dict[str, int] | None:
    scheme = block["scheme"]
    if scheme == "prop":
        return prop_weights(works)
    if scheme == "solo":
        if works:
            audit.problems.append(f"a SOLO block counted {len(works)} shares")
        return {block["address"]: 1}
    if scheme != "pplns":
        audit.problems.append(f"unknown scheme {scheme!r}")
        return None
    if bits is None:
        audit.problems.append("the node does not have the block: its PPLNS window is unknown")
        return None
    window = pplns_n * block_work(bits)
    total = sum(share.work for share in works)
    if works and total - works[0].work >= window:
        audit.problems.append(
            f"the window holds more than the newest {pplns_n} x block work of shares"
        )
    elif total < window and block["window_start"] > 0:
        audit.problems.append(f"the window holds less than {pplns_n} x block work of shares")
    return pplns_weights(reversed(works), window)


def _check_split(audit: BlockAudit, block: Json, weights: Mapping[str, int], fee_ppm: int) -> None:
    reward, operator = block["reward"], block["operator"]
    miners, operator_amount = split_reward(reward, fee_ppm, weights)
    operator_amount += miners.pop(operator, 0)
    credits = {c["address"]: c for c in block["credits"]}
    for address in sorted(set(miners) | set(credits)):
        expected = miners.get(address, 0)
        credit = credits.get(address)
        got = 0 if credit is None else credit["amount"]
        if got != expected:
            audit.problems.append(f"{address} was credited {got}, the formula gives {expected}")
    if block["operator_amount"] != operator_amount:
        audit.problems.append(
            f"the operator was credited {block['operator_amount']}, the formula gives"
            f" {operator_amount}"
        )


def _check_ledger(audit: BlockAudit, block: Json) -> None:
    paid = 0
    for credit in block["credits"]:
        if credit["amount"] != credit["paid"] + credit["carry_delta"]:
            audit.problems.append(
                f"{credit['address']}: amount {credit['amount']} != paid {credit['paid']}"
                f" + carried {credit['carry_delta']}"
            )
        paid += credit["paid"]
    if paid + block["operator_paid"] != block["reward"]:
        audit.problems.append(
            f"outputs {paid} + operator {block['operator_paid']} != reward {block['reward']}"
        )


def _check_coinbase(audit: BlockAudit, block: Json, coinbase: Sequence[tuple[str, int]]) -> None:
    expected: dict[str, int] = {}
    for credit in block["credits"]:
        if credit["paid"]:
            expected[credit["address"]] = expected.get(credit["address"], 0) + credit["paid"]
    if block["operator_paid"]:
        operator = block["operator"]
        expected[operator] = expected.get(operator, 0) + block["operator_paid"]
    actual: dict[str, int] = {}
    for address, value in coinbase:
        actual[address] = actual.get(address, 0) + value
    for address in sorted(set(expected) | set(actual)):
        if expected.get(address, 0) != actual.get(address, 0):
            audit.problems.append(
                f"the coinbase pays {address} {actual.get(address, 0)}, the ledger says"
                f" {expected.get(address, 0)}"
            )


def carried_balances(blocks: Sequence[Json], live: frozenset[str]) -> dict[str, int]:
    """Each address's carried balance: the sum of its ``carry_delta`` over live blocks (the
    only place the pool keeps balances, docs/pool.md)."""
    balances: dict[str, int] = {}
    for block in blocks:
        if block["status"] in live:
            for credit in block["credits"]:
                address = credit["address"]
                balances[address] = balances.get(address, 0) + credit["carry_delta"]
    return {a: v for a, v in balances.items() if v}

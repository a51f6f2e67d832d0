"""Typed mempool policy errors: why a valid-looking transaction was not taken into the mempool.

Standard library only. A transaction that breaks a consensus rule gets the consensus error
(``consensus.errors.InvalidTransaction`` and its subclasses: the peer sent something invalid).
A transaction that is valid but that this node does not want to relay or mine (too cheap,
non-standard, conflicting, over a limit) gets a ``MempoolError``: the sender did nothing wrong
and must not be punished for it. Every class has a stable snake_case ``code`` that the API and
the P2P ``reject`` reasons show.
"""

from __future__ import annotations


class MempoolError(Exception):
    """Base of every mempool policy refusal (never a consensus violation)."""

    code = "mempool_error"


# --- already known --------------------------------------------------------------------------
class AlreadyInMempool(MempoolError):
    """A transaction with the same txid is already in the mempool."""

    code = "already_in_mempool"


class AlreadyConfirmed(MempoolError):
    """The transaction's own outputs are in the UTXO set: it is already in the chain."""

    code = "already_confirmed"


# --- standardness ---------------------------------------------------------------------------
class NonStandard(MempoolError):
    """Valid by consensus but outside what this node relays."""

    code = "non_standard"


class NonStandardVersion(NonStandard):
    code = "non_standard_version"


class TxSizeNonStandard(NonStandard):
    code = "tx_size_non_standard"


class DustOutput(NonStandard):
    """An output worth less than it would cost to spend at the dust relay fee-rate."""

    code = "dust"


# --- fees -----------------------------------------------------------------------------------
class MinFeeNotMet(MempoolError):
    """The fee-rate is below the minimum relay fee-rate."""

    code = "min_fee_not_met"


class MempoolMinFeeNotMet(MinFeeNotMet):
    """The fee-rate is below the mempool's rolling minimum (raised after evictions)."""

    code = "mempool_min_fee_not_met"


class MaxFeeExceeded(MempoolError):
    """The fee rate is above what the sender allowed (``POST /v1/tx?maxfeerate=``, Core's
    ``sendrawtransaction`` guard against an absurd fee); not a relay rule."""

    code = "max_fee_exceeded"


# --- conflicts and replacement (Bitcoin Core's doc/policy/mempool-replacements.md) --------
class MempoolConflict(MempoolError):
    """The transaction spends an outpoint that a mempool transaction already spends."""

    code = "mempool_conflict"


class ReplacementRejected(MempoolConflict):
    """A conflicting transaction that does not satisfy the full-RBF replacement rules."""

    code = "rbf_rejected"


class RbfSpendsConflictingTx(ReplacementRejected):
    """The replacement spends an output of a transaction it would replace."""

    code = "rbf_spends_conflicting_tx"


class RbfAddsUnconfirmed(ReplacementRejected):
    """Rule 2: the replacement adds an unconfirmed input none of the originals had."""

    code = "rbf_adds_unconfirmed"


class RbfInsufficientFee(ReplacementRejected):
    """Rule 3: the replacement pays less absolute fee than everything it replaces."""

    code = "rbf_insufficient_fee"


class RbfInsufficientRelayFee(ReplacementRejected):
    """Rule 4: the extra fee does not pay the incremental relay fee for the replacement."""

    code = "rbf_insufficient_relay_fee"


class RbfTooManyReplacements(ReplacementRejected):
    """Rule 5: the replacement would evict more than the limit (100) of transactions."""

    code = "rbf_too_many_replacements"


class RbfFeeRateTooLow(ReplacementRejected):
    """Rule 6: the replacement's fee-rate is not above every directly conflicting one."""

    code = "rbf_fee_rate_too_low"


# --- package limits -------------------------------------------------------------------------
class ChainLimitExceeded(MempoolError):
    """An unconfirmed chain would exceed the ancestor or descendant limits."""

    code = "chain_limit_exceeded"


class TooManyAncestors(ChainLimitExceeded):
    code = "too_many_ancestors"


class AncestorSizeExceeded(ChainLimitExceeded):
    code = "ancestor_size_exceeded"


class TooManyDescendants(ChainLimitExceeded):
    code = "too_many_descendants"


class DescendantSizeExceeded(ChainLimitExceeded):
    code = "descendant_size_exceeded"


# --- size -----------------------------------------------------------------------------------
class MempoolFull(MempoolError):
    """The mempool is at its size cap and the transaction would be the first to go."""

    code = "mempool_full"


# --- orphans --------------------------------------------------------------------------------
class OrphanTooLarge(MempoolError):
    """A transaction with unknown inputs is too large to hold in the orphan pool."""

    code = "orphan_too_large"


class TooManyPrioritised(MempoolError):
    """``prioritisetransaction`` for a new txid while ``MAX_DELTAS`` are already kept."""

    code = "too_many_prioritised"


class PackageError(MempoolError):
    """A package that is not a child with its parents, or over the package limits
    (``node.mempool_package``)."""

    code = "package_invalid"


class PackageFeeTooLow(MempoolError):
    """The package's transactions together pay less than one transaction alone must."""

    code = "package_fee_too_low"

"""Typed consensus errors: one class per rule.

Imports nothing. Every rule violation raised by ``consensus`` is a subclass of
``ConsensusError``; callers tell a rule violation (punish the peer, answer 400) from an
operational fault by type. ``DecodeError`` is a malformed encoding; ``InvalidTransaction`` and
``InvalidBlock`` are well-formed objects that break a rule.
"""

from __future__ import annotations


class ConsensusError(Exception):
    """Base of every consensus rule violation."""

    code = "consensus_error"
    # True: the object itself breaks the rule, so a block hash that fails it may be marked
    # invalid for good. False: the failure may lie in how the object reached us (a body that
    # does not match its header, a clock that is behind) and must not mark the header invalid.
    permanent = True


# --- encoding -------------------------------------------------------------------------------
class DecodeError(ConsensusError):
    """Bytes that are not the canonical encoding of the expected object."""

    code = "decode_error"


class NonCanonicalEncoding(DecodeError):
    code = "non_canonical_encoding"


# --- addresses ------------------------------------------------------------------------------
class AddressError(ConsensusError):
    code = "invalid_address"


class MalformedAddress(AddressError):
    code = "malformed_address"


class BadAddressChecksum(AddressError):
    code = "bad_address_checksum"


class WrongNetworkAddress(AddressError):
    code = "wrong_network_address"


# --- transactions ---------------------------------------------------------------------------
class InvalidTransaction(ConsensusError):
    code = "invalid_transaction"


class TxTooLarge(InvalidTransaction):
    code = "tx_too_large"


class TxNoInputs(InvalidTransaction):
    code = "tx_no_inputs"


class TxNoOutputs(InvalidTransaction):
    code = "tx_no_outputs"


class TxDuplicateInputs(InvalidTransaction):
    code = "tx_duplicate_inputs"


class TxWitnessCountMismatch(InvalidTransaction):
    code = "tx_witness_count_mismatch"


class AmountOutOfRange(InvalidTransaction):
    code = "amount_out_of_range"


class UnknownLockVersion(InvalidTransaction):
    code = "unknown_lock_version"


class BadLock(InvalidTransaction):
    code = "bad_lock"


class ExtraTooLong(InvalidTransaction):
    code = "extra_too_long"


class UnexpectedCoinbase(InvalidTransaction):
    code = "unexpected_coinbase"


class MissingInputs(InvalidTransaction):
    """An input spends an output that does not exist (or is already spent)."""

    code = "missing_inputs"


class ImmatureCoinbaseSpend(InvalidTransaction):
    code = "immature_coinbase_spend"


class InputsBelowOutputs(InvalidTransaction):
    code = "inputs_below_outputs"


class KeyHashMismatch(InvalidTransaction):
    code = "key_hash_mismatch"


class BadSignature(InvalidTransaction):
    code = "bad_signature"


class NonFinalTransaction(InvalidTransaction):
    code = "non_final_transaction"


# --- blocks ---------------------------------------------------------------------------------
class InvalidBlock(ConsensusError):
    code = "invalid_block"


class InvalidHeader(InvalidBlock):
    code = "invalid_header"


class BadCompactBits(InvalidHeader):
    """``bits`` is a negative or overflowing compact encoding, zero, or above pow_limit."""

    code = "bad_compact_bits"


class HighHash(InvalidHeader):
    """The header's hash does not meet the target its ``bits`` claim."""

    code = "high_hash"


class BadDifficultyBits(InvalidHeader):
    code = "bad_difficulty_bits"


class TimestampTooOld(InvalidHeader):
    code = "timestamp_too_old"


class TimestampTooNew(InvalidHeader):
    code = "timestamp_too_new"
    permanent = False


class BadBlockVersion(InvalidHeader):
    code = "bad_block_version"


class BadPrevBlock(InvalidHeader):
    """The block builds on a block that is known to be invalid."""

    code = "bad_prev_block"


class KnownInvalidBlock(InvalidBlock):
    """The block was already found invalid; it is never validated again."""

    code = "known_invalid_block"


class BlockTooLarge(InvalidBlock):
    code = "block_too_large"


class NoTransactions(InvalidBlock):
    code = "no_transactions"


class FirstNotCoinbase(InvalidBlock):
    code = "first_not_coinbase"


class MultipleCoinbases(InvalidBlock):
    code = "multiple_coinbases"


class BadMerkleRoot(InvalidBlock):
    """The transactions do not hash to the header's merkle root: the body is not the one the
    header commits to, so only the body (and its sender) is at fault."""

    code = "bad_merkle_root"
    permanent = False


class BlockMutated(InvalidBlock):
    """The transaction list is a CVE-2012-2459 mutation (duplicated transactions).

    The header may belong to a valid block: a node must not mark the header invalid for this.
    """

    code = "block_mutated"
    permanent = False


class BadCoinbaseHeight(InvalidBlock):
    code = "bad_coinbase_height"


class BadCoinbaseExtra(InvalidBlock):
    code = "bad_coinbase_extra"


class CoinbaseTooLarge(InvalidBlock):
    """The coinbase pays more than subsidy plus fees."""

    code = "coinbase_too_large"


class DoubleSpendInBlock(InvalidBlock):
    code = "double_spend_in_block"


class DuplicateTransaction(InvalidBlock):
    """The same transaction appears twice in a block's list."""

    code = "duplicate_transaction"

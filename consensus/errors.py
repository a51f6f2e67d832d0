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


class BadBlockVersion(InvalidHeader):
    code = "bad_block_version"


class BlockTooLarge(InvalidBlock):
    code = "block_too_large"


class NoTransactions(InvalidBlock):
    code = "no_transactions"


class FirstNotCoinbase(InvalidBlock):
    code = "first_not_coinbase"


class MultipleCoinbases(InvalidBlock):
    code = "multiple_coinbases"


class BadMerkleRoot(InvalidBlock):
    code = "bad_merkle_root"


class BlockMutated(InvalidBlock):
    """The transaction list is a CVE-2012-2459 mutation (duplicated transactions).

    The header may belong to a valid block: a node must not mark the header invalid for this.
    """

    code = "block_mutated"


class BadCoinbaseHeight(InvalidBlock):
    code = "bad_coinbase_height"


class BadCoinbaseExtra(InvalidBlock):
    code = "bad_coinbase_extra"


class CoinbaseTooLarge(InvalidBlock):
    """The coinbase pays more than subsidy plus fees."""

    code = "coinbase_too_large"


class DoubleSpendInBlock(InvalidBlock):
    code = "double_spend_in_block"


class BlockTransactionInvalid(InvalidBlock):
    """A transaction in the block breaks a transaction rule; ``__cause__`` says which."""

    code = "block_transaction_invalid"


class DuplicateTransaction(InvalidBlock):
    """A transaction whose txid matches an unspent output's creator (BIP 30)."""

    code = "duplicate_transaction"

"""Offline signing: a transaction made where the coins are watched, signed where the keys are,
broadcast from anywhere (Electrum's cold storage; Bitcoin Core's PSBT, as a JSON file of ours).

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``).

``seedchain wallet send ... --unsigned FILE`` writes a *transaction file*; ``seedchain wallet
sign FILE OUT`` (on the wallet with the keys, no node needed) checks and signs it; ``seedchain
wallet broadcast OUT`` sends it and records it as a pending send of the wallet it spends from.

    {"format": "seedchain-tx", "version": 1, "network": "main", "signed": false,
     "tx": "<hex; unsigned: each witness is the input's public key and 64 zero bytes>",
     "inputs": [{"outpoint": "<txid>:<vout>", "value": 5000, "address": "sc1...",
                 "path": "m/44'/8888'/0'/0'/3'"}, ...],
     "change": {"vout": 1, "path": "m/44'/8888'/0'/1'/0'"} or null, "sweep": false,
     "replaces": "<txid of the pending send it replaces (bump, cancel)>" or null}

``inputs`` follow the transaction's inputs, with what each spends and the key that spends it.
The signer derives each key from its path and refuses an input whose address is not that key's,
a ``change`` output that is not its own key's, a fee below zero or a fee rate above
``MAX_FEE_RATE`` (Core's ``-maxtxfee`` idea). A file that lies about the values spent cannot
steal: the signature hash commits to every spent output (protocol.md), so the signature would
not verify and the node refuses the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from consensus.addresses import address_to_lock, lock_to_address
from consensus.errors import AddressError, ConsensusError
from consensus.hashing import hash_to_hex, hex_to_hash
from consensus.params import ChainParams
from consensus.signing import sign_transaction
from consensus.transaction import Transaction, TxOut
from wallet.coinselect import SpendableCoin
from wallet.errors import InvalidInput, WalletError
from wallet.fileio import load_document
from wallet.keys import (
    COIN_TYPE,
    HARDENED,
    PURPOSE,
    KeyId,
    KeySource,
    format_path,
    parse_path,
    wallet_path,
)
from wallet.parsing import MAX_FEE_RATE
from wallet.txbuild import BuiltTransaction, is_signed, with_placeholders

TX_FORMAT = "seedchain-tx"
TX_VERSION = 1
MAX_TX_FILE = 4 * 1024 * 1024


@dataclass(frozen=True)
class FileInput:
    value: int
    lock: bytes
    key_id: KeyId


@dataclass(frozen=True)
class TxFile:
    """A transaction file, read and checked for form (not yet against any wallet)."""

    network: str
    account: int
    tx: Transaction
    inputs: tuple[FileInput, ...]
    change: tuple[int, KeyId] | None  # (vout, key)
    sweep: bool
    replaces: bytes | None = None  # a fee bump's: the txid of the send it replaces

    @property
    def signed(self) -> bool:
        return is_signed(self.tx)

    @property
    def fee(self) -> int:
        return sum(item.value for item in self.inputs) - self.tx.total_out()

    @property
    def spent_outputs(self) -> list[TxOut]:
        return [TxOut(item.value, item.lock) for item in self.inputs]


def encode_tx_file(
    tx: Transaction,
    inputs: tuple[FileInput, ...],
    change: tuple[int, KeyId] | None,
    params: ChainParams,
    account: int,
    *,
    sweep: bool,
    replaces: bytes | None = None,
) -> bytes:
    def path(key_id: KeyId) -> str:
        return format_path(wallet_path(account, key_id.change, key_id.index))

    document = {
        "format": TX_FORMAT,
        "version": TX_VERSION,
        "network": params.name,
        "signed": is_signed(tx),
        "txid": tx.txid_hex,
        "tx": tx.encoded.hex(),
        "inputs": [
            {
                "outpoint": str(outpoint),
                "value": item.value,
                "address": lock_to_address(item.lock, params.hrp),
                "path": path(item.key_id),
            }
            for outpoint, item in zip(tx.inputs, inputs, strict=True)
        ],
        "change": None if change is None else {"vout": change[0], "path": path(change[1])},
        "sweep": sweep,
        "replaces": None if replaces is None else hash_to_hex(replaces),
    }
    return (json.dumps(document, indent=1) + "\n").encode()


def unsigned_file(
    built: BuiltTransaction,
    keys: KeySource,
    params: ChainParams,
    *,
    sweep: bool,
    replaces: bytes | None = None,
) -> bytes:
    """The transaction file of ``built`` with its signatures' places held (even if signed)."""
    public_keys = [keys.by_id(coin.key_id).public_key for coin in built.coins]
    tx = with_placeholders(built.tx.with_witnesses(()), public_keys)
    inputs = tuple(FileInput(c.value, c.lock, c.key_id) for c in built.coins)
    change = None
    if built.change_vout is not None and built.change_key is not None:
        change = (built.change_vout, built.change_key)
    return encode_tx_file(
        tx, inputs, change, params, keys.account, sweep=sweep, replaces=replaces
    )


def parse_tx_file(raw: bytes, source: str, params: ChainParams) -> TxFile:
    """A transaction file's contents (:class:`InvalidInput` naming ``source`` if malformed)."""

    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"{source} is not a Seedchain transaction file: {why}")

    if len(raw) > MAX_TX_FILE:
        raise bad(f"larger than {MAX_TX_FILE} bytes")
    document = load_document(raw, TX_FORMAT, TX_VERSION, bad)
    if document.get("network") != params.name:
        raise InvalidInput(f"{source} is for {document.get('network')!r}, not {params.name}")
    try:
        tx = Transaction.decode(bytes.fromhex(str(document.get("tx"))))
    except (ValueError, ConsensusError) as exc:
        raise bad(f"'tx' is not a transaction ({exc})") from None
    items = document.get("inputs")
    if not isinstance(items, list) or len(items) != len(tx.inputs):
        raise bad("'inputs' does not list the transaction's inputs")
    if len(tx.witnesses) != len(tx.inputs) or not tx.inputs:
        raise bad("the transaction needs one witness per input")
    inputs = tuple(
        _input(item, str(outpoint), params, bad)
        for item, outpoint in zip(items, tx.inputs, strict=True)
    )
    accounts = {account for account, _ in inputs}
    change = document.get("change")
    change_of: tuple[int, KeyId] | None = None
    if change is not None:
        if not isinstance(change, dict) or type(change.get("vout")) is not int:
            raise bad("'change' is not {'vout': N, 'path': ...}")
        if not 0 <= change["vout"] < len(tx.outputs):
            raise bad(f"change output {change['vout']} does not exist")
        account, key_id = _key_id(change.get("path"), bad)
        accounts.add(account)
        change_of = (change["vout"], key_id)
    if len(accounts) != 1:
        raise bad("its paths are of more than one account")
    sweep = document.get("sweep", False)
    if not isinstance(sweep, bool):
        raise bad("'sweep' is not true or false")
    replaces = document.get("replaces")
    try:
        replaced = None if replaces is None else hex_to_hash(str(replaces))
    except ValueError:
        raise bad("'replaces' is not a txid") from None
    inputs_of = tuple(item for _, item in inputs)
    return TxFile(params.name, accounts.pop(), tx, inputs_of, change_of, sweep, replaced)


def _input(item: Any, outpoint: str, params: ChainParams, bad: Any) -> tuple[int, FileInput]:
    if not isinstance(item, dict) or item.get("outpoint") != outpoint:
        raise bad(f"the inputs are not the transaction's (expected {outpoint})")
    value = item.get("value")
    if type(value) is not int or value <= 0:
        raise bad(f"input {outpoint} has no positive integer 'value'")
    try:
        lock = address_to_lock(str(item.get("address")), params.hrp)
    except AddressError as exc:
        raise bad(f"input {outpoint}: {exc}") from None
    account, key_id = _key_id(item.get("path"), bad)
    return account, FileInput(value, lock, key_id)


def _key_id(text: Any, bad: Any) -> tuple[int, KeyId]:
    try:
        path = parse_path(str(text))
    except WalletError as exc:
        raise bad(str(exc)) from None
    if len(path) != 5 or path[:2] != (PURPOSE | HARDENED, COIN_TYPE | HARDENED):
        raise bad(f"path {str(text)[:80]!r} is not m/44'/8888'/account'/change'/index'")
    return path[2] - HARDENED, KeyId(path[3] - HARDENED, path[4] - HARDENED)


@dataclass(frozen=True)
class Checked:
    """A transaction file checked against a wallet: every input and the change are its own."""

    file: TxFile
    coins: tuple[SpendableCoin, ...]

    @property
    def fee_rate(self) -> float:
        return self.file.fee / self.file.tx.size

    def built(self) -> BuiltTransaction:
        change = self.file.change
        return BuiltTransaction(
            self.file.tx,
            self.file.fee,
            self.coins,
            None if change is None else change[0],
            None if change is None else change[1],
            self.file.signed,
        )


def check_against(txfile: TxFile, keys: KeySource) -> Checked:
    """Check that ``keys`` spend every input and own the change output; the fee is not below
    zero and its rate not above ``MAX_FEE_RATE`` (:class:`WalletError` naming what is wrong)."""
    if txfile.account != keys.account:
        raise WalletError(f"it spends from account {txfile.account}, this wallet is {keys.account}")
    coins = []
    for outpoint, item in zip(txfile.tx.inputs, txfile.inputs, strict=True):
        key = keys.by_id(item.key_id)
        if key.lock != item.lock:
            raise WalletError(
                f"input {outpoint} is not this wallet's: its key {item.key_id} has another address"
            )
        coins.append(SpendableCoin(outpoint, item.value, item.lock, item.key_id))
    if txfile.change is not None:
        vout, key_id = txfile.change
        if keys.by_id(key_id).lock != txfile.tx.outputs[vout].lock:
            raise WalletError(f"output {vout} is not this wallet's change at {key_id}")
    fee, size = txfile.fee, txfile.tx.size
    if fee < 0:
        raise WalletError(f"the outputs pay {-fee} units more than the inputs hold")
    if fee > MAX_FEE_RATE * size:
        raise WalletError(
            f"the fee {fee} is {fee / size:.0f} units per byte, above {MAX_FEE_RATE}: refusing"
        )
    return Checked(txfile, tuple(coins))


def sign_file(txfile: TxFile, keys: KeySource, params: ChainParams) -> tuple[Checked, bytes]:
    """Check ``txfile`` against the wallet ``keys`` and sign it; the checked file and the
    signed transaction file. :class:`WalletError` if these keys cannot sign it."""
    checked = check_against(txfile, keys)
    private_keys = [keys.by_id(coin.key_id).private_key for coin in checked.coins]
    if not all(private_keys):
        raise WalletError("a watch-only wallet has no private keys: sign on the wallet with them")
    bare = txfile.tx.with_witnesses(())
    tx = sign_transaction(bare, private_keys, txfile.spent_outputs, params.chain_id)
    signed = encode_tx_file(
        tx,
        txfile.inputs,
        txfile.change,
        params,
        keys.account,
        sweep=txfile.sweep,
        replaces=txfile.replaces,
    )
    return checked, signed

"""``seedchain verify``: check a stopped node's chain database (Core's ``verifychain``, run
offline): rebuild the UTXO set from the stored blocks of the active chain and compare it with
the stored one; ``--signatures`` checks every signature again as well. ``--repair`` answers a
failed check by rebuilding the stored UTXO set and undo data from the blocks (Core's
``-reindex-chainstate``: the reset is one transaction, the reconnection is as crash-safe as
any sync), then checks again.

May import the standard library, ``consensus``, ``node`` (lazily) and ``seedchain``. Takes
the data directory's lock, so it refuses to run beside a node on the same directory (whose
writes would make the comparison meaningless). Exit 0 with the report, 1 with one line
saying what does not match.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from seedchain.cli import CommandError
from seedchain.runner import env

if TYPE_CHECKING:
    from consensus.params import ChainParams


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="check a stopped node's chain database against its blocks",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--network", default=env("NETWORK", "main"), choices=["main", "test", "regtest"])
    p.add_argument("--datadir", default=env("DATADIR"), help="default ~/.seedchain/<network>")
    p.add_argument(
        "--signatures", action="store_true", help="verify every signature again (slower)"
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="if the check fails, rebuild the UTXO set from the stored blocks, checking every"
        " signature again (Core's -reindex-chainstate), then check again",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from consensus.errors import ConsensusError
    from consensus.params import network
    from node.config import default_datadir
    from node.datadir import DatadirLock, DatadirLocked
    from node.storage import StorageError
    from node.verify import PrunedDatabase, VerifyError, verify_datadir

    params = network(args.network)
    datadir = Path(args.datadir).expanduser() if args.datadir else default_datadir(params)
    if not (datadir / "chain.sqlite").is_file():
        raise CommandError(f"no chain database in {datadir}")
    repaired: str | None = None
    try:
        with DatadirLock(datadir):
            try:
                report = verify_datadir(datadir, params, check_signatures=args.signatures)
            except (VerifyError, StorageError) as exc:
                if not args.repair or isinstance(exc, PrunedDatabase):
                    raise
                repaired = str(exc)
                rebuild_chainstate(datadir, params)
                report = verify_datadir(datadir, params, check_signatures=args.signatures)
    except (DatadirLocked, VerifyError, StorageError) as exc:
        raise CommandError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"the chain database is damaged: {exc}") from None
    except ConsensusError as exc:  # a stored block that does not decode or connect
        raise CommandError(f"a stored block is damaged: {exc.code}: {exc}") from None
    result = {
        "ok": True,
        "height": report.height,
        "tip": report.tip_hash[::-1].hex(),
        "coins": report.coins,
        "utxo_hash": report.utxo_hash.hex(),
        "signatures_checked": bool(args.signatures),
        "repaired": repaired,
    }
    if args.json:
        print(json.dumps(result))
    else:
        if repaired is not None:
            print(f"repaired: the UTXO set was rebuilt from the blocks (it failed: {repaired})")
        print(
            f"ok: {report.height} blocks rebuild the stored UTXO set ({report.coins} coins,"
            f" hash {result['utxo_hash']}) at tip {result['tip']}"
        )
    return 0


def rebuild_chainstate(datadir: Path, params: ChainParams) -> None:
    """Reset the chain state to genesis and let opening the chain connect every stored block
    of the most-work chain again, signatures included; flushed and closed."""
    from node.blockindex import BlockStatus
    from node.chain import ChainState
    from node.storage import ChainStore

    store = ChainStore(datadir / "chain.sqlite")
    try:
        store.reset_chainstate(params.genesis_hash, BlockStatus.VALID)
    finally:
        store.close()
    chain = ChainState.open(datadir, params)  # reconnects everything stored (one activation)
    chain.close()

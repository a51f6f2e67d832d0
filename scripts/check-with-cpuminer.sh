#!/usr/bin/env bash
# Check the pool against real mining software: cpuminer's `minerd` (pooler/cpuminer, -a sha256d).
#
#   scripts/check-with-cpuminer.sh /path/to/minerd [SECONDS]
#
# Starts a fresh regtest node and a pool (PROP, 1 % fee) in a temporary directory on loopback
# ports, points two minerd processes (two payout addresses, one thread each) at the pool for
# SECONDS (default 180), stops everything, then checks what happened and prints PASS or FAIL
# (exit 0 or 1):
#   * every minerd subscribed, was authorized, got set_difficulty and notify, never lost its
#     connection, had at least one share accepted ("yay!!!") and none rejected, except stale
#     ones (error 21: a share for the tip the other miner's block just replaced) which are
#     counted and shown;
#   * the pool's share log holds exactly the shares minerd was told were accepted;
#   * blocks were found, every one the pool recorded is on the node's best chain and the node's
#     height is their number; each block's coinbase pays exactly the pool's recorded split;
#   * minerd restarted its work on clean jobs after a block.
# It uses only the binary it is given: it fetches and builds nothing. docs/pool.md ("Checked
# with real mining software") says how minerd was built and what it showed.
#
# Environment: CPUMINER_CHECK_DIFFICULTY (the pool's initial share difficulty, default 0.0625:
# high enough that vardiff must lower it before a CPU finds a share), CPUMINER_CHECK_KEEP=1 keeps
# the temporary directory (logs, datadirs); it is always kept when the check fails.
set -euo pipefail

usage() {
    echo "usage: $0 /path/to/minerd [SECONDS]" >&2
    exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
MINERD=$1
RUN_SECONDS=${2:-180}
[[ $RUN_SECONDS =~ ^[0-9]+$ ]] || usage
[ -x "$MINERD" ] || {
    echo "error: $MINERD is not an executable file" >&2
    exit 2
}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
SEEDCHAIN="$ROOT/.venv/bin/seedchain"
[ -x "$SEEDCHAIN" ] || {
    echo "error: $SEEDCHAIN not found; run scripts/setup-venv.sh first" >&2
    exit 2
}
DIFFICULTY=${CPUMINER_CHECK_DIFFICULTY:-0.0625}
KEEP=${CPUMINER_CHECK_KEEP:-0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/seedchain-cpuminer.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then
        echo "logs and datadirs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "minerd: $("$MINERD" -V 2>/dev/null | head -n 1 || true)"
echo "work directory: $WORK"

# four free loopback ports and three regtest addresses (miner A, miner B, operator)
read -r P2P_PORT API_PORT STRATUM_PORT POOL_API_PORT < <("$PY" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
EOF
)
read -r ADDR_A ADDR_B OPERATOR < <("$PY" - <<'EOF'
import hashlib, os
from consensus.addresses import encode_address
seed = os.urandom(8)
print(*(encode_address(hashlib.blake2b(seed + n, digest_size=20).digest(), "rsc")
        for n in (b"a", b"b", b"operator")))
EOF
)

wait_for_port() { # PORT WHAT LOG
    local i
    for i in $(seq 1 100); do
        if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "FAIL: the $2 did not start; the end of $3:" >&2
    tail -n 20 "$3" >&2
    KEEP=1
    exit 1
}

"$SEEDCHAIN" node --network regtest --datadir "$WORK/node" \
    --p2p-bind "127.0.0.1:$P2P_PORT" --api-bind "127.0.0.1:$API_PORT" \
    --no-addrbook-dial --log-format json >"$WORK/node.log" 2>&1 &
PIDS+=($!)
wait_for_port "$API_PORT" node "$WORK/node.log"

"$SEEDCHAIN" pool --network regtest --node "http://127.0.0.1:$API_PORT" \
    --stratum-bind "127.0.0.1:$STRATUM_PORT" --api-bind "127.0.0.1:$POOL_API_PORT" \
    --scheme prop --operator "$OPERATOR" --fee 1 --difficulty "$DIFFICULTY" \
    --datadir "$WORK/pool" --log-format json >"$WORK/pool.log" 2>&1 &
PIDS+=($!)
wait_for_port "$STRATUM_PORT" pool "$WORK/pool.log"

URL="stratum+tcp://127.0.0.1:$STRATUM_PORT"
echo "mining ${RUN_SECONDS}s: $MINERD -a sha256d -o $URL -u ADDRESS.WORKER -p x -t 1 -D -P"
"$MINERD" -a sha256d -o "$URL" -u "$ADDR_A.rig-a" -p x -t 1 -D -P >"$WORK/minerd-a.log" 2>&1 &
MINER_A=$!
PIDS+=("$MINER_A")
"$MINERD" -a sha256d -o "$URL" -u "$ADDR_B.rig-b" -p x -t 1 -D -P >"$WORK/minerd-b.log" 2>&1 &
MINER_B=$!
PIDS+=("$MINER_B")
sleep "$RUN_SECONDS"
kill "$MINER_A" "$MINER_B" 2>/dev/null || true
wait "$MINER_A" "$MINER_B" 2>/dev/null || true
sleep 1 # the last answers and block submissions settle

set +e
"$PY" - "$WORK" "$API_PORT" "$POOL_API_PORT" "$ADDR_A" "$ADDR_B" "$OPERATOR" <<'EOF'
import json
import re
import sys
import urllib.request
from pathlib import Path

work, api, pool_api = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
addr_a, addr_b, operator = sys.argv[4:7]
failures: list[str] = []


def get(port: str, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        body = resp.read().decode()
    try:
        return json.loads(body)
    except ValueError:
        return body.strip()


def every(port: str, path: str, items: str, cursor: str, param: str, start: int) -> list:
    """All pages of a cursor-paged list: ``path`` with ``param=<cursor>`` until no cursor."""
    found: list = []
    position = start
    while True:
        page = get(port, f"{path}&{param}={position}")
        assert isinstance(page, dict)
        found += page[items]
        if not page.get(cursor):
            return found
        position = page[cursor]


def check(ok: bool, what: str) -> None:
    if not ok:
        failures.append(what)


accepted_total = 0
for name, address in (("a", addr_a), ("b", addr_b)):
    text = (work / f"minerd-{name}.log").read_text(errors="replace")
    accepted = text.count("(yay!!!)")
    rejected = text.count("(booooo)")
    reasons = re.findall(r"DEBUG: reject reason: (.*)", text)
    stale = sum("stale" in r for r in reasons)
    stats = {
        "subscribed": len(re.findall(r"Stratum session id: ", text)),
        "authorize_failed": text.count("Stratum authentication failed"),
        "set_difficulty": text.count("Stratum difficulty set to"),
        "notify": text.count('"method":"mining.notify"'),
        "clean_restarts": text.count("Stratum requested work restart"),
        "accepted": accepted,
        "rejected": rejected,
        "rejected_stale": stale,
        "disconnects": len(re.findall(r"Stratum connection (interrupted|timed out)", text)),
    }
    accepted_total += accepted
    print(f"minerd {name} ({address}): " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    if reasons:
        print(f"  reject reasons: {sorted(set(reasons))}")
    check(stats["subscribed"] >= 1, f"minerd {name} did not subscribe")
    check(stats["authorize_failed"] == 0, f"minerd {name} was not authorized")
    check(stats["set_difficulty"] >= 1 and stats["notify"] >= 1, f"minerd {name} got no work")
    check(accepted >= 1, f"minerd {name} had no share accepted")
    check(rejected == stale, f"minerd {name} had shares rejected for other reasons than stale")
    check(stats["disconnects"] == 0, f"minerd {name} lost its connection")
    check(stats["clean_restarts"] >= 2, f"minerd {name} saw no clean job after a block")

shares = every(pool_api, "/v1/pool/shares?limit=1000", "shares", "next_after", "after", 0)
print(f"pool share log: {len(shares)} shares")
check(len(shares) == accepted_total, "the share log differs from the shares minerd saw accepted")

found = every(
    pool_api, "/v1/pool/blocks?limit=100", "blocks", "next_before_height", "before_height", 2**32
)
height = int(str(get(api, "/v1/blocks/tip/height")))
statuses = sorted({b["status"] for b in found})
print(f"blocks found by the pool: {len(found)} (status {statuses}); node height: {height}")
check(len(found) >= 1, "no block was found")
check(height == len(found), "the node's height is not the number of pool blocks")
paid_checked = 0
for block in found:
    on_chain = get(api, f"/v1/block-height/{block['height']}")
    if on_chain != block["hash"]:
        failures.append(f"block {block['hash']} at {block['height']} is not on the best chain")
        continue
    txids = get(api, f"/v1/block/{block['hash']}/txids")
    assert isinstance(txids, list)
    coinbase = get(api, f"/v1/tx/{txids[0]}")
    assert isinstance(coinbase, dict)
    outputs: dict[str, int] = {}
    for out in coinbase["vout"]:
        outputs[out["scriptpubkey_address"]] = outputs.get(out["scriptpubkey_address"], 0) + out["value"]
    expected = {c["address"]: c["paid"] for c in block["credits"] if c["paid"]}
    if block["operator_paid"]:
        expected[block["operator"]] = expected.get(block["operator"], 0) + block["operator_paid"]
    check(outputs == expected, f"block {block['height']}: coinbase {outputs} != split {expected}")
    check(sum(outputs.values()) == block["reward"], f"block {block['height']} pays != reward")
    paid_checked += 1
print(f"coinbases checked against the pool's split: {paid_checked}")

if failures:
    print("FAIL")
    for failure in failures:
        print(f"  - {failure}")
    sys.exit(1)
print("PASS")
EOF
status=$?
set -e
[ $status -eq 0 ] || KEEP=1
exit $status

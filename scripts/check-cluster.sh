#!/usr/bin/env bash
# End-to-end check of docker-compose.yml: build the image, start the cluster, and see it work.
#
#   scripts/check-cluster.sh            # docker (compose plugin or docker-compose), else podman
#   ENGINE=podman scripts/check-cluster.sh
#   SKIP_BUILD=1 scripts/check-cluster.sh   # use the seedchain:latest image already there
#
# Steps, each with a deadline; the first failure prints the containers' last log lines and
# exits non-zero:
#  1. build the image (Dockerfile) and start the cluster under a throwaway project name;
#  2. the three nodes agree on one tip at height >= 10, mined through the pool by both miners;
#  3. a wallet is created, funded with 101 blocks (node0's admin API, token from its cookie),
#     sends 1.5 coins, and node2 reports that payment confirmed;
#  4. `stop` sends SIGTERM: every container exits with code 0;
#  5. `up` again: node0 resumes at its old height or above (the volumes kept the chain);
#  6. the cluster and its volumes are removed (also on failure).
#
# Behind a TLS-intercepting proxy, CA_BUNDLE=/path/to/ca.pem makes the image build trust it
# (mounted during the build only, podman; it is not copied into the image).
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=${PROJECT:-seedchaincheck$$}  # letters and digits: compose v1 drops the rest
ENGINE=${ENGINE:-}
if [ -z "$ENGINE" ]; then
    if docker info >/dev/null 2>&1; then
        ENGINE=docker
    elif command -v podman >/dev/null 2>&1; then
        ENGINE=podman
    else
        echo "error: no container engine: need a running docker engine, or podman" >&2
        exit 1
    fi
fi
if [ "$ENGINE" = docker ]; then
    if docker compose version >/dev/null 2>&1; then
        compose() { docker compose -p "$PROJECT" --profile tools "$@"; }
    elif command -v docker-compose >/dev/null 2>&1; then
        compose() { docker-compose -p "$PROJECT" --profile tools "$@"; }
    else
        echo "error: docker has neither the compose plugin nor docker-compose" >&2
        exit 1
    fi
    ctr() { docker "$@"; }
else
    PODMAN_COMPOSE=${PODMAN_COMPOSE:-podman-compose}
    command -v "$PODMAN_COMPOSE" >/dev/null 2>&1 || {
        echo "error: $PODMAN_COMPOSE not found (pip install podman-compose)" >&2
        exit 1
    }
    compose() { "$PODMAN_COMPOSE" -p "$PROJECT" --profile tools "$@"; }
    ctr() { podman "$@"; }
fi

step() { echo "== $*"; }
fail() {
    echo "FAILED: $*" >&2
    for service in node0 node1 node2 pool miner-a miner-b; do
        echo "--- $service" >&2
        compose logs --tail 15 "$service" >&2 2>/dev/null || true
    done
    exit 1
}
cleanup() { compose down -v >/dev/null 2>&1 || true; rm -f "${pipconf:-}"; }
trap cleanup EXIT

# GET a path of a node's API from inside its container (the API is not published for node1/2).
api() { compose exec -T "$1" python3 -c "import sys, urllib.request as u
print(u.urlopen('http://127.0.0.1:28732' + sys.argv[1], timeout=5).read().decode())" "$2"; }
wallet() { compose run --rm -T wallet "$@" --password-file /data/password; }
# Poll `$2` (a shell expression) every 2 s until it succeeds or $1 seconds pass.
wait_for() {
    local deadline=$((SECONDS + $1))
    until eval "$2" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 2
    done
}

image_step="build the image"
[ -z "${SKIP_BUILD:-}" ] || image_step="the image already built"
step "1. $image_step ($ENGINE), start the cluster ($PROJECT)"
build=(build -t seedchain:latest)
if [ -n "${CA_BUNDLE:-}" ]; then
    pipconf=$(mktemp)
    printf '[global]\ncert = /run/build-ca.pem\n' >"$pipconf"
    build+=(-v "$CA_BUNDLE:/run/build-ca.pem:ro" -v "$pipconf:/etc/pip.conf:ro")
fi
if [ -n "${SKIP_BUILD:-}" ]; then
    ctr image inspect seedchain:latest >/dev/null 2>&1 || fail "no seedchain:latest image"
else
    ctr "${build[@]}" . >/dev/null || fail "the image did not build"
fi
compose up -d --no-build >/dev/null 2>&1 || fail "the cluster did not start"

step "2. three nodes on one tip at height >= 10, mined by both miners through the pool"
same_tip() {
    local h0 h1 h2
    h0=$(api node0 /v1/blocks/tip/hash) && h1=$(api node1 /v1/blocks/tip/hash) &&
        h2=$(api node2 /v1/blocks/tip/hash) && [ "$h0" = "$h1" ] && [ "$h1" = "$h2" ] &&
        [ "$(api node0 /v1/blocks/tip/height)" -ge "$1" ]
}
wait_for 180 "same_tip 10" || fail "the nodes did not reach one tip at height 10"
pool=$(curl -fsS http://127.0.0.1:23334/v1/pool) || fail "the pool API is not published"
python3 - "$pool" <<'PY' || fail "the pool has not seen both miners"
import json, sys
pool = json.loads(sys.argv[1])
assert pool["workers"] >= 2, pool
PY
echo "   height $(api node0 /v1/blocks/tip/height), tip $(api node0 /v1/blocks/tip/hash)"

step "3. a wallet: create, fund with 101 blocks, send 1.5 coins, confirmed on node2"
compose run --rm -T --entrypoint sh wallet -c \
    'umask 077 && printf "check cluster password\n" > /data/password' >/dev/null 2>&1 ||
    fail "could not write the wallet's password file"
wallet create --json >/dev/null 2>&1 || fail "wallet create"
address=$(wallet address --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["address"])') ||
    fail "wallet address"
compose exec -T node0 python3 -c "import json, sys, urllib.request as u
token = open('/data/regtest/api.cookie').read().strip()
body = json.dumps({'blocks': 101, 'address': sys.argv[1]}).encode()
request = u.Request('http://127.0.0.1:28732/v1/mining/generate', data=body, headers={
    'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
assert len(json.load(u.urlopen(request, timeout=120))) == 101" "$address" ||
    fail "could not fund the wallet"
wait_for 60 "wallet balance --json | python3 -c 'import json, sys; assert json.load(sys.stdin)[\"confirmed\"] > 0'" ||
    fail "the wallet never saw its coins"
payee=rsc1qt68gtluravv8qggugm9pzw83h9q4skeqn8v7y4
txid=$(wallet send "$payee" 1.5 --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["txid"])') || fail "wallet send"
wait_for 120 "api node2 /v1/tx/$txid/status | grep -q '\"confirmed\": true'" ||
    fail "payment $txid not confirmed on node2"
echo "   payment $txid confirmed on node2"

step "4. stop: SIGTERM, every container exits 0"
height=$(api node0 /v1/blocks/tip/height)
compose stop >/dev/null 2>&1 || fail "compose stop"
for service in node0 node1 node2 pool miner-a miner-b; do
    id=$(ctr ps -a -q --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$service")
    [ -n "$id" ] || fail "no container for $service"
    code=$(ctr inspect -f '{{.State.ExitCode}}' "$id")
    [ "$code" = 0 ] || fail "$service exited with $code"
done

step "5. start again: node0 resumes at height >= $height"
compose up -d --no-build >/dev/null 2>&1 || fail "the cluster did not start again"
wait_for 90 "[ \"\$(api node0 /v1/blocks/tip/height)\" -ge $height ]" ||
    fail "node0 did not resume at height $height"
echo "   node0 at height $(api node0 /v1/blocks/tip/height)"

step "6. remove the cluster and its volumes"
echo "cluster check passed"

#!/usr/bin/env bash
# Set up (or update) .venv and run every check: ruff, mypy --strict, import contracts, pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup-venv.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check .
echo "== mypy --strict"
mypy --strict consensus mining wallet p2p node pool seedchain
MYPYPATH=tests/unit/pool:tests/unit/p2p mypy --strict --explicit-package-bases tests
echo "== import contracts"
lint-imports
echo "== pytest"
pytest -n 2 "$@"

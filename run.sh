#!/usr/bin/env bash
# Set up (or update) .venv and run Seedchain's main job.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup-venv.sh
exec .venv/bin/seedchain "${@:-demo}"

#!/usr/bin/env bash
# Create or update the project's virtual environment in .venv (idempotent).
# Re-installs only when the packaging inputs changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
    echo "error: $PY not found; install Python 3.11 or newer" >&2
    exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "error: Seedchain needs Python 3.11 or newer ($PY is $("$PY" -V 2>&1))" >&2
    exit 1
fi

# Debian and Ubuntu ship venv/ensurepip and the C headers as separate packages.
need_apt=()
"$PY" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=("python3-venv")
pyinc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$pyinc/Python.h" ] || need_apt+=("python3-dev")
command -v cc >/dev/null 2>&1 || need_apt+=("gcc")
if [ ${#need_apt[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    echo "installing system packages: ${need_apt[*]}" >&2
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi

stamp_file=.venv/.seedchain-install-stamp
stamp=$(cat pyproject.toml setup.py $(find consensus -name '*.c' -o -name '*.h' | sort) 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp_file" ] || [ "$(cat "$stamp_file")" != "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$stamp" > "$stamp_file"
fi

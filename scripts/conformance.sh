#!/usr/bin/env bash
# Runs scripts/conformance.py against a regtest node's RPC URL: every method of Core's RPC table
# (scripts/conformance/core_rpc.json) that the node offers, called through python-bitcoinrpc's
# AuthServiceProxy and checked against Core's documented result shapes. Shares the venv of
# scripts/python-clients.sh (created once under target/, pinned versions).
set -euo pipefail
url="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CAIRN_PY_VENV:-$root/target/py-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import bitcoin.rpc, bitcoinrpc.authproxy" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check python-bitcoinlib==0.12.2 python-bitcoinrpc==1.0
fi
exec "$venv/bin/python" "$root/scripts/conformance.py" "$url"

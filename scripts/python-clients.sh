#!/usr/bin/env bash
# Runs scripts/python_clients.py against a node's RPC URL with the real Python clients
# (python-bitcoinlib's RawProxy, python-bitcoinrpc's AuthServiceProxy) in a venv that this
# script creates once under target/ (pinned versions).
set -euo pipefail
url="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CAIRN_PY_VENV:-$root/target/py-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import bitcoin.rpc, bitcoinrpc.authproxy" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check python-bitcoinlib==0.12.2 python-bitcoinrpc==1.0
fi
exec "$venv/bin/python" "$root/scripts/python_clients.py" "$url"

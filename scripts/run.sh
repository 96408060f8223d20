#!/usr/bin/env bash
# Cairn's main job. Until the local testnet lands this is one regtest node that mines to its own
# wallet, with its JSON-RPC server on 127.0.0.1:19443; talk to it from another terminal with
#   target/release/cairn cli --datadir "${CAIRN_DATADIR:-$HOME/.cairn}" getblockchaininfo
# Ctrl-C stops it cleanly. Extra arguments go to `cairn node`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
exec cargo run --release -p cairn-node --bin cairn -- node --network regtest --datadir "${CAIRN_DATADIR:-$HOME/.cairn}" --mine-threads 1 "$@"

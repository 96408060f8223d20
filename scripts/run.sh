#!/usr/bin/env bash
# Cairn's main job. Until the local testnet lands this is the regtest chain demo: mining, a payment,
# a reorg, then continuous mining until Ctrl-C. Extra arguments go to `cairn demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
exec cargo run --release -p cairn-node --bin cairn -- demo "$@"

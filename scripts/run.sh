#!/usr/bin/env bash
# Cairn's main job: a local testnet. Builds the node and the launcher (release), then runs
#   cairn-testnet run --nodes 3
# which starts 3 mining nodes on 127.0.0.1 (testnet rules: real proof of work, 10 s blocks), prints how
# to reach each one, and shows their status every 5 s. Ctrl-C stops them all; the datadirs stay in
# ~/.cairn-testnet (or --dir DIR). Extra arguments go to `cairn-testnet run`, e.g.
#   bash scripts/run.sh --nodes 5 --miners 2
#   bash scripts/run.sh --network regtest --regtest-block-time 2000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
cargo build --release --workspace --bins
exec "${CARGO_TARGET_DIR:-target}/release/cairn-testnet" run "$@"

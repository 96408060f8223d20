#!/usr/bin/env bash
# Runs every test of the workspace: with cargo-nextest when it is installed (one summary line,
# each test in its own process), otherwise with `cargo test`. Extra arguments go to the runner.
set -euo pipefail
cd "$(dirname "$0")/.."
CAIRN_DEPS=test
source scripts/deps.sh
if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace --no-tests=warn "$@"
else
    exec cargo test --workspace "$@"
fi

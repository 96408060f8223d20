#!/usr/bin/env bash
# Benchmark of the node's dashboard in a real browser (headless Chromium, scripts/dashboard-browser.sh):
# two regtest nodes on 127.0.0.1, B connected to A, 101 blocks mined on B, a 2 MiB file published on A
# (16 KiB pieces, A's upload capped at 512 KiB/s). The page is opened on B; the script mines
# ROUNDS blocks one at a time and reports how long each took to show on the page (median, max),
# fetches the file while the piece map is watched, draws a lookup, leaves 6 payments in the mempool,
# takes the screenshots (OUT/dashboard.png, OUT/dashboard-phone.png), and reports the page weight and
# B's CPU time over 15 s (CPU_WINDOW=seconds) with the page open and as long with it closed.
#
#   scripts/bench-dashboard.sh [ROUNDS (default 20)] [OUT (default target/bench-dashboard)]
# Needs a built `cairn` (cargo build --workspace --bins) and CAIRN_DEPS=test scripts/deps.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-20}"
out="${2:-$root/target/bench-dashboard}"
cairn="${CAIRN_BIN:-$root/target/debug/cairn}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start() { # DIR ARGS...
    local dir="$1"; shift
    mkdir -p "$dir"
    "$cairn" node --network regtest --datadir "$dir" --rpc-bind 127.0.0.1:0 --listen /ip4/127.0.0.1/tcp/0 "$@" >"$dir/log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 200); do [ -s "$dir/regtest/rpc.addr" ] && [ -s "$dir/regtest/.cookie" ] && break; sleep 0.1; done
}
cli() { local dir="$1"; shift; "$cairn" cli --network regtest --datadir "$dir" -rpcwait "$@"; }

start "$work/a" --max-upload-rate 512 --piece-size 16
a_p2p="$(cli "$work/a" getnetworkinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["listenaddrs"][0])')"
a_id="$(cli "$work/a" getnetworkinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["peerid"])')"
start "$work/b" --peer "$a_p2p/p2p/$a_id"
b_pid="${pids[-1]}"
cli "$work/b" generatetoaddress 101 "$(cli "$work/b" getnewaddress)" >/dev/null
head -c $((2 * 1024 * 1024)) /dev/urandom >"$work/harbour-survey.bin"
cid="$(cli "$work/a" publishfile "$work/harbour-survey.bin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])')"
rpc="http://$(cat "$work/b/regtest/rpc.addr")"
bash "$root/scripts/dashboard-browser.sh" --rpc "$rpc" --auth "$(cat "$work/b/regtest/.cookie")" --cid "$cid" \
    --keyword harbour --out "$out" --pid "$b_pid" --rounds "$rounds" --payments 6 --cpu-window "${CPU_WINDOW:-15}"
echo "screenshots in $out"

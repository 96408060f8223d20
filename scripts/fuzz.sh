#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder and state machine a peer feeds, with libFuzzer, on the
# stable toolchain: libfuzzer-sys links libFuzzer, and rustc's stable `-C passes=sancov-module`
# with the sanitizer-coverage options gives it edge counters and comparison tracing (cargo-fuzz
# passes the same flags; it is not needed, and no nightly `-Z` flag is used: there is no
# AddressSanitizer, which safe Rust does not need, and debug assertions and overflow checks are on).
#
#   bash scripts/fuzz.sh                 # every target, 10,000,000 executions each
#   bash scripts/fuzz.sh 100000 block    # 100,000 executions of one target
#   CAIRN_FUZZ_SECONDS=60 bash scripts/fuzz.sh   # or a time budget per target
#
# The corpus grows in fuzz/corpus/<target> (git-ignored); a crash is saved as
# fuzz/artifacts/<target>/crash-* and the script exits non-zero. The smoke version of every target
# runs in the ordinary test suite (`cairn_chain::fuzz`, `cairn_p2p::fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10000000}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(transaction block sync_message content_message index_message manifest bitfield chord_node)
fi
export CARGO_TARGET_DIR="${CAIRN_FUZZ_TARGET_DIR:-$HOME/.cache/cairn/fuzz-target}"
export RUSTFLAGS="-C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=4 -C llvm-args=-sanitizer-coverage-inline-8bit-counters -C llvm-args=-sanitizer-coverage-pc-table -C llvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
target_triple="$(rustc -vV | sed -n 's/^host: //p')"
# --target keeps the instrumentation off build scripts and proc macros.
cargo build --release --manifest-path fuzz/Cargo.toml --target "$target_triple" --bins
bin="$CARGO_TARGET_DIR/$target_triple/release"
CAIRN_FUZZ_CORPUS=fuzz/corpus "$bin/seed_corpus"
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/artifacts/$t"
    limit=(-runs="$runs")
    if [ -n "${CAIRN_FUZZ_SECONDS:-}" ]; then
        limit=(-max_total_time="$CAIRN_FUZZ_SECONDS")
    fi
    echo "== $t"
    start=$(date +%s)
    if ! "$bin/$t" "${limit[@]}" -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$t/" "fuzz/corpus/$t" 2> "fuzz/artifacts/$t/log"; then
        status=1
        echo "   FAILED: see fuzz/artifacts/$t/"
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "fuzz/artifacts/$t/log" | tail -3 | sed 's/^/   /'
    echo "   $(( $(date +%s) - start )) s"
done
exit $status

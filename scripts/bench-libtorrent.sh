#!/usr/bin/env bash
# libtorrent 2.0.8 (Debian's python3-libtorrent) and Cairn side by side on the flash crowd of
# node/benches/swarm.rs (default) or on its uncapped one-to-one transfer (--uncapped),
# alternating (libtorrent, cairn, libtorrent, ...), and one table.
#
#   scripts/bench-libtorrent.sh [--runs N] [--leechers N] [--mib M] [--only libtorrent|cairn]
#                               [--seed-kib K] [--leecher-kib K] [--lt-utp] [--lt-set KEY=VALUE]...
#   scripts/bench-libtorrent.sh --uncapped [--runs N] [--mib M] [--only libtorrent|cairn] ...
#
# Flash crowd (default). Set-up, both sides: 1 seed with its upload capped at 8 MiB/s, 8 leechers
# with theirs at 2 MiB/s (downloads uncapped), a 64 MiB pseudo-random file, 256 KiB pieces, one
# process per peer, all on loopback. Per run: the distribution time T (every leecher asked for the
# file at t0, until the last one holds all of it, verified), the fluid bound max(F/u_s,
# N*F/(u_s + sum u_i)) (Kumar and Ross, d_min = infinity), ratio = bound/T, and seed copies =
# bytes the seed uploaded / F. Then, per side, the median, min and max of the ratio and of the
# seed copies. Defaults: --runs 5 (per side: 10 runs in all, libtorrent first), --leechers 8,
# --mib 64. --only runs one side.
#
# Uncapped (--uncapped): one seed to one leecher, no rate caps on either side (libtorrent's
# upload/download_rate_limit 0, its "unlimited"), a 1 GiB file (--mib overrides), 256 KiB pieces,
# TCP, one process per peer on loopback (libtorrent: 127.0.0.2 and .3). Per run: T from the
# leecher's go until it holds the file, verified; MB/s = bytes / T / 1e6 (and MiB/s); the peak
# resident memory (VmHWM, /proc/PID/status, read just before each process is told to quit) of the
# seed and the leecher; their CPU seconds. Then per side the median, min and max of MB/s and the
# largest peak of each process, and the ratio of the medians cairn/libtorrent (the target: >= 1,
# aim 1.5; peak memory <= 64 MiB per process). The libtorrent peers are python3 processes running
# libtorrent, so python's own ~10-20 MiB is in their peaks; and libtorrent 2.0 reads and writes
# through mmap, so file pages it has mapped count in its resident set too (each run prints its
# RssAnon and RssFile to tell them apart). The Cairn side is `-- --uncapped --mib M`. The 1 GiB
# files live in the temp dir, removed at the end (unless CAIRN_BENCH_KEEP=1).
#
# Cairn: node/benches/swarm.rs, `-- --leechers N --mib M --seed-kib 8192 --leecher-kib 2048`
# (--uncapped: `-- --uncapped --mib M`), once per run; built once up front with `cargo bench
# --workspace --bench swarm --no-run` (so the build is not inside a run), and each run runs (a
# copy of) that executable as cargo bench would.
# Its piece size is the node's default, 256 KiB, as for libtorrent (the bench passes no
# --piece-size).
#
# libtorrent: scripts/bench_libtorrent.py, one python3 process (one lt.session) per peer, each on
# its own address (seed 127.0.0.2, leechers 127.0.0.3, ...), opentracker on 127.0.0.1 as the
# tracker, the .torrent made by mktorrent (-l 18: 256 KiB pieces), over TCP only (--lt-utp: uTP
# too, libtorrent's default, which on loopback holds the seed below its cap). Details, and which
# libtorrent settings are set and why, are in that file's header. In the flash crowd it prints the
# seed's and the leechers' measured upload rates, to show the caps hold.
#
# Needs python3-libtorrent, opentracker and mktorrent; installs what is missing with apt-get (as
# root, or through sudo), like scripts/deps.sh (CAIRN_NO_INSTALL=1: only report). Runs the system
# /usr/bin/python3, not a venv: python3-libtorrent is a Debian package.
# CAIRN_BENCH_KEEP=1 keeps the temp dir (torrents, tracker and peer logs, the Cairn nodes' logs;
# with --uncapped also the 1 GiB files: the payload, and each libtorrent leecher's copy).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python=/usr/bin/python3

# Which sides run (for what is needed).
only=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --only) only="${args[$((i + 1))]:-}" ;;
        --only=*) only="${args[$i]#--only=}" ;;
        -h | --help) exec "$python" "$here/bench_libtorrent.py" --help ;;
    esac
done
case "$only" in
    "" | libtorrent | cairn) ;;
    *) echo "bench-libtorrent: --only takes libtorrent or cairn, not '$only'" >&2; exit 2 ;;
esac

# --- what the libtorrent side needs -------------------------------------------------------------
_lt_python() {
    [ -x "$python" ] || return 1
    "$python" -c 'import libtorrent as lt, sys; sys.stdout.write(lt.__file__ + " (" + lt.__version__ + ")\n")' 2>/dev/null
}
_lt_opentracker() { command -v opentracker; }
_lt_mktorrent() { command -v mktorrent; }

lt_deps_check() {
    missing=()
    local found
    if found="$(_lt_python)"; then
        echo "cairn deps: python3-libtorrent: $found" >&2
    else
        echo "cairn deps: python3-libtorrent: missing" >&2
        missing+=(python3-libtorrent)
    fi
    if found="$(_lt_opentracker)"; then
        echo "cairn deps: opentracker: $found" >&2
    else
        echo "cairn deps: opentracker: missing" >&2
        missing+=(opentracker)
    fi
    if found="$(_lt_mktorrent)"; then
        echo "cairn deps: mktorrent: $found" >&2
    else
        echo "cairn deps: mktorrent: missing" >&2
        missing+=(mktorrent)
    fi
    [ ${#missing[@]} -eq 0 ]
}

lt_deps() {
    lt_deps_check && return 0
    local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ -n "${CAIRN_NO_INSTALL:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "cairn deps: missing ${missing[*]}; as root, run: $cmd" >&2
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "cairn deps: missing ${missing[*]}; as root, run: $cmd" >&2
            return 1
        fi
    fi
    echo "cairn deps: installing with apt-get: ${missing[*]}" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
        echo "cairn deps: apt-get update failed; trying the install anyway" >&2
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
        echo "cairn deps: apt-get install ${missing[*]} failed (see above); as root, run: $cmd" >&2
        return 1
    fi
    echo "cairn deps: installed ${missing[*]}; checking again" >&2
    lt_deps_check || { echo "cairn deps: still missing ${missing[*]}; as root, run: $cmd" >&2; return 1; }
}

if [ "$only" != cairn ]; then
    lt_deps || exit 1
fi

# --- run ----------------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/cairn-bench-lt.XXXXXX")"
pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # The python side stops its peers, the tracker and cargo in its `finally`.
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    # In case it could not: what it started, from the list it keeps ("-PGID" for cargo's process
    # group); a pid only if it is still one of ours (pids get reused).
    local p
    if [ -f "$work/pids" ]; then
        while read -r p; do
            case "$p" in
                -[0-9]*)
                    # Members of that group that are cargo, the bench or its nodes.
                    ps -eo pid=,pgid=,args= 2>/dev/null |
                        awk -v g="${p#-}" '$2 == g && /cargo|swarm|cairn/ {print $1}' |
                        while read -r q; do kill -KILL "$q" 2>/dev/null || true; done
                    ;;
                [0-9]*)
                    if grep -qaE 'opentracker|bench_libtorrent' "/proc/$p/cmdline" 2>/dev/null; then
                        kill -KILL "$p" 2>/dev/null || true
                    fi
                    ;;
            esac
        done <"$work/pids"
    fi
    if [ "${CAIRN_BENCH_KEEP:-}" = 1 ]; then
        echo "bench-libtorrent: kept $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The Cairn bench, built once up front (not inside a run). A copy of its executable is what every
# Cairn run runs, so all have the same code even if the tree is edited meanwhile (the `cairn`
# binary it starts is target/release/cairn, as under cargo bench).
cairn=()
if [ "$only" != libtorrent ]; then
    echo "bench-libtorrent: building the Cairn bench (cargo bench --workspace --bench swarm --no-run)" >&2
    (cd "$root" && cargo bench --workspace --bench swarm --no-run --message-format=json-render-diagnostics) \
        >"$work/build.json" ||
        { echo "bench-libtorrent: the Cairn bench did not build (see above)" >&2; exit 1; }
    exe="$("$python" -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and m.get("target", {}).get("name") == "swarm":
        print(m["executable"])
' "$work/build.json" | tail -n 1)"
    [ -n "$exe" ] && [ -x "$exe" ] ||
        { echo "bench-libtorrent: cargo named no swarm bench executable" >&2; exit 1; }
    cp "$exe" "$work/swarm-bench"
    echo "bench-libtorrent: Cairn bench: $exe (copied to $work/swarm-bench)" >&2
    cairn=(--cairn-exe "$work/swarm-bench")
fi

"$python" "$here/bench_libtorrent.py" --workdir "$work" "${cairn[@]}" "$@" &
pid=$!
wait "$pid"

#!/usr/bin/env bash
# Makes sure the system pieces the build and tests need are present; sourced by run.sh and test.sh.
# RocksDB's Rust bindings are generated at build time with bindgen, which needs libclang, and its
# C++ sources need a C++ compiler. On Debian/Ubuntu these are installed with apt-get when missing
# (as root, or through sudo); elsewhere the script says what to install and stops.
set -euo pipefail

have_libclang() {
    [ -n "${LIBCLANG_PATH:-}" ] && return 0
    ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' && return 0
    compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null && return 0
    compgen -G '/usr/lib/x86_64-linux-gnu/libclang-*.so*' >/dev/null && return 0
    return 1
}

missing=()
have_libclang || missing+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
# The RPC compatibility test runs the Python clients people use with Bitcoin Core in a venv.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# The libp2p interoperability test runs a js-libp2p node (scripts/js-interop/).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        if [ "$(id -u)" -ne 0 ]; then
            if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
                echo "cairn: the build needs ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
                exit 1
            fi
        fi
        echo "cairn: installing build dependencies: ${missing[*]}" >&2
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    else
        echo "cairn: the build needs libclang (for RocksDB's bindings) and a C++ compiler: please install ${missing[*]}" >&2
        exit 1
    fi
fi

#!/usr/bin/env bash
# Makes sure the system pieces the build (and, with CAIRN_DEPS=test, the tests) need are present.
# Sourced by run.sh (build) and test.sh (test); says what it found and what it installed.
#
#   build: libclang  RocksDB's Rust bindings are generated at build time by bindgen, which loads it
#          C++       RocksDB's C++ sources are compiled by the build
#   test:  python3 with venv   the RPC test runs python-bitcoinlib and python-bitcoinrpc in a venv
#          Node.js >= 20, npm  the libp2p interop test runs a js-libp2p 3.x node
#          chromium, chromium-driver  the dashboard's browser test drives a headless Chromium
#
# Where something is missing and apt-get exists, it is installed (as root, or through sudo);
# otherwise the script prints the exact command to run and stops. Detection is in detect.sh.
# CAIRN_NO_INSTALL=1: never install, only report. CAIRN_DEPS_ROOT=DIR: look for libclang under
# DIR instead of / (for the script's own test).
set -euo pipefail

# shellcheck source=detect.sh
source "$(dirname "${BASH_SOURCE[0]}")/detect.sh"

cairn_deps_main() {
    local mode="${CAIRN_DEPS:-build}"
    local -a apt=() manual=()
    local found

    _cairn_check() {
        local what="$1" pkg="$2" by_hand="$3"
        shift 3
        if found="$("$@")"; then
            echo "cairn deps: $what: ${found:-yes}" >&2
            return 0
        fi
        echo "cairn deps: $what: missing" >&2
        apt+=("$pkg")
        manual+=("$what: $by_hand")
    }
    _cairn_python_venv() { cairn_have_python_venv && command -v python3; }
    _cairn_node20() {
        local major
        major="$(cairn_node_major)" || return 1
        [ "$major" -ge 20 ] 2>/dev/null || return 1
        echo "$(command -v node) (v$major)"
    }
    _cairn_npm() { command -v npm; }
    _cairn_chromium() { command -v chromium || command -v chromium-browser; }
    _cairn_chromedriver() { command -v chromedriver; }

    _cairn_check_all() {
        apt=()
        manual=()
        _cairn_check "libclang (for bindgen)" libclang-dev \
            "apt-get install libclang-dev | dnf install clang-devel | pacman -S clang | brew install llvm; or set LIBCLANG_PATH to the folder holding libclang.so" \
            cairn_find_libclang "${CAIRN_DEPS_ROOT:-}"
        _cairn_check "C++ compiler" g++ \
            "apt-get install g++ | dnf install gcc-c++ | pacman -S gcc | xcode-select --install" \
            cairn_find_cxx
        if [ "$mode" = test ]; then
            _cairn_check "python3 with venv" python3-venv \
                "apt-get install python3-venv | dnf install python3 | pacman -S python" \
                _cairn_python_venv
            _cairn_check "Node.js >= 20" nodejs \
                "install Node.js 20 or later (https://nodejs.org, or your distribution's nodejs package if it is >= 20)" \
                _cairn_node20
            _cairn_check "npm" npm "apt-get install npm (or the npm that comes with Node.js)" _cairn_npm
            _cairn_check "Chromium" chromium "apt-get install chromium | dnf install chromium | pacman -S chromium" _cairn_chromium
            _cairn_check "chromedriver" chromium-driver \
                "apt-get install chromium-driver | dnf install chromedriver | pacman -S chromium (it includes chromedriver)" \
                _cairn_chromedriver
        fi
    }

    _cairn_check_all
    [ ${#apt[@]} -eq 0 ] && return 0

    if [ -z "${CAIRN_NO_INSTALL:-}" ] && command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then
            if command -v sudo >/dev/null 2>&1; then
                sudo="sudo"
            else
                echo "cairn deps: missing ${apt[*]}; as root, run: apt-get install -y ${apt[*]}" >&2
                return 1
            fi
        fi
        echo "cairn deps: installing with apt-get: ${apt[*]}" >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
            echo "cairn deps: apt-get update failed; trying the install anyway" >&2
        if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${apt[@]}" >/dev/null; then
            echo "cairn deps: apt-get install ${apt[*]} failed (see above); install them by hand and run this again" >&2
            return 1
        fi
        echo "cairn deps: installed ${apt[*]}; checking again" >&2
        _cairn_check_all
        [ ${#apt[@]} -eq 0 ] && return 0
    fi
    echo "cairn deps: still missing; install by hand:" >&2
    local line
    for line in "${manual[@]}"; do
        echo "  - $line" >&2
    done
    return 1
}

cairn_deps_main

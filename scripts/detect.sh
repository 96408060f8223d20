#!/usr/bin/env bash
# Detection of what the build and the tests need, as functions without side effects (sourced by
# scripts/deps.sh; tested against fake file trees by testnet/tests/e2e/deps.rs).
#
# libclang is looked for the way bindgen's loader (clang-sys, runtime linking) looks for it, so a
# "found" here means the build will find it too:
#   - $LIBCLANG_PATH (a folder, or the library file itself);
#   - `llvm-config --libdir`;
#   - the folders /usr/local/llvm*/lib*, /usr/local/lib*/*/*, /usr/local/lib*/*, /usr/local/lib*,
#     /usr/lib*/*/*, /usr/lib*/*, /usr/lib*;
#   - file names libclang.so, libclang-N.so, libclang.so.N, libclang-N.so.M. Never libclang-cpp:
#     that is LLVM's C++ interface (Debian's libclang-cpp14, present on stock images), which
#     bindgen cannot load; clang-sys skips it too.
# Every function takes an optional ROOT (default: the real root) so a test can point it at a fake
# tree; llvm-config is only asked about the real root.

# Whether a file name is one of the libclang names clang-sys loads.
cairn_is_libclang_name() {
    local name="$1"
    case "$name" in
        *-cpp.*) return 1 ;;
        libclang.so | libclang.so.[0-9]*) return 0 ;;
        libclang-[0-9]*.so | libclang-[0-9]*.so.[0-9]*) return 0 ;;
    esac
    return 1
}

# Prints the first libclang in folder $1 (or $1 itself if it is such a file); false if none.
cairn_libclang_in() {
    local dir="$1" f
    if [ -f "$dir" ]; then
        cairn_is_libclang_name "$(basename "$dir")" && { printf '%s\n' "$dir"; return 0; }
        return 1
    fi
    [ -d "$dir" ] || return 1
    for f in "$dir"/libclang*; do
        # -e follows symlinks: a dangling libclang.so link does not count.
        [ -e "$f" ] && cairn_is_libclang_name "$(basename "$f")" && { printf '%s\n' "$f"; return 0; }
    done
    return 1
}

# Prints the path of a libclang that bindgen would load, searching under ROOT ($1, default /);
# false if there is none.
cairn_find_libclang() {
    local root="${1:-}" d found
    root="${root%/}"
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        cairn_libclang_in "$LIBCLANG_PATH" && return 0
    fi
    if [ -z "$root" ] && command -v llvm-config >/dev/null 2>&1; then
        d="$(llvm-config --libdir 2>/dev/null || true)"
        [ -n "$d" ] && cairn_libclang_in "$d" && return 0
    fi
    # Shallow folders first (where distributions put it), then the deep ones clang-sys also tries.
    for d in "$root"/usr/local/llvm*/lib* "$root"/usr/local/lib* "$root"/usr/lib* "$root"/usr/lib*/*; do
        [ -d "$d" ] && found="$(cairn_libclang_in "$d")" && { printf '%s\n' "$found"; return 0; }
    done
    for d in "$root"/usr/local/lib*/* "$root"/usr/local/lib*/*/* "$root"/usr/lib*/*/*; do
        [ -d "$d" ] && found="$(cairn_libclang_in "$d")" && { printf '%s\n' "$found"; return 0; }
    done
    return 1
}

# Prints the C++ compiler the cc crate would use (c++, else g++, else clang++); false if none.
cairn_find_cxx() {
    local c
    for c in "${CXX:-}" c++ g++ clang++; do
        [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
    done
    return 1
}

# Whether python3 can make a venv with pip (Debian splits ensurepip into python3-venv).
cairn_have_python_venv() {
    command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip, venv' >/dev/null 2>&1
}

# Prints Node.js's major version; false if node is missing.
cairn_node_major() {
    command -v node >/dev/null 2>&1 || return 1
    local v
    v="$(node --version 2>/dev/null)" || return 1
    v="${v#v}"
    printf '%s\n' "${v%%.*}"
}

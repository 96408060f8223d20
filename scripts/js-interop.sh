#!/usr/bin/env bash
# Runs scripts/js-interop/interop.mjs (a js-libp2p 3.x node) against a Cairn node. Installs its npm
# packages once, from the committed package-lock.json, into a cache folder next to the build.
# Usage: scripts/js-interop.sh <cairn multiaddr> <network>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="${CARGO_TARGET_DIR:-$root/target}/js-interop"
command -v node >/dev/null || { echo "node (Node.js) is required for the js-libp2p interop test" >&2; exit 2; }
mkdir -p "$work"
cp "$here/js-interop/package.json" "$here/js-interop/package-lock.json" "$here/js-interop/interop.mjs" "$here/js-interop/polyfill.mjs" "$work/"
if ! cmp -s "$work/package-lock.json" "$work/.installed-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$work/package-lock.json" "$work/.installed-lock"
fi
exec node "$work/interop.mjs" "$@"

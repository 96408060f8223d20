#!/usr/bin/env bash
# Runs scripts/dashboard_capture.py with the arguments it got: btcmonitor, a terminal dashboard
# people run against Bitcoin Core, drawn in a pseudo-terminal against a node and saved as text
# (see that script for the arguments). btcmonitor and pyte (the terminal emulator that renders
# the screen) live in a venv that this script creates once under target/ (pinned versions);
# CAIRN_DASH_VENV=DIR puts it elsewhere. scripts/deps.sh (CAIRN_DEPS=test) installs python3-venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CAIRN_DASH_VENV:-$root/target/dash-venv}"
btcmonitor_version=0.9.0
pyte_version=0.8.2

# shellcheck source=detect.sh
source "$root/scripts/detect.sh"

pinned() {
    "$venv/bin/python" - "$btcmonitor_version" "$pyte_version" <<'EOF' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if (m.version("btcmonitor"), m.version("pyte")) == (sys.argv[1], sys.argv[2]) else 1)
EOF
}

if [ ! -x "$venv/bin/python" ] || [ ! -x "$venv/bin/btcmonitor" ] || ! pinned; then
    if ! cairn_have_python_venv; then
        echo "dashboard: python3 with venv and ensurepip is needed to install btcmonitor;" \
            "run CAIRN_DEPS=test scripts/deps.sh, or apt-get install python3-venv" >&2
        exit 1
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "btcmonitor==$btcmonitor_version" "pyte==$pyte_version"
fi
exec "$venv/bin/python" "$root/scripts/dashboard_capture.py" "$@"

#!/usr/bin/env bash
# Runs scripts/dashboard_browser.py with the arguments it got: the node's own dashboard
# (/dashboard/) in a real browser — Debian's headless Chromium driven by Selenium through
# chromedriver — against a running regtest node (see that script for the arguments). Selenium
# lives in a venv this script creates once under target/ (pinned version); CAIRN_BROWSER_VENV=DIR
# puts it elsewhere. scripts/deps.sh (CAIRN_DEPS=test) installs python3-venv, chromium and
# chromium-driver.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CAIRN_BROWSER_VENV:-$root/target/browser-venv}"
# 4.38.0: the newest whose dependencies every registry we install from holds (4.52 needs a
# certifi newer than the mirrors have); the WebDriver protocol it speaks is version-neutral.
selenium_version=4.38.0

# shellcheck source=detect.sh
source "$root/scripts/detect.sh"

pinned() {
    "$venv/bin/python" - "$selenium_version" <<'EOF' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if m.version("selenium") == sys.argv[1] else 1)
EOF
}

for tool in chromedriver; do
    command -v "$tool" >/dev/null || {
        echo "dashboard-browser: $tool is missing; run CAIRN_DEPS=test scripts/deps.sh, or apt-get install chromium chromium-driver" >&2
        exit 1
    }
done
if [ ! -x "$venv/bin/python" ] || ! pinned; then
    if ! cairn_have_python_venv; then
        echo "dashboard-browser: python3 with venv and ensurepip is needed to install selenium;" \
            "run CAIRN_DEPS=test scripts/deps.sh, or apt-get install python3-venv" >&2
        exit 1
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "selenium==$selenium_version"
fi
exec "$venv/bin/python" "$root/scripts/dashboard_browser.py" "$@"

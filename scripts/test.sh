#!/usr/bin/env bash
# Installs what the tests need on a fresh machine (Python packages, Debian's Chromium for
# the browser tests), then runs the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e '.[test,dev]'
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
    else
        echo "chromium missing: run 'sudo apt-get install chromium' for the browser tests" >&2
    fi
fi
exec python -m pytest "$@"

#!/usr/bin/env bash
# Installs what the tests need on a fresh machine (the Python packages at the versions in
# constraints.txt; Debian's Chromium and a CJK font for the browser tests and PostgreSQL 15
# for the tests on it, each when it is missing), then runs the whole test suite. Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -c constraints.txt -e '.[test,dev]'
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The dashboard shows Chinese text: without a CJK font the screenshots show boxes.
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family)" ]; } || missing+=(fonts-wqy-microhei)
# The tests start their own server (scripts/pg.sh) on a private port and socket folder, so
# the cluster that Debian's package may create and start on 5432 is left alone: unused.
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing for the tests: run 'sudo apt-get install ${missing[*]}'" >&2
    fi
fi
exec python -m pytest "$@"

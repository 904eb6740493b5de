#!/usr/bin/env bash
# Refreshes constraints.txt, the exact versions that the README's commands, scripts/test.sh
# and CI install: every runtime, test and tool dependency, resolved from pyproject.toml.
# Run it, then `bash scripts/test.sh`, and commit the new constraints.txt only if that passes.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check uv
"$tools/venv/bin/uv" pip compile pyproject.toml --extra test --extra dev \
    --universal --python-version 3.11 --no-emit-index-url --quiet \
    --custom-compile-command "bash scripts/lock.sh" -o constraints.txt
echo "constraints.txt refreshed: run bash scripts/test.sh before committing it"

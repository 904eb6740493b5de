#!/usr/bin/env bash
# Checks the lower bounds in pyproject.toml: installs every direct dependency at the lowest
# version its range allows (uv's lowest-direct resolution) into a throwaway virtual
# environment and runs the test suite there. Ruff and mypy are not run: they check the
# code against the locked versions (constraints.txt). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --disable-pip-version-check uv
"$work/tools/bin/uv" venv --quiet --python "$(command -v python)" "$work/lowest"
"$work/tools/bin/uv" pip install --quiet --python "$work/lowest/bin/python" \
    --resolution lowest-direct -e '.[test,dev]'
"$work/tools/bin/uv" pip freeze --python "$work/lowest/bin/python" \
    | grep -iE "^($(python - <<'PY'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
names = project["dependencies"] + [d for ds in project["optional-dependencies"].values() for d in ds]
print("|".join(re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0] for d in names))
PY
))==" || true
"$work/lowest/bin/python" -m pytest -p no:cacheprovider "$@"

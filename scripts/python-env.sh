#!/usr/bin/env bash
# Ensures target/venv holds the Python packages the tests and benchmarks compare against.
# Idempotent; prints the interpreter path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/venv
want_numpy="2.4.*"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import numpy' >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "numpy==$want_numpy" >&2
fi
echo "$PWD/$venv/bin/python"

#!/usr/bin/env bash
# The test command: sets up NumPy in target/venv (the differential tests run real NumPy),
# then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
OVERT_PYTHON=$(scripts/python-env.sh)
export OVERT_PYTHON
cargo test --all-targets "$@"

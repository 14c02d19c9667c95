#!/usr/bin/env bash
# Runtime benchmark: Overt (`overt run`, release build) against NumPy on the workloads of
# the runtime issue. Prints `name numpy_s overt_s speedup` rows and the geometric mean.
# Arguments are passed to bench/bench.py (e.g. --rounds 7, --only softmax_4096).
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/python-env.sh)
"$python" -c 'import threadpoolctl' 2>/dev/null \
  || "$python" -m pip install --quiet --disable-pip-version-check threadpoolctl >&2 || true
cargo build --release --quiet
# OpenBLAS tuning variables from the environment would skew NumPy's side; unset them for
# this command only.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" bench/bench.py target/release/overt "$@"

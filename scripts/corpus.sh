#!/usr/bin/env bash
# Runs `overt check` on every .py file of the numpy, scipy and scikit-learn wheels and times
# it against ruff on the same tree. Not part of the test suite (it downloads ~60 MB).
#
#   scripts/corpus.sh            # download once into target/corpus, build release, run
#   OVERT_CORPUS_TIMEOUT=30 scripts/corpus.sh
#   OVERT_CORPUS_RUNS=5 scripts/corpus.sh
#   OVERT_CORPUS_PROFILE=debug scripts/corpus.sh   # quick check of the script itself
#
# Two passes:
#  1. robustness: every file on its own (`overt check FILE`, in parallel), each under a
#     timeout of OVERT_CORPUS_TIMEOUT seconds (default 20); counts diagnostics by code,
#     internal errors (E900: a caught panic), crashes (the process died) and timeouts.
#  2. speed: the whole tree in one `overt check` invocation, alternated with ruff 0.17 on the
#     same tree (`ruff check --isolated --no-cache`, default rule set, and again with
#     `--select ALL`); OVERT_CORPUS_RUNS runs each (default 3), medians and ratios printed.
# Exits 1 if any file crashed, timed out or hit an internal error.
set -euo pipefail
cd "$(dirname "$0")/.."

root=target/corpus
src=$root/src
timeout_s=${OVERT_CORPUS_TIMEOUT:-20}
runs=${OVERT_CORPUS_RUNS:-3}
jobs=$(nproc 2>/dev/null || echo 2)
python=$(scripts/python-env.sh)
bin_dir=$(dirname "$python")

# Sources: the .py files inside the wheels (sdists need meson builds; wheels carry every .py).
if [ ! -f "$root/.unpacked" ]; then
  rm -rf "$root/wheels" "$src"
  mkdir -p "$root/wheels" "$src"
  echo "downloading wheels into $root/wheels" >&2
  "$python" -m pip download --quiet --disable-pip-version-check --only-binary :all: --no-deps \
    numpy scipy scikit-learn -d "$root/wheels" >&2
  "$python" - "$root/wheels" "$src" <<'EOF'
import pathlib, sys, zipfile
wheels, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for wheel in sorted(wheels.glob("*.whl")):
    target = dest / wheel.name.split("-")[0]
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith(".py"):
                archive.extract(member, target)
EOF
  touch "$root/.unpacked"
fi

if [ ! -x "$bin_dir/ruff" ] || ! "$bin_dir/ruff" --version | grep -q '^ruff 0\.17\.'; then
  echo "installing ruff 0.17 into $(dirname "$bin_dir")" >&2
  "$python" -m pip install --quiet --disable-pip-version-check "ruff==0.17.*" >&2
fi
ruff=$bin_dir/ruff

profile=${OVERT_CORPUS_PROFILE:-release}
echo "building overt ($profile)" >&2
if [ "$profile" = release ]; then
  cargo build --release --quiet
else
  cargo build --quiet
fi
overt=$PWD/target/$profile/overt

out=$root/run
rm -rf "$out"
mkdir -p "$out/json"
find "$src" -name '*.py' -type f | LC_ALL=C sort >"$out/files.txt"
files=$(wc -l <"$out/files.txt")
lines=$(tr '\n' '\0' <"$out/files.txt" | xargs -0 cat | wc -l)

# Pass 1: one process per file, so a crash or hang is pinned to its file.
echo "pass 1: overt check on each of $files files ($jobs at a time, ${timeout_s}s timeout)" >&2
export overt timeout_s out
per_file() {
  local file=$1 key status
  key=$(printf '%s' "$file" | md5sum | cut -c1-16)
  status=0
  timeout --kill-after=5 "$timeout_s" "$overt" check --isolated --exit-zero \
    --output-format json "$file" >"$out/json/$key.json" 2>"$out/json/$key.err" || status=$?
  printf '%s\t%s\t%s\n' "$status" "$key" "$file"
}
export -f per_file
pass1_start=$(date +%s%N)
tr '\n' '\0' <"$out/files.txt" | xargs -0 -P "$jobs" -I{} bash -c 'per_file "$1"' _ {} \
  >"$out/status.tsv"
pass1_end=$(date +%s%N)

# Pass 2: the whole tree in one invocation, alternating with ruff.
echo "pass 2: whole tree, overt and ruff alternating, $runs runs each" >&2
: >"$out/times.tsv"
time_run() { # label command...
  local label=$1 start end
  shift
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  printf '%s\t%s\n' "$label" "$(((end - start) / 1000000))" >>"$out/times.tsv"
}
for _ in $(seq "$runs"); do
  time_run overt "$overt" check --isolated --exit-zero --output-format concise "$src"
  time_run ruff_default "$ruff" check --isolated --no-cache --exit-zero \
    --output-format concise "$src"
  time_run ruff_all "$ruff" check --isolated --no-cache --exit-zero --select ALL \
    --output-format concise "$src"
done

"$python" - "$out" "$files" "$lines" "$(((pass1_end - pass1_start) / 1000000))" \
  "$timeout_s" "$("$ruff" --version)" "$jobs" <<'EOF'
import collections, json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
files, lines, pass1, timeout_s, ruff_version, jobs = sys.argv[2:8]
codes = collections.Counter()
crashes, timeouts, internal, unreadable = [], [], [], []
for row in (out / "status.tsv").read_text().splitlines():
    status, key, path = row.split("\t", 2)
    status = int(status)
    if status in (124, 137):
        timeouts.append(path)
        continue
    if status not in (0, 1):
        err = (out / "json" / f"{key}.err").read_text(errors="replace").strip()
        crashes.append(f"{path} (exit {status}): {err[-300:]}")
    try:
        diagnostics = json.loads((out / "json" / f"{key}.json").read_text() or "[]")
    except json.JSONDecodeError:
        unreadable.append(path)
        continue
    for d in diagnostics:
        codes[d["code"]] += 1
        if d["code"] == "E900":
            internal.append(f"{path}: {d.get('message', '')}")
times = collections.defaultdict(list)
for row in (out / "times.tsv").read_text().splitlines():
    label, millis = row.split("\t")
    times[label].append(int(millis) / 1000)
median = {label: statistics.median(values) for label, values in times.items()}
print(f"corpus: numpy, scipy, scikit-learn wheels ({out.parent / 'src'})")
print(f"files:        {int(files):>9}")
print(f"lines:        {int(lines):>9}")
print(f"pass 1 wall:  {int(pass1) / 1000:>9.2f} s  (one process per file, {jobs} in parallel)")
print(f"diagnostics:  {sum(codes.values()):>9}")
for code, count in sorted(codes.items()):
    print(f"  {code:<10} {count:>9}")
print(f"internal errors (E900, caught panics): {len(internal)}")
print(f"crashes (process died):                {len(crashes)}")
print(f"timeouts (> {timeout_s} s):                  {len(timeouts)}")
print(f"unreadable JSON output:                {len(unreadable)}")
for item in internal[:20] + crashes[:20] + [f"timeout: {t}" for t in timeouts[:20]]:
    print(f"  {item}")
runs = len(times.get("overt", []))
print(f"whole tree, median of {runs} runs (output rendered, sent to /dev/null):")
print(f"  overt check                          {median['overt']:>7.2f} s")
print(f"  {ruff_version + ' check (default rules)':<36} {median['ruff_default']:>7.2f} s"
      f"   overt/ruff = {median['overt'] / median['ruff_default']:.2f}")
print(f"  {ruff_version + ' check --select ALL':<36} {median['ruff_all']:>7.2f} s"
      f"   overt/ruff = {median['overt'] / median['ruff_all']:.2f}")
sys.exit(1 if internal or crashes or timeouts or unreadable else 0)
EOF

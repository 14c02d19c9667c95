"""Runtime benchmark: each workload as idiomatic NumPy and as an Overt program run by
`overt run`, alternating, median of several rounds, computation time only.

NumPy is timed with perf_counter around the computation in this process; Overt reports
its compute time (excluding parsing and file I/O) through the hidden `--time` flag.
Every measurement is a warm one: each round runs NumPy once untimed and then `--repeat`
times timed, and Overt `--repeat + 1` times in one process, the first untimed. A row's
time is the median of all its timed runs (rounds x repeat), which this shared machine
needs: single runs vary by up to 2x. Outputs are checked to agree before any time is
reported.

After NumPy's runs the script waits a moment before starting Overt: OpenBLAS's worker
threads keep spinning for about 0.1 s after a call (its thread timeout), and on a
2-core machine they would take a core from whatever runs next.

Usage: bench.py OVERT_BINARY [--rounds N] [--repeat K] [--only NAME,...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def rng():
    return np.random.default_rng(20261126)


def spd_batch(n, k, r):
    a = r.standard_normal((n, k, k))
    return a + k * np.eye(k)


def attention_np(Q, K, V):
    S = Q @ K.swapaxes(-1, -2) / np.sqrt(Q.shape[-1])
    P = np.exp(S - S.max(axis=-1, keepdims=True))
    return (P @ V) / P.sum(axis=-1, keepdims=True)


def softmax_np(S):
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# name, program, inputs (built once), NumPy computation, output name
WORKLOADS = [
    ("solve_100000x5x5", "solve.ovt",
     lambda r: {"A": spd_batch(100000, 5, r), "x": r.standard_normal((100000, 5))},
     lambda A, x: np.linalg.solve(A, x[..., None])[..., 0], "y"),
    ("solve_1000x64x64", "solve.ovt",
     lambda r: {"A": spd_batch(1000, 64, r), "x": r.standard_normal((1000, 64))},
     lambda A, x: np.linalg.solve(A, x[..., None])[..., 0], "y"),
    ("chain_2000x2000", "chain.ovt",
     lambda r: {k: r.standard_normal((2000, 2000)) for k in "abcd"},
     lambda a, b, c, d: a * b + c - d / 2, "z"),
    ("chain_stretch_2000", "chain_stretch.ovt",
     lambda r: {"a": r.standard_normal((2000, 1)), "b": r.standard_normal((1, 2000)),
                "c": r.standard_normal((2000, 2000)), "d": r.standard_normal((2000, 2000))},
     lambda a, b, c, d: a * b + c - d / 2, "z"),
    ("outer_add_2000", "outer_add.ovt",
     lambda r: {"u": r.standard_normal(2000), "v": r.standard_normal(2000)},
     lambda u, v: u[:, None] + v[None, :], "z"),
    ("center_4000x1000", "center.ovt",
     lambda r: {"X": r.standard_normal((4000, 1000))},
     lambda X: X - X.mean(axis=0), "Xc"),
    ("matmul_1024", "matmul.ovt",
     lambda r: {"A": r.standard_normal((1024, 1024)), "B": r.standard_normal((1024, 1024))},
     lambda A, B: A @ B, "C"),
    ("bmatmul_512x64x64", "bmatmul.ovt",
     lambda r: {"A": r.standard_normal((512, 64, 64)), "B": r.standard_normal((512, 64, 64))},
     lambda A, B: A @ B, "C"),
    ("gather_1e7", "gather1d.ovt",
     lambda r: {"x": r.standard_normal(1_000_000), "idx": r.integers(0, 1_000_000, 10_000_000)},
     lambda x, idx: x[idx], "y"),
    ("gather_pairs_1e7", "gather2d.ovt",
     lambda r: {"A": r.standard_normal((1000, 1000)), "r": r.integers(0, 1000, 10_000_000),
                "c": r.integers(0, 1000, 10_000_000)},
     lambda A, r, c: A[r, c], "y"),
    ("mask_select_1e7", "mask_select.ovt",
     lambda r: {"x": r.standard_normal(10_000_000), "mask": r.random(10_000_000) < 0.5},
     lambda x, mask: x[mask], "y"),
    ("sum_axis0_4000", "sum0.ovt",
     lambda r: {"X": r.standard_normal((4000, 4000))},
     lambda X: X.sum(axis=0), "s"),
    ("sum_axis1_4000", "sum1.ovt",
     lambda r: {"X": r.standard_normal((4000, 4000))},
     lambda X: X.sum(axis=1), "s"),
    ("softmax_4096", "softmax.ovt",
     lambda r: {"S": r.standard_normal((4096, 4096))},
     softmax_np, "P"),
    ("attention_1024x64", "attention.ovt",
     lambda r: {k: r.standard_normal((1024, 64)) for k in "QKV"},
     attention_np, "Y"),
    ("attention_8x1024x64", "attention_heads.ovt",
     lambda r: {k: r.standard_normal((8, 1024, 64)) for k in "QKV"},
     attention_np, "Y"),
    ("einsum_bij_bjk_64x128", "einsum.ovt",
     lambda r: {"A": r.standard_normal((64, 128, 128)), "B": r.standard_normal((64, 128, 128))},
     lambda A, B: np.einsum("bij,bjk->bik", A, B), "C"),
]


# Seconds to let OpenBLAS's spinning worker threads go idle before timing Overt.
BLAS_SETTLE_S = 0.3


def time_numpy(fn, inputs, repeat):
    out = fn(**inputs)  # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(**inputs)
        times.append(time.perf_counter() - t0)
    return times, out


def time_overt(binary, program, data, out_path, repeat):
    cmd = [binary, "run", program, "--in", data, "--out", out_path, "--time",
           "--repeat", str(repeat + 1)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    times = [float(l.split()[1]) for l in proc.stderr.splitlines() if l.startswith("compute_s ")]
    return times[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("overt")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "overt-bench"))
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    os.makedirs(args.data, exist_ok=True)
    try:
        from threadpoolctl import threadpool_info
        blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"# numpy {np.__version__}, BLAS {blas}, rounds {args.rounds} x repeat {args.repeat}, median of warm runs")
    print(f"{'name':<26} {'numpy_s':>10} {'overt_s':>10} {'speedup':>8}")
    speedups = []
    for name, program, make, fn, out_name in WORKLOADS:
        if only and name not in only:
            continue
        inputs = make(rng())
        data = os.path.join(args.data, name + ".npz")
        if not os.path.exists(data):
            np.savez(data, **inputs)
        out_path = os.path.join(args.data, name + ".out.npz")
        prog = os.path.join(HERE, program)
        t_np, t_ov = [], []
        expected = None
        for _ in range(args.rounds):
            t, expected = time_numpy(fn, inputs, args.repeat)
            t_np.extend(t)
            time.sleep(BLAS_SETTLE_S)
            t_ov.extend(time_overt(args.overt, prog, data, out_path, args.repeat))
        got = np.load(out_path)[out_name]
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-9, atol=1e-9):
            err = np.abs(got - expected).max() if got.shape == expected.shape else "shape"
            print(f"{name:<26} MISMATCH (max abs err {err})")
            continue
        mn, mo = statistics.median(t_np), statistics.median(t_ov)
        speedups.append(mn / mo)
        print(f"{name:<26} {mn:>10.5f} {mo:>10.5f} {mn / mo:>7.2f}x", flush=True)
    if speedups:
        geo = float(np.exp(np.mean(np.log(speedups))))
        print(f"geomean speedup {geo:.2f}x over {len(speedups)} workloads")


if __name__ == "__main__":
    sys.exit(main())

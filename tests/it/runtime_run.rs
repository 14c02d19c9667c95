//! `overt run` end to end: programs run on inputs NumPy writes, results compared with
//! NumPy computing the same thing; bad inputs and run-time faults exit 2 with a clear
//! message and leave no output file behind.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> String {
    std::env::var("OVERT_PYTHON")
        .expect("OVERT_PYTHON must name a python with numpy (scripts/test.sh sets it)")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("overt-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_python(dir: &Path, code: &str) -> String {
    let out = Command::new(python())
        .current_dir(dir)
        .args([
            "-c",
            &format!("import numpy as np\nrng = np.random.default_rng(7)\n{code}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a run should produce.
enum Expect<'a> {
    /// Python (with `out = np.load('out.npz')` and the inputs file loaded as `inp`)
    /// that prints `ok` when the outputs are right.
    Agrees(&'a str),
    /// Exit code 2 and this text on stderr; no output file.
    Fails(&'a str),
}

/// Writes `program`, makes inputs with `make_inputs` (Python writing `in.npz` and/or
/// .npy files), runs `overt run program <args> --out out.npz` and checks `expect`.
fn check(name: &str, program: &str, make_inputs: &str, args: &[&str], expect: Expect) {
    let dir = temp_dir(name);
    std::fs::write(dir.join("prog.ovt"), program).unwrap();
    run_python(&dir, make_inputs);
    let out = Command::new(env!("CARGO_BIN_EXE_overt"))
        .current_dir(&dir)
        .arg("run")
        .arg("prog.ovt")
        .args(args)
        .args(["--out", "out.npz"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match expect {
        Expect::Agrees(py) => {
            assert!(out.status.success(), "{name}: overt failed:\n{stderr}");
            let verdict = run_python(
                &dir,
                &format!("out = np.load('out.npz')\ninp = np.load('in.npz') if __import__('os').path.exists('in.npz') else None\n{py}"),
            );
            assert_eq!(verdict.trim(), "ok", "{name}");
        }
        Expect::Fails(msg) => {
            assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
            assert!(stderr.contains(msg), "{name}: want {msg:?} in:\n{stderr}");
            assert!(!dir.join("out.npz").exists(), "{name}: output left behind");
            let leftovers: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
                .collect();
            assert!(
                leftovers.is_empty(),
                "{name}: temporary files left: {leftovers:?}"
            );
        }
    }
}

const SOFTMAX: &str = "input S: f64[n, m]\n\
    def softmax(x: f64[k]) -> f64[k]:\n    mx = max(x[i] for i)\n    e[i] = exp(x[i] - mx)\n    total = sum(e[i] for i)\n    p[i] = e[i] / total\n    return p\n\
    P[t, :] = softmax(S[t, :])\noutput P\n";

#[test]
fn programs_agree_with_numpy() {
    check(
        "softmax",
        SOFTMAX,
        "np.savez('in.npz', S=rng.standard_normal((7, 300)))",
        &["--in", "in.npz"],
        Expect::Agrees("S = inp['S']; e = np.exp(S - S.max(1, keepdims=True))\nprint('ok' if np.allclose(out['P'], e / e.sum(1, keepdims=True), rtol=1e-12) else out['P'])"),
    );
    check(
        "solve",
        "input A: f64[N, K, K]\ninput x: f64[N, K]\ny[b, :] = solve(A[b, :, :], x[b, :])\nd[b] = det(A[b, :, :])\noutput y, d\n",
        "np.save('A.npy', rng.standard_normal((50, 6, 6)) + 6 * np.eye(6)); np.save('x.npy', rng.standard_normal((50, 6)))",
        &["--in", "A=A.npy", "--in", "x=x.npy"],
        Expect::Agrees("A = np.load('A.npy'); x = np.load('x.npy')\nok = np.allclose(out['y'], np.linalg.solve(A, x[..., None])[..., 0], rtol=1e-10) and np.allclose(out['d'], np.linalg.det(A), rtol=1e-10)\nprint('ok' if ok else 'bad')"),
    );
    check(
        "reductions",
        "input X: f64[n, m]\ninput I: i64[n, m]\n\
         a[j] = sum(X[i, j] for i)\nb[i] = mean(X[i, j] for j)\nc[i] = argmax(X[i, j] for j)\n\
         d[j] = min(X[i, j] for i)\ne = logsumexp(X[i, j] for i, j)\nf[i] = sum(I[i, j] for j)\n\
         g[i] = any(X[i, j] > 2.0 for j)\nh[j, i] = X[i, j] * f64(I[i, j])\noutput a, b, c, d, e, f, g, h\n",
        "np.savez('in.npz', X=rng.standard_normal((33, 70)), I=rng.integers(-5, 5, (33, 70)))",
        &["--in", "in.npz"],
        Expect::Agrees(
            "X = inp['X']; I = inp['I']\n\
             from math import log\n\
             m = X.max(); lse = m + np.log(np.exp(X - m).sum())\n\
             checks = [np.allclose(out['a'], X.sum(0)), np.allclose(out['b'], X.mean(1)), (out['c'] == X.argmax(1)).all(),\n\
             np.allclose(out['d'], X.min(0)), np.allclose(out['e'], lse), (out['f'] == I.sum(1)).all(), out['f'].dtype == np.int64,\n\
             (out['g'] == (X > 2).any(1)).all(), np.allclose(out['h'], (X * I).T)]\n\
             print('ok' if all(checks) else checks)",
        ),
    );
    check(
        "gather_groups",
        "input A: f64[a, b]\ninput r: i64[q]\ninput P: f64[g, t, c]\n\
         y[i, j] = A[r[i], j]\nflat[s, (u, v)] = P[u, s, v]\noutput y, flat\n",
        "np.savez('in.npz', A=rng.standard_normal((9, 4)), r=np.array([8, 0, 3, 3]), P=rng.standard_normal((2, 3, 5)))",
        &["--in", "in.npz"],
        Expect::Agrees("ok = np.array_equal(out['y'], inp['A'][inp['r']]) and np.array_equal(out['flat'], inp['P'].transpose(1, 0, 2).reshape(3, 10))\nprint('ok' if ok else 'bad')"),
    );
}

const MASK_SELECT: &str = "input x: f64[n]\ninput M: f64[r, c]\n\
    idx[:, :] = nonzero(x[:] > 0.0)\ny[q] = x[idx[q, 0]]\n\
    pos[:, :] = nonzero(M[:, :] > 0.5)\npicked[p] = M[pos[p, 0], pos[p, 1]]\noutput y, pos, picked\n";

/// `nonzero` through `overt run` on both engines: x[mask], np.argwhere and M[mask].
#[test]
fn mask_select_agrees_with_numpy() {
    for engine in ["fast", "reference"] {
        check(
            &format!("mask_select_{engine}"),
            MASK_SELECT,
            "np.save('x.npy', rng.standard_normal(300001)); np.save('M.npy', rng.random((301, 7)))",
            &["--in", "x=x.npy", "--in", "M=M.npy", "--engine", engine],
            Expect::Agrees("x = np.load('x.npy'); M = np.load('M.npy')\n\
                 ok = np.array_equal(out['y'], x[x > 0]) and np.array_equal(out['pos'], np.argwhere(M > 0.5)) \
                 and out['pos'].dtype == np.int64 and np.array_equal(out['picked'], M[M > 0.5])\n\
                 print('ok' if ok else 'bad')"),
        );
    }
    // The budget sees the most rows `nonzero` can give (every element true) before it counts.
    check(
        "mask_select_memory",
        MASK_SELECT,
        "np.save('x.npy', -np.ones(100000)); np.save('M.npy', np.zeros((2, 2)))",
        &["--in", "x=x.npy", "--in", "M=M.npy", "--max-memory", "1M"],
        Expect::Fails("`idx` needs 781.2 KiB"),
    );
}

#[test]
fn bad_inputs_and_faults_exit_2_without_output() {
    let prog = "input A: f64[n, k]\ninput x: f64[k]\ny[i] = sum(A[i, j] * x[j] for j)\noutput y\n";
    check(
        "size_mismatch",
        prog,
        "np.save('A.npy', np.ones((3, 4))); np.save('x.npy', np.ones(5))",
        &["--in", "A=A.npy", "--in", "x=x.npy"],
        Expect::Fails("axis 0 of `x` has size 5 but is declared k = 4 (from axis 1 of `A`)"),
    );
    check(
        "dtype_mismatch",
        prog,
        "np.save('A.npy', np.ones((3, 4))); np.save('x.npy', np.ones(4, dtype=np.int64))",
        &["--in", "A=A.npy", "--in", "x=x.npy"],
        Expect::Fails("input `x` is declared f64 but the array is i64 (int64)"),
    );
    check(
        "missing_input",
        prog,
        "np.save('A.npy', np.ones((3, 4)))",
        &["--in", "A=A.npy"],
        Expect::Fails("input `x` is not given (pass --in x=FILE.npy)"),
    );
    check(
        "unknown_input",
        prog,
        "np.save('A.npy', np.ones((3, 4)))",
        &["--in", "B=A.npy"],
        Expect::Fails("the program has no input `B` (inputs: A, x)"),
    );
    check(
        "truncated",
        prog,
        "np.save('A.npy', np.ones((3, 4))); np.save('x.npy', np.ones(4))\nb = open('x.npy', 'rb').read(); open('x.npy', 'wb').write(b[:-5])",
        &["--in", "A=A.npy", "--in", "x=x.npy"],
        Expect::Fails("truncated file"),
    );
    check(
        "memory_limit",
        prog,
        "np.save('A.npy', np.ones((300, 400))); np.save('x.npy', np.ones(400))",
        &["--in", "A=A.npy", "--in", "x=x.npy", "--max-memory", "100K"],
        Expect::Fails("`A` needs 937.5 KiB"),
    );
    check(
        "out_of_bounds",
        "input x: f64[n]\ninput idx: i64[q]\ny[i] = x[idx[i]]\noutput y\n",
        "np.savez('in.npz', x=np.arange(5.0), idx=np.array([0, 4, 5]))",
        &["--in", "in.npz"],
        Expect::Fails("index 5 is out of bounds for axis 0 of `x` (size 5)"),
    );
    check(
        "singular",
        "input A: f64[N, K, K]\ninput x: f64[N, K]\ny[b, :] = solve(A[b, :, :], x[b, :])\noutput y\n",
        "np.savez('in.npz', A=np.zeros((2, 3, 3)), x=np.ones((2, 3)))",
        &["--in", "in.npz"],
        Expect::Fails("singular matrix"),
    );
    check(
        "int_overflow",
        "input v: i64[n]\ny[i] = v[i] * v[i]\noutput y\n",
        "np.savez('in.npz', v=np.array([3, 2**40]))",
        &["--in", "in.npz"],
        Expect::Fails("integer multiplication overflows"),
    );
    check(
        "check_error",
        "input v: i64[n]\ny[i] = v[j]\noutput y\n",
        "np.savez('in.npz', v=np.array([3]))",
        &["--in", "in.npz"],
        Expect::Fails("prog.ovt"),
    );
}

//! The checker's typing rules, one program per case: `check(program, expected)` where
//! `expected` is the inferred `name: dtype[shape]` of every defined top-level array, or
//! the `code: message` of every error.

use overt::overt::checker::check_source;
use overt::overt::parser::parse;

fn check(source: &str, expected: &str) {
    let (program, errors) = check_source(source);
    let got = match program {
        Some(p) => p
            .definitions
            .iter()
            .map(|d| {
                let a = p.array(d.array);
                let dims: Vec<String> = a.shape.iter().map(|s| p.display_size(s)).collect();
                format!("{}: {}[{}]", a.name, a.dtype, dims.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        None => errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    assert_eq!(got, expected.trim(), "\n{source}");
}

#[test]
fn shapes_and_dtypes() {
    check(
        "input A: f64[n, k]\ninput B: f64[k, m]\nC[i, j] = sum(A[i, l] * B[l, j] for l)\noutput C\n",
        "C: f64[n, m]",
    );
    check(
        "input A: f32[n]\nB[i] = 2 * A[i] + 0.5\nC[i] = A[i] > 0.0\nD[i, 0] = i64(C[i])\noutput B, C, D\n",
        "B: f32[n]\nC: bool[n]\nD: i64[n, 1]",
    );
    check(
        "input A: f64[n]\nsize w\nB[i in range(n - w + 1)] = sum(A[i + j] for j in range(w))\noutput B\n",
        "B: f64[n - w + 1]",
    );
    check(
        "input A: f64[a, b, c]\nS[:, :] = A[0, 1:b:2, :]\nT[(p, q)] = A[p, q, 0]\noutput S, T\n",
        "S: f64[(b - 1 + 2 - 1) // 2, c]\nT: f64[a * b]",
    );
    check(
        "input F: f64[g, h]\nG[i, (x, y)] = F[i, (x, y)] for_later\noutput G\n",
        "overt::syntax: expected end of line, found `for_later`",
    );
    check(
        "size g\ninput K: f64[h]\ninput F: f64[n, g * h]\nG[i, x, y] = F[i, (x, y)] + K[y]\noutput G\n",
        "G: f64[n, g, h]",
    );
    check(
        "input F: f64[n, g * h]\nG[i] = F[i, 0]\noutput G\n",
        "overt::unknown-name: unknown size `g`\novert::unknown-name: unknown size `h`",
    );
    check(
        "input x: f64[n]\ndef sq(v: f64[k]) -> f64[k]:\n    w[i] = v[i] * v[i]\n    return w\nY[:] = sq(x[:])\noutput Y\n",
        "Y: f64[n]",
    );
}

#[test]
fn rejected_programs() {
    check(
        "input A: f64[n]\ninput B: f64[m]\nC[i] = A[i] + B[i]\noutput C\n",
        "overt::domain: axis 0 of `B` has size m but `i` ranges over n",
    );
    check(
        "input A: i64[n]\nB[i] = A[i] / 2\noutput B\n",
        "overt::dtype: `/` divides floats, found i64",
    );
    check(
        "input A: i64[n]\nB[i] = A[i] + 0.5\noutput B\n",
        "overt::dtype: `+` needs operands of one dtype, found i64 and f64",
    );
    check(
        "input A: f64[n]\nB[i] = A[i]\nB[j] = A[j]\noutput B\n",
        "overt::redefined: `B` is already defined",
    );
    check(
        "input A: f64[n, m]\nB[i] = A[i, :]\noutput B\n",
        "overt::rank: the value has 1 positional axes [m] but the left side takes 0",
    );
    check(
        "input A: f64[n, m]\nB[i, :, :] = A[i, :]\noutput B\n",
        "overt::rank: the value has 1 positional axes but the left side has more `:`",
    );
    check(
        "input A: f64[n]\nB[i] = sum(A[i] for i)\noutput B\n",
        "overt::redefined: `i` is already an index variable here",
    );
    check(
        "input A: bool[n]\nB = sum(A[i] for i)\noutput B\n",
        "overt::dtype: `sum` reduces numbers (cast bools with `i64(...)`), found bool",
    );
    check(
        "input A: f64[n, n]\nB = argmax(A[i, j] for i, j)\noutput B\n",
        "overt::rank: `argmax` takes exactly one index variable",
    );
    check(
        "input A: f64[n]\nB[i] = A[i]\noutput B, B\n",
        "overt::output: `B` is already an output",
    );
    check(
        "input A: f64[n]\nsum[i] = A[i]\noutput A\n",
        "overt::redefined: `sum` names a function; pick another name",
    );
    check(
        "input A: f64[n]\ninput n2: f64[n]\nB[n2] = A[n2]\noutput B\n",
        "overt::redefined: index variable `n2` has the name of an array, size or function",
    );
    check(
        "input A: f64[n]\nB[:] = A[0:n:0]\noutput B\n",
        "overt::rank: a slice step must be at least 1",
    );
    check(
        "input x: f64[n]\ndef f(v: f64[k, k]) -> f64[k]:\n    w[i] = v[i, i]\n    return w\nY[:] = f(x[:])\noutput Y\n",
        "overt::signature: `v` of `f` has 2 axes, this argument has 1 positional axes",
    );
}

/// Parsing never fails or panics: every prefix of every fixture yields a tree or errors.
/// `nonzero`: its result is `i64[len(idx), r]`, and `len(idx)` is a size of its own.
#[test]
fn nonzero_sizes_are_fresh() {
    const X: &str = "input x: f64[n]\ninput M: bool[r, c]\n";
    let check_x = |body: &str, expected: &str| check(&format!("{X}{body}"), expected);
    check_x(
        "idx[:, :] = nonzero(x[:] > 0.0)\ny[q] = x[idx[q, 0]]\npos[:, :] = nonzero(M[:, :])\nk[p] = M[pos[p, 0], pos[p, 1]]\noutput y, k\n",
        "idx: i64[len(idx), 1]\ny: f64[len(idx)]\npos: i64[len(pos), 2]\nk: bool[len(pos)]",
    );
    check_x(
        "idx[:, :] = nonzero(x[:])\noutput idx\n",
        "overt::dtype: `nonzero` takes a bool mask, found f64",
    );
    check_x(
        "idx[:, :] = nonzero(x[:] > 0.0)\nz[q] = x[idx[q, 0]] + x[q]\noutput z\n",
        "overt::domain: axis 0 of `x` has size n but `q` ranges over len(idx)",
    );
    // The row count cannot be written, so no input can bind it.
    check_x(
        "idx[:, :] = nonzero(x[:] > 0.0)\ninput w: f64[len(idx)]\noutput idx\n",
        "overt::syntax: expected `]`, found `(`",
    );
    check_x(
        "a[:, :] = nonzero(x[:] > 0.0)\nb[:, :] = nonzero(M[:, :])\nz[q] = a[q, 0] + b[q, 0]\noutput z\n",
        "overt::domain: axis 0 of `b` has size len(b) but `q` ranges over len(a)",
    );
    check_x(
        "idx[q, :] = nonzero(x[:] > 0.0)\noutput idx\n",
        "overt::rank: `nonzero` gives a 2-D array (one row per true element), so the left side is `idx[:, :]`",
    );
    check_x(
        "y[:, :] = 1 + nonzero(x[:] > 0.0)\noutput y\n",
        "overt::signature: `nonzero` must be the whole right side of a definition: its result size depends on the data",
    );
    check_x(
        "idx[:, :] = nonzero(M[i, :])\noutput idx\n",
        "overt::free-index: index `i` is free: reduce it with `sum(... for i)` or put it on the left",
    );
    check_x(
        "idx[:, :] = nonzero(x[0] > 0.0)\noutput idx\n",
        "overt::signature: `nonzero` needs a mask with at least one `:` axis",
    );
    check_x(
        "def f(m: bool[e]) -> i64[e, 1]:\n    p[:, :] = nonzero(m[:])\n    return p\n\nout[:, :] = f(M[0, :])\noutput out\n",
        "overt::signature: `nonzero` cannot be used inside a `def`: its result size depends on the data",
    );
}

#[test]
fn truncated_sources_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/overt");
    let mut checked = 0;
    for sub in [dir.clone(), dir.join("errors")] {
        for entry in std::fs::read_dir(sub).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|x| x != "ovt") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("fixture");
            for (cut, _) in text.char_indices() {
                let prefix = &text[..cut];
                let _ = check_source(prefix);
                // Also with the rest of the line dropped and garbage appended.
                let _ = parse(&format!("{prefix} ) ] ( [ : \u{e9} \t\n  x"));
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
}

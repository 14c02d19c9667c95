//! Row fusion and the small-matrix kernel against the reference evaluator: programs whose
//! definitions run row by row in the fast executor (intermediates that are never
//! materialised, kept members read inside and after the group, reads that forbid fusion,
//! rows computed in a permuted loop order), contractions of every layout and batched solves
//! (eight systems per vector lane, strided cores, computed indices), on sizes large enough
//! for the parallel paths. Floats agree within 1e-12 relative.

use std::collections::HashMap;

use overt::overt::checker::check_source;
use overt::runtime::exec::execute;
use overt::runtime::lower::lower;
use overt::runtime::reference::evaluate;
use overt::runtime::{MemoryBudget, Tensor, TensorData};

/// Deterministic test data in [-2, 2).
fn data(shape: &[usize], salt: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ salt;
    let v = (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
        })
        .collect();
    Tensor::from_f64(shape.to_vec(), v).unwrap()
}

fn indices(len: usize, below: usize) -> Tensor {
    let v = (0..len).map(|i| ((i * 7919 + 13) % below) as i64).collect();
    Tensor::new(vec![len], TensorData::I64(v)).unwrap()
}

/// Runs `source` on both engines and compares every output.
fn check(source: &str, inputs: Vec<(&str, Tensor)>) {
    let (program, diags) = check_source(source);
    let program = program.unwrap_or_else(|| panic!("does not check: {diags:#?}\n{source}"));
    let named: HashMap<String, Tensor> = inputs
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    let (sizes, ins) =
        overt::runtime::reference::bind_inputs(&program, named, &Default::default()).unwrap();
    let budget = MemoryBudget::unlimited();
    let want = evaluate(&program, &sizes, ins.clone(), &budget).unwrap();
    let plan = lower(&program).unwrap_or_else(|u| panic!("lower: {}", u.message));
    let got = execute(&plan, &sizes, ins, &budget).unwrap();
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.shape(), w.shape(), "output {k}");
        match (g.data(), w.data()) {
            (TensorData::F64(g), TensorData::F64(w)) => {
                for (i, (a, b)) in g.iter().zip(w).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                        "output {k} element {i}: {a} vs {b}\n{source}"
                    );
                }
            }
            (g, w) => assert_eq!(g, w, "output {k}\n{source}"),
        }
    }
}

#[test]
fn softmax_rows_with_unmaterialised_intermediates() {
    check(
        "input S: f64[n, m]\n\
         mx[t] = max(S[t, u] for u)\n\
         e[t, u] = exp(S[t, u] - mx[t])\n\
         z[t] = sum(e[t, u] for u)\n\
         P[t, u] = e[t, u] / z[t]\n\
         output P\n",
        vec![("S", data(&[64, 2100], 1))],
    );
}

#[test]
fn attention_keeps_members_read_inside_and_after_the_group() {
    check(
        "input Q: f64[n, d]\ninput K: f64[n, d]\ninput V: f64[n, d]\n\
         S[t, u] = sum(Q[t, c] * K[u, c] for c) / sqrt(f64(d))\n\
         mx[t] = max(S[t, u] for u)\n\
         P[t, u] = exp(S[t, u] - mx[t])\n\
         z[t] = sum(P[t, u] for u)\n\
         Y[t, c] = sum(P[t, u] * V[u, c] for u) / z[t]\n\
         output Y, z, mx\n",
        vec![
            ("Q", data(&[130, 24], 2)),
            ("K", data(&[130, 24], 3)),
            ("V", data(&[130, 24], 4)),
        ],
    );
}

#[test]
fn attention_over_many_row_chunks_writes_every_kept_row() {
    // 300 rows of 300: the group runs in several chunks across threads. Kept members of
    // every kind: element-wise and read after the group (P), reductions read inside it
    // (mx, z) and one read by no one (am, computed in place).
    check(
        "input Q: f64[n, d]\ninput K: f64[n, d]\ninput V: f64[n, d]\n\
         S[t, u] = sum(Q[t, c] * K[u, c] for c) / sqrt(f64(d))\n\
         mx[t] = max(S[t, u] for u)\n\
         am[t] = argmax(S[t, u] for u)\n\
         P[t, u] = exp(S[t, u] - mx[t])\n\
         z[t] = sum(P[t, u] for u)\n\
         Y[t, c] = sum(P[t, u] * V[u, c] for u) / z[t]\n\
         output Y, P, z, mx, am\n",
        vec![
            ("Q", data(&[300, 16], 11)),
            ("K", data(&[300, 16], 12)),
            ("V", data(&[300, 16], 13)),
        ],
    );
}

const HEADS: &str = "input Q: f64[h, n, d]\ninput K: f64[h, n, d]\ninput V: f64[h, n, d]\n\
     def attention(Q: f64[n, d], K: f64[n, d], V: f64[n, d]) -> f64[n, d]:\n\
     \x20   S[t, u] = sum(Q[t, c] * K[u, c] for c) / sqrt(f64(d))\n\
     \x20   mx[t] = max(S[t, u] for u)\n\
     \x20   P[t, u] = exp(S[t, u] - mx[t])\n\
     \x20   z[t] = sum(P[t, u] for u)\n\
     \x20   Y[t, c] = sum(P[t, u] * V[u, c] for u) / z[t]\n\
     \x20   return Y\n\
     Y[g, :, :] = attention(Q[g, :, :], K[g, :, :], V[g, :, :])\n\
     output Y\n";

/// Attention over `h` heads of `n` positions (d = 8).
fn heads(h: usize, n: usize) {
    check(
        HEADS,
        vec![
            ("Q", data(&[h, n, 8], 14)),
            ("K", data(&[h, n, 8], 15)),
            ("V", data(&[h, n, 8], 16)),
        ],
    );
}

#[test]
fn attention_mapped_over_few_heads_runs_by_rows_of_scores() {
    // Five heads are too few rows to share out: the group runs over (head, position),
    // 550 rows of 110 scores, each row index split into its two variables.
    heads(5, 110);
}

#[test]
fn attention_mapped_over_heads_whose_rows_are_whole_matrices() {
    // Forty heads are rows enough: a row of the group is a head, an n x n score matrix
    // per row array.
    heads(40, 70);
    // Few heads, but rows of scores too short to pay: still a head per row.
    heads(3, 20);
}

#[test]
fn a_read_of_another_row_ends_the_group() {
    // r reads s transposed (s[u, t]): row t of r needs column t of s, so s is complete
    // before r starts; the results must not depend on the row order.
    check(
        "input A: f64[n, n]\n\
         s[t, u] = A[t, u] * 2.0\n\
         r[t, u] = s[u, t] + s[t, u]\n\
         q[t] = sum(r[t, u] for u)\n\
         output q\n",
        vec![("A", data(&[300, 300], 5))],
    );
}

#[test]
fn rows_with_several_axes_gathers_and_integers() {
    check(
        "input X: f64[n, m, k]\ninput idx: i64[m]\n\
         a[t, i, j] = X[t, i, j] * X[t, i, j]\n\
         b[t, j, i] = a[t, i, j] + 1.0\n\
         c[t, i] = sum(b[t, j, idx[i]] for j)\n\
         w[t] = argmax(c[t, i] for i)\n\
         output c, w\n",
        vec![("X", data(&[20, 30, 40], 6)), ("idx", indices(30, 30))],
    );
}

#[test]
fn small_and_large_contractions_in_every_layout() {
    for (m, n, k) in [(64, 64, 64), (33, 17, 70), (130, 20, 40), (20, 140, 9)] {
        check(
            "input A: f64[b, m, k]\ninput B: f64[b, k, n]\ninput At: f64[b, k, m]\n\
             input Bt: f64[b, n, k]\n\
             C[g, i, j] = sum(A[g, i, p] * B[g, p, j] for p)\n\
             D[g, i, j] = sum(At[g, p, i] * Bt[g, j, p] for p)\n\
             E[g, j, i] = sum(A[g, i, p] * Bt[g, j, p] for p)\n\
             output C, D, E\n",
            vec![
                ("A", data(&[3, m, k], 7)),
                ("B", data(&[3, k, n], 8)),
                ("At", data(&[3, k, m], 9)),
                ("Bt", data(&[3, n, k], 10)),
            ],
        );
    }
}

#[test]
fn batched_solves_in_lanes_with_strided_cores_and_computed_indices() {
    // Sizes that run eight systems per vector lane (5, 12, 64 unknowns) and one that runs
    // one system at a time (70); 13 batch points leave a partly filled group. The matrix's
    // core axes are not contiguous (the batch axis sits between them), one argument is
    // addressed through an index array, and B has several right-hand sides.
    for n in [5, 12, 64, 70] {
        // Diagonally dominant (well conditioned), so both engines' roundings stay within the
        // comparison's 1e-12: A[i, b, j] with 4n added where i == j.
        let TensorData::F64(mut a) = data(&[n, 13, n], 20).data().clone() else {
            unreachable!()
        };
        for i in 0..n {
            for b in 0..13 {
                a[(i * 13 + b) * n + i] += 4.0 * n as f64;
            }
        }
        let a = Tensor::from_f64(vec![n, 13, n], a).unwrap();
        check(
            "input A: f64[k, q, k]\ninput B: f64[q, k, r]\ninput x: f64[q, k]\ninput idx: i64[q]\n\
             y[b, :] = solve(A[:, b, :], x[idx[b], :])\n\
             Y[b, :, :] = solve(A[:, b, :], B[b, :, :])\n\
             output y, Y\n",
            vec![
                ("A", a),
                ("B", data(&[13, n, 3], 21)),
                ("x", data(&[13, n], 22)),
                ("idx", indices(13, 13)),
            ],
        );
    }
}

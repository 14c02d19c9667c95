//! Executor unit tests on hand-built plans, compared with direct loops.

use ruff_text_size::TextRange;

use super::*;
use crate::overt::size::Size;
use crate::runtime::plan::{BinaryOp, Builtin, CallArg, Slot, VarInfo};

fn var(name: &str, n: i64) -> VarInfo {
    VarInfo {
        name: name.into(),
        extent: Size::Const(n),
    }
}

fn arr(name: &str, dtype: Dtype, dims: &[i64]) -> ArrayInfo {
    ArrayInfo {
        name: name.into(),
        dtype,
        dims: dims.iter().map(|&d| Size::Const(d)).collect(),
        span: TextRange::default(),
    }
}

fn load(a: usize, vars: &[usize]) -> Expr {
    Expr::Load {
        array: a,
        index: vars.iter().map(|&v| Expr::Var(v)).collect(),
        span: TextRange::default(),
    }
}

fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(a),
        rhs: Box::new(b),
        span: TextRange::default(),
    }
}

fn reduce(op: ReduceOp, vars: &[usize], body: Expr) -> Expr {
    Expr::Reduce {
        op,
        vars: vars.to_vec(),
        body: Box::new(body),
        span: TextRange::default(),
    }
}

fn map(target: usize, lhs: &[usize], body: Expr) -> Step {
    Step {
        target,
        kind: StepKind::Map {
            lhs: lhs.iter().map(|&v| vec![v]).collect(),
            body,
        },
        span: TextRange::default(),
    }
}

fn seq(n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) * scale)
        .collect()
}

/// Runs `steps` over inputs A[m,k], B[k,n] and returns every output.
fn run(
    vars: Vec<VarInfo>,
    arrays: Vec<ArrayInfo>,
    steps: Vec<Step>,
    inputs: Vec<Tensor>,
    outputs: Vec<usize>,
) -> Vec<Tensor> {
    let plan = Plan {
        sizes: vec![],
        vars,
        inputs: (0..inputs.len()).collect(),
        arrays,
        steps,
        outputs,
    };
    execute(&plan, &[], inputs, &MemoryBudget::unlimited()).unwrap()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-9 * (1.0 + y.abs()),
            "at {k}: {x} vs {y}"
        );
    }
}

#[test]
fn matmul_transposed_and_reductions_match_loops() {
    let (m, k, n) = (37usize, 53usize, 41usize);
    let a = seq(m * k, 0.1);
    let b = seq(k * n, 0.01);
    // vars: i, j, p
    let vars = vec![var("i", m as i64), var("j", n as i64), var("p", k as i64)];
    let arrays = vec![
        arr("A", Dtype::F64, &[m as i64, k as i64]),
        arr("B", Dtype::F64, &[k as i64, n as i64]),
        arr("C", Dtype::F64, &[m as i64, n as i64]),
        arr("Ct", Dtype::F64, &[n as i64, m as i64]),
        arr("r0", Dtype::F64, &[k as i64]),
        arr("r1", Dtype::F64, &[m as i64]),
        arr("am", Dtype::I64, &[m as i64]),
        arr("Xc", Dtype::F64, &[m as i64, k as i64]),
    ];
    let prod = bin(BinaryOp::Mul, load(0, &[0, 2]), load(1, &[2, 1]));
    let steps = vec![
        map(2, &[0, 1], reduce(ReduceOp::Sum, &[2], prod.clone())),
        map(3, &[1, 0], reduce(ReduceOp::Sum, &[2], prod)),
        map(4, &[2], reduce(ReduceOp::Sum, &[0], load(0, &[0, 2]))),
        map(5, &[0], reduce(ReduceOp::Max, &[2], load(0, &[0, 2]))),
        map(6, &[0], reduce(ReduceOp::Argmax, &[2], load(0, &[0, 2]))),
        map(
            7,
            &[0, 2],
            bin(
                BinaryOp::Sub,
                load(0, &[0, 2]),
                reduce(ReduceOp::Mean, &[1], load(2, &[0, 1])),
            ),
        ),
    ];
    let ta = Tensor::from_f64(vec![m, k], a.clone()).unwrap();
    let tb = Tensor::from_f64(vec![k, n], b.clone()).unwrap();
    let out = run(vars, arrays, steps, vec![ta, tb], vec![2, 3, 4, 5, 6, 7]);
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    close(out[0].as_f64().unwrap(), &c);
    let ct: Vec<f64> = (0..n * m).map(|x| c[(x % m) * n + x / m]).collect();
    close(out[1].as_f64().unwrap(), &ct);
    let r0: Vec<f64> = (0..k).map(|p| (0..m).map(|i| a[i * k + p]).sum()).collect();
    close(out[2].as_f64().unwrap(), &r0);
    let r1: Vec<f64> = (0..m)
        .map(|i| {
            (0..k)
                .map(|p| a[i * k + p])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    close(out[3].as_f64().unwrap(), &r1);
    let am: Vec<i64> = (0..m)
        .map(|i| {
            let row = &a[i * k..(i + 1) * k];
            row.iter().position(|&x| x == r1[i]).unwrap() as i64
        })
        .collect();
    assert_eq!(out[4].as_i64().unwrap(), am.as_slice());
    let xc: Vec<f64> = (0..m * k)
        .map(|x| a[x] - c[(x / k) * n..(x / k + 1) * n].iter().sum::<f64>() / n as f64)
        .collect();
    close(out[5].as_f64().unwrap(), &xc);
}

#[test]
fn gathers_check_bounds_and_solve_batches() {
    let vars = vec![var("i", 4), var("b", 3)];
    let arrays = vec![
        arr("x", Dtype::F64, &[5]),
        arr("idx", Dtype::I64, &[4]),
        arr("y", Dtype::F64, &[4]),
    ];
    let x = Tensor::from_f64(vec![5], vec![10.0, 11.0, 12.0, 13.0, 14.0]).unwrap();
    let gather = Expr::Load {
        array: 0,
        index: vec![load(1, &[0])],
        span: TextRange::new(3.into(), 9.into()),
    };
    let idx = Tensor::from_i64(vec![4], vec![4, 0, 2, 2]).unwrap();
    let out = run(
        vars.clone(),
        arrays.clone(),
        vec![map(2, &[0], gather.clone())],
        vec![x.clone(), idx],
        vec![2],
    );
    assert_eq!(out[0].as_f64().unwrap(), &[14.0, 10.0, 12.0, 12.0]);
    let bad = Tensor::from_i64(vec![4], vec![4, 0, 5, 2]).unwrap();
    let plan = Plan {
        sizes: vec![],
        vars,
        inputs: vec![0, 1],
        arrays,
        steps: vec![map(2, &[0], gather)],
        outputs: vec![2],
    };
    let err = execute(&plan, &[], vec![x, bad], &MemoryBudget::unlimited()).unwrap_err();
    assert_eq!(
        err.message,
        "index 5 is out of bounds for axis 0 of `x` (size 5)"
    );
    assert_eq!(err.span, Some(TextRange::new(3.into(), 9.into())));

    // y[b, :] = solve(A[b, :, :], r[b, :]) for three 2x2 systems.
    let vars = vec![var("b", 3)];
    let arrays = vec![
        arr("A", Dtype::F64, &[3, 2, 2]),
        arr("r", Dtype::F64, &[3, 2]),
        arr("y", Dtype::F64, &[3, 2]),
    ];
    let a = Tensor::from_f64(
        vec![3, 2, 2],
        vec![2.0, 0.0, 0.0, 4.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0],
    )
    .unwrap();
    let r = Tensor::from_f64(vec![3, 2], vec![2.0, 8.0, 3.0, 5.0, 3.0, 1.0]).unwrap();
    let arg = |array: usize, wholes: usize| CallArg {
        array,
        slots: std::iter::once(Slot::Index(Expr::Var(0)))
            .chain((0..wholes).map(|_| Slot::Whole))
            .collect(),
        span: TextRange::default(),
    };
    let step = Step {
        target: 2,
        kind: StepKind::Call {
            batch: vec![0],
            builtin: Builtin::SolveVec,
            args: vec![arg(0, 2), arg(1, 1)],
        },
        span: TextRange::default(),
    };
    let out = run(vars, arrays, vec![step], vec![a, r], vec![2]);
    close(out[0].as_f64().unwrap(), &[1.0, 2.0, 5.0, 3.0, 2.0, 1.0]);
}

#[test]
fn column_reductions_split_long_rows_across_threads() {
    let (m, n) = (10usize, 9000usize);
    let x = seq(m * n, 0.5);
    let vars = vec![var("i", m as i64), var("j", n as i64)];
    let arrays = vec![
        arr("X", Dtype::F64, &[m as i64, n as i64]),
        arr("s", Dtype::F64, &[n as i64]),
        arr("a", Dtype::I64, &[n as i64]),
    ];
    let steps = vec![
        map(1, &[1], reduce(ReduceOp::Sum, &[0], load(0, &[0, 1]))),
        map(2, &[1], reduce(ReduceOp::Argmin, &[0], load(0, &[0, 1]))),
    ];
    let out = run(
        vars,
        arrays,
        steps,
        vec![Tensor::from_f64(vec![m, n], x.clone()).unwrap()],
        vec![1, 2],
    );
    let s: Vec<f64> = (0..n).map(|j| (0..m).map(|i| x[i * n + j]).sum()).collect();
    close(out[0].as_f64().unwrap(), &s);
    let a: Vec<i64> = (0..n)
        .map(|j| {
            let col: Vec<f64> = (0..m).map(|i| x[i * n + j]).collect();
            let best = col.iter().copied().fold(f64::INFINITY, f64::min);
            col.iter().position(|&v| v == best).unwrap() as i64
        })
        .collect();
    assert_eq!(out[1].as_i64().unwrap(), a.as_slice());
}

#[test]
fn gathers_over_two_columns_and_beside_a_contiguous_axis() {
    // y[i] = A[r[i], c[i]], then z[i, j] = A[r[i], j] for a 3x4 A.
    let vars = vec![var("i", 3), var("j", 4)];
    let arrays = vec![
        arr("A", Dtype::F64, &[3, 4]),
        arr("r", Dtype::I64, &[3]),
        arr("c", Dtype::I64, &[3]),
        arr("y", Dtype::F64, &[3]),
        arr("z", Dtype::F64, &[3, 4]),
    ];
    let a = Tensor::from_f64(vec![3, 4], (0..12).map(f64::from).collect()).unwrap();
    let pairs = Expr::Load {
        array: 0,
        index: vec![load(1, &[0]), load(2, &[0])],
        span: TextRange::default(),
    };
    let rows = Expr::Load {
        array: 0,
        index: vec![load(1, &[0]), Expr::Var(1)],
        span: TextRange::default(),
    };
    let steps = vec![map(3, &[0], pairs), map(4, &[0, 1], rows)];
    let r = Tensor::from_i64(vec![3], vec![2, 0, 1]).unwrap();
    let c = Tensor::from_i64(vec![3], vec![3, 1, 0]).unwrap();
    let out = run(
        vars.clone(),
        arrays.clone(),
        steps.clone(),
        vec![a.clone(), r.clone(), c],
        vec![3, 4],
    );
    assert_eq!(out[0].as_f64().unwrap(), &[11.0, 1.0, 4.0]);
    let want: Vec<f64> = [2.0, 0.0, 1.0]
        .iter()
        .flat_map(|&row| (0..4).map(move |j| row * 4.0 + f64::from(j)))
        .collect();
    assert_eq!(out[1].as_f64().unwrap(), &want[..]);
    // The second column out of bounds: the error names axis 1.
    let plan = Plan {
        sizes: vec![],
        vars,
        inputs: vec![0, 1, 2],
        arrays,
        steps,
        outputs: vec![3],
    };
    let bad = Tensor::from_i64(vec![3], vec![3, 4, 0]).unwrap();
    let err = execute(&plan, &[], vec![a, r, bad], &MemoryBudget::unlimited()).unwrap_err();
    assert_eq!(
        err.message,
        "index 4 is out of bounds for axis 1 of `A` (size 4)"
    );
}

#[test]
fn large_element_wise_outputs_are_written_in_full_on_every_path() {
    // One long row (split across threads), many rows (chunked across threads), and a
    // small one (one thread): y = 2 * x + i, each element checked.
    for (rows, cols) in [(1usize, 200_000usize), (300, 700), (3, 5)] {
        let vars = vec![var("i", rows as i64), var("j", cols as i64)];
        let arrays = vec![
            arr("x", Dtype::F64, &[rows as i64, cols as i64]),
            arr("y", Dtype::F64, &[rows as i64, cols as i64]),
        ];
        let x: Vec<f64> = (0..rows * cols).map(|v| (v % 977) as f64 * 0.5).collect();
        let body = bin(
            BinaryOp::Add,
            bin(
                BinaryOp::Mul,
                Expr::Const(Scalar::F64(2.0)),
                load(0, &[0, 1]),
            ),
            Expr::Cast {
                dtype: Dtype::F64,
                arg: Box::new(Expr::Var(0)),
            },
        );
        let out = run(
            vars,
            arrays,
            vec![map(1, &[0, 1], body)],
            vec![Tensor::from_f64(vec![rows, cols], x.clone()).unwrap()],
            vec![1],
        );
        let want: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(k, &v)| 2.0 * v + (k / cols) as f64)
            .collect();
        assert_eq!(out[0].as_f64().unwrap(), &want[..], "{rows}x{cols}");
    }
}

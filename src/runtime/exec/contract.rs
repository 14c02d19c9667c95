//! Sum-of-products contractions (`C[b,i,j] = sum(A[b,i,k] * B[b,k,j] for k)`, in any axis
//! order) routed to matrix multiply: operands are viewed (or, when their axes are not
//! grouped batch/row/reduced, packed once) as batches of matrices and multiplied: f64 with
//! the kernels of `gemm` (they beat faer's here), f32 with faer.

use faer::{Accum, MatMut, MatRef, Par};

use crate::runtime::plan::{ArrayId, BinaryOp, Expr, Plan, ReduceOp, Step, VarId};
use crate::runtime::tensor::{Tensor, TensorData};

use super::gemm::{gemm, Out, Strides, BLOCKED};
use super::{permute, Arrays, ExecError, Executor};

/// Below this many multiply-adds the block loops are as fast as a matmul call.
const MIN_FLOPS: usize = 1 << 15;

/// A load of the form `X[v0, v1, ...]` with distinct plain variables.
fn plain_load(e: &Expr) -> Option<(usize, Vec<VarId>)> {
    let Expr::Load { array, index, .. } = e else {
        return None;
    };
    let mut vars = Vec::new();
    for ix in index {
        match ix {
            Expr::Var(v) if !vars.contains(v) => vars.push(*v),
            _ => return None,
        }
    }
    Some((*array, vars))
}

/// The roles of the variables of a sum-of-products definition.
pub(super) struct Contraction<'e> {
    a_id: ArrayId,
    a_vars: Vec<VarId>,
    b_id: ArrayId,
    b_vars: Vec<VarId>,
    kvars: &'e [VarId],
    out: Vec<VarId>,
    batch: Vec<VarId>,
    m_vars: Vec<VarId>,
    n_vars: Vec<VarId>,
}

/// Recognises `target[out] = sum(A[..] * B[..] for k)` over plain variables, in a float
/// dtype shared by all three arrays; None for anything else.
pub(super) fn analyse<'e>(
    plan: &Plan,
    target: ArrayId,
    lhs: &[Vec<VarId>],
    body: &'e Expr,
) -> Option<Contraction<'e>> {
    let Expr::Reduce {
        op: ReduceOp::Sum,
        vars: kvars,
        body,
        ..
    } = body
    else {
        return None;
    };
    let Expr::Binary {
        op: BinaryOp::Mul,
        lhs: a,
        rhs: b,
        ..
    } = &**body
    else {
        return None;
    };
    let (a_id, a_vars) = plain_load(a)?;
    let (b_id, b_vars) = plain_load(b)?;
    let dtype = plan.arrays[target].dtype;
    if !dtype.is_float()
        || plan.arrays[a_id].dtype != dtype
        || plan.arrays[b_id].dtype != dtype
        || lhs.iter().any(|g| g.len() != 1)
    {
        return None;
    }
    let out: Vec<VarId> = lhs.iter().flatten().copied().collect();
    let in_a = |v: &VarId| a_vars.contains(v);
    let in_b = |v: &VarId| b_vars.contains(v);
    // Every variable is an output or reduced one; reduced ones appear in both operands.
    let known = |v: &VarId| out.contains(v) || kvars.contains(v);
    if !a_vars.iter().all(known)
        || !b_vars.iter().all(known)
        || !kvars.iter().all(|v| in_a(v) && in_b(v))
    {
        return None;
    }
    if !out.iter().all(|v| in_a(v) || in_b(v)) {
        return None;
    }
    let batch: Vec<VarId> = out.iter().copied().filter(|v| in_a(v) && in_b(v)).collect();
    let m_vars: Vec<VarId> = out
        .iter()
        .copied()
        .filter(|v| in_a(v) && !in_b(v))
        .collect();
    let n_vars: Vec<VarId> = out
        .iter()
        .copied()
        .filter(|v| in_b(v) && !in_a(v))
        .collect();
    Some(Contraction {
        a_id,
        a_vars,
        b_id,
        b_vars,
        kvars,
        out,
        batch,
        m_vars,
        n_vars,
    })
}

/// Runs `step` as a batched matrix multiply when its body is a plain contraction; None
/// when it is not one (the caller runs the general loops).
pub(super) fn try_contract(
    exec: &Executor<'_>,
    step: &Step,
    lhs: &[Vec<VarId>],
    body: &Expr,
    extents: &[usize],
    arrays: Arrays<'_>,
) -> Option<Result<Tensor, ExecError>> {
    let plan = analyse(exec.plan, step.target, lhs, body)?;
    let dtype = exec.plan.arrays[step.target].dtype;
    let size = |vs: &[VarId]| vs.iter().map(|&v| extents[v]).product::<usize>();
    let (nb, m, n, k) = (
        size(&plan.batch),
        size(&plan.m_vars),
        size(&plan.n_vars),
        size(plan.kvars),
    );
    if nb.saturating_mul(m).saturating_mul(n).saturating_mul(k) < MIN_FLOPS {
        return None;
    }
    let shape: Vec<usize> = plan.out.iter().map(|&v| extents[v]).collect();
    if let Err(e) = exec.reserve(step, dtype, &shape) {
        return Some(Err(e));
    }
    let a_t = exec.array(arrays, plan.a_id).ok()?;
    let b_t = exec.array(arrays, plan.b_id).ok()?;
    let shapes = Shapes {
        batch: &plan.batch,
        m_vars: &plan.m_vars,
        n_vars: &plan.n_vars,
        kvars: plan.kvars,
        extents,
    };
    let order_c: Vec<VarId> = plan
        .batch
        .iter()
        .chain(&plan.m_vars)
        .chain(&plan.n_vars)
        .copied()
        .collect();
    let data = match (a_t.data(), b_t.data()) {
        (TensorData::F64(a), TensorData::F64(b)) => {
            let prod = shapes.run_f64(a, &plan.a_vars, b, &plan.b_vars, (nb, m, n, k));
            TensorData::F64(reorder(prod, &order_c, &plan.out, extents))
        }
        (TensorData::F32(a), TensorData::F32(b)) => {
            let prod = shapes.run(a, &plan.a_vars, b, &plan.b_vars, (nb, m, n, k));
            TensorData::F32(reorder(prod, &order_c, &plan.out, extents))
        }
        _ => return None,
    };
    Some(Tensor::new(shape, data).map_err(ExecError::from))
}

struct Shapes<'a> {
    batch: &'a [VarId],
    m_vars: &'a [VarId],
    n_vars: &'a [VarId],
    kvars: &'a [VarId],
    extents: &'a [usize],
}

/// How an operand is laid out relative to the matrix a multiply wants.
enum Layout<'a, T> {
    /// Batches of row-major `rows x cols`.
    Direct(&'a [T]),
    /// Batches of row-major `cols x rows`, used transposed.
    Transposed(&'a [T]),
    /// Packed copy in the direct layout.
    Packed(Vec<T>),
}

impl Shapes<'_> {
    /// Views or packs operand `data` (axes `vars`) as batches of `rows x cols` matrices.
    fn layout<'d, T: Copy>(
        &self,
        data: &'d [T],
        vars: &[VarId],
        rows: &[VarId],
        cols: &[VarId],
    ) -> Layout<'d, T> {
        let direct: Vec<VarId> = self.batch.iter().chain(rows).chain(cols).copied().collect();
        let transposed: Vec<VarId> = self.batch.iter().chain(cols).chain(rows).copied().collect();
        if vars == direct.as_slice() {
            return Layout::Direct(data);
        }
        if vars == transposed.as_slice() {
            return Layout::Transposed(data);
        }
        let shape: Vec<usize> = vars.iter().map(|&v| self.extents[v]).collect();
        let perm: Vec<usize> = direct
            .iter()
            .map(|d| vars.iter().position(|v| v == d).unwrap_or(0))
            .collect();
        Layout::Packed(permute(data, &shape, &perm))
    }

    fn run<T>(
        &self,
        a: &[T],
        a_vars: &[VarId],
        b: &[T],
        b_vars: &[VarId],
        dims: (usize, usize, usize, usize),
    ) -> Vec<T>
    where
        T: faer::traits::ComplexField + Copy + Default + Send + Sync,
    {
        let (nb, m, n, k) = dims;
        let la = self.layout(a, a_vars, self.m_vars, self.kvars);
        let lb = self.layout(b, b_vars, self.kvars, self.n_vars);
        let mut c = crate::runtime::tensor::zeroed::<T>(nb * m * n);
        fn view<'v, T>(
            l: &'v Layout<'_, T>,
            batch: usize,
            rows: usize,
            cols: usize,
        ) -> MatRef<'v, T> {
            let size = rows * cols;
            match l {
                Layout::Direct(d) => {
                    MatRef::from_row_major_slice(&d[batch * size..(batch + 1) * size], rows, cols)
                }
                Layout::Packed(d) => {
                    MatRef::from_row_major_slice(&d[batch * size..(batch + 1) * size], rows, cols)
                }
                Layout::Transposed(d) => {
                    MatRef::from_row_major_slice(&d[batch * size..(batch + 1) * size], cols, rows)
                        .transpose()
                }
            }
        }
        let one = T::one_impl();
        // Row-major C = A B is column-major C^T = B^T A^T: faer's native layout.
        let product = |bi: usize, rows: std::ops::Range<usize>, cb: &mut [T]| {
            let dst = MatMut::from_column_major_slice_mut(cb, n, rows.len());
            faer::linalg::matmul::matmul(
                dst,
                Accum::Replace,
                view(&lb, bi, k, n).transpose(),
                view(&la, bi, m, k)
                    .subrows(rows.start, rows.len())
                    .transpose(),
                one,
                Par::Seq,
            );
        };
        use rayon::prelude::*;
        if m * n * k >= 1 << 21 || nb == 1 {
            // Large products: each one split by rows of C across the cores, one
            // single-threaded multiply per piece.
            let threads = rayon::current_num_threads().max(1);
            let rows = m.div_ceil(threads).max(1);
            for (bi, cb) in c.chunks_mut((m * n).max(1)).enumerate() {
                cb.par_chunks_mut((rows * n).max(1))
                    .enumerate()
                    .for_each(|(i, piece)| {
                        let r0 = i * rows;
                        product(bi, r0..(r0 + rows).min(m), piece)
                    });
            }
        } else {
            c.par_chunks_mut((m * n).max(1))
                .enumerate()
                .for_each(|(bi, cb)| product(bi, 0..m, cb));
        }
        c
    }

    /// `run` for f64 products, with the kernels of `gemm`.
    fn run_f64(
        &self,
        a: &[f64],
        a_vars: &[VarId],
        b: &[f64],
        b_vars: &[VarId],
        (nb, m, n, k): (usize, usize, usize, usize),
    ) -> Vec<f64> {
        use rayon::prelude::*;
        let la = self.layout(a, a_vars, self.m_vars, self.kvars);
        let lb = self.layout(b, b_vars, self.kvars, self.n_vars);
        // Each batch's matrix, and how its elements are laid out.
        fn part<'v>(
            l: &'v Layout<'_, f64>,
            bi: usize,
            rows: usize,
            cols: usize,
        ) -> (&'v [f64], Strides) {
            let size = rows * cols;
            match l {
                Layout::Direct(d) => (
                    &d[bi * size..(bi + 1) * size],
                    Strides {
                        rows: cols,
                        cols: 1,
                    },
                ),
                Layout::Packed(d) => (
                    &d[bi * size..(bi + 1) * size],
                    Strides {
                        rows: cols,
                        cols: 1,
                    },
                ),
                Layout::Transposed(d) => (
                    &d[bi * size..(bi + 1) * size],
                    Strides {
                        rows: 1,
                        cols: rows,
                    },
                ),
            }
        }
        let one = |pack: &mut Vec<f64>, (bi, cb): (usize, &mut [Out])| {
            let (a, sa) = part(&la, bi, m, k);
            let (b, sb) = part(&lb, bi, k, n);
            gemm((m, n, k), a, sa, b, sb, cb, pack);
        };
        let fill = |out: &mut [Out]| {
            // A large product splits itself across the threads; small ones run one per
            // thread.
            if nb * m * n * k < 1 << 18 || m * n * k >= BLOCKED {
                let mut pack = Vec::new();
                out.chunks_mut((m * n).max(1))
                    .enumerate()
                    .for_each(|x| one(&mut pack, x));
            } else {
                out.par_chunks_mut((m * n).max(1))
                    .enumerate()
                    .for_each_init(Vec::new, one);
            }
            Ok::<(), std::convert::Infallible>(())
        };
        // SAFETY: `gemm` writes all `m * n` elements of the chunk it is given, and the
        // chunks cover all `nb * m * n` elements.
        match unsafe { crate::runtime::tensor::written(nb * m * n, fill) } {
            Ok(c) => c,
            Err(never) => match never {},
        }
    }
}

/// Moves the product from (batch, m, n) variable order to the definition's order.
fn reorder<T: Copy>(c: Vec<T>, order: &[VarId], out: &[VarId], extents: &[usize]) -> Vec<T> {
    if order == out {
        return c;
    }
    let shape: Vec<usize> = order.iter().map(|&v| extents[v]).collect();
    let perm: Vec<usize> = out
        .iter()
        .map(|o| order.iter().position(|v| v == o).unwrap_or(0))
        .collect();
    permute(&c, &shape, &perm)
}

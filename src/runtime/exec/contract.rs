//! Sum-of-products contractions (`C[b,i,j] = sum(A[b,i,k] * B[b,k,j] for k)`, in any axis
//! order) routed to matrix multiply: operands are viewed (or, when their axes are not
//! grouped batch/row/reduced, packed once) as batches of matrices and multiplied with faer.

use ruff_text_size::TextRange;

use faer::{Accum, MatMut, MatRef, Par};

use crate::runtime::plan::{BinaryOp, Expr, ReduceOp, Step, VarId};
use crate::runtime::tensor::{Dtype, Tensor, TensorData};

use super::{permute, ExecError, Executor};

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

/// Runs `step` as a batched matrix multiply when its body is a plain contraction; None
/// when it is not one (the caller runs the general loops).
pub(super) fn try_contract(
    exec: &Executor<'_>,
    step: &Step,
    lhs: &[Vec<VarId>],
    body: &Expr,
    extents: &[usize],
    arrays: &[Option<Tensor>],
) -> Option<Result<Tensor, ExecError>> {
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
    let dtype = exec.plan.arrays[step.target].dtype;
    if !dtype.is_float()
        || exec.plan.arrays[a_id].dtype != dtype
        || exec.plan.arrays[b_id].dtype != dtype
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
    let size = |vs: &[VarId]| vs.iter().map(|&v| extents[v]).product::<usize>();
    let (nb, m, n, k) = (size(&batch), size(&m_vars), size(&n_vars), size(kvars));
    if nb.saturating_mul(m).saturating_mul(n).saturating_mul(k) < MIN_FLOPS {
        return None;
    }
    let shape: Vec<usize> = out.iter().map(|&v| extents[v]).collect();
    if let Err(e) = exec.reserve(step, dtype, &shape) {
        return Some(Err(e));
    }
    let a_t = exec.array(arrays, a_id).ok()?;
    let b_t = exec.array(arrays, b_id).ok()?;
    let span = step.span;
    let shapes = Shapes {
        batch: &batch,
        m_vars: &m_vars,
        n_vars: &n_vars,
        kvars,
        extents,
    };
    let order_c: Vec<VarId> = batch
        .iter()
        .chain(&m_vars)
        .chain(&n_vars)
        .copied()
        .collect();
    let data = match (a_t.data(), b_t.data()) {
        (TensorData::F64(a), TensorData::F64(b)) => {
            let c = shapes.run(a, &a_vars, b, &b_vars, (nb, m, n, k));
            TensorData::F64(reorder(c, &order_c, &out, extents))
        }
        (TensorData::F32(a), TensorData::F32(b)) => {
            let c = shapes.run(a, &a_vars, b, &b_vars, (nb, m, n, k));
            TensorData::F32(reorder(c, &order_c, &out, extents))
        }
        _ => return None,
    };
    let _ = (span, Dtype::F64, TextRange::default());
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
        T: faer::traits::ComplexField + Copy + Send + Sync,
    {
        let (nb, m, n, k) = dims;
        let la = self.layout(a, a_vars, self.m_vars, self.kvars);
        let lb = self.layout(b, b_vars, self.kvars, self.n_vars);
        let mut c = vec![T::zero_impl(); nb * m * n];
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
        let product = |bi: usize, cb: &mut [T], par: Par| {
            let dst = MatMut::from_row_major_slice_mut(cb, m, n);
            faer::linalg::matmul::matmul(
                dst,
                Accum::Replace,
                view(&la, bi, m, k),
                view(&lb, bi, k, n),
                one,
                par,
            );
        };
        if m * n * k >= 1 << 21 || nb == 1 {
            // Large products: faer splits each one across the cores.
            for (bi, cb) in c.chunks_mut((m * n).max(1)).enumerate() {
                product(bi, cb, Par::rayon(0));
            }
        } else {
            use rayon::prelude::*;
            c.par_chunks_mut((m * n).max(1))
                .enumerate()
                .for_each(|(bi, cb)| product(bi, cb, Par::Seq));
        }
        c
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

//! Mapped one-axis builtins (`cumsum`, `sort`, `argsort`) and `cov` as one batched call:
//! each batch point's core is read (in place when contiguous, else gathered) and handed to
//! the kernels of `runtime::vector`, the ones the reference evaluator uses, in the
//! argument's own dtype (`cov` as a matrix product instead); batch points are split across
//! the cores when the work is large.

use crate::runtime::plan::{Builtin, CallArg, Step, VarId};
use crate::runtime::tensor::{written, zeroed, Tensor, TensorData};
use crate::runtime::vector::{self, Float, Numeric};

use super::call::{base_offset, core_of, for_batches, CoreOf, Place};
use super::gemm::{gemm, Strides};
use super::{set_position, Arrays, ExecError, Executor};

pub(super) fn run_call(
    exec: &Executor<'_>,
    step: &Step,
    batch: &[VarId],
    builtin: Builtin,
    args: &[CallArg],
    extents: &[usize],
    arrays: Arrays<'_>,
) -> Result<Tensor, ExecError> {
    let [arg] = args else {
        return Err(ExecError::at(
            step.span,
            format!("{} takes 1 argument", builtin.name()),
        ));
    };
    let at = core_of(exec, arg, arrays)?;
    let core = &at.core;
    let matrix = builtin == Builtin::Cov;
    if core.len() != if matrix { 2 } else { 1 } {
        let what = if matrix { "a matrix" } else { "a vector" };
        return Err(ExecError::at(
            arg.span,
            format!("{} needs {what}; got shape {core:?}", builtin.name()),
        ));
    }
    let core_out = if matrix {
        vec![core[0], core[0]]
    } else {
        core.to_vec()
    };
    let mut shape: Vec<usize> = batch.iter().map(|&v| extents[v]).collect();
    let positions: usize = shape.iter().product();
    shape.extend(&core_out);
    let dtype = exec.plan.arrays[step.target].dtype;
    exec.reserve(step, dtype, &shape)?;
    let cores = Cores {
        exec,
        arg,
        place: at.place(),
        steps: at.core_axes.iter().map(|&a| at.strides[a]).collect(),
        core,
        batch,
        extents,
        arrays,
        positions,
        step,
    };
    let per: usize = core_out.iter().product();
    // The kernels' working memory, per thread: a sort's keys and positions twice over (24
    // bytes an element), `cov`'s centred copy and product, a gathered core. Held against
    // the budget while the call runs, so a huge core is an error, not an aborted process.
    let len = core.iter().product::<usize>() as u64;
    let per_thread = match builtin {
        Builtin::Sort | Builtin::Argsort => len.saturating_mul(24),
        Builtin::Cov => len.saturating_add(per as u64).saturating_mul(8),
        _ => len.saturating_mul(8),
    };
    let scratch = per_thread.saturating_mul(rayon::current_num_threads() as u64);
    let what = format!("{} (working memory)", exec.plan.arrays[step.target].name);
    exec.budget
        .reserve_bytes(&what, scratch)
        .map_err(|e| ExecError::at(step.span, e.to_string()))?;
    let data = compute(builtin, &at, &cores, per);
    exec.budget.release_bytes(scratch);
    let data = data?;
    if data.dtype() != dtype {
        return Err(ExecError::at(
            step.span,
            format!(
                "internal error: {} gives {}, the plan expects {dtype}",
                builtin.name(),
                data.dtype()
            ),
        ));
    }
    Ok(Tensor::new(shape, data)?)
}

/// The call's results: `builtin` on every core `cores` reads from `at`.
fn compute(
    builtin: Builtin,
    at: &CoreOf<'_>,
    cores: &Cores<'_, '_>,
    per: usize,
) -> Result<TensorData, ExecError> {
    let (v, o) = (at.core[0], at.core.get(1).copied().unwrap_or(0));
    match (builtin, at.t.data()) {
        (Builtin::Cov, TensorData::F64(x)) => Ok(TensorData::F64(cores.map(
            x,
            per,
            never_fails(|c, out| cov_product(v, o, c, out)),
        )?)),
        (Builtin::Cov, TensorData::F32(x)) => Ok(TensorData::F32(cores.map(
            x,
            per,
            never_fails(|c, out| cov_product(v, o, c, out)),
        )?)),
        (Builtin::Cov, _) => Err(not_for(builtin, cores.arg, at.t.data())),
        (_, TensorData::I64(x)) => one_axis(builtin, x, cores, per, TensorData::I64),
        (_, TensorData::F64(x)) => one_axis(builtin, x, cores, per, TensorData::F64),
        (_, TensorData::F32(x)) => one_axis(builtin, x, cores, per, TensorData::F32),
        (_, other) => Err(not_for(builtin, cores.arg, other)),
    }
}

/// `cumsum`, `sort` or `argsort` on every core of `x`; `wrap` makes the dtype's data.
fn one_axis<T: Numeric>(
    builtin: Builtin,
    x: &[T],
    cores: &Cores<'_, '_>,
    per: usize,
    wrap: fn(Vec<T>) -> TensorData,
) -> Result<TensorData, ExecError> {
    Ok(match builtin {
        Builtin::Cumsum => wrap(cores.map(x, per, |c, o| {
            T::cumsum(c, o).map_err(|()| "integer overflow".to_string())
        })?),
        Builtin::Sort => wrap(cores.map(x, per, never_fails(vector::sort))?),
        _ => TensorData::I64(cores.map(x, per, never_fails(vector::argsort))?),
    })
}

/// The error for an argument of a dtype `builtin` does not take.
fn not_for(builtin: Builtin, arg: &CallArg, data: &TensorData) -> ExecError {
    ExecError::at(
        arg.span,
        format!("{} does not take {} elements", builtin.name(), data.dtype()),
    )
}

/// `cov` of the `v` rows of `x` (`v x o`) into `out` (`v x v`) as a matrix product: the rows
/// centred on their means, then `Xc Xc^T / (o - 1)` with the blocked kernels of `gemm`,
/// in f64 and rounded once at the end (as the reference evaluator does) (100 x 100000: 1 s
/// as the reference evaluator's in-order sums, 20 ms so). Agrees with the reference within
/// rounding; empty and one-column rows give its -0.0 and NaN.
fn cov_product<T: Float>(v: usize, o: usize, x: &[T], out: &mut [T]) {
    let mut xc: Vec<f64> = x.iter().map(|e| e.widen()).collect();
    for row in xc.chunks_mut(o.max(1)) {
        let mean = row.iter().sum::<f64>() / o as f64;
        for e in row.iter_mut() {
            *e -= mean;
        }
    }
    let mut pack = Vec::new();
    let rows = Strides { rows: o, cols: 1 };
    let transposed = Strides { rows: 1, cols: o };
    // SAFETY: `gemm` writes every one of the first v * v elements of its output.
    let product = unsafe {
        written::<f64, ()>(v * v, |c| {
            gemm((v, v, o), &xc, rows, &xc, transposed, c, &mut pack);
            Ok(())
        })
    };
    let scale = o as f64 - 1.0;
    for (d, s) in out.iter_mut().zip(product.unwrap_or_default()) {
        *d = T::narrow(s / scale);
    }
}

/// A kernel that cannot fail, as `Cores::map` takes it.
fn never_fails<T, U>(
    f: impl Fn(&[T], &mut [U]) + Sync,
) -> impl Fn(&[T], &mut [U]) -> Result<(), String> + Sync {
    move |core, out| {
        f(core, out);
        Ok(())
    }
}

/// The cores of one call's argument, one per batch point.
struct Cores<'e, 'a> {
    exec: &'e Executor<'e>,
    arg: &'e CallArg,
    place: Place<'a>,
    /// The core's shape (one or two axes) and the array's strides along them.
    core: &'a [usize],
    steps: Vec<usize>,
    batch: &'e [VarId],
    extents: &'e [usize],
    arrays: Arrays<'e>,
    positions: usize,
    step: &'e Step,
}

impl Cores<'_, '_> {
    /// `f` on every batch point's core of `src`, each writing its `per` results, in
    /// row-major order of the batch points.
    fn map<T, U>(
        &self,
        src: &[T],
        per: usize,
        f: impl Fn(&[T], &mut [U]) -> Result<(), String> + Sync,
    ) -> Result<Vec<U>, ExecError>
    where
        T: Copy + Default + Send + Sync,
        U: Copy + Default + Send,
    {
        let mut out = zeroed::<U>(self.positions * per);
        let len: usize = self.core.iter().product();
        // Row-major strides of the core: when the array's match them, the core is one run
        // of consecutive elements, read in place.
        let (rows, cols) = match *self.core {
            [r, c] => (r, c),
            [c] => (1, c),
            _ => (1, len),
        };
        let (row_step, col_step) = match self.steps[..] {
            [r, c] => (r, c),
            [c] => (0, c),
            _ => (0, 1),
        };
        let contiguous = col_step == 1 && (rows <= 1 || row_step == cols);
        for_batches(&mut out, per, len.max(per), 1, |first, piece| {
            let mut env = vec![0i64; self.extents.len()];
            let mut buf = vec![T::default(); if contiguous { 0 } else { len }];
            for (k, o) in piece.chunks_mut(per).enumerate() {
                set_position(&mut env, self.batch, self.extents, first + k);
                let base = base_offset(self.exec, self.arg, &self.place, &env, self.arrays)?;
                // In bounds: `base_offset` checked the batch indices, and every core index
                // is below its axis size.
                let core = if contiguous {
                    &src[base..base + len]
                } else {
                    for (r, dst) in buf.chunks_mut(cols.max(1)).enumerate() {
                        let start = base + r * row_step;
                        for (c, d) in dst.iter_mut().enumerate() {
                            *d = src[start + c * col_step];
                        }
                    }
                    &buf[..]
                };
                f(core, o).map_err(|m| ExecError::at(self.step.span, m))?;
            }
            Ok(())
        })?;
        Ok(out)
    }
}

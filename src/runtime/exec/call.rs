//! What the mapped fixed-rank builtins (`linalg.rs`, `vector.rs`) share: an argument's core
//! (its whole axes) and where it starts at each batch point, and the split of the batch
//! points across the cores.

use rayon::prelude::*;

use crate::runtime::plan::{CallArg, Expr, Slot};
use crate::runtime::tensor::{Scalar, Tensor};

use super::values::Val;
use super::{Arrays, ExecError, Executor, PARALLEL_WORK};

/// A call argument: its array, and where its core (the whole axes) lies in it.
pub(super) struct CoreOf<'a> {
    pub(super) t: &'a Tensor,
    pub(super) strides: Vec<usize>,
    /// The array's axes the core spans, in order.
    pub(super) core_axes: Vec<usize>,
    /// The core's shape.
    pub(super) core: Vec<usize>,
}

impl CoreOf<'_> {
    /// Where each element of the core lies from the core's start, row-major over the core
    /// (one entry an element: for the small cores of linear algebra).
    pub(super) fn offsets(&self) -> Vec<usize> {
        let mut offsets = vec![0usize];
        for &axis in &self.core_axes {
            let (size, stride) = (self.t.shape()[axis], self.strides[axis]);
            offsets = offsets
                .iter()
                .flat_map(|&o| (0..size).map(move |i| o + i * stride))
                .collect();
        }
        offsets
    }

    pub(super) fn place(&self) -> Place<'_> {
        Place {
            shape: self.t.shape(),
            strides: &self.strides,
        }
    }
}

/// The array `arg` reads and its core; an index list of the wrong length is an error at
/// the argument.
pub(super) fn core_of<'a>(
    exec: &Executor<'_>,
    arg: &CallArg,
    arrays: Arrays<'a>,
) -> Result<CoreOf<'a>, ExecError> {
    let t = exec.array(arrays, arg.array)?;
    if arg.slots.len() != t.ndim() {
        return Err(exec.rank_error(arg.span, arg.array, t.ndim(), arg.slots.len()));
    }
    let core_axes: Vec<usize> = (0..arg.slots.len())
        .filter(|&i| matches!(arg.slots[i], Slot::Whole))
        .collect();
    let core: Vec<usize> = core_axes.iter().map(|&a| t.shape()[a]).collect();
    Ok(CoreOf {
        t,
        strides: t.strides(),
        core_axes,
        core,
    })
}

/// An argument's array as `base_offset` addresses it.
pub(super) struct Place<'a> {
    pub(super) shape: &'a [usize],
    pub(super) strides: &'a [usize],
}

/// Where the core of `arg` at the batch point `env` starts in its array; an index out of
/// bounds is an error at the argument.
pub(super) fn base_offset(
    exec: &Executor<'_>,
    arg: &CallArg,
    place: &Place<'_>,
    env: &[i64],
    arrays: Arrays<'_>,
) -> Result<usize, ExecError> {
    let (shape, strides) = (place.shape, place.strides);
    let mut base = 0usize;
    for (axis, slot) in arg.slots.iter().enumerate() {
        if let Slot::Index(e) = slot {
            let i = match e {
                // A batch variable (the usual `A[b, :, :]`): its value, no evaluation.
                Expr::Var(v) => env[*v],
                _ => match exec.eval(e, env, None, arrays)? {
                    Val::Scalar(Scalar::I64(i)) => i,
                    _ => return Err(ExecError::at(arg.span, "index is not an i64 scalar".into())),
                },
            };
            if i < 0 || i as u64 >= shape[axis] as u64 {
                return Err(exec.bounds_error(arg.span, arg.array, axis, i, shape[axis]));
            }
            base += i as usize * strides[axis];
        }
    }
    Ok(base)
}

/// Runs `run(first, piece)` over `out`, `per` results for each batch point, cut into pieces
/// of whole points (`first` is a piece's first point): one piece on this thread when the
/// work (`work` per point) is small, else up to 64 pieces across the cores, each a multiple
/// of `granule` points.
pub(super) fn for_batches<U: Send>(
    out: &mut [U],
    per: usize,
    work: usize,
    granule: usize,
    run: impl Fn(usize, &mut [U]) -> Result<(), ExecError> + Sync,
) -> Result<(), ExecError> {
    if per == 0 || out.is_empty() {
        return Ok(());
    }
    let positions = out.len() / per;
    let tasks = if positions.saturating_mul(work) < PARALLEL_WORK {
        1
    } else {
        64.min(positions)
    };
    let points = positions.div_ceil(tasks).next_multiple_of(granule.max(1));
    if tasks <= 1 {
        out.chunks_mut(points * per)
            .enumerate()
            .try_for_each(|(t, piece)| run(t * points, piece))
    } else {
        out.par_chunks_mut(points * per)
            .enumerate()
            .try_for_each(|(t, piece)| run(t * points, piece))
    }
}

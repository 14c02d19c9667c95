//! `nonzero`: the positions of a mask's true elements, one row each, in row-major order.
//! Two passes over large chunks in parallel: count each chunk, then each chunk writes its
//! rows at its prefix-sum offset, so rows come out in order with no concatenation copy.

use rayon::prelude::*;

use super::{Arrays, ExecError, Executor};
use crate::runtime::plan::{ArrayId, Step};
use crate::runtime::tensor::{row_major_strides, zeroed, Dtype, Tensor, TensorData};

/// Mask elements per task: large enough that scheduling costs vanish, small enough that
/// both cores get work on a few million elements.
const CHUNK: usize = 1 << 18;

impl Executor<'_> {
    /// The `i64[rows, rank]` positions of `mask`'s true elements.
    pub(crate) fn run_nonzero(
        &self,
        step: &Step,
        mask: ArrayId,
        arrays: Arrays<'_>,
    ) -> Result<Tensor, ExecError> {
        let tensor = self.array(arrays, mask)?;
        let TensorData::Bool(bits) = tensor.data() else {
            return Err(ExecError::at(
                step.span,
                "`nonzero` needs a bool mask".into(),
            ));
        };
        let shape = tensor.shape();
        let rank = shape.len();
        // At most every element is true: the budget sees that bound before counting, and
        // it bounds `rows * rank` below, so that product cannot overflow.
        self.reserve(step, Dtype::I64, &[bits.len(), rank])?;
        let chunks: Vec<&[bool]> = bits.chunks(CHUNK).collect();
        let counts: Vec<usize> = if chunks.len() > 1 {
            chunks.par_iter().map(|c| count(c)).collect()
        } else {
            chunks.iter().map(|c| count(c)).collect()
        };
        let rows: usize = counts.iter().sum();
        let mut out = zeroed::<i64>(rows * rank);
        let mut pieces = Vec::with_capacity(counts.len());
        let mut rest = out.as_mut_slice();
        for &c in &counts {
            let (head, tail) = rest.split_at_mut(c * rank);
            pieces.push(head);
            rest = tail;
        }
        let strides = row_major_strides(shape);
        let write = |(k, (piece, chunk)): (usize, (&mut [i64], &&[bool]))| {
            write_positions(chunk, k * CHUNK, &strides, piece)
        };
        if chunks.len() > 1 {
            pieces
                .into_par_iter()
                .zip(chunks.par_iter())
                .enumerate()
                .for_each(write);
        } else {
            pieces
                .into_iter()
                .zip(chunks.iter())
                .enumerate()
                .for_each(write);
        }
        Ok(Tensor::new(vec![rows, rank], TensorData::I64(out))?)
    }
}

fn count(bits: &[bool]) -> usize {
    // A sum of 0/1 bytes vectorises; a filter-count branches.
    bits.iter().map(|&b| usize::from(b)).sum()
}

/// Writes the position of every true element of `bits` (flat positions `base..`) into
/// `out`, which has exactly one row of `strides.len()` slots per true element.
fn write_positions(bits: &[bool], base: usize, strides: &[usize], out: &mut [i64]) {
    if let [_] = strides {
        // Branch-free: every position is written at the next free slot, which advances
        // only past true elements. The loop stops once every slot holds a true one.
        let mut n = 0;
        for (i, &b) in bits.iter().enumerate() {
            let Some(slot) = out.get_mut(n) else { break };
            *slot = (base + i) as i64;
            n += usize::from(b);
        }
        return;
    }
    let mut rows = out.chunks_exact_mut(strides.len());
    for (i, &b) in bits.iter().enumerate() {
        if !b {
            continue;
        }
        let Some(row) = rows.next() else { break };
        let mut flat = base + i;
        for (slot, &s) in row.iter_mut().zip(strides) {
            // Every stride is at least 1: the mask has no empty axis, since it has a
            // true element.
            *slot = (flat / s.max(1)) as i64;
            flat %= s.max(1);
        }
    }
}

//! Row fusion: consecutive definitions over the same leading variable that read each
//! other only at the current row (`mx[t] = max(S[t,u] for u)`, `e[t,u] = exp(S[t,u] -
//! mx[t])`, `z[t] = sum(e[t,u] for u)`, `P[t,u] = e[t,u] / z[t]`) run row by row: each
//! thread computes row `t` of every member in turn, so intermediate rows stay in cache and
//! an intermediate no one else reads is never materialised.
//!
//! Fusion is a schedule over the plan: members keep their meaning; loads of an earlier
//! member become loads of its current row (a `[1, ...]` array appended to the plan, read
//! at index 0), which is what the member computed for this `t`.

use rayon::prelude::*;

use crate::runtime::plan::{ArrayId, ArrayInfo, Expr, Plan, Size, Step, StepKind, VarId};
use std::mem::MaybeUninit;

use crate::runtime::tensor::{reserve_huge, Dtype, Scalar, Tensor, TensorData};

use super::values::Elem;
use super::{contract, Arrays, BlockPlan, ExecError, Executor, PARALLEL_WORK};

/// What the executor runs next.
pub(super) enum Unit {
    /// `plan.steps[i]`, on its own.
    Step(usize),
    Rows(RowGroup),
}

/// Consecutive steps run row by row.
pub(super) struct RowGroup {
    /// The members, rewritten so loads of earlier members read their row arrays.
    pub(super) steps: Vec<Step>,
    pub(super) members: Vec<Member>,
    /// Array id of the first member's row array; the rest follow in member order.
    pub(super) rows_from: ArrayId,
    /// The same steps run over the rows of their first two variables, when they allow it:
    /// chosen at run time when the first variable alone gives too few rows to share out
    /// (eight heads of attention, each a whole matrix, become 8192 rows of scores).
    pub(super) deeper: Option<Box<RowGroup>>,
}

pub(super) struct Member {
    /// The member's leading variables, set to the row being computed (row-major over
    /// their extents, which every member shares).
    pub(super) row_vars: Vec<VarId>,
    /// The remaining output variables, row-major within a row.
    pub(super) rest: Vec<VarId>,
    /// Whether the whole array is kept (an output, or read after the group).
    pub(super) keep: bool,
    /// Whether a later member reads it (else its rows need no row array).
    pub(super) read_in_group: bool,
}

/// Splits the steps of `plan` into units, appending the row arrays of every group to
/// `plan.arrays`.
pub(super) fn schedule(plan: &mut Plan) -> Vec<Unit> {
    let n = plan.steps.len();
    // The last step reading each array (outputs count as read after every step).
    let step_reads: Vec<Vec<ArrayId>> = plan.steps.iter().map(reads).collect();
    let mut last_read = vec![None::<usize>; plan.arrays.len()];
    for (i, ids) in step_reads.iter().enumerate() {
        for &id in ids {
            last_read[id] = Some(i);
        }
    }
    for &id in &plan.outputs {
        last_read[id] = Some(usize::MAX);
    }
    let mut units = Vec::new();
    let mut i = 0;
    while i < n {
        let end = group_end(plan, i, 1);
        if end - i < 2 {
            units.push(Unit::Step(i));
            i += 1;
            continue;
        }
        match build_group(plan, i, end, 1, &last_read, &step_reads) {
            Some(mut group) => {
                if group_end(plan, i, 2) == end {
                    group.deeper =
                        build_group(plan, i, end, 2, &last_read, &step_reads).map(Box::new);
                }
                units.push(Unit::Rows(group))
            }
            None => units.extend((i..end).map(Unit::Step)),
        }
        i = end;
    }
    units
}

/// The group of steps `start..end` over the rows of their first `depth` variables, with
/// its row arrays appended to `plan.arrays`.
fn build_group(
    plan: &mut Plan,
    start: usize,
    end: usize,
    depth: usize,
    last_read: &[Option<usize>],
    step_reads: &[Vec<ArrayId>],
) -> Option<RowGroup> {
    let rows_from = plan.arrays.len();
    let member_ids: Vec<ArrayId> = plan.steps[start..end].iter().map(|s| s.target).collect();
    let mut members = Vec::new();
    let mut steps = Vec::new();
    for step in &plan.steps[start..end] {
        let StepKind::Map { lhs, body } = &step.kind else {
            return None;
        };
        let rest: Vec<VarId> = lhs[depth..].iter().map(|g| g[0]).collect();
        let mut body = body.clone();
        redirect(&mut body, &member_ids, rows_from, depth);
        let read_in_group = step_reads[start..end]
            .iter()
            .any(|ids| ids.contains(&step.target));
        members.push(Member {
            row_vars: lhs[..depth].iter().map(|g| g[0]).collect(),
            rest,
            keep: last_read[step.target].is_some_and(|r| r >= end),
            read_in_group,
        });
        steps.push(Step {
            target: step.target,
            kind: StepKind::Map {
                lhs: lhs.clone(),
                body,
            },
            span: step.span,
        });
    }
    for (step, m) in steps.iter().zip(&members) {
        let info = &plan.arrays[step.target];
        let dims = std::iter::repeat_n(Size::Const(1), depth)
            .chain(m.rest.iter().map(|&v| plan.vars[v].extent.clone()))
            .collect();
        let row = ArrayInfo {
            name: info.name.clone(),
            dtype: info.dtype,
            dims,
            span: info.span,
        };
        plan.arrays.push(row);
    }
    Some(RowGroup {
        steps,
        members,
        rows_from,
        deeper: None,
    })
}

/// The end of the longest group over the rows of the first `depth` variables starting at
/// step `start` (`start + 1` when none).
fn group_end(plan: &Plan, start: usize, depth: usize) -> usize {
    let Some(extents) = member_shape(plan, &plan.steps[start], depth) else {
        return start + 1;
    };
    let mut end = start + 1;
    while let Some(step) = plan.steps.get(end) {
        if member_shape(plan, step, depth).as_ref() != Some(&extents) {
            break;
        }
        let members: Vec<ArrayId> = plan.steps[start..end].iter().map(|s| s.target).collect();
        let StepKind::Map { lhs, body } = &step.kind else {
            break;
        };
        let row_vars: Vec<VarId> = lhs[..depth].iter().map(|g| g[0]).collect();
        if !reads_rows_only(body, &members, &row_vars) {
            break;
        }
        end += 1;
    }
    end
}

/// The extents of the first `depth` variables of a step that can be a member: a
/// definition with one plain variable per output axis, at least `depth`, that is not a
/// matrix multiply.
fn member_shape<'p>(plan: &'p Plan, step: &Step, depth: usize) -> Option<Vec<&'p Size>> {
    let StepKind::Map { lhs, body } = &step.kind else {
        return None;
    };
    if lhs.len() < depth || lhs.iter().any(|g| g.len() != 1) {
        return None;
    }
    if contract::analyse(plan, step.target, lhs, body).is_some() {
        return None;
    }
    Some(
        lhs[..depth]
            .iter()
            .map(|g| &plan.vars[g[0]].extent)
            .collect(),
    )
}

/// Whether every load in `body` of an array in `members` reads it at row `row_vars`
/// (its first indices those variables, in order).
fn reads_rows_only(body: &Expr, members: &[ArrayId], row_vars: &[VarId]) -> bool {
    let mut ok = true;
    super::visit(body, &mut |e| {
        if let Expr::Load { array, index, .. } = e {
            if members.contains(array)
                && (index.len() < row_vars.len()
                    || index
                        .iter()
                        .zip(row_vars)
                        .any(|(e, v)| !matches!(e, Expr::Var(w) if w == v)))
            {
                ok = false;
            }
        }
    });
    ok
}

/// Loads of member `members[k]` read row array `rows_from + k` at row 0 (its first
/// `depth` indices 0).
fn redirect(expr: &mut Expr, members: &[ArrayId], rows_from: ArrayId, depth: usize) {
    match expr {
        Expr::Load { array, index, .. } => {
            for e in index.iter_mut() {
                redirect(e, members, rows_from, depth);
            }
            if let Some(k) = members.iter().position(|m| m == array) {
                *array = rows_from + k;
                for e in &mut index[..depth] {
                    *e = Expr::Const(Scalar::I64(0));
                }
            }
        }
        Expr::Const(_) | Expr::Var(_) | Expr::Size(_) => {}
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => {
            redirect(arg, members, rows_from, depth)
        }
        Expr::Binary { lhs, rhs, .. } => {
            redirect(lhs, members, rows_from, depth);
            redirect(rhs, members, rows_from, depth);
        }
        Expr::Where {
            cond,
            then,
            otherwise,
        } => {
            redirect(cond, members, rows_from, depth);
            redirect(then, members, rows_from, depth);
            redirect(otherwise, members, rows_from, depth);
        }
        Expr::Reduce { body, .. } => redirect(body, members, rows_from, depth),
    }
}

/// Every array `step` reads.
fn reads(step: &Step) -> Vec<ArrayId> {
    let mut out = Vec::new();
    let mut exprs: Vec<&Expr> = Vec::new();
    match &step.kind {
        StepKind::Map { body, .. } => exprs.push(body),
        StepKind::Nonzero { mask, .. } => out.push(*mask),
        StepKind::Call { args, .. } => {
            for arg in args {
                out.push(arg.array);
                for slot in &arg.slots {
                    if let crate::runtime::plan::Slot::Index(e) = slot {
                        exprs.push(e);
                    }
                }
            }
        }
    }
    for e in exprs {
        super::visit(e, &mut |e| {
            if let Expr::Load { array, .. } = e {
                out.push(*array);
            }
        });
    }
    out
}

/// A kept member's rows that one chunk of the group writes: memory not yet initialised,
/// every element of which the chunk writes.
enum RowsMut<'a> {
    Bool(&'a mut [MaybeUninit<bool>]),
    I64(&'a mut [MaybeUninit<i64>]),
    F32(&'a mut [MaybeUninit<f32>]),
    F64(&'a mut [MaybeUninit<f64>]),
}

impl RowsMut<'_> {
    /// Elements `at..at + len`.
    fn range(&mut self, at: usize, len: usize) -> RowsMut<'_> {
        match self {
            RowsMut::Bool(v) => RowsMut::Bool(&mut v[at..at + len]),
            RowsMut::I64(v) => RowsMut::I64(&mut v[at..at + len]),
            RowsMut::F32(v) => RowsMut::F32(&mut v[at..at + len]),
            RowsMut::F64(v) => RowsMut::F64(&mut v[at..at + len]),
        }
    }
}

/// An empty buffer of `dtype` with room for `count` elements, huge pages advised when
/// large (`tensor::reserve_huge`); the group writes it through `split` and `finish`
/// sets its length.
fn fresh(dtype: Dtype, count: usize) -> TensorData {
    fn make<T>(count: usize) -> Vec<T> {
        let mut v = Vec::new();
        reserve_huge(&mut v, count);
        v
    }
    match dtype {
        Dtype::Bool => TensorData::Bool(make(count)),
        Dtype::I64 => TensorData::I64(make(count)),
        Dtype::F32 => TensorData::F32(make(count)),
        Dtype::F64 => TensorData::F64(make(count)),
    }
}

/// The first `count` elements of a `fresh` buffer's spare room, in pieces of `len`.
fn split(data: &mut TensorData, count: usize, len: usize) -> Vec<RowsMut<'_>> {
    let len = len.max(1);
    match data {
        TensorData::Bool(v) => v.spare_capacity_mut()[..count]
            .chunks_mut(len)
            .map(RowsMut::Bool)
            .collect(),
        TensorData::I64(v) => v.spare_capacity_mut()[..count]
            .chunks_mut(len)
            .map(RowsMut::I64)
            .collect(),
        TensorData::F32(v) => v.spare_capacity_mut()[..count]
            .chunks_mut(len)
            .map(RowsMut::F32)
            .collect(),
        TensorData::F64(v) => v.spare_capacity_mut()[..count]
            .chunks_mut(len)
            .map(RowsMut::F64)
            .collect(),
    }
}

/// Gives a `fresh` buffer its length once all `count` elements are written.
///
/// # Safety
/// Every one of the first `count` elements of the buffer's spare room has been written.
unsafe fn finish(data: &mut TensorData, count: usize) {
    // SAFETY (each arm): the caller's contract; `split` handed out at most the capacity.
    unsafe {
        match data {
            TensorData::Bool(v) => v.set_len(count),
            TensorData::I64(v) => v.set_len(count),
            TensorData::F32(v) => v.set_len(count),
            TensorData::F64(v) => v.set_len(count),
        }
    }
}

/// Copies one computed row into `dst` at element `at`.
fn copy_row(src: &TensorData, dst: &mut RowsMut<'_>, at: usize) {
    fn put<T: Copy>(s: &[T], d: &mut [MaybeUninit<T>], at: usize) {
        for (d, &x) in d[at..at + s.len()].iter_mut().zip(s) {
            d.write(x);
        }
    }
    match (src, dst) {
        (TensorData::Bool(s), RowsMut::Bool(d)) => put(s, d, at),
        (TensorData::I64(s), RowsMut::I64(d)) => put(s, d, at),
        (TensorData::F32(s), RowsMut::F32(d)) => put(s, d, at),
        (TensorData::F64(s), RowsMut::F64(d)) => put(s, d, at),
        _ => {}
    }
}

impl Executor<'_> {
    /// Computes one row of a member into `out`, in its element type; on Ok every element of
    /// `out` is written.
    fn fill_rows(
        &self,
        p: &BlockPlan<'_>,
        env: &mut [i64],
        view: Arrays<'_>,
        out: RowsMut<'_>,
    ) -> Result<(), ExecError> {
        match out {
            RowsMut::Bool(v) => self.fill_row_uninit(p, env, view, v),
            RowsMut::I64(v) => self.fill_row_uninit(p, env, view, v),
            RowsMut::F32(v) => self.fill_row_uninit(p, env, view, v),
            RowsMut::F64(v) => self.fill_row_uninit(p, env, view, v),
        }
    }

    /// Computes one row of a member into its row array.
    fn fill_row_array(
        &self,
        p: &BlockPlan<'_>,
        env: &mut [i64],
        view: Arrays<'_>,
        out: &mut TensorData,
    ) -> Result<(), ExecError> {
        match out {
            TensorData::Bool(v) => self.fill_planned(p, env, view, v, false),
            TensorData::I64(v) => self.fill_planned(p, env, view, v, false),
            TensorData::F32(v) => self.fill_planned(p, env, view, v, false),
            TensorData::F64(v) => self.fill_planned(p, env, view, v, false),
        }
    }

    fn fill_row_uninit<T: Elem>(
        &self,
        p: &BlockPlan<'_>,
        env: &mut [i64],
        view: Arrays<'_>,
        out: &mut [MaybeUninit<T>],
    ) -> Result<(), ExecError> {
        if p.element_wise(out.len()) {
            return self.fill_uninit(p, env, view, out, false);
        }
        // `fill_planned` takes initialised memory: zero this row first (a row, in cache, not
        // the whole array in a pass of its own).
        for x in out.iter_mut() {
            x.write(T::default());
        }
        // SAFETY: every element was written just above, and `MaybeUninit<T>` has the layout
        // of `T`.
        let out = unsafe { &mut *(out as *mut [MaybeUninit<T>] as *mut [T]) };
        self.fill_planned(p, env, view, out, false)
    }

    /// Runs a row group: rows split into chunks across threads; each chunk computes every
    /// member row by row into per-thread row arrays, copying the rows of kept members into
    /// their full arrays.
    pub(super) fn run_rows(
        &self,
        g: &RowGroup,
        arrays: &mut [Option<Tensor>],
    ) -> Result<(), ExecError> {
        let extents = |g: &RowGroup| {
            g.steps
                .iter()
                .map(|s| self.extents(s))
                .collect::<Result<Vec<_>, _>>()
        };
        let shallow = extents(g)?;
        let threads = rayon::current_num_threads().max(1);
        // Too few rows to share out across the threads (or to keep a row in cache): rows
        // of the first two variables, if each has work enough.
        let few = shallow[0][g.members[0].row_vars[0]] < 8 * threads;
        if let Some(deeper) = g.deeper.as_deref().filter(|_| few) {
            let ext = extents(deeper)?;
            let per_row: usize = deeper
                .members
                .iter()
                .zip(&ext)
                .map(|(m, e)| m.rest.iter().map(|&v| e[v]).product::<usize>())
                .sum();
            if per_row >= 64 {
                return self.run_group(deeper, ext, arrays);
            }
        }
        self.run_group(g, shallow, arrays)
    }

    /// `run_rows` for one way of cutting the group into rows; `extents` of each member's
    /// variables.
    fn run_group(
        &self,
        g: &RowGroup,
        extents: Vec<Vec<usize>>,
        arrays: &mut [Option<Tensor>],
    ) -> Result<(), ExecError> {
        // The extents of the row variables, which every member shares.
        let row_extents: Vec<usize> = g.members[0]
            .row_vars
            .iter()
            .map(|&v| extents[0][v])
            .collect();
        let rows: usize = row_extents.iter().product();
        let row_shapes: Vec<Vec<usize>> = g
            .members
            .iter()
            .zip(&extents)
            .map(|(m, ext)| m.rest.iter().map(|&v| ext[v]).collect())
            .collect();
        let row_lens: Vec<usize> = row_shapes.iter().map(|s| s.iter().product()).collect();
        let dtypes: Vec<_> = g
            .steps
            .iter()
            .map(|s| self.plan.arrays[s.target].dtype)
            .collect();
        // Kept members' arrays, not zeroed first: every row of each is written exactly once
        // (by the chunk that computes it, in place or copied from its row array).
        let mut full: Vec<Option<(TensorData, usize)>> = Vec::new();
        for (k, step) in g.steps.iter().enumerate() {
            full.push(if g.members[k].keep {
                let mut shape = row_extents.clone();
                shape.extend(&row_shapes[k]);
                let count = self.reserve(step, dtypes[k], &shape)?;
                Some((fresh(dtypes[k], count), count))
            } else {
                None
            });
        }
        let threads = rayon::current_num_threads().max(1);
        let per_row: usize = row_lens.iter().sum::<usize>().max(1);
        let chunk_rows = if rows.saturating_mul(per_row) < PARALLEL_WORK {
            rows.max(1)
        } else {
            rows.div_ceil(threads * 8).max(1)
        };
        let nchunks = rows.div_ceil(chunk_rows);
        for (step, (&dtype, &len)) in g.steps.iter().zip(dtypes.iter().zip(&row_lens)) {
            self.reserve(step, dtype, &[nchunks.min(threads), len])?;
        }
        let mut pieces: Vec<Vec<Option<RowsMut<'_>>>> = (0..nchunks)
            .map(|_| (0..g.steps.len()).map(|_| None).collect())
            .collect();
        for (k, data) in full.iter_mut().enumerate() {
            if let Some((data, count)) = data {
                for (c, piece) in split(data, *count, chunk_rows * row_lens[k])
                    .into_iter()
                    .enumerate()
                {
                    pieces[c][k] = Some(piece);
                }
            }
        }
        let base: &[Option<Tensor>] = arrays;
        let mut plans = Vec::new();
        for (step, (m, ext)) in g.steps.iter().zip(g.members.iter().zip(&extents)) {
            let StepKind::Map { body, .. } = &step.kind else {
                return Err(ExecError::at(step.span, "internal error: row group".into()));
            };
            plans.push(BlockPlan::new(self.plan, &m.rest, body, ext));
        }
        let run_chunk = |(c, mut outs): (usize, Vec<Option<RowsMut<'_>>>)| {
            let mut env = vec![0i64; self.plan.vars.len()];
            // The current row's index along each row variable.
            let mut at_row = vec![0i64; row_extents.len()];
            // Each member's row array, made when its first row is computed (into memory
            // not zeroed first: a head of attention is an 8 MB row) and reused for the rest.
            let mut row_arrays: Vec<Option<Tensor>> = (0..g.members.len()).map(|_| None).collect();
            let first = c * chunk_rows;
            for t in first..rows.min(first + chunk_rows) {
                // Row t split into its index along each row variable, the last fastest.
                let mut rest = t;
                for (i, &e) in at_row.iter_mut().zip(&row_extents).rev() {
                    *i = (rest % e) as i64;
                    rest /= e;
                }
                for (k, m) in g.members.iter().enumerate() {
                    for (&v, &i) in m.row_vars.iter().zip(&at_row) {
                        env[v] = i;
                    }
                    let at = (t - first) * row_lens[k];
                    if let (false, Some(out)) = (m.read_in_group, &mut outs[k]) {
                        // Nothing in the group reads this row: compute it in place.
                        let view = Arrays {
                            base,
                            rows: &row_arrays,
                            rows_from: g.rows_from,
                        };
                        self.fill_rows(&plans[k], &mut env, view, out.range(at, row_lens[k]))?;
                        continue;
                    }
                    let taken = row_arrays[k].take();
                    let view = Arrays {
                        base,
                        rows: &row_arrays,
                        rows_from: g.rows_from,
                    };
                    let mine = match taken {
                        Some(mut mine) => {
                            self.fill_row_array(&plans[k], &mut env, view, mine.data_mut())?;
                            mine
                        }
                        None => {
                            let len = row_lens[k];
                            let mut data = fresh(dtypes[k], len);
                            if let Some(piece) = split(&mut data, len, len).pop() {
                                self.fill_rows(&plans[k], &mut env, view, piece)?;
                            }
                            // SAFETY: `fill_rows` returned Ok, so it wrote all `len` elements
                            // of the one piece (`split` of `len` in pieces of `len`; none
                            // when `len` is 0).
                            unsafe { finish(&mut data, len) };
                            let mut shape = vec![1; row_extents.len()];
                            shape.extend(&row_shapes[k]);
                            Tensor::new(shape, data)?
                        }
                    };
                    if let Some(out) = &mut outs[k] {
                        copy_row(mine.data(), out, at);
                    }
                    row_arrays[k] = Some(mine);
                }
            }
            Ok::<(), ExecError>(())
        };
        if nchunks > 1 {
            pieces.into_par_iter().enumerate().try_for_each(run_chunk)?;
        } else {
            pieces.into_iter().enumerate().try_for_each(run_chunk)?;
        }
        for (k, data) in full.into_iter().enumerate() {
            if let Some((mut data, count)) = data {
                // SAFETY: every chunk returned Ok, and the chunks cover rows 0..rows, each
                // writing all `row_lens[k]` elements of its rows of this member (`fill_rows`
                // in place, or `copy_row` of the whole row): all `count` are written.
                unsafe { finish(&mut data, count) };
                let mut shape = row_extents.clone();
                shape.extend(&row_shapes[k]);
                arrays[g.steps[k].target] = Some(Tensor::new(shape, data)?);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overt::checker::check_source;
    use crate::runtime::lower::lower;

    /// The units of a program: `S` for a single step, `R(keep flags)` for a row group,
    /// `R(...)+` when it can also run over the rows of its first two variables.
    fn units(source: &str) -> String {
        let (program, diags) = check_source(source);
        let program = program.unwrap_or_else(|| panic!("{diags:#?}"));
        let Ok(plan) = lower(&program) else {
            panic!("does not lower")
        };
        let mut plan = super::super::hoist_reductions(&plan);
        let units = schedule(&mut plan);
        units
            .iter()
            .map(|u| match u {
                Unit::Step(_) => "S".to_string(),
                Unit::Rows(g) => {
                    let flags: String = g
                        .members
                        .iter()
                        .map(|m| match (m.keep, m.read_in_group) {
                            (true, true) => 'K',
                            (true, false) => 'k',
                            (false, _) => '.',
                        })
                        .collect();
                    let deeper = if g.deeper.is_some() { "+" } else { "" };
                    format!("R({flags}){deeper}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn groups_follow_row_reads() {
        let cases = [
            (
                "input S: f64[n, m]\nmx[t] = max(S[t, u] for u)\n\
                 e[t, u] = exp(S[t, u] - mx[t])\nz[t] = sum(e[t, u] for u)\n\
                 P[t, u] = e[t, u] / z[t]\noutput P\n",
                "R(...k)",
            ),
            (
                "input Q: f64[n, d]\ninput K: f64[n, d]\ninput V: f64[n, d]\n\
                 S[t, u] = sum(Q[t, c] * K[u, c] for c) / sqrt(f64(d))\n\
                 mx[t] = max(S[t, u] for u)\nP[t, u] = exp(S[t, u] - mx[t])\n\
                 z[t] = sum(P[t, u] for u)\n\
                 Y[t, c] = sum(P[t, u] * V[u, c] for u) / z[t]\noutput Y\n",
                // The two products stay matrix multiplies; between them S, mx, P, z run
                // by rows, P and z kept for what follows.
                "S R(..Kk) S S",
            ),
            (
                "input A: f64[n, n]\ns[t, u] = A[t, u] * 2.0\n\
                 r[t, u] = s[u, t] + s[t, u]\nq[t] = sum(r[t, u] for u)\noutput q\n",
                "S R(.k)",
            ),
            (
                // Softmax over the last axis of a 3-D array: rows of (g, t) as well.
                "input S: f64[h, n, m]\nmx[g, t] = max(S[g, t, u] for u)\n\
                 e[g, t, u] = exp(S[g, t, u] - mx[g, t])\nz[g, t] = sum(e[g, t, u] for u)\n\
                 P[g, t, u] = e[g, t, u] / z[g, t]\noutput P\n",
                "R(...k)+",
            ),
            (
                // b reads a at (t, i, j) for its row (t, j): rows of t only.
                "input X: f64[n, m, m]\na[t, i, j] = X[t, i, j] * 2.0\n\
                 b[t, j, i] = a[t, i, j] + 1.0\noutput b\n",
                "R(.k)",
            ),
        ];
        for (source, want) in cases {
            assert_eq!(units(source), want, "{source}");
        }
    }
}

//! The fast executor: runs a `Plan` definition by definition. Each definition becomes a
//! loop nest whose innermost loop runs over blocks of contiguous points (`Val` columns,
//! borrowed from the arrays when the load is contiguous), so element-wise chains fuse with
//! no full-size temporaries and reductions fuse into their producers. Sum-of-products
//! contractions go to matrix multiply (`contract`), mapped linear-algebra builtins to
//! batched kernels (`linalg`). Rows are split across threads in large chunks.

/// Runs `$body` (a closure; loops and kernels inline into it) compiled for the widest
/// vector extension the CPU has (AVX-512F, which implies FMA, or AVX2+FMA): the crate targets baseline x86-64 (2-wide SSE2), and even memory-bound loops run
/// markedly faster with AVX-512 or AVX2 (more bytes in flight per instruction).
macro_rules! dispatch {
    ($body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn wide512<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            #[target_feature(enable = "avx2,fma")]
            fn wide256<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above); `wide512` is safe
                // Rust compiled with that feature.
                unsafe { wide512($body) }
            } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: as above, for AVX2 and FMA.
                unsafe { wide256($body) }
            } else {
                ($body)()
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            ($body)()
        }
    }};
}

/// Defines `fn $name(args) -> R` that calls `$imp(args)` (an `#[inline(always)]` kernel)
/// compiled for the widest vector extension the CPU has, chosen at run time. For kernels
/// too large to inline through a closure (`dispatch!`). `=> $imp, baseline $base` runs
/// `$base` instead where neither extension is present (e.g. a kernel whose fused
/// multiply-adds would be library calls there).
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $imp:path) => {
        multiversion! {
            $(#[$m])* $vis fn $name($($arg: $ty),*) $(-> $ret)? => $imp, baseline $imp
        }
    };
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $imp:path, baseline $base:path) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn wide512($($arg: $ty),*) $(-> $ret)? {
                    $imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn wide256($($arg: $ty),*) $(-> $ret)? {
                    $imp($($arg),*)
                }
                if is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F (checked just above); `wide512` is
                    // safe Rust compiled with that feature.
                    return unsafe { wide512($($arg),*) };
                }
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: as above, for AVX2 and FMA.
                    return unsafe { wide256($($arg),*) };
                }
                $base($($arg),*)
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                $imp($($arg),*)
            }
        }
    };
}

mod call;
mod contract;
mod fuse;
mod gemm;
mod linalg;
mod nonzero;
mod simd;
mod values;
mod vector;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::mem::MaybeUninit;

use rayon::prelude::*;
use ruff_text_size::TextRange;

use super::plan::{
    expr_dtype, ArrayInfo, Builtin, Expr, Plan, ReduceOp, Slot, Step, StepKind, VarId,
};
use super::tensor::{
    row_major_strides, Dtype, MemoryBudget, Scalar, Tensor, TensorData, TensorError,
};
use values::{binary, nan_max, nan_min, select, unary, Col, Elem, Opd, Pooled, Val};

/// Points per block of the innermost loop: small enough that a block of every node of an
/// expression stays in L1/L2, large enough to amortise the per-node dispatch.
const BLOCK: usize = 1024;
/// Below this many element-operations a definition runs on one thread.
const PARALLEL_WORK: usize = 1 << 16;

/// A run-time failure, located in the program when it comes from one expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError {
    pub message: String,
    pub span: Option<TextRange>,
}

impl ExecError {
    pub(crate) fn at(span: TextRange, message: String) -> ExecError {
        ExecError {
            message,
            span: Some(span),
        }
    }

    pub(crate) fn new(message: String) -> ExecError {
        ExecError {
            message,
            span: None,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecError {}

impl From<TensorError> for ExecError {
    fn from(e: TensorError) -> ExecError {
        ExecError::new(e.to_string())
    }
}

/// Runs `plan` on `inputs` (in `plan.inputs` order, already checked against their
/// declarations) with the size variables bound to `sizes`; returns the outputs in
/// `plan.outputs` order.
pub fn execute(
    plan: &Plan,
    sizes: &[Option<i64>],
    inputs: Vec<Tensor>,
    budget: &MemoryBudget,
) -> Result<Vec<Tensor>, ExecError> {
    let mut plan = hoist_reductions(plan);
    let units = fuse::schedule(&mut plan);
    let mut arrays: Vec<Option<Tensor>> = vec![None; plan.arrays.len()];
    for (&id, tensor) in plan.inputs.iter().zip(inputs) {
        arrays[id] = Some(tensor);
    }
    // A `nonzero` step binds its count when it runs; later steps see it.
    let mut sizes = sizes.to_vec();
    for unit in &units {
        let exec = Executor {
            plan: &plan,
            sizes: &sizes,
            budget,
        };
        match unit {
            fuse::Unit::Step(i) => {
                let step = &plan.steps[*i];
                let tensor = exec.run_step(step, &arrays)?;
                if let StepKind::Nonzero { count, .. } = step.kind {
                    let rows = tensor.shape().first().copied().unwrap_or(0);
                    if let Some(slot) = sizes.get_mut(count) {
                        *slot = i64::try_from(rows).ok();
                    }
                }
                arrays[step.target] = Some(tensor);
            }
            fuse::Unit::Rows(group) => exec.run_rows(group, &mut arrays)?,
        }
    }
    // Hand each output over without copying; an array named twice is copied once more.
    let mut remaining = vec![0usize; arrays.len()];
    for &id in &plan.outputs {
        remaining[id] += 1;
    }
    plan.outputs
        .iter()
        .map(|&id| {
            remaining[id] -= 1;
            let tensor = if remaining[id] == 0 {
                arrays[id].take()
            } else {
                arrays[id].clone()
            };
            tensor.ok_or_else(|| {
                ExecError::new(format!(
                    "output `{}` is never defined",
                    plan.arrays[id].name
                ))
            })
        })
        .collect()
}

/// Moves every reduction that is not the whole right-hand side of its definition into a
/// definition of its own over its free variables, so each definition is at most one
/// reduction of an element-wise body (`Xc[i,j] = X[i,j] - mean(X[i,k] for k)` computes the
/// mean once per row, not once per element).
fn hoist_reductions(plan: &Plan) -> Plan {
    let mut out = plan.clone();
    out.steps.clear();
    for step in &plan.steps {
        let mut step = step.clone();
        let mut extra = Vec::new();
        if let StepKind::Map { body, .. } = &mut step.kind {
            hoist_in(body, true, &plan.vars, &mut out.arrays, &mut extra);
        }
        out.steps.extend(extra);
        out.steps.push(step);
    }
    out
}

fn hoist_in(
    expr: &mut Expr,
    top: bool,
    vars: &[super::plan::VarInfo],
    arrays: &mut Vec<ArrayInfo>,
    extra: &mut Vec<Step>,
) {
    match expr {
        Expr::Reduce { body, .. } if top => hoist_in(body, false, vars, arrays, extra),
        Expr::Reduce {
            span: reduce_span, ..
        } => {
            let rspan = *reduce_span;
            let free: Vec<VarId> = free_vars(expr).into_iter().collect();
            let dtype = expr_dtype(arrays, expr);
            let id = arrays.len();
            arrays.push(ArrayInfo {
                name: format!(
                    "reduction at {}..{}",
                    u32::from(rspan.start()),
                    u32::from(rspan.end())
                ),
                dtype,
                dims: free.iter().map(|&v| vars[v].extent.clone()).collect(),
                span: rspan,
            });
            let mut body = expr.clone();
            if let Expr::Reduce { body, .. } = &mut body {
                hoist_in(body, false, vars, arrays, extra);
            }
            let load_span = rspan;
            extra.push(Step {
                target: id,
                kind: StepKind::Map {
                    lhs: free.iter().map(|&v| vec![v]).collect(),
                    body,
                },
                span: load_span,
            });
            *expr = Expr::Load {
                array: id,
                index: free.into_iter().map(Expr::Var).collect(),
                span: load_span,
            };
        }
        Expr::Const(_) | Expr::Var(_) | Expr::Size(_) => {}
        Expr::Load { index, .. } => {
            for e in index {
                hoist_in(e, false, vars, arrays, extra);
            }
        }
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => {
            hoist_in(arg, false, vars, arrays, extra)
        }
        Expr::Binary { lhs, rhs, .. } => {
            hoist_in(lhs, false, vars, arrays, extra);
            hoist_in(rhs, false, vars, arrays, extra);
        }
        Expr::Where {
            cond,
            then,
            otherwise,
        } => {
            hoist_in(cond, false, vars, arrays, extra);
            hoist_in(then, false, vars, arrays, extra);
            hoist_in(otherwise, false, vars, arrays, extra);
        }
    }
}

/// Every index variable a step mentions.
fn step_vars(step: &Step) -> BTreeSet<VarId> {
    let mut out = BTreeSet::new();
    match &step.kind {
        StepKind::Map { lhs, body } => {
            out.extend(lhs.iter().flatten().copied());
            all_vars(body, &mut out);
        }
        StepKind::Call { batch, args, .. } => {
            out.extend(batch.iter().copied());
            for arg in args {
                for slot in &arg.slots {
                    if let Slot::Index(e) = slot {
                        all_vars(e, &mut out);
                    }
                }
            }
        }
        StepKind::Nonzero { .. } => {}
    }
    out
}

/// Every index variable in `expr`, bound or free.
fn all_vars(expr: &Expr, out: &mut BTreeSet<VarId>) {
    collect_vars(expr, out);
    let mut bound = |e: &Expr| {
        if let Expr::Reduce { vars, .. } = e {
            out.extend(vars.iter().copied());
        }
    };
    visit(expr, &mut bound);
}

/// Calls `f` on every node of `expr`.
pub(crate) fn visit(expr: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(expr);
    match expr {
        Expr::Const(_) | Expr::Var(_) | Expr::Size(_) => {}
        Expr::Load { index, .. } => index.iter().for_each(|e| visit(e, f)),
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => visit(arg, f),
        Expr::Binary { lhs, rhs, .. } => {
            visit(lhs, f);
            visit(rhs, f);
        }
        Expr::Where {
            cond,
            then,
            otherwise,
        } => {
            visit(cond, f);
            visit(then, f);
            visit(otherwise, f);
        }
        Expr::Reduce { body, .. } => visit(body, f),
    }
}

/// Index variables `expr` depends on that it does not bind itself.
pub(crate) fn free_vars(expr: &Expr) -> BTreeSet<VarId> {
    let mut out = BTreeSet::new();
    collect_vars(expr, &mut out);
    out
}

fn collect_vars(expr: &Expr, out: &mut BTreeSet<VarId>) {
    match expr {
        Expr::Var(v) => {
            out.insert(*v);
        }
        Expr::Const(_) | Expr::Size(_) => {}
        Expr::Load { index, .. } => index.iter().for_each(|e| collect_vars(e, out)),
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => collect_vars(arg, out),
        Expr::Binary { lhs, rhs, .. } => {
            collect_vars(lhs, out);
            collect_vars(rhs, out);
        }
        Expr::Where {
            cond,
            then,
            otherwise,
        } => {
            collect_vars(cond, out);
            collect_vars(then, out);
            collect_vars(otherwise, out);
        }
        Expr::Reduce { vars, body, .. } => {
            let mut inner = BTreeSet::new();
            collect_vars(body, &mut inner);
            for v in vars {
                inner.remove(v);
            }
            out.extend(inner);
        }
    }
}

/// The arrays a definition reads: the program's, and while a row group runs, the current
/// row of each of its members (`rows[k]` is array `rows_from + k`).
#[derive(Clone, Copy)]
pub(crate) struct Arrays<'a> {
    base: &'a [Option<Tensor>],
    rows: &'a [Option<Tensor>],
    rows_from: usize,
}

impl<'a> Arrays<'a> {
    pub(crate) fn base(base: &'a [Option<Tensor>]) -> Arrays<'a> {
        Arrays {
            base,
            rows: &[],
            rows_from: usize::MAX,
        }
    }

    fn get(self, id: usize) -> Option<&'a Tensor> {
        match id.checked_sub(self.rows_from) {
            Some(k) if k < self.rows.len() => self.rows[k].as_ref(),
            _ => self.base.get(id).and_then(Option::as_ref),
        }
    }
}

pub(crate) struct Executor<'p> {
    pub(crate) plan: &'p Plan,
    pub(crate) sizes: &'p [Option<i64>],
    pub(crate) budget: &'p MemoryBudget,
}

/// The innermost loop of a block: variable, first value, number of points.
#[derive(Clone, Copy)]
pub(crate) struct Inner {
    var: VarId,
    start: usize,
    len: usize,
}

impl<'p> Executor<'p> {
    fn run_step(&self, step: &Step, arrays: &[Option<Tensor>]) -> Result<Tensor, ExecError> {
        let extents = self.extents(step)?;
        let arrays = Arrays::base(arrays);
        match &step.kind {
            StepKind::Map { lhs, body } => {
                if let Some(result) =
                    contract::try_contract(self, step, lhs, body, &extents, arrays)
                {
                    return result;
                }
                self.run_map(step, lhs, body, &extents, arrays)
            }
            StepKind::Call {
                batch,
                builtin,
                args,
            } => match builtin {
                Builtin::Cumsum | Builtin::Sort | Builtin::Argsort | Builtin::Cov => {
                    vector::run_call(self, step, batch, *builtin, args, &extents, arrays)
                }
                _ => linalg::run_call(self, step, batch, *builtin, args, &extents, arrays),
            },
            StepKind::Nonzero { mask, .. } => self.run_nonzero(step, *mask, arrays),
        }
    }

    /// The extent of every index variable `step` uses (0 for the others).
    pub(crate) fn extents(&self, step: &Step) -> Result<Vec<usize>, ExecError> {
        let used = step_vars(step);
        let lookup = |id: crate::overt::program::SizeVarId| self.sizes.get(id.0).copied().flatten();
        let mut extents = vec![0usize; self.plan.vars.len()];
        for v in used {
            let info = self.plan.vars.get(v).ok_or_else(|| {
                ExecError::at(step.span, "internal error: unknown index variable".into())
            })?;
            let n = info
                .extent
                .eval(&lookup)
                .ok()
                .and_then(|n| usize::try_from(n).ok());
            extents[v] = n.ok_or_else(|| {
                ExecError::at(
                    step.span,
                    format!("index `{}` has no valid range", info.name),
                )
            })?;
        }
        Ok(extents)
    }

    pub(crate) fn array<'a>(&self, arrays: Arrays<'a>, id: usize) -> Result<&'a Tensor, ExecError> {
        arrays.get(id).ok_or_else(|| {
            ExecError::new(format!(
                "`{}` is used before it is defined",
                self.plan.arrays[id].name
            ))
        })
    }

    pub(crate) fn reserve(
        &self,
        step: &Step,
        dtype: Dtype,
        shape: &[usize],
    ) -> Result<usize, ExecError> {
        let name = &self.plan.arrays[step.target].name;
        self.budget
            .reserve(name, dtype, shape)
            .map_err(|e| ExecError::at(step.span, e.to_string()))
    }

    fn run_map(
        &self,
        step: &Step,
        lhs: &[Vec<VarId>],
        body: &Expr,
        extents: &[usize],
        arrays: Arrays<'_>,
    ) -> Result<Tensor, ExecError> {
        let dtype = self.plan.arrays[step.target].dtype;
        let shape: Vec<usize> = lhs
            .iter()
            .map(|g| g.iter().map(|&v| extents[v]).product())
            .collect();
        self.reserve(step, dtype, &shape)?;
        let data = match dtype {
            Dtype::F64 => f64::wrap(self.map_typed::<f64>(lhs, body, extents, arrays)?),
            Dtype::F32 => f32::wrap(self.map_typed::<f32>(lhs, body, extents, arrays)?),
            Dtype::I64 => i64::wrap(self.map_typed::<i64>(lhs, body, extents, arrays)?),
            Dtype::Bool => bool::wrap(self.map_typed::<bool>(lhs, body, extents, arrays)?),
        };
        Ok(Tensor::new(shape, data)?)
    }

    fn map_typed<T: Elem>(
        &self,
        lhs: &[Vec<VarId>],
        body: &Expr,
        extents: &[usize],
        arrays: Arrays<'_>,
    ) -> Result<Vec<T>, ExecError> {
        let out_vars: Vec<VarId> = lhs.iter().flatten().copied().collect();
        let total: usize = out_vars.iter().map(|&v| extents[v]).product();
        let mut env = vec![0i64; extents.len()];
        let plan = BlockPlan::new(self.plan, &out_vars, body, extents);
        if plan.element_wise(total) {
            // Element-wise: every element is written exactly once, so the output needs no
            // zeroing first (a whole extra pass over memory for a memory-bound loop).
            // SAFETY: on Ok `fill_uninit` has written every element of `out` (its contract).
            return unsafe {
                super::tensor::written(total, |out| {
                    self.fill_uninit(&plan, &env, arrays, out, true)
                })
            };
        }
        let mut out = super::tensor::zeroed::<T>(total);
        self.fill_planned(&plan, &mut env, arrays, &mut out, true)?;
        Ok(out)
    }

    /// `fill_planned` for an element-wise plan (`BlockPlan::element_wise`) into memory not
    /// yet written. On Ok every element of `out` (`row * positions` long) is written.
    pub(crate) fn fill_uninit<T: Elem>(
        &self,
        b: &BlockPlan<'_>,
        env: &[i64],
        arrays: Arrays<'_>,
        out: &mut [MaybeUninit<T>],
        parallel: bool,
    ) -> Result<(), ExecError> {
        let row = b.row;
        if row == 0 || out.is_empty() {
            return Ok(());
        }
        let extents = b.rp.extents;
        let shape = (row, b.positions, b.rwork);
        for_rows(
            out,
            shape,
            env,
            parallel,
            b.rp.inner_is_out,
            |env, pos, first, piece| {
                set_position(env, &b.outer, extents, pos);
                self.each_block(&b.rp, env, first, piece.len(), arrays, |at, len, v| {
                    if v.store_uninit(&mut piece[at..at + len]) {
                        Ok(())
                    } else {
                        Err(ExecError::new("internal error: block dtype".into()))
                    }
                })
            },
        )
    }

    /// Computes the plan's body at every point of its output variables (row-major into
    /// `out`), the other variables held at their values in `env`. With `parallel`, large
    /// work is split across threads.
    pub(crate) fn fill_planned<T: Elem>(
        &self,
        b: &BlockPlan<'_>,
        env: &mut [i64],
        arrays: Arrays<'_>,
        out: &mut [T],
        parallel: bool,
    ) -> Result<(), ExecError> {
        let (row, positions) = (b.row, b.positions);
        let total = positions * row;
        if total == 0 {
            return Ok(());
        }
        let extents = b.rp.extents;
        let mut scratch = Vec::new();
        let dest: &mut [T] = if b.moved {
            scratch = super::tensor::zeroed::<T>(total);
            &mut scratch
        } else {
            &mut out[..total]
        };
        let work = total.saturating_mul(b.rwork);
        let base_env: &[i64] = env;
        let outer = &b.outer;
        let threads = rayon::current_num_threads();
        let split = match b.rp.reduce {
            Some((op, _, _)) => {
                parallel
                    && threads > 1
                    && work >= PARALLEL_WORK
                    && positions < 2 * threads
                    && Acc::mergeable(op, b.rp.body_dtype)
                    && !b.rp.looped.is_empty()
            }
            None => false,
        };
        if let (true, Some((op, rvars, span))) = (split, b.rp.reduce) {
            // Few outputs, each a long reduction (a column sum): every thread folds a
            // slice of the reduction into its own accumulators, streaming whole rows;
            // the partial results are merged.
            let dtype = b.rp.body_dtype;
            let count: usize = rvars.iter().map(|&v| extents[v]).product();
            let parts = threads * 4;
            for (pos, out_row) in dest.chunks_mut(row).enumerate() {
                let partials = (0..parts)
                    .into_par_iter()
                    .map(|i| {
                        let mut env = base_env.to_vec();
                        set_position(&mut env, outer, extents, pos);
                        let mut acc = Acc::new(op, dtype, out_row.len());
                        self.visit_part(
                            &b.rp,
                            rvars,
                            &mut env,
                            (0, out_row.len()),
                            (i, parts),
                            arrays,
                            &mut |off, len, v, flat, fstep| acc.combine(off, len, v, flat, fstep),
                        )?;
                        Ok(acc)
                    })
                    .collect::<Result<Vec<Acc>, ExecError>>()?;
                let mut partials = partials.into_iter();
                if let Some(mut acc) = partials.next() {
                    for other in partials {
                        acc.merge(other);
                    }
                    acc.finish(op, count, out_row, span)?;
                }
            }
        } else {
            let shape = (row, positions, b.rwork);
            for_rows(
                dest,
                shape,
                base_env,
                parallel,
                b.rp.inner_is_out,
                |env, pos, first, piece| {
                    set_position(env, outer, extents, pos);
                    self.fill_row(&b.rp, env, first, piece, arrays)
                },
            )?;
        }
        if let (true, Some(v)) = (b.moved, b.rp.inner) {
            let mut src_shape: Vec<usize> = outer.iter().map(|&o| extents[o]).collect();
            src_shape.push(extents[v]);
            let order: Vec<VarId> = outer.iter().copied().chain([v]).collect();
            let perm: Vec<usize> = b
                .out_vars
                .iter()
                .map(|o| order.iter().position(|x| x == o).unwrap_or(0))
                .collect();
            out[..total].copy_from_slice(&permute(&scratch, &src_shape, &perm));
        }
        Ok(())
    }

    /// Evaluates an element-wise row plan over `width` points of the row from `first` (the
    /// whole point when there is no inner variable), block by block: `f(at, len, block)`
    /// gets each block, its offset in the row and its length.
    fn each_block<'a>(
        &self,
        p: &RowPlan,
        env: &[i64],
        first: usize,
        width: usize,
        arrays: Arrays<'a>,
        mut f: impl FnMut(usize, usize, Val<'a>) -> Result<(), ExecError>,
    ) -> Result<(), ExecError> {
        match p.inner {
            Some(var) => {
                for off in (0..width).step_by(BLOCK) {
                    let len = BLOCK.min(width - off);
                    let inner = Inner {
                        var,
                        start: first + off,
                        len,
                    };
                    f(off, len, self.eval(p.rbody, env, Some(inner), arrays)?)?;
                }
                Ok(())
            }
            None => f(0, width, self.eval(p.rbody, env, None, arrays)?),
        }
    }

    /// Computes one output row: every point of the inner output variable (or the one point
    /// of a fully reduced position).
    /// `out[k]` is the point where the inner output variable is `first + k`.
    fn fill_row<T: Elem>(
        &self,
        p: &RowPlan,
        env: &mut [i64],
        first: usize,
        out: &mut [T],
        arrays: Arrays<'_>,
    ) -> Result<(), ExecError> {
        let Some((op, rvars, span)) = p.reduce else {
            let width = out.len();
            return self.each_block(p, env, first, width, arrays, |at, len, v| {
                v.store(&mut out[at..at + len]);
                Ok(())
            });
        };
        let count: usize = rvars.iter().map(|&v| p.extents[v]).product();
        if count == 0
            && matches!(
                op,
                ReduceOp::Max | ReduceOp::Min | ReduceOp::Argmax | ReduceOp::Argmin
            )
        {
            return Err(ExecError::at(
                span,
                format!("{} over an empty range", op.name()),
            ));
        }
        let dtype = p.body_dtype;
        let mut acc = Acc::new(op, dtype, out.len());
        if op == ReduceOp::LogSumExp {
            let mut max = Acc::new(ReduceOp::Max, Dtype::F64, out.len());
            self.visit_reduction(
                p,
                rvars,
                env,
                (first, out.len()),
                arrays,
                &mut |off, len, v, _, _| max.combine(off, len, v, 0, 0),
            )?;
            let Acc::F(m, _) = max else {
                return Ok(());
            };
            // Shift by the max so exp cannot overflow; an all -inf row stays -inf.
            let shift: Vec<f64> = m
                .iter()
                .map(|&x| if x.is_finite() { x } else { 0.0 })
                .collect();
            let mut sums = vec![0.0f64; out.len()];
            self.visit_reduction(
                p,
                rvars,
                env,
                (first, out.len()),
                arrays,
                &mut |off, len, v, _, _| {
                    let v = v.cast(Dtype::F64);
                    if let Some(x) = f64::opd(&v) {
                        for k in 0..len {
                            let slot = if sums.len() == 1 { 0 } else { off + k };
                            let xv = match x {
                                Opd::One(c) => c,
                                Opd::Many(c) => c[k],
                            };
                            sums[slot] += (xv - shift[slot]).exp();
                        }
                    }
                },
            )?;
            for (k, o) in out.iter_mut().enumerate() {
                *o = T::from_scalar(Scalar::F64(sums[k].ln() + shift[k]));
            }
            return Ok(());
        }
        self.visit_reduction(
            p,
            rvars,
            env,
            (first, out.len()),
            arrays,
            &mut |off, len, v, flat, fstep| acc.combine(off, len, v, flat, fstep),
        )?;
        acc.finish(op, count, out, span)
    }

    /// Calls `f(offset, len, block, flat, flat_step)` for every block of the reduction at the
    /// current output position: `offset` is where the block lands in the row (0 when the
    /// inner variable is reduced), `flat` the row-major index over the reduction variables
    /// of the block's first point and `flat_step` its increment per point.
    fn visit_reduction(
        &self,
        p: &RowPlan,
        rvars: &[VarId],
        env: &mut [i64],
        (first, width): (usize, usize),
        arrays: Arrays<'_>,
        f: &mut dyn FnMut(usize, usize, Val<'_>, usize, usize),
    ) -> Result<(), ExecError> {
        self.visit_part(p, rvars, env, (first, width), (0, 1), arrays, f)
    }

    /// `visit_reduction` over part `index` of `parts` equal parts of the looped reduction
    /// points.
    #[allow(clippy::too_many_arguments)]
    fn visit_part(
        &self,
        p: &RowPlan,
        rvars: &[VarId],
        env: &mut [i64],
        (first, width): (usize, usize),
        (index, parts): (usize, usize),
        arrays: Arrays<'_>,
        f: &mut dyn FnMut(usize, usize, Val<'_>, usize, usize),
    ) -> Result<(), ExecError> {
        let looped = &p.looped;
        let stride_of = |v: VarId| {
            rvars
                .iter()
                .position(|&r| r == v)
                .map_or(0, |i| p.rstrides[i])
        };
        let count: usize = looped.iter().map(|&v| p.extents[v]).product();
        let per = count.div_ceil(parts.max(1));
        for pos in (index * per).min(count)..((index + 1) * per).min(count) {
            set_position(env, looped, p.extents, pos);
            let base: usize = looped.iter().map(|&v| env[v] as usize * stride_of(v)).sum();
            match p.inner {
                Some(var) => {
                    let (lo, hi) = if p.inner_is_out {
                        (first, first + width)
                    } else {
                        (0, p.extents[var])
                    };
                    for start in (lo..hi).step_by(BLOCK) {
                        let len = BLOCK.min(hi - start);
                        let v = self.eval(p.rbody, env, Some(Inner { var, start, len }), arrays)?;
                        if p.inner_is_out {
                            f(start - lo, len, v, base, 0);
                        } else {
                            let s = stride_of(var);
                            f(0, len, broadcast(v, len), base + start * s, s);
                        }
                    }
                }
                None => {
                    let v = self.eval(p.rbody, env, None, arrays)?;
                    f(0, 1, v, base, 0);
                }
            }
        }
        Ok(())
    }

    /// Evaluates `expr` at the current position (`env`) for every point of `inner`.
    pub(crate) fn eval<'a>(
        &self,
        expr: &Expr,
        env: &[i64],
        inner: Option<Inner>,
        arrays: Arrays<'a>,
    ) -> Result<Val<'a>, ExecError> {
        let len = inner.map_or(1, |i| i.len);
        Ok(match expr {
            Expr::Const(s) => Val::Scalar(*s),
            Expr::Var(v) => match inner {
                Some(i) if i.var == *v => Val::I64(Col::Owned(Pooled::collect(
                    i.start as i64..(i.start + i.len) as i64,
                ))),
                _ => Val::Scalar(Scalar::I64(env[*v])),
            },
            Expr::Size(s) => {
                let lookup =
                    |id: crate::overt::program::SizeVarId| self.sizes.get(id.0).copied().flatten();
                let value = s.eval(&lookup).map_err(|e| ExecError::new(e.to_string()))?;
                Val::Scalar(Scalar::I64(value))
            }
            Expr::Load { array, index, span } => {
                self.load(*array, index, *span, env, inner, arrays)?
            }
            Expr::Unary { op, arg } => unary(*op, self.eval(arg, env, inner, arrays)?, len),
            Expr::Binary { op, lhs, rhs, span } => {
                let a = self.eval(lhs, env, inner, arrays)?;
                let b = self.eval(rhs, env, inner, arrays)?;
                binary(*op, a, b, len, *span)?
            }
            Expr::Cast { dtype, arg } => self.eval(arg, env, inner, arrays)?.cast(*dtype),
            Expr::Where {
                cond,
                then,
                otherwise,
            } => select(
                self.eval(cond, env, inner, arrays)?,
                self.eval(then, env, inner, arrays)?,
                self.eval(otherwise, env, inner, arrays)?,
                len,
            ),
            Expr::Reduce { span, .. } => {
                return Err(ExecError::at(
                    *span,
                    "internal error: unhoisted reduction".into(),
                ))
            }
        })
    }

    /// The error for array `id`, of `ndim` axes, indexed with `given` indices.
    fn rank_error(&self, span: TextRange, id: usize, ndim: usize, given: usize) -> ExecError {
        ExecError::at(
            span,
            format!(
                "`{}` has {ndim} axes, indexed with {given}",
                self.plan.arrays[id].name
            ),
        )
    }

    /// The error for index `i` outside axis `axis` (of `size`) of array `id`.
    fn bounds_error(
        &self,
        span: TextRange,
        id: usize,
        axis: usize,
        i: i64,
        size: usize,
    ) -> ExecError {
        ExecError::at(
            span,
            format!(
                "index {i} is out of bounds for axis {axis} of `{}` (size {size})",
                self.plan.arrays[id].name
            ),
        )
    }

    /// `array[index...]` for every point of the block: a borrowed slice when contiguous,
    /// a strided copy, or a gather with every index bounds-checked.
    fn load<'a>(
        &self,
        id: usize,
        index: &[Expr],
        span: TextRange,
        env: &[i64],
        inner: Option<Inner>,
        arrays: Arrays<'a>,
    ) -> Result<Val<'a>, ExecError> {
        let t = self.array(arrays, id)?;
        let shape = t.shape();
        if index.len() != shape.len() {
            return Err(self.rank_error(span, id, shape.len(), index.len()));
        }
        let strides = t.strides();
        let len = inner.map_or(1, |i| i.len);
        let oob = |axis: usize, i: i64| self.bounds_error(span, id, axis, i, shape[axis]);
        let mut base = 0usize;
        let mut step = 0usize;
        let mut has_inner = false;
        // Index columns (checked), each with its axis's stride.
        let mut cols: Vec<(usize, Col<'_, i64>)> = Vec::new();
        for (axis, ix) in index.iter().enumerate() {
            let (dim, stride) = (shape[axis], strides[axis]);
            match (ix, inner) {
                (Expr::Var(v), Some(i)) if *v == i.var => {
                    if i.start + i.len > dim {
                        return Err(oob(axis, (i.start + i.len - 1) as i64));
                    }
                    base += i.start * stride;
                    step += stride;
                    has_inner = true;
                }
                _ => match self.eval(ix, env, inner, arrays)? {
                    Val::Scalar(Scalar::I64(i)) => {
                        if i < 0 || i as u64 >= dim as u64 {
                            return Err(oob(axis, i));
                        }
                        base += i as usize * stride;
                    }
                    Val::I64(col) => {
                        if let Some(&i) = col.iter().find(|&&i| i < 0 || i as u64 >= dim as u64) {
                            return Err(oob(axis, i));
                        }
                        cols.push((stride, col));
                    }
                    other => {
                        return Err(ExecError::at(
                            span,
                            format!(
                                "index into `{}` is {}, not i64",
                                self.plan.arrays[id].name,
                                other.dtype()
                            ),
                        ))
                    }
                },
            }
        }
        /// The index columns of a load: none, one (read directly), or several (summed
        /// into offsets).
        enum Cols<'c> {
            None,
            One { stride: usize, col: &'c [i64] },
            Offsets(&'c [usize]),
        }
        // Every offset below is in bounds: each axis index was checked against its size,
        // and a row-major offset of in-bounds indices is below the element count.
        fn pick<'a, T: Elem>(
            data: &'a [T],
            base: usize,
            step: usize,
            has_inner: bool,
            cols: Cols<'_>,
            len: usize,
        ) -> Val<'a> {
            match cols {
                // One index column (`x[idx[i]]`): no offset table.
                Cols::One { stride, col } => T::col(Pooled::collect(
                    col.iter()
                        .enumerate()
                        .map(|(k, &i)| data[base + k * step + i as usize * stride]),
                )),
                Cols::Offsets(offsets) => T::col(Pooled::collect(
                    offsets
                        .iter()
                        .enumerate()
                        .map(|(k, o)| data[base + k * step + o]),
                )),
                Cols::None if !has_inner => Val::Scalar(data[base].to_scalar()),
                Cols::None if step == 1 => T::borrow(&data[base..base + len]),
                Cols::None => T::col(Pooled::collect((0..len).map(|k| data[base + k * step]))),
            }
        }
        // Several columns are summed into one table of offsets; one is read directly.
        let offsets: Vec<usize> = if cols.len() > 1 {
            let mut offsets = vec![0usize; len];
            for (stride, col) in &cols {
                for (o, &i) in offsets.iter_mut().zip(col.iter()) {
                    *o += i as usize * stride;
                }
            }
            offsets
        } else {
            Vec::new()
        };
        let cols = || match cols.as_slice() {
            [] => Cols::None,
            [(stride, col)] => Cols::One {
                stride: *stride,
                col,
            },
            _ => Cols::Offsets(&offsets),
        };
        Ok(match t.data() {
            TensorData::F64(d) => pick(d, base, step, has_inner, cols(), len),
            TensorData::F32(d) => pick(d, base, step, has_inner, cols(), len),
            TensorData::I64(d) => pick(d, base, step, has_inner, cols(), len),
            TensorData::Bool(d) => pick(d, base, step, has_inner, cols(), len),
        })
    }
}

/// Runs `fill(env, pos, first, piece)` over `out`, `positions` rows of `row` points each
/// (`piece` is row `pos` from its point `first`; `env` is a copy of `base_env` for the fill to
/// set its position in, one per task): on this thread when `parallel` is off or the work
/// (`rwork` per point) is small; else, when the rows may be cut (`cut_rows`, the inner
/// variable is an output one) and there are few long ones, each row split across the cores;
/// else chunks of rows, enough to balance two cores and each still large.
fn for_rows<U: Send>(
    out: &mut [U],
    (row, positions, rwork): (usize, usize, usize),
    base_env: &[i64],
    parallel: bool,
    cut_rows: bool,
    fill: impl Fn(&mut [i64], usize, usize, &mut [U]) -> Result<(), ExecError> + Sync,
) -> Result<(), ExecError> {
    if row == 0 || out.is_empty() {
        return Ok(());
    }
    let work = out.len().saturating_mul(rwork);
    if !parallel || work < PARALLEL_WORK {
        let mut env = base_env.to_vec();
        for (pos, piece) in out.chunks_mut(row).enumerate() {
            fill(&mut env, pos, 0, piece)?;
        }
    } else if cut_rows && positions < 4 && row >= 2 * BLOCK {
        let seg = (row / 8).div_ceil(BLOCK).max(1) * BLOCK;
        for (pos, out_row) in out.chunks_mut(row).enumerate() {
            out_row
                .par_chunks_mut(seg)
                .enumerate()
                .try_for_each(|(s, piece)| fill(&mut base_env.to_vec(), pos, s * seg, piece))?;
        }
    } else {
        let per_row = (row * rwork).max(1);
        let rows_per_task = (PARALLEL_WORK / per_row).max(positions / 64).max(1);
        out.par_chunks_mut(rows_per_task * row)
            .enumerate()
            .try_for_each(|(c, piece)| {
                let mut env = base_env.to_vec();
                for (k, out_row) in piece.chunks_mut(row).enumerate() {
                    fill(&mut env, c * rows_per_task + k, 0, out_row)?;
                }
                Ok::<(), ExecError>(())
            })?;
    }
    Ok(())
}

/// A scalar block of a reduced inner variable stands for `len` equal points.
fn broadcast(v: Val<'_>, len: usize) -> Val<'_> {
    match v {
        Val::Scalar(s) if len > 1 => {
            fn fill<T: Elem>(s: Scalar, len: usize) -> Val<'static> {
                T::col(Pooled::collect(std::iter::repeat_n(T::from_scalar(s), len)))
            }
            match s.dtype() {
                Dtype::F64 => fill::<f64>(s, len),
                Dtype::F32 => fill::<f32>(s, len),
                Dtype::I64 => fill::<i64>(s, len),
                Dtype::Bool => fill::<bool>(s, len),
            }
        }
        v => v,
    }
}

/// The loop order of one definition: which variable runs innermost, and the rows (points
/// of the other output variables) around it.
pub(crate) struct BlockPlan<'a> {
    rp: RowPlan<'a>,
    out_vars: &'a [VarId],
    /// Output variables looped around the inner one.
    outer: Vec<VarId>,
    /// Points per row (the inner variable's extent when it is an output variable).
    row: usize,
    positions: usize,
    /// Points of the reduction per output point.
    rwork: usize,
    /// Whether rows are computed inner-last and then moved into `out_vars` order.
    moved: bool,
}

impl<'a> BlockPlan<'a> {
    /// Whether the plan writes each of the `total` elements of its output exactly once, in
    /// place (no reduction, no rows moved afterwards): `fill_uninit` can run it.
    pub(crate) fn element_wise(&self, total: usize) -> bool {
        self.rp.reduce.is_none() && !self.moved && self.row * self.positions == total
    }

    pub(crate) fn new(
        plan: &Plan,
        out_vars: &'a [VarId],
        body: &'a Expr,
        extents: &'a [usize],
    ) -> Self {
        let (reduce, rbody) = match body {
            Expr::Reduce {
                op,
                vars,
                body,
                span,
            } => (Some((*op, vars.as_slice(), *span)), &**body),
            _ => (None, body),
        };
        let rvars: &[VarId] = reduce.map_or(&[], |r| r.1);
        let inner = choose_inner(rbody, out_vars, rvars, extents);
        let inner_is_out = inner.is_some_and(|v| out_vars.contains(&v));
        let outer: Vec<VarId> = out_vars
            .iter()
            .copied()
            .filter(|&v| Some(v) != inner || !inner_is_out)
            .collect();
        let row = if inner_is_out {
            inner.map_or(1, |v| extents[v])
        } else {
            1
        };
        let positions: usize = outer.iter().map(|&v| extents[v]).product();
        let moved = matches!((inner_is_out, inner), (true, Some(v)) if out_vars.last() != Some(&v));
        BlockPlan {
            rp: RowPlan {
                inner,
                inner_is_out,
                reduce,
                rbody,
                extents,
                body_dtype: plan.dtype_of(rbody),
                looped: rvars
                    .iter()
                    .copied()
                    .filter(|&v| Some(v) != inner || inner_is_out)
                    .collect(),
                rstrides: row_major_strides(&rvars.iter().map(|&v| extents[v]).collect::<Vec<_>>()),
            },
            out_vars,
            outer,
            row,
            positions,
            rwork: rvars.iter().map(|&v| extents[v]).product::<usize>().max(1),
            moved,
        }
    }
}

struct RowPlan<'a> {
    inner: Option<VarId>,
    inner_is_out: bool,
    reduce: Option<(ReduceOp, &'a [VarId], TextRange)>,
    rbody: &'a Expr,
    extents: &'a [usize],
    /// The dtype of `rbody`.
    body_dtype: Dtype,
    /// Reduction variables looped around the inner block (all of them unless the inner
    /// variable is reduced).
    looped: Vec<VarId>,
    /// Row-major strides of the reduction variables, in `reduce` order.
    rstrides: Vec<usize>,
}

/// Sets `vars` in `env` to the row-major position `pos` of their index space.
fn set_position(env: &mut [i64], vars: &[VarId], extents: &[usize], mut pos: usize) {
    for &v in vars.iter().rev() {
        let n = extents[v].max(1);
        env[v] = (pos % n) as i64;
        pos /= n;
    }
}

/// The variable of the innermost loop: the one most loads walk with stride 1, preferring
/// the last output variable (contiguous stores) on ties.
fn choose_inner(
    body: &Expr,
    out_vars: &[VarId],
    rvars: &[VarId],
    extents: &[usize],
) -> Option<VarId> {
    let mut scores = std::collections::HashMap::new();
    count_unit_stride(body, &mut scores);
    let last_out = out_vars.last().copied();
    let mut best = last_out.or_else(|| rvars.last().copied());
    let mut best_score = best.map_or(0, |v| scores.get(&v).copied().unwrap_or(0));
    for &v in rvars {
        let s = scores.get(&v).copied().unwrap_or(0);
        if s > best_score && extents[v] > 1 {
            best = Some(v);
            best_score = s;
        }
    }
    if let Some(v) = best {
        if extents[v] <= 1 {
            // A trivial inner loop wastes the block machinery; any longer variable is better.
            if let Some(&w) = out_vars
                .iter()
                .rev()
                .chain(rvars.iter().rev())
                .find(|&&w| extents[w] > 1)
            {
                return Some(w);
            }
        }
    }
    best
}

fn count_unit_stride(expr: &Expr, scores: &mut std::collections::HashMap<VarId, usize>) {
    match expr {
        Expr::Load { index, .. } => {
            if let Some(Expr::Var(v)) = index.last() {
                *scores.entry(*v).or_insert(0) += 1;
            }
            index.iter().for_each(|e| count_unit_stride(e, scores));
        }
        Expr::Unary { arg, .. } | Expr::Cast { arg, .. } => count_unit_stride(arg, scores),
        Expr::Binary { lhs, rhs, .. } => {
            count_unit_stride(lhs, scores);
            count_unit_stride(rhs, scores);
        }
        Expr::Where {
            cond,
            then,
            otherwise,
        } => {
            count_unit_stride(cond, scores);
            count_unit_stride(then, scores);
            count_unit_stride(otherwise, scores);
        }
        Expr::Reduce { body, .. } => count_unit_stride(body, scores),
        Expr::Const(_) | Expr::Var(_) | Expr::Size(_) => {}
    }
}

/// Row-major `src` of `shape`, with output axis `a` taken from source axis `perm[a]`.
pub(crate) fn permute<T: Copy>(src: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let strides = row_major_strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let out_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let mut out = Vec::with_capacity(src.len());
    let mut index = vec![0usize; shape.len()];
    for _ in 0..src.len() {
        let off: usize = index.iter().zip(&out_strides).map(|(i, s)| i * s).sum();
        out.push(src[off]);
        for k in (0..index.len()).rev() {
            index[k] += 1;
            if index[k] < out_shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// Per-row accumulators of a reduction.
enum Acc {
    /// Float sums, products, extrema (f64 accumulation); the op.
    F(Vec<f64>, ReduceOp),
    /// Integer sums, products, extrema; the op and whether an overflow happened.
    I(Vec<i64>, ReduceOp, bool),
    B(Vec<bool>, ReduceOp),
    /// Arg-extrema over floats: best value and its flat index.
    ArgF(Vec<f64>, Vec<i64>, bool),
    /// Arg-extrema over integers.
    ArgI(Vec<i64>, Vec<i64>, bool),
}

impl Acc {
    fn new(op: ReduceOp, body: Dtype, n: usize) -> Acc {
        use ReduceOp::*;
        let float = body.is_float();
        match op {
            Any => Acc::B(vec![false; n], op),
            All => Acc::B(vec![true; n], op),
            Argmax | Argmin if float => Acc::ArgF(
                vec![
                    if op == Argmax {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    };
                    n
                ],
                vec![-1; n],
                op == Argmax,
            ),
            Argmax | Argmin => Acc::ArgI(
                vec![if op == Argmax { i64::MIN } else { i64::MAX }; n],
                vec![-1; n],
                op == Argmax,
            ),
            Sum | Mean | LogSumExp if float => Acc::F(vec![0.0; n], op),
            Mean => Acc::F(vec![0.0; n], op),
            Prod if float => Acc::F(vec![1.0; n], op),
            Max if float => Acc::F(vec![f64::NEG_INFINITY; n], op),
            Min if float => Acc::F(vec![f64::INFINITY; n], op),
            Sum => Acc::I(vec![0; n], op, false),
            Prod => Acc::I(vec![1; n], op, false),
            Max => Acc::I(vec![i64::MIN; n], op, false),
            Min | LogSumExp => Acc::I(vec![i64::MAX; n], op, false),
        }
    }

    /// Whether partial results of `op` over disjoint parts of a `body`-typed reduction
    /// combine into the whole. Integer sums and products are not split: whether a checked
    /// running total overflows depends on the order of the terms.
    fn mergeable(op: ReduceOp, body: Dtype) -> bool {
        use ReduceOp::*;
        match op {
            Sum | Mean | Prod => body.is_float(),
            Max | Min | Any | All => true,
            _ => false,
        }
    }

    /// Adds the partial result `other` (same op and width) into `self`.
    fn merge(&mut self, other: Acc) {
        match (self, other) {
            (Acc::F(a, op), Acc::F(b, _)) => {
                for (x, y) in a.iter_mut().zip(b) {
                    *x = match op {
                        ReduceOp::Prod => *x * y,
                        ReduceOp::Max => nan_max(*x, y),
                        ReduceOp::Min => nan_min(*x, y),
                        _ => *x + y,
                    };
                }
            }
            (Acc::I(a, op, _), Acc::I(b, _, _)) => {
                // Only extrema are merged (`mergeable`).
                let max = *op == ReduceOp::Max;
                for (x, y) in a.iter_mut().zip(b) {
                    *x = if max { (*x).max(y) } else { (*x).min(y) };
                }
            }
            (Acc::B(a, op), Acc::B(b, _)) => {
                let any = *op == ReduceOp::Any;
                for (x, y) in a.iter_mut().zip(b) {
                    *x = if any { *x || y } else { *x && y };
                }
            }
            _ => {}
        }
    }

    /// Folds a block into the accumulators: element k of the block goes to row slot
    /// `off + k` when the block spans the row, or to slot `off` (a reduced inner
    /// variable, `n == 1`).
    fn combine(&mut self, off: usize, len: usize, v: Val<'_>, flat: usize, fstep: usize) {
        match self {
            Acc::F(acc, op) => {
                let v = v.cast(Dtype::F64);
                let Some(x) = f64::opd(&v) else { return };
                fold_f64(acc, off, len, x, *op);
            }
            Acc::I(acc, op, overflow) => {
                let v = v.cast(Dtype::I64);
                let Some(x) = i64::opd(&v) else { return };
                let op = *op;
                fold(acc, off, len, x, |a, b| match op {
                    ReduceOp::Sum => a.checked_add(b).unwrap_or_else(|| {
                        *overflow = true;
                        0
                    }),
                    ReduceOp::Prod => a.checked_mul(b).unwrap_or_else(|| {
                        *overflow = true;
                        0
                    }),
                    ReduceOp::Max => a.max(b),
                    _ => a.min(b),
                });
            }
            Acc::B(acc, op) => {
                let v = v.cast(Dtype::Bool);
                let Some(x) = bool::opd(&v) else { return };
                let any = *op == ReduceOp::Any;
                fold(acc, off, len, x, |a, b| if any { a || b } else { a && b });
            }
            Acc::ArgF(best, idx, is_max) => {
                let v = v.cast(Dtype::F64);
                let Some(x) = f64::opd(&v) else { return };
                let is_max = *is_max;
                arg_fold(best, idx, off, len, x, (flat, fstep), |cand, cur| {
                    !cur.is_nan() && (cand.is_nan() || if is_max { cand > cur } else { cand < cur })
                });
            }
            Acc::ArgI(best, idx, is_max) => {
                let v = v.cast(Dtype::I64);
                let Some(x) = i64::opd(&v) else { return };
                let is_max = *is_max;
                arg_fold(best, idx, off, len, x, (flat, fstep), |cand, cur| {
                    if is_max {
                        cand > cur
                    } else {
                        cand < cur
                    }
                });
            }
        }
    }

    fn finish<T: Elem>(
        self,
        op: ReduceOp,
        count: usize,
        out: &mut [T],
        span: TextRange,
    ) -> Result<(), ExecError> {
        match self {
            Acc::F(acc, _) => {
                for (o, a) in out.iter_mut().zip(acc) {
                    let a = if op == ReduceOp::Mean {
                        a / count as f64
                    } else {
                        a
                    };
                    *o = T::from_scalar(Scalar::F64(a));
                }
            }
            Acc::I(acc, _, overflow) => {
                if overflow {
                    return Err(ExecError::at(
                        span,
                        format!("integer overflow in {}", op.name()),
                    ));
                }
                for (o, a) in out.iter_mut().zip(acc) {
                    *o = T::from_scalar(Scalar::I64(a));
                }
            }
            Acc::B(acc, _) => {
                for (o, a) in out.iter_mut().zip(acc) {
                    *o = T::from_scalar(Scalar::Bool(a));
                }
            }
            Acc::ArgF(_, idx, _) | Acc::ArgI(_, idx, _) => {
                for (o, a) in out.iter_mut().zip(idx) {
                    // -1 only survives when every candidate was skipped: all equal to the
                    // start value, whose first occurrence is index 0.
                    *o = T::from_scalar(Scalar::I64(a.max(0)));
                }
            }
        }
        Ok(())
    }
}

#[inline(always)]
fn fold<T: Copy>(acc: &mut [T], off: usize, len: usize, x: Opd<T>, f: impl FnMut(T, T) -> T) {
    let mut f = f;
    if acc.len() == 1 {
        let mut a = acc[0];
        match x {
            Opd::One(v) => a = f(a, v),
            Opd::Many(v) => {
                for &v in v {
                    a = f(a, v);
                }
            }
        }
        acc[0] = a;
        return;
    }
    match x {
        Opd::One(v) => acc[off..off + len].iter_mut().for_each(|a| *a = f(*a, v)),
        Opd::Many(v) => acc[off..off + v.len()]
            .iter_mut()
            .zip(v)
            .for_each(|(a, &v)| *a = f(*a, v)),
    }
}

multiversion! {
    /// Float folds with the hot cases (sums, extrema over a reduced inner loop) written so
    /// they vectorise: eight independent partial results. Compiled for AVX-512 and AVX2 as
    /// well as the baseline, chosen at run time.
    fn fold_f64(acc: &mut [f64], off: usize, len: usize, x: Opd<f64>, op: ReduceOp) => fold_f64_any
}

#[inline(always)]
fn fold_f64_any(acc: &mut [f64], off: usize, len: usize, x: Opd<f64>, op: ReduceOp) {
    if let (1, Opd::Many(v)) = (acc.len(), x) {
        match op {
            ReduceOp::Sum | ReduceOp::Mean => {
                acc[0] += sum8(v);
                return;
            }
            ReduceOp::Max | ReduceOp::Min => {
                let is_max = op == ReduceOp::Max;
                match extremum8(v, is_max) {
                    // A NaN anywhere is the result (NumPy propagates NaN).
                    None => acc[0] = f64::NAN,
                    Some(m) if is_max => acc[0] = nan_max(acc[0], m),
                    Some(m) => acc[0] = nan_min(acc[0], m),
                }
                return;
            }
            _ => {}
        }
    }
    match op {
        ReduceOp::Sum | ReduceOp::Mean => fold(acc, off, len, x, |a, b| a + b),
        ReduceOp::Prod => fold(acc, off, len, x, |a, b| a * b),
        ReduceOp::Max => fold(acc, off, len, x, nan_max),
        _ => fold(acc, off, len, x, nan_min),
    }
}

/// The largest (or smallest) element, None when any is NaN; eight independent lanes so
/// the loop vectorises.
#[inline(always)]
fn extremum8(v: &[f64], is_max: bool) -> Option<f64> {
    let start = if is_max {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    let mut lanes = [start; 8];
    let mut nan = [false; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            nan[k] |= c[k].is_nan();
            lanes[k] = if is_max {
                if c[k] > lanes[k] {
                    c[k]
                } else {
                    lanes[k]
                }
            } else if c[k] < lanes[k] {
                c[k]
            } else {
                lanes[k]
            };
        }
    }
    if nan.iter().any(|&n| n) || rest.iter().any(|x| x.is_nan()) {
        return None;
    }
    let pick = |a: f64, b: f64| if (b > a) == is_max { b } else { a };
    Some(lanes.iter().chain(rest).copied().fold(start, pick))
}

#[inline(always)]
pub(crate) fn sum8(v: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            lanes[k] += c[k];
        }
    }
    let mut s = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &x in rest {
        s += x;
    }
    s
}

fn arg_fold<T: Copy>(
    best: &mut [T],
    idx: &mut [i64],
    off: usize,
    len: usize,
    x: Opd<T>,
    (flat, fstep): (usize, usize),
    better: impl Fn(T, T) -> bool,
) {
    for k in 0..len {
        let cand = match x {
            Opd::One(v) => v,
            Opd::Many(v) => v[k],
        };
        let (slot, at) = if best.len() == 1 {
            (0, flat + k * fstep)
        } else {
            (off + k, flat)
        };
        if idx[slot] < 0 || better(cand, best[slot]) {
            best[slot] = cand;
            idx[slot] = at as i64;
        }
    }
}

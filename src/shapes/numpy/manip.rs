//! Shape manipulation (section 4): reshape, transposes, axis moves, squeeze/expand,
//! joining, tiling, repeating, sorting, `diff`, `pad`, `where`, `clip`. Dtype is kept
//! unless stated.

use super::args::{
    axis_of, fmt_dims, int_of, lit_of, lits_of, norm_axes, norm_axis, shape_of, to_array, Args,
    AxisArg,
};
use super::broadcast::{
    broadcast_dims, broadcast_shapes, differ, product, provably_ge, same_dim, unify,
};
use super::elementwise::{elementwise, error, operand, unknown_array};
use super::promote::{promote, result_type, DtypeOperand, UfuncDtype};
use super::variadic::{axis_within, lift_first, negative_within, relift_outcome};
use super::{Ctx, Outcome, ShapeError, ShapeErrorKind};
use crate::shapes::dim::{Dim, DimExpr};
use crate::shapes::dtype::Dtype;
use crate::shapes::facts::SizeFacts;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

fn value_error(message: impl Into<String>) -> Outcome {
    error(ShapeError {
        kind: ShapeErrorKind::Other,
        message: message.into(),
    })
}

fn array(shape: Shape, dtype: Option<Dtype>) -> Outcome {
    Outcome::value(Value::Array(ArrayValue::new(shape, dtype)))
}

fn ranked(dims: Vec<Dim>, dtype: Option<Dtype>) -> Outcome {
    array(Shape::Ranked(dims), dtype)
}

/// The first argument as an array, or the outcome to return.
fn first(args: &Args) -> Result<ArrayValue, Outcome> {
    args.pos
        .first()
        .and_then(to_array)
        .ok_or_else(unknown_array)
}

/// The first argument as an array of known rank with its dims, or the outcome to return
/// (an array of unknown shape with the argument's dtype).
fn first_ranked(args: &Args) -> Result<(ArrayValue, Vec<Dim>), Outcome> {
    let a = first(args)?;
    match a.shape.dims() {
        Some(d) => {
            let d = d.to_vec();
            Ok((a, d))
        }
        None => Err(array(Shape::Unranked, a.dtype)),
    }
}

fn size_of(dims: &[Dim]) -> Dim {
    product(dims).map_or(Dim::Unknown, Dim::Known)
}

/// `reshape(a, shape)`; `shape` is the requested dims as a value (int or tuple).
pub(crate) fn reshape(ctx: &mut Ctx, a: &ArrayValue, shape: &Value) -> Outcome {
    let Some(raw) = (match shape {
        Value::Tuple(items) | Value::List(items) => Some(items.as_slice()),
        Value::Int(_) => Some(std::slice::from_ref(shape)),
        _ => None,
    }) else {
        return array(Shape::Unranked, a.dtype);
    };
    let mut target: Vec<Dim> = Vec::with_capacity(raw.len());
    let mut infer_at: Option<usize> = None;
    for (i, v) in raw.iter().enumerate() {
        match int_of(v) {
            Some(e) if e.as_lit().is_some_and(|n| n < 0) => {
                if infer_at.is_some() {
                    return value_error("can only specify one unknown dimension");
                }
                infer_at = Some(i);
                target.push(Dim::Unknown);
            }
            Some(e) => target.push(Dim::Known(e)),
            None => target.push(Dim::Unknown),
        }
    }
    let Some(src) = a.shape.dims() else {
        return ranked(target, a.dtype);
    };
    // Cancel sizes that appear on both sides, so `(n, d, 3) -> (n, -1)` gives `3*d`.
    let mut rest_src: Vec<Dim> = src.to_vec();
    let mut rest_dst: Vec<Dim> = Vec::new();
    for (i, d) in target.iter().enumerate() {
        if Some(i) == infer_at {
            continue;
        }
        match rest_src
            .iter()
            .position(|s| same_dim(ctx.facts, s, d) == Some(true) && s.as_lit().is_none())
        {
            Some(p) => {
                rest_src.remove(p);
            }
            None => rest_dst.push(d.clone()),
        }
    }
    let (num, den) = (product(&rest_src), product(&rest_dst));
    let fully_literal = src.iter().all(|d| d.as_lit().is_some())
        && target
            .iter()
            .enumerate()
            .all(|(i, d)| Some(i) == infer_at || d.as_lit().is_some());
    let mismatch = || {
        let total = size_of(src);
        let shown: Vec<String> = raw
            .iter()
            .map(|v| int_of(v).map_or("?".into(), |e| e.to_string()))
            .collect();
        let shown = if shown.len() == 1 {
            format!("({},)", shown[0])
        } else {
            format!("({})", shown.join(","))
        };
        error(ShapeError {
            kind: ShapeErrorKind::Reshape,
            message: format!("cannot reshape array of size {total} into shape {shown}"),
        })
    };
    match infer_at {
        None => {
            if let (true, Some(n), Some(d)) = (
                fully_literal,
                num.as_ref().and_then(DimExpr::as_lit),
                den.as_ref().and_then(DimExpr::as_lit),
            ) {
                if n != d {
                    return mismatch();
                }
            }
        }
        Some(at) => {
            // A definite error needs both sizes as literals (not an overflowed product).
            if let (true, Some(n), Some(d)) = (
                fully_literal,
                num.as_ref().and_then(DimExpr::as_lit),
                den.as_ref().and_then(DimExpr::as_lit),
            ) {
                if d == 0 || n.checked_rem(d) != Some(0) {
                    return mismatch();
                }
            }
            let inferred = match (num, den) {
                (Some(n), Some(d)) => match d.as_lit() {
                    Some(0) => None,
                    Some(k) => divide(&n, k),
                    None if n == d => Some(DimExpr::lit(1)),
                    None => None,
                },
                _ => None,
            };
            if let Some(e) = inferred {
                target[at] = Dim::Known(e);
            }
        }
    }
    ranked(target, a.dtype)
}

/// `e / k` when every coefficient divides exactly.
fn divide(e: &DimExpr, k: i64) -> Option<DimExpr> {
    let exact = |c: i64| (c.checked_rem(k)? == 0).then(|| c.checked_div(k)).flatten();
    let constant = exact(e.constant)?;
    let terms = e
        .terms
        .iter()
        .map(|(s, c)| exact(*c).map(|c| (s.clone(), c)))
        .collect::<Option<Vec<_>>>()?;
    Some(DimExpr { constant, terms })
}

/// `np.reshape(a, shape)`.
pub(crate) fn reshape_fn(ctx: &mut Ctx, args: &Args) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    match args.get(1, "shape").or(args.kw("newshape")) {
        Some(s) => reshape(ctx, &a, s),
        None => unknown_array(),
    }
}

/// `transpose(a, axes=None)`.
pub(crate) fn transpose(a: &ArrayValue, axes: Option<&Value>) -> Outcome {
    let Some(dims) = a.shape.dims() else {
        return array(Shape::Unranked, a.dtype);
    };
    let out = match axes {
        None | Some(Value::None) => dims.iter().rev().cloned().collect(),
        Some(v) => {
            let Some(axes) = lits_of(v) else {
                return array(Shape::Ranked(vec![Dim::Unknown; dims.len()]), a.dtype);
            };
            if axes.len() != dims.len() {
                return value_error("axes don't match array");
            }
            let axes = match norm_axes(&axes, dims.len()) {
                Ok(a) => a,
                Err(e) if e.message.starts_with("duplicate") => {
                    return value_error("repeated axis in transpose")
                }
                Err(e) => return error(e),
            };
            axes.iter().map(|&i| dims[i].clone()).collect()
        }
    };
    Outcome::value(Value::Array(ArrayValue {
        shape: Shape::Ranked(out),
        dtype: a.dtype,
        is_scalar: a.is_scalar,
    }))
}

pub(crate) fn transpose_fn(args: &Args) -> Outcome {
    match first(args) {
        Ok(a) => transpose(&a, args.get(1, "axes")),
        Err(o) => o,
    }
}

/// `a.mT` / `np.matrix_transpose(a)`: swap the last two axes.
pub(crate) fn matrix_transpose(a: &ArrayValue) -> Outcome {
    if let Some((group, dims)) = a.shape.variadic() {
        if dims.len() < 2 {
            return array(Shape::Unranked, a.dtype);
        }
        let trailing = ArrayValue::new(Shape::Ranked(dims.to_vec()), a.dtype);
        return relift_outcome(group, matrix_transpose(&trailing));
    }
    let Some(dims) = a.shape.dims() else {
        return array(Shape::Unranked, a.dtype);
    };
    if dims.len() < 2 {
        return value_error("matrix transpose with ndim < 2 is undefined");
    }
    let mut out = dims.to_vec();
    let n = out.len();
    out.swap(n - 1, n - 2);
    ranked(out, a.dtype)
}

pub(crate) fn matrix_transpose_fn(args: &Args) -> Outcome {
    match first(args) {
        Ok(a) => matrix_transpose(&a),
        Err(o) => o,
    }
}

/// An error for one named axis argument (`axis1: axis 2 is out of bounds ...`).
fn named_axis(v: Option<&Value>, ndim: usize, name: &str) -> Result<Option<usize>, ShapeError> {
    match v.and_then(lit_of) {
        Some(a) => norm_axis(a, ndim).map(Some).map_err(|mut e| {
            e.message = format!("{name}: {}", e.message);
            e
        }),
        None => Ok(None),
    }
}

pub(crate) fn swapaxes(args: &Args) -> Outcome {
    let axes = [args.get(1, "axis1"), args.get(2, "axis2")].map(|v| v.and_then(lit_of));
    if let Some(o) = lift_first(
        args,
        "a",
        |d| {
            axes.iter()
                .all(|a| a.is_some_and(|a| negative_within(&[a], d.len())))
        },
        swapaxes,
    ) {
        return o;
    }
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let i = named_axis(args.get(1, "axis1"), dims.len(), "axis1");
    let j = named_axis(args.get(2, "axis2"), dims.len(), "axis2");
    match (i, j) {
        (Ok(Some(i)), Ok(Some(j))) => {
            let mut out = dims.to_vec();
            out.swap(i, j);
            ranked(out, a.dtype)
        }
        (Err(e), _) | (_, Err(e)) => error(e),
        _ => ranked(vec![Dim::Unknown; dims.len()], a.dtype),
    }
}

pub(crate) fn moveaxis(args: &Args) -> Outcome {
    let ends = [args.get(1, "source"), args.get(2, "destination")].map(|v| v.and_then(lits_of));
    if let Some(o) = lift_first(
        args,
        "a",
        |d| {
            ends.iter()
                .all(|a| a.as_ref().is_some_and(|a| negative_within(a, d.len())))
        },
        moveaxis,
    ) {
        return o;
    }
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let n = dims.len();
    let (Some(src), Some(dst)) = (
        args.get(1, "source").and_then(lits_of),
        args.get(2, "destination").and_then(lits_of),
    ) else {
        return ranked(vec![Dim::Unknown; n], a.dtype);
    };
    if src.len() != dst.len() {
        return value_error(
            "`source` and `destination` arguments must have the same number of elements",
        );
    }
    let prefix = |mut e: ShapeError, p: &str| {
        e.message = format!("{p}: {}", e.message);
        e
    };
    let src = match norm_axes(&src, n) {
        Ok(s) => s,
        Err(e) => return error(prefix(e, "source")),
    };
    let dst = match norm_axes(&dst, n) {
        Ok(s) => s,
        Err(e) => return error(prefix(e, "destination")),
    };
    let mut order: Vec<usize> = (0..n).filter(|i| !src.contains(i)).collect();
    let mut pairs: Vec<(usize, usize)> = dst.into_iter().zip(src).collect();
    pairs.sort_unstable();
    for (d, s) in pairs {
        order.insert(d.min(order.len()), s);
    }
    ranked(order.iter().map(|&i| dims[i].clone()).collect(), a.dtype)
}

pub(crate) fn expand_dims(args: &Args) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let Some(axes) = args.get(1, "axis").and_then(lits_of) else {
        return array(Shape::Unranked, a.dtype);
    };
    // New axes counted from the end land among the known trailing axes of `[*b, n]`.
    if let Some(o) = lift_first(
        args,
        "a",
        |d| negative_within(&axes, d.len() + axes.len()),
        expand_dims,
    ) {
        return o;
    }
    let Some(dims) = a.shape.dims() else {
        return array(Shape::Unranked, a.dtype);
    };
    let out_ndim = dims.len() + axes.len();
    let axes = match norm_axes(&axes, out_ndim) {
        Ok(a) => a,
        Err(e) if e.message.starts_with("duplicate") => return value_error("repeated axis"),
        Err(e) => return error(e),
    };
    let mut it = dims.iter();
    let out = (0..out_ndim)
        .map(|i| {
            if axes.contains(&i) {
                Dim::lit(1)
            } else {
                it.next().cloned().unwrap_or(Dim::Unknown)
            }
        })
        .collect();
    ranked(out, a.dtype)
}

pub(crate) fn squeeze(args: &Args) -> Outcome {
    let axis = axis_of(args.get(1, "axis"));
    if let Some(o) = lift_first(args, "a", |d| axis_within(&axis, d.len()), squeeze) {
        return o;
    }
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    match axis_of(args.get(1, "axis")) {
        AxisArg::All => {
            if dims.iter().any(|d| d.as_lit().is_none()) {
                // A symbolic or unknown size might be 1.
                return array(Shape::Unranked, a.dtype);
            }
            ranked(
                dims.iter()
                    .filter(|d| d.as_lit() != Some(1))
                    .cloned()
                    .collect(),
                a.dtype,
            )
        }
        AxisArg::Axes { .. } if dims.is_empty() => ranked(Vec::new(), a.dtype),
        AxisArg::Axes { axes, .. } => {
            let axes = match norm_axes(&axes, dims.len()) {
                Ok(a) => a,
                Err(e) => return error(e),
            };
            if axes
                .iter()
                .any(|&i| dims[i].as_lit().is_some_and(|n| n != 1))
            {
                return value_error(
                    "cannot select an axis to squeeze out which has size not equal to one",
                );
            }
            ranked(
                dims.iter()
                    .enumerate()
                    .filter(|(i, _)| !axes.contains(i))
                    .map(|(_, d)| d.clone())
                    .collect(),
                a.dtype,
            )
        }
        AxisArg::Unknown => array(Shape::Unranked, a.dtype),
    }
}

/// `ravel(a)`, `a.flatten()`: `(a.size,)`.
pub(crate) fn ravel(a: &ArrayValue) -> Outcome {
    let n = a.shape.dims().map_or(Dim::Unknown, size_of);
    ranked(vec![n], a.dtype)
}

pub(crate) fn ravel_fn(args: &Args) -> Outcome {
    match first(args) {
        Ok(a) => ravel(&a),
        Err(o) => o,
    }
}

/// The arrays of a sequence argument (`[a, b]`, `(a, b)`), or `None`.
fn sequence(v: Option<&Value>) -> Option<Vec<ArrayValue>> {
    match v? {
        Value::List(items) | Value::Tuple(items) if !items.is_empty() => {
            items.iter().map(to_array).collect()
        }
        _ => None,
    }
}

/// The dtype of a join: `dtype=` when given, else the promotion of the inputs.
fn join_dtype(args: &Args, arrays: &[ArrayValue]) -> Option<Dtype> {
    match args.kw("dtype") {
        Some(v) if !matches!(v, Value::None) => super::args::dtype_of(v),
        _ => joint_dtype(arrays),
    }
}

fn joint_dtype(arrays: &[ArrayValue]) -> Option<Dtype> {
    arrays
        .iter()
        .try_fold(None::<Dtype>, |acc, a| {
            a.dtype.map(|d| Some(acc.map_or(d, |x| promote(x, d))))
        })
        .flatten()
}

/// Concatenates along `axis` (already normalised against each input's ndim).
fn join(ctx: &SizeFacts, arrays: &[ArrayValue], axis: i64, dtype: Option<Dtype>) -> Outcome {
    let mut all: Vec<&[Dim]> = Vec::with_capacity(arrays.len());
    for a in arrays {
        match a.shape.dims() {
            Some(d) => all.push(d),
            None => return array(Shape::Unranked, dtype),
        }
    }
    let ndim = all[0].len();
    if ndim == 0 {
        return value_error("zero-dimensional arrays cannot be concatenated");
    }
    for (i, d) in all.iter().enumerate() {
        if d.len() != ndim {
            return value_error(format!(
                "all the input arrays must have same number of dimensions, but the array at \
                 index 0 has {ndim} dimension(s) and the array at index {i} has {} dimension(s)",
                d.len()
            ));
        }
    }
    let axis = match norm_axis(axis, ndim) {
        Ok(a) => a,
        Err(e) => return error(e),
    };
    let mut out = all[0].to_vec();
    for (i, d) in all.iter().enumerate().skip(1) {
        for k in 0..ndim {
            if k == axis {
                out[k] = match (out[k].expr(), d[k].expr()) {
                    (Some(x), Some(y)) => x.checked_add(y).map_or(Dim::Unknown, Dim::Known),
                    _ => Dim::Unknown,
                };
            } else if differ(ctx, &out[k], &d[k]) {
                return value_error(format!(
                    "all the input array dimensions except for the concatenation axis must \
                     match exactly, but along dimension {k}, the array at index 0 has size {} \
                     and the array at index {i} has size {}",
                    out[k], d[k]
                ));
            } else {
                out[k] = unify(&out[k], &d[k]);
            }
        }
    }
    ranked(out, dtype)
}

pub(crate) fn concatenate(ctx: &mut Ctx, args: &Args) -> Outcome {
    let Some(arrays) = sequence(args.get(0, "arrays")) else {
        return unknown_array();
    };
    let dtype = join_dtype(args, &arrays);
    match args.get(1, "axis") {
        Some(Value::None) => {
            let mut total = Some(DimExpr::lit(0));
            for a in &arrays {
                let s = a.shape.dims().and_then(product);
                total = match (total, s) {
                    (Some(t), Some(s)) => t.checked_add(&s),
                    _ => None,
                };
            }
            ranked(vec![total.map_or(Dim::Unknown, Dim::Known)], dtype)
        }
        None => join(ctx.facts, &arrays, 0, dtype),
        Some(v) => match lit_of(v) {
            Some(axis) => join(ctx.facts, &arrays, axis, dtype),
            None => unknown_array(),
        },
    }
}

pub(crate) fn stack(ctx: &mut Ctx, args: &Args) -> Outcome {
    let Some(arrays) = sequence(args.get(0, "arrays")) else {
        return unknown_array();
    };
    let dtype = join_dtype(args, &arrays);
    let Some(axis) = args.get(1, "axis").map_or(Some(0), lit_of) else {
        return unknown_array();
    };
    let mut shapes: Vec<&[Dim]> = Vec::new();
    for a in &arrays {
        match a.shape.dims() {
            Some(d) => shapes.push(d),
            None => return unknown_array(),
        }
    }
    let mut common = shapes[0].to_vec();
    for s in &shapes[1..] {
        if s.len() != common.len() || s.iter().zip(&common).any(|(x, y)| differ(ctx.facts, x, y)) {
            return value_error("all input arrays must have the same shape");
        }
        common = common.iter().zip(*s).map(|(x, y)| unify(x, y)).collect();
    }
    let axis = match norm_axis(axis, common.len() + 1) {
        Ok(a) => a,
        Err(e) => return error(e),
    };
    common.insert(axis, Dim::lit(arrays.len() as i64));
    ranked(common, dtype)
}

/// `atleast_{1,2,3}d` of one array's dims.
fn atleast(dims: &[Dim], n: usize) -> Vec<Dim> {
    let one = Dim::lit(1);
    match (n, dims.len()) {
        (_, k) if k >= n => dims.to_vec(),
        (_, 0) => vec![one; n],
        (2, 1) => vec![one, dims[0].clone()],
        (3, 1) => vec![one.clone(), dims[0].clone(), one],
        (3, 2) => vec![dims[0].clone(), dims[1].clone(), one],
        _ => dims.to_vec(),
    }
}

/// `vstack`, `hstack`, `dstack`, `column_stack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StackKind {
    V,
    H,
    D,
    Column,
}

pub(crate) fn stack_helper(ctx: &mut Ctx, args: &Args, kind: StackKind) -> Outcome {
    let Some(arrays) = sequence(args.get(0, "tup")) else {
        return unknown_array();
    };
    let dtype = join_dtype(args, &arrays);
    let mut lifted = Vec::with_capacity(arrays.len());
    for a in &arrays {
        let Some(d) = a.shape.dims() else {
            return unknown_array();
        };
        let dims = match kind {
            StackKind::V => atleast(d, 2),
            StackKind::H => atleast(d, 1),
            StackKind::D => atleast(d, 3),
            StackKind::Column => match d.len() {
                0 => vec![Dim::lit(1), Dim::lit(1)],
                1 => vec![d[0].clone(), Dim::lit(1)],
                _ => d.to_vec(),
            },
        };
        lifted.push(ArrayValue::new(Shape::Ranked(dims), a.dtype));
    }
    let axis = match kind {
        StackKind::V => 0,
        StackKind::H => {
            if lifted[0].shape.rank() == Some(1) {
                0
            } else {
                1
            }
        }
        StackKind::D => 2,
        StackKind::Column => 1,
    };
    join(ctx.facts, &lifted, axis, dtype)
}

pub(crate) fn atleast_nd(args: &Args, n: usize) -> Outcome {
    let mut outs = Vec::new();
    for v in args.pos {
        let Some(a) = to_array(v) else {
            return unknown_array();
        };
        let shape = match a.shape.dims() {
            Some(d) => Shape::Ranked(atleast(d, n)),
            None => Shape::Unranked,
        };
        outs.push(Value::Array(ArrayValue::new(shape, a.dtype)));
    }
    match outs.len() {
        1 => Outcome::value(outs.remove(0)),
        _ => Outcome::value(Value::Tuple(outs)),
    }
}

pub(crate) fn broadcast_to(ctx: &mut Ctx, args: &Args) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let target = match args.get(1, "shape").map(shape_of) {
        Some(Ok(Some(t))) => t,
        Some(Err(e)) => return error(e),
        _ => return array(Shape::Unranked, a.dtype),
    };
    if let Some(d) = a.shape.dims() {
        let fits = d.len() <= target.len()
            && d.iter()
                .rev()
                .zip(target.iter().rev())
                .all(|(x, t)| x.as_lit() == Some(1) || !differ(ctx.facts, x, t));
        if !fits {
            return value_error(format!(
                "operands could not be broadcast together with remapped shapes \
                 [original->remapped]: {}  and requested shape {}",
                fmt_dims(d),
                fmt_dims(&target)
            ));
        }
    }
    ranked(target, a.dtype)
}

pub(crate) fn tile(args: &Args) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let (Some(dims), Some(reps)) = (a.shape.dims(), args.get(1, "reps")) else {
        return array(Shape::Unranked, a.dtype);
    };
    let reps: Vec<Option<DimExpr>> = match reps {
        Value::Tuple(items) | Value::List(items) => items.iter().map(int_of).collect(),
        v => vec![int_of(v)],
    };
    let d = dims.len().max(reps.len());
    let mut out = Vec::with_capacity(d);
    for i in 0..d {
        let dim = if i + dims.len() >= d {
            dims[i + dims.len() - d].clone()
        } else {
            Dim::lit(1)
        };
        let rep = if i + reps.len() >= d {
            reps[i + reps.len() - d].clone()
        } else {
            Some(DimExpr::lit(1))
        };
        out.push(match (dim.expr(), rep) {
            (Some(x), Some(r)) => x.checked_mul(&r).map_or(Dim::Unknown, Dim::Known),
            _ => Dim::Unknown,
        });
    }
    ranked(out, a.dtype)
}

pub(crate) fn repeat(args: &Args) -> Outcome {
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    // An array of repeat counts gives a data-dependent length.
    let r = args.get(1, "repeats").and_then(int_of);
    let scaled = |d: &Dim| match (d.expr(), &r) {
        (Some(x), Some(r)) => x.checked_mul(r).map_or(Dim::Unknown, Dim::Known),
        _ => Dim::Unknown,
    };
    match axis_of(args.get(2, "axis")) {
        AxisArg::All => ranked(vec![scaled(&size_of(&dims))], a.dtype),
        AxisArg::Axes { axes, .. } if axes.len() == 1 => match norm_axis(axes[0], dims.len()) {
            Ok(ax) => {
                let mut out = dims.to_vec();
                out[ax] = scaled(&dims[ax]);
                ranked(out, a.dtype)
            }
            Err(e) => error(e),
        },
        _ => ranked(vec![Dim::Unknown; dims.len()], a.dtype),
    }
}

/// `sort`/`argsort` (and `partition`): same shape, or flattened with `axis=None`.
pub(crate) fn sort(args: &Args, dtype_out: Option<Dtype>, arg: bool, axis_pos: usize) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let dtype = if arg { dtype_out } else { a.dtype };
    let Some(dims) = a.shape.dims() else {
        return array(Shape::Unranked, dtype);
    };
    match args.get(axis_pos, "axis") {
        Some(Value::None) => ranked(vec![size_of(dims)], dtype),
        v => {
            let axis = v.map_or(Some(-1), lit_of);
            if dims.is_empty() {
                if arg {
                    return ranked(vec![Dim::lit(1)], dtype);
                }
                return error(super::args::axis_error(axis.unwrap_or(-1), 0));
            }
            if let Some(ax) = axis {
                if let Err(e) = norm_axis(ax, dims.len()) {
                    return error(e);
                }
            }
            ranked(dims.to_vec(), dtype)
        }
    }
}

/// Same shape and dtype (`flip`, `roll`, `copy`, `fliplr`, ...).
pub(crate) fn same(args: &Args) -> Outcome {
    match first(args) {
        Ok(a) => array(a.shape, a.dtype),
        Err(o) => o,
    }
}

pub(crate) fn diff(args: &Args) -> Outcome {
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    if dims.is_empty() {
        return value_error("diff requires input that is at least one dimensional");
    }
    let Some(n) = args.get(1, "n").map_or(Some(1), lit_of) else {
        return ranked(vec![Dim::Unknown; dims.len()], a.dtype);
    };
    if n < 0 {
        return value_error(format!("order must be non-negative but got {n}"));
    }
    let ax = match norm_axis(
        args.get(2, "axis").and_then(lit_of).unwrap_or(-1),
        dims.len(),
    ) {
        Ok(a) => a,
        Err(e) => return error(e),
    };
    let mut len = dims[ax].expr().cloned();
    let mut dtype = a.dtype;
    for name in ["prepend", "append"] {
        if let Some(v) = args.kw(name).filter(|v| !matches!(v, Value::None)) {
            let extra = match to_array(v).and_then(|x| x.shape.dims().map(<[Dim]>::to_vec)) {
                Some(d) if d.is_empty() => Some(DimExpr::lit(1)),
                Some(d) if d.len() == dims.len() => d[ax].expr().cloned(),
                _ => None,
            };
            len = match (len, extra) {
                (Some(l), Some(e)) => l.checked_add(&e),
                _ => None,
            };
            if let Some(op) = operand(v) {
                dtype = result_type(&[DtypeOperand::Strong(dtype), op.dtype]);
            }
        }
    }
    let mut out = dims.to_vec();
    let nn = DimExpr::lit(n);
    out[ax] = match len {
        Some(l) if provably_ge(&l, &nn) => l.checked_sub(&nn).map_or(Dim::Unknown, Dim::Known),
        Some(l) if provably_ge(&nn, &l) => Dim::lit(0),
        _ => Dim::Unknown,
    };
    ranked(out, dtype)
}

pub(crate) fn pad(args: &Args) -> Outcome {
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let nd = dims.len();
    // Normalise pad_width to (before, after) per axis.
    let widths: Option<Vec<(Option<DimExpr>, Option<DimExpr>)>> = match args.get(1, "pad_width") {
        Some(Value::Int(e)) => Some(vec![(e.clone(), e.clone()); nd]),
        Some(Value::Tuple(items) | Value::List(items)) => {
            let pair = |v: &Value| -> Option<(Option<DimExpr>, Option<DimExpr>)> {
                match v {
                    Value::Int(e) => Some((e.clone(), e.clone())),
                    Value::Tuple(p) | Value::List(p) if p.len() == 1 => {
                        Some((int_of(&p[0]), int_of(&p[0])))
                    }
                    Value::Tuple(p) | Value::List(p) if p.len() == 2 => {
                        Some((int_of(&p[0]), int_of(&p[1])))
                    }
                    _ => None,
                }
            };
            if items.iter().all(|v| matches!(v, Value::Int(_))) {
                match items.len() {
                    1 => Some(vec![(int_of(&items[0]), int_of(&items[0])); nd]),
                    2 => Some(vec![(int_of(&items[0]), int_of(&items[1])); nd]),
                    _ => None,
                }
            } else if items.len() == 1 {
                pair(&items[0]).map(|p| vec![p; nd])
            } else if items.len() == nd {
                items.iter().map(pair).collect()
            } else {
                None
            }
        }
        _ => None,
    };
    let Some(widths) = widths else {
        return ranked(vec![Dim::Unknown; nd], a.dtype);
    };
    let mut out = Vec::with_capacity(nd);
    for (d, (b, f)) in dims.iter().zip(widths) {
        if [&b, &f]
            .iter()
            .any(|w| w.as_ref().and_then(DimExpr::as_lit).is_some_and(|w| w < 0))
        {
            return value_error("index can't contain negative values");
        }
        out.push(match (d.expr(), b, f) {
            (Some(d), Some(b), Some(f)) => d
                .checked_add(&b)
                .and_then(|x| x.checked_add(&f))
                .map_or(Dim::Unknown, Dim::Known),
            _ => Dim::Unknown,
        });
    }
    ranked(out, a.dtype)
}

/// `np.where(cond)` (like `nonzero`) or `np.where(cond, x, y)`.
pub(crate) fn where_(ctx: &mut Ctx, args: &Args) -> Outcome {
    match args.pos {
        [cond] => nonzero(ctx, cond),
        [c, x, y] => {
            let (Some(oc), Some(ox), Some(oy)) = (operand(c), operand(x), operand(y)) else {
                return unknown_array();
            };
            let shape = match broadcast_shapes(ctx.facts, &[&oc.shape, &ox.shape, &oy.shape]) {
                Ok(s) => s,
                Err(e) => return error(e),
            };
            let dtype = result_type(&[ox.dtype, oy.dtype]);
            // All 0-d: a 0-d array, not a scalar.
            array(shape, dtype)
        }
        _ => unknown_array(),
    }
}

/// `np.nonzero(a)`: one `(count,)` int64 array per axis, all of the same length.
pub(crate) fn nonzero(ctx: &mut Ctx, v: &Value) -> Outcome {
    let Some(a) = to_array(v) else {
        return Outcome::unknown();
    };
    let Some(nd) = a.shape.rank() else {
        return Outcome::unknown();
    };
    if nd == 0 {
        return value_error(
            "Calling nonzero on 0d arrays is not allowed. Use np.atleast_1d(scalar).nonzero() \
             instead.",
        );
    }
    let count = Dim::Known(DimExpr::sym(ctx.fresh_symbol()));
    let one = Value::Array(ArrayValue::new(
        Shape::Ranked(vec![count]),
        Some(Dtype::Int64),
    ));
    Outcome::value(Value::Tuple(vec![one; nd]))
}

pub(crate) fn clip(ctx: &mut Ctx, args: &Args) -> Outcome {
    let none = Value::None;
    let a = args.get(0, "a").unwrap_or(&none);
    let bounds: Vec<&Value> = [args.get(1, "a_min"), args.get(2, "a_max")]
        .into_iter()
        .flatten()
        .filter(|v| !matches!(v, Value::None))
        .collect();
    let mut values = vec![a];
    values.extend(bounds);
    elementwise(ctx, &values, UfuncDtype::Same)
}

/// A 0-d result of `astype`, `copy` etc. stays what it was; everything else keeps shape.
pub(crate) fn with_dtype(a: &ArrayValue, dtype: Option<Dtype>) -> Outcome {
    Outcome::value(Value::Array(ArrayValue {
        shape: a.shape.clone(),
        dtype,
        is_scalar: a.is_scalar,
    }))
}

/// `np.broadcast_shapes(*shapes)`: a tuple of ints.
pub(crate) fn broadcast_all(ctx: &mut Ctx, args: &Args) -> Outcome {
    let mut shapes = Vec::new();
    for v in args.pos {
        match shape_of(v) {
            Ok(Some(d)) => shapes.push(d),
            Ok(None) => return Outcome::unknown(),
            Err(e) => return error(e),
        }
    }
    let refs: Vec<&[Dim]> = shapes.iter().map(|s| s.as_slice()).collect();
    match broadcast_dims(ctx.facts, &refs) {
        Ok(d) => Outcome::value(Value::Tuple(
            d.into_iter()
                .map(|d| Value::Int(d.expr().cloned()))
                .collect(),
        )),
        Err(()) => value_error("shape mismatch: objects cannot be broadcast to a single shape"),
    }
}

/// The most pieces a split is modelled for (a list of that many values).
const MAX_PIECES: i64 = 1 << 12;

/// Which splitting function: `split` (equal parts or indices), `array_split` (never fails
/// on divisibility), and the axis-fixed `hsplit`/`vsplit`/`dsplit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitKind {
    Split,
    ArraySplit,
    H,
    V,
    D,
}

/// `split(a, k_or_indices, axis=0)` and friends: a list of arrays.
pub(crate) fn split(ctx: &mut Ctx, args: &Args, kind: SplitKind) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let Some(dims) = a.shape.dims() else {
        return Outcome::unknown();
    };
    let axis = match kind {
        SplitKind::H if dims.len() == 1 => 0,
        SplitKind::H => 1,
        SplitKind::V => 0,
        SplitKind::D => 2,
        _ => match args.get(2, "axis").map_or(Some(0), lit_of) {
            Some(a) => a,
            None => return Outcome::unknown(),
        },
    };
    let ax = match norm_axis(axis, dims.len()) {
        Ok(a) => a,
        Err(e) => return error(e),
    };
    let piece = |len: Dim| {
        let mut d = dims.to_vec();
        d[ax] = len;
        Value::Array(ArrayValue::new(Shape::Ranked(d), a.dtype))
    };
    let n = &dims[ax];
    let pieces: Vec<Value> = match args.get(1, "indices_or_sections") {
        Some(v @ (Value::List(_) | Value::Tuple(_))) => {
            let Some(cuts) = lits_of(v) else {
                return Outcome::unknown();
            };
            let mut bounds: Vec<Option<Value>> = vec![None];
            bounds.extend(
                cuts.iter()
                    .map(|&c| Some(Value::Int(Some(DimExpr::lit(c))))),
            );
            bounds.push(None);
            let mut out = Vec::new();
            for w in bounds.windows(2) {
                let parts = [w[0].clone(), w[1].clone(), None];
                match super::index::slice_len(ctx.facts, n, &parts) {
                    Ok(len) => out.push(piece(len)),
                    Err(e) => return error(e),
                }
            }
            out
        }
        Some(v) => {
            // Very many pieces are not worth modelling one by one.
            let Some(k) = lit_of(v).filter(|&k| k > 0 && k <= MAX_PIECES) else {
                return Outcome::unknown();
            };
            match (n.as_lit(), kind) {
                (Some(len), SplitKind::ArraySplit) => (0..k)
                    .map(|i| piece(Dim::lit(len / k + i64::from(i < len % k))))
                    .collect(),
                (Some(len), _) if len % k != 0 => {
                    return value_error("array split does not result in an equal division")
                }
                (Some(len), _) => (0..k).map(|_| piece(Dim::lit(len / k))).collect(),
                (None, SplitKind::ArraySplit) => (0..k).map(|_| piece(Dim::Unknown)).collect(),
                (None, _) => {
                    let each = n.expr().and_then(|e| divide(e, k));
                    (0..k)
                        .map(|_| piece(each.clone().map_or(Dim::Unknown, Dim::Known)))
                        .collect()
                }
            }
        }
        None => return Outcome::unknown(),
    };
    Outcome::value(Value::List(pieces))
}

/// `np.unstack(a, axis=0)`: a tuple of `a.shape[axis]` arrays without that axis.
pub(crate) fn unstack(args: &Args) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let Some(dims) = a.shape.dims() else {
        return Outcome::unknown();
    };
    let Some(axis) = args.get(1, "axis").map_or(Some(0), lit_of) else {
        return Outcome::unknown();
    };
    let ax = match norm_axis(axis, dims.len()) {
        Ok(a) => a,
        Err(e) => return error(e),
    };
    let Some(k) = dims[ax]
        .as_lit()
        .filter(|&k| k <= MAX_PIECES)
        .and_then(|k| usize::try_from(k).ok())
    else {
        return Outcome::unknown();
    };
    let mut rest = dims.to_vec();
    rest.remove(ax);
    let one = Value::Array(ArrayValue::new(Shape::Ranked(rest), a.dtype));
    Outcome::value(Value::Tuple(vec![one; k]))
}

/// `np.rollaxis(a, axis, start=0)`.
pub(crate) fn rollaxis(args: &Args) -> Outcome {
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let n = dims.len();
    let (Some(axis), Some(start)) = (
        args.get(1, "axis").and_then(lit_of),
        args.get(2, "start").map_or(Some(0), lit_of),
    ) else {
        return ranked(vec![Dim::Unknown; n], a.dtype);
    };
    let axis = match norm_axis(axis, n) {
        Ok(a) => a,
        Err(e) => return error(e),
    };
    let start = if start < 0 { start + n as i64 } else { start };
    let Ok(mut start) = usize::try_from(start) else {
        return ranked(vec![Dim::Unknown; n], a.dtype);
    };
    if start > n {
        return ranked(vec![Dim::Unknown; n], a.dtype);
    }
    if axis < start {
        start -= 1;
    }
    let mut out = dims.to_vec();
    let d = out.remove(axis);
    out.insert(start, d);
    ranked(out, a.dtype)
}

/// `np.rot90(m, k=1, axes=(0, 1))`: odd k swaps the two axes' lengths.
pub(crate) fn rot90(args: &Args) -> Outcome {
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    if dims.len() < 2 {
        return value_error("Axes must be different.");
    }
    let axes = args.get(2, "axes").and_then(lits_of).unwrap_or(vec![0, 1]);
    let ([i, j], Some(k)) = (axes.as_slice(), args.get(1, "k").map_or(Some(1), lit_of)) else {
        return ranked(vec![Dim::Unknown; dims.len()], a.dtype);
    };
    let (i, j) = match (norm_axis(*i, dims.len()), norm_axis(*j, dims.len())) {
        (Ok(i), Ok(j)) => (i, j),
        (Err(e), _) | (_, Err(e)) => return error(e),
    };
    let mut out = dims.to_vec();
    if k.rem_euclid(2) == 1 {
        out.swap(i, j);
    }
    ranked(out, a.dtype)
}

/// `np.triu(m, k=0)` / `np.tril`: shape kept; a 1-D `(n,)` becomes `(n, n)`.
pub(crate) fn triangle(args: &Args) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    match a.shape.dims() {
        Some([n]) => ranked(vec![n.clone(), n.clone()], a.dtype),
        Some([]) => unknown_array(),
        _ => array(a.shape, a.dtype),
    }
}

/// `np.append(arr, values, axis=None)`: flattened join, or `concatenate` along an axis.
pub(crate) fn append(ctx: &mut Ctx, args: &Args) -> Outcome {
    let (Some(x), Some(v)) = (
        args.get(0, "arr").and_then(to_array),
        args.get(1, "values").and_then(to_array),
    ) else {
        return unknown_array();
    };
    let dtype = joint_dtype(&[x.clone(), v.clone()]);
    match args.get(2, "axis") {
        None | Some(Value::None) => {
            let total = match (
                x.shape.dims().and_then(product),
                v.shape.dims().and_then(product),
            ) {
                (Some(a), Some(b)) => a.checked_add(&b),
                _ => None,
            };
            ranked(vec![total.map_or(Dim::Unknown, Dim::Known)], dtype)
        }
        Some(ax) => match lit_of(ax) {
            Some(axis) => join(ctx.facts, &[x, v], axis, dtype),
            None => unknown_array(),
        },
    }
}

/// The length of the `offset` diagonal of an `(m, n)` matrix.
pub(crate) fn diagonal_len(m: &Dim, n: &Dim, k: i64) -> Dim {
    match (m.as_lit(), n.as_lit()) {
        (Some(m), Some(n)) => {
            let (m, n, k) = (i128::from(m), i128::from(n), i128::from(k));
            let l = if k >= 0 { m.min(n - k) } else { (m + k).min(n) };
            i64::try_from(l.max(0)).map_or(Dim::Unknown, Dim::lit)
        }
        _ if k == 0 && m == n => m.clone(),
        _ => Dim::Unknown,
    }
}

/// `np.diagonal(a, offset=0, axis1=0, axis2=1)`: both axes removed, the diagonal appended.
pub(crate) fn diagonal(args: &Args) -> Outcome {
    let (a, dims) = match first_ranked(args) {
        Ok(x) => x,
        Err(o) => return o,
    };
    if dims.len() < 2 {
        return value_error("diag requires an array of at least two dimensions");
    }
    let (Some(k), Some(x), Some(y)) = (
        args.get(1, "offset").map_or(Some(0), lit_of),
        args.get(2, "axis1").map_or(Some(0), lit_of),
        args.get(3, "axis2").map_or(Some(1), lit_of),
    ) else {
        return array(Shape::Unranked, a.dtype);
    };
    let (x, y) = match (norm_axis(x, dims.len()), norm_axis(y, dims.len())) {
        (Ok(x), Ok(y)) if x != y => (x, y),
        (Err(e), _) | (_, Err(e)) => return error(e),
        _ => return value_error("axis1 and axis2 cannot be the same"),
    };
    let mut out: Vec<Dim> = (0..dims.len())
        .filter(|i| *i != x && *i != y)
        .map(|i| dims[i].clone())
        .collect();
    out.push(diagonal_len(&dims[x], &dims[y], k));
    ranked(out, a.dtype)
}

/// `np.trace(a, offset=0, axis1=0, axis2=1, dtype=None)`: both axes summed away.
pub(crate) fn trace(args: &Args) -> Outcome {
    let a = match first(args) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let dtype = match super::args::dtype_kwarg(args, 4) {
        Ok(Some(d)) => Some(d),
        Err(()) => return unknown_array(),
        Ok(None) => a
            .dtype
            .map(|d| super::promote::reduce_dtype(super::promote::ReduceDtype::Accumulate, d)),
    };
    let Some(dims) = a.shape.dims() else {
        return array(Shape::Unranked, dtype);
    };
    if dims.len() < 2 {
        return value_error("diag requires an array of at least two dimensions");
    }
    let (Some(x), Some(y)) = (
        args.get(2, "axis1").map_or(Some(0), lit_of),
        args.get(3, "axis2").map_or(Some(1), lit_of),
    ) else {
        return array(Shape::Unranked, dtype);
    };
    let (x, y) = match (norm_axis(x, dims.len()), norm_axis(y, dims.len())) {
        (Ok(x), Ok(y)) if x != y => (x, y),
        (Err(e), _) | (_, Err(e)) => return error(e),
        _ => return value_error("axis1 and axis2 cannot be the same"),
    };
    let out: Vec<Dim> = (0..dims.len())
        .filter(|i| *i != x && *i != y)
        .map(|i| dims[i].clone())
        .collect();
    Outcome::value(Value::Array(super::elementwise::array_or_scalar(
        Shape::Ranked(out),
        dtype,
    )))
}

/// `np.ix_(*seqs)`: open-mesh index arrays, the i-th of shape `(1, ..., n_i, ..., 1)`.
pub(crate) fn ix(args: &Args) -> Outcome {
    let k = args.pos.len();
    let mut out = Vec::with_capacity(k);
    for (i, v) in args.pos.iter().enumerate() {
        let Some(a) = to_array(v) else {
            return Outcome::unknown();
        };
        let (len, dtype) = match (a.shape.dims(), a.dtype) {
            (Some([n]), Some(Dtype::Bool)) => (
                if n.as_lit() == Some(0) {
                    Dim::lit(0)
                } else {
                    Dim::Unknown
                },
                Some(Dtype::Int64),
            ),
            (Some([n]), d) => (n.clone(), d),
            _ => return Outcome::unknown(),
        };
        let mut dims = vec![Dim::lit(1); k];
        dims[i] = len;
        out.push(Value::Array(ArrayValue::new(Shape::Ranked(dims), dtype)));
    }
    Outcome::value(Value::Tuple(out))
}

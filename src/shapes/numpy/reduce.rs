//! Reductions (`sum mean std var max min prod any all argmax argmin`) and cumulative
//! functions (`cumsum cumprod`): axis handling, `keepdims`, result dtypes (section 5).

use super::args::{axis_of, dtype_kwarg, norm_axes, to_array, Args, AxisArg};
use super::broadcast::product;
use super::elementwise::{array_or_scalar, error, unknown_array};
use super::promote::{reduce_dtype, ReduceDtype};
use super::variadic::{axis_within, lift_first};
use super::{Ctx, Outcome, ShapeError, ShapeErrorKind};
use crate::shapes::dim::Dim;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

fn keepdims(args: &Args) -> Option<bool> {
    match args.kw("keepdims") {
        None => Some(false),
        Some(Value::Bool(b)) => *b,
        Some(_) => None,
    }
}

/// A reduction such as `np.sum(a, axis=None, dtype=None, keepdims=False)`. `name` is
/// NumPy's name, for messages.
pub(crate) fn reduce(_ctx: &mut Ctx, args: &Args, name: &str, rule: ReduceDtype) -> Outcome {
    let Some(a) = args.get(0, "a").and_then(to_array) else {
        return unknown_array();
    };
    let mut dtype = a.dtype.map(|d| reduce_dtype(rule, d));
    // `sum(a, axis, dtype, out, ...)`, `max(a, axis, out, ...)`: an `out` array, given by
    // position or keyword, is what the call returns.
    let takes_dtype = matches!(
        rule,
        ReduceDtype::Accumulate | ReduceDtype::Mean | ReduceDtype::Variance
    );
    // These three have other parameters at those positions.
    let positional = !matches!(name, "median" | "average" | "count_nonzero");
    let out_at = if !positional {
        usize::MAX
    } else if takes_dtype {
        3
    } else {
        2
    };
    if let Some(out) = args
        .get(out_at, "out")
        .filter(|v| !matches!(v, Value::None))
    {
        return Outcome::value(out.clone());
    }
    if name == "average" && !args.absent(3, "returned") {
        return Outcome::unknown();
    }
    if name == "average" && !args.absent(2, "weights") {
        // The weights' dtype takes part in the promotion.
        dtype = None;
    }
    if takes_dtype && positional {
        // A dtype the model cannot name may be a subarray dtype: unknown, not a guess.
        match dtype_kwarg(args, 2) {
            Ok(Some(d)) => dtype = Some(d),
            Ok(None) => {}
            Err(()) => return unknown_array(),
        }
    }
    let Some(keep) = keepdims(args) else {
        return unknown_array();
    };
    let axis = axis_of(args.get(1, "axis"));
    let arg_reduction = matches!(name, "argmax" | "argmin");
    if arg_reduction {
        if let AxisArg::Axes { tuple: true, .. } = axis {
            return error(ShapeError {
                kind: ShapeErrorKind::Other,
                message: "'tuple' object cannot be interpreted as an integer".into(),
            });
        }
    }
    // Axes counted from the end of a variadic `[*batch, n, d]` reduce its known axes.
    if let Some(o) = lift_first(
        args,
        "a",
        |d| axis_within(&axis, d.len()),
        |args| reduce(_ctx, args, name, rule),
    ) {
        return o;
    }
    let Some(dims) = a.shape.dims() else {
        return match (axis, keep) {
            (AxisArg::All, false) => Outcome::value(Value::Array(ArrayValue::scalar(dtype))),
            _ => Outcome::value(Value::Array(ArrayValue::new(Shape::Unranked, dtype))),
        };
    };
    let reduced: Vec<usize> = match axis {
        AxisArg::All => (0..dims.len()).collect(),
        // 0-d input: ufunc reductions accept axis 0 / -1 and give a scalar.
        AxisArg::Axes { .. } if dims.is_empty() => Vec::new(),
        AxisArg::Axes { axes, .. } => match norm_axes(&axes, dims.len()) {
            Ok(a) => a,
            Err(e) => return error(e),
        },
        AxisArg::Unknown => {
            return Outcome::value(Value::Array(ArrayValue::new(Shape::Unranked, dtype)))
        }
    };
    // Reductions without an identity raise on an empty reduced axis.
    if (rule == ReduceDtype::Same || arg_reduction)
        && args.kw("initial").is_none()
        && reduced.iter().any(|&i| dims[i].as_lit() == Some(0))
    {
        let message = if arg_reduction {
            format!("attempt to get {name} of an empty sequence")
        } else {
            format!("zero-size array to reduction operation {name} which has no identity")
        };
        return error(ShapeError {
            kind: ShapeErrorKind::Other,
            message,
        });
    }
    let out = reduced_dims(dims, &reduced, keep);
    Outcome::value(Value::Array(array_or_scalar(Shape::Ranked(out), dtype)))
}

/// The shape left after reducing `axes` of `dims`: removed, or kept as 1 with `keepdims`.
pub(crate) fn reduced_dims(dims: &[Dim], axes: &[usize], keepdims: bool) -> Vec<Dim> {
    dims.iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::lit(1)),
            (true, false) => None,
        })
        .collect()
}

/// `np.cumsum(a, axis=None, dtype=None)`: flattened without an axis, same shape with one.
pub(crate) fn cumulative(_ctx: &mut Ctx, args: &Args) -> Outcome {
    let Some(a) = args.get(0, "a").and_then(to_array) else {
        return unknown_array();
    };
    let dtype = match dtype_kwarg(args, 2) {
        Ok(Some(d)) => Some(d),
        Ok(None) => a.dtype.map(|d| reduce_dtype(ReduceDtype::Accumulate, d)),
        Err(()) => return unknown_array(),
    };
    let shape = match (axis_of(args.get(1, "axis")), a.shape.dims()) {
        (AxisArg::All, Some(d)) => Shape::Ranked(vec![product(d).map_or(Dim::Unknown, Dim::Known)]),
        (AxisArg::All, None) => Shape::Ranked(vec![Dim::Unknown]),
        (AxisArg::Axes { tuple: true, .. }, _) => {
            return error(ShapeError {
                kind: ShapeErrorKind::Other,
                message: "'tuple' object cannot be interpreted as an integer".into(),
            })
        }
        (AxisArg::Axes { axes, .. }, Some(d)) => match norm_axes(&axes, d.len()) {
            Ok(_) => a.shape.clone(),
            Err(e) => return error(e),
        },
        _ => a.shape.clone(),
    };
    Outcome::value(Value::Array(ArrayValue::new(shape, dtype)))
}

/// `percentile(a, q, axis=None, ..., keepdims=False)` / `quantile`: `q.shape` followed by
/// the reduced shape; dtype from `a` and `q` (q weak when a Python number).
pub(crate) fn quantile(ctx: &mut Ctx, args: &Args) -> Outcome {
    let (Some(a), Some(q)) = (args.get(0, "a").and_then(to_array), args.get(1, "q")) else {
        return unknown_array();
    };
    let Some(qop) = super::elementwise::operand(q) else {
        return unknown_array();
    };
    let dtype = if args.kw("method").is_some() {
        None
    } else {
        super::promote::result_type(&[
            super::promote::DtypeOperand::Strong(a.dtype),
            qop.dtype,
            super::promote::DtypeOperand::Weak(super::promote::Kind::Float),
        ])
    };
    // The reduced shape is what `mean` gives with the same axis/keepdims.
    let kw: Vec<(&str, Value)> = args
        .kw
        .iter()
        .filter(|(k, _)| *k == "keepdims")
        .cloned()
        .collect();
    let mut pos = vec![Value::Array(a)];
    if let Some(axis) = args.get(2, "axis") {
        pos.push(axis.clone());
    }
    let reduced = reduce(ctx, &Args::new(&pos, &kw), "percentile", ReduceDtype::Mean);
    match (reduced.value, qop.shape.dims()) {
        (Value::Array(r), Some(qd)) => match r.shape.dims() {
            Some(rd) => {
                let mut out = qd.to_vec();
                out.extend_from_slice(rd);
                Outcome::value(Value::Array(array_or_scalar(Shape::Ranked(out), dtype)))
            }
            None => Outcome::value(Value::Array(ArrayValue::new(Shape::Unranked, dtype))),
        },
        (Value::Array(_), None) => {
            Outcome::value(Value::Array(ArrayValue::new(Shape::Unranked, dtype)))
        }
        (v, _) => Outcome {
            value: v,
            error: reduced.error,
        },
    }
}

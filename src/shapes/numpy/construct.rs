//! Constructors (section 3): `array`, `asarray`, filled arrays and their `_like`, ranges,
//! `eye`/`identity`/`diag`, and random numbers (legacy `np.random.*` and `Generator`).

use super::args::{dtype_kwarg, int_of, lit_of, shape_of, to_array, Args};
use super::broadcast::{broadcast_shapes, provably_ge};
use super::elementwise::{error, operand, unknown_array};
use super::promote::{kind, promote, result_type, DtypeOperand, Kind};
use super::{Ctx, Outcome, ShapeError, ShapeErrorKind};
use crate::shapes::dim::{Dim, DimExpr};
use crate::shapes::dtype::Dtype;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, PyFloat, Value};

fn array(shape: Shape, dtype: Option<Dtype>) -> Outcome {
    Outcome::value(Value::Array(ArrayValue::new(shape, dtype)))
}

/// The dtype from `dtype=` (or position `i`), else `default`. `None` when one is given
/// that the model cannot name: a structured or subarray dtype may change the shape
/// (`np.zeros(3, "(2,)f8")` is (3, 2)), so the caller's result is then unknown.
fn dtype_or(args: &Args, i: usize, default: Option<Dtype>) -> Option<Option<Dtype>> {
    match dtype_kwarg(args, i) {
        Ok(Some(d)) => Some(Some(d)),
        Ok(None) => Some(default),
        Err(()) => None,
    }
}

/// The shape argument at `i` (or keyword `name`) as a shape; errors for negative sizes.
fn shape_arg(args: &Args, i: usize, name: &str) -> Result<Shape, ShapeError> {
    match args.get(i, name).map(shape_of) {
        Some(Ok(Some(d))) => Ok(Shape::Ranked(d)),
        Some(Err(e)) => Err(e),
        _ => Ok(Shape::Unranked),
    }
}

/// `np.array(obj, dtype=None, ndmin=0)` / `np.asarray(obj, dtype=None)`: always an ndarray.
pub(crate) fn array_fn(args: &Args) -> Outcome {
    let Some(obj) = args.get(0, "object").or(args.get(0, "a")) else {
        return unknown_array();
    };
    let Some(dtype) = dtype_or(args, 1, None) else {
        return unknown_array();
    };
    let Some(mut a) = to_array(obj) else {
        return Outcome::value(Value::Array(ArrayValue::new(Shape::Unranked, dtype)));
    };
    a.dtype = dtype.or(a.dtype);
    a.is_scalar = false;
    let ndmin = args.kw("ndmin").and_then(lit_of);
    if ndmin.is_some_and(|n| n > super::args::MAX_DIMS) {
        return unknown_array();
    }
    if let (Some(n), Shape::Ranked(dims)) = (ndmin, &mut a.shape) {
        while (dims.len() as i64) < n {
            dims.insert(0, Dim::lit(1));
        }
    }
    Outcome::value(Value::Array(a))
}

/// `zeros/ones/empty(shape, dtype=float64)`.
pub(crate) fn filled(args: &Args) -> Outcome {
    let Some(dtype) = dtype_or(args, 1, Some(Dtype::Float64)) else {
        return unknown_array();
    };
    match shape_arg(args, 0, "shape") {
        Ok(s) => array(s, dtype),
        Err(e) => error(e),
    }
}

/// `full(shape, fill_value, dtype=None)`: dtype from the fill value.
pub(crate) fn full(ctx: &mut Ctx, args: &Args) -> Outcome {
    let shape = match shape_arg(args, 0, "shape") {
        Ok(s) => s,
        Err(e) => return error(e),
    };
    let fill = args.get(1, "fill_value").and_then(to_array);
    if let Some(f) = &fill {
        if let Err(e) = check_fits(ctx, &f.shape, &shape) {
            return error(e);
        }
    }
    match dtype_or(args, 2, fill.and_then(|f| f.dtype)) {
        Some(dtype) => array(shape, dtype),
        None => unknown_array(),
    }
}

/// A fill value must broadcast *to* the shape.
fn check_fits(ctx: &mut Ctx, fill: &Shape, shape: &Shape) -> Result<(), ShapeError> {
    if let (Some(f), Some(s)) = (fill.dims(), shape.dims()) {
        let b = broadcast_shapes(ctx.facts, &[fill, shape])?;
        if f.len() > s.len() || b.rank() != Some(s.len()) {
            return Err(super::broadcast::broadcast_error(&[fill, shape]));
        }
    }
    Ok(())
}

/// `zeros_like/ones_like/empty_like(a, dtype=None, shape=None)`; `full_like(a, fill, ...)`
/// when `has_fill`.
pub(crate) fn like(args: &Args, has_fill: bool) -> Outcome {
    let Some(a) = args.get(0, "a").and_then(to_array) else {
        return unknown_array();
    };
    let d = if has_fill { 2 } else { 1 };
    let Some(dtype) = dtype_or(args, d, a.dtype) else {
        return unknown_array();
    };
    let shape = match args.get(d + 3, "shape") {
        None | Some(Value::None) => a.shape,
        Some(v) => match shape_of(v) {
            Ok(Some(dims)) => Shape::Ranked(dims),
            Ok(None) => Shape::Unranked,
            Err(e) => return error(e),
        },
    };
    array(shape, dtype)
}

/// The dtype an `arange`/`linspace` argument contributes.
fn number_dtype(v: &Value) -> Option<Dtype> {
    match v {
        Value::Int(_) | Value::Bool(_) => Some(Dtype::Int64),
        Value::Float(_) => Some(Dtype::Float64),
        Value::Complex => Some(Dtype::Complex128),
        Value::Array(a) => a.dtype,
        _ => None,
    }
}

/// `arange(stop)`, `arange(start, stop[, step])`.
pub(crate) fn arange(args: &Args) -> Outcome {
    let given: Vec<&Value> = args
        .pos
        .iter()
        .take(3)
        .chain(["start", "stop", "step"].iter().filter_map(|k| args.kw(k)))
        .filter(|v| !matches!(v, Value::None))
        .collect();
    let mut dtype: Option<Dtype> = Some(Dtype::Int64);
    for v in &given {
        dtype = match (dtype, number_dtype(v)) {
            (Some(a), Some(b)) => Some(match kind(b) {
                Kind::Bool | Kind::Int => a,
                _ => promote(
                    a,
                    if kind(b) == Kind::Float {
                        Dtype::Float64
                    } else {
                        b
                    },
                ),
            }),
            _ => None,
        };
    }
    let Some(dtype) = dtype_or(args, 3, dtype) else {
        return unknown_array();
    };
    if given.iter().any(|v| matches!(v, Value::Float(_))) {
        return match float_arange_len(&given) {
            Ok(len) => array(
                Shape::Ranked(vec![len.map_or(Dim::Unknown, Dim::lit)]),
                dtype,
            ),
            Err(e) => error(e),
        };
    }
    let ints: Vec<Option<DimExpr>> = given
        .iter()
        .map(|v| match v {
            Value::Int(_) | Value::Bool(_) => int_of(v),
            _ => None,
        })
        .collect();
    let len = match ints.as_slice() {
        [Some(stop)] => max0(stop.clone()),
        [Some(start), Some(stop)] => stop.checked_sub(start).and_then(max0),
        [Some(start), Some(stop), Some(step)] => match step.as_lit() {
            Some(0) => {
                return error(ShapeError {
                    kind: ShapeErrorKind::Other,
                    message: "division by zero".into(),
                })
            }
            Some(k) => stop.checked_sub(start).and_then(|span| ceil_div(&span, k)),
            None => None,
        },
        _ => None,
    };
    array(
        Shape::Ranked(vec![len.map_or(Dim::Unknown, Dim::Known)]),
        dtype,
    )
}

/// The length of `arange` over Python numbers of which at least one is a float, computed
/// as NumPy does (`_calc_length`): `ceil((stop - start) / step)` in Python arithmetic (a
/// double), 0 when negative or when `stop == start`. `Ok(None)` when a value is unknown or
/// the length is not a size NumPy could allocate.
fn float_arange_len(given: &[&Value]) -> Result<Option<i64>, ShapeError> {
    let num = |v: &Value| match v {
        Value::Float(x) => Some(x.map(|x| Num::Float(x.0))),
        Value::Int(e) => Some(e.as_ref().and_then(DimExpr::as_lit).map(Num::Int)),
        Value::Bool(b) => Some(b.map(|b| Num::Int(i64::from(b)))),
        _ => None,
    };
    let nums: Option<Vec<Option<Num>>> = given.iter().map(|v| num(v)).collect();
    let Some(nums) = nums else {
        return Ok(None);
    };
    let (start, stop, step) = match nums.as_slice() {
        [stop] => (Some(Num::Int(0)), *stop, Some(Num::Int(1))),
        [start, stop] => (*start, *stop, Some(Num::Int(1))),
        [start, stop, step] => (*start, *stop, *step),
        _ => return Ok(None),
    };
    if step.is_some_and(Num::is_zero) {
        return Err(ShapeError {
            kind: ShapeErrorKind::Other,
            message: "float division by zero".into(),
        });
    }
    let (Some(start), Some(stop), Some(step)) = (start, stop, step) else {
        return Ok(None);
    };
    let Some(next) = stop.sub(start) else {
        return Ok(None);
    };
    if next.is_zero() {
        return Ok(Some(0));
    }
    let (Some(next), Some(step)) = (next.as_f64(), step.as_f64()) else {
        return Ok(None);
    };
    let len = (next / step).ceil();
    // Past 2**40 elements NumPy cannot allocate it (or the length is nan/inf): no claim.
    if !len.is_finite() || len > (1u64 << 40) as f64 {
        return Ok(None);
    }
    Ok(Some(len.max(0.0) as i64))
}

/// A Python number with a known value.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn is_zero(self) -> bool {
        match self {
            Num::Int(i) => i == 0,
            Num::Float(x) => x == 0.0,
        }
    }

    /// The value as Python converts it for float arithmetic; exact ints only.
    fn as_f64(self) -> Option<f64> {
        match self {
            Num::Int(i) => PyFloat::from_exact_int(i),
            Num::Float(x) => Some(x),
        }
    }

    /// Python `self - other`: exact for two ints, a double otherwise.
    fn sub(self, other: Num) -> Option<Num> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a.checked_sub(b).map(Num::Int),
            _ => Some(Num::Float(self.as_f64()? - other.as_f64()?)),
        }
    }
}

/// `max(0, e)` when provable.
fn max0(e: DimExpr) -> Option<DimExpr> {
    let zero = DimExpr::lit(0);
    if provably_ge(&e, &zero) {
        Some(e)
    } else if provably_ge(&zero, &e) {
        Some(zero)
    } else {
        None
    }
}

/// `max(0, ceil(span / step))` for a literal step (in i128: literals may be huge).
fn ceil_div(span: &DimExpr, step: i64) -> Option<DimExpr> {
    match (span.as_lit(), step) {
        (Some(s), k) => {
            let (s, k) = (i128::from(s), i128::from(k));
            let q = if k > 0 {
                (s + k - 1).div_euclid(k)
            } else {
                (-s - k - 1).div_euclid(-k)
            };
            i64::try_from(q.max(0)).ok().map(DimExpr::lit)
        }
        (None, 1) => max0(span.clone()),
        _ => None,
    }
}

/// `linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)`.
pub(crate) fn linspace(ctx: &mut Ctx, args: &Args) -> Outcome {
    let (Some(start), Some(stop)) = (args.get(0, "start"), args.get(1, "stop")) else {
        return unknown_array();
    };
    let num = match args.get(2, "num") {
        None => Some(DimExpr::lit(50)),
        Some(v) => int_of(v),
    };
    if num
        .as_ref()
        .and_then(DimExpr::as_lit)
        .is_some_and(|n| n < 0)
    {
        return error(ShapeError {
            kind: ShapeErrorKind::Other,
            message: format!(
                "Number of samples, {}, must be non-negative.",
                num.as_ref().map_or(String::new(), |n| n.to_string())
            ),
        });
    }
    let (Some(a), Some(b)) = (operand(start), operand(stop)) else {
        return unknown_array();
    };
    let inner = match broadcast_shapes(ctx.facts, &[&a.shape, &b.shape]) {
        Ok(s) => s,
        Err(e) => return error(e),
    };
    // Integers become float64; float32 start and stop stay float32.
    let base = result_type(&[a.dtype, b.dtype, DtypeOperand::Weak(Kind::Float)]);
    let Some(dtype) = dtype_or(args, 5, base) else {
        return unknown_array();
    };
    let n = num.map_or(Dim::Unknown, Dim::Known);
    let shape = match inner.dims() {
        Some(d) => {
            let mut dims = d.to_vec();
            let axis = args.get(6, "axis").and_then(lit_of).unwrap_or(0);
            match super::args::norm_axis(axis, dims.len() + 1) {
                Ok(ax) => dims.insert(ax, n),
                Err(e) => return error(e),
            }
            Shape::Ranked(dims)
        }
        None => Shape::Unranked,
    };
    let arr = Value::Array(ArrayValue::new(shape, dtype));
    match args.get(4, "retstep") {
        Some(Value::Bool(Some(true))) => Outcome::value(Value::Tuple(vec![
            arr,
            Value::Array(ArrayValue::scalar(Some(Dtype::Float64))),
        ])),
        Some(Value::Bool(Some(false))) | None => Outcome::value(arr),
        Some(_) => Outcome::unknown(),
    }
}

/// `eye(N, M=None, k=0, dtype=float64)`.
pub(crate) fn eye(args: &Args) -> Outcome {
    let n = args.get(0, "N").and_then(int_of);
    let m = match args.get(1, "M") {
        None | Some(Value::None) => n.clone(),
        Some(v) => int_of(v),
    };
    let dims = vec![
        n.map_or(Dim::Unknown, Dim::Known),
        m.map_or(Dim::Unknown, Dim::Known),
    ];
    match dtype_or(args, 3, Some(Dtype::Float64)) {
        Some(dtype) => array(Shape::Ranked(dims), dtype),
        None => unknown_array(),
    }
}

/// `identity(n, dtype=float64)`.
pub(crate) fn identity(args: &Args) -> Outcome {
    let n = args
        .get(0, "n")
        .and_then(int_of)
        .map_or(Dim::Unknown, Dim::Known);
    match dtype_or(args, 1, Some(Dtype::Float64)) {
        Some(dtype) => array(Shape::Ranked(vec![n.clone(), n]), dtype),
        None => unknown_array(),
    }
}

/// `diag(v, k=0)`: builds a matrix from a 1-D array or extracts a diagonal from a 2-D one.
pub(crate) fn diag(args: &Args) -> Outcome {
    let Some(v) = args.get(0, "v").and_then(to_array) else {
        return unknown_array();
    };
    let Some(k) = args.get(1, "k").map_or(Some(0), lit_of) else {
        return array(Shape::Unranked, v.dtype);
    };
    let Some(dims) = v.shape.dims() else {
        return array(Shape::Unranked, v.dtype);
    };
    match dims {
        [n] => {
            let d = n
                .expr()
                .and_then(|n| n.checked_add(&DimExpr::lit(k.checked_abs()?)))
                .map_or(Dim::Unknown, Dim::Known);
            array(Shape::Ranked(vec![d.clone(), d]), v.dtype)
        }
        [m, n] => array(
            Shape::Ranked(vec![super::manip::diagonal_len(m, n, k)]),
            v.dtype,
        ),
        _ => error(ShapeError {
            kind: ShapeErrorKind::Other,
            message: "Input must be 1- or 2-d.".into(),
        }),
    }
}

/// Which random API: the legacy module functions or a `Generator` method (they differ in
/// what a call without `size` returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RandomApi {
    Legacy,
    Generator,
}

/// `rand(d0, d1, ...)`, `randn(d0, ...)`: sizes as separate ints.
pub(crate) fn rand_dims(args: &Args) -> Outcome {
    if args.pos.is_empty() {
        return Outcome::value(Value::Float(None));
    }
    let dims = args
        .pos
        .iter()
        .map(|v| int_of(v).map_or(Dim::Unknown, Dim::Known))
        .collect();
    array(Shape::Ranked(dims), Some(Dtype::Float64))
}

/// A sampler with `n_params` distribution parameters followed by `size`
/// (`normal(loc, scale, size)`, `random(size)`, `poisson(lam, size)`).
pub(crate) fn sampler(
    ctx: &mut Ctx,
    args: &Args,
    params: &[&str],
    out: Dtype,
    api: RandomApi,
) -> Outcome {
    let n = params.len();
    let dtype = if api == RandomApi::Generator {
        match dtype_or(args, n + 1, Some(out)) {
            Some(d) => d,
            None => return unknown_array(),
        }
    } else {
        Some(out)
    };
    let mut shapes = Vec::new();
    for (i, name) in params.iter().enumerate() {
        if let Some(v) = args.get(i, name) {
            match operand(v) {
                Some(o) => shapes.push(o.shape),
                None => return unknown_array(),
            }
        }
    }
    match args.get(n, "size") {
        None | Some(Value::None) => {
            let refs: Vec<&Shape> = shapes.iter().collect();
            match broadcast_shapes(ctx.facts, &refs) {
                Ok(s) if s.rank() == Some(0) => Outcome::value(python_scalar(out)),
                Ok(s) => array(s, dtype),
                Err(e) => error(e),
            }
        }
        Some(v) => match shape_of(v) {
            Ok(Some(d)) => array(Shape::Ranked(d), dtype),
            Ok(None) => array(Shape::Unranked, dtype),
            Err(e) => error(e),
        },
    }
}

/// The Python value a scalar draw returns.
fn python_scalar(d: Dtype) -> Value {
    match kind(d) {
        Kind::Int => Value::Int(None),
        Kind::Bool => Value::Bool(None),
        Kind::Complex => Value::Complex,
        Kind::Float => Value::Float(None),
    }
}

/// `randint(low, high=None, size=None, dtype=int)` / `Generator.integers(...)`.
pub(crate) fn integers(args: &Args, api: RandomApi) -> Outcome {
    let Some(dtype) = dtype_or(args, 3, Some(Dtype::Int64)) else {
        return unknown_array();
    };
    match args.get(2, "size") {
        None | Some(Value::None) => {
            let explicit = !matches!(dtype_kwarg(args, 3), Ok(None));
            if api == RandomApi::Legacy && !explicit {
                Outcome::value(Value::Int(None))
            } else {
                Outcome::value(Value::Array(ArrayValue::scalar(dtype)))
            }
        }
        Some(v) => match shape_of(v) {
            Ok(Some(d)) => array(Shape::Ranked(d), dtype),
            Ok(None) => array(Shape::Unranked, dtype),
            Err(e) => error(e),
        },
    }
}

/// `choice(a, size=None, replace=True, p=None)` (and the Generator's `axis=`).
pub(crate) fn choice(args: &Args, api: RandomApi) -> Outcome {
    let Some(a) = args.get(0, "a") else {
        return unknown_array();
    };
    let size = match args.get(1, "size") {
        None | Some(Value::None) => None,
        Some(v) => match shape_of(v) {
            Ok(s) => Some(s),
            Err(e) => return error(e),
        },
    };
    let (elem_dims, dtype): (Vec<Dim>, Option<Dtype>) = match a {
        Value::Int(_) => (Vec::new(), Some(Dtype::Int64)),
        other => match to_array(other) {
            Some(arr) => match arr.shape.dims() {
                Some([_]) => (Vec::new(), arr.dtype),
                Some(d) if api == RandomApi::Generator && !d.is_empty() => {
                    let axis = args.kw("axis").and_then(lit_of).unwrap_or(0);
                    let Ok(ax) = super::args::norm_axis(axis, d.len()) else {
                        return unknown_array();
                    };
                    let mut rest = d.to_vec();
                    rest.remove(ax);
                    return match size {
                        None => array(Shape::Ranked(rest), arr.dtype),
                        Some(Some(s)) => {
                            let mut out = rest;
                            for (i, x) in s.into_iter().enumerate() {
                                out.insert(ax + i, x);
                            }
                            array(Shape::Ranked(out), arr.dtype)
                        }
                        Some(None) => array(Shape::Unranked, arr.dtype),
                    };
                }
                Some(d) if !d.is_empty() => {
                    return error(ShapeError {
                        kind: ShapeErrorKind::Other,
                        message: "a must be 1-dimensional".into(),
                    })
                }
                _ => return unknown_array(),
            },
            None => return unknown_array(),
        },
    };
    match size {
        None => match (a, api) {
            (Value::Int(_), _) => Outcome::value(Value::Int(None)),
            _ => Outcome::value(Value::Array(ArrayValue::scalar(dtype))),
        },
        Some(Some(mut s)) => {
            s.extend(elem_dims);
            array(Shape::Ranked(s), dtype)
        }
        Some(None) => array(Shape::Unranked, dtype),
    }
}

/// `permutation(x)`: `(x,)` int64 for an int, else the array's shape and dtype.
pub(crate) fn permutation(args: &Args) -> Outcome {
    match args.get(0, "x") {
        Some(v @ Value::Int(_)) => array(
            Shape::Ranked(vec![int_of(v).map_or(Dim::Unknown, Dim::Known)]),
            Some(Dtype::Int64),
        ),
        Some(v) => match to_array(v) {
            Some(a) => array(a.shape, a.dtype),
            None => unknown_array(),
        },
        None => unknown_array(),
    }
}

/// `np.random.default_rng(seed)`.
pub(crate) fn default_rng() -> Outcome {
    Outcome::value(Value::RandomGenerator)
}

/// `multivariate_normal(mean, cov, size=None)`: `size + (k,)` with k = `mean.shape[-1]`.
pub(crate) fn multivariate_normal(args: &Args) -> Outcome {
    let Some(mean) = args.get(0, "mean").and_then(to_array) else {
        return unknown_array();
    };
    let k = match mean.shape.dims() {
        Some([k]) => k.clone(),
        _ => return unknown_array(),
    };
    let mut dims = match args.get(2, "size") {
        None | Some(Value::None) => Vec::new(),
        Some(v) => match shape_of(v) {
            Ok(Some(d)) => d,
            Ok(None) => return array(Shape::Unranked, Some(Dtype::Float64)),
            Err(e) => return error(e),
        },
    };
    dims.push(k);
    array(Shape::Ranked(dims), Some(Dtype::Float64))
}

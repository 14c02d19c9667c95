//! Reading call arguments as NumPy would: positional-or-keyword lookup, array-likes, shape
//! tuples, axes and dtypes. Everything returns `None` for "not known" rather than guessing.

use super::promote::{default_dtype, promote, Kind};
use super::{Kwargs, ShapeError, ShapeErrorKind};
use crate::shapes::dim::{Dim, DimExpr};
use crate::shapes::dtype::Dtype;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

/// Positional and keyword arguments of one call.
pub(crate) struct Args<'a, 'v> {
    pub(crate) pos: &'a [Value],
    pub(crate) kw: &'a Kwargs<'v>,
}

impl<'a, 'v> Args<'a, 'v> {
    pub(crate) fn new(pos: &'a [Value], kw: &'a Kwargs<'v>) -> Self {
        Args { pos, kw }
    }

    /// The argument at position `i` or named `name`, if given.
    pub(crate) fn get(&self, i: usize, name: &str) -> Option<&'a Value> {
        self.pos
            .get(i)
            .or_else(|| self.kw.iter().find(|(k, _)| *k == name).map(|(_, v)| v))
    }

    /// A keyword-only argument.
    pub(crate) fn kw(&self, name: &str) -> Option<&'a Value> {
        self.kw.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// True when the argument is absent or `None`.
    pub(crate) fn absent(&self, i: usize, name: &str) -> bool {
        matches!(self.get(i, name), None | Some(Value::None))
    }
}

/// An `int` argument as a size expression.
pub(crate) fn int_of(v: &Value) -> Option<DimExpr> {
    match v {
        Value::Int(e) => e.clone(),
        Value::Bool(Some(b)) => Some(DimExpr::lit(i64::from(*b))),
        _ => None,
    }
}

/// A literal `int` argument.
pub(crate) fn lit_of(v: &Value) -> Option<i64> {
    int_of(v).and_then(|e| e.as_lit())
}

/// A dtype argument (`np.float32`, `float`, `"int64"`).
pub(crate) fn dtype_of(v: &Value) -> Option<Dtype> {
    match v {
        Value::DtypeObj(d) => Some(*d),
        Value::Str(s) => dtype_from_str(s),
        _ => None,
    }
}

fn dtype_from_str(s: &str) -> Option<Dtype> {
    Dtype::from_name(s).or(match s {
        "f8" | "d" | "float" | "double" => Some(Dtype::Float64),
        "f4" | "f" | "single" => Some(Dtype::Float32),
        "f2" | "e" | "half" => Some(Dtype::Float16),
        "i8" | "int" | "long" | "q" => Some(Dtype::Int64),
        "i4" | "i" | "intc" => Some(Dtype::Int32),
        "i2" | "h" => Some(Dtype::Int16),
        "i1" | "b" | "byte" => Some(Dtype::Int8),
        "u8" | "Q" => Some(Dtype::UInt64),
        "u4" | "I" => Some(Dtype::UInt32),
        "u2" | "H" => Some(Dtype::UInt16),
        "u1" | "B" | "ubyte" => Some(Dtype::UInt8),
        "c16" | "D" | "complex" | "cdouble" => Some(Dtype::Complex128),
        "c8" | "F" | "csingle" => Some(Dtype::Complex64),
        "?" | "bool_" => Some(Dtype::Bool),
        _ => None,
    })
}

/// What a `dtype=` argument says: `Ok(None)` when absent, `Err(())` when given but unknown.
pub(crate) fn dtype_kwarg(args: &Args, i: usize) -> Result<Option<Dtype>, ()> {
    match args.get(i, "dtype") {
        None | Some(Value::None) => Ok(None),
        Some(v) => dtype_of(v).map(Some).ok_or(()),
    }
}

/// The kind of a Python scalar value, for weak promotion.
pub(crate) fn python_kind(v: &Value) -> Option<Kind> {
    match v {
        Value::Bool(_) => Some(Kind::Bool),
        Value::Int(_) => Some(Kind::Int),
        Value::Float(_) => Some(Kind::Float),
        Value::Complex => Some(Kind::Complex),
        _ => None,
    }
}

/// `np.asarray(v)`: arrays as they are; Python scalars and nested lists/tuples as new
/// arrays (Python scalars become i8/f8/c16/b: strong from here on). `None` when unknown.
pub(crate) fn to_array(v: &Value) -> Option<ArrayValue> {
    match v {
        Value::Array(a) => Some(a.clone()),
        Value::List(items) | Value::Tuple(items) => {
            let mut inner: Option<(Vec<Dim>, Option<Dtype>)> = None;
            let mut dtype: Option<Dtype> = None;
            let mut dtype_known = true;
            for item in items {
                let a = to_array(item)?;
                let dims = a.shape.dims()?.to_vec();
                match a.dtype {
                    Some(d) => dtype = Some(dtype.map_or(d, |t| promote(t, d))),
                    None => dtype_known = false,
                }
                inner = Some(match inner {
                    None => (dims, a.dtype),
                    Some((prev, pd)) => {
                        if prev.len() != dims.len() {
                            // Ragged: NumPy raises; we only claim to know nothing.
                            return None;
                        }
                        let merged = prev
                            .iter()
                            .zip(&dims)
                            .map(|(p, d)| if p == d { p.clone() } else { Dim::Unknown })
                            .collect();
                        (merged, pd)
                    }
                });
            }
            let mut shape = vec![Dim::lit(items.len() as i64)];
            match inner {
                Some((dims, _)) => shape.extend(dims),
                // `np.array([])` is float64.
                None => dtype = Some(Dtype::Float64),
            }
            let dtype = if dtype_known { dtype } else { None };
            Some(ArrayValue::new(Shape::Ranked(shape), dtype))
        }
        other => {
            python_kind(other).map(|k| ArrayValue::new(Shape::scalar(), Some(default_dtype(k))))
        }
    }
}

/// NumPy's limit on the number of axes.
pub(crate) const MAX_DIMS: i64 = 64;

/// A shape argument (`3`, `(2, n)`, `[2, 3]`): the axis sizes, `Unknown` for unknown
/// entries; `None` when even the length is unknown. Negative literals raise.
pub(crate) fn shape_of(v: &Value) -> Result<Option<Vec<Dim>>, ShapeError> {
    let dims: Vec<Dim> = match v {
        Value::Int(_) | Value::Bool(_) => vec![dim_of(v)],
        Value::Tuple(items) | Value::List(items) => items.iter().map(dim_of).collect(),
        Value::Array(a) => match a.shape.dims() {
            Some([]) => vec![Dim::Unknown],
            // NumPy arrays have at most 64 axes.
            Some([n]) => match n
                .as_lit()
                .filter(|&n| n <= MAX_DIMS)
                .and_then(|n| usize::try_from(n).ok())
            {
                Some(n) => vec![Dim::Unknown; n],
                None => return Ok(None),
            },
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    if let Some(neg) = dims.iter().find_map(|d| d.as_lit().filter(|&n| n < 0)) {
        let _ = neg;
        return Err(ShapeError {
            kind: ShapeErrorKind::Other,
            message: "negative dimensions are not allowed".into(),
        });
    }
    Ok(Some(dims))
}

fn dim_of(v: &Value) -> Dim {
    match int_of(v) {
        Some(e) => Dim::Known(e),
        None => Dim::Unknown,
    }
}

/// An `axis=` argument before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AxisArg {
    /// Absent or `None`: all axes (or "flatten", depending on the function).
    All,
    /// One int or a tuple of ints, as written.
    Axes { axes: Vec<i64>, tuple: bool },
    /// Given, but not a literal.
    Unknown,
}

pub(crate) fn axis_of(v: Option<&Value>) -> AxisArg {
    match v {
        None | Some(Value::None) => AxisArg::All,
        Some(Value::Tuple(items)) => match items.iter().map(lit_of).collect::<Option<Vec<i64>>>() {
            Some(axes) => AxisArg::Axes { axes, tuple: true },
            None => AxisArg::Unknown,
        },
        Some(v) => match lit_of(v) {
            Some(a) => AxisArg::Axes {
                axes: vec![a],
                tuple: false,
            },
            None => AxisArg::Unknown,
        },
    }
}

/// Normalises one axis against `ndim` (`-ndim <= axis < ndim`), else NumPy's AxisError.
pub(crate) fn norm_axis(axis: i64, ndim: usize) -> Result<usize, ShapeError> {
    let n = ndim as i64;
    if axis < -n || axis >= n {
        return Err(axis_error(axis, ndim));
    }
    Ok(if axis < 0 { axis + n } else { axis } as usize)
}

pub(crate) fn axis_error(axis: i64, ndim: usize) -> ShapeError {
    ShapeError {
        kind: ShapeErrorKind::Axis,
        message: format!("axis {axis} is out of bounds for array of dimension {ndim}"),
    }
}

/// Normalises several axes; repeated axes raise.
pub(crate) fn norm_axes(axes: &[i64], ndim: usize) -> Result<Vec<usize>, ShapeError> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = norm_axis(a, ndim)?;
        if out.contains(&a) {
            return Err(ShapeError {
                kind: ShapeErrorKind::Axis,
                message: "duplicate value in 'axis'".into(),
            });
        }
        out.push(a);
    }
    Ok(out)
}

/// The literal elements of an int or a sequence of ints (`axes=(0, 2)`, `reps=[2, 1]`).
pub(crate) fn lits_of(v: &Value) -> Option<Vec<i64>> {
    match v {
        Value::Tuple(items) | Value::List(items) => items.iter().map(lit_of).collect(),
        v => lit_of(v).map(|n| vec![n]),
    }
}

/// NumPy's spelling of a shape in messages: `(3,4)`, `(5,)`, `()`, `(n,?)`.
pub(crate) fn fmt_dims(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(","))
    }
}

pub(crate) fn fmt_shape(shape: &Shape) -> String {
    match shape {
        Shape::Ranked(d) => fmt_dims(d),
        Shape::Variadic { group, dims } => {
            let mut parts = vec![crate::shapes::shape::group_label(group)];
            parts.extend(dims.iter().map(|d| d.to_string()));
            format!("({})", parts.join(","))
        }
        Shape::Unranked => "(...)".into(),
    }
}

//! Indexing `a[idx]`: NumPy's complete rule (basic and advanced indexing, the placement of
//! the broadcast index shape, bool masks, exact slice lengths with symbolic bounds).
//! Follows section 2 of NUMPY-SHAPE-RULES.md step by step.

use super::args::{fmt_dims, int_of, to_array};
use super::broadcast::{broadcast_dims, provably_ge};
use super::elementwise::error;
use super::promote::{kind, Kind};
use super::{Ctx, Outcome, ShapeError, ShapeErrorKind};
use crate::shapes::dim::{Dim, DimExpr};
use crate::shapes::facts::SizeFacts;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

/// One classified index entry.
#[derive(Debug, Clone)]
enum Entry<'v> {
    /// An integer (the literal value when known), including NumPy ints and 0-d int arrays.
    Int(Option<i64>),
    Slice(&'v [Option<Value>; 3]),
    NewAxis,
    Ellipsis,
    BoolScalar(Option<bool>),
    /// An integer array (or list of ints) with its shape, and its literal values when
    /// written as a list (for bounds checks).
    IntArray(Vec<Dim>, Option<Vec<i64>>),
    BoolArray(Vec<Dim>),
}

impl Entry<'_> {
    fn consumed(&self) -> usize {
        match self {
            Entry::Int(_) | Entry::Slice(_) | Entry::IntArray(..) => 1,
            Entry::BoolArray(d) => d.len(),
            Entry::NewAxis | Entry::Ellipsis | Entry::BoolScalar(_) => 0,
        }
    }
    fn is_advanced(&self) -> bool {
        matches!(
            self,
            Entry::IntArray(..) | Entry::BoolArray(_) | Entry::BoolScalar(_)
        )
    }
}

fn index_error(message: impl Into<String>) -> ShapeError {
    ShapeError {
        kind: ShapeErrorKind::Index,
        message: message.into(),
    }
}

const VALID_INDICES: &str = "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis \
                             (`None`) and integer or boolean arrays are valid indices";

/// Classifies one entry; `Ok(None)` when it is not known well enough.
fn classify(v: &Value) -> Result<Option<Entry<'_>>, ShapeError> {
    Ok(Some(match v {
        Value::Int(e) => Entry::Int(e.as_ref().and_then(|e| e.as_lit())),
        Value::Bool(b) => Entry::BoolScalar(*b),
        Value::Slice(parts) => Entry::Slice(parts),
        Value::None => Entry::NewAxis,
        Value::Ellipsis => Entry::Ellipsis,
        Value::Float(_) | Value::Complex => return Err(index_error(VALID_INDICES)),
        Value::Array(a) => {
            let Some(d) = a.dtype else { return Ok(None) };
            let Some(dims) = a.shape.dims() else {
                return Ok(None);
            };
            match (kind(d), dims.is_empty()) {
                (Kind::Int, true) => Entry::Int(None),
                (Kind::Int, false) => Entry::IntArray(dims.to_vec(), None),
                (Kind::Bool, true) => Entry::BoolScalar(None),
                (Kind::Bool, false) => Entry::BoolArray(dims.to_vec()),
                _ => {
                    return Err(index_error(if dims.is_empty() {
                        VALID_INDICES
                    } else {
                        "arrays used as indices must be of integer (or boolean) type"
                    }))
                }
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            if items
                .iter()
                .any(|i| matches!(i, Value::Slice(_) | Value::None | Value::Ellipsis))
            {
                return Err(index_error(VALID_INDICES));
            }
            if items.is_empty() {
                return Ok(Some(Entry::IntArray(vec![Dim::lit(0)], Some(Vec::new()))));
            }
            let Some(a) = to_array(v) else {
                return Ok(None);
            };
            let (Some(d), Some(dims)) = (a.dtype, a.shape.dims()) else {
                return Ok(None);
            };
            match kind(d) {
                Kind::Int => {
                    let lits = items
                        .iter()
                        .map(|i| int_of(i).and_then(|e| e.as_lit()))
                        .collect::<Option<Vec<i64>>>();
                    Entry::IntArray(dims.to_vec(), lits)
                }
                Kind::Bool => Entry::BoolArray(dims.to_vec()),
                _ => {
                    return Err(index_error(
                        "arrays used as indices must be of integer (or boolean) type",
                    ))
                }
            }
        }
        _ => return Ok(None),
    }))
}

/// `base[index]`.
pub(crate) fn subscript(ctx: &mut Ctx, base: &ArrayValue, index: &Value) -> Outcome {
    match plan(ctx, base, index) {
        Ok(Some(a)) => Outcome::value(Value::Array(a)),
        Ok(None) => Outcome::value(Value::Array(ArrayValue::new(Shape::Unranked, base.dtype))),
        Err(e) => error(e),
    }
}

fn plan(ctx: &mut Ctx, base: &ArrayValue, index: &Value) -> Result<Option<ArrayValue>, ShapeError> {
    let raw: &[Value] = match index {
        Value::Tuple(items) => items,
        other => std::slice::from_ref(other),
    };
    let mut entries = Vec::with_capacity(raw.len());
    for v in raw {
        match classify(v)? {
            Some(e) => entries.push(e),
            None => return Ok(None),
        }
    }
    if entries
        .iter()
        .filter(|e| matches!(e, Entry::Ellipsis))
        .count()
        > 1
    {
        return Err(index_error(
            "an index can only have a single ellipsis ('...')",
        ));
    }
    if let Some((group, dims)) = base.shape.variadic() {
        return plan_variadic(ctx, base, group, dims, &entries, index);
    }
    let Some(dims) = base.shape.dims() else {
        return Ok(None);
    };
    let ndim = dims.len();
    let consumed: usize = entries.iter().map(Entry::consumed).sum();
    if consumed > ndim {
        return Err(index_error(format!(
            "too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed"
        )));
    }
    let has_basic_marker = entries
        .iter()
        .any(|e| matches!(e, Entry::Slice(_) | Entry::NewAxis | Entry::Ellipsis));
    let advanced = entries.iter().any(Entry::is_advanced);

    // Walk the entries, assigning base axes. `out` holds the basic result axes; the
    // advanced index shapes are collected with their entry positions for placement.
    let mut axis = 0usize;
    let mut out: Vec<Dim> = Vec::new();
    let mut adv_shapes: Vec<Vec<Dim>> = Vec::new();
    let mut adv_positions: Vec<usize> = Vec::new();
    let mut adv_out_pos: Option<usize> = None;
    let fill = ndim - consumed;
    for (pos, e) in entries.iter().enumerate() {
        if advanced && (e.is_advanced() || matches!(e, Entry::Int(_))) {
            adv_positions.push(pos);
            adv_out_pos.get_or_insert(out.len());
        }
        match e {
            Entry::Int(i) => {
                check_bound(ctx.facts, *i, &dims[axis], axis)?;
                if advanced {
                    adv_shapes.push(Vec::new());
                }
                axis += 1;
            }
            Entry::Slice(parts) => {
                out.push(slice_len(ctx.facts, &dims[axis], parts)?);
                axis += 1;
            }
            Entry::NewAxis => out.push(Dim::lit(1)),
            Entry::Ellipsis => {
                out.extend(dims[axis..axis + fill].iter().cloned());
                axis += fill;
            }
            Entry::BoolScalar(b) => adv_shapes.push(vec![match b {
                Some(true) => Dim::lit(1),
                Some(false) => Dim::lit(0),
                None => Dim::Unknown,
            }]),
            Entry::IntArray(shape, lits) => {
                if let Some(lits) = lits {
                    for &i in lits {
                        check_bound(ctx.facts, Some(i), &dims[axis], axis)?;
                    }
                }
                adv_shapes.push(shape.clone());
                axis += 1;
            }
            Entry::BoolArray(shape) => {
                for (k, d) in shape.iter().enumerate() {
                    let base_dim = &dims[axis + k];
                    if let (Some(n), Some(m)) = (base_dim.as_lit(), d.as_lit()) {
                        if n != m {
                            return Err(index_error(format!(
                                "boolean index did not match indexed array along axis {}; \
                                 size of axis is {n} but size of corresponding boolean axis is {m}",
                                axis + k
                            )));
                        }
                    }
                }
                // The number of True elements is data-dependent.
                adv_shapes.push(vec![Dim::Known(DimExpr::sym(ctx.fresh_symbol()))]);
                axis += shape.len();
            }
        }
    }
    // Axes not named by the index are kept whole (the implicit trailing `...`).
    out.extend(dims[axis..].iter().cloned());

    let dtype = base.dtype;
    if !advanced {
        let is_scalar = !has_basic_marker && consumed == ndim;
        return Ok(Some(ArrayValue {
            shape: Shape::Ranked(out),
            dtype,
            is_scalar,
        }));
    }
    let refs: Vec<&[Dim]> = adv_shapes.iter().map(|s| s.as_slice()).collect();
    let b = broadcast_dims(ctx.facts, &refs).map_err(|()| {
        let listed: Vec<String> = adv_shapes
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| fmt_dims(s))
            .collect();
        index_error(format!(
            "shape mismatch: indexing arrays could not be broadcast together with shapes {}",
            listed.join(" ")
        ))
    })?;
    let adjacent = adv_positions.windows(2).all(|w| w[1] == w[0] + 1);
    let at = if adjacent {
        adv_out_pos.unwrap_or(0)
    } else {
        0
    };
    let mut result = out;
    result.splice(at..at, b);
    Ok(Some(ArrayValue::new(Shape::Ranked(result), dtype)))
}

/// An integer index must satisfy `-n <= i < n` (checked when both are literals).
/// `x[..., i, :k, None]` on `[*batch, n, d]`: a leading ellipsis absorbs the group, and
/// integers, slices and new axes after it index known trailing axes only. Anything else
/// (an index before the ellipsis, an index array, more indices than known axes) depends
/// on the leading axes: unknown.
fn plan_variadic(
    ctx: &mut Ctx,
    base: &ArrayValue,
    group: &crate::shapes::dim::Symbol,
    dims: &[Dim],
    entries: &[Entry],
    index: &Value,
) -> Result<Option<ArrayValue>, ShapeError> {
    let Some((Entry::Ellipsis, rest)) = entries.split_first() else {
        return Ok(None);
    };
    let basic = rest
        .iter()
        .all(|e| matches!(e, Entry::Int(_) | Entry::Slice(_) | Entry::NewAxis));
    let consumed: usize = rest.iter().map(Entry::consumed).sum();
    if !basic || consumed > dims.len() {
        return Ok(None);
    }
    let trailing = ArrayValue::new(Shape::Ranked(dims.to_vec()), base.dtype);
    let lifted = plan(ctx, &trailing, index).map_err(|mut e| {
        // Axis numbers of the trailing axes count from the end of the real array.
        for (k, _) in dims.iter().enumerate() {
            let from_end = k as i64 - dims.len() as i64;
            e.message = e
                .message
                .replace(&format!("for axis {k} "), &format!("for axis {from_end} "));
        }
        e
    })?;
    Ok(lifted.and_then(|a| match a.shape {
        Shape::Ranked(dims) => Some(ArrayValue::new(
            Shape::Variadic {
                group: group.clone(),
                dims,
            },
            a.dtype,
        )),
        _ => None,
    }))
}

fn check_bound(facts: &SizeFacts, i: Option<i64>, n: &Dim, axis: usize) -> Result<(), ShapeError> {
    let n = match n {
        Dim::Known(e) => facts.canonical(e).as_lit(),
        Dim::Unknown => None,
    };
    if let (Some(i), Some(n)) = (i, n) {
        if i >= n || i < -n {
            return Err(index_error(format!(
                "index {i} is out of bounds for axis {axis} with size {n}"
            )));
        }
    }
    Ok(())
}

/// A slice bound or step: `Ok(None)` when omitted, `Err(())` when not known.
fn slice_part(p: &Option<Value>) -> Result<Option<DimExpr>, ()> {
    match p {
        None | Some(Value::None) => Ok(None),
        Some(v) => int_of(v).map(Some).ok_or(()),
    }
}

/// The length of `lo:hi:step` on an axis of size `n` (rule 2.7), exact when provable.
pub(crate) fn slice_len(
    facts: &SizeFacts,
    n: &Dim,
    parts: &[Option<Value>; 3],
) -> Result<Dim, ShapeError> {
    let step = match slice_part(&parts[2]) {
        Ok(None) => 1,
        Ok(Some(s)) => match s.as_lit() {
            Some(0) => {
                return Err(ShapeError {
                    kind: ShapeErrorKind::Other,
                    message: "slice step cannot be zero".into(),
                })
            }
            Some(s) => s,
            None => return Ok(Dim::Unknown),
        },
        Err(()) => return Ok(Dim::Unknown),
    };
    let (Ok(lo), Ok(hi)) = (slice_part(&parts[0]), slice_part(&parts[1])) else {
        return Ok(Dim::Unknown);
    };
    if lo.is_none() && hi.is_none() && (step == 1 || step == -1) {
        return Ok(n.clone());
    }
    let Dim::Known(n) = n else {
        return Ok(Dim::Unknown);
    };
    let n = facts.canonical(n);
    Ok(slice_len_expr(&n, lo.as_ref(), hi.as_ref(), step).map_or(Dim::Unknown, Dim::Known))
}

fn slice_len_expr(
    n: &DimExpr,
    lo: Option<&DimExpr>,
    hi: Option<&DimExpr>,
    step: i64,
) -> Option<DimExpr> {
    let zero = DimExpr::lit(0);
    let span = if step > 0 {
        let start = match lo {
            None => zero.clone(),
            Some(v) => clamp(&wrap(v, n)?, &zero, n)?,
        };
        let stop = match hi {
            None => n.clone(),
            Some(v) => clamp(&wrap(v, n)?, &zero, n)?,
        };
        stop.checked_sub(&start)?
    } else {
        let minus_one = DimExpr::lit(-1);
        let last = n.checked_sub(&DimExpr::lit(1))?;
        let start = match lo {
            None => last.clone(),
            Some(v) => clamp(&wrap(v, n)?, &minus_one, &last)?,
        };
        let stop = match hi {
            None => minus_one.clone(),
            Some(v) => clamp(&wrap(v, n)?, &minus_one, &last)?,
        };
        start.checked_sub(&stop)?
    };
    let step = step.checked_abs()?;
    if provably_ge(&zero, &span) {
        return Some(zero);
    }
    if !provably_ge(&span, &zero) {
        return None;
    }
    match span.as_lit() {
        Some(s) => i64::try_from((i128::from(s) + i128::from(step) - 1) / i128::from(step))
            .ok()
            .map(DimExpr::lit),
        None if step == 1 => Some(span),
        None => None,
    }
}

/// A bound as a position: negative values count from the end.
fn wrap(v: &DimExpr, n: &DimExpr) -> Option<DimExpr> {
    let zero = DimExpr::lit(0);
    if provably_ge(v, &zero) {
        Some(v.clone())
    } else if provably_ge(&DimExpr::lit(-1), v) {
        v.checked_add(n)
    } else {
        None
    }
}

/// `v` clamped to `[lo, hi]` when the comparison is provable.
fn clamp(v: &DimExpr, lo: &DimExpr, hi: &DimExpr) -> Option<DimExpr> {
    if provably_ge(lo, v) {
        Some(lo.clone())
    } else if provably_ge(v, hi) {
        Some(hi.clone())
    } else if provably_ge(v, lo) && provably_ge(hi, v) {
        Some(v.clone())
    } else {
        None
    }
}

//! Variadic shapes (`[*batch, n, d]`) in the NumPy model: which operations are blind to the
//! leading axes, and running them on the known trailing axes. An operation whose result
//! would depend on the leading axes (a positive axis, `.T`, `ravel`) is never lifted: it
//! sees an unknown rank.

use super::args::{Args, AxisArg};
use super::Outcome;
use crate::shapes::dim::{Dim, Symbol};
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

/// The group and the known trailing axes of a variadic array.
pub(crate) fn suffix_of(v: &Value) -> Option<(&Symbol, &[Dim])> {
    match v {
        Value::Array(a) => a.shape.variadic(),
        _ => None,
    }
}

/// True when every axis counts from the end (`-1`, `-2`) and lands within `len` trailing
/// axes, so it names the same axis whatever the leading axes are.
pub(crate) fn negative_within(axes: &[i64], len: usize) -> bool {
    axes.iter()
        .all(|&a| a < 0 && usize::try_from(a.unsigned_abs()).is_ok_and(|k| k <= len))
}

/// `negative_within` for an `axis=` argument; `None` (all axes) and unknown axes are not.
pub(crate) fn axis_within(axis: &AxisArg, len: usize) -> bool {
    match axis {
        AxisArg::Axes { axes, .. } => negative_within(axes, len),
        AxisArg::All | AxisArg::Unknown => false,
    }
}

/// Puts the group `group` back in front of a result computed on trailing axes: arrays (and
/// tuples of arrays) of known rank become `[*group, ...]`; anything else is unknown.
pub(crate) fn relift(group: &Symbol, v: Value) -> Value {
    match v {
        Value::Array(a) => match a.shape {
            Shape::Ranked(dims) => Value::Array(ArrayValue::new(
                Shape::Variadic {
                    group: group.clone(),
                    dims,
                },
                a.dtype,
            )),
            _ => Value::Array(ArrayValue::new(Shape::Unranked, a.dtype)),
        },
        Value::Tuple(items) => Value::Tuple(items.into_iter().map(|v| relift(group, v)).collect()),
        _ => Value::Unknown,
    }
}

/// An operation's outcome on trailing axes, lifted back over the group. An error found on
/// the trailing axes alone is NumPy's whatever the leading axes are, so it is kept.
pub(crate) fn relift_outcome(group: &Symbol, o: Outcome) -> Outcome {
    Outcome {
        value: relift(group, o.value),
        error: o.error,
    }
}

/// When the first argument (position 0 or keyword `name`) is variadic and `applies` says
/// the call only touches its trailing axes, runs `op` with that argument replaced by an
/// array of just those axes and lifts the result back; `None` otherwise.
pub(crate) fn lift_first(
    args: &Args,
    name: &str,
    applies: impl FnOnce(&[Dim]) -> bool,
    op: impl FnOnce(&Args) -> Outcome,
) -> Option<Outcome> {
    let first = args.get(0, name)?;
    let Value::Array(a) = first else { return None };
    let (group, dims) = a.shape.variadic()?;
    if !applies(dims) {
        return None;
    }
    let trailing = Value::Array(ArrayValue::new(Shape::Ranked(dims.to_vec()), a.dtype));
    let (pos, kw): (Vec<Value>, Vec<(&str, Value)>) = if args.pos.is_empty() {
        let kw = args
            .kw
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    if *k == name {
                        trailing.clone()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        (Vec::new(), kw)
    } else {
        let mut pos = args.pos.to_vec();
        pos[0] = trailing;
        (pos, args.kw.to_vec())
    };
    Some(relift_outcome(group, op(&Args::new(&pos, &kw))))
}

/// Broadcasting where a variadic shape takes part: `Some(result)` when every operand is
/// either of one group (the same leading axes) with as many trailing axes as the longest,
/// or ranked with at most that many axes; then only trailing axes meet, and a mismatch
/// there is NumPy's error whatever the group is. `None` when some operand is variadic but
/// the rule cannot decide (different groups, a ranked operand reaching into the group):
/// the result is then unknown and never an error.
pub(crate) fn broadcast(
    shapes: &[&Shape],
    broadcast_dims: impl FnOnce(&[&[Dim]]) -> Result<Vec<Dim>, ()>,
) -> Option<Result<Shape, ()>> {
    let mut group: Option<(&Symbol, usize)> = None;
    for s in shapes {
        if let Some((g, d)) = s.variadic() {
            match group {
                None => group = Some((g, d.len())),
                Some((h, n)) if h == g && n == d.len() => {}
                Some(_) => return None,
            }
        }
    }
    let (group, len) = group?;
    let mut dims: Vec<&[Dim]> = Vec::with_capacity(shapes.len());
    for s in shapes {
        match s {
            Shape::Variadic { dims: d, .. } => dims.push(d),
            Shape::Ranked(d) if d.len() <= len => dims.push(d),
            _ => return None,
        }
    }
    Some(broadcast_dims(&dims).map(|dims| Shape::Variadic {
        group: group.clone(),
        dims,
    }))
}

/// Operands of a gufunc-like operation with `core[i]` core axes each, when some are
/// variadic and the leading axes cannot matter: every variadic operand is of one group,
/// has its core axes among its known trailing axes, and the same number `l` of known loop
/// axes besides; every ranked operand has at most `l` loop axes. Then the loop axes of all
/// operands meet within the known axes (the group in front of each is the same). Returns
/// the group and the operands with variadic ones cut to their trailing axes.
pub(crate) fn lift_operands(values: &[&Value], core: &[usize]) -> Option<(Symbol, Vec<Value>)> {
    let mut group: Option<(&Symbol, usize)> = None;
    for (v, &c) in values.iter().zip(core) {
        if let Some((g, d)) = suffix_of(v) {
            let loops = d.len().checked_sub(c)?;
            match group {
                None => group = Some((g, loops)),
                Some((h, l)) if h == g && l == loops => {}
                Some(_) => return None,
            }
        }
    }
    let (group, loops) = group?;
    let mut out = Vec::with_capacity(values.len());
    for (v, &c) in values.iter().zip(core) {
        match v {
            Value::Array(a) => match &a.shape {
                Shape::Variadic { dims, .. } => out.push(Value::Array(ArrayValue::new(
                    Shape::Ranked(dims.clone()),
                    a.dtype,
                ))),
                Shape::Ranked(d) if d.len().saturating_sub(c) <= loops => out.push((*v).clone()),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some((group.clone(), out))
}

//! Broadcasting of shapes with symbolic sizes, and the size arithmetic the model shares
//! (products, provable bounds).

use super::args::fmt_shape;
use super::{ShapeError, ShapeErrorKind};
use crate::shapes::dim::{Dim, DimExpr};
use crate::shapes::facts::SizeFacts;
use crate::shapes::shape::Shape;

/// One axis of a broadcast: `Ok(dim)`, or `Err(())` when the sizes definitely differ.
pub(crate) fn broadcast_dim(facts: &SizeFacts, a: &Dim, b: &Dim) -> Result<Dim, ()> {
    let (ea, eb) = match (a, b) {
        (Dim::Known(ea), Dim::Known(eb)) => (facts.canonical(ea), facts.canonical(eb)),
        // A literal 1 stretches to anything; otherwise an unknown side is either 1 or
        // equal to the known side, so the known side (if not 1) is the result.
        (Dim::Known(e), Dim::Unknown) | (Dim::Unknown, Dim::Known(e)) => {
            return Ok(if e.as_lit() == Some(1) {
                Dim::Unknown
            } else {
                Dim::Known(e.clone())
            });
        }
        (Dim::Unknown, Dim::Unknown) => return Ok(Dim::Unknown),
    };
    if ea.as_lit() == Some(1) {
        return Ok(Dim::Known(eb));
    }
    if eb.as_lit() == Some(1) {
        return Ok(Dim::Known(ea));
    }
    match facts.same(&ea, &eb) {
        Some(true) => Ok(Dim::Known(ea)),
        Some(false) if ea.as_lit().is_some() && eb.as_lit().is_some() => Err(()),
        // `n` against 3: n is 1 or 3, so the result is 3.
        _ if eb.as_lit().is_some() => Ok(Dim::Known(eb)),
        _ if ea.as_lit().is_some() => Ok(Dim::Known(ea)),
        _ => Ok(Dim::Unknown),
    }
}

/// Broadcasts dims lists (right-aligned). `Err(())` on a definite mismatch.
pub(crate) fn broadcast_dims(facts: &SizeFacts, shapes: &[&[Dim]]) -> Result<Vec<Dim>, ()> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out: Vec<Dim> = vec![Dim::lit(1); rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, d) in s.iter().enumerate() {
            out[off + i] = broadcast_dim(facts, &out[off + i], d)?;
        }
    }
    Ok(out)
}

/// Broadcasts shapes as ufuncs do; a definite mismatch is NumPy's ValueError.
pub(crate) fn broadcast_shapes(facts: &SizeFacts, shapes: &[&Shape]) -> Result<Shape, ShapeError> {
    if shapes.iter().any(|s| s.variadic().is_some()) {
        return match super::variadic::broadcast(shapes, |d| broadcast_dims(facts, d)) {
            Some(Ok(s)) => Ok(s),
            Some(Err(())) => Err(broadcast_error(shapes)),
            None => Ok(Shape::Unranked),
        };
    }
    let mut dims: Vec<&[Dim]> = Vec::with_capacity(shapes.len());
    for s in shapes {
        match s.dims() {
            Some(d) => dims.push(d),
            None => return Ok(Shape::Unranked),
        }
    }
    broadcast_dims(facts, &dims)
        .map(Shape::Ranked)
        .map_err(|()| broadcast_error(shapes))
}

pub(crate) fn broadcast_error(shapes: &[&Shape]) -> ShapeError {
    let listed: Vec<String> = shapes.iter().map(|s| fmt_shape(s)).collect();
    ShapeError {
        kind: ShapeErrorKind::Broadcast,
        message: format!(
            "operands could not be broadcast together with shapes {}",
            listed.join(" ")
        ),
    }
}

/// The product of sizes when it stays affine (at most one non-literal factor).
pub(crate) fn product(dims: &[Dim]) -> Option<DimExpr> {
    let mut acc = DimExpr::lit(1);
    for d in dims {
        acc = acc.checked_mul(d.expr()?)?;
    }
    Some(acc)
}

/// True when `e >= 0` for every value of its symbols (sizes are never negative).
pub(crate) fn provably_nonneg(e: &DimExpr) -> bool {
    e.constant >= 0 && e.terms.iter().all(|(_, c)| *c >= 0)
}

/// `a - b >= 0` provably.
pub(crate) fn provably_ge(a: &DimExpr, b: &DimExpr) -> bool {
    a.checked_sub(b).is_some_and(|d| provably_nonneg(&d))
}

/// Whether two sizes are equal: `Some(true)`, `Some(false)` (definitely not), `None`.
pub(crate) fn same_dim(facts: &SizeFacts, a: &Dim, b: &Dim) -> Option<bool> {
    match (a, b) {
        (Dim::Known(a), Dim::Known(b)) => facts.same(&facts.canonical(a), &facts.canonical(b)),
        _ => None,
    }
}

/// True only when the sizes definitely differ (the evidence for an error).
pub(crate) fn differ(facts: &SizeFacts, a: &Dim, b: &Dim) -> bool {
    same_dim(facts, a, b) == Some(false)
}

/// Joins two sizes that an operation requires equal: the better known of the two.
pub(crate) fn unify(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), _) if x.as_lit().is_some() => a.clone(),
        (_, Dim::Known(y)) if y.as_lit().is_some() => b.clone(),
        (Dim::Known(_), _) => a.clone(),
        _ => b.clone(),
    }
}

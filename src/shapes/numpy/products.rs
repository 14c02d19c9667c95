//! Products: `@`/`matmul`, `dot`, `vdot`, `inner`, `outer`, `tensordot`, `einsum`
//! (section 6 of the rules). Operands are converted with `asarray`, so Python scalars are
//! strong here.

use super::args::{fmt_dims, lits_of, norm_axis, to_array, Args};
use super::broadcast::{broadcast_dims, differ, product};
use super::elementwise::{array_or_scalar, elementwise, error, unknown_array};
use super::promote::{promote, UfuncDtype};
use super::{Ctx, Outcome, ShapeError, ShapeErrorKind};
use crate::shapes::dim::Dim;
use crate::shapes::dtype::Dtype;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

fn promoted(a: &ArrayValue, b: &ArrayValue) -> Option<Dtype> {
    Some(promote(a.dtype?, b.dtype?))
}

fn err(kind: ShapeErrorKind, message: String) -> Outcome {
    error(ShapeError { kind, message })
}

/// Both operands as arrays with known ranks, or the outcome to return instead.
fn ranked_pair(
    lhs: &Value,
    rhs: &Value,
) -> Result<(ArrayValue, ArrayValue, Vec<Dim>, Vec<Dim>), Outcome> {
    let (Some(a), Some(b)) = (to_array(lhs), to_array(rhs)) else {
        return Err(unknown_array());
    };
    let (Some(da), Some(db)) = (a.shape.dims(), b.shape.dims()) else {
        let dtype = promoted(&a, &b);
        return Err(Outcome::value(Value::Array(ArrayValue::new(
            Shape::Unranked,
            dtype,
        ))));
    };
    let (da, db) = (da.to_vec(), db.to_vec());
    Ok((a, b, da, db))
}

const MATMUL_SIG: &str = "(n?,k),(k,m?)->(n?,m?)";

/// `a @ b`: gufunc `(n?,k),(k,m?)->(n?,m?)` with broadcast batch dims.
pub(crate) fn matmul(ctx: &mut Ctx, lhs: &Value, rhs: &Value) -> Outcome {
    // `[*b, m, k] @ [*b, k, n]` is `[*b, m, n]`: the batch axes meet within the known ones.
    if let Some((group, ops)) = super::variadic::lift_operands(&[lhs, rhs], &[2, 2]) {
        let o = matmul(ctx, &ops[0], &ops[1]);
        return super::variadic::relift_outcome(&group, o);
    }
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    for (i, d) in [&da, &db].into_iter().enumerate() {
        if d.is_empty() {
            return err(
                ShapeErrorKind::Matmul,
                format!(
                    "matmul: Input operand {i} does not have enough dimensions (has 0, gufunc \
                     core with signature {MATMUL_SIG} requires 1)"
                ),
            );
        }
    }
    let (a_vec, b_vec) = (da.len() == 1, db.len() == 1);
    let mut a2 = da.clone();
    if a_vec {
        a2.insert(0, Dim::lit(1));
    }
    let mut b2 = db.clone();
    if b_vec {
        b2.push(Dim::lit(1));
    }
    let (k_a, k_b) = (&a2[a2.len() - 1], &b2[b2.len() - 2]);
    if differ(ctx.facts, k_a, k_b) {
        return err(
            ShapeErrorKind::Matmul,
            format!(
                "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc \
                 signature {MATMUL_SIG} (size {k_b} is different from {k_a})"
            ),
        );
    }
    let (batch_a, batch_b) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let Ok(mut out) = broadcast_dims(ctx.facts, &[batch_a, batch_b]) else {
        let remap = |d: &[Dim], batch: &[Dim]| {
            let mut s = fmt_dims(d);
            let mut parts: Vec<String> = batch.iter().map(|d| d.to_string()).collect();
            parts.push("newaxis".into());
            parts.push("newaxis".into());
            s.push_str(&format!("->({})", parts.join(",")));
            s
        };
        let n = if a_vec { None } else { Some(&a2[a2.len() - 2]) };
        let m = if b_vec { None } else { Some(&b2[b2.len() - 1]) };
        let requested: Vec<Dim> = n.into_iter().chain(m).cloned().collect();
        return err(
            ShapeErrorKind::Matmul,
            format!(
                "operands could not be broadcast together with remapped shapes \
                 [original->remapped]: {} {}  and requested shape {}",
                remap(&da, batch_a),
                remap(&db, batch_b),
                fmt_dims(&requested)
            ),
        );
    };
    if !a_vec {
        out.push(a2[a2.len() - 2].clone());
    }
    if !b_vec {
        out.push(b2[b2.len() - 1].clone());
    }
    Outcome::value(Value::Array(array_or_scalar(
        Shape::Ranked(out),
        promoted(&a, &b),
    )))
}

fn not_aligned(da: &[Dim], ia: usize, db: &[Dim], ib: usize) -> Outcome {
    err(
        ShapeErrorKind::Matmul,
        format!(
            "shapes {} and {} not aligned: {} (dim {ia}) != {} (dim {ib})",
            fmt_dims(da),
            fmt_dims(db),
            da[ia],
            db[ib]
        ),
    )
}

/// `np.dot(a, b)`: contracts the last axis of a with the second-to-last of b (the only
/// axis of a 1-D b); every other axis is kept, without broadcasting.
pub(crate) fn dot(ctx: &mut Ctx, lhs: &Value, rhs: &Value) -> Outcome {
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    if da.is_empty() || db.is_empty() {
        return strong_multiply(ctx, a, b);
    }
    let ia = da.len() - 1;
    let ib = if db.len() == 1 { 0 } else { db.len() - 2 };
    if differ(ctx.facts, &da[ia], &db[ib]) {
        return not_aligned(&da, ia, &db, ib);
    }
    let mut out: Vec<Dim> = da[..ia].to_vec();
    out.extend(
        db.iter()
            .enumerate()
            .filter(|(i, _)| *i != ib)
            .map(|(_, d)| d.clone()),
    );
    Outcome::value(Value::Array(array_or_scalar(
        Shape::Ranked(out),
        promoted(&a, &b),
    )))
}

/// Elementwise multiply of two already-converted (strong) arrays.
fn strong_multiply(ctx: &mut Ctx, a: ArrayValue, b: ArrayValue) -> Outcome {
    elementwise(ctx, &[&Value::Array(a), &Value::Array(b)], UfuncDtype::Same)
}

/// `np.inner(a, b)`: contracts the last axes: `a.shape[:-1] + b.shape[:-1]`.
pub(crate) fn inner(ctx: &mut Ctx, lhs: &Value, rhs: &Value) -> Outcome {
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    if da.is_empty() || db.is_empty() {
        return strong_multiply(ctx, a, b);
    }
    let (ia, ib) = (da.len() - 1, db.len() - 1);
    if differ(ctx.facts, &da[ia], &db[ib]) {
        return not_aligned(&da, ia, &db, ib);
    }
    let mut out = da[..ia].to_vec();
    out.extend_from_slice(&db[..ib]);
    Outcome::value(Value::Array(array_or_scalar(
        Shape::Ranked(out),
        promoted(&a, &b),
    )))
}

fn size_dim(dims: &[Dim]) -> Dim {
    product(dims).map_or(Dim::Unknown, Dim::Known)
}

/// `np.vdot(a, b)`: both flattened; sizes must match; a scalar.
pub(crate) fn vdot(ctx: &mut Ctx, lhs: &Value, rhs: &Value) -> Outcome {
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let (sa, sb) = (size_dim(&da), size_dim(&db));
    if differ(ctx.facts, &sa, &sb) {
        return err(
            ShapeErrorKind::Matmul,
            format!("cannot reshape array of size {sb} into shape ({sa},)"),
        );
    }
    Outcome::value(Value::Array(ArrayValue::scalar(promoted(&a, &b))))
}

/// `np.outer(a, b)`: `(a.size, b.size)`.
pub(crate) fn outer(lhs: &Value, rhs: &Value) -> Outcome {
    let (Some(a), Some(b)) = (to_array(lhs), to_array(rhs)) else {
        return unknown_array();
    };
    let size = |s: &Shape| s.dims().map_or(Dim::Unknown, size_dim);
    let shape = Shape::Ranked(vec![size(&a.shape), size(&b.shape)]);
    Outcome::value(Value::Array(ArrayValue::new(shape, promoted(&a, &b))))
}

/// `np.tensordot(a, b, axes=2)`.
pub(crate) fn tensordot(ctx: &mut Ctx, args: &Args) -> Outcome {
    let (Some(lhs), Some(rhs)) = (args.get(0, "a"), args.get(1, "b")) else {
        return Outcome::unknown();
    };
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let (axes_a, axes_b): (Vec<i64>, Vec<i64>) = match args.get(2, "axes") {
        None => tensordot_n(2, &da),
        Some(Value::Int(Some(e))) => match e.as_lit() {
            Some(n) if n >= 0 && n as usize <= da.len().min(db.len()) => tensordot_n(n, &da),
            Some(_) => return err(ShapeErrorKind::Matmul, "shape-mismatch for sum".into()),
            _ => return unknown_array(),
        },
        Some(Value::Tuple(pair) | Value::List(pair)) if pair.len() == 2 => {
            match (lits_of(&pair[0]), lits_of(&pair[1])) {
                (Some(x), Some(y)) => (x, y),
                _ => return unknown_array(),
            }
        }
        _ => return unknown_array(),
    };
    if axes_a.len() != axes_b.len() || axes_a.len() > da.len() || axes_b.len() > db.len() {
        return err(ShapeErrorKind::Matmul, "shape-mismatch for sum".into());
    }
    let mut na = Vec::new();
    let mut nb = Vec::new();
    for (&x, &y) in axes_a.iter().zip(&axes_b) {
        let (x, y) = match (norm_axis(x, da.len()), norm_axis(y, db.len())) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(e), _) | (_, Err(e)) => return error(e),
        };
        if differ(ctx.facts, &da[x], &db[y]) {
            return err(ShapeErrorKind::Matmul, "shape-mismatch for sum".into());
        }
        na.push(x);
        nb.push(y);
    }
    let mut out: Vec<Dim> = (0..da.len())
        .filter(|i| !na.contains(i))
        .map(|i| da[i].clone())
        .collect();
    out.extend(
        (0..db.len())
            .filter(|i| !nb.contains(i))
            .map(|i| db[i].clone()),
    );
    // A full contraction gives a 0-d array, not a scalar.
    Outcome::value(Value::Array(ArrayValue::new(
        Shape::Ranked(out),
        promoted(&a, &b),
    )))
}

/// `axes=N`: the last N axes of a against the first N of b.
fn tensordot_n(n: i64, da: &[Dim]) -> (Vec<i64>, Vec<i64>) {
    let k = da.len() as i64;
    ((k - n..k).collect(), (0..n).collect())
}

/// `np.einsum(subscripts, *operands)`, explicit (`->`) and implicit output.
pub(crate) fn einsum(ctx: &mut Ctx, args: &Args) -> Outcome {
    let Some(Value::Str(spec)) = args.pos.first() else {
        return unknown_array();
    };
    let mut ops = Vec::new();
    for v in &args.pos[1..] {
        match to_array(v) {
            Some(a) => ops.push(a),
            None => return unknown_array(),
        }
    }
    let mut dtype = ops.iter().try_fold(None::<Dtype>, |acc, a| {
        a.dtype.map(|d| Some(acc.map_or(d, |x| promote(x, d))))
    });
    if let Some(d) = args.kw("dtype").and_then(super::args::dtype_of) {
        dtype = Some(Some(d));
    }
    let dtype = dtype.flatten();
    let spec: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let (inputs, output) = match spec.split_once("->") {
        Some((i, o)) => (i, Some(o)),
        None => (spec.as_str(), None),
    };
    let in_specs: Vec<&str> = inputs.split(',').collect();
    if in_specs.len() != ops.len() {
        return unknown_array();
    }
    let mut sizes: Vec<(char, Dim)> = Vec::new();
    let mut ellipsis_shapes: Vec<Vec<Dim>> = Vec::new();
    let mut counts: Vec<(char, usize)> = Vec::new();
    for (k, (s, a)) in in_specs.iter().zip(&ops).enumerate() {
        let Some(dims) = a.shape.dims() else {
            return Outcome::value(Value::Array(ArrayValue::new(Shape::Unranked, dtype)));
        };
        let (labels, has_ellipsis) = match s.split_once("...") {
            Some((l, r)) => (format!("{l}{r}"), Some(l.chars().count())),
            None => (s.to_string(), None),
        };
        let labels: Vec<char> = labels.chars().collect();
        if !labels.iter().all(|c| c.is_ascii_alphabetic()) {
            return unknown_array();
        }
        if labels.len() > dims.len() || (has_ellipsis.is_none() && labels.len() != dims.len()) {
            return err(
                ShapeErrorKind::Other,
                format!(
                    "einstein sum subscripts string contains too many subscripts for operand {k}"
                ),
            );
        }
        let n_ell = dims.len() - labels.len();
        let (label_dims, ell): (Vec<&Dim>, &[Dim]) = match has_ellipsis {
            Some(at) => {
                let d: Vec<&Dim> = dims[..at].iter().chain(&dims[at + n_ell..]).collect();
                (d, &dims[at..at + n_ell])
            }
            None => (dims.iter().collect(), &[]),
        };
        ellipsis_shapes.push(ell.to_vec());
        let mut seen_here: Vec<(char, &Dim)> = Vec::new();
        for (c, d) in labels.iter().zip(label_dims) {
            match counts.iter_mut().find(|(p, _)| p == c) {
                Some((_, n)) => *n += 1,
                None => counts.push((*c, 1)),
            }
            if let Some((_, prev)) = seen_here.iter().find(|(p, _)| p == c) {
                if differ(ctx.facts, prev, d) {
                    return err(
                        ShapeErrorKind::Other,
                        format!(
                            "dimensions in operand {k} for collapsing index '{c}' don't match \
                             ({prev} != {d})"
                        ),
                    );
                }
                continue;
            }
            seen_here.push((*c, d));
            match sizes.iter_mut().find(|(p, _)| p == c) {
                Some((_, prev)) => match super::broadcast::broadcast_dim(ctx.facts, prev, d) {
                    Ok(m) => *prev = m,
                    Err(()) => {
                        // A contraction error for the user (OVT307), though labels broadcast.
                        return err(
                            ShapeErrorKind::Matmul,
                            format!(
                            "einsum: operands disagree on the size of label '{c}' ({prev} != {d})"
                        ),
                        );
                    }
                },
                None => sizes.push((*c, d.clone())),
            }
        }
    }
    let refs: Vec<&[Dim]> = ellipsis_shapes.iter().map(|s| s.as_slice()).collect();
    let Ok(ell) = broadcast_dims(ctx.facts, &refs) else {
        return err(
            ShapeErrorKind::Broadcast,
            "einsum: the '...' dimensions of the operands could not be broadcast together".into(),
        );
    };
    let size_of = |c: char| sizes.iter().find(|(p, _)| *p == c).map(|(_, d)| d.clone());
    let mut out = Vec::new();
    match output {
        Some(o) => {
            let (l, r) = match o.split_once("...") {
                Some((l, r)) => (l, Some(r)),
                None => (o, None),
            };
            let mut used: Vec<char> = Vec::new();
            for (part, is_right) in [(l, false), (r.unwrap_or(""), true)] {
                if is_right && r.is_some() {
                    out.extend(ell.iter().cloned());
                }
                for c in part.chars() {
                    if used.contains(&c) {
                        return err(
                            ShapeErrorKind::Other,
                            format!("einstein sum subscripts string includes output subscript '{c}' multiple times"),
                        );
                    }
                    used.push(c);
                    match size_of(c) {
                        Some(d) => out.push(d),
                        None => {
                            return err(
                                ShapeErrorKind::Other,
                                format!("einstein sum subscripts string included output subscript '{c}' which never appeared in an input"),
                            )
                        }
                    }
                }
            }
            if r.is_none() && !ell.is_empty() {
                // Ellipsis dims dropped from an explicit output: NumPy sums over them only
                // when they are absent from the output; keep it unknown.
                return unknown_array();
            }
        }
        None => {
            out.extend(ell.iter().cloned());
            let mut once: Vec<char> = counts
                .iter()
                .filter(|(_, n)| *n == 1)
                .map(|(c, _)| *c)
                .collect();
            // Uppercase sorts before lowercase (character code order).
            once.sort_unstable();
            for c in once {
                if let Some(d) = size_of(c) {
                    out.push(d);
                }
            }
        }
    }
    Outcome::value(Value::Array(array_or_scalar(Shape::Ranked(out), dtype)))
}

/// A non-linalg gufunc given by its signature (`vecdot` `(n),(n)->()`, `matvec`
/// `(m,n),(n)->(m)`); dtype is the promotion of the operands.
pub(crate) fn gufunc(ctx: &mut Ctx, args: &Args, name: &str, sig: &str) -> Outcome {
    let (Some(lhs), Some(rhs)) = (args.pos.first(), args.pos.get(1)) else {
        return unknown_array();
    };
    // `axis=`/`axes=` move the core dimensions; `out=`/`dtype=` change the result.
    if !args.kw.is_empty() || args.pos.len() > 2 {
        return unknown_array();
    }
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    match super::linalg::apply_signature(ctx, name, sig, &[&da, &db], false) {
        Ok(mut shapes) if shapes.len() == 1 => Outcome::value(Value::Array(array_or_scalar(
            Shape::Ranked(shapes.remove(0)),
            promoted(&a, &b),
        ))),
        Ok(_) => unknown_array(),
        Err(e) => error(e),
    }
}

/// `np.kron(a, b)`: shapes left-padded with 1s and multiplied axis by axis.
pub(crate) fn kron(lhs: &Value, rhs: &Value) -> Outcome {
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let n = da.len().max(db.len());
    let pad = |d: &[Dim]| -> Vec<Dim> {
        let mut out = vec![Dim::lit(1); n - d.len()];
        out.extend_from_slice(d);
        out
    };
    let out: Vec<Dim> = pad(&da)
        .iter()
        .zip(pad(&db))
        .map(|(x, y)| match (x.expr(), y.expr()) {
            (Some(x), Some(y)) => x.checked_mul(y).map_or(Dim::Unknown, Dim::Known),
            _ => Dim::Unknown,
        })
        .collect();
    Outcome::value(Value::Array(ArrayValue::new(
        Shape::Ranked(out),
        promoted(&a, &b),
    )))
}

/// `ufunc.outer(a, b)` (`np.multiply.outer`): `a.shape + b.shape`.
pub(crate) fn ufunc_outer(lhs: &Value, rhs: &Value, rule: UfuncDtype) -> Outcome {
    let (a, b, mut da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    da.extend(db);
    let dtype = promoted(&a, &b).map(|d| super::promote::ufunc_dtype(rule, d));
    Outcome::value(Value::Array(array_or_scalar(Shape::Ranked(da), dtype)))
}

/// `linalg.multi_dot([A, ..., Z])`: the chained product (a 1-D first operand is a row, a
/// 1-D last operand a column, as with `@`).
pub(crate) fn multi_dot(ctx: &mut Ctx, args: &Args) -> Outcome {
    let Some(Value::List(items) | Value::Tuple(items)) = args.pos.first() else {
        return unknown_array();
    };
    let mut iter = items.iter();
    let Some(first) = iter.next() else {
        return unknown_array();
    };
    let mut acc = first.clone();
    for next in iter {
        let out = matmul(ctx, &acc, next);
        if out.error.is_some() {
            return out;
        }
        acc = out.value;
    }
    Outcome::value(acc)
}

/// `np.cross(a, b, axis=-1)`: vector axes of length 2 or 3; other axes broadcast.
pub(crate) fn cross(ctx: &mut Ctx, args: &Args) -> Outcome {
    let (Some(lhs), Some(rhs)) = (args.pos.first(), args.pos.get(1)) else {
        return unknown_array();
    };
    let (a, b, da, db) = match ranked_pair(lhs, rhs) {
        Ok(p) => p,
        Err(o) => return o,
    };
    // `axisa`, `axisb`, `axisc` and `axis` move the vector axes.
    let moved = [(2, "axisa"), (3, "axisb"), (4, "axisc"), (5, "axis")]
        .iter()
        .any(|&(i, k)| args.get(i, k).is_some());
    if moved || da.is_empty() || db.is_empty() {
        return unknown_array();
    }
    let (va, vb) = (&da[da.len() - 1], &db[db.len() - 1]);
    let (Some(la), Some(lb)) = (va.as_lit(), vb.as_lit()) else {
        return unknown_array();
    };
    if ![2, 3].contains(&la) || ![2, 3].contains(&lb) {
        return err(
            ShapeErrorKind::Other,
            "incompatible dimensions for cross product\n(dimension must be 2 or 3)".into(),
        );
    }
    let Ok(mut out) = broadcast_dims(ctx.facts, &[&da[..da.len() - 1], &db[..db.len() - 1]]) else {
        return err(
            ShapeErrorKind::Broadcast,
            format!(
                "operands could not be broadcast together with shapes {} {}",
                fmt_dims(&da[..da.len() - 1]),
                fmt_dims(&db[..db.len() - 1])
            ),
        );
    };
    if la == 3 || lb == 3 {
        out.push(Dim::lit(3));
    }
    Outcome::value(Value::Array(ArrayValue::new(
        Shape::Ranked(out),
        promoted(&a, &b),
    )))
}

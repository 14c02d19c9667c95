//! `numpy.linalg`: batched functions described by gufunc signatures such as
//! `(m,m),(m,n)->(m,n)` (section 7 of the rules), plus the few with special shapes
//! (`svd`, `qr`, `lstsq`, `norm`, the version-dependent `solve`).

use super::args::{axis_of, lit_of, norm_axes, to_array, Args, AxisArg};
use super::broadcast::{broadcast_dims, differ, provably_ge, unify};
use super::elementwise::{array_or_scalar, error, unknown_array};
use super::promote::{kind, linalg_dtype, linalg_real_dtype, promote, Kind, UfuncDtype};
use super::{Ctx, NumpyVersion, Outcome, ShapeError, ShapeErrorKind};
use crate::shapes::dim::Dim;
use crate::shapes::dtype::Dtype;
use crate::shapes::shape::Shape;
use crate::shapes::value::{ArrayValue, Value};

/// The dtype of one linalg output, from the promoted input dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinalgOut {
    /// ints/bool -> f8, floats and complex kept (`inv`, `solve`, eigenvectors of `eigh`).
    Same,
    /// The real counterpart (`eigvalsh`, singular values, `cond`, log|det|).
    Real,
    /// `eig`/`eigvals`: complex input stays complex; real input may give either (unknown).
    MaybeComplex,
    /// Always int64 (`matrix_rank`).
    Int64,
}

fn out_dtype(rule: LinalgOut, d: Option<Dtype>) -> Option<Dtype> {
    let d = d?;
    match rule {
        LinalgOut::Same => linalg_dtype(d),
        LinalgOut::Real => linalg_real_dtype(d),
        LinalgOut::MaybeComplex => linalg_dtype(d).filter(|d| kind(*d) == Kind::Complex),
        LinalgOut::Int64 => Some(Dtype::Int64),
    }
}

fn linalg_error(message: impl Into<String>) -> ShapeError {
    ShapeError {
        kind: ShapeErrorKind::Linalg,
        message: message.into(),
    }
}

/// A parsed gufunc signature: core dim names per input and per output.
struct Signature {
    inputs: Vec<Vec<String>>,
    outputs: Vec<Vec<String>>,
}

fn parse_signature(sig: &str) -> Option<Signature> {
    let (i, o) = sig.split_once("->")?;
    let groups = |s: &str| -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for part in s.split("),") {
            let p = part.trim_start_matches('(').trim_end_matches(')');
            out.push(
                p.split(',')
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
        }
        out
    };
    Some(Signature {
        inputs: groups(i),
        outputs: groups(o),
    })
}

/// Applies a linalg gufunc signature: checks core dims, broadcasts batch dims, returns the
/// output shapes.
pub(crate) fn apply_signature(
    ctx: &mut Ctx,
    name: &str,
    sig: &str,
    inputs: &[&[Dim]],
    lapack: bool,
) -> Result<Vec<Vec<Dim>>, ShapeError> {
    let Some(s) = parse_signature(sig) else {
        return Err(linalg_error(format!("bad signature {sig}")));
    };
    let mut bound: Vec<(&str, Dim)> = Vec::new();
    let mut batches: Vec<&[Dim]> = Vec::new();
    for (i, (core, dims)) in s.inputs.iter().zip(inputs).enumerate() {
        if dims.len() < core.len() {
            if lapack && i == 0 && core.len() == 2 {
                return Err(linalg_error(format!(
                    "{}-dimensional array given. Array must be at least two-dimensional",
                    dims.len()
                )));
            }
            return Err(linalg_error(format!(
                "{name}: Input operand {i} does not have enough dimensions (has {}, gufunc core \
                 with signature {sig} requires {})",
                dims.len(),
                core.len()
            )));
        }
        let split = dims.len() - core.len();
        batches.push(&dims[..split]);
        for (k, (label, d)) in core.iter().zip(&dims[split..]).enumerate() {
            match bound.iter_mut().find(|(l, _)| l == label) {
                Some((_, prev)) => {
                    if differ(ctx.facts, prev, d) {
                        if i == 0 {
                            return Err(linalg_error(
                                "Last 2 dimensions of the array must be square",
                            ));
                        }
                        return Err(ShapeError {
                            kind: ShapeErrorKind::Matmul,
                            message: format!(
                            "{name}: Input operand {i} has a mismatch in its core dimension {k}, \
                             with gufunc signature {sig} (size {d} is different from {prev})"
                        ),
                        });
                    }
                    *prev = unify(prev, d);
                }
                None => bound.push((label, d.clone())),
            }
        }
    }
    let batch = broadcast_dims(ctx.facts, &batches).map_err(|()| {
        linalg_error(format!(
            "{name}: the batch dimensions of the operands could not be broadcast together"
        ))
    })?;
    Ok(s.outputs
        .iter()
        .map(|core| {
            let mut out = batch.clone();
            for label in core {
                let d = bound
                    .iter()
                    .find(|(l, _)| l == label)
                    .map_or(Dim::Unknown, |(_, d)| d.clone());
                out.push(d);
            }
            out
        })
        .collect())
}

/// The inputs as arrays with known ranks; `Err` with the outcome otherwise.
fn arrays(args: &Args, n: usize) -> Result<Vec<ArrayValue>, Outcome> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let Some(a) = args.pos.get(i).and_then(to_array) else {
            return Err(unknown_array());
        };
        out.push(a);
    }
    Ok(out)
}

fn joint_dtype(arrays: &[ArrayValue]) -> Option<Dtype> {
    arrays
        .iter()
        .try_fold(None::<Dtype>, |acc, a| {
            a.dtype.map(|d| Some(acc.map_or(d, |x| promote(x, d))))
        })
        .flatten()
}

fn result(shapes: Vec<Vec<Dim>>, dtypes: &[Option<Dtype>]) -> Outcome {
    let mut values: Vec<Value> = shapes
        .into_iter()
        .zip(dtypes)
        .map(|(s, d)| Value::Array(array_or_scalar(Shape::Ranked(s), *d)))
        .collect();
    if values.len() == 1 {
        Outcome::value(values.remove(0))
    } else {
        Outcome::value(Value::Tuple(values))
    }
}

fn unranked(n_out: usize) -> Outcome {
    let v = Value::Array(ArrayValue::unknown());
    if n_out == 1 {
        Outcome::value(v)
    } else {
        Outcome::value(Value::Tuple(vec![v; n_out]))
    }
}

/// A linalg function given by its signature and the dtype rule of each output.
pub(crate) fn gufunc(
    ctx: &mut Ctx,
    args: &Args,
    name: &str,
    sig: &str,
    outs: &[LinalgOut],
) -> Outcome {
    let n_in = sig.split("->").next().map_or(1, |s| s.matches('(').count());
    if let Some(o) = lift_gufunc(args, n_in, sig, |args| gufunc(ctx, args, name, sig, outs)) {
        return o;
    }
    let arrays = match arrays(args, n_in) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let mut dims: Vec<&[Dim]> = Vec::new();
    for a in &arrays {
        match a.shape.dims() {
            Some(d) => dims.push(d),
            None => return unranked(outs.len()),
        }
    }
    let dtype = joint_dtype(&arrays);
    match apply_signature(ctx, name, sig, &dims, true) {
        Ok(shapes) => {
            let dtypes: Vec<Option<Dtype>> = outs.iter().map(|r| out_dtype(*r, dtype)).collect();
            result(shapes, &dtypes)
        }
        Err(e) => error(e),
    }
}

/// `linalg.matrix_rank(A)`: one rank per stacked matrix; an `A` of fewer than two
/// dimensions is not an error but gives a Python int (whether any entry is nonzero).
pub(crate) fn matrix_rank(ctx: &mut Ctx, args: &Args) -> Outcome {
    match args
        .pos
        .first()
        .and_then(to_array)
        .and_then(|a| a.shape.rank())
    {
        Some(r) if r < 2 => Outcome::value(Value::Int(None)),
        Some(_) => gufunc(ctx, args, "linalg", "(m,n)->()", &[LinalgOut::Int64]),
        None => Outcome::unknown(),
    }
}

/// A gufunc over variadic operands (`inv` of `[*b, n, n]`), run on their known trailing
/// axes when the leading ones cannot matter; `None` otherwise.
fn lift_gufunc(
    args: &Args,
    n_in: usize,
    sig: &str,
    op: impl FnOnce(&Args) -> Outcome,
) -> Option<Outcome> {
    let core: Vec<usize> = parse_signature(sig)?.inputs.iter().map(Vec::len).collect();
    let values: Vec<&Value> = args.pos.iter().take(n_in).collect();
    if values.len() != n_in || core.len() != n_in || !args.kw.is_empty() {
        return None;
    }
    let (group, mut ops) = super::variadic::lift_operands(&values, &core)?;
    ops.extend(args.pos.iter().skip(n_in).cloned());
    let o = op(&Args::new(&ops, args.kw));
    Some(super::variadic::relift_outcome(&group, o))
}

/// `linalg.solve(a, b)`: b is a stack of vectors only when `b.ndim == 1` (NumPy 2), or
/// when `b.ndim == a.ndim - 1` (NumPy 1).
pub(crate) fn solve(ctx: &mut Ctx, args: &Args) -> Outcome {
    let arrays = match arrays(args, 2) {
        Ok(a) => a,
        Err(o) => return o,
    };
    if let Some(o) = solve_variadic(ctx, args, &arrays) {
        return o;
    }
    let (Some(ra), Some(rb)) = (arrays[0].shape.rank(), arrays[1].shape.rank()) else {
        return unknown_array();
    };
    let vector = match ctx.version {
        NumpyVersion::V2 => rb == 1,
        NumpyVersion::V1 => rb + 1 == ra,
    };
    let sig = if vector {
        "(m,m),(m)->(m)"
    } else {
        "(m,m),(m,n)->(m,n)"
    };
    gufunc(ctx, args, "solve", sig, &[LinalgOut::Same])
}

/// `solve` with variadic operands, when whether `b` is a stack of vectors does not depend
/// on the leading axes: NumPy 2 asks `b.ndim == 1` (a variadic `b` with two known axes is
/// not), NumPy 1 asks `b.ndim == a.ndim - 1` (decidable when both are of one group).
fn solve_variadic(ctx: &mut Ctx, args: &Args, arrays: &[ArrayValue]) -> Option<Outcome> {
    let (sa, sb) = (&arrays[0].shape, &arrays[1].shape);
    if sa.variadic().is_none() && sb.variadic().is_none() {
        return None;
    }
    let vector = match (ctx.version, sb) {
        (NumpyVersion::V2, Shape::Ranked(d)) => d.len() == 1,
        (NumpyVersion::V2, Shape::Variadic { dims, .. }) if dims.len() >= 2 => false,
        (NumpyVersion::V1, Shape::Variadic { dims: db, .. }) => {
            let (_, da) = sa.variadic()?;
            db.len() + 1 == da.len()
        }
        _ => return None,
    };
    let core = [2, if vector { 1 } else { 2 }];
    let (group, ops) = super::variadic::lift_operands(&[&args.pos[0], &args.pos[1]], &core)?;
    let o = solve(ctx, &Args::new(&ops, args.kw));
    Some(super::variadic::relift_outcome(&group, o))
}

/// `min(m, n)` when provable.
fn min_dim(m: &Dim, n: &Dim) -> Dim {
    match (m, n) {
        (Dim::Known(a), Dim::Known(b)) => {
            if provably_ge(b, a) {
                m.clone()
            } else if provably_ge(a, b) {
                n.clone()
            } else {
                Dim::Unknown
            }
        }
        _ => Dim::Unknown,
    }
}

/// The batch and the two core dims of a matrix argument.
fn matrix(a: &ArrayValue) -> Result<Option<(Vec<Dim>, Dim, Dim)>, ShapeError> {
    let Some(d) = a.shape.dims() else {
        return Ok(None);
    };
    if d.len() < 2 {
        return Err(linalg_error(format!(
            "{}-dimensional array given. Array must be at least two-dimensional",
            d.len()
        )));
    }
    let k = d.len();
    Ok(Some((
        d[..k - 2].to_vec(),
        d[k - 2].clone(),
        d[k - 1].clone(),
    )))
}

fn with(mut batch: Vec<Dim>, core: &[&Dim]) -> Vec<Dim> {
    batch.extend(core.iter().map(|d| (*d).clone()));
    batch
}

fn flag(args: &Args, i: usize, name: &str, default: bool) -> Option<bool> {
    match args.get(i, name) {
        None => Some(default),
        Some(Value::Bool(b)) => *b,
        Some(v) => lit_of(v).map(|n| n != 0),
    }
}

/// `linalg.svd(a, full_matrices=True, compute_uv=True)`.
pub(crate) fn svd(args: &Args) -> Outcome {
    let Some(a) = args.pos.first().and_then(to_array) else {
        return unknown_array();
    };
    let (Some(full), Some(uv)) = (
        flag(args, 1, "full_matrices", true),
        flag(args, 2, "compute_uv", true),
    ) else {
        return unknown_array();
    };
    let (batch, m, n) = match matrix(&a) {
        Ok(Some(x)) => x,
        Ok(None) => return unranked(if uv { 3 } else { 1 }),
        Err(e) => return error(e),
    };
    let k = min_dim(&m, &n);
    let same = out_dtype(LinalgOut::Same, a.dtype);
    let real = out_dtype(LinalgOut::Real, a.dtype);
    let s = with(batch.clone(), &[&k]);
    if !uv {
        return result(vec![s], &[real]);
    }
    let (u, vh) = if full {
        (with(batch.clone(), &[&m, &m]), with(batch, &[&n, &n]))
    } else {
        (with(batch.clone(), &[&m, &k]), with(batch, &[&k, &n]))
    };
    result(vec![u, s, vh], &[same, real, same])
}

/// `linalg.qr(a, mode='reduced')`.
pub(crate) fn qr(args: &Args) -> Outcome {
    let Some(a) = args.pos.first().and_then(to_array) else {
        return unknown_array();
    };
    let mode = match args.get(1, "mode") {
        None => "reduced",
        Some(Value::Str(s)) => s.as_str(),
        Some(_) => return unknown_array(),
    };
    let (batch, m, n) = match matrix(&a) {
        Ok(Some(x)) => x,
        Ok(None) => return unranked(if mode == "r" { 1 } else { 2 }),
        Err(e) => return error(e),
    };
    let k = min_dim(&m, &n);
    let d = out_dtype(LinalgOut::Same, a.dtype);
    match mode {
        "reduced" => result(
            vec![with(batch.clone(), &[&m, &k]), with(batch, &[&k, &n])],
            &[d, d],
        ),
        "complete" => result(
            vec![with(batch.clone(), &[&m, &m]), with(batch, &[&m, &n])],
            &[d, d],
        ),
        "r" => result(vec![with(batch, &[&k, &n])], &[d]),
        "raw" => result(
            vec![with(batch.clone(), &[&n, &m]), with(batch, &[&k])],
            &[d, d],
        ),
        _ => unknown_array(),
    }
}

/// `linalg.lstsq(a, b)`: not batched; returns `(x, residuals, rank, s)`.
pub(crate) fn lstsq(ctx: &mut Ctx, args: &Args) -> Outcome {
    let arrays = match arrays(args, 2) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let (Some(da), Some(db)) = (arrays[0].shape.dims(), arrays[1].shape.dims()) else {
        return unranked(4);
    };
    if da.len() != 2 {
        return error(linalg_error(format!(
            "{}-dimensional array given. Array must be two-dimensional",
            da.len()
        )));
    }
    if db.is_empty() || db.len() > 2 || differ(ctx.facts, &da[0], &db[0]) {
        return error(linalg_error("Incompatible dimensions"));
    }
    let dtype = joint_dtype(&arrays);
    let (m, n) = (&da[0], &da[1]);
    let x = if db.len() == 1 {
        vec![n.clone()]
    } else {
        vec![n.clone(), db[1].clone()]
    };
    // Residuals are (K,) only when rank == N and M > N: data-dependent.
    let residuals = vec![Dim::Unknown];
    let s = vec![min_dim(m, n)];
    let same = out_dtype(LinalgOut::Same, dtype);
    let real = out_dtype(LinalgOut::Real, dtype);
    Outcome::value(Value::Tuple(vec![
        Value::Array(ArrayValue::new(Shape::Ranked(x), same)),
        Value::Array(ArrayValue::new(Shape::Ranked(residuals), real)),
        Value::Array(ArrayValue::scalar(Some(Dtype::Int32))),
        Value::Array(ArrayValue::new(Shape::Ranked(s), real)),
    ]))
}

/// `linalg.norm(x, ord=None, axis=None, keepdims=False)`.
/// `vector_norm` takes any axes and any `ord` whatever the rank; `norm` does not.
pub(crate) fn norm(args: &Args, vector_only: bool) -> Outcome {
    let Some(a) = args.pos.first().and_then(to_array) else {
        return unknown_array();
    };
    // f2 stays f2 here (no LAPACK); otherwise the real counterpart of the linalg dtype.
    let dtype = a.dtype.map(|d| match kind(d) {
        Kind::Bool | Kind::Int => Dtype::Float64,
        _ => super::promote::ufunc_dtype(UfuncDtype::Real, d),
    });
    let keepdims = flag(args, 3, "keepdims", false);
    // `norm(x, axis=-1)` of `[*b, n, d]` is `[*b, n]`.
    let axis = axis_of(args.get(2, "axis"));
    let lifted = super::variadic::lift_first(
        args,
        "x",
        |d| super::variadic::axis_within(&axis, d.len()),
        |args| norm(args, vector_only),
    );
    if let Some(o) = lifted {
        return o;
    }
    let Some(dims) = a.shape.dims() else {
        return unknown_array();
    };
    let ord_given = !vector_only && !args.absent(1, "ord");
    let axes = match axis_of(args.get(2, "axis")) {
        AxisArg::All => {
            if ord_given && dims.len() > 2 {
                return error(ShapeError {
                    kind: ShapeErrorKind::Other,
                    message: "Improper number of dimensions to norm.".into(),
                });
            }
            (0..dims.len()).collect()
        }
        AxisArg::Axes { axes, .. } => {
            if axes.len() > 2 && !vector_only {
                return error(ShapeError {
                    kind: ShapeErrorKind::Other,
                    message: "Improper number of dimensions to norm.".into(),
                });
            }
            match norm_axes(&axes, dims.len()) {
                Ok(a) => a,
                Err(e) => return error(e),
            }
        }
        AxisArg::Unknown => return unknown_array(),
    };
    let Some(keepdims) = keepdims else {
        return unknown_array();
    };
    let out = super::reduce::reduced_dims(dims, &axes, keepdims);
    Outcome::value(Value::Array(array_or_scalar(Shape::Ranked(out), dtype)))
}

/// `linalg.matrix_power(a, n)`: n >= 0 keeps the dtype, n < 0 inverts.
pub(crate) fn matrix_power(ctx: &mut Ctx, args: &Args) -> Outcome {
    let out = gufunc(
        ctx,
        args,
        "matrix_power",
        "(m,m)->(m,m)",
        &[LinalgOut::Same],
    );
    let n = args.get(1, "n").and_then(lit_of);
    let input = args.pos.first().and_then(to_array).and_then(|a| a.dtype);
    match (out.value, n) {
        (Value::Array(mut a), Some(n)) if n >= 0 => {
            a.dtype = input;
            Outcome::value(Value::Array(a))
        }
        (Value::Array(mut a), None) => {
            a.dtype = None;
            Outcome {
                value: Value::Array(a),
                error: out.error,
            }
        }
        (value, _) => Outcome {
            value,
            error: out.error,
        },
    }
}

/// `linalg.svdvals(x)`: the singular values, `(..., min(M, N))`.
pub(crate) fn svdvals(args: &Args) -> Outcome {
    let Some(a) = args.pos.first().and_then(to_array) else {
        return unknown_array();
    };
    match matrix(&a) {
        Ok(Some((batch, m, n))) => result(
            vec![with(batch, &[&min_dim(&m, &n)])],
            &[out_dtype(LinalgOut::Real, a.dtype)],
        ),
        Ok(None) => unranked(1),
        Err(e) => error(e),
    }
}

/// `linalg.matrix_norm(x, keepdims=False)`: the last two axes reduced.
pub(crate) fn matrix_norm(args: &Args) -> Outcome {
    let Some(a) = args.pos.first().and_then(to_array) else {
        return unknown_array();
    };
    let dtype = out_dtype(LinalgOut::Real, a.dtype);
    let Some(keep) = flag(args, 99, "keepdims", false) else {
        return unknown_array();
    };
    match matrix(&a) {
        Ok(Some((batch, _, _))) => {
            let one = Dim::lit(1);
            let out = if keep {
                with(batch, &[&one, &one])
            } else {
                batch
            };
            result(vec![out], &[dtype])
        }
        Ok(None) => unranked(1),
        Err(e) => error(e),
    }
}

/// `linalg.trace(x, offset=0)`: over the last two axes, batched; dtype like `sum`.
pub(crate) fn trace(args: &Args) -> Outcome {
    let Some(a) = args.pos.first().and_then(to_array) else {
        return unknown_array();
    };
    let dtype = a
        .dtype
        .map(|d| super::promote::reduce_dtype(super::promote::ReduceDtype::Accumulate, d));
    match matrix(&a) {
        Ok(Some((batch, _, _))) => result(vec![batch], &[dtype]),
        Ok(None) => unranked(1),
        Err(e) => error(e),
    }
}

/// `linalg.tensorinv(a, ind=2)`: `a.shape[ind:] + a.shape[:ind]`.
pub(crate) fn tensorinv(args: &Args) -> Outcome {
    let Some(a) = args.pos.first().and_then(to_array) else {
        return unknown_array();
    };
    let (Some(dims), Some(ind)) = (a.shape.dims(), args.get(1, "ind").map_or(Some(2), lit_of))
    else {
        return unknown_array();
    };
    let Some(ind) = usize::try_from(ind)
        .ok()
        .filter(|&i| i > 0 && i <= dims.len())
    else {
        return unknown_array();
    };
    let mut out = dims[ind..].to_vec();
    out.extend_from_slice(&dims[..ind]);
    result(vec![out], &[out_dtype(LinalgOut::Same, a.dtype)])
}

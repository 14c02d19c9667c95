//! Mapped fixed-rank linear-algebra builtins (`solve`, `inv`, `det`, `cholesky`, `matmul`)
//! run as one batched call: each batch point's operands are gathered into small contiguous
//! buffers and handed to LU / Cholesky kernels (unrolled for n <= 8 through const
//! generics; partial pivoting always), batches split across the cores.

use crate::runtime::plan::{Builtin, CallArg, Step, VarId};
use crate::runtime::tensor::{Dtype, Scalar, Tensor, TensorData};

use super::call::{base_offset, core_of, for_batches, CoreOf};
use super::values::{Elem, Val};
use super::{set_position, Arrays, ExecError, Executor};

/// One argument: its core, and its elements in f64.
struct ArgView<'a> {
    at: CoreOf<'a>,
    /// The elements converted to f64 (empty when the array is f64 already).
    data: Vec<f64>,
    /// Where each element of the core lies from the core's start, row-major over the core.
    offsets: Vec<usize>,
}

pub(super) fn run_call(
    exec: &Executor<'_>,
    step: &Step,
    batch: &[VarId],
    builtin: Builtin,
    args: &[CallArg],
    extents: &[usize],
    arrays: Arrays<'_>,
) -> Result<Tensor, ExecError> {
    let mut views = Vec::with_capacity(args.len());
    for arg in args {
        let at = core_of(exec, arg, arrays)?;
        let t = at.t;
        let data = match t.data() {
            TensorData::F64(_) => Vec::new(),
            _ => {
                // Linear algebra runs in f64; other dtypes are converted once.
                let mut v = vec![0.0; t.len()];
                Val::Scalar(Scalar::F64(0.0)).store(&mut v[..0]);
                for (i, x) in v.iter_mut().enumerate() {
                    *x = t.data().get(i).map_or(0.0, |s| s.to_f64());
                }
                v
            }
        };
        views.push(ArgView {
            offsets: at.offsets(),
            at,
            data,
        });
    }
    let bad = |i: usize, what: &str| {
        let span = args.get(i).map_or(step.span, |a| a.span);
        Err(ExecError::at(
            span,
            format!("{} needs {what}", builtin.name()),
        ))
    };
    let arity = match builtin {
        Builtin::SolveVec | Builtin::SolveMat => 2,
        _ => 1,
    };
    if views.len() != arity {
        return Err(ExecError::at(
            step.span,
            format!("{} takes {arity} arguments", builtin.name()),
        ));
    }
    let c0 = views[0].at.core.clone();
    let core_out: Vec<usize> = match builtin {
        _ if c0.len() != 2 || c0[0] != c0[1] => {
            return bad(0, &format!("a square matrix; got shape {c0:?}"))
        }
        Builtin::SolveVec => {
            if views[1].at.core != [c0[0]] {
                return bad(
                    1,
                    &format!(
                        "a vector of length {}; got shape {:?}",
                        c0[0], views[1].at.core
                    ),
                );
            }
            vec![c0[0]]
        }
        Builtin::SolveMat => {
            let c1 = &views[1].at.core;
            if c1.len() != 2 || c1[0] != c0[0] {
                return bad(
                    1,
                    &format!("a matrix with {} rows; got shape {c1:?}", c0[0]),
                );
            }
            c1.clone()
        }
        Builtin::Inv | Builtin::Cholesky => c0.clone(),
        Builtin::Det => vec![],
        Builtin::Cumsum | Builtin::Sort | Builtin::Argsort | Builtin::Cov => {
            return Err(ExecError::at(
                step.span,
                format!("internal error: `{}` is not linear algebra", builtin.name()),
            ))
        }
    };
    let mut shape: Vec<usize> = batch.iter().map(|&v| extents[v]).collect();
    let positions: usize = shape.iter().product();
    shape.extend(&core_out);
    let dtype = exec.plan.arrays[step.target].dtype;
    exec.reserve(step, dtype, &shape)?;
    let per: usize = core_out.iter().product();
    let mut out = crate::runtime::tensor::zeroed::<f64>(positions * per);
    let n = c0[0];
    let work = per.max(1) * n.max(1) * n.max(1);
    // Solves run eight batch points at a time, one per vector lane, where that pays
    // (`lanes_pay`, `solve_lanes`).
    let lanes = matches!(builtin, Builtin::SolveVec | Builtin::SolveMat) && lanes_pay(n) && per > 0;
    let run = |first: usize, piece: &mut [f64]| -> Result<(), ExecError> {
        let mut env = vec![0i64; extents.len()];
        if lanes {
            let mut group = Lanes::new(n, per);
            for (g, o) in piece.chunks_mut(per * LANES).enumerate() {
                let used = o.len() / per;
                let mut bases = [[0usize; LANES]; 2];
                for l in 0..used {
                    set_position(&mut env, batch, extents, first + g * LANES + l);
                    for (i, base) in bases.iter_mut().enumerate() {
                        base[l] = base_offset(exec, &args[i], &views[i].at.place(), &env, arrays)?;
                    }
                }
                // Element by element, the systems side by side: each lane vector written
                // whole, each system's elements read in order.
                for (dst, (view, base)) in [&mut group.a, &mut group.b]
                    .into_iter()
                    .zip(views.iter().zip(&bases))
                {
                    let src = view.src();
                    for (d, &off) in dst.iter_mut().zip(&view.offsets) {
                        for (x, &b) in d.iter_mut().zip(&base[..used]) {
                            *x = src[b + off];
                        }
                    }
                }
                group.pad(used);
                solve_lanes(n, &mut group).map_err(|msg| ExecError::at(step.span, msg))?;
                group.take(o);
            }
            return Ok(());
        }
        let mut bufs: Vec<Vec<f64>> = views
            .iter()
            .map(|v| vec![0.0; v.at.core.iter().product()])
            .collect();
        let mut scratch = Scratch::default();
        for (k, o) in piece.chunks_mut(per.max(1)).enumerate() {
            set_position(&mut env, batch, extents, first + k);
            for (i, (view, buf)) in views.iter().zip(bufs.iter_mut()).enumerate() {
                gather(exec, &args[i], view, &env, arrays, buf)?;
            }
            compute(builtin, n, &bufs, o, &mut scratch)
                .map_err(|msg| ExecError::at(step.span, msg))?;
        }
        Ok(())
    };
    let granule = if lanes { LANES } else { 1 };
    for_batches(&mut out, per, work, granule, run)?;
    let data = match dtype {
        Dtype::F64 => TensorData::F64(out),
        other => {
            let mut typed = TensorData::zeros(other, 0);
            if let TensorData::F32(v) = &mut typed {
                v.extend(out.iter().map(|&x| x as f32));
            } else {
                return Err(ExecError::at(
                    step.span,
                    format!("{} produces floats, not {other}", builtin.name()),
                ));
            }
            typed
        }
    };
    Ok(Tensor::new(shape, data)?)
}

impl ArgView<'_> {
    /// The argument's elements, in f64.
    fn src(&self) -> &[f64] {
        if self.data.is_empty() {
            f64::slice(self.at.t.data()).unwrap_or(&[])
        } else {
            &self.data
        }
    }
}

/// Copies the core of `arg` at the batch point `env` into `buf` (row-major).
fn gather(
    exec: &Executor<'_>,
    arg: &CallArg,
    view: &ArgView<'_>,
    env: &[i64],
    arrays: Arrays<'_>,
    buf: &mut [f64],
) -> Result<(), ExecError> {
    let base = base_offset(exec, arg, &view.at.place(), env, arrays)?;
    let src = view.src();
    // The core offsets stay in bounds: every core index is below its axis size and the
    // batch indices were checked by `base_offset`.
    let at = &view.at;
    match at.core_axes.as_slice() {
        [a, b] if at.strides[*b] == 1 => {
            let sa = at.strides[*a];
            let cols = at.core[1];
            for (r, row) in buf.chunks_mut(cols.max(1)).enumerate() {
                let start = base + r * sa;
                row.copy_from_slice(&src[start..start + row.len()]);
            }
        }
        _ => {
            for (b, &o) in buf.iter_mut().zip(&view.offsets) {
                *b = src[base + o];
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Scratch {
    lu: Vec<f64>,
    piv: Vec<usize>,
}

multiversion! {
    /// One builtin call on one batch element. The kernels are compiled three times (AVX-512,
    /// AVX2+FMA, baseline) and the widest the CPU supports is chosen at run time: the LU row
    /// updates are compute-bound, and the baseline target has 2-wide vectors only.
    fn compute(
        builtin: Builtin,
        n: usize,
        args: &[Vec<f64>],
        out: &mut [f64],
        s: &mut Scratch,
    ) -> Result<(), String> => compute_any
}

#[inline(always)]
fn compute_any(
    builtin: Builtin,
    n: usize,
    args: &[Vec<f64>],
    out: &mut [f64],
    s: &mut Scratch,
) -> Result<(), String> {
    match builtin {
        Builtin::SolveVec | Builtin::SolveMat => {
            out.copy_from_slice(&args[1]);
            let k = out.len() / n.max(1);
            solve(n, &args[0], out, k, s)
        }
        Builtin::Inv => {
            out.fill(0.0);
            for i in 0..n {
                out[i * n + i] = 1.0;
            }
            solve(n, &args[0], out, n, s)
        }
        Builtin::Det => {
            s.lu.clear();
            s.lu.extend_from_slice(&args[0]);
            s.piv.resize(n, 0);
            out[0] = match lu_factor(&mut s.lu, n, &mut s.piv) {
                Some(sign) => (0..n).fold(sign, |d, i| d * s.lu[i * n + i]),
                None => 0.0,
            };
            Ok(())
        }
        Builtin::Cholesky => cholesky(n, &args[0], out),
        Builtin::Cumsum | Builtin::Sort | Builtin::Argsort | Builtin::Cov => Err(format!(
            "internal error: `{}` is not linear algebra",
            builtin.name()
        )),
    }
}

#[allow(clippy::needless_range_loop)] // index loops read like the textbook algorithm
/// Solves A X = B in place (`b` is row-major n x k), partial pivoting. Errors when A is
/// exactly singular, as LAPACK's gesv (and so NumPy) does.
#[inline(always)]
fn solve(n: usize, a: &[f64], b: &mut [f64], k: usize, s: &mut Scratch) -> Result<(), String> {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match n {
                $($n => return solve_fixed::<$n>(a, b, k),)*
                _ => {}
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8);
    s.lu.clear();
    s.lu.extend_from_slice(a);
    s.piv.resize(n, 0);
    if lu_factor(&mut s.lu, n, &mut s.piv).is_none() {
        return Err("singular matrix".into());
    }
    lu_solve(&s.lu, n, &s.piv, b, k);
    Ok(())
}

/// LU with partial pivoting, row-major, in place. Returns the permutation sign, or None
/// when a pivot is exactly zero.
#[inline(always)]
fn lu_factor(a: &mut [f64], n: usize, piv: &mut [usize]) -> Option<f64> {
    let mut sign = 1.0;
    let mut singular = false;
    for c in 0..n {
        let mut p = c;
        let mut best = a[c * n + c].abs();
        for r in c + 1..n {
            let v = a[r * n + c].abs();
            if v > best {
                best = v;
                p = r;
            }
        }
        piv[c] = p;
        if p != c {
            for j in 0..n {
                a.swap(c * n + j, p * n + j);
            }
            sign = -sign;
        }
        let d = a[c * n + c];
        if d == 0.0 {
            singular = true;
            continue;
        }
        let (top, rest) = a.split_at_mut((c + 1) * n);
        let pivot_row = &top[c * n + c + 1..c * n + n];
        for row in rest.chunks_mut(n) {
            let f = row[c] / d;
            row[c] = f;
            for (x, &y) in row[c + 1..].iter_mut().zip(pivot_row) {
                *x = (-f).mul_add(y, *x);
            }
        }
    }
    if singular {
        None
    } else {
        Some(sign)
    }
}

#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn lu_solve(lu: &[f64], n: usize, piv: &[usize], b: &mut [f64], k: usize) {
    for c in 0..n {
        if piv[c] != c {
            for j in 0..k {
                b.swap(c * k + j, piv[c] * k + j);
            }
        }
    }
    if k == 1 {
        // One right-hand side: each unknown is a dot product with the solved ones.
        for r in 0..n {
            let row = &lu[r * n..r * n + r];
            let s = row
                .iter()
                .zip(&b[..r])
                .fold(b[r], |s, (&l, &x)| (-l).mul_add(x, s));
            b[r] = s;
        }
        for r in (0..n).rev() {
            let row = &lu[r * n + r + 1..r * n + n];
            let s = row
                .iter()
                .zip(&b[r + 1..n])
                .fold(b[r], |s, (&u, &x)| (-u).mul_add(x, s));
            b[r] = s / lu[r * n + r];
        }
        return;
    }
    for r in 0..n {
        for c in 0..r {
            let f = lu[r * n + c];
            for j in 0..k {
                b[r * k + j] -= f * b[c * k + j];
            }
        }
    }
    for r in (0..n).rev() {
        for c in r + 1..n {
            let f = lu[r * n + c];
            for j in 0..k {
                b[r * k + j] -= f * b[c * k + j];
            }
        }
        let d = lu[r * n + r];
        for j in 0..k {
            b[r * k + j] /= d;
        }
    }
}

/// `solve` for a compile-time size: the same algorithm, on stack arrays the compiler
/// unrolls.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn solve_fixed<const N: usize>(a: &[f64], b: &mut [f64], k: usize) -> Result<(), String> {
    let mut m = [[0.0f64; N]; N];
    for (r, row) in m.iter_mut().enumerate() {
        row.copy_from_slice(&a[r * N..(r + 1) * N]);
    }
    let mut piv = [0usize; N];
    for c in 0..N {
        let mut p = c;
        let mut best = m[c][c].abs();
        for (r, row) in m.iter().enumerate().skip(c + 1) {
            if row[c].abs() > best {
                best = row[c].abs();
                p = r;
            }
        }
        piv[c] = p;
        m.swap(c, p);
        let d = m[c][c];
        if d == 0.0 {
            return Err("singular matrix".into());
        }
        let pivot = m[c];
        for row in m.iter_mut().skip(c + 1) {
            let f = row[c] / d;
            row[c] = f;
            for j in c + 1..N {
                row[j] -= f * pivot[j];
            }
        }
    }
    for j in 0..k {
        let mut x = [0.0f64; N];
        for r in 0..N {
            x[r] = b[r * k + j];
        }
        for c in 0..N {
            x.swap(c, piv[c]);
        }
        for r in 0..N {
            for c in 0..r {
                x[r] -= m[r][c] * x[c];
            }
        }
        for r in (0..N).rev() {
            for c in r + 1..N {
                x[r] -= m[r][c] * x[c];
            }
            x[r] /= m[r][r];
        }
        for r in 0..N {
            b[r * k + j] = x[r];
        }
    }
    Ok(())
}

#[allow(clippy::needless_range_loop)]
/// Lower Cholesky factor; reads only the lower triangle, as NumPy does.
#[inline(always)]
fn cholesky(n: usize, a: &[f64], l: &mut [f64]) -> Result<(), String> {
    l.fill(0.0);
    for j in 0..n {
        let mut d = a[j * n + j];
        for p in 0..j {
            d -= l[j * n + p] * l[j * n + p];
        }
        if d <= 0.0 || d.is_nan() {
            return Err("matrix is not positive definite".into());
        }
        let d = d.sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for p in 0..j {
                s -= l[i * n + p] * l[j * n + p];
            }
            l[i * n + j] = s / d;
        }
    }
    Ok(())
}

/// Batch points per group of `solve_lanes`: one per f64 lane of an AVX-512 vector.
const LANES: usize = 8;
/// The largest system `solve_lanes` takes: eight 64 x 64 systems are 256 KiB, within L2.
/// Up to 8 unknowns the matrices live on the stack (`solve_lanes_fixed`); above, in place
/// (`solve_lanes_general`).
const MAX_LANE_N: usize = 64;

/// `LANES` systems side by side, element-major: `a[r * n + c][l]` is A[r, c] of system l,
/// `b[r * k + j][l]` is B[r, j]; the solution replaces `b`.
struct Lanes {
    n: usize,
    k: usize,
    a: Vec<[f64; LANES]>,
    b: Vec<[f64; LANES]>,
}

impl Lanes {
    /// Room for systems of `n` unknowns with `per / n` right-hand sides.
    fn new(n: usize, per: usize) -> Lanes {
        Lanes {
            n,
            k: per / n,
            a: vec![[0.0; LANES]; n * n],
            b: vec![[0.0; LANES]; per],
        }
    }

    /// System `l`: A and B row-major.
    #[cfg(test)]
    fn put(&mut self, l: usize, a: &[f64], b: &[f64]) {
        for (dst, &x) in self.a.iter_mut().zip(a) {
            dst[l] = x;
        }
        for (dst, &x) in self.b.iter_mut().zip(b) {
            dst[l] = x;
        }
    }

    /// Fills lanes `used..` with identity systems (solvable; their results are dropped).
    fn pad(&mut self, used: usize) {
        for l in used..LANES {
            for r in 0..self.n {
                for c in 0..self.n {
                    self.a[r * self.n + c][l] = if r == c { 1.0 } else { 0.0 };
                }
            }
            for x in &mut self.b {
                x[l] = 0.0;
            }
        }
    }

    /// Writes the solutions of the first `out.len() / per` systems, row-major, one after
    /// another.
    fn take(&self, out: &mut [f64]) {
        let per = self.b.len();
        for (l, o) in out.chunks_mut(per).enumerate() {
            for (x, src) in o.iter_mut().zip(&self.b) {
                *x = src[l];
            }
        }
    }
}

multiversion! {
    /// `solve` on `LANES` systems at once: the same operations as `solve_fixed`, each
    /// lane its own pivots (chosen and swapped with compares and blends, not branches), so
    /// every lane's result is the one `solve_fixed` gives for that system alone.
    fn solve_lanes(n: usize, s: &mut Lanes) -> Result<(), String> => solve_lanes_any
}

#[inline(always)]
fn solve_lanes_any(n: usize, s: &mut Lanes) -> Result<(), String> {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match n {
                $($n => solve_lanes_fixed::<$n>(s),)*
                _ => Err(format!("internal error: lane solve of size {n}")),
            }
        };
    }
    if n > 8 {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { lanes512::solve(s) };
        }
        return solve_lanes_general(s);
    }
    fixed!(1 2 3 4 5 6 7 8)
}

/// Whether `solve_lanes` pays for systems of `n` unknowns: always up to 8; above, only with
/// AVX-512 (the portable general form is not vectorised by the compiler, and is slower
/// than solving one system at a time).
fn lanes_pay(n: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    let wide = is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let wide = false;
    (1..=8).contains(&n) || (wide && n <= MAX_LANE_N)
}

/// `solve_lanes_general` with AVX-512 intrinsics, one vector per element of the eight
/// systems: the same operations in the same order, so the same bits.
#[cfg(target_arch = "x86_64")]
mod lanes512 {
    use std::arch::x86_64::*;

    use super::{Lanes, LANES};

    #[allow(clippy::needless_range_loop)] // r, c, j index both operands at once
    #[target_feature(enable = "avx512f")]
    pub(super) fn solve(s: &mut Lanes) -> Result<(), String> {
        let (n, k) = (s.n, s.k);
        assert!(s.a.len() == n * n && s.b.len() == n * k);
        let a = s.a.as_mut_ptr().cast::<f64>();
        let b = s.b.as_mut_ptr().cast::<f64>();
        // SAFETY (every access below): element i of `a` (i < n * n) or of `b` (i < n * k)
        // is the LANES f64 at i * LANES, inside the vector checked just above; the indices
        // are built from r, c < n and j < k.
        let lda = |i: usize| unsafe { _mm512_loadu_pd(a.add(i * LANES)) };
        let sta = |i: usize, v: __m512d| unsafe { _mm512_storeu_pd(a.add(i * LANES), v) };
        let ldb = |i: usize| unsafe { _mm512_loadu_pd(b.add(i * LANES)) };
        let stb = |i: usize, v: __m512d| unsafe { _mm512_storeu_pd(b.add(i * LANES), v) };
        let mut piv = vec![_mm512_setzero_si512(); n];
        for c in 0..n {
            let mut best = _mm512_abs_pd(lda(c * n + c));
            let mut p = _mm512_set1_epi64(c as i64);
            for r in c + 1..n {
                let v = _mm512_abs_pd(lda(r * n + c));
                // `v > best`, false for NaN, as the scalar comparison.
                let m = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(v, best);
                best = _mm512_mask_blend_pd(m, best, v);
                p = _mm512_mask_blend_epi64(m, p, _mm512_set1_epi64(r as i64));
            }
            piv[c] = p;
            // SAFETY: `a` holds n rows of n elements, and c < n.
            unsafe { swap_pivots(a, n, n, c, p) };
            let d = lda(c * n + c);
            if _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(d, _mm512_setzero_pd()) != 0 {
                return Err("singular matrix".into());
            }
            for r in c + 1..n {
                let f = _mm512_div_pd(lda(r * n + c), d);
                sta(r * n + c, f);
                for j in c + 1..n {
                    // -(f * y) + x rounded once: the scalar (-f).mul_add(y, x).
                    sta(
                        r * n + j,
                        _mm512_fnmadd_pd(f, lda(c * n + j), lda(r * n + j)),
                    );
                }
            }
        }
        for (c, &p) in piv.iter().enumerate() {
            // SAFETY: `b` holds n rows of k elements, and c < n.
            unsafe { swap_pivots(b, n, k, c, p) };
        }
        if k == 1 {
            for r in 0..n {
                let mut acc = ldb(r);
                for c in 0..r {
                    acc = _mm512_fnmadd_pd(lda(r * n + c), ldb(c), acc);
                }
                stb(r, acc);
            }
            for r in (0..n).rev() {
                let mut acc = ldb(r);
                for c in r + 1..n {
                    acc = _mm512_fnmadd_pd(lda(r * n + c), ldb(c), acc);
                }
                stb(r, _mm512_div_pd(acc, lda(r * n + r)));
            }
            return Ok(());
        }
        for r in 0..n {
            for c in 0..r {
                let f = lda(r * n + c);
                for j in 0..k {
                    stb(
                        r * k + j,
                        _mm512_sub_pd(ldb(r * k + j), _mm512_mul_pd(f, ldb(c * k + j))),
                    );
                }
            }
        }
        for r in (0..n).rev() {
            for c in r + 1..n {
                let f = lda(r * n + c);
                for j in 0..k {
                    stb(
                        r * k + j,
                        _mm512_sub_pd(ldb(r * k + j), _mm512_mul_pd(f, ldb(c * k + j))),
                    );
                }
            }
            let d = lda(r * n + r);
            for j in 0..k {
                stb(r * k + j, _mm512_div_pd(ldb(r * k + j), d));
            }
        }
        Ok(())
    }

    /// Row `c` of the `rows x width` lane matrix at `v` trades places with row `p[l]` in
    /// each lane l (rows below c only; a lane whose pivot is c keeps its row).
    ///
    /// # Safety
    /// `v` points to `rows * width` elements of LANES f64 each, and c < rows.
    #[target_feature(enable = "avx512f")]
    unsafe fn swap_pivots(v: *mut f64, rows: usize, width: usize, c: usize, p: __m512i) {
        for r in c + 1..rows {
            let m = _mm512_cmpeq_epi64_mask(p, _mm512_set1_epi64(r as i64));
            if m == 0 {
                continue;
            }
            for j in 0..width {
                // SAFETY: c, r < rows and j < width: both elements are inside `v`.
                unsafe {
                    let (pc, pr) = (
                        v.add((c * width + j) * LANES),
                        v.add((r * width + j) * LANES),
                    );
                    let (x, y) = (_mm512_loadu_pd(pc), _mm512_loadu_pd(pr));
                    _mm512_storeu_pd(pc, _mm512_mask_blend_pd(m, x, y));
                    _mm512_storeu_pd(pr, _mm512_mask_blend_pd(m, y, x));
                }
            }
        }
    }
}

type Lane = [f64; LANES];

/// `solve`'s general path (`lu_factor` then `lu_solve`) on `LANES` systems at once, in
/// place in `s`: the same operations in the same order in every lane, pivots chosen and
/// rows swapped per lane by compare and blend (a row is touched only when it is some
/// lane's pivot), so each lane's result is bit for bit that of `solve` on its system.
#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once
#[inline(always)]
fn solve_lanes_general(s: &mut Lanes) -> Result<(), String> {
    let (n, k) = (s.n, s.k);
    let a = &mut s.a;
    let mut piv = vec![[0u64; LANES]; n];
    for c in 0..n {
        let mut best: Lane = std::array::from_fn(|l| a[c * n + c][l].abs());
        let mut p = [c as u64; LANES];
        for r in c + 1..n {
            let col = a[r * n + c];
            for l in 0..LANES {
                let v = col[l].abs();
                if v > best[l] {
                    best[l] = v;
                    p[l] = r as u64;
                }
            }
        }
        piv[c] = p;
        for r in c + 1..n {
            if !p.contains(&(r as u64)) {
                continue;
            }
            let (top, rest) = a.split_at_mut(r * n);
            let (row_c, row_r) = (&mut top[c * n..(c + 1) * n], &mut rest[..n]);
            for (x, y) in row_c.iter_mut().zip(row_r.iter_mut()) {
                for l in 0..LANES {
                    let swap = p[l] == r as u64;
                    let (u, v) = (x[l], y[l]);
                    x[l] = if swap { v } else { u };
                    y[l] = if swap { u } else { v };
                }
            }
        }
        let d = a[c * n + c];
        if d.contains(&0.0) {
            return Err("singular matrix".into());
        }
        let (top, rest) = a.split_at_mut((c + 1) * n);
        let pivot_row = &top[c * n + c + 1..(c + 1) * n];
        for row in rest.chunks_mut(n) {
            let f: Lane = std::array::from_fn(|l| row[c][l] / d[l]);
            row[c] = f;
            for (x, y) in row[c + 1..].iter_mut().zip(pivot_row) {
                for l in 0..LANES {
                    x[l] = (-f[l]).mul_add(y[l], x[l]);
                }
            }
        }
    }
    let b = &mut s.b;
    for c in 0..n {
        let p = piv[c];
        for r in c + 1..n {
            if !p.contains(&(r as u64)) {
                continue;
            }
            for j in 0..k {
                let (u, v) = (b[c * k + j], b[r * k + j]);
                for l in 0..LANES {
                    let swap = p[l] == r as u64;
                    b[c * k + j][l] = if swap { v[l] } else { u[l] };
                    b[r * k + j][l] = if swap { u[l] } else { v[l] };
                }
            }
        }
    }
    if k == 1 {
        for r in 0..n {
            let mut acc = b[r];
            for c in 0..r {
                let (m, x) = (a[r * n + c], b[c]);
                for l in 0..LANES {
                    acc[l] = (-m[l]).mul_add(x[l], acc[l]);
                }
            }
            b[r] = acc;
        }
        for r in (0..n).rev() {
            let mut acc = b[r];
            for c in r + 1..n {
                let (m, x) = (a[r * n + c], b[c]);
                for l in 0..LANES {
                    acc[l] = (-m[l]).mul_add(x[l], acc[l]);
                }
            }
            let d = a[r * n + r];
            b[r] = std::array::from_fn(|l| acc[l] / d[l]);
        }
        return Ok(());
    }
    for r in 0..n {
        for c in 0..r {
            let f = a[r * n + c];
            for j in 0..k {
                let x = b[c * k + j];
                for l in 0..LANES {
                    b[r * k + j][l] -= f[l] * x[l];
                }
            }
        }
    }
    for r in (0..n).rev() {
        for c in r + 1..n {
            let f = a[r * n + c];
            for j in 0..k {
                let x = b[c * k + j];
                for l in 0..LANES {
                    b[r * k + j][l] -= f[l] * x[l];
                }
            }
        }
        let d = a[r * n + r];
        for j in 0..k {
            for l in 0..LANES {
                b[r * k + j][l] /= d[l];
            }
        }
    }
    Ok(())
}

#[allow(clippy::needless_range_loop)] // lane loops index several arrays at once
#[inline(always)]
fn solve_lanes_fixed<const N: usize>(s: &mut Lanes) -> Result<(), String> {
    let mut m = [[[0.0f64; LANES]; N]; N];
    for r in 0..N {
        m[r].copy_from_slice(&s.a[r * N..(r + 1) * N]);
    }
    let mut piv = [[0u64; LANES]; N];
    for c in 0..N {
        let mut best: Lane = std::array::from_fn(|l| m[c][c][l].abs());
        let mut p = [c as u64; LANES];
        for r in c + 1..N {
            for l in 0..LANES {
                let v = m[r][c][l].abs();
                if v > best[l] {
                    best[l] = v;
                    p[l] = r as u64;
                }
            }
        }
        piv[c] = p;
        // Row c trades places with row p[l] in lane l (whole rows, as `solve_fixed`).
        for r in c + 1..N {
            for j in 0..N {
                for l in 0..LANES {
                    let (x, y) = (m[c][j][l], m[r][j][l]);
                    let swap = p[l] == r as u64;
                    m[c][j][l] = if swap { y } else { x };
                    m[r][j][l] = if swap { x } else { y };
                }
            }
        }
        let d = m[c][c];
        if d.contains(&0.0) {
            return Err("singular matrix".into());
        }
        for r in c + 1..N {
            let f: Lane = std::array::from_fn(|l| m[r][c][l] / d[l]);
            m[r][c] = f;
            for j in c + 1..N {
                for l in 0..LANES {
                    m[r][j][l] -= f[l] * m[c][j][l];
                }
            }
        }
    }
    let k = s.k;
    for j in 0..k {
        let mut x = [[0.0f64; LANES]; N];
        for r in 0..N {
            x[r] = s.b[r * k + j];
        }
        for c in 0..N {
            for r in c + 1..N {
                for l in 0..LANES {
                    let (u, v) = (x[c][l], x[r][l]);
                    let swap = piv[c][l] == r as u64;
                    x[c][l] = if swap { v } else { u };
                    x[r][l] = if swap { u } else { v };
                }
            }
        }
        for r in 0..N {
            for c in 0..r {
                for l in 0..LANES {
                    x[r][l] -= m[r][c][l] * x[c][l];
                }
            }
        }
        for r in (0..N).rev() {
            for c in r + 1..N {
                for l in 0..LANES {
                    x[r][l] -= m[r][c][l] * x[c][l];
                }
            }
            for l in 0..LANES {
                x[r][l] /= m[r][r][l];
            }
        }
        for r in 0..N {
            s.b[r * k + j] = x[r];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A system's A and B, row-major.
    type System = (Vec<f64>, Vec<f64>);

    /// `used` random systems of `n` unknowns with `k` right-hand sides, and a group of lanes
    /// holding them (the rest padded).
    fn random_group(n: usize, k: usize, used: usize, seed: &mut u64) -> (Vec<System>, Lanes) {
        let mut next = || {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((*seed >> 33) as f64 / (1u64 << 31) as f64) * 4.0 - 2.0
        };
        let systems: Vec<System> = (0..used)
            .map(|_| {
                let a = (0..n * n).map(|_| next()).collect();
                (a, (0..n * k).map(|_| next()).collect())
            })
            .collect();
        let mut lanes = Lanes::new(n, n * k);
        for (l, (a, b)) in systems.iter().enumerate() {
            lanes.put(l, a, b);
        }
        lanes.pad(used);
        (systems, lanes)
    }

    /// Every lane of `solve_lanes` gives exactly the result of solving its system alone
    /// (`solve_fixed` up to 8 unknowns, the general `solve` above): systems needing
    /// different pivots in each lane, several right-hand sides, a partly filled group, sizes
    /// 1-8 and 9-64; the portable general form agrees with the AVX-512 one; and a singular
    /// system in any lane is an error.
    #[test]
    fn lane_solves_match_one_at_a_time_solves_bit_for_bit() {
        let mut seed = 7u64;
        let mut scratch = Scratch::default();
        for n in (1..=8).chain([9, 16, 33, 64]) {
            for k in [1, 3] {
                for used in [LANES, 5] {
                    let (systems, mut lanes) = random_group(n, k, used, &mut seed);
                    let mut portable = Lanes {
                        n,
                        k,
                        a: lanes.a.clone(),
                        b: lanes.b.clone(),
                    };
                    solve_lanes(n, &mut lanes).unwrap();
                    if n > 8 {
                        solve_lanes_general(&mut portable).unwrap();
                        assert_eq!(portable.b, lanes.b, "portable n={n} k={k}");
                    }
                    let mut got = vec![0.0; used * n * k];
                    lanes.take(&mut got);
                    for (l, (a, b)) in systems.iter().enumerate() {
                        let mut want = b.clone();
                        let args = [a.clone(), b.clone()];
                        compute(Builtin::SolveMat, n, &args, &mut want, &mut scratch).unwrap();
                        let got = &got[l * n * k..(l + 1) * n * k];
                        assert_eq!(got, &want[..], "n={n} k={k} lane {l}");
                    }
                    lanes.put(used - 1, &vec![0.0; n * n], &systems[0].1);
                    assert!(solve_lanes(n, &mut lanes).is_err());
                }
            }
        }
    }

    #[test]
    fn fixed_and_general_solve_agree() {
        let n = 5;
        let a: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7 % 11) as f64) - 3.0 + if i % (n + 1) == 0 { 9.0 } else { 0.0 })
            .collect();
        let b: Vec<f64> = (0..n).map(|i| i as f64 + 1.0).collect();
        let mut x1 = b.clone();
        solve_fixed::<5>(&a, &mut x1, 1).unwrap();
        let mut x2 = b.clone();
        let mut lu = a.clone();
        let mut piv = vec![0; n];
        lu_factor(&mut lu, n, &mut piv).unwrap();
        lu_solve(&lu, n, &piv, &mut x2, 1);
        for r in 0..n {
            let ax: f64 = (0..n).map(|c| a[r * n + c] * x1[c]).sum();
            assert!((ax - b[r]).abs() < 1e-12, "{ax} vs {}", b[r]);
            assert!((x1[r] - x2[r]).abs() < 1e-12);
        }
        let singular = vec![1.0, 2.0, 2.0, 4.0];
        assert!(solve_fixed::<2>(&singular, &mut [1.0, 1.0], 1).is_err());
    }
}

//! Block values of the fast executor: a scalar (invariant across the block) or a column of
//! one element per point of the innermost loop, borrowed straight from an array when the
//! load is contiguous; and the element-wise operations on them. Owned columns come from a
//! per-thread pool and go back to it when dropped, so the block loops allocate nothing in
//! the steady state.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ops::Deref;

use ruff_text_size::TextRange;

use crate::runtime::plan::{promote, BinaryOp, UnaryOp};
use crate::runtime::tensor::{Dtype, Scalar, TensorData};

use super::ExecError;

/// One value per point of the current block.
#[derive(Clone, Debug)]
pub(crate) enum Val<'a> {
    Scalar(Scalar),
    F64(Col<'a, f64>),
    F32(Col<'a, f32>),
    I64(Col<'a, i64>),
    Bool(Col<'a, bool>),
}

/// A column of a block: borrowed from an array, or a pooled buffer of the executor's own.
#[derive(Debug)]
pub(crate) enum Col<'a, T: Elem> {
    Borrowed(&'a [T]),
    Owned(Pooled<T>),
}

impl<T: Elem> Deref for Col<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Col::Borrowed(v) => v,
            Col::Owned(p) => &p.0,
        }
    }
}

impl<T: Elem> Clone for Col<'_, T> {
    fn clone(&self) -> Self {
        match self {
            Col::Borrowed(v) => Col::Borrowed(v),
            Col::Owned(p) => Col::Owned(Pooled::collect(p.0.iter().copied())),
        }
    }
}

/// A buffer taken from this thread's pool; dropping it gives it back.
#[derive(Debug)]
pub(crate) struct Pooled<T: Elem>(Vec<T>);

/// Buffers kept per thread and element type; larger or extra ones are freed.
const POOL_BUFFERS: usize = 32;
const POOL_MAX_LEN: usize = 1 << 16;

impl<T: Elem> Pooled<T> {
    /// A pooled buffer holding the items of `iter`.
    #[inline]
    pub(crate) fn collect(iter: impl Iterator<Item = T>) -> Pooled<T> {
        let mut v = T::with_pool(|p| p.pop()).unwrap_or_default();
        v.clear();
        v.extend(iter);
        Pooled(v)
    }
}

impl<T: Elem> Pooled<T> {
    /// A pooled buffer of `len` elements, every one written by `body`.
    #[inline(always)]
    pub(crate) fn fill(len: usize, body: impl FnOnce(&mut [MaybeUninit<T>])) -> Pooled<T> {
        let mut v = T::with_pool(|p| p.pop()).unwrap_or_default();
        v.clear();
        v.reserve(len);
        let spare = &mut v.spare_capacity_mut()[..len];
        body(spare);
        // SAFETY: `body` is one of the element-wise loops above, which write every element
        // of the `len`-long spare slice they are given (each zips `out` with operands of
        // length `len`), so the first `len` elements are initialised.
        unsafe { v.set_len(len) };
        Pooled(v)
    }
}

impl<T: Elem> Drop for Pooled<T> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if v.capacity() != 0 && v.capacity() <= POOL_MAX_LEN {
            T::with_pool(|p| {
                if p.len() < POOL_BUFFERS {
                    p.push(v);
                }
            });
        }
    }
}

/// One operand of an element-wise loop: a broadcast scalar or a slice.
#[derive(Clone, Copy)]
pub(crate) enum Opd<'x, T> {
    One(T),
    Many(&'x [T]),
}

impl<T: Copy> Opd<'_, T> {
    #[inline(always)]
    fn at(&self, k: usize) -> T {
        match self {
            Opd::One(x) => *x,
            Opd::Many(v) => v[k],
        }
    }
}

/// Element types the executor computes in.
pub(crate) trait Elem: Copy + Send + Sync + Default + PartialEq + 'static {
    const DTYPE: Dtype;
    fn from_scalar(s: Scalar) -> Self;
    fn to_scalar(self) -> Scalar;
    fn opd<'x>(v: &'x Val<'_>) -> Option<Opd<'x, Self>>;
    fn col<'a>(v: Pooled<Self>) -> Val<'a>;
    fn borrow(v: &[Self]) -> Val<'_>;
    /// Runs `f` on this thread's pool of spare buffers.
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
    fn slice(t: &TensorData) -> Option<&[Self]>;
    fn wrap(v: Vec<Self>) -> TensorData;
}

macro_rules! elem {
    ($t:ty, $d:ident, $variant:ident, $conv:expr) => {
        impl Elem for $t {
            const DTYPE: Dtype = Dtype::$d;
            fn from_scalar(s: Scalar) -> Self {
                $conv(s)
            }
            fn to_scalar(self) -> Scalar {
                Scalar::$variant(self)
            }
            fn opd<'x>(v: &'x Val<'_>) -> Option<Opd<'x, Self>> {
                match v {
                    Val::Scalar(s) if s.dtype() == Dtype::$d => Some(Opd::One($conv(*s))),
                    Val::$variant(c) => Some(Opd::Many(c)),
                    _ => None,
                }
            }
            fn col<'a>(v: Pooled<Self>) -> Val<'a> {
                Val::$variant(Col::Owned(v))
            }
            fn borrow(v: &[Self]) -> Val<'_> {
                Val::$variant(Col::Borrowed(v))
            }
            fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R {
                thread_local! {
                    static POOL: RefCell<Vec<Vec<$t>>> = const { RefCell::new(Vec::new()) };
                }
                POOL.with_borrow_mut(f)
            }
            fn slice(t: &TensorData) -> Option<&[Self]> {
                match t {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v)
            }
        }
    };
}

elem!(f64, F64, F64, |s: Scalar| cast_scalar(s, Dtype::F64)
    .to_f64());
elem!(
    f32,
    F32,
    F32,
    |s: Scalar| match cast_scalar(s, Dtype::F32) {
        Scalar::F32(x) => x,
        _ => 0.0,
    }
);
elem!(
    i64,
    I64,
    I64,
    |s: Scalar| match cast_scalar(s, Dtype::I64) {
        Scalar::I64(x) => x,
        _ => 0,
    }
);
elem!(
    bool,
    Bool,
    Bool,
    |s: Scalar| match cast_scalar(s, Dtype::Bool) {
        Scalar::Bool(x) => x,
        _ => false,
    }
);

/// Explicit conversion, as `f64(x)`, `i64(x)` (truncation toward zero, saturating; NaN to
/// 0) and `bool(x)` (nonzero).
pub(crate) fn cast_scalar(s: Scalar, to: Dtype) -> Scalar {
    match (s, to) {
        (s, to) if s.dtype() == to => s,
        (Scalar::Bool(b), Dtype::I64) => Scalar::I64(i64::from(b)),
        (Scalar::Bool(b), Dtype::F32) => Scalar::F32(f32::from(u8::from(b))),
        (Scalar::I64(i), Dtype::F32) => Scalar::F32(i as f32),
        (Scalar::F64(x), Dtype::F32) => Scalar::F32(x as f32),
        (Scalar::F32(x), Dtype::I64) => Scalar::I64(x as i64),
        (Scalar::F64(x), Dtype::I64) => Scalar::I64(x as i64),
        (Scalar::I64(i), Dtype::Bool) => Scalar::Bool(i != 0),
        (Scalar::F32(x), Dtype::Bool) => Scalar::Bool(x != 0.0),
        (Scalar::F64(x), Dtype::Bool) => Scalar::Bool(x != 0.0),
        (s, _) => Scalar::F64(s.to_f64()),
    }
}

impl<'a> Val<'a> {
    pub(crate) fn dtype(&self) -> Dtype {
        match self {
            Val::Scalar(s) => s.dtype(),
            Val::F64(_) => Dtype::F64,
            Val::F32(_) => Dtype::F32,
            Val::I64(_) => Dtype::I64,
            Val::Bool(_) => Dtype::Bool,
        }
    }

    pub(crate) fn cast(self, to: Dtype) -> Val<'a> {
        if self.dtype() == to {
            return self;
        }
        fn conv<T: Elem, U: Elem>(v: &[T]) -> Pooled<U> {
            Pooled::collect(v.iter().map(|&x| U::from_scalar(x.to_scalar())))
        }
        fn convert<'b, U: Elem>(v: &Val<'_>) -> Val<'b> {
            match v {
                Val::F64(c) => U::col(conv::<f64, U>(c)),
                Val::F32(c) => U::col(conv::<f32, U>(c)),
                Val::I64(c) => U::col(conv::<i64, U>(c)),
                Val::Bool(c) => U::col(conv::<bool, U>(c)),
                Val::Scalar(s) => Val::Scalar(U::from_scalar(*s).to_scalar()),
            }
        }
        match to {
            Dtype::F64 => convert::<f64>(&self),
            Dtype::F32 => convert::<f32>(&self),
            Dtype::I64 => convert::<i64>(&self),
            Dtype::Bool => convert::<bool>(&self),
        }
    }

    /// Writes the block into `out` (broadcasting a scalar), converting to `T`.
    /// `store` into memory not yet written: writes every element of `out` and returns
    /// true, or returns false (writing nothing) when the block has no value of type `T`.
    pub(crate) fn store_uninit<T: Elem>(&self, out: &mut [MaybeUninit<T>]) -> bool {
        fn put<T: Copy>(x: Opd<'_, T>, out: &mut [MaybeUninit<T>]) {
            match x {
                Opd::One(x) => {
                    for o in out {
                        o.write(x);
                    }
                }
                Opd::Many(v) => {
                    let v = &v[..out.len()];
                    for (o, &x) in out.iter_mut().zip(v) {
                        o.write(x);
                    }
                }
            }
        }
        if let Some(x) = T::opd(self) {
            put(x, out);
            return true;
        }
        let v = self.clone().cast(T::DTYPE);
        match T::opd(&v) {
            Some(x) => {
                put(x, out);
                true
            }
            None => false,
        }
    }

    pub(crate) fn store<T: Elem>(&self, out: &mut [T]) {
        match T::opd(self) {
            Some(Opd::One(x)) => out.fill(x),
            Some(Opd::Many(v)) => out.copy_from_slice(&v[..out.len()]),
            None => {
                let v = self.clone().cast(T::DTYPE);
                match T::opd(&v) {
                    Some(Opd::One(x)) => out.fill(x),
                    Some(Opd::Many(v)) => out.copy_from_slice(&v[..out.len()]),
                    None => {}
                }
            }
        }
    }
}

#[inline(always)]
fn map1<T: Copy, U: Elem>(a: Opd<T>, len: usize, f: impl Fn(T) -> U) -> Val<'static> {
    match a {
        Opd::One(x) => Val::Scalar(f(x).to_scalar()),
        Opd::Many(v) => {
            let v = &v[..len];
            U::col(Pooled::fill(len, |out| {
                dispatch!(|| for (o, &x) in out.iter_mut().zip(v) {
                    o.write(f(x));
                })
            }))
        }
    }
}

#[inline(always)]
fn map2<T: Copy, U: Elem>(a: Opd<T>, b: Opd<T>, len: usize, f: impl Fn(T, T) -> U) -> Val<'static> {
    let col = |body: &dyn Fn(&mut [MaybeUninit<U>])| U::col(Pooled::fill(len, body));
    match (a, b) {
        (Opd::One(x), Opd::One(y)) => Val::Scalar(f(x, y).to_scalar()),
        (Opd::Many(xs), Opd::One(y)) => {
            let xs = &xs[..len];
            col(&|out| {
                dispatch!(|| for (o, &x) in out.iter_mut().zip(xs) {
                    o.write(f(x, y));
                })
            })
        }
        (Opd::One(x), Opd::Many(ys)) => {
            let ys = &ys[..len];
            col(&|out| {
                dispatch!(|| for (o, &y) in out.iter_mut().zip(ys) {
                    o.write(f(x, y));
                })
            })
        }
        (Opd::Many(xs), Opd::Many(ys)) => {
            let (xs, ys) = (&xs[..len], &ys[..len]);
            col(&|out| {
                dispatch!(|| for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
                    o.write(f(x, y));
                })
            })
        }
    }
}

/// Fallible element-wise loop (integer arithmetic that can overflow).
fn try_map2<T: Copy, U: Elem>(
    a: Opd<T>,
    b: Opd<T>,
    len: usize,
    f: impl Fn(T, T) -> Option<U>,
) -> Option<Val<'static>> {
    if let (Opd::One(x), Opd::One(y)) = (a, b) {
        return Some(Val::Scalar(f(x, y)?.to_scalar()));
    }
    let mut failed = false;
    let out = Pooled::collect((0..len).map(|k| {
        f(a.at(k), b.at(k)).unwrap_or_else(|| {
            failed = true;
            U::default()
        })
    }));
    (!failed).then(|| U::col(out))
}

/// Floats the executor computes with.
pub(crate) trait Real:
    Elem
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + PartialOrd
{
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tanh(self) -> Self;
    fn tan(self) -> Self;
    fn ln_1p(self) -> Self;
    fn exp_m1(self) -> Self;
    fn abs(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn powf(self, e: Self) -> Self;
    fn one() -> Self;
    fn rem_euclid_py(self, b: Self) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            fn one() -> Self {
                1.0
            }
            /// Python's `%`: the result has the sign of the divisor.
            fn rem_euclid_py(self, b: Self) -> Self {
                let r = self % b;
                if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
                    r + b
                } else {
                    r
                }
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}
real!(f64);
real!(f32);

/// NumPy's maximum/minimum propagate NaN.
#[inline(always)]
pub(crate) fn nan_max<T: Real>(a: T, b: T) -> T {
    if a.is_nan() || a > b {
        a
    } else if b.is_nan() {
        b
    } else if a == b {
        a
    } else {
        b
    }
}

#[inline(always)]
pub(crate) fn nan_min<T: Real>(a: T, b: T) -> T {
    if a.is_nan() || a < b {
        a
    } else if b.is_nan() {
        b
    } else if a == b {
        a
    } else {
        b
    }
}

fn unary_real<T: Real>(op: UnaryOp, a: Opd<T>, len: usize) -> Val<'static> {
    match op {
        UnaryOp::Neg => map1(a, len, |x: T| -x),
        UnaryOp::Abs => map1(a, len, T::abs),
        UnaryOp::Exp => map1(a, len, T::exp),
        UnaryOp::Log => map1(a, len, T::ln),
        UnaryOp::Sqrt => map1(a, len, T::sqrt),
        UnaryOp::Sin => map1(a, len, T::sin),
        UnaryOp::Cos => map1(a, len, T::cos),
        UnaryOp::Tanh => map1(a, len, T::tanh),
        UnaryOp::Floor => map1(a, len, T::floor),
        UnaryOp::Ceil => map1(a, len, T::ceil),
        UnaryOp::Tan => map1(a, len, T::tan),
        UnaryOp::Log1p => map1(a, len, T::ln_1p),
        UnaryOp::Expm1 => map1(a, len, T::exp_m1),
        UnaryOp::Sign => map1(a, len, |x: T| {
            if x.is_nan() || x == T::default() {
                x
            } else if x > T::default() {
                T::one()
            } else {
                -T::one()
            }
        }),
        UnaryOp::IsNan => map1(a, len, T::is_nan),
        UnaryOp::IsFinite => map1(a, len, T::is_finite),
        UnaryOp::Not => map1(a, len, |x: T| x == T::default()),
    }
}

/// Applies a unary operation to a block of `len` points.
pub(crate) fn unary<'a>(op: UnaryOp, a: Val<'a>, len: usize) -> Val<'a> {
    let d = a.dtype();
    match d {
        Dtype::F64 => match f64::opd(&a) {
            Some(Opd::Many(x)) if op == UnaryOp::Exp => {
                let mut out = Pooled::collect(std::iter::repeat_n(0.0, len));
                super::simd::exp_into(&x[..len], &mut out.0);
                f64::col(out)
            }
            Some(x) => unary_real(op, x, len),
            None => a,
        },
        Dtype::F32 => f32::opd(&a).map_or(a.clone(), |x| unary_real(op, x, len)),
        Dtype::I64 => match (op, i64::opd(&a)) {
            (UnaryOp::Neg, Some(x)) => map1(x, len, i64::wrapping_neg),
            (UnaryOp::Abs, Some(x)) => map1(x, len, i64::wrapping_abs),
            (UnaryOp::Not, Some(x)) => map1(x, len, |x| x == 0),
            (UnaryOp::Sign, Some(x)) => map1(x, len, i64::signum),
            (UnaryOp::IsNan, Some(x)) => map1(x, len, |_| false),
            (UnaryOp::IsFinite, Some(x)) => map1(x, len, |_| true),
            (UnaryOp::Floor | UnaryOp::Ceil, _) => a,
            _ => unary(op, a.cast(Dtype::F64), len),
        },
        Dtype::Bool => match (op, bool::opd(&a)) {
            (UnaryOp::Not, Some(x)) => map1(x, len, |x: bool| !x),
            (UnaryOp::Neg | UnaryOp::Abs, _) => unary(op, a.cast(Dtype::I64), len),
            _ => unary(op, a.cast(Dtype::F64), len),
        },
    }
}

fn binary_real<T: Real>(op: BinaryOp, a: Opd<T>, b: Opd<T>, len: usize) -> Val<'static> {
    use BinaryOp::*;
    match op {
        Add => map2(a, b, len, |x, y| x + y),
        Sub => map2(a, b, len, |x, y| x - y),
        Mul => map2(a, b, len, |x, y| x * y),
        Div => map2(a, b, len, |x, y| x / y),
        FloorDiv => map2(a, b, len, |x, y| (x / y).floor()),
        Mod => map2(a, b, len, |x: T, y| x.rem_euclid_py(y)),
        Pow => map2(a, b, len, |x: T, y| x.powf(y)),
        Maximum => map2(a, b, len, nan_max),
        Minimum => map2(a, b, len, nan_min),
        Lt => map2(a, b, len, |x, y| x < y),
        Le => map2(a, b, len, |x, y| x <= y),
        Gt => map2(a, b, len, |x, y| x > y),
        Ge => map2(a, b, len, |x, y| x >= y),
        Eq => map2(a, b, len, |x, y| x == y),
        Ne => map2(a, b, len, |x, y| x != y),
        And => map2(a, b, len, |x, y| x != T::default() && y != T::default()),
        Or => map2(a, b, len, |x, y| x != T::default() || y != T::default()),
    }
}

fn floor_div(x: i64, y: i64) -> Option<i64> {
    let q = x.checked_div(y)?;
    Some(if (x % y != 0) && ((x < 0) != (y < 0)) {
        q - 1
    } else {
        q
    })
}

fn py_mod(x: i64, y: i64) -> Option<i64> {
    let r = x.checked_rem(y)?;
    Some(if r != 0 && ((r < 0) != (y < 0)) {
        r + y
    } else {
        r
    })
}

fn int_pow(x: i64, y: i64) -> Option<i64> {
    let e = u32::try_from(y).ok()?;
    x.checked_pow(e)
}

fn binary_int(op: BinaryOp, a: Opd<i64>, b: Opd<i64>, len: usize) -> Option<Val<'static>> {
    use BinaryOp::*;
    Some(match op {
        Add => try_map2(a, b, len, i64::checked_add)?,
        Sub => try_map2(a, b, len, i64::checked_sub)?,
        Mul => try_map2(a, b, len, i64::checked_mul)?,
        FloorDiv => try_map2(a, b, len, floor_div)?,
        Mod => try_map2(a, b, len, py_mod)?,
        Pow => try_map2(a, b, len, int_pow)?,
        Maximum => map2(a, b, len, i64::max),
        Minimum => map2(a, b, len, i64::min),
        Lt => map2(a, b, len, |x, y| x < y),
        Le => map2(a, b, len, |x, y| x <= y),
        Gt => map2(a, b, len, |x, y| x > y),
        Ge => map2(a, b, len, |x, y| x >= y),
        Eq => map2(a, b, len, |x, y| x == y),
        Ne => map2(a, b, len, |x, y| x != y),
        And => map2(a, b, len, |x, y| x != 0 && y != 0),
        Or => map2(a, b, len, |x, y| x != 0 || y != 0),
        Div => return None,
    })
}

/// Applies a binary operation to two blocks of `len` points. Integer overflow, division by
/// zero and negative integer powers are errors at `span`.
pub(crate) fn binary<'a>(
    op: BinaryOp,
    a: Val<'a>,
    b: Val<'a>,
    len: usize,
    span: TextRange,
) -> Result<Val<'a>, ExecError> {
    let mut d = promote(a.dtype(), b.dtype());
    if op == BinaryOp::Div && !d.is_float() {
        d = Dtype::F64;
    }
    if d == Dtype::Bool
        && !op.is_comparison()
        && !op.is_logical()
        && !matches!(op, BinaryOp::Maximum | BinaryOp::Minimum)
    {
        d = Dtype::I64;
    }
    let (a, b) = (a.cast(d), b.cast(d));
    let out = match d {
        Dtype::F64 => f64::opd(&a)
            .zip(f64::opd(&b))
            .map(|(x, y)| binary_real(op, x, y, len)),
        Dtype::F32 => f32::opd(&a)
            .zip(f32::opd(&b))
            .map(|(x, y)| binary_real(op, x, y, len)),
        Dtype::I64 => match i64::opd(&a).zip(i64::opd(&b)) {
            Some((x, y)) => Some(binary_int(op, x, y, len).ok_or_else(|| {
                ExecError::at(
                    span,
                    format!("integer {} overflows or divides by zero", op_word(op)),
                )
            })?),
            None => None,
        },
        Dtype::Bool => bool::opd(&a).zip(bool::opd(&b)).map(|(x, y)| {
            use BinaryOp::*;
            match op {
                And | Minimum => map2(x, y, len, |x, y| x && y),
                Or | Maximum => map2(x, y, len, |x, y| x || y),
                Eq => map2(x, y, len, |x, y| x == y),
                Ne => map2(x, y, len, |x, y| x != y),
                Lt => map2(x, y, len, |x, y| !x & y),
                Le => map2(x, y, len, |x, y| x <= y),
                Gt => map2(x, y, len, |x, y| x & !y),
                _ => map2(x, y, len, |x, y| x >= y),
            }
        }),
    };
    out.ok_or_else(|| ExecError::at(span, "operand types do not match".to_string()))
}

fn op_word(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "addition",
        BinaryOp::Sub => "subtraction",
        BinaryOp::Mul => "multiplication",
        BinaryOp::FloorDiv => "division",
        BinaryOp::Mod => "remainder",
        BinaryOp::Pow => "power (or negative exponent)",
        _ => "operation",
    }
}

/// `where(cond, then, otherwise)` on blocks.
pub(crate) fn select<'a>(cond: Val<'a>, then: Val<'a>, otherwise: Val<'a>, len: usize) -> Val<'a> {
    let d = promote(then.dtype(), otherwise.dtype());
    let (then, otherwise) = (then.cast(d), otherwise.cast(d));
    let cond = cond.cast(Dtype::Bool);
    let Some(c) = bool::opd(&cond) else {
        return then;
    };
    if let Opd::One(c) = c {
        return if c { then } else { otherwise };
    }
    fn pick<T: Elem>(c: Opd<bool>, a: &Val, b: &Val, len: usize) -> Val<'static> {
        match (T::opd(a), T::opd(b)) {
            (Some(x), Some(y)) => T::col(Pooled::collect((0..len).map(|k| {
                if c.at(k) {
                    x.at(k)
                } else {
                    y.at(k)
                }
            }))),
            _ => Val::Scalar(T::default().to_scalar()),
        }
    }
    match d {
        Dtype::F64 => pick::<f64>(c, &then, &otherwise, len),
        Dtype::F32 => pick::<f32>(c, &then, &otherwise, len),
        Dtype::I64 => pick::<i64>(c, &then, &otherwise, len),
        Dtype::Bool => pick::<bool>(c, &then, &otherwise, len),
    }
}

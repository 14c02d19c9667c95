//! Dtype rules: NumPy 2 promotion (NEP 50: Python scalars are weak, NumPy scalars strong),
//! and the result-dtype families of ufuncs, reductions and linalg.

use crate::shapes::dtype::Dtype;

/// The kind of a dtype, in promotion order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Bool,
    Int,
    Float,
    Complex,
}

pub(crate) fn kind(d: Dtype) -> Kind {
    use Dtype::*;
    match d {
        Bool => Kind::Bool,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Kind::Int,
        Float16 | Float32 | Float64 => Kind::Float,
        Complex64 | Complex128 => Kind::Complex,
    }
}

pub(crate) fn is_unsigned(d: Dtype) -> bool {
    matches!(
        d,
        Dtype::UInt8 | Dtype::UInt16 | Dtype::UInt32 | Dtype::UInt64
    )
}

/// Width in bits of an integer or float, of one component for complex.
fn bits(d: Dtype) -> u32 {
    use Dtype::*;
    match d {
        Bool => 1,
        Int8 | UInt8 => 8,
        Int16 | UInt16 | Float16 => 16,
        Int32 | UInt32 | Float32 | Complex64 => 32,
        Int64 | UInt64 | Float64 | Complex128 => 64,
    }
}

fn signed(bits: u32) -> Dtype {
    match bits {
        8 => Dtype::Int8,
        16 => Dtype::Int16,
        32 => Dtype::Int32,
        _ => Dtype::Int64,
    }
}

fn float(bits: u32) -> Dtype {
    match bits {
        16 => Dtype::Float16,
        32 => Dtype::Float32,
        _ => Dtype::Float64,
    }
}

fn complex(component_bits: u32) -> Dtype {
    if component_bits <= 32 {
        Dtype::Complex64
    } else {
        Dtype::Complex128
    }
}

/// The smallest float that holds every value of `d` (ints: i1/u1 -> f2, i2/u2 -> f4, wider
/// -> f8); the component float of a complex.
pub(crate) fn as_float(d: Dtype) -> Dtype {
    match kind(d) {
        Kind::Bool => Dtype::Float16,
        Kind::Int => float((bits(d) * 2).min(64)),
        Kind::Float => d,
        Kind::Complex => float(bits(d)),
    }
}

/// `np.promote_types(a, b)` for two strong dtypes (table 1.2 of the rules).
pub(crate) fn promote(a: Dtype, b: Dtype) -> Dtype {
    if a == b {
        return a;
    }
    let (ka, kb) = (kind(a), kind(b));
    let (lo, hi) = if ka <= kb { (a, b) } else { (b, a) };
    match (kind(lo), kind(hi)) {
        (Kind::Bool, _) => hi,
        (Kind::Int, Kind::Int) => match (is_unsigned(lo), is_unsigned(hi)) {
            (false, false) | (true, true) => {
                if bits(lo) >= bits(hi) {
                    lo
                } else {
                    hi
                }
            }
            _ => {
                let (s, u) = if is_unsigned(lo) { (hi, lo) } else { (lo, hi) };
                if bits(u) < bits(s) {
                    s
                } else if bits(u) < 64 {
                    signed(bits(u) * 2)
                } else {
                    Dtype::Float64
                }
            }
        },
        (Kind::Int | Kind::Float, Kind::Float) => float(bits(as_float(lo)).max(bits(hi))),
        (_, Kind::Complex) => complex(bits(as_float(lo)).max(bits(hi))),
        // `lo` has the lower kind, so these cannot occur; keep the higher one.
        _ => hi,
    }
}

/// One operand of a promoting operation: an array or NumPy scalar (strong), or a Python
/// scalar, which only contributes its kind (weak).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DtypeOperand {
    Strong(Option<Dtype>),
    Weak(Kind),
}

/// The dtype a Python scalar of this kind becomes on its own (`np.asarray(1)` is i8).
pub(crate) fn default_dtype(k: Kind) -> Dtype {
    match k {
        Kind::Bool => Dtype::Bool,
        Kind::Int => Dtype::Int64,
        Kind::Float => Dtype::Float64,
        Kind::Complex => Dtype::Complex128,
    }
}

/// Promotes `d` with a weak Python scalar of kind `k` (table 1.3).
fn with_weak(d: Dtype, k: Kind) -> Dtype {
    if k <= kind(d) {
        return d;
    }
    match k {
        Kind::Bool => d,
        Kind::Int => Dtype::Int64,
        Kind::Float => Dtype::Float64,
        Kind::Complex => match d {
            Dtype::Float16 | Dtype::Float32 => Dtype::Complex64,
            _ => Dtype::Complex128,
        },
    }
}

/// `np.result_type` over operands; `None` when a strong operand's dtype is unknown.
pub(crate) fn result_type(ops: &[DtypeOperand]) -> Option<Dtype> {
    let mut strong: Option<Dtype> = None;
    let mut weak: Option<Kind> = None;
    for op in ops {
        match *op {
            DtypeOperand::Strong(None) => return None,
            DtypeOperand::Strong(Some(d)) => {
                strong = Some(strong.map_or(d, |s| promote(s, d)));
            }
            DtypeOperand::Weak(k) => weak = Some(weak.map_or(k, |w| w.max(k))),
        }
    }
    match (strong, weak) {
        (Some(s), Some(w)) => Some(with_weak(s, w)),
        (Some(s), None) => Some(s),
        (None, Some(w)) => Some(default_dtype(w)),
        (None, None) => None,
    }
}

/// How an elementwise function derives its result dtype from the promoted input dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UfuncDtype {
    /// Same as the input (`add`, `negative`, `floor` [2.1+], `maximum`).
    Same,
    /// Float math: b/i1/u1 -> f2, i2/u2 -> f4, wider ints -> f8 (`sqrt`, `exp`, `arctan2`).
    FloatMath,
    /// Always bool (`isnan`, `logical_and`, comparisons).
    Bool,
    /// True division: any bool/int -> f8.
    TrueDiv,
    /// Bool becomes i1 (`floor_divide`, `remainder`, `power`, `square`, `reciprocal`).
    BoolToInt8,
    /// Complex becomes its component float (`abs`, `real`, `imag`).
    Real,
    /// At least f8 (`float_power`).
    AtLeastF64,
}

pub(crate) fn ufunc_dtype(rule: UfuncDtype, d: Dtype) -> Dtype {
    match rule {
        UfuncDtype::Same => d,
        UfuncDtype::FloatMath => match kind(d) {
            Kind::Complex => d,
            _ => as_float(d),
        },
        UfuncDtype::Bool => Dtype::Bool,
        UfuncDtype::TrueDiv => match kind(d) {
            Kind::Bool | Kind::Int => Dtype::Float64,
            _ => d,
        },
        UfuncDtype::BoolToInt8 => {
            if d == Dtype::Bool {
                Dtype::Int8
            } else {
                d
            }
        }
        UfuncDtype::Real => match kind(d) {
            Kind::Complex => as_float(d),
            _ => d,
        },
        UfuncDtype::AtLeastF64 => match kind(d) {
            Kind::Complex => Dtype::Complex128,
            _ => Dtype::Float64,
        },
    }
}

/// How a reduction derives its result dtype (section 5.2 of the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReduceDtype {
    /// `sum prod cumsum trace`: bool and signed ints -> i8, unsigned -> u8.
    Accumulate,
    /// `mean median average`: bool/int -> f8.
    Mean,
    /// `std var`: bool/int -> f8, complex -> its component float.
    Variance,
    /// `max min ptp`: unchanged.
    Same,
    /// `argmax argmin count_nonzero`: i8.
    Index,
    /// `any all`: bool.
    Bool,
}

pub(crate) fn reduce_dtype(rule: ReduceDtype, d: Dtype) -> Dtype {
    match rule {
        ReduceDtype::Accumulate => match kind(d) {
            Kind::Bool => Dtype::Int64,
            Kind::Int if is_unsigned(d) => Dtype::UInt64,
            Kind::Int => Dtype::Int64,
            _ => d,
        },
        ReduceDtype::Mean => match kind(d) {
            Kind::Bool | Kind::Int => Dtype::Float64,
            _ => d,
        },
        ReduceDtype::Variance => match kind(d) {
            Kind::Bool | Kind::Int => Dtype::Float64,
            Kind::Complex => as_float(d),
            Kind::Float => d,
        },
        ReduceDtype::Same => d,
        ReduceDtype::Index => Dtype::Int64,
        ReduceDtype::Bool => Dtype::Bool,
    }
}

/// LAPACK-backed linalg: bool and ints -> f8; floats and complex kept (f2 raises, which we
/// leave unknown).
pub(crate) fn linalg_dtype(d: Dtype) -> Option<Dtype> {
    match kind(d) {
        Kind::Bool | Kind::Int => Some(Dtype::Float64),
        _ if d == Dtype::Float16 => None,
        _ => Some(d),
    }
}

/// The real counterpart of a linalg result dtype (eigenvalues of `eigh`, singular values).
pub(crate) fn linalg_real_dtype(d: Dtype) -> Option<Dtype> {
    linalg_dtype(d).map(|d| ufunc_dtype(UfuncDtype::Real, d))
}

//! The NumPy function table: one row per function (canonical path under `numpy`), naming
//! the rule that computes its result. To add a NumPy function, add a row here (and an
//! assignment in `fixtures/differential/`). Methods map onto the same rows.

use super::args::{dtype_of, Args};
use super::construct::{self, RandomApi};
use super::elementwise::{elementwise, unknown_array};
use super::linalg::{self, LinalgOut};
use super::manip::{self, StackKind};
use super::products;
use super::promote::{ReduceDtype, UfuncDtype};
use super::reduce;
use super::{Ctx, Outcome};
use crate::shapes::dtype::Dtype;
use crate::shapes::value::Value;

/// How a function's result is computed. Parameterised variants are the "data": a ufunc's
/// dtype family, a reduction's dtype rule, a linalg gufunc signature.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rule {
    /// Elementwise over all positional arguments (broadcast, promote, then the dtype rule).
    Ufunc(UfuncDtype),
    /// A reduction with NumPy's name for messages and its dtype rule.
    Reduce(&'static str, ReduceDtype),
    Cumulative,
    // Constructors.
    Array,
    Filled,
    Full,
    Like,
    FullLike,
    Arange,
    Linspace,
    Eye,
    Identity,
    Diag,
    /// The result cannot be known statically (`load`).
    Opaque,
    // Random numbers.
    RandDims,
    /// Distribution parameters (in order) followed by `size`, and the result dtype.
    Sampler(&'static [&'static str], Dtype),
    Integers,
    Choice,
    Permutation,
    DefaultRng,
    // Manipulation.
    Reshape,
    Transpose,
    MatrixTranspose,
    Swapaxes,
    Moveaxis,
    ExpandDims,
    Squeeze,
    Ravel,
    Concatenate,
    Stack,
    StackHelper(StackKind),
    AtLeast(usize),
    BroadcastTo,
    BroadcastShapes,
    Tile,
    Repeat,
    Sort,
    Argsort,
    /// Same shape and dtype as the first argument (`flip`, `roll`, `copy`).
    SameAsFirst,
    Diff,
    Pad,
    Where,
    Nonzero,
    Clip,
    // Products.
    Matmul,
    Dot,
    Vdot,
    Inner,
    Outer,
    Tensordot,
    Einsum,
    // Linear algebra.
    /// A batched linalg function given by its gufunc signature and output dtype rules.
    Linalg(&'static str, &'static [LinalgOut]),
    Solve,
    Svd,
    Qr,
    Lstsq,
    Norm,
    MatrixPower,
}

use LinalgOut::{MaybeComplex, Real, Same as LSame};
use Rule::*;
use UfuncDtype::{AtLeastF64, Bool, BoolToInt8, FloatMath, Real as UReal, Same, TrueDiv};

const F8: Dtype = Dtype::Float64;
const I8: Dtype = Dtype::Int64;

/// NumPy functions by canonical path.
pub(crate) static FUNCTIONS: &[(&str, Rule)] = &[
    // Elementwise: arithmetic.
    ("add", Ufunc(Same)),
    ("subtract", Ufunc(Same)),
    ("multiply", Ufunc(Same)),
    ("divide", Ufunc(TrueDiv)),
    ("true_divide", Ufunc(TrueDiv)),
    ("floor_divide", Ufunc(BoolToInt8)),
    ("mod", Ufunc(BoolToInt8)),
    ("remainder", Ufunc(BoolToInt8)),
    ("fmod", Ufunc(BoolToInt8)),
    ("power", Ufunc(BoolToInt8)),
    ("float_power", Ufunc(AtLeastF64)),
    ("maximum", Ufunc(Same)),
    ("minimum", Ufunc(Same)),
    ("fmax", Ufunc(Same)),
    ("fmin", Ufunc(Same)),
    ("negative", Ufunc(Same)),
    ("positive", Ufunc(Same)),
    ("absolute", Ufunc(UReal)),
    ("abs", Ufunc(UReal)),
    ("fabs", Ufunc(FloatMath)),
    ("sign", Ufunc(Same)),
    ("square", Ufunc(BoolToInt8)),
    ("reciprocal", Ufunc(BoolToInt8)),
    ("conj", Ufunc(Same)),
    ("conjugate", Ufunc(Same)),
    ("real", Ufunc(UReal)),
    ("imag", Ufunc(UReal)),
    // Elementwise: float math (small ints go to small floats).
    ("sqrt", Ufunc(FloatMath)),
    ("cbrt", Ufunc(FloatMath)),
    ("exp", Ufunc(FloatMath)),
    ("exp2", Ufunc(FloatMath)),
    ("expm1", Ufunc(FloatMath)),
    ("log", Ufunc(FloatMath)),
    ("log2", Ufunc(FloatMath)),
    ("log10", Ufunc(FloatMath)),
    ("log1p", Ufunc(FloatMath)),
    ("sin", Ufunc(FloatMath)),
    ("cos", Ufunc(FloatMath)),
    ("tan", Ufunc(FloatMath)),
    ("arcsin", Ufunc(FloatMath)),
    ("arccos", Ufunc(FloatMath)),
    ("arctan", Ufunc(FloatMath)),
    ("sinh", Ufunc(FloatMath)),
    ("cosh", Ufunc(FloatMath)),
    ("tanh", Ufunc(FloatMath)),
    ("arcsinh", Ufunc(FloatMath)),
    ("arccosh", Ufunc(FloatMath)),
    ("arctanh", Ufunc(FloatMath)),
    ("deg2rad", Ufunc(FloatMath)),
    ("rad2deg", Ufunc(FloatMath)),
    ("degrees", Ufunc(FloatMath)),
    ("radians", Ufunc(FloatMath)),
    ("rint", Ufunc(FloatMath)),
    ("arctan2", Ufunc(FloatMath)),
    ("hypot", Ufunc(FloatMath)),
    ("logaddexp", Ufunc(FloatMath)),
    ("logaddexp2", Ufunc(FloatMath)),
    ("copysign", Ufunc(FloatMath)),
    // floor/ceil/trunc keep integer dtypes [2.1+].
    ("floor", Ufunc(Same)),
    ("ceil", Ufunc(Same)),
    ("trunc", Ufunc(Same)),
    ("round", Ufunc(Same)),
    ("around", Ufunc(Same)),
    // Elementwise: predicates and logic.
    ("isnan", Ufunc(Bool)),
    ("isinf", Ufunc(Bool)),
    ("isfinite", Ufunc(Bool)),
    ("signbit", Ufunc(Bool)),
    ("logical_and", Ufunc(Bool)),
    ("logical_or", Ufunc(Bool)),
    ("logical_xor", Ufunc(Bool)),
    ("logical_not", Ufunc(Bool)),
    ("greater", Ufunc(Bool)),
    ("greater_equal", Ufunc(Bool)),
    ("less", Ufunc(Bool)),
    ("less_equal", Ufunc(Bool)),
    ("equal", Ufunc(Bool)),
    ("not_equal", Ufunc(Bool)),
    ("isclose", Ufunc(Bool)),
    ("bitwise_and", Ufunc(Same)),
    ("bitwise_or", Ufunc(Same)),
    ("bitwise_xor", Ufunc(Same)),
    ("invert", Ufunc(Same)),
    ("bitwise_not", Ufunc(Same)),
    ("left_shift", Ufunc(BoolToInt8)),
    ("right_shift", Ufunc(BoolToInt8)),
    ("where", Where),
    ("clip", Clip),
    ("nonzero", Nonzero),
    // Reductions.
    ("sum", Reduce("add", ReduceDtype::Accumulate)),
    ("prod", Reduce("multiply", ReduceDtype::Accumulate)),
    ("nansum", Reduce("add", ReduceDtype::Accumulate)),
    ("nanprod", Reduce("multiply", ReduceDtype::Accumulate)),
    ("mean", Reduce("mean", ReduceDtype::Mean)),
    ("average", Reduce("mean", ReduceDtype::Mean)),
    ("median", Reduce("median", ReduceDtype::Mean)),
    ("nanmean", Reduce("mean", ReduceDtype::Mean)),
    ("nanmedian", Reduce("median", ReduceDtype::Mean)),
    ("std", Reduce("std", ReduceDtype::Variance)),
    ("var", Reduce("var", ReduceDtype::Variance)),
    ("nanstd", Reduce("std", ReduceDtype::Variance)),
    ("nanvar", Reduce("var", ReduceDtype::Variance)),
    ("max", Reduce("maximum", ReduceDtype::Same)),
    ("min", Reduce("minimum", ReduceDtype::Same)),
    ("amax", Reduce("maximum", ReduceDtype::Same)),
    ("amin", Reduce("minimum", ReduceDtype::Same)),
    ("nanmax", Reduce("fmax", ReduceDtype::Same)),
    ("nanmin", Reduce("fmin", ReduceDtype::Same)),
    ("ptp", Reduce("maximum", ReduceDtype::Same)),
    ("argmax", Reduce("argmax", ReduceDtype::Index)),
    ("argmin", Reduce("argmin", ReduceDtype::Index)),
    ("nanargmax", Reduce("argmax", ReduceDtype::Index)),
    ("nanargmin", Reduce("argmin", ReduceDtype::Index)),
    ("count_nonzero", Reduce("count_nonzero", ReduceDtype::Index)),
    ("any", Reduce("logical_or", ReduceDtype::Bool)),
    ("all", Reduce("logical_and", ReduceDtype::Bool)),
    ("cumsum", Cumulative),
    ("cumprod", Cumulative),
    ("nancumsum", Cumulative),
    ("nancumprod", Cumulative),
    // Constructors.
    ("array", Array),
    ("asarray", Array),
    ("asanyarray", Array),
    ("copy", Array),
    ("zeros", Filled),
    ("ones", Filled),
    ("empty", Filled),
    ("full", Full),
    ("zeros_like", Like),
    ("ones_like", Like),
    ("empty_like", Like),
    ("full_like", FullLike),
    ("arange", Arange),
    ("linspace", Linspace),
    ("logspace", Linspace),
    ("geomspace", Linspace),
    ("eye", Eye),
    ("identity", Identity),
    ("diag", Diag),
    ("load", Opaque),
    ("loadtxt", Opaque),
    ("genfromtxt", Opaque),
    ("fromfile", Opaque),
    ("frombuffer", Opaque),
    // Random numbers (legacy module functions).
    ("random.rand", RandDims),
    ("random.randn", RandDims),
    ("random.random", Sampler(&[], F8)),
    ("random.random_sample", Sampler(&[], F8)),
    ("random.sample", Sampler(&[], F8)),
    ("random.ranf", Sampler(&[], F8)),
    ("random.standard_normal", Sampler(&[], F8)),
    ("random.normal", Sampler(&["loc", "scale"], F8)),
    ("random.uniform", Sampler(&["low", "high"], F8)),
    ("random.exponential", Sampler(&["scale"], F8)),
    ("random.beta", Sampler(&["a", "b"], F8)),
    ("random.gamma", Sampler(&["shape", "scale"], F8)),
    ("random.lognormal", Sampler(&["mean", "sigma"], F8)),
    ("random.laplace", Sampler(&["loc", "scale"], F8)),
    ("random.poisson", Sampler(&["lam"], I8)),
    ("random.binomial", Sampler(&["n", "p"], I8)),
    ("random.randint", Integers),
    ("random.choice", Choice),
    ("random.permutation", Permutation),
    ("random.default_rng", DefaultRng),
    // Manipulation.
    ("reshape", Reshape),
    ("transpose", Transpose),
    ("permute_dims", Transpose),
    ("matrix_transpose", MatrixTranspose),
    ("linalg.matrix_transpose", MatrixTranspose),
    ("swapaxes", Swapaxes),
    ("moveaxis", Moveaxis),
    ("expand_dims", ExpandDims),
    ("squeeze", Squeeze),
    ("ravel", Ravel),
    ("concatenate", Concatenate),
    ("concat", Concatenate),
    ("stack", Stack),
    ("vstack", StackHelper(StackKind::V)),
    ("row_stack", StackHelper(StackKind::V)),
    ("hstack", StackHelper(StackKind::H)),
    ("dstack", StackHelper(StackKind::D)),
    ("column_stack", StackHelper(StackKind::Column)),
    ("atleast_1d", AtLeast(1)),
    ("atleast_2d", AtLeast(2)),
    ("atleast_3d", AtLeast(3)),
    ("broadcast_to", BroadcastTo),
    ("broadcast_shapes", BroadcastShapes),
    ("tile", Tile),
    ("repeat", Repeat),
    ("sort", Sort),
    ("argsort", Argsort),
    ("flip", SameAsFirst),
    ("fliplr", SameAsFirst),
    ("flipud", SameAsFirst),
    ("roll", SameAsFirst),
    ("ascontiguousarray", SameAsFirst),
    ("nan_to_num", SameAsFirst),
    ("diff", Diff),
    ("pad", Pad),
    // Products.
    ("matmul", Matmul),
    ("dot", Dot),
    ("vdot", Vdot),
    ("inner", Inner),
    ("outer", Outer),
    ("tensordot", Tensordot),
    ("einsum", Einsum),
    ("linalg.matmul", Matmul),
    ("linalg.tensordot", Tensordot),
    // Linear algebra.
    ("linalg.solve", Solve),
    ("linalg.inv", Linalg("(m,m)->(m,m)", &[LSame])),
    ("linalg.det", Linalg("(m,m)->()", &[LSame])),
    ("linalg.slogdet", Linalg("(m,m)->(),()", &[LSame, Real])),
    ("linalg.cholesky", Linalg("(m,m)->(m,m)", &[LSame])),
    ("linalg.eigh", Linalg("(m,m)->(m),(m,m)", &[Real, LSame])),
    ("linalg.eigvalsh", Linalg("(m,m)->(m)", &[Real])),
    (
        "linalg.eig",
        Linalg("(m,m)->(m),(m,m)", &[MaybeComplex, MaybeComplex]),
    ),
    ("linalg.eigvals", Linalg("(m,m)->(m)", &[MaybeComplex])),
    ("linalg.pinv", Linalg("(m,n)->(n,m)", &[LSame])),
    (
        "linalg.matrix_rank",
        Linalg("(m,n)->()", &[LinalgOut::Int64]),
    ),
    ("linalg.cond", Linalg("(m,n)->()", &[Real])),
    ("linalg.svd", Svd),
    ("linalg.qr", Qr),
    ("linalg.lstsq", Lstsq),
    ("linalg.norm", Norm),
    ("linalg.matrix_power", MatrixPower),
];

/// Methods of `np.random.Generator`.
pub(crate) static GENERATOR_METHODS: &[(&str, Rule)] = &[
    ("random", Sampler(&[], F8)),
    ("standard_normal", Sampler(&[], F8)),
    ("normal", Sampler(&["loc", "scale"], F8)),
    ("uniform", Sampler(&["low", "high"], F8)),
    ("exponential", Sampler(&["scale"], F8)),
    ("beta", Sampler(&["a", "b"], F8)),
    ("gamma", Sampler(&["shape", "scale"], F8)),
    ("lognormal", Sampler(&["mean", "sigma"], F8)),
    ("laplace", Sampler(&["loc", "scale"], F8)),
    ("poisson", Sampler(&["lam"], I8)),
    ("binomial", Sampler(&["n", "p"], I8)),
    ("integers", Integers),
    ("choice", Choice),
    ("permutation", Permutation),
];

pub(crate) fn lookup(table: &[(&str, Rule)], name: &str) -> Option<Rule> {
    table.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// Computes one function's result by its rule.
pub(crate) fn apply(ctx: &mut Ctx, rule: Rule, args: &Args, api: RandomApi) -> Outcome {
    match rule {
        Ufunc(dtype) => {
            let values: Vec<&Value> = args.pos.iter().collect();
            if values.is_empty() {
                return unknown_array();
            }
            if let Some(out) = args.kw("out").filter(|v| matches!(v, Value::Array(_))) {
                return Outcome::value(out.clone());
            }
            let mut res = elementwise(ctx, &values, dtype);
            if let (Some(d), Value::Array(a)) = (args.kw("dtype"), &mut res.value) {
                a.dtype = dtype_of(d);
            }
            res
        }
        Reduce(name, dtype) => reduce::reduce(ctx, args, name, dtype),
        Cumulative => reduce::cumulative(ctx, args),
        Array => construct::array_fn(args),
        Filled => construct::filled(args),
        Full => construct::full(ctx, args),
        Like => construct::like(args, false),
        FullLike => construct::like(args, true),
        Arange => construct::arange(args),
        Linspace => construct::linspace(ctx, args),
        Eye => construct::eye(args),
        Identity => construct::identity(args),
        Diag => construct::diag(args),
        Opaque => Outcome::unknown(),
        RandDims => construct::rand_dims(args),
        Sampler(params, dtype) => construct::sampler(ctx, args, params, dtype, api),
        Integers => construct::integers(args, api),
        Choice => construct::choice(args, api),
        Permutation => construct::permutation(args),
        DefaultRng => construct::default_rng(),
        Reshape => manip::reshape_fn(ctx, args),
        Transpose => manip::transpose_fn(args),
        MatrixTranspose => manip::matrix_transpose_fn(args),
        Swapaxes => manip::swapaxes(args),
        Moveaxis => manip::moveaxis(args),
        ExpandDims => manip::expand_dims(args),
        Squeeze => manip::squeeze(args),
        Ravel => manip::ravel_fn(args),
        Concatenate => manip::concatenate(ctx, args),
        Stack => manip::stack(ctx, args),
        StackHelper(kind) => manip::stack_helper(ctx, args, kind),
        AtLeast(n) => manip::atleast_nd(args, n),
        BroadcastTo => manip::broadcast_to(ctx, args),
        BroadcastShapes => manip::broadcast_all(ctx, args),
        Tile => manip::tile(args),
        Repeat => manip::repeat(args),
        Sort => manip::sort(args, None, false),
        Argsort => manip::sort(args, Some(Dtype::Int64), true),
        SameAsFirst => manip::same(args),
        Diff => manip::diff(args),
        Pad => manip::pad(args),
        Where => manip::where_(ctx, args),
        Nonzero => match args.pos.first() {
            Some(v) => manip::nonzero(ctx, v),
            None => Outcome::unknown(),
        },
        Clip => manip::clip(ctx, args),
        Matmul | Dot | Vdot | Inner | Outer => {
            let (Some(a), Some(b)) = (args.pos.first(), args.pos.get(1)) else {
                return unknown_array();
            };
            match rule {
                Matmul => products::matmul(ctx, a, b),
                Dot => products::dot(ctx, a, b),
                Vdot => products::vdot(ctx, a, b),
                Inner => products::inner(ctx, a, b),
                _ => products::outer(a, b),
            }
        }
        Tensordot => products::tensordot(ctx, args),
        Einsum => products::einsum(ctx, args),
        Linalg(sig, outs) => linalg::gufunc(ctx, args, "linalg", sig, outs),
        Solve => linalg::solve(ctx, args),
        Svd => linalg::svd(args),
        Qr => linalg::qr(args),
        Lstsq => linalg::lstsq(ctx, args),
        Norm => linalg::norm(args),
        MatrixPower => linalg::matrix_power(ctx, args),
    }
}

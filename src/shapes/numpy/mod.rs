//! The NumPy model: what each NumPy function, method, attribute, operator and index does to
//! shapes and dtypes. Pure functions over abstract values; the inference walker calls them.
//! See docs/ARCHITECTURE.md "Where do I add a NumPy function?".

mod args;
mod broadcast;
mod construct;
mod elementwise;
mod index;
mod linalg;
mod manip;
mod methods;
mod products;
mod promote;
mod reduce;
mod table;
#[cfg(test)]
mod tests;
mod variadic;

use super::dim::Symbol;
use super::facts::SizeFacts;
use super::value::{ArrayValue, Value};

/// Which NumPy's conventions to follow where they differ (e.g. `linalg.solve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumpyVersion {
    V1,
    #[default]
    V2,
}

/// The state the model may read and extend: known size equalities, fresh symbols for
/// data-dependent sizes, and the configured NumPy version.
pub struct Ctx<'a> {
    pub facts: &'a mut SizeFacts,
    pub version: NumpyVersion,
    /// Counter for fresh symbols (`_1`, `_2`, ...) standing for data-dependent sizes.
    pub fresh_counter: &'a mut u32,
}

impl Ctx<'_> {
    pub fn fresh_symbol(&mut self) -> Symbol {
        *self.fresh_counter += 1;
        Symbol::new(&format!("_{}", self.fresh_counter))
    }
}

/// A NumPy operation that raises for these shapes, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub kind: ShapeErrorKind,
    /// What NumPy would say, with the shapes: "operands could not be broadcast together
    /// with shapes (3, 4) (5,)".
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeErrorKind {
    Broadcast,
    Matmul,
    Reshape,
    Axis,
    Index,
    Linalg,
    Other,
}

/// The result of modelling one operation: the value, and an error when NumPy would raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub value: Value,
    pub error: Option<ShapeError>,
}

impl Outcome {
    pub fn value(value: Value) -> Self {
        Outcome { value, error: None }
    }
    pub fn unknown() -> Self {
        Outcome::value(Value::Unknown)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    MatMul,
    BitAnd,
    BitOr,
    BitXor,
    LShift,
    RShift,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Pos,
    Invert,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtE,
    Gt,
    GtE,
}

/// Keyword arguments by name.
pub type Kwargs<'v> = [(&'v str, Value)];

/// A call of a NumPy function by canonical path (`"zeros"`, `"linalg.solve"`,
/// `"random.default_rng"`). Unknown functions give `Value::Unknown`.
pub fn call(ctx: &mut Ctx, path: &str, args: &[Value], kwargs: &Kwargs) -> Outcome {
    if has_unmodelled_dtype(kwargs.iter().map(|(k, v)| (Some(*k), v))) {
        return Outcome::unknown();
    }
    match table::lookup(table::FUNCTIONS, path) {
        Some(rule) => table::apply(
            ctx,
            rule,
            &args::Args::new(args, kwargs),
            construct::RandomApi::Legacy,
        ),
        None => Outcome::unknown(),
    }
}

/// A method call on an array (`x.sum(axis=0)`, `x.reshape(n, -1)`), or on a random generator
/// (`recv` is `Value::RandomGenerator`).
pub fn method(ctx: &mut Ctx, recv: &Value, name: &str, args: &[Value], kwargs: &Kwargs) -> Outcome {
    let positional_dtype = matches!(name, "astype" | "view")
        .then(|| args.first())
        .flatten();
    let dtypes = kwargs.iter().map(|(k, v)| (Some(*k), v));
    if has_unmodelled_dtype(dtypes.chain(positional_dtype.map(|v| (Some("dtype"), v)))) {
        return Outcome::unknown();
    }
    methods::method(ctx, recv, name, args, kwargs)
}

/// A `dtype` argument the model cannot name may be a structured or subarray dtype, and
/// those change the shape (`np.zeros(3, dtype="(2,)f8")` is (3, 2),
/// `np.array((1, 2, 3), dtype="i,i,i")` is ()): the result is then unknown, never a guess.
fn has_unmodelled_dtype<'a>(args: impl Iterator<Item = (Option<&'a str>, &'a Value)>) -> bool {
    args.filter(|(k, _)| *k == Some("dtype"))
        .any(|(_, v)| !matches!(v, Value::None) && args::dtype_of(v).is_none())
}

/// An attribute of an array (`.T`, `.shape`, `.ndim`, `.size`, `.dtype`, `.mT`).
pub fn attribute(ctx: &mut Ctx, recv: &ArrayValue, name: &str) -> Outcome {
    methods::attribute(ctx, recv, name)
}

/// `lhs op rhs` where at least one side is an array.
pub fn binary(ctx: &mut Ctx, op: BinOp, lhs: &Value, rhs: &Value) -> Outcome {
    elementwise::binary(ctx, op, lhs, rhs)
}

pub fn unary(ctx: &mut Ctx, op: UnaryOp, operand: &Value) -> Outcome {
    elementwise::unary(ctx, op, operand)
}

pub fn compare(ctx: &mut Ctx, _op: CmpOp, lhs: &Value, rhs: &Value) -> Outcome {
    elementwise::compare(ctx, lhs, rhs)
}

/// `base[index]`; `index` is the subscript as a value (a `Value::Tuple` for `a[i, j]`).
pub fn subscript(ctx: &mut Ctx, base: &ArrayValue, index: &Value) -> Outcome {
    index::subscript(ctx, base, index)
}

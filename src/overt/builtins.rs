//! The builtin table: every Overt builtin function with its fixed-rank signature and
//! dtype rule. Adding a builtin is one row here plus its kernel in the runtime.

use super::dtype::Dtype;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    // Elementwise, one float argument.
    Exp,
    Log,
    Log1p,
    Expm1,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Tanh,
    Floor,
    Ceil,
    // Elementwise, one numeric argument, same dtype out.
    Abs,
    Sign,
    // Elementwise, float in, bool out.
    Isnan,
    Isfinite,
    // Elementwise, two numeric arguments of one dtype.
    Maximum,
    Minimum,
    // Elementwise `where(cond, a, b)`.
    Where,
    // Fixed rank.
    Matmul,
    Dot,
    Outer,
    Solve,
    Inv,
    Det,
    Cholesky,
    Cumsum,
    Sort,
    Argsort,
    Cov,
    // Data-dependent size: the whole right side of a top-level definition.
    Nonzero,
}

/// How a builtin's dtypes work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtypeRule {
    /// Every argument has one float dtype; the result has it too.
    Float,
    /// Every argument has one float dtype; the result is bool.
    FloatToBool,
    /// Every argument has one numeric (i64, f32, f64) dtype; the result has it too.
    Numeric,
    /// Numeric arguments of one dtype; the result is i64 (positions).
    NumericToIndex,
    /// `where`: bool condition, two values of one dtype (any), result that dtype.
    Select,
    /// A bool mask; the result is i64 (positions).
    BoolToIndex,
}

/// One overload: the positional shape of each argument and of the result, each axis a
/// one-letter size symbol shared across the overload (`"nn", "n" -> "n"` is
/// `[n, n], [n] -> [n]`). Elementwise builtins have no overloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: &'static [&'static str],
    pub result: &'static str,
}

const fn sig(params: &'static [&'static str], result: &'static str) -> Signature {
    Signature { params, result }
}

/// A row of the builtin table.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinInfo {
    pub builtin: Builtin,
    pub name: &'static str,
    /// Number of arguments.
    pub arity: usize,
    pub dtype: DtypeRule,
    /// Empty for elementwise builtins (any equal positional shapes, or scalars).
    pub overloads: &'static [Signature],
    pub doc: &'static str,
}

impl BuiltinInfo {
    pub fn is_elementwise(&self) -> bool {
        self.overloads.is_empty() && self.builtin != Builtin::Nonzero
    }
}

macro_rules! elementwise {
    ($b:ident, $name:literal, $arity:literal, $rule:ident, $doc:literal) => {
        BuiltinInfo {
            builtin: Builtin::$b,
            name: $name,
            arity: $arity,
            dtype: DtypeRule::$rule,
            overloads: &[],
            doc: $doc,
        }
    };
}

pub const BUILTINS: &[BuiltinInfo] = &[
    elementwise!(Exp, "exp", 1, Float, "e**x"),
    elementwise!(Log, "log", 1, Float, "natural logarithm"),
    elementwise!(Log1p, "log1p", 1, Float, "log(1 + x), accurate near 0"),
    elementwise!(Expm1, "expm1", 1, Float, "exp(x) - 1, accurate near 0"),
    elementwise!(Sqrt, "sqrt", 1, Float, "square root"),
    elementwise!(Sin, "sin", 1, Float, "sine"),
    elementwise!(Cos, "cos", 1, Float, "cosine"),
    elementwise!(Tan, "tan", 1, Float, "tangent"),
    elementwise!(Tanh, "tanh", 1, Float, "hyperbolic tangent"),
    elementwise!(Floor, "floor", 1, Float, "round down (stays float)"),
    elementwise!(Ceil, "ceil", 1, Float, "round up (stays float)"),
    elementwise!(Abs, "abs", 1, Numeric, "absolute value"),
    elementwise!(Sign, "sign", 1, Numeric, "-1, 0 or 1 (NaN for NaN)"),
    elementwise!(Isnan, "isnan", 1, FloatToBool, "x is NaN"),
    elementwise!(
        Isfinite,
        "isfinite",
        1,
        FloatToBool,
        "x is neither NaN nor infinite"
    ),
    elementwise!(
        Maximum,
        "maximum",
        2,
        Numeric,
        "larger of two (NaN if either is)"
    ),
    elementwise!(
        Minimum,
        "minimum",
        2,
        Numeric,
        "smaller of two (NaN if either is)"
    ),
    elementwise!(
        Where,
        "where",
        3,
        Select,
        "where(c, a, b): a where c, else b"
    ),
    BuiltinInfo {
        builtin: Builtin::Matmul,
        name: "matmul",
        arity: 2,
        dtype: DtypeRule::Numeric,
        overloads: &[
            sig(&["mk", "kn"], "mn"),
            sig(&["mk", "k"], "m"),
            sig(&["k", "kn"], "n"),
            sig(&["k", "k"], ""),
        ],
        doc: "matrix product on 1-D/2-D operands (a 1-D operand is a vector)",
    },
    BuiltinInfo {
        builtin: Builtin::Dot,
        name: "dot",
        arity: 2,
        dtype: DtypeRule::Numeric,
        overloads: &[sig(&["n", "n"], "")],
        doc: "inner product of two vectors",
    },
    BuiltinInfo {
        builtin: Builtin::Outer,
        name: "outer",
        arity: 2,
        dtype: DtypeRule::Numeric,
        overloads: &[sig(&["m", "n"], "mn")],
        doc: "outer product of two vectors",
    },
    BuiltinInfo {
        builtin: Builtin::Solve,
        name: "solve",
        arity: 2,
        dtype: DtypeRule::Float,
        overloads: &[sig(&["nn", "n"], "n"), sig(&["nn", "nk"], "nk")],
        doc: "x with A x = b (LU with partial pivoting); error if A is singular",
    },
    BuiltinInfo {
        builtin: Builtin::Inv,
        name: "inv",
        arity: 1,
        dtype: DtypeRule::Float,
        overloads: &[sig(&["nn"], "nn")],
        doc: "matrix inverse; error if singular",
    },
    BuiltinInfo {
        builtin: Builtin::Det,
        name: "det",
        arity: 1,
        dtype: DtypeRule::Float,
        overloads: &[sig(&["nn"], "")],
        doc: "determinant",
    },
    BuiltinInfo {
        builtin: Builtin::Cholesky,
        name: "cholesky",
        arity: 1,
        dtype: DtypeRule::Float,
        overloads: &[sig(&["nn"], "nn")],
        doc: "lower-triangular L with L L^T = A; error if A is not positive definite",
    },
    BuiltinInfo {
        builtin: Builtin::Cumsum,
        name: "cumsum",
        arity: 1,
        dtype: DtypeRule::Numeric,
        overloads: &[sig(&["n"], "n")],
        doc: "running sum",
    },
    BuiltinInfo {
        builtin: Builtin::Sort,
        name: "sort",
        arity: 1,
        dtype: DtypeRule::Numeric,
        overloads: &[sig(&["n"], "n")],
        doc: "ascending, NaN last",
    },
    BuiltinInfo {
        builtin: Builtin::Argsort,
        name: "argsort",
        arity: 1,
        dtype: DtypeRule::NumericToIndex,
        overloads: &[sig(&["n"], "n")],
        doc: "stable ascending order (positions), NaN last",
    },
    BuiltinInfo {
        builtin: Builtin::Cov,
        name: "cov",
        arity: 1,
        dtype: DtypeRule::Float,
        overloads: &[sig(&["vo"], "vv")],
        doc: "covariance of the rows (variables) over the columns (observations), /(o-1)",
    },
    // Any rank r >= 1 in, `[len(idx), r]` out with a size no input binds: the checker
    // types it by hand (`Checker::nonzero_definition`), so it has no overloads.
    BuiltinInfo {
        builtin: Builtin::Nonzero,
        name: "nonzero",
        arity: 1,
        dtype: DtypeRule::BoolToIndex,
        overloads: &[],
        doc: "positions of the true elements, one row each, in row-major order (np.argwhere)",
    },
];

impl Builtin {
    pub fn info(self) -> &'static BuiltinInfo {
        BUILTINS
            .iter()
            .find(|row| row.builtin == self)
            .unwrap_or(&BUILTINS[0])
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        BUILTINS
            .iter()
            .find(|row| row.name == name)
            .map(|row| row.builtin)
    }
}

impl DtypeRule {
    /// The result dtype for arguments of `args` dtypes (the common dtype of the
    /// non-condition arguments already checked), or None when the rule rejects them.
    pub fn result(self, operand: Dtype) -> Option<Dtype> {
        match self {
            DtypeRule::Float => operand.is_float().then_some(operand),
            DtypeRule::FloatToBool => operand.is_float().then_some(Dtype::Bool),
            DtypeRule::Numeric => (operand != Dtype::Bool).then_some(operand),
            DtypeRule::NumericToIndex => (operand != Dtype::Bool).then_some(Dtype::I64),
            DtypeRule::Select => Some(operand),
            DtypeRule::BoolToIndex => (operand == Dtype::Bool).then_some(Dtype::I64),
        }
    }

    /// What the rule accepts, for messages.
    pub fn expects(self) -> &'static str {
        match self {
            DtypeRule::Float | DtypeRule::FloatToBool => "a float (f32 or f64)",
            DtypeRule::Numeric | DtypeRule::NumericToIndex => "a number (i64, f32 or f64)",
            DtypeRule::Select => "any dtype",
            DtypeRule::BoolToIndex => "a bool mask",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for row in BUILTINS {
            assert_eq!(Builtin::from_name(row.name), Some(row.builtin));
            assert_eq!(row.builtin.info().name, row.name);
            for o in row.overloads {
                assert_eq!(o.params.len(), row.arity, "{}", row.name);
                for c in o.result.chars() {
                    assert!(o.params.iter().any(|p| p.contains(c)), "{}", row.name);
                }
            }
        }
    }
}

//! The executable form of a checked Overt program (`Plan`): arrays, size variables and a
//! list of steps, each a definition over named index variables. The fast executor runs
//! plans; `lower` builds them from checked programs.

use ruff_text_size::TextRange;

pub use crate::overt::program::ReduceOp;
pub use crate::overt::size::Size;

use super::tensor::{Dtype, Scalar};

pub type ArrayId = usize;
/// An index variable (`Plan::vars[id]`).
pub type VarId = usize;
/// A size variable of the program (`Plan::sizes[id]`).
pub type SizeId = usize;

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Size variable names (`N`, `K`), indexed by the language's `SizeVarId`.
    pub sizes: Vec<String>,
    /// Every index variable of every step.
    pub vars: Vec<VarInfo>,
    pub arrays: Vec<ArrayInfo>,
    /// Arrays filled from the caller's inputs, in declaration order.
    pub inputs: Vec<ArrayId>,
    /// Definitions in program order; each writes one array.
    pub steps: Vec<Step>,
    /// Arrays handed back, in declaration order.
    pub outputs: Vec<ArrayId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArrayInfo {
    pub name: String,
    pub dtype: Dtype,
    pub dims: Vec<Size>,
    /// Where the array is declared or defined.
    pub span: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub target: ArrayId,
    pub kind: StepKind,
    pub span: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VarInfo {
    pub name: String,
    pub extent: Size,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// `target[lhs] = body`, evaluated at every point of the left-hand variables.
    /// Each output axis is a group of variables flattened row-major (one variable for a
    /// plain slot); an empty group is a new size-1 axis (`0` on the left).
    Map { lhs: Vec<Vec<VarId>>, body: Expr },
    /// `target[batch..., :...] = builtin(args)`: a fixed-rank builtin mapped over the batch
    /// variables. The output's batch axes come first, in `batch` order.
    Call {
        batch: Vec<VarId>,
        builtin: Builtin,
        args: Vec<CallArg>,
    },
    /// `target[:, :] = nonzero(mask[:, ...])`: one row per true element of the whole array
    /// `mask`, its position, in row-major order. Binds size variable `count` to the number
    /// of rows when it runs (the only size not known before execution).
    Nonzero { mask: ArrayId, count: SizeId },
}

/// An argument of a mapped call: a reference whose `Whole` slots are the builtin's axes.
#[derive(Clone, Debug, PartialEq)]
pub struct CallArg {
    pub array: ArrayId,
    pub slots: Vec<Slot>,
    pub span: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    /// An integer index (of the batch variables and constants).
    Index(Expr),
    /// `:`, kept whole and handed to the builtin.
    Whole,
}

/// Fixed-rank builtins that run as one batched call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `[n,n], [n] -> [n]`.
    SolveVec,
    /// `[n,n], [n,k] -> [n,k]`.
    SolveMat,
    /// `[n,n] -> [n,n]`.
    Inv,
    /// `[n,n] -> []`.
    Det,
    /// `[n,n] -> [n,n]`, lower triangular.
    Cholesky,
    /// `[n] -> [n]`, running sums.
    Cumsum,
    /// `[n] -> [n]`, ascending, NaN last.
    Sort,
    /// `[n] -> [n]` positions (i64), stable.
    Argsort,
    /// `[v,o] -> [v,v]`.
    Cov,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::SolveVec | Builtin::SolveMat => "solve",
            Builtin::Inv => "inv",
            Builtin::Det => "det",
            Builtin::Cholesky => "cholesky",
            Builtin::Cumsum => "cumsum",
            Builtin::Sort => "sort",
            Builtin::Argsort => "argsort",
            Builtin::Cov => "cov",
        }
    }
}

/// A scalar expression at one point of a step's index space.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Const(Scalar),
    /// The value of an index variable (i64).
    Var(VarId),
    /// The value of a size expression (i64).
    Size(Size),
    /// `array[index...]`, one integer expression per axis.
    Load {
        array: ArrayId,
        index: Vec<Expr>,
        span: TextRange,
    },
    Unary {
        op: UnaryOp,
        arg: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: TextRange,
    },
    Cast {
        dtype: Dtype,
        arg: Box<Expr>,
    },
    /// `where(cond, then, otherwise)`.
    Where {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `op(body for vars)`.
    Reduce {
        op: ReduceOp,
        vars: Vec<VarId>,
        body: Box<Expr>,
        span: TextRange,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
    Abs,
    Exp,
    Log,
    Sqrt,
    Sin,
    Cos,
    Tanh,
    Floor,
    Ceil,
    Tan,
    Log1p,
    Expm1,
    /// -1, 0 or 1 (NaN for NaN).
    Sign,
    IsNan,
    IsFinite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// True division (floats).
    Div,
    /// Floor division (Python `//`).
    FloorDiv,
    /// Python `%` (sign of the divisor).
    Mod,
    Pow,
    Maximum,
    Minimum,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Lt | Le | Gt | Ge | Eq | Ne)
    }

    pub fn is_logical(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or)
    }
}

impl Plan {
    /// The dtype of `expr` in this plan (`expr_dtype` over its arrays).
    pub fn dtype_of(&self, expr: &Expr) -> Dtype {
        expr_dtype(&self.arrays, expr)
    }
}

/// The dtype of `expr` inside `step`, following the executor's arithmetic rules:
/// operands of a binary operation are promoted bool < i64 < f32 < f64 (the checker
/// makes promotions explicit; this only has to agree with it).
pub fn expr_dtype(arrays: &[ArrayInfo], expr: &Expr) -> Dtype {
    match expr {
        Expr::Const(s) => s.dtype(),
        Expr::Var(_) | Expr::Size(_) => Dtype::I64,
        Expr::Load { array, .. } => arrays[*array].dtype,
        Expr::Unary { op, arg } => {
            let d = expr_dtype(arrays, arg);
            match op {
                UnaryOp::Neg | UnaryOp::Abs => d,
                UnaryOp::Not | UnaryOp::IsNan | UnaryOp::IsFinite => Dtype::Bool,
                UnaryOp::Sign => d,
                UnaryOp::Floor | UnaryOp::Ceil if !d.is_float() => d,
                _ => float_of(d),
            }
        }
        Expr::Binary { op, lhs, rhs, .. } => {
            let d = promote(expr_dtype(arrays, lhs), expr_dtype(arrays, rhs));
            match op {
                _ if op.is_comparison() || op.is_logical() => Dtype::Bool,
                BinaryOp::Div => float_of(d),
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul if d == Dtype::Bool => Dtype::I64,
                _ => d,
            }
        }
        Expr::Cast { dtype, .. } => *dtype,
        Expr::Where {
            then, otherwise, ..
        } => promote(expr_dtype(arrays, then), expr_dtype(arrays, otherwise)),
        Expr::Reduce { op, body, .. } => {
            let d = expr_dtype(arrays, body);
            match op {
                ReduceOp::Sum | ReduceOp::Prod if !d.is_float() => Dtype::I64,
                ReduceOp::Mean | ReduceOp::LogSumExp => float_of(d),
                ReduceOp::Argmax | ReduceOp::Argmin => Dtype::I64,
                ReduceOp::Any | ReduceOp::All => Dtype::Bool,
                _ => d,
            }
        }
    }
}

/// The common dtype of two operands: bool < i64 < f32 < f64, except that i64 with f32 is
/// f64 (as in NumPy).
pub fn promote(a: Dtype, b: Dtype) -> Dtype {
    use Dtype::*;
    match (a, b) {
        (x, y) if x == y => x,
        (F64, _) | (_, F64) => F64,
        (F32, I64) | (I64, F32) => F64,
        (F32, _) | (_, F32) => F32,
        (I64, _) | (_, I64) => I64,
        _ => Bool,
    }
}

/// The float dtype math on `d` produces (f32 stays f32).
pub fn float_of(d: Dtype) -> Dtype {
    if d == Dtype::F32 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

//! The checked program: names resolved to ids, every index variable with its domain,
//! every expression with its dtype and positional shape. This is what evaluators run.
//!
//! Meaning (docs/language.md): each [`Definition`] is a loop nest over its LHS index
//! variables in row-major order; at each point the value expression is evaluated to a
//! small positional array (rank = number of `:` slots on the LHS) and stored.

use ruff_text_size::TextRange;

pub use super::ast::{BinaryOp, UnaryOp};
use super::builtins::Builtin;
use super::dtype::Dtype;
use super::size::Size;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SizeVarId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArrayId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexVarId(pub usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionId(pub usize);

/// A checked, well-typed program. All ids index the tables here.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedProgram {
    pub size_vars: Vec<SizeVar>,
    pub arrays: Vec<Array>,
    pub index_vars: Vec<IndexVar>,
    pub functions: Vec<Function>,
    /// `input` arrays in declaration order.
    pub inputs: Vec<ArrayId>,
    /// Size variables declared with `size`: the caller binds them by name.
    pub size_inputs: Vec<SizeVarId>,
    /// Top-level definitions in source order (each may use only earlier ones).
    pub definitions: Vec<Definition>,
    /// `output` arrays in declaration order.
    pub outputs: Vec<ArrayId>,
}

impl CheckedProgram {
    pub fn size_var(&self, id: SizeVarId) -> &SizeVar {
        &self.size_vars[id.0]
    }
    pub fn array(&self, id: ArrayId) -> &Array {
        &self.arrays[id.0]
    }
    pub fn index_var(&self, id: IndexVarId) -> &IndexVar {
        &self.index_vars[id.0]
    }
    pub fn function(&self, id: FunctionId) -> &Function {
        &self.functions[id.0]
    }
    /// `N - w + 1`, with size variable names.
    pub fn display_size(&self, size: &Size) -> String {
        size.display(&|id| self.size_var(id).name.clone())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SizeVar {
    pub name: String,
    /// Where it is first written.
    pub range: TextRange,
    pub origin: SizeOrigin,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SizeOrigin {
    /// `size N`: bound by the caller.
    Declared,
    /// Bound by axis `axis` of input `array` (the first input that names it).
    Input { array: ArrayId, axis: usize },
    /// A size in a function's parameter types, bound at each call.
    Param { function: FunctionId },
    /// The number of rows of `array`, defined by `array[:, :] = nonzero(mask[...])`:
    /// bound when that definition runs, by no input. Named `len(array)`.
    Nonzero { array: ArrayId },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub name: String,
    pub dtype: Dtype,
    /// Axis sizes in terms of size variables (the function's own, for locals of a def).
    pub shape: Vec<Size>,
    pub range: TextRange,
    pub kind: ArrayKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArrayKind {
    Input,
    /// Defined at top level, or inside function `function`.
    Defined {
        function: Option<FunctionId>,
    },
    Param {
        function: FunctionId,
        position: usize,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct IndexVar {
    pub name: String,
    /// The variable ranges over `0..domain`.
    pub domain: Size,
    /// Where it is bound.
    pub range: TextRange,
}

/// `def`: written for the small case, mapped by its callers.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub name: String,
    /// Parameter arrays (shapes in terms of the function's size variables).
    pub params: Vec<ArrayId>,
    /// Size variables bound from the arguments' shapes at each call.
    pub size_vars: Vec<SizeVarId>,
    pub definitions: Vec<Definition>,
    pub result: ArrayId,
    pub range: TextRange,
}

/// `array[lhs] = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub array: ArrayId,
    pub lhs: Vec<LhsSlot>,
    pub value: Expr,
    pub range: TextRange,
}

impl Definition {
    /// The loop variables in LHS order (group members in group order).
    pub fn loop_vars(&self) -> Vec<IndexVarId> {
        let mut vars = Vec::new();
        for slot in &self.lhs {
            match slot {
                LhsSlot::Index(v) => vars.push(*v),
                LhsSlot::Group(vs) => vars.extend(vs.iter().copied()),
                LhsSlot::Whole | LhsSlot::NewAxis => {}
            }
        }
        vars
    }
}

/// One axis of a defined array.
#[derive(Clone, Debug, PartialEq)]
pub enum LhsSlot {
    Index(IndexVarId),
    /// Takes the value's next positional axis.
    Whole,
    /// A new axis of size 1.
    NewAxis,
    /// Row-major flatten of the variables (first is major).
    Group(Vec<IndexVarId>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub dtype: Dtype,
    /// Positional shape: the axes kept whole (`:`, slices) or produced by builtins.
    pub shape: Vec<Size>,
    pub range: TextRange,
}

impl Expr {
    /// Index variables used and not bound by a reduction inside, in order of first use.
    pub fn free_index_vars(&self) -> Vec<IndexVarId> {
        let mut out = Vec::new();
        self.collect_free(&mut out);
        out
    }

    fn collect_free(&self, out: &mut Vec<IndexVarId>) {
        let add = |v: IndexVarId, out: &mut Vec<IndexVarId>| {
            if !out.contains(&v) {
                out.push(v)
            }
        };
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::SizeVar(_) => {}
            ExprKind::IndexVar(v) => add(*v, out),
            ExprKind::Ref { slots, .. } => {
                for slot in slots {
                    match slot {
                        RefSlot::Index(e) => e.collect_free(out),
                        RefSlot::Split(vs) => vs.iter().for_each(|v| add(*v, out)),
                        RefSlot::Whole | RefSlot::Slice { .. } => {}
                    }
                }
            }
            ExprKind::Unary { operand, .. } | ExprKind::Cast { operand } => {
                operand.collect_free(out)
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.collect_free(out);
                rhs.collect_free(out);
            }
            ExprKind::Call { args, .. } | ExprKind::CallFunction { args, .. } => {
                args.iter().for_each(|a| a.collect_free(out))
            }
            ExprKind::Reduce { vars, body, .. } => {
                let mut inner = Vec::new();
                body.collect_free(&mut inner);
                for v in inner {
                    if !vars.contains(&v) {
                        add(v, out);
                    }
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    /// Stored as f64; the expression's dtype says whether it is f32 or f64.
    Float(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    /// The current value of an index variable (i64).
    IndexVar(IndexVarId),
    /// The value of a size variable (i64).
    SizeVar(SizeVarId),
    /// An element or sub-array of an array.
    Ref {
        array: ArrayId,
        slots: Vec<RefSlot>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    /// Both operands have the expression's operand dtype; positional shapes are equal
    /// or one side is a scalar (rank 0), which is then used for every element.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Conversion to the expression's dtype.
    Cast {
        operand: Box<Expr>,
    },
    /// A builtin; fixed-rank builtins are mapped over `mapped_over`, the free index
    /// variables of the arguments (vmap semantics).
    Call {
        builtin: Builtin,
        args: Vec<Expr>,
        mapped_over: Vec<IndexVarId>,
    },
    /// A user function, mapped over `mapped_over`.
    CallFunction {
        function: FunctionId,
        args: Vec<Expr>,
        mapped_over: Vec<IndexVarId>,
    },
    /// `op(body for vars)`; for argmax/argmin exactly one variable.
    Reduce {
        op: ReduceOp,
        vars: Vec<IndexVarId>,
        body: Box<Expr>,
    },
}

/// One axis of an array reference.
#[derive(Clone, Debug, PartialEq)]
pub enum RefSlot {
    /// An i64 index expression, bounds-checked at run time.
    Index(Expr),
    /// The whole axis, kept as the next positional axis.
    Whole,
    /// Elements `start, start+step, ...` (`len` of them), kept as a positional axis.
    Slice { start: Size, step: Size, len: Size },
    /// The axis read as a row-major group of index variables (first is major).
    Split(Vec<IndexVarId>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Prod,
    Mean,
    Max,
    Min,
    Argmax,
    Argmin,
    Any,
    All,
    LogSumExp,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 10] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Mean,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Argmax,
        ReduceOp::Argmin,
        ReduceOp::Any,
        ReduceOp::All,
        ReduceOp::LogSumExp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Mean => "mean",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::Argmax => "argmax",
            ReduceOp::Argmin => "argmin",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
            ReduceOp::LogSumExp => "logsumexp",
        }
    }

    pub fn from_name(name: &str) -> Option<ReduceOp> {
        ReduceOp::ALL.into_iter().find(|op| op.name() == name)
    }
}

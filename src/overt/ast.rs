//! The Overt syntax tree as written: every node carries its byte range. Produced by the
//! parser, printed by the printer, resolved and typed by the checker.

use ruff_text_size::TextRange;

use super::dtype::Dtype;

/// A whole `.ovt` file: items in source order, plus the comments and blank lines the
/// printer keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceFile {
    pub items: Vec<Item>,
    /// Comments and blank lines in source order.
    pub trivia: Vec<Trivia>,
}

impl SourceFile {
    /// A file without comments (as the translator builds it).
    pub fn new(items: Vec<Item>) -> SourceFile {
        SourceFile {
            items,
            trivia: Vec::new(),
        }
    }
}

/// Text the grammar ignores but the printer keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum Trivia {
    /// `# text` (the text includes the `#`); `own_line` when nothing precedes it on its
    /// line, else it trails the code on that line.
    Comment {
        text: String,
        own_line: bool,
        range: TextRange,
    },
    /// An empty line starting at this range.
    BlankLine(TextRange),
}

impl Trivia {
    pub fn range(&self) -> TextRange {
        match self {
            Trivia::Comment { range, .. } | Trivia::BlankLine(range) => *range,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `input A: f64[N, K]`
    Input(InputDecl),
    /// `size N, w`: size variables the caller binds directly.
    Size(SizeDecl),
    /// `output C, D`
    Output(OutputDecl),
    /// `def f(x: f64[n]) -> f64[n]: ...`
    Function(FunctionDef),
    /// `C[i, j] = ...`
    Definition(Definition),
}

/// A name with the range it was written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InputDecl {
    pub name: Ident,
    pub ty: ArrayType,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SizeDecl {
    pub names: Vec<Ident>,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputDecl {
    pub names: Vec<Ident>,
    pub range: TextRange,
}

/// `f64[N, K + 1]`; `f64[]` is a scalar.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayType {
    pub dtype: Dtype,
    pub dims: Vec<SizeExpr>,
    pub range: TextRange,
}

/// An integer expression over size variables: the size of an axis or a slice bound.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeExpr {
    pub kind: SizeExprKind,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SizeExprKind {
    Int(i64),
    Var(Ident),
    Binary {
        op: SizeOp,
        lhs: Box<SizeExpr>,
        rhs: Box<SizeExpr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SizeOp {
    Add,
    Sub,
    Mul,
    FloorDiv,
}

impl SizeOp {
    pub fn symbol(self) -> &'static str {
        match self {
            SizeOp::Add => "+",
            SizeOp::Sub => "-",
            SizeOp::Mul => "*",
            SizeOp::FloorDiv => "//",
        }
    }
}

/// `def name(params) -> type:` with an indented body of definitions and a `return NAME`.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDef {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: ArrayType,
    pub body: Vec<Definition>,
    /// The array named by `return`.
    pub result: Ident,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: ArrayType,
    pub range: TextRange,
}

/// `target[slots] = value`; `slots` is None for `m = value` (a scalar).
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub target: Ident,
    pub slots: Option<Vec<LhsSlot>>,
    pub value: Expr,
    pub range: TextRange,
}

/// One axis of the defined array.
#[derive(Clone, Debug, PartialEq)]
pub enum LhsSlot {
    /// An index variable, optionally with its domain: `i` or `i in range(N)`.
    Var(Binder),
    /// `:`: takes the next positional axis of the value.
    Whole(TextRange),
    /// `0`: a new axis of size 1.
    NewAxis(TextRange),
    /// `(h, c)`: one axis of size |h|*|c|, h major (row-major flatten).
    Group(Vec<Binder>, TextRange),
}

/// An index variable being bound: `i` or `i in range(N)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Binder {
    pub name: Ident,
    pub domain: Option<SizeExpr>,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub range: TextRange,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An index variable, size variable or scalar array.
    Name(Ident),
    /// `A[i, :, 0::2, (g, c)]`
    Index {
        base: Ident,
        slots: Vec<Slot>,
    },
    /// `exp(x)`, `solve(A[b, :, :], y[b, :])`, `f64(i)`, a user function.
    Call {
        func: Ident,
        args: Vec<Expr>,
    },
    /// `sum(body for i, j in range(w))`
    Reduce {
        func: Ident,
        body: Box<Expr>,
        binders: Vec<Binder>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

/// One axis of an array reference.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    /// An integer index expression.
    Index(Expr),
    /// `:`
    Whole(TextRange),
    /// `lo:hi:step` with at least one part written (static bounds).
    Slice {
        start: Option<SizeExpr>,
        stop: Option<SizeExpr>,
        step: Option<SizeExpr>,
        range: TextRange,
    },
    /// `(g, c)`: the axis split into index variables, g major.
    Group(Vec<Ident>, TextRange),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::FloorDiv => "//",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "**",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }

    /// Binding strength; higher binds tighter. `**` is right-associative, the rest left.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::Mod => 6,
            BinaryOp::Pow => 8,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}

/// Precedence of `not` (between `and` and comparisons) and of unary minus (between
/// `*` and `**`), as in Python.
pub const NOT_PRECEDENCE: u8 = 3;
pub const NEG_PRECEDENCE: u8 = 7;

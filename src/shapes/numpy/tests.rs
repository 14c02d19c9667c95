//! Table-driven tests of the NumPy model. Each row is a Python expression over helper
//! constructors and the result overt should give; a tiny evaluator (test-only) feeds the
//! expression to the model's entry points, and `numpy_agrees` runs every row through real
//! NumPy (OVERT_PYTHON) to check the expectations themselves.
//!
//! Helpers in expressions: `z(2,3)` float64 zeros, `z(2,3, dtype=np.float32)`, `I(2,3)`
//! int64, `B(2,3)` bool, `S('n', 3)` a float64 array with a symbolic axis (rows using it
//! are not run through NumPy), `rng` a `default_rng()` generator.

use super::*;
use crate::python::ast::{self, Expr};
use crate::shapes::dim::{Dim, DimExpr};
use crate::shapes::dtype::Dtype;
use crate::shapes::facts::SizeFacts;
use crate::shapes::shape::Shape;

/// A test-only evaluator of one expression against the model.
struct Eval<'c, 'f> {
    ctx: &'c mut Ctx<'f>,
    error: Option<ShapeError>,
}

impl Eval<'_, '_> {
    fn note(&mut self, o: Outcome) -> Value {
        if self.error.is_none() {
            self.error = o.error;
        }
        o.value
    }

    fn expr(&mut self, e: &Expr) -> Value {
        match e {
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => Value::Int(i.as_i64().map(DimExpr::lit)),
                ast::Number::Float(x) => Value::Float(Some(crate::shapes::PyFloat(*x))),
                ast::Number::Complex { .. } => Value::Complex,
            },
            Expr::BooleanLiteral(b) => Value::Bool(Some(b.value)),
            Expr::NoneLiteral(_) => Value::None,
            Expr::EllipsisLiteral(_) => Value::Ellipsis,
            Expr::StringLiteral(s) => Value::Str(s.value.to_str().to_string()),
            Expr::List(l) => Value::List(l.elts.iter().map(|e| self.expr(e)).collect()),
            Expr::Tuple(t) => Value::Tuple(t.elts.iter().map(|e| self.expr(e)).collect()),
            Expr::Slice(s) => {
                let part = |me: &mut Self, p: &Option<Box<Expr>>| p.as_ref().map(|e| me.expr(e));
                let lo = part(self, &s.lower);
                let hi = part(self, &s.upper);
                let st = part(self, &s.step);
                Value::Slice(Box::new([lo, hi, st]))
            }
            Expr::Name(n) => match n.id.as_str() {
                "np" => Value::NumpyRef(String::new()),
                "rng" => Value::RandomGenerator,
                "int" => Value::DtypeObj(Dtype::Int64),
                "float" => Value::DtypeObj(Dtype::Float64),
                "bool" => Value::DtypeObj(Dtype::Bool),
                other => Value::NumpyRef(format!("!{other}")),
            },
            Expr::UnaryOp(u) => {
                let v = self.expr(&u.operand);
                match (u.op, &v) {
                    (ast::UnaryOp::USub, Value::Int(Some(e))) => Value::Int(e.checked_scale(-1)),
                    (ast::UnaryOp::USub, Value::Float(x)) => {
                        Value::Float(x.map(|x| crate::shapes::PyFloat(-x.0)))
                    }
                    (ast::UnaryOp::USub, _) => {
                        let o = unary(self.ctx, UnaryOp::Neg, &v);
                        self.note(o)
                    }
                    (ast::UnaryOp::Invert, _) => {
                        let o = unary(self.ctx, UnaryOp::Invert, &v);
                        self.note(o)
                    }
                    (ast::UnaryOp::Not, _) => {
                        let o = unary(self.ctx, UnaryOp::Not, &v);
                        self.note(o)
                    }
                    (ast::UnaryOp::UAdd, _) => v,
                }
            }
            Expr::BinOp(b) => {
                let (l, r) = (self.expr(&b.left), self.expr(&b.right));
                let op = match b.op {
                    ast::Operator::Add => BinOp::Add,
                    ast::Operator::Sub => BinOp::Sub,
                    ast::Operator::Mult => BinOp::Mul,
                    ast::Operator::Div => BinOp::Div,
                    ast::Operator::FloorDiv => BinOp::FloorDiv,
                    ast::Operator::Mod => BinOp::Mod,
                    ast::Operator::Pow => BinOp::Pow,
                    ast::Operator::MatMult => BinOp::MatMul,
                    ast::Operator::BitAnd => BinOp::BitAnd,
                    ast::Operator::BitOr => BinOp::BitOr,
                    ast::Operator::BitXor => BinOp::BitXor,
                    ast::Operator::LShift => BinOp::LShift,
                    ast::Operator::RShift => BinOp::RShift,
                };
                // Python int arithmetic (the walker's job; enough of it for size expressions).
                if let (Value::Int(Some(x)), Value::Int(Some(y))) = (&l, &r) {
                    return Value::Int(match op {
                        BinOp::Add => x.checked_add(y),
                        BinOp::Sub => x.checked_sub(y),
                        BinOp::Mul => x.checked_mul(y),
                        _ => None,
                    });
                }
                let o = binary(self.ctx, op, &l, &r);
                self.note(o)
            }
            Expr::Compare(c) => {
                let l = self.expr(&c.left);
                let r = self.expr(&c.comparators[0]);
                let o = compare(self.ctx, CmpOp::Lt, &l, &r);
                self.note(o)
            }
            Expr::Attribute(a) => {
                let base = self.expr(&a.value);
                let name = a.attr.as_str();
                match base {
                    Value::NumpyRef(p) => {
                        let path = if p.is_empty() {
                            name.to_string()
                        } else {
                            format!("{p}.{name}")
                        };
                        match Dtype::from_name(&path).or(match path.as_str() {
                            "bool_" => Some(Dtype::Bool),
                            _ => None,
                        }) {
                            Some(d) => Value::DtypeObj(d),
                            None if path == "newaxis" => Value::None,
                            None => Value::NumpyRef(path),
                        }
                    }
                    Value::Array(arr) => {
                        let o = attribute(self.ctx, &arr, name);
                        self.note(o)
                    }
                    _ => Value::Unknown,
                }
            }
            Expr::Subscript(s) => {
                let base = self.expr(&s.value);
                let idx = self.expr(&s.slice);
                match base {
                    Value::Array(a) => {
                        let o = subscript(self.ctx, &a, &idx);
                        self.note(o)
                    }
                    Value::Tuple(items) | Value::List(items) => match idx {
                        Value::Int(Some(e)) => e
                            .as_lit()
                            .and_then(|i| usize::try_from(i).ok())
                            .and_then(|i| items.get(i).cloned())
                            .unwrap_or(Value::Unknown),
                        _ => Value::Unknown,
                    },
                    _ => Value::Unknown,
                }
            }
            Expr::Call(c) => {
                let args: Vec<Value> = c.arguments.args.iter().map(|a| self.expr(a)).collect();
                let kw_values: Vec<(String, Value)> = c
                    .arguments
                    .keywords
                    .iter()
                    .filter_map(|k| {
                        k.arg
                            .as_ref()
                            .map(|a| (a.as_str().to_string(), self.expr(&k.value)))
                    })
                    .collect();
                let kwargs: Vec<(&str, Value)> = kw_values
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                if let Expr::Attribute(a) = c.func.as_ref() {
                    let recv = self.expr(&a.value);
                    if matches!(recv, Value::Array(_) | Value::RandomGenerator) {
                        let o = method(self.ctx, &recv, a.attr.as_str(), &args, &kwargs);
                        return self.note(o);
                    }
                }
                match self.expr(&c.func) {
                    Value::NumpyRef(p) if p.starts_with('!') => helper(&p[1..], &args, &kwargs),
                    Value::NumpyRef(p) => {
                        let o = call(self.ctx, &p, &args, &kwargs);
                        self.note(o)
                    }
                    _ => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }
}

/// The test helpers `z`, `I`, `B`, `S`.
fn helper(name: &str, args: &[Value], kwargs: &Kwargs) -> Value {
    let dims: Vec<Dim> = args
        .iter()
        .map(|v| match v {
            Value::Int(Some(e)) => Dim::Known(e.clone()),
            Value::Str(s) => Dim::sym(s),
            _ => Dim::Unknown,
        })
        .collect();
    let dtype = kwargs
        .iter()
        .find(|(k, _)| *k == "dtype")
        .and_then(|(_, v)| match v {
            Value::DtypeObj(d) => Some(*d),
            _ => None,
        });
    let (default, scalar) = match name {
        "z" | "S" => (Dtype::Float64, false),
        "I" => (Dtype::Int64, false),
        "B" => (Dtype::Bool, false),
        "f8" => (Dtype::Float64, true),
        "f4" => (Dtype::Float32, true),
        "i8" => (Dtype::Int64, true),
        _ => return Value::Unknown,
    };
    if scalar {
        return Value::Array(ArrayValue::scalar(Some(default)));
    }
    Value::Array(ArrayValue::new(
        Shape::Ranked(dims),
        Some(dtype.unwrap_or(default)),
    ))
}

/// Renders a result: `float64[2, 3]`, `float64 scalar`, `(a, b)`, `int`, or the error.
fn render(v: &Value, error: &Option<ShapeError>) -> String {
    if let Some(e) = error {
        let class = match e.kind {
            ShapeErrorKind::Index => "IndexError",
            ShapeErrorKind::Axis => "AxisError",
            ShapeErrorKind::Linalg => "LinAlgError",
            ShapeErrorKind::Other => "Error",
            _ => "ValueError",
        };
        return format!("{class}: {}", e.message);
    }
    render_value(v)
}

fn render_value(v: &Value) -> String {
    match v {
        Value::Array(a) => {
            let d = a.dtype.map_or("?".to_string(), |d| d.name().to_string());
            if a.is_scalar {
                format!("{d} scalar")
            } else {
                format!("{d}{}", a.shape)
            }
        }
        Value::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(render_value).collect();
            format!("({})", parts.join(", "))
        }
        Value::Int(_) => "int".into(),
        Value::Float(_) => "float".into(),
        Value::Bool(_) => "bool".into(),
        Value::RandomGenerator => "Generator".into(),
        Value::None => "None".into(),
        _ => "unknown".into(),
    }
}

fn run(src: &str, version: NumpyVersion) -> String {
    let parsed = crate::python::parse_module(src);
    let Some(ast::Stmt::Expr(stmt)) = parsed.suite.first() else {
        panic!("not an expression: {src}");
    };
    let mut facts = SizeFacts::default();
    let mut counter = 0;
    let mut ctx = Ctx {
        facts: &mut facts,
        version,
        fresh_counter: &mut counter,
    };
    let mut ev = Eval {
        ctx: &mut ctx,
        error: None,
    };
    let v = ev.expr(&stmt.value);
    render(&v, &ev.error)
}

fn check(src: &str, expected: &str) {
    let got = run(src, NumpyVersion::V2);
    assert_eq!(got, expected, "\n  for {src}");
}

/// The rows checked by `model_matches_table` and verified against NumPy.
pub(super) static CASES: &[(&str, &str)] = &[
    // Broadcasting and promotion.
    ("z(3,4) + z(4)", "float64[3, 4]"),
    ("z(3,1) * z(1,5)", "float64[3, 5]"),
    ("z(3,4) + z(5)", "ValueError: operands could not be broadcast together with shapes (3,4) (5,)"),
    ("z(2,1,3) - z(4,1)", "float64[2, 4, 3]"),
    ("z(0) + z(1)", "float64[0]"),
    ("z(3, dtype=np.float32) + 1.0", "float32[3]"),
    ("z(3, dtype=np.float32) + z(3)", "float64[3]"),
    ("z(3, dtype=np.float32) + f8()", "float64[3]"),
    ("I(3) / 2", "float64[3]"),
    ("I(3) // 2", "int64[3]"),
    ("B(3) + B(3)", "bool[3]"),
    ("B(3) + 1", "int64[3]"),
    ("B(3) // B(3)", "int8[3]"),
    ("I(3, dtype=np.int32) + 1", "int32[3]"),
    ("I(3, dtype=np.int32) + I(3)", "int64[3]"),
    ("I(3, dtype=np.uint64) + I(3)", "float64[3]"),
    ("I(3, dtype=np.int8) + I(3, dtype=np.uint8)", "int16[3]"),
    ("I(3, dtype=np.int16) + z(3, dtype=np.float16)", "float32[3]"),
    ("I(3) + 1j", "complex128[3]"),
    ("z(3, dtype=np.float32) + 1j", "complex64[3]"),
    ("z(3) < 1", "bool[3]"),
    ("z(2,3) == z(3)", "bool[2, 3]"),
    ("-z(2)", "float64[2]"),
    ("~B(2)", "bool[2]"),
    ("f8() + 1", "float64 scalar"),
    ("f4() + 1.0", "float32 scalar"),
    ("np.sqrt(I(3, dtype=np.int8))", "float16[3]"),
    ("np.sqrt(I(3, dtype=np.int16))", "float32[3]"),
    ("np.exp(I(3))", "float64[3]"),
    ("np.sqrt(z())", "float64 scalar"),
    ("np.abs(z(2, dtype=np.complex64))", "float32[2]"),
    ("np.maximum(z(2,1), z(3))", "float64[2, 3]"),
    ("np.floor(I(3))", "int64[3]"),
    ("np.isnan(z(2,2))", "bool[2, 2]"),
    ("np.where(B(3), z(3, dtype=np.float32), 1.5)", "float32[3]"),
    ("np.where(B(2,1), I(3, dtype=np.int32), 1.5)", "float64[2, 3]"),
    ("np.where(B(3))", "(int64[_1])"),
    ("np.clip(I(3), 0, 1.5)", "float64[3]"),
    ("np.clip(z(3, dtype=np.float32), 0, 1.5)", "float32[3]"),
    // Indexing: the riddle (SEED-CASES section 2).
    ("z(10,20,30,40)[:, np.array([1,2,3]), np.array([[0],[1]]), :]", "float64[10, 2, 3, 40]"),
    ("z(10,20,30,40)[:, :, np.array([1,2,3]), np.array([[0],[1]])]", "float64[10, 20, 2, 3]"),
    ("z(10,20,30,40)[:, np.array([1,2,3]), :, np.array([[0],[1]])]", "float64[2, 3, 10, 30]"),
    ("z(10,20,30,40)[:, 1:4, np.array([[0],[1]]), :]", "float64[10, 3, 2, 1, 40]"),
    ("z(10,20,30,40)[np.array([1,2,3]), :, np.array([[0],[1]]), :]", "float64[2, 3, 20, 40]"),
    ("z(10,20,30,40)[:, np.array([1,2,3]), 1, :]", "float64[10, 3, 40]"),
    ("z(10,20,30,40)[:, 1, :, np.array([1,2,3])]", "float64[3, 10, 30]"),
    ("z(10,20,30,40)[0, :, :, np.array([1,2,3])]", "float64[3, 20, 30]"),
    ("z(10,20,30,40)[:, np.array([1,2,3])]", "float64[10, 3, 30, 40]"),
    ("z(10,20,30,40)[..., np.array([1,2,3])]", "float64[10, 20, 30, 3]"),
    ("z(10,20,30,40)[:, None, np.array([1,2,3]), np.array([[0],[1]]), :]", "float64[10, 1, 2, 3, 40]"),
    ("z(10,20,30,40)[:, np.array([1,2,3]), None, np.array([[0],[1]])]", "float64[2, 3, 10, 1, 40]"),
    ("z(10,20,30,40)[:, np.array([1,2,3]), ..., np.array([[0],[1]])]", "float64[2, 3, 10, 30]"),
    ("z(10,20,30,40)[:, np.array([1,2,3]), 1, np.array([[0],[1]])]", "float64[10, 2, 3]"),
    ("z(10,20,30,40)[:, np.array([1,2,3])[:, None], np.array([[0],[1]]).T, :]", "float64[10, 3, 2, 40]"),
    ("z(10,20,30,40)[:, ::-2, 0, 5:1:-1]", "float64[10, 10, 4]"),
    ("z(10,20,30,40)[:, B(20,30), :]", "float64[10, _1, 40]"),
    ("np.arange(6).reshape(2,3)[np.arange(6).reshape(2,3) > 2]", "int64[_1]"),
    // Indexing: the rules' table on z(3,4,5).
    ("z(3,4,5)[0]", "float64[4, 5]"),
    ("z(3,4,5)[np.array(0)]", "float64[4, 5]"),
    ("z(3,4,5)[0,0,0]", "float64 scalar"),
    ("z(3,4,5)[0,0,0,...]", "float64[]"),
    ("z(3,4,5)[0,0,0,None]", "float64[1]"),
    ("z(3,4,5)[...,None]", "float64[3, 4, 5, 1]"),
    ("z(3,4,5)[:,:,:,:]", "IndexError: too many indices for array: array is 3-dimensional, but 4 were indexed"),
    ("z(3,4,5)[[0,1],[0,1,2]]", "IndexError: shape mismatch: indexing arrays could not be broadcast together with shapes (2,) (3,)"),
    ("z(3,4,5)[[[0],[1]],[0,1,2]]", "float64[2, 3, 5]"),
    ("z(3,4,5)[:,[[0],[1]],[0,1,2]]", "float64[3, 2, 3]"),
    ("z(3,4,5)[0,[0,1]]", "float64[2, 5]"),
    ("z(3,4,5)[[0,1],:,0]", "float64[2, 4]"),
    ("z(3,4,5)[:,[0,1],0]", "float64[3, 2]"),
    ("z(3,4,5)[0,:,[0,1]]", "float64[2, 4]"),
    ("z(3,4,5)[[0,1],None,[0,1]]", "float64[2, 1, 5]"),
    ("z(3,4,5)[None,[0,1],[0,1]]", "float64[1, 2, 5]"),
    ("z(5,3,4)[:,[0,1],...,[0,1]]", "float64[2, 5]"),
    ("z(5,3,4)[:,[0,1],[0,1],...]", "float64[5, 2]"),
    ("z(3,4,5)[np.ones((3,4), bool)]", "float64[_1, 5]"),
    ("z(3,4,5)[:, np.ones((4,5), bool)]", "float64[3, _1]"),
    ("z(3,4,5)[np.array([True, False])]", "IndexError: boolean index did not match indexed array along axis 0; size of axis is 3 but size of corresponding boolean axis is 2"),
    ("z(3,4,5)[True]", "float64[1, 3, 4, 5]"),
    ("z(3,4,5)[False]", "float64[0, 3, 4, 5]"),
    ("z(3,4,5)[0,True]", "float64[1, 4, 5]"),
    ("z(3,4,5)[[0,1],True]", "float64[2, 4, 5]"),
    ("z(3,4,5)[:,True,[0,1]]", "float64[3, 2, 5]"),
    ("z(3,4,5)[[]]", "float64[0, 4, 5]"),
    ("z(3,4,5)[[],[]]", "float64[0, 5]"),
    ("z(3,4,5)[1:2,[0],1:3]", "float64[1, 1, 2]"),
    ("z(3,4,5)[1.0]", "IndexError: only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean arrays are valid indices"),
    ("z(3,4,5)[...,...]", "IndexError: an index can only have a single ellipsis ('...')"),
    ("z(3,4,5)[3]", "IndexError: index 3 is out of bounds for axis 0 with size 3"),
    ("z(3,4,5)[-4]", "IndexError: index -4 is out of bounds for axis 0 with size 3"),
    ("z(3,4,5)[:, [0, 4]]", "IndexError: index 4 is out of bounds for axis 1 with size 4"),
    ("z()[()]", "float64 scalar"),
    ("z()[...]", "float64[]"),
    ("z()[None]", "float64[1]"),
    ("z()[0]", "IndexError: too many indices for array: array is 0-dimensional, but 1 were indexed"),
    // Slices (n = 5).
    ("z(5)[::-1]", "float64[5]"),
    ("z(5)[3:0:-1]", "float64[3]"),
    ("z(5)[-100:100]", "float64[5]"),
    ("z(5)[10:]", "float64[0]"),
    ("z(5)[::2]", "float64[3]"),
    ("z(5)[1::-2]", "float64[1]"),
    ("z(5)[-1:-6:-1]", "float64[5]"),
    ("z(5)[4:1]", "float64[0]"),
    ("z(5)[:-1]", "float64[4]"),
    ("z(7)[1:6:2]", "float64[3]"),
    ("z(7)[::-3]", "float64[3]"),
    // Products (SEED-CASES section 3).
    ("np.dot(z(2,3,4), z(5,4,6))", "float64[2, 3, 5, 6]"),
    ("np.matmul(z(2,3,4), z(5,4,6))", "ValueError: operands could not be broadcast together with remapped shapes [original->remapped]: (2,3,4)->(2,newaxis,newaxis) (5,4,6)->(5,newaxis,newaxis)  and requested shape (3,6)"),
    ("np.matmul(z(2,3,4), z(2,4,6))", "float64[2, 3, 6]"),
    ("np.dot(z(2,3,4), z(2,4,6))", "float64[2, 3, 2, 6]"),
    ("z(2,3,4) @ z(4)", "float64[2, 3]"),
    ("z(4) @ z(2,4,6)", "float64[2, 6]"),
    ("z(7,1,3,4) @ z(5,4,6)", "float64[7, 5, 3, 6]"),
    ("np.tensordot(z(2,3,4), z(5,4,6), axes=([2],[1]))", "float64[2, 3, 5, 6]"),
    ("np.inner(z(2,3,4), z(5,6,4))", "float64[2, 3, 5, 6]"),
    ("z(3) @ z(3)", "float64 scalar"),
    ("z(2,3) @ z(4,2)", "ValueError: matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size 4 is different from 3)"),
    ("np.dot(z(2,3), z(4,2))", "ValueError: shapes (2,3) and (4,2) not aligned: 3 (dim 1) != 4 (dim 0)"),
    ("np.dot(z(3, dtype=np.float32), 2.0)", "float64[3]"),
    ("np.dot(z(3), z(3))", "float64 scalar"),
    ("np.vdot(z(2,3), z(6))", "float64 scalar"),
    ("np.outer(z(2,3), z(4))", "float64[6, 4]"),
    ("np.tensordot(z(2,3), z(2,3))", "float64[]"),
    ("np.tensordot(z(2,3), z(4,5), axes=0)", "float64[2, 3, 4, 5]"),
    ("np.tensordot(z(2,3), z(4,5), axes=1)", "ValueError: shape-mismatch for sum"),
    ("np.einsum('ij,jk->ik', z(2,3), z(3,5))", "float64[2, 5]"),
    ("np.einsum('ij,jk', z(2,3), z(3,5))", "float64[2, 5]"),
    ("np.einsum('ji', z(2,3))", "float64[3, 2]"),
    ("np.einsum('ab,cB', z(2,3), z(4,5))", "float64[5, 2, 3, 4]"),
    ("np.einsum('ii', z(3,3))", "float64 scalar"),
    ("np.einsum('ii->i', z(3,3))", "float64[3]"),
    ("np.einsum('i,i', z(3), z(3))", "float64 scalar"),
    ("np.einsum('...ij,...jk->...ik', z(7,2,3), z(3,5))", "float64[7, 2, 5]"),
    ("np.einsum('bij,bjk->bik', z(4,2,3), z(4,3,5))", "float64[4, 2, 5]"),
    ("np.einsum('i->', I(3, dtype=np.int32))", "int32 scalar"),
    // Reductions.
    ("z(2,3).sum()", "float64 scalar"),
    ("z(2,3).sum(axis=0)", "float64[3]"),
    ("z(2,3).sum(0)", "float64[3]"),
    ("np.sum(z(2,3), axis=-1, keepdims=True)", "float64[2, 1]"),
    ("np.sum(z(2,3,4), axis=(0,2))", "float64[3]"),
    ("np.sum(z(2,3), axis=2)", "AxisError: axis 2 is out of bounds for array of dimension 2"),
    ("np.sum(B(3))", "int64 scalar"),
    ("np.sum(I(3, dtype=np.int8), axis=0)", "int64 scalar"),
    ("np.sum(I(3, dtype=np.uint32))", "uint64 scalar"),
    ("np.mean(I(2,3), axis=1)", "float64[2]"),
    ("np.mean(z(2,3, dtype=np.float16))", "float16 scalar"),
    ("np.std(z(3, dtype=np.complex128))", "float64 scalar"),
    ("np.var(I(3,2), axis=0, keepdims=True)", "float64[1, 2]"),
    ("np.max(I(3, dtype=np.int32))", "int32 scalar"),
    ("np.argmax(z(2,3), axis=1)", "int64[2]"),
    ("z(2,3).argmin()", "int64 scalar"),
    ("np.any(z(2,3), axis=0)", "bool[3]"),
    ("z(2,3).all(keepdims=True)", "bool[1, 1]"),
    ("np.prod(I(2,3, dtype=np.int16), axis=())", "int64[2, 3]"),
    ("np.max(z(0,3), axis=0)", "Error: zero-size array to reduction operation maximum which has no identity"),
    ("np.max(z(0,3), axis=1)", "float64[0]"),
    ("np.cumsum(z(2,3))", "float64[6]"),
    ("np.cumsum(I(2,3, dtype=np.int32), axis=1)", "int64[2, 3]"),
    // Constructors.
    ("np.zeros((2,3))", "float64[2, 3]"),
    ("np.zeros(4, dtype=np.int32)", "int32[4]"),
    ("np.ones((2,3), int)", "int64[2, 3]"),
    ("np.empty(())", "float64[]"),
    ("np.zeros((-1, 2))", "Error: negative dimensions are not allowed"),
    ("np.full((2,3), 7)", "int64[2, 3]"),
    ("np.full((2,3), 7.0)", "float64[2, 3]"),
    ("np.full((2,3), [1,2,3])", "int64[2, 3]"),
    ("np.zeros_like(I(2,3))", "int64[2, 3]"),
    ("np.ones_like(z(2,3), dtype=np.float32)", "float32[2, 3]"),
    ("np.full_like(I(3), 0.5)", "int64[3]"),
    ("np.array([[1,2,3],[4,5,6]])", "int64[2, 3]"),
    ("np.array([[1,2],[3,4.0]])", "float64[2, 2]"),
    ("np.array([True, False])", "bool[2]"),
    ("np.array(5)", "int64[]"),
    ("np.array([])", "float64[0]"),
    ("np.array([z(2), z(2)])", "float64[2, 2]"),
    ("np.array([1,2], ndmin=3)", "int64[1, 1, 2]"),
    ("np.asarray([1.0, 2.0], dtype=np.float32)", "float32[2]"),
    ("np.arange(10)", "int64[10]"),
    ("np.arange(2, 10, 3)", "int64[3]"),
    ("np.arange(10, 2)", "int64[0]"),
    ("np.arange(10, 0, -3)", "int64[4]"),
    ("np.arange(5.0)", "float64[5]"),
    ("np.arange(1, 1.3, 0.1)", "float64[4]"),
    ("np.arange(0.0, 1.0, 0.1)", "float64[10]"),
    ("np.linspace(0, 1, 7)", "float64[7]"),
    ("np.linspace(0, 1)", "float64[50]"),
    ("np.linspace(z(3), z(3), 5)", "float64[5, 3]"),
    ("np.linspace(z(3), z(3), 5, axis=-1)", "float64[3, 5]"),
    ("np.linspace(0, 1, 5, retstep=True)", "(float64[5], float64 scalar)"),
    ("np.eye(3)", "float64[3, 3]"),
    ("np.eye(3, 4, dtype=int)", "int64[3, 4]"),
    ("np.identity(4)", "float64[4, 4]"),
    ("np.diag(z(3))", "float64[3, 3]"),
    ("np.diag(z(3), 1)", "float64[4, 4]"),
    ("np.diag(z(3,4))", "float64[3]"),
    ("np.diag(z(3,4), 2)", "float64[2]"),
    ("np.diag(z(3,4), -1)", "float64[2]"),
    // Random numbers.
    ("np.random.rand(2,3)", "float64[2, 3]"),
    ("np.random.randn(4)", "float64[4]"),
    ("np.random.rand()", "float"),
    ("np.random.random((2,3))", "float64[2, 3]"),
    ("np.random.normal(0, 1, size=(2,3))", "float64[2, 3]"),
    ("np.random.normal(z(2,1), z(3))", "float64[2, 3]"),
    ("np.random.uniform(0, 1, 5)", "float64[5]"),
    ("np.random.randint(0, 10, size=(3,))", "int64[3]"),
    ("np.random.randint(5)", "int"),
    ("np.random.choice(5, 3)", "int64[3]"),
    ("np.random.choice(z(4), (2,3))", "float64[2, 3]"),
    ("np.random.permutation(5)", "int64[5]"),
    ("rng.random(3)", "float64[3]"),
    ("rng.random(3, dtype=np.float32)", "float32[3]"),
    ("rng.standard_normal((2,3))", "float64[2, 3]"),
    ("rng.normal(size=4)", "float64[4]"),
    ("rng.integers(5)", "int64 scalar"),
    ("rng.integers(0, 5, size=(2,2))", "int64[2, 2]"),
    ("rng.choice(z(4,2), 3)", "float64[3, 2]"),
    ("rng.choice(z(4,2), 3, axis=1)", "float64[4, 3]"),
    ("rng.choice(z(4,2), (2,5), axis=0)", "float64[2, 5, 2]"),
    ("rng.random()", "float"),
    // Manipulation.
    ("z(2,3).reshape(3,2)", "float64[3, 2]"),
    ("z(2,3).reshape((6,))", "float64[6]"),
    ("z(2,3).reshape(-1)", "float64[6]"),
    ("z(2,3,4).reshape(2, -1)", "float64[2, 12]"),
    ("np.reshape(z(2,3), (3, -1))", "float64[3, 2]"),
    ("z(2,3).reshape(4,2)", "ValueError: cannot reshape array of size 6 into shape (4,2)"),
    ("z(2,3).reshape(4,-1)", "ValueError: cannot reshape array of size 6 into shape (4,-1)"),
    ("z(2,3).reshape(-1,-1)", "Error: can only specify one unknown dimension"),
    ("z(1).reshape(())", "float64[]"),
    ("z(2,3,4).T", "float64[4, 3, 2]"),
    ("z(2,3,4).mT", "float64[2, 4, 3]"),
    ("z(3).T", "float64[3]"),
    ("z(2,3,4).transpose(1,0,2)", "float64[3, 2, 4]"),
    ("z(2,3,4).transpose((2,0,1))", "float64[4, 2, 3]"),
    ("np.transpose(z(2,3,4), (0,2,1))", "float64[2, 4, 3]"),
    ("z(2,3).transpose(1,2)", "AxisError: axis 2 is out of bounds for array of dimension 2"),
    ("np.swapaxes(z(2,3,4), 0, 2)", "float64[4, 3, 2]"),
    ("z(2,3,4).swapaxes(-1,-2)", "float64[2, 4, 3]"),
    ("np.swapaxes(z(2,3), 0, 2)", "AxisError: axis2: axis 2 is out of bounds for array of dimension 2"),
    ("np.moveaxis(z(2,3,4), 0, -1)", "float64[3, 4, 2]"),
    ("np.moveaxis(z(2,3,4), [0,1], [-1,-2])", "float64[4, 3, 2]"),
    ("np.moveaxis(z(2,3,4), (0,1), (2,0))", "float64[3, 4, 2]"),
    ("np.expand_dims(z(2,3), 0)", "float64[1, 2, 3]"),
    ("np.expand_dims(z(2,3), -1)", "float64[2, 3, 1]"),
    ("np.expand_dims(z(2,3), (0,2))", "float64[1, 2, 1, 3]"),
    ("np.expand_dims(z(2,3), (1,3))", "float64[2, 1, 3, 1]"),
    ("np.expand_dims(z(2,3), 3)", "AxisError: axis 3 is out of bounds for array of dimension 3"),
    ("np.squeeze(z(1,3,1))", "float64[3]"),
    ("np.squeeze(z(1,3,1), axis=0)", "float64[3, 1]"),
    ("z(1,1).squeeze()", "float64[]"),
    ("np.squeeze(z(2,3), axis=0)", "Error: cannot select an axis to squeeze out which has size not equal to one"),
    ("np.ravel(z(2,3))", "float64[6]"),
    ("z(2,3).flatten()", "float64[6]"),
    ("np.concatenate([z(2,3), z(4,3)])", "float64[6, 3]"),
    ("np.concatenate((z(2,3), z(2,5)), axis=1)", "float64[2, 8]"),
    ("np.concatenate([z(2,3), z(2,4)])", "Error: all the input array dimensions except for the concatenation axis must match exactly, but along dimension 1, the array at index 0 has size 3 and the array at index 1 has size 4"),
    ("np.concatenate([z(2,3), z(4)], axis=None)", "float64[10]"),
    ("np.concatenate([z(2, dtype=np.float32), [1.0]])", "float64[3]"),
    ("np.stack([z(2,3), z(2,3)])", "float64[2, 2, 3]"),
    ("np.stack([z(2,3), z(2,3)], axis=-1)", "float64[2, 3, 2]"),
    ("np.stack([z(2), z(3)])", "Error: all input arrays must have the same shape"),
    ("np.vstack([z(3), z(3)])", "float64[2, 3]"),
    ("np.vstack([z(3), z(2,3)])", "float64[3, 3]"),
    ("np.hstack([z(3), z(4)])", "float64[7]"),
    ("np.hstack([z(2,3,4), z(2,1,4)])", "float64[2, 4, 4]"),
    ("np.column_stack([z(3), z(3)])", "float64[3, 2]"),
    ("np.column_stack([z(3), z(3,2)])", "float64[3, 3]"),
    ("np.dstack([z(3), z(3)])", "float64[1, 3, 2]"),
    ("np.broadcast_to(z(3), (4,3))", "float64[4, 3]"),
    ("np.broadcast_to(z(3), (4,))", "Error: operands could not be broadcast together with remapped shapes [original->remapped]: (3,)  and requested shape (4,)"),
    ("np.tile(z(2,3), 2)", "float64[2, 6]"),
    ("np.tile(z(2,3), (2,1,1))", "float64[2, 2, 3]"),
    ("np.tile(z(3), (2,2))", "float64[2, 6]"),
    ("np.repeat(z(2,3), 2)", "float64[12]"),
    ("np.repeat(z(2,3), 2, axis=1)", "float64[2, 6]"),
    ("np.repeat(z(2,3), [1,2], axis=0)", "float64[?, 3]"),
    ("np.sort(z(2,3))", "float64[2, 3]"),
    ("np.sort(z(2,3), axis=None)", "float64[6]"),
    ("np.argsort(z(2,3), axis=0)", "int64[2, 3]"),
    ("np.diff(z(5))", "float64[4]"),
    ("np.diff(z(5,4), n=2, axis=0)", "float64[3, 4]"),
    ("np.diff(I(5), prepend=0.5)", "float64[5]"),
    ("np.diff(z(2), n=3)", "float64[0]"),
    ("np.pad(z(2,3), 1)", "float64[4, 5]"),
    ("np.pad(z(2,3), (1,2))", "float64[5, 6]"),
    ("np.pad(z(2,3), ((1,0),(0,2)))", "float64[3, 5]"),
    ("np.flip(z(2,3))", "float64[2, 3]"),
    ("np.atleast_2d(z(3))", "float64[1, 3]"),
    ("np.atleast_3d(z(2,3))", "float64[2, 3, 1]"),
    // Linear algebra (SEED-CASES section 1 included).
    ("np.linalg.solve(z(100,5,5), z(100,5))", "ValueError: solve: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (m,m),(m,n)->(m,n) (size 100 is different from 5)"),
    ("np.linalg.solve(z(100,5,5), z(100,5)[:,:,None])", "float64[100, 5, 1]"),
    ("np.linalg.solve(z(100,5,5), z(100,5)[:,:,None])[:,:,0]", "float64[100, 5]"),
    ("np.linalg.solve(z(100,5,5).T, z(100,5).T)", "LinAlgError: Last 2 dimensions of the array must be square"),
    ("np.linalg.solve(z(4,3,3), z(3))", "float64[4, 3]"),
    ("np.linalg.solve(z(5,5,5), z(5,5))", "float64[5, 5, 5]"),
    ("np.linalg.solve(z(3,3), I(3,2))", "float64[3, 2]"),
    ("np.linalg.inv(z(4,3,3))", "float64[4, 3, 3]"),
    ("np.linalg.inv(z(2,3))", "LinAlgError: Last 2 dimensions of the array must be square"),
    ("np.linalg.inv(z(3))", "LinAlgError: 1-dimensional array given. Array must be at least two-dimensional"),
    ("np.linalg.inv(z(3,3, dtype=np.float32))", "float32[3, 3]"),
    ("np.linalg.det(z(3,3))", "float64 scalar"),
    ("np.linalg.det(z(4,3,3))", "float64[4]"),
    ("np.linalg.det(I(3,3))", "float64 scalar"),
    ("np.linalg.eigh(z(4,3,3))", "(float64[4, 3], float64[4, 3, 3])"),
    ("np.linalg.eigh(z(3,3, dtype=np.complex128))", "(float64[3], complex128[3, 3])"),
    ("np.linalg.eig(z(3,3, dtype=np.complex64))", "(complex64[3], complex64[3, 3])"),
    ("np.linalg.svd(z(5,3))", "(float64[5, 5], float64[3], float64[3, 3])"),
    ("np.linalg.svd(z(5,3), full_matrices=False)", "(float64[5, 3], float64[3], float64[3, 3])"),
    ("np.linalg.svd(z(2,5,3), compute_uv=False)", "float64[2, 3]"),
    ("np.linalg.qr(z(5,3))", "(float64[5, 3], float64[3, 3])"),
    ("np.linalg.qr(z(5,3), mode='complete')", "(float64[5, 5], float64[5, 3])"),
    ("np.linalg.qr(z(5,3), 'r')", "float64[3, 3]"),
    ("np.linalg.cholesky(z(2,4,4))", "float64[2, 4, 4]"),
    ("np.linalg.pinv(z(5,3))", "float64[3, 5]"),
    ("np.linalg.norm(z(3,4))", "float64 scalar"),
    ("np.linalg.norm(z(3,4), axis=1)", "float64[3]"),
    ("np.linalg.norm(z(3,4), axis=(0,1), keepdims=True)", "float64[1, 1]"),
    ("np.linalg.norm(z(3, dtype=np.float32))", "float32 scalar"),
    ("np.linalg.slogdet(z(2,3,3))", "(float64[2], float64[2])"),
    ("np.linalg.matrix_power(I(3,3), 2)", "int64[3, 3]"),
    ("np.linalg.lstsq(z(5,3), z(5), rcond=None)[0]", "float64[3]"),
    ("np.linalg.lstsq(z(5,3), z(5,2), rcond=None)[3]", "float64[3]"),
    ("np.linalg.lstsq(z(5,3), z(4), rcond=None)", "LinAlgError: Incompatible dimensions"),
    // Attributes and methods.
    ("z(2,3).shape", "(int, int)"),
    ("z(2,3).ndim", "int"),
    ("z(2,3).size", "int"),
    ("z(2, dtype=np.complex128).real", "float64[2]"),
    ("I(2,3).astype(np.float32)", "float32[2, 3]"),
    ("z(2,3).copy()", "float64[2, 3]"),
    ("z(2,3).max(axis=0).item", "unknown"),
    ("z(1).item()", "float"),
    ("z(2,3).cumsum(axis=0)", "float64[2, 3]"),
    ("z(2,3).dot(z(3))", "float64[2]"),
    ("np.random.default_rng(0)", "Generator"),
    ("np.log(z(3, dtype=np.complex64))", "complex64[3]"),
    // Splitting, stacking helpers and other families.
    ("np.split(z(6,5), 3)[0]", "float64[2, 5]"),
    ("np.split(z(7,4), 2, axis=1)[1]", "float64[7, 2]"),
    ("np.split(z(6,2), [4, 1])[1]", "float64[0, 2]"),
    ("np.split(z(6,2), [4, 1])[2]", "float64[5, 2]"),
    ("np.split(z(7), 3)", "Error: array split does not result in an equal division"),
    ("np.array_split(z(7), 3)[0]", "float64[3]"),
    ("np.array_split(z(7), 3)[2]", "float64[2]"),
    ("np.hsplit(z(3,10), 2)[0]", "float64[3, 5]"),
    ("np.vsplit(z(9,2), 3)[2]", "float64[3, 2]"),
    ("np.unstack(z(2,5,3))", "(float64[5, 3], float64[5, 3])"),
    ("np.rollaxis(z(2,3,4), 2)", "float64[4, 2, 3]"),
    ("np.rollaxis(z(2,3,4), 0, 2)", "float64[3, 2, 4]"),
    ("np.rot90(z(2,3))", "float64[3, 2]"),
    ("np.rot90(z(3,5,7), 1, axes=(1,2))", "float64[3, 7, 5]"),
    ("np.rot90(z(3,5,7), 2)", "float64[3, 5, 7]"),
    ("np.triu(z(11))", "float64[11, 11]"),
    ("np.tril(z(3,5,7), -1)", "float64[3, 5, 7]"),
    ("np.append(z(3), z(2,2))", "float64[7]"),
    ("np.append(z(2, dtype=np.float32), 1.0)", "float64[3]"),
    ("np.append(z(4,3), z(3,3), axis=0)", "float64[7, 3]"),
    ("np.diagonal(z(2,3,5))", "float64[5, 2]"),
    ("z(3,4).diagonal(1)", "float64[3]"),
    ("np.trace(z(3,3))", "float64 scalar"),
    ("np.trace(I(3,3, dtype=np.int32))", "int64 scalar"),
    ("np.trace(z(2,3,5), axis1=1, axis2=2)", "float64[2]"),
    ("z(4,4).trace()", "float64 scalar"),
    ("np.ix_([0,1], [0,1,2])", "(int64[2, 1], int64[1, 3])"),
    ("z(3,4,11)[np.ix_([0,1], [0,1,2])]", "float64[2, 3, 11]"),
    ("np.partition(z(11), 3)", "float64[11]"),
    ("np.argpartition(z(3,5,7), 2, axis=-1)", "int64[3, 5, 7]"),
    ("np.percentile(z(2,3,5), 50, axis=0)", "float64[3, 5]"),
    ("np.quantile(z(3,7), [0.25, 0.75], axis=1)", "float64[2, 3]"),
    ("np.percentile(z(11), [10, 50, 90])", "float64[3]"),
    ("np.quantile(z(5,7, dtype=np.float32), 0.5, axis=0)", "float32[7]"),
    ("np.quantile(I(5), 0.5)", "float64 scalar"),
    ("np.random.multivariate_normal(np.zeros(3), np.eye(3), size=5)", "float64[5, 3]"),
    ("rng.multivariate_normal(np.zeros(2), np.eye(2), size=(5, 3))", "float64[5, 3, 2]"),
    ("rng.permuted(z(2,7), axis=0)", "float64[2, 7]"),
    // More products and linalg.
    ("np.kron(z(3,5), z(5,7))", "float64[15, 35]"),
    ("np.kron(z(2,3,5), z(11,13))", "float64[2, 33, 65]"),
    ("np.vecdot(z(2,3,5), z(5))", "float64[2, 3]"),
    ("np.vecdot(z(3,5), z(3,5))", "float64[3]"),
    ("np.matvec(z(2,3,5), z(5))", "float64[2, 3]"),
    ("np.vecmat(z(3), z(3,5))", "float64[5]"),
    ("np.vecdot(z(5,3), z(5,3), axis=-2)", "?[...]"),
    ("np.linalg.vector_norm(z(2,3,5), ord=1)", "float64 scalar"),
    ("np.linalg.vector_norm(z(2,3,5), axis=(0,1,2))", "float64 scalar"),
    ("np.linalg.norm(z(2,3,5), ord=1)", "Error: Improper number of dimensions to norm."),
    ("np.stack([z(2), z(2)], dtype=np.float32)", "float32[2, 2]"),
    ("np.vstack([z(2), z(2)], dtype=np.float32)", "float32[2, 2]"),
    ("np.concatenate([z(2), z(2)], dtype=np.float32)", "float32[4]"),
    ("np.matmul(z(2,3), z(3,4), dtype=np.float32)", "?[...]"),
    ("np.cross(z(3,5), z(3,5), axis=0)", "?[...]"),
    ("np.matvec(z(3,5), z(4))", "ValueError: gufunc: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (m,n),(n)->(m) (size 4 is different from 5)"),
    ("np.multiply.outer(z(3), z(3,5))", "float64[3, 3, 5]"),
    ("np.linalg.multi_dot([z(11,3), z(3,7), z(7,3)])", "float64[11, 3]"),
    ("np.linalg.multi_dot([z(3), z(3,4), z(4)])", "float64 scalar"),
    ("np.cross(z(5,3), z(3))", "float64[5, 3]"),
    ("np.cross(z(5,3), z(4,1,2))", "float64[4, 5, 3]"),
    ("np.linalg.svdvals(z(7,3,5))", "float64[7, 3]"),
    ("np.linalg.vector_norm(z(7,3,5), axis=(0,2))", "float64[3]"),
    ("np.linalg.matrix_norm(z(7,3,5))", "float64[7]"),
    ("np.linalg.trace(z(7,3,5))", "float64[7]"),
    ("np.linalg.tensorinv(np.eye(6).reshape(6, 2, 3), ind=1)", "float64[2, 3, 6]"),
    ("np.linalg.outer(z(5), z(7))", "float64[5, 7]"),
    // Positional dtype/out, and functions whose later positions mean something else.
    ("np.sum(z(2,3), 0, np.float32)", "float32[3]"),
    ("np.mean(I(2,3), 1, np.float32)", "float32[2]"),
    ("np.max(z(2,3), 0, z(3, dtype=np.float32))", "float32[3]"),
    ("np.exp(z(3), z(3, dtype=np.float32))", "float32[3]"),
    ("np.add(z(3), 1, out=z(3, dtype=np.float32))", "float32[3]"),
    ("np.average(z(2,3), 0)", "float64[3]"),
    ("np.average(z(2,3, dtype=np.float32), 0, z(2))", "?[3]"),
    ("np.median(I(2,3), 1)", "float64[2]"),
    ("np.count_nonzero(z(2,3), 0)", "int64[3]"),
    ("np.zeros_like(z(2,3), shape=(4,))", "float64[4]"),
    ("np.full_like(z(2,3), 1, shape=(4,5))", "float64[4, 5]"),
    ("np.round(z(2,3), 2)", "float64[2, 3]"),
    ("np.isclose(z(2,3), z(3), 1e-3)", "bool[2, 3]"),
    ("i8() * [1, 2]", "unknown"),
    ("I(2, dtype=np.uint8) + (-1)", "Error: Python integer -1 out of bounds for uint8"),
    ("I(2, dtype=np.int8) + 300", "Error: Python integer 300 out of bounds for int8"),
    ("I(2, dtype=np.uint64) - 1", "uint64[2]"),
    ("I(2, dtype=np.int8) + 127", "int8[2]"),
    ("I(2, dtype=np.uint8) / 123454", "float64[2]"),
    ("I(2, dtype=np.uint8) // 300", "Error: Python integer 300 out of bounds for uint8"),
    ("I(2, dtype=np.uint8) == -1", "bool[2]"),
    ("z(2) + 300", "float64[2]"),
    ("np.count_nonzero(z(0,3), axis=(0, 1))", "int64 scalar"),
    ("np.count_nonzero(z(0,3), axis=0)", "int64[3]"),
    ("np.argmax(z(0,3), axis=0)", "Error: attempt to get argmax of an empty sequence"),
    ("np.argmax(z(0,3), axis=1)", "int64[0]"),
    ("f8() * [1, 2]", "unknown"),
];

#[test]
fn model_matches_table() {
    let mut failures = Vec::new();
    for (src, expected) in CASES {
        let got = run(src, NumpyVersion::V2);
        if got != *expected {
            failures.push(format!(
                "{src}\n    expected {expected}\n    got      {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Symbolic sizes: NumPy cannot check these; the expectations follow from the rules.
#[test]
fn symbolic_shapes() {
    check("S('n', 3) + z(3)", "float64[n, 3]");
    check("S('n', 3) + S('n', 1)", "float64[n, 3]");
    check("S('n') + S('m')", "float64[?]");
    check("S('n') + z(4)", "float64[4]");
    check("S('n', 'd').sum(axis=0)", "float64[d]");
    check("S('n', 'd').mean(axis=0, keepdims=True)", "float64[1, d]");
    check("S('n', 'd') @ S('d', 'k')", "float64[n, k]");
    check("S('k', 'n', 'n') @ S('k', 'n', 1)", "float64[k, n, 1]");
    check("np.linalg.inv(S('k', 'n', 'n'))", "float64[k, n, n]");
    check("np.linalg.solve(S('n', 'n'), S('n'))", "float64[n]");
    check("S('n', 'd').T", "float64[d, n]");
    check("S('n', 'd')[:, 0]", "float64[n]");
    check("S('n', 'd')[0]", "float64[d]");
    check("S('n')[1:]", "float64[?]");
    check("S('n')[:]", "float64[n]");
    check("S('n')[::-1]", "float64[n]");
    check("np.arange(S('n').shape[0] + 1)[1:]", "int64[n]");
    check("S('n', 3).reshape(-1)", "float64[3*n]");
    check(
        "S('n', 'd', 3).reshape(S('n', 'd', 3).shape[0], -1)",
        "float64[n, 3*d]",
    );
    check(
        "S('n', 'd').reshape(-1, S('n', 'd').shape[1])",
        "float64[n, d]",
    );
    check(
        "np.concatenate([S('n', 3), S('m', 3)])",
        "float64[m + n, 3]",
    );
    check("np.zeros((S('n').shape[0], 3))", "float64[n, 3]");
    check("np.arange(S('n').shape[0])", "int64[n]");
    check("S('n', 'd')[S('n', 'd') > 0]", "float64[_1]");
    check(
        "np.einsum('ij,jk->ik', S('n', 'd'), S('d', 'k'))",
        "float64[n, k]",
    );
    check("np.stack([S('n'), S('n')], axis=1)", "float64[n, 2]");
    check("S('n', 'd').ravel()", "float64[?]");
    check("S('n', 3).ravel()", "float64[3*n]");
    check("np.expand_dims(S('n'), 1) - S('n')", "float64[n, n]");
    check("np.squeeze(S('n', 1))", "float64[...]");
}

#[test]
fn solve_follows_the_configured_version() {
    let cases = [
        ("np.linalg.solve(z(4,3,3), z(4,3))", "float64[4, 3]"),
        ("np.linalg.solve(z(5,5,5), z(5,5))", "float64[5, 5]"),
        ("np.linalg.solve(z(100,5,5), z(100,5))", "float64[100, 5]"),
    ];
    for (src, expected) in cases {
        assert_eq!(run(src, NumpyVersion::V1), expected, "for {src}");
    }
}

#[test]
fn unknown_inputs_stay_unknown() {
    check("np.zeros(unknown_thing)", "float64[...]");
    check("np.exp(unknown_thing)", "?[...]");
    check("z(2,3) + unknown_thing", "?[...]");
    check("np.sum(unknown_thing)", "?[...]");
    check("np.no_such_function(z(3))", "unknown");
    check("z(2,3)[unknown_thing]", "float64[...]");
}

#[test]
fn promotion_table_is_symmetric_and_idempotent() {
    for a in Dtype::ALL {
        assert_eq!(promote::promote(a, a), a);
        for b in Dtype::ALL {
            assert_eq!(promote::promote(a, b), promote::promote(b, a), "{a} {b}");
        }
    }
}

/// The Python snippet that evaluates one expression in NumPy and prints its rendering.
const NUMPY_PRELUDE: &str = r#"
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
def z(*s, dtype=np.float64):
    # Random, and diagonally dominant when square, so that linalg calls succeed.
    a = np.random.default_rng(1).random(s)
    if len(s) >= 2 and s[-1] == s[-2]:
        a = a + s[-1] * np.eye(s[-1])
    return a.astype(dtype)
def I(*s, dtype=np.int64): return np.zeros(s, dtype)
def B(*s): return np.ones(s, bool)
def f8(): return np.float64(1)
def f4(): return np.float32(1)
def i8(): return np.int64(1)
rng = np.random.default_rng(0)
def render(v):
    if isinstance(v, np.ndarray):
        return f"{v.dtype}[{', '.join(str(d) for d in v.shape)}]"
    if isinstance(v, np.generic):
        return f"{v.dtype} scalar"
    if isinstance(v, tuple):
        return "(" + ", ".join(render(x) for x in v) + ")"
    if isinstance(v, bool): return "bool"
    if isinstance(v, int): return "int"
    if isinstance(v, float): return "float"
    if isinstance(v, np.random.Generator): return "Generator"
    return type(v).__name__
for line in sys.stdin:
    src = json.loads(line)
    try:
        out = render(eval(src))
    except Exception as e:
        out = "raise " + " ".join(c.__name__ for c in type(e).__mro__)
    print(json.dumps(out), flush=True)
"#;

fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("OVERT_PYTHON") {
        return p.into();
    }
    let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
    assert!(
        local.exists(),
        "set OVERT_PYTHON to a python with numpy (scripts/test.sh does this)"
    );
    local
}

/// Does overt's rendering agree with NumPy's? `?`, `_k` and symbolic sizes are wildcards.
fn agrees(ours: &str, numpy: &str) -> bool {
    if let Some(rest) = ours.split(':').next().filter(|_| ours.contains(": ")) {
        let class = rest.trim();
        return match numpy.strip_prefix("raise ") {
            Some(classes) => class == "Error" || classes.split(' ').any(|c| c == class),
            None => false,
        };
    }
    if ours == "unknown" {
        return true;
    }
    let tok = |s: &str| -> Vec<String> {
        s.replace(['[', ']', '(', ')', ','], " ")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (tok(ours), tok(numpy));
    if ours.contains("[...]") {
        return true;
    }
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x == y
                || x == "?"
                || x.starts_with('_')
                || (x.parse::<i64>().is_err()
                    && y.parse::<i64>().is_ok()
                    && !["scalar", "int", "float", "bool"].contains(&x.as_str())
                    && !x.contains("float")
                    && !x.contains("int")
                    && !x.contains("complex")
                    && !x.contains("bool"))
        })
}

#[test]
fn numpy_agrees() {
    use std::io::Write;
    let mut child = std::process::Command::new(python())
        .args(["-c", NUMPY_PRELUDE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python with numpy");
    let mut input = String::new();
    for (src, _) in CASES {
        input.push_str(&serde_json::to_string(src).expect("json"));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("python output");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<String>(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), CASES.len(), "python failed");
    let mut failures = Vec::new();
    for ((src, expected), numpy) in CASES.iter().zip(&lines) {
        if !agrees(expected, numpy) {
            failures.push(format!("{src}\n    table {expected}\n    numpy {numpy}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows disagree with NumPy:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `promote` against `np.promote_types` for every pair of dtypes.
#[test]
fn promotion_matches_numpy() {
    let script = "import numpy as np\n\
                  names = ['bool','int8','int16','int32','int64','uint8','uint16','uint32',\
                  'uint64','float16','float32','float64','complex64','complex128']\n\
                  for a in names:\n    for b in names:\n        \
                  print(a, b, np.promote_types(a, b).name)\n";
    let out = std::process::Command::new(python())
        .args(["-c", script])
        .output()
        .expect("python with numpy");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut checked = 0;
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let [a, b, r] = parts.as_slice() else {
            panic!("bad line {line}");
        };
        let (a, b) = (
            Dtype::from_name(a).expect("a"),
            Dtype::from_name(b).expect("b"),
        );
        assert_eq!(promote::promote(a, b).name(), *r, "promote({a}, {b})");
        checked += 1;
    }
    assert_eq!(checked, 14 * 14);
}

/// Extreme literals must neither panic (overflow) nor allocate without bound.
#[test]
fn extreme_literals_are_safe() {
    check("np.zeros(np.arange(1000000000))", "float64[...]");
    check("np.diag(z(3), -9223372036854775807 - 1)", "float64[?, ?]");
    check("np.diag(z(3,4), -9223372036854775807)", "float64[0]");
    check(
        "np.tensordot(z(2,3), z(3,2), axes=1000000000000000000)",
        "ValueError: shape-mismatch for sum",
    );
    check("np.array([1], ndmin=1000000000000000000)", "?[...]");
    check("np.split(z(6), 1000000000)", "unknown");
    check("np.unstack(z(1000000000, 2))", "unknown");
    check(
        "z(9223372036854775807)[::9223372036854775807]",
        "float64[1]",
    );
    check(
        "np.arange(-9223372036854775807, 9223372036854775807, 2)",
        "int64[?]",
    );
    check(
        "np.arange(0, 9223372036854775807, -9223372036854775807)",
        "int64[0]",
    );
    check("z(4611686018427387904, 4).reshape(-1)", "float64[?]");
    check("z(4611686018427387904, 4).reshape(2, 3)", "float64[2, 3]");
}

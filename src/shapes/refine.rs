//! Learning from tests the program makes about shapes: `assert x.shape == (n, d)`,
//! `assert x.ndim == 2`, `assert x.shape[0] == n`, `if x.shape[0] != n: raise ...`,
//! `n, d = x.shape`, `n = x.shape[0]`, `n = len(x)`. What a test establishes refines the
//! array's shape and the size facts on the path where it holds.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::analysis::Finding;
use super::dim::{Dim, DimExpr};
use super::numpy::{ShapeError, ShapeErrorKind};
use super::shape::Shape;
use super::value::{ArrayValue, Value};
use super::walker::{canonical_shape, Frame, Walker};

/// Which part of an array's shape an expression reads.
enum ShapePart {
    All,
    Axis(i64),
    Ndim,
}

const MAX_REFINE_DEPTH: u32 = 32;

impl<'m> Walker<'m> {
    /// Refines the state by `test` evaluating to `truth`.
    pub fn refine(&mut self, f: &mut Frame, test: &'m Expr, truth: bool) {
        self.refine_depth(f, test, truth, 0);
    }

    fn refine_depth(&mut self, f: &mut Frame, test: &'m Expr, truth: bool, depth: u32) {
        if depth > MAX_REFINE_DEPTH || !f.state.reachable {
            return;
        }
        match test {
            Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => {
                self.refine_depth(f, &u.operand, !truth, depth + 1)
            }
            Expr::BoolOp(b) => {
                let all_hold = match b.op {
                    ast::BoolOp::And => truth,
                    ast::BoolOp::Or => !truth,
                };
                if all_hold {
                    for v in &b.values {
                        self.refine_depth(f, v, truth, depth + 1);
                    }
                }
            }
            Expr::Compare(c) if c.ops.len() == 1 && c.comparators.len() == 1 => {
                let equal = match c.ops[0] {
                    ast::CmpOp::Eq => truth,
                    ast::CmpOp::NotEq => !truth,
                    _ => return,
                };
                if equal {
                    self.learn_equal(f, &c.left, &c.comparators[0], c.range);
                }
            }
            _ => {}
        }
    }

    fn learn_equal(&mut self, f: &mut Frame, l: &'m Expr, r: &'m Expr, range: TextRange) {
        if let Some((name, part)) = shape_subject(l) {
            return self.learn_shape(f, name, part, r, range);
        }
        if let Some((name, part)) = shape_subject(r) {
            return self.learn_shape(f, name, part, l, range);
        }
        let (a, b) = (self.eval_quiet(f, l), self.eval_quiet(f, r));
        match (a, b) {
            (Value::Int(Some(a)), Value::Int(Some(b))) => {
                f.state.facts.assume_equal(&a, &b);
            }
            (Value::Int(Some(e)), _) => self.bind_size_name(f, r, e),
            (_, Value::Int(Some(e))) => self.bind_size_name(f, l, e),
            _ => {}
        }
    }

    /// A name of unknown value compared equal to a size now holds that size.
    fn bind_size_name(&mut self, f: &mut Frame, e: &'m Expr, size: DimExpr) {
        if let Expr::Name(n) = e {
            if matches!(self.lookup(f, &n.id), Value::Unknown | Value::Int(None)) {
                f.state.set(&n.id, Value::Int(Some(size)));
            }
        }
    }

    /// The size an expression compared with a shape stands for; a name of unknown value
    /// becomes a symbol named after it.
    fn size_of(&mut self, f: &mut Frame, e: &'m Expr) -> Option<DimExpr> {
        match self.eval_quiet(f, e) {
            Value::Int(Some(d)) => Some(d),
            Value::Unknown | Value::Int(None) => match e {
                Expr::Name(n) => {
                    let s = self.mint(f, n.range.start(), &n.id);
                    let d = DimExpr::sym(s);
                    f.state.set(&n.id, Value::Int(Some(d.clone())));
                    Some(d)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn learn_shape(
        &mut self,
        f: &mut Frame,
        name: &'m str,
        part: ShapePart,
        other: &'m Expr,
        range: TextRange,
    ) {
        match part {
            ShapePart::All => {
                let elts = match other {
                    Expr::Tuple(t) => &t.elts,
                    Expr::List(l) => &l.elts,
                    _ => return,
                };
                if elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
                    return;
                }
                let sizes: Vec<Option<DimExpr>> = elts.iter().map(|e| self.size_of(f, e)).collect();
                self.refine_array(f, name, Some(elts.len()), &sizes, range, false);
            }
            ShapePart::Axis(k) => {
                let Some(size) = self.size_of(f, other) else {
                    return;
                };
                let Some(rank) = self.array_of(f, name).and_then(|a| a.shape.rank()) else {
                    return;
                };
                let axis = if k < 0 { k + rank as i64 } else { k };
                if !(0..rank as i64).contains(&axis) {
                    return;
                }
                let mut sizes = vec![None; rank];
                sizes[axis as usize] = Some(size);
                self.refine_array(f, name, None, &sizes, range, false);
            }
            ShapePart::Ndim => {
                if let Value::Int(Some(e)) = self.eval_quiet(f, other) {
                    if let Some(k) = e.as_lit().and_then(|k| usize::try_from(k).ok()) {
                        self.refine_array(f, name, Some(k), &vec![None; k], range, false);
                    }
                }
            }
        }
    }

    fn array_of(&self, f: &Frame, name: &str) -> Option<ArrayValue> {
        match self.lookup(f, name) {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Refines variable `name` to have `rank` (when given) and the given axis sizes,
    /// recording a mismatch when what is known contradicts them. `unpacking` reports a
    /// rank mismatch as NumPy's unpacking error instead.
    fn refine_array(
        &mut self,
        f: &mut Frame,
        name: &str,
        rank: Option<usize>,
        sizes: &[Option<DimExpr>],
        range: TextRange,
        unpacking: bool,
    ) {
        let current = match self.lookup(f, name) {
            Value::Array(a) => a,
            // Whatever `x` was, after the test it has a shape: treat it as an array.
            Value::Unknown => ArrayValue::unknown(),
            _ => return,
        };
        // `len(x)` ran on this array: once it has axes, the first is that size.
        let len = match self.lookup(f, name) {
            Value::Array(_) => f.state.lens.get(name).cloned(),
            _ => None,
        };
        let mut dims = match (&current.shape, rank) {
            (Shape::Ranked(d), Some(r)) if d.len() != r => {
                let message = if unpacking {
                    format!(
                        "{} values to unpack (expected {r}, got {})",
                        if d.len() > r {
                            "too many"
                        } else {
                            "not enough"
                        },
                        d.len()
                    )
                } else {
                    format!(
                        "`{name}` has {} dimensions here, but the test requires {r}",
                        d.len()
                    )
                };
                let expected = Shape::Ranked(vec![Dim::Unknown; r]);
                self.mismatch(
                    f,
                    range,
                    expected,
                    current.shape.clone(),
                    message,
                    unpacking,
                );
                return;
            }
            (Shape::Ranked(d), _) => d.clone(),
            // A variadic shape of rank `r`: its known trailing axes end the list.
            (Shape::Variadic { dims: d, .. }, Some(r)) if d.len() <= r => {
                let mut all = vec![Dim::Unknown; r - d.len()];
                all.extend_from_slice(d);
                if let (Some(first @ Dim::Unknown), Some(len)) = (all.first_mut(), len) {
                    *first = Dim::Known(len);
                }
                all
            }
            (Shape::Variadic { .. } | Shape::Unranked, Some(r)) => {
                let mut dims = vec![Dim::Unknown; r];
                if let (Some(first), Some(len)) = (dims.first_mut(), len) {
                    *first = Dim::Known(len);
                }
                dims
            }
            (Shape::Variadic { .. } | Shape::Unranked, None) => return,
        };
        let before = current.shape.clone();
        for (dim, size) in dims.iter_mut().zip(sizes) {
            let Some(size) = size else { continue };
            match dim {
                Dim::Unknown => *dim = Dim::Known(size.clone()),
                Dim::Known(cur) => {
                    if !f.state.facts.assume_equal(cur, size) {
                        let expected = Shape::Ranked(
                            sizes
                                .iter()
                                .map(|s| s.clone().map_or(Dim::Unknown, Dim::Known))
                                .collect(),
                        );
                        let inferred = canonical_shape(&f.state.facts, &before);
                        let message = format!(
                            "`{name}` has shape {} here, which contradicts {}",
                            super::eval::py_shape(&inferred),
                            super::eval::py_shape(&expected)
                        );
                        self.mismatch(f, range, expected, inferred, message, unpacking);
                        return;
                    }
                }
            }
        }
        f.state.set(
            name,
            Value::Array(ArrayValue {
                shape: Shape::Ranked(dims),
                dtype: current.dtype,
                is_scalar: current.is_scalar,
            }),
        );
    }

    fn mismatch(
        &mut self,
        f: &mut Frame,
        range: TextRange,
        expected: Shape,
        inferred: Shape,
        message: String,
        as_shape_error: bool,
    ) {
        let finding = if as_shape_error {
            Finding::ShapeError {
                range,
                error: ShapeError {
                    kind: ShapeErrorKind::Other,
                    message,
                },
            }
        } else {
            Finding::AnnotationMismatch {
                range,
                expected,
                inferred,
                message,
            }
        };
        self.record_finding(f, finding);
    }

    /// `n, d = x.shape`: `x` has exactly that many axes; axes of unknown size are named
    /// after their targets.
    pub fn learn_from_shape_unpack(&mut self, f: &mut Frame, elts: &'m [Expr], src: &'m Expr) {
        let Some((name, ShapePart::All)) = shape_subject(src) else {
            return;
        };
        if elts.iter().any(|e| matches!(e, Expr::Starred(_))) {
            return;
        }
        let Some(current) = self
            .array_of(f, name)
            .or_else(|| matches!(self.lookup(f, name), Value::Unknown).then(ArrayValue::unknown))
        else {
            return;
        };
        // Axes of unknown size take symbols named after their targets; known ones stay
        // (the assignment then binds the targets to them).
        let known: Vec<bool> = match current.shape.dims() {
            Some(d) if d.len() == elts.len() => d.iter().map(|d| d.expr().is_some()).collect(),
            _ => vec![false; elts.len()],
        };
        let mut sizes = Vec::with_capacity(elts.len());
        for (e, known) in elts.iter().zip(known) {
            if known {
                sizes.push(None);
                continue;
            }
            let (at, hint) = match e {
                Expr::Name(n) => (n.range.start(), n.id.as_str()),
                _ => (e.range().start(), "_"),
            };
            sizes.push(Some(DimExpr::sym(self.mint(f, at, hint))));
        }
        self.refine_array(f, name, Some(elts.len()), &sizes, src.range(), true);
    }

    /// `n = x.shape[k]` / `n = len(x)` where the axis was unknown: it is now `n`.
    pub fn learn_axis_source(&mut self, f: &mut Frame, src: &'m Expr, size: &DimExpr) {
        let Some((name, ShapePart::Axis(k))) = shape_subject(src) else {
            return;
        };
        let Some(a) = self.array_of(f, name) else {
            return;
        };
        let Some(rank) = a.shape.rank() else { return };
        let axis = if k < 0 { k + rank as i64 } else { k };
        if !(0..rank as i64).contains(&axis) {
            return;
        }
        let mut sizes = vec![None; rank];
        sizes[axis as usize] = Some(size.clone());
        self.refine_array(f, name, None, &sizes, src.range(), false);
    }
}

/// `x.shape` -> (x, All), `x.shape[k]` / `len(x)` -> (x, Axis(k)), `x.ndim` -> (x, Ndim).
fn shape_subject(e: &Expr) -> Option<(&str, ShapePart)> {
    match e {
        Expr::Attribute(a) => {
            let Expr::Name(n) = &*a.value else {
                return None;
            };
            match a.attr.id.as_str() {
                "shape" => Some((n.id.as_str(), ShapePart::All)),
                "ndim" => Some((n.id.as_str(), ShapePart::Ndim)),
                _ => None,
            }
        }
        Expr::Subscript(s) => {
            let (name, ShapePart::All) = shape_subject(&s.value)? else {
                return None;
            };
            let k = int_literal(&s.slice)?;
            Some((name, ShapePart::Axis(k)))
        }
        Expr::Call(c) => {
            let Expr::Name(func) = &*c.func else {
                return None;
            };
            match (func.id.as_str(), &*c.arguments.args) {
                ("len", [Expr::Name(n)]) if c.arguments.keywords.is_empty() => {
                    Some((n.id.as_str(), ShapePart::Axis(0)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn int_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64(),
            _ => None,
        },
        Expr::UnaryOp(u) if u.op == ast::UnaryOp::USub => int_literal(&u.operand)?.checked_neg(),
        _ => None,
    }
}

//! Expression evaluation for the walker: Python ints, tuples, lists and slices are modelled
//! here (sizes as `DimExpr`), names resolve through scopes and NumPy imports, and every
//! NumPy operation goes to the model in `numpy`.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::analysis::Finding;
use super::dim::{Dim, DimExpr};
use super::dtype::Dtype;
use super::facts::SizeFacts;
use super::numpy::{self, BinOp, CmpOp, ShapeError, ShapeErrorKind, UnaryOp};
use super::shape::Shape;
use super::state::join_value;
use super::value::{ArrayValue, Local, PyFloat, Value};
use super::walker::{Frame, Walker};

const MAX_EXPR_DEPTH: u32 = 120;
/// Longest tuple/list we build from `t * k`.
const MAX_REPEAT: i64 = 64;

impl<'m> Walker<'m> {
    pub fn eval(&mut self, f: &mut Frame, e: &'m Expr) -> Value {
        if f.depth > MAX_EXPR_DEPTH + 200 {
            return Value::Unknown;
        }
        f.depth += 1;
        let v = self.eval_inner(f, e);
        f.depth -= 1;
        v
    }

    /// Evaluates without recording findings (for re-reading an expression).
    pub fn eval_quiet(&mut self, f: &mut Frame, e: &'m Expr) -> Value {
        let record = f.record;
        f.record = false;
        let v = self.eval(f, e);
        f.record = record;
        v
    }

    fn eval_inner(&mut self, f: &mut Frame, e: &'m Expr) -> Value {
        match e {
            Expr::Name(n) => self.lookup(f, &n.id),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => Value::Int(i.as_i64().map(DimExpr::lit)),
                ast::Number::Float(x) => Value::Float(Some(PyFloat(*x))),
                ast::Number::Complex { .. } => Value::Complex,
            },
            Expr::BooleanLiteral(b) => Value::Bool(Some(b.value)),
            Expr::NoneLiteral(_) => Value::None,
            Expr::EllipsisLiteral(_) => Value::Ellipsis,
            Expr::StringLiteral(s) => Value::Str(s.value.to_str().to_string()),
            Expr::Tuple(t) => match self.eval_elements(f, &t.elts) {
                Some(items) => Value::Tuple(items),
                None => Value::Unknown,
            },
            Expr::List(l) => match self.eval_elements(f, &l.elts) {
                Some(items) => Value::List(items),
                None => Value::Unknown,
            },
            Expr::Slice(s) => {
                let mut part =
                    |p: &'m Option<Box<Expr>>, w: &mut Self| p.as_deref().map(|x| w.eval(f, x));
                let lo = part(&s.lower, self);
                let hi = part(&s.upper, self);
                let step = part(&s.step, self);
                Value::Slice(Box::new([lo, hi, step]))
            }
            Expr::Attribute(a) => {
                let recv = self.eval(f, &a.value);
                self.attribute(f, a.range, &recv, &a.attr.id)
            }
            Expr::Subscript(s) => self.eval_subscript(f, s),
            Expr::Call(c) => self.eval_call(f, c),
            Expr::BinOp(b) => {
                let l = self.eval(f, &b.left);
                let r = self.eval(f, &b.right);
                match bin_op(b.op) {
                    Some(op) => self.binary(f, b.range, op, &l, &r),
                    None => Value::Unknown,
                }
            }
            Expr::UnaryOp(u) => {
                let v = self.eval(f, &u.operand);
                self.unary(f, u.range, u.op, &v)
            }
            Expr::Compare(c) => {
                let left = self.eval(f, &c.left);
                let mut values = vec![left];
                for x in c.comparators.iter() {
                    values.push(self.eval(f, x));
                }
                match (&*c.ops, values.as_slice()) {
                    ([op], [l, r]) => self.compare(f, c.range, *op, l, r),
                    _ => Value::Unknown,
                }
            }
            Expr::BoolOp(b) => {
                let vals: Vec<Value> = b.values.iter().map(|v| self.eval(f, v)).collect();
                if vals.iter().all(|v| matches!(v, Value::Bool(_))) {
                    Value::Bool(None)
                } else {
                    Value::Unknown
                }
            }
            Expr::If(i) => {
                let test = self.eval(f, &i.test);
                match super::walker::truthiness(&test) {
                    Some(true) => return self.eval(f, &i.body),
                    Some(false) => return self.eval(f, &i.orelse),
                    None => {}
                }
                let a = self.eval(f, &i.body);
                let b = self.eval(f, &i.orelse);
                join_value(&a, &b, &f.state.facts, &f.state.facts)
            }
            Expr::Named(n) => {
                let v = self.eval(f, &n.value);
                self.assign(f, &n.target, v.clone(), None);
                v
            }
            Expr::Starred(s) => {
                self.eval(f, &s.value);
                Value::Unknown
            }
            Expr::Dict(d) => {
                for item in &d.items {
                    if let Some(k) = &item.key {
                        self.eval(f, k);
                    }
                    self.eval(f, &item.value);
                }
                Value::Unknown
            }
            Expr::Set(s) => {
                for x in &s.elts {
                    self.eval(f, x);
                }
                Value::Unknown
            }
            Expr::Await(a) => {
                self.eval(f, &a.value);
                Value::Unknown
            }
            // Comprehension bodies run in their own scope with unknown loop variables;
            // nothing they compute is recorded, but a walrus inside binds out here.
            // A call inside may mutate a list the comprehension names.
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                for name in super::syntax::walrus_targets(e) {
                    f.state.vars.remove(name.as_str());
                }
                if f.state.vars.values().any(contains_list) {
                    let (names, calls) = super::syntax::comprehension_names(e);
                    if calls
                        && names
                            .iter()
                            .any(|n| f.state.get(n).is_some_and(contains_list))
                    {
                        forget_lists(f);
                    }
                }
                Value::Unknown
            }
            Expr::Lambda(_)
            | Expr::Yield(_)
            | Expr::YieldFrom(_)
            | Expr::FString(_)
            | Expr::TString(_)
            | Expr::BytesLiteral(_)
            | Expr::IpyEscapeCommand(_) => Value::Unknown,
        }
    }

    /// Tuple/list elements, `*xs` expanded when `xs` is a known tuple or list.
    fn eval_elements(&mut self, f: &mut Frame, elts: &'m [Expr]) -> Option<Vec<Value>> {
        let mut out = Vec::with_capacity(elts.len());
        let mut known = true;
        for x in elts {
            match x {
                Expr::Starred(s) => match self.eval(f, &s.value) {
                    Value::Tuple(items) | Value::List(items) => out.extend(items),
                    _ => known = false,
                },
                _ => out.push(self.eval(f, x)),
            }
        }
        known.then_some(out)
    }

    pub fn eval_subscript(&mut self, f: &mut Frame, s: &'m ast::ExprSubscript) -> Value {
        let base = self.eval(f, &s.value);
        let index = self.eval(f, &s.slice);
        if let (Expr::Attribute(attr), Value::Unknown) = (&*s.value, &base) {
            if attr.attr.id.as_str() == "shape" {
                if let Some(size) = self.trailing_size(f, &attr.value, &index) {
                    return size;
                }
            }
        }
        match &base {
            Value::Array(a) => {
                let a = a.clone();
                self.model(f, s.range, |ctx| numpy::subscript(ctx, &a, &index))
            }
            Value::Tuple(items) | Value::List(items) => {
                let is_tuple = matches!(base, Value::Tuple(_));
                match &index {
                    Value::Int(Some(i)) => match i.as_lit() {
                        Some(i) => {
                            let n = items.len() as i64;
                            let k = if i < 0 { i + n } else { i };
                            if (0..n).contains(&k) {
                                items[k as usize].clone()
                            } else {
                                Value::Unknown
                            }
                        }
                        None => Value::Unknown,
                    },
                    Value::Slice(parts) => match slice_items(items, parts) {
                        Some(sub) if is_tuple => Value::Tuple(sub),
                        Some(sub) => Value::List(sub),
                        None => Value::Unknown,
                    },
                    _ => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }

    /// `x.shape[-1]` of a variadic `[*batch, n, d]`: the known trailing size (`d`).
    fn trailing_size(&mut self, f: &mut Frame, array: &'m Expr, index: &Value) -> Option<Value> {
        let Value::Array(a) = self.eval_quiet(f, array) else {
            return None;
        };
        let (_, dims) = a.shape.variadic()?;
        let k = match index {
            Value::Int(Some(e)) => e.as_lit()?,
            _ => return None,
        };
        let from_end = usize::try_from(k.checked_neg()?).ok()?;
        let at = dims.len().checked_sub(from_end)?;
        (from_end > 0).then(|| Value::Int(dims.get(at).and_then(|d| d.expr().cloned())))
    }

    fn attribute(&mut self, f: &mut Frame, range: TextRange, recv: &Value, name: &str) -> Value {
        match recv {
            Value::NumpyRef(path) => numpy_attribute(path, name),
            Value::Array(a) => {
                let a = a.clone();
                self.model(f, range, |ctx| numpy::attribute(ctx, &a, name))
            }
            Value::Local(Local::Instance { class, attrs }) => {
                if let Some((_, v)) = attrs.iter().find(|(k, _)| k == name) {
                    return v.clone();
                }
                self.instance_member(f, *class, recv, name)
            }
            Value::Local(Local::Module(module)) => self.module_attribute(module, name),
            _ => Value::Unknown,
        }
    }

    fn eval_call(&mut self, f: &mut Frame, call: &'m ast::ExprCall) -> Value {
        let range = call.range();
        // Evaluate the callee first (as Python does), then the arguments.
        let (recv, callee) = match &*call.func {
            Expr::Attribute(a) => {
                let recv = self.eval(f, &a.value);
                let callee = match &recv {
                    Value::Array(_) | Value::RandomGenerator => Value::Unknown,
                    _ => self.attribute(f, a.range, &recv, &a.attr.id),
                };
                (Some((recv, a.attr.id.as_str())), callee)
            }
            Expr::Name(n) if self.is_builtin(f, &n.id) => {
                let (args, kwargs, opaque) = self.eval_arguments(f, &call.arguments);
                // These may call back into code that mutates the lists they get.
                if matches!(
                    n.id.as_str(),
                    "map" | "filter" | "getattr" | "next" | "iter"
                ) && (args.iter().any(|(v, _)| contains_list(v))
                    || kwargs.iter().any(|(_, v, _)| contains_list(v)))
                {
                    forget_lists(f);
                }
                if opaque {
                    return Value::Unknown;
                }
                if let ("len", [Expr::Name(x)], [(Value::Array(a), _)]) =
                    (n.id.as_str(), &*call.arguments.args, args.as_slice())
                {
                    if let Some(size) = self.name_first_axis(f, range, &x.id, a) {
                        return Value::Int(Some(size));
                    }
                }
                return self.builtin_call(f, range, &n.id, &args);
            }
            func => (None, self.eval(f, func)),
        };
        let (args, kwargs, opaque) = self.eval_arguments(f, &call.arguments);
        // Lists are mutable and may be aliased: a call that is not NumPy's may change any
        // list it can reach (`xs.append(a)`, `helper(xs)`), so forget every known list.
        let numpy_call = matches!(callee, Value::NumpyRef(_) | Value::DtypeObj(_))
            || matches!(&recv, Some((Value::Array(_) | Value::RandomGenerator, _)));
        if !numpy_call
            && (recv.as_ref().is_some_and(|(r, _)| contains_list(r))
                || args.iter().any(|(v, _)| contains_list(v))
                || kwargs.iter().any(|(_, v, _)| contains_list(v)))
        {
            forget_lists(f);
        }
        if opaque {
            return Value::Unknown;
        }
        let arg_values: Vec<Value> = args.iter().map(|(v, _)| v.clone()).collect();
        let kw_values: Vec<(&str, Value)> =
            kwargs.iter().map(|(k, v, _)| (*k, v.clone())).collect();
        if let Some((recv @ (Value::Array(_) | Value::RandomGenerator), name)) = &recv {
            let out = self.model(f, range, |ctx| {
                numpy::method(ctx, recv, name, &arg_values, &kw_values)
            });
            // `a.resize(...)` changes `a`'s shape in place.
            if let (Expr::Attribute(a), "resize") = (&*call.func, *name) {
                if let Expr::Name(n) = &*a.value {
                    f.state.vars.remove(n.id.as_str());
                }
            }
            return out;
        }
        match callee {
            Value::NumpyRef(path) => self.model(f, range, |ctx| {
                numpy::call(ctx, &path, &arg_values, &kw_values)
            }),
            Value::DtypeObj(d) => dtype_call(self, f, range, d, &arg_values),
            Value::Local(Local::Function(id)) => self.call_function(f, id, None, &args, &kwargs),
            Value::Local(Local::BoundMethod { function, recv }) => {
                self.call_function(f, function, Some(*recv), &args, &kwargs)
            }
            Value::Local(Local::Class(c)) => self.construct(f, c, &args, &kwargs),
            Value::Local(Local::External { module, function }) => {
                self.call_external(f, &module, &function, &args, &kwargs)
            }
            _ => Value::Unknown,
        }
    }

    /// Positional and keyword arguments with their ranges; `opaque` when `*xs`/`**kw`
    /// hide what is passed.
    #[allow(clippy::type_complexity)]
    fn eval_arguments(
        &mut self,
        f: &mut Frame,
        arguments: &'m ast::Arguments,
    ) -> (
        Vec<(Value, TextRange)>,
        Vec<(&'m str, Value, TextRange)>,
        bool,
    ) {
        let mut opaque = false;
        let mut args = Vec::with_capacity(arguments.args.len());
        for a in arguments.args.iter() {
            match a {
                Expr::Starred(s) => match self.eval(f, &s.value) {
                    Value::Tuple(items) | Value::List(items) => {
                        args.extend(items.into_iter().map(|v| (v, s.range)))
                    }
                    _ => opaque = true,
                },
                _ => args.push((self.eval(f, a), a.range())),
            }
        }
        let mut kwargs = Vec::with_capacity(arguments.keywords.len());
        for k in arguments.keywords.iter() {
            let v = self.eval(f, &k.value);
            match &k.arg {
                Some(name) => kwargs.push((name.id.as_str(), v, k.range)),
                None => opaque = true,
            }
        }
        (args, kwargs, opaque)
    }

    /// A Python builtin not shadowed in this scope.
    fn is_builtin(&self, f: &Frame, name: &str) -> bool {
        BUILTIN_CALLS.contains(&name)
            && f.state.get(name).is_none()
            && !self.globals.contains_key(name)
            && f.function.is_none_or(|id| {
                self.functions
                    .get(id as usize)
                    .is_none_or(|info| !info.locals.contains(name))
            })
            && !self.single_globals.contains(name)
            && !self.enclosing_binds(f.function, name)
    }

    /// `len(x)` where the size of `x`'s first axis is not known: a fresh size that names
    /// it from here on, so later tests and uses agree with it. An axis of known rank takes
    /// it at once; an array of unknown rank keeps it (`lens`) until its rank is learned.
    fn name_first_axis(
        &mut self,
        f: &mut Frame,
        range: TextRange,
        name: &str,
        a: &ArrayValue,
    ) -> Option<DimExpr> {
        if a.is_scalar {
            return None;
        }
        match &a.shape {
            Shape::Ranked(dims) if matches!(dims.first(), Some(Dim::Unknown)) => {
                let size = DimExpr::sym(self.mint(f, range.start(), "_"));
                let mut named = a.clone();
                if let Shape::Ranked(d) = &mut named.shape {
                    d[0] = Dim::Known(size.clone());
                }
                f.state.set(name, Value::Array(named));
                Some(size)
            }
            Shape::Unranked => {
                if let Some(size) = f.state.lens.get(name) {
                    return Some(size.clone());
                }
                let size = DimExpr::sym(self.mint(f, range.start(), "_"));
                f.state.lens.insert(name.into(), size.clone());
                Some(size)
            }
            _ => None,
        }
    }

    fn builtin_call(
        &mut self,
        f: &mut Frame,
        range: TextRange,
        name: &str,
        args: &[(Value, TextRange)],
    ) -> Value {
        let first = args.first().map(|(v, _)| v);
        match (name, first) {
            ("len", Some(Value::Array(a))) => match a.shape.dims() {
                Some([d, ..]) => Value::Int(d.expr().cloned()),
                Some([]) => {
                    self.record_finding(
                        f,
                        Finding::ShapeError {
                            range,
                            error: ShapeError {
                                kind: ShapeErrorKind::Other,
                                message: "len() of unsized object (a 0-d array)".into(),
                            },
                        },
                    );
                    Value::Unknown
                }
                None => Value::Int(None),
            },
            ("len", Some(Value::Tuple(items) | Value::List(items))) => {
                Value::Int(Some(DimExpr::lit(items.len() as i64)))
            }
            ("len", _) => Value::Int(None),
            ("int", Some(Value::Int(e))) => Value::Int(e.clone()),
            ("int", _) => Value::Int(None),
            ("float", Some(v)) => Value::Float(float_of(v).flatten().map(PyFloat)),
            ("float", None) => Value::Float(Some(PyFloat(0.0))),
            ("complex", _) => Value::Complex,
            ("bool", _) => Value::Bool(None),
            ("abs", Some(v @ Value::Array(_))) => {
                let v = v.clone();
                self.model(f, range, |ctx| numpy::call(ctx, "absolute", &[v], &[]))
            }
            ("abs", Some(Value::Int(Some(e)))) => match e.as_lit() {
                Some(x) => Value::Int(x.checked_abs().map(DimExpr::lit)),
                None => Value::Int(None),
            },
            ("tuple", Some(Value::Tuple(items) | Value::List(items))) => {
                Value::Tuple(items.clone())
            }
            ("list", Some(Value::Tuple(items) | Value::List(items))) => Value::List(items.clone()),
            ("min" | "max", Some(_)) if args.len() >= 2 => {
                let lits: Option<Vec<i64>> = args
                    .iter()
                    .map(|(v, _)| match v {
                        Value::Int(Some(e)) => e.as_lit(),
                        _ => None,
                    })
                    .collect();
                match lits {
                    Some(l) if name == "min" => Value::Int(l.into_iter().min().map(DimExpr::lit)),
                    Some(l) => Value::Int(l.into_iter().max().map(DimExpr::lit)),
                    None if args.iter().all(|(v, _)| matches!(v, Value::Int(_))) => {
                        Value::Int(None)
                    }
                    None => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }

    pub fn binary(
        &mut self,
        f: &mut Frame,
        range: TextRange,
        op: BinOp,
        l: &Value,
        r: &Value,
    ) -> Value {
        if matches!(l, Value::Array(_)) || matches!(r, Value::Array(_)) {
            return self.model(f, range, |ctx| numpy::binary(ctx, op, l, r));
        }
        match (l, r) {
            (Value::Int(a), Value::Int(b)) => int_binary(op, a.as_ref(), b.as_ref()),
            (Value::Int(_) | Value::Float(_) | Value::Bool(_), Value::Float(_))
            | (Value::Float(_), Value::Int(_) | Value::Bool(_)) => {
                float_binary(op, float_of(l).flatten(), float_of(r).flatten())
            }
            (Value::Tuple(a), Value::Tuple(b)) if op == BinOp::Add => {
                Value::Tuple(a.iter().chain(b).cloned().collect())
            }
            (Value::List(a), Value::List(b)) if op == BinOp::Add => {
                Value::List(a.iter().chain(b).cloned().collect())
            }
            (Value::Tuple(items), Value::Int(Some(k)))
            | (Value::Int(Some(k)), Value::Tuple(items))
                if op == BinOp::Mul =>
            {
                repeat(items, k).map_or(Value::Unknown, Value::Tuple)
            }
            (Value::List(items), Value::Int(Some(k)))
            | (Value::Int(Some(k)), Value::List(items))
                if op == BinOp::Mul =>
            {
                repeat(items, k).map_or(Value::Unknown, Value::List)
            }
            _ => Value::Unknown,
        }
    }

    fn unary(&mut self, f: &mut Frame, range: TextRange, op: ast::UnaryOp, v: &Value) -> Value {
        let op = match op {
            ast::UnaryOp::USub => UnaryOp::Neg,
            ast::UnaryOp::UAdd => UnaryOp::Pos,
            ast::UnaryOp::Invert => UnaryOp::Invert,
            ast::UnaryOp::Not => UnaryOp::Not,
        };
        match v {
            Value::Array(_) if op != UnaryOp::Not => {
                self.model(f, range, |ctx| numpy::unary(ctx, op, v))
            }
            Value::Int(e) => match op {
                UnaryOp::Neg => Value::Int(e.as_ref().and_then(|e| e.checked_scale(-1))),
                UnaryOp::Pos => Value::Int(e.clone()),
                UnaryOp::Invert => Value::Int(
                    e.as_ref()
                        .and_then(|e| e.as_lit())
                        .map(|x| DimExpr::lit(!x)),
                ),
                UnaryOp::Not => Value::Bool(None),
            },
            Value::Float(x) => match op {
                UnaryOp::Neg => Value::Float(x.map(|x| PyFloat(-x.0))),
                UnaryOp::Pos => Value::Float(*x),
                UnaryOp::Not => Value::Bool(x.map(|x| x.0 == 0.0)),
                UnaryOp::Invert => Value::Unknown,
            },
            Value::Bool(b) if op == UnaryOp::Not => Value::Bool(b.map(|b| !b)),
            _ if op == UnaryOp::Not => Value::Bool(None),
            _ => Value::Unknown,
        }
    }

    fn compare(
        &mut self,
        f: &mut Frame,
        range: TextRange,
        op: ast::CmpOp,
        l: &Value,
        r: &Value,
    ) -> Value {
        let op = match op {
            ast::CmpOp::Eq => CmpOp::Eq,
            ast::CmpOp::NotEq => CmpOp::NotEq,
            ast::CmpOp::Lt => CmpOp::Lt,
            ast::CmpOp::LtE => CmpOp::LtE,
            ast::CmpOp::Gt => CmpOp::Gt,
            ast::CmpOp::GtE => CmpOp::GtE,
            ast::CmpOp::Is | ast::CmpOp::IsNot => {
                let same = identity_with_none(l, r);
                return Value::Bool(if op == ast::CmpOp::Is {
                    same
                } else {
                    same.map(|b| !b)
                });
            }
            ast::CmpOp::In | ast::CmpOp::NotIn => return Value::Bool(None),
        };
        if matches!(l, Value::Array(_)) || matches!(r, Value::Array(_)) {
            return self.model(f, range, |ctx| numpy::compare(ctx, op, l, r));
        }
        match (l, r) {
            (Value::Int(Some(a)), Value::Int(Some(b))) => {
                let known = f.state.facts.same(a, b);
                let lits = a.as_lit().zip(b.as_lit());
                Value::Bool(match op {
                    CmpOp::Eq => known,
                    CmpOp::NotEq => known.map(|k| !k),
                    CmpOp::Lt => lits.map(|(a, b)| a < b),
                    CmpOp::LtE => lits.map(|(a, b)| a <= b),
                    CmpOp::Gt => lits.map(|(a, b)| a > b),
                    CmpOp::GtE => lits.map(|(a, b)| a >= b),
                })
            }
            (
                Value::Int(_) | Value::Float(_) | Value::Bool(_),
                Value::Int(_) | Value::Float(_) | Value::Bool(_),
            ) => Value::Bool(None),
            (Value::Tuple(_), Value::Tuple(_)) => Value::Bool(None),
            _ => Value::Unknown,
        }
    }

    /// `x op= y` on an array keeps `x`'s shape: NumPy raises when the broadcast result
    /// would be larger.
    pub fn check_in_place(
        &mut self,
        f: &mut Frame,
        range: TextRange,
        target: &ArrayValue,
        result: &ArrayValue,
    ) {
        let (Some(t), Some(r)) = (target.shape.dims(), result.shape.dims()) else {
            return;
        };
        let definitely_larger = r.len() > t.len()
            || t.iter()
                .rev()
                .zip(r.iter().rev())
                .any(|(a, b)| match (a, b) {
                    (Dim::Known(a), Dim::Known(b)) => f.state.facts.same(a, b) == Some(false),
                    _ => false,
                });
        if definitely_larger {
            self.record_finding(
                f,
                Finding::ShapeError {
                    range,
                    error: ShapeError {
                        kind: ShapeErrorKind::Broadcast,
                        message: format!(
                            "non-broadcastable output operand with shape {} doesn't match the broadcast shape {}",
                            py_shape(&target.shape),
                            py_shape(&result.shape)
                        ),
                    },
                },
            );
        }
    }

    /// The value one iteration of `for x in <iter>` binds.
    pub fn element_of(&mut self, f: &mut Frame, iter: &'m Expr, value: &Value) -> Value {
        if let Expr::Call(c) = iter {
            if let Expr::Name(n) = &*c.func {
                if self.is_builtin(f, &n.id) || matches!(n.id.as_str(), "enumerate" | "zip") {
                    let shadowed = f.state.get(&n.id).is_some();
                    let args = &c.arguments.args;
                    match n.id.as_str() {
                        "range" if !shadowed => return Value::Int(None),
                        "enumerate"
                            if !shadowed
                                && c.arguments.keywords.is_empty()
                                && matches!(&**args, [a] if !a.is_starred_expr()) =>
                        {
                            let inner = &args[0];
                            let v = self.eval_quiet(f, inner);
                            let elem = self.element_of(f, inner, &v);
                            return Value::Tuple(vec![Value::Int(None), elem]);
                        }
                        "zip"
                            if !shadowed
                                && c.arguments.keywords.iter().all(|k| {
                                    k.arg.as_ref().is_some_and(|a| a.as_str() == "strict")
                                }) =>
                        {
                            // One element per iterable; `*xs` adds one per item of `xs`,
                            // and an `xs` of unknown length leaves the element's length
                            // unknown.
                            let mut elems = Vec::new();
                            for a in args.iter() {
                                if let Expr::Starred(s) = a {
                                    match self.eval_quiet(f, &s.value) {
                                        Value::Tuple(items) | Value::List(items) => {
                                            for item in &items {
                                                elems.push(self.element_value(f, item));
                                            }
                                        }
                                        _ => return Value::Unknown,
                                    }
                                } else {
                                    let v = self.eval_quiet(f, a);
                                    elems.push(self.element_of(f, a, &v));
                                }
                            }
                            return Value::Tuple(elems);
                        }
                        _ => {}
                    }
                }
            }
        }
        self.element_value(f, value)
    }

    /// The value one iteration over `value` binds, from the value alone.
    fn element_value(&mut self, f: &mut Frame, value: &Value) -> Value {
        match value {
            Value::Array(a) if a.shape.rank().is_some_and(|r| r >= 1) => {
                let a = a.clone();
                let mut ctx = numpy::Ctx {
                    facts: &mut f.state.facts,
                    version: self.options.numpy_version,
                    fresh_counter: &mut self.fresh,
                };
                let out = numpy::subscript(&mut ctx, &a, &Value::Int(None));
                if out.error.is_some() {
                    Value::Unknown
                } else {
                    out.value
                }
            }
            Value::Tuple(items) | Value::List(items) => {
                let facts = SizeFacts::default();
                let mut it = items.iter();
                match it.next() {
                    Some(first) => {
                        it.fold(first.clone(), |acc, v| join_value(&acc, v, &facts, &facts))
                    }
                    None => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }
}

/// `l is r` when one side is `None` and the other is known to be or not to be `None`.
fn identity_with_none(l: &Value, r: &Value) -> Option<bool> {
    let other = match (l, r) {
        (Value::None, o) | (o, Value::None) => o,
        _ => return None,
    };
    match other {
        Value::None => Some(true),
        Value::Unknown => None,
        _ => Some(false),
    }
}

/// True when a value is or holds a (mutable) list.
pub(crate) fn contains_list(v: &Value) -> bool {
    match v {
        Value::List(_) => true,
        Value::Tuple(items) => items.iter().any(contains_list),
        Value::Local(Local::Instance { attrs, .. }) => attrs.iter().any(|(_, v)| contains_list(v)),
        Value::Local(Local::BoundMethod { recv, .. }) => contains_list(recv),
        _ => false,
    }
}

/// Forgets every list the frame knows (after something may have mutated one of them).
pub(crate) fn forget_lists(f: &mut Frame) {
    f.state.vars.retain(|_, v| !contains_list(v));
}

const BUILTIN_CALLS: &[&str] = &[
    "len",
    "int",
    "float",
    "complex",
    "bool",
    "abs",
    "tuple",
    "list",
    "min",
    "max",
    "range",
    "enumerate",
    "zip",
    "print",
    "isinstance",
    "sum",
    "round",
    "sorted",
    "reversed",
    "map",
    "filter",
    "str",
    "repr",
    "type",
    "getattr",
    "hasattr",
    "iter",
    "next",
    "any",
    "all",
    "dict",
    "set",
];

/// The value of a builtin name used as a value (`dtype=float`).
pub(crate) fn builtin_value(name: &str) -> Value {
    match name {
        "float" => Value::DtypeObj(Dtype::Float64),
        "int" => Value::DtypeObj(Dtype::Int64),
        "complex" => Value::DtypeObj(Dtype::Complex128),
        "bool" => Value::DtypeObj(Dtype::Bool),
        _ => Value::Unknown,
    }
}

/// `np.<name>` under a NumPy path: constants, dtypes, or a deeper reference.
pub(crate) fn numpy_attribute(path: &str, name: &str) -> Value {
    if path.is_empty() {
        match name {
            "newaxis" => return Value::None,
            "pi" => return Value::Float(Some(PyFloat(std::f64::consts::PI))),
            "e" => return Value::Float(Some(PyFloat(std::f64::consts::E))),
            "euler_gamma" => return Value::Float(Some(PyFloat(0.5772156649015329))),
            "inf" | "Inf" | "PINF" => return Value::Float(Some(PyFloat(f64::INFINITY))),
            "NINF" => return Value::Float(Some(PyFloat(f64::NEG_INFINITY))),
            "nan" | "NaN" => return Value::Float(Some(PyFloat(f64::NAN))),
            _ => {}
        }
        if let Some(d) = numpy_dtype_name(name) {
            return Value::DtypeObj(d);
        }
        return Value::NumpyRef(name.to_string());
    }
    Value::NumpyRef(format!("{path}.{name}"))
}

/// The scalar types NumPy exports under these names.
fn numpy_dtype_name(name: &str) -> Option<Dtype> {
    Dtype::from_name(name).or(match name {
        "bool_" => Some(Dtype::Bool),
        "double" | "float_" => Some(Dtype::Float64),
        "single" => Some(Dtype::Float32),
        "half" => Some(Dtype::Float16),
        "int_" | "intp" | "longlong" => Some(Dtype::Int64),
        "intc" => Some(Dtype::Int32),
        "short" => Some(Dtype::Int16),
        "byte" => Some(Dtype::Int8),
        "uint" | "uintp" | "ulonglong" => Some(Dtype::UInt64),
        "uintc" => Some(Dtype::UInt32),
        "ushort" => Some(Dtype::UInt16),
        "ubyte" => Some(Dtype::UInt8),
        "cdouble" | "complex_" => Some(Dtype::Complex128),
        "csingle" => Some(Dtype::Complex64),
        _ => None,
    })
}

/// `np.float32(x)`: a scalar of that type, or an array cast to it.
fn dtype_call(w: &mut Walker, f: &mut Frame, range: TextRange, d: Dtype, args: &[Value]) -> Value {
    match args {
        []
        | [Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Complex | Value::Str(_)] => {
            Value::Array(ArrayValue::scalar(Some(d)))
        }
        [v @ Value::Array(a)] if a.is_scalar => {
            let _ = v;
            Value::Array(ArrayValue::scalar(Some(d)))
        }
        [v @ (Value::Array(_) | Value::List(_) | Value::Tuple(_))] => {
            let v = v.clone();
            w.model(f, range, |ctx| {
                numpy::call(ctx, "asarray", &[v], &[("dtype", Value::DtypeObj(d))])
            })
        }
        _ => Value::Unknown,
    }
}

pub(crate) fn bin_op(op: ast::Operator) -> Option<BinOp> {
    Some(match op {
        ast::Operator::Add => BinOp::Add,
        ast::Operator::Sub => BinOp::Sub,
        ast::Operator::Mult => BinOp::Mul,
        ast::Operator::MatMult => BinOp::MatMul,
        ast::Operator::Div => BinOp::Div,
        ast::Operator::Mod => BinOp::Mod,
        ast::Operator::Pow => BinOp::Pow,
        ast::Operator::LShift => BinOp::LShift,
        ast::Operator::RShift => BinOp::RShift,
        ast::Operator::BitOr => BinOp::BitOr,
        ast::Operator::BitXor => BinOp::BitXor,
        ast::Operator::BitAnd => BinOp::BitAnd,
        ast::Operator::FloorDiv => BinOp::FloorDiv,
    })
}

/// Python `int op int`, exact: affine results stay symbolic, others need literals.
fn int_binary(op: BinOp, a: Option<&DimExpr>, b: Option<&DimExpr>) -> Value {
    let (Some(a), Some(b)) = (a, b) else {
        return match op {
            BinOp::Div => Value::Float(None),
            BinOp::MatMul => Value::Unknown,
            // `2 ** -1` is a float: the exponent's sign decides.
            BinOp::Pow if b.and_then(DimExpr::as_lit).is_none_or(|y| y < 0) => Value::Unknown,
            _ => Value::Int(None),
        };
    };
    let lits = a.as_lit().zip(b.as_lit());
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div => {
            return match lits {
                Some((_, 0)) => Value::Unknown,
                Some((x, y)) => {
                    float_binary(op, PyFloat::from_exact_int(x), PyFloat::from_exact_int(y))
                }
                None => Value::Float(None),
            }
        }
        BinOp::MatMul => return Value::Unknown,
        BinOp::Pow if lits.is_some_and(|(_, y)| y < 0) => return Value::Float(None),
        BinOp::FloorDiv => lits.and_then(floor_div).map(DimExpr::lit),
        BinOp::Mod => lits.and_then(|(x, y)| py_mod(x, y)).map(DimExpr::lit),
        BinOp::Pow => lits
            .and_then(|(x, y)| u32::try_from(y).ok().and_then(|y| x.checked_pow(y)))
            .map(DimExpr::lit),
        BinOp::BitAnd => lits.map(|(x, y)| DimExpr::lit(x & y)),
        BinOp::BitOr => lits.map(|(x, y)| DimExpr::lit(x | y)),
        BinOp::BitXor => lits.map(|(x, y)| DimExpr::lit(x ^ y)),
        BinOp::LShift => lits
            .and_then(|(x, y)| {
                u32::try_from(y)
                    .ok()
                    .filter(|y| *y < 63)
                    .and_then(|y| x.checked_mul(1i64 << y))
            })
            .map(DimExpr::lit),
        BinOp::RShift => lits
            .and_then(|(x, y)| u32::try_from(y).ok().map(|y| x >> y.min(63)))
            .map(DimExpr::lit),
    };
    Value::Int(r)
}

/// A Python int, bool or float as a float: `None` when not a number, `Some(None)` when a
/// number of unknown value. Ints beyond 2**53 convert inexactly and give no value.
pub(crate) fn float_of(v: &Value) -> Option<Option<f64>> {
    match v {
        Value::Float(x) => Some(x.map(|x| x.0)),
        Value::Int(e) => Some(
            e.as_ref()
                .and_then(DimExpr::as_lit)
                .and_then(PyFloat::from_exact_int),
        ),
        Value::Bool(b) => Some(b.map(|b| f64::from(u8::from(b)))),
        _ => None,
    }
}

/// Python float arithmetic (IEEE 754 double, as Python computes it) where it is exact to
/// model; `//`, `%` and `**` keep only the type. Division by zero raises: unknown.
fn float_binary(op: BinOp, a: Option<f64>, b: Option<f64>) -> Value {
    let value = |x: f64| Value::Float(Some(PyFloat(x)));
    if matches!(op, BinOp::Div | BinOp::FloorDiv | BinOp::Mod) && b == Some(0.0) {
        return Value::Unknown;
    }
    match (op, a, b) {
        (BinOp::Add, Some(x), Some(y)) => value(x + y),
        (BinOp::Sub, Some(x), Some(y)) => value(x - y),
        (BinOp::Mul, Some(x), Some(y)) => value(x * y),
        (BinOp::Div, Some(x), Some(y)) => value(x / y),
        (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Mod, ..) => {
            Value::Float(None)
        }
        // A negative base to a fractional power is complex in Python.
        (BinOp::Pow, Some(x), Some(y)) if x < 0.0 && y.is_finite() && y.fract() != 0.0 => {
            Value::Complex
        }
        (BinOp::Pow, Some(x), _) if x >= 0.0 => Value::Float(None),
        (BinOp::Pow, _, Some(y)) if y.fract() == 0.0 => Value::Float(None),
        _ => Value::Unknown,
    }
}

/// Python's floor division (rounds toward negative infinity).
fn floor_div((x, y): (i64, i64)) -> Option<i64> {
    if y == 0 {
        return None;
    }
    let q = x.checked_div(y)?;
    let r = x.checked_rem(y)?;
    Some(if r != 0 && ((r < 0) != (y < 0)) {
        q - 1
    } else {
        q
    })
}

/// Python's `%` (result has the sign of the divisor).
fn py_mod(x: i64, y: i64) -> Option<i64> {
    if y == 0 {
        return None;
    }
    let r = x.checked_rem(y)?;
    Some(if r != 0 && ((r < 0) != (y < 0)) {
        r + y
    } else {
        r
    })
}

fn repeat(items: &[Value], k: &DimExpr) -> Option<Vec<Value>> {
    let k = k.as_lit()?.max(0);
    if k > MAX_REPEAT || (items.len() as i64).saturating_mul(k) > MAX_REPEAT * 4 {
        return None;
    }
    let mut out = Vec::new();
    for _ in 0..k {
        out.extend(items.iter().cloned());
    }
    Some(out)
}

/// Python slicing of a fixed-length sequence with literal bounds.
fn slice_items(items: &[Value], parts: &[Option<Value>; 3]) -> Option<Vec<Value>> {
    let lit = |p: &Option<Value>| -> Option<Option<i64>> {
        match p {
            None | Some(Value::None) => Some(None),
            Some(Value::Int(Some(e))) => e.as_lit().map(Some),
            _ => None,
        }
    };
    let (lo, hi, step) = (lit(&parts[0])?, lit(&parts[1])?, lit(&parts[2])?);
    let n = items.len() as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let clamp = |v: i64, lo_b: i64, hi_b: i64| v.clamp(lo_b, hi_b);
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let start = lo.map_or(0, |v| clamp(norm(v), 0, n));
        let stop = hi.map_or(n, |v| clamp(norm(v), 0, n));
        let mut i = start;
        while i < stop {
            out.push(items[i as usize].clone());
            i += step;
        }
    } else {
        let start = lo.map_or(n - 1, |v| clamp(norm(v), -1, n - 1));
        let stop = hi.map_or(-1, |v| clamp(norm(v), -1, n - 1));
        let mut i = start;
        while i > stop {
            out.push(items[i as usize].clone());
            i += step;
        }
    }
    Some(out)
}

/// A shape as Python prints it: `(3, 4)`, `(5,)`, `()`.
pub(crate) fn py_shape(shape: &Shape) -> String {
    if let Some((group, dims)) = shape.variadic() {
        let mut parts = vec![super::shape::group_label(group)];
        parts.extend(dims.iter().map(|d| d.to_string()));
        return format!("({})", parts.join(", "));
    }
    match shape.dims() {
        None => "(...)".to_string(),
        Some([d]) => format!("({d},)"),
        Some(dims) => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_integer_semantics() {
        let l = |x| Some(DimExpr::lit(x));
        assert_eq!(
            int_binary(BinOp::FloorDiv, l(-7).as_ref(), l(2).as_ref()),
            Value::Int(l(-4))
        );
        assert_eq!(
            int_binary(BinOp::Mod, l(-7).as_ref(), l(2).as_ref()),
            Value::Int(l(1))
        );
        assert_eq!(
            int_binary(BinOp::FloorDiv, l(7).as_ref(), l(0).as_ref()),
            Value::Int(None)
        );
        assert_eq!(
            int_binary(BinOp::Pow, l(2).as_ref(), l(10).as_ref()),
            Value::Int(l(1024))
        );
    }

    #[test]
    fn sequence_slicing() {
        let items: Vec<Value> = (0..5).map(|i| Value::Int(Some(DimExpr::lit(i)))).collect();
        let int = |x| Some(Value::Int(Some(DimExpr::lit(x))));
        let got = slice_items(&items, &[None, None, int(-1)]).unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], items[4]);
        let got = slice_items(&items, &[int(1), int(-1), None]).unwrap();
        assert_eq!(got, items[1..4].to_vec());
        let got = slice_items(&items, &[int(-2), None, None]).unwrap();
        assert_eq!(got, items[3..].to_vec());
    }
}

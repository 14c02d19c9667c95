//! Array annotations: jaxtyping (`Float[np.ndarray, "batch n m"]`, `Int`, `Bool`, `Shaped`,
//! `Num`, ...), `np.ndarray` and `npt.NDArray[np.float64]`. Parses them into an expected
//! shape, gives annotated parameters their symbolic shapes, and checks inferred values
//! against annotations (names bind per call, integers are fixed, `*batch` and `...` are
//! variadic, `#n` may be 1, `_` skips, `""` is a scalar).

use ruff_python_ast::Expr;
use ruff_text_size::TextRange;

use super::analysis::Finding;
use super::dim::{Dim, DimExpr, Symbol};
use super::dtype::Dtype;
use super::shape::Shape;
use super::value::{ArrayValue, Value};
use super::walker::{canonical_shape, Frame, Walker};

/// One entry of a jaxtyping shape string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AnnDim {
    /// A fixed size: literal, name, or simple affine expression over names (`n+1`).
    Size(AffineSpec),
    /// `#n`: `n` or 1 (broadcastable).
    Broadcast(AffineSpec),
    /// `_`, `_name`, or anything we cannot read: not checked.
    Any,
    /// `*batch` (named: the same axes wherever the name appears in one call), `...` and
    /// `#*batch` (anonymous: any axes each time).
    Variadic(Option<String>),
}

/// `constant + sum(coeff * name)` over annotation names (not yet symbols).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AffineSpec {
    pub constant: i64,
    pub terms: Vec<(String, i64)>,
}

/// The dtype family an annotation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DtypeSpec {
    Exact(Dtype),
    Float,
    Complex,
    Inexact,
    Int,
    SignedInt,
    UnsignedInt,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArrayAnnotation {
    pub dtype: DtypeSpec,
    /// `None` for `np.ndarray` (any shape).
    pub dims: Option<Vec<AnnDim>>,
    /// Source text of the shape string, for messages.
    pub spec: String,
}

/// Reads an annotation; `None` when it is not an array annotation we understand.
pub(crate) fn parse_annotation(e: &Expr) -> Option<ArrayAnnotation> {
    match e {
        Expr::Subscript(s) => {
            let head = last_name(&s.value)?;
            if head == "NDArray" {
                let dtype = match &*s.slice {
                    Expr::Attribute(a) => numpy_scalar_dtype(a.attr.id.as_str()),
                    _ => None,
                };
                return Some(ArrayAnnotation {
                    dtype: dtype.map_or(DtypeSpec::Any, DtypeSpec::Exact),
                    dims: None,
                    spec: String::new(),
                });
            }
            let dtype = jaxtyping_dtype(head)?;
            let Expr::Tuple(t) = &*s.slice else {
                return None;
            };
            let [_, Expr::StringLiteral(dims)] = t.elts.as_slice() else {
                return None;
            };
            let spec = dims.value.to_str().to_string();
            Some(ArrayAnnotation {
                dtype,
                dims: Some(parse_dims(&spec)),
                spec,
            })
        }
        Expr::Attribute(_) | Expr::Name(_) => match last_name(e)? {
            "ndarray" | "NDArray" => Some(ArrayAnnotation {
                dtype: DtypeSpec::Any,
                dims: None,
                spec: String::new(),
            }),
            _ => None,
        },
        _ => None,
    }
}

fn last_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

fn numpy_scalar_dtype(name: &str) -> Option<Dtype> {
    Dtype::from_name(name).or(match name {
        "bool_" => Some(Dtype::Bool),
        "double" => Some(Dtype::Float64),
        "single" => Some(Dtype::Float32),
        "intp" | "int_" => Some(Dtype::Int64),
        _ => None,
    })
}

/// jaxtyping's dtype families by their type name.
fn jaxtyping_dtype(head: &str) -> Option<DtypeSpec> {
    use DtypeSpec::*;
    Some(match head {
        "Float" => Float,
        "Complex" => Complex,
        "Inexact" => Inexact,
        "Int" | "Integer" => Int,
        "SInt" => SignedInt,
        "UInt" => UnsignedInt,
        "Shaped" | "Num" | "Real" => Any,
        "Bool" => Exact(Dtype::Bool),
        "Float16" => Exact(Dtype::Float16),
        "Float32" => Exact(Dtype::Float32),
        "Float64" => Exact(Dtype::Float64),
        "Complex64" => Exact(Dtype::Complex64),
        "Complex128" => Exact(Dtype::Complex128),
        "Int8" => Exact(Dtype::Int8),
        "Int16" => Exact(Dtype::Int16),
        "Int32" => Exact(Dtype::Int32),
        "Int64" => Exact(Dtype::Int64),
        "UInt8" => Exact(Dtype::UInt8),
        "UInt16" => Exact(Dtype::UInt16),
        "UInt32" => Exact(Dtype::UInt32),
        "UInt64" => Exact(Dtype::UInt64),
        _ => return None,
    })
}

impl DtypeSpec {
    fn exact(self) -> Option<Dtype> {
        match self {
            DtypeSpec::Exact(d) => Some(d),
            _ => None,
        }
    }

    fn allows(self, d: Dtype) -> bool {
        use Dtype::*;
        let float = matches!(d, Float16 | Float32 | Float64);
        let complex = matches!(d, Complex64 | Complex128);
        let signed = matches!(d, Int8 | Int16 | Int32 | Int64);
        let unsigned = matches!(d, UInt8 | UInt16 | UInt32 | UInt64);
        match self {
            DtypeSpec::Exact(e) => e == d,
            DtypeSpec::Float => float,
            DtypeSpec::Complex => complex,
            DtypeSpec::Inexact => float || complex,
            DtypeSpec::Int => signed || unsigned,
            DtypeSpec::SignedInt => signed,
            DtypeSpec::UnsignedInt => unsigned,
            DtypeSpec::Any => true,
        }
    }
}

/// Parses a jaxtyping shape string (`"batch n m"`, `"*batch 3"`, `"#n _ ..."`, `""`).
pub(crate) fn parse_dims(spec: &str) -> Vec<AnnDim> {
    spec.split_whitespace().map(parse_dim).collect()
}

fn parse_dim(token: &str) -> AnnDim {
    if token == "..." || token.starts_with("#*") {
        return AnnDim::Variadic(None);
    }
    if let Some(name) = token.strip_prefix('*') {
        // `*_` and `*_name` are not bound, as `_` is not.
        let named = is_identifier(name) && !name.starts_with('_');
        return AnnDim::Variadic(named.then(|| name.to_string()));
    }
    let (broadcast, rest) = match token.strip_prefix('#') {
        Some(r) => (true, r),
        None => (false, token),
    };
    // `?n` may vary between calls of a pytree; within one array it is still a size.
    let rest = rest.strip_prefix('?').unwrap_or(rest);
    if rest.starts_with('_') || rest.contains('=') {
        return AnnDim::Any;
    }
    match parse_affine(rest) {
        Some(a) if broadcast => AnnDim::Broadcast(a),
        Some(a) => AnnDim::Size(a),
        None => AnnDim::Any,
    }
}

/// `n`, `3`, `n+1`, `2*n`, `n-m`, `n*2` (no spaces inside, as jaxtyping requires).
fn parse_affine(s: &str) -> Option<AffineSpec> {
    if s.is_empty() {
        return None;
    }
    let mut out = AffineSpec {
        constant: 0,
        terms: Vec::new(),
    };
    let mut sign = 1i64;
    let mut rest = s;
    loop {
        let end = rest.find(['+', '-']).unwrap_or(rest.len());
        let term = &rest[..end];
        let (coeff, name) = match term.split_once('*') {
            Some((a, b)) => match (a.parse::<i64>(), b.parse::<i64>()) {
                (Ok(k), Err(_)) => (k, b),
                (Err(_), Ok(k)) => (k, a),
                _ => return None,
            },
            None => match term.parse::<i64>() {
                Ok(k) => {
                    out.constant = out.constant.checked_add(sign.checked_mul(k)?)?;
                    (0, "")
                }
                Err(_) => (1, term),
            },
        };
        if !name.is_empty() {
            if !is_identifier(name) {
                return None;
            }
            out.terms.push((name.to_string(), sign.checked_mul(coeff)?));
        }
        if end == rest.len() {
            break;
        }
        sign = if rest.as_bytes()[end] == b'-' { -1 } else { 1 };
        rest = &rest[end + 1..];
    }
    Some(out)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

impl<'m> Walker<'m> {
    /// The symbol an annotation name stands for in this frame (per call: the same name is
    /// the same size across all annotations of one function).
    fn annotation_symbol(&mut self, f: &mut Frame, name: &str) -> Symbol {
        if let Some(s) = f.ann_symbols.get(name) {
            return s.clone();
        }
        let s = if f.readable {
            f.taken.insert(name.to_string());
            Symbol::new(name)
        } else {
            self.fresh += 1;
            Symbol::new(&format!("_{}", self.fresh))
        };
        f.ann_symbols.insert(name.to_string(), s.clone());
        s
    }

    fn spec_expr(&mut self, f: &mut Frame, a: &AffineSpec) -> Option<DimExpr> {
        let mut e = DimExpr::lit(a.constant);
        for (name, k) in &a.terms {
            let s = self.annotation_symbol(f, name);
            e = e.checked_add(&DimExpr::sym(s).checked_scale(*k)?)?;
        }
        Some(e)
    }

    /// A fresh variadic group: readable (`batch`) in definition runs, internal otherwise.
    fn new_group(&mut self, f: &Frame, name: Option<&str>) -> Symbol {
        match name {
            Some(n) if f.readable => Symbol::new(n),
            _ => {
                self.fresh += 1;
                Symbol::new(&format!("_{}", self.fresh))
            }
        }
    }

    /// The axes a variadic annotation entry stands for: a named group's binding in this
    /// call (made abstract on first use), or a fresh anonymous group.
    fn group_axes(&mut self, f: &mut Frame, name: Option<&str>) -> Shape {
        if let Some(bound) = name.and_then(|n| f.ann_groups.get(n)) {
            return bound.clone();
        }
        let group = self.new_group(f, name);
        let axes = Shape::Variadic {
            group,
            dims: Vec::new(),
        };
        if let Some(n) = name {
            f.ann_groups.insert(n.to_string(), axes.clone());
        }
        axes
    }

    /// The shape an annotation promises, in this frame's symbols.
    fn annotation_shape(&mut self, f: &mut Frame, ann: &ArrayAnnotation) -> Shape {
        let Some(dims) = &ann.dims else {
            return Shape::Unranked;
        };
        let mut tail = Vec::with_capacity(dims.len());
        let mut lead = None;
        for (i, d) in dims.iter().enumerate() {
            tail.push(match d {
                AnnDim::Size(a) => self.spec_expr(f, a).map_or(Dim::Unknown, Dim::Known),
                AnnDim::Broadcast(_) | AnnDim::Any => Dim::Unknown,
                AnnDim::Variadic(name) => {
                    if i > 0 {
                        // Known axes before the group: not representable, so unknown (the
                        // names above are still bound so later annotations agree).
                        lead = Some(Shape::Unranked);
                    } else {
                        lead = Some(self.group_axes(f, name.as_deref()));
                    }
                    continue;
                }
            });
        }
        match lead {
            None => Shape::Ranked(tail),
            Some(lead) => lead.followed_by(tail),
        }
    }

    /// What a parameter annotated with `ann` holds, absent an argument.
    pub fn annotation_value(&mut self, f: &mut Frame, ann: &'m Expr) -> Value {
        match ann {
            Expr::Name(n) if n.id.as_str() == "int" => return Value::Int(None),
            Expr::Name(n) if n.id.as_str() == "float" => return Value::Float(None),
            _ => {}
        }
        match parse_annotation(ann) {
            Some(a) => {
                let shape = self.annotation_shape(f, &a);
                Value::Array(ArrayValue::new(shape, a.dtype.exact()))
            }
            None => Value::Unknown,
        }
    }

    /// Checks `value` against annotation `ann` in frame `f`, learning size facts and
    /// binding variadic groups; returns the value refined by the annotation and, on
    /// contradiction, a finding (not recorded).
    pub fn match_annotation(
        &mut self,
        f: &mut Frame,
        ann: &'m Expr,
        value: Value,
        range: TextRange,
        what: &str,
    ) -> (Value, Option<Finding>) {
        let Some(a) = parse_annotation(ann) else {
            if let (Expr::Name(n), Value::Unknown) = (ann, &value) {
                if n.id.as_str() == "int" {
                    return (Value::Int(None), None);
                }
            }
            return (value, None);
        };
        self.match_parsed_annotation(f, &a, value, range, what)
    }

    /// `match_annotation` for an annotation already read.
    pub fn match_parsed_annotation(
        &mut self,
        f: &mut Frame,
        a: &ArrayAnnotation,
        value: Value,
        range: TextRange,
        what: &str,
    ) -> (Value, Option<Finding>) {
        let arr = match value {
            Value::Array(arr) => arr,
            Value::Unknown => {
                let promised = self.annotation_shape(f, a);
                return (
                    Value::Array(ArrayValue::new(promised, a.dtype.exact())),
                    None,
                );
            }
            other => return (other, None),
        };
        let label = format!("{what} is annotated \"{}\"", a.spec);
        let shape_text = super::eval::py_shape(&canonical_shape(&f.state.facts, &arr.shape));
        if let Some(d) = arr.dtype {
            if !a.dtype.allows(d) {
                let msg = format!("{label} with dtype {:?}, but its dtype is {d}", a.dtype);
                let finding = self.annotation_mismatch(f, a, range, msg, &arr.shape);
                return (Value::Array(arr), Some(finding));
            }
        }
        let Some(spec) = &a.dims else {
            return (Value::Array(arr), None);
        };
        let variadic = spec.iter().position(|d| matches!(d, AnnDim::Variadic(_)));
        let fixed = spec.len() - usize::from(variadic.is_some());
        // The known axes of the value, and the group in front of them (variadic values).
        let (group, inferred): (Option<Symbol>, Vec<Dim>) = match (&arr.shape, variadic) {
            (Shape::Ranked(d), _) => (None, d.clone()),
            // `[*g, k]` against `"n k"`: the annotation fixes the rank.
            (Shape::Variadic { dims, .. }, None) if dims.len() <= fixed => {
                let mut all = vec![Dim::Unknown; fixed - dims.len()];
                all.extend_from_slice(dims);
                (None, all)
            }
            (Shape::Variadic { .. }, None) => {
                let msg = format!("{label}, but it has shape {shape_text}");
                let finding = self.annotation_mismatch(f, a, range, msg, &arr.shape);
                return (Value::Array(arr), Some(finding));
            }
            // `[*g, n, d]` against `"*batch d"`: the group and the first known axes form
            // `*batch`.
            (Shape::Variadic { group, dims }, Some(0)) if dims.len() >= fixed => {
                (Some(group.clone()), dims.clone())
            }
            // Axes of the annotation may fall within the value's group: nothing to check.
            (Shape::Variadic { .. }, Some(_)) => return (Value::Array(arr), None),
            (Shape::Unranked, _) => {
                // Unknown rank: the annotation says what it is.
                let promised = self.annotation_shape(f, a);
                let dtype = arr.dtype.or(a.dtype.exact());
                return (
                    Value::Array(ArrayValue {
                        shape: promised,
                        dtype,
                        is_scalar: arr.is_scalar,
                    }),
                    None,
                );
            }
        };
        let rank_ok = match (variadic, &group) {
            (_, Some(_)) => true,
            (Some(_), None) => inferred.len() >= fixed,
            (None, None) => inferred.len() == fixed,
        };
        if !rank_ok {
            let msg = format!("{label}, but it has shape {shape_text}");
            let finding = self.annotation_mismatch(f, a, range, msg, &arr.shape);
            return (Value::Array(arr), Some(finding));
        }
        // Pair annotation entries with axes: those before a variadic from the left, those
        // after it from the right.
        let mut pairs: Vec<(usize, &AnnDim)> = Vec::new();
        match variadic {
            None => pairs.extend(spec.iter().enumerate()),
            Some(v) => {
                pairs.extend(spec[..v].iter().enumerate());
                let tail = &spec[v + 1..];
                let start = inferred.len() - tail.len();
                pairs.extend(tail.iter().enumerate().map(|(i, d)| (start + i, d)));
                // What the group stands for in this value: check it against an earlier
                // binding of the same name, or bind it.
                let segment = inferred[v..start].to_vec();
                let segment = match &group {
                    Some(g) => Shape::Variadic {
                        group: g.clone(),
                        dims: segment,
                    },
                    None => Shape::Ranked(segment),
                };
                if let Some(AnnDim::Variadic(Some(name))) = spec.get(v) {
                    if let Some(msg) = self.bind_group(f, name, segment) {
                        let msg = format!("{label}, but it has shape {shape_text}: {msg}");
                        let finding = self.annotation_mismatch(f, a, range, msg, &arr.shape);
                        return (Value::Array(arr), Some(finding));
                    }
                }
            }
        }
        let mut refined = inferred.clone();
        for (axis, d) in pairs {
            match d {
                AnnDim::Size(s) => {
                    let Some(e) = self.spec_expr(f, s) else {
                        continue;
                    };
                    match &inferred[axis] {
                        Dim::Known(c) => {
                            if !f.state.facts.assume_equal(c, &e) {
                                let msg = format!("{label}, but it has shape {shape_text}");
                                let finding =
                                    self.annotation_mismatch(f, a, range, msg, &arr.shape);
                                return (Value::Array(arr), Some(finding));
                            }
                        }
                        Dim::Unknown => refined[axis] = Dim::Known(e),
                    }
                }
                AnnDim::Broadcast(s) => {
                    let Some(e) = self.spec_expr(f, s) else {
                        continue;
                    };
                    if let Dim::Known(c) = &inferred[axis] {
                        let one = DimExpr::lit(1);
                        if f.state.facts.same(c, &one) == Some(false)
                            && f.state.facts.same(c, &e) == Some(false)
                        {
                            let msg = format!("{label}, but it has shape {shape_text}");
                            let finding = self.annotation_mismatch(f, a, range, msg, &arr.shape);
                            return (Value::Array(arr), Some(finding));
                        }
                    }
                }
                AnnDim::Any | AnnDim::Variadic(_) => {}
            }
        }
        let dtype = arr.dtype.or(a.dtype.exact());
        let shape = match group {
            Some(group) => Shape::Variadic {
                group,
                dims: refined,
            },
            None => Shape::Ranked(refined),
        };
        (
            Value::Array(ArrayValue {
                shape,
                dtype,
                is_scalar: arr.is_scalar,
            }),
            None,
        )
    }

    /// Binds group `name` to `axes` in this call, or checks `axes` against its binding;
    /// returns what contradicts it. Axes of different or unknown groups are not compared.
    fn bind_group(&mut self, f: &mut Frame, name: &str, axes: Shape) -> Option<String> {
        let Some(bound) = f.ann_groups.get(name).cloned() else {
            f.ann_groups.insert(name.to_string(), axes);
            return None;
        };
        let (prev, now) = match (&bound, &axes) {
            (Shape::Ranked(p), Shape::Ranked(q)) => (p, q),
            (Shape::Variadic { group: g, dims: p }, Shape::Variadic { group: h, dims: q })
                if g == h =>
            {
                (p, q)
            }
            _ => return None,
        };
        let contradicts = prev.len() != now.len()
            || prev.iter().zip(now).any(|(p, q)| match (p, q) {
                (Dim::Known(p), Dim::Known(q)) => !f.state.facts.assume_equal(p, q),
                _ => false,
            });
        contradicts.then(|| {
            let shown = |s: &Shape| super::eval::py_shape(&canonical_shape(&f.state.facts, s));
            format!(
                "`*{name}` is {} here but {} in an earlier annotation",
                shown(&axes),
                shown(&bound)
            )
        })
    }

    /// An annotation mismatch finding at `range` (the expected shape in this frame).
    fn annotation_mismatch(
        &mut self,
        f: &mut Frame,
        a: &ArrayAnnotation,
        range: TextRange,
        message: String,
        inferred: &Shape,
    ) -> Finding {
        let expected = self.annotation_shape(f, a);
        Finding::AnnotationMismatch {
            range,
            expected,
            inferred: canonical_shape(&f.state.facts, inferred),
            message,
        }
    }

    /// A variable or return annotation: check and refine, recording a mismatch here.
    pub fn check_annotation(
        &mut self,
        f: &mut Frame,
        ann: &'m Expr,
        value: Value,
        range: TextRange,
    ) -> Value {
        let what = "this value";
        let (v, finding) = self.match_annotation(f, ann, value, range, what);
        if let Some(finding) = finding {
            self.record_finding(f, finding);
        }
        v
    }

    /// An argument passed to an annotated parameter of a called function: checked in the
    /// callee's frame (binding its symbols to the caller's sizes), reported at the call.
    pub fn bind_annotated_argument(
        &mut self,
        callee: &mut Frame,
        caller: &mut Frame,
        ann: &'m Expr,
        value: Value,
        range: TextRange,
    ) -> Value {
        let (v, finding) = self.match_annotation(callee, ann, value, range, "this argument");
        if let Some(finding) = finding {
            callee.contradicted = true;
            self.record_finding(caller, finding);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(c: i64, terms: &[(&str, i64)]) -> AnnDim {
        AnnDim::Size(AffineSpec {
            constant: c,
            terms: terms.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        })
    }

    #[test]
    fn parses_shape_strings() {
        assert_eq!(parse_dims(""), vec![]);
        assert_eq!(
            parse_dims("batch n 3"),
            vec![size(0, &[("batch", 1)]), size(0, &[("n", 1)]), size(3, &[])]
        );
        assert_eq!(
            parse_dims("*batch #n _ _m ..."),
            vec![
                AnnDim::Variadic(Some("batch".into())),
                AnnDim::Broadcast(AffineSpec {
                    constant: 0,
                    terms: vec![("n".into(), 1)]
                }),
                AnnDim::Any,
                AnnDim::Any,
                AnnDim::Variadic(None)
            ]
        );
        assert_eq!(
            parse_dims("n+1 2*k n-m"),
            vec![
                size(1, &[("n", 1)]),
                size(0, &[("k", 2)]),
                size(0, &[("n", 1), ("m", -1)]),
            ]
        );
        assert_eq!(parse_dims("n**2"), vec![AnnDim::Any]);
    }
}

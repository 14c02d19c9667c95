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
    /// `...`, `*batch`: any number of axes.
    Variadic,
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
    if token == "..." || token.starts_with('*') || token.starts_with("#*") {
        return AnnDim::Variadic;
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

    /// The shape an annotation promises, in this frame's symbols.
    fn annotation_shape(&mut self, f: &mut Frame, ann: &ArrayAnnotation) -> Shape {
        let Some(dims) = &ann.dims else {
            return Shape::Unranked;
        };
        if dims.contains(&AnnDim::Variadic) {
            // Still bind the names so later annotations of the same call agree.
            for d in dims {
                if let AnnDim::Size(a) = d {
                    self.spec_expr(f, a);
                }
            }
            return Shape::Unranked;
        }
        Shape::Ranked(
            dims.iter()
                .map(|d| match d {
                    AnnDim::Size(a) => self.spec_expr(f, a).map_or(Dim::Unknown, Dim::Known),
                    AnnDim::Broadcast(_) | AnnDim::Any | AnnDim::Variadic => Dim::Unknown,
                })
                .collect(),
        )
    }

    /// What a parameter annotated with `ann` holds, absent an argument.
    pub fn annotation_value(&mut self, f: &mut Frame, ann: &'m Expr) -> Value {
        match ann {
            Expr::Name(n) if n.id.as_str() == "int" => return Value::Int(None),
            Expr::Name(n) if n.id.as_str() == "float" => return Value::Float,
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

    /// Checks `value` against annotation `ann` in frame `f`, learning size facts; returns
    /// the value refined by the annotation and, on contradiction, a finding (not recorded).
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
        let promised = self.annotation_shape(f, &a);
        let arr = match value {
            Value::Array(arr) => arr,
            Value::Unknown => {
                return (
                    Value::Array(ArrayValue::new(promised, a.dtype.exact())),
                    None,
                )
            }
            other => return (other, None),
        };
        let mismatch = |f: &Frame, message: String, expected: Shape, inferred: &Shape| {
            Some(Finding::AnnotationMismatch {
                range,
                expected,
                inferred: canonical_shape(&f.state.facts, inferred),
                message,
            })
        };
        let label = format!("{what} is annotated \"{}\"", a.spec);
        if let Some(d) = arr.dtype {
            if !a.dtype.allows(d) {
                let msg = format!("{label} with dtype {:?}, but its dtype is {d}", a.dtype);
                let f_ = mismatch(f, msg, promised.clone(), &arr.shape);
                return (Value::Array(arr), f_);
            }
        }
        let Some(spec) = &a.dims else {
            return (Value::Array(arr), None);
        };
        let Some(inferred) = arr.shape.dims().map(<[Dim]>::to_vec) else {
            // Unknown rank: the annotation says what it is.
            let dtype = arr.dtype.or(a.dtype.exact());
            return (
                Value::Array(ArrayValue {
                    shape: promised,
                    dtype,
                    is_scalar: arr.is_scalar,
                }),
                None,
            );
        };
        let variadic = spec.iter().position(|d| *d == AnnDim::Variadic);
        let fixed = spec.len() - usize::from(variadic.is_some());
        let rank_ok = match variadic {
            Some(_) => inferred.len() >= fixed,
            None => inferred.len() == fixed,
        };
        let shape_text = super::eval::py_shape(&canonical_shape(&f.state.facts, &arr.shape));
        if !rank_ok {
            let msg = format!("{label}, but it has shape {shape_text}");
            return (
                Value::Array(arr.clone()),
                mismatch(f, msg, promised, &arr.shape),
            );
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
                                return (
                                    Value::Array(arr.clone()),
                                    mismatch(f, msg, promised, &arr.shape),
                                );
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
                            return (
                                Value::Array(arr.clone()),
                                mismatch(f, msg, promised, &arr.shape),
                            );
                        }
                    }
                }
                AnnDim::Any | AnnDim::Variadic => {}
            }
        }
        let dtype = arr.dtype.or(a.dtype.exact());
        (
            Value::Array(ArrayValue {
                shape: Shape::Ranked(refined),
                dtype,
                is_scalar: arr.is_scalar,
            }),
            None,
        )
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
                AnnDim::Variadic,
                AnnDim::Broadcast(AffineSpec {
                    constant: 0,
                    terms: vec![("n".into(), 1)]
                }),
                AnnDim::Any,
                AnnDim::Any,
                AnnDim::Variadic
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

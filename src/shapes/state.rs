//! The abstract state at one program point (what each local name holds, and the size
//! facts) and how states join where control-flow paths merge.

use std::collections::HashMap;

use ruff_python_ast::name::Name;

use super::dim::{Dim, DimExpr};
use super::facts::SizeFacts;
use super::shape::Shape;
use super::value::{ArrayValue, Local, Value};

/// Names map to what is known of their value; an absent name is unknown (or unbound), so
/// states stay small: only informative values are stored.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub vars: HashMap<Name, Value>,
    pub facts: SizeFacts,
    /// False after `return`, `raise`, `break`, `continue`: no path reaches this point.
    pub reachable: bool,
    /// `len(x)` of arrays whose rank is not known yet, by name: the size axis 0 will have
    /// once the rank is learned. Rebinding the name drops it; it is only read while the
    /// name still holds an array of unknown rank.
    pub lens: HashMap<Name, DimExpr>,
}

impl Default for State {
    fn default() -> Self {
        State {
            vars: HashMap::new(),
            facts: SizeFacts::default(),
            reachable: true,
            lens: HashMap::new(),
        }
    }
}

impl State {
    pub fn unreachable() -> Self {
        State {
            reachable: false,
            ..State::default()
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// Binds `name`; unknown values are not stored.
    pub fn set(&mut self, name: &str, value: Value) {
        self.lens.remove(name);
        if matches!(value, Value::Unknown) {
            self.vars.remove(name);
        } else {
            self.vars.insert(Name::new(name), value);
        }
    }

    /// The state where either `self` or `other` may hold: values both agree on, facts
    /// both know. A name bound on one side only becomes unknown.
    pub fn join(&self, other: &State) -> State {
        if !self.reachable {
            return other.clone();
        }
        if !other.reachable {
            return self.clone();
        }
        let facts = self.facts.intersect(&other.facts);
        let mut vars = HashMap::with_capacity(self.vars.len().min(other.vars.len()));
        for (name, a) in &self.vars {
            if let Some(b) = other.vars.get(name) {
                let j = join_value(a, b, &self.facts, &other.facts);
                if !matches!(j, Value::Unknown) {
                    vars.insert(name.clone(), j);
                }
            }
        }
        let lens = self
            .lens
            .iter()
            .filter_map(|(name, a)| {
                vars.get(name).and_then(Value::as_array)?;
                let b = other.lens.get(name)?;
                let (ca, cb) = (self.facts.canonical(a), other.facts.canonical(b));
                (ca == cb).then(|| (name.clone(), ca))
            })
            .collect();
        State {
            vars,
            facts,
            reachable: true,
            lens,
        }
    }

    /// Same names with equal values and equivalent facts (for loop fixpoints).
    pub fn same_as(&self, other: &State) -> bool {
        self.reachable == other.reachable
            && self.vars == other.vars
            && self.lens == other.lens
            && self.facts.equivalent(&other.facts)
    }
}

/// What both values have in common; `Unknown` when nothing.
pub(crate) fn join_value(a: &Value, b: &Value, fa: &SizeFacts, fb: &SizeFacts) -> Value {
    if a == b {
        return a.clone();
    }
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => Value::Array(ArrayValue {
            shape: join_shape(&x.shape, &y.shape, fa, fb),
            dtype: if x.dtype == y.dtype { x.dtype } else { None },
            is_scalar: x.is_scalar && y.is_scalar,
        }),
        (Value::Int(x), Value::Int(y)) => {
            let same = match (x, y) {
                (Some(x), Some(y)) => {
                    let (cx, cy) = (fa.canonical(x), fb.canonical(y));
                    (cx == cy).then_some(cx)
                }
                _ => None,
            };
            Value::Int(same)
        }
        (Value::Bool(_), Value::Bool(_)) => Value::Bool(None),
        (Value::Float(_), Value::Float(_)) => Value::Float(None),
        (Value::Tuple(x), Value::Tuple(y)) if x.len() == y.len() => Value::Tuple(
            x.iter()
                .zip(y)
                .map(|(a, b)| join_value(a, b, fa, fb))
                .collect(),
        ),
        (Value::List(x), Value::List(y)) if x.len() == y.len() => Value::List(
            x.iter()
                .zip(y)
                .map(|(a, b)| join_value(a, b, fa, fb))
                .collect(),
        ),
        (
            Value::Local(Local::Instance {
                class: ca,
                attrs: xa,
            }),
            Value::Local(Local::Instance {
                class: cb,
                attrs: xb,
            }),
        ) if ca == cb => {
            let attrs = xa
                .iter()
                .filter_map(|(name, va)| {
                    let (_, vb) = xb.iter().find(|(n, _)| n == name)?;
                    let j = join_value(va, vb, fa, fb);
                    (!matches!(j, Value::Unknown)).then(|| (name.clone(), j))
                })
                .collect();
            Value::Local(Local::Instance { class: *ca, attrs })
        }
        _ => Value::Unknown,
    }
}

pub(crate) fn join_shape(a: &Shape, b: &Shape, fa: &SizeFacts, fb: &SizeFacts) -> Shape {
    let join_dims = |x: &[Dim], y: &[Dim]| -> Vec<Dim> {
        x.iter()
            .zip(y)
            .map(|(p, q)| match (p, q) {
                (Dim::Known(p), Dim::Known(q)) => {
                    let (cp, cq) = (fa.canonical(p), fb.canonical(q));
                    if cp == cq {
                        Dim::Known(cp)
                    } else {
                        Dim::Unknown
                    }
                }
                _ => Dim::Unknown,
            })
            .collect()
    };
    match (a, b) {
        (Shape::Ranked(x), Shape::Ranked(y)) if x.len() == y.len() => {
            Shape::Ranked(join_dims(x, y))
        }
        (Shape::Variadic { group: g, dims: x }, Shape::Variadic { group: h, dims: y })
            if g == h && x.len() == y.len() =>
        {
            Shape::Variadic {
                group: g.clone(),
                dims: join_dims(x, y),
            }
        }
        _ => Shape::Unranked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(dims: &[i64]) -> Value {
        Value::Array(ArrayValue::new(
            Shape::lits(dims),
            Some(super::super::dtype::Dtype::Float64),
        ))
    }

    #[test]
    fn join_keeps_agreement() {
        let mut a = State::default();
        let mut b = State::default();
        a.set("x", arr(&[3, 4]));
        b.set("x", arr(&[3, 5]));
        a.set("y", arr(&[2]));
        b.set("y", arr(&[2]));
        a.set("z", arr(&[2]));
        let j = a.join(&b);
        assert_eq!(
            j.get("x"),
            Some(&Value::Array(ArrayValue::new(
                Shape::Ranked(vec![Dim::lit(3), Dim::Unknown]),
                Some(super::super::dtype::Dtype::Float64)
            )))
        );
        assert_eq!(j.get("y"), Some(&arr(&[2])));
        assert_eq!(j.get("z"), None);
        b.set("x", arr(&[3]));
        assert_eq!(
            a.join(&b)
                .get("x")
                .and_then(|v| v.as_array())
                .map(|a| &a.shape),
            Some(&Shape::Unranked)
        );
    }

    #[test]
    fn unreachable_side_is_ignored() {
        let mut a = State::default();
        a.set("x", arr(&[3]));
        let j = a.join(&State::unreachable());
        assert_eq!(j.get("x"), Some(&arr(&[3])));
    }
}

//! Array shapes: a list of axis sizes, a variadic group of leading axes followed by known
//! axes (jaxtyping's `*batch n d`), or an unknown rank.

use std::fmt;

use super::dim::{Dim, Symbol};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Known rank; each axis may still be unknown. `Ranked(vec![])` is a 0-d array/scalar.
    Ranked(Vec<Dim>),
    /// Any number of leading axes standing for one variadic group (`*batch`, `...`),
    /// then known axes: `[*batch, n, d]`. The rank is unknown, but two shapes with the
    /// same group have the same leading axes, so NumPy rules that only look at trailing
    /// axes (broadcasting, matmul, negative axes) still apply. Group symbols live apart
    /// from size symbols; internal ones (`_3`) display as `...`.
    Variadic { group: Symbol, dims: Vec<Dim> },
    /// Even the rank is unknown (`[...]`).
    Unranked,
}

impl Shape {
    pub fn scalar() -> Self {
        Shape::Ranked(Vec::new())
    }
    pub fn lits(sizes: &[i64]) -> Self {
        Shape::Ranked(sizes.iter().map(|&s| Dim::lit(s)).collect())
    }
    /// The rank when it is known (never for a variadic shape).
    pub fn rank(&self) -> Option<usize> {
        match self {
            Shape::Ranked(d) => Some(d.len()),
            Shape::Variadic { .. } | Shape::Unranked => None,
        }
    }
    /// All axes, when the rank is known (never for a variadic shape).
    pub fn dims(&self) -> Option<&[Dim]> {
        match self {
            Shape::Ranked(d) => Some(d),
            Shape::Variadic { .. } | Shape::Unranked => None,
        }
    }
    /// The variadic group and the known trailing axes of a variadic shape.
    pub fn variadic(&self) -> Option<(&Symbol, &[Dim])> {
        match self {
            Shape::Variadic { group, dims } => Some((group, dims)),
            _ => None,
        }
    }
    /// `self`'s axes (a variadic group and known axes, or known axes) followed by `tail`.
    pub fn followed_by(&self, tail: Vec<Dim>) -> Shape {
        match self {
            Shape::Ranked(d) => Shape::Ranked([d.as_slice(), &tail].concat()),
            Shape::Variadic { group, dims } => Shape::Variadic {
                group: group.clone(),
                dims: [dims.as_slice(), &tail].concat(),
            },
            Shape::Unranked => Shape::Unranked,
        }
    }
    /// Applies `f` to every axis (of a ranked or variadic shape).
    pub fn map_dims(&self, mut f: impl FnMut(&Dim) -> Dim) -> Shape {
        match self {
            Shape::Ranked(d) => Shape::Ranked(d.iter().map(&mut f).collect()),
            Shape::Variadic { group, dims } => Shape::Variadic {
                group: group.clone(),
                dims: dims.iter().map(f).collect(),
            },
            Shape::Unranked => Shape::Unranked,
        }
    }
    /// The shape as users see it: axes whose size involves internal symbols are `?`.
    pub fn public(&self) -> Shape {
        self.map_dims(|d| match d {
            Dim::Known(e) if e.has_internal_symbol() => Dim::Unknown,
            d => d.clone(),
        })
    }

    /// True when the rank and every axis are literal integers.
    pub fn is_fully_literal(&self) -> bool {
        matches!(self, Shape::Ranked(d) if d.iter().all(|d| d.as_lit().is_some()))
    }
}

/// The name users see for a variadic group: `None` for anonymous (`...`) and internal ones.
pub fn group_name(group: &Symbol) -> Option<&str> {
    let name = group.as_str();
    (!name.starts_with('_')).then_some(name)
}

/// A variadic group as written in shapes: `*batch`, or `...` for anonymous and internal ones.
pub fn group_label(group: &Symbol) -> String {
    match group_name(group) {
        Some(name) => format!("*{name}"),
        None => "...".to_string(),
    }
}

impl fmt::Display for Shape {
    /// `[10, 2, 3, 40]`, `[n, d]`, `[?, 3]`, `[]`, `[*batch, n, d]`, `[..., n]`, `[...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims = match self {
            Shape::Unranked => return f.write_str("[...]"),
            Shape::Ranked(dims) => {
                f.write_str("[")?;
                dims
            }
            Shape::Variadic { group, dims } => {
                write!(f, "[{}", group_label(group))?;
                if !dims.is_empty() {
                    f.write_str(", ")?;
                }
                dims
            }
        };
        for (i, d) in dims.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

//! Array shapes: a list of axis sizes, or an unknown rank.

use std::fmt;

use super::dim::Dim;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Known rank; each axis may still be unknown. `Ranked(vec![])` is a 0-d array/scalar.
    Ranked(Vec<Dim>),
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
    pub fn rank(&self) -> Option<usize> {
        match self {
            Shape::Ranked(d) => Some(d.len()),
            Shape::Unranked => None,
        }
    }
    pub fn dims(&self) -> Option<&[Dim]> {
        match self {
            Shape::Ranked(d) => Some(d),
            Shape::Unranked => None,
        }
    }
    /// The shape as users see it: axes whose size involves internal symbols are `?`.
    pub fn public(&self) -> Shape {
        match self {
            Shape::Unranked => Shape::Unranked,
            Shape::Ranked(dims) => Shape::Ranked(
                dims.iter()
                    .map(|d| match d {
                        Dim::Known(e) if e.has_internal_symbol() => Dim::Unknown,
                        d => d.clone(),
                    })
                    .collect(),
            ),
        }
    }

    /// True when the rank and every axis are literal integers.
    pub fn is_fully_literal(&self) -> bool {
        matches!(self, Shape::Ranked(d) if d.iter().all(|d| d.as_lit().is_some()))
    }
}

impl fmt::Display for Shape {
    /// `[10, 2, 3, 40]`, `[n, d]`, `[?, 3]`, `[]`, `[...]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Unranked => f.write_str("[...]"),
            Shape::Ranked(dims) => {
                f.write_str("[")?;
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str("]")
            }
        }
    }
}

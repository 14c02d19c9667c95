//! Axis sizes: literal integers, symbols, affine expressions over symbols, or unknown.

use std::fmt;
use std::sync::Arc;

/// A named size variable (`n`, `batch`). Cheap to clone and compare.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(pub Arc<str>);

impl Symbol {
    pub fn new(name: &str) -> Self {
        Symbol(Arc::from(name))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `constant + sum(coeff * symbol)`, terms sorted by symbol, no zero coefficients.
/// A `DimExpr` with no terms is a literal size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DimExpr {
    pub constant: i64,
    pub terms: Vec<(Symbol, i64)>,
}

impl DimExpr {
    pub fn lit(value: i64) -> Self {
        DimExpr {
            constant: value,
            terms: Vec::new(),
        }
    }

    pub fn sym(symbol: Symbol) -> Self {
        DimExpr {
            constant: 0,
            terms: vec![(symbol, 1)],
        }
    }

    /// The literal value, if this expression has no symbols.
    pub fn as_lit(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.constant)
    }

    /// The symbol, if this expression is exactly one symbol.
    pub fn as_sym(&self) -> Option<&Symbol> {
        match self.terms.as_slice() {
            [(s, 1)] if self.constant == 0 => Some(s),
            _ => None,
        }
    }

    /// True when the expression mentions an internal symbol (`_3`: a data-dependent size
    /// or a callee's renamed symbol), which users see as `?`.
    pub fn has_internal_symbol(&self) -> bool {
        self.terms.iter().any(|(s, _)| s.as_str().starts_with('_'))
    }

    /// `self + other`; `None` on integer overflow.
    pub fn checked_add(&self, other: &DimExpr) -> Option<DimExpr> {
        self.combine(other, 1)
    }

    /// `self - other`; `None` on integer overflow.
    pub fn checked_sub(&self, other: &DimExpr) -> Option<DimExpr> {
        self.combine(other, -1)
    }

    /// `self * k` for an integer `k`; `None` on overflow.
    pub fn checked_scale(&self, k: i64) -> Option<DimExpr> {
        if k == 0 {
            return Some(DimExpr::lit(0));
        }
        let mut terms = Vec::with_capacity(self.terms.len());
        for (s, c) in &self.terms {
            terms.push((s.clone(), c.checked_mul(k)?));
        }
        Some(DimExpr {
            constant: self.constant.checked_mul(k)?,
            terms,
        })
    }

    /// `self * other` when at least one side is a literal (the result stays affine).
    pub fn checked_mul(&self, other: &DimExpr) -> Option<DimExpr> {
        match (self.as_lit(), other.as_lit()) {
            (Some(a), _) => other.checked_scale(a),
            (_, Some(b)) => self.checked_scale(b),
            _ => None,
        }
    }

    fn combine(&self, other: &DimExpr, sign: i64) -> Option<DimExpr> {
        let mut terms: Vec<(Symbol, i64)> = self.terms.clone();
        for (s, c) in &other.terms {
            let c = c.checked_mul(sign)?;
            match terms.binary_search_by(|(t, _)| t.cmp(s)) {
                Ok(i) => {
                    terms[i].1 = terms[i].1.checked_add(c)?;
                }
                Err(i) => terms.insert(i, (s.clone(), c)),
            }
        }
        terms.retain(|(_, c)| *c != 0);
        Some(DimExpr {
            constant: self
                .constant
                .checked_add(other.constant.checked_mul(sign)?)?,
            terms,
        })
    }
}

impl fmt::Display for DimExpr {
    /// `n`, `n + 1`, `2*k`, `n - m + 3`, `7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return write!(f, "{}", self.constant);
        }
        for (i, (s, c)) in self.terms.iter().enumerate() {
            let (neg, abs) = (*c < 0, c.unsigned_abs());
            match (i, neg) {
                (0, true) => f.write_str("-")?,
                (0, false) => {}
                (_, true) => f.write_str(" - ")?,
                (_, false) => f.write_str(" + ")?,
            }
            if abs != 1 {
                write!(f, "{abs}*")?;
            }
            write!(f, "{s}")?;
        }
        match self.constant {
            0 => Ok(()),
            c if c < 0 => write!(f, " - {}", c.unsigned_abs()),
            c => write!(f, " + {c}"),
        }
    }
}

/// One axis size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(DimExpr),
    /// Unknown size (`?`). Never warns.
    Unknown,
}

impl Dim {
    pub fn lit(value: i64) -> Self {
        Dim::Known(DimExpr::lit(value))
    }
    pub fn sym(name: &str) -> Self {
        Dim::Known(DimExpr::sym(Symbol::new(name)))
    }
    pub fn as_lit(&self) -> Option<i64> {
        match self {
            Dim::Known(e) => e.as_lit(),
            Dim::Unknown => None,
        }
    }
    pub fn expr(&self) -> Option<&DimExpr> {
        match self {
            Dim::Known(e) => Some(e),
            Dim::Unknown => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(e) => e.fmt(f),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_affine() {
        let n = DimExpr::sym(Symbol::new("n"));
        let k = DimExpr::sym(Symbol::new("k"));
        assert_eq!(
            n.checked_add(&DimExpr::lit(1)).unwrap().to_string(),
            "n + 1"
        );
        assert_eq!(k.checked_scale(2).unwrap().to_string(), "2*k");
        assert_eq!(n.checked_sub(&n).unwrap().to_string(), "0");
        assert_eq!(
            n.checked_sub(&k)
                .unwrap()
                .checked_sub(&DimExpr::lit(3))
                .unwrap()
                .to_string(),
            "-k + n - 3"
        );
    }
}

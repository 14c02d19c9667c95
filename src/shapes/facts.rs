//! What is known about sizes: an equality store over symbols and literals. Learned from
//! annotations, asserts, guards and operations that only succeed when sizes agree.

use super::dim::DimExpr;

/// Equality store (to be a union-find over symbols and literals).
#[derive(Debug, Clone, Default)]
pub struct SizeFacts {}

impl SizeFacts {
    /// `Some(true)` when `a == b` is known, `Some(false)` when `a != b` is known (different
    /// literals), `None` when it depends on run-time values.
    pub fn same(&self, a: &DimExpr, b: &DimExpr) -> Option<bool> {
        if a == b {
            return Some(true);
        }
        match (a.as_lit(), b.as_lit()) {
            (Some(x), Some(y)) => Some(x == y),
            _ => None,
        }
    }

    /// Records that `a == b` holds from here on (both canonicalised). Returns `false` when
    /// this contradicts what is known.
    pub fn assume_equal(&mut self, a: &DimExpr, b: &DimExpr) -> bool {
        self.same(a, b) != Some(false)
    }

    /// The canonical representative of `e` (a literal when one is known).
    pub fn canonical(&self, e: &DimExpr) -> DimExpr {
        e.clone()
    }
}

//! What is known about sizes: an equality store over symbols and literals (a union-find
//! whose classes may carry a literal value). Learned from annotations, asserts, guards and
//! operations that only succeed when sizes agree.

use std::collections::HashMap;

use super::dim::{DimExpr, Symbol};

/// Equality store: a union-find over symbols; each class may be bound to a literal.
///
/// The representative of a class is chosen so that printed shapes read well: a literal when
/// one is known, else a user-visible symbol (`n`) over an internal one (`_3`), else the symbol
/// that entered the store first.
#[derive(Debug, Clone, Default)]
pub struct SizeFacts {
    parent: HashMap<Symbol, Symbol>,
    /// Literal value of a class, keyed by its root.
    literal: HashMap<Symbol, i64>,
    /// First-seen order, for a stable choice of representative.
    order: HashMap<Symbol, u32>,
    next_order: u32,
}

/// Internal symbols (fresh data-dependent sizes, renamed callee symbols) start with `_`.
pub(crate) fn is_internal(s: &Symbol) -> bool {
    s.as_str().starts_with('_')
}

impl SizeFacts {
    /// `Some(true)` when `a == b` is known, `Some(false)` when `a != b` is known (they differ
    /// by a non-zero literal), `None` when it depends on run-time values.
    pub fn same(&self, a: &DimExpr, b: &DimExpr) -> Option<bool> {
        if a == b {
            return Some(true);
        }
        let diff = self.canonical(a).checked_sub(&self.canonical(b))?;
        diff.as_lit().map(|d| d == 0)
    }

    /// Records that `a == b` holds from here on. Returns `false` when this contradicts what
    /// is known (the store is then unchanged). Equalities that are not of the form
    /// `symbol == symbol` or `k*symbol + c == literal` are accepted but not learned.
    pub fn assume_equal(&mut self, a: &DimExpr, b: &DimExpr) -> bool {
        let (ca, cb) = (self.canonical(a), self.canonical(b));
        let Some(diff) = ca.checked_sub(&cb) else {
            return true;
        };
        match diff.terms.as_slice() {
            [] => diff.constant == 0,
            // k*s + c == 0  =>  s == -c / k when it divides; otherwise impossible.
            [(s, k)] => {
                let (k, c) = (*k, diff.constant);
                if c.checked_rem(k) != Some(0) {
                    return false;
                }
                match c.checked_div(k).and_then(i64::checked_neg) {
                    Some(v) => self.bind_literal(s, v),
                    None => true,
                }
            }
            // s1 - s2 == 0
            [(s1, 1), (s2, -1)] | [(s1, -1), (s2, 1)] if diff.constant == 0 => {
                // The left side's symbol enters first, so it represents the class when
                // neither is preferred otherwise.
                let (x, y) = if ca.terms.iter().any(|(s, _)| s == s2) {
                    (s2, s1)
                } else {
                    (s1, s2)
                };
                self.ensure(x);
                self.union(x, y)
            }
            _ => true,
        }
    }

    /// The canonical form of `e`: every symbol replaced by its class representative (a
    /// literal when one is known).
    pub fn canonical(&self, e: &DimExpr) -> DimExpr {
        if self.parent.is_empty() || e.terms.is_empty() {
            return e.clone();
        }
        let mut out = DimExpr::lit(e.constant);
        for (s, c) in &e.terms {
            let root = self.find(s);
            let term = match self.literal.get(&root) {
                Some(&v) => DimExpr::lit(v),
                None => DimExpr::sym(root),
            };
            match term.checked_scale(*c).and_then(|t| out.checked_add(&t)) {
                Some(sum) => out = sum,
                None => return e.clone(),
            }
        }
        out
    }

    /// Facts that hold in both `self` and `other` (where two control-flow paths merge).
    pub fn intersect(&self, other: &SizeFacts) -> SizeFacts {
        let mut out = SizeFacts::default();
        let mut symbols: Vec<&Symbol> = self.parent.keys().chain(other.parent.keys()).collect();
        symbols.sort_by_key(|s| {
            (
                self.order.get(*s).or(other.order.get(*s)).copied(),
                (*s).clone(),
            )
        });
        symbols.dedup();
        // Two symbols stay equal when they are equal on both sides.
        let mut first_of_class: HashMap<(DimExpr, DimExpr), Symbol> = HashMap::new();
        for s in symbols {
            let e = DimExpr::sym(s.clone());
            let (a, b) = (self.canonical(&e), other.canonical(&e));
            if let (Some(x), Some(y)) = (a.as_lit(), b.as_lit()) {
                if x == y {
                    out.bind_literal(s, x);
                    continue;
                }
            }
            match first_of_class.get(&(a.clone(), b.clone())) {
                Some(first) => {
                    let first = first.clone();
                    out.union(&first, s);
                }
                None => {
                    first_of_class.insert((a, b), s.clone());
                }
            }
        }
        out
    }

    /// True when both stores know exactly the same equalities.
    pub fn equivalent(&self, other: &SizeFacts) -> bool {
        self.parent.keys().chain(other.parent.keys()).all(|s| {
            let e = DimExpr::sym(s.clone());
            other.same(&e, &self.canonical(&e)) == Some(true)
                && self.same(&e, &other.canonical(&e)) == Some(true)
        })
    }

    /// Number of symbols the store knows about.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    fn find(&self, s: &Symbol) -> Symbol {
        let mut cur = s;
        // Paths are short (union links roots only), and we never loop: each link goes to
        // a symbol that was a root when linked.
        for _ in 0..self.parent.len() + 1 {
            match self.parent.get(cur) {
                Some(p) if p != cur => cur = p,
                _ => break,
            }
        }
        cur.clone()
    }

    fn ensure(&mut self, s: &Symbol) {
        if !self.parent.contains_key(s) {
            self.parent.insert(s.clone(), s.clone());
            self.order.insert(s.clone(), self.next_order);
            self.next_order += 1;
        }
    }

    /// Better representative first: user-visible before internal, then first seen.
    fn rank_key(&self, s: &Symbol) -> (bool, u32) {
        (
            is_internal(s),
            self.order.get(s).copied().unwrap_or(u32::MAX),
        )
    }

    fn union(&mut self, a: &Symbol, b: &Symbol) -> bool {
        self.ensure(a);
        self.ensure(b);
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (la, lb) = (
            self.literal.get(&ra).copied(),
            self.literal.get(&rb).copied(),
        );
        if let (Some(x), Some(y)) = (la, lb) {
            if x != y {
                return false;
            }
        }
        let (root, child) = if self.rank_key(&ra) <= self.rank_key(&rb) {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.literal.remove(&child);
        if let Some(v) = la.or(lb) {
            self.literal.insert(root.clone(), v);
        }
        self.parent.insert(child, root);
        true
    }

    fn bind_literal(&mut self, s: &Symbol, value: i64) -> bool {
        self.ensure(s);
        let root = self.find(s);
        match self.literal.get(&root) {
            Some(&v) => v == value,
            None => {
                self.literal.insert(root, value);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str) -> DimExpr {
        DimExpr::sym(Symbol::new(name))
    }

    fn lit(v: i64) -> DimExpr {
        DimExpr::lit(v)
    }

    #[test]
    fn unions_symbols_and_literals() {
        let mut f = SizeFacts::default();
        assert_eq!(f.same(&sym("n"), &sym("m")), None);
        assert!(f.assume_equal(&sym("n"), &sym("m")));
        assert_eq!(f.same(&sym("n"), &sym("m")), Some(true));
        assert_eq!(f.canonical(&sym("m")).to_string(), "n");
        assert!(f.assume_equal(&sym("m"), &lit(5)));
        assert_eq!(f.canonical(&sym("n")).to_string(), "5");
        assert_eq!(f.same(&sym("n"), &lit(6)), Some(false));
        assert!(!f.assume_equal(&sym("n"), &lit(6)));
        assert_eq!(f.canonical(&sym("n")).to_string(), "5");
    }

    #[test]
    fn solves_affine_against_literal() {
        let mut f = SizeFacts::default();
        let two_k_plus_1 = sym("k")
            .checked_scale(2)
            .unwrap()
            .checked_add(&lit(1))
            .unwrap();
        assert!(f.assume_equal(&two_k_plus_1, &lit(7)));
        assert_eq!(f.canonical(&sym("k")).to_string(), "3");
        assert!(!f.assume_equal(&sym("j").checked_scale(2).unwrap(), &lit(7)));
    }

    #[test]
    fn prefers_user_symbols_as_representatives() {
        let mut f = SizeFacts::default();
        assert!(f.assume_equal(&sym("_4"), &sym("batch")));
        assert_eq!(f.canonical(&sym("_4")).to_string(), "batch");
        assert_eq!(
            f.canonical(&sym("_4").checked_add(&lit(1)).unwrap())
                .to_string(),
            "batch + 1"
        );
    }

    #[test]
    fn intersection_keeps_common_facts() {
        let mut a = SizeFacts::default();
        let mut b = SizeFacts::default();
        assert!(a.assume_equal(&sym("n"), &sym("m")));
        assert!(a.assume_equal(&sym("k"), &lit(3)));
        assert!(b.assume_equal(&sym("n"), &sym("m")));
        assert!(b.assume_equal(&sym("k"), &lit(4)));
        assert!(b.assume_equal(&sym("p"), &lit(2)));
        let both = a.intersect(&b);
        assert_eq!(both.same(&sym("n"), &sym("m")), Some(true));
        assert_eq!(both.same(&sym("k"), &lit(3)), None);
        assert_eq!(both.same(&sym("p"), &lit(2)), None);
    }
}

//! Symbolic sizes: integer expressions over size variables (`N - w + 1`), their
//! evaluation with overflow checks, and a normal form that decides equality.

use std::collections::BTreeMap;
use std::fmt;

use super::program::SizeVarId;

/// An axis size, slice bound or index-variable domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Size {
    Const(i64),
    Var(SizeVarId),
    Add(Box<Size>, Box<Size>),
    Sub(Box<Size>, Box<Size>),
    Mul(Box<Size>, Box<Size>),
    /// Floor division (the divisor is positive wherever it is evaluated).
    FloorDiv(Box<Size>, Box<Size>),
}

/// Why a size could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeError {
    Unbound(SizeVarId),
    Overflow,
    DivisionByZero,
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeError::Unbound(id) => write!(f, "size variable #{} is not bound", id.0),
            SizeError::Overflow => f.write_str("size arithmetic overflows 64 bits"),
            SizeError::DivisionByZero => f.write_str("size division by zero"),
        }
    }
}

impl Size {
    pub fn plus(a: Size, b: Size) -> Size {
        Size::Add(Box::new(a), Box::new(b)).simplified()
    }
    pub fn minus(a: Size, b: Size) -> Size {
        Size::Sub(Box::new(a), Box::new(b)).simplified()
    }
    pub fn times(a: Size, b: Size) -> Size {
        Size::Mul(Box::new(a), Box::new(b)).simplified()
    }
    pub fn div_floor(a: Size, b: Size) -> Size {
        Size::FloorDiv(Box::new(a), Box::new(b)).simplified()
    }

    /// `self // d`, written as the cofactor when `self` is a product with `d` as a factor
    /// (`(g * h) // h` is `g`), so inferred sizes read naturally.
    pub fn divided_by(&self, d: &Size) -> Size {
        if let Size::Mul(a, b) = self {
            if b.same_as(d) {
                return (**a).clone();
            }
            if a.same_as(d) {
                return (**b).clone();
            }
            if let Size::Mul(_, _) = &**a {
                let inner = a.divided_by(d);
                if !matches!(inner, Size::FloorDiv(_, _)) {
                    return Size::times(inner, (**b).clone());
                }
            }
        }
        if d.as_const() == Some(1) {
            return self.clone();
        }
        Size::div_floor(self.clone(), d.clone())
    }

    /// The product of `sizes` (1 for none).
    pub fn product(sizes: impl IntoIterator<Item = Size>) -> Size {
        sizes.into_iter().fold(Size::Const(1), Size::times)
    }

    pub fn as_const(&self) -> Option<i64> {
        match self {
            Size::Const(c) => Some(*c),
            _ => None,
        }
    }

    /// Folds constant subtrees and the identities `x + 0`, `x * 1`, `x // 1`.
    fn simplified(self) -> Size {
        let binary = |a: &Size, b: &Size, f: fn(i64, i64) -> Option<i64>| match (a, b) {
            (Size::Const(x), Size::Const(y)) => f(*x, *y).map(Size::Const),
            _ => None,
        };
        let folded = match &self {
            Size::Add(a, b) => binary(a, b, i64::checked_add)
                .or_else(|| (a.as_const() == Some(0)).then(|| (**b).clone()))
                .or_else(|| (b.as_const() == Some(0)).then(|| (**a).clone())),
            Size::Sub(a, b) => binary(a, b, i64::checked_sub)
                .or_else(|| (b.as_const() == Some(0)).then(|| (**a).clone())),
            Size::Mul(a, b) => binary(a, b, i64::checked_mul)
                .or_else(|| (a.as_const() == Some(1)).then(|| (**b).clone()))
                .or_else(|| (b.as_const() == Some(1)).then(|| (**a).clone())),
            Size::FloorDiv(a, b) => {
                binary(a, b, floor_div).or_else(|| (b.as_const() == Some(1)).then(|| (**a).clone()))
            }
            Size::Const(_) | Size::Var(_) => None,
        };
        folded.unwrap_or(self)
    }

    /// The value given the size variables' values; checked arithmetic throughout.
    pub fn eval(&self, lookup: &dyn Fn(SizeVarId) -> Option<i64>) -> Result<i64, SizeError> {
        Ok(match self {
            Size::Const(c) => *c,
            Size::Var(v) => lookup(*v).ok_or(SizeError::Unbound(*v))?,
            Size::Add(a, b) => a
                .eval(lookup)?
                .checked_add(b.eval(lookup)?)
                .ok_or(SizeError::Overflow)?,
            Size::Sub(a, b) => a
                .eval(lookup)?
                .checked_sub(b.eval(lookup)?)
                .ok_or(SizeError::Overflow)?,
            Size::Mul(a, b) => a
                .eval(lookup)?
                .checked_mul(b.eval(lookup)?)
                .ok_or(SizeError::Overflow)?,
            Size::FloorDiv(a, b) => {
                let d = b.eval(lookup)?;
                if d == 0 {
                    return Err(SizeError::DivisionByZero);
                }
                floor_div(a.eval(lookup)?, d).ok_or(SizeError::Overflow)?
            }
        })
    }

    /// Replaces every size variable by `f(var)`.
    pub fn substitute(&self, f: &dyn Fn(SizeVarId) -> Size) -> Size {
        match self {
            Size::Const(c) => Size::Const(*c),
            Size::Var(v) => f(*v),
            Size::Add(a, b) => Size::plus(a.substitute(f), b.substitute(f)),
            Size::Sub(a, b) => Size::minus(a.substitute(f), b.substitute(f)),
            Size::Mul(a, b) => Size::times(a.substitute(f), b.substitute(f)),
            Size::FloorDiv(a, b) => Size::div_floor(a.substitute(f), b.substitute(f)),
        }
    }

    /// Size variables mentioned, in order of first appearance.
    pub fn vars(&self) -> Vec<SizeVarId> {
        let mut out = Vec::new();
        self.collect_vars(&mut out);
        out
    }

    fn collect_vars(&self, out: &mut Vec<SizeVarId>) {
        match self {
            Size::Const(_) => {}
            Size::Var(v) => {
                if !out.contains(v) {
                    out.push(*v)
                }
            }
            Size::Add(a, b) | Size::Sub(a, b) | Size::Mul(a, b) | Size::FloorDiv(a, b) => {
                a.collect_vars(out);
                b.collect_vars(out);
            }
        }
    }

    /// Equal for every value of the size variables (decided on the polynomial normal
    /// form; `false` when it cannot be shown).
    pub fn same_as(&self, other: &Size) -> bool {
        match (self.normal_form(), other.normal_form()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    /// Sum of monomials with integer coefficients; floor divisions that do not cancel
    /// stay as opaque atoms. None on coefficient overflow.
    fn normal_form(&self) -> Option<Poly> {
        Some(match self {
            Size::Const(c) => Poly::constant(*c),
            Size::Var(v) => Poly::atom(Atom::Var(*v)),
            Size::Add(a, b) => a.normal_form()?.add(&b.normal_form()?, 1)?,
            Size::Sub(a, b) => a.normal_form()?.add(&b.normal_form()?, -1)?,
            Size::Mul(a, b) => a.normal_form()?.mul(&b.normal_form()?)?,
            Size::FloorDiv(a, b) => {
                let (n, d) = (a.normal_form()?, b.normal_form()?);
                match n.divide_exactly(&d) {
                    Some(q) => q,
                    None => Poly::atom(Atom::Div(Box::new(n), Box::new(d))),
                }
            }
        })
    }

    /// Infix form with minimal parentheses.
    pub fn display(&self, name: &dyn Fn(SizeVarId) -> String) -> String {
        self.display_prec(name, 0)
    }

    fn display_prec(&self, name: &dyn Fn(SizeVarId) -> String, outer: u8) -> String {
        let (text, prec) = match self {
            Size::Const(c) => (c.to_string(), if *c < 0 { 0 } else { 9 }),
            Size::Var(v) => (name(*v), 9),
            Size::Add(a, b) => (
                format!("{} + {}", a.display_prec(name, 1), b.display_prec(name, 2)),
                1,
            ),
            Size::Sub(a, b) => (
                format!("{} - {}", a.display_prec(name, 1), b.display_prec(name, 2)),
                1,
            ),
            Size::Mul(a, b) => (
                format!("{} * {}", a.display_prec(name, 2), b.display_prec(name, 3)),
                2,
            ),
            Size::FloorDiv(a, b) => (
                format!("{} // {}", a.display_prec(name, 2), b.display_prec(name, 3)),
                2,
            ),
        };
        if prec < outer {
            format!("({text})")
        } else {
            text
        }
    }
}

/// Python's `//` on i64: None on division by zero or overflow.
pub fn floor_div(n: i64, d: i64) -> Option<i64> {
    let q = n.checked_div(d)?;
    Some(if n % d != 0 && ((n < 0) != (d < 0)) {
        q - 1
    } else {
        q
    })
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Atom {
    Var(SizeVarId),
    Div(Box<Poly>, Box<Poly>),
}

/// Monomial (sorted atoms) -> coefficient; zero coefficients are never stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Poly(BTreeMap<Vec<Atom>, i64>);

impl Poly {
    fn constant(c: i64) -> Poly {
        let mut m = BTreeMap::new();
        if c != 0 {
            m.insert(Vec::new(), c);
        }
        Poly(m)
    }

    fn atom(a: Atom) -> Poly {
        Poly(BTreeMap::from([(vec![a], 1)]))
    }

    fn add(&self, other: &Poly, sign: i64) -> Option<Poly> {
        let mut m = self.0.clone();
        for (mono, c) in &other.0 {
            let entry = m.entry(mono.clone()).or_insert(0);
            *entry = entry.checked_add(c.checked_mul(sign)?)?;
            if *entry == 0 {
                m.remove(mono);
            }
        }
        Some(Poly(m))
    }

    fn mul(&self, other: &Poly) -> Option<Poly> {
        let mut out = Poly::constant(0);
        for (ma, ca) in &self.0 {
            for (mb, cb) in &other.0 {
                let mut mono: Vec<Atom> = ma.iter().chain(mb).cloned().collect();
                mono.sort();
                let term = Poly(BTreeMap::from([(mono, ca.checked_mul(*cb)?)]));
                out = out.add(&term, 1)?;
            }
        }
        Some(out)
    }

    /// `self / d` when `d` is a single term dividing every term of `self` exactly.
    fn divide_exactly(&self, d: &Poly) -> Option<Poly> {
        let (dmono, dc) = match d.0.iter().collect::<Vec<_>>().as_slice() {
            [(m, c)] => ((*m).clone(), **c),
            _ => return None,
        };
        let mut out = BTreeMap::new();
        for (mono, c) in &self.0 {
            if c % dc != 0 {
                return None;
            }
            let mut rest = mono.clone();
            for a in &dmono {
                let pos = rest.iter().position(|x| x == a)?;
                rest.remove(pos);
            }
            out.insert(rest, c / dc);
        }
        Some(Poly(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(i: usize) -> Size {
        Size::Var(SizeVarId(i))
    }

    fn check(a: Size, b: Size, same: bool) {
        assert_eq!(a.same_as(&b), same, "{a:?} vs {b:?}");
    }

    #[test]
    fn equality_on_normal_form() {
        check(Size::plus(v(0), v(1)), Size::plus(v(1), v(0)), true);
        check(
            Size::plus(Size::minus(v(0), v(1)), Size::Const(1)),
            Size::minus(Size::plus(v(0), Size::Const(1)), v(1)),
            true,
        );
        check(
            Size::times(v(0), Size::Const(2)),
            Size::plus(v(0), v(0)),
            true,
        );
        check(v(0), v(1), false);
        check(Size::div_floor(Size::times(v(0), v(1)), v(1)), v(0), true);
        check(Size::div_floor(v(0), v(1)), v(0), false);
    }

    #[test]
    fn eval_is_checked_and_floors() {
        let look = |_| Some(i64::MAX);
        assert_eq!(
            Size::Add(Box::new(v(0)), Box::new(Size::Const(1))).eval(&look),
            Err(SizeError::Overflow)
        );
        let neg = Size::FloorDiv(Box::new(Size::Const(-7)), Box::new(Size::Const(2)));
        assert_eq!(neg.eval(&|_| None), Ok(-4));
    }
}

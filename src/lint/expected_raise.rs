//! Code that expects an exception: bodies of `with pytest.raises(...)` (and `assert_raises`,
//! `self.assertRaises`, `contextlib.suppress`) and of `try` blocks whose handlers catch what
//! NumPy raises. A definite error there is the point of the code (tests of error paths,
//! feature probes), so error-severity rules stay silent inside.

use ruff_python_ast::statement_visitor::{walk_stmt, StatementVisitor};
use ruff_text_size::{Ranged, TextRange};

use crate::python::ast::{self, Expr, Stmt};

/// Context managers that expect (or swallow) an exception, by the last name of the callee.
const RAISING_CONTEXTS: &[&str] = &[
    "raises",
    "assert_raises",
    "assert_raises_regex",
    "assertRaises",
    "assertRaisesRegex",
    "assertRaisesRegexp",
    "suppress",
];

/// Exception names whose handler catches what a shape error raises (ValueError, IndexError,
/// TypeError, AxisError, LinAlgError, AssertionError) or a superclass of them.
const CAUGHT: &[&str] = &[
    "ValueError",
    "IndexError",
    "TypeError",
    "AxisError",
    "LinAlgError",
    "AssertionError",
    "LookupError",
    "Exception",
    "BaseException",
];

/// The ranges of statements run under an expected exception, outermost first.
pub(crate) fn regions(suite: &[Stmt]) -> Vec<TextRange> {
    let mut finder = Finder {
        regions: Vec::new(),
    };
    finder.visit_body(suite);
    finder.regions
}

struct Finder {
    regions: Vec<TextRange>,
}

fn last_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

fn is_raising_context(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => {
            last_name(&call.func).is_some_and(|name| RAISING_CONTEXTS.contains(&name))
        }
        _ => false,
    }
}

fn catches_shape_errors(handler: &ast::ExceptHandler) -> bool {
    let ast::ExceptHandler::ExceptHandler(h) = handler;
    match h.type_.as_deref() {
        None => true,
        Some(Expr::Tuple(t)) => t
            .elts
            .iter()
            .any(|e| last_name(e).is_some_and(|n| CAUGHT.contains(&n))),
        Some(e) => last_name(e).is_some_and(|n| CAUGHT.contains(&n)),
    }
}

fn body_range(body: &[Stmt]) -> Option<TextRange> {
    Some(TextRange::new(body.first()?.start(), body.last()?.end()))
}

impl<'a> StatementVisitor<'a> for Finder {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::With(w) if w.items.iter().any(|i| is_raising_context(&i.context_expr)) => {
                self.regions.extend(body_range(&w.body));
            }
            Stmt::Try(t) if t.handlers.iter().any(catches_shape_errors) => {
                self.regions.extend(body_range(&t.body));
            }
            _ => {}
        }
        walk_stmt(self, stmt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::parse_module;

    /// The source text of each region found.
    fn check(source: &str, expected: &[&str]) {
        let module = parse_module(source);
        let found: Vec<&str> = regions(&module.suite).iter().map(|r| &source[*r]).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn finds_expected_raises() {
        check("with pytest.raises(ValueError):\n    a + b\n", &["a + b"]);
        check(
            "def t(self):\n    with self.assertRaises(IndexError), x:\n        a[9]\n        b\n",
            &["a[9]\n        b"],
        );
        check(
            "try:\n    a @ b\nexcept (KeyError, ValueError):\n    pass\n",
            &["a @ b"],
        );
        check("try:\n    a @ b\nexcept:\n    pass\n", &["a @ b"]);
        check(
            "try:\n    a @ b\nexcept np.linalg.LinAlgError:\n    pass\n",
            &["a @ b"],
        );
        check("try:\n    a @ b\nexcept KeyError:\n    pass\n", &[]);
        check("try:\n    a @ b\nfinally:\n    pass\n", &[]);
        check("with open(f):\n    a + b\n", &[]);
    }
}

//! Syntactic facts the walker needs before or beside walking: how imports bind NumPy, which
//! names a body assigns, which module names are bound exactly once, which attributes are
//! assigned outside `__init__`. Pure scans over the AST, bounded in depth.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::name::Name;
use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{self as ast, Expr, Pattern, Stmt};

use super::value::Value;

const MAX_SCAN_DEPTH: u32 = 200;

/// Cheap pre-check: a file that never mentions NumPy (or jaxtyping) has nothing to infer.
pub(crate) fn may_use_numpy(source: &str) -> bool {
    source.contains("numpy") || source.contains("jaxtyping")
}

/// `import numpy as np`, `import numpy`, `import numpy.linalg`, `import numpy.linalg as la`.
pub(crate) fn import_binding(alias: &ast::Alias) -> (String, Value) {
    let module = alias.name.id.as_str();
    match &alias.asname {
        Some(asname) => (
            asname.id.to_string(),
            numpy_path(module).map_or(Value::Unknown, Value::NumpyRef),
        ),
        None => {
            // `import a.b.c` binds `a`.
            let top = module.split('.').next().unwrap_or(module);
            let value = if top == "numpy" {
                Value::NumpyRef(String::new())
            } else {
                Value::Unknown
            };
            (top.to_string(), value)
        }
    }
}

/// `from numpy import zeros, linalg`, `from numpy.linalg import solve as s`. `None` for
/// star imports (never guessed) and relative imports.
pub(crate) fn import_from_binding(
    stmt: &ast::StmtImportFrom,
    alias: &ast::Alias,
) -> Option<(String, Value)> {
    let name = alias.name.id.as_str();
    if name == "*" {
        return None;
    }
    let bound = alias
        .asname
        .as_ref()
        .map_or(name, |a| a.id.as_str())
        .to_string();
    let value = match (&stmt.module, stmt.level) {
        (Some(m), 0) => match numpy_path(m.id.as_str()) {
            Some(p) if p.is_empty() => Value::NumpyRef(name.to_string()),
            Some(p) => Value::NumpyRef(format!("{p}.{name}")),
            None => Value::Unknown,
        },
        _ => Value::Unknown,
    };
    Some((bound, value))
}

/// `numpy` -> `""`, `numpy.linalg` -> `"linalg"`, anything else -> `None`.
fn numpy_path(module: &str) -> Option<String> {
    if module == "numpy" {
        Some(String::new())
    } else {
        module.strip_prefix("numpy.").map(str::to_string)
    }
}

/// Calls `visit` on each statement list nested directly in `stmt` (not function or class
/// bodies).
pub(crate) fn for_each_child_body<'a>(stmt: &'a Stmt, mut visit: impl FnMut(&'a [Stmt])) {
    match stmt {
        Stmt::If(s) => {
            visit(&s.body);
            for c in &s.elif_else_clauses {
                visit(&c.body);
            }
        }
        Stmt::For(s) => {
            visit(&s.body);
            visit(&s.orelse);
        }
        Stmt::While(s) => {
            visit(&s.body);
            visit(&s.orelse);
        }
        Stmt::With(s) => visit(&s.body),
        Stmt::Try(s) => {
            visit(&s.body);
            for h in &s.handlers {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                visit(&h.body);
            }
            visit(&s.orelse);
            visit(&s.finalbody);
        }
        Stmt::Match(s) => {
            for c in &s.cases {
                visit(&c.body);
            }
        }
        _ => {}
    }
}

/// Names a body binds in its own scope (assignments, loop and `with` targets, imports,
/// `def`/`class` names, `except ... as`, match captures, walrus), nested blocks included,
/// nested function and class bodies excluded.
pub(crate) fn assigned_names(body: &[Stmt]) -> HashSet<Name> {
    let mut out = HashSet::new();
    let mut counts = HashMap::new();
    scan_bindings(body, &mut out, &mut counts, false, 0);
    out
}

/// Module names bound exactly once, outside any loop, and never declared `global`.
pub(crate) fn single_bindings(body: &[Stmt]) -> HashSet<Name> {
    let mut names = HashSet::new();
    let mut counts: HashMap<Name, u32> = HashMap::new();
    scan_bindings(body, &mut names, &mut counts, false, 0);
    let mut globals = HashSet::new();
    declared_global(body, &mut globals, 0);
    counts
        .into_iter()
        .filter(|(n, c)| *c == 1 && !globals.contains(n))
        .map(|(n, _)| n)
        .collect()
}

fn declared_global(body: &[Stmt], out: &mut HashSet<Name>, depth: u32) {
    if depth > MAX_SCAN_DEPTH {
        return;
    }
    for stmt in body {
        match stmt {
            Stmt::Global(g) => out.extend(g.names.iter().map(|n| n.id.clone())),
            Stmt::FunctionDef(d) => declared_global(&d.body, out, depth + 1),
            Stmt::ClassDef(d) => declared_global(&d.body, out, depth + 1),
            _ => for_each_child_body(stmt, |b| declared_global(b, out, depth + 1)),
        }
    }
}

fn scan_bindings(
    body: &[Stmt],
    out: &mut HashSet<Name>,
    counts: &mut HashMap<Name, u32>,
    in_loop: bool,
    depth: u32,
) {
    if depth > MAX_SCAN_DEPTH {
        return;
    }
    for stmt in body {
        let mut targets: Vec<&Expr> = Vec::new();
        match stmt {
            Stmt::Assign(s) => targets.extend(s.targets.iter()),
            Stmt::AnnAssign(s) if s.value.is_some() => targets.push(&s.target),
            Stmt::AugAssign(s) => targets.push(&s.target),
            Stmt::For(s) => {
                let mut names = HashSet::new();
                target_names(&s.target, &mut names);
                for n in &names {
                    bind(n, out, counts, in_loop);
                    bind(n, out, counts, in_loop);
                }
            }
            Stmt::With(s) => {
                for item in &s.items {
                    if let Some(t) = &item.optional_vars {
                        targets.push(t);
                    }
                }
            }
            Stmt::Import(s) => {
                for a in &s.names {
                    let n = match &a.asname {
                        Some(x) => x.id.clone(),
                        None => Name::new(a.name.id.split('.').next().unwrap_or("")),
                    };
                    bind(&n, out, counts, in_loop);
                }
            }
            Stmt::ImportFrom(s) => {
                for a in &s.names {
                    let n = a.asname.as_ref().unwrap_or(&a.name);
                    bind(&n.id, out, counts, in_loop);
                }
            }
            Stmt::FunctionDef(d) => bind(&d.name.id, out, counts, in_loop),
            Stmt::ClassDef(d) => bind(&d.name.id, out, counts, in_loop),
            Stmt::Delete(s) => targets.extend(s.targets.iter()),
            Stmt::Try(s) => {
                for h in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(n) = &h.name {
                        bind(&n.id, out, counts, in_loop);
                    }
                }
            }
            Stmt::Match(s) => {
                let mut names = HashSet::new();
                for c in &s.cases {
                    pattern_names(&c.pattern, &mut names);
                }
                for n in &names {
                    bind(n, out, counts, in_loop);
                }
            }
            _ => {}
        }
        let mut names = HashSet::new();
        for t in targets {
            target_names(t, &mut names);
        }
        let mut walrus = WalrusTargets {
            out: &mut names,
            depth: 0,
            top: true,
        };
        walrus.visit_stmt(stmt);
        for n in &names {
            bind(n, out, counts, in_loop);
        }
        let child_in_loop = in_loop || matches!(stmt, Stmt::For(_) | Stmt::While(_));
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            for_each_child_body(stmt, |b| {
                scan_bindings(b, out, counts, child_in_loop, depth + 1)
            });
        }
    }
}

fn bind(n: &Name, out: &mut HashSet<Name>, counts: &mut HashMap<Name, u32>, in_loop: bool) {
    out.insert(n.clone());
    // A binding inside a loop may run many times: count it as two.
    *counts.entry(n.clone()).or_insert(0) += if in_loop { 2 } else { 1 };
}

fn target_names(t: &Expr, out: &mut HashSet<Name>) {
    match t {
        Expr::Name(n) => {
            out.insert(n.id.clone());
        }
        Expr::Tuple(x) => x.elts.iter().for_each(|e| target_names(e, out)),
        Expr::List(x) => x.elts.iter().for_each(|e| target_names(e, out)),
        Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

/// Collects the targets of `:=` in the expressions of one statement (not in nested
/// statements, which the scans visit themselves, nor in lambdas, which have their own scope).
struct WalrusTargets<'o> {
    out: &'o mut HashSet<Name>,
    depth: u32,
    top: bool,
}

impl<'a> Visitor<'a> for WalrusTargets<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if std::mem::take(&mut self.top) {
            walk_stmt(self, stmt);
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_SCAN_DEPTH {
            return;
        }
        match expr {
            Expr::Named(n) => target_names(&n.target, self.out),
            Expr::Lambda(_) => return,
            _ => {}
        }
        self.depth += 1;
        walk_expr(self, expr);
        self.depth -= 1;
    }
}

/// Names `:=` binds anywhere inside `expr` (comprehensions included: there the walrus
/// binds in the enclosing scope).
pub(crate) fn walrus_targets(expr: &Expr) -> HashSet<Name> {
    let mut out = HashSet::new();
    let mut v = WalrusTargets {
        out: &mut out,
        depth: 0,
        top: false,
    };
    v.visit_expr(expr);
    out
}

/// Names a match pattern captures.
pub(crate) fn pattern_names(p: &Pattern, out: &mut HashSet<Name>) {
    match p {
        Pattern::MatchAs(a) => {
            if let Some(n) = &a.name {
                out.insert(n.id.clone());
            }
            if let Some(p) = &a.pattern {
                pattern_names(p, out);
            }
        }
        Pattern::MatchStar(s) => {
            if let Some(n) = &s.name {
                out.insert(n.id.clone());
            }
        }
        Pattern::MatchSequence(s) => s.patterns.iter().for_each(|p| pattern_names(p, out)),
        Pattern::MatchOr(s) => s.patterns.iter().for_each(|p| pattern_names(p, out)),
        Pattern::MatchMapping(m) => {
            m.patterns.iter().for_each(|p| pattern_names(p, out));
            if let Some(r) = &m.rest {
                out.insert(r.id.clone());
            }
        }
        Pattern::MatchClass(c) => {
            c.arguments
                .patterns
                .iter()
                .for_each(|p| pattern_names(p, out));
            c.arguments
                .keywords
                .iter()
                .for_each(|k| pattern_names(&k.pattern, out));
        }
        Pattern::MatchValue(_) | Pattern::MatchSingleton(_) => {}
    }
}

/// Attribute names assigned anywhere other than on `self` directly inside an `__init__`;
/// values of such attributes may change after construction, so they are never trusted.
pub(crate) fn untrusted_attributes(body: &[Stmt]) -> HashSet<Name> {
    let mut out = HashSet::new();
    scan_attributes(body, false, &mut out, 0);
    out
}

fn scan_attributes(body: &[Stmt], in_init: bool, out: &mut HashSet<Name>, depth: u32) {
    if depth > MAX_SCAN_DEPTH {
        return;
    }
    for stmt in body {
        let targets: Vec<&Expr> = match stmt {
            Stmt::Assign(s) => s.targets.iter().collect(),
            Stmt::AnnAssign(s) => vec![&s.target],
            Stmt::AugAssign(s) => vec![&s.target],
            Stmt::For(s) => vec![&s.target],
            Stmt::With(s) => s
                .items
                .iter()
                .filter_map(|i| i.optional_vars.as_deref())
                .collect(),
            Stmt::Delete(s) => s.targets.iter().collect(),
            _ => Vec::new(),
        };
        // Plain `self.x = ...` in `__init__` is what defines the attribute; anything else
        // (augmented, deleted, in a loop target, elsewhere) makes it untrusted.
        let defining = in_init && matches!(stmt, Stmt::Assign(_) | Stmt::AnnAssign(_));
        for t in targets {
            attribute_targets(t, defining, out);
        }
        match stmt {
            Stmt::FunctionDef(d) => {
                scan_attributes(&d.body, d.name.id.as_str() == "__init__", out, depth + 1)
            }
            Stmt::ClassDef(d) => scan_attributes(&d.body, false, out, depth + 1),
            _ => for_each_child_body(stmt, |b| scan_attributes(b, in_init, out, depth + 1)),
        }
    }
}

fn attribute_targets(t: &Expr, defining: bool, out: &mut HashSet<Name>) {
    match t {
        Expr::Attribute(a) => {
            let on_self = matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self");
            if !(defining && on_self) {
                out.insert(a.attr.id.clone());
            }
        }
        Expr::Tuple(x) => x
            .elts
            .iter()
            .for_each(|e| attribute_targets(e, defining, out)),
        Expr::List(x) => x
            .elts
            .iter()
            .for_each(|e| attribute_targets(e, defining, out)),
        Expr::Starred(s) => attribute_targets(&s.value, defining, out),
        _ => {}
    }
}

/// Names mentioned inside the nested scopes that outlive their creation (functions,
/// lambdas, generator expressions) of a body: a mutable value bound to one of them may be
/// changed whenever such a closure runs, which can be at any later call. Over-approximates
/// (every name in a nested scope counts, its own locals included), which only costs
/// precision.
pub(crate) fn captured_names(body: &[Stmt]) -> HashSet<Name> {
    let mut v = CapturedNames {
        out: HashSet::new(),
        nested: 0,
        depth: 0,
    };
    for stmt in body {
        v.visit_stmt(stmt);
    }
    v.out
}

struct CapturedNames {
    out: HashSet<Name>,
    /// How many closure scopes enclose the current node.
    nested: u32,
    depth: u32,
}

impl<'a> Visitor<'a> for CapturedNames {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth > MAX_SCAN_DEPTH {
            return;
        }
        self.depth += 1;
        let closure = matches!(stmt, Stmt::FunctionDef(_));
        self.nested += u32::from(closure);
        walk_stmt(self, stmt);
        self.nested -= u32::from(closure);
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_SCAN_DEPTH {
            return;
        }
        self.depth += 1;
        if let Expr::Name(n) = expr {
            if self.nested > 0 {
                self.out.insert(n.id.clone());
            }
        }
        if let Expr::Call(c) = expr {
            // A generator passed straight to a call (`sum(len(x) for x in xs)`) runs
            // there, like a comprehension.
            self.visit_expr(&c.func);
            for a in c.arguments.args.iter() {
                if a.is_generator_expr() {
                    walk_expr(self, a);
                } else {
                    self.visit_expr(a);
                }
            }
            for k in c.arguments.keywords.iter() {
                self.visit_expr(&k.value);
            }
            self.depth -= 1;
            return;
        }
        let closure = matches!(expr, Expr::Lambda(_) | Expr::Generator(_));
        self.nested += u32::from(closure);
        walk_expr(self, expr);
        self.nested -= u32::from(closure);
        self.depth -= 1;
    }
}

/// Names a list, set or dict comprehension mentions, and whether it calls anything other
/// than a builtin known not to mutate its arguments. Such a call may mutate a list the
/// comprehension names (`[xs.append(i) for i in r]`).
pub(crate) fn comprehension_names(expr: &Expr) -> (HashSet<Name>, bool) {
    let mut v = ComprehensionNames {
        out: HashSet::new(),
        calls: false,
        depth: 0,
    };
    v.visit_expr(expr);
    (v.out, v.calls)
}

struct ComprehensionNames {
    out: HashSet<Name>,
    calls: bool,
    depth: u32,
}

impl<'a> Visitor<'a> for ComprehensionNames {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_SCAN_DEPTH {
            self.calls = true;
            return;
        }
        match expr {
            Expr::Name(n) => {
                self.out.insert(n.id.clone());
            }
            Expr::Call(c) => {
                let pure = matches!(&*c.func, Expr::Name(n) if matches!(
                    n.id.as_str(),
                    "len" | "range" | "enumerate" | "zip" | "int" | "float" | "str" | "abs"
                        | "min" | "max" | "tuple" | "isinstance"
                ));
                self.calls |= !pure;
            }
            _ => {}
        }
        self.depth += 1;
        walk_expr(self, expr);
        self.depth -= 1;
    }
}

/// True when a function body is a generator (its call returns a generator, not a value).
pub(crate) fn contains_yield(body: &[Stmt]) -> bool {
    body.iter().any(|s| stmt_has_yield(s, 0))
}

fn stmt_has_yield(stmt: &Stmt, depth: u32) -> bool {
    if depth > MAX_SCAN_DEPTH {
        return true;
    }
    let here = match stmt {
        Stmt::Expr(s) => expr_is_yield(&s.value),
        Stmt::Assign(s) => expr_is_yield(&s.value),
        Stmt::AnnAssign(s) => s.value.as_deref().is_some_and(expr_is_yield),
        Stmt::AugAssign(s) => expr_is_yield(&s.value),
        Stmt::Return(s) => s.value.as_deref().is_some_and(expr_is_yield),
        _ => false,
    };
    if here {
        return true;
    }
    let mut found = false;
    if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
        for_each_child_body(stmt, |b| {
            found = found || b.iter().any(|s| stmt_has_yield(s, depth + 1));
        });
    }
    found
}

fn expr_is_yield(e: &Expr) -> bool {
    match e {
        Expr::Yield(_) | Expr::YieldFrom(_) | Expr::Await(_) => true,
        Expr::Tuple(t) => t.elts.iter().any(expr_is_yield),
        Expr::Named(n) => expr_is_yield(&n.value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::parse_module;

    #[test]
    fn single_bindings_exclude_loops_and_rebinds() {
        let m = parse_module(
            "import numpy as np\nN = 5\nM = 1\nM = 2\nfor i in range(3):\n    K = i\ndef f():\n    global G\n    G = 1\nG = 0\n",
        );
        let s = single_bindings(&m.suite);
        assert!(s.contains("np"));
        assert!(s.contains("N"));
        assert!(s.contains("f"));
        assert!(!s.contains("M"));
        assert!(!s.contains("K"));
        assert!(!s.contains("i"));
        assert!(!s.contains("G"));
    }

    #[test]
    fn untrusted_attributes_are_those_assigned_outside_init() {
        let m = parse_module(
            "class A:\n    def __init__(self):\n        self.w = 1\n        self.b = 2\n        self.c += 1\n    def fit(self):\n        self.b = 3\nobj.d = 4\n",
        );
        let u = untrusted_attributes(&m.suite);
        assert!(!u.contains("w"));
        assert!(u.contains("b"));
        assert!(u.contains("c"));
        assert!(u.contains("d"));
    }
}

//! The checker: resolves names, infers index-variable domains from whole-axis uses (all
//! uses must agree), types every expression (dtype and positional shape), and enforces
//! single assignment, explicit reduction and fixed-rank signatures. Never fails: every
//! problem becomes a diagnostic and checking carries on with the next definition.

use std::collections::HashMap;

use ruff_text_size::TextRange;

use super::ast::{self, ExprKind as A, SizeExprKind};
use super::builtins::{Builtin, DtypeRule};
use super::dtype::Dtype;
use super::parser::parse;
use super::program::*;
use super::size::Size;
use crate::diagnostic::{Diagnostic, Severity};

/// Parses and checks `source`. The program is returned only when there are no errors.
pub fn check_source(source: &str) -> (Option<CheckedProgram>, Vec<Diagnostic>) {
    let (file, errors) = parse(source);
    if !errors.is_empty() {
        // Items that failed to parse are missing; checking would report them as unknown.
        return (None, errors);
    }
    check(&file)
}

/// Checks a parsed file. The program is returned only when there are no errors.
pub fn check(file: &ast::SourceFile) -> (Option<CheckedProgram>, Vec<Diagnostic>) {
    let mut checker = Checker {
        prog: CheckedProgram {
            size_vars: Vec::new(),
            arrays: Vec::new(),
            index_vars: Vec::new(),
            functions: Vec::new(),
            inputs: Vec::new(),
            size_inputs: Vec::new(),
            definitions: Vec::new(),
            outputs: Vec::new(),
        },
        errors: Vec::new(),
        functions: HashMap::new(),
        poisoned_functions: Vec::new(),
    };
    let mut scope = Scope::default();
    let mut saw_output = false;
    for item in &file.items {
        match item {
            ast::Item::Input(d) => checker.input(d, &mut scope),
            ast::Item::Size(d) => {
                for name in &d.names {
                    if checker.declare_free(&scope, name) {
                        let id = checker.new_size_var(&name.name, name.range, SizeOrigin::Declared);
                        checker.prog.size_inputs.push(id);
                        scope.insert(name, Symbol::Size(id));
                    }
                }
            }
            ast::Item::Output(d) => {
                saw_output = true;
                for name in &d.names {
                    match scope.symbols.get(&name.name) {
                        Some((Symbol::Array(id), _)) => {
                            if checker.prog.outputs.contains(id) {
                                checker.error(
                                    "overt::output",
                                    name.range,
                                    format!("`{}` is already an output", name.name),
                                );
                            } else {
                                checker.prog.outputs.push(*id);
                            }
                        }
                        Some((Symbol::Poisoned, _)) => {}
                        _ => checker.error(
                            "overt::unknown-name",
                            name.range,
                            format!("`{}` is not an array defined above", name.name),
                        ),
                    }
                }
            }
            ast::Item::Function(f) => checker.function(f, &scope),
            ast::Item::Definition(d) => {
                if let Some(def) = checker.definition(d, &mut scope, None) {
                    checker.prog.definitions.push(def);
                }
            }
        }
    }
    if !saw_output {
        checker.errors.push(
            Diagnostic::new(
                "overt::output",
                Severity::Error,
                TextRange::default(),
                "the program has no `output`",
            )
            .with_help("name the results with `output NAME, ...`"),
        );
    }
    let Checker { prog, errors, .. } = checker;
    if errors.is_empty() {
        (Some(prog), errors)
    } else {
        (None, errors)
    }
}

#[derive(Clone, Copy, Debug)]
enum Symbol {
    Array(ArrayId),
    Size(SizeVarId),
    /// A name whose declaration failed to check: uses of it report nothing more.
    Poisoned,
}

#[derive(Default)]
struct Scope {
    symbols: HashMap<String, (Symbol, TextRange)>,
}

impl Scope {
    fn insert(&mut self, name: &ast::Ident, symbol: Symbol) {
        self.symbols.insert(name.name.clone(), (symbol, name.range));
    }
}

/// Index variables visible while typing an expression, innermost last.
#[derive(Default, Clone)]
struct Bound {
    vars: Vec<(String, IndexVarId)>,
}

impl Bound {
    fn get(&self, name: &str) -> Option<IndexVarId> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }
}

/// A whole-axis use of an index variable: evidence for its domain.
struct DomainUse {
    size: Size,
    range: TextRange,
    /// "axis 1 of `A`"
    what: String,
}

struct Checker {
    prog: CheckedProgram,
    errors: Vec<Diagnostic>,
    functions: HashMap<String, FunctionId>,
    poisoned_functions: Vec<String>,
}

const CAST_NAMES: [&str; 4] = ["bool", "i64", "f32", "f64"];

impl Checker {
    fn error(&mut self, code: &'static str, range: TextRange, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::new(code, Severity::Error, range, message));
    }

    fn push(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    fn new_size_var(&mut self, name: &str, range: TextRange, origin: SizeOrigin) -> SizeVarId {
        self.prog.size_vars.push(SizeVar {
            name: name.to_string(),
            range,
            origin,
        });
        SizeVarId(self.prog.size_vars.len() - 1)
    }

    fn new_array(&mut self, array: Array) -> ArrayId {
        self.prog.arrays.push(array);
        ArrayId(self.prog.arrays.len() - 1)
    }

    fn new_index_var(&mut self, name: &str, domain: Size, range: TextRange) -> IndexVarId {
        self.prog.index_vars.push(IndexVar {
            name: name.to_string(),
            domain,
            range,
        });
        IndexVarId(self.prog.index_vars.len() - 1)
    }

    fn show(&self, size: &Size) -> String {
        self.prog.display_size(size)
    }

    fn show_shape(&self, shape: &[Size]) -> String {
        let dims: Vec<String> = shape.iter().map(|s| self.show(s)).collect();
        format!("[{}]", dims.join(", "))
    }

    /// True when `name` may be declared in `scope`; reports a redefinition otherwise.
    fn declare_free(&mut self, scope: &Scope, name: &ast::Ident) -> bool {
        if let Some((_, prev)) = scope.symbols.get(&name.name) {
            let prev = *prev;
            self.push(
                Diagnostic::new(
                    "overt::redefined",
                    Severity::Error,
                    name.range,
                    format!("`{}` is already defined", name.name),
                )
                .with_label(prev, "first defined here")
                .with_help("every name is defined once (single assignment); pick a new name"),
            );
            return false;
        }
        if reserved(&name.name) || self.functions.contains_key(&name.name) {
            self.error(
                "overt::redefined",
                name.range,
                format!("`{}` names a function; pick another name", name.name),
            );
            return false;
        }
        true
    }

    /// Resolves a size expression; unknown size variables are reported.
    fn size(&mut self, e: &ast::SizeExpr, scope: &Scope) -> Option<Size> {
        Some(match &e.kind {
            SizeExprKind::Int(i) => Size::Const(*i),
            SizeExprKind::Var(id) => match scope.symbols.get(&id.name) {
                Some((Symbol::Size(v), _)) => Size::Var(*v),
                Some((Symbol::Poisoned, _)) => return None,
                Some((Symbol::Array(_), _)) => {
                    self.error(
                        "overt::unknown-name",
                        id.range,
                        format!("`{}` is an array, not a size", id.name),
                    );
                    return None;
                }
                None => {
                    self.push(
                        Diagnostic::new(
                            "overt::unknown-name",
                            Severity::Error,
                            id.range,
                            format!("unknown size `{}`", id.name),
                        )
                        .with_help(format!(
                            "sizes come from input shapes or `size {}` declarations",
                            id.name
                        )),
                    );
                    return None;
                }
            },
            SizeExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.size(lhs, scope), self.size(rhs, scope));
                let (a, b) = (a?, b?);
                match op {
                    ast::SizeOp::Add => Size::plus(a, b),
                    ast::SizeOp::Sub => Size::minus(a, b),
                    ast::SizeOp::Mul => Size::times(a, b),
                    ast::SizeOp::FloorDiv => Size::div_floor(a, b),
                }
            }
        })
    }

    /// Declares the size variables a type binds (plain-name dims) and resolves the dims.
    fn bind_type_dims(
        &mut self,
        ty: &ast::ArrayType,
        scope: &mut Scope,
        origin: &dyn Fn(usize) -> SizeOrigin,
    ) -> Option<Vec<Size>> {
        // First pass: plain names bind new size variables.
        for (axis, dim) in ty.dims.iter().enumerate() {
            if let SizeExprKind::Var(id) = &dim.kind {
                if !scope.symbols.contains_key(&id.name) && !reserved(&id.name) {
                    let v = self.new_size_var(&id.name, id.range, origin(axis));
                    scope.insert(id, Symbol::Size(v));
                }
            }
        }
        let mut dims = Vec::new();
        let mut ok = true;
        for dim in &ty.dims {
            match self.size(dim, scope) {
                Some(s) => dims.push(s),
                None => ok = false,
            }
        }
        ok.then_some(dims)
    }

    fn input(&mut self, d: &ast::InputDecl, scope: &mut Scope) {
        if !self.declare_free(scope, &d.name) {
            return;
        }
        // Poisoned until it checks, so a bad declaration is reported once.
        scope.insert(&d.name, Symbol::Poisoned);
        let next = ArrayId(self.prog.arrays.len());
        let Some(shape) = self.bind_type_dims(&d.ty, scope, &|axis| SizeOrigin::Input {
            array: next,
            axis,
        }) else {
            return;
        };
        let id = self.new_array(Array {
            name: d.name.name.clone(),
            dtype: d.ty.dtype,
            shape,
            range: d.name.range,
            kind: ArrayKind::Input,
        });
        scope.insert(&d.name, Symbol::Array(id));
        self.prog.inputs.push(id);
    }

    fn function(&mut self, f: &ast::FunctionDef, global: &Scope) {
        if !self.declare_free(global, &f.name) {
            return;
        }
        // Poisoned until it checks, so calls of a bad function are not reported again.
        self.poisoned_functions.push(f.name.name.clone());
        let fid = FunctionId(self.prog.functions.len());
        let mut scope = Scope::default();
        let first_size = self.prog.size_vars.len();
        let mut params = Vec::new();
        let mut ok = true;
        for (position, p) in f.params.iter().enumerate() {
            if !self.declare_free(&scope, &p.name) {
                ok = false;
                continue;
            }
            let Some(shape) =
                self.bind_type_dims(&p.ty, &mut scope, &|_| SizeOrigin::Param { function: fid })
            else {
                ok = false;
                continue;
            };
            let id = self.new_array(Array {
                name: p.name.name.clone(),
                dtype: p.ty.dtype,
                shape,
                range: p.name.range,
                kind: ArrayKind::Param {
                    function: fid,
                    position,
                },
            });
            scope.insert(&p.name, Symbol::Array(id));
            params.push(id);
        }
        let size_vars: Vec<SizeVarId> = (first_size..self.prog.size_vars.len())
            .map(SizeVarId)
            .collect();
        let mut ret = Vec::new();
        for dim in &f.ret.dims {
            match self.size(dim, &scope) {
                Some(s) => ret.push(s),
                None => ok = false,
            }
        }
        let mut definitions = Vec::new();
        for d in &f.body {
            match self.definition(d, &mut scope, Some(fid)) {
                Some(def) => definitions.push(def),
                None => ok = false,
            }
        }
        let result = match scope.symbols.get(&f.result.name) {
            Some((Symbol::Array(id), _)) => Some(*id),
            // Its definition failed and was reported.
            Some((Symbol::Poisoned, _)) => None,
            _ => {
                self.error(
                    "overt::unknown-name",
                    f.result.range,
                    format!("`{}` is not an array of this function", f.result.name),
                );
                None
            }
        };
        let Some(result) = result else { return };
        let arr = self.prog.array(result).clone();
        let shape_ok =
            arr.shape.len() == ret.len() && arr.shape.iter().zip(&ret).all(|(a, b)| a.same_as(b));
        if ok && (arr.dtype != f.ret.dtype || !shape_ok) {
            self.push(
                Diagnostic::new(
                    "overt::signature",
                    Severity::Error,
                    f.result.range,
                    format!(
                        "`{}` is {}{} but the function returns {}{}",
                        arr.name,
                        arr.dtype,
                        self.show_shape(&arr.shape),
                        f.ret.dtype,
                        self.show_shape(&ret)
                    ),
                )
                .with_label(f.ret.range, "declared here"),
            );
            ok = false;
        }
        if ok {
            self.prog.functions.push(Function {
                name: f.name.name.clone(),
                params,
                size_vars,
                definitions,
                result,
                range: f.range,
            });
            self.functions.insert(f.name.name.clone(), fid);
            self.poisoned_functions.retain(|n| n != &f.name.name);
        }
    }

    /// Checks a definition; when it fails, its name is poisoned so that later uses do
    /// not repeat the error.
    fn definition(
        &mut self,
        d: &ast::Definition,
        scope: &mut Scope,
        function: Option<FunctionId>,
    ) -> Option<Definition> {
        let fresh = !scope.symbols.contains_key(&d.target.name);
        let checked = self.definition_unpoisoned(d, scope, function);
        if checked.is_none() && fresh && !scope.symbols.contains_key(&d.target.name) {
            scope.insert(&d.target, Symbol::Poisoned);
        }
        checked
    }

    fn definition_unpoisoned(
        &mut self,
        d: &ast::Definition,
        scope: &mut Scope,
        function: Option<FunctionId>,
    ) -> Option<Definition> {
        if !self.declare_free(scope, &d.target) {
            return None;
        }
        if let A::Call { func, args } = &d.value.kind {
            if Builtin::from_name(&func.name) == Some(Builtin::Nonzero) {
                return self.nonzero_definition(d, args, scope, function);
            }
        }
        let slots: &[ast::LhsSlot] = d.slots.as_deref().unwrap_or(&[]);
        // The LHS binds index variables; their domains come from the whole-axis uses.
        let mut binders: Vec<&ast::Binder> = Vec::new();
        for slot in slots {
            match slot {
                ast::LhsSlot::Var(b) => binders.push(b),
                ast::LhsSlot::Group(bs, _) => binders.extend(bs),
                ast::LhsSlot::Whole(_) | ast::LhsSlot::NewAxis(_) => {}
            }
        }
        let mut bound = Bound::default();
        let vars = self.bind_vars(&binders, &[&d.value], scope, &mut bound, &Bound::default())?;
        let value = self.expr(&d.value, scope, &bound);
        let value = value?;
        let mut lhs = Vec::new();
        let mut shape = Vec::new();
        let mut positional = value.shape.iter();
        let mut var_iter = vars.iter();
        for slot in slots {
            match slot {
                ast::LhsSlot::Var(_) => {
                    let v = *var_iter.next()?;
                    shape.push(self.prog.index_var(v).domain.clone());
                    lhs.push(LhsSlot::Index(v));
                }
                ast::LhsSlot::Group(bs, _) => {
                    let group: Vec<IndexVarId> =
                        bs.iter().filter_map(|_| var_iter.next().copied()).collect();
                    shape.push(Size::product(
                        group.iter().map(|v| self.prog.index_var(*v).domain.clone()),
                    ));
                    lhs.push(LhsSlot::Group(group));
                }
                ast::LhsSlot::Whole(r) => match positional.next() {
                    Some(dim) => {
                        shape.push(dim.clone());
                        lhs.push(LhsSlot::Whole);
                    }
                    None => {
                        let msg = format!(
                            "the value has {} positional axes but the left side has more `:`",
                            value.shape.len()
                        );
                        self.push(
                            Diagnostic::new("overt::rank", Severity::Error, *r, msg)
                                .with_label(value.range, "this value")
                                .with_help(
                                    "a `:` on the left takes one positional axis of the value",
                                ),
                        );
                        return None;
                    }
                },
                ast::LhsSlot::NewAxis(_) => {
                    shape.push(Size::Const(1));
                    lhs.push(LhsSlot::NewAxis);
                }
            }
        }
        if positional.next().is_some() {
            let wholes = slots
                .iter()
                .filter(|s| matches!(s, ast::LhsSlot::Whole(_)))
                .count();
            self.push(
                Diagnostic::new(
                    "overt::rank",
                    Severity::Error,
                    d.target.range,
                    format!(
                        "the value has {} positional axes {} but the left side takes {}",
                        value.shape.len(),
                        self.show_shape(&value.shape),
                        wholes
                    ),
                )
                .with_label(value.range, "this value")
                .with_help(
                    "add one `:` on the left per positional axis, or index the axes with variables",
                ),
            );
            return None;
        }
        let array = self.new_array(Array {
            name: d.target.name.clone(),
            dtype: value.dtype,
            shape,
            range: d.target.range,
            kind: ArrayKind::Defined { function },
        });
        scope.insert(&d.target, Symbol::Array(array));
        Some(Definition {
            array,
            lhs,
            value,
            range: d.range,
        })
    }

    /// `idx[:, :] = nonzero(mask[...])`: `idx` is `i64[len(idx), r]` for a mask with r
    /// positional axes, and `len(idx)` is a fresh size bound when the definition runs.
    /// Only whole, unmapped masks at top level: a mapped or per-call `nonzero` would need
    /// one size per point (a ragged array), which Overt does not have.
    fn nonzero_definition(
        &mut self,
        d: &ast::Definition,
        args: &[ast::Expr],
        scope: &mut Scope,
        function: Option<FunctionId>,
    ) -> Option<Definition> {
        let name = &d.target.name;
        let usage = format!("write `{name}[:, :] = nonzero(mask[:, ...])` at top level");
        if function.is_some() {
            self.push(
                Diagnostic::new(
                    "overt::signature",
                    Severity::Error,
                    d.value.range,
                    "`nonzero` cannot be used inside a `def`: its result size depends on the data",
                )
                .with_help(usage),
            );
            return None;
        }
        let slots: &[ast::LhsSlot] = d.slots.as_deref().unwrap_or(&[]);
        if slots.len() != 2 || !slots.iter().all(|s| matches!(s, ast::LhsSlot::Whole(_))) {
            self.push(
                Diagnostic::new(
                    "overt::rank",
                    Severity::Error,
                    d.target.range,
                    format!(
                        "`nonzero` gives a 2-D array (one row per true element), so the left side is `{name}[:, :]`"
                    ),
                )
                .with_label(d.value.range, "this value")
                .with_help(usage),
            );
            return None;
        }
        let [arg] = args else {
            self.error(
                "overt::signature",
                d.value.range,
                format!("`nonzero` takes 1 argument(s), found {}", args.len()),
            );
            return None;
        };
        // No index variable is bound here, so any use of one is reported as free.
        let mask = self.expr(arg, scope, &Bound::default())?;
        if mask.dtype != Dtype::Bool {
            self.push(
                Diagnostic::new(
                    "overt::dtype",
                    Severity::Error,
                    mask.range,
                    format!("`nonzero` takes a bool mask, found {}", mask.dtype),
                )
                .with_help("compare to make a mask, e.g. `nonzero(x[:] != 0)`"),
            );
            return None;
        }
        if mask.shape.is_empty() {
            self.push(
                Diagnostic::new(
                    "overt::signature",
                    Severity::Error,
                    mask.range,
                    "`nonzero` needs a mask with at least one `:` axis",
                )
                .with_help(usage),
            );
            return None;
        }
        let rank = i64::try_from(mask.shape.len()).ok()?;
        let array = self.new_array(Array {
            name: name.clone(),
            dtype: Dtype::I64,
            shape: Vec::new(),
            range: d.target.range,
            kind: ArrayKind::Defined { function: None },
        });
        let count = self.new_size_var(
            &format!("len({name})"),
            d.target.range,
            SizeOrigin::Nonzero { array },
        );
        let shape = vec![Size::Var(count), Size::Const(rank)];
        self.prog.arrays[array.0].shape = shape.clone();
        scope.insert(&d.target, Symbol::Array(array));
        Some(Definition {
            array,
            lhs: vec![LhsSlot::Whole, LhsSlot::Whole],
            value: Expr {
                kind: ExprKind::Call {
                    builtin: Builtin::Nonzero,
                    args: vec![mask],
                    mapped_over: Vec::new(),
                },
                dtype: Dtype::I64,
                shape,
                range: d.value.range,
            },
            range: d.range,
        })
    }

    /// Creates index variables for `binders` with domains from their explicit ranges or
    /// from whole-axis uses in `bodies`; pushes them onto `bound`.
    fn bind_vars(
        &mut self,
        binders: &[&ast::Binder],
        bodies: &[&ast::Expr],
        scope: &Scope,
        bound: &mut Bound,
        outer: &Bound,
    ) -> Option<Vec<IndexVarId>> {
        let mut ok = true;
        let mut names: Vec<&str> = Vec::new();
        for b in binders {
            let n = b.name.name.as_str();
            if names.contains(&n) {
                self.error(
                    "overt::redefined",
                    b.name.range,
                    format!("index variable `{n}` is bound twice here"),
                );
                ok = false;
            } else if outer.get(n).is_some() {
                self.push(
                    Diagnostic::new(
                        "overt::redefined",
                        Severity::Error,
                        b.name.range,
                        format!("`{n}` is already an index variable here"),
                    )
                    .with_help("reduce over a fresh name"),
                );
                ok = false;
            } else if scope.symbols.contains_key(n) || reserved(n) {
                self.push(
                    Diagnostic::new(
                        "overt::redefined",
                        Severity::Error,
                        b.name.range,
                        format!("index variable `{n}` has the name of an array, size or function"),
                    )
                    .with_help("give the index variable its own name"),
                );
                ok = false;
            }
            names.push(n);
        }
        if !ok {
            return None;
        }
        let mut uses: HashMap<&str, Vec<DomainUse>> = HashMap::new();
        let mut groups: Vec<(Vec<String>, DomainUse)> = Vec::new();
        for body in bodies {
            self.collect_uses(body, scope, &names, &mut uses, &mut groups);
        }
        // A failed declaration already reported its error; missing domains follow from it.
        let poisoned = bodies.iter().any(|b| mentions_poisoned(b, scope));
        let mut domains: Vec<Option<(Size, String, TextRange)>> = Vec::new();
        for b in binders {
            let explicit = match &b.domain {
                Some(e) => match self.size(e, scope) {
                    Some(s) => Some((s, "its range".to_string(), e.range)),
                    None => return None,
                },
                None => None,
            };
            let found = uses.get(b.name.name.as_str());
            let first = explicit.or_else(|| {
                found
                    .and_then(|u| u.first())
                    .map(|u| (u.size.clone(), u.what.clone(), u.range))
            });
            domains.push(first);
        }
        // Split groups: all members but one known gives the remaining one.
        for (members, use_) in &groups {
            let idx: Vec<Option<usize>> = members
                .iter()
                .map(|m| binders.iter().position(|b| &b.name.name == m))
                .collect();
            let unknown: Vec<usize> = idx
                .iter()
                .flatten()
                .copied()
                .filter(|&i| domains[i].is_none())
                .collect();
            if unknown.len() == 1 && idx.iter().all(Option::is_some) {
                let rest = Size::product(
                    idx.iter()
                        .flatten()
                        .filter(|&&i| i != unknown[0])
                        .filter_map(|&i| domains[i].as_ref().map(|d| d.0.clone())),
                );
                domains[unknown[0]] =
                    Some((use_.size.divided_by(&rest), use_.what.clone(), use_.range));
            }
        }
        let mut ids = Vec::new();
        for (b, domain) in binders.iter().zip(&domains) {
            let Some((size, what, range)) = domain else {
                ok = false;
                if poisoned {
                    continue;
                }
                self.push(
                    Diagnostic::new(
                        "overt::domain",
                        Severity::Error,
                        b.name.range,
                        format!(
                            "the range of `{}` cannot be inferred: it indexes no whole axis",
                            b.name.name
                        ),
                    )
                    .with_help(format!(
                        "write `{} in range(SIZE)`, or use `{}` alone as an index of some array axis",
                        b.name.name, b.name.name
                    )),
                );
                continue;
            };
            for u in uses.get(b.name.name.as_str()).into_iter().flatten() {
                if !u.size.same_as(size) {
                    self.push(
                        Diagnostic::new(
                            "overt::domain",
                            Severity::Error,
                            u.range,
                            format!(
                                "{} has size {} but `{}` ranges over {}",
                                u.what,
                                self.show(&u.size),
                                b.name.name,
                                self.show(size)
                            ),
                        )
                        .with_label(*range, format!("range {} from {what}", self.show(size)))
                        .with_help(
                            "index variables line up by identity: every axis a variable indexes whole must have the same size",
                        ),
                    );
                    ok = false;
                }
            }
            let id = self.new_index_var(&b.name.name, size.clone(), b.name.range);
            ids.push(id);
        }
        if !ok {
            return None;
        }
        for (b, id) in binders.iter().zip(&ids) {
            bound.vars.push((b.name.name.clone(), *id));
        }
        // Groups whose members are all known must multiply out to the axis size.
        for (members, use_) in &groups {
            let sizes: Option<Vec<Size>> = members
                .iter()
                .map(|m| bound.get(m).map(|v| self.prog.index_var(v).domain.clone()))
                .collect();
            if let Some(sizes) = sizes {
                if members
                    .iter()
                    .all(|m| binders.iter().any(|b| &b.name.name == m))
                {
                    let product = Size::product(sizes);
                    if !product.same_as(&use_.size) && !is_div_of(&product, &use_.size) {
                        self.push(Diagnostic::new(
                            "overt::domain",
                            Severity::Error,
                            use_.range,
                            format!(
                                "{} has size {} but the group covers {}",
                                use_.what,
                                self.show(&use_.size),
                                self.show(&product)
                            ),
                        ));
                        return None;
                    }
                }
            }
        }
        Some(ids)
    }

    /// Records each whole-axis use (`A[.., v, ..]` with `v` one of `names`).
    fn collect_uses<'n>(
        &self,
        e: &ast::Expr,
        scope: &Scope,
        names: &[&'n str],
        uses: &mut HashMap<&'n str, Vec<DomainUse>>,
        groups: &mut Vec<(Vec<String>, DomainUse)>,
    ) {
        match &e.kind {
            A::Int(_) | A::Float(_) | A::Bool(_) | A::Name(_) => {}
            A::Index { base, slots } => {
                let array = match scope.symbols.get(&base.name) {
                    Some((Symbol::Array(id), _)) => Some(self.prog.array(*id)),
                    _ => None,
                };
                for (axis, slot) in slots.iter().enumerate() {
                    let dim = array.and_then(|a| a.shape.get(axis));
                    let what = || format!("axis {axis} of `{}`", base.name);
                    match slot {
                        ast::Slot::Index(ix) => {
                            if let (A::Name(id), Some(dim)) = (&ix.kind, dim) {
                                if let Some(n) = names.iter().find(|n| **n == id.name) {
                                    uses.entry(n).or_default().push(DomainUse {
                                        size: dim.clone(),
                                        range: ix.range,
                                        what: what(),
                                    });
                                }
                            }
                            self.collect_uses(ix, scope, names, uses, groups);
                        }
                        ast::Slot::Group(ids, range) => {
                            if let Some(dim) = dim {
                                groups.push((
                                    ids.iter().map(|i| i.name.clone()).collect(),
                                    DomainUse {
                                        size: dim.clone(),
                                        range: *range,
                                        what: what(),
                                    },
                                ));
                            }
                        }
                        ast::Slot::Whole(_) | ast::Slot::Slice { .. } => {}
                    }
                }
            }
            A::Call { args, .. } => {
                for a in args {
                    self.collect_uses(a, scope, names, uses, groups);
                }
            }
            A::Reduce { body, .. } => self.collect_uses(body, scope, names, uses, groups),
            A::Unary { operand, .. } => self.collect_uses(operand, scope, names, uses, groups),
            A::Binary { lhs, rhs, .. } => {
                self.collect_uses(lhs, scope, names, uses, groups);
                self.collect_uses(rhs, scope, names, uses, groups);
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr, scope: &Scope, bound: &Bound) -> Option<Expr> {
        let r = e.range;
        let make = |kind, dtype, shape| {
            Some(Expr {
                kind,
                dtype,
                shape,
                range: r,
            })
        };
        match &e.kind {
            A::Int(i) => make(ExprKind::Literal(Literal::Int(*i)), Dtype::I64, vec![]),
            A::Float(x) => make(ExprKind::Literal(Literal::Float(*x)), Dtype::F64, vec![]),
            A::Bool(b) => make(ExprKind::Literal(Literal::Bool(*b)), Dtype::Bool, vec![]),
            A::Name(id) => {
                if let Some(v) = bound.get(&id.name) {
                    return make(ExprKind::IndexVar(v), Dtype::I64, vec![]);
                }
                match scope.symbols.get(&id.name) {
                    Some((Symbol::Size(v), _)) => make(ExprKind::SizeVar(*v), Dtype::I64, vec![]),
                    Some((Symbol::Poisoned, _)) => None,
                    Some((Symbol::Array(a), _)) => {
                        let arr = self.prog.array(*a);
                        if arr.shape.is_empty() {
                            make(
                                ExprKind::Ref {
                                    array: *a,
                                    slots: vec![],
                                },
                                arr.dtype,
                                vec![],
                            )
                        } else {
                            let axes = vec![":"; arr.shape.len()].join(", ");
                            let msg = format!(
                                "`{}` has {} axes: write every axis",
                                id.name,
                                arr.shape.len()
                            );
                            self.push(
                                Diagnostic::new("overt::rank", Severity::Error, r, msg).with_help(
                                    format!(
                                        "index each axis with a variable or keep it whole: `{}[{axes}]`",
                                        id.name
                                    ),
                                ),
                            );
                            None
                        }
                    }
                    None => {
                        self.unknown_name(id, false);
                        None
                    }
                }
            }
            A::Index { base, slots } => self.reference(base, slots, r, scope, bound),
            A::Call { func, args } => self.call(func, args, r, scope, bound),
            A::Reduce {
                func,
                body,
                binders,
            } => {
                let Some(op) = ReduceOp::from_name(&func.name) else {
                    self.error(
                        "overt::unknown-name",
                        func.range,
                        format!(
                            "`{}` is not a reduction (sum prod mean max min argmax argmin any all logsumexp)",
                            func.name
                        ),
                    );
                    return None;
                };
                let mut inner = bound.clone();
                let refs: Vec<&ast::Binder> = binders.iter().collect();
                let vars = self.bind_vars(&refs, &[body], scope, &mut inner, bound)?;
                let body = self.expr(body, scope, &inner)?;
                let dtype = self.reduce_dtype(op, &body, func, &vars)?;
                let shape = body.shape.clone();
                make(
                    ExprKind::Reduce {
                        op,
                        vars,
                        body: Box::new(body),
                    },
                    dtype,
                    shape,
                )
            }
            A::Unary { op, operand } => {
                let operand = self.expr(operand, scope, bound)?;
                let ok = match op {
                    UnaryOp::Neg => operand.dtype != Dtype::Bool,
                    UnaryOp::Not => operand.dtype == Dtype::Bool,
                };
                if !ok {
                    let (sym, want) = match op {
                        UnaryOp::Neg => ("-", "a number"),
                        UnaryOp::Not => ("not", "a bool"),
                    };
                    self.error(
                        "overt::dtype",
                        r,
                        format!("`{sym}` needs {want}, found {}", operand.dtype),
                    );
                    return None;
                }
                let (dtype, shape) = (operand.dtype, operand.shape.clone());
                make(
                    ExprKind::Unary {
                        op: *op,
                        operand: Box::new(operand),
                    },
                    dtype,
                    shape,
                )
            }
            A::Binary { op, lhs, rhs } => {
                let (l, rr) = (self.expr(lhs, scope, bound), self.expr(rhs, scope, bound));
                let (l, rr) = (l?, rr?);
                self.binary(*op, l, rr, r)
            }
        }
    }

    fn unknown_name(&mut self, id: &ast::Ident, in_index: bool) {
        let d = if in_index {
            Diagnostic::new(
                "overt::free-index",
                Severity::Error,
                id.range,
                format!(
                    "index `{0}` is free: reduce it with `sum(... for {0})` or put it on the left",
                    id.name
                ),
            )
        } else {
            Diagnostic::new(
                "overt::unknown-name",
                Severity::Error,
                id.range,
                format!("unknown name `{}`", id.name),
            )
            .with_help("names must be defined above their first use")
        };
        self.push(d);
    }

    fn reference(
        &mut self,
        base: &ast::Ident,
        slots: &[ast::Slot],
        r: TextRange,
        scope: &Scope,
        bound: &Bound,
    ) -> Option<Expr> {
        let array = match scope.symbols.get(&base.name) {
            Some((Symbol::Array(a), _)) => *a,
            Some((Symbol::Poisoned, _)) => return None,
            Some((Symbol::Size(_), _)) => {
                self.error(
                    "overt::rank",
                    base.range,
                    format!("`{}` is a size, not an array", base.name),
                );
                return None;
            }
            None => {
                self.unknown_name(base, false);
                return None;
            }
        };
        let arr = self.prog.array(array).clone();
        if slots.len() != arr.shape.len() {
            self.push(
                Diagnostic::new(
                    "overt::rank",
                    Severity::Error,
                    r,
                    format!(
                        "`{}` has {} axes {} but {} are written",
                        base.name,
                        arr.shape.len(),
                        self.show_shape(&arr.shape),
                        slots.len()
                    ),
                )
                .with_label(arr.range, "declared here")
                .with_help("write every axis: an index, `:` to keep it whole, or a slice"),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut shape = Vec::new();
        let mut ok = true;
        for (slot, dim) in slots.iter().zip(&arr.shape) {
            match slot {
                ast::Slot::Index(ix) => {
                    if let A::Name(id) = &ix.kind {
                        if bound.get(&id.name).is_none() && !scope.symbols.contains_key(&id.name) {
                            self.unknown_name(id, true);
                            ok = false;
                            continue;
                        }
                    }
                    let Some(ix) = self.expr(ix, scope, bound) else {
                        ok = false;
                        continue;
                    };
                    if let ExprKind::SizeVar(v) = ix.kind {
                        if Size::Var(v).same_as(dim) {
                            let name = &self.prog.size_var(v).name;
                            let msg = format!(
                                "`{name}` is the size of this axis, so as an index it is out of bounds"
                            );
                            self.push(
                                Diagnostic::new("overt::free-index", Severity::Error, ix.range, msg)
                                    .with_help(format!(
                                        "to range over the axis, use an index variable with a name of its own \
                                         and reduce it (`sum(... for {name}2)`) or put it on the left"
                                    )),
                            );
                            ok = false;
                            continue;
                        }
                    }
                    let ix = match self.coerce(ix, Dtype::I64) {
                        Ok(ix) => ix,
                        Err(ix) => {
                            self.push(
                                Diagnostic::new(
                                    "overt::dtype",
                                    Severity::Error,
                                    ix.range,
                                    format!("an index must be i64, found {}", ix.dtype),
                                )
                                .with_help("cast with `i64(...)`"),
                            );
                            ok = false;
                            continue;
                        }
                    };
                    if !ix.shape.is_empty() {
                        self.push(
                            Diagnostic::new(
                                "overt::rank",
                                Severity::Error,
                                ix.range,
                                format!(
                                    "an index must be a single value, this has positional shape {}",
                                    self.show_shape(&ix.shape)
                                ),
                            )
                            .with_help("name the axes of the index array with index variables, e.g. `A[I[q]]`"),
                        );
                        ok = false;
                        continue;
                    }
                    out.push(RefSlot::Index(ix));
                }
                ast::Slot::Whole(_) => {
                    shape.push(dim.clone());
                    out.push(RefSlot::Whole);
                }
                ast::Slot::Slice {
                    start,
                    stop,
                    step,
                    range,
                } => {
                    let part = |me: &mut Self, p: &Option<ast::SizeExpr>, default: Size| match p {
                        Some(e) => me.size(e, scope),
                        None => Some(default),
                    };
                    let lo = part(self, start, Size::Const(0));
                    let hi = part(self, stop, dim.clone());
                    let st = part(self, step, Size::Const(1));
                    let (Some(lo), Some(hi), Some(st)) = (lo, hi, st) else {
                        ok = false;
                        continue;
                    };
                    if let Some(c) = st.as_const() {
                        if c < 1 {
                            self.push(
                                Diagnostic::new(
                                    "overt::rank",
                                    Severity::Error,
                                    *range,
                                    "a slice step must be at least 1",
                                )
                                .with_help("reverse with an index expression: `A[n - 1 - i]`"),
                            );
                            ok = false;
                            continue;
                        }
                    }
                    // ceil((hi - lo) / st), i.e. (hi - lo + st - 1) // st
                    let len = Size::div_floor(
                        Size::minus(
                            Size::plus(Size::minus(hi, lo.clone()), st.clone()),
                            Size::Const(1),
                        ),
                        st.clone(),
                    );
                    shape.push(len.clone());
                    out.push(RefSlot::Slice {
                        start: lo,
                        step: st,
                        len,
                    });
                }
                ast::Slot::Group(ids, _) => {
                    let mut vars = Vec::new();
                    for id in ids {
                        match bound.get(&id.name) {
                            Some(v) => vars.push(v),
                            None => {
                                self.unknown_name(id, true);
                                ok = false;
                            }
                        }
                    }
                    out.push(RefSlot::Split(vars));
                }
            }
        }
        if !ok {
            return None;
        }
        Some(Expr {
            kind: ExprKind::Ref { array, slots: out },
            dtype: arr.dtype,
            shape,
            range: r,
        })
    }

    /// Gives a literal operand the dtype `to` (Python-scalar-like weak typing); returns
    /// the expression back as Err when it does not have or cannot take `to`.
    fn coerce(&self, e: Expr, to: Dtype) -> Result<Expr, Expr> {
        if e.dtype == to {
            return Ok(e);
        }
        if !is_literal(&e) {
            return Err(e);
        }
        retype_literal(e, to)
    }

    /// The common dtype of operands, giving literals the other side's dtype.
    fn unify(&self, args: Vec<Expr>) -> Result<(Vec<Expr>, Dtype), Vec<Expr>> {
        let target = args
            .iter()
            .find(|a| !is_literal(a))
            .or_else(|| args.iter().find(|a| a.dtype == Dtype::F64))
            .or(args.first())
            .map(|a| a.dtype);
        let Some(target) = target else {
            return Ok((args, Dtype::F64));
        };
        let mut out = Vec::new();
        let mut failed = false;
        let mut back = Vec::new();
        for a in args {
            match self.coerce(a, target) {
                Ok(a) => out.push(a),
                Err(a) => {
                    failed = true;
                    back.push(a)
                }
            }
        }
        if failed {
            out.extend(back);
            Err(out)
        } else {
            Ok((out, target))
        }
    }

    fn dtype_mismatch(&mut self, what: &str, args: &[Expr], r: TextRange) {
        let Some(first) = args.first() else { return };
        let other = args
            .iter()
            .find(|a| a.dtype != first.dtype)
            .unwrap_or(first);
        let d = Diagnostic::new(
            "overt::dtype",
            Severity::Error,
            other.range,
            format!(
                "{what} needs operands of one dtype, found {} and {}",
                first.dtype, other.dtype
            ),
        )
        .with_label(first.range, format!("this is {}", first.dtype))
        .with_label(other.range, format!("this is {}", other.dtype));
        let _ = r;
        self.push(d.with_help("Overt never promotes: cast explicitly, e.g. `f64(x)`"));
    }

    /// Elementwise positional shapes: equal, or rank 0 on all but one side.
    fn elementwise_shape(&mut self, what: &str, args: &[Expr], r: TextRange) -> Option<Vec<Size>> {
        let mut shape: Option<&Expr> = None;
        for a in args {
            if a.shape.is_empty() {
                continue;
            }
            match shape {
                None => shape = Some(a),
                Some(s) => {
                    let same = s.shape.len() == a.shape.len()
                        && s.shape.iter().zip(&a.shape).all(|(x, y)| x.same_as(y));
                    if !same {
                        let _ = r;
                        let d = Diagnostic::new(
                            "overt::shape",
                            Severity::Error,
                            a.range,
                            format!(
                                "{what}: positional shapes {} and {} differ",
                                self.show_shape(&s.shape),
                                self.show_shape(&a.shape)
                            ),
                        )
                        .with_label(
                            s.range,
                            format!("positional shape {}", self.show_shape(&s.shape)),
                        )
                        .with_help("Overt does not broadcast: name the axes with index variables");
                        self.push(d);
                        return None;
                    }
                }
            }
        }
        Some(shape.map(|s| s.shape.clone()).unwrap_or_default())
    }

    fn binary(&mut self, op: BinaryOp, l: Expr, rr: Expr, r: TextRange) -> Option<Expr> {
        let what = format!("`{}`", op.symbol());
        let (args, dtype) = match self.unify(vec![l, rr]) {
            Ok(x) => x,
            Err(args) => {
                self.dtype_mismatch(&what, &args, r);
                return None;
            }
        };
        let shape = self.elementwise_shape(&what, &args, r)?;
        let result = match op {
            BinaryOp::And | BinaryOp::Or => {
                if dtype != Dtype::Bool {
                    self.error(
                        "overt::dtype",
                        r,
                        format!("{what} needs bool operands, found {dtype}"),
                    );
                    return None;
                }
                Dtype::Bool
            }
            BinaryOp::Eq | BinaryOp::Ne => Dtype::Bool,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                if dtype == Dtype::Bool {
                    self.error(
                        "overt::dtype",
                        r,
                        format!("{what} needs numbers, found bool"),
                    );
                    return None;
                }
                Dtype::Bool
            }
            BinaryOp::Div => {
                if !dtype.is_float() {
                    self.push(
                        Diagnostic::new(
                            "overt::dtype",
                            Severity::Error,
                            r,
                            format!("`/` divides floats, found {dtype}"),
                        )
                        .with_help("cast with `f64(...)`, or use `//` for floor division"),
                    );
                    return None;
                }
                dtype
            }
            _ => {
                if dtype == Dtype::Bool {
                    self.push(
                        Diagnostic::new(
                            "overt::dtype",
                            Severity::Error,
                            r,
                            format!("{what} needs numbers, found bool"),
                        )
                        .with_help("cast with `i64(...)` or `f64(...)`"),
                    );
                    return None;
                }
                dtype
            }
        };
        let mut it = args.into_iter();
        let (Some(l), Some(rr)) = (it.next(), it.next()) else {
            return None;
        };
        Some(Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(rr),
            },
            dtype: result,
            shape,
            range: r,
        })
    }

    fn reduce_dtype(
        &mut self,
        op: ReduceOp,
        body: &Expr,
        func: &ast::Ident,
        vars: &[IndexVarId],
    ) -> Option<Dtype> {
        let d = body.dtype;
        let (ok, result, want) = match op {
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Max | ReduceOp::Min => {
                (d != Dtype::Bool, d, "numbers (cast bools with `i64(...)`)")
            }
            ReduceOp::Mean | ReduceOp::LogSumExp => {
                (d.is_float(), d, "floats (cast with `f64(...)`)")
            }
            ReduceOp::Argmax | ReduceOp::Argmin => (d != Dtype::Bool, Dtype::I64, "numbers"),
            ReduceOp::Any | ReduceOp::All => (d == Dtype::Bool, d, "bools"),
        };
        if !ok {
            self.error(
                "overt::dtype",
                body.range,
                format!("`{}` reduces {want}, found {d}", op.name()),
            );
            return None;
        }
        if matches!(op, ReduceOp::Argmax | ReduceOp::Argmin) && vars.len() != 1 {
            self.error(
                "overt::rank",
                func.range,
                format!("`{}` takes exactly one index variable", op.name()),
            );
            return None;
        }
        Some(result)
    }

    fn call(
        &mut self,
        func: &ast::Ident,
        args: &[ast::Expr],
        r: TextRange,
        scope: &Scope,
        bound: &Bound,
    ) -> Option<Expr> {
        let name = func.name.as_str();
        if self.poisoned_functions.iter().any(|n| n == name) {
            return None;
        }
        if ReduceOp::from_name(name).is_some() && Builtin::from_name(name).is_none() {
            self.push(
                Diagnostic::new(
                    "overt::signature",
                    Severity::Error,
                    r,
                    format!("`{name}` reduces over index variables"),
                )
                .with_help(format!("write `{name}(x[i] for i)`")),
            );
            return None;
        }
        let builtin = Builtin::from_name(name);
        let function = self.functions.get(name).copied();
        let cast = CAST_NAMES
            .contains(&name)
            .then(|| Dtype::from_name(name))
            .flatten();
        if builtin.is_none() && function.is_none() && cast.is_none() {
            self.push(
                Diagnostic::new(
                    "overt::unknown-name",
                    Severity::Error,
                    func.range,
                    format!("unknown function `{name}`"),
                )
                .with_help("builtins are listed in docs/language.md; user functions are `def`s above the call"),
            );
            return None;
        }
        let mut typed = Vec::new();
        for a in args {
            typed.push(self.expr(a, scope, bound));
        }
        let typed: Vec<Expr> = typed.into_iter().collect::<Option<_>>()?;
        let arity = if let Some(b) = builtin {
            b.info().arity
        } else if let Some(f) = function {
            self.prog.function(f).params.len()
        } else {
            1
        };
        if typed.len() != arity {
            self.error(
                "overt::signature",
                r,
                format!("`{name}` takes {arity} argument(s), found {}", typed.len()),
            );
            return None;
        }
        let mapped_over = mapped_vars(&typed);
        if let Some(to) = cast {
            let mut it = typed.into_iter();
            let operand = it.next()?;
            let shape = operand.shape.clone();
            if let A::Int(_) | A::Float(_) = args[0].kind {
                // A literal cast is just the literal of that dtype.
                if let Ok(e) = retype_literal(operand.clone(), to) {
                    return Some(Expr { range: r, ..e });
                }
            }
            return Some(Expr {
                kind: ExprKind::Cast {
                    operand: Box::new(operand),
                },
                dtype: to,
                shape,
                range: r,
            });
        }
        if let Some(f) = function {
            return self.call_function(f, func, typed, r, mapped_over);
        }
        let b = builtin?;
        if b == Builtin::Nonzero {
            self.push(
                Diagnostic::new(
                    "overt::signature",
                    Severity::Error,
                    r,
                    "`nonzero` must be the whole right side of a definition: its result size depends on the data",
                )
                .with_help("write `idx[:, :] = nonzero(mask[:, ...])`, then gather through `idx[q, 0]`"),
            );
            return None;
        }
        let info = b.info();
        // `where`: the condition is bool and takes no part in dtype unification.
        let (args, operand_dtype) = if info.dtype == DtypeRule::Select {
            let mut it = typed.into_iter();
            let cond = it.next()?;
            if cond.dtype != Dtype::Bool {
                self.error(
                    "overt::dtype",
                    cond.range,
                    format!(
                        "the condition of `where` must be bool, found {}",
                        cond.dtype
                    ),
                );
                return None;
            }
            match self.unify(it.collect()) {
                Ok((mut rest, d)) => {
                    rest.insert(0, cond);
                    (rest, d)
                }
                Err(rest) => {
                    self.dtype_mismatch("`where`", &rest, r);
                    return None;
                }
            }
        } else {
            match self.unify(typed) {
                Ok(x) => x,
                Err(rest) => {
                    self.dtype_mismatch(&format!("`{name}`"), &rest, r);
                    return None;
                }
            }
        };
        let Some(dtype) = info.dtype.result(operand_dtype) else {
            self.error(
                "overt::dtype",
                r,
                format!(
                    "`{name}` takes {}, found {operand_dtype}",
                    info.dtype.expects()
                ),
            );
            return None;
        };
        let shape = if info.is_elementwise() {
            self.elementwise_shape(&format!("`{name}`"), &args, r)?
        } else {
            self.match_signature(b, &args, r)?
        };
        Some(Expr {
            kind: ExprKind::Call {
                builtin: b,
                args,
                mapped_over,
            },
            dtype,
            shape,
            range: r,
        })
    }

    fn match_signature(&mut self, b: Builtin, args: &[Expr], r: TextRange) -> Option<Vec<Size>> {
        let info = b.info();
        let render = |p: &str| {
            let dims: Vec<String> = p.chars().map(|c| c.to_string()).collect();
            format!("[{}]", dims.join(", "))
        };
        let signatures: Vec<String> = info
            .overloads
            .iter()
            .map(|o| {
                let ps: Vec<String> = o.params.iter().map(|p| render(p)).collect();
                format!("{}({}) -> {}", info.name, ps.join(", "), render(o.result))
            })
            .collect();
        for o in info.overloads {
            if o.params
                .iter()
                .zip(args)
                .any(|(p, a)| p.len() != a.shape.len())
            {
                continue;
            }
            let mut binding: HashMap<char, (Size, TextRange)> = HashMap::new();
            for (p, a) in o.params.iter().zip(args) {
                for (c, dim) in p.chars().zip(&a.shape) {
                    match binding.get(&c) {
                        None => {
                            binding.insert(c, (dim.clone(), a.range));
                        }
                        Some((prev, prev_range)) => {
                            if !prev.same_as(dim) {
                                let msg = format!(
                                    "`{}` needs equal sizes for `{c}`, found {} and {}",
                                    info.name,
                                    self.show(prev),
                                    self.show(dim)
                                );
                                let (prev_range, prev_s) = (*prev_range, self.show(prev));
                                let d = Diagnostic::new(
                                    "overt::signature",
                                    Severity::Error,
                                    a.range,
                                    msg,
                                )
                                .with_label(prev_range, format!("{c} = {prev_s} here"))
                                .with_help(format!("signature: {}", signatures.join(" or ")));
                                self.push(d);
                                return None;
                            }
                        }
                    }
                }
            }
            return Some(
                o.result
                    .chars()
                    .filter_map(|c| binding.get(&c).map(|(s, _)| s.clone()))
                    .collect(),
            );
        }
        let ranks: Vec<String> = args.iter().map(|a| a.shape.len().to_string()).collect();
        let d = Diagnostic::new(
            "overt::signature",
            Severity::Error,
            r,
            format!(
                "no signature of `{}` takes arguments of rank {}",
                info.name,
                ranks.join(", ")
            ),
        );
        self.push(d.with_help(format!(
            "signature: {}; keep the axes a builtin works on whole with `:` and index the others",
            signatures.join(" or ")
        )));
        None
    }

    fn call_function(
        &mut self,
        f: FunctionId,
        func: &ast::Ident,
        args: Vec<Expr>,
        r: TextRange,
        mapped_over: Vec<IndexVarId>,
    ) -> Option<Expr> {
        let function = self.prog.function(f).clone();
        let mut binding: HashMap<SizeVarId, Size> = HashMap::new();
        let mut typed = Vec::new();
        let mut ok = true;
        for (arg, p) in args.into_iter().zip(&function.params) {
            let param = self.prog.array(*p).clone();
            let arg = match self.coerce(arg, param.dtype) {
                Ok(a) => a,
                Err(a) => {
                    self.error(
                        "overt::dtype",
                        a.range,
                        format!(
                            "`{}` of `{}` is {}, found {}",
                            param.name, func.name, param.dtype, a.dtype
                        ),
                    );
                    ok = false;
                    continue;
                }
            };
            if arg.shape.len() != param.shape.len() {
                self.push(
                    Diagnostic::new(
                        "overt::signature",
                        Severity::Error,
                        arg.range,
                        format!(
                            "`{}` of `{}` has {} axes, this argument has {} positional axes",
                            param.name,
                            func.name,
                            param.shape.len(),
                            arg.shape.len()
                        ),
                    )
                    .with_label(param.range, "parameter declared here")
                    .with_help(
                        "keep the axes the function works on whole with `:`; index the others",
                    ),
                );
                ok = false;
                continue;
            }
            for (pd, ad) in param.shape.iter().zip(&arg.shape) {
                if let Size::Var(v) = pd {
                    binding.entry(*v).or_insert_with(|| ad.clone());
                }
            }
            typed.push((arg, param));
        }
        if !ok {
            return None;
        }
        let subst = |s: &Size| s.substitute(&|v| binding.get(&v).cloned().unwrap_or(Size::Var(v)));
        for (arg, param) in &typed {
            for (pd, ad) in param.shape.iter().zip(&arg.shape) {
                let want = subst(pd);
                if !want.same_as(ad) {
                    let msg = format!(
                        "`{}` of `{}` needs size {} here, found {}",
                        param.name,
                        func.name,
                        self.show(&want),
                        self.show(ad)
                    );
                    self.push(
                        Diagnostic::new("overt::signature", Severity::Error, arg.range, msg)
                            .with_label(param.range, "parameter declared here"),
                    );
                    return None;
                }
            }
        }
        let result = self.prog.array(function.result).clone();
        let shape = result.shape.iter().map(subst).collect();
        Some(Expr {
            kind: ExprKind::CallFunction {
                function: f,
                args: typed.into_iter().map(|(a, _)| a).collect(),
                mapped_over,
            },
            dtype: result.dtype,
            shape,
            range: r,
        })
    }
}

/// Whether `e` refers to an array whose declaration failed.
fn mentions_poisoned(e: &ast::Expr, scope: &Scope) -> bool {
    let poisoned = |name: &str| matches!(scope.symbols.get(name), Some((Symbol::Poisoned, _)));
    match &e.kind {
        A::Int(_) | A::Float(_) | A::Bool(_) => false,
        A::Name(id) => poisoned(&id.name),
        A::Index { base, slots } => {
            poisoned(&base.name)
                || slots.iter().any(|s| match s {
                    ast::Slot::Index(ix) => mentions_poisoned(ix, scope),
                    _ => false,
                })
        }
        A::Call { args, .. } => args.iter().any(|a| mentions_poisoned(a, scope)),
        A::Reduce { body, .. } => mentions_poisoned(body, scope),
        A::Unary { operand, .. } => mentions_poisoned(operand, scope),
        A::Binary { lhs, rhs, .. } => {
            mentions_poisoned(lhs, scope) || mentions_poisoned(rhs, scope)
        }
    }
}

/// Builtin, reduction and cast names cannot name arrays or variables.
fn reserved(name: &str) -> bool {
    Builtin::from_name(name).is_some()
        || ReduceOp::from_name(name).is_some()
        || CAST_NAMES.contains(&name)
        || name == "range"
}

/// `3 // q` style groups divide exactly by construction; accept them.
fn is_div_of(product: &Size, axis: &Size) -> bool {
    matches!(product, Size::Mul(a, _) if matches!(&**a, Size::FloorDiv(n, _) if n.same_as(axis)))
        || matches!(product, Size::FloorDiv(n, _) if n.same_as(axis))
}

/// A literal, possibly negated.
fn is_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Literal(Literal::Int(_) | Literal::Float(_)) => true,
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => is_literal(operand),
        _ => false,
    }
}

fn retype_literal(e: Expr, to: Dtype) -> Result<Expr, Expr> {
    match e.kind {
        ExprKind::Literal(Literal::Int(i)) if to.is_float() => Ok(Expr {
            kind: ExprKind::Literal(Literal::Float(i as f64)),
            dtype: to,
            ..e
        }),
        ExprKind::Literal(Literal::Int(_)) if to == Dtype::I64 => Ok(Expr { dtype: to, ..e }),
        ExprKind::Literal(Literal::Float(_)) if to.is_float() => Ok(Expr { dtype: to, ..e }),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => match retype_literal(*operand, to) {
            Ok(o) => Ok(Expr {
                dtype: to,
                kind: ExprKind::Unary {
                    op: UnaryOp::Neg,
                    operand: Box::new(o),
                },
                ..e
            }),
            Err(o) => Err(Expr {
                kind: ExprKind::Unary {
                    op: UnaryOp::Neg,
                    operand: Box::new(o),
                },
                ..e
            }),
        },
        kind => Err(Expr { kind, ..e }),
    }
}

/// The free index variables of call arguments, in order of first appearance.
fn mapped_vars(args: &[Expr]) -> Vec<IndexVarId> {
    let mut out = Vec::new();
    for a in args {
        for v in a.free_index_vars() {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

//! The inference walker: runs over a module's statements with an abstract state, handling
//! control flow (branches join, loops reach a fixpoint), scopes, functions, classes and
//! calls between them. Expressions are in `eval`, assertion/guard refinement in `refine`.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use ruff_python_ast::name::Name;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::analysis::{Analysis, Binding, Finding, Options};
use super::dim::Symbol;
use super::facts::SizeFacts;
use super::numpy::{self, Ctx, Outcome};
use super::shape::Shape;
use super::state::State;
use super::syntax as imports;
use super::value::{Local, Value};

/// Deepest expression/statement nesting we follow; deeper code is unknown.
const MAX_DEPTH: u32 = 200;
/// Loop passes before giving up on a fixpoint and forgetting what the loop assigns.
const MAX_LOOP_PASSES: u32 = 4;
/// Nested calls into module functions we follow.
const MAX_CALL_DEPTH: u32 = 4;
/// Total statement visits per module (bounds the cost of loops and calls).
const EFFORT: u64 = 2_000_000;
/// Longest array we unpack row by row.
const MAX_UNPACK: i64 = 256;
/// Remembered call results per function.
const MAX_MEMO_PER_FUNCTION: usize = 1024;

/// The inputs of a call, when they determine its result.
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct MemoKey {
    recv: Option<Value>,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
}

pub(crate) struct FunctionInfo<'m> {
    pub def: &'m ast::StmtFunctionDef,
    /// The class whose body defines it (a method).
    pub class: Option<u32>,
    /// Names the function assigns (its locals), parameters included.
    pub locals: HashSet<Name>,
    /// The function whose body (directly or in a class) defines this one.
    pub parent: Option<u32>,
    /// Names its closures (nested functions, lambdas, generators) mention; scanned when
    /// first needed (a list is bound to a name).
    pub captured: OnceCell<HashSet<Name>>,
    /// A generator function (its call returns a generator, not its return value).
    pub generator: bool,
}

pub(crate) struct ClassInfo {
    pub methods: HashMap<Name, u32>,
    /// The single module class it derives from, if any (set when its `class` runs).
    pub base: Option<u32>,
    /// Attributes `__init__` assigns on `self`, as seen by its own (definition) run.
    pub init_attrs: Option<Vec<(String, Value)>>,
}

/// What one scope's walk knows besides the state.
pub(crate) struct Frame {
    pub state: State,
    /// The function being walked, `None` at module level.
    pub function: Option<u32>,
    /// Record bindings and findings (off in loop passes before the fixpoint and in
    /// call specialisations).
    pub record: bool,
    /// Mint readable symbols (`n`) rather than internal ones (`_7`).
    pub readable: bool,
    /// Symbols minted per source position, so every loop pass mints the same one.
    pub minted: HashMap<TextSize, Symbol>,
    pub taken: HashSet<String>,
    /// Symbols of annotation names in this call (`"n d"` binds `n`, `d` once per call).
    pub ann_symbols: HashMap<String, Symbol>,
    /// The axes each named variadic group (`*batch`) stands for in this call: known axes
    /// once an argument binds it, `[*batch]` for an abstract group, `[...]` for unknown.
    pub ann_groups: HashMap<String, super::shape::Shape>,
    /// An argument contradicted its annotation: the call raises under a type checker, and
    /// the return annotation says nothing.
    pub contradicted: bool,
    /// Join of the values returned so far.
    pub returns: Option<Value>,
    /// States at `break` / `continue` of the innermost loops.
    pub loops: Vec<LoopExits>,
    pub depth: u32,
}

#[derive(Default)]
pub(crate) struct LoopExits {
    pub breaks: Vec<State>,
    pub continues: Vec<State>,
}

impl Frame {
    pub fn new(function: Option<u32>, record: bool, state: State) -> Self {
        Frame {
            state,
            function,
            record,
            readable: record,
            minted: HashMap::new(),
            taken: HashSet::new(),
            ann_symbols: HashMap::new(),
            ann_groups: HashMap::new(),
            contradicted: false,
            returns: None,
            loops: Vec::new(),
            depth: 0,
        }
    }
}

pub(crate) struct Walker<'m> {
    pub options: &'m Options,
    /// Other modules' summaries, for imported functions.
    pub externals: &'m super::summary::Externals,
    pub out: Analysis,
    pub fresh: u32,
    pub functions: Vec<FunctionInfo<'m>>,
    pub classes: Vec<ClassInfo>,
    /// Module names bound exactly once (outside loops): functions may read them.
    pub single_globals: HashSet<Name>,
    pub globals: HashMap<Name, Value>,
    /// Attribute names assigned anywhere except on `self` in `__init__`: never trusted.
    pub untrusted_attrs: HashSet<Name>,
    pub effort: u64,
    pub call_stack: Vec<u32>,
    /// Which function each `def` statement is, by its start offset.
    pub def_ids: HashMap<TextSize, u32>,
    pub class_ids: HashMap<TextSize, u32>,
    pub memo: HashMap<u32, HashMap<MemoKey, Value>>,
    /// Names the module's functions, lambdas and generators mention (scanned when first
    /// needed).
    pub module_captured: OnceCell<HashSet<Name>>,
    pub suite: &'m [Stmt],
}

impl<'m> Walker<'m> {
    pub fn new(options: &'m Options, externals: &'m super::summary::Externals) -> Self {
        Walker {
            options,
            externals,
            out: Analysis::default(),
            fresh: 0,
            functions: Vec::new(),
            classes: Vec::new(),
            single_globals: HashSet::new(),
            globals: HashMap::new(),
            untrusted_attrs: HashSet::new(),
            effort: EFFORT,
            call_stack: Vec::new(),
            def_ids: HashMap::new(),
            class_ids: HashMap::new(),
            memo: HashMap::new(),
            module_captured: OnceCell::new(),
            suite: &[],
        }
    }

    /// Walks a module: its top level, then every function body once with parameters from
    /// their annotations.
    pub fn run_module(&mut self, suite: &'m [Stmt]) {
        self.collect_defs(suite, None, None, 0);
        self.single_globals = imports::single_bindings(suite);
        self.untrusted_attrs = imports::untrusted_attributes(suite);
        self.suite = suite;
        let mut frame = Frame::new(None, true, State::default());
        self.walk_body(&mut frame, suite);
        for id in 0..self.functions.len() {
            self.definition_run(id as u32);
        }
        self.out.work = EFFORT - self.effort;
        self.out.bindings.sort_by_key(|b| b.range.start());
        self.out.findings.sort_by_key(|f| f.range().start());
        self.out.findings.dedup();
    }

    fn collect_defs(
        &mut self,
        body: &'m [Stmt],
        class: Option<u32>,
        parent: Option<u32>,
        depth: u32,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(def) => {
                    let id = self.functions.len() as u32;
                    self.def_ids.insert(def.range.start(), id);
                    let mut locals = imports::assigned_names(&def.body);
                    for p in def.parameters.iter() {
                        locals.insert(p.name().id.clone());
                    }
                    self.functions.push(FunctionInfo {
                        def,
                        class,
                        locals,
                        parent,
                        captured: OnceCell::new(),
                        generator: imports::contains_yield(&def.body),
                    });
                    if let Some(c) = class {
                        if let Some(info) = self.classes.get_mut(c as usize) {
                            info.methods.insert(def.name.id.clone(), id);
                        }
                    }
                    self.collect_defs(&def.body, None, Some(id), depth + 1);
                }
                Stmt::ClassDef(def) => {
                    let id = self.classes.len() as u32;
                    self.class_ids.insert(def.range.start(), id);
                    self.classes.push(ClassInfo {
                        base: None,
                        methods: HashMap::new(),
                        init_attrs: None,
                    });
                    self.collect_defs(&def.body, Some(id), parent, depth + 1);
                }
                _ => imports::for_each_child_body(stmt, |b| {
                    self.collect_defs(b, None, parent, depth + 1)
                }),
            }
        }
    }

    /// Spends effort; false when the module's budget is exhausted (then give up: unknown).
    pub fn spend(&mut self, n: u64) -> bool {
        if self.effort < n {
            self.effort = 0;
            false
        } else {
            self.effort -= n;
            true
        }
    }

    // ---- recording -----------------------------------------------------------------

    pub fn record_binding(&mut self, f: &Frame, range: TextRange, name: &str, value: &Value) {
        if !f.record {
            return;
        }
        if let Value::Array(a) = value {
            let shape = canonical_shape(&f.state.facts, &a.shape);
            self.out.bindings.push(Binding {
                range,
                name: name.to_string(),
                shape,
                dtype: a.dtype,
            });
        }
    }

    pub fn record_finding(&mut self, f: &Frame, finding: Finding) {
        if f.record {
            self.out.findings.push(finding);
        }
    }

    /// Runs one NumPy-model operation; an error becomes a finding at `range` and the value
    /// is then unknown.
    pub fn model(
        &mut self,
        f: &mut Frame,
        range: TextRange,
        op: impl FnOnce(&mut Ctx) -> Outcome,
    ) -> Value {
        let outcome = {
            let mut ctx = Ctx {
                facts: &mut f.state.facts,
                version: self.options.numpy_version,
                fresh_counter: &mut self.fresh,
            };
            op(&mut ctx)
        };
        match outcome.error {
            Some(error) => {
                self.record_finding(f, Finding::ShapeError { range, error });
                Value::Unknown
            }
            None => outcome.value,
        }
    }

    /// A symbol for a size first seen at `at` (a target or parameter named `hint`):
    /// readable in definition runs, internal otherwise, the same one on every loop pass.
    pub fn mint(&mut self, f: &mut Frame, at: TextSize, hint: &str) -> Symbol {
        if let Some(s) = f.minted.get(&at) {
            return s.clone();
        }
        let s = if f.readable && !hint.is_empty() && !hint.starts_with('_') {
            let mut name = hint.to_string();
            while f.taken.contains(&name) {
                name.push('\'');
            }
            Symbol::new(&name)
        } else {
            self.fresh += 1;
            Symbol::new(&format!("_{}", self.fresh))
        };
        f.taken.insert(s.as_str().to_string());
        f.minted.insert(at, s.clone());
        s
    }

    // ---- statements ------------------------------------------------------------------

    pub fn walk_body(&mut self, f: &mut Frame, body: &'m [Stmt]) {
        for stmt in body {
            if !f.state.reachable {
                break;
            }
            self.walk_stmt(f, stmt);
        }
    }

    fn walk_stmt(&mut self, f: &mut Frame, stmt: &'m Stmt) {
        if !self.spend(1) || f.depth > MAX_DEPTH {
            self.havoc(f, std::slice::from_ref(stmt));
            return;
        }
        f.depth += 1;
        self.walk_stmt_inner(f, stmt);
        f.depth -= 1;
    }

    fn walk_stmt_inner(&mut self, f: &mut Frame, stmt: &'m Stmt) {
        match stmt {
            Stmt::Expr(s) => {
                self.eval(f, &s.value);
            }
            Stmt::Assign(s) => {
                let value = self.eval(f, &s.value);
                for target in &s.targets {
                    self.assign(f, target, value.clone(), Some(&s.value));
                }
            }
            Stmt::AnnAssign(s) => {
                let value = match &s.value {
                    Some(v) => self.eval(f, v),
                    None => return,
                };
                let value = self.check_annotation(f, &s.annotation, value, s.target.range());
                self.assign(f, &s.target, value, s.value.as_deref());
            }
            Stmt::AugAssign(s) => self.aug_assign(f, s),
            Stmt::Return(s) => {
                let value = match &s.value {
                    Some(v) => self.eval(f, v),
                    None => Value::None,
                };
                let value = canonical_value(&f.state.facts, &value);
                f.returns = Some(match f.returns.take() {
                    None => value,
                    Some(prev) => super::state::join_value(
                        &prev,
                        &value,
                        &SizeFacts::default(),
                        &SizeFacts::default(),
                    ),
                });
                f.state.reachable = false;
            }
            Stmt::Raise(s) => {
                if let Some(e) = &s.exc {
                    self.eval(f, e);
                }
                f.state.reachable = false;
            }
            Stmt::Break(_) => {
                if let Some(l) = f.loops.last_mut() {
                    l.breaks.push(f.state.clone());
                }
                f.state.reachable = false;
            }
            Stmt::Continue(_) => {
                if let Some(l) = f.loops.last_mut() {
                    l.continues.push(f.state.clone());
                }
                f.state.reachable = false;
            }
            Stmt::Assert(s) => {
                self.eval(f, &s.test);
                self.refine(f, &s.test, true);
            }
            Stmt::If(s) => self.walk_if(f, s),
            Stmt::For(s) => self.walk_for(f, s),
            Stmt::While(s) => self.walk_while(f, s),
            Stmt::With(s) => {
                for item in &s.items {
                    self.eval(f, &item.context_expr);
                    if let Some(t) = &item.optional_vars {
                        self.assign(f, t, Value::Unknown, None);
                    }
                }
                self.walk_body(f, &s.body);
            }
            Stmt::Try(s) => self.walk_try(f, s),
            Stmt::Match(s) => self.walk_match(f, s),
            Stmt::Import(s) => {
                super::summary::imported_modules(self.externals, stmt, &mut self.out.imports);
                for alias in &s.names {
                    let (name, value) = match imports::import_binding(alias) {
                        (_, Value::Unknown) => self
                            .external_import(stmt, alias)
                            .unwrap_or_else(|| imports::import_binding(alias)),
                        binding => binding,
                    };
                    f.state.set(&name, value.clone());
                    self.note_global(f, &name, &value);
                }
            }
            Stmt::ImportFrom(s) => {
                super::summary::imported_modules(self.externals, stmt, &mut self.out.imports);
                for alias in &s.names {
                    let binding = match imports::import_from_binding(s, alias) {
                        Some((_, Value::Unknown)) => self
                            .external_import(stmt, alias)
                            .or_else(|| imports::import_from_binding(s, alias)),
                        binding => binding,
                    };
                    if let Some((name, value)) = binding {
                        // `from numpy import pi, float32` binds what `np.pi`, `np.float32` are.
                        let value = match value {
                            Value::NumpyRef(path) if !path.contains('.') => {
                                super::eval::numpy_attribute("", &path)
                            }
                            v => v,
                        };
                        f.state.set(&name, value.clone());
                        self.note_global(f, &name, &value);
                    }
                }
            }
            Stmt::FunctionDef(def) => {
                for d in &def.decorator_list {
                    self.eval(f, &d.expression);
                }
                // Decorators may replace the function: only known transparent ones are
                // followed.
                let value = match self.def_ids.get(&def.range.start()) {
                    Some(&id) if def_kind(def).is_some() => Value::Local(Local::Function(id)),
                    _ => Value::Unknown,
                };
                f.state.set(&def.name.id, value.clone());
                self.note_global(f, &def.name.id, &value);
            }
            Stmt::ClassDef(def) => {
                let value = match self.class_ids.get(&def.range.start()) {
                    Some(&id) if def.decorator_list.is_empty() => match self.class_base(f, def) {
                        Ok(base) => {
                            if let Some(ci) = self.classes.get_mut(id as usize) {
                                ci.base = base;
                            }
                            Value::Local(Local::Class(id))
                        }
                        Err(()) => Value::Unknown,
                    },
                    _ => Value::Unknown,
                };
                f.state.set(&def.name.id, value.clone());
                self.note_global(f, &def.name.id, &value);
            }
            Stmt::Delete(s) => {
                for t in &s.targets {
                    match t {
                        Expr::Name(n) => {
                            f.state.vars.remove(n.id.as_str());
                        }
                        Expr::Subscript(sub) => {
                            self.container_changed(f, &sub.value);
                        }
                        _ => {}
                    }
                }
            }
            Stmt::Global(_)
            | Stmt::Nonlocal(_)
            | Stmt::Pass(_)
            | Stmt::TypeAlias(_)
            | Stmt::IpyEscapeCommand(_) => {}
        }
    }

    /// Forgets everything the statements could assign.
    fn havoc(&mut self, f: &mut Frame, body: &[Stmt]) {
        for name in imports::assigned_names(body) {
            f.state.vars.remove(name.as_str());
        }
    }

    /// An item of `base` was assigned or deleted: if it is a list, it and its aliases
    /// changed.
    fn container_changed(&mut self, f: &mut Frame, base: &'m Expr) {
        if super::eval::contains_list(&self.eval_quiet(f, base)) {
            super::eval::forget_lists(f);
        }
    }

    /// A list bound to a name that a closure mentions may change whenever the closure
    /// runs (`cached[:] = ...` in a callback): it is not tracked, nor are its aliases.
    fn untracked_if_captured(&self, f: &mut Frame, name: &str, value: Value) -> Value {
        if !super::eval::contains_list(&value) {
            return value;
        }
        let captured = match f.function {
            None => self
                .module_captured
                .get_or_init(|| imports::captured_names(self.suite)),
            Some(id) => match self.functions.get(id as usize) {
                Some(info) => info
                    .captured
                    .get_or_init(|| imports::captured_names(&info.def.body)),
                None => return Value::Unknown,
            },
        };
        if captured.contains(name) {
            super::eval::forget_lists(f);
            return Value::Unknown;
        }
        value
    }

    fn note_global(&mut self, f: &Frame, name: &str, value: &Value) {
        // Functions may mutate module lists before they read them: never share lists.
        if f.function.is_none()
            && self.single_globals.contains(name)
            && !super::eval::contains_list(value)
        {
            self.globals.insert(Name::new(name), value.clone());
        }
    }

    fn walk_if(&mut self, f: &mut Frame, s: &'m ast::StmtIf) {
        let clauses = std::iter::once((Some(&*s.test), &s.body)).chain(
            s.elif_else_clauses
                .iter()
                .map(|c| (c.test.as_ref(), &c.body)),
        );
        // Paths that left one of the bodies so far.
        let mut after = State::unreachable();
        for (test, body) in clauses {
            let Some(test) = test else {
                self.walk_body(f, body);
                f.state = after.join(&f.state);
                return;
            };
            let value = self.eval(f, test);
            match truthiness(&value) {
                // A test known statically decides the branch: the other is dead code.
                Some(true) => {
                    self.refine(f, test, true);
                    self.walk_body(f, body);
                    f.state = after.join(&f.state);
                    return;
                }
                Some(false) => {}
                None => {
                    let before = f.state.clone();
                    self.refine(f, test, true);
                    self.walk_body(f, body);
                    after = after.join(&f.state);
                    f.state = before;
                    self.refine(f, test, false);
                }
            }
        }
        f.state = after.join(&f.state);
    }

    /// `match`: cases whose pattern cannot match the (known) subject are dead code; a case
    /// that must match ends the search. The others run from the state before the `match`
    /// (minus what earlier patterns may have bound) and join.
    fn walk_match(&mut self, f: &mut Frame, s: &'m ast::StmtMatch) {
        let subject = self.eval(f, &s.subject);
        let mut before = f.state.clone();
        let mut after = State::unreachable();
        let mut exhaustive = false;
        for case in &s.cases {
            let decided = pattern_decides(&case.pattern, &subject);
            // A failed match may still have bound some captures.
            let mut bound = HashSet::new();
            imports::pattern_names(&case.pattern, &mut bound);
            for n in &bound {
                before.vars.remove(n.as_str());
            }
            if decided == Some(false) {
                continue;
            }
            f.state = before.clone();
            if let Some(g) = &case.guard {
                self.eval(f, g);
            }
            self.walk_body(f, &case.body);
            after = after.join(&f.state);
            if decided == Some(true) && case.guard.is_none() {
                exhaustive = true;
                break;
            }
        }
        if !exhaustive {
            after = after.join(&before);
        }
        f.state = after;
    }

    /// Walks a loop body to a fixpoint of the loop-head state, then once more recording.
    /// `enter` runs at the head of each pass (binds the loop target, refines by the test).
    fn walk_loop(
        &mut self,
        f: &mut Frame,
        body: &'m [Stmt],
        orelse: &'m [Stmt],
        enter: &mut dyn FnMut(&mut Self, &mut Frame),
        exit_refine: &mut dyn FnMut(&mut Self, &mut Frame),
    ) {
        let pre = f.state.clone();
        let record = f.record;
        f.record = false;
        let mut head = pre.clone();
        let mut converged = false;
        for _ in 0..MAX_LOOP_PASSES {
            f.state = head.clone();
            f.loops.push(LoopExits::default());
            enter(self, f);
            self.walk_body(f, body);
            let exits = f.loops.pop().unwrap_or_default();
            let mut next = pre.join(&f.state);
            for c in &exits.continues {
                next = next.join(c);
            }
            if next.same_as(&head) {
                converged = true;
                break;
            }
            head = next;
        }
        if !converged {
            // Sound fallback: the state before the loop minus whatever the loop assigns.
            head = pre.clone();
            for name in imports::assigned_names(body) {
                head.vars.remove(name.as_str());
            }
        }
        f.record = record;
        f.state = head.clone();
        f.loops.push(LoopExits::default());
        enter(self, f);
        self.walk_body(f, body);
        let exits = f.loops.pop().unwrap_or_default();
        // Normal exit: the head state with the loop condition false, then `else`.
        f.state = head;
        exit_refine(self, f);
        self.walk_body(f, orelse);
        let mut after = std::mem::take(&mut f.state);
        for b in &exits.breaks {
            after = after.join(b);
        }
        f.state = after;
    }

    fn walk_for(&mut self, f: &mut Frame, s: &'m ast::StmtFor) {
        let iter = self.eval(f, &s.iter);
        let element = self.element_of(f, &s.iter, &iter);
        let target: &'m Expr = &s.target;
        self.walk_loop(
            f,
            &s.body,
            &s.orelse,
            &mut |w, f| w.assign(f, target, element.clone(), None),
            &mut |_, _| {},
        );
    }

    fn walk_while(&mut self, f: &mut Frame, s: &'m ast::StmtWhile) {
        let test: &'m Expr = &s.test;
        self.walk_loop(
            f,
            &s.body,
            &s.orelse,
            &mut |w, f| {
                w.eval(f, test);
                w.refine(f, test, true);
            },
            &mut |w, f| {
                if is_true_literal(test) {
                    f.state.reachable = false;
                } else {
                    w.refine(f, test, false);
                }
            },
        );
    }

    fn walk_try(&mut self, f: &mut Frame, s: &'m ast::StmtTry) {
        let pre = f.state.clone();
        self.walk_body(f, &s.body);
        self.walk_body(f, &s.orelse);
        let mut after = std::mem::take(&mut f.state);
        // A handler may start anywhere in the body: forget what the body assigns.
        let mut handler_entry = pre;
        for name in imports::assigned_names(&s.body) {
            handler_entry.vars.remove(name.as_str());
        }
        for handler in &s.handlers {
            let ast::ExceptHandler::ExceptHandler(h) = handler;
            f.state = handler_entry.clone();
            if let Some(t) = &h.type_ {
                self.eval(f, t);
            }
            if let Some(n) = &h.name {
                f.state.vars.remove(n.id.as_str());
            }
            self.walk_body(f, &h.body);
            after = after.join(&f.state);
        }
        if !s.finalbody.is_empty() {
            // `finally` also runs on exceptional paths; walk it from what any path knows.
            let reachable = after.reachable;
            f.state = after.join(&handler_entry);
            self.walk_body(f, &s.finalbody);
            if !reachable {
                f.state.reachable = false;
            }
            return;
        }
        f.state = after;
    }

    // ---- assignment ------------------------------------------------------------------

    /// Binds `target` to `value`. `source` is the assigned expression when there is one
    /// (to learn from `n, d = x.shape`).
    pub fn assign(
        &mut self,
        f: &mut Frame,
        target: &'m Expr,
        value: Value,
        source: Option<&'m Expr>,
    ) {
        match target {
            Expr::Name(n) => {
                let value = match value {
                    // A run-time integer of unknown value is still one fixed number: name it.
                    Value::Int(None) => {
                        let s = super::dim::DimExpr::sym(self.mint(f, n.range.start(), &n.id));
                        if let Some(src) = source {
                            self.learn_axis_source(f, src, &s);
                        }
                        Value::Int(Some(s))
                    }
                    // A size the engine named internally (`len(x)` of an unknown axis)
                    // reads better under the target's name.
                    Value::Int(Some(e))
                        if f.readable
                            && e.as_sym().is_some_and(super::facts::is_internal)
                            && f.state.facts.canonical(&e) == e =>
                    {
                        let s = super::dim::DimExpr::sym(self.mint(f, n.range.start(), &n.id));
                        f.state.facts.assume_equal(&s, &e);
                        Value::Int(Some(s))
                    }
                    v => v,
                };
                self.record_binding(f, n.range, &n.id, &value);
                self.note_global(f, &n.id, &value);
                let value = self.untracked_if_captured(f, &n.id, value);
                f.state.set(&n.id, value);
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                if let Some(src) = source {
                    self.learn_from_shape_unpack(f, elts, src);
                }
                let value = if source.is_some() {
                    // Re-read: unpacking `x.shape` may have named its axes.
                    match source {
                        Some(src) if is_shape_attribute(src) => self.eval_quiet(f, src),
                        _ => value,
                    }
                } else {
                    value
                };
                let at = source.map_or(target.range(), Ranged::range);
                let parts = self.unpack(f, &value, elts, at);
                for (t, v) in elts.iter().zip(parts) {
                    let t = match t {
                        Expr::Starred(s) => &*s.value,
                        t => t,
                    };
                    self.assign(f, t, v, None);
                }
            }
            Expr::Starred(s) => self.assign(f, &s.value, Value::Unknown, None),
            Expr::Attribute(a) => {
                let recv = self.eval(f, &a.value);
                // `a.shape = ...` / `a.dtype = ...` reinterpret the array in place.
                if let (Expr::Name(n), Value::Array(_)) = (&*a.value, &recv) {
                    f.state.vars.remove(n.id.as_str());
                    return;
                }
                if let (Expr::Name(n), Value::Local(Local::Instance { class, mut attrs })) =
                    (&*a.value, recv)
                {
                    attrs.retain(|(k, _)| k != a.attr.id.as_str());
                    // Lists held by attributes may be mutated through the attribute.
                    if !matches!(value, Value::Unknown) && !super::eval::contains_list(&value) {
                        attrs.push((a.attr.id.to_string(), value));
                    }
                    f.state
                        .set(&n.id, Value::Local(Local::Instance { class, attrs }));
                }
            }
            Expr::Subscript(sub) => {
                // `x[i] = v` keeps an array's shape; still check the index itself. A list
                // changes (and so may its aliases).
                self.eval_subscript(f, sub);
                self.container_changed(f, &sub.value);
            }
            _ => {}
        }
    }

    fn aug_assign(&mut self, f: &mut Frame, s: &'m ast::StmtAugAssign) {
        let rhs = self.eval(f, &s.value);
        let Some(op) = super::eval::bin_op(s.op) else {
            return;
        };
        match &*s.target {
            Expr::Name(n) => {
                let cur = self.lookup(f, &n.id);
                if super::eval::contains_list(&cur) {
                    // `xs += ys` extends the list in place, aliases included.
                    super::eval::forget_lists(f);
                    self.assign(f, &s.target, Value::Unknown, None);
                    return;
                }
                let result = self.binary(f, s.range, op, &cur, &rhs);
                let value = match (&cur, &result) {
                    // In place: the target keeps its shape and dtype, when the result fits.
                    (Value::Array(c), Value::Array(r)) if !c.is_scalar => {
                        self.check_in_place(f, s.range, c, r);
                        Value::Array(c.clone())
                    }
                    _ => result,
                };
                self.assign(f, &s.target, value, None);
            }
            Expr::Subscript(sub) => {
                self.eval_subscript(f, sub);
                self.container_changed(f, &sub.value);
            }
            Expr::Attribute(a) => {
                self.eval(f, &a.value);
            }
            _ => {}
        }
    }

    /// The values unpacked from `value` into `targets` (at most one starred, which gets a
    /// list); unknown where not known. Unpacking a known number of items into the wrong
    /// number of targets is NumPy's/Python's `ValueError`.
    fn unpack(
        &mut self,
        f: &mut Frame,
        value: &Value,
        targets: &[Expr],
        range: TextRange,
    ) -> Vec<Value> {
        let n = targets.len();
        let unknown = vec![Value::Unknown; n];
        let star = targets.iter().position(|e| matches!(e, Expr::Starred(_)));
        let items = match value {
            Value::Tuple(items) | Value::List(items) => items.clone(),
            Value::Array(a) if !a.is_scalar && a.shape.rank().is_some_and(|r| r > 0) => {
                let a = a.clone();
                let first = a
                    .shape
                    .dims()
                    .and_then(|d| d.first())
                    .and_then(|d| d.as_lit());
                match first {
                    Some(m) if (0..=MAX_UNPACK).contains(&m) => (0..m)
                        .map(|i| {
                            let idx = Value::Int(Some(super::dim::DimExpr::lit(i)));
                            self.model(f, range, |ctx| numpy::subscript(ctx, &a, &idx))
                        })
                        .collect(),
                    // Unknown length: every plain target gets a row.
                    _ if star.is_none() => {
                        let idx = Value::Int(None);
                        let row = self.model(f, range, |ctx| numpy::subscript(ctx, &a, &idx));
                        return vec![row; n];
                    }
                    _ => return unknown,
                }
            }
            _ => return unknown,
        };
        let fits = match star {
            None => items.len() == n,
            Some(_) => items.len() + 1 >= n,
        };
        if !fits {
            let message = if items.len() > n {
                format!(
                    "too many values to unpack (expected {n}, got {})",
                    items.len()
                )
            } else {
                format!(
                    "not enough values to unpack (expected {n}, got {})",
                    items.len()
                )
            };
            self.record_finding(
                f,
                Finding::ShapeError {
                    range,
                    error: numpy::ShapeError {
                        kind: numpy::ShapeErrorKind::Other,
                        message,
                    },
                },
            );
            return unknown;
        }
        match star {
            None => items,
            Some(s) => {
                let tail = n - s - 1;
                let mut out: Vec<Value> = items[..s].to_vec();
                out.push(Value::List(items[s..items.len() - tail].to_vec()));
                out.extend_from_slice(&items[items.len() - tail..]);
                out
            }
        }
    }

    // ---- functions -------------------------------------------------------------------

    /// Looks a name up: the frame's locals, then (inside functions, for names the function
    /// does not assign) the module's single-assignment globals, then builtins.
    pub fn lookup(&self, f: &Frame, name: &str) -> Value {
        if let Some(v) = f.state.get(name) {
            return v.clone();
        }
        let local = match f.function {
            None => true,
            Some(id) => self
                .functions
                .get(id as usize)
                .is_some_and(|info| info.locals.contains(name)),
        };
        if !local && !self.enclosing_binds(f.function, name) {
            if let Some(v) = self.globals.get(name) {
                return v.clone();
            }
        }
        if local && f.function.is_some() {
            return Value::Unknown;
        }
        if f.state.vars.contains_key(name) {
            return Value::Unknown;
        }
        super::eval::builtin_value(name)
    }

    /// True when a function enclosing `function` binds `name`: a closure variable, whose
    /// value we do not track (it may change after the inner function is defined).
    pub fn enclosing_binds(&self, function: Option<u32>, name: &str) -> bool {
        let mut cur = function.and_then(|id| self.functions.get(id as usize)?.parent);
        for _ in 0..MAX_DEPTH {
            let Some(id) = cur else { return false };
            let Some(info) = self.functions.get(id as usize) else {
                return false;
            };
            if info.locals.contains(name) {
                return true;
            }
            cur = info.parent;
        }
        true
    }

    /// Walks a function once with parameters from their annotations, recording its
    /// bindings and checking its return annotation.
    fn definition_run(&mut self, id: u32) {
        let Some(info) = self.functions.get(id as usize) else {
            return;
        };
        let def = info.def;
        let class = info.class;
        let mut frame = Frame::new(Some(id), true, State::default());
        let kind = def_kind(def);
        let recv = match class {
            Some(c) if matches!(kind, Some(DefKind::Plain | DefKind::Property)) => {
                let attrs = if def.name.id.as_str() == "__init__" {
                    Vec::new()
                } else {
                    self.init_attrs(c)
                };
                Some(Value::Local(Local::Instance { class: c, attrs }))
            }
            _ => None,
        };
        self.bind_parameters(&mut frame, def, recv, &[], &[], None);
        self.walk_body(&mut frame, &def.body);
        if let (Some(c), "__init__") = (class, def.name.id.as_str()) {
            let attrs = self_attrs(&frame, def, &self.untrusted_attrs);
            if let Some(ci) = self.classes.get_mut(c as usize) {
                if ci.init_attrs.is_none() {
                    ci.init_attrs = Some(attrs);
                }
            }
        }
        self.summarize(id, &frame);
        if let (Some(ret), Some(value)) = (&def.returns, frame.returns.clone()) {
            self.check_annotation(&mut frame, ret, value, def.name.range);
        }
    }

    /// Attributes of instances of class `c` as its `__init__` leaves them.
    fn init_attrs(&mut self, c: u32) -> Vec<(String, Value)> {
        if let Some(attrs) = self
            .classes
            .get(c as usize)
            .and_then(|ci| ci.init_attrs.clone())
        {
            return attrs;
        }
        let init = self.method_of(c, "__init__");
        let attrs = match init {
            Some(fid) if !self.call_stack.contains(&fid) => {
                self.call_stack.push(fid);
                let Some(def) = self.functions.get(fid as usize).map(|i| i.def) else {
                    return Vec::new();
                };
                let mut frame = Frame::new(Some(fid), false, State::default());
                let recv = Value::Local(Local::Instance {
                    class: c,
                    attrs: Vec::new(),
                });
                self.bind_parameters(&mut frame, def, Some(recv), &[], &[], None);
                self.walk_body(&mut frame, &def.body);
                self.call_stack.pop();
                self_attrs(&frame, def, &self.untrusted_attrs)
            }
            _ => Vec::new(),
        };
        if let Some(ci) = self.classes.get_mut(c as usize) {
            ci.init_attrs = Some(attrs.clone());
        }
        attrs
    }

    /// Binds a function's parameters in `frame`: `recv` to the first, then positional and
    /// keyword arguments; annotated parameters without an argument take the annotation's
    /// shape. `call` is the caller's frame facts and the argument ranges when specialising.
    pub fn bind_parameters(
        &mut self,
        frame: &mut Frame,
        def: &'m ast::StmtFunctionDef,
        recv: Option<Value>,
        args: &[(Value, TextRange)],
        kwargs: &[(&str, Value, TextRange)],
        caller: Option<&mut Frame>,
    ) {
        let params = &def.parameters;
        let mut positional: Vec<&'m ast::ParameterWithDefault> = params
            .posonlyargs
            .iter()
            .chain(params.args.iter())
            .collect();
        if let Some(r) = recv {
            if positional.is_empty() {
                return;
            }
            let first = positional.remove(0);
            frame.state.set(&first.parameter.name.id, r);
        }
        let mut caller = caller;
        let mut extra = Vec::new();
        let mut given: HashMap<&str, (Value, Option<TextRange>)> = HashMap::new();
        for (i, (v, r)) in args.iter().enumerate() {
            match positional.get(i) {
                Some(p) => {
                    given.insert(p.parameter.name.id.as_str(), (v.clone(), Some(*r)));
                }
                None => extra.push(v.clone()),
            }
        }
        for (k, v, r) in kwargs {
            given.insert(k, (v.clone(), Some(*r)));
        }
        let all = positional.iter().copied().chain(params.kwonlyargs.iter());
        for p in all {
            let name = p.parameter.name.id.as_str();
            let value = match given.remove(name) {
                Some((v, range)) => {
                    let v = match (&p.parameter.annotation, caller.as_deref_mut(), range) {
                        (Some(ann), Some(c), Some(r)) => {
                            self.bind_annotated_argument(frame, c, ann, v, r)
                        }
                        _ => v,
                    };
                    v
                }
                None if caller.is_some() => match &p.default {
                    Some(d) => self.eval(frame, d),
                    None => Value::Unknown,
                },
                None => match &p.parameter.annotation {
                    Some(ann) => self.annotation_value(frame, ann),
                    None => Value::Unknown,
                },
            };
            let value = match value {
                Value::Int(None) => {
                    let s = self.mint(frame, p.parameter.name.range.start(), name);
                    Value::Int(Some(super::dim::DimExpr::sym(s)))
                }
                v => v,
            };
            let value = self.untracked_if_captured(frame, name, value);
            frame.state.set(name, value);
        }
        if let Some(va) = &params.vararg {
            let v = if caller.is_some() {
                Value::Tuple(extra)
            } else {
                Value::Unknown
            };
            frame.state.set(&va.name.id, v);
        }
    }

    /// A call of a module function with known argument values: walks its body with them
    /// (bounded in depth and effort) and returns the joined return value.
    pub fn call_function(
        &mut self,
        f: &mut Frame,
        id: u32,
        recv: Option<Value>,
        args: &[(Value, TextRange)],
        kwargs: &[(&str, Value, TextRange)],
    ) -> Value {
        if self.call_stack.len() as u32 >= MAX_CALL_DEPTH
            || self.call_stack.contains(&id)
            || self.effort == 0
        {
            return Value::Unknown;
        }
        let Some(def) = self.functions.get(id as usize).map(|i| i.def) else {
            return Value::Unknown;
        };
        if def.is_async
            || !matches!(
                def_kind(def),
                Some(DefKind::Plain | DefKind::Static | DefKind::Property)
            )
        {
            return Value::Unknown;
        }
        if self
            .functions
            .get(id as usize)
            .is_none_or(|info| info.generator)
        {
            return Value::Unknown;
        }
        // Float values only refine float `arange` lengths; across calls they would make
        // every call distinct (`f(x, 0.25)`, `f(x, 0.5)`), so callees see floats of
        // unknown value and share one summary.
        let recv = recv.map(without_float_values);
        let args: Vec<(Value, TextRange)> = args
            .iter()
            .map(|(v, r)| (without_float_values(v.clone()), *r))
            .collect();
        let kwargs: Vec<(&str, Value, TextRange)> = kwargs
            .iter()
            .map(|(k, v, r)| (*k, without_float_values(v.clone()), *r))
            .collect();
        let (args, kwargs) = (&args[..], &kwargs[..]);
        // Calls whose arguments carry no symbols give the same result wherever they are
        // made (unless annotations turn arguments into findings at the call): reuse it.
        let memo_key = (!has_annotated_parameters(def)
            && recv.as_ref().is_none_or(|r| !mentions_symbols(r))
            && args.iter().all(|(v, _)| !mentions_symbols(v))
            && kwargs.iter().all(|(_, v, _)| !mentions_symbols(v)))
        .then(|| MemoKey {
            recv: recv.clone(),
            args: args.iter().map(|(v, _)| v.clone()).collect(),
            kwargs: kwargs
                .iter()
                .map(|(k, v, _)| (k.to_string(), v.clone()))
                .collect(),
        });
        if let Some(key) = &memo_key {
            if let Some(v) = self.memo.get(&id).and_then(|entries| entries.get(key)) {
                return v.clone();
            }
        }
        let fresh_before = self.fresh;
        let result = self.call_function_uncached(f, id, def, recv, args, kwargs);
        // A size the call minted (a data-dependent length) is new at every call: a result
        // naming one is not reused, or two calls would claim equal sizes.
        if let Some(key) = memo_key.filter(|_| !mentions_fresh_symbols(&result, fresh_before)) {
            let entries = self.memo.entry(id).or_default();
            if entries.len() < MAX_MEMO_PER_FUNCTION {
                entries.insert(key, result.clone());
            }
        }
        result
    }

    fn call_function_uncached(
        &mut self,
        f: &mut Frame,
        id: u32,
        def: &'m ast::StmtFunctionDef,
        recv: Option<Value>,
        args: &[(Value, TextRange)],
        kwargs: &[(&str, Value, TextRange)],
    ) -> Value {
        let mut frame = self.run_callee(f, id, def, recv, args, kwargs);
        let returned = match frame.returns.take() {
            Some(v) if frame.state.reachable => super::state::join_value(
                &v,
                &Value::None,
                &SizeFacts::default(),
                &SizeFacts::default(),
            ),
            Some(v) => v,
            None if frame.state.reachable => Value::None,
            None => Value::Unknown,
        };
        // What the body leaves unknown, the return annotation states in this call's terms
        // (`-> Float[np.ndarray, "*batch n"]` with `*batch` bound by the arguments). A
        // contradiction is reported by the definition run, not at each call.
        let returned = match &def.returns {
            Some(ret) if !frame.contradicted => {
                self.match_annotation(&mut frame, ret, returned, def.name.range, "the result")
                    .0
            }
            _ => returned,
        };
        canonical_value(&frame.state.facts, &returned)
    }

    /// Walks function `id` on the given arguments in a fresh frame (not recording). The
    /// callee sees the caller's size facts so that its results are in caller terms.
    fn run_callee(
        &mut self,
        f: &mut Frame,
        id: u32,
        def: &'m ast::StmtFunctionDef,
        recv: Option<Value>,
        args: &[(Value, TextRange)],
        kwargs: &[(&str, Value, TextRange)],
    ) -> Frame {
        self.call_stack.push(id);
        let state = State {
            facts: f.state.facts.clone(),
            ..State::default()
        };
        let mut frame = Frame::new(Some(id), false, state);
        frame.readable = false;
        self.bind_parameters(&mut frame, def, recv, args, kwargs, Some(f));
        self.walk_body(&mut frame, &def.body);
        self.call_stack.pop();
        frame
    }

    /// The instance `Class(args)` creates: its `__init__` run on the arguments.
    pub fn construct(
        &mut self,
        f: &mut Frame,
        class: u32,
        args: &[(Value, TextRange)],
        kwargs: &[(&str, Value, TextRange)],
    ) -> Value {
        let init = self.method_of(class, "__init__");
        let empty = Value::Local(Local::Instance {
            class,
            attrs: Vec::new(),
        });
        let Some(init) = init else {
            return empty;
        };
        if self.call_stack.len() as u32 >= MAX_CALL_DEPTH || self.call_stack.contains(&init) {
            return empty;
        }
        let Some(def) = self.functions.get(init as usize).map(|i| i.def) else {
            return empty;
        };
        let frame = self.run_callee(f, init, def, Some(empty), args, kwargs);
        let attrs = self_attrs(&frame, def, &self.untrusted_attrs);
        let attrs = attrs
            .into_iter()
            .map(|(k, v)| (k, canonical_value(&frame.state.facts, &v)))
            .collect();
        Value::Local(Local::Instance { class, attrs })
    }

    /// The method `name` of `class` or of its (single, module-local) base chain.
    pub fn method_of(&self, class: u32, name: &str) -> Option<u32> {
        let mut c = Some(class);
        for _ in 0..MAX_DEPTH {
            let info = self.classes.get(c? as usize)?;
            if let Some(&m) = info.methods.get(name) {
                return Some(m);
            }
            c = info.base;
        }
        None
    }

    /// A class's base: `Ok(None)` for none or `object`, `Ok(Some(c))` for one class of this
    /// module; `Err` for anything we cannot follow (other bases, metaclasses, several
    /// bases), since those may add or change methods and attributes.
    fn class_base(&mut self, f: &mut Frame, def: &'m ast::StmtClassDef) -> Result<Option<u32>, ()> {
        let Some(args) = &def.arguments else {
            return Ok(None);
        };
        if !args.keywords.is_empty() {
            return Err(());
        }
        match &*args.args {
            [] => Ok(None),
            [Expr::Name(n)] if n.id.as_str() == "object" => Ok(None),
            [base] => match self.eval(f, base) {
                Value::Local(Local::Class(b)) => Ok(Some(b)),
                _ => Err(()),
            },
            _ => Err(()),
        }
    }

    /// What `recv.name` is for an instance of `class`: a bound method, a plain function
    /// (`staticmethod`), or the value a `property` returns.
    pub fn instance_member(
        &mut self,
        f: &mut Frame,
        class: u32,
        recv: &Value,
        name: &str,
    ) -> Value {
        let Some(id) = self.method_of(class, name) else {
            return Value::Unknown;
        };
        let Some(def) = self.functions.get(id as usize).map(|i| i.def) else {
            return Value::Unknown;
        };
        match def_kind(def) {
            Some(DefKind::Plain) => Value::Local(Local::BoundMethod {
                function: id,
                recv: Box::new(recv.clone()),
            }),
            Some(DefKind::Static) => Value::Local(Local::Function(id)),
            Some(DefKind::Property) => self.call_function(f, id, Some(recv.clone()), &[], &[]),
            Some(DefKind::Class) | None => Value::Unknown,
        }
    }
}

/// The attributes `self` holds at the end of a method's frame (`__init__`), minus those
/// assigned elsewhere too.
fn self_attrs(
    frame: &Frame,
    def: &ast::StmtFunctionDef,
    untrusted: &HashSet<Name>,
) -> Vec<(String, Value)> {
    let Some(first) = def
        .parameters
        .posonlyargs
        .iter()
        .chain(def.parameters.args.iter())
        .next()
    else {
        return Vec::new();
    };
    if !frame.state.reachable && frame.returns.is_none() {
        return Vec::new();
    }
    match frame.state.get(&first.parameter.name.id) {
        Some(Value::Local(Local::Instance { attrs, .. })) => attrs
            .iter()
            .filter(|(k, v)| !untrusted.contains(k.as_str()) && !super::eval::contains_list(v))
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

fn has_annotated_parameters(def: &ast::StmtFunctionDef) -> bool {
    def.parameters.iter().any(|p| p.annotation().is_some())
}

/// True when a value's sizes mention symbols (their meaning depends on the caller's facts).
/// `v` with every Python float's value forgotten (in tuples, lists, instances too).
fn without_float_values(v: Value) -> Value {
    match v {
        Value::Float(Some(_)) => Value::Float(None),
        Value::Tuple(items) => Value::Tuple(items.into_iter().map(without_float_values).collect()),
        Value::List(items) => Value::List(items.into_iter().map(without_float_values).collect()),
        Value::Local(Local::Instance { class, attrs }) => Value::Local(Local::Instance {
            class,
            attrs: attrs
                .into_iter()
                .map(|(k, v)| (k, without_float_values(v)))
                .collect(),
        }),
        Value::Local(Local::BoundMethod { function, recv }) => Value::Local(Local::BoundMethod {
            function,
            recv: Box::new(without_float_values(*recv)),
        }),
        v => v,
    }
}

fn mentions_symbols(v: &Value) -> bool {
    any_symbol(v, &|_| true)
}

/// True when a value's sizes mention an internal symbol minted after `fresh_before`.
fn mentions_fresh_symbols(v: &Value, fresh_before: u32) -> bool {
    any_symbol(v, &|s| {
        s.as_str()
            .strip_prefix('_')
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n > fresh_before)
    })
}

/// True when a size in `v` (or a variadic group) mentions a symbol satisfying `pred`.
fn any_symbol(v: &Value, pred: &dyn Fn(&Symbol) -> bool) -> bool {
    let expr = |e: &super::dim::DimExpr| e.terms.iter().any(|(s, _)| pred(s));
    let dims = |d: &[super::dim::Dim]| d.iter().any(|d| d.expr().is_some_and(expr));
    match v {
        Value::Array(a) => match &a.shape {
            Shape::Ranked(d) => dims(d),
            Shape::Variadic { group, dims: d } => pred(group) || dims(d),
            Shape::Unranked => false,
        },
        Value::Int(Some(e)) => expr(e),
        Value::Tuple(items) | Value::List(items) => items.iter().any(|v| any_symbol(v, pred)),
        Value::Slice(parts) => parts.iter().flatten().any(|v| any_symbol(v, pred)),
        Value::Local(Local::Instance { attrs, .. }) => {
            attrs.iter().any(|(_, v)| any_symbol(v, pred))
        }
        Value::Local(Local::BoundMethod { recv, .. }) => any_symbol(recv, pred),
        _ => false,
    }
}

/// How a `def` behaves once its decorators apply, when we can follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefKind {
    Plain,
    Static,
    Class,
    Property,
}

/// `None` when a decorator may replace the function with something else. Type checkers
/// (`@jaxtyped(typechecker=...)`, `@beartype`), JIT compilers and caches keep what the
/// function computes.
pub(crate) fn def_kind(def: &ast::StmtFunctionDef) -> Option<DefKind> {
    let mut kind = DefKind::Plain;
    for d in &def.decorator_list {
        let head = match &d.expression {
            Expr::Call(c) => &*c.func,
            e => e,
        };
        let name = match head {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.id.as_str(),
            _ => return None,
        };
        match name {
            "jaxtyped" | "beartype" | "typechecked" | "njit" | "jit" | "cache" | "lru_cache"
            | "override" | "final" => {}
            "staticmethod" => kind = DefKind::Static,
            "classmethod" => kind = DefKind::Class,
            "property" | "cached_property" => kind = DefKind::Property,
            _ => return None,
        }
    }
    Some(kind)
}

/// Whether a `case` pattern matches `subject`, when that is certain: literal and
/// singleton patterns against known values, captures and `_` (always), and `|` of those.
fn pattern_decides(pattern: &ast::Pattern, subject: &Value) -> Option<bool> {
    match pattern {
        ast::Pattern::MatchAs(p) => match &p.pattern {
            None => Some(true),
            Some(inner) => pattern_decides(inner, subject),
        },
        ast::Pattern::MatchOr(p) => {
            let mut all_fail = true;
            for alt in &p.patterns {
                match pattern_decides(alt, subject) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => all_fail = false,
                }
            }
            all_fail.then_some(false)
        }
        // `case None:`, `case True:` compare by identity.
        ast::Pattern::MatchSingleton(p) => {
            let is = |b: bool| match p.value {
                ast::Singleton::True => b,
                ast::Singleton::False => !b,
                ast::Singleton::None => false,
            };
            match subject {
                Value::None => Some(matches!(p.value, ast::Singleton::None)),
                Value::Bool(Some(b)) => Some(is(*b)),
                Value::Int(_) | Value::Str(_) | Value::Tuple(_) | Value::List(_) => Some(false),
                _ => None,
            }
        }
        // `case 1:`, `case "a":` compare by `==`; only ints against ints and strings
        // against strings are decided (`True == 1`, `1 == 1.0` hold in Python).
        ast::Pattern::MatchValue(p) => match (literal_of(&p.value)?, subject) {
            (Literal::Int(a), Value::Int(Some(b))) => b.as_lit().map(|b| a == b),
            (Literal::Str(a), Value::Str(b)) => Some(a == b.as_str()),
            (Literal::Int(a), Value::Bool(Some(b))) => Some(a == i64::from(*b)),
            (Literal::Int(_), Value::Str(_))
            | (Literal::Str(_), Value::Int(_) | Value::Bool(_))
            | (_, Value::None) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

enum Literal<'a> {
    Int(i64),
    Str(&'a str),
}

fn literal_of(e: &Expr) -> Option<Literal<'_>> {
    match e {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64().map(Literal::Int),
            _ => None,
        },
        Expr::UnaryOp(u) if u.op == ast::UnaryOp::USub => match literal_of(&u.operand)? {
            Literal::Int(i) => i.checked_neg().map(Literal::Int),
            Literal::Str(_) => None,
        },
        Expr::StringLiteral(s) => Some(Literal::Str(s.value.to_str())),
        _ => None,
    }
}

/// Python truth of a value when it is known exactly.
pub(crate) fn truthiness(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => *b,
        Value::None => Some(false),
        Value::Int(Some(e)) => e.as_lit().map(|x| x != 0),
        Value::Str(s) => Some(!s.is_empty()),
        Value::Tuple(items) => Some(!items.is_empty()),
        Value::NumpyRef(_) | Value::DtypeObj(_) | Value::Local(_) => Some(true),
        _ => None,
    }
}

fn is_true_literal(e: &Expr) -> bool {
    match e {
        Expr::BooleanLiteral(b) => b.value,
        Expr::NumberLiteral(n) => matches!(&n.value, ast::Number::Int(i) if i.as_u64() != Some(0)),
        _ => false,
    }
}

pub(crate) fn is_shape_attribute(e: &Expr) -> bool {
    matches!(e, Expr::Attribute(a) if a.attr.id.as_str() == "shape")
}

pub(crate) fn canonical_shape(
    facts: &SizeFacts,
    shape: &super::shape::Shape,
) -> super::shape::Shape {
    use super::dim::Dim;
    shape.map_dims(|d| match d {
        Dim::Known(e) => Dim::Known(facts.canonical(e)),
        Dim::Unknown => Dim::Unknown,
    })
}

pub(crate) fn canonical_value(facts: &SizeFacts, value: &Value) -> Value {
    if facts.is_empty() {
        return value.clone();
    }
    match value {
        Value::Array(a) => Value::Array(super::value::ArrayValue {
            shape: canonical_shape(facts, &a.shape),
            dtype: a.dtype,
            is_scalar: a.is_scalar,
        }),
        Value::Int(Some(e)) => Value::Int(Some(facts.canonical(e))),
        Value::Tuple(items) => {
            Value::Tuple(items.iter().map(|v| canonical_value(facts, v)).collect())
        }
        Value::List(items) => {
            Value::List(items.iter().map(|v| canonical_value(facts, v)).collect())
        }
        Value::Local(Local::Instance { class, attrs }) => Value::Local(Local::Instance {
            class: *class,
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.clone(), canonical_value(facts, v)))
                .collect(),
        }),
        v => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::analysis::{analyze, Options};
    use crate::python::parse_module;

    /// The shape of scipy's `_lebedev.py`: one helper with a `match` over its kind, called
    /// hundreds of times with running offsets and float weights. Each call walks only its
    /// case, and calls with the same kind and offset reuse one summary, so the work is
    /// about one walk per distinct call (it was one walk of every case per call).
    #[test]
    fn repeated_calls_of_one_helper_stay_cheap() {
        let mut src =
            String::from("import numpy as np\n\ndef fill(kind, start, v, out):\n    match kind:\n");
        for k in 1..=6 {
            src += &format!("        case {k}:\n");
            for i in 0..40 {
                src += &format!("            out[start + {i}] = v\n");
            }
            src += "            start = start + 40\n";
        }
        src += "        case _:\n            raise ValueError\n    return out, start\n\n";
        src += "def build(n):\n    out = np.zeros(n)\n    start = 0\n";
        for c in 0..600 {
            src += &format!(
                "    out, start = fill({}, {}, {}.5, out)\n",
                c % 6 + 1,
                (c % 20) * 40,
                c
            );
        }
        src += "    return out\n";
        let module = parse_module(&src);
        let analysis = analyze(&module, &src, &Options::default());
        // 60 distinct calls of 42 statements, the 600 call statements, one definition run
        // of each function: about 4,000. Walking every case of every call: about 148,000.
        assert!(analysis.work < 10_000, "work {}", analysis.work);
    }
}

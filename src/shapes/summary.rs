//! Cross-module calls: what one module tells others about its functions (a summary: the
//! array annotations of the signature and the return shape inferred from them), and
//! calls of imported functions through those summaries. Summaries are plain data made by
//! analysing a module on its own, so analysing a module that imports them needs no other
//! module's syntax, and import cycles cannot recurse. The CLI gathers them; nothing here
//! reads files.

use std::collections::HashMap;
use std::sync::Arc;

use ruff_python_ast as ast;
use ruff_text_size::TextRange;

use super::dim::{Dim, DimExpr};
use super::jaxtyping::{parse_annotation, AnnDim, ArrayAnnotation};
use super::shape::Shape;
use super::state::State;
use super::value::{Local, Value};
use super::walker::{canonical_value, Frame, Walker};

/// What a module exports to the modules importing it: its summarised functions by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleSummary {
    pub functions: HashMap<String, FunctionSummary>,
}

impl ModuleSummary {
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }
}

/// A module-level function with array annotations, as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSummary {
    pub(crate) params: Vec<ParamSummary>,
    pub(crate) returns: Option<ArrayAnnotation>,
    /// The value its body returns, in the names of its parameter annotations (`n`,
    /// `*batch`); sizes in other terms are unknown at the call.
    pub(crate) result: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamSummary {
    pub name: String,
    pub annotation: Option<ArrayAnnotation>,
    /// May be passed by position (not keyword-only, not `*args`).
    pub positional: bool,
}

/// Where the analysed module sits among the modules being checked, and their summaries.
#[derive(Debug, Clone, Default)]
pub struct Externals {
    /// The module's dotted name under its root (`pkg.sub.mod`; `pkg.sub` for
    /// `pkg/sub/__init__.py`); empty when unknown (relative imports then resolve to nothing).
    pub module: String,
    /// The module is a package's `__init__.py`.
    pub is_package: bool,
    /// Summaries of other modules under the same root, by dotted name.
    pub modules: HashMap<String, Arc<ModuleSummary>>,
}

impl Externals {
    /// The absolute module `from <dots><module> import ...` names, as Python resolves it.
    pub fn resolve(&self, level: u32, module: Option<&str>) -> Option<String> {
        if level == 0 {
            return module.map(str::to_string);
        }
        if self.module.is_empty() {
            return None;
        }
        let mut parts: Vec<&str> = self.module.split('.').collect();
        // A module's own package is its name minus the last part; a package is its own.
        let up = level as usize - usize::from(self.is_package);
        parts.truncate(parts.len().checked_sub(up)?);
        if let Some(m) = module {
            parts.push(m);
        }
        (!parts.is_empty()).then(|| parts.join("."))
    }

    fn function(&self, module: &str, name: &str) -> Option<&FunctionSummary> {
        self.modules.get(module)?.functions.get(name)
    }
}

/// Every module an import statement may load (for `from a.b import c`: `a.b` and, as `c`
/// may be a submodule, `a.b.c`), resolved against `externals`.
pub(crate) fn imported_modules(externals: &Externals, stmt: &ast::Stmt, out: &mut Vec<String>) {
    match stmt {
        ast::Stmt::Import(s) => out.extend(s.names.iter().map(|a| a.name.id.to_string())),
        ast::Stmt::ImportFrom(s) => {
            let module = s.module.as_ref().map(|m| m.id.as_str());
            if let Some(base) = externals.resolve(s.level, module) {
                for alias in &s.names {
                    out.push(format!("{base}.{}", alias.name.id));
                }
                out.push(base);
            }
        }
        _ => {}
    }
}

impl<'m> Walker<'m> {
    /// What `import a.b as m` / `from .u import f` bind when the module is summarised;
    /// `None` otherwise (the name is then unknown, as before).
    pub(crate) fn external_import(
        &mut self,
        stmt: &ast::Stmt,
        alias: &ast::Alias,
    ) -> Option<(String, Value)> {
        let externals = self.externals;
        if externals.modules.is_empty() {
            return None;
        }
        let (bound, path) = match stmt {
            ast::Stmt::Import(_) => {
                let module = alias.name.id.to_string();
                match &alias.asname {
                    Some(asname) => (asname.id.to_string(), module),
                    // `import a.b` binds `a`.
                    None => {
                        let top = module.split('.').next().unwrap_or_default().to_string();
                        (top.clone(), top)
                    }
                }
            }
            ast::Stmt::ImportFrom(s) => {
                let base = externals.resolve(s.level, s.module.as_ref().map(|m| m.id.as_str()))?;
                let bound = alias.asname.as_ref().unwrap_or(&alias.name).id.to_string();
                let name = alias.name.id.as_str();
                if externals.function(&base, name).is_some() {
                    let function = Local::External {
                        module: base,
                        function: name.to_string(),
                    };
                    return Some((bound, Value::Local(function)));
                }
                (bound, format!("{base}.{name}"))
            }
            _ => return None,
        };
        let known = externals
            .modules
            .keys()
            .any(|m| m == &path || m.starts_with(&format!("{path}.")));
        known.then_some((bound, Value::Local(Local::Module(path))))
    }

    /// `m.f` for a module value: a summarised function, or a summarised submodule.
    pub(crate) fn module_attribute(&self, module: &str, name: &str) -> Value {
        if self.externals.function(module, name).is_some() {
            return Value::Local(Local::External {
                module: module.to_string(),
                function: name.to_string(),
            });
        }
        let path = format!("{module}.{name}");
        let known = self
            .externals
            .modules
            .keys()
            .any(|m| m == &path || m.starts_with(&format!("{path}.")));
        if known {
            Value::Local(Local::Module(path))
        } else {
            Value::Unknown
        }
    }

    /// The summary of module-level function `id` after its definition run, when its
    /// signature has array annotations and its name is bound once (so importers get it).
    pub(crate) fn summarize(&mut self, id: u32, frame: &Frame) {
        let Some(info) = self.functions.get(id as usize) else {
            return;
        };
        let def = info.def;
        if info.parent.is_some()
            || info.class.is_some()
            || def.is_async
            || super::walker::def_kind(def) != Some(super::walker::DefKind::Plain)
            || !self.single_globals.contains(def.name.id.as_str())
            || super::syntax::contains_yield(&def.body)
        {
            return;
        }
        let params = &def.parameters;
        let mut out = Vec::new();
        for p in params.posonlyargs.iter().chain(&params.args) {
            out.push(ParamSummary {
                name: p.parameter.name.id.to_string(),
                annotation: p.parameter.annotation.as_deref().and_then(parse_annotation),
                positional: true,
            });
        }
        for p in &params.kwonlyargs {
            out.push(ParamSummary {
                name: p.parameter.name.id.to_string(),
                annotation: p.parameter.annotation.as_deref().and_then(parse_annotation),
                positional: false,
            });
        }
        let returns = def.returns.as_deref().and_then(parse_annotation);
        let shaped = |a: &Option<ArrayAnnotation>| a.as_ref().is_some_and(|a| a.dims.is_some());
        if !shaped(&returns) && !out.iter().any(|p| shaped(&p.annotation)) {
            // Only shapeless annotations (`np.ndarray`): callers would learn nothing.
            return;
        }
        let result = match frame.returns.clone() {
            Some(v) if !frame.state.reachable => Some(v),
            _ => None,
        }
        .map(|v| canonical_value(&frame.state.facts, &v))
        .filter(|v| matches!(v, Value::Array(_)));
        self.out.summary.functions.insert(
            def.name.id.to_string(),
            FunctionSummary {
                params: out,
                returns,
                result,
            },
        );
    }

    /// A call of an imported, summarised function: binds the annotations of its parameters
    /// to the arguments (a contradiction is reported at the argument), then states its
    /// result in the caller's sizes.
    pub(crate) fn call_external(
        &mut self,
        f: &mut Frame,
        module: &str,
        function: &str,
        args: &[(Value, TextRange)],
        kwargs: &[(&str, Value, TextRange)],
    ) -> Value {
        let Some(summary) = self.externals.function(module, function) else {
            return Value::Unknown;
        };
        let state = State {
            facts: f.state.facts.clone(),
            ..State::default()
        };
        let mut frame = Frame::new(None, false, state);
        frame.readable = false;
        let positional = summary.params.iter().filter(|p| p.positional);
        let given =
            positional
                .zip(args)
                .map(|(p, (v, r))| (p, v, *r))
                .chain(kwargs.iter().filter_map(|(k, v, r)| {
                    let p = summary.params.iter().find(|p| p.name == *k)?;
                    Some((p, v, *r))
                }));
        for (p, v, r) in given {
            let Some(ann) = &p.annotation else { continue };
            let (_, finding) =
                self.match_parsed_annotation(&mut frame, ann, v.clone(), r, "this argument");
            if let Some(finding) = finding {
                frame.contradicted = true;
                self.record_finding(f, finding);
            }
        }
        if frame.contradicted {
            return Value::Unknown;
        }
        let names = annotation_names(&summary.params);
        let result = match &summary.result {
            Some(v) => substitute(&frame, &names, v),
            None => Value::Unknown,
        };
        let result = match &summary.returns {
            Some(ret) => {
                let range = TextRange::default();
                self.match_parsed_annotation(&mut frame, ret, result, range, "the result")
                    .0
            }
            None => result,
        };
        canonical_value(&frame.state.facts, &result)
    }
}

/// The size and group names the parameter annotations bind.
fn annotation_names(params: &[ParamSummary]) -> Vec<&str> {
    let mut names = Vec::new();
    for p in params {
        for d in p.annotation.iter().flat_map(|a| a.dims.iter().flatten()) {
            match d {
                AnnDim::Size(s) | AnnDim::Broadcast(s) => {
                    names.extend(s.terms.iter().map(|(n, _)| n.as_str()))
                }
                AnnDim::Variadic(Some(n)) => names.push(n),
                AnnDim::Variadic(None) | AnnDim::Any => {}
            }
        }
    }
    names
}

/// A summarised result in the call's terms: annotation names become what the arguments
/// bound them to; any other size is unknown (it meant something only inside the callee).
fn substitute(frame: &Frame, names: &[&str], v: &Value) -> Value {
    let dim = |d: &Dim| -> Dim {
        let Dim::Known(e) = d else {
            return Dim::Unknown;
        };
        let mut out = DimExpr::lit(e.constant);
        for (s, k) in &e.terms {
            let bound = names
                .contains(&s.as_str())
                .then(|| frame.ann_symbols.get(s.as_str()))
                .flatten()
                .and_then(|b| DimExpr::sym(b.clone()).checked_scale(*k))
                .and_then(|t| out.checked_add(&t));
            match bound {
                Some(next) => out = next,
                None => return Dim::Unknown,
            }
        }
        Dim::Known(out)
    };
    match v {
        Value::Array(a) => {
            let shape = match &a.shape {
                Shape::Variadic { group, dims } => {
                    let lead = names
                        .contains(&group.as_str())
                        .then(|| frame.ann_groups.get(group.as_str()))
                        .flatten();
                    match lead {
                        Some(lead) => lead.followed_by(dims.iter().map(dim).collect()),
                        None => Shape::Unranked,
                    }
                }
                s => s.map_dims(dim),
            };
            Value::Array(super::value::ArrayValue {
                shape,
                dtype: a.dtype,
                is_scalar: a.is_scalar,
            })
        }
        _ => Value::Unknown,
    }
}

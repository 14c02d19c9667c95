//! The rule engine: runs the rules of the catalogue over a module's shape analysis, applies
//! rule selection and `# noqa` comments, and returns sorted diagnostics. No I/O: the CLI
//! reads files and configuration and hands over source text and [`Settings`].

mod catalogue;
mod checker;
pub mod docs;
mod expected_raise;
mod noqa;
mod registry;
mod rules;
mod selection;

pub use catalogue::{catalogue, rule_doc, Explanation, FixAvailability, RuleDoc, Status};
pub use registry::{Rule, RULES};
pub use selection::{validate as validate_selectors, Selection, SelectionError};

use crate::diagnostic::{Diagnostic, Severity};
use crate::python;
use crate::shapes::{self, numpy::NumpyVersion};

/// Everything that decides what a check reports, resolved by the caller (CLI flags and
/// `[tool.overt]` configuration).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub selection: Selection,
    pub numpy_version: NumpyVersion,
}

/// Checks one module. Never fails: syntax errors are `E999` diagnostics and analysis goes on
/// with what could be parsed. Diagnostics come back sorted by position, then code.
pub fn check(source: &str, settings: &Settings) -> Vec<Diagnostic> {
    check_module(source, settings, &shapes::Externals::default()).diagnostics
}

/// What checking one module gives: its diagnostics, and for cross-module calls what it
/// exports and which modules it imports.
#[derive(Debug, Default)]
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    pub summary: shapes::ModuleSummary,
    pub imports: Vec<String>,
}

/// `check`, with the module's place in the checked tree and other modules' summaries.
pub fn check_module(source: &str, settings: &Settings, externals: &shapes::Externals) -> Checked {
    // Cheap pre-filter: a file that never mentions numpy cannot hold a NumPy shape bug, so
    // it is neither parsed nor analysed (this keeps `overt check` fast on large trees).
    if !shapes::may_use_numpy(source) {
        return Checked::default();
    }
    let directives = noqa::Directives::parse(source);
    if directives.exempts_file() {
        return Checked::default();
    }
    let module = python::parse_module(source);
    let options = shapes::Options {
        numpy_version: settings.numpy_version,
    };
    let mut analysis = shapes::analyze_with(&module, source, &options, externals);

    let mut diagnostics = module.syntax_errors.clone();
    let mut checker = checker::Checker::new(source, &module, &analysis);
    for rule in RULES {
        if settings.selection.is_enabled(rule.code) {
            checker.run(rule, &mut diagnostics);
        }
    }
    diagnostics.retain(|d| !directives.suppresses(d));
    let expected = expected_raise::regions(&module.suite);
    if !expected.is_empty() {
        diagnostics.retain(|d| {
            d.code == python::SYNTAX_ERROR
                || d.severity != Severity::Error
                || !expected.iter().any(|r| r.contains_range(d.range))
        });
    }
    diagnostics.sort_by(|a, b| {
        (a.range.start(), a.range.end(), a.code).cmp(&(b.range.start(), b.range.end(), b.code))
    });
    diagnostics.dedup();
    Checked {
        diagnostics,
        summary: std::mem::take(&mut analysis.summary),
        imports: std::mem::take(&mut analysis.imports),
    }
}

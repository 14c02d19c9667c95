//! What a rule sees while it runs: the source, the parsed module, the shape analysis, and a
//! way to report diagnostics with its own code and severity.

use ruff_text_size::TextRange;

use super::catalogue::rule_doc;
use super::registry::Rule;
use crate::diagnostic::{Diagnostic, Severity};
use crate::python::ParsedModule;
use crate::shapes::numpy::{ShapeError, ShapeErrorKind};
use crate::shapes::{Analysis, Finding};

pub(crate) struct Checker<'a> {
    #[allow(dead_code)] // for rules that read the syntax tree (planned rules)
    pub(crate) source: &'a str,
    #[allow(dead_code)]
    pub(crate) module: &'a ParsedModule,
    pub(crate) analysis: &'a Analysis,
    current: Option<(&'static str, Severity)>,
    reported: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(source: &'a str, module: &'a ParsedModule, analysis: &'a Analysis) -> Self {
        Checker {
            source,
            module,
            analysis,
            current: None,
            reported: Vec::new(),
        }
    }

    /// Runs one rule and appends what it reports.
    pub(crate) fn run(&mut self, rule: &'static Rule, out: &mut Vec<Diagnostic>) {
        let severity = rule_doc(rule.code).map_or(Severity::Error, |d| d.severity);
        self.current = Some((rule.code, severity));
        (rule.check)(self);
        out.append(&mut self.reported);
        self.current = None;
    }

    /// Reports a diagnostic of the running rule; returns it for labels, help and fix.
    pub(crate) fn report(
        &mut self,
        range: TextRange,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let (code, severity) = self.current.unwrap_or(("E900", Severity::Error));
        self.reported
            .push(Diagnostic::new(code, severity, range, message));
        let last = self.reported.len() - 1;
        &mut self.reported[last]
    }

    /// The definite shape errors of the analysis whose kind is one of `kinds`.
    pub(crate) fn shape_errors(
        &self,
        kinds: &'static [ShapeErrorKind],
    ) -> impl Iterator<Item = (TextRange, &'a ShapeError)> + 'a {
        self.analysis.findings.iter().filter_map(move |f| match f {
            Finding::ShapeError { range, error } if kinds.contains(&error.kind) => {
                Some((*range, error))
            }
            _ => None,
        })
    }

    /// Reports every definite shape error of the given kinds with NumPy's message (which
    /// carries the shapes as evidence) and the rule's help.
    pub(crate) fn report_shape_errors(&mut self, kinds: &'static [ShapeErrorKind], help: &str) {
        let errors: Vec<_> = self.shape_errors(kinds).collect();
        for (range, error) in errors {
            self.report(range, error.message.clone()).help = Some(help.to_string());
        }
    }
}

//! The result of analysing one module, and the entry point.

use ruff_text_size::TextRange;

use super::dtype::Dtype;
use super::numpy::{NumpyVersion, ShapeError};
use super::shape::Shape;
use super::summary::Externals;
use super::walker::Walker;
use crate::python::ParsedModule;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub numpy_version: NumpyVersion,
}

/// One assignment target whose value is a NumPy array or NumPy scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Range of the target name.
    pub range: TextRange,
    pub name: String,
    pub shape: Shape,
    pub dtype: Option<Dtype>,
}

/// Something the analysis found that a rule may report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// NumPy would raise on this operation for the inferred shapes.
    ShapeError { range: TextRange, error: ShapeError },
    /// An inferred shape contradicts an annotation, an assert or a guard.
    AnnotationMismatch {
        range: TextRange,
        expected: Shape,
        inferred: Shape,
        message: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// In source order; a name assigned several times appears once per assignment.
    pub bindings: Vec<Binding>,
    pub findings: Vec<Finding>,
    /// Statement visits the walk spent (loop passes and call specialisations included);
    /// bounded per module. For performance reports.
    pub work: u64,
    /// What this module tells modules importing it (its annotated functions).
    pub summary: super::summary::ModuleSummary,
    /// Modules its import statements may load (absolute dotted names), for the caller to
    /// find the summaries a second analysis could use.
    pub imports: Vec<String>,
}

impl Finding {
    pub fn range(&self) -> TextRange {
        match self {
            Finding::ShapeError { range, .. } | Finding::AnnotationMismatch { range, .. } => *range,
        }
    }
}

/// Analyses a parsed module. Never fails; broken code yields what can be inferred. Files
/// that never mention NumPy are skipped without walking.
pub fn analyze(module: &ParsedModule, source: &str, options: &Options) -> Analysis {
    analyze_with(module, source, options, &Externals::default())
}

/// `analyze`, with the summaries of the other modules of the checked tree, so that calls of
/// their functions (`from .utils import center`) have shapes.
pub fn analyze_with(
    module: &ParsedModule,
    source: &str,
    options: &Options,
    externals: &Externals,
) -> Analysis {
    if !super::syntax::may_use_numpy(source) {
        return Analysis::default();
    }
    let mut walker = Walker::new(options, externals);
    walker.run_module(&module.suite);
    walker.out
}

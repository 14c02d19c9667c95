//! The Python syntax adapter: the only module that names `ruff_python_parser`. It parses
//! source into a ruff AST plus syntax-error diagnostics and never fails. It knows nothing of
//! NumPy or shapes.

pub use ruff_python_ast as ast;
pub use ruff_source_file::{LineIndex, OneIndexed};
pub use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::diagnostic::{Diagnostic, Severity};
use ruff_text_size::TextLen;

/// Code of the syntax-error diagnostic.
pub const SYNTAX_ERROR: &str = "E999";

/// A parsed Python module: the statements (possibly partial, with error recovery) and the
/// syntax errors found.
pub struct ParsedModule {
    pub suite: ast::Suite,
    pub syntax_errors: Vec<Diagnostic>,
}

/// Parses a module with error recovery. Never panics on any input.
pub fn parse_module(source: &str) -> ParsedModule {
    let parsed = ruff_python_parser::parse_unchecked_source(source, ast::PySourceType::Python);
    let syntax_errors = parsed
        .errors()
        .iter()
        .map(|e| {
            Diagnostic::new(
                SYNTAX_ERROR,
                Severity::Error,
                e.location,
                format!("syntax error: {}", e.error),
            )
        })
        .collect();
    ParsedModule {
        suite: parsed.into_suite(),
        syntax_errors,
    }
}

/// 1-based line and column (in characters) of an offset, for display only.
pub fn line_column(index: &LineIndex, source: &str, offset: TextSize) -> (usize, usize) {
    let offset = offset.min(source.text_len());
    let lc = index.line_column(offset, source);
    (lc.line.get(), lc.column.get())
}

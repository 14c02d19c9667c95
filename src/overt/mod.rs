//! The Overt language: syntax, printer and checker. Knows nothing of Python.
//!
//! Pipeline: [`parser::parse`] (source -> [`ast::SourceFile`] plus syntax errors), then
//! [`checker::check`] (-> [`program::CheckedProgram`] plus errors). Errors are
//! [`crate::diagnostic::Diagnostic`]s with byte ranges.

pub mod ast;
pub mod builtins;
pub mod checker;
pub mod dtype;
pub mod lexer;
pub mod parser;
pub mod printer;
pub mod program;
pub mod report;
pub mod size;

pub use dtype::Dtype;
pub use program::CheckedProgram;

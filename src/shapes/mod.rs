//! Symbolic shape inference for NumPy code. Knows nothing of rules, output formats or the
//! file system: it takes a parsed module and returns facts plus findings, and never fails.

pub mod dim;
pub mod dtype;
pub mod shape;
pub mod value;

pub use dim::{Dim, DimExpr, Symbol};
pub use dtype::Dtype;
pub use shape::Shape;
pub use value::{ArrayValue, Local, PyFloat, Value};

pub mod analysis;
mod eval;
pub mod facts;
mod jaxtyping;
pub mod numpy;
mod refine;
mod state;
pub mod summary;
mod syntax;
mod walker;

pub use analysis::{analyze, analyze_with, Analysis, Binding, Finding, Options};
pub use summary::{Externals, ModuleSummary};
pub(crate) use syntax::may_use_numpy;

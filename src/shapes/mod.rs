//! Symbolic shape inference for NumPy code. Knows nothing of rules, output formats or the
//! file system: it takes a parsed module and returns facts plus findings, and never fails.

pub mod dim;
pub mod dtype;
pub mod shape;
pub mod value;

pub use dim::{Dim, DimExpr, Symbol};
pub use dtype::Dtype;
pub use shape::Shape;
pub use value::{ArrayValue, Value};

pub mod analysis;
pub mod facts;
pub mod numpy;

pub use analysis::{analyze, Analysis, Binding, Finding, Options};

//! overt: understand, lint, translate and verify NumPy code; run the explicit array
//! language Overt.
//!
//! Layers, each depending only on the ones above it in this list:
//! `diagnostic` (shared vocabulary), `python` (syntax adapter), `shapes` (symbolic shape
//! inference), `lint` (rules), `overt` (the Overt language), `runtime` (executes Overt),
//! `cli` (the only layer that does I/O, threads and configuration).

pub mod cli;
pub mod diagnostic;
pub mod lint;
pub mod overt;
pub mod python;
pub mod runtime;
pub mod shapes;

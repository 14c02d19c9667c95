//! Executes checked Overt programs: the reference evaluator and the fast executor.
//! Knows nothing of Python.

pub mod bind;
pub mod exec;
pub mod lower;
pub mod npy;
pub mod plan;
pub mod reference;
pub mod tensor;
pub(crate) mod vector;

pub use tensor::{Dtype, MemoryBudget, Scalar, Tensor, TensorData, TensorError};

//! Executes checked Overt programs: the reference evaluator and the fast executor.
//! Knows nothing of Python.

pub mod npy;
pub mod tensor;

pub use tensor::{Dtype, MemoryBudget, Scalar, Tensor, TensorData, TensorError};

//! One file per implemented rule; each holds the rule's check. Docs and examples are data in
//! `rules/<code>.toml`.

pub(crate) mod annotation_mismatch;
pub(crate) mod axis_out_of_bounds;
pub(crate) mod broadcast_error;
pub(crate) mod index_out_of_bounds;
pub(crate) mod invalid_array_operation;
pub(crate) mod matmul_shape_mismatch;
pub(crate) mod reshape_size_mismatch;

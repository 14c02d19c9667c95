//! All integration tests, in one binary: each test file of its own would link the whole
//! crate again (about 230 MB apiece in a debug build), which filled CI's disk.

mod check_cli;
mod check_snapshots;
mod cross_module;
mod differential;
mod oracle;
mod overt_checker;
mod overt_errors;
mod overt_fixtures;
mod overt_reference;
mod overt_spec;
mod rules;
mod runtime_fusion;
mod runtime_npy;
mod runtime_props;
mod runtime_run;
mod seed_cases;
mod shapes_findings;
mod shapes_snapshots;
mod shapes_walker;
mod tree_sitter_grammar;

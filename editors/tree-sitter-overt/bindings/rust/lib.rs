//! The tree-sitter grammar of Overt, for editors. The compiler does not use it.

use tree_sitter_language::LanguageFn;

extern "C" {
    fn tree_sitter_overt() -> *const ();
}

/// The tree-sitter [`LanguageFn`] for Overt.
// SAFETY: `tree_sitter_overt` is the generated parser's entry point (src/parser.c); it
// takes no arguments and returns a pointer to a static `TSLanguage`.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_overt) };

/// The syntax highlighting query.
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// The node types, as generated.
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

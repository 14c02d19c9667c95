//! The rule engine: runs the rules of the catalogue over a module's shape analysis.

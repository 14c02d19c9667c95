//! The Overt language: syntax, printer and checker. Knows nothing of Python.

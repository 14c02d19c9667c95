//! Executes checked Overt programs: the reference evaluator and the fast executor.
//! Knows nothing of Python.

//! Findings of the shape analysis that do not depend on the NumPy model's tables:
//! contradictions between inferred shapes and annotations, asserts and unpacking. And the
//! other half of the contract: nothing is reported when shapes are unknown.

use overt::python::{line_column, parse_module, LineIndex};
use overt::shapes::{analyze, Finding, Options};

/// Analyses `body` (after NumPy/jaxtyping imports) and compares the findings, one per
/// line as `line:col kind: message`, with `expected`.
fn check(body: &str, expected: &[&str]) {
    let source = format!("import numpy as np\nfrom jaxtyping import Float\n{body}");
    let parsed = parse_module(&source);
    let analysis = analyze(&parsed, &source, &Options::default());
    let index = LineIndex::from_source_text(&source);
    let got: Vec<String> = analysis
        .findings
        .iter()
        .map(|f| {
            let (line, col) = line_column(&index, &source, f.range().start());
            match f {
                Finding::ShapeError { error, .. } => {
                    format!("{line}:{col} shape-error: {}", error.message)
                }
                Finding::AnnotationMismatch { message, .. } => {
                    format!("{line}:{col} mismatch: {message}")
                }
            }
        })
        .collect();
    assert_eq!(got, expected, "source:\n{source}");
}

#[test]
fn return_annotation_contradicted() {
    check(
        "def f(x: Float[np.ndarray, \"3 4\"]) -> Float[np.ndarray, \"4 3\"]:\n    return x\n",
        &["3:5 mismatch: this value is annotated \"4 3\", but it has shape (3, 4)"],
    );
    check(
        "def f(x: Float[np.ndarray, \"n d\"]) -> Float[np.ndarray, \"n\"]:\n    return x\n",
        &["3:5 mismatch: this value is annotated \"n\", but it has shape (n, d)"],
    );
}

#[test]
fn symbols_may_be_equal_so_no_mismatch() {
    check(
        "def f(x: Float[np.ndarray, \"n d\"]) -> Float[np.ndarray, \"d n\"]:\n    return x\n",
        &[],
    );
}

#[test]
fn argument_contradicts_parameter_annotation() {
    check(
        "def g(a: Float[np.ndarray, \"n 3\"]):\n    return a\n\ndef f(x: Float[np.ndarray, \"5 4\"]):\n    y = g(x)\n",
        &["7:11 mismatch: this argument is annotated \"n 3\", but it has shape (5, 4)"],
    );
}

#[test]
fn assert_contradicts_known_shape() {
    check(
        "def f(x: Float[np.ndarray, \"3 4\"]):\n    assert x.shape == (3, 5)\n",
        &["4:12 mismatch: `x` has shape (3, 4) here, which contradicts (3, 5)"],
    );
    check(
        "def f(x: Float[np.ndarray, \"3 4\"]):\n    assert x.ndim == 3\n",
        &["4:12 mismatch: `x` has 2 dimensions here, but the test requires 3"],
    );
}

#[test]
fn unpacking_the_wrong_number_of_axes() {
    check(
        "def f(x: Float[np.ndarray, \"3 4\"]):\n    a, b, c = x.shape\n",
        &["4:15 shape-error: not enough values to unpack (expected 3, got 2)"],
    );
}

#[test]
fn variable_annotation_contradicted() {
    check(
        "def f(x: Float[np.ndarray, \"3 4\"]):\n    y: Float[np.ndarray, \"2 2\"] = x\n",
        &["4:5 mismatch: this value is annotated \"2 2\", but it has shape (3, 4)"],
    );
}

#[test]
fn unknown_shapes_never_warn() {
    check(
        "def f(x, y, n):\n    assert x.shape == (3, 4)\n    assert y.shape == (n, 5)\n    a, b = y.shape\n    z = g(x)\n    if x.ndim != 2:\n        raise ValueError\n",
        &[],
    );
}

#[test]
fn facts_learned_on_one_branch_do_not_leak() {
    check(
        "def f(x: Float[np.ndarray, \"n\"], c):\n    if c:\n        assert x.shape == (3,)\n    assert x.shape == (4,)\n",
        &[],
    );
}

#[test]
fn unpacking_a_tuple_result_with_the_wrong_count() {
    check(
        "def f(A: Float[np.ndarray, \"4 4\"]):\n    U, S = np.linalg.svd(A)\n    a, *rest = A\n",
        &["4:12 shape-error: too many values to unpack (expected 2, got 3)"],
    );
}

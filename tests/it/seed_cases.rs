//! The seed cases of SEED-CASES.md sections 1, 2, 3 and 7 (`fixtures/seed/`): every `r_*`
//! assignment must get exactly the shape NumPy produces (a data-dependent axis must be a
//! symbol, never a number), and every line NumPy raises on must get its definite-error
//! diagnostic from `overt check`. NumPy decides every expected shape.

use std::fmt::Write as _;

use crate::oracle::{
    read_markers, run_numpy, run_overt_check, run_overt_shapes, shape_text, OvertDim,
};

/// Checks one seed fixture; returns a description of every failure (empty when it passes).
fn check(file: &str) -> Vec<String> {
    let (_, runs) = run_numpy(&[file.to_string()], true);
    let Some(numpy) = runs.get(file) else {
        return vec![format!("{file}: the NumPy oracle returned nothing")];
    };
    let markers = read_markers(file);
    let mut failures = Vec::new();

    // NumPy must raise exactly on the marked lines: the fixture itself is checked first.
    let raised: Vec<u32> = numpy.errors.iter().map(|e| e.line).collect();
    let marked: Vec<u32> = markers.errors.keys().copied().collect();
    if raised != marked {
        failures.push(format!(
            "{file}: NumPy raised on lines {raised:?} but `# error:` marks lines {marked:?} \
             (fix the fixture): {}",
            numpy
                .errors
                .iter()
                .map(|e| format!("line {}: {}: {}", e.line, e.kind, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }

    let overt = match run_overt_shapes(file) {
        Ok(records) => records,
        Err(error) => return [failures, vec![error]].concat(),
    };
    for observed in numpy.records.iter().filter(|r| r.name.starts_with("r_")) {
        let Some(actual) = observed.shape.as_ref().filter(|_| observed.is_numpy()) else {
            failures.push(format!(
                "{file}:{} {}: NumPy gave no array ({})",
                observed.line, observed.name, observed.kind
            ));
            continue;
        };
        let dependent = markers
            .data_dependent
            .get(&(observed.line, observed.name.clone()))
            .cloned()
            .unwrap_or_default();
        let claim = overt
            .iter()
            .find(|c| c.line == observed.line && c.name == observed.name);
        let Some(claim) = claim else {
            failures.push(format!(
                "{file}:{} {}: overt reports nothing; NumPy gives {}",
                observed.line,
                observed.name,
                shape_text(actual)
            ));
            continue;
        };
        let exact = claim.shape.as_ref().is_some_and(|dims| {
            dims.len() == actual.len()
                && dims
                    .iter()
                    .zip(actual)
                    .enumerate()
                    .all(|(axis, (dim, size))| match dim {
                        OvertDim::Known(n) => !dependent.contains(&axis) && n == size,
                        OvertDim::Symbolic(_) => dependent.contains(&axis),
                    })
        });
        if !exact {
            let mut want = String::new();
            for (axis, size) in actual.iter().enumerate() {
                let sep = if axis == 0 { "" } else { ", " };
                if dependent.contains(&axis) {
                    let _ = write!(want, "{sep}<symbol; NumPy drew {size}>");
                } else {
                    let _ = write!(want, "{sep}{size}");
                }
            }
            failures.push(format!(
                "{file}:{} {}: overt {} but NumPy needs [{want}]",
                observed.line,
                observed.name,
                claim.shape_text()
            ));
        }
        if let (Some(claimed), Some(dtype)) = (&claim.dtype, &observed.dtype) {
            if claimed != dtype {
                failures.push(format!(
                    "{file}:{} {}: overt dtype {claimed}, NumPy {dtype}",
                    observed.line, observed.name
                ));
            }
        }
    }

    if !markers.errors.is_empty() {
        match run_overt_check(file) {
            Ok(diagnostics) => {
                for (line, code) in &markers.errors {
                    if !diagnostics
                        .iter()
                        .any(|d| d.line == *line && &d.code == code)
                    {
                        let found: Vec<String> = diagnostics
                            .iter()
                            .filter(|d| d.line == *line)
                            .map(|d| format!("{} {}", d.code, d.message))
                            .collect();
                        failures.push(format!(
                            "{file}:{line}: overt check must report {code} where NumPy raises; \
                             found {found:?}"
                        ));
                    }
                }
            }
            Err(error) => failures.push(error),
        }
    }
    failures
}

fn assert_passes(file: &str) {
    let failures = check(file);
    assert!(
        failures.is_empty(),
        "{} seed case(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn indexing_riddle_and_table() {
    assert_passes("fixtures/seed/indexing.py");
}

#[test]
fn dot_matmul_tensordot_inner() {
    assert_passes("fixtures/seed/dot_matmul.py");
}

#[test]
fn batched_solve_and_silent_bugs() {
    assert_passes("fixtures/seed/solve.py");
}

#[test]
fn erroring_cases_get_definite_errors() {
    assert_passes("fixtures/seed/errors.py");
}

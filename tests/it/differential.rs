//! The differential test: every fixture in `fixtures/differential/` runs under real NumPy
//! (`scripts/differential.py` with `$OVERT_PYTHON`) and through `overt shapes --format
//! json`; every literal size and dtype overt claims must be what NumPy produced, and overt
//! must give a fully known shape to at least 95% of the array-valued assignments. No
//! expected shape is written by hand: only NumPy decides.

use std::fmt::Write as _;

use crate::oracle::{
    compare_file, disagreement_table, fixture_files, publish, read_markers, run_numpy,
    run_overt_check, run_overt_shapes, Disagreement, FileComparison, Markers, NumpyRecord,
    NumpyRun, OvertDim, OvertRecord,
};

const MIN_COVERAGE: f64 = 0.95;

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Runs NumPy and overt on every fixture in `dir`; returns the disagreements, the total
/// coverage and the printed report.
fn check(dir: &str) -> (Vec<Disagreement>, f64, String) {
    let files = fixture_files(dir);
    assert!(!files.is_empty(), "no fixtures in {dir}");
    let (numpy_version, runs) = run_numpy(&files, false);
    let mut report = String::new();
    let _ = writeln!(
        report,
        "differential corpus {dir} against NumPy {numpy_version}"
    );
    let _ = writeln!(
        report,
        "{:<44} {:>6} {:>6} {:>8} {:>7} {:>7} {:>9}",
        "file", "arrays", "known", "coverage", "dtypes", "silent", "disagree"
    );
    let (mut sites, mut known, mut dtypes, mut silent) = (0, 0, 0, 0);
    let mut disagreements = Vec::new();
    let mut failures = Vec::new();
    let mut gaps = String::new();
    for file in &files {
        let Some(numpy) = runs.get(file) else {
            failures.push(format!("{file}: the NumPy oracle returned nothing"));
            continue;
        };
        let overt = match run_overt_shapes(file) {
            Ok(records) => records,
            Err(error) => {
                failures.push(error);
                Vec::new()
            }
        };
        let comparison = compare_file(file, numpy, &overt, &read_markers(file));
        let _ = writeln!(
            report,
            "{:<44} {:>6} {:>6} {:>7.1}% {:>6.1}% {:>7} {:>9}",
            file,
            comparison.array_sites,
            comparison.known_shape,
            percent(comparison.known_shape, comparison.array_sites),
            percent(comparison.known_dtype, comparison.array_sites),
            comparison.gaps.iter().filter(|g| g.overt.is_none()).count(),
            comparison.disagreements.len()
        );
        silent += comparison.gaps.iter().filter(|g| g.overt.is_none()).count();
        for gap in &comparison.gaps {
            let _ = writeln!(
                gaps,
                "{:<44} {:<10} {:<28} {}",
                format!("{file}:{}", gap.line),
                gap.name,
                gap.overt.as_deref().unwrap_or("(nothing)"),
                gap.numpy
            );
        }
        sites += comparison.array_sites;
        known += comparison.known_shape;
        dtypes += comparison.known_dtype;
        disagreements.extend(comparison.disagreements);
    }
    let coverage = percent(known, sites);
    let _ = writeln!(
        report,
        "{:<44} {:>6} {:>6} {:>7.1}% {:>6.1}% {:>7} {:>9}",
        "total",
        sites,
        known,
        coverage,
        percent(dtypes, sites),
        silent,
        disagreements.len()
    );
    let _ = writeln!(
        report,
        "(arrays: assignments NumPy saw an array or NumPy scalar at, data-dependent ones \
         excluded; known: overt gave a fully known shape; dtypes: overt gave a dtype; silent: \
         overt printed nothing for that assignment)"
    );
    if !disagreements.is_empty() {
        let _ = writeln!(report, "\ndisagreements (NumPy is right):");
        report.push_str(&disagreement_table(&disagreements));
    }
    if !gaps.is_empty() {
        let _ = writeln!(report, "\nnot fully known (honest, but lowers coverage):");
        let _ = writeln!(
            report,
            "{:<44} {:<10} {:<28} numpy",
            "file:line", "name", "overt"
        );
        report.push_str(&gaps);
    }
    for failure in &failures {
        let _ = writeln!(report, "error: {failure}");
    }
    if !failures.is_empty() {
        disagreements.push(Disagreement {
            file: dir.to_string(),
            line: 0,
            name: String::new(),
            overt: format!("{} file(s) failed", failures.len()),
            numpy: String::new(),
            what: "overt failed",
        });
    }
    (disagreements, coverage / 100.0, report)
}

#[test]
fn overt_agrees_with_numpy_on_the_corpus() {
    assert_agreement_and_coverage("fixtures/differential", "differential.txt");
}

/// Agreement, and at least `MIN_COVERAGE` of the array sites fully known.
fn assert_agreement_and_coverage(dir: &str, report_name: &str) {
    let (disagreements, coverage, report) = check(dir);
    publish(report_name, &report);
    assert!(
        disagreements.is_empty(),
        "overt disagrees with NumPy ({} cases):\n{report}",
        disagreements.len()
    );
    assert!(
        coverage >= MIN_COVERAGE,
        "coverage {:.1}% is below {:.0}%:\n{report}",
        coverage * 100.0,
        MIN_COVERAGE * 100.0
    );
}

/// Control flow, functions and methods: sites run several times or inside functions. The
/// coverage is printed but not required (a function body's shapes are symbolic); every
/// claim must still agree with every execution NumPy saw.
#[test]
fn overt_agrees_with_numpy_on_flow() {
    assert_agreement("fixtures/differential/flow", "differential-flow.txt");
}

/// NumPy functions beyond the issue-2 model: whatever overt claims about them must hold.
#[test]
fn overt_agrees_with_numpy_beyond_the_model() {
    assert_agreement(
        "fixtures/differential/extended",
        "differential-extended.txt",
    );
}

/// A package whose modules call each other's annotated functions (relative and absolute
/// imports, module aliases): NumPy runs each module inside the package, and overt must
/// know every call site's shape from the callee's summary.
#[test]
fn overt_agrees_with_numpy_across_modules() {
    assert_agreement_and_coverage(
        "fixtures/differential/package/labs",
        "differential-package.txt",
    );
}

/// Agreement only: the coverage is printed, not required.
fn assert_agreement(dir: &str, report_name: &str) {
    let (disagreements, _, report) = check(dir);
    publish(report_name, &report);
    assert!(
        disagreements.is_empty(),
        "overt disagrees with NumPy ({} cases):\n{report}",
        disagreements.len()
    );
}

/// Code NumPy runs without raising must not get a definite error (severity `error`) from
/// `overt check`: such a diagnostic claims NumPy would raise or compute garbage there.
#[test]
fn no_definite_errors_where_numpy_runs() {
    let mut files = fixture_files("fixtures/differential");
    files.extend(fixture_files("fixtures/differential/flow"));
    files.extend(fixture_files("fixtures/differential/extended"));
    files.extend(fixture_files("fixtures/differential/package/labs"));
    files.extend(fixture_files("fixtures/seed"));
    let (_, runs) = run_numpy(&files, true);
    let mut false_errors = Vec::new();
    for file in &files {
        let Some(numpy) = runs.get(file) else {
            false_errors.push(format!("{file}: the NumPy oracle returned nothing"));
            continue;
        };
        match run_overt_check(file) {
            Ok(diagnostics) => false_errors.extend(
                diagnostics
                    .iter()
                    .filter(|d| d.severity == "error" && numpy.ran_cleanly(d.line))
                    .map(|d| format!("{file}:{} {} {}", d.line, d.code, d.message)),
            ),
            Err(error) => false_errors.push(error),
        }
    }
    let report = format!(
        "definite errors on lines NumPy ran without raising: {}\n{}\n",
        false_errors.len(),
        false_errors.join("\n")
    );
    publish("false-errors.txt", &report);
    assert!(false_errors.is_empty(), "{report}");
}

/// The comparison itself must be able to fail: feed it wrong claims and check each is
/// caught, and that honest unknowns are not.
#[test]
fn the_comparison_catches_wrong_claims() {
    let numpy_record =
        |line, name: &str, kind: &str, shape: Option<Vec<u64>>, dtype: Option<&str>| NumpyRecord {
            line,
            column: 1,
            name: name.to_string(),
            kind: kind.to_string(),
            shape,
            dtype: dtype.map(str::to_string),
        };
    let numpy = NumpyRun {
        records: vec![
            numpy_record(1, "a", "ndarray", Some(vec![2, 3]), Some("float64")),
            numpy_record(2, "b", "ndarray", Some(vec![5]), Some("int64")),
            numpy_record(3, "c", "python:int", None, None),
            numpy_record(4, "d", "ndarray", Some(vec![7, 11]), Some("float64")),
            numpy_record(5, "e", "ndarray", Some(vec![13]), Some("bool")),
            numpy_record(6, "f", "scalar", Some(vec![]), Some("float32")),
            numpy_record(7, "g", "ndarray", Some(vec![2, 3, 5]), Some("float64")),
            numpy_record(8, "h", "ndarray", Some(vec![2, 3, 5]), Some("float64")),
            numpy_record(9, "i", "ndarray", Some(vec![5]), Some("float64")),
            numpy_record(10, "j", "ndarray", Some(vec![2, 3, 5]), Some("float64")),
        ],
        errors: Vec::new(),
        executed: Vec::new(),
    };
    let known = |dims: &[u64]| Some(dims.iter().copied().map(OvertDim::Known).collect());
    let claim = |line, name: &str, shape: Option<Vec<OvertDim>>, dtype: Option<&str>| OvertRecord {
        line,
        column: 1,
        name: name.to_string(),
        shape,
        dtype: dtype.map(str::to_string),
        suffix: None,
    };
    let variadic = |line, name: &str, suffix: Vec<OvertDim>| OvertRecord {
        suffix: Some(suffix),
        ..claim(line, name, None, None)
    };
    let overt = vec![
        claim(1, "a", known(&[3, 2]), Some("float64")), // transposed
        claim(2, "b", known(&[5]), Some("float64")),    // wrong dtype
        claim(3, "c", known(&[]), Some("int64")),       // a Python int is no array
        claim(
            4,
            "d",
            Some(vec![OvertDim::Known(7), OvertDim::Symbolic("?".into())]),
            None,
        ), // honest partial knowledge
        claim(5, "e", known(&[13]), Some("bool")),      // guessed a data-dependent count
        claim(6, "f", known(&[]), Some("float32")),     // right
        variadic(7, "g", vec![OvertDim::Known(3), OvertDim::Known(5)]), // right: [*b, 3, 5]
        variadic(8, "h", vec![OvertDim::Known(5), OvertDim::Known(3)]), // trailing swapped
        variadic(9, "i", vec![OvertDim::Known(3), OvertDim::Known(5)]), // more axes than NumPy's
        variadic(10, "j", vec![OvertDim::Symbolic("n".into())]), // honest
    ];
    let mut markers = Markers::default();
    markers.data_dependent.insert((5, "e".to_string()), vec![0]);
    let FileComparison {
        disagreements,
        array_sites,
        known_shape,
        ..
    } = compare_file("t.py", &numpy, &overt, &markers);
    let found: Vec<(u32, &str)> = disagreements.iter().map(|d| (d.line, d.what)).collect();
    assert_eq!(
        found,
        vec![
            (1, "shape"),
            (2, "dtype"),
            (3, "NumPy saw no NumPy value"),
            (5, "claims a data-dependent size"),
            (8, "trailing axes"),
            (9, "trailing axes"),
        ]
    );
    assert_eq!((array_sites, known_shape), (8, 3));
}
